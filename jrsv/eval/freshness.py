"""Skip-if-done for score files.

Next to ``SCORES/<stem>.json`` the evaluator writes ``SCORES/<stem>.done`` (JSON, not ``*.json``
so the report ignores it) holding the evaluation config (split, beam, max-utts, decode mode,
manifest sha256, ...). A score file is up to date when it parses, its ``.done`` config equals
the current one, and it is newer than every ``model.pt`` it was computed from.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

from jrsv.eval.scores import read_score
from jrsv.markers import read_marker, write_marker


def done_path(score_path: Path) -> Path:
    return score_path.with_suffix(".done")


def is_up_to_date(score_path: Path, config: dict[str, Any], weights: Iterable[Path]) -> bool:
    """True if ``score_path`` can be kept (see module docstring)."""
    marker = done_path(score_path)
    if not (score_path.is_file() and marker.is_file()):
        return False
    try:
        read_score(score_path)
    except (ValueError, OSError):
        return False
    recorded = read_marker(marker)
    if recorded is None or recorded.get("config") != config:
        return False
    mtime = score_path.stat().st_mtime
    for w in weights:
        if not w.is_file() or w.stat().st_mtime >= mtime:
            return False
    return True


def write_done(score_path: Path, config: dict[str, Any], models: dict[str, str]) -> None:
    """Record the config a score file was computed with (atomic)."""
    marker = done_path(score_path)
    write_marker(marker, {"config": config, "models": models})
