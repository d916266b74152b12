"""Export a model directory's separator and ASR encoder+CTC (TorchScript by default).

  jrsv export --model DIR --out DIR [--format torchscript|onnx]

Writes separator.ts, asr_ctc.ts, units.txt and export.json (with the largest difference from
the eager model on a check input of another length).
"""
from __future__ import annotations

import argparse
import sys

from jrsv.decode.export import EXPORT_FORMATS, export_engine


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", required=True, help="model directory")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--format", choices=EXPORT_FORMATS, default="torchscript")


def run(args: argparse.Namespace) -> int:
    from jrsv.decode.engine import DecodeEngine
    try:
        engine = DecodeEngine.from_model_dir(args.model)
        manifest = export_engine(engine, args.out, args.format)
    except Exception as e:  # noqa: BLE001 - one-line error for any failure
        print(f"jrsv export: error: {' '.join(str(e).split())}", file=sys.stderr)
        return 1
    for name, m in manifest["models"].items():
        print(f"{name}: {args.out}/{m['file']} (max |exported - eager| = {m['max_abs_diff_vs_eager']})")
    return 0
