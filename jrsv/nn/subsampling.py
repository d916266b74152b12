"""Input layers: Conv2d subsampling (x4, ASR) and a linear projection (no subsampling, MTASS)."""
from __future__ import annotations

import torch
from torch import nn


class LinearNoSubsampling(nn.Module):
    """Linear -> LayerNorm -> Dropout, then positional encoding; keeps the frame rate."""

    subsampling_rate = 1
    right_context = 0

    def __init__(self, idim: int, odim: int, dropout_rate: float, pos_enc: nn.Module,
                 channels: int = 0):
        super().__init__()  # channels: unused (no convolution), kept for one signature
        self.out = nn.Sequential(nn.Linear(idim, odim), nn.LayerNorm(odim, eps=1e-5),
                                 nn.Dropout(dropout_rate))
        self.pos_enc = pos_enc

    def forward(self, x: torch.Tensor, x_mask: torch.Tensor, offset: int = 0):
        """x (B, T, F), x_mask (B, 1, T) -> (y (B,T,D), pos_emb (1,T,D), mask (B,1,T))."""
        x, pos_emb = self.pos_enc(self.out(x), offset)
        return x, pos_emb, x_mask

    def position_encoding(self, offset: int, size: int) -> torch.Tensor:
        return self.pos_enc.position_encoding(offset, size)


class Conv2dSubsampling4(nn.Module):
    """Two stride-2 3x3 convolutions: T -> ((T-1)//2 - 1)//2 frames, F -> D.

    WeNet names: ``conv.0``, ``conv.2``, ``out.0``. ``channels`` (default 0: ``odim``, as
    WeNet) sets the convolutions' width; on 513-dim magnitudes the second convolution costs
    ``channels^2 * 9 * F/4`` MACs per output frame, so small CPU models use fewer channels.
    """

    subsampling_rate = 4
    right_context = 6  # (3 - 1) * 1 + (3 - 1) * 2 input frames of look-ahead

    def __init__(self, idim: int, odim: int, dropout_rate: float, pos_enc: nn.Module,
                 channels: int = 0):
        super().__init__()
        c = channels or odim
        self.conv = nn.Sequential(nn.Conv2d(1, c, 3, 2), nn.ReLU(),
                                  nn.Conv2d(c, c, 3, 2), nn.ReLU())
        self.out = nn.Sequential(nn.Linear(c * (((idim - 1) // 2 - 1) // 2), odim))
        self.pos_enc = pos_enc

    @staticmethod
    def output_length(lengths: torch.Tensor) -> torch.Tensor:
        """Frames after subsampling for input lengths (B,)."""
        return ((lengths - 1) // 2 - 1) // 2

    def forward(self, x: torch.Tensor, x_mask: torch.Tensor, offset: int = 0):
        """x (B, T, F), x_mask (B, 1, T) -> (y (B,T',D), pos_emb (1,T',D), mask (B,1,T'))."""
        x = self.conv(x.unsqueeze(1))  # (B, C, T', F')
        b, c, t, f = x.shape
        x = self.out(x.transpose(1, 2).reshape(b, t, c * f))
        x, pos_emb = self.pos_enc(x, offset)
        return x, pos_emb, x_mask[:, :, 2::2][:, :, 2::2]

    def position_encoding(self, offset: int, size: int) -> torch.Tensor:
        return self.pos_enc.position_encoding(offset, size)
