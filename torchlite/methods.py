"""Tensor methods and operators, bound from the op families' ``METHODS``/``INPLACE``/``PROPERTIES`` lists.

An in-place method ``x.op_(...)`` is ``x.op(...)`` written back into ``x`` (functionalization): the result
must keep ``x``'s shape and be castable to its dtype, as in PyTorch.
"""
from __future__ import annotations

import functools

from .tensor import Tensor
from .ops import FAMILIES
from .ops import pointwise as pw
from .ops.pointwise import _operand


def _inplace(fn):
    @functools.wraps(fn)
    def method(self, *args, **kwargs):
        return self._write(fn(self, *args, **kwargs))
    method.__name__ = method.__qualname__ = fn.__name__ + "_"
    method.__doc__ = f"In-place ``{fn.__name__}``: ``x.{fn.__name__}_(...)`` rebinds ``x`` to the result."
    return method


def _binop(fn, reflected=False):
    if reflected:
        def op(self, other):
            o = _operand(other)
            return NotImplemented if o is None else fn(o, self)
    else:
        def op(self, other):
            o = _operand(other)
            return NotImplemented if o is None else fn(self, o)
    return op


def _ibinop(fn):
    def op(self, other):
        o = _operand(other)
        if o is None:
            return NotImplemented
        return self._write(fn(self, o))
    return op


def _invert(self):
    if self.dtype.is_floating_point:
        from .lazy import op_error
        raise op_error(TypeError, "invert", "~ (operator.invert) is only implemented on integer and Boolean-type "
                       "tensors")
    return pw.logical_not(self) if self.dtype.name == "bool" else pw.bitwise_not(self)


def _pos(self):
    if self.dtype.name == "bool":
        from .lazy import op_error
        raise op_error(RuntimeError, "pos", "The `+` operator, on a bool tensor is not supported.")
    return self


def _matmul(a, b):
    from .ops.linalg import matmul
    return matmul(a, b)


def _getitem(self, index):
    from .ops.indexing import getitem
    return getitem(self, index)


def _setitem(self, index, value):
    from .ops.indexing import setitem
    setitem(self, index, value)


_OPERATORS = {
    "add": pw.add, "sub": pw.sub, "mul": pw.mul, "truediv": pw.div, "floordiv": pw.floor_divide,
    "mod": pw.remainder, "pow": pw.pow, "and": pw.bitwise_and, "or": pw.bitwise_or, "xor": pw.bitwise_xor,
    "lshift": pw.bitwise_left_shift, "rshift": pw.bitwise_right_shift, "matmul": _matmul,
}


def bind() -> None:
    for fam in FAMILIES:
        for name in getattr(fam, "METHODS", ()):
            setattr(Tensor, name, getattr(fam, name))
        for name in getattr(fam, "INPLACE", ()):
            setattr(Tensor, name + "_", _inplace(getattr(fam, name)))
        for name, fn in getattr(fam, "PROPERTIES", {}).items():
            setattr(Tensor, name, property(fn))
    for name, fn in _OPERATORS.items():
        setattr(Tensor, f"__{name}__", _binop(fn))
        setattr(Tensor, f"__r{name}__", _binop(fn, reflected=True))
        setattr(Tensor, f"__i{name}__", _ibinop(fn))
    for name, fn in {"eq": pw.eq, "ne": pw.ne, "lt": pw.lt, "le": pw.le, "gt": pw.gt, "ge": pw.ge}.items():
        setattr(Tensor, f"__{name}__", _binop(fn))
    Tensor.where = pw._where_method
    Tensor.__neg__ = pw.neg
    Tensor.__pos__ = _pos
    Tensor.__abs__ = pw.abs
    Tensor.__invert__ = _invert
    Tensor.__getitem__ = _getitem
    Tensor.__setitem__ = _setitem
    Tensor.__hash__ = object.__hash__
