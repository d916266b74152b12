"""Conformer convolution module (WeNet names; optional causal mode for streaming)."""
from __future__ import annotations

import torch
from torch import nn


class ConvolutionModule(nn.Module):
    """pointwise conv -> GLU -> depthwise conv -> norm -> Swish -> pointwise conv.

    Args:
        channels: model width D.
        kernel_size: depthwise kernel (odd when not causal).
        causal: left-only context (``lorder = kernel_size - 1``) so chunk-wise
            streaming with a cache equals the full computation.
        norm: ``"batch_norm"`` (WeNet default) or ``"layer_norm"``.
    """

    def __init__(self, channels: int, kernel_size: int = 15, causal: bool = False,
                 norm: str = "batch_norm", bias: bool = True):
        super().__init__()
        if not causal and kernel_size % 2 == 0:
            raise ValueError(f"non-causal conv needs an odd kernel, got {kernel_size}")
        self.pointwise_conv1 = nn.Conv1d(channels, 2 * channels, 1, bias=bias)
        self.lorder = kernel_size - 1 if causal else 0
        padding = 0 if causal else (kernel_size - 1) // 2
        self.depthwise_conv = nn.Conv1d(channels, channels, kernel_size, padding=padding,
                                        groups=channels, bias=bias)
        self.use_layer_norm = norm == "layer_norm"
        self.norm = nn.LayerNorm(channels) if self.use_layer_norm else nn.BatchNorm1d(channels)
        self.pointwise_conv2 = nn.Conv1d(channels, channels, 1, bias=bias)
        self.activation = nn.SiLU()

    def forward(self, x: torch.Tensor, mask_pad: torch.Tensor | None = None,
                cache: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B, T, D), mask_pad (B, 1, T) bool valid, cache (B, D, lorder).

        Returns (y (B, T, D), new cache (B, D, lorder)).
        """
        x = x.transpose(1, 2)  # (B, D, T)
        if mask_pad is not None and mask_pad.numel() > 0:
            x = x.masked_fill(~mask_pad, 0.0)
        new_cache = x.new_zeros(0, 0, 0)
        if self.lorder > 0:
            if cache is None or cache.size(-1) == 0:
                x = nn.functional.pad(x, (self.lorder, 0))
            else:
                x = torch.cat([cache, x], dim=2)
            new_cache = x[:, :, -self.lorder:]
        x = nn.functional.glu(self.pointwise_conv1(x), dim=1)
        if mask_pad is not None and mask_pad.numel() > 0 and self.lorder == 0:
            # pointwise_conv1's bias makes padded frames non-zero; zero them again so the
            # depthwise conv sees the same borders in a padded batch as for a lone utterance.
            x = x.masked_fill(~mask_pad, 0.0)
        x = self.depthwise_conv(x)
        if self.use_layer_norm:
            x = self.norm(x.transpose(1, 2)).transpose(1, 2)
        else:
            x = self.norm(x)
        x = self.pointwise_conv2(self.activation(x))
        if mask_pad is not None and mask_pad.numel() > 0:
            x = x.masked_fill(~mask_pad, 0.0)
        return x.transpose(1, 2), new_cache
