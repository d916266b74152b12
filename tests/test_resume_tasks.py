"""Exact resume of the real training tasks (MTASS, ASR, JRSV) on tiny generated data.

A run stopped right after the checkpoint of step K (a ``step_fn`` callback raises, so only what
is on disk survives) and restarted must give the same per-step losses and bitwise the same
weights as the uninterrupted run (CPU), with 0 and 2 DataLoader workers. The stop is mid-epoch
and the runs cross an epoch boundary (several batches per epoch, also for the ASR task).
Before the fix the on-the-fly mixture stream restarted at its epoch's first example.
`make test` keeps the fast checks of the same fix: tests/test_train_resume.py (SIGKILLed
subprocess, 0 and 2 workers) and tests/test_data_onthefly.py (set_position under 2 workers).
"""
import pytest
import torch

from jrsv.bin.train import run
from jrsv.train.checkpoint import find_latest
from recipe_utils import needs_tools, run_recipe
from test_tasks import _tiny_conf

pytestmark = [pytest.mark.slow, needs_tools]  # about 6 min on the shared 2 cores: make test-slow

STEPS, STOP = 6, 3


class Stop(Exception):
    pass


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    w = tmp_path_factory.mktemp("recipe")
    r = run_recipe(w, "--stage", "0", "--stop-stage", "1")
    assert r.returncode == 0, r.stderr[-2000:]
    return w


@pytest.fixture(scope="module")
def mtass_dir(work, tmp_path_factory):
    d = tmp_path_factory.mktemp("mtass")
    run(_conf(work, "mtass", 0), str(d))
    return d


def _conf(work, name, workers, **model):
    conf = _tiny_conf(name, work / "data", **model)
    conf["data"].update(num_workers=workers, epoch_size=8, batch_size=2, preload=False,
                        crop_seconds=1.0)
    conf["train"].update(max_steps=STEPS, save_interval=1, valid_interval=0, keep_last=0,
                         average_best=0, log_interval=1, progress=False)
    conf["scheduler"]["warmup_steps"] = 2
    return conf


def _losses(conf, model_dir, stop=None):
    out = {}

    def step_fn(trainer):
        out[trainer.step] = trainer.last_logs["loss"]
        if trainer.step == stop:
            raise Stop()

    try:
        run(conf, str(model_dir), step_fn=step_fn)
    except Stop:
        pass
    return out


def _check(conf, tmp_path):
    ref = _losses(conf, tmp_path / "ref")
    first = _losses(conf, tmp_path / "run", stop=STOP)
    assert find_latest(str(tmp_path / "run"))[1]["step"] == STOP
    second = _losses(conf, tmp_path / "run")
    assert sorted(ref) == list(range(1, STEPS + 1)) and sorted(second) == list(range(STOP + 1, STEPS + 1))
    assert {k: ref[k] for k in first} == first
    assert {k: ref[k] for k in second} == second, (ref, second)
    a, b = find_latest(str(tmp_path / "ref"))[1], find_latest(str(tmp_path / "run"))[1]
    assert a["data"] == b["data"]
    for k in a["model"]:
        assert torch.equal(a["model"][k], b["model"][k]), k


@pytest.mark.parametrize("workers", [0, 2])
def test_mtass_resume_exact(work, tmp_path, workers):
    _check(_conf(work, "mtass", workers), tmp_path)


@pytest.mark.parametrize("workers", [0, 2])
def test_asr_resume_exact(work, tmp_path, workers):
    conf = _conf(work, "asr", workers)
    from jrsv.tasks import build_task
    _, train, _, _ = build_task(conf)
    assert len(train) >= 3 * conf["data"]["batch_size"]  # several batches per epoch
    _check(conf, tmp_path)


@pytest.mark.parametrize("workers", [0, 2])
def test_jrsv_resume_exact(work, tmp_path, mtass_dir, workers):
    _check(_conf(work, "jrsv", workers, mode="fd", mtass_dir=str(mtass_dir)), tmp_path)
