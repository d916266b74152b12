"""Tests for the synthetic mini-corpus generator (dtssvd.synth), tiny preset only."""
from __future__ import annotations

import filecmp
import json
import os
import random
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest

warnings.filterwarnings("ignore", message="pkg_resources is deprecated")

from dtssvd.synth import deps  # noqa: E402
from dtssvd.synth.config import preset  # noqa: E402
from dtssvd.synth.midi import MidiTrack  # noqa: E402
from dtssvd.synth import natural_text as nt  # noqa: E402
from dtssvd.synth.text import split_disjoint, to_pinyin  # noqa: E402

sf = pytest.importorskip("soundfile")

_TOOLS_OK = all(os.path.exists(p) for p in (deps.GCIN_OGG_DIR,)) and all(
    shutil.which(b) for b in ("espeak-ng", "fluidsynth"))
needs_tools = pytest.mark.skipif(not _TOOLS_OK, reason="espeak-ng / fluidsynth / gcin-voice not installed")


# ------------------------------------------------------------------ text ------------------
def test_numbers_are_read_out():
    assert nt.read_number("2048") == "二千零四十八"
    assert nt.read_number("10") == "十" and nt.read_number("105") == "一百零五"
    assert nt.read_number("20010") == "二万零十" and nt.read_number("100000") == "十万"
    assert nt.read_number("3", "5") == "三点五" and nt.read_number("50", "", "%") == "百分之五十"
    assert nt.read_number("0123") == "零一二三"  # leading zero: digit by digit
    assert nt.clean_sentence("2023年有3.5个人，来了！") == "二零二三年有三点五个人来了"


def test_cleaning_drops_latin_and_bounds_length():
    assert nt.clean_sentence("使用 ls 命令列出文件") is None  # Latin letters: skipped
    assert nt.clean_sentence("太短了") is None
    assert nt.clean_sentence("长" * 31) is None
    assert nt.split_sentences("第一句话在这里。第二句话\n接着写完！") == ["第一句话在这里", "第二句话接着写完"]
    long = "，".join(["这是一个很长的分句"] * 6) + "。"
    parts = nt.split_sentences(long)
    assert len(parts) >= 2 and all(len(p) <= nt.MAX_CHARS for p in parts) and "".join(parts) == long[:-1].replace("，", "")


def _docs():
    """A small fixed document set (no Debian package needed)."""
    base = ["今天天气很好我们去公园散步", "这个程序可以列出目录内容", "请保持礼貌并接受不同意见",
            "春天来了花开满山", "他在北京工作了十年", "文件系统需要定期检查"]
    docs = [nt.Document("chinese", i, "。".join(f"第{i}号{b}" for b in base)) for i in range(40)]
    docs += [nt.Document("tang300", i, "白日依山尽，黄河入海流。欲穷千里目，更上一层楼。") for i in range(10)]
    return docs


def test_pools_partition_documents_and_units_cover_text():
    pools = nt.build_pools(0, {"dev": 3, "test": 3}, {"dev": 1, "test": 1}, docs=_docs())
    assert pools.speech["dev"] and pools.speech["test"] and pools.speech["train"]
    train = set(pools.speech["train"])
    assert not train & set(pools.speech["dev"] + pools.speech["test"])
    units = set(pools.units)
    for split in ("train", "dev", "test"):
        assert all(set(s) <= units for s in pools.speech[split] + pools.lyric[split])
    assert nt.unit_coverage(pools.speech["train"], pools.units) == 1.0
    assert 0.0 <= pools.stats["bigram_overlap_test_train"]["speech"] <= 1.0


def test_coverage_units_and_bigram_overlap():
    text = ["甲" * 90, "乙" * 9, "丙"]
    assert nt.coverage_units(text, 0.99, min_units=1) == ["乙", "甲"]
    assert nt.coverage_units(text, 0.99, min_units=3) == ["丙", "乙", "甲"]
    assert nt.bigram_overlap(["甲乙丙"], ["甲乙"]) == 0.5


@pytest.mark.skipif(not os.path.isfile(os.path.join(nt.FORTUNES_DIR, "chinese")), reason="fortunes-zh missing")
def test_debian_text_sources_are_rich():
    """The issue's targets: >= 2,000 units covering 99 %, held-out text well under 96 % bigram overlap."""
    pools = nt.build_pools(777, nt.HELD_SPEECH, nt.HELD_LYRIC)
    assert len(pools.units) >= 2000
    assert nt.unit_coverage(pools.speech["train"] + pools.lyric["train"], pools.units) == 1.0
    assert len(pools.speech["train"]) > 20000 and len(pools.speech["test"]) >= 300
    assert pools.stats["bigram_overlap_test_train"]["speech"] < 0.85
    docs = pools.stats["documents"]["speech"]
    assert docs["dev"] > 0 and docs["test"] > 0


def test_split_disjoint():
    parts = split_disjoint(list(range(30)), [20, 5, 5])
    assert [len(p) for p in parts] == [20, 5, 5]
    assert to_pinyin("我的") == ["wo3", "de5"]


def test_voice_pool_holds_out_variants():
    from dtssvd.synth.speech import voice_pool, variant_split

    vs = variant_split(3)
    assert not set(vs["train"]) & (set(vs["dev"]) | set(vs["test"])) and not set(vs["dev"]) & set(vs["test"])
    train = voice_pool("train", 300, 3, revoice_prob=0.5)
    assert len({v.name for v in train}) == 300
    assert {v.gender for v in train} == {"M", "F"}
    assert 0.35 < sum(v.revoice is not None for v in train) / 300 < 0.65
    test = voice_pool("test", 8, 3)
    assert not {v.variant for v in test} & {v.variant for v in train}


def test_gcin_keys_tone_mapping():
    from dtssvd.synth.speech import pinyin_to_gcin_keys

    assert pinyin_to_gcin_keys("shuo1")[0] == "ㄕㄨㄛ"
    assert pinyin_to_gcin_keys("de5")[0] == "ㄉㄜ1"
    assert pinyin_to_gcin_keys("lv4")[0] == "ㄌㄩ4"
    assert pinyin_to_gcin_keys("xue2")[0] == "ㄒㄩㄝ2"


def test_midi_writer_header_and_events():
    tr = MidiTrack(120.0)
    tr.program(0, 33)
    tr.note(0, 40, 0.0, 1.0, 100)
    data = tr.to_bytes(end_beat=2.0)
    assert data[:4] == b"MThd" and data[14:18] == b"MTrk"
    assert int.from_bytes(data[18:22], "big") == len(data) - 22
    assert data.endswith(b"\xff\x2f\x00")


def test_missing_tool_error_names_package(monkeypatch):
    monkeypatch.setattr(deps.shutil, "which", lambda name: None)
    with pytest.raises(deps.MissingDependency, match="apt-get install fluidsynth"):
        deps.require_fluidsynth()
    with pytest.raises(deps.MissingDependency, match="gcin-voice"):
        deps.require_gcin("/nonexistent/gcin")


def test_preset_overrides():
    cfg = preset("mini", seed=5, music_seconds=3.0)
    assert cfg.seed == 5 and cfg.music_seconds == 3.0 and cfg.espeak_speakers["train"] >= 8
    with pytest.raises(ValueError):
        preset("huge")


def test_base_preset_plans_disjoint_splits_larger_than_mini():
    """The base corpora: 4x mini's sentences/voices, splits still disjoint (plan only)."""
    from dtssvd.synth import build_plan

    mini, base = build_plan(preset("mini", seed=777)), build_plan(preset("base", seed=777))
    sents = base.manifest["aishell"]["sentences"]
    assert len(sents["train"]) == 1600 > 3 * len(mini.manifest["aishell"]["sentences"]["train"])
    assert not set(sents["train"]) & (set(sents["dev"]) | set(sents["test"]))
    lyr = base.manifest["opensinger"]["lyrics"]
    assert len(lyr["train"]) == 192 and not set(lyr["train"]) & set(lyr["heldout"])
    assert not set(lyr["train"]) & set(sents["train"])  # natural lyric lines are not also read
    assert len(base.jobs) > 2.5 * len(mini.jobs)


def test_preset_name_recognises_a_manifest_config():
    import json

    from dtssvd.synth import preset_name

    for name in ("tiny", "mini", "base", "large"):
        conf = json.loads(json.dumps(preset(name, seed=3).to_dict()))  # as stored in the manifest
        conf.pop("workers")
        assert preset_name(conf) == name
    assert preset_name(preset("mini", utts_per_speaker=7).to_dict()) is None


# ------------------------------------------------------------------ audio units ---------------
@needs_tools
def test_singing_follows_melody_pitch():
    import pyworld as pw

    from dtssvd.synth.singing import analyse, make_melody, midi_to_hz, sing, singer_style
    from dtssvd.synth.speech import gcin_voices

    sr = 24000
    voice = gcin_voices()["3"]
    syls = ["ni3", "hao3", "ma1"]
    units = [analyse(voice.name, s, voice.syllable(s, sr), sr) for s in syls]
    rng = random.Random(0)
    for scale in ("major", "minor"):
        notes, _ = make_melody(syls * 4, rng, "F", key=0, tempo=100.0, scale=scale)
        steps = {int(n.midi) % 12 for n in notes}
        from dtssvd.synth.singing import SCALES
        assert steps <= set(SCALES[scale])
    rng = random.Random(0)
    notes, total = make_melody(syls, rng, "M", key=2, tempo=70.0)
    y = sing(units, notes, total, sr, singer_style(rng, "M", "M"), rng)
    assert len(y) == int(round(total * sr)) and np.isfinite(y).all()
    f0, t = pw.harvest(y.astype(np.float64), sr, frame_period=5.0)
    for n in notes:
        mid = (t > n.start + 0.3 * (n.end - n.start)) & (t < n.end - 0.1 * (n.end - n.start)) & (f0 > 0)
        assert mid.sum() > 5
        cents = 1200 * np.log2(np.median(f0[mid]) / midi_to_hz(n.midi))
        assert abs(cents) < 100, (n, cents)


# ------------------------------------------------------------------ whole corpora -------------
@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from dtssvd.synth import generate

    if not _TOOLS_OK:
        pytest.skip("Debian tools missing")
    out = tmp_path_factory.mktemp("tiny")
    man = generate(preset("tiny", seed=1, workers=2), str(out), progress=False)
    return out, man


def _read_transcript(out: Path):
    lines = (out / "data_aishell/transcript/aishell_transcript_v0.8.txt").read_text(encoding="utf-8").splitlines()
    return {ln.split(" ", 1)[0]: ln.split(" ", 1)[1] for ln in lines}


@needs_tools
def test_aishell_layout_and_disjoint_splits(tiny):
    out, man = tiny
    trans = _read_transcript(out)
    wavs = sorted((out / "data_aishell/wav").glob("*/*/*.wav"))
    assert len(wavs) == len(trans) == man["stats"]["aishell_utterances"] > 0
    speakers, texts = {}, {}
    for w in wavs:
        split, spk, utt = w.parts[-3], w.parts[-2], w.stem
        assert utt.startswith("BAC009" + spk + "W") and len(utt) == 16
        info = sf.info(str(w))
        assert (info.samplerate, info.channels, info.subtype) == (16000, 1, "PCM_16")
        assert info.duration > 0.5
        speakers.setdefault(split, set()).add(spk)
        texts.setdefault(split, set()).add(trans[utt].replace(" ", ""))
        assert " " in trans[utt]  # word-segmented
    assert set(speakers) == {"train", "dev", "test"}
    assert not (speakers["train"] & (speakers["dev"] | speakers["test"])) and not (speakers["dev"] & speakers["test"])
    assert not (texts["train"] & (texts["dev"] | texts["test"]))
    names = {v["name"] for v in man["aishell"]["speakers"].values()}
    assert {"gcin-3", "gcin-5"} <= names and any(n.startswith("espeak") for n in names)
    assert any(n.startswith("gcin-3-w") for n in names)  # a WORLD re-voicing of the real voice
    variant = {s: {v["name"].split("-")[1] for v in man["aishell"]["speakers"].values()
                   if v["split"] == s and v["name"].startswith("espeak")} for s in ("train", "dev", "test")}
    assert not variant["train"] & (variant["dev"] | variant["test"])  # held-out timbres
    units = set(man["text"]["unit_chars"])
    assert len(units) >= 2000
    assert all(set(t.replace(" ", "")) <= units for t in trans.values())


@needs_tools
def test_opensinger_layout_lab_and_heldout(tiny):
    out, man = tiny
    wavs = sorted((out / "OpenSinger").glob("*Raw/*/*.wav"))
    assert len(wavs) == man["stats"]["opensinger_segments"] > 0
    for w in wavs:
        raw, folder = w.parts[-3], w.parts[-2]
        assert raw in ("ManRaw", "WomanRaw")
        sid, song = folder.split("_", 1)
        assert w.stem.startswith(f"{sid}_{song}_") and w.stem.rsplit("_", 1)[1].isdigit()
        info = sf.info(str(w))
        assert (info.samplerate, info.channels, info.subtype) == (24000, 1, "PCM_16")
        text = w.with_suffix(".txt").read_text(encoding="utf-8").strip()
        lab = [ln.split() for ln in w.with_suffix(".lab").read_text(encoding="utf-8").splitlines()]
        assert len(lab) == len(text) and all(len(x) == 3 for x in lab)
        times = [(float(a), float(b)) for a, b, _ in lab]
        assert all(a < b for a, b in times) and all(times[i][1] <= times[i + 1][0] + 1e-9
                                                    for i in range(len(times) - 1))
        assert times[-1][1] <= info.duration
        assert [x[2] for x in lab] == to_pinyin(text)
    singers = man["opensinger"]["singers"]
    ly = man["opensinger"]["lyrics"]
    assert not set(ly["train"]) & set(ly["heldout"])
    tr_songs = {s for v in singers.values() if v["split"] == "train" for s in v["songs"]}
    ho_songs = {s for v in singers.values() if v["split"] != "train" for s in v["songs"]}
    assert tr_songs and ho_songs and not tr_songs & ho_songs
    units = set(man["text"]["unit_chars"])
    assert all(set(x) <= units for x in ly["train"] + ly["heldout"])
    tr_voice = {v["name"] for v in singers.values() if v["split"] == "train"}
    ho_voice = {v["name"] for v in singers.values() if v["split"] != "train"}
    assert not tr_voice & ho_voice
    # the corpus reader's singer-disjoint split finds the generator's held-out singers
    from jrsv.data.opensinger import read_opensinger
    split_of = {sp: {u.speaker for u in read_opensinger(str(out), sp)} for sp in ("train", "dev", "test")}
    assert split_of["dev"] and split_of["test"] and split_of["train"]
    for key, v in singers.items():
        raw, sid = key.split("/")
        assert f"{'Man' if raw == 'ManRaw' else 'Woman'}_{sid}" in split_of[v["split"]]


@needs_tools
def test_musdb_layout_and_mixture_is_sum(tiny):
    out, man = tiny
    tracks = sorted((out / "musdb18hq").glob("*/*"))
    assert {t.parent.name for t in tracks} == {"train", "test"}
    assert len(tracks) == man["stats"]["musdb_tracks"]
    for t in tracks:
        assert " - " in t.name
        stems = {}
        for name in ("mixture", "drums", "bass", "other", "vocals"):
            x, sr = sf.read(str(t / f"{name}.wav"), dtype="int16")
            assert sr == 44100 and x.ndim == 2 and x.shape[1] == 2
            stems[name] = x.astype(np.int32)
        total = stems["drums"] + stems["bass"] + stems["other"] + stems["vocals"]
        assert np.array_equal(total, stems["mixture"])
        if t.name in man["musdb_recorded"]:  # a real recording: all of it in 'other'
            assert np.abs(stems["other"]).max() > 1000 and not stems["drums"].any() and not stems["vocals"].any()
        else:
            assert np.abs(stems["drums"]).max() > 1000 and np.abs(stems["bass"]).max() > 1000
    rec = man["musdb_recorded"]
    assert {n for n in rec if n in man["musdb"]["train"]} and {n for n in rec if n in man["musdb"]["test"]}
    files = {s: {rec[n]["file"] for n in man["musdb"][s] if n in rec} for s in ("train", "test")}
    assert not files["train"] & files["test"]  # test music never shares a recording with training
    assert not any(r["package"].startswith("wesnoth") for r in rec.values())
    assert not set(man["musdb"]["train"]) & set(man["musdb"]["test"])


@needs_tools
def test_deterministic_byte_identical(tiny, tmp_path):
    from dtssvd.synth import generate

    out, _ = tiny
    generate(preset("tiny", seed=1, workers=1), str(tmp_path), progress=False)
    files_a = sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    assert files_a == files_b
    _, mismatch, errors = filecmp.cmpfiles(out, tmp_path, [str(p) for p in files_a], shallow=False)
    assert not mismatch and not errors
    man = json.loads((tmp_path / "mini_corpora.json").read_text(encoding="utf-8"))
    assert man["config"]["seed"] == 1


@needs_tools
def test_corpus_stats(tiny, capsys):
    from dtssvd.synth import stats

    out, man = tiny
    st = stats.corpus_stats(str(out))
    assert st["speakers"]["train"] >= 3 and st["speakers"]["test"] >= 2 and st["singers"]["dev"] >= 1
    assert st["units"] >= 2000 and st["unit_coverage_of_used_text"] == 1.0
    assert 0 <= st["bigram_overlap_test_train"]["speech"] < 1
    assert st["utterances"] == man["stats"]["aishell_utterances"] and st["recorded_music_tracks"] == 2
    assert st["hours"]["speech"] > 0 and st["disk_mb"]["musdb18hq"] > 0
    assert stats.main([str(out), "--markdown"]) == 0 and "| units" in capsys.readouterr().out
    assert stats.main([str(out / "nope")]) == 1 and "not a finished generator run" in capsys.readouterr().err


@needs_tools
def test_interrupted_run_resumes_only_unfinished_jobs(tiny, tmp_path, monkeypatch):
    """A run killed part-way resumes: finished jobs are not redone, the result is byte-identical."""
    from dtssvd.synth import corpus, generate

    out, _ = tiny
    real, calls = corpus.run_job, []

    def flaky(job, o, cfg):
        calls.append(job.key)
        if len(calls) == 10:
            raise KeyboardInterrupt
        return real(job, o, cfg)

    monkeypatch.setattr(corpus, "run_job", flaky)
    with pytest.raises(KeyboardInterrupt):
        generate(preset("tiny", seed=1, workers=1), str(tmp_path), progress=False)
    assert not (tmp_path / "mini_corpora.json").exists()
    first = list(calls)
    calls.clear()
    monkeypatch.setattr(corpus, "run_job", lambda job, o, cfg: (calls.append(job.key), real(job, o, cfg))[1])
    generate(preset("tiny", seed=1, workers=1), str(tmp_path), progress=False)
    assert not set(first[:9]) & set(calls) and first[9] in calls
    files = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    _, mismatch, errors = filecmp.cmpfiles(out, tmp_path, files, shallow=False)
    assert not mismatch and not errors


@needs_tools
def test_cli_errors_and_small_run(tmp_path, capsys):
    from dtssvd.synth.cli import main

    assert main([str(tmp_path / "x"), "--music-tracks", "1,2,3"]) == 1
    assert "expected 2" in capsys.readouterr().err
    rc = main(["--out", str(tmp_path / "m"), "--only", "musdb", "--music-tracks", "1,0", "--music-seconds", "2",
               "--recorded-music", "1,0", "--no-progress", "--workers", "1"])
    assert rc == 0
    names = sorted(p.parent.name for p in (tmp_path / "m/musdb18hq/train").glob("*/mixture.wav"))
    assert len(names) == 2 and sum("(excerpt" in n for n in names) == 1  # one arrangement, one recording
    assert not (tmp_path / "m/OpenSinger").exists()
    capsys.readouterr()
    args = ["--out", str(tmp_path / "m"), "--only", "musdb", "--music-tracks", "1,0", "--music-seconds", "2",
            "--recorded-music", "1,0", "--no-progress", "--workers", "1"]
    assert main(args) == 0 and json.loads(capsys.readouterr().out)["skipped"] is True  # same config: skipped
    assert main(args + ["--force"]) == 0 and json.loads(capsys.readouterr().out)["skipped"] is False
