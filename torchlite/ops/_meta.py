"""Shared pieces of meta rules: broadcasting, dims, result dtypes. Errors read like PyTorch's."""
from __future__ import annotations

from .. import dtypes as _dt
from ..lazy import LazyNode

_PROMOTE = _dt._PROMOTE


def broadcast_shapes(*shapes: tuple) -> tuple:
    """The broadcast of ``shapes``; RuntimeError naming the first mismatching dimension."""
    ndim = max(len(s) for s in shapes)
    out = [1] * ndim
    for s in shapes:
        off = ndim - len(s)
        for i in range(len(s) - 1, -1, -1):        # from the right, as PyTorch reports the mismatch
            d, o = s[i], out[off + i]
            if d != o:
                if o == 1:
                    out[off + i] = d
                elif d != 1:
                    raise RuntimeError(f"The size of tensor a ({o}) must match the size of tensor b ({d}) at "
                                       f"non-singleton dimension {off + i}")
    return tuple(out)


def result_dtype(srcs) -> _dt.dtype:
    """PyTorch's promotion over nodes and weak Python scalars."""
    dims, zeros, scalars = [], [], []
    for s in srcs:
        if type(s) is LazyNode:
            (dims if s.shape else zeros).append(s.dtype)
        else:
            scalars.append(_dt.scalar_dtype(s))
    return _dt.result_type_of(dims, zeros, scalars)


def pointwise_shape(srcs) -> tuple:
    shapes = [s.shape for s in srcs if type(s) is LazyNode]
    first = shapes[0]
    for s in shapes:
        if s != first:
            return broadcast_shapes(*shapes)
    return first


def wrap_dim(dim: int, ndim: int) -> int:
    """``dim`` as an index in [0, ndim); IndexError as PyTorch words it."""
    if isinstance(dim, bool) or not isinstance(dim, int):
        raise TypeError(f"dim must be an int, got {type(dim).__name__}")
    lo, hi = (-ndim, ndim - 1) if ndim else (-1, 0)
    if dim < lo or dim > hi:
        raise IndexError(f"Dimension out of range (expected to be in range of [{lo}, {hi}], but got {dim})")
    return dim % ndim if ndim else 0


def wrap_dims(dims, ndim: int) -> tuple:
    """A tuple of distinct wrapped dims from an int, a tuple/list, or None (meaning all)."""
    if dims is None:
        return tuple(range(ndim))
    if isinstance(dims, int):
        dims = (dims,)
    out = tuple(wrap_dim(d, ndim) for d in dims)
    seen = set()
    for d in out:
        if d in seen:
            raise RuntimeError(f"dim {d} appears multiple times in the list of dims")
        seen.add(d)
    return out


def numel(shape: tuple) -> int:
    n = 1
    for s in shape:
        n *= s
    return n


def default_float(d: _dt.dtype) -> _dt.dtype:
    """The dtype a float-valued op returns for input dtype ``d`` (integers and bool -> default float)."""
    return d if d.category == 2 else _dt.get_default_dtype()


# The C++ type names PyTorch prints: in dtype mismatch messages ("expected m1 and m2 to have the same dtype,
# but got: float != double") and in scalar conversion messages ("value cannot be converted to type int8_t").
C_NAMES = {"float32": "float", "float64": "double", "float16": "c10::Half", "bfloat16": "c10::BFloat16",
           "int8": "signed char", "uint8": "unsigned char", "int16": "short int", "int32": "int",
           "int64": "long int", "bool": "bool"}
CPP_SCALAR_NAMES = {"int64": "int64_t", "int32": "int32_t", "int16": "int16_t", "int8": "int8_t",
                    "uint8": "uint8_t", "float16": "c10::Half", "bfloat16": "c10::BFloat16", "float32": "float",
                    "float64": "double", "bool": "bool"}


def torch_name(d: _dt.dtype) -> str:
    from ..tensor import _pretty
    return _pretty(d)
