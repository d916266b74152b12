"""Average model weights of checkpoints (as WeNet's ``wenet/bin/average_model.py``).

    jrsv average --dst avg.pt --src-dir exp/x --num 5 [--metric valid_loss --mode min]
    jrsv average --dst avg.pt ckpt1.pt ckpt2.pt
"""
from __future__ import annotations

import argparse
import sys

from jrsv.train.checkpoint import atomic_save, average_checkpoints, list_checkpoints, select_best


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dst", required=True, help="output state dict (model weights only)")
    p.add_argument("--src-dir", help="model dir with step_*.pt checkpoints")
    p.add_argument("--num", type=int, default=5, help="how many checkpoints to average")
    p.add_argument("--metric", default="valid_loss", help="metric for best-N (val_best)")
    p.add_argument("--mode", choices=["min", "max"], default="min")
    p.add_argument("--last", action="store_true", help="average the last N instead of the best N")
    p.add_argument("paths", nargs="*", help="explicit checkpoints (instead of --src-dir)")
    a = p.parse_args(argv)
    if a.paths:
        paths = a.paths
    elif a.src_dir:
        paths = ([q for _, q in list_checkpoints(a.src_dir)][-a.num:] if a.last
                 else select_best(a.src_dir, a.num, a.metric, a.mode))
    else:
        p.error("give checkpoints or --src-dir")
    atomic_save(average_checkpoints(paths), a.dst)
    print(f"averaged {len(paths)} checkpoints -> {a.dst}: {' '.join(paths)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
