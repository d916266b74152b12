"""Silence-only or music-only input gives empty tracks, not hallucinated text."""
import numpy as np

from test_decode_helpers import LoudTokenASR, ScaleSeparator, TinyASR, tiny_engine, tone
from jrsv.decode.pipeline import DecodeConfig
from jrsv.decode.transcriber import Transcriber


def _transcribe(audio, separator, asr, **cfg):
    return Transcriber.from_engine(tiny_engine(separator, asr), DecodeConfig(**cfg)).transcribe(
        audio, 16000)


def _music(seconds: float) -> np.ndarray:
    return sum(tone(seconds, freq=f, amp=0.1, seed=i) for i, f in enumerate((220, 330, 440)))


def test_positive_control_loud_track_is_transcribed():
    r = _transcribe(_music(6.0), ScaleSeparator(1.0, 0.0), LoudTokenASR(threshold=-100.0))
    assert r.speech and r.speech[0].text and r.singing == []


def test_silence_gives_empty_tracks():
    silence = (1e-5 * np.random.default_rng(0).standard_normal(16000 * 12)).astype(np.float32)
    # an ASR that would emit a confident token on every frame
    r = _transcribe(silence, ScaleSeparator(1.0, 1.0), LoudTokenASR(threshold=-100.0))
    assert r.speech == [] and r.singing == []
    r = _transcribe(np.zeros(16000 * 5, np.float32), ScaleSeparator(1.0, 1.0),
                    LoudTokenASR(threshold=-100.0))
    assert r.speech == [] and r.singing == []


def test_music_only_gives_empty_tracks():
    """The separator removed the music (tracks 40 dB below the mixture): gated by energy
    relative to the mixture even though the audio is loud and the ASR would emit tokens."""
    r = _transcribe(_music(12.0), ScaleSeparator(0.01, 0.01), LoudTokenASR(threshold=-100.0))
    assert r.speech == [] and r.singing == []


def test_low_ctc_confidence_gives_empty_tracks():
    """Loud separated tracks but an ASR with diffuse posteriors (random tiny model): dropped by
    the minimum CTC confidence."""
    r = _transcribe(_music(8.0), ScaleSeparator(1.0, 1.0), TinyASR(), min_confidence=0.5)
    assert r.speech == [] and r.singing == []
    r = _transcribe(_music(8.0), ScaleSeparator(1.0, 1.0), TinyASR(), min_confidence=0.0)
    assert r.speech and r.singing            # the same text is there without the gate


def test_a_track_emptied_by_the_confidence_gate_says_so(caplog):
    """Every piece below the gate: the track is empty and a warning says why (the gate, not
    silence), with how to keep them; silence (nothing recognised) gives no such note."""
    import logging
    with caplog.at_level(logging.WARNING, logger="jrsv.decode.transcriber"):
        r = _transcribe(_music(8.0), ScaleSeparator(1.0, 1.0), TinyASR(), min_confidence=0.99)
    assert r.speech == [] and r.singing == []
    notes = [m for m in caplog.messages if "below the confidence gate 0.99" in m]
    assert len(notes) == 2 and any(": speech: all " in m for m in notes)
    assert all("DecodeConfig(min_confidence=0) keeps them" in m for m in notes)
    caplog.clear()
    silence = np.zeros(16000 * 5, np.float32)
    with caplog.at_level(logging.WARNING, logger="jrsv.decode.transcriber"):
        _transcribe(silence, ScaleSeparator(1.0, 1.0), TinyASR(), min_confidence=0.99)
    assert not [m for m in caplog.messages if "confidence gate" in m]
