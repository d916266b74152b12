"""Singing by WORLD re-synthesis of spoken syllables onto a seeded melody (OpenSinger-like).

For each lyric syllable the spoken unit (espeak-ng or gcin-voice) is analysed with pyworld
(harvest F0 with voicing gaps filled, cheaptrick envelope, d4c aperiodicity). Its unvoiced onset (the
consonant) keeps its natural length; the voiced part keeps a short natural onset transition
and its remainder is time-stretched to fill the note. F0 is replaced by the note pitch with
short portamento between notes and a delayed vibrato (~5.5 Hz, 30-50 cents).
"""
from __future__ import annotations

import functools
import math
import random
from dataclasses import dataclass
from typing import List, Sequence, Tuple

import numpy as np

from .deps import require_pyworld

FRAME_MS = 5.0
PENTATONIC = (0, 2, 4, 7, 9)
#: MIDI note ranges of the two singer genders (OpenSinger ManRaw / WomanRaw)
PITCH_RANGE = {"M": (47, 64), "F": (57, 74)}


@dataclass(frozen=True)
class Note:
    """One sung syllable: onset/offset in seconds, MIDI pitch, label (numbered pinyin)."""

    start: float
    end: float
    midi: float
    label: str


@dataclass(frozen=True)
class SingerStyle:
    """Per-singer constants: vibrato and formant shift."""

    vibrato_hz: float
    vibrato_cents: float
    formant_shift: float  # >1 raises formants (e.g. male source voice used by a female singer)


def midi_to_hz(m: float) -> float:
    return 440.0 * 2.0 ** ((m - 69.0) / 12.0)


def make_melody(labels: Sequence[str], rng: random.Random, gender: str, key: int,
                tempo: float, lead_s: float = 0.3) -> Tuple[List[Note], float]:
    """Seeded melody: one flat note per syllable on the major pentatonic of ``key``.

    Returns the notes and the total duration (leading and trailing silence included).
    """
    lo, hi = PITCH_RANGE[gender]
    scale = [m for m in range(lo, hi + 1) if (m - key) % 12 in PENTATONIC]
    idx = rng.randrange(len(scale) // 4, 3 * len(scale) // 4 + 1)
    beat = 60.0 / tempo
    t = lead_s
    notes: List[Note] = []
    for i, lab in enumerate(labels):
        last = i == len(labels) - 1
        beats = rng.choice((1.5, 2.0, 2.5)) if last else rng.choice((0.5, 0.5, 1.0, 1.0, 1.0, 1.5, 2.0))
        dur = beats * beat
        notes.append(Note(round(t, 4), round(t + dur, 4), float(scale[idx]), lab))
        t += dur
        if not last and rng.random() < 0.12:
            t += rng.choice((0.5, 1.0)) * beat  # a short rest
        idx = min(len(scale) - 1, max(0, idx + rng.choice((-2, -1, -1, 0, 1, 1, 2))))
    return notes, t + 0.35


def _fill_voicing(f0: np.ndarray, x: np.ndarray, sr: int) -> np.ndarray:
    """Make the sonorant part of a unit one continuous voiced region.

    Creaky third tones often lose voicing in the F0 tracker: gaps between the first and last
    voiced frame are filled by interpolation; a unit with (almost) no voicing gets a flat
    150 Hz over its loud frames. Envelope/aperiodicity are then estimated with this F0.
    """
    f0 = f0.copy()
    idx = np.where(f0 > 0)[0]
    if idx.size < 3:
        hop = int(sr * FRAME_MS / 1000)
        n = len(f0)
        env = np.array([np.sqrt(np.mean(x[i * hop:(i + 1) * hop] ** 2) + 1e-20) for i in range(n)])
        loud = np.where(env > env.max() * 10 ** (-20 / 20))[0]
        if loud.size == 0:
            return f0
        f0[loud[0]:loud[-1] + 1] = 150.0
        return f0
    a, b = idx[0], idx[-1] + 1
    span = np.arange(a, b)
    f0[a:b] = np.interp(span, idx, f0[idx])
    return f0


@functools.lru_cache(maxsize=8192)
def _analyse_cached(key: Tuple[str, str], data: bytes, sr: int) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    pw = require_pyworld()
    x = np.frombuffer(data, dtype=np.float64).copy()
    f0, t = pw.harvest(x, sr, frame_period=FRAME_MS, f0_floor=50.0, f0_ceil=600.0)
    f0 = _fill_voicing(f0, x, sr)
    sp = pw.cheaptrick(x, f0, t, sr)
    ap = pw.d4c(x, f0, t, sr)
    return f0, sp, ap


def analyse(voice_name: str, syl: str, x: np.ndarray, sr: int) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """WORLD features of one spoken syllable (cached per voice/syllable)."""
    return _analyse_cached((voice_name, syl), np.ascontiguousarray(x, dtype=np.float64).tobytes(), sr)


def _stretch_frames(n_src: int, n_dst: int) -> np.ndarray:
    """Fractional source-frame positions for ``n_dst`` output frames."""
    if n_dst <= 0:
        return np.zeros(0)
    if n_src <= 1:
        return np.zeros(n_dst)
    return np.linspace(0.0, n_src - 1, n_dst)


def _interp_rows(mat: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """Linear interpolation of matrix rows at fractional positions."""
    i0 = np.floor(pos).astype(int)
    i1 = np.minimum(i0 + 1, len(mat) - 1)
    w = (pos - i0)[:, None]
    return mat[i0] * (1 - w) + mat[i1] * w


def _shift_formants(sp: np.ndarray, factor: float) -> np.ndarray:
    """Warp the spectral envelope's frequency axis by ``factor``."""
    if abs(factor - 1.0) < 1e-6:
        return sp
    src = np.clip(np.arange(sp.shape[1]) / factor, 0, sp.shape[1] - 1)
    i0 = np.floor(src).astype(int)
    i1 = np.minimum(i0 + 1, sp.shape[1] - 1)
    w = src - i0
    return sp[:, i0] * (1 - w) + sp[:, i1] * w


def _unit_frames(f0: np.ndarray, sp: np.ndarray, ap: np.ndarray, n_out: int
                 ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fit one syllable's frames into ``n_out`` frames: consonant as-is, vowel stretched.

    Returns (voiced flag, sp, ap) for the output frames.
    """
    voiced = np.where(f0 > 0)[0]
    if voiced.size == 0:  # no voicing detected: treat the whole unit as a vowel
        v0, v1 = 0, len(f0)
    else:
        v0, v1 = int(voiced[0]), int(voiced[-1]) + 1
    cons = min(v0, max(0, n_out // 3))
    cons_idx = np.arange(v0 - cons, v0)
    n_vow = n_out - cons
    n_src = v1 - v0
    onset = min(n_src // 3, 6, n_vow // 3)  # natural-rate transition from the consonant
    pos = np.concatenate([v0 + np.arange(onset, dtype=float),
                          v0 + onset + _stretch_frames(n_src - onset, n_vow - onset)])
    idx = np.concatenate([cons_idx.astype(float), pos])
    sp_o, ap_o = _interp_rows(sp, idx), _interp_rows(ap, idx)
    flag = np.concatenate([np.zeros(cons, bool), np.ones(n_vow, bool)])
    return flag, sp_o, ap_o


def sing(units: Sequence[Tuple[np.ndarray, np.ndarray, np.ndarray]], notes: Sequence[Note],
         total_s: float, sr: int, style: SingerStyle, rng: random.Random) -> np.ndarray:
    """Render the sung line: WORLD features of each unit placed on its note."""
    pw = require_pyworld()
    if len(units) != len(notes):
        raise ValueError("one unit per note needed")
    fp = FRAME_MS / 1000.0
    n_frames = int(math.ceil(total_s / fp)) + 1
    n_bins = units[0][1].shape[1]
    sp = np.tile(np.maximum(units[0][1].min(axis=0), 1e-12) * 1e-4, (n_frames, 1))
    ap = np.ones((n_frames, n_bins))
    voiced = np.zeros(n_frames, bool)
    target = np.zeros(n_frames)  # log2 Hz per frame
    for (f0u, spu, apu), note in zip(units, notes):
        a, b = int(round(note.start / fp)), min(n_frames, int(round(note.end / fp)))
        flag, sp_o, ap_o = _unit_frames(f0u, spu, apu, b - a)
        sp[a:b], ap[a:b], voiced[a:b] = sp_o, ap_o, flag
        target[a:b] = math.log2(midi_to_hz(note.midi))
    # fill unset frames' target with the nearest note so smoothing gives portamento
    set_idx = np.where(target > 0)[0]
    target = np.interp(np.arange(n_frames), set_idx, target[set_idx])
    k = max(1, int(0.04 / fp))
    target = np.convolve(np.pad(target, (k, k), mode="edge"), np.ones(2 * k + 1) / (2 * k + 1), "valid")
    t = np.arange(n_frames) * fp
    vib = np.zeros(n_frames)
    for note in notes:  # vibrato fades in over ~0.2 s after each note onset
        a, b = int(round(note.start / fp)), min(n_frames, int(round(note.end / fp)))
        ramp = np.clip((t[a:b] - note.start - 0.1) / 0.2, 0.0, 1.0)
        vib[a:b] = ramp * style.vibrato_cents / 1200.0 * np.sin(
            2 * np.pi * style.vibrato_hz * (t[a:b] - note.start) + rng.uniform(0, 2 * np.pi))
    jitter = np.convolve(np.array([rng.gauss(0, 1) for _ in range(n_frames)]), np.ones(20) / 20, "same")
    f0 = np.where(voiced, 2.0 ** (target + vib + 0.004 * jitter), 0.0)
    sp = _shift_formants(sp, style.formant_shift)
    y = pw.synthesize(np.ascontiguousarray(f0), np.ascontiguousarray(sp), np.ascontiguousarray(ap), sr,
                      frame_period=FRAME_MS)
    n = int(round(total_s * sr))
    y = y[:n] if len(y) >= n else np.pad(y, (0, n - len(y)))
    return y


def lab_lines(notes: Sequence[Note]) -> List[str]:
    """``start end label`` lines (seconds) for the .lab file."""
    return [f"{n.start:.3f} {n.end:.3f} {n.label}" for n in notes]


def singer_style(rng: random.Random, gender: str, source_gender: str) -> SingerStyle:
    """Seeded per-singer vibrato and formant shift."""
    shift = rng.uniform(0.96, 1.04)  # a little timbre variety between singers of one source voice
    if gender == "F" and source_gender == "M":
        shift *= rng.uniform(1.12, 1.2)
    elif gender == "M" and source_gender == "F":
        shift *= rng.uniform(0.85, 0.9)
    return SingerStyle(vibrato_hz=rng.uniform(5.0, 6.0), vibrato_cents=rng.uniform(30.0, 50.0),
                       formant_shift=shift)
