"""``model.kind`` -> (build_model, build_loaders) registry for ``jrsv.bin.train``.

Nothing model-specific is imported here: the recipe tasks (``asr``, ``mtass``, ``jrsv``) are
adapted lazily from ``jrsv.tasks.registry.build_task`` the first time such a kind is built,
unless a task of that name was registered with ``register_task``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

import torch
from torch.utils.data import DataLoader, Dataset, IterableDataset

from jrsv.train.ddp import DistInfo, RankShard, distributed_sampler
from jrsv.train.position import EpochBatchSampler

BuildModel = Callable[[Mapping[str, Any]], torch.nn.Module]
#: (conf, model, dist_info) -> (train_loader, valid_loader or valid_fn or None)
BuildLoaders = Callable[[Mapping[str, Any], torch.nn.Module, DistInfo], tuple[Any, Any]]


@dataclass
class TaskSpec:
    name: str
    build_model: BuildModel
    build_loaders: BuildLoaders


_TASKS: dict[str, TaskSpec] = {}
_RECIPE_KINDS = ("asr", "mtass", "jrsv")


def register_task(name: str, build_model: BuildModel, build_loaders: BuildLoaders) -> None:
    """Register builders for ``model.kind == name`` (a later registration replaces it)."""
    _TASKS[name] = TaskSpec(name, build_model, build_loaders)


def registered() -> list[str]:
    """Known kinds (registered ones plus the lazily adapted recipe tasks)."""
    return sorted(set(_TASKS) | set(_RECIPE_KINDS) | {"toy"})


def get_task(kind: str) -> TaskSpec:
    """The spec for ``kind``; one-line error listing the known kinds."""
    if kind == "toy" and kind not in _TASKS:
        import jrsv.train.toy  # noqa: F401  (registers itself)
    if kind not in _TASKS and kind in _RECIPE_KINDS:
        _TASKS[kind] = _recipe_task(kind)
    if kind not in _TASKS:
        raise KeyError(f"model.kind {kind!r} is not registered (known: {registered()})")
    return _TASKS[kind]


def make_loaders(conf: Mapping[str, Any], train_set: Dataset, valid_set: Dataset | None,
                 collate: Callable | None, info: DistInfo) -> tuple[DataLoader, DataLoader | None]:
    """DataLoaders from ``data.batch_size``/``data.num_workers``/``data.bucket_batches``/``seed``;
    DDP-aware. With ``bucket_batches`` > 0 and a dataset that has ``lengths()``, batches hold items
    of similar length (:class:`EpochBatchSampler`), training and validation alike."""
    data = conf.get("data", {})
    bs, nw = int(data.get("batch_size", 16)), int(data.get("num_workers", 0))
    bucket = int(data.get("bucket_batches", 0))
    if bs < 1 or nw < 0:
        raise ValueError(f"data.batch_size must be >= 1 and data.num_workers >= 0, got {bs}, {nw}")
    seed = int(conf.get("seed", 0))
    if isinstance(train_set, IterableDataset):
        ts = train_set
        if info.distributed and hasattr(train_set, "set_shard"):  # each rank makes only its own
            train_set.set_shard(info.rank, info.world_size)
        elif info.distributed:
            ts = RankShard(train_set, info.rank, info.world_size)
        train = DataLoader(ts, batch_size=bs, num_workers=nw, collate_fn=collate)
    else:
        sampler = distributed_sampler(train_set, info, shuffle=True, seed=seed)
        gen = torch.Generator().manual_seed(seed)
        if sampler is None:  # resumable at any batch without loading the skipped ones
            lengths = train_set.lengths() if bucket and hasattr(train_set, "lengths") else None
            train = DataLoader(train_set, batch_sampler=EpochBatchSampler(
                len(train_set), bs, seed, lengths=lengths, bucket_batches=bucket),
                num_workers=nw, collate_fn=collate, generator=gen)
        else:
            train = DataLoader(train_set, batch_size=bs, sampler=sampler, num_workers=nw,
                               collate_fn=collate, generator=gen, drop_last=False)
    valid = None
    if valid_set is not None:
        vs = distributed_sampler(valid_set, info, shuffle=False) if not isinstance(
            valid_set, IterableDataset) else None
        if vs is None and bucket and hasattr(valid_set, "lengths"):  # sorted: least padding
            sampler = EpochBatchSampler(len(valid_set), bs, shuffle=False, lengths=valid_set.lengths(),
                                        bucket_batches=len(valid_set))
            valid = DataLoader(valid_set, batch_sampler=sampler, num_workers=nw, collate_fn=collate)
        else:
            valid = DataLoader(valid_set, batch_size=bs, shuffle=False, sampler=vs,
                               num_workers=nw, collate_fn=collate)
    return train, valid


def _recipe_task(kind: str) -> TaskSpec:
    """Adapter over ``jrsv.tasks.registry.build_task`` (imported only now)."""
    cache: dict[int, tuple] = {}

    def build_model(conf: Mapping[str, Any]) -> torch.nn.Module:
        from jrsv.tasks.registry import build_task
        task, train_set, valid_set, collate = build_task(conf)
        cache[id(task)] = (train_set, valid_set, collate)
        return task

    def build_loaders(conf: Mapping[str, Any], model: torch.nn.Module, info: DistInfo):
        train_set, valid_set, collate = cache.pop(id(model))
        return make_loaders(conf, train_set, valid_set, collate, info)

    return TaskSpec(kind, build_model, build_loaders)
