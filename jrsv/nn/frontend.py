"""Audio front-ends in torch (batched, GPU-capable): STFT magnitude/iSTFT and Kaldi-style fbank."""
from __future__ import annotations

import math

import torch
from torch import nn

from jrsv.constants import HOP_LENGTH, N_FFT, NUM_MEL_BINS, SAMPLE_RATE, WIN_LENGTH


class Stft(nn.Module):
    """STFT magnitude and phase, and the inverse with a given phase.

    Defaults follow the paper: 16 kHz, Hann window 1024, hop 256 -> 513 bins.
    """

    def __init__(self, n_fft: int = N_FFT, hop_length: int = HOP_LENGTH,
                 win_length: int = WIN_LENGTH):
        super().__init__()
        self.n_fft, self.hop_length, self.win_length = n_fft, hop_length, win_length
        self.register_buffer("window", torch.hann_window(win_length), persistent=False)

    @property
    def num_bins(self) -> int:
        return self.n_fft // 2 + 1

    def num_frames(self, num_samples: torch.Tensor | int):
        """Frames produced for ``num_samples`` (centred STFT)."""
        return num_samples // self.hop_length + 1

    def complex(self, wav: torch.Tensor) -> torch.Tensor:
        """wav (B, N) -> complex spectrum (B, T, F)."""
        spec = torch.stft(wav.float(), self.n_fft, self.hop_length, self.win_length,
                          self.window.to(wav.device), center=True, return_complex=True)
        return spec.transpose(1, 2)

    def magnitude_phase(self, wav: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """wav (B, N) -> (magnitude (B, T, F), phase (B, T, F))."""
        spec = self.complex(wav)
        return spec.abs(), spec.angle()

    def forward(self, wav: torch.Tensor) -> torch.Tensor:
        """wav (B, N) -> magnitude (B, T, F)."""
        return self.complex(wav).abs()

    def inverse(self, mag: torch.Tensor, phase: torch.Tensor, length: int | None = None
                ) -> torch.Tensor:
        """(mag, phase) each (B, T, F) -> wav (B, N) by overlap-add."""
        spec = torch.polar(mag.float(), phase.float()).transpose(1, 2)
        return torch.istft(spec, self.n_fft, self.hop_length, self.win_length,
                           self.window.to(mag.device), center=True, length=length)


def mel_scale(freq: torch.Tensor) -> torch.Tensor:
    """Kaldi mel scale: 1127 ln(1 + f / 700)."""
    return 1127.0 * torch.log1p(freq / 700.0)


def kaldi_mel_banks(num_bins: int, n_fft: int, sample_rate: float, low_freq: float = 20.0,
                    high_freq: float = 0.0) -> torch.Tensor:
    """Triangular mel filters as in Kaldi's ``MelBanks``: (num_bins, n_fft // 2 + 1)."""
    nyquist = sample_rate / 2
    if high_freq <= 0:
        high_freq += nyquist
    mel_low, mel_high = mel_scale(torch.tensor(low_freq)), mel_scale(torch.tensor(high_freq))
    delta = (mel_high - mel_low) / (num_bins + 1)
    idx = torch.arange(num_bins).unsqueeze(1)
    left, center, right = mel_low + idx * delta, mel_low + (idx + 1) * delta, mel_low + (idx + 2) * delta
    fft_mel = mel_scale(torch.arange(n_fft // 2 + 1) * sample_rate / n_fft).unsqueeze(0)
    up = (fft_mel - left) / (center - left)
    down = (right - fft_mel) / (right - center)
    return torch.clamp(torch.minimum(up, down), min=0.0)


class Fbank(nn.Module):
    """Kaldi-compatible log-mel filterbank (the features WeNet's recipes use).

    25 ms Povey window, 10 ms shift, DC removal, pre-emphasis 0.97, 512-point FFT,
    power spectrum, ``num_mel_bins`` Kaldi mel filters, natural log with an epsilon floor,
    ``snip_edges=True``. Input is expected in [-1, 1] and scaled by 2**15 like WeNet does.

    forward: wav (B, N), lengths (B,) samples -> (feats (B, T, M), frames (B,)).
    """

    def __init__(self, num_mel_bins: int = NUM_MEL_BINS, sample_rate: int = SAMPLE_RATE,
                 frame_length_ms: float = 25.0, frame_shift_ms: float = 10.0,
                 dither: float = 0.0, preemphasis: float = 0.97, scale: float = 32768.0):
        super().__init__()
        self.frame_length = int(sample_rate * frame_length_ms / 1000)
        self.frame_shift = int(sample_rate * frame_shift_ms / 1000)
        self.n_fft = 1 << math.ceil(math.log2(self.frame_length))
        self.dither, self.preemphasis, self.scale = dither, preemphasis, scale
        self.num_mel_bins = num_mel_bins
        povey = torch.hann_window(self.frame_length, periodic=False).pow(0.85)
        self.register_buffer("window", povey, persistent=False)
        self.register_buffer("mel", kaldi_mel_banks(num_mel_bins, self.n_fft, sample_rate).T,
                             persistent=False)

    def num_frames(self, num_samples: torch.Tensor) -> torch.Tensor:
        n = (num_samples - self.frame_length) // self.frame_shift + 1
        return n.clamp(min=0) if isinstance(n, torch.Tensor) else max(n, 0)

    def forward(self, wav: torch.Tensor, lengths: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor]:
        wav = wav.float() * self.scale
        if lengths is None:
            lengths = torch.full((wav.size(0),), wav.size(1), device=wav.device)
        if wav.size(1) < self.frame_length:
            wav = nn.functional.pad(wav, (0, self.frame_length - wav.size(1)))
        frames = wav.unfold(1, self.frame_length, self.frame_shift)  # (B, T, L)
        if self.training and self.dither > 0:
            frames = frames + self.dither * torch.randn_like(frames)
        frames = frames - frames.mean(-1, keepdim=True)
        prev = torch.cat([frames[..., :1], frames[..., :-1]], dim=-1)
        frames = (frames - self.preemphasis * prev) * self.window
        spec = torch.fft.rfft(frames, n=self.n_fft).abs().pow(2)
        feats = torch.log(torch.clamp(spec @ self.mel, min=torch.finfo(torch.float32).eps))
        return feats, self.num_frames(lengths.to(wav.device)).clamp(max=feats.size(1))


class LogMagnitude(nn.Module):
    """log(|X| + eps): compresses STFT magnitudes before the ASR (JRSV's 513-dim input)."""

    def __init__(self, eps: float = 1e-5):
        super().__init__()
        self.eps = eps

    def forward(self, mag: torch.Tensor) -> torch.Tensor:
        return torch.log(mag.clamp(min=0) + self.eps)
