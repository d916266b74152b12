"""Train a registered task from a YAML config (single process or under ``torchrun``).

    jrsv train --config conf.yaml --model-dir exp/x [--resume auto|PATH|none] \\
        [--override key.sub=value ...]

YAML keys read here: ``seed``, ``model.kind`` (task registry, see ``jrsv.train.registry``),
``optim`` (``name``, ``lr``, ``weight_decay``), ``scheduler`` (``name``: warmuplr|noam|constant|
plateau, ``warmup_steps``), ``train`` (``jrsv.train.trainer.DEFAULTS`` keys + ``average_best``),
``data`` (``batch_size``, ``num_workers``; the rest is the task's). Writes ``train.yaml``,
``step_*.pt``, ``tensorboard/``, ``avg_best.pt``, ``final/`` (when the task has ``export_model``)
and ``done`` (with the final checkpoint's sha256).
"""
from __future__ import annotations

import argparse
import copy
import logging
import os
import random
import sys
from typing import Any, Callable

import numpy as np
import torch
import yaml

from jrsv.atomic import atomic_write_text, install_signal_handlers, restore_signal_handlers
from jrsv.bin.logs import setup_logging
from jrsv.train import ddp
from jrsv.train.checkpoint import atomic_save, average_checkpoints, select_best
from jrsv.train.done import is_done, write_done
from jrsv.train.registry import get_task
from jrsv.train.scheduler import build_optimizer, build_scheduler
from jrsv.train.trainer import Trainer

log = logging.getLogger(__name__)


def apply_overrides(conf: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """``a.b=value`` (value parsed as YAML) into a copy of ``conf``."""
    conf = copy.deepcopy(conf)
    for item in overrides:
        if "=" not in item:
            raise ValueError(f"--override expects key=value, got {item!r}")
        key, value = item.split("=", 1)
        node = conf
        parts = key.split(".")
        for p in parts[:-1]:
            node = node.setdefault(p, {})
            if not isinstance(node, dict):
                raise ValueError(f"--override {key}: {p} is not a mapping")
        node[parts[-1]] = yaml.safe_load(value)
    return conf


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def export_final(model: torch.nn.Module, conf: dict[str, Any], model_dir: str, weights: dict) -> None:
    """``final/`` via ``jrsv.model_io.save_model_dir`` when the task exposes ``export_model()``."""
    if not hasattr(model, "export_model"):
        return
    from jrsv.model_io import read_units, save_model_dir  # lazy: model code
    model.load_state_dict(weights)
    data_dir = conf.get("data", {}).get("dir", "")
    units = read_units(data_dir) if os.path.isfile(os.path.join(data_dir, "units.txt")) else None
    save_model_dir(model.export_model(), os.path.join(model_dir, "final"), units=units)


def run(conf: dict[str, Any], model_dir: str, resume: str = "auto",
        step_fn: Callable[[Trainer], None] | None = None) -> str:
    """Train; returns the final checkpoint path (rank 0 writes outputs).
    ``step_fn(trainer)`` runs after every optimizer step (see :class:`Trainer`)."""
    info = ddp.init_distributed(conf.get("device"))
    try:
        seed = int(conf.get("seed", 0))
        seed_everything(seed + info.rank)
        if info.is_main:
            os.makedirs(model_dir, exist_ok=True)
            atomic_write_text(os.path.join(model_dir, "train.yaml"),
                              yaml.safe_dump(conf, sort_keys=False, allow_unicode=True))
        task = get_task(conf.get("model", {}).get("kind"))
        model = task.build_model(conf)
        train_loader, valid = task.build_loaders(conf, model, info)
        wrapped = ddp.wrap_model(model, info)
        optimizer = build_optimizer(wrapped.parameters(), conf.get("optim", {}))
        scheduler = build_scheduler(optimizer, conf.get("scheduler", {}))
        tconf = {**conf.get("train", {}), "model_dir": model_dir, "seed": seed}
        log_fn = getattr(model, "log_examples", None)  # tensorboard examples (rank 0)
        trainer = Trainer(wrapped, optimizer, scheduler, train_loader, valid, {**conf, **tconf},
                          dist_info=info, log_fn=log_fn, step_fn=step_fn)
        trainer.conf.update(tconf)
        if resume == "auto":
            trainer.resume()
        elif resume not in ("none", ""):
            trainer.resume(resume)
        final = trainer.train()
        ddp.barrier()
        if info.is_main:
            n = int(conf.get("train", {}).get("average_best", 0))
            paths: list[str] = []
            if n > 0 and valid is not None:
                try:
                    paths = select_best(model_dir, n, trainer.conf["metric"],
                                        trainer.conf["metric_mode"])
                except ValueError:  # stopped (signal, max_minutes) before the first validation
                    log.warning("%s: stopped at step %d before the first validation: final/ "
                                "holds that step's weights, not an average of validated "
                                "checkpoints", model_dir, trainer.step)
            if paths:
                avg = average_checkpoints(paths)
                atomic_save(avg, os.path.join(model_dir, "avg_best.pt"))
                export_final(model, conf, model_dir, avg)
            else:
                export_final(model, conf, model_dir, ddp.unwrap(wrapped).state_dict())
            if trainer.stop_signal:  # final/ is usable; a rerun resumes from the checkpoint
                log.info("%s: stopped by signal %d at step %d (checkpoint saved); run again to "
                         "go on", model_dir, trainer.stop_signal, trainer.step)
            elif trainer.timed_out:  # final/ is usable; a rerun resumes towards max_steps
                log.info("%s: stopped at train.max_minutes (step %d); run again to go on",
                         model_dir, trainer.step)
            else:
                write_done(model_dir, final)
        ddp.barrier()
        if trainer.stop_signal:
            raise SystemExit(128 + trainer.stop_signal)
        return final
    finally:
        ddp.cleanup()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", required=True)
    p.add_argument("--model-dir", required=True)
    p.add_argument("--resume", default="auto", help="auto (newest valid checkpoint) | none | PATH")
    p.add_argument("--override", nargs="*", default=[], action="extend", help="key.sub=value")
    a = p.parse_args(argv)
    setup_logging("jrsv train")
    try:
        with open(a.config, encoding="utf-8") as f:
            conf = yaml.safe_load(f) or {}
    except (OSError, yaml.YAMLError) as e:
        print(f"{a.config}: cannot read config ({e})", file=sys.stderr)
        return 2
    try:
        conf = apply_overrides(conf, a.override)
    except ValueError as e:
        print(f"jrsv train: error: {e}", file=sys.stderr)
        return 2
    if a.resume not in ("auto", "none", "") and not os.path.isfile(a.resume):
        print(f"jrsv train: error: --resume {a.resume}: no such checkpoint file", file=sys.stderr)
        return 2
    if is_done(a.model_dir) and a.resume == "auto":
        print(f"{a.model_dir}: done marker valid, nothing to do", file=sys.stderr)
        return 0
    previous = install_signal_handlers()
    try:
        run(conf, a.model_dir, a.resume)
    except KeyboardInterrupt:
        print(f"jrsv train: interrupted; the newest checkpoint in {a.model_dir} resumes it",
              file=sys.stderr)
        return 130
    except SystemExit as e:  # SIGTERM / SIGHUP (jrsv.atomic.install_signal_handlers)
        print(f"jrsv train: stopped by a signal; the newest checkpoint in {a.model_dir} "
              "resumes it", file=sys.stderr)
        return int(e.code or 1)
    except (OSError, ValueError, KeyError, RuntimeError) as e:
        print(f"jrsv train: error: {' '.join(str(e).split())[:500]}", file=sys.stderr)
        return 1
    finally:
        restore_signal_handlers(previous)
    return 0


if __name__ == "__main__":
    sys.exit(main())
