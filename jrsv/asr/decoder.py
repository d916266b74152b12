"""WeNet ``TransformerDecoder``: embedding + abs. positions, N pre-norm blocks, output layer.

Parameter names match WeNet: ``embed.0`` (embedding), ``embed.1`` (positional encoding),
``decoders.N.{self_attn,src_attn,feed_forward,norm1,norm2,norm3}``, ``after_norm``,
``output_layer``.
"""
from __future__ import annotations

import torch
from torch import nn

from jrsv.nn.attention import MultiHeadedAttention
from jrsv.nn.embedding import PositionalEncoding
from jrsv.nn.feed_forward import PositionwiseFeedForward
from jrsv.nn.mask import make_non_pad_mask, subsequent_mask


class DecoderLayer(nn.Module):
    """Pre-norm block: causal self-attention, source attention, feed-forward (x (B, L, D))."""

    def __init__(self, size: int, attention_heads: int, linear_units: int, dropout_rate: float,
                 self_attention_dropout_rate: float, src_attention_dropout_rate: float):
        super().__init__()
        self.size = size
        self.self_attn = MultiHeadedAttention(attention_heads, size, self_attention_dropout_rate)
        self.src_attn = MultiHeadedAttention(attention_heads, size, src_attention_dropout_rate)
        self.feed_forward = PositionwiseFeedForward(size, linear_units, dropout_rate)
        self.norm1 = nn.LayerNorm(size, eps=1e-5)
        self.norm2 = nn.LayerNorm(size, eps=1e-5)
        self.norm3 = nn.LayerNorm(size, eps=1e-5)
        self.dropout = nn.Dropout(dropout_rate)

    def forward(self, tgt: torch.Tensor, tgt_mask: torch.Tensor, memory: torch.Tensor,
                memory_mask: torch.Tensor) -> torch.Tensor:
        """tgt (B, L, D), tgt_mask (B, L, L), memory (B, T, D), memory_mask (B, 1, T) -> (B, L, D)."""
        x = self.norm1(tgt)
        x = tgt + self.dropout(self.self_attn(x, x, x, tgt_mask)[0])
        y = self.norm2(x)
        x = x + self.dropout(self.src_attn(y, memory, memory, memory_mask)[0])
        return x + self.dropout(self.feed_forward(self.norm3(x)))


class TransformerDecoder(nn.Module):
    """Attention decoder of the U2 model.

    Args:
        vocab_size: output units V (start/end ids are the caller's: ``U2ASR.sos`` / ``eos``).
        encoder_output_size: width D of the encoder output (= decoder width).
        attention_heads, linear_units, num_blocks: block sizes (paper: 4, 2048, 6).
    """

    def __init__(self, vocab_size: int, encoder_output_size: int, attention_heads: int = 4,
                 linear_units: int = 2048, num_blocks: int = 6, dropout_rate: float = 0.1,
                 positional_dropout_rate: float = 0.1, self_attention_dropout_rate: float = 0.0,
                 src_attention_dropout_rate: float = 0.0, input_layer: str = "embed",
                 use_output_layer: bool = True, normalize_before: bool = True, **unused):
        super().__init__()
        if input_layer != "embed":
            raise ValueError(f"decoder input_layer {input_layer!r} not supported (only 'embed')")
        if not normalize_before or not use_output_layer:
            raise ValueError("only normalize_before=True and use_output_layer=True are supported")
        d = encoder_output_size
        self.vocab_size = vocab_size
        self.embed = nn.Sequential(nn.Embedding(vocab_size, d),
                                   PositionalEncoding(d, positional_dropout_rate))
        self.decoders = nn.ModuleList([
            DecoderLayer(d, attention_heads, linear_units, dropout_rate,
                         self_attention_dropout_rate, src_attention_dropout_rate)
            for _ in range(num_blocks)])
        self.after_norm = nn.LayerNorm(d, eps=1e-5)
        self.output_layer = nn.Linear(d, vocab_size)

    def forward(self, memory: torch.Tensor, memory_mask: torch.Tensor, ys_in: torch.Tensor,
                ys_in_lens: torch.Tensor) -> torch.Tensor:
        """memory (B, T, D), memory_mask (B, 1, T) bool valid, ys_in (B, L), ys_in_lens (B,)
        -> logits (B, L, V)."""
        length = ys_in.size(1)
        tgt_mask = (make_non_pad_mask(ys_in_lens, length).unsqueeze(1)
                    & subsequent_mask(length, ys_in.device).unsqueeze(0))  # (B, L, L)
        x, _ = self.embed(ys_in)
        for layer in self.decoders:
            x = layer(x, tgt_mask, memory, memory_mask)
        return self.output_layer(self.after_norm(x))

    def score_hyps(self, memory: torch.Tensor, memory_mask: torch.Tensor,
                   hyps: list[list[int]], sos: int, eos: int) -> torch.Tensor:
        """Batched log-probability of whole hypotheses (for attention rescoring).

        memory (N, T, D) and memory_mask (N, 1, T), one row per hypothesis (repeat the
        utterance's encoder output for its N-best); hyps: N token lists without sos/eos.
        Returns (N,) ``sum_j log p(y_j | y_<j) + log p(eos | y)``.
        """
        return score_hyps(self.forward, memory, memory_mask, hyps, sos, eos)


def score_hyps(forward, memory: torch.Tensor, memory_mask: torch.Tensor, hyps: list[list[int]],
               sos: int, eos: int) -> torch.Tensor:
    """:meth:`TransformerDecoder.score_hyps` for any decoder ``forward(memory, memory_mask,
    ys_in (N, L), ys_in_lens (N,)) -> logits (N, L, V)`` (an eager or an exported one)."""
    n = len(hyps)
    if n == 0:
        return memory.new_zeros(0)
    lens = torch.tensor([len(h) + 1 for h in hyps], device=memory.device)
    width = int(lens.max())
    ys_in = torch.full((n, width), eos, dtype=torch.long, device=memory.device)
    ys_out = torch.full((n, width), 0, dtype=torch.long, device=memory.device)
    for i, h in enumerate(hyps):
        ys_in[i, 0] = sos
        if h:
            t = torch.tensor(h, dtype=torch.long, device=memory.device)
            ys_in[i, 1:len(h) + 1] = t
            ys_out[i, :len(h)] = t
        ys_out[i, len(h)] = eos
    logp = torch.log_softmax(forward(memory, memory_mask, ys_in, lens).float(), dim=-1)
    tok = logp.gather(2, ys_out.unsqueeze(2)).squeeze(2)  # (N, L)
    return tok.masked_fill(~make_non_pad_mask(lens, width), 0.0).sum(1)
