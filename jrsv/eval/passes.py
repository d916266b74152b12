"""One evaluation pass per table over a :class:`~jrsv.eval.decode_sets.EvalSet`.

* :func:`direct_asr_pass` (Table 1): an fbank ASR recognises the mixture; the one hypothesis
  is scored against the speech AND the singing transcript. "Unmixed": each row's speech and
  singing reference, cropped to the span where the voice was placed (its mixing gain kept),
  recognised on their own.
* :func:`separation_pass` (Table 2): MTASS magnitudes -> iSTFT with the mixture phase, per
  utterance at its own length -> SDRi against the row's reference waveforms.
* :func:`cascade_pass` (Table 3): :meth:`jrsv.jrsv.Cascade.transcribe`.
* :func:`jrsv_pass` (Table 4): :meth:`jrsv.jrsv.JRSV.transcribe`.

The mixture STFT is taken per utterance (no padding inside the analysis), then padded.
Callers run these under ``torch.inference_mode()``.
"""
from __future__ import annotations

from typing import Callable, Iterator

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from jrsv.constants import TRACKS
from jrsv.eval.decode_sets import Batch, EvalSet, pad_stack
from jrsv.eval.tally import UNMIXED, CerTally, SdriTally
from jrsv.nn.frontend import Fbank, Stft



def _progress(evalset: EvalSet, desc: str) -> Iterator[tuple[Batch, Callable[[], None]]]:
    """Batches of ``evalset`` with a tqdm bar counting utterances."""
    with tqdm(total=len(evalset), desc=desc, unit="utt", dynamic_ncols=True) as bar:
        for batch in evalset:
            yield batch, (lambda n=len(batch): bar.update(n))


def mixture_stft(stft: Stft, batch: Batch, device: torch.device
                 ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per-utterance STFT of the mixtures -> mag (B, T, F), phase (B, T, F), frames (B,)."""
    mags, phases = [], []
    for i, n in enumerate(batch.samples.tolist()):
        m, p = stft.magnitude_phase(batch.mixture[i:i + 1, :n].to(device))
        mags.append(m[0])
        phases.append(p[0])
    frames = torch.tensor([m.size(0) for m in mags], device=device)
    return pad_stack(mags), pad_stack(phases), frames


def resynthesise(stft: Stft, mag: torch.Tensor, phase: torch.Tensor, frames: torch.Tensor,
                 samples: torch.Tensor) -> list[torch.Tensor]:
    """iSTFT per utterance: mag, phase (B, T, F), frames (B,), samples (B,) -> [(N_i,)]."""
    out = []
    for i, (t, n) in enumerate(zip(frames.tolist(), samples.tolist())):
        out.append(stft.inverse(mag[i:i + 1, :t], phase[i:i + 1, :t], length=int(n))[0])
    return out


def crop_spans(wav: torch.Tensor, spans: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """wav (B, N), spans (B, 2) [start, end) -> (cropped (B, L) zero-padded, lengths (B,))."""
    parts = [wav[i, int(a):int(b)] for i, (a, b) in enumerate(spans.tolist())]
    return pad_stack(parts), torch.tensor([p.numel() for p in parts])


def _fbank_decode(asr: nn.Module, fbank: Fbank, wav: torch.Tensor, samples: torch.Tensor,
                  device: torch.device, mode: str, beam_size: int) -> list:
    feats, frames = fbank(wav.to(device), samples.to(device))
    return asr.decode(feats, frames, mode=mode, beam_size=beam_size)


def direct_asr_pass(asr: nn.Module, evalset: EvalSet, device: torch.device, desc: str,
                    mode: str = "attention_rescoring", beam_size: int = 10) -> CerTally:
    """Table 1: fbank ASR on the mixtures (two references) and on the unmixed references."""
    fbank = Fbank(num_mel_bins=80).to(device)
    tally = CerTally(asr.units)
    for batch, done in _progress(evalset, desc):
        hyps = _fbank_decode(asr, fbank, batch.mixture, batch.samples, device, mode, beam_size)
        for i, h in enumerate(hyps):
            tally.add(batch.overlaps[i], "speech", batch.ids[i], batch.speech_text[i], h.tokens)
            tally.add(batch.overlaps[i], "singing", batch.ids[i], batch.singing_text[i], h.tokens)
        sp, sp_n = crop_spans(batch.speech, batch.speech_span)
        sg, sg_n = crop_spans(batch.singing, batch.singing_span)
        width = max(sp.size(1), sg.size(1))
        refs = torch.cat([nn.functional.pad(sp, (0, width - sp.size(1))),
                          nn.functional.pad(sg, (0, width - sg.size(1)))], 0)
        hyps = _fbank_decode(asr, fbank, refs, torch.cat([sp_n, sg_n]), device, mode, beam_size)
        b = len(batch)
        for i in range(b):
            tally.add(UNMIXED, "speech", batch.ids[i], batch.speech_text[i], hyps[i].tokens)
            tally.add(UNMIXED, "singing", batch.ids[i], batch.singing_text[i], hyps[b + i].tokens)
        done()
    return tally


def separation_pass(mtass: nn.Module, stft: Stft, evalset: EvalSet, device: torch.device,
                    desc: str, mix_cache: dict | None = None) -> SdriTally:
    """Table 2: SDRi of iSTFT(MTASS magnitude, mixture phase) per overlap and track."""
    tally = SdriTally(mix_cache)
    for batch, done in _progress(evalset, desc):
        mag, phase, frames = mixture_stft(stft, batch, device)
        est = mtass(mag, frames)
        for track in TRACKS:
            wavs = resynthesise(stft, est[track], phase, frames, batch.samples)
            refs = getattr(batch, track)
            for i, n in enumerate(batch.samples.tolist()):
                tally.add(batch.overlaps[i], track, batch.ids[i], refs[i, :n], wavs[i],
                          batch.mixture[i, :n])
        done()
    return tally


def _score_tracks(tally: CerTally, batch: Batch, res: dict[str, list]) -> None:
    for track in TRACKS:
        texts = getattr(batch, f"{track}_text")
        for i, h in enumerate(res[track]):
            tally.add(batch.overlaps[i], track, batch.ids[i], texts[i], h.tokens)


def cascade_pass(cascade: nn.Module, stft: Stft, evalset: EvalSet, device: torch.device,
                 desc: str, mode: str = "attention_rescoring", beam_size: int = 10) -> CerTally:
    """Table 3: Cascade(MTASS, fbank ASR) CER per overlap and track."""
    tally = CerTally(cascade.asr.units)
    for batch, done in _progress(evalset, desc):
        mag, phase, frames = mixture_stft(stft, batch, device)
        res = cascade.transcribe(mag, frames, phase, mode=mode, beam_size=beam_size)
        _score_tracks(tally, batch, res)
        done()
    return tally


def jrsv_pass(model: nn.Module, stft: Stft, evalset: EvalSet, device: torch.device, desc: str,
              mode: str = "attention_rescoring", beam_size: int = 10) -> CerTally:
    """Table 4: JRSV.transcribe CER per overlap and track."""
    tally = CerTally(model.units)
    for batch, done in _progress(evalset, desc):
        mag, _, frames = mixture_stft(stft, batch, device)
        res = model.transcribe(mag, frames, mode=mode, beam_size=beam_size)
        _score_tracks(tally, batch, res)
        done()
    return tally


def example_row(evalset: EvalSet, overlap: float = 0.5) -> int:
    """The first evaluated row at ``overlap`` (else the row with the nearest overlap)."""
    return min(evalset.indices,
               key=lambda i: (abs(float(evalset.row(i)["overlap"]) - overlap), i))


def example_magnitudes(mtass: nn.Module, stft: Stft, evalset: EvalSet, row: int,
                       device: torch.device) -> dict[str, np.ndarray]:
    """(T, F) float32 magnitudes mixture, speech_ref, singing_ref, speech_est, singing_est."""
    batch = evalset.item(row)
    mag, _, frames = mixture_stft(stft, batch, device)
    est = mtass(mag, frames)
    n = int(batch.samples[0])
    out = {"mixture": mag[0]}
    for track in TRACKS:
        out[f"{track}_ref"] = stft(getattr(batch, track)[:, :n].to(device))[0]
        out[f"{track}_est"] = est[track][0]
    return {k: v.float().cpu().numpy() for k, v in out.items()}
