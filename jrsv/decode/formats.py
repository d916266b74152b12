"""Transcripts (two tracks of time-stamped segments) and their file formats: json, txt, srt, vtt.

Files are written through :mod:`jrsv.atomic` (unique temp file, fsync, rename); an
srt/vtt pair appears complete or not at all. Times are rounded to the millisecond.
"""
from __future__ import annotations

import contextlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterable


from jrsv.atomic import AtomicTarget, atomic_write_text  # noqa: F401 (re-exported)

FORMATS = ("json", "txt", "srt", "vtt")
from jrsv.constants import TRACKS


@dataclass
class Token:
    text: str
    time: float          # CTC peak, seconds
    confidence: float


@dataclass
class Segment:
    """One recognised stretch of a track: ``start``/``end`` seconds, ``text``, its tokens."""
    start: float
    end: float
    text: str
    confidence: float = 1.0
    tokens: list[Token] = field(default_factory=list)


@dataclass
class Transcript:
    """What was said (``speech``) and what was sung (``singing``) in one input."""
    speech: list[Segment] = field(default_factory=list)
    singing: list[Segment] = field(default_factory=list)
    duration: float = 0.0
    source: str = ""

    def track(self, name: str) -> list[Segment]:
        if name not in TRACKS:
            raise KeyError(f"unknown track {name!r}; tracks are {TRACKS}")
        return getattr(self, name)

    def text(self, track: str) -> str:
        return " ".join(s.text for s in self.track(track) if s.text)

    def to_dict(self) -> dict:
        return {"source": self.source, "duration": round(self.duration, 3),
                **{t: [_segment_dict(s) for s in self.track(t)] for t in TRACKS}}


def _segment_dict(s: Segment) -> dict:
    d = asdict(s)
    d["start"], d["end"], d["confidence"] = round(s.start, 3), round(s.end, 3), round(s.confidence, 4)
    d["tokens"] = [{"text": t.text, "time": round(t.time, 3), "confidence": round(t.confidence, 4)}
                   for t in s.tokens]
    return d


def timestamp(seconds: float, sep: str = ",") -> str:
    """Seconds -> ``HH:MM:SS,mmm`` (srt; ``sep="."`` for vtt)."""
    ms = max(0, int(round(seconds * 1000)))
    h, rem = divmod(ms, 3_600_000)
    m, rem = divmod(rem, 60_000)
    s, ms = divmod(rem, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def to_srt(segments: Iterable[Segment]) -> str:
    """SubRip: numbered cues from 1, ``00:00:01,000 --> 00:00:02,500``, blank-line separated."""
    cues = [f"{i}\n{timestamp(s.start)} --> {timestamp(max(s.end, s.start))}\n{s.text}\n"
            for i, s in enumerate(_ordered(segments), 1)]
    return "\n".join(cues)


def to_vtt(segments: Iterable[Segment]) -> str:
    """WebVTT: ``WEBVTT`` header, cues ``00:00:01.000 --> 00:00:02.500``."""
    cues = [f"{i}\n{timestamp(s.start, '.')} --> {timestamp(max(s.end, s.start), '.')}\n{s.text}\n"
            for i, s in enumerate(_ordered(segments), 1)]
    return "WEBVTT\n\n" + "\n".join(cues)


def to_txt(t: Transcript) -> str:
    """``# source: PATH`` then ``[speech]`` and ``[singing]`` with one timed line per segment."""
    lines = [f"# source: {t.source}"] if t.source else []
    for track in TRACKS:
        lines.append(f"[{track}]")
        lines += [f"{timestamp(s.start, '.')} --> {timestamp(s.end, '.')}  {s.text}"
                  for s in t.track(track)]
    return "\n".join(lines) + "\n"


def _ordered(segments: Iterable[Segment]) -> list[Segment]:
    return sorted((s for s in segments if s.text), key=lambda s: (s.start, s.end))


def write_transcript(t: Transcript, out_dir: str | os.PathLike, name: str, fmt: str) -> list[Path]:
    """Write ``t`` as ``NAME.json`` / ``NAME.txt`` (both tracks) or ``NAME.{speech,singing}.srt|vtt``."""
    out_dir = Path(out_dir)
    if fmt == "json":
        text = json.dumps(t.to_dict(), ensure_ascii=False, indent=1) + "\n"
        return [atomic_write_text(out_dir / f"{name}.json", text)]
    if fmt == "txt":
        return [atomic_write_text(out_dir / f"{name}.txt", to_txt(t))]
    if fmt in ("srt", "vtt"):
        render = to_srt if fmt == "srt" else to_vtt
        return write_file_set({out_dir / f"{name}.{track}.{fmt}": render(t.track(track))
                               for track in TRACKS})
    raise ValueError(f"unknown format {fmt!r}; one of {FORMATS}")


def write_file_set(files: dict[Path, str]) -> list[Path]:
    """Write several text files as a set: all of them, or (on any error) none."""
    targets = [AtomicTarget(p) for p in files]
    done: list[Path] = []
    try:
        for target, text in zip(targets, files.values()):
            with open(target.tmp, "w", encoding="utf-8") as f:
                f.write(text)
        for target in targets:
            done.append(target.commit())
    except BaseException:
        for target in targets:
            target.discard()
        for p in done:
            with contextlib.suppress(OSError):
                p.unlink()
        raise
    return done


def segment_line(track: str, s: Segment) -> str:
    """One live-output line: ``[speech] 00:00:01.000 --> 00:00:02.000 text``."""
    return f"[{track}] {timestamp(s.start, '.')} --> {timestamp(s.end, '.')} {s.text}"
