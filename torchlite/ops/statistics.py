"""Statistics reductions: var/std (and var_mean/std_mean) and the vector norm.

``var``/``std`` take ``dims``, ``keepdim`` and the ``correction`` (divisor ``N - correction``); the
frontends resolve PyTorch's ``unbiased=``/``correction=`` overloads. Kernels accumulate var/std in float64,
as PyTorch's CPU kernels do, and round once. Built on the shared machinery of ``reduction``.

    >>> import torchlite as tl
    >>> x = tl.tensor([1., 2., 3., 4.])
    >>> round(x.var().item(), 4), round(x.std(unbiased=False).item(), 4), tl.tensor([3., 4.]).norm().item()
    (1.6667, 1.118, 5.0)
"""
from __future__ import annotations

import builtins
import math
import warnings

import numpy as np

from .. import dtypes as _dt
from ..lazy import op_error
from ..tensor import Tensor, apply
from . import pointwise as _pw
from ._meta import numel, torch_name
from .registry import OpDef, register
from .reduction import (MEAN, _F64, _axis, _check_dims, _compute, _dims, _finish, _is_float, _is_int, _keep,
                        _no_out, _reduced_shape, _sum_keep, _tensor_arg)


# --- var / std -----------------------------------------------------------------------------------------------

def _meta_var(srcs, params):
    x = srcs[0]
    dims, keepdim, correction = params
    _check_dims(x, dims)
    if not _is_float(x.dtype):
        raise RuntimeError("std and var only support floating point and complex dtypes")
    if isinstance(correction, bool) or not isinstance(correction, (int, float)):
        raise TypeError(f"correction must be a number, got {type(correction).__name__}")
    return _reduced_shape(x.shape, dims, keepdim), x.dtype


def _var64(x, dims, keepdim, correction):
    """Two-pass variance in float64 (PyTorch's CPU kernels accumulate var/std in double)."""
    xf = x.astype(_F64)
    n = numel(tuple(x.shape[d] for d in dims))
    ax = _axis(x, dims)
    mean = np.sum(xf, axis=ax, keepdims=True) / _F64.type(n)
    dev = xf - mean
    return np.sum(dev * dev, axis=ax, keepdims=keepdim) / _F64.type(builtins.max(0, n - correction))


def _var_kernel(x, *, dims, keepdim, correction, dtype):
    return _finish(_var64(x, dims, keepdim, correction), x, dtype)


def _std_kernel(x, *, dims, keepdim, correction, dtype):
    return _finish(np.sqrt(_var64(x, dims, keepdim, correction)), x, dtype)


VAR = register(OpDef("var", _meta_var, _var_kernel, ("dims", "keepdim", "correction"), kind="reduction",
                     doc="Variance over ``dims`` with divisor ``max(0, N - correction)``."))
STD = register(OpDef("std", _meta_var, _std_kernel, ("dims", "keepdim", "correction"), kind="reduction",
                     doc="Standard deviation over ``dims`` with divisor ``max(0, N - correction)``."))


# --- norm ------------------------------------------------------------------------------------------------------

def _p_value(p) -> float:
    """The order of a norm op: a finite float, or "inf"/"-inf" (strings keep programs printable)."""
    return float(p)


def _p_name(p: float) -> str:
    return f"{p:g}"


def _meta_norm(srcs, params):
    x = srcs[0]
    p, dims, keepdim = params
    _check_dims(x, dims)
    if not _is_float(x.dtype):
        raise RuntimeError(f"linalg.vector_norm: Expected a floating point or complex tensor as input. "
                           f"Got {torch_name(x.dtype)}")
    if not (isinstance(p, (int, float)) and not isinstance(p, bool) and math.isfinite(p)) \
            and p not in ("inf", "-inf"):
        raise ValueError(f"p must be a finite number or 'inf'/'-inf', got {p!r}")
    pv = _p_value(p)
    if pv < 0 or pv == math.inf:
        if numel(x.shape) == 0 and len(dims) == len(x.shape):
            raise RuntimeError(f"linalg.vector_norm cannot compute the {_p_name(pv)} norm on an empty tensor "
                               "because the operation does not have an identity")
        for d in dims:
            if x.shape[d] == 0:
                raise RuntimeError(f"linalg.vector_norm cannot compute the {_p_name(pv)} norm on the dimension "
                                   f"{d} because this dimension is empty and the operation does not have an identity")
    return _reduced_shape(x.shape, dims, keepdim), x.dtype


def _norm_kernel(x, *, p, dims, keepdim, dtype):
    a = np.abs(_compute(x, dtype))
    ax = _axis(x, dims)
    p = _p_value(p)
    if p == 2:
        r = np.sqrt(np.sum(a * a, axis=ax, keepdims=keepdim))
    elif p == 1:
        r = np.sum(a, axis=ax, keepdims=keepdim)
    elif p == math.inf:
        r = np.max(a, axis=ax, keepdims=keepdim)
    elif p == -math.inf:
        r = np.min(a, axis=ax, keepdims=keepdim)
    elif p == 0:
        r = np.sum(a != 0, axis=ax, keepdims=keepdim, dtype=a.dtype)
    else:
        r = np.sum(a ** a.dtype.type(p), axis=ax, keepdims=keepdim) ** a.dtype.type(1.0 / p)
    return _finish(r, x, dtype)


NORM = register(OpDef("norm", _meta_norm, _norm_kernel, ("p", "dims", "keepdim"), kind="reduction",
                      doc="Vector p-norm over ``dims`` (p: a number, or 'inf'/'-inf')."))


# --- frontends: var / std ------------------------------------------------------------------------------------

def _correction(name: str, input: Tensor, dim, unbiased, correction):
    """Resolve PyTorch's overloads: ``var(x, unbiased)``, ``var(x, dim, unbiased, keepdim)``,
    ``var(x, dim, *, correction, keepdim)``; returns (dim, correction)."""
    if isinstance(dim, bool):
        if unbiased is not None:
            raise op_error(TypeError, name, "received an invalid combination of arguments: unbiased given twice")
        dim, unbiased = None, dim
    if unbiased is not None and correction is not None:
        raise op_error(TypeError, name, "received an invalid combination of arguments: pass either unbiased= "
                       "or correction=, not both")
    if correction is None:
        correction = 0 if unbiased is not None and not unbiased else 1
    elif isinstance(correction, bool) or not isinstance(correction, (int, float)):
        raise op_error(TypeError, f"{name}()", "argument 'correction' must be a number, not "
                       f"{type(correction).__name__}")
    return dim, correction


def _var_like(name: str, input, dim, unbiased, keepdim, correction):
    _tensor_arg(name, input)
    dim, correction = _correction(name, input, dim, unbiased, correction)
    if not _is_float(input.dtype):
        what = "std and var" if name in ("var", "std") else name
        raise op_error(RuntimeError, name, f"{what} only support floating point and complex dtypes")
    dims = _dims(name, input, dim)
    n = numel(tuple(input.shape[d] for d in dims))
    if n - correction <= 0:
        warnings.warn(f"{name}(): degrees of freedom is <= 0. Correction should be strictly less than the "
                      "reduction factor (input numel divided by output numel).", UserWarning, stacklevel=3)
    return dims, bool(keepdim), correction


def var(input, dim=None, unbiased=None, keepdim: bool = False, *, correction=None) -> Tensor:
    """Variance over ``dim`` with divisor ``N - correction`` (``correction=1`` by default; ``unbiased=False``
    means 0).

        >>> import torchlite as tl
        >>> tl.tensor([1., 2., 3., 4.]).var().item()
        1.6666666269302368
    """
    return apply(VAR, (input,), _var_like("var", input, dim, unbiased, keepdim, correction))


def std(input, dim=None, unbiased=None, keepdim: bool = False, *, correction=None) -> Tensor:
    """Standard deviation: ``sqrt(var(...))`` with the same arguments."""
    return apply(STD, (input,), _var_like("std", input, dim, unbiased, keepdim, correction))


def var_mean(input, dim=None, unbiased=None, keepdim: bool = False, *, correction=None):
    """``(var, mean)`` over ``dim``, as two tensors."""
    params = _var_like("var_mean", input, dim, unbiased, keepdim, correction)
    return apply(VAR, (input,), params), apply(MEAN, (input,), (params[0], params[1], None))


def std_mean(input, dim=None, unbiased=None, keepdim: bool = False, *, correction=None):
    """``(std, mean)`` over ``dim``, as two tensors."""
    params = _var_like("std_mean", input, dim, unbiased, keepdim, correction)
    return apply(STD, (input,), params), apply(MEAN, (input,), (params[0], params[1], None))


# --- frontends: norm --------------------------------------------------------------------------------------

def _norm_p(p, dim):
    """``torch.norm``'s ``p`` as the order of a vector norm (what ``torch.norm`` computes)."""
    if p is None:
        return 2.0
    if isinstance(p, str):
        if p == "fro":
            if dim is None or _is_int(dim) or len(dim) <= 2:
                return 2.0
            raise op_error(RuntimeError, "norm", "linalg.matrix_norm: dim must be a 2-tuple. Got "
                           + " ".join(str(d) for d in dim))
        if p == "nuc":
            raise op_error(NotImplementedError, "norm", "the nuclear norm (p='nuc') is not supported yet")
        raise op_error(RuntimeError, "norm", f"linalg.matrix_norm: Order {p} not supported.")
    if isinstance(p, Tensor):
        p = p.item()
    if isinstance(p, bool) or not isinstance(p, (int, float, np.integer, np.floating)) or math.isnan(p):
        raise op_error(TypeError, "norm()", f"argument 'p' must be a number or 'fro', not {p!r}")
    p = float(p)
    return "inf" if p == math.inf else "-inf" if p == -math.inf else p


def norm(input, p="fro", dim=None, keepdim: bool = False, out=None, dtype=None) -> Tensor:
    """The vector ``p``-norm over ``dim`` (``'fro'``/None = 2, ``inf``, ``-inf``, ``0`` = count of nonzeros, any
    float); ``dtype`` casts the input first.

        >>> import torchlite as tl
        >>> tl.tensor([3., 4.]).norm().item()
        5.0
    """
    _tensor_arg("norm", input)
    _no_out("norm", out)
    pv = _norm_p(p, dim)
    if not _is_float(input.dtype):
        raise op_error(RuntimeError, "norm", "linalg.vector_norm: Expected a floating point or complex tensor as "
                       f"input. Got {torch_name(input.dtype)}")
    if dtype is not None:
        d = _dt.to_dtype(dtype)
        if not _is_float(d):
            raise op_error(RuntimeError, "norm", "linalg.vector_norm: dtype should be floating point or complex, "
                           f"but got {torch_name(d)}")
        input = input.to(d)
    return apply(NORM, (input,), (pv, _dims("norm", input, dim), bool(keepdim)))


METHODS = ["var", "std", "norm"]
INPLACE: list[str] = []
__all__ = ["var", "std", "var_mean", "std_mean", "norm"]


# --- VJP rules (notes/VJP.md): ``rule(g, out, x, *params) -> (grad_x,)`` -----------------------------------

def _var_grad(g, x, dims, keepdim, correction):
    """PyTorch's var_backward: ``2 / (N - correction) * g * (x - mean)``; over every dim with N <= correction,
    ``g * where(x == mean, nan, inf)``. (PyTorch takes the second form only when no ``dim`` was passed; an
    explicit full ``dim`` with N < correction is the one case that differs from it.)"""
    n = numel(tuple(x.shape[d] for d in dims))
    g = _keep(g, x.shape, dims, keepdim)
    mean = apply(MEAN, (x,), (dims, True, None))
    dof = n - correction
    if len(dims) == x.ndim and dof <= 0:
        return g * _pw.where(x == mean, math.nan, math.inf)
    scale = 2.0 / dof if dof != 0 else math.inf
    return scale * g * (x - mean)


def _vjp_var(g, out, x, dims, keepdim, correction):
    return (_var_grad(g, x, dims, keepdim, correction),)


def _vjp_std(g, out, x, dims, keepdim, correction):
    gv = _pw.where(out == 0, 0.0, g / (out * 2))        # PyTorch: zero gradient where std is 0
    return (_var_grad(gv, x, dims, keepdim, correction),)


def _vjp_norm(g, out, x, p, dims, keepdim):
    """PyTorch's norm_backward for each order (subgradient 0 where the norm is 0)."""
    p = _p_value(p)
    g = _keep(g, x.shape, dims, keepdim)
    norm = _keep(out, x.shape, dims, keepdim)
    if p == 0:
        return (None,)
    if p == 1:
        return (x.sign() * g,)
    if p == 2:
        return (g * _pw.where(norm == 0, 0.0, x / norm),)
    if math.isinf(p):
        a = x.abs()
        mask = (a == norm) | a.isnan()
        return (x.sign() * ((g / _sum_keep(mask, dims)) * mask),)
    if p < 1:
        scaled = x.sign() * _pw.where(x == 0, 0.0, x.abs() ** (p - 1))
        return (scaled * g * norm ** (1 - p),)
    scaled = x.sign() * x.abs() ** (p - 1) if p < 2 else x * x.abs() ** (p - 2)
    return (scaled * _pw.where(norm == 0, 0.0, g / norm ** (p - 1)),)


VJPS = {VAR: _vjp_var, STD: _vjp_std, NORM: _vjp_norm}
for _op, _rule in VJPS.items():
    _op.vjp = _rule
