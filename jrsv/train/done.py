"""``done`` marker: written when training finishes, holding the final checkpoint's sha256."""
from __future__ import annotations

import json
import os

from jrsv.atomic import atomic_write_text
from jrsv.checksum import sha256_file

DONE = "done"


def write_done(model_dir: str, final_path: str) -> str:
    """Write ``model_dir/done`` = {"checkpoint": relative path, "sha256": ...} atomically."""
    rel = os.path.relpath(final_path, model_dir)
    marker = os.path.join(model_dir, DONE)
    atomic_write_text(marker, json.dumps({"checkpoint": rel, "sha256": sha256_file(final_path)}) + "\n")
    return marker


def is_done(model_dir: str) -> bool:
    """True iff ``done`` exists, parses, and its checkpoint exists with the recorded sha256."""
    marker = os.path.join(model_dir, DONE)
    try:
        with open(marker, encoding="utf-8") as f:
            info = json.load(f)
        path = os.path.join(model_dir, info["checkpoint"])
        return os.path.isfile(path) and sha256_file(path) == info["sha256"]
    except (OSError, ValueError, KeyError, TypeError):
        return False
