"""npy cache of resampled 16 kHz mono sources (fast repeated loading for on-the-fly mixing)."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Optional

import numpy as np

from jrsv.atomic import atomic_path
from jrsv.data.audio import load_audio


def cached_load(path: str, cache_dir: Optional[str], target_sr: int = 16000) -> np.ndarray:
    """`load_audio(path)` via `<cache_dir>/<sha1>.npy` (keyed by path, size, mtime, rate).

    No cache if `cache_dir` is None. The npy is written atomically and memory-mapped on reads.
    """
    if cache_dir is None:
        return load_audio(path, target_sr)
    st = os.stat(path)
    key = hashlib.sha1(f"{os.path.abspath(path)}|{st.st_size}|{st.st_mtime_ns}|{target_sr}"
                       .encode()).hexdigest()
    f = Path(cache_dir) / key[:2] / f"{key}.npy"
    if f.is_file():
        try:
            return np.load(f, mmap_mode="r")
        except (ValueError, OSError):
            pass
    x = load_audio(path, target_sr)
    with atomic_path(f, suffix=".npy") as tmp:
        np.save(tmp, x)
    return x
