"""WeNet model directories in both layouts load and decode the same (issue 14).

pre-2024: units.txt ends with ``<sos/eos>``, final.pt has no positional tables.
current:  units.txt is ``<blank> 0``, ``<unk> 1``, ``<sos/eos> 2``, then the characters;
          train.yaml has ``tokenizer_conf.special_tokens``; final.pt holds
          ``encoder.embed.pos_enc.pe`` and ``decoder.embed.1.pe``.
Both directories are written from one model of ours (WeNet parameter names); the current one
has its vocabulary rows permuted to the new id order, so every decode mode must give the same
text and score from both.
"""
import math

import pytest
import torch

from test_asr_io import UNITS, _reference_model, _write_dir
from jrsv.asr.tokenizer import write_units
from jrsv.asr.wenet_loader import load_wenet_checkpoint

torch.set_num_threads(1)

NEW_ORDER = [0, 1, len(UNITS) - 1] + list(range(2, len(UNITS) - 1))  # new id -> old id
SPECIALS = """\
tokenizer: char
tokenizer_conf:
  symbol_table_path: data/dict/lang_char.txt
  split_with_space: false
  special_tokens:
    <blank>: 0
    <unk>: 1
    <sos>: 2
    <eos>: 2
"""
VOCAB_ROWS = ("decoder.embed.0.weight", "decoder.output_layer.weight",
              "decoder.output_layer.bias", "ctc.ctc_lo.weight", "ctc.ctc_lo.bias")


def _wenet_pe(length: int, d: int) -> torch.Tensor:
    """The (1, length, d) table WeNet's PositionalEncoding registers as a buffer."""
    pe = torch.zeros(length, d)
    position = torch.arange(0, length, dtype=torch.float32).unsqueeze(1)
    div_term = torch.exp(torch.arange(0, d, 2, dtype=torch.float32) * -(math.log(10000.0) / d))
    pe[:, 0::2] = torch.sin(position * div_term)
    pe[:, 1::2] = torch.cos(position * div_term)
    return pe.unsqueeze(0)


def _both_layouts(tmp_path):
    old, new = tmp_path / "pre2024", tmp_path / "current"
    old.mkdir()
    new.mkdir()
    _write_dir(old)
    ref = _reference_model(old)
    state = ref.state_dict()
    assert not any(k.endswith(".pe") for k in state)
    torch.save(state, old / "final.pt")
    _write_dir(new)
    (new / "train.yaml").write_text((new / "train.yaml").read_text() + SPECIALS)
    write_units([UNITS[i] for i in NEW_ORDER], new / "units.txt")
    perm = torch.tensor(NEW_ORDER)
    moved = {k: v.index_select(0, perm) if k in VOCAB_ROWS else v for k, v in state.items()}
    d = ref.encoder.output_size()
    moved["encoder.embed.pos_enc.pe"] = _wenet_pe(5000, d)
    moved["decoder.embed.1.pe"] = _wenet_pe(5000, d)
    torch.save({"model": moved}, new / "final.pt")  # some WeNet tools nest the state dict
    return old, new


def test_both_layouts_load_and_decode_the_same(tmp_path):
    old_dir, new_dir = _both_layouts(tmp_path)
    old, old_tok = load_wenet_checkpoint(old_dir)
    new, new_tok = load_wenet_checkpoint(new_dir)
    assert (old.sos, old.eos, new.sos, new.eos) == (7, 7, 2, 2)
    assert (new_tok.sos_id, new_tok.eos_id) == (2, 2)
    assert old_tok.encode("你好A") == [3, 4, 2] and new_tok.encode("你好A") == [4, 5, 3]
    torch.manual_seed(3)
    x, lens = torch.randn(3, 90, 80) * 3, torch.tensor([90, 71, 40])
    assert torch.equal(old.encode(x, lens)[0], new.encode(x, lens)[0])
    runs = [dict(mode=m, beam_size=4) for m in ("ctc_greedy_search", "ctc_prefix_beam_search",
                                                "attention", "attention_rescoring")]
    runs.append(dict(mode="attention_rescoring", beam_size=4, decoding_chunk_size=4,
                     simulate_streaming=True))
    for kw in runs:
        a, b = old.decode(x, lens, **kw), new.decode(x, lens, **kw)
        assert [old_tok.decode(r.tokens) for r in a] == [new_tok.decode(r.tokens) for r in b], kw
        assert [r.score for r in a] == pytest.approx([r.score for r in b], abs=1e-4), kw
        assert [r.times for r in a] == [r.times for r in b], kw
    # the attention decoder really ends on the table's <sos/eos>: with the classic guess (V - 1)
    # the current layout rescored differently
    nb = [[(r.tokens, 0.0, r.times)] for r in new.decode(x, lens, mode="ctc_prefix_beam_search",
                                                         beam_size=4)]
    enc, enc_lens = new.encode(x, lens)
    mask = (torch.arange(enc.size(1)) < enc_lens.unsqueeze(1)).unsqueeze(1)
    from jrsv.asr.search import attention_rescoring
    right = attention_rescoring(new.decoder, enc, mask, nb, 2, 2)
    wrong = attention_rescoring(new.decoder, enc, mask, nb, len(UNITS) - 1, len(UNITS) - 1)
    assert [r.score for r in right] != pytest.approx([r.score for r in wrong], abs=1e-3)


def test_a_positional_table_that_is_not_the_sinusoid_is_refused(tmp_path):
    _, new_dir = _both_layouts(tmp_path)
    state = torch.load(new_dir / "final.pt", weights_only=True)["model"]
    state["decoder.embed.1.pe"] = state["decoder.embed.1.pe"] * 1.01
    torch.save(state, new_dir / "final.pt")
    with pytest.raises(ValueError, match=r"final.pt: decoder.embed.1.pe is not the sinusoidal "
                                         r"position table"):
        load_wenet_checkpoint(new_dir)
    state["decoder.embed.1.pe"] = torch.zeros(1, 10, 7)
    torch.save(state, new_dir / "final.pt")
    with pytest.raises(ValueError, match=r"decoder.embed.1.pe has shape \(1, 10, 7\)"):
        load_wenet_checkpoint(new_dir)


def test_special_tokens_that_contradict_the_table_are_refused(tmp_path):
    _, new_dir = _both_layouts(tmp_path)
    (new_dir / "train.yaml").write_text(
        (new_dir / "train.yaml").read_text().replace("<eos>: 2", "<eos>: 3"))
    with pytest.raises(ValueError, match=r"units.txt: special token <eos> is id 3, but the unit "
                                         r"table has 'A' there"):
        load_wenet_checkpoint(new_dir)


def test_a_current_layout_model_saved_as_a_jrsv_model_dir_keeps_its_ids(tmp_path):
    from jrsv.model_io import ModelDirError, load_model_dir, save_model_dir
    _, new_dir = _both_layouts(tmp_path)
    model, tok = load_wenet_checkpoint(new_dir)
    out = save_model_dir(model, tmp_path / "md", units=tok.units)
    again = load_model_dir(out)
    assert (again.sos, again.eos) == (2, 2) and again.units == tok.units
    assert again.to_config() == model.to_config() and model.to_config()["feature"] == "fbank"
    x, lens = torch.randn(2, 60, 80) * 3, torch.tensor([60, 44])
    kw = dict(mode="attention_rescoring", beam_size=3)
    assert [r.tokens for r in again.decode(x, lens, **kw)] == \
        [r.tokens for r in model.decode(x, lens, **kw)]
    # a table whose <sos/eos> is elsewhere than config.yaml says is refused
    (out / "units.txt").write_text("".join(f"{u} {i}\n" for i, u in enumerate(UNITS)))
    with pytest.raises(ModelDirError, match=r"asr.sos_id is 2, but units.txt has 'A' there"):
        load_model_dir(out)
