"""Tests for the reduction family (torchlite/ops/reduction.py).

Most tests are differential against torch (CPU) over dtypes, shapes (0-d, zero-size dims), layouts
(contiguous, transposed, strided slices, expanded), every dim / tuple dims / negative dims and keepdim.
The float64 tests at the end compare with numpy (rtol 1e-12) and run without torch.
"""
from __future__ import annotations

import contextlib
import math
import re
import sys
import warnings

import ml_dtypes
import numpy as np
import pytest
from scipy import special

import torchlite as tl
from torchlite.ops.movement import basic_getitem

HERE = re.compile(r"test_reduction\.py:\d+")
FLOATS = ["float32", "float64", "float16", "bfloat16"]
INTS = ["int32", "int64"]
ALL_DTYPES = FLOATS + INTS + ["bool"]
TOL = {"float64": (1e-12, 1e-12), "float32": (1e-6, 1e-6), "float16": (1e-2, 1e-2), "bfloat16": (1e-2, 1e-2)}
NAN, INF = float("nan"), float("inf")

# (shape, layout): c = contiguous, t = transposed (permuted), s = strided slice, e = expanded
CASES = [((), "c"), ((5,), "c"), ((3, 4), "c"), ((2, 3, 4), "c"), ((0, 3), "c"), ((2, 0, 3), "c"),
         ((3, 4), "t"), ((2, 3, 4), "t"), ((4, 3), "s"), ((2, 3, 4), "s"), ((3, 4), "e")]


@pytest.fixture(scope="module")
def torch():
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)        # tiny tensors: torch's thread pool only adds latency (and flakiness on 2 cores)
    return torch


@contextlib.contextmanager
def raises(exc, fragment: str):
    """The block raises ``exc`` whose message holds ``fragment`` and names this test file's line."""
    with pytest.raises(exc) as info:
        yield info
    msg = str(info.value)
    assert fragment in msg, msg
    assert HERE.search(msg), msg


# --- inputs ----------------------------------------------------------------------------------------------

def np_dtype(name: str):
    return ml_dtypes.bfloat16 if name == "bfloat16" else np.dtype(name)


def values(shape, dtype: str, kind: str = "normal", seed: int = 0) -> np.ndarray:
    """Random values of ``dtype``: normal floats, or small integers with many ties ("ties", "small")."""
    rng = np.random.default_rng(seed)
    if dtype == "bool":
        return np.asarray(rng.random(shape) < 0.5)
    if dtype in INTS or kind in ("ties", "small"):
        lo, hi = (-2, 3) if kind == "small" else (-3, 4) if kind == "ties" else (-9, 10)
        return np.asarray(rng.integers(lo, hi, shape)).astype(np_dtype(dtype))
    return np.asarray(rng.standard_normal(shape)).astype(np_dtype(dtype))


def to_torch(torch, a: np.ndarray):
    if a.dtype == ml_dtypes.bfloat16:
        return torch.from_numpy(a.astype(np.float32)).to(torch.bfloat16)
    return torch.from_numpy(a.copy())


def pair(torch, shape, layout, dtype, kind="normal", seed=0):
    """The same tensor in torchlite and torch, built through the same views for ``layout``."""
    nd = len(shape)
    if layout == "c":
        a = values(shape, dtype, kind, seed)
        return tl.tensor(a), to_torch(torch, a)
    if layout == "t":
        rev = tuple(reversed(range(nd)))
        a = values(tuple(reversed(shape)), dtype, kind, seed)
        return tl.tensor(a).permute(*rev), to_torch(torch, a).permute(*rev)
    if layout == "s":
        a = values(shape[:-1] + (2 * shape[-1] + 1,), dtype, kind, seed)
        return basic_getitem(tl.tensor(a), (Ellipsis, slice(1, None, 2))), to_torch(torch, a)[..., 1::2]
    if layout == "e":
        a = values((1,) + shape[1:], dtype, kind, seed)
        return tl.tensor(a).expand(*shape), to_torch(torch, a).expand(*shape)
    raise AssertionError(layout)


def dims_for(nd: int, *, tuples: bool = True, empty: bool = True, none: bool = True) -> list:
    """Dim arguments to try on an ``nd``-dim input: None, every dim, negatives, tuples, ()."""
    out = [None] if none else []
    if nd == 0:
        out += [0, -1]
        if tuples:
            out += [(0,), (-1,)]
    else:
        out += list(range(nd)) + [-1]
        if tuples:
            if nd >= 2:
                out += [(0, -1), tuple(reversed(range(nd)))]
            if nd >= 3:
                out += [(-1, 1)]
    if tuples and empty:
        out.append(())
    return out


def check(got, want, ctx=""):
    """torchlite tensor ``got`` equals torch tensor ``want``: dtype, shape, values (NaN == NaN)."""
    import torch
    name = str(want.dtype).replace("torch.", "")
    assert got.dtype.name == name, (ctx, got.dtype, want.dtype)
    assert tuple(got.shape) == tuple(want.shape), (ctx, got.shape, want.shape)
    g = np.asarray(got.numpy())
    if want.dtype == torch.bfloat16:
        want, g = want.float(), g.astype(np.float32)
    w = want.numpy()
    if name in TOL:
        rtol, atol = TOL[name]
        np.testing.assert_allclose(g.astype(np.float64), w.astype(np.float64), rtol=rtol, atol=atol,
                                   equal_nan=True, err_msg=str(ctx))
    else:
        np.testing.assert_array_equal(g, w, err_msg=str(ctx))


def sweep(torch, tl_fn, th_fn, dtype, *, kind="normal", dims=dims_for, keepdims=(False, True), cases=CASES,
          skip_empty=False):
    """Compare ``tl_fn(x, dim, keepdim)`` with ``th_fn(x, dim, keepdim)`` over CASES x dims x keepdim."""
    n = 0
    for seed, (shape, layout) in enumerate(cases):
        if skip_empty and 0 in shape:
            continue
        tx, hx = pair(torch, shape, layout, dtype, kind, seed)
        for dim in dims(len(shape)):
            for keepdim in keepdims:
                check(tl_fn(tx, dim, keepdim), th_fn(hx, dim, keepdim), (shape, layout, dtype, dim, keepdim))
                n += 1
    assert n > 0


# --- sum / mean / prod -------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_sum_matches_torch(torch, dtype):
    sweep(torch, lambda x, d, k: tl.sum(x, d, k), lambda x, d, k: torch.sum(x, d, k), dtype)
    sweep(torch, lambda x, d, k: x.sum(dim=d, keepdim=k), lambda x, d, k: x.sum(dim=d, keepdim=k), dtype,
          cases=CASES[1:4], keepdims=(True,))


@pytest.mark.parametrize("dtype", ["float32", "int32", "bool", "float16"])
@pytest.mark.parametrize("out", ["float64", "float16", "int64", "int32"])
def test_sum_dtype_argument_matches_torch(torch, dtype, out):
    sweep(torch, lambda x, d, k: tl.sum(x, d, k, dtype=getattr(tl, out)),
          lambda x, d, k: torch.sum(x, d, k, dtype=getattr(torch, out)), dtype, cases=CASES[:4], kind="small")


@pytest.mark.parametrize("dtype", FLOATS)
def test_mean_matches_torch(torch, dtype):
    sweep(torch, lambda x, d, k: tl.mean(x, d, k), lambda x, d, k: torch.mean(x, d, k), dtype)


@pytest.mark.parametrize("dtype", ["int64", "bool", "float32", "bfloat16"])
def test_mean_with_dtype_matches_torch(torch, dtype):
    for out in ("float64", "float32", "float16"):
        sweep(torch, lambda x, d, k: x.mean(d, k, dtype=getattr(tl, out)),
              lambda x, d, k: x.mean(d, k, dtype=getattr(torch, out)), dtype, cases=CASES[:5], keepdims=(False,))


def _prod_dims(nd):
    return dims_for(nd, tuples=False)


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_prod_matches_torch(torch, dtype):
    def th(x, d, k):
        return torch.prod(x) if d is None else torch.prod(x, d, k)
    sweep(torch, lambda x, d, k: tl.prod(x) if d is None else tl.prod(x, d, k), th, dtype, kind="small",
          dims=_prod_dims)
    sweep(torch, lambda x, d, k: x.prod(d, k, dtype=tl.float64) if d is not None else x.prod(dtype=tl.float64),
          lambda x, d, k: x.prod(d, k, dtype=torch.float64) if d is not None else x.prod(dtype=torch.float64),
          dtype, kind="small", dims=_prod_dims, cases=CASES[:4])


def test_empty_sum_is_zero_and_empty_prod_is_one(torch):
    for dtype in ("float32", "int32", "bool"):
        for shape in ((0,), (0, 3), (2, 0)):
            tx, hx = pair(torch, shape, "c", dtype)
            check(tl.sum(tx), torch.sum(hx))
            check(tl.prod(tx), torch.prod(hx))
            check(tl.sum(tx, 0), torch.sum(hx, 0))
            check(tl.prod(tx, -1), torch.prod(hx, -1))
    assert tl.sum(tl.zeros(0)).item() == 0.0 and tl.prod(tl.zeros(0, dtype=tl.int32)).item() == 1


def test_half_precision_sums_accumulate_in_float32(torch):
    # accumulated in float16 the running sum would stall at 2048; in bfloat16 at 256
    check(tl.ones(5000, dtype=tl.float16).sum(), torch.ones(5000, dtype=torch.float16).sum())
    assert tl.ones(5000, dtype=tl.float16).sum().item() == 5000.0
    assert tl.ones(1000, dtype=tl.bfloat16).sum().item() == 1000.0
    big = tl.full((2,), 60000.0, dtype=tl.float16)         # the float16 sum overflows; the mean does not
    assert big.mean().item() == 60000.0
    check(big.mean(), torch.full((2,), 60000.0, dtype=torch.float16).mean())
    assert tl.ones(1000, dtype=tl.bfloat16).cumsum(0).numpy()[-1] == 1000.0


# --- amax / amin / max / min / argmax / argmin ---------------------------------------------------------------

def _nonempty_cases():
    return [c for c in CASES if 0 not in c[0]]


@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("name", ["amax", "amin"])
def test_amax_amin_match_torch(torch, dtype, name):
    def th(x, d, k):
        return getattr(torch, name)(x, () if d is None else d, k)
    sweep(torch, lambda x, d, k: getattr(tl, name)(x, () if d is None else d, k), th, dtype, kind="ties",
          cases=_nonempty_cases())
    # zero-size tensors reduce fine over their non-empty dims
    tx, hx = pair(torch, (0, 3), "c", dtype)
    check(getattr(tl, name)(tx, 1), getattr(torch, name)(hx, 1))
    check(getattr(tx, name)(dim=-1, keepdim=True), getattr(hx, name)(dim=-1, keepdim=True))


@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("name", ["max", "min"])
def test_max_min_with_dim_match_torch(torch, dtype, name):
    n = 0
    for seed, (shape, layout) in enumerate(CASES):
        tx, hx = pair(torch, shape, layout, dtype, "ties", seed)
        for dim in dims_for(len(shape), tuples=False, none=False):
            if 0 in shape and (not shape or shape[dim] == 0):
                continue
            for keepdim in (False, True):
                got, want = getattr(tl, name)(tx, dim, keepdim), getattr(torch, name)(hx, dim, keepdim)
                assert type(got).__name__ == name and got._fields == ("values", "indices")
                check(got.values, want.values, (shape, layout, dim))
                check(got.indices, want.indices, (shape, layout, dim))    # the first index on ties
                values_, indices = got
                check(values_, want[0])
                check(indices, want[1])
                n += 1
        if 0 not in shape:
            check(getattr(tl, name)(tx), getattr(torch, name)(hx))
            check(getattr(tx, name)(), getattr(hx, name)())
            check(getattr(tx, name)(dim=0, keepdim=True).indices, getattr(hx, name)(dim=0, keepdim=True).indices)
    assert n > 20


@pytest.mark.parametrize("dtype", FLOATS + INTS)
@pytest.mark.parametrize("name", ["argmax", "argmin"])
def test_argmax_argmin_match_torch(torch, dtype, name):
    def dims(nd):
        return dims_for(nd, tuples=False)
    sweep(torch, lambda x, d, k: getattr(tl, name)(x, d, k), lambda x, d, k: getattr(torch, name)(x, d, k),
          dtype, kind="ties", dims=dims, cases=_nonempty_cases())
    tx, hx = pair(torch, (2, 0, 3), "c", dtype)
    check(getattr(tx, name)(2), getattr(hx, name)(2))


def test_max_min_with_a_tensor_are_maximum_minimum(torch):
    for dt in ("float32", "int32"):
        (ta, ha), (tb, hb) = pair(torch, (3, 4), "c", dt, seed=1), pair(torch, (4,), "c", dt, seed=2)
        check(tl.max(ta, tb), torch.max(ha, hb))
        check(ta.min(tb), ha.min(hb))
        check(tl.max(ta, other=tb), torch.max(ha, other=hb))


def test_max_min_amax_argmax_propagate_nan_like_torch(torch):
    a = np.array([[1.0, NAN, 3.0, NAN], [2.0, 2.0, 1.0, 1.0], [-INF, INF, INF, 0.0]], dtype=np.float32)
    for dt in ("float32", "float64", "float16", "bfloat16"):
        tx, hx = tl.tensor(a.astype(np_dtype(dt))), to_torch(torch, a.astype(np_dtype(dt)))
        for name in ("max", "min"):
            for d in (0, 1, -1):
                got, want = getattr(tl, name)(tx, d), getattr(torch, name)(hx, d)
                check(got.values, want.values, (dt, name, d))
                check(got.indices, want.indices, (dt, name, d))
            check(getattr(tl, name)(tx), getattr(torch, name)(hx))
        for name in ("amax", "amin", "argmax", "argmin"):
            check(getattr(tl, name)(tx), getattr(torch, name)(hx), (dt, name))
            for d in (0, 1):
                check(getattr(tl, name)(tx, d), getattr(torch, name)(hx, d), (dt, name, d))
    assert math.isnan(tl.tensor([1.0, NAN]).max().item()) and tl.tensor([1.0, NAN, NAN]).argmax().item() == 1


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_aminmax_matches_torch(torch, dtype):
    for seed, (shape, layout) in enumerate(_nonempty_cases()):
        tx, hx = pair(torch, shape, layout, dtype, "ties", seed)
        got, want = tl.aminmax(tx), torch.aminmax(hx)
        check(got.min, want.min)
        check(got.max, want.max)
        for d in dims_for(len(shape), tuples=False, none=False):
            got, want = tx.aminmax(dim=d, keepdim=True), hx.aminmax(dim=d, keepdim=True)
            check(got[0], want[0])
            check(got[1], want[1])


def test_return_type_prints_like_torch():
    r = tl.tensor([1.0, 3.0, 2.0]).max(0)
    text = repr(r)
    assert text.startswith("torchlite.return_types.max(\nvalues=") and "\nindices=" in text
    assert r.indices.item() == 1 and r.values.item() == 3.0 and isinstance(r, tuple)
    assert tl.tensor([1.0, 3.0]).aminmax()._fields == ("min", "max")


# --- var / std ---------------------------------------------------------------------------------------------

VAR_FORMS = [
    ("default", lambda f, x, d, k: f(x, d, keepdim=k)),
    ("unbiased=False", lambda f, x, d, k: f(x, d, unbiased=False, keepdim=k)),
    ("positional unbiased", lambda f, x, d, k: f(x, d, False, k) if d is not None else f(x, False)),
    ("correction=0", lambda f, x, d, k: f(x, d, correction=0, keepdim=k)),
    ("correction=2", lambda f, x, d, k: f(x, d, correction=2, keepdim=k)),
    ("correction=0.5", lambda f, x, d, k: f(x, d, correction=0.5, keepdim=k)),
]


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("name", ["var", "std"])
def test_var_std_match_torch(torch, dtype, name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)     # degrees of freedom <= 0 for tiny or empty dims
        for label, form in VAR_FORMS:
            sweep(torch, lambda x, d, k: form(getattr(tl, name), x, d, k),
                  lambda x, d, k: form(getattr(torch, name), x, d, k), dtype,
                  cases=CASES if label == "default" else CASES[2:5], keepdims=(False, True) if label == "default"
                  else (True,))


@pytest.mark.parametrize("name", ["var_mean", "std_mean"])
def test_var_mean_std_mean_match_torch(torch, name):
    for dtype in ("float64", "float32", "bfloat16"):
        for seed, (shape, layout) in enumerate(CASES[1:5]):
            tx, hx = pair(torch, shape, layout, dtype, seed=seed)
            for d in dims_for(len(shape)):
                for kw in ({}, {"correction": 0}, {"unbiased": False, "keepdim": True}):
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore", UserWarning)     # N - correction <= 0 on (0, 3)
                        got, want = getattr(tl, name)(tx, d, **kw), getattr(torch, name)(hx, d, **kw)
                    assert isinstance(got, tuple) and len(got) == 2
                    check(got[0], want[0], (name, shape, d, kw))
                    check(got[1], want[1], (name, shape, d, kw))


def test_var_degrees_of_freedom_warning_and_divisor(torch):
    with pytest.warns(UserWarning, match="degrees of freedom is <= 0"):
        v = tl.tensor([1.0, 2.0, 4.0]).var(correction=5)
    assert v.item() == INF                                   # divisor max(0, N - correction) = 0
    with pytest.warns(UserWarning, match="degrees of freedom is <= 0"):
        assert math.isnan(tl.tensor(3.0).std().item())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tl.tensor([1.0, 2.0]).var()                          # N - correction = 1: no warning


# --- logsumexp ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_logsumexp_matches_torch(torch, dtype):
    def dims(nd):
        return dims_for(nd, none=False, empty=False)    # torch.logsumexp(x, ()) is broken in torch itself
    sweep(torch, lambda x, d, k: tl.logsumexp(x, d, k), lambda x, d, k: torch.logsumexp(x, d, k), dtype, dims=dims)


def test_logsumexp_is_stable_and_handles_infinities(torch):
    a = np.array([[1000.0, 1000.0], [-1000.0, -1000.0], [-INF, -INF], [INF, 1.0], [NAN, 1.0], [INF, INF],
                  [INF, -INF]], dtype=np.float32)
    for dt in ("float32", "float64", "bfloat16"):
        tx, hx = tl.tensor(a.astype(np_dtype(dt))), to_torch(torch, a.astype(np_dtype(dt)))
        check(tx.logsumexp(1), hx.logsumexp(1), dt)
        check(tx.logsumexp(1, keepdim=True), hx.logsumexp(1, keepdim=True), dt)
    assert tl.logsumexp(tl.zeros(0, 3), 0).tolist() == [-INF] * 3
    assert abs(tl.tensor([1000.0, 1000.0], dtype=tl.float64).logsumexp(0).item() - (1000 + math.log(2))) < 1e-12


def test_logsumexp_empty_tuple_reduces_everything():
    x = tl.tensor(np.arange(6.0).reshape(2, 3))
    assert x.logsumexp(()).item() == pytest.approx(special.logsumexp(np.arange(6.0)), rel=1e-12)


# --- all / any / count_nonzero -----------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ALL_DTYPES + ["uint8"])
@pytest.mark.parametrize("name", ["all", "any"])
def test_all_any_match_torch(torch, dtype, name):
    kind = "ties" if dtype != "bool" else "normal"
    if dtype == "uint8":
        def values_uint8(shape, seed):
            return np.random.default_rng(seed).integers(0, 2, shape).astype(np.uint8)
        for seed, (shape, _) in enumerate(CASES):
            a = values_uint8(shape, seed)
            for d in dims_for(len(shape)):
                check(getattr(tl, name)(tl.tensor(a), d), getattr(torch, name)(torch.from_numpy(a), d))
        return
    sweep(torch, lambda x, d, k: getattr(tl, name)(x, d, k), lambda x, d, k: getattr(torch, name)(x, d, k),
          dtype, kind=kind)


def test_all_any_treat_nan_and_negative_zero_like_torch(torch):
    a = np.array([NAN, -0.0, 0.0, 1.0], dtype=np.float32)
    for sl in (slice(0, 1), slice(1, 3), slice(0, 4)):
        check(tl.tensor(a[sl]).all(), torch.from_numpy(a[sl]).all())
        check(tl.tensor(a[sl]).any(), torch.from_numpy(a[sl]).any())


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_count_nonzero_matches_torch(torch, dtype):
    def th(x, d, k):
        return torch.count_nonzero(x, d)
    sweep(torch, lambda x, d, k: tl.count_nonzero(x, d), th, dtype, kind="ties", keepdims=(False,))
    tx, hx = pair(torch, (3, 4), "t", dtype, "ties")
    check(tx.count_nonzero(dim=1), hx.count_nonzero(dim=1))


# --- norm -------------------------------------------------------------------------------------------------

NORM_PS = ["fro", 2, 1, INF, -INF, 0, 3, 0.5, -1, None]


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("p", NORM_PS, ids=str)
def test_norm_matches_torch(torch, dtype, p):
    def dims(nd):
        ds = dims_for(nd)
        return [d for d in ds if not (p == "fro" and isinstance(d, tuple) and len(d) > 2)]
    no_identity = p in (INF, -INF, -1)
    sweep(torch, lambda x, d, k: tl.norm(x, p, d, k), lambda x, d, k: torch.norm(x, p, d, k), dtype, dims=dims,
          skip_empty=no_identity)
    if no_identity:   # zero-size tensors: fine over non-empty dims
        tx, hx = pair(torch, (0, 3), "c", dtype)
        check(tx.norm(p, 1), hx.norm(p, 1))


def test_norm_dtype_argument_and_special_values(torch):
    tx, hx = pair(torch, (3, 4), "t", "float32")
    check(tl.norm(tx, dtype=tl.float64), torch.norm(hx, dtype=torch.float64))
    check(tx.half().norm(2, 1, dtype=tl.float32), hx.half().norm(2, 1, dtype=torch.float32))
    a = np.array([[INF, NAN], [INF, 1.0], [0.0, 0.0]], dtype=np.float32)
    for p in (2, 1, 0, INF, -INF, 3, -1):
        check(tl.tensor(a).norm(p, 1), torch.from_numpy(a).norm(p, 1), p)
    assert tl.tensor([3.0, 4.0]).norm().item() == 5.0


# --- cumsum / cumprod ---------------------------------------------------------------------------------------

def _cum_dims(nd):
    return dims_for(nd, tuples=False, none=False)


@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("name", ["cumsum", "cumprod"])
def test_cumsum_cumprod_match_torch(torch, dtype, name):
    sweep(torch, lambda x, d, k: getattr(tl, name)(x, d), lambda x, d, k: getattr(torch, name)(x, d), dtype,
          kind="small", dims=_cum_dims, keepdims=(False,))
    sweep(torch, lambda x, d, k: getattr(x, name)(dim=d, dtype=tl.float64),
          lambda x, d, k: getattr(x, name)(dim=d, dtype=torch.float64), dtype, kind="small", dims=_cum_dims,
          keepdims=(False,), cases=CASES[:4])
    if dtype == "float32":
        sweep(torch, lambda x, d, k: getattr(x, name)(d, dtype=tl.float16),
              lambda x, d, k: getattr(x, name)(d, dtype=torch.float16), dtype, kind="small", dims=_cum_dims,
              keepdims=(False,), cases=CASES[:4])


@pytest.mark.parametrize("name", ["cumsum_", "cumprod_"])
def test_inplace_cumulative_ops_keep_dtype_and_write_through_views(torch, name):
    for dtype in ("int32", "float32", "float16"):
        tx, hx = pair(torch, (3, 4), "c", dtype, "small")
        assert getattr(tx, name)(1) is tx
        getattr(hx, name)(1)
        check(tx, hx, (name, dtype))
        # through a view: the base sees the write
        tx, hx = pair(torch, (3, 4), "c", dtype, "small", seed=3)
        getattr(tx.t(), name)(0)
        getattr(hx.t(), name)(0)
        check(tx, hx, (name, dtype, "view"))


# --- softmax / log_softmax ----------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_log_softmax_match_torch(torch, dtype, name):
    sweep(torch, lambda x, d, k: getattr(tl, name)(x, d), lambda x, d, k: getattr(torch, name)(x, d), dtype,
          dims=_cum_dims, keepdims=(False,))
    tx, hx = pair(torch, (3, 4), "t", dtype)
    check(getattr(tx, name)(-1), getattr(hx, name)(-1))


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_dtype_argument_and_stability(torch, name):
    for src in ("int64", "bool", "float16", "float32"):
        for out in ("float32", "float64", "float16"):
            tx, hx = pair(torch, (3, 4), "c", src, "ties")
            check(getattr(tl, name)(tx, 1, dtype=getattr(tl, out)),
                  getattr(torch, name)(hx, 1, dtype=getattr(torch, out)),
                  (src, out))
    a = np.array([[1000.0, 0.0], [-1000.0, -1000.0], [-INF, -INF], [INF, 1.0], [NAN, 1.0], [-INF, 0.0]],
                 dtype=np.float32)
    for dt in ("float32", "float64", "bfloat16", "float16"):
        tx, hx = tl.tensor(a.astype(np_dtype(dt))), to_torch(torch, a.astype(np_dtype(dt)))
        check(getattr(tx, name)(1), getattr(hx, name)(1), dt)
    assert not np.isnan(tl.tensor([[1000.0, 0.0]]).softmax(1).numpy()).any()


def test_same_shape_ops_may_write_into_a_donated_buffer(torch):
    a = np.arange(12.0, dtype=np.float32).reshape(3, 4) / 4
    x, h = tl.tensor(a), torch.from_numpy(a.copy())
    y = (x * 2.0).softmax(1).cumsum(0).log_softmax(-1).cumprod(1)
    source = tl.fx.capture(y).program.source
    assert "out=mul" in source and "out=softmax" in source        # the planner reuses dead inputs
    check(y, (h * 2.0).softmax(1).cumsum(0).log_softmax(-1).cumprod(1))


def test_softmax_and_log_softmax_are_one_node_each():
    x = tl.tensor(np.ones((2, 3), dtype=np.float32))
    for fn, op in ((tl.softmax, tl.ops.softmax), (tl.log_softmax, tl.ops.log_softmax)):
        gm = tl.fx.capture(fn(x, 1))
        calls = [n for n in gm.graph.nodes if n.op == "call_function"]
        assert [n.target for n in calls] == [op] and calls[0].kwargs == {"dim": 1}


# --- 0-d inputs, graphs, laziness, op level -------------------------------------------------------------------

def test_dim_lists_and_empty_dims_mean_what_torch_means(torch):
    tx, hx = pair(torch, (2, 3, 4), "t", "float64")
    for d in ([], (), [2, 0], [-1], None):
        for name in ("sum", "mean", "amax", "amin", "count_nonzero", "var", "std"):
            check(getattr(tl, name)(tx, d), getattr(torch, name)(hx, d), (name, d))
        check(tl.norm(tx, 2, d), torch.norm(hx, 2, d), ("norm", d))
        for name in ("all", "any"):                       # here () reduces nothing, as in torch
            check(getattr(tl, name)(tx, d), getattr(torch, name)(hx, d), (name, d))
    assert tl.all(tx, ()).shape == (2, 3, 4) and tl.sum(tx, []).shape == ()


def test_zero_dim_inputs_accept_dim_0_and_minus_1(torch):
    tx, hx = tl.tensor(2.5), torch.tensor(2.5)
    for d in (0, -1):
        for name in ("sum", "mean", "amax", "amin", "logsumexp", "cumsum", "cumprod", "softmax", "log_softmax",
                     "argmax", "argmin", "prod", "all", "any", "count_nonzero"):
            check(getattr(tl, name)(tx, d), getattr(torch, name)(hx, d), (name, d))
        check(tl.max(tx, d, True).values, torch.max(hx, d, True).values)
        check(tl.min(tx, d).indices, torch.min(hx, d).indices)
        check(tl.var(tx, d, correction=0), torch.var(hx, d, correction=0))
        check(tl.norm(tx, 2, d, True), torch.norm(hx, 2, d, True))
    with raises(IndexError, "expected to be in range of [-1, 0], but got 1"):
        tl.sum(tx, 1)


def test_reductions_are_lazy_and_programs_are_cached():
    x = tl.tensor(np.arange(12.0, dtype=np.float32).reshape(3, 4))
    y = x.sum(1)
    assert y.is_lazy
    assert y.tolist() == [6.0, 22.0, 38.0]
    from torchlite.devices import backend_for
    info = backend_for(x.device).cache_info()
    z = tl.tensor(np.ones((3, 4), dtype=np.float32)).sum(1)
    assert z.tolist() == [4.0] * 3
    assert backend_for(x.device).cache_info()["hits"] == info["hits"] + 1


def test_max_with_dim_is_argmax_and_a_gather_of_the_values():
    # the values are gathered at the returned indices, so backward sends the gradient to that element on ties
    x = tl.tensor(np.arange(6.0, dtype=np.float32).reshape(2, 3))
    r = x.max(-1, keepdim=True)
    gm = tl.fx.capture(r.values, r.indices)
    calls = [(n.target.name, dict(n.kwargs)) for n in gm.graph.nodes if n.op == "call_function"]
    assert calls == [("argmax", {"dim": 1, "keepdim": True}), ("gather", {"dim": 1})]
    s = tl.fx.capture(x.sum((-1, 0), dtype=tl.float64))
    (node,) = [n for n in s.graph.nodes if n.op == "call_function"]
    assert node.target is tl.ops.sum and node.kwargs == {"dims": (0, 1), "keepdim": False, "dtype_": tl.float64}


def test_op_level_calls_and_canonical_dims():
    x = tl.tensor(np.arange(6.0).reshape(2, 3))
    assert tl.ops.sum(x, dims=(1,), keepdim=False, dtype_=None).tolist() == [3.0, 12.0]
    assert tl.ops.norm(x, p="inf", dims=(0, 1), keepdim=False).item() == 5.0
    assert tl.ops.argmax(x, dim=None, keepdim=True).tolist() == [[5]]
    with raises(ValueError, "dims must be a sorted tuple of distinct dims in [0, 2)"):
        tl.ops.sum(x, dims=(1, 0), keepdim=False, dtype_=None)
    with raises(ValueError, "dims must be a sorted tuple"):
        tl.ops.amax(x, dims=(-1,), keepdim=False)
    with raises(RuntimeError, "std and var only support floating point"):
        tl.ops.var(tl.tensor([1, 2]), dims=(0,), keepdim=False, correction=1)


def test_results_do_not_alias_inputs():
    x = tl.tensor(np.array(3.0, dtype=np.float32))
    for y in (x.sum(), x.amax(), x.mean(), x.cumsum(0), x.all(()), x.logsumexp(0)):
        y.numpy()
        assert not np.shares_memory(y.numpy(), x.numpy())


# --- errors ------------------------------------------------------------------------------------------------

X = np.arange(6.0, dtype=np.float32).reshape(2, 3)
E = np.zeros((0, 3), dtype=np.float32)
I = np.arange(6).reshape(2, 3)
B = np.array([True, False])

# (call taking the module, exception, message fragment, whether the fragment is torch's own wording)
ERRORS = [
    (lambda t: t.sum(t.tensor(X), 2), IndexError, "Dimension out of range (expected to be in range "
     "of [-2, 1], but got 2)", True),
    (lambda t: t.sum(t.tensor(X), -3), IndexError, "but got -3)", True),
    (lambda t: t.sum(t.tensor(X), (0, 0)), RuntimeError, "dim 0 appears multiple times in the list of dims", True),
    (lambda t: t.mean(t.tensor(X), (1, -1)), RuntimeError, "dim 1 appears multiple times in the list of dims", True),
    (lambda t: t.amax(t.tensor(X), [-1, 1]), RuntimeError, "dim 1 appears multiple times in the list of dims", True),
    (lambda t: t.sum(t.tensor(X), 0.5), TypeError, "sum(): argument 'dim' must be int or tuple of ints", False),
    (lambda t: t.sum(t.tensor(X), (0.5,)), TypeError, "sum(): argument 'dim' must be tuple of ints", False),
    (lambda t: t.mean(t.tensor(I)), RuntimeError, "mean(): could not infer output dtype. Input dtype must be either "
     "a floating point or complex dtype. Got: Long", True),
    (lambda t: t.mean(t.tensor(B)), RuntimeError, "Got: Bool", True),
    (lambda t: t.mean(t.tensor(X), dtype=t.int64), RuntimeError, "Optional dtype must be either a "
     "floating point", True),
    (lambda t: t.prod(t.tensor(X), (0,)), TypeError, "prod(): argument 'dim' must be int, not tuple", False),
    (lambda t: t.max(t.tensor(E)), RuntimeError, "max(): Expected reduction dim to be specified for input.numel() "
     "== 0. Specify the reduction dim with the 'dim' argument.", True),
    (lambda t: t.max(t.tensor(E), 0), IndexError, "max(): Expected reduction dim 0 to have non-zero size.", True),
    (lambda t: t.min(t.tensor(E), -2, True), IndexError, "min(): Expected reduction dim 0 to have "
     "non-zero size.", True),
    (lambda t: t.min(t.tensor(E)), RuntimeError, "min(): Expected reduction dim to be specified", True),
    (lambda t: t.amax(t.tensor(E)), RuntimeError, "amax(): Expected reduction dim to be specified", True),
    (lambda t: t.amax(t.tensor(E), (1, 0)), IndexError, "amax(): Expected reduction dim 0 to have "
     "non-zero size.", True),
    (lambda t: t.amin(t.tensor(E), 0), IndexError, "amin(): Expected reduction dim 0 to have non-zero size.", True),
    (lambda t: t.argmax(t.tensor(E)), IndexError, "argmax(): Expected reduction dim to be specified for "
     "input.numel() == 0.", True),
    (lambda t: t.argmin(t.tensor(E), 0), IndexError, "argmin(): Expected reduction dim 0 to have non-zero size.", True),
    (lambda t: t.argmax(t.tensor(B)), RuntimeError, "argmax(): does not support bool input", True),
    (lambda t: t.argmin(t.tensor(B), 0), RuntimeError, "argmin(): does not support bool input", True),
    (lambda t: t.argmax(t.tensor(X), (0,)), TypeError, "argmax(): argument 'dim'", True),
    (lambda t: t.max(t.tensor(X), (0,)), TypeError, "max(): argument 'dim' must be int or a Tensor", False),
    (lambda t: t.max(t.tensor(X), 1.0), TypeError, "max(): argument 'dim' must be int or a Tensor", False),
    (lambda t: t.max(t.tensor(X), 2), IndexError, "but got 2)", True),
    (lambda t: t.aminmax(t.tensor(E)), RuntimeError, "aminmax(): cannot compute aminmax over an empty dimension as "
     "the operation has no identity.", True),
    (lambda t: t.aminmax(t.tensor(E), dim=0), IndexError, "aminmax: Expected reduction dim 0 to "
     "have non-zero size.", True),
    (lambda t: t.var(t.tensor(I)), RuntimeError, "std and var only support floating point and complex dtypes", True),
    (lambda t: t.std(t.tensor(B), 0), RuntimeError, "std and var only support floating point and complex dtypes", True),
    (lambda t: t.var_mean(t.tensor(I)), RuntimeError, "var_mean only support floating point and complex dtypes", True),
    (lambda t: t.var(t.tensor(X), 0, correction=0, unbiased=True), TypeError, "received an invalid "
     "combination of arguments", True),
    (lambda t: t.std(t.tensor(X), (0, 0)), RuntimeError, "dim 0 appears multiple times", True),
    (lambda t: t.logsumexp(t.tensor(X), 3), IndexError, "but got 3)", True),
    (lambda t: t.all(t.tensor(X), (0, 0)), RuntimeError, "dim 0 appears multiple times", True),
    (lambda t: t.any(t.tensor(X), 2), IndexError, "but got 2)", True),
    (lambda t: t.count_nonzero(t.tensor(X), (1, 1)), RuntimeError, "dim 1 appears multiple times", True),
    (lambda t: t.norm(t.tensor(I)), RuntimeError, "linalg.vector_norm: Expected a floating point or complex tensor "
     "as input. Got Long", True),
    (lambda t: t.norm(t.tensor(X), dtype=t.int64), RuntimeError, "linalg.vector_norm: dtype should be floating point "
     "or complex, but got Long", True),
    (lambda t: t.norm(t.tensor(X), p="abc"), RuntimeError, "linalg.matrix_norm: Order abc not supported.", True),
    (lambda t: t.norm(t.tensor(np.ones((2, 2, 2))), "fro", (0, 1, 2)), RuntimeError, "linalg.matrix_norm: dim must "
     "be a 2-tuple. Got 0 1 2", True),
    (lambda t: t.norm(t.tensor(E), p=float("inf")), RuntimeError, "linalg.vector_norm cannot compute the inf norm "
     "on an empty tensor because the operation does not have an identity", True),
    (lambda t: t.norm(t.tensor(E), p=-1, dim=0), RuntimeError, "linalg.vector_norm cannot compute the -1 norm on "
     "the dimension 0", True),
    (lambda t: t.norm(t.tensor(X), 2, (0, 0)), RuntimeError, "dim 0 appears multiple times", True),
    (lambda t: t.cumsum(t.tensor(X), (0,)), TypeError, "cumsum(): argument 'dim' (position 2) must be int, not tuple",
     True),
    (lambda t: t.cumprod(t.tensor(X), 2), IndexError, "but got 2)", True),
    (lambda t: t.softmax(t.tensor(I), 0), NotImplementedError, "\"softmax_kernel_impl\" not implemented "
     "for 'Long'", True),
    (lambda t: t.log_softmax(t.tensor(B), 0), NotImplementedError, "\"log_softmax_lastdim_kernel_impl\" not "
     "implemented for 'Bool'", True),
    (lambda t: t.log_softmax(t.tensor(I), -2), NotImplementedError, "\"log_softmax_kernel_impl\" not implemented for "
     "'Long'", True),
    (lambda t: t.softmax(t.tensor(I), 1), NotImplementedError, "\"softmax_lastdim_kernel_impl\" not implemented for "
     "'Long'", True),
    (lambda t: t.softmax(t.tensor(X), 5), IndexError, "but got 5)", True),
    (lambda t: t.softmax(t.tensor(X), 0, t.int64), NotImplementedError, "not implemented for 'Long'", True),
    (lambda t: t.tensor(B).cumsum_(0), NotImplementedError, "\"cumsum_out_cpu\" not implemented for 'Bool'", True),
    (lambda t: t.sum([1.0, 2.0]), TypeError, "sum(): argument 'input' (position 1) must be Tensor", True),
    (lambda t: t.prod(t.tensor(X), 0.5), TypeError, "prod(): argument 'dim' must be int", False),
    (lambda t: t.var(t.tensor(X), 0, correction="1"), TypeError, "var(): argument 'correction'", False),
    (lambda t: t.amax(t.tensor(2.0), 1), IndexError, "[-1, 0], but got 1)", True),
]


@pytest.mark.parametrize("call,exc,fragment,torch_wording", ERRORS, ids=[str(i) for i in range(len(ERRORS))])
def test_errors_match_torch_and_name_the_user_line(call, exc, fragment, torch_wording):
    with raises(exc, fragment):
        call(tl)
    torch = pytest.importorskip("torch")
    with pytest.raises(exc) as info:      # torch raises the same type (and, for its wording, the same text)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            call(torch)
    if torch_wording:     # (torch's own message lacks a space in "dimension 0because")
        assert fragment in str(info.value).replace("dimension 0because", "dimension 0 because"), str(info.value)


def test_errors_are_raised_when_the_op_is_built_not_at_realize():
    x = tl.tensor(E)
    with pytest.raises(IndexError) as info:
        x.amax(0)                          # the line that is wrong is the line the error names
    line = sys._getframe().f_lineno - 1
    assert f"test_reduction.py:{line})" in str(info.value), str(info.value)


# --- float64 against numpy (no torch needed) -------------------------------------------------------------------

def _np_dims(nd):
    return [None, 0, -1, (0, 2), (2, 0, 1)] if nd == 3 else [None, 0, -1]


def test_float64_reductions_match_numpy():
    rng = np.random.default_rng(7)
    a = rng.standard_normal((3, 4, 5))
    x = tl.tensor(a).permute(2, 0, 1)
    b = a.transpose(2, 0, 1)
    ok = dict(rtol=1e-12, atol=1e-12)
    for d in _np_dims(3):
        ax = d if d is None or isinstance(d, int) else tuple(d)
        for keepdim in (False, True):
            np.testing.assert_allclose(x.sum(d, keepdim).numpy(), b.sum(axis=ax, keepdims=keepdim), **ok)
            np.testing.assert_allclose(x.mean(d, keepdim).numpy(), b.mean(axis=ax, keepdims=keepdim), **ok)
            np.testing.assert_allclose(x.amax(() if d is None else d, keepdim).numpy(),
                                       b.max(axis=ax, keepdims=keepdim), **ok)
            np.testing.assert_allclose(x.var(d, keepdim=keepdim).numpy(), b.var(axis=ax, ddof=1, keepdims=keepdim),
                                       **ok)
            np.testing.assert_allclose(x.std(d, correction=0, keepdim=keepdim).numpy(),
                                       b.std(axis=ax, keepdims=keepdim), **ok)
            np.testing.assert_allclose(x.norm(2, d, keepdim).numpy(),
                                       np.sqrt((b * b).sum(axis=ax, keepdims=keepdim)), **ok)
            np.testing.assert_allclose(x.norm(3, d, keepdim).numpy(),
                                       (np.abs(b) ** 3).sum(axis=ax, keepdims=keepdim) ** (1 / 3), **ok)
            if d is not None:
                np.testing.assert_allclose(x.logsumexp(d, keepdim).numpy(),
                                           special.logsumexp(b, axis=ax, keepdims=keepdim), **ok)
        if d is None or isinstance(d, int):
            np.testing.assert_allclose(x.prod(d).numpy(), b.prod(axis=d), **ok)
            np.testing.assert_array_equal(x.argmax(d).numpy(), b.argmax(axis=d))
            np.testing.assert_array_equal(x.argmin(d).numpy(), b.argmin(axis=d))
        if isinstance(d, int):
            np.testing.assert_allclose(x.cumsum(d).numpy(), b.cumsum(axis=d), **ok)
            np.testing.assert_allclose(x.cumprod(d).numpy(), b.cumprod(axis=d), **ok)
            np.testing.assert_allclose(x.softmax(d).numpy(), special.softmax(b, axis=d), **ok)
            np.testing.assert_allclose(x.log_softmax(d).numpy(), special.log_softmax(b, axis=d), **ok)
            r = x.max(d)
            np.testing.assert_array_equal(r.values.numpy(), b.max(axis=d))
            np.testing.assert_array_equal(r.indices.numpy(), b.argmax(axis=d))
    assert x.sum().dtype is tl.float64 and x.argmax().dtype is tl.int64


def test_integer_and_bool_results_match_numpy():
    a = np.random.default_rng(3).integers(-4, 5, (4, 5)).astype(np.int32)
    x = tl.tensor(a)
    assert x.sum().dtype is tl.int64 and x.sum().item() == int(a.sum())
    np.testing.assert_array_equal(x.sum(0).numpy(), a.sum(0, dtype=np.int64))
    np.testing.assert_array_equal(x.cumsum(1).numpy(), a.cumsum(1, dtype=np.int64))
    np.testing.assert_array_equal(x.count_nonzero(1).numpy(), np.count_nonzero(a, axis=1))
    np.testing.assert_array_equal(x.amax((0, 1)).numpy(), a.max())
    np.testing.assert_array_equal(tl.all(x, 1).numpy(), a.all(1))
    np.testing.assert_array_equal(tl.any(x != 0, (0,)).numpy(), (a != 0).any(0))
    assert tl.logsumexp(x, 1).dtype is tl.float32
    bools = tl.tensor(a > 0)
    assert bools.sum().item() == int((a > 0).sum()) and bools.sum().dtype is tl.int64
    assert bools.max().dtype is tl.bool and bools.all(()).shape == (4, 5)
