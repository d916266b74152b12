"""DistributedDataParallel helpers for ``torchrun``: init from env, samplers, rank sharding."""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Iterator

import torch
import torch.distributed as dist
from torch.utils.data import Dataset, DistributedSampler, IterableDataset, get_worker_info


@dataclass
class DistInfo:
    """Process placement: ``rank``, ``world_size``, ``local_rank`` and the device to train on."""
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def init_distributed(device: str | None = None) -> DistInfo:
    """Read ``RANK``/``WORLD_SIZE``/``LOCAL_RANK`` (set by torchrun); nccl on CUDA, gloo on CPU."""
    rank = int(os.environ.get("RANK", 0))
    world = int(os.environ.get("WORLD_SIZE", 1))
    local = int(os.environ.get("LOCAL_RANK", 0))
    use_cuda = torch.cuda.is_available() if device is None else device.startswith("cuda")
    dev = torch.device(f"cuda:{local}") if use_cuda else torch.device("cpu")
    if use_cuda:
        torch.cuda.set_device(dev)
    if world > 1 and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if use_cuda else "gloo")
    return DistInfo(rank, world, local, dev)


def wrap_model(model: torch.nn.Module, info: DistInfo, **ddp_kwargs: Any) -> torch.nn.Module:
    """Move to ``info.device`` and wrap in DDP when distributed."""
    model = model.to(info.device)
    if not info.distributed:
        return model
    ids = [info.device.index] if info.device.type == "cuda" else None
    return torch.nn.parallel.DistributedDataParallel(model, device_ids=ids, **ddp_kwargs)


def unwrap(model: torch.nn.Module) -> torch.nn.Module:
    """The inner module of a DDP wrapper (or ``model`` itself)."""
    return model.module if isinstance(model, torch.nn.parallel.DistributedDataParallel) else model


def barrier() -> None:
    """``dist.barrier()`` when a process group exists."""
    if dist.is_available() and dist.is_initialized():
        dist.barrier()


def all_reduce_mean(x: torch.Tensor) -> torch.Tensor:
    """Mean over ranks (identity when not distributed)."""
    if dist.is_available() and dist.is_initialized():
        x = x.clone()
        dist.all_reduce(x)
        x /= dist.get_world_size()
    return x


def all_reduce_sum(x: torch.Tensor) -> torch.Tensor:
    """Sum over ranks (identity when not distributed)."""
    if dist.is_available() and dist.is_initialized():
        x = x.clone()
        dist.all_reduce(x)
    return x


def cleanup() -> None:
    """Destroy the process group if one was created."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def distributed_sampler(dataset: Dataset, info: DistInfo, shuffle: bool = True, seed: int = 0,
                        drop_last: bool = False) -> DistributedSampler | None:
    """``DistributedSampler`` for a map-style dataset when distributed, else ``None``."""
    if not info.distributed:
        return None
    return DistributedSampler(dataset, num_replicas=info.world_size, rank=info.rank,
                              shuffle=shuffle, seed=seed, drop_last=drop_last)


class RankShard(IterableDataset):
    """Keeps item ``i`` of an iterable dataset iff ``i % (world * workers) == rank * workers + worker``.

    ``set_epoch``/``state_dict``/``load_state_dict`` are forwarded to the inner dataset.
    Ranks may get different numbers of items: give the trainer ``max_steps`` or an inner
    dataset of a length divisible by the world size to avoid a hang at the epoch end.
    """

    def __init__(self, dataset: IterableDataset, rank: int, world_size: int):
        self.dataset, self.rank, self.world_size = dataset, rank, world_size

    def __iter__(self) -> Iterator[Any]:
        wi = get_worker_info()
        nw, wid = (wi.num_workers, wi.id) if wi else (1, 0)
        n, me = self.world_size * nw, self.rank * nw + wid
        for i, item in enumerate(self.dataset):
            if i % n == me:
                yield item

    def set_epoch(self, epoch: int) -> None:
        if hasattr(self.dataset, "set_epoch"):
            self.dataset.set_epoch(epoch)

    def state_dict(self) -> dict:
        return self.dataset.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.dataset.load_state_dict(state)
