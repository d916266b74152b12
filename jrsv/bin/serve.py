"""Live captioning server: websocket for live PCM, HTTP for whole files, and a caption page.

  jrsv serve [--model DIR] [--host 127.0.0.1] [--port 8765] [--threads 2]

Open http://HOST:PORT/ for the page (two caption lanes, speech and lyrics; stream the
microphone or a file); http://HOST:PORT/?overlay=1 is the transparent overlay for a streaming
program's browser source. Websocket ws://HOST:PORT/ws/live: optional first text message
{"sample_rate": 48000, "channels": 1, "format": "s16le"|"f32le"} (default 16 kHz mono s16le),
then binary PCM messages, then {"type": "end"}; the server sends {"type": "partial"|"final",
"track", "id", "start", "end", "text", "confidence"} events. POST /api/transcribe with an audio
file as the body returns its transcript as JSON. Needs the [serve] extra (starlette, uvicorn).
"""
from __future__ import annotations

import argparse
import sys

from jrsv.bin.logs import setup_logging
from jrsv.pretrained import default_model_dir


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", default=str(default_model_dir()),
                   help="model directory (default: the bundled model)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (0.0.0.0: all)")
    p.add_argument("--port", type=int, default=8765)
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    p.add_argument("--device", default="cpu")
    p.add_argument("--min-confidence", type=float, default=None,
                   help="confidence gate (default: the model's calibrated gate)")
    p.add_argument("--max-upload-mb", type=float, default=200.0,
                   help="largest file POST /api/transcribe accepts")
    p.add_argument("--log-level", default="info", choices=("debug", "info", "warning", "error"))


def run(args: argparse.Namespace) -> int:
    try:
        import uvicorn

        from jrsv.serve.app import create_app
    except ImportError as e:
        print(f"jrsv serve: error: {e.name} is not installed; pip install 'jrsv[serve]'",
              file=sys.stderr)
        return 2
    import torch

    from jrsv.decode.engine import DecodeEngine
    from jrsv.decode.pipeline import model_min_confidence
    from jrsv.model_io import read_config
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    try:
        engine = DecodeEngine.from_model_dir(args.model, device=args.device)
        gate = (model_min_confidence(read_config(args.model)) if args.min_confidence is None
                else args.min_confidence)
    except Exception as e:  # noqa: BLE001 - ModelDirError and device errors: one line
        print(f"jrsv serve: error: {' '.join(str(e).split())}", file=sys.stderr)
        return 2
    setup_logging("jrsv serve", args.log_level)
    app = create_app(engine, gate, model_name=str(args.model), max_upload_mb=args.max_upload_mb)
    print(f"jrsv serve: captions page on http://{args.host}:{args.port}/ (overlay: "
          f"/?overlay=1), websocket ws://{args.host}:{args.port}/ws/live", file=sys.stderr,
          flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level, ws="websockets")
    return 0
