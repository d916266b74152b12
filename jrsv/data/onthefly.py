"""Training mixtures made on the fly (the dev/test lists: :mod:`jrsv.data.manifest_mixtures`).

`OnTheFlyMixtures`: example i of epoch e is drawn from its own generator
`default_rng([seed, e, i])`, so the stream does not depend on worker count, and resuming
after k examples (`set_position(e, k)`, what the trainer does; `load_state_dict({"epoch": e,
"step": k})` is the same) gives exactly the same stream. Workers take blocks of `block`
consecutive indices round-robin, counted from the start position (block = DataLoader
batch_size keeps the global order under a DataLoader with several workers, also on resume).
Under DDP (`set_shard(rank, world)`) block k goes to rank k % world: optimizer step j of every
rank together reads blocks j*world .. j*world+world-1, each rank computes only its own examples,
and `set_position(e, steps * block * world)` resumes all ranks exactly.
"""
from __future__ import annotations

from typing import Dict, Iterator, List, Optional, Sequence, Union

import numpy as np
from torch.utils.data import IterableDataset, get_worker_info

from jrsv.constants import SAMPLE_RATE
from jrsv.data.audio import AudioError
from jrsv.data.cache import cached_load
from jrsv.data.mix import MixError, check_source, render, sample_spec
from jrsv.data.musdb import cached_music, load_music
from jrsv.data.perturb import check_factors, draw_factor, speed_perturb
from jrsv.data.records import MusicTrack, Utterance
from jrsv.data.tensors import to_torch

SR = SAMPLE_RATE


class SourcePool:
    """Audio of a source list: preloaded arrays, or loaded per use through an npy cache."""

    def __init__(self, items: Sequence, cache_dir: Optional[str] = None, preload: bool = False):
        self.items = list(items)
        self.cache_dir = cache_dir
        self.arrays: Dict[int, np.ndarray] = {}
        self.checked: set = set()
        if preload:
            for i in range(len(self.items)):
                try:
                    self.arrays[i] = self._load(i)
                except (AudioError, OSError):
                    pass  # reported when drawn

    def __len__(self) -> int:
        return len(self.items)

    def _load(self, i: int) -> np.ndarray:
        it = self.items[i]
        if isinstance(it, MusicTrack):
            return cached_music(it, self.cache_dir, SR) if self.cache_dir else \
                load_music(it, SR)
        if isinstance(it, np.ndarray):
            return it
        return cached_load(it.path, self.cache_dir, SR)

    def get(self, i: int) -> np.ndarray:
        """(N,) float32 array of item i; raises AudioError."""
        x = self.arrays.get(i)
        return self._load(i) if x is None else x


class OnTheFlyMixtures(IterableDataset):
    """Yields dicts: mixture/speech/singing/music float32 (L,), speech_text, singing_text (str),
    overlap (float tensor), speech_complete/singing_complete (bool: whole source inside the crop,
    i.e. the text matches the audio). `crop_seconds=None` gives whole mixtures (variable L).

    ``noise_floor_dbfs=(lo, hi)`` adds, to a fraction ``noise_floor_prob`` of the examples,
    white noise at an RMS level drawn from U(lo, hi) dBFS to the mixture and to the music reference (the background, so mixture == speech + singing +
    music still holds), from its own random stream so the other draws are unchanged. Real
    recordings always have such a floor (16-bit quantisation alone is about -101 dBFS);
    generated sources have digital silence, and a separator trained only on those fails on
    real input (BENCHMARKS.md, "Default model").

    ``speed_perturb=(0.9, 1.0, 1.1)`` plays the speech and the singing source of each example
    at a factor drawn uniformly from the list (:mod:`jrsv.data.perturb`; the music stays as
    recorded), again from its own random stream; None = off."""

    def __init__(self, speech: Sequence[Utterance], singing: Sequence[Utterance],
                 music: Sequence[Union[MusicTrack, np.ndarray]], epoch_size: int = 10000,
                 crop_seconds: Optional[float] = 4.0, seed: int = 0, block: int = 1,
                 cache_dir: Optional[str] = None, preload: bool = False, max_retries: int = 10,
                 noise_floor_dbfs: Optional[Sequence[float]] = None, noise_floor_prob: float = 1.0,
                 speed_perturb: Optional[Sequence[float]] = None):
        if noise_floor_dbfs is not None and (len(noise_floor_dbfs) != 2
                                             or noise_floor_dbfs[0] > noise_floor_dbfs[1]):
            raise ValueError(f"noise_floor_dbfs must be [low, high] dBFS, got {noise_floor_dbfs!r}")
        self.noise_floor = None if noise_floor_dbfs is None else tuple(map(float, noise_floor_dbfs))
        if not 0.0 <= noise_floor_prob <= 1.0:
            raise ValueError(f"noise_floor_prob must be in [0, 1], got {noise_floor_prob!r}")
        self.noise_floor_prob = float(noise_floor_prob)
        self.speed_factors = check_factors(speed_perturb)
        if not (len(speech) and len(singing) and len(music)):
            raise ValueError("OnTheFlyMixtures needs non-empty speech, singing and music lists")
        self.speech = SourcePool(speech, cache_dir, preload)
        self.singing = SourcePool(singing, cache_dir, preload)
        self.music = SourcePool(music, cache_dir, preload)
        self.epoch_size, self.seed, self.block = epoch_size, seed, max(1, block)
        self.crop = None if crop_seconds is None else int(round(crop_seconds * SR))
        self.max_retries = max_retries
        self.epoch, self.start = 0, 0
        self.rank, self.world = 0, 1
        self.skipped: List[str] = []

    def set_shard(self, rank: int, world_size: int) -> None:
        """DDP: this process reads blocks ``k`` with ``k % world_size == rank`` (module doc)."""
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} outside a world of {world_size} processes")
        self.rank, self.world = int(rank), int(world_size)

    def set_epoch(self, epoch: int) -> None:
        self.epoch, self.start = epoch, 0

    def set_position(self, epoch: int, examples: int) -> None:
        """The next iteration starts after `examples` examples of `epoch` (trainer resume)."""
        if not 0 <= examples <= self.epoch_size:
            raise ValueError(f"position {examples} outside epoch of {self.epoch_size} examples")
        self.epoch, self.start = int(epoch), int(examples)

    def state_dict(self) -> dict:
        """The start position of the next iteration (the trainer keeps the consumed count)."""
        return {"epoch": self.epoch, "step": self.start, "seed": self.seed}

    def load_state_dict(self, state: dict, step: Optional[int] = None) -> None:
        """Resume at `state['step']` (or `step`): the number of examples already consumed."""
        self.set_position(int(state["epoch"]), int(state["step"] if step is None else step))

    def __len__(self) -> int:
        """Examples of an epoch this process yields (all of them unless sharded)."""
        full, last = divmod(self.epoch_size, self.block)
        mine = max(0, (full - self.rank + self.world - 1) // self.world) * self.block
        return mine + (last if last and full % self.world == self.rank else 0)

    def _indices(self) -> Iterator[int]:
        wi = get_worker_info()
        w, nw = (0, 1) if wi is None else (wi.id, wi.num_workers)
        for i in range(self.start, self.epoch_size):
            k = (i - self.start) // self.block  # block number; its rank, then its worker
            if k % self.world == self.rank and (k // self.world) % nw == w:
                yield i

    def _draw(self, pool: SourcePool, rng: np.random.Generator) -> tuple:
        for _ in range(self.max_retries):
            k = int(rng.integers(len(pool)))
            try:
                x = pool.get(k)
                if k not in pool.checked:
                    check_source(np.asarray(x), str(getattr(pool.items[k], "path", k)))
                    pool.checked.add(k)
                return k, x
            except (AudioError, MixError, OSError) as e:
                self.skipped.append(str(e))
        raise RuntimeError(f"on-the-fly mixing: {self.max_retries} unusable sources in a row "
                           f"(last: {self.skipped[-1]})")

    def example(self, i: int) -> dict:
        """Example i of the current epoch (numpy arrays)."""
        rng = np.random.default_rng([self.seed, self.epoch, i])
        si, sx = self._draw(self.speech, rng)
        gi, gx = self._draw(self.singing, rng)
        _, mx = self._draw(self.music, rng)
        if self.speed_factors is not None:
            prng = np.random.default_rng([self.seed, self.epoch, i, 2])
            sx = speed_perturb(sx, draw_factor(prng, self.speed_factors))
            gx = speed_perturb(gx, draw_factor(prng, self.speed_factors))
        spec = sample_spec(rng, len(sx), len(gx), len(mx), max_len=self.crop)
        out = render(spec, sx, gx, mx)
        s_full = spec.speech_len == len(sx)
        g_full = spec.singing_len == len(gx)
        if self.crop is not None:
            n = self.crop
            w0 = int(rng.integers(0, max(spec.length - n, 0) + 1))
            for k in ("mixture", "speech", "singing", "music"):
                x = out[k][w0:w0 + n]
                out[k] = np.pad(x, (0, n - len(x))) if len(x) < n else x
            s_full &= w0 <= spec.speech_offset and spec.speech_offset + spec.speech_len <= w0 + n
            g_full &= w0 <= spec.singing_offset and spec.singing_offset + spec.singing_len <= w0 + n
        if self.noise_floor is not None:
            nrng = np.random.default_rng([self.seed, self.epoch, i, 1])
            if nrng.random() < self.noise_floor_prob:
                add_noise_floor(out, nrng, *self.noise_floor)
        out.update(speech_text=self.speech.items[si].text, singing_text=self.singing.items[gi].text,
                   overlap=spec.overlap, speech_complete=bool(s_full),
                   singing_complete=bool(g_full), index=i)
        return out

    def __iter__(self) -> Iterator[dict]:
        for i in self._indices():
            yield to_torch(self.example(i))


def add_noise_floor(out: dict, rng: np.random.Generator, lo_db: float, hi_db: float) -> None:
    """Add white noise of RMS U(lo_db, hi_db) dBFS to ``out["mixture"]`` and ``out["music"]``
    (float32 (L,) arrays, replaced)."""
    n = len(out["mixture"])
    level = 10.0 ** (rng.uniform(lo_db, hi_db) / 20.0)
    noise = (level * rng.standard_normal(n)).astype(np.float32)
    out["mixture"] = out["mixture"] + noise
    out["music"] = out["music"] + noise
