"""``make bench-live`` / ``jrsv bench-live``: caption latency of live decoding at real-time pace.

A feeder thread delivers a generated stream (the held-out sample mixture shipped with the
package, repeated ``--repeat`` times; or ``--input FILE``) in ``--block-sec`` blocks at the pace
of a live source, each block when its last sample would have been captured; the live decoder
(:class:`jrsv.decode.live.LiveDecoder`, as ``jrsv decode -`` and ``jrsv serve`` use it) consumes
whatever has arrived. For every caption it records

* final latency: wall time of the ``final`` event - capture time of the segment's end (every
  final event: captions, and withdrawals of shown partials that the confidence gate rejects);
* first-partial latency: wall time of the first ``partial`` event - capture time of the
  segment's start (how long after the voice starts the first words are on screen);

and prints their median, p95 and max, the real-time factor and the peak memory.

Usage: ``jrsv bench-live [--model DIR] [--threads 2] [--repeat 3] [--json OUT]``
"""
from __future__ import annotations

import argparse
import json
import os
import queue
import resource
import sys
import threading
import time
from pathlib import Path

import numpy as np

from jrsv.decode.live import LiveConfig, LiveDecoder
from jrsv.pretrained import SAMPLE_DIR, default_model_dir


def feed(audio: np.ndarray, rate: int, block_sec: float, out: queue.Queue, t0: float) -> None:
    """Put ``audio`` into ``out`` in blocks at real-time pace from ``t0``; then ``None``."""
    step = max(1, int(block_sec * rate))
    for i in range(0, len(audio), step):
        block = audio[i:i + step]
        due = t0 + (i + len(block)) / rate
        delay = due - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        out.put(block)
    out.put(None)


def run_live(decoder, audio: np.ndarray, rate: int, block_sec: float = 0.1) -> tuple[list, float]:
    """Decode ``audio`` live at real-time pace -> ([(wall seconds since start, event)], t_end)."""
    q: queue.Queue = queue.Queue()
    t0 = time.perf_counter()
    th = threading.Thread(target=feed, args=(audio, rate, block_sec, q, t0), daemon=True)
    th.start()
    events, done = [], False
    while not done:
        blocks = [q.get()]
        while True:  # take everything that has arrived meanwhile
            try:
                blocks.append(q.get_nowait())
            except queue.Empty:
                break
        if blocks[-1] is None:
            blocks.pop()
            done = True
        new = decoder.push(np.concatenate(blocks)) if blocks else []
        if done:
            new += decoder.finish()
        now = time.perf_counter() - t0
        events += [(now, e) for e in new]
    th.join()
    return events, time.perf_counter() - t0


def run_windowed(engine, config, audio: np.ndarray, rate: int, block_sec: float = 0.1
                 ) -> tuple[list, float]:
    """Baseline: the same stream through the file decoder's streaming pipeline (10 s separation
    windows, :func:`jrsv.decode.pipeline.run_sessions` with ``live=True``, what ``jrsv decode -``
    used before the live decoder) -> ([(wall, final CaptionEvent)], t_end)."""
    from jrsv.decode.audio_stream import MonoResampler
    from jrsv.decode.live import CaptionEvent
    from jrsv.decode.pipeline import DecodeSession, run_sessions
    q: queue.Queue = queue.Queue()
    resample = MonoResampler(rate)
    t0 = time.perf_counter()
    th = threading.Thread(target=feed, args=(audio, rate, block_sec, q, t0), daemon=True)
    th.start()

    def blocks():
        while (b := q.get()) is not None:
            yield resample(b)
        yield resample(np.zeros((0, 1), np.float32), last=True)
    session = DecodeSession("stream", blocks(), engine, config)
    events = []
    for kind, _, track, seg in run_sessions([session], engine, 1, live=True):
        if kind == "segment":
            events.append((time.perf_counter() - t0, CaptionEvent(
                "final", track, f"{track}-{len(events)}", seg.start, seg.end, seg.text,
                seg.confidence)))
    th.join()
    return events, time.perf_counter() - t0


def latencies(events: list) -> dict:
    """Final latency (emitted - end) of every final event (captions, and withdrawals of shown
    partials), first-partial latency (emitted - start) of captions that had partials; seconds."""
    final, first_partial, seen = [], [], set()
    for wall, e in events:
        if e.type == "partial" and e.id not in seen:
            seen.add(e.id)
            first_partial.append(wall - e.start)
        elif e.type == "final":
            final.append(wall - e.end)
    return {"final": final, "first_partial": first_partial}


def summary(values: list[float]) -> dict:
    if not values:
        return {"n": 0}
    v = np.asarray(values)
    return {"n": len(v), "median": float(np.median(v)), "p95": float(np.percentile(v, 95)),
            "max": float(v.max()), "min": float(v.min())}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="jrsv bench-live", description=__doc__.split("\n")[0])
    ap.add_argument("--model", type=Path, default=default_model_dir())
    ap.add_argument("--input", type=Path, default=None,
                    help="audio file to stream (default: the shipped sample, --repeat times)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--block-sec", type=float, default=0.1, help="capture block of the source")
    ap.add_argument("--json", type=Path, default=None, help="also write the results here")
    ap.add_argument("--baseline", action="store_true",
                    help="measure the file decoder's streaming pipeline (10 s windows) instead")
    d = LiveConfig()
    ap.add_argument("--hop-sec", type=float, default=d.hop_sec, help="LiveConfig.hop_sec")
    ap.add_argument("--context-sec", type=float, default=d.context_sec,
                    help="LiveConfig.context_sec")
    ap.add_argument("--lookahead-sec", type=float, default=d.lookahead_sec,
                    help="LiveConfig.lookahead_sec")
    a = ap.parse_args(argv)
    import soundfile as sf
    import torch

    from jrsv.decode.engine import DecodeEngine
    from jrsv.decode.pipeline import model_min_confidence
    from jrsv.model_io import read_config
    torch.set_num_threads(a.threads)
    src = a.input or SAMPLE_DIR / "sample.flac"
    try:
        audio, rate = sf.read(str(src), dtype="float32", always_2d=True)
        engine = DecodeEngine.from_model_dir(a.model)
    except Exception as e:  # noqa: BLE001 - one line naming the file
        print(f"jrsv bench-live: error: {' '.join(str(e).split())}", file=sys.stderr)
        return 1
    if a.input is None:
        audio = np.concatenate([audio] * max(1, a.repeat))
    dur = len(audio) / rate
    config = LiveConfig(min_confidence=model_min_confidence(read_config(a.model)),
                        hop_sec=a.hop_sec, context_sec=a.context_sec,
                        lookahead_sec=a.lookahead_sec)
    decoder = LiveDecoder(engine, config, sample_rate=rate)
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    cpu0 = time.process_time()
    print(f"[bench-live] streaming {src} ({dur:.1f} s) at real-time pace in {a.block_sec:g} s "
          f"blocks, {a.threads} threads, separation hop {a.hop_sec:g} s + context "
          f"{a.context_sec:g} s + lookahead {a.lookahead_sec:g} s, load average "
          f"{os.getloadavg()[0]:.1f}", flush=True)
    if a.baseline:
        from jrsv.decode.pipeline import DecodeConfig
        print("[bench-live] baseline: the file decoder's streaming pipeline (10 s windows)")
        events, wall = run_windowed(engine, DecodeConfig(min_confidence=config.min_confidence),
                                    audio, rate, a.block_sec)
    else:
        events, wall = run_live(decoder, audio, rate, a.block_sec)
    cpu = time.process_time() - cpu0
    lat = latencies(events)
    res = {"audio_sec": round(dur, 2), "wall_sec": round(wall, 2), "threads": a.threads,
           "hop_sec": a.hop_sec, "context_sec": a.context_sec, "lookahead_sec": a.lookahead_sec,
           "load_avg_1min": round(os.getloadavg()[0], 2), "baseline": a.baseline,
           "cpu_sec_per_audio_sec": round(cpu / dur, 3),
           "compute": {k: round(v / dur, 3) for k, v in engine.timings.items()},
           "final": summary(lat["final"]), "first_partial": summary(lat["first_partial"]),
           "events": {k: sum(e.type == k for _, e in events) for k in ("partial", "final")},
           "withdrawn": sum(e.type == "final" and not e.text for _, e in events),
           "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
           "rss_before_stream_mb": round(rss0 / 1024, 1)}
    for key, label in (("final", "segment end -> final caption"),
                       ("first_partial", "segment start -> first partial")):
        s = res[key]
        if s["n"]:
            print(f"[bench-live] {label:32s} n={s['n']:3d}  median {s['median']:.2f} s  "
                  f"p95 {s['p95']:.2f} s  max {s['max']:.2f} s")
        else:
            print(f"[bench-live] {label:32s} none")
    print(f"[bench-live] {res['events']['final']} finals ({res['withdrawn']} withdrawn by the "
          f"confidence gate), {res['events']['partial']} partials; model time per audio "
          f"second: {res['compute']}; CPU time per audio second {res['cpu_sec_per_audio_sec']}; "
          f"wall {wall:.1f} s for {dur:.1f} s; peak RSS "
          f"{res['peak_rss_mb']} MB (before streaming {res['rss_before_stream_mb']} MB); "
          f"load average now {res['load_avg_1min']}")
    if a.json:
        a.json.parent.mkdir(parents=True, exist_ok=True)
        a.json.write_text(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
