"""VJP rules of the pointwise family (torchlite/ops/pointwise.py), checked two ways: against central
differences (``tl.autograd.gradcheck``, float64, inputs in each op's smooth domain) and against torch's
autograd (``.grad`` on the same float64 and float32 inputs, including torch's conventions at kinks).

Non-contiguous inputs are leaves that are transposed views (``tensor(a.T).t()``), so these tests do not
depend on the movement family's rules.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

import torchlite as tl
from conftest import assert_close
import _pointwise_family as pw

TOL = {"float64": {"rtol": 1e-10, "atol": 1e-12}, "float32": {"rtol": 1e-5, "atol": 1e-6}}


# --- input domains ---------------------------------------------------------------------------------------

def U(lo, hi):
    """Uniform in [lo, hi]."""
    return ("u", lo, hi)


def AWAY(lo, hi):
    """Magnitude uniform in [lo, hi], random sign: away from 0 (abs, relu, div's denominator, ...)."""
    return ("a", lo, hi)


def FRAC(scale=1):
    """(k + f) / scale with f in [0.1, 0.4] or [0.6, 0.9]: away from the jumps of floor/ceil/trunc/round."""
    return ("f", scale, 0)


def sample(rng, spec, shape):
    kind, lo, hi = spec
    if kind == "u":
        return rng.uniform(lo, hi, shape)
    if kind == "a":
        return rng.uniform(lo, hi, shape) * rng.choice([-1.0, 1.0], shape)
    k = rng.integers(-3 * lo, 3 * lo, shape) + rng.uniform(0.1, 0.4, shape) + rng.choice([0.0, 0.5], shape)
    return k / lo


@dataclass(frozen=True)
class Case:
    """``fn(m, *xs)`` computes the op with module ``m`` (torchlite or torch) over ``xs`` drawn from ``specs``;
    ``scalars`` are the Python numbers used in place of each operand in the scalar-operand variants."""
    name: str
    fn: object
    specs: tuple
    scalars: tuple = ()
    broadcast: tuple = ()          # shapes of the broadcasting layout of three-operand ops

    def __repr__(self):
        return self.name


def _floor_divide(m, a, b):
    # torch has no derivative for floor_divide; its div(rounding_mode="floor") is the same function, grad 0
    return m.floor_divide(a, b) if m is tl else m.div(a, b, rounding_mode="floor")


BINARY = [
    Case("add", lambda m, a, b: a + b, (U(-2, 2), U(-2, 2)), (1.5, -0.75)),
    Case("add_alpha", lambda m, a, b: m.add(a, b, alpha=-1.5), (U(-2, 2), U(-2, 2)), (1.5, -0.75)),
    Case("sub", lambda m, a, b: a - b, (U(-2, 2), U(-2, 2)), (1.5, -0.75)),
    Case("sub_alpha", lambda m, a, b: m.sub(a, b, alpha=2.5), (U(-2, 2), U(-2, 2)), (1.5, -0.75)),
    Case("mul", lambda m, a, b: a * b, (U(-2, 2), U(-2, 2)), (1.5, -0.75)),
    Case("div", lambda m, a, b: a / b, (U(-2, 2), AWAY(0.5, 2)), (1.3, -0.7)),
    Case("div_floor", lambda m, a, b: m.div(a, b, rounding_mode="floor"), (U(-3, 3), AWAY(0.6, 1.4)), (2.3, -0.7)),
    Case("div_trunc", lambda m, a, b: m.div(a, b, rounding_mode="trunc"), (U(-3, 3), AWAY(0.6, 1.4)), (2.3, -0.7)),
    Case("floor_divide", _floor_divide, (U(-3, 3), AWAY(0.6, 1.4)), (2.3, -0.7)),
    Case("remainder", lambda m, a, b: m.remainder(a, b), (U(-3, 3), AWAY(0.6, 1.4)), (2.3, -0.7)),
    Case("fmod", lambda m, a, b: m.fmod(a, b), (U(-3, 3), AWAY(0.6, 1.4)), (-2.3, 0.7)),
    Case("maximum", lambda m, a, b: m.maximum(a, b), (U(-2, 2), U(-2, 2)), (0.25, -0.3)),
    Case("minimum", lambda m, a, b: m.minimum(a, b), (U(-2, 2), U(-2, 2)), (0.25, -0.3)),
    Case("atan2", lambda m, a, b: m.atan2(a, b), (AWAY(0.3, 2), AWAY(0.5, 2)), (-1.2, 0.8)),
    Case("pow", lambda m, a, b: a ** b, (U(0.5, 2), U(-2, 2)), (1.7, 2.5)),
]


def _softplus(beta, threshold):
    return lambda m, x: m.nn.functional.softplus(x, beta=beta, threshold=threshold)


UNARY = [
    Case("neg", lambda m, x: -x, (U(-2, 2),)),
    Case("abs", lambda m, x: m.abs(x), (AWAY(0.2, 2),)),
    Case("sign", lambda m, x: m.sign(x), (AWAY(0.2, 2),)),
    Case("floor", lambda m, x: m.floor(x), (FRAC(),)),
    Case("ceil", lambda m, x: m.ceil(x), (FRAC(),)),
    Case("trunc", lambda m, x: m.trunc(x), (FRAC(),)),
    Case("round", lambda m, x: m.round(x), (FRAC(),)),
    Case("round_decimals", lambda m, x: m.round(x, decimals=1), (FRAC(10),)),
    Case("exp", lambda m, x: m.exp(x), (U(-2, 2),)),
    Case("exp2", lambda m, x: m.exp2(x), (U(-2, 2),)),
    Case("expm1", lambda m, x: m.expm1(x), (U(-2, 2),)),
    Case("log", lambda m, x: m.log(x), (U(0.5, 3),)),
    Case("log2", lambda m, x: m.log2(x), (U(0.5, 3),)),
    Case("log10", lambda m, x: m.log10(x), (U(0.5, 3),)),
    Case("log1p", lambda m, x: m.log1p(x), (U(-0.5, 2),)),
    Case("sqrt", lambda m, x: m.sqrt(x), (U(0.5, 3),)),
    Case("rsqrt", lambda m, x: m.rsqrt(x), (U(0.5, 3),)),
    Case("sin", lambda m, x: m.sin(x), (U(-3, 3),)),
    Case("cos", lambda m, x: m.cos(x), (U(-3, 3),)),
    Case("tan", lambda m, x: m.tan(x), (U(-1.2, 1.2),)),
    Case("tanh", lambda m, x: m.tanh(x), (U(-2, 2),)),
    Case("asin", lambda m, x: m.asin(x), (U(-0.8, 0.8),)),
    Case("acos", lambda m, x: m.acos(x), (U(-0.8, 0.8),)),
    Case("atan", lambda m, x: m.atan(x), (U(-3, 3),)),
    Case("sinh", lambda m, x: m.sinh(x), (U(-2, 2),)),
    Case("cosh", lambda m, x: m.cosh(x), (U(-2, 2),)),
    Case("sigmoid", lambda m, x: m.sigmoid(x), (U(-4, 4),)),
    Case("erf", lambda m, x: m.erf(x), (U(-2, 2),)),
    Case("erfc", lambda m, x: m.erfc(x), (U(-2, 2),)),
    Case("reciprocal", lambda m, x: m.reciprocal(x), (AWAY(0.5, 2),)),
    Case("square", lambda m, x: m.square(x), (U(-2, 2),)),
    Case("silu", lambda m, x: m.nn.functional.silu(x), (U(-4, 4),)),
    Case("relu", lambda m, x: m.relu(x), (AWAY(0.2, 2),)),
    Case("gelu", lambda m, x: m.nn.functional.gelu(x), (U(-3, 3),)),
    Case("gelu_tanh", lambda m, x: m.nn.functional.gelu(x, approximate="tanh"), (U(-3, 3),)),
    Case("softplus", _softplus(1.0, 20.0), (U(-3, 3),)),
    Case("softplus_beta2_threshold1", _softplus(2.0, 1.0), (U(-2, 2),)),   # both regions (x > 0.5 is linear)
    Case("nan_to_num", lambda m, x: m.nan_to_num(x), (U(-2, 2),)),
    Case("clamp", lambda m, x: m.clamp(x, -0.5, 0.7), (U(-2, 2),)),
    Case("clamp_min", lambda m, x: m.clamp(x, min=-0.5), (U(-2, 2),)),
    Case("clamp_max", lambda m, x: m.clamp(x, max=0.7), (U(-2, 2),)),
    Case("pow_int_scalar", lambda m, x: x ** 3, (U(-2, 2),)),               # negative bases too
    Case("pow_negative_int_scalar", lambda m, x: x ** -2, (AWAY(0.5, 2),)),
    Case("float_power", lambda m, x: m.float_power(x, 1.5), (U(0.5, 2),)),
]


def _where(m, c, x, y):
    return m.where(c > 0, x, y)


# three-operand ops; the first operand of where is a float tensor whose sign is the condition (not differentiated)
TERNARY = [
    # torch's backward of clamp cannot broadcast the input itself, so the input has the full shape here
    Case("clamp_tensor_bounds", lambda m, x, lo, hi: m.clamp(x, lo, hi), (U(-2, 2), U(-1.5, -0.2), U(0.2, 1.5)),
         broadcast=((2, 3, 4), (4,), (3, 1))),
    Case("lerp", lambda m, s, e, w: m.lerp(s, e, w), (U(-2, 2), U(-2, 2), U(-0.5, 1.5)),
         broadcast=((3, 1), (4,), (2, 1, 1))),
]


def _layouts(case):
    """(name, per-operand layout) pairs: a shape, ("T", shape) for a transposed view, or "S" for a scalar."""
    n = len(case.specs)
    if n == 1:
        return [("contiguous", [(3, 4)]), ("transposed", [("T", (3, 4))]), ("0-d", [()])]
    if n == 2:
        return [("broadcast", [(3, 1), (4,)]), ("transposed", [("T", (3, 4)), (3, 4)]),
                ("scalar_right", [(3, 4), "S"]), ("scalar_left", ["S", (3, 4)])]
    return [("broadcast", list(case.broadcast)), ("transposed", [("T", (3, 4)), (3, 4), ("T", (3, 4))])]


def _transposed(lay) -> bool:
    return len(lay) == 2 and lay[0] == "T"


def _arrays(case, layout, seed=0):
    """numpy float64 values (or Python scalars) per operand."""
    rng = np.random.default_rng(seed)
    vals = []
    for i, (spec, lay) in enumerate(zip(case.specs, layout)):
        if lay == "S":
            vals.append(case.scalars[i])
        else:
            shape = lay[1] if _transposed(lay) else lay
            vals.append(sample(rng, spec, shape))
    return vals


def _tl_inputs(vals, layout, dtype):
    out = []
    for v, lay in zip(vals, layout):
        if lay == "S":
            out.append(v)
        elif _transposed(lay):
            out.append(tl.tensor(np.ascontiguousarray(v.T), dtype=dtype).t().requires_grad_())
        else:
            out.append(tl.tensor(v, dtype=dtype).requires_grad_())
    return out


def _torch_inputs(torch, vals, layout, dtype):
    out = []
    for v, lay in zip(vals, layout):
        if lay == "S":
            out.append(torch.tensor(v, dtype=dtype))     # 0-d: torch.maximum/atan2 take no Python numbers
        elif _transposed(lay):
            out.append(torch.tensor(np.ascontiguousarray(v.T), dtype=dtype).t().requires_grad_())
        else:
            out.append(torch.tensor(v, dtype=dtype).requires_grad_())
    return out


def _params(cases):
    return [pytest.param(c, lay, id=f"{c.name}-{name}") for c in cases for name, lay in _layouts(c)]


# --- gradcheck: every rule against central differences ----------------------------------------------------

@pytest.mark.parametrize("case, layout", _params(BINARY + UNARY + TERNARY))
def test_gradcheck_matches_finite_differences(case, layout):
    vals = _arrays(case, layout)
    xs = _tl_inputs(vals, layout, tl.float64)
    assert tl.autograd.gradcheck(lambda *a: case.fn(tl, *a), xs)


def test_gradcheck_where_routes_by_condition_with_broadcasting():
    rng = np.random.default_rng(1)
    c = tl.tensor(rng.uniform(-1, 1, (3, 1)) > 0)
    x = tl.tensor(rng.uniform(-2, 2, (4,)), requires_grad=True)
    y = tl.tensor(rng.uniform(-2, 2, (2, 1, 1)), requires_grad=True)
    assert tl.autograd.gradcheck(lambda a, b: tl.where(c, a, b), (x, y))
    assert tl.autograd.gradcheck(lambda a: tl.where(c, a, 0.5), (x,))
    assert tl.autograd.gradcheck(lambda b: tl.where(c, -1.5, b), (y,))


def test_gradcheck_cast_through_float32_is_identity():
    x = tl.tensor(np.random.default_rng(2).uniform(-2, 2, (3, 4)), requires_grad=True)
    # float32 rounding (~1e-7 relative) over eps 1e-2 stays far below atol; a wrong rule (0, 2g) fails
    assert tl.autograd.gradcheck(lambda a: a.float().double() * 3.0, (x,), eps=1e-2, atol=1e-4)


def test_gradcheck_detects_a_wrong_rule(monkeypatch):
    monkeypatch.setattr(pw.SIN, "vjp", lambda g, out, x: (g * x.sin(),))
    x = tl.tensor([0.3, -1.1], dtype=tl.float64, requires_grad=True)
    with pytest.raises(RuntimeError, match="Jacobian mismatch"):
        tl.autograd.gradcheck(lambda a: a.sin(), (x,))


# --- against torch's autograd --------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("case, layout", _params(BINARY + UNARY + TERNARY))
def test_grad_matches_torch(torch, case, layout, dtype):
    vals = _arrays(case, layout)
    xs = _tl_inputs(vals, layout, getattr(tl, dtype))
    ts = _torch_inputs(torch, vals, layout, getattr(torch, dtype))
    out = case.fn(tl, *xs)
    ref = case.fn(torch, *ts)
    g = np.random.default_rng(3).uniform(-1, 1, tuple(ref.shape))
    out.backward(tl.tensor(g, dtype=out.dtype))
    ref.backward(torch.tensor(g, dtype=ref.dtype))
    for x, t in zip(xs, ts):
        if isinstance(x, tl.Tensor):
            assert x.grad is not None, "zero gradients are tensors of zeros, as in torch"
            assert_close(x.grad, t.grad, **TOL[dtype])


def _compare(torch, fn, arrays, dtype="float64", g=None):
    """Run ``fn(m, *leaves)`` in both libraries on float ``arrays`` (all requiring grad) and compare .grad."""
    xs = [tl.tensor(np.asarray(a), dtype=getattr(tl, dtype)).requires_grad_() for a in arrays]
    ts = [torch.tensor(np.asarray(a), dtype=getattr(torch, dtype)).requires_grad_() for a in arrays]
    out, ref = fn(tl, *xs), fn(torch, *ts)
    g = np.random.default_rng(4).uniform(0.5, 1.5, tuple(ref.shape)) if g is None else g
    out.backward(tl.tensor(g, dtype=out.dtype))
    ref.backward(torch.tensor(g, dtype=ref.dtype))
    for x, t in zip(xs, ts):
        if t.grad is None:
            assert x.grad is None
        else:
            assert_close(x.grad, t.grad, **TOL[dtype])
    return xs


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_relu_abs_sign_at_zero_follow_torch(torch, dtype):
    x = [-1.5, -0.0, 0.0, 0.0, 2.0]
    xs = _compare(torch, lambda m, a: m.relu(a), [x], dtype)
    assert xs[0].grad.tolist()[1:4] == [0.0, 0.0, 0.0]           # relu'(0) = 0
    xs = _compare(torch, lambda m, a: m.abs(a), [x], dtype)
    assert xs[0].grad.tolist()[1:4] == [0.0, 0.0, 0.0]           # abs'(0) = 0
    _compare(torch, lambda m, a: m.nn.functional.silu(a) + m.sign(a), [x], dtype)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_maximum_minimum_split_ties_evenly(torch, dtype):
    a = [[1.0, 2.0, -3.0, 0.5], [0.0, 0.0, 7.0, -1.0], [2.0, 2.0, 2.0, 2.0]]
    b = [[1.0, 1.0, -3.0, 0.75]]                                  # broadcast over rows, ties in places
    xs = _compare(torch, lambda m, p, q: m.maximum(p, q), [a, b], dtype, g=np.ones((3, 4)))
    assert xs[0].grad.tolist()[0] == [0.5, 1.0, 0.5, 0.0]
    _compare(torch, lambda m, p, q: m.minimum(p, q), [a, b], dtype)
    _compare(torch, lambda m, p, q: m.maximum(p, q) * m.minimum(q, p), [a, b], dtype)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_clamp_passes_gradient_inclusively_at_the_bounds(torch, dtype):
    x = [-2.0, -0.5, 0.0, 0.7, 3.0, float("nan")]
    xs = _compare(torch, lambda m, a: m.clamp(a, -0.5, 0.7), [x], dtype, g=np.ones(6))
    assert xs[0].grad.tolist() == [0.0, 1.0, 1.0, 1.0, 0.0, 0.0]
    _compare(torch, lambda m, a: m.clamp(a, min=-0.5), [x], dtype)
    _compare(torch, lambda m, a: m.clamp(a, max=0.7), [x], dtype)
    _compare(torch, lambda m, a: m.clamp(a, 1.0, -1.0), [x], dtype)       # min > max: all max, no gradient
    _compare(torch, lambda m, a: m.clip(a, -0.5, 0.7), [x], dtype)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_clamp_tensor_bounds_get_gradient_where_active(torch, dtype):
    x = [[-2.0, -0.5, 0.0, 0.7, 3.0, 0.2], [1.0, -1.0, 0.5, 0.5, -0.5, 2.0]]
    lo = [-0.5, -0.5, 0.1, 0.7, 0.0, 0.4]                        # ties with x, and lo > hi in the last column
    hi = [[0.7], [0.5]]
    _compare(torch, lambda m, a, p, q: m.clamp(a, p, q), [x, lo, hi], dtype)
    _compare(torch, lambda m, a, p: m.clamp(a, min=p), [x, lo], dtype)
    _compare(torch, lambda m, a, q: m.clamp(a, max=q), [x, hi], dtype)
    _compare(torch, lambda m, a, p: m.clamp_min(a, p), [x, lo], dtype)
    _compare(torch, lambda m, a, q: m.clamp_max(a, q), [x, hi], dtype)


def test_clamp_mixed_scalar_and_tensor_bound_gets_gradient_on_the_tensor():
    x = tl.tensor([-2.0, 0.0, 3.0], dtype=tl.float64, requires_grad=True)
    hi = tl.tensor([1.0, 1.0, 1.0], dtype=tl.float64, requires_grad=True)
    tl.clamp(x, -1.0, hi).backward(tl.ones(3, dtype=tl.float64))
    assert x.grad.tolist() == [0.0, 1.0, 0.0]
    assert hi.grad.tolist() == [0.0, 0.0, 1.0]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_where_routes_gradient_by_condition(torch, dtype):
    x = [[1.0, -2.0, 3.0, -4.0], [0.5, 0.0, -0.5, 2.0], [-1.0, 1.0, -1.0, 1.0]]
    y = [[0.25, 0.5, 0.75, 1.0]]
    xs = _compare(torch, lambda m, a, b: m.where(a > 0, a, b), [x, y], dtype, g=np.ones((3, 4)))
    assert xs[1].grad.tolist() == [[1.0, 2.0, 2.0, 1.0]]        # summed over the rows where a <= 0
    _compare(torch, lambda m, a: m.where(a > 0, a, 0.0), [x], dtype)
    _compare(torch, lambda m, b: m.where(b > 0.6, -1.0, b), [y], dtype)
    # the NaN of the unselected branch reaches the gradient (0 * inf), as in torch
    _compare(torch, lambda m, a: m.where(a > 0, m.sqrt(a), a), [x], dtype)
    _compare(torch, lambda m, a: a.where(a > 0, a * 2), [x], dtype)


def test_remainder_and_fmod_of_a_number_by_a_tensor():
    # torch has no derivative for remainder(Scalar, Tensor): d/db = -floor(a / b), fmod: -trunc(a / b)
    b = np.array([1.5, -2.0, 0.75, -0.4])
    for fn, rnd in ((tl.remainder, np.floor), (tl.fmod, np.trunc)):
        q = tl.tensor(b, requires_grad=True)
        fn(-3.5, q).backward(tl.ones(4, dtype=tl.float64))
        np.testing.assert_array_equal(q.grad.numpy(), -rnd(-3.5 / b))
    q = tl.tensor(b, requires_grad=True)
    (7.25 % q).backward(tl.ones(4, dtype=tl.float64))
    np.testing.assert_array_equal(q.grad.numpy(), -np.floor(7.25 / b))


def test_pow_at_zero_base_follows_torch(torch):
    base = [0.0, 0.0, 0.0, 0.0, 2.0, -1.5]
    exponent = [0.0, 1.5, -1.0, 2.0, 0.0, 2.0]
    _compare(torch, lambda m, a, e: a ** e, [base, exponent])
    _compare(torch, lambda m, e: 0.0 ** e, [exponent])           # d/dexp of 0 ** e: 0 for e >= 0
    _compare(torch, lambda m, e: 2.0 ** e, [exponent])
    _compare(torch, lambda m, e: (-2.0) ** e, [exponent])         # NaN: log of a negative base
    for s in (0, 0.0, 1, 2, 0.5, -1):
        _compare(torch, lambda m, a: a ** s, [base])             # x ** 0 has gradient 0 (no 0 * inf)


def test_singular_derivatives_at_zero_follow_torch(torch):
    x = [0.0, 1.0, 4.0]
    for name in ("sqrt", "rsqrt", "log", "log2", "log10", "reciprocal"):
        _compare(torch, lambda m, a: getattr(m, name)(a), [x])
    _compare(torch, lambda m, a: m.log1p(a), [[-1.0, 0.0, 1.0]])
    _compare(torch, lambda m, a: m.asin(a) + m.acos(a), [[-1.0, 0.0, 1.0]])


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_nan_to_num_blocks_gradient_at_replaced_values(torch, dtype):
    x = [float("nan"), float("inf"), -float("inf"), 1.5, -0.25]
    xs = _compare(torch, lambda m, a: m.nan_to_num(a), [x], dtype, g=np.ones(5))
    assert xs[0].grad.tolist() == [0.0, 0.0, 0.0, 1.0, 1.0]
    _compare(torch, lambda m, a: m.nan_to_num(a, nan=1.0, posinf=2.0, neginf=-2.0) * a.nan_to_num(), [x], dtype)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_rounding_division_and_modulo_gradients_follow_torch(torch, dtype):
    a = [[-3.5, -1.0, 0.0, 2.0, 5.25]]
    b = [[1.5], [-2.0], [0.75]]
    for mode in ("floor", "trunc"):
        xs = _compare(torch, lambda m, p, q: m.div(p, q, rounding_mode=mode), [a, b], dtype)
        assert not np.any(xs[0].grad.numpy()) and not np.any(xs[1].grad.numpy())
    _compare(torch, lambda m, p, q: m.remainder(p, q), [a, b], dtype)
    _compare(torch, lambda m, p, q: m.fmod(p, q), [a, b], dtype)
    _compare(torch, lambda m, p, q: p % q, [a, b], dtype)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_piecewise_constant_ops_have_zero_gradient(torch, dtype):
    x = [-2.5, -0.5, 0.0, 0.5, 1.5, 2.7]
    for name in ("sign", "floor", "ceil", "trunc", "round"):
        xs = _compare(torch, lambda m, a: getattr(m, name)(a) * a, [x], dtype, g=np.ones(6))
        assert xs[0].grad.tolist() == getattr(tl.tensor(x, dtype=getattr(tl, dtype)), name)().tolist()
    _compare(torch, lambda m, a: m.round(a, decimals=1), [x], dtype)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_activations_over_a_wide_range_follow_torch(torch, dtype):
    x = [-30.0, -10.0, -1.0, -1e-3, 0.0, 1e-3, 1.0, 10.0, 30.0]
    for name, kw in [("gelu", {}), ("gelu", {"approximate": "tanh"}), ("silu", {}), ("softplus", {}),
                     ("softplus", {"beta": 2.0, "threshold": 2.0}), ("softplus", {"beta": 0.5, "threshold": 0.5})]:
        _compare(torch, lambda m, a: getattr(m.nn.functional, name)(a, **kw), [x], dtype)
    for name in ("sigmoid", "tanh", "erf", "erfc", "exp", "expm1", "atan"):
        _compare(torch, lambda m, a: getattr(m, name)(a), [x], dtype)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_softplus_at_the_threshold_uses_the_smooth_branch(torch, dtype):
    x = [1.0, 0.5, 0.999, 1.001]                 # beta * x == threshold at x = 1.0 (not > threshold)
    xs = _compare(torch, lambda m, a: m.nn.functional.softplus(a, beta=2.0, threshold=2.0), [x], dtype,
                  g=np.ones(4))
    assert xs[0].grad.tolist()[3] == 1.0 and xs[0].grad.tolist()[0] < 1.0


def test_lerp_with_scalar_weight_and_broadcast_end_follows_torch(torch):
    s = [[0.5, -1.0, 2.0], [1.0, 0.0, -3.0]]
    e = [[4.0, 1.0, -2.0]]
    for w in (0.25, 0.75, -0.5, 1.5):
        _compare(torch, lambda m, p, q: m.lerp(p, q, w), [s, e])
        _compare(torch, lambda m, p, q: m.lerp(p, q, w), [s, e], "float32")
    _compare(torch, lambda m, p, q, r: m.lerp(p, q, r), [s, e, [[0.2], [0.9]]])


def test_cast_gradient_returns_in_the_source_dtype(torch):
    x = tl.tensor([1.5, -2.25, 3.0], dtype=tl.float32, requires_grad=True)
    t = torch.tensor([1.5, -2.25, 3.0], dtype=torch.float32, requires_grad=True)
    g = np.array([0.1, 0.2, 0.3])
    (x.double() * 3.0).backward(tl.tensor(g))
    (t.double() * 3.0).backward(torch.tensor(g))
    assert_close(x.grad, t.grad, **TOL["float32"])
    y = tl.tensor([1.5, -2.25, 3.0], dtype=tl.float64, requires_grad=True)
    (y.to(tl.float16) * 2.0).backward(tl.ones(3, dtype=tl.float16))
    assert y.grad.dtype is tl.float64 and y.grad.tolist() == [2.0, 2.0, 2.0]
    assert not y.to(tl.int64).requires_grad                      # integer results are not differentiable


def test_integer_and_bool_operands_get_no_gradient():
    a, k = np.array([1.5, -2.0, 0.5]), np.array([2, 3, -1])
    x = tl.tensor(a, dtype=tl.float32, requires_grad=True)
    i = tl.tensor(k)
    m = tl.tensor([True, False, True])
    (x * i + m - i / x + x ** i).backward(tl.ones(3))
    np.testing.assert_allclose(x.grad.numpy(), k + k / a ** 2 + k * a ** (k - 1.0), rtol=1e-6)
    assert x.grad.dtype is tl.float32
    assert i.grad is None and m.grad is None and not i.requires_grad


def test_mixed_float_dtypes_get_gradients_in_their_own_dtype(torch):
    x = tl.tensor([1.5, -2.0], dtype=tl.float32, requires_grad=True)
    y = tl.tensor([[0.5], [3.0]], dtype=tl.float64, requires_grad=True)
    (x / y).backward(tl.ones(2, 2, dtype=tl.float64))
    tx = torch.tensor([1.5, -2.0], dtype=torch.float32, requires_grad=True)
    ty = torch.tensor([[0.5], [3.0]], dtype=torch.float64, requires_grad=True)
    (tx / ty).backward(torch.ones(2, 2, dtype=torch.float64))
    assert_close(x.grad, tx.grad, **TOL["float32"])
    assert_close(y.grad, ty.grad, **TOL["float64"])


# --- accumulation and higher order ---------------------------------------------------------------------------

def test_gradients_accumulate_over_two_backward_calls(torch):
    a = np.array([[0.5, -1.0, 2.0]])
    b = np.array([[1.5], [0.25]])
    x, y = tl.tensor(a, requires_grad=True), tl.tensor(b, requires_grad=True)
    tx, ty = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    g = np.arange(6.0).reshape(2, 3)
    for _ in range(2):                                           # a fresh graph each time
        (tl.sin(x) * y.exp() + x / y).backward(tl.tensor(g))
        (torch.sin(tx) * ty.exp() + tx / ty).backward(torch.tensor(g))
    assert_close(x.grad, tx.grad, **TOL["float64"])
    assert_close(y.grad, ty.grad, **TOL["float64"])
    out, ref = x.tanh() ** y, tx.tanh() ** ty                    # the same graph twice (retain_graph)
    out.backward(tl.tensor(g), retain_graph=True)
    out.backward(tl.tensor(g))
    ref.backward(torch.tensor(g), retain_graph=True)
    ref.backward(torch.tensor(g))
    assert_close(x.grad, tx.grad, **TOL["float64"])
    assert_close(y.grad, ty.grad, **TOL["float64"])


SECOND_ORDER = [
    ("exp", lambda m, x: m.exp(x), [U(-2, 2)]),
    ("sin", lambda m, x: m.sin(x), [U(-3, 3)]),
    ("tanh", lambda m, x: m.tanh(x), [U(-2, 2)]),
    ("sigmoid", lambda m, x: m.sigmoid(x), [U(-4, 4)]),
    ("mul", lambda m, a, b: a * b, [U(-2, 2), U(-2, 2)]),
    ("div", lambda m, a, b: a / b, [U(-2, 2), AWAY(0.5, 2)]),
    ("pow", lambda m, a, b: a ** b, [U(0.5, 2), U(-2, 2)]),
]


def _second_order_case(torch, fn, specs):
    rng = np.random.default_rng(5)
    vals = [sample(rng, s, (3, 4)) for s in specs]
    g, gg = rng.uniform(-1, 1, (3, 4)), [rng.uniform(-1, 1, (3, 4)) for _ in specs]
    ts = [torch.tensor(v, requires_grad=True) for v in vals]
    tg = torch.tensor(g, requires_grad=True)
    first = torch.autograd.grad(fn(torch, *ts), ts, tg, create_graph=True)
    ref = torch.autograd.grad(first, ts + [tg], [torch.tensor(v) for v in gg], allow_unused=True)
    return vals, g, gg, ref


@pytest.mark.parametrize("name, fn, specs", SECOND_ORDER, ids=[c[0] for c in SECOND_ORDER])
def test_rules_are_differentiable_second_derivatives_match_torch(torch, name, fn, specs):
    """Rule level: applying a rule to tensors that require grad (the leaves and the recorded output) records
    it, so differentiating its result gives torch's double backward."""
    vals, g, gg, ref = _second_order_case(torch, fn, specs)
    xs = [tl.tensor(v, requires_grad=True) for v in vals]
    tg = tl.tensor(g, requires_grad=True)
    out = fn(tl, *xs)
    assert out.grad_fn.op.name == name
    first = out.grad_fn.op.vjp(tg, out, *xs, *out.grad_fn.params)
    assert all(f.requires_grad for f in first)
    got = tl.autograd.grad(list(first), xs + [tg], [tl.tensor(v) for v in gg], allow_unused=True)
    for a, r in zip(got, ref):
        assert_close(a, r, **TOL["float64"])


@pytest.mark.parametrize("name, fn, specs", SECOND_ORDER, ids=[c[0] for c in SECOND_ORDER])
def test_create_graph_second_derivatives_match_torch(torch, name, fn, specs):
    vals, g, gg, ref = _second_order_case(torch, fn, specs)
    xs = [tl.tensor(v, requires_grad=True) for v in vals]
    tg = tl.tensor(g, requires_grad=True)
    first = tl.autograd.grad(fn(tl, *xs), xs, [tg], create_graph=True)
    got = tl.autograd.grad(list(first), xs + [tg], [tl.tensor(v) for v in gg], allow_unused=True)
    for a, r in zip(got, ref):
        assert_close(a, r, **TOL["float64"])


NOT_DIFFERENTIABLE = {"eq", "ne", "lt", "le", "gt", "ge", "logical_and", "logical_or", "logical_xor", "logical_not",
                      "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not", "bitwise_left_shift",
                      "bitwise_right_shift", "isnan", "isinf", "isfinite", "signbit"}


def test_every_differentiable_pointwise_op_has_a_rule():
    from torchlite.ops.registry import OpDef
    ops = {v.name: v for v in vars(pw).values() if isinstance(v, OpDef)}
    assert NOT_DIFFERENTIABLE <= set(ops)
    with_rule = {n for n, op in ops.items() if op.vjp is not None}
    assert with_rule == set(ops) - NOT_DIFFERENTIABLE
