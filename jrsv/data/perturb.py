"""Speed perturbation, as Kaldi and WeNet do it: the waveform is resampled so that it plays
``factor`` times faster, which shifts pitch and formants by the same factor (0.9 / 1.0 / 1.1
is the usual set). Used on the voices of the training streams, never on dev/test."""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from jrsv.constants import SAMPLE_RATE
from jrsv.data.audio import resample


def check_factors(factors: Optional[Sequence[float]]) -> Optional[tuple[float, ...]]:
    """``data.speed_perturb`` -> a tuple of factors, or None (off); one-line error when bad."""
    if factors is None:
        return None
    try:
        out = tuple(float(f) for f in factors)
    except (TypeError, ValueError):
        raise ValueError(f"speed_perturb must be a list of factors such as [0.9, 1.0, 1.1], "
                         f"got {factors!r}") from None
    if not out or any(not 0.5 <= f <= 2.0 for f in out):
        raise ValueError(f"speed_perturb factors must lie in [0.5, 2.0], got {factors!r}")
    return out


def draw_factor(rng: np.random.Generator, factors: Sequence[float]) -> float:
    """One factor, uniformly among ``factors``."""
    return float(factors[int(rng.integers(len(factors)))])


def speed_perturb(x: np.ndarray, factor: float, sr: int = SAMPLE_RATE) -> np.ndarray:
    """(N,) waveform -> (round(N / factor),) float32 that plays ``factor`` times faster at ``sr``."""
    if factor == 1.0:
        return np.asarray(x, dtype=np.float32)
    return resample(np.asarray(x), sr * factor, sr)
