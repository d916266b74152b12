"""One example dict (numpy arrays, numbers, strings) as the torch values a DataLoader collates."""
from __future__ import annotations

import numpy as np
import torch


def to_torch(ex: dict) -> dict:
    """numpy arrays -> torch tensors; numbers -> 0-d tensors; strings kept."""
    out = {}
    for k, v in ex.items():
        if isinstance(v, np.ndarray):
            out[k] = torch.from_numpy(np.ascontiguousarray(v, dtype=np.float32))
        elif isinstance(v, bool):
            out[k] = torch.tensor(v)
        elif isinstance(v, (int, float)):
            out[k] = torch.tensor(v, dtype=torch.float32 if isinstance(v, float) else torch.long)
        else:
            out[k] = v
    return out
