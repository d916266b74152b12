"""Training-step throughput of one recipe config under several ``train.amp`` settings, measured
in one run on the same batches (settings interleaved, fastest round kept).

    jrsv bench-train --config recipes/dtssvd/conf/jrsv_tiny.yaml --data recipes/dtssvd/data_large \\
        --override model.mtass_dir=recipes/dtssvd/exp_large/mtass_dis_cst [--amp none,bf16] \\
        [--steps 6 --rounds 2 --threads 2]

``--steps`` batches are drawn once from the config's training set (any task: ASR utterances,
MTASS crops, JRSV mixtures) and read outside the timing; each round then runs them as training
steps (forward under the setting's autocast exactly as :class:`jrsv.train.trainer.Trainer` does,
backward, Adam) for every setting in turn. The first setting is the baseline of the printed
ratios. On a CPU with bf16 instructions (``avx512_bf16``, AMX) ``bf16`` is the faster setting.
"""
from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from typing import List, Optional

import torch
import yaml


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", required=True, help="a training config (any model.kind)")
    p.add_argument("--data", required=True, help="recipe data dir (sets data.dir)")
    p.add_argument("--override", nargs="*", default=[], metavar="KEY=VALUE",
                   help="config overrides, as for jrsv train")
    p.add_argument("--amp", default="none,bf16", help="train.amp settings to compare, comma-separated")
    p.add_argument("--steps", type=int, default=6, help="training steps per setting and round")
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    p.add_argument("--device", default="cpu")


def audio_seconds(batch) -> float:
    """Seconds of (unpadded) audio in a collated batch, from its waveform lengths."""
    for key in ("wav_lens", "lengths"):
        if isinstance(batch, dict) and key in batch:
            return float(batch[key].sum()) / 16000.0
    return float("nan")


def run(args: argparse.Namespace) -> int:
    from jrsv.bin.train import apply_overrides
    from jrsv.tasks.registry import build_task
    from jrsv.train.trainer import amp_dtype, autocast

    settings = [s.strip() for s in args.amp.split(",") if s.strip()]
    if args.steps < 1 or args.rounds < 1 or not settings:
        print("error: --steps and --rounds must be >= 1 and --amp name a setting", file=sys.stderr)
        return 2
    device = torch.device(args.device)
    try:
        dtypes = {s: amp_dtype(s, device) for s in settings}
    except ValueError as e:
        print(f"error: --amp: {e}", file=sys.stderr)
        return 2
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        with open(args.config, encoding="utf-8") as f:
            conf = yaml.safe_load(f)
        conf = apply_overrides(conf, [f"data.dir={args.data}", *args.override])
    except (OSError, ValueError, yaml.YAMLError) as e:
        print(f"error: {args.config}: {e}", file=sys.stderr)
        return 2
    torch.manual_seed(int(conf.get("seed", 0)))
    task, train, _, collate = build_task(conf)
    task.to(device).train()
    loader = torch.utils.data.DataLoader(train, batch_size=int(conf["data"].get("batch_size", 16)),
                                         collate_fn=collate, num_workers=0,
                                         shuffle=not isinstance(train, torch.utils.data.IterableDataset))
    batches = list(itertools.islice(iter(loader), args.steps))
    if len(batches) < args.steps:
        print(f"error: {args.config}: the training set gave {len(batches)} batches, fewer than "
              f"--steps {args.steps}", file=sys.stderr)
        return 2
    batches = [{k: v.to(device) if torch.is_tensor(v) else v for k, v in b.items()} for b in batches]
    examples = sum(len(next(v for v in b.values() if torch.is_tensor(v))) for b in batches)
    seconds = sum(audio_seconds(b) for b in batches)
    opt = torch.optim.Adam(task.parameters(), 1e-5)
    best = {s: float("inf") for s in settings}
    for _ in range(args.rounds):
        for s in settings:
            t0 = time.perf_counter()
            for b in batches:
                opt.zero_grad(set_to_none=True)
                with autocast(device, dtypes[s]):
                    loss = task(b)["loss"]
                loss.backward()
                opt.step()
            if device.type == "cuda":
                torch.cuda.synchronize()
            best[s] = min(best[s], time.perf_counter() - t0)
    res = {s: {"s_per_step": round(best[s] / args.steps, 3),
               "examples_per_s": round(examples / best[s], 2),
               "audio_s_per_s": round(seconds / best[s], 2),
               "speedup_vs_first": round(best[settings[0]] / best[s], 2)} for s in settings}
    print(json.dumps({"config": args.config, "steps": args.steps, "rounds": args.rounds,
                      "threads": torch.get_num_threads(), "device": str(device),
                      "examples_per_step": examples / args.steps,
                      "audio_s_per_step": round(seconds / args.steps, 2), "amp": res}, indent=1))
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="jrsv bench-train", description=__doc__.split("\n")[0])
    add_arguments(p)
    return run(p.parse_args(argv))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
