"""Singing by WORLD re-synthesis of spoken syllables onto a seeded melody (OpenSinger-like).

For each lyric syllable the spoken unit (espeak-ng or gcin-voice) is analysed with pyworld
(F0 with voicing gaps filled: harvest for the real gcin-voice recordings, dio + stonemask for the
cleanly voiced synthetic espeak-ng units; cheaptrick envelope, d4c aperiodicity). Its unvoiced onset (the
consonant) keeps its natural length; the voiced part keeps a short natural onset transition
and its remainder is time-stretched to fill the note. F0 is replaced by the note pitch with
portamento between notes (20-90 ms, per singer) and a delayed vibrato (4.5-7 Hz, 10-80 cents, per
singer). Melodies use one of four scales (``SCALES``) per song; the pitch ranges overlap speech's
(male speech F0 ~85-180 Hz, female ~165-260 Hz), so pitch alone does not tell singing from speech.
"""
from __future__ import annotations

import functools
import math
import random
from dataclasses import dataclass
from typing import List, Sequence, Tuple

import numpy as np

from .deps import require_pyworld
from .revoice import FRAME_MS, envelope, interp_rows, track_f0, warp_envelope

#: scale name -> semitone degrees
SCALES = {"major_pentatonic": (0, 2, 4, 7, 9), "major": (0, 2, 4, 5, 7, 9, 11),
          "minor": (0, 2, 3, 5, 7, 8, 10), "minor_pentatonic": (0, 3, 5, 7, 10)}
PENTATONIC = SCALES["major_pentatonic"]
#: MIDI note ranges of the two singer genders (OpenSinger ManRaw / WomanRaw): male 98-330 Hz,
#: female 165-587 Hz, reaching down into the speaking range
PITCH_RANGE = {"M": (43, 64), "F": (52, 74)}


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
    portamento_s: float = 0.04  # half-width of the pitch smoothing between notes


def midi_to_hz(m: float) -> float:
    return 440.0 * 2.0 ** ((m - 69.0) / 12.0)


def make_melody(labels: Sequence[str], rng: random.Random, gender: str, key: int,
                tempo: float, lead_s: float = 0.3, scale: str = "major_pentatonic") -> Tuple[List[Note], float]:
    """Seeded melody: one flat note per syllable on ``scale`` (a ``SCALES`` name) of ``key``.

    Returns the notes and the total duration (leading and trailing silence included).
    """
    lo, hi = PITCH_RANGE[gender]
    degrees = SCALES[scale]
    scale = [m for m in range(lo, hi + 1) if (m - key) % 12 in degrees]
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


@functools.lru_cache(maxsize=2048)  # ~0.5 MB an entry; a job is one singer's song
def _analyse_cached(key: Tuple[str, str], data: bytes, sr: int, tracker: str
                    ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    x = np.frombuffer(data, dtype=np.float64).copy()
    f0, t = track_f0(x, sr, tracker)
    f0 = _fill_voicing(f0, x, sr)
    return (f0,) + envelope(x, sr, f0, t)


def analyse(voice_name: str, syl: str, x: np.ndarray, sr: int, tracker: str = "harvest"
            ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """WORLD features of one spoken syllable (cached per voice/syllable); ``tracker``: harvest or dio."""
    return _analyse_cached((voice_name, syl), np.ascontiguousarray(x, dtype=np.float64).tobytes(), sr, tracker)


def _stretch_frames(n_src: int, n_dst: int) -> np.ndarray:
    """Fractional source-frame positions for ``n_dst`` output frames."""
    if n_dst <= 0:
        return np.zeros(0)
    if n_src <= 1:
        return np.zeros(n_dst)
    return np.linspace(0.0, n_src - 1, n_dst)


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
    sp_o, ap_o = interp_rows(sp, idx), interp_rows(ap, idx)
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
    k = max(1, int(style.portamento_s / fp))
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
    sp = warp_envelope(sp, style.formant_shift)
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
    shift = rng.uniform(0.92, 1.08)  # timbre variety between singers of one source voice
    if gender == "F" and source_gender == "M":
        shift *= rng.uniform(1.12, 1.2)
    elif gender == "M" and source_gender == "F":
        shift *= rng.uniform(0.85, 0.9)
    return SingerStyle(vibrato_hz=rng.uniform(4.5, 7.0), vibrato_cents=rng.uniform(10.0, 80.0),
                       formant_shift=shift, portamento_s=rng.uniform(0.02, 0.09))
