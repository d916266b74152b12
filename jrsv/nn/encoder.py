"""Conformer encoder: input layer + N :class:`ConformerBlock` + final norm (WeNet names).

Used with ``input_layer="conv2d"`` (x4 subsampling) by the ASR and with
``input_layer="linear"`` (frame rate kept) by the MTASS separator.
"""
from __future__ import annotations

import torch
from torch import nn

from jrsv.nn.cmvn import GlobalCMVN
from jrsv.nn.conformer import ConformerBlock
from jrsv.nn.embedding import PositionalEncoding, RelPositionalEncoding
from jrsv.nn.mask import add_optional_chunk_mask, make_pad_mask
from jrsv.nn.subsampling import Conv2dSubsampling4, LinearNoSubsampling

INPUT_LAYERS = {"conv2d": Conv2dSubsampling4, "linear": LinearNoSubsampling}


class ConformerEncoder(nn.Module):
    """Conformer encoder.

    Args:
        input_size: feature dim F (80 fbank, 513 magnitude).
        output_size: model width D.
        attention_heads, linear_units, num_blocks, cnn_module_kernel: block sizes.
        input_layer: ``"conv2d"`` or ``"linear"``.
        subsampling_channels: conv2d width (0: ``output_size``, as WeNet).
        pos_enc_layer_type: ``"rel_pos"`` or ``"abs_pos"``.
        static_chunk_size / use_dynamic_chunk / use_dynamic_left_chunk: U2 chunk training.
        causal: causal convolutions (needed for exact chunk-by-chunk streaming).
        global_cmvn: optional :class:`GlobalCMVN` applied to the input.
    """

    def __init__(self, input_size: int, output_size: int = 256, attention_heads: int = 4,
                 linear_units: int = 2048, num_blocks: int = 12, dropout_rate: float = 0.1,
                 positional_dropout_rate: float = 0.1, attention_dropout_rate: float = 0.0,
                 input_layer: str = "conv2d", pos_enc_layer_type: str = "rel_pos",
                 normalize_before: bool = True, static_chunk_size: int = 0,
                 use_dynamic_chunk: bool = False, use_dynamic_left_chunk: bool = False,
                 macaron_style: bool = True, use_cnn_module: bool = True,
                 cnn_module_kernel: int = 15, causal: bool = False,
                 cnn_module_norm: str = "batch_norm", global_cmvn: GlobalCMVN | None = None,
                 gradient_checkpointing: bool = False, subsampling_channels: int = 0, **unused):
        super().__init__()
        if input_layer not in INPUT_LAYERS:
            raise ValueError(f"unknown input_layer {input_layer!r}; choose from {sorted(INPUT_LAYERS)}")
        if not normalize_before:
            raise ValueError("only normalize_before=True (pre-norm) is supported")
        self._output_size = output_size
        self.global_cmvn = global_cmvn
        pos_cls = RelPositionalEncoding if pos_enc_layer_type == "rel_pos" else PositionalEncoding
        self.embed = INPUT_LAYERS[input_layer](input_size, output_size, dropout_rate,
                                               pos_cls(output_size, positional_dropout_rate),
                                               channels=subsampling_channels)
        self.encoders = nn.ModuleList([
            ConformerBlock(output_size, attention_heads, linear_units, cnn_module_kernel,
                           dropout_rate, attention_dropout_rate, pos_enc_layer_type,
                           macaron_style, use_cnn_module, causal, cnn_module_norm)
            for _ in range(num_blocks)])
        self.after_norm = nn.LayerNorm(output_size, eps=1e-5)
        self.static_chunk_size = static_chunk_size
        self.use_dynamic_chunk = use_dynamic_chunk
        self.use_dynamic_left_chunk = use_dynamic_left_chunk
        self.gradient_checkpointing = gradient_checkpointing

    def output_size(self) -> int:
        return self._output_size

    def forward(self, xs: torch.Tensor, xs_lens: torch.Tensor, decoding_chunk_size: int = 0,
                num_decoding_left_chunks: int = -1) -> tuple[torch.Tensor, torch.Tensor]:
        """xs (B, T, F), xs_lens (B,) -> (ys (B, T', D), masks (B, 1, T') bool valid)."""
        masks = ~make_pad_mask(xs_lens, xs.size(1)).unsqueeze(1)
        if self.global_cmvn is not None:
            xs = self.global_cmvn(xs)
        xs, pos_emb, masks = self.embed(xs, masks)
        chunk_masks = add_optional_chunk_mask(
            xs, masks, self.use_dynamic_chunk, self.use_dynamic_left_chunk, decoding_chunk_size,
            self.static_chunk_size, num_decoding_left_chunks, training=self.training)
        for layer in self.encoders:
            if self.gradient_checkpointing and self.training:
                xs = torch.utils.checkpoint.checkpoint(
                    lambda a, m, p, mp, layer=layer: layer(a, m, p, mp)[0],
                    xs, chunk_masks, pos_emb, masks, use_reentrant=False)
            else:
                xs = layer(xs, chunk_masks, pos_emb, masks)[0]
        return self.after_norm(xs), masks

    def forward_chunk(self, xs: torch.Tensor, offset: int, required_cache_size: int,
                      att_cache: torch.Tensor, cnn_cache: torch.Tensor
                      ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """One streaming step for a single utterance.

        Args:
            xs: (1, T_in, F) input frames of this chunk (with subsampling context).
            offset: encoder frames already emitted.
            required_cache_size: attention frames to keep (``<0`` all).
            att_cache: (L, H, T_cache, 2*d_k); cnn_cache: (L, 1, D, kernel-1).
        Returns:
            (ys (1, T_chunk, D), new att_cache, new cnn_cache).
        """
        t_in = xs.size(1)
        masks = torch.ones(1, 1, t_in, dtype=torch.bool, device=xs.device)
        if self.global_cmvn is not None:
            xs = self.global_cmvn(xs)
        xs, _, _ = self.embed(xs, masks, offset)
        cache_t = att_cache.size(2) if att_cache.numel() else 0
        chunk = xs.size(1)
        pos_emb = self.embed.position_encoding(offset - cache_t, cache_t + chunk).to(xs.dtype)
        if required_cache_size < 0:
            next_start = 0
        elif required_cache_size == 0:
            next_start = cache_t + chunk
        else:
            next_start = max(cache_t + chunk - required_cache_size, 0)
        mask = torch.ones(1, 1, cache_t + chunk, dtype=torch.bool, device=xs.device)
        new_att, new_cnn = [], []
        for i, layer in enumerate(self.encoders):
            xs, _, a_c, c_c = layer(
                xs, mask, pos_emb, None,
                att_cache[i:i + 1] if cache_t > 0 else None,
                cnn_cache[i] if cnn_cache.numel() else None)
            new_att.append(a_c[:, :, next_start:, :])
            new_cnn.append(c_c.unsqueeze(0))
        ys = self.after_norm(xs)
        return ys, torch.cat(new_att, 0), torch.cat(new_cnn, 0)

    def forward_chunk_by_chunk(self, xs: torch.Tensor, decoding_chunk_size: int,
                               num_decoding_left_chunks: int = -1
                               ) -> tuple[torch.Tensor, torch.Tensor]:
        """Streaming encoding of one utterance xs (1, T, F) in chunks of encoder frames.

        Equals :meth:`forward` with the same ``decoding_chunk_size`` when the
        convolutions are causal. Returns (ys (1, T', D), masks (1, 1, T')).
        """
        if decoding_chunk_size <= 0:
            raise ValueError("decoding_chunk_size must be > 0 for chunk-by-chunk encoding")
        sub = self.embed.subsampling_rate
        context = self.embed.right_context + 1
        stride = sub * decoding_chunk_size
        window = (decoding_chunk_size - 1) * sub + context
        required = decoding_chunk_size * num_decoding_left_chunks
        att_cache = xs.new_zeros(0, 0, 0, 0)
        cnn_cache = xs.new_zeros(0, 0, 0, 0)
        outputs, offset = [], 0
        for cur in range(0, xs.size(1) - context + 1, stride):
            chunk_xs = xs[:, cur:min(cur + window, xs.size(1))]
            y, att_cache, cnn_cache = self.forward_chunk(chunk_xs, offset, required, att_cache,
                                                         cnn_cache)
            outputs.append(y)
            offset += y.size(1)
        ys = torch.cat(outputs, 1) if outputs else xs.new_zeros(1, 0, self._output_size)
        return ys, torch.ones(1, 1, ys.size(1), dtype=torch.bool, device=xs.device)
