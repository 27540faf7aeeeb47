"""torchlite: a PyTorch-like tensor library in pure Python.

Tensor ops build a lazy graph; realizing a tensor (``.numpy()``, ``.item()``, ``print``) captures the
pending graph into ``torchlite.fx``, runs the graph passes, and executes a cached program on the tensor's
device (numpy on cpu).

    >>> import torchlite as torch
    >>> x = torch.arange(6.0).reshape(2, 3)
    >>> (x * 2 + 1).relu().sum(dim=1).tolist()
    [9.0, 27.0]
"""
from __future__ import annotations

from .dtypes import (dtype, bool, uint8, int8, int16, int32, int64, float16, bfloat16, float32, float64,
                     promote_types, result_type, can_cast, get_default_dtype, set_default_dtype, finfo, iinfo,
                     get_float32_matmul_precision, set_float32_matmul_precision)
from .dtypes import float32 as float, float64 as double, float16 as half, int64 as long, int32 as int  # noqa: A001
from .dtypes import int16 as short, uint8 as byte  # noqa: A001
from .devices import device, get_default_device, set_default_device
from .tensor import Tensor, Size
from . import ops
from . import methods as _methods
from . import autograd, func, fx, nn, optim, return_types, utils
from . import cuda
from .autograd import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from .ops import random
from ._formatting import set_printoptions, get_printoptions
from .serialization import save, load
from .compile import compile
from .amp import autocast, GradScaler

_methods.bind()
for _fam in ops.FAMILIES:
    globals().update({name: getattr(_fam, name) for name in _fam.__all__})

__version__ = "0.1.0"


def is_tensor(obj) -> bool:
    """Whether ``obj`` is a torchlite Tensor."""
    return isinstance(obj, Tensor)


def numel(input: Tensor) -> int:
    return input.numel()
