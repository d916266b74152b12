"""JRSV modes, distillation, transcription, Cascade, and model directories.

Uses a small stand-in ASR with the U2ASR contract (ConformerEncoder conv2d + CTC) so these
tests do not depend on jrsv.asr; the same checks run against the real U2ASR when it exists.
"""
from __future__ import annotations

import importlib.util
from dataclasses import dataclass

import pytest
import torch
from torch import nn

from jrsv.jrsv import JRSV, Cascade, masked_mse, pad_tokens
from jrsv.model_io import ModelDirError, load_model_dir, read_units, save_model_dir
from jrsv.nn.encoder import ConformerEncoder
from jrsv.nn.frontend import Stft
from jrsv.separation.model import MTASS

F = 33  # Stft(n_fft=64) bins
VOCAB = 6
MT = dict(input_dim=F, output_size=32, attention_heads=4, linear_units=64, num_blocks=2,
          cnn_module_kernel=5, dropout_rate=0.0)
ENC = dict(output_size=32, attention_heads=4, linear_units=64, num_blocks=2,
           cnn_module_kernel=5, dropout_rate=0.0, positional_dropout_rate=0.0)
HAVE_U2 = importlib.util.find_spec("jrsv.asr.model") is not None


@dataclass
class Hyp:
    tokens: list[int]
    score: float
    times: list[int]


class StandInASR(nn.Module):
    """Conformer (conv2d x4) + CTC with the U2ASR call contract."""

    def __init__(self, input_dim: int, vocab_size: int = VOCAB):
        super().__init__()
        self.config = {"input_dim": input_dim, "vocab_size": vocab_size}
        self.encoder = ConformerEncoder(input_dim, input_layer="conv2d", **ENC)
        self.ctc_lo = nn.Linear(32, vocab_size)

    def encode(self, feats, lens):
        enc, masks = self.encoder(feats, lens)
        return enc, masks.squeeze(1).sum(1)

    def forward(self, feats, feat_lens, ys, ys_lens):
        enc, enc_lens = self.encode(feats, feat_lens)
        logp = self.ctc_lo(enc).log_softmax(-1).transpose(0, 1)
        loss = nn.functional.ctc_loss(logp, ys.clamp(min=0), enc_lens, ys_lens,
                                      zero_infinity=True)
        return {"loss": loss, "loss_ctc": loss, "loss_att": loss.new_zeros(()),
                "encoder_out": enc, "encoder_lens": enc_lens}

    def decode(self, feats, lens, mode="ctc_greedy_search", beam_size=10, **kw):
        enc, enc_lens = self.encode(feats, lens)
        best = self.ctc_lo(enc).argmax(-1)
        out = []
        for b in range(best.size(0)):
            seq = best[b, :enc_lens[b]].tolist()
            toks = [t for i, t in enumerate(seq) if t != 0 and (i == 0 or seq[i - 1] != t)]
            out.append(Hyp(toks, 0.0, []))
        return out


def _batch(b=2, t=40):
    torch.manual_seed(1)
    lengths = torch.tensor([t, t - 9])[:b]
    mags = {k: torch.rand(b, t, F) for k in ("speech", "singing", "music")}
    mix = mags["speech"] + mags["singing"] + mags["music"]
    batch = {"mix_mag": mix, "lengths": lengths,
             "speech_mag": mags["speech"], "singing_mag": mags["singing"],
             "music_mag": mags["music"],
             "speech_tokens": torch.tensor([[1, 2, 3], [2, 4, -1]])[:b],
             "speech_token_lens": torch.tensor([3, 2])[:b],
             "singing_tokens": torch.tensor([[5, -1], [3, 1]])[:b],
             "singing_token_lens": torch.tensor([1, 2])[:b]}
    return batch



def _model(mode, asr=None):
    return JRSV(MTASS(**MT), asr if asr is not None else StandInASR(F), mode=mode)


def test_pad_tokens_and_masked_mse():
    ys = pad_tokens([torch.tensor([[1, 2, 3]]), torch.tensor([[4]])])
    assert ys.tolist() == [[1, 2, 3], [4, -1, -1]]
    a, b = torch.zeros(2, 3, 2), torch.ones(2, 3, 2)
    b[1, 2] = 100.0  # padding
    assert masked_mse(a, b, torch.tensor([3, 2])).item() == pytest.approx(1.0)


@pytest.mark.parametrize("mode", ["f", "fd"])
def test_frozen_modes_no_mtass_grad_and_eval(mode):
    model = _model(mode)
    model.train()
    assert not model.mtass.training and model.asr.training
    out = model(_batch())
    out["loss"].backward()
    assert all(p.grad is None and not p.requires_grad for p in model.mtass.parameters())
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.asr.parameters())
    assert ("loss_distil" in out) == (mode == "fd")
    if mode == "fd":
        assert out["loss"].item() == pytest.approx(
            out["loss_asr"].item() + 0.3 * out["loss_distil"].item(), rel=1e-5)


def test_frozen_mtass_batchnorm_stats_unchanged():
    model = _model("f")
    model.train()
    before = {k: v.clone() for k, v in model.mtass.state_dict().items()}
    model(_batch())
    after = model.mtass.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_trainable_mode_mtass_gets_gradients():
    model = _model("t")
    model.train()
    assert model.mtass.training
    out = model(_batch())
    out["loss"].backward()
    assert all(p.grad is not None for p in model.mtass.out.parameters())
    assert model.mtass.encoder.encoders[0].self_attn.linear_q.weight.grad.abs().sum() > 0
    assert out["loss"].item() == pytest.approx(
        out["loss_asr"].item() + 1.0 * out["loss_mtass"].item(), rel=1e-5)


class _Oracle(nn.Module):
    """An MTASS stand-in returning the clean references (separated == clean)."""

    def __init__(self, batch):
        super().__init__()
        self.batch = batch
        self.dummy = nn.Parameter(torch.zeros(()))

    def forward(self, mix_mag, lengths):
        return {"speech": self.batch["speech_mag"], "singing": self.batch["singing_mag"]}


def test_distillation_zero_when_separated_equals_clean():
    batch = _batch()
    model = JRSV(_Oracle(batch), StandInASR(F), mode="fd")
    model.train()
    out = model(batch)
    assert out["loss_distil"].item() == pytest.approx(0.0, abs=1e-10)
    noisy = JRSV(MTASS(**MT), StandInASR(F), mode="fd")
    assert noisy(batch)["loss_distil"].item() > 0


def test_transcribe_two_tracks_one_batch():
    model = _model("fd")
    calls = []
    orig = model.asr.decode
    model.asr.decode = lambda f, l, **kw: calls.append(f.shape) or orig(f, l, **kw)
    res = model.transcribe(_batch()["mix_mag"], torch.tensor([40, 31]), mode="ctc_greedy_search")
    assert set(res) == {"speech", "singing"} and len(res["speech"]) == len(res["singing"]) == 2
    assert calls == [torch.Size([4, 40, F])]
    assert model.training  # restored


def test_cascade_transcribe():
    stft = Stft(n_fft=64, hop_length=16, win_length=64)
    cascade = Cascade(MTASS(**MT), StandInASR(80), stft=stft)
    wav = torch.randn(2, 16 * 99)
    mag, phase = stft.magnitude_phase(wav)
    res = cascade.transcribe(mag, torch.tensor([100, 80]), phase, mode="ctc_greedy_search")
    assert len(res["speech"]) == 2 and len(res["singing"]) == 2
    wavs = cascade.separate_waveforms(mag, phase, torch.tensor([100, 80]))
    assert wavs["speech"][0].shape == (2, 16 * 99)
    assert wavs["speech"][1].tolist() == [16 * 99, 16 * 79]


def test_bad_mode():
    with pytest.raises(ValueError, match="mode"):
        JRSV(MTASS(**MT), StandInASR(F), mode="x")


# ---------------------------------------------------------------- model directories
def test_model_io_mtass_round_trip(tmp_path):
    m = MTASS.from_config({**MT, "cmvn": True}).eval()
    save_model_dir(m, tmp_path / "m")
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["config.yaml", "model.pt"]
    loaded = load_model_dir(tmp_path / "m")
    x = torch.rand(1, 12, F)
    assert torch.allclose(m(x, torch.tensor([12]))["speech"],
                          loaded(x, torch.tensor([12]))["speech"])


def _saved_mtass(tmp_path):
    d = save_model_dir(MTASS(**MT), tmp_path / "m")
    return d


def test_model_dir_errors(tmp_path):
    with pytest.raises(ModelDirError, match="not a directory"):
        load_model_dir(tmp_path / "nope")
    d = _saved_mtass(tmp_path)
    (d / "model.pt").rename(d / "x.pt")
    with pytest.raises(ModelDirError, match="missing model.pt") as e:
        load_model_dir(d)
    assert str(d) in str(e.value) and "\n" not in str(e.value)
    (d / "x.pt").rename(d / "model.pt")
    cfg = (d / "config.yaml").read_text()
    (d / "config.yaml").write_text(cfg.replace("format_version: 2", "format_version: 99"))
    with pytest.raises(ModelDirError, match="format_version is 99"):
        load_model_dir(d)
    (d / "config.yaml").write_text(cfg.replace("output_size: 32", "output_size: 16")
                                   .replace("attention_heads: 4", "attention_heads: 2"))
    with pytest.raises(ModelDirError, match="shape mismatch") as e:
        load_model_dir(d)
    assert "\n" not in str(e.value)
    (d / "config.yaml").write_text(cfg.replace("num_blocks: 2", "num_blocks: 1"))
    with pytest.raises(ModelDirError, match="unexpected keys encoders.1|unexpected keys"):
        load_model_dir(d)
    (d / "config.yaml").write_text(cfg.replace("kind: mtass", "kind: bogus"))
    with pytest.raises(ModelDirError, match="kind"):
        load_model_dir(d)
    (d / "config.yaml").unlink()
    with pytest.raises(ModelDirError, match="missing config.yaml"):
        load_model_dir(d)
    (d / "config.yaml").write_text(cfg)
    (d / "model.pt").write_bytes(b"garbage")
    with pytest.raises(ModelDirError, match="cannot read model.pt"):
        load_model_dir(d)
    assert not list(d.glob("*.tmp"))


def test_model_dir_missing_units(tmp_path):
    d = _saved_mtass(tmp_path)
    cfg = (d / "config.yaml").read_text()
    (d / "config.yaml").write_text(cfg.replace("kind: mtass", "kind: jrsv"))
    with pytest.raises(ModelDirError, match="missing units.txt"):
        load_model_dir(d)


def test_units_round_trip(tmp_path):
    (tmp_path / "units.txt").write_text("<blank> 0\n<unit> 1\n你 2\n<sos/eos> 3\n")
    assert read_units(tmp_path) == ["<blank>", "<unit>", "你", "<sos/eos>"]
    (tmp_path / "units.txt").write_text("<blank> 0\n你 2\n")
    with pytest.raises(ModelDirError, match="ids"):
        read_units(tmp_path)


def test_distillation_teacher_pass_leaves_batchnorm_stats():
    import copy
    fd = _model("fd")
    f = JRSV(copy.deepcopy(fd.mtass), copy.deepcopy(fd.asr), mode="f")
    fd.train(), f.train()
    batch = _batch()
    fd(batch), f(batch)
    for (name, a), b in zip(fd.asr.state_dict().items(), f.asr.state_dict().values()):
        assert torch.equal(a, b), name


# ---------------------------------------------------------------- with the real U2ASR
def _u2(input_dim=F, vocab=VOCAB):
    from jrsv.asr.model import U2ASR
    enc = dict(output_size=32, attention_heads=4, linear_units=64, num_blocks=2,
               cnn_module_kernel=5, dropout_rate=0.0, positional_dropout_rate=0.0)
    dec = dict(attention_heads=4, linear_units=64, num_blocks=1, dropout_rate=0.0,
               positional_dropout_rate=0.0)
    return U2ASR(vocab_size=vocab, input_dim=input_dim, encoder_conf=enc, decoder_conf=dec)


u2 = pytest.mark.skipif(not HAVE_U2, reason="jrsv.asr.model.U2ASR not written yet")


@u2
@pytest.mark.parametrize("mode", ["f", "fd", "t"])
def test_u2_modes_gradients(mode):
    model = JRSV(MTASS(**MT), _u2(), mode=mode)
    model.train()
    out = model(_batch())
    out["loss"].backward()
    mt_grads = [p.grad for p in model.mtass.parameters()]
    if mode == "t":
        assert model.mtass.training and all(g is not None for g in mt_grads)
    else:
        assert not model.mtass.training and all(g is None for g in mt_grads)
    assert model.asr.encoder.after_norm.weight.grad is not None
    assert torch.isfinite(out["loss"])


@u2
def test_u2_distillation_zero_and_transcribe():
    batch = _batch()
    model = JRSV(_Oracle(batch), _u2(), mode="fd")
    model.train()
    assert model(batch)["loss_distil"].item() == pytest.approx(0.0, abs=1e-10)
    real = JRSV(MTASS(**MT), _u2(), mode="fd")
    res = real.transcribe(batch["mix_mag"], batch["lengths"], beam_size=2)
    assert len(res["speech"]) == 2 and len(res["singing"]) == 2
    assert all(hasattr(r, "tokens") for r in res["speech"] + res["singing"])


@u2
def test_u2_jrsv_model_dir_round_trip(tmp_path):
    model = JRSV(MTASS(**MT), _u2(), mode="fd").eval()
    units = ["<blank>", "<unk>", "a", "b", "c", "<sos/eos>"]
    save_model_dir(model, tmp_path / "jrsv", units=units)
    loaded = load_model_dir(tmp_path / "jrsv")
    assert loaded.units == units and loaded.mode == "fd" and not loaded.training
    mix, lens = _batch()["mix_mag"], torch.tensor([40, 31])
    a = model.transcribe(mix, lens, mode="ctc_greedy_search")
    b = loaded.transcribe(mix, lens, mode="ctc_greedy_search")
    assert [r.tokens for r in a["speech"]] == [r.tokens for r in b["speech"]]
    (tmp_path / "jrsv" / "units.txt").unlink()
    with pytest.raises(ModelDirError, match="missing units.txt"):
        load_model_dir(tmp_path / "jrsv")


@u2
def test_u2_cascade_model_dir_round_trip(tmp_path):
    cascade = Cascade(MTASS(**{**MT, "input_dim": 513}), _u2(input_dim=80)).eval()
    save_model_dir(cascade, tmp_path / "c", units=[str(i) for i in range(VOCAB)])
    loaded = load_model_dir(tmp_path / "c")
    assert isinstance(loaded, Cascade)
    wav = torch.randn(1, 16000)
    mag, phase = Stft().magnitude_phase(wav)
    res = loaded.transcribe(mag, torch.tensor([mag.size(1)]), phase, mode="ctc_greedy_search")
    assert len(res["speech"]) == 1 and len(res["singing"]) == 1
