#!/usr/bin/env python3
"""Package a recipe model as a shippable model directory with a model card.

    cd recipes/dtssvd && python local/package_model.py --exp exp --data data \
        --system jrsv_fd --out ../../jrsv/pretrained/default [--half]

Copies ``EXP/SYSTEM/final`` (loaded and re-saved through ``jrsv.model_io``, so it is checked),
optionally storing the weights in float16 (``--half``; they are cast back to float32 on load),
and writes ``MODEL_CARD.md``: what it was trained on (counts from the stage-0 manifests and the
generator's manifest), the training config, and the measured scores from ``EXP/scores``.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import torch
import yaml

from jrsv.eval.scores import OVERLAPS, read_score
from jrsv.model_io import load_model_dir, read_units, save_model_dir
from dtssvd.synth import preset_name


def provenance(data: Path) -> dict:
    """``trained_on`` for config.yaml: the generated corpora's preset and seed (``make demo``
    builds its sample stream from the test split of the same corpora), or the real corpora."""
    gen = data / "corpora" / "mini_corpora.json"
    if not gen.is_file():
        return {"corpus": "real"}
    conf = json.loads(gen.read_text())["config"]
    out = {"corpus": "generated", "preset": preset_name(conf), "seed": conf["seed"]}
    if conf.get("neural_voices"):  # extra training voices; dev/test are the preset's
        out["neural_voices"] = conf["neural_voices"]
    return out


def scores_table(score_dir: Path) -> str:
    rows = []
    for p in sorted(score_dir.glob("*.json")):
        try:
            s = read_score(p)
        except ValueError:
            continue
        unit = "dB SDRi" if s.metric == "sdri" else "% CER"
        cells = " | ".join(f"{s.per_overlap.get(o, {}).get('speech', float('nan')):.1f} / "
                           f"{s.per_overlap.get(o, {}).get('singing', float('nan')):.1f}" for o in OVERLAPS)
        worst = [s.worst_voice(t) for t in ("speech", "singing")]
        worst_cell = " / ".join(f"{w[0]} {w[1]:.1f}" if w else "" for w in worst) if any(worst) else ""
        rows.append(f"| {s.table} | {s.system} | {unit} | {cells} | "
                    f"{s.average('speech'):.1f} / {s.average('singing'):.1f} | {worst_cell} |")
        if s.unmixed:  # Table 1: the same ASR on the clean, unmixed test utterances
            u = f"{s.unmixed.get('speech', float('nan')):.1f} / {s.unmixed.get('singing', float('nan')):.1f}"
            rows.append(f"| {s.table} | {s.system}, clean utterances | {unit} | "
                        + " | ".join("" for _ in OVERLAPS) + f" | {u} | |")
    ncol = 3 + len(OVERLAPS) + 2
    head = ("| table | system | metric | " + " | ".join(OVERLAPS)
            + " | avg | worst voice (speech / singing, over the mixtures) |\n" + "|---" * ncol + "|")
    return head + "\n" + "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--exp", type=Path, required=True)
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--system", default="jrsv_fd")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--half", action="store_true", help="store float weights as float16")
    ap.add_argument("--made-by", default="make recipe-mini        # recipes/dtssvd/run.sh "
                    "--config tiny --corpus generated --preset mini",
                    help="the training command, for the model card")
    ap.add_argument("--notes", type=Path, default=None,
                    help="markdown file: how the parts were trained (budgets, machines), for the card")
    a = ap.parse_args(argv)
    src = a.exp / a.system / "final"
    model = load_model_dir(src)
    tmp = a.out.with_name(a.out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    trained_on = provenance(a.data)
    save_model_dir(model, tmp, units=read_units(src), extra_config={"trained_on": trained_on})
    if a.half:
        state = torch.load(tmp / "model.pt", weights_only=True)
        torch.save({k: v.half() if v.is_floating_point() else v for k, v in state.items()},
                   tmp / "model.pt")
        load_model_dir(tmp)  # the half-precision file loads back
    train_conf = yaml.safe_load((a.exp / a.system / "train.yaml").read_text())
    counts = json.loads((a.data / "sources" / "done.json").read_text())["counts"]
    gen = a.data / "corpora" / "mini_corpora.json"
    gen_stats = json.loads(gen.read_text()).get("stats", {}) if gen.is_file() else {}
    n_params = sum(p.numel() for p in model.parameters())
    notes = "\n**How it was trained.** " + a.notes.read_text(encoding="utf-8").strip() + "\n" if a.notes else ""
    card = f"""# Model card: `{a.out.name}` ({a.system})

**What it is.** A JRSV model (`kind: {yaml.safe_load((tmp / 'config.yaml').read_text())['model']['kind']}`):
MTASS separator + one shared U2 CTC/attention ASR over the separated speech and singing tracks,
{n_params / 1e6:.2f} M parameters{' (stored as float16)' if a.half else ''}.
Mode `{train_conf['model'].get('mode', '')}` ({'frozen MTASS + online distillation' if train_conf['model'].get('mode') == 'fd' else train_conf['model'].get('mode', '')}).

**Trained on** generated data only (no real recordings of people): the generated
corpora of `dtssvd/synth` (preset `{trained_on.get('preset')}`, seed {trained_on.get('seed')}), in the AISHELL-1 / OpenSinger / MUSDB18-HQ layouts:
Mandarin sentences from Debian's `fortunes-zh` and `manpages-zh` (presets `base` and smaller: generated
templates) read by espeak-ng (`cmn-latn-pinyin`) voices, some re-voiced with WORLD, and by the real
gcin-voice speakers; singing re-synthesised with WORLD onto generated melodies; accompaniment from
recorded Debian game soundtracks and fluidsynth renderings. Source counts (stage 0): `{json.dumps(counts)}`.
Generator statistics: `{json.dumps(gen_stats, ensure_ascii=False)}`.
Training mixtures are made on the fly (DTSSVD rules, `dtssvd/README.md`); the test set uses
speakers, singers, sentences, lyrics, songs and music never seen in training.

**Limits.** It knows only the {len(read_units(src)) - 3} characters of the generated texts, the
synthetic voices and the generated mixtures; its error rates are high (below). It is a working
example of the whole pipeline, not a production model: train the paper-size recipe
(`recipes/dtssvd/run.sh --config paper --corpus DIR`) on the real corpora for that.
{notes}
**How it was made.**
```
{a.made_by}
python local/package_model.py --exp {a.exp} --data {a.data} --system {a.system} --out {a.out}{' --half' if a.half else ''}
```
Training config: `{a.exp / a.system / 'train.yaml'}` (copied below).

**Measured scores** on the generated DTSSVD test set (`{a.data / 'dtssvd' / 'test.jsonl'}`),
speech / singing, by `recipes/dtssvd/local/evaluate.py` (recipe stage 5):

{scores_table(a.exp / 'scores')}

## Training config
```yaml
{yaml.safe_dump(train_conf, sort_keys=False, allow_unicode=True)}```
"""
    (tmp / "MODEL_CARD.md").write_text(card, encoding="utf-8")
    if a.out.exists():
        shutil.rmtree(a.out)
    tmp.replace(a.out)
    size = sum(p.stat().st_size for p in a.out.iterdir())
    print(f"wrote {a.out} ({size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
