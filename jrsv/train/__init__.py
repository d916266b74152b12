"""jrsv/train: model-agnostic trainer.

    checkpoint.py  atomic save/load, latest discovery, pruning, best-N averaging
    scheduler.py   WarmupLR (Noam), ConstantLR (+ plateau), optimizer/scheduler builders
    trainer.py     Trainer (accumulation, clipping, AMP, validation, tensorboard, tqdm, resume)
    ddp.py         torchrun/DDP helpers (init from env, samplers, rank sharding, barrier)
    registry.py    register_task(name, build_model, build_loaders), keyed by model.kind
    done.py        done marker with the final checkpoint's sha256, is_done()
    toy.py         toy regression task (model.kind: toy) for tests and smoke runs
"""
