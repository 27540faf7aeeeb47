"""Tests for torchlite.ops.joining: cat/concat/concatenate (dtype promotion, legacy 1-d empties), stack and
hstack/vstack/dstack/column_stack/row_stack, atleast_1d/2d/3d, and split/chunk/unbind/tensor_split (views:
writes through a piece reach the input), against torch (the oracle) and numpy.
"""
from __future__ import annotations

import numpy as np
import pytest

import torchlite as tl
from _indexing_helpers import T, TT, arr, same


# --- cat / stack / split ---------------------------------------------------------------------------------

def test_cat_matches_torch():
    torch = pytest.importorskip("torch")
    a, b, c = arr((2, 3), "float32"), arr((2, 4), "float64", 1), arr((2, 1), "int32", 2)
    same(tl.cat([T(a), T(b), T(c)], 1), torch.cat([TT(torch, a), TT(torch, b), TT(torch, c)], 1))
    same(tl.cat([T(a), T(a)], -2), torch.cat([TT(torch, a), TT(torch, a)], -2))
    same(tl.concat((T(a).t(), T(b)[:, 1:].t())), torch.concat((TT(torch, a).t(), TT(torch, b)[:, 1:].t())))
    same(tl.concatenate([T(a), T(np.zeros((0, 3), np.int32))]), torch.cat([TT(torch, a), torch.zeros(0, 3, dtype=torch.int32)]))
    # legacy: 1-d empty tensors are skipped, but still take part in type promotion
    same(tl.cat([T(a), tl.tensor([], dtype=tl.float64)], 1), torch.cat([TT(torch, a), torch.tensor([], dtype=torch.float64)], 1))
    same(tl.cat([tl.tensor([], dtype=tl.int32), tl.tensor([], dtype=tl.int8)]),
         torch.cat([torch.tensor([], dtype=torch.int32), torch.tensor([], dtype=torch.int8)]))
    for d1, d2 in [("bool", "uint8"), ("int32", "uint8"), ("bfloat16", "float16"), ("int8", "uint8"), ("bool", "bool")]:
        p, q = arr((2,), d1), arr((3,), d2)
        same(tl.cat([T(p), T(q)]), torch.cat([TT(torch, p), TT(torch, q)]))
    same(tl.cat([T(a)]), a)
    same(tl.cat([T(a), T(a)], 0), np.concatenate([a, a], 0))


def test_stack_family_matches_torch():
    torch = pytest.importorskip("torch")
    a, b = arr((2, 3), "float32"), arr((2, 3), "int64", 1)
    for dim in (0, 1, 2, -1, -3):
        same(tl.stack([T(a), T(b), T(a)], dim), torch.stack([TT(torch, a), TT(torch, b), TT(torch, a)], dim))
    same(tl.stack([T(a).t(), T(b).t()]), np.stack([a.T, b.T.astype(np.float32)]))
    same(tl.stack([tl.tensor(1), tl.tensor(2.0)]), torch.stack([torch.tensor(1), torch.tensor(2.0)]))
    for fn in ("hstack", "vstack", "dstack", "column_stack", "row_stack"):
        for group in ([a, b], [a[0], b[1]], [np.array(1.0), np.array(2.0)] if fn != "vstack" else [a[0], a[1]]):
            same(getattr(tl, fn)([T(g) for g in group]), getattr(torch, fn)([TT(torch, g) for g in group]))
    for k, fn in ((1, tl.atleast_1d), (2, tl.atleast_2d), (3, tl.atleast_3d)):
        for s in ((), (3,), (2, 3)):
            same(fn(T(np.ones(s))), getattr(torch, f"atleast_{k}d")(torch.ones(s, dtype=torch.float64)))


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_split_chunk_unbind_tensor_split(dim):
    torch = pytest.importorskip("torch")
    a = arr((5, 7, 3))
    x, y = T(a), TT(torch, a)
    n = a.shape[dim]
    cases = [("split", (2,)), ("split", (n,)), ("split", (n + 3,)), ("split", ([1, n - 1],)), ("split", ([0, n, 0],)),
             ("chunk", (2,)), ("chunk", (3,)), ("chunk", (n + 1,)), ("unbind", ()),
             ("tensor_split", (2,)), ("tensor_split", (4,)), ("tensor_split", ([1, 3, 20],)), ("tensor_split", ([-2, 1],))]
    for name, args in cases:
        ours = getattr(x, name)(*args, dim=dim)
        ref = getattr(y, name)(*args, dim=dim)
        assert isinstance(ours, tuple) and len(ours) == len(ref), (name, args)
        for o, r in zip(ours, ref):
            same(o, r)
    same(tl.split(x.transpose(0, 1), 3, dim)[-1], torch.split(y.transpose(0, 1), 3, dim)[-1])
    ti = x.tensor_split(tl.tensor([1, 3]), dim)
    assert [tuple(t.shape) for t in ti] == [tuple(t.shape) for t in y.tensor_split(torch.tensor([1, 3]), dim)]


def test_split_empty_and_views_write_back():
    torch = pytest.importorskip("torch")
    e = np.zeros((0, 2))
    for name, args in [("split", (0,)), ("split", (2,)), ("chunk", (3,))]:
        ours, ref = getattr(T(e), name)(*args), getattr(TT(torch, e), name)(*args)
        assert [tuple(t.shape) for t in ours] == [tuple(t.shape) for t in ref]
    x = tl.zeros(4, 3)
    y = x.split(2)[1]
    y.mul_(2)
    y.add_(1)
    p, q = x.chunk(2, dim=1)
    q[0, 0] = 9.0
    r = x.unbind(1)[0]
    r[:] = -1.0
    want = np.zeros((4, 3), np.float32)
    want[2:] = 1
    want[0, 2] = 9
    want[:, 0] = -1
    same(x, want)
    same(y, want[2:])
