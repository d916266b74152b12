"""Export the separator and the ASR encoder+CTC for deployment (TorchScript; ONNX if ``onnx``
is importable and asked for).

Exported graphs (both take magnitudes, B x T x 513, and lengths in frames):
  * ``separator.ts``: ``(mix_mag (B,T,F), lengths (B,)) -> (speech (B,T,F), singing (B,T,F))``
  * ``asr_ctc.ts``:   ``(track_mag (B,T,F), lengths (B,)) -> (ctc_log_probs (B,T',V), enc_lens (B,))``
    (the ASR feature transform, e.g. log(|S| + 1e-5), is inside).
"""
from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Callable

import torch
from torch import nn

from jrsv.asr.tokenizer import write_units
from jrsv.constants import TRACKS
from jrsv.decode.engine import DecodeEngine, log_magnitude

EXPORT_FORMATS = ("torchscript", "onnx")


class SeparatorGraph(nn.Module):
    """MTASS-contract module -> tuple outputs (traceable)."""

    def __init__(self, separator: nn.Module):
        super().__init__()
        self.separator = separator

    def forward(self, mix_mag: torch.Tensor, lengths: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.separator(mix_mag, lengths)
        return out[TRACKS[0]], out[TRACKS[1]]


class AsrCtcGraph(nn.Module):
    """Features + ASR encoder + CTC log-softmax."""

    def __init__(self, asr: nn.Module, features: Callable[[torch.Tensor], torch.Tensor]):
        super().__init__()
        self.asr = asr
        self.features = features if isinstance(features, nn.Module) else None
        self._features_fn = features

    def forward(self, mag: torch.Tensor, lengths: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor]:
        enc, enc_lens = self.asr.encode(self._features_fn(mag), lengths)
        return torch.log_softmax(self.asr.ctc.ctc_lo(enc), dim=-1), enc_lens


def example_inputs(frames: int = 251, batch: int = 2, bins: int = 513
                   ) -> tuple[torch.Tensor, torch.Tensor]:
    """Random magnitudes (B, T, F) and lengths (B,) (the second item shorter: padding traced)."""
    g = torch.Generator().manual_seed(0)
    mag = torch.rand(batch, frames, bins, generator=g) * 3
    lengths = torch.tensor([frames] + [max(8, frames - 37 * i) for i in range(1, batch)])
    return mag, lengths


def trace(module: nn.Module, inputs: tuple[torch.Tensor, ...]) -> torch.jit.ScriptModule:
    module = module.eval()
    with torch.no_grad(), warnings.catch_warnings():
        # shape checks in the models become constants; export_engine verifies on another shape
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        return torch.jit.trace(module, inputs, check_trace=False)


def max_abs_diff(a, b) -> float:
    """Largest |a - b| over (nested tuples of) tensors."""
    if isinstance(a, torch.Tensor):
        return float((a.float() - b.float()).abs().max()) if a.numel() else 0.0
    return max(max_abs_diff(x, y) for x, y in zip(a, b))


def export_engine(engine: DecodeEngine, out_dir: str | Path, fmt: str = "torchscript",
                  frames: int = 251) -> dict:
    """Export ``engine``'s models to ``out_dir``; verify each against eager on fresh inputs of
    another length. Returns the manifest (also written to ``export.json``)."""
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"export format must be one of {EXPORT_FORMATS}, got {fmt!r}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    graphs = {"separator": SeparatorGraph(engine.separator.cpu()).eval(),
              "asr_ctc": AsrCtcGraph(engine.asr.cpu(), engine.asr_features).eval()}
    manifest: dict = {"format": fmt, "units": len(engine.units), "models": {}}
    trace_in = example_inputs(frames)
    check_in = example_inputs(frames + 61, batch=3)
    for name, graph in graphs.items():
        if fmt == "onnx":
            path = out_dir / f"{name}.onnx"
            _export_onnx(graph, trace_in, path)
            diff = None
        else:
            path = out_dir / f"{name}.ts"
            ts = trace(graph, trace_in)
            ts.save(str(path))
            loaded = torch.jit.load(str(path))
            with torch.no_grad():
                diff = max_abs_diff(graph(*check_in), loaded(*check_in))
        manifest["models"][name] = {"file": path.name, "max_abs_diff_vs_eager": diff}
    write_units(engine.units, out_dir / "units.txt")
    (out_dir / "export.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest


def _export_onnx(graph: nn.Module, inputs, path: Path) -> None:
    try:
        import onnx  # noqa: F401
    except ImportError:
        raise RuntimeError("ONNX export needs the 'onnx' package (not installed); "
                           "use the default TorchScript export") from None
    torch.onnx.export(graph, inputs, str(path), input_names=["mag", "lengths"],
                      dynamic_axes={"mag": {0: "B", 1: "T"}, "lengths": {0: "B"}})
