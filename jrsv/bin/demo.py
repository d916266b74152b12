"""``make demo``: build a sample mixed stream, decode it with the bundled default model, print
both tracks with timestamps and the sample's CER and SDRi.

The stream is made from the *test* split of the generated corpora the model was trained on
(``trained_on`` in its config.yaml: preset and seed; voices, sentences, songs and music never
seen in training): several DTSSVD mixtures, one per overlap ratio, back to back with short
pauses. The corpora are generated once (same command and seed as stage 0 of
``recipes/dtssvd/run.sh``, into the recipe's data dir for that preset) and reused.

Usage: ``python -m jrsv.bin.demo [--model models/default] [--corpora DIR] [--out build/demo]``
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[2]
OVERLAPS = (0.0, 0.1, 0.3, 0.5, 1.0, 0.5)
GAP_S = 0.6
SEED = 777  # recipes/dtssvd/run.sh seed


def ensure_corpora(corpora: Path, size: str = "mini", seed: int = SEED) -> None:
    """Generate the corpora unless they are there (the generator skips a finished run)."""
    from dtssvd.synth.cli import main as synth_main
    rc = synth_main(["--preset", size, "--seed", str(seed), "--out", str(corpora)])
    if rc:
        raise SystemExit(f"error: generating the demo corpora in {corpora} failed (exit {rc})")


def corpus_of(model: Path, override: str | None = None) -> tuple[str, int]:
    """(preset, seed) of the generated corpora a model directory was trained on."""
    from jrsv.model_io import read_config
    trained_on = read_config(model).get("trained_on") or {}
    size = override or trained_on.get("preset") or "mini"
    return size, int(trained_on.get("seed", SEED))


def default_corpora(size: str) -> Path:
    """Where ``recipes/dtssvd`` keeps the generated corpora of a preset."""
    return ROOT / "recipes" / "dtssvd" / ("data" if size == "mini" else f"data_{size}") / "corpora"


def build_stream(corpora: Path, out: Path, n: int = len(OVERLAPS), split: str = "test",
                 seed: int = SEED, music_gap_s: float = 0.0) -> dict:
    """Mix ``split`` sources into one stream of ``n`` DTSSVD mixtures (overlap ratios cycling
    through :data:`OVERLAPS`), separated by 0.6 s of silence, or by ``music_gap_s`` seconds of
    music alone (at the preceding mixture's music level) when that is > 0.

    Writes ``out/stream.wav`` (16-bit), ``out/references.npz`` and ``out/references.json``;
    returns ``{"segments": [{start, end, overlap, speech, singing}], "mixture", "speech",
    "singing"}`` (the last three: float32 (N,) reference signals of the whole stream).
    """
    from dtssvd.mix import render, sample_spec
    from jrsv.data.aishell import read_aishell
    from jrsv.data.audio import load_audio, save_audio
    from jrsv.data.musdb import load_music, read_musdb
    from jrsv.data.opensinger import read_opensinger

    from dtssvd.build import music_split
    from dtssvd.mix import loop_crop

    rng = np.random.default_rng(seed)
    speech = read_aishell(str(corpora), split, cache_dir=str(out / "cache"))
    singing = read_opensinger(str(corpora), split)
    ms = "test" if split == "test" else "train"  # DTSSVD dev music is held out of MUSDB train
    music = music_split(read_musdb(str(corpora / "musdb18hq"), ms), ms, split)
    if not (speech and singing and music):
        raise SystemExit(f"error: {corpora}: the {split} split lacks speech, singing or music")
    gap = np.zeros(int(GAP_S * 16000), np.float32)
    parts = {k: [gap] for k in ("mixture", "speech", "singing")}
    refs, t = [], GAP_S
    mus = load_music(music[0])
    for i in range(n):
        sp = speech[int(rng.integers(len(speech)))]
        sg = singing[int(rng.integers(len(singing)))]
        sx, gx = load_audio(sp.path), load_audio(sg.path)
        spec = sample_spec(rng, len(sx), len(gx), len(mus), overlap=OVERLAPS[i % len(OVERLAPS)])
        m = render(spec, sx, gx, mus)
        refs.append({"start": round(t, 2), "end": round(t + spec.length / 16000, 2),
                     "overlap": spec.overlap, "speech": sp.text, "singing": sg.text})
        after = gap
        if music_gap_s > 0:  # music alone, where a model may hallucinate words
            g = loop_crop(mus, int(rng.integers(len(mus))), int(music_gap_s * 16000))
            level = np.sqrt(np.mean(m["music"] ** 2) / max(np.mean(g ** 2), 1e-12))
            after = (g * level).astype(np.float32)
        for k in parts:
            parts[k] += [m[k], after if k == "mixture" else np.zeros_like(after)]
        t += (spec.length + len(after)) / 16000
    out.mkdir(parents=True, exist_ok=True)
    wav = {k: np.concatenate(v) for k, v in parts.items()}
    save_audio(out / "stream.wav", wav["mixture"], 16000, subtype="PCM_16")
    np.savez(out / "references.npz", speech=wav["speech"], singing=wav["singing"],
             mixture=wav["mixture"])
    (out / "references.json").write_text(json.dumps(refs, ensure_ascii=False, indent=1))
    return {"segments": refs, **wav}


def score(refs: dict, transcript, stems: Path) -> dict:
    """CER of each track over the stream and SDRi of the separated stems."""
    from jrsv.asr.cer import align_counts
    from jrsv.data.audio import load_audio
    from jrsv.separation.metrics import sdri
    out = {}
    for track in ("speech", "singing"):
        ref = "".join(s[track] for s in refs["segments"])
        hyp = "".join(seg.text for seg in transcript.track(track)).replace(" ", "")
        c = align_counts(ref, hyp)
        est = load_audio(stems / f"stream.{track}.wav")
        n = min(len(est), len(refs[track]))
        out[track] = {"cer": 100.0 * c.cer, "errors": c.errors, "ref_chars": c.ref_len,
                      "sdri": float(sdri(torch.from_numpy(refs[track][:n]),
                                         torch.from_numpy(np.ascontiguousarray(est[:n])),
                                         torch.from_numpy(refs["mixture"][:n])))}
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m jrsv.bin.demo", description=__doc__.split("\n")[0])
    ap.add_argument("--model", type=Path, default=ROOT / "models" / "default")
    ap.add_argument("--corpora", type=Path, default=None,
                    help="generated corpora dir (default: recipes/dtssvd/data/corpora for the "
                         "mini preset, recipes/dtssvd/data_<preset>/corpora otherwise)")
    ap.add_argument("--out", type=Path, default=ROOT / "build" / "demo")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--preset", default=None, choices=("tiny", "mini", "base"),
                    help="size of the generated corpora (default: the model's trained_on "
                         "preset, else mini; tiny: for tests)")
    ap.add_argument("--min-confidence", type=float, default=None,
                    help="confidence gate of the decoder (default: the model's calibrated gate, "
                         "decode.min_confidence in its config.yaml, written by "
                         "`python -m jrsv.bin.calibrate --write`; 0 for a model without one)")
    a = ap.parse_args(argv)
    threads = torch.get_num_threads()
    torch.set_num_threads(a.threads)
    try:
        return _run(a)
    finally:
        torch.set_num_threads(threads)  # callers (tests, notebooks) keep their setting


def _run(a: argparse.Namespace) -> int:
    from jrsv.transcriber import Transcriber
    from jrsv.decode.pipeline import DecodeConfig
    from jrsv.model_io import read_config
    if not (a.model / "config.yaml").is_file():
        print(f"error: {a.model}: no model directory (config.yaml missing)", file=sys.stderr)
        return 1
    size, seed = corpus_of(a.model, a.preset)
    corpora = a.corpora or default_corpora(size)
    print(f"[demo] corpora: {corpora} (preset {size}, seed {seed})", flush=True)
    ensure_corpora(corpora, size, seed)
    refs = build_stream(corpora, a.out)
    dur = len(refs["mixture"]) / 16000
    print(f"[demo] sample stream: {a.out / 'stream.wav'} ({dur:.1f} s, {len(refs['segments'])} "
          f"mixtures of speech + singing + music, overlap ratios {list(OVERLAPS)})", flush=True)
    t0 = time.perf_counter()
    gate = a.min_confidence
    if gate is None:
        gate = (read_config(a.model).get("decode") or {}).get("min_confidence", 0.0)
    tr = Transcriber(a.model, config=DecodeConfig(min_confidence=gate))
    result = tr.transcribe(a.out / "stream.wav", stems_dir=a.out / "stems")
    took = time.perf_counter() - t0
    for track in ("speech", "singing"):
        print(f"\n== {track} ==")
        for seg in result.track(track):
            print(f"  [{seg.start:7.2f} - {seg.end:7.2f}] {seg.text}   (confidence {seg.confidence:.2f})")
        print("  reference:")
        for s in refs["segments"]:
            print(f"  [{s['start']:7.2f} - {s['end']:7.2f}] {s[track]}")
    sc = score(refs, result, a.out / "stems")
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
