"""Differential tests of torchlite/ops/pointwise.py against torch (CPU), and of float64 results against
Python's ``math`` module (an oracle independent of the numpy kernels) at rtol 1e-12.

Every pointwise function, Tensor method, operator (plain, reflected and in-place) and in-place method is
checked over every dtype, with torch's result dtype required exactly and, where torch raises, the same
exception type raised by torchlite *when the op is built* (not at realize), naming this file.

Beyond the dtype sweeps: weak promotion of Python (and numpy) scalars on either side of every operator, add/sub
alpha, nan/inf/-0.0 special values, broadcasting with 0-d and empty tensors, non-contiguous inputs, integer
edge cases (division signs, shifts past the width, overflow wrapping, out-of-range scalars wrapped into uint8),
where/clamp/lerp/nan_to_num/round/gelu/softplus options, isclose/allclose/equal, every cast pair, in-place
methods and operators (result cast back to self's dtype, writes through views, errors leave self unchanged),
aliases and exports, and laziness (errors at the op, no stale cached programs, inputs never mutated).

The large sweeps run many cases per test item (``grouped`` + ``run_all``), which keeps the file fast while a
failure still lists every failing case.
"""
from __future__ import annotations

import inspect
import math
import operator
import zlib

import ml_dtypes
import numpy as np
import pytest

import torchlite as tl
from torchlite.ops import pointwise as pw
from conftest import DTYPE_NAMES, FLOAT_NAMES, INT_NAMES, assert_close, to_numpy, to_torch

HERE = r"test_pointwise\.py:\d+"


def grouped(cases, group_of):
    """pytest params for a sweep: one test item per ``group_of(*case)``, holding every case of that group."""
    groups: dict = {}
    for c in cases:
        groups.setdefault(group_of(*c), []).append(c)
    return [pytest.param(tuple(cs), id=str(g)) for g, cs in groups.items()]


def run_all(cases, fn):
    """fn(*case) for every case; fails once, listing every failing case."""
    failures = []
    for c in cases:
        try:
            fn(*c)
        except (Exception, pytest.fail.Exception) as e:  # noqa: BLE001
            failures.append(f"{c!r}: {type(e).__name__}: {str(e).strip()[:800]}")
    if failures:
        pytest.fail(f"{len(failures)} of {len(cases)} cases failed:\n" + "\n".join(failures), pytrace=False)


# --- inputs ----------------------------------------------------------------------------------------------

def sample(dtype: str, shape=(3, 4), domain: str = "any", seed: int = 0) -> tl.Tensor:
    """Deterministic values of ``dtype`` (a name). Domains: any, divisor (no zeros), exponent (ints >= 0),
    shift (0..7), positive, unit (|x| < 1 mostly)."""
    r = np.random.default_rng(zlib.crc32(repr((dtype, shape, domain, seed)).encode()))
    if dtype == "bool":
        a = np.ones(shape, bool) if domain == "divisor" else r.random(shape) < 0.5
    elif dtype in INT_NAMES:
        lo, hi = {"any": (-9, 10), "divisor": (1, 10), "exponent": (0, 4), "shift": (0, 8),
                  "positive": (1, 10), "unit": (-1, 2)}[domain]
        a = r.integers(lo, hi, shape)
        if domain == "divisor":
            a = a * r.choice([-1, 1], shape)
        if dtype == "uint8":
            a = np.abs(a)
        a = a.astype(dtype)
    else:
        scale = {"any": 3.0, "divisor": 3.0, "exponent": 1.5, "shift": 3.0, "positive": 3.0, "unit": 0.6}[domain]
        a = r.standard_normal(shape) * scale
        if domain == "positive":
            a = np.abs(a) + 0.1
        a = a.astype(np.float32 if dtype == "bfloat16" else dtype)
        if dtype == "bfloat16":
            a = a.astype(ml_dtypes.bfloat16)
    return tl.tensor(a)


SPECIALS = [float("nan"), float("inf"), -float("inf"), -0.0, 0.0, 1.0, -1.0, 0.5, -2.5, 3.0, 1e-30, 1e-5,
            88.0, -88.0, 1e4, -1e4]


def every_other_column(x: tl.Tensor) -> tl.Tensor:
    """``x[:, ::2]``; falls back to the basic-indexing op while torchlite.ops.indexing is not there yet."""
    try:
        return x[:, ::2]
    except ModuleNotFoundError:
        from torchlite.ops.movement import basic_getitem
        return basic_getitem(x, (slice(None), slice(None, None, 2)))


def check(tl_fn, torch_fn, args, torch, *, rtol=None, atol=None, kwargs=None):
    """torch_fn(*torch args) and tl_fn(*args) agree: same values, shape and dtype, or both raise the same
    exception type, torchlite's at build time and naming this file. Returns torchlite's result or None."""
    kwargs = kwargs or {}
    targs = [to_torch(a) if isinstance(a, tl.Tensor) else a for a in args]
    try:
        expected = torch_fn(*targs, **kwargs)
    except Exception as e:  # noqa: BLE001 - any torch error must be mirrored
        with pytest.raises(type(e)) as info:
            tl_fn(*args, **kwargs)          # building the op must raise: no realize here
        assert "test_pointwise.py:" in str(info.value), str(info.value)
        return None
    got = tl_fn(*args, **kwargs)
    assert_close(got, expected, rtol, atol)
    return got


# --- op tables -------------------------------------------------------------------------------------------

def _torch(name):
    def f(*a, **k):
        import torch
        return getattr(torch, name)(*a, **k)
    return f


def _torch_f(name):
    def f(*a, **k):
        import torch.nn.functional as F
        return getattr(F, name)(*a, **k)
    return f


def _div_mode(lib, mode):
    def f(a, b):
        return lib().div(a, b, rounding_mode=mode)
    return f


def _tl():
    return tl


def _torch_mod():
    import torch
    return torch


BINARY = {name: (getattr(tl, name), _torch(name)) for name in [
    "add", "sub", "rsub", "mul", "div", "floor_divide", "remainder", "fmod", "pow", "float_power", "maximum",
    "minimum", "atan2", "eq", "ne", "lt", "le", "gt", "ge", "logical_and", "logical_or", "logical_xor",
    "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_left_shift", "bitwise_right_shift"]}
BINARY["div_trunc"] = (_div_mode(_tl, "trunc"), _div_mode(_torch_mod, "trunc"))
BINARY["div_floor"] = (_div_mode(_tl, "floor"), _div_mode(_torch_mod, "floor"))


def _f32_reference(torch_fn):
    """torch_fn, but float16/bfloat16 results computed in float32 and rounded once (the torchlite rule).

    torch's vectorized low-precision rounding divisions round the quotient to the dtype *before* truncating
    (trunc(-9 / 0.8203125) is -10 in its scalar path and -11 in its vectorized one), so torch disagrees with
    itself there; the float32 computation is the well-defined reference."""
    def f(*args):
        import torch
        r = torch_fn(*args)
        if r.dtype not in (torch.float16, torch.bfloat16):
            return r
        up = [a.float() if isinstance(a, torch.Tensor) and a.is_floating_point() else a for a in args]
        return torch_fn(*up).to(r.dtype)
    return f


for _op in ("div_trunc", "div_floor", "floor_divide", "remainder", "fmod"):
    BINARY[_op] = (BINARY[_op][0], _f32_reference(BINARY[_op][1]))

RHS_DOMAIN = {"div": "divisor", "floor_divide": "divisor", "remainder": "divisor", "fmod": "divisor",
              "div_trunc": "divisor", "div_floor": "divisor", "pow": "exponent", "float_power": "exponent",
              "bitwise_left_shift": "shift", "bitwise_right_shift": "shift"}


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


# Operators, plain and reflected, with a Python scalar of each kind on each side.
OPERATORS = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
             "//": operator.floordiv, "%": operator.mod, "**": operator.pow, "&": operator.and_,
             "|": operator.or_, "^": operator.xor, "<<": operator.lshift, ">>": operator.rshift,
             "==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt,
             ">=": operator.ge}
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
    "fmod": (tl.fmod, _torch("fmod")),
    "div_trunc": BINARY["div_trunc"],
    "div_floor": BINARY["div_floor"],
    "float_power": (tl.float_power, _torch("float_power")),
    "add_alpha": (lambda a, b: tl.add(a, b, alpha=2), lambda a, b: _torch_mod().add(a, b, alpha=2)),
    "sub_alpha": (lambda a, b: tl.sub(a, b, alpha=2), lambda a, b: _torch_mod().sub(a, b, alpha=2)),
    "remainder": (tl.remainder, _torch("remainder")),
    "bitwise_and": (tl.bitwise_and, _torch("bitwise_and")),
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


# --- unary -----------------------------------------------------------------------------------------------

UNARY = {name: (getattr(tl, name), _torch(name)) for name in [
    "neg", "negative", "abs", "absolute", "sign", "floor", "ceil", "trunc", "fix", "bitwise_not", "logical_not",
    "isnan", "isinf", "isfinite", "signbit", "exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "sqrt",
    "rsqrt", "sin", "cos", "tan", "tanh", "asin", "acos", "atan", "arcsin", "arccos", "arctan", "sinh", "cosh",
    "sigmoid", "erf", "erfc", "reciprocal", "relu", "square", "round"]}
UNARY["silu"] = (tl.silu, _torch_f("silu"))
UNARY["gelu"] = (tl.gelu, _torch_f("gelu"))
UNARY["gelu_tanh"] = (lambda x: tl.gelu(x, approximate="tanh"), lambda x: _torch_f("gelu")(x, approximate="tanh"))
UNARY["softplus"] = (tl.softplus, _torch_f("softplus"))
UNARY["softplus_beta"] = (lambda x: tl.softplus(x, beta=2.0, threshold=1.5),
                          lambda x: _torch_f("softplus")(x, beta=2.0, threshold=1.5))
UNARY["round_decimals"] = (lambda x: tl.round(x, decimals=2), lambda x: _torch_mod().round(x, decimals=2))
UNARY["round_neg_decimals"] = (lambda x: tl.round(x, decimals=-1), lambda x: _torch_mod().round(x, decimals=-1))
UNARY["nan_to_num"] = (tl.nan_to_num, _torch("nan_to_num"))
UNARY["clamp_min"] = (lambda x: tl.clamp_min(x, 1), lambda x: _torch_mod().clamp_min(x, 1))
UNARY["clamp_max"] = (lambda x: tl.clamp_max(x, 1), lambda x: _torch_mod().clamp_max(x, 1))
UNARY["clip"] = (lambda x: tl.clip(x, -1, 2.5), lambda x: _torch_mod().clip(x, -1, 2.5))
UNARY["abs_builtin"] = (abs, abs)
UNARY["neg_operator"] = (operator.neg, operator.neg)
UNARY["invert_operator"] = (operator.invert, operator.invert)
UNARY["pos_operator"] = (operator.pos, operator.pos)


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


@pytest.mark.parametrize("dtype", FLOAT_NAMES)
def test_signbit_of_negative_zero_and_infinities(dtype, torch):
    x = tl.tensor([-0.0, 0.0, -float("inf"), float("inf"), -1.0, 1e-30], dtype=getattr(tl, dtype))
    check(tl.signbit, torch.signbit, [x], torch)


def test_relu_of_negative_zero_is_zero():
    assert to_numpy(tl.relu(tl.tensor([-0.0, -1.0, 2.0]))).tolist() == [0.0, 0.0, 2.0]


# --- float64 against Python's math module (independent of numpy's kernels) -------------------------------

def _sigmoid(v):
    return 1.0 / (1.0 + math.exp(-v)) if v >= 0 else math.exp(v) / (1.0 + math.exp(v))


def _softplus(v, beta=1.0, threshold=20.0):
    return v if v * beta > threshold else math.log1p(math.exp(v * beta)) / beta


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
    "gelu_tanh": _gelu_tanh, "softplus": _softplus,
    "softplus_beta": lambda v: _softplus(v, 2.0, 1.5), "relu": lambda v: max(v, 0.0), "square": lambda v: v * v,
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


def test_lerp_float64_against_math():
    s, e = sample("float64", (4, 5), seed=6), sample("float64", (4, 5), seed=7)
    w = sample("float64", (5,), "unit", seed=8) + 0.5
    ss, es, ws = np.broadcast_arrays(to_numpy(s), to_numpy(e), to_numpy(w))

    def ref(a, b, t):
        return a + t * (b - a) if abs(t) < 0.5 else b - (b - a) * (1 - t)
    assert_close(tl.lerp(s, e, w), np.vectorize(ref)(ss, es, ws), rtol=1e-12, atol=1e-15)
    assert_close(tl.lerp(s, e, 0.25), np.vectorize(ref)(ss, es, 0.25), rtol=1e-12, atol=1e-15)


# --- layouts: broadcasting, 0-d, empty, non-contiguous ---------------------------------------------------

SHAPE_PAIRS = [((), ()), ((3, 4), ()), ((), (2, 3)), ((3, 1), (1, 4)), ((2, 1, 3), (4, 1)), ((4,), (2, 3, 4)),
               ((0,), ()), ((0, 4), (1, 4)), ((3, 0), (3, 1)), ((2, 0, 3), (0, 1)), ((1,), (0,))]


@pytest.mark.parametrize("shapes", SHAPE_PAIRS, ids=str)
@pytest.mark.parametrize("op", ["add", "mul", "div", "pow", "atan2", "lt", "maximum", "bitwise_xor", "remainder"])
def test_broadcasting_0d_and_empty(op, shapes, torch):
    da, db = ("int32", "int64") if op == "bitwise_xor" else ("float32", "float64")
    x = sample(da, shapes[0])
    y = sample(db, shapes[1], RHS_DOMAIN.get(op, "any"))
    check(BINARY[op][0], BINARY[op][1], [x, y], torch)


@pytest.mark.parametrize("a, b", [((3,), (4,)), ((2, 3), (3, 2)), ((0,), (2,)), ((2, 3, 4), (3, 3, 4)),
                                  ((5, 2, 3), (3, 1))], ids=str)
def test_broadcast_mismatch_raises_at_op_naming_this_file(a, b, torch):
    with pytest.raises(RuntimeError) as expected:
        torch.ones(a) + torch.ones(b)
    line = inspect.currentframe().f_lineno + 2
    with pytest.raises(RuntimeError) as info:
        tl.ones(a) + tl.ones(b)
    msg = str(info.value)
    assert f"test_pointwise.py:{line}" in msg
    assert str(expected.value) in msg


def _layouts():
    base = sample("float32", (4, 6), seed=9)
    return {
        "transposed": (lambda: base.t(), lambda: to_torch(base).t()),
        "strided": (lambda: every_other_column(base), lambda: to_torch(base)[:, ::2]),
        "numpy_view": (lambda: tl.from_numpy(to_numpy(base)[::2, 1::2]), lambda: to_torch(base)[::2, 1::2]),
        "expanded": (lambda: tl.tensor(to_numpy(base)[0]).expand(3, 6), lambda: to_torch(base)[0].expand(3, 6)),
        "0d": (lambda: tl.tensor(float(to_numpy(base)[1, 2])), lambda: to_torch(base)[1, 2].clone()),
        "empty": (lambda: tl.ones(0, 3), lambda: torch_ones(0, 3)),
    }


def torch_ones(*s):
    return _torch_mod().ones(*s)


@pytest.mark.parametrize("layout", ["transposed", "strided", "numpy_view", "expanded", "0d", "empty"])
@pytest.mark.parametrize("op", ["exp", "abs", "sigmoid", "gelu", "floor", "isnan", "square", "neg", "relu", "round"])
def test_unary_on_non_contiguous_0d_and_empty(op, layout, torch):
    tl_x, torch_x = _layouts()[layout]
    x, tx = tl_x(), torch_x()
    assert_close(UNARY[op][0](x), UNARY[op][1](tx))


@pytest.mark.parametrize("layout", ["transposed", "strided", "numpy_view", "expanded"])
@pytest.mark.parametrize("op", ["add", "sub", "mul", "div", "pow", "atan2", "ge", "minimum", "floor_divide"])
def test_binary_on_non_contiguous(op, layout, torch):
    tl_x, torch_x = _layouts()[layout]
    x, tx = tl_x(), torch_x()
    y = sample("float32", tuple(x.shape), seed=10)
    if op == "pow":
        x, tx = x.abs(), tx.abs()
    assert_close(BINARY[op][0](x, y), BINARY[op][1](tx, to_torch(y)))
    assert_close(BINARY[op][0](y, x), BINARY[op][1](to_torch(y), tx))
    assert_close(BINARY[op][0](x, x), BINARY[op][1](tx, tx))


# --- integer edge cases -----------------------------------------------------------------------------------

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


# --- where, clamp, lerp, nan_to_num, round, div modes, gelu, softplus ------------------------------------

@pytest.mark.parametrize("a, b", [
    pytest.param(a, b, id=f"{a}-{b}")
    for a in ["bool", "uint8", "int32", "float16", "bfloat16", "float64", 1.5, 2, True]
    for b in ["int8", "int64", "float32", "bfloat16", 0.5, 3, False]])
def test_where_matches_torch(a, b, torch):
    c = tl.tensor(np.array([[True], [False], [True]]))
    x = sample(a, (1, 4)) if isinstance(a, str) else a
    y = sample(b, (3, 4), seed=1) if isinstance(b, str) else b
    check(tl.where, torch.where, [c, x, y], torch)


def test_where_method_takes_condition_first(torch):
    c = tl.tensor([True, False, True])
    x, y = sample("float32", (3,)), sample("float32", (3,), seed=1)
    check(lambda cc, xx, yy: xx.where(cc, yy), lambda cc, xx, yy: xx.where(cc, yy), [c, x, y], torch)


def test_where_0d_and_empty(torch):
    check(tl.where, torch.where, [tl.tensor(True), sample("float32", (2, 3)), tl.tensor(1.0)], torch)
    check(tl.where, torch.where, [tl.ones(0, 3, dtype=tl.bool), sample("int64", (3,)), 0.5], torch)


@pytest.mark.parametrize("cond", ["float32", "int64"])   # (uint8 works in torch, deprecated)
def test_where_non_bool_condition_raises(cond, torch):
    check(tl.where, torch.where, [sample(cond, (3,)), sample("float32", (3,)), 0.0], torch)
    with pytest.raises(RuntimeError, match=r"where expected condition to be a boolean tensor.*" + HERE):
        tl.where(sample(cond, (3,)), sample("float32", (3,)), 0.0)


@pytest.mark.parametrize("a, b", [(1.0, 0.0), (1, 2), (True, 0.5)])
def test_where_with_two_scalars(a, b, torch):
    check(tl.where, torch.where, [tl.tensor([True, False, True]), a, b], torch)


CLAMP_BOUNDS = [(-1, 2), (0.5, None), (None, 1), (None, 2.5), (-1.5, 1.5), (2, 1), (float("nan"), None),
                ("t", None), (None, "t"), ("t", "t"), ("0d", None), ("0d", "0d")]


@pytest.mark.parametrize("dtype, lo, hi", [
    pytest.param(d, lo, hi, id=f"{d}-{lo}-{hi}")
    for d in DTYPE_NAMES for lo, hi in CLAMP_BOUNDS])
def test_clamp_matches_torch(dtype, lo, hi, torch):
    """Number, tensor, 0-d tensor and None bounds (promotion over all three); method and in-place too."""
    x = sample(dtype, (3, 4))

    def bound(v, seed):
        if v == "t":
            return sample(dtype, (4,), seed=seed)
        if v == "0d":
            return tl.tensor(np.array(2 if seed == 2 else -1 if dtype != "uint8" else 1, dtype=np.int64))
        return v
    args = [x, bound(lo, 1), bound(hi, 2)]
    got = check(tl.clamp, torch.clamp, args, torch)
    if got is not None:
        check(lambda a, b, c: a.clamp(b, c), lambda a, b, c: a.clamp(b, c), args, torch)
        check(lambda a, b, c: a.clip(min=b, max=c), lambda a, b, c: a.clip(min=b, max=c), args, torch)


def test_clamp_without_bounds_raises(torch):
    check(tl.clamp, torch.clamp, [tl.ones(3)], torch)
    with pytest.raises(RuntimeError, match="At least one of 'min' or 'max' must not be None.*" + HERE):
        tl.clamp(tl.ones(3))


@pytest.mark.parametrize("dtype", FLOAT_NAMES)
def test_lerp_matches_torch(dtype, torch):
    s, e = sample(dtype, (3, 4)), sample(dtype, (4,), seed=1)
    for w in (0.0, 0.3, 0.5, 0.75, 1.0, -0.5, 2.0, 1):
        check(tl.lerp, torch.lerp, [s, e, w], torch)
    check(tl.lerp, torch.lerp, [s, e, sample(dtype, (3, 1), "unit", seed=2)], torch)     # tensor weight
    check(tl.lerp, torch.lerp, [s, e, tl.tensor(0.25, dtype=getattr(tl, dtype))], torch)  # 0-d weight
    check(lambda a, b: a.lerp(b, 0.4), lambda a, b: a.lerp(b, 0.4), [s, e], torch)


@pytest.mark.parametrize("dtype", ["bool", "uint8", "int32", "int64"])
def test_lerp_of_integers_raises(dtype, torch):
    check(tl.lerp, torch.lerp, [sample(dtype, (3,)), sample(dtype, (3,)), 0.5], torch)


def test_lerp_end_dtype_mismatch_raises(torch):
    check(tl.lerp, torch.lerp, [sample("float32", (3,)), sample("float64", (3,)), 0.5], torch)
    with pytest.raises(RuntimeError, match="expected dtype float for `end` but got dtype double.*" + HERE):
        tl.lerp(sample("float32", (3,)), sample("float64", (3,)), 0.5)


def test_lerp_weight_dtype_mismatch_raises(torch):
    check(tl.lerp, torch.lerp, [sample("float32", (3,)), sample("float32", (3,)), sample("float64", (3,))], torch)


@pytest.mark.parametrize("dtype", DTYPE_NAMES)
@pytest.mark.parametrize("kw", [{}, {"nan": 1.5}, {"nan": 0.0, "posinf": 7.0}, {"neginf": -3.0},
                                {"nan": -1.0, "posinf": 1e3, "neginf": -1e3}], ids=str)
def test_nan_to_num_matches_torch(dtype, kw, torch):
    if dtype in FLOAT_NAMES:
        x = tl.tensor(SPECIALS + [1e38, -1e38], dtype=getattr(tl, dtype)) if dtype != "float16" else \
            tl.tensor(SPECIALS, dtype=tl.float16)
    else:
        x = sample(dtype, (5,))
    check(lambda t: tl.nan_to_num(t, **kw), lambda t: torch.nan_to_num(t, **kw), [x], torch)
    check(lambda t: t.nan_to_num(**kw), lambda t: t.nan_to_num(**kw), [x], torch)


@pytest.mark.parametrize("dtype", FLOAT_NAMES)
@pytest.mark.parametrize("decimals", [0, 1, 2, 3, -1, -2])
def test_round_decimals_matches_torch(dtype, decimals, torch):
    halves = [0.5, 1.5, 2.5, -0.5, -1.5, 0.125, 0.375, 1.25, 15.0, 25.0, 35.0, -25.0, 0.0, -0.0]
    x = tl.tensor(halves, dtype=getattr(tl, dtype))
    check(lambda t: tl.round(t, decimals=decimals), lambda t: torch.round(t, decimals=decimals), [x], torch)
    y = sample(dtype, (3, 4)) * 7.0
    check(lambda t: tl.round(t, decimals=decimals), lambda t: torch.round(t, decimals=decimals), [y], torch)
    check(lambda t: t.round(decimals=decimals), lambda t: t.round(decimals=decimals), [y], torch)


def test_div_bad_rounding_mode_raises_runtime_error(torch):
    check(lambda a, b: tl.div(a, b, rounding_mode="round"),
          lambda a, b: torch.div(a, b, rounding_mode="round"), [tl.ones(2), tl.ones(2)], torch)


def test_div_bad_rounding_mode_raises_at_op():
    with pytest.raises(RuntimeError, match="rounding_mode.*'round'.*" + HERE):
        tl.div(tl.ones(2), 2, rounding_mode="round")


def test_gelu_bad_approximate_raises_runtime_error(torch):
    check(lambda a: tl.gelu(a, approximate="fast"),
          lambda a: torch.nn.functional.gelu(a, approximate="fast"), [tl.ones(2)], torch)


def test_gelu_bad_approximate_raises_at_op():
    with pytest.raises(RuntimeError, match="approximate.*" + HERE):
        tl.gelu(tl.ones(2), approximate="fast")


@pytest.mark.parametrize("dtype", FLOAT_NAMES)
@pytest.mark.parametrize("beta, threshold", [(1.0, 20.0), (2.0, 1.0), (0.5, 3.0), (1.0, 0.0), (10.0, 5.0),
                                             (-1.0, 20.0)])
def test_softplus_beta_threshold_matches_torch(dtype, beta, threshold, torch):
    x = tl.tensor([-30.0, -3.0, -0.5, 0.0, 0.1, 0.5, 1.0, 2.0, 4.0, 30.0], dtype=getattr(tl, dtype))
    check(lambda t: tl.softplus(t, beta, threshold),
          lambda t: torch.nn.functional.softplus(t, beta, threshold), [x], torch)


@pytest.mark.parametrize("dtype", FLOAT_NAMES)
@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_matches_torch(dtype, approximate, torch):
    x = tl.tensor(np.linspace(-8, 8, 33), dtype=getattr(tl, dtype))
    check(lambda t: tl.gelu(t, approximate), lambda t: torch.nn.functional.gelu(t, approximate=approximate),
          [x], torch)


# --- isclose / allclose / equal --------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPE_NAMES)
@pytest.mark.parametrize("kw", [{}, {"rtol": 0.1, "atol": 0.0}, {"rtol": 0.0, "atol": 0.5}, {"equal_nan": True}],
                         ids=str)
def test_isclose_matches_torch(dtype, kw, torch):
    if dtype in FLOAT_NAMES:
        a = tl.tensor([1.0, 1.0, float("nan"), float("inf"), 2.0, -float("inf"), 0.0, 100.0, 1e-9],
                      dtype=getattr(tl, dtype))
        b = tl.tensor([1.0, 1.05, float("nan"), float("inf"), float("nan"), -float("inf"), 1e-9, 100.5, 0.0],
                      dtype=getattr(tl, dtype))
    else:
        a, b = sample(dtype, (9,)), sample(dtype, (9,), seed=1)
    check(lambda x, y: tl.isclose(x, y, **kw), lambda x, y: torch.isclose(x, y, **kw), [a, b], torch)
    check(lambda x, y: x.isclose(y, **kw), lambda x, y: x.isclose(y, **kw), [a, b], torch)
    check(lambda x, y: tl.isclose(x, y, **kw), lambda x, y: torch.isclose(x, y, **kw),
          [a.reshape(3, 3), tl.tensor(to_numpy(b).reshape(3, 3)[0])], torch)      # broadcasting


@pytest.mark.parametrize("dtype", FLOAT_NAMES)
def test_isclose_of_infinities(dtype, torch):
    a = tl.tensor([float("inf"), 1.0, -float("inf"), float("inf")], dtype=getattr(tl, dtype))
    b = tl.tensor([-float("inf"), float("inf"), 1.0, float("inf")], dtype=getattr(tl, dtype))
    check(tl.isclose, torch.isclose, [a, b], torch)


@pytest.mark.parametrize("a, b", [("float32", "float64"), ("int64", "float32"), ("int32", "int64")])
def test_isclose_mismatched_dtypes_raise(a, b, torch):
    check(tl.isclose, torch.isclose, [sample(a, (3,)), sample(b, (3,))], torch)


def test_allclose_and_equal_match_torch(torch):
    pytest.importorskip("torchlite.ops.reduction", reason="allclose/equal need torchlite.ops.reduction.all")
    a = sample("float32", (3, 4))
    b = a + 1e-7
    for x, y in [(a, a), (a, b), (a, a + 1.0), (a, tl.tensor(to_numpy(a)[0]))]:
        assert tl.allclose(x, y) == torch.allclose(to_torch(x), to_torch(y))
        assert x.allclose(y, rtol=0.0, atol=0.0) == to_torch(x).allclose(to_torch(y), rtol=0.0, atol=0.0)
    nan = tl.tensor([1.0, float("nan")])
    assert tl.allclose(nan, nan) is False and tl.allclose(nan, nan, equal_nan=True) is True
    assert tl.equal(a, a) is True and tl.equal(a, b) == torch.equal(to_torch(a), to_torch(b))
    assert tl.equal(a, tl.tensor(to_numpy(a)[:2])) is False
    assert tl.equal(nan, nan) is False
    assert tl.equal(tl.ones(0), tl.ones(0)) is True


# --- casts ------------------------------------------------------------------------------------------------

def _cast_source(name):
    if name == "bool":
        return tl.tensor([True, False, True, True, False])
    if name in INT_NAMES:
        vals = {"uint8": [0, 1, 2, 127, 255], "int8": [0, -1, 2, 127, -128]}.get(name, [0, -1, 257, 4097, -2049])
        return tl.tensor(np.array(vals, dtype=name))
    vals = [0.0, -0.0, 1.0, 2.75, 100.6, 255.0, 0.3, 1e-3, 65519.0] if name != "float16" else \
        [0.0, -0.0, 1.0, 2.75, 100.6, 255.0, 0.3, 1e-3, 60000.0]
    return tl.tensor(np.array(vals, np.float64)).to(getattr(tl, name))


@pytest.mark.parametrize("src", DTYPE_NAMES)
@pytest.mark.parametrize("dst", DTYPE_NAMES)
def test_cast_every_pair_matches_torch(src, dst, torch):
    x = _cast_source(src)
    if dst in INT_NAMES and src in FLOAT_NAMES:
        x = x.clamp(0, 127)                      # float -> int outside the range is undefined in C++
    got = check(lambda t: t.to(getattr(tl, dst)), lambda t: t.to(getattr(torch, dst)), [x], torch)
    assert got.dtype is getattr(tl, dst)
    assert (got is x) == (src == dst)            # to() of the same dtype is a no-op, as in torch
    if src in FLOAT_NAMES and dst in FLOAT_NAMES:
        y = tl.tensor(SPECIALS + [3e38, 70000.0, 1.00048828125, 1.0078125, 1.00390625], dtype=tl.float64)
        y = y.to(getattr(tl, src))
        check(lambda t: t.to(getattr(tl, dst)), lambda t: t.to(getattr(torch, dst)), [y], torch)
    if dst == "bool" and src in FLOAT_NAMES:
        y = tl.tensor([float("nan"), -0.0, 0.0, 1e-30, -float("inf")], dtype=getattr(tl, src))
        check(lambda t: t.to(tl.bool), lambda t: t.to(torch.bool), [y], torch)


@pytest.mark.parametrize("method, dtype", [("float", "float32"), ("double", "float64"), ("half", "float16"),
                                           ("bfloat16", "bfloat16"), ("int", "int32"), ("long", "int64"),
                                           ("short", "int16"), ("char", "int8"), ("byte", "uint8"), ("bool", "bool")])
def test_cast_methods(method, dtype, torch):
    x = tl.tensor([0.0, 1.5, 3.0, 100.25])
    check(lambda t: getattr(t, method)(), lambda t: getattr(t, method)(), [x], torch)
    check(lambda t: t.to(dtype=getattr(tl, dtype)), lambda t: t.to(dtype=getattr(torch, dtype)), [x], torch)


# --- in-place ---------------------------------------------------------------------------------------------

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
    assert f"test_pointwise.py:{line}" in str(info.value)
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


# --- method / alias / export coverage ---------------------------------------------------------------------

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


@pytest.mark.parametrize("scalar", [np.int64(3), np.int8(-2), np.float32(0.5), np.float64(0.5)], ids=repr)
def test_numpy_scalars_are_weak_python_scalars(scalar, torch):
    x = tl.tensor([1, 2, 3], dtype=tl.int16)
    check(lambda t: t + scalar, lambda t: t + scalar, [x], torch)
    check(lambda t: scalar * t, lambda t: scalar * t, [x], torch)


def test_pointwise_module_declares_all():
    assert hasattr(pw, "__all__")
    for leaked in ("np", "math", "builtins", "LazyNode", "apply", "OpDef", "register", "op_error", "Tensor"):
        assert leaked not in pw.__all__
        assert not hasattr(tl, leaked) or leaked == "Tensor", leaked
    for name in pw.__all__:
        assert getattr(tl, name) is getattr(pw, name), name


# --- exception types ---------------------------------------------------------------------------------------

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


# --- laziness ---------------------------------------------------------------------------------------------

def test_errors_raise_at_the_op_not_at_realize():
    pending = tl.ones(3) * 2.0
    line = inspect.currentframe().f_lineno + 2
    with pytest.raises(RuntimeError) as info:
        pending + tl.ones(4)
    assert f"test_pointwise.py:{line}" in str(info.value)
    assert "The size of tensor a (3) must match the size of tensor b (4) at non-singleton dimension 0" \
        in str(info.value)
    assert pending.is_lazy                                    # nothing was computed to find the error
    line = inspect.currentframe().f_lineno + 2
    with pytest.raises(RuntimeError) as info:
        tl.where(pending, pending, 0.0)
    assert f"test_pointwise.py:{line}" in str(info.value)
    with pytest.raises(RuntimeError, match=r"bitwise_and_cpu.*Float.*" + HERE):
        pending & pending
    with pytest.raises(RuntimeError, match="Subtraction, the `-` operator, with two bool tensors.*" + HERE):
        tl.ones(2, dtype=tl.bool) - tl.ones(2, dtype=tl.bool)
    with pytest.raises(RuntimeError, match="Negation, the `-` operator, on a bool tensor.*" + HERE):
        -tl.ones(2, dtype=tl.bool)
    assert pending.is_lazy
    assert to_numpy(pending).tolist() == [2.0, 2.0, 2.0]


def test_structurally_equal_graphs_with_different_scalars():
    """Python scalars are program arguments: a cached program must never replay stale constants."""
    xs = np.array([-1.5, 0.25, 2.0, 3.5])
    x = tl.tensor(xs)
    for s in (2.0, -3.0, 0.5, 7.0):
        r = (x * s + s) / (s + 1.0)
        np.testing.assert_allclose(to_numpy(r), (xs * s + s) / (s + 1.0), rtol=1e-15)
        np.testing.assert_allclose(to_numpy(tl.clamp(x, -s, s)), np.clip(xs, -abs(s), s) if s > 0 else
                                   np.minimum(np.maximum(xs, -s), s), rtol=1e-15)
        np.testing.assert_allclose(to_numpy(tl.lerp(x, x * 2, s)), xs + s * (2 * xs - xs), rtol=1e-14)
        np.testing.assert_allclose(to_numpy(tl.softplus(x, abs(s), 2 * abs(s))),
                                   [_softplus(v, abs(s), 2 * abs(s)) for v in xs], rtol=1e-13)
        np.testing.assert_allclose(to_numpy(tl.where(x > 0, x, -s)), np.where(xs > 0, xs, -s))
    # the same structure twice inside one graph: no CSE of ops that differ only in their scalar
    both = (x * 2.0) + (x * 3.0) + tl.clamp(x, 0.0, 1.0) - tl.clamp(x, 1.0, 2.0)
    np.testing.assert_allclose(to_numpy(both), 5 * xs + np.clip(xs, 0, 1) - np.clip(xs, 1, 2), rtol=1e-15)
    both = tl.lerp(x, -x, 0.25) * tl.lerp(x, -x, 0.75) + tl.softplus(x, 1.0, 20.0) - tl.softplus(x, 2.0, 20.0)
    expected = (xs - 0.5 * xs) * (xs - 1.5 * xs) + np.log1p(np.exp(xs)) - np.log1p(np.exp(2 * xs)) / 2
    np.testing.assert_allclose(to_numpy(both), expected, rtol=1e-14)
    nans = tl.tensor([float("nan"), 1.0])
    two = tl.nan_to_num(nans, nan=1.0) + tl.nan_to_num(nans, nan=5.0)
    assert to_numpy(two).tolist() == [6.0, 2.0]


def test_scalar_kind_changes_dtype_not_stale_program():
    x = tl.tensor([1, 2, 3])
    assert (x + 1).dtype is tl.int64 and to_numpy(x + 1).tolist() == [2, 3, 4]
    assert (x + 1.0).dtype is tl.float32 and to_numpy(x + 1.0).tolist() == [2.0, 3.0, 4.0]
    assert (x + True).dtype is tl.int64 and to_numpy(x + True).tolist() == [2, 3, 4]
    b = tl.tensor([True, False])
    assert (b * True).dtype is tl.bool and to_numpy(b * True).tolist() == [True, False]
    assert (b * 2).dtype is tl.int64 and to_numpy(b * 2).tolist() == [2, 0]
    assert (b * 2.5).dtype is tl.float32 and to_numpy(b * 2.5).tolist() == [2.5, 0.0]
    for s in (0.1, 0.2):   # float64 tensors use the scalar at full double precision
        assert to_numpy(tl.tensor([1.0], dtype=tl.float64) + s)[0] == 1.0 + s


def test_inputs_are_not_mutated_by_buffer_reuse():
    a = np.ones(3)
    x = tl.from_numpy(a)
    y = ((x + 1.0).exp() * 2.0).sqrt()
    y.numpy()
    assert a.tolist() == [1.0, 1.0, 1.0] and to_numpy(x).tolist() == [1.0, 1.0, 1.0]
    z = x * 1.0
    x.add_(1.0)
    assert to_numpy(z).tolist() == [1.0, 1.0, 1.0] and to_numpy(x).tolist() == [2.0, 2.0, 2.0]
