"""Mixing arithmetic measured back from the outputs: gains, overlap, clipping guard."""
import numpy as np
import pytest

from jrsv.data.mix import (REF_RMS, RATIOS, MixError, check_source, measured_overlap, place,
                           render, rms, sample_spec)


def _src(rng, n, amp):
    return (amp * rng.standard_normal(n)).astype(np.float32)


@pytest.mark.parametrize("r", RATIOS)
def test_gains_overlap_and_sum(r):
    rng = np.random.default_rng(int(r * 10))
    for trial in range(20):
        sx, gx, mx = _src(rng, 16000 + 97 * trial, 0.3), _src(rng, 24000, 0.05), _src(rng, 9000, 1.0)
        spec = sample_spec(rng, len(sx), len(gx), len(mx), overlap=r)
        out = render(spec, sx, gx, mx)
        assert measured_overlap(spec) == pytest.approx(r, abs=1e-4)
        n = spec.length
        assert all(len(out[k]) == n for k in ("mixture", "speech", "singing", "music"))
        assert n == max(spec.speech_offset + spec.speech_len, spec.singing_offset + spec.singing_len)
        assert np.allclose(out["mixture"], out["speech"] + out["singing"] + out["music"], atol=1e-6)
        sc = out["scale"]
        sp = out["speech"][spec.speech_offset:spec.speech_offset + spec.speech_len]
        sg = out["singing"][spec.singing_offset:spec.singing_offset + spec.singing_len]
        for x, g in ((sp, spec.speech_gain_db), (sg, spec.singing_gain_db),
                     (out["music"], spec.music_gain_db)):
            assert 20 * np.log10(rms(x) / (REF_RMS * sc)) == pytest.approx(g, abs=1e-3)
        assert -10 <= spec.speech_gain_db <= 2 and -15 <= spec.music_gain_db <= 2
        # speech-to-music ratio over the speech span = gain difference (both normalised)
        assert np.max(np.abs(out["mixture"])) <= 0.99 + 1e-6
        # outside its span the speech reference is exactly zero
        assert not np.any(np.delete(out["speech"], np.arange(spec.speech_offset,
                                                               spec.speech_offset + spec.speech_len)))


def test_clipping_guard_scales_everything():
    rng = np.random.default_rng(5)
    sx = np.sign(rng.standard_normal(16000)).astype(np.float32)
    spike = 0.01 * sx
    spike[8000] = 1.0                      # high crest factor: peak >> RMS after normalisation
    spec = sample_spec(rng, 16000, 16000, 16000, overlap=1.0)
    spec.speech_gain_db = spec.singing_gain_db = spec.music_gain_db = 2.0
    big = render(spec, spike, sx * 0.1, sx)
    assert big["scale"] < 1.0
    assert np.max(np.abs(big["mixture"])) == pytest.approx(0.99, abs=1e-5)
    assert np.allclose(big["mixture"], big["speech"] + big["singing"] + big["music"], atol=1e-6)
    assert 20 * np.log10(rms(big["speech"]) / rms(big["music"])) == pytest.approx(0.0, abs=1e-3)
    assert rms(big["music"]) == pytest.approx(REF_RMS * 10 ** (2 / 20) * big["scale"], rel=1e-4)


def test_placement_rules_and_bad_sources():
    rng = np.random.default_rng(0)
    assert place(0.0, 100, 50, rng) in ((0, 100, 150), (50, 0, 150))
    so, go, n = place(1.0, 30, 100, rng)
    assert n == 100 and go == 0 and 0 <= so <= 70
    with pytest.raises(MixError, match="x.wav: silent"):
        check_source(np.zeros(16000, np.float32), "x.wav")
    with pytest.raises(MixError, match="y.wav: too short"):
        check_source(np.ones(100, np.float32), "y.wav")


def test_music_loops_to_cover():
    rng = np.random.default_rng(1)
    mx = _src(rng, 1000, 0.5)
    spec = sample_spec(rng, 16000, 16000, len(mx), overlap=0.0)
    out = render(spec, _src(rng, 16000, .1), _src(rng, 16000, .1), mx)
    m = out["music"]
    assert len(m) == 32000 and np.allclose(m[:1000], m[1000:2000])
