"""Accumulators that turn decoded / separated batches into score-file numbers.

:class:`CerTally`: character error counts per (overlap, track), insertions included (so a CER
can exceed 100 %). Reference and hypothesis are both normalised by
:func:`jrsv.asr.tokenizer.split_text` (one token per CJK character, spaces removed, Latin words
whole and upper-cased), so the CER is over the tokens the ASR units are built from.
:class:`SdriTally`: mean BSS-eval SDR improvement per (overlap, track), silent references skipped.
Both also keep each row's result, so :meth:`per_voice` can break a score down by speaker / singer
(which voice a separator routes to the wrong track, which voice a recogniser fails on).
"""
from __future__ import annotations

import math
from typing import Mapping, Sequence

import torch

from jrsv.asr.cer import ErrorCounts, align_counts
from jrsv.asr.tokenizer import CharTokenizer, split_text
from jrsv.eval.scores import cer_from_counts
from jrsv.separation.metrics import sdr

UNMIXED = "unmixed"

Voices = Mapping[str, Mapping[str, str]]  # row id -> {track: voice (speaker / singer id)}


def voices_of(rows: Sequence[Mapping]) -> dict[str, dict[str, str]]:
    """DTSSVD manifest rows -> {row id: {"speech": speaker, "singing": singer}}."""
    return {r["id"]: {t: r[t]["speaker"] for t in ("speech", "singing") if "speaker" in r.get(t, {})}
            for r in rows}


def hypothesis_text(tokens: Sequence[int], units: Sequence[str] | CharTokenizer) -> str:
    """Token ids -> text with :meth:`CharTokenizer.decode` (``units``: a unit table or a
    tokenizer)."""
    tok = units if isinstance(units, CharTokenizer) else CharTokenizer(list(units))
    return tok.decode(tokens)


class CerTally:
    """Error counts per key ("0.0" ... or "unmixed") and track; optional hypothesis log.

    ``units``: the model's unit table, for :meth:`add` (token ids); None when only
    :meth:`add_text` (decoded text, e.g. ``jrsv decode`` transcripts) is used."""

    def __init__(self, units: Sequence[str] | None):
        self.units = None if units is None else list(units)
        self.tokenizer = None if units is None else CharTokenizer(self.units)
        self.counts: dict[str, dict[str, ErrorCounts]] = {}
        self.lines: list[str] = []
        self.rows: list[tuple[str, str, str, ErrorCounts]] = []  # (key, track, utt_id, counts)

    def add(self, key: str, track: str, utt_id: str, ref_text: str,
            tokens: Sequence[int]) -> ErrorCounts:
        """Score one hypothesis (token ids) against one reference text."""
        if self.tokenizer is None:
            raise ValueError("CerTally(units=None) scores text (add_text), not token ids")
        return self.add_text(key, track, utt_id, ref_text, hypothesis_text(tokens, self.tokenizer))

    def add_text(self, key: str, track: str, utt_id: str, ref_text: str, hyp: str) -> ErrorCounts:
        """Score one hypothesis text against one reference text."""
        c = align_counts(split_text(ref_text), split_text(hyp))
        per = self.counts.setdefault(key, {})
        per[track] = per.get(track, ErrorCounts()) + c
        self.rows.append((key, track, utt_id, c))
        self.lines.append(f"{utt_id}\t{key}\t{track}\terr={c.errors}\tref={c.ref_len}\t"
                          f"REF: {ref_text}\tHYP: {hyp}")
        return c

    def count_dict(self) -> dict[str, dict[str, dict[str, int]]]:
        """{key: {track: {"err", "ref", "sub", "del", "ins"}}}."""
        return {k: {t: {"err": c.errors, "ref": c.ref_len, "sub": c.sub, "del": c.dele,
                        "ins": c.ins} for t, c in v.items()}
                for k, v in sorted(self.counts.items())}

    def cer(self, key: str) -> dict[str, float]:
        """{track: CER %} for one key."""
        return cer_from_counts({t: {"err": c.errors, "ref": c.ref_len}
                                for t, c in self.counts.get(key, {}).items()})

    def per_overlap(self) -> dict[str, dict[str, float]]:
        return {k: self.cer(k) for k in sorted(self.counts) if k != UNMIXED}

    def per_voice(self, voices: Voices, key: str | None = None) -> dict[str, dict[str, float]]:
        """{track: {voice: CER %}} over the mixtures (``key`` None: every key but "unmixed")
        or over one key; rows whose id has no voice in ``voices`` are left out."""
        sums: dict[str, dict[str, ErrorCounts]] = {}
        for k, track, utt, c in self.rows:
            if (k == key if key is not None else k != UNMIXED) and track in voices.get(utt, {}):
                per = sums.setdefault(track, {})
                v = voices[utt][track]
                per[v] = per.get(v, ErrorCounts()) + c
        return {t: {v: 100.0 * c.errors / max(c.ref_len, 1) for v, c in sorted(per.items())}
                for t, per in sorted(sums.items())}


class SdriTally:
    """Per-utterance SDR(ref, est) - SDR(ref, mixture), averaged per (overlap, track).

    ``mix_cache`` maps (utterance id, track) to SDR(ref, mixture) so several separators
    evaluated on the same rows compute the mixture baseline once.
    """

    def __init__(self, mix_cache: dict[tuple[str, str], float] | None = None):
        self.values: dict[str, dict[str, list[float]]] = {}
        self.sdrs: dict[str, dict[str, list[float]]] = {}
        self.skipped: dict[str, dict[str, int]] = {}
        self.rows: list[tuple[str, str, str, float]] = []  # (key, track, utt_id, SDRi dB)
        self.mix_cache = {} if mix_cache is None else mix_cache

    def add(self, key: str, track: str, utt_id: str, ref: torch.Tensor, est: torch.Tensor,
            mix: torch.Tensor) -> float:
        """ref, est, mix: (N,) signals (any device) -> the SDRi in dB (NaN if ref is silent)."""
        ref, est, mix = (x.detach().double().cpu() for x in (ref, est, mix))
        s_est = float(sdr(ref, est))
        cache_key = (utt_id, track)
        if cache_key not in self.mix_cache:
            self.mix_cache[cache_key] = float(sdr(ref, mix))
        s_mix = self.mix_cache[cache_key]
        if math.isnan(s_est) or math.isnan(s_mix):
            per = self.skipped.setdefault(key, {})
            per[track] = per.get(track, 0) + 1
            return math.nan
        self.values.setdefault(key, {}).setdefault(track, []).append(s_est - s_mix)
        self.sdrs.setdefault(key, {}).setdefault(track, []).append(s_est)
        self.rows.append((key, track, utt_id, s_est - s_mix))
        return s_est - s_mix

    def per_voice(self, voices: Voices, key: str | None = None) -> dict[str, dict[str, float]]:
        """{track: {voice: mean SDRi dB}} over every key (or one); silent references and rows
        without a voice in ``voices`` are left out."""
        vals: dict[str, dict[str, list[float]]] = {}
        for k, track, utt, v in self.rows:
            if (key is None or k == key) and track in voices.get(utt, {}):
                vals.setdefault(track, {}).setdefault(voices[utt][track], []).append(v)
        return {t: {v: sum(x) / len(x) for v, x in sorted(per.items())}
                for t, per in sorted(vals.items())}

    def per_overlap(self) -> dict[str, dict[str, float]]:
        """{overlap: {track: mean SDRi dB}}."""
        keys = sorted(set(self.values) | set(self.skipped))
        return {k: {t: (sum(v) / len(v) if v else math.nan)
                    for t, v in self.values.get(k, {}).items()} for k in keys}

    def count_dict(self) -> dict[str, dict[str, dict[str, float]]]:
        """{overlap: {track: {"n", "sdr" (mean dB), "skipped_silent"}}}."""
        keys = sorted(set(self.values) | set(self.skipped))
        out: dict = {}
        for k in keys:
            tracks = set(self.values.get(k, {})) | set(self.skipped.get(k, {}))
            out[k] = {}
            for t in sorted(tracks):
                s = self.sdrs.get(k, {}).get(t, [])
                out[k][t] = {"n": len(s), "sdr": (sum(s) / len(s) if s else math.nan),
                             "skipped_silent": self.skipped.get(k, {}).get(t, 0)}
        return out
