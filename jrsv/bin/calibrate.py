"""Calibrate a model's decoder confidence gate on held-out (dev) audio.

    jrsv calibrate --model jrsv/pretrained/default --corpora DIR [--write]

The decoder drops a segment whose mean CTC peak posterior is below ``min_confidence``: that
removes words hallucinated on music, but a gate set too high also removes real words, and
where the balance lies depends on the model (a small model is less sure of everything).
This builds a stream from the *dev* split of corpora in the AISHELL-1 / OpenSinger / MUSDB18-HQ
layouts (``--corpora``; for a model trained on generated corpora, those: ``jrsv make-corpora
--preset P --seed S --out DIR`` with the model's ``trained_on``): DTSSVD mixtures separated by
stretches of music alone. It decodes it once with the gate off,
then scores, for every threshold on a grid, the segments that threshold would keep (CER of
each track over the whole stream, insertions on the music-only stretches included). The
threshold with the lowest mean CER of the two tracks wins (the lowest such on ties);
``--write`` stores it in the model's config.yaml (``decode.min_confidence``), which
``jrsv decode``, ``jrsv.Transcriber`` and ``make demo`` then use by default.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch
import yaml

from jrsv.asr.cer import align_counts
from jrsv.atomic import atomic_write_text
from jrsv.constants import SAMPLE_RATE, TRACKS
from jrsv.decode.formats import Transcript


def threshold_grid(step: float = 0.05) -> list[float]:
    """0, step, 2 step, ... < 1."""
    return [round(i * step, 4) for i in range(int(round(1 / step)))]


def sweep(transcript: Transcript, refs: dict[str, str], grid: list[float]) -> list[dict]:
    """CER per track of the segments each threshold keeps.

    Args:
        transcript: decoded with the gate off (every segment with its confidence).
        refs: {track: reference text of the whole stream}.
    Returns:
        one row per threshold: {"threshold", "<track>_cer" (%), "<track>_errors", "mean_cer"}.
    """
    rows = []
    for t in grid:
        row: dict = {"threshold": t}
        for track in TRACKS:
            hyp = "".join(s.text for s in transcript.track(track) if s.confidence >= t)
            c = align_counts(refs[track], hyp.replace(" ", ""))
            row[f"{track}_cer"], row[f"{track}_errors"] = 100.0 * c.cer, c.errors
        row["mean_cer"] = sum(row[f"{k}_cer"] for k in TRACKS) / len(TRACKS)
        rows.append(row)
    return rows


def best_threshold(rows: list[dict]) -> dict:
    """The row with the lowest mean CER (the lowest threshold among equals)."""
    return min(rows, key=lambda r: (round(r["mean_cer"], 9), r["threshold"]))


def write_threshold(model_dir: Path, threshold: float, note: str) -> None:
    """Set ``decode.min_confidence`` in ``model_dir/config.yaml`` (atomically)."""
    path = model_dir / "config.yaml"
    conf = yaml.safe_load(path.read_text(encoding="utf-8"))
    conf.setdefault("decode", {})
    conf["decode"]["min_confidence"] = float(threshold)
    conf["decode"]["min_confidence_calibration"] = note
    _atomic_text(path, yaml.safe_dump(conf, sort_keys=False, allow_unicode=True))
    card = model_dir / "MODEL_CARD.md"
    if card.is_file():  # keep the card's account of the model in step with its config
        text = card.read_text(encoding="utf-8")
        head = text.split(CARD_SECTION)[0].rstrip("\n")
        _atomic_text(card, f"{head}\n\n{CARD_SECTION}\n`decode.min_confidence: {threshold:g}`, "
                           f"chosen by {note}.\n")


CARD_SECTION = "## Confidence gate"


def _atomic_text(path: Path, text: str) -> None:
    atomic_write_text(path, text)


def main(argv: list[str] | None = None) -> int:
    from jrsv.eval.sample_stream import build_stream, corpus_of
    from jrsv.decode.pipeline import DecodeConfig
    from jrsv.decode.transcriber import Transcriber

    ap = argparse.ArgumentParser(prog="jrsv calibrate",
                                 description=__doc__.split("\n")[0])
    ap.add_argument("--model", type=Path, required=True, help="model directory")
    ap.add_argument("--corpora", type=Path, required=True,
                    help="corpora directory (data_aishell/, OpenSinger/, musdb18hq/): for a model "
                         "trained on generated corpora, a generator run of its trained_on preset")
    ap.add_argument("--split", default="dev", help="corpus split the stream is made from")
    ap.add_argument("--mixtures", type=int, default=30, help="DTSSVD mixtures in the stream")
    ap.add_argument("--music-gap", type=float, default=3.0,
                    help="seconds of music alone after each mixture")
    ap.add_argument("--step", type=float, default=0.05, help="threshold grid step")
    ap.add_argument("--beam-size", type=int, default=1, help="decoder beam (as jrsv decode)")
    ap.add_argument("--out", type=Path, default=Path("build") / "calibrate")
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: default)")
    ap.add_argument("--write", action="store_true",
                    help="store the chosen threshold in the model's config.yaml")
    a = ap.parse_args(argv)
    if not (a.model / "config.yaml").is_file():
        print(f"error: {a.model}: no model directory (config.yaml missing)", file=sys.stderr)
        return 1
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    size, seed = corpus_of(a.model)
    if not a.corpora.is_dir():
        print(f"error: {a.corpora}: no corpora directory (generate the model's with `jrsv "
              f"make-corpora --preset {size} --seed {seed} --out {a.corpora}`)", file=sys.stderr)
        return 1
    refs = build_stream(a.corpora, a.out, n=a.mixtures, split=a.split, seed=seed + 1,
                        music_gap_s=a.music_gap)
    dur = len(refs["mixture"]) / SAMPLE_RATE
    print(f"[calibrate] {a.split} stream: {a.out / 'stream.wav'} ({dur:.1f} s, {a.mixtures} "
          f"mixtures, {a.music_gap:g} s of music alone after each)", flush=True)
    t0 = time.perf_counter()
    tr = Transcriber(a.model, beam_size=a.beam_size, config=DecodeConfig(min_confidence=0.0))
    transcript = tr.transcribe(a.out / "stream.wav")
    print(f"[calibrate] decoded in {time.perf_counter() - t0:.1f} s", flush=True)
    texts = {t: "".join(s[t] for s in refs["segments"]) for t in TRACKS}
    rows = sweep(transcript, texts, threshold_grid(a.step))
    print("threshold  speech CER  singing CER  mean")
    for r in rows:
        print(f"  {r['threshold']:5.2f}    {r['speech_cer']:7.1f}     {r['singing_cer']:7.1f}  "
              f"{r['mean_cer']:6.1f}")
    best = best_threshold(rows)
    note = (f"jrsv calibrate: {a.split} split, {a.mixtures} mixtures + "
            f"{a.music_gap:g} s music-only gaps, beam {a.beam_size}: CER "
            f"{best['speech_cer']:.1f} / {best['singing_cer']:.1f} % (gate off: "
            f"{rows[0]['speech_cer']:.1f} / {rows[0]['singing_cer']:.1f} %)")
    print(f"[calibrate] best gate {best['threshold']:.2f}: {note}")
    if a.write:
        write_threshold(a.model, best["threshold"], note)
        print(f"[calibrate] wrote decode.min_confidence={best['threshold']:.2f} to "
              f"{a.model / 'config.yaml'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
