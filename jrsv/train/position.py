"""Exact data positions for resuming training mid-epoch.

The trainer counts the batches it consumed in the current epoch and, on resume, puts the data
back there *without* loading the skipped examples. Two kinds of training data support this:

* a map-style dataset read through :class:`EpochBatchSampler` (``jrsv.train.registry.make_loaders``
  builds it): epoch ``e``'s order is ``randperm(n)`` from a generator seeded ``seed + e``;
  ``set_position(e, b)`` starts at batch ``b``;
* an ``IterableDataset`` with ``set_epoch(e)`` and ``set_position(e, examples)`` whose example
  ``i`` of epoch ``e`` depends on ``(e, i)`` only and whose workers take consecutive blocks of
  ``batch_size`` examples counted from the start position (``jrsv.data.onthefly.OnTheFlyMixtures``,
  ``jrsv.train.toy.ToyIterableDataset``): ``examples = batches * batch_size``.

Both are exact for any number of DataLoader workers. Other datasets are replayed (batches are
loaded and dropped), which is exact but slow.
"""
from __future__ import annotations

from typing import Iterator, Optional, Sequence

import torch
from torch.utils.data import Sampler


class EpochBatchSampler(Sampler[list[int]]):
    """Batches of indices of a map-style dataset of ``n`` items, one permutation per epoch.

    Args:
        n: dataset length.
        batch_size: indices per batch (the last batch of an epoch may be shorter).
        seed: epoch ``e`` shuffles with ``torch.Generator().manual_seed(seed + e)``.
        shuffle: False keeps ``0..n-1``.
        lengths: per-item lengths (e.g. seconds); with ``bucket_batches`` > 0 the shuffled order is
            cut into windows of ``bucket_batches * batch_size`` items, each window sorted by length
            before it is cut into batches, and the batches are shuffled again (same generator): the
            items of a batch have similar lengths, so little of the batch is padding.
        bucket_batches: batches per sorting window (0 = no length bucketing).
    """

    def __init__(self, n: int, batch_size: int, seed: int = 0, shuffle: bool = True,
                 lengths: Optional[Sequence[float]] = None, bucket_batches: int = 0):
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if bucket_batches < 0:
            raise ValueError(f"bucket_batches must be >= 0, got {bucket_batches}")
        if lengths is not None and len(lengths) != n:
            raise ValueError(f"lengths has {len(lengths)} items for a dataset of {n}")
        self.n, self.batch_size, self.seed, self.shuffle = int(n), int(batch_size), int(seed), shuffle
        self.lengths = [float(x) for x in lengths] if lengths is not None and bucket_batches else None
        self.bucket_batches = int(bucket_batches)
        self.epoch, self.start = 0, 0

    def set_epoch(self, epoch: int) -> None:
        """Start of ``epoch``."""
        self.epoch, self.start = int(epoch), 0

    def set_position(self, epoch: int, batches: int) -> None:
        """The next iteration starts at batch ``batches`` of ``epoch`` (then back to 0)."""
        self.epoch, self.start = int(epoch), int(batches)

    def order(self) -> list[int]:
        """The epoch's index order (n,)."""
        if not self.shuffle:
            return list(range(self.n))
        g = torch.Generator().manual_seed(self.seed + self.epoch)
        return torch.randperm(self.n, generator=g).tolist()

    def batches(self) -> list[list[int]]:
        """The epoch's batches, in order (a function of ``seed``, ``epoch`` and the lengths)."""
        order, bs = self.order(), self.batch_size
        if self.lengths is None:
            return [order[b:b + bs] for b in range(0, self.n, bs)]
        win = bs * self.bucket_batches
        out: list[list[int]] = []
        for w in range(0, self.n, win):
            part = sorted(order[w:w + win], key=lambda i: self.lengths[i])  # stable: ties keep the shuffle
            out += [part[b:b + bs] for b in range(0, len(part), bs)]
        if self.shuffle:
            g = torch.Generator().manual_seed(self.seed + self.epoch + 7919)
            out = [out[i] for i in torch.randperm(len(out), generator=g).tolist()]
        return out

    def __iter__(self) -> Iterator[list[int]]:
        batches, start = self.batches(), self.start
        self.start = 0
        yield from batches[start:]

    def __len__(self) -> int:
        return (self.n + self.batch_size - 1) // self.batch_size
