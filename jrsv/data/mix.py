"""DTSSVD mixing arithmetic (paper sec. 3; every interpretation is in dtssvd/README.md).

Used by the on-the-fly training stream (:mod:`jrsv.data.onthefly`), the dev/test lists
(:mod:`jrsv.data.manifest_mixtures`, written by ``dtssvd.build``) and the demo sample stream.

A mixture is described by a `MixSpec` (pure numbers, drawn by `sample_spec`) and made by
`render(spec, speech, singing, music)`; rendering the same spec from the same sources is
bit-exact, so manifests can store only the spec.

1. Normalise: each (cropped) source is scaled to RMS = REF_RMS (-20 dBFS).
2. Gains: speech, singing ~ U(-10, 2) dB, music ~ U(-15, 2) dB, relative to REF_RMS.
3. Singing + music, then speech at overlap ratio r in RATIOS:
   overlap = overlapped samples / samples of the shorter of speech and singing.
   r = 1: the shorter lies wholly inside the longer at a uniform random offset;
   r < 1: the two follow each other (random order) sharing round(r * shorter) samples;
   r = 0: back to back, no gap. Mixture length = span of speech and singing.
   Music covers the whole mixture: starts at a random offset in the track, looped if shorter.
4. Clipping guard: if peak(mixture) > 0.99 all outputs are scaled by 0.99 / peak.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Dict, Optional

import numpy as np

RATIOS = (1.0, 0.5, 0.3, 0.1, 0.0)
REF_RMS = 0.1
SPEECH_GAIN_DB = (-10.0, 2.0)
SINGING_GAIN_DB = (-10.0, 2.0)
MUSIC_GAIN_DB = (-15.0, 2.0)
PEAK_LIMIT = 0.99
SILENCE_RMS = 1e-4          # sources quieter than -80 dBFS RMS are rejected as silent
MIN_SECONDS = 0.5           # shorter sources are rejected


class MixError(ValueError):
    """A source cannot be used (silent, too short); message names it."""


@dataclass
class MixSpec:
    """All random choices of one mixture, in samples (16 kHz) and dB."""
    overlap: float
    speech_start: int       # crop start inside the speech source
    speech_len: int
    singing_start: int
    singing_len: int
    speech_offset: int      # placement inside the mixture
    singing_offset: int
    length: int             # mixture length
    music_start: int        # start inside the (looped) music source
    speech_gain_db: float
    singing_gain_db: float
    music_gain_db: float

    def to_dict(self) -> dict:
        return asdict(self)


def rms(x: np.ndarray) -> float:
    """Root mean square of (N,)."""
    if not len(x):
        return 0.0
    x = np.asarray(x)
    return float(np.sqrt(np.dot(x, x) / len(x)))


def check_source(x: np.ndarray, name: str, sr: int = 16000) -> None:
    """Raise MixError if `x` is too short or silent."""
    if len(x) < MIN_SECONDS * sr:
        raise MixError(f"{name}: too short ({len(x) / sr:.2f} s < {MIN_SECONDS} s)")
    if rms(x) < SILENCE_RMS:
        raise MixError(f"{name}: silent (RMS {rms(x):.1e})")


def place(r: float, ls: int, lg: int, rng: np.random.Generator) -> tuple:
    """(speech_offset, singing_offset, length) for overlap ratio r of lengths ls, lg."""
    short = min(ls, lg)
    if r >= 1.0:
        off = int(rng.integers(0, abs(ls - lg) + 1))
        return (off, 0, lg) if ls <= lg else (0, off, ls)
    ov = int(round(r * short))
    if rng.random() < 0.5:                     # speech first
        return 0, ls - ov, ls + lg - ov
    return lg - ov, 0, ls + lg - ov


def sample_spec(rng: np.random.Generator, speech_len: int, singing_len: int, music_len: int,
                overlap: Optional[float] = None, max_len: Optional[int] = None) -> MixSpec:
    """Draw a MixSpec. `max_len` (if set) first crops each voice source to <= max_len samples
    at a random start (on-the-fly training); dev/test use whole sources."""
    r = float(RATIOS[int(rng.integers(len(RATIOS)))]) if overlap is None else float(overlap)
    ls, lg = speech_len, singing_len
    ss = gs = 0
    if max_len is not None:
        if ls > max_len:
            ss, ls = int(rng.integers(0, speech_len - max_len + 1)), max_len
        if lg > max_len:
            gs, lg = int(rng.integers(0, singing_len - max_len + 1)), max_len
    so, go, n = place(r, ls, lg, rng)
    return MixSpec(overlap=r, speech_start=ss, speech_len=ls, singing_start=gs, singing_len=lg,
                   speech_offset=so, singing_offset=go, length=n,
                   music_start=int(rng.integers(0, max(music_len, 1))),
                   speech_gain_db=round(float(rng.uniform(*SPEECH_GAIN_DB)), 4),
                   singing_gain_db=round(float(rng.uniform(*SINGING_GAIN_DB)), 4),
                   music_gain_db=round(float(rng.uniform(*MUSIC_GAIN_DB)), 4))


def _scaled(x: np.ndarray, gain_db: float) -> np.ndarray:
    r = rms(x)
    g = REF_RMS * 10.0 ** (gain_db / 20.0) / max(r, 1e-12)
    return (x * np.float32(g)).astype(np.float32, copy=False)


def loop_crop(x: np.ndarray, start: int, n: int) -> np.ndarray:
    """n samples of x from `start`, wrapping around (x looped)."""
    start %= len(x)
    if start + n <= len(x):
        return x[start:start + n]
    reps = (start + n + len(x) - 1) // len(x)
    return np.tile(x, reps)[start:start + n]


def render(spec: MixSpec, speech: np.ndarray, singing: np.ndarray,
           music: np.ndarray) -> Dict[str, np.ndarray]:
    """Make the mixture: dict of float32 (length,) arrays mixture, speech, singing, music
    (references placed and scaled exactly as in the mixture; mixture == sum of the three)
    plus 'scale' (clipping-guard factor, float)."""
    n = spec.length
    sp = _scaled(speech[spec.speech_start:spec.speech_start + spec.speech_len], spec.speech_gain_db)
    sg = _scaled(singing[spec.singing_start:spec.singing_start + spec.singing_len],
                 spec.singing_gain_db)
    mu_src = loop_crop(music, spec.music_start, n)
    mu = _scaled(mu_src, spec.music_gain_db)   # normalised over the covering segment
    s_ref = np.zeros(n, np.float32)
    s_ref[spec.speech_offset:spec.speech_offset + len(sp)] = sp
    g_ref = np.zeros(n, np.float32)
    g_ref[spec.singing_offset:spec.singing_offset + len(sg)] = sg
    mix = (g_ref + mu) + s_ref                 # singing + music first, then speech
    peak = float(np.max(np.abs(mix))) if n else 0.0
    scale = 1.0
    if peak > PEAK_LIMIT:
        scale = PEAK_LIMIT / peak
        f = np.float32(scale)
        s_ref *= f
        g_ref *= f
        mu = mu * f
        mix = (g_ref + mu) + s_ref
    return {"mixture": mix, "speech": s_ref, "singing": g_ref, "music": mu, "scale": scale}


def measured_overlap(spec: MixSpec) -> float:
    """Overlap ratio computed back from placement: overlapped / shorter."""
    a0, a1 = spec.speech_offset, spec.speech_offset + spec.speech_len
    b0, b1 = spec.singing_offset, spec.singing_offset + spec.singing_len
    return max(0, min(a1, b1) - max(a0, b0)) / min(spec.speech_len, spec.singing_len)
