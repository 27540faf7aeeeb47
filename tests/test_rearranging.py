"""Tests for torchlite.ops.rearranging: flip/fliplr/flipud, roll, repeat/tile, pad (constant, reflect,
replicate, circular) and one_hot, against torch (the oracle) and numpy.
"""
from __future__ import annotations

import numpy as np
import pytest

import torchlite as tl
from torchlite.ops.rearranging import one_hot as tl_one_hot, pad as tl_pad
from _indexing_helpers import T, TT, arr, npdtype, same, strided


# --- flip / roll / repeat / tile -------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["float64", "int16", "bool", "bfloat16"])
def test_flip_roll_repeat_tile(dtype):
    torch = pytest.importorskip("torch")
    a = arr((2, 3, 4), dtype)
    x, y = T(a), TT(torch, a)
    for dims in ((0,), (1, 2), (-1, 0), (0, 1, 2)):
        same(x.flip(dims), y.flip(dims))
        same(tl.flip(x.transpose(0, 2), dims), np.flip(a.transpose(2, 1, 0), dims))
    same(x.flip(1, 2), y.flip(1, 2))
    same(tl.flip(x, dims=[0, 2]), torch.flip(y, dims=[0, 2]))
    same(x.tile(2, 1), y.tile(2, 1))
    same(x.fliplr(), y.fliplr())
    same(x.flipud(), y.flipud())
    for shifts, dims in ((1, None), (-5, None), (2, 1), ((1, -3), (0, 2)), (7, -1)):
        same(x.roll(shifts, dims), y.roll(shifts, dims))
    same(x.t().roll(1, 0) if x.ndim == 2 else x.transpose(0, 1).roll(1, 0), y.transpose(0, 1).roll(1, 0))
    for reps in ((1, 1, 1), (2, 1, 3), (2, 1, 1, 2), (1, 0, 1)):
        same(x.repeat(*reps), y.repeat(*reps))
        same(x.tile(reps), y.tile(reps))
    same(x.repeat((2, 2, 1)), np.tile(a, (2, 2, 1)))
    same(x.tile((2,)), y.tile((2,)))
    same(x.transpose(0, 1).repeat(1, 2, 1), y.transpose(0, 1).repeat(1, 2, 1))
    s = np.array(3, dtype=npdtype(dtype)) if dtype != "bool" else np.array(True)
    same(T(s).flip(0), TT(torch, s).flip(0))
    same(T(s).roll(2), TT(torch, s).roll(2))
    same(T(s).repeat(()), TT(torch, s).repeat(()))
    same(T(s).repeat(2, 3), TT(torch, s).repeat(2, 3))
    same(T(np.zeros((0, 3))).roll(1, 0), torch.zeros(0, 3, dtype=torch.float64).roll(1, 0))


# --- pad -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
def test_pad_matches_torch(mode):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    a = arr((2, 3, 4, 5))
    cases = {"constant": [(a, (1, 2)), (a, (0, 1, 2, 3)), (a, (1, 1, 1, 1, 1, 1, 1, 1)), (a, (-1, 2, 0, -2)),
                          (a[0, 0], (2, 2)), (a[0, 0, 0], (3, -4))],
             "reflect": [(a[0], (1, 2)), (a[0], (3, 0, 2, 1)), (a, (1, 2, 2, 1)), (a[0], (-1, 2)), (a, (1, 1, 1, 1, 1, 1)),
                         (a[0, 0], (2, 3))],
             "replicate": [(a[0], (1, 4)), (a, (3, 0, 2, 5)), (a, (-2, 1, 1, -1)), (a, (1, 2, 3, 4, 1, 2))],
             "circular": [(a[0], (1, 2)), (a, (2, 4, 3, 1)), (a[0], (-1, 2)), (a[0], (2, -1)), (a, (1, 1, 1, 1, 2, 2)), (a[0], (5, 5))]}[mode]
    for v, p in cases:
        same(tl_pad(T(v), p, mode=mode), F.pad(TT(torch, v), p, mode=mode), rtol=0)
    same(tl_pad(strided(a), (1, 2, 0, 1), mode=mode), F.pad(TT(torch, a), (1, 2, 0, 1), mode=mode))
    if mode == "constant":
        same(tl_pad(T(a), (1, 2), value=3.5), F.pad(TT(torch, a), (1, 2), value=3.5))
        b = arr((2, 3), "int64")
        same(tl_pad(T(b), (1, 1), value=3.7), F.pad(TT(torch, b), (1, 1), value=3.7))
        same(tl_pad(T(b > 0), (1, 0, 0, 1), value=True), F.pad(TT(torch, b > 0), (1, 0, 0, 1), value=True))
        same(tl_pad(tl.tensor(1.0), ()), F.pad(torch.tensor(1.0), ()))
        same(tl_pad(T(np.zeros((0, 2))), (1, 1)), np.zeros((0, 4)))
        np.testing.assert_array_equal(tl_pad(T(a), (2, 1), mode="constant").numpy(),
                                      np.pad(a, ((0, 0),) * 3 + ((2, 1),)))


# --- one_hot ---------------------------------------------------------------------------------------------

def test_one_hot_matches_torch():
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    i = np.array([[0, 3], [2, 1], [3, 3]])
    same(tl_one_hot(T(i)), F.one_hot(TT(torch, i)))
    same(tl_one_hot(T(i), 6), F.one_hot(TT(torch, i), 6))
    same(tl_one_hot(T(i).t(), 4), F.one_hot(TT(torch, i).t(), 4))
    same(tl_one_hot(tl.tensor(2), 3), F.one_hot(torch.tensor(2), 3))
    same(tl_one_hot(tl.tensor([], dtype=tl.int64), 3), F.one_hot(torch.tensor([], dtype=torch.int64), 3))
    same(tl_one_hot(T(i), 5), (i[..., None] == np.arange(5)).astype(np.int64))
