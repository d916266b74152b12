"""Real recorded music from Debian game-soundtrack packages, as MUSDB18-HQ-style stems.

The fluidsynth arrangements of ``music.py`` are clean General-MIDI renderings; these tracks are
real productions (synthesisers, sampled and live instruments, reverb, mastering) shipped as
Ogg Vorbis / Ogg Opus by four Debian ``main`` packages (see ``MUSIC_SOURCES.md`` for tracks,
minutes and licences). The ``wesnoth*`` music packages are never used: they are reserved for an
independent evaluation.

A recording has no stems, so an excerpt becomes a MUSDB track whose ``other`` stem is the
excerpt and whose ``drums``, ``bass`` and ``vocals`` stems are silent; ``mixture`` is the exact
integer sum of the four, as in the rest of the generated corpus. The DTSSVD builder uses
``drums + bass + other`` as background music, so it receives the whole recording.

Usage::

    tracks = find_tracks()                              # installed tracks, sorted
    splits = split_tracks(tracks, seed=0)               # {"train": [...], "dev": [...], "test": [...]}
    for k, (trk, start) in enumerate(plan_excerpts(splits["train"], 40, 30.0, random.Random(1))):
        stems = recorded_track(trk.path, start, 30.0, random.Random(k))   # 5 x int16 (T, 2)
        name = musdb_name(trk, k)                       # "Shawn Parrotte - hr3-caves (excerpt 3)"
"""
from __future__ import annotations

import glob
import json
import logging
import math
import os
import random
import re
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Sequence, Tuple

import numpy as np

from .audio import resample, to_int16
from .deps import MissingDependency

log = logging.getLogger(__name__)

MUSDB_SR = 44100
STEMS = ("drums", "bass", "other", "vocals")
MIN_SECONDS = 20.0
#: metadata words that mark a track with sung or spoken vocals (matched on whole words, any case)
VOCAL_WORDS = re.compile(r"\b(vocals?|voices?|vox|sing|sings|singing|sung|song|songs|choir|chorus|lyrics?|"
                         r"feat|featuring|acapella|cappella|rap|spoken|narrat\w*)\b", re.IGNORECASE)
#: packages that must never be read (reserved for an independent evaluation)
FORBIDDEN_PREFIXES = ("wesnoth",)


class RecordedMusicError(ValueError):
    """A recorded-music file or argument is unusable (the message names the file)."""


@dataclass(frozen=True)
class MusicPackage:
    """A Debian package whose music files are used.

    ``music_dir``: absolute directory of the tracks; ``pattern``: glob below it (``**`` allowed);
    ``licence``: SPDX-like summary of ``/usr/share/doc/<name>/copyright``; ``group_by``:
    ``"package"`` (the whole package is one split unit) or ``"album"`` (each sub-folder of
    ``albums/`` is one unit; ``same_recording`` moves files that are versions of another
    unit's recording into that unit); ``artists``: (file-name prefix, artist) pairs, first match
    wins, used when the files carry no usable artist tag; ``titles_from``: ``"tags"`` (Ogg title
    tag, else the file stem), ``"stem"`` (file stem) or ``"album_json"`` (the ``album.json``
    files the package ships).
    """

    name: str
    music_dir: str
    pattern: str
    licence: str
    artists: Tuple[Tuple[str, str], ...]
    titles_from: str = "tags"
    group_by: str = "package"
    same_recording: Tuple[Tuple[str, str], ...] = field(default=())
    group_licences: Tuple[Tuple[str, str], ...] = field(default=())

    def licence_of(self, group: str) -> str:
        """Licence of a split unit (``group_licences`` entry, else the package's)."""
        return dict(self.group_licences).get(group, self.licence)


#: the packages used, sorted by name. Downloads (bookworm): drascula-music 36.4 MB,
#: hyperrogue-music 63.8 MB, singularity-music 51.6 MB, warzone2100-music 85.7 MB.
PACKAGES: Tuple[MusicPackage, ...] = (
    MusicPackage("drascula-music", "/usr/share/scummvm/drascula/audio", "track*.ogg",
                 "Drascula licence (free redistribution and modification; Debian main)",
                 (("", "Alcachofa Soft"),), titles_from="stem"),
    MusicPackage("hyperrogue-music", "/usr/share/hyperrogue/music", "*.ogg", "CC-BY-SA-3.0",
                 (("hr3-", "Shawn Parrotte"), ("hr-savino-", "Will Savino"), ("hr-domina-", "Lincoln Domina")),
                 titles_from="stem"),  # the hr3-* files are all tagged "Living Caves"
    MusicPackage("singularity-music", "/usr/share/games/singularity/music", "**/*.ogg", "CC-BY-SA-3.0",
                 (("", "Max McCracken"),)),
    MusicPackage("warzone2100-music", "/usr/share/games/warzone2100/music", "**/*.opus",
                 "GPL-2+",
                 (("albums/original_soundtrack/", "Martin Severn"), ("menu.opus", "Martin Severn"),
                  ("", "LupusMechanicus")),
                 titles_from="album_json", group_by="album",
                 same_recording=(("menu.opus", "original_soundtrack"),
                                 ("albums/aftermath_soundtrack/menu_enhanced.opus", "original_soundtrack"),
                                 ("albums/aftermath_soundtrack/track3_enhanced.opus", "original_soundtrack")),
                 group_licences=(("warzone2100-music/legacy_soundtrack", "CC-BY-SA-3.0+ or GPL-2+"),
                                 ("warzone2100-music/aftermath_soundtrack", "CC-BY-SA-3.0+ or GPL-2+"))),
)


@dataclass(frozen=True)
class RecordedTrack:
    """One usable recording. ``group``: the split unit it belongs to; ``relpath``: path below
    the package's ``music_dir``; ``seconds``/``sample_rate``/``channels``: as stored."""

    package: str
    group: str
    path: str
    relpath: str
    title: str
    artist: str
    seconds: float
    sample_rate: int
    channels: int
    licence: str


def package_names(packages: Sequence[MusicPackage] = PACKAGES) -> List[str]:
    """The Debian package names, sorted."""
    return sorted(p.name for p in packages)


def _artist(pkg: MusicPackage, rel: str) -> str:
    for prefix, artist in pkg.artists:
        if rel.startswith(prefix) or os.path.basename(rel).startswith(prefix):
            return artist
    return pkg.name


def _group(pkg: MusicPackage, rel: str) -> str:
    if pkg.group_by == "package":
        return pkg.name
    override = dict(pkg.same_recording).get(rel)
    if override:
        return f"{pkg.name}/{override}"
    parts = rel.split("/")
    if len(parts) >= 3 and parts[0] == "albums":
        return f"{pkg.name}/{parts[1]}"
    raise RecordedMusicError(f"{os.path.join(pkg.music_dir, rel)}: not inside an albums/<album>/ folder and "
                             f"not listed in same_recording of package {pkg.name}")


def _album_titles(music_dir: str) -> Dict[str, Tuple[str, str]]:
    """relpath -> (title, album title) from the ``albums/*/album.json`` files of ``music_dir``."""
    out: Dict[str, Tuple[str, str]] = {}
    for path in sorted(glob.glob(os.path.join(music_dir, "albums", "*", "album.json"))):
        try:
            with open(path, encoding="utf-8") as f:
                album = json.load(f)
            rel_dir = os.path.relpath(os.path.dirname(path), music_dir)
            for t in album["tracks"]:
                out[f"{rel_dir}/{t['filename']}"] = (str(t["title"]), str(album.get("title", "")))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise RecordedMusicError(f"{path}: unreadable album description ({exc})") from exc
    return out


def _tags(sf_file) -> Dict[str, str]:
    return {k: str(getattr(sf_file, k, "") or "") for k in ("title", "artist", "album", "comment", "genre")}


def find_tracks(root: str = "/", packages: Sequence[MusicPackage] = PACKAGES, min_seconds: float = MIN_SECONDS,
                required: bool = True) -> List[RecordedTrack]:
    """Usable installed tracks of ``packages``, sorted by (package, relpath).

    ``root`` prefixes every ``music_dir`` (``"/"`` = the installed system; tests point it at a
    fake tree). Skipped, with a count in the log: files shorter than ``min_seconds`` (jingles),
    files whose metadata (Ogg tags, album.json title, file name) contains a ``VOCAL_WORDS`` word,
    and duplicate paths (symlinks). ``required``: raise ``MissingDependency`` (one line naming
    the packages) when nothing is found.
    """
    import soundfile as sf

    out: List[RecordedTrack] = []
    seen = set()
    for pkg in sorted(packages, key=lambda p: p.name):
        if pkg.name.lower().startswith(FORBIDDEN_PREFIXES):
            raise RecordedMusicError(f"package {pkg.name}: wesnoth music is reserved for an independent "
                                     f"evaluation and must not be used for training data")
        d = os.path.join(root, pkg.music_dir.lstrip("/"))
        if not os.path.isdir(d):
            log.info("recorded music: %s not installed (%s missing)", pkg.name, d)
            continue
        titles = _album_titles(d) if pkg.titles_from == "album_json" else {}
        n_short = n_vocal = 0
        for path in sorted(glob.glob(os.path.join(d, pkg.pattern), recursive=True)):
            real = os.path.realpath(path)
            if real in seen or not os.path.isfile(path):
                continue
            seen.add(real)
            rel = os.path.relpath(path, d).replace(os.sep, "/")
            try:
                with sf.SoundFile(path) as f:
                    tags = _tags(f)
                    seconds, sr, ch = f.frames / f.samplerate, int(f.samplerate), int(f.channels)
            except (RuntimeError, OSError) as exc:  # soundfile.LibsndfileError is a RuntimeError
                raise RecordedMusicError(f"{path}: unreadable audio ({exc})") from exc
            album_title, album = titles.get(rel, ("", ""))
            if pkg.titles_from == "album_json":
                title = album_title or os.path.splitext(os.path.basename(rel))[0]
            elif pkg.titles_from == "tags" and tags["title"].strip():
                title = tags["title"].strip()
            else:
                title = os.path.splitext(os.path.basename(rel))[0]
            meta = " ".join([title, album, os.path.basename(rel).replace("_", " ")] + list(tags.values()))
            if VOCAL_WORDS.search(meta):
                n_vocal += 1
                log.info("recorded music: %s skipped (metadata suggests vocals: %r)", path, meta.strip())
                continue
            if seconds < min_seconds:
                n_short += 1
                continue
            group = _group(pkg, rel)
            out.append(RecordedTrack(pkg.name, group, path, rel, title, _artist(pkg, rel), round(seconds, 3), sr,
                                     ch, pkg.licence_of(group)))
        log.info("recorded music: %s: %d tracks kept, %d shorter than %.0f s and %d with vocal metadata "
                 "skipped", pkg.name, sum(t.package == pkg.name for t in out), n_short, min_seconds, n_vocal)
    if required and not out:
        names = " ".join(package_names(packages))
        raise MissingDependency(f"no recorded music found under {root}: install the Debian packages {names} "
                                f"(sudo apt-get install {names}, or tools/install_system_deps.sh)")
    return out


def split_units(tracks: Iterable[RecordedTrack]) -> Dict[str, float]:
    """Split unit (``RecordedTrack.group``) -> total seconds, sorted by unit name."""
    units: Dict[str, float] = {}
    for t in tracks:
        units[t.group] = units.get(t.group, 0.0) + t.seconds
    return dict(sorted(units.items()))


def split_tracks(tracks: Sequence[RecordedTrack], seed: int = 0,
                 heldout: Sequence[Tuple[str, float]] = (("test", 0.15), ("dev", 0.08)),
                 tolerance: float = 0.25, min_train_packages: int = 2) -> Dict[str, List[RecordedTrack]]:
    """Assign whole split units (packages, or albums of a big package) to ``train`` and the
    held-out splits, so no recording is shared between splits.

    ``heldout``: (split, fraction of the total minutes) in the order they are filled. The units
    are sorted by name and shuffled with ``random.Random(seed)`` (deterministic, no ``hash()``);
    each held-out split then takes, in that order, every unit that keeps its minutes within
    ``(1 + tolerance) x target`` until the target is reached; a held-out split that got nothing
    takes the smallest remaining unit. No unit is taken that would leave ``train`` with fewer
    than ``min_train_packages`` packages (or with nothing), so training music keeps several
    sources. The rest is ``train``. Returns ``{"train": [...], <split>: [...]}``, each list sorted
    by (package, relpath).
    """
    units = split_units(tracks)
    names = [s for s, _ in heldout]
    if len(set(names)) != len(names) or "train" in names:
        raise RecordedMusicError(f"held-out split names must be distinct and not 'train': {names}")
    if len(units) < len(heldout) + 1:
        raise RecordedMusicError(f"{len(units)} split units ({', '.join(units) or 'none'}) cannot fill train + "
                                 f"{len(heldout)} held-out splits: install more of {' '.join(package_names())}")
    total = sum(units.values())
    package_of = {t.group: t.package for t in tracks}
    need = max(1, min(min_train_packages, len(set(package_of.values())) - 1))
    order = list(units)
    random.Random(seed).shuffle(order)
    assign: Dict[str, str] = {}

    def train_keeps(u: str) -> bool:
        left = [v for v in units if v not in assign and v != u]
        return bool(left) and len({package_of[v] for v in left}) >= need

    for split, frac in heldout:
        if not 0.0 < frac < 1.0:
            raise RecordedMusicError(f"held-out fraction of {split!r} must be in (0, 1), got {frac}")
        target, acc = frac * total, 0.0
        for u in order:
            if u in assign or acc >= target or not train_keeps(u):
                continue
            if acc + units[u] <= (1.0 + tolerance) * target:
                assign[u] = split
                acc += units[u]
        if acc == 0.0:
            free = [u for u in order if u not in assign and train_keeps(u)]
            if not free:
                raise RecordedMusicError(f"no split unit left for {split!r} that keeps {need} packages in train: "
                                         f"install more of {' '.join(package_names())} or lower min_train_packages")
            assign[min(free, key=lambda u: (units[u], u))] = split
    out: Dict[str, List[RecordedTrack]] = {"train": []}
    out.update({s: [] for s in names})
    for t in sorted(tracks, key=lambda t: (t.package, t.relpath)):
        out[assign.get(t.group, "train")].append(t)
    return out


def plan_excerpts(tracks: Sequence[RecordedTrack], n: int, seconds: float,
                  rng: random.Random) -> List[Tuple[RecordedTrack, float]]:
    """``n`` (track, start second) pairs: tracks are visited in a fresh ``rng`` shuffle per round,
    so every track is used once before any is used again; the start is uniform in
    ``[0, track seconds - seconds]`` (0 when the track is shorter; the excerpt is then padded)."""
    if n > 0 and not tracks:
        raise RecordedMusicError(f"cannot plan {n} excerpts from an empty track list")
    if seconds <= 0:
        raise RecordedMusicError(f"excerpt length must be positive, got {seconds}")
    ordered = sorted(tracks, key=lambda t: (t.package, t.relpath))
    out: List[Tuple[RecordedTrack, float]] = []
    while len(out) < n:
        rnd = list(ordered)
        rng.shuffle(rnd)
        for t in rnd[: n - len(out)]:
            out.append((t, round(rng.uniform(0.0, max(0.0, t.seconds - seconds)), 3)))
    return out


def _read_excerpt(path: str, start_sec: float, seconds: float) -> Tuple[np.ndarray, int]:
    """float64 (N, 2) excerpt at the file's own rate, zero-padded past the end of the file."""
    import soundfile as sf

    try:
        with sf.SoundFile(path) as f:
            sr = int(f.samplerate)
            first = int(round(start_sec * sr))
            if first >= f.frames:
                raise RecordedMusicError(f"{path}: excerpt start {start_sec:.3f} s is past the end "
                                         f"({f.frames / sr:.3f} s)")
            want = int(math.ceil(seconds * sr))
            f.seek(first)
            x = f.read(want, dtype="float64", always_2d=True)
    except (RuntimeError, OSError) as exc:  # soundfile.LibsndfileError is a RuntimeError
        raise RecordedMusicError(f"{path}: unreadable audio ({exc})") from exc
    if x.shape[1] == 1:
        x = np.repeat(x, 2, axis=1)
    x = x[:, :2]
    if len(x) < want:
        x = np.pad(x, ((0, want - len(x)), (0, 0)))
    return x, sr


def recorded_track(path: str, start_sec: float, seconds: float, rng: random.Random,
                   sr: int = MUSDB_SR, level_db: Tuple[float, float] = (-26.0, -14.0),
                   fade_s: Tuple[float, float] = (0.1, 1.0)) -> Dict[str, np.ndarray]:
    """MUSDB18-HQ stems of one excerpt: ``{"mixture", "drums", "bass", "other", "vocals"}``, each
    int16 (T, 2) with T = round(seconds * sr) at ``sr`` Hz.

    ``other`` = the excerpt from ``start_sec`` (mono files duplicated to stereo, resampled with
    soxr HQ, zero-padded past the end of the file) with raised-cosine fade-in and fade-out whose
    lengths are drawn from ``fade_s`` (at most a quarter of the excerpt each), scaled to an RMS
    drawn from ``level_db`` dBFS and limited to a 0.89 peak (a silent excerpt is not amplified);
    drums, bass and vocals are silent; mixture is their exact integer sum. ``rng`` draws, in
    order: fade-in, fade-out, level.
    """
    if seconds <= 0 or start_sec < 0:
        raise RecordedMusicError(f"{path}: need start >= 0 and seconds > 0, got start={start_sec}, seconds={seconds}")
    x, sr0 = _read_excerpt(path, start_sec, seconds)
    if sr0 != sr:
        x = np.stack([resample(x[:, c], sr0, sr) for c in range(2)], axis=1)
    n = int(round(seconds * sr))
    x = x[:n] if len(x) >= n else np.pad(x, ((0, n - len(x)), (0, 0)))
    for k, ramp_up in ((int(rng.uniform(*fade_s) * sr), True), (int(rng.uniform(*fade_s) * sr), False)):
        k = min(k, n // 4)
        if k > 0:
            ramp = 0.5 - 0.5 * np.cos(np.linspace(0.0, np.pi, k))
            if ramp_up:
                x[:k] *= ramp[:, None]
            else:
                x[n - k:] *= ramp[::-1, None]
    target = 10.0 ** (rng.uniform(*level_db) / 20.0)
    rms = float(np.sqrt(np.mean(x ** 2))) if n else 0.0
    if rms > 1e-5:
        x = x * (target / rms)
    peak = float(np.max(np.abs(x))) if n else 0.0
    if peak > 0.89:
        x = x * (0.89 / peak)
    stems = {name: np.zeros((n, 2), dtype=np.int16) for name in STEMS}
    stems["other"] = to_int16(x)
    mix = sum(stems[name].astype(np.int32) for name in STEMS)
    stems["mixture"] = np.clip(mix, -32768, 32767).astype(np.int16)
    return stems


_UNSAFE = re.compile(r"[^\w .,'()&+-]+")


def musdb_name(track: RecordedTrack, index: int) -> str:
    """MUSDB-style folder name ``"<Artist> - <Title> (excerpt <index>)"`` (file-system safe)."""
    artist = _UNSAFE.sub(" ", track.artist).strip() or track.package
    title = _UNSAFE.sub(" ", track.title).strip() or os.path.splitext(os.path.basename(track.relpath))[0]
    return f"{artist} - {title} (excerpt {index})"


def sources_table(splits: Dict[str, List[RecordedTrack]], root: str = "/") -> str:
    """Markdown table: package, split unit, split, tracks, minutes, licence, installed size (MB,
    from ``du`` of the unit's files)."""
    rows = ["| package | split unit | split | tracks | minutes | licence | MB on disk |",
            "|---|---|---|---:|---:|---|---:|"]
    per: Dict[Tuple[str, str, str], List[RecordedTrack]] = {}
    for split, ts in splits.items():
        for t in ts:
            per.setdefault((t.package, t.group, split), []).append(t)
    for (pkg, group, split), ts in sorted(per.items()):
        mb = sum(os.path.getsize(t.path) for t in ts) / 1e6
        rows.append(f"| {pkg} | {group} | {split} | {len(ts)} | {sum(t.seconds for t in ts) / 60:.1f} | "
                    f"{ts[0].licence} | {mb:.1f} |")
    return "\n".join(rows)


def excerpt_rms_db(stems: Dict[str, np.ndarray]) -> float:
    """RMS of the mixture in dBFS (-inf for silence); for statistics and tests."""
    x = stems["mixture"].astype(np.float64) / 32767.0
    rms = float(np.sqrt(np.mean(x ** 2))) if x.size else 0.0
    return 20.0 * math.log10(rms) if rms > 0 else float("-inf")

