"""Activations and clamp: sigmoid, relu, silu, gelu, softplus, and clamp (hardtanh's kernel) with its aliases.

Each op is a declaration built from the kernels and dtype rules of ``pointwise.py``, with its VJP rule below.

    >>> import torchlite as tl
    >>> tl.relu(tl.tensor([-1.0, 2.0])).tolist()
    [0.0, 2.0]
"""
from __future__ import annotations

import math

import numpy as np
from scipy import special as _sp

from .. import dtypes as _dt
from ..lazy import LazyNode, op_error
from ..tensor import apply
from ._meta import torch_name
from .pointwise import (ALL_INPUTS, _COMPUTE, _as, _check_operands, _each, _diff, _float_kernel, _float_unary,
                        _meta_float_only, _meta_promote, _meta_same_no_bool, _operand, _pw, _unary, _vjp_unary,
                        ge, gt, le, logical_and, logical_or, lt, where)
from .registry import OpDef, register
from .unary import erf, exp, tanh


def _gelu_tanh(x):
    c = x.dtype.type(math.sqrt(2.0 / math.pi))
    return 0.5 * x * (1.0 + np.tanh(c * (x + x.dtype.type(0.044715) * x * x * x)))


def _gelu_exact(x):
    return 0.5 * x * (1.0 + _sp.erf(x * x.dtype.type(1 / math.sqrt(2.0))))


def _gelu_kernel(x, *, approximate, dtype, out=None):
    return _float_kernel(_gelu_tanh if approximate == "tanh" else _gelu_exact)(x, dtype=dtype, out=out)


def _meta_gelu(srcs, params):
    if params[0] not in ("none", "tanh"):
        raise RuntimeError(f"approximate argument must be either none or tanh, got {params[0]!r}")
    if srcs[0].dtype.category != 2:
        raise NotImplementedError(f"\"GeluKernelImpl\" not implemented for '{torch_name(srcs[0].dtype)}'")
    return srcs[0].shape, srcs[0].dtype


GELU = register(OpDef("gelu", _meta_gelu, _gelu_kernel, ("approximate",), kind="pointwise",
                      supports_out=True, donate=ALL_INPUTS))


SIGMOID = _float_unary("sigmoid", _sp.expit)
SILU = _pw("silu", _meta_float_only("silu"), _float_kernel(lambda x: x * _sp.expit(x)))
RELU = _pw("relu", _meta_same_no_bool("relu"),
           lambda x, *, dtype, out=None: np.maximum(x, x.dtype.type(0), out=out))


def _softplus(x, beta, threshold):
    z = x * beta
    return np.where(z > threshold, x, np.log1p(np.exp(np.minimum(z, threshold))) / beta)


SOFTPLUS = _pw("softplus", _meta_float_only("softplus"), _float_kernel(_softplus))


def _meta_clamp(srcs, params):
    shape, d = _meta_promote(srcs, params)
    if d is _dt.bool and any(type(b) is not LazyNode for b in srcs[1:]):
        raise NotImplementedError("\"clamp_scalar_cpu\" not implemented for 'Bool'")
    if d is _dt.bool and len(srcs) == 3:        # PyTorch's bool clamp takes one tensor bound, not two
        raise NotImplementedError("\"clamp_cpu\" not implemented for 'Bool'")
    return shape, d


def _clamp_kernel(x, *bounds, has_min, has_max, dtype, out=None):
    cd = _COMPUTE.get(dtype, dtype)
    r = x.astype(cd, copy=False)
    i = 0
    if has_min:
        r = np.maximum(r, _as(bounds[0], cd), dtype=cd)
        i = 1
    if has_max:
        r = np.minimum(r, _as(bounds[i], cd), dtype=cd)
    if out is None:
        return r.astype(dtype) if r.dtype != dtype or r is x else r
    out[...] = r
    return out


CLAMP = register(OpDef("clamp", _meta_clamp, _clamp_kernel, ("has_min", "has_max"), kind="pointwise",
                       supports_out=True, donate=ALL_INPUTS))


# --- frontends (PyTorch signatures) -----------------------------------------------------------------------

sigmoid = _unary(SIGMOID, "sigmoid")
relu = _unary(RELU, "relu")
silu = _unary(SILU, "silu")


def gelu(input, approximate: str = "none"):
    """GELU, exact (``erf``) or with the ``tanh`` approximation."""
    return apply(GELU, (input,), (approximate,))


def softplus(input, beta: float = 1.0, threshold: float = 20.0):
    """``log(1 + exp(beta * x)) / beta``, linear above ``threshold``."""
    return apply(SOFTPLUS, (input, float(beta), float(threshold)))



def clamp(input, min=None, max=None):
    """Limit values to ``[min, max]`` (either may be None, a number or a tensor)."""
    if min is None and max is None:
        raise op_error(RuntimeError, "clamp", "At least one of 'min' or 'max' must not be None")
    bounds = [b for b in (min, max) if b is not None]
    _check_operands("clamp", input, *bounds)
    return apply(CLAMP, (input, *(_operand(b) for b in bounds)), (min is not None, max is not None))


clip = clamp


def clamp_min(input, min):
    return clamp(input, min=min)


def clamp_max(input, max):
    return clamp(input, max=max)



# --- VJP rules (the conventions are pointwise.py's): relu'(0) = 0; clamp passes the gradient where
# min <= x <= max.

_SQRT_2PI = math.sqrt(2.0 * math.pi)
_GELU_BETA, _GELU_KAPPA = math.sqrt(2.0 / math.pi), 0.044715


def _vjp_softplus(g, out, x, beta, threshold):
    z = x * beta
    return (where(gt(z, threshold), g, g * sigmoid(z)) if _diff(x) else None, None, None)


def _gelu_grad(g, x, approximate):
    if approximate == "tanh":
        x_sq = x * x
        t = tanh(_GELU_BETA * (x + _GELU_KAPPA * x_sq * x))
        left, right = 0.5 * x, 1 + t
        return g * (0.5 * right + left * (1 - t * t) * (_GELU_BETA * (1 + 3 * _GELU_KAPPA * x_sq)))
    cdf = 0.5 * (1 + erf(x * (1 / math.sqrt(2.0))))
    pdf = exp(-0.5 * x * x) * (1 / _SQRT_2PI)
    return g * (cdf + x * pdf)


def _vjp_gelu(g, out, x, approximate):
    return (_gelu_grad(g, x, approximate) if _diff(x) else None,)



def _vjp_clamp(g, out, x, *rest):
    *bounds, has_min, has_max = rest
    lo = bounds[0] if has_min else None
    hi = bounds[-1] if has_max else None
    if lo is not None and hi is not None:
        gx = lambda: where(logical_and(ge(x, lo), le(x, hi)), g, 0.0)   # noqa: E731
        glo = lambda: where(logical_and(lt(x, lo), lt(lo, hi)), g, 0.0)  # noqa: E731
        ghi = lambda: where(logical_or(gt(x, hi), lt(hi, lo)), g, 0.0)   # noqa: E731
    else:
        gx = lambda: where(ge(x, lo) if hi is None else le(x, hi), g, 0.0)   # noqa: E731
        glo = lambda: where(lt(x, lo), g, 0.0)  # noqa: E731
        ghi = lambda: where(gt(x, hi), g, 0.0)  # noqa: E731
    pairs = [(x, gx)]
    if has_min:
        pairs.append((lo, glo))
    if has_max:
        pairs.append((hi, ghi))
    return _each(*pairs)


_UNARY = {
    SIGMOID: lambda g, out, x: g * ((1 - out) * out),
    SILU: lambda g, out, x: g * (sigmoid(x) * (1 + x * (1 - sigmoid(x)))),
    RELU: lambda g, out, x: where(le(out, 0), 0.0, g),
}

VJPS = {SOFTPLUS: _vjp_softplus, GELU: _vjp_gelu, CLAMP: _vjp_clamp,
        **{op: _vjp_unary(fn) for op, fn in _UNARY.items()}}
for _op, _rule in VJPS.items():
    _op.vjp = _rule
del _op, _rule

__all__ = [
    "sigmoid", "relu", "silu", "gelu", "softplus", "clamp", "clip", "clamp_min", "clamp_max",
]
# Tensor methods and in-place variants of these functions (bound in methods.py).
METHODS = [
    "sigmoid", "relu", "clamp", "clip", "clamp_min", "clamp_max",
]
INPLACE = [
    "sigmoid", "relu", "clamp", "clip", "clamp_min", "clamp_max",
]
