"""Normalizing ops: softmax/log_softmax along one dim, and logsumexp (their log-normalizer) over dims.

All three shift by the maximum for stability and compute float16/bfloat16 in float32. softmax and
log_softmax keep a node of their own (DESIGN.md decision 3). Built on the shared machinery of ``reduction``.

    >>> import torchlite as tl
    >>> x = tl.tensor([0., 0.])
    >>> x.softmax(0).tolist(), round(x.logsumexp(0).item(), 4)
    ([0.5, 0.5], 0.6931)
"""
from __future__ import annotations

import builtins

import numpy as np

from .. import dtypes as _dt
from ..tensor import Tensor, apply
from ._meta import default_float, torch_name
from .registry import OpDef, register
from .reduction import (_axis, _check_dim, _compute, _dims, _finish, _is_float, _keep, _meta_reduce, _no_out,
                        _one_dim, _tensor_arg)


# --- logsumexp -----------------------------------------------------------------------------------------------

def _logsumexp_kernel(x, *, dims, keepdim, dtype):
    xc = _compute(x, dtype)
    ax = _axis(x, dims)
    if builtins.any(x.shape[d] == 0 for d in dims):
        r = np.log(np.sum(np.exp(xc), axis=ax, keepdims=keepdim))      # log(0) = -inf
    else:
        m = np.max(xc, axis=ax, keepdims=True)
        m = np.where(np.isinf(m), xc.dtype.type(0), m)                  # all -inf, or an +inf: shift by 0
        s = np.sum(np.exp(xc - m), axis=ax, keepdims=keepdim)
        r = np.log(s) + (m if keepdim else m.reshape(s.shape))
    return _finish(r, x, dtype)


LOGSUMEXP = register(OpDef("logsumexp", _meta_reduce(lambda d, p: default_float(d)), _logsumexp_kernel,
                           ("dims", "keepdim"), kind="reduction",
                           doc="``log(sum(exp(x)))`` over ``dims``, shifted by the maximum for stability."))


# --- softmax / log_softmax -----------------------------------------------------------------------------------

def _meta_softmax(name):
    def meta(srcs, params):
        x = srcs[0]
        _check_dim(x, params[0])
        if not _is_float(x.dtype):
            kernel = f"{name}_lastdim_kernel_impl" if params[0] == len(x.shape) - 1 else f"{name}_kernel_impl"
            raise NotImplementedError(f"\"{kernel}\" not implemented for '{torch_name(x.dtype)}'")
        return x.shape, x.dtype
    return meta


def _shifted(x, dim, dtype):
    """``x - max(x)`` along ``dim`` in the compute dtype (rows with -inf maxima give NaN, as in PyTorch)."""
    xc = _compute(x, dtype)
    ax = dim if x.ndim else None
    if xc.size == 0:
        return xc, ax
    return xc - np.max(xc, axis=ax, keepdims=True), ax


def _softmax_kernel(x, *, dim, dtype, out=None):
    z, ax = _shifted(x, dim, dtype)
    e = np.exp(z)
    return _finish(e / np.sum(e, axis=ax, keepdims=True), x, dtype, out)


def _log_softmax_kernel(x, *, dim, dtype, out=None):
    z, ax = _shifted(x, dim, dtype)
    return _finish(z - np.log(np.sum(np.exp(z), axis=ax, keepdims=True)), x, dtype, out)


SOFTMAX = register(OpDef("softmax", _meta_softmax("softmax"), _softmax_kernel, ("dim",),
                         kind="reduction", supports_out=True, donate=(0,),
                         doc="``exp(x - max) / sum(exp(x - max))`` along ``dim``."))
LOG_SOFTMAX = register(OpDef("log_softmax", _meta_softmax("log_softmax"), _log_softmax_kernel,
                             ("dim",), kind="reduction", supports_out=True, donate=(0,),
                             doc="``x - max - log(sum(exp(x - max)))`` along ``dim``."))


# --- frontends --------------------------------------------------------------------------------------------

def logsumexp(input, dim, keepdim: bool = False, *, out=None) -> Tensor:
    """``log(sum(exp(input)))`` over ``dim``, computed stably; integers give the default float dtype.

        >>> import torchlite as tl
        >>> round(tl.tensor([1000., 1000.]).logsumexp(0).item(), 2)
        1000.69
    """
    _tensor_arg("logsumexp", input)
    _no_out("logsumexp", out)
    return apply(LOGSUMEXP, (input,), (_dims("logsumexp", input, dim), bool(keepdim)))


def _softmax_like(name: str, op):
    def f(input, dim, dtype=None) -> Tensor:
        _tensor_arg(name, input)
        d = _one_dim(name, input, dim)
        if dtype is not None:
            input = input.to(_dt.to_dtype(dtype))
        return apply(op, (input,), (d,))
    f.__name__ = f.__qualname__ = name
    return f


softmax = _softmax_like("softmax", SOFTMAX)
softmax.__doc__ = """``exp(x) / sum(exp(x))`` along ``dim``, computed stably (one node); ``dtype`` casts first.

        >>> import torchlite as tl
        >>> tl.tensor([0., 0.]).softmax(0).tolist()
        [0.5, 0.5]
    """
log_softmax = _softmax_like("log_softmax", LOG_SOFTMAX)
log_softmax.__doc__ = """``log(softmax(x))`` along ``dim``, computed stably (one node); ``dtype`` casts first."""


METHODS = ["logsumexp", "softmax", "log_softmax"]
INPLACE: list[str] = []
__all__ = ["logsumexp", "softmax", "log_softmax"]


# --- VJP rules (notes/VJP.md): ``rule(g, out, x, *params) -> (grad_x,)`` -----------------------------------

def _vjp_logsumexp(g, out, x, dims, keepdim):
    return (_keep(g, x.shape, dims, keepdim) * (x - _keep(out, x.shape, dims, keepdim)).exp(),)


def _vjp_softmax(g, out, x, dim):
    return (out * (g - (g * out).sum(dim, keepdim=True)),)


def _vjp_log_softmax(g, out, x, dim):
    return (g - out.exp() * g.sum(dim, keepdim=True),)


VJPS = {LOGSUMEXP: _vjp_logsumexp, SOFTMAX: _vjp_softmax, LOG_SOFTMAX: _vjp_log_softmax}
for _op, _rule in VJPS.items():
    _op.vjp = _rule
