"""Integer edge cases of pointwise ops against torch (CPU): floor vs truncating division with every sign
combination and the extreme values, shifts by 0/width-1/width/beyond and by negative amounts, overflow
wrapping, integer powers with negative exponents, and uint8 with negative Python ints (wrapped into the dtype)
or with signed 0-d tensors.
"""
from __future__ import annotations

import operator

import numpy as np
import pytest

import torchlite as tl
from conftest import INT_NAMES, assert_close
from _pointwise_helpers import BINARY, OPERATORS, check

HERE = r"test_pointwise_integers\.py:\d+"


@pytest.mark.parametrize("dtype", ["int8", "int16", "int32", "int64"])
@pytest.mark.parametrize("op", ["floor_divide", "remainder", "fmod", "div_trunc", "div_floor", "div"])
def test_signed_integer_division_signs(op, dtype, torch):
    """Floor vs truncation with every sign combination, and the most negative value."""
    info = np.iinfo(dtype)
    a = np.array([7, -7, 7, -7, 6, -6, 0, 1, -1, info.min, info.max, info.min + 1], dtype=dtype)
    b = np.array([2, 2, -2, -2, 3, -3, 5, -3, 3, 3, -7, 2], dtype=dtype)
    check(BINARY[op][0], BINARY[op][1], [tl.tensor(a), tl.tensor(b)], torch)
    check(lambda x: BINARY[op][0](x, -3), lambda x: BINARY[op][1](x, -3), [tl.tensor(a)], torch)


@pytest.mark.parametrize("dtype", INT_NAMES)
@pytest.mark.parametrize("op", ["bitwise_left_shift", "bitwise_right_shift"])
def test_shift_edge_cases(op, dtype, torch):
    """Shifts by 0, by width-1, by the width and beyond, of negative values and the extremes."""
    info = np.iinfo(dtype)
    bits = np.dtype(dtype).itemsize * 8
    a = np.array([1, 3, info.max, info.min, -1 if info.min < 0 else 255, 5, 1, info.min, 7], dtype=dtype)
    s = np.array([0, 1, 1, 1, 1, bits - 1, bits, bits - 1, bits + 3], dtype=dtype if bits > 8 else "int16")
    if bits == 8:
        s = np.clip(s, 0, 127).astype(dtype)
    check(BINARY[op][0], BINARY[op][1], [tl.tensor(a), tl.tensor(s)], torch)
    sym = operator.lshift if op == "bitwise_left_shift" else operator.rshift
    for k in (0, 1, bits - 1, bits, 70):
        check(lambda x: sym(x, k), lambda x: sym(x, k), [tl.tensor(a)], torch)


def test_shift_by_negative_amount(torch):
    x = tl.tensor([-8, 5, 1, -1])
    for k in (-1, -70):
        check(lambda t: t << k, lambda t: t << k, [x], torch)
        check(lambda t: t >> k, lambda t: t >> k, [x], torch)


@pytest.mark.parametrize("dtype", ["uint8", "int8", "int16", "int32"])
def test_integer_overflow_wraps(dtype, torch):
    info = np.iinfo(dtype)
    x = tl.tensor(np.array([info.max, info.min, info.max - 1], dtype=dtype))
    check(lambda t: t + t, lambda t: t + t, [x], torch)
    check(lambda t: t * 3, lambda t: t * 3, [x], torch)
    if dtype != "uint8":
        check(lambda t: -t, lambda t: -t, [x], torch)
    check(lambda t: t.abs(), lambda t: t.abs(), [x], torch)


def test_integer_pow_by_negative_scalar_raises_at_op(torch):
    x = tl.tensor([1, 2, 3])
    with pytest.raises(RuntimeError, match="Integers to negative integer powers are not allowed") as info:
        torch.tensor([1, 2, 3]) ** -2
    with pytest.raises(RuntimeError, match=HERE):
        x ** -2
    with pytest.raises(RuntimeError, match="Integers to negative integer powers"):
        tl.pow(x, -1)
    assert_close(x ** -2.0, torch.tensor([1, 2, 3]) ** -2.0)      # a float exponent is fine
    assert info.value is not None


def test_integer_pow_by_negative_tensor_exponent(torch):
    base = tl.tensor([2, 3, -1, 1, -1, 0, 5])
    exp = tl.tensor([-1, -2, -3, -5, -4, 2, 0])
    check(tl.pow, torch.pow, [base, exp], torch)
    check(lambda e: 2 ** e, lambda e: 2 ** e, [exp], torch)


@pytest.mark.parametrize("sym, side", [
    (sym, side) for sym in ["+", "-", "*", "//", "%", "&", "|", "^", "**", "<", "<=", ">", ">=", "==", "!="]
    for side in ["left", "right"]])
def test_uint8_with_negative_python_int_wraps(sym, side, torch):
    """torch casts an out-of-range Python int into the tensor's dtype (wrapping): uint8 op -2 uses 254."""
    f = OPERATORS[sym]
    x = tl.tensor(np.array([0, 1, 5, 200, 254, 255], dtype=np.uint8))
    if sym == "**" and side == "left":
        check(lambda t: f(t, -2), lambda t: f(t, -2), [x], torch)   # raises in both
        return
    if sym in ("//", "%") and side == "right":
        x = tl.tensor(np.array([1, 5, 200, 254, 255], dtype=np.uint8))
    fn = (lambda t: f(t, -2)) if side == "left" else (lambda t: f(-2, t))
    check(fn, fn, [x], torch)


@pytest.mark.parametrize("op", ["add", "sub", "mul", "maximum", "remainder", "floor_divide", "fmod", "pow",
                                "bitwise_and", "div_trunc"])
@pytest.mark.parametrize("zero_d", ["int8", "int64"])
def test_uint8_with_signed_0d_tensor(op, zero_d, torch):
    x = tl.tensor(np.array([1, 2, 200, 255], dtype=np.uint8))
    z = tl.tensor(np.array(3 if op != "sub" else -3, dtype=zero_d))
    check(BINARY[op][0], BINARY[op][1], [x, z], torch)
