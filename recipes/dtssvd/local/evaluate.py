#!/usr/bin/env python3
"""Stage 5 of recipes/dtssvd/run.sh: decode and score the DTSSVD test set (paper Tables 1-4).

    local/evaluate.py --data DATA --exp EXP --scores EXP/scores [--split test]
        [--device cpu] [--beam-size 10] [--max-utts N] [--tables 1,2,3,4] [--force]

Reads ``DATA/dtssvd/<split>.jsonl`` (stage 1) and the model directories ``EXP/<name>/final``
(stages 2-4); the table rows (:data:`SYSTEMS`) and the ``EXP/<name>`` naming are this recipe's,
the scoring is the library's (:mod:`jrsv.eval`: passes, tallies, score files). Evaluates those
that exist and writes one score file per system
(:mod:`jrsv.eval.scores` schema) plus ``<stem>.done`` (the config, for skip-if-done) and
``decode/<stem>.txt`` (per-utterance REF / HYP / errors) under ``--scores``:

  Table 1  1_asr_{speech,singing,multi}.json   fbank ASR on the mixture, CER vs both transcripts;
                                               "unmixed": each row's references recognised alone
  Table 2  2_mtass_{mae,dis,dis_cst}.json      SDRi of iSTFT(MTASS magnitude, mixture phase)
  Table 3  3_cascade_{mae,dis,dis_cst}.json    Cascade(MTASS variant, asr_multi) CER
  Table 4  4_jrsv_{t,f,fd}.json                JRSV.transcribe CER

and ``example.npz`` (2-D (T, F) magnitudes of one overlap-0.5 row from the best MTASS) for the
report's spectrogram figure. A score file newer than its models' ``model.pt`` with the same
config is kept (``--force`` recomputes). A model directory that fails to load is named and
skipped; the exit status is then 1.
"""
from __future__ import annotations

import argparse
import math
import shlex
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from jrsv.atomic import atomic_path
from jrsv.checksum import sha256_file
from jrsv.constants import NUM_BINS, NUM_MEL_BINS, StftFrontend
from jrsv.eval.decode_sets import EvalSet, ManifestError
from jrsv.eval.freshness import is_up_to_date, write_done
from jrsv.eval.passes import (cascade_pass, direct_asr_pass, example_magnitudes, example_row,
                              jrsv_pass, separation_pass)
from jrsv.eval.scores import ScoreFile, read_score, write_score
from jrsv.eval.tally import UNMIXED, voices_of
from jrsv.model_io import ModelDirError, load_model_dir, read_config
from jrsv.nn.frontend import Stft

EVAL_VERSION = 1
DECODE_MODES = ("attention_rescoring", "ctc_prefix_beam_search", "ctc_greedy_search", "attention")
MTASS_PREFERENCE = ("mtass_dis_cst", "mtass_dis", "mtass_mae")


@dataclass(frozen=True)
class System:
    """One row of a paper table: its score file stem and the model directories it needs."""
    table: int
    name: str
    stem: str
    dirs: tuple[str, ...]


SYSTEMS: tuple[System, ...] = (
    System(1, "speech", "1_asr_speech", ("asr_speech",)),
    System(1, "singing", "1_asr_singing", ("asr_singing",)),
    System(1, "multi", "1_asr_multi", ("asr_multi",)),
    System(2, "MTASS", "2_mtass_mae", ("mtass_mae",)),
    System(2, "+ L_dis", "2_mtass_dis", ("mtass_dis",)),
    System(2, "+ L_cst", "2_mtass_dis_cst", ("mtass_dis_cst",)),
    System(3, "ASR / MTASS", "3_cascade_mae", ("mtass_mae", "asr_multi")),
    System(3, "+ L_dis", "3_cascade_dis", ("mtass_dis", "asr_multi")),
    System(3, "+ L_dis + L_cst", "3_cascade_dis_cst", ("mtass_dis_cst", "asr_multi")),
    System(4, "JRSV-t", "4_jrsv_t", ("jrsv_t",)),
    System(4, "JRSV-f", "4_jrsv_f", ("jrsv_f",)),
    System(4, "JRSV-f-d", "4_jrsv_fd", ("jrsv_fd",)),
    # JRSV-f-d trained on past the budget that JRSV-t/-f/-f-d share (the bundled default model:
    # local/train_default_model.sh --fd-more-steps); not a paper row
    System(4, "JRSV-f-d, longer", "4_jrsv_fd_more", ("jrsv_fd_more",)),
    # that model fine-tuned (model.init) on the corpora with the neural training voices added
    # (local/train_default_model.sh --neural-steps); not a paper row
    System(4, "JRSV-f-d, + neural voices", "4_jrsv_neural", ("jrsv_neural",)),
)


def find_manifest(data: Path, split: str) -> Path:
    """``DATA/dtssvd/<split>.jsonl`` (or ``DATA/dtssvd/<split>/<split>.jsonl``); else ManifestError."""
    candidates = [data / "dtssvd" / f"{split}.jsonl", data / "dtssvd" / split / f"{split}.jsonl"]
    for c in candidates:
        if c.is_file():
            return c
    raise ManifestError(f"{split} manifest {candidates[0]} not found; it is built by stage 1 of "
                        f"recipes/dtssvd/run.sh (python -m dtssvd.build --out {data}/dtssvd)")


def find_music_cache(manifest: Path, data: Path) -> Path | None:
    """The resampled MUSDB cache dtssvd.build wrote next to the manifest, if any."""
    for c in (manifest.parent / "cache" / "musdb", data / "dtssvd" / "cache" / "musdb"):
        if c.is_dir():
            return c
    return None


def log(msg: str) -> None:
    print(f"evaluate: {msg}", file=sys.stderr, flush=True)


def stft_from_config(conf: dict[str, Any]) -> Stft:
    """The analysis STFT a separator was trained with (config.yaml ``frontend``)."""
    fe = StftFrontend.from_config(conf.get("frontend"))
    return Stft(fe.n_fft, fe.hop_length, fe.win_length)


class ModelPool:
    """Loads ``EXP/<name>/final`` once each; remembers which are missing or broken."""

    def __init__(self, exp: Path, device: torch.device):
        self.exp, self.device = exp, device
        self.models: dict[str, nn.Module] = {}
        self.stfts: dict[str, Stft] = {}
        self.failed: dict[str, str] = {}

    def path(self, name: str) -> Path:
        return self.exp / name / "final"

    def weights(self, name: str) -> Path:
        return self.path(name) / "model.pt"

    def exists(self, name: str) -> bool:
        return self.path(name).exists()

    def get(self, name: str) -> nn.Module | None:
        """The loaded model, or None (the error is logged once and remembered)."""
        if name in self.models:
            return self.models[name]
        if name in self.failed:
            return None
        path = self.path(name)
        try:
            model = load_model_dir(path, self.device)
            conf = read_config(path)
            self._check(name, path, conf)
        except ModelDirError as e:
            self.failed[name] = str(e)
            log(f"error: {e}")
            return None
        self.models[name] = model
        if conf["model"]["kind"] != "asr":     # an ASR's frontend is its fbank
            self.stfts[name] = stft_from_config(conf).to(self.device)
        return model

    def _check(self, name: str, path: Path, conf: dict[str, Any]) -> None:
        want = name.split("_")[0]          # asr_* / mtass_* / jrsv_* directories
        model = conf["model"]
        if model["kind"] != want:
            raise ModelDirError(path, f"kind is {model['kind']!r}, {name} needs a {want} model")
        if want == "asr" and (model.get("feature"), model.get("input_dim")) != ("fbank", NUM_MEL_BINS):
            raise ModelDirError(path, f"asr feature is {model.get('feature')} "
                                      f"({model.get('input_dim')}-dim), {name} must take 80-dim "
                                      f"fbank")
        if want in ("mtass", "jrsv"):
            bins = stft_from_config(conf).num_bins
            mtass = model if want == "mtass" else model["mtass"]
            dim = int(mtass.get("input_dim", NUM_BINS))
            if dim != bins:
                raise ModelDirError(path, f"mtass input_dim {dim} != {bins} STFT bins")


def score_from_tally(system: System, tally, command: str, voices=None) -> ScoreFile:
    """The score file of one system; ``voices`` (row id -> {track: speaker / singer}) adds the
    per-voice breakdown over the mixtures."""
    unmixed = tally.cer(UNMIXED) if system.table == 1 else None
    return ScoreFile(table=system.table, system=system.name,
                     metric="sdri" if system.table == 2 else "cer",
                     per_overlap=tally.per_overlap(), unmixed=unmixed or None,
                     counts=tally.count_dict(), command=command,
                     per_voice=tally.per_voice(voices) if voices else None)


def run_system(system: System, pool: ModelPool, evalset: EvalSet, args, mix_cache: dict):
    """Evaluate one system -> its tally (CerTally or SdriTally)."""
    desc = f"T{system.table} {system.name}"
    kw = dict(mode=args.decode_mode, beam_size=args.beam_size)
    if system.table == 1:
        return direct_asr_pass(pool.get(system.dirs[0]), evalset, pool.device, desc, **kw)
    if system.table == 2:
        name = system.dirs[0]
        return separation_pass(pool.get(name), pool.stfts[name], evalset, pool.device, desc,
                               mix_cache)
    if system.table == 3:
        from jrsv.jrsv import Cascade
        name = system.dirs[0]
        cascade = Cascade(pool.get(name), pool.get("asr_multi"), stft=pool.stfts[name])
        cascade.to(pool.device).eval()
        return cascade_pass(cascade, pool.stfts[name], evalset, pool.device, desc, **kw)
    name = system.dirs[0]
    return jrsv_pass(pool.get(name), pool.stfts[name], evalset, pool.device, desc, **kw)


def write_outputs(out: Path, score: ScoreFile, tally, config: dict, models: dict[str, str]
                  ) -> None:
    """The score file, its ``.done`` marker, and (CER tables) ``decode/<stem>.txt``."""
    if hasattr(tally, "lines"):
        hyp = out.parent / "decode" / f"{out.stem}.txt"
        hyp.parent.mkdir(parents=True, exist_ok=True)
        hyp.write_text("\n".join(tally.lines) + "\n", encoding="utf-8")
    write_score(out, score)
    write_done(out, config, models)


def format_scores(score: ScoreFile) -> str:
    def pair(d):
        return " / ".join("nan" if math.isnan(d.get(t, math.nan)) else f"{d[t]:.1f}"
                          for t in ("speech", "singing"))
    parts = [f"{o}: {pair(v)}" for o, v in sorted(score.per_overlap.items())]
    if score.unmixed:
        parts.insert(0, f"unmixed: {pair(score.unmixed)}")
    for track in ("speech", "singing"):
        worst = score.worst_voice(track)
        if worst:
            parts.append(f"worst {track} voice {worst[0]}: {worst[1]:.1f}")
    return "; ".join(parts)


def best_mtass(pool: ModelPool, scores_dir: Path) -> str | None:
    """The MTASS with the highest mean SDRi among those scored; else the first by preference."""
    ranked = []
    for rank, name in enumerate(MTASS_PREFERENCE):
        if not pool.exists(name) or name in pool.failed:
            continue
        path = scores_dir / f"2_{name}.json"
        mean = -math.inf
        if path.is_file():
            try:
                s = read_score(path)
                vals = [s.average(t) for t in ("speech", "singing")]
                if not any(math.isnan(v) for v in vals):
                    mean = sum(vals) / 2
            except ValueError:
                pass
        ranked.append((-mean, rank, name))
    for _, _, name in sorted(ranked):
        if pool.get(name) is not None:
            return name
    return None


def write_example(pool: ModelPool, evalset: EvalSet, scores_dir: Path, config: dict,
                  force: bool) -> None:
    """``example.npz``: one overlap-0.5 row separated by the best MTASS (skipped if current)."""
    name = best_mtass(pool, scores_dir)
    if name is None:
        log("example.npz: no MTASS model available, not written")
        return
    out = scores_dir / "example.npz"
    sha = config["manifest_sha256"]
    if not force and out.is_file() and out.stat().st_mtime > pool.weights(name).stat().st_mtime:
        try:
            with np.load(out) as old:
                if str(old["model"]) == name and str(old["manifest_sha256"]) == sha:
                    log(f"example.npz: up to date ({name})")
                    return
        except (OSError, ValueError, KeyError):
            pass
    row = example_row(evalset, 0.5)
    mags = example_magnitudes(pool.get(name), pool.stfts[name], evalset, row, pool.device)
    r = evalset.row(row)
    with atomic_path(out, suffix=".npz") as tmp:
        np.savez(tmp, **mags, model=np.array(name), id=np.array(r["id"]),
                 overlap=np.array(float(r["overlap"])), manifest_sha256=np.array(sha))
    log(f"example.npz: {r['id']} (overlap {r['overlap']}) separated by {name}")


def open_evalset(manifest: Path, args: argparse.Namespace) -> EvalSet:
    """The selected, batched test rows (opened once, only when something must be computed)."""
    music = args.music_cache or find_music_cache(manifest, args.data)
    evalset = EvalSet(manifest, music, args.max_utts, args.max_frames, args.max_batch,
                      args.num_workers)
    log(f"{manifest}: {len(evalset)} rows in {len(evalset.batches)} batches"
        f" (music cache: {music or 'none, music read from the MUSDB stems'})")
    return evalset


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="local/evaluate.py",
                                description=__doc__.split("\n")[0])
    p.add_argument("--data", type=Path, required=True, help="recipe data dir (stage 0-1 output)")
    p.add_argument("--exp", type=Path, required=True, help="experiment dir with <model>/final")
    p.add_argument("--scores", type=Path, required=True, help="where score files are written")
    p.add_argument("--split", default="test")
    p.add_argument("--manifest", type=Path, default=None,
                   help="override DATA/dtssvd/<split>.jsonl")
    p.add_argument("--music-cache", type=Path, default=None,
                   help="resampled MUSDB cache (default: the one dtssvd.build wrote)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--beam-size", type=int, default=10)
    p.add_argument("--decode-mode", default="attention_rescoring", choices=DECODE_MODES)
    p.add_argument("--max-utts", type=int, default=None,
                   help="evaluate N rows (taken round-robin over the overlap ratios)")
    p.add_argument("--max-frames", type=int, default=12000,
                   help="padded STFT frames (62.5 / s) per batch")
    p.add_argument("--max-batch", type=int, default=32, help="rows per batch at most")
    p.add_argument("--num-workers", type=int, default=2, help="audio loading workers")
    p.add_argument("--tables", default="1,2,3,4", help="comma-separated subset of 1,2,3,4")
    p.add_argument("--force", action="store_true", help="recompute up-to-date score files")
    return p


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    command = "local/evaluate.py " + shlex.join(argv)
    try:
        tables = {int(t) for t in args.tables.split(",") if t.strip()}
    except ValueError:
        tables = set()
    if not tables or not tables <= {1, 2, 3, 4}:
        print(f"evaluate: error: --tables {args.tables!r}: expected a subset of 1,2,3,4",
              file=sys.stderr)
        return 2
    try:
        manifest = args.manifest or find_manifest(args.data, args.split)
        if not manifest.is_file():
            raise ManifestError(f"test manifest {manifest} not found")
        sha = sha256_file(manifest)
    except ManifestError as e:
        print(f"evaluate: error: {e}", file=sys.stderr)
        return 2
    config = {"version": EVAL_VERSION, "split": args.split, "beam_size": args.beam_size,
              "decode_mode": args.decode_mode, "max_utts": args.max_utts,
              "manifest_sha256": sha}
    try:
        device = torch.device(args.device)
        torch.empty(0, device=device)
    except (RuntimeError, AssertionError) as e:
        print(f"evaluate: error: --device {args.device}: {' '.join(str(e).split())}",
              file=sys.stderr)
        return 2
    pool = ModelPool(args.exp, device)
    evalset: EvalSet | None = None
    mix_cache: dict = {}
    runtime_failures: list[str] = []
    written = kept = 0
    for system in (s for s in SYSTEMS if s.table in tables):
        label = f"Table {system.table} {system.name!r} ({system.stem})"
        missing = [d for d in system.dirs if not pool.exists(d)]
        if missing:
            log(f"{label}: skipped, missing {', '.join(str(pool.path(d)) for d in missing)}")
            continue
        out = args.scores / f"{system.stem}.json"
        weights = [pool.weights(d) for d in system.dirs]
        if not args.force and is_up_to_date(out, config, weights):
            log(f"{label}: up to date ({out})")
            kept += 1
            continue
        if any(pool.get(d) is None for d in system.dirs):
            bad = [d for d in system.dirs if d in pool.failed]
            log(f"{label}: skipped, {', '.join(bad)} failed to load")
            continue
        try:
            evalset = evalset if evalset is not None else open_evalset(manifest, args)
            t0 = time.time()
            with torch.inference_mode():
                tally = run_system(system, pool, evalset, args, mix_cache)
            score = score_from_tally(system, tally, command, voices_of(evalset.data.rows))
            write_outputs(out, score, tally, config, {d: str(pool.path(d)) for d in system.dirs})
            written += 1
            log(f"{label}: {score.metric} {format_scores(score)} ({time.time() - t0:.1f} s)")
        except ManifestError as e:
            print(f"evaluate: error: {e}", file=sys.stderr)
            return 2
        except Exception as e:  # noqa: BLE001 - one system failing must not stop the others
            msg = f"{label}: {type(e).__name__}: {' '.join(str(e).split())}"
            runtime_failures.append(msg)
            log(f"error: {msg}")
            traceback.print_exc(limit=-3, file=sys.stderr)
    if 2 in tables or 3 in tables:
        try:
            evalset = evalset if evalset is not None else open_evalset(manifest, args)
            with torch.inference_mode():
                write_example(pool, evalset, args.scores, config, args.force)
        except Exception as e:  # noqa: BLE001
            runtime_failures.append(f"example.npz: {type(e).__name__}: {e}")
            log(f"error: example.npz: {type(e).__name__}: {' '.join(str(e).split())}")
    log(f"{written} score files written, {kept} up to date, in {args.scores}")
    if pool.failed or runtime_failures:
        if pool.failed:
            log(f"{len(pool.failed)} model directories failed to load: "
                f"{', '.join(str(pool.path(n)) for n in pool.failed)}")
        if runtime_failures:
            log(f"{len(runtime_failures)} evaluations failed")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
