#!/usr/bin/env python3
"""Endless-input memory check: N minutes of DTSSVD-style mixtures as raw s16le 16 kHz PCM on
stdout, for ``jrsv decode -`` (RELIABILITY.md, "Long inputs").

    python tools/long_pcm.py --data recipes/dtssvd/data --minutes 120 \
        | /usr/bin/time -f "%M KB max RSS, %e s" jrsv decode - > /dev/null

The mixtures come from a recipe data directory (stage 0 source lists: speech, singing, music)
through ``jrsv.data.onthefly.OnTheFlyMixtures`` (whole mixtures, 0.6 s of silence between them);
a block of ``--block-minutes`` is made once and repeated until ``--minutes`` are written, so
the producer's own memory and time stay small and the decoder sees realistic content.
"""
from __future__ import annotations

import argparse
import sys

import numpy as np


def block(data: str, minutes: float, seed: int) -> np.ndarray:
    """(N,) int16 mixtures of about ``minutes`` minutes."""
    from jrsv.data.onthefly import OnTheFlyMixtures
    from jrsv.tasks.common import sources
    ds = OnTheFlyMixtures(sources(data, "speech", "train"), sources(data, "singing", "train"),
                          sources(data, "music", "train"), epoch_size=10 ** 6, crop_seconds=None,
                          seed=seed, preload=True)
    parts, n, i, gap = [], 0, 0, np.zeros(int(0.6 * 16000), np.float32)
    while n < minutes * 60 * 16000:
        x = ds.example(i)["mixture"]
        parts += [x, gap]
        n += len(x) + len(gap)
        i += 1
    y = np.concatenate(parts)
    y = 0.5 * y / max(float(np.abs(y).max()), 1e-6)
    return (y * 32767).astype("<i2")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=True, help="recipe data dir with sources/*.jsonl")
    p.add_argument("--minutes", type=float, required=True)
    p.add_argument("--block-minutes", type=float, default=5.0)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    pcm = block(a.data, min(a.block_minutes, a.minutes), a.seed)
    left = int(a.minutes * 60 * 16000)
    out = sys.stdout.buffer
    try:
        while left > 0:
            chunk = pcm[:left]
            out.write(chunk.tobytes())
            left -= len(chunk)
        out.flush()
    except BrokenPipeError:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
