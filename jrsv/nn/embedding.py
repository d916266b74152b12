"""Sinusoidal positional encodings (absolute for the decoder, relative for Conformer)."""
from __future__ import annotations

import math

import torch
from torch import nn


def sinusoid_table(length: int, d_model: int, device=None, dtype=torch.float32) -> torch.Tensor:
    """(length, d_model) table: sin on even, cos on odd channels (Vaswani et al.)."""
    pos = torch.arange(length, device=device, dtype=torch.float32).unsqueeze(1)
    div = torch.exp(torch.arange(0, d_model, 2, device=device, dtype=torch.float32)
                    * -(math.log(10000.0) / d_model))
    pe = torch.zeros(length, d_model, device=device)
    pe[:, 0::2] = torch.sin(pos * div)
    pe[:, 1::2] = torch.cos(pos * div)
    return pe.to(dtype)


class PositionalEncoding(nn.Module):
    """Absolute encoding added to the scaled input: ``x * sqrt(D) + PE``.

    The table grows on demand, so any length works (a 3-hour stream included).
    """

    def __init__(self, d_model: int, dropout_rate: float = 0.0, max_len: int = 5000):
        super().__init__()
        self.d_model = d_model
        self.xscale = math.sqrt(d_model)
        self.dropout = nn.Dropout(dropout_rate)
        self.register_buffer("pe", sinusoid_table(max_len, d_model).unsqueeze(0), persistent=False)

    def position_encoding(self, offset: int, size: int) -> torch.Tensor:
        """(1, size, D) encodings of positions ``offset .. offset+size-1``."""
        if offset + size > self.pe.size(1):
            self.pe = sinusoid_table(2 * (offset + size), self.d_model,
                                     device=self.pe.device).unsqueeze(0)
        return self.pe[:, offset:offset + size]

    def forward(self, x: torch.Tensor, offset: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
        """x: (B, T, D) -> (x', pos_emb (1, T, D))."""
        pos_emb = self.position_encoding(offset, x.size(1)).to(x.dtype)
        x = x * self.xscale + pos_emb
        return self.dropout(x), self.dropout(pos_emb)


class RelPositionalEncoding(PositionalEncoding):
    """Relative-position variant (WeNet ``rel_pos``): scales x, returns the table separately.

    The attention layer projects ``pos_emb`` with ``linear_pos`` and adds the
    position term with its own learnable bias ``pos_bias_v`` (Transformer-XL).
    """

    def forward(self, x: torch.Tensor, offset: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
        """x: (B, T, D) -> (x * sqrt(D), pos_emb (1, T, D))."""
        pos_emb = self.position_encoding(offset, x.size(1)).to(x.dtype)
        return self.dropout(x * self.xscale), self.dropout(pos_emb)


class NoPositionalEncoding(nn.Module):
    """Identity (for ablations): returns x and a zero position table."""

    def __init__(self, d_model: int, dropout_rate: float = 0.0):
        super().__init__()
        self.d_model = d_model
        self.dropout = nn.Dropout(dropout_rate)

    def position_encoding(self, offset: int, size: int) -> torch.Tensor:
        return torch.zeros(1, size, self.d_model)

    def forward(self, x: torch.Tensor, offset: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
        return self.dropout(x), torch.zeros(1, x.size(1), self.d_model, device=x.device, dtype=x.dtype)
