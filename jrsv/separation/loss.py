"""MTASS training losses (JRSV eq. 1): ``L = L_mag - lambda L_dis + gamma L_cst``.

All terms are L1 distances between magnitudes averaged over the *valid* time-frequency
bins of the batch (padded frames never count)::

    mae(a, b) = sum_{b,t<len_b,f} |a - b| / (F * sum_b len_b)

* ``mag_loss``            sum_i mae(S^_i, S_i) over the speech and singing heads
                          (plus the music head if the model has one and a reference exists).
* ``discriminative_loss`` sum_i sum_{j != i} mae(S^_i, S_j) (estimate of one source against
                          the reference of the other; Huang et al. 2015). It enters with a
                          minus sign; with L1 and lambda * (J - 1) < 1 the optimum of
                          ``L_mag - lambda L_dis`` stays at the true magnitudes.
* ``consistency_loss``    "mixture": mae(|Y| - |S_music|, S^_speech + S^_sing), or with a
                          trained music head mae(|Y|, S^_speech + S^_sing + S^_music);
                          "stft": sum_i mae(|STFT(iSTFT(S^_i e^{j phase_Y}))|, S^_i).
See ``jrsv/separation/README.md`` for the trade-offs.
"""
from __future__ import annotations

from typing import Mapping

import torch
from torch import nn

from jrsv.constants import TRACKS
from jrsv.nn.frontend import Stft
from jrsv.nn.mask import make_non_pad_mask

CONSISTENCY = ("mixture", "stft", "none")


def masked_mae(a: torch.Tensor, b: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Mean |a - b| over valid bins. a, b (B, T, F), lengths (B,) -> scalar."""
    if a.shape != b.shape:
        raise ValueError(f"shape mismatch {tuple(a.shape)} vs {tuple(b.shape)}")
    valid = make_non_pad_mask(lengths, a.size(1)).unsqueeze(-1).to(a.dtype)  # (B, T, 1)
    denom = (valid.sum() * a.size(-1)).clamp(min=1.0)
    return ((a - b).abs() * valid).sum() / denom


def mag_loss(est: Mapping[str, torch.Tensor], ref: Mapping[str, torch.Tensor],
             lengths: torch.Tensor, heads: tuple[str, ...] = TRACKS) -> torch.Tensor:
    """L_mag = sum_{i in heads} mae(S^_i, S_i). est/ref: {name: (B, T, F)}."""
    return sum(masked_mae(est[h], ref[h], lengths) for h in heads)


def discriminative_loss(est: Mapping[str, torch.Tensor], ref: Mapping[str, torch.Tensor],
                        lengths: torch.Tensor, heads: tuple[str, ...] = TRACKS) -> torch.Tensor:
    """L_dis = sum_i sum_{j != i} mae(S^_i, S_j) over ``heads`` (to be *subtracted*)."""
    return sum(masked_mae(est[i], ref[j], lengths) for i in heads for j in heads if j != i)


def mixture_consistency_loss(est: Mapping[str, torch.Tensor], mix_mag: torch.Tensor,
                             lengths: torch.Tensor, music_mag: torch.Tensor | None = None
                             ) -> torch.Tensor:
    """Magnitude-domain mixture consistency.

    With a ``"music"`` estimate: mae(|Y|, S^_speech + S^_sing + S^_music); otherwise
    mae(|Y| - |S_music|, S^_speech + S^_sing) using the music reference ``music_mag``.
    Not zero even for oracle magnitudes (phase cancellation): a soft penalty.
    """
    total = est["speech"] + est["singing"]
    if "music" in est:
        return masked_mae(mix_mag, total + est["music"], lengths)
    if music_mag is None:
        raise ValueError("mixture consistency with two heads needs the music reference "
                         "(music_mag); train a 'music' head or use consistency='stft'")
    return masked_mae(mix_mag - music_mag, total, lengths)


def stft_consistency_loss(est: Mapping[str, torch.Tensor], mix_phase: torch.Tensor,
                          lengths: torch.Tensor, stft: Stft,
                          heads: tuple[str, ...] = TRACKS) -> torch.Tensor:
    """STFT consistency: sum_i mae(|STFT(iSTFT(S^_i e^{j phase_Y}))|, S^_i).

    est: {name: (B, T, F)}; mix_phase (B, T, F). The resynthesised signal has
    ``(T - 1) * hop`` samples so the re-analysis has exactly T frames. Padded frames are
    zero in the estimate; they only touch the last valid frame through the window overlap.
    """
    total = 0.0
    for h in heads:
        mag = est[h]
        wav = stft.inverse(mag, mix_phase, length=(mag.size(1) - 1) * stft.hop_length)
        total = total + masked_mae(stft(wav).to(mag.dtype), mag, lengths)
    return total


def consistency_loss(est: Mapping[str, torch.Tensor], mix_mag: torch.Tensor,
                     lengths: torch.Tensor, kind: str = "mixture",
                     music_mag: torch.Tensor | None = None,
                     mix_phase: torch.Tensor | None = None,
                     stft: Stft | None = None) -> torch.Tensor:
    """Dispatch to :func:`mixture_consistency_loss` or :func:`stft_consistency_loss`."""
    if kind == "mixture":
        return mixture_consistency_loss(est, mix_mag, lengths, music_mag)
    if kind == "stft":
        if mix_phase is None:
            raise ValueError("stft consistency needs the mixture phase (mix_phase)")
        return stft_consistency_loss(est, mix_phase, lengths, stft or Stft())
    if kind == "none":
        return mix_mag.new_zeros(())
    raise ValueError(f"consistency must be one of {CONSISTENCY}, got {kind!r}")


class MTASSLoss(nn.Module):
    """``L = L_mag - lambda_dis L_dis + gamma_cst L_cst`` (paper: lambda 0.1, gamma 0.3).

    Args:
        lambda_dis, gamma_cst: weights.
        consistency: ``"mixture"`` (default), ``"stft"`` or ``"none"``.
        stft: the analysis used by ``"stft"`` consistency (default: 1024 / 256 Hann).
    """

    def __init__(self, lambda_dis: float = 0.1, gamma_cst: float = 0.3,
                 consistency: str = "mixture", stft: Stft | None = None):
        super().__init__()
        if consistency not in CONSISTENCY:
            raise ValueError(f"consistency must be one of {CONSISTENCY}, got {consistency!r}")
        self.lambda_dis, self.gamma_cst, self.consistency = lambda_dis, gamma_cst, consistency
        self.stft = stft or Stft()

    def forward(self, est: Mapping[str, torch.Tensor], ref: Mapping[str, torch.Tensor],
                mix_mag: torch.Tensor, lengths: torch.Tensor,
                mix_phase: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """est: MTASS output; ref: {"speech", "singing"[, "music"]} (B, T, F) references.

        Returns dict(loss, mag, dis, cst) (scalars). A trained music head is supervised
        in ``mag`` when ``ref`` has a music reference.
        """
        heads = TRACKS + (("music",) if "music" in est and "music" in ref else ())
        mag = mag_loss(est, ref, lengths, heads)
        dis = discriminative_loss(est, ref, lengths) if self.lambda_dis else mag.new_zeros(())
        if self.consistency == "none" or not self.gamma_cst:
            cst = mag.new_zeros(())
        else:
            cst = consistency_loss(est, mix_mag, lengths, self.consistency, ref.get("music"),
                                   mix_phase, self.stft)
        loss = mag - self.lambda_dis * dis + self.gamma_cst * cst
        return {"loss": loss, "mag": mag.detach(), "dis": dis.detach(), "cst": cst.detach()}
