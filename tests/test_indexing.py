"""Tests for torchlite.ops.indexing: advanced getitem/setitem, index_put, gather/scatter, cat/stack/split,
masks, flip/roll/repeat/tile, tril/triu, pad, one_hot, sort/topk, diagonal.

Values are compared with torch (the oracle; ``pytest.importorskip`` inside those tests) and with numpy.
Bad inputs must raise the exception torch raises, with its message, naming this file's line.
"""
from __future__ import annotations

import re
import warnings

import ml_dtypes
import numpy as np
import pytest

import torchlite as tl
from torchlite.ops.indexing import one_hot as tl_one_hot, pad as tl_pad

HERE = r"test_indexing\.py:\d+"
ALL_DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16", "float32", "float64"]


# --- helpers ----------------------------------------------------------------------------------------------

def raises(exc, fragment):
    """pytest.raises that also wants the fragment and this file's line in the message."""
    return pytest.raises(exc, match="(?s)" + re.escape(fragment) + ".*" + HERE)


def npdtype(name):
    return ml_dtypes.bfloat16 if name == "bfloat16" else np.dtype(name)


def arr(shape, dtype="float64", seed=0):
    """Deterministic test data of ``dtype`` (distinct values for floats and wide ints)."""
    rng = np.random.default_rng(seed)
    n = int(np.prod(shape))
    if dtype == "bool":
        return rng.random(shape) < 0.5
    if dtype in ("uint8", "int8"):
        return rng.integers(0, 100, size=shape).astype(dtype)
    if dtype in ("int16", "int32", "int64"):
        return (rng.permutation(n) - n // 2).reshape(shape).astype(dtype)
    return (rng.permutation(n) * 0.25 - n / 8).reshape(shape).astype(npdtype(dtype))


def T(a):
    return tl.tensor(a)


def strided(a):
    """A torchlite tensor equal to ``a`` whose layout is not row-major (a permuted view of a copy)."""
    perm = tuple(reversed(range(a.ndim)))
    return tl.tensor(np.ascontiguousarray(a.transpose(perm))).permute(*perm)


def TT(torch, a):
    a = np.asarray(a)
    if a.dtype == ml_dtypes.bfloat16:
        return torch.from_numpy(a.astype(np.float32)).to(torch.bfloat16)
    return torch.from_numpy(a.copy())


def to_np(t):
    """numpy value of a torchlite or torch tensor (bfloat16 as float32)."""
    if isinstance(t, tl.Tensor):
        v = t.numpy()
        return v.astype(np.float32) if v.dtype == ml_dtypes.bfloat16 else np.asarray(v)
    if str(t.dtype) == "torch.bfloat16":
        t = t.float()
    return t.detach().numpy()


def dname(t):
    return str(t.dtype).split(".")[-1]


def same(ours, ref, *, rtol=0.0, atol=0.0):
    """``ours`` (torchlite) equals ``ref`` (torch tensor or numpy array): shape, dtype name and values."""
    assert tuple(ours.shape) == tuple(ref.shape), (tuple(ours.shape), tuple(ref.shape))
    if not isinstance(ref, np.ndarray):
        assert dname(ours) == dname(ref), (ours.dtype, ref.dtype)
    else:
        want = "bfloat16" if ref.dtype == ml_dtypes.bfloat16 else str(ref.dtype)
        assert dname(ours) == want, (ours.dtype, ref.dtype)
    a, b = to_np(ours), to_np(ref) if not isinstance(ref, np.ndarray) else np.asarray(ref)
    if b.dtype == ml_dtypes.bfloat16:
        b = b.astype(np.float32)
    if rtol or atol:
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, equal_nan=True)
    else:
        np.testing.assert_array_equal(a, b)


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


# --- index_put / index_add / index_copy / index_fill / index_select / take --------------------------------

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


# --- flip / roll / repeat / tile / tril / triu -----------------------------------------------------------

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


@pytest.mark.parametrize("dtype", ["float32", "int64", "bool", "bfloat16"])
def test_tril_triu(dtype):
    torch = pytest.importorskip("torch")
    a = arr((2, 4, 5), dtype)
    x, y = T(a), TT(torch, a)
    for k in (-5, -1, 0, 2, 9):
        same(x.tril(k), y.tril(k))
        same(tl.triu(x, k), torch.triu(y, k))
        same(x.transpose(1, 2).tril(k), y.transpose(1, 2).tril(k))
    same(x.tril(1), np.tril(a, 1) if dtype != "bfloat16" else np.tril(a.astype(np.float32), 1).astype(ml_dtypes.bfloat16))
    z = T(a)
    z.triu_(1)
    same(z, y.clone().triu_(1))
    same(T(np.ones((0, 3))).tril(), torch.ones(0, 3, dtype=torch.float64).tril())


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


# --- diagonal / diag -------------------------------------------------------------------------------------

def test_diagonal_diag_and_writes_through_diagonal():
    torch = pytest.importorskip("torch")
    a = arr((3, 4, 5))
    x, y = T(a), TT(torch, a)
    for off, d1, d2 in ((0, 0, 1), (1, 1, 2), (-2, 2, 0), (3, -1, -2), (9, 0, 1)):
        same(x.diagonal(off, d1, d2), y.diagonal(off, d1, d2))
        same(tl.diagonal(x, off, d1, d2), np.diagonal(a, off, d1 % 3, d2 % 3))
    same(tl.diagonal_scatter(x, tl.zeros(5, 3, dtype=tl.float64), 0, 0, 1),
         torch.diagonal_scatter(y, torch.zeros(5, 3, dtype=torch.float64), 0, 0, 1))
    for k in (0, 1, -2):
        same(tl.diag(x[0], k), torch.diag(y[0], k))
        same(x[0, 0].diag(k), y[0, 0].diag(k))
    m = tl.zeros(3, 3)
    m.diagonal().add_(1.0)
    m.diagonal(1)[0] = 5.0
    same(m, np.eye(3, dtype=np.float32) + 5 * np.eye(3, k=1, dtype=np.float32) * (np.arange(3) == 0)[:, None])


# --- laziness --------------------------------------------------------------------------------------------

def test_ops_build_lazy_nodes_until_realized():
    x = tl.arange(12.0).reshape(3, 4) * 1.0
    built = [x[[0, 2]], tl.cat([x, x]), tl.stack([x, x]), x.flip(0), x.roll(1), x.repeat(2, 1), x.tril(),
             x.sort().values, x.topk(2).indices, tl_pad(x, (1, 1)), x.gather(1, tl.tensor([[0], [1], [2]])),
             x.scatter(1, tl.tensor([[0], [1], [2]]), 0.0), x.masked_fill(x > 3, 0.0), x.diagonal()]
    assert all(t.is_lazy for t in built)
    names = {t._node.op.name for t in built}
    assert {"index", "cat", "stack", "flip", "roll", "repeat", "tril", "gather", "topk_indices", "pad", "scatter",
            "where"} <= names
    assert [t.shape for t in built][:3] == [(2, 4), (6, 4), (2, 3, 4)]


# --- bad inputs ------------------------------------------------------------------------------------------

X = tl.arange(24.0).reshape(2, 3, 4)
M = tl.arange(12.0).reshape(3, 4)
LONG = tl.tensor([[0, 1]])

BAD = [
    (lambda: X[2], IndexError, "index 2 is out of bounds for dimension 0 with size 2"),
    (lambda: X[:, [5]], IndexError, "index 5 is out of bounds for dimension 0 with size 3"),
    (lambda: X[[0], :, [-5]], IndexError, "index -5 is out of bounds for dimension 1 with size 4"),
    (lambda: X[tl.tensor([[0, 1]]), tl.tensor([0, 3])], IndexError, "index 3 is out of bounds for dimension 1 with size 3"),
    (lambda: X[0, 0, 0, 0], IndexError, "too many indices for tensor of dimension 3"),
    (lambda: X[[0, 1], [0, 1, 2]], IndexError, "shape mismatch: indexing tensors could not be broadcast together with shapes [2], [3]"),
    (lambda: X[tl.tensor([1.0])], IndexError, "tensors used as indices must be long, int, byte or bool tensors"),
    (lambda: X[tl.tensor([1], dtype=tl.int16)], IndexError, "tensors used as indices must be long, int, byte or bool"),
    (lambda: X[1.5], IndexError, "only integers, slices (`:`), ellipsis (`...`), None and long or byte Variables are valid indices (got float)"),
    (lambda: X[np.bool_(True)], IndexError, "valid indices (got numpy.bool"),
    (lambda: X[tl.tensor([True, False, True])], IndexError, "The shape of the mask [3] at index 0 does not match the shape of the indexed tensor [2, 3, 4] at index 0"),
    (lambda: X[:, tl.ones(3, 5, dtype=tl.bool)], IndexError, "The shape of the mask [3, 5] at index 1 does not match the shape of the indexed tensor [2, 3, 4] at index 2"),
    (lambda: X[..., ...], IndexError, "an index can only have a single ellipsis"),
    (lambda: X[::-1], ValueError, "step must be greater than zero"),
    (lambda: X.__setitem__([3], 1.0), IndexError, "index 3 is out of bounds for dimension 0 with size 2"),
    (lambda: X.__setitem__(tl.ones(3, dtype=tl.bool), 1.0), IndexError, "The shape of the mask [3] at index 0"),
    (lambda: X.__setitem__((0, [0, 1]), tl.ones(3, 4)), RuntimeError, "shape mismatch: value tensor of shape [3, 4] cannot be broadcast to indexing result of shape [2, 4]"),
    (lambda: X.__setitem__(0, "a"), TypeError, "can't assign a str to a torchlite.FloatTensor"),
    (lambda: M.index_put((tl.tensor([0]),), tl.ones(4, dtype=tl.float64)), RuntimeError, "Index put requires the source and destination dtypes match, got Float for the destination and Double for the source."),
    (lambda: M.index_put((tl.tensor([0]),), 1.0), TypeError, "argument 'values' (position 2) must be Tensor, not float"),
    (lambda: M.index_put((tl.tensor([0]),), tl.ones(3)), RuntimeError, "value tensor of shape [3] cannot be broadcast to indexing result of shape [1, 4]"),
    (lambda: M.index_put((None, tl.tensor([0])), tl.ones(3)), TypeError, "expected Tensor as element 0 in argument 0, but got NoneType"),
    (lambda: M.index_put((tl.tensor([4]),), tl.ones(4)), IndexError, "index 4 is out of bounds for dimension 0 with size 3"),
    (lambda: M.gather(0, tl.tensor([[0, 3]])), RuntimeError, "index 3 is out of bounds for dimension 0 with size 3"),
    (lambda: M.gather(0, tl.tensor([[0, -1]])), RuntimeError, "index -1 is out of bounds for dimension 0 with size 3"),
    (lambda: M.gather(1, tl.tensor([[0, 1]], dtype=tl.int32)), RuntimeError, "gather(): Expected dtype int64 for index"),
    (lambda: M.gather(1, tl.tensor([0, 1])), RuntimeError, "Index tensor must have the same number of dimensions as input tensor"),
    (lambda: M.gather(1, tl.tensor([[0], [1], [1], [1]])), RuntimeError, "Size does not match at dimension 0 expected index [4, 1] to be no larger than self [3, 4] apart from dimension 1"),
    (lambda: M.gather(2, tl.tensor([[0]])), IndexError, "Dimension out of range (expected to be in range of [-2, 1], but got 2)"),
    (lambda: M.scatter(0, LONG, tl.ones(1, 2, dtype=tl.float64)), RuntimeError, "scatter(): Expected self.dtype to be equal to src.dtype"),
    (lambda: M.scatter(0, tl.tensor([[0, 5]]), 7.0), RuntimeError, "index 5 is out of bounds for dimension 0 with size 3"),
    (lambda: M.scatter(0, tl.tensor([[0, 1]], dtype=tl.int32), 7.0), RuntimeError, "scatter(): Expected dtype int64 for index"),
    (lambda: M.scatter(0, LONG, tl.ones(1, 1)), RuntimeError, "Expected index [1, 2] to be no larger than self [3, 4] apart from dimension 0 and to be no larger size than src [1, 1]"),
    (lambda: M.scatter(0, tl.tensor([[0, 1, 2, 0, 0]]), 7.0), RuntimeError, "Expected index [1, 5] to be no larger than self [3, 4] apart from dimension 0"),
    (lambda: M.scatter(1, tl.tensor([0]), 7.0), RuntimeError, "Index tensor must have the same number of dimensions as self tensor"),
    (lambda: M.scatter(0, LONG, 2.0, reduce="foo"), RuntimeError, "reduce argument must be either add or multiply."),
    (lambda: M.scatter_add(0, LONG, 1.0), TypeError, "scatter_add(): argument 'src' must be Tensor, not float"),
    (lambda: M.scatter_reduce(0, LONG, tl.ones(1, 2), "foo"), RuntimeError, "reduce argument must be either sum, prod, mean, amax or amin, got foo"),
    (lambda: M.index_select(1, tl.tensor([7])), RuntimeError, "INDICES element is out of DATA bounds, id=7 axis_dim=4"),
    (lambda: M.index_select(1, tl.tensor([-1])), RuntimeError, "INDICES element is out of DATA bounds, id=-1 axis_dim=4"),
    (lambda: M.index_select(0, tl.tensor([3])), IndexError, "index out of range in self"),
    (lambda: X.index_select(2, tl.tensor([-1])), IndexError, "index out of range in self"),
    (lambda: M.index_select(1, tl.tensor([1.0])), RuntimeError, "index_select(): Expected dtype int32 or int64 for index"),
    (lambda: M.index_select(1, tl.tensor([[2]])), IndexError, "index_select(): Index is supposed to be a vector"),
    (lambda: M.index_add(0, tl.tensor([0, 0]), tl.ones(3, 4)), RuntimeError, "index_add_(): Number of indices (2) should be equal to source.size(dim): (3), for dim: 0"),
    (lambda: M.index_add(0, tl.tensor([0, 0]), tl.ones(2, 3)), RuntimeError, "source tensor shape must match self tensor shape, excluding the specified dimension. Got self.shape = [3, 4] source.shape = [2, 3]"),
    (lambda: M.index_add(0, tl.tensor([0, 0]), tl.ones(2, 4, dtype=tl.float64)), RuntimeError, "index_add_(): self (Float) and source (Double) must have the same scalar type"),
    (lambda: M.index_add(0, tl.tensor([0, 5]), tl.ones(2, 4)), RuntimeError, "index 5 is out of bounds for dimension 0 with size 3"),
    (lambda: M.index_add(0, tl.tensor([0, -1]), tl.ones(2, 4)), RuntimeError, "index -1 is out of bounds for dimension 0 with size 3"),
    (lambda: M.index_add(0, tl.tensor([0, 1.0]), tl.ones(2, 4)), RuntimeError, "index_add_(): Expected dtype int32/int64 for index but got: Float"),
    (lambda: M.index_add(0, tl.tensor([[0, 1]]), tl.ones(2, 4)), IndexError, "index_add_(): Index is supposed to be a vector, but got dim: 2 with type: Long and size: [1, 2]"),
    (lambda: M.index_copy(0, tl.tensor([0, 5]), tl.ones(2, 4)), IndexError, "index_copy_(): index 5 is out of bounds for dimension 0 with size 3"),
    (lambda: M.index_copy(0, tl.tensor([0, 1], dtype=tl.int32), tl.ones(2, 4)), RuntimeError, "index_copy_(): Expected a long tensor for index, but got Int"),
    (lambda: M.index_copy(0, tl.tensor([[0, 1]]), tl.ones(2, 4)), IndexError, "index_copy_(): Index should have dimension 1 or 0 (got 2)"),
    (lambda: M.index_copy(0, tl.tensor([0, 1]), tl.ones(2, 4, dtype=tl.float64)), RuntimeError, "index_copy_(): self and source expected to have the same dtype, but got (self) Float and (source) Double"),
    (lambda: M.index_copy(0, tl.tensor([0, 1]), tl.ones(3, 4)), IndexError, "index_copy_(): Number of indices (2) should be equal to source.size(dim) (3)"),
    (lambda: M.index_copy(0, tl.tensor([0, 1]), tl.ones(2, 3)), RuntimeError, "index_copy_(): Source/destination tensor must have same slice shapes. Destination slice shape: 4 at dimension"),
    (lambda: M.index_fill(0, tl.tensor([0, 1], dtype=tl.int32), 1.0), IndexError, "index_fill_(): Expected dtype int64 for index."),
    (lambda: M.index_fill(0, tl.tensor([[0]]), 1.0), RuntimeError, "Index has to be a vector/scalar"),
    (lambda: M.index_fill(0, tl.tensor(0), tl.tensor([1.0])), RuntimeError, "index_fill_ only supports a 0-dimensional value tensor, but got tensor with 1 dimension(s)."),
    (lambda: M.index_put((tl.tensor(1, dtype=tl.int16),), tl.ones(4)), IndexError, "tensors used as indices must be long, int, byte or bool tensors"),
    (lambda: tl.take_along_dim(M, tl.tensor([-1])), RuntimeError, "index -1 is out of bounds for dimension 0 with size 12"),
    (lambda: M.index_fill(1, tl.tensor([0, 5]), -1.0), IndexError, "index 5 is out of bounds for dimension 1 with size 4"),
    (lambda: M.take(tl.tensor([12])), IndexError, "out of range: tried to access index 12 on a tensor of 12 elements."),
    (lambda: tl.take_along_dim(M, tl.tensor([[0, 1]]), 0), RuntimeError, "The size of tensor a (4) must match the size of tensor b (2) at non-singleton dimension 1"),
    (lambda: M.masked_fill(tl.ones(4, dtype=tl.int64), 2.0), RuntimeError, "masked_fill_ only supports boolean masks, but got mask with dtype long int"),
    (lambda: M.masked_fill(tl.ones(4, dtype=tl.bool), tl.tensor([2.0])), RuntimeError, "masked_fill_ only supports a 0-dimensional value tensor, but got tensor with 1 dimension(s)."),
    (lambda: M.masked_fill(tl.ones(3, dtype=tl.bool), 2.0), RuntimeError, "The size of tensor a (4) must match the size of tensor b (3) at non-singleton dimension 1"),
    (lambda: tl.zeros(4).masked_fill_(tl.ones(3, 4, dtype=tl.bool), 2.0), RuntimeError, "output with shape [4] doesn't match the broadcast shape [3, 4]"),
    (lambda: M.long().masked_fill(tl.ones(4, dtype=tl.bool), float("inf")), RuntimeError, "value cannot be converted to type int64_t without overflow"),
    (lambda: M.masked_select(tl.ones(4, dtype=tl.int64)), RuntimeError, "masked_select: expected BoolTensor for mask"),
    (lambda: tl.cat([M, tl.ones(3, 5)]), RuntimeError, "Sizes of tensors must match except in dimension 0. Expected size 4 but got size 5 for tensor number 1 in the list."),
    (lambda: tl.cat([M, tl.ones(4)]), RuntimeError, "Tensors must have same number of dimensions: got 2 and 1"),
    (lambda: tl.cat([M, M], 2), IndexError, "Dimension out of range (expected to be in range of [-2, 1], but got 2)"),
    (lambda: tl.cat([]), ValueError, "torch.cat(): expected a non-empty list of Tensors"),
    (lambda: tl.cat([tl.tensor(1.0), tl.tensor(2.0)]), RuntimeError, "zero-dimensional tensor (at position 0) cannot be concatenated"),
    (lambda: tl.cat(M), TypeError, "cat(): argument 'tensors' (position 1) must be tuple of Tensors, not Tensor"),
    (lambda: tl.stack([M, tl.ones(3, 5)]), RuntimeError, "stack expects each tensor to be equal size, but got [3, 4] at entry 0 and [3, 5] at entry 1"),
    (lambda: tl.stack([]), RuntimeError, "stack expects a non-empty TensorList"),
    (lambda: tl.stack([M, M], 3), IndexError, "Dimension out of range (expected to be in range of [-3, 2], but got 3)"),
    (lambda: M.split([1, 1]), RuntimeError, "split_with_sizes expects split_sizes to sum exactly to 3 (input tensor's size at dimension 0), but got split_sizes=[1, 1]"),
    (lambda: M.split(0), RuntimeError, "split_size can only be 0 if dimension size is 0, but got dimension size of 3"),
    (lambda: M.split(-1), RuntimeError, "split expects split_size be non-negative, but got split_size=-1"),
    (lambda: tl.tensor(1.0).split(1), RuntimeError, "split expects at least a 1-dimensional tensor"),
    (lambda: M.chunk(0), RuntimeError, "chunk expects `chunks` to be greater than 0, got: 0"),
    (lambda: tl.tensor(1.0).unbind(), IndexError, "Dimension specified as 0 but tensor has no dimensions"),
    (lambda: M.unbind(2), IndexError, "Dimension out of range"),
    (lambda: M.tensor_split(0), RuntimeError, "number of sections must be larger than 0, got 0"),
    (lambda: M.flip(0, 0), RuntimeError, "dim 0 appears multiple times in the list of dims"),
    (lambda: M.flip(2), IndexError, "Dimension out of range (expected to be in range of [-2, 1], but got 2)"),
    (lambda: M.flip(), TypeError, "missing 1 required positional arguments"),
    (lambda: M.roll((1, 2), (0,)), RuntimeError, "shifts and dimensions must align. shifts: 2, dims:1"),
    (lambda: M.roll((1, 2)), RuntimeError, "shifts and dimensions must align. shifts: 2, dims:0"),
    (lambda: M.repeat(2), RuntimeError, "Number of dimensions of repeat dims can not be smaller than number of dimensions of tensor"),
    (lambda: M.repeat(-1, 1), RuntimeError, "Trying to create tensor with negative dimension -1: [-3, 4]"),
    (lambda: tl.ones(3).tril(), RuntimeError, "tril: input tensor must have at least 2 dimensions"),
    (lambda: tl_pad(M, (1, 2, 3)), RuntimeError, "Padding length must be divisible by 2"),
    (lambda: tl_pad(M, (1, 2, 3, 4, 5, 6)), RuntimeError, "Padding length should be less than or equal to two times the input dimension but got padding length 6 and input of dimension 2"),
    (lambda: tl_pad(M[None], (4, 2), mode="reflect"), RuntimeError, "Padding size should be less than the corresponding input dimension, but got: padding (4, 2) at dimension 2 of input [1, 3, 4]"),
    (lambda: tl_pad(M[None], (1, 2, 1, 1, 1, 1), mode="reflect"), NotImplementedError, "Padding size 6 is not supported for 3D input tensor."),
    (lambda: tl_pad(M[None], (5, 6), mode="circular"), RuntimeError, "Padding value causes wrapping around more than once."),
    (lambda: tl_pad(M[None], (1, 2), mode="foo"), NotImplementedError, "Unrecognised padding mode foo"),
    (lambda: tl_pad(M[None], (1, 2), mode="reflect", value=2), RuntimeError, 'Padding mode "reflect" doesn\'t take in value argument'),
    (lambda: tl_pad(tl.zeros(1, 0, 3), (1, 1), mode="replicate"), RuntimeError, "Expected 2D or 3D (batch mode) tensor with possibly 0 batch size and other non-zero dimensions for input, but got: [1, 0, 3]"),
    (lambda: tl_pad(M, (-3, -2)), RuntimeError, "negative output size"),
    (lambda: tl_one_hot(tl.tensor([0, 2, 1]), 2), RuntimeError, "Class values must be smaller than num_classes."),
    (lambda: tl_one_hot(tl.tensor([0, -2, 1]), 4), RuntimeError, "Class values must be non-negative."),
    (lambda: tl_one_hot(tl.tensor([0, 2], dtype=tl.int32)), RuntimeError, "one_hot is only applicable to index tensor of type LongTensor."),
    (lambda: tl_one_hot(tl.tensor([], dtype=tl.int64)), RuntimeError, "Can not infer total number of classes from empty tensor."),
    (lambda: M.topk(5), RuntimeError, "selected index k out of range"),
    (lambda: M.topk(-1), RuntimeError, "selected index k out of range"),
    (lambda: tl.tensor([True, False]).topk(1), RuntimeError, "topk does not support bool dtypes on CPU"),
    (lambda: M.sort(2), IndexError, "Dimension out of range (expected to be in range of [-2, 1], but got 2)"),
    (lambda: tl.tensor(3.0).argsort(dim=1), IndexError, "Dimension out of range (expected to be in range of [-1, 0], but got 1)"),
    (lambda: M.diagonal(0, 1, 1), RuntimeError, "diagonal dimensions cannot be identical 1, 1"),
    (lambda: tl.zeros(2, 2, 2).diag(), RuntimeError, "diag(): Supports 1D or 2D tensors. Got 3D"),
]


@pytest.mark.parametrize("fn,exc,fragment", BAD, ids=[str(i) for i in range(len(BAD))])
def test_bad_inputs_raise_like_torch_at_the_users_line(fn, exc, fragment):
    with raises(exc, fragment):
        fn()


def test_bad_input_messages_match_torch_where_worded_alike():
    """The torchlite message (minus the 'op: ' prefix and '(at file:line)' suffix) contains torch's, for a sample."""
    torch = pytest.importorskip("torch")
    Xt = torch.arange(24.0).reshape(2, 3, 4)
    Mt = torch.arange(12.0).reshape(3, 4)
    pairs = [
        (lambda: X[:, [5]], lambda: Xt[:, [5]]),
        (lambda: X[[0], :, [-5]], lambda: Xt[[0], :, [-5]]),
        (lambda: X[tl.tensor([True, False, True])], lambda: Xt[torch.tensor([True, False, True])]),
        (lambda: M.gather(1, tl.tensor([[0], [1], [1], [1]])), lambda: Mt.gather(1, torch.tensor([[0], [1], [1], [1]]))),
        (lambda: tl.cat([M, tl.ones(3, 5)]), lambda: torch.cat([Mt, torch.ones(3, 5)])),
        (lambda: M.split([1, 1]), lambda: Mt.split([1, 1])),
        (lambda: M.index_select(1, tl.tensor([7])), lambda: Mt.index_select(1, torch.tensor([7]))),
        (lambda: M.index_select(0, tl.tensor([7])), lambda: Mt.index_select(0, torch.tensor([7]))),
        (lambda: X.index_select(1, tl.tensor([-4])), lambda: Xt.index_select(1, torch.tensor([-4]))),
        (lambda: X[tl.tensor([[0, 1]]), tl.tensor([0, 3])], lambda: Xt[torch.tensor([[0, 1]]), torch.tensor([0, 3])]),
        (lambda: M.index_copy(0, tl.tensor([0, 5]), tl.ones(2, 4)), lambda: Mt.index_copy(0, torch.tensor([0, 5]), torch.ones(2, 4))),
        (lambda: M.scatter(0, tl.tensor([[0, 1]]), tl.ones(1, 1)), lambda: Mt.scatter(0, torch.tensor([[0, 1]]), torch.ones(1, 1))),
        (lambda: tl_pad(M[None], (4, 2), mode="reflect"), lambda: torch.nn.functional.pad(Mt[None], (4, 2), mode="reflect")),
        (lambda: tl_one_hot(tl.tensor([0, -2]), 4), lambda: torch.nn.functional.one_hot(torch.tensor([0, -2]), 4)),
    ]
    for ours, theirs in pairs:
        with pytest.raises(Exception) as a:
            ours()
        with pytest.raises(Exception) as b:
            theirs()
        assert type(a.value) is type(b.value)
        assert str(b.value).splitlines()[0] in str(a.value)
