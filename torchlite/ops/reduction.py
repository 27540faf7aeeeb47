"""Reductions: the shared reduction machinery, sum/mean/prod, max/min/amax/amin/argmax/argmin/aminmax,
all/any/count_nonzero.

A few general op-level ops carry the work: each reduction takes the reduced ``dims`` (a sorted tuple of
distinct non-negative dims of its input; ``()`` for a 0-d input) and ``keepdim``; the frontends map
PyTorch's signatures (``dim=None``, ``dim=()``, negative dims, ``dtype=``, ...) onto them and raise
PyTorch's errors at the user's line. ``max(x, dim)`` is two nodes, ``amax`` and ``argmax``. Kernels compute
float16 and bfloat16 in float32 and round once. The private helpers here (meta checks, ``_dims``, ``_keep``,
...) are shared by the sibling families ``statistics`` (var/std/norm), ``cumulative`` (cumsum/cumprod) and
``normalizing`` (softmax/log_softmax/logsumexp).

    >>> import torchlite as tl
    >>> x = tl.tensor([[1., 5., 2.], [4., 0., 4.]])
    >>> x.sum(1).tolist(), x.max(dim=1).indices.tolist(), tl.argmax(x).item()
    ([8.0, 8.0], [1, 0], 1)
"""
from __future__ import annotations

import builtins

import numpy as np

from .. import dtypes as _dt
from ..lazy import LazyNode, op_error
from ..tensor import Tensor, apply
from . import pointwise as _pw
from ._meta import numel, torch_name, wrap_dim
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


# --- frontends: all / any / count_nonzero ----------------------------------------------------------------

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


METHODS = [
    "sum", "mean", "prod", "max", "min", "amax", "amin", "argmax", "argmin", "aminmax", "all", "any",
    "count_nonzero",
]
INPLACE: list[str] = []
__all__ = [
    "sum", "mean", "prod", "max", "min", "amax", "amin", "argmax", "argmin", "aminmax", "all", "any",
    "count_nonzero",
]


# --- VJP rules (notes/VJP.md): ``rule(g, out, x, *params) -> (grad_x,)`` -----------------------------------
# Gradients follow PyTorch's formulas (tools/autograd/derivatives.yaml, FunctionsManual.cpp), including its
# conventions at ties, zeros and degenerate sizes. Reductions send ``g`` back over the reduced dims by
# re-inserting them (``_keep``) and broadcasting.

from . import creation as _cr, joining as _jn      # noqa: E402 (used by the rules only)


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
    from .cumulative import cumprod                    # (here: cumulative imports this module)
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


# argmax/argmin/all/any have integer or bool results: never differentiated.
VJPS = {SUM: _vjp_sum, MEAN: _vjp_mean, PROD: _vjp_prod, AMAX: _vjp_extreme, AMIN: _vjp_extreme}
for _op, _rule in VJPS.items():
    _op.vjp = _rule


# Public names that moved to the sibling families, still reachable as ``torchlite.ops.reduction.<name>``.
_MOVED = {
    "var": "statistics", "std": "statistics", "var_mean": "statistics", "std_mean": "statistics",
    "norm": "statistics", "VAR": "statistics", "STD": "statistics", "NORM": "statistics",
    "cumsum": "cumulative", "cumprod": "cumulative", "cumsum_": "cumulative", "cumprod_": "cumulative",
    "CUMSUM": "cumulative", "CUMPROD": "cumulative",
    "softmax": "normalizing", "log_softmax": "normalizing", "logsumexp": "normalizing",
    "SOFTMAX": "normalizing", "LOG_SOFTMAX": "normalizing", "LOGSUMEXP": "normalizing",
}


def __getattr__(name: str):
    if name in _MOVED:
        import importlib
        return getattr(importlib.import_module(f"{__package__}.{_MOVED[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
