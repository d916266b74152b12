"""On-disk names of the three corpora (identical to the real AISHELL-1, OpenSinger, MUSDB18-HQ)."""
from __future__ import annotations

import os

AISHELL_SR = 16000
OPENSINGER_SR = 24000
MUSDB_SR = 44100
#: first AISHELL speaker number of each split (real corpus: train S0002.., dev S0724.., test S0764..)
AISHELL_SPK_START = {"train": 2, "dev": 724, "test": 764}


def aishell_speaker(split: str, index: int) -> str:
    return f"S{AISHELL_SPK_START[split] + index:04d}"


def aishell_utt_id(speaker: str, index: int) -> str:
    """``BAC009S0002W0122`` style id."""
    return f"BAC009{speaker}W{index + 1:04d}"


def aishell_wav(out: str, split: str, speaker: str, utt: str) -> str:
    return os.path.join(out, "data_aishell", "wav", split, speaker, utt + ".wav")


def aishell_transcript(out: str) -> str:
    return os.path.join(out, "data_aishell", "transcript", "aishell_transcript_v0.8.txt")


def opensinger_dir(out: str, gender: str, singer_id: int, song: str) -> str:
    raw = "ManRaw" if gender == "M" else "WomanRaw"
    return os.path.join(out, "OpenSinger", raw, f"{singer_id}_{song}")


def opensinger_stem(out: str, gender: str, singer_id: int, song: str, seg: int) -> str:
    """Path without extension of one segment (add .wav/.txt/.lab)."""
    return os.path.join(opensinger_dir(out, gender, singer_id, song), f"{singer_id}_{song}_{seg}")


def musdb_dir(out: str, split: str, name: str) -> str:
    return os.path.join(out, "musdb18hq", split, name)


MANIFEST = "mini_corpora.json"
