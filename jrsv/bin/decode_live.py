"""``jrsv decode -``: live captions of raw PCM on stdin (used by :mod:`jrsv.bin.decode`).

Output on stdout, one line per event, as soon as it is due:

* default: readable caption lines per track, ``[speech] 00:00:01.000 --> 00:00:03.000 text``,
  one per final caption; on a terminal the current partial caption is shown (and rewritten in
  place) on the last line;
* ``--format json``: JSON lines ``{"type": "partial"|"final", "track", "id", "start", "end",
  "text", "confidence"}`` (a final with empty text withdraws a caption whose partials were shown);
* ``--format srt|vtt|txt``: caption lines as by default, and at the end of the stream the
  transcript files ``stdin.speech.srt`` ... in ``--output-dir``.
"""
from __future__ import annotations

import argparse
import json
import sys
from typing import TextIO

from jrsv.decode.audio_stream import AudioError, iter_pcm_blocks
from jrsv.decode.engine import DecodeEngine
from jrsv.decode.formats import Segment, Transcript, segment_line, write_transcript
from jrsv.decode.live import CaptionEvent, LiveConfig, LiveDecoder


def run_stdin(args: argparse.Namespace, engine: DecodeEngine, min_confidence: float,
              vad=None, stdin=None, out: TextIO | None = None) -> int:
    """Decode stdin live; returns the exit status (0, or 1 for bad input / unwritable output)."""
    stdin = stdin or sys.stdin.buffer
    out = out or sys.stdout
    config = LiveConfig(min_confidence=min_confidence)
    if vad is not None:
        config.vad = vad
    decoder = LiveDecoder(engine, config)
    show = _Printer(out, args.format, tty=out.isatty())
    transcript = Transcript(source="-")
    try:
        for block in iter_pcm_blocks(stdin, args.stdin_rate, args.stdin_channels,
                                     block_sec=0.1, name="<stdin>"):
            for e in decoder.push(block):
                show(e, transcript)
        for e in decoder.finish():
            show(e, transcript)
    except AudioError as e:
        show.clear()
        print(f"jrsv decode: error: {' '.join(str(e).split())}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # Ctrl-C ends a live session: keep what was captioned
        pass
    show.clear()
    transcript.duration = decoder.seconds
    if args.format in ("srt", "vtt", "txt") or (args.format == "json" and args.output_dir != "."):
        try:
            write_transcript(transcript, args.output_dir, "stdin", args.format)
        except OSError as e:
            print(f"jrsv decode: error: <stdin>: cannot write output ({e})", file=sys.stderr)
            return 1
    return 0


class _Printer:
    """Writes events to ``out``; keeps final captions in a :class:`Transcript`."""

    def __init__(self, out: TextIO, fmt: str | None, tty: bool):
        self.out, self.json, self.tty = out, fmt == "json", tty
        self._partial_on_screen = False

    def __call__(self, e: CaptionEvent, transcript: Transcript) -> None:
        if e.type == "final" and e.text:
            transcript.track(e.track).append(Segment(round(e.start, 3), round(e.end, 3), e.text,
                                                     round(e.confidence, 4)))
        if self.json:
            print(json.dumps(e.to_dict(), ensure_ascii=False), file=self.out, flush=True)
            return
        if e.type == "partial":
            if self.tty:
                self.out.write(f"\r\033[K[{e.track} ...] {e.text}")
                self.out.flush()
                self._partial_on_screen = True
            return
        self.clear()
        if e.text:
            seg = Segment(e.start, e.end, e.text, e.confidence)
            print(segment_line(e.track, seg), file=self.out, flush=True)

    def clear(self) -> None:
        if self._partial_on_screen:
            self.out.write("\r\033[K")
            self.out.flush()
            self._partial_on_screen = False
