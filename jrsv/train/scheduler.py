"""Learning-rate schedulers: WeNet ``WarmupLR`` (Noam) and constant with linear warm-up."""
from __future__ import annotations

from typing import Any, Mapping

import torch
from torch.optim.lr_scheduler import LRScheduler


def noam_lr(base_lr: float, step: int, warmup_steps: int) -> float:
    """lr = base * w^0.5 * min(s^-0.5, s * w^-1.5), with s = max(step, 1)."""
    s = max(step, 1)
    return base_lr * warmup_steps ** 0.5 * min(s ** -0.5, s * warmup_steps ** -1.5)


class WarmupLR(LRScheduler):
    """WeNet ``WarmupLR``: peak ``base_lr`` at ``warmup_steps``, then ~ step^-0.5."""

    def __init__(self, optimizer: torch.optim.Optimizer, warmup_steps: int = 10000,
                 last_epoch: int = -1):
        self.warmup_steps = warmup_steps
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        return [noam_lr(b, self.last_epoch + 1, self.warmup_steps) for b in self.base_lrs]


class ConstantLR(LRScheduler):
    """Constant lr after a linear warm-up of ``warmup_steps`` (0 = none); MTASS: Adam 1e-3."""

    def __init__(self, optimizer: torch.optim.Optimizer, warmup_steps: int = 0,
                 last_epoch: int = -1):
        self.warmup_steps = warmup_steps
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        s = self.last_epoch + 1
        f = min(1.0, s / self.warmup_steps) if self.warmup_steps > 0 else 1.0
        return [b * f for b in self.base_lrs]


def build_optimizer(params, conf: Mapping[str, Any]) -> torch.optim.Optimizer:
    """``optim: {name: adam|adamw|sgd, lr, weight_decay}``."""
    name = conf.get("name", "adam").lower()
    lr, wd = float(conf.get("lr", 1e-3)), float(conf.get("weight_decay", 0.0))
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=wd)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=wd)
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, weight_decay=wd, momentum=float(conf.get("momentum", 0.9)))
    raise ValueError(f"optim.name must be adam|adamw|sgd, got {name!r}")


def build_scheduler(optimizer: torch.optim.Optimizer, conf: Mapping[str, Any]):
    """``scheduler: {name: warmuplr|noam|constant|plateau, warmup_steps, ...}``.

    ``plateau`` returns ``ReduceLROnPlateau`` (stepped by the trainer with the valid metric).
    """
    name = conf.get("name", "warmuplr").lower()
    if name in ("warmuplr", "noam"):
        return WarmupLR(optimizer, int(conf.get("warmup_steps", 10000)))
    if name == "constant":
        return ConstantLR(optimizer, int(conf.get("warmup_steps", 0)))
    if name == "plateau":
        return torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer, factor=float(conf.get("factor", 0.5)), patience=int(conf.get("patience", 2)))
    raise ValueError(f"scheduler.name must be warmuplr|noam|constant|plateau, got {name!r}")
