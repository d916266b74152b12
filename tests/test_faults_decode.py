"""Fault injection for `jrsv decode` and the Python API (issue 16, defects 2-4, 7-10).

Every case ends in a one-line error (or warning) naming the input, the other inputs of the batch
decode unchanged, the exit status counts the failures, and no partial or temp file stays.
Full disks are real (a small tmpfs) where the test may mount one.
"""
import fcntl
import io
import json
import os
import pickle
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

from fault_utils import MODEL, env1, fill, jrsv_cmd, leftovers, small_tmpfs
from test_decode_cli import _bursts, fake_model  # noqa: F401 (fixture)
from test_decode_helpers import LoudTokenASR, ScaleSeparator, tiny_engine, tone, write_audio
from jrsv.bin.decode import output_names
from jrsv.bin.main import main
from jrsv.decode.audio_stream import AudioError, iter_file_blocks
from jrsv.decode.transcriber import Transcriber
from jrsv.model_io import ModelDirError, load_model_dir

OPTS = ["--model", "M", "--quiet", "--window-sec", "2", "--overlap-sec", "0.5"]


def _decode(capsys, *args):
    rc = main(["decode", *args])
    cap = capsys.readouterr()
    assert "Traceback" not in cap.err
    return rc, cap.err.strip().splitlines(), cap.out


# -- 2: option validation ------------------------------------------------------------------
@pytest.mark.parametrize("value", ["0", "-3"])
def test_batch_size_zero_or_negative_is_refused_not_a_hang(tmp_path, value):
    """Before: `--batch-size 0` hung forever at 100 % CPU (the timeout catches that)."""
    wav = write_audio(tmp_path / "a.wav", tone(1.0))
    r = subprocess.run(jrsv_cmd("decode", str(wav), "--model", str(MODEL), "--batch-size", value,
                                "--output-dir", str(tmp_path / "o")),
                       capture_output=True, text=True, timeout=120, env=env1())
    assert r.returncode == 2, r.stderr
    assert r.stderr.strip().splitlines() == [
        f"jrsv decode: error: --batch-size must be >= 1, got {value}"]


@pytest.mark.parametrize("option,value", [
    ("--stdin-rate", "0"), ("--max-segment-sec", "0"), ("--window-sec", "0"),
    ("--window-sec", "nan"), ("--overlap-sec", "-1"), ("--beam-size", "0"),
    ("--min-confidence", "1.5"), ("--stdin-channels", "0"), ("--threads", "-1")])
def test_numeric_options_one_line_exit_2(tmp_path, fake_model, capsys, option, value):
    wav = write_audio(tmp_path / "a.wav", tone(1.0))
    rc, err, _ = _decode(capsys, str(wav), *OPTS, option, value)
    assert rc == 2 and len(err) == 1 and option in err[0] and err[0].startswith("jrsv decode: error:")
    assert not fake_model  # refused before loading the model


def test_python_api_batch_size_refused():
    with pytest.raises(ValueError, match="batch_size"):
        Transcriber.from_engine(tiny_engine(), batch_size=0).transcribe(tone(1.0), 16000)


# -- 3: failing stems ----------------------------------------------------------------------
def test_full_disk_for_stems_fails_that_input_only(tmp_path, fake_model, capsys):
    """Stems of a (1 s) and c (1 s) fit the 320 KB disk, b's (4 s) do not: b fails, its temp
    stems are removed (else c would not fit either), a and c are complete."""
    d = tmp_path / "in"
    d.mkdir()
    for name, sec in (("a", 1.0), ("b", 4.0), ("c", 1.0)):
        write_audio(d / f"{name}.wav", _bursts(sec, 16000))
    out = tmp_path / "out"
    with small_tmpfs(tmp_path / "stems", 320) as stems:
        rc, err, _ = _decode(capsys, str(d), *OPTS, "--output-dir", str(out),
                             "--write-stems", str(stems))
        assert rc == 1, err
        assert [l for l in err if "error" in l] == [
            l for l in err if str(d / "b.wav") in l and "No space left" in l]
        assert err[-1] == "jrsv decode: 2 of 3 input(s) decoded, 1 failed"
        assert sorted(p.name for p in out.iterdir()) == ["a.json", "c.json"]
        assert sorted(p.name for p in stems.iterdir()) == [
            "a.singing.wav", "a.speech.wav", "c.singing.wav", "c.speech.wav"]
        assert leftovers(out, stems) == []


def test_stem_writer_error_of_any_type_fails_that_input_only(tmp_path, fake_model, capsys,
                                                             monkeypatch):
    """libsndfile reports write errors as RuntimeError: before, it aborted the whole batch."""
    import soundfile as sf
    real = sf.SoundFile.write

    def write(self, data):
        if "b.speech" in self.name:
            raise RuntimeError("Error : unable to write (disk quota exceeded)")
        return real(self, data)

    monkeypatch.setattr(sf.SoundFile, "write", write)
    for name in "abc":
        write_audio(tmp_path / f"{name}.wav", _bursts(2.0, 16000))
    out, stems = tmp_path / "out", tmp_path / "stems"
    rc, err, _ = _decode(capsys, *(str(tmp_path / f"{n}.wav") for n in "abc"), *OPTS,
                         "--output-dir", str(out), "--write-stems", str(stems), "--batch-size", "2")
    assert rc == 1 and "b.wav" in err[0] and "disk quota" in err[0]
    assert sorted(p.name for p in out.iterdir()) == ["a.json", "c.json"]
    assert sorted(p.name for p in stems.iterdir()) == [
        "a.singing.wav", "a.speech.wav", "c.singing.wav", "c.speech.wav"]
    assert leftovers(out, stems) == []


def test_full_disk_for_transcripts(tmp_path, fake_model, capsys):
    wavs = [str(write_audio(tmp_path / f"{n}.wav", _bursts(1.0, 16000))) for n in "ab"]
    with small_tmpfs(tmp_path / "out", 64) as out:
        fill(out)
        rc, err, _ = _decode(capsys, *wavs, *OPTS, "--output-dir", str(out), "--format", "srt")
        assert rc == 2 and err[-1] == "jrsv decode: 0 of 2 input(s) decoded, 2 failed"
        assert all("cannot write output" in l and "No space left" in l for l in err[:2])
        assert sorted(p.name for p in out.iterdir()) == ["filler"]  # no half srt pair, no temp


def test_srt_pair_is_complete_or_absent(tmp_path, fake_model, capsys, monkeypatch):
    import jrsv.atomic
    real = jrsv.atomic.os.replace

    def replace(src, dst):
        if str(dst).endswith("a.singing.srt"):
            raise OSError(28, "No space left on device")
        return real(src, dst)

    monkeypatch.setattr(jrsv.atomic.os, "replace", replace)
    wavs = [str(write_audio(tmp_path / f"{n}.wav", _bursts(1.0, 16000))) for n in "ab"]
    out = tmp_path / "out"
    rc, err, _ = _decode(capsys, *wavs, *OPTS, "--output-dir", str(out), "--format", "srt")
    assert rc == 1 and "a.wav" in err[0]
    assert sorted(p.name for p in out.iterdir()) == ["b.singing.srt", "b.speech.srt"]


def test_unwritable_output_dir_refused_before_decoding(tmp_path, fake_model, capsys):
    wav = write_audio(tmp_path / "a.wav", tone(1.0))
    (tmp_path / "blocker").write_text("x")
    rc, err, _ = _decode(capsys, str(wav), *OPTS, "--output-dir", str(tmp_path / "blocker" / "o"))
    assert rc == 2 and len(err) == 1 and "cannot write there" in err[0] and not fake_model


def test_read_only_output_dir_refused_before_decoding(tmp_path, fake_model, capsys):
    wav = write_audio(tmp_path / "a.wav", tone(1.0))
    with small_tmpfs(tmp_path / "ro", 64) as ro:
        subprocess.run(["mount", "-o", "remount,ro", str(ro)], check=True)
        rc, err, _ = _decode(capsys, str(wav), *OPTS, "--output-dir", str(ro))
        assert rc == 2 and len(err) == 1 and "Read-only" in err[0] and not fake_model


# -- 4: silent overwrites -------------------------------------------------------------------
def test_same_stem_inputs_never_collide(tmp_path, fake_model, capsys):
    """Before: a.wav, a.flac and a_1.wav gave two files while "3 of 3 decoded" was reported."""
    d = tmp_path / "in"
    (d / "x").mkdir(parents=True)
    (d / "y").mkdir()
    paths = [write_audio(d / "a.wav", _bursts(1.0, 16000)),
             write_audio(d / "a.flac", _bursts(1.5, 16000)),
             write_audio(d / "a_1.wav", _bursts(2.0, 16000)),
             write_audio(d / "x" / "s.wav", _bursts(1.0, 16000)),
             write_audio(d / "y" / "s.wav", _bursts(1.0, 16000))]
    out = tmp_path / "out"
    rc, err, _ = _decode(capsys, *map(str, paths), *OPTS, "--output-dir", str(out))
    assert rc == 0 and err[-1] == "jrsv decode: 5 of 5 input(s) decoded, 0 failed"
    written = sorted(str(p.relative_to(out)) for p in out.rglob("*.json"))
    assert written == ["a.flac.json", "a.wav.json", "a_1.json", "x/s.json", "y/s.json"]
    sources = {json.loads(p.read_text())["source"] for p in out.rglob("*.json")}
    assert sources == set(map(str, paths))


def test_output_names_rules():
    assert output_names(["d/a.wav", "d/b.wav", "-"]) == ["a", "b", "stdin"]
    assert output_names(["d/a.wav", "d/A.flac"]) == ["a.wav", "A.flac"]
    with pytest.raises(ValueError, match="given more than once"):
        output_names(["d/a.wav", "d/a.wav"])
    with pytest.raises(ValueError, match="both be written"):
        output_names(["a.wav.flac", "a.wav", "a.mp3"])


def test_second_decode_into_the_same_dir_is_refused(tmp_path, fake_model, capsys):
    """Before: two concurrent runs into one directory interleaved their outputs."""
    wav = write_audio(tmp_path / "a.wav", tone(1.0))
    out = tmp_path / "out"
    out.mkdir()
    fd = os.open(out, os.O_RDONLY)  # what a running `jrsv decode` holds
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    try:
        rc, err, _ = _decode(capsys, str(wav), *OPTS, "--output-dir", str(out))
    finally:
        os.close(fd)
    assert rc == 2 and len(err) == 1 and "another jrsv decode" in err[0]
    assert list(out.iterdir()) == []
    rc, _, _ = _decode(capsys, str(wav), *OPTS, "--output-dir", str(out))
    assert rc == 0 and (out / "a.json").is_file()


# -- 7, 8: model directory and Python API shapes ---------------------------------------------
def test_units_shorter_than_vocab_refused(tmp_path, capsys):
    model = tmp_path / "m"
    shutil.copytree(MODEL, model)
    lines = (model / "units.txt").read_text(encoding="utf-8").splitlines()
    (model / "units.txt").write_text("\n".join(lines[:-5]) + "\n", encoding="utf-8")
    with pytest.raises(ModelDirError, match=f"units.txt has {len(lines) - 5} units but the ASR's "
                                            f"vocab_size is {len(lines)}"):
        load_model_dir(model)
    wav = write_audio(tmp_path / "a.wav", tone(1.0))
    rc, err, _ = _decode(capsys, str(wav), "--model", str(model), "--output-dir", str(tmp_path))
    assert rc == 2 and len(err) == 1 and "vocab_size" in err[0]


def test_malicious_model_pt_refused(tmp_path, capsys):
    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {tmp_path / 'pwned'}",))

    model = tmp_path / "m"
    shutil.copytree(MODEL, model)
    (model / "model.pt").write_bytes(pickle.dumps({"x": Evil()}))
    with pytest.raises(ModelDirError, match="cannot read model.pt"):
        load_model_dir(model)
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize("as_tensor", [False, True])
def test_channel_first_array_refused(as_tensor):
    """Before: a (2, n) array was read as 2 samples of n channels: an empty transcript."""
    t = Transcriber.from_engine(tiny_engine(ScaleSeparator(1.0, 0.0), LoudTokenASR(threshold=-100.0)))
    x = np.stack([_bursts(2.0, 16000)] * 2)  # (2, n)
    with pytest.raises(AudioError, match="channel-first"):
        t.transcribe(torch.from_numpy(x) if as_tensor else x, 16000)
    assert t.transcribe(x.T.copy(), 16000).speech  # (n, 2) is fine


# -- 9: interruption -----------------------------------------------------------------------
def _long_decode(tmp_path, seconds=240.0):
    wav = write_audio(tmp_path / "long.wav", tone(seconds, amp=0.2))
    out, stems = tmp_path / "out", tmp_path / "stems"
    proc = subprocess.Popen(jrsv_cmd("decode", str(wav), "--model", str(MODEL), "--output-dir",
                                     str(out), "--write-stems", str(stems), "--quiet"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env1())
    t0 = time.time()
    while not leftovers(stems):  # the stems are being written
        assert proc.poll() is None, proc.communicate()
        assert time.time() - t0 < 180
        time.sleep(0.05)
    return proc, out, stems


@pytest.mark.slow
@pytest.mark.parametrize("sig,rc", [(signal.SIGINT, 130), (signal.SIGTERM, 128 + 15)])
def test_signal_mid_write_leaves_nothing(tmp_path, sig, rc):
    proc, out, stems = _long_decode(tmp_path)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == rc, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert leftovers(out, stems) == [] and not list(stems.iterdir()) and not list(out.iterdir())


@pytest.mark.slow
def test_sigkill_mid_write_leaves_only_named_temps(tmp_path):
    """SIGKILL cannot be handled: the stems stay temp files (never a final name), and
    `jrsv.atomic.stale_temps` finds them."""
    from jrsv.atomic import stale_temps
    proc, out, stems = _long_decode(tmp_path)
    proc.kill()
    proc.communicate(timeout=60)
    left = stale_temps(stems)
    assert [p.name.split(".")[:2] for p in left] == [["long", "singing"], ["long", "speech"]]
    assert sorted(p.name for p in stems.iterdir()) == sorted(p.name for p in left)


# -- 10: tracebacks instead of one-line errors ------------------------------------------------
def test_closed_stdin_one_line(tmp_path):
    r = subprocess.run(jrsv_cmd("decode", "-", "--model", str(MODEL)), capture_output=True,
                       text=True, timeout=120, env=env1(), preexec_fn=lambda: os.close(0))
    assert r.returncode == 2 and r.stderr.strip().splitlines() == [
        "jrsv decode: error: '-' given but stdin is closed"]


def test_stdout_closed_by_reader_no_traceback(monkeypatch, fake_model, capsys):
    """`jrsv decode - | head -1`: the reader goes away after the first line."""
    x = _bursts(3.0, 16000)
    pcm = (np.concatenate([x, x, x]) * 32767).astype("<i2").tobytes()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(pcm)))

    class Head(io.StringIO):
        def write(self, s):
            raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(sys, "stdout", Head())
    monkeypatch.setattr("jrsv.bin.decode.quiet_broken_pipe", lambda: None)
    rc = main(["decode", "-", "--model", "M", "--window-sec", "2", "--overlap-sec", "0.5"])
    assert rc == 141 and "Traceback" not in capsys.readouterr().err


def test_missing_file_is_named(tmp_path, fake_model, capsys):
    rc, err, _ = _decode(capsys, str(tmp_path / "nope.wav"), *OPTS, "--output-dir", str(tmp_path))
    assert rc == 1 and err[0] == f"jrsv decode: error: {tmp_path / 'nope.wav'}: cannot read audio (no such file)"


@pytest.mark.parametrize("fmt,subtype,ext", [("WAV", "PCM_16", "wav"), ("WAV", "FLOAT", "wav"),
                                             ("FLAC", "PCM_16", "flac"), ("OGG", "VORBIS", "ogg"),
                                             ("MP3", "MPEG_LAYER_III", "mp3")])
def test_truncated_files_of_each_format(tmp_path, fake_model, capsys, caplog, fmt, subtype, ext):
    """Cut in half: the first part is decoded and a warning names the file (or, when nothing
    decodes, a one-line error); the other input of the batch is unaffected."""
    import soundfile as sf
    p = tmp_path / f"cut.{ext}"
    sf.write(str(p), _bursts(6.0, 16000), 16000, format=fmt, subtype=subtype)
    data = p.read_bytes()
    p.write_bytes(data[:len(data) // 2])
    good = write_audio(tmp_path / "good.wav", _bursts(2.0, 16000))
    out = tmp_path / "out"
    rc, err, _ = _decode(capsys, str(p), str(good), *OPTS, "--output-dir", str(out))
    assert (out / "good.json").is_file()
    if rc == 0:
        warned = [r.getMessage() for r in caplog.records if str(p) in r.getMessage()]
        assert len(warned) == 1 and "truncated" in warned[0], warned
        d = json.loads((out / "cut.json").read_text())
        assert 1.5 <= d["duration"] < 4.0 and d["speech"]
    else:
        assert rc == 1 and len([l for l in err if str(p) in l]) == 1
        assert "truncated or corrupt" in err[0]


def test_truncated_flac_keeps_the_decoded_part(tmp_path):
    import soundfile as sf
    p = tmp_path / "cut.flac"
    sf.write(str(p), tone(6.0), 16000, format="FLAC")
    data = p.read_bytes()
    p.write_bytes(data[:len(data) // 2])
    got = sum(len(b) for b in iter_file_blocks(p, block_sec=0.5)) / 16000
    assert 2.0 <= got < 3.2  # before: an error, nothing kept


# -- what already held: keep it so -----------------------------------------------------------
def test_bad_audio_kinds_one_line_each_rest_unchanged(tmp_path, fake_model, capsys):
    import soundfile as sf
    d = tmp_path / "in"
    d.mkdir()
    good = _bursts(2.0, 16000)
    write_audio(d / "good.wav", good)
    write_audio(d / "empty.wav", np.zeros(0, np.float32))
    (d / "header.wav").write_bytes((d / "empty.wav").read_bytes())
    (d / "random.wav").write_bytes(np.random.default_rng(0).bytes(5000))
    for name, bad in (("nan", np.nan), ("inf", np.inf)):
        x = good.copy()
        x[500] = bad
        write_audio(d / f"{name}.wav", x, subtype="FLOAT")
    ref_out = tmp_path / "ref"
    assert _decode(capsys, str(d / "good.wav"), *OPTS, "--output-dir", str(ref_out))[0] == 0
    out = tmp_path / "out"
    rc, err, _ = _decode(capsys, str(d), *OPTS, "--output-dir", str(out), "--batch-size", "3")
    assert rc == 5 and sum("error" in l for l in err) == 5
    ref = json.loads((ref_out / "good.json").read_text())
    got = json.loads((out / "good.json").read_text())
    assert got["speech"] == ref["speech"] and got["singing"] == ref["singing"]
    # other layouts of the same audio decode identically
    variants = {"six.wav": (np.repeat(good[:, None], 6, 1), "PCM_24"),
                "f64.wav": (good.astype(np.float64), "DOUBLE"), "lossless.flac": (good, "PCM_24"),
                "名字 ü.wav": (good, "FLOAT")}
    for name, (x, subtype) in variants.items():
        sf.write(str(tmp_path / name), x, 16000, subtype=subtype)
        o = tmp_path / ("o_" + name.split(".")[0])
        assert _decode(capsys, str(tmp_path / name), *OPTS, "--output-dir", str(o))[0] == 0
        v = json.loads(next(o.glob("*.json")).read_text())
        assert [s["text"] for s in v["speech"]] == [s["text"] for s in ref["speech"]], name
        assert all(abs(a["start"] - b["start"]) < 0.02 for a, b in zip(v["speech"], ref["speech"]))


def test_timestamps_rounded_to_the_millisecond():
    """Before: frame x 0.016 s leaked into the API and the formats (2159 x 0.016 =
    34.544000000000004)."""
    t = Transcriber.from_engine(tiny_engine(ScaleSeparator(1.0, 0.0), LoudTokenASR(threshold=-100.0)))
    x = tone(60.0, amp=0.2)
    gate = (np.arange(x.size) // int(0.7919 * 16000)) % 2 == 0  # bursts off the 16 ms grid
    tr = t.transcribe(x * gate, 16000)
    times = [v for s in tr.speech for v in (s.start, s.end, *(tok.time for tok in s.tokens))]
    assert len(tr.speech) > 20
    assert all(v == round(v, 3) for v in times), [v for v in times if v != round(v, 3)][:3]


def test_progress_lines_without_a_terminal(tmp_path, fake_model, capsys, monkeypatch):
    """Before: tqdm is silent when stderr is not a terminal (a log file, a batch job)."""
    monkeypatch.setattr("jrsv.progress.PLAIN_INTERVAL_SEC", 0.0)
    wavs = [str(write_audio(tmp_path / f"{n}.wav", _bursts(4.0, 16000))) for n in "ab"]
    rc = main(["decode", *wavs, "--model", "M", "--window-sec", "2", "--overlap-sec", "0.5",
               "--output-dir", str(tmp_path / "o")])
    err = capsys.readouterr().err.splitlines()
    lines = [l for l in err if l.startswith("jrsv decode: ") and "/8 s (" in l]
    assert rc == 0 and len(lines) >= 2 and "elapsed" in lines[-1], err
