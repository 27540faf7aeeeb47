"""``torch.nn.functional``-style functions, composed from public tensor ops (lazy, and differentiable through the
ops' VJP rules; no op of their own)."""
from __future__ import annotations

import math
import warnings

import torchlite as _tl
from ..lazy import op_error
from ..tensor import Tensor
from ..ops.activations import gelu, relu, sigmoid, silu, softplus
from ..ops.unary import tanh
from ..ops.normalizing import log_softmax, softmax
from ..ops.rearranging import one_hot, pad
from ..ops.linalg import linear

__all__ = ["gelu", "relu", "sigmoid", "silu", "softplus", "tanh", "softmax", "log_softmax", "one_hot", "pad",
           "linear", "dropout", "layer_norm", "rms_norm", "embedding", "cross_entropy", "nll_loss", "mse_loss",
           "l1_loss", "binary_cross_entropy_with_logits", "scaled_dot_product_attention", "leaky_relu", "elu",
           "hardtanh", "logsigmoid", "normalize"]

# PyTorch's ScalarType names (used in its messages: "got Float", "torch.FloatTensor").
_SCALAR_NAME = {"float32": "Float", "float64": "Double", "float16": "Half", "bfloat16": "BFloat16",
                "int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool"}


def _scalar_name(d) -> str:
    return _SCALAR_NAME.get(str(d).replace("torchlite.", ""), str(d))


def _is_float(d) -> bool:
    return d in (_tl.float16, _tl.bfloat16, _tl.float32, _tl.float64)


def _shape_list(shape) -> str:
    return "[" + ", ".join(str(s) for s in shape) + "]"


def _reduction(name: str, size_average, reduce, reduction: str) -> str:
    """PyTorch's legacy (size_average, reduce) mapping and the reduction check."""
    if size_average is not None or reduce is not None:
        size_average = True if size_average is None else size_average
        reduce = True if reduce is None else reduce
        reduction = "mean" if size_average and reduce else "sum" if reduce else "none"
        warnings.warn(f"size_average and reduce args will be deprecated, please use reduction='{reduction}' "
                      "instead.", stacklevel=3)
    if reduction not in ("none", "mean", "sum"):
        raise op_error(ValueError, name, f"{reduction} is not a valid value for reduction")
    return reduction


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


# --- activations ---------------------------------------------------------------------------------------------

def leaky_relu(input, negative_slope: float = 0.01, inplace: bool = False):
    """``x`` where ``x > 0``, else ``negative_slope * x`` (gradient ``negative_slope`` at 0, as PyTorch)."""
    out = _tl.where(input > 0, input, input * negative_slope)
    return input._write(out) if inplace else out


def elu(input, alpha: float = 1.0, inplace: bool = False):
    """``x`` where ``x > 0``, else ``alpha * (exp(x) - 1)``."""
    out = _tl.where(input > 0, input, _tl.expm1(input.clamp(max=0)) * alpha)
    return input._write(out) if inplace else out


def hardtanh(input, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False):
    """``clamp(x, min_val, max_val)``; the gradient passes strictly inside ``(min_val, max_val)`` (PyTorch)."""
    if min_val > max_val:
        raise op_error(ValueError, "hardtanh", "min_val cannot be greater than max_val")
    inside = (input > min_val) & (input < max_val)
    out = _tl.where(inside, input, input.detach().clamp(min_val, max_val))
    return input._write(out) if inplace else out


def logsigmoid(input):
    """``log(sigmoid(x)) = min(x, 0) - log1p(exp(-|x|))`` (stable for large ``|x|``)."""
    a = input.abs()
    return (input - a) * 0.5 - _tl.log1p(_tl.exp(-a))


def normalize(input, p: float = 2.0, dim: int = 1, eps: float = 1e-12, out=None):
    """``input / max(norm_p(input, dim), eps)``."""
    if out is not None:
        raise op_error(TypeError, "normalize", "out= is not supported by torchlite")
    denom = input.norm(p, dim, keepdim=True).clamp_min(eps)
    return input / denom


# --- dropout -------------------------------------------------------------------------------------------------

def dropout(input, p: float = 0.5, training: bool = True, inplace: bool = False):
    """Zero each element with probability ``p`` (mask drawn now from the default generator) and scale the kept
    ones by ``1 / (1 - p)``; the identity when ``training`` is False or ``p == 0``."""
    if p < 0.0 or p > 1.0:
        raise op_error(ValueError, "dropout", f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return input
    if p == 1.0:
        out = input * _tl.zeros((), dtype=input.dtype, device=input.device)
    else:
        noise = _tl.bernoulli(input.detach(), 1.0 - p) / (1.0 - p)
        out = input * noise
    return input._write(out) if inplace else out


# --- normalization -------------------------------------------------------------------------------------------

def _norm_shape(name: str, input: Tensor, normalized_shape, star_sep: str) -> tuple:
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(int(s) for s in normalized_shape)
    k = len(shape)
    if k == 0 or input.dim() < k or tuple(input.shape[input.dim() - k:]) != shape:
        raise op_error(RuntimeError, name, f"Given normalized_shape={_shape_list(shape)}, expected input with "
                       f"shape [*{star_sep}{', '.join(str(s) for s in shape)}], but got input of size"
                       f"{_shape_list(input.shape)}")
    return shape


def _check_affine(name: str, what: str, t, shape: tuple) -> None:
    if t is not None and tuple(t.shape) != shape:
        raise op_error(RuntimeError, name, f"Expected {what} to be of same shape as normalized_shape, but got "
                       f"{what} of shape {_shape_list(t.shape)} and normalized_shape = {_shape_list(shape)}")


def _upcast(x: Tensor) -> Tensor:
    return x.float() if x.dtype in (_tl.float16, _tl.bfloat16) else x


def layer_norm(input, normalized_shape, weight=None, bias=None, eps: float = 1e-5):
    """``(x - mean) / sqrt(var + eps) * weight + bias`` over the trailing ``normalized_shape`` dims (biased
    variance; float16/bfloat16 compute in float32)."""
    shape = _norm_shape("layer_norm", input, normalized_shape, ", ")
    _check_affine("layer_norm", "weight", weight, shape)
    _check_affine("layer_norm", "bias", bias, shape)
    dims = tuple(range(-len(shape), 0))
    x = _upcast(input)
    centered = x - x.mean(dims, keepdim=True)
    var = (centered * centered).mean(dims, keepdim=True)
    out = (centered * _tl.rsqrt(var + eps)).to(input.dtype)
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out


def rms_norm(input, normalized_shape, weight=None, eps: float | None = None):
    """``x / sqrt(mean(x**2) + eps) * weight`` over the trailing ``normalized_shape`` dims; ``eps=None`` is
    ``finfo(input.dtype).eps`` (PyTorch 2.x)."""
    shape = _norm_shape("rms_norm", input, normalized_shape, "")
    _check_affine("rms_norm", "weight", weight, shape)
    if eps is None:
        eps = _tl.finfo(input.dtype).eps
    dims = tuple(range(-len(shape), 0))
    x = _upcast(input)
    out = (x * _tl.rsqrt((x * x).mean(dims, keepdim=True) + eps)).to(input.dtype)
    if weight is not None:
        out = out * weight
    return out


# --- embedding -----------------------------------------------------------------------------------------------

def embedding(input, weight, padding_idx: int | None = None, max_norm: float | None = None, norm_type: float = 2.0,
              scale_grad_by_freq: bool = False, sparse: bool = False):
    """Rows of ``weight`` picked by the integer ``input``; the ``padding_idx`` row gets no gradient."""
    if max_norm is not None or scale_grad_by_freq or sparse:
        raise op_error(NotImplementedError, "embedding",
                       "max_norm, scale_grad_by_freq and sparse are not supported by torchlite")
    n = weight.shape[0] if weight.dim() else 0
    if padding_idx is not None:
        if padding_idx > 0:
            if padding_idx >= n:
                raise AssertionError("Padding_idx must be within num_embeddings")
        elif padding_idx < 0:
            if padding_idx < -n:
                raise AssertionError("Padding_idx must be within num_embeddings")
            padding_idx = n + padding_idx
    if input.dtype not in (_tl.int64, _tl.int32):
        raise op_error(RuntimeError, "embedding", "Expected tensor for argument #1 'indices' to have one of the "
                       f"following scalar types: Long, Int; but got torch.{_scalar_name(input.dtype)}Tensor "
                       "instead (while checking arguments for embedding)")
    if weight.dim() != 2:
        raise op_error(RuntimeError, "embedding", "'weight' must be 2-D")
    idx = input.numpy()
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        raise op_error(IndexError, "embedding", "index out of range in self")
    w = weight
    if padding_idx is not None:
        is_pad = (_tl.arange(n, device=weight.device) == padding_idx).unsqueeze(1)
        w = _tl.where(is_pad, weight.detach(), weight)
    return w[input.long()]


# --- losses --------------------------------------------------------------------------------------------------

def _check_target_dtype(target: Tensor) -> None:
    if target.dtype not in (_tl.int64, _tl.uint8):
        raise op_error(RuntimeError, "nll_loss", "expected target dtype to be Long or Byte, but got "
                       f"{_scalar_name(target.dtype)}")


def _check_nll_shapes(input: Tensor, target: Tensor) -> None:
    if input.dim() < 1:
        raise op_error(ValueError, "nll_loss", f"Expected 1 or more dimensions (got {input.dim()})")
    if input.dim() != 1 and (target.dim() == 0 or input.shape[0] != target.shape[0]):
        tb = target.shape[0] if target.dim() else 1
        raise op_error(ValueError, "nll_loss", f"Expected input batch_size ({input.shape[0]}) to match target "
                       f"batch_size ({tb}).")
    if input.dim() <= 2:
        if target.dim() > 1:
            raise op_error(RuntimeError, "nll_loss", "0D or 1D target tensor expected, multi-target not supported")
        if input.dim() == 1 and target.dim() != 0 and tuple(target.shape) != (input.shape[0],):
            raise op_error(RuntimeError, "nll_loss", f"size mismatch (got input: {_shape_list(input.shape)}, "
                           f"target: {_shape_list(target.shape)})")
    else:
        want = (input.shape[0],) + tuple(input.shape[2:])
        if tuple(target.shape) != want:
            raise op_error(RuntimeError, "nll_loss", f"Expected target size {_shape_list(want)}, got "
                           f"{_shape_list(target.shape)}")


def _check_class_weight(name: str, weight, n_classes: int, prefix: str = "") -> None:
    if weight is not None and (weight.dim() != 1 or weight.numel() != n_classes):
        raise op_error(RuntimeError, name, f"{prefix}weight tensor should be defined either for all {n_classes} "
                       f"classes or no classes but got weight tensor of shape: {_shape_list(weight.shape)}")


def _check_targets_in_range(target: Tensor, n_classes: int, ignore_index: int) -> None:
    t = target.numpy()
    bad = (t != ignore_index) & ((t < 0) | (t >= n_classes))
    if bad.any():
        raise op_error(IndexError, "nll_loss", f"Target {int(t[bad].flat[0])} is out of bounds.")


def _nll(input: Tensor, target: Tensor, weight, ignore_index: int, reduction: str):
    """(per-element loss, per-element weight) of the negative log-likelihood, with ignored targets zeroed."""
    _check_target_dtype(target)
    _check_nll_shapes(input, target)
    cd = 1 if input.dim() >= 2 else 0
    n_classes = input.shape[cd]
    _check_class_weight("nll_loss", weight, n_classes)
    _check_targets_in_range(target, n_classes, ignore_index)
    target = target.long()
    valid = target != ignore_index
    safe = _tl.where(valid, target, 0)
    picked = input.gather(cd, safe.unsqueeze(cd)).squeeze(cd)
    w = valid.to(input.dtype) if weight is None else weight[safe] * valid
    return -(picked * w), w


def _safe_div(total: Tensor, denom: Tensor) -> Tensor:
    """``total / denom``, NaN where ``denom == 0`` but with zero gradient there (PyTorch's nll_loss backward)."""
    zero = denom == 0
    return _tl.where(zero, float("nan"), total / _tl.where(zero, 1, denom))


def _nll_reduce(loss: Tensor, w: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return _safe_div(loss.sum(), w.sum())
    if reduction == "sum":
        return loss.sum()
    return loss


def _fp32_under_autocast(fn):
    """Losses run in float32 under autocast (they are on PyTorch's CPU float32 list): lower-precision float
    tensor arguments are cast up first (the casts are recorded, so gradients come back in their dtype)."""
    import functools
    from .. import amp

    @functools.wraps(fn)
    def wrapped(*args, **kwargs):
        if amp._state[0] is not None:
            up = lambda v: v.float() if isinstance(v, _tl.Tensor) and v.dtype in (_tl.float16, _tl.bfloat16) else v
            args = tuple(up(a) for a in args)
            kwargs = {k: up(v) for k, v in kwargs.items()}
        return fn(*args, **kwargs)
    return wrapped


@_fp32_under_autocast
def nll_loss(input, target, weight=None, size_average=None, ignore_index: int = -100, reduce=None,
             reduction: str = "mean"):
    """Negative log-likelihood of class-index targets over log-probabilities ``input`` ((C), (N, C) or
    (N, C, d1, ...)); ``mean`` divides by the summed weights of the non-ignored targets."""
    reduction = _reduction("nll_loss", size_average, reduce, reduction)
    loss, w = _nll(input, target, weight, ignore_index, reduction)
    return _nll_reduce(loss, w, reduction)


@_fp32_under_autocast
def cross_entropy(input, target, weight=None, size_average=None, ignore_index: int = -100, reduce=None,
                  reduction: str = "mean", label_smoothing: float = 0.0):
    """``nll_loss(log_softmax(input, class_dim), target)`` for class indices, or ``-sum(target * log_softmax)``
    for class probabilities (``target`` of ``input``'s shape), with PyTorch's label smoothing."""
    reduction = _reduction("cross_entropy", size_average, reduce, reduction)
    if input.dim() < 1:
        raise op_error(ValueError, "cross_entropy", f"Expected 1 or more dimensions (got {input.dim()})")
    cd = 1 if input.dim() >= 2 else 0
    n_classes = input.shape[cd]
    logp = log_softmax(input, cd)
    wshape = [1] * input.dim()
    wshape[cd] = n_classes
    if tuple(input.shape) == tuple(target.shape):
        if not _is_float(target.dtype):
            raise op_error(RuntimeError, "cross_entropy", "Expected floating point type for target with class "
                           f"probabilities, got {_scalar_name(target.dtype)}")
        if ignore_index >= 0:
            raise op_error(RuntimeError, "cross_entropy", "ignore_index is not supported for floating point target")
        _check_class_weight("cross_entropy", weight, n_classes, "cross_entropy: ")
        if label_smoothing > 0.0:
            if label_smoothing > 1.0:
                raise op_error(RuntimeError, "cross_entropy",
                               f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
            target = target * (1 - label_smoothing) + label_smoothing / n_classes
        prod = logp * target
        if weight is not None:
            prod = prod * weight.reshape(wshape)
        if reduction == "none":
            return -prod.sum(cd)
        if reduction == "sum":
            return -prod.sum()
        return -prod.sum() / (input.numel() / n_classes) if input.numel() else -prod.sum() * float("nan")
    if label_smoothing > 1.0:
        raise op_error(RuntimeError, "cross_entropy",
                       f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    loss, w = _nll(logp, target, weight, ignore_index, reduction)
    nll = _nll_reduce(loss, w, reduction)
    if label_smoothing <= 0.0:
        return nll
    valid = target.long() != ignore_index
    smooth = -(logp if weight is None else logp * weight.reshape(wshape)).sum(cd)
    smooth = _tl.where(valid, smooth, 0.0)
    if reduction == "mean":
        smooth = _safe_div(smooth.sum(), w.sum() if weight is not None else valid.sum())
    elif reduction == "sum":
        smooth = smooth.sum()
    return nll * (1 - label_smoothing) + smooth * (label_smoothing / n_classes)


def _pointwise_loss(name: str, fn, input, target, size_average, reduce, reduction, weight):
    if tuple(target.shape) != tuple(input.shape):
        warnings.warn(f"Using a target size ({_tl.Size(target.shape)}) that is different to the input size "
                      f"({_tl.Size(input.shape)}). This will likely lead to incorrect results due to broadcasting. "
                      "Please ensure they have the same size.", stacklevel=3)
    if size_average is not None or reduce is not None:
        reduction = _reduction(name, size_average, reduce, reduction)
    elif weight is None:
        reduction = _reduction(name, None, None, reduction)
    err = fn(input - target)
    if weight is not None:
        if tuple(weight.shape) != tuple(input.shape):
            raise op_error(ValueError, name, "Weights and input must have the same size.")
        err = err * weight
        if reduction == "none":
            return err
        if reduction == "sum":
            return err.sum()
        if reduction == "mean":
            return err.sum() / weight.sum()
        raise op_error(ValueError, name, f"Invalid reduction mode: {reduction}. Expected one of 'none', 'mean', "
                       "'sum'.")
    return _reduce(err, reduction)


@_fp32_under_autocast
def mse_loss(input, target, size_average=None, reduce=None, reduction: str = "mean", weight=None):
    """``(input - target) ** 2``, reduced (weighted ``mean`` divides by ``weight.sum()``)."""
    return _pointwise_loss("mse_loss", lambda d: d * d, input, target, size_average, reduce, reduction, weight)


@_fp32_under_autocast
def l1_loss(input, target, size_average=None, reduce=None, reduction: str = "mean", weight=None):
    """``|input - target|``, reduced (weighted ``mean`` divides by ``weight.sum()``)."""
    return _pointwise_loss("l1_loss", lambda d: d.abs(), input, target, size_average, reduce, reduction, weight)


@_fp32_under_autocast
def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None,
                                     reduction: str = "mean", pos_weight=None):
    """``(1 - y) * x - (1 + (pos_weight - 1) * y) * logsigmoid(x)`` (PyTorch's stable form), times ``weight``."""
    reduction = _reduction("binary_cross_entropy_with_logits", size_average, reduce, reduction)
    if tuple(target.shape) != tuple(input.shape):
        raise op_error(ValueError, "binary_cross_entropy_with_logits", f"Target size ({_tl.Size(target.shape)}) "
                       f"must be the same as input size ({_tl.Size(input.shape)})")
    ls = logsigmoid(input)
    if pos_weight is not None:
        ls = ls * ((pos_weight - 1) * target + 1)
    loss = (1 - target) * input - ls
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


# --- attention -----------------------------------------------------------------------------------------------

def _dtype_word(d) -> str:
    return {"Float": "float", "Double": "double", "Half": "c10::Half", "BFloat16": "c10::BFloat16",
            "Long": "long int", "Int": "int", "Bool": "bool"}.get(_scalar_name(d), str(d))


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p: float = 0.0, is_causal: bool = False,
                                 scale: float | None = None, enable_gqa: bool = False):
    """``softmax(q @ k^T * scale + bias) @ v`` as PyTorch's math path: bool masks keep True positions, float
    masks are added, ``is_causal`` keeps the lower triangle; rows with every key masked give 0."""
    name = "scaled_dot_product_attention"
    if not (query.dtype == key.dtype == value.dtype):
        raise op_error(RuntimeError, name, "Expected query, key, and value to have the same dtype, but got "
                       f"query.dtype: {_dtype_word(query.dtype)} key.dtype: {_dtype_word(key.dtype)} and "
                       f"value.dtype: {_dtype_word(value.dtype)} instead.")
    if attn_mask is not None and attn_mask.dtype not in (_tl.bool, query.dtype):
        raise op_error(RuntimeError, name, "Expected attn_mask dtype to be bool or float or to match query dtype, "
                       f"but got attn_mask.dtype: {_dtype_word(attn_mask.dtype)} and  query.dtype: "
                       f"{_dtype_word(query.dtype)} instead.")
    if is_causal and attn_mask is not None:
        raise op_error(RuntimeError, name,
                       "_scaled_dot_product_attention: Explicit attn_mask should not be set when is_causal=True")
    if enable_gqa and query.dim() >= 3:
        hq, hk, hv = query.shape[-3], key.shape[-3], value.shape[-3]
        if hq % hk or hq % hv:
            raise op_error(RuntimeError, name,
                           "Number of heads in key and value must divide the number of heads in query")
        key, value = _repeat_heads(key, hq // hk), _repeat_heads(value, hq // hv)
    L, S = query.shape[-2], key.shape[-2]
    s = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
    f = math.sqrt(abs(s))
    q = query * (-f if s < 0 else f)
    attn = _tl.matmul(q, key.transpose(-2, -1) * f)
    if is_causal:
        attn_mask = _tl.ones(L, S, dtype=_tl.bool, device=query.device).tril()
    dead = None
    if attn_mask is not None:
        if attn_mask.dtype == _tl.bool:
            bias = _tl.where(attn_mask, _tl.zeros((), dtype=query.dtype, device=query.device), float("-inf"))
        else:
            bias = attn_mask
        attn = attn + bias
        if not is_causal:
            dead = attn.detach().amax(-1, keepdim=True) == float("-inf")     # _safe_softmax: all-masked rows -> 0
            attn = _tl.where(dead, 0.0, attn)
    attn = softmax(attn, -1)
    if dead is not None:
        attn = _tl.where(dead, 0.0, attn)
    if dropout_p > 0.0:
        attn = dropout(attn, dropout_p, True)
    return _tl.matmul(attn, value)


def _repeat_heads(t: Tensor, r: int) -> Tensor:
    """``t.repeat_interleave(r, dim=-3)`` from unsqueeze/expand/reshape."""
    if r == 1:
        return t
    shape = tuple(t.shape)
    e = t.unsqueeze(-3).expand(*shape[:-2], r, *shape[-2:])
    return e.reshape(*shape[:-3], shape[-3] * r, *shape[-2:])



# --- convolution / pooling / batch norm (defined in conv.py / batchnorm.py) -----------------------------------
from .conv import adaptive_avg_pool2d, avg_pool2d, conv1d, conv2d, max_pool2d  # noqa: E402
from .batchnorm import batch_norm  # noqa: E402

__all__ += ["conv1d", "conv2d", "max_pool2d", "avg_pool2d", "adaptive_avg_pool2d", "batch_norm"]
