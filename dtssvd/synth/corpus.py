"""Plan the three mini corpora (speakers, singers, songs, tracks, splits) and generate them.

The plan is a list of independent jobs, each with its own RNG seeded from (seed, job key), so
the output does not depend on the number of workers or the order the jobs run in.
"""
from __future__ import annotations

import dataclasses
import json
import multiprocessing as mp
import os
import random
import shutil
import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from . import layout, recorded_music
from .audio import normalize_peak, write_wav
from .config import SynthConfig
from .music import STEMS, make_track
from .natural_text import HELD_LYRIC, HELD_SPEECH, LYRIC_MAX, build_pools, words_of
from .singing import SCALES, analyse, lab_lines, make_melody, sing, singer_style
from .speech import EspeakVoice, GcinVoice, NeuralVoice, gcin_revoiced, gcin_voices, neural_voices, voice_pool
from .text import Sentence, split_disjoint, to_pinyin

Voice = Union[EspeakVoice, GcinVoice, NeuralVoice]
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


def _sentence(text: str) -> Optional[Sentence]:
    """Words and pinyin of a cleaned sentence, or None when a character has no reading."""
    py = to_pinyin(text)
    if not all(p[:-1].isalpha() and p[:-1].isascii() for p in py):
        return None
    return Sentence(words_of(text), tuple(py))


def _take(texts: Sequence[str], n: int, what: str, skipped: Dict[str, int],
          keep=lambda s: True) -> List[Sentence]:
    """The first ``n`` usable sentences of ``texts`` (in order); counts the unusable ones."""
    out: List[Sentence] = []
    for t in texts:
        if len(out) == n:
            break
        sent = _sentence(t)
        if sent is None or not keep(sent):
            skipped[what] = skipped.get(what, 0) + 1
            continue
        out.append(sent)
    if len(out) < n:
        raise ValueError(f"the text sources give only {len(out)} usable {what} sentences (asked {n}); "
                         "lower the sentence counts")
    return out


@dataclass
class Texts:
    """The sentences and lyric lines a config uses, per split."""

    speech: Dict[str, List[Sentence]]
    lyric: Dict[str, List[Sentence]]  # "train" and "heldout"
    stats: Dict[str, Any]


def plan_texts(cfg: SynthConfig) -> Texts:
    """Natural sentences per split (whole documents per split, ``natural_text.build_pools``), shuffled
    (seeded), cut to the config's sizes; lyric lines from poems plus ``lyric_from_speech`` short
    natural sentences; lyric lines are covered by both gcin-voice speakers (they sing too)."""
    pools = build_pools(cfg.seed, HELD_SPEECH, HELD_LYRIC)
    gcin = list(gcin_voices().values())
    skipped: Dict[str, int] = {}
    speech: Dict[str, List[Sentence]] = {}
    for split in SPLITS:
        order = list(pools.speech[split])
        random.Random(f"{cfg.seed}-text-order-{split}").shuffle(order)
        if split == "train" and cfg.lyric_from_speech:
            short = [t for t in order if len(t) <= LYRIC_MAX]
            natural = _take(short, cfg.lyric_from_speech, "lyric_natural", skipped, lambda s: _covered(s, gcin))
            used = {x.text for x in natural}
            order = [t for t in order if t not in used]
        speech[split] = _take(order, cfg.sentences[split], f"speech_{split}", skipped)
    seg = cfg.segments_per_song
    lyric_train = list(pools.lyric["train"])
    random.Random(f"{cfg.seed}-lyric-order-train").shuffle(lyric_train)
    poems = _take(lyric_train, max(0, cfg.train_songs * seg - cfg.lyric_from_speech) if cfg.lyric_from_speech
                  else cfg.train_songs * seg, "lyric_train", skipped, lambda s: _covered(s, gcin))
    train_lines = poems + (natural if cfg.lyric_from_speech else [])
    random.Random(f"{cfg.seed}-lyric-mix").shuffle(train_lines)
    held = pools.lyric["dev"] + pools.lyric["test"]  # held-out singers (dev and test) sing held-out poems
    ho_lines = _take(held, cfg.heldout_songs * seg, "lyric_heldout", skipped, lambda s: _covered(s, gcin))
    stats = dict(pools.stats, skipped_unreadable_or_uncovered=skipped, unit_chars="".join(pools.units))
    return Texts(speech, {"train": train_lines[:cfg.train_songs * seg], "heldout": ho_lines}, stats)


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


def _song_title(first_line: str, taken: set) -> str:
    """A song title from its first lyric line (2-4 characters, unique)."""
    for n in (4, 3, 2, 5, 6):
        t = first_line[:n]
        if t not in taken:
            return t
    k = 2
    while f"{first_line[:4]}{k}" in taken:
        k += 1
    return f"{first_line[:4]}{k}"


def _speech_voices(cfg: SynthConfig, split: str) -> List[Voice]:
    voices: List[Voice] = list(voice_pool(split, cfg.espeak_speakers.get(split, 0), cfg.seed, cfg.revoice_prob))
    gcin = gcin_voices()
    for k, v in sorted(cfg.gcin_speaker_split.items()):
        if v == split:
            voices.append(gcin[k])
            if split == "train":
                voices += gcin_revoiced(k, cfg.gcin_revoiced, cfg.seed)
    if split == "train":  # last: the speakers before them keep their numbers and sentences
        voices += neural_voices(cfg.neural_voices, cfg.seed)
    first_dev = layout.AISHELL_SPK_START["dev"] - layout.AISHELL_SPK_START["train"]
    if split == "train" and len(voices) > first_dev:
        raise ValueError(f"{len(voices)} training speakers: at most {first_dev} fit before the dev speaker numbers")
    return voices


def _plan_speech(cfg: SynthConfig, texts: Texts, jobs: List[Job], man: Dict[str, Any],
                 transcript: List[str]) -> None:
    man["aishell"] = {"speakers": {}, "sentences": {s: [x.text for x in texts.speech[s]] for s in SPLITS}}
    for split in SPLITS:
        order = texts.speech[split]
        cursor = 0
        for si, voice in enumerate(_speech_voices(cfg, split)):
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
    singer; the rest are espeak-ng voices of the singer's gender from the singer's split (held-out
    singers use held-out variants), distinct variants (timbres) first, since WORLD replaces the pitch.
    """
    gcin = gcin_voices()
    out: Dict[Tuple[str, str], List[Voice]] = {}
    for g in ("M", "F"):
        for part, n in (("train", cfg.singers_per_gender), ("heldout", cfg.heldout_singers_per_gender)):
            chosen: List[Voice] = [v for v in gcin.values() if v.gender == g
                                   and (part == "train") == (v.speaker == "3")][:n]
            pools: Dict[str, List[EspeakVoice]] = {}
            for j in range(len(chosen), n):
                split = "train" if part == "train" else heldout_singer_id(g, j)[1]
                if split not in pools:
                    same = [v for v in voice_pool(split, 4 * n + 8, cfg.seed + 7919) if v.gender == g]
                    seen: set = set()
                    first = [v for v in same if not (v.variant in seen or seen.add(v.variant))]
                    pools[split] = first + [v for v in same if v not in first]
                if not pools[split]:
                    raise ValueError(f"too many {g} {part} singers")
                chosen.append(pools[split].pop(0))
            out[(g, part)] = chosen
    # the neural voices (female) sing as training singers after the others (their IDs come next)
    out[("F", "train")] = out[("F", "train")] + neural_voices(cfg.neural_voices, cfg.seed)
    if len(out[("F", "train")]) > min(i for i, _ in HELDOUT_IDS["F"]):
        raise ValueError(f"{len(out[('F', 'train')])} female training singers: their IDs would reach the "
                         f"held-out IDs {HELDOUT_IDS['F']}")
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


def _plan_singing(cfg: SynthConfig, texts: Texts, jobs: List[Job], man: Dict[str, Any]) -> None:
    seg = cfg.segments_per_song
    train_lines, ho_lines = texts.lyric["train"], texts.lyric["heldout"]
    rng = random.Random(f"{cfg.seed}-songs")
    songs = {"train": [], "heldout": []}  # type: Dict[str, List[Dict[str, Any]]]
    taken: set = set()
    for part, lines, n in (("train", train_lines, cfg.train_songs), ("heldout", ho_lines, cfg.heldout_songs)):
        for k in range(n):
            chunk = lines[k * seg:(k + 1) * seg]
            title = _song_title(chunk[0].text, taken)
            taken.add(title)
            songs[part].append({"title": title, "lines": chunk, "key": rng.randrange(12),
                                "tempo": float(rng.randrange(60, 142, 2)), "scale": rng.choice(sorted(SCALES))})
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
                bad = [x.text for s in chosen for x in s["lines"]
                       if isinstance(voice, NeuralVoice) and not voice.covers(x.pinyin)]
                if bad:  # lyric lines are picked for the gcin voices' coverage, before any neural voice
                    raise ValueError(f"the neural voice has no phones for a syllable of the lyric line {bad[0]!r}")
                man["opensinger"]["singers"][f"{raw}/{sid}"] = dict(
                    _voice_info(voice), split=split, gender=g, songs=[s["title"] for s in chosen])
                for song in chosen:  # one job per (singer, song): syllable analyses are cached per process
                    jobs.append(Job("sing", f"sing-{g}-{sid}-{song['title']}", {
                        "gender": g, "singer": sid, "song": song["title"], "lines": song["lines"],
                        "voice": voice, "key": song["key"], "tempo": song["tempo"], "scale": song["scale"]}))


def _plan_music(cfg: SynthConfig, jobs: List[Job], man: Dict[str, Any]) -> None:
    """fluidsynth arrangements (``music.py``) and excerpts of real recordings (``recorded_music.py``;
    whole packages or albums per split, so test excerpts never share a recording with training)."""
    splits = [s for s in ("train", "test") if cfg.music_tracks.get(s, 0) > 0]
    counts = [cfg.music_tracks[s] for s in splits]
    names = split_disjoint(_music_names(sum(counts), cfg.seed), counts)  # type: ignore[arg-type]
    man["musdb"] = {s: list(n) for s, n in zip(splits, names)}
    for split, group in zip(splits, names):
        for name in group:
            jobs.append(Job("music", f"music-{name}", {"split": split, "name": name, "seconds": cfg.music_seconds,
                                                      "vocal_prob": cfg.vocal_prob}))
    if not any(cfg.recorded_music.values()):
        return
    parts = recorded_music.split_tracks(recorded_music.find_tracks(), seed=cfg.seed, heldout=(("test", 0.15),))
    man["musdb_recorded"] = {}
    for split in ("train", "test"):
        plan = recorded_music.plan_excerpts(parts[split], cfg.recorded_music.get(split, 0), cfg.music_seconds,
                                            random.Random(f"{cfg.seed}-recorded-{split}"))
        for k, (track, start) in enumerate(plan):
            name = recorded_music.musdb_name(track, k)
            man["musdb"].setdefault(split, []).append(name)
            man["musdb_recorded"][name] = {"package": track.package, "file": track.relpath,
                                           "start": round(start, 3), "licence": track.licence}
            jobs.append(Job("recorded", f"recorded-{split}-{name}", {
                "split": split, "name": name, "path": track.path, "start": start, "seconds": cfg.music_seconds}))


def build_plan(cfg: SynthConfig) -> Plan:
    """All jobs, the manifest and the AISHELL transcript lines for a config."""
    jobs: List[Job] = []
    conf = cfg.to_dict()
    conf.pop("workers")  # the output does not depend on it
    man: Dict[str, Any] = {"config": conf}
    transcript: List[str] = []
    speech_jobs: List[Job] = []
    texts = plan_texts(cfg)
    man["text"] = texts.stats
    _plan_music(cfg, jobs, man)  # longest jobs first for load balance
    _plan_speech(cfg, texts, speech_jobs, man, transcript)
    _plan_singing(cfg, texts, jobs, man)
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
    if isinstance(voice, NeuralVoice) and voice.revoice:  # the re-voicing's timbre carries into singing
        style = dataclasses.replace(style, formant_shift=style.formant_shift * voice.revoice.formant)
    seconds = 0.0
    for seg, sent in enumerate(a["lines"]):
        rng = _job_rng(seed, f"{key}-{seg}")
        # dio loses creaky real voicing
        tracker = "harvest" if isinstance(voice, (GcinVoice, NeuralVoice)) else "dio"
        units = [analyse(voice.source_name, p, voice.syllable(p, sr), sr, tracker) for p in sent.pinyin]
        mel_rng = random.Random(f"{seed}-melody-{a['song']}-{seg}")  # same tune for every singer
        notes, total = make_melody(sent.pinyin, mel_rng, g, a["key"], a["tempo"], lead_s=rng.uniform(0.2, 0.5),
                                   scale=a["scale"])
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
    stems, plan = make_track(a["seconds"], rng, a["vocal_prob"], layout.MUSDB_SR)
    d = layout.musdb_dir(out, a["split"], a["name"])
    for name in ("mixture",) + STEMS:
        write_wav(os.path.join(d, name + ".wav"), stems[name], layout.MUSDB_SR)
    return {"seconds": a["seconds"], "tempo": plan.tempo, "key": plan.key, "vocals": plan.with_vocals}


def _run_recorded(out: str, a: Dict[str, Any], rng: random.Random) -> Dict[str, Any]:
    stems = recorded_music.recorded_track(a["path"], a["start"], a["seconds"], rng, layout.MUSDB_SR)
    d = layout.musdb_dir(out, a["split"], a["name"])
    for name in ("mixture",) + STEMS:
        write_wav(os.path.join(d, name + ".wav"), stems[name], layout.MUSDB_SR)
    return {"seconds": a["seconds"]}


def run_job(job: Job, out: str, cfg: SynthConfig) -> Tuple[str, Dict[str, Any]]:
    """Execute one job; returns (key, info)."""
    rng = _job_rng(cfg.seed, job.key)
    if job.kind == "speech":
        info = _run_speech(out, job.args, rng)
    elif job.kind == "sing":
        info = _run_sing(out, job.args, cfg.seed, job.key)
    elif job.kind == "music":
        info = _run_music(out, job.args, cfg, rng)
    elif job.kind == "recorded":
        info = _run_recorded(out, job.args, rng)
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


def _saved_neural_voices(out: str) -> int:
    """``neural_voices`` of the finished run in ``out`` (0 when none or unreadable)."""
    try:
        with open(os.path.join(out, layout.MANIFEST), encoding="utf-8") as f:
            return int(json.load(f)["config"].get("neural_voices", 0))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return 0


PROGRESS = ".synth_progress.jsonl"


def _fingerprint(job: Job, seed: int) -> str:
    """What a job's output depends on (its args hold every size and choice that shapes it)."""
    import hashlib

    return hashlib.sha1(repr((seed, job.kind, job.key, sorted(job.args.items()))).encode()).hexdigest()


def _load_progress(out: str) -> Dict[str, Tuple[str, Dict[str, Any]]]:
    """key -> (fingerprint, info) of the jobs an interrupted run finished (``OUT/.synth_progress.jsonl``,
    one finished job per line). A torn last line (killed mid-write) is ignored: that job runs again."""
    path = os.path.join(out, PROGRESS)
    done: Dict[str, Tuple[str, Dict[str, Any]]] = {}
    if os.path.isfile(path):
        with open(path, encoding="utf-8") as f:
            for line in f:
                try:
                    rec = json.loads(line)
                    done[rec["key"]] = (rec["fp"], rec["info"])
                except (ValueError, KeyError, TypeError):
                    continue
    return done


def generate(cfg: SynthConfig, out: str, progress: bool = True, clean: bool = False,
             only: Optional[Sequence[str]] = None, force: bool = False) -> Dict[str, Any]:
    """Write the corpora under ``out``; returns the manifest (also saved to ``out/mini_corpora.json``).

    ``only``: subset of ``("aishell", "opensinger", "musdb")``. The manifest is written last, so
    a finished run with the same config is detected and skipped unless ``force`` (or ``clean``); an
    interrupted run resumes: the jobs it finished (``OUT/.synth_progress.jsonl``) are not run again.
    Jobs run in ``cfg.workers`` processes; the output does not depend on their number.
    """
    from .deps import (find_soundfont, require_espeak, require_fluidsynth, require_gcin, require_neural_tts,
                       require_pyworld)

    require_espeak(), require_gcin(), require_pyworld(), require_fluidsynth(), find_soundfont()
    if cfg.neural_voices > 0:
        require_neural_tts()
    t0 = time.time()
    plan = build_plan(cfg)
    kinds = {"aishell": ("speech",), "opensinger": ("sing",), "musdb": ("music", "recorded")}
    wanted = set(only or kinds)
    plan.manifest["only"] = sorted(wanted)
    had = _saved_neural_voices(out)
    if had > cfg.neural_voices and not clean:
        raise ValueError(f"{out} holds {had} neural training voices: give neural_voices {had} (--neural-voices "
                         f"{had}) to keep them in the transcript, or --clean")
    old = None if (force or clean) else _up_to_date(out, plan.manifest)
    if old is not None:
        old["elapsed_s"], old["skipped"] = round(time.time() - t0, 1), True
        return old
    jobs = [j for j in plan.jobs if any(j.kind in kinds[w] for w in wanted)]
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
    fps = {j.key: _fingerprint(j, cfg.seed) for j in jobs}
    prev = {} if (force or clean) else _load_progress(out)
    results = {k: info for k, (fp, info) in prev.items() if fps.get(k) == fp}
    todo = [j for j in jobs if j.key not in results]
    log = open(os.path.join(out, PROGRESS), "a" if prev else "w", encoding="utf-8")
    log.write("\n")  # ends a torn line, if any
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(jobs), initial=len(jobs) - len(todo), desc="corpora", unit="job",
                   mininterval=1.0 if os.isatty(2) else 30.0)
    workers = max(1, cfg.workers)

    def done(k: str, info: Dict[str, Any]) -> None:
        results[k] = info
        log.write(json.dumps({"key": k, "fp": fps[k], "info": info}, sort_keys=True) + "\n")
        log.flush()
        if bar:
            bar.update(1)

    try:
        if workers == 1:
            for job in todo:
                done(*run_job(job, out, cfg))
        else:
            ctx = mp.get_context("fork")
            with ctx.Pool(workers, initializer=_init_worker, initargs=(out, cfg)) as pool:
                for k, info in pool.imap_unordered(_worker_run, todo, chunksize=1):
                    done(k, info)
    finally:
        log.close()
        if bar:
            bar.close()
    man = plan.manifest
    secs: Dict[str, float] = {}
    for j in jobs:
        secs[j.kind] = secs.get(j.kind, 0.0) + float(results[j.key]["seconds"])
    man["stats"] = {"jobs": len(jobs), "audio_seconds": {k: round(v, 2) for k, v in sorted(secs.items())},
                    "aishell_utterances": sum(j.kind == "speech" for j in jobs),
                    "opensinger_segments": sum(len(j.args["lines"]) for j in jobs if j.kind == "sing"),
                    "musdb_tracks": sum(j.kind in ("music", "recorded") for j in jobs),
                    "musdb_recorded_tracks": sum(j.kind == "recorded" for j in jobs)}
    with open(os.path.join(out, layout.MANIFEST), "w", encoding="utf-8") as f:
        json.dump(man, f, ensure_ascii=False, indent=1, sort_keys=True)
        f.write("\n")
    # the progress log stays, sorted (byte-stable): a later run with a changed config redoes only the
    # jobs whose fingerprint changed
    merged = dict(prev)  # jobs outside this run's selection keep their record
    merged.update({k: (fps[k], info) for k, info in results.items()})
    with open(os.path.join(out, PROGRESS), "w", encoding="utf-8") as f:
        for k in sorted(merged):
            f.write(json.dumps({"key": k, "fp": merged[k][0], "info": merged[k][1]}, sort_keys=True) + "\n")
    man["elapsed_s"] = round(time.time() - t0, 1)  # not saved: keeps the manifest byte-stable
    return man
