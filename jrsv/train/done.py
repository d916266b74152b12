"""``done`` marker: written when training finishes, holding the final checkpoint's sha256."""
from __future__ import annotations

import os

from jrsv.checksum import sha256_file
from jrsv.markers import read_marker, write_marker

DONE = "done"


def write_done(model_dir: str, final_path: str) -> str:
    """Write ``model_dir/done`` = {"checkpoint": relative path, "sha256": ...} atomically."""
    rel = os.path.relpath(final_path, model_dir)
    marker = os.path.join(model_dir, DONE)
    write_marker(marker, {"checkpoint": rel, "sha256": sha256_file(final_path)})
    return marker


def is_done(model_dir: str) -> bool:
    """True iff ``done`` exists, parses, and its checkpoint exists with the recorded sha256."""
    info = read_marker(os.path.join(model_dir, DONE))
    try:
        path = os.path.join(model_dir, info["checkpoint"])
        return os.path.isfile(path) and sha256_file(path) == info["sha256"]
    except (OSError, KeyError, TypeError):
        return False
