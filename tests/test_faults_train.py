"""Fault injection for `jrsv train` (issue 16, defects 6, 9, 10): validation settings, corrupt and
malicious checkpoints, Ctrl-C / SIGTERM, progress on a non-terminal stderr."""
import os
import pickle
import signal
import subprocess
import time

import pytest
import torch
import yaml

from fault_utils import env1, jrsv_cmd, leftovers
from jrsv.bin.train import main as train_main
from jrsv.train.checkpoint import find_latest, list_checkpoints


def _conf(tmp_path, **train) -> str:
    conf = {"seed": 1, "model": {"kind": "toy", "dim": 4, "hidden": 8},
            "data": {"n": 32, "batch_size": 4}, "optim": {"name": "adam", "lr": 0.01},
            "train": {"max_epochs": 100, "max_steps": 6, "log_interval": 1, **train}}
    p = tmp_path / "conf.yaml"
    p.write_text(yaml.safe_dump(conf))
    return str(p)


def _stop_after(conf: str, model_dir, step: int, sig) -> tuple[int, str]:
    """Run `jrsv train`, send ``sig`` once its progress line reports ``step`` -> (rc, stderr)."""
    proc = subprocess.Popen(jrsv_cmd("train", "--config", conf, "--model-dir", str(model_dir)),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env1())
    seen = []
    for line in proc.stderr:
        seen.append(line)
        if line.startswith(f"train epoch 0: {step}/100000 step"):
            break
    proc.send_signal(sig)
    err = "".join(seen) + proc.stderr.read()
    return proc.wait(timeout=60), err


def test_valid_interval_zero_with_save_interval(tmp_path, capsys):
    """Before: all steps trained, then "no checkpoint holds metric 'valid_loss'", every rerun
    the same. The last checkpoint now always carries the metric."""
    conf = _conf(tmp_path, valid_interval=0, save_interval=2, average_best=2)
    model_dir = str(tmp_path / "m")
    assert train_main(["--config", conf, "--model-dir", model_dir]) == 0, capsys.readouterr().err
    assert os.path.isfile(os.path.join(model_dir, "avg_best.pt"))
    assert "valid_loss" in find_latest(model_dir)[1]["metrics"]
    assert train_main(["--config", conf, "--model-dir", model_dir]) == 0  # rerun: done


def test_valid_interval_zero_rerun_after_old_failure(tmp_path):
    """A run left by the old trainer (last checkpoint without a metric) finishes on a rerun."""
    conf = _conf(tmp_path, valid_interval=0, save_interval=2, average_best=0)
    model_dir = str(tmp_path / "m")
    assert train_main(["--config", conf, "--model-dir", model_dir]) == 0
    step, path = list_checkpoints(model_dir)[-1]
    state = torch.load(path, weights_only=True)
    state["metrics"] = {}
    torch.save(state, path)
    os.remove(os.path.join(model_dir, "done"))
    conf2 = _conf(tmp_path, valid_interval=0, save_interval=2, average_best=2)
    assert train_main(["--config", conf2, "--model-dir", model_dir]) == 0
    assert os.path.isfile(os.path.join(model_dir, "avg_best.pt"))


def test_resume_from_corrupt_or_missing_file_one_line(tmp_path):
    conf = _conf(tmp_path)
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"\x80\x04garbage")
    r = subprocess.run(jrsv_cmd("train", "--config", conf, "--model-dir", str(tmp_path / "m"),
                                "--resume", str(bad)), capture_output=True, text=True,
                       timeout=120, env=env1())
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert r.stderr.strip().splitlines()[-1].startswith(f"jrsv train: error: {bad}: cannot load checkpoint")
    r = subprocess.run(jrsv_cmd("train", "--config", conf, "--model-dir", str(tmp_path / "m"),
                                "--resume", str(tmp_path / "nope.pt")),
                       capture_output=True, text=True, timeout=120, env=env1())
    assert r.returncode == 2 and r.stderr.strip().splitlines() == [
        f"jrsv train: error: --resume {tmp_path / 'nope.pt'}: no such checkpoint file"]


def test_malicious_checkpoint_is_refused_not_run(tmp_path, capsys):
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    model_dir = tmp_path / "m"
    model_dir.mkdir()
    (model_dir / "step_00000003.pt").write_bytes(pickle.dumps({"model": Evil()}))
    rc = train_main(["--config", _conf(tmp_path), "--model-dir", str(model_dir), "--resume",
                     str(model_dir / "step_00000003.pt")])
    assert rc == 1 and not marker.exists()
    assert "cannot load checkpoint" in capsys.readouterr().err
    # auto-resume skips it (with a warning) and trains from scratch
    assert train_main(["--config", _conf(tmp_path), "--model-dir", str(model_dir)]) == 0
    assert not marker.exists()


@pytest.mark.slow
@pytest.mark.parametrize("sig,rc", [(signal.SIGINT, 130), (signal.SIGTERM, 128 + 15)])
def test_signal_during_training_one_line_resumable(tmp_path, sig, rc):
    conf = _conf(tmp_path, max_steps=100000, save_interval=1, valid_interval=0, keep_last=2)
    model_dir = tmp_path / "m"
    proc = subprocess.Popen(jrsv_cmd("train", "--config", conf, "--model-dir", str(model_dir)),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env1())
    t0 = time.time()
    while not list_checkpoints(str(model_dir)):
        assert proc.poll() is None and time.time() - t0 < 120, proc.communicate()
        time.sleep(0.05)
    time.sleep(0.3)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == rc, err
    assert "Traceback" not in err and "resumes it" in err.strip().splitlines()[-1]
    assert leftovers(model_dir) == []
    assert find_latest(str(model_dir)) is not None


def test_progress_lines_without_a_terminal(tmp_path):
    conf = _conf(tmp_path, progress_interval=0)
    r = subprocess.run(jrsv_cmd("train", "--config", conf, "--model-dir", str(tmp_path / "m")),
                       capture_output=True, text=True, timeout=120, env=env1())
    assert r.returncode == 0, r.stderr
    lines = [l for l in r.stderr.splitlines() if l.startswith("train epoch 0: ")]
    assert len(lines) >= 5 and "/6 step" in lines[-1] and "elapsed" in lines[-1], r.stderr


@pytest.mark.parametrize("sig,rc", [(signal.SIGTERM, 128 + 15), (signal.SIGINT, 130)])
def test_signal_saves_the_step_in_flight_and_rerun_resumes_there(tmp_path, sig, rc):
    """No periodic checkpoints at all (save/valid interval 0): a SIGTERM (a scheduler's
    preemption) or Ctrl-C still loses no step: the trainer finishes the step, saves it, stops
    with 128 + signal; a rerun starts from that step."""
    conf = _conf(tmp_path, max_steps=100000, save_interval=0, valid_interval=0,
                 progress_interval=0, average_best=0)
    model_dir = tmp_path / "m"
    code, err = _stop_after(conf, model_dir, 5, sig)
    assert code == rc, err
    assert "Traceback" not in err and "resumes it" in err.strip().splitlines()[-1]
    step = find_latest(str(model_dir))[1]["step"]
    assert step >= 5, err
    assert leftovers(model_dir) == []
    conf2 = _conf(tmp_path, max_steps=step + 2, save_interval=0, valid_interval=0, average_best=0)
    assert train_main(["--config", conf2, "--model-dir", str(model_dir)]) == 0
    assert [s for s, _ in list_checkpoints(str(model_dir))][-2:] == [step, step + 2]


def test_signal_before_the_first_validation_still_exports_final(tmp_path):
    """Before: a stop request before the first validation (average_best > 0) saved the
    checkpoint, then failed with "no checkpoint holds metric 'valid_loss'" (exit 1, no final/).
    Now final/ is exported from the stopped step's weights (the toy task has no export_model)
    and the exit status is 128 + signal."""
    conf = _conf(tmp_path, max_steps=100000, save_interval=0, valid_interval=100000,
                 progress_interval=0, average_best=3)
    model_dir = tmp_path / "m"
    code, err = _stop_after(conf, model_dir, 3, signal.SIGTERM)
    assert code == 128 + 15, err
    assert "before the first validation" in err and "resumes it" in err.strip().splitlines()[-1]
    assert find_latest(str(model_dir))[1]["step"] >= 3 and not (model_dir / "avg_best.pt").exists()



def test_signal_delivered_twice_at_once_is_one_stop_request(tmp_path):
    """torchrun forwards the SIGTERM it gets to its workers, and Ctrl-C or ``kill -- -PGID``
    reaches launcher and workers alike: a worker then gets the signal twice within
    milliseconds. That is one stop request (finish the step, save); only a repeat after
    SIGNAL_REPEAT_S means "stop at once"."""
    from jrsv.train import trainer as tr
    t = tr.Trainer.__new__(tr.Trainer)  # the handler's state only; no model needed
    t.model_dir, t.stop_signal, t._signal_time = str(tmp_path), 0, 0.0
    t._on_signal(signal.SIGTERM, None)
    t._on_signal(signal.SIGTERM, None)  # the forwarded copy: ignored
    assert t.stop_signal == signal.SIGTERM
    t._signal_time -= tr.SIGNAL_REPEAT_S + 0.1
    with pytest.raises(KeyboardInterrupt, match="twice"):
        t._on_signal(signal.SIGINT, None)
