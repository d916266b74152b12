"""AISHELL-1 reader (layout as in WeNet/ESPnet `local/aishell_data_prep.sh`).

    data_aishell/wav/{train,dev,test}/SXXXX/BAC009SXXXXWYYYY.wav
    data_aishell/transcript/aishell_transcript_v0.8.txt   ("BAC009S0002W0122 而 对 楼市 ...")

As downloaded, `wav/` holds one `SXXXX.tar.gz` per speaker whose members are
`{split}/SXXXX/*.wav` (a leading `wav/` is also accepted); those are extracted once into `cache_dir`.
The transcript's word-segmentation spaces are removed (as WeNet's data prep does).
"""
from __future__ import annotations

import tarfile
from pathlib import Path
from typing import Dict, List, Optional


from jrsv.atomic import atomic_write_bytes
from jrsv.data.records import ReadReport, Utterance, fill_durations

SPLITS = ("train", "dev", "test")
TRANSCRIPT = "transcript/aishell_transcript_v0.8.txt"


def _root(path: str) -> Path:
    p = Path(path)
    return p / "data_aishell" if (p / "data_aishell").is_dir() else p


def read_transcript(path: Path) -> Dict[str, str]:
    """utt id -> text with all spaces removed."""
    out = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            parts = line.strip().split()
            if len(parts) >= 2:
                out[parts[0]] = "".join(parts[1:])
    return out


def _extract_speaker_tars(wav_dir: Path, split: str, cache_dir: Path) -> Path:
    """Extract `wav_dir/S*.tar.gz` members of `split` into `cache_dir/wav`; returns that dir.

    Each tar is extracted once (a `.done` marker per tar); only regular `.wav` members with
    safe relative paths are written.
    """
    out = cache_dir / "wav"
    for tar in sorted(wav_dir.glob("S*.tar.gz")):
        marker = cache_dir / f".{tar.name}.done"
        if marker.exists():
            continue
        with tarfile.open(tar, "r:gz") as tf:
            members = [m for m in tf.getmembers() if m.isfile() and m.name.endswith(".wav")
                       and not m.name.startswith("/") and ".." not in Path(m.name).parts]
            for m in members:
                parts = Path(m.name).parts
                rel = Path(*parts[parts.index("wav") + 1:]) if "wav" in parts else Path(m.name)
                dst = out / rel
                dst.parent.mkdir(parents=True, exist_ok=True)
                src = tf.extractfile(m)
                atomic_write_bytes(dst, src.read())
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.touch()
    return out


def read_aishell(path: str, split: str, cache_dir: Optional[str] = None,
                 report: Optional[ReadReport] = None, with_duration: bool = False) -> List[Utterance]:
    """Transcribed utterances of one split, sorted by id; untranscribed wavs go to `report`.

    `path`: the corpus dir (containing `data_aishell/` or being it). If `wav/{split}` is
    absent but `wav/S*.tar.gz` exist, they are extracted into `cache_dir`
    (default `<root>/.jrsv_cache`). `with_duration` fills `duration` (s) from the wav headers;
    a wav whose header is unreadable then goes to `report.bad`.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    root = _root(path)
    tr = root / TRANSCRIPT
    if not tr.is_file():
        raise FileNotFoundError(f"{tr}: AISHELL-1 transcript not found")
    texts = read_transcript(tr)
    wav_root = root / "wav"
    dirs = [wav_root / split] if (wav_root / split).is_dir() else []
    if any(wav_root.glob("S*.tar.gz")):  # as downloaded: one tar per speaker
        cache = Path(cache_dir) if cache_dir else root / ".jrsv_cache"
        dirs.append(_extract_speaker_tars(wav_root, split, cache) / split)
    if not dirs:
        raise FileNotFoundError(f"{wav_root / split}: AISHELL-1 split dir not found")
    rep = report if report is not None else ReadReport()
    out = []
    wavs = {w.stem: w for d in dirs for w in d.glob("S*/*.wav")}
    for _, wav in sorted(wavs.items()):
        uid = wav.stem
        if uid not in texts:
            rep.untranscribed.append(str(wav))
            continue
        out.append(Utterance(uid, str(wav), texts[uid], wav.parent.name))
    return fill_durations(out, rep) if with_duration else out
