"""`jrsv serve`: the page, the live websocket (events, formats, bad input, several clients,
disconnects) and whole-file transcription, through Starlette's test client."""
import io
import json
import time

import numpy as np
import pytest
import soundfile as sf

pytest.importorskip("starlette")
pytest.importorskip("httpx")
from starlette.testclient import TestClient  # noqa: E402

from test_decode_helpers import LoudTokenASR, ScaleSeparator, tiny_engine, tone  # noqa: E402
from jrsv.serve.app import create_app  # noqa: E402


def _bursts(spec, sr=16000):
    return np.concatenate([tone(s, sr=sr, amp=0.2) if loud else np.zeros(int(s * sr), np.float32)
                           for s, loud in spec])


@pytest.fixture
def client():
    engine = tiny_engine(ScaleSeparator(1.0, 0.0), LoudTokenASR(threshold=-100.0))
    app = create_app(engine, 0.5, model_name="tiny")
    with TestClient(app) as c:
        yield c


AUDIO = _bursts([(0.5, False), (1.5, True), (1.0, False), (1.5, True), (1.0, False)])


def _events(ws) -> list[dict]:
    out = []
    while True:
        ev = ws.receive_json()
        out.append(ev)
        if ev["type"] in ("done", "error"):
            return out


def test_page_static_and_info(client):
    page = client.get("/")
    assert page.status_code == 200 and 'data-track="speech"' in page.text
    assert 'data-track="singing"' in page.text and "captions.js" in page.text
    assert "/ws/live" in client.get("/static/captions.js").text
    assert client.get("/api/info").json()["tracks"] == ["speech", "singing"]
    assert client.get("/sample.flac").content[:4] == b"fLaC"


def test_live_f32_at_48k_partials_then_finals(client):
    x48 = np.interp(np.arange(len(AUDIO) * 3) / 3, np.arange(len(AUDIO)), AUDIO).astype("<f4")
    with client.websocket_connect("/ws/live") as ws:
        ws.send_text(json.dumps({"sample_rate": 48000, "channels": 1, "format": "f32le"}))
        assert ws.receive_json()["type"] == "ready"
        for i in range(0, len(x48), 4800):
            ws.send_bytes(x48[i:i + 4800].tobytes())
        ws.send_text(json.dumps({"type": "end"}))
        events = _events(ws)
    assert events[-1] == {"type": "done"}
    finals = [e for e in events if e["type"] == "final"]
    assert [e["track"] for e in finals] == ["speech", "speech"] and all(e["text"] for e in finals)
    assert finals[0]["end"] < finals[1]["start"]
    assert set(finals[0]) == {"type", "track", "id", "start", "end", "text", "confidence"}
    for f in finals:
        mine = [e for e in events if e.get("id") == f["id"]]
        # a sender faster than real time gets everything decoded at once: maybe no partials,
        # but one final per caption, last
        assert mine[-1] is f and all(e["type"] == "partial" for e in mine[:-1])
        assert 0.2 < f["start"] and f["end"] <= len(AUDIO) / 16000


def test_live_default_format_is_16k_s16le(client):
    pcm = (AUDIO * 32767).astype("<i2").tobytes()
    with client.websocket_connect("/ws/live") as ws:
        ws.send_bytes(pcm[:3200])
        assert ws.receive_json()["sample_rate"] == 16000
        ws.send_bytes(pcm[3200:])
        ws.send_text('{"type": "end"}')
        events = _events(ws)
    assert sum(e["type"] == "final" for e in events) == 2


@pytest.mark.parametrize("header,audio,words", [
    ('{"sample_rate": "fast"}', b"", "sample_rate"),
    ('{"format": "mp3"}', b"", "format"),
    ("not json", b"", "JSON"),
    ('{"channels": 2}', b"\x00\x01\x02", "not a whole number"),
])
def test_live_bad_input_gets_an_error_event(client, header, audio, words):
    with client.websocket_connect("/ws/live") as ws:
        ws.send_text(header)
        ev = ws.receive_json()
        if ev["type"] == "ready":
            ws.send_bytes(audio)
            ev = ws.receive_json()
    assert ev["type"] == "error" and words in ev["message"]


def _wait_sessions(client, n):
    for _ in range(100):
        if len(client.app.state.sessions) == n:
            return True
        time.sleep(0.02)
    return False


def test_several_clients_and_disconnect_frees_them(client):
    pcm = (AUDIO * 32767).astype("<i2").tobytes()
    quiet = np.zeros(len(AUDIO), "<i2").tobytes()
    with client.websocket_connect("/ws/live") as a, client.websocket_connect("/ws/live") as b:
        a.send_bytes(pcm[:1600])
        b.send_bytes(quiet[:1600])
        a.receive_json(), b.receive_json()  # ready
        assert _wait_sessions(client, 2)
        assert client.get("/api/info").json()["live_clients"] == 2
        for i in range(1600, len(pcm), 6400):
            a.send_bytes(pcm[i:i + 6400])
            b.send_bytes(quiet[i:i + 6400])
        a.send_text('{"type": "end"}')
        b.send_text('{"type": "end"}')
        ea, eb = _events(a), _events(b)
    assert sum(e["type"] == "final" for e in ea) == 2
    assert not [e for e in eb if e["type"] in ("partial", "final")]  # silence: no captions
    assert _wait_sessions(client, 0)
    with client.websocket_connect("/ws/live") as c:  # leaves without "end"
        c.send_bytes(pcm[:32000])
        c.receive_json()
        assert _wait_sessions(client, 1)
    assert _wait_sessions(client, 0)


def test_transcribe_whole_file(client):
    buf = io.BytesIO()
    sf.write(buf, AUDIO, 16000, format="FLAC")
    r = client.post("/api/transcribe?name=clip.flac", content=buf.getvalue())
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["source"] == "clip.flac" and len(d["speech"]) == 2 and d["singing"] == []
    assert abs(d["duration"] - len(AUDIO) / 16000) < 1e-3
    bad = client.post("/api/transcribe?name=bad.wav", content=b"RIFF....not audio")
    assert bad.status_code == 400 and "bad.wav" in bad.json()["error"]
    assert "jrsv-upload" not in bad.json()["error"]
    assert client.post("/api/transcribe", content=b"").status_code == 400
