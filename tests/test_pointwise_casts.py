"""Dtype casts against torch (CPU): ``to()`` for every (source, destination) pair, float specials and
rounding between float dtypes, floats to bool, and the cast methods (``float()``, ``long()``, ...).
"""
from __future__ import annotations

import numpy as np
import pytest

import torchlite as tl
from conftest import DTYPE_NAMES, FLOAT_NAMES, INT_NAMES
from _pointwise_helpers import SPECIALS, check


def _cast_source(name):
    if name == "bool":
        return tl.tensor([True, False, True, True, False])
    if name in INT_NAMES:
        vals = {"uint8": [0, 1, 2, 127, 255], "int8": [0, -1, 2, 127, -128]}.get(name, [0, -1, 257, 4097, -2049])
        return tl.tensor(np.array(vals, dtype=name))
    vals = [0.0, -0.0, 1.0, 2.75, 100.6, 255.0, 0.3, 1e-3, 65519.0] if name != "float16" else \
        [0.0, -0.0, 1.0, 2.75, 100.6, 255.0, 0.3, 1e-3, 60000.0]
    return tl.tensor(np.array(vals, np.float64)).to(getattr(tl, name))


@pytest.mark.parametrize("src", DTYPE_NAMES)
@pytest.mark.parametrize("dst", DTYPE_NAMES)
def test_cast_every_pair_matches_torch(src, dst, torch):
    x = _cast_source(src)
    if dst in INT_NAMES and src in FLOAT_NAMES:
        x = x.clamp(0, 127)                      # float -> int outside the range is undefined in C++
    got = check(lambda t: t.to(getattr(tl, dst)), lambda t: t.to(getattr(torch, dst)), [x], torch)
    assert got.dtype is getattr(tl, dst)
    assert (got is x) == (src == dst)            # to() of the same dtype is a no-op, as in torch
    if src in FLOAT_NAMES and dst in FLOAT_NAMES:
        y = tl.tensor(SPECIALS + [3e38, 70000.0, 1.00048828125, 1.0078125, 1.00390625], dtype=tl.float64)
        y = y.to(getattr(tl, src))
        check(lambda t: t.to(getattr(tl, dst)), lambda t: t.to(getattr(torch, dst)), [y], torch)
    if dst == "bool" and src in FLOAT_NAMES:
        y = tl.tensor([float("nan"), -0.0, 0.0, 1e-30, -float("inf")], dtype=getattr(tl, src))
        check(lambda t: t.to(tl.bool), lambda t: t.to(torch.bool), [y], torch)


@pytest.mark.parametrize("method, dtype", [("float", "float32"), ("double", "float64"), ("half", "float16"),
                                           ("bfloat16", "bfloat16"), ("int", "int32"), ("long", "int64"),
                                           ("short", "int16"), ("char", "int8"), ("byte", "uint8"), ("bool", "bool")])
def test_cast_methods(method, dtype, torch):
    x = tl.tensor([0.0, 1.5, 3.0, 100.25])
    check(lambda t: getattr(t, method)(), lambda t: getattr(t, method)(), [x], torch)
    check(lambda t: t.to(dtype=getattr(tl, dtype)), lambda t: t.to(dtype=getattr(torch, dtype)), [x], torch)
