"""MTASS separator: shapes, padding, output modes, config, paper-size parameter count."""
import pytest
import torch

from jrsv.separation.model import MTASS, mtass_num_params

TINY = dict(input_dim=40, output_size=32, attention_heads=4, linear_units=64, num_blocks=2,
            cnn_module_kernel=5, dropout_rate=0.0)


@pytest.mark.parametrize("output", ["mask", "mapping"])
@pytest.mark.parametrize("heads", [("speech", "singing"), ("speech", "singing", "music")])
def test_shapes_nonneg_and_zero_padding(output, heads):
    m = MTASS(**TINY, output=output, heads=heads).eval()
    mix = torch.rand(3, 20, 40)
    out = m(mix, torch.tensor([20, 13, 5]))
    assert tuple(out) == heads
    for est in out.values():
        assert est.shape == (3, 20, 40)
        assert (est >= 0).all()
        assert (est[1, 13:] == 0).all() and (est[2, 5:] == 0).all()


def test_mask_output_bounded_by_mixture():
    m = MTASS(**TINY).eval()
    mix = torch.rand(2, 15, 40)
    out = m(mix, torch.tensor([15, 15]))
    assert (out["speech"] <= mix + 1e-6).all() and (out["singing"] <= mix + 1e-6).all()


@pytest.mark.parametrize("output", ["mask", "mapping"])
def test_padded_items_equal_unpadded(output):
    m = MTASS(**TINY, output=output).eval()
    a, b = torch.rand(1, 24, 40), torch.rand(1, 11, 40)
    batch = torch.rand(2, 24, 40)  # garbage in the padding must not leak
    batch[0], batch[1, :11] = a[0], b[0]
    out = m(batch, torch.tensor([24, 11]))
    oa, ob = m(a, torch.tensor([24])), m(b, torch.tensor([11]))
    for h in ("speech", "singing"):
        assert torch.allclose(out[h][0], oa[h][0], atol=1e-5)
        assert torch.allclose(out[h][1, :11], ob[h][0], atol=1e-5)


def test_from_config_with_cmvn_and_errors():
    m = MTASS.from_config({**TINY, "cmvn": True, "output": "mapping"})
    assert m.encoder.global_cmvn is not None and m.output == "mapping"
    m2 = MTASS.from_config(m.config)
    m2.load_state_dict(m.state_dict())
    with pytest.raises(ValueError, match=r"unknown mtass config keys \['bogus'\]"):
        MTASS.from_config({**TINY, "bogus": 1})
    with pytest.raises(ValueError, match="output"):
        MTASS(**TINY, output="softmax")
    with pytest.raises(ValueError, match="heads"):
        MTASS(**TINY, heads=("singing",))
    with pytest.raises(ValueError, match="expects mix_mag"):
        MTASS(**TINY)(torch.rand(1, 5, 41), torch.tensor([5]))


def test_paper_size_parameter_count():
    m = MTASS()  # paper: 16 blocks, d 256, 8 heads, FFN 1024, kernel 33, 513 bins, 2 heads
    n = sum(p.numel() for p in m.parameters())
    print(f"\nMTASS paper-size parameters: {n:,} ({n / 1e6:.2f} M)")
    assert n == mtass_num_params()
    tiny = MTASS(**TINY, heads=("speech", "singing", "music"))
    t_conf = {k: v for k, v in TINY.items() if k != "dropout_rate"}
    assert sum(p.numel() for p in tiny.parameters()) == mtass_num_params(**t_conf, num_heads=3)
