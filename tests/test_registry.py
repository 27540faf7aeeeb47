"""Registry-wide differential tests: every op in ``torchlite.ops.REGISTRY`` against torch and numpy float64.

The cases live in the case tables ``_registry_cases_pointwise``, ``_registry_cases_other`` and
``_registry_cases_edge`` (``_registry_harness`` says what a case holds, and builds and runs it).
``test_every_registry_op_has_a_case`` fails when a new op lands without a case,
``test_every_registry_op_has_an_empty_case`` when it has no zero-size case. For each case:

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
"""
from __future__ import annotations

import numpy as np
import pytest

import _registry_cases_edge
import _registry_cases_other
import _registry_cases_pointwise
import torchlite as tl
from _registry_harness import (INTS, TOL, assign_ids, check_against, graph_ops, inputs, layouts, np_inputs, params,
                               run)
from conftest import to_numpy

pytestmark = [pytest.mark.filterwarnings("ignore:.*degrees of freedom is <= 0:UserWarning"),
              pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")]

# The ids count repeats of op and tag in this order (``add-special2``) and seed the input values: keep it.
CASES = assign_ids(_registry_cases_pointwise.CASES + _registry_cases_other.CASES + _registry_cases_edge.CASES)
BY_ID = {c.id: c for c in CASES}


def test_every_registry_op_has_a_case():
    covered = {c.op for c in CASES}
    assert set(tl.ops.REGISTRY) - covered == set(), "registry ops without a case in tests/_registry_cases_*.py"
    assert covered - set(tl.ops.REGISTRY) == set(), "cases naming ops that are not registered"


def test_every_registry_op_has_an_empty_case():
    with_empty = {c.op for c in CASES if c.empty is not None}
    assert set(tl.ops.REGISTRY) - with_empty == set(), "registry ops without a zero-size case"


def test_case_ids_are_unique_and_dtypes_known():
    assert len(BY_ID) == len(CASES)
    known = set(TOL) | set(INTS) | {"bool"}
    for c in CASES:
        assert c.dtypes and set(c.dtypes) <= known, c.id


@pytest.mark.parametrize("cid", params([(c, "", (c.id,)) for c in CASES]))
def test_case_exercises_its_op(cid):
    c = BY_ID[cid]
    ops = graph_ops(run(tl, c, c.dtypes[0]))
    assert c.op in ops, f"case {cid} builds {sorted(ops)}, not {c.op}"


@pytest.mark.parametrize("cid,dtype,layout", params(
    [(c, f"{d}-{lay}", (c.id, d, lay)) for c in CASES for d in c.dtypes for lay in layouts(c)]))
def test_matches_torch(cid, dtype, layout):
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    c = BY_ID[cid]
    got = run(tl, c, dtype, layout)
    expected = run(torch, c, dtype, layout)
    check_against(got, expected)


@pytest.mark.parametrize("cid", params([(c, "", (c.id,)) for c in CASES if c.ref is not None]))
def test_matches_numpy_float64(cid):
    c = BY_ID[cid]
    dtype = "float64" if "float64" in c.dtypes else c.dtypes[0]
    got = run(tl, c, dtype)
    want = np.asarray(c.ref(*np_inputs(c, dtype)))
    assert tuple(got.shape) == want.shape, f"shape {tuple(got.shape)} != {want.shape}"
    g = to_numpy(got)
    assert g.shape == want.shape, f"value shape {g.shape} != {want.shape}"
    if got.dtype.is_floating_point or want.dtype.kind == "f":
        np.testing.assert_allclose(g.astype(np.float64), want.astype(np.float64), rtol=1e-12, atol=1e-14,
                                   equal_nan=True)
    else:
        np.testing.assert_array_equal(g, want)


@pytest.mark.parametrize("cid", params([(c, "", (c.id,)) for c in CASES if c.empty is not None]))
def test_empty_matches_torch(cid):
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    c = BY_ID[cid]
    sizes = [t.numel() for t in inputs(tl, c, c.dtypes[0], "contiguous", c.empty) if isinstance(t, tl.Tensor)]
    got = run(tl, c, c.dtypes[0], empty=True)
    assert 0 in sizes or got.numel() == 0, f"the zero-size variant of {cid} has no zero-size input or result"
    assert c.op in graph_ops(got), f"the zero-size variant of {cid} does not build {c.op}"
    check_against(got, run(torch, c, c.dtypes[0], empty=True))


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


@pytest.mark.parametrize("cid,dtype,layout", params(
    [(c, f"{d}-{lay}", (c.id, d, lay)) for c in CASES for d in c.dtypes[:2]
               for lay in layouts(c, ("contiguous", "noncontig"))]))
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

