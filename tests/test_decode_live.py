"""Live decoding: context windows, partial/final caption events, latency in audio time, bounded
memory, `jrsv decode -` output and `jrsv bench-live`'s measurement."""
import io
import json
import sys

import numpy as np
import pytest
import torch

from test_decode_helpers import LoudTokenASR, ScaleSeparator, tiny_engine, tone
from jrsv.bin import bench_live
from jrsv.bin.main import main
from jrsv.decode.engine import DecodeEngine
from jrsv.decode.live import LiveConfig, LiveDecoder
from jrsv.decode.live_windows import ContextWindows
from jrsv.decode.vad import VadConfig


def _engine():
    return tiny_engine(ScaleSeparator(1.0, 0.0), LoudTokenASR(threshold=-100.0))


def _bursts(spec, sr=16000):
    """[(seconds, loud?)] -> tone bursts separated by silence."""
    return np.concatenate([tone(s, sr=sr, amp=0.2) if loud else np.zeros(int(s * sr), np.float32)
                           for s, loud in spec])


@pytest.mark.parametrize("pushes", [[7] * 40, [1, 50, 3, 90, 2, 2, 100], [300]])
def test_context_windows_cover_every_frame_once_with_context(pushes):
    """An identity 'separator' returns each frame exactly once, in order; each window holds the
    requested context before and lookahead after its kept frames (where the stream has them)."""
    frames = torch.randn(sum(pushes), 4, dtype=torch.complex64)
    w = ContextWindows(hop=8, context=16, lookahead=8)
    got, pos = [], 0
    for n in pushes:
        jobs = w.push(frames[pos:pos + n])
        pos += n
        for job in jobs:
            assert job.keep_from == min(16, job.start + job.keep_from)  # context where available
            after = job.mag.size(0) - job.keep_from - job.keep
            assert after == 8  # lookahead frames before the end of the stream
            chunk = w.accept(job, {"speech": job.mag})
            assert torch.equal(chunk.heads["speech"], chunk.mix.abs())
            got.append(chunk)
        assert w._mix.size(0) <= 16 + 8 + 8 + n  # bounded: context + hop + lookahead + push
    for job in w.finish():
        got.append(w.accept(job, {"speech": job.mag}))
    assert torch.equal(torch.cat([c.mix for c in got]), frames)
    assert [c.start for c in got] == list(np.cumsum([0] + [c.num_frames for c in got[:-1]]))


def test_context_windows_catch_up_in_one_window():
    w = ContextWindows(hop=8, context=16, lookahead=8, max_keep=64)
    jobs = w.push(torch.randn(200, 4, dtype=torch.complex64))
    # everything with lookahead after it, in windows of at most max_keep kept frames
    assert [j.keep for j in jobs] == [64, 64, 64] and jobs[0].mag.size(0) == 64 + 8
    assert jobs[1].mag.size(0) == 16 + 64 + 8
    with pytest.raises(ValueError):
        ContextWindows(hop=0, context=1, lookahead=1)


def _run(decoder, audio, block=1600):
    """Push 0.1 s blocks; -> [(seconds pushed when emitted, event)]."""
    out = []
    for i in range(0, len(audio), block):
        out += [(min(len(audio), i + block) / 16000, e) for e in decoder.push(audio[i:i + block])]
    out += [(len(audio) / 16000, e) for e in decoder.finish()]
    return out


def test_partials_then_one_final_per_caption_within_the_latency_budget():
    audio = _bursts([(0.5, False), (3.0, True), (1.5, False), (2.0, True), (2.0, False)])
    events = _run(LiveDecoder(_engine(), LiveConfig(min_confidence=0.5)), audio)
    finals = [(t, e) for t, e in events if e.type == "final"]
    assert [e.track for _, e in finals] == ["speech", "speech"]
    assert len({e.id for _, e in finals}) == 2
    for t_emit, f in finals:
        mine = [(t, e) for t, e in events if e.id == f.id]
        assert mine[-1][1] is f and all(e.type == "partial" for _, e in mine[:-1])
        assert len(mine) >= 2  # a partial while it is sung (repeats of the same text are not sent)
        assert mine[0][0] < f.end  # the first partial comes before the segment ends
        # audio-time latency: VAD end detection (0.48 s - 0.256 s pad) + hop + lookahead + block
        assert 0 < t_emit - f.end <= 0.224 + 0.5 + 0.5 + 0.1 + 0.02, (t_emit, f)
        assert f.text and f.start == round(f.start, 3) and f.end == round(f.end, 3)
    (a, _), (b, _) = [(e.start, e.end) for _, e in finals]
    assert 0.2 < a < 0.5 and 4.6 < b < 5.0  # burst onsets minus the 0.256 s VAD padding
    assert not [e for _, e in events if e.track == "singing"]  # the separator removed it


def test_gate_withdraws_a_shown_partial_with_an_empty_final():
    """Partials pass a low gate but the final does not: the final withdraws the caption."""
    audio = _bursts([(0.5, False), (2.0, True), (1.5, False)])
    dec = LiveDecoder(_engine(), LiveConfig(min_confidence=0.5))
    events = []
    for i in range(0, len(audio), 1600):
        if i == 16000 * 2:
            dec.config.min_confidence = 1.01  # nothing passes from now on
        events += dec.push(audio[i:i + 1600])
    events += dec.finish()
    assert events[0].type == "partial" and events[-1].type == "final"
    assert events[-1].text == "" and events[-1].id == events[0].id


def test_long_segment_is_cut_and_memory_stays_bounded():
    """A 70 s continuous voice: pieces of at most max_frames are finalised as it goes; the
    buffers do not grow with the stream."""
    vad = VadConfig(max_frames=625, overlap_frames=60)  # 10 s pieces
    engine = tiny_engine(ScaleSeparator(1.0, 0.0), LoudTokenASR(threshold=-5.0))
    dec = LiveDecoder(engine, LiveConfig(vad=vad, partial_sec=2.0))
    x = _bursts([(0.3, True), (0.2, False)] * 140)  # syllables with short gaps: one segment
    finals, sizes = [], []
    for i in range(0, len(x), 8000):
        finals += [e for e in dec.push(x[i:i + 8000]) if e.type == "final"]
        buf = dec.segmenters["speech"]._buf
        sizes.append((dec.windows._mix.size(0), 0 if buf is None else buf.size(0)))
    assert len(finals) >= 6  # finalised while the voice goes on, not at the end
    assert max(s[0] for s in sizes) <= 63 + 32 + 32 + 32
    assert max(s[1] for s in sizes) <= 625 + 32
    ends = [e.end for e in finals]
    assert ends == sorted(ends) and all(b.start >= a.start for a, b in zip(finals, finals[1:]))


def test_live_decoder_resamples_and_rejects_nan():
    dec = LiveDecoder(_engine(), sample_rate=48000)
    dec.push(np.stack([tone(1.0, sr=48000)] * 2, 1))
    assert abs(dec.seconds - 1.0) < 0.05
    with pytest.raises(Exception, match="NaN"):
        dec.push(np.array([np.nan], np.float32))


@pytest.fixture
def fake_model(monkeypatch):
    monkeypatch.setattr(DecodeEngine, "from_model_dir",
                        staticmethod(lambda *a, **k: _engine()))


def _stdin(monkeypatch, audio, sr=16000):
    pcm = (audio * 32767).astype("<i2").tobytes()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(pcm)))


def test_stdin_default_output_is_caption_lines(monkeypatch, fake_model, capsys, tmp_path):
    _stdin(monkeypatch, _bursts([(0.5, False), (2.0, True), (1.0, False), (2.0, True)]))
    assert main(["decode", "-", "--model", "M", "--output-dir", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2 and all(l.startswith("[speech] 00:00:0") for l in lines), lines
    assert " --> " in lines[0] and not lines[0].startswith("{")


def test_stdin_json_events_and_srt_files(monkeypatch, fake_model, capsys, tmp_path):
    audio = _bursts([(0.5, False), (2.0, True), (1.0, False)])
    _stdin(monkeypatch, audio)
    assert main(["decode", "-", "--model", "M", "--format", "json"]) == 0
    events = [json.loads(l) for l in capsys.readouterr().out.strip().splitlines()]
    assert {e["type"] for e in events} == {"partial", "final"}
    assert set(events[-1]) == {"type", "track", "id", "start", "end", "text", "confidence"}
    _stdin(monkeypatch, audio)
    assert main(["decode", "-", "--model", "M", "--format", "srt", "--output-dir",
                 str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("[speech] ")  # caption lines, not srt cues, on stdout
    assert "-->" in (tmp_path / "stdin.speech.srt").read_text()
    assert (tmp_path / "stdin.singing.srt").exists()


def test_bench_live_measures_latency_at_real_time_pace():
    audio = _bursts([(0.3, False), (1.2, True), (1.0, False)])
    events, wall = bench_live.run_live(LiveDecoder(_engine()), audio, 16000, block_sec=0.1)
    assert wall >= len(audio) / 16000 - 0.05  # fed at real-time pace
    lat = bench_live.latencies(events)
    assert len(lat["final"]) == 1 and 0 < lat["final"][0] < 2.0
    assert len(lat["first_partial"]) == 1 and 0 < lat["first_partial"][0] < 1.5
    s = bench_live.summary([1.0, 2.0, 3.0, 10.0])
    assert s["median"] == 2.5 and s["max"] == 10.0 and 3.0 < s["p95"] < 10.0


def test_bench_live_baseline_runs_the_windowed_pipeline():
    from jrsv.decode.pipeline import DecodeConfig
    audio = _bursts([(0.3, False), (1.2, True), (1.0, False)])
    events, wall = bench_live.run_windowed(_engine(), DecodeConfig(window_sec=4, overlap_sec=1),
                                           audio, 16000, block_sec=0.1)
    assert [e.type for _, e in events] == ["final"] and events[0][1].track == "speech"
    assert wall >= len(audio) / 16000 - 0.05


def test_live_commands_let_openmp_threads_sleep(monkeypatch):
    from jrsv.bin import main as cli
    for command, argv, want in [("serve", ["serve"], "PASSIVE"),
                                ("bench-live", ["bench-live"], "PASSIVE"),
                                ("decode", ["decode", "-"], "PASSIVE"),
                                ("decode", ["decode", "a.wav"], None)]:
        monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
        cli._live_threads(command, argv)
        assert __import__("os").environ.get("OMP_WAIT_POLICY") == want, command
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")  # the user's choice is kept
    cli._live_threads("serve", ["serve"])
    assert __import__("os").environ["OMP_WAIT_POLICY"] == "ACTIVE"
