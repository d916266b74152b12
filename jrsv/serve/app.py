"""The ``jrsv serve`` application (Starlette).

Routes:

* ``GET /`` -- the caption page (``static/index.html``): two lanes, speech and lyrics, with the
  current partial caption; streams the microphone or a chosen file. ``/?overlay=1`` hides the
  controls and uses a transparent background (a browser source over video, e.g. in OBS).
* ``WS /ws/live`` -- live PCM in, caption events out (:mod:`jrsv.serve.live_socket`).
* ``POST /api/transcribe`` -- a whole audio file as the request body -> its transcript as JSON
  (``Transcript.to_dict``: source, duration, speech and singing segments).
* ``GET /api/info`` -- model and settings; ``GET /sample.flac`` -- the shipped sample mixture.
"""
from __future__ import annotations

import logging
import tempfile
from pathlib import Path

from anyio import to_thread
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket

from jrsv.decode.audio_stream import AudioError
from jrsv.decode.engine import DecodeEngine
from jrsv.decode.live import LiveConfig
from jrsv.decode.pipeline import DecodeConfig
from jrsv.decode.transcriber import Transcriber
from jrsv.pretrained import SAMPLE_DIR
from jrsv.serve.live_socket import LiveSocket

log = logging.getLogger(__name__)
STATIC = Path(__file__).resolve().parent / "static"


def create_app(engine: DecodeEngine, min_confidence: float, model_name: str = "",
               max_upload_mb: float = 200.0) -> Starlette:
    """The application around one shared ``engine`` (models are used by every client)."""
    live_config = LiveConfig(min_confidence=min_confidence)
    transcriber = Transcriber.from_engine(engine, DecodeConfig(min_confidence=min_confidence))
    sessions: set = set()

    async def page(request: Request) -> FileResponse:
        return FileResponse(STATIC / "index.html", media_type="text/html")

    async def sample(request: Request) -> FileResponse:
        return FileResponse(SAMPLE_DIR / "sample.flac", media_type="audio/flac")

    async def info(request: Request) -> JSONResponse:
        return JSONResponse({"model": model_name, "tracks": ["speech", "singing"],
                             "sample_rate": 16000, "min_confidence": min_confidence,
                             "live_clients": len(sessions)})

    async def transcribe(request: Request) -> JSONResponse:
        limit = int(max_upload_mb * 1e6)
        size = int(request.headers.get("content-length") or 0)
        if size > limit:
            return JSONResponse({"error": f"file of {size} bytes is over the limit of {limit}"},
                                status_code=413)
        name = Path(request.query_params.get("name", "upload")).name or "upload"
        with tempfile.TemporaryDirectory(prefix="jrsv-upload-") as scratch:  # removed on any exit
            tmp = str(Path(scratch) / ("upload" + Path(name).suffix))
            n = 0
            with open(tmp, "wb") as f:
                async for chunk in request.stream():
                    n += len(chunk)
                    if n > limit:
                        return JSONResponse({"error": f"file is over the limit of {limit} bytes"},
                                            status_code=413)
                    f.write(chunk)
            if n == 0:
                return JSONResponse({"error": f"{name}: empty request body (send the audio "
                                              f"file as the body)"}, status_code=400)
            try:
                result = await to_thread.run_sync(transcriber.transcribe, tmp)
            except AudioError as e:
                msg = " ".join(str(e).split()).replace(tmp, name)
                return JSONResponse({"error": msg}, status_code=400)
            result.source = name
            return JSONResponse(result.to_dict())

    async def live(ws: WebSocket) -> None:
        await LiveSocket(ws, engine, live_config, sessions).run()

    app = Starlette(routes=[
        Route("/", page),
        Route("/sample.flac", sample),
        Route("/api/info", info),
        Route("/api/transcribe", transcribe, methods=["POST"]),
        WebSocketRoute("/ws/live", live),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ])
    app.state.sessions = sessions
    return app
