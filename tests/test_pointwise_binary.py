"""Binary pointwise ops against torch (CPU): every function over every dtype pair (tensor op tensor, with
broadcasting), every operator plain and reflected with Python (and numpy) scalars of each kind on either side
(weak-scalar promotion), functions with scalar operands, add/sub ``alpha``, nan/inf/-0.0 pairs, and float64
results against Python's ``math`` module at rtol 1e-12.

torch's result dtype is required exactly; where torch raises, torchlite raises the same exception type when
the op is built, naming the test's line (``check``).
"""
from __future__ import annotations

import math
import operator

import numpy as np
import pytest

import torchlite as tl
from conftest import DTYPE_NAMES, FLOAT_NAMES, assert_close, to_numpy
from _pointwise_helpers import (BINARY, OPERATORS, RHS_DOMAIN, check, grouped, run_all, sample, torch_module,
                                torch_op)


@pytest.mark.parametrize("cases", grouped(
    [(op, a, b) for op in BINARY for a in DTYPE_NAMES for b in DTYPE_NAMES],
    lambda op, a, b: f"{op}-{a}"))
def test_binary_tensor_tensor_matches_torch(cases, torch):
    """(3, 4) op (4,): every dtype pair, broadcasting, result dtype exactly torch's."""
    def one(op, a, b):
        tl_fn, torch_fn = BINARY[op]
        x = sample(a, (3, 4))
        y = sample(b, (4,), RHS_DOMAIN.get(op, "any"))
        check(tl_fn, torch_fn, [x, y], torch)
    run_all(cases, one)


# Operators with a Python scalar of each kind on each side (OPERATORS: _pointwise_helpers).
SCALARS = [True, False, 3, -2, 2.5, -0.5]
_DIVISION = {"/", "//", "%"}


def _scalar_cases():
    for sym in OPERATORS:
        for d in DTYPE_NAMES:
            for s in SCALARS:
                for side in ("left", "right"):
                    if d == "uint8" and isinstance(s, int) and not isinstance(s, bool) and s < 0:
                        continue   # out-of-range Python ints: test_uint8_with_negative_python_int_wraps
                    if sym in _DIVISION and side == "left" and s in (0, False):
                        continue   # integer division by zero raises in torch only (data-dependent)
                    yield sym, d, s, side


@pytest.mark.parametrize("cases", grouped(_scalar_cases(), lambda sym, d, s, side: f"{sym}-{d}"))
def test_operator_with_python_scalar_matches_torch(cases, torch):
    """``x op s`` and ``s op x`` (reflected operators) for bool/int/float scalars: weak-scalar promotion."""
    def one(sym, dtype, scalar, side):
        f = OPERATORS[sym]
        if side == "left":
            x = sample(dtype, (3, 4))
            check(lambda t: f(t, scalar), lambda t: f(t, scalar), [x], torch)
        else:
            domain = {"/": "divisor", "//": "divisor", "%": "divisor", "**": "exponent", "<<": "shift",
                      ">>": "shift"}.get(sym, "any")
            x = sample(dtype, (3, 4), domain)
            check(lambda t: f(scalar, t), lambda t: f(scalar, t), [x], torch)
    run_all(cases, one)


FUNC_SCALAR = {
    "fmod": (tl.fmod, torch_op("fmod")),
    "div_trunc": BINARY["div_trunc"],
    "div_floor": BINARY["div_floor"],
    "float_power": (tl.float_power, torch_op("float_power")),
    "add_alpha": (lambda a, b: tl.add(a, b, alpha=2), lambda a, b: torch_module().add(a, b, alpha=2)),
    "sub_alpha": (lambda a, b: tl.sub(a, b, alpha=2), lambda a, b: torch_module().sub(a, b, alpha=2)),
    "remainder": (tl.remainder, torch_op("remainder")),
    "bitwise_and": (tl.bitwise_and, torch_op("bitwise_and")),
}


@pytest.mark.parametrize("cases", grouped(
    [(op, d, s) for op in FUNC_SCALAR for d in DTYPE_NAMES for s in [True, 3, -2, 2.5]
     if not (d == "uint8" and s == -2)],
    lambda op, d, s: op))
def test_function_with_python_scalar_matches_torch(cases, torch):
    def one(op, dtype, scalar):
        tl_fn, torch_fn = FUNC_SCALAR[op]
        check(tl_fn, torch_fn, [sample(dtype, (3, 4)), scalar], torch)
    run_all(cases, one)


@pytest.mark.parametrize("a, b, alpha", [("bool", True, 2), ("int64", "int64", 2.5), ("int32", 3, 0.5),
                                         ("bool", "bool", 3)])
def test_alpha_does_not_take_part_in_promotion(a, b, alpha, torch):
    x = sample(a, (3,))
    y = sample(b, (3,), seed=1) if isinstance(b, str) else b
    check(lambda p, q: tl.add(p, q, alpha=alpha), lambda p, q: torch.add(p, q, alpha=alpha), [x, y], torch)


def test_add_sub_alpha_with_tensors(torch):
    x, y = sample("float32", (3, 4)), sample("float32", (4,), seed=1)
    check(lambda a, b: tl.add(a, b, alpha=-1.5), lambda a, b: torch.add(a, b, alpha=-1.5), [x, y], torch)
    check(lambda a, b: tl.sub(a, b, alpha=3), lambda a, b: torch.sub(a, b, alpha=3), [x, y], torch)
    xi, yi = sample("int32", (3, 4)), sample("int8", (4,), seed=1)
    check(lambda a, b: tl.add(a, b, alpha=3), lambda a, b: torch.add(a, b, alpha=3), [xi, yi], torch)


_SPECIAL_BINARY = ["add", "sub", "mul", "div", "div_trunc", "div_floor", "floor_divide", "remainder", "fmod",
                   "pow", "float_power", "maximum", "minimum", "atan2", "eq", "ne", "lt", "le", "gt", "ge",
                   "logical_and", "logical_or", "logical_xor"]


@pytest.mark.parametrize("dtype", FLOAT_NAMES)
@pytest.mark.parametrize("op", _SPECIAL_BINARY)
def test_binary_special_values_match_torch(op, dtype, torch):
    """Every pair of nan, +-inf, +-0.0 and ordinary values (NaN propagation in maximum/minimum included)."""
    vals = [float("nan"), float("inf"), -float("inf"), -0.0, 0.0, 1.0, -1.0, 0.5, -2.5, 7.0, -7.0]
    x = tl.tensor([[v] for v in vals], dtype=getattr(tl, dtype))        # (11, 1) op (11,): all pairs
    y = tl.tensor(vals, dtype=getattr(tl, dtype))
    check(BINARY[op][0], BINARY[op][1], [x, y], torch)


@pytest.mark.parametrize("scalar", [np.int64(3), np.int8(-2), np.float32(0.5), np.float64(0.5)], ids=repr)
def test_numpy_scalars_are_weak_python_scalars(scalar, torch):
    x = tl.tensor([1, 2, 3], dtype=tl.int16)
    check(lambda t: t + scalar, lambda t: t + scalar, [x], torch)
    check(lambda t: scalar * t, lambda t: scalar * t, [x], torch)


# --- float64 against Python's math module (independent of numpy's kernels) -------------------------------

F64_BINARY = {
    "add": operator.add, "sub": operator.sub, "mul": operator.mul, "div": operator.truediv,
    "atan2": math.atan2, "pow": math.pow, "fmod": math.fmod, "remainder": lambda a, b: a % b,
    "floor_divide": lambda a, b: a // b, "maximum": max, "minimum": min,
    "div_trunc": lambda a, b: float(math.trunc(a / b)), "div_floor": lambda a, b: float(math.floor(a / b)),
}


@pytest.mark.parametrize("op", list(F64_BINARY))
def test_binary_float64_against_math(op):
    x = sample("float64", (5, 6), "positive" if op == "pow" else "any", seed=4)
    y = sample("float64", (6,), "exponent" if op == "pow" else "any", seed=5)
    xs, ys = np.broadcast_arrays(to_numpy(x), to_numpy(y))
    expected = np.vectorize(F64_BINARY[op], otypes=[np.float64])(xs, ys)
    assert_close(BINARY[op][0](x, y), expected, rtol=1e-12, atol=1e-300)
