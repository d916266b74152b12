"""recipes/dtssvd/local/evaluate.py (stage 5): score files for Tables 1-4 from tiny random models
on a tiny dtssvd.build test set; SDRi of an identity separator and of the reference; CER counts;
skip-if-done; a broken model directory; a missing manifest."""
from __future__ import annotations

import json
import math
import os
import time

import numpy as np
import pytest
import torch
from torch import nn

from dtssvd import build
from jrsv.asr.model import U2ASR
from jrsv.asr.tokenizer import split_text
from jrsv.data.manifest import read_jsonl
from jrsv.data.toy import HANZI, make_aishell, make_musdb, make_opensinger
from jrsv.eval.decode_sets import EvalSet, length_batches, select_rows
from jrsv.eval.passes import resynthesise, separation_pass
from jrsv.eval.scores import OVERLAPS, read_score
from jrsv.eval.tally import CerTally, SdriTally, hypothesis_text
from jrsv.jrsv import JRSV
from jrsv.model_io import save_model_dir
from jrsv.nn.frontend import Stft
from jrsv.separation.model import MTASS
from recipe_utils import recipe_module

evaluate = recipe_module("evaluate")

torch.set_num_threads(1)

UNITS = ["<blank>", "<unk>"] + sorted(set(HANZI)) + ["<sos/eos>"]
MT = dict(input_dim=513, output_size=16, attention_heads=2, linear_units=32, num_blocks=1,
          cnn_module_kernel=3, dropout_rate=0.0)
ENC = dict(output_size=16, attention_heads=2, linear_units=32, num_blocks=1, cnn_module_kernel=3,
           dropout_rate=0.0, positional_dropout_rate=0.0)
DEC = dict(attention_heads=2, linear_units=32, num_blocks=1, dropout_rate=0.0,
           positional_dropout_rate=0.0)
STEMS = [s.stem for s in evaluate.SYSTEMS]


def _asr(input_dim: int) -> U2ASR:
    return U2ASR(len(UNITS), input_dim, ENC, DEC)


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """DATA/dtssvd/test.jsonl (5 rows, one per overlap) and EXP/<model>/final for all 10 models."""
    root = tmp_path_factory.mktemp("eval")
    rng = np.random.default_rng(0)
    c = root / "corpora"
    make_aishell(c / "aishell", rng, {"test": ["S0764"]}, utts=5, sec=(0.6, 1.0))
    make_opensinger(c / "os", rng, {"ManRaw": ["26"], "WomanRaw": ["46"]}, segs=2, sec=(0.6, 1.0))
    make_musdb(c / "musdb", rng, {"test": 1}, sec=1.0)
    data = root / "data"
    assert build.main(["--aishell", str(c / "aishell"), "--opensinger", str(c / "os"),
                       "--musdb", str(c / "musdb"), "--out", str(data / "dtssvd"),
                       "--seed", "3", "--splits", "test"]) == 0
    exp = root / "exp"
    torch.manual_seed(0)
    for t in ("speech", "singing", "multi"):
        save_model_dir(_asr(80), exp / f"asr_{t}" / "final", units=UNITS)
    for v in ("mae", "dis", "dis_cst"):
        save_model_dir(MTASS(**MT), exp / f"mtass_{v}" / "final")
    for m in ("t", "f", "fd"):
        save_model_dir(JRSV(MTASS(**MT), _asr(513), mode=m), exp / f"jrsv_{m}" / "final",
                       units=UNITS)
    for name in ("jrsv_fd_more", "jrsv_neural"):
        save_model_dir(JRSV(MTASS(**MT), _asr(513), mode="fd"), exp / name / "final", units=UNITS)
    return root, data, exp


def _run(root, data, exp, *extra):
    return evaluate.main(["--data", str(data), "--exp", str(exp), "--scores",
                          str(root / "scores"), "--beam-size", "2", "--num-workers", "0",
                          *extra])


def _mtimes(scores):
    return {s: (scores / f"{s}.json").stat().st_mtime_ns for s in STEMS}


def test_full_run_scores_skip_and_rerun(setup, capsys):
    root, data, exp = setup
    t0 = time.time()
    assert _run(root, data, exp) == 0
    first = time.time() - t0
    scores = root / "scores"
    rows = read_jsonl(str(data / "dtssvd" / "test.jsonl"))
    assert sorted(f"{r['overlap']:.1f}" for r in rows) == sorted(OVERLAPS)
    for sys_ in evaluate.SYSTEMS:
        s = read_score(scores / f"{sys_.stem}.json")
        assert (s.table, s.system) == (sys_.table, sys_.name)
        assert sorted(s.per_overlap) == sorted(OVERLAPS), sys_.stem
        assert s.command.startswith("local/evaluate.py --data ")
        for o in OVERLAPS:
            for track in ("speech", "singing"):
                c = s.counts[o][track]
                if s.metric == "sdri":
                    assert c["n"] == 1 and math.isfinite(s.per_overlap[o][track])
                    continue
                row = next(r for r in rows if f"{r['overlap']:.1f}" == o)
                assert c["ref"] == len(split_text(row[track]["text"])) > 0
                assert c["err"] == c["sub"] + c["del"] + c["ins"]
                assert s.per_overlap[o][track] == pytest.approx(100.0 * c["err"] / c["ref"])
        # per voice: every test speaker / singer; with one row per overlap (as here) a voice's
        # score is the pooled CER (mean SDRi) of the overlaps its rows are in
        for track in ("speech", "singing"):
            assert set(s.per_voice[track]) == {r[track]["speaker"] for r in rows}, sys_.stem
            for v, got in s.per_voice[track].items():
                keys = [f"{r['overlap']:.1f}" for r in rows if r[track]["speaker"] == v]
                if s.metric == "cer":
                    err, ref = (sum(s.counts[k][track][f] for k in keys) for f in ("err", "ref"))
                    assert got == pytest.approx(100.0 * err / ref)
                else:
                    assert got == pytest.approx(np.mean([s.per_overlap[k][track] for k in keys]))
            pick = min if s.metric == "sdri" else max
            assert s.worst_voice(track)[1] == pick(s.per_voice[track].values())
        if s.table == 1:
            assert set(s.unmixed) == {"speech", "singing"}
            u = s.counts["unmixed"]["speech"]
            assert s.unmixed["speech"] == pytest.approx(100.0 * u["err"] / u["ref"])
            # one hypothesis, two references: the hypotheses logged for both tracks agree
            log = (scores / "decode" / f"{sys_.stem}.txt").read_text().splitlines()
            hyp = {(ln.split("\t")[0], ln.split("\t")[1], ln.split("\t")[2]): ln.split("HYP: ")[1]
                   for ln in log}
            for r in rows:
                key = f"{r['overlap']:.1f}"
                assert hyp[(r["id"], key, "speech")] == hyp[(r["id"], key, "singing")]
    ex = np.load(scores / "example.npz")
    shapes = {ex[k].shape for k in ("mixture", "speech_ref", "singing_ref", "speech_est",
                                    "singing_est")}
    assert len(shapes) == 1 and shapes.pop()[1] == 513 and float(ex["overlap"]) == 0.5

    # second run: everything up to date, nothing rewritten
    before = _mtimes(scores)
    capsys.readouterr()
    t0 = time.time()
    assert _run(root, data, exp) == 0
    assert time.time() - t0 < first
    assert _mtimes(scores) == before
    assert capsys.readouterr().err.count(": up to date (") == len(STEMS) + 1

    # a retrained MTASS (newer model.pt) re-runs its Table 2 and Table 3 rows only
    w = exp / "mtass_dis" / "final" / "model.pt"
    future = time.time() + 5
    os.utime(w, (future, future))
    assert _run(root, data, exp, "--tables", "2,3") == 0
    after = _mtimes(scores)
    changed = {s for s in STEMS if after[s] != before[s]}
    assert changed == {"2_mtass_dis", "3_cascade_dis"}
    # a different beam is a different config
    assert _run(root, data, exp, "--tables", "1", "--beam-size", "1") == 0
    assert json.loads((scores / "1_asr_multi.done").read_text())["config"]["beam_size"] == 1


def test_broken_model_dir_named_others_continue(setup, tmp_path, capsys):
    root, data, exp = setup
    broken = tmp_path / "exp"
    broken.mkdir()
    for name in ("jrsv_t", "jrsv_fd"):
        (broken / name).symlink_to(exp / name, target_is_directory=True)
    (broken / "jrsv_f" / "final").mkdir(parents=True)
    (broken / "jrsv_f" / "final" / "config.yaml").write_text("format_version: 1\nkind: jrsv\n")
    (broken / "asr_multi").mkdir()      # exists but no final/: reported as missing, not an error
    capsys.readouterr()
    rc = evaluate.main(["--data", str(data), "--exp", str(broken), "--scores",
                        str(tmp_path / "scores"), "--beam-size", "1", "--num-workers", "0",
                        "--max-utts", "2"])
    err = capsys.readouterr().err
    assert rc == 1
    assert f"model directory {broken / 'jrsv_f' / 'final'}:" in err
    assert "1 model directories failed to load" in err
    assert "missing" in err and str(broken / "asr_multi" / "final") in err
    assert (tmp_path / "scores" / "4_jrsv_t.json").is_file()
    assert (tmp_path / "scores" / "4_jrsv_fd.json").is_file()
    assert not (tmp_path / "scores" / "4_jrsv_f.json").exists()
    s = read_score(tmp_path / "scores" / "4_jrsv_t.json")
    assert len(s.per_overlap) == 2          # --max-utts 2: two rows, two different overlaps


def test_missing_manifest_says_which_stage(tmp_path, capsys):
    rc = evaluate.main(["--data", str(tmp_path / "data"), "--exp", str(tmp_path / "exp"),
                        "--scores", str(tmp_path / "s")])
    err = capsys.readouterr().err
    assert rc == 2 and len(err.strip().splitlines()) == 1
    assert "test.jsonl not found" in err and "stage 1" in err


class _Identity(nn.Module):
    """A 'separator' returning the mixture magnitude for both tracks."""

    def forward(self, mag, lengths):
        return {"speech": mag, "singing": mag}


def test_sdri_identity_is_zero_and_reference_is_large(setup):
    _, data, _ = setup
    ts = EvalSet(data / "dtssvd" / "test.jsonl", data / "dtssvd" / "cache" / "musdb",
                 max_frames=200)
    stft = Stft()
    tally = separation_pass(_Identity(), stft, ts, torch.device("cpu"), "identity")
    per = tally.per_overlap()
    assert sorted(per) == sorted(OVERLAPS)
    for o in OVERLAPS:
        for t in ("speech", "singing"):
            assert abs(per[o][t]) < 1e-3, (o, t, per[o][t])
    # the reference itself, through the same STFT -> iSTFT code path: a very large SDRi
    ref_tally = SdriTally()
    for batch in ts:
        for track in ("speech", "singing"):
            ref = getattr(batch, track)
            mag, phase = stft.magnitude_phase(ref)
            frames = stft.num_frames(batch.samples)
            wavs = resynthesise(stft, mag, phase, frames, batch.samples)
            for i, n in enumerate(batch.samples.tolist()):
                ref_tally.add(batch.overlaps[i], track, batch.ids[i], ref[i, :n], wavs[i],
                              batch.mixture[i, :n])
    assert min(v for d in ref_tally.per_overlap().values() for v in d.values()) > 30.0


def test_batches_selection_and_text():
    lengths = [16000, 48000, 8000, 32000]
    b = length_batches(lengths, [0, 1, 2, 3], max_frames=400, max_batch=8)
    assert b == [[1, 3], [0, 2]]            # longest first; 2 x 188 frames fit 400, 3 do not
    rows = [{"overlap": o} for o in (0.0, 0.0, 0.5, 1.0, 0.5, 0.0)]
    assert select_rows(rows, 3) == [0, 2, 3] and select_rows(rows, 4) == [0, 1, 2, 3]
    assert select_rows(rows, None) == list(range(6))
    units = ["<blank>", "<unk>", "你", "好", "AB", "<sos/eos>"]
    assert hypothesis_text([2, 0, 3, 5], units) == "你好"
    tally = CerTally(units)
    tally.add("0.0", "speech", "u1", "你 好", [2, 2, 3, 4])   # 2 insertions
    c = tally.count_dict()["0.0"]["speech"]
    assert (c["err"], c["ref"], c["ins"]) == (2, 2, 2) and tally.cer("0.0")["speech"] == 100.0
