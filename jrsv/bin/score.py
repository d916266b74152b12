"""CER of ``jrsv decode`` transcripts of a DTSSVD list, per overlap ratio and track: a row of
the model card's Table 4, from the program users run.

  jrsv build-dtssvd ... --out DTSSVD --splits test --write-wav
  jrsv decode DTSSVD/wav/test/*/mixture.wav --whole-input --beam-size 10 --model DIR --output-dir HYP
  jrsv score --list DTSSVD/test.jsonl --transcripts HYP [--out score.json] [--system NAME]

Reads ``HYP/<id>/mixture.json`` (or ``HYP/<id>.json``) for every row of the list; prints the
table row (``| 4 | NAME | % CER | 0.0 | 0.1 | 0.3 | 0.5 | 1.0 | avg |``, speech / singing) and
with ``--out`` writes the recipe's score-file JSON (``jrsv.eval.scores``) atomically. With
``--whole-input`` and the recipe's beam the numbers are the recipe's (stage 5).
Exit status: 0; 1 for a missing or bad list or transcript (one line naming the file).
"""
from __future__ import annotations

import argparse
import math
import shlex
import sys
from pathlib import Path

from jrsv.eval.scores import OVERLAPS, ScoreFile, write_score


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--list", type=Path, required=True, help="DTSSVD list (dtssvd.build jsonl)")
    p.add_argument("--transcripts", type=Path, required=True,
                   help="jrsv decode --format json output directory")
    p.add_argument("--system", default="jrsv decode", help="the row's name in the table")
    p.add_argument("--out", type=Path, default=None, help="also write the score file here")


def table_row(score: ScoreFile) -> str:
    """``| 4 | system | % CER | s / g | ... | avg s / g |`` (the model card's layout)."""
    def pair(d: dict) -> str:
        return " / ".join(f"{d.get(t, math.nan):.1f}" for t in ("speech", "singing"))
    cells = " | ".join(pair(score.per_overlap.get(o, {})) for o in OVERLAPS)
    avg = pair({t: score.average(t) for t in ("speech", "singing")})
    return f"| {score.table} | {score.system} | % CER | {cells} | {avg} |"


def run(args: argparse.Namespace) -> int:
    from jrsv.eval.transcripts import score_file, score_transcripts
    try:
        tally = score_transcripts(args.list, args.transcripts)
        command = shlex.join(["jrsv", "score", "--list", str(args.list), "--transcripts",
                              str(args.transcripts), "--system", args.system])
        score = score_file(tally, args.system, command)
        if args.out is not None:
            write_score(args.out, score)
    except ValueError as e:
        print(f"jrsv score: error: {' '.join(str(e).split())}", file=sys.stderr)
        return 1
    except OSError as e:
        print(f"jrsv score: error: {args.out}: cannot write the score file ({e.strerror or e})",
              file=sys.stderr)
        return 1
    print("| table | system | metric | " + " | ".join(OVERLAPS) + " | avg |")
    print(table_row(score))
    return 0


def main(argv: list[str] | None = None) -> int:
    from jrsv.bin.logs import setup_logging
    setup_logging("jrsv score")
    p = argparse.ArgumentParser(prog="jrsv score", description=__doc__.split("\n")[0])
    add_arguments(p)
    return run(p.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
