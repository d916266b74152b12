"""Streaming STFT/iSTFT and windowed separation with cross-fade: an identity separator
reconstructs its input exactly (no seam)."""
import numpy as np
import soundfile as sf
import torch

from test_decode_helpers import ScaleSeparator, TinyASR, tiny_engine
from jrsv.decode.pipeline import DecodeConfig
from jrsv.decode.stft_stream import StreamingIstft, StreamingStft
from jrsv.decode.transcriber import Transcriber
from jrsv.decode.windowing import WindowedSeparation, crossfade_weights


def _stream_stft(x: torch.Tensor, block: int) -> torch.Tensor:
    s = StreamingStft()
    frames = [s.push(b) for b in x.split(block)] + [s.finish()]
    return torch.cat(frames)


def test_streaming_stft_matches_torch_stft_and_inverts():
    x = torch.randn(16000 * 3 + 123)
    spec = _stream_stft(x, 1777)
    ref = torch.stft(x, 1024, 256, 1024, torch.hann_window(1024), center=True,
                     return_complex=True).T
    assert spec.shape == ref.shape
    assert torch.allclose(spec, ref, atol=1e-4)
    inv = StreamingIstft()
    y = torch.cat([inv.push(c) for c in spec.split(41)] + [inv.finish(x.numel())])
    assert y.shape == x.shape
    assert torch.allclose(y, x, atol=1e-5)


def test_crossfade_weights_sum_to_one():
    w = crossfade_weights(125)
    assert torch.allclose(w + w.flip(0), torch.ones(125))
    assert (w.diff() > 0).all()


def _separate_all(x: torch.Tensor, window: int, overlap: int, separator) -> tuple:
    stft, ws = StreamingStft(), WindowedSeparation(window, overlap)
    jobs, chunks = [], []
    for b in x.split(5000):
        jobs += ws.push(stft.push(b))
    jobs += ws.push(stft.finish())
    jobs += ws.finish()
    for job in jobs:
        chunks.append(ws.accept(job, separator(job)))
    tail = ws.flush()
    chunks += [tail] if tail is not None else []
    return jobs, chunks


def test_identity_separator_crossfade_reconstructs_input_exactly():
    torch.manual_seed(0)
    for seconds in (10.0, 13.7, 2.1, 0.05):
        x = torch.randn(int(seconds * 16000)) * 0.1
        jobs, chunks = _separate_all(x, 100, 30, lambda j: {"speech": j.mag, "singing": 0.5 * j.mag})
        starts = [c.start for c in chunks]
        assert starts == sorted(starts)
        spec = torch.cat([c.mix for c in chunks])
        speech = torch.cat([c.heads["speech"] for c in chunks])
        ref = torch.stft(x, 1024, 256, 1024, torch.hann_window(1024), center=True,
                         return_complex=True, pad_mode="reflect" if x.numel() > 512 else "constant").T
        assert spec.shape == ref.shape, seconds
        assert torch.allclose(speech, ref.abs(), atol=1e-5)
        assert torch.allclose(torch.cat([c.heads["singing"] for c in chunks]), 0.5 * ref.abs(), atol=1e-5)
        if seconds > 5:
            assert len(jobs) > 3                            # several overlapping windows


def test_crossfade_blends_disagreeing_windows_without_jump():
    """Windows output constants k (window index): stitched values move from k to k+1 linearly."""
    x = torch.randn(16000 * 3)
    _, chunks = _separate_all(x, 100, 40, lambda j: {"speech": torch.full_like(j.mag, float(j.index)),
                                                     "singing": j.mag})
    v = torch.cat([c.heads["speech"][:, 0] for c in chunks])
    assert v[0] == 0 and abs(float(v[-1]) - float(v.max())) < 1e-6
    assert float(v.diff().abs().max()) <= 1 / 40 + 1e-6


def test_session_stems_identity_reconstruct_input(tmp_path):
    rng = np.random.default_rng(0)
    x = (0.1 * rng.standard_normal(16000 * 23)).astype(np.float32)
    tr = Transcriber.from_engine(tiny_engine(ScaleSeparator(1.0, 0.25), TinyASR()),
                                 DecodeConfig(window_sec=4, overlap_sec=1))
    tr.transcribe(x, 16000, stems_dir=tmp_path)
    speech, sr = sf.read(tmp_path / "audio.speech.wav", dtype="float32")
    singing, _ = sf.read(tmp_path / "audio.singing.wav", dtype="float32")
    assert sr == 16000 and speech.shape == x.shape
    assert np.abs(speech - x).max() < 1e-5
    assert np.abs(singing - 0.25 * x).max() < 1e-5
    assert not list(tmp_path.glob("*.tmp"))
