"""Grad mode: whether ops record what backward needs (``no_grad``, ``enable_grad``, ``set_grad_enabled``,
``inference_mode``), as in PyTorch. Each works as a context manager and as a decorator.

    >>> import torchlite as tl
    >>> with tl.no_grad(): y = tl.ones(2, requires_grad=True) * 2
    >>> y.requires_grad
    False
"""
from __future__ import annotations

import functools

_enabled = [True]


def is_grad_enabled() -> bool:
    """Whether ops on tensors that require grad record their backward."""
    return _enabled[0]


class _Mode:
    _value: bool = True

    def __enter__(self):
        self._prev = _enabled[0]
        _enabled[0] = self._value
        return self

    def __exit__(self, *exc):
        _enabled[0] = self._prev
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapped(*args, **kwargs):
            with type(self)() if not isinstance(self, set_grad_enabled) else set_grad_enabled(self._value):
                return fn(*args, **kwargs)
        return wrapped


class no_grad(_Mode):
    """Ops inside record nothing for backward (results do not require grad)."""
    _value = False


class enable_grad(_Mode):
    """Ops inside record for backward again (inside a ``no_grad`` block)."""
    _value = True


class inference_mode(_Mode):
    """Like ``no_grad`` (torchlite has no separate inference tensors)."""

    def __init__(self, mode: bool = True):
        self._value = not mode


class set_grad_enabled(_Mode):
    """Turn recording on or off: as a function call, a context manager, or a decorator."""

    def __init__(self, mode: bool):
        self._value = bool(mode)
        self._prev = _enabled[0]          # takes effect at once, as torch's does when called as a function
        _enabled[0] = self._value

    def __enter__(self):
        return self
