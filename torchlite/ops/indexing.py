"""Advanced indexing: ``x[idx]`` / ``x[idx] = v``, ``index_put``, and boolean masks (``masked_fill``,
``masked_select``, ``nonzero``/``argwhere``).

Basic indices (ints, slices, None, ``...``) are views (``movement.basic_getitem``); everything with a tensor or
list in it is *advanced* and copies, as in PyTorch: the basic parts are applied first as a view, then one
``index`` node takes the index tensors (``dims`` says which dims of that view they index; numpy's placement
rule for adjacent/separated index tensors is PyTorch's). ``x[idx] = v`` is a ``slice_scatter`` (basic) or an
``index_put`` (advanced) written back through ``x`` and every view it came from.

Sync points (the frontend realizes data before building a node, because a shape or an error depends on it):
boolean masks in indices (the result's shape is the mask's count of True), bounds of integer index tensors
(IndexError at the user's line, not at realize time), ``nonzero``/``argwhere``/``masked_select``.

The family's other copying data-movers sit beside this module: ``dim_indexing`` (index_select/index_add/...,
take, gather/scatter), ``joining`` (cat/stack/split), ``rearranging`` (flip/roll/repeat/tile, pad, one_hot),
``diagonals`` (tril/triu, diagonal/diag) and ``sorting`` (sort/argsort/topk).

    >>> import torchlite as tl
    >>> x = tl.arange(6).reshape(2, 3); x[:, [0, 2]] = 9; x.tolist()
    [[9, 1, 9], [9, 4, 9]]
"""
from __future__ import annotations

import warnings

import numpy as np

from .. import dtypes as _dt
from ..lazy import LazyNode, user_frame
from ..tensor import Tensor, apply
from . import movement as _mv
from .creation import _flat
from ._index_common import (_BF16, _F32, _INDEX_DTYPES, _check_bounds, _check_tensor, _compute, _err, _is_number,
                            _scalar_for)
from ._meta import C_NAMES, broadcast_shapes, torch_name
from .registry import OpDef, register



# --- small helpers ----------------------------------------------------------------------------------------

def _leaf(array: np.ndarray, dtype: _dt.dtype, device) -> Tensor:
    """A realized tensor made from data the frontend computed (after a sync point)."""
    return Tensor._wrap(LazyNode.leaf(np.ascontiguousarray(array, dtype=dtype.np), dtype, device, user_frame()))


def _index_shape(vshape: tuple, ishapes: list, dims: tuple) -> tuple:
    """The shape of ``v[..., i0, ..., i1, ...]`` with index tensors of ``ishapes`` at ``dims`` (numpy's rule)."""
    try:
        b = broadcast_shapes(*ishapes)
    except RuntimeError:
        raise IndexError("shape mismatch: indexing tensors could not be broadcast together with shapes "
                         + ", ".join(str(list(s)) for s in ishapes)) from None
    rest_before = vshape[:dims[0]]
    if dims == tuple(range(dims[0], dims[0] + len(dims))):
        return rest_before + b + vshape[dims[-1] + 1:]
    return b + tuple(n for d, n in enumerate(vshape) if d not in dims)


def _np_key(ndim: int, idx, dims) -> tuple:
    key = [slice(None)] * ndim
    for d, i in zip(dims, idx):
        key[d] = i
    return tuple(key)


# --- op: index (advanced getitem) -------------------------------------------------------------------------

def _meta_index(srcs, params):
    (dims,) = params
    x, idx = srcs[0], srcs[1:]
    if len(idx) != len(dims) or not idx:
        raise IndexError(f"expected {len(dims)} index tensors, got {len(idx)}")
    for i in idx:
        if i.dtype not in _INDEX_DTYPES:
            raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
    if any(d >= len(x.shape) for d in dims) or list(dims) != sorted(set(dims)):
        raise IndexError(f"bad index dims {dims} for a tensor of dimension {len(x.shape)}")
    return _index_shape(x.shape, [i.shape for i in idx], dims), x.dtype


def _index_kernel(x, *idx, dims, dtype):
    return x[_np_key(x.ndim, idx, dims)]


INDEX = register(OpDef("index", _meta_index, _index_kernel, ("dims",), kind="indexing",
                       doc="x[..., i0, ..., i1] with integer index tensors at ``dims`` (a copy)."))


def _meta_index_put(srcs, params):
    dims, accumulate = params
    x, idx, value = srcs[0], srcs[1:-1], srcs[-1]
    shape, _ = _meta_index((x,) + tuple(idx), (dims,))
    if type(value) is LazyNode:
        if value.shape != shape:
            raise RuntimeError(f"shape mismatch: value tensor of shape {list(value.shape)} cannot be broadcast "
                               f"to indexing result of shape {list(shape)}")
        if value.dtype is not x.dtype:
            raise RuntimeError(f"Index put requires the source and destination dtypes match, got {torch_name(x.dtype)} "
                               f"for the destination and {torch_name(value.dtype)} for the source.")
    return x.shape, x.dtype


def _index_put_kernel(x, *rest, dims, accumulate, dtype, out=None):
    idx, value = rest[:-1], rest[-1]
    key = _np_key(x.ndim, idx, dims)
    if not accumulate:
        if out is None:
            out = x.copy()
        elif out is not x:
            out[...] = x
        out[key] = value
        return out
    acc = _compute(x).copy() if dtype in (np.float16, _BF16) else None
    if acc is None:
        if out is None:
            out = x.copy()
        elif out is not x:
            out[...] = x
        np.add.at(out, key, value)
        return out
    np.add.at(acc, key, _compute(value) if isinstance(value, np.ndarray) else value)
    if out is None:
        return acc.astype(dtype)
    out[...] = acc
    return out


INDEX_PUT = register(OpDef("index_put", _meta_index_put, _index_put_kernel, ("dims", "accumulate"),
                           kind="indexing", supports_out=True, donate=(0,),
                           doc="x with x[..., i0, ..., i1] = value (or += with accumulate; duplicates add up)."))


# --- resolving an index -----------------------------------------------------------------------------------

_BAD_INDEX = "only integers, slices (`:`), ellipsis (`...`), None and long or byte Variables are valid indices (got {})"


def _sequence_as_tuple(index) -> bool:
    """PyTorch's rule (still in 2.x, deprecated): a short list holding sequences, slices, tensors, None or
    ``...`` is a tuple of indices, not an index tensor."""
    if not isinstance(index, list) or len(index) >= 32:
        return False
    return any(isinstance(i, (Tensor, list, tuple, slice, np.ndarray)) or i is None or i is Ellipsis for i in index)


def _as_items(index) -> tuple:
    if isinstance(index, tuple):
        return index
    if _sequence_as_tuple(index):
        fn, line = user_frame()
        warnings.warn_explicit("Using a non-tuple sequence for multidimensional indexing is deprecated; use "
                               "x[tuple(seq)] instead of x[seq] (PyTorch will read it as a tensor index)",
                               UserWarning, fn, line)
        return tuple(index)
    return (index,)


def _to_index_tensor(obj) -> Tensor:
    from .creation import tensor
    if isinstance(obj, np.ndarray):
        return tensor(obj)
    flat = list(_flat(obj))
    if not flat:
        return tensor(np.zeros(np.shape(obj), dtype=np.int64))
    return tensor(obj)


def _classify(item, name: str):
    """One index item as (kind, value): none, ellipsis, int, slice, tensor (int), mask (bool k-d), bool0."""
    if item is None:
        return "none", None
    if item is Ellipsis:
        return "ellipsis", None
    if isinstance(item, bool):
        return "bool0", item
    if isinstance(item, (int, np.integer)) and not isinstance(item, np.bool_):
        return "int", int(item)
    if isinstance(item, slice):
        return "slice", item
    if isinstance(item, (list, tuple, np.ndarray)):
        item = _to_index_tensor(item)
    if isinstance(item, Tensor):
        d = item.dtype
        if d is _dt.bool or d is _dt.uint8:
            if d is _dt.uint8:
                fn, line = user_frame()
                warnings.warn_explicit("indexing with dtype torchlite.uint8 is now deprecated, please use a dtype "
                                       "torchlite.bool instead.", UserWarning, fn, line)
            return ("bool0", item) if item.ndim == 0 else ("mask", item)
        if item.ndim == 0 and d.category == 1:
            return "int", int(item.item())       # a 0-d integer tensor selects, like an int (a view)
        if d not in _INDEX_DTYPES:
            raise _err(IndexError, name, "tensors used as indices must be long, int, byte or bool tensors")
        return "tensor", item
    t = type(item)
    raise _err(IndexError, name, _BAD_INDEX.format(t.__name__ if t.__module__ == "builtins" else
                                                  f"{t.__module__}.{t.__name__}"))


def _classify_all(index, name: str) -> list:
    return [_classify(i, name) for i in _as_items(index)]


def _is_basic(items) -> bool:
    return all(k in ("none", "ellipsis", "int", "slice") for k, _ in items)


def _resolve(x: Tensor, items: list, name: str):
    """Split an index into a basic view of ``x`` and integer index tensors on some of the view's dims.

    Returns (view, index tensors, dims). Boolean masks become integer tensors here (``nonzero``): this realizes
    the mask (a sync point: the result's shape depends on its values). Integer index tensors are realized to
    check their bounds, so that an IndexError names the user's line.
    """
    ndim = x.ndim
    consumed = sum(1 if k in ("int", "slice", "tensor") else (v.ndim if k == "mask" else 0) for k, v in items)
    basic, adv, pos = [], [], 0
    for k, v in items:
        if k == "none":
            basic.append(None)
            pos += 1
        elif k == "ellipsis":
            basic.append(Ellipsis)
            pos += max(ndim - consumed, 0)
        elif k == "int":
            basic.append(v)
        elif k == "slice":
            basic.append(v)
            pos += 1
        elif k == "tensor":
            basic.append(slice(None))
            adv.append((pos, k, v))
            pos += 1
        elif k == "mask":
            basic.extend([slice(None)] * v.ndim)
            adv.append((pos, k, v))
            pos += v.ndim
        else:   # bool0: a new dim of size 1, indexed by [0] (True) or [] (False)
            basic.append(None)
            adv.append((pos, k, v))
            pos += 1
    try:
        idx, vshape = _mv.normalize_basic_index(tuple(basic), x.shape)
    except (IndexError, ValueError) as e:
        raise _err(type(e), name, str(e)) from None
    # shape checks first (no sync needed), then the data-dependent parts
    for p, k, v in adv:
        if k == "mask":
            ms = v.shape
            for j in range(len(ms)):
                if ms[j] != vshape[p + j]:
                    raise _err(IndexError, name, f"The shape of the mask {list(ms)} at index {j} does not match the "
                               f"shape of the indexed tensor {list(vshape)} at index {p + j}")
    tensors, dims, user = [], [], []
    for p, k, v in adv:
        if k == "tensor":
            user.append(len(tensors))
            tensors.append(v)
            dims.append(p)
        elif k == "mask":
            # SYNC: the mask's values decide the result's shape, so realize it and take its nonzero positions.
            nz = np.nonzero(np.asarray(v.numpy()))
            for j, a in enumerate(nz):
                tensors.append(_leaf(a, _dt.int64, x.device))
                dims.append(p + j)
        else:
            truth = v if isinstance(v, bool) else bool(v.item())       # SYNC for a 0-d bool tensor
            tensors.append(_leaf(np.zeros(1 if truth else 0, np.int64), _dt.int64, x.device))
            dims.append(p)
    # SYNC: bounds of the user's integer index tensors, checked now so the error names the user's line
    # (torch's message numbers the dimension by the index tensor's position among all of them).
    for ordinal in user:
        _check_bounds(name, tensors[ordinal], vshape[dims[ordinal]], ordinal)
    identity = len(idx) == ndim and all(type(i) is tuple and i == (0, n, 1) for i, n in zip(idx, x.shape))
    view = x if identity else apply(_mv.GETITEM, (x,), (idx, vshape))
    return view, tensors, tuple(dims)


# --- getitem / setitem ------------------------------------------------------------------------------------

def getitem(input: Tensor, index) -> Tensor:
    """``input[index]``: a view for basic indices, a copy (an ``index`` node) when tensors or lists are in it.

        >>> import torchlite as tl
        >>> tl.arange(6).reshape(2, 3)[[1, 0], 2].tolist()
        [5, 2]
    """
    t = type(index)
    if t is int or t is slice or index is None or index is Ellipsis:
        return _mv.basic_getitem(input, index)
    if t is tuple and all(type(i) in (int, slice) or i is None or i is Ellipsis for i in index):
        return _mv.basic_getitem(input, index)
    items = _classify_all(index, "getitem")
    if _is_basic(items):
        return _mv.basic_getitem(input, tuple(v if k == "int" or k == "slice" else (None if k == "none" else Ellipsis)
                                              for k, v in items))
    view, tensors, dims = _resolve(input, items, "getitem")
    return apply(INDEX, (view, *tensors), (dims,))


def _value_like(name: str, value, shape: tuple, dtype: _dt.dtype, *, cast: bool = True, full: bool = True,
                device=None):
    """``value`` (tensor or number) as a tensor of ``shape`` and ``dtype`` (torch's copy_ rules: leading 1-dims
    of the value may be dropped, the rest broadcast); numbers become a ``full`` node, or stay Python numbers
    (program arguments) with ``full=False``."""
    from .creation import full as _full
    if isinstance(value, Tensor):
        if value.dtype is not dtype:
            if not cast:
                raise _err(RuntimeError, name, f"Index put requires the source and destination dtypes match, got "
                           f"{torch_name(dtype)} for the destination and {torch_name(value.dtype)} for the source.")
            value = value.to(dtype)
        vs = value.shape
        if vs == shape:
            return value
        strip = 0
        while len(vs) - strip > len(shape) and vs[strip] == 1:
            strip += 1
        core = vs[strip:]
        ok = len(core) <= len(shape) and all(a == b or a == 1 for a, b in zip(core[::-1], shape[::-1]))
        if not ok:
            raise _err(RuntimeError, name, f"shape mismatch: value tensor of shape {list(vs)} cannot be broadcast to "
                       f"indexing result of shape {list(shape)}")
        if strip:
            value = _mv.reshape(value, core)
        return _mv.expand(value, shape) if core != shape else value
    if _is_number(value):
        v = _scalar_for(dtype, value, name)
        return _full(shape, v, dtype=dtype, device=device) if full else v
    raise _err(TypeError, name, f"can't assign a {type(value).__name__} to a torchlite.{torch_name(dtype)}Tensor")


def setitem(input: Tensor, index, value) -> None:
    """``input[index] = value``: value (tensor or number) is broadcast to the indexed shape; the write goes
    through ``input`` to its base and every view of it.

    Numbers are always cast to ``input``'s dtype. As in torch, a tensor value is cast for basic indices
    (``copy_``) and for a lone mask with a one-element value (``masked_fill_``, which needs no sync here);
    with other advanced indices (``index_put_``) its dtype must match.

        >>> import torchlite as tl
        >>> x = tl.zeros(2, 3); x[0] = 1.0; x.tolist()
        [[1.0, 1.0, 1.0], [0.0, 0.0, 0.0]]
    """
    items = _classify_all(index, "setitem")
    if len(items) == 1 and items[0][0] == "bool0" and isinstance(items[0][1], bool):
        if not items[0][1]:
            return                  # x[False] = v writes nothing (torch does not even check v)
        items = [("none", None)]    # x[True] = v is x[None] = v
    if _is_basic(items):
        view = _mv.basic_getitem(input, tuple(v if k in ("int", "slice") else (None if k == "none" else Ellipsis)
                                              for k, v in items))
        view._assign(_value_like("setitem", value, view.shape, input.dtype, device=input.device))
        return
    if (len(items) == 1 and items[0][0] == "mask" and
            (_is_number(value) or (isinstance(value, Tensor) and value.numel() == 1))):
        _masked_assign(input, items[0][1], value)     # torch's masked_fill_ fast path: casts the value
        return
    view, tensors, dims = _resolve(input, items, "setitem")
    try:
        shape = _index_shape(view.shape, [t.shape for t in tensors], dims)
    except IndexError as e:
        raise _err(IndexError, "setitem", str(e)) from None
    # as in torch, a tensor value must have input's dtype here (index_put_); numbers are cast
    v = _value_like("setitem", value, shape, input.dtype, cast=False, full=False)
    view._assign(apply(INDEX_PUT, (view, *tensors, v), (dims, False)))


def _masked_assign(x: Tensor, mask: Tensor, value) -> None:
    """``x[mask] = scalar`` without a sync: a ``where`` over x (the mask covers x's leading dims)."""
    from .pointwise import where
    ms = mask.shape
    for j in range(len(ms)):
        if j >= x.ndim or ms[j] != x.shape[j]:
            if j >= x.ndim:
                raise _err(IndexError, "setitem", f"too many indices for tensor of dimension {x.ndim}")
            raise _err(IndexError, "setitem", f"The shape of the mask {list(ms)} at index {j} does not match the shape "
                       f"of the indexed tensor {list(x.shape)} at index {j}")
    if mask.dtype is _dt.uint8:
        mask = mask.to(_dt.bool)
    if isinstance(value, Tensor):
        v = _mv.reshape(value.to(x.dtype), ())
    else:
        v = _scalar_for(x.dtype, value, "setitem")
    m = _mv.reshape(mask, ms + (1,) * (x.ndim - len(ms))) if len(ms) < x.ndim else mask
    x._assign(where(m, v, x))


# --- index_put --------------------------------------------------------------------------------------------

def _index_put_items(name: str, indices) -> list:
    if isinstance(indices, Tensor) or not isinstance(indices, (tuple, list)):
        raise _err(TypeError, name, f"{name}(): argument 'indices' must be tuple of Tensors, not "
                   f"{type(indices).__name__}")
    items = []
    for k, t in enumerate(indices):
        if not isinstance(t, Tensor):
            raise _err(TypeError, name, f"expected Tensor as element {k} in argument 0, but got {type(t).__name__}")
        if t.ndim == 0 and t.dtype.category == 1 and t.dtype is not _dt.uint8:
            if t.dtype not in _INDEX_DTYPES:
                raise _err(IndexError, name, "tensors used as indices must be long, int, byte or bool tensors")
            items.append(("tensor", t))       # unlike x[t], index_put indexes with a 0-d tensor (no select)
        else:
            items.append(_classify(t, name))
    return items


def index_put(input: Tensor, indices, values: Tensor, accumulate: bool = False) -> Tensor:
    """A copy of ``input`` with ``input[indices] = values`` (``+=`` with ``accumulate``; duplicate indices add up)."""
    _check_tensor("index_put", input)
    items = _index_put_items("index_put", indices)
    if not isinstance(values, Tensor):
        raise _err(TypeError, "index_put", f"index_put(): argument 'values' (position 2) must be Tensor, not "
                   f"{type(values).__name__}")
    if values.dtype is not input.dtype:
        raise _err(RuntimeError, "index_put", f"Index put requires the source and destination dtypes match, got "
                   f"{torch_name(input.dtype)} for the destination and {torch_name(values.dtype)} for the source.")
    if not items:
        return _value_like("index_put", values, input.shape, input.dtype) if not accumulate else \
            input + _value_like("index_put", values, input.shape, input.dtype)
    if any(k == "bool0" for k, _ in items):
        raise _err(NotImplementedError, "index_put", "index_put with a 0-dim bool index is not supported")
    view, tensors, dims = _resolve(input, items, "index_put")
    try:
        shape = _index_shape(input.shape, [t.shape for t in tensors], dims)
    except IndexError as e:
        raise _err(IndexError, "index_put", str(e)) from None
    v = _value_like("index_put", values, shape, input.dtype, cast=False)
    return apply(INDEX_PUT, (input, *tensors, v), (dims, bool(accumulate)))


def index_put_(input: Tensor, indices, values: Tensor, accumulate: bool = False) -> Tensor:
    """In-place ``index_put``."""
    return input._write(index_put(input, indices, values, accumulate))


# --- masks ------------------------------------------------------------------------------------------------

def _check_mask(name: str, mask, what="masked_fill_"):
    if not isinstance(mask, Tensor):
        raise _err(TypeError, name, f"{name}(): argument 'mask' must be Tensor, not {type(mask).__name__}")
    if mask.dtype is not _dt.bool:
        if what == "masked_select":
            raise _err(RuntimeError, name, "masked_select: expected BoolTensor for mask")
        raise _err(RuntimeError, name, f"{what} only supports boolean masks, but got mask with dtype "
                   f"{C_NAMES[mask.dtype.name]}")


def masked_fill(input: Tensor, mask: Tensor, value) -> Tensor:
    """``value`` where ``mask`` (bool, broadcastable) is True, else ``input``; value is a number or a 0-d tensor.

        >>> import torchlite as tl
        >>> tl.zeros(3).masked_fill(tl.tensor([True, False, True]), 2.0).tolist()
        [2.0, 0.0, 2.0]
    """
    from .pointwise import where
    _check_tensor("masked_fill", input)
    _check_mask("masked_fill", mask)
    if isinstance(value, Tensor):
        if value.ndim:
            raise _err(RuntimeError, "masked_fill", f"masked_fill_ only supports a 0-dimensional value tensor, but got "
                       f"tensor with {value.ndim} dimension(s).")
        v = value.to(input.dtype)
    elif _is_number(value):
        v = _scalar_for(input.dtype, value, "masked_fill")
    else:
        raise _err(TypeError, "masked_fill", f"masked_fill(): argument 'value' must be Number or Tensor, not "
                   f"{type(value).__name__}")
    try:
        broadcast_shapes(input.shape, mask.shape)
    except RuntimeError as e:
        raise _err(RuntimeError, "masked_fill", str(e)) from None
    r = where(mask, v, input)
    return r if r.dtype is input.dtype else r.to(input.dtype)


def masked_fill_(input: Tensor, mask: Tensor, value) -> Tensor:
    """In-place ``masked_fill`` (the mask must broadcast to ``input``'s shape)."""
    return input._write(masked_fill(input, mask, value))


def masked_select(input: Tensor, mask: Tensor) -> Tensor:
    """The entries of ``input`` where ``mask`` is True, as a 1-d tensor (input and mask broadcast).

    A sync point: the mask is realized, since its number of True entries is the result's length."""
    _check_mask("masked_select", mask, "masked_select")
    try:
        shape = broadcast_shapes(input.shape, mask.shape)
    except RuntimeError as e:
        raise _err(RuntimeError, "masked_select", str(e)) from None
    x = _mv.expand(input, shape) if input.shape != shape else input
    m = _mv.expand(mask, shape) if mask.shape != shape else mask
    if not shape:
        x, m = _mv.reshape(x, (1,)), _mv.reshape(m, (1,))
    nz = np.nonzero(np.asarray(m.numpy()))                     # SYNC: realize the mask
    idx = [_leaf(a, _dt.int64, x.device) for a in nz]
    return apply(INDEX, (x, *idx), (tuple(range(len(idx))),))


def nonzero(input: Tensor, *, as_tuple: bool = False):
    """Indices of the non-zero entries: an (n, ndim) int64 tensor, or a tuple of ndim 1-d tensors.

    A sync point: the input is realized (the result's shape depends on its values)."""
    _check_tensor("nonzero", input)
    a = np.asarray(input.numpy())                              # SYNC
    if a.dtype == _BF16:
        a = a.astype(_F32)
    if a.ndim == 0:
        nz = np.nonzero(a.reshape(1))
        if as_tuple:
            return (_leaf(nz[0], _dt.int64, input.device),)
        return _leaf(np.zeros((len(nz[0]), 0), np.int64), _dt.int64, input.device)
    nz = np.nonzero(a)
    if as_tuple:
        return tuple(_leaf(i, _dt.int64, input.device) for i in nz)
    return _leaf(np.stack(nz, axis=1) if nz else np.zeros((0, 0), np.int64), _dt.int64, input.device)


def argwhere(input: Tensor) -> Tensor:
    """``nonzero(input)``: an (n, ndim) int64 tensor of the indices of non-zero entries."""
    return nonzero(input)


def __getattr__(name: str):
    """``pad`` and ``one_hot`` moved to ``rearranging``; they stay importable from here."""
    if name in ("pad", "one_hot"):
        from . import rearranging
        return getattr(rearranging, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


METHODS = ["index_put", "index_put_", "masked_fill", "masked_fill_", "masked_select", "nonzero", "argwhere"]
INPLACE = []

__all__ = ["index_put", "index_put_", "masked_fill", "masked_select", "nonzero", "argwhere"]


# --- VJP rules (autograd; notes/VJP.md) --------------------------------------------------------------------
# Index tensors (and the integer positions masks became) get no gradient. Duplicate indices accumulate.

def _vjp_index(g, out, x, *rest):
    idx, (dims,) = rest[:-1], rest[-1:]
    g_x = apply(INDEX_PUT, (_mv._zeros(x.shape, g), *idx, g), (dims, True))
    return (g_x,) + (None,) * len(idx)


def _vjp_index_put(g, out, x, *rest):
    idx, value, (dims, accumulate) = rest[:-3], rest[-3], rest[-2:]
    g_x = g if accumulate else apply(INDEX_PUT, (g, *idx, 0.0), (dims, False))
    g_value = apply(INDEX, (g, *idx), (dims,)) if isinstance(value, Tensor) else None
    return (g_x,) + (None,) * len(idx) + (g_value,)


VJPS = {INDEX: _vjp_index, INDEX_PUT: _vjp_index_put}
for _op, _rule in VJPS.items():
    _op.vjp = _rule
