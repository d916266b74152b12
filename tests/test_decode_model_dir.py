"""Decoding and export with a real model directory (tiny JRSV: MTASS + U2ASR, random weights).
Skipped until ``jrsv.asr.model.U2ASR`` exists."""
import importlib.util
import json

import pytest
import torch

from test_decode_helpers import UNITS, tone, write_audio
from jrsv.bin.main import main

pytestmark = [
    pytest.mark.skipif(importlib.util.find_spec("jrsv.asr.model") is None,
                       reason="jrsv.asr.model.U2ASR not written yet"),
    pytest.mark.filterwarnings("ignore:`torch.jit:DeprecationWarning"),
]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    from jrsv.asr.model import U2ASR
    from jrsv.jrsv import JRSV
    from jrsv.model_io import save_model_dir
    from jrsv.separation.model import MTASS
    torch.manual_seed(0)
    mtass = MTASS(513, 32, 2, 64, 1, 5, dropout_rate=0.0)
    enc = dict(output_size=32, attention_heads=4, linear_units=64, num_blocks=1,
               cnn_module_kernel=5, dropout_rate=0.0, positional_dropout_rate=0.0)
    dec = dict(attention_heads=4, linear_units=64, num_blocks=1, dropout_rate=0.0,
               positional_dropout_rate=0.0)
    asr = U2ASR(vocab_size=len(UNITS), input_dim=513, encoder_conf=enc, decoder_conf=dec)
    return save_model_dir(JRSV(mtass, asr), tmp_path_factory.mktemp("model"), units=UNITS)


def test_transcriber_api_greedy_and_beam(model_dir, tmp_path):
    from jrsv.decode.pipeline import DecodeConfig
    from jrsv.transcriber import Transcriber, Transcript
    wav = write_audio(tmp_path / "a.wav", tone(6.0, sr=22050, channels=2), 22050)
    for beam in (1, 3):
        tr = Transcriber(model_dir, device="cpu", beam_size=beam,
                         config=DecodeConfig(window_sec=4, overlap_sec=1, min_confidence=0.0))
        res = tr.transcribe(wav)
        assert isinstance(res, Transcript) and abs(res.duration - 6.0) < 1e-3
        for seg in res.speech + res.singing:
            assert 0 <= seg.start < seg.end <= 6.0 + 1e-6
            assert all(seg.start <= t.time < seg.end for t in seg.tokens)
    segs = list(tr.transcribe_stream([tone(1.0)] * 6, sample_rate=16000))
    assert all(track in ("speech", "singing") for track, _ in segs)


def test_cli_decode_and_export(model_dir, tmp_path, capsys):
    wav = write_audio(tmp_path / "clip.flac", tone(5.0, sr=44100, channels=2), 44100)
    rc = main(["decode", str(wav), "--model", str(model_dir), "--output-dir", str(tmp_path / "o"),
               "--quiet", "--min-confidence", "0", "--threads", "1"])
    assert rc == 0, capsys.readouterr().err
    d = json.loads((tmp_path / "o" / "clip.json").read_text())
    assert set(d) >= {"speech", "singing", "duration"}
    assert d["speech"] and d["singing"]  # the random model's diffuse posteriors, ungated
    # a gate nothing passes: empty tracks, and a note on stderr says it was the gate
    rc = main(["decode", str(wav), "--model", str(model_dir), "--output-dir", str(tmp_path / "g"),
               "--quiet", "--min-confidence", "1", "--threads", "1"])
    err = capsys.readouterr().err
    assert rc == 0 and json.loads((tmp_path / "g" / "clip.json").read_text())["speech"] == []
    assert f"jrsv decode: note: {wav}: speech: all " in err
    assert "below the confidence gate 1 and were dropped (--min-confidence 0 keeps them)" in err
    rc = main(["export", "--model", str(model_dir), "--out", str(tmp_path / "x")])
    out = capsys.readouterr().out
    assert rc == 0, out
    manifest = json.loads((tmp_path / "x" / "export.json").read_text())
    for m in manifest["models"].values():
        assert m["max_abs_diff_vs_eager"] < 1e-4


def test_state_dict_mismatch_is_one_line(model_dir, tmp_path, capsys):
    import shutil
    bad = tmp_path / "bad"
    shutil.copytree(model_dir, bad)
    state = torch.load(bad / "model.pt", weights_only=True)
    state.pop(next(iter(state)))
    torch.save(state, bad / "model.pt")
    wav = write_audio(tmp_path / "a.wav", tone(1.0))
    assert main(["decode", str(wav), "--model", str(bad), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "missing keys" in err[0] and str(bad) in err[0]
