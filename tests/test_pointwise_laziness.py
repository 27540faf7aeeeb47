"""Laziness of pointwise ops: errors raise at the op (naming this file's line), not at realize; Python scalars
are program arguments (a cached program never replays stale constants, and no CSE merges ops that differ
only in a scalar); the scalar's kind still decides the dtype; realized inputs are never mutated.
"""
from __future__ import annotations

import inspect

import numpy as np
import pytest

import torchlite as tl
from conftest import to_numpy
from _pointwise_helpers import softplus_ref

HERE = r"test_pointwise_laziness\.py:\d+"


def test_errors_raise_at_the_op_not_at_realize():
    pending = tl.ones(3) * 2.0
    line = inspect.currentframe().f_lineno + 2
    with pytest.raises(RuntimeError) as info:
        pending + tl.ones(4)
    assert f"test_pointwise_laziness.py:{line}" in str(info.value)
    assert "The size of tensor a (3) must match the size of tensor b (4) at non-singleton dimension 0" \
        in str(info.value)
    assert pending.is_lazy                                    # nothing was computed to find the error
    line = inspect.currentframe().f_lineno + 2
    with pytest.raises(RuntimeError) as info:
        tl.where(pending, pending, 0.0)
    assert f"test_pointwise_laziness.py:{line}" in str(info.value)
    with pytest.raises(RuntimeError, match=r"bitwise_and_cpu.*Float.*" + HERE):
        pending & pending
    with pytest.raises(RuntimeError, match="Subtraction, the `-` operator, with two bool tensors.*" + HERE):
        tl.ones(2, dtype=tl.bool) - tl.ones(2, dtype=tl.bool)
    with pytest.raises(RuntimeError, match="Negation, the `-` operator, on a bool tensor.*" + HERE):
        -tl.ones(2, dtype=tl.bool)
    assert pending.is_lazy
    assert to_numpy(pending).tolist() == [2.0, 2.0, 2.0]


def test_structurally_equal_graphs_with_different_scalars():
    """Python scalars are program arguments: a cached program must never replay stale constants."""
    xs = np.array([-1.5, 0.25, 2.0, 3.5])
    x = tl.tensor(xs)
    for s in (2.0, -3.0, 0.5, 7.0):
        r = (x * s + s) / (s + 1.0)
        np.testing.assert_allclose(to_numpy(r), (xs * s + s) / (s + 1.0), rtol=1e-15)
        np.testing.assert_allclose(to_numpy(tl.clamp(x, -s, s)), np.clip(xs, -abs(s), s) if s > 0 else
                                   np.minimum(np.maximum(xs, -s), s), rtol=1e-15)
        np.testing.assert_allclose(to_numpy(tl.lerp(x, x * 2, s)), xs + s * (2 * xs - xs), rtol=1e-14)
        np.testing.assert_allclose(to_numpy(tl.softplus(x, abs(s), 2 * abs(s))),
                                   [softplus_ref(v, abs(s), 2 * abs(s)) for v in xs], rtol=1e-13)
        np.testing.assert_allclose(to_numpy(tl.where(x > 0, x, -s)), np.where(xs > 0, xs, -s))
    # the same structure twice inside one graph: no CSE of ops that differ only in their scalar
    both = (x * 2.0) + (x * 3.0) + tl.clamp(x, 0.0, 1.0) - tl.clamp(x, 1.0, 2.0)
    np.testing.assert_allclose(to_numpy(both), 5 * xs + np.clip(xs, 0, 1) - np.clip(xs, 1, 2), rtol=1e-15)
    both = tl.lerp(x, -x, 0.25) * tl.lerp(x, -x, 0.75) + tl.softplus(x, 1.0, 20.0) - tl.softplus(x, 2.0, 20.0)
    expected = (xs - 0.5 * xs) * (xs - 1.5 * xs) + np.log1p(np.exp(xs)) - np.log1p(np.exp(2 * xs)) / 2
    np.testing.assert_allclose(to_numpy(both), expected, rtol=1e-14)
    nans = tl.tensor([float("nan"), 1.0])
    two = tl.nan_to_num(nans, nan=1.0) + tl.nan_to_num(nans, nan=5.0)
    assert to_numpy(two).tolist() == [6.0, 2.0]


def test_scalar_kind_changes_dtype_not_stale_program():
    x = tl.tensor([1, 2, 3])
    assert (x + 1).dtype is tl.int64 and to_numpy(x + 1).tolist() == [2, 3, 4]
    assert (x + 1.0).dtype is tl.float32 and to_numpy(x + 1.0).tolist() == [2.0, 3.0, 4.0]
    assert (x + True).dtype is tl.int64 and to_numpy(x + True).tolist() == [2, 3, 4]
    b = tl.tensor([True, False])
    assert (b * True).dtype is tl.bool and to_numpy(b * True).tolist() == [True, False]
    assert (b * 2).dtype is tl.int64 and to_numpy(b * 2).tolist() == [2, 0]
    assert (b * 2.5).dtype is tl.float32 and to_numpy(b * 2.5).tolist() == [2.5, 0.0]
    for s in (0.1, 0.2):   # float64 tensors use the scalar at full double precision
        assert to_numpy(tl.tensor([1.0], dtype=tl.float64) + s)[0] == 1.0 + s


def test_inputs_are_not_mutated_by_buffer_reuse():
    a = np.ones(3)
    x = tl.from_numpy(a)
    y = ((x + 1.0).exp() * 2.0).sqrt()
    y.numpy()
    assert a.tolist() == [1.0, 1.0, 1.0] and to_numpy(x).tolist() == [1.0, 1.0, 1.0]
    z = x * 1.0
    x.add_(1.0)
    assert to_numpy(z).tolist() == [1.0, 1.0, 1.0] and to_numpy(x).tolist() == [2.0, 2.0, 2.0]
