"""Tests for dtssvd.synth.recorded_music: real game-soundtrack recordings as MUSDB stems.

Most tests use a small fake tree of Ogg files laid out like the Debian packages (``root=``);
``test_installed_packages`` reads the real packages, which ``make system-deps`` installs.
"""
from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys

import numpy as np
import pytest

from dtssvd.synth import recorded_music as rm
from dtssvd.synth.deps import MissingDependency

sf = pytest.importorskip("soundfile")


def _tone(seconds: float, sr: int, channels: int, f0: float) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    x = 0.3 * np.sin(2 * np.pi * f0 * t) * (1.0 + 0.5 * np.sin(2 * np.pi * 0.5 * t))
    return x if channels == 1 else np.stack([x, 0.8 * x], axis=1)


def _write(root, pkg_dir: str, rel: str, seconds: float, sr: int = 8000, channels: int = 2, f0: float = 220.0,
           subtype: str = "VORBIS", title: str = "") -> str:
    path = os.path.join(str(root), pkg_dir.lstrip("/"), rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with sf.SoundFile(path, "w", samplerate=sr, channels=channels, format="OGG", subtype=subtype) as f:
        if title:
            f.title = title
        f.write(_tone(seconds, sr, channels, f0))
    return path


@pytest.fixture(scope="module")
def fake_root(tmp_path_factory):
    """A tree with the four packages' layouts: short files at 8 kHz (fast to write and read)."""
    root = tmp_path_factory.mktemp("fake_root")
    dras, hyper = "/usr/share/scummvm/drascula/audio", "/usr/share/hyperrogue/music"
    sing, wz = "/usr/share/games/singularity/music", "/usr/share/games/warzone2100/music"
    _write(root, dras, "track1.ogg", 25.0, sr=22050, channels=1, f0=330.0)
    _write(root, dras, "track2.ogg", 21.0)
    _write(root, dras, "track12.ogg", 5.0)                      # jingle: skipped
    _write(root, hyper, "hr3-caves.ogg", 24.0, f0=440.0)
    _write(root, hyper, "hr-savino-ocean.ogg", 22.0)
    _write(root, sing, "Nebula.ogg", 30.0, title="Nebula")
    _write(root, sing, "win/Apex Aleph.ogg", 20.5, title="Apex Aleph")
    _write(root, sing, "Ballad.ogg", 26.0, title="Ballad with Vocals")  # vocal metadata: skipped
    for album, files in (("original_soundtrack", ["track1.opus"]), ("legacy_soundtrack", ["track4.opus"]),
                         ("aftermath_soundtrack", ["track17.opus", "menu_enhanced.opus"])):
        for name in files:
            _write(root, wz, f"albums/{album}/{name}", 21.0, sr=48000, subtype="OPUS")
        with open(os.path.join(str(root), wz.lstrip("/"), "albums", album, "album.json"), "w") as f:
            json.dump({"title": album, "tracks": [{"filename": n, "title": f"T {n}"} for n in files]}, f)
    _write(root, wz, "menu.opus", 21.0, sr=48000, subtype="OPUS")
    os.symlink(os.path.join(str(root), dras.lstrip("/"), "track2.ogg"),
               os.path.join(str(root), dras.lstrip("/"), "track99.ogg"))  # duplicate path: skipped
    return str(root)


def test_find_tracks_fake_tree(fake_root):
    tracks = rm.find_tracks(root=fake_root)
    rels = [(t.package, t.relpath) for t in tracks]
    assert rels == sorted(rels)
    by_pkg = {p: [t.relpath for t in tracks if t.package == p] for p in rm.package_names()}
    assert by_pkg["drascula-music"] == ["track1.ogg", "track2.ogg"]          # jingle + symlink skipped
    assert by_pkg["singularity-music"] == ["Nebula.ogg", "win/Apex Aleph.ogg"]  # vocal title skipped
    assert len(by_pkg["warzone2100-music"]) == 5 and len(by_pkg["hyperrogue-music"]) == 2
    groups = {t.relpath: t.group for t in tracks if t.package == "warzone2100-music"}
    assert groups["menu.opus"] == groups["albums/aftermath_soundtrack/menu_enhanced.opus"] == \
        groups["albums/original_soundtrack/track1.opus"] == "warzone2100-music/original_soundtrack"
    assert groups["albums/aftermath_soundtrack/track17.opus"] == "warzone2100-music/aftermath_soundtrack"
    t17 = next(t for t in tracks if t.relpath.endswith("track17.opus"))
    assert (t17.title, t17.artist, t17.licence) == ("T track17.opus", "LupusMechanicus", "CC-BY-SA-3.0+ or GPL-2+")
    hr = next(t for t in tracks if t.relpath == "hr3-caves.ogg")
    assert (hr.artist, hr.licence, hr.sample_rate, hr.channels) == ("Shawn Parrotte", "CC-BY-SA-3.0", 8000, 2)
    assert abs(hr.seconds - 24.0) < 0.01


def test_missing_packages_one_line_error(tmp_path):
    with pytest.raises(MissingDependency) as exc:
        rm.find_tracks(root=str(tmp_path))
    msg = str(exc.value)
    assert "\n" not in msg and str(tmp_path) in msg
    assert all(p in msg for p in rm.package_names()) and "install_system_deps.sh" in msg
    assert rm.find_tracks(root=str(tmp_path), required=False) == []


def test_bad_album_json_names_file(tmp_path):
    wz = tmp_path / "usr/share/games/warzone2100/music/albums/x"
    wz.mkdir(parents=True)
    (wz / "album.json").write_text('{"tracks": [{"filename": "a.opus"}]}')   # no title
    with pytest.raises(rm.RecordedMusicError, match=r"albums/x/album.json: unreadable album description"):
        rm.find_tracks(root=str(tmp_path))


def test_wesnoth_never_read(tmp_path):
    assert not any(p.name.startswith("wesnoth") for p in rm.PACKAGES)
    bad = rm.MusicPackage("wesnoth-1.16-music", "/usr/share/games/wesnoth/1.16/data/core/music", "*.ogg",
                          "GPL-2+", (("", "x"),))
    with pytest.raises(rm.RecordedMusicError, match="wesnoth"):
        rm.find_tracks(root=str(tmp_path), packages=(bad,))


def test_recorded_track_stems(fake_root):
    tracks = {t.relpath: t for t in rm.find_tracks(root=fake_root)}
    for rel, start in (("track1.ogg", 3.2), ("albums/legacy_soundtrack/track4.opus", 1.0), ("hr3-caves.ogg", 0.0)):
        stems = rm.recorded_track(tracks[rel].path, start, 4.0, random.Random(5))
        assert set(stems) == {"mixture", "drums", "bass", "other", "vocals"}
        for name, x in stems.items():
            assert x.shape == (4 * 44100, 2) and x.dtype == np.int16, (rel, name)
        summed = sum(stems[s].astype(np.int32) for s in ("drums", "bass", "other", "vocals"))
        assert np.array_equal(stems["mixture"].astype(np.int32), summed)
        assert not stems["drums"].any() and not stems["bass"].any() and not stems["vocals"].any()
        other = stems["other"].astype(np.float64) / 32767.0
        assert abs(other[0]).max() < 1e-3 and abs(other[-1]).max() < 1e-3   # faded in and out
        mid = other[len(other) // 4: 3 * len(other) // 4]
        assert np.sqrt(np.mean(mid ** 2)) > 10 ** (-30 / 20)                 # audible, not silence
        assert -30.0 < rm.excerpt_rms_db(stems) < -10.0 and np.abs(other).max() <= 0.891
    mono = rm.recorded_track(tracks["track1.ogg"].path, 3.2, 4.0, random.Random(5))["other"]
    assert np.array_equal(mono[:, 0], mono[:, 1])                           # mono file -> two equal channels


def test_recorded_track_deterministic_and_seeded(fake_root):
    path = next(t.path for t in rm.find_tracks(root=fake_root) if t.relpath == "Nebula.ogg")
    a = rm.recorded_track(path, 2.5, 3.0, random.Random(11))
    b = rm.recorded_track(path, 2.5, 3.0, random.Random(11))
    c = rm.recorded_track(path, 2.5, 3.0, random.Random(12))
    assert all(a[k].tobytes() == b[k].tobytes() for k in a)
    assert a["other"].tobytes() != c["other"].tobytes()                   # the rng sets fades and level


def test_recorded_track_padding_and_errors(fake_root, tmp_path):
    path = next(t.path for t in rm.find_tracks(root=fake_root) if t.relpath == "track2.ogg")
    stems = rm.recorded_track(path, 19.0, 4.0, random.Random(0))          # 2 s of audio, then silence
    other = stems["other"]
    assert other.shape == (4 * 44100, 2) and other[: 44100].any() and not other[int(2.1 * 44100):].any()
    with pytest.raises(rm.RecordedMusicError, match="track2.ogg.*past the end"):
        rm.recorded_track(path, 30.0, 1.0, random.Random(0))
    bad = tmp_path / "broken.ogg"
    bad.write_bytes(b"OggS not really")
    with pytest.raises(rm.RecordedMusicError, match="broken.ogg: unreadable audio"):
        rm.recorded_track(str(bad), 0.0, 1.0, random.Random(0))


def test_split_whole_units_disjoint_deterministic(fake_root):
    tracks = rm.find_tracks(root=fake_root)
    units = rm.split_units(tracks)
    assert len(units) == 6
    seen = set()
    for seed in range(6):
        sp = rm.split_tracks(tracks, seed=seed)
        assert sp == rm.split_tracks(list(reversed(tracks)), seed=seed)  # input order does not matter
        assert set(sp) == {"train", "dev", "test"} and all(sp.values())
        groups = {s: {t.group for t in ts} for s, ts in sp.items()}
        assert not (groups["train"] & groups["test"]) and not (groups["train"] & groups["dev"])
        assert not (groups["dev"] & groups["test"])
        assert len({t.package for t in sp["train"]}) >= 2                 # training keeps several sources
        paths = {s: {os.path.realpath(t.path) for t in ts} for s, ts in sp.items()}
        assert not (paths["train"] & (paths["test"] | paths["dev"]))
        assert sorted(t.path for ts in sp.values() for t in ts) == sorted(t.path for t in tracks)
        seen.add(tuple(sorted(groups["test"])))
    assert len(seen) > 1                                                   # the seed matters
    only_test = rm.split_tracks(tracks, seed=0, heldout=(("test", 0.3),))
    assert set(only_test) == {"train", "test"}
    for seed in range(8):  # large held-out fractions: the min_train_packages rule has to bind
        greedy = rm.split_tracks(tracks, seed, heldout=(("test", 0.45), ("dev", 0.35)))
        assert len({t.package for t in greedy["train"]}) >= 2 and greedy["test"] and greedy["dev"]
    assert len({t.package for t in rm.split_tracks(tracks, 0, min_train_packages=3)["train"]}) >= 3
    with pytest.raises(rm.RecordedMusicError, match="cannot fill"):
        rm.split_tracks([t for t in tracks if t.package == "drascula-music"], seed=0)


def test_split_independent_of_hash_seed(fake_root):
    code = ("import sys; from dtssvd.synth import recorded_music as rm; "
            "sp = rm.split_tracks(rm.find_tracks(root=sys.argv[1]), seed=3); "
            "ex = rm.plan_excerpts(sp['train'], 7, 5.0, __import__('random').Random(2)); "
            "print(sorted((s, t.relpath) for s, ts in sp.items() for t in ts), [(t.relpath, s) for t, s in ex])")
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(rm.__file__))))
    outs = set()
    for hash_seed in ("1", "2"):
        env = dict(os.environ, PYTHONHASHSEED=hash_seed)
        outs.add(subprocess.run([sys.executable, "-c", code, fake_root], capture_output=True, text=True,
                                env=env, check=True, cwd=repo).stdout)
    assert len(outs) == 1 and "train" in outs.pop()


def test_plan_excerpts_round_robin(fake_root):
    tracks = rm.find_tracks(root=fake_root)
    plan = rm.plan_excerpts(tracks, 2 * len(tracks) + 3, 5.0, random.Random(4))
    assert plan == rm.plan_excerpts(tracks, 2 * len(tracks) + 3, 5.0, random.Random(4))
    first, second = plan[: len(tracks)], plan[len(tracks): 2 * len(tracks)]
    assert sorted(t.path for t, _ in first) == sorted(t.path for t in tracks)   # each once per round
    assert sorted(t.path for t, _ in second) == sorted(t.path for t in tracks)
    assert all(0.0 <= s <= t.seconds - 5.0 for t, s in plan)
    with pytest.raises(rm.RecordedMusicError, match="empty"):
        rm.plan_excerpts([], 1, 5.0, random.Random(0))


def test_musdb_name_is_safe(fake_root):
    t = rm.find_tracks(root=fake_root)[0]
    odd = rm.RecordedTrack(t.package, t.group, t.path, t.relpath, 'a/b:c*"d', "AC/DC?", 30.0, 8000, 2, "x")
    name = rm.musdb_name(odd, 3)
    assert "/" not in name and ":" not in name and name.endswith("(excerpt 3)") and " - " in name


@pytest.mark.skipif(shutil.which("dpkg") is None, reason="not a Debian system: the music packages cannot exist")
def test_installed_packages():
    """The real packages (installed by tools/install_system_deps.sh): every package found, the
    default split disjoint by package/album, one excerpt of each split readable and audible."""
    tracks = rm.find_tracks()
    assert {t.package for t in tracks} == set(rm.package_names())
    assert len(tracks) >= 80 and sum(t.seconds for t in tracks) / 60 > 300
    assert not any("wesnoth" in t.path for t in tracks) and min(t.seconds for t in tracks) >= rm.MIN_SECONDS
    sp = rm.split_tracks(tracks, seed=0)
    groups = {s: {t.group for t in ts} for s, ts in sp.items()}
    assert not (groups["train"] & (groups["test"] | groups["dev"])) and not (groups["dev"] & groups["test"])
    for split, ts in sorted(sp.items()):
        (trk, start), = rm.plan_excerpts(ts, 1, 6.0, random.Random(1))
        stems = rm.recorded_track(trk.path, start, 6.0, random.Random(1))
        assert stems["mixture"].shape == (6 * 44100, 2) and rm.excerpt_rms_db(stems) > -40.0, (split, trk.path)


def test_written_track_read_by_musdb_reader(fake_root, tmp_path):
    """An excerpt written in the MUSDB layout is read back by the project's reader as music."""
    from dtssvd.synth.audio import write_wav
    from jrsv.data.musdb import load_music, read_musdb

    trk = next(t for t in rm.find_tracks(root=fake_root) if t.relpath == "hr3-caves.ogg")
    stems = rm.recorded_track(trk.path, 1.0, 2.0, random.Random(3))
    d = tmp_path / "musdb18hq" / "train" / rm.musdb_name(trk, 0)
    for name, x in stems.items():
        write_wav(str(d / f"{name}.wav"), x, 44100)
    (read,) = read_musdb(str(tmp_path / "musdb18hq"), "train")
    assert read.id == rm.musdb_name(trk, 0)
    music = load_music(read, 16000)                      # drums + bass + other, mono, 16 kHz
    assert music.shape == (32000,) and np.sqrt(np.mean(music ** 2)) > 1e-3
