"""jrsv.bin.robustness: input conditions and the SDRi table."""
from pathlib import Path

import numpy as np
import torch

from jrsv.bin import robustness as rb
from jrsv.model_io import load_model_dir
from jrsv.separation.metrics import sdri

ROOT = Path(__file__).resolve().parents[1]


def test_quantize16_and_floor_levels():
    x = torch.linspace(-1.2, 1.2, 16001)
    q = rb.quantize16(x)
    assert q.abs().max() <= 1.0 and torch.allclose(q * 32767, torch.round(q * 32767))
    y = rb.white_floor(-60.0)(torch.zeros(160000))
    assert abs(20 * np.log10(float(y.pow(2).mean().sqrt())) + 60.0) < 0.2
    assert torch.equal(rb.white_floor(-60.0)(torch.zeros(10)), rb.white_floor(-60.0)(torch.zeros(10)))


def test_measure_matches_direct_sdri():
    sep = load_model_dir(ROOT / "jrsv" / "pretrained" / "default").mtass.eval()
    g = torch.Generator().manual_seed(0)
    items = []
    for _ in range(2):
        sp, sg = 0.1 * torch.randn(24000, generator=g), 0.1 * torch.randn(24000, generator=g)
        items.append({"speech": sp, "singing": sg, "mixture": sp + sg + 0.01 * torch.randn(24000, generator=g)})
    res = rb.measure(sep, items)
    assert set(res) == set(rb.CONDITIONS)
    est = rb.separate(sep, items[0]["mixture"])
    one = rb.measure(sep, items[:1], {"float": lambda x: x})
    assert abs(one["float"]["speech"] - float(sdri(items[0]["speech"], est["speech"], items[0]["mixture"]))) < 1e-6
    assert all(np.isfinite(v) for d in res.values() for v in d.values())
