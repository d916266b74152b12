"""The one Conformer block used by both the MTASS separator and the ASR encoder.

Macaron feed-forward halves around relative-position self-attention and the
convolution module, pre-norm residuals, final layer norm (Gulati et al. 2020),
with WeNet's ``ConformerEncoderLayer`` parameter names.
"""
from __future__ import annotations

import torch
from torch import nn

from jrsv.nn.attention import MultiHeadedAttention, RelPositionMultiHeadedAttention
from jrsv.nn.convolution import ConvolutionModule
from jrsv.nn.feed_forward import PositionwiseFeedForward


class ConformerBlock(nn.Module):
    """One Conformer block.

    Args:
        size: model width D.
        attention_heads: heads H.
        linear_units: feed-forward inner width.
        cnn_module_kernel: depthwise conv kernel.
        dropout_rate: residual dropout; ``attention_dropout_rate`` for attention weights.
        pos_enc_layer_type: ``"rel_pos"`` (relative, default) or ``"abs_pos"`` (plain MHA).
        macaron_style / use_cnn_module: the two Conformer additions (both on by default).
        causal: causal convolution (streaming).
        cnn_module_norm: ``"batch_norm"`` or ``"layer_norm"``.
    """

    def __init__(self, size: int = 256, attention_heads: int = 4, linear_units: int = 2048,
                 cnn_module_kernel: int = 15, dropout_rate: float = 0.1,
                 attention_dropout_rate: float = 0.0, pos_enc_layer_type: str = "rel_pos",
                 macaron_style: bool = True, use_cnn_module: bool = True, causal: bool = False,
                 cnn_module_norm: str = "batch_norm"):
        super().__init__()
        attn_cls = RelPositionMultiHeadedAttention if pos_enc_layer_type == "rel_pos" \
            else MultiHeadedAttention
        self.size = size
        self.self_attn = attn_cls(attention_heads, size, attention_dropout_rate)
        self.feed_forward = PositionwiseFeedForward(size, linear_units, dropout_rate, nn.SiLU())
        self.feed_forward_macaron = (PositionwiseFeedForward(size, linear_units, dropout_rate, nn.SiLU())
                                     if macaron_style else None)
        self.conv_module = (ConvolutionModule(size, cnn_module_kernel, causal, cnn_module_norm)
                            if use_cnn_module else None)
        self.norm_ff = nn.LayerNorm(size, eps=1e-5)
        self.norm_mha = nn.LayerNorm(size, eps=1e-5)
        if self.feed_forward_macaron is not None:
            self.norm_ff_macaron = nn.LayerNorm(size, eps=1e-5)
            self.ff_scale = 0.5
        else:
            self.ff_scale = 1.0
        if self.conv_module is not None:
            self.norm_conv = nn.LayerNorm(size, eps=1e-5)
            self.norm_final = nn.LayerNorm(size, eps=1e-5)
        self.dropout = nn.Dropout(dropout_rate)

    def forward(self, x: torch.Tensor, mask: torch.Tensor, pos_emb: torch.Tensor,
                mask_pad: torch.Tensor | None = None, att_cache: torch.Tensor | None = None,
                cnn_cache: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Run the block.

        Args:
            x: (B, T, D).
            mask: (B, 1|T, T_cache+T) bool attention mask, ``True`` = attend.
            pos_emb: (1, T_cache+T, D) position table for the keys.
            mask_pad: (B, 1, T) bool, ``True`` = valid frame (for the conv module).
            att_cache: (B, H, T_cache, 2*d_k) keys/values of earlier chunks.
            cnn_cache: (B, D, kernel-1) conv left context (causal mode).
        Returns:
            (y (B, T, D), mask, new att_cache, new cnn_cache).
        """
        if self.feed_forward_macaron is not None:
            x = x + self.ff_scale * self.dropout(self.feed_forward_macaron(self.norm_ff_macaron(x)))
        h = self.norm_mha(x)
        att, new_att_cache = self.self_attn(h, h, h, mask, pos_emb, att_cache)
        x = x + self.dropout(att)
        new_cnn_cache = x.new_zeros(0, 0, 0)
        if self.conv_module is not None:
            conv, new_cnn_cache = self.conv_module(self.norm_conv(x), mask_pad, cnn_cache)
            x = x + self.dropout(conv)
        x = x + self.ff_scale * self.dropout(self.feed_forward(self.norm_ff(x)))
        if self.conv_module is not None:
            x = self.norm_final(x)
        return x, mask, new_att_cache, new_cnn_cache
