"""Sorting: ``argsort`` and ``topk``'s indices are index ops (always stable; NaN sorts as the largest); the values
of ``sort``/``topk`` are a ``gather`` of the input at those indices; ``msort`` sorts along dim 0.

    >>> import torchlite as tl
    >>> tl.tensor([3, 1, 2]).topk(2).indices.tolist()
    [0, 2]
"""
from __future__ import annotations

from collections import namedtuple

import numpy as np

from .. import dtypes as _dt
from ..tensor import Tensor, apply
from ._index_common import _compute, _dim, _err, _slices_to
from ._meta import wrap_dim
from .dim_indexing import GATHER
from .registry import OpDef, register

SortResult = namedtuple("sort", ["values", "indices"])
TopkResult = namedtuple("topk", ["values", "indices"])


def _argsort_np(x, dim: int, descending: bool):
    """Stable argsort; descending keeps equal entries in their original order (as PyTorch's stable sort)."""
    if x.ndim == 0:
        return np.zeros((), np.int64)
    x = _compute(x)
    if not descending:
        return np.argsort(x, axis=dim, kind="stable").astype(np.int64, copy=False)
    n = x.shape[dim]
    r = np.argsort(np.flip(x, dim), axis=dim, kind="stable")
    return (n - 1 - np.flip(r, dim)).astype(np.int64)


def _meta_argsort(srcs, params):
    return srcs[0].shape, _dt.int64


ARGSORT = register(OpDef("argsort", _meta_argsort,
                         lambda x, *, dim, descending, stable, dtype: _argsort_np(x, dim, descending),
                         ("dim", "descending", "stable"), kind="indexing",
                         doc="Indices that sort ``x`` along ``dim`` (always stable; NaN sorts as the largest)."))


def _meta_topk(srcs, params):
    k, dim, largest = params
    s = srcs[0].shape
    return (s[:dim] + (k,) + s[dim + 1:]) if s else (), _dt.int64


def _topk_kernel(x, *, k, dim, largest, dtype):
    r = _argsort_np(x, dim, largest)
    if x.ndim == 0:
        return r
    return np.ascontiguousarray(r[_slices_to(r.shape[:dim]) + (slice(0, k),)])


TOPK = register(OpDef("topk_indices", _meta_topk, _topk_kernel, ("k", "dim", "largest"), kind="indexing",
                      doc="Indices of the ``k`` largest (or smallest) entries along ``dim``, in sorted order."))


def argsort(input: Tensor, dim: int = -1, descending: bool = False, stable: bool = False) -> Tensor:
    """Indices that sort ``input`` along ``dim`` (ties keep their order: the sort is always stable)."""
    d = _dim("argsort", dim, input.ndim)
    return apply(ARGSORT, (input,), (d, bool(descending), bool(stable)))


def sort(input: Tensor, dim: int = -1, descending: bool = False, stable: bool = False):
    """``(values, indices)`` sorted along ``dim``: an ``argsort`` node and a ``gather`` of the values.

        >>> import torchlite as tl
        >>> tl.tensor([3, 1, 2]).sort().values.tolist()
        [1, 2, 3]
    """
    idx = argsort(input, dim, descending, stable)
    d = wrap_dim(dim, input.ndim)
    return SortResult(apply(GATHER, (input, idx), (d,)), idx)


def msort(input: Tensor) -> Tensor:
    return sort(input, 0).values


def topk(input: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True):
    """``(values, indices)`` of the ``k`` largest (``largest=False``: smallest) entries along ``dim``."""
    d = _dim("topk", dim, input.ndim)
    n = input.shape[d] if input.ndim else 1
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 0 <= k <= n:
        raise _err(RuntimeError, "topk", "selected index k out of range")
    if input.dtype is _dt.bool:
        raise _err(RuntimeError, "topk", "topk does not support bool dtypes on CPU")
    idx = apply(TOPK, (input,), (int(k), d, bool(largest)))
    return TopkResult(apply(GATHER, (input, idx), (d,)), idx)


METHODS = ["topk", "sort", "argsort", "msort"]
INPLACE = []

__all__ = ["topk", "sort", "argsort", "msort"]
