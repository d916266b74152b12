"""MUSDB-like multitrack music: seeded MIDI arrangement rendered per stem with fluidsynth.

Each track has a tempo, key, chord progression and instrument choice drawn from a seeded
RNG. Stems: drums (GM channel 10), bass, other (chords/pads/arpeggios) and vocals (either
silence or a hummed "Voice Oohs"/"Choir Aahs" line). Every stem is rendered separately to a
float WAV, trimmed/padded to the track length and scaled by one common gain, then quantised
to 16 bits; the mixture is the exact integer sum of the quantised stems.
"""
from __future__ import annotations

import os
import random
import subprocess
import tempfile
from dataclasses import dataclass
from typing import Dict, List, Tuple

import numpy as np

from .audio import read_wav, resample
from .deps import find_soundfont, require_fluidsynth
from .midi import MidiTrack

MUSIC_SR = 44100
STEMS = ("drums", "bass", "other", "vocals")
MAJOR = (0, 2, 4, 5, 7, 9, 11)
PROGRESSIONS = ((1, 5, 6, 4), (1, 6, 4, 5), (6, 4, 1, 5), (1, 4, 5, 4), (2, 5, 1, 6), (1, 3, 4, 5),
                (4, 5, 3, 6))
BASS_PROGRAMS = (32, 33, 34, 35, 38, 39)
OTHER_PROGRAMS = (0, 4, 5, 24, 25, 48, 49, 88, 89, 16, 46)
VOCAL_PROGRAMS = (52, 53, 54)
KICK, SNARE, HAT_C, HAT_O, CRASH, TOM = 36, 38, 42, 46, 49, 45


@dataclass(frozen=True)
class TrackPlan:
    """The seeded musical choices of one track."""

    tempo: float
    key: int
    progression: Tuple[int, ...]
    bass_program: int
    other_program: int
    vocal_program: int
    with_vocals: bool
    style: str  # "block", "arp" or "pad"


def plan_track(rng: random.Random, vocal_prob: float) -> TrackPlan:
    """Draw the track's tempo, key, progression and instruments."""
    return TrackPlan(tempo=float(rng.randrange(80, 141, 2)), key=rng.randrange(0, 12),
                     progression=rng.choice(PROGRESSIONS), bass_program=rng.choice(BASS_PROGRAMS),
                     other_program=rng.choice(OTHER_PROGRAMS), vocal_program=rng.choice(VOCAL_PROGRAMS),
                     with_vocals=rng.random() < vocal_prob, style=rng.choice(("block", "arp", "pad")))


def _chord(key: int, degree: int) -> List[int]:
    """Triad pitch classes (semitones above C) of a scale degree in a major key."""
    return [key + MAJOR[(degree - 1 + k) % 7] + 12 * ((degree - 1 + k) // 7) for k in (0, 2, 4)]


def arrange(plan: TrackPlan, seconds: float, rng: random.Random) -> Dict[str, MidiTrack]:
    """Build one MIDI track per stem covering ``seconds``."""
    beats = int(np.ceil(seconds * plan.tempo / 60.0)) + 1
    bars = beats // 4 + 1
    tr = {s: MidiTrack(plan.tempo) for s in STEMS}
    # drums (channel 10 = index 9)
    d = tr["drums"]
    fill_prob = rng.uniform(0.05, 0.2)
    hat = HAT_C if rng.random() < 0.7 else HAT_O
    for bar in range(bars):
        b0 = bar * 4
        if bar % 4 == 0:
            d.note(9, CRASH, b0, 1, 100)
        for k in range(8):
            d.note(9, hat, b0 + k * 0.5, 0.25, rng.randrange(60, 90))
        for k in (0, 2):
            d.note(9, KICK, b0 + k, 0.5, rng.randrange(95, 120))
        if rng.random() < 0.5:
            d.note(9, KICK, b0 + 2.5, 0.5, 90)
        for k in (1, 3):
            d.note(9, SNARE, b0 + k, 0.5, rng.randrange(90, 115))
        if rng.random() < fill_prob:
            for k in range(4):
                d.note(9, TOM, b0 + 3 + k * 0.25, 0.25, 90)
    # bass, other, vocals follow the progression (one chord per bar)
    tr["bass"].program(0, plan.bass_program)
    tr["other"].program(1, plan.other_program)
    tr["vocals"].program(2, plan.vocal_program)
    tr["bass"].control(0, 10, 64)
    tr["other"].control(1, 10, rng.randrange(30, 98))
    tr["vocals"].control(2, 10, 64)
    pat = rng.choice(((0, 1, 2, 3), (0, 1.5, 2, 3.5), (0, 0.5, 1, 1.5, 2, 2.5, 3, 3.5), (0, 2, 2.5)))
    mel = 72 + plan.key - (12 if plan.key > 5 else 0)
    for bar in range(bars):
        b0 = bar * 4
        chord = _chord(plan.key, plan.progression[bar % len(plan.progression)])
        root = 36 + chord[0] % 12
        for i, pos in enumerate(pat):
            nxt = pat[i + 1] if i + 1 < len(pat) else 4
            pitch = root + (7 if (i % 4 == 3 and rng.random() < 0.4) else 0)
            tr["bass"].note(0, pitch, b0 + pos, (nxt - pos) * 0.9, rng.randrange(85, 110))
        notes = [60 + c % 12 for c in chord]
        if plan.style == "block":
            for k in (0, 1.5, 2, 3):
                for p in notes:
                    tr["other"].note(1, p, b0 + k, 0.45 if k != 2 else 0.9, 75)
        elif plan.style == "arp":
            seq = notes + [notes[0] + 12]
            for k in range(8):
                tr["other"].note(1, seq[k % 4], b0 + k * 0.5, 0.45, 72)
        else:
            for p in notes + [notes[0] - 12]:
                tr["other"].note(1, p, b0, 4.0, 65)
        if plan.with_vocals and bar % 4 != 3:  # hummed line: chord tones + passing notes
            t = 0.0
            while t < 4.0:
                dur = rng.choice((0.5, 1.0, 1.0, 1.5, 2.0))
                pc = rng.choice(chord + [plan.key + MAJOR[rng.randrange(7)]])
                pitch = mel + ((pc - mel) % 12)
                if pitch > mel + 9:
                    pitch -= 12
                tr["vocals"].note(2, pitch, b0 + t, min(dur, 4.0 - t) * 0.95, rng.randrange(80, 105))
                t += dur
    return tr


def render_midi(mid: bytes, sr: int = MUSIC_SR, soundfont: str = "") -> np.ndarray:
    """Render MIDI bytes with fluidsynth -> float (T, 2)."""
    exe = require_fluidsynth()
    sf2 = find_soundfont(soundfont or None)
    with tempfile.TemporaryDirectory(prefix="synth_mid_") as tmp:
        mpath, wpath = os.path.join(tmp, "x.mid"), os.path.join(tmp, "x.wav")
        with open(mpath, "wb") as f:
            f.write(mid)
        proc = subprocess.run([exe, "-ni", "-q", "-O", "float", "-T", "wav", "-F", wpath, "-r", str(sr),
                               "-o", "synth.cpu-cores=1", sf2, mpath], capture_output=True, text=True)
        if proc.returncode != 0 or not os.path.isfile(wpath):
            raise RuntimeError(f"fluidsynth failed: {proc.stderr.strip()[:300]}")
        x, got = read_wav(wpath)
    if x.ndim == 1:
        x = np.stack([x, x], axis=1)
    if got != sr:
        x = np.stack([resample(x[:, c], got, sr) for c in range(2)], axis=1)
    return x


def make_track(seconds: float, rng: random.Random, vocal_prob: float = 0.5, sr: int = MUSIC_SR,
               soundfont: str = "") -> Tuple[Dict[str, np.ndarray], TrackPlan]:
    """All stems (int16, (T, 2)) plus the mixture (their exact sum)."""
    plan = plan_track(rng, vocal_prob)
    midi = arrange(plan, seconds, rng)
    n = int(round(seconds * sr))
    end_beat = seconds * plan.tempo / 60.0 + 2
    stems: Dict[str, np.ndarray] = {}
    levels = {"drums": rng.uniform(0.8, 1.2), "bass": rng.uniform(0.8, 1.2), "other": rng.uniform(0.7, 1.1),
              "vocals": rng.uniform(0.8, 1.2)}
    for name in STEMS:
        if name == "vocals" and not plan.with_vocals:
            stems[name] = np.zeros((n, 2))
            continue
        x = render_midi(midi[name].to_bytes(end_beat), sr, soundfont)
        x = x[:n] if len(x) >= n else np.pad(x, ((0, n - len(x)), (0, 0)))
        fade = min(n, int(0.05 * sr))
        x[n - fade:] *= np.linspace(1, 0, fade)[:, None]
        rms = float(np.sqrt(np.mean(x ** 2)))
        stems[name] = x * (levels[name] * 0.1 / rms) if rms > 1e-6 else x
    total = sum(stems.values())
    peak = float(np.max(np.abs(total)))
    gain = 0.89 / peak if peak > 0.89 else 1.0
    out = {k: np.clip(np.round(v * gain * 32767), -32768, 32767).astype(np.int32) for k, v in stems.items()}
    mix = sum(out.values())
    out = {k: v.astype(np.int16) for k, v in out.items()}
    out["mixture"] = np.clip(mix, -32768, 32767).astype(np.int16)
    return out, plan
