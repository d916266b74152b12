"""Tiny generated corpora in the real on-disk layouts (tests and `bench_data` without a corpus).

Speech/singing are harmonic tones with a syllable-rate envelope plus a little noise; music is
stereo 44.1 kHz chords + noise bursts. Deterministic for a seed.
"""
from __future__ import annotations

import io
import tarfile
from pathlib import Path
from typing import Dict

import numpy as np
import soundfile as sf

HANZI = "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后多定行学法所民得经"


def _voice(rng, n, sr, f0):
    t = np.arange(n) / sr
    f = f0 * (1 + 0.05 * np.sin(2 * np.pi * rng.uniform(3, 6) * t))
    ph = 2 * np.pi * np.cumsum(f) / sr
    x = sum(np.sin(k * ph) / k for k in range(1, 5))
    env = 0.5 + 0.5 * np.sin(2 * np.pi * rng.uniform(2, 5) * t) ** 2
    return (0.3 * x * env + 0.01 * rng.standard_normal(n)).astype(np.float32)


def _text(rng, k=6):
    return "".join(rng.choice(list(HANZI), size=k))


def make_aishell(root: Path, rng, speakers: Dict[str, list], utts: int = 3, sec=(1.0, 2.0),
                 tar_speakers=(), sr: int = 16000) -> Path:
    """`root/data_aishell/{wav,transcript}`; speakers {split: [SXXXX]}; speakers in
    `tar_speakers` are written as `wav/SXXXX.tar.gz` (as downloaded: members
    `<split>/SXXXX/*.wav`) instead of a dir."""
    base = root / "data_aishell"
    lines = []
    for split, spks in speakers.items():
        for spk in spks:
            files = {}
            for j in range(utts):
                uid = f"BAC009{spk}W{j + 121:04d}"
                x = _voice(rng, int(rng.uniform(*sec) * sr), sr, rng.uniform(100, 220))
                buf = io.BytesIO()
                sf.write(buf, (x * 32767).astype(np.int16), sr, format="WAV", subtype="PCM_16")
                files[f"wav/{split}/{spk}/{uid}.wav"] = buf.getvalue()
                lines.append(f"{uid} " + " ".join(_text(rng, 2) for _ in range(3)))
            if spk in tar_speakers:
                (base / "wav").mkdir(parents=True, exist_ok=True)
                with tarfile.open(base / "wav" / f"{spk}.tar.gz", "w:gz") as tf:
                    for name, data in sorted(files.items()):
                        ti = tarfile.TarInfo(name[len("wav/"):])  # real members: train/SXXXX/*.wav
                        ti.size = len(data)
                        tf.addfile(ti, io.BytesIO(data))
            else:
                for name, data in files.items():
                    (base / name).parent.mkdir(parents=True, exist_ok=True)
                    (base / name).write_bytes(data)
    (base / "transcript").mkdir(parents=True, exist_ok=True)
    (base / "transcript" / "aishell_transcript_v0.8.txt").write_text(
        "\n".join(sorted(lines)) + "\n", encoding="utf-8")
    return root


def make_opensinger(root: Path, rng, singers: Dict[str, list], songs: int = 1, segs: int = 2,
                    sec=(1.0, 2.0), sr: int = 24000) -> Path:
    """`root/OpenSinger/{ManRaw,WomanRaw}/<singer>_<song>/<singer>_<song>_<idx>.{wav,txt}`;
    singers {"ManRaw": [ids], "WomanRaw": [ids]}."""
    for gdir, ids in singers.items():
        for s in ids:
            for k in range(songs):
                d = root / "OpenSinger" / gdir / f"{s}_song{k}"
                d.mkdir(parents=True, exist_ok=True)
                for j in range(segs):
                    stem = d / f"{s}_song{k}_{j}"
                    x = _voice(rng, int(rng.uniform(*sec) * sr), sr,
                               rng.uniform(200, 450) if gdir == "WomanRaw" else rng.uniform(110, 250))
                    sf.write(str(stem) + ".wav", x, sr, subtype="PCM_16")
                    Path(str(stem) + ".txt").write_text(_text(rng, 8), encoding="utf-8")
    return root


def make_musdb(root: Path, rng, tracks: Dict[str, int], sec: float = 3.0, sr: int = 44100) -> Path:
    """`root/{train,test}/<track>/{mixture,vocals,drums,bass,other}.wav` (stereo); tracks {split: n}."""
    for split, n in tracks.items():
        for t in range(n):
            d = root / split / f"Artist {t} - Track {split}{t}"
            d.mkdir(parents=True, exist_ok=True)
            m = int(sec * sr)
            tt = np.arange(m) / sr
            stems = {
                "drums": 0.2 * rng.standard_normal((m, 2)) * (np.sin(2 * np.pi * 2 * tt) > 0.9)[:, None],
                "bass": 0.2 * np.sin(2 * np.pi * rng.uniform(50, 90) * tt)[:, None].repeat(2, 1),
                "other": 0.1 * np.sin(2 * np.pi * rng.uniform(300, 500) * tt)[:, None].repeat(2, 1),
                "vocals": 0.1 * rng.standard_normal((m, 2)),
            }
            stems["mixture"] = sum(stems.values())
            for k, v in stems.items():
                sf.write(str(d / f"{k}.wav"), v.astype(np.float32), sr, subtype="PCM_16")
    return root


def make_all(root: str, seed: int = 0, scale: int = 1) -> Dict[str, str]:
    """Small AISHELL-1 / OpenSinger / MUSDB18-HQ trees under `root`; returns their paths."""
    rng = np.random.default_rng(seed)
    r = Path(root)
    a = make_aishell(r / "aishell", rng, {"train": ["S0002", "S0003"], "dev": ["S0724"],
                                          "test": ["S0764"]}, utts=3 * scale,
                     tar_speakers=())
    o = make_opensinger(r / "opensinger", rng, {"ManRaw": ["0", "1", "26", "27"],
                                                "WomanRaw": ["0", "45", "46", "47"]},
                        segs=2 * scale)
    m = make_musdb(r / "musdb", rng, {"train": 10, "test": 2})
    return {"aishell": str(a), "opensinger": str(o), "musdb": str(m)}
