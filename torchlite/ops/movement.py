"""Views: reshape/view, permute/transpose, expand, squeeze/unsqueeze, flatten, basic indexing.

Each view op declares ``inverse``: how a write to the view becomes a new value of what it views, which
is what makes ``x[0].add_(1)`` or ``x.t()[1] = 5`` update ``x`` (functionalization, DESIGN.md decision 5).
Their numpy kernels return numpy views where numpy can (``view=True`` tells the memory planner).

    >>> import torchlite as tl
    >>> x = tl.zeros(2, 3); x.t()[2, 1] = 5.0; x.tolist()
    [[0.0, 0.0, 0.0], [0.0, 0.0, 5.0]]
"""
from __future__ import annotations

import numpy as np

from ..lazy import op_error
from ..tensor import Tensor, apply
from ._meta import numel, wrap_dim, wrap_dims
from .registry import OpDef, register


def _sizes(args) -> tuple:
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        args = tuple(args[0])
    out = []
    for a in args:
        if isinstance(a, Tensor):
            a = int(a.item())
        if isinstance(a, bool) or not isinstance(a, (int, np.integer)):
            raise TypeError(f"expected a sequence of ints, got {type(a).__name__}")
        out.append(int(a))
    return tuple(out)


# --- reshape -----------------------------------------------------------------------------------------------

def infer_shape(shape: tuple, n: int) -> tuple:
    """``shape`` with one -1 resolved so that it holds ``n`` elements; RuntimeError otherwise."""
    if shape.count(-1) > 1:
        raise RuntimeError("only one dimension can be inferred")
    for s in shape:
        if s < -1:
            raise RuntimeError(f"invalid shape dimension {s}")
    if -1 in shape:
        known = numel(tuple(s for s in shape if s != -1))
        if known == 0 or n % known:
            raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {n}")
        shape = tuple(n // known if s == -1 else s for s in shape)
    if numel(shape) != n:
        raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {n}")
    return shape


def _meta_reshape(srcs, params):
    return params[0], srcs[0].dtype


def _reshape_inverse(base, value, shape):
    return reshape(value, base.shape)


RESHAPE = register(OpDef("reshape", _meta_reshape, lambda x, *, shape, dtype: np.reshape(x, shape),
                         ("shape",), kind="movement", view=True, inverse=_reshape_inverse))


def reshape(input: Tensor, *shape) -> Tensor:
    """The same elements in a new shape (one dimension may be -1)."""
    try:
        s = infer_shape(_sizes(shape), input.numel())
    except (RuntimeError, TypeError) as e:
        raise op_error(type(e), "reshape", str(e)) from None
    if s == input._node.shape:
        return _alias(input)
    return apply(RESHAPE, (input,), (s,))


view = reshape


def view_as(input: Tensor, other: Tensor) -> Tensor:
    return reshape(input, other.shape)


def reshape_as(input: Tensor, other: Tensor) -> Tensor:
    return reshape(input, other.shape)


def flatten(input: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge dims ``start_dim..end_dim`` into one."""
    nd = input.ndim
    if nd == 0:
        return reshape(input, 1)
    try:
        a, b = wrap_dim(start_dim, nd), wrap_dim(end_dim, nd)
    except IndexError as e:
        raise op_error(IndexError, "flatten", str(e)) from None
    if a > b:
        raise op_error(RuntimeError, "flatten", "start_dim cannot come after end_dim")
    s = input.shape
    return reshape(input, s[:a] + (numel(s[a:b + 1]),) + s[b + 1:])


def unflatten(input: Tensor, dim: int, sizes) -> Tensor:
    """Split dim ``dim`` into ``sizes`` (one may be -1)."""
    try:
        d = wrap_dim(dim, input.ndim)
        sizes = infer_shape(tuple(sizes), input.shape[d])
    except (IndexError, RuntimeError) as e:
        raise op_error(type(e), "unflatten", str(e)) from None
    s = input.shape
    return reshape(input, s[:d] + sizes + s[d + 1:])


def _alias_inverse(base, value):
    return value


ALIAS = register(OpDef("alias", lambda srcs, params: (srcs[0].shape, srcs[0].dtype),
                       lambda x, *, dtype: x, (), kind="movement", view=True, inverse=_alias_inverse))


def _alias(input: Tensor) -> Tensor:
    return apply(ALIAS, (input,))


def detach(input: Tensor) -> Tensor:
    """A tensor sharing ``input``'s value (writes to either show in both), outside autograd."""
    from ..autograd.grad_mode import no_grad
    with no_grad():
        t = _alias(input)
    t._detached = True
    return t


# --- permute -----------------------------------------------------------------------------------------------

def _meta_permute(srcs, params):
    s = srcs[0].shape
    return tuple(s[d] for d in params[0]), srcs[0].dtype


def _permute_inverse(base, value, dims):
    inv = [0] * len(dims)
    for i, d in enumerate(dims):
        inv[d] = i
    return permute(value, inv)


PERMUTE = register(OpDef("permute", _meta_permute, lambda x, *, dims, dtype: np.transpose(x, dims),
                         ("dims",), kind="movement", view=True, inverse=_permute_inverse))


def permute(input: Tensor, *dims) -> Tensor:
    """Reorder dimensions: ``x.permute(2, 0, 1)``."""
    try:
        dims = _sizes(dims)
        if len(dims) != input.ndim:
            raise RuntimeError(f"number of dims don't match in permute: input has {input.ndim} dims, "
                               f"but {len(dims)} were given")
        dims = wrap_dims(dims, input.ndim)
    except (RuntimeError, IndexError, TypeError) as e:
        raise op_error(type(e), "permute", str(e)) from None
    return apply(PERMUTE, (input,), (dims,))


def transpose(input: Tensor, dim0: int, dim1: int) -> Tensor:
    """Swap two dimensions."""
    nd = input.ndim
    try:
        a, b = wrap_dim(dim0, nd), wrap_dim(dim1, nd)
    except (IndexError, TypeError) as e:
        raise op_error(type(e), "transpose", str(e)) from None
    dims = list(range(nd))
    dims[a], dims[b] = dims[b], dims[a]
    return apply(PERMUTE, (input,), (tuple(dims),)) if nd else _alias(input)


swapaxes = swapdims = transpose


def t(input: Tensor) -> Tensor:
    """Transpose a tensor of at most 2 dims."""
    if input.ndim > 2:
        raise op_error(RuntimeError, "t", f"t() expects a tensor with <= 2 dimensions, but self is {input.ndim}D")
    return transpose(input, 0, 1) if input.ndim == 2 else _alias(input)


def movedim(input: Tensor, source, destination) -> Tensor:
    src = (source,) if isinstance(source, int) else tuple(source)
    dst = (destination,) if isinstance(destination, int) else tuple(destination)
    nd = input.ndim
    try:
        src, dst = wrap_dims(src, nd), wrap_dims(dst, nd)
    except (IndexError, RuntimeError) as e:
        raise op_error(type(e), "movedim", str(e)) from None
    if len(src) != len(dst):
        raise op_error(RuntimeError, "movedim", "Invalid source or destination dims: source and destination "
                       "must have the same length")
    order = [d for d in range(nd) if d not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return permute(input, order)


moveaxis = movedim


# --- expand ------------------------------------------------------------------------------------------------

def _meta_expand(srcs, params):
    return params[0], srcs[0].dtype


def _expand_inverse(base, value, shape):
    if base.shape != value.shape:
        raise RuntimeError("unsupported operation: more than one element of the written-to tensor refers to a "
                           "single memory location. Please clone() the tensor before performing the operation.")
    return value


EXPAND = register(OpDef("expand", _meta_expand, lambda x, *, shape, dtype: np.broadcast_to(x, shape),
                        ("shape",), kind="movement", view=True, inverse=_expand_inverse))


def expand(input: Tensor, *sizes) -> Tensor:
    """Broadcast size-1 dims to ``sizes`` without copying (-1 keeps a dim)."""
    sizes = _sizes(sizes)
    s = input.shape
    if len(sizes) < len(s):
        raise op_error(RuntimeError, "expand", f"the number of sizes provided ({len(sizes)}) must be greater or "
                       f"equal to the number of dimensions in the tensor ({len(s)})")
    off = len(sizes) - len(s)
    out = []
    for i, n in enumerate(sizes):
        if i < off:
            if n < 0:
                raise op_error(RuntimeError, "expand", f"The expanded size of the tensor ({n}) isn't allowed in a "
                               "leading, non-existing dimension")
            out.append(n)
            continue
        cur = s[i - off]
        if n == -1:
            n = cur
        if cur != n and cur != 1:
            raise op_error(RuntimeError, "expand", f"The expanded size of the tensor ({n}) must match the existing "
                           f"size ({cur}) at non-singleton dimension {i}.  Target sizes: {list(sizes)}.  "
                           f"Tensor sizes: {list(s)}")
        out.append(n)
    out = tuple(out)
    if out == s:
        return _alias(input)
    return apply(EXPAND, (input,), (out,))


def expand_as(input: Tensor, other: Tensor) -> Tensor:
    return expand(input, other.shape)


def broadcast_to(input: Tensor, shape) -> Tensor:
    return expand(input, tuple(shape))


# --- squeeze / unsqueeze -----------------------------------------------------------------------------------

def squeeze(input: Tensor, dim=None) -> Tensor:
    """Drop size-1 dims (all of them, or those in ``dim``)."""
    s = input.shape
    try:
        dims = wrap_dims(dim, len(s)) if dim is not None else tuple(range(len(s)))
    except (IndexError, RuntimeError, TypeError) as e:
        raise op_error(type(e), "squeeze", str(e)) from None
    new = tuple(n for i, n in enumerate(s) if not (i in dims and n == 1))
    return reshape(input, new) if new != s else _alias(input)


def unsqueeze(input: Tensor, dim: int) -> Tensor:
    """Insert a size-1 dim at ``dim``."""
    try:
        d = wrap_dim(dim, input.ndim + 1)
    except (IndexError, TypeError) as e:
        raise op_error(type(e), "unsqueeze", str(e)) from None
    s = input.shape
    return reshape(input, s[:d] + (1,) + s[d:])


# --- copies ----------------------------------------------------------------------------------------------

CLONE = register(OpDef("clone", lambda srcs, params: (srcs[0].shape, srcs[0].dtype),
                       lambda x, *, dtype: np.array(x, copy=True, order="C"), (), kind="movement"))
CONTIGUOUS = register(OpDef("contiguous", lambda srcs, params: (srcs[0].shape, srcs[0].dtype),
                            lambda x, *, dtype: np.require(x, requirements="C"), (), kind="movement",
                            view=True))


def clone(input: Tensor, *, memory_format=None) -> Tensor:
    """A copy that shares nothing with ``input``."""
    return apply(CLONE, (input,))


def contiguous(input: Tensor, memory_format=None) -> Tensor:
    """The same values laid out row-major (a copy only where the layout needs one)."""
    return apply(CONTIGUOUS, (input,))


# --- basic indexing: ints, slices, None, Ellipsis --------------------------------------------------------

def normalize_basic_index(index, shape: tuple):
    """Resolve a basic index against ``shape``: a tuple of ints, (start, stop, step) triples and Nones,
    plus the result shape. IndexError/ValueError as PyTorch raises them."""
    if not isinstance(index, tuple):
        index = (index,)
    n_real = sum(1 for i in index if i is not None and i is not Ellipsis)
    if sum(1 for i in index if i is Ellipsis) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    if n_real > len(shape):
        raise IndexError(f"too many indices for tensor of dimension {len(shape)}")
    out, res, d = [], [], 0
    for i in index:
        if i is Ellipsis:
            for _ in range(len(shape) - n_real):
                out.append((0, shape[d], 1))
                res.append(shape[d])
                d += 1
        elif i is None:
            out.append(None)
            res.append(1)
        elif isinstance(i, slice):
            step = 1 if i.step is None else _int_index(i.step)
            if step <= 0:
                raise ValueError("step must be greater than zero")
            start, stop, _ = slice(None if i.start is None else _int_index(i.start),
                                   None if i.stop is None else _int_index(i.stop), step).indices(shape[d])
            out.append((start, max(start, stop), step))
            res.append(len(range(start, stop, step)))
            d += 1
        else:
            k = _int_index(i)
            size = shape[d]
            if k < -size or k >= size:
                raise IndexError(f"index {k} is out of bounds for dimension {d} with size {size}")
            out.append(k % size)
            d += 1
    while d < len(shape):
        out.append((0, shape[d], 1))
        res.append(shape[d])
        d += 1
    return tuple(out), tuple(res)


def _int_index(i) -> int:
    if isinstance(i, Tensor):
        if i.numel() != 1 or i.dtype.category != 1:
            raise IndexError("only integer tensors of a single element can be used as a basic index")
        return int(i.item())
    if isinstance(i, bool) or not isinstance(i, (int, np.integer)):
        raise IndexError("only integers, slices (`:`), ellipsis (`...`), None and long or byte or bool tensors "
                         f"are valid indices (got {type(i).__name__})")
    return int(i)


def _np_index(index) -> tuple:
    return tuple(slice(*i) if type(i) is tuple else (np.newaxis if i is None else i) for i in index)


def _meta_getitem(srcs, params):
    return params[1], srcs[0].dtype


def _getitem_kernel(x, *, index, shape, dtype):
    return x[_np_index(index)]


def _getitem_inverse(base, value, index, shape):
    return apply(SLICE_SCATTER, (base, value), (index,))


GETITEM = register(OpDef("getitem", _meta_getitem, _getitem_kernel, ("index", "shape"), kind="movement",
                         view=True, inverse=_getitem_inverse))


def _meta_slice_scatter(srcs, params):
    return srcs[0].shape, srcs[0].dtype


def _slice_scatter_kernel(base, value, *, index, dtype, out=None):
    if out is None:
        out = base.copy()
    elif out is not base:
        out[...] = base
    out[_np_index(index)] = value
    return out


SLICE_SCATTER = register(OpDef("slice_scatter", _meta_slice_scatter, _slice_scatter_kernel, ("index",),
                               kind="indexing", supports_out=True, donate=(0,)))


def basic_getitem(input: Tensor, index) -> Tensor:
    try:
        idx, shape = normalize_basic_index(index, input.shape)
    except (IndexError, ValueError) as e:
        raise op_error(type(e), "getitem", str(e)) from None
    return apply(GETITEM, (input,), (idx, shape))


def narrow(input: Tensor, dim: int, start: int, length: int) -> Tensor:
    """``length`` elements of dim ``dim`` from ``start`` (a view)."""
    try:
        d = wrap_dim(dim, input.ndim)
    except (IndexError, TypeError) as e:
        raise op_error(type(e), "narrow", str(e)) from None
    size = input.shape[d]
    if start < 0:
        start += size
    if not (0 <= start <= size) or length < 0 or start + length > size:
        raise op_error(IndexError, "narrow", f"start ({start}) + length ({length}) exceeds dimension size ({size}).")
    return basic_getitem(input, (slice(None),) * d + (slice(start, start + length),))


def select(input: Tensor, dim: int, index: int) -> Tensor:
    """Index ``index`` of dim ``dim``, removing that dim (a view)."""
    try:
        d = wrap_dim(dim, input.ndim)
    except (IndexError, TypeError) as e:
        raise op_error(type(e), "select", str(e)) from None
    return basic_getitem(input, (slice(None),) * d + (index,))


def _transpose_prop(self):
    return t(self) if self.ndim <= 2 else permute(self, tuple(reversed(range(self.ndim))))


def _mT(self):
    if self.ndim < 2:
        raise op_error(RuntimeError, "mT", f"tensor.mT is only supported on matrices or batches of matrices. "
                       f"Got {self.ndim}-D tensor.")
    return transpose(self, -2, -1)


__all__ = ["reshape", "view_as", "reshape_as", "flatten", "unflatten", "detach", "permute", "transpose", "swapaxes",
           "swapdims", "t", "movedim", "moveaxis", "expand_as", "broadcast_to", "squeeze", "unsqueeze", "clone",
           "narrow", "select"]
PROPERTIES = {"T": _transpose_prop, "mT": _mT}
METHODS = ["reshape", "view", "view_as", "reshape_as", "flatten", "unflatten", "detach", "permute", "transpose",
           "swapaxes", "swapdims", "t", "movedim", "moveaxis", "expand", "expand_as", "broadcast_to", "squeeze",
           "unsqueeze", "clone", "contiguous", "narrow", "select"]
INPLACE = []


# --- VJP rules (autograd; notes/VJP.md) --------------------------------------------------------------------
# A view's gradient is the inverse movement of the output's gradient; basic indexing scatters it into zeros.

def _zeros(shape: tuple, like: Tensor) -> Tensor:
    """Zeros of ``shape`` with ``like``'s dtype and device (a constant: no gradient flows into it)."""
    from .creation import full
    return full(tuple(shape), 0.0, dtype=like.dtype, device=like.device)


def _sum_to_shape(g: Tensor, shape: tuple) -> Tensor:
    """``g`` summed over the dims that broadcasting (``expand``) added to ``shape``."""
    from .reduction import sum as _sum
    lead = g.ndim - len(shape)
    dims = tuple(range(lead)) + tuple(lead + i for i, n in enumerate(shape) if n == 1 and g.shape[lead + i] != 1)
    if dims:
        g = _sum(g, dims, keepdim=True)
    return reshape(g, shape) if tuple(g.shape) != tuple(shape) else g


def _basic_index_shape(index: tuple, shape: tuple) -> tuple:
    """The shape ``x[index]`` has for a normalized basic index (ints, (start, stop, step), None) over ``shape``."""
    out, d = [], 0
    for i in index:
        if i is None:
            out.append(1)
        elif type(i) is tuple:
            out.append(len(range(*i)))
            d += 1
        else:
            d += 1
    return tuple(out) + tuple(shape[d:])


def _vjp_reshape(g, out, x, shape):
    return (reshape(g, x.shape),)


def _vjp_identity(g, out, x):
    return (g,)


def _vjp_permute(g, out, x, dims):
    inv = [0] * len(dims)
    for i, d in enumerate(dims):
        inv[d] = i
    return (apply(PERMUTE, (g,), (tuple(inv),)),)


def _vjp_expand(g, out, x, shape):
    return (_sum_to_shape(g, tuple(x.shape)),)


def _vjp_getitem(g, out, x, index, shape):
    return (apply(SLICE_SCATTER, (_zeros(x.shape, g), g), (index,)),)


def _vjp_slice_scatter(g, out, base, value, index):
    g_base = apply(SLICE_SCATTER, (g, 0.0), (index,))
    if not isinstance(value, Tensor):
        return g_base, None
    g_value = apply(GETITEM, (g,), (index, _basic_index_shape(index, tuple(g.shape))))
    return g_base, g_value            # the engine sums it to value's shape if value was broadcast


VJPS = {
    RESHAPE: _vjp_reshape, ALIAS: _vjp_identity, PERMUTE: _vjp_permute, EXPAND: _vjp_expand,
    CLONE: _vjp_identity, CONTIGUOUS: _vjp_identity, GETITEM: _vjp_getitem, SLICE_SCATTER: _vjp_slice_scatter,
}
for _op, _rule in VJPS.items():
    _op.vjp = _rule
