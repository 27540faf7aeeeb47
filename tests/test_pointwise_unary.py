"""Unary pointwise ops against torch (CPU): every function (and its Tensor method) over every dtype, the
special values nan/+-inf/-0.0/tiny/huge (the sign of zero results included), and float64 results against
Python's ``math`` module at rtol 1e-12 (an oracle independent of the numpy kernels).

torch's result dtype is required exactly; where torch raises, torchlite raises the same exception type when
the op is built, naming the test's line (``check``).
"""
from __future__ import annotations

import math

import numpy as np
import pytest

import torchlite as tl
import _pointwise_family as pw
from conftest import DTYPE_NAMES, FLOAT_NAMES, assert_close, to_numpy, to_torch
from _pointwise_helpers import SPECIALS, UNARY, check, sample, softplus_ref


@pytest.mark.parametrize("op, dtype", [
    pytest.param(op, d, id=f"{op}-{d}") for op in UNARY for d in DTYPE_NAMES])
def test_unary_matches_torch(op, dtype, torch):
    """Function form over every dtype (and the Tensor method where there is one)."""
    tl_fn, torch_fn = UNARY[op]
    domain = "unit" if op in ("asin", "acos", "arcsin", "arccos") else "any"
    x = sample(dtype, (3, 4), domain)
    got = check(tl_fn, torch_fn, [x], torch)
    if got is not None and op in pw.METHODS and tl_fn is getattr(pw, op):
        assert_close(getattr(x, op)(), torch_fn(to_torch(x)))


UNARY_FLOAT = [op for op in UNARY if op not in ("bitwise_not", "invert_operator", "round_neg_decimals")]


@pytest.mark.parametrize("op, dtype", [
    pytest.param(op, d, id=f"{op}-{d}") for op in UNARY_FLOAT for d in FLOAT_NAMES])
def test_unary_special_values_match_torch(op, dtype, torch):
    """nan, +-inf, -0.0, tiny and huge values; the sign of zero results too."""
    vals = SPECIALS
    if op == "signbit":
        vals = [v for v in vals if not math.isnan(v)]     # the sign of a NaN is not preserved by conversions
    if op.startswith("gelu") and dtype in ("float32", "bfloat16"):
        vals = [v for v in vals if not math.isinf(v)]   # torch's vectorized gelu gives nan at +inf
    x = tl.tensor(vals, dtype=getattr(tl, dtype))
    got = check(UNARY[op][0], UNARY[op][1], [x], torch)
    expected = UNARY[op][1](to_torch(x))
    if got is not None and got.dtype.is_floating_point and op not in ("relu", "signbit") and \
            not op.startswith("clamp") and op != "clip":
        g, e = to_numpy(got).astype(np.float64), to_numpy(expected).astype(np.float64)
        zero = (e == 0)
        np.testing.assert_array_equal(np.signbit(g[zero]), np.signbit(e[zero]), err_msg=f"sign of zero, {op}")


@pytest.mark.parametrize("dtype", FLOAT_NAMES)
def test_signbit_of_negative_zero_and_infinities(dtype, torch):
    x = tl.tensor([-0.0, 0.0, -float("inf"), float("inf"), -1.0, 1e-30], dtype=getattr(tl, dtype))
    check(tl.signbit, torch.signbit, [x], torch)


def test_relu_of_negative_zero_is_zero():
    assert to_numpy(tl.relu(tl.tensor([-0.0, -1.0, 2.0]))).tolist() == [0.0, 0.0, 2.0]


# --- float64 against Python's math module (independent of numpy's kernels) -------------------------------

def _sigmoid(v):
    return 1.0 / (1.0 + math.exp(-v)) if v >= 0 else math.exp(v) / (1.0 + math.exp(v))


def _gelu_tanh(v):
    return 0.5 * v * (1.0 + math.tanh(math.sqrt(2.0 / math.pi) * (v + 0.044715 * v ** 3)))


F64_UNARY = {
    "exp": math.exp, "exp2": lambda v: 2.0 ** v, "expm1": math.expm1, "log": math.log, "log2": math.log2,
    "log10": math.log10, "log1p": math.log1p, "sqrt": math.sqrt, "rsqrt": lambda v: 1.0 / math.sqrt(v),
    "sin": math.sin, "cos": math.cos, "tan": math.tan, "tanh": math.tanh, "asin": math.asin,
    "acos": math.acos, "atan": math.atan, "sinh": math.sinh, "cosh": math.cosh, "sigmoid": _sigmoid,
    "erf": math.erf, "erfc": math.erfc, "reciprocal": lambda v: 1.0 / v, "neg": lambda v: -v,
    "abs": abs, "floor": math.floor, "ceil": math.ceil, "trunc": math.trunc, "sign": lambda v: math.copysign(1.0, v),
    "silu": lambda v: v * _sigmoid(v), "gelu": lambda v: 0.5 * v * math.erfc(-v / math.sqrt(2.0)),
    "gelu_tanh": _gelu_tanh, "softplus": softplus_ref,
    "softplus_beta": lambda v: softplus_ref(v, 2.0, 1.5), "relu": lambda v: max(v, 0.0), "square": lambda v: v * v,
    "round": lambda v: float(round(v)), "round_decimals": lambda v: round(v * 100.0) / 100.0,
}
_F64_DOMAIN = {"log": "positive", "log2": "positive", "log10": "positive", "log1p": "positive", "sqrt": "positive",
               "rsqrt": "positive", "asin": "unit", "acos": "unit"}


@pytest.mark.parametrize("op", list(F64_UNARY))
def test_unary_float64_against_math(op):
    x = sample("float64", (5, 7), _F64_DOMAIN.get(op, "any"), seed=3)
    if op in ("asin", "acos"):
        x = x.clamp(-0.999, 0.999)
    xs = to_numpy(x)
    expected = np.vectorize(F64_UNARY[op], otypes=[np.float64])(xs)
    assert_close(UNARY[op][0](x), expected, rtol=1e-12, atol=1e-300 if op not in ("gelu",) else 1e-15)
