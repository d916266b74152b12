"""One websocket client of ``/ws/live``: PCM in, caption events out.

Protocol: an optional first text message ``{"sample_rate": 48000, "channels": 2, "format":
"s16le" | "f32le"}`` (default 16 kHz mono s16le), then binary messages of interleaved PCM, then
an optional ``{"type": "end"}`` text message. The server answers ``{"type": "ready", ...}``,
then :class:`jrsv.decode.live.CaptionEvent` dicts (``{"type": "partial" | "final", "track",
"id", "start", "end", "text", "confidence"}``) as they are due, ``{"type": "done"}`` after
``end``, or ``{"type": "error", "message"}`` before closing on bad input.

Audio is queued (bounded: the reader waits when the decoder is ``MAX_QUEUED`` messages behind,
which slows a too-fast sender through TCP) and decoded in a worker thread, everything that has
arrived in one call; a client that disconnects stops its decoder, whose state is then freed.
"""
from __future__ import annotations

import asyncio
import json
import logging

import numpy as np
from anyio import to_thread
from starlette.websockets import WebSocket, WebSocketDisconnect

from jrsv.decode.audio_stream import AudioError
from jrsv.decode.engine import DecodeEngine
from jrsv.decode.live import LiveConfig, LiveDecoder

log = logging.getLogger(__name__)

MAX_QUEUED = 256          # audio messages waiting for the decoder (a few seconds of audio)
FORMATS = {"s16le": ("<i2", 32768.0), "f32le": ("<f4", 1.0)}


class BadStream(ValueError):
    """A client's header or audio is unusable (reported to it as an ``error`` event)."""


def parse_header(text: str) -> dict:
    """First text message -> ``{"sample_rate", "channels", "format"}``; raises BadStream."""
    try:
        h = json.loads(text)
    except ValueError:
        raise BadStream("the header is not JSON") from None
    if not isinstance(h, dict):
        raise BadStream("the header must be a JSON object")
    out = {"sample_rate": h.get("sample_rate", 16000), "channels": h.get("channels", 1),
           "format": h.get("format", "s16le")}
    if not isinstance(out["sample_rate"], int) or not 4000 <= out["sample_rate"] <= 384000:
        raise BadStream(f"sample_rate must be an integer in [4000, 384000], got {out['sample_rate']!r}")
    if not isinstance(out["channels"], int) or not 1 <= out["channels"] <= 8:
        raise BadStream(f"channels must be an integer in [1, 8], got {out['channels']!r}")
    if out["format"] not in FORMATS:
        raise BadStream(f"format must be one of {sorted(FORMATS)}, got {out['format']!r}")
    return out


def decode_pcm(data: bytes, header: dict) -> np.ndarray:
    """Interleaved PCM bytes -> (n, channels) float32; raises BadStream on a partial frame."""
    dtype, scale = FORMATS[header["format"]]
    width = np.dtype(dtype).itemsize * header["channels"]
    if len(data) % width:
        raise BadStream(f"audio message of {len(data)} bytes is not a whole number of "
                        f"{width}-byte frames")
    return (np.frombuffer(data, dtype=dtype).astype(np.float32) / scale).reshape(-1, header["channels"])


def _is_end(text: str) -> bool:
    try:
        obj = json.loads(text)
    except ValueError:
        return False
    return isinstance(obj, dict) and obj.get("type") == "end"


class LiveSocket:
    """Serve one websocket; ``sessions`` counts the open ones (shared by the app)."""

    def __init__(self, ws: WebSocket, engine: DecodeEngine, config: LiveConfig, sessions: set):
        self.ws, self.engine, self.config, self.sessions = ws, engine, config, sessions

    async def run(self) -> None:
        await self.ws.accept()
        self.sessions.add(self)
        try:
            await self._serve()
        except WebSocketDisconnect:
            log.info("live client disconnected")
        except (BadStream, AudioError) as e:
            await self._send({"type": "error", "message": " ".join(str(e).split())})
            await self.ws.close(code=1003)
        finally:
            self.sessions.discard(self)

    async def _serve(self) -> None:
        header, first = {"sample_rate": 16000, "channels": 1, "format": "s16le"}, None
        msg = await self._receive()
        if msg.get("text") is not None:
            header = parse_header(msg["text"])
        else:
            first = msg
        decoder = LiveDecoder(self.engine, self.config, sample_rate=header["sample_rate"])
        await self._send({"type": "ready", **header, "tracks": ["speech", "singing"]})
        queue: asyncio.Queue = asyncio.Queue(MAX_QUEUED)
        worker = asyncio.create_task(self._decode(decoder, queue))
        try:
            if first is not None:
                await queue.put(self._audio(first, header))
            while True:
                msg = await self._receive()
                if msg.get("text") is not None:
                    if _is_end(msg["text"]):
                        await queue.put(None)
                        await worker
                        await self._send({"type": "done"})
                        await self.ws.close()
                        return
                    raise BadStream("expected audio or {\"type\": \"end\"}")
                await queue.put(self._audio(msg, header))
                if worker.done():
                    worker.result()  # re-raise a decoder error
        finally:
            if not worker.done():
                worker.cancel()

    async def _receive(self) -> dict:
        msg = await self.ws.receive()
        if msg["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(msg.get("code", 1000))
        return msg

    def _audio(self, msg: dict, header: dict) -> np.ndarray:
        if msg.get("bytes") is None:
            raise BadStream("expected a binary audio message")
        return decode_pcm(msg["bytes"], header)

    async def _decode(self, decoder: LiveDecoder, queue: asyncio.Queue) -> None:
        end = False
        while not end:
            blocks = [await queue.get()]
            while not queue.empty():
                blocks.append(queue.get_nowait())
            if blocks[-1] is None:
                blocks.pop()
                end = True
            audio = [b for b in blocks if len(b)]
            events = []
            if audio:
                events += await to_thread.run_sync(decoder.push, np.concatenate(audio))
            if end:
                events += await to_thread.run_sync(decoder.finish)
            for e in events:
                await self._send(e.to_dict())

    async def _send(self, obj: dict) -> None:
        await self.ws.send_text(json.dumps(obj, ensure_ascii=False))
