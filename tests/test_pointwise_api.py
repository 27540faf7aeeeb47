"""The public surface of torchlite/ops/pointwise.py: every method and in-place method is bound on Tensor,
aliases match torch, ``__all__`` is exported and leaks nothing, frontends reject non-tensors and ``out=``
(naming this file's line), and unsupported dtypes raise NotImplementedError as torch does.
"""
from __future__ import annotations

import pytest

import torchlite as tl
import _pointwise_family as pw
from _pointwise_helpers import check, sample

HERE = r"test_pointwise_api\.py:\d+"


def test_every_method_and_inplace_is_bound():
    for name in pw.METHODS:
        assert hasattr(tl.Tensor, name), name
    for name in pw.INPLACE:
        assert hasattr(tl.Tensor, name + "_"), name
    for name in pw.METHODS:
        if name not in ("allclose", "equal", "isclose", "where") and getattr(tl, name, None) is not None:
            assert getattr(tl, name) is getattr(pw, name), name


def test_aliases_match_torch(torch):
    x, y = sample("float32", (3, 4)), sample("float32", (4,), seed=1)
    for a, b in [("multiply", "mul"), ("divide", "div"), ("true_divide", "div"), ("greater", "gt"),
                 ("greater_equal", "ge"), ("less", "lt"), ("less_equal", "le"), ("not_equal", "ne")]:
        check(getattr(tl, a), getattr(torch, a), [x, y], torch)
        if a != "multiply":                                     # the method: test_multiply_method
            check(lambda p, q: getattr(p, a)(q), lambda p, q: getattr(p, a)(q), [x, y], torch)
    for a in ("negative", "absolute", "fix", "arcsin", "arccos", "arctan"):
        check(getattr(tl, a), getattr(torch, a), [sample("float32", (3, 4), "unit")], torch)


def test_multiply_method(torch):
    x, y = sample("float32", (3, 4)), sample("float32", (4,), seed=1)
    check(lambda p, q: p.multiply(q), lambda p, q: p.multiply(q), [x, y], torch)
    check(lambda p, q: p.multiply_(q), lambda p, q: p.multiply_(q), [x, y], torch)


def test_unary_frontends_reject_non_tensors():
    with pytest.raises(TypeError, match="expected a Tensor.*" + HERE):
        tl.exp(1.0)
    with pytest.raises(TypeError, match="at least one Tensor.*" + HERE):
        tl.add(1, 2)
    with pytest.raises(TypeError, match=HERE):
        tl.add(tl.ones(2), "a")
    with pytest.raises(TypeError, match="out= is not supported.*" + HERE):
        tl.add(tl.ones(2), 1, out=tl.ones(2))


def test_pointwise_module_declares_all():
    assert hasattr(pw, "__all__")
    for leaked in ("np", "math", "builtins", "LazyNode", "apply", "OpDef", "register", "op_error", "Tensor"):
        assert leaked not in pw.__all__
        assert not hasattr(tl, leaked) or leaked == "Tensor", leaked
    for name in pw.__all__:
        assert getattr(tl, name) is getattr(pw, name), name


# --- exception types -------------------------------------------------------------------------------------

def test_dtype_dispatch_errors_are_not_implemented_error(torch):
    cases = [
        (lambda a, b: a & b, sample("float32", (3,)), sample("float32", (3,))),
        (lambda a, b: a << b, sample("float64", (3,)), sample("int64", (3,))),
        (lambda a, b: tl.div(a, b, rounding_mode="trunc"), sample("bool", (3,)), sample("bool", (3,))),
        (lambda a, b: tl.floor_divide(a, b), sample("bool", (3,)), sample("bool", (3,))),
        (lambda a, b: tl.lerp(a, b, 0.5), sample("int64", (3,)), sample("int64", (3,))),
    ]
    for f, a, b in cases:
        with pytest.raises(NotImplementedError):
            f(a, b)
    for f in (tl.floor, tl.abs, tl.gelu, tl.silu, tl.softplus, tl.bitwise_not):
        with pytest.raises(NotImplementedError):
            f(sample("bool" if f is not tl.bitwise_not else "float32", (3,)))
