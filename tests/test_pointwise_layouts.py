"""Pointwise ops over layouts other than a plain (3, 4) tensor: broadcasting (with 0-d and empty tensors),
broadcast mismatches (raised at the op, naming this file's line), and non-contiguous inputs (transposed,
strided, numpy views, expanded), against torch (CPU).
"""
from __future__ import annotations

import inspect

import pytest

import torchlite as tl
from conftest import assert_close, to_numpy, to_torch
from _pointwise_helpers import BINARY, RHS_DOMAIN, UNARY, check, every_other_column, sample, torch_module


SHAPE_PAIRS = [((), ()), ((3, 4), ()), ((), (2, 3)), ((3, 1), (1, 4)), ((2, 1, 3), (4, 1)), ((4,), (2, 3, 4)),
               ((0,), ()), ((0, 4), (1, 4)), ((3, 0), (3, 1)), ((2, 0, 3), (0, 1)), ((1,), (0,))]


@pytest.mark.parametrize("shapes", SHAPE_PAIRS, ids=str)
@pytest.mark.parametrize("op", ["add", "mul", "div", "pow", "atan2", "lt", "maximum", "bitwise_xor", "remainder"])
def test_broadcasting_0d_and_empty(op, shapes, torch):
    da, db = ("int32", "int64") if op == "bitwise_xor" else ("float32", "float64")
    x = sample(da, shapes[0])
    y = sample(db, shapes[1], RHS_DOMAIN.get(op, "any"))
    check(BINARY[op][0], BINARY[op][1], [x, y], torch)


@pytest.mark.parametrize("a, b", [((3,), (4,)), ((2, 3), (3, 2)), ((0,), (2,)), ((2, 3, 4), (3, 3, 4)),
                                  ((5, 2, 3), (3, 1))], ids=str)
def test_broadcast_mismatch_raises_at_op_naming_this_file(a, b, torch):
    with pytest.raises(RuntimeError) as expected:
        torch.ones(a) + torch.ones(b)
    line = inspect.currentframe().f_lineno + 2
    with pytest.raises(RuntimeError) as info:
        tl.ones(a) + tl.ones(b)
    msg = str(info.value)
    assert f"test_pointwise_layouts.py:{line}" in msg
    assert str(expected.value) in msg


def _layouts():
    base = sample("float32", (4, 6), seed=9)
    return {
        "transposed": (lambda: base.t(), lambda: to_torch(base).t()),
        "strided": (lambda: every_other_column(base), lambda: to_torch(base)[:, ::2]),
        "numpy_view": (lambda: tl.from_numpy(to_numpy(base)[::2, 1::2]), lambda: to_torch(base)[::2, 1::2]),
        "expanded": (lambda: tl.tensor(to_numpy(base)[0]).expand(3, 6), lambda: to_torch(base)[0].expand(3, 6)),
        "0d": (lambda: tl.tensor(float(to_numpy(base)[1, 2])), lambda: to_torch(base)[1, 2].clone()),
        "empty": (lambda: tl.ones(0, 3), lambda: torch_ones(0, 3)),
    }


def torch_ones(*s):
    return torch_module().ones(*s)


@pytest.mark.parametrize("layout", ["transposed", "strided", "numpy_view", "expanded", "0d", "empty"])
@pytest.mark.parametrize("op", ["exp", "abs", "sigmoid", "gelu", "floor", "isnan", "square", "neg", "relu", "round"])
def test_unary_on_non_contiguous_0d_and_empty(op, layout, torch):
    tl_x, torch_x = _layouts()[layout]
    x, tx = tl_x(), torch_x()
    assert_close(UNARY[op][0](x), UNARY[op][1](tx))


@pytest.mark.parametrize("layout", ["transposed", "strided", "numpy_view", "expanded"])
@pytest.mark.parametrize("op", ["add", "sub", "mul", "div", "pow", "atan2", "ge", "minimum", "floor_divide"])
def test_binary_on_non_contiguous(op, layout, torch):
    tl_x, torch_x = _layouts()[layout]
    x, tx = tl_x(), torch_x()
    y = sample("float32", tuple(x.shape), seed=10)
    if op == "pow":
        x, tx = x.abs(), tx.abs()
    assert_close(BINARY[op][0](x, y), BINARY[op][1](tx, to_torch(y)))
    assert_close(BINARY[op][0](y, x), BINARY[op][1](to_torch(y), tx))
    assert_close(BINARY[op][0](x, x), BINARY[op][1](tx, tx))
