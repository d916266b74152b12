"""Corpus readers on generated layouts (incl. a .tar.gz speaker) and audio I/O errors."""
import numpy as np
import pytest
import soundfile as sf

from jrsv.data.aishell import read_aishell
from jrsv.data.audio import AudioError, load_audio, save_audio
from jrsv.data.kaldi_dir import read_kaldi_dir, write_kaldi_dir
from jrsv.data.musdb import cached_music, load_music, read_musdb
from jrsv.data.opensinger import read_opensinger, singer_split
from jrsv.data.records import ReadReport
from jrsv.data.toy import make_aishell, make_musdb, make_opensinger


def test_load_audio_stereo_resample_and_errors(tmp_path):
    x = np.stack([np.full(4410, 0.2), np.full(4410, 0.4)], 1).astype(np.float32)
    sf.write(tmp_path / "s.wav", x, 44100, subtype="FLOAT")
    y = load_audio(tmp_path / "s.wav")
    assert y.dtype == np.float32 and abs(len(y) - 1600) <= 1
    assert abs(float(np.median(y)) - 0.3) < 1e-3
    (tmp_path / "bad.wav").write_bytes(b"RIFF0000garbage")
    with pytest.raises(AudioError, match="bad.wav"):
        load_audio(tmp_path / "bad.wav")
    sf.write(tmp_path / "empty.wav", np.zeros(0, np.float32), 16000)
    with pytest.raises(AudioError, match="empty.wav: empty"):
        load_audio(tmp_path / "empty.wav")
    sf.write(tmp_path / "nan.wav", np.array([0, np.nan, 0], np.float32), 16000, subtype="FLOAT")
    with pytest.raises(AudioError, match="nan.wav"):
        load_audio(tmp_path / "nan.wav")
    save_audio(tmp_path / "o" / "a.wav", y)
    assert np.array_equal(load_audio(tmp_path / "o" / "a.wav"), y)
    assert [p.name for p in (tmp_path / "o").iterdir()] == ["a.wav"]


def test_aishell_dirs_tar_and_untranscribed(tmp_path):
    rng = np.random.default_rng(0)
    make_aishell(tmp_path, rng, {"train": ["S0002", "S0003"], "dev": ["S0724"]}, utts=2,
                 sec=(0.3, 0.4), tar_speakers=("S0003",))
    tr = tmp_path / "data_aishell/transcript/aishell_transcript_v0.8.txt"
    lines = tr.read_text(encoding="utf-8").splitlines()
    tr.write_text("\n".join(l for l in lines if "S0002W0121" not in l) + "\n", encoding="utf-8")
    rep = ReadReport()
    utts = read_aishell(str(tmp_path), "train", cache_dir=str(tmp_path / "c"), report=rep)
    assert [u.id for u in utts] == ["BAC009S0002W0122", "BAC009S0003W0121", "BAC009S0003W0122"]
    assert all(" " not in u.text and len(u.text) == 6 for u in utts)
    assert utts[1].speaker == "S0003" and load_audio(utts[1].path).size > 0
    assert len(rep.untranscribed) == 1 and rep.untranscribed[0].endswith("BAC009S0002W0121.wav")
    dev = read_aishell(str(tmp_path / "data_aishell"), "dev", with_duration=True)
    assert len(dev) == 2 and all(0.3 <= u.duration <= 0.4 for u in dev)


def test_opensinger_split_and_missing_txt(tmp_path):
    rng = np.random.default_rng(1)
    make_opensinger(tmp_path, rng, {"ManRaw": ["0", "26"], "WomanRaw": ["3", "47"]}, segs=2,
                    sec=(0.2, 0.3))
    (tmp_path / "OpenSinger/ManRaw/0_song0/0_song0_1.txt").unlink()
    rep = ReadReport()
    train = read_opensinger(str(tmp_path), "train", rep)
    test = read_opensinger(str(tmp_path), "test")
    assert {u.speaker for u in test} == {"Man_26", "Woman_47"}
    assert {u.speaker for u in train} == {"Man_0", "Woman_3"} and len(train) == 3
    assert rep.untranscribed[0].endswith("0_song0_1.wav")
    assert train[0].id == "Man_0_song0_0"
    (tmp_path / "OpenSinger/WomanRaw/3_song0/3_song0_0.wav").write_bytes(b"junk")
    rep2 = ReadReport()
    dur = read_opensinger(str(tmp_path), "train", rep2, with_duration=True)
    assert len(dur) == 2 and "3_song0_0.wav" in rep2.bad[0] and dur[0].duration > 0.19
    # hash rule without the fixed singers: deterministic and singer-disjoint
    keys = {f"Man_{i}" for i in range(100)}
    s = [singer_split(k, keys) for k in sorted(keys)]
    assert s == [singer_split(k, keys) for k in sorted(keys)] and {"train", "dev", "test"} <= set(s)


def test_musdb_music_sum_and_cache(tmp_path):
    rng = np.random.default_rng(2)
    make_musdb(tmp_path, rng, {"train": 2}, sec=0.5)
    (tmp_path / "train/Artist 1 - Track train1/bass.wav").unlink()
    rep = ReadReport()
    tracks = read_musdb(str(tmp_path), "train", rep)
    assert len(tracks) == 1 and "bass" in rep.missing_audio[0]
    x = load_music(tracks[0])
    ref = sum(sf.read(tracks[0].stems[s], dtype="float32")[0].mean(1)
              for s in ("drums", "bass", "other"))
    assert abs(len(x) - 8000) <= 1 and abs(np.sqrt(np.mean(x ** 2)) - np.sqrt(np.mean(ref ** 2))) < 0.01
    c1 = cached_music(tracks[0], str(tmp_path / "cache"))
    c2 = cached_music(tracks[0], str(tmp_path / "cache"))
    assert np.array_equal(c1, x) and np.array_equal(c2, x)
    assert len(list((tmp_path / "cache").glob("*.npy"))) == 1


def test_kaldi_dir_roundtrip(tmp_path):
    rng = np.random.default_rng(3)
    make_aishell(tmp_path, rng, {"dev": ["S0724"]}, utts=2, sec=(0.2, 0.3))
    utts = read_aishell(str(tmp_path), "dev")
    write_kaldi_dir(utts, str(tmp_path / "kd"))
    with open(tmp_path / "kd" / "wav.scp", "a") as f:
        f.write("extra /nowhere.wav\n")
    rep = ReadReport()
    back = read_kaldi_dir(str(tmp_path / "kd"), rep)
    assert back == utts and rep.untranscribed == ["/nowhere.wav"]
    with pytest.raises(FileNotFoundError, match="text"):
        read_kaldi_dir(str(tmp_path))
