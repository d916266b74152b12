import torch

from jrsv.nn.mask import (add_optional_chunk_mask, make_pad_mask, subsequent_chunk_mask,
                          subsequent_mask)


def test_make_pad_mask():
    m = make_pad_mask(torch.tensor([3, 1]), 4)
    assert m.tolist() == [[False, False, False, True], [False, True, True, True]]


def test_subsequent_mask():
    assert subsequent_mask(3).tolist() == [[True, False, False], [True, True, False], [True, True, True]]


def test_chunk_mask_full_and_left_context():
    m = subsequent_chunk_mask(5, 2)
    assert m[0].tolist() == [True, True, False, False, False]
    assert m[2].tolist() == [True, True, True, True, False]
    assert m[4].tolist() == [True] * 5
    m1 = subsequent_chunk_mask(6, 2, num_left_chunks=1)
    assert m1[4].tolist() == [False, False, True, True, True, True]


def test_add_optional_chunk_mask_modes():
    xs = torch.zeros(2, 6, 4)
    pad = ~make_pad_mask(torch.tensor([6, 4]), 6).unsqueeze(1)
    full = add_optional_chunk_mask(xs, pad, True, False, -1, 0, -1)
    assert full.shape == (2, 6, 6) and full[1, 0].tolist() == [True] * 4 + [False] * 2
    chunk = add_optional_chunk_mask(xs, pad, True, False, 2, 0, -1)
    assert chunk[0, 0].tolist() == [True, True, False, False, False, False]
    same = add_optional_chunk_mask(xs, pad, False, False, 0, 0, -1)
    assert same is pad
