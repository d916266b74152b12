"""`make demo` on the shipped sample, and `jrsv make-sample` that builds it."""
import json
import math
import shutil

import numpy as np
import pytest
import soundfile as sf
import yaml
from recipe_utils import needs_tools

from dtssvd import corpora as dtssvd_corpora
from dtssvd import make_sample
from jrsv.bin import demo
from jrsv.eval import sample_stream
from jrsv.pretrained import DEFAULT_MODEL_DIR, SAMPLE_DIR


def test_demo_decodes_the_shipped_sample_and_scores(tmp_path, capsys):
    rc = demo.main(["--out", str(tmp_path / "o"), "--threads", "1"])
    assert rc == 0
    out = capsys.readouterr().out
    assert "== speech ==" in out and "== singing ==" in out and "SDRi" in out
    assert "warning" not in out  # the shipped sample matches the shipped model's corpora
    scores = json.loads((tmp_path / "o" / "scores.json").read_text())
    for track in ("speech", "singing"):
        s = scores[track]
        assert s["ref_chars"] > 0 and math.isfinite(s["sdri"]) and s["cer"] >= 0
        assert s["sdri"] > 0  # the separator removes some of the other sources
        assert (tmp_path / "o" / "stems" / f"sample.{track}.wav").is_file()


def test_shipped_sample_is_small_held_out_and_matches_the_model():
    refs = json.loads((SAMPLE_DIR / "references.json").read_text())
    conf = yaml.safe_load((DEFAULT_MODEL_DIR / "config.yaml").read_text())
    assert refs["trained_on"]["preset"] == conf["trained_on"]["preset"]
    assert refs["trained_on"]["seed"] == conf["trained_on"]["seed"] and refs["split"] == "test"
    info = sf.info(str(SAMPLE_DIR / "sample.flac"))
    assert info.samplerate == 16000 and 30 <= info.duration <= 120
    assert [r["overlap"] for r in refs["segments"]] == list(sample_stream.OVERLAPS)
    assert sum(p.stat().st_size for p in SAMPLE_DIR.iterdir()) < 4e6


def test_demo_missing_model_is_one_line_error(tmp_path, capsys):
    assert demo.main(["--model", str(tmp_path / "nope")]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "nope" in err


def test_demo_bad_sample_dir_is_one_line_error(tmp_path, capsys):
    assert demo.main(["--sample", str(tmp_path / "nosample"), "--out", str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "nosample" in err and "make-sample" in err


@pytest.fixture(scope="module")
def tiny_corpora(tmp_path_factory):
    """A full generator run of the tiny preset (shared by the tests below)."""
    full = tmp_path_factory.mktemp("tiny") / "corpora"
    dtssvd_corpora.ensure_corpora(full, "tiny", 777)
    return full


@needs_tools
def test_make_sample_builds_the_test_split_only_and_same_files_as_a_full_run(tmp_path, capsys,
                                                                             tiny_corpora):
    """The test-split-only generation writes byte-identical files to a full generator run, and
    no training data; the sample is written with its references and provenance."""
    model = tmp_path / "m"
    shutil.copytree(DEFAULT_MODEL_DIR, model)
    out = tmp_path / "sample"
    assert make_sample.main(["--model", str(model), "--preset", "tiny", "--out", str(out)]) == 0
    refs = json.loads((out / "references.json").read_text())
    assert refs["trained_on"]["preset"] == "tiny" and refs["split"] == "test"
    mix, sr = sf.read(out / "sample.flac", dtype="float32")
    sp, _ = sf.read(out / "speech.flac", dtype="float32")
    assert sr == 16000 and len(mix) == len(sp) and len(refs["segments"]) == 6
    assert all(r["speech"] and r["singing"] for r in refs["segments"])

    part = dtssvd_corpora.generate_test_split(tmp_path / "part", "tiny", 777)
    full = tiny_corpora
    part_files = {p.relative_to(part) for p in part.rglob("*.wav")}
    full_files = {p.relative_to(full) for p in full.rglob("*.wav")}
    assert part_files and part_files < full_files
    assert not any("train" in str(p) for p in part_files)
    for rel in sorted(part_files):
        assert (part / rel).read_bytes() == (full / rel).read_bytes(), rel
    a = sample_stream.build_stream(part, tmp_path / "s1", seed=777)
    b = sample_stream.build_stream(full, tmp_path / "s2", seed=777)
    assert np.array_equal(a["mixture"], b["mixture"]) and a["segments"] == b["segments"]


def test_sample_follows_the_models_own_corpora(tmp_path):
    """The sample must come from the corpora the model was trained on: a different preset's
    test split can hold the model's training voices and sentences."""
    model = tmp_path / "m"
    shutil.copytree(DEFAULT_MODEL_DIR, model)
    conf = yaml.safe_load((model / "config.yaml").read_text())
    conf["trained_on"] = {"corpus": "generated", "preset": "base", "seed": 5}
    (model / "config.yaml").write_text(yaml.safe_dump(conf, allow_unicode=True))
    assert sample_stream.corpus_of(model) == ("base", 5)
    assert sample_stream.corpus_of(model, "tiny") == ("tiny", 5)
    assert dtssvd_corpora.default_corpora("base").parts[-2:] == ("data_base", "corpora")
    assert dtssvd_corpora.default_corpora("mini").parts[-2:] == ("data", "corpora")
    conf.pop("trained_on")
    (model / "config.yaml").write_text(yaml.safe_dump(conf, allow_unicode=True))
    assert sample_stream.corpus_of(model) == ("mini", sample_stream.SEED)


@needs_tools
def test_make_sample_uses_a_finished_recipe_run_and_rejects_unknown_presets(tmp_path, monkeypatch,
                                                                            capsys, tiny_corpora):
    corpora = tiny_corpora
    monkeypatch.setattr(dtssvd_corpora, "default_corpora", lambda size: corpora)
    called = []
    monkeypatch.setattr(dtssvd_corpora, "generate_test_split", lambda *a: called.append(a))
    out = tmp_path / "s"
    assert make_sample.main(["--preset", "tiny", "--out", str(out)]) == 0
    assert not called and (out / "sample.flac").is_file()
    capsys.readouterr()
    assert make_sample.main(["--preset", "huge", "--out", str(tmp_path / "s2")]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "huge" in err
