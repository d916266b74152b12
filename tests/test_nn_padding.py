"""The one padding helper and the wrappers that use it."""
import pytest
import torch

from jrsv.decode.engine import pad_batch
from jrsv.nn.padding import pad_sequences
from jrsv.tasks.common import pad_token_lists, pad_waveforms


def test_pad_sequences_shapes_values_lengths():
    x, lens = pad_sequences([torch.ones(3, 2), torch.full((1, 2), 2.0)], value=-5)
    assert x.shape == (2, 3, 2) and lens.tolist() == [3, 1]
    assert x[1, 0].tolist() == [2.0, 2.0] and (x[1, 1:] == -5).all()
    y, _ = pad_sequences([torch.zeros(0, dtype=torch.long)], value=-1, min_len=1)
    assert y.tolist() == [[-1]]
    with pytest.raises(ValueError, match="at least one"):
        pad_sequences([])


def test_wrappers_keep_their_contracts():
    w, wl = pad_waveforms([torch.ones(4, dtype=torch.float64), torch.ones(2)])
    assert w.dtype == torch.float32 and w.tolist() == [[1, 1, 1, 1], [1, 1, 0, 0]]
    assert wl.tolist() == [4, 2]
    t, tl = pad_token_lists([[5, 6], []])
    assert t.tolist() == [[5, 6], [-1, -1]] and tl.tolist() == [2, 0]
    assert pad_token_lists([[], []])[0].tolist() == [[-1], [-1]]
    m, ml = pad_batch([torch.ones(2, 3), torch.ones(5, 3)])
    assert m.shape == (2, 5, 3) and ml.tolist() == [2, 5] and m[0, 2:].abs().sum() == 0
