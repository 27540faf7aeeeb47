"""Reductions: sum/mean/prod, max/min/argmax, var/std, logsumexp, all/any, norm, cumsum/cumprod, softmax.

A few general op-level ops carry the work: each reduction takes the reduced ``dims`` (a sorted tuple of
distinct non-negative dims of its input; ``()`` for a 0-d input) and ``keepdim``; the frontends map
PyTorch's signatures (``dim=None``, ``dim=()``, negative dims, ``unbiased=``, ``dtype=``, ...) onto them
and raise PyTorch's errors at the user's line. ``max(x, dim)`` is two nodes, ``amax`` and ``argmax``.
softmax and log_softmax keep a node of their own (DESIGN.md decision 3). Kernels compute float16 and
bfloat16 in float32 (var/std in float64, as PyTorch's CPU kernels accumulate) and round once.

    >>> import torchlite as tl
    >>> x = tl.tensor([[1., 5., 2.], [4., 0., 4.]])
    >>> x.sum(1).tolist(), x.max(dim=1).indices.tolist(), tl.argmax(x).item()
    ([8.0, 8.0], [1, 0], 1)
"""
from __future__ import annotations

import builtins
import math
import warnings

import numpy as np

from .. import dtypes as _dt
from ..lazy import LazyNode, op_error
from ..tensor import Tensor, apply
from . import pointwise as _pw
from ._meta import default_float, numel, torch_name, wrap_dim
from .registry import OpDef, register
from .. import return_types

_F32 = np.dtype(np.float32)
_F64 = np.dtype(np.float64)
_COMPUTE = {_dt.float16.np: _F32, _dt.bfloat16.np: _F32}   # low-precision floats compute in float32


# --- shared meta pieces --------------------------------------------------------------------------------

def _check_dims(x: LazyNode, dims) -> None:
    """Op-level ``dims`` must be canonical: a sorted tuple of distinct dims in [0, ndim)."""
    nd = len(x.shape)
    if (not isinstance(dims, tuple) or builtins.any(isinstance(d, bool) or not isinstance(d, int) for d in dims)
            or builtins.any(d < 0 or d >= nd for d in dims) or list(dims) != sorted(set(dims))):
        raise ValueError(f"dims must be a sorted tuple of distinct dims in [0, {nd}), got {dims!r}")


def _check_dim(x: LazyNode, dim) -> None:
    """Op-level ``dim`` of a cumulative/softmax op: an int in [0, ndim) (0 for a 0-d input)."""
    nd = len(x.shape)
    if isinstance(dim, bool) or not isinstance(dim, int) or not (0 <= dim < builtins.max(nd, 1)):
        raise ValueError(f"dim must be an int in [0, {builtins.max(nd, 1)}), got {dim!r}")


def _reduced_shape(shape: tuple, dims: tuple, keepdim: bool) -> tuple:
    if keepdim:
        return tuple(1 if i in dims else s for i, s in enumerate(shape))
    return tuple(s for i, s in enumerate(shape) if i not in dims)


def _is_float(d: _dt.dtype) -> bool:
    return d.category == 2


def _sum_dtype(d: _dt.dtype) -> _dt.dtype:
    """sum/prod/cumsum/cumprod of integers and bool accumulate in int64, as PyTorch's do."""
    return d if _is_float(d) else _dt.int64


def _meta_reduce(result_dtype):
    """Meta of a reduction with params ``(dims, keepdim, ...)``; ``result_dtype(dtype, params)``."""
    def meta(srcs, params):
        x = srcs[0]
        _check_dims(x, params[0])
        return _reduced_shape(x.shape, params[0], params[1]), result_dtype(x.dtype, params)
    return meta


# --- kernel helpers ------------------------------------------------------------------------------------

def _compute(x: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """``x`` as the dtype the math runs in for a ``dtype`` result (float32 for float16/bfloat16)."""
    if x.dtype != dtype:
        x = x.astype(dtype)          # PyTorch converts the input to the result dtype first
    cd = _COMPUTE.get(dtype)
    return x.astype(cd) if cd is not None else x


def _finish(r, x: np.ndarray, dtype: np.dtype, out=None) -> np.ndarray:
    """``r`` as a fresh array of ``dtype`` (written into ``out`` when given): never an alias of ``x``."""
    if out is not None:
        out[...] = r
        return out
    r = np.asarray(r)
    if r.dtype != dtype:
        return r.astype(dtype)
    if np.may_share_memory(r, x):
        return r.copy()
    return r


def _axis(x: np.ndarray, dims: tuple):
    return dims if x.ndim else None


# --- sum / mean / prod -----------------------------------------------------------------------------------

def _override_or(rule):
    def result(d, params):
        return params[2] if params[2] is not None else rule(d)
    return result


def _sum_kernel(x, *, dims, keepdim, dtype_, dtype):
    return _finish(np.sum(_compute(x, dtype), axis=dims, keepdims=keepdim), x, dtype)


def _prod_kernel(x, *, dims, keepdim, dtype_, dtype):
    return _finish(np.prod(_compute(x, dtype), axis=dims, keepdims=keepdim), x, dtype)


def _meta_mean_dtype(d, params):
    out = params[2] if params[2] is not None else d
    if not _is_float(out):
        which = "Optional" if params[2] is not None else "Input"
        raise RuntimeError(f"mean(): could not infer output dtype. {which} dtype must be either a floating point "
                           f"or complex dtype. Got: {torch_name(out)}")
    return out


def _mean_kernel(x, *, dims, keepdim, dtype_, dtype):
    xc = _compute(x, dtype)
    n = numel(tuple(x.shape[d] for d in dims))
    # PyTorch's CPU mean: sum in the compute dtype, divide, round once.
    return _finish(np.sum(xc, axis=dims, keepdims=keepdim) / xc.dtype.type(n), x, dtype)


SUM = register(OpDef("sum", _meta_reduce(_override_or(_sum_dtype)), _sum_kernel, ("dims", "keepdim", "dtype_"),
                     kind="reduction", doc="Sum over ``dims``; integers and bool accumulate in int64."))
MEAN = register(OpDef("mean", _meta_reduce(_meta_mean_dtype), _mean_kernel, ("dims", "keepdim", "dtype_"),
                      kind="reduction", doc="Mean over ``dims`` (floating dtypes only)."))
PROD = register(OpDef("prod", _meta_reduce(_override_or(_sum_dtype)), _prod_kernel, ("dims", "keepdim", "dtype_"),
                      kind="reduction", doc="Product over ``dims``; integers and bool accumulate in int64."))


# --- amax / amin / argmax / argmin -----------------------------------------------------------------------

def _exact(x: np.ndarray) -> np.ndarray:
    """bfloat16 widened to float32 (exact) for numpy's comparison loops."""
    return x.astype(_F32) if x.dtype == _dt.bfloat16.np else x


def _check_nonempty_dims(x: LazyNode, dims: tuple) -> None:
    for d in dims:
        if x.shape[d] == 0:
            raise IndexError(f"Expected reduction dim {d} to have non-zero size.")


def _meta_extreme(srcs, params):
    x = srcs[0]
    _check_dims(x, params[0])
    _check_nonempty_dims(x, params[0])
    return _reduced_shape(x.shape, params[0], params[1]), x.dtype


def _extreme_kernel(fn):
    def kernel(x, *, dims, keepdim, dtype):
        return _finish(fn(_exact(x), axis=_axis(x, dims), keepdims=keepdim), x, dtype)
    kernel.__name__ = fn.__name__
    return kernel


AMAX = register(OpDef("amax", _meta_extreme, _extreme_kernel(np.max), ("dims", "keepdim"), kind="reduction",
                      doc="Maximum over ``dims`` (NaN propagates)."))
AMIN = register(OpDef("amin", _meta_extreme, _extreme_kernel(np.min), ("dims", "keepdim"), kind="reduction",
                      doc="Minimum over ``dims`` (NaN propagates)."))


def _meta_arg(srcs, params):
    x = srcs[0]
    dim, keepdim = params
    nd = len(x.shape)
    if dim is None:
        if numel(x.shape) == 0:
            raise IndexError("Expected reduction dim to be specified for input.numel() == 0.")
        return (1,) * nd if keepdim else (), _dt.int64
    _check_dims(x, (dim,))
    _check_nonempty_dims(x, (dim,))
    return _reduced_shape(x.shape, (dim,), keepdim), _dt.int64


def _arg_kernel(fn):
    def kernel(x, *, dim, keepdim, dtype):
        x = _exact(x)
        if dim is None:
            r = np.asarray(fn(x.reshape(-1)))
            if keepdim:
                r = r.reshape((1,) * x.ndim)
        else:
            r = fn(x, axis=dim, keepdims=keepdim)     # numpy: the first index of the extreme, NaN wins
        return _finish(r, x, dtype)
    kernel.__name__ = fn.__name__
    return kernel


ARGMAX = register(OpDef("argmax", _meta_arg, _arg_kernel(np.argmax), ("dim", "keepdim"), kind="reduction",
                        doc="Index of the (first) maximum along ``dim``, or into the flattened input if None."))
ARGMIN = register(OpDef("argmin", _meta_arg, _arg_kernel(np.argmin), ("dim", "keepdim"), kind="reduction",
                        doc="Index of the (first) minimum along ``dim``, or into the flattened input if None."))


# --- var / std -----------------------------------------------------------------------------------------------

def _meta_var(srcs, params):
    x = srcs[0]
    dims, keepdim, correction = params
    _check_dims(x, dims)
    if not _is_float(x.dtype):
        raise RuntimeError("std and var only support floating point and complex dtypes")
    if isinstance(correction, bool) or not isinstance(correction, (int, float)):
        raise TypeError(f"correction must be a number, got {type(correction).__name__}")
    return _reduced_shape(x.shape, dims, keepdim), x.dtype


def _var64(x, dims, keepdim, correction):
    """Two-pass variance in float64 (PyTorch's CPU kernels accumulate var/std in double)."""
    xf = x.astype(_F64)
    n = numel(tuple(x.shape[d] for d in dims))
    ax = _axis(x, dims)
    mean = np.sum(xf, axis=ax, keepdims=True) / _F64.type(n)
    dev = xf - mean
    return np.sum(dev * dev, axis=ax, keepdims=keepdim) / _F64.type(builtins.max(0, n - correction))


def _var_kernel(x, *, dims, keepdim, correction, dtype):
    return _finish(_var64(x, dims, keepdim, correction), x, dtype)


def _std_kernel(x, *, dims, keepdim, correction, dtype):
    return _finish(np.sqrt(_var64(x, dims, keepdim, correction)), x, dtype)


VAR = register(OpDef("var", _meta_var, _var_kernel, ("dims", "keepdim", "correction"), kind="reduction",
                     doc="Variance over ``dims`` with divisor ``max(0, N - correction)``."))
STD = register(OpDef("std", _meta_var, _std_kernel, ("dims", "keepdim", "correction"), kind="reduction",
                     doc="Standard deviation over ``dims`` with divisor ``max(0, N - correction)``."))


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


# --- all / any -------------------------------------------------------------------------------------------------

def _bool_result(d, params):
    return _dt.uint8 if d is _dt.uint8 else _dt.bool    # PyTorch keeps uint8 for all/any


def _truth_kernel(fn):
    def kernel(x, *, dims, keepdim, dtype):
        return _finish(fn(_exact(x) != 0, axis=_axis(x, dims), keepdims=keepdim), x, dtype)
    kernel.__name__ = fn.__name__
    return kernel


ALL = register(OpDef("all", _meta_reduce(_bool_result), _truth_kernel(np.all), ("dims", "keepdim"),
                     kind="reduction", doc="Whether every element over ``dims`` is nonzero."))
ANY = register(OpDef("any", _meta_reduce(_bool_result), _truth_kernel(np.any), ("dims", "keepdim"),
                     kind="reduction", doc="Whether any element over ``dims`` is nonzero."))


# --- norm ------------------------------------------------------------------------------------------------------

def _p_value(p) -> float:
    """The order of a norm op: a finite float, or "inf"/"-inf" (strings keep programs printable)."""
    return float(p)


def _p_name(p: float) -> str:
    return f"{p:g}"


def _meta_norm(srcs, params):
    x = srcs[0]
    p, dims, keepdim = params
    _check_dims(x, dims)
    if not _is_float(x.dtype):
        raise RuntimeError(f"linalg.vector_norm: Expected a floating point or complex tensor as input. "
                           f"Got {torch_name(x.dtype)}")
    if not (isinstance(p, (int, float)) and not isinstance(p, bool) and math.isfinite(p)) \
            and p not in ("inf", "-inf"):
        raise ValueError(f"p must be a finite number or 'inf'/'-inf', got {p!r}")
    pv = _p_value(p)
    if pv < 0 or pv == math.inf:
        if numel(x.shape) == 0 and len(dims) == len(x.shape):
            raise RuntimeError(f"linalg.vector_norm cannot compute the {_p_name(pv)} norm on an empty tensor "
                               "because the operation does not have an identity")
        for d in dims:
            if x.shape[d] == 0:
                raise RuntimeError(f"linalg.vector_norm cannot compute the {_p_name(pv)} norm on the dimension "
                                   f"{d} because this dimension is empty and the operation does not have an identity")
    return _reduced_shape(x.shape, dims, keepdim), x.dtype


def _norm_kernel(x, *, p, dims, keepdim, dtype):
    a = np.abs(_compute(x, dtype))
    ax = _axis(x, dims)
    p = _p_value(p)
    if p == 2:
        r = np.sqrt(np.sum(a * a, axis=ax, keepdims=keepdim))
    elif p == 1:
        r = np.sum(a, axis=ax, keepdims=keepdim)
    elif p == math.inf:
        r = np.max(a, axis=ax, keepdims=keepdim)
    elif p == -math.inf:
        r = np.min(a, axis=ax, keepdims=keepdim)
    elif p == 0:
        r = np.sum(a != 0, axis=ax, keepdims=keepdim, dtype=a.dtype)
    else:
        r = np.sum(a ** a.dtype.type(p), axis=ax, keepdims=keepdim) ** a.dtype.type(1.0 / p)
    return _finish(r, x, dtype)


NORM = register(OpDef("norm", _meta_norm, _norm_kernel, ("p", "dims", "keepdim"), kind="reduction",
                      doc="Vector p-norm over ``dims`` (p: a number, or 'inf'/'-inf')."))


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


# --- frontend helpers ----------------------------------------------------------------------------------------

def _tensor_arg(name: str, input) -> Tensor:
    if not isinstance(input, Tensor):
        raise op_error(TypeError, f"{name}()", "argument 'input' (position 1) must be Tensor, not "
                       f"{type(input).__name__}")
    return input


def _is_int(d) -> bool:
    return isinstance(d, (int, np.integer)) and not isinstance(d, (bool, np.bool_))


def _dims(name: str, input: Tensor, dim, *, empty_means_all: bool = True) -> tuple:
    """PyTorch's ``dim`` argument of a reduction (None, an int, or a tuple/list of ints) as canonical dims.

    ``None`` means every dim; ``()`` means every dim too unless ``empty_means_all`` is False (all/any).
    A 0-d input accepts dim 0 and -1 and reduces nothing.
    """
    nd = input.ndim
    if dim is None:
        dims = tuple(range(nd))
    elif isinstance(dim, (tuple, list)):
        if not builtins.all(_is_int(d) for d in dim):
            bad = next(d for d in dim if not _is_int(d))
            raise op_error(TypeError, f"{name}()", "argument 'dim' must be tuple of ints, but found element "
                           f"of type {type(bad).__name__}")
        if len(dim) == 0:
            return tuple(range(nd)) if empty_means_all else ()
        dims = tuple(int(d) for d in dim)
    elif _is_int(dim):
        dims = (int(dim),)
    else:
        raise op_error(TypeError, f"{name}()", "argument 'dim' must be int or tuple of ints, not "
                       f"{type(dim).__name__}")
    try:
        dims = tuple(wrap_dim(d, nd) for d in dims)
    except IndexError as e:
        raise op_error(IndexError, name, str(e)) from None
    seen = set()
    for d in dims:          # (checked here: _meta.wrap_dims words this wrongly for dims like (1, -1))
        if d in seen:
            raise op_error(RuntimeError, name, f"dim {d} appears multiple times in the list of dims")
        seen.add(d)
    return tuple(sorted(dims)) if nd else ()


def _one_dim(name: str, input: Tensor, dim) -> int:
    """A single int ``dim`` (PyTorch's ``int dim`` arguments), wrapped; TypeError for anything else."""
    if not _is_int(dim):
        raise op_error(TypeError, f"{name}()", f"argument 'dim' (position 2) must be int, not "
                       f"{type(dim).__name__}")
    try:
        return wrap_dim(int(dim), input.ndim)
    except IndexError as e:
        raise op_error(IndexError, name, str(e)) from None


def _dtype_arg(dtype):
    return None if dtype is None else _dt.to_dtype(dtype)


def _nonempty(name: str, input: Tensor, dims: tuple, *, dim_given: bool, all_cls=RuntimeError,
              all_msg: str = "", prefix: str | None = None) -> None:
    """PyTorch's errors for max/min-like reductions over an empty dim (they have no identity)."""
    if input.numel() != 0:
        return
    prefix = f"{name}()" if prefix is None else prefix
    if not dim_given:
        raise op_error(all_cls, prefix, all_msg or "Expected reduction dim to be specified for input.numel() == 0. "
                       "Specify the reduction dim with the 'dim' argument.")
    for d in dims:
        if input.shape[d] == 0:
            raise op_error(IndexError, prefix, f"Expected reduction dim {d} to have non-zero size.")


def _no_out(name: str, out) -> None:
    if out is not None:
        raise op_error(TypeError, name, "out= is not supported; assign the result instead")


# --- frontends: sum / mean / prod ------------------------------------------------------------------------------

def sum(input, dim=None, keepdim: bool = False, *, dtype=None, out=None) -> Tensor:
    """Sum over ``dim`` (all dims if None or ``()``); integers and bool give int64 unless ``dtype`` is set.

        >>> import torchlite as tl
        >>> tl.tensor([[1, 2], [3, 4]]).sum(0).tolist()
        [4, 6]
    """
    _tensor_arg("sum", input)
    _no_out("sum", out)
    return apply(SUM, (input,), (_dims("sum", input, dim), bool(keepdim), _dtype_arg(dtype)))


def mean(input, dim=None, keepdim: bool = False, *, dtype=None, out=None) -> Tensor:
    """Mean over ``dim`` (all dims if None or ``()``); floating inputs, or a floating ``dtype``.

        >>> import torchlite as tl
        >>> tl.tensor([[1., 2.], [3., 5.]]).mean(1).tolist()
        [1.5, 4.0]
    """
    _tensor_arg("mean", input)
    _no_out("mean", out)
    try:
        _meta_mean_dtype(input.dtype, (None, None, _dtype_arg(dtype)))
    except RuntimeError as e:
        raise op_error(RuntimeError, "mean()", str(e)[len("mean(): "):]) from None
    return apply(MEAN, (input,), (_dims("mean", input, dim), bool(keepdim), _dtype_arg(dtype)))


def prod(input, dim=None, keepdim: bool = False, *, dtype=None, out=None) -> Tensor:
    """Product of all elements, or along one int ``dim``; integers and bool give int64.

        >>> import torchlite as tl
        >>> tl.tensor([[1, 2], [3, 4]]).prod(1).tolist()
        [2, 12]
    """
    _tensor_arg("prod", input)
    _no_out("prod", out)
    if dim is None:
        dims = tuple(range(input.ndim))
    else:
        if not _is_int(dim):
            raise op_error(TypeError, "prod()", f"argument 'dim' must be int, not {type(dim).__name__}")
        dims = _dims("prod", input, int(dim))
    return apply(PROD, (input,), (dims, bool(keepdim), _dtype_arg(dtype)))


# --- frontends: max / min / amax / amin / argmax / argmin / aminmax ----------------------------------------

def _extreme(name: str, value_op, index_op, pointwise, rtype):
    def f(input, dim=None, keepdim: bool = False, *, other=None, out=None):
        _tensor_arg(name, input)
        _no_out(name, out)
        if other is not None and dim is None:
            dim = other
        if isinstance(dim, Tensor):                    # max(input, other): the elementwise maximum
            return pointwise(input, dim)
        if dim is None:
            _nonempty(name, input, (), dim_given=False)
            return apply(value_op, (input,), (tuple(range(input.ndim)), False))
        if not _is_int(dim):
            raise op_error(TypeError, f"{name}()", "argument 'dim' must be int or a Tensor (other), not "
                           f"{type(dim).__name__}")
        dims = _dims(name, input, int(dim))
        _nonempty(name, input, dims, dim_given=True)
        keepdim = bool(keepdim)
        if not dims:                                    # a 0-d input: the value itself, index 0
            return rtype(apply(value_op, (input,), (dims, keepdim)), apply(index_op, (input,), (None, keepdim)))
        # The values are gathered at the returned indices (not an amax node), so that the gradient goes to
        # that one element on ties, as PyTorch's max(dim) sends it.
        from .dim_indexing import GATHER               # the indices are in range by construction: no check
        idx = apply(index_op, (input,), (dims[0], True))
        values = apply(GATHER, (input, idx), (dims[0],))
        if not keepdim:
            idx, values = idx.squeeze(dims[0]), values.squeeze(dims[0])
        return rtype(values, idx)
    f.__name__ = f.__qualname__ = name
    f.__doc__ = (f"``{name}(x)``: the {name}imum (0-d); ``{name}(x, dim, keepdim=False)``: a namedtuple "
                 f"``(values, indices)`` (the first index on ties); ``{name}(x, other)``: ``{name}imum``.")
    return f


max = _extreme("max", AMAX, ARGMAX, _pw.maximum, return_types.max)
min = _extreme("min", AMIN, ARGMIN, _pw.minimum, return_types.min)


def _a_extreme(name: str, op):
    def f(input, dim=(), keepdim: bool = False, *, out=None):
        _tensor_arg(name, input)
        _no_out(name, out)
        dims = _dims(name, input, dim)
        given = dim is not None and not (isinstance(dim, (tuple, list)) and len(dim) == 0)
        _nonempty(name, input, dims, dim_given=given)
        return apply(op, (input,), (dims, bool(keepdim)))
    f.__name__ = f.__qualname__ = name
    f.__doc__ = (f"``{name}`` over ``dim`` (an int or a tuple; all dims if empty). NaN propagates; "
                 "an empty reduced dim raises.")
    return f


amax = _a_extreme("amax", AMAX)
amin = _a_extreme("amin", AMIN)


def _arg_extreme(name: str, op):
    def f(input, dim=None, keepdim: bool = False) -> Tensor:
        _tensor_arg(name, input)
        if input.dtype is _dt.bool:
            raise op_error(RuntimeError, f"{name}()", "does not support bool input")
        if dim is None:
            if input.numel() == 0:
                raise op_error(IndexError, f"{name}()", "Expected reduction dim to be specified for "
                               "input.numel() == 0.")
            return apply(op, (input,), (None, bool(keepdim)))
        d = _one_dim(name, input, dim)
        _nonempty(name, input, (d,) if input.ndim else (), dim_given=True)
        return apply(op, (input,), (d if input.ndim else None, bool(keepdim)))
    f.__name__ = f.__qualname__ = name
    f.__doc__ = (f"Index of the {name[3:]}imum along ``dim`` (the first one on ties; NaN counts as the "
                 f"{name[3:]}imum), or into the flattened input when ``dim`` is None. int64.")
    return f


argmax = _arg_extreme("argmax", ARGMAX)
argmin = _arg_extreme("argmin", ARGMIN)


def aminmax(input, *, dim=None, keepdim: bool = False):
    """``(min, max)`` over ``dim`` (all dims if None), as a namedtuple with ``.min`` and ``.max``."""
    _tensor_arg("aminmax", input)
    if dim is None:
        if input.numel() == 0:
            raise op_error(RuntimeError, "aminmax()", "cannot compute aminmax over an empty dimension as the "
                           "operation has no identity.")
        dims = tuple(range(input.ndim))
    else:
        dims = _dims("aminmax", input, _one_dim("aminmax", input, dim))
        _nonempty("aminmax", input, dims, dim_given=True, prefix="aminmax")
    keepdim = bool(keepdim)
    return return_types.aminmax(apply(AMIN, (input,), (dims, keepdim)), apply(AMAX, (input,), (dims, keepdim)))


# --- frontends: var / std ------------------------------------------------------------------------------------

def _correction(name: str, input: Tensor, dim, unbiased, correction):
    """Resolve PyTorch's overloads: ``var(x, unbiased)``, ``var(x, dim, unbiased, keepdim)``,
    ``var(x, dim, *, correction, keepdim)``; returns (dim, correction)."""
    if isinstance(dim, bool):
        if unbiased is not None:
            raise op_error(TypeError, name, "received an invalid combination of arguments: unbiased given twice")
        dim, unbiased = None, dim
    if unbiased is not None and correction is not None:
        raise op_error(TypeError, name, "received an invalid combination of arguments: pass either unbiased= "
                       "or correction=, not both")
    if correction is None:
        correction = 0 if unbiased is not None and not unbiased else 1
    elif isinstance(correction, bool) or not isinstance(correction, (int, float)):
        raise op_error(TypeError, f"{name}()", "argument 'correction' must be a number, not "
                       f"{type(correction).__name__}")
    return dim, correction


def _var_like(name: str, input, dim, unbiased, keepdim, correction):
    _tensor_arg(name, input)
    dim, correction = _correction(name, input, dim, unbiased, correction)
    if not _is_float(input.dtype):
        what = "std and var" if name in ("var", "std") else name
        raise op_error(RuntimeError, name, f"{what} only support floating point and complex dtypes")
    dims = _dims(name, input, dim)
    n = numel(tuple(input.shape[d] for d in dims))
    if n - correction <= 0:
        warnings.warn(f"{name}(): degrees of freedom is <= 0. Correction should be strictly less than the "
                      "reduction factor (input numel divided by output numel).", UserWarning, stacklevel=3)
    return dims, bool(keepdim), correction


def var(input, dim=None, unbiased=None, keepdim: bool = False, *, correction=None) -> Tensor:
    """Variance over ``dim`` with divisor ``N - correction`` (``correction=1`` by default; ``unbiased=False``
    means 0).

        >>> import torchlite as tl
        >>> tl.tensor([1., 2., 3., 4.]).var().item()
        1.6666666269302368
    """
    return apply(VAR, (input,), _var_like("var", input, dim, unbiased, keepdim, correction))


def std(input, dim=None, unbiased=None, keepdim: bool = False, *, correction=None) -> Tensor:
    """Standard deviation: ``sqrt(var(...))`` with the same arguments."""
    return apply(STD, (input,), _var_like("std", input, dim, unbiased, keepdim, correction))


def var_mean(input, dim=None, unbiased=None, keepdim: bool = False, *, correction=None):
    """``(var, mean)`` over ``dim``, as two tensors."""
    params = _var_like("var_mean", input, dim, unbiased, keepdim, correction)
    return apply(VAR, (input,), params), apply(MEAN, (input,), (params[0], params[1], None))


def std_mean(input, dim=None, unbiased=None, keepdim: bool = False, *, correction=None):
    """``(std, mean)`` over ``dim``, as two tensors."""
    params = _var_like("std_mean", input, dim, unbiased, keepdim, correction)
    return apply(STD, (input,), params), apply(MEAN, (input,), (params[0], params[1], None))


# --- frontends: logsumexp / all / any / count_nonzero / norm -------------------------------------------------

def logsumexp(input, dim, keepdim: bool = False, *, out=None) -> Tensor:
    """``log(sum(exp(input)))`` over ``dim``, computed stably; integers give the default float dtype.

        >>> import torchlite as tl
        >>> round(tl.tensor([1000., 1000.]).logsumexp(0).item(), 2)
        1000.69
    """
    _tensor_arg("logsumexp", input)
    _no_out("logsumexp", out)
    return apply(LOGSUMEXP, (input,), (_dims("logsumexp", input, dim), bool(keepdim)))


def all(input, dim=None, keepdim: bool = False, *, out=None) -> Tensor:
    """Whether all elements (over ``dim``: an int or a tuple) are nonzero; bool (uint8 for uint8 input)."""
    _tensor_arg("all", input)
    _no_out("all", out)
    return apply(ALL, (input,), (_dims("all", input, dim, empty_means_all=False), bool(keepdim)))


def any(input, dim=None, keepdim: bool = False, *, out=None) -> Tensor:
    """Whether any element (over ``dim``: an int or a tuple) is nonzero; bool (uint8 for uint8 input)."""
    _tensor_arg("any", input)
    _no_out("any", out)
    return apply(ANY, (input,), (_dims("any", input, dim, empty_means_all=False), bool(keepdim)))


def count_nonzero(input, dim=None) -> Tensor:
    """Number of nonzero elements over ``dim`` (an int or a tuple; all dims if None), int64."""
    _tensor_arg("count_nonzero", input)
    dims = _dims("count_nonzero", input, dim)
    return apply(SUM, (_pw.ne(input, 0),), (dims, False, None))


def _norm_p(p, dim):
    """``torch.norm``'s ``p`` as the order of a vector norm (what ``torch.norm`` computes)."""
    if p is None:
        return 2.0
    if isinstance(p, str):
        if p == "fro":
            if dim is None or _is_int(dim) or len(dim) <= 2:
                return 2.0
            raise op_error(RuntimeError, "norm", "linalg.matrix_norm: dim must be a 2-tuple. Got "
                           + " ".join(str(d) for d in dim))
        if p == "nuc":
            raise op_error(NotImplementedError, "norm", "the nuclear norm (p='nuc') is not supported yet")
        raise op_error(RuntimeError, "norm", f"linalg.matrix_norm: Order {p} not supported.")
    if isinstance(p, Tensor):
        p = p.item()
    if isinstance(p, bool) or not isinstance(p, (int, float, np.integer, np.floating)) or math.isnan(p):
        raise op_error(TypeError, "norm()", f"argument 'p' must be a number or 'fro', not {p!r}")
    p = float(p)
    return "inf" if p == math.inf else "-inf" if p == -math.inf else p


def norm(input, p="fro", dim=None, keepdim: bool = False, out=None, dtype=None) -> Tensor:
    """The vector ``p``-norm over ``dim`` (``'fro'``/None = 2, ``inf``, ``-inf``, ``0`` = count of nonzeros, any
    float); ``dtype`` casts the input first.

        >>> import torchlite as tl
        >>> tl.tensor([3., 4.]).norm().item()
        5.0
    """
    _tensor_arg("norm", input)
    _no_out("norm", out)
    pv = _norm_p(p, dim)
    if not _is_float(input.dtype):
        raise op_error(RuntimeError, "norm", "linalg.vector_norm: Expected a floating point or complex tensor as "
                       f"input. Got {torch_name(input.dtype)}")
    if dtype is not None:
        d = _dt.to_dtype(dtype)
        if not _is_float(d):
            raise op_error(RuntimeError, "norm", "linalg.vector_norm: dtype should be floating point or complex, "
                           f"but got {torch_name(d)}")
        input = input.to(d)
    return apply(NORM, (input,), (pv, _dims("norm", input, dim), bool(keepdim)))


# --- frontends: cumsum / cumprod / softmax / log_softmax ------------------------------------------------------

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


METHODS = [
    "sum", "mean", "prod", "max", "min", "amax", "amin", "argmax", "argmin", "aminmax", "var", "std",
    "logsumexp", "all", "any", "norm", "cumsum", "cumprod", "softmax", "log_softmax", "count_nonzero",
    "cumsum_", "cumprod_",
]
INPLACE: list[str] = []
__all__ = [
    "sum", "mean", "prod", "max", "min", "amax", "amin", "argmax", "argmin", "aminmax", "var", "std",
    "var_mean", "std_mean", "logsumexp", "all", "any", "count_nonzero", "norm", "cumsum", "cumprod",
    "softmax", "log_softmax",
]


# --- VJP rules (notes/VJP.md): ``rule(g, out, x, *params) -> (grad_x,)`` -----------------------------------
# Gradients follow PyTorch's formulas (tools/autograd/derivatives.yaml, FunctionsManual.cpp), including its
# conventions at ties, zeros and degenerate sizes. Reductions send ``g`` back over the reduced dims by
# re-inserting them (``_keep``) and broadcasting.

from . import creation as _cr, joining as _jn      # noqa: E402 (used by the rules only)
from ..autograd.grad_mode import is_grad_enabled as _grad_enabled      # noqa: E402


def _keep(t: Tensor, shape: tuple, dims: tuple, keepdim: bool) -> Tensor:
    """``t`` (a reduction's result or gradient) with the reduced ``dims`` of ``shape`` re-inserted as size 1."""
    if keepdim or not dims:
        return t
    return t.reshape(_reduced_shape(shape, dims, True))


def _sum_keep(t: Tensor, dims: tuple) -> Tensor:
    """``t`` summed over the op-level ``dims`` (``()``: nothing), keeping them."""
    return apply(SUM, (t,), (dims, True, None))


def _vjp_sum(g, out, x, dims, keepdim, dtype_):
    return (_keep(g, x.shape, dims, keepdim).expand(x.shape),)


def _vjp_mean(g, out, x, dims, keepdim, dtype_):
    n = numel(tuple(x.shape[d] for d in dims))
    g = _keep(g, x.shape, dims, keepdim)
    return ((g / n if n else g).expand(x.shape),)


def _exclusive_products(x: Tensor, d: int) -> Tensor:
    """``prod(x[j] for j != i)`` along ``d`` at each ``i``, without dividing (exact with zeros), as the
    product of the exclusive running products from the left and from the right (PyTorch's
    ``prod_safe_zeros_backward``)."""
    n = x.shape[d]
    one = _cr.ones_like(x.narrow(d, 0, 1))
    left = _jn.cat([one, cumprod(x.narrow(d, 0, n - 1), d)], d)
    right = _jn.cat([one, cumprod(x.narrow(d, 1, n - 1).flip(d), d)], d).flip(d)
    return left * right


def _vjp_prod(g, out, x, dims, keepdim, dtype_):
    if x.ndim == 0 or not dims or numel(x.shape) == 0:
        return (_keep(g, x.shape, dims, keepdim).expand(x.shape),)
    g = _keep(g, x.shape, dims, keepdim)
    out = _keep(out, x.shape, dims, keepdim)
    # One reduced dim: along it. Several: move them last and flatten them into one.
    kept = tuple(d for d in range(x.ndim) if d not in dims)
    perm = kept + dims
    flat = tuple(x.shape[d] for d in kept) + (numel(tuple(x.shape[d] for d in dims)),)
    xf = x if len(dims) == 1 else x.permute(perm).reshape(flat)
    d = dims[0] if len(dims) == 1 else len(kept)
    others = _exclusive_products(xf, d)
    if len(dims) > 1:
        inv = [0] * x.ndim
        for i, p in enumerate(perm):
            inv[p] = i
        others = others.reshape(tuple(x.shape[p] for p in perm)).permute(inv)
    # PyTorch: g * out / x when the input has no zero, the exact products of the others otherwise (here per
    # reduced slice; x is made safe so the unused branch stays finite under double backward).
    zero = x == 0
    has_zero = _sum_keep(zero, dims) > 0
    by_division = g * (out / _pw.where(zero, 1.0, x))
    return (_pw.where(has_zero, g * others, by_division),)


def _vjp_extreme(g, out, x, dims, keepdim):
    # PyTorch's amax/amin: split evenly between ties, ``(g / count) * mask`` (a NaN result gives NaN).
    # max(x)/min(x) and max(x, dim)/min(x, dim) reach this too (their values are amax/amin nodes), where
    # PyTorch differs: max(x, dim) sends the gradient to the returned index only (at ties), and max(x) with
    # NaNs sends it to the NaN elements. Matching those needs the frontends to build other nodes.
    mask = x == _keep(out, x.shape, dims, keepdim)
    return ((_keep(g, x.shape, dims, keepdim) / _sum_keep(mask, dims)) * mask,)


def _var_grad(g, x, dims, keepdim, correction):
    """PyTorch's var_backward: ``2 / (N - correction) * g * (x - mean)``; over every dim with N <= correction,
    ``g * where(x == mean, nan, inf)``. (PyTorch takes the second form only when no ``dim`` was passed; an
    explicit full ``dim`` with N < correction is the one case that differs from it.)"""
    n = numel(tuple(x.shape[d] for d in dims))
    g = _keep(g, x.shape, dims, keepdim)
    mean = apply(MEAN, (x,), (dims, True, None))
    dof = n - correction
    if len(dims) == x.ndim and dof <= 0:
        return g * _pw.where(x == mean, math.nan, math.inf)
    scale = 2.0 / dof if dof != 0 else math.inf
    return scale * g * (x - mean)


def _vjp_var(g, out, x, dims, keepdim, correction):
    return (_var_grad(g, x, dims, keepdim, correction),)


def _vjp_std(g, out, x, dims, keepdim, correction):
    gv = _pw.where(out == 0, 0.0, g / (out * 2))        # PyTorch: zero gradient where std is 0
    return (_var_grad(gv, x, dims, keepdim, correction),)


def _vjp_logsumexp(g, out, x, dims, keepdim):
    return (_keep(g, x.shape, dims, keepdim) * (x - _keep(out, x.shape, dims, keepdim)).exp(),)


def _vjp_norm(g, out, x, p, dims, keepdim):
    """PyTorch's norm_backward for each order (subgradient 0 where the norm is 0)."""
    p = _p_value(p)
    g = _keep(g, x.shape, dims, keepdim)
    norm = _keep(out, x.shape, dims, keepdim)
    if p == 0:
        return (None,)
    if p == 1:
        return (x.sign() * g,)
    if p == 2:
        return (g * _pw.where(norm == 0, 0.0, x / norm),)
    if math.isinf(p):
        a = x.abs()
        mask = (a == norm) | a.isnan()
        return (x.sign() * ((g / _sum_keep(mask, dims)) * mask),)
    if p < 1:
        scaled = x.sign() * _pw.where(x == 0, 0.0, x.abs() ** (p - 1))
        return (scaled * g * norm ** (1 - p),)
    scaled = x.sign() * x.abs() ** (p - 1) if p < 2 else x * x.abs() ** (p - 2)
    return (scaled * _pw.where(norm == 0, 0.0, g / norm ** (p - 1)),)


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


def _vjp_softmax(g, out, x, dim):
    return (out * (g - (g * out).sum(dim, keepdim=True)),)


def _vjp_log_softmax(g, out, x, dim):
    return (g - out.exp() * g.sum(dim, keepdim=True),)


# argmax/argmin/all/any have integer or bool results: never differentiated.
VJPS = {
    SUM: _vjp_sum, MEAN: _vjp_mean, PROD: _vjp_prod, AMAX: _vjp_extreme, AMIN: _vjp_extreme, VAR: _vjp_var,
    STD: _vjp_std, LOGSUMEXP: _vjp_logsumexp, NORM: _vjp_norm, CUMSUM: _vjp_cumsum, CUMPROD: _vjp_cumprod,
    SOFTMAX: _vjp_softmax, LOG_SOFTMAX: _vjp_log_softmax,
}
for _op, _rule in VJPS.items():
    _op.vjp = _rule
