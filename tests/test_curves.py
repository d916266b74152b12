"""jrsv curves: learning curves from a model dir's tensorboard events."""
from __future__ import annotations

import json

import pytest

from jrsv.bin.main import main


def _write_events(model_dir):
    from torch.utils.tensorboard import SummaryWriter

    w = SummaryWriter(str(model_dir / "tensorboard"))
    for step in (10, 20, 30):
        w.add_scalar("train/loss", 10.0 - step / 10, step, walltime=1000.0 + step)
        w.add_scalar("valid/valid_loss", 11.0 - step / 10, step, walltime=1000.0 + step)
        w.add_scalar("valid/valid_cer", 1.0 - step / 100, step, walltime=1000.0 + step)
    w.add_scalar("train/loss", 6.0, 40, walltime=1000.0 + 40 + 7200)  # resumed two hours later
    w.close()


def test_curves_png_and_json(tmp_path, capsys):
    d = tmp_path / "asr_multi"
    _write_events(d)
    out, js = tmp_path / "c.png", tmp_path / "c.json"
    assert main(["curves", str(d), "--out", str(out), "--json", str(js)]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    cur = json.loads(js.read_text())["asr_multi"]
    assert [p[0] for p in cur["dev_cer"]] == [10, 20, 30] and cur["dev_cer"][-1][2] == pytest.approx(0.7)
    # the clock starts at the first event (step 10) and the two-hour pause is not training time
    assert cur["train_loss"][-1][1] == pytest.approx(20 / 3600)
    assert "asr_multi" in capsys.readouterr().out


def test_curves_error_names_the_dir(tmp_path, capsys):
    assert main(["curves", str(tmp_path / "nope"), "--out", str(tmp_path / "x.png")]) == 1
    assert "no tensorboard/ directory" in capsys.readouterr().err


def test_curves_jrsv_dev_cer_per_track(tmp_path):
    from torch.utils.tensorboard import SummaryWriter

    d = tmp_path / "jrsv_fd"
    w = SummaryWriter(str(d / "tensorboard"))
    for step in (750, 1500):
        w.add_scalar("valid/valid_loss", 50.0 - step / 100, step, walltime=1000.0 + step)
        w.add_scalar("valid/valid_cer_speech", 0.9 - step / 1e4, step, walltime=1000.0 + step)
        w.add_scalar("valid/valid_cer_singing", 0.95, step, walltime=1000.0 + step)
    w.close()
    js = tmp_path / "c.json"
    assert main(["curves", str(d), "--out", str(tmp_path / "c.png"), "--json", str(js)]) == 0
    cur = json.loads(js.read_text())["jrsv_fd"]
    assert cur["dev_cer_speech"][-1][2] == pytest.approx(0.75) and "dev_cer" not in cur
    assert [p[0] for p in cur["dev_cer_singing"]] == [750, 1500]
