"""Streaming STFT / inverse STFT that match ``torch.stft``/``torch.istft`` with ``center=True``.

Frames of the whole stream are computed exactly as a single centred STFT of the whole signal would
(reflect padding at both ends), so windowed processing sees the same frames as offline processing.
"""
from __future__ import annotations

import torch

from jrsv.constants import HOP_LENGTH as HOP
from jrsv.constants import N_FFT, StftFrontend


def stft_window(n_fft: int, win_length: int | None = None) -> torch.Tensor:
    """(n_fft,) Hann window of ``win_length`` samples zero-padded in the middle of ``n_fft``
    (what ``torch.stft`` uses)."""
    win_length = n_fft if win_length is None else win_length
    if not 0 < win_length <= n_fft:
        raise ValueError(f"need 0 < win_length ({win_length}) <= n_fft ({n_fft})")
    left = (n_fft - win_length) // 2
    return torch.nn.functional.pad(torch.hann_window(win_length), (left, n_fft - win_length - left))


class StreamingStft:
    """push(samples (n,)) -> complex frames (k, F); finish() -> the remaining frames.

    After finish() the total frame count is ``N // hop + 1`` for N samples, like ``torch.stft``.
    ``win_length`` defaults to ``n_fft``; :meth:`from_frontend` takes all three from a model's
    ``frontend``.
    """

    def __init__(self, n_fft: int = N_FFT, hop: int = HOP, win_length: int | None = None):
        self.n_fft, self.hop, self.half = n_fft, hop, n_fft // 2
        self.window = stft_window(n_fft, win_length)
        self._buf = torch.zeros(0)        # padded-signal samples not yet fully consumed
        self._head = torch.zeros(0)       # original samples kept until the start pad is built
        self._tail = torch.zeros(0)       # last ``half + 1`` original samples (end reflect pad)
        self._started = False
        self.num_samples = 0

    @classmethod
    def from_frontend(cls, frontend: StftFrontend) -> "StreamingStft":
        return cls(frontend.n_fft, frontend.hop_length, frontend.win_length)

    def _frames(self, final: bool) -> torch.Tensor:
        n = self._buf.numel()
        if n < self.n_fft:
            return torch.zeros(0, self.n_fft // 2 + 1, dtype=torch.complex64)
        k = (n - self.n_fft) // self.hop + 1
        frames = self._buf[: (k - 1) * self.hop + self.n_fft].unfold(0, self.n_fft, self.hop)
        self._buf = self._buf[k * self.hop:]
        return torch.fft.rfft(frames * self.window, dim=-1)

    def push(self, samples: torch.Tensor) -> torch.Tensor:
        """samples (n,) float32 -> complex frames (k, n_fft//2+1) that are now complete."""
        samples = samples.float().reshape(-1)
        self.num_samples += samples.numel()
        self._tail = torch.cat([self._tail, samples])[-(self.half + 1):]
        if not self._started:
            self._head = torch.cat([self._head, samples])
            if self._head.numel() <= self.half:
                return torch.zeros(0, self.n_fft // 2 + 1, dtype=torch.complex64)
            pad = self._head[1:self.half + 1].flip(0)
            self._buf, self._head, self._started = torch.cat([pad, self._head]), torch.zeros(0), True
        else:
            self._buf = torch.cat([self._buf, samples])
        return self._frames(final=False)

    def finish(self) -> torch.Tensor:
        """End of stream: pad the end (reflect; zeros for streams shorter than n_fft/2+1)."""
        if not self._started:
            if self._head.numel() == 0:
                return torch.zeros(0, self.n_fft // 2 + 1, dtype=torch.complex64)
            self._buf = torch.cat([torch.zeros(self.half), self._head])
            self._started = True
            end_pad = torch.zeros(self.half)
        elif self._tail.numel() > self.half:
            end_pad = self._tail[-self.half - 1:-1].flip(0)
        else:
            end_pad = torch.zeros(self.half)
        self._buf = torch.cat([self._buf, end_pad])
        return self._frames(final=True)


class StreamingIstft:
    """Overlap-add inverse of :class:`StreamingStft`: push(complex frames (k, F)) -> samples.

    Samples are returned as soon as no later frame overlaps them; finish() returns the rest,
    trimmed to the original length like ``torch.istft(center=True, length=N)``.
    """

    def __init__(self, n_fft: int = N_FFT, hop: int = HOP, win_length: int | None = None):
        self.n_fft, self.hop, self.half = n_fft, hop, n_fft // 2
        self.window = stft_window(n_fft, win_length)
        self._acc = torch.zeros(0)        # overlap-add accumulator from padded position _pos
        self._env = torch.zeros(0)        # window^2 envelope, same positions
        self._pos = 0                     # padded-signal position of _acc[0]
        self._frames_in = 0
        self._emitted = 0                 # original-signal samples emitted

    @classmethod
    def from_frontend(cls, frontend: StftFrontend) -> "StreamingIstft":
        return cls(frontend.n_fft, frontend.hop_length, frontend.win_length)

    def push(self, spec: torch.Tensor) -> torch.Tensor:
        """spec (k, F) complex -> (m,) float32 final samples."""
        k = spec.size(0)
        if k == 0:
            return torch.zeros(0)
        frames = torch.fft.irfft(spec.to(torch.complex64), n=self.n_fft, dim=-1) * self.window
        start = self._frames_in * self.hop - self._pos
        end = start + (k - 1) * self.hop + self.n_fft
        if end > self._acc.numel():
            grow = end - self._acc.numel()
            self._acc = torch.cat([self._acc, torch.zeros(grow)])
            self._env = torch.cat([self._env, torch.zeros(grow)])
        idx = start + (torch.arange(k).unsqueeze(1) * self.hop + torch.arange(self.n_fft)).reshape(-1)
        self._acc.index_add_(0, idx, frames.reshape(-1))
        self._env.index_add_(0, idx, self.window.pow(2).repeat(k))
        self._frames_in += k
        final_until = self._frames_in * self.hop  # padded position no later frame reaches
        return self._emit(final_until - self._pos)

    def _emit(self, n: int) -> torch.Tensor:
        n = max(0, min(n, self._acc.numel()))
        out = self._acc[:n] / self._env[:n].clamp(min=1e-11)
        self._acc, self._env = self._acc[n:], self._env[n:]
        start_pos, self._pos = self._pos, self._pos + n
        skip = max(0, self.half - start_pos)  # drop the start pad
        out = out[skip:]
        self._emitted += out.numel()
        return out

    def finish(self, num_samples: int) -> torch.Tensor:
        """Flush; the total output is exactly ``num_samples`` long."""
        out = self._emit(self._acc.numel())
        over = self._emitted - num_samples
        if over > 0:
            out = out[: max(0, out.numel() - over)]
            self._emitted = num_samples
        elif over < 0:
            out = torch.cat([out, torch.zeros(-over)])
            self._emitted = num_samples
        return out
