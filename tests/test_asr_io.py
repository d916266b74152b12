"""WeNet checkpoint loading, tokenizers and CER."""
import json

import pytest
import torch

from jrsv.asr.cer import align_counts, cer, corpus_cer
from jrsv.asr.model import U2ASR
from jrsv.asr.tokenizer import (BpeTokenizer, CharTokenizer, build_char_units, read_units,
                                train_bpe, write_units)
from jrsv.asr.wenet_loader import load_wenet_checkpoint, load_wenet_cmvn, wenet_config

torch.set_num_threads(1)

# WeNet examples/aishell/s0/conf/train_conformer.yaml as written by wenet/bin/train.py
# (input_dim, output_dim, cmvn_file, is_json_cmvn added), at tiny sizes.
TRAIN_YAML = """\
accum_grad: 4
cmvn_file: {cmvn}
dataset_conf:
  batch_conf:
    batch_size: 16
    batch_type: static
  fbank_conf:
    dither: 0.1
    frame_length: 25
    frame_shift: 10
    num_mel_bins: 80
  filter_conf:
    max_length: 40960
    min_length: 0
    token_max_length: 200
    token_min_length: 1
  resample_conf:
    resample_rate: 16000
  shuffle: true
  sort: true
  spec_aug: true
  spec_aug_conf:
    max_f: 10
    max_t: 50
    num_f_mask: 2
    num_t_mask: 2
  speed_perturb: true
decoder: transformer
decoder_conf:
  attention_heads: 4
  dropout_rate: 0.1
  linear_units: {ff}
  num_blocks: 2
  positional_dropout_rate: 0.1
  self_attention_dropout_rate: 0.0
  src_attention_dropout_rate: 0.0
encoder: conformer
encoder_conf:
  activation_type: swish
  attention_dropout_rate: 0.0
  attention_heads: 4
  cnn_module_kernel: 15
  dropout_rate: 0.1
  input_layer: conv2d
  linear_units: 64
  normalize_before: true
  num_blocks: 2
  output_size: 32
  pos_enc_layer_type: rel_pos
  positional_dropout_rate: 0.1
  selfattention_layer_type: rel_selfattn
  use_cnn_module: true
grad_clip: 5
input_dim: 80
is_json_cmvn: true
log_interval: 100
max_epoch: 240
model_conf:
  ctc_weight: 0.3
  length_normalized_loss: false
  lsm_weight: 0.1
optim: adam
optim_conf:
  lr: 0.002
output_dim: {vocab}
scheduler: warmuplr
scheduler_conf:
  warmup_steps: 25000
"""

UNITS = ["<blank>", "<unk>", "A", "你", "好", "世", "界", "<sos/eos>"]


def _write_dir(tmp_path, ff=64, vocab=len(UNITS), state=None):
    torch.manual_seed(0)
    feats = torch.randn(500, 80) * 3 + 1
    cmvn = {"mean_stat": feats.sum(0).tolist(), "var_stat": (feats ** 2).sum(0).tolist(),
            "frame_num": 500}
    (tmp_path / "global_cmvn").write_text(json.dumps(cmvn))
    (tmp_path / "train.yaml").write_text(TRAIN_YAML.format(
        cmvn="exp/conformer/global_cmvn", ff=ff, vocab=vocab))
    write_units(UNITS, tmp_path / "units.txt")
    if state is not None:
        torch.save(state, tmp_path / "final.pt")
    return feats


def _reference_model(tmp_path):
    kwargs, _ = wenet_config(tmp_path / "train.yaml")
    ref = U2ASR(global_cmvn=load_wenet_cmvn(tmp_path / "global_cmvn"), **kwargs)
    with torch.no_grad():
        for p in ref.parameters():
            p.add_(torch.randn_like(p) * 0.01)
    return ref.eval()


def test_wenet_round_trip(tmp_path):
    feats = _write_dir(tmp_path)
    ref = _reference_model(tmp_path)
    state = {"module." + k if i % 2 else k: v for i, (k, v) in enumerate(ref.state_dict().items())}
    assert "encoder.global_cmvn.istd" in state or "module.encoder.global_cmvn.istd" in state
    assert any(k.endswith("decoder.decoders.1.src_attn.linear_q.weight") for k in state)
    torch.save(state, tmp_path / "final.pt")
    model, tok = load_wenet_checkpoint(tmp_path)
    assert tok.vocab_size == len(UNITS) and tok.encode("你好 a") == [3, 4, 2]
    cm = model.encoder.global_cmvn
    assert torch.allclose(cm.mean, feats.mean(0), atol=1e-4)
    assert torch.allclose(cm.istd, 1 / feats.std(0, unbiased=False), rtol=1e-3)
    x, lens = torch.randn(2, 50, 80), torch.tensor([50, 37])
    assert torch.equal(model.encode(x, lens)[0], ref.encode(x, lens)[0])
    assert model.decode(x, lens, beam_size=3) == ref.decode(x, lens, beam_size=3)
    # the JRSV model-dir path: config round trip
    again = U2ASR.from_config(model.config)
    again.load_state_dict(model.state_dict())


def test_wenet_mismatch_is_one_clear_error(tmp_path):
    _write_dir(tmp_path)
    state = _reference_model(tmp_path).state_dict()
    state.pop("ctc.ctc_lo.bias")
    state["decoder.extra.weight"] = torch.zeros(1)
    (tmp_path / "big").mkdir()
    _write_dir(tmp_path / "big", ff=128, state=state)
    with pytest.raises(ValueError) as e:
        load_wenet_checkpoint(tmp_path / "big")
    msg = str(e.value)
    assert "final.pt" in msg and "missing (1): ctc.ctc_lo.bias" in msg
    assert "unexpected (1): decoder.extra.weight" in msg
    assert "shape mismatch (6)" in msg and "decoder.decoders.0.feed_forward.w_1.weight" in msg
    (tmp_path / "badunits").mkdir()
    _write_dir(tmp_path / "badunits", vocab=20, state=state)
    with pytest.raises(ValueError, match="units.txt has 8 units"):
        load_wenet_checkpoint(tmp_path / "badunits")


def test_char_tokenizer_round_trip(tmp_path):
    units = build_char_units(["你好 世界", "hello 你", "ok OK"])
    assert units[:2] == ["<blank>", "<unk>"] and units[-1] == "<sos/eos>"
    assert "HELLO" in units and "OK" in units and " " not in units
    write_units(units, tmp_path / "units.txt")
    assert read_units(tmp_path / "units.txt") == units
    tok = CharTokenizer(tmp_path / "units.txt")
    ids = tok.encode("你好 Hello 世界 ok")
    assert tok.decode(ids) == "你好HELLO世界OK"
    assert tok.encode("猫")[0] == 1  # <unk>
    (tmp_path / "bad.txt").write_text("<blank> 0\nx\n")
    with pytest.raises(ValueError, match="bad.txt:2"):
        read_units(tmp_path / "bad.txt")


def test_bpe_tokenizer(tmp_path):
    texts = ["hello world", "the world is big", "hello there big world"] * 30
    model = train_bpe(texts, 30, tmp_path / "bpe")
    tok = BpeTokenizer(model)
    ids = tok.encode("hello big world")
    assert all(1 < i < tok.vocab_size - 1 for i in ids)
    assert tok.units[0] == "<blank>" and tok.units[-1] == "<sos/eos>"
    assert tok.decode(ids) == "HELLO BIG WORLD"


def test_cer_examples():
    assert cer("abcd", "abcd") == 0.0
    c = align_counts("abcd", "axcd")
    assert (c.hit, c.sub, c.dele, c.ins) == (3, 1, 0, 0)
    c = align_counts("abcd", "ad")
    assert (c.sub, c.dele, c.ins) == (0, 2, 0) and c.cer == 0.5
    assert cer("ab", "xyzab") == pytest.approx(1.5)  # insertions: CER > 100 %
    assert cer("你好", "你们好吗好") == pytest.approx(1.5)
    assert cer([1, 2, 3], [3, 2, 1]) == pytest.approx(2 / 3)
    total = corpus_cer([("abc", "abc"), ("ab", ""), ("a", "aa")])
    assert (total.ref_len, total.errors) == (6, 3) and total.cer == 0.5
    assert cer("", "") == 0.0 and cer("", "a") == float("inf")
