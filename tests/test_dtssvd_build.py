"""dtssvd.build: byte-identical rebuild, equal overlap shares, bad files reported, skip when done,
manifest dataset re-mixes exactly what --write-wav wrote."""
import json

import numpy as np
import pytest
import soundfile as sf

from dtssvd import build
from jrsv.data.manifest_mixtures import ManifestMixtures
from jrsv.data.toy import make_aishell, make_musdb, make_opensinger


@pytest.fixture(scope="module")
def corpora(tmp_path_factory):
    r = tmp_path_factory.mktemp("corp")
    rng = np.random.default_rng(0)
    make_aishell(r / "aishell", rng, {"dev": ["S0724", "S0725"], "test": ["S0764"]}, utts=5,
                 sec=(0.6, 1.0), tar_speakers=("S0725",))
    make_opensinger(r / "os", rng, {"ManRaw": ["0", "25", "26"], "WomanRaw": ["45", "46"]},
                    segs=2, sec=(0.6, 1.0))
    make_musdb(r / "musdb", rng, {"train": 10, "test": 1}, sec=1.0)
    wav = r / "aishell/data_aishell/wav/dev/S0724"
    (wav / "BAC009S0724W0121.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")   # corrupt
    sf.write(wav / "BAC009S0724W0122.wav", np.zeros(0, np.float32), 16000)         # empty
    sf.write(wav / "BAC009S0724W0999.wav", np.zeros(16000, np.float32), 16000)     # no transcript
    return r


def _args(c, out, *extra):
    return ["--cache-dir", str(c / "cache"), "--aishell", str(c / "aishell"), "--opensinger", str(c / "os"), "--musdb",
            str(c / "musdb"), "--out", str(out), "--seed", "3", *extra]


def test_build_deterministic_balanced_and_reports(corpora, tmp_path, capsys):
    assert build.main(_args(corpora, tmp_path / "a")) == 0
    err = capsys.readouterr().err
    assert "BAC009S0724W0121.wav" in err and "BAC009S0724W0122.wav: empty" in err
    rep = json.loads((tmp_path / "a/dev.report.json").read_text())
    assert len(rep["bad"]) == 2 and rep["untranscribed"][0].endswith("BAC009S0724W0999.wav")
    rows = [json.loads(l) for l in (tmp_path / "a/dev.jsonl").read_text().splitlines()]
    assert len(rows) == 8                      # 10 speech, 2 bad
    counts = [sum(r["overlap"] == x for r in rows) for x in build.RATIOS]
    assert max(counts) - min(counts) <= 2     # equal shares planned over 10, 2 dropped
    assert all(r["singing"]["speaker"] in ("Man_25", "Woman_45") for r in rows)
    test_rows = (tmp_path / "a/test.jsonl").read_text().splitlines()
    assert all(json.loads(l)["singing"]["speaker"] in ("Man_26", "Woman_46") for l in test_rows)
    assert build.main(_args(corpora, tmp_path / "b")) == 0
    for s in ("dev", "test"):
        a = (tmp_path / "a" / f"{s}.jsonl").read_bytes()
        assert a == (tmp_path / "b" / f"{s}.jsonl").read_bytes()
    capsys.readouterr()
    assert build.main(_args(corpora, tmp_path / "a")) == 0
    assert "already built" in capsys.readouterr().out
    (tmp_path / "a/dev.jsonl").write_text("{broken\n")
    assert build.main(_args(corpora, tmp_path / "a")) == 0
    assert (tmp_path / "a/dev.jsonl").read_bytes() == (tmp_path / "b/dev.jsonl").read_bytes()


def test_write_wav_matches_remix(corpora, tmp_path):
    assert build.main(_args(corpora, tmp_path / "w", "--write-wav", "--splits", "test")) == 0
    assert build.main(_args(corpora, tmp_path / "n", "--splits", "test")) == 0
    ds_w = ManifestMixtures(str(tmp_path / "w/test.jsonl"))
    ds_n = ManifestMixtures(str(tmp_path / "n/test.jsonl"))
    assert len(ds_w) == len(ds_n) == 5
    for i in range(len(ds_w)):
        a, b = ds_w[i], ds_n[i]
        for k in ("mixture", "speech", "singing", "music"):
            assert np.array_equal(a[k].numpy(), b[k].numpy()), k
        assert a["speech_text"] == b["speech_text"] and round(float(a["overlap"]), 3) in build.RATIOS
