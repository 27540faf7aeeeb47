"""Batch normalization with PyTorch's semantics: batch statistics in training (running stats updated under
no_grad with the unbiased variance), running statistics in eval.

    >>> import torchlite as tl
    >>> tl.nn.BatchNorm2d(4)
    BatchNorm2d(4, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)
"""
from __future__ import annotations

import torchlite as _tl
from ..lazy import op_error
from . import init
from .module import Module
from .parameter import Parameter

__all__ = ["batch_norm", "BatchNorm1d", "BatchNorm2d"]


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training: bool = False,
               momentum: float = 0.1, eps: float = 1e-5):
    """Normalize over every dim but 1. ``training`` uses batch stats and (if given) updates ``running_mean`` /
    ``running_var`` in place: ``r = (1 - momentum) * r + momentum * stat`` (unbiased variance)."""
    name = "batch_norm"
    if input.dim() < 2:
        raise op_error(ValueError, name, f"expected 2D or more input (got {input.dim()}D input)")
    c = input.shape[1]
    dims = [0] + list(range(2, input.dim()))
    shape = [1, c] + [1] * (input.dim() - 2)
    for what, t in (("running_mean", running_mean), ("running_var", running_var), ("weight", weight),
                    ("bias", bias)):
        if t is not None and tuple(t.shape) != (c,):
            raise op_error(RuntimeError, name, f"{what} should contain {c} elements not {t.numel()}")
    if training:
        count = input.numel() // c
        if count <= 1:
            raise op_error(ValueError, name, "Expected more than 1 value per channel when training, got input "
                           f"size {list(input.shape)}")
        mean = input.mean(dims, keepdim=True)
        var = ((input - mean) ** 2).mean(dims, keepdim=True)
        if running_mean is not None or running_var is not None:
            with _tl.no_grad():
                if running_mean is not None:
                    running_mean.mul_(1 - momentum).add_(mean.detach().reshape(c).to(running_mean.dtype) * momentum)
                if running_var is not None:
                    unbiased = var.detach().reshape(c) * (count / (count - 1))
                    running_var.mul_(1 - momentum).add_(unbiased.to(running_var.dtype) * momentum)
    else:
        if running_mean is None or running_var is None:
            raise op_error(RuntimeError, name, "running_mean and running_var must be defined in evaluation mode")
        mean = running_mean.reshape(shape)
        var = running_var.reshape(shape)
    y = (input - mean) * _tl.rsqrt(var + eps)
    if weight is not None:
        y = y * weight.reshape(shape)
    if bias is not None:
        y = y + bias.reshape(shape)
    return y


class _BatchNorm(Module):
    _dims = (2, 3)

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True, device=None, dtype=None):
        super().__init__()
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        if affine:
            self.weight = Parameter(_tl.empty(num_features, device=device, dtype=dtype))
            self.bias = Parameter(_tl.empty(num_features, device=device, dtype=dtype))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", _tl.zeros(num_features, device=device, dtype=dtype))
            self.register_buffer("running_var", _tl.ones(num_features, device=device, dtype=dtype))
            self.register_buffer("num_batches_tracked", _tl.tensor(0, dtype=_tl.int64, device=device))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)
        self.reset_parameters()

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            self.running_mean.zero_()
            self.running_var.fill_(1)
            self.num_batches_tracked.zero_()

    def reset_parameters(self) -> None:
        self.reset_running_stats()
        if self.affine:
            init.ones_(self.weight)
            init.zeros_(self.bias)

    def forward(self, input):
        if input.dim() not in self._dims:
            raise op_error(ValueError, type(self).__name__,
                           f"expected {' or '.join(f'{d}D' for d in self._dims)} input (got {input.dim()}D input)")
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats and self.num_batches_tracked is not None:
            with _tl.no_grad():
                self.num_batches_tracked.add_(1)
            if self.momentum is None:
                factor = 1.0 / float(self.num_batches_tracked.item())
        use_batch = self.training or (self.running_mean is None and self.running_var is None)
        track = not self.training or self.track_running_stats
        return batch_norm(input, self.running_mean if track else None, self.running_var if track else None,
                          self.weight, self.bias, use_batch, factor, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch norm over (N, C) or (N, C, L) inputs."""
    _dims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch norm over (N, C, H, W) inputs."""
    _dims = (4,)
