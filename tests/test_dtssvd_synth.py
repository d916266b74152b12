"""Readers + builder + datasets on the realistic dtssvd.synth tiny corpora (skipped without the
Debian synthesis tools)."""
import json
import os
import shutil

import numpy as np
import pytest

from dtssvd import build
from jrsv.data.manifest_mixtures import ManifestMixtures
from jrsv.data.onthefly import OnTheFlyMixtures
from jrsv.data.aishell import read_aishell
from jrsv.data.musdb import read_musdb
from jrsv.data.opensinger import read_opensinger
from jrsv.data.records import ReadReport

deps = pytest.importorskip("dtssvd.synth.deps")
_TOOLS_OK = os.path.exists(deps.GCIN_OGG_DIR) and all(
    shutil.which(b) for b in ("espeak-ng", "fluidsynth"))


@pytest.mark.skipif(not _TOOLS_OK, reason="espeak-ng / fluidsynth / gcin-voice not installed")
def test_synth_tiny_end_to_end(tmp_path):
    from dtssvd.synth import generate
    from dtssvd.synth.config import preset

    root = tmp_path / "tiny"
    generate(preset("tiny", seed=1, workers=2), str(root), progress=False)
    rep = ReadReport()
    for split in ("train", "dev", "test"):
        utts = read_aishell(str(root), split, report=rep)
        assert utts and all(u.text and " " not in u.text for u in utts)
    singers = {s: {u.speaker for u in read_opensinger(str(root), s, rep)}
               for s in ("train", "dev", "test")}
    assert singers["test"] and not (singers["test"] & singers["train"])
    assert not (singers["dev"] & singers["train"])
    assert read_musdb(str(root / "musdb18hq"), "train") and rep.summary().endswith("bad=0")
    out = tmp_path / "out"
    args = ["--aishell", str(root), "--opensinger", str(root), "--musdb", str(root / "musdb18hq"),
            "--out", str(out), "--seed", "0", "--write-wav"]
    assert build.main(args) == 0
    rows = [json.loads(l) for l in (out / "test.jsonl").read_text().splitlines()]
    assert rows and {r["singing"]["speaker"] for r in rows} <= singers["test"]
    ex = ManifestMixtures(str(out / "test.jsonl"))[0]
    assert np.allclose(ex["mixture"].numpy(),
                       (ex["speech"] + ex["singing"] + ex["music"]).numpy(), atol=1e-5)
    ds = OnTheFlyMixtures(read_aishell(str(root), "train"), read_opensinger(str(root), "train"),
                          read_musdb(str(root / "musdb18hq"), "train"), epoch_size=3,
                          cache_dir=str(tmp_path / "cache"))
    got = list(ds)
    assert len(got) == 3 and got[0]["mixture"].shape == (64000,) and not ds.skipped
