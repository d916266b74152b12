"""JRSV task (stage 4): whole on-the-fly mixtures -> STFT -> JRSV (t / f / fd) loss.

The MTASS comes from a stage-3 model directory (``model.mtass_dir``); the ASR is a new
513-dim U2 model trained on the separated magnitudes, optionally warm-started
(``model.asr_init``) from a clean-speech ASR model directory: every parameter whose name and
shape match is copied (encoder blocks, decoder, CTC); the 513-dim input layer stays new.
``model.init`` instead starts from a whole trained JRSV model directory (fine-tuning; its
separator config and every weight, ``mtass_dir`` and ``asr_init`` unread).
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Mapping

import torch
from torch import nn
from torch.utils.data import Dataset, IterableDataset

from jrsv.asr.model import U2ASR
from jrsv.jrsv import JRSV
from jrsv.model_io import load_model_dir, read_units
from jrsv.data.data_paths import DataConf, DataPaths
from jrsv.model_registry import build_model
from jrsv.nn.frontend import Stft
from jrsv.tasks import common
from jrsv.tasks.examples import log_separation, log_transcripts, take
from jrsv.tasks.mixtures import mixture_collate, mixture_sets

log = logging.getLogger(__name__)


class JRSVTask(nn.Module):
    """Waveform batch with token targets -> :meth:`JRSV.forward` losses."""

    def __init__(self, model: JRSV):
        super().__init__()
        self.model, self.stft = model, Stft()

    def forward(self, batch: Mapping[str, Any]) -> dict[str, torch.Tensor]:
        mix_mag, mix_phase = self.stft.magnitude_phase(batch["mixture"])
        b = {f"{k}_mag": self.stft(batch[k]) for k in ("speech", "singing", "music")}
        b.update(mix_mag=mix_mag, mix_phase=mix_phase,
                 lengths=common.stft_frames(batch["wav_lens"]).to(mix_mag.device))
        for k in ("speech_tokens", "speech_token_lens", "singing_tokens", "singing_token_lens"):
            b[k] = batch[k]
        return self.model(b)

    def export_model(self) -> nn.Module:
        return self.model

    def log_examples(self, writer, step: int) -> None:
        """Dev transcripts (and dev SDR when the separator trains, JRSV-t) in tensorboard."""
        items = getattr(self, "examples", [])
        log_transcripts(writer, step, self.model, items, self.stft, getattr(self, "units", []))
        if not self.model.frozen:
            log_separation(writer, step, self.model.mtass, items, self.stft)


def warm_start(asr: U2ASR, model_dir: Path, units: list[str]) -> None:
    """Copy the matching parameters of the ASR in ``model_dir`` into ``asr`` (same units)."""
    source = load_model_dir(model_dir)
    if read_units(model_dir) != units:
        raise ValueError(f"model.asr_init: {model_dir} has other units than the recipe's units.txt")
    loaded, skipped = common.init_matching(asr, source.state_dict())
    log.info("model.asr_init: %d tensors from %s; new: %s", len(loaded), model_dir,
             ", ".join(k for k in skipped if "num_batches" not in k)[:300])


TASK_KEYS = ("mtass_dir", "asr_init", "init")  # recipe model keys of the task, not of the model


def build_jrsv(m: Mapping[str, Any], data: DataConf, vocab_size: int) -> JRSV:
    """The recipe's ``model:`` section (kind jrsv) -> :class:`JRSV`: the separator loaded from
    ``mtass_dir``/final (its config becomes the ``mtass`` section), a new ASR with the data's
    CMVN statistics (``cmvn_logmag_clean``), warm-started from ``asr_init`` when given.
    With ``init`` (a trained JRSV model directory) the separator config and all weights, CMVN
    included, come from that model instead. ``mode`` defaults to ``fd`` here."""
    init = common.init_source(m, "jrsv")
    if init is not None:
        mtass = init.mtass
    elif m.get("mtass_dir"):
        mtass = load_model_dir(Path(m["mtass_dir"]) / "final")
    else:
        raise ValueError("model.mtass_dir (a stage-3 separator) or model.init (a JRSV model) must be given")
    conf = common.model_section(m, "jrsv", TASK_KEYS)
    conf["mtass"] = mtass.to_config()
    conf.setdefault("mode", "fd")  # the recipe's default: JRSV-f-d (the model's is f)
    if conf.setdefault("vocab_size", vocab_size) != vocab_size:
        raise ValueError(f"model.vocab_size is {conf['vocab_size']}, {DataPaths.from_config(data).units} has "
                         f"{vocab_size} units")
    model = build_model(conf)
    if init is not None:
        common.init_from(model, init, common.tokenizer(data).units)
        return model
    model.mtass.load_state_dict(mtass.state_dict())
    common.fill_cmvn(model.asr.encoder, data, "logmag_clean")
    if m.get("asr_init"):
        warm_start(model.asr, Path(m["asr_init"]) / "final", common.tokenizer(data).units)
    return model


def build(conf: Mapping[str, Any]) -> tuple[nn.Module, IterableDataset, Dataset, Any]:
    data, m = conf["data"], conf["model"]
    tok = common.tokenizer(data)
    model = build_jrsv(m, data, tok.vocab_size)
    train, valid = mixture_sets(conf, with_text=True)
    task = JRSVTask(model)
    task.examples = take(valid, int(data.get("log_examples", 3)))  # not module state
    task.units = list(tok.units)
    return task, train, valid, mixture_collate(tok)
