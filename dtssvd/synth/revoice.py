"""WORLD re-voicing: one source voice becomes many (F0 shift, formant warp, tempo).

A ``Revoice`` is applied to a whole utterance: pyworld analysis (``dio`` + ``stonemask`` for the
synthetic espeak-ng voices, which are cleanly voiced, ``harvest`` for the real gcin-voice recordings,
whose creaky third tones ``dio`` loses), the F0 contour scaled by ``f0_ratio`` (its movement kept),
the spectral envelope's frequency axis warped by ``formant`` (>1 = shorter vocal tract: a higher,
"younger" or more female timbre), the frames resampled by ``tempo`` (>1 = faster), then resynthesised.
"""
from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np

from .deps import require_pyworld

FRAME_MS = 5.0


@dataclass(frozen=True)
class Revoice:
    """One re-voicing: F0 ratio, formant (envelope) warp and tempo, each 1.0 = unchanged."""

    f0_ratio: float
    formant: float
    tempo: float

    @property
    def tag(self) -> str:
        return f"w{self.f0_ratio:.2f}-{self.formant:.2f}-{self.tempo:.2f}"


def random_revoice(rng: random.Random, gender: str) -> Revoice:
    """A seeded re-voicing that keeps the voice's gender plausible: male sources go lower or a
    little higher, female sources higher or a little lower; timbre warp 0.9-1.12; tempo 0.88-1.14."""
    if gender == "M":
        f0 = rng.choice((rng.uniform(0.72, 0.95), rng.uniform(1.0, 1.35)))
    else:
        f0 = rng.choice((rng.uniform(0.8, 1.0), rng.uniform(1.05, 1.4)))
    formant = rng.uniform(0.9, 1.12)
    return Revoice(round(f0, 3), round(formant, 3), round(rng.uniform(0.88, 1.14), 3))


def warp_envelope(sp: np.ndarray, factor: float) -> np.ndarray:
    """Warp a WORLD spectral envelope (frames, bins) along frequency by ``factor``."""
    if abs(factor - 1.0) < 1e-6:
        return sp
    src = np.clip(np.arange(sp.shape[1]) / factor, 0, sp.shape[1] - 1)
    i0 = np.floor(src).astype(int)
    i1 = np.minimum(i0 + 1, sp.shape[1] - 1)
    w = src - i0
    return sp[:, i0] * (1 - w) + sp[:, i1] * w


def interp_rows(mat: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """Linear interpolation of the rows of ``mat`` (frames, ...) at fractional frame positions."""
    i0 = np.floor(pos).astype(int)
    i1 = np.minimum(i0 + 1, len(mat) - 1)
    w = (pos - i0).reshape((-1,) + (1,) * (mat.ndim - 1))
    return mat[i0] * (1 - w) + mat[i1] * w


def track_f0(x: np.ndarray, sr: int, tracker: str = "dio"):
    """(f0, frame times) of float64 ``x`` with 5 ms frames; ``tracker`` is ``dio`` (fast) or ``harvest``."""
    pw = require_pyworld()
    if tracker == "harvest":
        return pw.harvest(x, sr, frame_period=FRAME_MS, f0_floor=50.0, f0_ceil=600.0)
    if tracker == "dio":
        f0, t = pw.dio(x, sr, frame_period=FRAME_MS, f0_floor=50.0, f0_ceil=600.0)
        return pw.stonemask(x, f0, t, sr), t
    raise ValueError(f"unknown F0 tracker '{tracker}' (dio or harvest)")


def envelope(x: np.ndarray, sr: int, f0: np.ndarray, t: np.ndarray):
    """(spectral envelope, aperiodicity) of float64 ``x`` for a given F0 track."""
    pw = require_pyworld()
    return pw.cheaptrick(x, f0, t, sr), pw.d4c(x, f0, t, sr)


def world_analyse(x: np.ndarray, sr: int, tracker: str = "dio"):
    """(f0, sp, ap) of ``x`` with 5 ms frames."""
    x = np.ascontiguousarray(x, dtype=np.float64)
    f0, t = track_f0(x, sr, tracker)
    return (f0,) + envelope(x, sr, f0, t)


def apply(x: np.ndarray, sr: int, rv: Revoice, tracker: str = "dio") -> np.ndarray:
    """``x`` re-voiced by ``rv`` (float64 mono at ``sr``; the length changes by 1/tempo)."""
    pw = require_pyworld()
    if len(x) < sr * FRAME_MS / 1000 * 4:
        return np.asarray(x, dtype=np.float64)
    f0, sp, ap = world_analyse(x, sr, tracker)
    n_out = max(2, int(round(len(f0) / rv.tempo)))
    pos = np.linspace(0.0, len(f0) - 1, n_out)
    near = np.clip(np.round(pos).astype(int), 0, len(f0) - 1)
    f0_o = f0[near] * rv.f0_ratio  # nearest frame: keeps the voiced/unvoiced decisions crisp
    sp_o = warp_envelope(interp_rows(sp, pos), rv.formant)
    ap_o = interp_rows(ap, pos)
    y = pw.synthesize(np.ascontiguousarray(f0_o), np.ascontiguousarray(sp_o), np.ascontiguousarray(ap_o),
                      sr, frame_period=FRAME_MS)
    return y
