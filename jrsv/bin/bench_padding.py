"""How much of an ASR training batch is padding, with and without length bucketing, and what
that does to training throughput (measured in one run, settings interleaved).

    jrsv bench-padding --config recipes/dtssvd/conf/asr_tiny.yaml --data recipes/dtssvd/data_large \\
        [--bucket-batches 0,50] [--steps 10 --rounds 2]

Padding is counted from the manifests' durations over one epoch's batches (no audio read). With
``--steps N`` each setting also trains N steps per round (forward, backward, Adam) on real batches of
the epoch, rounds alternating between the settings; the fastest round of each is kept (the machine may
be shared). Reports examples/s and audio seconds/s.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from typing import List, Optional

import torch
import yaml


def padding_fraction(batches: List[List[int]], lengths: List[float]) -> float:
    """Share of the padded batch frames (batch size x longest item) that is padding."""
    total = sum(max(lengths[i] for i in b) * len(b) for b in batches)
    return 1.0 - sum(lengths[i] for b in batches for i in b) / max(total, 1e-9)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", required=True, help="an ASR training config (model.kind: asr)")
    p.add_argument("--data", required=True, help="recipe data dir (sources, units, cmvn)")
    p.add_argument("--bucket-batches", default="0,50", help="settings to compare, comma-separated")
    p.add_argument("--steps", type=int, default=0, help="training steps per setting and round (0 = padding only)")
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")


def run(args: argparse.Namespace) -> int:
    from jrsv.tasks.registry import build_task
    from jrsv.train.position import EpochBatchSampler

    try:
        settings = [int(x) for x in args.bucket_batches.split(",")]
    except ValueError:
        print(f"error: --bucket-batches must be integers, got {args.bucket_batches!r}", file=sys.stderr)
        return 2
    if args.steps < 0 or args.rounds < 1 or any(s < 0 for s in settings):
        print("error: --steps must be >= 0, --rounds >= 1, --bucket-batches >= 0", file=sys.stderr)
        return 2
    if args.threads:
        torch.set_num_threads(args.threads)
    with open(args.config, encoding="utf-8") as f:
        conf = yaml.safe_load(f)
    conf.setdefault("data", {})["dir"] = args.data
    task, train, _, collate = build_task(conf)
    if not hasattr(train, "lengths"):
        print(f"error: {args.config}: its training set has no lengths (not an utterance task)", file=sys.stderr)
        return 2
    lengths, bs = train.lengths(), int(conf["data"].get("batch_size", 16))
    res = {}
    samplers = {}
    for s in settings:
        samplers[s] = EpochBatchSampler(len(lengths), bs, int(conf.get("seed", 0)), lengths=lengths,
                                        bucket_batches=s)
        batches = samplers[s].batches()
        res[s] = {"padding": round(padding_fraction(batches, lengths), 4),
                  "padded_hours_per_epoch": round(sum(max(lengths[i] for i in b) * len(b) for b in batches) / 3600, 2)}
    if args.steps:
        opt = torch.optim.Adam(task.parameters(), 1e-4)
        best = {s: float("inf") for s in settings}
        secs = {s: 0.0 for s in settings}
        task.train()
        for r in range(args.rounds):
            for s in settings:
                batches = samplers[s].batches()[r * args.steps:(r + 1) * args.steps]
                items = [collate([train[i] for i in b]) for b in batches]  # read outside the timing
                t0 = time.perf_counter()
                for batch in items:
                    opt.zero_grad()
                    task(batch)["loss"].backward()
                    opt.step()
                dt = time.perf_counter() - t0
                if dt < best[s]:
                    best[s], secs[s] = dt, sum(lengths[i] for b in batches for i in b)
        for s in settings:
            res[s].update(examples_per_s=round(args.steps * bs / best[s], 2),
                          audio_s_per_s=round(secs[s] / best[s], 2), s_per_step=round(best[s] / args.steps, 3))
    base = res[settings[0]]
    for s in settings[1:]:
        if "examples_per_s" in res[s]:
            res[s]["speedup_vs_first"] = round(res[s]["examples_per_s"] / base["examples_per_s"], 2)
    print(json.dumps({"batch_size": bs, "utterances": len(lengths), "audio_hours": round(sum(lengths) / 3600, 2),
                      "bucket_batches": res}, indent=1))
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="jrsv bench-padding", description=__doc__.split("\n")[0])
    add_arguments(p)
    return run(p.parse_args(argv))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
