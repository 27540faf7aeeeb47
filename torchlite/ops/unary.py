"""Unary elementwise math: sign and rounding, predicates (isnan, ...), exp/log, powers, trig, erf, nan_to_num,
and the float closeness tests (isclose, allclose).

Each op is a declaration built from the kernels and dtype rules of ``pointwise.py``, with its VJP rule below.

    >>> import torchlite as tl
    >>> tl.tensor([1.0, 4.0]).sqrt().tolist()
    [1.0, 2.0]
"""
from __future__ import annotations

import math

import numpy as np
from scipy import special as _sp

from .. import dtypes as _dt
from ..lazy import op_error
from ..tensor import Tensor, apply
from ._meta import torch_name
from .pointwise import (_NEG_BOOL, ALL_INPUTS, _diff, _float_kernel, _float_unary, _meta_same, _meta_same_no_bool,
                        _meta_unary_bool, _pw, _ufunc_kernel, _unary, _unary_bool_kernel, _vjp_unary, _zeros,
                        add, eq, le, logical_and, logical_or, mul, pow, sub)
from .registry import OpDef, register


def _keep_int(fn):
    """Kernel that is the identity on integers and bool (floor, ceil, trunc, round of an integer)."""
    fk = _ufunc_kernel(fn)

    def kernel(x, *, dtype, out=None):
        if dtype.kind in "iub":
            if out is None:
                return x.astype(dtype, copy=True)
            out[...] = x
            return out
        return fk(x, dtype=dtype, out=out)
    kernel.__name__ = fn.__name__
    return kernel



NEG = _pw("neg", _meta_same_no_bool("neg", _NEG_BOOL), _ufunc_kernel(np.negative))
ABS = _pw("abs", _meta_same_no_bool("abs"), _ufunc_kernel(np.absolute))
def _sign_kernel(x, *, dtype, out=None):
    if dtype.kind == "b":
        r = x.copy()
    elif dtype.kind in "iu":
        return np.sign(x, out=out)
    else:
        r = _float_kernel(lambda v: np.where(np.isnan(v), v.dtype.type(0), np.sign(v)))(x, dtype=dtype)
    if out is None:
        return r
    out[...] = r
    return out


SIGN = _pw("sign", _meta_same, _sign_kernel)
FLOOR = _pw("floor", _meta_same_no_bool("floor"), _keep_int(np.floor))
CEIL = _pw("ceil", _meta_same_no_bool("ceil"), _keep_int(np.ceil))
TRUNC = _pw("trunc", _meta_same_no_bool("trunc"), _keep_int(np.trunc))
ISNAN = _pw("isnan", _meta_unary_bool, _unary_bool_kernel(np.isnan))
ISINF = _pw("isinf", _meta_unary_bool, _unary_bool_kernel(np.isinf))
ISFINITE = _pw("isfinite", _meta_unary_bool, _unary_bool_kernel(np.isfinite))
SIGNBIT = _pw("signbit", _meta_unary_bool, _unary_bool_kernel(np.signbit))


def _round_kernel(x, *, decimals, dtype, out=None):
    if dtype.kind in "iub":
        return _keep_int(np.round)(x, dtype=dtype, out=out)
    return _float_kernel(lambda v: np.round(v, decimals))(x, dtype=dtype, out=out)


ROUND = register(OpDef("round", _meta_same_no_bool("round"), _round_kernel, ("decimals",), kind="pointwise",
                       supports_out=True, donate=ALL_INPUTS))


EXP = _float_unary("exp", np.exp)
EXP2 = _float_unary("exp2", np.exp2)
EXPM1 = _float_unary("expm1", np.expm1)
LOG = _float_unary("log", np.log)
LOG2 = _float_unary("log2", np.log2)
LOG10 = _float_unary("log10", np.log10)
LOG1P = _float_unary("log1p", np.log1p)
SQRT = _float_unary("sqrt", np.sqrt)
RSQRT = _float_unary("rsqrt", lambda x: 1.0 / np.sqrt(x))
SIN = _float_unary("sin", np.sin)
COS = _float_unary("cos", np.cos)
TAN = _float_unary("tan", np.tan)
TANH = _float_unary("tanh", np.tanh)
ASIN = _float_unary("asin", np.arcsin)
ACOS = _float_unary("acos", np.arccos)
ATAN = _float_unary("atan", np.arctan)
SINH = _float_unary("sinh", np.sinh)
COSH = _float_unary("cosh", np.cosh)
ERF = _float_unary("erf", _sp.erf)
ERFC = _float_unary("erfc", _sp.erfc)
RECIPROCAL = _float_unary("reciprocal", lambda x: 1.0 / x)


def _nan_to_num_kernel(x, *, nan, posinf, neginf, dtype, out=None):
    if dtype.kind != "f" and dtype != _dt.bfloat16.np:
        if out is None:
            return x.copy()
        out[...] = x
        return out
    info = np.finfo(dtype) if dtype.kind == "f" else _dt.finfo(_dt.bfloat16)
    big = float(info.max) if posinf is None else posinf
    small = float(info.min) if neginf is None else neginf
    return _float_kernel(lambda v: np.nan_to_num(v, nan=nan, posinf=big, neginf=small))(x, dtype=dtype, out=out)


NAN_TO_NUM = register(OpDef("nan_to_num", _meta_same, _nan_to_num_kernel, ("nan", "posinf", "neginf"),
                            kind="pointwise", supports_out=True, donate=ALL_INPUTS))


neg = negative = _unary(NEG, "neg")
abs = absolute = _unary(ABS, "abs")
sign = _unary(SIGN, "sign")
floor = _unary(FLOOR, "floor")
ceil = _unary(CEIL, "ceil")
trunc = fix = _unary(TRUNC, "trunc")
isnan = _unary(ISNAN, "isnan")
isinf = _unary(ISINF, "isinf")
isfinite = _unary(ISFINITE, "isfinite")
signbit = _unary(SIGNBIT, "signbit")
exp = _unary(EXP, "exp")
exp2 = _unary(EXP2, "exp2")
expm1 = _unary(EXPM1, "expm1")
log = _unary(LOG, "log")
log2 = _unary(LOG2, "log2")
log10 = _unary(LOG10, "log10")
log1p = _unary(LOG1P, "log1p")
sqrt = _unary(SQRT, "sqrt")
rsqrt = _unary(RSQRT, "rsqrt")
sin = _unary(SIN, "sin")
cos = _unary(COS, "cos")
tan = _unary(TAN, "tan")
tanh = _unary(TANH, "tanh")
asin = arcsin = _unary(ASIN, "asin")
acos = arccos = _unary(ACOS, "acos")
atan = arctan = _unary(ATAN, "atan")
sinh = _unary(SINH, "sinh")
cosh = _unary(COSH, "cosh")
erf = _unary(ERF, "erf")
erfc = _unary(ERFC, "erfc")
reciprocal = _unary(RECIPROCAL, "reciprocal")


def square(input):
    """``input ** 2`` (bool becomes int64, as PyTorch's ``pow(x, 2)``)."""
    return pow(input, 2)


def round(input, *, decimals: int | None = None):
    """Round half to even, to ``decimals`` places."""
    if decimals is not None and isinstance(input, Tensor) and input.dtype.category != 2:
        raise op_error(NotImplementedError, "round", f"\"round_cpu\" not implemented for '{torch_name(input.dtype)}'")
    return apply(ROUND, (input,), (int(decimals or 0),))



def nan_to_num(input, nan: float = 0.0, posinf: float | None = None, neginf: float | None = None):
    """Replace NaN with ``nan`` and infinities with ``posinf``/``neginf`` (default: the dtype's limits)."""
    return apply(NAN_TO_NUM, (input,), (float(nan), None if posinf is None else float(posinf),
                                        None if neginf is None else float(neginf)))


def isclose(input, other, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False):
    """Elementwise ``|input - other| <= atol + rtol * |other|``; infinities are close only to themselves."""
    if not isinstance(input, Tensor) or not isinstance(other, Tensor):
        raise op_error(TypeError, "isclose", "isclose() expects two tensors")
    if input.dtype is not other.dtype:
        raise op_error(RuntimeError, "isclose", f"{torch_name(input.dtype)} did not match {torch_name(other.dtype)}")
    same = eq(input, other)
    if input.dtype is _dt.bool:
        return same
    finite = logical_and(isfinite(input), isfinite(other))
    near = le(abs(sub(input, other)), add(mul(abs(other), rtol), atol))
    close = logical_or(same, logical_and(finite, near))
    if equal_nan:
        close = logical_or(close, logical_and(isnan(input), isnan(other)))
    return close


def allclose(input, other, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> bool:
    from .reduction import all as _all
    return bool(_all(isclose(input, other, rtol, atol, equal_nan)).item())



# --- VJP rules (the conventions are pointwise.py's): zero gradient for the rounding ops; abs'(0) = 0;
# nan_to_num passes the gradient only where the input was finite.

_LN2, _LN10 = math.log(2.0), math.log(10.0)
_2_SQRTPI = 2.0 / math.sqrt(math.pi)


def _vjp_nan_to_num(g, out, x, nan, posinf, neginf):
    return (g * isfinite(x) if _diff(x) else None,)


_UNARY = {
    NEG: lambda g, out, x: -g,
    ABS: lambda g, out, x: g * sign(x),
    SIGN: lambda g, out, x: _zeros(g),
    FLOOR: lambda g, out, x: _zeros(g),
    CEIL: lambda g, out, x: _zeros(g),
    TRUNC: lambda g, out, x: _zeros(g),
    ROUND: lambda g, out, x: _zeros(g),
    EXP: lambda g, out, x: g * out,
    EXP2: lambda g, out, x: g * (out * _LN2),
    EXPM1: lambda g, out, x: g * (out + 1),
    LOG: lambda g, out, x: g / x,
    LOG2: lambda g, out, x: g / (x * _LN2),
    LOG10: lambda g, out, x: g / (x * _LN10),
    LOG1P: lambda g, out, x: g / (x + 1),
    SQRT: lambda g, out, x: g / (2 * out),
    RSQRT: lambda g, out, x: -0.5 * g * out ** 3,
    SIN: lambda g, out, x: g * cos(x),
    COS: lambda g, out, x: g * -sin(x),
    TAN: lambda g, out, x: g * (1 + out * out),
    TANH: lambda g, out, x: g * (1 - out * out),
    ASIN: lambda g, out, x: g * rsqrt(1 - x * x),
    ACOS: lambda g, out, x: -g * rsqrt(1 - x * x),
    ATAN: lambda g, out, x: g / (x * x + 1),
    SINH: lambda g, out, x: g * cosh(x),
    COSH: lambda g, out, x: g * sinh(x),
    ERF: lambda g, out, x: g * (_2_SQRTPI * exp(-(x * x))),
    ERFC: lambda g, out, x: g * (-_2_SQRTPI * exp(-(x * x))),
    RECIPROCAL: lambda g, out, x: g * -(out * out),
}

VJPS = {NAN_TO_NUM: _vjp_nan_to_num, **{op: _vjp_unary(fn) for op, fn in _UNARY.items()}}
for _op, _rule in VJPS.items():
    _op.vjp = _rule
del _op, _rule

__all__ = [
    "neg", "negative", "abs", "absolute", "sign", "floor", "ceil", "trunc", "fix", "round", "isnan", "isinf",
    "isfinite", "signbit", "exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "sqrt", "rsqrt", "sin", "cos",
    "tan", "tanh", "asin", "acos", "atan", "arcsin", "arccos", "arctan", "sinh", "cosh", "erf", "erfc",
    "reciprocal", "square", "nan_to_num", "isclose", "allclose",
]
# Tensor methods and in-place variants of these functions (bound in methods.py).
METHODS = [
    "neg", "negative", "abs", "absolute", "sign", "floor", "ceil", "trunc", "fix", "round", "isnan", "isinf",
    "isfinite", "signbit", "exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "sqrt", "rsqrt", "sin", "cos",
    "tan", "tanh", "asin", "acos", "atan", "arcsin", "arccos", "arctan", "sinh", "cosh", "erf", "erfc",
    "reciprocal", "square", "nan_to_num", "isclose", "allclose",
]
INPLACE = [
    "neg", "negative", "abs", "absolute", "sign", "floor", "ceil", "trunc", "fix", "round", "exp", "exp2", "expm1",
    "log", "log2", "log10", "log1p", "sqrt", "rsqrt", "sin", "cos", "tan", "tanh", "asin", "acos", "atan", "sinh",
    "cosh", "erf", "erfc", "reciprocal", "square", "nan_to_num",
]
