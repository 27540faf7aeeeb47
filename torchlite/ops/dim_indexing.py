"""Indexing along one dim with an index tensor: ``index_select``/``index_add``/``index_copy``/``index_fill``,
``take``, ``gather``/``take_along_dim`` and ``scatter``/``scatter_add``/``scatter_reduce``.

Each op checks its index as PyTorch does (dtype, number of dims, then bounds: a sync point, so that an
out-of-range index raises at the user's line, not at realize time). The ``index_*`` ops and ``take`` build the
``index``/``index_put`` nodes of ``indexing``; gather and scatter have their own ops.

    >>> import torchlite as tl
    >>> tl.zeros(3).index_add(0, tl.tensor([0, 0, 2]), tl.ones(3)).tolist()
    [2.0, 0.0, 1.0]
"""
from __future__ import annotations

import numpy as np

from .. import dtypes as _dt
from ..tensor import Tensor, apply
from . import movement as _mv
from ._index_common import (_INDEX_DTYPES, _check_bounds, _check_tensor, _compute, _dim, _err, _is_number,
                            _scalar_for, _slices_to)
from ._meta import broadcast_shapes, torch_name
from .indexing import INDEX, INDEX_PUT
from .registry import OpDef, register


# --- index_select / index_add / index_copy / index_fill / take --------------------------------------------

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


def scatter_(self, dim, index, src=None, value=None, *, reduce=None):
    """In-place ``scatter``."""
    return self._write(scatter(self, dim, index, src, value, reduce=reduce))


METHODS = [
    "gather", "scatter", "scatter_", "scatter_add", "scatter_reduce", "index_select", "index_add", "index_copy",
    "index_fill", "take", "take_along_dim",
]
INPLACE = ["scatter_add", "scatter_reduce", "index_add", "index_copy", "index_fill"]

__all__ = [
    "gather", "scatter", "scatter_add", "scatter_reduce", "index_select", "index_add", "index_copy", "index_fill",
    "take", "take_along_dim",
]


# --- VJP rules (autograd; notes/VJP.md) --------------------------------------------------------------------
# gather and scatter are each other's transposes; an index gets no gradient. ``src`` may be larger than
# ``index`` (only its leading ``index.shape`` block is read): its gradient is zero-padded back to its shape.

def _gather(x: Tensor, index: Tensor, dim: int) -> Tensor:
    return apply(GATHER, (x, index), (dim,))


def _scatter(x: Tensor, index: Tensor, src, dim: int, reduce=None, include_self: bool = True) -> Tensor:
    return apply(SCATTER, (x, index, src), (dim, reduce, include_self))


def _src_grad(g_src: Tensor, src) -> Tensor | None:
    """``g_src`` (of the index's shape) zero-padded to ``src``'s shape; None for a Python-number src."""
    if not isinstance(src, Tensor):
        return None
    if tuple(g_src.shape) == tuple(src.shape):
        return g_src
    from .rearranging import PAD
    widths = tuple((0, s - n) for s, n in zip(src.shape, g_src.shape))
    return apply(PAD, (g_src, 0.0), (widths, "constant"))


def _vjp_gather(g, out, x, index, dim):
    return _scatter(_mv._zeros(x.shape, g), index, g, dim, "sum"), None


def _vjp_scatter(g, out, x, index, src, dim, reduce, include_self):
    from . import pointwise as _pw
    from .creation import full
    if isinstance(src, Tensor):
        s = _mv.basic_getitem(src, _slices_to(index.shape)) if src.shape != index.shape else src
    else:
        s = full(index.shape, src, dtype=g.dtype, device=g.device)
    untouched = _scatter(g, index, 0.0, dim)        # g where no src element lands, 0 where one does
    if reduce is None:
        return untouched, None, _src_grad(_gather(g, index, dim), src)
    if reduce in ("add", "sum"):
        return (g if include_self else untouched), None, _src_grad(_gather(g, index, dim), src)
    if reduce == "mean":
        ones = full(index.shape, 1.0, dtype=g.dtype, device=g.device)
        count = _scatter(full(x.shape, 1.0 if include_self else 0.0, dtype=g.dtype, device=g.device), index, ones,
                         dim, "sum")
        g_mean = g / _pw.clamp(count, min=1.0)
        return (g_mean if include_self else untouched), None, _src_grad(_gather(g_mean, index, dim), src)
    if reduce in ("amax", "amin"):
        # the gradient is split evenly between every contributor equal to the result (torch's convention)
        x_hit = _pw.eq(x, out).to(g.dtype)
        if not include_self:
            x_hit = _scatter(x_hit, index, 0.0, dim)
        s_hit = _pw.eq(s, _gather(out, index, dim)).to(g.dtype)
        g_each = g / _scatter(x_hit, index, s_hit, dim, "sum")
        return x_hit * g_each, None, _src_grad(s_hit * _gather(g_each, index, dim), src)
    if reduce in ("multiply", "prod"):
        # torch's formula: products that leave out a single zero factor, so zeros get the right gradient
        x_nz = _pw.where(_pw.eq(x, 0.0), 1.0, x)
        g_x = g * _scatter(x_nz, index, s, dim, "prod", include_self) / x_nz
        if not include_self:
            g_x = _scatter(g_x, index, 0.0, dim)
        s_zero = _pw.eq(s, 0.0)
        n_zero = _gather(_scatter(_mv._zeros(x.shape, g), index, s_zero.to(g.dtype), dim, "sum"), index, dim)
        single = _pw.logical_and(s_zero, _pw.eq(n_zero, 1.0))
        without = _scatter(x, index, _pw.where(single, 1.0, s), dim, "prod", include_self)
        g_s = _pw.where(single, _gather(g * without, index, dim),
                        _gather(g * out, index, dim) / _pw.where(s_zero, 1.0, s))
        return g_x, None, _src_grad(g_s, src)
    raise NotImplementedError(f"scatter: no gradient for reduce={reduce!r}")


VJPS = {GATHER: _vjp_gather, SCATTER: _vjp_scatter}
for _op, _rule in VJPS.items():
    _op.vjp = _rule
