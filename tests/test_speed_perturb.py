"""Speed perturbation: pitch and length scale by the factor; the training streams draw factors
reproducibly (resume gives the same audio) and leave validation untouched."""
import numpy as np
import pytest
import soundfile as sf

from jrsv.asr.tokenizer import CharTokenizer
from jrsv.data.onthefly import OnTheFlyMixtures
from jrsv.data.perturb import check_factors, speed_perturb
from jrsv.data.records import Utterance
from jrsv.tasks.asr import UtteranceDataset

SR = 16000


def _peak_hz(x):
    f = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return np.argmax(f) * SR / len(x)


@pytest.mark.parametrize("factor", [0.9, 1.1])
def test_pitch_and_length_scale(factor):
    x = np.sin(2 * np.pi * 440 * np.arange(SR) / SR).astype(np.float32)
    y = speed_perturb(x, factor)
    assert y.dtype == np.float32
    assert abs(len(y) - SR / factor) <= 1
    assert abs(_peak_hz(y) - 440 * factor) < 2.0
    assert speed_perturb(x, 1.0) is not None and len(speed_perturb(x, 1.0)) == SR


def test_bad_factors_one_line_error():
    assert check_factors(None) is None and check_factors([0.9, 1, 1.1]) == (0.9, 1.0, 1.1)
    for bad in ([], [0.1], "fast", [1.0, "x"]):
        with pytest.raises(ValueError, match="speed_perturb"):
            check_factors(bad)


def _utts(tmp_path, name, n, sec):
    rng = np.random.default_rng(len(name))
    out = []
    for i in range(n):
        p = tmp_path / f"{name}{i}.wav"
        sf.write(p, (0.1 * rng.standard_normal(int(sec * SR))).astype(np.float32), SR)
        out.append(Utterance(f"{name}{i}", str(p), "文字", name, duration=sec))
    return out


def test_onthefly_voices_perturbed_reproducibly(tmp_path):
    sp, sg = _utts(tmp_path, "sp", 3, 2.0), _utts(tmp_path, "sg", 3, 2.5)
    mu = [np.random.default_rng(2).standard_normal(3 * SR).astype(np.float32)]
    kw = dict(epoch_size=24, crop_seconds=None, seed=1, preload=True)
    plain = OnTheFlyMixtures(sp, sg, mu, **kw)
    pert = OnTheFlyMixtures(sp, sg, mu, speed_perturb=[0.9, 1.0, 1.1], **kw)
    lens = set()
    for i in range(24):
        a, b = plain.example(i), pert.example(i)
        assert a["speech_text"] == b["speech_text"] and a["singing_text"] == b["singing_text"]
        n = int(np.count_nonzero(b["speech"]))
        lens.add(round(n / (2.0 * SR), 2))
        np.testing.assert_allclose(b["mixture"], b["speech"] + b["singing"] + b["music"], atol=1e-6)
    assert {0.91, 1.0, 1.11} <= lens  # all three factors drawn (2 s / factor of non-zero speech)
    again = OnTheFlyMixtures(sp, sg, mu, speed_perturb=[0.9, 1.0, 1.1], **kw)
    np.testing.assert_array_equal(again.example(5)["mixture"], pert.example(5)["mixture"])


def test_utterance_dataset_epoch_seeded(tmp_path):
    utts = _utts(tmp_path, "u", 4, 1.0)
    tok = CharTokenizer(["<blank>", "<unk>", "文", "字", "<sos/eos>"])
    ds = UtteranceDataset(utts, tok, speed_perturb=[0.9, 1.1], seed=3)
    e0 = [len(ds[i]["wav"]) for i in range(4)]
    assert set(e0) <= {round(SR / 0.9), round(SR / 1.1)}
    assert [len(ds[i]["wav"]) for i in range(4)] == e0  # same epoch, same audio
    ds.set_epoch(1)
    e1 = [len(ds[i]["wav"]) for i in range(4)]
    ds2 = UtteranceDataset(utts, tok, speed_perturb=[0.9, 1.1], seed=3)
    ds2.set_epoch(1)
    assert [len(ds2[i]["wav"]) for i in range(4)] == e1
    assert [len(UtteranceDataset(utts, tok)[i]["wav"]) for i in range(4)] == [SR] * 4
