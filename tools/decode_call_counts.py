#!/usr/bin/env python3
"""Count the torch decoder's repeated work on one generated mixture (profile of issue 17's
"torch path hygiene"): CTC log-softmax calls, frame-level dB computations, ASR model calls.

    PYTHONPATH=SRC python tools/decode_call_counts.py [--seconds 30] [--beam-size 10]

Tiny bench models (``jrsv.bin.bench_decode``), random weights, one thread. Run it with
PYTHONPATH pointing at two source trees (e.g. ``git archive OLD jrsv | tar -x -C /tmp/old``) to
compare before / after.
"""
from __future__ import annotations

import argparse
import cProfile
import pstats

import torch
from torch.profiler import ProfilerActivity, profile


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--beam-size", type=int, default=10)
    a = ap.parse_args()
    torch.set_num_threads(1)
    import jrsv
    from jrsv.bin.bench_decode import SR, build_engine, mixture
    from jrsv.decode.audio_stream import iter_array_blocks
    from jrsv.decode.pipeline import DecodeConfig, DecodeSession, run_sessions
    engine = build_engine("tiny", beam_size=a.beam_size)
    audio = mixture(a.seconds)

    def decode() -> None:
        s = DecodeSession("bench", iter_array_blocks(audio, SR, block_sec=2.0), engine,
                          DecodeConfig(min_confidence=0.0))
        for _ in run_sessions([s], engine, 1):
            pass

    decode()  # warm-up
    prof_py = cProfile.Profile()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        prof_py.enable()
        decode()
        prof_py.disable()
    ops = {e.key: e.count for e in prof.key_averages()}
    calls = {f[2]: v[1] for f, v in pstats.Stats(prof_py).stats.items()}
    print(f"source: {jrsv.__file__}")
    print(f"aten::_log_softmax calls: {ops.get('aten::_log_softmax', 0)}")
    print(f"frame_db calls: {calls.get('frame_db', 0)}")
    print(f"ASR model calls: {calls.get('_recognize', 0)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
