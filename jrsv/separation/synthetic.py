"""Synthetic speech / singing / music mixtures for tests and quick loss comparisons.

Not a data set: cheap stand-ins with the right gross structure (speech = short voiced
syllables with gliding low pitch; singing = sustained notes with vibrato at higher pitch;
music = low sustained chords plus percussive noise bursts), generated with a seeded
``torch.Generator`` so results are reproducible.
"""
from __future__ import annotations

import math

import torch

from jrsv.constants import SAMPLE_RATE


def _harmonic(f0: torch.Tensor, n_harm: int, sr: int, gen: torch.Generator) -> torch.Tensor:
    """f0 (N,) instantaneous pitch in Hz -> (N,) harmonic tone with 1/k amplitudes."""
    phase = 2 * math.pi * torch.cumsum(f0, 0) / sr
    out = torch.zeros_like(f0)
    for k in range(1, n_harm + 1):
        ok = (k * f0 < sr / 2).float()
        out += ok * torch.sin(k * phase + 2 * math.pi * torch.rand((), generator=gen)) / k
    return out


def _smooth_steps(values: torch.Tensor, n: int) -> torch.Tensor:
    """Piecewise-constant (len(values),) -> (n,) samples."""
    idx = torch.clamp((torch.arange(n) * len(values)) // n, max=len(values) - 1)
    return values[idx]


def speech_like(n: int, gen: torch.Generator, sr: int = SAMPLE_RATE) -> torch.Tensor:
    """(n,) voiced syllables (~4 per second), pitch 100-220 Hz gliding within each."""
    t = torch.arange(n) / sr
    syl = max(1, int(4 * n / sr))
    base = _smooth_steps(100 + 120 * torch.rand(syl, generator=gen), n)
    f0 = base * (1 + 0.15 * torch.sin(2 * math.pi * 3 * t))
    env = torch.sin(math.pi * ((t * 4) % 1.0)).clamp(min=0) ** 2
    on = _smooth_steps((torch.rand(syl, generator=gen) > 0.2).float(), n)
    return _harmonic(f0, 20, sr, gen) * env * on


def singing_like(n: int, gen: torch.Generator, sr: int = SAMPLE_RATE) -> torch.Tensor:
    """(n,) sustained notes (2 per second), pitch 250-600 Hz, 5.5 Hz vibrato."""
    t = torch.arange(n) / sr
    notes = max(1, int(2 * n / sr))
    f0 = _smooth_steps(250 + 350 * torch.rand(notes, generator=gen), n)
    f0 = f0 * (1 + 0.02 * torch.sin(2 * math.pi * 5.5 * t))
    env = 0.6 + 0.4 * torch.sin(math.pi * ((t * 2) % 1.0))
    return _harmonic(f0, 12, sr, gen) * env


def music_like(n: int, gen: torch.Generator, sr: int = SAMPLE_RATE) -> torch.Tensor:
    """(n,) low sustained chord (3 tones, 60-200 Hz) plus noise bursts on a 2 Hz beat."""
    t = torch.arange(n) / sr
    chord = sum(_harmonic(torch.full((n,), float(60 + 140 * torch.rand((), generator=gen))),
                          6, sr, gen) for _ in range(3))
    beat = torch.exp(-30 * ((t * 2) % 1.0))
    noise = torch.randn(n, generator=gen) * beat
    return 0.5 * chord + noise


def _unit(x: torch.Tensor) -> torch.Tensor:
    return x / x.pow(2).mean().sqrt().clamp(min=1e-8)


def make_mixtures(num: int, seconds: float = 1.0, seed: int = 0, sr: int = SAMPLE_RATE
                  ) -> dict[str, torch.Tensor]:
    """``num`` mixtures -> {"mix", "speech", "singing", "music"} each (num, N).

    Sources are RMS-normalised and scaled by random gains (dB): speech and singing
    U(-5, 2), music U(-10, 0), so the mixture is exactly their sum.
    """
    gen = torch.Generator().manual_seed(seed)
    n = int(seconds * sr)
    out: dict[str, list[torch.Tensor]] = {"speech": [], "singing": [], "music": []}
    for _ in range(num):
        for name, fn, lo, hi in [("speech", speech_like, -5, 2), ("singing", singing_like, -5, 2),
                                 ("music", music_like, -10, 0)]:
            gain_db = lo + (hi - lo) * float(torch.rand((), generator=gen))
            out[name].append(0.1 * _unit(fn(n, gen, sr)) * 10 ** (gain_db / 20))
    res = {k: torch.stack(v) for k, v in out.items()}
    res["mix"] = res["speech"] + res["singing"] + res["music"]
    return res
