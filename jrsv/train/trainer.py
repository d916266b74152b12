"""Model-agnostic trainer: ``model(batch) -> dict(loss=..., **scalar logs)``.

Resumable at any optimizer step (optimizer, scheduler, scaler, data position and RNG
states are checkpointed; the data is put back at the exact batch without loading the skipped
ones, see ``jrsv.train.position``), DDP-aware (only rank 0 writes), AMP on CUDA, tensorboard + tqdm.
"""
from __future__ import annotations

import contextlib
import logging
import math
import os
import signal
import threading
import time
from typing import Any, Callable, Mapping

import torch
from torch.utils.data import DataLoader, IterableDataset

from jrsv.progress import Progress
from jrsv.train import checkpoint as ck
from jrsv.train.ddp import DistInfo, all_reduce_sum, barrier, unwrap

log = logging.getLogger(__name__)
#: a second stop signal this soon after the first is the same request (Trainer._on_signal)
SIGNAL_REPEAT_S = 3.0

DEFAULTS: dict[str, Any] = {
    "max_epochs": 1,          # epochs to run (ignored once max_steps is reached)
    "max_steps": 0,           # 0 = no step limit
    "max_minutes": 0.0,       # wall-clock budget of this run (0 = none): stops like max_steps
                              # (last checkpoint, validation, final/); a rerun resumes and gets
                              # a new budget (fits a job into a time-limited GPU lease)
    "accum_grad": 1,          # micro-batches per optimizer step
    "grad_clip": 5.0,         # max grad norm (0 = no clipping); MTASS recipes use 20
    "amp": "none",            # none | bf16 | fp16: autocast; bf16 also on CPU (1.3-1.45x faster
                              # JRSV steps on a Zen 4 with avx512_bf16), fp16 CUDA only
    "log_interval": 20,       # steps between tensorboard/tqdm updates
    "valid_interval": 0,      # steps between validations (0 = at each epoch end only)
    "save_interval": 0,       # steps between extra checkpoints (0 = at validations only)
    "keep_last": 3,           # newest checkpoints kept (0 = all); best ones are kept too
    "keep_best": 3,           # best checkpoints (by metric) protected from pruning
    "metric": "valid_loss",   # metric stored in checkpoints, used for best-N
    "metric_mode": "min",     # min | max
    "seed": 0,                # seeds the loader generator per epoch (seed + epoch)
    "progress": True,         # rank 0: tqdm bar on a TTY, else a plain progress line
    "progress_interval": 30.0,  # seconds between those plain lines (not on a TTY)
}


def _to_device(batch: Any, device: torch.device) -> Any:
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, Mapping):
        return {k: _to_device(v, device) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        return type(batch)(_to_device(v, device) for v in batch)
    return batch


def _scalar(v: Any) -> float | None:
    if isinstance(v, torch.Tensor) and v.numel() == 1:
        return float(v.detach())
    if isinstance(v, (int, float)):
        return float(v)
    return None


def amp_dtype(amp: str, device: torch.device) -> torch.dtype | None:
    """``train.amp`` -> the autocast dtype on ``device`` (None = fp32): bf16 on CUDA and CPU,
    fp16 on CUDA only (it needs the GradScaler); other devices train in fp32."""
    amp = str(amp).lower()
    if amp not in ("none", "bf16", "fp16"):
        raise ValueError(f"train.amp must be none|bf16|fp16, got {amp!r}")
    if device.type not in ("cuda", "cpu") or (amp == "fp16" and device.type != "cuda"):
        return None
    return {"bf16": torch.bfloat16, "fp16": torch.float16}.get(amp)


def autocast(device: torch.device, dtype: torch.dtype | None):
    """The training forward's autocast context (a no-op for ``dtype`` None)."""
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


class Trainer:
    """Generic training loop.

    Args:
        model: module (possibly DDP-wrapped) with ``forward(batch) -> dict`` holding a scalar ``loss``.
        optimizer, scheduler: torch optimizer and lr scheduler (stepped per optimizer step;
            ``ReduceLROnPlateau`` is stepped with the metric after each validation).
        train_loader: ``DataLoader`` over a map-style or ``IterableDataset``.
        valid: ``valid_fn(model) -> dict`` of metrics, or a ``DataLoader`` (mean of the scalar
            outputs weighted by batch count, summed over ranks; ``loss`` -> ``valid_loss``).
        config: keys of ``DEFAULTS`` plus ``model_dir``; extra keys are stored in checkpoints.
        dist_info: rank/world/device (default: single CPU/CUDA process).
        log_fn: ``log_fn(writer, step)`` called at validations on rank 0 (audio examples, dev SDR).
        step_fn: ``step_fn(trainer)`` called after every optimizer step and its checkpoint
            (``trainer.step``, ``trainer.last_logs``: the step's scalar outputs such as ``loss``).
    """

    def __init__(self, model: torch.nn.Module, optimizer: torch.optim.Optimizer, scheduler: Any,
                 train_loader: DataLoader, valid: Callable[[torch.nn.Module], dict] | DataLoader | None,
                 config: Mapping[str, Any], dist_info: DistInfo | None = None,
                 log_fn: Callable[[Any, int], None] | None = None,
                 step_fn: Callable[["Trainer"], None] | None = None):
        self.model, self.optimizer, self.scheduler = model, optimizer, scheduler
        self.train_loader, self.valid, self.log_fn = train_loader, valid, log_fn
        self.step_fn = step_fn
        self.last_logs: dict[str, float] = {}
        self.conf = {**DEFAULTS, **dict(config)}
        self.full_config = dict(config)
        if "model_dir" not in self.conf:
            raise ValueError("trainer config needs model_dir")
        self.model_dir = self.conf["model_dir"]
        self.info = dist_info or DistInfo(device=next(model.parameters()).device)
        self.device = self.info.device
        self.amp_dtype = amp_dtype(self.conf["amp"], self.device)
        self.scaler = torch.amp.GradScaler("cuda") if self.amp_dtype == torch.float16 else None
        self.step, self.epoch, self.batch_in_epoch = 0, 0, 0
        self.skipped = 0          # non-finite losses / grad norms skipped
        self._t_start: float | None = None  # set by train(): the max_minutes clock
        self.timed_out = False    # the last train() stopped at max_minutes (no done marker)
        self.stop_signal = 0      # SIGTERM / SIGINT received: the last train() saved and stopped
        self._signal_time = 0.0   # time.monotonic() of that signal
        self.metrics: dict[str, float] = {}
        self.metrics_step = -1    # step of the last validation (checkpoint metric only then)
        self._data_state: dict | None = None
        self._rng_to_restore: dict | None = None
        self.writer = None
        os.makedirs(self.model_dir, exist_ok=True) if self.info.is_main else None

    # ----------------------------------------------------------------- checkpoints
    def state_dict(self) -> dict[str, Any]:
        """Everything needed to resume at the current optimizer step."""
        ds = self.train_loader.dataset
        data: dict[str, Any] = {"epoch": self.epoch, "batches": self.batch_in_epoch}
        if self._position_kind() == "dataset_state":
            data["dataset"] = ds.state_dict()
        return {
            "model": unwrap(self.model).state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict() if self.scheduler is not None else None,
            "scaler": self.scaler.state_dict() if self.scaler is not None else None,
            "step": self.step, "epoch": self.epoch, "data": data, "skipped": self.skipped,
            "rng": ck.rng_state(), "config": self.full_config,
            "metrics": dict(self.metrics) if self.metrics_step == self.step else {},
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore a ``state_dict``; RNG states are applied once the data is repositioned."""
        unwrap(self.model).load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        if self.scheduler is not None and state.get("scheduler") is not None:
            self.scheduler.load_state_dict(state["scheduler"])
        if self.scaler is not None and state.get("scaler") is not None:
            self.scaler.load_state_dict(state["scaler"])
        self.step, self.skipped = int(state["step"]), int(state.get("skipped", 0))
        self.epoch = int(state["data"]["epoch"])
        self.batch_in_epoch = int(state["data"]["batches"])
        self._data_state = state["data"].get("dataset")
        self.metrics = dict(state.get("metrics", {}))
        self.metrics_step = self.step if self.metrics else -1
        self._rng_to_restore = state.get("rng")

    def resume(self, path: str | None = None) -> str | None:
        """Load ``path`` or the newest valid checkpoint of ``model_dir``; returns its path."""
        if path is None:
            found = ck.find_latest(self.model_dir)
            if found is None:
                return None
            path, state = found
        else:
            state = ck.load_checkpoint(path)
        self.load_state_dict(state)
        return path

    def save(self) -> str:
        """Rank 0 writes ``step_XXXXXXXX.pt`` atomically, then prunes; barriers around it."""
        path = ck.ckpt_path(self.model_dir, self.step)
        barrier()
        if self.info.is_main:
            ck.atomic_save(self.state_dict(), path)
            protect = [path]
            if self.conf["keep_best"] > 0:
                try:
                    protect += ck.select_best(self.model_dir, int(self.conf["keep_best"]),
                                              self.conf["metric"], self.conf["metric_mode"])
                except ValueError:
                    pass
            ck.prune_checkpoints(self.model_dir, int(self.conf["keep_last"]), protect)
        barrier()
        return path

    # ----------------------------------------------------------------- data position
    def _position_kind(self) -> str:
        """How the data is put back at ``batch_in_epoch``: ``batch_sampler`` / ``dataset``
        (``set_position``, exact for any worker count), ``dataset_state`` (a dataset that tracks
        its own position; single process, no workers) or ``replay`` (load and drop batches)."""
        loader, ds = self.train_loader, self.train_loader.dataset
        if self.info.distributed:  # a sharded stream (set_shard) is positioned like one process's
            sharded = hasattr(ds, "set_shard") and hasattr(ds, "set_position") and loader.batch_size
            return "dataset" if sharded else "replay"
        if hasattr(loader.batch_sampler, "set_position") and not isinstance(ds, IterableDataset):
            return "batch_sampler"
        if isinstance(ds, IterableDataset) and hasattr(ds, "set_position") and loader.batch_size:
            return "dataset"
        if (isinstance(ds, IterableDataset) and hasattr(ds, "state_dict")
                and hasattr(ds, "load_state_dict") and loader.num_workers == 0):
            return "dataset_state"
        return "replay"

    def _epoch_iterator(self):
        """Iterator positioned at ``batch_in_epoch`` of ``epoch`` (set_epoch + seeded generator)."""
        loader = self.train_loader
        for obj in (getattr(loader, "sampler", None), getattr(loader, "batch_sampler", None),
                    loader.dataset):
            if obj is not None and hasattr(obj, "set_epoch"):
                obj.set_epoch(self.epoch)
        if loader.generator is not None:
            loader.generator.manual_seed(int(self.conf["seed"]) + self.epoch)
        kind = self._position_kind()
        if kind == "batch_sampler":
            loader.batch_sampler.set_position(self.epoch, self.batch_in_epoch)
            it = iter(loader)
        elif kind == "dataset":
            loader.dataset.set_position(  # all ranks' examples consumed so far
                self.epoch, self.batch_in_epoch * int(loader.batch_size) * self.info.world_size)
            it = iter(loader)
        elif kind == "dataset_state" and self._data_state is not None:
            loader.dataset.load_state_dict(self._data_state)
            it = iter(loader)
        else:
            it = iter(loader)
            if kind == "replay":
                for _ in range(self.batch_in_epoch):  # exact, but loads the skipped batches
                    next(it)
        self._data_state = None
        if self._rng_to_restore is not None:
            ck.set_rng_state(self._rng_to_restore)
            self._rng_to_restore = None
        return it

    # ----------------------------------------------------------------- loop
    def _autocast(self):
        return autocast(self.device, self.amp_dtype)

    def _done(self, after_step: bool = False) -> bool:
        """``max_steps``/``max_epochs`` reached; after an optimizer step also ``max_minutes``
        (so every run makes at least one step of progress)."""
        ms = int(self.conf["max_steps"])
        return ((ms > 0 and self.step >= ms) or self.epoch >= int(self.conf["max_epochs"])
                or (after_step and self._out_of_time()))

    def _out_of_time(self) -> bool:
        """``max_minutes`` spent since :meth:`train` began, or a stop signal received (all ranks
        agree: rank 0's clock and signal)."""
        budget = float(self.conf["max_minutes"])
        if (budget <= 0 and not self.stop_signal and self.info.world_size == 1) or self._t_start is None:
            return False
        over = budget > 0 and time.time() - self._t_start >= budget * 60
        late = torch.tensor([1.0 if over or self.stop_signal else 0.0], device=self.device)
        if self.info.world_size > 1:
            torch.distributed.broadcast(late, src=0)
        return bool(late.item())

    def _finite_everywhere(self, loss: torch.Tensor) -> bool:
        ok = torch.tensor([0.0 if torch.isfinite(loss.detach()).all() else 1.0], device=self.device)
        return all_reduce_sum(ok).item() == 0

    def _optimizer_step(self) -> float:
        if self.scaler is not None:
            self.scaler.unscale_(self.optimizer)
        clip = float(self.conf["grad_clip"])
        params = [p for g in self.optimizer.param_groups for p in g["params"]]
        norm = torch.nn.utils.clip_grad_norm_(params, clip if clip > 0 else float("inf"))
        norm = float(norm)
        if self.scaler is not None:
            self.scaler.step(self.optimizer)  # skips internally on inf/nan
            self.scaler.update()
        elif math.isfinite(norm):
            self.optimizer.step()
        else:
            self.skipped += 1
        self.optimizer.zero_grad(set_to_none=True)
        self.step += 1
        if self.scheduler is not None and not isinstance(
                self.scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
            self.scheduler.step()
        return norm

    def validate(self) -> dict[str, float]:
        """Run ``valid`` (RNG states untouched) and return ``{name: value}``."""
        if self.valid is None:
            return {}
        rng = ck.rng_state()
        self.model.eval()
        try:
            with torch.no_grad():
                if callable(self.valid) and not isinstance(self.valid, DataLoader):
                    out = {k: float(v) for k, v in self.valid(self.model).items()}
                else:
                    out = self._valid_loader_metrics(self.valid)
        finally:
            self.model.train()
            ck.set_rng_state(rng)
        return out

    def _valid_loader_metrics(self, loader: DataLoader) -> dict[str, float]:
        sums: dict[str, float] = {}
        n = 0
        for batch in loader:
            with self._autocast():
                res = self.model(_to_device(batch, self.device))
            for k, v in res.items():
                s = _scalar(v)
                if s is not None:
                    sums[k] = sums.get(k, 0.0) + s
            n += 1
        keys = sorted(sums)
        t = all_reduce_sum(torch.tensor([float(n)] + [sums[k] for k in keys],
                                        dtype=torch.float64, device=self.device))
        total = max(t[0].item(), 1.0)
        return {f"valid_{k}": t[i + 1].item() / total for i, k in enumerate(keys)}

    def _after_validation(self, metrics: dict[str, float]) -> None:
        self.metrics, self.metrics_step = metrics, self.step
        if isinstance(self.scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau) and metrics:
            self.scheduler.step(metrics.get(self.conf["metric"], next(iter(metrics.values()))))
        if self.writer is not None:
            for k, v in metrics.items():
                self.writer.add_scalar(f"valid/{k}", v, self.step)
            if self.log_fn is not None:
                self.log_fn(self.writer, self.step)
            self.writer.flush()

    def _open_writer(self) -> None:
        if self.info.is_main and self.writer is None:
            from torch.utils.tensorboard import SummaryWriter
            self.writer = SummaryWriter(os.path.join(self.model_dir, "tensorboard"))

    def _progress(self) -> Progress:
        """A tqdm bar on a terminal, plain periodic lines otherwise (``jrsv.progress``)."""
        show = bool(self.conf["progress"]) and self.info.is_main
        try:
            total = len(self.train_loader)
        except TypeError:
            total = None
        ms = int(self.conf["max_steps"])
        if ms > 0:
            total = ms
        return Progress(total=total, initial=self.step if ms > 0 else self.batch_in_epoch,
                        disable=not show, desc=f"train epoch {self.epoch}",
                        unit="step" if ms > 0 else "batch",
                        interval=float(self.conf["progress_interval"]))

    def _on_signal(self, signum, frame) -> None:
        """First SIGTERM / SIGINT: finish the step, save, stop. A second one: stop at once,
        unless it comes within ``SIGNAL_REPEAT_S`` of the first: that is the same request
        delivered twice (torchrun forwards the signal it got to its workers, and Ctrl-C or
        ``kill -- -PGID`` reaches the launcher and the workers alike)."""
        now = time.monotonic()
        if self.stop_signal:
            if now - self._signal_time < SIGNAL_REPEAT_S:
                log.info("%s: signal %d again within %.0f s: the same stop request", self.model_dir,
                         signum, SIGNAL_REPEAT_S)
                return
            raise KeyboardInterrupt(f"signal {signum} received twice")
        self.stop_signal, self._signal_time = signum, now
        log.warning("%s: signal %d: saving a checkpoint after this step, then stopping "
                    "(send it again after %.0f s to stop at once)", self.model_dir, signum, SIGNAL_REPEAT_S)

    def train(self) -> str:
        """Train until ``max_epochs``/``max_steps``/``max_minutes``; returns the final checkpoint's path.

        SIGTERM or SIGINT (a scheduler's preemption, Ctrl-C) ends the step in flight, saves a
        checkpoint (no validation) and returns with ``stop_signal`` set; a rerun resumes from it.
        """
        handlers = {}
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                handlers[sig] = signal.signal(sig, self._on_signal)
        try:
            return self._train()
        finally:
            for sig, h in handlers.items():
                signal.signal(sig, h)

    def _train(self) -> str:
        self.stop_signal = 0
        self._t_start = time.time()
        self._open_writer()
        self.model.train()
        accum = max(int(self.conf["accum_grad"]), 1)
        log_iv, val_iv = int(self.conf["log_interval"]), int(self.conf["valid_interval"])
        save_iv = int(self.conf["save_interval"])
        last_saved = self.step if self.step > 0 else -1
        self.optimizer.zero_grad(set_to_none=True)
        self.timed_out = False
        while not self._done() and not self.timed_out:
            it = self._epoch_iterator()
            bar = self._progress()
            micro, logs, t0 = 0, {}, time.time()
            for batch in it:
                sync = (micro + 1) % accum == 0
                ctx = (self.model.no_sync() if not sync and hasattr(self.model, "no_sync")
                       else contextlib.nullcontext())
                with ctx:
                    with self._autocast():
                        out = self.model(_to_device(batch, self.device))
                    loss = out["loss"]
                    if self._finite_everywhere(loss):
                        scaled = loss / accum
                        (self.scaler.scale(scaled) if self.scaler is not None else scaled).backward()
                    else:
                        self.skipped += 1
                for k, v in out.items():
                    s = _scalar(v)
                    if s is not None and math.isfinite(s):
                        logs[k] = s
                self.batch_in_epoch += 1
                micro += 1
                ms = int(self.conf["max_steps"])
                if ms <= 0:
                    bar.update(1)
                if not sync:
                    continue
                norm = self._optimizer_step()
                if ms > 0:
                    bar.update(1)
                if self.writer is not None and (self.step % log_iv == 0 or self.step == 1):
                    for k, v in logs.items():
                        self.writer.add_scalar(f"train/{k}", v, self.step)
                    self.writer.add_scalar("train/lr", self.optimizer.param_groups[0]["lr"], self.step)
                    self.writer.add_scalar("train/grad_norm", norm, self.step)
                    self.writer.add_scalar("train/skipped", self.skipped, self.step)
                    self.writer.add_scalar("train/steps_per_s", 1.0 / max(time.time() - t0, 1e-9), self.step)
                if self.step % log_iv == 0:
                    bar.set_postfix(loss=f"{logs.get('loss', float('nan')):.4f}",
                                    lr=f"{self.optimizer.param_groups[0]['lr']:.2e}")
                t0 = time.time()
                if val_iv > 0 and self.step % val_iv == 0:
                    self._after_validation(self.validate())
                    self.save()
                    last_saved = self.step
                elif save_iv > 0 and self.step % save_iv == 0:
                    self.save()
                    last_saved = self.step
                self.last_logs, logs = logs, {}
                if self.step_fn is not None:
                    self.step_fn(self)
                if self._done(after_step=True):
                    self.timed_out = not self._done()
                    break
            else:  # epoch exhausted
                bar.close()
                self.optimizer.zero_grad(set_to_none=True)  # drop a partial accumulation
                self.epoch += 1
                self.batch_in_epoch = 0
                self._after_validation(self.validate())
                self.save()
                last_saved = self.step
                continue
            bar.close()  # stopped mid-epoch at max_steps
            break
        if self.stop_signal:
            if last_saved != self.step:
                self.save()  # no validation: a preempted job has seconds, not minutes
        elif last_saved != self.step or (self.valid is not None and self.metrics_step != self.step):
            # the final checkpoint always holds the metric (best-N averaging needs one, also
            # with valid_interval 0 and a save at the last step, and on a rerun after that)
            self._after_validation(self.validate())
            self.save()
        if self.writer is not None:
            self.writer.close()
            self.writer = None
        return ck.ckpt_path(self.model_dir, self.step)
