"""Global cepstral mean and variance normalisation (WeNet buffers ``mean``, ``istd``)."""
from __future__ import annotations

import json
from pathlib import Path

import torch
from torch import nn

from jrsv.atomic import atomic_write_text

class GlobalCMVN(nn.Module):
    """``(x - mean) * istd``; x (B, T, F)."""

    def __init__(self, mean: torch.Tensor, istd: torch.Tensor, norm_var: bool = True):
        super().__init__()
        if mean.shape != istd.shape:
            raise ValueError(f"CMVN mean {tuple(mean.shape)} and istd {tuple(istd.shape)} differ")
        self.norm_var = norm_var
        self.register_buffer("mean", mean.float())
        self.register_buffer("istd", istd.float())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x - self.mean
        return x * self.istd if self.norm_var else x


class CMVNAccumulator:
    """Running sums over frames; ``finish()`` -> (mean, istd) with a variance floor."""

    def __init__(self, dim: int):
        self.sum = torch.zeros(dim, dtype=torch.float64)
        self.sq = torch.zeros(dim, dtype=torch.float64)
        self.frames = 0

    def update(self, feats: torch.Tensor) -> None:
        """feats (T, F) or (B, T, F) of valid frames only."""
        f = feats.reshape(-1, feats.size(-1)).double()
        self.sum += f.sum(0)
        self.sq += (f * f).sum(0)
        self.frames += f.size(0)

    def finish(self, floor: float = 1e-20) -> tuple[torch.Tensor, torch.Tensor]:
        if self.frames == 0:
            raise ValueError("CMVN statistics need at least one frame")
        mean = self.sum / self.frames
        var = (self.sq / self.frames - mean * mean).clamp(min=floor)
        return mean.float(), (1.0 / var.sqrt()).float()


def save_cmvn(path: str | Path, mean: torch.Tensor, istd: torch.Tensor, frames: int) -> None:
    """Write ``{"mean": [...], "istd": [...], "frames": N}`` atomically."""
    atomic_write_text(path, json.dumps({"mean": mean.tolist(), "istd": istd.tolist(),
                                        "frames": frames}))


def load_cmvn(path: str | Path) -> tuple[torch.Tensor, torch.Tensor]:
    """Read a file written by :func:`save_cmvn`."""
    try:
        d = json.loads(Path(path).read_text())
        return torch.tensor(d["mean"]), torch.tensor(d["istd"])
    except (OSError, ValueError, KeyError) as e:
        raise ValueError(f"{path}: not a valid CMVN file ({e})") from e
