"""In-place pointwise methods (``x.add_(...)``) and operators (``x += ...``) against torch (CPU): the result
is cast back to self's dtype or the op raises like torch (at the op, naming this file's line, leaving self
unchanged), self's shape cannot grow by broadcasting, and writes through views reach the base.
"""
from __future__ import annotations

import inspect
import operator

import numpy as np
import pytest

import torchlite as tl
import _pointwise_family as pw
from conftest import assert_close, to_numpy, to_torch
from _pointwise_helpers import RHS_DOMAIN, every_other_column, grouped, run_all, sample

HERE = r"test_pointwise_inplace\.py:\d+"


INPLACE_ARGS = {
    "clamp": (-1, 2), "clip": (-1.5, None), "clamp_min": (0,), "clamp_max": (0.5,), "lerp": ("same", 0.3),
    "nan_to_num": (), "round": (),
}
_INPLACE_BINARY = {"add", "sub", "mul", "multiply", "div", "divide", "true_divide", "floor_divide", "remainder", "fmod",
                   "pow", "atan2", "eq", "ne", "lt", "le", "gt", "ge", "logical_and", "logical_or", "logical_xor",
                   "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_left_shift", "bitwise_right_shift"}


_TENSOR_ONLY = {"atan2", "logical_and", "logical_or", "logical_xor"}   # torch takes no Python scalar there


def _inplace_cases():
    for name in pw.INPLACE:
        for d in ("bool", "uint8", "int64", "float16", "float32"):
            others = ("same", "bool", 2, 1.5, True) if name in _INPLACE_BINARY else (None,)
            if name in _TENSOR_ONLY:
                others = ("same", "bool")
            for o in others:
                yield name, d, o


@pytest.mark.parametrize("cases", grouped(_inplace_cases(), lambda name, d, o: f"{name}_-{d}"))
def test_inplace_method_matches_torch(cases, torch):
    """``x.op_(...)``: returns x, keeps x's shape and dtype (result cast back), or raises like torch
    ("result type Float can't be cast to the desired output type Long")."""
    run_all(cases, lambda name, dtype, other: _check_inplace(name, dtype, other, torch))


def _check_inplace(name, dtype, other, torch):
    domain = RHS_DOMAIN.get(name, "any")
    x = sample(dtype, (3, 4), "positive" if name in ("pow",) and dtype != "bool" else "any")
    if name in _INPLACE_BINARY:
        if other == "same":
            args = [sample(dtype, (4,), domain, seed=1)]
        elif other == "bool":
            args = [sample("bool", (4,), "divisor" if domain == "divisor" else "any", seed=1)]
        else:
            args = [other]
    else:
        args = [sample(dtype, (3, 4), seed=1) if a == "same" else a for a in INPLACE_ARGS.get(name, ())]
    tx = to_torch(x)
    targs = [to_torch(a) if isinstance(a, tl.Tensor) else a for a in args]
    try:
        r = getattr(tx, name + "_")(*targs)
        assert r is tx
    except Exception as e:  # noqa: BLE001
        before = to_numpy(x).copy()
        with pytest.raises(type(e), match=HERE):
            getattr(x, name + "_")(*args)
        np.testing.assert_array_equal(to_numpy(x), before)       # a failed in-place op leaves x alone
        return
    dtype_before = x.dtype
    got = getattr(x, name + "_")(*args)
    assert got is x
    assert x.dtype is dtype_before
    assert_close(x, tx)


def test_inplace_int_add_float_raises_at_op():
    x = tl.tensor([1, 2, 3])
    with pytest.raises(RuntimeError, match="result type Float can't be cast to the desired output type Long.*"
                       + HERE):
        x.add_(1.5)
    assert to_numpy(x).tolist() == [1, 2, 3]                 # unchanged
    with pytest.raises(RuntimeError, match="result type Float can't be cast to the desired output type Long"):
        x /= 2
    with pytest.raises(RuntimeError, match="result type Long can't be cast to the desired output type Bool"):
        tl.tensor([True]).add_(1)


def test_inplace_broadcast_to_bigger_shape_raises_at_op(torch):
    with pytest.raises(RuntimeError) as expected:
        torch.ones(3).add_(torch.ones(2, 3))
    x = tl.ones(3)
    line = inspect.currentframe().f_lineno + 2
    with pytest.raises(RuntimeError) as info:
        x.add_(tl.ones(2, 3))
    assert str(expected.value) in str(info.value)             # output with shape [3] doesn't match ... [2, 3]
    assert f"test_pointwise_inplace.py:{line}" in str(info.value)
    with pytest.raises(RuntimeError, match=r"output with shape \[\] doesn't match the broadcast shape \[1\]"):
        tl.tensor(5.0).mul_(tl.ones(1))
    y = tl.ones(2, 3)
    y.add_(tl.ones(3))                                        # broadcasting the other operand is fine
    assert to_numpy(y).tolist() == [[2.0] * 3] * 2


IOPS = {"+=": operator.iadd, "-=": operator.isub, "*=": operator.imul, "/=": operator.itruediv,
        "//=": operator.ifloordiv, "%=": operator.imod, "**=": operator.ipow, "&=": operator.iand,
        "|=": operator.ior, "^=": operator.ixor, "<<=": operator.ilshift, ">>=": operator.irshift}


@pytest.mark.parametrize("sym, dtype, other", [
    pytest.param(sym, d, o, id=f"{sym}-{d}-{o}")
    for sym in IOPS for d in ["int32", "float32", "bool"] for o in ["tensor", 2, 0.5]])
def test_inplace_operators_match_torch(sym, dtype, other, torch):
    f = IOPS[sym]
    x = sample(dtype, (3, 4), "positive" if sym == "**=" else "any")
    o = sample(dtype, (4,), RHS_DOMAIN.get({"/=": "div", "//=": "div", "%=": "div", "**=": "pow",
                                            "<<=": "bitwise_left_shift", ">>=": "bitwise_right_shift"}
                                           .get(sym, ""), "any"), seed=1) if other == "tensor" else other
    tx = to_torch(x)
    to = to_torch(o) if isinstance(o, tl.Tensor) else o
    try:
        tr = f(tx, to)
        assert tr is tx
    except Exception as e:  # noqa: BLE001
        with pytest.raises(type(e), match=HERE):
            f(x, o)
        return
    r = f(x, o)
    assert r is x
    assert_close(x, tx)


def test_inplace_through_views_writes_base(torch):
    base = sample("float32", (4, 6))
    tb = to_torch(base)
    base.t().add_(100.0)
    tb.t().add_(100.0)
    assert_close(base, tb)
    every_other_column(base).mul_(-1)
    tb[:, ::2].mul_(-1)
    assert_close(base, tb)
    v = base.t()
    v.clamp_(max=50.0)
    tb.t().clamp_(max=50.0)
    assert_close(base, tb)
    assert_close(v, tb.t())


def test_clamp_inplace_variants(torch):
    for args, kwargs in [((0.0, 1.0), {}), ((), {"min": 0.5}), ((), {"max": -0.5}), ((None, 0.0), {})]:
        x = sample("float32", (3, 4))
        tx = to_torch(x)
        assert x.clamp_(*args, **kwargs) is x
        tx.clamp_(*args, **kwargs)
        assert_close(x, tx)
    x = sample("int64", (3, 4))
    with pytest.raises(RuntimeError, match="result type Float can't be cast.*" + HERE):
        x.clamp_(0.5, 2)
    with pytest.raises(RuntimeError, match="At least one of 'min' or 'max'.*" + HERE):
        x.clamp_()


def test_inplace_result_is_cast_back_to_self_dtype(torch):
    for d in ("float16", "bfloat16", "int8"):
        x = sample(d, (3, 4))
        tx = to_torch(x)
        y = sample("float32" if d != "int8" else "int64", (4,), seed=1)
        x.add_(y)
        tx.add_(to_torch(y))
        assert x.dtype is getattr(tl, d)
        assert_close(x, tx)
    x = sample("float32", (3, 4))
    tx = to_torch(x)
    x.lt_(0.5)
    tx.lt_(0.5)
    assert_close(x, tx)
