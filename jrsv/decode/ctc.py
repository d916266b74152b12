"""CTC greedy decoding with token peak times and confidences (pure tensor functions)."""
from __future__ import annotations

import torch


def ctc_greedy_peaks(log_probs: torch.Tensor, blank: int = 0
                     ) -> tuple[list[int], list[int], list[float]]:
    """log_probs (T', V) of one utterance -> (tokens, peak frames, peak posteriors).

    Best path, repeated labels merged and blanks removed; a token's time is the frame of its
    highest posterior within its run of frames.
    """
    if log_probs.size(0) == 0:
        return [], [], []
    best, ids = log_probs.max(-1)
    ids_l, best_l = ids.tolist(), best.exp().tolist()
    tokens, times, confs = [], [], []
    prev = blank
    for t, (i, p) in enumerate(zip(ids_l, best_l)):
        if i != blank and i == prev and tokens:
            if p > confs[-1]:
                times[-1], confs[-1] = t, p
        elif i != blank:
            tokens.append(i), times.append(t), confs.append(p)
        prev = i
    return tokens, times, confs


def peak_confidences(log_probs: torch.Tensor, tokens: list[int], times: list[int]) -> list[float]:
    """log_probs (T', V) -> posterior of each token at its peak frame."""
    if not tokens:
        return []
    t = torch.tensor(times).clamp(0, log_probs.size(0) - 1)
    return log_probs[t, torch.tensor(tokens)].exp().tolist()
