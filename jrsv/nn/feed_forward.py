"""Position-wise feed-forward network (WeNet names ``w_1``, ``w_2``)."""
from __future__ import annotations

import torch
from torch import nn


class PositionwiseFeedForward(nn.Module):
    """``w_2(dropout(act(w_1(x))))``; x (B, T, D) -> (B, T, D)."""

    def __init__(self, idim: int, hidden_units: int, dropout_rate: float = 0.0,
                 activation: nn.Module | None = None):
        super().__init__()
        self.w_1 = nn.Linear(idim, hidden_units)
        self.activation = activation if activation is not None else nn.ReLU()
        self.dropout = nn.Dropout(dropout_rate)
        self.w_2 = nn.Linear(hidden_units, idim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.w_2(self.dropout(self.activation(self.w_1(x))))
