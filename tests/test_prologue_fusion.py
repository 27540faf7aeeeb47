"""Prologue and MLP-epilogue fusion: a GEMM computes its row operand and finishes its consumers' math.

``linear(layer_norm(x))`` is ONE kernel: the matmul template's prologue computes each row's statistics, then
every normalized ``[BLOCK_M, BLOCK_K]`` tile inside its K loop, so the normalized rows never reach memory.
The fused MLP takes a prologue too, and its output's elementwise consumers (the residual add) as an
epilogue, so a pre-norm transformer's ``x + mlp(layer_norm(x))`` is one kernel. Counts come from
``explain``; values from running on ``interpret`` against numpy in float64.
"""
from __future__ import annotations

from math import erf

import numpy as np
import pytest

import torchlite as tl
import torchlite.nn.functional as F
from torchlite.compiler import FusionPolicy, explain

from test_fusion import _arr, _check, _softmax

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")
_verf = np.vectorize(erf)


def _ln(x, g, b, eps=1e-5):
    mu = x.mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(((x - mu) ** 2).mean(-1, keepdims=True) + eps) * g + b


def _gelu(h):
    return 0.5 * h * (1 + _verf(h / np.sqrt(2)))


@pytest.mark.parametrize("rows, K, N", [(33, 24, 40), (64, 128, 96), (5, 100, 17), (2, 1500, 16)])
def test_layer_norm_then_linear_is_one_kernel(rows, K, N):
    def fn(x, g, b, w):
        return F.linear(F.layer_norm(x, (K,), g, b), w)

    def ref(x, g, b, w):
        return _ln(x, g, b) @ w.T
    r = _check(fn, [_arr(rows, K), _arr(K), _arr(K), _arr(N, K) * 0.1], ref, kernels=1, rtol=1e-4, atol=1e-4)
    k = r.kernels[0]
    assert k.kind == "matmul" and "Prologue" in k.source and "a_ptr" not in k.signature
    # the normalized rows are never written: x, the affine parameters and w read once, the output written once
    assert k.bytes_moved == (rows * K + 2 * K + N * K + rows * N) * 4


def test_rms_norm_of_a_batch_then_linear_with_bias_and_gelu_is_one_kernel():
    B, T, C, N = 3, 10, 48, 20

    def fn(x, g, w, bias):
        return F.gelu(F.linear(F.rms_norm(x, (C,), g, eps=1e-6), w, bias))

    def ref(x, g, w, bias):
        h = x / np.sqrt((x * x).mean(-1, keepdims=True) + 1e-6) * g
        return _gelu(h @ w.T + bias)
    r = _check(fn, [_arr(B, T, C), _arr(C), _arr(N, C) * 0.1, _arr(N)], ref, kernels=1, rtol=1e-4, atol=1e-4)
    assert r.kernels[0].kind == "matmul"


def test_an_elementwise_operand_is_computed_in_the_matmul():
    def fn(x, w):
        return (x * 0.5).tanh() @ w

    def ref(x, w):
        return np.tanh(x * 0.5) @ w
    r = _check(fn, [_arr(20, 30), _arr(30, 12)], ref, kernels=1, rtol=1e-5, atol=1e-5)
    assert r.kernels[0].bytes_moved == (20 * 30 + 30 * 12 + 20 * 12) * 4


def test_pre_norm_mlp_with_residual_is_one_kernel():
    """The second half of a pre-norm transformer block: layer_norm prologue, fused MLP, residual epilogue."""
    M, C, H = 40, 32, 64

    def fn(x, g, b, w1, b1, w2, b2):
        return x + F.linear(F.gelu(F.linear(F.layer_norm(x, (C,), g, b), w1, b1)), w2, b2)

    def ref(x, g, b, w1, b1, w2, b2):
        return x + _gelu(_ln(x, g, b) @ w1.T + b1) @ w2.T + b2
    arrays = [_arr(M, C), _arr(C), _arr(C), _arr(H, C) * 0.2, _arr(H), _arr(C, H) * 0.2, _arr(C)]
    r = _check(fn, arrays, ref, kernels=1, rtol=1e-4, atol=1e-4)
    k = r.kernels[0]
    assert k.kind == "mlp" and "Prologue" in k.source and "Epilogue" in k.source
    ideal = (M * C + 2 * C + H * C + H + C * H + C + M * C) * 4
    assert k.bytes_moved == ideal                  # x read once for the prologue and the residual


def _block(B, T, C, nh, causal=False):
    """A pre-norm transformer block and its numpy float64 reference."""
    D = C // nh
    mask = np.tril(np.ones((T, T), bool))

    def fn(x, g, b, wqkv, wo, w1, b1, w2, b2):
        h = F.layer_norm(x, (C,), g, b)
        q, k, v = F.linear(h, wqkv).reshape(B, T, 3, nh, D).permute(2, 0, 3, 1, 4)
        s = q @ k.transpose(-2, -1) * D ** -0.5
        if causal:
            s = s.masked_fill(~tl.ones(T, T, device=s.device).tril().bool(), float("-inf"))
        x = x + F.linear((s.softmax(-1) @ v).transpose(1, 2).reshape(B, T, C), wo)
        return x + F.linear(F.gelu(F.linear(F.layer_norm(x, (C,), g, b), w1, b1)), w2, b2)

    def ref(x, g, b, wqkv, wo, w1, b1, w2, b2):
        q, k, v = (_ln(x, g, b) @ wqkv.T).reshape(B, T, 3, nh, D).transpose(2, 0, 3, 1, 4)
        s = q @ k.transpose(0, 1, 3, 2) * D ** -0.5
        if causal:
            s = np.where(mask, s, -np.inf)
        x = x + (_softmax(s) @ v).transpose(0, 2, 1, 3).reshape(B, T, C) @ wo.T
        return x + _gelu(_ln(x, g, b) @ w1.T + b1) @ w2.T + b2
    arrays = [_arr(B, T, C), _arr(C), _arr(C), _arr(3 * C, C) * 0.2, _arr(C, C) * 0.2, _arr(4 * C, C) * 0.2,
              _arr(4 * C), _arr(C, 4 * C) * 0.2, _arr(C)]
    return fn, ref, arrays


@pytest.mark.parametrize("B, T, C, nh, causal", [(2, 16, 32, 4, False), (3, 13, 24, 3, True), (1, 64, 64, 2, True)])
def test_transformer_block_is_two_kernels(B, T, C, nh, causal):
    """layer_norm + qkv projection + attention + output projection in one kernel (a sequence fits one
    block of rows); layer_norm + MLP + both residual adds in the other."""
    fn, ref, arrays = _block(B, T, C, nh, causal)
    r = _check(fn, arrays, ref, kernels=2, rtol=1e-4, atol=1e-4)
    assert [k.kind for k in r.kernels] == ["attn_block", "mlp"]
    assert "Prologue (" in r.kernels[0].source and "a_ptr" not in r.kernels[0].signature


def test_long_sequences_keep_flash_attention_between_the_projections():
    """Past 64 rows a sequence no longer fits one block: the block would recompute k and v per query block,
    so the projections stay matmuls around flash attention (four kernels) and the decision says why."""
    fn, ref, arrays = _block(1, 80, 32, 2, causal=True)
    r = _check(fn, arrays, ref, kernels=4, rtol=1e-4, atol=1e-4)
    assert [k.kind for k in r.kernels] == ["matmul", "attention", "matmul", "mlp"]
    assert any("no attention block" in str(d) and "T 80 > 64" in str(d) for d in r.decisions)


def test_the_policy_can_turn_the_attention_block_off():
    class Separate(FusionPolicy):
        attention_block = False
    fn, _, arrays = _block(2, 16, 32, 4)
    r = explain(fn, *(tl.tensor(a) for a in arrays), policy=Separate())
    assert [k.kind for k in r.kernels] == ["matmul", "attention", "matmul", "mlp"]


def test_half_precision_attention_block():
    fn, _, arrays = _block(2, 16, 32, 2, causal=True)
    arrays = [a.astype(np.float16) for a in arrays]
    ref = fn(*[tl.tensor(a) for a in arrays]).numpy().astype(np.float64)       # the numpy backend, as written
    r = _check(fn, arrays, lambda *a: ref, kernels=2, rtol=3e-2, atol=3e-2)
    assert r.kernels[0].kind == "attn_block"


def test_half_precision_layer_norm_prologue():
    rows, K, N = 24, 64, 32

    def fn(x, g, b, w):
        return F.linear(F.layer_norm(x, (K,), g, b), w)
    arrays = [_arr(rows, K, dtype=np.float16), _arr(K, dtype=np.float16), _arr(K, dtype=np.float16),
              (_arr(N, K) * 0.1).astype(np.float16)]
    ref = fn(*[tl.tensor(a) for a in arrays]).numpy().astype(np.float64)       # the numpy backend, as written
    r = _check(fn, arrays, lambda *a: ref, kernels=1, rtol=2e-2, atol=2e-2)
    assert r.kernels[0].kind == "matmul"


def test_the_policy_can_turn_prologues_off():
    class NoPrologue(FusionPolicy):
        prologue = False
    x, g, b, w = (tl.tensor(a) for a in (_arr(8, 16), _arr(16), _arr(16), _arr(4, 16)))
    r = explain(lambda x: F.linear(F.layer_norm(x, (16,), g, b), w), x, policy=NoPrologue())
    assert [k.kind for k in r.kernels] == ["reduction", "matmul"]
    r = explain(lambda x: F.linear(F.layer_norm(x, (16,), g, b), w), x)
    assert [k.kind for k in r.kernels] == ["matmul"]
    assert any("prologue" in str(d) for d in r.decisions)


def test_a_normalized_operand_read_elsewhere_is_stored_once():
    """The layer_norm output is also returned (or kept for backward): it needs a buffer, so no prologue."""
    x, g, b, w = (tl.tensor(a) for a in (_arr(8, 16), _arr(16), _arr(16), _arr(4, 16)))

    def fn(x):
        h = F.layer_norm(x, (16,), g, b)
        return F.linear(h, w), h
    r = explain(fn, x)
    assert [k.kind for k in r.kernels] == ["reduction", "matmul"]
    wt = tl.tensor(_arr(4, 16), requires_grad=True)
    out = F.linear(F.layer_norm(x, (16,), g, b), wt)
    r = explain(lambda: (out, tl.autograd.grad(out.sum(), [wt])[0]))
    # the forward matmul and the weight gradient both read the stored layer_norm output
    assert [k.kind for k in r.kernels] == ["reduction", "matmul", "matmul"]
    assert "Prologue (" not in r.kernels[1].source


@pytest.mark.parametrize("package", ["torchlite.compiler", "torchlite.kernels"])
def test_the_docstring_examples_of_the_compiler_and_the_templates_hold(package):
    import doctest
    import importlib
    import pkgutil
    pkg = importlib.import_module(package)
    failed = {}
    for info in pkgutil.iter_modules(pkg.__path__):
        result = doctest.testmod(importlib.import_module(f"{package}.{info.name}"), report=False)
        if result.failed:
            failed[info.name] = result.failed
    assert not failed, f"docstring examples that no longer hold: {failed}"


@pytest.mark.parametrize("batch_first, kinds", [(True, ["attn_block", "mlp"]),
                                                (False, ["matmul", "attention", "matmul", "mlp"])])
def test_transformer_encoder_layer_inference(batch_first, kinds):
    """nn.TransformerEncoderLayer (pre-norm, eval): one packed in-projection with its bias, sdpa's q and k
    scaled in the attention kernel, and, batch first, the attention block: 2 kernels. Sequence-first rows
    are not a sequence's rows in memory, so that layout keeps flash attention between the projections.
    Values on interpret against the same layer on cpu (the numpy backend)."""
    import torchlite.nn as nn
    tl.manual_seed(0)
    layer = nn.TransformerEncoderLayer(d_model=32, nhead=4, dim_feedforward=64, dropout=0.0,
                                       batch_first=batch_first, norm_first=True).eval()
    x = _arr(3, 20, 32) if batch_first else _arr(20, 3, 32)
    with tl.no_grad():
        want = layer(tl.tensor(x)).numpy()
        r = explain(lambda x: layer(x), tl.tensor(x))
        assert [k.kind for k in r.kernels] == kinds, [k.name for k in r.kernels]
        got = layer.to("interpret")(tl.tensor(x, device="interpret")).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("dtype, tol", [(np.float32, 1e-4), (np.float16, 2e-2)])
def test_pre_norm_swiglu_mlp_with_residual_is_one_kernel(dtype, tol):
    """A LLaMA-style MLP: rms_norm, then ``down(silu(gate(h)) * up(h))``, plus the residual. The two
    projections of the same rows are one gated MLP kernel (``W1`` and ``W1b`` dotted side by side), the
    rms_norm its prologue (both projections read it inside the kernel), the residual its epilogue."""
    M, C, H = 33, 24, 40

    def fn(x, g, wg, wu, wd):
        h = F.rms_norm(x, (C,), g, eps=1e-6)
        return x + F.linear(F.silu(F.linear(h, wg)) * F.linear(h, wu), wd)

    arrays = [_arr(M, C), _arr(C), _arr(H, C) * 0.3, _arr(H, C) * 0.3, _arr(C, H) * 0.3]
    arrays = [a.astype(dtype) for a in arrays]
    ref = fn(*[tl.tensor(a) for a in arrays]).numpy().astype(np.float64)        # the numpy backend
    r = _check(fn, arrays, lambda *a: ref, kernels=1, rtol=tol, atol=tol)
    k = r.kernels[0]
    assert k.kind == "mlp" and "w1b_ptr" in k.signature and "Prologue (" in k.source
    assert r.bytes_moved == r.ideal_bytes


def test_separate_q_k_v_projections_each_recompute_the_norm():
    """LLaMA-style attention: rms_norm read by three separate projections. Each projection computes it in
    its prologue (three reads of x) instead of storing it once and reading it three times; the policy's
    ``prologue_readers`` bounds how many GEMMs may recompute one."""
    B, T, C, nh = 2, 16, 32, 4
    D = C // nh

    def fn(x, g, wq, wk, wv):
        h = F.rms_norm(x, (C,), g, eps=1e-6)
        q, k, v = (F.linear(h, w).reshape(B, T, nh, D).transpose(1, 2) for w in (wq, wk, wv))
        return F.scaled_dot_product_attention(q, k, v, is_causal=True)

    def ref(x, g, wq, wk, wv):
        h = x / np.sqrt((x * x).mean(-1, keepdims=True) + 1e-6) * g
        q, k, v = ((h @ w.T).reshape(B, T, nh, D).transpose(0, 2, 1, 3) for w in (wq, wk, wv))
        s = np.where(np.tril(np.ones((T, T), bool)), q @ k.transpose(0, 1, 3, 2) / np.sqrt(D), -np.inf)
        return _softmax(s) @ v
    arrays = [_arr(B, T, C), _arr(C), _arr(C, C) * 0.3, _arr(C, C) * 0.3, _arr(C, C) * 0.3]
    r = _check(fn, arrays, ref, kernels=4, rtol=1e-4, atol=1e-4)
    assert [k.kind for k in r.kernels] == ["matmul", "matmul", "matmul", "attention"]
    assert all("Prologue (" in k.source for k in r.kernels[:3])

    class OneReader(FusionPolicy):
        prologue_readers = 1
    r = explain(fn, *(tl.tensor(a) for a in arrays), policy=OneReader())
    assert [k.kind for k in r.kernels] == ["reduction", "matmul", "matmul", "matmul", "attention"]
