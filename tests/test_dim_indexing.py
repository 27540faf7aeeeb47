"""Tests for torchlite.ops.dim_indexing: index_select/index_add/index_copy/index_fill, take/take_along_dim,
gather, and scatter/scatter_add/scatter_reduce, against torch (the oracle) and numpy.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import torchlite as tl
from _indexing_helpers import T, TT, arr, same, strided


# --- index_add / index_copy / index_fill / index_select / take -------------------------------------------

@pytest.mark.parametrize("dim", [0, 1, -1])
def test_index_add_copy_fill_select(dim):
    torch = pytest.importorskip("torch")
    a = arr((3, 4, 5))
    n = a.shape[dim]
    idx = np.array([n - 1, 0, n - 1])
    src_shape = list(a.shape)
    src_shape[dim] = 3
    src = arr(tuple(src_shape), seed=2)
    x, y, i, j = T(a), TT(torch, a), T(idx), TT(torch, idx)
    same(x.index_add(dim, i, T(src)), y.index_add(dim, j, TT(torch, src)), rtol=1e-12)
    same(x.index_add(dim, i, T(src), alpha=2), y.index_add(dim, j, TT(torch, src), alpha=2), rtol=1e-12)
    same(x.index_fill(dim, i, -1.5), y.index_fill(dim, j, -1.5))
    same(x.index_fill(dim, i, tl.tensor(2.0)), y.index_fill(dim, j, torch.tensor(2.0)))
    same(x.index_fill(dim, -i - 1, 7), y.index_fill(dim, -j - 1, 7))                 # index_fill wraps negatives
    uniq = np.array([n - 1, 0])
    src2 = np.take(src, [0, 1], axis=dim)
    same(x.index_copy(dim, T(uniq), T(src2)), y.index_copy(dim, TT(torch, uniq), TT(torch, src2)))
    same(x.index_select(dim, i), y.index_select(dim, j))
    same(x.index_select(dim, i.int()), np.take(a, idx, axis=dim))
    same(x.index_select(dim, tl.tensor(0)), y.index_select(dim, torch.tensor(0)))
    same(tl.index_select(strided(a), dim, i), torch.index_select(y, dim, j))
    z = T(a)
    z.index_add_(dim, i, T(src))
    same(z, y.clone().index_add_(dim, j, TT(torch, src)), rtol=1e-12)


def test_index_select_0d_and_empty():
    torch = pytest.importorskip("torch")
    same(tl.tensor(3.0).index_select(0, tl.tensor([0])), torch.tensor(3.0).index_select(0, torch.tensor([0])))
    a = arr((0, 3))
    same(T(a).index_select(1, tl.tensor([2, 2])), TT(torch, a).index_select(1, torch.tensor([2, 2])))
    same(T(a).index_select(0, tl.tensor([], dtype=tl.int64)), TT(torch, a).index_select(0, torch.tensor([], dtype=torch.int64)))


def test_take_and_take_along_dim():
    torch = pytest.importorskip("torch")
    a = arr((3, 4))
    same(T(a).take(tl.tensor([[0, 11], [-1, 5]])), TT(torch, a).take(torch.tensor([[0, 11], [-1, 5]])))
    same(T(a).t().take(tl.tensor([1, 4])), TT(torch, a).t().take(torch.tensor([1, 4])))
    i = np.array([[0], [3], [1]])
    same(tl.take_along_dim(T(a), T(i), 1), torch.take_along_dim(TT(torch, a), TT(torch, i), 1))
    same(tl.take_along_dim(T(a), T(np.array([[2, 0, 1, 1]])), 0), np.take_along_axis(a, np.array([[2, 0, 1, 1]]), 0))
    same(tl.take_along_dim(T(a), tl.tensor([5, 0])), torch.take_along_dim(TT(torch, a), torch.tensor([5, 0])))


# --- gather / scatter ------------------------------------------------------------------------------------

@pytest.mark.parametrize("dim", [0, 1, 2, -1, -3])
@pytest.mark.parametrize("dtype", ["float32", "int64", "bfloat16", "bool"])
def test_gather_matches_torch(dim, dtype):
    torch = pytest.importorskip("torch")
    a = arr((3, 4, 5), dtype)
    rng = np.random.default_rng(abs(dim))
    ishape = [2, 3, 4]
    ishape[dim] = 6
    idx = rng.integers(0, a.shape[dim], size=ishape)
    same(T(a).gather(dim, T(idx)), TT(torch, a).gather(dim, TT(torch, idx)))
    same(tl.gather(T(a).permute(1, 0, 2).permute(1, 0, 2), dim, T(idx)), TT(torch, a).gather(dim, TT(torch, idx)))


def test_gather_0d_and_empty():
    torch = pytest.importorskip("torch")
    same(tl.tensor(5.0).gather(0, tl.tensor(0)), torch.tensor(5.0).gather(0, torch.tensor(0)))
    same(tl.tensor(5.0).gather(0, tl.tensor([0, 0])), torch.tensor(5.0).gather(0, torch.tensor([0, 0])))
    a = arr((3, 4))
    e = np.zeros((0, 4), np.int64)
    same(T(a).gather(0, T(e)), TT(torch, a).gather(0, TT(torch, e)))


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_scatter_family_matches_torch(dim):
    torch = pytest.importorskip("torch")
    a = arr((4, 5, 3))
    rng = np.random.default_rng(7 + dim)
    ishape = [3, 4, 2]
    idx = rng.integers(0, a.shape[dim], size=ishape)
    src = arr((4, 5, 3), seed=9)
    x, y, i, j, s, t = T(a), TT(torch, a), T(idx), TT(torch, idx), T(src), TT(torch, src)
    uniq = np.argsort(rng.random(ishape), axis=dim) % a.shape[dim]   # one write per target: deterministic
    same(x.scatter(dim, T(uniq), s), y.scatter(dim, TT(torch, uniq), t))
    same(x.scatter(dim, i, 2.5), y.scatter(dim, j, 2.5))
    same(x.scatter(dim, i, value=-1.0), y.scatter(dim, j, value=-1.0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")     # torch deprecates reduce= with a tensor src
        same(x.scatter(dim, i, s, reduce="add"), y.scatter(dim, j, t, reduce="add"), rtol=1e-12)
        same(x.scatter(dim, i, s, reduce="multiply"), y.scatter(dim, j, t, reduce="multiply"), rtol=1e-12)
    same(x.scatter_add(dim, i, s), y.scatter_add(dim, j, t), rtol=1e-12)
    same(tl.scatter_add(x.transpose(0, 1).transpose(0, 1), dim, i, s), torch.scatter_add(y, dim, j, t), rtol=1e-12)
    for red in ("sum", "prod", "mean", "amax", "amin"):
        for inc in (True, False):
            same(x.scatter_reduce(dim, i, s, red, include_self=inc), y.scatter_reduce(dim, j, t, red, include_self=inc),
                 rtol=1e-12)
    z = T(a)
    z.scatter_(dim, T(uniq), s)
    z.scatter_add_(dim, i, s)
    y.scatter_(dim, TT(torch, uniq), t).scatter_add_(dim, j, t)
    same(z, y, rtol=1e-12)


def test_scatter_reduce_mean_on_integers_floors_like_torch():
    torch = pytest.importorskip("torch")
    x, i, s = [[5, -7, 3], [2, 9, -4]], [[0, 0, 1], [0, 1, 1]], [[1, 2, -3], [4, -6, 7]]
    for inc in (True, False):
        same(tl.tensor(x).scatter_reduce(0, tl.tensor(i), tl.tensor(s), "mean", include_self=inc),
             torch.tensor(x).scatter_reduce(0, torch.tensor(i), torch.tensor(s), "mean", include_self=inc))
        for red in ("amax", "amin", "prod", "sum"):
            same(tl.tensor(x, dtype=tl.int16).scatter_reduce(1, tl.tensor(i), tl.tensor(s, dtype=tl.int16), red, include_self=inc),
                 torch.tensor(x, dtype=torch.int16).scatter_reduce(1, torch.tensor(i), torch.tensor(s, dtype=torch.int16), red, include_self=inc))


def test_scatter_dtypes_and_0d():
    torch = pytest.importorskip("torch")
    for dt in ("int32", "float16", "bfloat16", "uint8"):
        a = arr((3, 4), dt)
        i = np.array([[0, 1, 2, 0], [2, 2, 2, 1]])
        s = arr((2, 4), dt, seed=1)
        same(T(a).scatter_add(0, T(i), T(s)), TT(torch, a).scatter_add(0, TT(torch, i), TT(torch, s)), rtol=1e-2)
        same(T(a).scatter(1, T(i[:, :1]), 7), TT(torch, a).scatter(1, TT(torch, i[:, :1]), 7))
    same(tl.tensor(2.0).scatter(0, tl.tensor(0), tl.tensor(5.0)), torch.tensor(2.0).scatter(0, torch.tensor(0), torch.tensor(5.0)))
    same(T(arr((3,))).scatter(0, tl.zeros(0, dtype=tl.int64), 1.0), torch.from_numpy(arr((3,))))
    same(T(arr((3, 4), "int64")).scatter(0, tl.tensor([[0, 1]]), 7.9),
         TT(torch, arr((3, 4), "int64")).scatter(0, torch.tensor([[0, 1]]), 7.9))
