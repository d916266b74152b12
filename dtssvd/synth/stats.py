"""Statistics of a generated corpus, from its manifest (``OUT/mini_corpora.json``) and the files.

    python -m dtssvd.synth.stats OUT [--markdown]

Voices per split (AISHELL speakers, OpenSinger singers), distinct sentences and lyric lines per split,
units (characters covering 99 % of the training text) and how much of the used text they cover, the
test/train character-bigram overlap of the used transcripts, hours of speech, singing and music, and
the disk size of the three corpus folders.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any, Dict, List, Optional

from . import layout
from .natural_text import bigram_overlap, unit_coverage

SPLITS = ("train", "dev", "test")


def _du(path: str) -> int:
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            total += os.path.getsize(os.path.join(root, f))
    return total


def corpus_stats(out: str) -> Dict[str, Any]:
    """The statistics of the corpus under ``out`` (raises ValueError naming the file if unreadable)."""
    path = os.path.join(out, layout.MANIFEST)
    try:
        with open(path, encoding="utf-8") as f:
            man = json.load(f)
    except (OSError, ValueError) as e:
        raise ValueError(f"{path}: not a finished generator run ({e})") from None
    if "unit_chars" not in man.get("text", {}) or "aishell" not in man or "opensinger" not in man:
        raise ValueError(f"{path}: made by an older generator or with --only (no text/aishell/opensinger "
                         "sections): regenerate it")
    speakers = man["aishell"]["speakers"].values()
    singers = man["opensinger"]["singers"].values()
    sents = man["aishell"]["sentences"]
    lyrics = man["opensinger"]["lyrics"]
    units: List[str] = list(man["text"]["unit_chars"])
    train_text = sents["train"] + lyrics["train"]
    secs = man["stats"]["audio_seconds"]
    music_s = secs.get("music", 0.0) + secs.get("recorded", 0.0)
    return {
        "speakers": {s: sum(v["split"] == s for v in speakers) for s in SPLITS},
        "speakers_by_gender": {g: sum(v["gender"] == g for v in speakers) for g in ("M", "F")},
        "speakers_revoiced": sum("-w" in v["name"] for v in speakers),
        "singers": {s: sum(v["split"] == s for v in singers) for s in SPLITS},
        "utterances": man["stats"]["aishell_utterances"],
        "sung_segments": man["stats"]["opensinger_segments"],
        "music_tracks": man["stats"]["musdb_tracks"],
        "recorded_music_tracks": man["stats"].get("musdb_recorded_tracks", 0),
        "sentences": {s: len(sents[s]) for s in SPLITS},
        "lyric_lines": {s: len(v) for s, v in lyrics.items()},
        "units": len(units),
        "unit_coverage_of_used_text": round(unit_coverage(train_text + sents["dev"] + sents["test"], units), 4),
        "bigram_overlap_test_train": {
            "speech": round(bigram_overlap(sents["test"], train_text), 4),
            "lyrics": round(bigram_overlap(lyrics["heldout"], train_text), 4)},
        "hours": {"speech": round(secs.get("speech", 0.0) / 3600, 2), "singing": round(secs.get("sing", 0.0) / 3600, 2),
                  "music": round(music_s / 3600, 2)},
        "disk_mb": {sub: round(_du(os.path.join(out, sub)) / 2 ** 20, 1)
                    for sub in ("data_aishell", "OpenSinger", "musdb18hq")},
        "text_sources": man["text"]["sources"],
    }


def markdown(st: Dict[str, Any]) -> str:
    """A two-column table of the statistics."""
    rows = [
        ("speakers train / dev / test", " / ".join(str(st["speakers"][s]) for s in SPLITS)
         + f" ({st['speakers_by_gender']['M']} M, {st['speakers_by_gender']['F']} F; "
           f"{st['speakers_revoiced']} WORLD re-voiced)"),
        ("singers train / dev / test", " / ".join(str(st["singers"][s]) for s in SPLITS)),
        ("utterances / sung segments / music tracks",
         f"{st['utterances']} / {st['sung_segments']} / {st['music_tracks']} ({st['recorded_music_tracks']} recorded)"),
        ("distinct sentences train / dev / test", " / ".join(str(st["sentences"][s]) for s in SPLITS)),
        ("lyric lines train / held-out", f"{st['lyric_lines'].get('train', 0)} / {st['lyric_lines'].get('heldout', 0)}"),
        ("units (99 % coverage of the training text)", str(st["units"])),
        ("coverage of the used text by the units", f"{100 * st['unit_coverage_of_used_text']:.2f} %"),
        ("test/train bigram overlap speech / lyrics",
         f"{100 * st['bigram_overlap_test_train']['speech']:.1f} % / {100 * st['bigram_overlap_test_train']['lyrics']:.1f} %"),
        ("hours speech / singing / music", " / ".join(f"{st['hours'][k]:.2f}" for k in ("speech", "singing", "music"))),
        ("disk (MB) AISHELL / OpenSinger / MUSDB", " / ".join(str(v) for v in st["disk_mb"].values())),
    ]
    return "| statistic | value |\n|---|---|\n" + "\n".join(f"| {a} | {b} |" for a, b in rows) + "\n"


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="python -m dtssvd.synth.stats", description=__doc__.split("\n")[0])
    p.add_argument("out", help="a generated corpus directory (holds mini_corpora.json)")
    p.add_argument("--markdown", action="store_true", help="print a Markdown table instead of JSON")
    args = p.parse_args(argv)
    try:
        st = corpus_stats(args.out)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(markdown(st) if args.markdown else json.dumps(st, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
