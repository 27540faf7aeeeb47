"""Creation: tensors from data, constants, ranges.

``tensor``/``as_tensor``/``from_numpy`` make realized leaves; ``zeros``/``ones``/``full``/``arange`` are lazy
nodes with no inputs, so the compiler can fuse them; the fill value of ``full`` is a scalar argument.

    >>> import torchlite as tl
    >>> tl.arange(3).tolist(), tl.full((2,), 7).dtype
    ([0, 1, 2], torchlite.int64)
"""
from __future__ import annotations

import numpy as np

from .. import dtypes as _dt
from ..devices import to_device
from ..lazy import LazyNode, op_error, user_frame
from ..tensor import Tensor, apply
from .registry import OpDef, register


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


def tensor(data, *, dtype=None, device=None, requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    """A new tensor holding a copy of ``data`` (nested lists of numbers, a numpy array, or a tensor).

        >>> import torchlite as tl
        >>> tl.tensor([[1., 2.], [3., 4.]]).shape
        torchlite.Size([2, 2])
    """
    if requires_grad:
        raise NotImplementedError("autograd is not implemented yet (it arrives with the autograd issue)")
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


def full(size, fill_value, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A tensor of ``size`` filled with ``fill_value`` (dtype inferred from it, as torch does)."""
    if requires_grad:
        raise NotImplementedError("autograd is not implemented yet (it arrives with the autograd issue)")
    shape = _shape_arg("full", size if isinstance(size, (tuple, list)) else (size,))
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.item()
    if isinstance(fill_value, np.generic):
        fill_value = fill_value.item()
    d = _creation_dtype(dtype, fill_value)
    dev = to_device(device)
    return apply(FULL, (fill_value,), (shape, d, dev), device=dev)


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


def arange(start, end=None, step=1, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
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
    import math
    n = max(0, math.ceil((end - start) / step))
    if dtype is None:
        d = _dt.int64 if all(isinstance(v, int) for v in vals) else _dt.get_default_dtype()
    else:
        d = _dt.to_dtype(dtype)
    dev = to_device(device)
    return apply(ARANGE, (start, step), (n, d, dev), device=dev)


METHODS: list[str] = []
INPLACE: list[str] = []
