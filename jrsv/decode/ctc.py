"""CTC token confidences at their peak frames (greedy search itself: jrsv.asr.search)."""
from __future__ import annotations

import torch


def peak_confidences(log_probs: torch.Tensor, tokens: list[int], times: list[int]) -> list[float]:
    """log_probs (T', V) -> posterior of each token at its peak frame."""
    if not tokens:
        return []
    t = torch.tensor(times).clamp(0, log_probs.size(0) - 1)
    return log_probs[t, torch.tensor(tokens)].exp().tolist()
