"""compiler/triton_ops.py: every pointwise registry op has a Triton rule, and each rule computes what the
op's numpy kernel computes.

Each case (an op, its inputs, its params) becomes a tiny kernel in one generated module: load every tensor
input under a mask, evaluate ``lower_pointwise``'s expression, check its dtype statically, store. The kernels
run in Triton's interpreter through the interpret runtime (``torchlite/devices/interpret.py``, which answers
libdevice in numpy) on 37 values including 0, -0.0, +-inf, NaN, negatives, huge and tiny numbers and each
dtype's limits, and must match the registry's numpy kernel: bit for bit (the sign of zero included) for
integers, bools, comparisons and most float ops, within an ulp or two where the numpy kernel uses another
algorithm (scipy's erf/expit). A sample of the kernels is compiled ahead of time for sm_90 and sm_80
(``triton.compile`` with no GPU), which catches what the interpreter forgives.
"""
from __future__ import annotations

import importlib.util
import math
import sys
from dataclasses import dataclass, field

import numpy as np
import pytest

triton = pytest.importorskip("triton")

from torchlite import dtypes as dt  # noqa: E402
from torchlite.compiler.triton_ops import (KERNEL_IMPORTS, POINTWISE, Arg, cast, lower_pointwise,  # noqa: E402
                                           opmath, tl_dtype)
from torchlite.devices.interpret import InterpretedKernel  # noqa: E402
from torchlite.devices import device as tl_device  # noqa: E402
from torchlite.lazy import LazyNode  # noqa: E402
from torchlite.ops._meta import result_dtype  # noqa: E402
from torchlite.ops.registry import REGISTRY  # noqa: E402

N = 37                       # odd, below BLOCK: the mask matters
BLOCK = 64
POINTWISE_OPS = sorted(n for n, o in REGISTRY.items() if o.kind == "pointwise")
FLOATS = (dt.float32, dt.float64, dt.float16, dt.bfloat16)
INTS = (dt.uint8, dt.int8, dt.int16, dt.int32, dt.int64)
ALL = (dt.bool,) + INTS + FLOATS
SHORT = {d: d.short for d in ALL}
INF, NAN = math.inf, math.nan


# --- input values ---------------------------------------------------------------------------------------

_FLOAT_SPECIAL = [0.0, -0.0, INF, -INF, NAN, 1.0, -1.0, 0.5, -0.5, 2.5, -2.5, 1.5, -3.5, 3.0, -7.25, 1e-3,
                  -1e-3, 123.456, -1e4, 1e30, -1e30, 1e-30, 0.75, -0.75, 70000.0, 1e-40]


def _fill(special, lo, hi, seed, integer=False):
    rng = np.random.default_rng(seed)
    rest = N - len(special)
    extra = rng.integers(lo, hi, rest, endpoint=True) if integer else rng.uniform(lo, hi, rest)
    return list(special) + list(extra)


def _floats(d: dt.dtype, seed: int, special=_FLOAT_SPECIAL, lo=-4.0, hi=4.0) -> np.ndarray:
    with np.errstate(over="ignore"):
        return np.array(_fill(special, lo, hi, seed), dtype=np.float64).astype(d.np)


def _ints(d: dt.dtype, seed: int, special=None) -> np.ndarray:
    info = np.iinfo(d.np)
    if special is None:
        special = [info.min, info.min + 1, -100, -7, -3, -2, -1, 0, 1, 2, 3, 7, 100, info.max, info.max - 1]
    special = [v for v in special if info.min <= v <= info.max]
    return np.array(_fill(special, info.min, info.max, seed, integer=True), dtype=d.np)


def _bools(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 2, N).astype(bool)


def values(d: dt.dtype, role: str = "a") -> np.ndarray:
    """Inputs of dtype ``d`` for an operand playing ``role`` in its op."""
    seed = sum(map(ord, d.name + role))          # stable across runs
    if d is dt.bool:
        return _bools(seed)
    if d.is_floating_point:
        if role == "b":         # the other operand: the specials in another order, so most pairs are mixed
            return np.roll(_floats(d, seed), 7)
        if role == "exp":
            return _floats(d, seed, [0.0, -0.0, 1.0, 2.0, 3.0, 0.5, -1.0, -2.0, 2.5, -0.5, INF, -INF, NAN, 1e-3,
                                     10.0, -3.0, 0.25, 33.0])
        if role == "weight":
            return _floats(d, seed, [0.0, 1.0, 0.5, -0.5, 0.25, 0.75, 2.0, -1.0, NAN, INF, 0.4999, 0.5001],
                           lo=-1.5, hi=2.5)
        if role == "in_range":    # casts to integers: in range of int32, fractional, no NaN or infinity
            return _floats(d, seed, [0.0, -0.0, 0.5, -0.5, 1.5, -1.5, 2.5, 127.9, -128.9, 255.5, 300.7, -300.7,
                                     1e4 + 0.25, -1e4, 65504.0, 70000.0, 1e9], lo=-500.0, hi=500.0)
        return _floats(d, seed)
    info = np.iinfo(d.np)
    if role == "b":
        return np.roll(_ints(d, seed), 5)
    if role == "dividend":        # no INT_MIN: INT_MIN / -1 overflows (a trap on x86, undefined on the GPU)
        return _ints(d, seed, [info.min + 1, -100, -7, -7, -6, -1, 0, 0, 1, 5, 6, 7, 7, 100, info.max])
    if role == "divisor":         # no zero: integer division by zero raises in PyTorch
        v = _ints(d, seed, [1, -1, 2, -2, 3, -3, 7, -7, 100, -100, info.max, info.min + 1])
        v[v == 0] = 5
        v[(v == -1) & (values(d, "dividend") == info.min)] = 3
        return v
    if role == "base":
        return _ints(d, seed, [-3, -2, -1, 0, 1, 2, 3, 5, -7, 100, 2, 3, -1, -2, 1, 0, 3, 2, -3, 7, -1])
    if role == "exp":
        e = np.array(_fill([0, 1, 2, 3, 4, 5, 6, 7, 8, 15, 16, 31, 62, 63, 64, 70, -1, -2, -3, 0, 1, 2],
                           -3, 70, seed, integer=True))
        return np.clip(e, info.min, info.max).astype(d.np) if d.is_signed else np.abs(e).astype(d.np)
    if role == "shift":
        bits = d.itemsize * 8
        s = _fill([-2, -1, 0, 1, 2, 3, 5, 7, bits - 2, bits - 1, bits, bits + 1, bits + 2], -2, bits + 2, seed,
                  integer=True)
        return np.array([abs(v) if not d.is_signed else v for v in s], dtype=d.np)
    return _ints(d, seed)


# --- cases ----------------------------------------------------------------------------------------------

@dataclass
class Case:
    op: str
    inputs: tuple                      # np.ndarray (tensor) or Python scalar
    params: dict = field(default_factory=dict)
    fp64: bool = False                 # float scalars are fp64 kernel arguments
    out: dt.dtype | None = None
    name: str = ""
    zero_d: tuple = ()                 # inputs loaded as one scalar-shaped value (a 0-dim tensor's load)

    def __repr__(self) -> str:
        return self.label()

    def srcs(self):
        return [LazyNode.leaf(x, dt.from_numpy_dtype(x.dtype), tl_device("cpu")) if isinstance(x, np.ndarray) else x
                for x in self.inputs]

    def label(self) -> str:
        parts = [SHORT[dt.from_numpy_dtype(x.dtype)] if isinstance(x, np.ndarray) else repr(x) for x in self.inputs]
        ps = [f"{k}={v.short if isinstance(v, dt.dtype) else v}" for k, v in self.params.items() if k != "common"]
        parts = [p + (f"(0d:{self.inputs[j][0]})" if j in self.zero_d else "") for j, p in enumerate(parts)]
        return f"{self.op}[{','.join(parts + ps)}{',fp64' if self.fp64 else ''}]"


CASES: list[Case] = []


def add(op, *inputs, fp64=False, zero_d=(), **params):
    """Record a case if the op's meta rule accepts it (invalid promotions are PyTorch errors, not cases)."""
    c = Case(op, inputs, params, fp64, zero_d=zero_d)
    opdef = REGISTRY[op]
    if "common" in opdef.params:
        c.params["common"] = result_dtype(c.srcs())
    try:
        _, c.out = opdef.meta(c.srcs(), tuple(c.params[p] for p in opdef.params))
    except (RuntimeError, NotImplementedError):
        return
    CASES.append(c)


_SCALARS = (2.5, -3, 3, True, 0.1)
_MIXED = ((dt.int32, dt.float32), (dt.float16, dt.bfloat16), (dt.uint8, dt.int8), (dt.bool, dt.int8),
          (dt.int64, dt.float64), (dt.float16, dt.float32), (dt.bool, dt.float16))

# binary arithmetic: roles of (first, second) operands per op
_ROLES = {"fmod": ("dividend", "divisor"), "remainder": ("dividend", "divisor"),
          "floor_divide": ("dividend", "divisor"), "div_trunc": ("dividend", "divisor"), "pow": ("base", "exp")}
for op in ("add", "sub", "mul", "div", "maximum", "minimum", "fmod", "remainder", "floor_divide", "atan2",
           "div_trunc", "pow"):
    ra, rb = _ROLES.get(op, ("a", "b"))
    for d in ALL:
        add(op, values(d, ra), values(d, rb))
    for d in (dt.float32, dt.float64, dt.float16, dt.bfloat16, dt.int32, dt.int8, dt.uint8, dt.bool):
        for s in _SCALARS:
            if op == "pow" and d.category < 2 and (s in (2.5, 0.1) or s == -3):
                continue        # PyTorch refuses integers to negative scalar powers
            add(op, values(d, ra), s)
        add(op, 7 if op != "pow" else 2, values(d, rb))
    add(op, values(dt.int64, ra), 2**40 + 3)            # an i64 scalar
    if op != "pow":                                     # (numpy refuses int8 ** 1000: it wraps to -24)
        add(op, values(dt.int8, ra), 1000)              # wraps to int8 (-24), as PyTorch does
    add(op, values(dt.float64, ra), 0.1, fp64=True)     # an fp64 scalar argument: exact
    for a, b in _MIXED:
        add(op, values(a, ra), values(b, rb))

for op in ("bitwise_and", "bitwise_or", "bitwise_xor"):
    for d in (dt.bool,) + INTS:
        add(op, values(d), values(d, "b"))
        add(op, values(d), 0x5A)
        add(op, values(d), True)
    add(op, values(dt.uint8), values(dt.int8, "b"))
    add(op, values(dt.int16), -7)

for op in ("bitwise_left_shift", "bitwise_right_shift"):
    for d in INTS:
        add(op, values(d), values(d, "shift"))
        add(op, values(d), 3)
        add(op, values(d), 40)
        add(op, -100 if d.is_signed else 100, values(d, "shift"))
    add(op, values(dt.int8), values(dt.int64, "shift"))

for op in ("eq", "ne", "lt", "le", "gt", "ge", "logical_and", "logical_or", "logical_xor"):
    for d in ALL:
        a = values(d)
        b = values(d, "b")
        b[::3] = a[::3]                                 # some equal pairs
        add(op, a, b)
        for s in (2.5, 3, True, 0.1, 1e-50):
            add(op, a, s)
        add(op, 0.5, a)
    add(op, values(dt.int8), 1000)
    add(op, values(dt.uint8), -1)
    for a, b in _MIXED:
        add(op, values(a), values(b, "b"))
    add(op, values(dt.float64), 0.1, fp64=True)

_UNARY = ("neg", "abs", "sign", "floor", "ceil", "trunc", "isnan", "isinf", "isfinite", "signbit", "exp",
          "exp2", "expm1", "log", "log2", "log10", "log1p", "sqrt", "rsqrt", "sin", "cos", "tan", "tanh", "asin",
          "acos", "atan", "sinh", "cosh", "erf", "erfc", "reciprocal", "sigmoid", "silu", "relu", "bitwise_not",
          "logical_not")
for op in _UNARY:
    for d in ALL:
        add(op, values(d))

for d in ALL:
    add("round", values(d), decimals=0)
    add("nan_to_num", values(d), nan=0.0, posinf=None, neginf=None)
for d in FLOATS:
    add("round", values(d), decimals=2)
    add("round", values(d), decimals=-1)
    add("nan_to_num", values(d), nan=1.5, posinf=100.0, neginf=-100.0)
    add("nan_to_num", values(d), nan=0.1, posinf=1e300, neginf=-1e300)
    for approximate in ("none", "tanh"):
        add("gelu", values(d), approximate=approximate)
    for beta, threshold in ((1.0, 20.0), (2.0, 1.0), (0.5, -1.0)):
        add("softplus", values(d), beta, threshold)
    add("lerp", values(d), values(d, "b"), values(d, "weight"))
    add("lerp", values(d), values(d, "b"), 0.3)
    add("lerp", values(d), 2.5, values(d, "weight"))

for d in FLOATS + INTS:
    lo, hi = (-1.5, 2.0) if d.is_floating_point else (-1, 2)
    add("clamp", values(d), lo, hi, has_min=True, has_max=True)
    add("clamp", values(d), lo, has_min=True, has_max=False)
    add("clamp", values(d), hi, has_min=False, has_max=True)
    lo_t, hi_t = values(d, "b"), values(d)[::-1].copy()
    add("clamp", values(d), lo_t, hi_t, has_min=True, has_max=True)   # lo > hi in places: hi wins
add("clamp", values(dt.int32), -1.5, 2.5, has_min=True, has_max=True)  # float bounds: a float32 result
add("clamp", values(dt.bool), values(dt.bool, "b"), has_min=True, has_max=False)
add("clamp", values(dt.float64), 0.1, fp64=True, has_min=True, has_max=False)

cond = _bools(99)
for d in ALL:
    add("where", cond, values(d), values(d, "b"))
    add("where", cond, values(d), 2.5)
    add("where", cond, 3, values(d))
    add("where", cond, True, values(d))
add("where", cond, values(dt.int32), values(dt.float32))
add("where", cond, values(dt.float16), 0.1)
add("where", cond, 2.5, -1.5)
add("where", cond, values(dt.float64), 0.1, fp64=True)

for src in ALL:
    for to in ALL:
        add("cast", values(src, "in_range") if src.is_floating_point and not to.is_floating_point else values(src),
            to=to)

# a 0-dim tensor operand: the code generator loads it once, as a scalar-shaped value (all N values equal here)
for v, k in ((NAN, 0), (-0.0, -1), (2.5, 3), (-7.0, -7)):
    f, i = np.full(N, v, np.float32), np.full(N, k, np.int32)
    for op in ("maximum", "minimum", "remainder", "floor_divide", "pow", "atan2", "lt", "eq", "logical_and",
               "logical_or", "logical_xor"):
        add(op, f, values(dt.float32, "b"), zero_d=(0,))
        add(op, values(dt.float32), f, zero_d=(1,))
        add(op, i, values(dt.int32, "divisor" if op in _ROLES else "b"), zero_d=(0,))
    add("clamp", f, values(dt.float32), values(dt.float32, "b"), has_min=True, has_max=True, zero_d=(0,))
    add("clamp", values(dt.float32), f, values(dt.float32, "b"), has_min=True, has_max=True, zero_d=(1,))
    add("where", cond, f, values(dt.float32), zero_d=(1,))
    add("lerp", values(dt.float32), values(dt.float32, "b"), f, zero_d=(2,))

for i, c in enumerate(CASES):
    c.name = f"k{i}"
CASE_IDS = [c.label() for c in CASES]


# --- kernels --------------------------------------------------------------------------------------------

def _args(case: Case, prefix: str = "") -> list[Arg]:
    """The case's inputs as rule arguments: tensors ``x<j>``, scalars ``s<j>`` (in legality kernels, the
    shared scalar parameter of their type)."""
    args = []
    for j, x in enumerate(case.inputs):
        if isinstance(x, np.ndarray):
            args.append(Arg(f"{prefix}x{j}", dt.from_numpy_dtype(x.dtype)))
        else:
            args.append(Arg(f"{prefix}s{j}" if not prefix else _legal_scalar(x, case), None, type(x)))
    return args


def kernel_source(case: Case) -> str:
    params, loads = [], []
    args = _args(case)
    for j, x in enumerate(case.inputs):
        if isinstance(x, np.ndarray):
            params.append(f"in{j}")
            load = f"tl.load(in{j})" if j in case.zero_d else f"tl.load(in{j} + offs, mask=mask)"
            loads.append(f"    x{j} = {load}")
        else:
            params.append(f"s{j}")
    expr = lower_pointwise(case.op, args, case.out, **case.params)
    return "\n".join([
        "",
        "@triton.jit",
        f"def {case.name}({', '.join(params)}, out_ptr, n, BLOCK: tl.constexpr):",
        f"    # {case.label()}",
        "    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)",
        "    mask = offs < n",
        *loads,
        f"    r = {expr}",
        f"    tl.static_assert(r.dtype == {tl_dtype(case.out)})",
        "    tl.store(out_ptr + offs, r, mask=mask)",
        "",
    ])


def _scalar_ty(x, fp64: bool) -> str:
    if isinstance(x, bool):
        return "i1"
    if isinstance(x, int):
        return "i32" if -2**31 <= x < 2**31 else "i64"
    return "fp64" if fp64 else "fp32"


def _legal_scalar(x, case: Case) -> str:
    return {"i1": "sb", "i32": "si", "i64": "sl", "fp32": "sf", "fp64": "sd"}[_scalar_ty(x, case.fp64)]


def _import(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def kernels(tmp_path_factory):
    """Every case's kernel, in one generated module (Triton reads a kernel's source from its file)."""
    path = tmp_path_factory.mktemp("pointwise_kernels") / "pointwise_cases.py"
    path.write_text('"""Generated by tests/test_triton_ops.py: one kernel per case."""\n' + KERNEL_IMPORTS
                    + "".join(kernel_source(c) for c in CASES))
    yield _import(path, "_triton_ops_cases")
    sys.modules.pop("_triton_ops_cases", None)


def run_case(kernels, case: Case) -> np.ndarray:
    out = np.zeros(N, dtype=case.out.np)
    signature = {f"s{j}": _scalar_ty(x, case.fp64) for j, x in enumerate(case.inputs)
                 if not isinstance(x, np.ndarray)}
    InterpretedKernel(getattr(kernels, case.name), signature)[(1,)](*case.inputs, out, N, BLOCK=BLOCK)
    return out


def expected(case: Case) -> np.ndarray:
    """The registry's numpy kernel on the values the kernel sees: a float scalar is an fp32 kernel argument
    unless the case types it fp64 (that changes float64 results only; test_float64_scalar_... checks it)."""
    inputs = [float(np.float32(x)) if type(x) is float and not case.fp64 else x for x in case.inputs]
    with np.errstate(all="ignore"):
        r = REGISTRY[case.op].numpy(*inputs, **case.params, dtype=case.out.np)
    return np.broadcast_to(np.asarray(r), (N,)).astype(case.out.np)


# --- comparing ------------------------------------------------------------------------------------------

# Ops whose numpy kernel uses another algorithm than libdevice's/ours, so results may differ by rounding:
# (rtol for float32 and float64 results). float16/bfloat16 results get one ulp of their own.
# Measured here: float64 erf/erfc/gelu up to 5.6e-16 (math.erf vs scipy), float32 sigmoid/silu 1.25e-7 and
# float64 2.0e-16 (scipy's expit vs 1 / (1 + exp(-x))); float32 erf/erfc/gelu were identical.
_ULPS = {
    "erf": (2.4e-7, 1e-15),      # the interpreter's erf is math.erf in float64; the registry's is scipy's
    "erfc": (2.4e-7, 1e-15),
    "gelu": (2.4e-7, 1e-15),
    "sigmoid": (2.4e-7, 1e-15),  # scipy's expit vs 1 / (1 + exp(-x)), which PyTorch computes
    "silu": (2.4e-7, 1e-15),
}
_HALF_RTOL = {dt.float16: 2**-10, dt.bfloat16: 2**-7}


# numpy's maximum/minimum give the second operand on ties of zeros in float32/float64 and the first in
# float16 (PyTorch leaves it unspecified): the rules follow float32, and these ops compare zeros by value.
_ANY_ZERO_SIGN = {"maximum", "minimum", "clamp", "relu"}


def mismatches(case: Case, got: np.ndarray, want: np.ndarray) -> str:
    """'' when ``got`` is ``want`` (bitwise up to NaN payloads, or within the op's tolerance)."""
    d = case.out
    if not d.is_floating_point:
        bad = np.flatnonzero(got != want)
    else:
        g, w = got.astype(np.float64), want.astype(np.float64)
        same = (g == w) & ((np.signbit(g) == np.signbit(w)) | (case.op in _ANY_ZERO_SIGN))
        same |= np.isnan(g) & np.isnan(w)
        tol = _ULPS.get(case.op)
        if tol is not None:
            rtol = _HALF_RTOL.get(d) or (tol[0] if opmath(d) is dt.float32 else tol[1])
            tiny = np.finfo(np.float32).tiny if d is not dt.float64 else 1e-300
            with np.errstate(invalid="ignore"):
                same |= np.isfinite(g) & np.isfinite(w) & (np.abs(g - w) <= rtol * np.abs(w) + tiny)
        bad = np.flatnonzero(~same)
    if not len(bad):
        return ""
    ins = [x[bad[:4]].tolist() if isinstance(x, np.ndarray) else x for x in case.inputs]
    return (f"{len(bad)} of {N} differ at {bad[:4].tolist()}: inputs {ins}, got {got[bad[:4]].tolist()}, "
            f"want {want[bad[:4]].tolist()}")


# --- tests ----------------------------------------------------------------------------------------------

def test_every_pointwise_op_has_a_rule():
    missing = [n for n in POINTWISE_OPS if n not in POINTWISE]
    assert not missing, f"pointwise ops without a Triton rule in compiler/triton_ops.py: {missing}"
    assert len(POINTWISE_OPS) >= 70


_INT_ONLY = {"bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not", "bitwise_left_shift",
             "bitwise_right_shift"}
_FLOAT_ONLY = {"gelu", "silu", "softplus", "lerp"}


def test_every_pointwise_op_is_tested_in_every_dtype_it_takes():
    inputs: dict[str, set] = {}
    for c in CASES:
        inputs.setdefault(c.op, set()).update(dt.from_numpy_dtype(x.dtype) for x in c.inputs
                                              if isinstance(x, np.ndarray))
    untested = [n for n in POINTWISE_OPS if n not in inputs]
    assert not untested, f"pointwise ops without cases here: {untested}"
    for name, seen in inputs.items():
        want = (set(INTS) if name in _INT_ONLY else set(FLOATS) if name in _FLOAT_ONLY else set(FLOATS) | set(INTS))
        assert want <= seen, f"{name}: no cases with {sorted(d.name for d in want - seen)} tensors"


def test_module_docstring_examples_run():
    import doctest
    from torchlite.compiler import triton_ops
    assert doctest.testmod(triton_ops).failed == 0


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_rule_matches_numpy_kernel(kernels, case):
    got = run_case(kernels, case)
    problem = mismatches(case, got, expected(case))
    assert not problem, f"{case.label()}: {problem}\nexpression: " + lower_pointwise(
        case.op, _args(case), case.out, **case.params)


def test_unknown_op_is_refused_with_a_hint():
    with pytest.raises(NotImplementedError, match="no Triton rule for pointwise op 'frobnicate'"):
        lower_pointwise("frobnicate", [Arg("x0", dt.float32)], dt.float32)


def test_helpers_cast_explicitly_and_skip_no_op_casts():
    assert cast(Arg("x0", dt.float32), dt.float32) == "x0"
    assert cast(Arg("x0", dt.float16), dt.float32) == "x0.to(tl.float32)"
    assert cast(Arg("s1", None, float), dt.float32) == "tl.cast(s1, tl.float32)"   # even when already fp32
    assert cast(Arg("s1", None, float), dt.bfloat16) == "tl.cast(s1, tl.float32).to(tl.bfloat16)"
    assert cast(Arg("x0", dt.float64), dt.bfloat16) == "x0.to(tl.float32).to(tl.bfloat16)"
    assert cast(Arg("x0", dt.float32), dt.uint8) == "x0.to(tl.int64).to(tl.uint8)"
    assert tl_dtype(dt.bool) == "tl.int1" and opmath(dt.bfloat16) is dt.float32 and opmath(dt.int8) is dt.int8


def test_half_math_runs_in_float32_and_rounds_once():
    e = lower_pointwise("exp", [Arg("x0", dt.bfloat16)], dt.bfloat16)
    assert e == "libdevice.exp(x0.to(tl.float32)).to(tl.bfloat16)"
    assert lower_pointwise("div", [Arg("x0", dt.float32), Arg("x1", dt.float32)], dt.float32) == \
        "tl.math.div_rn(x0, x1)"                        # not x0 / x1: that is div.full.f32 (2 ulp) on NVIDIA


def test_float64_scalar_passed_as_fp32_is_rounded_to_fp32(kernels):
    """A Python float kernel argument is fp32 unless the signature says fp64 (as compiled Triton's JIT):
    a float64 computation then sees the scalar rounded to float32 (0.1 -> 0.10000000149011612)."""
    case = next(c for c in CASES if c.op == "add" and c.fp64)
    x, s = case.inputs
    as_fp32 = run_case(kernels, Case(case.op, case.inputs, case.params, False, case.out, case.name))
    assert not mismatches(case, as_fp32, REGISTRY["add"].numpy(x, float(np.float32(s)), dtype=np.dtype(np.float64)))
    assert mismatches(case, as_fp32, expected(case))
    assert not mismatches(case, run_case(kernels, case), expected(case))    # typed fp64: exact


def test_temporaries_are_stable_and_distinct_per_input():
    a = lower_pointwise("remainder", [Arg("x0", dt.float32), Arg("x1", dt.float32)], dt.float32)
    assert a == lower_pointwise("remainder", [Arg("x0", dt.float32), Arg("x1", dt.float32)], dt.float32)
    b = lower_pointwise("remainder", [Arg("x2", dt.float32), Arg("x1", dt.float32)], dt.float32)
    assert a.split(":=")[0] != b.split(":=")[0]


# --- legality: the same expressions compiled ahead of time for real targets --------------------------------

def _legality_source(name: str, cases: list[Case]) -> tuple[str, dict[str, str]]:
    """One kernel computing every case in ``cases`` from per-dtype input pointers and typed scalars."""
    sig = {f"p_{d.name}": f"*{_PTR[d.name]}" for d in ALL}
    sig.update({"sb": "i1", "si": "i32", "sl": "i64", "sf": "fp32", "sd": "fp64"})
    sig.update({f"o_{d.name}": f"*{_PTR[d.name]}" for d in ALL})
    lines = ["", "@triton.jit", f"def {name}({', '.join(sig)}, n, BLOCK: tl.constexpr):",
             "    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)", "    mask = offs < n"]
    for k, c in enumerate(cases):
        args = _args(c, prefix=f"c{k}_")
        for j, x in enumerate(c.inputs):
            if isinstance(x, np.ndarray):
                ptr = f"p_{dt.from_numpy_dtype(x.dtype).name}"
                lines.append(f"    c{k}_x{j} = tl.load({ptr} + offs + {j} * n, mask=mask)")
        lines.append(f"    c{k}_r = {lower_pointwise(c.op, args, c.out, **c.params)}")
        lines.append(f"    tl.static_assert(c{k}_r.dtype == {tl_dtype(c.out)})")
        lines.append(f"    tl.store(o_{c.out.name} + offs + {k} * n, c{k}_r, mask=mask)")
    sig.update({"n": "i32", "BLOCK": "constexpr"})
    return "\n".join(lines) + "\n", sig


_PTR = {"bool": "i1", "uint8": "u8", "int8": "i8", "int16": "i16", "int32": "i32", "int64": "i64",
        "float16": "fp16", "bfloat16": "bf16", "float32": "fp32", "float64": "fp64"}


_HEAVY = {"pow", "floor_divide", "remainder"}     # long expressions: one case per result dtype is enough


def _legality_cases(groups: int = 6) -> list[list[Case]]:
    """A sample covering, per op, each result dtype with tensor operands and with each kind of scalar
    operand (fp32, fp64, i32, i64, i1), plus every cast; split into a few kernels."""
    seen, chosen = set(), []
    for c in CASES:
        pattern = tuple("t" if isinstance(x, np.ndarray) else _scalar_ty(x, c.fp64) for x in c.inputs)
        key = (c.op, c.out, () if c.op in _HEAVY else pattern, tuple(sorted(map(str, c.params.items()))),
               tuple(str(x.dtype) for x in c.inputs if isinstance(x, np.ndarray)) if c.op == "cast" else ())
        if key not in seen:
            seen.add(key)
            chosen.append(c)
    size = -(-len(chosen) // groups)
    return [chosen[i:i + size] for i in range(0, len(chosen), size)]


@pytest.fixture(scope="module")
def legality_kernels(tmp_path_factory):
    groups = _legality_cases()
    parts, sigs = [], []
    for i, group in enumerate(groups):
        src, sig = _legality_source(f"legal_{i}", group)
        parts.append(src)
        sigs.append(sig)
    path = tmp_path_factory.mktemp("pointwise_legality") / "pointwise_legality.py"
    path.write_text(KERNEL_IMPORTS + "".join(parts))
    module = _import(path, "_triton_ops_legality")
    yield [(getattr(module, f"legal_{i}"), sig, len(g)) for i, (g, sig) in enumerate(zip(groups, sigs))]
    sys.modules.pop("_triton_ops_legality", None)


@pytest.mark.parametrize("part", range(6))
def test_rules_compile_for_sm80_and_sm90(legality_kernels, part):
    """Part 0 for sm_80, the others for sm_90: Triton's front end, MLIR, LLVM and ptxas accept every rule."""
    from triton.backends.compiler import GPUTarget
    from triton.compiler import ASTSource
    assert len(legality_kernels) == 6
    fn, sig, count = legality_kernels[part]
    constexprs = {"BLOCK": 128}
    compiled = triton.compile(ASTSource(fn=fn, signature=sig, constexprs=constexprs),
                              target=GPUTarget("cuda", 80 if part == 0 else 90, 32),
                              options={"num_warps": 4, "enable_fp_fusion": False})
    ptx = compiled.asm["ptx"]
    assert ".visible .entry" in ptx and count > 0
    assert "div.full.f32" not in ptx            # every fp32 division is IEEE (div_rn)
