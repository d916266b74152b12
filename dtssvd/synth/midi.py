"""A tiny Standard MIDI File (format 0) writer: no third-party dependencies."""
from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import List, Tuple

TICKS_PER_BEAT = 480


def _varlen(n: int) -> bytes:
    """MIDI variable-length quantity."""
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    return bytes(reversed(out))


@dataclass
class MidiTrack:
    """Events as (tick, order, bytes); written sorted by tick (note-offs before note-ons)."""

    tempo_bpm: float
    events: List[Tuple[int, int, bytes]] = field(default_factory=list)

    def program(self, channel: int, program: int, tick: int = 0) -> None:
        self.events.append((tick, 0, bytes([0xC0 | channel, program & 0x7F])))

    def control(self, channel: int, cc: int, value: int, tick: int = 0) -> None:
        self.events.append((tick, 0, bytes([0xB0 | channel, cc & 0x7F, value & 0x7F])))

    def note(self, channel: int, pitch: int, start_beat: float, dur_beats: float, velocity: int) -> None:
        """Add a note (times in beats)."""
        a = int(round(start_beat * TICKS_PER_BEAT))
        b = max(a + 1, int(round((start_beat + dur_beats) * TICKS_PER_BEAT)))
        self.events.append((a, 2, bytes([0x90 | channel, pitch & 0x7F, max(1, min(127, velocity))])))
        self.events.append((b, 1, bytes([0x80 | channel, pitch & 0x7F, 0])))

    def to_bytes(self, end_beat: float) -> bytes:
        """The whole .mid file."""
        body = bytearray()
        mpqn = int(round(60_000_000 / self.tempo_bpm))
        body += b"\x00\xff\x51\x03" + mpqn.to_bytes(3, "big")
        last = 0
        for tick, _, data in sorted(self.events, key=lambda e: (e[0], e[1], e[2])):
            body += _varlen(tick - last) + data
            last = tick
        end = max(last, int(round(end_beat * TICKS_PER_BEAT)))
        body += _varlen(end - last) + b"\xff\x2f\x00"
        header = b"MThd" + struct.pack(">IHHH", 6, 0, 1, TICKS_PER_BEAT)
        return header + b"MTrk" + struct.pack(">I", len(body)) + bytes(body)
