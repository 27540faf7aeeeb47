"""dtypes and PyTorch's type promotion.

A dtype is a small immutable record naming its numpy storage type. Promotion follows PyTorch: categories
bool < integer < floating; Python scalars are "weak" (they pick a category, never a width) and 0-dim
tensors rank below dimensioned tensors of the same category.

    >>> import torchlite as tl
    >>> tl.promote_types(tl.int8, tl.uint8)
    torchlite.int16
"""
from __future__ import annotations

import numpy as np
import ml_dtypes

__all__ = [
    "dtype", "bool", "uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16", "float32",
    "float64", "promote_types", "result_type", "can_cast", "get_default_dtype", "set_default_dtype",
    "get_float32_matmul_precision", "set_float32_matmul_precision",
]

_builtin_bool = bool


class dtype:
    """A tensor element type (``torchlite.float32``, ``torchlite.int64``, ...)."""

    __slots__ = ("name", "np", "itemsize", "is_floating_point", "is_signed", "category", "short", "_rank")

    def __init__(self, name: str, np_dtype, category: int, short: str, rank: int):
        self.name = name
        self.np = np.dtype(np_dtype)
        self.itemsize = self.np.itemsize
        self.category = category            # 0 bool, 1 integer, 2 floating
        self.is_floating_point = category == 2
        self.is_signed = category == 2 or (category == 1 and self.np.kind == "i")
        self.short = short                  # compact name used in graph printouts: f32, i64, b8
        self._rank = rank

    @property
    def is_complex(self) -> _builtin_bool:
        return False

    def to_complex(self):
        raise NotImplementedError("torchlite has no complex dtypes yet")

    def __repr__(self) -> str:
        return f"torchlite.{self.name}"

    def __reduce__(self):
        return (_by_name, (self.name,))


bool = dtype("bool", np.bool_, 0, "b8", 0)
uint8 = dtype("uint8", np.uint8, 1, "u8", 1)
int8 = dtype("int8", np.int8, 1, "i8", 2)
int16 = dtype("int16", np.int16, 1, "i16", 3)
int32 = dtype("int32", np.int32, 1, "i32", 4)
int64 = dtype("int64", np.int64, 1, "i64", 5)
float16 = dtype("float16", np.float16, 2, "f16", 6)
bfloat16 = dtype("bfloat16", ml_dtypes.bfloat16, 2, "bf16", 7)
float32 = dtype("float32", np.float32, 2, "f32", 8)
float64 = dtype("float64", np.float64, 2, "f64", 9)

ALL = (bool, uint8, int8, int16, int32, int64, float16, bfloat16, float32, float64)
_NAMES = {d.name: d for d in ALL}
_NAMES.update({"float": float32, "double": float64, "half": float16, "long": int64, "int": int32,
               "short": int16, "char": int8, "byte": uint8})
_FROM_NP = {d.np: d for d in ALL}


def _by_name(name: str) -> dtype:
    return _NAMES[name]


def from_numpy_dtype(np_dtype) -> dtype:
    """The torchlite dtype storing like ``np_dtype``; TypeError for types torchlite lacks."""
    d = _FROM_NP.get(np.dtype(np_dtype))
    if d is None:
        raise TypeError(f"can't convert np.ndarray of type {np.dtype(np_dtype)}. The only supported types "
                        "are: float64, float32, float16, bfloat16, int64, int32, int16, int8, uint8, and bool.")
    return d


def to_dtype(x) -> dtype:
    """Accept a torchlite dtype, a numpy dtype, a Python type (float, int, bool) or a name."""
    if isinstance(x, dtype):
        return x
    if x is float:
        return _default[0]
    if x is int:
        return int64
    if x is _builtin_bool:
        return bool
    if isinstance(x, str) and x in _NAMES:
        return _NAMES[x]
    try:
        return from_numpy_dtype(x)
    except TypeError:
        raise TypeError(f"expected a torchlite dtype, got {x!r}") from None


# --- default dtype ---------------------------------------------------------------------------------

_default = [float32]


def get_default_dtype() -> dtype:
    """The dtype of Python floats and of float tensors made without one (float32 unless set)."""
    return _default[0]


def set_default_dtype(d: dtype) -> None:
    """Set the default floating dtype (float16, bfloat16, float32 or float64), as torch does."""
    d = to_dtype(d)
    if not d.is_floating_point:
        raise TypeError(f"only floating-point types are supported as the default type, got {d}")
    _default[0] = d


# --- float32 matmul precision ------------------------------------------------------------------------

_MATMUL_PRECISIONS = ("highest", "high", "medium")
_matmul_precision = ["highest"]


def get_float32_matmul_precision() -> str:
    """How generated kernels multiply float32 matrices: ``"highest"`` (IEEE float32, the default) or
    ``"high"``/``"medium"`` (TensorFloat32 tensor cores), as torch's setting of the same name."""
    return _matmul_precision[0]


def set_float32_matmul_precision(precision: str) -> None:
    """Let float32 matmuls (the matmul, MLP and attention templates) run on TensorFloat32 tensor cores
    (``"high"`` or ``"medium"``: 10 explicit mantissa bits per operand, fp32 accumulation) or not
    (``"highest"``). As in torch, it changes how a GPU computes, not dtypes; the numpy backend and the
    Triton interpreter compute in full float32 whatever it says. Programs compiled under one setting are not
    reused under another. torch warns and ignores an unknown value; torchlite raises ValueError."""
    if precision not in _MATMUL_PRECISIONS:
        raise ValueError(f"set_float32_matmul_precision: {precision!r} is not one of {_MATMUL_PRECISIONS}")
    if precision != _matmul_precision[0]:
        _matmul_precision[0] = precision
        from .compiler.passes import pipeline_changed
        pipeline_changed()


# --- promotion ---------------------------------------------------------------------------------------

def _promote_pair(a: dtype, b: dtype) -> dtype:
    if a is b:
        return a
    if a.category != b.category:
        return a if a.category > b.category else b
    if a.category == 2:
        if {a.name, b.name} == {"float16", "bfloat16"}:
            return float32
        return a if a._rank > b._rank else b
    # both integers: numpy's table matches PyTorch's for these widths (uint8 + int8 -> int16)
    return _FROM_NP[np.promote_types(a.np, b.np)]


_PROMOTE = {(a, b): _promote_pair(a, b) for a in ALL for b in ALL}


def promote_types(a: dtype, b: dtype) -> dtype:
    """The smallest dtype both ``a`` and ``b`` convert to without losing category (PyTorch's table)."""
    return _PROMOTE[(a, b)]


def scalar_dtype(x) -> dtype:
    """The dtype a Python scalar stands for when it is a weak operand: bool, int64 or the default float."""
    t = type(x)
    if t is float:
        return _default[0]
    if t is int:
        return int64
    if t is _builtin_bool:
        return bool
    raise TypeError(f"expected a Python number, got {t.__name__}")


def _combine(higher: dtype | None, lower: dtype | None) -> dtype | None:
    # c10's combine_categories: a higher-priority group wins unless the lower one is of a higher category
    if higher is None:
        return lower
    if lower is None or higher.category == 2:
        return higher
    if higher is bool or lower.category == 2:
        return _PROMOTE[(higher, lower)]
    return higher


def result_type_of(dim_dtypes, zero_dtypes, scalar_dtypes) -> dtype:
    """PyTorch's result type given the dtypes of dimensioned tensors, 0-dim tensors and Python scalars."""
    groups = []
    for ds in (dim_dtypes, zero_dtypes, scalar_dtypes):
        r = None
        for d in ds:
            r = d if r is None else _PROMOTE[(r, d)]
        groups.append(r)
    return _combine(groups[0], _combine(groups[1], groups[2]))


def result_type(*args) -> dtype:
    """``torch.result_type`` over tensors and Python scalars.

        >>> import torchlite as tl
        >>> tl.result_type(tl.tensor([1, 2], dtype=tl.int8), 2.5)
        torchlite.float32
    """
    dims, zeros, scalars = [], [], []
    for a in args:
        if isinstance(a, (int, float)):
            scalars.append(scalar_dtype(a))
        else:
            (dims if a.ndim else zeros).append(a.dtype)
    return result_type_of(dims, zeros, scalars)


def can_cast(from_: dtype, to: dtype) -> _builtin_bool:
    """PyTorch's same-kind rule: no floating -> integral and no non-bool -> bool."""
    if from_.category == 2 and to.category < 2:
        return False
    if from_.category > 0 and to.category == 0:
        return False
    return True


class finfo:
    """Machine limits of a floating dtype (``eps``, ``max``, ``min``, ``tiny``, ``bits``)."""

    def __init__(self, type: dtype | None = None):
        d = to_dtype(type) if type is not None else _default[0]
        if not d.is_floating_point:
            raise TypeError(f"torchlite.finfo() requires a floating point input type, got {d}")
        f = ml_dtypes.finfo(d.np) if d is bfloat16 else np.finfo(d.np)
        self.dtype, self.bits = d.name, d.itemsize * 8
        self.eps, self.max, self.min = float(f.eps), float(f.max), float(f.min)
        self.tiny = self.smallest_normal = float(f.tiny)
        self.resolution = float(f.resolution)

    def __repr__(self):
        return f"finfo(resolution={self.resolution}, min={self.min}, max={self.max}, eps={self.eps}, " \
               f"smallest_normal={self.tiny}, tiny={self.tiny}, dtype={self.dtype})"


class iinfo:
    """Limits of an integer dtype (``min``, ``max``, ``bits``)."""

    def __init__(self, type: dtype):
        d = to_dtype(type)
        if d.category != 1 and d is not bool:
            raise TypeError(f"torchlite.iinfo() requires an integer input type, got {d}")
        i = np.iinfo(d.np) if d is not bool else None
        self.dtype, self.bits = d.name, d.itemsize * 8
        self.min, self.max = (int(i.min), int(i.max)) if i is not None else (0, 1)

    def __repr__(self):
        return f"iinfo(min={self.min}, max={self.max}, dtype={self.dtype})"
