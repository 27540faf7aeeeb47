"""Custom differentiable operations: ``torchlite.autograd.Function``, as in PyTorch.

A subclass defines ``forward(ctx, *args)`` and ``backward(ctx, *grad_outputs)`` as static methods and is
called through ``Fn.apply(*args)``. The forward runs under ``no_grad``; when grad mode is on and a tensor
input requires grad, every differentiable output gets a ``GradFn`` whose op is a small per-call record with
a ``vjp`` rule that calls the user's ``backward`` -- so custom functions plug into the ordinary engine
(``backward``, ``autograd.grad``, ``create_graph`` and ``torchlite.func`` transforms).

With several outputs each output gets its own ``GradFn``; its rule calls ``backward`` with that output's
gradient and zeros for the others (the engine sums the per-output contributions, and ``backward`` is linear
in its gradients).

    >>> import torchlite as tl
    >>> class Square(tl.autograd.Function):
    ...     @staticmethod
    ...     def forward(ctx, x):
    ...         ctx.save_for_backward(x)
    ...         return x * x
    ...     @staticmethod
    ...     def backward(ctx, g):
    ...         x, = ctx.saved_tensors
    ...         return 2 * x * g
    >>> x = tl.tensor([1.0, 3.0], requires_grad=True)
    >>> Square.apply(x).sum().backward(); x.grad.tolist()
    [2.0, 6.0]
"""
from __future__ import annotations

from .engine import GradFn, saved_and_edges
from .grad_mode import _enabled, no_grad

__all__ = ["Function", "FunctionCtx"]


class FunctionCtx:
    """The ``ctx`` handed to ``forward`` and ``backward``: saved tensors and any attributes you set."""

    def __init__(self):
        self.needs_input_grad: tuple = ()
        self.to_save: tuple = ()
        self.non_differentiable: set = set()
        self.materialize_grads = True

    def save_for_backward(self, *tensors) -> None:
        """Keep ``tensors`` (or None) for ``backward`` (read them back as ``ctx.saved_tensors``)."""
        from ..tensor import Tensor
        for i, t in enumerate(tensors):
            if t is not None and not isinstance(t, Tensor):
                raise TypeError(f"save_for_backward can only save variables, but argument {i} is of type "
                                f"{type(t).__name__}")
        self.to_save = tensors

    @property
    def saved_tensors(self) -> tuple:
        return tuple(self.to_save)

    def mark_non_differentiable(self, *tensors) -> None:
        """Outputs that get no gradient (they do not require grad; their gradients in backward are zeros)."""
        self.non_differentiable.update(id(t) for t in tensors)

    def mark_dirty(self, *tensors) -> None:
        """Accepted for compatibility; torchlite records nothing more for in-place inputs."""

    def set_materialize_grads(self, value: bool) -> None:
        """With False, ``backward`` sees None (not zeros) for outputs whose gradient is not being sent."""
        self.materialize_grads = bool(value)


class _FunctionOp:
    """A per-call OpDef look-alike: the engine calls ``vjp(g, out, *saved)``."""

    __slots__ = ("name", "cls", "ctx", "index", "outputs", "inputs", "kinds", "__weakref__")

    def __init__(self, cls, ctx, index: int, outputs: tuple, inputs: tuple):
        self.name, self.cls, self.ctx, self.index = cls.__name__, cls, ctx, index
        self.outputs, self.inputs = outputs, inputs

    def vjp(self, g, out, *srcs):
        from ..ops.creation import zeros_like
        from ..tensor import Tensor
        grads = []
        for k, o in enumerate(self.outputs):
            if k == self.index:
                grads.append(g)
            elif not isinstance(o, Tensor) or not self.ctx.materialize_grads:
                grads.append(None)
            else:
                grads.append(zeros_like(o))
        result = self.cls.backward(self.ctx, *grads)
        if not isinstance(result, tuple):
            result = (result,)
        n = len(self.inputs)
        if len(result) != n:
            if len(result) > n and all(r is None for r in result[n:]):
                result = result[:n]
            else:
                raise RuntimeError(f"function {self.name}Backward returned an incorrect number of gradients "
                                   f"(expected {n}, got {len(result)})")
        checked = []
        for i, (r, a) in enumerate(zip(result, self.inputs)):
            if r is None:
                checked.append(None)
                continue
            if not isinstance(a, Tensor):
                raise RuntimeError(f"function {self.name}Backward returned a gradient different than None at "
                                   f"position {i + 1}, but the corresponding forward input was not a Variable")
            if not isinstance(r, Tensor):
                raise TypeError(f"function {self.name}Backward returned a gradient at position {i + 1} of type "
                                f"{type(r).__name__}, expected a Tensor or None")
            if not _reducible(tuple(r.shape), tuple(a.shape)):
                raise RuntimeError(f"Function {self.name}Backward returned an invalid gradient at index {i} - got "
                                   f"{list(r.shape)} but expected shape compatible with {list(a.shape)}")
            checked.append(r if a.requires_grad else None)
        return tuple(checked)


def _reducible(got: tuple, want: tuple) -> bool:
    """Whether a gradient of shape ``got`` sums back to ``want`` (``want`` broadcasts to ``got``)."""
    if got == want:
        return True
    if len(want) > len(got):
        return False
    return all(w == 1 or w == g for w, g in zip(want, got[len(got) - len(want):]))


class _FunctionBackward(GradFn):
    __slots__ = ()

    def name(self) -> str:
        return f"{self.op.name}Backward"


class Function:
    """Base class of custom autograd operations (define static ``forward`` and ``backward``; call ``apply``)."""

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("You must implement the forward function for custom autograd.Function.")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError("You must implement either the backward or vjp method for your custom "
                                  "autograd.Function to use it with backward mode AD.")

    @classmethod
    def apply(cls, *args, **kwargs):
        """Run ``forward`` and, if an input requires grad, record ``backward`` for each output."""
        from ..tensor import Tensor
        ctx = FunctionCtx()
        ctx.needs_input_grad = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
        with no_grad():
            result = cls.forward(ctx, *args, **kwargs)
        single = not isinstance(result, tuple)
        outs = (result,) if single else tuple(result)
        if not (_enabled[0] and any(ctx.needs_input_grad)):
            return result
        in_ids = {id(a) for a in args if isinstance(a, Tensor)}
        fresh = []
        for o in outs:
            if isinstance(o, Tensor) and id(o) in in_ids:    # forward returned an input: give it its own tensor
                nd = id(o) in ctx.non_differentiable
                o = Tensor._wrap(o.node)
                if nd:
                    ctx.non_differentiable.add(id(o))
            fresh.append(o)
        outs = tuple(fresh)
        saved, next_ = saved_and_edges(args)
        for k, o in enumerate(outs):
            if not isinstance(o, Tensor) or id(o) in ctx.non_differentiable or not o.dtype.is_floating_point:
                continue
            op = _FunctionOp(cls, ctx, k, outs, args)
            o.requires_grad = True
            o._grad_fn = _FunctionBackward(op, (), saved, next_, o.node)
        return outs[0] if single else outs
