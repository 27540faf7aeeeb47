"""Shared by the test_pointwise_*.py files: deterministic inputs, the op tables (torchlite function, torch
oracle), the differential ``check`` and the sweep helpers ``grouped`` + ``run_all``.

The large sweeps run many cases per test item (``grouped`` + ``run_all``), which keeps the files fast while a
failure still lists every failing case.
"""
from __future__ import annotations

import math
import operator
import os
import sys
import zlib

import ml_dtypes
import numpy as np
import pytest

import torchlite as tl
from conftest import INT_NAMES, assert_close, to_torch


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
    exception type, torchlite's at build time and naming the test's line (in the test file that called check,
    or in this file, where tables' functions are defined and check calls tl_fn). Returns torchlite's result
    or None."""
    kwargs = kwargs or {}
    targs = [to_torch(a) if isinstance(a, tl.Tensor) else a for a in args]
    try:
        expected = torch_fn(*targs, **kwargs)
    except Exception as e:  # noqa: BLE001 - any torch error must be mirrored
        with pytest.raises(type(e)) as info:
            tl_fn(*args, **kwargs)          # building the op must raise: no realize here
        test_files = (os.path.basename(sys._getframe(1).f_code.co_filename), os.path.basename(__file__))
        assert any(f"{name}:" in str(info.value) for name in test_files), str(info.value)
        return None
    got = tl_fn(*args, **kwargs)
    assert_close(got, expected, rtol, atol)
    return got


# --- op tables -------------------------------------------------------------------------------------------

def torch_op(name):
    def f(*a, **k):
        import torch
        return getattr(torch, name)(*a, **k)
    return f


def torch_nn_op(name):
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


def torch_module():
    import torch
    return torch


BINARY = {name: (getattr(tl, name), torch_op(name)) for name in [
    "add", "sub", "rsub", "mul", "div", "floor_divide", "remainder", "fmod", "pow", "float_power", "maximum",
    "minimum", "atan2", "eq", "ne", "lt", "le", "gt", "ge", "logical_and", "logical_or", "logical_xor",
    "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_left_shift", "bitwise_right_shift"]}
BINARY["div_trunc"] = (_div_mode(_tl, "trunc"), _div_mode(torch_module, "trunc"))
BINARY["div_floor"] = (_div_mode(_tl, "floor"), _div_mode(torch_module, "floor"))


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


# Operators, plain and reflected (the Python scalar sweeps and the uint8 wrapping tests use them).
OPERATORS = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
             "//": operator.floordiv, "%": operator.mod, "**": operator.pow, "&": operator.and_,
             "|": operator.or_, "^": operator.xor, "<<": operator.lshift, ">>": operator.rshift,
             "==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt,
             ">=": operator.ge}


# --- unary table (sweeps, float64 oracle, layouts) -------------------------------------------------------

UNARY = {name: (getattr(tl, name), torch_op(name)) for name in [
    "neg", "negative", "abs", "absolute", "sign", "floor", "ceil", "trunc", "fix", "bitwise_not", "logical_not",
    "isnan", "isinf", "isfinite", "signbit", "exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "sqrt",
    "rsqrt", "sin", "cos", "tan", "tanh", "asin", "acos", "atan", "arcsin", "arccos", "arctan", "sinh", "cosh",
    "sigmoid", "erf", "erfc", "reciprocal", "relu", "square", "round"]}
UNARY["silu"] = (tl.silu, torch_nn_op("silu"))
UNARY["gelu"] = (tl.gelu, torch_nn_op("gelu"))
UNARY["gelu_tanh"] = (lambda x: tl.gelu(x, approximate="tanh"), lambda x: torch_nn_op("gelu")(x, approximate="tanh"))
UNARY["softplus"] = (tl.softplus, torch_nn_op("softplus"))
UNARY["softplus_beta"] = (lambda x: tl.softplus(x, beta=2.0, threshold=1.5),
                          lambda x: torch_nn_op("softplus")(x, beta=2.0, threshold=1.5))
UNARY["round_decimals"] = (lambda x: tl.round(x, decimals=2), lambda x: torch_module().round(x, decimals=2))
UNARY["round_neg_decimals"] = (lambda x: tl.round(x, decimals=-1), lambda x: torch_module().round(x, decimals=-1))
UNARY["nan_to_num"] = (tl.nan_to_num, torch_op("nan_to_num"))
UNARY["clamp_min"] = (lambda x: tl.clamp_min(x, 1), lambda x: torch_module().clamp_min(x, 1))
UNARY["clamp_max"] = (lambda x: tl.clamp_max(x, 1), lambda x: torch_module().clamp_max(x, 1))
UNARY["clip"] = (lambda x: tl.clip(x, -1, 2.5), lambda x: torch_module().clip(x, -1, 2.5))
UNARY["abs_builtin"] = (abs, abs)
UNARY["neg_operator"] = (operator.neg, operator.neg)
UNARY["invert_operator"] = (operator.invert, operator.invert)
UNARY["pos_operator"] = (operator.pos, operator.pos)


# Python-math reference (the float64 oracle, and the scalar-argument laziness test).

def softplus_ref(v, beta=1.0, threshold=20.0):
    return v if v * beta > threshold else math.log1p(math.exp(v * beta)) / beta
