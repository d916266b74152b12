"""Export a model directory's separator, ASR encoder+CTC (and, for ONNX, the attention decoder).

  jrsv export --model DIR --out DIR [--format torchscript|onnx]

TorchScript (default): separator.ts, asr_ctc.ts. ONNX: separator.onnx, asr_ctc.onnx,
decoder.onnx and their int8 variants (*.int8.onnx); ``--out MODEL_DIR/onnx`` is what
``jrsv decode --backend onnx`` then uses. Both write units.txt and export.json (with the largest
difference from the eager model on a check input of another length).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from jrsv.decode.export import EXPORT_FORMATS, export_engine


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", required=True, help="model directory")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--format", choices=EXPORT_FORMATS, default="torchscript")


def run(args: argparse.Namespace) -> int:
    from jrsv.decode.engine import DecodeEngine
    from jrsv.decode.onnx_engine import model_source
    try:
        engine = DecodeEngine.from_model_dir(args.model)
        source = model_source(Path(args.model)) if args.format == "onnx" else None
        manifest = export_engine(engine, args.out, args.format, source=source)
    except Exception as e:  # noqa: BLE001 - one-line error for any failure
        print(f"jrsv export: error: {' '.join(str(e).split())}", file=sys.stderr)
        return 1
    for name, m in manifest["models"].items():
        print(f"{name}: {args.out}/{m['file']} (max |exported - eager| = {m['max_abs_diff_vs_eager']:.3g})")
        if "int8_file" in m:
            print(f"{name} int8: {args.out}/{m['int8_file']} "
                  f"(max |exported - eager| = {m['int8_max_abs_diff_vs_eager']:.3g})")
    return 0
