"""``torchlite.set_float32_matmul_precision``: TensorFloat32 as an explicit option of the generated kernels.

"highest" (the default) keeps every fp32 dot IEEE; "high" and "medium" put the fp32 dots of the matmul,
MLP, attention and attention-block templates on tf32 tensor cores. The setting is part of a program's
identity: programs compiled under one are never reused under another (in memory or on disk). Triton's
interpreter computes full fp32 whatever the dot says, so values here are checked against numpy float64
within tf32's error (what a GPU run must also meet); resource usage of the tf32 kernels is checked ahead of
time for sm_80 and sm_90.
"""
from __future__ import annotations

import contextlib

import numpy as np
import pytest

import torchlite as tl
import torchlite.nn.functional as F
from torchlite.compiler import explain
from torchlite.compiler.pipeline import graph_key
from torchlite.devices import backend_for

from test_prologue_fusion import _block

RNG = np.random.default_rng(5)


@contextlib.contextmanager
def precision(p):
    old = tl.get_float32_matmul_precision()
    tl.set_float32_matmul_precision(p)
    try:
        yield
    finally:
        tl.set_float32_matmul_precision(old)


def _sources(fn, *args) -> str:
    return "".join(k.source for k in explain(fn, *args).kernels)


def test_default_is_highest_and_unknown_values_raise():
    assert tl.get_float32_matmul_precision() == "highest"
    with pytest.raises(ValueError, match="'low' is not one of \\('highest', 'high', 'medium'\\)"):
        tl.set_float32_matmul_precision("low")
    assert tl.get_float32_matmul_precision() == "highest"


@pytest.mark.parametrize("setting", ["high", "medium"])
def test_every_fp32_template_dot_uses_tf32_when_allowed(setting):
    fn, _, arrays = _block(2, 16, 32, 4)
    args = [tl.tensor(a) for a in arrays]
    x, w = tl.tensor(RNG.standard_normal((64, 32)).astype(np.float32)), tl.tensor(RNG.standard_normal((16, 32)))
    programs = [(fn, args), (lambda x: F.linear(x, w.float()), [x]),
                (lambda x: (x @ x.T).softmax(-1) @ x, [x])]
    for f, a in programs:
        src = _sources(f, *a)
        assert 'input_precision="tf32"' not in src and 'input_precision="ieee"' in src
        with precision(setting):
            src = _sources(f, *a)
        assert 'input_precision="tf32"' in src and 'input_precision="ieee"' not in src
    half = tl.tensor(RNG.standard_normal((64, 32)).astype(np.float16))
    with precision(setting):                            # fp16 dots were never fp32: unchanged
        assert "input_precision" not in _sources(lambda x: x @ x.T, half)


def test_programs_compiled_under_one_setting_are_not_reused_under_another():
    from torchlite.fx.capture import to_graph
    from torchlite.lazy import capture
    x = tl.tensor(RNG.standard_normal((8, 8)).astype(np.float32))
    graph = to_graph(capture([(x @ x).node]))
    key = graph_key(graph, None)
    backend = backend_for(tl.device("interpret"))
    (tl.tensor(x.numpy(), device="interpret") @ tl.tensor(x.numpy(), device="interpret")).numpy()
    assert backend.cache_info()["programs"] > 0
    with precision("high"):
        assert backend.cache_info()["programs"] == 0        # the setting changed: compiled programs are stale
        assert graph_key(graph, None) != key
    assert graph_key(graph, None) == key


def test_tf32_results_stay_within_tf32_error():
    """What a GPU must meet too: relative to |A| @ |B|, 2 * 2**-11 per product (both operands rounded to 10
    mantissa bits) plus fp32 accumulation."""
    a = RNG.standard_normal((33, 100)).astype(np.float32)
    b = RNG.standard_normal((100, 20)).astype(np.float32)
    with precision("high"):
        got = (tl.tensor(a, device="interpret") @ tl.tensor(b, device="interpret")).numpy().astype(np.float64)
    ref = a.astype(np.float64) @ b.astype(np.float64)
    bound = np.abs(a).astype(np.float64) @ np.abs(b).astype(np.float64) * (2 * 2.0 ** -11 + 100 * 2.0 ** -24)
    assert np.all(np.abs(got - ref) <= bound)


def test_tf32_kernels_compile_for_sm80_and_sm90_without_spills():
    from torchlite.compiler.aot import compile_many
    import dataclasses
    fn, _, arrays = _block(4, 64, 128, 4, True)
    g, bta = tl.ones(128), tl.zeros(128)
    x = tl.tensor(RNG.standard_normal((256, 128)).astype(np.float32))
    w = tl.tensor(RNG.standard_normal((512, 128)).astype(np.float32))
    with precision("high"):
        specs = list(explain(fn, *(tl.tensor(a) for a in arrays)).kernels)
        specs += explain(lambda x: F.gelu(F.linear(F.layer_norm(x, (128,), g, bta), w)), x).kernels
    specs = [dataclasses.replace(s, name=f"{s.name}_tf{i}", source=s.source.replace(f"def {s.name}(",
                                                                                     f"def {s.name}_tf{i}("))
             for i, s in enumerate(specs)]
    assert {s.kind for s in specs} >= {"attn_block", "mlp", "matmul"}
    results = compile_many(specs, archs=(80, 90))
    problems = [p for r in results.values() for p in r.problems()]
    assert not problems, "\n".join(problems)
