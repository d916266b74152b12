#!/usr/bin/env python3
"""CER of a clean-input (fbank) ASR per speaker and per singer, on a split's source utterances.

    cd recipes/dtssvd && python local/per_speaker_cer.py --model exp_base/asr_multi/final \
        --data data_base --split test
    # over- or under-fitting: the same seeded number of training and dev utterances
    python local/per_speaker_cer.py --model exp_large/asr_multi/final --data data_large \
        --split train,dev --max-utts 60 --decode-mode ctc_greedy_search

Reads ``DATA/sources/{speech,singing}_SPLIT.jsonl`` (stage 0), decodes every utterance (or a seeded
sample of ``--max-utts``) on its own (no batching, so no padding), by default with CTC prefix beam
search + attention rescoring, and prints the CER per speaker / singer (the worst three when a split
has more than 12) and overall: where a model's errors come from.
"""
from __future__ import annotations

import argparse
import collections
import json
import random
import sys
from pathlib import Path

import torch
from tqdm import tqdm

from jrsv.asr.cer import align_counts
from jrsv.asr.tokenizer import CharTokenizer
from jrsv.data.audio import load_audio
from jrsv.model_io import load_model_dir
from jrsv.nn.frontend import Fbank


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, required=True, help="ASR model dir (80-dim fbank input)")
    ap.add_argument("--data", type=Path, required=True, help="recipe data dir")
    ap.add_argument("--split", default="test", help="split or comma-separated splits (train,dev)")
    ap.add_argument("--beam-size", type=int, default=10)
    ap.add_argument("--decode-mode", default="attention_rescoring",
                    choices=("attention_rescoring", "ctc_prefix_beam_search", "ctc_greedy_search"))
    ap.add_argument("--tracks", default="speech,singing", help="comma-separated: speech, singing or both")
    ap.add_argument("--max-utts", type=int, default=0,
                    help="decode a seeded sample of N utterances per track and split (0: all)")
    a = ap.parse_args(argv)
    if not set(a.tracks.split(",")) <= {"speech", "singing"}:
        ap.error(f"--tracks {a.tracks}: not speech, singing or speech,singing")
    asr = load_model_dir(a.model)
    fbank = Fbank(num_mel_bins=80)
    tokenizer = CharTokenizer(asr.units)
    for split, track in ((s, t) for s in a.split.split(",") for t in a.tracks.split(",")):
        manifest = a.data / "sources" / f"{track}_{split}.jsonl"
        try:
            rows = [json.loads(line) for line in manifest.read_text(encoding="utf-8").splitlines()
                    if line]
        except (OSError, ValueError) as e:
            print(f"{manifest}: cannot read the source list ({e})", file=sys.stderr)
            return 2
        if 0 < a.max_utts < len(rows):
            rows = random.Random(0).sample(rows, a.max_utts)
        err: collections.Counter = collections.Counter()
        ref: collections.Counter = collections.Counter()
        for r in tqdm(rows, desc=track, leave=False):
            wav = torch.from_numpy(load_audio(r["path"], 16000)).float()[None]
            with torch.no_grad():
                feats, frames = fbank(wav, torch.tensor([wav.size(1)]))
                hyp = asr.decode(feats, frames, mode=a.decode_mode, beam_size=a.beam_size)[0]
            c = align_counts(r["text"].replace(" ", ""), tokenizer.decode(hyp.tokens).replace(" ", ""))
            err[r["speaker"]] += c.errors
            ref[r["speaker"]] += c.ref_len
        voices = sorted(ref, key=lambda k: (-err[k] / max(ref[k], 1), k))
        shown = sorted(voices) if len(voices) <= 12 else voices[:3]
        per = ", ".join(f"{k} {100 * err[k] / max(ref[k], 1):.1f}" for k in shown)
        per = per if len(voices) <= 12 else f"{len(voices)} voices, worst {per}"
        print(f"{split} {track} ({len(rows)} utterances): {per}; "
              f"all {100 * sum(err.values()) / max(sum(ref.values()), 1):.1f} % CER")
    return 0


if __name__ == "__main__":
    sys.exit(main())
