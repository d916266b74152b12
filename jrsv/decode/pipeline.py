"""Streaming decode of one or many inputs: audio blocks -> STFT -> windowed separation ->
per-track VAD pieces -> ASR -> stitched, time-stamped segments.

:class:`DecodeSession` holds the state of one input (bounded: a few windows and at most one ASR
piece per track); :func:`run_sessions` drives several sessions and batches model calls across
them (separation windows of several files in one batch; ASR pieces of both tracks and all files
in one batch). Segments are reported as soon as they are final.
"""
from __future__ import annotations

import os
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np
import soundfile as sf
import torch

from jrsv.decode.audio_stream import SAMPLE_RATE, AudioError
from jrsv.decode.engine import TRACKS, DecodeEngine, Hypothesis
from jrsv.decode.formats import Segment, Token, Transcript
from jrsv.decode.stft_stream import HOP, StreamingIstft, StreamingStft
from jrsv.decode.stitching import FRAME_SEC, PieceTokens, owned_tokens
from jrsv.decode.vad import AsrPiece, TrackSegmenter, VadConfig, frame_db
from jrsv.decode.windowing import StitchedChunk, WindowedSeparation, WindowJob

FRAMES_PER_SEC = SAMPLE_RATE / HOP  # 62.5
DEFAULT_MIN_CONFIDENCE = 0.5  # confidence gate of a model that was not calibrated


def model_min_confidence(model_conf: dict) -> float:
    """The confidence gate a model directory's config.yaml carries (``decode.min_confidence``,
    written by ``python -m jrsv.bin.calibrate --write``), else :data:`DEFAULT_MIN_CONFIDENCE`."""
    value = (model_conf.get("decode") or {}).get("min_confidence")
    return DEFAULT_MIN_CONFIDENCE if value is None else float(value)


@dataclass
class DecodeConfig:
    """Decoding settings (seconds are converted to 16 ms STFT frames)."""
    window_sec: float = 10.0
    overlap_sec: float = 2.0
    min_confidence: float = DEFAULT_MIN_CONFIDENCE  # mean CTC peak posterior of a piece's tokens
    vad: VadConfig = field(default_factory=VadConfig)

    def window_frames(self) -> tuple[int, int]:
        w, o = round(self.window_sec * FRAMES_PER_SEC), round(self.overlap_sec * FRAMES_PER_SEC)
        if not 0 <= o < w:
            raise ValueError(f"need 0 <= --overlap-sec ({self.overlap_sec}) < --window-sec "
                             f"({self.window_sec})")
        return w, o


class StemWriter:
    """Separated tracks as 16 kHz wavs ``DIR/NAME.speech.wav``, ``DIR/NAME.singing.wav``
    (inverse STFT with the mixture phase), written to ``.tmp`` and renamed on success."""

    def __init__(self, out_dir: str | os.PathLike, name: str):
        self.paths = {t: Path(out_dir) / f"{name}.{t}.wav" for t in TRACKS}
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        self.istft = {t: StreamingIstft() for t in TRACKS}
        self.files = {t: sf.SoundFile(str(p) + ".tmp", "w", SAMPLE_RATE, 1, "FLOAT", format="WAV")
                      for t, p in self.paths.items()}

    def write(self, chunk: StitchedChunk, mix_mag: torch.Tensor) -> None:
        """chunk: separated heads (m, F) and the complex mixture; mix_mag = |mixture| (m, F)."""
        phase = chunk.mix / mix_mag.clamp(min=1e-12)
        for t in TRACKS:
            self.files[t].write(self.istft[t].push(chunk.heads[t] * phase).numpy())

    def close(self, num_samples: int | None) -> None:
        """num_samples: the input length (finish and rename), or None (abort, delete)."""
        for t in TRACKS:
            if num_samples is not None:
                self.files[t].write(self.istft[t].finish(num_samples).numpy())
            self.files[t].close()
            tmp = str(self.paths[t]) + ".tmp"
            if num_samples is not None:
                os.replace(tmp, self.paths[t])
            elif os.path.exists(tmp):
                os.remove(tmp)


class DecodeSession:
    """State of one input being decoded.

    Args:
        name: shown in errors and used for output file names.
        blocks: iterator of (n,) float32 16 kHz mono blocks (raises AudioError on bad input).
        engine: used for token texts only (model calls are made by :func:`run_sessions`).
        stems_dir: write separated tracks there.
    """

    def __init__(self, name: str, blocks: Iterator[np.ndarray], engine: DecodeEngine,
                 config: DecodeConfig | None = None, stems_dir: str | os.PathLike | None = None,
                 source: str = ""):
        self.name, self.source, self.engine = name, source or name, engine
        self.config = config or DecodeConfig()
        self._blocks = iter(blocks)
        self.stft = StreamingStft()
        self.windows = WindowedSeparation(*self.config.window_frames())
        self.segmenters = {t: TrackSegmenter(t, self.config.vad) for t in TRACKS}
        self._stems_dir = stems_dir
        self.stems: StemWriter | None = None          # opened with the first separated frames
        self.sep_jobs: deque[WindowJob] = deque()
        self.asr_jobs: deque[AsrPiece] = deque()
        self.transcript = Transcript(source=self.source)
        self.new_segments: list[tuple[str, Segment]] = []
        self.reading, self.flushed, self.error = True, False, None
        self.samples_read = 0

    # -- input ----------------------------------------------------------------------------
    def read(self, want_jobs: int) -> float:
        """Read blocks until ``want_jobs`` windows are waiting or the input ends.
        Returns seconds of audio read. Raises :class:`AudioError`."""
        before = self.samples_read
        while self.reading and len(self.sep_jobs) < want_jobs:
            block = next(self._blocks, None)
            if block is None:
                self.reading = False
                self.sep_jobs.extend(self.windows.push(self.stft.finish()))
                self.sep_jobs.extend(self.windows.finish())
                break
            self.samples_read += len(block)
            self.sep_jobs.extend(self.windows.push(self.stft.push(torch.from_numpy(block))))
        return (self.samples_read - before) / SAMPLE_RATE

    # -- model results --------------------------------------------------------------------
    def accept_separation(self, job: WindowJob, outputs: dict[str, torch.Tensor]) -> None:
        self._chunk(self.windows.accept(job, outputs))

    def _chunk(self, chunk: StitchedChunk | None) -> None:
        if chunk is None or chunk.num_frames == 0:
            return
        if self._stems_dir is not None:
            if self.stems is None:
                try:
                    self.stems = StemWriter(self._stems_dir, self.name)
                except OSError as e:
                    raise OSError(f"{self.source}: cannot write stems to {self._stems_dir} "
                                  f"({e.strerror or e})") from None
        mix_mag = chunk.mix.abs()  # once for the stems and both tracks' VADs
        if self.stems is not None:
            self.stems.write(chunk, mix_mag)
        mix_db = frame_db(mix_mag)
        for t in TRACKS:
            self.asr_jobs.extend(self.segmenters[t].push(chunk.start, chunk.heads[t], mix_db))

    def accept_recognition(self, piece: AsrPiece, hyp: Hypothesis) -> None:
        toks = owned_tokens(PieceTokens(piece.start, piece.own_start, piece.own_end,
                                        hyp.tokens, hyp.times, hyp.confidences))
        if not toks:
            return
        conf = float(np.mean([t.confidence for t in toks]))
        if conf < self.config.min_confidence:
            return
        text = self.engine.text([t.token for t in toks])
        if not text.strip():
            return
        end = min(piece.own_end * FRAME_SEC, self.samples_read / SAMPLE_RATE)
        seg = Segment(piece.own_start * FRAME_SEC, end, text, conf,
                      [Token(self.engine.text([t.token]), t.time, t.confidence) for t in toks])
        self.transcript.track(piece.track).append(seg)
        self.new_segments.append((piece.track, seg))

    # -- end of input ---------------------------------------------------------------------
    def advance_end(self) -> None:
        """After the input and all windows are done: flush the stitcher and the VADs (once)."""
        if self.reading or self.sep_jobs or self.flushed or not self.windows.done:
            return
        self.flushed = True
        self._chunk(self.windows.flush())
        for t in TRACKS:
            self.asr_jobs.extend(self.segmenters[t].finish())

    @property
    def complete(self) -> bool:
        return self.flushed and not self.asr_jobs

    def close(self) -> None:
        """Finish side outputs (stems); on error remove partial ones."""
        self.transcript.duration = self.samples_read / SAMPLE_RATE
        stems, self.stems = self.stems, None
        if stems is not None:
            stems.close(self.samples_read if self.error is None else None)

    def fail(self, error: BaseException) -> None:
        self.error = error
        self.reading = False
        self.sep_jobs.clear()
        self.asr_jobs.clear()
        self.close()


def _take(sessions: list[DecodeSession], attr: str, limit: int) -> list[tuple[DecodeSession, object]]:
    """Round-robin up to ``limit`` queued jobs (oldest first per session)."""
    out: list[tuple[DecodeSession, object]] = []
    while len(out) < limit:
        added = False
        for s in sessions:
            q = getattr(s, attr)
            if q and len(out) < limit:
                out.append((s, q.popleft()))
                added = True
        if not added:
            break
    return out


def run_sessions(sessions: Iterable[DecodeSession], engine: DecodeEngine, batch_size: int = 1,
                 max_active: int | None = None, live: bool = False,
                 on_audio: Callable[[float], None] | None = None
                 ) -> Iterator[tuple[str, DecodeSession, str | None, Segment | None]]:
    """Decode sessions, batching model calls across them.

    Yields ``("segment", session, track, segment)`` when a segment is final and
    ``("done", session, None, None)`` when a session is finished (``session.error`` is set if it
    failed; other sessions go on). ``live``: process each window as soon as it is complete.
    """
    pending = iter(sessions)
    active: list[DecodeSession] = []
    max_active = max_active or max(1, batch_size)
    exhausted = False
    while active or not exhausted:
        while not exhausted and len(active) < max_active:
            s = next(pending, None)
            if s is None:
                exhausted = True
            else:
                active.append(s)
        want = 1 if live else max(1, -(-batch_size // max(1, len(active))))
        for s in active:
            try:
                secs = s.read(want)
            except (AudioError, OSError) as e:
                s.fail(e)
                continue
            if on_audio and secs:
                on_audio(secs)
        _separate(engine, [s for s in active if s.error is None], batch_size)
        for s in active:
            if s.error is None:
                _guard(s, s.advance_end)
        _recognize(engine, [s for s in active if s.error is None], 2 * batch_size)
        still = []
        for s in active:
            for track, seg in s.new_segments:
                yield "segment", s, track, seg
            s.new_segments = []
            if s.error is not None or s.complete:
                if s.error is None:
                    _guard(s, s.close)
                yield "done", s, None, None
            else:
                still.append(s)
        active = still


def _guard(s: DecodeSession, fn, *args) -> None:
    """Run a session step; an OSError (e.g. writing stems) fails only that session."""
    try:
        fn(*args)
    except OSError as e:
        s.fail(e)


def _separate(engine: DecodeEngine, sessions: list[DecodeSession], batch_size: int) -> None:
    while True:
        batch = _take(sessions, "sep_jobs", batch_size)
        if not batch:
            return
        try:
            outs = engine.separate([job.mag for _, job in batch])
        except RuntimeError as e:
            for s in {id(s): s for s, _ in batch}.values():
                s.fail(RuntimeError(f"{s.name}: separation failed ({' '.join(str(e).split())[:200]})"))
            continue
        for (s, job), out in zip(batch, outs):
            if s.error is None:
                _guard(s, s.accept_separation, job, out)


def _recognize(engine: DecodeEngine, sessions: list[DecodeSession], batch_size: int) -> None:
    """Pieces of both tracks (and all sessions) in one ASR call per batch."""
    while True:
        batch = _take(sessions, "asr_jobs", batch_size)
        if not batch:
            return
        try:
            hyps = engine.recognize([piece.mag for _, piece in batch],
                                    track=[piece.track for _, piece in batch])
        except RuntimeError as e:
            for s in {id(s): s for s, _ in batch}.values():
                s.fail(RuntimeError(f"{s.name}: recognition failed "
                                    f"({' '.join(str(e).split())[:200]})"))
            continue
        for (s, piece), hyp in zip(batch, hyps):
            if s.error is None:
                s.accept_recognition(piece, hyp)
