"""Resume after SIGKILL: k steps + kill + resume == N uninterrupted steps (CPU, deterministic)."""
import os
import signal
import subprocess
import sys

import pytest
import torch
import yaml

from jrsv.train.checkpoint import find_latest, list_checkpoints
from jrsv.train.trainer import KILL_ENV

torch.set_num_threads(1)
N_STEPS, KILL_AT = 14, 6


def _conf(iterable: bool, accum: int) -> dict:
    return {"seed": 3, "model": {"kind": "toy", "dim": 8, "hidden": 16, "dropout": 0.2},
            "data": {"n": 40, "batch_size": 4, "iterable": iterable},
            "optim": {"name": "adam", "lr": 0.01}, "scheduler": {"name": "warmuplr", "warmup_steps": 4},
            "train": {"max_epochs": 100, "max_steps": N_STEPS, "accum_grad": accum, "grad_clip": 1.0,
                      "save_interval": 1, "valid_interval": 5, "keep_last": 2, "average_best": 0,
                      "log_interval": 3}}


def _train(conf_path, model_dir, kill_at=0, resume="auto"):
    env = {**os.environ, "OMP_NUM_THREADS": "1", KILL_ENV: str(kill_at)}
    return subprocess.run([sys.executable, "-m", "jrsv.bin.train", "--config", conf_path,
                           "--model-dir", model_dir, "--resume", resume],
                          env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("iterable,accum", [(False, 1), (True, 2)])
def test_kill_and_resume_matches_uninterrupted(tmp_path, iterable, accum):
    conf = tmp_path / "conf.yaml"
    conf.write_text(yaml.safe_dump(_conf(iterable, accum)))
    ref = _train(str(conf), str(tmp_path / "ref"))
    assert ref.returncode == 0, ref.stderr

    killed = _train(str(conf), str(tmp_path / "run"), kill_at=KILL_AT)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert find_latest(str(tmp_path / "run"))[1]["step"] == KILL_AT
    assert not (tmp_path / "run" / "done").exists()
    resumed = _train(str(conf), str(tmp_path / "run"))
    assert resumed.returncode == 0, resumed.stderr

    a = find_latest(str(tmp_path / "ref"))[1]
    b = find_latest(str(tmp_path / "run"))[1]
    assert a["step"] == b["step"] == N_STEPS
    assert a["data"] == b["data"]
    for k in a["model"]:
        torch.testing.assert_close(a["model"][k], b["model"][k], rtol=1e-6, atol=1e-7)
    assert a["scheduler"]["last_epoch"] == b["scheduler"]["last_epoch"]
    assert [s for s, _ in list_checkpoints(str(tmp_path / "run"))][-1] == N_STEPS
