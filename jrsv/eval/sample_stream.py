"""A held-out sample stream for the demo and the confidence calibration: several DTSSVD
mixtures (speech + singing + music, one per overlap ratio) back to back, made from one split of
corpora in the AISHELL-1 / OpenSinger / MUSDB18-HQ layouts (a directory passed in; for the
bundled model, the generated corpora it was trained on, ``trained_on`` in its config.yaml).

Generating those corpora is the benchmark package's job (``dtssvd.corpora``: a whole generator
run, or only its held-out test split); this module only reads them.
"""
from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np

from jrsv.atomic import publish_dir

log = logging.getLogger(__name__)

OVERLAPS = (0.0, 0.1, 0.3, 0.5, 1.0, 0.5)
GAP_S = 0.6
SEED = 777  # recipes/dtssvd/run.sh seed


def corpus_of(model: Path, override: str | None = None) -> tuple[str, int]:
    """(preset, seed) of the generated corpora a model directory was trained on."""
    from jrsv.model_io import read_config
    trained_on = read_config(model).get("trained_on") or {}
    size = override or trained_on.get("preset") or "mini"
    return size, int(trained_on.get("seed", SEED))


def build_stream(corpora: Path, out: Path, n: int = len(OVERLAPS), split: str = "test",
                 seed: int = SEED, music_gap_s: float = 0.0) -> dict:
    """Mix ``split`` sources into one stream of ``n`` DTSSVD mixtures (overlap ratios cycling
    through :data:`OVERLAPS`), separated by 0.6 s of silence, or by ``music_gap_s`` seconds of
    music alone (at the preceding mixture's music level) when that is > 0.

    Writes ``out/stream.wav`` (16-bit), ``out/references.npz`` and ``out/references.json``;
    returns ``{"segments": [{start, end, overlap, speech, singing}], "mixture", "speech",
    "singing"}`` (the last three: float32 (N,) reference signals of the whole stream).
    """
    from jrsv.data.aishell import read_aishell
    from jrsv.data.audio import load_audio, save_audio
    from jrsv.data.mix import loop_crop, render, sample_spec
    from jrsv.data.musdb import load_music, music_split, read_musdb
    from jrsv.data.opensinger import read_opensinger

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


SAMPLE_AUDIO = "sample.flac"       # the mixture
SAMPLE_REFS = "references.json"    # {"trained_on", "made_by", "segments": [...]}


def write_sample(stream: dict, out: Path, meta: dict) -> Path:
    """Save a :func:`build_stream` result as a shipped sample: ``sample.flac`` (mixture),
    ``speech.flac`` and ``singing.flac`` (references, 16-bit), ``references.json`` (segments and
    ``meta``); written into ``out.tmp`` and renamed to ``out``."""
    import shutil

    import soundfile as sf
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    peak = max(float(np.abs(stream[k]).max()) for k in ("mixture", "speech", "singing"))
    if peak >= 1.0:
        raise ValueError(f"sample stream clips (peak {peak:.2f})")
    sf.write(tmp / SAMPLE_AUDIO, stream["mixture"], 16000, subtype="PCM_16")
    for track in ("speech", "singing"):
        sf.write(tmp / f"{track}.flac", stream[track], 16000, subtype="PCM_16")
    (tmp / SAMPLE_REFS).write_text(json.dumps({**meta, "segments": stream["segments"]},
                                              ensure_ascii=False, indent=1) + "\n",
                                   encoding="utf-8")
    return publish_dir(tmp, out)


def read_sample(sample_dir: Path) -> dict:
    """A shipped sample -> ``{"segments", "trained_on", "mixture", "speech", "singing", "path"}``
    (float32 (N,) signals). Raises ``FileNotFoundError`` naming the missing file."""
    import soundfile as sf
    out = json.loads((Path(sample_dir) / SAMPLE_REFS).read_text(encoding="utf-8"))
    out["path"] = Path(sample_dir) / SAMPLE_AUDIO
    out["mixture"] = sf.read(out["path"], dtype="float32")[0]
    for track in ("speech", "singing"):
        out[track] = sf.read(Path(sample_dir) / f"{track}.flac", dtype="float32")[0]
    return out


def score(refs: dict, transcript, stems: Path, name: str = "stream") -> dict:
    """CER of each track over the stream and SDRi of the separated stems
    ``stems/NAME.{speech,singing}.wav``."""
    import torch

    from jrsv.asr.cer import align_counts
    from jrsv.data.audio import load_audio
    from jrsv.separation.metrics import sdri
    out = {}
    for track in ("speech", "singing"):
        ref = "".join(s[track] for s in refs["segments"])
        hyp = "".join(seg.text for seg in transcript.track(track)).replace(" ", "")
        c = align_counts(ref, hyp)
        est = load_audio(stems / f"{name}.{track}.wav")
        n = min(len(est), len(refs[track]))
        out[track] = {"cer": 100.0 * c.cer, "errors": c.errors, "ref_chars": c.ref_len,
                      "sdri": float(sdri(torch.from_numpy(refs[track][:n]),
                                         torch.from_numpy(np.ascontiguousarray(est[:n])),
                                         torch.from_numpy(refs["mixture"][:n])))}
    return out
