"""Convolutions and pooling with PyTorch's signatures, composed from public tensor ops (pad, strided slicing,
stack, matmul), so they are lazy and differentiable through the existing VJP rules.

    >>> import torchlite as tl
    >>> tl.nn.Conv2d(3, 8, 3, padding=1)(tl.zeros(2, 3, 5, 5)).shape
    torchlite.Size([2, 8, 5, 5])
"""
from __future__ import annotations

import itertools
import math
import numbers

import numpy as np

import torchlite as _tl
from ..lazy import op_error
from ..ops.rearranging import pad as _pad
from . import init
from .module import Module
from .parameter import Parameter

__all__ = ["conv1d", "conv2d", "max_pool2d", "avg_pool2d", "adaptive_avg_pool2d", "Conv1d", "Conv2d", "MaxPool2d",
           "AvgPool2d", "AdaptiveAvgPool2d"]


def _tuple(v, n: int, name: str, what: str) -> tuple:
    if isinstance(v, numbers.Integral):
        return (int(v),) * n
    t = tuple(int(x) for x in v)
    if len(t) == 1:
        return t * n
    if len(t) != n:
        raise op_error(RuntimeError, name, f"expected {what} to be a single integer value or a list of {n} values "
                       f"to match the convolution dimensions, but got {what}={list(t)}")
    return t


def _windows(xp, kernel, stride, dilation, out):
    """Stack every kernel offset's strided slice of ``xp`` (N, C, *spatial) along a new dim 2 -> (N, C, K, *out)."""
    nd = len(kernel)
    parts = []
    for offs in itertools.product(*(range(k) for k in kernel)):
        idx = [slice(None), slice(None)]
        for i in range(nd):
            start = offs[i] * dilation[i]
            idx.append(slice(start, start + stride[i] * (out[i] - 1) + 1, stride[i]))
        parts.append(xp[tuple(idx)])
    return _tl.stack(parts, 2)


def _pad_spatial(x, pads, value=0.0):
    """``pads`` is [(left, right)] per spatial dim (first dim first)."""
    if all(lo == 0 and hi == 0 for lo, hi in pads):
        return x
    flat = []
    for lo, hi in reversed(pads):
        flat += [lo, hi]
    return _pad(x, tuple(flat), value=value)


def _convnd(nd, name, input, weight, bias, stride, padding, dilation, groups):
    if input.dim() not in (nd + 1, nd + 2):
        raise op_error(RuntimeError, name, f"Expected {nd + 1}D (unbatched) or {nd + 2}D (batched) input to {name}, "
                       f"but got input of size: {list(input.shape)}")
    if weight.dim() != nd + 2:
        raise op_error(RuntimeError, name, f"weight should have {nd + 2} dimensions, got {weight.dim()}")
    unbatched = input.dim() == nd + 1
    x = input.unsqueeze(0) if unbatched else input
    stride = _tuple(stride, nd, name, "stride")
    dilation = _tuple(dilation, nd, name, "dilation")
    if any(s <= 0 for s in stride):
        raise op_error(RuntimeError, name, "non-positive stride is not supported")
    n, c = x.shape[0], x.shape[1]
    o, cg = weight.shape[0], weight.shape[1]
    kernel = tuple(weight.shape[2:])
    if groups <= 0:
        raise op_error(RuntimeError, name, "non-positive groups is not supported")
    if c != cg * groups:
        raise op_error(RuntimeError, name, f"Given groups={groups}, weight of size {list(weight.shape)}, expected "
                       f"input{list(x.shape)} to have {cg * groups} channels, but got {c} channels instead")
    if o % groups:
        raise op_error(RuntimeError, name, f"Given groups={groups}, expected weight to be divisible by {groups} at "
                       f"dimension 0, but got weight of size {list(weight.shape)} instead")
    if isinstance(padding, str):
        if padding == "valid":
            pads = [(0, 0)] * nd
        elif padding == "same":
            if any(s != 1 for s in stride):
                raise op_error(ValueError, name, "padding='same' is not supported for strided convolutions")
            pads = []
            for k, d in zip(kernel, dilation):
                total = d * (k - 1)
                pads.append((total // 2, total - total // 2))
        else:
            raise op_error(ValueError, name, f"Invalid padding string '{padding}', should be one of {{'valid', "
                           f"'same'}}")
    else:
        pads = [(p, p) for p in _tuple(padding, nd, name, "padding")]
        if any(p < 0 for p, _ in pads):
            raise op_error(RuntimeError, name, "negative padding is not supported")
    spatial = x.shape[2:]
    out = []
    for size, (lo, hi), k, d, s in zip(spatial, pads, kernel, dilation, stride):
        eff = size + lo + hi - d * (k - 1)
        if eff < 1:
            raise op_error(RuntimeError, name, f"Calculated padded input size per channel: "
                           f"({' x '.join(str(a + b + c_) for a, (b, c_) in zip(spatial, pads))}). Kernel size: "
                           f"({' x '.join(str(d_ * (k_ - 1) + 1) for d_, k_ in zip(dilation, kernel))}). "
                           "Kernel size can't be greater than actual input size")
        out.append((eff - 1) // s + 1)
    xp = _pad_spatial(x, pads)
    cols = _windows(xp, kernel, stride, dilation, out)             # (N, C, K, *out)
    kk = math.prod(kernel)
    length = math.prod(out)
    cols = cols.reshape(n, groups, cg * kk, length)                 # (N, G, Cg*K, L)
    w = weight.reshape(groups, o // groups, cg * kk)                # (G, Og, Cg*K)
    y = _tl.matmul(w, cols).reshape(n, o, *out)
    if bias is not None:
        y = y + bias.reshape(o, *([1] * nd))
    return y.squeeze(0) if unbatched else y


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups: int = 1):
    """1-D cross-correlation over (N, C_in, L) (or unbatched (C_in, L)) with weight (C_out, C_in/groups, k)."""
    return _convnd(1, "conv1d", input, weight, bias, stride, padding, dilation, groups)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups: int = 1):
    """2-D cross-correlation over (N, C_in, H, W) (or unbatched) with weight (C_out, C_in/groups, kH, kW)."""
    return _convnd(2, "conv2d", input, weight, bias, stride, padding, dilation, groups)


# --- pooling ---------------------------------------------------------------------------------------------------

def _pool_out(size, k, s, p, d, ceil_mode):
    num = size + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil_mode else 0)
    out = num // s + 1
    if ceil_mode and (out - 1) * s >= size + p:
        out -= 1
    return out


def _pool_setup(name, input, kernel_size, stride, padding, dilation, ceil_mode):
    if input.dim() not in (3, 4):
        raise op_error(RuntimeError, name, "non-empty 3D or 4D (batch mode) tensor expected for input")
    k = _tuple(kernel_size, 2, name, "kernel_size")
    s = k if stride is None or (not isinstance(stride, numbers.Integral) and len(stride) == 0) else \
        _tuple(stride, 2, name, "stride")
    p = _tuple(padding, 2, name, "padding")
    d = _tuple(dilation, 2, name, "dilation")
    for i in range(2):
        if p[i] > k[i] // 2:
            raise op_error(RuntimeError, name, f"pad should be at most half of effective kernel size, but got "
                           f"pad={p[i]}, kernel_size={k[i]} and dilation={d[i]}")
    spatial = input.shape[-2:]
    out = [_pool_out(spatial[i], k[i], s[i], p[i], d[i], ceil_mode) for i in range(2)]
    if any(o_ < 1 for o_ in out):
        raise op_error(RuntimeError, name, f"Given input size: ({'x'.join(str(v) for v in input.shape[-3:])}). "
                       f"Calculated output size: ({input.shape[-3]}x{out[0]}x{out[1]}). Output size is too small")
    # right padding so every (ceil_mode) window lies inside the padded input
    pads = []
    for i in range(2):
        need = (out[i] - 1) * s[i] + d[i] * (k[i] - 1) + 1
        pads.append((p[i], max(p[i], need - spatial[i] - p[i])))
    return k, s, p, d, out, pads


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode: bool = False,
               return_indices: bool = False):
    """Max over (dilated) windows; padding counts as -inf; gradient goes to the first maximum of each window."""
    name = "max_pool2d"
    if return_indices:
        raise op_error(NotImplementedError, name, "return_indices=True is not supported")
    k, s, p, d, out, pads = _pool_setup(name, input, kernel_size, stride, padding, dilation, ceil_mode)
    unbatched = input.dim() == 3
    x = input.unsqueeze(0) if unbatched else input
    xp = _pad_spatial(x, pads, value=float("-inf"))
    win = _windows(xp, k, s, d, out)                                # (N, C, K, oh, ow)
    y = win.max(2).values
    return y.squeeze(0) if unbatched else y


def _avg_divisor(size, k, s, p, out, count_include_pad):
    div = np.empty(out, dtype=np.float64)
    for o_ in range(out):
        start = o_ * s - p
        end = min(start + k, size + p)
        pool = end - start
        cnt = min(end, size) - max(start, 0)
        div[o_] = pool if count_include_pad else cnt
    return div


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode: bool = False, count_include_pad: bool = True,
               divisor_override=None):
    """Mean over windows, zero padding; divisor as PyTorch (window clipped to the padded input, or to the input
    when ``count_include_pad=False``, or ``divisor_override``)."""
    name = "avg_pool2d"
    k, s, p, d, out, pads = _pool_setup(name, input, kernel_size, stride, padding, 1, ceil_mode)
    unbatched = input.dim() == 3
    x = input.unsqueeze(0) if unbatched else input
    xp = _pad_spatial(x, pads, value=0.0)
    total = _windows(xp, k, s, d, out).sum(2)
    if divisor_override:
        y = total / divisor_override
    else:
        h, w = x.shape[-2:]
        dh = _avg_divisor(h, k[0], s[0], p[0], out[0], count_include_pad)
        dw = _avg_divisor(w, k[1], s[1], p[1], out[1], count_include_pad)
        y = total / _tl.tensor(np.outer(dh, dw), dtype=input.dtype, device=input.device)
    return y.squeeze(0) if unbatched else y


def _adaptive_matrix(size, out):
    m = np.zeros((out, size), dtype=np.float64)
    for i in range(out):
        start = (i * size) // out
        end = -((-(i + 1) * size) // out)
        m[i, start:end] = 1.0 / (end - start)
    return m


def adaptive_avg_pool2d(input, output_size):
    """Average over PyTorch's adaptive windows ``[floor(i*H/oh), ceil((i+1)*H/oh))`` (``None`` keeps a size)."""
    name = "adaptive_avg_pool2d"
    if input.dim() not in (3, 4):
        raise op_error(RuntimeError, name, f"Expected 3D or 4D tensor, but got {list(input.shape)}")
    if isinstance(output_size, numbers.Integral) or output_size is None:
        output_size = (output_size, output_size)
    h, w = input.shape[-2:]
    oh = h if output_size[0] is None else int(output_size[0])
    ow = w if output_size[1] is None else int(output_size[1])
    mh = _tl.tensor(_adaptive_matrix(h, oh), dtype=input.dtype, device=input.device)
    mw = _tl.tensor(_adaptive_matrix(w, ow).T.copy(), dtype=input.dtype, device=input.device)
    return _tl.matmul(_tl.matmul(mh, input), mw)


# --- modules ---------------------------------------------------------------------------------------------------

class _ConvNd(Module):
    _nd = 2

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bias=True, padding_mode="zeros", device=None, dtype=None):
        super().__init__()
        nd = self._nd
        name = type(self).__name__
        if groups <= 0:
            raise op_error(ValueError, name, "groups must be a positive integer")
        if in_channels % groups:
            raise op_error(ValueError, name, "in_channels must be divisible by groups")
        if out_channels % groups:
            raise op_error(ValueError, name, "out_channels must be divisible by groups")
        if padding_mode != "zeros":
            raise op_error(NotImplementedError, name, f"padding_mode={padding_mode!r} is not supported")
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise op_error(ValueError, name, f"Invalid padding string {padding!r}, should be one of "
                               "{'valid', 'same'}")
            if padding == "same" and any(s != 1 for s in _tuple(stride, nd, name, "stride")):
                raise op_error(ValueError, name, "padding='same' is not supported for strided convolutions")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = _tuple(kernel_size, nd, name, "kernel_size")
        self.stride = _tuple(stride, nd, name, "stride")
        self.padding = padding if isinstance(padding, str) else _tuple(padding, nd, name, "padding")
        self.dilation = _tuple(dilation, nd, name, "dilation")
        self.groups = groups
        self.padding_mode = padding_mode
        self.weight = Parameter(_tl.empty(out_channels, in_channels // groups, *self.kernel_size, device=device,
                                          dtype=dtype))
        if bias:
            self.bias = Parameter(_tl.empty(out_channels, device=device, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            if fan_in != 0:
                bound = 1 / math.sqrt(fan_in)
                init.uniform_(self.bias, -bound, bound)

    def extra_repr(self) -> str:
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0,) * self._nd:
            s += f", padding={self.padding!r}" if isinstance(self.padding, str) else f", padding={self.padding}"
        if self.dilation != (1,) * self._nd:
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        return s


class Conv1d(_ConvNd):
    """1-D convolution layer; weight ``(out, in/groups, k)``, torch's default (kaiming-uniform a=sqrt(5)) init."""
    _nd = 1

    def forward(self, input):
        return conv1d(input, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)


class Conv2d(_ConvNd):
    """2-D convolution layer; weight ``(out, in/groups, kH, kW)``, torch's default init."""
    _nd = 2

    def forward(self, input):
        return conv2d(input, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)


class MaxPool2d(Module):
    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False, ceil_mode=False):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.dilation = dilation
        self.return_indices = return_indices
        self.ceil_mode = ceil_mode

    def forward(self, input):
        return max_pool2d(input, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode,
                          self.return_indices)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class AvgPool2d(Module):
    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
                 divisor_override=None):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad
        self.divisor_override = divisor_override

    def forward(self, input):
        return avg_pool2d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                          self.count_include_pad, self.divisor_override)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AdaptiveAvgPool2d(Module):
    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def forward(self, input):
        return adaptive_avg_pool2d(input, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"
