"""The registry test harness: case records, input specs, input layouts, and running a case.

A ``Case`` names the op it exercises, a builder ``fn(m, *inputs)`` written once against the public API and run
with ``m = torchlite`` and ``m = torch``, its input specs (``F``: data in the case's dtype, ``Idx``/``Perm``:
int64 indices, ``Mask``: bool, ``V``: explicit values, ``DT``: the dtype object itself), the dtypes it runs in
(float64 and float32, or the natural dtypes of integer/bool ops), and optionally a numpy/scipy float64 reference
``ref(*arrays)``. Input values are the same for every layout and for torch and torchlite (one numpy array per
input, seeded by the case id)::

    cases: list[Case] = []
    case = case_adder(cases)
    case("exp", lambda m, x: x.exp(), F(3, 4, lo=-3, hi=3), ref=np.exp)
    run(torchlite, assign_ids(cases)[0], "float32", "noncontig")   # exp of a (3, 4) transposed view
"""
from __future__ import annotations

import math
import zlib
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pytest

import torchlite as tl
from conftest import assert_close

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
    id: str = ""


def case_adder(cases: list[Case]) -> Callable[..., Case]:
    """A ``case(op, fn, *inputs, **fields)`` that makes a ``Case`` and appends it to ``cases``."""
    def case(op: str, fn: Callable, *inputs, **fields) -> Case:
        c = Case(op, fn, tuple(inputs), **fields)
        cases.append(c)
        return c
    return case


def assign_ids(cases: list[Case]) -> list[Case]:
    """Sets each case's id, ``op-tag``, numbered from the second of a kind on (``add-special2``); returns
    ``cases``. The ids, and with them the test ids and the seeds of the input values, follow the order of
    ``cases``."""
    seen: dict = {}
    for c in cases:
        base = c.op + (f"-{c.tag}" if c.tag else "")
        k = seen.get(base, 0)
        seen[base] = k + 1
        c.id = base if k == 0 else f"{base}{k + 1}"
    return cases


# --- running a case -----------------------------------------------------------------------------------------

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


def inputs(m, c: Case, dtype: str, layout: str, specs: tuple) -> list:
    """The inputs of ``c`` (``specs``: its inputs or its zero-size ones) as ``m``'s tensors in ``layout``."""
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


def np_inputs(c: Case, dtype: str) -> list:
    """The inputs of ``c`` as numpy arrays (numpy dtypes for ``DT``), for its reference."""
    rng = np.random.default_rng(zlib.crc32(c.id.encode()))
    out = []
    for spec in c.inputs:
        a = make(spec, dtype, rng)
        out.append(np.dtype(a) if isinstance(spec, DT) else a)
    return out


def run(m, c: Case, dtype: str, layout: str = "contiguous", *, empty: bool = False):
    fn = (c.empty_fn or c.fn) if empty else c.fn
    return fn(m, *inputs(m, c, dtype, layout, c.empty if empty else c.inputs))


def check_against(got, expected) -> None:
    """``got`` equals torch's ``expected`` in shape, dtype name and values, within ``TOL`` of its dtype."""
    name = str(expected.dtype).replace("torch.", "")
    rtol, atol = TOL.get(name, (0.0, 0.0))
    assert_close(got, expected, rtol=rtol, atol=atol)


def graph_ops(result) -> set:
    """The names of the ops in the captured torchlite graph of ``result``."""
    gm = tl.fx.capture(result)
    return {n.target.name for n in gm.graph.nodes if n.op == "call_function"}


# --- parametrizing ------------------------------------------------------------------------------------------

def layouts(c: Case, among: tuple = LAYOUTS) -> list[str]:
    """The layouts that differ for this case: noncontig needs an input of 1 dim or more, fresh any tensor."""
    tensors = [s for s in c.inputs if not isinstance(s, DT)]
    return [lay for lay in among if lay == "contiguous" or (lay == "fresh" and tensors)
            or (lay == "noncontig" and any(len(s.shape) > 0 for s in tensors))]


def params(items) -> list:
    """pytest params from (case, id suffix, values): the param id is the case id, then ``-suffix``."""
    return [pytest.param(*values, id=c.id + (f"-{suffix}" if suffix else "")) for c, suffix, values in items]
