"""Triangles and diagonals of matrices: ``tril``/``triu`` (the last two dims), ``diagonal`` (a view of dims
``dim1``/``dim2``: writes reach the input through ``diagonal_scatter``), ``diagonal_scatter`` and ``diag``.

    >>> import torchlite as tl
    >>> tl.ones(2, 2).triu().diagonal(1).tolist()
    [1.0]
"""
from __future__ import annotations

import numpy as np

from ..tensor import Tensor, apply
from . import movement as _mv
from ._index_common import _BF16, _dim, _err
from .registry import OpDef, register


# --- tril / triu ------------------------------------------------------------------------------------------

def _meta_tri(name):
    def meta(srcs, params):
        if len(srcs[0].shape) < 2:
            raise RuntimeError(f"{name}: input tensor must have at least 2 dimensions")
        return srcs[0].shape, srcs[0].dtype
    return meta


def _tri_kernel(fn):
    def kernel(x, *, diagonal, dtype):
        if x.dtype == _BF16 or x.dtype.kind == "b":
            n, m = x.shape[-2:]
            keep = fn(np.ones((n, m), bool), diagonal)
            return np.where(keep, x, np.zeros((), x.dtype))
        return fn(x, diagonal)
    return kernel


TRIL = register(OpDef("tril", _meta_tri("tril"), _tri_kernel(np.tril), ("diagonal",), kind="indexing",
                      doc="Lower triangle of the last two dims (above ``diagonal`` zeroed)."))
TRIU = register(OpDef("triu", _meta_tri("triu"), _tri_kernel(np.triu), ("diagonal",), kind="indexing",
                      doc="Upper triangle of the last two dims (below ``diagonal`` zeroed)."))


def tril(input: Tensor, diagonal: int = 0) -> Tensor:
    """The lower triangle (entries on and below the ``diagonal``-th diagonal) of the last two dims."""
    return apply(TRIL, (input,), (int(diagonal),))


def triu(input: Tensor, diagonal: int = 0) -> Tensor:
    """The upper triangle (entries on and above the ``diagonal``-th diagonal) of the last two dims."""
    return apply(TRIU, (input,), (int(diagonal),))


# --- diagonal ---------------------------------------------------------------------------------------------

def _diag_len(shape, offset, d1, d2) -> int:
    n, m = shape[d1], shape[d2]
    return max(0, min(n, m - offset) if offset >= 0 else min(n + offset, m))


def _meta_diagonal(srcs, params):
    offset, d1, d2 = params
    s = srcs[0].shape
    rest = tuple(n for d, n in enumerate(s) if d not in (d1, d2))
    return rest + (_diag_len(s, offset, d1, d2),), srcs[0].dtype


def _diag_coords(shape, offset, d1, d2):
    k = _diag_len(shape, offset, d1, d2)
    r = np.arange(k)
    return (r, r + offset) if offset >= 0 else (r - offset, r)


def _diagonal_inverse(base, value, offset, dim1, dim2):
    return apply(DIAGONAL_SCATTER, (base, value), (offset, dim1, dim2))


DIAGONAL = register(OpDef("diagonal", _meta_diagonal,
                          lambda x, *, offset, dim1, dim2, dtype: np.diagonal(x, offset, dim1, dim2),
                          ("offset", "dim1", "dim2"), kind="movement", view=True, inverse=_diagonal_inverse,
                          doc="The diagonal of dims (dim1, dim2) as the last dim (a view)."))


def _meta_diagonal_scatter(srcs, params):
    shape, _ = _meta_diagonal(srcs[:1], params)
    if srcs[1].shape != shape:
        raise RuntimeError(f"expected src to have a size equal to the diagonal of the input. Got "
                           f"{list(srcs[1].shape)} for a diagonal of size {list(shape)}")
    return srcs[0].shape, srcs[0].dtype


def _diagonal_scatter_kernel(x, value, *, offset, dim1, dim2, dtype, out=None):
    if out is None:
        out = x.copy()
    elif out is not x:
        out[...] = x
    moved = np.moveaxis(out, (dim1, dim2), (-2, -1))
    rows, cols = _diag_coords(x.shape, offset, dim1, dim2)
    moved[..., rows, cols] = value
    return out


DIAGONAL_SCATTER = register(OpDef("diagonal_scatter", _meta_diagonal_scatter, _diagonal_scatter_kernel,
                                  ("offset", "dim1", "dim2"), kind="indexing", supports_out=True, donate=(0,),
                                  doc="x with its (offset, dim1, dim2) diagonal replaced by ``src``."))


def diagonal(input: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """The ``offset``-th diagonal of dims (dim1, dim2), as the last dim (a view: writes reach ``input``)."""
    d1, d2 = _dim("diagonal", dim1, input.ndim), _dim("diagonal", dim2, input.ndim)
    if d1 == d2:
        raise _err(RuntimeError, "diagonal", f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    return apply(DIAGONAL, (input,), (int(offset), d1, d2))


_diagonal = diagonal


def diagonal_scatter(input: Tensor, src: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """A copy of ``input`` with its diagonal (as ``diagonal`` selects it) replaced by ``src``."""
    d1, d2 = _dim("diagonal_scatter", dim1, input.ndim), _dim("diagonal_scatter", dim2, input.ndim)
    return apply(DIAGONAL_SCATTER, (input, src), (int(offset), d1, d2))


def _meta_diag(srcs, params):
    (k,) = params
    n = srcs[0].shape[0] + abs(k)
    return (n, n), srcs[0].dtype


DIAG = register(OpDef("diag_embed1d", _meta_diag, lambda x, *, diagonal, dtype: np.diag(x, diagonal),
                      ("diagonal",), kind="indexing", doc="A square matrix with 1-d ``x`` on its ``diagonal``."))


def diag(input: Tensor, diagonal: int = 0) -> Tensor:
    """1-d input: a matrix with it on the ``diagonal``-th diagonal; 2-d input: that diagonal (a copy)."""
    if input.ndim == 1:
        return apply(DIAG, (input,), (int(diagonal),))
    if input.ndim == 2:
        return _mv.clone(_diagonal(input, diagonal))
    raise _err(RuntimeError, "diag", f"diag(): Supports 1D or 2D tensors. Got {input.ndim}D")


METHODS = ["tril", "triu", "diagonal", "diag", "diagonal_scatter"]
INPLACE = ["tril", "triu"]

__all__ = ["tril", "triu", "diagonal", "diag", "diagonal_scatter"]


# --- VJP rules (autograd; notes/VJP.md) --------------------------------------------------------------------
# A triangle keeps the gradient of the kept entries; a diagonal and its scatter are each other's transposes.

def _vjp_tril(g, out, x, diagonal):
    return (apply(TRIL, (g,), (diagonal,)),)


def _vjp_triu(g, out, x, diagonal):
    return (apply(TRIU, (g,), (diagonal,)),)


def _vjp_diagonal(g, out, x, offset, dim1, dim2):
    return (apply(DIAGONAL_SCATTER, (_mv._zeros(x.shape, g), g), (offset, dim1, dim2)),)


def _vjp_diagonal_scatter(g, out, x, src, offset, dim1, dim2):
    g_x = apply(DIAGONAL_SCATTER, (g, _mv._zeros(src.shape, g)), (offset, dim1, dim2))
    return g_x, apply(DIAGONAL, (g,), (offset, dim1, dim2))


def _vjp_diag_embed1d(g, out, x, diagonal):
    return (apply(DIAGONAL, (g,), (diagonal, 0, 1)),)


VJPS = {TRIL: _vjp_tril, TRIU: _vjp_triu, DIAGONAL: _vjp_diagonal, DIAGONAL_SCATTER: _vjp_diagonal_scatter,
        DIAG: _vjp_diag_embed1d}
for _op, _rule in VJPS.items():
    _op.vjp = _rule
