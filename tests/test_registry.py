"""Registry-wide differential tests: every op in ``torchlite.ops.REGISTRY`` against torch and numpy float64.

``CASES`` holds at least one case per registered op (``test_every_registry_op_has_a_case`` fails when a new
op lands without one, ``test_every_registry_op_has_an_empty_case`` when it has no zero-size case). A case
names the op it exercises, a builder ``fn(m, *inputs)`` written once against the public API and run with
``m = torchlite`` and ``m = torch``, its input specs (``F``: data in the case's dtype, ``Idx``/``Perm``:
int64 indices, ``Mask``: bool, ``V``: explicit values, ``DT``: the dtype object itself), the dtypes it runs
in (float64 and float32, or the natural dtypes of integer/bool ops), and optionally a numpy/scipy float64
reference ``ref(*arrays)``. For each case:

- ``test_case_exercises_its_op``: the op is a node of the captured torchlite graph (``fx.capture``), so a
  case cannot silently test something else;
- ``test_matches_torch``: the result equals torch's (CPU) in shape, dtype name and values (float64: rtol
  1e-12, float32: rtol 1e-5; integers and bool exactly), for each dtype and each input layout: contiguous;
  noncontig (a view of a larger tensor: every other element of a 1-d input, the transpose of a 2-d one,
  every other entry of dim 1 for 3 dims or more); fresh (a clone, i.e. an intermediate that dies at the op,
  so the memory planner may hand its buffer to the op as ``out=``);
- ``test_matches_numpy_float64``: the float64 result equals the reference within rtol 1e-12 (no torch needed);
- ``test_empty_matches_torch``: the case's zero-size variant builds the op and matches torch;
- ``test_kernel_contract``: every kernel the case runs keeps the registry contract (CONVENTIONS.md) node by
  node: exact meta shape and dtype, inputs never mutated, no aliasing except by view ops, ``out=`` honoured.

Input values are the same for every layout and for torch and torchlite (one numpy array per input, seeded
by the case id). A parametrization that shows a torchlite bug is an ``xfail(strict=True)`` naming the bug
and its one-line repro (``Case.xfail`` maps an fnmatch pattern on ``"<test>:<param id>"`` to the reason).
"""
from __future__ import annotations

import math
import zlib
from dataclasses import dataclass, field
from fnmatch import fnmatch
from typing import Callable

import numpy as np
import pytest
from scipy import special

import torchlite as tl
from conftest import assert_close, to_numpy

pytestmark = [pytest.mark.filterwarnings("ignore:.*degrees of freedom is <= 0:UserWarning"),
              pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")]

FL = ("float64", "float32")
FLI = FL + ("int64",)
INTS = ("int64", "int32", "int16", "int8", "uint8")
LAYOUTS = ("contiguous", "noncontig", "fresh")
# (rtol, atol) by result dtype; integers and bool compare exactly
TOL = {"float64": (1e-12, 1e-14), "float32": (1e-5, 1e-6)}


# --- input specs --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class X:
    """A tensor of ``shape`` in the case's dtype (``dtype=None``) or a fixed one.

    floats: uniform in [lo, hi) (multiples of ``step`` when given, for ties and exact zeros; ``signed``: the
    magnitude is in [lo, hi) with a random sign; ``special``: NaN, +-inf, -0.0 and 0.0 at some places);
    integers: in [lo, hi) (uint8 clipped at 0; ``signed``: magnitude in [max(lo, 1), hi), random sign);
    bool: random. ``values`` gives the values explicitly instead.
    """
    shape: tuple = ()
    lo: float = -2.0
    hi: float = 2.0
    dtype: str | None = None
    step: float | None = None
    signed: bool = False
    special: bool = False
    values: tuple | None = None


def F(*shape, **kw) -> X:
    return X(tuple(shape), **kw)


def Idx(*shape, hi: int, lo: int = 0) -> X:
    """An int64 index tensor with values in [lo, hi)."""
    return X(tuple(shape), lo=lo, hi=hi, dtype="int64")


def Mask(*shape) -> X:
    return X(tuple(shape), dtype="bool")


def V(values, dtype: str | None = None) -> X:
    """Explicit values (in the case's dtype unless ``dtype``)."""
    a = np.asarray(values)
    return X(a.shape, dtype=dtype, values=tuple(a.ravel().tolist()))


@dataclass(frozen=True)
class Perm:
    """An int64 index tensor of ``shape`` whose slices along ``dim`` hold distinct values in [0, n)."""
    shape: tuple
    n: int
    dim: int = 0


@dataclass(frozen=True)
class DT:
    """Not a tensor: the module's dtype object (``m.float32``), the case's dtype unless ``name`` is given."""
    name: str | None = None


def make(spec, dtype: str, rng: np.random.Generator):
    """The numpy value of one input (a dtype name for ``DT``)."""
    if isinstance(spec, DT):
        return spec.name or dtype
    if isinstance(spec, Perm):
        full = list(spec.shape)
        full[spec.dim] = spec.n
        p = np.argsort(rng.random(full), axis=spec.dim)
        return np.ascontiguousarray(np.take(p, np.arange(spec.shape[spec.dim]), axis=spec.dim)).astype(np.int64)
    d = spec.dtype or dtype
    nd = np.dtype(d)
    if spec.values is not None:
        return np.array(spec.values, dtype=np.float64).reshape(spec.shape).astype(nd)
    shape = spec.shape
    if d == "bool":
        return rng.random(shape) < 0.5
    if nd.kind in "iu":
        lo, hi = math.floor(spec.lo), math.ceil(spec.hi)
        if spec.signed:
            a = rng.integers(max(lo, 1), hi, shape) * (rng.choice([-1, 1], shape) if nd.kind == "i" else 1)
        else:
            a = rng.integers(max(lo, 0) if nd.kind == "u" else lo, hi, shape)
        return np.asarray(a).astype(nd)
    a = rng.uniform(spec.lo, spec.hi, shape)
    if spec.step:
        a = np.round(a / spec.step) * spec.step
    if spec.signed:
        a = a * rng.choice([-1.0, 1.0], shape)
    a = np.asarray(a, dtype=np.float64)
    if spec.special and a.size >= 5:
        flat = a.reshape(-1)
        pos = rng.permutation(a.size)[:5]
        flat[pos] = [np.nan, np.inf, -np.inf, -0.0, 0.0]
    return a.astype(nd)


def _layout(a: np.ndarray, layout: str):
    """(base array, view builder): the view of a tensor made from the base has ``a``'s values.

    noncontig: 1-d -> every other element of a twice-as-long base; 2-d -> the transpose of the transposed
    values; 3-d and more -> every other entry of dim 1 of a base twice as long there. fresh: a clone, i.e. an
    intermediate of the graph that dies at the op, whose buffer the memory planner may hand to the op as out=.
    """
    if layout == "fresh":
        return a, lambda t: t.clone()
    if layout == "contiguous" or a.ndim == 0:
        return a, lambda t: t
    if a.ndim == 1:
        return np.repeat(a, 2), lambda t: t[::2]
    if a.ndim == 2:
        return np.ascontiguousarray(a.T), lambda t: t.transpose(0, 1)
    return np.repeat(a, 2, axis=1), lambda t: t[:, ::2]


# --- cases --------------------------------------------------------------------------------------------------

@dataclass
class Case:
    op: str
    fn: Callable
    inputs: tuple
    ref: Callable | None = None
    dtypes: tuple = FL
    empty: tuple | None = None        # zero-size input specs for fn (or for empty_fn)
    empty_fn: Callable | None = None
    tag: str = ""
    xfail: dict = field(default_factory=dict)   # fnmatch pattern on "<test>:<param id>" -> reason
    id: str = ""


CASES: list[Case] = []


def case(op, fn, *inputs, **kw) -> Case:
    c = Case(op, fn, tuple(inputs), **kw)
    CASES.append(c)
    return c


def _np_gelu(x):
    return 0.5 * x * (1 + special.erf(x / math.sqrt(2)))


def _np_gelu_tanh(x):
    return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))


def _np_softplus(x, beta=1.0, threshold=20.0):
    return np.where(x * beta > threshold, x, np.log1p(np.exp(x * beta)) / beta)


def _np_sign(x):
    """torch.sign: like np.sign, but sign(NaN) is 0 (torch's value; torchlite matches it)."""
    return np.where(np.isnan(x), 0, np.sign(x)).astype(x.dtype) if x.dtype.kind == "f" else np.sign(x)


def _np_trunc_div(a, b):
    return np.trunc(a / b)


def _np_scatter(x, dim, idx, src, combine):
    out = x.copy()
    for pos in np.ndindex(*idx.shape):
        tgt = list(pos)
        tgt[dim] = idx[pos]
        out[tuple(tgt)] = combine(out[tuple(tgt)], src[pos] if isinstance(src, np.ndarray) else src)
    return out


def _np_lerp(a, b, w):
    return np.where(np.abs(w) < 0.5, a + w * (b - a), b - (b - a) * (1 - w))


def _np_index_put_acc(x, idx, v):
    out = x.copy()
    np.add.at(out, idx, v)
    return out


def _np_setitem(x, key, v):
    out = x.copy()
    out[key] = v
    return out


def _realized(t):
    """``t`` computed now (a torchlite tensor becomes a leaf of later graphs, as after ``loss.item()``)."""
    return t.realize() if isinstance(t, tl.Tensor) else t


def _np_diag_scatter(x, v, offset):
    out = x.copy()
    n = len(v)
    r = np.arange(n)
    out[r, r + offset] = v
    return out


def _np_mean_scatter(x, idx, src):
    # scatter_reduce(1, idx, src, "mean", include_self=True)
    acc, cnt = x.copy(), np.ones_like(x)
    for i, j in np.ndindex(*idx.shape):
        acc[i, idx[i, j]] += src[i, j]
        cnt[i, idx[i, j]] += 1
    return acc / cnt


# pointwise: binary arithmetic ------------------------------------------------------------------------------

case("add", lambda m, x, y: x + y, F(3, 4), F(4), ref=np.add, dtypes=FLI + ("int32", "bool"),
     empty=(F(0, 4), F(4)))
case("add", lambda m, x, y: m.add(x, y, alpha=2), F(2, 3, 4), F(3, 1), ref=lambda x, y: x + 2 * y, tag="alpha")
case("add", lambda m, x: x + 1.5, F(3, 4), ref=lambda x: x + 1.5, dtypes=FLI + ("bool",), tag="scalar")
case("add", lambda m, x, y: x + y, F(), F(3), ref=np.add, dtypes=FLI, tag="0d")
case("sub", lambda m, x, y: x - y, F(3, 4), F(3, 1), ref=np.subtract, dtypes=FLI + ("uint8",),
     empty=(F(3, 0), F(3, 1)))
case("sub", lambda m, x: 2 - x, F(5), ref=lambda x: 2 - x, dtypes=FLI, tag="rsub")
case("sub", lambda m, x, y: m.sub(x, y, alpha=0.5), F(3, 4), F(3, 4), ref=lambda x, y: x - 0.5 * y, tag="alpha")
case("mul", lambda m, x, y: x * y, F(3, 4), F(4), ref=np.multiply, dtypes=FLI + ("int8", "bool"),
     empty=(F(0,), F(0,)))
case("mul", lambda m, x: x * 3, F(2, 3, 4), ref=lambda x: x * 3, dtypes=FLI, tag="scalar")
case("div", lambda m, x, y: x / y, F(3, 4), F(4, lo=0.5, hi=3, signed=True), ref=np.true_divide,
     dtypes=FLI, empty=(F(0, 4), F(4, lo=0.5, hi=3, signed=True)))
case("div", lambda m, x: x / 3, F(3, 4), ref=lambda x: x / 3, dtypes=FLI, tag="scalar")
case("maximum", lambda m, x, y: m.maximum(x, y), F(3, 4), F(3, 4), ref=np.maximum, dtypes=FLI,
     empty=(F(0, 4), F(4)))
case("maximum", lambda m, x, y: m.maximum(x, y), F(3, 4, special=True), F(4), ref=np.maximum, tag="nan")
case("minimum", lambda m, x, y: m.minimum(x, y), F(3, 4), F(3, 1), ref=np.minimum, dtypes=FLI,
     empty=(F(0, 4), F(4)))
case("minimum", lambda m, x, y: m.minimum(x, y), F(3, 4, special=True), F(4), ref=np.minimum, tag="nan")
case("fmod", lambda m, x, y: m.fmod(x, y), F(3, 4, lo=-5, hi=5), F(4, lo=0.5, hi=3, signed=True), ref=np.fmod,
     dtypes=FLI + ("int32",), empty=(F(0, 4), F(4, lo=1, hi=3)))
case("remainder", lambda m, x, y: x % y, F(3, 4, lo=-5, hi=5), F(4, lo=0.5, hi=3, signed=True), ref=np.remainder,
     dtypes=FLI + ("int32",), empty=(F(0, 4), F(4, lo=1, hi=3)))
case("remainder", lambda m, x: m.remainder(x, -1.5), F(3, 4, lo=-5, hi=5), ref=lambda x: np.remainder(x, -1.5),
     dtypes=FL, tag="scalar")
case("floor_divide", lambda m, x, y: x // y, F(3, 4, lo=-5, hi=5), F(4, lo=0.5, hi=3, signed=True),
     ref=np.floor_divide, dtypes=FLI + ("int32",), empty=(F(0, 4), F(4, lo=1, hi=3)))
case("floor_divide", lambda m, x, y: m.div(x, y, rounding_mode="floor"), F(3, 4, lo=-5, hi=5),
     F(3, 4, lo=0.5, hi=3, signed=True), ref=np.floor_divide, dtypes=FLI, tag="div")
case("div_trunc", lambda m, x, y: m.div(x, y, rounding_mode="trunc"), F(3, 4, lo=-5, hi=5),
     F(4, lo=0.5, hi=3, signed=True), ref=_np_trunc_div, dtypes=FLI + ("int32",),
     empty=(F(0, 4), F(4, lo=1, hi=3)))
case("atan2", lambda m, x, y: m.atan2(x, y), F(3, 4), F(4, special=False), ref=np.arctan2, dtypes=FLI,
     empty=(F(0, 4), F(4)))
case("pow", lambda m, x, y: x ** y, F(3, 4, lo=0.1, hi=3), F(4), ref=np.power,
     empty=(F(0, 4, lo=0.1, hi=3), F(4)))
case("pow", lambda m, x, y: m.pow(x, y), F(3, 4, lo=-4, hi=4), F(3, 4, lo=0, hi=4), ref=np.power,
     dtypes=("int64", "int32"), tag="int")
case("pow", lambda m, x: x ** 2, F(3, 4), ref=lambda x: x ** 2, dtypes=FLI, tag="square")
case("pow", lambda m, x: m.pow(2.0, x), F(3, 4), ref=lambda x: 2.0 ** x, tag="scalar_base")
case("lerp", lambda m, x, y: m.lerp(x, y, 0.3), F(3, 4), F(4), ref=lambda x, y: _np_lerp(x, y, 0.3),
     empty=(F(0, 4), F(4)))
case("lerp", lambda m, x, y, w: m.lerp(x, y, w), F(3, 4), F(3, 4), F(3, 4, lo=-0.5, hi=1.5), ref=_np_lerp,
     tag="tensor_weight")

# pointwise: comparisons and logic ---------------------------------------------------------------------------

for _name, _np in (("eq", np.equal), ("ne", np.not_equal), ("lt", np.less), ("le", np.less_equal),
                   ("gt", np.greater), ("ge", np.greater_equal)):
    case(_name, (lambda n: lambda m, x, y: getattr(m, n)(x, y))(_name), F(3, 4, step=0.5), F(4, step=0.5),
         ref=_np, dtypes=FLI + ("bool",), empty=(F(0, 4), F(4)))
    case(_name, (lambda n: lambda m, x: getattr(x, n)(0.5))(_name), F(2, 3, 4, step=0.5),
         ref=(lambda f: lambda x: f(x, 0.5))(_np), dtypes=FLI, tag="scalar")
case("eq", lambda m, x, y: x == y, F(3, 4, special=True), F(3, 4, special=True), ref=np.equal, tag="nan")
case("lt", lambda m, x, y: x < y, F(3, 4), F(3, 4, dtype="int64", lo=-2, hi=3), ref=np.less, tag="mixed")
for _name, _np in (("logical_and", np.logical_and), ("logical_or", np.logical_or),
                   ("logical_xor", np.logical_xor)):
    case(_name, (lambda n: lambda m, x, y: getattr(m, n)(x, y))(_name), F(3, 4, step=1.0), F(4, step=1.0),
         ref=_np, dtypes=("bool",) + FLI, empty=(F(0, 4), F(4)))
case("logical_not", lambda m, x: m.logical_not(x), F(3, 4, step=1.0), ref=np.logical_not,
     dtypes=("bool",) + FLI, empty=(F(0, 4),))
case("logical_not", lambda m, x: ~x, F(3, 4), ref=np.logical_not, dtypes=("bool",), tag="invert")
for _name, _op, _np in (("bitwise_and", lambda x, y: x & y, np.bitwise_and),
                        ("bitwise_or", lambda x, y: x | y, np.bitwise_or),
                        ("bitwise_xor", lambda x, y: x ^ y, np.bitwise_xor)):
    case(_name, (lambda o: lambda m, x, y: o(x, y))(_op), F(3, 4, lo=-100, hi=100), F(4, lo=-100, hi=100),
         ref=_np, dtypes=INTS + ("bool",), empty=(F(0, 4), F(4)))
case("bitwise_and", lambda m, x: m.bitwise_and(x, 6), F(3, 4, lo=-100, hi=100), ref=lambda x: x & 6,
     dtypes=INTS, tag="scalar")
case("bitwise_not", lambda m, x: ~x, F(3, 4, lo=-100, hi=100), ref=np.invert, dtypes=INTS + ("bool",),
     empty=(F(0, 4),))
case("bitwise_left_shift", lambda m, x, y: x << y, F(3, 4, lo=-100, hi=100), F(4, lo=0, hi=5),
     ref=np.left_shift, dtypes=INTS, empty=(F(0, 4), F(4, lo=0, hi=5)))
case("bitwise_right_shift", lambda m, x, y: x >> y, F(3, 4, lo=-100, hi=100), F(4, lo=0, hi=5),
     ref=np.right_shift, dtypes=INTS, empty=(F(0, 4), F(4, lo=0, hi=5)))
case("bitwise_right_shift", lambda m, x: m.bitwise_right_shift(x, 2), F(3, 4, lo=-100, hi=100),
     ref=lambda x: x >> 2, dtypes=INTS, tag="scalar")

# pointwise: unary --------------------------------------------------------------------------------------------

_UNARY = [
    # (op, public call, numpy ref, lo, hi, dtypes)
    ("exp", lambda m, x: x.exp(), np.exp, -3, 3, FLI),
    ("exp2", lambda m, x: m.exp2(x), np.exp2, -3, 3, FLI),
    ("expm1", lambda m, x: m.expm1(x), np.expm1, -2, 2, FL),
    ("log", lambda m, x: m.log(x), np.log, 0.05, 5, FLI[:2] + ("int64",)),
    ("log2", lambda m, x: x.log2(), np.log2, 0.05, 5, FL),
    ("log10", lambda m, x: m.log10(x), np.log10, 0.05, 5, FL),
    ("log1p", lambda m, x: m.log1p(x), np.log1p, -0.9, 3, FL),
    ("sqrt", lambda m, x: m.sqrt(x), np.sqrt, 0, 5, FLI),
    ("rsqrt", lambda m, x: m.rsqrt(x), lambda x: 1 / np.sqrt(x), 0.1, 5, FL),
    ("sin", lambda m, x: m.sin(x), np.sin, -3, 3, FLI),
    ("cos", lambda m, x: x.cos(), np.cos, -3, 3, FL),
    ("tan", lambda m, x: m.tan(x), np.tan, -1.2, 1.2, FL),
    ("tanh", lambda m, x: m.tanh(x), np.tanh, -3, 3, FL),
    ("asin", lambda m, x: m.asin(x), np.arcsin, -0.99, 0.99, FL),
    ("acos", lambda m, x: m.acos(x), np.arccos, -0.99, 0.99, FL),
    ("atan", lambda m, x: m.atan(x), np.arctan, -3, 3, FL),
    ("sinh", lambda m, x: m.sinh(x), np.sinh, -3, 3, FL),
    ("cosh", lambda m, x: m.cosh(x), np.cosh, -3, 3, FL),
    ("sigmoid", lambda m, x: m.sigmoid(x), special.expit, -5, 5, FLI),
    ("erf", lambda m, x: m.erf(x), special.erf, -2.5, 2.5, FL),
    ("erfc", lambda m, x: m.erfc(x), special.erfc, -2.5, 2.5, FL),
    ("reciprocal", lambda m, x: m.reciprocal(x), lambda x: 1 / x, 0.2, 3, FL),
    ("silu", lambda m, x: m.nn.functional.silu(x), lambda x: x * special.expit(x), -4, 4, FL),
    ("relu", lambda m, x: m.relu(x), lambda x: np.maximum(x, 0), -2, 2, FLI + ("int8",)),
    ("neg", lambda m, x: -x, np.negative, -2, 2, FLI + ("int8",)),
    ("abs", lambda m, x: m.abs(x), np.abs, -2, 2, FLI + ("int16",)),
    ("sign", lambda m, x: m.sign(x), _np_sign, -2, 2, FLI),
    ("floor", lambda m, x: x.floor(), np.floor, -3, 3, FLI),
    ("ceil", lambda m, x: m.ceil(x), np.ceil, -3, 3, FLI),
    ("trunc", lambda m, x: m.trunc(x), np.trunc, -3, 3, FLI),
    ("round", lambda m, x: m.round(x), np.round, -3, 3, FLI),
]
for _name, _fn, _ref, _lo, _hi, _dts in _UNARY:
    case(_name, _fn, F(3, 4, lo=_lo, hi=_hi), ref=_ref, dtypes=_dts, empty=(F(0, 3, lo=_lo, hi=_hi),))
case("exp", lambda m, x: m.exp(x), F(2, 3, 4), ref=np.exp, tag="3d")
case("exp", lambda m, x: m.exp(x), F(), ref=np.exp, tag="0d")
case("sign", lambda m, x: m.sign(x), F(3, 4, special=True), ref=_np_sign, tag="special")
case("sign", lambda m, x: m.sign(x), F(3, 4, lo=-2, hi=3), ref=np.sign, dtypes=("int64",), tag="int")
case("sign", lambda m, x: m.sign(x), F(3, 4), ref=lambda x: x.copy(), dtypes=("bool",), tag="bool")
case("round", lambda m, x: m.round(x), V([[0.5, 1.5, 2.5, -0.5], [-1.5, -2.5, 3.5, 0.49999999999999994]]),
     ref=np.round, tag="halves")
case("round", lambda m, x: m.round(x, decimals=2), F(3, 4, lo=-3, hi=3), ref=lambda x: np.round(x, 2),
     tag="decimals")
case("softplus", lambda m, x: m.nn.functional.softplus(x), F(3, 4, lo=-5, hi=25), ref=_np_softplus,
     empty=(F(0, 3),))
case("softplus", lambda m, x: m.nn.functional.softplus(x, beta=2.0, threshold=3.0), F(3, 4, lo=-3, hi=3),
     ref=lambda x: _np_softplus(x, 2.0, 3.0), tag="beta")
case("gelu", lambda m, x: m.nn.functional.gelu(x), F(3, 4, lo=-4, hi=4),
     ref=lambda x: 0.5 * x * (1 + special.erf(x / math.sqrt(2))), empty=(F(0, 3),))
case("gelu", lambda m, x: m.nn.functional.gelu(x, approximate="tanh"), F(3, 4, lo=-3, hi=3), ref=_np_gelu_tanh,
     tag="tanh")
for _name, _np in (("isnan", np.isnan), ("isinf", np.isinf), ("isfinite", np.isfinite), ("signbit", np.signbit)):
    case(_name, (lambda n: lambda m, x: getattr(m, n)(x))(_name), F(3, 4, special=True), ref=_np,
         dtypes=FLI, empty=(F(0, 3),))
case("nan_to_num", lambda m, x: m.nan_to_num(x), F(3, 4, special=True), ref=np.nan_to_num, empty=(F(0, 3),))
case("nan_to_num", lambda m, x: x.nan_to_num(nan=1.0, posinf=2.0, neginf=-3.0), F(3, 4, special=True),
     ref=lambda x: np.nan_to_num(x, nan=1.0, posinf=2.0, neginf=-3.0), tag="values")
case("nan_to_num", lambda m, x: m.nan_to_num(x), F(3, 4, lo=-100, hi=100), ref=lambda x: x,
     dtypes=("int64", "int32"), tag="int")
case("cast", lambda m, x: x.to(m.int32), F(3, 4, lo=-5, hi=5), ref=lambda x: x.astype(np.int32),
     dtypes=FL + ("int64",), empty=(F(0, 3),))
case("cast", lambda m, x: x.bool(), F(3, 4, step=1.0), ref=lambda x: x.astype(bool), dtypes=FLI, tag="bool")
case("cast", lambda m, x: x.double(), F(3, 4, lo=-5, hi=5), ref=lambda x: x.astype(np.float64),
     dtypes=("float32", "int64", "bool", "uint8"), tag="double")
case("cast", lambda m, x: x.float(), F(3, 4), ref=lambda x: x.astype(np.float32), dtypes=("float64", "int64"),
     tag="float")
case("where", lambda m, c, x, y: m.where(c, x, y), Mask(3, 4), F(3, 4), F(4), ref=np.where, dtypes=FLI,
     empty=(Mask(0, 4), F(0, 4), F(4)))
case("where", lambda m, x: m.where(x > 0, x, 0.0), F(2, 3, 4), ref=lambda x: np.where(x > 0, x, 0.0),
     dtypes=FLI, tag="scalar")
case("where", lambda m, c, x: x.masked_fill(c, -1.5), Mask(4), F(3, 4), ref=lambda c, x: np.where(c, -1.5, x),
     tag="masked_fill")
case("clamp", lambda m, x: m.clamp(x, -0.5, 0.5), F(3, 4), ref=lambda x: np.clip(x, -0.5, 0.5), dtypes=FL,
     empty=(F(0, 3),))
case("clamp", lambda m, x: x.clamp(min=0.25), F(3, 4), ref=lambda x: np.maximum(x, 0.25), tag="min")
case("clamp", lambda m, x, lo, hi: m.clamp(x, lo, hi), F(3, 4, lo=-3, hi=3), F(4, lo=-2, hi=-0.5),
     F(3, 4, lo=0.5, hi=2), ref=lambda x, lo, hi: np.minimum(np.maximum(x, lo), hi), tag="tensor")
case("clamp", lambda m, x: m.clamp(x, -1, 1), F(3, 4, lo=-3, hi=3), ref=lambda x: np.clip(x, -1, 1),
     dtypes=("int64", "int8"), tag="int")
case("clamp", lambda m, x: m.clamp(x, max=0.5), F(3, 4, special=True), ref=lambda x: np.minimum(x, 0.5),
     tag="nan")

# reductions ---------------------------------------------------------------------------------------------------

case("sum", lambda m, x: x.sum(dim=1), F(3, 4), ref=lambda x: x.sum(1), dtypes=FLI + ("int32", "bool"),
     empty=(F(0, 4),))
case("sum", lambda m, x: x.sum(), F(2, 3, 4), ref=np.sum, dtypes=FLI + ("uint8",), tag="all")
case("sum", lambda m, x: m.sum(x, dim=(0, -1), keepdim=True), F(2, 3, 4), ref=lambda x: x.sum((0, 2), keepdims=True),
     tag="keepdim")
case("sum", lambda m, x: x.sum(dim=0, dtype=m.float64), F(3, 4), ref=lambda x: x.astype(np.float64).sum(0),
     dtypes=("float32", "int64"),
     tag="dtype")
case("sum", lambda m, x: x.sum(dim=1), F(3, 0), ref=lambda x: x.sum(1), tag="empty_dim")
case("mean", lambda m, x: x.mean(dim=-1), F(3, 4), ref=lambda x: x.mean(-1), empty=(F(0, 4),))
case("mean", lambda m, x: m.mean(x), F(2, 3, 4), ref=np.mean, tag="all")
case("mean", lambda m, x: x.mean(dim=(0, 2), keepdim=True), F(2, 3, 4), ref=lambda x: x.mean((0, 2), keepdims=True),
     tag="keepdim")
case("prod", lambda m, x: x.prod(dim=0), F(3, 4, lo=0.5, hi=1.5, signed=True), ref=lambda x: x.prod(0),
     dtypes=FLI + ("bool",), empty=(F(0, 4),))
case("prod", lambda m, x: m.prod(x), F(2, 3, 4, lo=0.5, hi=1.5, signed=True), ref=np.prod, tag="all")
case("amax", lambda m, x: m.amax(x, dim=(0, 1)), F(2, 3, 4), ref=lambda x: x.max((0, 1)), dtypes=FLI,
     empty=(F(2, 3, 0),))
case("amax", lambda m, x: x.max(dim=1, keepdim=True).values, F(3, 4), ref=lambda x: x.max(1, keepdims=True),
     dtypes=FLI, tag="max")
case("amax", lambda m, x: x.max(), F(3, 4, special=True), ref=lambda x: np.max(x), tag="nan")
case("amin", lambda m, x: x.amin(-1), F(3, 4), ref=lambda x: x.min(-1), dtypes=FLI, empty=(F(0, 4),))
case("amin", lambda m, x: m.min(x, 0).values, F(3, 4), ref=lambda x: x.min(0), dtypes=FLI, tag="min")
case("argmax", lambda m, x: x.argmax(dim=1), F(3, 4), ref=lambda x: x.argmax(1), dtypes=FLI, empty=(F(0, 4),))
case("argmax", lambda m, x: m.argmax(x), F(2, 3, 4), ref=np.argmax, tag="flat")
case("argmax", lambda m, x: x.max(dim=0).indices, F(3, 4, lo=-2, hi=3), ref=lambda x: x.argmax(0),
     dtypes=("int64",), tag="ties")
case("argmin", lambda m, x: m.argmin(x, dim=0, keepdim=True), F(3, 4), ref=lambda x: x.argmin(0, keepdims=True),
     dtypes=FLI, empty=(F(3, 0),))
case("argmin", lambda m, x: x.min(dim=1).indices, F(3, 4, lo=-2, hi=3), ref=lambda x: x.argmin(1),
     dtypes=("int64",), tag="ties")
case("var", lambda m, x: x.var(dim=1), F(3, 4), ref=lambda x: x.var(1, ddof=1), empty=(F(0, 4),))
case("var", lambda m, x: m.var(x, correction=0), F(2, 3, 4), ref=np.var, tag="all")
case("var", lambda m, x: x.var(dim=(0, 2), keepdim=True, unbiased=False), F(2, 3, 4),
     ref=lambda x: x.var((0, 2), keepdims=True), tag="keepdim")
case("std", lambda m, x: x.std(dim=0), F(3, 4), ref=lambda x: x.std(0, ddof=1), empty=(F(0, 4),))
case("std", lambda m, x: m.std(x, correction=2), F(2, 3, 4), ref=lambda x: x.std(ddof=2), tag="all")
case("logsumexp", lambda m, x: m.logsumexp(x, dim=1), F(3, 4, lo=-5, hi=5), ref=lambda x: special.logsumexp(x, 1),
     dtypes=FLI, empty=(F(0, 4),))
case("logsumexp", lambda m, x: x.logsumexp(dim=(0, 2), keepdim=True), F(2, 3, 4, lo=500, hi=700),
     ref=lambda x: special.logsumexp(x, (0, 2), keepdims=True), tag="large")
case("all", lambda m, x: x.all(dim=1), F(3, 4, step=1.0, lo=-0.6, hi=3), ref=lambda x: x.all(1),
     dtypes=("bool",) + FLI + ("uint8",), empty=(F(0, 4),))
case("all", lambda m, x: m.all(x), F(2, 3), ref=np.all, dtypes=("bool", "float64"), tag="all")
case("any", lambda m, x: m.any(x, dim=0, keepdim=True), F(3, 4, step=1.0, lo=-0.6, hi=1.2),
     ref=lambda x: x.any(0, keepdims=True), dtypes=("bool",) + FLI + ("uint8",), empty=(F(0, 4),))
case("any", lambda m, x: x.any(), F(2, 3), ref=np.any, dtypes=("bool", "float64"), tag="all")
case("norm", lambda m, x: m.norm(x), F(3, 4), ref=lambda x: np.sqrt((x * x).sum()), empty=(F(0, 4),))
case("norm", lambda m, x: x.norm(p=1, dim=1), F(3, 4), ref=lambda x: np.abs(x).sum(1), tag="p1")
case("norm", lambda m, x: m.norm(x, p=float("inf"), dim=0, keepdim=True), F(3, 4),
     ref=lambda x: np.abs(x).max(0, keepdims=True), tag="inf")
case("norm", lambda m, x: x.norm(p=3, dim=(0, 2)), F(2, 3, 4), ref=lambda x: (np.abs(x) ** 3).sum((0, 2)) ** (1 / 3),
     tag="p3")
case("norm", lambda m, x: x.norm(p=0), F(3, 4, step=1.0), ref=lambda x: np.count_nonzero(x) * 1.0, tag="p0")
case("cumsum", lambda m, x: x.cumsum(dim=1), F(3, 4), ref=lambda x: x.cumsum(1), dtypes=FLI + ("int8", "bool"),
     empty=(F(0, 4),))
case("cumsum", lambda m, x: m.cumsum(x, 0, dtype=m.float64), F(3, 4), ref=lambda x: x.astype(np.float64).cumsum(0),
     dtypes=("float32", "int32"), tag="dtype")
case("cumprod", lambda m, x: m.cumprod(x, 0), F(3, 4, lo=0.5, hi=1.5, signed=True), ref=lambda x: x.cumprod(0),
     dtypes=FLI + ("bool",), empty=(F(0, 4),))
case("cumprod", lambda m, x: x.cumprod(dim=-1), F(2, 3, 4, lo=0.5, hi=1.5), ref=lambda x: x.cumprod(-1), tag="3d")
case("softmax", lambda m, x: x.softmax(dim=1), F(3, 4, lo=-5, hi=5), ref=lambda x: special.softmax(x, 1),
     empty=(F(0, 4),))
case("softmax", lambda m, x: m.nn.functional.softmax(x, dim=0), F(2, 3, 4, lo=-50, hi=50),
     ref=lambda x: special.softmax(x, 0), tag="functional")
case("log_softmax", lambda m, x: m.nn.functional.log_softmax(x, dim=-1), F(3, 4, lo=-5, hi=5),
     ref=lambda x: special.log_softmax(x, -1), empty=(F(0, 4),))
case("log_softmax", lambda m, x: x.log_softmax(0), F(2, 3, 4, lo=-50, hi=50),
     ref=lambda x: special.log_softmax(x, 0), tag="3d")

# movement and views -------------------------------------------------------------------------------------------

case("reshape", lambda m, x: x.reshape(4, 3), F(3, 4), ref=lambda x: x.reshape(4, 3), dtypes=FLI + ("bool",),
     empty=(F(0, 4),), empty_fn=lambda m, x: x.reshape(4, 0))
case("reshape", lambda m, x: x.flatten(), F(2, 3, 4), ref=lambda x: x.reshape(-1), tag="flatten")
case("reshape", lambda m, x: x.unsqueeze(1), F(3, 4), ref=lambda x: x[:, None], tag="unsqueeze")
case("permute", lambda m, x: x.permute(2, 0, 1), F(2, 3, 4), ref=lambda x: x.transpose(2, 0, 1),
     dtypes=FLI + ("bool",), empty=(F(2, 0, 4),))
case("permute", lambda m, x: x.t(), F(3, 4), ref=lambda x: x.T, tag="t")
case("permute", lambda m, x: x.transpose(-1, 0) * 2, F(2, 3, 4), ref=lambda x: x.transpose(2, 1, 0) * 2,
     tag="transpose")
case("expand", lambda m, x: x.expand(3, 4), F(4), ref=lambda x: np.broadcast_to(x, (3, 4)), dtypes=FLI,
     empty=(F(1, 4),), empty_fn=lambda m, x: x.expand(0, 4))
case("expand", lambda m, x: x.expand(2, -1, 4), F(3, 1), ref=lambda x: np.broadcast_to(x, (2, 3, 4)), tag="3d")
case("getitem", lambda m, x: x[1], F(3, 4), ref=lambda x: x[1], dtypes=FLI + ("bool",),
     empty=(F(3, 4),), empty_fn=lambda m, x: x[3:])
case("getitem", lambda m, x: x[:, 1:3], F(3, 4), ref=lambda x: x[:, 1:3], tag="slice")
case("getitem", lambda m, x: x[..., ::2, None], F(2, 3, 4), ref=lambda x: x[..., ::2, None], tag="step")
case("getitem", lambda m, x: x[-1, 1:, 2], F(2, 3, 4), ref=lambda x: x[-1, 1:, 2], tag="mixed")
case("slice_scatter", lambda m, x, v: _setitem(x, (slice(1, 3),), v), F(3, 4), F(2, 4),
     ref=lambda x, v: _np_setitem(x, (slice(1, 3),), v), dtypes=FLI + ("bool",),
     empty=(F(3, 4), F(0, 4)), empty_fn=lambda m, x, v: _setitem(x, (slice(3, None),), v))
case("slice_scatter", lambda m, x: _setitem(x, (slice(None), 0), 1.5), F(3, 4),
     ref=lambda x: _np_setitem(x, (slice(None), 0), 1.5), tag="scalar")
case("slice_scatter", lambda m, x, v: _setitem(x, (Ellipsis, slice(None, None, 2)), v), F(2, 3, 4), F(3, 1),
     ref=lambda x, v: _np_setitem(x, (Ellipsis, slice(None, None, 2)), v), tag="broadcast")
case("slice_scatter", lambda m, x: _inplace_view(x, lambda y: y[1].mul_(2)), F(3, 4),
     ref=lambda x: _np_setitem(x, 1, 2 * x[1]), tag="view_inplace")
case("alias", lambda m, x: x.detach(), F(3, 4), ref=lambda x: x, dtypes=FLI + ("bool",), empty=(F(0, 4),))
case("alias", lambda m, x: x.reshape(x.shape), F(2, 3, 4), ref=lambda x: x, tag="reshape_same")
case("clone", lambda m, x: x.clone(), F(3, 4), ref=lambda x: x.copy(), dtypes=FLI + ("bool",), empty=(F(0, 4),))
case("contiguous", lambda m, x: x.contiguous(), F(3, 4), ref=lambda x: x.copy(), dtypes=FLI + ("bool",),
     empty=(F(0, 4),))
case("flip", lambda m, x: x.flip(0), F(3, 4), ref=lambda x: x[::-1], dtypes=FLI + ("bool",), empty=(F(0, 4),))
case("flip", lambda m, x: m.flip(x, dims=(0, -1)), F(2, 3, 4), ref=lambda x: x[::-1, :, ::-1], tag="dims")
case("roll", lambda m, x: x.roll(1, 0), F(3, 4), ref=lambda x: np.roll(x, 1, 0), dtypes=FLI + ("bool",),
     empty=(F(0, 4),))
case("roll", lambda m, x: m.roll(x, 5), F(3, 4), ref=lambda x: np.roll(x, 5), tag="flat")
case("roll", lambda m, x: x.roll((1, -2), (0, 2)), F(2, 3, 4), ref=lambda x: np.roll(x, (1, -2), (0, 2)),
     tag="dims")
case("repeat", lambda m, x: x.repeat(2, 3), F(3, 4), ref=lambda x: np.tile(x, (2, 3)), dtypes=FLI + ("bool",),
     empty=(F(0, 4),))
case("repeat", lambda m, x: x.repeat(2, 1, 3), F(3, 4), ref=lambda x: np.tile(x, (2, 1, 3)), tag="new_dims")
case("pad", lambda m, x: m.nn.functional.pad(x, (1, 2)), F(3, 4), ref=lambda x: np.pad(x, ((0, 0), (1, 2))),
     dtypes=FLI + ("bool",), empty=(F(0, 4),))
case("pad", lambda m, x: m.nn.functional.pad(x, (1, 1, 2, 0), value=3.5), F(2, 3, 4),
     ref=lambda x: np.pad(x, ((0, 0), (2, 0), (1, 1)), constant_values=3.5), tag="value")
case("pad", lambda m, x: m.nn.functional.pad(x, (-1, 2)), F(3, 4), ref=lambda x: np.pad(x[:, 1:], ((0, 0), (0, 2))),
     tag="crop")
case("pad", lambda m, x: m.nn.functional.pad(x, (2, 1), mode="reflect"), F(2, 3, 4),
     ref=lambda x: np.pad(x, ((0, 0), (0, 0), (2, 1)), mode="reflect"), tag="reflect")
case("pad", lambda m, x: m.nn.functional.pad(x, (1, 2, 2, 1), mode="replicate"), F(2, 3, 4),
     ref=lambda x: np.pad(x, ((0, 0), (2, 1), (1, 2)), mode="edge"), tag="replicate")
case("pad", lambda m, x: m.nn.functional.pad(x, (2, 3), mode="circular"), F(2, 3, 4),
     ref=lambda x: np.pad(x, ((0, 0), (0, 0), (2, 3)), mode="wrap"), tag="circular")
case("pad", lambda m, x: m.nn.functional.pad(x, (1, 1), mode="reflect"), F(0, 3, 4),
     ref=lambda x: np.pad(x, ((0, 0), (0, 0), (1, 1)), mode="reflect"), tag="reflect_empty_batch")
case("cat", lambda m, x, y: m.cat([x, y], dim=1), F(3, 4), F(3, 2), ref=lambda x, y: np.concatenate([x, y], 1),
     dtypes=FLI + ("bool",), empty=(F(0, 4), F(0, 2)))
case("cat", lambda m, x, y: m.cat([x, y]), F(2, 4), F(3, 4, dtype="int32", lo=-5, hi=5),
     ref=lambda x, y: np.concatenate([x, y]), tag="promote")
case("cat", lambda m, x, y, z: m.cat((x, y, z), dim=-1), F(2, 3, 1), F(2, 3, 2), F(2, 3, 0),
     ref=lambda x, y, z: np.concatenate([x, y, z], -1), tag="three")
case("stack", lambda m, x, y: m.stack([x, y], dim=1), F(3, 4), F(3, 4), ref=lambda x, y: np.stack([x, y], 1),
     dtypes=FLI + ("bool",), empty=(F(0, 4), F(0, 4)))
case("stack", lambda m, x, y: m.stack((x, y), -1), F(3, 4), F(3, 4, dtype="float64"),
     ref=lambda x, y: np.stack([x, y], -1), dtypes=("float32", "int64"), tag="promote")
case("diagonal", lambda m, x: x.diagonal(), F(3, 4), ref=lambda x: x.diagonal().copy(), dtypes=FLI + ("bool",),
     empty=(F(0, 4),))
case("diagonal", lambda m, x: m.diagonal(x, offset=1, dim1=1, dim2=2), F(2, 3, 4),
     ref=lambda x: x.diagonal(1, 1, 2).copy(), tag="offset")
case("diagonal", lambda m, x: x.diagonal(-1, 0, -1), F(3, 2, 4), ref=lambda x: x.diagonal(-1, 0, 2).copy(),
     tag="negative")
case("diagonal_scatter", lambda m, x, v: m.diagonal_scatter(x, v, 1), F(3, 4), F(3),
     ref=lambda x, v: _np_diag_scatter(x, v, 1), dtypes=FLI + ("bool",), empty=(F(0, 4), F(0)))
case("diagonal_scatter", lambda m, x: _inplace_view(x, lambda y: y.diagonal().mul_(2)), F(3, 4),
     ref=lambda x: _np_diag_scatter(x, 2 * x.diagonal(), 0), tag="view_inplace")
case("diag_embed1d", lambda m, x: m.diag(x), F(4), ref=np.diag, dtypes=FLI + ("bool",), empty=(F(0),))
case("diag_embed1d", lambda m, x: x.diag(-2), F(3), ref=lambda x: np.diag(x, -2), tag="offset")
case("tril", lambda m, x: x.tril(), F(3, 4), ref=np.tril, dtypes=FLI + ("bool",), empty=(F(0, 4),))
case("tril", lambda m, x: m.tril(x, -1), F(2, 3, 4), ref=lambda x: np.tril(x, -1), tag="batched")
case("triu", lambda m, x: m.triu(x, 1), F(3, 4), ref=lambda x: np.triu(x, 1), dtypes=FLI + ("bool",),
     empty=(F(0, 4),))
case("triu", lambda m, x: x.triu(-1), F(2, 4, 3), ref=lambda x: np.triu(x, -1), tag="batched")

# indexing ------------------------------------------------------------------------------------------------------

case("index", lambda m, x, i: x[i], F(3, 4), Idx(5, lo=-3, hi=3), ref=lambda x, i: x[i], dtypes=FLI + ("bool",),
     empty=(F(3, 4), Idx(0, hi=3)))
case("index", lambda m, x, i: x[:, i], F(3, 4), Idx(2, 3, hi=4), ref=lambda x, i: x[:, i], tag="dim1")
case("index", lambda m, x, i, j: x[i, :, j], F(3, 4, 5), Idx(2, hi=3), Idx(3, 1, hi=5),
     ref=lambda x, i, j: x[i, :, j], tag="split")
case("index", lambda m, x, c: x[c], F(3, 4), Mask(3, 4), ref=lambda x, c: x[c], tag="mask")
case("index", lambda m, x, i: x.index_select(1, i), F(3, 4), Idx(5, hi=4), ref=lambda x, i: x[:, i],
     tag="index_select")
case("index_put", lambda m, x, i, v: _setitem(x, i, v), F(4, 3), Perm((3,), 4), F(3, 3),
     ref=lambda x, i, v: _np_setitem(x, i, v), dtypes=FLI + ("bool",),
     empty=(F(4, 3), Idx(0, hi=4), F(0, 3)))
case("index_put", lambda m, x, i, v: x.index_put((i,), v, accumulate=True), F(4, 3), Idx(6, hi=4), F(6, 3),
     ref=_np_index_put_acc, dtypes=FLI, tag="accumulate")
case("index_put", lambda m, x, i, j, v: _setitem(x, (i, j), v), F(4, 3), Idx(2, 2, lo=-4, hi=4),
     Idx(2, 1, hi=3), F(2), ref=lambda x, i, j, v: _np_setitem(x, (i, j), v[None]), tag="two")
case("index_put", lambda m, x, i, v: x.index_add(0, i, v), F(4, 3), Idx(5, hi=4), F(5, 3),
     ref=lambda x, i, v: _np_index_put_acc(x, i, v), tag="index_add")
case("gather", lambda m, x, i: x.gather(1, i), F(3, 4), Idx(3, 5, hi=4), ref=lambda x, i: np.take_along_axis(x, i, 1),
     dtypes=FLI + ("bool",), empty=(F(3, 4), Idx(3, 0, hi=4)))
case("gather", lambda m, x, i: m.gather(x, 0, i), F(3, 4), Idx(2, 3, hi=3),
     ref=lambda x, i: np.take_along_axis(x[:, :3], i, 0), tag="dim0")
case("gather", lambda m, x: x.sort(dim=1).values, F(3, 4), ref=lambda x: np.sort(x, 1), tag="sort")
case("gather", lambda m, x, i: m.take_along_dim(x, i, 1), F(3, 4), Idx(1, 2, hi=4),
     ref=lambda x, i: np.take_along_axis(x, np.broadcast_to(i, (3, 2)), 1), tag="take_along_dim")
case("scatter", lambda m, x, i, s: x.scatter(1, i, s), F(3, 5), Perm((3, 2), 5, dim=1), F(3, 4),
     ref=lambda x, i, s: _np_scatter(x, 1, i, s, lambda a, b: b), dtypes=FLI + ("bool",),
     empty=(F(3, 5), Idx(3, 0, hi=5), F(3, 4)))
case("scatter", lambda m, x, i: x.scatter(0, i, 2.5), F(4, 3), Perm((2, 3), 4, dim=0),
     ref=lambda x, i: _np_scatter(x, 0, i, 2.5, lambda a, b: b), tag="value")
case("scatter", lambda m, x, i, s: x.scatter_add(0, i, s), F(3, 4), Idx(5, 4, hi=3), F(5, 4),
     ref=lambda x, i, s: _np_scatter(x, 0, i, s, np.add), dtypes=FLI, tag="add")
case("scatter", lambda m, x, i, s: x.scatter_reduce(1, i, s, "amax", include_self=False), F(3, 4),
     Idx(3, 6, hi=4), F(3, 6), ref=lambda x, i, s: _np_scatter(_np_scatter(x, 1, i, -np.inf, lambda a, b: b), 1, i,
                                                                   s, np.maximum),
     dtypes=FL, tag="amax")
case("scatter", lambda m, x, i, s: x.scatter_reduce(1, i, s, "mean"), F(3, 4), Idx(3, 6, hi=4), F(3, 6),
     ref=lambda x, i, s: _np_mean_scatter(x, i, s), tag="mean")
case("scatter", lambda m, x, i, s: x.scatter_reduce(0, i, s, "prod"), F(3, 4, lo=0.5, hi=1.5), Idx(5, 4, hi=3),
     F(5, 4, lo=0.5, hi=1.5), ref=lambda x, i, s: _np_scatter(x, 0, i, s, np.multiply), dtypes=FLI, tag="prod")
case("one_hot", lambda m, i: m.nn.functional.one_hot(i, 5), Idx(3, 4, hi=5),
     ref=lambda i: (i[..., None] == np.arange(5)).astype(np.int64), dtypes=("int64",), empty=(Idx(0, 3, hi=5),))
case("one_hot", lambda m, i: m.nn.functional.one_hot(i), Idx(6, hi=4),
     ref=lambda i: (i[..., None] == np.arange(i.max() + 1)).astype(np.int64), dtypes=("int64",), tag="infer")
case("argsort", lambda m, x: x.argsort(dim=1), F(3, 5), ref=lambda x: np.argsort(x, 1), dtypes=FL,
     empty=(F(0, 5),))
case("argsort", lambda m, x: m.argsort(x, dim=0, descending=True), F(4, 3), ref=lambda x: np.argsort(-x, 0),
     tag="descending")
case("argsort", lambda m, x: x.sort(dim=-1, stable=True).indices, F(3, 6, lo=-2, hi=2),
     ref=lambda x: np.argsort(x, -1, kind="stable"), dtypes=("int64", "int32"), tag="stable")
case("argsort", lambda m, x: m.sort(x, dim=1, descending=True, stable=True).indices, F(3, 6, lo=-2, hi=2),
     ref=lambda x: 5 - np.flip(np.argsort(np.flip(x, 1), 1, kind="stable"), 1), dtypes=("int64",),
     tag="stable_descending")
case("topk_indices", lambda m, x: x.topk(2, dim=1).indices, F(3, 5, lo=-1000, hi=1000),
     ref=lambda x: np.argsort(-x, 1)[:, :2], dtypes=FLI, empty=(F(0, 5),))
case("topk_indices", lambda m, x: m.topk(x, 3, dim=0, largest=False).values, F(4, 3),
     ref=lambda x: np.sort(x, 0)[:3], tag="smallest")

# linalg ----------------------------------------------------------------------------------------------------------

case("matmul", lambda m, x, y: x @ y, F(3, 4), F(4, 5), ref=np.matmul, dtypes=FLI,
     empty=(F(0, 4), F(4, 5)))
case("matmul", lambda m, x, y: m.matmul(x, y), F(2, 3, 4), F(4, 5), ref=np.matmul, tag="batched")
case("matmul", lambda m, x, y: x @ y, F(4), F(4), ref=np.matmul, dtypes=FLI, tag="dot")
case("matmul", lambda m, x, y: m.bmm(x, y), F(2, 3, 4), F(2, 4, 2), ref=np.matmul, tag="bmm")
case("matmul", lambda m, x, y: m.mv(x, y), F(3, 4), F(4), ref=np.matmul, tag="mv")
case("matmul", lambda m, x, y: x @ y, F(3, 0), F(0, 2), ref=np.matmul, tag="empty_inner")
case("linear", lambda m, x, w, b: m.nn.functional.linear(x, w, b), F(3, 4), F(5, 4), F(5),
     ref=lambda x, w, b: x @ w.T + b, empty=(F(0, 4), F(5, 4), F(5)))
case("linear", lambda m, x, w: m.nn.functional.linear(x, w), F(2, 3, 4), F(5, 4), ref=lambda x, w: x @ w.T,
     tag="nobias")
case("einsum", lambda m, a, b: m.einsum("ij,jk->ik", a, b), F(3, 4), F(4, 5), ref=lambda a, b: a @ b,
     empty=(F(0, 4), F(4, 5)))
case("einsum", lambda m, a, b: m.einsum("bij,bkj->bik", a, b), F(2, 3, 4), F(2, 5, 4),
     ref=lambda a, b: np.einsum("bij,bkj->bik", a, b), tag="batched")
case("einsum", lambda m, a: m.einsum("ii->i", a), F(4, 4), ref=lambda a: np.diagonal(a).copy(), tag="diag")
case("einsum", lambda m, a, b: m.einsum("i,j->ij", a, b), F(3), F(4), ref=np.outer, tag="outer")

# creation --------------------------------------------------------------------------------------------------------

case("arange", lambda m, d: m.arange(0, 5, 0.5, dtype=d), DT(), ref=lambda d: np.arange(0, 5, 0.5, dtype=d),
     dtypes=FL, empty=(DT(),), empty_fn=lambda m, d: m.arange(3, 3, dtype=d))
case("arange", lambda m, d: m.arange(10, dtype=d), DT(), ref=lambda d: np.arange(10, dtype=d),
     dtypes=FLI + ("int32", "uint8"), tag="int")
case("arange", lambda m: m.arange(-3.0, 4.0, 0.7), ref=lambda: np.arange(-3.0, 4.0, 0.7).astype(np.float32),
     dtypes=("float32",), tag="default")
case("full", lambda m, d: m.full((2, 3), 1.5, dtype=d), DT(), ref=lambda d: np.full((2, 3), 1.5, d),
     dtypes=FL, empty=(DT(),), empty_fn=lambda m, d: m.full((0, 3), 2.0, dtype=d))
case("full", lambda m, d: m.zeros(2, 3, dtype=d), DT(), ref=lambda d: np.zeros((2, 3), d), dtypes=FLI + ("bool",),
     tag="zeros")
case("full", lambda m, d: m.ones((3,), dtype=d), DT(), ref=lambda d: np.ones(3, d), dtypes=FLI + ("bool",),
     tag="ones")
case("full", lambda m: m.full((2, 2), 7), ref=lambda: np.full((2, 2), 7), dtypes=("int64",), tag="infer_int")
case("full", lambda m, x: m.full_like(x, -2), F(3, 4), ref=lambda x: np.full_like(x, -2), dtypes=FLI, tag="like")
case("eye", lambda m, d: m.eye(3, dtype=d), DT(), ref=lambda d: np.eye(3, dtype=d), dtypes=FLI + ("bool",),
     empty=(DT(),), empty_fn=lambda m, d: m.eye(0, 3, dtype=d))
case("eye", lambda m, d: m.eye(2, 4, dtype=d), DT(), ref=lambda d: np.eye(2, 4, dtype=d), tag="rect")
case("linspace", lambda m, d: m.linspace(-1, 2, 7, dtype=d), DT(), ref=lambda d: np.linspace(-1, 2, 7, dtype=d),
     dtypes=FL, empty=(DT(),), empty_fn=lambda m, d: m.linspace(0, 1, 0, dtype=d))
case("linspace", lambda m, d: m.linspace(0.1, 0.7, 30, dtype=d), DT(), ref=lambda d: np.linspace(0.1, 0.7, 30),
     tag="many")
case("linspace", lambda m, d: m.linspace(0, 10, 4, dtype=d), DT(),
     ref=lambda d: np.trunc(np.linspace(0, 10, 4)).astype(d), dtypes=("int64",), tag="int")
case("logspace", lambda m, d: m.logspace(0, 2, 5, dtype=d), DT(), ref=lambda d: np.logspace(0, 2, 5, dtype=d),
     dtypes=FL, empty=(DT(),), empty_fn=lambda m, d: m.logspace(0, 1, 0, dtype=d))
case("logspace", lambda m, d: m.logspace(-1, 1.5, 6, base=2.0, dtype=d), DT(),
     ref=lambda d: np.logspace(-1, 1.5, 6, base=2.0), tag="base2")


# edge cases: special values, 0-d inputs, type promotion, unusual arguments --------------------------------------

case("add", lambda m, x, y: x + y, F(3, 4), F(dtype="float64"), ref=lambda x, y: x + y.astype(x.dtype),
     dtypes=("float32", "int32"), tag="0d_promote")
case("add", lambda m, x, y: x + y, F(3, 4, lo=-100, hi=100), F(dtype="int64", lo=-100, hi=100),
     ref=lambda x, y: x + y.astype(x.dtype), dtypes=("int8", "uint8"), tag="0d_int_promote")
case("maximum", lambda m, x, y: m.maximum(x, y), F(3, 4, lo=0, hi=100), F(dtype="int64", lo=0, hi=100),
     ref=lambda x, y: np.maximum(x, y.astype(x.dtype)), dtypes=("uint8",), tag="0d_int_promote")
case("mul", lambda m, x, y: x * y, F(3, 4), F(4, dtype="int64", lo=-3, hi=3), ref=np.multiply,
     dtypes=("float32", "int32", "bool"), tag="promote")
case("add", lambda m, x: x + 100, F(3, 4, lo=0, hi=100), ref=lambda x: x + 100, dtypes=("int8", "uint8"),
     tag="wrap")
case("clamp", lambda m, x: m.clamp(x, -0.5, 1.5), F(3, 4, lo=-3, hi=3), ref=lambda x: np.clip(x, -0.5, 1.5),
     dtypes=("int64",), tag="int_float_bounds")
case("where", lambda m, c, x: m.where(c, x, 1), Mask(3, 4), F(3, 4), ref=lambda c, x: np.where(c, x, 1),
     dtypes=FLI + ("bool",), tag="int_scalar")
case("cast", lambda m, x: x.bool(), F(3, 4, special=True), ref=lambda x: x.astype(bool), tag="bool_special")
case("sum", lambda m, x: x.sum(1), F(3, 4, special=True), ref=lambda x: x.sum(1), tag="special")
case("sum", lambda m, x: x.sum(0), F(), ref=lambda x: x.sum(), dtypes=FLI + ("bool",), tag="0d")
case("mean", lambda m, x: x.mean(0), F(3, 0), ref=lambda x: np.full(0, np.nan), tag="empty_dim")
case("prod", lambda m, x: x.prod(1), F(3, 0), ref=lambda x: np.ones(3), dtypes=FLI, tag="empty_dim")
case("amax", lambda m, x: m.amax(x, 0), F(), ref=lambda x: x.copy(), dtypes=FLI, tag="0d")
case("argmax", lambda m, x: x.argmax(1), F(3, 4, special=True), ref=lambda x: np.argmax(np.where(
     np.isnan(x), np.inf, x) + 0 * np.isnan(x), 1), tag="nan")
case("argmax", lambda m, x: x.argmax(0), F(), ref=lambda x: np.int64(0), dtypes=FLI, tag="0d")
case("argmin", lambda m, x: m.argmin(x), F(2, 3, 4, lo=-1, hi=2), ref=np.argmin, dtypes=("int64", "int32"),
     tag="flat_ties")
case("var", lambda m, x: x.var(0), F(1, 4), ref=lambda x: np.full(4, np.nan), tag="single")
case("std", lambda m, x: x.std(1, keepdim=True), F(3, 4, special=True), ref=lambda x: x.std(1, ddof=1,
     keepdims=True), tag="special")
case("logsumexp", lambda m, x: m.logsumexp(x, 1), V([[np.inf, 1.0, 2.0], [-np.inf, -np.inf, -np.inf],
                                                      [np.nan, 0.0, 1.0], [-np.inf, 0.5, -np.inf]]),
     ref=lambda x: np.array([np.inf, -np.inf, np.nan, 0.5]), tag="special")
case("logsumexp", lambda m, x: m.logsumexp(x, 0), F(), ref=lambda x: x.copy(), tag="0d")
case("softmax", lambda m, x: x.softmax(1), V([[-np.inf, 1.0, 2.0], [-np.inf, -np.inf, 0.0], [3.0, -np.inf, 3.0]]),
     ref=lambda x: special.softmax(x, 1), tag="neg_inf")
case("softmax", lambda m, x: x.softmax(0), F(), ref=lambda x: np.ones(()), tag="0d")
case("log_softmax", lambda m, x: x.log_softmax(1), V([[-np.inf, 1.0, 2.0], [3.0, -np.inf, 3.0]]),
     ref=lambda x: special.log_softmax(x, 1), tag="neg_inf")
case("cumsum", lambda m, x: x.cumsum(0), F(), ref=lambda x: x.copy(), dtypes=FLI, tag="0d")
case("cumprod", lambda m, x: x.cumprod(1), F(3, 4, special=True), ref=lambda x: x.cumprod(1), tag="special")
case("norm", lambda m, x: x.norm(p=float("-inf"), dim=1), F(3, 4), ref=lambda x: np.abs(x).min(1), tag="neg_inf")
case("norm", lambda m, x: m.norm(x, p=0.5, dim=0), F(3, 4), ref=lambda x: (np.abs(x) ** 0.5).sum(0) ** 2,
     tag="p_half")
case("norm", lambda m, x: m.norm(x, dim=1), F(3, 4, special=True), ref=lambda x: np.sqrt((x * x).sum(1)),
     tag="special")
case("all", lambda m, x: x.all(), F(3, 4, special=True), ref=np.all, tag="special")
case("argsort", lambda m, x: x.argsort(dim=1, stable=True), F(3, 5, special=True),
     ref=lambda x: np.argsort(x, 1, kind="stable"), tag="special")
case("topk_indices", lambda m, x: x.topk(2).indices, V([[np.nan, 1.0, 3.0, 2.0], [0.5, np.inf, -np.inf, 0.25]]),
     ref=lambda x: np.array([[0, 2], [1, 0]]), tag="nan")
case("topk_indices", lambda m, x: m.topk(x, 0, dim=1).values, F(3, 4), ref=lambda x: x[:, :0], tag="k0")
case("roll", lambda m, x: x.roll(-7, 1), F(3, 4), ref=lambda x: np.roll(x, -7, 1), tag="wrap")
case("repeat", lambda m, x: x.repeat(0, 2), F(3, 4), ref=lambda x: np.tile(x, (0, 2)), tag="zero")
case("flip", lambda m, x: x.flip(0), F(), ref=lambda x: x.copy(), tag="0d")
case("diagonal", lambda m, x: x.diagonal(5), F(3, 4), ref=lambda x: x.diagonal(5).copy(), tag="beyond")
case("tril", lambda m, x: x.tril(7), F(3, 4), ref=lambda x: np.tril(x, 7), tag="beyond")
case("triu", lambda m, x: x.triu(-7), F(3, 4), ref=lambda x: np.triu(x, -7), tag="beyond")
case("pad", lambda m, x: m.nn.functional.pad(x, (-1, -1, 1, 0)), F(3, 4),
     ref=lambda x: np.pad(x[:, 1:-1], ((1, 0), (0, 0))), tag="crop_both")
case("pad", lambda m, x: m.nn.functional.pad(x, (1, 2, 0, 1), mode="reflect"), F(1, 3, 4),
     ref=lambda x: np.pad(x, ((0, 0), (0, 1), (1, 2)), mode="reflect"), tag="reflect2d")
case("pad", lambda m, x: m.nn.functional.pad(x, (1, 1), value=7), F(3, 4, lo=-5, hi=5),
     ref=lambda x: np.pad(x, ((0, 0), (1, 1)), constant_values=7), dtypes=("int64", "int32", "uint8"),
     tag="int_value")
case("matmul", lambda m, x, y: x @ y, F(2, 1, 3, 4), F(5, 4, 2), ref=np.matmul, tag="broadcast")
case("matmul", lambda m, x, y: x @ y, F(4), F(2, 4, 3), ref=np.matmul, tag="vec_batched")
case("linear", lambda m, x, w, b: m.nn.functional.linear(x, w, b), F(4), F(5, 4), F(5),
     ref=lambda x, w, b: w @ x + b, tag="vector")
case("einsum", lambda m, a, b: m.einsum("...ij,...jk->...ik", a, b), F(2, 3, 4), F(4, 2),
     ref=lambda a, b: np.einsum("...ij,...jk->...ik", a, b), tag="ellipsis")
case("einsum", lambda m, a: m.einsum("ijk->", a), F(2, 3, 4), ref=np.sum, tag="sum")
case("index", lambda m, x, i: x[i, 1:], F(4, 3, 5), Idx(2, 2, lo=-4, hi=4),
     ref=lambda x, i: x[i, 1:], tag="with_slice")
case("index", lambda m, x, i: x[..., i], F(2, 3, 4), Idx(3, hi=4), ref=lambda x, i: x[..., i],
     dtypes=FLI + ("bool",), tag="last")
case("where", lambda m, x, c: _setitem(x, c, 2.5), F(3, 4), Mask(3, 4),
     ref=lambda x, c: _np_setitem(x, c, 2.5), tag="setitem_mask")
case("scatter", lambda m, x, i, s: x.scatter_reduce(1, i, s, "amin", include_self=True), F(3, 4),
     Idx(3, 6, hi=4), F(3, 6), ref=lambda x, i, s: _np_scatter(x, 1, i, s, np.minimum), dtypes=FLI, tag="amin")
case("scatter", lambda m, x, i, s: x.scatter_reduce(1, i, s, "amax", include_self=False), F(3, 4, lo=-50, hi=50),
     Idx(3, 2, hi=4), F(3, 2, lo=-50, hi=50), ref=None, dtypes=("int64", "int32"), tag="amax_int")
case("scatter", lambda m, x, i, s: x.scatter_reduce(0, i, s, "mean", include_self=False), F(3, 4, lo=-50, hi=50),
     Idx(5, 4, hi=3), F(5, 4, lo=-50, hi=50), dtypes=FLI, tag="mean_noself")
case("scatter", lambda m, x, i, s: x.scatter_reduce(0, i, s, "prod", include_self=False), F(3, 4), Idx(2, 4, hi=3),
     F(2, 4), dtypes=FL, tag="prod_noself")
case("one_hot", lambda m, i: m.nn.functional.one_hot(i, 3), Idx(hi=3), ref=lambda i: np.eye(3, dtype=np.int64)[i],
     dtypes=("int64",), tag="0d")
case("arange", lambda m, d: m.arange(1, -2, -0.3, dtype=d), DT(), ref=lambda d: np.arange(1, -2, -0.3, dtype=d),
     tag="negative_step")
case("arange", lambda m, d: m.arange(0, 1, 0.1, dtype=d), DT(), ref=lambda d: np.arange(0, 1, 0.1, dtype=d),
     tag="tenths")
case("linspace", lambda m, d: m.linspace(-7, 5, 5, dtype=d), DT(), ref=lambda d: np.array([-7, -4, -1, 2, 5]),
     dtypes=("int64", "int32"), tag="int_negative")
case("linspace", lambda m, d: m.linspace(2.5, 3, 1, dtype=d), DT(), ref=lambda d: np.array([2.5], d), tag="one")
case("logspace", lambda m, d: m.logspace(0, 3, 4, dtype=d), DT(), ref=lambda d: np.array([1, 10, 100, 1000]),
     dtypes=("int64",), tag="int")
case("eye", lambda m, d: m.eye(4, 2, dtype=d), DT(), ref=lambda d: np.eye(4, 2, dtype=d), dtypes=FLI, tag="tall")
case("full", lambda m, d: m.full((2, 3), True, dtype=d), DT(), ref=lambda d: np.full((2, 3), True, d),
     dtypes=("bool", "float32", "int64"), tag="bool_value")


# special values: every pair of (NaN, +-inf, +-0, finite) through the binary float ops, and through every unary
# float op (torch is the oracle here: where numpy's own value differs, the case has no numpy reference)
SPECIALS = (np.nan, np.inf, -np.inf, 0.0, -0.0, 1.0, -1.0, 2.5, -2.5, 3.0)
_SX, _SY = V(np.array(SPECIALS)[:, None]), V(np.array(SPECIALS))
for _name, _fn, _ref in (
        ("add", lambda m, x, y: x + y, np.add), ("sub", lambda m, x, y: x - y, np.subtract),
        ("mul", lambda m, x, y: x * y, np.multiply), ("div", lambda m, x, y: x / y, np.true_divide),
        ("maximum", lambda m, x, y: m.maximum(x, y), np.maximum),
        ("minimum", lambda m, x, y: m.minimum(x, y), np.minimum),
        ("fmod", lambda m, x, y: m.fmod(x, y), np.fmod), ("remainder", lambda m, x, y: x % y, None),
        ("floor_divide", lambda m, x, y: x // y, None),
        ("div_trunc", lambda m, x, y: m.div(x, y, rounding_mode="trunc"), None),
        ("atan2", lambda m, x, y: m.atan2(x, y), np.arctan2), ("pow", lambda m, x, y: x ** y, np.power),
        ("eq", lambda m, x, y: x == y, np.equal), ("ne", lambda m, x, y: x != y, np.not_equal),
        ("lt", lambda m, x, y: x < y, np.less), ("le", lambda m, x, y: x <= y, np.less_equal),
        ("gt", lambda m, x, y: x > y, np.greater), ("ge", lambda m, x, y: x >= y, np.greater_equal),
        ("logical_and", lambda m, x, y: m.logical_and(x, y), np.logical_and),
        ("logical_or", lambda m, x, y: m.logical_or(x, y), np.logical_or),
        ("logical_xor", lambda m, x, y: m.logical_xor(x, y), np.logical_xor),
        ("lerp", lambda m, x, y: m.lerp(x, y, 0.3), lambda x, y: _np_lerp(x, y, 0.3))):
    case(_name, _fn, _SX, _SY, ref=_ref, tag="special")
for _name, _fn, _ref, _lo, _hi, _dts in _UNARY:
    case(_name, _fn, V(np.array(SPECIALS + (0.5, -0.5)).reshape(3, 4)), ref=_ref, tag="special")
for _name, _fn, _ref, _dts in (
        ("softplus", lambda m, x: m.nn.functional.softplus(x), _np_softplus, FL),
        # exact gelu in float64 only: torch's own float32 gelu(+inf) is NaN on contiguous inputs (its vectorized
        # path) but inf on strided ones, so float32 +inf has no single torch value (gelu-special_noinf below)
        ("gelu", lambda m, x: m.nn.functional.gelu(x), _np_gelu, ("float64",)),
        ("gelu", lambda m, x: m.nn.functional.gelu(x, approximate="tanh"), _np_gelu_tanh, FL),
        ("clamp", lambda m, x: m.clamp(x, -1.5, 2.0), lambda x: np.clip(x, -1.5, 2.0), FL),
        ("nan_to_num", lambda m, x: m.nan_to_num(x, posinf=1e30), None, FL)):
    case(_name, _fn, V(np.array(SPECIALS + (0.5, -0.5)).reshape(3, 4)), ref=_ref, dtypes=_dts, tag="special")
case("gelu", lambda m, x: m.nn.functional.gelu(x), V(np.array([v for v in SPECIALS if v != np.inf] + [0.5, -0.5, 4.0])
                                                     .reshape(3, 4)), ref=_np_gelu, tag="special_noinf")
case("pow", lambda m, x, y: x ** y, F(3, 4, lo=-9, hi=9), F(3, 4, lo=30, hi=45), ref=np.power,
     dtypes=("int64",), tag="overflow")
for _name, _fn, _ref in (("abs", lambda m, x: x.abs(), np.abs), ("neg", lambda m, x: -x, np.negative),
                         ("sign", lambda m, x: x.sign(), np.sign)):
    case(_name, _fn, V([-128, 127, 0, -1, 1, -127]), ref=_ref, dtypes=("int8",), tag="extremes")
case("amin", lambda m, x: x.amin(1), F(3, 4, special=True), ref=lambda x: x.min(1), tag="nan")
case("argmin", lambda m, x: x.argmin(1), F(3, 4, special=True), tag="nan")
case("cumsum", lambda m, x: x.cumsum(1), F(3, 4, special=True), ref=lambda x: x.cumsum(1), tag="special")
case("prod", lambda m, x: x.prod(1), F(3, 4, special=True), ref=lambda x: x.prod(1), tag="special")
case("mean", lambda m, x: x.mean(1), F(3, 4, special=True), ref=lambda x: x.mean(1), tag="special")
case("var", lambda m, x: x.var(1), F(3, 4, special=True), tag="special")
case("softmax", lambda m, x: x.softmax(1), F(3, 4, special=True), tag="special")
case("log_softmax", lambda m, x: x.log_softmax(1), F(3, 4, special=True), tag="special")
case("argsort", lambda m, x: x.argsort(dim=1, descending=True, stable=True), F(3, 5, special=True),
     tag="special_desc")
case("topk_indices", lambda m, x: x.topk(5, 1, largest=False).indices, F(3, 5, special=True), tag="special")
case("matmul", lambda m, x, y: x @ y, F(3, 4, special=True), F(4, 2), tag="special")

# more argument forms ---------------------------------------------------------------------------------------------
case("cat", lambda m, x, e: m.cat([x, e, x]), F(2, 3), F(0), ref=lambda x, e: np.concatenate([x, x]),
     dtypes=FLI, tag="legacy_empty")
case("stack", lambda m, x, y: m.stack([x, y]), F(), F(), ref=lambda x, y: np.stack([x, y]), dtypes=FLI, tag="0d")
case("index", lambda m, x, c: x[:, c], F(3, 4), Mask(4), ref=lambda x, c: x[:, c], tag="mask_dim1")
case("index", lambda m, x, i: x[i], F(4, 3), F(5, dtype="int32", lo=-4, hi=4), ref=lambda x, i: x[i],
     tag="int32_index")
# a 0-d integer tensor index selects like an int (torch returns a view of x), also next to a tensor index;
# index_put indexes with it as a tensor (no select)
case("getitem", lambda m, x, i: x[i, i], F(4, 4), Idx(hi=4), ref=lambda x, i: x[i, i], tag="0d_index")
case("index", lambda m, x, i, j: x[i, j], F(4, 5), Idx(hi=4), Idx(3, hi=5), ref=lambda x, i, j: x[i, j],
     tag="0d_index")
case("index_put", lambda m, x, i, v: x.index_put((i,), v), F(4, 3), Idx(hi=4), F(3),
     ref=lambda x, i, v: _np_setitem(x, i, v), dtypes=FLI, tag="0d_index")
case("index_put", lambda m, x, i, v: x.index_put((i,), v, accumulate=True), F(4, 3), Idx(hi=4), F(),
     ref=lambda x, i, v: _np_setitem(x, i, x[i] + v), tag="0d_index_accumulate")
case("gather", lambda m, x, i: x.gather(0, i), F(), Idx(hi=1), ref=lambda x, i: x.copy(), tag="0d")
case("scatter", lambda m, x, i, s: x.scatter(1, i, s, reduce="add"), F(3, 4), Idx(3, 5, hi=4), F(3, 5),
     ref=lambda x, i, s: _np_scatter(x, 1, i, s, np.add), tag="reduce_add")
case("scatter", lambda m, x, i, s: x.scatter(1, i, s, reduce="multiply"), F(3, 4), Idx(3, 5, hi=4), F(3, 5),
     ref=lambda x, i, s: _np_scatter(x, 1, i, s, np.multiply), tag="reduce_multiply")
case("pad", lambda m, x: m.nn.functional.pad(x, (-1, 2, 1, -1), mode="circular"), F(1, 3, 4),
     ref=lambda x: np.pad(x[:, :-1, 1:], ((0, 0), (1, 0), (0, 2)), mode="wrap"), tag="circular_crop")
case("expand", lambda m, x: x.expand(2, 3), F(), ref=lambda x: np.broadcast_to(x, (2, 3)), dtypes=FLI, tag="0d")
case("repeat", lambda m, x: x.repeat(2, 3), F(), ref=lambda x: np.tile(x, (2, 3)), dtypes=FLI, tag="0d")
case("permute", lambda m, x: x.T, F(2, 3, 4), ref=lambda x: x.T, tag="T3d")
case("permute", lambda m, x: x.mT, F(2, 3, 4), ref=lambda x: x.swapaxes(-1, -2), tag="mT")
case("tril", lambda m, x: x.tril(), F(0, 3), ref=np.tril, tag="empty_rows")
case("matmul", lambda m, x, y: x @ y, F(4, lo=-5, hi=5), F(4, 3, lo=-5, hi=5), ref=np.matmul,
     dtypes=("int64", "int32"), tag="int")
case("linear", lambda m, x, w, b: m.nn.functional.linear(x, w, b), F(3, 4, lo=-5, hi=5), F(2, 4, lo=-5, hi=5),
     F(2, lo=-5, hi=5), ref=lambda x, w, b: x @ w.T + b, dtypes=("int64",), tag="int")
case("einsum", lambda m, a, b: m.einsum("ij,kj->ik", a, b), F(3, 4, lo=-5, hi=5), F(2, 4, lo=-5, hi=5),
     ref=lambda a, b: a @ b.T, dtypes=("int64",), tag="int")
case("softmax", lambda m, x: x.softmax(1, dtype=m.float64), F(3, 4), ref=lambda x: special.softmax(
     x.astype(np.float64), 1), dtypes=("float32", "int64"), tag="dtype")
case("log_softmax", lambda m, x: m.log_softmax(x, 0, dtype=m.float32), F(3, 4), ref=lambda x: special.log_softmax(
     x.astype(np.float32), 0), dtypes=("float64",), tag="dtype")
case("mean", lambda m, x: x.mean(1, dtype=m.float64), F(3, 4), ref=lambda x: x.astype(np.float64).mean(1),
     dtypes=("float32", "int64"), tag="dtype")
case("norm", lambda m, x: m.norm(x, dim=1, dtype=m.float64), F(3, 4), ref=lambda x: np.sqrt(
     (x.astype(np.float64) ** 2).sum(1)), dtypes=("float32",), tag="dtype")
case("cumprod", lambda m, x: x.cumprod(1, dtype=m.float32), F(3, 4, lo=-3, hi=3), ref=lambda x: x.cumprod(1).astype(
     np.float32), dtypes=("int64",), tag="dtype")
case("prod", lambda m, x: x.prod(1, dtype=m.float64), F(3, 4), ref=lambda x: x.astype(np.float64).prod(1),
     dtypes=("float32", "int32"), tag="dtype")
case("arange", lambda m, d: m.arange(1.0, 1.3, 0.1, dtype=d), DT(), ref=lambda d: np.arange(1.0, 1.3, 0.1, dtype=d),
     tag="count_rounding")
case("arange", lambda m, d: m.arange(-5, 7, 3, dtype=d), DT(), ref=lambda d: np.arange(-5, 7, 3, dtype=d),
     dtypes=FLI, tag="int_step")
case("linspace", lambda m, d: m.linspace(3, -2.5, 6, dtype=d), DT(), ref=lambda d: np.linspace(3, -2.5, 6), tag="down")


case("full", lambda m, d: m.full((2,), 2.7, dtype=d), DT(), ref=lambda d: np.full(2, 2.7).astype(d),
     dtypes=("int64", "int32", "float32"), tag="truncate")
case("eye", lambda m, d: m.eye(3, 0, dtype=d), DT(), ref=lambda d: np.eye(3, 0, dtype=d), tag="zero_cols")

# 0-d chains: numpy returns scalars for 0-d results; the program keeps them arrays so the memory planner can
# hand them on as out=. loss_chain starts from a realized 0-d tensor (a leaf, as after ``loss.item()``).
case("add", lambda m, x: x * 2 + 1, F(), ref=lambda x: x * 2 + 1, dtypes=("float64", "int64"), tag="0d_chain")
case("add", lambda m, x: _realized(x.mean()) * 0.5 + 1, F(3, 4), ref=lambda x: x.mean() * 0.5 + 1,
     dtypes=("float64",), tag="loss_chain")

# writes into (views of) the inputs themselves: with layout "noncontig" the input is a view of a larger
# tensor, so the write goes through the view chain to its base (functionalization) and back
case("slice_scatter", lambda m, x, v: _write(x, lambda: x.__setitem__((slice(1, 3),), v)), F(3, 4), F(2, 4),
     ref=lambda x, v: _np_setitem(x, (slice(1, 3),), v), tag="into_input")
case("slice_scatter", lambda m, x: _write(x, lambda: x.t()[0].mul_(2)), F(3, 4),
     ref=lambda x: _np_setitem(x, (slice(None), 0), 2 * x[:, 0]), tag="into_view_of_view")
case("slice_scatter", lambda m, x: _write(x, lambda: x[:, 1:].add_(x[:, :-1].clone())), F(2, 3, 4),
     ref=lambda x: _np_setitem(x, (slice(None), slice(1, None)), x[:, 1:] + x[:, :-1]), tag="shifted")
case("diagonal_scatter", lambda m, x: _write(x, lambda: x.diagonal().fill_(7.0)), F(3, 4),
     ref=lambda x: _np_diag_scatter(x, np.full(3, 7.0), 0), tag="into_input")
case("index_put", lambda m, x, i, v: _write(x, lambda: x.__setitem__(i, v)), F(4, 3), Perm((2,), 4), F(2, 3),
     ref=lambda x, i, v: _np_setitem(x, i, v), tag="into_input")
case("index_put", lambda m, x, i: _write(x, lambda: x.t().index_put_((i,), m.ones(x.shape[0], dtype=x.dtype),
                                                                     accumulate=True)),
     F(4, 3), Idx(5, hi=3), ref=lambda x, i: _np_index_put_acc(x.T.copy(), i, np.ones(4)).T, tag="into_view")

# accumulation over many elements (float32 kernels that accumulate differently show here)
case("sum", lambda m, x: x.sum(dim=1), F(3, 5000, lo=0, hi=1), ref=lambda x: x.sum(1), tag="long")
case("cumsum", lambda m, x: x.cumsum(dim=0), F(3000, lo=0, hi=1), ref=lambda x: x.cumsum(0), tag="long")
case("mean", lambda m, x: x.mean(), F(4000, lo=0, hi=1), ref=np.mean, tag="long")
case("var", lambda m, x: x.var(dim=0), F(500, 3, lo=1000, hi=1001), ref=lambda x: x.var(0, ddof=1),
     tag="offset")
case("std", lambda m, x: x.std(), F(2000, lo=-1, hi=1), ref=lambda x: x.std(ddof=1), tag="long")
case("norm", lambda m, x: x.norm(), F(3000, lo=0, hi=1), ref=lambda x: np.sqrt((x * x).sum()), tag="long")
case("logsumexp", lambda m, x: m.logsumexp(x, 0), F(3000, lo=-3, hi=3), ref=lambda x: special.logsumexp(x, 0),
     tag="long")
case("softmax", lambda m, x: x.softmax(0), F(3000, lo=-3, hi=3), ref=lambda x: special.softmax(x, 0),
     tag="long")
case("matmul", lambda m, x, y: x @ y, F(3, 1000), F(1000, 2), ref=np.matmul, tag="long")
case("prod", lambda m, x: x.prod(), F(500, lo=0.9, hi=1.1), ref=np.prod, tag="long")
case("cumprod", lambda m, x: x.cumprod(0), F(500, lo=0.9, hi=1.1), ref=lambda x: x.cumprod(0), tag="long")

# more special values: the remaining float ops and reductions ----------------------------------------------------
_SV = V(np.array(SPECIALS + (0.5, -0.5)).reshape(3, 4))
case("logical_not", lambda m, x: m.logical_not(x), _SV, ref=np.logical_not, tag="special")
case("cast", lambda m, x: x.float(), _SV, ref=lambda x: x.astype(np.float32), dtypes=("float64",),
     tag="special_float")
case("cast", lambda m, x: x.double(), _SV, ref=lambda x: x.astype(np.float64), dtypes=("float32",),
     tag="special_double")
case("round", lambda m, x: m.round(x, decimals=1), _SV, ref=lambda x: np.round(x, 1), tag="special_decimals")
case("where", lambda m, c, x, y: m.where(c, x, y), Mask(3, 4), _SV, F(3, 4, special=True),
     ref=np.where, tag="special")
case("any", lambda m, x: x.any(1), F(3, 4, special=True), ref=lambda x: x.any(1), tag="special")
case("amax", lambda m, x: x.amax(0), F(4, 3, special=True), ref=lambda x: x.max(0), tag="special_dim")
case("norm", lambda m, x: x.norm(p=float("inf"), dim=1), F(3, 4, special=True),
     ref=lambda x: np.abs(x).max(1), tag="special_inf")
case("norm", lambda m, x: x.norm(p=1, dim=0), F(4, 3, special=True), ref=lambda x: np.abs(x).sum(0),
     tag="special_p1")
case("logsumexp", lambda m, x: m.logsumexp(x, 1), F(3, 4, special=True), tag="special_random")

# more 0-d inputs: 0-d with 0-d through the binary ops, and through unary ops and reductions ----------------------
for _name, _fn, _ref, _dts in (
        ("sub", lambda m, x, y: x - y, np.subtract, FLI), ("mul", lambda m, x, y: x * y, np.multiply, FLI),
        ("div", lambda m, x, y: x / y, np.true_divide, FL),
        ("fmod", lambda m, x, y: m.fmod(x, y), np.fmod, FL), ("remainder", lambda m, x, y: x % y, np.remainder, FL),
        ("floor_divide", lambda m, x, y: x // y, np.floor_divide, FL),
        ("div_trunc", lambda m, x, y: m.div(x, y, rounding_mode="trunc"), _np_trunc_div, FL),
        ("atan2", lambda m, x, y: m.atan2(x, y), np.arctan2, FL),
        ("pow", lambda m, x, y: m.pow(x.abs(), y), lambda x, y: np.abs(x) ** y, FL),
        ("maximum", lambda m, x, y: m.maximum(x, y), np.maximum, FLI),
        ("minimum", lambda m, x, y: m.minimum(x, y), np.minimum, FLI),
        ("lerp", lambda m, x, y: m.lerp(x, y, 0.25), lambda x, y: _np_lerp(x, y, 0.25), FL),
        ("eq", lambda m, x, y: x == y, np.equal, FLI), ("lt", lambda m, x, y: x < y, np.less, FLI),
        ("logical_and", lambda m, x, y: m.logical_and(x, y), np.logical_and, FLI)):
    case(_name, _fn, F(lo=0.5, hi=3, signed=True), F(lo=0.5, hi=3, signed=True), ref=_ref, dtypes=_dts,
         tag="0d_pair")
case("bitwise_and", lambda m, x, y: x & y, F(lo=-100, hi=100), F(lo=-100, hi=100), ref=np.bitwise_and,
     dtypes=("int64", "uint8"), tag="0d_pair")
case("bitwise_left_shift", lambda m, x, y: x << y, F(lo=-100, hi=100), F(lo=0, hi=5), ref=np.left_shift,
     dtypes=("int64", "int8"), tag="0d_pair")
for _name, _fn, _ref, _dts in (
        ("sigmoid", lambda m, x: x.sigmoid(), special.expit, FL),
        ("relu", lambda m, x: x.relu(), lambda x: np.maximum(x, 0), FLI),
        ("sign", lambda m, x: x.sign(), _np_sign, FLI), ("abs", lambda m, x: x.abs(), np.abs, FLI),
        ("neg", lambda m, x: -x, np.negative, FLI), ("round", lambda m, x: x.round(), np.round, FL),
        ("isnan", lambda m, x: x.isnan(), np.isnan, FL), ("logical_not", lambda m, x: ~x, np.logical_not, ("bool",)),
        ("bitwise_not", lambda m, x: ~x, np.invert, ("int64", "int8")),
        ("nan_to_num", lambda m, x: x.nan_to_num(), np.nan_to_num, FL),
        ("gelu", lambda m, x: m.nn.functional.gelu(x), _np_gelu, FL),
        ("softplus", lambda m, x: m.nn.functional.softplus(x), _np_softplus, FL),
        ("clamp", lambda m, x: x.clamp(-0.5, 0.5), lambda x: np.clip(x, -0.5, 0.5), FL),
        ("cast", lambda m, x: x.to(m.int32), lambda x: x.astype(np.int32), FL),
        ("clone", lambda m, x: x.clone(), lambda x: x.copy(), FLI),
        ("alias", lambda m, x: x.detach(), lambda x: x.copy(), FLI),
        ("reshape", lambda m, x: x.reshape(1, 1), lambda x: x.reshape(1, 1), FLI),
        ("permute", lambda m, x: x.permute(()), lambda x: x.copy(), FLI),
        ("getitem", lambda m, x: x[None, ..., None], lambda x: x[None, ..., None], FLI),
        ("roll", lambda m, x: x.roll(1), lambda x: x.copy(), FL),
        ("mean", lambda m, x: x.mean(), lambda x: x.copy(), FL),
        ("prod", lambda m, x: x.prod(0), lambda x: x.copy(), FLI),
        ("var", lambda m, x: x.var(correction=0), lambda x: np.zeros(()), FL),
        ("std", lambda m, x: x.std(0, correction=0), lambda x: np.zeros(()), FL),
        ("amin", lambda m, x: x.amin(), lambda x: x.copy(), FLI),
        ("argmin", lambda m, x: x.argmin(), lambda x: np.int64(0), FLI),
        ("cumprod", lambda m, x: x.cumprod(0), lambda x: x.copy(), FLI),
        ("log_softmax", lambda m, x: x.log_softmax(0), lambda x: np.zeros(()), FL),
        ("norm", lambda m, x: x.norm(), np.abs, FL),
        ("all", lambda m, x: x.all(), lambda x: np.all(x), FLI + ("bool",)),
        ("any", lambda m, x: x.any(0), lambda x: np.any(x), FLI + ("bool",)),
        ("argsort", lambda m, x: x.argsort(), lambda x: np.int64(0), FL),
        ("topk_indices", lambda m, x: x.topk(1).indices, lambda x: np.int64(0), FL)):
    case(_name, _fn, F(lo=0.5, hi=3, signed=True), ref=_ref, dtypes=_dts, tag="0d")
case("contiguous", lambda m, x: x.contiguous(), F(lo=0.5, hi=3, signed=True), ref=lambda x: x.copy(), dtypes=FLI,
     tag="0d")
case("where", lambda m, c, x, y: m.where(c, x, y), Mask(), F(), F(), ref=np.where, dtypes=FLI, tag="0d")
case("where", lambda m, c, x, y: m.where(c, x, y), Mask(3, 1), F(), F(4), ref=np.where, tag="0d_broadcast")
case("full", lambda m, d: m.full((), 2.5, dtype=d), DT(), ref=lambda d: np.full((), 2.5, d), dtypes=FLI, tag="0d")
case("slice_scatter", lambda m, x, i: _inplace_view(x, lambda y: y[i].mul_(2)), F(4, 3), Idx(hi=4),
     ref=lambda x, i: _np_setitem(x, i, 2 * x[i]), tag="0d_index")

# more type promotion and integer wraparound ---------------------------------------------------------------------
case("sub", lambda m, x, y: x - y, F(3, 4, lo=0, hi=50), F(4, lo=50, hi=100), ref=np.subtract,
     dtypes=("uint8",), tag="wrap")
case("mul", lambda m, x, y: x * y, F(3, 4, lo=-100, hi=100), F(4, lo=-100, hi=100), ref=np.multiply,
     dtypes=("int8", "int16"), tag="wrap")
case("cumsum", lambda m, x: x.cumsum(0, dtype=m.int8), F(6, 3, lo=50, hi=100), ref=lambda x: x.cumsum(0).astype(
     np.int8), dtypes=("int64",), tag="wrap")
case("where", lambda m, c, x, y: m.where(c, x, y), Mask(3, 4), F(3, 4), F(4, dtype="float64"),
     ref=lambda c, x, y: np.where(c, x.astype(np.float64), y), dtypes=("float32", "int32", "bool"), tag="promote")
case("maximum", lambda m, x, y: m.maximum(x, y), F(3, 4, lo=-5, hi=5), F(4, dtype="float32"),
     ref=lambda x, y: np.maximum(x.astype(np.float32), y), dtypes=("int32", "uint8", "bool"), tag="promote")
case("eq", lambda m, x, y: x == y, F(3, 4, step=1.0), F(4, dtype="int64", lo=-2, hi=3), ref=np.equal,
     dtypes=("float32", "uint8"), tag="promote")
case("bitwise_or", lambda m, x, y: x | y, F(3, 4, lo=-100, hi=100), Mask(4),
     ref=lambda x, y: x | y.astype(x.dtype), dtypes=("int8", "uint8"), tag="promote")
case("pow", lambda m, x: x ** 0.5, F(3, 4, lo=0, hi=50), ref=lambda x: np.sqrt(x).astype(np.float32),
     dtypes=("int64",), tag="int_float_scalar")
case("cat", lambda m, x, y: m.cat([x, y], 1), F(3, 2), Mask(3, 2), ref=lambda x, y: np.concatenate(
     [x, y.astype(x.dtype)], 1), dtypes=("int8", "float32"), tag="bool_promote")
case("floor_divide", lambda m, x, y: x // y, F(3, 4, lo=-100, hi=100), F(4, lo=1, hi=9, signed=True),
     ref=np.floor_divide, dtypes=("int8", "int16"), tag="int_signs")
case("remainder", lambda m, x, y: x % y, F(3, 4, lo=-100, hi=100), F(4, lo=1, hi=9, signed=True),
     ref=np.remainder, dtypes=("int8", "int16"), tag="int_signs")


def _setitem(x, key, v):
    """``y = x.clone(); y[key] = v; y`` (a write through a view of a fresh tensor)."""
    y = x.clone()
    y[key] = v
    return y


def _write(x, write):
    """``write()`` mutates ``x`` (or a view of it) in place; returns ``x``."""
    write()
    return x


def _inplace_view(x, write):
    """``y = x.clone()``, then ``write(y)`` mutates a view of y in place; returns y."""
    y = x.clone()
    write(y)
    return y


def _assign_ids() -> None:
    seen: dict = {}
    for c in CASES:
        base = c.op + (f"-{c.tag}" if c.tag else "")
        k = seen.get(base, 0)
        seen[base] = k + 1
        c.id = base if k == 0 else f"{base}{k + 1}"


_assign_ids()
BY_ID = {c.id: c for c in CASES}


# --- running a case ------------------------------------------------------------------------------------------------

def _inputs(m, c: Case, dtype: str, layout: str, specs: tuple) -> list:
    rng = np.random.default_rng(zlib.crc32(c.id.encode()))
    out = []
    for spec in specs:
        a = make(spec, dtype, rng)
        if isinstance(spec, DT):
            out.append(getattr(m, a))
            continue
        base, view = _layout(a, layout)
        if m is tl:
            t = tl.tensor(base)
        else:
            t = m.from_numpy(np.array(base, copy=True))
        out.append(view(t))
    return out


def _np_inputs(c: Case, dtype: str) -> list:
    rng = np.random.default_rng(zlib.crc32(c.id.encode()))
    out = []
    for spec in c.inputs:
        a = make(spec, dtype, rng)
        out.append(np.dtype(a) if isinstance(spec, DT) else a)
    return out


def run(m, c: Case, dtype: str, layout: str = "contiguous", *, empty: bool = False):
    fn = (c.empty_fn or c.fn) if empty else c.fn
    return fn(m, *_inputs(m, c, dtype, layout, c.empty if empty else c.inputs))


def _check_against(got, expected) -> None:
    name = str(expected.dtype).replace("torch.", "")
    rtol, atol = TOL.get(name, (0.0, 0.0))
    assert_close(got, expected, rtol=rtol, atol=atol)


def _graph_ops(result) -> set:
    gm = tl.fx.capture(result)
    return {n.target.name for n in gm.graph.nodes if n.op == "call_function"}


def _ndim(spec) -> int:
    return len(spec.shape)


def _params(test: str, items):
    """pytest params from (case, id suffix, values), with each case's strict xfails applied."""
    out = []
    for c, suffix, values in items:
        pid = c.id + (f"-{suffix}" if suffix else "")
        key = f"{test}:{pid}"
        marks = [pytest.mark.xfail(strict=True, reason=r) for p, r in c.xfail.items() if fnmatch(key, p)]
        out.append(pytest.param(*values, id=pid, marks=marks[:1]))
    return out


# --- tests ----------------------------------------------------------------------------------------------------------

def test_every_registry_op_has_a_case():
    covered = {c.op for c in CASES}
    assert set(tl.ops.REGISTRY) - covered == set(), "registry ops without a case in tests/test_registry.py"
    assert covered - set(tl.ops.REGISTRY) == set(), "cases naming ops that are not registered"


def test_every_registry_op_has_an_empty_case():
    with_empty = {c.op for c in CASES if c.empty is not None}
    assert set(tl.ops.REGISTRY) - with_empty == set(), "registry ops without a zero-size case"


def test_case_ids_are_unique_and_dtypes_known():
    assert len(BY_ID) == len(CASES)
    known = set(TOL) | set(INTS) | {"bool"}
    for c in CASES:
        assert c.dtypes and set(c.dtypes) <= known, c.id


@pytest.mark.parametrize("cid", _params("capture", [(c, "", (c.id,)) for c in CASES]))
def test_case_exercises_its_op(cid):
    c = BY_ID[cid]
    ops = _graph_ops(run(tl, c, c.dtypes[0]))
    assert c.op in ops, f"case {cid} builds {sorted(ops)}, not {c.op}"


def _layouts(c: Case, layouts=LAYOUTS):
    """The layouts that differ for this case: noncontig needs an input of 1 dim or more, fresh any tensor."""
    tensors = [s for s in c.inputs if not isinstance(s, DT)]
    return [lay for lay in layouts if lay == "contiguous" or (lay == "fresh" and tensors)
            or (lay == "noncontig" and any(_ndim(s) > 0 for s in tensors))]


@pytest.mark.parametrize("cid,dtype,layout", _params(
    "torch", [(c, f"{d}-{lay}", (c.id, d, lay)) for c in CASES for d in c.dtypes for lay in _layouts(c)]))
def test_matches_torch(cid, dtype, layout):
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    c = BY_ID[cid]
    got = run(tl, c, dtype, layout)
    expected = run(torch, c, dtype, layout)
    _check_against(got, expected)


@pytest.mark.parametrize("cid", _params("numpy", [(c, "", (c.id,)) for c in CASES if c.ref is not None]))
def test_matches_numpy_float64(cid):
    c = BY_ID[cid]
    dtype = "float64" if "float64" in c.dtypes else c.dtypes[0]
    got = run(tl, c, dtype)
    want = np.asarray(c.ref(*_np_inputs(c, dtype)))
    assert tuple(got.shape) == want.shape, f"shape {tuple(got.shape)} != {want.shape}"
    g = to_numpy(got)
    assert g.shape == want.shape, f"value shape {g.shape} != {want.shape}"
    if got.dtype.is_floating_point or want.dtype.kind == "f":
        np.testing.assert_allclose(g.astype(np.float64), want.astype(np.float64), rtol=1e-12, atol=1e-14,
                                   equal_nan=True)
    else:
        np.testing.assert_array_equal(g, want)


@pytest.mark.parametrize("cid", _params("empty", [(c, "", (c.id,)) for c in CASES if c.empty is not None]))
def test_empty_matches_torch(cid):
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    c = BY_ID[cid]
    sizes = [t.numel() for t in _inputs(tl, c, c.dtypes[0], "contiguous", c.empty) if isinstance(t, tl.Tensor)]
    got = run(tl, c, c.dtypes[0], empty=True)
    assert 0 in sizes or got.numel() == 0, f"the zero-size variant of {cid} has no zero-size input or result"
    assert c.op in _graph_ops(got), f"the zero-size variant of {cid} does not build {c.op}"
    _check_against(got, run(torch, c, c.dtypes[0], empty=True))


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    """Equal shape, dtype and values (NaN equal to NaN; bit patterns of -0.0 not checked)."""
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    if a.dtype.kind == "f":
        return bool(np.array_equal(a, b, equal_nan=True))
    return bool(np.array_equal(a, b))


def _garbage(shape: tuple, dt: np.dtype) -> np.ndarray:
    """A fresh buffer holding values no kernel produces by accident."""
    return np.full(shape, True if dt.kind == "b" else 77, dtype=dt)


@pytest.mark.parametrize("cid,dtype,layout", _params(
    "kernel", [(c, f"{d}-{lay}", (c.id, d, lay)) for c in CASES for d in c.dtypes[:2]
               for lay in _layouts(c, ("contiguous", "noncontig"))]))
def test_kernel_contract(cid, dtype, layout):
    """The CONVENTIONS.md contract of every kernel the case runs, node by node through its captured graph:
    the result is an ndarray (or, for a 0-d result, a numpy scalar, which the program wraps) of exactly the
    meta shape and dtype; inputs are never mutated; only view ops
    (``view=True``) may return memory of input 0, and no op returns memory of its other inputs; with
    ``supports_out`` the kernel writes into a fresh ``out=`` and returns it, and into each ``donate``
    input passed as ``out=`` (when shape and dtype allow, as the memory planner would), with the same values.
    """
    c = BY_ID[cid]
    gm = tl.fx.capture(run(tl, c, dtype, layout))
    feed = iter(gm.example_inputs)
    env: dict = {}
    for n in gm.graph.nodes:
        if n.op == "placeholder":
            v = next(feed)
            env[n] = np.asarray(v.numpy()) if isinstance(v, tl.Tensor) else v
            continue
        if n.op != "call_function":
            continue
        op, dt, shape = n.target, n.meta["dtype"].np, tuple(n.meta["shape"])
        args = [env[a] if hasattr(a, "op") else a for a in n.args]
        arrays = [(k, a) for k, a in enumerate(args) if isinstance(a, np.ndarray)]
        before = {k: a.copy() for k, a in arrays}
        with np.errstate(all="ignore"):
            r = op.numpy(*args, **n.kwargs, dtype=dt)
        where = f"{op.name} (node {n.name})"
        assert isinstance(r, np.ndarray) or (shape == () and isinstance(r, np.generic)), \
            f"{where} returned {type(r).__name__}"
        r = np.asarray(r)
        assert r.shape == shape and r.dtype == dt, f"{where}: {r.shape} {r.dtype} != meta {shape} {dt}"
        for k, a in arrays:
            assert _same(a, before[k]), f"{where} mutated its input {k}"
            if k > 0 or not op.view:
                assert not np.shares_memory(r, a), f"{where} returned memory of its input {k} (view={op.view})"
        if op.supports_out:
            out = _garbage(shape, dt)
            with np.errstate(all="ignore"):
                r2 = op.numpy(*args, **n.kwargs, dtype=dt, out=out)
            assert r2 is out, f"{where} did not return its out= buffer"
            assert _same(r2, r), f"{where} wrote other values into a fresh out="
            for k in op.donate:
                if k < len(args) and isinstance(args[k], np.ndarray) and args[k].shape == shape \
                        and args[k].dtype == dt:
                    donated = list(args)
                    donated[k] = np.array(args[k], copy=True)      # a buffer of its own, as the planner's are
                    with np.errstate(all="ignore"):
                        r3 = op.numpy(*donated, **n.kwargs, dtype=dt, out=donated[k])
                    assert r3 is donated[k], f"{where} did not return its donated out= (input {k})"
                    assert _same(r3, r), f"{where} gives other values when input {k} is its out="
            for k, a in arrays:
                assert _same(a, before[k]), f"{where} mutated its input {k} when given out="
        env[n] = r

