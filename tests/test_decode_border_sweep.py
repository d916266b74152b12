"""Words at every offset around every ASR-piece border are kept exactly once (issue 14).

A long input holds one continuous VAD segment (quiet noise, above the VAD floor but below the
scripted ASR's threshold), so the segmenter cuts it into overlapping pieces. One short loud
burst ("word") is placed ``offset`` STFT frames from every piece border (the middle of each
overlap), for every offset in -10..+10, under the default and two other window / piece
configurations. The scripted ASR emits one token per burst; after stitching every burst must be
recognised exactly once, at (about) its own time.
"""
import numpy as np
import pytest
import torch

from test_decode_helpers import LoudTokenASR, ScaleSeparator, tiny_engine
from jrsv.decode.pipeline import DecodeConfig
from jrsv.decode.stft_stream import HOP, StreamingStft
from jrsv.decode.stitching import PieceTokens, stitch_tokens
from jrsv.decode.transcriber import Transcriber
from jrsv.decode.vad import TrackSegmenter, VadConfig

SR = 16000
SECONDS = 64.0
CONFIGS = {
    "default": DecodeConfig(),
    "short-odd": DecodeConfig(window_sec=6.0, overlap_sec=1.1,
                              vad=VadConfig(max_frames=701, overlap_frames=50)),
    "long-odd": DecodeConfig(window_sec=13.0, overlap_sec=3.3,
                             vad=VadConfig(max_frames=999, overlap_frames=201)),
}


def _background(seconds: float = SECONDS) -> np.ndarray:
    rng = np.random.default_rng(1)
    return (0.003 * rng.standard_normal(int(seconds * SR))).astype(np.float32)


def _borders(audio: np.ndarray, cfg: DecodeConfig) -> list[int]:
    """STFT frames where one piece's owned region ends and the next one's begins."""
    stft = StreamingStft()
    frames = torch.cat([stft.push(torch.from_numpy(audio)), stft.finish()])
    seg = TrackSegmenter("speech", cfg.vad)
    mag = frames.abs()
    pieces = seg.push(0, mag, mag) + seg.finish()
    assert len({p.segment for p in pieces}) == 1, "background must be one VAD segment"
    return [p.own_end for p in pieces[:-1]]


def _with_words(audio: np.ndarray, centres: list[int]) -> np.ndarray:
    out = audio.copy()
    rng = np.random.default_rng(2)
    for f in centres:  # 6 hops of loud noise centred on STFT frame f: loud enough at any grid
        s = f * HOP - 3 * HOP  # phase for the scripted ASR, short enough for one token
        out[s:s + 6 * HOP] = 0.5 * rng.standard_normal(6 * HOP)
    return out


def test_smallest_case_from_the_issue():
    """Pieces 1,125 frames apart (not a multiple of 4) put one word on two grids; stitching
    cannot tell, so it must refuse such pieces instead of silently dropping the word."""
    a = PieceTokens(4500, 4563, 5688, [2], [297])   # peak at 4500 + 4*297 = 5688 (= a.own_end)
    b = PieceTokens(5625, 5688, 6251, [2], [15])    # peak at 5625 + 4*15 = 5685 (< b.own_start)
    with pytest.raises(ValueError, match="4-frame grid"):
        stitch_tokens([a, b])
    # the same word from grid-aligned pieces (1,124 frames apart) is kept exactly once
    a = PieceTokens(4500, 4563, 5687, [2], [297])   # 5688 -> b
    b = PieceTokens(5624, 5687, 6251, [2], [16])    # 5624 + 64 = 5688
    assert [(t.token, t.frame) for t in stitch_tokens([a, b])] == [(2, 5688)]


def test_vad_pieces_start_on_the_subsampling_grid():
    for cfg in CONFIGS.values():
        stft = StreamingStft()
        audio = _background()
        frames = torch.cat([stft.push(torch.from_numpy(audio)), stft.finish()]).abs()
        seg = TrackSegmenter("speech", cfg.vad)
        pieces = seg.push(0, frames, frames) + seg.finish()
        assert len(pieces) >= 3
        for a, b in zip(pieces, pieces[1:]):
            assert (b.start - a.start) % 4 == 0
            assert a.own_end == b.own_start and b.start < a.own_end
            assert b.start - a.start <= cfg.vad.max_frames - cfg.vad.overlap_frames
            assert a.mag.size(0) == cfg.vad.max_frames


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_words_around_every_border_kept_once(name):
    cfg = CONFIGS[name]
    background = _background()
    borders = _borders(background, cfg)
    assert len(borders) >= 2
    engine = tiny_engine(ScaleSeparator(1.0, 0.0), LoudTokenASR(token=2, threshold=0.0))
    cfg = DecodeConfig(cfg.window_sec, cfg.overlap_sec, min_confidence=0.0, vad=cfg.vad)
    lost = dup = 0
    for offset in range(-10, 11):
        centres = [b + offset for b in borders]
        result = Transcriber.from_engine(engine, cfg).transcribe(_with_words(background, centres),
                                                                 SR)
        assert result.singing == []
        frames = [round(tok.time * SR / HOP) for seg in result.speech for tok in seg.tokens]
        for c in centres:
            near = [f for f in frames if abs(f - c) <= 8]
            lost += not near
            dup += len(near) > 1
        extra = [f for f in frames if all(abs(f - c) > 8 for c in centres)]
        assert not extra, f"{name}, offset {offset}: tokens at frames {extra} match no word"
    assert (lost, dup) == (0, 0), f"{name}: {lost} words lost, {dup} duplicated"
