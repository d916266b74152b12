"""CTC greedy / prefix beam search and attention rescoring.

Times are encoder frame indices (x4 subsampling, 64 ms per frame with a 16 ms hop).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

NEG_INF = -float("inf")


@dataclass
class DecodeResult:
    """One recognised hypothesis: token ids, score (log domain), CTC peak frame per token."""

    tokens: list[int]
    score: float
    times: list[int] = field(default_factory=list)


def log_add(*args: float) -> float:
    """Stable ``log(sum(exp(a)))`` of Python floats."""
    m = max(args)
    if m == NEG_INF:
        return NEG_INF
    return m + math.log(sum(math.exp(a - m) for a in args))


def ctc_greedy_search(log_probs: torch.Tensor, lens: torch.Tensor,
                      blank_id: int = 0) -> list[DecodeResult]:
    """Batched best-path decoding.

    log_probs (B, T, V), lens (B,) -> one result per utterance; score = sum of the best
    frame log-probabilities; time = frame of the highest probability in each token's run.
    """
    best, idx = log_probs.max(dim=2)  # (B, T)
    best, idx = best.cpu(), idx.cpu()
    results = []
    for b, n in enumerate(lens.tolist()):
        seq, sc = idx[b, :n].tolist(), best[b, :n].tolist()
        tokens, times, peak, prev = [], [], NEG_INF, blank_id
        for t, (u, p) in enumerate(zip(seq, sc)):
            if u != blank_id and u != prev:
                tokens.append(u)
                times.append(t)
                peak = p
            elif u != blank_id and u == prev and p > peak:
                times[-1], peak = t, p
            prev = u
        results.append(DecodeResult(tokens, float(sum(sc)), times))
    return results


class _Prefix:
    """Blank / non-blank ending probabilities of one prefix, plus Viterbi peak times."""

    __slots__ = ("s", "ns", "v_s", "v_ns", "cur_prob", "times_s", "times_ns")

    def __init__(self):
        self.s = NEG_INF  # log P(prefix, path ends in blank)
        self.ns = NEG_INF  # log P(prefix, path ends in the last token)
        self.v_s = NEG_INF  # best single path ending in blank
        self.v_ns = NEG_INF
        self.cur_prob = NEG_INF  # peak prob of the last token on the best ns path
        self.times_s: list[int] = []
        self.times_ns: list[int] = []

    def score(self) -> float:
        return log_add(self.s, self.ns)

    def viterbi(self) -> float:
        return max(self.v_s, self.v_ns)

    def times(self) -> list[int]:
        return self.times_s if self.v_s > self.v_ns else self.times_ns


def ctc_prefix_beam_search(log_probs: torch.Tensor, beam_size: int,
                           blank_id: int = 0) -> list[tuple[list[int], float, list[int]]]:
    """Prefix beam search of one utterance.

    log_probs (T, V). Each frame only the ``beam_size`` best units are expanded (WeNet).
    Returns the N-best ``(tokens, log P(tokens | x) summed over kept alignments, peak times)``,
    best first. With a beam at least as wide as the number of prefixes the scores are exact.
    """
    lp = log_probs.float().cpu()
    hyps: list[tuple[tuple[int, ...], _Prefix]] = []
    start = _Prefix()
    start.s, start.v_s = 0.0, 0.0
    hyps.append(((), start))
    k = min(beam_size, lp.size(1))
    for t in range(lp.size(0)):
        top_p, top_u = lp[t].topk(k)
        nxt: dict[tuple[int, ...], _Prefix] = {}
        for p, u in zip(top_p.tolist(), top_u.tolist()):
            for prefix, ps in hyps:
                last = prefix[-1] if prefix else None
                if u == blank_id:  # *a -> *a_ , *a_ -> *a_
                    n = nxt.setdefault(prefix, _Prefix())
                    n.s = log_add(n.s, ps.score() + p)
                    if ps.viterbi() + p > n.v_s:
                        n.v_s, n.times_s = ps.viterbi() + p, list(ps.times())
                elif u == last:
                    n = nxt.setdefault(prefix, _Prefix())  # *a -> *a (same token continues)
                    n.ns = log_add(n.ns, ps.ns + p)
                    if ps.v_ns + p > n.v_ns:
                        n.v_ns = ps.v_ns + p
                        n.times_ns = list(ps.times_ns)
                        n.cur_prob = ps.cur_prob
                        if p > ps.cur_prob:
                            n.cur_prob, n.times_ns[-1] = p, t
                    n2 = nxt.setdefault(prefix + (u,), _Prefix())  # *a_ -> *aa (new token)
                    n2.ns = log_add(n2.ns, ps.s + p)
                    if ps.v_s + p > n2.v_ns:
                        n2.v_ns, n2.cur_prob, n2.times_ns = ps.v_s + p, p, ps.times_s + [t]
                else:  # *a -> *ab, *a_ -> *ab
                    n = nxt.setdefault(prefix + (u,), _Prefix())
                    n.ns = log_add(n.ns, ps.score() + p)
                    if ps.viterbi() + p > n.v_ns:
                        n.v_ns, n.cur_prob, n.times_ns = ps.viterbi() + p, p, ps.times() + [t]
        alive = [kv for kv in nxt.items() if kv[1].score() > NEG_INF]  # drop impossible prefixes
        hyps = sorted(alive, key=lambda kv: kv[1].score(), reverse=True)[:beam_size]
    return [(list(prefix), ps.score(), list(ps.times())) for prefix, ps in hyps]


def attention_rescoring(decoder, memory: torch.Tensor, memory_mask: torch.Tensor,
                        nbests: list[list[tuple[list[int], float, list[int]]]], sos: int,
                        eos: int, ctc_weight: float = 0.5) -> list[DecodeResult]:
    """Rescore every utterance's CTC N-best with the decoder, all hypotheses in one batch.

    memory (B, T, D), memory_mask (B, 1, T); nbests[b] = prefix-beam-search output of b.
    Score = decoder log-prob (incl. eos) + ``ctc_weight`` * CTC log-prob (WeNet,
    reverse weight 0). Returns the best hypothesis per utterance.
    """
    owner = [b for b, nb in enumerate(nbests) for _ in nb]
    flat = [h for nb in nbests for h in nb]
    if not flat:
        return [DecodeResult([], NEG_INF, []) for _ in nbests]
    index = torch.tensor(owner, device=memory.device)
    att = decoder.score_hyps(memory.index_select(0, index), memory_mask.index_select(0, index),
                             [h[0] for h in flat], sos, eos).tolist()
    best: list[DecodeResult | None] = [None] * len(nbests)
    for b, (tokens, ctc_score, times), a in zip(owner, flat, att):
        total = a + ctc_weight * ctc_score
        if best[b] is None or total > best[b].score:
            best[b] = DecodeResult(list(tokens), float(total), list(times))
    return [r if r is not None else DecodeResult([], NEG_INF, []) for r in best]
