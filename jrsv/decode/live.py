"""Live decoding: push PCM as it arrives, get caption events back.

:class:`LiveDecoder` turns a live 16 kHz stream into :class:`CaptionEvent` s per track:
``partial`` events carry the current text of the segment being spoken or sung (re-recognised
every ``partial_sec`` of new audio while it is open) and one ``final`` event closes it. Separation
uses short context windows (:mod:`jrsv.decode.live_windows`), so a segment's final caption comes
about ``lookahead + hop / 2 + VAD end detection + ASR time`` after its end (about 1 to 1.5 s on
2 CPU threads with the default model; ``jrsv bench-live`` measures it).

Memory is bounded: the context window, the VAD buffer of an open segment (at most
``vad.max_frames``, 20 s; longer segments are cut into pieces, each finalised) and the
resampler's state.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import torch

from jrsv.constants import DEFAULT_STFT, StftFrontend
from jrsv.decode.audio_stream import SAMPLE_RATE, AudioError, MonoResampler
from jrsv.decode.engine import TRACKS, DecodeEngine
from jrsv.decode.pipeline import FRAMES_PER_SEC, DEFAULT_MIN_CONFIDENCE
from jrsv.decode.live_windows import ContextWindows
from jrsv.decode.stft_stream import StreamingStft
from jrsv.decode.stitching import PieceTokens, owned_tokens
from jrsv.decode.vad import AsrPiece, TrackSegmenter, VadConfig


@dataclass
class LiveConfig:
    """Live decoding settings (seconds; converted to 16 ms STFT frames)."""
    hop_sec: float = 0.5          # separation step: frames finalised per separator call
    context_sec: float = 1.0      # past audio the separator sees before the hop
    lookahead_sec: float = 0.5    # future audio it sees after the hop (the separation delay)
    partial_sec: float = 0.5      # re-recognise an open segment after this much new audio ...
    partial_cost: float = 8.0     # ... and after this many times the last partial's ASR time
                                  # (keeps partials of long segments under 1/8 of the CPU)
    min_confidence: float = DEFAULT_MIN_CONFIDENCE  # gate of final (and partial) captions
    vad: VadConfig = field(default_factory=VadConfig)

    def frames(self, sec: float, frames_per_sec: float = FRAMES_PER_SEC) -> int:
        return round(sec * frames_per_sec)


@dataclass
class CaptionEvent:
    """``type``: ``partial`` (the current text of caption ``id``, replaced by later events of the
    same id) or ``final`` (its last event; an empty ``text`` withdraws a caption whose partials
    were shown but that the confidence gate rejects). Times in seconds from the stream start."""
    type: str
    track: str
    id: str
    start: float
    end: float
    text: str
    confidence: float

    def to_dict(self) -> dict:
        return {"type": self.type, "track": self.track, "id": self.id,
                "start": round(self.start, 3), "end": round(self.end, 3), "text": self.text,
                "confidence": round(self.confidence, 4)}


class LiveDecoder:
    """One live stream. ``push(pcm)`` -> events; ``finish()`` -> the last events.

    Args:
        engine: the models (may be shared by several decoders; calls are made synchronously).
        config: windows, partial rate, confidence gate, VAD.
        sample_rate: of the pushed PCM (resampled to 16 kHz); pushed arrays are (n,) or (n, C)
            float in [-1, 1].
    """

    def __init__(self, engine: DecodeEngine, config: LiveConfig | None = None,
                 sample_rate: int = SAMPLE_RATE):
        self.engine, self.config = engine, config or LiveConfig()
        c = self.config
        self.resample = MonoResampler(sample_rate)
        self.frontend: StftFrontend = getattr(engine, "frontend", DEFAULT_STFT)  # the model's STFT
        fps = self.frontend.frames_per_sec
        self.stft = StreamingStft.from_frontend(self.frontend)
        self.windows = ContextWindows(c.frames(c.hop_sec, fps), c.frames(c.context_sec, fps),
                                      c.frames(c.lookahead_sec, fps))
        self.segmenters = {t: TrackSegmenter(t, c.vad, self.frontend) for t in TRACKS}
        self._partial_frames = max(1, c.frames(c.partial_sec, fps))
        self._partial_wait = {t: self._partial_frames for t in TRACKS}  # frames, adaptive
        self._last_partial: dict[str, tuple[str, int, str]] = {}  # track -> (id, frame, text)
        self._shown: set[str] = set()   # ids with a partial on screen and no final yet
        self.samples = 0
        self.finished = False

    # -- input --------------------------------------------------------------------------
    def push(self, pcm: np.ndarray) -> list[CaptionEvent]:
        """pcm (n,) or (n, C) float -> caption events now due. Raises AudioError on NaN/Inf."""
        if self.finished:
            raise RuntimeError("push() after finish()")
        pcm = np.asarray(pcm, dtype=np.float32)
        if not np.all(np.isfinite(pcm)):
            raise AudioError(f"live stream: NaN/Inf sample after {self.samples / SAMPLE_RATE:.3f} s")
        return self._audio(self.resample(pcm), final=False)

    def finish(self) -> list[CaptionEvent]:
        """End of stream: finalise every open segment."""
        if self.finished:
            return []
        events = self._audio(self.resample(np.zeros((0, 1), np.float32), last=True), final=True)
        self.finished = True
        return events

    @property
    def seconds(self) -> float:
        """Audio received so far (16 kHz samples / 16000)."""
        return self.samples / SAMPLE_RATE

    # -- processing ---------------------------------------------------------------------
    def _audio(self, samples: np.ndarray, final: bool) -> list[CaptionEvent]:
        self.samples += len(samples)
        frames = self.stft.push(torch.from_numpy(samples)) if len(samples) else None
        jobs = self.windows.push(frames) if frames is not None else []
        if final:
            jobs += self.windows.push(self.stft.finish()) + self.windows.finish()
        finals: list[AsrPiece] = []
        if jobs:
            outs = self.engine.separate([j.mag for j in jobs])
            for job, out in zip(jobs, outs):
                chunk = self.windows.accept(job, out)
                mix_mag = chunk.mix.abs()
                for t in TRACKS:
                    finals += self.segmenters[t].push(chunk.start, chunk.heads[t], mix_mag)
        if final:
            for t in TRACKS:
                finals += self.segmenters[t].finish()
        partials = [] if final else self._due_partials()
        return self._recognize(finals, partials)

    def _due_partials(self) -> list[AsrPiece]:
        due = []
        for t in TRACKS:
            piece = self.segmenters[t].open_piece()
            if piece is None:
                continue
            cid, frame, _ = self._last_partial.get(t, ("", -1, ""))
            if cid != self._id(piece) or piece.own_end - frame >= self._partial_wait[t]:
                due.append(piece)
        return due

    def _id(self, piece: AsrPiece) -> str:
        return f"{piece.track}-{piece.own_start}"

    def _recognize(self, finals: list[AsrPiece], partials: list[AsrPiece]) -> list[CaptionEvent]:
        jobs = [("final", p) for p in finals] + [("partial", p) for p in partials]
        events: list[CaptionEvent] = []
        for t in TRACKS:
            group = [(kind, p) for kind, p in jobs if p.track == t]
            if not group:
                continue
            hyps = []
            for kind in ("final", "partial"):  # separate calls: the partials' cost is timed
                pieces = [p for k, p in group if k == kind]
                if not pieces:
                    continue
                t0 = time.perf_counter()
                hyps += self.engine.recognize([p.mag for p in pieces], track=f"{t}.{kind}")
                if kind == "partial":
                    cost = (time.perf_counter() - t0) * self.config.partial_cost
                    self._partial_wait[t] = max(self._partial_frames,
                                                 self.config.frames(cost, self.frontend.frames_per_sec))
            for (kind, piece), hyp in zip(group, hyps):
                ev = self._event(kind, piece, hyp)
                if ev is not None:
                    events.append(ev)
        return events

    def _event(self, kind: str, piece: AsrPiece, hyp) -> CaptionEvent | None:
        cid = self._id(piece)
        toks = owned_tokens(PieceTokens(piece.start, piece.own_start, piece.own_end,
                                        hyp.tokens, hyp.times, hyp.confidences))
        conf = float(np.mean([t.confidence for t in toks])) if toks else 0.0
        text = self.engine.text([t.token for t in toks]).strip() if toks else ""
        if conf < self.config.min_confidence:
            text = ""
        fs = self.frontend.frame_sec
        start = round(piece.own_start * fs, 3)
        end = round(min(piece.own_end * fs, self.seconds), 3)
        if kind == "partial":
            last = self._last_partial.get(piece.track)
            self._last_partial[piece.track] = (cid, piece.own_end, text)
            if not text or (last is not None and last[0] == cid and last[2] == text):
                return None  # nothing (new) to show
            self._shown.add(cid)
            return CaptionEvent("partial", piece.track, cid, start, end, text, conf)
        self._last_partial.pop(piece.track, None)
        if not text and cid not in self._shown:
            return None
        self._shown.discard(cid)
        return CaptionEvent("final", piece.track, cid, start, end, text, conf)
