"""Overlapping separation windows over a frame stream, stitched by a linear cross-fade.

Window k covers STFT frames ``[k*S, k*S + W)`` with step ``S = W - O``; in the ``O`` overlapping
frames the outputs of windows k and k+1 are cross-faded with weights that sum to one, so an
identity separator reconstructs its input exactly and there is no seam.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch


@dataclass
class WindowJob:
    """One separator input: mixture magnitude ``mag`` (n, F) of frames ``[start, start + n)``."""
    index: int
    start: int
    mag: torch.Tensor


@dataclass
class StitchedChunk:
    """Final separated frames ``[start, start + m)``: mixture spectrum (m, F) complex and
    ``heads[name]`` (m, F) separated magnitudes."""
    start: int
    mix: torch.Tensor
    heads: dict[str, torch.Tensor] = field(default_factory=dict)

    @property
    def num_frames(self) -> int:
        return int(self.mix.size(0))


def crossfade_weights(overlap: int) -> torch.Tensor:
    """(overlap,) weights of the *next* window, rising from ~0 to ~1; the previous gets 1 - w."""
    return (torch.arange(overlap, dtype=torch.float32) + 0.5) / max(overlap, 1)


def crossfade(prev: torch.Tensor, cur: torch.Tensor, overlap: int) -> torch.Tensor:
    """prev, cur (n, F) with n <= overlap, aligned at the start of the overlap -> (n, F)."""
    n = min(prev.size(0), cur.size(0))
    w = crossfade_weights(overlap)[:n].to(cur.device, cur.dtype).unsqueeze(1)
    return prev[:n] * (1 - w) + cur[:n] * w


class WindowedSeparation:
    """Cut a complex-frame stream into overlapping windows and stitch the separated outputs.

    push(frames) / finish() -> new :class:`WindowJob`; accept(job, outputs) (in job order)
    -> final :class:`StitchedChunk`; flush() after finish() and the last accept -> the tail.
    """

    def __init__(self, window_frames: int, overlap_frames: int):
        if not 0 <= overlap_frames < window_frames:
            raise ValueError(f"need 0 <= overlap ({overlap_frames}) < window ({window_frames}) frames")
        self.W, self.O, self.S = window_frames, overlap_frames, window_frames - overlap_frames
        self._mix: torch.Tensor | None = None  # complex frames from _mix_start
        self._mix_start = 0
        self._total = 0                        # frames pushed
        self._next_job = 0
        self._next_accept = 0
        self._emitted = 0                      # frames already returned in chunks
        self._pending: dict[str, torch.Tensor] = {}  # previous window's overlap tail
        self._finished = False

    def push(self, frames: torch.Tensor) -> list[WindowJob]:
        """frames (k, F) complex mixture spectrum -> newly complete windows."""
        if frames.size(0):
            self._mix = frames if self._mix is None else torch.cat([self._mix, frames])
            self._total += frames.size(0)
        return self._cut(final=False)

    def finish(self) -> list[WindowJob]:
        self._finished = True
        return self._cut(final=True)

    def _cut(self, final: bool) -> list[WindowJob]:
        jobs = []
        while True:
            start = self._next_job * self.S
            end = start + self.W
            if end <= self._total:
                pass
            elif final and self._total > (start + self.O if self._next_job else 0):
                end = self._total
            else:
                break
            mag = self._mix[start - self._mix_start:end - self._mix_start].abs()
            jobs.append(WindowJob(self._next_job, start, mag))
            self._next_job += 1
            if end == self._total and final:
                break
        return jobs

    @property
    def done(self) -> bool:
        """All jobs cut and accepted (after finish())."""
        return self._finished and self._next_accept == self._next_job

    def accept(self, job: WindowJob, outputs: dict[str, torch.Tensor]) -> StitchedChunk:
        """outputs[name] (n, F) for ``job`` -> the frames that no later window changes."""
        if job.index != self._next_accept:
            raise ValueError(f"windows must be accepted in order: got {job.index}, "
                             f"expected {self._next_accept}")
        self._next_accept += 1
        n = job.mag.size(0)
        heads = {}
        for name, out in outputs.items():
            out = out.detach().float().cpu()
            if name in self._pending:
                k = self._pending[name].size(0)
                out = torch.cat([crossfade(self._pending[name], out[:k], self.O), out[k:]])
            heads[name] = out
        stop = self.S if n == self.W else n  # keep the overlap tail for the next window
        last = self._finished and job.index == self._next_job - 1 and n < self.W
        if last:
            stop = n
        self._pending = {name: out[stop:] for name, out in heads.items()} if stop < n else {}
        chunk = StitchedChunk(job.start, self._take_mix(job.start, job.start + stop),
                              {name: out[:stop] for name, out in heads.items()})
        return chunk

    def _take_mix(self, start: int, end: int) -> torch.Tensor:
        assert start == self._emitted, (start, self._emitted)
        mix = self._mix[start - self._mix_start:end - self._mix_start]
        self._emitted = end
        keep_from = min(end, self._next_job * self.S)  # the next window still needs its frames
        self._mix = self._mix[keep_from - self._mix_start:]
        self._mix_start = keep_from
        return mix

    def flush(self) -> StitchedChunk | None:
        """After finish() and all accepts: the last window's overlap tail (weight 1)."""
        if not self.done:
            raise RuntimeError("flush() before all windows were accepted")
        if not self._pending or self._emitted >= self._total:
            self._pending = {}
            return None
        end = min(self._total, self._emitted + next(iter(self._pending.values())).size(0))
        m = end - self._emitted
        heads = {name: p[:m] for name, p in self._pending.items()}
        self._pending = {}
        return StitchedChunk(self._emitted, self._take_mix(self._emitted, end), heads)
