"""Plan the three mini corpora (speakers, singers, songs, tracks, splits) and generate them.

The plan is a list of independent jobs, each with its own RNG seeded from (seed, job key), so
the output does not depend on the number of workers or the order the jobs run in.
"""
from __future__ import annotations

import json
import multiprocessing as mp
import os
import random
import shutil
import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from . import layout
from .audio import normalize_peak, write_wav
from .config import SynthConfig
from .music import STEMS, make_track
from .singing import analyse, lab_lines, make_melody, sing, singer_style
from .speech import EspeakVoice, GcinVoice, espeak_voices, gcin_voices
from .text import Sentence, make_sentences, split_disjoint

Voice = Union[EspeakVoice, GcinVoice]
SPLITS = ("train", "dev", "test")


@dataclass
class Job:
    """One unit of work (writes its own files)."""

    kind: str  # "speech", "sing" or "music"
    key: str  # unique, seeds the job's RNG
    args: Dict[str, Any] = field(default_factory=dict)


@dataclass
class Plan:
    jobs: List[Job]
    manifest: Dict[str, Any]
    transcript: List[str]


# ---------------------------------------------------------------- planning -----------------
def _voice_info(v: Voice) -> Dict[str, Any]:
    return {"name": v.name, "gender": v.gender}


def _covered(s: Sentence, voices: Sequence[GcinVoice]) -> bool:
    return all(v.covers(s.pinyin) for v in voices)


_ADJ_EN = ("Amber", "Silent", "Velvet", "Golden", "Paper", "Neon", "Hollow", "Crimson", "Electric", "Lunar",
           "Rusty", "Glass", "Wild", "Quiet", "Northern", "Broken", "Solar", "Blue", "Midnight", "Copper")
_NOUN_EN = ("Owls", "Rivers", "Lanterns", "Foxes", "Engines", "Tides", "Pilots", "Gardens", "Echoes", "Harbors",
            "Mirrors", "Comets", "Wolves", "Bridges", "Clouds", "Machines", "Sparrows", "Islands")
_TITLE_EN = ("Morning", "Road", "Letter", "Window", "Summer", "Signal", "Dance", "Shadow", "Promise", "Circle",
             "Rain", "Fire", "Horizon", "Station", "Dream", "Ocean", "Garden", "Lights")


def _music_names(n: int, seed: int) -> List[str]:
    """``n`` distinct ``Artist - Title`` names."""
    rng = random.Random(f"music-names-{seed}")
    names: List[str] = []
    while len(names) < n:
        name = (f"The {rng.choice(_ADJ_EN)} {rng.choice(_NOUN_EN)} - "
                f"{rng.choice(_ADJ_EN)} {rng.choice(_TITLE_EN)}")
        if name not in names and not any(name.split(" - ")[1] == x.split(" - ")[1] for x in names):
            names.append(name)
    return names


def _song_titles(n: int, seed: int) -> List[str]:
    """``n`` distinct Chinese song titles (2-4 characters)."""
    from .text import VOCAB

    rng = random.Random(f"song-titles-{seed}")
    titles: List[str] = []
    while len(titles) < n:
        t = rng.choice(VOCAB["LYRIC_ADJ"]) + rng.choice(("的", "")) + rng.choice(VOCAB["LYRIC_NOUN"])
        if t not in titles and len(t) <= 4:
            titles.append(t)
    return titles


def _plan_speech(cfg: SynthConfig, jobs: List[Job], man: Dict[str, Any], transcript: List[str]) -> None:
    sizes = [cfg.sentences[s] for s in SPLITS]
    pools = dict(zip(SPLITS, split_disjoint(make_sentences(sum(sizes), cfg.seed, "speech"), sizes)))
    n_esp = [cfg.espeak_speakers.get(s, 0) for s in SPLITS]
    esp = espeak_voices(sum(n_esp), cfg.seed)
    esp_by_split = dict(zip(SPLITS, split_disjoint(esp, n_esp)))  # type: ignore[arg-type]
    gcin = gcin_voices()
    man["aishell"] = {"speakers": {}, "sentences": {s: [x.text for x in pools[s]] for s in SPLITS}}
    for split in SPLITS:
        voices: List[Voice] = list(esp_by_split[split])
        voices += [gcin[k] for k, v in sorted(cfg.gcin_speaker_split.items()) if v == split]
        rng = random.Random(f"{cfg.seed}-speech-order-{split}")
        order = list(pools[split])
        rng.shuffle(order)
        cursor = 0
        for si, voice in enumerate(voices):
            spk = layout.aishell_speaker(split, si)
            man["aishell"]["speakers"][spk] = dict(_voice_info(voice), split=split)
            usable = order if isinstance(voice, EspeakVoice) else [s for s in order if voice.covers(s.pinyin)]
            if not usable:
                raise RuntimeError(f"no sentence of the {split} pool is covered by {voice.name}")
            for ui in range(cfg.utts_per_speaker):
                sent = usable[(cursor + ui) % len(usable)]
                utt = layout.aishell_utt_id(spk, ui)
                jobs.append(Job("speech", utt, {"split": split, "speaker": spk, "utt": utt, "voice": voice,
                                                "sentence": sent}))
                transcript.append(utt + " " + " ".join(sent.words))
            cursor += cfg.utts_per_speaker


def _singer_voices(cfg: SynthConfig) -> Dict[Tuple[str, str], List[Voice]]:
    """Source voices for (gender, "train"/"heldout") singers, all distinct and gender-matched.

    gcin-3 (male) is the first training male singer, gcin-5 (female) the first held-out female
    singer; the rest are espeak voices of the singer's gender, taken without replacement, distinct
    espeak variants (timbres) first, since WORLD replaces the pitch anyway.
    """
    space = espeak_voices(117, cfg.seed + 7919)
    gcin = gcin_voices()
    out: Dict[Tuple[str, str], List[Voice]] = {}
    for g in ("M", "F"):
        same = [v for v in space if v.gender == g]
        seen: set = set()
        first = [v for v in same if not (v.variant in seen or seen.add(v.variant))]  # one per timbre
        pool = iter(first + [v for v in same if v not in first])
        for part, n in (("train", cfg.singers_per_gender), ("heldout", cfg.heldout_singers_per_gender)):
            chosen: List[Voice] = [v for v in gcin.values() if v.gender == g
                                   and (part == "train") == (v.speaker == "3")][:n]
            try:
                chosen += [next(pool) for _ in range(n - len(chosen))]
            except StopIteration:
                raise ValueError(f"too many {g} singers: at most 45 female / 72 male espeak voices") from None
            out[(g, part)] = chosen
    return out


# Held-out singers take the IDs that jrsv.data.opensinger holds out of the real corpus
# (test: Man 26/27, Woman 46/47; dev: Man 25, Woman 45), so the same reader splits both.
HELDOUT_IDS = {"M": [(26, "test"), (25, "dev"), (27, "test")],
               "F": [(46, "test"), (45, "dev"), (47, "test")]}


def heldout_singer_id(gender: str, j: int) -> Tuple[int, str]:
    """(singer ID, split) of the j-th held-out singer of a gender."""
    ids = HELDOUT_IDS[gender]
    if j >= len(ids):
        raise ValueError(f"at most {len(ids)} held-out singers per gender")
    return ids[j]


def _plan_singing(cfg: SynthConfig, jobs: List[Job], man: Dict[str, Any], speech_texts: set) -> None:
    seg = cfg.segments_per_song
    need = (cfg.train_songs + cfg.heldout_songs) * seg
    gcin = list(gcin_voices().values())
    cands = make_sentences(need * 3 + 20, cfg.seed, "lyric", max_chars=12)
    lyrics = [s for s in cands if s.text not in speech_texts and _covered(s, gcin)][:need]
    if len(lyrics) < need:
        raise RuntimeError(f"only {len(lyrics)} usable lyric lines (need {need}); lower the song counts")
    train_lines, ho_lines = split_disjoint(lyrics, [cfg.train_songs * seg, cfg.heldout_songs * seg])
    titles = _song_titles(cfg.train_songs + cfg.heldout_songs, cfg.seed)
    rng = random.Random(f"{cfg.seed}-songs")
    songs = {"train": [], "heldout": []}  # type: Dict[str, List[Dict[str, Any]]]
    for i, title in enumerate(titles):
        part = "train" if i < cfg.train_songs else "heldout"
        lines = train_lines if part == "train" else ho_lines
        k = i if part == "train" else i - cfg.train_songs
        songs[part].append({"title": title, "lines": lines[k * seg:(k + 1) * seg],
                            "key": rng.randrange(12), "tempo": float(rng.randrange(66, 112, 2))})
    voices = _singer_voices(cfg)
    man["opensinger"] = {"singers": {}, "songs": {p: [s["title"] for s in songs[p]] for p in songs},
                         "lyrics": {"train": [x.text for x in train_lines], "heldout": [x.text for x in ho_lines]}}
    for g in ("M", "F"):
        for part in ("train", "heldout"):
            for j, voice in enumerate(voices[(g, part)]):
                sid, split = (j, "train") if part == "train" else heldout_singer_id(g, j)
                raw = "ManRaw" if g == "M" else "WomanRaw"
                chosen = [songs[part][(j * cfg.songs_per_singer + q) % len(songs[part])]
                          for q in range(min(cfg.songs_per_singer, len(songs[part])))]
                man["opensinger"]["singers"][f"{raw}/{sid}"] = dict(
                    _voice_info(voice), split=split, gender=g, songs=[s["title"] for s in chosen])
                for song in chosen:  # one job per (singer, song): syllable analyses are cached per process
                    jobs.append(Job("sing", f"sing-{g}-{sid}-{song['title']}", {
                        "gender": g, "singer": sid, "song": song["title"], "lines": song["lines"],
                        "voice": voice, "key": song["key"], "tempo": song["tempo"]}))


def _plan_music(cfg: SynthConfig, jobs: List[Job], man: Dict[str, Any]) -> None:
    splits = [s for s in ("train", "test") if cfg.music_tracks.get(s, 0) > 0]
    counts = [cfg.music_tracks[s] for s in splits]
    names = split_disjoint(_music_names(sum(counts), cfg.seed), counts)  # type: ignore[arg-type]
    man["musdb"] = {s: n for s, n in zip(splits, names)}
    for split, group in zip(splits, names):
        for name in group:
            jobs.append(Job("music", f"music-{name}", {"split": split, "name": name}))


def build_plan(cfg: SynthConfig) -> Plan:
    """All jobs, the manifest and the AISHELL transcript lines for a config."""
    jobs: List[Job] = []
    conf = cfg.to_dict()
    conf.pop("workers")  # the output does not depend on it
    man: Dict[str, Any] = {"config": conf}
    transcript: List[str] = []
    speech_jobs: List[Job] = []
    _plan_music(cfg, jobs, man)  # longest jobs first for load balance
    _plan_speech(cfg, speech_jobs, man, transcript)
    speech_texts = {t for v in man["aishell"]["sentences"].values() for t in v}
    _plan_singing(cfg, jobs, man, speech_texts)
    jobs += speech_jobs
    return Plan(jobs, man, sorted(transcript))


# ---------------------------------------------------------------- execution ----------------
def _job_rng(seed: int, key: str) -> random.Random:
    return random.Random(f"{seed}-job-{key}")


def _run_speech(out: str, a: Dict[str, Any], rng: random.Random) -> Dict[str, Any]:
    sent: Sentence = a["sentence"]
    voice = a["voice"]
    sr = layout.AISHELL_SR
    if isinstance(voice, GcinVoice):
        x = voice.sentence(sent.pinyin, rng, sr, [len(w) for w in sent.words])
    else:
        x = voice.sentence(sent.pinyin, rng, sr)
    lead, tail = rng.uniform(0.1, 0.4), rng.uniform(0.1, 0.4)
    x = np.concatenate([np.zeros(int(lead * sr)), x, np.zeros(int(tail * sr))])
    x = normalize_peak(x, rng.uniform(0.3, 0.7))
    write_wav(layout.aishell_wav(out, a["split"], a["speaker"], a["utt"]), x, sr)
    return {"seconds": len(x) / sr}


def _run_sing(out: str, a: Dict[str, Any], seed: int, key: str) -> Dict[str, Any]:
    """All segments of one song sung by one singer."""
    voice = a["voice"]
    g = a["gender"]
    sr = layout.OPENSINGER_SR
    style = singer_style(random.Random(f"{seed}-singer-{g}-{a['singer']}"), g, voice.gender)
    seconds = 0.0
    for seg, sent in enumerate(a["lines"]):
        rng = _job_rng(seed, f"{key}-{seg}")
        units = [analyse(voice.name, p, voice.syllable(p, sr), sr) for p in sent.pinyin]
        mel_rng = random.Random(f"{seed}-melody-{a['song']}-{seg}")  # same tune for every singer
        notes, total = make_melody(sent.pinyin, mel_rng, g, a["key"], a["tempo"], lead_s=rng.uniform(0.2, 0.5))
        y = normalize_peak(sing(units, notes, total, sr, style, rng), rng.uniform(0.5, 0.8))
        stem = layout.opensinger_stem(out, g, a["singer"], a["song"], seg)
        write_wav(stem + ".wav", y, sr)
        with open(stem + ".txt", "w", encoding="utf-8") as f:
            f.write(sent.text + "\n")
        with open(stem + ".lab", "w", encoding="utf-8") as f:
            f.write("\n".join(lab_lines(notes)) + "\n")
        seconds += total
    return {"seconds": seconds, "segments": len(a["lines"])}


def _run_music(out: str, a: Dict[str, Any], cfg: SynthConfig, rng: random.Random) -> Dict[str, Any]:
    stems, plan = make_track(cfg.music_seconds, rng, cfg.vocal_prob, layout.MUSDB_SR)
    d = layout.musdb_dir(out, a["split"], a["name"])
    for name in ("mixture",) + STEMS:
        write_wav(os.path.join(d, name + ".wav"), stems[name], layout.MUSDB_SR)
    return {"seconds": cfg.music_seconds, "tempo": plan.tempo, "key": plan.key, "vocals": plan.with_vocals}


def run_job(job: Job, out: str, cfg: SynthConfig) -> Tuple[str, Dict[str, Any]]:
    """Execute one job; returns (key, info)."""
    rng = _job_rng(cfg.seed, job.key)
    if job.kind == "speech":
        info = _run_speech(out, job.args, rng)
    elif job.kind == "sing":
        info = _run_sing(out, job.args, cfg.seed, job.key)
    elif job.kind == "music":
        info = _run_music(out, job.args, cfg, rng)
    else:
        raise ValueError(job.kind)
    return job.key, info


_WORKER: Dict[str, Any] = {}


def _init_worker(out: str, cfg: SynthConfig) -> None:
    _WORKER["out"], _WORKER["cfg"] = out, cfg


def _worker_run(job: Job) -> Tuple[str, Dict[str, Any]]:
    return run_job(job, _WORKER["out"], _WORKER["cfg"])


def _up_to_date(out: str, man: Dict[str, Any]) -> Optional[Dict[str, Any]]:
    """The saved manifest if ``out`` already holds a finished run with the same config/selection."""
    path = os.path.join(out, layout.MANIFEST)
    if not os.path.isfile(path):
        return None
    try:
        with open(path, encoding="utf-8") as f:
            old = json.load(f)
    except (OSError, ValueError):
        return None
    if old.get("config") != man["config"] or old.get("only") != man["only"]:
        return None
    return old


def generate(cfg: SynthConfig, out: str, progress: bool = True, clean: bool = False,
             only: Optional[Sequence[str]] = None, force: bool = False) -> Dict[str, Any]:
    """Write the corpora under ``out``; returns the manifest (also saved to ``out/mini_corpora.json``).

    ``only``: subset of ``("aishell", "opensinger", "musdb")``. The manifest is written last, so
    a finished run with the same config is detected and skipped unless ``force`` (or ``clean``).
    """
    from .deps import find_soundfont, require_espeak, require_fluidsynth, require_gcin, require_pyworld

    require_espeak(), require_gcin(), require_pyworld(), require_fluidsynth(), find_soundfont()
    t0 = time.time()
    plan = build_plan(cfg)
    kinds = {"aishell": "speech", "opensinger": "sing", "musdb": "music"}
    wanted = set(only or kinds)
    plan.manifest["only"] = sorted(wanted)
    old = None if (force or clean) else _up_to_date(out, plan.manifest)
    if old is not None:
        old["elapsed_s"], old["skipped"] = round(time.time() - t0, 1), True
        return old
    jobs = [j for j in plan.jobs if any(kinds[w] == j.kind for w in wanted)]
    if clean:
        for sub in ("data_aishell", "OpenSinger", "musdb18hq"):
            shutil.rmtree(os.path.join(out, sub), ignore_errors=True)
    os.makedirs(out, exist_ok=True)
    stale = os.path.join(out, layout.MANIFEST)
    if os.path.exists(stale):
        os.remove(stale)  # only a finished run leaves a manifest
    if "aishell" in wanted:
        path = layout.aishell_transcript(out)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write("\n".join(plan.transcript) + "\n")
    results: Dict[str, Dict[str, Any]] = {}
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(jobs), desc="mini corpora", unit="job")
    workers = max(1, min(2, cfg.workers))
    if workers == 1:
        for job in jobs:
            k, info = run_job(job, out, cfg)
            results[k] = info
            if bar:
                bar.update(1)
    else:
        ctx = mp.get_context("fork")
        with ctx.Pool(workers, initializer=_init_worker, initargs=(out, cfg)) as pool:
            for k, info in pool.imap_unordered(_worker_run, jobs, chunksize=1):
                results[k] = info
                if bar:
                    bar.update(1)
    if bar:
        bar.close()
    man = plan.manifest
    secs: Dict[str, float] = {}
    for j in jobs:
        secs[j.kind] = secs.get(j.kind, 0.0) + float(results[j.key]["seconds"])
    man["stats"] = {"jobs": len(jobs), "audio_seconds": {k: round(v, 2) for k, v in sorted(secs.items())},
                    "aishell_utterances": sum(j.kind == "speech" for j in jobs),
                    "opensinger_segments": sum(len(j.args["lines"]) for j in jobs if j.kind == "sing"),
                    "musdb_tracks": sum(j.kind == "music" for j in jobs)}
    with open(os.path.join(out, layout.MANIFEST), "w", encoding="utf-8") as f:
        json.dump(man, f, ensure_ascii=False, indent=1, sort_keys=True)
        f.write("\n")
    man["elapsed_s"] = round(time.time() - t0, 1)  # not saved: keeps the manifest byte-stable
    return man
