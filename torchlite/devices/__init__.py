"""Devices: one interface, several backends (DESIGN.md decision 9).

``torchlite.device`` names a device the way ``torch.device`` does; ``backend_for(device)`` returns the
object that compiles and runs captured graphs on it: ``cpu`` (numpy), ``interpret`` (the generated Triton
kernels on Triton's interpreter) and ``cuda`` (the same kernels on an NVIDIA GPU, where one is available).

    >>> import torchlite as tl
    >>> tl.device("cpu")
    device(type='cpu')
"""
from __future__ import annotations

from .base import Backend

__all__ = ["device", "Backend", "backend_for", "get_default_device", "set_default_device"]

_KNOWN = ("cpu", "cuda", "interpret")


class device:
    """A device name and index: ``device("cpu")``, ``device("cuda", 0)``, ``device("cuda:1")``."""

    __slots__ = ("type", "index")
    _interned: dict = {}

    def __new__(cls, type, index: int | None = None):
        if isinstance(type, device):
            return type
        if not isinstance(type, str):
            raise TypeError(f"device() expects a string like 'cpu' or 'cuda:0', got {type!r}")
        name, idx = type, index
        if ":" in name:
            name, _, num = name.partition(":")
            if idx is not None or not num.isdigit():
                raise RuntimeError(f"Invalid device string: '{type}'")
            idx = int(num)
        if name not in _KNOWN:
            raise RuntimeError(f"Expected one of {', '.join(_KNOWN)} device type at start of device string: {type}")
        if name == "cpu":
            idx = None
        elif idx is None:
            idx = 0
        d = cls._interned.get((name, idx))
        if d is None:
            d = object.__new__(cls)
            object.__setattr__(d, "type", name)
            object.__setattr__(d, "index", idx)
            cls._interned[(name, idx)] = d
        return d

    def __setattr__(self, k, v):
        raise AttributeError("device objects are immutable")

    def __eq__(self, other):
        if isinstance(other, str):
            other = device(other)
        return isinstance(other, device) and other.type == self.type and other.index == self.index

    def __hash__(self):
        return hash((self.type, self.index))

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self):
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"

    def __reduce__(self):
        return (device, (str(self),))


CPU = device("cpu")
_default = [CPU]
_backends: dict[str, Backend] = {}


def backend_for(d: device) -> Backend:
    """The backend that runs programs on ``d``; RuntimeError if that kind of device is not available."""
    key = d.type if d.type != "cuda" or d.index == 0 else str(d)      # one backend per GPU
    b = _backends.get(key)
    if b is None:
        if d.type == "cpu":
            from .cpu import CPUBackend
            b = _backends["cpu"] = CPUBackend()
        elif d.type == "interpret":
            from .interpret import InterpretRuntime
            from .triton_backend import TritonBackend
            b = _backends["interpret"] = TritonBackend("interpret", InterpretRuntime())
        else:
            from .cuda import CudaRuntime, unavailable_reason
            why = unavailable_reason()
            if why:
                raise RuntimeError(
                    f"device '{d}' is not available: {why}. Use device='cpu', or device='interpret' (the "
                    f"generated Triton kernels on Triton's interpreter)")
            from .triton_backend import TritonBackend
            b = _backends[key] = TritonBackend("cuda", CudaRuntime(d.index))
    return b


def to_device(d) -> device:
    """Accept a device, a string, or None (the default device); check that it can be used."""
    if d is None:
        return _default[0]
    d = device(d) if not isinstance(d, device) else d
    if d.type != "cpu":
        backend_for(d)
    return d


def get_default_device() -> device:
    """The device new tensors go to when none is given (``cpu`` unless set)."""
    return _default[0]


def set_default_device(d) -> None:
    """Make ``d`` the device of new tensors (``torch.set_default_device``); None resets it to cpu."""
    _default[0] = CPU if d is None else to_device(d)
