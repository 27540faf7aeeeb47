"""Tensor: a handle on a lazy node (DESIGN.md decisions 2 and 5).

Ops on tensors only build nodes (``apply``); values are computed when something needs them (``.numpy()``,
``.item()``, ``print``). In-place ops rebind the tensor to a new node. A view (``x[0]``, ``x.t()``,
``x.view(...)``) remembers its base and the view ops that lead from it, so a write through the view
becomes a new base value (a scatter), and every view of that base sees it, as in PyTorch.

    >>> import torchlite as tl
    >>> x = tl.zeros(2, 3); _ = x[0].add_(1.0); x.sum().item()
    3.0
"""
from __future__ import annotations

import numpy as np

from . import dtypes as _dt
from .devices import CPU, device as _device, to_device
from .autograd.engine import record
from .autograd.grad_mode import _enabled as _grad_enabled
from .lazy import TRACER as _TRACER, LazyNode, op_error, realize, user_frame
from .amp import _state as _amp_state, _cast_args as _amp_cast

__all__ = ["Tensor", "Size", "apply"]

_ERRORS = (RuntimeError, IndexError, ValueError, TypeError)


class Size(tuple):
    """A tensor's shape: a tuple of ints that prints as ``torchlite.Size([2, 3])``."""

    def __repr__(self) -> str:
        return f"torchlite.Size({list(self)})"

    def numel(self) -> int:
        n = 1
        for s in self:
            n *= s
        return n

    def __getitem__(self, i):
        r = tuple.__getitem__(self, i)
        return Size(r) if isinstance(i, slice) else r


def apply(op, args: tuple, params: tuple = (), device=None) -> "Tensor":
    """Build the node for ``op`` over ``args`` (tensors and Python scalars) and wrap it in a Tensor.

    Shape, dtype and device are checked here, so a bad call fails at the user's line.
    """
    if _amp_state[0] is not None:
        args = _amp_cast(op, args)
    srcs = []
    dev = device
    for a in args:
        if isinstance(a, Tensor):
            n = a._node if a._base is None else a.node
            if dev is None:
                dev = n.device
            elif n.device is not dev and device is None:
                raise op_error(RuntimeError, op.name, "Expected all tensors to be on the same device, but found "
                               f"at least two devices, {dev} and {n.device}!")
            srcs.append(n)
        else:
            srcs.append(a)
    srcs = tuple(srcs)
    try:
        shape, dtype = op.meta(srcs, params)
    except _ERRORS as e:
        raise op_error(type(e), op.name, str(e)) from None
    t = Tensor.__new__(Tensor)
    t._node = LazyNode(op, srcs, params, shape, dtype, dev or CPU, user_frame())
    if _grad_enabled[0]:
        for a in args:
            if isinstance(a, Tensor) and a.requires_grad:
                record(t, op, args, params)
                break
    if op.inverse is not None:
        src = args[0]
        base = src._base if src._base is not None else src
        t._base = base
        t._detached = src._detached
        t._view_ops = src._view_ops + ((op, params),)
        t._base_version = base._version
    return t


def _node_apply(op, srcs: tuple, params: tuple) -> LazyNode:
    """A node for ``op`` over nodes (no view bookkeeping): used to replay view chains."""
    shape, dtype = op.meta(srcs, params)
    return LazyNode(op, srcs, params, shape, dtype, srcs[0].device, user_frame())


class Tensor:
    """A multi-dimensional array on a device, computed lazily. See the module docstring."""

    _base: "Tensor | None" = None          # the tensor this one is a view of (always a root)
    _view_ops: tuple = ()                  # (op, params) pairs leading from _base to this view
    _base_version: int = 0                 # _base._version when _node was last derived from it
    _version: int = 0                      # bumped by every in-place write (on roots)
    requires_grad: bool = False
    grad = None
    _grad_fn = None                        # how backward reaches this tensor's inputs (autograd/engine.py)
    _detached = False                      # a view of a base outside autograd (detach()): never records
    __array_priority__ = 1000              # numpy defers to our reflected operators

    def __init__(self, *args, **kwargs):
        # torch.Tensor(data) / torch.Tensor(*sizes): the legacy constructor, default float dtype.
        from .ops.creation import tensor as _tensor, empty
        if len(args) == 1 and not isinstance(args[0], int):
            self._node = _tensor(args[0], dtype=_dt.get_default_dtype(), **kwargs)._node
        else:
            self._node = empty(*args, **kwargs)._node

    @classmethod
    def _wrap(cls, node: LazyNode) -> "Tensor":
        t = cls.__new__(cls)
        t._node = node
        return t

    # -- the node behind this tensor ----------------------------------------------------------------
    @property
    def node(self) -> LazyNode:
        """The lazy node holding this tensor's value (views re-derive it after writes to their base)."""
        base = self._base
        if base is not None and base._version != self._base_version:
            if base.requires_grad and _grad_enabled[0] and not self._detached:
                t = base                        # replay through apply so the view's backward is recorded too
                for op, params in self._view_ops:
                    t = apply(op, (t,), params)
                self._node, self._grad_fn = t._node, t._grad_fn
                self.requires_grad = t.requires_grad
            else:
                n = base._node
                for op, params in self._view_ops:
                    n = _node_apply(op, (n,), params)
                self._node = n
            self._base_version = base._version
        return self._node

    def _assign(self, value) -> "Tensor":
        """Rebind this tensor to ``value`` (a Tensor or LazyNode of the same shape and dtype); a view writes
        through to its base. The backward of ``value`` becomes this tensor's."""
        if isinstance(value, Tensor):
            node, grad_fn, req = value.node, value._grad_fn, value.requires_grad
        else:
            node, grad_fn, req = value, None, False
        base = self._base
        if self._detached and _grad_enabled[0]:
            from .autograd.grad_mode import no_grad
            with no_grad():                 # writes through a detached alias are invisible to autograd
                return self._assign(value)
        root = base if base is not None else self
        if root.requires_grad and root._grad_fn is None and _grad_enabled[0]:
            raise op_error(RuntimeError, "in-place", "a leaf Variable that requires grad is being used in an "
                           "in-place operation.")
        if base is None:
            self._node = node
            self._version += 1
            if req:
                self._grad_fn, self.requires_grad = grad_fn, True
            elif _grad_enabled[0] and self._grad_fn is not None:
                self._grad_fn, self.requires_grad = None, False     # overwritten by a constant
            return self
        chain = [base]
        for op, params in self._view_ops[:-1]:
            chain.append(apply(op, (chain[-1],), params))
        v = value if isinstance(value, Tensor) else Tensor._wrap(value)
        for (op, params), b in zip(reversed(self._view_ops), reversed(chain)):
            try:
                v = op.inverse(b, v, *params)
            except _ERRORS as e:
                if "(at " in str(e):
                    raise
                raise op_error(type(e), f"write through {op.name} view", str(e)) from None
        base._node = v.node
        base._version += 1
        if v.requires_grad:
            base._grad_fn, base.requires_grad = v._grad_fn, True
        self._node = node
        self._base_version = base._version
        if req:
            self._grad_fn, self.requires_grad = grad_fn, True
        return self

    def _write(self, result: "Tensor") -> "Tensor":
        """Finish an in-place op: ``result`` must have this tensor's shape and a castable dtype."""
        n = result.node
        if n.shape != self._node.shape:
            raise op_error(RuntimeError, "in-place", f"output with shape {list(self._node.shape)} doesn't match "
                           f"the broadcast shape {list(n.shape)}")
        if n.dtype is not self._node.dtype:
            if not _dt.can_cast(n.dtype, self._node.dtype):
                raise op_error(RuntimeError, "in-place", f"result type {_pretty(n.dtype)} can't be cast to the "
                               f"desired output type {_pretty(self._node.dtype)}")
            result = result.to(self._node.dtype)
        return self._assign(result)

    # -- autograd ---------------------------------------------------------------------------------------
    @property
    def grad_fn(self):
        """The record backward follows from this tensor (None for leaves)."""
        return self._grad_fn

    @property
    def is_leaf(self) -> bool:
        """True unless this tensor was computed by a recorded op from tensors that require grad."""
        return self._grad_fn is None

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        """Start (or stop) recording operations on this leaf tensor."""
        if self._grad_fn is not None and not requires_grad:
            raise op_error(RuntimeError, "requires_grad_", "you can only change requires_grad flags of leaf "
                           "variables. If you want to use a computed variable in a subgraph that doesn't require "
                           "differentiation use var_no_grad = var.detach().")
        if requires_grad and not self.dtype.is_floating_point:
            raise op_error(RuntimeError, "requires_grad_", "only Tensors of floating point dtype can require "
                           "gradients")
        self.requires_grad = bool(requires_grad)
        return self

    def backward(self, gradient=None, retain_graph: bool | None = None, create_graph: bool = False,
                 inputs=None) -> None:
        """Accumulate d(self)/d(leaf) into each leaf's ``.grad`` (``gradient`` defaults to 1 for a
        one-element tensor)."""
        from .autograd import backward
        backward(self, gradient, retain_graph=retain_graph, create_graph=create_graph, inputs=inputs)

    @property
    def data(self) -> "Tensor":
        """This tensor's value outside autograd (writes to it show in the tensor)."""
        return self.detach()

    @data.setter
    def data(self, value: "Tensor") -> None:
        if not isinstance(value, Tensor):
            raise TypeError(f"data must be a Tensor, not {type(value).__name__}")
        from .autograd.grad_mode import no_grad
        with no_grad():
            self._assign(Tensor._wrap(value.node))

    def __deepcopy__(self, memo) -> "Tensor":
        if id(self) in memo:
            return memo[id(self)]
        from .ops.movement import clone
        from .autograd.grad_mode import no_grad
        with no_grad():
            r = clone(self)
        r.requires_grad = self.requires_grad and self.is_leaf
        memo[id(self)] = r
        return r

    def retain_grad(self) -> None:
        raise NotImplementedError("retain_grad() is not supported yet; use torchlite.autograd.grad(out, [t])")

    # -- metadata -------------------------------------------------------------------------------------
    @property
    def shape(self) -> Size:
        return Size(self._node.shape)

    @property
    def dtype(self) -> _dt.dtype:
        return self._node.dtype

    @property
    def device(self) -> _device:
        return self._node.device

    @property
    def ndim(self) -> int:
        return len(self._node.shape)

    def dim(self) -> int:
        return len(self._node.shape)

    ndimension = dim

    def size(self, dim: int | None = None):
        if dim is None:
            return Size(self._node.shape)
        return self._node.shape[_wrap_dim(dim, self.ndim, "size")]

    def numel(self) -> int:
        n = 1
        for s in self._node.shape:
            n *= s
        return n

    nelement = numel

    def element_size(self) -> int:
        return self._node.dtype.itemsize

    @property
    def itemsize(self) -> int:
        return self._node.dtype.itemsize

    @property
    def nbytes(self) -> int:
        return self.numel() * self._node.dtype.itemsize

    def is_floating_point(self) -> bool:
        return self._node.dtype.is_floating_point

    def is_complex(self) -> bool:
        return False

    @property
    def is_cuda(self) -> bool:
        return self._node.device.type == "cuda"

    @property
    def is_cpu(self) -> bool:
        return self._node.device.type == "cpu"

    @property
    def is_lazy(self) -> bool:
        """Whether this tensor's value is still pending (not computed yet)."""
        return self.node.value is None

    # -- realization and host interop -----------------------------------------------------------------
    def _device_value(self):
        """The value as a buffer of this tensor's device (computed now if pending)."""
        n = self.node
        if _TRACER[0] is not None:              # torchlite.compile is tracing: it decides how to read (compile.py)
            return _TRACER[0].on_read(self, n)
        if n.value is None:
            realize([n])
        return n.value

    def _value(self) -> np.ndarray:
        """The value in host memory (a copy for device buffers that live elsewhere, e.g. cuda)."""
        v = self._device_value()
        if self.node.device.type == "cuda":
            from .devices import backend_for
            v = backend_for(self.node.device).to_host(v)
        return v

    def realize(self) -> "Tensor":
        """Compute this tensor now (and everything live behind it); returns self."""
        self._device_value()
        return self

    def numpy(self, *, force: bool = False) -> np.ndarray:
        """The value as a numpy array (bfloat16 comes as ``ml_dtypes.bfloat16``)."""
        return self._value()

    def item(self):
        """The value of a one-element tensor as a Python number."""
        if self.numel() != 1:
            raise op_error(RuntimeError, "item", f"a Tensor with {self.numel()} elements cannot be converted to Scalar")
        v = self._value().reshape(())
        return _py_scalar(v, self._node.dtype)

    def tolist(self):
        """The value as (nested) Python lists of numbers."""
        v = self._value()
        if self._node.dtype is _dt.bfloat16:
            v = v.astype(np.float32)
        return v.tolist()

    def __array__(self, dtype=None, copy=None):
        v = self._value()
        if dtype is not None and np.dtype(dtype) != v.dtype:
            return v.astype(dtype)
        return v.copy() if copy else v

    def __dlpack__(self, *args, **kwargs):
        return np.ascontiguousarray(self._value()).__dlpack__(*args, **kwargs)

    def __dlpack_device__(self):
        return (1, 0)   # kDLCPU

    def __repr__(self) -> str:
        from ._formatting import format_tensor
        n = self._node
        dev = "" if n.device is CPU else str(n.device)
        v = self._value()
        return format_tensor(v, dtype_name=n.dtype.name, is_default_float=n.dtype is _dt.get_default_dtype(),
                             device=dev or "cpu", requires_grad=self.requires_grad)

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        if self.ndim == 0:
            return format(self.item(), spec)
        return format(repr(self), spec)

    def __len__(self) -> int:
        if not self._node.shape:
            raise TypeError("len() of a 0-d tensor")
        return self._node.shape[0]

    def __iter__(self):
        if not self._node.shape:
            raise TypeError("iteration over a 0-d tensor")
        return iter(self.unbind(0))

    def __bool__(self) -> bool:
        if self.numel() != 1:
            raise op_error(RuntimeError, "bool", f"Boolean value of Tensor with {self.numel()} values is ambiguous")
        return bool(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __float__(self) -> float:
        return float(self.item())

    def __index__(self) -> int:
        if self._node.dtype.category != 1 or self.numel() != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    def __complex__(self):
        return complex(self.item())

    __hash__ = object.__hash__

    def __reduce__(self):
        raise TypeError("torchlite tensors are not picklable: save them with torchlite.save (safetensors)")

    def __getstate__(self):
        self.__reduce__()

    # -- conversions ---------------------------------------------------------------------------------
    def to(self, *args, **kwargs) -> "Tensor":
        """``to(dtype)``, ``to(device)``, ``to(device, dtype)``, ``to(other)``, with ``copy=`` as in torch."""
        dtype, dev, copy = parse_to_args(args, kwargs)
        dtype = _dt.to_dtype(dtype) if dtype is not None else self.dtype
        dev = to_device(dev) if dev is not None else self.device
        if dev is not self.device:
            return _to_device(self, dev, dtype)
        if dtype is self.dtype and not copy:
            return self
        from .ops.pointwise import cast
        return cast(self, dtype) if dtype is not self.dtype else self.clone()

    def type(self, dtype=None):
        if dtype is None:
            return f"torchlite.{_pretty(self.dtype)}Tensor"
        return self.to(_dt.to_dtype(dtype))

    def type_as(self, other: "Tensor") -> "Tensor":
        return self.to(other.dtype)

    def float(self): return self.to(_dt.float32)
    def double(self): return self.to(_dt.float64)
    def half(self): return self.to(_dt.float16)
    def bfloat16(self): return self.to(_dt.bfloat16)
    def int(self): return self.to(_dt.int32)
    def long(self): return self.to(_dt.int64)
    def short(self): return self.to(_dt.int16)
    def char(self): return self.to(_dt.int8)
    def byte(self): return self.to(_dt.uint8)
    def bool(self): return self.to(_dt.bool)

    def cpu(self) -> "Tensor":
        return self.to("cpu")

    def cuda(self, device=None) -> "Tensor":
        return self.to(device if device is not None else "cuda")


def _to_device(t: "Tensor", dev, dtype) -> "Tensor":
    """A copy of ``t`` on ``dev`` (realized: the copy goes through host memory), as ``dtype``; keeps autograd
    history for the cast, as torch's ``to`` does."""
    from .devices import backend_for
    from .lazy import LazyNode
    src = t if dtype is t.dtype else t.to(dtype)
    host = src._value()
    buf = backend_for(dev).from_host(host if host.flags.c_contiguous else np.ascontiguousarray(host))  # 0-d stays 0-d
    out = Tensor._wrap(LazyNode.leaf(buf, src.dtype, dev, user_frame()))
    if src.requires_grad:
        out.requires_grad_(True)
    return out


_TORCH_NAMES = {"float32": "Float", "float64": "Double", "float16": "Half", "bfloat16": "BFloat16",
                "int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool"}


def _pretty(d: _dt.dtype) -> str:
    return _TORCH_NAMES[d.name]


def _py_scalar(v: np.ndarray, dtype: _dt.dtype):
    if dtype.category == 2:
        return float(v)
    if dtype.category == 1:
        return int(v)
    return bool(v)


def parse_to_args(args: tuple, kwargs: dict) -> tuple:
    """``(dtype, device, copy)`` from the ways ``Tensor.to``/``Module.to`` are called: ``to(dtype)``,
    ``to(device)``, ``to(device, dtype)``, ``to(tensor)``, and the keywords; None where not given."""
    kwargs = dict(kwargs)
    dtype = kwargs.pop("dtype", None)
    dev = kwargs.pop("device", None)
    copy = kwargs.pop("copy", False)
    kwargs.pop("non_blocking", None)
    kwargs.pop("memory_format", None)
    if kwargs:
        raise TypeError(f"to() got unexpected keyword arguments {sorted(kwargs)}")
    for a in args:
        if isinstance(a, Tensor):
            dtype, dev = a.dtype, a.device
        elif isinstance(a, (_dt.dtype, type)) and not isinstance(a, str):
            dtype = _dt.to_dtype(a)
        elif isinstance(a, (str, _device)):
            dev = a
        elif a is not None:
            raise TypeError(f"to() received an invalid combination of arguments: {a!r}")
    return dtype, dev, copy


def _wrap_dim(dim: int, ndim: int, opname: str) -> int:
    """A dim in [-ndim, ndim) as a non-negative index; IndexError naming the range otherwise."""
    lo, hi = (-ndim, ndim - 1) if ndim else (-1, 0)
    if not isinstance(dim, int) or isinstance(dim, bool):
        raise op_error(TypeError, opname, f"dim must be an int, got {type(dim).__name__}")
    if dim < lo or dim > hi:
        raise op_error(IndexError, opname, f"Dimension out of range (expected to be in range of [{lo}, {hi}], but got {dim})")
    return dim % ndim if ndim else 0
