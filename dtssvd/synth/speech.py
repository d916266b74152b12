"""Speech voices: espeak-ng (``cmn-latn-pinyin``) and gcin-voice recorded syllables.

Both voice kinds offer
- ``sentence(pinyin, rng, sr)``: a whole utterance (AISHELL-like), and
- ``syllable(syl, sr)``: one syllable, used as the raw material for singing.
"""
from __future__ import annotations

import functools
import os
import random
import subprocess
import tempfile
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from .audio import fade, read_wav, resample, trim_silence
from .deps import GCIN_OGG_DIR, require_espeak, require_gcin

ESPEAK_SR = 22050
GCIN_SR = 44100
#: gcin-voice speaker file stems (two recorded speakers)
GCIN_SPEAKERS = ("3", "5")
#: measured median F0: speaker 3 ~136 Hz (male), speaker 5 ~260 Hz (female)
GCIN_GENDER = {"3": "M", "5": "F"}


@dataclass(frozen=True)
class EspeakVoice:
    """One synthetic speaker: espeak-ng variant, speed (-s, wpm) and pitch (-p, 0-99)."""

    variant: str  # e.g. "m3", "f2" or "" for the default voice
    speed: int
    pitch: int
    gender: str = "M"

    @property
    def name(self) -> str:
        return f"espeak-{self.variant or 'default'}-s{self.speed}-p{self.pitch}"

    @property
    def voice_arg(self) -> str:
        return "cmn-latn-pinyin" + (f"+{self.variant}" if self.variant else "")

    def _say(self, text: str) -> np.ndarray:
        """Run espeak-ng on numbered pinyin and return float audio at 22.05 kHz."""
        exe = require_espeak()
        fd, path = tempfile.mkstemp(suffix=".wav")
        os.close(fd)
        try:
            proc = subprocess.run([exe, "-v", self.voice_arg, "-s", str(self.speed), "-p", str(self.pitch),
                                   "-w", path, text], capture_output=True, text=True)
            if proc.returncode != 0:
                raise RuntimeError(f"espeak-ng failed ({self.voice_arg}): {proc.stderr.strip()}")
            x, sr = read_wav(path)
        finally:
            os.unlink(path)
        if sr != ESPEAK_SR:
            x = resample(x, sr, ESPEAK_SR)
        return x

    def sentence(self, pinyin: Sequence[str], rng: random.Random, sr: int) -> np.ndarray:
        """The whole sentence read at once (natural espeak prosody)."""
        x = trim_silence(self._say(" ".join(pinyin)), ESPEAK_SR, pad_s=0.02)
        return resample(x, ESPEAK_SR, sr)

    @functools.lru_cache(maxsize=4096)
    def _syllable_22k(self, syl: str) -> np.ndarray:
        return trim_silence(self._say(syl), ESPEAK_SR, pad_s=0.005)

    def syllable(self, syl: str, sr: int) -> np.ndarray:
        """One syllable, silence-trimmed."""
        return resample(self._syllable_22k(syl), ESPEAK_SR, sr)


def pinyin_to_gcin_keys(syl: str) -> List[str]:
    """gcin directory names to try for a numbered-pinyin syllable, best first.

    Exact tone first; then the other tones of the same toneless syllable (tone 1, 4, 2, 3,
    neutral). This is the documented fallback for syllables the recordings lack.
    """
    from pypinyin.contrib.tone_convert import to_tone
    from pypinyin.style.bopomofo import BopomofoConverter  # type: ignore

    # gcin directory suffix: none = tone 1, "2"/"3"/"4", "1" = neutral tone
    base, tone = (syl[:-1], syl[-1]) if syl[-1:].isdigit() else (syl, "5")
    bpmf = BopomofoConverter().to_bopomofo(to_tone(base + tone) if tone != "5" else base)
    bpmf = bpmf.rstrip("˙ˊˇˋ").lstrip("˙")
    order = {"1": "", "2": "2", "3": "3", "4": "4", "5": "1"}
    first = order.get(tone, "")
    rest = [s for s in ("", "4", "2", "3", "1") if s != first]
    return [bpmf + s for s in [first] + rest]


@dataclass(frozen=True)
class GcinVoice:
    """One gcin-voice speaker (real recordings of isolated syllables)."""

    speaker: str  # "3" or "5" (the Ogg file stem)
    gender: str = "M"
    root: str = GCIN_OGG_DIR

    @property
    def name(self) -> str:
        return f"gcin-{self.speaker}"

    def find(self, syl: str) -> Optional[Tuple[str, bool]]:
        """(path, exact_tone) of the recording for ``syl`` or None if no variant exists."""
        require_gcin(self.root)
        keys = pinyin_to_gcin_keys(syl)
        for i, key in enumerate(keys):
            path = os.path.join(self.root, key, f"{self.speaker}.ogg")
            if os.path.isfile(path):
                return path, i == 0
        return None

    def covers(self, pinyin: Sequence[str]) -> bool:
        """True when every syllable has a recording (possibly with the tone fallback)."""
        return all(self.find(s) is not None for s in pinyin)

    @functools.lru_cache(maxsize=4096)
    def _syllable_44k(self, syl: str) -> np.ndarray:
        hit = self.find(syl)
        if hit is None:
            raise KeyError(f"gcin-voice speaker {self.speaker} has no recording for '{syl}'")
        x, sr = read_wav(hit[0])
        if x.ndim == 2:
            x = x.mean(axis=1)
        x = resample(x, sr, GCIN_SR)
        return trim_silence(x, GCIN_SR, pad_s=0.005)

    def syllable(self, syl: str, sr: int) -> np.ndarray:
        """One recorded syllable, silence-trimmed, at ``sr``."""
        return resample(self._syllable_44k(syl), GCIN_SR, sr)

    def sentence(self, pinyin: Sequence[str], rng: random.Random, sr: int,
                 word_lengths: Optional[Sequence[int]] = None) -> np.ndarray:
        """Concatenate syllables with short gaps (longer between words), light speed-up by overlap."""
        bounds = set()
        if word_lengths:
            pos = 0
            for n in word_lengths:
                pos += n
                bounds.add(pos)
        parts: List[np.ndarray] = []
        for i, syl in enumerate(pinyin):
            parts.append(fade(self.syllable(syl, sr), sr))
            if i + 1 < len(pinyin):
                gap = rng.uniform(0.04, 0.09) if (i + 1) in bounds else rng.uniform(0.0, 0.03)
                parts.append(np.zeros(int(gap * sr)))
        return np.concatenate(parts) if parts else np.zeros(0)


def espeak_voices(n: int, seed: int, offset: int = 0) -> List[EspeakVoice]:
    """``n`` distinct synthetic speakers (variant x speed x pitch), deterministic per seed.

    ``offset`` selects a disjoint block of the (shuffled) voice space, so train/dev/test
    speakers never coincide.
    """
    variants = [("m1", "M"), ("m2", "M"), ("m3", "M"), ("m4", "M"), ("m5", "M"), ("m6", "M"),
                ("m7", "M"), ("", "M"), ("f1", "F"), ("f2", "F"), ("f3", "F"), ("f4", "F"), ("f5", "F")]
    space = [EspeakVoice(v, s, p, g) for v, g in variants for s in (120, 145, 170) for p in (35, 50, 65)]
    rng = random.Random(f"espeak-voices-{seed}")
    rng.shuffle(space)
    if offset + n > len(space):
        raise ValueError(f"only {len(space)} espeak voices available")
    return space[offset:offset + n]


def gcin_voices() -> Dict[str, GcinVoice]:
    """The two gcin-voice speakers."""
    return {s: GcinVoice(s, GCIN_GENDER[s]) for s in GCIN_SPEAKERS}
