"""CTC loss, label smoothing, CTC searches and attention rescoring against hand computations."""
import itertools
import math

import pytest
import torch

from jrsv.asr.ctc import CTC
from jrsv.asr.label_smoothing import LabelSmoothingLoss
from jrsv.asr.search import (DecodeResult, attention_rescoring, ctc_greedy_search,
                             ctc_prefix_beam_search)

torch.set_num_threads(1)


def _identity_ctc(v):
    ctc = CTC(v, v)
    with torch.no_grad():
        ctc.ctc_lo.weight.copy_(torch.eye(v))
        ctc.ctc_lo.bias.zero_()
    return ctc


def test_ctc_loss_hand_computation():
    torch.manual_seed(0)
    ctc = _identity_ctc(3)
    logits = torch.randn(2, 3, 3)
    p = logits.softmax(-1)
    # utt 0: T=2, target [1]: paths 11, 10, 01
    p0 = p[0, 0, 1] * p[0, 1, 1] + p[0, 0, 1] * p[0, 1, 0] + p[0, 0, 0] * p[0, 1, 1]
    # utt 1: T=3, target [1, 1]: only 1 _ 1
    p1 = p[1, 0, 1] * p[1, 1, 0] * p[1, 2, 1]
    ys = torch.tensor([[1, -1], [1, 1]])
    loss = ctc(logits, torch.tensor([2, 3]), ys, torch.tensor([1, 2]))
    assert loss.item() == pytest.approx((-(p0.log()) - p1.log()).item() / 2, rel=1e-5)
    assert ctc.argmax(logits).shape == (2, 3)
    assert torch.allclose(ctc.log_softmax(logits).exp().sum(-1), torch.ones(2, 3))


def test_label_smoothing_hand_computation():
    x = torch.tensor([[[1.0, 2.0, 0.5], [0.3, 0.1, 0.2]], [[0.0, 0.0, 3.0], [1.0, 1.0, 1.0]]])
    target = torch.tensor([[1, -1], [2, 0]])
    loss = LabelSmoothingLoss(3, -1, 0.1)(x, target)
    expected = 0.0
    for b, t in ((0, 0), (1, 0), (1, 1)):
        q = torch.full((3,), 0.05)
        q[target[b, t]] = 0.9
        expected += (q * (q.log() - x[b, t].log_softmax(-1))).sum().item()
    assert loss.item() == pytest.approx(expected / 2, rel=1e-6)
    norm = LabelSmoothingLoss(3, -1, 0.1, normalize_length=True)(x, target)
    assert norm.item() == pytest.approx(expected / 3, rel=1e-6)


def _exhaustive(log_probs):
    """All V^T paths collapsed: {label sequence: log probability}."""
    t_len, v = log_probs.shape
    probs: dict[tuple, float] = {}
    for path in itertools.product(range(v), repeat=t_len):
        lp = sum(log_probs[t, u].item() for t, u in enumerate(path))
        seq = tuple(u for i, u in enumerate(path) if u != 0 and (i == 0 or path[i - 1] != u))
        probs[seq] = probs.get(seq, 0.0) + math.exp(lp)
    return {k: math.log(p) for k, p in probs.items()}


@pytest.mark.parametrize("seed,t_len,v", [(0, 4, 3), (1, 5, 3), (2, 5, 4), (3, 5, 2)])
def test_prefix_beam_search_matches_exhaustive(seed, t_len, v):
    torch.manual_seed(seed)
    log_probs = (torch.randn(t_len, v) * 1.5).log_softmax(-1).double()
    truth = _exhaustive(log_probs)
    nbest = ctc_prefix_beam_search(log_probs, beam_size=1000)
    best_seq = max(truth, key=truth.get)
    assert tuple(nbest[0][0]) == best_seq
    assert nbest[0][1] == pytest.approx(truth[best_seq], abs=1e-5)
    assert len(nbest) == len(truth)
    for tokens, score, times in nbest:
        assert score == pytest.approx(truth[tuple(tokens)], abs=1e-5)
        assert len(times) == len(tokens)
        assert times == sorted(times) and len(set(times)) == len(times)
        assert all(0 <= t < t_len for t in times)
    # total probability over all label sequences is 1
    assert math.log(sum(math.exp(s) for _, s, _ in nbest)) == pytest.approx(0.0, abs=1e-6)


def test_prefix_beam_search_repeated_tokens_and_peaks():
    # frames: a(.6) a(.9) blank a(.8) b  -> "a a b"; peaks at frames 1, 3, 4
    rows = [[0.2, 0.6, 0.2], [0.05, 0.9, 0.05], [0.9, 0.05, 0.05], [0.1, 0.8, 0.1],
            [0.1, 0.1, 0.8]]
    lp = torch.tensor(rows).log()
    tokens, _, times = ctc_prefix_beam_search(lp, beam_size=5)[0]
    assert tokens == [1, 1, 2] and times == [1, 3, 4]
    greedy = ctc_greedy_search(lp.unsqueeze(0), torch.tensor([5]))[0]
    assert greedy.tokens == [1, 1, 2] and greedy.times == [1, 3, 4]
    assert greedy.score == pytest.approx(sum(max(r) for r in torch.tensor(rows).log().tolist()))


def test_ctc_greedy_batched_respects_lengths():
    lp = torch.full((2, 4, 3), -10.0)
    lp[0, :, 1] = 0.0
    lp[1, :, 2] = 0.0
    lp[1, 2:, 1] = 1.0  # beyond length 2: ignored
    res = ctc_greedy_search(lp, torch.tensor([4, 2]))
    assert [r.tokens for r in res] == [[1], [2]]


class _FixedDecoder:
    """Decoder stub: attention score per hypothesis from a table."""

    def __init__(self, table):
        self.table = table
        self.batches = []

    def score_hyps(self, memory, memory_mask, hyps, sos, eos):
        self.batches.append(len(hyps))
        return torch.tensor([self.table[tuple(h)] for h in hyps])


def test_attention_rescoring_picks_decoder_preference():
    nbests = [[([1, 2], -1.0, [0, 2]), ([1, 3], -1.5, [0, 3])],
              [([2], -0.2, [1]), ([2, 2], -3.0, [1, 3])]]
    dec = _FixedDecoder({(1, 2): -5.0, (1, 3): -0.5, (2,): -1.0, (2, 2): -2.0})
    mem = torch.zeros(2, 4, 8)
    mask = torch.ones(2, 1, 4, dtype=torch.bool)
    res = attention_rescoring(dec, mem, mask, nbests, sos=9, eos=9, ctc_weight=0.5)
    assert dec.batches == [4]  # all hypotheses of all utterances in one batch
    assert res[0] == DecodeResult([1, 3], -0.5 + 0.5 * -1.5, [0, 3])
    assert res[1] == DecodeResult([2], -1.0 + 0.5 * -0.2, [1])
