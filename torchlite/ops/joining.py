"""Joining and splitting: ``cat``/``stack`` (and hstack/vstack/dstack/column_stack, atleast_1d/2d/3d),
``split``/``chunk``/``unbind``/``tensor_split``/``hsplit``/``vsplit``.

``cat`` and ``stack`` copy (one node; dtypes promote as in torch); the split family returns views (``narrow`` /
``select``), so writes through a piece reach the input. ``tensor_split`` with a tensor of indices is a sync
point (the values decide the pieces' shapes).

    >>> import torchlite as tl
    >>> [p.tolist() for p in tl.cat([tl.arange(2), tl.arange(3)]).split([1, 4])]
    [[0], [1, 0, 1, 2]]
"""
from __future__ import annotations

import numpy as np

from .. import dtypes as _dt
from ..tensor import Tensor, apply
from . import movement as _mv
from ._index_common import _dim, _err, _int_list
from ._meta import torch_name
from .registry import OpDef, register


def _is_legacy_empty(shape) -> bool:
    return len(shape) == 1 and shape[0] == 0


def _meta_cat(srcs, params):
    (dim,) = params
    dtype = srcs[0].dtype
    for s in srcs[1:]:
        dtype = _dt.promote_types(dtype, s.dtype)
    real = [(k, s) for k, s in enumerate(srcs) if not _is_legacy_empty(s.shape)]
    if not real:
        return (0,), dtype
    k0, first = real[0]
    shape = list(first.shape)
    for k, s in real[1:]:
        if len(s.shape) != len(shape):
            raise RuntimeError(f"Tensors must have same number of dimensions: got {len(shape)} and {len(s.shape)}")
        for d, (a, b) in enumerate(zip(shape, s.shape)):
            if d != dim and a != b:
                raise RuntimeError(f"Sizes of tensors must match except in dimension {dim}. Expected size {a} but got "
                                   f"size {b} for tensor number {k} in the list.")
        shape[dim] += s.shape[dim]
    return tuple(shape), dtype


def _cat_kernel(*xs, dim, dtype):
    parts = [x.astype(dtype, copy=False) for x in xs if not (x.ndim == 1 and x.shape[0] == 0)]
    if not parts:
        return np.zeros((0,), dtype)
    return np.concatenate(parts, axis=dim)


CAT = register(OpDef("cat", _meta_cat, _cat_kernel, ("dim",), kind="movement",
                     doc="Concatenation along ``dim`` with type promotion (1-d empty inputs are skipped)."))


def _tensor_seq(name: str, tensors) -> list:
    if isinstance(tensors, Tensor) or not isinstance(tensors, (tuple, list)):
        raise _err(TypeError, name, f"{name}(): argument 'tensors' (position 1) must be tuple of Tensors, not "
                   f"{type(tensors).__name__}")
    for k, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise _err(TypeError, name, f"expected Tensor as element {k} in argument 0, but got {type(t).__name__}")
    return list(tensors)


def cat(tensors, dim: int = 0, *, out=None) -> Tensor:
    """Concatenate along an existing dim; dtypes promote as in torch; 1-d empty tensors are skipped (legacy).

        >>> import torchlite as tl
        >>> tl.cat([tl.zeros(1, 2), tl.ones(2, 2)]).shape
        torchlite.Size([3, 2])
    """
    if out is not None:
        raise _err(TypeError, "cat", "out= is not supported")
    ts = _tensor_seq("cat", tensors)
    if not ts:
        raise _err(ValueError, "cat", "torch.cat(): expected a non-empty list of Tensors")
    for k, t in enumerate(ts):
        if t.ndim == 0:
            raise _err(RuntimeError, "cat", f"zero-dimensional tensor (at position {k}) cannot be concatenated")
    real = [t for t in ts if not _is_legacy_empty(t.shape)]
    d = _dim("cat", dim, real[0].ndim if real else 1)
    return apply(CAT, tuple(ts), (d,))


concat = concatenate = cat


def _meta_stack(srcs, params):
    (dim,) = params
    first = srcs[0].shape
    dtype = srcs[0].dtype
    for k, s in enumerate(srcs[1:], 1):
        if s.shape != first:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got {list(first)} at entry 0 and "
                               f"{list(s.shape)} at entry {k}")
        dtype = _dt.promote_types(dtype, s.dtype)
    return first[:dim] + (len(srcs),) + first[dim:], dtype


STACK = register(OpDef("stack", _meta_stack,
                       lambda *xs, dim, dtype: np.stack([x.astype(dtype, copy=False) for x in xs], axis=dim),
                       ("dim",), kind="movement", doc="Join equal-shaped tensors along a new dim."))


def stack(tensors, dim: int = 0, *, out=None) -> Tensor:
    """Join equal-shaped tensors along a new dim ``dim``."""
    if out is not None:
        raise _err(TypeError, "stack", "out= is not supported")
    ts = _tensor_seq("stack", tensors)
    if not ts:
        raise _err(RuntimeError, "stack", "stack expects a non-empty TensorList")
    d = _dim("stack", dim, ts[0].ndim + 1)
    return apply(STACK, tuple(ts), (d,))


def atleast_1d(*tensors):
    """Each tensor with at least 1 dim (0-d becomes shape (1,))."""
    return _atleast(tensors, 1)


def atleast_2d(*tensors):
    """Each tensor with at least 2 dims (1-d (n,) becomes (1, n))."""
    return _atleast(tensors, 2)


def atleast_3d(*tensors):
    """Each tensor with at least 3 dims ((n,) -> (1, n, 1), (m, n) -> (m, n, 1))."""
    return _atleast(tensors, 3)


def _atleast(tensors, n):
    single = len(tensors) == 1 and isinstance(tensors[0], Tensor)
    ts = tensors[0] if len(tensors) == 1 and isinstance(tensors[0], (tuple, list)) else tensors
    out = []
    for t in ts:
        s = t.shape
        if len(s) >= n:
            out.append(t)
            continue
        if n == 1 or len(s) == 0:
            new = (1,) * n
        elif n == 2:
            new = (1,) + s
        else:
            new = (1,) + s + (1,) if len(s) == 1 else s + (1,)
        out.append(_mv.reshape(t, new))
    return out[0] if single else tuple(out)


def hstack(tensors) -> Tensor:
    """Concatenate column-wise (dim 1; dim 0 for 1-d tensors)."""
    ts = atleast_1d(*_tensor_seq("hstack", tensors))
    ts = (ts,) if isinstance(ts, Tensor) else ts
    if not ts:
        raise _err(ValueError, "hstack", "torch.cat(): expected a non-empty list of Tensors")
    return cat(list(ts), 0 if ts[0].ndim == 1 else 1)


def vstack(tensors) -> Tensor:
    """Concatenate row-wise (1-d tensors become rows)."""
    ts = atleast_2d(*_tensor_seq("vstack", tensors))
    ts = (ts,) if isinstance(ts, Tensor) else ts
    return cat(list(ts), 0)


row_stack = vstack


def dstack(tensors) -> Tensor:
    """Concatenate depth-wise (dim 2)."""
    ts = atleast_3d(*_tensor_seq("dstack", tensors))
    ts = (ts,) if isinstance(ts, Tensor) else ts
    return cat(list(ts), 2)


def column_stack(tensors) -> Tensor:
    """Stack 0-d/1-d tensors as columns, concatenate 2-d ones column-wise."""
    ts = [(_mv.reshape(t, (t.numel(), 1)) if t.ndim < 2 else t) for t in _tensor_seq("column_stack", tensors)]
    return cat(ts, 1)


def split(tensor: Tensor, split_size_or_sections, dim: int = 0) -> tuple:
    """Views of consecutive pieces of ``tensor`` along ``dim``: equal pieces of ``split_size`` (the last may be
    smaller) or pieces of the listed sizes. Writes through a piece change ``tensor``.

        >>> import torchlite as tl
        >>> [p.tolist() for p in tl.arange(5).split(2)]
        [[0, 1], [2, 3], [4]]
    """
    if tensor.ndim == 0:
        raise _err(RuntimeError, "split", "split expects at least a 1-dimensional tensor")
    d = _dim("split", dim, tensor.ndim)
    n = tensor.shape[d]
    if isinstance(split_size_or_sections, (list, tuple)):
        sizes = _int_list("split_with_sizes", (split_size_or_sections,))
        if any(s < 0 for s in sizes) or sum(sizes) != n:
            raise _err(RuntimeError, "split_with_sizes", f"split_with_sizes expects split_sizes to sum exactly to {n} "
                       f"(input tensor's size at dimension {d}), but got split_sizes={list(sizes)}")
    else:
        s = split_size_or_sections
        if isinstance(s, Tensor):
            s = int(s.item())
        if isinstance(s, bool) or not isinstance(s, (int, np.integer)):
            raise _err(TypeError, "split", f"split(): argument 'split_size' must be int, not {type(s).__name__}")
        s = int(s)
        if s < 0:
            raise _err(RuntimeError, "split", f"split expects split_size be non-negative, but got split_size={s}")
        if s == 0 and n != 0:
            raise _err(RuntimeError, "split", f"split_size can only be 0 if dimension size is 0, but got dimension "
                       f"size of {n}")
        sizes = [s] * (n // s) + ([n % s] if n % s else []) if s else [0]
        if not sizes:
            sizes = [0]
    out, start = [], 0
    for s in sizes:
        out.append(_mv.narrow(tensor, d, start, s))
        start += s
    return tuple(out)


def split_with_sizes(tensor: Tensor, split_sizes, dim: int = 0) -> tuple:
    return split(tensor, list(split_sizes), dim)


def chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple:
    """At most ``chunks`` views of (nearly) equal size along ``dim``."""
    if input.ndim == 0:
        raise _err(RuntimeError, "chunk", "chunk expects at least a 1-dimensional tensor")
    if chunks <= 0:
        raise _err(RuntimeError, "chunk", f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    d = _dim("chunk", dim, input.ndim)
    n = input.shape[d]
    if n == 0:
        return split(input, [0] * chunks, d)
    return split(input, -(-n // chunks), d)


def unbind(input: Tensor, dim: int = 0) -> tuple:
    """The slices along ``dim`` as views, that dim removed."""
    if input.ndim == 0:
        raise _err(IndexError, "unbind", "Dimension specified as 0 but tensor has no dimensions")
    d = _dim("unbind", dim, input.ndim)
    return tuple(_mv.select(input, d, i) for i in range(input.shape[d]))


def tensor_split(input: Tensor, indices_or_sections, dim: int = 0) -> tuple:
    """Views split at the given indices, or into ``sections`` pieces whose sizes differ by at most one."""
    if input.ndim == 0:
        raise _err(RuntimeError, "tensor_split", "tensor_split expected at least a 1-dimensional tensor, but got a "
                   "tensor with 0 dims")
    d = _dim("tensor_split", dim, input.ndim)
    n = input.shape[d]
    ios = indices_or_sections
    if isinstance(ios, Tensor):
        if ios.dtype is not _dt.int64:
            raise _err(RuntimeError, "tensor_split", f"tensor_split expected tensor_indices_or_sections to have dtype "
                       f"of long, but got {torch_name(ios.dtype)}")
        if ios.ndim > 1:
            raise _err(RuntimeError, "tensor_split", "tensor_split expected tensor_indices_or_sections to be a "
                       f"zero-dimensional or one-dimensional tensor, but got a tensor with {ios.ndim} dims")
        ios = int(ios.item()) if ios.ndim == 0 else [int(i) for i in ios.tolist()]    # SYNC: values decide shapes
    if isinstance(ios, (list, tuple)):
        bounds = [0] + [min(max(int(i) if i >= 0 else int(i) + n, 0), n) for i in ios] + [n]
    else:
        if ios <= 0:
            raise _err(RuntimeError, "tensor_split", f"number of sections must be larger than 0, got {ios}")
        q, r = divmod(n, ios)
        sizes = [q + 1] * r + [q] * (ios - r)
        bounds = [0]
        for s in sizes:
            bounds.append(bounds[-1] + s)
    out = []
    for a, b in zip(bounds[:-1], bounds[1:]):
        out.append(_mv.narrow(input, d, a, max(b - a, 0)) if a <= n else _mv.narrow(input, d, n, 0))
    return tuple(out)


def hsplit(input: Tensor, indices_or_sections) -> tuple:
    return tensor_split(input, indices_or_sections, 1 if input.ndim > 1 else 0)


def vsplit(input: Tensor, indices_or_sections) -> tuple:
    return tensor_split(input, indices_or_sections, 0)


METHODS = ["split", "split_with_sizes", "chunk", "unbind", "tensor_split", "hsplit", "vsplit"]
INPLACE = []

__all__ = [
    "cat", "concat", "concatenate", "stack", "hstack", "vstack", "row_stack", "dstack", "column_stack",
    "atleast_1d", "atleast_2d", "atleast_3d", "split", "split_with_sizes", "chunk", "unbind", "tensor_split",
    "hsplit", "vsplit",
]


# --- VJP rules (autograd; notes/VJP.md) --------------------------------------------------------------------
# Each input gets its own block of the output's gradient (a 1-d empty input, skipped by cat, gets zeros).

def _vjp_cat(g, out, *rest):
    xs, (dim,) = rest[:-1], rest[-1:]
    grads, start = [], 0
    for x in xs:
        if _is_legacy_empty(x.shape) and not _is_legacy_empty(out.shape):
            grads.append(_mv._zeros(x.shape, g))
            continue
        n = x.shape[dim]
        grads.append(_mv.basic_getitem(g, (slice(None),) * dim + (slice(start, start + n),)))
        start += n
    return tuple(grads)


def _vjp_stack(g, out, *rest):
    xs, (dim,) = rest[:-1], rest[-1:]
    return tuple(_mv.select(g, dim, k) for k in range(len(xs)))


VJPS = {CAT: _vjp_cat, STACK: _vjp_stack}
for _op, _rule in VJPS.items():
    _op.vjp = _rule
