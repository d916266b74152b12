"""Multi-head attention, plain and with relative positions (WeNet parameter names).

Both use :func:`torch.nn.functional.scaled_dot_product_attention`; the relative
position term enters as an additive bias, so the fused kernel does the rest.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def mask_to_bias(mask: torch.Tensor | None, dtype: torch.dtype) -> torch.Tensor | None:
    """Bool mask (``True`` = attend), any broadcastable shape -> additive bias.

    A large finite negative (not ``-inf``) keeps fully masked rows finite.
    """
    if mask is None or mask.numel() == 0:
        return None
    neg = torch.finfo(dtype).min / 2
    return torch.zeros(mask.shape, dtype=dtype, device=mask.device).masked_fill(~mask, neg)


class MultiHeadedAttention(nn.Module):
    """Multi-head attention.

    Args:
        n_head: number of heads H.
        n_feat: model width D (``D % H == 0``).
        dropout_rate: attention-weight dropout.
    """

    def __init__(self, n_head: int, n_feat: int, dropout_rate: float = 0.0):
        super().__init__()
        if n_feat % n_head:
            raise ValueError(f"attention width {n_feat} is not divisible by {n_head} heads")
        self.d_k = n_feat // n_head
        self.h = n_head
        self.linear_q = nn.Linear(n_feat, n_feat)
        self.linear_k = nn.Linear(n_feat, n_feat)
        self.linear_v = nn.Linear(n_feat, n_feat)
        self.linear_out = nn.Linear(n_feat, n_feat)
        self.dropout_rate = dropout_rate

    def _heads(self, x: torch.Tensor, proj: nn.Linear) -> torch.Tensor:
        """(B, T, D) -> (B, H, T, d_k)."""
        b, t, _ = x.shape
        return proj(x).view(b, t, self.h, self.d_k).transpose(1, 2)

    def forward_qkv(self, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor):
        """Project to heads: each (B, H, T, d_k)."""
        return (self._heads(query, self.linear_q), self._heads(key, self.linear_k),
                self._heads(value, self.linear_v))

    @staticmethod
    def _with_cache(k: torch.Tensor, v: torch.Tensor, cache: torch.Tensor | None):
        """Prepend cached keys/values; cache is (B, H, T_cache, 2 * d_k)."""
        if cache is not None and cache.size(0) > 0 and cache.size(2) > 0:
            ck, cv = torch.split(cache, cache.size(-1) // 2, dim=-1)
            k = torch.cat([ck, k], dim=2)
            v = torch.cat([cv, v], dim=2)
        return k, v, torch.cat([k, v], dim=-1)

    def _attend(self, q, k, v, mask, bias=None) -> torch.Tensor:
        """q (B,H,T1,d_k), k/v (B,H,T2,d_k), mask (B,1|T1,T2) bool -> (B, T1, D)."""
        attn_bias = mask_to_bias(mask.unsqueeze(1) if mask is not None and mask.numel() else None,
                                 q.dtype)
        if bias is not None:
            attn_bias = bias if attn_bias is None else attn_bias + bias
        out = F.scaled_dot_product_attention(
            q, k, v, attn_mask=attn_bias,
            dropout_p=self.dropout_rate if self.training else 0.0)
        b, _, t1, _ = out.shape
        return self.linear_out(out.transpose(1, 2).reshape(b, t1, self.h * self.d_k))

    def forward(self, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                mask: torch.Tensor | None = None, pos_emb: torch.Tensor | None = None,
                cache: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """query (B,T1,D), key/value (B,T2,D), mask (B,1|T1,T2) bool ``True`` = attend.

        Returns (output (B, T1, D), new cache (B, H, T_cache+T2, 2*d_k)).
        """
        q, k, v = self.forward_qkv(query, key, value)
        k, v, new_cache = self._with_cache(k, v, cache)
        return self._attend(q, k, v, mask), new_cache


class RelPositionMultiHeadedAttention(MultiHeadedAttention):
    """Self-attention with Transformer-XL style relative positions and learnable biases.

    ``score = (q + u) k^T + (q + v) p^T`` with ``p = linear_pos(pos_emb)``; ``u``, ``v`` are
    ``pos_bias_u``/``pos_bias_v`` (H, d_k). As in WeNet, the ``rel_shift`` step is not applied
    (WeNet removed it for streaming), so WeNet Conformer checkpoints give identical outputs.
    """

    def __init__(self, n_head: int, n_feat: int, dropout_rate: float = 0.0):
        super().__init__(n_head, n_feat, dropout_rate)
        self.linear_pos = nn.Linear(n_feat, n_feat, bias=False)
        self.pos_bias_u = nn.Parameter(torch.empty(self.h, self.d_k))
        self.pos_bias_v = nn.Parameter(torch.empty(self.h, self.d_k))
        nn.init.xavier_uniform_(self.pos_bias_u)
        nn.init.xavier_uniform_(self.pos_bias_v)

    def forward(self, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                mask: torch.Tensor | None = None, pos_emb: torch.Tensor | None = None,
                cache: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """As :meth:`MultiHeadedAttention.forward`; ``pos_emb`` is (1|B, T2, D) for the keys."""
        if pos_emb is None:
            raise ValueError("RelPositionMultiHeadedAttention needs pos_emb")
        q, k, v = self.forward_qkv(query, key, value)
        k, v, new_cache = self._with_cache(k, v, cache)
        nb = pos_emb.size(0)
        p = self.linear_pos(pos_emb).view(nb, -1, self.h, self.d_k).transpose(1, 2)  # (1,H,T2,dk)
        q_u = q + self.pos_bias_u.unsqueeze(1)  # (B,H,T1,dk)
        q_v = q + self.pos_bias_v.unsqueeze(1)
        bd = torch.matmul(q_v, p.transpose(-2, -1)) / math.sqrt(self.d_k)  # (B,H,T1,T2)
        return self._attend(q_u, k, v, mask, bias=bd), new_cache
