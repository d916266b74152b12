"""Pieces shared by the tasks: source lists, tokenizer, padding, front-end helpers."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

import torch
from torch import nn

from jrsv.asr.tokenizer import CharTokenizer
from jrsv.constants import HOP_LENGTH
from jrsv.data.data_paths import DataConf, DataPaths
from jrsv.data.manifest import read_jsonl
from jrsv.data.records import MusicTrack, Utterance
from jrsv.nn.cmvn import GlobalCMVN, load_cmvn
from jrsv.nn.padding import pad_sequences

HOP = HOP_LENGTH


def sources(data: DataConf, kind: str, split: str) -> list:
    """Source records of ``{kind}_{split}.jsonl`` in the ``data.sources`` directory
    (:class:`~jrsv.data.data_paths.DataPaths`; ``data``: the config's ``data`` section or a
    data directory). kind: ``speech`` | ``singing`` | ``music``.
    """
    path = DataPaths.from_config(data).source_list(kind, split)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: source list missing (run recipe stage 0)")
    rows = read_jsonl(str(path))
    return [MusicTrack(**r) if kind == "music" else Utterance(**r) for r in rows]


def tokenizer(data: DataConf) -> CharTokenizer:
    """The ``data.units`` table (``data``: the ``data`` section or a data directory)."""
    path = DataPaths.from_config(data).units
    if not path.is_file():
        raise FileNotFoundError(f"{path}: units missing (run recipe stage 1)")
    return CharTokenizer(str(path))


def cmvn(data: DataConf, name: str) -> GlobalCMVN:
    """``cmvn_{name}.json`` in ``data.cmvn_dir`` (stage 1) as a module."""
    path = DataPaths.from_config(data).cmvn(name)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: CMVN statistics missing (run recipe stage 1)")
    mean, istd = load_cmvn(path)
    return GlobalCMVN(mean, istd)


def model_section(m: Mapping[str, Any], kind: str, task_keys: Sequence[str] = ()
                  ) -> dict[str, Any]:
    """The recipe's ``model:`` section -> the model config (:mod:`jrsv.model_registry`
    schema): ``task_keys`` (training options of the task, e.g. ``spec_aug``) removed,
    ``kind`` set."""
    return {**{k: v for k, v in m.items() if k not in task_keys}, "kind": kind}


def fill_cmvn(encoder: nn.Module, data: DataConf, name: str) -> None:
    """Copy the statistics ``cmvn_{name}.json`` (in ``data.cmvn_dir``; ``data``: the config's
    ``data`` section or a data directory) into ``encoder.global_cmvn`` (the placeholder buffers
    a ``cmvn: true`` config builds); no-op without CMVN."""
    target = getattr(encoder, "global_cmvn", None)
    if target is None:
        return
    stats = cmvn(data, name)
    if stats.mean.shape != target.mean.shape:
        raise ValueError(f"{DataPaths.from_config(data).cmvn(name)}: {stats.mean.numel()} dims, "
                         f"the model takes {target.mean.numel()}")
    target.load_state_dict(stats.state_dict())


def pad_waveforms(wavs: Sequence[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """list of (N_i,) -> (B, N) zero-padded float32, lengths (B,)."""
    return pad_sequences([w.reshape(-1).float() for w in wavs])


def pad_token_lists(seqs: Sequence[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    """list of token id lists -> (B, L >= 1) padded with -1, lengths (B,)."""
    return pad_sequences([torch.tensor(s, dtype=torch.long) for s in seqs], value=-1, min_len=1)


def stft_frames(samples: torch.Tensor) -> torch.Tensor:
    """Frames of a centred STFT with hop 256 for sample counts (B,)."""
    return samples // HOP + 1


class SpecAugment(nn.Module):
    """Time and frequency masking of features (B, T, F), training mode only (WeNet defaults)."""

    def __init__(self, num_t_mask: int = 2, num_f_mask: int = 2, max_t: int = 50, max_f: int = 10):
        super().__init__()
        self.num_t_mask, self.num_f_mask, self.max_t, self.max_f = num_t_mask, num_f_mask, max_t, max_f

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return x
        x = x.clone()
        b, _, f = x.shape
        for i in range(b):
            t = int(lengths[i])
            for _ in range(self.num_t_mask):
                w = int(torch.randint(0, self.max_t + 1, (1,)))
                if t > w:
                    s = int(torch.randint(0, t - w + 1, (1,)))
                    x[i, s:s + w] = 0.0
            for _ in range(self.num_f_mask):
                w = int(torch.randint(0, self.max_f + 1, (1,)))
                s = int(torch.randint(0, max(f - w, 0) + 1, (1,)))
                x[i, :, s:s + w] = 0.0
        return x


def init_source(m: Mapping[str, Any], kind: str) -> nn.Module | None:
    """``model.init`` of the recipe's ``model:`` section -> the trained model to start from
    (``source_dir`` set to its directory), or None. It names a model directory, or an experiment
    directory whose ``final/`` is one (the shipped ``jrsv/pretrained/default``, ``exp/jrsv_fd``):
    fine-tuning, as WeNet's ``--checkpoint`` and ESPnet's ``--init_param`` do. A model of another
    ``kind`` is a one-line ``ValueError``."""
    if not m.get("init"):
        return None
    from jrsv.model_io import load_model_dir  # model_io imports the registry, which imports tasks
    path = Path(m["init"])
    if not (path / "config.yaml").is_file() and (path / "final" / "config.yaml").is_file():
        path = path / "final"
    model = load_model_dir(path)
    if model.kind != kind:
        raise ValueError(f"model.init {path}: holds a {model.kind} model; the config builds a {kind} model")
    model.source_dir = str(path)
    return model


def init_from(target: nn.Module, source: nn.Module, units: Sequence[str] | None = None) -> None:
    """Copy every tensor of ``source`` (from :func:`init_source`; CMVN statistics included) into
    ``target``, which must be the same model: same tensor names and shapes, and units. Raises a
    one-line ``ValueError`` naming what differs."""
    where = f"model.init {source.source_dir}"
    if units is not None and list(source.units) != list(units):
        raise ValueError(f"{where}: other units than the recipe's units.txt")
    own, state = target.state_dict(), source.state_dict()
    differ = sorted(k for k in set(own) | set(state)
                    if k not in own or k not in state or own[k].shape != state[k].shape)
    if differ:
        raise ValueError(f"{where}: {len(differ)} tensor(s) differ in name or shape from the config's "
                         f"model, e.g. {differ[0]} (change model.* to the init model's config)")
    target.load_state_dict(state)


def init_matching(target: nn.Module, source: Mapping[str, torch.Tensor],
                  skip: Sequence[str] = ("global_cmvn.",)) -> tuple[list[str], list[str]]:
    """Copy every source tensor whose name and shape match ``target``'s into it (warm start).

    Returns ``(loaded, skipped)`` parameter names of ``target``; names starting with a prefix in
    ``skip`` are never copied (e.g. the CMVN statistics of another feature type).
    """
    own = target.state_dict()
    loaded = [k for k, v in source.items() if k in own and not k.startswith(tuple(skip))
              and own[k].shape == v.shape]
    with torch.no_grad():
        for k in loaded:
            own[k].copy_(source[k])
    return loaded, sorted(set(own) - set(loaded))
