"""Streaming decode of one or many inputs: audio blocks -> STFT -> windowed separation ->
per-track VAD pieces -> ASR -> stitched, time-stamped segments.

:class:`DecodeSession` holds the state of one input (bounded: a few windows and at most one ASR
piece per track); :func:`run_sessions` drives several sessions and batches model calls across
them (separation windows of several files in one batch; ASR pieces of both tracks and all files
in one batch). Segments are reported as soon as they are final.
"""
from __future__ import annotations

import contextlib
import os
import shutil
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np
import soundfile as sf
import torch

from jrsv.atomic import AtomicTarget
from jrsv.constants import DEFAULT_STFT, FRAMES_PER_SEC, TRACKS, StftFrontend
from jrsv.decode.audio_stream import SAMPLE_RATE
from jrsv.decode.engine import DecodeEngine, Hypothesis
from jrsv.decode.formats import Segment, Token, Transcript
from jrsv.decode.stft_stream import StreamingIstft, StreamingStft
from jrsv.decode.stitching import PieceTokens, owned_tokens
from jrsv.decode.vad import AsrPiece, TrackSegmenter, VadConfig, frame_db
from jrsv.decode.windowing import StitchedChunk, WindowedSeparation, WindowJob

DEFAULT_MIN_CONFIDENCE = 0.5  # confidence gate of a model that was not calibrated


def model_min_confidence(model_conf: dict) -> float:
    """The confidence gate a model directory's config.yaml carries (``decode.min_confidence``,
    written by ``jrsv calibrate --write``), else :data:`DEFAULT_MIN_CONFIDENCE`."""
    value = (model_conf.get("decode") or {}).get("min_confidence")
    return DEFAULT_MIN_CONFIDENCE if value is None else float(value)


@dataclass
class DecodeConfig:
    """Decoding settings (seconds are converted to STFT frames, 16 ms with the default
    front-end)."""
    window_sec: float = 10.0
    overlap_sec: float = 2.0
    min_confidence: float = DEFAULT_MIN_CONFIDENCE  # mean CTC peak posterior of a piece's tokens
    vad: VadConfig = field(default_factory=VadConfig)

    def window_frames(self, frames_per_sec: float = FRAMES_PER_SEC) -> tuple[int, int]:
        """(window, overlap) in frames at ``frames_per_sec`` (the model's front-end)."""
        w, o = round(self.window_sec * frames_per_sec), round(self.overlap_sec * frames_per_sec)
        if not 0 <= o < w:
            raise ValueError(f"need 0 <= --overlap-sec ({self.overlap_sec}) < --window-sec "
                             f"({self.window_sec})")
        return w, o


def whole_input_config() -> DecodeConfig:
    """The streaming decoder with one separation window and one ASR piece per track over the
    whole input, every token kept: what the recipe's whole-utterance scoring computes
    (``JRSV.transcribe``; tests/test_eval_decode_parity.py checks the tokens are the same)."""
    forever = 10_000_000.0  # seconds: longer than any input, so one window / one piece
    return DecodeConfig(window_sec=forever, overlap_sec=0.0, min_confidence=0.0,
                        vad=VadConfig(abs_db=-float("inf"), rel_db=-float("inf"),
                                      max_frames=round(forever * FRAMES_PER_SEC),
                                      overlap_frames=0))


class StemWriter:
    """Separated tracks as 16 kHz wavs ``DIR/NAME.speech.wav``, ``DIR/NAME.singing.wav``
    (inverse STFT of ``frontend`` with the mixture phase), written to per-process temp files
    (:mod:`jrsv.atomic`) and moved into place together on success: the pair is complete or
    absent. Any write error is raised as ``OSError`` naming the stem file."""

    def __init__(self, out_dir: str | os.PathLike, name: str,
                 frontend: StftFrontend = DEFAULT_STFT):
        self.paths = {t: Path(out_dir) / f"{name}.{t}.wav" for t in TRACKS}
        self.targets: dict[str, AtomicTarget] = {}
        self.istft = {t: StreamingIstft.from_frontend(frontend) for t in TRACKS}
        self.files: dict[str, sf.SoundFile] = {}
        try:
            self.targets = {t: AtomicTarget(p) for t, p in self.paths.items()}
            for t, target in self.targets.items():
                self.files[t] = sf.SoundFile(str(target.tmp), "w", SAMPLE_RATE, 1, "FLOAT",
                                             format="WAV")
        except Exception as e:  # noqa: BLE001 - libsndfile errors are RuntimeErrors
            self.close(None)
            raise self._error(e) from None

    def _error(self, e: BaseException) -> OSError:
        where = self.paths["speech"].parent
        if isinstance(e, OSError) and e.strerror:
            return OSError(e.errno, f"cannot write stems {where}: {e.strerror}")
        text = " ".join(str(e).split())
        try:  # libsndfile says "System error." for a full disk
            if shutil.disk_usage(where).free < (1 << 16):
                text = "No space left on device"
        except OSError:
            pass
        return OSError(f"cannot write stems {where}: {text}")

    def write(self, chunk: StitchedChunk, mix_mag: torch.Tensor) -> None:
        """chunk: separated heads (m, F) and the complex mixture; mix_mag = |mixture| (m, F)."""
        phase = chunk.mix / mix_mag.clamp(min=1e-12)
        try:
            for t in TRACKS:
                self.files[t].write(self.istft[t].push(chunk.heads[t] * phase).numpy())
        except Exception as e:  # noqa: BLE001
            raise self._error(e) from None

    def close(self, num_samples: int | None) -> None:
        """num_samples: the input length (finish, fsync, rename both), or None (abort, delete)."""
        error = None
        for t, f in self.files.items():
            try:
                if num_samples is not None and error is None:
                    f.write(self.istft[t].finish(num_samples).numpy())
                f.close()
            except Exception as e:  # noqa: BLE001
                error = error or e
        self.files = {}
        if num_samples is None or error is not None:
            for target in self.targets.values():
                target.discard()
            if error is not None:
                raise self._error(error)
            return
        done: list[Path] = []
        try:
            for target in self.targets.values():
                done.append(target.commit())
        except OSError as e:
            for target in self.targets.values():
                target.discard()
            for p in done:  # keep the pair complete or absent
                with contextlib.suppress(OSError):
                    p.unlink()
            raise self._error(e) from None


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
        self.frontend: StftFrontend = getattr(engine, "frontend", DEFAULT_STFT)
        self.stft = StreamingStft.from_frontend(self.frontend)
        self.windows = WindowedSeparation(*self.config.window_frames(self.frontend.frames_per_sec))
        self.segmenters = {t: TrackSegmenter(t, self.config.vad, self.frontend) for t in TRACKS}
        self._stems_dir = stems_dir
        self.stems: StemWriter | None = None          # opened with the first separated frames
        self.sep_jobs: deque[WindowJob] = deque()
        self.asr_jobs: deque[AsrPiece] = deque()
        self.transcript = Transcript(source=self.source)
        self.new_segments: list[tuple[str, Segment]] = []
        self.reading, self.flushed, self.error = True, False, None
        self.samples_read = 0
        self.gated = {t: 0 for t in TRACKS}             # pieces dropped by the confidence gate

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
                    self.stems = StemWriter(self._stems_dir, self.name, self.frontend)
                except OSError as e:
                    raise OSError(f"{self.source}: {e.strerror or e}") from None
        mix_mag = chunk.mix.abs()  # once for the stems and both tracks' VADs
        if self.stems is not None:
            try:
                self.stems.write(chunk, mix_mag)
            except OSError as e:
                raise OSError(f"{self.source}: {e.strerror or e}") from None
        mix_db = frame_db(mix_mag, self.frontend)
        for t in TRACKS:
            self.asr_jobs.extend(self.segmenters[t].push(chunk.start, chunk.heads[t], mix_db))

    def accept_recognition(self, piece: AsrPiece, hyp: Hypothesis) -> None:
        toks = owned_tokens(PieceTokens(piece.start, piece.own_start, piece.own_end,
                                        hyp.tokens, hyp.times, hyp.confidences))
        if not toks:
            return
        conf = float(np.mean([t.confidence for t in toks]))
        if conf < self.config.min_confidence:
            self.gated[piece.track] += 1
            return
        text = self.engine.text([t.token for t in toks])
        if not text.strip():
            return
        fs = self.frontend.frame_sec
        end = min(piece.own_end * fs, self.samples_read / SAMPLE_RATE)
        seg = Segment(round(piece.own_start * fs, 3), round(end, 3), text, conf,
                      [Token(self.engine.text([t.token]), round(t.frame * fs, 3), t.confidence)
                       for t in toks])
        self.transcript.track(piece.track).append(seg)
        self.new_segments.append((piece.track, seg))

    def gate_notes(self, keep_hint: str = "DecodeConfig(min_confidence=0)") -> list[str]:
        """One line per track left empty because every piece recognised on it scored below the
        confidence gate (not because nothing was heard): the gate is calibrated for the model's
        own data, and out-of-domain audio can fall below it everywhere."""
        g = self.config.min_confidence
        return [f"{self.source}: {t}: all {n} recognised piece(s) scored below the confidence "
                f"gate {g:g} and were dropped ({keep_hint} keeps them)"
                for t, n in self.gated.items() if n and not self.transcript.track(t)]

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
            try:
                stems.close(self.samples_read if self.error is None else None)
            except OSError as e:
                if self.error is None:
                    raise OSError(f"{self.source}: {e.strerror or e}") from None

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
    if int(batch_size) < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    pending = iter(sessions)
    active: list[DecodeSession] = []
    try:
        yield from _drive(pending, active, engine, batch_size, max_active, live, on_audio)
    finally:  # closed early (an interrupt, the consumer stopped): no partial side outputs
        for s in active:
            if s.error is None:
                s.fail(RuntimeError(f"{s.source}: decoding interrupted"))


def _drive(pending: Iterator[DecodeSession], active: list[DecodeSession], engine: DecodeEngine,
           batch_size: int, max_active: int | None, live: bool,
           on_audio: Callable[[float], None] | None):
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
            except Exception as e:  # noqa: BLE001 - any per-input failure fails that input only
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
        active[:] = still


def _guard(s: DecodeSession, fn, *args) -> None:
    """Run a session step; any error (e.g. writing stems) fails only that session."""
    try:
        fn(*args)
    except Exception as e:  # noqa: BLE001 - the batch goes on; the error is reported per input
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
