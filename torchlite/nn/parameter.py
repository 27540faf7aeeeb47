"""``nn.Parameter``: a leaf tensor that requires grad and that a ``Module`` registers when assigned.

    >>> import torchlite as tl
    >>> p = tl.nn.Parameter(tl.zeros(2))
    >>> p.requires_grad, p.is_leaf
    (True, True)
"""
from __future__ import annotations

from ..tensor import Tensor

__all__ = ["Parameter", "Buffer"]


class Parameter(Tensor):
    """A Tensor that is a module parameter: a leaf over ``data``'s current value (``requires_grad=True``)."""

    def __new__(cls, data=None, requires_grad: bool = True):
        if data is None:
            from ..ops.creation import empty
            data = empty(0)
        if not isinstance(data, Tensor):
            raise TypeError(f"Parameter(): argument 'data' must be Tensor, not {type(data).__name__}")
        t = Tensor.__new__(cls)
        t._node = data.node                   # nodes are immutable: sharing one copies nothing
        if requires_grad:
            t.requires_grad_(True)
        return t

    def __init__(self, data=None, requires_grad: bool = True):    # Tensor.__init__ is the legacy constructor
        pass

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    __str__ = __repr__

    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        r = Parameter(self.detach().clone(), self.requires_grad)
        memo[id(self)] = r
        return r


class Buffer(Tensor):
    """Marks a tensor to be registered as a buffer when assigned to a Module attribute (``nn.Buffer``)."""

    def __new__(cls, data=None, *, persistent: bool = True):
        if data is None:
            from ..ops.creation import empty
            data = empty(0)
        t = Tensor.__new__(cls)
        t._node = data.node
        t.persistent = persistent
        return t

    def __init__(self, data=None, *, persistent: bool = True):
        pass
