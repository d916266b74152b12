"""Tensorboard examples at each validation: dev SDR and audio for the separator, transcripts
for the JRSV recogniser. Used by ``jrsv.bin.train`` when the task defines ``log_examples``."""
from __future__ import annotations

from typing import Any, Sequence

import torch

from jrsv.asr.tokenizer import CharTokenizer
from jrsv.constants import SAMPLE_RATE, TRACKS
from jrsv.nn.frontend import Stft
from jrsv.separation.metrics import sdr
from jrsv.tasks import common



def take(dataset: Any, n: int) -> list[dict]:
    """The first ``n`` items of a map-style dataset (fewer if it is shorter)."""
    return [dataset[i] for i in range(min(n, len(dataset)))]


@torch.no_grad()
def separate_examples(mtass: torch.nn.Module, items: Sequence[dict], stft: Stft,
                      device: torch.device) -> list[dict[str, torch.Tensor]]:
    """Each dev mixture through the separator: ``{track: estimated waveform (N,)}`` each."""
    out = []
    for it in items:
        wav = it["mixture"].to(device).unsqueeze(0)
        mag, phase = stft.magnitude_phase(wav)
        est = mtass(mag, common.stft_frames(torch.tensor([wav.size(1)])).to(device))
        out.append({t: stft.inverse(est[t], phase, wav.size(1))[0].cpu() for t in TRACKS})
    return out


def log_separation(writer: Any, step: int, mtass: torch.nn.Module, items: Sequence[dict],
                   stft: Stft) -> dict[str, float]:
    """Mean dev SDR per track (scalars ``dev_sdr/<track>``) and the first example's audio."""
    if writer is None or not items:
        return {}
    device = next(mtass.parameters()).device
    was = mtass.training
    mtass.eval()
    try:
        ests = separate_examples(mtass, items, stft, device)
    finally:
        mtass.train(was)
    means = {}
    for t in TRACKS:
        vals = [float(sdr(it[t], e[t])) for it, e in zip(items, ests)]
        vals = [v for v in vals if v == v]  # silent references give NaN
        if vals:
            means[t] = sum(vals) / len(vals)
            writer.add_scalar(f"dev_sdr/{t}", means[t], step)
    writer.add_audio("example/mixture", items[0]["mixture"].unsqueeze(0), step, sample_rate=SAMPLE_RATE)
    for t in TRACKS:
        peak = float(ests[0][t].abs().max().clamp(min=1.0))
        writer.add_audio(f"example/{t}", (ests[0][t] / peak).unsqueeze(0), step, sample_rate=SAMPLE_RATE)
    return means


def log_transcripts(writer: Any, step: int, model: torch.nn.Module, items: Sequence[dict],
                    stft: Stft, units: Sequence[str]) -> None:
    """Reference and hypothesis text of each dev example and track (``add_text``)."""
    if writer is None or not items:
        return
    device = next(model.parameters()).device
    tokenizer = CharTokenizer(list(units))
    lines = []
    for it in items:
        wav = it["mixture"].to(device).unsqueeze(0)
        mag = stft(wav)
        hyps = model.transcribe(mag, common.stft_frames(torch.tensor([wav.size(1)])).to(device),
                                mode="ctc_greedy_search")
        for t in TRACKS:
            hyp = tokenizer.decode(hyps[t][0].tokens)
            lines.append(f"{t} REF: {it[f'{t}_text']}  \n{t} HYP: {hyp}")
    writer.add_text("dev/transcripts", "  \n".join(lines), step)
