"""Token stitching at piece borders: no duplicated or dropped words."""
import numpy as np
import pytest

from test_decode_helpers import LoudTokenASR, ScaleSeparator, tiny_engine
from jrsv.decode.pipeline import DecodeConfig
from jrsv.decode.stitching import PieceTokens, naive_concat, stitch_tokens
from jrsv.decode.transcriber import Transcriber
from jrsv.decode.vad import VadConfig

WORDS = {100: 11, 400: 12, 800: 13, 1148: 14, 1200: 15, 1400: 16}  # global frame -> token


def _piece(start: int, end: int, own_start: int, own_end: int) -> PieceTokens:
    """Everything a piece [start, end) hears, with times relative to its start (enc frames)."""
    heard = [(f, t) for f, t in sorted(WORDS.items()) if start <= f < end]
    return PieceTokens(start, own_start, own_end, [t for _, t in heard],
                       [(f - start) // 4 for f, _ in heard])


def test_overlapping_pieces_naive_duplicates_stitch_does_not():
    # two 20 s pieces overlapping by 2 s (125 frames): [0, 1250) and [1124, 2374)
    a = _piece(0, 1250, 0, 1187)
    b = _piece(1124, 2374, 1187, 2374)
    assert naive_concat([a, b]) == [11, 12, 13, 14, 15, 14, 15, 16]   # words in overlap twice
    merged = stitch_tokens([b, a])
    assert [t.token for t in merged] == [11, 12, 13, 14, 15, 16]
    assert [t.frame for t in merged] == sorted(WORDS)


def test_three_pieces_and_word_exactly_on_border():
    a = PieceTokens(0, 0, 1188, [20], [297])        # frame 1188 -> not owned by a
    b = PieceTokens(1124, 1188, 2000, [20], [16])   # 1124 + 64 = 1188 -> owned by b
    c = PieceTokens(1900, 2000, 3000, [], [])
    merged = stitch_tokens([a, b, c])
    assert [(t.token, t.frame) for t in merged] == [(20, 1188)]


def test_overlapping_owned_regions_rejected():
    with pytest.raises(ValueError, match="owned regions overlap"):
        stitch_tokens([PieceTokens(0, 0, 100, [], []), PieceTokens(50, 90, 200, [], [])])


def test_long_stream_pieces_count_every_burst_once():
    """45 s of noise bursts (one 'word' per burst, 0.5 s period) in 20 s pieces overlapping 2 s:
    each burst is recognised exactly once although the pieces overlap."""
    sr, period, on = 16000, 0.5, 0.25
    n_bursts = 90
    rng = np.random.default_rng(0)
    audio = np.zeros(int(n_bursts * period * sr), np.float32)
    for i in range(n_bursts):
        s = int((i * period + 0.1) * sr)
        audio[s:s + int(on * sr)] = 0.3 * rng.standard_normal(int(on * sr))
    engine = tiny_engine(ScaleSeparator(1.0, 0.0), LoudTokenASR(token=2, threshold=-4.0))
    cfg = DecodeConfig(window_sec=10, overlap_sec=2, vad=VadConfig(max_frames=1250,
                                                                   overlap_frames=125))
    tr = Transcriber.from_engine(engine, cfg)
    result = tr.transcribe(audio, sr)
    assert result.singing == []
    assert len(result.speech) >= 3                        # pieces of one long segment
    starts = [s.start for s in result.speech]
    assert starts == sorted(starts)
    tokens = [tok for seg in result.speech for tok in seg.tokens]
    assert len(tokens) == n_bursts
    times = np.array([t.time for t in tokens])
    expected = np.arange(n_bursts) * period + 0.1
    assert np.abs(times - expected).max() < 0.1
