"""Data paths are passed in (config keys), the recipe's layout under ``data.dir`` is only the
default: DataPaths resolution, and the training mixtures built from files kept anywhere."""
from __future__ import annotations

from pathlib import Path

import pytest

from dtssvd import build
from jrsv.data.aishell import read_aishell
from jrsv.data.data_paths import DataPaths
from jrsv.data.manifest import dumps_jsonl
from jrsv.data.musdb import music_split, read_musdb
from jrsv.data.opensinger import read_opensinger
from jrsv.data.toy import make_all
from jrsv.tasks import common
from jrsv.tasks.mixtures import mixture_sets


def test_defaults_under_dir_and_explicit_keys_win(tmp_path):
    d = DataPaths.from_config({"dir": "data"})
    assert d.source_list("speech", "train") == Path("data/sources/speech_train.jsonl")
    assert d.units == Path("data/units.txt") and d.cmvn("fbank") == Path("data/cmvn_fbank.json")
    assert d.dev_list == Path("data/dtssvd/dev.jsonl")
    assert d.music_cache == Path("data/dtssvd/cache/musdb")
    assert d.audio_cache == Path("data/cache/audio")
    assert DataPaths.from_config("data") == d == DataPaths.from_config(Path("data"))
    e = DataPaths.from_config({"dir": "data", "dev_list": "/lists/dev.jsonl", "units": "u.txt",
                               "cmvn_dir": "/stats"})
    assert e.dev_list == Path("/lists/dev.jsonl") and e.units == Path("u.txt")
    assert e.cmvn("logmag_mix") == Path("/stats/cmvn_logmag_mix.json")
    assert e.sources == d.sources


def test_a_key_without_dir_is_a_one_line_error():
    with pytest.raises(ValueError, match=r"^data config: sources is not set and there is no "
                                         r"data\.dir") as e:
        DataPaths.from_config({"units": "u.txt"})
    assert "\n" not in str(e.value)


@pytest.fixture(scope="module")
def scattered(tmp_path_factory):
    """Source lists, dev list and caches in unrelated directories, no data.dir."""
    root = tmp_path_factory.mktemp("scattered")
    corp = make_all(str(root / "corpora"), seed=0)
    assert build.main(["--aishell", corp["aishell"], "--opensinger", corp["opensinger"],
                       "--musdb", corp["musdb"], "--out", str(root / "lists"), "--seed", "1",
                       "--splits", "dev"]) == 0
    src = root / "elsewhere" / "src"
    src.mkdir(parents=True)
    rows = {"speech": read_aishell(corp["aishell"], "train", cache_dir=str(root / "ac")),
            "singing": read_opensinger(corp["opensinger"], "train"),
            "music": music_split(read_musdb(corp["musdb"], "train"), "train", "train")}
    for kind, items in rows.items():
        assert items, kind
        (src / f"{kind}_train.jsonl").write_bytes(dumps_jsonl(r.to_dict() for r in items))
    return {"sources": str(src), "dev_list": str(root / "lists" / "dev.jsonl"),
            "music_cache": str(root / "lists" / "cache" / "musdb"),
            "audio_cache": str(root / "cache3"), "units": str(root / "u.txt"),
            "cmvn_dir": str(root / "stats")}


def test_training_mixtures_from_files_passed_in(scattered):
    conf = {"seed": 0, "data": {**scattered, "epoch_size": 3, "batch_size": 2, "preload": False,
                                "crop_seconds": 1.0}}
    train, valid = mixture_sets(conf, with_text=False)
    ex = next(iter(train))
    assert ex["mixture"].shape == (16000,)
    assert len(valid) == sum(1 for _ in open(scattered["dev_list"])) > 0
    assert valid[0]["mixture"].ndim == 1
    assert Path(scattered["audio_cache"]).is_dir()  # the cache went where it was told
    assert len(common.sources(conf["data"], "music", "train")) > 0


def test_missing_dev_list_names_the_path(scattered, tmp_path):
    conf = {"data": {**scattered, "dev_list": str(tmp_path / "nope.jsonl"), "preload": False}}
    with pytest.raises(FileNotFoundError, match="nope.jsonl"):
        mixture_sets(conf, with_text=False)
