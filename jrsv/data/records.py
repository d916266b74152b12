"""Typed corpus records shared by the readers."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Dict, List, Optional


@dataclass
class Utterance:
    """One transcribed audio file (speech utterance or singing segment)."""
    id: str
    path: str
    text: str
    speaker: str
    duration: Optional[float] = None

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class MusicTrack:
    """One MUSDB18-HQ track: stem name -> wav path."""
    id: str
    stems: Dict[str, str]

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class ReadReport:
    """What a reader skipped, by name (never a silent drop)."""
    untranscribed: List[str] = field(default_factory=list)
    missing_audio: List[str] = field(default_factory=list)
    bad: List[str] = field(default_factory=list)

    def summary(self) -> str:
        return (f"untranscribed={len(self.untranscribed)} missing_audio={len(self.missing_audio)} "
                f"bad={len(self.bad)}")


def fill_durations(utts: List[Utterance], report: ReadReport) -> List[Utterance]:
    """Set `duration` (seconds) from each wav header; unreadable headers go to `report.bad`."""
    from jrsv.data.audio import AudioError, audio_info
    out = []
    for u in utts:
        try:
            frames, sr = audio_info(u.path)
        except AudioError as e:
            report.bad.append(str(e))
            continue
        u.duration = round(frames / sr, 4)
        out.append(u)
    return out
