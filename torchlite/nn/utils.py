"""``nn.utils``: gradient clipping with PyTorch's semantics.

    >>> import torchlite as tl
    >>> p = tl.nn.Parameter(tl.zeros(2)); p.grad = tl.tensor([3.0, 4.0])
    >>> tl.nn.utils.clip_grad_norm_([p], 1.0)
    tensor(5.)
"""
from __future__ import annotations

import math

import torchlite as _tl
from ..lazy import op_error
from ..tensor import Tensor

__all__ = ["clip_grad_norm_", "clip_grad_value_"]


def _grads(parameters) -> list:
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p.grad for p in parameters if p.grad is not None]


def clip_grad_norm_(parameters, max_norm: float, norm_type: float = 2.0, error_if_nonfinite: bool = False,
                    foreach=None):
    """Scale every gradient in place by ``min(1, max_norm / (total_norm + 1e-6))``; returns ``total_norm`` (the
    ``norm_type`` norm of all gradients concatenated)."""
    grads = _grads(parameters)
    norm_type = float(norm_type)
    if not grads:
        return _tl.tensor(0.0)
    with _tl.no_grad():
        if norm_type == math.inf:
            norms = [g.detach().abs().amax() for g in grads]
            total = _tl.stack([n.to(grads[0].dtype) for n in norms]).amax()
        else:
            norms = [g.detach().norm(norm_type) for g in grads]
            total = _tl.stack([n.to(grads[0].dtype) for n in norms]).norm(norm_type)
        if error_if_nonfinite and not bool(_tl.isfinite(total).item()):
            raise op_error(RuntimeError, "clip_grad_norm_",
                           f"The total norm of order {norm_type} for gradients from `parameters` is non-finite, so "
                           "it cannot be clipped. To disable this error and scale the gradients by the non-finite "
                           "norm anyway, set `error_if_nonfinite=False`")
        coef = (max_norm / (total + 1e-6)).clamp(max=1.0)
        for g in grads:
            g.mul_(coef.to(g.dtype))
    return total


def clip_grad_value_(parameters, clip_value: float, foreach=None) -> None:
    """Clamp every gradient in place to ``[-clip_value, clip_value]``."""
    clip_value = float(clip_value)
    with _tl.no_grad():
        for g in _grads(parameters):
            g.clamp_(-clip_value, clip_value)
