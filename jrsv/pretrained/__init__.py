"""Files that ship with the package: the default model and a small sample mixture.

``jrsv/pretrained/default/`` is the bundled default model directory (``model.pt``,
``config.yaml``, ``units.txt``, ``MODEL_CARD.md``; see :mod:`jrsv.model_io`);
``jrsv/pretrained/sample/`` is the demo's held-out sample mixture with its references (built by
``jrsv make-sample``). Both are package data, so a plain ``pip install`` carries them.
"""
from __future__ import annotations

from pathlib import Path

PRETRAINED_DIR = Path(__file__).resolve().parent
DEFAULT_MODEL_DIR = PRETRAINED_DIR / "default"
SAMPLE_DIR = PRETRAINED_DIR / "sample"


def default_model_dir() -> Path:
    """The bundled default model directory (``--model``'s default, ``jrsv.Transcriber()``'s)."""
    return DEFAULT_MODEL_DIR
