"""MTASS task: on-the-fly DTSSVD mixtures -> STFT -> MTASS -> L_mag - lambda L_dis + gamma L_cst.

Stage 3 trains the three variants of paper Table 2: ``mae`` (L_mag only), ``dis`` (+L_dis) and
``dis_cst`` (+L_dis +L_cst).
"""
from __future__ import annotations

from typing import Any, Mapping

import torch
from torch import nn
from torch.utils.data import Dataset, IterableDataset

from jrsv.data.data_paths import DataConf
from jrsv.model_registry import build_model
from jrsv.nn.frontend import Stft
from jrsv.separation.loss import MTASSLoss
from jrsv.separation.model import MTASS
from jrsv.tasks import common
from jrsv.tasks.examples import log_separation, take
from jrsv.tasks.mixtures import mixture_collate, mixture_sets

VARIANTS = {"mae": (0.0, 0.0), "dis": (0.1, 0.0), "dis_cst": (0.1, 0.3)}


class MTASSTask(nn.Module):
    """Waveform batch (mixture, speech, singing, music (B, N), wav_lens) -> loss dict."""

    def __init__(self, mtass: MTASS, loss: MTASSLoss):
        super().__init__()
        self.mtass, self.loss, self.stft = mtass, loss, Stft()

    def forward(self, batch: Mapping[str, Any]) -> dict[str, torch.Tensor]:
        mix_mag, mix_phase = self.stft.magnitude_phase(batch["mixture"])
        refs = {k: self.stft(batch[k]) for k in ("speech", "singing", "music")}
        lengths = common.stft_frames(batch["wav_lens"]).to(mix_mag.device)
        est = self.mtass(mix_mag, lengths)
        return self.loss(est, refs, mix_mag, lengths, mix_phase)

    def export_model(self) -> nn.Module:
        return self.mtass

    def log_examples(self, writer, step: int) -> None:
        """Dev SDR per track and audio of the first dev example (tensorboard)."""
        log_separation(writer, step, self.mtass, getattr(self, "examples", []), self.stft)


TASK_KEYS = ("variant", "init")  # recipe model keys of the task, not of the model


def build_mtass(m: Mapping[str, Any], data: DataConf) -> MTASS:
    """The recipe's ``model:`` section (kind mtass) -> :class:`MTASS` with the data's CMVN
    statistics (``cmvn_logmag_mix``) when ``cmvn`` is true (the default); every weight from
    ``init`` (a trained MTASS model directory) when given."""
    mtass = build_model(common.model_section(m, "mtass", TASK_KEYS))
    init = common.init_source(m, "mtass")
    if init is not None:
        common.init_from(mtass, init)
    else:
        common.fill_cmvn(mtass.encoder, data, "logmag_mix")
    return mtass


def build(conf: Mapping[str, Any]) -> tuple[nn.Module, IterableDataset, Dataset, Any]:
    data, m = conf["data"], conf["model"]
    variant = conf.get("loss", {}).get("variant", "dis_cst")
    if variant not in VARIANTS:
        raise ValueError(f"loss.variant must be one of {sorted(VARIANTS)}, got {variant!r}")
    lam, gamma = VARIANTS[variant]
    loss = MTASSLoss(lambda_dis=lam, gamma_cst=gamma,
                     consistency=conf.get("loss", {}).get("consistency", "mixture") if gamma else "none")
    train, valid = mixture_sets(conf, with_text=False)
    task = MTASSTask(build_mtass(m, data), loss)
    task.examples = take(valid, int(data.get("log_examples", 3)))  # not module state
    return task, train, valid, mixture_collate(None)
