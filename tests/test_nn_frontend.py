import math

import torch

from jrsv.nn.cmvn import CMVNAccumulator, GlobalCMVN, load_cmvn, save_cmvn
from jrsv.nn.frontend import Fbank, LogMagnitude, Stft, kaldi_mel_banks, mel_scale


def test_stft_shapes_and_perfect_reconstruction():
    stft = Stft()
    wav = torch.randn(2, 16000)
    mag, phase = stft.magnitude_phase(wav)
    assert mag.shape == (2, stft.num_frames(16000), 513)
    rec = stft.inverse(mag, phase, length=16000)
    assert torch.allclose(rec, wav, atol=1e-4)


def test_stft_magnitude_of_a_sine_peaks_at_its_bin():
    stft = Stft()
    t = torch.arange(16000) / 16000
    freq = 1000.0
    mag = stft(torch.sin(2 * math.pi * freq * t).unsqueeze(0))
    assert int(mag[0, 10].argmax()) == round(freq * 1024 / 16000)


def test_fbank_frames_and_peak():
    fb = Fbank().eval()
    t = torch.arange(16000) / 16000
    feats, n = fb(0.5 * torch.sin(2 * math.pi * 2000 * t).unsqueeze(0))
    assert feats.shape == (1, 98, 80) and int(n[0]) == 98  # 1 + (16000 - 400) // 160
    peak = int(feats[0, 50].argmax())
    mel = kaldi_mel_banks(80, 512, 16000)
    centers = mel.argmax(1)
    assert abs(int(centers[peak]) - round(2000 * 512 / 16000)) <= 1
    assert torch.isfinite(fb(torch.zeros(1, 800))[0]).all()


def test_mel_banks_are_triangles_in_mel():
    mel = kaldi_mel_banks(23, 512, 16000)
    assert mel.shape == (23, 257)
    assert float(mel.max()) <= 1.0 and float(mel.min()) >= 0.0
    assert abs(float(mel_scale(torch.tensor(700.0))) - 1127.0 * math.log(2.0)) < 1e-3


def test_cmvn_accumulate_normalises(tmp_path):
    x = torch.randn(500, 6) * 3 + 2
    acc = CMVNAccumulator(6)
    acc.update(x[:200])
    acc.update(x[200:])
    mean, istd = acc.finish()
    save_cmvn(tmp_path / "cmvn.json", mean, istd, acc.frames)
    mean2, istd2 = load_cmvn(tmp_path / "cmvn.json")
    y = GlobalCMVN(mean2, istd2)(x)
    assert torch.allclose(y.mean(0), torch.zeros(6), atol=1e-4)
    assert torch.allclose(y.std(0, unbiased=False), torch.ones(6), atol=1e-3)


def test_log_magnitude_is_finite_on_zeros():
    assert torch.isfinite(LogMagnitude()(torch.zeros(2, 3))).all()
