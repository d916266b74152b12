"""Padding, causal and chunk masks (U2 dynamic-chunk training).

Convention: boolean masks are ``True`` where a position may be attended / is valid,
except :func:`make_pad_mask`, which is ``True`` at padding (as in WeNet).
"""
from __future__ import annotations

import torch


def make_pad_mask(lengths: torch.Tensor, max_len: int = 0) -> torch.Tensor:
    """Padding mask.

    Args:
        lengths: (B,) valid lengths.
        max_len: width of the mask; ``0`` means ``lengths.max()``.
    Returns:
        (B, T) bool, ``True`` at padded positions.
    """
    max_len = max_len if max_len > 0 else int(lengths.max().item()) if lengths.numel() else 0
    seq = torch.arange(max_len, device=lengths.device)
    return seq.unsqueeze(0) >= lengths.unsqueeze(1)


def make_non_pad_mask(lengths: torch.Tensor, max_len: int = 0) -> torch.Tensor:
    """(B, T) bool, ``True`` at valid positions."""
    return ~make_pad_mask(lengths, max_len)


def subsequent_mask(size: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """(T, T) bool lower-triangular mask: query i sees keys 0..i."""
    arange = torch.arange(size, device=device)
    return arange.unsqueeze(0) <= arange.unsqueeze(1)


def subsequent_chunk_mask(size: int, chunk_size: int, num_left_chunks: int = -1,
                          device: torch.device | str = "cpu") -> torch.Tensor:
    """(T, T) bool chunk mask: query i sees every key up to the end of its chunk.

    ``num_left_chunks < 0`` means unlimited left context.
    """
    pos = torch.arange(size, device=device)
    chunk_idx = pos // chunk_size
    end = (chunk_idx + 1) * chunk_size  # exclusive end of the query's chunk
    if num_left_chunks < 0:
        start = torch.zeros_like(pos)
    else:
        start = ((chunk_idx - num_left_chunks).clamp(min=0)) * chunk_size
    keys = pos.unsqueeze(0)
    return (keys >= start.unsqueeze(1)) & (keys < end.unsqueeze(1))


def add_optional_chunk_mask(xs: torch.Tensor, masks: torch.Tensor, use_dynamic_chunk: bool,
                            use_dynamic_left_chunk: bool, decoding_chunk_size: int,
                            static_chunk_size: int, num_decoding_left_chunks: int,
                            training: bool = False) -> torch.Tensor:
    """Combine the padding mask with a (dynamic or static) chunk mask, as U2 does.

    Args:
        xs: (B, T, D) encoder input after subsampling (only its length is used).
        masks: (B, 1, T) bool padding mask, ``True`` = valid.
        decoding_chunk_size: ``<0`` full context, ``>0`` that chunk size, ``0`` random
            chunk size when ``training`` (full context otherwise).
    Returns:
        (B, T, T) or (B, 1, T) bool attention mask.
    """
    max_len = xs.size(1)
    if use_dynamic_chunk:
        num_left_chunks = -1
        if decoding_chunk_size < 0 or (decoding_chunk_size == 0 and not training):
            chunk_size = max_len
        elif decoding_chunk_size > 0:
            chunk_size = decoding_chunk_size
            num_left_chunks = num_decoding_left_chunks
        else:
            # U2: half of the batches full context, the others a chunk in [1, 25].
            chunk_size = int(torch.randint(1, max_len + 1, (1,)).item())
            if chunk_size > max_len // 2:
                chunk_size = max_len
            else:
                chunk_size = chunk_size % 25 + 1
                if use_dynamic_left_chunk:
                    max_left = (max_len - 1) // chunk_size
                    num_left_chunks = int(torch.randint(0, max_left + 1, (1,)).item())
        chunk = subsequent_chunk_mask(max_len, chunk_size, num_left_chunks, xs.device)
        return masks & chunk.unsqueeze(0)
    if static_chunk_size > 0:
        chunk = subsequent_chunk_mask(max_len, static_chunk_size, num_decoding_left_chunks, xs.device)
        return masks & chunk.unsqueeze(0)
    return masks
