"""Registry cases of the pointwise ops: binary arithmetic, comparisons and logic, unary ops, casts, where, clamp.

At least one case per op, one of them with a zero-size variant (``_registry_harness`` says what a case
holds); the edge cases of these ops (special values, 0-d inputs, promotion) are in ``_registry_cases_edge``,
which reuses ``UNARY``, the table of unary ops.
"""
from __future__ import annotations

import math

import numpy as np
from scipy import special

from _registry_case_helpers import np_gelu_tanh, np_lerp, np_sign, np_softplus, np_trunc_div
from _registry_harness import FL, FLI, INTS, Case, F, Mask, V, case_adder

CASES: list[Case] = []
case = case_adder(CASES)


# pointwise: binary arithmetic ------------------------------------------------------------------------------

case("add", lambda m, x, y: x + y, F(3, 4), F(4), ref=np.add, dtypes=FLI + ("int32", "bool"),
     empty=(F(0, 4), F(4)))
case("add", lambda m, x, y: m.add(x, y, alpha=2), F(2, 3, 4), F(3, 1), ref=lambda x, y: x + 2 * y, tag="alpha")
case("add", lambda m, x: x + 1.5, F(3, 4), ref=lambda x: x + 1.5, dtypes=FLI + ("bool",), tag="scalar")
case("add", lambda m, x, y: x + y, F(), F(3), ref=np.add, dtypes=FLI, tag="0d")
case("sub", lambda m, x, y: x - y, F(3, 4), F(3, 1), ref=np.subtract, dtypes=FLI + ("uint8",),
     empty=(F(3, 0), F(3, 1)))
case("sub", lambda m, x: 2 - x, F(5), ref=lambda x: 2 - x, dtypes=FLI, tag="rsub")
case("sub", lambda m, x, y: m.sub(x, y, alpha=0.5), F(3, 4), F(3, 4), ref=lambda x, y: x - 0.5 * y, tag="alpha")
case("mul", lambda m, x, y: x * y, F(3, 4), F(4), ref=np.multiply, dtypes=FLI + ("int8", "bool"),
     empty=(F(0,), F(0,)))
case("mul", lambda m, x: x * 3, F(2, 3, 4), ref=lambda x: x * 3, dtypes=FLI, tag="scalar")
case("div", lambda m, x, y: x / y, F(3, 4), F(4, lo=0.5, hi=3, signed=True), ref=np.true_divide,
     dtypes=FLI, empty=(F(0, 4), F(4, lo=0.5, hi=3, signed=True)))
case("div", lambda m, x: x / 3, F(3, 4), ref=lambda x: x / 3, dtypes=FLI, tag="scalar")
case("maximum", lambda m, x, y: m.maximum(x, y), F(3, 4), F(3, 4), ref=np.maximum, dtypes=FLI,
     empty=(F(0, 4), F(4)))
case("maximum", lambda m, x, y: m.maximum(x, y), F(3, 4, special=True), F(4), ref=np.maximum, tag="nan")
case("minimum", lambda m, x, y: m.minimum(x, y), F(3, 4), F(3, 1), ref=np.minimum, dtypes=FLI,
     empty=(F(0, 4), F(4)))
case("minimum", lambda m, x, y: m.minimum(x, y), F(3, 4, special=True), F(4), ref=np.minimum, tag="nan")
case("fmod", lambda m, x, y: m.fmod(x, y), F(3, 4, lo=-5, hi=5), F(4, lo=0.5, hi=3, signed=True), ref=np.fmod,
     dtypes=FLI + ("int32",), empty=(F(0, 4), F(4, lo=1, hi=3)))
case("remainder", lambda m, x, y: x % y, F(3, 4, lo=-5, hi=5), F(4, lo=0.5, hi=3, signed=True), ref=np.remainder,
     dtypes=FLI + ("int32",), empty=(F(0, 4), F(4, lo=1, hi=3)))
case("remainder", lambda m, x: m.remainder(x, -1.5), F(3, 4, lo=-5, hi=5), ref=lambda x: np.remainder(x, -1.5),
     dtypes=FL, tag="scalar")
case("floor_divide", lambda m, x, y: x // y, F(3, 4, lo=-5, hi=5), F(4, lo=0.5, hi=3, signed=True),
     ref=np.floor_divide, dtypes=FLI + ("int32",), empty=(F(0, 4), F(4, lo=1, hi=3)))
case("floor_divide", lambda m, x, y: m.div(x, y, rounding_mode="floor"), F(3, 4, lo=-5, hi=5),
     F(3, 4, lo=0.5, hi=3, signed=True), ref=np.floor_divide, dtypes=FLI, tag="div")
case("div_trunc", lambda m, x, y: m.div(x, y, rounding_mode="trunc"), F(3, 4, lo=-5, hi=5),
     F(4, lo=0.5, hi=3, signed=True), ref=np_trunc_div, dtypes=FLI + ("int32",),
     empty=(F(0, 4), F(4, lo=1, hi=3)))
case("atan2", lambda m, x, y: m.atan2(x, y), F(3, 4), F(4, special=False), ref=np.arctan2, dtypes=FLI,
     empty=(F(0, 4), F(4)))
case("pow", lambda m, x, y: x ** y, F(3, 4, lo=0.1, hi=3), F(4), ref=np.power,
     empty=(F(0, 4, lo=0.1, hi=3), F(4)))
case("pow", lambda m, x, y: m.pow(x, y), F(3, 4, lo=-4, hi=4), F(3, 4, lo=0, hi=4), ref=np.power,
     dtypes=("int64", "int32"), tag="int")
case("pow", lambda m, x: x ** 2, F(3, 4), ref=lambda x: x ** 2, dtypes=FLI, tag="square")
case("pow", lambda m, x: m.pow(2.0, x), F(3, 4), ref=lambda x: 2.0 ** x, tag="scalar_base")
case("lerp", lambda m, x, y: m.lerp(x, y, 0.3), F(3, 4), F(4), ref=lambda x, y: np_lerp(x, y, 0.3),
     empty=(F(0, 4), F(4)))
case("lerp", lambda m, x, y, w: m.lerp(x, y, w), F(3, 4), F(3, 4), F(3, 4, lo=-0.5, hi=1.5), ref=np_lerp,
     tag="tensor_weight")

# pointwise: comparisons and logic ---------------------------------------------------------------------------

for _name, _np in (("eq", np.equal), ("ne", np.not_equal), ("lt", np.less), ("le", np.less_equal),
                   ("gt", np.greater), ("ge", np.greater_equal)):
    case(_name, (lambda n: lambda m, x, y: getattr(m, n)(x, y))(_name), F(3, 4, step=0.5), F(4, step=0.5),
         ref=_np, dtypes=FLI + ("bool",), empty=(F(0, 4), F(4)))
    case(_name, (lambda n: lambda m, x: getattr(x, n)(0.5))(_name), F(2, 3, 4, step=0.5),
         ref=(lambda f: lambda x: f(x, 0.5))(_np), dtypes=FLI, tag="scalar")
case("eq", lambda m, x, y: x == y, F(3, 4, special=True), F(3, 4, special=True), ref=np.equal, tag="nan")
case("lt", lambda m, x, y: x < y, F(3, 4), F(3, 4, dtype="int64", lo=-2, hi=3), ref=np.less, tag="mixed")
for _name, _np in (("logical_and", np.logical_and), ("logical_or", np.logical_or),
                   ("logical_xor", np.logical_xor)):
    case(_name, (lambda n: lambda m, x, y: getattr(m, n)(x, y))(_name), F(3, 4, step=1.0), F(4, step=1.0),
         ref=_np, dtypes=("bool",) + FLI, empty=(F(0, 4), F(4)))
case("logical_not", lambda m, x: m.logical_not(x), F(3, 4, step=1.0), ref=np.logical_not,
     dtypes=("bool",) + FLI, empty=(F(0, 4),))
case("logical_not", lambda m, x: ~x, F(3, 4), ref=np.logical_not, dtypes=("bool",), tag="invert")
for _name, _op, _np in (("bitwise_and", lambda x, y: x & y, np.bitwise_and),
                        ("bitwise_or", lambda x, y: x | y, np.bitwise_or),
                        ("bitwise_xor", lambda x, y: x ^ y, np.bitwise_xor)):
    case(_name, (lambda o: lambda m, x, y: o(x, y))(_op), F(3, 4, lo=-100, hi=100), F(4, lo=-100, hi=100),
         ref=_np, dtypes=INTS + ("bool",), empty=(F(0, 4), F(4)))
case("bitwise_and", lambda m, x: m.bitwise_and(x, 6), F(3, 4, lo=-100, hi=100), ref=lambda x: x & 6,
     dtypes=INTS, tag="scalar")
case("bitwise_not", lambda m, x: ~x, F(3, 4, lo=-100, hi=100), ref=np.invert, dtypes=INTS + ("bool",),
     empty=(F(0, 4),))
case("bitwise_left_shift", lambda m, x, y: x << y, F(3, 4, lo=-100, hi=100), F(4, lo=0, hi=5),
     ref=np.left_shift, dtypes=INTS, empty=(F(0, 4), F(4, lo=0, hi=5)))
case("bitwise_right_shift", lambda m, x, y: x >> y, F(3, 4, lo=-100, hi=100), F(4, lo=0, hi=5),
     ref=np.right_shift, dtypes=INTS, empty=(F(0, 4), F(4, lo=0, hi=5)))
case("bitwise_right_shift", lambda m, x: m.bitwise_right_shift(x, 2), F(3, 4, lo=-100, hi=100),
     ref=lambda x: x >> 2, dtypes=INTS, tag="scalar")

# pointwise: unary --------------------------------------------------------------------------------------------

UNARY = [
    # (op, public call, numpy ref, lo, hi, dtypes)
    ("exp", lambda m, x: x.exp(), np.exp, -3, 3, FLI),
    ("exp2", lambda m, x: m.exp2(x), np.exp2, -3, 3, FLI),
    ("expm1", lambda m, x: m.expm1(x), np.expm1, -2, 2, FL),
    ("log", lambda m, x: m.log(x), np.log, 0.05, 5, FLI[:2] + ("int64",)),
    ("log2", lambda m, x: x.log2(), np.log2, 0.05, 5, FL),
    ("log10", lambda m, x: m.log10(x), np.log10, 0.05, 5, FL),
    ("log1p", lambda m, x: m.log1p(x), np.log1p, -0.9, 3, FL),
    ("sqrt", lambda m, x: m.sqrt(x), np.sqrt, 0, 5, FLI),
    ("rsqrt", lambda m, x: m.rsqrt(x), lambda x: 1 / np.sqrt(x), 0.1, 5, FL),
    ("sin", lambda m, x: m.sin(x), np.sin, -3, 3, FLI),
    ("cos", lambda m, x: x.cos(), np.cos, -3, 3, FL),
    ("tan", lambda m, x: m.tan(x), np.tan, -1.2, 1.2, FL),
    ("tanh", lambda m, x: m.tanh(x), np.tanh, -3, 3, FL),
    ("asin", lambda m, x: m.asin(x), np.arcsin, -0.99, 0.99, FL),
    ("acos", lambda m, x: m.acos(x), np.arccos, -0.99, 0.99, FL),
    ("atan", lambda m, x: m.atan(x), np.arctan, -3, 3, FL),
    ("sinh", lambda m, x: m.sinh(x), np.sinh, -3, 3, FL),
    ("cosh", lambda m, x: m.cosh(x), np.cosh, -3, 3, FL),
    ("sigmoid", lambda m, x: m.sigmoid(x), special.expit, -5, 5, FLI),
    ("erf", lambda m, x: m.erf(x), special.erf, -2.5, 2.5, FL),
    ("erfc", lambda m, x: m.erfc(x), special.erfc, -2.5, 2.5, FL),
    ("reciprocal", lambda m, x: m.reciprocal(x), lambda x: 1 / x, 0.2, 3, FL),
    ("silu", lambda m, x: m.nn.functional.silu(x), lambda x: x * special.expit(x), -4, 4, FL),
    ("relu", lambda m, x: m.relu(x), lambda x: np.maximum(x, 0), -2, 2, FLI + ("int8",)),
    ("neg", lambda m, x: -x, np.negative, -2, 2, FLI + ("int8",)),
    ("abs", lambda m, x: m.abs(x), np.abs, -2, 2, FLI + ("int16",)),
    ("sign", lambda m, x: m.sign(x), np_sign, -2, 2, FLI),
    ("floor", lambda m, x: x.floor(), np.floor, -3, 3, FLI),
    ("ceil", lambda m, x: m.ceil(x), np.ceil, -3, 3, FLI),
    ("trunc", lambda m, x: m.trunc(x), np.trunc, -3, 3, FLI),
    ("round", lambda m, x: m.round(x), np.round, -3, 3, FLI),
]
for _name, _fn, _ref, _lo, _hi, _dts in UNARY:
    case(_name, _fn, F(3, 4, lo=_lo, hi=_hi), ref=_ref, dtypes=_dts, empty=(F(0, 3, lo=_lo, hi=_hi),))
case("exp", lambda m, x: m.exp(x), F(2, 3, 4), ref=np.exp, tag="3d")
case("exp", lambda m, x: m.exp(x), F(), ref=np.exp, tag="0d")
case("sign", lambda m, x: m.sign(x), F(3, 4, special=True), ref=np_sign, tag="special")
case("sign", lambda m, x: m.sign(x), F(3, 4, lo=-2, hi=3), ref=np.sign, dtypes=("int64",), tag="int")
case("sign", lambda m, x: m.sign(x), F(3, 4), ref=lambda x: x.copy(), dtypes=("bool",), tag="bool")
case("round", lambda m, x: m.round(x), V([[0.5, 1.5, 2.5, -0.5], [-1.5, -2.5, 3.5, 0.49999999999999994]]),
     ref=np.round, tag="halves")
case("round", lambda m, x: m.round(x, decimals=2), F(3, 4, lo=-3, hi=3), ref=lambda x: np.round(x, 2),
     tag="decimals")
case("softplus", lambda m, x: m.nn.functional.softplus(x), F(3, 4, lo=-5, hi=25), ref=np_softplus,
     empty=(F(0, 3),))
case("softplus", lambda m, x: m.nn.functional.softplus(x, beta=2.0, threshold=3.0), F(3, 4, lo=-3, hi=3),
     ref=lambda x: np_softplus(x, 2.0, 3.0), tag="beta")
case("gelu", lambda m, x: m.nn.functional.gelu(x), F(3, 4, lo=-4, hi=4),
     ref=lambda x: 0.5 * x * (1 + special.erf(x / math.sqrt(2))), empty=(F(0, 3),))
case("gelu", lambda m, x: m.nn.functional.gelu(x, approximate="tanh"), F(3, 4, lo=-3, hi=3), ref=np_gelu_tanh,
     tag="tanh")
for _name, _np in (("isnan", np.isnan), ("isinf", np.isinf), ("isfinite", np.isfinite), ("signbit", np.signbit)):
    case(_name, (lambda n: lambda m, x: getattr(m, n)(x))(_name), F(3, 4, special=True), ref=_np,
         dtypes=FLI, empty=(F(0, 3),))
case("nan_to_num", lambda m, x: m.nan_to_num(x), F(3, 4, special=True), ref=np.nan_to_num, empty=(F(0, 3),))
case("nan_to_num", lambda m, x: x.nan_to_num(nan=1.0, posinf=2.0, neginf=-3.0), F(3, 4, special=True),
     ref=lambda x: np.nan_to_num(x, nan=1.0, posinf=2.0, neginf=-3.0), tag="values")
case("nan_to_num", lambda m, x: m.nan_to_num(x), F(3, 4, lo=-100, hi=100), ref=lambda x: x,
     dtypes=("int64", "int32"), tag="int")
case("cast", lambda m, x: x.to(m.int32), F(3, 4, lo=-5, hi=5), ref=lambda x: x.astype(np.int32),
     dtypes=FL + ("int64",), empty=(F(0, 3),))
case("cast", lambda m, x: x.bool(), F(3, 4, step=1.0), ref=lambda x: x.astype(bool), dtypes=FLI, tag="bool")
case("cast", lambda m, x: x.double(), F(3, 4, lo=-5, hi=5), ref=lambda x: x.astype(np.float64),
     dtypes=("float32", "int64", "bool", "uint8"), tag="double")
case("cast", lambda m, x: x.float(), F(3, 4), ref=lambda x: x.astype(np.float32), dtypes=("float64", "int64"),
     tag="float")
case("where", lambda m, c, x, y: m.where(c, x, y), Mask(3, 4), F(3, 4), F(4), ref=np.where, dtypes=FLI,
     empty=(Mask(0, 4), F(0, 4), F(4)))
case("where", lambda m, x: m.where(x > 0, x, 0.0), F(2, 3, 4), ref=lambda x: np.where(x > 0, x, 0.0),
     dtypes=FLI, tag="scalar")
case("where", lambda m, c, x: x.masked_fill(c, -1.5), Mask(4), F(3, 4), ref=lambda c, x: np.where(c, -1.5, x),
     tag="masked_fill")
case("clamp", lambda m, x: m.clamp(x, -0.5, 0.5), F(3, 4), ref=lambda x: np.clip(x, -0.5, 0.5), dtypes=FL,
     empty=(F(0, 3),))
case("clamp", lambda m, x: x.clamp(min=0.25), F(3, 4), ref=lambda x: np.maximum(x, 0.25), tag="min")
case("clamp", lambda m, x, lo, hi: m.clamp(x, lo, hi), F(3, 4, lo=-3, hi=3), F(4, lo=-2, hi=-0.5),
     F(3, 4, lo=0.5, hi=2), ref=lambda x, lo, hi: np.minimum(np.maximum(x, lo), hi), tag="tensor")
case("clamp", lambda m, x: m.clamp(x, -1, 1), F(3, 4, lo=-3, hi=3), ref=lambda x: np.clip(x, -1, 1),
     dtypes=("int64", "int8"), tag="int")
case("clamp", lambda m, x: m.clamp(x, max=0.5), F(3, 4, special=True), ref=lambda x: np.minimum(x, 0.5),
     tag="nan")
