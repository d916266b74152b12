"""Generated corpora for the demo sample and the tests: a whole generator run, or only its
held-out test split, and where the recipe keeps them.

The generators (:mod:`dtssvd.synth`) write corpora in the real corpora's layouts (AISHELL-1,
OpenSinger, MUSDB18-HQ), which jrsv's readers (:mod:`jrsv.data`) take as plain directories;
jrsv itself never calls the generators (``dtssvd`` depends on ``jrsv``, not the reverse).
"""
from __future__ import annotations

import json
import logging
from pathlib import Path

from jrsv.atomic import atomic_write_text
from jrsv.eval.sample_stream import SEED

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]


def ensure_corpora(corpora: Path, size: str = "mini", seed: int = SEED) -> Path:
    """Generate the corpora of preset ``size`` unless they are there (the generator skips a
    finished run); returns ``corpora``. ``SystemExit`` with a one-line message on failure."""
    from dtssvd.synth.cli import main as synth_main
    rc = synth_main(["--preset", size, "--seed", str(seed), "--out", str(corpora)])
    if rc:
        raise SystemExit(f"error: generating the corpora in {corpora} failed (exit {rc})")
    return corpora


def generate_test_split(corpora: Path, size: str, seed: int = SEED) -> Path:
    """Write only the held-out test split of preset ``size`` (seed ``seed``) under ``corpora``:
    test speakers' utterances, test singers' songs, test music tracks (arrangements and
    recorded). Each generator job is seeded by its own key, so these files are the same as in
    the full run. Skipped when ``corpora/test_split.json`` records the same preset and seed.
    Returns ``corpora``."""
    from dtssvd.synth import layout
    from dtssvd.synth.config import preset
    from dtssvd.synth.corpus import build_plan, run_job

    stamp = corpora / "test_split.json"
    want = {"preset": size, "seed": seed}
    if stamp.is_file() and json.loads(stamp.read_text()) == want:
        return corpora
    cfg = preset(size, seed=seed)
    plan = build_plan(cfg)
    test_singers = {(s["gender"], int(k.split("/")[1]))
                    for k, s in plan.manifest["opensinger"]["singers"].items()
                    if s["split"] == "test"}
    jobs = [j for j in plan.jobs
            if (j.kind in ("speech", "music", "recorded") and j.args["split"] == "test")
            or (j.kind == "sing" and (j.args["gender"], j.args["singer"]) in test_singers)]
    log.info("generating the test split of preset %s (seed %d): %d of %d jobs", size, seed,
             len(jobs), len(plan.jobs))
    transcript = Path(layout.aishell_transcript(str(corpora)))
    transcript.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(transcript, "\n".join(plan.transcript) + "\n")
    for job in jobs:
        run_job(job, str(corpora), cfg)
    atomic_write_text(stamp, json.dumps(want))
    return corpora


def default_corpora(size: str) -> Path:
    """Where ``recipes/dtssvd`` keeps the generated corpora of a preset (in a clone)."""
    return ROOT / "recipes" / "dtssvd" / ("data" if size == "mini" else f"data_{size}") / "corpora"


def finished_run(corpora: Path, size: str, seed: int) -> bool:
    """Whether ``corpora`` holds a finished generator run of preset ``size`` and ``seed``."""
    from dtssvd.synth.config import preset_name
    from dtssvd.synth.layout import MANIFEST
    try:
        conf = json.loads((corpora / MANIFEST).read_text())["config"]
    except (OSError, ValueError, KeyError):
        return False
    return preset_name(conf) == size and conf.get("seed") == seed
