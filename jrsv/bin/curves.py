"""Learning curves of trained models: loss and dev CER against steps and wall-clock hours.

    jrsv curves exp/asr_multi exp/jrsv_fd --out curves.png [--json curves.json]

Reads each model directory's ``tensorboard/`` event files (``train/loss``, ``valid/valid_loss``,
``valid/valid_cer`` or, for JRSV, ``valid/valid_cer_speech`` / ``valid/valid_cer_singing``) and draws a 2 x 2 figure: loss and dev CER, each against
the training step and against wall-clock hours since the first logged step (pauses between resumed
runs are left out, so the hours are training time). ``--json`` also writes the numbers.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from typing import Dict, List, Optional, Tuple

from jrsv.atomic import atomic_path, atomic_write_text

log = logging.getLogger(__name__)

TAGS = {"train_loss": "train/loss", "dev_loss": "valid/valid_loss", "dev_cer": "valid/valid_cer",
        # JRSV models: one dev CER per track
        "dev_cer_speech": "valid/valid_cer_speech", "dev_cer_singing": "valid/valid_cer_singing"}
CER_NAMES = ("dev_cer", "dev_cer_speech", "dev_cer_singing")
#: a gap between two logged points longer than this is a pause (a killed and resumed run)
PAUSE_S = 600.0

Series = List[Tuple[int, float, float]]  # (step, hours, value)


def read_curves(model_dir: str) -> Dict[str, Series]:
    """Tag name -> [(step, training hours, value)] for one model directory (ValueError if none)."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    tb = os.path.join(model_dir, "tensorboard")
    if not os.path.isdir(tb):
        raise ValueError(f"{model_dir}: no tensorboard/ directory (not a trained model dir?)")
    acc = EventAccumulator(tb, size_guidance={"scalars": 0})
    acc.Reload()
    have = set(acc.Tags().get("scalars", []))
    events = {name: acc.Scalars(tag) for name, tag in TAGS.items() if tag in have}
    if not events:
        raise ValueError(f"{tb}: no {', '.join(TAGS.values())} scalars")
    # one training clock for all tags: wall times of every event, pauses removed
    times = sorted({(e.wall_time, e.step) for evs in events.values() for e in evs})
    clock: Dict[float, float] = {}
    elapsed, last = 0.0, None
    for wall, _ in times:
        if last is not None:
            gap = wall - last
            elapsed += gap if gap < PAUSE_S else 0.0
        clock[wall] = elapsed / 3600.0
        last = wall
    out: Dict[str, Series] = {}
    for name, evs in events.items():
        by_step = {e.step: (e.step, clock[e.wall_time], float(e.value)) for e in evs}  # a resumed run wins
        out[name] = [by_step[s] for s in sorted(by_step)]
    return out


def plot(curves: Dict[str, Dict[str, Series]], path: str) -> None:
    """Write the 2 x 2 figure for several models (``curves``: model label -> read_curves output)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(11, 7.5))
    for label, cur in curves.items():
        for row, (metric, names) in enumerate((("loss", ("train_loss", "dev_loss")), ("CER", CER_NAMES))):
            for col, x in enumerate((0, 1)):
                ax = axes[row][col]
                for name in names:
                    pts = cur.get(name, [])
                    if pts:
                        style = "-" if name.startswith("dev") else ":"
                        ax.plot([p[x] for p in pts], [p[2] for p in pts], style, label=f"{label} {name}")
                ax.set_xlabel("step" if x == 0 else "training hours (wall-clock)")
                ax.set_ylabel(metric if metric == "loss" else "dev CER (CTC greedy)")
                ax.grid(alpha=0.3)
    for ax in axes.flat:
        if ax.lines:
            ax.legend(fontsize=7)
    fig.tight_layout()
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("model_dirs", nargs="+", metavar="MODEL_DIR", help="trained model directories")
    p.add_argument("--out", required=True, help="PNG to write")
    p.add_argument("--json", help="also write the numbers here")


def run(args: argparse.Namespace) -> int:
    try:
        curves = {os.path.basename(os.path.normpath(d)): read_curves(d) for d in args.model_dirs}
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    plot(curves, args.out)
    if args.json:
        atomic_write_text(args.json, json.dumps(curves, indent=1) + "\n")
    for label, cur in curves.items():
        last = {k: round(v[-1][2], 4) for k, v in cur.items() if v}
        hours = max((v[-1][1] for v in cur.values() if v), default=0.0)
        print(f"{label}: {json.dumps(last)} after {hours:.2f} h")
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="jrsv curves", description=__doc__.split("\n")[0])
    add_arguments(p)
    return run(p.parse_args(argv))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
