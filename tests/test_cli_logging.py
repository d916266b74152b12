"""jrsv.bin.logs.setup_logging: one-line ``PROG: ...`` records on the current stderr, set once."""
import logging
import subprocess
import sys

import pytest
import yaml

from jrsv.bin.logs import setup_logging


@pytest.fixture
def bare_root(monkeypatch):
    """The root logger as a fresh process has it: no handlers. pytest adds its capture handlers
    when each test phase starts, after the fixtures, so they are removed in the test, by the
    returned function."""
    root = logging.getLogger()
    monkeypatch.setattr(root, "level", root.level)

    def bare() -> logging.Logger:
        monkeypatch.setattr(root, "handlers", [])
        return root
    return bare


def test_lines_name_the_program_and_warnings_say_so(bare_root, capsys):
    bare_root()
    setup_logging("jrsv train")
    logging.getLogger("jrsv.train.trainer").info("resumed from step %d", 400)
    logging.getLogger("jrsv.decode").warning("a.wav: truncated")
    logging.getLogger("x").debug("not shown")
    assert capsys.readouterr().err.splitlines() == [
        "jrsv train: resumed from step 400", "jrsv train: warning: a.wav: truncated"]


def test_second_call_renames_and_relevels_without_a_second_handler(bare_root, capsys):
    root = bare_root()
    setup_logging("jrsv x")
    setup_logging("jrsv decode", "warning")
    assert len(root.handlers) == 1
    logging.getLogger("a").info("hidden")
    logging.getLogger("a").error("bad")
    assert capsys.readouterr().err.splitlines() == ["jrsv decode: error: bad"]


def test_foreign_handlers_are_left_alone(bare_root):
    root = bare_root()
    mine = logging.NullHandler()
    root.addHandler(mine)
    setup_logging("jrsv x")
    assert root.handlers == [mine]


def test_unknown_level_is_one_clear_error(bare_root):
    bare_root()
    with pytest.raises(ValueError, match="unknown log level 'loud'"):
        setup_logging("jrsv x", "loud")


def test_a_command_logs_through_it(tmp_path):
    """``jrsv train`` stopped by ``train.max_minutes``: the trainer's log.info becomes one
    ``jrsv train: ...`` stderr line."""
    conf = {"seed": 0, "model": {"kind": "toy", "dim": 4, "hidden": 8},
            "data": {"n": 8, "batch_size": 4}, "optim": {"name": "adam", "lr": 0.01},
            "train": {"max_epochs": 5, "max_minutes": 1e-6, "average_best": 0, "progress": False}}
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(conf))
    p = subprocess.run([sys.executable, "-m", "jrsv.bin.main", "train", "--config", str(tmp_path / "c.yaml"),
                        "--model-dir", str(tmp_path / "m")], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert f"jrsv train: {tmp_path / 'm'}: stopped at train.max_minutes (step 1); run again to go on" \
        in p.stderr.splitlines(), p.stderr
