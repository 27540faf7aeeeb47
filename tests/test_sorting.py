"""Tests for torchlite.ops.sorting: sort/argsort (stable, NaN and ties, bool, 0-d and empty, the namedtuple),
msort and topk, against torch (the oracle) and numpy.
"""
from __future__ import annotations

import numpy as np
import pytest

import torchlite as tl
from _indexing_helpers import T, TT, arr, npdtype, same


# --- sort / argsort / topk -------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "uint8", "float16", "bfloat16"])
@pytest.mark.parametrize("dim", [0, -1])
def test_sort_and_argsort_stable_match_torch(dtype, dim):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(11)
    a = rng.integers(0, 4, size=(6, 7)).astype(npdtype(dtype))            # many ties
    if dtype in ("float32", "float64"):
        a[1, 2] = a[4, 0] = np.nan
    x, y = T(a), TT(torch, a)
    for desc in (False, True):
        ours = x.sort(dim=dim, descending=desc, stable=True)
        ref = y.sort(dim=dim, descending=desc, stable=True)
        same(ours.values, ref.values)
        same(ours.indices, ref.indices)
        same(ours[0], ref[0])
        same(x.argsort(dim, desc, stable=True), y.argsort(dim=dim, descending=desc, stable=True))
        same(tl.sort(x.t(), dim, desc, stable=True).indices, torch.sort(y.t(), dim=dim, descending=desc, stable=True).indices)
    same(x.sort(dim).values, np.sort(a.astype(np.float64), axis=dim).astype(a.dtype))


def test_sort_0d_empty_bool_and_namedtuple():
    torch = pytest.importorskip("torch")
    v, i = tl.tensor(3.0).sort()
    same(v, torch.tensor(3.0))
    same(i, torch.tensor(0))
    same(T(np.zeros((2, 0))).sort().indices, torch.zeros(2, 0).sort().indices)
    b = np.array([True, False, True, False])
    same(T(b).sort(stable=True).indices, TT(torch, b).sort(stable=True).indices)
    same(T(b).sort(descending=True, stable=True).values, TT(torch, b).sort(descending=True, stable=True).values)
    r = tl.tensor([3, 1, 2]).sort()
    assert type(r).__name__ == "sort" and r._fields == ("values", "indices")
    assert r.values.tolist() == [1, 2, 3] and r.indices.tolist() == [1, 2, 0]
    assert tl.msort(tl.tensor([[2, 1], [0, 5]])).tolist() == [[0, 1], [2, 5]]


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_topk_matches_torch(dim):
    torch = pytest.importorskip("torch")
    a = arr((4, 5, 6))                                   # distinct values: indices are unambiguous
    x, y = T(a), TT(torch, a)
    for k in (0, 1, 3, a.shape[dim]):
        for largest in (True, False):
            ours, ref = x.topk(k, dim, largest), y.topk(k, dim, largest)
            same(ours.values, ref.values)
            same(ours.indices, ref.indices)
    v, i = tl.topk(x.transpose(0, 2), 2, dim)
    ref = torch.topk(y.transpose(0, 2), 2, dim)
    same(v, ref.values)
    same(i, ref.indices)
    ties = np.array([3.0, 1.0, 3.0, np.nan, 1.0])
    ov, oi = T(ties).topk(3)
    rv, ri = TT(torch, ties).topk(3)
    same(ov, rv)                                         # torch's tie order among equal values is unspecified
    same(T(ties).gather(0, oi), ov)
    same(tl.tensor([1, 2, 3]).topk(2).values, torch.tensor([1, 2, 3]).topk(2).values)
    same(tl.tensor(3.0).topk(1).values, torch.tensor(3.0).topk(1).values)
