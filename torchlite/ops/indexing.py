"""Indexing and the data-moving ops that are not views: advanced ``x[idx]`` / ``x[idx] = v``, gather/scatter,
cat/stack/split, flip/roll/repeat, tril/triu, pad, one_hot, sort/topk.

Basic indices (ints, slices, None, ``...``) are views (``movement.basic_getitem``); everything with a tensor or
list in it is *advanced* and copies, as in PyTorch: the basic parts are applied first as a view, then one
``index`` node takes the index tensors (``dims`` says which dims of that view they index; numpy's placement
rule for adjacent/separated index tensors is PyTorch's). ``x[idx] = v`` is a ``slice_scatter`` (basic) or an
``index_put`` (advanced) written back through ``x`` and every view it came from.

Sync points (the frontend realizes data before building a node, because a shape or an error depends on it):
boolean masks in indices (the result's shape is the mask's count of True), bounds of integer index tensors
(IndexError at the user's line, not at realize time), ``nonzero``/``argwhere``/``masked_select``,
``one_hot`` (class bounds, and ``num_classes=-1``), ``tensor_split`` with a tensor of indices.

    >>> import torchlite as tl
    >>> x = tl.arange(6).reshape(2, 3); x[:, [0, 2]] = 9; x.tolist()
    [[9, 1, 9], [9, 4, 9]]
"""
from __future__ import annotations

import math
import warnings
from collections import namedtuple

import numpy as np

from .. import dtypes as _dt
from ..lazy import LazyNode, op_error, user_frame
from ..tensor import Tensor, apply
from . import movement as _mv
from ._meta import broadcast_shapes, torch_name, wrap_dim, wrap_dims
from .registry import OpDef, register

_INDEX_DTYPES = (_dt.int64, _dt.int32)
_F32 = np.dtype(np.float32)
_BF16 = _dt.bfloat16.np
_C_NAMES = {"int64": "long int", "int32": "int", "int16": "short int", "int8": "signed char",
            "uint8": "unsigned char", "bool": "bool", "float32": "float", "float64": "double",
            "float16": "c10::Half", "bfloat16": "c10::BFloat16"}
_CTYPES = {"int64": "int64_t", "int32": "int32_t", "int16": "int16_t", "int8": "int8_t", "uint8": "uint8_t"}

SortResult = namedtuple("sort", ["values", "indices"])
TopkResult = namedtuple("topk", ["values", "indices"])


# --- small helpers ----------------------------------------------------------------------------------------

def _err(cls, name, msg):
    return op_error(cls, name, msg)


def _dim(name: str, dim, ndim: int) -> int:
    try:
        return wrap_dim(dim, ndim)
    except (IndexError, TypeError) as e:
        raise _err(type(e), name, str(e)) from None


def _dims(name: str, dims, ndim: int) -> tuple:
    try:
        return wrap_dims(dims, ndim)
    except (IndexError, RuntimeError, TypeError) as e:
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
        raise _err(RuntimeError, name, f"value cannot be converted to type {_CTYPES[dtype.name]} without overflow")
    v = int(v)
    info = np.iinfo(dtype.np)
    if not info.min <= v <= info.max:
        raise _err(RuntimeError, name, f"value cannot be converted to type {_CTYPES[dtype.name]} without overflow")
    return v


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) or (isinstance(v, np.generic) and v.dtype.kind in "biuf")


def _leaf(array: np.ndarray, dtype: _dt.dtype, device) -> Tensor:
    """A realized tensor made from data the frontend computed (after a sync point)."""
    return Tensor._wrap(LazyNode.leaf(np.ascontiguousarray(array, dtype=dtype.np), dtype, device, user_frame()))


def _compute(a: np.ndarray) -> np.ndarray:
    """float16/bfloat16 widened to float32 (numpy's ufunc.at and sorts on them are slow or missing)."""
    return a.astype(_F32) if a.dtype == _BF16 or a.dtype == np.float16 else a


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
    flat = list(_flatten(obj))
    if not flat:
        return tensor(np.zeros(np.shape(obj), dtype=np.int64))
    return tensor(obj)


def _flatten(obj):
    stack = [obj]
    while stack:
        x = stack.pop()
        if isinstance(x, (list, tuple)):
            stack.extend(x)
        else:
            yield x


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
        view._assign(_value_like("setitem", value, view.shape, input.dtype, device=input.device).node)
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
    node = apply(INDEX_PUT, (view, *tensors, v), (dims, False)).node
    view._assign(node)


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
    x._assign(where(m, v, x).node)


# --- index_put / index_select / index_add / index_copy / index_fill / take ------------------------------

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


_OOB = "index {v} is out of bounds for dimension {dim} with size {size}"
# per op: accepted index dtypes, (exception, message) for a bad dtype / too many dims / out of bounds, and
# whether negative indices count from the end
_VECTOR_INDEX = {
    "index_select": (_INDEX_DTYPES, (RuntimeError, "index_select(): Expected dtype int32 or int64 for index"),
                     (IndexError, "index_select(): Index is supposed to be a vector"),
                     (IndexError, "index out of range in self"), False),
    # torch's cpu kernel for dim 1 words it differently
    "index_select@1": (_INDEX_DTYPES, (RuntimeError, "index_select(): Expected dtype int32 or int64 for index"),
                       (IndexError, "index_select(): Index is supposed to be a vector"),
                       (RuntimeError, "INDICES element is out of DATA bounds, id={v} axis_dim={size}"), False),
    "index_add": (_INDEX_DTYPES, (RuntimeError, "index_add_(): Expected dtype int32/int64 for index but got: {dt}"),
                  (IndexError, "index_add_(): Index is supposed to be a vector, but got dim: {nd} with type: {dt} and "
                               "size: {shape}"), (RuntimeError, _OOB), False),
    "index_copy": ((_dt.int64,), (RuntimeError, "index_copy_(): Expected a long tensor for index, but got {dt}"),
                   (IndexError, "index_copy_(): Index should have dimension 1 or 0 (got {nd})"),
                   (IndexError, "index_copy_(): " + _OOB), False),
    "index_fill": ((_dt.int64,), (IndexError, "index_fill_(): Expected dtype int64 for index."),
                   (RuntimeError, "Index has to be a vector/scalar"), (IndexError, _OOB), True),
}


def _vector_index(name: str, index, input: Tensor, dim: int, variant: str = "") -> Tensor:
    """``index`` checked as ``name`` checks it (dtype, dims, bounds: a sync), as a 1-d tensor."""
    dtypes, bad_dtype, bad_ndim, oob, negative = _VECTOR_INDEX[name + variant]
    if not isinstance(index, Tensor):
        raise _err(TypeError, name, f"{name}(): argument 'index' must be Tensor, not {type(index).__name__}")
    info = dict(dt=torch_name(index.dtype), nd=index.ndim, shape=list(index.shape))
    if index.dtype not in dtypes:
        raise _err(bad_dtype[0], name, bad_dtype[1].format(**info))
    if index.ndim > 1:
        raise _err(bad_ndim[0], name, bad_ndim[1].format(**info))
    size = input.shape[dim] if input.ndim else 1
    _check_bounds(name, index, size, dim, negative=negative, cls=oob[0], fmt=oob[1])
    return _mv.reshape(index, (1,)) if index.ndim == 0 else index


def index_select(input: Tensor, dim: int, index: Tensor) -> Tensor:
    """The entries of ``input`` at ``index`` (a vector) along ``dim``."""
    d = _dim("index_select", dim, input.ndim)
    idx = _vector_index("index_select", index, input, d, "@1" if d == 1 and input.ndim > 1 else "")
    if input.ndim == 0:
        return _mv.reshape(apply(INDEX, (_mv.reshape(input, (1,)), idx), ((0,),)), ())
    return apply(INDEX, (input, idx), ((d,),))


def _index_source(name: str, input: Tensor, d: int, idx: Tensor, source):
    """``source`` checked against ``input`` and ``idx`` as torch's index_add_/index_copy_ check it."""
    if not isinstance(source, Tensor):
        raise _err(TypeError, name, f"{name}(): argument 'source' must be Tensor, not {type(source).__name__}")
    xn, sn = torch_name(input.dtype), torch_name(source.dtype)
    if source.dtype is not input.dtype:
        if name == "index_copy":
            msg = f"index_copy_(): self and source expected to have the same dtype, but got (self) {xn} and (source) {sn}"
        else:
            msg = f"index_add_(): self ({xn}) and source ({sn}) must have the same scalar type"
        raise _err(RuntimeError, name, msg)
    n = idx.shape[0]
    ss = source.shape if source.ndim else (1,)
    xs = input.shape if input.ndim else (1,)
    if len(ss) != len(xs) or any(a != b for k, (a, b) in enumerate(zip(ss, xs)) if k != d):
        if name == "index_copy":
            k = next((k for k, (a, b) in enumerate(zip(ss, xs)) if k != d and a != b), d)
            msg = (f"index_copy_(): Source/destination tensor must have same slice shapes. Destination slice shape: "
                   f"{xs[k]} at dimension {k} and source slice shape: {ss[k] if k < len(ss) else 1} at dimension {k}.")
        else:
            msg = (f"source tensor shape must match self tensor shape, excluding the specified dimension. Got "
                   f"self.shape = {list(input.shape)} source.shape = {list(source.shape)}")
        raise _err(RuntimeError, name, msg)
    if ss[d] != n:
        if name == "index_copy":
            raise _err(IndexError, name, f"index_copy_(): Number of indices ({n}) should be equal to source.size(dim) "
                       f"({ss[d]})")
        raise _err(RuntimeError, name, f"index_add_(): Number of indices ({n}) should be equal to source.size(dim): "
                   f"({ss[d]}), for dim: {d}")
    return _mv.reshape(source, ss) if source.ndim == 0 else source


def _index_put_dim(input: Tensor, d: int, idx: Tensor, value, accumulate: bool) -> Tensor:
    if input.ndim == 0:
        r = apply(INDEX_PUT, (_mv.reshape(input, (1,)), idx, value), ((0,), accumulate))
        return _mv.reshape(r, ())
    return apply(INDEX_PUT, (input, idx, value), ((d,), accumulate))


def index_add(input: Tensor, dim: int, index: Tensor, source: Tensor, *, alpha=1) -> Tensor:
    """``input`` with ``source`` slices added at ``index`` along ``dim`` (duplicates accumulate)."""
    d = _dim("index_add", dim, input.ndim)
    idx = _vector_index("index_add", index, input, d)
    src = _index_source("index_add", input, d, idx, source)
    if alpha != 1:
        src = (src * alpha).to(input.dtype)
    return _index_put_dim(input, d, idx, src, True)


def index_copy(input: Tensor, dim: int, index: Tensor, source: Tensor) -> Tensor:
    """``input`` with its slices at ``index`` along ``dim`` replaced by ``source``'s."""
    d = _dim("index_copy", dim, input.ndim)
    idx = _vector_index("index_copy", index, input, d)
    src = _index_source("index_copy", input, d, idx, source)
    return _index_put_dim(input, d, idx, src, False)


def index_fill(input: Tensor, dim: int, index: Tensor, value) -> Tensor:
    """``input`` with its slices at ``index`` along ``dim`` set to ``value`` (a number or 0-d tensor)."""
    d = _dim("index_fill", dim, input.ndim)
    idx = _vector_index("index_fill", index, input, d)
    if isinstance(value, Tensor):
        if value.ndim:
            raise _err(RuntimeError, "index_fill", f"index_fill_ only supports a 0-dimensional value tensor, but got "
                       f"tensor with {value.ndim} dimension(s).")
        xs = input.shape if input.ndim else (1,)
        v = _mv.expand(value.to(input.dtype), xs[:d] + (idx.shape[0],) + xs[d + 1:])
    elif _is_number(value):
        v = _scalar_for(input.dtype, value, "index_fill")
    else:
        raise _err(TypeError, "index_fill", f"index_fill(): argument 'value' must be Number or Tensor, not "
                   f"{type(value).__name__}")
    return _index_put_dim(input, d, idx, v, False)


def take(input: Tensor, index: Tensor) -> Tensor:
    """``input.flatten()[index]`` (negative indices count from the end)."""
    _check_tensor("take", index, "index")
    if index.dtype is not _dt.int64:
        raise _err(RuntimeError, "take", f"take(): Expected a long tensor for index, but got {torch_name(index.dtype)}")
    n = input.numel()
    _check_bounds("take", index, n, 0, fmt="out of range: tried to access index {v} on a tensor of {size} elements.")
    return apply(INDEX, (_mv.reshape(input, (n,)), index), ((0,),))


# --- gather / scatter -------------------------------------------------------------------------------------

def _meta_gather(srcs, params):
    (dim,) = params
    return srcs[1].shape, srcs[0].dtype


def _slices_to(shape: tuple, skip: int | None = None) -> tuple:
    return tuple(slice(None) if d == skip else slice(0, s) for d, s in enumerate(shape))


def _gather_kernel(x, index, *, dim, dtype):
    if index.size == 0:
        return np.empty(index.shape, dtype)
    x1, i1 = np.atleast_1d(x), np.atleast_1d(index)
    xs = x1[_slices_to(i1.shape, dim)]
    return np.take_along_axis(xs, i1, axis=dim).reshape(index.shape)


GATHER = register(OpDef("gather", _meta_gather, _gather_kernel, ("dim",), kind="indexing",
                        doc="out[i][j] = x[index[i][j]][j] (for dim=0); index is int64."))


def _check_index_tensor(name: str, input: Tensor, d: int, index, src=None, *, gather=False):
    """PyTorch's shape/dtype checks for gather/scatter, then (a sync) the bounds of ``index``."""
    if not isinstance(index, Tensor):
        raise _err(TypeError, name, f"{name}(): argument 'index' must be Tensor, not {type(index).__name__}")
    if index.dtype is not _dt.int64:
        raise _err(RuntimeError, name, f"{'gather' if gather else 'scatter'}(): Expected dtype int64 for index")
    nd = max(input.ndim, 1)
    xs, is_ = input.shape or (1,), index.shape or (1,)
    if max(index.ndim, 1) != nd and index.numel():
        raise _err(RuntimeError, name, "Index tensor must have the same number of dimensions as "
                   + ("input tensor" if gather else "self tensor"))
    if isinstance(src, Tensor) and max(src.ndim, 1) != nd and index.numel():
        raise _err(RuntimeError, name, "Index tensor must have the same number of dimensions as src tensor")
    if index.numel():
        if gather:
            for k in range(nd):
                if k != d and is_[k] > xs[k]:
                    raise _err(RuntimeError, name, f"Size does not match at dimension {k} expected index "
                               f"{list(index.shape)} to be no larger than self {list(input.shape)} apart from "
                               f"dimension {d}")
        else:
            ss = (src.shape or (1,)) if isinstance(src, Tensor) else None
            bad = any(k != d and is_[k] > xs[k] for k in range(nd))
            bad = bad or (ss is not None and any(is_[k] > ss[k] for k in range(nd)))
            if bad:
                msg = (f"Expected index {list(index.shape)} to be no larger than self {list(input.shape)} apart from "
                       f"dimension {d}")
                if ss is not None:
                    msg += f" and to be no larger size than src {list(src.shape)}"
                raise _err(RuntimeError, name, msg)
    _check_bounds(name, index, xs[d], d, negative=False, cls=RuntimeError)


def gather(input: Tensor, dim: int, index: Tensor, *, sparse_grad: bool = False) -> Tensor:
    """Values of ``input`` along ``dim`` at ``index`` (same number of dims as input; int64).

        >>> import torchlite as tl
        >>> tl.tensor([[1, 2], [3, 4]]).gather(1, tl.tensor([[1], [0]])).tolist()
        [[2], [3]]
    """
    d = _dim("gather", dim, input.ndim)
    _check_index_tensor("gather", input, d, index, gather=True)
    return apply(GATHER, (input, index), (d,))


def take_along_dim(input: Tensor, indices: Tensor, dim: int | None = None) -> Tensor:
    """``gather`` with ``indices`` broadcast against ``input`` (all dims but ``dim``); flattened if dim is None."""
    if dim is None:
        return gather(_mv.reshape(input, (-1,)), 0, _mv.reshape(indices, (-1,)))
    d = _dim("take_along_dim", dim, input.ndim)
    if indices.ndim != input.ndim:
        raise _err(RuntimeError, "take_along_dim", f"torch.take_along_dim(): input and indices should have the same "
                   f"number of dimensions, but got {input.ndim} dimensions for input, and {indices.ndim} dimensions "
                   "for indices")
    xs, is_ = list(input.shape), list(indices.shape)
    xs[d] = is_[d] = 1
    try:
        b = list(broadcast_shapes(tuple(xs), tuple(is_)))
    except RuntimeError as e:
        raise _err(RuntimeError, "take_along_dim", str(e)) from None
    xb = b.copy()
    xb[d] = input.shape[d]
    ib = b.copy()
    ib[d] = indices.shape[d]
    return gather(_mv.expand(input, tuple(xb)), d, _mv.expand(indices, tuple(ib)))


_REDUCE_UFUNC = {"add": np.add, "sum": np.add, "multiply": np.multiply, "prod": np.multiply, "amax": np.maximum,
                 "amin": np.minimum, "mean": np.add}


def _meta_scatter(srcs, params):
    return srcs[0].shape, srcs[0].dtype


_REDUCE_INIT = {"sum": 0, "mean": 0, "prod": 1}


def _reduce_init(reduce: str, dt: np.dtype):
    """The identity of ``reduce`` in dtype ``dt`` (for include_self=False)."""
    if reduce in _REDUCE_INIT:
        return _REDUCE_INIT[reduce]
    if dt.kind == "f":
        return -np.inf if reduce == "amax" else np.inf
    if dt.kind == "b":
        return reduce == "amin"
    info = np.iinfo(dt)
    return info.min if reduce == "amax" else info.max


def _scatter_kernel(x, index, src, *, dim, reduce, include_self, dtype, out=None):
    if index.size == 0:
        if out is None:
            return x.copy()
        out[...] = x
        return out
    x1 = x.reshape(1) if x.ndim == 0 else x
    i1 = index.reshape(1) if index.ndim == 0 else index
    key = list(np.indices(i1.shape, sparse=True))
    key[dim] = i1
    key = tuple(key)
    vals = np.atleast_1d(src)[_slices_to(i1.shape)] if isinstance(src, np.ndarray) else src
    if reduce is None:
        r = x1.copy() if out is None else out.reshape(x1.shape)
        if out is not None and out is not x:
            r[...] = x1
        r[key] = vals
    else:
        r = _compute(x1).copy()              # float16/bfloat16 accumulate in float32, rounded once
        if isinstance(vals, np.ndarray):
            vals = _compute(vals)
        if not include_self:
            r[key] = _reduce_init(reduce, r.dtype)
        _REDUCE_UFUNC[reduce].at(r, key, vals)
        if reduce == "mean":
            count = np.zeros(r.shape, np.int64)
            np.add.at(count, key, 1)
            if include_self:
                count += 1
            count = np.maximum(count, 1)
            r = r / count if r.dtype.kind == "f" else np.floor_divide(r, count)
        r = r.astype(dtype, copy=False)
        if out is not None:
            out.reshape(x1.shape)[...] = r
    if out is not None:
        return out
    return r.reshape(x.shape)


SCATTER = register(OpDef("scatter", _meta_scatter, _scatter_kernel, ("dim", "reduce", "include_self"),
                         kind="indexing", supports_out=True, donate=(0,),
                         doc="x with x[index[i][j]][j] = src[i][j] (dim=0), or combined by ``reduce``."))


def _scatter_value(name: str, input: Tensor, src, *, tensor_only=False):
    if isinstance(src, Tensor):
        if src.dtype is not input.dtype:
            raise _err(RuntimeError, name, "scatter(): Expected self.dtype to be equal to src.dtype")
        return src
    if tensor_only or not _is_number(src):
        raise _err(TypeError, name, f"{name}(): argument 'src' must be Tensor, not {type(src).__name__}")
    return _scalar_for(input.dtype, src, name)


def scatter(input: Tensor, dim: int, index: Tensor, src=None, value=None, *, reduce: str | None = None) -> Tensor:
    """``input`` with ``src`` (tensor) or ``value`` (number) written at ``index`` along ``dim``;
    ``reduce="add"|"multiply"`` combines instead of overwriting."""
    if src is None:
        src = value
    if src is None:
        raise _err(TypeError, "scatter", "scatter() missing required argument 'src' or 'value'")
    if reduce is not None and reduce not in ("add", "multiply"):
        raise _err(RuntimeError, "scatter", "reduce argument must be either add or multiply.")
    d = _dim("scatter", dim, input.ndim)
    s = _scatter_value("scatter", input, src)
    _check_index_tensor("scatter", input, d, index, s)
    return apply(SCATTER, (input, index, s), (d, reduce, True))


def scatter_add(input: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    """``input`` with ``src`` added at ``index`` along ``dim`` (duplicates accumulate)."""
    d = _dim("scatter_add", dim, input.ndim)
    s = _scatter_value("scatter_add", input, src, tensor_only=True)
    _check_index_tensor("scatter_add", input, d, index, s)
    return apply(SCATTER, (input, index, s), (d, "add", True))


def scatter_reduce(input: Tensor, dim: int, index: Tensor, src: Tensor, reduce: str, *,
                   include_self: bool = True) -> Tensor:
    """``input`` with ``src`` combined in at ``index`` by ``reduce`` ("sum", "prod", "mean", "amax", "amin")."""
    if reduce not in ("sum", "prod", "mean", "amax", "amin"):
        raise _err(RuntimeError, "scatter_reduce", f"reduce argument must be either sum, prod, mean, amax or amin, "
                   f"got {reduce}")
    d = _dim("scatter_reduce", dim, input.ndim)
    s = _scatter_value("scatter_reduce", input, src, tensor_only=True)
    _check_index_tensor("scatter_reduce", input, d, index, s)
    return apply(SCATTER, (input, index, s), (d, reduce, bool(include_self)))


# --- masks ------------------------------------------------------------------------------------------------

def _check_mask(name: str, mask, what="masked_fill_"):
    if not isinstance(mask, Tensor):
        raise _err(TypeError, name, f"{name}(): argument 'mask' must be Tensor, not {type(mask).__name__}")
    if mask.dtype is not _dt.bool:
        if what == "masked_select":
            raise _err(RuntimeError, name, "masked_select: expected BoolTensor for mask")
        raise _err(RuntimeError, name, f"{what} only supports boolean masks, but got mask with dtype "
                   f"{_C_NAMES[mask.dtype.name]}")


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


# --- cat / stack / split ------------------------------------------------------------------------------------

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


# --- flip / roll / repeat / tril / triu -------------------------------------------------------------------

def _same_shape(srcs, params):
    return srcs[0].shape, srcs[0].dtype


FLIP = register(OpDef("flip", _same_shape, lambda x, *, dims, dtype: np.flip(x, dims) if dims and x.ndim else x,
                      ("dims",), kind="movement", view=True,
                      doc="Reverse the order along ``dims`` (a copy in PyTorch; the numpy kernel returns a view)."))


def flip(input: Tensor, *dims, **kwargs) -> Tensor:
    """Reverse the order of entries along ``dims``: ``x.flip(0, 1)``, ``x.flip([0, 1])``, ``flip(x, dims=[0])``."""
    if "dims" in kwargs:
        dims = (kwargs.pop("dims"),)
    if kwargs:
        raise _err(TypeError, "flip", f"flip() got unexpected keyword arguments {sorted(kwargs)}")
    if not dims:
        raise _err(TypeError, "flip", 'flip() missing 1 required positional arguments: "dims"')
    ds = _dims("flip", _int_list("flip", dims), input.ndim)
    return apply(FLIP, (input,), (ds,))


def fliplr(input: Tensor) -> Tensor:
    if input.ndim < 2:
        raise _err(RuntimeError, "fliplr", "Input must be >= 2-d.")
    return flip(input, 1)


def flipud(input: Tensor) -> Tensor:
    if input.ndim < 1:
        raise _err(RuntimeError, "flipud", "Input must be >= 1-d.")
    return flip(input, 0)


def _roll_kernel(x, *, shifts, dims, dtype):
    if not dims:
        return np.roll(x, shifts[0])
    return np.roll(x, shifts, axis=dims)


ROLL = register(OpDef("roll", _same_shape, _roll_kernel, ("shifts", "dims"), kind="movement",
                      doc="Rotate entries by ``shifts`` along ``dims`` (all entries, flattened, if dims is empty)."))


def roll(input: Tensor, shifts, dims=None) -> Tensor:
    """Rotate entries by ``shifts`` along ``dims`` (over the flattened tensor when dims is None)."""
    sh = _int_list("roll", (shifts,)) if isinstance(shifts, (tuple, list)) else _int_list("roll", (shifts,))
    if dims is None:
        if len(sh) != 1:
            raise _err(RuntimeError, "roll", f"shifts and dimensions must align. shifts: {len(sh)}, dims:0")
        return apply(ROLL, (input,), (sh, ()))
    ds = (dims,) if isinstance(dims, int) else tuple(dims)
    if len(sh) != len(ds):
        raise _err(RuntimeError, "roll", f"shifts and dimensions must align. shifts: {len(sh)}, dims:{len(ds)}")
    if input.ndim == 0:
        raise _err(IndexError, "roll", "Dimension specified as 0 but tensor has no dimensions")
    ds = tuple(_dim("roll", d, input.ndim) for d in ds)
    return apply(ROLL, (input,), (sh, ds))


def _meta_repeat(srcs, params):
    (reps,) = params
    s = srcs[0].shape
    s = (1,) * (len(reps) - len(s)) + s
    return tuple(a * b for a, b in zip(s, reps)), srcs[0].dtype


REPEAT = register(OpDef("repeat", _meta_repeat,
                        lambda x, *, reps, dtype: np.tile(x, reps) if reps else x.copy(),
                        ("reps",), kind="movement", doc="Tile ``x`` ``reps`` times along each dim (np.tile)."))


def repeat(input: Tensor, *sizes) -> Tensor:
    """Tile ``input``: ``x.repeat(2, 3)`` repeats dim -2 twice and dim -1 three times (may add leading dims)."""
    reps = _int_list("repeat", sizes)
    if len(reps) < input.ndim:
        raise _err(RuntimeError, "repeat", "Number of dimensions of repeat dims can not be smaller than number of "
                   "dimensions of tensor")
    for r in reps:
        if r < 0:
            s = (1,) * (len(reps) - input.ndim) + input.shape
            raise _err(RuntimeError, "repeat", f"Trying to create tensor with negative dimension {r}: "
                       f"{[a * b for a, b in zip(s, reps)]}")
    return apply(REPEAT, (input,), (reps,))


def tile(input: Tensor, *dims) -> Tensor:
    """``repeat`` with fewer reps allowed (missing ones are 1, at the front): ``x.tile(2)``, ``x.tile((2, 1))``."""
    reps = _int_list("tile", dims)
    reps = (1,) * (input.ndim - len(reps)) + reps
    return repeat(input, reps)


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


# --- pad ----------------------------------------------------------------------------------------------------

_PAD_SIZES = ("Supported combinations for non-constant padding:\n"
              "  - 2D or 3D input: padding size = 2 (pads last dimension)\n"
              "  - 3D or 4D input: padding size = 4 (pads last 2 dimensions)\n"
              "  - 4D or 5D input: padding size = 6 (pads last 3 dimensions)")


def _meta_pad(srcs, params):
    widths, mode = params
    s = srcs[0].shape
    return tuple(n + a + b for n, (a, b) in zip(s, widths)), srcs[0].dtype


def _pad_kernel(x, value, *, widths, mode, dtype):
    if not widths:
        return x.copy()
    if mode == "circular":
        x = x[tuple(slice(max(-a, 0), n - max(-b, 0)) for n, (a, b) in zip(x.shape, widths))]
        pos = tuple((max(a, 0), max(b, 0)) for a, b in widths)
        return np.pad(x, pos, mode="wrap")
    pos = tuple((max(a, 0), max(b, 0)) for a, b in widths)
    if mode == "constant":
        x = x[tuple(slice(max(-a, 0), n - max(-b, 0)) for n, (a, b) in zip(x.shape, widths))]
        return np.pad(x, pos, mode="constant", constant_values=np.array(value).astype(dtype))
    r = np.pad(x, pos, mode="reflect" if mode == "reflect" else "edge")
    return r[tuple(slice(max(-a, 0), n - max(-b, 0)) for n, (a, b) in zip(r.shape, widths))]


PAD = register(OpDef("pad", _meta_pad, _pad_kernel, ("widths", "mode"), kind="movement",
                     doc="Pad (or crop, for negative widths) each dim by (before, after); constant/reflect/replicate/"
                         "circular."))


def pad(input: Tensor, pad, mode: str = "constant", value=None) -> Tensor:
    """``torch.nn.functional.pad``: ``pad`` lists (left, right) widths from the last dim backwards.

        >>> import torchlite as tl
        >>> pad(tl.ones(1, 2), (1, 0), value=5.0).tolist()
        [[5.0, 1.0, 1.0]]
    """
    p = _int_list("pad", (pad,))
    nd = input.ndim
    if len(p) % 2:
        raise _err(RuntimeError, "pad", "Padding length must be divisible by 2")
    if len(p) // 2 > nd:
        raise _err(RuntimeError, "pad", f"Padding length should be less than or equal to two times the input "
                   f"dimension but got padding length {len(p)} and input of dimension {nd}")
    k = len(p) // 2
    widths = [(0, 0)] * (nd - k) + [(p[2 * (k - 1 - j)], p[2 * (k - 1 - j) + 1]) for j in range(k)]
    widths = tuple(widths)
    s = input.shape
    if mode == "constant":
        for d, ((a, b), n) in enumerate(zip(widths, s)):
            if n + a + b < 0:
                raise _err(RuntimeError, "pad", f"The input size {n}, plus negative padding {a} and {b} resulted in a "
                           f"negative output size, which is invalid. Check dimension {d} of your input.")
        v = _scalar_for(input.dtype, 0 if value is None else value, "pad")
        return apply(PAD, (input, v), (widths, "constant"))
    if mode not in ("reflect", "replicate", "circular"):
        raise _err(NotImplementedError, "pad", f"Unrecognised padding mode {mode}")
    if value is not None and value != 0:
        raise _err(RuntimeError, "pad", f'Padding mode "{mode}" doesn\'t take in value argument')
    if not ((k == 1 and nd in (2, 3)) or (k == 2 and nd in (3, 4)) or (k == 3 and nd in (4, 5))):
        raise _err(NotImplementedError, "pad", f"Padding size {len(p)} is not supported for {nd}D input tensor.\n"
                   + _PAD_SIZES)
    for d in range(nd - k - (1 if nd == k + 2 else 0), nd):
        if s[d] == 0 and d >= nd - k:
            raise _err(RuntimeError, "pad", f"Expected {k + 1}D or {k + 2}D (batch mode) tensor with possibly 0 batch "
                       f"size and other non-zero dimensions for input, but got: {list(s)}")
    if nd == k + 2 and s[1] == 0:
        raise _err(RuntimeError, "pad", f"Expected {k + 1}D or {k + 2}D (batch mode) tensor with possibly 0 batch "
                   f"size and other non-zero dimensions for input, but got: {list(s)}")
    for j in range(k):                      # pairs from the last dim backwards, as torch checks them
        d = nd - 1 - j
        a, b = widths[d]
        if mode == "reflect" and (a >= s[d] or b >= s[d]):
            raise _err(RuntimeError, "pad", f"Argument #{4 + 2 * j}: Padding size should be less than the "
                       f"corresponding input dimension, but got: padding ({a}, {b}) at dimension {d} of input {list(s)}")
        if mode == "circular":
            n = s[d] + min(a, 0) + min(b, 0)
            if a > n or b > n:
                raise _err(RuntimeError, "pad", "Padding value causes wrapping around more than once.")
        if s[d] + a + b < 0:
            raise _err(RuntimeError, "pad", f"input size {s[d]} with padding ({a}, {b}) at dimension {d} gives a "
                       "negative output size")
    return apply(PAD, (input, 0), (widths, mode))


# --- one_hot ------------------------------------------------------------------------------------------------

def _meta_one_hot(srcs, params):
    return srcs[0].shape + (params[0],), _dt.int64


ONE_HOT = register(OpDef("one_hot", _meta_one_hot,
                         lambda x, *, num_classes, dtype: (x[..., None] == np.arange(num_classes)).astype(np.int64),
                         ("num_classes",), kind="indexing", doc="out[..., c] = 1 where x == c (int64)."))


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """``torch.nn.functional.one_hot``: int64 class indices -> int64 one-hot vectors on a new last dim.

    A sync point: the classes are realized to check their bounds (and to find their number when -1)."""
    _check_tensor("one_hot", tensor, "tensor")
    if tensor.dtype is not _dt.int64:
        raise _err(RuntimeError, "one_hot", "one_hot is only applicable to index tensor of type LongTensor.")
    a = np.asarray(tensor.numpy())                           # SYNC
    if num_classes == -1:
        if a.size == 0:
            raise _err(RuntimeError, "one_hot", "Can not infer total number of classes from empty tensor.")
        num_classes = int(a.max()) + 1
    if a.size:
        if a.min() < 0:
            raise _err(RuntimeError, "one_hot", "Class values must be non-negative.")
        if a.max() >= num_classes:
            raise _err(RuntimeError, "one_hot", "Class values must be smaller than num_classes.")
    elif num_classes < 0:
        raise _err(RuntimeError, "one_hot", "Class values must be smaller than num_classes.")
    return apply(ONE_HOT, (tensor,), (int(num_classes),))


# --- sort / argsort / topk --------------------------------------------------------------------------------

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


# --- Tensor methods ---------------------------------------------------------------------------------------

def scatter_(self, dim, index, src=None, value=None, *, reduce=None):
    """In-place ``scatter``."""
    return self._write(scatter(self, dim, index, src, value, reduce=reduce))


METHODS = [
    "split", "split_with_sizes", "chunk", "unbind", "tensor_split", "hsplit", "vsplit", "gather", "scatter",
    "scatter_", "scatter_add", "scatter_reduce", "index_select", "index_add", "index_copy", "index_fill",
    "index_put", "index_put_", "masked_fill", "masked_fill_", "masked_select", "nonzero", "argwhere", "flip",
    "fliplr", "flipud", "roll", "repeat", "tile", "tril", "triu", "topk", "sort", "argsort", "msort",
    "diagonal", "diag", "take", "take_along_dim", "diagonal_scatter",
]
INPLACE = ["scatter_add", "scatter_reduce", "index_add", "index_copy", "index_fill", "tril", "triu"]

__all__ = [
    "cat", "concat", "concatenate", "stack", "hstack", "vstack", "row_stack", "dstack", "column_stack",
    "atleast_1d", "atleast_2d", "atleast_3d", "split", "split_with_sizes", "chunk", "unbind", "tensor_split",
    "hsplit", "vsplit", "gather", "scatter", "scatter_add", "scatter_reduce", "index_select", "index_add",
    "index_copy", "index_fill", "index_put", "index_put_", "masked_fill", "masked_select", "nonzero", "argwhere",
    "flip", "fliplr", "flipud", "roll", "tile", "tril", "triu", "topk", "sort",
    "argsort", "msort", "diagonal", "diag", "diagonal_scatter", "take", "take_along_dim",
]
