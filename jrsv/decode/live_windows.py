"""Low-latency separation windows for live decoding: each window is ``context`` past frames, the
frames it finalises (at least ``hop``: all that have ``lookahead`` frames after them), and
``lookahead`` future frames; only the finalised frames of the separator output are kept (no
cross-fade), so a frame is final ``lookahead`` to ``hop + lookahead`` frames after it arrives, and
the separator always sees ``context`` frames before and ``lookahead`` after it. A decoder that
fell behind finalises everything that has arrived in longer windows (up to ``max_keep`` kept
frames each, which bounds their memory), which cost less per frame, so it catches up.

Compared with :class:`jrsv.decode.windowing.WindowedSeparation` (10 s windows, 2 s cross-fade:
frames final up to 10 s late) this costs up to ``(context + hop + lookahead) / hop`` separator
frames per frame instead of 1.25.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from jrsv.decode.windowing import StitchedChunk


@dataclass
class ContextJob:
    """Separator input ``mag`` (n, F) of frames ``[start, start + n)``; its output frames
    ``[keep_from, keep_from + keep)`` (window-relative) become final, with mixture spectrum
    ``mix`` (keep, F) complex."""
    start: int
    mag: torch.Tensor
    keep_from: int
    keep: int
    mix: torch.Tensor


class ContextWindows:
    """push(frames (k, F) complex) / finish() -> :class:`ContextJob`; accept(job, outputs
    {head: (n, F)}) -> the :class:`StitchedChunk` of its kept frames. Jobs must be accepted in
    order. Memory: at most ``context + max_keep + lookahead`` + one push of frames."""

    def __init__(self, hop: int, context: int, lookahead: int, max_keep: int | None = None):
        if hop < 1 or context < 0 or lookahead < 0:
            raise ValueError(f"need hop >= 1, context >= 0, lookahead >= 0 frames "
                             f"(got {hop}, {context}, {lookahead})")
        self.hop, self.context, self.lookahead = hop, context, lookahead
        self.max_keep = max(hop, max_keep or 8 * hop)  # longest catch-up window's kept part
        self._mix: torch.Tensor | None = None  # complex frames from _mix_start
        self._mix_start = 0
        self._total = 0
        self._next = 0                         # first frame not yet in a job's kept region
        self._accepted = 0                     # first frame not yet returned by accept()

    def push(self, frames: torch.Tensor) -> list[ContextJob]:
        if frames.size(0):
            self._mix = frames if self._mix is None else torch.cat([self._mix, frames])
            self._total += frames.size(0)
        return self._cut(final=False)

    def finish(self) -> list[ContextJob]:
        return self._cut(final=True)

    def _cut(self, final: bool) -> list[ContextJob]:
        jobs = []
        while self._next < self._total:
            if final:
                keep_end = min(self._next + self.hop, self._total)
            elif self._next + self.hop + self.lookahead <= self._total:
                # all that is ready, in windows of at most max_keep kept frames
                keep_end = min(self._total - self.lookahead, self._next + self.max_keep)
            else:
                break
            start = max(0, self._next - self.context)
            end = min(self._total, keep_end + self.lookahead)
            win = self._mix[start - self._mix_start:end - self._mix_start]
            jobs.append(ContextJob(start, win.abs(), self._next - start, keep_end - self._next,
                                   win[self._next - start:keep_end - start]))
            self._next = keep_end
        keep_from = max(0, self._next - self.context)  # the next window's context
        if self._mix is not None and keep_from > self._mix_start:
            self._mix = self._mix[keep_from - self._mix_start:]
            self._mix_start = keep_from
        return jobs

    def accept(self, job: ContextJob, outputs: dict[str, torch.Tensor]) -> StitchedChunk:
        """outputs[head] (n, F) separated magnitudes of ``job``'s window -> its final frames."""
        first = job.start + job.keep_from
        if first != self._accepted:
            raise ValueError(f"windows must be accepted in order: got frame {first}, "
                             f"expected {self._accepted}")
        self._accepted = first + job.keep
        heads = {name: out[job.keep_from:job.keep_from + job.keep].detach().float().cpu()
                 for name, out in outputs.items()}
        return StitchedChunk(first, job.mix, heads)
