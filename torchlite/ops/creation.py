"""Creation: tensors from data, constants, ranges.

``tensor``/``as_tensor``/``from_numpy`` make realized leaves; ``zeros``/``ones``/``full``/``arange`` are lazy
nodes with no inputs, so the compiler can fuse them; the fill value of ``full`` is a scalar argument.

    >>> import torchlite as tl
    >>> tl.arange(3).tolist(), tl.full((2,), 7).dtype
    ([0, 1, 2], torchlite.int64)
"""
from __future__ import annotations

import functools
import itertools
import math

import numpy as np

from .. import dtypes as _dt
from ..devices import to_device
from ..lazy import LazyNode, op_error, user_frame
from ..tensor import Tensor, apply
from ._meta import CPP_SCALAR_NAMES
from .registry import OpDef, register


def grad_option(fn):
    """Give a factory PyTorch's ``requires_grad=`` keyword: the new tensor is a leaf that requires grad."""
    @functools.wraps(fn)
    def factory(*args, requires_grad: bool = False, **kwargs):
        t = fn(*args, **kwargs)
        return t.requires_grad_(True) if requires_grad else t
    return factory


def _shape_arg(name: str, size) -> tuple:
    """Sizes given as ``f(2, 3)`` or ``f((2, 3))``; negative or non-integer sizes raise."""
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    out = []
    for s in size:
        if isinstance(s, Tensor):
            s = int(s.item())
        if isinstance(s, bool) or not isinstance(s, (int, np.integer)):
            raise op_error(TypeError, name, f"size must be a tuple of ints, but got {type(s).__name__}")
        if s < 0:
            raise op_error(RuntimeError, name, f"Trying to create tensor with negative dimension {s}: {list(size)}")
        out.append(int(s))
    return tuple(out)


def _leaf(array: np.ndarray, dtype: _dt.dtype, device) -> Tensor:
    return Tensor._wrap(LazyNode.leaf(array, dtype, to_device(device), user_frame()))


def _infer_dtype(data) -> _dt.dtype:
    """The dtype torch.tensor infers from nested Python data: bool < int64 < default float."""
    kind = 0
    stack = [data]
    while stack:
        x = stack.pop()
        if isinstance(x, (list, tuple)):
            stack.extend(x)
        elif isinstance(x, Tensor):
            return x.dtype
        elif isinstance(x, bool) or isinstance(x, np.bool_):
            pass
        elif isinstance(x, (int, np.integer)):
            kind = max(kind, 1)
        elif isinstance(x, (float, np.floating)):
            kind = 2
        elif isinstance(x, complex):
            raise TypeError("torchlite has no complex dtypes")
        else:
            raise TypeError(f"Could not infer dtype of {type(x).__name__}")
    return (_dt.bool, _dt.int64, _dt.get_default_dtype())[kind]


@grad_option
def tensor(data, *, dtype=None, device=None, pin_memory: bool = False) -> Tensor:
    """A new tensor holding a copy of ``data`` (nested lists of numbers, a numpy array, or a tensor).

        >>> import torchlite as tl
        >>> tl.tensor([[1., 2.], [3., 4.]]).shape
        torchlite.Size([2, 2])
    """
    if isinstance(data, Tensor):
        src = data.numpy()
        d = _dt.to_dtype(dtype) if dtype is not None else data.dtype
        return _leaf(np.array(src, dtype=d.np, copy=True), d, device)
    if isinstance(data, np.ndarray) or isinstance(data, np.generic):
        arr = np.asarray(data)
        d = _dt.to_dtype(dtype) if dtype is not None else _dt.from_numpy_dtype(arr.dtype)
        return _leaf(np.array(arr, dtype=d.np, copy=True), d, device)
    if hasattr(data, "__array__") or hasattr(data, "__dlpack__"):
        return tensor(np.asarray(data), dtype=dtype, device=device)
    try:
        d = _dt.to_dtype(dtype) if dtype is not None else _infer_dtype(data)
    except TypeError as e:
        raise op_error(TypeError, "tensor", str(e)) from None
    if isinstance(data, (list, tuple)) and any(isinstance(x, Tensor) for x in _flat(data)):
        data = _to_nested_lists(data)
    try:
        arr = np.array(data, dtype=d.np if d is not _dt.bfloat16 else np.float64)
    except (ValueError, OverflowError) as e:
        raise op_error(ValueError, "tensor", f"could not build a tensor from this data: {e}") from None
    if arr.dtype.kind == "O":
        raise op_error(ValueError, "tensor", "expected a sequence of equal-length sequences of numbers")
    return _leaf(arr.astype(d.np, copy=False), d, device)


def _flat(data):
    stack = [data]
    while stack:
        x = stack.pop()
        if isinstance(x, (list, tuple)):
            stack.extend(x)
        else:
            yield x


def _to_nested_lists(data):
    if isinstance(data, Tensor):
        return data.tolist()
    if isinstance(data, (list, tuple)):
        return [_to_nested_lists(x) for x in data]
    return data


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """Like ``tensor``, but shares memory with a numpy array or tensor when dtype and device allow."""
    if isinstance(data, Tensor):
        return data.to(dtype) if dtype is not None else data
    if isinstance(data, np.ndarray):
        d = _dt.to_dtype(dtype) if dtype is not None else _dt.from_numpy_dtype(data.dtype)
        arr = data if data.dtype == d.np else data.astype(d.np)
        return _leaf(arr, d, device)
    return tensor(data, dtype=dtype, device=device)


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing memory with ``array``."""
    if not isinstance(array, np.ndarray):
        raise op_error(TypeError, "from_numpy", f"expected np.ndarray (got {type(array).__name__})")
    try:
        d = _dt.from_numpy_dtype(array.dtype)
    except TypeError as e:
        raise op_error(TypeError, "from_numpy", str(e)) from None
    return _leaf(array, d, "cpu")


def from_dlpack(ext) -> Tensor:
    """A tensor sharing memory with any object that implements the DLPack protocol (cpu only)."""
    return from_numpy(np.from_dlpack(ext))


def _meta_full(srcs, params):
    return params[0], params[1]


def _full_kernel(value, *, shape, dtype_, device, dtype):
    return np.full(shape, value, dtype=dtype)


FULL = register(OpDef("full", _meta_full, _full_kernel, ("shape", "dtype_", "device"), kind="creation"))


def _creation_dtype(dtype, fill=None) -> _dt.dtype:
    if dtype is not None:
        return _dt.to_dtype(dtype)
    if fill is None or isinstance(fill, float):
        return _dt.get_default_dtype()
    return _dt.scalar_dtype(fill)


@grad_option
def full(size, fill_value, *, dtype=None, device=None) -> Tensor:
    """A tensor of ``size`` filled with ``fill_value`` (dtype inferred from it, as torch does)."""
    shape = _shape_arg("full", size if isinstance(size, (tuple, list)) else (size,))
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.item()
    if isinstance(fill_value, np.generic):
        fill_value = fill_value.item()
    d = _creation_dtype(dtype, fill_value)
    dev = to_device(device)
    return apply(FULL, (_fill_value("full", fill_value, d),), (shape, d, dev), device=dev)


def zeros(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A tensor of zeros."""
    return full(_shape_arg("zeros", size), 0.0 if dtype is None else 0, dtype=_creation_dtype(dtype),
                device=device, requires_grad=requires_grad)


def ones(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A tensor of ones."""
    return full(_shape_arg("ones", size), 1.0 if dtype is None else 1, dtype=_creation_dtype(dtype),
                device=device, requires_grad=requires_grad)


def empty(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """An uninitialized tensor (here: zeros, which is a valid uninitialized value)."""
    return zeros(*size, dtype=dtype, device=device, requires_grad=requires_grad)


def _like(name, fn):
    def f(input: Tensor, *args, dtype=None, device=None, requires_grad=False):
        return fn(input.shape, *args, dtype=dtype if dtype is not None else input.dtype,
                  device=device if device is not None else input.device, requires_grad=requires_grad)
    f.__name__ = f.__qualname__ = name
    f.__doc__ = f"``torch.{name}``: like ``{fn.__name__}`` with ``input``'s shape, dtype and device."
    return f


zeros_like = _like("zeros_like", zeros)
ones_like = _like("ones_like", ones)
empty_like = _like("empty_like", empty)
full_like = _like("full_like", full)


def _meta_arange(srcs, params):
    return (params[0],), params[1]


def _arange_kernel(start, step, *, n, dtype_, device, dtype):
    return (start + step * np.arange(n, dtype=np.float64 if dtype.kind != "i" else np.int64)).astype(dtype)


ARANGE = register(OpDef("arange", _meta_arange, _arange_kernel, ("n", "dtype_", "device"), kind="creation"))


@grad_option
def arange(start, end=None, step=1, *, dtype=None, device=None) -> Tensor:
    """Values from ``start`` to ``end`` (exclusive) by ``step``; int64 unless a bound is a float."""
    if end is None:
        start, end = 0, start
    vals = [v.item() if isinstance(v, (Tensor, np.generic)) else v for v in (start, end, step)]
    start, end, step = vals
    if step == 0:
        raise op_error(RuntimeError, "arange", "step must be nonzero")
    if (end - start) * step < 0:
        raise op_error(RuntimeError, "arange", f"upper bound and larger bound inconsistent with step sign "
                       f"(start={start}, end={end}, step={step})")
    n = max(0, math.ceil((end - start) / step))
    if dtype is None:
        d = _dt.int64 if all(isinstance(v, int) for v in vals) else _dt.get_default_dtype()
    else:
        d = _dt.to_dtype(dtype)
    dev = to_device(device)
    return apply(ARANGE, (start, step), (n, d, dev), device=dev)


METHODS: list[str] = []
INPLACE: list[str] = []


# --- ranges: linspace, logspace; eye -----------------------------------------------------------------------


def _range_bound(name: str, v, which: str):
    if isinstance(v, Tensor):
        v = v.item()
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, bool):
        v = int(v)
    if not isinstance(v, (int, float)):
        raise op_error(TypeError, name, f"{name}(): argument '{which}' must be Number, not {type(v).__name__}")
    return v


def _range_args(name: str, start, end, steps, dtype, device):
    if isinstance(start, Tensor) or isinstance(end, Tensor):
        ds = start.ndim if isinstance(start, Tensor) else 0
        de = end.ndim if isinstance(end, Tensor) else 0
        if ds or de:
            raise op_error(RuntimeError, name, f"{name} only supports 0-dimensional start and end tensors, but got "
                           f"start with {ds} dimension(s) and end with {de} dimension(s).")
    start, end = _range_bound(name, start, "start"), _range_bound(name, end, "end")
    if isinstance(steps, Tensor):
        steps = steps.item()
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)):
        raise op_error(TypeError, name, f"{name}(): argument 'steps' must be int, not {type(steps).__name__}")
    steps = int(steps)
    if steps < 0:
        raise op_error(RuntimeError, name, "number of steps must be non-negative")
    d = _dt.to_dtype(dtype) if dtype is not None else _dt.get_default_dtype()
    if d is _dt.bool:
        raise op_error(NotImplementedError, name, f"\"{name}_cpu\" not implemented for 'Bool'")
    return start, end, steps, d, to_device(device)


def _meta_range(srcs, params):
    return (params[0],), params[1]


def _rounder(dtype):
    """x -> x rounded to ``dtype`` and back to float32 (float16/bfloat16 arithmetic done as c10 does it)."""
    return lambda x: np.asarray(x, np.float32).astype(dtype).astype(np.float32)


def _fma(a, b, c):
    """``a * b + c`` with one rounding, in float64 (Dekker's exact product and Knuth's two-sum).

    PyTorch's compiled range kernels contract ``start + step * i`` into a fused multiply-add; doing the
    same here reproduces their values bit for bit.
    """
    a, b, c = np.broadcast_arrays(np.asarray(a, np.float64), np.asarray(b, np.float64), np.asarray(c, np.float64))
    p = a * b
    t = 134217729.0 * a
    ah = t - (t - a)
    al = a - ah
    t = 134217729.0 * b
    bh = t - (t - b)
    bl = b - bh
    pe = ((ah * bh - p) + ah * bl + al * bh) + al * bl      # p + pe == a * b exactly
    s = p + c
    bb = s - p
    se = (p - (s - bb)) + (c - bb)                          # s + se == p + c exactly
    return s + (se + pe)


def _sym_range(s: float, e: float, step: float, steps: int, fused: bool = True) -> np.ndarray:
    """PyTorch's symmetric range in float64: the first half counts up from ``s``, the rest down from ``e``."""
    half = steps // 2
    up = np.arange(half, dtype=np.float64)
    down = np.arange(steps - half - 1, -1, -1, dtype=np.float64)
    if fused:
        return np.concatenate([_fma(step, up, s), _fma(-step, down, e)])
    return np.concatenate([s + step * up, e - step * down])


def _linspace_kernel(start, end, *, steps, dtype_, device, dtype):
    # PyTorch's algorithm (RangeFactoriesKernel.cpp), so that the result is symmetric and ends at ``end``
    if steps == 0:
        return np.empty(0, dtype)
    if dtype.kind in "iu":                      # bounds converted to the integer type, step in double
        s = float(np.array(int(start)).astype(dtype))
        e = float(np.array(int(end)).astype(dtype))
        if steps == 1:
            return np.array([s]).astype(np.int64).astype(dtype)
        v = _sym_range(s, e, (e - s) / (steps - 1), steps)
        return np.trunc(v).astype(np.int64).astype(dtype)
    if dtype in (np.float32, np.float64):       # start, end and step in the dtype, then one fused multiply-add
        t = dtype.type
        s, e = t(start), t(end)
        if steps == 1:
            return np.array([s], dtype)
        step = (e - s) / t(steps - 1)
        return _sym_range(float(s), float(e), float(step), steps).astype(dtype)
    h = _rounder(dtype)                         # float16 / bfloat16: each c10 operation rounds to the dtype
    s, e = h(float(start)), h(float(end))
    if steps == 1:
        return s.reshape(1).astype(dtype)
    idx = np.arange(steps, dtype=np.int64)
    half = steps // 2
    step = h(h(e - s) / h(steps - 1))
    lo = h(s + h(step * h(idx[:half])))
    hi = h(e - h(step * h(steps - idx[half:] - 1)))
    return np.concatenate([lo, hi]).astype(dtype)


LINSPACE = register(OpDef("linspace", _meta_range, _linspace_kernel, ("steps", "dtype_", "device"), kind="creation"))


@grad_option
def linspace(start, end, steps: int, *, dtype=None, device=None) -> Tensor:
    """``steps`` values evenly spaced from ``start`` to ``end`` inclusive (PyTorch's symmetric algorithm).

        >>> import torchlite as tl
        >>> tl.linspace(0, 1, 5).tolist()
        [0.0, 0.25, 0.5, 0.75, 1.0]
    """
    start, end, steps, d, dev = _range_args("linspace", start, end, steps, dtype, device)
    return apply(LINSPACE, (start, end), (steps, d, dev), device=dev)


def _logspace_kernel(start, end, base, *, steps, dtype_, device, dtype):
    # PyTorch's algorithm (RangeFactories.cpp, built without FMA): exponents in double from both ends, pow
    # in double, then rounded to the dtype (through float for float16/bfloat16, as c10 converts)
    if steps == 0:
        return np.empty(0, dtype)
    if steps == 1:
        return np.array([math.pow(float(base), float(start))]).astype(dtype)
    if dtype.kind in "iu":
        s = int(np.array(int(start)).astype(dtype))
        e = int(np.array(int(end)).astype(dtype))
        b = float(np.float32(base))             # PyTorch uses a float base for integer results
        diff = float(e - s)
    else:
        b = float(base)
        if dtype in (np.float32, np.float64):
            s, e = dtype.type(start), dtype.type(end)
            diff = float(e - s)
        else:
            h = _rounder(dtype)
            s, e = h(float(start)), h(float(end))
            diff = float(h(e - s))
        s, e = float(s), float(e)
    expo = _sym_range(s, e, diff / (steps - 1), steps, fused=False)
    # the C library's pow, as PyTorch calls it (numpy's own power differs from it in the last bit)
    v = np.fromiter(map(math.pow, itertools.repeat(b, steps), expo.tolist()), np.float64, steps)
    if dtype.kind in "iu":
        return np.trunc(v).astype(np.int64).astype(dtype)
    if dtype not in (np.float32, np.float64):
        v = v.astype(np.float32)
    return v.astype(dtype)


LOGSPACE = register(OpDef("logspace", _meta_range, _logspace_kernel, ("steps", "dtype_", "device"), kind="creation"))


@grad_option
def logspace(start, end, steps: int, base: float = 10.0, *, dtype=None, device=None) -> Tensor:
    """``base ** linspace(start, end, steps)``, computed as PyTorch does (exponents in double).

        >>> import torchlite as tl
        >>> tl.logspace(0, 2, 3).tolist()
        [1.0, 10.0, 100.0]
    """
    start, end, steps, d, dev = _range_args("logspace", start, end, steps, dtype, device)
    if isinstance(base, Tensor):
        base = base.item()
    if isinstance(base, bool) or not isinstance(base, (int, float, np.number)):
        raise op_error(TypeError, "logspace", f"logspace(): argument 'base' must be float, not {type(base).__name__}")
    return apply(LOGSPACE, (start, end, float(base)), (steps, d, dev), device=dev)


def _meta_eye(srcs, params):
    return (params[0], params[1]), params[2]


def _eye_kernel(*, n, m, dtype_, device, dtype):
    return np.eye(n, m, dtype=dtype)


EYE = register(OpDef("eye", _meta_eye, _eye_kernel, ("n", "m", "dtype_", "device"), kind="creation"))


@grad_option
def eye(n: int, m: int | None = None, *, dtype=None, device=None) -> Tensor:
    """A 2-d tensor with ones on the diagonal (``n`` rows, ``m`` columns, default ``n``).

        >>> import torchlite as tl
        >>> tl.eye(2).tolist()
        [[1.0, 0.0], [0.0, 1.0]]
    """
    for name, pos, v in (("n", 1, n), ("m", 2, m)):
        if v is None:
            continue
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise op_error(TypeError, "eye", f"eye(): argument '{name}' (position {pos}) must be int, not "
                           f"{type(v).__name__}")
        if v < 0:
            raise op_error(RuntimeError, "eye", f"{name} must be greater or equal to 0, got {v}")
    n = int(n)
    m = n if m is None else int(m)
    d = _dt.to_dtype(dtype) if dtype is not None else _dt.get_default_dtype()
    dev = to_device(device)
    return apply(EYE, (), (n, m, d, dev), device=dev)


# --- writing constants into existing tensors: fill_, zero_, copy_ ------------------------------------------



def _fill_value(name: str, value, d: _dt.dtype):
    """``value`` converted to a Python number of ``d``'s kind, with PyTorch's overflow check."""
    if isinstance(value, np.generic):
        value = value.item()
    if not isinstance(value, (int, float, bool)):
        raise op_error(TypeError, name, f"{name}() received an invalid combination of arguments - got "
                       f"({type(value).__name__}), but expected a number or a 0-dimensional Tensor")
    if d is _dt.bool:
        return bool(value)
    overflow = op_error(RuntimeError, name, f"value cannot be converted to type {CPP_SCALAR_NAMES[d.name]} without overflow")
    if d.category == 1:
        if isinstance(value, float) and not np.isfinite(value):
            raise overflow
        v = int(value)
        info = np.iinfo(d.np)
        lo = -int(info.max) if info.min == 0 else int(info.min)      # unsigned: negatives wrap (as c10 allows)
        if v < lo or v > info.max:
            raise overflow
        return v % (int(info.max) + 1) if v < 0 and info.min == 0 else v
    v = float(value)
    if np.isfinite(v) and abs(v) > _dt.finfo(d).max:
        raise overflow
    return v


def fill_(self: Tensor, value) -> Tensor:
    """Write ``value`` (a number or a 0-d tensor) into every element of ``self``, in place.

        >>> import torchlite as tl
        >>> x = tl.zeros(2, 2); _ = x[0].fill_(3); x.tolist()
        [[3.0, 3.0], [0.0, 0.0]]
    """
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise op_error(RuntimeError, "fill_", f"fill_ only supports 0-dimension value tensor but got tensor with "
                           f"{value.ndim} dimensions.")
        return copy_(self, value)
    v = _fill_value("fill_", value, self.dtype)
    return self._assign(full(self.shape, v, dtype=self.dtype, device=self.device))


def zero_(self: Tensor) -> Tensor:
    """Fill ``self`` with zeros, in place."""
    return fill_(self, 0)


def copy_(self: Tensor, src, non_blocking: bool = False) -> Tensor:
    """Copy ``src`` into ``self`` in place: broadcast to ``self``'s shape and cast to its dtype (any cast).

        >>> import torchlite as tl
        >>> tl.zeros(2, 2, dtype=tl.int64).copy_(tl.tensor([1.7, -2.5])).tolist()
        [[1, -2], [1, -2]]
    """
    from .movement import clone, expand
    from ._meta import broadcast_shapes
    if not isinstance(src, Tensor):
        if isinstance(src, (int, float, bool, np.generic)):
            return self._assign(full(self.shape, src if not isinstance(src, np.generic) else src.item(),
                                     dtype=self.dtype, device=self.device))
        raise op_error(TypeError, "copy_", f"copy_(): argument 'src' must be Tensor, not {type(src).__name__}")
    try:
        shape = broadcast_shapes(tuple(self.shape), tuple(src.shape))
    except RuntimeError as e:
        raise op_error(RuntimeError, "copy_", str(e)) from None
    if shape != tuple(self.shape):
        raise op_error(RuntimeError, "copy_", f"output with shape {list(self.shape)} doesn't match the broadcast "
                       f"shape {list(shape)}")
    v = src
    if v.dtype is not self.dtype:
        from .pointwise import cast
        v = cast(v, self.dtype)                 # a fresh buffer
        if v.shape != self.shape:
            v = clone(expand(v, self.shape))
    else:
        v = clone(expand(v, self.shape) if v.shape != self.shape else v)
    return self._assign(v)


METHODS += ["fill_", "zero_", "copy_"]

__all__ = ["tensor", "as_tensor", "from_numpy", "from_dlpack", "full", "zeros", "ones", "empty", "zeros_like",
           "ones_like", "empty_like", "full_like", "arange", "linspace", "logspace", "eye"]
