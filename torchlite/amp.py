"""Automatic mixed precision: ``autocast`` and ``GradScaler`` (PyTorch's ``torch.amp``).

Under ``autocast(device_type)``, ``apply()`` hands each op's arguments to :func:`_cast_args` first. Ops on the
device's lower-precision list (matmul, linear, einsum: what ``mm``/``bmm``/``@``/``nn.Linear`` build) get their
floating-point tensors cast to the autocast dtype; ops on the float32 list get lower-precision floating-point
tensors cast up to float32; every other op runs on its inputs as they are (type promotion picks the widest).
Casts go through the public ``Tensor.to()``, so autograd records them and gradients come back in each
parameter's own dtype. The lists follow PyTorch's (``aten/src/ATen/autocast_mode.cpp``) restricted to the ops
torchlite registers; composite frontends (losses, layer_norm) run as written on what their ops see.

    >>> import torchlite as tl
    >>> a = tl.ones(2, 2)
    >>> with tl.autocast("cpu"):
    ...     (a @ a).dtype, (a @ a).float().sum().dtype
    (torchlite.bfloat16, torchlite.float32)
"""
from __future__ import annotations

import functools
import warnings

import numpy as np

from . import dtypes as _dt

__all__ = ["autocast", "GradScaler", "is_autocast_enabled", "get_autocast_dtype"]

# The active policies, read by apply(): None outside autocast, else {device_type: (dtype, cache_enabled)}.
_state: list = [None]
_cache: dict = {}          # id(leaf) -> (leaf, version, dtype, cast): casts of leaves reused within a region
_depth = [0]

_LOWER = {
    "cpu": frozenset({"matmul", "linear", "einsum", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
                      "conv_transpose2d", "conv_transpose3d", "prelu"}),
    "cuda": frozenset({"matmul", "linear", "einsum", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
                       "conv_transpose2d", "conv_transpose3d", "prelu"}),
}
_FP32 = {
    # torch's CPU float32 list, restricted to op-level names torchlite has (the loss functions on it are frontends).
    "cpu": frozenset({"prod"}),
    "cuda": frozenset({"acos", "asin", "cosh", "erfinv", "exp", "expm1", "log", "log10", "log2", "log1p",
                       "reciprocal", "rsqrt", "sinh", "tan", "pow", "softplus", "norm", "cumsum", "cumprod", "prod",
                       "sum", "softmax", "log_softmax", "logsumexp"}),
}
_DEFAULT_DTYPE = {"cpu": _dt.bfloat16, "cuda": _dt.float16}
_LOW = (_dt.float16, _dt.bfloat16)
_Tensor = []               # torchlite.Tensor, bound on first use (this module loads before tensor.py finishes)


def _cast(t, dtype, cache: bool):
    if not cache or t._grad_fn is not None or not t.requires_grad:
        return t.to(dtype)
    hit = _cache.get(id(t))
    if hit is not None and hit[0] is t and hit[1] == t._version and hit[2] is dtype:
        return hit[3]
    c = t.to(dtype)
    _cache[id(t)] = (t, t._version, dtype, c)
    return c


def _cast_args(op, args: tuple) -> tuple:
    """The arguments ``op`` runs on under the active autocast policies (called by apply())."""
    policies = _state[0]
    name = op.name
    if not _Tensor:
        from .tensor import Tensor
        _Tensor.append(Tensor)
    T = _Tensor[0]
    out = None
    for i, a in enumerate(args):
        if not isinstance(a, T):
            continue
        dt = a.dtype
        if not dt.is_floating_point or dt is _dt.float64:
            continue
        kind = a.device.type
        pol = policies.get(kind)
        if pol is None:
            continue
        if name in _LOWER[kind]:
            if dt is pol[0]:
                continue
            a = _cast(a, pol[0], pol[1])
        elif name in _FP32[kind] and dt in _LOW:
            a = a.to(_dt.float32)
        else:
            continue
        if out is None:
            out = list(args)
        out[i] = a
    return args if out is None else tuple(out)


def is_autocast_enabled(device_type: str = "cpu") -> bool:
    return _state[0] is not None and device_type in _state[0]


def get_autocast_dtype(device_type: str = "cpu"):
    if _state[0] is not None and device_type in _state[0]:
        return _state[0][device_type][0]
    return _DEFAULT_DTYPE[device_type]


class autocast:
    """``autocast(device_type, dtype=None, enabled=True, cache_enabled=None)``: context manager and decorator."""

    def __init__(self, device_type: str, dtype=None, enabled: bool = True, cache_enabled=None):
        if not isinstance(device_type, str):
            raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
        if device_type not in _DEFAULT_DTYPE:
            raise RuntimeError(f"User specified an unsupported autocast device_type '{device_type}'")
        self.device = device_type
        self.fast_dtype = _DEFAULT_DTYPE[device_type] if dtype is None else _dt.to_dtype(dtype)
        self._enabled = bool(enabled)
        self._cache_enabled = True if cache_enabled is None else bool(cache_enabled)
        if self._enabled and self.fast_dtype not in _LOW:
            what = "CPU" if device_type == "cpu" else "CUDA"
            warnings.warn(f"In {what} autocast, but the target dtype is not supported. Disabling autocast.\n"
                          f"{what} Autocast only supports dtypes of torch.bfloat16, torch.float16 currently.")
            self._enabled = False
        self._prev = []

    def __enter__(self):
        prev = _state[0]
        self._prev.append(prev)
        policies = dict(prev or {})
        if self._enabled:
            policies[self.device] = (self.fast_dtype, self._cache_enabled)
        else:
            policies.pop(self.device, None)
        _state[0] = policies or None
        _depth[0] += 1
        return self

    def __exit__(self, *exc):
        _state[0] = self._prev.pop()
        _depth[0] -= 1
        if _depth[0] == 0:
            _cache.clear()
        return False

    def __call__(self, func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with self.__class__(self.device, self.fast_dtype, self._enabled, self._cache_enabled):
                return func(*args, **kwargs)
        return wrapper


_READY, _UNSCALED, _STEPPED = 0, 1, 2


def _f32(x) -> float:
    return float(np.float32(x))


class GradScaler:
    """Loss scaling for float16/bfloat16 training, with PyTorch's dynamic-scale algorithm.

    ``scale(loss)`` multiplies by the scale; ``unscale_(opt)`` divides the gradients by it and records whether
    any is inf/nan; ``step(opt)`` unscales if needed and skips ``opt.step()`` when one was; ``update()`` backs the
    scale off after a skipped step, or grows it after ``growth_interval`` clean steps in a row.
    """

    def __init__(self, device: str = "cpu", init_scale: float = 2.0 ** 16, growth_factor: float = 2.0,
                 backoff_factor: float = 0.5, growth_interval: int = 2000, enabled: bool = True):
        self._device = device
        self._enabled = enabled
        if enabled and device != "cpu":
            warnings.warn(f"GradScaler is enabled, but device type {device} is not available.  Disabling.")
            self._enabled = False
        if self._enabled:
            if not growth_factor > 1.0:
                raise ValueError("The growth factor must be > 1.0.")
            if not backoff_factor < 1.0:
                raise ValueError("The backoff factor must be < 1.0.")
            self._init_scale = init_scale
            self._scale = None
            self._growth_factor = growth_factor
            self._backoff_factor = backoff_factor
            self._growth_interval = growth_interval
            self._init_growth_tracker = 0
            self._growth_tracker = None
            self._per_optimizer_states: dict = {}

    def _lazy_init(self) -> None:
        self._scale = _f32(self._init_scale)
        self._growth_tracker = int(self._init_growth_tracker)

    def _state_for(self, optimizer) -> dict:
        return self._per_optimizer_states.setdefault(id(optimizer), {"stage": _READY, "found_inf": None})

    def is_enabled(self) -> bool:
        return self._enabled

    def scale(self, outputs):
        if not self._enabled:
            return outputs
        if self._scale is None:
            self._lazy_init()
        if isinstance(outputs, (list, tuple)):
            return type(outputs)(self.scale(o) for o in outputs)
        return outputs * self._scale

    def _check(self, funcname: str) -> None:
        if self._scale is None:
            raise RuntimeError(f"Attempted {funcname} but _scale is None.  This may indicate your script did not use "
                               "scaler.scale(loss or outputs) earlier in the iteration.")

    def unscale_(self, optimizer) -> None:
        if not self._enabled:
            return
        self._check("unscale_")
        st = self._state_for(optimizer)
        if st["stage"] == _UNSCALED:
            raise RuntimeError("unscale_() has already been called on this optimizer since the last update().")
        if st["stage"] == _STEPPED:
            raise RuntimeError("unscale_() is being called after step().")
        inv_scale = _f32(1.0 / float(self._scale))
        bad = []
        from .autograd.grad_mode import no_grad
        with no_grad():
            for group in optimizer.param_groups:
                for p in group["params"]:
                    g = p.grad
                    if g is None:
                        continue
                    if g.dtype is _dt.float16:
                        raise ValueError("Attempting to unscale FP16 gradients.")
                    bad.append(g.isfinite().logical_not().any())
                    g.mul_(inv_scale)
            found = 0.0
            if bad:
                from .ops.joining import stack
                found = 1.0 if stack(bad).any().item() else 0.0
        st["found_inf"] = found
        st["stage"] = _UNSCALED

    def step(self, optimizer, *args, **kwargs):
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        if "closure" in kwargs:
            raise RuntimeError("Closure use is not currently supported if GradScaler is enabled.")
        self._check("step")
        st = self._state_for(optimizer)
        if st["stage"] == _STEPPED:
            raise RuntimeError("step() has already been called since the last update().")
        if st["stage"] == _READY:
            self.unscale_(optimizer)
        retval = None
        if not st["found_inf"]:
            retval = optimizer.step(*args, **kwargs)
        st["stage"] = _STEPPED
        return retval

    def update(self, new_scale=None) -> None:
        if not self._enabled:
            return
        self._check("update")
        if new_scale is not None:
            if isinstance(new_scale, float):
                self._scale = _f32(new_scale)
            else:
                if new_scale.numel() != 1:
                    raise ValueError("new_scale should be a single-element tensor")
                if new_scale.requires_grad:
                    raise ValueError("new_scale should not require grad.")
                self._scale = _f32(new_scale.item())
        else:
            found = [s["found_inf"] for s in self._per_optimizer_states.values() if s["found_inf"] is not None]
            if not found:
                raise AssertionError("No inf checks were recorded prior to update.")
            if sum(found):
                self._scale = _f32(np.float32(self._scale) * np.float32(self._backoff_factor))
                self._growth_tracker = 0
            else:
                successful = self._growth_tracker + 1
                if successful == self._growth_interval:
                    grown = np.float32(self._scale) * np.float32(self._growth_factor)
                    if np.isfinite(grown):
                        self._scale = float(grown)
                    self._growth_tracker = 0
                else:
                    self._growth_tracker = successful
        self._per_optimizer_states = {}

    def get_scale(self) -> float:
        if not self._enabled:
            return 1.0
        return self._init_scale if self._scale is None else self._scale

    def get_growth_factor(self) -> float:
        return self._growth_factor

    def set_growth_factor(self, new_factor: float) -> None:
        self._growth_factor = new_factor

    def get_backoff_factor(self) -> float:
        return self._backoff_factor

    def set_backoff_factor(self, new_factor: float) -> None:
        self._backoff_factor = new_factor

    def get_growth_interval(self) -> int:
        return self._growth_interval

    def set_growth_interval(self, new_interval: int) -> None:
        self._growth_interval = new_interval

    def _get_growth_tracker(self) -> int:
        if not self._enabled:
            return 0
        return self._init_growth_tracker if self._growth_tracker is None else self._growth_tracker

    def state_dict(self) -> dict:
        if not self._enabled:
            return {}
        return {"scale": self.get_scale(), "growth_factor": self._growth_factor,
                "backoff_factor": self._backoff_factor, "growth_interval": self._growth_interval,
                "_growth_tracker": self._get_growth_tracker()}

    def load_state_dict(self, state_dict: dict) -> None:
        if not self._enabled:
            return
        if len(state_dict) == 0:
            raise RuntimeError("The source state dict is empty, possibly because it was saved "
                               "from a disabled instance of GradScaler.")
        self._init_scale = state_dict["scale"]
        if self._scale is not None:
            self._scale = _f32(state_dict["scale"])
        self._growth_factor = state_dict["growth_factor"]
        self._backoff_factor = state_dict["backoff_factor"]
        self._growth_interval = state_dict["growth_interval"]
        self._init_growth_tracker = state_dict["_growth_tracker"]
        if self._growth_tracker is not None:
            self._growth_tracker = state_dict["_growth_tracker"]
