import pytest

from jrsv.bin.main import COMMANDS, PROGRAMS, main


def test_help_lists_every_command(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    for name in list(COMMANDS) + list(PROGRAMS):
        assert name in out


def test_program_passthrough_reports_its_own_errors(tmp_path, capsys):
    rc = main(["train", "--config", str(tmp_path / "missing.yaml"), "--model-dir", str(tmp_path / "x")])
    assert rc == 2
    assert "missing.yaml" in capsys.readouterr().err
