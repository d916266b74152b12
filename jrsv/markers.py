"""Done markers: the one way an output records what it was made from, so a rerun can skip it.

A marker is a small JSON object next to an output (a model dir's ``done``, a score file's
``.done``, a DTSSVD list's ``split.done.json``, the source lists' ``done.json``), written
atomically after the output itself. Each user decides what "up to date" means (the config it was
made with, a checksum of the output, newer weights); this module only writes and reads the record.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Mapping

from jrsv.atomic import atomic_write_text


def write_marker(path: str | os.PathLike, record: Mapping[str, Any]) -> Path:
    """Write ``record`` as JSON to ``path`` atomically (after the output it describes)."""
    return atomic_write_text(path, json.dumps(dict(record), indent=1, sort_keys=True,
                                              ensure_ascii=False) + "\n")


def read_marker(path: str | os.PathLike) -> dict[str, Any] | None:
    """The record at ``path``, or ``None`` when it is missing, unreadable or not a JSON object
    (an output without a valid marker is simply not done)."""
    try:
        with open(path, encoding="utf-8") as f:
            record = json.load(f)
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None
