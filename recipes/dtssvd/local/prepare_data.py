#!/usr/bin/env python3
"""Recipe stage 0: read the corpora and write source manifests.

``local/prepare_data.py --corpora DIR --out DATA`` where DIR holds ``data_aishell/``,
``OpenSinger/`` and ``musdb18hq/`` (or give each with ``--aishell/--opensinger/--musdb``).
Writes ``DATA/sources/{speech,singing}_{train,dev,test}.jsonl`` (id, path, text, speaker,
duration) and ``DATA/sources/music_{train,dev,test}.jsonl`` (id, stems). Unreadable or
untranscribed files are reported by name with counts, never silently dropped. Skips itself when
the manifests exist and were written for the same corpus paths.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tqdm import tqdm

from jrsv.data.aishell import read_aishell
from jrsv.data.audio import AudioError, atomic_write_bytes, audio_info
from jrsv.data.manifest import dumps_jsonl
from jrsv.data.musdb import music_split, read_musdb
from jrsv.data.opensinger import read_opensinger
from jrsv.data.records import ReadReport, Utterance
from jrsv.markers import read_marker, write_marker

SPLITS = ("train", "dev", "test")


def with_durations(utts: list[Utterance], report: ReadReport, desc: str) -> list[Utterance]:
    """Fill ``duration``; unreadable files go to ``report.bad`` by name."""
    out = []
    for u in tqdm(utts, desc=desc, leave=False, disable=not sys.stderr.isatty()):
        try:
            frames, sr = audio_info(u.path)
        except (AudioError, OSError, RuntimeError) as e:
            report.bad.append(f"{u.path}: {e}")
            continue
        if frames == 0:
            report.bad.append(f"{u.path}: empty audio")
            continue
        u.duration = round(frames / sr, 3)
        out.append(u)
    return out


def generated_neural_voices(corpora: Path) -> int:
    """``neural_voices`` of the generator run in ``corpora`` (its ``mini_corpora.json``; 0 without one)."""
    try:
        conf = json.loads((corpora / "mini_corpora.json").read_text(encoding="utf-8"))["config"]
    except (OSError, ValueError, KeyError, TypeError):
        return 0
    return int(conf.get("neural_voices", 0))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="local/prepare_data.py", description=__doc__.split("\n")[0])
    ap.add_argument("--corpora", type=Path, help="dir with data_aishell/, OpenSinger/, musdb18hq/")
    ap.add_argument("--aishell", type=Path)
    ap.add_argument("--opensinger", type=Path)
    ap.add_argument("--musdb", type=Path)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--force", action="store_true")
    a = ap.parse_args(argv)
    aishell = a.aishell or a.corpora
    opensinger = a.opensinger or a.corpora
    musdb = a.musdb or (a.corpora / "musdb18hq" if a.corpora else None)
    if not (aishell and opensinger and musdb):
        ap.error("give --corpora DIR or all of --aishell, --opensinger, --musdb")
    src = a.out / "sources"
    marker = src / "done.json"
    config = {"aishell": str(Path(aishell).resolve()), "opensinger": str(Path(opensinger).resolve()),
              "musdb": str(Path(musdb).resolve()), "version": 1}
    neural = generated_neural_voices(Path(aishell))
    if neural:  # neural voices added to generated corpora: new training files, so read them again
        config["neural_voices"] = neural
    if not a.force and (read_marker(marker) or {}).get("config") == config:
        print(f"prepare_data: {src} is up to date, skipping", file=sys.stderr)
        return 0
    src.mkdir(parents=True, exist_ok=True)
    rep = ReadReport()
    counts = {}
    try:
        musdb_tracks = {s: read_musdb(str(musdb), s, rep) for s in ("train", "test")}
        for split in SPLITS:
            speech = with_durations(read_aishell(str(aishell), split, report=rep, cache_dir=str(
                a.out / "cache" / "aishell")), rep, f"speech {split}")
            singing = with_durations(read_opensinger(str(opensinger), split, rep), rep,
                                     f"singing {split}")
            music = music_split(musdb_tracks["test" if split == "test" else "train"],
                                "test" if split == "test" else "train", split)
            for kind, rows in (("speech", speech), ("singing", singing), ("music", music)):
                atomic_write_bytes(src / f"{kind}_{split}.jsonl", dumps_jsonl(r.to_dict() for r in rows))
                counts[f"{kind}_{split}"] = len(rows)
    except FileNotFoundError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    empty = [k for k, n in counts.items() if n == 0]
    write_marker(marker, {"config": config, "counts": counts,
                          "report": {"untranscribed": rep.untranscribed,
                                     "missing_audio": rep.missing_audio, "bad": rep.bad}})
    print(f"prepare_data: {json.dumps(counts)}; skipped {rep.summary()}", file=sys.stderr)
    for b in rep.bad:
        print(f"  skipped: {b}", file=sys.stderr)
    if empty:
        print(f"warning: empty source lists: {', '.join(empty)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
