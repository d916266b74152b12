"""Checkpoints: atomic save, safe load, ``latest`` discovery, keep-last-N pruning, averaging."""
from __future__ import annotations

import glob
import os
import random
import re
import warnings
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import torch

from jrsv.atomic import atomic_path
CKPT_RE = re.compile(r"^step_(\d+)\.pt$")


def ckpt_path(model_dir: str, step: int) -> str:
    """Path of the checkpoint written at ``step``."""
    return os.path.join(model_dir, f"step_{step:08d}.pt")


def rng_state() -> dict[str, Any]:
    """Python, numpy, torch (and CUDA when present) RNG states, as tensors/plain types."""
    np_state = np.random.get_state()
    state = {
        "python": random.getstate(),
        "numpy": (np_state[0], torch.from_numpy(np_state[1].copy()), *np_state[2:]),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: Mapping[str, Any]) -> None:
    """Restore what ``rng_state`` returned."""
    py = state["python"]
    random.setstate((py[0], tuple(py[1]), py[2]))
    n = state["numpy"]
    np.random.set_state((n[0], n[1].numpy(), *n[2:]))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def atomic_save(obj: Any, path: str) -> None:
    """``torch.save`` through :func:`jrsv.atomic.atomic_path` (unique temp, fsync, replace)."""
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        torch.save(obj, f)


def load_checkpoint(path: str, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load a checkpoint with ``weights_only=True``; one-line error naming the file."""
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as e:  # noqa: BLE001
        raise RuntimeError(f"{path}: cannot load checkpoint ({type(e).__name__}: {e})") from e


def list_checkpoints(model_dir: str) -> list[tuple[int, str]]:
    """(step, path) of ``step_*.pt`` files in ``model_dir``, oldest first (temp files ignored)."""
    out = []
    for p in glob.glob(os.path.join(model_dir, "step_*.pt")):
        m = CKPT_RE.match(os.path.basename(p))
        if m:
            out.append((int(m.group(1)), p))
    return sorted(out)


def find_latest(model_dir: str) -> tuple[str, dict[str, Any]] | None:
    """Newest loadable checkpoint as (path, state); corrupt ones are skipped with a warning."""
    for _, p in reversed(list_checkpoints(model_dir)):
        try:
            state = load_checkpoint(p)
            if not isinstance(state, dict) or "model" not in state or "step" not in state:
                raise RuntimeError(f"{p}: not a trainer checkpoint")
            return p, state
        except Exception as e:  # noqa: BLE001
            warnings.warn(f"ignoring corrupt checkpoint {p}: {e}")
    return None


def prune_checkpoints(model_dir: str, keep_last: int, protect: Iterable[str] = ()) -> list[str]:
    """Delete all but the newest ``keep_last`` checkpoints (``protect`` paths are kept)."""
    if keep_last <= 0:
        return []
    keep = {os.path.abspath(p) for p in protect}
    ckpts = list_checkpoints(model_dir)
    removed = []
    for _, p in ckpts[:-keep_last]:
        if os.path.abspath(p) not in keep:
            os.remove(p)
            removed.append(p)
    return removed


def select_best(model_dir: str, num: int, metric: str = "valid_loss", mode: str = "min") -> list[str]:
    """Paths of the best ``num`` checkpoints by ``state[metric]`` (as WeNet's ``--val_best``)."""
    scored = []
    for _, p in list_checkpoints(model_dir):
        try:
            v = load_checkpoint(p).get("metrics", {}).get(metric)
        except RuntimeError as e:
            warnings.warn(f"ignoring corrupt checkpoint {p}: {e}")
            continue
        if v is not None:
            scored.append((float(v), p))
    if not scored:
        raise ValueError(f"{model_dir}: no checkpoint holds metric {metric!r}")
    scored.sort(key=lambda t: t[0], reverse=(mode == "max"))
    return [p for _, p in scored[:num]]


def average_checkpoints(paths: Sequence[str]) -> dict[str, torch.Tensor]:
    """Element-wise mean of the model state dicts in ``paths`` (integer buffers: from the last)."""
    if not paths:
        raise ValueError("average_checkpoints: no checkpoint given")
    avg: dict[str, torch.Tensor] = {}
    for p in paths:
        state = load_checkpoint(p)
        sd = state["model"] if isinstance(state, dict) and "model" in state else state
        for k, v in sd.items():
            if not v.is_floating_point():
                avg[k] = v.clone()
            elif k in avg:
                avg[k] += v.double()
            else:
                avg[k] = v.double().clone()
    ref = load_checkpoint(paths[0])
    ref = ref["model"] if "model" in ref else ref
    return {k: (v / len(paths)).to(ref[k].dtype) if ref[k].is_floating_point() else v
            for k, v in avg.items()}
