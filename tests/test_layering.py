"""Package layering: ``dtssvd`` (benchmark builder, generators) depends on ``jrsv``, never the
reverse, and the recipe's own programs live in the recipe, not in the installed library.

Read from the source with ``ast`` (nothing is imported), so an import hidden inside a function
or made through ``importlib.import_module("dtssvd...")`` / ``__import__`` counts too. The only
place jrsv may *name* a dtssvd module is the command table of ``jrsv/bin/main.py`` (plain
strings, loaded when that command runs; see the comment there).
"""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = "dtssvd"


def _is_forbidden(module: str | None) -> bool:
    return bool(module) and (module == FORBIDDEN or module.startswith(FORBIDDEN + "."))


def forbidden_imports(source: str, filename: str) -> list[str]:
    """``file:line: what`` for every import of ``dtssvd`` in ``source`` (statements at any
    depth, and dynamic imports with a literal module name)."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        names: list[str | None] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names = [node.module]
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            f = node.func
            called = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", "")
            if called in ("import_module", "__import__") and isinstance(node.args[0].value, str):
                names = [node.args[0].value]
        found += [f"{filename}:{node.lineno}: {n}" for n in names if _is_forbidden(n)]
    return found


def test_the_checker_sees_every_kind_of_import():
    src = ("import os\nimport dtssvd\nfrom dtssvd.mix import render\n"
           "def f():\n    from dtssvd import build\n    import dtssvd.synth.cli as c\n"
           "    importlib.import_module('dtssvd.build')\n    __import__('dtssvd')\n"
           "from jrsv.data import mix\nimport dtssvdx\nNAME = 'dtssvd.build'\n")
    assert [x.split(": ")[1] for x in forbidden_imports(src, "x.py")] == [
        "dtssvd", "dtssvd.mix", "dtssvd", "dtssvd.synth.cli", "dtssvd.build", "dtssvd"]


def test_jrsv_never_imports_dtssvd():
    files = sorted((ROOT / "jrsv").rglob("*.py"))
    assert len(files) > 50
    found = [hit for p in files
             for hit in forbidden_imports(p.read_text(encoding="utf-8"),
                                          str(p.relative_to(ROOT)))]
    assert not found, "jrsv imports dtssvd (move the code into jrsv or dtssvd):\n" + \
        "\n".join(found)


def test_recipe_stages_are_not_library_modules():
    """Stage 0-1 data preparation, the paper's table rows and exp-dir naming (stage 5) and the
    report (stage 6) are the recipe's (recipes/dtssvd/local/, run from run.sh); the library
    keeps the generic scoring (jrsv/eval/)."""
    for name in ("prepare_data", "prepare_features", "evaluate", "report"):
        for lib in ("bin", "eval"):
            assert not (ROOT / "jrsv" / lib / f"{name}.py").exists(), (lib, name)
        assert (ROOT / "recipes" / "dtssvd" / "local" / f"{name}.py").is_file(), name
        assert f"$python local/{name}.py" in (ROOT / "recipes" / "dtssvd" / "run.sh").read_text()


def test_cli_names_dtssvd_programs_only_as_optional_strings(monkeypatch, capsys):
    """A dtssvd program reached through ``jrsv`` is a one-line error where dtssvd is missing."""
    import sys

    from jrsv.bin import main as cli
    dtssvd_cmds = [c for c, (m, _) in cli.PROGRAMS.items() if _is_forbidden(m)]
    assert dtssvd_cmds and FORBIDDEN in cli.OPTIONAL_PACKAGES
    for name in [m for m in sys.modules if _is_forbidden(m)]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, FORBIDDEN, None)  # any import of dtssvd now fails
    for cmd in dtssvd_cmds:
        assert cli.main([cmd, "--help"]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and cmd in err[0] and "dtssvd" in err[0], err


LIBRARY_MODULES = ("jrsv.data.onthefly", "jrsv.data.manifest_mixtures", "jrsv.data.mix",
                   "jrsv.tasks.mixtures", "jrsv.eval.decode_sets", "jrsv.eval.sample_stream",
                   "jrsv.bin.calibrate", "jrsv.bin.robustness", "jrsv.bin.main")


def test_library_modules_import_without_dtssvd():
    """The moved datasets and their users import in a fresh interpreter where ``dtssvd``
    cannot be imported."""
    import subprocess
    import sys
    code = "import sys; sys.modules['dtssvd'] = None\n" + "".join(
        f"import {m}\n" for m in LIBRARY_MODULES)
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
