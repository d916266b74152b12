#!/usr/bin/env python3
"""Move part of a recipe data dir to a remote GPU machine through a small transfer, as Opus.

A generated ``data_large`` dir is 8 GB of WAV; a time-limited GPU lease may take only tens of
MB. ``pack`` draws a seeded, disjoint share of the training sources (``--part K`` of ``--parts``
shares, each ``--speech-hours`` / ``--singing-hours`` long), the sources of the first
``--dev-mixtures`` dev mixtures and (with ``--music``) every training music track, resamples
them to 16 kHz mono (what training reads anyway) and encodes them as Ogg/Opus (libsndfile,
``compression_level`` 0.97: about 15 kbit/s, the 4-8 kHz band kept within 1.5 dB). ``unpack``
decodes a pack into WAV at the same relative paths under another data dir and merges its source
manifests into that dir's (so several packs add up). Music tracks travel as one summed stem:
``other.wav`` holds drums+bass+other, ``drums.wav``/``bass.wav`` are silent (the sum is what
``jrsv.data.musdb.load_music`` reads).

    python local/opus_pack.py pack --data data_large --out .gpu/packA --part 0 --music
    python local/opus_pack.py unpack --pack .gpu/packA --data data_gpu     # on the GPU machine

Training on an unpacked dir trains on Opus-coded audio: say so wherever its scores are quoted.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import soundfile as sf

from jrsv.atomic import atomic_write_text

SR = 16000
LEVEL = 0.97
KINDS = ("speech", "singing", "music")


def _read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _write_jsonl(path: Path, rows: list[dict]) -> None:
    atomic_write_text(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))


def _encode(job: tuple[str, list[str], str]) -> tuple[str, int]:
    """(kind, source wav paths summed, opus path) -> (opus path, samples)."""
    from jrsv.data.audio import load_audio
    kind, paths, out = job
    x = np.sum([load_audio(p, SR) for p in paths], axis=0) if len(paths) > 1 else load_audio(paths[0], SR)
    peak = float(np.max(np.abs(x))) if len(x) else 0.0
    if peak > 0.999:  # summed stems can clip in 16-bit-free float; Opus is float too, keep level
        x = x * (0.999 / peak)
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    sf.write(out, x.astype(np.float32), SR, format="OGG", subtype="OPUS", compression_level=LEVEL)
    return out, len(x)


def _take_hours(rows: list[dict], hours: float, part: int, seed: int) -> list[dict]:
    """Share ``part`` of a seeded shuffle cut into consecutive ``hours``-long shares."""
    order = list(rows)
    random.Random(seed).shuffle(order)
    shares, cur, acc = [], [], 0.0
    for r in order:
        cur.append(r)
        acc += float(r.get("duration", 0.0))
        if acc >= hours * 3600:
            shares.append(cur)
            cur, acc = [], 0.0
    if cur:
        shares.append(cur)
    if part >= len(shares):
        raise SystemExit(f"pack: only {len(shares)} shares of {hours} h; --part {part} is beyond them")
    return shares[part]


def pack(a: argparse.Namespace) -> None:
    data, out = Path(a.data), Path(a.out)
    src = data / "sources"
    if out.exists():
        shutil.rmtree(out)
    sel: dict[str, list[dict]] = {
        "speech_train": _take_hours(_read_jsonl(src / "speech_train.jsonl"), a.speech_hours, a.part, a.seed),
        "singing_train": _take_hours(_read_jsonl(src / "singing_train.jsonl"), a.singing_hours, a.part, a.seed),
    }
    if a.music:
        sel["music_train"] = _read_jsonl(src / "music_train.jsonl")
    dev = _read_jsonl(data / "dtssvd" / "dev.jsonl")[: a.dev_mixtures] if a.dev_mixtures else []
    if dev:
        sp_ids = {m["speech"]["id"] for m in dev if m.get("speech")}
        si_ids = {m["singing"]["id"] for m in dev if m.get("singing")}
        sel["speech_dev"] = [r for r in _read_jsonl(src / "speech_dev.jsonl") if r["id"] in sp_ids]
        sel["singing_dev"] = [r for r in _read_jsonl(src / "singing_dev.jsonl") if r["id"] in si_ids]
        mus = {m["music"]["id"]: m["music"] for m in dev if m.get("music")}
        sel["music_dev"] = [r for r in _read_jsonl(src / "music_dev.jsonl") if r["id"] in mus]
        known = {r["id"] for r in sel.get("music_train", [])} | {r["id"] for r in sel["music_dev"]}
        sel["music_dev"] += [{"id": i, "stems": m["stems"]} for i, m in mus.items() if i not in known]
    jobs, files = [], []
    for name, rows in sel.items():
        for r in rows:
            if "stems" in r:
                paths = [r["stems"][s] for s in ("drums", "bass", "other")]
                rel = str(Path(r["stems"]["other"]).parent)
            else:
                paths, rel = [r["path"]], r["path"]
            opus = f"audio/{len(files):06d}.opus"
            files.append({"src": rel, "opus": opus, "music": "stems" in r})
            jobs.append(("music" if "stems" in r else name, paths, str(out / opus)))
    with ProcessPoolExecutor(a.workers) as ex:
        lengths = [n for _, n in ex.map(_encode, jobs, chunksize=16)]
    for f, n in zip(files, lengths):
        f["samples"] = n
    for name, rows in sel.items():
        _write_jsonl(out / "sources" / f"{name}.jsonl", rows)
    if dev:
        _write_jsonl(out / "dtssvd" / "dev.jsonl", dev)
    for f in ("units.txt", "cmvn_fbank.json", "cmvn_logmag_clean.json", "cmvn_logmag_mix.json"):
        if (data / f).is_file():
            shutil.copy(data / f, out / f)
    meta = {"data": str(data), "part": a.part, "seed": a.seed, "level": LEVEL, "sr": SR,
            "hours": {k: round(sum(float(r.get("duration", 0)) for r in v) / 3600, 3) for k, v in sel.items()},
            "counts": {k: len(v) for k, v in sel.items()}, "files": files}
    (out / "pack.json").write_text(json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8")
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    print(f"pack: {out} {size / 2**20:.1f} MiB, counts {meta['counts']}, hours {meta['hours']}")


def _decode(job: tuple[str, str, bool]) -> None:
    opus, dst, music = job
    x, sr = sf.read(opus, dtype="float32")
    d = Path(dst)
    if music:
        d.mkdir(parents=True, exist_ok=True)
        sf.write(d / "other.wav", x, sr, subtype="FLOAT")
        for s in ("drums", "bass"):
            sf.write(d / f"{s}.wav", np.zeros_like(x), sr, subtype="PCM_16")
    else:
        d.parent.mkdir(parents=True, exist_ok=True)
        sf.write(d, x, sr, subtype="FLOAT")


def _repath(obj, old: str, new: str):
    if isinstance(obj, str):
        return new + obj[len(old):] if obj.startswith(old) else obj
    if isinstance(obj, dict):
        return {k: _repath(v, old, new) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_repath(v, old, new) for v in obj]
    return obj


def unpack(a: argparse.Namespace) -> None:
    p, data = Path(a.pack), Path(a.data)
    meta = json.loads((p / "pack.json").read_text(encoding="utf-8"))
    old = meta["data"].rstrip("/") + "/"
    new = str(data).rstrip("/") + "/"
    jobs = [(str(p / f["opus"]), new + f["src"][len(old):] if f["src"].startswith(old) else f["src"],
             f["music"]) for f in meta["files"]]
    with ProcessPoolExecutor(a.workers) as ex:
        list(ex.map(_decode, jobs, chunksize=16))
    for m in sorted((p / "sources").glob("*.jsonl")) + sorted((p / "dtssvd").glob("*.jsonl")):
        dst = data / m.relative_to(p)
        rows = _repath(_read_jsonl(m), old, new)
        have = _read_jsonl(dst) if dst.is_file() else []
        ids = {r["id"] for r in have}
        _write_jsonl(dst, have + [r for r in rows if r["id"] not in ids])
    for f in ("units.txt", "cmvn_fbank.json", "cmvn_logmag_clean.json", "cmvn_logmag_mix.json"):
        if (p / f).is_file():
            shutil.copy(p / f, data / f)
    print(f"unpack: {len(jobs)} files into {data}")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    pk = sub.add_parser("pack")
    pk.add_argument("--data", required=True)
    pk.add_argument("--out", required=True)
    pk.add_argument("--part", type=int, default=0)
    pk.add_argument("--speech-hours", type=float, default=4.5)
    pk.add_argument("--singing-hours", type=float, default=1.2)
    pk.add_argument("--music", action="store_true", help="add every training music track")
    pk.add_argument("--dev-mixtures", type=int, default=0)
    pk.add_argument("--seed", type=int, default=0)
    pk.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    up = sub.add_parser("unpack")
    up.add_argument("--pack", required=True)
    up.add_argument("--data", required=True)
    up.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    a = ap.parse_args(argv)
    (pack if a.cmd == "pack" else unpack)(a)


if __name__ == "__main__":
    sys.exit(main())
