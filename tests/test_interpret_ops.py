"""Differential: every registry op on the ``interpret`` device against the numpy (cpu) backend.

(``TORCHLITE_OPS_DEVICE=cuda`` runs the same cases on a GPU instead; see ``DEVICE``.)

``interpret`` runs the compiler's generated Triton kernels in Triton's interpreter; ops the compiler has no
Triton rule for run as *extern* calls of their registry (numpy) kernel. Every case of the registry case tables
(``_registry_cases_*``; ``_registry_harness`` says what a case holds) runs its builder with ``m = torchlite`` on
cpu and on interpret, from the same input values:

- ``test_interpret_matches_cpu``: each case in each of its dtypes and in the layouts contiguous and noncontig
  (a strided view of a larger tensor), plus the extra cases below. Results have the same shape and dtype;
  integers and bool are equal; floats agree within the harness ``TOL`` (float16/bfloat16: ``HALF_TOL``), with
  NaN at the same places;
- ``test_empty_interpret_matches_cpu``: each case's zero-size variant (every load and store masked off);
- ``test_half_interpret_matches_cpu``: a few cases in float16 and bfloat16 (``HALF_CASES``);
- extra cases (``EXTRA``): odd sizes 1, 17 and 1023 (a one-element block, a block with masked lanes, several
  programs with a masked tail) for pointwise, reduction and movement ops, and looped reductions (rows longer
  than the persistent limit) with NaN and infinities.

Whether each case runs as generated kernels or calls an extern comes from ``torchlite.compiler.explain`` on the
cpu inputs (nothing runs): ``test_runs_as_triton_kernels`` (ops with Triton rules: every pointwise op, movement
and index-rule ops, the reductions, matmul/linear and the decomposed composites; an extern there is a
regression) and ``test_runs_as_extern_call`` (the ops of ``EXTERN``, which must still be extern: an op that now
compiles must leave the list). ``test_per_op_report`` prints the table (``pytest -rP -k per_op_report``).
"""
from __future__ import annotations

import functools
import os
import zlib

import numpy as np
import pytest

import _registry_cases_edge
import _registry_cases_other
import _registry_cases_pointwise
import torchlite as tl
from _registry_harness import DT, INTS, TOL, Case, F, _layout, assign_ids, case_adder, graph_ops, layouts, make
from conftest import to_numpy
from torchlite.compiler import explain

# The device the generated kernels run on: ``interpret`` here and in CI; on a machine with a GPU,
# ``TORCHLITE_OPS_DEVICE=cuda pytest tests/test_interpret_ops.py`` runs the whole op suite on it.
DEVICE = os.environ.get("TORCHLITE_OPS_DEVICE", "interpret")
from torchlite.compiler.decompose import DECOMPOSITIONS
from torchlite.compiler.patterns import REDUCTIONS, ROW_OPS
from torchlite.compiler.index_rules import RULES

pytestmark = [pytest.mark.filterwarnings("ignore:.*degrees of freedom is <= 0:UserWarning"),
              pytest.mark.filterwarnings("ignore::RuntimeWarning")]

# The ids count repeats of op and tag in this order and seed the input values: the order of test_registry.py.
CASES = assign_ids(_registry_cases_pointwise.CASES + _registry_cases_other.CASES + _registry_cases_edge.CASES)

# -- extra cases: odd sizes and looped reductions ----------------------------------------------------------------
EXTRA: list[Case] = []
_case = case_adder(EXTRA)
for _n in (1, 17, 1023):
    _case("add", lambda m, x, y: x + y, F(_n), F(_n), dtypes=("float32", "int32"), tag=f"odd{_n}")
    _case("mul", lambda m, x, y: x * y, F(3, _n), F(_n), tag=f"odd{_n}")          # 3 * 1023: 3 programs, a tail
    _case("sum", lambda m, x: x.sum(-1), F(3, _n), dtypes=("float32", "int64"), tag=f"odd{_n}")
    _case("sum", lambda m, x: x.sum(0), F(_n, 5), tag=f"odd{_n}_dim0")             # rows strided in memory
    _case("argmax", lambda m, x: x.argmax(-1), F(2, _n, special=True), tag=f"odd{_n}")
    _case("amin", lambda m, x: x.amin(0), F(_n, 3, special=True), tag=f"odd{_n}")
    _case("flip", lambda m, x: x.flip(-1), F(2, _n), tag=f"odd{_n}")
    _case("pad", lambda m, x: m.nn.functional.pad(x, (1, 2), value=0.5), F(3, _n), tag=f"odd{_n}")
    _case("cat", lambda m, x, y: m.cat([x, y], -1), F(2, _n), F(2, 3), tag=f"odd{_n}")
# rows longer than the persistent limit (1024) are walked in a loop: NaN and infinities must still win
_case("amax", lambda m, x: x.amax(-1), F(3, 1500, special=True), tag="looped")
_case("argmin", lambda m, x: x.argmin(-1), F(3, 1500, special=True), tag="looped")
_case("argmax", lambda m, x: x.argmax(), F(2, 1100, lo=-3, hi=3, step=1.0), dtypes=("float32", "int64"),
      tag="looped_ties")
_case("any", lambda m, x: x.any(-1), F(2, 1300, step=1.0, lo=-0.4, hi=0.4), dtypes=("float32", "bool"), tag="looped")
_case("pad", lambda m, x: m.nn.functional.pad(x, (3, 2), mode="reflect").sum(-1), F(2, 1200), tag="looped_reflect")
assign_ids(EXTRA)

ALL = CASES + EXTRA
BY_ID = {c.id: c for c in ALL}

# -- how ops run: generated kernels, or an extern call of the registry kernel -------------------------------------
EXTERN = {   # op -> why it has no Triton rule yet (it runs its registry kernel on the device's host copies)
    "linspace": "no index rule yet: the registry kernel's symmetric fp64 FMA range (and per-op rounding for "
                "float16/bfloat16, truncation for ints) is not reproduced bit for bit",
    "logspace": "no index rule: the registry kernel calls the C library's pow in double, which libdevice's pow "
                "does not match bit for bit",
}
# case id -> why that case of an op with a Triton rule is an extern call (the rule's guard refuses its params)
EXTERN_CASES = {f"scatter-{r}": "scatter reductions other than overwrite and sum (compiler/index_rules.py)"
                for r in ("amax", "amax_int", "amin", "mean", "mean_noself", "prod", "prod_noself", "reduce_multiply")}
EXTERN_CASES.update({c: "scans of 0-d inputs and of rows longer than a persistent reduction's (1024) run as the "
                        "registry kernel (compiler/patterns.py classify)"
                     for c in ("cumsum-0d", "cumsum-long", "cumprod-0d")})
EXTERN_CASES.update({c: "index_put overwrites (the last write wins) and several index tensors: only accumulation "
                        "through one index tensor is a reduction (compiler/decompose.py)"
                     for c in ("index_put", "index_put-0d_index", "index_put-into_input", "index_put-two")})
EXTERN_CASES.update({c: "sorting a 0-d input runs as the registry kernel" for c in ("argsort-0d", "topk_indices-0d")})
EXTERN_WHEN = {   # op -> (in which case dtypes it is extern, why)
    "argsort": (lambda dtype: dtype in ("float64", "int64"),
                "64-bit values need sort keys wider than the 32 bits codegen packs with the lane index"),
    "topk_indices": (lambda dtype: dtype in ("float64", "int64"),
                     "64-bit values need sort keys wider than the 32 bits codegen packs with the lane index"),
    "matmul": (lambda dtype: dtype in INTS or dtype == "bool",
               "the matmul template (kernels/matmul.py) takes float operands only"),
}
# Ops that must compile: their kinds and rule tables (an op of EXTERN in here would contradict itself).
TRITON_CAPABLE = ({n for n, op in tl.ops.REGISTRY.items() if op.kind == "pointwise"} | set(RULES) | set(REDUCTIONS)
                  | set(ROW_OPS)
                  | {"matmul"} | set(DECOMPOSITIONS))

# -- known bugs outside this file's reach (strict: they fail loudly once fixed) ------------------------------------
# compiler/pipeline.py (program_source) writes an extern call's params with repr(): a dtype param prints as
# ``torchlite.float64`` and a device as ``device(type='cpu')``, names the launch program does not define. Fix:
# render dtypes by their short name (``f64``, in the program's namespace) and devices as strings.

# -- half types --------------------------------------------------------------------------------------------------
HALF_CASES = ("add", "mul-scalar", "div", "exp", "sigmoid", "gelu", "where", "clamp", "sum", "mean", "amax",
              "argmax", "all", "softmax", "log_softmax", "var", "matmul", "linear", "pad-reflect", "cat", "gather")
# A half result is rounded once per op; composites decompose into several ops (linear: a matmul rounded to the
# half type, then the bias add) where the cpu kernel rounds once: up to 2 ulps (eps 2**-10, 2**-7) apart.
HALF_TOL = {"float16": (2 * 2.0 ** -10, 1e-5), "bfloat16": (2 * 2.0 ** -7, 1e-5)}


# -- building and comparing -----------------------------------------------------------------------------------------
def _inputs(c: Case, dtype: str, layout: str, device: str, empty: bool = False) -> list:
    """The inputs of ``c`` as tensors on ``device`` (``_registry_harness.inputs`` with a device): the same values
    for every device and layout, a noncontig input a strided view of a larger tensor on that device."""
    rng = np.random.default_rng(zlib.crc32(c.id.encode()))
    out = []
    for spec in (c.empty if empty else c.inputs):
        a = make(spec, dtype, rng)
        if isinstance(spec, DT):
            out.append(getattr(tl, a))
            continue
        base, view = _layout(a, layout)
        out.append(view(tl.tensor(base, device=device)))
    return out


def _run(c: Case, dtype: str, layout: str, device: str, empty: bool = False):
    fn = (c.empty_fn or c.fn) if empty else c.fn
    args = _inputs(c, dtype, layout, device, empty)
    old = tl.get_default_device()
    tl.set_default_device(device)                   # creation ops (arange, eye, full) take the default device
    try:
        return fn(tl, *args)
    finally:
        tl.set_default_device(old)


def _tensors(r) -> list:
    return [t for x in r for t in _tensors(x)] if isinstance(r, (tuple, list)) else [r]


def _compare(c: Case, dtype: str, layout: str, empty: bool = False) -> None:
    want = _tensors(_run(c, dtype, layout, "cpu", empty))
    got = _tensors(_run(c, dtype, layout, DEVICE, empty))
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.device.type == DEVICE, f"result on {g.device}"
        assert (tuple(g.shape), g.dtype) == (tuple(w.shape), w.dtype), \
            f"interpret gives {g.dtype}{list(g.shape)}, cpu {w.dtype}{list(w.shape)}"
        gv, wv = to_numpy(g), to_numpy(w)
        assert gv.shape == wv.shape and gv.dtype == wv.dtype, f"values {gv.dtype}{gv.shape} != {wv.dtype}{wv.shape}"
        if w.dtype.is_floating_point:
            rtol, atol = {**TOL, **HALF_TOL}[w.dtype.name]
            np.testing.assert_allclose(gv.astype(np.float64), wv.astype(np.float64), rtol=rtol, atol=atol,
                                       equal_nan=True)
        else:
            np.testing.assert_array_equal(gv, wv)


def _param(c: Case, cid: str, suffix: str, values: tuple):
    return pytest.param(*values, id=f"{cid}-{suffix}" if suffix else cid)


# -- the differential tests ---------------------------------------------------------------------------------------
def test_every_registry_op_has_a_case():
    covered = {c.op for c in CASES}
    assert set(tl.ops.REGISTRY) - covered == set(), "registry ops without a case in tests/_registry_cases_*.py"


def test_case_ids_are_unique_and_lists_name_cases():
    assert len(BY_ID) == len(ALL), "an extra case repeats the id of a table case"
    assert set(HALF_CASES) <= set(BY_ID)
    assert set(EXTERN_CASES) <= set(BY_ID), "EXTERN_CASES names cases that do not exist"


@pytest.mark.parametrize("cid", [pytest.param(c.id, id=c.id) for c in EXTRA])
def test_extra_case_exercises_its_op(cid):
    c = BY_ID[cid]
    assert c.op in graph_ops(_run(c, c.dtypes[0], "contiguous", "cpu"))


@pytest.mark.parametrize("cid,dtype,layout", [
    _param(c, c.id, f"{d}-{lay}", (c.id, d, lay))
    for c in ALL for d in c.dtypes for lay in layouts(c, ("contiguous", "noncontig"))])
def test_interpret_matches_cpu(cid, dtype, layout):
    _compare(BY_ID[cid], dtype, layout)


@pytest.mark.parametrize("cid", [_param(c, c.id, "", (c.id,)) for c in CASES if c.empty is not None])
def test_empty_interpret_matches_cpu(cid):
    c = BY_ID[cid]
    _compare(c, c.dtypes[0], "contiguous", empty=True)


@pytest.mark.parametrize("cid,dtype,layout", [
    _param(BY_ID[cid], cid, f"{d}-{lay}", (cid, d, lay))
    for cid in HALF_CASES for d in ("float16", "bfloat16") for lay in layouts(BY_ID[cid], ("contiguous", "noncontig"))])
def test_half_interpret_matches_cpu(cid, dtype, layout):
    _compare(BY_ID[cid], dtype, layout)


# -- how each case runs -------------------------------------------------------------------------------------------
def _extern_expected(op: str, dtype: str, cid: str = "") -> bool:
    return op in EXTERN or (op in EXTERN_WHEN and EXTERN_WHEN[op][0](dtype)) or cid in EXTERN_CASES


@functools.cache
def _explained(cid: str, dtype: str) -> tuple[tuple[str, ...], frozenset]:
    """(kernel names, ops called as externs) of the case's program, from explain on cpu inputs."""
    c = BY_ID[cid]
    report = explain(lambda *a: c.fn(tl, *a), *_inputs(c, dtype, "contiguous", "cpu"))
    return tuple(k.name for k in report.kernels), frozenset(e.split(" = ", 1)[1] for e in report.externs)


_RUNS = [(c.id, d) for c in ALL for d in c.dtypes]


@pytest.mark.parametrize("cid,dtype", [pytest.param(cid, d, id=f"{cid}-{d}") for cid, d in _RUNS
                                       if not _extern_expected(BY_ID[cid].op, d, cid)])
def test_runs_as_triton_kernels(cid, dtype):
    kernels, externs = _explained(cid, dtype)
    unexpected = sorted(op for op in externs if not _extern_expected(op, dtype, cid))
    assert not unexpected, (f"{cid} ({dtype}) calls {unexpected} as extern ops: a regression of an op with a Triton "
                            f"rule (or, for an op that truly has none, an entry of EXTERN with the reason)")
    assert kernels or externs, f"{cid} ({dtype}) compiles to nothing"


@pytest.mark.parametrize("cid,dtype", [pytest.param(cid, d, id=f"{cid}-{d}") for cid, d in _RUNS
                                       if _extern_expected(BY_ID[cid].op, d, cid)])
def test_runs_as_extern_call(cid, dtype):
    c = BY_ID[cid]
    _, externs = _explained(cid, dtype)
    assert c.op in externs, (f"{c.op} now compiles to Triton kernels in {cid} ({dtype}): remove it from EXTERN "
                             f"(or narrow its EXTERN_WHEN condition, or EXTERN_CASES) in {__name__}.py")
    unexpected = sorted(op for op in externs if not _extern_expected(op, dtype, cid))
    assert not unexpected, f"{cid} ({dtype}) also calls {unexpected} as extern ops"


def test_extern_list_names_ops_without_triton_rules():
    assert set(EXTERN) <= set(tl.ops.REGISTRY), "EXTERN names ops that are not registered"
    assert set(EXTERN) & TRITON_CAPABLE == set(), "ops with a Triton rule or decomposition cannot be on EXTERN"
    uncovered = set(tl.ops.REGISTRY) - TRITON_CAPABLE - set(EXTERN)
    assert uncovered == set(), "registry ops with neither a Triton rule nor an EXTERN entry"


def test_per_op_report():
    """Per registry op: in how many (case, dtype) runs it compiled to kernels and in how many it was extern."""
    kernels_only: dict = {}
    extern: dict = {}
    for cid, d in _RUNS:
        op = BY_ID[cid].op
        _, externs = _explained(cid, d)
        target = extern if op in externs else kernels_only
        target[op] = target.get(op, 0) + 1
    lines = []
    for op in sorted(tl.ops.REGISTRY):
        k, e = kernels_only.get(op, 0), extern.get(op, 0)
        why = EXTERN.get(op) or (EXTERN_WHEN[op][1] if op in EXTERN_WHEN and e else "")
        how = "triton" if not e else ("extern" if not k else "triton+extern")
        lines.append(f"{op:20s} {how:14s} kernels in {k:3d} runs, extern in {e:3d}  {why}")
    print("\n".join(lines))
    n_extern = sum(1 for op in tl.ops.REGISTRY if extern.get(op) and not kernels_only.get(op))
    n_mixed = sum(1 for op in tl.ops.REGISTRY if extern.get(op) and kernels_only.get(op))
    print(f"{len(tl.ops.REGISTRY) - n_extern - n_mixed} ops as Triton kernels, {n_extern} extern, "
          f"{n_mixed} both (by dtype)")
    assert set(kernels_only) | set(extern) == set(tl.ops.REGISTRY)
