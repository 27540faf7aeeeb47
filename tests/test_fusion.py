"""Fusion: exact kernel counts for representative programs, and their numbers on the interpret device.

Each case is a program the issue names (softmax, layer_norm, rms_norm, var, per-row cross_entropy and
``x - x.mean(-1, keepdim=True)`` are ONE kernel; cross_entropy with its batch mean at most two; linear +
bias + gelu one; a 20-op elementwise chain one; a 3-layer MLP forward three). The count comes from
``torchlite.compiler.explain`` (nothing runs); the values come from running the same program on
``interpret`` and comparing with numpy in float64.
"""
from __future__ import annotations

import numpy as np
import pytest

import torchlite as tl
import torchlite.nn.functional as F
from torchlite.compiler import FusionPolicy, explain

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

RNG = np.random.default_rng(7)


def _arr(*shape, dtype=np.float32):
    return RNG.standard_normal(shape).astype(dtype)


def _on(device, *arrays):
    return [tl.tensor(a, device=device) for a in arrays]


def _check(fn, arrays, reference, *, kernels=None, max_kernels=None, rtol=1e-5, atol=1e-5):
    """Kernel count from explain (cpu tensors), values from interpret against ``reference`` (numpy f64)."""
    report = explain(fn, *_on("cpu", *arrays))
    n = len(report.kernels) + len(report.externs)
    names = [k.name for k in report.kernels]
    if kernels is not None:
        assert n == kernels, f"expected {kernels} kernels, got {n}: {names} + {report.externs}"
    if max_kernels is not None:
        assert n <= max_kernels, f"expected at most {max_kernels} kernels, got {n}: {names}"
    got = fn(*_on("interpret", *arrays))
    got = got if isinstance(got, (tuple, list)) else (got,)
    refs = reference(*[a.astype(np.float64) for a in arrays])
    refs = refs if isinstance(refs, (tuple, list)) else (refs,)
    for g, r in zip(got, refs):
        np.testing.assert_allclose(g.numpy().astype(np.float64), r, rtol=rtol, atol=atol)
    return report


def _softmax(a, axis=-1):
    e = np.exp(a - a.max(axis, keepdims=True))
    return e / e.sum(axis, keepdims=True)


def _log_softmax(a, axis=-1):
    d = a - a.max(axis, keepdims=True)
    return d - np.log(np.exp(d).sum(axis, keepdims=True))


@pytest.mark.parametrize("shape", [(1, 1), (5, 17), (3, 1023)])
def test_softmax_is_one_kernel(shape):
    _check(lambda x: x.softmax(-1), [_arr(*shape)], _softmax, kernels=1)


def test_log_softmax_is_one_kernel():
    _check(lambda x: x.log_softmax(-1), [_arr(6, 33)], _log_softmax, kernels=1)


def test_softmax_over_a_leading_axis_is_one_kernel_without_a_transpose():
    report = _check(lambda x: x.softmax(0), [_arr(17, 5)], lambda a: _softmax(a, 0), kernels=1)
    assert report.kernels[0].bytes_moved == 2 * 17 * 5 * 4          # read once, written once: no copy


def test_layer_norm_is_one_kernel():
    def ref(x, w, b):
        mu = x.mean(-1, keepdims=True)
        return (x - mu) / np.sqrt(((x - mu) ** 2).mean(-1, keepdims=True) + 1e-5) * w + b
    _check(lambda x, w, b: F.layer_norm(x, (33,), w, b), [_arr(7, 33), _arr(33), _arr(33)], ref, kernels=1)


def test_rms_norm_is_one_kernel():
    def ref(x, w):
        return x / np.sqrt((x * x).mean(-1, keepdims=True) + 1e-6) * w
    _check(lambda x, w: F.rms_norm(x, (40,), w, eps=1e-6), [_arr(9, 40), _arr(40)], ref, kernels=1)


def test_var_is_one_kernel():
    _check(lambda x: x.var(-1), [_arr(4, 50)], lambda a: a.var(-1, ddof=1), kernels=1)


def test_centering_is_one_kernel():
    _check(lambda x: x - x.mean(-1, keepdim=True), [_arr(6, 17)], lambda a: a - a.mean(-1, keepdims=True),
           kernels=1)


def test_per_row_cross_entropy_is_one_kernel():
    t = RNG.integers(0, 11, 8)
    target = tl.tensor(t)
    tgt_i = tl.tensor(t, device="interpret")

    def fn(x):
        return F.cross_entropy(x, target if x.device.type == "cpu" else tgt_i, reduction="none")

    _check(fn, [_arr(8, 11)], lambda a: -_log_softmax(a)[np.arange(8), t], kernels=1)


def test_cross_entropy_with_batch_mean_is_at_most_two_kernels():
    t = RNG.integers(0, 13, 16)
    target, tgt_i = tl.tensor(t), tl.tensor(t, device="interpret")

    def fn(x):
        return F.cross_entropy(x, target if x.device.type == "cpu" else tgt_i)

    _check(fn, [_arr(16, 13)], lambda a: -_log_softmax(a)[np.arange(16), t].mean(), max_kernels=2)


def test_linear_bias_gelu_is_one_kernel():
    from math import erf
    verf = np.vectorize(erf)

    def ref(x, w, b):
        y = x @ w.T + b
        return 0.5 * y * (1 + verf(y / np.sqrt(2)))
    r = _check(lambda x, w, b: F.gelu(F.linear(x, w, b)), [_arr(17, 24), _arr(19, 24), _arr(19)], ref,
               kernels=1, rtol=1e-4, atol=1e-4)
    assert r.kernels[0].kind == "matmul"


def test_twenty_op_elementwise_chain_is_one_kernel():
    def fn(x):
        y = x
        for i in range(20):
            y = (y * 0.9 + 0.1) if i % 2 else (y - 0.05).abs()
        return y

    def ref(a):
        y = a
        for i in range(20):
            y = (y * 0.9 + 0.1) if i % 2 else np.abs(y - 0.05)
        return y
    r = _check(fn, [_arr(1023)], ref, kernels=1)
    assert r.bytes_moved == 2 * 1023 * 4


def test_mlp_forward_of_three_layers_is_three_kernels():
    w1, b1, w2, b2, w3 = _arr(32, 16), _arr(32), _arr(24, 32), _arr(24), _arr(10, 24)

    def fn(x, w1, b1, w2, b2, w3):
        h = F.relu(F.linear(x, w1, b1))
        h = F.relu(F.linear(h, w2, b2))
        return F.linear(h, w3)

    def ref(x, w1, b1, w2, b2, w3):
        h = np.maximum(x @ w1.T + b1, 0)
        h = np.maximum(h @ w2.T + b2, 0)
        return h @ w3.T
    # as written: each linear with its bias and activation is one kernel
    class AsWritten(FusionPolicy):
        fused_mlp = False

    r = explain(fn, *_on("cpu", _arr(17, 16), w1, b1, w2, b2, w3), policy=AsWritten())
    assert [k.kind for k in r.kernels] == ["matmul", "matmul", "matmul"]
    # by default the last two layers become one fused MLP kernel (their hidden activation never stored)
    r = _check(fn, [_arr(17, 16), w1, b1, w2, b2, w3], ref, kernels=2, rtol=1e-4, atol=1e-4)
    assert [k.kind for k in r.kernels] == ["matmul", "mlp"]


def test_movement_ops_fold_into_index_arithmetic():
    def fn(x):
        return (x.permute(1, 0).reshape(-1)[3:59:2].flip(0) * 2.0).reshape(2, -1)

    r = _check(fn, [_arr(5, 12)], lambda a: (a.T.reshape(-1)[3:59:2][::-1] * 2).reshape(2, -1), kernels=1)
    assert r.bytes_moved <= 2 * 5 * 12 * 4


def test_cat_and_pad_are_fused_with_their_consumer():
    def fn(a, b):
        return F.pad(tl.cat([a, b], 1), (1, 2)).exp()

    def ref(a, b):
        return np.exp(np.pad(np.concatenate([a, b], 1), ((0, 0), (1, 2))))
    _check(fn, [_arr(3, 4), _arr(3, 5)], ref, kernels=1)


def test_reduction_keeps_pointwise_prologue_and_epilogue():
    _check(lambda x: ((x * 2.0).exp().sum(-1) + 1.0).sqrt(), [_arr(9, 31)],
           lambda a: np.sqrt(np.exp(a * 2).sum(-1) + 1), kernels=1)


def test_looped_reduction_for_long_rows():
    r = _check(lambda x: x.softmax(-1), [_arr(2, 3000)], _softmax, kernels=1)
    assert "looped" in r.kernels[0].source


def test_every_decision_is_recorded_with_a_reason():
    r = explain(lambda x: (x.t() + 1.0).softmax(-1), tl.ones(4, 6).realize())
    assert len(r.kernels) == 1 and all(d.reason for d in r.decisions)
    joined = [d for d in r.decisions if d.taken and d.kernel == "k0" and d.node.startswith("sum")]
    assert joined and "amax" in joined[0].reason            # the sum reads the max where the kernel has it
    assert "fused into" in str(joined[0])


def test_a_policy_can_refuse_fusion():
    class NoFusion(FusionPolicy):
        def fuse(self, kernel, node, relation):
            return False, "this policy never fuses"

    x = tl.ones(4, 6).realize()
    assert len(explain(lambda x: x.softmax(-1), x).kernels) == 1
    r = explain(lambda x: x.softmax(-1), x, policy=NoFusion())
    assert len(r.kernels) == 3                         # amax, sum, and the div that needs both
    assert any(d.reason == "this policy never fuses" for d in r.decisions)


def test_kernel_sources_name_fused_nodes_and_user_lines():
    r = explain(lambda x: (x * 3.0).relu(), tl.ones(8).realize())
    (k,) = r.kernels
    assert k.name == "pw_mul_relu_0"
    assert "test_fusion.py" in k.source and "mul" in k.source and "relu" in k.source
    assert k.user_lines and all("test_fusion.py:" in u for u in k.user_lines)


def test_attention_reads_q_k_v_from_a_packed_qkv_buffer_without_copies():
    B, T, H, D = 2, 5, 3, 4

    def fn(qkv):
        q, k, v = qkv.reshape(B, T, 3, H, D).permute(2, 0, 3, 1, 4)     # each (B, H, T, D), strided views
        return (q @ k.transpose(-2, -1) * 0.5).softmax(-1) @ v

    def ref(qkv):
        q, k, v = qkv.reshape(B, T, 3, H, D).transpose(2, 0, 3, 1, 4)
        return _softmax(q @ k.transpose(0, 1, 3, 2) * 0.5) @ v
    qkv = _arr(B, T, 3 * H * D)
    r = _check(fn, [qkv], ref, kernels=1, rtol=1e-5, atol=1e-5)
    assert r.kernels[0].kind == "attention"                     # flash attention: scores never stored

    class AsWritten(FusionPolicy):
        flash_attention = False

    r = explain(fn, tl.tensor(qkv), policy=AsWritten())
    # no copy kernels; the softmax is computed in the second matmul's prologue (the scores are stored once)
    assert [k.kind for k in r.kernels] == ["matmul", "matmul"] and "Prologue (" in r.kernels[1].source


def test_causal_attention_with_a_mask_is_one_flash_kernel():
    B, H, T, D = 2, 2, 19, 8

    def fn(q, k, v):
        s = (q @ k.transpose(-2, -1)) * (1.0 / D ** 0.5)
        s = s.masked_fill(~tl.ones(T, T, device=q.device).tril().bool(), float("-inf"))
        return s.softmax(-1) @ v

    def ref(q, k, v):
        s = q @ k.transpose(0, 1, 3, 2) / D ** 0.5
        s = np.where(np.tril(np.ones((T, T))) > 0, s, -np.inf)
        return _softmax(s) @ v
    r = _check(fn, [_arr(B, H, T, D), _arr(B, H, T, D), _arr(B, H, T, D)], ref, kernels=1)
    assert r.kernels[0].kind == "attention" and r.bytes_moved <= 4 * B * H * T * D * 4


def test_scaled_dot_product_attention_never_stores_the_scores():
    B, H, T, D = 1, 2, 17, 16

    def fn(q, k, v):
        return F.scaled_dot_product_attention(q, k, v, is_causal=True)

    def ref(q, k, v):
        s = q @ k.transpose(0, 1, 3, 2) / D ** 0.5
        s = np.where(np.tril(np.ones((T, T))) > 0, s, -np.inf)
        return _softmax(s) @ v
    # sdpa scales q and k by sqrt(scale) each (PyTorch's math path): the flash kernel scales the tiles it
    # loads (rounding as the stored products would), so it is the only kernel; the scores are never stored
    r = _check(fn, [_arr(B, H, T, D), _arr(B, H, T, D), _arr(B, H, T, D)], ref, kernels=1)
    assert [k.kind for k in r.kernels] == ["attention"]
    assert "q = (q) * tl.cast(arg_" in r.kernels[0].source and "k = (k) * tl.cast(arg_" in r.kernels[0].source


def test_a_chain_thousands_of_ops_deep_compiles_without_recursion_errors():
    def fn(x):
        for _ in range(1000):
            x = x * 1.0001 + 0.0001
        return x

    def ref(a):
        y = a.astype(np.float32)
        for _ in range(1000):
            y = (y * np.float32(1.0001)).astype(np.float32) + np.float32(0.0001)
        return y
    r = _check(fn, [_arr(17)], ref, max_kernels=2, rtol=1e-6)
    assert any("inlined chain" in d.reason for d in r.decisions)


def test_an_elementwise_kernel_writes_over_a_buffer_it_is_the_last_reader_of():
    def fn(x):
        return (x.cumsum(-1) * 2.0).exp()             # a scan of rows past 1024 runs extern into a buffer; the
                                                      # pointwise kernel is its last reader and writes over it
    r = _check(fn, [_arr(2, 1100) * 0.01], lambda a: np.exp(np.cumsum(a, -1) * 2), kernels=2, rtol=1e-5)
    assert "buf_exp = buf_cumsum  # in place: cumsum dies here" in r.program
    assert r.peak_bytes == 2 * 1100 * 4               # one buffer for both


def test_two_layer_gelu_mlp_is_one_fused_kernel_and_training_keeps_the_hidden():
    from math import erf
    verf = np.vectorize(erf)
    w1, b1, w2, b2 = _arr(40, 24), _arr(40), _arr(12, 40), _arr(12)

    def fn(x, w1, b1, w2, b2):
        return F.linear(F.gelu(F.linear(x, w1, b1)), w2, b2)

    def ref(x, w1, b1, w2, b2):
        h = x @ w1.T + b1
        return (0.5 * h * (1 + verf(h / np.sqrt(2)))) @ w2.T + b2
    r = _check(fn, [_arr(33, 24), w1, b1, w2, b2], ref, kernels=1, rtol=1e-4, atol=1e-4)
    assert r.kernels[0].kind == "mlp" and r.bytes_moved < 2 * (33 * 24 + 40 * 24 + 12 * 40 + 33 * 12) * 4

    # when backward needs the hidden activation, the layers stay separate kernels and it is stored
    x = tl.tensor(_arr(33, 24))
    w = tl.tensor(w1, requires_grad=True)
    h = F.gelu(F.linear(x, w, tl.tensor(b1)))
    out = F.linear(h, tl.tensor(w2), tl.tensor(b2))
    r2 = explain(lambda: (out, h))
    assert "mlp" not in [k.kind for k in r2.kernels]


def test_attention_writes_its_output_in_the_layout_the_next_linear_reads():
    B, T, H, D = 2, 7, 3, 4
    C = H * D

    def fn(qkv, wo):
        q, k, v = qkv.reshape(B, T, 3, H, D).permute(2, 0, 3, 1, 4)
        a = (q @ k.transpose(-2, -1) * 0.5).softmax(-1) @ v               # (B, H, T, D)
        return F.linear(a.transpose(1, 2).reshape(B, T, C), wo)

    def ref(qkv, wo):
        q, k, v = qkv.reshape(B, T, 3, H, D).transpose(2, 0, 3, 1, 4)
        a = _softmax(q @ k.transpose(0, 1, 3, 2) * 0.5) @ v
        return a.transpose(0, 2, 1, 3).reshape(B, T, C) @ wo.T
    r = _check(fn, [_arr(B, T, 3 * C), _arr(C, C)], ref, kernels=2, rtol=1e-5, atol=1e-5)
    assert [k.kind for k in r.kernels] == ["attention", "matmul"]           # no copy for the transpose
    assert "strides (outer, inner, row, col)" in r.kernels[0].source
