"""``make demo`` / ``jrsv demo``: decode the sample mixture that ships with the package
(``jrsv/pretrained/sample``, built by ``jrsv make-sample`` from the held-out test split of the
corpora the model was trained on) with the bundled default model; print both tracks with
timestamps next to the references, and the sample's CER and SDRi.

Usage: ``jrsv demo [--model jrsv/pretrained/default] [--sample DIR] [--out build/demo]``
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

from jrsv.pretrained import SAMPLE_DIR, default_model_dir


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="jrsv demo", description=__doc__.split("\n")[0])
    ap.add_argument("--model", type=Path, default=default_model_dir())
    ap.add_argument("--sample", type=Path, default=SAMPLE_DIR,
                    help="sample directory (sample.flac, speech.flac, singing.flac, "
                         "references.json; default: the one shipped with the package)")
    ap.add_argument("--out", type=Path, default=Path("build") / "demo",
                    help="where the separated stems and scores.json go (default: build/demo)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--min-confidence", type=float, default=None,
                    help="confidence gate of the decoder (default: the model's calibrated gate, "
                         "decode.min_confidence in its config.yaml, written by "
                         "`jrsv calibrate --write`; 0.5 for a model without one)")
    a = ap.parse_args(argv)
    threads = torch.get_num_threads()
    torch.set_num_threads(a.threads)
    try:
        return _run(a)
    finally:
        torch.set_num_threads(threads)  # callers (tests, notebooks) keep their setting


def _run(a: argparse.Namespace) -> int:
    from jrsv.decode.pipeline import DecodeConfig, model_min_confidence
    from jrsv.eval.sample_stream import read_sample, score
    from jrsv.model_io import read_config
    from jrsv.transcriber import Transcriber
    if not (a.model / "config.yaml").is_file():
        print(f"jrsv demo: error: {a.model}: no model directory (config.yaml missing)",
              file=sys.stderr)
        return 1
    try:
        refs = read_sample(a.sample)
    except (OSError, ValueError, RuntimeError) as e:
        print(f"jrsv demo: error: {a.sample}: not a sample directory ({' '.join(str(e).split())}); "
              f"build one with `jrsv make-sample`", file=sys.stderr)
        return 1
    conf = read_config(a.model)
    trained_on = conf.get("trained_on") or {}
    if trained_on and refs.get("trained_on") and \
            (trained_on.get("preset"), trained_on.get("seed")) != \
            (refs["trained_on"].get("preset"), refs["trained_on"].get("seed")):
        print(f"[demo] warning: the sample comes from preset {refs['trained_on'].get('preset')} "
              f"but the model was trained on preset {trained_on.get('preset')} (seed "
              f"{trained_on.get('seed')}); its scores may not be held out: rebuild it with "
              f"`jrsv make-sample --model {a.model}`", flush=True)
    dur = len(refs["mixture"]) / 16000
    print(f"[demo] sample: {refs['path']} ({dur:.1f} s, {len(refs['segments'])} mixtures of "
          f"speech + singing + music, test split of preset "
          f"{refs.get('trained_on', {}).get('preset')})", flush=True)
    gate = model_min_confidence(conf) if a.min_confidence is None else a.min_confidence
    t0 = time.perf_counter()
    tr = Transcriber(a.model, config=DecodeConfig(min_confidence=gate))
    result = tr.transcribe(refs["path"], stems_dir=a.out / "stems")
    took = time.perf_counter() - t0
    for track in ("speech", "singing"):
        print(f"\n== {track} ==")
        for seg in result.track(track):
            print(f"  [{seg.start:7.2f} - {seg.end:7.2f}] {seg.text}   (confidence {seg.confidence:.2f})")
        print("  reference:")
        for s in refs["segments"]:
            print(f"  [{s['start']:7.2f} - {s['end']:7.2f}] {s[track]}")
    sc = score(refs, result, a.out / "stems", name=refs["path"].stem)
    print(f"\n[demo] confidence gate {gate:g} (--min-confidence; segments the model is less sure "
          f"of are dropped, such as words hallucinated on music)")
    print(f"[demo] decoded {dur:.1f} s in {took:.1f} s (RTF {took / dur:.2f}) with {a.model}")
    for track in ("speech", "singing"):
        s = sc[track]
        print(f"[demo] {track:8s} CER {s['cer']:6.1f} % ({s['errors']}/{s['ref_chars']} chars)   "
              f"SDRi {s['sdri']:5.1f} dB")
    (a.out / "scores.json").write_text(json.dumps(sc, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
