"""JSON-lines manifests: atomic write, validated read."""
from __future__ import annotations

import json
from typing import Iterable, List

from jrsv.data.audio import atomic_write_bytes


def dumps_jsonl(rows: Iterable[dict]) -> bytes:
    """Canonical bytes (sorted keys, utf-8, no NaN) so equal rows give equal files."""
    return "".join(json.dumps(r, ensure_ascii=False, sort_keys=True, allow_nan=False) + "\n"
                   for r in rows).encode("utf-8")


def write_jsonl(path: str, rows: Iterable[dict]) -> None:
    """Atomically write `rows` as jsonl."""
    atomic_write_bytes(path, dumps_jsonl(rows))


def read_jsonl(path: str) -> List[dict]:
    """Read a jsonl file; a bad line raises ValueError naming file and line."""
    out = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError as e:
                raise ValueError(f"{path}:{n}: invalid json ({e.msg})") from None
    return out
