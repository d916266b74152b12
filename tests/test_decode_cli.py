"""`jrsv decode` / `jrsv export` command line: outputs, formats, bad inputs, exit status."""
import json
import re

import numpy as np
import pytest
import yaml

from test_decode_helpers import LoudTokenASR, ScaleSeparator, tiny_engine, tone, write_audio
from jrsv.bin.main import main
from jrsv.decode.engine import DecodeEngine
from jrsv.decode.formats import Segment, to_srt, to_vtt

SRT_TIME = r"\d{2}:\d{2}:\d{2},\d{3}"
VTT_TIME = r"\d{2}:\d{2}:\d{2}\.\d{3}"


def _seconds(ts: str) -> float:
    h, m, s = ts.replace(",", ".").split(":")
    return int(h) * 3600 + int(m) * 60 + float(s)


def validate_subtitles(text: str, vtt: bool) -> list[tuple[float, float, str]]:
    """Check SRT/VTT structure: header (vtt), cue numbers 1..N, well-formed ordered times."""
    if vtt:
        assert text.startswith("WEBVTT\n\n")
        text = text[len("WEBVTT\n\n"):]
    t = VTT_TIME if vtt else SRT_TIME
    cues = [c for c in text.strip("\n").split("\n\n") if c]
    out = []
    for i, cue in enumerate(cues, 1):
        lines = cue.split("\n")
        assert lines[0] == str(i), cue
        m = re.fullmatch(f"({t}) --> ({t})", lines[1])
        assert m, lines[1]
        a, b = _seconds(m.group(1)), _seconds(m.group(2))
        assert a <= b
        assert len(lines) >= 3 and lines[2].strip()
        out.append((a, b, "\n".join(lines[2:])))
    starts = [c[0] for c in out]
    assert starts == sorted(starts)
    return out


def test_srt_vtt_formatting():
    segs = [Segment(3661.5, 3662.25, "b"), Segment(1.0, 2.0004, "a"), Segment(5, 6, "")]
    srt = to_srt(segs)
    assert srt.startswith("1\n00:00:01,000 --> 00:00:02,000\na\n\n2\n01:01:01,500 --> 01:01:02,250\nb\n")
    assert [c[2] for c in validate_subtitles(srt, vtt=False)] == ["a", "b"]
    assert len(validate_subtitles(to_vtt(segs), vtt=True)) == 2


@pytest.fixture
def fake_model(monkeypatch, tmp_path):
    """`--model` loads a tiny engine: the separator keeps the mixture as speech and removes
    singing; the scripted ASR emits a confident token on loud frames."""
    seen = []

    def load(model_dir, device="cpu", beam_size=1):
        seen.append((str(model_dir), device, beam_size))
        return tiny_engine(ScaleSeparator(1.0, 0.0), LoudTokenASR(threshold=-100.0))
    monkeypatch.setattr(DecodeEngine, "from_model_dir", staticmethod(load))
    return seen


def _bursts(seconds: float, sr: int) -> np.ndarray:
    x = tone(seconds, sr=sr, amp=0.2)
    x[: int(0.5 * sr)] = 0
    return x


@pytest.mark.parametrize("fmt", ["json", "txt", "srt", "vtt"])
def test_decode_formats(tmp_path, fake_model, fmt, capsys):
    wav = write_audio(tmp_path / "clip.wav", _bursts(4.0, 16000))
    out = tmp_path / "out"
    rc = main(["decode", str(wav), "--model", "M", "--format", fmt, "--output-dir", str(out),
               "--quiet", "--window-sec", "2", "--overlap-sec", "0.5"])
    assert rc == 0
    assert "1 of 1 input(s) decoded, 0 failed" in capsys.readouterr().err
    if fmt == "json":
        d = json.loads((out / "clip.json").read_text())
        assert d["speech"] and d["singing"] == [] and abs(d["duration"] - 4.0) < 1e-3
        seg = d["speech"][0]
        assert 0.2 < seg["start"] < seg["end"] <= 4.0 and seg["text"] and seg["tokens"]
    elif fmt == "txt":
        txt = (out / "clip.txt").read_text()
        assert txt.startswith(f"# source: {wav}\n[speech]\n") and "[singing]" in txt
    else:
        speech = validate_subtitles((out / f"clip.speech.{fmt}").read_text(), vtt=fmt == "vtt")
        singing = validate_subtitles((out / f"clip.singing.{fmt}").read_text(), vtt=fmt == "vtt")
        assert speech and singing == []
    assert not list(out.glob("*.tmp"))


def test_batch_with_bad_inputs_exit_status_and_summary(tmp_path, fake_model, capsys):
    d = tmp_path / "in"
    d.mkdir()
    write_audio(d / "good.flac", tone(3.0, sr=44100, channels=2), 44100)
    write_audio(d / "good2.ogg", tone(2.0, sr=22050), 22050, format="OGG", subtype="VORBIS")
    write_audio(d / "empty.wav", np.zeros(0, np.float32))
    (d / "garbage.wav").write_bytes(b"not audio at all" * 10)
    nan = tone(2.0)
    nan[100] = np.nan
    write_audio(d / "nan.wav", nan, subtype="FLOAT")
    out = tmp_path / "out"
    rc = main(["decode", str(d), str(tmp_path / "missing.wav"), "--model", "M", "--output-dir",
               str(out), "--batch-size", "3", "--quiet", "--write-stems", str(tmp_path / "stems")])
    err = capsys.readouterr().err
    assert rc == 4, err
    lines = err.strip().splitlines()
    for name, words in [("empty.wav", "empty audio"), ("garbage.wav", "cannot read"),
                        ("nan.wav", "NaN"), ("missing.wav", "cannot read")]:
        hits = [l for l in lines if name in l]
        assert len(hits) == 1 and words in hits[0] and hits[0].startswith("jrsv decode: error:")
    assert lines[-1] == "jrsv decode: 2 of 6 input(s) decoded, 4 failed"
    assert sorted(p.name for p in out.iterdir()) == ["good.json", "good2.json"]
    assert sorted(p.name for p in (tmp_path / "stems").iterdir()) == [
        "good.singing.wav", "good.speech.wav", "good2.singing.wav", "good2.speech.wav"]


def test_exit_status_capped(tmp_path, fake_model, capsys):
    files = [str(tmp_path / f"nope{i}.wav") for i in range(130)]
    assert main(["decode", *files, "--model", "M", "--quiet"]) == 125
    assert "0 of 130 input(s) decoded, 130 failed" in capsys.readouterr().err


def test_stdin_live_pcm(monkeypatch, fake_model, capsys):
    import io
    import sys
    x = _bursts(3.0, 48000)
    pcm = (np.stack([x, x], 1) * 32767).astype("<i2").tobytes()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(pcm)))
    rc = main(["decode", "-", "--model", "M", "--stdin-rate", "48000", "--stdin-channels", "2",
               "--format", "json", "--window-sec", "2", "--overlap-sec", "0.5"])
    out = capsys.readouterr().out.strip().splitlines()
    assert rc == 0 and out
    first = json.loads(out[0])
    assert first["track"] == "speech" and first["text"]


def _write_config(d, **changes):
    conf = {"format_version": 1, "kind": "jrsv", "mtass": {}, "asr": {}}
    conf.update(changes)
    d.mkdir(parents=True, exist_ok=True)
    (d / "config.yaml").write_text(yaml.safe_dump(conf))
    (d / "units.txt").write_text("<blank> 0\na 1\n")


@pytest.mark.parametrize("problem,words", [
    ("missing_model_pt", "missing model.pt"),
    ("format_version", "format_version is 99"),
    ("no_dir", "not a directory"),
])
def test_bad_model_dir_one_line_error(tmp_path, capsys, problem, words):
    wav = write_audio(tmp_path / "a.wav", tone(1.0))
    model = tmp_path / "model"
    if problem == "missing_model_pt":
        _write_config(model)
    elif problem == "format_version":
        _write_config(model, format_version=99)
        (model / "model.pt").write_bytes(b"")
    rc = main(["decode", str(wav), "--model", str(model), "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2
    assert len(err) == 1 and words in err[0] and str(model) in err[0]


def test_unwritable_stems_dir_is_refused_before_decoding(tmp_path, fake_model, capsys):
    wav = write_audio(tmp_path / "a.wav", _bursts(2.0, 16000))
    blocker = tmp_path / "stems"
    blocker.write_text("a file, not a directory")
    rc = main(["decode", str(wav), "--model", "M", "--output-dir", str(tmp_path / "o"),
               "--write-stems", str(blocker), "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1
    assert "cannot write there" in err[0] and str(blocker) in err[0]
    assert not fake_model  # refused before the model was even loaded
