"""Schedulers: Noam/WarmupLR against the formula, constant warm-up, state round trip."""
import pytest
import torch

from jrsv.train.scheduler import ConstantLR, WarmupLR, build_optimizer, build_scheduler, noam_lr

torch.set_num_threads(1)


def _opt(lr):
    return torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))], lr=lr)


def test_warmuplr_matches_formula():
    base, w = 2e-3, 100
    opt = _opt(base)
    sched = WarmupLR(opt)
    assert sched.warmup_steps == 10000  # default
    opt, sched = _opt(base), None
    sched = WarmupLR(opt, warmup_steps=w)
    for step in range(1, 400):
        expected = base * w ** 0.5 * min(step ** -0.5, step * w ** -1.5)
        assert opt.param_groups[0]["lr"] == pytest.approx(expected, rel=1e-9), step
        opt.step()
        sched.step()
    assert noam_lr(base, w, w) == pytest.approx(base)  # peak at warm-up end


def test_constant_warmup_and_state_dict():
    opt = _opt(1e-3)
    sched = ConstantLR(opt, warmup_steps=4)
    lrs = []
    for _ in range(6):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert lrs == pytest.approx([2.5e-4, 5e-4, 7.5e-4, 1e-3, 1e-3, 1e-3])
    opt2 = _opt(1e-3)
    s2 = build_scheduler(opt2, {"name": "noam", "warmup_steps": 10})
    for _ in range(7):
        opt2.step()
        s2.step()
    opt3 = _opt(1e-3)
    s3 = WarmupLR(opt3, 10)
    s3.load_state_dict(s2.state_dict())
    opt3.step()
    s3.step()
    opt2.step()
    s2.step()
    assert s3.get_last_lr() == s2.get_last_lr()


def test_builders_errors():
    with pytest.raises(ValueError, match="scheduler.name"):
        build_scheduler(_opt(1.0), {"name": "cosine?"})
    with pytest.raises(ValueError, match="optim.name"):
        build_optimizer([torch.nn.Parameter(torch.zeros(1))], {"name": "lion"})
    assert isinstance(build_scheduler(_opt(1.0), {"name": "plateau"}),
                      torch.optim.lr_scheduler.ReduceLROnPlateau)
