"""Right-padding of variable-length tensors into a batch (the library's one padding helper)."""
from __future__ import annotations

from typing import Sequence

import torch


def pad_sequences(xs: Sequence[torch.Tensor], value: float = 0.0, min_len: int = 0
                  ) -> tuple[torch.Tensor, torch.Tensor]:
    """[(N_i, *rest)] -> (padded (B, max(N_max, min_len), *rest) filled with ``value``,
    lengths (B,) long). All items share ``rest``, dtype and device."""
    if not xs:
        raise ValueError("pad_sequences needs at least one tensor")
    lens = torch.tensor([int(x.size(0)) for x in xs], dtype=torch.long)
    out = torch.nn.utils.rnn.pad_sequence(list(xs), batch_first=True, padding_value=value)
    if out.size(1) < min_len:
        grow = out.new_full((out.size(0), min_len - out.size(1), *out.shape[2:]), value)
        out = torch.cat([out, grow], 1)
    return out, lens
