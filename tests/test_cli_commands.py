"""One CLI convention: every program in jrsv/bin is a ``jrsv`` subcommand with a working ``--help``."""
import ast
from pathlib import Path

import pytest

from jrsv.bin.main import COMMANDS, PROGRAMS, main

BIN = Path(__file__).resolve().parents[1] / "jrsv" / "bin"

# recipe stages 0-1, run by recipes/dtssvd/run.sh, not user-facing; they move to
# recipes/dtssvd/local (issue 14, layering)
NOT_COMMANDS = {"prepare_data", "prepare_features"}


def _entry_modules() -> list[str]:
    """Modules of jrsv/bin that define a top-level ``main`` or ``run`` (read with ast, not imported)."""
    out = []
    for path in sorted(BIN.glob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        names = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
        if path.stem != "main" and names & {"main", "run"}:
            out.append(f"jrsv.bin.{path.stem}")
    return out


def test_every_program_in_bin_is_a_subcommand():
    registered = {module for module, _ in list(COMMANDS.values()) + list(PROGRAMS.values())}
    missing = [m for m in _entry_modules()
               if m not in registered and m.rsplit(".", 1)[1] not in NOT_COMMANDS]
    assert not missing, f"not reachable from `jrsv --help`: {missing}"
    assert not set(COMMANDS) & set(PROGRAMS)


def test_top_level_help_lists_every_command(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    for name in list(COMMANDS) + list(PROGRAMS):
        assert f"    {name} " in out or f"    {name}\n" in out, name


@pytest.mark.parametrize("name", sorted(list(COMMANDS) + list(PROGRAMS)))
def test_subcommand_help_exits_0(name, capsys, monkeypatch):
    monkeypatch.setattr("sys.argv", ["jrsv"])  # PROGRAMS rewrite sys.argv for argparse's prog
    with pytest.raises(SystemExit) as e:
        main([name, "--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert out.lower().startswith("usage:"), out[:200]
    assert "--" in out  # its options are listed
