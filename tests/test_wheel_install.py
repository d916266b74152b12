"""The wheel carries the default model: build it, install it into a fresh virtualenv outside the
repository and decode a file from another directory without ``--model``."""
import os
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_wheel_installs_with_model_and_decodes_elsewhere(tmp_path):
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                    "-w", str(dist), str(ROOT)], check=True, cwd=tmp_path, timeout=600)
    wheel = next(dist.glob("jrsv-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for f in ("model.pt", "config.yaml", "units.txt", "MODEL_CARD.md"):
        assert f"jrsv/pretrained/default/{f}" in names
    for f in ("sample.flac", "references.json"):
        assert f"jrsv/pretrained/sample/{f}" in names
    for f in ("index.html", "captions.js", "captions.css", "pcm-worklet.js"):
        assert f"jrsv/serve/static/{f}" in names

    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    py = env_dir / "bin" / "python"
    site = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    # the dependencies (torch, ...) come from this interpreter's site-packages (no network); its
    # .pth files (the editable install of the repository) are not processed from a plain path line
    Path(site, "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "-q", "--no-deps",
                    str(wheel)], check=True, timeout=600)

    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    where = subprocess.run([str(py), "-c", "import jrsv; print(jrsv.__file__)"], cwd=work, env=env,
                           check=True, capture_output=True, text=True).stdout.strip()
    assert where.startswith(site), where

    sample = subprocess.run([str(py), "-c", "from jrsv.pretrained import SAMPLE_DIR; "
                             "print(SAMPLE_DIR / 'sample.flac')"], cwd=work, env=env, check=True,
                            capture_output=True, text=True).stdout.strip()
    audio, sr = sf.read(sample, dtype="float32")
    sf.write(work / "sample.wav", audio, sr)
    r = subprocess.run([str(env_dir / "bin" / "jrsv"), "decode", "sample.wav", "--format", "srt",
                        "--threads", "1", "--quiet"], cwd=work, env=env, capture_output=True,
                       text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    srts = [(work / f"sample.{track}.srt").read_text() for track in ("speech", "singing")]
    assert sum(s.count(" --> ") for s in srts) > 0, srts
    r = subprocess.run([str(env_dir / "bin" / "jrsv"), "demo", "--threads", "1"], cwd=work, env=env,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    assert "SDRi" in r.stdout and (work / "build" / "demo" / "scores.json").is_file()
