"""The attention-block template and the prologue hook, rendered directly (torchlite.kernels).

Numerics run in Triton's interpreter through the ``interpret`` device's runtime and are compared with numpy
in float64; bad hooks and shapes raise ValueErrors that name the problem. (The compiler's use of both, with
kernel counts, is in tests/test_prologue_fusion.py; their resource usage in tests/test_generated_aot.py.)
"""
from __future__ import annotations

import numpy as np
import pytest

from torchlite.kernels.attention import ScoreFn
from torchlite.kernels.attention_block import WOperand, XOperand, render_attention_block
from torchlite.kernels.matmul import Epilogue, Operand, Prologue, merge_params, render_matmul

pytest.importorskip("triton")
RNG = np.random.default_rng(3)


def _run(spec, tmp_path, *args):
    from torchlite.compiler.aot import load_kernel
    from torchlite.devices.interpret import InterpretRuntime
    fn = load_kernel(spec, tmp_path)
    InterpretRuntime().kernel(fn, signature=spec.signature)[spec.grid](*args, **spec.constexprs)


def _softmax(s):
    e = np.exp(s - s.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


@pytest.mark.parametrize("B, T, C, NH, D, N, causal", [(2, 20, 48, 3, 16, 40, False), (3, 13, 40, 5, 8, 20, True),
                                                       (1, 64, 32, 1, 32, 16, True)])
def test_attention_block_matches_numpy(tmp_path, B, T, C, NH, D, N, causal):
    """x is a strided view (every other row of a bigger buffer); Wp = wqkv.T and Wo = wo.T read through
    swapped strides; a causal score with its scale."""
    big = RNG.standard_normal((B, 2 * T, C)).astype(np.float32)
    x = big[:, ::2]
    wqkv = (RNG.standard_normal((3 * NH * D, C)) * 0.2).astype(np.float32)
    wo = (RNG.standard_normal((N, NH * D)) * 0.2).astype(np.float32)
    scale = D ** -0.5
    line = f's = tl.where(rn <= rm, qk * {scale!r}, float("-inf"))' if causal else f"s = qk * {scale!r}"
    spec = render_attention_block("attnblk_t", B=B, T=T, C=C, NH=NH, D=D, N=N,
                                  x=XOperand("fp32", (2 * T * C, 2 * C, 1)), wp=WOperand("fp32", (1, C)),
                                  wo=WOperand("fp32", (1, NH * D)),
                                  cols=((0, D, 1), (NH * D, D, 1), (2 * NH * D, D, 1)), out_rows=(D, 1),
                                  score=ScoreFn(params={}, lines=[line], name="scores"))
    out = np.full((B, T, N), np.nan, np.float32)
    _run(spec, tmp_path, big, wqkv, wo, out, T)

    qkv = x.astype(np.float64) @ wqkv.T.astype(np.float64)
    q, k, v = (qkv[..., i * NH * D:(i + 1) * NH * D].reshape(B, T, NH, D).transpose(0, 2, 1, 3) for i in range(3))
    s = q @ k.transpose(0, 1, 3, 2) * scale
    if causal:
        s = np.where(np.tril(np.ones((T, T), bool)), s, -np.inf)
    ref = (_softmax(s) @ v).transpose(0, 2, 1, 3).reshape(B, T, NH * D) @ wo.T
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-5)
    assert spec.grid == (B,) and spec.kind == "attn_block"


def test_matmul_prologue_computes_a(tmp_path):
    """A = relu(x) * 2 computed in the K loop; K = 40 is not a multiple of BLOCK_K (the tail is zeroed)."""
    M, K, N = 33, 40, 24
    x = RNG.standard_normal((M, K)).astype(np.float32)
    b = RNG.standard_normal((K, N)).astype(np.float32)
    p = Prologue("fp32", {"x_ptr": "*fp32"}, setup=[],
                 tile=["t = tl.load(x_ptr + xindex * K + rindex, rmask & xmask, other=0)",
                       "tile = tl.where(rmask, tl.maximum(t, 0.0) * 2.0, 0.0)"], name="relu, scale")
    spec = render_matmul("mm_p", M=M, N=N, K=K, batch=1, a=None, b=Operand("fp32", (0, N, 1)), prologue=p)
    assert "a_ptr" not in spec.signature and "Prologue (relu, scale)" in spec.source
    out = np.full((M, N), np.nan, np.float32)
    _run(spec, tmp_path, x, b, out, M, N, K)
    np.testing.assert_allclose(out, (np.maximum(x, 0) * 2).astype(np.float64) @ b, rtol=1e-5, atol=1e-5)


def test_bad_hooks_and_shapes_say_what_is_wrong():
    b = Operand("fp32", (0, 8, 1))
    p = Prologue("fp32", {"x_ptr": "*fp32"}, setup=[], tile=["t = 1.0"])
    with pytest.raises(ValueError, match="never assign tile"):
        render_matmul("mm", M=8, N=8, K=8, batch=1, a=None, b=b, prologue=p)
    with pytest.raises(ValueError, match="exactly one of a"):
        render_matmul("mm", M=8, N=8, K=8, batch=1, a=Operand("fp32", (0, 8, 1)), b=b,
                      prologue=Prologue("fp32", {}, [], ["tile = 0.0"]))
    with pytest.raises(ValueError, match="'x_ptr' is \\*fp32 in one hook and \\*fp16"):
        merge_params("render_matmul", {"x_ptr": "*fp32"}, {"x_ptr": "*fp16"})
    ok = dict(B=1, C=32, NH=2, D=16, N=32, x=XOperand("fp32", (0, 32, 1)), wp=WOperand("fp32", (1, 32)),
              wo=WOperand("fp32", (1, 32)), cols=((0, 16, 1), (32, 16, 1), (64, 16, 1)), out_rows=(16, 1))
    with pytest.raises(ValueError, match="T=65 rows exceed 64"):
        render_attention_block("ab", T=65, **ok)
    with pytest.raises(ValueError, match="share one of"):
        render_attention_block("ab", T=8, **{**ok, "wo": WOperand("fp16", (1, 32))})
    with pytest.raises(ValueError, match="shadows a name"):
        render_attention_block("ab", T=8, **ok, epilogue=Epilogue(params={"acc": "*fp32"}, lines=["pass"]))
