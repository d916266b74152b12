"""The whole DTSSVD recipe, stages 0-6, on the tiny generated corpora with 2-step models
(`make test-slow`). Checks every table is filled from real runs and that re-running skips."""
import json
import time

import pytest

from recipe_utils import needs_tools, run_recipe

pytestmark = [pytest.mark.slow, needs_tools]

SMALL = ("train.max_steps=2 data.batch_size=2 data.epoch_size=4 model.encoder_conf.num_blocks=1 "
         "model.decoder_conf.num_blocks=1")


def test_recipe_end_to_end_and_skip(tmp_path):
    t0 = time.time()
    r = run_recipe(tmp_path, "--override", SMALL, "--stage", "0", "--stop-stage", "1")
    assert r.returncode == 0, r.stderr[-3000:]
    # MTASS has no encoder_conf: its size is set on the model section directly
    r = run_recipe(tmp_path, "--override", SMALL.replace(" model.encoder_conf.num_blocks=1", "")
                   .replace(" model.decoder_conf.num_blocks=1", "") + " model.num_blocks=1",
                   "--stage", "3", "--stop-stage", "3")
    assert r.returncode == 0, r.stderr[-3000:]
    r = run_recipe(tmp_path, "--override", SMALL, "--stage", "2", "--stop-stage", "6")
    assert r.returncode == 0, r.stderr[-3000:]
    exp = tmp_path / "exp"
    for name in ("asr_speech", "asr_singing", "asr_multi", "mtass_mae", "mtass_dis", "mtass_dis_cst",
                 "jrsv_t", "jrsv_f", "jrsv_fd"):
        assert (exp / name / "done").is_file() and (exp / name / "final" / "model.pt").is_file(), name
    report = (exp / "report.md").read_text()
    assert "(not run)" not in report
    for system in ("`speech`", "`multi`", "+ L_dis", "ASR / MTASS", "JRSV-f-d"):
        assert system in report
    scores = sorted((exp / "scores").glob("*.json"))
    assert len(scores) == 12
    for p in scores:
        d = json.loads(p.read_text())
        assert set(d["per_overlap"]) == {"0.0", "0.1", "0.3", "0.5", "1.0"}
    first = time.time() - t0
    # a second run of every stage skips finished work
    t1 = time.time()
    r = run_recipe(tmp_path, "--override", SMALL, "--stage", "0", "--stop-stage", "6")
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stderr.count("nothing to do") == 9
    assert time.time() - t1 < first / 2
