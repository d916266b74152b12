"""Synthetic mini corpora (AISHELL-1, OpenSinger, MUSDB18-HQ layouts) for tests and demos.

See ``dtssvd/synth/README.md`` for the design; entry points: :func:`generate`, :func:`preset`,
and the CLI ``tools/make_mini_corpora.py``.
"""
from .config import PRESETS, SynthConfig, preset, preset_name
from .corpus import build_plan, generate
from .deps import MissingDependency

__all__ = ["SynthConfig", "PRESETS", "preset", "preset_name", "build_plan", "generate", "MissingDependency"]
