"""Toy regression task (``model.kind: toy``) for trainer tests and smoke runs."""
from __future__ import annotations

from typing import Any, Iterator, Mapping

import torch
from torch import nn
from torch.utils.data import Dataset, IterableDataset

from jrsv.train.ddp import DistInfo
from jrsv.train.registry import make_loaders, register_task


def toy_data(n: int, dim: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` points of y = x W + noise, fixed by ``seed``."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, dim, generator=g)
    w = torch.randn(dim, 1, generator=g)
    return x, x @ w + 0.1 * torch.randn(n, 1, generator=g)


class ToyMapDataset(Dataset):
    def __init__(self, n: int = 64, dim: int = 8, seed: int = 0):
        self.x, self.y = toy_data(n, dim, seed)

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {"x": self.x[i], "y": self.y[i]}


class ToyIterableDataset(IterableDataset):
    """Per-epoch shuffled stream with ``state_dict()`` (items yielded) and ``set_epoch``."""

    def __init__(self, n: int = 64, dim: int = 8, seed: int = 0):
        self.x, self.y = toy_data(n, dim, seed)
        self.seed, self.epoch, self.pos = seed, 0, 0

    def set_epoch(self, epoch: int) -> None:
        if epoch != self.epoch:
            self.epoch, self.pos = epoch, 0

    def state_dict(self) -> dict[str, int]:
        return {"epoch": self.epoch, "pos": self.pos}

    def load_state_dict(self, state: Mapping[str, int]) -> None:
        self.epoch, self.pos = int(state["epoch"]), int(state["pos"])

    def set_position(self, epoch: int, examples: int) -> None:
        """Trainer resume: the next iteration starts after ``examples`` items of ``epoch``."""
        self.epoch, self.pos = int(epoch), int(examples)

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        order = torch.randperm(len(self.x), generator=torch.Generator().manual_seed(self.seed + self.epoch))
        start, self.pos = self.pos, self.pos
        for i in order[start:].tolist():
            self.pos += 1
            yield {"x": self.x[i], "y": self.y[i]}
        self.pos = 0


class ToyRegressor(nn.Module):
    """MLP with dropout (exercises the RNG state); ``forward(batch) -> dict(loss, mae)``."""

    def __init__(self, dim: int = 8, hidden: int = 16, dropout: float = 0.1):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(dim, hidden), nn.Tanh(), nn.Dropout(dropout),
                                 nn.Linear(hidden, 1))

    def forward(self, batch: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        pred = self.net(batch["x"])
        return {"loss": ((pred - batch["y"]) ** 2).mean(), "mae": (pred - batch["y"]).abs().mean()}


def build_model(conf: Mapping[str, Any]) -> nn.Module:
    m = conf.get("model", {})
    return ToyRegressor(int(m.get("dim", 8)), int(m.get("hidden", 16)), float(m.get("dropout", 0.1)))


def build_loaders(conf: Mapping[str, Any], model: nn.Module, info: DistInfo):
    d, dim = conf.get("data", {}), int(conf.get("model", {}).get("dim", 8))
    n = int(d.get("n", 64))
    cls = ToyIterableDataset if d.get("iterable", False) else ToyMapDataset
    return make_loaders(conf, cls(n, dim, 0), ToyMapDataset(16, dim, 1), None, info)


register_task("toy", build_model, build_loaders)
