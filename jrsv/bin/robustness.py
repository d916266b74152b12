"""SDRi of a separator on a DTSSVD list under input conditions that real audio has and generated
audio lacks: 16-bit quantisation and a white-noise floor.

A separator trained only on generated (digitally silent) sources can fall apart on such input
(BENCHMARKS.md, "Default model"); this measures it. The references are the clean ones; the
condition is applied to the mixture only, and SDRi is relative to the clean mixture.

Usage::

    cd recipes/dtssvd && jrsv robustness --model DIR --list data/dtssvd/dev.jsonl [--every 2]

``DIR`` is a ``mtass`` or ``jrsv`` model directory (``jrsv.model_io``); the list's source paths are
relative to the recipe directory. Prints a Markdown table.
"""
from __future__ import annotations

import argparse
import sys
from typing import Callable, Iterable

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from jrsv.constants import HOP_LENGTH as HOP
from jrsv.constants import N_FFT, TRACKS
from jrsv.separation.metrics import sdri



def quantize16(x: torch.Tensor) -> torch.Tensor:
    """(N,) float in [-1, 1] -> the same after a round trip through 16-bit PCM."""
    return torch.round(x.clamp(-1, 1) * 32767) / 32767


def white_floor(level_dbfs: float, seed: int = 0) -> Callable[[torch.Tensor], torch.Tensor]:
    """Condition adding white noise of RMS ``level_dbfs`` dBFS."""
    def add(x: torch.Tensor) -> torch.Tensor:
        g = torch.Generator().manual_seed(seed)
        return x + 10.0 ** (level_dbfs / 20.0) * torch.randn(x.shape, generator=g)
    return add


CONDITIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "float (as built)": lambda x: x,
    "16-bit PCM": quantize16,
    "white floor -80 dBFS": white_floor(-80.0),
    "white floor -60 dBFS": white_floor(-60.0),
}


@torch.inference_mode()
def separate(sep: nn.Module, mix: torch.Tensor) -> dict[str, torch.Tensor]:
    """(N,) mixture -> {track: (N,) estimate} (magnitude separation, mixture phase)."""
    win = torch.hann_window(N_FFT)
    spec = torch.stft(mix, N_FFT, HOP, window=win, return_complex=True)  # (F, T)
    out = sep(spec.abs().T.unsqueeze(0), torch.tensor([spec.size(1)]))
    phase = spec / spec.abs().clamp(min=1e-12)
    return {t: torch.istft(out[t][0].T * phase, N_FFT, HOP, window=win, length=mix.numel())
            for t in TRACKS}


def measure(sep: nn.Module, items: Iterable[dict], conditions: dict | None = None,
            progress: bool = False) -> dict[str, dict[str, float]]:
    """items: dicts of (N,) float tensors ``mixture``, ``speech``, ``singing``.
    Returns {condition: {track: mean SDRi (dB)}}."""
    conditions = conditions or CONDITIONS
    acc: dict[str, dict[str, list[float]]] = {c: {t: [] for t in TRACKS} for c in conditions}
    for it in tqdm(list(items), desc="robustness", unit="mix", disable=not progress):
        mix = torch.as_tensor(it["mixture"], dtype=torch.float32)
        for name, cond in conditions.items():
            est = separate(sep, cond(mix))
            for t in TRACKS:
                ref = torch.as_tensor(it[t], dtype=torch.float32)
                acc[name][t].append(float(sdri(ref, est[t], mix)))
    return {c: {t: float(np.mean(v)) if v else float("nan") for t, v in d.items()}
            for c, d in acc.items()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="jrsv robustness",
                                 description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True, help="mtass or jrsv model directory")
    ap.add_argument("--list", required=True, help="DTSSVD jsonl (dtssvd.build output)")
    ap.add_argument("--every", type=int, default=1, help="use every N-th mixture")
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    from jrsv.data.manifest_mixtures import ManifestMixtures
    from jrsv.model_io import ModelDirError, load_model_dir
    try:
        model = load_model_dir(a.model).eval()
    except ModelDirError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    sep = getattr(model, "mtass", model)
    try:
        ds = ManifestMixtures(a.list)
    except OSError as e:
        print(f"error: {a.list}: cannot read the list ({e.strerror or e})", file=sys.stderr)
        return 1
    items = (ds.arrays(i) for i in range(0, len(ds), max(1, a.every)))
    res = measure(sep, items, progress=True)
    print(f"SDRi (dB) of {a.model} on {a.list} (every {a.every}), speech / singing\n")
    print("| input condition | speech | singing |\n|---|---|---|")
    for c, d in res.items():
        print(f"| {c} | {d['speech']:.2f} | {d['singing']:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
