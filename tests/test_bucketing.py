"""Length-bucketed batches (EpochBatchSampler lengths/bucket_batches): less padding, same guarantees."""
from __future__ import annotations

import random

import pytest

from jrsv.train.position import EpochBatchSampler


def _padding(batches, lengths):
    pad = sum(max(lengths[i] for i in b) * len(b) - sum(lengths[i] for i in b) for b in batches)
    return pad / sum(max(lengths[i] for i in b) * len(b) for b in batches)


def test_bucketed_epoch_covers_every_item_once_with_little_padding():
    rng = random.Random(0)
    lengths = [rng.uniform(1.0, 8.0) for _ in range(1000)]
    plain = EpochBatchSampler(1000, 16, seed=3)
    bucket = EpochBatchSampler(1000, 16, seed=3, lengths=lengths, bucket_batches=20)
    for s in (plain, bucket):
        s.set_epoch(2)
        items = [i for b in s for i in b]
        assert sorted(items) == list(range(1000))
    p0, p1 = _padding(list(plain), lengths), _padding(list(bucket), lengths)
    assert p0 > 0.3 and p1 < 0.05  # random batches pad ~1/3 of the frames, bucketed ones almost none
    # batch order is shuffled: not sorted by length across the epoch
    first = [max(lengths[i] for i in b) for b in bucket.batches()]
    assert first != sorted(first)


def test_bucketed_order_is_deterministic_and_resumable():
    lengths = [float(i % 37) for i in range(300)]
    a = EpochBatchSampler(300, 8, seed=1, lengths=lengths, bucket_batches=5)
    b = EpochBatchSampler(300, 8, seed=1, lengths=lengths, bucket_batches=5)
    a.set_epoch(4)
    full = list(a)
    b.set_position(4, 7)
    assert list(b) == full[7:]
    a.set_epoch(5)
    assert list(a) != full  # a new order each epoch


def test_bucketing_arguments_checked():
    with pytest.raises(ValueError, match="lengths has 3 items"):
        EpochBatchSampler(4, 2, lengths=[1.0, 2.0, 3.0], bucket_batches=2)
    with pytest.raises(ValueError, match="bucket_batches"):
        EpochBatchSampler(4, 2, bucket_batches=-1)
    s = EpochBatchSampler(5, 2, lengths=[5.0, 4.0, 3.0, 2.0, 1.0], bucket_batches=0)
    assert s.lengths is None  # 0 = off
