import math

import torch

from jrsv.nn.attention import MultiHeadedAttention, RelPositionMultiHeadedAttention


def _reference_rel_attention(att, x, mask, pos_emb):
    """WeNet's formula written out with an explicit masked softmax."""
    b, t, d = x.shape
    h, dk = att.h, att.d_k
    q = att.linear_q(x).view(b, t, h, dk)
    k = att.linear_k(x).view(b, t, h, dk).transpose(1, 2)
    v = att.linear_v(x).view(b, t, h, dk).transpose(1, 2)
    p = att.linear_pos(pos_emb).view(1, t, h, dk).transpose(1, 2)
    ac = torch.matmul((q + att.pos_bias_u).transpose(1, 2), k.transpose(-2, -1))
    bd = torch.matmul((q + att.pos_bias_v).transpose(1, 2), p.transpose(-2, -1))
    scores = (ac + bd) / math.sqrt(dk)
    m = ~mask.unsqueeze(1)
    attn = torch.softmax(scores.masked_fill(m, -float("inf")), -1).masked_fill(m, 0.0)
    out = torch.matmul(attn, v).transpose(1, 2).reshape(b, t, d)
    return att.linear_out(out)


def test_rel_attention_matches_reference_with_padding():
    att = RelPositionMultiHeadedAttention(4, 32).eval()
    x = torch.randn(2, 7, 32)
    pos = torch.randn(1, 7, 32)
    mask = torch.ones(2, 1, 7, dtype=torch.bool)
    mask[1, :, 5:] = False
    out, cache = att(x, x, x, mask, pos)
    ref = _reference_rel_attention(att, x, mask, pos)
    assert torch.allclose(out, ref, atol=1e-5)
    assert cache.shape == (2, 4, 7, 16)


def test_attention_cache_equals_full():
    """Attending with cached keys/values equals attending over the concatenation."""
    att = MultiHeadedAttention(2, 16).eval()
    x = torch.randn(1, 6, 16)
    full, _ = att(x, x, x, torch.ones(1, 6, 6, dtype=torch.bool))
    _, cache = att(x[:, :4], x[:, :4], x[:, :4], torch.ones(1, 4, 4, dtype=torch.bool))
    last, _ = att(x[:, 4:], x[:, 4:], x[:, 4:], torch.ones(1, 2, 6, dtype=torch.bool), cache=cache)
    assert torch.allclose(full[:, 4:], last, atol=1e-5)
