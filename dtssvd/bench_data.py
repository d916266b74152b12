"""Data benchmark: on-the-fly 4 s mixtures per second on one core, and the DTSSVD dev/test
build time. Generates small 16 kHz sources itself when no corpus is given.

    python -m dtssvd.bench_data [--aishell DIR --opensinger DIR --musdb DIR] [--seconds 10]
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

for _v in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402
import torch  # noqa: E402

from dtssvd import build  # noqa: E402
from jrsv.data.aishell import read_aishell  # noqa: E402
from jrsv.data.musdb import read_musdb  # noqa: E402
from jrsv.data.onthefly import OnTheFlyMixtures  # noqa: E402
from jrsv.data.opensinger import read_opensinger  # noqa: E402
from jrsv.data.records import Utterance  # noqa: E402
from jrsv.data.toy import make_all  # noqa: E402


def _pool16k(d: Path, name: str, n: int, rng) -> list:
    out = []
    for i in range(n):
        p = d / f"{name}{i}.wav"
        sf.write(p, (0.1 * rng.standard_normal(int(rng.uniform(3, 8) * 16000))).astype(np.float32),
                 16000, subtype="PCM_16")
        out.append(Utterance(f"{name}{i}", str(p), "文本", name))
    return out


def bench_onthefly(speech, singing, music, seconds: float, cache_dir, preload: bool) -> float:
    """Mixtures per second (single process, 1 thread)."""
    ds = OnTheFlyMixtures(speech, singing, music, epoch_size=10 ** 9, crop_seconds=4.0, seed=0,
                          cache_dir=cache_dir, preload=preload)
    it = iter(ds)
    for _ in range(20):
        next(it)
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        next(it)
        n += 1
    return n / (time.perf_counter() - t0)


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m dtssvd.bench_data")
    p.add_argument("--aishell")
    p.add_argument("--opensinger")
    p.add_argument("--musdb")
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--toy-scale", type=int, default=20,
                   help="generated corpora: 3*scale utterances per speaker (build-time set)")
    args = p.parse_args()
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        rng = np.random.default_rng(0)
        if args.aishell:
            speech = read_aishell(args.aishell, "train", cache_dir=str(tmp / "aishell"))
            singing = read_opensinger(args.opensinger, "train")
            music = read_musdb(args.musdb, "train")
            corp = {"aishell": args.aishell, "opensinger": args.opensinger, "musdb": args.musdb}
        else:
            speech = _pool16k(tmp, "sp", 200, rng)
            singing = _pool16k(tmp, "sg", 100, rng)
            music = [(0.1 * rng.standard_normal(16000 * 60)).astype(np.float32) for _ in range(4)]
            corp = make_all(str(tmp / "toy"), seed=0, scale=args.toy_scale)
        print(f"sources: speech {len(speech)}, singing {len(singing)}, music {len(music)}; "
              f"threads torch={torch.get_num_threads()}")
        for label, cache, pre in (("wav files read per example", None, False),
                                  ("files via npy cache", str(tmp / "cache"), False),
                                  ("preloaded in memory", None, True)):
            rate = bench_onthefly(speech, singing, music, args.seconds, cache, pre)
            print(f"on-the-fly 4 s mixtures, 1 core, {label}: {rate:.0f} mixtures/s "
                  f"({rate * 4 / 3600:.2f} h of audio per s)")
        out = tmp / "dtssvd"
        t0 = time.perf_counter()
        build.main(["--aishell", corp["aishell"], "--opensinger", corp["opensinger"], "--musdb",
                    corp["musdb"], "--out", str(out), "--seed", "0"])
        t1 = time.perf_counter()
        n = sum(1 for s in ("dev", "test") for _ in open(out / f"{s}.jsonl"))
        print(f"dtssvd.build dev+test (manifests only): {n} mixtures in {t1 - t0:.2f} s "
              f"({n / (t1 - t0):.0f} mixtures/s)")
        build.main(["--aishell", corp["aishell"], "--opensinger", corp["opensinger"], "--musdb",
                    corp["musdb"], "--out", str(tmp / "dtssvd_wav"), "--seed", "0", "--write-wav"])
        t2 = time.perf_counter()
        print(f"dtssvd.build dev+test with --write-wav: {n} mixtures in {t2 - t1:.2f} s; "
              f"extrapolated to AISHELL-1 dev+test (21502 utts): {21502 * (t1 - t0) / n / 60:.1f} min "
              f"manifests, {21502 * (t2 - t1) / n / 60:.1f} min with wavs")


if __name__ == "__main__":
    main()
