"""Neural-network building blocks with PyTorch's names: ``Parameter``, ``Module``, containers, layers,
``nn.init`` and ``nn.functional``.

    >>> import torchlite as tl
    >>> m = tl.nn.Sequential(tl.nn.Linear(3, 4), tl.nn.ReLU())
    >>> [n for n, _ in m.named_parameters()]
    ['0.weight', '0.bias']
"""
from . import functional
from . import init
from .parameter import Buffer, Parameter
from .module import Module, RemovableHandle
from .containers import ModuleDict, ModuleList, Sequential
from .layers import (GELU, Dropout, Embedding, Flatten, Identity, LayerNorm, Linear, LogSoftmax, ReLU, RMSNorm,
                     Sigmoid, SiLU, Softmax, Tanh)

__all__ = ["functional", "init", "Parameter", "Buffer", "Module", "RemovableHandle", "Sequential", "ModuleList",
           "ModuleDict", "Identity", "Linear", "Embedding", "LayerNorm", "RMSNorm", "Dropout", "Flatten", "ReLU",
           "GELU", "SiLU", "Tanh", "Sigmoid", "Softmax", "LogSoftmax"]
from . import utils
from .conv import AdaptiveAvgPool2d, AvgPool2d, Conv1d, Conv2d, MaxPool2d
from .batchnorm import BatchNorm1d, BatchNorm2d
from .transformer import MultiheadAttention, TransformerEncoder, TransformerEncoderLayer

__all__ += ["utils", "Conv1d", "Conv2d", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d", "BatchNorm1d", "BatchNorm2d",
            "MultiheadAttention", "TransformerEncoderLayer", "TransformerEncoder"]
