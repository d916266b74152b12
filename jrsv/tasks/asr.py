"""ASR task: clean speech and/or singing utterances -> fbank (or log-magnitude) -> U2 ASR.

Stage 2 of the recipe trains ASR-speech, ASR-singing and ASR-multi with it (paper Table 1).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset

from jrsv.asr.model import U2ASR
from jrsv.asr.search import greedy_cer
from jrsv.asr.tokenizer import CharTokenizer
from jrsv.constants import SAMPLE_RATE
from jrsv.data.audio import AudioError
from jrsv.data.cache import cached_load
from jrsv.data.perturb import check_factors, draw_factor, speed_perturb
from jrsv.data.records import Utterance
from jrsv.data.data_paths import DataConf, DataPaths
from jrsv.model_registry import build_model
from jrsv.nn.frontend import Fbank, LogMagnitude, Stft
from jrsv.tasks import common

TRACK_SETS = {"speech": ("speech",), "singing": ("singing",), "multi": ("speech", "singing")}


class UtteranceDataset(Dataset):
    """Clean transcribed utterances -> dict(wav (N,) float32, tokens list[int], id).

    ``speed_perturb=(0.9, 1.0, 1.1)``: item i of epoch e (``set_epoch``) plays at a factor drawn
    from ``default_rng([seed, e, i])`` (:mod:`jrsv.data.perturb`), so a resumed run sees the
    same audio; None = off (dev sets)."""

    def __init__(self, utts: list[Utterance], tok: CharTokenizer, cache_dir: str | None = None,
                 max_seconds: float = 20.0, speed_perturb: Sequence[float] | None = None,
                 seed: int = 0):
        self.tok, self.cache_dir = tok, cache_dir
        self.speed_factors, self.seed, self.epoch = check_factors(speed_perturb), int(seed), 0
        self.utts = [u for u in utts if u.duration is None or u.duration <= max_seconds]
        self.skipped: list[str] = []

    def __len__(self) -> int:
        return len(self.utts)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def lengths(self) -> list[float]:
        """Duration of each utterance in seconds (0 when unknown), for length bucketing."""
        return [u.duration or 0.0 for u in self.utts]

    def __getitem__(self, i: int) -> dict:
        u = self.utts[i]
        try:
            x = cached_load(u.path, self.cache_dir, SAMPLE_RATE)
            if self.speed_factors is not None:
                rng = np.random.default_rng([self.seed, self.epoch, i])
                x = speed_perturb(x, draw_factor(rng, self.speed_factors))
            wav = torch.from_numpy(np.array(x, dtype=np.float32))
        except (AudioError, OSError) as e:  # reported by name, replaced by silence of 0.5 s
            self.skipped.append(str(e))
            wav = torch.zeros(8000)
        return {"wav": wav, "tokens": self.tok.encode(u.text), "id": u.id}


def collate(items: list[dict]) -> dict:
    wav, wav_lens = common.pad_waveforms([it["wav"] for it in items])
    toks, tok_lens = common.pad_token_lists([it["tokens"] for it in items])
    return {"wav": wav, "wav_lens": wav_lens, "tokens": toks, "token_lens": tok_lens,
            "ids": [it["id"] for it in items]}


class ASRTask(nn.Module):
    """Waveform batch -> features -> :class:`U2ASR` loss.

    Args:
        asr: the model (its encoder holds the global CMVN).
        feature: ``"fbank"`` (80-dim, cascade baselines) or ``"log_mag"`` (513-dim).
        spec_aug: SpecAugment during training.
    """

    def __init__(self, asr: U2ASR, feature: str = "fbank", spec_aug: bool = True):
        super().__init__()
        if feature not in ("fbank", "log_mag"):
            raise ValueError(f"ASR feature must be fbank or log_mag, got {feature!r}")
        self.asr, self.feature = asr, feature
        self.fbank, self.stft, self.log_mag = Fbank(), Stft(), LogMagnitude()
        self.spec_aug = common.SpecAugment() if spec_aug else None

    def features(self, wav: torch.Tensor, wav_lens: torch.Tensor
                 ) -> tuple[torch.Tensor, torch.Tensor]:
        """wav (B, N), wav_lens (B,) -> feats (B, T, F), lengths (B,)."""
        if self.feature == "fbank":
            return self.fbank(wav, wav_lens)
        return self.log_mag(self.stft(wav)), common.stft_frames(wav_lens)

    def forward(self, batch: Mapping[str, Any]) -> dict[str, torch.Tensor]:
        """Training: the losses. Evaluation (``model.eval()``) also ``cer``: the batch's CTC greedy
        character error rate (errors / reference characters), the dev CER of the learning curves."""
        feats, lens = self.features(batch["wav"], batch["wav_lens"])
        if self.spec_aug is not None:
            feats = self.spec_aug(feats, lens)
        out = self.asr(feats, lens, batch["tokens"], batch["token_lens"])
        res = {k: v for k, v in out.items() if k in ("loss", "loss_ctc", "loss_att")}
        if not self.training:
            res["cer"] = greedy_cer(self.asr, out["encoder_out"], out["encoder_lens"],
                                    batch["tokens"], batch["token_lens"])
        return res

    def export_model(self) -> nn.Module:
        return self.asr


TASK_KEYS = ("spec_aug", "init")  # recipe model keys of the task, not of the model


def build_asr(m: Mapping[str, Any], data: DataConf, vocab_size: int) -> U2ASR:
    """The recipe's ``model:`` section (kind asr) -> :class:`U2ASR` with the data's CMVN
    statistics (``cmvn_fbank`` or ``cmvn_logmag_clean``); ``vocab_size`` from the units; every
    weight from ``init`` (a trained ASR model directory) when given."""
    conf = common.model_section(m, "asr", TASK_KEYS)
    if conf.setdefault("vocab_size", vocab_size) != vocab_size:
        raise ValueError(f"model.vocab_size is {conf['vocab_size']}, {DataPaths.from_config(data).units} has "
                         f"{vocab_size} units")
    asr = build_model(conf)
    init = common.init_source(m, "asr")
    if init is not None:
        common.init_from(asr, init, common.tokenizer(data).units)
    else:
        common.fill_cmvn(asr.encoder, data, "fbank" if asr.feature == "fbank" else "logmag_clean")
    return asr


def build(conf: Mapping[str, Any]) -> tuple[nn.Module, Dataset, Dataset, Any]:
    """Config -> (task, train set, valid set, collate)."""
    data, m = conf["data"], conf["model"]
    tok = common.tokenizer(data)
    asr = build_asr(m, data, tok.vocab_size)
    kinds = TRACK_SETS[data.get("track", "multi")]
    cache = str(DataPaths.from_config(data).audio_cache)

    def utts(split: str) -> list[Utterance]:
        return [u for k in kinds for u in common.sources(data, k, split)]

    max_s = float(data.get("max_seconds", 20.0))
    train = UtteranceDataset(utts("train"), tok, cache, max_s, data.get("speed_perturb"),
                             int(conf.get("seed", 0)))
    valid = UtteranceDataset(utts("dev"), tok, cache, max_s)
    return ASRTask(asr, asr.feature, bool(m.get("spec_aug", True))), train, valid, collate
