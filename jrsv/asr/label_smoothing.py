"""Label-smoothing KL loss of the attention decoder (WeNet ``LabelSmoothingLoss``)."""
from __future__ import annotations

import torch
from torch import nn


class LabelSmoothingLoss(nn.Module):
    """``KL(q || softmax(x))`` with ``q = (1-eps)`` on the target, ``eps/(V-1)`` elsewhere.

    Args:
        size: vocabulary V.
        padding_idx: target value to ignore (-1).
        smoothing: eps (0.1).
        normalize_length: divide by the number of tokens (else by the batch size, WeNet default).
    """

    def __init__(self, size: int, padding_idx: int = -1, smoothing: float = 0.1,
                 normalize_length: bool = False):
        super().__init__()
        self.size = size
        self.padding_idx = padding_idx
        self.smoothing = smoothing
        self.confidence = 1.0 - smoothing
        self.normalize_length = normalize_length

    def forward(self, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """x (B, L, V) logits, target (B, L) with ``padding_idx`` at padding -> scalar."""
        if x.size(-1) != self.size:
            raise ValueError(f"logits have {x.size(-1)} classes, the loss expects {self.size}")
        batch = x.size(0)
        x = x.reshape(-1, self.size).float()
        target = target.reshape(-1)
        ignore = target == self.padding_idx
        true_dist = torch.full_like(x, self.smoothing / (self.size - 1))
        true_dist.scatter_(1, target.masked_fill(ignore, 0).unsqueeze(1), self.confidence)
        logp = torch.log_softmax(x, dim=1)
        kl = torch.xlogy(true_dist, true_dist) - true_dist * logp
        total = int((~ignore).sum())
        denom = total if self.normalize_length else batch
        return kl.masked_fill(ignore.unsqueeze(1), 0.0).sum() / max(denom, 1)
