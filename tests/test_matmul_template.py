"""The matmul template (torchlite.kernels.matmul): numerics in Triton's interpreter, legality ahead of time.

Numerics: each rendered kernel is written to a real file, imported, and run by
``triton.runtime.interpreter.InterpretedFunction`` on torch CPU tensors, then compared with numpy float64 on
the same (rounded) inputs. The error bound is the textbook one for a dot product, relative to ``|A| @ |B|``
(the K-scaled magnitude), plus one rounding of the output dtype.

Legality: kernels for realistic shapes compile with ``triton.compile`` for sm_80 and sm_90 (no GPU needed);
their shared memory (compiled metadata) must fit the part, and ``cuobjdump --dump-resource-usage`` on the cubin
must show no spills: spill slots live in the stack frame (ptxas ``-v``: "N bytes stack frame, N bytes spill
stores"), so both STACK and LOCAL must be 0.
"""
from __future__ import annotations

import importlib.util
import re
import sys

import numpy as np
import pytest

from torchlite.compiler.aot import compile_spec
from torchlite.kernels.matmul import (
    PIPELINE_SMEM, Epilogue, Operand, default_epilogue, matmul_block_sizes, matmul_grid, matmul_num_stages,
    matmul_num_warps, render_matmul,
)

triton = pytest.importorskip("triton")

TORCH_DTYPE_NAMES = {"fp16": "float16", "bf16": "bfloat16", "fp32": "float32", "fp64": "float64"}
# Error bound per input dtype, relative to (|A| @ |B|): fp32/fp64 accumulate in their own precision (K <= 64
# here, so gamma_K is ~4e-6 / ~7e-15); fp16/bf16 products are exact in fp32, then the result is rounded once
# to fp16 (2**-11) or bf16 (2**-8).
RTOL = {"fp64": 1e-13, "fp32": 1e-5, "fp16": 1e-3, "bf16": 8e-3}


# ----------------------------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------------------------

def load_kernel(spec, directory):
    """Write ``spec.source`` to ``directory/<name>.py``, import it, and return the @triton.jit function."""
    path = directory / f"{spec.name}.py"
    path.write_text(spec.source)
    module_name = f"_tl_matmul_{spec.name}_{abs(hash(str(directory)))}"
    mod_spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(mod_spec)
    sys.modules[module_name] = module
    mod_spec.loader.exec_module(module)
    return getattr(module, spec.name)


def interpret(spec, directory, *args):
    """Run the kernel of ``spec`` in Triton's interpreter on ``spec.grid`` with ``args`` + its constexprs."""
    from triton.runtime.interpreter import InterpretedFunction
    fn = load_kernel(spec, directory)
    InterpretedFunction(fn.fn)[spec.grid](*args, **spec.constexprs)


@pytest.fixture
def interpreter_bf16_dot(monkeypatch):
    """Work around a known interpreter limitation: it stores bfloat16 as uint16 and ``tl.dot`` multiplies the
    raw bit patterns (triton-lang/triton#11584; the fix, #11585, was declined: "we just don't support it
    yet"). The kernel is unchanged; only the interpreter's dot widens bf16 operands to fp32 first, exactly."""
    from triton.runtime import interpreter as interp
    import triton.language as tlang
    original = interp.InterpreterBuilder.create_dot

    def widen(x):
        if x.dtype == tlang.bfloat16:
            return interp.TensorHandle((x.data.astype(np.uint32) << 16).view(np.float32), tlang.float32)
        return x

    def create_dot(self, a, b, d, input_precision, max_num_imprecise_acc):
        return original(self, widen(a), widen(b), d, input_precision, max_num_imprecise_acc)

    monkeypatch.setattr(interp.InterpreterBuilder, "create_dot", create_dot)


def random_tensor(torch, shape, dtype, seed):
    rng = np.random.default_rng(seed)
    return torch.from_numpy(rng.standard_normal(shape)).to(getattr(torch, TORCH_DTYPE_NAMES[dtype]))


def as_f64(t) -> np.ndarray:
    return t.double().numpy()


def check_matmul(out, a, b, dtype):
    """``out`` ([batch, M, N]) against float64 ``a @ b`` within ``RTOL[dtype] * (|a| @ |b|)``."""
    a64, b64 = as_f64(a), as_f64(b)
    ref = np.matmul(a64, b64)
    bound = RTOL[dtype] * np.matmul(np.abs(a64), np.abs(b64)) + 1e-30
    err = np.abs(as_f64(out) - ref)
    assert np.all(np.isfinite(as_f64(out))), "output has unwritten (NaN) elements"
    worst = np.unravel_index(np.argmax(err / bound), err.shape)
    assert np.all(err <= bound), (f"{dtype}: error {err[worst]:.3g} at {worst} exceeds the bound "
                                  f"{bound[worst]:.3g} (ref {ref[worst]:.6g}, got {as_f64(out)[worst]:.6g})")


def run_default(torch, tmp_path, name, a, b, batch, M, N, K, dtype, **render_kwargs):
    """Render + interpret the default-epilogue kernel; returns ``(spec, out)``. Checks that nothing past
    the [batch, M, N] output was written (a guard of NaNs follows it in the buffer)."""
    spec = render_matmul(name, M=M, N=N, K=K, batch=batch, a=Operand(dtype, tuple(a.stride()[-3:])),
                         b=Operand(dtype, tuple(b.stride()[-3:])), **render_kwargs)
    guard = 64
    flat = torch.full((batch * M * N + guard,), float("nan"), dtype=a.dtype)
    interpret(spec, tmp_path, a, b, flat, M, N, K)
    assert torch.isnan(flat[batch * M * N:]).all(), "the kernel stored past the end of its output"
    return spec, flat[:batch * M * N].reshape(batch, M, N)


# ----------------------------------------------------------------------------------------------------------
# numerics in the interpreter
# ----------------------------------------------------------------------------------------------------------

SHAPES = [(1, 1, 1, 1), (1, 17, 33, 9), (1, 64, 64, 64), (3, 17, 19, 23)]   # (batch, M, N, K)


@pytest.mark.parametrize("dtype", ["fp32", "fp16", "bf16", "fp64"])
@pytest.mark.parametrize("batch,M,N,K", SHAPES, ids=[f"{b}x{m}x{n}x{k}" for b, m, n, k in SHAPES])
def test_matmul_matches_float64_reference(tmp_path, interpreter_bf16_dot, dtype, batch, M, N, K):
    torch = pytest.importorskip("torch")
    a = random_tensor(torch, (batch, M, K), dtype, seed=M * 1000 + K)
    b = random_tensor(torch, (batch, K, N), dtype, seed=N * 1000 + K + 1)
    spec, out = run_default(torch, tmp_path, f"mm_{dtype}_{batch}_{M}_{N}_{K}", a, b, batch, M, N, K, dtype)
    assert spec.constexprs["EVEN_K"] == (K % spec.constexprs["BLOCK_K"] == 0)
    check_matmul(out, a, b, dtype)


def test_grouped_ordering_covers_every_tile_of_a_multi_group_grid(tmp_path):
    """10 row tiles x 3 column tiles: more row tiles than GROUP_M, so a partial last group is exercised."""
    torch = pytest.importorskip("torch")
    batch, M, N, K = 1, 600, 150, 20
    a = random_tensor(torch, (batch, M, K), "fp32", seed=11)
    b = random_tensor(torch, (batch, K, N), "fp32", seed=12)
    spec, out = run_default(torch, tmp_path, "mm_groups", a, b, batch, M, N, K, "fp32")
    c = spec.constexprs
    assert -(-M // c["BLOCK_M"]) > c["GROUP_M"] and -(-N // c["BLOCK_N"]) > 1, c
    check_matmul(out, a, b, "fp32")


def test_transposed_operands_are_read_through_strides(tmp_path):
    torch = pytest.importorskip("torch")
    batch, M, N, K = 2, 17, 19, 23
    a = random_tensor(torch, (batch, K, M), "fp32", seed=1).transpose(1, 2)    # A[b] = At[b].T, no copy
    b = random_tensor(torch, (batch, N, K), "fp32", seed=2).transpose(1, 2)    # B[b] = Bt[b].T, no copy
    spec, out = run_default(torch, tmp_path, "mm_transposed", a, b, batch, M, N, K, "fp32")
    assert (spec.constexprs["stride_am"], spec.constexprs["stride_ak"]) == (1, M)
    assert (spec.constexprs["stride_bk"], spec.constexprs["stride_bn"]) == (1, K)
    check_matmul(out, a, b, "fp32")


def test_batch_stride_zero_broadcasts_one_matrix(tmp_path):
    torch = pytest.importorskip("torch")
    batch, M, N, K = 3, 17, 19, 23
    a = random_tensor(torch, (batch, M, K), "fp16", seed=3)
    w = random_tensor(torch, (K, N), "fp16", seed=4)
    b = w.unsqueeze(0).expand(batch, K, N)                                       # strides (0, N, 1)
    spec, out = run_default(torch, tmp_path, "mm_bcast", a, b, batch, M, N, K, "fp16")
    assert spec.constexprs["stride_bb"] == 0
    check_matmul(out, a, b, "fp16")
    # the broadcast operand is counted once in the traffic estimate
    assert spec.bytes_moved == (batch * M * K + K * N + batch * M * N) * 2


def test_runtime_sizes_reuse_one_kernel_for_a_new_m(tmp_path):
    """M is a runtime argument: a spec rendered for M=20 runs M=29 when only the grid is recomputed."""
    torch = pytest.importorskip("torch")
    N, K = 19, 23
    spec = render_matmul("mm_runtime_m", M=20, N=N, K=K, batch=1, a=Operand("fp32", (0, K, 1)),
                         b=Operand("fp32", (0, N, 1)))
    again = render_matmul("mm_runtime_m", M=29, N=N, K=K, batch=1, a=Operand("fp32", (0, K, 1)),
                          b=Operand("fp32", (0, N, 1)))
    assert (again.source, again.constexprs) == (spec.source, spec.constexprs)   # same Triton cache entry
    a = random_tensor(torch, (1, 29, K), "fp32", seed=5)
    b = random_tensor(torch, (1, K, N), "fp32", seed=6)
    out = torch.full((1, 29, N), float("nan"), dtype=torch.float32)
    from triton.runtime.interpreter import InterpretedFunction
    fn = load_kernel(spec, tmp_path)
    grid = matmul_grid(29, N, 1, spec.constexprs["BLOCK_M"], spec.constexprs["BLOCK_N"])
    InterpretedFunction(fn.fn)[grid](a, b, out, 29, N, K, **spec.constexprs)
    check_matmul(out, a, b, "fp32")


def bias_relu_residual(out_dtype: str) -> Epilogue:
    """out = relu(acc + bias[n]) + residual[b, m, n], the way the compiler's code generator fills the hook."""
    return Epilogue(
        params={"bias_ptr": "*fp32", "res_ptr": f"*{out_dtype}", "out_ptr": f"*{out_dtype}"},
        lines=[
            "offs_out = pid_b * M * N + rm * N + rn",
            "bias = tl.load(bias_ptr + rn, mask=rn < N, other=0.0)",
            "res = tl.load(res_ptr + offs_out, mask=mask, other=0.0).to(tl.float32)",
            "y = tl.maximum(acc + bias, 0.0) + res",
            f"tl.store(out_ptr + offs_out, y.to(tl.{TORCH_DTYPE_NAMES[out_dtype]}), mask=mask)",
        ],
        out_params=("out_ptr",),
        name="bias + relu + residual",
    )


def test_epilogue_fuses_bias_relu_residual(tmp_path):
    torch = pytest.importorskip("torch")
    batch, M, N, K = 2, 17, 33, 40
    a = random_tensor(torch, (batch, M, K), "fp16", seed=7)
    b = random_tensor(torch, (batch, K, N), "fp16", seed=8)
    bias = random_tensor(torch, (N,), "fp32", seed=9)
    res = random_tensor(torch, (batch, M, N), "fp16", seed=10)
    spec = render_matmul("mm_bias_relu_add_0", M=M, N=N, K=K, batch=batch, a=Operand("fp16", (M * K, K, 1)),
                         b=Operand("fp16", (K * N, N, 1)), epilogue=bias_relu_residual("fp16"))
    assert list(spec.signature) == ["a_ptr", "b_ptr", "bias_ptr", "res_ptr", "out_ptr", "M", "N", "K"]
    assert "# Epilogue: bias + relu + residual" in spec.source
    out = torch.full((batch, M, N), float("nan"), dtype=torch.float16)
    interpret(spec, tmp_path, a, b, bias, res, out, M, N, K)

    acc = np.matmul(as_f64(a), as_f64(b))
    ref = np.maximum(acc + as_f64(bias), 0.0) + as_f64(res)
    scale = np.matmul(np.abs(as_f64(a)), np.abs(as_f64(b))) + np.abs(as_f64(bias)) + np.abs(as_f64(res))
    err = np.abs(as_f64(out) - ref)
    assert np.all(err <= RTOL["fp16"] * scale), f"max error {err.max():.3g}"
    assert (ref == as_f64(res)).any() and (ref != as_f64(res)).any()   # relu both clipped and passed values


# ----------------------------------------------------------------------------------------------------------
# the rendered source and the spec
# ----------------------------------------------------------------------------------------------------------

def test_fp32_dot_is_ieee_unless_tf32_is_allowed():
    kw = dict(M=64, N=64, K=64, batch=1, a=Operand("fp32", (0, 64, 1)), b=Operand("fp32", (0, 64, 1)))
    assert 'input_precision="ieee"' in render_matmul("mm_ieee", **kw).source
    tf32 = render_matmul("mm_tf32", allow_tf32=True, **kw)
    assert 'input_precision="tf32"' in tf32.source and "ieee" not in tf32.source.split("@triton.jit")[1]
    half = render_matmul("mm_half", **{**kw, "a": Operand("fp16", (0, 64, 1)), "b": Operand("fp16", (0, 64, 1))})
    assert "input_precision" not in half.source.split("@triton.jit")[1]     # only meaningful for fp32


def test_fp64_accumulates_in_fp64():
    spec = render_matmul("mm_f64", M=8, N=8, K=8, batch=1, a=Operand("fp64", (0, 8, 1)),
                         b=Operand("fp64", (0, 8, 1)))
    assert "dtype=tl.float64)" in spec.source and "out_dtype=tl.float64" in spec.source
    assert spec.signature["out_ptr"] == "*fp64"
    with pytest.raises(ValueError, match="acc_dtype 'fp32' is not supported for fp64 inputs"):
        render_matmul("mm_f64", M=8, N=8, K=8, batch=1, a=Operand("fp64", (0, 8, 1)),
                      b=Operand("fp64", (0, 8, 1)), acc_dtype="fp32")


def test_spec_records_launch_and_cost():
    spec = render_matmul("mm_cost", M=100, N=70, K=30, batch=3, a=Operand("bf16", (3000, 30, 1)),
                         b=Operand("bf16", (2100, 70, 1)), out_dtype="fp32")
    assert spec.kind == "matmul" and spec.name == "mm_cost"
    assert spec.flops == 2 * 3 * 100 * 70 * 30
    assert spec.bytes_moved == (3 * 100 * 30 + 3 * 30 * 70) * 2 + 3 * 100 * 70 * 4
    assert spec.signature == {"a_ptr": "*bf16", "b_ptr": "*bf16", "out_ptr": "*fp32", "M": "i32", "N": "i32",
                              "K": "i32"}
    bm, bn = spec.constexprs["BLOCK_M"], spec.constexprs["BLOCK_N"]
    assert spec.grid == (-(-100 // bm) * -(-70 // bn), 3)
    assert "acc.to(tl.float32)" in spec.source
    # the source names no runtime size, so a new M/N/K in the same tile class hits Triton's cache
    assert not re.search(r"\b(100|70|30)\b", spec.source.split("@triton.jit")[1])


def test_provenance_is_named_in_the_header_and_kept_in_the_spec():
    spec = render_matmul("mm_linear_0", M=4, N=4, K=4, batch=1, a=Operand("fp16", (0, np.int64(4), 1)),
                         b=Operand("fp16", (0, 4, 1)), nodes=["mm_3", "add_4"], user_lines=["model.py:12"])
    header = spec.source.split("import triton")[0]
    assert "#   nodes: mm_3, add_4" in header and "#   from: model.py:12" in header
    assert spec.nodes == ["mm_3", "add_4"] and spec.user_lines == ["model.py:12"]
    assert spec.constexprs["stride_am"] == 4 and type(spec.constexprs["stride_am"]) is int


def test_default_epilogue_stores_contiguous_output():
    ep = default_epilogue("fp16", batch=2, M=3, N=4)
    assert ep.params == {"out_ptr": "*fp16"} and ep.out_params == ("out_ptr",)
    assert ep.bytes_moved == 2 * 3 * 4 * 2
    assert "pid_b * M * N + rm * N + rn" in "\n".join(ep.lines)


@pytest.mark.parametrize("epilogue,fragment", [
    (Epilogue(params={"acc": "*fp32"}, lines=["pass"]), "shadows a name the matmul template defines"),
    (Epilogue(params={"out_ptr": "float"}, lines=["pass"]), "not a Triton type"),
    (Epilogue(params={"out_ptr": "*fp32"}, lines=["tl.store(out_ptr,"]), "lines are not valid Python"),
    (Epilogue(params={"alpha": "fp32"}, lines=["pass"], out_params=("alpha",)), "not a pointer parameter"),
    (Epilogue(params={"out ptr": "*fp32"}, lines=["pass"]), "not a Python identifier"),
    (Epilogue(params={"out_ptr": "*fp32"}, lines=[]), "lines are empty"),
])
def test_bad_epilogue_is_refused_with_the_reason(epilogue, fragment):
    with pytest.raises(ValueError, match=fragment):
        render_matmul("mm_bad", M=4, N=4, K=4, batch=1, a=Operand("fp16", (0, 4, 1)),
                      b=Operand("fp16", (0, 4, 1)), epilogue=epilogue)


def test_bad_arguments_are_refused_with_the_values():
    a16, a32 = Operand("fp16", (0, 4, 1)), Operand("fp32", (0, 4, 1))
    with pytest.raises(ValueError, match="a is fp16, b is fp32"):
        render_matmul("mm_bad", M=4, N=4, K=4, batch=1, a=a16, b=a32)
    with pytest.raises(ValueError, match="K must be a positive int, got 0"):
        render_matmul("mm_bad", M=4, N=4, K=0, batch=1, a=a16, b=a16)
    with pytest.raises(ValueError, match="batch 70000 exceeds"):
        render_matmul("mm_bad", M=4, N=4, K=4, batch=70000, a=a16, b=a16)
    with pytest.raises(ValueError, match="dtype 'int8' is not supported"):
        Operand("int8", (0, 4, 1))
    with pytest.raises(ValueError, match=r"got \(1, -1, 1\)"):
        Operand("fp16", (1, -1, 1))


# ----------------------------------------------------------------------------------------------------------
# launch heuristics
# ----------------------------------------------------------------------------------------------------------

def test_tiny_shapes_get_the_smallest_legal_tiles():
    assert matmul_block_sizes(1, 1, 1, "fp16") == (16, 16, 16, 8)
    assert matmul_block_sizes(17, 33, 9, "fp32")[:3] == (32, 64, 16)
    assert matmul_num_stages(16, 16, 16, 1, "fp16") == 1             # one K step: nothing to pipeline


def test_large_shapes_get_large_tiles_and_small_grids_are_split():
    assert matmul_block_sizes(4096, 4096, 4096, "fp16") == (128, 128, 64, 8)
    assert matmul_block_sizes(4096, 4096, 4096, "fp32", allow_tf32=True)[:3] == (128, 128, 32)
    assert matmul_block_sizes(4096, 4096, 4096, "fp32")[:3] == (128, 128, 16)   # FMA dot: short K slice
    assert matmul_block_sizes(4096, 4096, 4096, "fp64")[:3] == (64, 64, 16)
    # 512x512 with 128x128 tiles is 16 programs for 100+ SMs: the tiles shrink to 64x64 (64 programs)
    assert matmul_block_sizes(512, 512, 512, "fp16")[:2] == (64, 64)
    # ... unless the batch already fills the GPU
    assert matmul_block_sizes(512, 512, 512, "fp16", batch=16)[:2] == (128, 128)
    assert (matmul_num_warps(128, 128), matmul_num_warps(64, 64), matmul_num_warps(64, 64, "fp64")) == (8, 4, 4)


@pytest.mark.parametrize("dtype,allow_tf32", [("fp16", False), ("bf16", False), ("fp32", False),
                                              ("fp32", True), ("fp64", False)])
def test_heuristics_stay_legal_over_a_sweep_of_shapes(dtype, allow_tf32):
    sizes = (1, 15, 16, 17, 100, 128, 1000, 4096, 50000)
    for M in sizes:
        for N in sizes:
            for K in (1, 17, 64, 4096):
                bm, bn, bk, group = matmul_block_sizes(M, N, K, dtype, allow_tf32=allow_tf32)
                for block in (bm, bn, bk):
                    assert block >= 16 and block & (block - 1) == 0, (M, N, K, bm, bn, bk)
                assert group >= 1
                stages = matmul_num_stages(bm, bn, bk, K, dtype)
                itemsize = {"fp16": 2, "bf16": 2, "fp32": 4, "fp64": 8}[dtype]
                assert stages == 1 or stages * (bm + bn) * bk * itemsize <= PIPELINE_SMEM
                assert matmul_num_warps(bm, bn, dtype) in (4, 8)


# ----------------------------------------------------------------------------------------------------------
# ahead-of-time legality for sm_80 and sm_90
# ----------------------------------------------------------------------------------------------------------

# Shared memory a block may use (opt-in maximum): A100 (sm_80) 163 KiB, H100 (sm_90) 227 KiB.
MAX_SHARED = {80: 163 * 1024, 90: 227 * 1024}
# The template's own target: 99 KiB, what consumer Ampere/Ada parts (sm_86/sm_89) allow.
TEMPLATE_SHARED = 99 * 1024

AOT_CASES = {
    # name: (render kwargs, sizes, PTX that must appear per capability)
    "fp16_512": (dict(M=512, N=512, K=512, batch=1, a=Operand("fp16", (0, 512, 1)),
                      b=Operand("fp16", (0, 512, 1))),
                 {80: r"mma\.sync\.aligned\.m16n8k16\.row\.col\.f32\.f16\.f16\.f32", 90: r"wgmma\.mma_async"}),
    "fp32_512": (dict(M=512, N=512, K=512, batch=1, a=Operand("fp32", (0, 512, 1)),
                      b=Operand("fp32", (0, 1, 512))),                      # B transposed
                 {80: r"fma\.rn\.f32", 90: r"fma\.rn\.f32"}),                # IEEE: no tensor cores
    "tf32_512": (dict(M=512, N=512, K=512, batch=1, a=Operand("fp32", (0, 512, 1)),
                      b=Operand("fp32", (0, 512, 1)), allow_tf32=True),
                 {80: r"mma\.sync\.aligned\.m16n8k8\.row\.col\.f32\.tf32", 90: r"wgmma\.mma_async"}),
    "bf16_b8_128x64x64": (dict(M=128, N=64, K=64, batch=8, a=Operand("bf16", (128 * 64, 64, 1)),
                               b=Operand("bf16", (0, 64, 1))),              # shared B
                          {80: r"mma\.sync\.aligned\.m16n8k16\.row\.col\.f32\.bf16", 90: r"wgmma\.mma_async"}),
    "fp16_4096_epilogue": (dict(M=4096, N=4096, K=4096, batch=1, a=Operand("fp16", (0, 4096, 1)),
                                b=Operand("fp16", (0, 4096, 1)), epilogue=bias_relu_residual("fp16")),
                           {80: r"mma\.sync", 90: r"wgmma\.mma_async"}),
    "fp64_256": (dict(M=256, N=256, K=256, batch=1, a=Operand("fp64", (0, 256, 1)),
                      b=Operand("fp64", (0, 256, 1))),                      # DMMA on both
                 {80: r"mma\.sync\.aligned\.m8n8k4\.row\.col\.f64", 90: r"mma\.sync\.aligned\.m8n8k4\.row\.col\.f64"}),
}


@pytest.mark.parametrize("capability", [80, 90])
@pytest.mark.parametrize("case", list(AOT_CASES))
def test_kernel_compiles_for_real_gpus_without_spills(tmp_path, case, capability):
    kwargs, expected_ptx = AOT_CASES[case]
    name = f"mm_aot_{case}"
    spec = render_matmul(name, **kwargs)
    # the compiler's own AOT path, specialized as a launch with these sizes would be
    divisible = tuple(k for k in ("M", "N", "K") if kwargs[k] % 16 == 0)
    compiled = compile_spec(spec, capability, cache_dir=tmp_path, divisible=divisible)

    # shared_bytes: dynamic shared memory (metadata) + the cubin's static part (sm_90's 1 KiB of barriers)
    shared = compiled.shared_bytes
    assert shared <= MAX_SHARED[capability], f"{case} sm_{capability}: {shared} B of shared memory"
    assert shared <= TEMPLATE_SHARED, f"{case} sm_{capability}: {shared} B exceeds the template's 99 KiB"
    assert compiled.problems() == [], compiled.problems()          # no spills (cubin STACK + LOCAL)
    assert 0 < compiled.n_regs <= 255
    assert re.search(expected_ptx[capability], compiled.asm["ptx"]), \
        f"{case} sm_{capability}: expected {expected_ptx[capability]!r} in the PTX"
