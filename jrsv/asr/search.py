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


def greedy_cer(asr, enc: torch.Tensor, enc_lens: torch.Tensor, tokens: torch.Tensor,
               token_lens: torch.Tensor) -> torch.Tensor:
    """CTC greedy CER of a batch (the dev CER of the learning curves): ``asr`` a U2 model (its
    ``ctc``), enc (B, T', D), enc_lens (B,), tokens (B, L), token_lens (B,) -> () tensor,
    errors / reference tokens of the whole batch."""
    from jrsv.asr.cer import corpus_cer

    hyps = ctc_greedy_search(asr.ctc.log_softmax(enc), enc_lens)
    counts = corpus_cer([(tokens[b, :int(n)].tolist(), h.tokens)
                         for b, (n, h) in enumerate(zip(token_lens, hyps))])
    return enc.new_tensor(counts.cer)


def _log_add2(a: float, b: float) -> float:
    """``log_add(a, b)`` for two floats (the same arithmetic, without the generic overhead)."""
    if a < b:
        a, b = b, a
    if a == NEG_INF:
        return NEG_INF
    return a + math.log(1.0 + math.exp(b - a))


def _times(node) -> list[int]:
    """Peak times kept as a linked list ``(time, previous)`` (O(1) to extend) -> list."""
    out = []
    while node is not None:
        out.append(node[0])
        node = node[1]
    return out[::-1]


class _Prefix:
    """Blank / non-blank ending probabilities of one prefix, plus Viterbi peak times."""

    __slots__ = ("s", "ns", "v_s", "v_ns", "cur_prob", "times_s", "times_ns")

    def __init__(self):
        self.s = NEG_INF  # log P(prefix, path ends in blank)
        self.ns = NEG_INF  # log P(prefix, path ends in the last token)
        self.v_s = NEG_INF  # best single path ending in blank
        self.v_ns = NEG_INF
        self.cur_prob = NEG_INF  # peak prob of the last token on the best ns path
        self.times_s = None  # peak times (linked, see _times) of the best blank-ending path
        self.times_ns = None

    def score(self) -> float:
        return _log_add2(self.s, self.ns)

    def viterbi(self) -> float:
        return max(self.v_s, self.v_ns)

    def times(self):
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
    top_p_all, top_u_all = (x.tolist() for x in lp.topk(k, dim=1))  # (T, k) once
    for t, (top_p, top_u) in enumerate(zip(top_p_all, top_u_all)):
        nxt: dict[tuple[int, ...], _Prefix] = {}
        for p, u in zip(top_p, top_u):
            for prefix, ps in hyps:
                last = prefix[-1] if prefix else None
                if u == blank_id:  # *a -> *a_ , *a_ -> *a_
                    n = nxt.get(prefix) or nxt.setdefault(prefix, _Prefix())
                    n.s = _log_add2(n.s, ps.score() + p)
                    vit = ps.viterbi() + p
                    if vit > n.v_s:
                        n.v_s, n.times_s = vit, ps.times()
                elif u == last:
                    n = nxt.get(prefix) or nxt.setdefault(prefix, _Prefix())  # *a -> *a
                    n.ns = _log_add2(n.ns, ps.ns + p)
                    if ps.v_ns + p > n.v_ns:
                        n.v_ns = ps.v_ns + p
                        n.times_ns = ps.times_ns
                        n.cur_prob = ps.cur_prob
                        if p > ps.cur_prob:  # the peak of the last token moves to t
                            n.cur_prob, n.times_ns = p, (t, ps.times_ns[1])
                    key = prefix + (u,)
                    n2 = nxt.get(key) or nxt.setdefault(key, _Prefix())  # *a_ -> *aa
                    n2.ns = _log_add2(n2.ns, ps.s + p)
                    if ps.v_s + p > n2.v_ns:
                        n2.v_ns, n2.cur_prob, n2.times_ns = ps.v_s + p, p, (t, ps.times_s)
                else:  # *a -> *ab, *a_ -> *ab
                    key = prefix + (u,)
                    n = nxt.get(key) or nxt.setdefault(key, _Prefix())
                    n.ns = _log_add2(n.ns, ps.score() + p)
                    vit = ps.viterbi() + p
                    if vit > n.v_ns:
                        n.v_ns, n.cur_prob, n.times_ns = vit, p, (t, ps.times())
        scored = [(ps.score(), prefix, ps) for prefix, ps in nxt.items()]
        scored = [x for x in scored if x[0] > NEG_INF]  # drop impossible prefixes
        scored.sort(key=lambda x: x[0], reverse=True)
        hyps = [(prefix, ps) for _, prefix, ps in scored[:beam_size]]
    return [(list(prefix), ps.score(), _times(ps.times())) for prefix, ps in hyps]


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
