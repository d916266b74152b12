"""JRSV: MTASS separator + one shared U2 ASR over both separated tracks (paper sec. 2).

Modes (paper sec. 2.3 / 4.4):
  * ``"f"``  (JRSV-f):   MTASS frozen (eval, no grad), ``L = L_ASR``.
  * ``"fd"`` (JRSV-f-d): frozen + online distillation,
    ``L = L_ASR + beta * L_distil``; L_distil = MSE between the ASR encoder outputs on the
    separated magnitudes and on the clean reference magnitudes (clean branch detached),
    averaged over valid encoder frames and dims. The clean branch runs in the ASR's current
    mode (same dropout / batch-norm behaviour as the student branch, so identical inputs give
    zero loss without dropout) but never updates batch-norm running statistics: those must
    describe the separated inputs the ASR sees at test time.
  * ``"t"``  (JRSV-t):   MTASS trainable, ``L = L_ASR + w * L_MTASS``.

Also :class:`Cascade`: MTASS -> iSTFT (mixture phase) -> 80-dim fbank -> a separately
trained fbank ASR (the paper's cascade baseline, Table 3).

The ASR is any module with the ``U2ASR`` contract (docs/ARCHITECTURE.md):
``forward(feats, feat_lens, ys, ys_lens) -> dict(loss, loss_ctc, loss_att, encoder_out,
encoder_lens)``, ``encode(feats, lens) -> (enc, enc_lens)``,
``decode(feats, lens, mode, beam_size) -> list[DecodeResult]``.
"""
from __future__ import annotations

import contextlib
from typing import Any, Mapping

import torch
from torch import nn

from jrsv.asr.search import greedy_cer
from jrsv.constants import NUM_MEL_BINS, TRACKS
from jrsv.model_registry import check_keys
from jrsv.nn.frontend import Fbank, LogMagnitude, Stft
from jrsv.nn.mask import make_non_pad_mask
from jrsv.separation.loss import MTASSLoss
from jrsv.separation.model import MTASS

MODES = ("f", "fd", "t")
ASR_INPUTS = ("log_mag", "mag")


def pad_tokens(seqs: list[torch.Tensor], pad: int = -1) -> torch.Tensor:
    """Concatenate (B_i, L_i) token batches along B, right-padding to the longest L with ``pad``."""
    width = max(int(s.size(1)) for s in seqs)
    return torch.cat([nn.functional.pad(s, (0, width - s.size(1)), value=pad) for s in seqs], 0)


@contextlib.contextmanager
def frozen_norm_stats(module: nn.Module):
    """Run ``module`` in its current mode without updating BatchNorm running statistics."""
    bns = [m for m in module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)
           and m.track_running_stats]
    saved = [(m.momentum, m.num_batches_tracked.clone()) for m in bns]
    for m in bns:
        m.momentum = 0.0
    try:
        yield
    finally:
        for m, (momentum, tracked) in zip(bns, saved):
            m.momentum = momentum
            m.num_batches_tracked.copy_(tracked)


def masked_mse(a: torch.Tensor, b: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Mean squared error over valid frames. a, b (B, T, D), lengths (B,) -> scalar."""
    valid = make_non_pad_mask(lengths, a.size(1)).unsqueeze(-1).to(a.dtype)
    denom = (valid.sum() * a.size(-1)).clamp(min=1.0)
    return ((a - b).pow(2) * valid).sum() / denom


class JRSV(nn.Module):
    """Joint speech / singing recogniser.

    Args:
        mtass: the separator (its ``speech`` and ``singing`` heads are recognised).
        asr: a ``U2ASR`` taking ``mtass.input_dim``-dim features.
        mode: ``"f"``, ``"fd"`` or ``"t"`` (see module docstring).
        mtass_weight: w of L_MTASS in mode ``"t"``.
        distill_weight: beta of L_distil in mode ``"fd"`` (paper 0.3).
        asr_input: ``"log_mag"`` (log(|S^| + 1e-5), default) or ``"mag"``.
        mtass_loss: the L_MTASS criterion for mode ``"t"`` (default :class:`MTASSLoss`()).

    Config (:meth:`to_config` / :meth:`from_config`), the keys of the recipe's ``model:``
    section for kind ``jrsv``: ``mode``, ``mtass_weight``, ``distill_weight``; the ASR's keys
    (:class:`U2ASR`: ``vocab_size``, ``ctc_weight``, ``encoder_conf``, ...) inline, with
    ``feature`` = ``asr_input`` (default ``log_mag``) and ``input_dim`` defaulting to the
    separator's; and ``mtass:`` the separator's config (the recipe names a trained one with
    ``mtass_dir`` instead).
    """

    kind = "jrsv"
    CONFIG_KEYS = ("mode", "mtass_weight", "distill_weight", "mtass")

    def __init__(self, mtass: MTASS, asr: nn.Module, mode: str = "f", mtass_weight: float = 1.0,
                 distill_weight: float = 0.3, asr_input: str = "log_mag",
                 mtass_loss: MTASSLoss | None = None):
        super().__init__()
        if mode not in MODES:
            raise ValueError(f"JRSV mode must be one of {MODES}, got {mode!r}")
        if asr_input not in ASR_INPUTS:
            raise ValueError(f"JRSV asr_input must be one of {ASR_INPUTS}, got {asr_input!r}")
        self.mtass, self.asr = mtass, asr
        self.mode, self.asr_input = mode, asr_input
        self.mtass_weight, self.distill_weight = mtass_weight, distill_weight
        self.log_mag = LogMagnitude()
        self.mtass_loss = mtass_loss or MTASSLoss()
        self._config: dict[str, Any] = dict(mode=mode, mtass_weight=mtass_weight,
                                            distill_weight=distill_weight)
        if self.frozen:
            self.mtass.requires_grad_(False)
            self.mtass.eval()

    def to_config(self) -> dict[str, Any]:
        """``{kind: jrsv, mode, mtass_weight, distill_weight, <ASR keys>, mtass: {...}}``."""
        asr = {k: v for k, v in self.asr.to_config().items() if k != "kind"}
        return {"kind": self.kind, **self._config, **asr, "feature": self.asr_input,
                "mtass": self.mtass.to_config()}

    @property
    def config(self) -> dict[str, Any]:
        """Same as :meth:`to_config`."""
        return self.to_config()

    @classmethod
    def from_config(cls, conf: Mapping[str, Any]) -> "JRSV":
        """Build (untrained, placeholder CMVN) from :meth:`to_config`'s keys; ``ValueError``
        for an unknown key or a missing ``mtass`` section."""
        from jrsv.asr.model import U2ASR
        conf = check_keys(conf, cls.kind, cls.CONFIG_KEYS + U2ASR.CONFIG_KEYS)
        if not isinstance(conf.get("mtass"), Mapping):
            raise ValueError("the jrsv config lacks the 'mtass' section (the separator's config)")
        with torch.random.fork_rng(devices=[]):  # the ASR's initial weights do not depend on
            mtass = MTASS.from_config(conf.pop("mtass"))  # the separator's (trained ones load)
        own = {k: conf.pop(k) for k in cls.CONFIG_KEYS if k in conf}
        conf.setdefault("feature", "log_mag")
        conf.setdefault("input_dim", mtass.input_dim)
        return cls(mtass, U2ASR.from_config(conf), asr_input=conf["feature"], **own)

    @property
    def frozen(self) -> bool:
        return self.mode in ("f", "fd")

    def train(self, mode: bool = True) -> "JRSV":
        """Like ``nn.Module.train`` but a frozen MTASS stays in eval mode."""
        super().train(mode)
        if self.frozen:
            self.mtass.eval()
        return self

    def features(self, mag: torch.Tensor) -> torch.Tensor:
        """Magnitude (B, T, F) -> ASR features (B, T, F)."""
        return self.log_mag(mag) if self.asr_input == "log_mag" else mag

    def separate(self, mix_mag: torch.Tensor, lengths: torch.Tensor) -> dict[str, torch.Tensor]:
        """MTASS forward; without autograd when frozen."""
        if self.frozen:
            with torch.no_grad():
                return self.mtass(mix_mag, lengths)
        return self.mtass(mix_mag, lengths)

    def stack(self, tracks: Mapping[str, torch.Tensor], lengths: torch.Tensor
              ) -> tuple[torch.Tensor, torch.Tensor]:
        """{speech, singing} (B, T, F) -> ASR batch (2B, T, F) features, lengths (2B,)."""
        feats = torch.cat([self.features(tracks[t]) for t in TRACKS], 0)
        return feats, torch.cat([lengths, lengths], 0)

    def forward(self, batch: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """One training step's loss.

        batch: mix_mag, speech_mag, singing_mag, [music_mag, mix_phase] (B, T, F); lengths (B,);
        speech_tokens, singing_tokens (B, L) -1-padded; speech_token_lens, singing_token_lens (B,).
        Returns dict(loss, loss_asr, loss_ctc, loss_att[, loss_distil][, loss_mtass, mag, dis,
        cst]); in eval mode also cer_speech, cer_singing (CTC greedy, the batch's errors / reference
        characters).
        """
        lengths = batch["lengths"]
        est = self.separate(batch["mix_mag"], lengths)
        feats, feat_lens = self.stack(est, lengths)
        ys = pad_tokens([batch["speech_tokens"], batch["singing_tokens"]])
        ys_lens = torch.cat([batch["speech_token_lens"], batch["singing_token_lens"]], 0)
        out = self.asr(feats, feat_lens, ys, ys_lens)
        res = {"loss_asr": out["loss"], "loss_ctc": out.get("loss_ctc"),
               "loss_att": out.get("loss_att")}
        loss = out["loss"]
        if self.mode == "fd":
            clean, clean_lens = self.stack({t: batch[f"{t}_mag"] for t in TRACKS}, lengths)
            with torch.no_grad(), frozen_norm_stats(self.asr):
                teacher, _ = self.asr.encode(clean, clean_lens)
            distil = masked_mse(out["encoder_out"], teacher.detach(), out["encoder_lens"])
            res["loss_distil"] = distil
            loss = loss + self.distill_weight * distil
        elif self.mode == "t":
            refs = {t: batch[f"{t}_mag"] for t in TRACKS}
            if "music_mag" in batch:
                refs["music"] = batch["music_mag"]
            m = self.mtass_loss(est, refs, batch["mix_mag"], lengths, batch.get("mix_phase"))
            res.update(loss_mtass=m["loss"], mag=m["mag"], dis=m["dis"], cst=m["cst"])
            loss = loss + self.mtass_weight * m["loss"]
        res["loss"] = loss
        if not self.training:  # validation: the dev CER of each track (CTC greedy)
            b = lengths.shape[0]
            for i, t in enumerate(TRACKS):
                part = slice(i * b, (i + 1) * b)
                res[f"cer_{t}"] = greedy_cer(self.asr, out["encoder_out"][part],
                                             out["encoder_lens"][part], batch[f"{t}_tokens"],
                                             batch[f"{t}_token_lens"])
        return {k: v for k, v in res.items() if v is not None}

    @torch.no_grad()
    def transcribe(self, mix_mag: torch.Tensor, lengths: torch.Tensor,
                   mode: str = "attention_rescoring", beam_size: int = 10, **decode_kw
                   ) -> dict[str, list]:
        """Separate and recognise both tracks in one ASR batch.

        mix_mag (B, T, F), lengths (B,) -> {"speech": [DecodeResult] * B, "singing": [...] * B}.
        """
        was_training = self.training
        self.eval()
        try:
            est = self.mtass(mix_mag, lengths)
            feats, feat_lens = self.stack(est, lengths)
            hyps = self.asr.decode(feats, feat_lens, mode=mode, beam_size=beam_size, **decode_kw)
        finally:
            self.train(was_training)
        b = mix_mag.size(0)
        return {"speech": list(hyps[:b]), "singing": list(hyps[b:])}


class Cascade(nn.Module):
    """Cascade baseline: MTASS -> iSTFT with the mixture phase -> fbank -> fbank ASR.

    Args:
        mtass: the separator.
        fbank_asr: a ``U2ASR`` on 80-dim fbank features.
        stft: analysis / synthesis matching the MTASS input (default 1024 / 256).
        fbank: the ASR front-end (default 80-dim Kaldi-style fbank).

    Config (:meth:`to_config` / :meth:`from_config`): ``mtass:`` and ``asr:``, the two
    models' configs.
    """

    kind = "cascade"
    CONFIG_KEYS = ("mtass", "asr")

    def __init__(self, mtass: MTASS, fbank_asr: nn.Module, stft: Stft | None = None,
                 fbank: Fbank | None = None):
        super().__init__()
        self.mtass, self.asr = mtass, fbank_asr
        self.stft = stft or Stft()
        self.fbank = fbank or Fbank(num_mel_bins=NUM_MEL_BINS)

    def to_config(self) -> dict[str, Any]:
        """``{kind: cascade, mtass: {...}, asr: {...}}`` (the two models' configs)."""
        return {"kind": self.kind, "mtass": self.mtass.to_config(), "asr": self.asr.to_config()}

    @property
    def config(self) -> dict[str, Any]:
        """Same as :meth:`to_config`."""
        return self.to_config()

    @classmethod
    def from_config(cls, conf: Mapping[str, Any]) -> "Cascade":
        """Build (untrained, placeholder CMVN) from :meth:`to_config`'s keys."""
        from jrsv.asr.model import U2ASR
        conf = check_keys(conf, cls.kind, cls.CONFIG_KEYS)
        for key in cls.CONFIG_KEYS:
            if not isinstance(conf.get(key), Mapping):
                raise ValueError(f"the cascade config lacks the {key!r} section")
        return cls(MTASS.from_config(conf["mtass"]), U2ASR.from_config(conf["asr"]))

    @torch.no_grad()
    def separate_waveforms(self, mix_mag: torch.Tensor, mix_phase: torch.Tensor,
                           lengths: torch.Tensor
                           ) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
        """(B, T, F) magnitude and phase, lengths (B,) frames -> {track: (wav (B, N), samples (B,))}.

        N = (T - 1) * hop; samples = (lengths - 1) * hop (centred STFT).
        """
        est = self.mtass(mix_mag, lengths)
        n = (mix_mag.size(1) - 1) * self.stft.hop_length
        samples = (lengths - 1).clamp(min=0) * self.stft.hop_length
        return {t: (self.stft.inverse(est[t], mix_phase, n), samples) for t in TRACKS}

    @torch.no_grad()
    def transcribe(self, mix_mag: torch.Tensor, lengths: torch.Tensor, mix_phase: torch.Tensor,
                   mode: str = "attention_rescoring", beam_size: int = 10, **decode_kw
                   ) -> dict[str, list]:
        """Like :meth:`JRSV.transcribe`; needs the mixture phase (B, T, F) for resynthesis."""
        was_training = self.training
        self.eval()
        try:
            wavs = self.separate_waveforms(mix_mag, mix_phase, lengths)
            feats, frames = zip(*(self.fbank(*wavs[t]) for t in TRACKS))
            hyps = self.asr.decode(torch.cat(feats, 0), torch.cat(frames, 0), mode=mode,
                                   beam_size=beam_size, **decode_kw)
        finally:
            self.train(was_training)
        b = mix_mag.size(0)
        return {"speech": list(hyps[:b]), "singing": list(hyps[b:])}
