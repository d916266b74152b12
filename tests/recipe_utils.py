"""Helpers for tests that run the DTSSVD recipe on the tiny generated corpora."""
from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RECIPE = ROOT / "recipes" / "dtssvd"
TOOLS_OK = all(shutil.which(b) for b in ("espeak-ng", "fluidsynth")) and \
    Path("/usr/share/gcin").exists()
needs_tools = pytest.mark.skipif(not TOOLS_OK, reason="espeak-ng / fluidsynth / gcin-voice not installed")


def recipe_module(name: str):
    """``recipes/dtssvd/local/<name>.py`` imported as a module (the recipe's own programs are
    scripts, not part of the installed package)."""
    path = RECIPE / "local" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"dtssvd_recipe_{name}", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses and pickling look the module up by name
    spec.loader.exec_module(mod)
    return mod


def run_recipe(workdir: Path, *args: str, timeout: int = 1200) -> subprocess.CompletedProcess:
    """Run ``recipes/dtssvd/run.sh`` with data/ and exp/ under ``workdir``."""
    # the checkout under test, also where the installed (editable) jrsv is another one
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    env = dict(os.environ, PYTHON=sys.executable, OMP_NUM_THREADS="1", PYTHONPATH=path)
    cmd = ["bash", str(RECIPE / "run.sh"), "--data", str(workdir / "data"),
           "--exp", str(workdir / "exp"), "--preset", "tiny", *args]
    return subprocess.run(cmd, cwd=RECIPE, env=env, capture_output=True, text=True, timeout=timeout)
