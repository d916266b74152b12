"""MUSDB18-HQ reader: `{train,test}/<track>/{mixture,vocals,drums,bass,other}.wav`.

Background music = drums + bass + other (vocals dropped), mixed to mono, 44.1 kHz -> 16 kHz
with soxr HQ, cached as `<cache>/<split>/<track>.npy` (float32) for fast on-the-fly mixing.
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import List, Optional

import numpy as np

from jrsv.atomic import atomic_path
from jrsv.data.audio import AudioError, read_audio, resample
from jrsv.data.records import MusicTrack, ReadReport

STEMS = ("mixture", "vocals", "drums", "bass", "other")
MUSIC_STEMS = ("drums", "bass", "other")


def read_musdb(path: str, split: str, report: Optional[ReadReport] = None) -> List[MusicTrack]:
    """Tracks of `split` ('train'|'test') having all music stems, sorted by id."""
    d = Path(path) / split
    if not d.is_dir():
        raise FileNotFoundError(f"{d}: MUSDB18-HQ split dir not found")
    rep = report if report is not None else ReadReport()
    out = []
    for t in sorted(p for p in d.iterdir() if p.is_dir()):
        stems = {s: str(t / f"{s}.wav") for s in STEMS if (t / f"{s}.wav").is_file()}
        missing = [s for s in MUSIC_STEMS if s not in stems]
        if missing:
            rep.missing_audio.append(f"{t} (missing {','.join(missing)})")
            continue
        out.append(MusicTrack(t.name, stems))
    return out


def music_split(tracks: List[MusicTrack], musdb_split: str, split: str) -> List[MusicTrack]:
    """The DTSSVD split of MUSDB tracks (dtssvd/README.md): MUSDB 'test' -> DTSSVD test; MUSDB
    'train' sorted, every 10th (i % 10 == 9; the last track if there are fewer than 10) -> dev,
    the rest -> train (dev music unseen in training)."""
    if musdb_split == "test":
        return tracks
    dev = {i for i in range(len(tracks)) if i % 10 == 9} or ({len(tracks) - 1} if tracks else set())
    return [t for i, t in enumerate(tracks) if (i in dev) == (split == "dev")]


def load_music(track: MusicTrack, target_sr: int = 16000) -> np.ndarray:
    """drums+bass+other summed, mono, resampled: float32 (N,). Raises AudioError."""
    parts = []
    sr0 = None
    for s in MUSIC_STEMS:
        x, sr = read_audio(track.stems[s])
        if sr0 is not None and (sr != sr0 or len(x) != len(parts[0])):
            n = min(len(x), len(parts[0]))
            parts = [p[:n] for p in parts]
            x = x[:n]
            if sr != sr0:
                raise AudioError(f"{track.stems[s]}: sample rate {sr} != {sr0} of the other stems")
        sr0 = sr
        parts.append(x)
    return resample(np.sum(parts, axis=0), sr0, target_sr)


def cached_music(track: MusicTrack, cache_dir: str, target_sr: int = 16000) -> np.ndarray:
    """`load_music` through an npy cache keyed by track id, paths and rate (atomic write)."""
    key = hashlib.sha1(repr((sorted(track.stems.items()), target_sr)).encode()).hexdigest()[:10]
    f = Path(cache_dir) / f"{track.id}.{target_sr}.{key}.npy"
    if f.is_file():
        try:
            return np.load(f, mmap_mode="r")
        except (ValueError, OSError):
            pass
    x = load_music(track, target_sr)
    with atomic_path(f, suffix=".npy") as tmp:
        np.save(tmp, x)
    return x
