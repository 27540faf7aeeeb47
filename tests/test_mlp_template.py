"""The MLP template (torchlite.kernels.mlp): numerics in Triton's interpreter, legality ahead of time.

Numerics: each rendered kernel is imported from a real file (``compiler.aot.load_kernel``) and run by the
``interpret`` device (``InterpretRuntime``, numpy arrays, bf16 dots and casts fixed up), then compared with a
float64 numpy reference on the same (rounded) inputs that rounds the hidden activation where the kernel
does (to the input dtype after ``b1``, to W2's dtype before the second dot). The error is measured against
``(|x| @ |W1| + |b1|) @ |W2| + |b2|``, the magnitude both layers' sums are bounded by: fp32 is within a few
ulps of it; fp16/bf16 may round a hidden element one ulp differently (fp32 vs float64 ``h``) and round
the output once.

Legality: realistic configs compile for sm_80 and sm_90 with ``compiler.aot.compile_many`` (no GPU needed);
``AOTResult.problems()`` must be empty (no spills, shared memory within the arch's limit).
"""
from __future__ import annotations

import math
import re

import ml_dtypes
import numpy as np
import pytest

from torchlite.kernels.mlp import (
    MLP_SMEM, Activation, MlpOperand, mlp_block_sizes, mlp_grid, mlp_num_stages, mlp_num_warps, render_mlp,
)

pytest.importorskip("triton")

NP_DTYPE = {"fp16": np.float16, "bf16": ml_dtypes.bfloat16, "fp32": np.float32}
# Error bound per dtype, relative to (|x| @ |W1| + |b1|) @ |W2| + |b2|: fp32 accumulates in fp32 (K, H <= 256
# here, a few ulps of 2**-24); fp16/bf16 may flip one hidden rounding (2**-11 / 2**-8) and round the output.
RTOL = {"fp32": 1e-5, "fp16": 3e-3, "bf16": 2.4e-2}

RELU = Activation(lines=["a = tl.maximum(h, 0.0)"], name="relu")
GELU = Activation(lines=["a = 0.5 * h * (1.0 + libdevice.erf(h * 0.7071067811865476))"], name="gelu (erf)")
_erf = np.vectorize(math.erf)
REF_ACT = {"identity": lambda h: h, "relu": lambda h: np.maximum(h, 0.0),
           "gelu (erf)": lambda h: 0.5 * h * (1.0 + _erf(h / math.sqrt(2.0)))}


# ----------------------------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------------------------

def random(shape, dtype, seed, scale=1.0):
    return (np.random.default_rng(seed).standard_normal(shape) * scale).astype(NP_DTYPE[dtype])


def operand(arr: np.ndarray, transposed: bool = False) -> MlpOperand:
    """The operand of a 2-d array, or of its transpose (``arr.T`` read through swapped strides)."""
    st = tuple(s // arr.itemsize for s in arr.strides)
    return MlpOperand({v: k for k, v in NP_DTYPE.items()}[arr.dtype.type], st[::-1] if transposed else st)


def run(spec, tmp_path, *args, M):
    """Import ``spec`` and run it in the interpreter on ``spec.grid`` (``args``: the pointer arguments)."""
    from torchlite.compiler.aot import load_kernel
    from torchlite.devices.interpret import InterpretRuntime
    fn = load_kernel(spec, tmp_path)
    InterpretRuntime().kernel(fn, signature=spec.signature)[spec.grid](*args, M, **spec.constexprs)


def mlp(name, tmp_path, x, w1, w2, b1=None, b2=None, *, linear=False, out_dtype=None, extra=(), **kw):
    """Render and run the MLP; ``linear``: w1 / w2 are torch Linear weights ``[H, K]`` / ``[N, H]``, read
    transposed through strides. Returns ``(spec, out)``. A NaN guard after the output checks that nothing
    past it was written."""
    M, K = x.shape
    H, N = (w1.shape[0], w2.shape[0]) if linear else (w1.shape[1], w2.shape[1])
    out_dtype = out_dtype or operand(x).dtype
    spec = render_mlp(name, M=M, K=K, H=H, N=N, x=operand(x), w1=operand(w1, linear), w2=operand(w2, linear),
                      b1=None if b1 is None else operand(b1[None]).dtype,
                      b2=None if b2 is None else operand(b2[None]).dtype, out_dtype=out_dtype, **kw)
    flat = np.full(M * N + 64, np.nan, NP_DTYPE[out_dtype])
    args = [x, w1] + ([b1] if b1 is not None else []) + [w2] + ([b2] if b2 is not None else []) + list(extra)
    run(spec, tmp_path, *args, flat, M=M)
    assert np.isnan(flat[M * N:].astype(np.float64)).all(), "the kernel stored past its output"
    return spec, flat[:M * N].reshape(M, N)


def f64(a):
    return np.asarray(a, np.float64)


def reference(x, w1, w2, b1=None, b2=None, *, act=lambda h: h, round_to=None, w2_dtype=None):
    """float64 ``act(round(x @ w1 + b1)) @ w2 + b2`` (w1 ``[K, H]``, w2 ``[H, N]``) and its error scale."""
    x, w1, w2 = f64(x), f64(w1), f64(w2)
    b1 = np.zeros(w1.shape[1]) if b1 is None else f64(b1)
    b2 = np.zeros(w2.shape[1]) if b2 is None else f64(b2)
    h = x @ w1 + b1
    if round_to is not None:
        h = f64(h.astype(NP_DTYPE[round_to]))
    a = act(h)
    if w2_dtype is not None:
        a = f64(a.astype(NP_DTYPE[w2_dtype]))
    scale = (np.abs(x) @ np.abs(w1) + np.abs(b1)) @ np.abs(w2) + np.abs(b2) + 1e-30
    return a @ w2 + b2, scale


def check(out, ref, scale, dtype):
    out = np.asarray(out, np.float64)
    assert np.all(np.isfinite(out)), "output has NaN/inf (unwritten or wrongly masked elements)"
    err = np.abs(out - ref) / scale
    worst = np.unravel_index(np.argmax(err), err.shape)
    assert err.max() <= RTOL[dtype], (f"{dtype}: relative error {err[worst]:.3g} at {worst} exceeds "
                                      f"{RTOL[dtype]} (ref {ref[worst]:.6g}, got {out[worst]:.6g})")


# ----------------------------------------------------------------------------------------------------------
# numerics in the interpreter
# ----------------------------------------------------------------------------------------------------------

SHAPES = [(1, 16, 64, 16), (17, 33, 100, 19), (64, 64, 256, 64)]        # (M, K, H, N)


@pytest.mark.parametrize("variant", ["plain", "linear_biases"])
@pytest.mark.parametrize("dtype", ["fp32", "fp16", "bf16"])
@pytest.mark.parametrize("M,K,H,N", SHAPES, ids=["x".join(map(str, s)) for s in SHAPES])
def test_mlp_matches_float64_reference(tmp_path, dtype, M, K, H, N, variant):
    """``plain``: row-major W1 [K, H], W2 [H, N], no biases. ``linear_biases``: torch Linear weights
    [H, K] and [N, H] read transposed through their strides, with both biases."""
    seed = M * 1000 + K
    linear = variant == "linear_biases"
    x = random((M, K), dtype, seed)
    w1 = random((H, K) if linear else (K, H), dtype, seed + 1, K ** -0.5)
    w2 = random((N, H) if linear else (H, N), dtype, seed + 2, H ** -0.5)
    b1, b2 = (random((H,), dtype, seed + 3), random((N,), dtype, seed + 4)) if linear else (None, None)
    spec, out = mlp(f"mlp_{dtype}_{variant}_{M}_{K}_{H}_{N}", tmp_path, x, w1, w2, b1, b2, linear=linear)
    assert spec.grid == (-(-M // spec.constexprs["BLOCK_M"]),)              # N <= 128: one column block
    assert ("b1_ptr" in spec.signature) == ("b2_ptr" in spec.signature) == linear
    w1_kh, w2_hn = (w1.T, w2.T) if linear else (w1, w2)
    ref, scale = reference(x, w1_kh, w2_hn, b1, b2, round_to=None if dtype == "fp32" else dtype,
                           w2_dtype=dtype)
    check(out, ref, scale, dtype)


@pytest.mark.parametrize("act", [RELU, GELU], ids=["relu", "gelu"])
@pytest.mark.parametrize("dtype", ["fp32", "bf16"])
def test_activation_lines_run_on_the_hidden_tile(tmp_path, dtype, act):
    """relu and erf-gelu (libdevice, imported at the module top) between Linear layers with biases."""
    M, K, H, N = 17, 33, 100, 19
    x = random((M, K), dtype, 1)
    w1, w2 = random((H, K), dtype, 2, K ** -0.5), random((N, H), dtype, 3, H ** -0.5)
    b1, b2 = random((H,), dtype, 4), random((N,), dtype, 5)
    spec, out = mlp(f"mlp_act_{dtype}_{act.name[:4]}", tmp_path, x, w1, w2, b1, b2, linear=True, activation=act)
    assert f"# Activation: {act.name}\n        {act.lines[0]}" in spec.source
    ref, scale = reference(x, w1.T, w2.T, b1, b2, act=REF_ACT[act.name],
                           round_to=None if dtype == "fp32" else dtype, w2_dtype=dtype)
    check(out, ref, scale, dtype)


def test_wide_n_uses_column_blocks_that_recompute_the_hidden(tmp_path):
    """N = 300 > 128: a 2-d grid of (row blocks, 3 column blocks), each recomputing the hidden."""
    M, K, H, N = 20, 16, 48, 300
    x, w1, w2 = random((M, K), "fp16", 1), random((H, K), "fp16", 2, 0.25), random((N, H), "fp16", 3, 0.15)
    b1, b2 = random((H,), "fp16", 4), random((N,), "fp16", 5)
    spec, out = mlp("mlp_wide_n", tmp_path, x, w1, w2, b1, b2, linear=True, activation=GELU)
    c = spec.constexprs
    assert c["BLOCK_N"] == 128 and spec.grid == (-(-M // c["BLOCK_M"]), 3)
    assert "3 column blocks each recompute the hidden" in spec.source
    ref, scale = reference(x, w1.T, w2.T, b1, b2, act=REF_ACT[GELU.name], round_to="fp16", w2_dtype="fp16")
    check(out, ref, scale, "fp16")


def test_hidden_columns_past_h_are_zeroed_after_the_activation(tmp_path):
    """``a = h + 1 + 0 / h`` is ``h + 1`` on real columns and NaN on the zero-loaded hidden columns past
    H = 100 (chunk 32: 28 padded columns). W2's padded rows load as zeros, but 0 * NaN would still leak into
    every output, so the template zeroes the padded columns after the activation."""
    M, K, H, N = 9, 16, 100, 24
    x, w1, w2 = random((M, K), "fp32", 1), random((K, H), "fp32", 2), random((H, N), "fp32", 3)
    shift = Activation(lines=["nan_at_zero = (1.0 / h) * 0.0", "a = h + 1.0 + nan_at_zero"], name="h + 1")
    spec, out = mlp("mlp_pad_h", tmp_path, x, w1, w2, activation=shift)
    assert H % spec.constexprs["BLOCK_H"] != 0 and not spec.constexprs["EVEN_H"]
    ref, scale = reference(x, w1, w2, act=lambda h: h + 1.0)
    check(out, ref, scale, "fp32")


def test_activation_params_follow_the_weights_in_the_signature(tmp_path):
    """A leaky relu whose slope is an fp32 kernel parameter, and a per-hidden-column scale from a pointer."""
    M, K, H, N = 17, 16, 64, 16
    x, w1, w2 = random((M, K), "fp32", 1), random((K, H), "fp32", 2), random((H, N), "fp32", 3)
    col_scale = random((H,), "fp32", 4)
    act = Activation(params={"slope": "fp32", "scale_ptr": "*fp32"}, name="scaled leaky relu",
                     lines=["cs = tl.load(scale_ptr + rh, mask=rh < H, other=0.0)",
                            "a = tl.where(h > 0, h, h * slope) * cs"])
    spec, out = mlp("mlp_params", tmp_path, x, w1, w2, b2=random((N,), "fp32", 5), activation=act,
                    extra=[0.125, col_scale])
    assert list(spec.signature) == ["x_ptr", "w1_ptr", "w2_ptr", "b2_ptr", "slope", "scale_ptr", "out_ptr", "M"]
    ref, scale = reference(x, w1, w2, b2=random((N,), "fp32", 5),
                           act=lambda h: np.where(h > 0, h, h * 0.125) * f64(col_scale))
    check(out, ref, scale * (1 + np.abs(col_scale).max()), "fp32")


def test_round_hidden_matches_eager_rounding_and_can_be_turned_off(tmp_path):
    """fp16 with ``round_hidden``: h is rounded to fp16 before the activation (as two eager Linears store
    it); without, h stays fp32 and matches the unrounded reference. fp32 never emits the cast."""
    M, K, H, N = 16, 64, 64, 16
    x, w1, w2 = random((M, K), "fp16", 1), random((K, H), "fp16", 2, 0.5), random((H, N), "fp16", 3, 0.2)
    on, out_on = mlp("mlp_round_on", tmp_path, x, w1, w2)
    off, out_off = mlp("mlp_round_off", tmp_path, x, w1, w2, round_hidden=False, out_dtype="fp32")
    assert "h = h.to(tl.float16).to(tl.float32)" in on.source
    assert "h.to(tl.float16)" not in off.source and "kept in fp32" in off.source
    ref_on, scale = reference(x, w1, w2, round_to="fp16", w2_dtype="fp16")
    ref_off, _ = reference(x, w1, w2, w2_dtype="fp16")
    check(out_on, ref_on, scale, "fp16")
    check(out_off, ref_off, scale, "fp32")
    f32 = render_mlp("mlp_round_f32", M=4, K=16, H=16, N=16, x=MlpOperand("fp32", (16, 1)),
                     w1=MlpOperand("fp32", (16, 1)), w2=MlpOperand("fp32", (16, 1)), b1=None, b2=None,
                     out_dtype="fp32")
    assert ".to(tl.float32).to" not in f32.source and "h.to(" not in f32.source


def test_runtime_m_reuses_one_kernel(tmp_path):
    """M is a runtime argument: a spec rendered for M = 20 runs M = 29 when only the grid changes."""
    kw = dict(K=16, H=32, N=16, x=MlpOperand("fp32", (16, 1)), w1=MlpOperand("fp32", (32, 1)),
              w2=MlpOperand("fp32", (16, 1)), b1="fp32", b2=None, out_dtype="fp32", activation=RELU)
    spec = render_mlp("mlp_runtime", M=20, **kw)
    again = render_mlp("mlp_runtime", M=29, **kw)
    assert (again.source, again.constexprs) == (spec.source, spec.constexprs)    # one Triton cache entry
    x, w1, w2, b1 = random((29, 16), "fp32", 1), random((16, 32), "fp32", 2), random((32, 16), "fp32", 3), \
        random((32,), "fp32", 4)
    out = np.full((29, 16), np.nan, np.float32)
    spec.grid = mlp_grid(29, 16, spec.constexprs["BLOCK_M"], spec.constexprs["BLOCK_N"])
    run(spec, tmp_path, x, w1, b1, w2, out, M=29)
    ref, scale = reference(x, w1, w2, b1, act=REF_ACT["relu"])
    check(out, ref, scale, "fp32")


# ----------------------------------------------------------------------------------------------------------
# the rendered source and the spec
# ----------------------------------------------------------------------------------------------------------

def _linear_ops(dtype, K, H, N, w2_dtype=None):
    """x [M, K] row-major; W1, W2 torch Linear weights [H, K], [N, H] read transposed."""
    return dict(x=MlpOperand(dtype, (K, 1)), w1=MlpOperand(dtype, (1, K)), w2=MlpOperand(w2_dtype or dtype, (1, H)))


def test_spec_records_launch_and_cost():
    M, K, H, N = 100, 64, 256, 300
    spec = render_mlp("mlp_cost", M=M, K=K, H=H, N=N, **_linear_ops("bf16", K, H, N), b1="bf16", b2="fp32",
                      out_dtype="fp32")
    c = spec.constexprs
    assert spec.kind == "mlp" and spec.grid == (-(-M // c["BLOCK_M"]), 3)
    assert spec.signature == {"x_ptr": "*bf16", "w1_ptr": "*bf16", "b1_ptr": "*bf16", "w2_ptr": "*bf16",
                              "b2_ptr": "*fp32", "out_ptr": "*fp32", "M": "i32"}
    assert spec.flops == 2 * M * K * H + 2 * M * H * N
    # x, W1, b1 once per column block (3); W2, b2 and out once
    assert spec.bytes_moved == 3 * (M * K * 2 + K * H * 2 + H * 2) + H * N * 2 + N * 4 + M * N * 4
    assert (c["K"], c["H"], c["N"], c["stride_w1k"], c["stride_w1h"], c["stride_w2h"]) == (K, H, N, 1, K, 1)
    # the source names no runtime size, so another M in the same tile class hits Triton's cache
    assert not re.search(r"\b100\b", spec.source.split("@triton.jit")[1])


def test_fp32_dots_are_ieee_and_half_dots_use_tensor_cores():
    f32 = render_mlp("mlp_f32", M=64, K=64, H=256, N=64, **_linear_ops("fp32", 64, 256, 64), b1=None, b2=None,
                     out_dtype="fp32")
    body = f32.source.split("@triton.jit")[1]
    assert body.count('input_precision="ieee"') == 2 and "tf32" not in body
    half = render_mlp("mlp_f16", M=64, K=64, H=256, N=64, **_linear_ops("fp16", 64, 256, 64), b1=None, b2=None,
                      out_dtype="fp16")
    assert "input_precision" not in half.source.split("@triton.jit")[1]
    mixed = render_mlp("mlp_mixed", M=64, K=64, H=256, N=64, **_linear_ops("fp16", 64, 256, 64, "fp32"),
                       b1=None, b2=None, out_dtype="fp32")
    assert 'acc = tl.dot(a.to(tl.float32), w2, acc, input_precision="ieee")' in mixed.source
    assert "h = tl.dot(x, w1, h)\n" in mixed.source


def test_source_reads_like_a_tutorial_and_names_provenance():
    spec = render_mlp("mlp_block_0", M=512, K=128, H=512, N=128, **_linear_ops("fp16", 128, 512, 128),
                      b1="fp16", b2="fp16", out_dtype="fp16", activation=GELU, nodes=["linear_1", "gelu_2",
                      "linear_3"], user_lines=["model.py:12"])
    header, body = spec.source.split("import triton\n", 1)
    assert "#   nodes: linear_1, gelu_2, linear_3" in header and "#   from: model.py:12" in header
    assert "activation: gelu (erf)" in header and spec.nodes == ["linear_1", "gelu_2", "linear_3"]
    assert "from triton.language.extra import libdevice" in body.split("@triton.jit")[0]
    steps = ["offs_m = pid_m * BLOCK_M", "acc = tl.zeros(", "for start_h in range(0, H, BLOCK_H):",
             "for start_k in range(0, K, BLOCK_K):", "h = tl.dot(x, w1, h)", "h = h + b1",
             "h = h.to(tl.float16).to(tl.float32)", "# Activation: gelu", "a = tl.where(mask_h, a, 0.0)",
             "acc = tl.dot(a.to(tl.float16), w2, acc)", "acc = acc + b2[None, :]", "tl.store(out_ptr"]
    positions = [body.index(step) for step in steps]
    assert positions == sorted(positions)


def test_bad_activation_is_refused_with_the_reason():
    kw = dict(M=4, K=16, H=16, N=16, **_linear_ops("fp16", 16, 16, 16), b1=None, b2=None, out_dtype="fp16")
    cases = [
        (Activation(lines=["t = h"]), "never assign a"),
        (Activation(lines=["acc = h", "a = acc"]), r"assign \['acc'\]"),
        (Activation(lines=["a = h"], params={"h": "*fp32"}), "shadows a name the MLP template defines"),
        (Activation(lines=["a = h"], params={"slope": "float"}), "not a Triton type"),
        (Activation(lines=["a = tl.maximum(h,"]), "not valid Python"),
        (Activation(lines=["a = h"], params={"b ias": "*fp32"}), "not a Python identifier"),
    ]
    for act, fragment in cases:
        with pytest.raises(ValueError, match=fragment):
            render_mlp("mlp_bad", activation=act, **kw)


def test_bad_arguments_are_refused_with_the_values():
    h, f = MlpOperand("fp16", (16, 1)), MlpOperand("fp32", (16, 1))
    kw = dict(M=4, K=16, H=16, N=16, b1=None, b2=None, out_dtype="fp16")
    with pytest.raises(ValueError, match="x is fp16 and w1 is fp32"):
        render_mlp("mlp_bad", x=h, w1=f, w2=h, **kw)
    with pytest.raises(ValueError, match="H must be a positive int, got 0"):
        render_mlp("mlp_bad", x=h, w1=h, w2=h, **{**kw, "H": 0})
    with pytest.raises(ValueError, match="b1 'int8' is not one of"):
        render_mlp("mlp_bad", x=h, w1=h, w2=h, **{**kw, "b1": "int8"})
    with pytest.raises(ValueError, match="i32"):
        render_mlp("mlp_bad", x=MlpOperand("fp16", (2 ** 30, 1)), w1=h, w2=h, **kw)
    with pytest.raises(ValueError, match="strides must be two non-negative ints"):
        MlpOperand("fp16", (0, 16, 1))
    with pytest.raises(ValueError, match="dtype 'fp64' is not supported"):
        MlpOperand("fp64", (16, 1))


# ----------------------------------------------------------------------------------------------------------
# launch heuristics
# ----------------------------------------------------------------------------------------------------------

def test_heuristics_pick_tiles_that_fill_the_gpu_and_shrink_for_fma_dots():
    assert mlp_block_sizes(8192, 128, 512, 128, "fp16") == (64, 64, 64, 128)
    assert mlp_block_sizes(512, 128, 512, 128, "fp16") == (32, 64, 64, 128)       # 16 programs: fill SMs
    assert mlp_block_sizes(8192, 128, 512, 128, "fp32") == (64, 16, 32, 128)     # IEEE: FMA dot, small K/H
    assert mlp_block_sizes(1, 16, 64, 16, "bf16") == (16, 16, 64, 16)             # decode: one row
    assert mlp_block_sizes(64, 768, 3072, 768, "fp16")[3] == 128                  # wide N: column blocks
    assert (mlp_num_warps(64, 64, 128), mlp_num_warps(32, 64, 128), mlp_num_warps(16, 32, 16, "fp32")) == (8, 4, 8)
    assert mlp_num_stages(64, 64, 64, 128, 512, "fp16") == 2
    assert mlp_num_stages(64, 64, 64, 128, 64, "fp16") == 1                       # one K step
    assert mlp_num_stages(64, 16, 32, 128, 512, "fp32") == 1
    assert mlp_grid(100, 128, 32, 128) == (4,) and mlp_grid(100, 129, 32, 128) == (4, 2)


@pytest.mark.parametrize("dtype", ["fp16", "bf16", "fp32"])
def test_heuristics_stay_legal_over_a_sweep_of_shapes(dtype):
    itemsize = {"fp16": 2, "bf16": 2, "fp32": 4}[dtype]
    for M in (1, 17, 100, 512, 50000):
        for K in (1, 16, 33, 64, 128, 256, 1024):
            for N in (1, 19, 64, 128, 256, 1000):
                H = 4 * K
                bm, bk, bh, bn = mlp_block_sizes(M, K, H, N, dtype)
                for block in (bm, bk, bh, bn):
                    assert block >= 16 and block & (block - 1) == 0, (M, K, N, bm, bk, bh, bn)
                assert bn <= 128 and bm <= 64
                stages = mlp_num_stages(bm, bk, bh, bn, K, dtype)
                fixed = (bh * bn + bm * bh) * itemsize
                assert stages >= 1 and (stages == 1 or fixed + stages * (bm * bk + bk * bh) * itemsize <= MLP_SMEM)
                assert mlp_num_warps(bm, bh, bn, dtype) in (4, 8)


# ----------------------------------------------------------------------------------------------------------
# ahead-of-time legality for sm_80 and sm_90
# ----------------------------------------------------------------------------------------------------------

TEMPLATE_SHARED = 99 * 1024     # what the template targets: sm_86/sm_89's limit, well under sm_80/sm_90's
EXPECTED_PTX = {"fp16": r"mma\.sync\.aligned\.m16n8k16\.row\.col\.f32\.f16",
                "bf16": r"mma\.sync\.aligned\.m16n8k16\.row\.col\.f32\.bf16",
                "fp32": r"fma\.rn\.f32"}                                        # IEEE: no tensor cores


@pytest.fixture(scope="module")
def aot_results():
    """A GPT-like MLP block (K 128, H 512, N 128, M 512 tokens) with biases and erf-gelu, Linear weights."""
    from torchlite.compiler.aot import compile_many
    specs = {dtype: render_mlp(f"mlp_aot_{dtype}", M=512, K=128, H=512, N=128, **_linear_ops(dtype, 128, 512, 128),
                               b1=dtype, b2=dtype, out_dtype=dtype, activation=GELU)
             for dtype in ("fp16", "bf16", "fp32")}
    return specs, compile_many(list(specs.values()), archs=(80, 90))


@pytest.mark.parametrize("capability", [80, 90])
@pytest.mark.parametrize("dtype", ["fp16", "bf16", "fp32"])
def test_kernel_compiles_for_real_gpus_without_spills(aot_results, dtype, capability):
    specs, results = aot_results
    r = results[(specs[dtype].name, capability)]
    assert not r.problems(), r.problems()
    assert r.shared_bytes <= TEMPLATE_SHARED, f"{dtype} sm_{capability}: {r.shared_bytes} B of shared memory"
    assert r.n_regs <= 255 and r.n_spills == 0
    assert re.search(EXPECTED_PTX[dtype], r.asm["ptx"]), f"{dtype} sm_{capability}: no {EXPECTED_PTX[dtype]!r}"
    assert "erf" in r.asm["ptx"]                                                 # gelu's libdevice erf is in
