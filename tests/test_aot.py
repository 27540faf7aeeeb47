"""Ahead-of-time compilation for sm_80/sm_90 with no GPU (compiler/aot.py): IRs, resources, errors.

The three small kernels compile once per module (about 0.3 s each per arch after the first) through the
worker pool; the tests then read the shared results.
"""
from __future__ import annotations

import pytest

pytest.importorskip("triton")

from torchlite.compiler.aot import AOTCompileError, AOTResult, compile_many, compile_spec, load_kernel  # noqa: E402
from torchlite.compiler.kernel import KernelSpec  # noqa: E402

HEADER = "import triton\nimport triton.language as tl\n\n\n"

PW_SRC = HEADER + '''@triton.jit
def pw_add_relu_0(in_ptr0, in_ptr1, out_ptr0, xnumel, XBLOCK: tl.constexpr):
    # fused: add, relu
    pid = tl.program_id(0)
    offs = pid * XBLOCK + tl.arange(0, XBLOCK)
    mask = offs < xnumel
    x0 = tl.load(in_ptr0 + offs, mask=mask, other=0.0)
    x1 = tl.load(in_ptr1 + offs, mask=mask, other=0.0)
    tl.store(out_ptr0 + offs, tl.maximum(x0 + x1, 0.0), mask=mask)
'''

RED_SRC = HEADER + '''@triton.jit
def red_sum_1(in_ptr0, out_ptr0, rnumel, RBLOCK: tl.constexpr):
    # one program per row: out[row] = sum(in[row, :])
    row = tl.program_id(0)
    roffs = tl.arange(0, RBLOCK)
    rmask = roffs < rnumel
    x0 = tl.load(in_ptr0 + row * rnumel + roffs, mask=rmask, other=0.0)
    tl.store(out_ptr0 + row, tl.sum(x0, axis=0))
'''

MM_SRC = HEADER + '''@triton.jit
def mm_2(a_ptr, b_ptr, c_ptr, M, N, K, BM: tl.constexpr, BN: tl.constexpr, BK: tl.constexpr):
    # c[M, N] (fp32) = a[M, K] (fp16) @ b[K, N] (fp16), one BM x BN tile per program
    rm = tl.program_id(0) * BM + tl.arange(0, BM)
    rn = tl.program_id(1) * BN + tl.arange(0, BN)
    rk = tl.arange(0, BK)
    acc = tl.zeros((BM, BN), dtype=tl.float32)
    for k in range(0, K, BK):
        a_mask = (rm[:, None] < M) & ((k + rk)[None, :] < K)
        b_mask = ((k + rk)[:, None] < K) & (rn[None, :] < N)
        a = tl.load(a_ptr + rm[:, None] * K + (k + rk)[None, :], mask=a_mask, other=0.0)
        b = tl.load(b_ptr + (k + rk)[:, None] * N + rn[None, :], mask=b_mask, other=0.0)
        acc += tl.dot(a, b)
    tl.store(c_ptr + rm[:, None] * N + rn[None, :], acc, mask=(rm[:, None] < M) & (rn[None, :] < N))
'''

BROKEN_SRC = HEADER + '''@triton.jit
def pw_broken_3(in_ptr0, out_ptr0, XBLOCK: tl.constexpr):
    offs = tl.arange(0, XBLOCK)
    x0 = tl.load(in_ptr0 + offs)
    tl.store(out_ptr0 + offs, tl.no_such_function(x0))
'''

PW = KernelSpec("pw_add_relu_0", "pointwise", PW_SRC,
                {"in_ptr0": "*fp32", "in_ptr1": "*fp32", "out_ptr0": "*fp32", "xnumel": "i32"}, {"XBLOCK": 1024})
RED = KernelSpec("red_sum_1", "reduction", RED_SRC, {"in_ptr0": "*fp32", "out_ptr0": "*fp32", "rnumel": "i32"},
                 {"RBLOCK": 1024})
MM = KernelSpec("mm_2", "matmul", MM_SRC, {"a_ptr": "*fp16", "b_ptr": "*fp16", "c_ptr": "*fp32", "M": "i32",
                                           "N": "i32", "K": "i32"}, {"BM": 64, "BN": 64, "BK": 32}, num_stages=3)
BROKEN = KernelSpec("pw_broken_3", "pointwise", BROKEN_SRC, {"in_ptr0": "*fp32", "out_ptr0": "*fp32"},
                    {"XBLOCK": 128})
SPECS = [PW, RED, MM]
ARCHS = (80, 90)


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    return compile_many(SPECS, ARCHS, workers=2, cache_dir=tmp_path_factory.mktemp("aot"))


def test_every_kernel_compiles_for_sm80_and_sm90_in_input_order(results):
    assert list(results) == [(s.name, a) for s in SPECS for a in ARCHS]
    for (name, arch), r in results.items():
        assert (r.name, r.arch) == (name, arch)
        assert sorted(r.asm) == ["cubin", "llir", "ptx", "ttgir", "ttir"]
        assert r.asm["cubin"][:4] == b"\x7fELF"
        target = "sm_90a" if arch == 90 else f"sm_{arch}"
        assert f".target {target}" in r.asm["ptx"], f"{name}: PTX not for {target}"
        assert f"tt.func public @{name}" in r.asm["ttir"]


@pytest.mark.parametrize("name", [s.name for s in SPECS])
@pytest.mark.parametrize("arch", ARCHS)
def test_resource_usage_parses_and_small_kernels_do_not_spill(results, name, arch):
    r = results[name, arch]
    assert 0 < r.n_regs <= 255
    assert r.n_spills == 0 and r.resources["STACK"] == 0 and r.resources["LOCAL"] == 0
    assert r.problems() == []
    assert r.metadata["num_warps"] == 4 and r.metadata["target"]["arch"] == arch


def test_shared_memory_counts_tritons_dynamic_allocation(results):
    # The elementwise kernel needs none; the matmul keeps at least one stage of its fp16 tiles in shared memory.
    assert results["pw_add_relu_0", 80].shared_bytes == 0
    mm80 = results["mm_2", 80]
    assert mm80.metadata["shared"] >= (64 * 32 + 32 * 64) * 2
    assert mm80.shared_bytes == mm80.resources["SHARED"] + mm80.metadata["shared"]


def test_dot_uses_the_arch_tensor_core_instruction(results):
    assert "mma.sync" in results["mm_2", 80].asm["ptx"]
    assert "wgmma" in results["mm_2", 90].asm["ptx"]


def test_sass_disassembles_the_cubin(results):
    sass = results["red_sum_1", 80].sass()
    assert "red_sum_1" in sass and "EXIT" in sass
    assert results["red_sum_1", 80].sass() is sass                           # computed once


def test_pool_and_in_process_compiles_agree(results, tmp_path):
    here = compile_spec(RED, 80, cache_dir=tmp_path)
    assert here.asm["cubin"] == results["red_sum_1", 80].asm["cubin"]
    assert (here.n_regs, here.n_spills, here.shared_bytes) == (results["red_sum_1", 80].n_regs, 0,
                                                               results["red_sum_1", 80].shared_bytes)


def test_register_cap_makes_the_matmul_spill_and_problems_say_so(tmp_path):
    r = compile_spec(MM, 80, cache_dir=tmp_path, options={"maxnreg": 64})
    assert r.n_regs <= 64 and r.n_spills > 0
    (problem,) = r.problems()
    assert "mm_2 on sm_80 spills" in problem and f"{r.n_spills} bytes" in problem
    assert r.problems(allow_spills=True) == []


def test_problems_flag_shared_memory_over_the_arch_limit():
    r = AOTResult("mm_big", 80, {}, n_regs=128, n_spills=0, shared_bytes=200_000)
    (problem,) = r.problems()
    assert "mm_big on sm_80 needs 200000 bytes of shared memory" in problem and "166912" in problem
    assert AOTResult("mm_big", 90, {}, n_regs=128, n_spills=0, shared_bytes=200_000).problems() == []


def test_broken_kernel_error_names_kernel_arch_and_tritons_message(tmp_path):
    with pytest.raises(AOTCompileError, match=r"'pw_broken_3' failed to compile for sm_80") as info:
        compile_spec(BROKEN, 80, cache_dir=tmp_path)
    assert "no_such_function" in str(info.value)
    assert (info.value.name, info.value.arch) == ("pw_broken_3", 80)


def test_broken_kernel_in_the_pool_fails_with_its_name_and_the_rest_still_compile(tmp_path):
    with pytest.raises(AOTCompileError, match=r"'pw_broken_3' failed to compile for sm_80") as info:
        compile_many([RED, BROKEN], ARCHS, workers=2, cache_dir=tmp_path)
    assert "no_such_function" in str(info.value)
    assert "also failed: kernel 'pw_broken_3' failed to compile for sm_90" in str(info.value)


def test_signature_that_does_not_match_the_function_is_named(tmp_path):
    bad = KernelSpec("red_sum_1", "reduction", RED_SRC, {"in_ptr0": "*fp32", "out_ptr": "*fp32", "rnumel": "i32"},
                     {"RBLOCK": 1024})
    with pytest.raises(AOTCompileError, match=r"red_sum_1.*\['out_ptr'\].*does not take"):
        compile_spec(bad, 90, cache_dir=tmp_path)


def test_source_without_the_named_kernel_is_refused(tmp_path):
    spec = KernelSpec("pw_missing_4", "pointwise", PW_SRC, PW.signature, PW.constexprs)
    with pytest.raises(ValueError, match=r"pw_missing_4.*defines \['pw_add_relu_0'\]"):
        load_kernel(spec, tmp_path)


def test_same_name_with_different_sources_is_refused():
    other = KernelSpec("red_sum_1", "reduction", RED_SRC.replace("axis=0", "axis=0) * 2.0 + (0"), RED.signature,
                       RED.constexprs)
    with pytest.raises(ValueError, match="two different kernels are both named 'red_sum_1'"):
        compile_many([RED, other], ARCHS)


def test_a_worker_that_dies_is_named_and_replaced(tmp_path):
    dying = KernelSpec("pw_exit_5", "pointwise", "import os\nos._exit(3)\n", {"out_ptr0": "*fp32"})
    with pytest.raises(RuntimeError, match=r"worker died \(exit code 3\) while compiling kernel 'pw_exit_5'"):
        compile_many([dying], (80, 90), workers=2, cache_dir=tmp_path)
    assert list(compile_many([RED], ARCHS, workers=2, cache_dir=tmp_path)) == [("red_sum_1", 80), ("red_sum_1", 90)]
