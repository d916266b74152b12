"""Energy VAD on a separated track and cutting of active regions into ASR pieces.

A frame is active when the separated track is loud in absolute terms (``abs_db`` dBFS) *and*
relative to the mixture (``rel_db``): a separator that removed the music leaves a near-silent
speech/singing track for music-only input, which the relative gate rejects. Active regions are
padded, merged across short gaps and cut into pieces of at most ``max_frames`` that overlap by
at least ``overlap_frames``; each piece "owns" the frames up to the middle of its overlaps.

Consecutive pieces of one segment start a multiple of the encoder's subsampling factor
(:data:`jrsv.constants.SUBSAMPLING`, 4) apart, so both pieces place a word in the overlap
on the same 4-frame grid and exactly one of them owns it (the overlap grows by up to 3 frames to
get there).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import torch

from jrsv.constants import DEFAULT_STFT, SUBSAMPLING, StftFrontend
from jrsv.decode.stft_stream import stft_window


@dataclass
class VadConfig:
    abs_db: float = -55.0          # frame level floor, dBFS (full-scale sine = -3 dBFS)
    rel_db: float = -20.0          # track level relative to the mixture
    pad_frames: int = 16           # 0.256 s context on both sides
    min_silence_frames: int = 30   # gaps shorter than 0.48 s do not end a segment
    min_active_frames: int = 8     # shorter bursts are dropped
    max_frames: int = 1250         # 20 s
    overlap_frames: int = 125      # 2 s between consecutive pieces of one long segment (at least;
                                   # rounded up so pieces start a multiple of 4 frames apart)

    def piece_step(self) -> int:
        """Frames between the starts of consecutive pieces of one segment: ``max_frames -
        overlap_frames`` rounded down to a multiple of :data:`SUBSAMPLING`."""
        step = (self.max_frames - self.overlap_frames) // SUBSAMPLING * SUBSAMPLING
        if self.overlap_frames < 0 or step < SUBSAMPLING:
            raise ValueError(f"VAD pieces: need 0 <= overlap_frames ({self.overlap_frames}) and "
                             f"max_frames - overlap_frames >= {SUBSAMPLING} "
                             f"(max_frames {self.max_frames})")
        return step


@dataclass
class AsrPiece:
    """Track magnitude ``mag`` (n, F) of frames ``[start, start + n)``; tokens whose time lies in
    ``[own_start, own_end)`` belong to this piece. ``segment`` numbers the VAD segment."""
    track: str
    start: int
    mag: torch.Tensor
    own_start: int
    own_end: int
    segment: int


def frame_db(mag: torch.Tensor, frontend: StftFrontend = DEFAULT_STFT) -> torch.Tensor:
    """mag (T, F) one-sided STFT magnitude of ``frontend`` (even n_fft) -> (T,) frame RMS
    level in dBFS."""
    p = mag.float().pow(2)
    energy = (2 * p.sum(-1) - p[:, 0] - p[:, -1]) / frontend.n_fft  # Parseval: sum (w x)^2
    return 10 * torch.log10(energy / _window_power(frontend.n_fft, frontend.win_length) + 1e-12)


@lru_cache(maxsize=8)
def _window_power(n_fft: int, win_length: int) -> float:
    return float(stft_window(n_fft, win_length).pow(2).sum())


def active_frames(track_mag: torch.Tensor, mix: torch.Tensor, cfg: VadConfig,
                  frontend: StftFrontend = DEFAULT_STFT) -> torch.Tensor:
    """track (T, F), mixture (T, F) magnitudes or (T,) :func:`frame_db` levels (computed once
    for both tracks) -> (T,) bool frame decisions (absolute and mixture-relative gate)."""
    t_db = frame_db(track_mag, frontend)
    m_db = mix if mix.dim() == 1 else frame_db(mix, frontend)
    return (t_db > cfg.abs_db) & (t_db - m_db > cfg.rel_db)


class TrackSegmenter:
    """Streaming: push(start, track_mag (m, F), mix (m, F) magnitudes or (m,) frame dB levels)
    -> finished :class:`AsrPiece`. ``frontend``: the STFT the magnitudes come from (dBFS levels)."""

    def __init__(self, track: str, cfg: VadConfig | None = None,
                 frontend: StftFrontend = DEFAULT_STFT):
        self.track, self.cfg, self.frontend = track, cfg or VadConfig(), frontend
        self._step = self.cfg.piece_step()
        self._buf: torch.Tensor | None = None   # magnitudes from frame _buf_start
        self._buf_start = 0
        self._t = 0                 # next frame index
        self._seg_start = -1        # -1: idle
        self._piece_start = 0
        self._own_start = 0
        self._last_active = -1
        self._n_active = 0
        self._segment = 0
        self._prev_end = 0          # end of the last closed segment (segments never overlap)

    def push(self, start: int, track_mag: torch.Tensor, mix: torch.Tensor) -> list[AsrPiece]:
        if start != self._t:
            raise ValueError(f"frames must be contiguous: got {start}, expected {self._t}")
        self._buf = track_mag if self._buf is None else torch.cat([self._buf, track_mag])
        pieces: list[AsrPiece] = []
        c = self.cfg
        for flag in active_frames(track_mag, mix, c, self.frontend).tolist():
            t = self._t
            if self._seg_start < 0:
                if flag:
                    self._seg_start = max(self._buf_start, self._prev_end, t - c.pad_frames)
                    self._piece_start = self._own_start = self._seg_start
                    self._last_active, self._n_active = t, 1
            else:
                if flag:
                    self._last_active = t
                    self._n_active += 1
                elif t - self._last_active > c.min_silence_frames:
                    pieces += self._close(min(self._last_active + c.pad_frames + 1, t + 1))
                if self._seg_start >= 0 and t + 1 - self._piece_start >= c.max_frames:
                    pieces.append(self._cut_piece())
            self._t += 1
        self._trim()
        return pieces

    def _cut_piece(self) -> AsrPiece:
        """Full-length piece of a long segment; the next one starts :meth:`VadConfig.piece_step`
        frames later (on the same subsampling grid), ownership changes mid-overlap."""
        end = self._piece_start + self.cfg.max_frames
        nxt = self._piece_start + self._step
        own_end = nxt + (end - nxt) // 2
        piece = self._piece(self._piece_start, end, self._own_start, own_end)
        self._piece_start, self._own_start = nxt, own_end
        return piece

    def _piece(self, start: int, end: int, own_start: int, own_end: int) -> AsrPiece:
        mag = self._buf[start - self._buf_start:end - self._buf_start]
        return AsrPiece(self.track, start, mag, own_start, own_end, self._segment)

    def _close(self, end: int) -> list[AsrPiece]:
        out = []
        if self._n_active >= self.cfg.min_active_frames and end > self._piece_start:
            out.append(self._piece(self._piece_start, end, self._own_start, end))
        self._segment += 1
        self._seg_start = -1
        self._prev_end = end
        return out

    def _trim(self) -> None:
        keep = self._piece_start if self._seg_start >= 0 else max(0, self._t - self.cfg.pad_frames)
        keep = max(keep, self._buf_start)
        self._buf = self._buf[keep - self._buf_start:]
        self._buf_start = keep

    def open_piece(self) -> AsrPiece | None:
        """The piece of the open segment so far (frames up to now, owning them all), for partial
        results of live decoding; None when no segment is open or it has fewer than
        ``min_active_frames`` active frames."""
        if self._seg_start < 0 or self._n_active < self.cfg.min_active_frames \
                or self._t <= self._piece_start:
            return None
        return self._piece(self._piece_start, self._t, self._own_start, self._t)

    def finish(self) -> list[AsrPiece]:
        """End of stream: close an open segment."""
        if self._seg_start < 0:
            return []
        return self._close(min(self._last_active + self.cfg.pad_frames + 1, self._t))
