"""train CLI: done marker / is_done, skip when done, overrides, lazy registry, non-finite skip."""
import json
import math
import os
import subprocess
import sys

import pytest
import torch
import yaml

from jrsv.bin.train import apply_overrides, main
from jrsv.train.done import is_done, write_done
from jrsv.train.registry import get_task

torch.set_num_threads(1)

CONF = {"seed": 0, "model": {"kind": "toy"}, "data": {"n": 16, "batch_size": 4},
        "optim": {"name": "adam", "lr": 0.01}, "scheduler": {"name": "constant"},
        "train": {"max_epochs": 2, "average_best": 2, "keep_last": 1}}


def test_is_done_checksum(tmp_path):
    ckpt = tmp_path / "step_00000001.pt"
    ckpt.write_bytes(b"weights")
    assert not is_done(str(tmp_path))
    write_done(str(tmp_path), str(ckpt))
    assert is_done(str(tmp_path))
    ckpt.write_bytes(b"weightz")  # checksum mismatch
    assert not is_done(str(tmp_path))
    (tmp_path / "done").write_text("{not json")
    assert not is_done(str(tmp_path))


def test_cli_trains_writes_outputs_and_skips_when_done(tmp_path, capsys):
    conf = tmp_path / "c.yaml"
    conf.write_text(yaml.safe_dump(CONF))
    d = str(tmp_path / "exp")
    assert main(["--config", str(conf), "--model-dir", d, "--override", "train.max_epochs=3"]) == 0
    assert is_done(d)
    assert yaml.safe_load(open(os.path.join(d, "train.yaml")))["train"]["max_epochs"] == 3
    info = json.load(open(os.path.join(d, "done")))
    assert torch.load(os.path.join(d, info["checkpoint"]), weights_only=True)["step"] == 12
    assert os.path.exists(os.path.join(d, "avg_best.pt"))
    assert os.listdir(os.path.join(d, "tensorboard"))
    mtime = os.path.getmtime(os.path.join(d, "done"))
    assert main(["--config", str(conf), "--model-dir", d]) == 0
    assert "nothing to do" in capsys.readouterr().err
    assert os.path.getmtime(os.path.join(d, "done")) == mtime


def test_overrides():
    c = apply_overrides(CONF, ["train.max_steps=5", "data.dir=/x", "model.new.k=[1, 2]"])
    assert c["train"]["max_steps"] == 5 and c["data"]["dir"] == "/x" and c["model"]["new"]["k"] == [1, 2]
    assert CONF["train"].get("max_steps") is None
    with pytest.raises(ValueError, match="key=value"):
        apply_overrides(CONF, ["oops"])


def test_registry_is_lazy_and_errors():
    code = ("import sys, jrsv.bin.train; "
            "bad = [m for m in sys.modules if m.startswith(('jrsv.tasks', 'jrsv.asr', 'jrsv.separation'))]; "
            "assert not bad, bad")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    with pytest.raises(KeyError, match="not registered"):
        get_task("nope")


def test_nonfinite_loss_skipped(tmp_path):
    from jrsv.train.toy import ToyRegressor, build_loaders
    from jrsv.train.trainer import Trainer
    from jrsv.train.ddp import DistInfo

    class Flaky(ToyRegressor):
        calls = 0

        def forward(self, batch):
            out = super().forward(batch)
            Flaky.calls += 1
            if Flaky.calls == 2:
                out["loss"] = out["loss"] * math.nan
            return out

    model = Flaky()
    train, valid = build_loaders(CONF, model, DistInfo())
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    tr = Trainer(model, opt, None, train, valid, {"model_dir": str(tmp_path), "max_epochs": 1})
    tr.train()
    assert tr.skipped == 1 and tr.step == 4
    assert all(torch.isfinite(p).all() for p in model.parameters())


@pytest.mark.parametrize("amp,expect", [("bf16", torch.bfloat16), ("none", None), ("fp16", None)])
def test_cpu_autocast(tmp_path, amp, expect):
    """train.amp=bf16 autocasts on CPU too (matmuls in bf16); fp16 needs CUDA, so fp32 on CPU."""
    from jrsv.train.toy import ToyRegressor, build_loaders
    from jrsv.train.trainer import Trainer
    from jrsv.train.ddp import DistInfo

    seen = []

    class Probe(ToyRegressor):
        def forward(self, batch):
            seen.append(torch.get_autocast_dtype("cpu") if torch.is_autocast_enabled("cpu") else None)
            return super().forward(batch)

    model = Probe()
    train, valid = build_loaders(CONF, model, DistInfo())
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    tr = Trainer(model, opt, None, train, valid,
                 {"model_dir": str(tmp_path), "max_epochs": 1, "amp": amp})
    tr.train()
    assert seen and set(seen) == {expect}
    assert all(torch.isfinite(p).all() for p in model.parameters())
