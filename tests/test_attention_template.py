"""The attention template (torchlite.kernels.attention): numerics in Triton's interpreter, legality ahead of time.

Numerics: each rendered kernel is imported from a real file (``compiler.aot.load_kernel``) and run by the
``interpret`` device (``InterpretRuntime``, numpy arrays, bf16 dots and casts fixed up), then compared with a
float64 numpy reference on the same (rounded) inputs. The error is measured against ``sum_j p_ij |v_jd|``, the
magnitude the output is a weighted average of: fp32 is within a few ulps of it; fp16/bf16 round ``p`` to
v's dtype before the ``p @ v`` dot and round the output once, so they get two of their roundings.

Legality: realistic configs compile for sm_80 and sm_90 with ``compiler.aot.compile_many`` (no GPU needed);
``AOTResult.problems()`` must be empty (no spills, shared memory within the arch's limit) and shared memory
within the 99 KiB the template targets (what sm_86/sm_89 allow).
"""
from __future__ import annotations

import re

import ml_dtypes
import numpy as np
import pytest

from torchlite.kernels.attention import (
    ATTN_SMEM, AttnOperand, ScoreFn, attention_block_sizes, attention_grid, attention_num_stages,
    attention_num_warps, default_score, head_block, render_attention,
)

pytest.importorskip("triton")

NP_DTYPE = {"fp16": np.float16, "bf16": ml_dtypes.bfloat16, "fp32": np.float32, "fp64": np.float64}
# Error bound per dtype, relative to sum_j p_ij |v_jd|: fp32 accumulates in fp32 (the scores' dot over
# D <= 32 and the p @ v dot, a few ulps of 2**-24); fp16/bf16 round p (2**-11 / 2**-8) and the output.
RTOL = {"fp64": 1e-12, "fp32": 1e-5, "fp16": 2e-3, "bf16": 1.6e-2}
CAUSAL = 's = tl.where(rn <= rm, qk * 0.125, float("-inf"))'


# ----------------------------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------------------------

def random(shape, dtype, seed):
    return np.random.default_rng(seed).standard_normal(shape).astype(NP_DTYPE[dtype])


def operand(x: np.ndarray, batch_inner: int) -> AttnOperand:
    """An operand for a ``[batch_outer * batch_inner, rows, cols]`` array (or a 4-d view)."""
    st = [s // x.itemsize for s in x.strides]
    if x.ndim == 3:
        st = [st[0] * batch_inner, st[0], st[1], st[2]]
    return AttnOperand({v: k for k, v in NP_DTYPE.items()}[x.dtype.type], tuple(st))


def run(spec, tmp_path, *args, Lq, Lk):
    """Import ``spec`` and run it in the interpreter on ``spec.grid`` (``args``: the pointer arguments)."""
    from torchlite.compiler.aot import load_kernel
    from torchlite.devices.interpret import InterpretRuntime
    fn = load_kernel(spec, tmp_path)
    InterpretRuntime().kernel(fn, signature=spec.signature)[spec.grid](*args, Lq, Lk, **spec.constexprs)


def attend(name, tmp_path, q, k, v, *, batch_outer, batch_inner, out_dtype=None, extra=(), ops=None, L=None,
           **kw):
    """Render and run attention over 3-d ``[batch, L, D]`` q, k, v (or other layouts given with ``ops`` and
    the sequence length ``L``); returns ``(spec, out)``. A NaN guard after the output checks that nothing
    past it was written."""
    batch, Lq, Lk = batch_outer * batch_inner, L or q.shape[-2], L or k.shape[-2]
    D, Dv = q.shape[-1], v.shape[-1]
    qo, ko, vo = ops or (operand(q, batch_inner), operand(k, batch_inner), operand(v, batch_inner))
    out_dtype = out_dtype or qo.dtype
    spec = render_attention(name, batch_outer=batch_outer, batch_inner=batch_inner, Lq=Lq, Lk=Lk, D=D, Dv=Dv,
                            q=qo, k=ko, v=vo, out_dtype=out_dtype, **kw)
    flat = np.full(batch * Lq * Dv + 64, np.nan, NP_DTYPE[out_dtype])
    run(spec, tmp_path, q, k, v, *extra, flat, Lq=Lq, Lk=Lk)
    assert np.isnan(flat[batch * Lq * Dv:].astype(np.float64)).all(), "the kernel stored past its output"
    return spec, flat[:batch * Lq * Dv].reshape(batch, Lq, Dv)


def reference(q, k, v, scores=lambda qk: qk):
    """float64 ``softmax(scores(q @ k^T)) @ v`` and the weights ``p``; all -inf rows give NaN (as torch)."""
    q64, k64, v64 = (np.asarray(x, np.float64) for x in (q, k, v))
    s = scores(np.einsum("bid,bjd->bij", q64, k64))
    with np.errstate(invalid="ignore"):
        m = s.max(-1, keepdims=True)
        e = np.exp(s - m)
        p = e / e.sum(-1, keepdims=True)
    return np.einsum("bij,bjd->bid", p, v64), p, s


def check(out, ref, p, v, dtype):
    out = np.asarray(out, np.float64)
    scale = np.einsum("bij,bjd->bid", np.nan_to_num(p), np.abs(np.asarray(v, np.float64))) + 1e-30
    assert np.all(np.isfinite(out)), "output has NaN/inf (unwritten or wrongly masked elements)"
    err = np.abs(out - ref) / scale
    worst = np.unravel_index(np.argmax(err), err.shape)
    assert err.max() <= RTOL[dtype], (f"{dtype}: relative error {err[worst]:.3g} at {worst} exceeds "
                                      f"{RTOL[dtype]} (ref {ref[worst]:.6g}, got {out[worst]:.6g})")


# ----------------------------------------------------------------------------------------------------------
# numerics in the interpreter
# ----------------------------------------------------------------------------------------------------------

SHAPES = [(1, 1, 1, 1, 16), (2, 3, 17, 33, 16), (1, 2, 64, 100, 32), (1, 1, 5, 5, 8)]   # (Bo, Bi, Lq, Lk, D)


@pytest.mark.parametrize("dtype", ["fp32", "fp16", "bf16"])
@pytest.mark.parametrize("bo,bi,Lq,Lk,D", SHAPES, ids=["x".join(map(str, s)) for s in SHAPES])
def test_attention_matches_float64_reference(tmp_path, dtype, bo, bi, Lq, Lk, D):
    seed = Lq * 1000 + Lk
    q, k, v = (random((bo * bi, L, D), dtype, seed + i) for i, L in enumerate((Lq, Lk, Lk)))
    spec, out = attend(f"attn_{dtype}_{bo}_{bi}_{Lq}_{Lk}_{D}", tmp_path, q, k, v, batch_outer=bo,
                       batch_inner=bi, scale=D ** -0.5)
    assert spec.constexprs["BLOCK_D"] == max(16, D) and spec.constexprs["D"] == D
    ref, p, _ = reference(q, k, v, lambda qk: qk * D ** -0.5)
    check(out, ref, p, v, dtype)


def test_fp64_accumulates_in_fp64(tmp_path):
    q, k, v = (random((2, L, 24), "fp64", i) for i, L in enumerate((19, 40, 40)))
    spec, out = attend("attn_f64", tmp_path, q, k, v, batch_outer=1, batch_inner=2, scale=24 ** -0.5)
    assert "tl.full((BLOCK_M,), float(\"-inf\"), dtype=tl.float64)" in spec.source
    assert "tl.full([], SCALE, tl.float64)" in spec.source      # the scale is not rounded to fp32
    ref, p, _ = reference(q, k, v, lambda qk: qk * 24 ** -0.5)
    check(out, ref, p, v, "fp64")


@pytest.mark.parametrize("dtype,via", [("fp16", "views"), ("fp32", "offsets")])
def test_qkv_views_of_one_packed_buffer(tmp_path, dtype, via):
    """q, k, v of a [B, L, 3, H, D] qkv buffer, batch = B x H: batch_outer stride L*3*H*D, batch_inner stride
    D, row stride 3*H*D. ``views`` passes three numpy views (pointers at q, k, v); ``offsets`` passes the
    buffer three times with the operands' offsets, as the compiler does."""
    B, L, H, D = 2, 17, 3, 16
    qkv = random((B, L, 3, H, D), dtype, seed=3)
    strides = (L * 3 * H * D, D, 3 * H * D, 1)
    if via == "views":
        args = [qkv[:, :, i] for i in range(3)]
        ops = [AttnOperand(dtype, strides)] * 3
    else:
        args = [qkv] * 3
        ops = [AttnOperand(dtype, strides, offset=i * H * D) for i in range(3)]
    assert tuple(s // qkv.itemsize for s in qkv[:, :, 1].strides) == (L * 3 * H * D, 3 * H * D, D, 1)
    spec, out = attend(f"attn_qkv_{via}", tmp_path, *args, batch_outer=B, batch_inner=H, ops=ops, L=L,
                       scale=0.25)
    if via == "offsets":
        assert f"k_ptr + {H * D} + b_outer * stride_kbo" in spec.source
    heads = [qkv[:, :, i].transpose(0, 2, 1, 3).reshape(B * H, L, D) for i in range(3)]   # [B*H, L, D]
    ref, p, _ = reference(*heads, lambda qk: qk * 0.25)
    check(out, ref, p, heads[2], dtype)


def attend_passing_shapes(name, tmp_path, q, k, v, **kw):
    """``attend`` with the shapes taken from ``q``/``k`` (3-d arrays, batch_inner 1)."""
    return attend(name, tmp_path, q, k, v, batch_outer=q.shape[0], batch_inner=1, **kw)


@pytest.mark.parametrize("Lq,Lk", [(100, 100), (40, 70)])
def test_causal_score_with_and_without_causal_skip(tmp_path, Lq, Lk):
    """Top-left causal mask (key j <= query i, torch's is_causal) from a ScoreFn; causal_skip stops each
    query block's loop at its last row. The skipped blocks add exactly nothing, so both agree bit for bit."""
    q, k, v = (random((2, L, 32), "fp32", i) for i, L in enumerate((Lq, Lk, Lk)))
    score = ScoreFn(params={}, lines=[CAUSAL], name="causal, scale 0.125")
    full, out_full = attend_passing_shapes(f"attn_causal_{Lq}_{Lk}", tmp_path, q, k, v, score=score)
    skip, out_skip = attend_passing_shapes(f"attn_causal_skip_{Lq}_{Lk}", tmp_path, q, k, v, score=score,
                                           causal_skip=True)
    assert "hi = tl.minimum((pid_m + 1) * BLOCK_M, Lk)" in skip.source and "hi = Lk\n" in full.source
    assert skip.bytes_moved < full.bytes_moved and skip.flops < full.flops
    causal = np.tril(np.ones((Lq, Lk), bool))
    ref, p, _ = reference(q, k, v, lambda qk: np.where(causal, qk * 0.125, -np.inf))
    check(out_full, ref, p, v, "fp32")
    assert np.array_equal(out_full, out_skip)


def test_causal_skip_never_reads_key_blocks_above_the_diagonal(tmp_path):
    """One query block (40 rows of a 64-row tile) against 100 keys: keys 64..99 lie above the diagonal of every
    row. Poisoned with NaN they would make the output NaN (0 * NaN in p @ v) if their block were read."""
    q, k, v = (random((1, L, 16), "fp32", i) for i, L in enumerate((40, 100, 100)))
    score = ScoreFn(params={}, lines=[CAUSAL])
    block_m = attention_block_sizes(40, 100, 16, "fp32")[0]
    assert block_m == 64
    k[:, block_m:], v[:, block_m:] = np.nan, np.nan
    _, out = attend_passing_shapes("attn_causal_poison", tmp_path, q, k, v, score=score, causal_skip=True)
    ref, p, _ = reference(q[:, :, :], k[:, :block_m], v[:, :block_m],
                          lambda qk: np.where(np.tril(np.ones((40, block_m), bool)), qk * 0.125, -np.inf))
    check(out, ref, p, v[:, :block_m], "fp32")


def test_score_with_an_additive_bias_from_an_extra_pointer(tmp_path):
    """``s = qk * 0.125 + bias[b, i, j]`` with the bias (-inf where a key is padded out) loaded by the score
    lines from an extra pointer parameter."""
    batch, Lq, Lk, D = 3, 17, 33, 16
    q, k, v = (random((batch, L, D), "fp16", i) for i, L in enumerate((Lq, Lk, Lk)))
    bias = random((batch, Lq, Lk), "fp32", 9)
    bias[1, :, 20:] = -np.inf                       # batch 1: keys 20.. are padding
    score = ScoreFn(params={"bias_ptr": "*fp32"}, name="scale 0.125 + bias",
                    lines=["bias = tl.load(bias_ptr + pid_b * Lq * Lk + rm * Lk + rn, mask=mask, other=0.0)",
                           "s = qk * 0.125 + bias"])
    spec, out = attend_passing_shapes("attn_bias", tmp_path, q, k, v, score=score, extra=[bias])
    assert list(spec.signature) == ["q_ptr", "k_ptr", "v_ptr", "bias_ptr", "out_ptr", "Lq", "Lk"]
    assert "# Score: scale 0.125 + bias" in spec.source
    # the bias tile is counted in the tile heuristics: half the q block budget, a 4-byte tile per stage
    assert spec.constexprs["BLOCK_N"] == attention_block_sizes(Lq, Lk, D, "fp16", batch=batch, score_bytes=4)[1]
    ref, p, _ = reference(q, k, v, lambda qk: qk * 0.125 + bias)
    assert (p[1, :, 20:] == 0).all()
    check(out, ref, p, v, "fp16")


def test_keys_past_lk_stay_masked_whatever_the_score_computes(tmp_path):
    """A score that gives every key the same value (``s = qk * 0.0``) averages v over the Lk real keys; keys
    of the last, partial block (33 = 32 + 1) must not come back from the score lines."""
    q, k, v = (random((1, L, 16), "fp32", i) for i, L in enumerate((5, 33, 33)))
    score = ScoreFn(params={}, lines=["zero = qk * 0.0", "s = zero + 1.0"])
    spec, out = attend_passing_shapes("attn_uniform", tmp_path, q, k, v, score=score)
    assert 33 % spec.constexprs["BLOCK_N"] != 0
    ref, p, _ = reference(q, k, v, lambda qk: qk * 0.0 + 1.0)                    # the mean of v's 33 rows
    check(out, ref, p, v, "fp32")


def test_all_minus_inf_rows_give_nan_and_a_masked_first_block_does_not(tmp_path):
    """Row i sees keys 40 <= j < i + 40 only (a strict window): row 0 sees none and gives NaN, as torch's
    softmax of an all -inf row; every row's first key block (keys 0..31) is fully masked, which must not
    poison the rows that have finite scores later. The log-sum-exp is -inf for row 0."""
    Lq, Lk, D = 20, 70, 16
    q, k, v = (random((2, L, D), "fp32", i) for i, L in enumerate((Lq, Lk, Lk)))
    score = ScoreFn(params={}, lines=['s = tl.where((rn >= 40) & (rn < rm + 40), qk, float("-inf"))'])
    lse = np.full((2, Lq), np.nan, np.float32)
    spec = render_attention("attn_allinf", batch_outer=2, batch_inner=1, Lq=Lq, Lk=Lk, D=D, Dv=D,
                            q=operand(q, 1), k=operand(k, 1), v=operand(v, 1), out_dtype="fp32", score=score,
                            store_lse=True)
    assert spec.constexprs["BLOCK_N"] <= 40 and list(spec.signature)[-3:] == ["lse_ptr", "Lq", "Lk"]
    out = np.full((2, Lq, D), 7.0, np.float32)
    run(spec, tmp_path, q, k, v, out, lse, Lq=Lq, Lk=Lk)
    window = (np.arange(Lk)[None, :] >= 40) & (np.arange(Lk)[None, :] < np.arange(Lq)[:, None] + 40)
    ref, p, s = reference(q, k, v, lambda qk: np.where(window, qk, -np.inf))
    assert np.isnan(out[:, 0]).all() and np.isnan(ref[:, 0]).all()
    check(out[:, 1:], ref[:, 1:], p[:, 1:], v, "fp32")
    assert (lse[:, 0] == -np.inf).all()
    with np.errstate(divide="ignore"):
        ref_lse = np.log(np.exp(s[:, 1:] - s[:, 1:].max(-1, keepdims=True)).sum(-1)) + s[:, 1:].max(-1)
    np.testing.assert_allclose(lse[:, 1:], ref_lse, rtol=1e-6, atol=1e-6)


def test_runtime_lengths_reuse_one_kernel(tmp_path):
    """Lq and Lk are runtime arguments: a spec rendered for (20, 100) runs (29, 130) when only the grid changes."""
    kw = dict(batch_outer=1, batch_inner=1, D=16, Dv=16, out_dtype="fp32", scale=0.25,
              q=AttnOperand("fp32", (0, 0, 16, 1)), k=AttnOperand("fp32", (0, 0, 16, 1)),
              v=AttnOperand("fp32", (0, 0, 16, 1)))
    spec = render_attention("attn_runtime", Lq=20, Lk=100, **kw)
    again = render_attention("attn_runtime", Lq=29, Lk=130, **kw)
    assert (again.source, again.constexprs) == (spec.source, spec.constexprs)   # one Triton cache entry
    q, k, v = (random((1, L, 16), "fp32", i) for i, L in enumerate((29, 130, 130)))
    out = np.full((1, 29, 16), np.nan, np.float32)
    spec.grid = attention_grid(29, 1, spec.constexprs["BLOCK_M"])
    run(spec, tmp_path, q, k, v, out, Lq=29, Lk=130)
    ref, p, _ = reference(q, k, v, lambda qk: qk * 0.25)
    check(out, ref, p, v, "fp32")


def test_value_head_dim_may_differ_and_v_dtype_sets_the_second_dot(tmp_path):
    """Dv != D (padded separately: 40 -> 64) and fp32 v under fp16 q/k: p @ v runs in fp32 (IEEE)."""
    q, k = random((1, 9, 16), "fp16", 1), random((1, 21, 16), "fp16", 2)
    v = random((1, 21, 40), "fp32", 3)
    spec, out = attend_passing_shapes("attn_dv", tmp_path, q, k, v, out_dtype="fp32", scale=0.25)
    assert spec.constexprs["BLOCK_DV"] == 64 and spec.signature["v_ptr"] == "*fp32"
    assert 'acc = tl.dot(p.to(v.dtype), v, acc, input_precision="ieee")' in spec.source
    assert "qk = tl.dot(q, k)\n" in spec.source
    ref, p, _ = reference(q, k, v, lambda qk: qk * 0.25)
    check(out, ref, p, v, "fp32")


# ----------------------------------------------------------------------------------------------------------
# the rendered source and the spec
# ----------------------------------------------------------------------------------------------------------

def qkv_ops(dtype="fp16", B=8, H=12, L=1024, D=64):
    row = 3 * H * D
    return [AttnOperand(dtype, (L * row, D, row, 1), offset=i * H * D) for i in range(3)]


def test_spec_records_launch_and_cost():
    q, k, v = qkv_ops("bf16", B=2, H=3, L=100, D=64)
    spec = render_attention("attn_cost", batch_outer=2, batch_inner=3, Lq=100, Lk=100, D=64, Dv=64, q=q, k=k,
                            v=v, out_dtype="fp32", scale=0.125)
    c = spec.constexprs
    assert spec.kind == "attention" and spec.grid == (-(-100 // c["BLOCK_M"]), 6)
    assert spec.signature == {"q_ptr": "*bf16", "k_ptr": "*bf16", "v_ptr": "*bf16", "out_ptr": "*fp32",
                              "Lq": "i32", "Lk": "i32"}
    assert spec.flops == 4 * 6 * 100 * 100 * 64
    q_blocks = -(-100 // c["BLOCK_M"])
    assert spec.bytes_moved == 6 * (100 * 64 * 2 + q_blocks * 100 * 2 * 64 * 2 + 100 * 64 * 4)
    assert (c["BATCH_INNER"], c["stride_qbo"], c["stride_qbi"], c["stride_qm"]) == (3, 100 * 576, 64, 576)
    assert "out.to(tl.float32)" in spec.source and "SCALE" in c and c["SCALE"] == 0.125
    # the source names no runtime length, so another Lq/Lk in the same tile class hits Triton's cache
    assert not re.search(r"\b100\b", spec.source.split("@triton.jit")[1])


def test_fp32_dots_are_ieee_and_half_dots_use_tensor_cores():
    f32 = render_attention("attn_f32", batch_outer=1, batch_inner=1, Lq=64, Lk=64, D=64, Dv=64,
                           q=AttnOperand("fp32", (0, 0, 64, 1)), k=AttnOperand("fp32", (0, 0, 64, 1)),
                           v=AttnOperand("fp32", (0, 0, 64, 1)), out_dtype="fp32")
    body = f32.source.split("@triton.jit")[1]
    assert body.count('input_precision="ieee"') == 2 and "tf32" not in body
    half = render_attention("attn_f16", batch_outer=1, batch_inner=1, Lq=64, Lk=64, D=64, Dv=64,
                            q=AttnOperand("fp16", (0, 0, 64, 1)), k=AttnOperand("fp16", (0, 0, 64, 1)),
                            v=AttnOperand("fp16", (0, 0, 64, 1)), out_dtype="fp16")
    assert "input_precision" not in half.source.split("@triton.jit")[1]


def test_source_reads_like_the_tutorial_and_names_provenance():
    q, k, v = qkv_ops()
    spec = render_attention("attn_sdpa_0", batch_outer=8, batch_inner=12, Lq=1024, Lk=1024, D=64, Dv=64, q=q,
                            k=k, v=v, out_dtype="fp16", scale=0.125, nodes=["sdpa_3"], user_lines=["model.py:40"])
    header, body = spec.source.split("import triton\n", 1)
    assert "#   nodes: sdpa_3" in header and "#   from: model.py:40" in header
    assert spec.nodes == ["sdpa_3"] and spec.user_lines == ["model.py:40"]
    # in order: offsets, the q load, the state, the loop with its dot, score, update and second dot, the store
    steps = ["offs_m = pid_m * BLOCK_M", "q = tl.load(", "m_i = tl.full(", "for start_n in range(0, hi, BLOCK_N):",
             "qk = tl.dot(q, k)", "# Score: scale 0.125", "s = tl.where(mask_n, s, float(\"-inf\"))",
             "m_new = tl.maximum(m_i, tl.max(s, 1))", "alpha = tl.exp(m_i - m_safe)",
             "acc = tl.dot(p.to(v.dtype), v, acc)", "out = acc / l_i[:, None]", "tl.store(out_ptr"]
    positions = [body.index(step) for step in steps]
    assert positions == sorted(positions)


def test_bad_score_is_refused_with_the_reason():
    kw = dict(batch_outer=1, batch_inner=1, Lq=4, Lk=4, D=16, Dv=16, q=AttnOperand("fp16", (0, 0, 16, 1)),
              k=AttnOperand("fp16", (0, 0, 16, 1)), v=AttnOperand("fp16", (0, 0, 16, 1)), out_dtype="fp16")
    cases = [
        (ScoreFn(params={}, lines=["t = qk"]), "never assign s"),
        (ScoreFn(params={}, lines=["acc = qk", "s = acc"]), r"assign \['acc'\]"),
        (ScoreFn(params={"qk": "*fp32"}, lines=["s = qk"]), "shadows a name the attention template defines"),
        (ScoreFn(params={"bias": "float"}, lines=["s = qk"]), "not a Triton type"),
        (ScoreFn(params={}, lines=["s = tl.where(qk,"]), "not valid Python"),
        (ScoreFn(params={"b ias": "*fp32"}, lines=["s = qk"]), "not a Python identifier"),
    ]
    for score, fragment in cases:
        with pytest.raises(ValueError, match=fragment):
            render_attention("attn_bad", score=score, **kw)


def test_bad_arguments_are_refused_with_the_values():
    h, f = AttnOperand("fp16", (0, 0, 16, 1)), AttnOperand("fp32", (0, 0, 16, 1))
    kw = dict(batch_outer=1, batch_inner=1, Lq=4, Lk=4, D=16, Dv=16, out_dtype="fp16")
    with pytest.raises(ValueError, match="q is fp16 and k is fp32"):
        render_attention("attn_bad", q=h, k=f, v=h, **kw)
    with pytest.raises(ValueError, match="Lk must be a positive int, got 0"):
        render_attention("attn_bad", q=h, k=h, v=h, **{**kw, "Lk": 0})
    with pytest.raises(ValueError, match="supports fp16 head dims up to 256"):
        render_attention("attn_bad", q=h, k=h, v=h, **{**kw, "D": 512})
    with pytest.raises(ValueError, match="batch 300 x 300 = 90000 exceeds"):
        render_attention("attn_bad", q=h, k=h, v=h, **{**kw, "batch_outer": 300, "batch_inner": 300})
    with pytest.raises(ValueError, match="i32"):
        render_attention("attn_bad", q=AttnOperand("fp16", (0, 0, 2 ** 30, 1)), k=h, v=h, **kw)
    with pytest.raises(ValueError, match="strides must be four non-negative ints"):
        AttnOperand("fp16", (0, 16, 1))
    with pytest.raises(ValueError, match="dtype 'int8' is not supported"):
        AttnOperand("int8", (0, 0, 16, 1))


# ----------------------------------------------------------------------------------------------------------
# launch heuristics
# ----------------------------------------------------------------------------------------------------------

def test_heuristics_pick_the_tutorial_tiles_and_shrink_for_fma_dots_and_loads():
    assert attention_block_sizes(1024, 1024, 64, "fp16", batch=96) == (128, 64)
    assert attention_block_sizes(1024, 1024, 256, "bf16", batch=96) == (64, 32)          # 32 KiB q block
    assert attention_block_sizes(1024, 1024, 64, "fp32", batch=96) == (64, 32)
    assert attention_block_sizes(1024, 1024, 128, "fp32", batch=96) == (64, 16)
    assert attention_block_sizes(1024, 1024, 64, "fp16", batch=96, score_bytes=4) == (128, 32)
    assert attention_block_sizes(1, 1, 16, "fp16") == (16, 16)                         # decode: one row
    assert attention_block_sizes(256, 256, 64, "fp16", batch=1) == (64, 64)             # 2 programs: fill SMs
    assert (attention_num_warps(128, 64, 32), attention_num_warps(128, 64, 64)) == (4, 8)
    assert attention_num_stages(128, 64, 64, 64, 1024, "fp16") == 3
    assert attention_num_stages(128, 64, 128, 128, 1024, "bf16") == 2
    assert attention_num_stages(128, 64, 64, 64, 50, "fp16") == 1                      # one key block
    assert (head_block(1), head_block(8), head_block(17), head_block(128)) == (16, 16, 32, 128)
    assert default_score(0.5).constexprs == {"SCALE": 0.5}


@pytest.mark.parametrize("dtype", ["fp16", "bf16", "fp32", "fp64"])
def test_heuristics_stay_legal_over_a_sweep_of_shapes(dtype):
    itemsize = {"fp16": 2, "bf16": 2, "fp32": 4, "fp64": 8}[dtype]
    for L in (1, 15, 16, 17, 100, 1000, 50000):
        for D in (1, 16, 33, 64, 100, 128) + ((256,) if dtype != "fp64" else ()):
            for score_bytes in (0, 4):
                bm, bn = attention_block_sizes(L, L, D, dtype, score_bytes=score_bytes)
                bd = head_block(D)
                for block in (bm, bn, bd):
                    assert block >= 16 and block & (block - 1) == 0, (L, D, bm, bn, bd)
                stages = attention_num_stages(bm, bn, bd, bd, L, dtype, score_bytes=score_bytes)
                stage = bn * (2 * bd * itemsize + bm * score_bytes)
                assert stages >= 1 and (stages == 1 or bm * bd * itemsize + stages * stage <= ATTN_SMEM)
                assert attention_num_warps(bm, bn, bd, dtype) in (4, 8)


# ----------------------------------------------------------------------------------------------------------
# ahead-of-time legality for sm_80 and sm_90
# ----------------------------------------------------------------------------------------------------------

TEMPLATE_SHARED = 99 * 1024     # what the template targets: sm_86/sm_89's limit, well under sm_80/sm_90's


def _aot_specs():
    """Realistic configs: GPT-2-like batch 8 x 12 heads, L 1024, read from a packed qkv buffer."""
    def sdpa(name, dtype, D, score=None, **kw):
        q, k, v = qkv_ops(dtype, D=D)
        return render_attention(name, batch_outer=8, batch_inner=12, Lq=1024, Lk=1024, D=D, Dv=D, q=q, k=k,
                                v=v, out_dtype=dtype, scale=D ** -0.5, score=score, **kw)
    causal = ScoreFn(params={}, lines=[CAUSAL], name="causal")
    bias = ScoreFn(params={"bias_ptr": "*fp32"}, name="bias",
                   lines=["bias = tl.load(bias_ptr + pid_b * Lq * Lk + rm * Lk + rn, mask=mask, other=0.0)",
                          "s = qk * 0.125 + bias"])
    return {
        "fp16_d64_causal": (sdpa("attn_aot_fp16_d64_causal", "fp16", 64, causal, causal_skip=True),
                            {80: r"mma\.sync\.aligned\.m16n8k16\.row\.col\.f32\.f16", 90: r"wgmma\.mma_async"}),
        "bf16_d128": (sdpa("attn_aot_bf16_d128", "bf16", 128, store_lse=True),
                      {80: r"mma\.sync\.aligned\.m16n8k16\.row\.col\.f32\.bf16", 90: r"wgmma\.mma_async"}),
        "fp32_d64": (sdpa("attn_aot_fp32_d64", "fp32", 64),
                     {80: r"fma\.rn\.f32", 90: r"fma\.rn\.f32"}),                  # IEEE: no tensor cores
        "fp16_d64_bias": (sdpa("attn_aot_fp16_d64_bias", "fp16", 64, bias),
                          {80: r"mma\.sync", 90: r"wgmma\.mma_async"}),
    }


@pytest.fixture(scope="module")
def aot_results():
    from torchlite.compiler.aot import compile_many
    cases = _aot_specs()
    return cases, compile_many([spec for spec, _ in cases.values()], archs=(80, 90))


@pytest.mark.parametrize("capability", [80, 90])
@pytest.mark.parametrize("case", ["fp16_d64_causal", "bf16_d128", "fp32_d64", "fp16_d64_bias"])
def test_kernel_compiles_for_real_gpus_without_spills(aot_results, case, capability):
    cases, results = aot_results
    spec, expected_ptx = cases[case]
    r = results[(spec.name, capability)]
    assert not r.problems(), r.problems()
    assert r.shared_bytes <= TEMPLATE_SHARED, f"{case} sm_{capability}: {r.shared_bytes} B of shared memory"
    assert r.n_regs <= 255 and r.n_spills == 0
    assert re.search(expected_ptx[capability], r.asm["ptx"]), \
        f"{case} sm_{capability}: expected {expected_ptx[capability]!r} in the PTX"
