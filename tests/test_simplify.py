"""The ``simplify`` prims pass (compiler/simplify.py): exact identities and folding of structural constants.

Graphs are built by hand with registry ops (the literals a decomposition writes never come from user code,
whose scalars are placeholders), simplified, and run before and after by ``GraphModule`` on cpu: the outputs
must be equal bit for bit, with -0.0, NaN and infinities in the inputs.
"""
from __future__ import annotations

import numpy as np
import pytest

import torchlite as tl
from torchlite.compiler import explain
from torchlite.compiler.decompose import Builder
from torchlite.compiler.pipeline import PRIMS_PASSES
from torchlite.compiler.simplify import simplify
from torchlite.fx import Graph, GraphModule

SPECIAL = np.array([[-0.0, 0.0, np.nan, np.inf, -np.inf], [1.5, -2.25, 3e38, -1e-45, 7.0]], np.float32)


def _graph(build, inputs):
    """A graph of placeholders for ``inputs`` (numpy arrays) and the nodes ``build(b, *placeholders)`` adds
    through a decompose ``Builder``; returns ``(graph, outputs)``."""
    g = Graph()
    phs = []
    for i, a in enumerate(inputs):
        p = g.placeholder(f"x{i}")
        p.meta.update(shape=a.shape, dtype=tl.tensor(a).dtype, device=tl.device("cpu"))
        phs.append(p)
    out = g.output(None)
    out.meta["origin"] = "test"             # the Builder names new nodes' origin after its anchor
    b = Builder(g, out)
    result = build(b, *phs)
    out.args = (tuple(result) if isinstance(result, (list, tuple)) else (result,),)
    return g


def _ops(g) -> list[str]:
    return [n.target.name for n in g.nodes if n.op == "call_function"]


def _bits(gm, inputs) -> list[bytes]:
    outs = gm(*[tl.tensor(a) for a in inputs])
    return [np.ascontiguousarray(o.numpy()).tobytes() + str(o.dtype).encode() + str(o.shape).encode() for o in outs]


def _check(build, inputs, remaining):
    g = _graph(build, inputs)
    before = _bits(GraphModule({}, g), inputs)
    simplify(g)
    assert _ops(g) == remaining
    assert _bits(GraphModule({}, g), inputs) == before


def test_exact_identities_disappear():
    def build(b, x):
        y = b.op("mul", x, 1.0)
        y = b.op("mul", 1, y)
        y = b.op("div", y, 1)
        y = b.op("sub", y, 0.0)
        y = b.op("add", y, -0.0)
        y = b.op("pow", y, 1.0)
        y = b.op("cast", y, to=tl.float32)
        y = b.op("reshape", y, shape=(2, 5))
        y = b.op("expand", y, shape=(2, 5))
        y = b.op("permute", b.op("permute", y, dims=(1, 0)), dims=(1, 0))
        y = b.op("neg", b.op("neg", y))
        return b.op("exp", y)                   # something to return that is not an identity
    _check(build, [SPECIAL], ["exp"])


def test_inexact_rewrites_are_not_made():
    """``x + 0.0`` turns -0.0 into +0.0; ``x * 0`` turns inf into NaN; a cast that rounds changes values;
    an identity that would promote (int * 1.0) or broadcast changes the dtype or shape."""
    ints = np.arange(10, dtype=np.int32).reshape(2, 5)

    def build(b, x, i):
        return (b.op("add", x, 0.0), b.op("mul", x, 0.0), b.op("cast", x, to=tl.float16), b.op("mul", i, 1.0),
                b.op("mul", b.op("reshape", x, shape=(2, 1, 5)), 1.0))
    _check(build, [SPECIAL, ints], ["add", "mul", "cast", "mul", "reshape", "mul"])


def test_zeros_and_ones_of_full_count_as_constants():
    """An integer zero (literal or a full of it) is an identity of integers; a float +0.0 full is not one of
    floats (the sign of zero), and a full of ones is one of multiplication."""
    ints = np.array([[-3, 0, 7]], np.int64)
    zeros = lambda b, dt: b.op("full", 0, shape=(1, 3), dtype_=dt, device=None)      # noqa: E731
    _check(lambda b, i: b.op("neg", b.op("add", b.op("add", i, 0), zeros(b, tl.int64))), [ints], ["neg"])
    floats = SPECIAL[:1, :3]
    _check(lambda b, x: b.op("neg", b.op("add", x, zeros(b, tl.float32))), [floats], ["full", "add", "neg"])
    ones = lambda b: b.op("full", 1.0, shape=(1, 3), dtype_=tl.float32, device=None)  # noqa: E731
    _check(lambda b, x: b.op("neg", b.op("mul", ones(b), x)), [floats], ["neg"])


def test_constants_fold_into_one_full():
    """Pointwise math on literal-filled ``full`` nodes is computed once (by the op's numpy kernel) and
    movement ops of a constant are a constant of the new shape."""
    def build(b, x):
        c = b.op("full", 0.5, shape=(5,), dtype_=tl.float32, device=None)
        c = b.op("exp", b.op("mul", c, 3.0))
        c = b.op("expand", b.op("reshape", c, shape=(1, 5)), shape=(2, 5))
        return b.op("add", x, c)
    g = _graph(build, [SPECIAL])
    simplify(g)
    assert _ops(g) == ["full", "add"]
    full = next(n for n in g.nodes if n.op == "call_function" and n.target.name == "full")
    assert full.args[0] == float(np.exp(np.float32(0.5) * np.float32(3.0))) and full.kwargs["shape"] == (2, 5)
    _check(build, [SPECIAL], ["full", "add"])


def test_outputs_are_never_replaced_by_their_inputs():
    """A returned identity would make two tensors share a buffer (an in-place update of one would change
    the other), so it stays a node of its own."""
    _check(lambda b, x: (b.op("mul", x, 1.0), b.op("cast", x, to=tl.float32)), [SPECIAL], ["mul", "cast"])


def test_user_scalars_stay_runtime_arguments():
    """``x * 1`` in user code multiplies by a placeholder (one program for every value): nothing folds, and
    the program compiled for 1.0 computes 2.0 correctly."""
    x = tl.tensor(SPECIAL)
    r = explain(lambda x: x * 1.0, x)
    assert "mul" in str(r.stages["simplify"])
    xi = tl.tensor(SPECIAL, device="interpret")
    with np.errstate(over="ignore"):
        for v in (1.0, 2.0):
            assert np.array_equal((xi * v).numpy(), SPECIAL * np.float32(v), equal_nan=True)


def test_simplify_runs_after_decompose_and_shows_in_explain():
    assert [p.__name__ for p in PRIMS_PASSES][:2] == ["decompose", "simplify"]
    x = tl.tensor(SPECIAL)
    r = explain(lambda x: x.permute(1, 0).permute(1, 0).reshape(2, 5).neg().neg().exp(), x)
    code = str(r.stages["simplify"])
    assert "permute" not in code and "neg" not in code and "exp" in code


@pytest.mark.filterwarnings("ignore:overflow encountered in cast:RuntimeWarning")
@pytest.mark.parametrize("dtype", [np.float16, np.float64])
def test_folding_keeps_the_dtype_rounding(dtype):
    def build(b, x):
        c = b.op("full", 0.1, shape=(2, 5), dtype_=tl.tensor(np.zeros(1, dtype)).dtype, device=None)
        return b.op("add", x, b.op("mul", c, 3.0))
    _check(build, [SPECIAL.astype(dtype)], ["full", "add"])
