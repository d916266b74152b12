"""On-the-fly mixtures: shapes, per-epoch seeding, resume from a step, worker independence."""
import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from jrsv.data.onthefly import OnTheFlyMixtures
from jrsv.data.records import Utterance


def _pool(tmp_path, name, n, sec, seed):
    import soundfile as sf
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        p = tmp_path / f"{name}{i}.wav"
        sf.write(p, (0.1 * rng.standard_normal(int(sec * 16000))).astype(np.float32), 16000)
        out.append(Utterance(f"{name}{i}", str(p), f"{name}文{i}", name))
    return out


def _ds(tmp_path, **kw):
    sp = _pool(tmp_path, "sp", 4, 2.5, 0)
    sg = _pool(tmp_path, "sg", 3, 3.0, 1)
    mu = [np.random.default_rng(2).standard_normal(20000).astype(np.float32)]
    return OnTheFlyMixtures(sp, sg, mu, epoch_size=12, crop_seconds=1.0, seed=5, **kw)


def _key(ex):
    return (ex["index"].item(), float(ex["mixture"].sum()), ex["speech_text"])


def test_stream_shapes_epochs_resume(tmp_path):
    ds = _ds(tmp_path, preload=True)
    a = list(ds)
    assert len(a) == 12 and a[0]["mixture"].shape == (16000,) and a[0]["mixture"].dtype == torch.float32
    for ex in a:
        assert torch.allclose(ex["mixture"], ex["speech"] + ex["singing"] + ex["music"], atol=1e-6)
        assert round(float(ex["overlap"]), 3) in (1.0, 0.5, 0.3, 0.1, 0.0)
    assert [_key(e) for e in a] == [_key(e) for e in ds]
    ds.set_epoch(1)
    b = list(ds)
    assert [_key(e) for e in a] != [_key(e) for e in b]
    ds.load_state_dict({"epoch": 0, "step": 7})
    assert [_key(e) for e in ds] == [_key(e) for e in a[7:]]
    # the npy cache path gives the same audio as preloading
    c = list(_ds(tmp_path, cache_dir=str(tmp_path / "cache")))
    assert [_key(e) for e in c] == [_key(e) for e in a]


def test_dataloader_two_workers_same_order(tmp_path):
    ds = _ds(tmp_path, preload=True, block=3)
    ref = [_key(e) for e in ds]
    dl = DataLoader(ds, batch_size=3, num_workers=2)
    got = []
    for batch in dl:
        for j in range(batch["index"].shape[0]):
            got.append((batch["index"][j].item(), float(batch["mixture"][j].sum()),
                        batch["speech_text"][j]))
    assert got == ref


def test_bad_source_skipped_and_reported(tmp_path):
    ds = _ds(tmp_path)
    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"not a wav")
    ds.speech.items.append(Utterance("b", str(bad), "x", "s"))
    out = list(ds)
    assert len(out) == 12
    assert any("broken.wav" in s for s in ds.skipped)


def test_noise_floor_level_and_sum(tmp_path):
    """The noise floor is added to the mixture and the music reference only, at the drawn
    level, and leaves every other draw (sources, placement, gains) unchanged."""
    plain = list(_ds(tmp_path, preload=True))
    noisy = list(_ds(tmp_path, preload=True, noise_floor_dbfs=(-60.0, -40.0)))
    for a, b in zip(plain, noisy):
        assert a["speech_text"] == b["speech_text"]
        assert torch.equal(a["speech"], b["speech"]) and torch.equal(a["singing"], b["singing"])
        noise = b["mixture"] - a["mixture"]
        assert torch.allclose(noise, b["music"] - a["music"], atol=1e-6)
        level_db = 20 * np.log10(float(noise.pow(2).mean().sqrt()))
        assert -61.0 < level_db < -39.0, level_db
        assert torch.allclose(b["mixture"], b["speech"] + b["singing"] + b["music"], atol=1e-6)
    half = list(_ds(tmp_path, preload=True, noise_floor_dbfs=(-60.0, -40.0), noise_floor_prob=0.5))
    changed = [not torch.equal(a["mixture"], h["mixture"]) for a, h in zip(plain, half)]
    assert 0 < sum(changed) < len(changed)
    with pytest.raises(ValueError, match="noise_floor_prob"):
        _ds(tmp_path, noise_floor_dbfs=(-60.0, -40.0), noise_floor_prob=1.5)
    with pytest.raises(ValueError, match="noise_floor_dbfs"):
        _ds(tmp_path, noise_floor_dbfs=(-40.0, -60.0))


def test_set_position_with_two_workers_resumes_the_same_stream(tmp_path):
    """The trainer resumes mid-epoch with set_position(epoch, examples); with 2 workers each
    worker's blocks are counted from that position, so the stream goes on unchanged (before,
    the checkpointed position was always 0 and the workers' blocks were counted from 0)."""
    ds = _ds(tmp_path, preload=True, block=3)
    ref = [_key(e) for e in ds]
    ds.set_position(0, 3)  # one batch consumed: an odd block, so worker 1 must start
    got = []
    for batch in DataLoader(ds, batch_size=3, num_workers=2):
        got += [(batch["index"][j].item(), float(batch["mixture"][j].sum()), batch["speech_text"][j])
                for j in range(batch["index"].shape[0])]
    assert got == ref[3:]
    with pytest.raises(ValueError, match="outside epoch"):
        ds.set_position(0, 13)


@pytest.mark.parametrize("workers", [0, 2])
def test_ddp_shards_interleave_to_the_single_process_stream(tmp_path, workers):
    """set_shard(rank, 2): rank r reads blocks r, r+2, ...; optimizer step j of both ranks together
    is blocks 2j and 2j+1 of the one-process stream, each rank makes only its own examples, and
    set_position(e, steps * block * world) resumes both ranks exactly (trainer under DDP)."""
    ref = [_key(e) for e in _ds(tmp_path, preload=True, block=2)]

    def rank_batches(rank, start=0):
        ds = _ds(tmp_path, preload=True, block=2)
        ds.set_shard(rank, 2)
        ds.set_position(0, start)
        out = [[(b["index"][j].item(), float(b["mixture"][j].sum()), b["speech_text"][j])
                for j in range(b["index"].shape[0])]
               for b in DataLoader(ds, batch_size=2, num_workers=workers)]
        assert len(ds) == 6  # 12 examples in 6 blocks: 3 per rank
        return out

    r0, r1 = rank_batches(0), rank_batches(1)
    assert len(r0) == len(r1) == 3
    assert [k for j in range(3) for k in r0[j] + r1[j]] == ref
    # resume after one step of both ranks (2 batches x 2 examples): the rest of each shard
    assert rank_batches(0, start=4) == r0[1:] and rank_batches(1, start=4) == r1[1:]
    with pytest.raises(ValueError, match="outside a world"):
        _ds(tmp_path).set_shard(2, 2)


def test_shard_lengths_sum_to_the_epoch(tmp_path):
    for epoch_size, block, world in [(12, 2, 2), (13, 2, 2), (13, 3, 4), (5, 4, 3)]:
        ds = _ds(tmp_path, preload=True, block=block)
        ds.epoch_size = epoch_size
        lens = []
        for r in range(world):
            ds.set_shard(r, world)
            lens.append(len(ds))
            assert len(ds) == sum(1 for _ in ds._indices())
        assert sum(lens) == epoch_size
