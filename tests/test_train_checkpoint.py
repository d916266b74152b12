"""Checkpoints: atomic save, corrupt-file handling, pruning, averaging."""
import os
import warnings

import pytest
import torch

from jrsv.train import checkpoint as ck

torch.set_num_threads(1)


def _state(step, value, metric=None):
    return {"model": {"w": torch.full((3,), float(value)), "n": torch.tensor(step)},
            "step": step, "metrics": {} if metric is None else {"valid_loss": metric}}


def test_atomic_save_failure_leaves_no_partial_file(tmp_path, monkeypatch):
    path = str(tmp_path / "step_00000001.pt")
    ck.atomic_save(_state(1, 1.0), path)
    real_save = torch.save

    def failing_save(obj, f, *a, **k):
        f.write(b"partial garbage")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", failing_save)
    with pytest.raises(OSError):
        ck.atomic_save(_state(1, 2.0), path)
    monkeypatch.setattr(torch, "save", real_save)
    assert os.listdir(tmp_path) == ["step_00000001.pt"]  # no temp file left
    assert torch.equal(ck.load_checkpoint(path)["model"]["w"], torch.ones(3))  # old content intact
    with pytest.raises(OSError):
        monkeypatch.setattr(torch, "save", failing_save)
        ck.atomic_save(_state(2, 2.0), str(tmp_path / "step_00000002.pt"))
    assert not (tmp_path / "step_00000002.pt").exists()


def test_latest_skips_corrupt_with_warning(tmp_path):
    ck.atomic_save(_state(1, 1.0), ck.ckpt_path(str(tmp_path), 1))
    bad = ck.ckpt_path(str(tmp_path), 2)
    with open(bad, "wb") as f:
        f.write(b"\x80not a checkpoint")
    (tmp_path / ".tmp_step_00000003.pt123").write_bytes(b"partial")
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        path, state = ck.find_latest(str(tmp_path))
    assert path.endswith("step_00000001.pt") and state["step"] == 1
    assert any(bad in str(x.message) for x in w)
    with pytest.raises(RuntimeError, match="step_00000002.pt"):
        ck.load_checkpoint(bad)
    assert ck.find_latest(str(tmp_path / "empty")) is None


def test_prune_keeps_last_and_protected(tmp_path):
    d = str(tmp_path)
    for s in range(1, 6):
        ck.atomic_save(_state(s, s), ck.ckpt_path(d, s))
    removed = ck.prune_checkpoints(d, 2, protect=[ck.ckpt_path(d, 1)])
    assert [s for s, _ in ck.list_checkpoints(d)] == [1, 4, 5]
    assert len(removed) == 2


def test_average_best_n_equals_mean(tmp_path):
    d = str(tmp_path)
    metrics = {1: 3.0, 2: 1.0, 3: 2.0, 4: 0.5}
    for s, m in metrics.items():
        ck.atomic_save(_state(s, s * 1.5, m), ck.ckpt_path(d, s))
    best = ck.select_best(d, 3, "valid_loss", "min")
    assert [os.path.basename(p) for p in best] == ["step_00000004.pt", "step_00000002.pt", "step_00000003.pt"]
    avg = ck.average_checkpoints(best)
    assert torch.allclose(avg["w"], torch.full((3,), (4 + 2 + 3) * 1.5 / 3))
    assert avg["w"].dtype == torch.float32 and avg["n"].dtype == torch.int64
    assert ck.select_best(d, 1, "valid_loss", "max")[0].endswith("step_00000001.pt")


def test_average_model_cli(tmp_path):
    from jrsv.bin.average_model import main
    d = str(tmp_path)
    for s, m in {1: 3.0, 2: 1.0, 3: 2.0}.items():
        ck.atomic_save(_state(s, s, m), ck.ckpt_path(d, s))
    dst = str(tmp_path / "avg.pt")
    assert main(["--dst", dst, "--src-dir", d, "--num", "2"]) == 0
    assert torch.allclose(torch.load(dst, weights_only=True)["w"], torch.full((3,), 2.5))
    assert main(["--dst", dst, ck.ckpt_path(d, 1), ck.ckpt_path(d, 3)]) == 0
    assert torch.allclose(torch.load(dst, weights_only=True)["w"], torch.full((3,), 2.0))


def test_rng_state_roundtrip_through_checkpoint(tmp_path):
    import random
    import numpy as np
    state = ck.rng_state()
    a = (random.random(), np.random.rand(), torch.rand(1).item())
    ck.atomic_save({"rng": state}, str(tmp_path / "r.pt"))
    ck.set_rng_state(ck.load_checkpoint(str(tmp_path / "r.pt"))["rng"])
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == a
