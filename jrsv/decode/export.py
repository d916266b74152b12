"""Export the separator, the ASR encoder+CTC and the attention decoder for deployment.

Formats: ``torchscript`` (``torch.jit.trace``) and ``onnx`` (the TorchScript-based
``torch.onnx.export(..., dynamo=False)``, opset 17, dynamic batch and time axes: the dynamo
exporter of torch 2.13 fails to decompose the scaled-dot-product attention with symbolic
shapes). An ONNX export also writes int8 variants (``*.int8.onnx``, ONNX Runtime dynamic
quantisation of the MatMul weights) and is checked with ONNX Runtime against the eager models
on inputs of another length and batch size.

Exported graphs (magnitudes are B x T x 513, lengths in frames):
  * ``separator``: ``(mag (B,T,F), lengths (B,)) -> (speech (B,T,F), singing (B,T,F))``
  * ``asr_ctc``:   ``(mag (B,T,F), lengths (B,)) -> (log_probs (B,T',V), enc_lens (B,))``
    (the ASR feature transform, e.g. log(|S| + 1e-5), is inside); the ONNX graph also returns
    ``enc (B,T',D)``, the encoder output attention rescoring needs.
  * ``decoder`` (ONNX, when the ASR has one): ``(memory (N,T',D), memory_lens (N,),
    ys_in (N,L), ys_lens (N,)) -> logits (N,L,V)``.
"""
from __future__ import annotations

import hashlib
import json
import logging
import warnings
from pathlib import Path
from typing import Callable

import torch
from torch import nn

from jrsv.asr.tokenizer import write_units
from jrsv.atomic import atomic_path, atomic_write_text
from jrsv.constants import TRACKS
from jrsv.decode.engine import DecodeEngine

EXPORT_FORMATS = ("torchscript", "onnx")
ONNX_OPSET = 17
ONNX_GRAPHS = {  # name -> (input names, output names, dynamic axes)
    "separator": (["mag", "lengths"], ["speech", "singing"],
                  {"mag": {0: "B", 1: "T"}, "lengths": {0: "B"},
                   "speech": {0: "B", 1: "T"}, "singing": {0: "B", 1: "T"}}),
    "asr_ctc": (["mag", "lengths"], ["log_probs", "enc_lens", "enc"],
                {"mag": {0: "B", 1: "T"}, "lengths": {0: "B"}, "log_probs": {0: "B", 1: "T_enc"},
                 "enc_lens": {0: "B"}, "enc": {0: "B", 1: "T_enc"}}),
    "decoder": (["memory", "memory_lens", "ys_in", "ys_lens"], ["logits"],
                {"memory": {0: "N", 1: "T_enc"}, "memory_lens": {0: "N"},
                 "ys_in": {0: "N", 1: "L"}, "ys_lens": {0: "N"}, "logits": {0: "N", 1: "L"}}),
}


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
    """Features + ASR encoder + CTC log-softmax (+ the encoder output with ``with_encoder``)."""

    def __init__(self, asr: nn.Module, features: Callable[[torch.Tensor], torch.Tensor],
                 with_encoder: bool = False):
        super().__init__()
        self.asr = asr
        self.features = features if isinstance(features, nn.Module) else None
        self._features_fn = features
        self.with_encoder = with_encoder

    def forward(self, mag: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, ...]:
        enc, enc_lens = self.asr.encode(self._features_fn(mag), lengths)
        log_probs = torch.log_softmax(self.asr.ctc.ctc_lo(enc).float(), dim=-1)
        return (log_probs, enc_lens, enc) if self.with_encoder else (log_probs, enc_lens)


class DecoderGraph(nn.Module):
    """Attention decoder on encoder lengths instead of a boolean mask (ONNX-friendly inputs)."""

    def __init__(self, decoder: nn.Module):
        super().__init__()
        self.decoder = decoder

    def forward(self, memory: torch.Tensor, memory_lens: torch.Tensor, ys_in: torch.Tensor,
                ys_lens: torch.Tensor) -> torch.Tensor:
        mask = (torch.arange(memory.size(1), device=memory.device).unsqueeze(0)
                < memory_lens.unsqueeze(1)).unsqueeze(1)
        return self.decoder(memory, mask, ys_in, ys_lens)


def example_inputs(frames: int = 251, batch: int = 2, bins: int = 513
                   ) -> tuple[torch.Tensor, torch.Tensor]:
    """Random magnitudes (B, T, F) and lengths (B,) (the second item shorter: padding traced)."""
    g = torch.Generator().manual_seed(0)
    mag = torch.rand(batch, frames, bins, generator=g) * 3
    lengths = torch.tensor([frames] + [max(8, frames - 37 * i) for i in range(1, batch)])
    return mag, lengths


def decoder_inputs(d_model: int, vocab: int, frames: int = 40, batch: int = 3, length: int = 7
                   ) -> tuple[torch.Tensor, ...]:
    """memory (N, T, D), memory_lens (N,), ys_in (N, L), ys_lens (N,) with padding."""
    g = torch.Generator().manual_seed(1)
    memory = torch.randn(batch, frames, d_model, generator=g)
    memory_lens = torch.tensor([frames] + [max(1, frames - 9 * i) for i in range(1, batch)])
    ys_in = torch.randint(0, vocab, (batch, length), generator=g)
    ys_lens = torch.tensor([length] + [max(1, length - 2 * i) for i in range(1, batch)])
    return memory, memory_lens, ys_in, ys_lens


def trace(module: nn.Module, inputs: tuple[torch.Tensor, ...]) -> torch.jit.ScriptModule:
    module = module.eval()
    with torch.no_grad(), warnings.catch_warnings():
        # shape checks in the models become constants; export_engine verifies on another shape
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        return torch.jit.trace(module, inputs, check_trace=False)


def max_abs_diff(a, b) -> float:
    """Largest |a - b| over (nested tuples of) tensors / arrays."""
    if isinstance(a, (tuple, list)):
        return max(max_abs_diff(x, y) for x, y in zip(a, b))
    a, b = torch.as_tensor(a), torch.as_tensor(b)
    return float((a.double() - b.double()).abs().max()) if a.numel() else 0.0


def file_digest(*paths: str | Path) -> str:
    """sha256 over the bytes of ``paths`` (which model an export came from)."""
    h = hashlib.sha256()
    for p in paths:
        with open(p, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


def export_engine(engine: DecodeEngine, out_dir: str | Path, fmt: str = "torchscript",
                  frames: int = 251, source: dict | None = None) -> dict:
    """Export ``engine``'s models to ``out_dir``; verify each against eager on fresh inputs of
    another length. Returns the manifest (also written to ``export.json``; ``source`` is
    stored in it)."""
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"export format must be one of {EXPORT_FORMATS}, got {fmt!r}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    onnx = fmt == "onnx"
    graphs = {"separator": SeparatorGraph(engine.separator.cpu()).eval(),
              "asr_ctc": AsrCtcGraph(engine.asr.cpu(), engine.asr_features, onnx).eval()}
    trace_in = {"separator": example_inputs(frames), "asr_ctc": example_inputs(frames)}
    check_in = {"separator": example_inputs(frames + 61, batch=3),
                "asr_ctc": example_inputs(frames + 61, batch=3)}
    decoder = getattr(engine.asr, "decoder", None)
    if onnx and isinstance(decoder, nn.Module) and hasattr(engine.asr, "sos"):
        d, v = engine.asr.encoder.output_size(), decoder.vocab_size
        graphs["decoder"] = DecoderGraph(decoder).eval()
        trace_in["decoder"] = decoder_inputs(d, v)
        check_in["decoder"] = decoder_inputs(d, v, frames=53, batch=4, length=11)
    manifest: dict = {"format": fmt, "units": len(engine.units), "models": {}}
    if onnx:
        manifest.update(opset=ONNX_OPSET, torch=torch.__version__, sos=getattr(engine.asr, "sos", None),
                        eos=getattr(engine.asr, "eos", None))
    if source:
        manifest["source"] = source
    for name, graph in graphs.items():
        with torch.no_grad():
            ref = graph(*check_in[name])
        ref = ref if isinstance(ref, tuple) else (ref,)
        if onnx:
            path = out_dir / f"{name}.onnx"
            _export_onnx(graph, trace_in[name], path, *ONNX_GRAPHS[name])
            int8 = out_dir / f"{name}.int8.onnx"
            quantize_int8(path, int8)
            manifest["models"][name] = {
                "file": path.name, "max_abs_diff_vs_eager": max_abs_diff(ref, run_onnx(path, check_in[name])),
                "int8_file": int8.name,
                "int8_max_abs_diff_vs_eager": max_abs_diff(ref, run_onnx(int8, check_in[name]))}
        else:
            path = out_dir / f"{name}.ts"
            trace(graph, trace_in[name]).save(str(path))
            with torch.no_grad():
                got = torch.jit.load(str(path))(*check_in[name])
            diff = max_abs_diff(ref, got if isinstance(got, tuple) else (got,))
            manifest["models"][name] = {"file": path.name, "max_abs_diff_vs_eager": diff}
    write_units(engine.units, out_dir / "units.txt")
    atomic_write_text(out_dir / "export.json", json.dumps(manifest, indent=1) + "\n")
    return manifest



def _onnx_modules():
    try:
        import onnx  # noqa: F401
        import onnxruntime
    except ImportError:
        raise RuntimeError("ONNX export needs the 'onnx' and 'onnxruntime' packages (pip install "
                           "'jrsv[onnx]'); or use the default TorchScript export") from None
    return onnxruntime


def _export_onnx(graph: nn.Module, inputs, path: Path, input_names, output_names,
                 dynamic_axes) -> None:
    _onnx_modules()
    with atomic_path(path, suffix=".onnx") as tmp, torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings (shape checks) and the exporter's notice
        torch.onnx.export(graph, inputs, str(tmp), input_names=input_names,
                          output_names=output_names, dynamic_axes=dynamic_axes,
                          opset_version=ONNX_OPSET, dynamo=False)


def quantize_int8(src: Path, dst: Path) -> None:
    """ONNX Runtime dynamic quantisation: int8 MatMul weights, activations quantised per call."""
    _onnx_modules()
    from onnxruntime.quantization import QuantType, quantize_dynamic
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # the quantiser's advice to pre-process goes to the root logger
    try:
        with atomic_path(dst, suffix=".onnx") as tmp:
            quantize_dynamic(str(src), str(tmp), op_types_to_quantize=["MatMul"],
                             weight_type=QuantType.QInt8)
    finally:
        root.setLevel(level)


def run_onnx(path: str | Path, inputs: tuple[torch.Tensor, ...], threads: int = 1):
    """Run an exported graph once with ONNX Runtime (CPU): tensors in, numpy arrays out."""
    ort = _onnx_modules()
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    names = [i.name for i in sess.get_inputs()]
    return sess.run(None, {n: x.numpy() for n, x in zip(names, inputs)})
