"""MTASS losses against hand computations on small tensors, padding respected."""
import pytest
import torch

from jrsv.nn.frontend import Stft
from jrsv.separation.loss import (MTASSLoss, consistency_loss, discriminative_loss, mag_loss,
                                  masked_mae)

L = torch.tensor([2, 1])  # item 1 has one padded frame


def _t(rows):
    return torch.tensor(rows, dtype=torch.float32)


# (B=2, T=2, F=2); frame [1, 1] is padding and holds garbage that must be ignored.
EST = {"speech": _t([[[1, 2], [3, 4]], [[0, 1], [99, 99]]]),
       "singing": _t([[[0, 0], [1, 1]], [[2, 2], [99, 99]]])}
REF = {"speech": _t([[[1, 1], [1, 1]], [[1, 1], [0, 0]]]),
       "singing": _t([[[0, 1], [1, 0]], [[2, 0], [0, 0]]]),
       "music": _t([[[1, 0], [0, 1]], [[0, 1], [0, 0]]])}
MIX = _t([[[2, 2], [4, 6]], [[2, 4], [0, 0]]])


def test_masked_mae_by_hand():
    # valid bins: 3 frames x 2 bins = 6
    # speech |est-ref| valid: [0,1],[2,3] | [1,0]  -> 7 / 6
    assert masked_mae(EST["speech"], REF["speech"], L).item() == pytest.approx(7 / 6)


def test_mag_loss_by_hand():
    # singing: [0,1],[0,1] | [0,2] -> 4 / 6
    assert mag_loss(EST, REF, L).item() == pytest.approx(7 / 6 + 4 / 6)


def test_discriminative_loss_by_hand():
    # speech est vs singing ref: [1,1],[2,4] | [2,1] -> 11/6
    # singing est vs speech ref: [1,1],[0,0] | [1,1] -> 4/6
    assert discriminative_loss(EST, REF, L).item() == pytest.approx(11 / 6 + 4 / 6)


def test_mixture_consistency_two_heads_by_hand():
    # |Y| - |S_music|: [1,2],[4,5] | [2,3];  est sum: [1,2],[4,5] | [2,3] -> 0
    assert consistency_loss(EST, MIX, L, "mixture", music_mag=REF["music"]).item() == 0.0
    mix2 = MIX.clone()
    mix2[0, 0, 0] += 3.0
    mix2[1, 1] += 50.0  # padding: ignored
    assert consistency_loss(EST, mix2, L, "mixture", music_mag=REF["music"]).item() == \
        pytest.approx(3 / 6)
    with pytest.raises(ValueError, match="music"):
        consistency_loss(EST, MIX, L, "mixture")


def test_mixture_consistency_three_heads_by_hand():
    est = dict(EST, music=_t([[[1, 0], [0, 0]], [[0, 0], [5, 5]]]))
    # sum: [2,2],[4,5] | [2,3]; |Y|: [2,2],[4,6] | [2,4] -> (1 + 1) / 6
    assert consistency_loss(est, MIX, L, "mixture").item() == pytest.approx(2 / 6)


def test_stft_consistency_zero_for_consistent_nonzero_for_random():
    stft = Stft(n_fft=64, hop_length=16, win_length=64)
    wav = torch.randn(2, 16 * 19)
    spec = stft.complex(wav)  # (2, 20, 33), consistent by construction
    lengths = torch.tensor([20, 20])
    est = {"speech": spec.abs(), "singing": 0.5 * spec.abs()}
    zero = consistency_loss(est, spec.abs(), lengths, "stft", mix_phase=spec.angle(), stft=stft)
    assert zero.item() < 1e-4 * spec.abs().mean().item()
    rand = {"speech": torch.rand(2, 20, 33), "singing": torch.rand(2, 20, 33)}
    nonzero = consistency_loss(rand, spec.abs(), lengths, "stft", mix_phase=spec.angle(),
                               stft=stft)
    assert nonzero.item() > 0.05
    with pytest.raises(ValueError, match="phase"):
        consistency_loss(est, spec.abs(), lengths, "stft")


def test_stft_consistency_by_hand_single_head():
    """Equals mae(|STFT(iSTFT(S e^{j phi}))|, S) computed directly."""
    stft = Stft(n_fft=32, hop_length=8, win_length=32)
    mag, phase = torch.rand(1, 9, 17), torch.rand(1, 9, 17) * 6.28
    spec = torch.polar(mag, phase).transpose(1, 2)
    wav = torch.istft(spec, 32, 8, 32, torch.hann_window(32), center=True, length=64)
    re = torch.stft(wav, 32, 8, 32, torch.hann_window(32), center=True,
                    return_complex=True).abs().transpose(1, 2)
    expect = (re - mag).abs().mean()
    got = consistency_loss({"speech": mag, "singing": torch.zeros_like(mag)}, mag,
                           torch.tensor([9]), "stft", mix_phase=phase, stft=stft)
    assert got.item() == pytest.approx(expect.item(), rel=1e-5)


@pytest.mark.parametrize("consistency", ["mixture", "none"])
def test_mtass_loss_combination(consistency):
    crit = MTASSLoss(lambda_dis=0.1, gamma_cst=0.3, consistency=consistency)
    out = crit(EST, REF, MIX, L)
    mag, dis = 11 / 6, 15 / 6
    cst = 0.0
    assert out["mag"].item() == pytest.approx(mag)
    assert out["dis"].item() == pytest.approx(dis)
    assert out["cst"].item() == pytest.approx(cst)
    assert out["loss"].item() == pytest.approx(mag - 0.1 * dis + 0.3 * cst)
    est = {k: v.clone().requires_grad_() for k, v in EST.items()}
    crit(est, REF, MIX, L)["loss"].backward()
    assert (est["speech"].grad[1, 1] == 0).all()  # padding gets no gradient


def test_mtass_loss_supervises_music_head():
    est = dict(EST, music=REF["music"] + 1.0)
    out = MTASSLoss()(est, REF, MIX, L)
    assert out["mag"].item() == pytest.approx(11 / 6 + 1.0)


def test_optimum_of_mag_minus_dis_at_true_magnitudes():
    torch.manual_seed(0)
    ref = {"speech": torch.rand(2, 6, 5), "singing": torch.rand(2, 6, 5)}
    lengths = torch.tensor([6, 4])
    crit = MTASSLoss(lambda_dis=0.1, consistency="none")
    base = crit(ref, ref, ref["speech"] + ref["singing"], lengths)["loss"].item()
    for _ in range(20):
        est = {k: (v + 0.05 * torch.randn_like(v)).clamp(min=0) for k, v in ref.items()}
        assert crit(est, ref, ref["speech"], lengths)["loss"].item() > base
    # towards the other source too (the direction L_dis rewards)
    est = {"speech": 0.9 * ref["speech"] + 0.1 * ref["singing"], "singing": ref["singing"]}
    assert crit(est, ref, ref["speech"], lengths)["loss"].item() > base


def test_bad_consistency_name():
    with pytest.raises(ValueError, match="consistency"):
        MTASSLoss(consistency="bogus")
