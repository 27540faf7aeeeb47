"""Autograd as a graph transform: ``backward``, ``grad`` and grad mode (DESIGN.md decision 6).

    >>> import torchlite as tl
    >>> x = tl.tensor([3.0], requires_grad=True)
    >>> tl.autograd.grad((x ** 2).sum(), x)[0].tolist()
    [6.0]
"""
from __future__ import annotations

from .engine import GradFn, run_backward
from .function import Function
from .gradcheck import gradcheck
from .grad_mode import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled

__all__ = ["backward", "grad", "no_grad", "enable_grad", "set_grad_enabled", "inference_mode", "is_grad_enabled",
           "GradFn", "gradcheck", "Function"]


def _as_list(x) -> list:
    if x is None:
        return []
    return list(x) if isinstance(x, (list, tuple)) else [x]


def _grad_outputs(outputs: list, grads: list, opname: str) -> list:
    from ..lazy import op_error
    from ..ops.creation import ones_like
    if not grads:
        grads = [None] * len(outputs)
    if len(grads) != len(outputs):
        raise op_error(RuntimeError, opname, f"got {len(grads)} gradients for {len(outputs)} outputs")
    out = []
    for o, g in zip(outputs, grads):
        if g is None:
            if o.numel() != 1:
                raise op_error(RuntimeError, opname, "grad can be implicitly created only for scalar outputs")
            g = ones_like(o)
        elif tuple(g.shape) != tuple(o.shape):
            raise op_error(RuntimeError, opname, f"Mismatch in shape: grad_output has a shape of {list(g.shape)} "
                           f"and output has a shape of {list(o.shape)}.")
        out.append(g)
    return out


def backward(tensors, grad_tensors=None, retain_graph: bool | None = None, create_graph: bool = False,
             inputs=None) -> None:
    """Accumulate the gradients of ``tensors`` into the ``.grad`` of the leaves they depend on."""
    outs = _as_list(tensors)
    grads = _grad_outputs(outs, _as_list(grad_tensors), "backward")
    retain = create_graph if retain_graph is None else retain_graph
    if inputs is not None:
        ins = _as_list(inputs)
        results = run_backward(outs, grads, inputs=ins, retain_graph=retain, create_graph=create_graph,
                               allow_unused=True)
        for t, g in zip(ins, results):
            if g is not None:
                g = g if create_graph else g.detach()
                t.grad = g if t.grad is None else t.grad + g
        return
    run_backward(outs, grads, retain_graph=retain, create_graph=create_graph)


def grad(outputs, inputs, grad_outputs=None, retain_graph: bool | None = None, create_graph: bool = False,
         allow_unused: bool = False) -> tuple:
    """The gradients of ``outputs`` with respect to ``inputs`` (returned, not accumulated into ``.grad``)."""
    outs = _as_list(outputs)
    ins = _as_list(inputs)
    grads = _grad_outputs(outs, _as_list(grad_outputs), "grad")
    retain = create_graph if retain_graph is None else retain_graph
    return run_backward(outs, grads, inputs=ins, retain_graph=retain, create_graph=create_graph,
                        allow_unused=allow_unused)
