"""``model.kind`` -> task builder. Builders are imported lazily (only the one used)."""
from __future__ import annotations

import importlib
from typing import Any, Mapping

TASKS = {"asr": "jrsv.tasks.asr", "mtass": "jrsv.tasks.mtass", "jrsv": "jrsv.tasks.jrsv_task"}


def build_task(conf: Mapping[str, Any]):
    """Config -> (task module, train dataset, valid dataset, collate function)."""
    kind = conf.get("model", {}).get("kind")
    if kind not in TASKS:
        raise ValueError(f"model.kind must be one of {sorted(TASKS)}, got {kind!r}")
    return importlib.import_module(TASKS[kind]).build(conf)
