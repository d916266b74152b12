"""Live decoding: segments come out while the stream is still running."""
import numpy as np

from test_decode_helpers import LoudTokenASR, ScaleSeparator, tiny_engine
from jrsv.decode.pipeline import DecodeConfig
from jrsv.decode.transcriber import Transcriber


def test_transcribe_stream_emits_segments_before_the_end():
    sr, block = 48000, 4800                     # 0.1 s blocks at 48 kHz
    rng = np.random.default_rng(0)
    consumed = []

    def blocks():
        for i in range(600):                    # 60 s: 1 s of noise every 5 s, silence between
            consumed.append(i)
            t = i * block / sr
            loud = (t % 5.0) < 1.0
            yield (0.2 * rng.standard_normal(block) * loud).astype(np.float32)

    tr = Transcriber.from_engine(tiny_engine(ScaleSeparator(0.0, 1.0), LoudTokenASR()),
                                 DecodeConfig(window_sec=4, overlap_sec=1))
    seen = []
    for track, seg in tr.transcribe_stream(blocks(), sample_rate=sr):
        seen.append((len(consumed), track, seg))
    assert [tr for _, tr, _ in seen] == ["singing"] * 12
    starts = np.array([s.start for _, _, s in seen])
    assert np.abs(starts - np.maximum(0.0, np.arange(12) * 5.0 - 0.256)).max() < 0.1
    # the first segment (0-1 s) was final long before the 60 s stream ended
    assert seen[0][0] < 120
    assert all(n2 >= n1 for (n1, _, _), (n2, _, _) in zip(seen, seen[1:]))
