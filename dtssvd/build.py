"""Build the DTSSVD dev/test benchmark: one singing segment and one music segment per
speech utterance, overlap ratios assigned in equal shares, jsonl manifests (+ optional wavs).

    python -m dtssvd.build --aishell DIR --opensinger DIR --musdb DIR --out DIR --seed N [--write-wav]

Output: OUT/{dev,test}.jsonl, OUT/{dev,test}.done.json (config + sha256; a rerun with the same
config and an intact manifest is skipped), OUT/{dev,test}.report.json (skipped sources by name),
with --write-wav OUT/wav/{split}/<id>/{mixture,speech,singing,music}.wav (float32, 16 kHz).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
import zlib
from pathlib import Path
from typing import List, Optional

import numpy as np
from tqdm import tqdm

from jrsv.checksum import sha256_file
from jrsv.data.aishell import read_aishell
from jrsv.data.audio import AudioError, atomic_write_bytes, load_audio, save_audio
from jrsv.data.manifest import dumps_jsonl, read_jsonl
from jrsv.data.mix import RATIOS, MixError, check_source, render, sample_spec
from jrsv.data.musdb import cached_music, music_split, read_musdb
from jrsv.data.opensinger import read_opensinger
from jrsv.data.records import ReadReport, Utterance
from jrsv.markers import read_marker, write_marker

SR = 16000
SPLIT_CODE = {"train": 0, "dev": 1, "test": 2}


def load_music_pool(musdb: str, split: str, cache_dir: str, report: ReadReport) -> List[tuple]:
    """[(track, n_samples)] of usable tracks of a DTSSVD split (resampled into the npy cache);
    unreadable/silent tracks reported and dropped."""
    ms = "test" if split == "test" else "train"
    pool = []
    for t in music_split(read_musdb(musdb, ms, report), ms, split):
        try:
            x = cached_music(t, cache_dir, SR)
            check_source(np.asarray(x), f"{Path(t.stems['other']).parent}")
            pool.append((t, len(x)))
        except (AudioError, MixError) as e:
            report.bad.append(str(e))
    return pool


def load_pool(utts: List[Utterance], report: ReadReport, desc: str) -> List[tuple]:
    """[(utt, n_samples)] of usable sources (checked once, not kept in memory);
    bad/silent/short ones reported by name."""
    pool = []
    for u in tqdm(utts, desc=desc, leave=False, disable=None):
        try:
            x = load_audio(u.path, SR)
            check_source(x, u.path)
            pool.append((u, len(x)))
        except (AudioError, MixError) as e:
            report.bad.append(str(e))
    return pool


def ratio_plan(n: int, seed: int, split: str) -> List[float]:
    """Overlap ratio per sorted speech index: equal shares (+-1), seeded permutation."""
    rng = np.random.default_rng([seed, SPLIT_CODE[split], 7])
    perm = rng.permutation(n)
    out = [0.0] * n
    for k, i in enumerate(perm):
        out[int(i)] = RATIOS[k % len(RATIOS)]
    return out


def build_split(split: str, speech: List[Utterance], singing: List[tuple], music: List[tuple],
                seed: int, out: Path, write_wav: bool, report: ReadReport,
                music_cache: str) -> List[dict]:
    """Manifest rows for `split` (sorted speech ids); one mixture per usable speech utterance."""
    if not singing or not music:
        raise SystemExit(f"dtssvd.build: {split}: no usable singing ({len(singing)}) "
                         f"or music ({len(music)}) sources")
    speech = sorted(speech, key=lambda u: u.id)
    ratios = ratio_plan(len(speech), seed, split)
    rows = []
    for i, u in enumerate(tqdm(speech, desc=f"dtssvd {split}", unit="mix", disable=None)):
        try:
            sx = load_audio(u.path, SR)
            check_source(sx, u.path)
        except (AudioError, MixError) as e:
            report.bad.append(str(e))
            continue
        rng = np.random.default_rng([seed, SPLIT_CODE[split], zlib.crc32(u.id.encode())])
        g, g_len = singing[int(rng.integers(len(singing)))]
        m, m_len = music[int(rng.integers(len(music)))]
        spec = sample_spec(rng, len(sx), g_len, m_len, overlap=ratios[i])
        mid = f"{split}_{i:06d}_{u.id}"
        try:
            out_d = render(spec, sx, load_audio(g.path, SR),
                           np.asarray(cached_music(m, music_cache, SR)))
        except AudioError as e:  # changed on disk since it was checked
            report.bad.append(str(e))
            continue
        row = {"id": mid, "split": split, "overlap": spec.overlap, "spec": spec.to_dict(),
               "scale": round(out_d["scale"], 9), "sr": SR,
               "speech": {"id": u.id, "path": u.path, "text": u.text, "speaker": u.speaker},
               "singing": {"id": g.id, "path": g.path, "text": g.text, "speaker": g.speaker},
               "music": {"id": m.id, "stems": {k: m.stems[k] for k in ("drums", "bass", "other")}}}
        if write_wav:
            d = out / "wav" / split / mid
            row["wav"] = {}
            for k in ("mixture", "speech", "singing", "music"):
                save_audio(d / f"{k}.wav", out_d[k], SR)
                row["wav"][k] = str(Path("wav") / split / mid / f"{k}.wav")
        rows.append(row)
    return rows


def _config(args, split) -> dict:
    return {"aishell": str(args.aishell), "opensinger": str(args.opensinger),
            "musdb": str(args.musdb), "seed": args.seed, "write_wav": bool(args.write_wav),
            "split": split, "version": 1}


def is_done(out: Path, split: str, config: dict) -> bool:
    """True if OUT/split.jsonl exists, parses, and matches the done-marker's config + sha256."""
    man, done = out / f"{split}.jsonl", out / f"{split}.done.json"
    if not (man.is_file() and done.is_file()):
        return False
    d = read_marker(done)
    try:
        ok = d["config"] == config and d["sha256"] == sha256_file(man)
        rows = read_jsonl(str(man)) if ok else []
    except (ValueError, KeyError, TypeError, OSError):
        return False
    if ok and config["write_wav"]:
        ok = all((out / r["wav"]["mixture"]).is_file() for r in rows)
    return ok


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="python -m dtssvd.build", description=__doc__.split("\n")[0])
    p.add_argument("--aishell", required=True)
    p.add_argument("--opensinger", required=True)
    p.add_argument("--musdb", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--splits", default="dev,test")
    p.add_argument("--write-wav", action="store_true")
    p.add_argument("--cache-dir", default=None,
                   help="cache of extracted AISHELL tars and resampled music (default OUT/cache); "
                        "manifest paths point into it, so it is part of the output's identity")
    p.add_argument("--force", action="store_true")
    args = p.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    cache_root = Path(args.cache_dir) if args.cache_dir else out / "cache"
    cache = str(cache_root / "musdb")
    for split in args.splits.split(","):
        cfg = _config(args, split)
        if not args.force and is_done(out, split, cfg):
            print(f"dtssvd.build: {split}: already built ({out / (split + '.jsonl')}), skipping")
            continue
        rep = ReadReport()
        speech = read_aishell(args.aishell, split, cache_dir=str(cache_root / "aishell"),
                              report=rep)
        singing = load_pool(read_opensinger(args.opensinger, split, rep), rep, f"singing {split}")
        music = load_music_pool(args.musdb, split, cache, rep)
        rows = build_split(split, speech, singing, music, args.seed, out, args.write_wav, rep,
                           cache)
        data = dumps_jsonl(rows)
        atomic_write_bytes(out / f"{split}.report.json", json.dumps(
            {"untranscribed": rep.untranscribed, "missing_audio": rep.missing_audio,
             "bad": rep.bad}, ensure_ascii=False, indent=1).encode())
        atomic_write_bytes(out / f"{split}.jsonl", data)
        write_marker(out / f"{split}.done.json",
                     {"config": cfg, "sha256": hashlib.sha256(data).hexdigest(), "n": len(rows)})
        counts = {r: sum(1 for x in rows if x["overlap"] == r) for r in RATIOS}
        print(f"dtssvd.build: {split}: {len(rows)} mixtures {counts}; skipped "
              f"{rep.summary()}", file=sys.stderr)
        for b in rep.bad:
            print(f"  skipped: {b}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
