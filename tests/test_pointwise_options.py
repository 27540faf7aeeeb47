"""Pointwise ops whose result depends on arguments beyond their tensor operands, against torch (CPU):
``where`` (condition, tensor or scalar branches), ``clamp``/``clip`` bounds (number, tensor, 0-d, None),
``lerp`` weights (float64 results also against Python's ``math``), ``nan_to_num`` replacements,
``round(decimals=)``, ``div(rounding_mode=)``, ``gelu(approximate=)`` and ``softplus(beta, threshold)``; bad
options raise at the op, naming this file's line.
"""
from __future__ import annotations

import numpy as np
import pytest

import torchlite as tl
from conftest import DTYPE_NAMES, FLOAT_NAMES, assert_close, to_numpy
from _pointwise_helpers import SPECIALS, check, sample

HERE = r"test_pointwise_options\.py:\d+"


@pytest.mark.parametrize("a, b", [
    pytest.param(a, b, id=f"{a}-{b}")
    for a in ["bool", "uint8", "int32", "float16", "bfloat16", "float64", 1.5, 2, True]
    for b in ["int8", "int64", "float32", "bfloat16", 0.5, 3, False]])
def test_where_matches_torch(a, b, torch):
    c = tl.tensor(np.array([[True], [False], [True]]))
    x = sample(a, (1, 4)) if isinstance(a, str) else a
    y = sample(b, (3, 4), seed=1) if isinstance(b, str) else b
    check(tl.where, torch.where, [c, x, y], torch)


def test_where_method_takes_condition_first(torch):
    c = tl.tensor([True, False, True])
    x, y = sample("float32", (3,)), sample("float32", (3,), seed=1)
    check(lambda cc, xx, yy: xx.where(cc, yy), lambda cc, xx, yy: xx.where(cc, yy), [c, x, y], torch)


def test_where_0d_and_empty(torch):
    check(tl.where, torch.where, [tl.tensor(True), sample("float32", (2, 3)), tl.tensor(1.0)], torch)
    check(tl.where, torch.where, [tl.ones(0, 3, dtype=tl.bool), sample("int64", (3,)), 0.5], torch)


@pytest.mark.parametrize("cond", ["float32", "int64"])   # (uint8 works in torch, deprecated)
def test_where_non_bool_condition_raises(cond, torch):
    check(tl.where, torch.where, [sample(cond, (3,)), sample("float32", (3,)), 0.0], torch)
    with pytest.raises(RuntimeError, match=r"where expected condition to be a boolean tensor.*" + HERE):
        tl.where(sample(cond, (3,)), sample("float32", (3,)), 0.0)


@pytest.mark.parametrize("a, b", [(1.0, 0.0), (1, 2), (True, 0.5)])
def test_where_with_two_scalars(a, b, torch):
    check(tl.where, torch.where, [tl.tensor([True, False, True]), a, b], torch)


CLAMP_BOUNDS = [(-1, 2), (0.5, None), (None, 1), (None, 2.5), (-1.5, 1.5), (2, 1), (float("nan"), None),
                ("t", None), (None, "t"), ("t", "t"), ("0d", None), ("0d", "0d")]


@pytest.mark.parametrize("dtype, lo, hi", [
    pytest.param(d, lo, hi, id=f"{d}-{lo}-{hi}")
    for d in DTYPE_NAMES for lo, hi in CLAMP_BOUNDS])
def test_clamp_matches_torch(dtype, lo, hi, torch):
    """Number, tensor, 0-d tensor and None bounds (promotion over all three); method and in-place too."""
    x = sample(dtype, (3, 4))

    def bound(v, seed):
        if v == "t":
            return sample(dtype, (4,), seed=seed)
        if v == "0d":
            return tl.tensor(np.array(2 if seed == 2 else -1 if dtype != "uint8" else 1, dtype=np.int64))
        return v
    args = [x, bound(lo, 1), bound(hi, 2)]
    got = check(tl.clamp, torch.clamp, args, torch)
    if got is not None:
        check(lambda a, b, c: a.clamp(b, c), lambda a, b, c: a.clamp(b, c), args, torch)
        check(lambda a, b, c: a.clip(min=b, max=c), lambda a, b, c: a.clip(min=b, max=c), args, torch)


def test_clamp_without_bounds_raises(torch):
    check(tl.clamp, torch.clamp, [tl.ones(3)], torch)
    with pytest.raises(RuntimeError, match="At least one of 'min' or 'max' must not be None.*" + HERE):
        tl.clamp(tl.ones(3))


@pytest.mark.parametrize("dtype", FLOAT_NAMES)
def test_lerp_matches_torch(dtype, torch):
    s, e = sample(dtype, (3, 4)), sample(dtype, (4,), seed=1)
    for w in (0.0, 0.3, 0.5, 0.75, 1.0, -0.5, 2.0, 1):
        check(tl.lerp, torch.lerp, [s, e, w], torch)
    check(tl.lerp, torch.lerp, [s, e, sample(dtype, (3, 1), "unit", seed=2)], torch)     # tensor weight
    check(tl.lerp, torch.lerp, [s, e, tl.tensor(0.25, dtype=getattr(tl, dtype))], torch)  # 0-d weight
    check(lambda a, b: a.lerp(b, 0.4), lambda a, b: a.lerp(b, 0.4), [s, e], torch)


@pytest.mark.parametrize("dtype", ["bool", "uint8", "int32", "int64"])
def test_lerp_of_integers_raises(dtype, torch):
    check(tl.lerp, torch.lerp, [sample(dtype, (3,)), sample(dtype, (3,)), 0.5], torch)


def test_lerp_end_dtype_mismatch_raises(torch):
    check(tl.lerp, torch.lerp, [sample("float32", (3,)), sample("float64", (3,)), 0.5], torch)
    with pytest.raises(RuntimeError, match="expected dtype float for `end` but got dtype double.*" + HERE):
        tl.lerp(sample("float32", (3,)), sample("float64", (3,)), 0.5)


def test_lerp_weight_dtype_mismatch_raises(torch):
    check(tl.lerp, torch.lerp, [sample("float32", (3,)), sample("float32", (3,)), sample("float64", (3,))], torch)


def test_lerp_float64_against_math():
    s, e = sample("float64", (4, 5), seed=6), sample("float64", (4, 5), seed=7)
    w = sample("float64", (5,), "unit", seed=8) + 0.5
    ss, es, ws = np.broadcast_arrays(to_numpy(s), to_numpy(e), to_numpy(w))

    def ref(a, b, t):
        return a + t * (b - a) if abs(t) < 0.5 else b - (b - a) * (1 - t)
    assert_close(tl.lerp(s, e, w), np.vectorize(ref)(ss, es, ws), rtol=1e-12, atol=1e-15)
    assert_close(tl.lerp(s, e, 0.25), np.vectorize(ref)(ss, es, 0.25), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("dtype", DTYPE_NAMES)
@pytest.mark.parametrize("kw", [{}, {"nan": 1.5}, {"nan": 0.0, "posinf": 7.0}, {"neginf": -3.0},
                                {"nan": -1.0, "posinf": 1e3, "neginf": -1e3}], ids=str)
def test_nan_to_num_matches_torch(dtype, kw, torch):
    if dtype in FLOAT_NAMES:
        x = tl.tensor(SPECIALS + [1e38, -1e38], dtype=getattr(tl, dtype)) if dtype != "float16" else \
            tl.tensor(SPECIALS, dtype=tl.float16)
    else:
        x = sample(dtype, (5,))
    check(lambda t: tl.nan_to_num(t, **kw), lambda t: torch.nan_to_num(t, **kw), [x], torch)
    check(lambda t: t.nan_to_num(**kw), lambda t: t.nan_to_num(**kw), [x], torch)


@pytest.mark.parametrize("dtype", FLOAT_NAMES)
@pytest.mark.parametrize("decimals", [0, 1, 2, 3, -1, -2])
def test_round_decimals_matches_torch(dtype, decimals, torch):
    halves = [0.5, 1.5, 2.5, -0.5, -1.5, 0.125, 0.375, 1.25, 15.0, 25.0, 35.0, -25.0, 0.0, -0.0]
    x = tl.tensor(halves, dtype=getattr(tl, dtype))
    check(lambda t: tl.round(t, decimals=decimals), lambda t: torch.round(t, decimals=decimals), [x], torch)
    y = sample(dtype, (3, 4)) * 7.0
    check(lambda t: tl.round(t, decimals=decimals), lambda t: torch.round(t, decimals=decimals), [y], torch)
    check(lambda t: t.round(decimals=decimals), lambda t: t.round(decimals=decimals), [y], torch)


def test_div_bad_rounding_mode_raises_runtime_error(torch):
    check(lambda a, b: tl.div(a, b, rounding_mode="round"),
          lambda a, b: torch.div(a, b, rounding_mode="round"), [tl.ones(2), tl.ones(2)], torch)


def test_div_bad_rounding_mode_raises_at_op():
    with pytest.raises(RuntimeError, match="rounding_mode.*'round'.*" + HERE):
        tl.div(tl.ones(2), 2, rounding_mode="round")


def test_gelu_bad_approximate_raises_runtime_error(torch):
    check(lambda a: tl.gelu(a, approximate="fast"),
          lambda a: torch.nn.functional.gelu(a, approximate="fast"), [tl.ones(2)], torch)


def test_gelu_bad_approximate_raises_at_op():
    with pytest.raises(RuntimeError, match="approximate.*" + HERE):
        tl.gelu(tl.ones(2), approximate="fast")


@pytest.mark.parametrize("dtype", FLOAT_NAMES)
@pytest.mark.parametrize("beta, threshold", [(1.0, 20.0), (2.0, 1.0), (0.5, 3.0), (1.0, 0.0), (10.0, 5.0),
                                             (-1.0, 20.0)])
def test_softplus_beta_threshold_matches_torch(dtype, beta, threshold, torch):
    x = tl.tensor([-30.0, -3.0, -0.5, 0.0, 0.1, 0.5, 1.0, 2.0, 4.0, 30.0], dtype=getattr(tl, dtype))
    check(lambda t: tl.softplus(t, beta, threshold),
          lambda t: torch.nn.functional.softplus(t, beta, threshold), [x], torch)


@pytest.mark.parametrize("dtype", FLOAT_NAMES)
@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_matches_torch(dtype, approximate, torch):
    x = tl.tensor(np.linspace(-8, 8, 33), dtype=getattr(tl, dtype))
    check(lambda t: tl.gelu(t, approximate), lambda t: torch.nn.functional.gelu(t, approximate=approximate),
          [x], torch)
