"""``torch.nn.functional``-style functions over the op families (more arrive with the nn issue)."""
from __future__ import annotations

from ..ops.pointwise import gelu, relu, sigmoid, silu, softplus, tanh
from ..ops.reduction import log_softmax, softmax
from ..ops.rearranging import one_hot, pad
from ..ops.linalg import linear

__all__ = ["gelu", "relu", "sigmoid", "silu", "softplus", "tanh", "softmax", "log_softmax", "one_hot", "pad",
           "linear"]
