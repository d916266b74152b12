#!/usr/bin/env python3
"""Render ``exp/report.md``: the paper's Tables 1-4 from score files, plus PNG plots.

Usage: ``local/report.py --scores exp/scores --out exp/report.md [--example exp/example.npz]``

The table titles and row order are the paper's (this recipe's); the score files are the
library's schema (:mod:`jrsv.eval.scores`).
"""
from __future__ import annotations

import argparse
import logging
import math
import sys
from pathlib import Path


from jrsv.atomic import atomic_path, atomic_write_text
from jrsv.eval.scores import OVERLAPS, ScoreFile, read_score

log = logging.getLogger(__name__)

TITLES = {
    1: "Table 1: ASR models directly recognise the test mixtures (no separation). CER % (speech / singing)",
    2: "Table 2: SDR improvements (dB) of the MTASS models per overlap ratio",
    3: "Table 3: cascade (MTASS -> iSTFT -> fbank ASR-multi). CER % (speech / singing)",
    4: "Table 4: JRSV. CER % (speech / singing)",
}


# Row order of each table as in the paper; systems not listed come after, alphabetically.
# Per table: "+ L_dis" is a row of both Table 2 (MTASS) and Table 3 (cascade).
ROW_ORDER = {1: ["speech", "singing", "multi"], 2: ["MTASS", "+ L_dis", "+ L_cst"],
             3: ["ASR / MTASS", "+ L_dis", "+ L_dis + L_cst"], 4: ["JRSV-t", "JRSV-f", "JRSV-f-d"]}


def _row_key(s: ScoreFile) -> tuple:
    order = ROW_ORDER.get(s.table, [])
    return (s.table, order.index(s.system) if s.system in order else len(order), s.system)


def _fmt(x: float | None) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.1f}"


def _pair(d: dict | None) -> str:
    if not d:
        return "–"
    return f"{_fmt(d.get('speech'))} / {_fmt(d.get('singing'))}"


def render_table(table: int, scores: list[ScoreFile]) -> str:
    """Markdown for one table in the paper's layout."""
    lines = [f"### {TITLES[table]}", ""]
    if table == 1:
        lines += ["| model | Unmixed | " + " | ".join(f"Overlap {o}" for o in OVERLAPS) + " |",
                  "|---" * (len(OVERLAPS) + 2) + "|"]
        for s in scores:
            cells = [_pair(s.unmixed)] + [_pair(s.per_overlap.get(o)) for o in OVERLAPS]
            lines.append(f"| `{s.system}` | " + " | ".join(cells) + " |")
    elif table == 2:
        lines += ["| model | track | " + " | ".join(OVERLAPS) + " |", "|---" * (len(OVERLAPS) + 2) + "|"]
        for s in scores:
            for track in ("speech", "singing"):
                cells = [_fmt(s.per_overlap.get(o, {}).get(track)) for o in OVERLAPS]
                lines.append(f"| {s.system} | `{track}` | " + " | ".join(cells) + " |")
    else:
        lines += ["| system | " + " | ".join(OVERLAPS) + " | Avg. |", "|---" * (len(OVERLAPS) + 2) + "|"]
        for s in scores:
            cells = [_pair(s.per_overlap.get(o)) for o in OVERLAPS]
            avg = f"{_fmt(s.average('speech'))} / {_fmt(s.average('singing'))}"
            lines.append(f"| {s.system} | " + " | ".join(cells) + f" | {avg} |")
    cmds = sorted({s.command for s in scores if s.command})
    if cmds:
        lines += ["", "Measured by: " + "; ".join(f"`{c}`" for c in cmds)]
    return "\n".join(lines) + "\n"


def plot_vs_overlap(scores: list[ScoreFile], ylabel: str, path: Path) -> None:
    """One line per (system, track) against the overlap ratio."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=False)
    xs = [float(o) for o in OVERLAPS]
    for ax, track in zip(axes, ("speech", "singing")):
        for s in scores:
            ys = [s.per_overlap.get(o, {}).get(track, float("nan")) for o in OVERLAPS]
            ax.plot(xs, ys, marker="o", label=f"T{s.table} {s.system}")
        ax.set_title(track)
        ax.set_xlabel("overlap ratio")
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
    axes[1].legend(fontsize=7, loc="best")
    fig.tight_layout()
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=110)
    plt.close(fig)


def plot_spectrograms(example: Path, path: Path) -> None:
    """Spectrograms of one example: an npz with 2-D (T, F) magnitude arrays per name."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    data = np.load(example)
    names = [n for n in ("mixture", "speech_ref", "singing_ref", "speech_est", "singing_est")
             if n in data]
    fig, axes = plt.subplots(len(names), 1, figsize=(9, 1.8 * len(names)), sharex=True)
    for ax, n in zip(np.atleast_1d(axes), names):
        ax.imshow(20 * np.log10(data[n].T + 1e-5), origin="lower", aspect="auto",
                  vmin=-80, vmax=20, cmap="magma")
        ax.set_ylabel(n, fontsize=8)
    fig.tight_layout()
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=100)
    plt.close(fig)


def build_report(score_dir: Path, out: Path, example: Path | None = None) -> str:
    scores = [read_score(p) for p in sorted(score_dir.glob("*.json"))]
    by_table: dict[int, list[ScoreFile]] = {}
    for s in sorted(scores, key=_row_key):
        by_table.setdefault(s.table, []).append(s)
    parts = ["# DTSSVD report", "",
             "Every number below was computed by the recipe from real runs; the command is under each table.", ""]
    for t in (1, 2, 3, 4):
        if t in by_table:
            parts.append(render_table(t, by_table[t]))
        else:
            parts.append(f"### {TITLES[t]}\n\n(not run)\n")
    out.parent.mkdir(parents=True, exist_ok=True)
    cer = [s for s in scores if s.metric == "cer" and s.table in (3, 4)]
    if cer:
        plot_vs_overlap(cer, "CER %", out.parent / "cer_vs_overlap.png")
        parts.append("![CER vs overlap](cer_vs_overlap.png)\n")
    sdr = by_table.get(2, [])
    if sdr:
        plot_vs_overlap(sdr, "SDRi (dB)", out.parent / "sdri_vs_overlap.png")
        parts.append("![SDRi vs overlap](sdri_vs_overlap.png)\n")
    if example is not None and example.exists():
        plot_spectrograms(example, out.parent / "example_spectrograms.png")
        parts.append("![spectrograms of one test example](example_spectrograms.png)\n")
    text = "\n".join(parts)
    atomic_write_text(out, text)
    return text


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--scores", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--example", type=Path, default=None)
    a = ap.parse_args(argv)
    if not a.scores.is_dir():
        log.error("%s: no such score directory", a.scores)
        return 1
    print(build_report(a.scores, a.out, a.example))
    return 0


if __name__ == "__main__":
    from jrsv.bin.logs import setup_logging
    setup_logging("jrsv report")
    sys.exit(main())
