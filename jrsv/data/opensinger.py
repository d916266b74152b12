"""OpenSinger reader: `OpenSinger/{ManRaw,WomanRaw}/<singer>_<song>/<singer>_<song>_<idx>.{wav,txt}`.

The corpus has no official split. Singer-disjoint deterministic split (dtssvd/README.md):
held-out singers Man 26, Man 27, Woman 46, Woman 47 form `test` when present, otherwise the
rule is hash-based: sha1("<gender>_<singer>") mod 20 == 0 -> test, == 1 -> dev, else train.
When the fixed test singers exist, dev is Man 25 + Woman 45 if present, else the hash rule.
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import List, Optional

from jrsv.data.records import ReadReport, Utterance, fill_durations

GENDERS = {"ManRaw": "Man", "WomanRaw": "Woman"}
FIXED_TEST = {"Man_26", "Man_27", "Woman_46", "Woman_47"}
FIXED_DEV = {"Man_25", "Woman_45"}


def _root(path: str) -> Path:
    p = Path(path)
    return p / "OpenSinger" if (p / "OpenSinger").is_dir() else p


def _hash_split(singer_key: str) -> str:
    h = int(hashlib.sha1(singer_key.encode()).hexdigest(), 16) % 20
    return "test" if h == 0 else "dev" if h == 1 else "train"


def singer_split(singer_key: str, all_singers: set) -> str:
    """'train'|'dev'|'test' for `singer_key` ('Man_3') given every singer key in the corpus."""
    if FIXED_TEST & all_singers:
        if singer_key in FIXED_TEST:
            return "test"
        if FIXED_DEV & all_singers:
            return "dev" if singer_key in FIXED_DEV else "train"
        h = _hash_split(singer_key)
        return "dev" if h != "train" else "train"
    return _hash_split(singer_key)


def read_opensinger(path: str, split: Optional[str] = None, report: Optional[ReadReport] = None,
                    with_duration: bool = False) -> List[Utterance]:
    """Segments (sorted by id) of `split` ('train'|'dev'|'test'|None = all).

    id = "<Gender>_<dir>_<idx>" (e.g. "Man_0_song_3"); speaker = "<Gender>_<singer>".
    Text is the `.txt` content with spaces removed; a wav without txt goes to `report.untranscribed`.
    """
    root = _root(path)
    items = []
    for gdir, gender in GENDERS.items():
        for wav in sorted((root / gdir).glob("*/*.wav")):
            singer = wav.parent.name.split("_", 1)[0]
            items.append((f"{gender}_{singer}", f"{gender}_{wav.stem}", wav))
    if not items and not any((root / g).is_dir() for g in GENDERS):
        raise FileNotFoundError(f"{root}: no ManRaw/WomanRaw dirs (OpenSinger layout)")
    singers = {s for s, _, _ in items}
    rep = report if report is not None else ReadReport()
    out = []
    for spk, uid, wav in items:
        if split is not None and singer_split(spk, singers) != split:
            continue
        txt = wav.with_suffix(".txt")
        if not txt.is_file():
            rep.untranscribed.append(str(wav))
            continue
        text = "".join(txt.read_text(encoding="utf-8").split())
        out.append(Utterance(uid, str(wav), text, spk))
    out = sorted(out, key=lambda u: u.id)
    return fill_durations(out, rep) if with_duration else out
