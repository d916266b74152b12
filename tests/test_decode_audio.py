"""Audio input: formats, rates, channels, directories / list files, raw PCM, bad files."""
import io

import numpy as np
import pytest

from test_decode_helpers import tone, write_audio
from jrsv.decode.audio_stream import (AudioError, expand_inputs, iter_array_blocks,
                                      iter_file_blocks, iter_pcm_blocks)


def _read_all(blocks) -> np.ndarray:
    return np.concatenate(list(blocks))


@pytest.mark.parametrize("ext,sr,channels,kw", [
    ("flac", 44100, 2, {}),
    ("ogg", 22050, 1, {"format": "OGG", "subtype": "VORBIS"}),
    ("wav", 8000, 1, {"subtype": "PCM_16"}),
    ("wav", 16000, 3, {"subtype": "FLOAT"}),
])
def test_file_is_mono_16k(tmp_path, ext, sr, channels, kw):
    audio = tone(3.0, sr=sr, freq=300.0, channels=2 if channels == 2 else 1)
    if channels == 3:
        audio = np.stack([audio] * 3, 1)
    path = write_audio(tmp_path / f"x.{ext}", audio, sr, **kw)
    out = _read_all(iter_file_blocks(path, block_sec=0.7))
    assert out.dtype == np.float32 and out.ndim == 1
    assert abs(out.size - 48000) <= 2
    mono = audio.mean(1) if audio.ndim == 2 else audio
    assert abs(np.sqrt(np.mean(out ** 2)) - np.sqrt(np.mean(mono ** 2))) < 0.02


def test_mp3_if_supported(tmp_path):
    try:
        path = write_audio(tmp_path / "x.mp3", tone(2.0, sr=44100), 44100, format="MP3")
    except Exception:  # libsndfile without MP3 support
        pytest.skip("libsndfile cannot write mp3 here")
    out = _read_all(iter_file_blocks(path))
    assert abs(out.size - 32000) < 2000


def test_resampling_streaming_equals_one_shot():
    import soxr
    x = tone(5.0, sr=44100)
    blocks = _read_all(iter_array_blocks(x, 44100, block_sec=0.3))
    whole = soxr.resample(x, 44100, 16000)
    n = min(blocks.size, whole.size)
    assert abs(blocks.size - whole.size) <= 2
    assert np.abs(blocks[100:n - 100] - whole[100:n - 100]).max() < 1e-3


def test_raw_pcm_stdin_stereo_48k():
    x = tone(2.0, sr=48000, channels=2)
    pcm = (np.clip(x, -1, 1) * 32767).astype("<i2").tobytes()
    out = _read_all(iter_pcm_blocks(io.BytesIO(pcm), 48000, 2, block_sec=0.1))
    assert abs(out.size - 32000) <= 2


def test_bad_files_raise_one_line_errors_naming_the_file(tmp_path):
    empty = write_audio(tmp_path / "empty.wav", np.zeros(0, np.float32))
    garbage = tmp_path / "garbage.wav"
    garbage.write_bytes(b"RIFF????WAVEjunk" + bytes(100))
    nan = tone(1.0)
    nan[8000] = np.nan
    nan_path = write_audio(tmp_path / "nan.wav", nan, subtype="FLOAT")
    missing = tmp_path / "missing.flac"
    for path, words in [(empty, "empty"), (garbage, "cannot read"), (nan_path, "NaN"),
                        (missing, "cannot read")]:
        with pytest.raises(AudioError) as e:
            _read_all(iter_file_blocks(path))
        msg = str(e.value)
        assert str(path) in msg and words in msg and "\n" not in msg
    with pytest.raises(AudioError, match="empty"):
        _read_all(iter_pcm_blocks(io.BytesIO(b""), name="<stdin>"))


def test_expand_directories_and_list_files(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    for p in ["a/one.wav", "a/b/two.flac", "a/b/notes.txt", "three.ogg"]:
        (tmp_path / p).write_bytes(b"")
    lst = tmp_path / "list.txt"
    lst.write_text("# comment\nthree.ogg\n\na/b/two.flac\n")
    got = expand_inputs([str(tmp_path / "a"), f"@{lst}", "-", str(tmp_path / "nope.wav")])
    assert got == [str(tmp_path / "a/b/two.flac"), str(tmp_path / "a/one.wav"),
                   str(tmp_path / "three.ogg"), str(tmp_path / "a/b/two.flac"), "-",
                   str(tmp_path / "nope.wav")]
