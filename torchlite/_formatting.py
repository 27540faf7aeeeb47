"""Tensor printing: a numpy-based port of PyTorch's ``torch/_tensor_str.py``.

``format_tensor`` reproduces ``repr(torch_tensor)`` character for character for
dense (strided) tensors.  The algorithm, including its quirks, follows torch:

* one ``_Formatter`` per tensor decides int / fixed / scientific mode and a
  common column width from the (possibly summarized) values;
* values are formatted as Python floats (float16/bfloat16/float32 widen exactly
  to double, as ``Tensor.item()`` does), so rounding matches torch exactly;
* rows are wrapped to ``linewidth`` and large tensors are summarized with ``...``.

This module must never import torch.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
from typing import Any, Iterator

import numpy as np

__all__ = [
    "PRINT_OPTS",
    "format_tensor",
    "get_printoptions",
    "printoptions",
    "set_printoptions",
]


@dataclasses.dataclass
class _PrinterOptions:
    precision: int = 4
    threshold: float = 1000
    edgeitems: int = 3
    linewidth: int = 80
    sci_mode: bool | None = None


PRINT_OPTS = _PrinterOptions()

# profile name -> (precision, threshold, edgeitems, linewidth)
_PROFILES = {
    "default": (4, 1000, 3, 80),
    "short": (2, 1000, 2, 80),
    "full": (4, math.inf, 3, 80),
}


def set_printoptions(
    precision=None,
    threshold=None,
    edgeitems=None,
    linewidth=None,
    profile=None,
    sci_mode=None,
) -> None:
    """Set print options, with ``torch.set_printoptions`` semantics.

    ``profile`` ("default", "short", "full") is applied first and the explicit
    options override it; an unknown profile is ignored (as in torch).  Like torch,
    ``sci_mode`` is always assigned, so omitting it resets it to ``None`` (auto).
    """
    if profile is not None and profile in _PROFILES:
        (
            PRINT_OPTS.precision,
            PRINT_OPTS.threshold,
            PRINT_OPTS.edgeitems,
            PRINT_OPTS.linewidth,
        ) = _PROFILES[profile]
    if precision is not None:
        PRINT_OPTS.precision = precision
    if threshold is not None:
        PRINT_OPTS.threshold = threshold
    if edgeitems is not None:
        PRINT_OPTS.edgeitems = edgeitems
    if linewidth is not None:
        PRINT_OPTS.linewidth = linewidth
    PRINT_OPTS.sci_mode = sci_mode


def get_printoptions() -> dict[str, Any]:
    """Current options as a dict that can be passed back to ``set_printoptions``."""
    return dataclasses.asdict(PRINT_OPTS)


@contextlib.contextmanager
def printoptions(**kwargs) -> Iterator[None]:
    """Temporarily change the print options (same arguments as ``set_printoptions``)."""
    old = get_printoptions()
    set_printoptions(**kwargs)
    try:
        yield
    finally:
        set_printoptions(**old)


class _Formatter:
    """Chooses the display mode and common width for all values of a tensor."""

    def __init__(self, values: np.ndarray, floating: bool):
        self.floating = floating
        self.int_mode = True
        self.sci_mode = False
        self.max_width = 1
        flat = values.reshape(-1)

        if not floating:
            for value in flat.tolist():
                self.max_width = max(self.max_width, len(f"{value}"))
            return

        nonzero_finite = flat[np.isfinite(flat) & (flat != 0)]
        if nonzero_finite.size == 0:
            return  # only zeros / nan / inf: int mode, width 1

        # Statistics in double, like torch (half would overflow on 1e8).
        abs_vals = np.abs(nonzero_finite).astype(np.float64)
        lo, hi = float(abs_vals.min()), float(abs_vals.max())
        self.int_mode = bool(np.all(nonzero_finite == np.ceil(nonzero_finite)))
        if PRINT_OPTS.sci_mode is None:
            self.sci_mode = hi / lo > 1000.0 or hi > 1.0e8 or lo < 1.0e-4
        else:
            self.sci_mode = PRINT_OPTS.sci_mode

        p = PRINT_OPTS.precision
        for value in nonzero_finite.tolist():
            if self.sci_mode:
                width = len(f"{value:.{p}e}")
            elif self.int_mode:
                width = len(f"{value:.0f}") + 1  # room for the trailing "."
            else:
                width = len(f"{value:.{p}f}")
            self.max_width = max(self.max_width, width)

    def width(self) -> int:
        return self.max_width

    def format(self, value) -> str:
        if self.floating:
            p = PRINT_OPTS.precision
            if self.sci_mode:
                ret = f"{value:{self.max_width}.{p}e}"
            elif self.int_mode:
                ret = f"{value:.0f}"
                if not (math.isinf(value) or math.isnan(value)):
                    ret += "."
            else:
                ret = f"{value:.{p}f}"
        else:
            ret = f"{value}"
        return ret.rjust(self.max_width)


def _format_value(value, fmt1: _Formatter, fmt2: _Formatter | None) -> str:
    if fmt2 is None:
        return fmt1.format(value)
    real_str = fmt1.format(value.real)
    imag_str = (fmt2.format(value.imag) + "j").lstrip()
    # handles negative numbers, +0.0, -0.0
    if imag_str[0] in "+-":
        return real_str + imag_str
    return real_str + "+" + imag_str


def _vector_str(a: np.ndarray, indent: int, summarize: bool, fmt1, fmt2) -> str:
    # length includes the ", " separator between elements
    element_length = fmt1.width() + 2
    if fmt2 is not None:
        element_length += fmt2.width() + 1  # imaginary part and its "j"
    per_line = max(1, math.floor((PRINT_OPTS.linewidth - indent) / element_length))
    edge = PRINT_OPTS.edgeitems

    def fmt_all(values: np.ndarray) -> list[str]:
        return [_format_value(v, fmt1, fmt2) for v in values.tolist()]

    if summarize and not edge:
        data = ["..."]
    elif summarize and a.shape[0] > 2 * edge:
        data = fmt_all(a[:edge]) + [" ..."] + fmt_all(a[-edge:])
    else:
        data = fmt_all(a)

    lines = [", ".join(data[i : i + per_line]) for i in range(0, len(data), per_line)]
    return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"


def _tensor_str_with_formatter(a: np.ndarray, indent: int, summarize: bool, fmt1, fmt2) -> str:
    if a.ndim == 0:
        return _format_value(a.item(), fmt1, fmt2)
    if a.ndim == 1:
        return _vector_str(a, indent, summarize, fmt1, fmt2)

    edge = PRINT_OPTS.edgeitems
    n = a.shape[0]
    sub = lambda i: _tensor_str_with_formatter(a[i], indent + 1, summarize, fmt1, fmt2)  # noqa: E731
    if summarize and n > 2 * edge:
        slices = [sub(i) for i in range(edge)] + ["..."] + [sub(i) for i in range(n - edge, n)]
    else:
        slices = [sub(i) for i in range(n)]
    return "[" + ("," + "\n" * (a.ndim - 1) + " " * (indent + 1)).join(slices) + "]"


def _summarized_data(a: np.ndarray) -> np.ndarray:
    """The values that are actually displayed when summarizing (edge items only)."""
    edge = PRINT_OPTS.edgeitems
    if a.ndim == 0:
        return a
    if a.ndim == 1:
        # NB: with edge == 0, a[-0:] is the whole vector -- same quirk as torch.
        return np.concatenate((a[:edge], a[-edge:])) if a.shape[0] > 2 * edge else a
    if not edge:
        return np.empty([0] * a.ndim, dtype=a.dtype)
    n = a.shape[0]
    rows = list(range(edge)) + list(range(n - edge, n)) if n > 2 * edge else range(n)
    return np.stack([_summarized_data(a[i]) for i in rows])


def _tensor_str(a: np.ndarray, indent: int, floating: bool) -> str:
    if a.size == 0:
        return "[]"
    summarize = a.size > PRINT_OPTS.threshold
    pick = _summarized_data if summarize else (lambda x: x)
    if a.dtype.kind == "c":
        fmt1 = _Formatter(pick(a.real), True)
        fmt2 = _Formatter(pick(a.imag), True)
        return _tensor_str_with_formatter(a, indent, summarize, fmt1, fmt2)
    return _tensor_str_with_formatter(a, indent, summarize, _Formatter(pick(a), floating), None)


def _add_suffixes(tensor_str: str, suffixes: list[str], indent: int) -> str:
    parts = [tensor_str]
    # NB: "+ 1" (not "- 1") mirrors torch exactly, including its off-by-two.
    last_line_len = len(tensor_str) - tensor_str.rfind("\n") + 1
    for suffix in suffixes:
        if last_line_len + len(suffix) + 2 > PRINT_OPTS.linewidth:
            parts.append(",\n" + " " * indent + suffix)
            last_line_len = indent + len(suffix)
        else:
            parts.append(", " + suffix)
            last_line_len += len(suffix) + 2
    parts.append(")")
    return "".join(parts)


def format_tensor(
    arr: np.ndarray,
    *,
    dtype_name: str,
    is_default_float: bool,
    device: str = "cpu",
    requires_grad: bool = False,
    prefix: str = "tensor(",
    module: str = "torchlite",
    grad_fn: str | None = None,
) -> str:
    """Render ``arr`` exactly like PyTorch's ``repr(tensor)`` / ``str(tensor)``.

    Args:
        arr: the values; bool/int/uint/float16/32/64/complex numpy dtypes or
            ``ml_dtypes`` types such as bfloat16 (kind 'V', widened to float32).
        dtype_name: torch-style dtype name used in the suffix, e.g. "float16".
        is_default_float: whether this dtype is the default float dtype (for a
            complex dtype: the matching default complex dtype).  Together with
            int64 and bool this suppresses the ``dtype=`` suffix.
        device: anything but "cpu" adds ``device='...'``.
        requires_grad: adds ``requires_grad=True`` (unless ``grad_fn`` is given).
        prefix: opening text, e.g. "tensor(" or "Parameter(" (sets the indent).
        module: name used in ``dtype=<module>.<dtype_name>``.
        grad_fn: optional autograd node name, rendered as ``grad_fn=<Name>``.
    """
    a = np.asarray(arr)
    if a.dtype.kind == "V":  # ml_dtypes (bfloat16, float8...): exact in float32
        a = a.astype(np.float32)
    floating = a.dtype.kind in "fc"
    indent = len(prefix)
    dtype_suffix = f"dtype={module}.{dtype_name}"
    size_suffix = f"size={tuple(a.shape)}"

    suffixes = []
    if device != "cpu":
        suffixes.append(f"device='{device}'")
    if a.size == 0:
        # Print the shape unless it is (0,), like numpy; no values to infer the
        # dtype from, so show it for everything but the default float dtype.
        if a.ndim != 1:
            suffixes.append(size_suffix)
        if not is_default_float or a.dtype.kind == "c":
            suffixes.append(dtype_suffix)
        body = "[]"
    else:
        if not PRINT_OPTS.edgeitems:
            suffixes.append(size_suffix)
        if not (is_default_float or dtype_name in ("int64", "bool")):
            suffixes.append(dtype_suffix)
        body = _tensor_str(a, indent, floating)

    if grad_fn is not None:
        suffixes.append(f"grad_fn=<{grad_fn}>")
    elif requires_grad:
        suffixes.append("requires_grad=True")
    return _add_suffixes(prefix + body, suffixes, indent)
