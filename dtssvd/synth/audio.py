"""Small audio helpers: deterministic 16-bit WAV writing, resampling, trimming."""
from __future__ import annotations

import wave
from typing import Tuple

import numpy as np

from jrsv.atomic import atomic_path


def to_int16(x: np.ndarray) -> np.ndarray:
    """Float in [-1, 1] -> int16 (clipped, rounded)."""
    return np.clip(np.round(np.asarray(x, dtype=np.float64) * 32767.0), -32768, 32767).astype(np.int16)


def write_wav(path: str, x: np.ndarray, sr: int) -> None:
    """Write float (T,) or (T, C) audio, or int16, as 16-bit PCM WAV (byte-deterministic)."""
    data = x if x.dtype == np.int16 else to_int16(x)
    if data.ndim == 1:
        data = data[:, None]
    with atomic_path(path) as tmp, wave.open(str(tmp), "wb") as w:
        w.setnchannels(data.shape[1])
        w.setsampwidth(2)
        w.setframerate(sr)
        w.writeframes(np.ascontiguousarray(data).astype("<i2").tobytes())


def read_wav(path: str) -> Tuple[np.ndarray, int]:
    """Read any soundfile-readable file as float64 (mono stays 1-D)."""
    import soundfile as sf

    x, sr = sf.read(path, dtype="float64", always_2d=False)
    return x, int(sr)


def resample(x: np.ndarray, sr_in: int, sr_out: int) -> np.ndarray:
    """High-quality resampling with soxr (float64 in/out)."""
    if sr_in == sr_out:
        return np.asarray(x, dtype=np.float64)
    import soxr

    return soxr.resample(np.asarray(x, dtype=np.float64), sr_in, sr_out, quality="HQ")


def trim_silence(x: np.ndarray, sr: int, rel_db: float = -35.0, pad_s: float = 0.01) -> np.ndarray:
    """Remove leading/trailing samples below ``rel_db`` of the peak (5 ms frames)."""
    if x.size == 0:
        return x
    hop = max(1, int(0.005 * sr))
    n = len(x) // hop
    if n == 0:
        return x
    env = np.sqrt(np.mean(x[: n * hop].reshape(n, hop) ** 2, axis=1) + 1e-20)
    thr = env.max() * 10 ** (rel_db / 20)
    idx = np.where(env > thr)[0]
    if idx.size == 0:
        return x[:0]
    pad = int(pad_s * sr)
    start = max(0, idx[0] * hop - pad)
    end = min(len(x), (idx[-1] + 1) * hop + pad)
    return x[start:end]


def normalize_peak(x: np.ndarray, peak: float) -> np.ndarray:
    """Scale so that max |x| == peak (silence unchanged)."""
    m = float(np.max(np.abs(x))) if x.size else 0.0
    return x if m < 1e-9 else x * (peak / m)


def fade(x: np.ndarray, sr: int, ms: float = 5.0) -> np.ndarray:
    """Short linear fade-in/out (avoids clicks when concatenating units)."""
    n = min(len(x) // 2, int(sr * ms / 1000))
    if n <= 0:
        return x
    y = x.copy()
    ramp = np.linspace(0.0, 1.0, n)
    y[:n] *= ramp
    y[-n:] *= ramp[::-1]
    return y
