"""Cumulative ops: cumsum/cumprod (and in-place cumsum_/cumprod_), running along one dim.

One op-level op each, taking the ``dim`` and an optional accumulation dtype ``dtype_``; integers and bool
accumulate in int64. Built on the shared machinery of ``reduction``.

    >>> import torchlite as tl
    >>> x = tl.tensor([[1, 2, 3], [4, 5, 6]])
    >>> x.cumsum(1).tolist(), x.cumprod(0).tolist()
    ([[1, 3, 6], [4, 9, 15]], [[1, 2, 3], [4, 10, 18]])
"""
from __future__ import annotations

import numpy as np

from .. import dtypes as _dt
from ..lazy import op_error
from ..tensor import Tensor, apply
from . import pointwise as _pw
from .registry import OpDef, register
from .reduction import _check_dim, _compute, _dtype_arg, _finish, _no_out, _one_dim, _sum_dtype, _tensor_arg


# --- cumsum / cumprod --------------------------------------------------------------------------------------

def _meta_cumulative(srcs, params):
    x = srcs[0]
    _check_dim(x, params[0])
    return x.shape, params[1] if params[1] is not None else _sum_dtype(x.dtype)


def _cumulative_kernel(fn):
    def kernel(x, *, dim, dtype_, dtype, out=None):
        xc = _compute(x, dtype)
        r = fn(xc, axis=dim) if x.ndim else xc.copy()
        return _finish(r, x, dtype, out)
    kernel.__name__ = fn.__name__
    return kernel


CUMSUM = register(OpDef("cumsum", _meta_cumulative, _cumulative_kernel(np.cumsum), ("dim", "dtype_"),
                        kind="reduction", supports_out=True, donate=(0,),
                        doc="Running sum along ``dim``; integers and bool accumulate in int64."))
CUMPROD = register(OpDef("cumprod", _meta_cumulative, _cumulative_kernel(np.cumprod), ("dim", "dtype_"),
                         kind="reduction", supports_out=True, donate=(0,),
                         doc="Running product along ``dim``; integers and bool accumulate in int64."))


# --- frontends --------------------------------------------------------------------------------------------

def _cumulative(name: str, op):
    def f(input, dim, *, dtype=None, out=None) -> Tensor:
        _tensor_arg(name, input)
        _no_out(name, out)
        return apply(op, (input,), (_one_dim(name, input, dim), _dtype_arg(dtype)))
    f.__name__ = f.__qualname__ = name
    f.__doc__ = (f"Running {name[3:]} along ``dim``; integers and bool give int64 unless ``dtype`` is set "
                 "(the input is converted to it first).")
    return f


cumsum = _cumulative("cumsum", CUMSUM)
cumprod = _cumulative("cumprod", CUMPROD)


def _cumulative_(name: str, fn):
    def f(self, dim, *, dtype=None) -> Tensor:
        if self.dtype is _dt.bool:
            raise op_error(NotImplementedError, name, f"\"{name[:-1]}_out_cpu\" not implemented for 'Bool'")
        return self._write(fn(self, dim, dtype=dtype))
    f.__name__ = f.__qualname__ = name
    f.__doc__ = f"In-place ``{name[:-1]}``: ``x.{name}(dim)`` rebinds ``x`` to the result (kept in x's dtype)."
    return f


cumsum_ = _cumulative_("cumsum_", cumsum)
cumprod_ = _cumulative_("cumprod_", cumprod)


METHODS = ["cumsum", "cumprod", "cumsum_", "cumprod_"]
INPLACE: list[str] = []
__all__ = ["cumsum", "cumprod"]


# --- VJP rules (notes/VJP.md): ``rule(g, out, x, *params) -> (grad_x,)`` -----------------------------------

from . import creation as _cr      # noqa: E402 (used by the rules only)
from ..autograd.grad_mode import is_grad_enabled as _grad_enabled      # noqa: E402


def _reversed_cumsum(t: Tensor, d: int) -> Tensor:
    return cumsum(t.flip(d), d).flip(d)


def _vjp_cumsum(g, out, x, dim, dtype_):
    return (g if x.ndim == 0 else _reversed_cumsum(g, dim),)


def _cumprod_grad_quadratic(g: Tensor, x: Tensor, dim: int) -> Tensor:
    """``sum(g[i] * prod(x[j] for j <= i if j != k) for i >= k)`` at each ``k`` along ``dim``, built from an
    (n, n) table of running products that skip ``k``: O(n^2), no division, so its own derivative is exact."""
    n = x.shape[dim]
    ar = _cr.arange(n)
    k_is_i, i_from_k = ar.unsqueeze(-1) == ar, ar.unsqueeze(-1) <= ar        # [k, i] masks
    skip_k = _pw.where(k_is_i, 1.0, x.movedim(dim, -1).unsqueeze(-2))      # (..., k, i): x[i], 1 at i == k
    terms = _pw.where(i_from_k, cumprod(skip_k, -1), 0.0) * g.movedim(dim, -1).unsqueeze(-2)
    return terms.sum(-1).movedim(-1, dim)


def _vjp_cumprod(g, out, x, dim, dtype_):
    """PyTorch's cumprod_backward. O(n) and exact with zeros: before the first zero of a slice
    ``reversed_cumsum(out * g) / x``; at the first zero the same sum with that zero taken as 1 (products that
    skip it); after it 0. That formula's own derivative is wrong past a zero, so under create_graph (grad mode
    on while the rule runs) the O(n^2) formula is used instead, as PyTorch does."""
    if x.ndim == 0 or x.shape[dim] <= 1:
        return (g,)
    if _grad_enabled():
        return (_cumprod_grad_quadratic(g, x, dim),)
    zero = x == 0
    seen = cumsum(zero, dim)                           # zeros up to and including each position
    before = seen == 0
    first = zero & (seen == 1)
    by_division = _reversed_cumsum(out * g, dim) / _pw.where(before, x, 1.0)
    at_first = _reversed_cumsum(g * cumprod(_pw.where(first, 1.0, x), dim), dim)
    return (_pw.where(before, by_division, _pw.where(first, at_first, 0.0)),)


VJPS = {CUMSUM: _vjp_cumsum, CUMPROD: _vjp_cumprod}
for _op, _rule in VJPS.items():
    _op.vjp = _rule
