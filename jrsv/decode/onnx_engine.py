"""ONNX Runtime decoding backend: the same :class:`DecodeEngine` interface (``separate``,
``recognize``, ``text``, ``timings``), with the models run from an ONNX export
(:func:`jrsv.decode.export.export_engine` with ``fmt="onnx"``) on ORT's CPU provider.

``jrsv decode --backend onnx`` (fp32) or ``--backend onnx-int8`` (dynamically quantised MatMul
weights). A model directory is exported once into a cache directory keyed by the model's
bytes (``$JRSV_ONNX_CACHE``, default ``~/.cache/jrsv/onnx/<sha256 prefix>``) unless the
model directory holds an up-to-date export in ``DIR/onnx`` (``jrsv export --format onnx
--out DIR/onnx``). Stitching, VAD, the confidence gate and the output formats are the
torch backend's (:mod:`jrsv.decode.pipeline`).
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import torch

from jrsv.asr.decoder import score_hyps
from jrsv.asr.search import (DecodeResult, attention_rescoring, ctc_greedy_search,
                             ctc_prefix_beam_search)
from jrsv.asr.tokenizer import CharTokenizer, read_units
from jrsv.atomic import publish_dir
from jrsv.decode.engine import TRACKS, DecodeEngine, Hypothesis, hypotheses, pad_batch, pad_min_frames

log = logging.getLogger(__name__)
BACKENDS = ("torch", "onnx", "onnx-int8")
EXPORT_VERSION = 1  # bump when the exported graphs change
ONNX_DECODE_MODES = ("attention_rescoring", "ctc_prefix_beam_search")


class OnnxExportError(RuntimeError):
    """An export directory that cannot be used (message names the directory)."""


def _session(path: Path, threads: int):
    try:
        import onnxruntime as ort
    except ImportError:
        raise RuntimeError("the onnx backends need onnxruntime (pip install 'jrsv[onnx]')") from None
    so = ort.SessionOptions()
    so.intra_op_num_threads = max(int(threads), 0)  # 0: ORT's default (all cores)
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.log_severity_level = 3
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


class OrtDecoder:
    """The exported attention decoder with ``TransformerDecoder.score_hyps``' interface."""

    def __init__(self, session):
        self.session = session

    def forward(self, memory: torch.Tensor, memory_mask: torch.Tensor, ys_in: torch.Tensor,
                ys_lens: torch.Tensor) -> torch.Tensor:
        """memory (N, T, D), memory_mask (N, 1, T) bool, ys_in (N, L), ys_lens (N,) -> (N, L, V)."""
        feed = {"memory": memory.float().numpy(),
                "memory_lens": memory_mask.squeeze(1).sum(-1).long().numpy(),
                "ys_in": ys_in.long().numpy(), "ys_lens": ys_lens.long().numpy()}
        return torch.from_numpy(self.session.run(None, feed)[0])

    def score_hyps(self, memory, memory_mask, hyps, sos, eos) -> torch.Tensor:
        return score_hyps(self.forward, memory, memory_mask, hyps, sos, eos)


class OnnxDecodeEngine(DecodeEngine):
    """Batched ONNX Runtime model calls for the decoder.

    Args:
        export_dir: an ONNX export (``export.json``, ``*.onnx``, ``units.txt``).
        int8: use the int8 variants.
        threads: ORT intra-op threads (0: ORT's default).
        beam_size: 1 = CTC greedy search; > 1 = CTC prefix beam search + attention rescoring
            with the exported decoder (``decode_mode``).
    """

    def __init__(self, export_dir: str | os.PathLike, int8: bool = False, threads: int = 0,
                 beam_size: int = 1, decode_mode: str = "attention_rescoring"):
        export_dir = Path(export_dir)
        manifest = read_manifest(export_dir)
        if beam_size > 1 and decode_mode not in ONNX_DECODE_MODES:
            raise ValueError(f"the onnx backend decodes with {ONNX_DECODE_MODES}, not {decode_mode!r}")
        key = "int8_file" if int8 else "file"
        files = {name: export_dir / m[key] for name, m in manifest["models"].items()}
        self.sessions = {name: _session(path, threads) for name, path in files.items()}
        self.decoder = OrtDecoder(self.sessions["decoder"]) if "decoder" in self.sessions else None
        if beam_size > 1 and decode_mode == "attention_rescoring" and self.decoder is None:
            raise OnnxExportError(f"{export_dir}: no exported attention decoder for rescoring")
        self.sos, self.eos = manifest.get("sos"), manifest.get("eos")
        self.units = read_units(export_dir / "units.txt")
        self.tokenizer = CharTokenizer(self.units)
        self.device = torch.device("cpu")
        self.separator = self.asr = None
        self.asr_features = None  # inside the exported graph
        self.beam_size, self.decode_mode = int(beam_size), decode_mode
        self.int8, self.export_dir = int8, export_dir
        self.timings: dict[str, float] = defaultdict(float)

    @classmethod
    def from_model_dir(cls, model_dir: str | Path, device: str | torch.device = "cpu",
                       beam_size: int = 1, int8: bool = False, threads: int = 0,
                       cache_dir: str | Path | None = None) -> "OnnxDecodeEngine":
        """Export ``model_dir`` (once, see the module docstring) and load the export."""
        if torch.device(device).type != "cpu":
            raise ValueError(f"the onnx backend runs on the CPU (got --device {device})")
        return cls(ensure_export(model_dir, cache_dir), int8=int8, threads=threads,
                   beam_size=beam_size)

    def separate(self, mags: list[torch.Tensor]) -> list[dict[str, torch.Tensor]]:
        """[(T_i, F) mixture magnitudes] -> [{"speech": (T_i, F), "singing": (T_i, F)}]."""
        t0 = time.perf_counter()
        x, lens = pad_batch(mags)
        outs = self.sessions["separator"].run(None, {"mag": x.float().numpy(), "lengths": lens.numpy()})
        heads = {t: torch.from_numpy(o) for t, o in zip(TRACKS, outs)}
        res = [{t: heads[t][i, :int(n)] for t in TRACKS} for i, n in enumerate(lens)]
        self.timings["separation"] += time.perf_counter() - t0
        return res

    @torch.inference_mode()
    def _recognize(self, mags: list[torch.Tensor]) -> list[Hypothesis]:
        x, lens = pad_batch(pad_min_frames(mags))
        log_probs, enc_lens, enc = (torch.from_numpy(a) for a in self.sessions["asr_ctc"].run(
            None, {"mag": x.float().numpy(), "lengths": lens.numpy()}))
        if self.beam_size > 1:
            nbests = [ctc_prefix_beam_search(log_probs[b, :int(n)], self.beam_size)
                      for b, n in enumerate(enc_lens.tolist())]
            if self.decode_mode == "ctc_prefix_beam_search":
                results = [DecodeResult(*nb[0]) for nb in nbests]
            else:
                mask = (torch.arange(enc.size(1)).unsqueeze(0) < enc_lens.unsqueeze(1)).unsqueeze(1)
                results = attention_rescoring(self.decoder, enc, mask, nbests, self.sos, self.eos)
        else:
            results = ctc_greedy_search(log_probs, enc_lens)
        return hypotheses(log_probs, enc_lens.tolist(), results)


def read_manifest(export_dir: Path) -> dict:
    path = export_dir / "export.json"
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise OnnxExportError(f"{path}: cannot read the export manifest ({e})") from None
    if manifest.get("format") != "onnx":
        raise OnnxExportError(f"{path}: not an ONNX export (format {manifest.get('format')!r})")
    for name in ("separator", "asr_ctc"):
        m = manifest.get("models", {}).get(name)
        if not m or not all((export_dir / m[k]).is_file() for k in ("file", "int8_file")):
            raise OnnxExportError(f"{export_dir}: the {name} graph (fp32 and int8) is missing")
    return manifest


def model_source(model_dir: Path) -> dict:
    """What an export of ``model_dir`` must match to be reused."""
    from jrsv.decode.export import file_digest
    files = [model_dir / f for f in ("model.pt", "config.yaml", "units.txt")]
    return {"model_sha256": file_digest(*[f for f in files if f.is_file()]),
            "export_version": EXPORT_VERSION}


def default_cache_dir() -> Path:
    env = os.environ.get("JRSV_ONNX_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "jrsv" / "onnx"


def _is_current(export_dir: Path, source: dict) -> bool:
    try:
        return read_manifest(export_dir).get("source") == source
    except OnnxExportError:
        return False


def ensure_export(model_dir: str | Path, cache_dir: str | Path | None = None) -> Path:
    """The directory of an up-to-date ONNX export of ``model_dir`` (exported now if needed;
    written to a temporary directory and renamed, so a crash leaves no half export)."""
    from jrsv.model_io import ModelDirError
    model_dir = Path(model_dir)
    if not (model_dir / "model.pt").is_file():
        raise ModelDirError(model_dir, "model.pt missing")
    source = model_source(model_dir)
    if _is_current(model_dir / "onnx", source):
        return model_dir / "onnx"
    target = Path(cache_dir or default_cache_dir()) / source["model_sha256"][:16]
    if _is_current(target, source):
        return target
    from jrsv.decode.export import export_engine
    engine = DecodeEngine.from_model_dir(model_dir)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=target.name + ".", dir=target.parent))
    try:
        log.info("exporting %s to ONNX in %s", model_dir, target)
        export_engine(engine, tmp, "onnx", source=source)
        publish_dir(tmp, target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target


def build_engine(backend: str, model_dir: str | Path, device: str = "cpu", beam_size: int = 1,
                 threads: int = 0) -> DecodeEngine:
    """``backend`` in :data:`BACKENDS` -> a loaded engine for ``model_dir``."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    if backend == "torch":
        return DecodeEngine.from_model_dir(model_dir, device=device, beam_size=beam_size)
    return OnnxDecodeEngine.from_model_dir(model_dir, device, beam_size,
                                           int8=backend == "onnx-int8", threads=threads)


def engine_from_torch(engine: DecodeEngine, export_dir: str | Path, int8: bool = False,
                      threads: int = 0) -> OnnxDecodeEngine:
    """Export an in-memory torch engine to ``export_dir`` and load it (benchmarks, tests)."""
    from jrsv.decode.export import export_engine
    export_engine(engine, export_dir, "onnx")
    return OnnxDecodeEngine(export_dir, int8=int8, threads=threads, beam_size=engine.beam_size,
                            decode_mode=engine.decode_mode)


__all__ = ["BACKENDS", "OnnxDecodeEngine", "OnnxExportError", "build_engine", "ensure_export",
           "engine_from_torch"]
