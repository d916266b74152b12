"""The recipe's Table 4 scoring (``jrsv_pass`` -> ``JRSV.transcribe``) and ``jrsv decode``'s
streaming decoder (``Transcriber`` / ``DecodeEngine``) give the same tokens (issue 14).

A handful of generated DTSSVD mixtures (toy corpora -> ``dtssvd.build``, dev and test splits) and
a small random-initialised JRSV model directory. The streaming decoder runs with
:func:`jrsv.decode.pipeline.whole_input_config` (one window, one piece per track, no gate), through
the Python API and through ``jrsv decode --whole-input`` on the mixtures written as wav files; the
recipe scores length-sorted padded batches. Every track of every mixture must get the same text
from both, for CTC greedy search and for prefix beam search + attention rescoring, and so the
same CER per overlap ratio (the model card's Table 4 cells).
"""
import json

import numpy as np
import pytest
import soundfile as sf
import torch

from dtssvd import build
from jrsv.asr.cer import align_counts
from jrsv.asr.tokenizer import CharTokenizer, split_text
from jrsv.asr.model import U2ASR
from jrsv.bin.main import main
from jrsv.data.toy import HANZI, make_aishell, make_musdb, make_opensinger
from jrsv.decode.pipeline import whole_input_config
from jrsv.bin.score import table_row
from jrsv.eval.decode_sets import EvalSet
from jrsv.eval.passes import jrsv_pass
from jrsv.eval.scores import read_score
from jrsv.jrsv import JRSV
from jrsv.model_io import load_model_dir, save_model_dir
from jrsv.nn.frontend import Stft
from jrsv.separation.model import MTASS
from jrsv.transcriber import Transcriber

torch.set_num_threads(1)

UNITS = ["<blank>", "<unk>"] + sorted(set(HANZI)) + ["<sos/eos>"]


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("parity")
    rng = np.random.default_rng(1)
    c = root / "corpora"
    make_aishell(c / "aishell", rng, {"test": ["S0764"], "dev": ["S0724"]}, utts=5, sec=(0.8, 1.6))
    make_opensinger(c / "os", rng, {"ManRaw": ["25", "26"], "WomanRaw": ["45", "46"]}, segs=2,
                    sec=(0.8, 1.6))
    make_musdb(c / "musdb", rng, {"test": 1, "train": 1}, sec=2.0)
    out = root / "dtssvd"
    assert build.main(["--aishell", str(c / "aishell"), "--opensinger", str(c / "os"),
                       "--musdb", str(c / "musdb"), "--out", str(out), "--seed", "5",
                       "--splits", "dev,test", "--write-wav"]) == 0
    torch.manual_seed(0)
    mtass = MTASS(513, 16, 2, 32, 1, 3, dropout_rate=0.0)
    enc = dict(output_size=16, attention_heads=2, linear_units=32, num_blocks=1,
               cnn_module_kernel=3, dropout_rate=0.0, positional_dropout_rate=0.0)
    dec = dict(attention_heads=2, linear_units=32, num_blocks=1, dropout_rate=0.0,
               positional_dropout_rate=0.0)
    model_dir = save_model_dir(JRSV(mtass, U2ASR(len(UNITS), 513, enc, dec), mode="f"),
                               root / "model", units=UNITS)
    evalsets = {split: EvalSet(out / f"{split}.jsonl", max_batch=4) for split in ("dev", "test")}
    return evalsets, model_dir, out


def _recipe_tally(evalset, model_dir, mode, beam_size):
    model = load_model_dir(model_dir)
    with torch.inference_mode():
        return jrsv_pass(model, Stft(), evalset, torch.device("cpu"), "parity", mode=mode,
                         beam_size=beam_size)


def _recipe_texts(evalset, model_dir, mode, beam_size):
    tally = _recipe_tally(evalset, model_dir, mode, beam_size)
    texts = {}
    for line in tally.lines:  # "utt\tkey\ttrack\terr=..\tref=..\tREF: ..\tHYP: .."
        f = line.split("\t")
        texts[(f[0], f[2])] = f[-1][len("HYP: "):]
    return texts


@pytest.mark.parametrize("mode, beam_size", [("ctc_greedy_search", 1),
                                             ("attention_rescoring", 3)])
def test_recipe_scoring_and_streaming_decoder_agree(setup, mode, beam_size):
    evalsets, model_dir, dtssvd_dir = setup
    evalset = evalsets["test"]
    assert len(evalset) >= 5 and len(evalset.batches) < len(evalset)  # padded batches
    recipe = _recipe_texts(evalset, model_dir, mode, beam_size)
    tr = Transcriber(model_dir, beam_size=beam_size, config=whole_input_config())
    tr.engine.decode_mode = mode
    compared = 0
    for i in evalset.indices:
        batch = evalset.item(i)
        wav = batch.mixture[0, :int(batch.samples[0])].numpy()
        result = tr.transcribe(wav, 16000)
        for track in ("speech", "singing"):
            segs = result.track(track)
            assert len(segs) <= 1
            text = segs[0].text if segs else ""
            assert text == recipe[(batch.ids[0], track)], (batch.ids[0], track)
            compared += bool(text)
    assert compared >= 5  # the random model does emit tokens


def _cer(pairs) -> dict[str, dict[str, tuple[int, int]]]:
    """{overlap: {track: (errors, reference length)}} of (overlap, track, ref, hyp) rows, as
    :class:`jrsv.eval.tally.CerTally` counts them."""
    out: dict = {}
    for overlap, track, ref, hyp in pairs:
        c = align_counts(split_text(ref), split_text(hyp))
        e, n = out.setdefault(overlap, {}).get(track, (0, 0))
        out[overlap][track] = (e + c.errors, n + c.ref_len)
    return out


@pytest.mark.parametrize("split", ["dev", "test"])
@pytest.mark.parametrize("beam_size, mode", [(1, "ctc_greedy_search"), (3, "attention_rescoring")])
def test_jrsv_decode_whole_input_gives_the_recipe_tokens(setup, tmp_path, capsys, split, beam_size,
                                                          mode):
    """``jrsv decode --whole-input`` on the mixtures as wav files: the recipe's hypothesis of
    every track of every mixture, hence its CER per overlap ratio (``jrsv decode`` uses
    attention rescoring for a beam > 1, the recipe's default mode)."""
    evalsets, model_dir, dtssvd_dir = setup
    evalset = evalsets[split]
    recipe = _recipe_texts(evalset, model_dir, mode, beam_size)
    wavs, rows = [], []
    for i in evalset.indices:
        batch = evalset.item(i)
        wav = tmp_path / "mix" / f"{batch.ids[0]}.wav"
        wav.parent.mkdir(exist_ok=True)
        sf.write(str(wav), batch.mixture[0, :int(batch.samples[0])].numpy(), 16000, subtype="FLOAT")
        wavs.append(str(wav))
        rows.append(batch)
    assert len(wavs) >= 5
    out = tmp_path / "out"
    rc = main(["decode", *wavs, "--whole-input", "--model", str(model_dir), "--beam-size",
               str(beam_size), "--format", "json", "--output-dir", str(out), "--quiet"])
    assert rc == 0, capsys.readouterr().err
    ours, theirs, emitted = [], [], 0
    for batch in rows:
        got = json.loads((out / f"{batch.ids[0]}.json").read_text(encoding="utf-8"))
        for track in ("speech", "singing"):
            assert len(got[track]) <= 1  # one piece per track over the whole input
            text = got[track][0]["text"] if got[track] else ""
            assert text == recipe[(batch.ids[0], track)], (split, batch.ids[0], track)
            emitted += bool(text)
            ref = getattr(batch, f"{track}_text")[0]
            ours.append((batch.overlaps[0], track, ref, text))
            theirs.append((batch.overlaps[0], track, ref, recipe[(batch.ids[0], track)]))
    assert emitted >= 5  # the random model does emit tokens
    assert _cer(ours) == _cer(theirs)


def test_whole_input_refuses_windowing_options_and_stdin(setup, tmp_path, capsys):
    _, model_dir, _ = setup
    for extra, want in ((["--window-sec", "4"], "does not take --window-sec"),
                        (["--min-confidence", "0.3"], "does not take --min-confidence")):
        rc = main(["decode", str(tmp_path / "a.wav"), "--whole-input", "--model", str(model_dir),
                   *extra])
        err = capsys.readouterr().err.strip().splitlines()
        assert rc == 2 and len(err) == 1 and want in err[0], err
    rc = main(["decode", "-", "--whole-input", "--model", str(model_dir)])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and err == ["jrsv decode: error: --whole-input decodes files, not live audio "
                               "on stdin ('-')"]


@pytest.mark.parametrize("beam_size, mode", [(1, "ctc_greedy_search"), (3, "attention_rescoring")])
def test_whole_input_is_one_window_and_one_piece_on_a_long_input(setup, tmp_path, capsys,
                                                                 beam_size, mode):
    """The dev mixtures one after another with 1.5 s of digital silence between them (longer
    than the default 10 s window; the default VAD would cut at the silences): one segment per
    track, with the tokens of ``JRSV.transcribe`` on the whole input, as the recipe computes
    them (:func:`jrsv.eval.passes.mixture_stft` -> ``transcribe``)."""
    evalsets, model_dir, dtssvd_dir = setup
    gap = np.zeros(24000, dtype=np.float32)
    parts = []
    for i in evalsets["dev"].indices:
        batch = evalsets["dev"].item(i)
        parts += [batch.mixture[0, :int(batch.samples[0])].numpy(), gap]
    audio = np.concatenate(parts[:-1])
    assert len(audio) > 12 * 16000
    wav = tmp_path / "long.wav"
    sf.write(str(wav), audio, 16000, subtype="FLOAT")
    model = load_model_dir(model_dir)
    with torch.inference_mode():
        mag, _ = Stft().magnitude_phase(torch.from_numpy(audio)[None])
        res = model.transcribe(mag, torch.tensor([mag.size(1)]), mode=mode, beam_size=beam_size)
    want = {t: CharTokenizer(model.units).decode(res[t][0].tokens) for t in ("speech", "singing")}
    assert all(want.values())
    rc = main(["decode", str(wav), "--whole-input", "--model", str(model_dir), "--beam-size",
               str(beam_size), "--output-dir", str(tmp_path), "--quiet"])
    assert rc == 0, capsys.readouterr().err
    got = json.loads((tmp_path / "long.json").read_text(encoding="utf-8"))
    for track in ("speech", "singing"):
        assert [s["text"] for s in got[track]] == [want[track]], track


@pytest.mark.parametrize("split", ["dev", "test"])
def test_table4_row_from_jrsv_decode_and_jrsv_score(setup, tmp_path, capsys, split):
    """The user's path to a Table 4 row -- the list's mixture wavs (``--write-wav``) ->
    ``jrsv decode --whole-input`` -> ``jrsv score`` -- gives the recipe's score file: the same
    CER and the same error counts per overlap ratio and track."""
    evalsets, model_dir, dtssvd_dir = setup
    evalset = evalsets[split]
    tally = _recipe_tally(evalset, model_dir, "attention_rescoring", 3)
    lst = dtssvd_dir / f"{split}.jsonl"
    wavs = sorted(str(p) for p in (dtssvd_dir / "wav" / split).glob("*/mixture.wav"))
    assert len(wavs) == len(evalset) >= 5
    hyp = tmp_path / "hyp"
    assert main(["decode", *wavs, "--whole-input", "--model", str(model_dir), "--beam-size", "3",
                 "--output-dir", str(hyp), "--quiet"]) == 0, capsys.readouterr().err
    capsys.readouterr()
    out = tmp_path / "score.json"
    assert main(["score", "--list", str(lst), "--transcripts", str(hyp), "--out", str(out),
                 "--system", "JRSV-f"]) == 0
    printed = capsys.readouterr().out.splitlines()
    score = read_score(out)
    assert score.per_overlap == tally.per_overlap() and score.counts == tally.count_dict()
    assert len(score.per_overlap) >= 2
    assert printed[1] == table_row(score) and printed[1].startswith("| 4 | JRSV-f | % CER | ")


def test_score_names_a_missing_transcript(setup, tmp_path, capsys):
    evalsets, _, dtssvd_dir = setup
    first = evalsets["dev"].row(0)["id"]
    (tmp_path / "hyp").mkdir()
    assert main(["score", "--list", str(dtssvd_dir / "dev.jsonl"), "--transcripts",
                 str(tmp_path / "hyp")]) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"jrsv score: error: {tmp_path / 'hyp' / first}.json: no such transcript"]
