"""Average model weights of checkpoints (as WeNet's ``wenet/bin/average_model.py``).

    jrsv average --dst avg.pt --src-dir exp/x --num 5 [--metric valid_loss --mode min]
    jrsv average --dst avg.pt ckpt1.pt ckpt2.pt
    jrsv average --dst avg.pt --final exp/x/final_step3000 --template exp/x/final exp/x/step_00003000.pt

``--final DIR`` also writes a loadable model directory (``jrsv decode --model DIR``, the recipe's
scoring) with the averaged weights, its config and units taken from ``--template`` (a model dir of
the same run, e.g. ``exp/x/final``; default ``SRC_DIR/final``): the model at a chosen step, e.g. to
compare two systems at an equal number of steps.
"""
from __future__ import annotations

import argparse
import os
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
    p.add_argument("--final", help="also write a model dir with the averaged weights here")
    p.add_argument("--template", help="model dir whose config and units --final copies "
                                      "(default: SRC_DIR/final)")
    p.add_argument("paths", nargs="*", help="explicit checkpoints (instead of --src-dir)")
    a = p.parse_args(argv)
    if a.paths:
        paths = a.paths
    elif a.src_dir:
        paths = ([q for _, q in list_checkpoints(a.src_dir)][-a.num:] if a.last
                 else select_best(a.src_dir, a.num, a.metric, a.mode))
    else:
        p.error("give checkpoints or --src-dir")
    avg = average_checkpoints(paths)
    atomic_save(avg, a.dst)
    print(f"averaged {len(paths)} checkpoints -> {a.dst}: {' '.join(paths)}", file=sys.stderr)
    if a.final:
        template = a.template or (os.path.join(a.src_dir, "final") if a.src_dir else None)
        if not template:
            p.error("--final needs --template (or --src-dir with a final/ model dir)")
        try:
            write_final(avg, template, a.final)
        except (OSError, ValueError) as e:
            print(f"jrsv average: error: {' '.join(str(e).split())}", file=sys.stderr)
            return 1
        print(f"model dir with these weights -> {a.final}", file=sys.stderr)
    return 0


def write_final(task_state: dict, template: str, out: str) -> None:
    """A training checkpoint's task weights -> a model dir like ``template`` (same config and
    units). The task wraps the exported model under a prefix (``model.`` for JRSV, ``asr.`` for
    the ASR task, none for MTASS): the prefix that holds every tensor of the model is used."""
    from jrsv.model_io import load_model_dir, read_config, read_units, save_model_dir

    model = load_model_dir(template)
    want = model.state_dict()
    prefixes = {k[:len(k) - len(w)] for k in task_state for w in want if k.endswith(w)}
    prefix = next((q for q in sorted(prefixes, key=len)
                   if all(q + w in task_state for w in want)), None)
    if prefix is None:
        raise ValueError(f"the checkpoints do not hold the tensors of the model in {template}")
    model.load_state_dict({w: task_state[prefix + w].to(v.dtype) for w, v in want.items()})
    conf = read_config(template)
    units = read_units(template) if os.path.isfile(os.path.join(template, "units.txt")) else None
    save_model_dir(model, out, units=units,
                   extra_config={k: v for k, v in conf.items() if k not in ("format_version", "model")})


if __name__ == "__main__":
    sys.exit(main())
