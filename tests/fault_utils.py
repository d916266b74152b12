"""Helpers for the fault-injection tests: a small tmpfs (a real full disk), leftover temp files."""
from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest
from jrsv.pretrained import default_model_dir

ROOT = Path(__file__).resolve().parents[1]
MODEL = default_model_dir()


@contextlib.contextmanager
def small_tmpfs(path: Path, size_kb: int) -> Iterator[Path]:
    """Mount a ``size_kb`` tmpfs at ``path`` (skips the test where mounting is not allowed)."""
    path.mkdir(parents=True, exist_ok=True)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", str(path)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({r.stderr.strip()[:80]})")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def fill(directory: Path) -> None:
    """Fill the file system of ``directory`` to the last byte."""
    with open(directory / "filler", "wb", buffering=0) as f:
        for size in (4096, 512, 1):
            try:
                while True:
                    f.write(b"\0" * size)
            except OSError:
                pass


def leftovers(*dirs: Path) -> list[str]:
    """Temp files (``*.tmp*``) anywhere under ``dirs``."""
    return sorted(str(p) for d in dirs if d.exists() for p in d.rglob("*")
                  if ".tmp" in p.name)


def jrsv_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "jrsv.bin.main", *args]


def env1() -> dict:
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
