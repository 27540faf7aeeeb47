"""Property tests of PyTorch's type promotion and broadcasting in torchlite, against torch (CPU).

Operands are drawn from tensors of every dtype with small broadcastable shapes (0-d included) and Python
bool/int/float scalars; ``result_type``, ``promote_types`` and the dtype, shape and values of ``a + b``,
``a * b``, ``a / b``, comparisons, ``where(c, a, b)`` and ``clamp(a, lo, hi)`` must equal torch's, or both
must raise. Deterministic (derandomized) so a failure reproduces.
"""
from __future__ import annotations

import itertools
import operator

import ml_dtypes
import numpy as np
import pytest
from hypothesis import assume, given, settings, strategies as st

import torchlite as tl
from conftest import DTYPE_NAMES, assert_close, to_torch

SETTINGS = settings(max_examples=300, deadline=None, derandomize=True, database=None)

# --- strategies -----------------------------------------------------------------------------------------

small_dims = st.lists(st.integers(1, 3), min_size=0, max_size=3).map(tuple)


def tensor_of(dtype: str, shape: tuple, values) -> tl.Tensor:
    a = np.resize(np.asarray(values, np.float64), shape) if shape else np.asarray(values[0], np.float64)
    if dtype == "bool":
        return tl.tensor(np.asarray(a > 1.5))
    if dtype == "bfloat16":
        return tl.tensor(a.astype(np.float32).astype(ml_dtypes.bfloat16))
    return tl.tensor(a.astype(dtype))


@st.composite
def operand(draw, base: tuple, scalars: bool = True):
    """A Python scalar, or a tensor whose shape broadcasts to ``base`` (a suffix with some dims set to 1,
    or 0-d)."""
    kinds = ["tensor", "tensor", "zero_d"] + (["bool", "int", "float"] if scalars else [])
    kind = draw(st.sampled_from(kinds))
    if kind == "bool":
        return draw(st.booleans())
    if kind == "int":
        return draw(st.integers(-5, 5))       # negative ints wrap into unsigned dtypes, as in torch
    if kind == "float":
        return draw(st.sampled_from([0.5, -1.5, 2.0, 3.25, -0.0]))
    dtype = draw(st.sampled_from(DTYPE_NAMES))
    if kind == "zero_d":
        shape = ()
    else:
        k = draw(st.integers(0, len(base)))
        shape = tuple(1 if draw(st.booleans()) and draw(st.booleans()) else d for d in base[k:])
    values = draw(st.lists(st.sampled_from([1.0, 2.0, 3.0]), min_size=1, max_size=6))
    return tensor_of(dtype, shape, values)


def is_tensor(x) -> bool:
    return isinstance(x, tl.Tensor)


def tt(x):
    """The torch twin of an operand."""
    return to_torch(x) if is_tensor(x) else x


def both(tl_fn, torch_fn, *args):
    """(torchlite result, torch result), or (exception type, exception type) when torch raises."""
    try:
        expected = torch_fn(*[tt(a) for a in args])
    except Exception as e:  # noqa: BLE001
        exc = type(e)
        with pytest.raises(exc):
            tl_fn(*args)
        return None, None
    return tl_fn(*args), expected


def check_result(got, expected, *args) -> None:
    name = str(expected.dtype).removeprefix("torch.")
    assert got.dtype.name == name, describe(*args)
    assert tuple(got.shape) == tuple(expected.shape), describe(*args)
    assert_close(got, expected)


def describe(*args) -> str:
    return ", ".join(f"{a.dtype.name}{list(a.shape)}" if is_tensor(a) else repr(a) for a in args)


# --- promote_types and result_type ----------------------------------------------------------------------

@pytest.mark.parametrize("a, b", list(itertools.product(DTYPE_NAMES, repeat=2)))
def test_promote_types_every_pair(a, b, torch):
    assert tl.promote_types(getattr(tl, a), getattr(tl, b)).name == \
        str(torch.promote_types(getattr(torch, a), getattr(torch, b))).removeprefix("torch.")


@SETTINGS
@given(data=st.data(), base=small_dims)
def test_result_type_of_pairs(torch, data, base):
    a, b = data.draw(operand(base)), data.draw(operand(base))
    assume(is_tensor(a) or is_tensor(b))
    expected = torch.result_type(tt(a), tt(b))
    assert tl.result_type(a, b).name == str(expected).removeprefix("torch."), describe(a, b)


@SETTINGS
@given(data=st.data(), base=small_dims)
def test_result_type_of_triples_matches_clamp(torch, data, base):
    """torch has no n-ary result_type; clamp(a, lo, hi) promotes over all three (tensors, or two numbers)."""
    a = data.draw(operand(base, scalars=False))
    if data.draw(st.booleans()):
        lo, hi = data.draw(operand(base, scalars=False)), data.draw(operand(base, scalars=False))
    else:
        lo, hi = data.draw(st.sampled_from([0, 1, True, 0.5])), data.draw(st.sampled_from([2, 3, 2.5, True]))
    try:
        expected = torch.clamp(tt(a), tt(lo), tt(hi))
    except Exception as e:  # noqa: BLE001
        assume(not isinstance(e, TypeError))
        with pytest.raises(RuntimeError):
            tl.clamp(a, lo, hi)
        return
    assert tl.result_type(a, lo, hi).name == str(expected.dtype).removeprefix("torch."), describe(a, lo, hi)
    got = tl.clamp(a, lo, hi)
    assert got.dtype.name == str(expected.dtype).removeprefix("torch."), describe(a, lo, hi)
    assert tuple(got.shape) == tuple(expected.shape), describe(a, lo, hi)


# --- binary ops: dtype, shape and values ----------------------------------------------------------------

BINOPS = {"add": operator.add, "mul": operator.mul, "truediv": operator.truediv, "lt": operator.lt,
          "eq": operator.eq, "ge": operator.ge, "ne": operator.ne}


@SETTINGS
@given(data=st.data(), base=small_dims)
def test_binary_ops_dtype_shape_and_values(torch, data, base):
    """a + b, a * b, a / b and comparisons, for the same drawn pair (drawing dominates the run time)."""
    a, b = data.draw(operand(base)), data.draw(operand(base))
    assume(is_tensor(a) or is_tensor(b))
    for f in BINOPS.values():
        got, expected = both(f, f, a, b)
        if expected is not None:
            check_result(got, expected, a, b)


@SETTINGS
@given(data=st.data(), base=small_dims)
def test_function_forms_promote_like_operators(torch, data, base):
    a, b = data.draw(operand(base, scalars=False)), data.draw(operand(base))
    for name in ("add", "mul", "div", "maximum", "eq", "logical_and", "atan2"):
        if not is_tensor(b) and name in ("maximum", "logical_and", "atan2"):
            continue                                  # torch takes tensors only there
        got, expected = both(getattr(tl, name), getattr(torch, name), a, b)
        if expected is not None:
            check_result(got, expected, a, b)


# --- where ----------------------------------------------------------------------------------------------

@SETTINGS
@given(data=st.data(), base=small_dims)
def test_where_dtype_shape_and_values(torch, data, base):
    c = data.draw(operand(base, scalars=False))
    c = c.to(tl.bool) if c.dtype is not tl.bool else c
    a, b = data.draw(operand(base)), data.draw(operand(base))
    got, expected = both(tl.where, torch.where, c, a, b)     # two Python numbers are fine in where
    if expected is not None:
        check_result(got, expected, c, a, b)


# --- broadcasting ---------------------------------------------------------------------------------------

any_shape = st.lists(st.integers(0, 3), min_size=0, max_size=4).map(tuple)


@SETTINGS
@given(a=any_shape, b=any_shape)
def test_broadcast_shape_of_add_matches_torch_or_both_raise(torch, a, b):
    try:
        expected = tuple((torch.ones(a) + torch.ones(b)).shape)
    except RuntimeError:
        with pytest.raises(RuntimeError, match=r"must match the size of tensor b.*test_promotion\.py:\d+"):
            tl.ones(a) + tl.ones(b)
        return
    got = tl.ones(a) + tl.ones(b)
    assert tuple(got.shape) == expected
    assert to_numpy_shape(got) == expected


def to_numpy_shape(t) -> tuple:
    return tuple(np.asarray(t.numpy()).shape)


@SETTINGS
@given(data=st.data())
def test_broadcast_of_three_operands_via_where(torch, data):
    """Shapes drawn to broadcast often: dims from one base shape, some set to 1, some dropped, some wrong."""
    base = data.draw(st.lists(st.integers(0, 3), min_size=0, max_size=4).map(tuple))

    def derive():
        k = data.draw(st.integers(0, len(base)))
        return tuple(data.draw(st.sampled_from([d, d, 1, 2])) for d in base[k:])
    sc, sa, sb = derive(), derive(), derive()
    try:
        expected = tuple(torch.where(torch.ones(sc, dtype=torch.bool), torch.ones(sa), torch.zeros(sb)).shape)
    except RuntimeError:
        with pytest.raises(RuntimeError, match=r"test_promotion\.py:\d+"):
            tl.where(tl.ones(sc, dtype=tl.bool), tl.ones(sa), tl.zeros(sb))
        return
    got = tl.where(tl.ones(sc, dtype=tl.bool), tl.ones(sa), tl.zeros(sb))
    assert tuple(got.shape) == expected
    assert to_numpy_shape(got) == expected


@SETTINGS
@given(a=any_shape, b=any_shape)
def test_inplace_broadcast_rule(torch, a, b):
    """x.add_(y) keeps x's shape: fine when y broadcasts to x, RuntimeError when the result would be bigger."""
    tx = torch.ones(a)
    try:
        tx.add_(torch.ones(b))
        ok = True
    except RuntimeError:
        ok = False
    x = tl.ones(a)
    if ok:
        x.add_(tl.ones(b))
        assert tuple(x.shape) == a and to_numpy_shape(x) == a
    else:
        with pytest.raises(RuntimeError, match=r"test_promotion\.py:\d+"):
            x.add_(tl.ones(b))
        assert tuple(x.shape) == a
