"""Resume after SIGKILL: k steps + kill + resume == N uninterrupted steps (CPU, deterministic).

The killed run is a real subprocess, SIGKILLed as soon as the checkpoint of step ``KILL_AT``
appears (it may have gone on a few steps by then: the resume starts from whatever checkpoint
is newest, which is the point)."""
import os
import signal
import subprocess
import sys
import time

import pytest
import torch
import yaml

from jrsv.train.checkpoint import ckpt_path, find_latest, list_checkpoints

torch.set_num_threads(1)
N_STEPS, KILL_AT = 14, 6


def _conf(iterable: bool, accum: int, workers: int = 0) -> dict:
    return {"seed": 3, "model": {"kind": "toy", "dim": 8, "hidden": 16, "dropout": 0.2},
            "data": {"n": 40, "batch_size": 4, "iterable": iterable, "num_workers": workers},
            "optim": {"name": "adam", "lr": 0.01}, "scheduler": {"name": "warmuplr", "warmup_steps": 4},
            "train": {"max_epochs": 100, "max_steps": N_STEPS, "accum_grad": accum, "grad_clip": 1.0,
                      "save_interval": 1, "valid_interval": 5, "keep_last": 2, "average_best": 0,
                      "log_interval": 3}}


def _cmd(conf_path, model_dir, resume="auto"):
    return [sys.executable, "-m", "jrsv.bin.train", "--config", conf_path,
            "--model-dir", model_dir, "--resume", resume]


def _env():
    return {**os.environ, "OMP_NUM_THREADS": "1"}


def _train(conf_path, model_dir, resume="auto"):
    return subprocess.run(_cmd(conf_path, model_dir, resume), env=_env(), capture_output=True,
                          text=True, timeout=120)


def kill_after_checkpoint(cmd, model_dir, step, timeout=300.0):
    """Start ``cmd``; SIGKILL it (and its DataLoader workers) once ``step_<step>.pt`` exists."""
    proc = subprocess.Popen(cmd, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    target = ckpt_path(str(model_dir), step)
    t0 = time.time()
    while not os.path.exists(target):
        if proc.poll() is not None:
            raise AssertionError(f"finished before step {step}: {proc.stderr.read()[-2000:]}")
        if time.time() - t0 > timeout:
            os.killpg(proc.pid, signal.SIGKILL)
            raise AssertionError(f"no {target} after {timeout} s")
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stderr.close()
    return proc.returncode


@pytest.mark.parametrize("iterable,accum,workers", [(False, 1, 0), (True, 2, 0), (False, 1, 2)])
def test_kill_and_resume_matches_uninterrupted(tmp_path, iterable, accum, workers):
    conf = tmp_path / "conf.yaml"
    conf.write_text(yaml.safe_dump(_conf(iterable, accum, workers)))
    ref = _train(str(conf), str(tmp_path / "ref"))
    assert ref.returncode == 0, ref.stderr

    rc = kill_after_checkpoint(_cmd(str(conf), str(tmp_path / "run")), tmp_path / "run", KILL_AT)
    assert rc == -signal.SIGKILL
    killed_at = find_latest(str(tmp_path / "run"))[1]["step"]
    assert KILL_AT <= killed_at < N_STEPS
    assert not (tmp_path / "run" / "done").exists()
    resumed = _train(str(conf), str(tmp_path / "run"))
    assert resumed.returncode == 0, resumed.stderr

    a = find_latest(str(tmp_path / "ref"))[1]
    b = find_latest(str(tmp_path / "run"))[1]
    assert a["step"] == b["step"] == N_STEPS
    assert a["data"] == b["data"]
    for k in a["model"]:
        assert torch.equal(a["model"][k], b["model"][k]), k  # bitwise on CPU
    assert a["scheduler"]["last_epoch"] == b["scheduler"]["last_epoch"]
    assert [s for s, _ in list_checkpoints(str(tmp_path / "run"))][-1] == N_STEPS


def test_max_minutes_stops_early_and_a_rerun_resumes(tmp_path):
    """``train.max_minutes`` ends a run like ``max_steps`` does (checkpoint with its metric, done),
    and a rerun resumes from there to ``max_steps``."""
    conf = _conf(iterable=False, accum=1)
    conf["train"].update(max_minutes=1e-6, save_interval=0)
    conf_path = tmp_path / "c.yaml"
    conf_path.write_text(yaml.safe_dump(conf))
    res = _train(str(conf_path), str(tmp_path / "m"))
    assert res.returncode == 0, res.stderr[-2000:]
    steps = [s for s, _ in list_checkpoints(str(tmp_path / "m"))]
    assert steps == [1], steps  # out of time after the first optimizer step
    assert find_latest(str(tmp_path / "m"))[1]["metrics"], "the last checkpoint holds no metric"
    conf["train"]["max_minutes"] = 0
    conf_path.write_text(yaml.safe_dump(conf))
    res = _train(str(conf_path), str(tmp_path / "m"))
    assert res.returncode == 0, res.stderr[-2000:]
    assert max(s for s, _ in list_checkpoints(str(tmp_path / "m"))) == N_STEPS
