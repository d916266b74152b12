"""CTC head: ``ctc_lo`` projection, loss, log-softmax and argmax (WeNet names)."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class CTC(nn.Module):
    """Args: odim: vocabulary V; encoder_output_size: D; blank_id: blank index (0)."""

    def __init__(self, odim: int, encoder_output_size: int, dropout_rate: float = 0.0,
                 blank_id: int = 0):
        super().__init__()
        self.ctc_lo = nn.Linear(encoder_output_size, odim)
        self.dropout_rate = dropout_rate
        self.blank_id = blank_id

    def forward(self, hs_pad: torch.Tensor, hlens: torch.Tensor, ys_pad: torch.Tensor,
                ys_lens: torch.Tensor) -> torch.Tensor:
        """hs_pad (B, T, D), hlens (B,), ys_pad (B, L) padded with -1, ys_lens (B,)
        -> scalar loss: sum of per-utterance negative log-likelihoods / B (as WeNet).

        Infeasible utterances (T too short for the labels) contribute 0 (``zero_infinity``).
        """
        logits = self.ctc_lo(F.dropout(hs_pad, self.dropout_rate, self.training))
        log_probs = logits.float().log_softmax(2).transpose(0, 1)  # (T, B, V)
        targets = ys_pad.masked_fill(ys_pad < 0, self.blank_id)
        loss = F.ctc_loss(log_probs, targets, hlens, ys_lens, blank=self.blank_id,
                          reduction="sum", zero_infinity=True)
        return loss / hs_pad.size(0)

    def log_softmax(self, hs_pad: torch.Tensor) -> torch.Tensor:
        """(B, T, D) -> (B, T, V) log-probabilities."""
        return F.log_softmax(self.ctc_lo(hs_pad).float(), dim=2)

    def argmax(self, hs_pad: torch.Tensor) -> torch.Tensor:
        """(B, T, D) -> (B, T) best unit per frame."""
        return torch.argmax(self.ctc_lo(hs_pad), dim=2)
