"""Tests for torchlite.ops.indexing: advanced getitem/setitem (index tensors, lists, masks, Python bools, None
and ellipsis), index_put, and boolean masks (masked_fill, masked_select, nonzero/argwhere, where(cond)).

Values are compared with torch (the oracle; ``pytest.importorskip`` inside those tests) and with numpy.
Bad inputs must raise the exception torch raises, with its message, naming this file's line (the catalogue of
bad inputs for the whole family is test_indexing_family.py).
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import torchlite as tl
from _indexing_helpers import T, TT, arr, raises_naming, same

HERE = r"test_indexing\.py:\d+"
raises = raises_naming(HERE)
ALL_DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16", "float32", "float64"]


# --- index specs -----------------------------------------------------------------------------------------

class Ix:
    """An int64 index tensor in an index spec (built for torchlite, torch or numpy)."""
    def __init__(self, v, dtype="int64"):
        self.v, self.dtype = v, dtype


class Bx:
    """A bool mask tensor in an index spec."""
    def __init__(self, v):
        self.v = v


def build(spec, m):
    """The index ``spec`` for module ``m`` (torchlite, torch, or numpy)."""
    if isinstance(spec, tuple):
        return tuple(build(s, m) for s in spec)
    if isinstance(spec, Ix):
        if m is np:
            return np.array(spec.v, dtype=spec.dtype)
        return m.tensor(spec.v, dtype=getattr(m, spec.dtype))
    if isinstance(spec, Bx):
        if m is np:
            return np.array(spec.v, dtype=bool)
        return m.tensor(spec.v, dtype=m.bool)
    return spec


# Index specs on a (2, 3, 4) tensor. The flag says whether numpy gives the same result (it differs from torch
# where ints mix with index tensors, and for 0-d tensors).
GETITEM_CASES = [
    (0, True), (-1, True), ((1, -2), True), (slice(1, None), True), ((Ellipsis, 1), True), ((None, 0), True),
    ((slice(None), None, slice(0, 4, 2)), True), ((Ellipsis, None), True),
    (Ix([0, 1]), True), (Ix([1, -1, 0]), True), (Ix([1, 0], "int32"), True), (Ix([]), True),
    ((Ix([0, 1]), Ix([2, 0])), True),
    ((Ix([0, 1]), slice(None), Ix([0, 3])), True),                     # separated: index dims go first
    ((slice(None), Ix([0, 2]), Ix([1, 3])), True),                     # adjacent: stay in place
    ((slice(None), Ix([[0], [2]]), Ix([1, 3, -4])), True),             # adjacent, broadcast (2,1) x (3,)
    ((Ix([[1], [0]]), slice(None), Ix([0, 1, 3])), True),              # separated, broadcast
    ((Ix([1, 0]), Ix([[0], [2]]), Ix([3])), True),                     # three tensors broadcast
    ((Ellipsis, Ix([0, 3])), True), ((Ix([1]), Ellipsis, Ix([0, 2])), True),
    ((slice(0, 2), Ix([2, 1]), slice(None, None, 3)), True),
    ((0, slice(None), Ix([0, 1])), False), ((Ix([0, 1]), 0), False), ((slice(None), 1, Ix([3, 3, 0])), False),
    ((None, Ix([1]), None, Ix([0, 2])), False), ((Ix([1, 0]), None, Ix([2])), False),
    ([0, 1], True), ([1, 1, 0], True),
    (Bx([True, False]), True), ((slice(None), Bx([True, False, True])), True),
    (Bx([[True, False, True], [False, False, True]]), True),
    ((Bx([[True, False, True], [False, False, True]]), Ix([0, 3, 1])), True),
    ((Ellipsis, Bx([False, True, True, False])), True), ((0, Bx([True, True, False])), True),
    (Bx([False, False]), True), ([True, False], True), ((slice(None), [False, True, True]), True),
    (True, True), (False, True), ((slice(None), True), True), ((Ix([1, 0]), slice(None), True), False), ((Ix([1, 0]), True), False),
]


# --- getitem ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("spec,np_ok", GETITEM_CASES, ids=[repr(i) for i in range(len(GETITEM_CASES))])
def test_getitem_matches_torch_and_numpy(spec, np_ok):
    torch = pytest.importorskip("torch")
    a = arr((2, 3, 4))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = T(a)[build(spec, tl)]
        ref = TT(torch, a)[build(spec, torch)]
    same(ours, ref)
    if np_ok:
        same(ours, a[build(spec, np)])


@pytest.mark.parametrize("spec", [(Ix([0, 2]), slice(None), Ix([1, 0])), (slice(None), Ix([[1], [0]]), Ix([0, 1])),
                                  (Bx([True, False, True, True]), 1), (Ellipsis, Ix([-1, 0]))])
def test_getitem_non_contiguous_input(spec):
    torch = pytest.importorskip("torch")
    a = arr((2, 3, 4))
    ours = T(a).permute(2, 0, 1)[1:][..., ::2]          # (3, 2, 2) strided view
    ref = TT(torch, a).permute(2, 0, 1)[1:][..., ::2]
    shaped = tuple(s if not isinstance(s, Bx) else Bx(s.v[:3]) for s in spec)
    same(ours[build(shaped, tl)], ref[build(shaped, torch)])


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_getitem_dtypes(dtype):
    torch = pytest.importorskip("torch")
    a = arr((3, 4), dtype)
    x, y = T(a), TT(torch, a)
    same(x[[2, 0]], y[[2, 0]])
    same(x[:, torch.tensor([1, 3]).tolist()], y[:, [1, 3]])
    m = a[:, 0] > a[:, 1]
    same(x[T(m)], y[TT(torch, m)])
    same(x[1:, [0, -1]], a[1:, [0, -1]])


def test_getitem_zero_size_and_0d():
    torch = pytest.importorskip("torch")
    a = np.zeros((0, 3))
    same(T(a)[[]], TT(torch, a)[[]])
    same(T(a)[:, [2, 0]], TT(torch, a)[:, [2, 0]])
    same(T(a)[tl.tensor([], dtype=tl.bool)], TT(torch, a)[torch.tensor([], dtype=torch.bool)])
    s = np.array(5.0)
    for spec in [None, Ellipsis, True, False, (None, None)]:
        same(T(s)[spec], TT(torch, s)[spec])
    same(T(s)[tl.tensor(True)], TT(torch, s)[torch.tensor(True)])
    same(T(s)[tl.tensor(False)], TT(torch, s)[torch.tensor(False)])
    with raises(IndexError, "too many indices for tensor of dimension 0"):
        T(s)[[0]]


def test_advanced_getitem_is_a_copy_and_one_index_node():
    x = tl.arange(12.0).reshape(3, 4)
    y = x[[0, 2], 1:]
    assert y._node.op.name == "index" and y._node.params == ((0,),)
    y[0, 0] = 100.0
    assert x[0, 1].item() == 1.0                          # the advanced result does not share storage
    z = x[tl.tensor(1)]                                    # a 0-d integer tensor selects: a view, as in torch
    z[0] = 50.0
    assert x[1, 0].item() == 50.0


def test_getitem_int_index_tensor_broadcast_matches_numpy_take():
    a = arr((5, 6))
    i = np.array([[4, 0], [-1, 2]])
    j = np.array([[5], [-6]])
    same(T(a)[T(i), T(j)], a[i, j])
    same(T(a)[T(i)], a[i])
    same(T(a)[:, T(j)], a[:, j])


def test_sequence_as_tuple_warns_like_torch():
    torch = pytest.importorskip("torch")
    a = arr((2, 3, 4))
    with pytest.warns(UserWarning, match="non-tuple sequence"):
        ours = T(a)[[[0, 1], [1, 0]]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        same(ours, TT(torch, a)[[[0, 1], [1, 0]]])
        same(T(a)[[0, slice(None), None]], TT(torch, a)[[0, slice(None), None]])
    with pytest.warns(UserWarning, match="uint8"):
        u = T(a)[tl.tensor([1, 0], dtype=tl.uint8)]
    same(u, a[[True, False]])


# --- setitem ---------------------------------------------------------------------------------------------

SETITEM_CASES = [
    (0, 7.5), ((1, -1), -2), (slice(None, None, 2), ("t", (3, 4))), ((Ellipsis, 0), ("t", (1,))),
    ((None, 1), ("t", (1, 1, 3, 4))), ((slice(None), slice(1, 3)), ("t", (2, 1))),
    (Ix([1, 0]), 3.25), (Ix([0, 0]), ("t", (3, 4))), ((Ix([0, 1]), slice(None), Ix([3, 0])), ("t", (2, 3))),
    ((slice(None), Ix([0, 2]), Ix([1, 3])), ("t", (2, 2))), ((slice(None), Ix([[0], [2]]), Ix([1, 3])), ("t", (2,))),
    ((0, Ix([2, 1])), ("t", (1, 4))), ((Ix([1]), Ellipsis, Ix([0, 2])), ("t", (1, 2, 3))),
    (Bx([[True, False, True], [False, False, True]]), 9), (Bx([[True, False, True], [False, False, True]]), ("t", (1,))),
    (Bx([[True, False, True], [False, False, True]]), ("t", (3, 4))), (Bx([[True, False, True], [False, False, True]]), ("t", (4,))),
    ((slice(None), Bx([True, False, True])), ("t", (2, 2, 4))), ((Ellipsis, Bx([False, True, True, False])), -1.0),
    (Bx([True, False]), ("t", (1, 1))), ([True, False], 4), (True, ("t", (3, 4))), (Ix([]), 5.0),
]


@pytest.mark.parametrize("spec,value", SETITEM_CASES, ids=[str(i) for i in range(len(SETITEM_CASES))])
@pytest.mark.parametrize("dtype", ["float32", "int64"])
def test_setitem_matches_torch(spec, value, dtype):
    torch = pytest.importorskip("torch")
    a = arr((2, 3, 4), dtype)
    if not isinstance(value, tuple):
        x, y = T(a), TT(torch, a)
        x[build(spec, tl)] = value
        y[build(spec, torch)] = value
        same(x, y)
        return
    for vdtype in (dtype, "float64"):
        # torch casts a tensor value for basic indices and a lone mask with one element (copy_/masked_fill_),
        # and wants the same dtype for other advanced indices (index_put_): both must behave alike
        x, y = T(a), TT(torch, a)
        v = arr(value[1], vdtype, seed=3)
        try:
            y[build(spec, torch)] = TT(torch, v)
        except RuntimeError as e:
            with raises(RuntimeError, str(e)):
                x[build(spec, tl)] = T(v)
            assert vdtype != dtype
            continue
        x[build(spec, tl)] = T(v)
        same(x, y)


def test_setitem_python_bools():
    torch = pytest.importorskip("torch")
    a = arr((2, 3))
    for spec, v in [(True, arr((1, 3), "float64")), (False, np.ones(5)), ((True,), arr((3,), "float64"))]:
        x, y = T(a), TT(torch, a)
        x[spec] = T(v)
        y[spec] = TT(torch, v)
        same(x, y)
    x, y = T(a), TT(torch, a)
    x[tl.tensor(True)] = tl.tensor([7.0], dtype=tl.float64)
    y[torch.tensor(True)] = torch.tensor([7.0], dtype=torch.float64)
    same(x, y)
    with raises(RuntimeError, "Index put requires the source and destination dtypes match"):
        x[tl.tensor([0])] = tl.tensor([7])


def test_setitem_non_contiguous_target_writes_base():
    torch = pytest.importorskip("torch")
    a = arr((3, 4, 5))
    x, y = T(a), TT(torch, a)
    xv, yv = x.transpose(0, 2)[1:], y.transpose(0, 2)[1:]
    xv[[0, 2], :, 1] = 0.5
    yv[[0, 2], :, 1] = 0.5
    xv[tl.tensor([True, False, True, False])] = T(arr((2, 4, 3), seed=4))
    yv[torch.tensor([True, False, True, False])] = TT(torch, arr((2, 4, 3), seed=4))
    same(x, y)
    same(xv, yv)


def test_writes_through_views_reach_the_base():
    x = tl.zeros(3, 4)
    x[1][2] = 5.0
    x[:, 0] = tl.tensor([1.0, 2.0, 3.0])
    x.t()[3] = -1.0
    row = x[2]
    row[[0, 1]] = 7.0                                   # advanced write into a view reaches x
    want = np.zeros((3, 4))
    want[1, 2] = 5
    want[:, 0] = [1, 2, 3]
    want[:, 3] = -1
    want[2, [0, 1]] = 7
    same(x, want.astype(np.float32))
    y = x.split(2)[1]
    y.mul_(2)
    want[2:] *= 2
    same(x, want.astype(np.float32))
    same(row, want[2].astype(np.float32))               # another view of the same base sees the write


def test_setitem_value_is_a_program_argument():
    from torchlite.devices import CPU, backend_for
    be = backend_for(CPU)
    outs = []
    for v in (1.5, 2.5, 3.5):
        x = tl.zeros(4)
        x[[0, 2]] = v
        x[tl.tensor([False, True, False, False])] = v * 2
        x[3:] = v + 1
        outs.append(x.tolist())
        if v == 1.5:
            misses = be.cache_info()["misses"]
    assert be.cache_info()["misses"] == misses
    assert outs[2] == [3.5, 7.0, 3.5, 4.5]


def test_setitem_casts_and_checks_like_torch():
    x = tl.zeros(3, dtype=tl.int64)
    x[0] = 1.9
    x[tl.tensor([False, True, False])] = tl.tensor([2.7])     # lone mask, one element: cast (masked_fill_)
    x[tl.tensor([False, False, True])] = True
    assert x.tolist() == [1, 2, 1]
    b = tl.zeros(2, dtype=tl.bool)
    b[1] = 2.5
    assert b.tolist() == [False, True]
    with raises(RuntimeError, "value cannot be converted to type int64_t without overflow"):
        x[0] = float("nan")
    with raises(RuntimeError, "value cannot be converted to type int8_t without overflow"):
        tl.zeros(2, dtype=tl.int8)[0] = 1000
    with raises(TypeError, "can't assign a list to a torchlite.LongTensor"):
        x[0:2] = [1, 2]
    with raises(RuntimeError, "shape mismatch: value tensor of shape [2, 2] cannot be broadcast to indexing result of shape [2]"):
        x[[0, 1]] = tl.ones(2, 2, dtype=tl.int64)
    with raises(RuntimeError, "cannot be broadcast to indexing result of shape [2]"):
        x[1:] = tl.ones(3, dtype=tl.int64)


# --- index_put -------------------------------------------------------------------------------------------

def test_index_put_accumulates_duplicates_like_torch():
    torch = pytest.importorskip("torch")
    a = arr((3, 4))
    idx = ([0, 0, 2, 0], [1, 1, 3, 1])
    v = arr((4,), seed=5)
    for acc in (False, True):
        ours = T(a).index_put((tl.tensor(idx[0]), tl.tensor(idx[1])), T(v), accumulate=acc)
        ref = TT(torch, a).index_put((torch.tensor(idx[0]), torch.tensor(idx[1])), TT(torch, v), accumulate=acc)
        if acc:
            same(ours, ref, rtol=1e-12)
        else:   # duplicate writes are unordered in torch; check the unique position and last-write semantics
            same(ours[2, 3], ref[2, 3])
    x, y = T(a), TT(torch, a)
    x.index_put_((tl.tensor([[True, False, True, False]] * 3),), T(arr((6,), seed=1)), accumulate=True)
    y.index_put_((torch.tensor([[True, False, True, False]] * 3),), TT(torch, arr((6,), seed=1)), accumulate=True)
    same(x, y, rtol=1e-12)
    h = T(arr((4,), "float16"))
    hr = TT(torch, arr((4,), "float16"))
    same(h.index_put((tl.tensor([1, 1, 1]),), tl.ones(3, dtype=tl.float16), True),
         hr.index_put((torch.tensor([1, 1, 1]),), torch.ones(3, dtype=torch.float16), True))
    same(tl.index_put_(T(a), (tl.tensor([1]),), T(v)), TT(torch, a).index_put_((torch.tensor([1]),), TT(torch, v)))
    same(T(a).index_put((tl.tensor(1),), T(v)), TT(torch, a).index_put((torch.tensor(1),), TT(torch, v)))
    same(T(a).index_put((tl.tensor(2), tl.tensor([0, 3])), tl.tensor(9.0, dtype=tl.float64), accumulate=True),
         TT(torch, a).index_put((torch.tensor(2), torch.tensor([0, 3])), torch.tensor(9.0, dtype=torch.float64), accumulate=True))


# --- masks -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["float32", "int32", "bool", "bfloat16", "float16"])
def test_masked_fill_matches_torch(dtype):
    torch = pytest.importorskip("torch")
    a = arr((3, 4), dtype)
    m = arr((3, 4), "bool", seed=1)
    x, y = T(a), TT(torch, a)
    same(x.masked_fill(T(m), 1), y.masked_fill(TT(torch, m), 1))
    same(x.masked_fill(T(m[0]), 2.5), y.masked_fill(TT(torch, m[0]), 2.5))          # broadcast mask
    same(x.masked_fill(T(m[:, :1]), tl.tensor(3.0)), y.masked_fill(TT(torch, m[:, :1]), torch.tensor(3.0)))
    same(tl.masked_fill(x.t(), T(m.T), True), torch.masked_fill(y.t(), TT(torch, m.T), True))
    same(x[:1].masked_fill(T(m), 1), y[:1].masked_fill(TT(torch, m), 1))              # result broadcasts
    z = T(a)
    z.masked_fill_(T(m[1]), 0)
    same(z, y.clone().masked_fill_(TT(torch, m[1]), 0))


def test_masked_fill_no_sync_and_0d():
    torch = pytest.importorskip("torch")
    x = tl.arange(6.0) * 2
    r = x.masked_fill(x > 4, -1.0)
    assert r.is_lazy and x.is_lazy                      # a where node: nothing realized to build it
    same(r, np.array([0, 2, 4, -1, -1, -1], np.float32))
    same(tl.tensor(1.0).masked_fill(tl.tensor(True), 0.0), torch.tensor(1.0).masked_fill(torch.tensor(True), 0.0))


def test_masked_select_nonzero_argwhere_where():
    torch = pytest.importorskip("torch")
    a = arr((3, 4))
    m = arr((3, 4), "bool", seed=2)
    x, y = T(a), TT(torch, a)
    same(x.masked_select(T(m)), y.masked_select(TT(torch, m)))
    same(x.masked_select(T(m[1])), y.masked_select(TT(torch, m[1])))
    same(x[:1].masked_select(T(m)), y[:1].masked_select(TT(torch, m)))
    same(x.masked_select(T(m)), a[m])
    z = a * m
    same(T(z).nonzero(), TT(torch, z).nonzero())
    same(T(z).t().nonzero(), TT(torch, z).t().nonzero())
    for ours, ref in zip(T(z).nonzero(as_tuple=True), np.nonzero(z)):
        same(ours, ref.astype(np.int64))
    same(tl.argwhere(T(z)), torch.argwhere(TT(torch, z)))
    for ours, ref in zip(tl.where(T(z) > 0), torch.where(TT(torch, z) > 0)):
        same(ours, ref)
    for s in (np.array(3.0), np.array(0.0)):
        same(T(s).nonzero(), TT(torch, s).nonzero())
        same(T(s).nonzero(as_tuple=True)[0], TT(torch, s).nonzero(as_tuple=True)[0])
    same(T(np.zeros((0, 2))).nonzero(), TT(torch, np.zeros((0, 2))).nonzero())
    same(T(arr((5,), "bfloat16")).nonzero(), TT(torch, arr((5,), "bfloat16")).nonzero())
