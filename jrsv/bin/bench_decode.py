"""Decode real-time factor (RTF = processing seconds / audio seconds) on this CPU.

Runs the whole streaming decoder (read -> STFT -> windowed separation -> VAD -> ASR -> stitching)
on a generated mixture (tones + noise bursts) with randomly initialised models -- weights do not
change the cost, except that the VAD passes (nearly) all audio of both tracks to the ASR here,
which is the worst case. Reports separation and each ASR track separately, for the paper-size
model (MTASS 16 x d256 Conformer; ASR 12 x d256 Conformer encoder + CTC) and the tiny one.
ASR is CTC greedy search (beam 1, the decode default) and CTC prefix beam search + attention
rescoring (beam 10; U2ASR, paper-size 6-block decoder). Backends: ``torch`` (eager), ``onnx``
(ONNX Runtime CPU, fp32) and ``onnx-int8`` (dynamically quantised MatMuls), the ONNX ones
exported from the same randomly initialised torch models; each row shows its speed-up over
the torch row of the same size and search, measured in the same run. "CPU s / audio s" is the
process CPU time (all threads) per audio second: with one thread it is nearly independent of
other jobs on a shared machine, unlike the wall-clock RTF.

Usage: ``jrsv bench-decode [--seconds 60] [--threads 2] [--sizes paper,tiny]
[--beam-sizes 1,10] [--backends torch,onnx,onnx-int8] [--rounds 2]``
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

import numpy as np
import torch

from jrsv.constants import NUM_BINS, SAMPLE_RATE

SR = SAMPLE_RATE
SIZES = {
    "paper": dict(mtass=dict(output_size=256, attention_heads=8, linear_units=1024, num_blocks=16,
                             cnn_module_kernel=33),
                  asr=dict(output_size=256, attention_heads=4, linear_units=2048, num_blocks=12,
                           cnn_module_kernel=15)),
    "tiny": dict(mtass=dict(output_size=64, attention_heads=4, linear_units=256, num_blocks=2,
                            cnn_module_kernel=15),
                 asr=dict(output_size=64, attention_heads=4, linear_units=256, num_blocks=2,
                          cnn_module_kernel=15)),
}
VOCAB = 4233  # AISHELL-1 character vocabulary size


def build_engine(size: str, beam_size: int = 1):
    from jrsv.decode.engine import DecodeEngine
    from jrsv.model_registry import build_model
    torch.manual_seed(0)
    conf = SIZES[size]
    mtass = build_model(dict(conf["mtass"], kind="mtass", input_dim=NUM_BINS, dropout_rate=0.0,
                             cmvn=False))
    dec = dict(attention_heads=conf["asr"]["attention_heads"],
               linear_units=conf["asr"]["linear_units"],
               num_blocks=6 if size == "paper" else 1, dropout_rate=0.0)
    asr = build_model(dict(kind="asr", vocab_size=VOCAB, feature="log_mag", input_dim=NUM_BINS,
                           cmvn=False, encoder_conf=dict(conf["asr"], dropout_rate=0.0),
                           decoder_conf=dec))
    units = ["<blank>", "<unk>"] + [chr(0x4E00 + i) for i in range(VOCAB - 3)] + ["<sos/eos>"]
    return DecodeEngine(mtass, asr, units, beam_size=beam_size)


def mixture(seconds: float) -> np.ndarray:
    rng = np.random.default_rng(0)
    t = np.arange(int(seconds * SR)) / SR
    x = 0.1 * np.sin(2 * np.pi * 220 * t) + 0.05 * np.sin(2 * np.pi * 330 * t)
    x += (np.sin(2 * np.pi * 0.25 * t) > 0) * 0.1 * rng.standard_normal(t.size)
    return x.astype(np.float32)


def run(engine, seconds: float, batch_size: int, warm_up: bool = True) -> dict[str, float]:
    """Decode a generated mixture of ``seconds`` with ``engine`` (after a 12 s warm-up)."""
    from jrsv.decode.pipeline import DecodeConfig, DecodeSession, run_sessions
    from jrsv.decode.audio_stream import iter_array_blocks
    audio = mixture(seconds)
    cfg = DecodeConfig(min_confidence=0.0)
    if warm_up:
        warm = DecodeSession("warm", iter_array_blocks(audio[: SR * 12], SR), engine, cfg)
        for _ in run_sessions([warm], engine, batch_size):
            pass
    engine.timings.clear()
    c0 = time.process_time()
    t0 = time.perf_counter()
    s = DecodeSession("bench", iter_array_blocks(audio, SR, block_sec=2.0), engine, cfg)
    for _ in run_sessions([s], engine, batch_size):
        pass
    total = time.perf_counter() - t0
    cpu = time.process_time() - c0
    tm = dict(engine.timings)
    asr_audio = {t: sum(seg.end - seg.start for seg in s.transcript.track(t))
                 for t in ("speech", "singing")}
    res = {"separation": tm.get("separation", 0.0) / seconds,
           "asr.speech": tm.get("asr.speech", 0.0) / seconds,
           "asr.singing": tm.get("asr.singing", 0.0) / seconds}
    res["other"] = (total - sum(tm.values())) / seconds
    res["total"] = total / seconds
    res["cpu"] = cpu / seconds
    res["asr_coverage"] = min(asr_audio.values()) / seconds
    return res


def _ort_version() -> str:
    try:
        import onnxruntime
        return f"onnxruntime {onnxruntime.__version__}"
    except ImportError:
        return "onnxruntime not installed"


def profile(size: str, seconds: float) -> str:
    """Top operators of one separation window and one 20 s ASR piece."""
    from torch.profiler import ProfilerActivity, profile as tprofile
    engine = build_engine(size)
    mag = torch.rand(625, NUM_BINS)
    with tprofile(activities=[ProfilerActivity.CPU]) as prof:
        engine.separate([mag])
        engine.recognize([torch.rand(1250, NUM_BINS)])
    return prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=12)


def engines(size: str, backends: list[str], threads: int, tmp: str):
    """Yield (backend, engine) for one model size; the ONNX engines come from one export of the
    torch engine's models (``tmp``)."""
    from jrsv.decode.onnx_engine import OnnxDecodeEngine
    torch_engine = build_engine(size)
    exported = None
    for backend in backends:
        if backend == "torch":
            yield backend, torch_engine
            continue
        if exported is None:
            from jrsv.decode.export import export_engine
            t0 = time.perf_counter()
            exported = export_engine(torch_engine, tmp, "onnx")
            print(f"<!-- {size}: ONNX export + int8 quantisation took "
                  f"{time.perf_counter() - t0:.0f} s -->", flush=True)
        yield backend, OnnxDecodeEngine(tmp, int8=backend == "onnx-int8", threads=threads)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=60.0, help="audio length per measurement")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--sizes", default="paper,tiny")
    p.add_argument("--batch-size", type=int, default=1)
    p.add_argument("--beam-sizes", default="1,10",
                   help="comma list; 1: CTC greedy; >1: CTC prefix beam search + attention rescoring")
    p.add_argument("--backends", default="torch,onnx,onnx-int8",
                   help="comma list of torch, onnx, onnx-int8")
    p.add_argument("--rounds", type=int, default=2,
                   help="measure every configuration this many times, interleaved; keep the fastest")
    p.add_argument("--profile", action="store_true", help="print the top operators (paper size)")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    load = " ".join(open("/proc/loadavg").read().split()[:3]) if os.path.exists("/proc/loadavg") else "?"
    backends = args.backends.split(",")
    beams = [int(b) for b in args.beam_sizes.split(",")]
    print(f"# jrsv decode RTF: {args.seconds:.0f} s generated mixture, {args.threads} threads "
          f"(load average at start {load}, {os.cpu_count()} CPUs), "
          f"torch {torch.__version__}, {_ort_version()}, randomly initialised weights, "
          f"window 10 s / overlap 2 s, batch {args.batch_size}")
    print("| model | backend | search | separation | ASR speech | ASR singing | other (STFT, VAD, "
          "stitching) | total RTF | speed-up vs torch | CPU s / audio s | ASR input / audio |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for size in args.sizes.split(","):
        with tempfile.TemporaryDirectory() as tmp:
            loaded = list(engines(size, backends, args.threads, tmp))
            best: dict[tuple[str, int], dict[str, float]] = {}
            for round_ in range(args.rounds):  # interleaved: load changes hit all configurations
                for backend, engine in loaded:
                    for beam in beams:
                        engine.beam_size = beam
                        r = run(engine, args.seconds, args.batch_size, warm_up=round_ == 0)
                        print(f"<!-- round {round_ + 1}: {size} {backend} beam {beam}: RTF "
                              f"{r['total']:.3f}, CPU {r['cpu']:.3f} -->", file=sys.stderr, flush=True)
                        key = (backend, beam)
                        if key not in best or r["total"] < best[key]["total"]:
                            best[key] = r
        for (backend, beam), r in best.items():
            ref = best.get(("torch", beam))
            speed = f"{ref['total'] / r['total']:.2f}x" if ref else ""
            search = "CTC greedy" if beam == 1 else f"beam {beam} + rescoring"
            print(f"| {size} | {backend} | {search} | {r['separation']:.3f} | "
                  f"{r['asr.speech']:.3f} | {r['asr.singing']:.3f} | {r['other']:.3f} | "
                  f"**{r['total']:.3f}** | {speed} | {r['cpu']:.3f} | {r['asr_coverage']:.2f} |",
                  flush=True)
    load = " ".join(open("/proc/loadavg").read().split()[:3]) if os.path.exists("/proc/loadavg") else "?"
    print(f"each row: the fastest of {args.rounds} interleaved rounds; load average at end {load}")
    if args.profile:
        print(profile("paper", args.seconds))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
