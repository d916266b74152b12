"""The model side of decoding: batched separation of windows and recognition of ASR pieces.

:class:`DecodeEngine` wraps a separator (``MTASS`` contract: ``forward(mag (B,T,F), lengths (B,))
-> {head: (B,T,F)}``) and an ASR (``U2ASR`` contract: ``encode(feats, lens) -> (enc, enc_lens)``,
``ctc.ctc_lo``, optionally ``decode(...)`` for beam search / attention rescoring).
"""
from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import torch
from torch import nn

from jrsv.asr.search import ctc_greedy_search
from jrsv.asr.tokenizer import CharTokenizer
from jrsv.constants import DEFAULT_STFT, SAMPLE_RATE, TRACKS, StftFrontend
from jrsv.decode.ctc import peak_confidences
from jrsv.nn.padding import pad_sequences

MIN_ASR_FRAMES = 7  # Conv2d subsampling x4 needs at least 7 input frames


@dataclass
class Hypothesis:
    """Recognition of one piece: token ids, CTC peak times (encoder frames), peak posteriors."""
    tokens: list[int]
    times: list[int]
    confidences: list[float]


def pad_batch(mags: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """[(T_i, F)] -> (padded (B, T_max, F), lengths (B,))."""
    return pad_sequences(mags)


def pad_min_frames(mags: list[torch.Tensor]) -> list[torch.Tensor]:
    """Zero-pad pieces shorter than :data:`MIN_ASR_FRAMES` (the subsampling's minimum)."""
    return [m if m.size(0) >= MIN_ASR_FRAMES else
            torch.cat([m, m.new_zeros(MIN_ASR_FRAMES - m.size(0), m.size(1))]) for m in mags]


def hypotheses(log_probs: torch.Tensor, enc_lens: list[int], results) -> list[Hypothesis]:
    """log_probs (B, T', V) on CPU, valid lengths, search results (``tokens``, ``times``)
    -> :class:`Hypothesis` with the CTC posterior of each token at its peak frame."""
    return [Hypothesis(list(r.tokens), list(r.times),
                       peak_confidences(log_probs[i, :enc_lens[i]], list(r.tokens), list(r.times)))
            for i, r in enumerate(results)]


def log_magnitude(mag: torch.Tensor) -> torch.Tensor:
    return torch.log(mag.clamp(min=0) + 1e-5)


class DecodeEngine:
    """Batched model calls for the decoder.

    Args:
        separator: MTASS-like module; its ``speech`` and ``singing`` outputs are used.
        asr: U2ASR-like module.
        units: token strings by id (``<blank>`` = 0).
        asr_features: magnitude (B, T, F) -> ASR input (default log(|S| + 1e-5), JRSV's input).
        device: where the models run.
        beam_size: 1 = CTC greedy search; > 1 = ``asr.decode(mode=decode_mode)``.
        frontend: the separator's STFT (a model directory's ``frontend``); the decoder's
            streaming STFT, frame times and VAD levels follow it.
    """

    def __init__(self, separator: nn.Module, asr: nn.Module, units: list[str],
                 asr_features: Callable[[torch.Tensor], torch.Tensor] | None = None,
                 device: str | torch.device = "cpu", beam_size: int = 1,
                 decode_mode: str = "attention_rescoring",
                 frontend: StftFrontend = DEFAULT_STFT):
        self.device = torch.device(device)
        self.separator = separator.to(self.device).eval()
        self.asr = asr.to(self.device).eval()
        self.units = list(units)
        self.tokenizer = CharTokenizer(self.units)
        self.asr_features = asr_features or log_magnitude
        self.beam_size, self.decode_mode = int(beam_size), decode_mode
        if frontend.sample_rate != SAMPLE_RATE:
            raise ValueError(f"decoding reads audio at {SAMPLE_RATE} Hz; the model's front-end "
                             f"is {frontend.sample_rate} Hz")
        self.frontend = frontend
        self.timings: dict[str, float] = defaultdict(float)  # seconds per stage (model calls)

    @classmethod
    def from_model_dir(cls, model_dir: str | Path, device: str | torch.device = "cpu",
                       beam_size: int = 1) -> "DecodeEngine":
        """Load ``DIR`` (``jrsv.model_io`` layout, kind ``jrsv``), with the STFT its config.yaml
        ``frontend`` names; raises ``ModelDirError``."""
        from jrsv.model_io import ModelDirError, load_model_dir, read_config
        model = load_model_dir(model_dir, device="cpu")
        if not (hasattr(model, "mtass") and hasattr(model, "asr") and hasattr(model, "features")):
            raise ModelDirError(model_dir, f"decode needs a kind 'jrsv' model (separator + ASR on "
                                           f"magnitudes), got {type(model).__name__}")
        try:
            frontend = StftFrontend.from_config(read_config(model_dir).get("frontend"))
        except ValueError as e:
            raise ModelDirError(model_dir, str(e)) from None
        bins = (getattr(model.mtass, "config", None) or {}).get("input_dim", frontend.num_bins)
        if bins != frontend.num_bins:
            raise ModelDirError(model_dir, f"config.yaml frontend gives {frontend.num_bins} STFT "
                                           f"bins, the separator takes {bins}")
        try:
            return cls(model.mtass, model.asr, model.units, model.features, device, beam_size,
                       frontend=frontend)
        except ValueError as e:
            raise ModelDirError(model_dir, str(e)) from None

    @torch.inference_mode()
    def separate(self, mags: list[torch.Tensor]) -> list[dict[str, torch.Tensor]]:
        """[(T_i, F) mixture magnitudes] -> [{"speech": (T_i, F), "singing": (T_i, F)}] on CPU."""
        t0 = time.perf_counter()
        x, lens = pad_batch(mags)
        out = self.separator(x.to(self.device), lens.to(self.device))
        res = [{t: out[t][i, :int(n)].float().cpu() for t in TRACKS} for i, n in enumerate(lens)]
        self.timings["separation"] += time.perf_counter() - t0
        return res

    @torch.inference_mode()
    def recognize(self, mags: list[torch.Tensor], track: str | Sequence[str] = "") -> list[Hypothesis]:
        """[(T_i, F) separated magnitudes] -> one :class:`Hypothesis` each.

        ``track`` only labels the time spent (``timings["asr.<track>"]``): one label for all
        pieces, or one per piece (pieces of both tracks in one call share the time by frames).
        """
        t0 = time.perf_counter()
        hyps = self._recognize(mags)
        spent = time.perf_counter() - t0
        labels = [track] * len(mags) if isinstance(track, str) else list(track)
        frames = [max(m.size(0), 1) for m in mags]
        for label, n in zip(labels, frames):
            self.timings[f"asr.{label}" if label else "asr"] += spent * n / sum(frames)
        return hyps

    def _recognize(self, mags: list[torch.Tensor]) -> list[Hypothesis]:
        x, lens = pad_batch(pad_min_frames(mags))
        feats, lens = self.asr_features(x.to(self.device)), lens.to(self.device)
        enc, enc_lens_t = self.asr.encode(feats, lens)
        log_probs = torch.log_softmax(self.asr.ctc.ctc_lo(enc).float(), dim=-1)
        if self.beam_size > 1 and hasattr(self.asr, "decode_encoded"):
            results = self.asr.decode_encoded(enc, enc_lens_t, mode=self.decode_mode,
                                              beam_size=self.beam_size, ctc_log_probs=log_probs)
        elif self.beam_size > 1 and hasattr(self.asr, "decode"):
            results = self.asr.decode(feats, lens, mode=self.decode_mode, beam_size=self.beam_size)
        else:
            results = ctc_greedy_search(log_probs, enc_lens_t)
        return hypotheses(log_probs.cpu(), enc_lens_t.cpu().tolist(), results)

    def text(self, tokens: list[int]) -> str:
        """Token ids -> text (:meth:`jrsv.asr.tokenizer.CharTokenizer.decode`)."""
        return self.tokenizer.decode(tokens)
