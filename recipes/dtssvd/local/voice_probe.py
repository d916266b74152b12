#!/usr/bin/env python3
"""A probe set for error analysis: the same dev sentences read by chosen gcin-voice speakers, as they are
and WORLD re-voiced (F0 ratio, formant warp, tempo), written as a source list that
``local/per_speaker_cer.py`` scores per voice.

    cd recipes/dtssvd && python local/voice_probe.py --data data_large --out exp_large/probe \
        --voice gcin-3 --voice gcin-3:1.7,1.15,1.0 --voice gcin-5 --voice gcin-5:0.55,0.86,1.0
    python local/per_speaker_cer.py --model exp_large/asr_neural/final --data exp_large/probe \
        --split probe --tracks speech --decode-mode ctc_greedy_search

Does a voice fail because of its pitch and timbre (re-voicing it towards a voice that works fixes it)
or because of something WORLD does not change (its recordings, its way of speaking)? The sentences
are the first ``--sentences`` of ``DATA/sources/speech_dev.jsonl`` that every probed speaker has a
recording for (never test sentences); each utterance is seeded by its index, so every voice reads
the same words with the same gaps. Writes ``OUT/wav/*.wav`` and ``OUT/sources/speech_probe.jsonl``.
"""
from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

import numpy as np

from dtssvd.synth.corpus import _sentence
from dtssvd.synth.revoice import Revoice
from dtssvd.synth.speech import GCIN_GENDER, GcinVoice
from jrsv.data.audio import save_audio
from jrsv.atomic import atomic_write_text

SR = 16000


def parse_voice(spec: str) -> tuple[str, GcinVoice]:
    """``gcin-S`` or ``gcin-S:F0,FORMANT,TEMPO`` -> (label, voice); ValueError naming the spec."""
    name, _, rv = spec.partition(":")
    speaker = name.removeprefix("gcin-")
    if not name.startswith("gcin-") or speaker not in GCIN_GENDER:
        raise ValueError(f"--voice {spec}: not gcin-{'/'.join(GCIN_GENDER)} (optionally :F0,FORMANT,TEMPO)")
    revoice = None
    if rv:
        try:
            f0, formant, tempo = (float(v) for v in rv.split(","))
        except ValueError:
            raise ValueError(f"--voice {spec}: the re-voicing is not three numbers F0,FORMANT,TEMPO") from None
        if min(f0, formant, tempo) <= 0:
            raise ValueError(f"--voice {spec}: F0 ratio, formant warp and tempo must be > 0")
        revoice = Revoice(f0, formant, tempo)
    return spec.replace(":", "_").replace(",", "-"), GcinVoice(speaker, GCIN_GENDER[speaker], revoice=revoice)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, required=True, help="recipe data dir (reads sources/speech_dev.jsonl)")
    ap.add_argument("--out", type=Path, required=True, help="where the probe set goes")
    ap.add_argument("--voice", action="append", required=True,
                    help="gcin-3 / gcin-5, optionally :F0,FORMANT,TEMPO (repeatable)")
    ap.add_argument("--sentences", type=int, default=40)
    ap.add_argument("--max-syllables", type=int, default=20)
    a = ap.parse_args(argv)
    try:
        voices = [parse_voice(v) for v in a.voice]
    except ValueError as e:
        print(f"voice_probe: {e}", file=sys.stderr)
        return 2
    manifest = a.data / "sources" / "speech_dev.jsonl"
    try:
        texts = [json.loads(line)["text"] for line in manifest.read_text(encoding="utf-8").splitlines() if line]
    except (OSError, ValueError, KeyError) as e:
        print(f"{manifest}: cannot read the source list ({e})", file=sys.stderr)
        return 2
    chosen = []
    for text in dict.fromkeys(texts):  # unique, in order
        s = _sentence(text)
        if s and len(s.pinyin) <= a.max_syllables and all(v.covers(s.pinyin) for _, v in voices):
            chosen.append((text, s))
        if len(chosen) == a.sentences:
            break
    rows = []
    for label, voice in voices:
        for i, (text, s) in enumerate(chosen):
            x = voice.sentence(s.pinyin, random.Random(i), SR, [len(w) for w in s.words])
            x = np.concatenate([np.zeros(SR // 5), x, np.zeros(SR // 5)])
            x = 0.5 * x / max(1e-9, float(np.abs(x).max()))
            path = a.out / "wav" / f"{label}_{i:03d}.wav"
            save_audio(path, x.astype(np.float32), SR)
            rows.append({"id": f"{label}_{i:03d}", "path": str(path), "speaker": label, "text": text})
    atomic_write_text(a.out / "sources" / "speech_probe.jsonl",
                      "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    print(f"{a.out}: {len(chosen)} dev sentences x {len(voices)} voices")
    return 0


if __name__ == "__main__":
    sys.exit(main())
