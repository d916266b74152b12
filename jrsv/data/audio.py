"""Audio I/O: 16 kHz mono float32 loading (soundfile + soxr) and atomic saving."""
from __future__ import annotations

import os
from typing import Union

import numpy as np
import soundfile as sf
import soxr

from jrsv.atomic import atomic_path, atomic_write_bytes  # noqa: F401 (re-exported)
PathLike = Union[str, os.PathLike]


class AudioError(Exception):
    """Unreadable, empty or non-finite audio; the message names the file."""


def resample(x: np.ndarray, sr: float, target_sr: float) -> np.ndarray:
    """Resample a mono signal (N,) with soxr 'HQ'; returns float32 (N',). Rates may be
    fractional (speed perturbation)."""
    if sr == target_sr:
        return np.ascontiguousarray(x, dtype=np.float32)
    return soxr.resample(np.ascontiguousarray(x, dtype=np.float32), sr, target_sr,
                         quality="HQ").astype(np.float32, copy=False)


def read_audio(path: PathLike) -> tuple[np.ndarray, int]:
    """Read any soundfile-readable file as mono float32 (N,) at its own rate."""
    try:
        data, sr = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception as e:  # soundfile raises several types
        raise AudioError(f"{path}: unreadable audio ({type(e).__name__}: "
                         f"{str(e).splitlines()[0] if str(e) else ''})") from None
    if data.shape[0] == 0:
        raise AudioError(f"{path}: empty audio (0 samples)")
    x = data.mean(axis=1) if data.shape[1] > 1 else data[:, 0]
    if not np.all(np.isfinite(x)):
        raise AudioError(f"{path}: audio contains NaN/Inf samples")
    return np.ascontiguousarray(x, dtype=np.float32), int(sr)


def load_audio(path: PathLike, target_sr: int = 16000) -> np.ndarray:
    """Load `path` as float32 mono (N,) at `target_sr` (stereo -> mean, soxr HQ)."""
    x, sr = read_audio(path)
    return resample(x, sr, target_sr)


def audio_info(path: PathLike) -> tuple[int, int]:
    """(frames, samplerate) from the header; raises AudioError."""
    try:
        info = sf.info(str(path))
    except Exception as e:
        raise AudioError(f"{path}: unreadable audio header ({type(e).__name__})") from None
    return int(info.frames), int(info.samplerate)




def save_audio(path: PathLike, x: np.ndarray, sr: int = 16000, subtype: str = "FLOAT") -> None:
    """Atomically write mono (N,) or (N, C) audio as WAV (default float32 subtype)."""
    with atomic_path(path) as tmp:
        sf.write(str(tmp), np.asarray(x, dtype=np.float32), sr, subtype=subtype, format="WAV")
