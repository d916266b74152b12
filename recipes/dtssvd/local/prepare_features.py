#!/usr/bin/env python3
"""Recipe stage 1 (after the DTSSVD lists): character units and global CMVN statistics.

``local/prepare_features.py --data DATA [--max-utts 2000] [--mixtures 200]`` writes
  DATA/units.txt               characters of the train transcripts (speech + singing)
  DATA/cmvn_fbank.json         80-dim fbank of clean train speech + singing (cascade ASRs)
  DATA/cmvn_logmag_clean.json  513-dim log-magnitude of clean train speech + singing (JRSV ASR)
  DATA/cmvn_logmag_mix.json    513-dim log-magnitude of on-the-fly training mixtures (MTASS input)
Each file is skipped when it exists and is newer than the source lists.
"""
from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

import torch
from tqdm import tqdm

from jrsv.atomic import atomic_path
from jrsv.asr.tokenizer import build_char_units, write_units
from jrsv.constants import NUM_BINS, SAMPLE_RATE
from jrsv.data.cache import cached_load
from jrsv.data.onthefly import OnTheFlyMixtures
from jrsv.nn.cmvn import CMVNAccumulator, save_cmvn
from jrsv.nn.frontend import Fbank, LogMagnitude, Stft
from jrsv.tasks.common import sources


def _fresh(out: Path, inputs: list[Path]) -> bool:
    return out.is_file() and all(out.stat().st_mtime >= p.stat().st_mtime for p in inputs)


def clean_stats(data: Path, max_utts: int, seed: int) -> tuple[CMVNAccumulator, CMVNAccumulator]:
    """(fbank, log-magnitude) statistics over a random subset of clean train utterances."""
    utts = sources(data, "speech", "train") + sources(data, "singing", "train")
    random.Random(seed).shuffle(utts)
    fb_acc, mag_acc = CMVNAccumulator(80), CMVNAccumulator(NUM_BINS)
    fbank, stft, logm = Fbank().eval(), Stft(), LogMagnitude()
    cache = str(data / "cache" / "audio")
    for u in tqdm(utts[:max_utts], desc="cmvn (clean)", disable=not sys.stderr.isatty()):
        wav = torch.from_numpy(cached_load(u.path, cache, SAMPLE_RATE).copy()).unsqueeze(0)
        fb_acc.update(fbank(wav)[0][0])
        mag_acc.update(logm(stft(wav))[0])
    return fb_acc, mag_acc


def mixture_stats(data: Path, n: int, seed: int) -> CMVNAccumulator:
    ds = OnTheFlyMixtures(sources(data, "speech", "train"), sources(data, "singing", "train"),
                          sources(data, "music", "train"), epoch_size=n, crop_seconds=4.0,
                          seed=seed, cache_dir=str(data / "cache" / "audio"))
    acc, stft, logm = CMVNAccumulator(NUM_BINS), Stft(), LogMagnitude()
    for ex in tqdm(ds, total=n, desc="cmvn (mixtures)", disable=not sys.stderr.isatty()):
        acc.update(logm(stft(ex["mixture"].unsqueeze(0)))[0])
    return acc


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="local/prepare_features.py", description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--max-utts", type=int, default=2000)
    ap.add_argument("--mixtures", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)
    torch.set_num_threads(max(1, min(2, torch.get_num_threads())))
    inputs = [a.data / "sources" / f"{k}_train.jsonl" for k in ("speech", "singing", "music")]
    missing = [str(p) for p in inputs if not p.is_file()]
    if missing:
        print(f"error: {missing[0]}: source list missing (run recipe stage 0)", file=sys.stderr)
        return 1
    units = a.data / "units.txt"
    if not _fresh(units, inputs):
        texts = [u.text for k in ("speech", "singing") for u in sources(a.data, k, "train")]
        with atomic_path(units) as tmp:
            write_units(build_char_units(texts), tmp)
        print(f"prepare_features: wrote {units}", file=sys.stderr)
    fb, lc = a.data / "cmvn_fbank.json", a.data / "cmvn_logmag_clean.json"
    if not (_fresh(fb, inputs) and _fresh(lc, inputs)):
        fb_acc, mag_acc = clean_stats(a.data, a.max_utts, a.seed)
        save_cmvn(fb, *fb_acc.finish(), fb_acc.frames)
        save_cmvn(lc, *mag_acc.finish(), mag_acc.frames)
        print(f"prepare_features: wrote {fb} and {lc} ({fb_acc.frames} fbank frames)", file=sys.stderr)
    lm = a.data / "cmvn_logmag_mix.json"
    if not _fresh(lm, inputs):
        acc = mixture_stats(a.data, a.mixtures, a.seed)
        save_cmvn(lm, *acc.finish(), acc.frames)
        print(f"prepare_features: wrote {lm}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
