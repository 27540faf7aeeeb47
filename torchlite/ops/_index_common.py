"""Checks and conversions shared by the indexing-family modules (``indexing``, ``dim_indexing``, ``joining``,
``rearranging``, ``diagonals``, ``sorting``): dims and int lists read as PyTorch reads them, fill values cast as
torch casts them, index bounds checked in the frontend (a sync) so that an error names the user's line.

    >>> from torchlite.ops._index_common import _int_list
    >>> _int_list("repeat", ((2, 3),)), _int_list("repeat", (2, 3))
    ((2, 3), (2, 3))
"""
from __future__ import annotations

import math

import numpy as np

from .. import dtypes as _dt
from ..lazy import op_error
from ..tensor import Tensor
from ._meta import CPP_SCALAR_NAMES, wrap_dim

_INDEX_DTYPES = (_dt.int64, _dt.int32)
_F32 = np.dtype(np.float32)
_BF16 = _dt.bfloat16.np


def _err(cls, name, msg):
    return op_error(cls, name, msg)


def _dim(name: str, dim, ndim: int) -> int:
    try:
        return wrap_dim(dim, ndim)
    except (IndexError, TypeError) as e:
        raise _err(type(e), name, str(e)) from None


def _check_tensor(name: str, x, what: str = "input"):
    if not isinstance(x, Tensor):
        raise _err(TypeError, name, f"{name}(): argument '{what}' must be Tensor, not {type(x).__name__}")


def _int_list(name: str, args) -> tuple:
    """Ints given as ``f(1, 2)``, ``f((1, 2))`` or ``f([1, 2])``."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        args = tuple(args[0])
    out = []
    for a in args:
        if isinstance(a, Tensor) and a.numel() == 1 and a.dtype.category == 1:
            a = int(a.item())
        if isinstance(a, bool) or not isinstance(a, (int, np.integer)):
            raise _err(TypeError, name, f"{name}(): expected a sequence of ints, got {type(a).__name__}")
        out.append(int(a))
    return tuple(out)


def _scalar_for(dtype: _dt.dtype, v, name: str):
    """Python number ``v`` as a value of ``dtype``'s kind (what torch stores when it fills a tensor)."""
    if isinstance(v, np.generic):
        v = v.item()
    if dtype.category == 2:
        return float(v)
    if dtype.category == 0:
        return bool(v)
    if isinstance(v, float) and not math.isfinite(v):
        raise _err(RuntimeError, name, f"value cannot be converted to type {CPP_SCALAR_NAMES[dtype.name]} without overflow")
    v = int(v)
    info = np.iinfo(dtype.np)
    if not info.min <= v <= info.max:
        raise _err(RuntimeError, name, f"value cannot be converted to type {CPP_SCALAR_NAMES[dtype.name]} without overflow")
    return v


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) or (isinstance(v, np.generic) and v.dtype.kind in "biuf")


def _compute(a: np.ndarray) -> np.ndarray:
    """float16/bfloat16 widened to float32 (numpy's ufunc.at and sorts on them are slow or missing)."""
    return a.astype(_F32) if a.dtype == _BF16 or a.dtype == np.float16 else a


def _check_bounds(name: str, t: Tensor, size: int, dim: int, negative: bool = True, cls=IndexError, fmt=None):
    if t.numel() == 0:
        return
    a = np.asarray(t.numpy())
    lo = -size if negative else 0
    bad = (a < lo) | (a >= size)
    if bad.any():
        v = int(a[bad].flat[0])
        msg = (fmt or "index {v} is out of bounds for dimension {dim} with size {size}").format(v=v, dim=dim, size=size)
        raise _err(cls, name, msg)


def _slices_to(shape: tuple, skip: int | None = None) -> tuple:
    return tuple(slice(None) if d == skip else slice(0, s) for d, s in enumerate(shape))
