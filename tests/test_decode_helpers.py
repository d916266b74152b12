"""Shared helpers for the decode tests: small real torch models and generated audio."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf
import torch
from torch import nn

from jrsv.decode.engine import DecodeEngine
from jrsv.nn.encoder import ConformerEncoder

UNITS = ["<blank>", "<unk>"] + list("abcdefghij") + ["<sos/eos>"]


class ScaleSeparator(nn.Module):
    """"Separator" returning fixed fractions of the mixture magnitude (1.0 = identity)."""

    def __init__(self, speech: float = 1.0, singing: float = 1.0):
        super().__init__()
        self.register_buffer("gains", torch.tensor([speech, singing]))

    def forward(self, mag: torch.Tensor, lengths: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"speech": mag * self.gains[0], "singing": mag * self.gains[1]}


class Ctc(nn.Module):
    def __init__(self, d: int, vocab: int):
        super().__init__()
        self.ctc_lo = nn.Linear(d, vocab)


class TinyASR(nn.Module):
    """U2ASR-contract encoder + CTC: conv2d x4 subsampling, one Conformer block."""

    def __init__(self, vocab: int = len(UNITS), d: int = 32):
        super().__init__()
        self.encoder = ConformerEncoder(513, d, 2, 64, 1, 0.0, 0.0, input_layer="conv2d",
                                        cnn_module_kernel=3)
        self.ctc = Ctc(d, vocab)

    def encode(self, feats: torch.Tensor, lens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        enc, masks = self.encoder(feats, lens)
        return enc, masks.squeeze(1).sum(-1)


class LoudTokenASR(nn.Module):
    """Scripted CTC: emits token ``token`` (confidence ~``conf``) on encoder frames whose input
    log-energy exceeds ``threshold``, blank elsewhere. Encoder frame t = input frames 4t..4t+3."""

    def __init__(self, token: int = 2, threshold: float = -2.0, conf_logit: float = 20.0):
        super().__init__()
        self.token, self.threshold, self.conf_logit = token, threshold, conf_logit
        self.ctc = Ctc(1, len(UNITS))
        with torch.no_grad():
            self.ctc.ctc_lo.weight.zero_()
            self.ctc.ctc_lo.bias.zero_()
            self.ctc.ctc_lo.weight[token, 0] = conf_logit
            self.ctc.ctc_lo.weight[0, 0] = -conf_logit
            self.ctc.ctc_lo.bias[0] = 0.0

    def encode(self, feats: torch.Tensor, lens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        t = feats.size(1) // 4
        level = feats[:, :t * 4].mean(-1).reshape(feats.size(0), t, 4).mean(-1)
        loud = (level > self.threshold).float() * 2 - 1          # +1 loud, -1 quiet
        return loud.unsqueeze(-1), (lens // 4)


def tiny_engine(separator: nn.Module | None = None, asr: nn.Module | None = None) -> DecodeEngine:
    torch.manual_seed(0)
    return DecodeEngine(separator or ScaleSeparator(1.0, 0.5), asr or TinyASR(), UNITS)


def tone(seconds: float, sr: int = 16000, freq: float = 440.0, amp: float = 0.3,
         channels: int = 1, seed: int = 0) -> np.ndarray:
    """A tone plus a little noise: (n,) or (n, C) float32."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    x = amp * np.sin(2 * np.pi * freq * t) + 0.01 * rng.standard_normal(t.size)
    x = x.astype(np.float32)
    return np.stack([x, 0.5 * x], 1) if channels == 2 else x


def write_audio(path: Path, audio: np.ndarray, sr: int = 16000, **kw) -> Path:
    sf.write(str(path), audio, sr, **kw)
    return path
