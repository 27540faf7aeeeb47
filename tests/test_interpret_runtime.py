"""The ``interpret`` device runtime: hand-written Triton kernels run by Triton's interpreter on numpy memory.

Every result is compared with numpy (a float64 reference where rounding matters). The kernels live in
``_interpret_kernels.py``; the interpreter runs about one program a millisecond, so shapes are small.
"""
from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import ml_dtypes
import numpy as np
import pytest

pytest.importorskip("triton")

import triton  # noqa: E402
import triton.language as tl  # noqa: E402
from triton.runtime.errors import InterpreterError  # noqa: E402

import torchlite  # noqa: E402
import _interpret_kernels as K  # noqa: E402
from conftest import DTYPE_NAMES, tol  # noqa: E402
from torchlite.devices.interpret import (  # noqa: E402
    LIBDEVICE_FUNCTIONS, InterpretRuntime, InterpretedKernel, NumpyTensorAdapter)

rt = InterpretRuntime()
TESTS = Path(__file__).resolve().parent
BF16 = np.dtype(ml_dtypes.bfloat16)


def np_dtype(name: str) -> np.dtype:
    return getattr(torchlite, name).np


def sample(name: str, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if name == "bool":
        return rng.random(n) < 0.5
    d = np_dtype(name)
    if d.kind in "iu":
        info = np.iinfo(d)
        return rng.integers(info.min, info.max, n, endpoint=True, dtype=d)   # sums overflow: they wrap
    return (rng.standard_normal(n) * 4).astype(d)


# --- memory ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", DTYPE_NAMES)
def test_empty_is_c_contiguous_with_the_torchlite_dtype(name):
    buf = rt.empty((3, 5), getattr(torchlite, name))
    assert buf.shape == (3, 5) and buf.dtype == np_dtype(name) and buf.flags.c_contiguous


def test_from_host_copies_into_a_contiguous_buffer_and_to_host_copies_out():
    host = np.arange(12.0).reshape(3, 4).T                  # not C-contiguous
    buf = rt.from_host(host)
    assert buf.flags.c_contiguous and np.array_equal(buf, host)
    host[0, 0] = 99.0
    assert buf[0, 0] == 0.0                                 # a copy, not a view
    out = rt.to_host(buf)
    buf[0, 0] = -1.0
    assert out[0, 0] == 0.0
    with pytest.raises(TypeError, match="complex64"):
        rt.from_host(np.zeros(2, np.complex64))


def test_adapter_shows_the_interpreter_a_torch_like_tensor():
    base = np.zeros((4, 6), np.float32)
    a = NumpyTensorAdapter(base[1:, ::2])
    assert str(a.dtype) == "float32" and a.size() == (3, 3) and a.stride() == (6, 2)
    assert a.data_ptr() == base.ctypes.data + 6 * 4         # address of element [0, 0] of the view
    assert a.untyped_storage().cpu() is not None and a.storage_offset() == 0
    assert str(NumpyTensorAdapter(np.zeros(1, bool)).dtype) == "bool"
    assert str(NumpyTensorAdapter(np.zeros(1, BF16)).dtype) == "bfloat16"
    with pytest.raises(TypeError, match="complex128 cannot be kernel arguments"):
        NumpyTensorAdapter(np.zeros(1, np.complex128))
    with pytest.raises(TypeError, match="float8_e4m3fn cannot be kernel arguments"):
        NumpyTensorAdapter(np.zeros(1, ml_dtypes.float8_e4m3fn))


# --- elementwise kernels, every dtype ----------------------------------------------------------------

@pytest.mark.parametrize("name", DTYPE_NAMES)
def test_elementwise_add_matches_numpy_for_every_dtype(name):
    n = 17
    x, y = sample(name, n, 0), sample(name, n, 1)
    out = rt.empty((n,), getattr(torchlite, name))
    kernel = K.add_upcast_kernel if name == "bfloat16" else K.add_kernel
    rt.kernel(kernel)[(triton.cdiv(n, 8),)](x, y, out, n, BLOCK=8)
    if name == "bool":
        expected = x ^ y                                    # int1 addition wraps, as on the GPU
    elif np_dtype(name).kind in "iu":
        expected = (x.astype(np.int64) + y.astype(np.int64)).astype(np_dtype(name))   # wraps
    else:
        expected = (x.astype(np.float64) + y.astype(np.float64)).astype(np_dtype(name))
    np.testing.assert_allclose(out.astype(np.float64), expected.astype(np.float64), **tol(name))


def test_bf16_arithmetic_without_upcast_acts_on_the_bits():
    # Canary for the code generator's rule "bf16: compute in fp32": the interpreter keeps bf16 as uint16
    # and adds the bits. If Triton fixes this, this test fails and the rule can be relaxed.
    x = np.ones(4, BF16)
    out = rt.empty((4,), torchlite.bfloat16)
    rt.kernel(K.add_kernel)[(1,)](x, x, out, 4, BLOCK=4)
    assert not np.array_equal(out.astype(np.float32), np.full(4, 2.0, np.float32))


@pytest.mark.parametrize("src", DTYPE_NAMES)
def test_stores_into_bfloat16_round_like_ml_dtypes(src):
    values = np.array([0, 1, -3.5, 2.75, 100.25, 7, 1.0e4, 0.1], np.float64)
    x = values.astype(np_dtype(src))
    out = rt.empty((len(x),), torchlite.bfloat16)
    rt.kernel(K.copy_kernel)[(1,)](x, out, len(x), BLOCK=8)        # tl.store casts to the pointer's type
    expected = x.astype(np.float32).astype(BF16)
    assert np.array_equal(out.astype(np.float32), expected.astype(np.float32))


def test_bf16_to_fp32_is_exact_for_every_bit_pattern():
    x = np.arange(2**16, dtype=np.uint32).astype(np.uint16).view(BF16)   # subnormals, inf, nan included
    out = rt.empty((2**16,), torchlite.float32)
    rt.kernel(K.copy_kernel)[(16,)](x, out, 2**16, BLOCK=4096)
    assert np.array_equal(out, x.astype(np.float32), equal_nan=True)


def test_fp32_to_bf16_rounds_to_nearest_even():
    # the bare interpreter truncates: 0.1 -> 0.0996, 1.9999999 -> 1.992, 3.4e38 stays finite
    edge = [0.1, 1.9999999, -1.9999999, 1 + 2**-8, 1 + 3 * 2**-8, 3.4e38, 1e-40, -0.0, np.inf, np.nan]
    x = np.concatenate([np.array(edge, np.float32), sample("float32", 500, 7)])
    out = rt.empty((len(x),), torchlite.bfloat16)
    rt.kernel(K.copy_kernel)[(4,)](x, out, len(x), BLOCK=128)
    assert np.array_equal(out.astype(np.float32), x.astype(BF16).astype(np.float32), equal_nan=True)


def test_bool_buffers_load_and_store_as_int1():
    n = 13
    x, y = sample("bool", n, 2), sample("bool", n, 3)
    outs = [rt.empty((n,), torchlite.bool) for _ in range(4)]
    f = rt.empty((n,), torchlite.float32)
    rt.kernel(K.bool_ops_kernel)[(2,)](x, y, *outs, f, n, BLOCK=8)
    assert np.array_equal(outs[0], x | y) and np.array_equal(outs[1], x & y)
    assert np.array_equal(outs[2], ~x) and np.array_equal(outs[3], x & ~y)
    assert np.array_equal(f, np.where(x, 1.5, -2.0).astype(np.float32))
    assert set(np.unique(outs[0].view(np.uint8))) <= {0, 1}          # bytes 0/1, as numpy's bool


@pytest.mark.parametrize("n", [1, 17, 1023])
def test_masked_copy_with_odd_sizes_stays_inside_the_mask(n):
    x = np.arange(n, dtype=np.float32) + 0.5
    out = np.full(n + 7, -7.0, np.float32)
    rt.kernel(K.copy_kernel)[(triton.cdiv(n, 128),)](x, out, n, BLOCK=128)
    assert np.array_equal(out[:n], x)
    assert np.all(out[n:] == -7.0)


def test_kernel_writes_land_in_the_callers_array_and_views_of_it():
    buf = rt.zeros((10,), torchlite.float32)
    rt.kernel(K.fill_kernel)[(1,)](buf, 3.0, 10, BLOCK=16)
    assert np.all(buf == 3.0)                              # the same array object, written in place
    big = np.zeros(20, np.float64)
    view = big[5:12]
    rt.kernel(K.fill_kernel)[(1,)](view, 2.5, 7, BLOCK=8)
    assert np.all(big[5:12] == 2.5) and np.all(big[:5] == 0) and np.all(big[12:] == 0)


# --- reductions, scans, dot -------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["float32", "float64"])
def test_row_reduction_sum_and_max_on_a_strided_view(name):
    rng = np.random.default_rng(4)
    base = rng.standard_normal((5, 50)).astype(np_dtype(name))
    x = base[:, :37]                                        # rows 50 apart: the kernel gets the stride
    sums, maxes = rt.empty((5,), getattr(torchlite, name)), rt.empty((5,), getattr(torchlite, name))
    rt.kernel(K.row_sum_max_kernel)[(5,)](x, sums, maxes, 37, 50, BLOCK=64)
    np.testing.assert_allclose(sums, x.astype(np.float64).sum(axis=1), **tol(name))
    assert np.array_equal(maxes, x.max(axis=1))


@pytest.mark.parametrize("name", ["float32", "float16", "bfloat16"])
def test_dot_16x16x16_accumulates_in_fp32(name):
    rng = np.random.default_rng(5)
    a = rng.standard_normal((16, 16)).astype(np_dtype(name))
    b = rng.standard_normal((16, 16)).astype(np_dtype(name))
    c = rt.empty((16, 16), torchlite.float32)
    rt.kernel(K.dot_kernel)[(1,)](a, b, c, M=16, N=16, K=16)
    expected = a.astype(np.float64) @ b.astype(np.float64)  # the inputs exactly, summed in float64
    np.testing.assert_allclose(c, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", ["float32", "float64", "int32", "int64"])
def test_cumsum(name):
    x = sample("float32", 29, 6) if name.startswith("float") else np.arange(-10, 19)
    x = x.astype(np_dtype(name))
    out = rt.empty((29,), getattr(torchlite, name))
    rt.kernel(K.cumsum_kernel)[(1,)](x, out, 29, BLOCK=32)
    np.testing.assert_allclose(out, np.cumsum(x.astype(np.float64)), **tol(name))


def test_scan_reduce_sort_argmax_and_jit_helpers():
    x = np.array([3.0, -1.0, 7.0, 2.0, 7.0, -5.0, 0.5], np.float32)
    n = len(x)
    cummax, sorted_, sq = (rt.empty((n,), torchlite.float32) for _ in range(3))
    prod = rt.empty((1,), torchlite.float32)
    amax, amin = rt.empty((1,), torchlite.int32), rt.empty((1,), torchlite.int32)
    rt.kernel(K.scan_reduce_kernel)[(1,)](x, cummax, prod, amax, amin, sorted_, sq, n, BLOCK=8)
    assert np.array_equal(cummax, np.maximum.accumulate(x))      # tl.associative_scan, custom combine
    assert prod[0] == np.prod(x)                                 # tl.reduce, custom combine
    assert amax[0] == 2 and amin[0] == 5                         # first index of the extreme, as torch
    assert np.array_equal(sorted_, np.sort(x))                   # tl.sort
    assert np.array_equal(sq, x * x)                             # a user @triton.jit helper


def test_int64_pointer_arithmetic():
    x = np.arange(10, dtype=np.float32)
    out = rt.empty((10,), torchlite.float32)
    rt.kernel(K.int64_offset_kernel)[(1,)](x, out, 2**33 + 12, 10, BLOCK=16)
    assert np.array_equal(out, x)


# --- launch: grids, options, scalars ----------------------------------------------------------------

def test_three_dimensional_grid_and_num_programs():
    out = rt.zeros((2, 3, 4), torchlite.int32)
    rt.kernel(K.grid3_kernel)[(2, 3, 4)](out, NY=3, NZ=4)
    i, j, k = np.indices((2, 3, 4))
    assert np.array_equal(out, i * 100 + j * 10 + k + 2000)


def test_callable_grid_and_launch_options():
    x = np.arange(40, dtype=np.int16)
    out = rt.zeros((40,), torchlite.int16)
    grid = lambda meta: (triton.cdiv(meta["n"], meta["BLOCK"]),)   # noqa: E731
    rt.kernel(K.copy_kernel)[grid](x, out, 40, BLOCK=16, num_warps=4, num_stages=3)
    assert np.array_equal(out, x)
    rt.kernel(K.copy_kernel)[0](x, out, 40, BLOCK=16)         # an empty grid launches nothing


def test_launch_errors_name_the_problem():
    x = np.zeros(4, np.float32)
    with pytest.raises(TypeError, match=r"unexpected keyword argument\(s\) BLOK; parameters: x_ptr, out_ptr, n"):
        rt.kernel(K.copy_kernel)[(1,)](x, x, 4, BLOK=4)
    with pytest.raises(TypeError, match="expected a @triton.jit function"):
        rt.kernel(lambda: None)
    with pytest.raises(TypeError, match="signature names 'nope'"):
        rt.kernel(K.copy_kernel, signature={"nope": "fp32"})
    with pytest.raises(ValueError, match="grid must be 1 to 3"):
        rt.kernel(K.copy_kernel)[(1, 1, 1, 1)](x, x, 4, BLOCK=4)
    with pytest.raises(InterpreterError, match="no numpy implementation"):
        rt.kernel(K.libdevice_j0_kernel)[(1,)](x, x)


def test_kernel_launchers_are_cached_per_function_and_signature():
    assert rt.kernel(K.copy_kernel) is rt.kernel(K.copy_kernel)
    assert isinstance(rt.kernel(K.copy_kernel), InterpretedKernel)
    assert rt.kernel(K.scale_kernel, signature={"s": "fp64"}) is not rt.kernel(K.scale_kernel)


def test_python_float_scalar_is_fp32_as_in_compiled_triton():
    # compiled Triton passes a Python float as fp32: a float64 kernel sees s rounded to fp32
    x = np.array([1 / 3, 1.0, 2.0], np.float64)
    out = rt.empty((3,), torchlite.float64)
    rt.kernel(K.scale_kernel)[(1,)](x, out, 0.1, 3, BLOCK=4)
    assert np.array_equal(out, x * float(np.float32(0.1)))
    assert not np.array_equal(out, x * 0.1)


@pytest.mark.parametrize("how", ["annotation", "signature"])
def test_fp64_scalar_through_annotation_or_signature_is_exact(how):
    x = np.array([1 / 3, 1.0, 2.0], np.float64)
    out = rt.empty((3,), torchlite.float64)
    if how == "annotation":
        rt.kernel(K.scale_f64_kernel)[(1,)](x, out, 0.1, 3, BLOCK=4)
    else:
        rt.kernel(K.scale_kernel, signature={"s": "fp64"})[(1,)](x, out, 0.1, 3, BLOCK=4)
    assert np.array_equal(out, x * 0.1)


@pytest.mark.parametrize("value, out_dtype, expected", [
    (2**40 + 3, "int64", 2**40 + 3),                 # beyond i32: i64
    (-7, "int32", -7),
    (True, "int8", 1),
    (np.int64(2**40 + 5), "int64", 2**40 + 5),       # numpy scalars: their own type
    (np.float32(0.1), "float64", float(np.float32(0.1))),
    (0.1, "float64", float(np.float32(0.1))),        # Python float: fp32
])
def test_scalar_arguments_are_typed_like_compiled_triton(value, out_dtype, expected):
    out = rt.zeros((1,), getattr(torchlite, out_dtype))
    rt.kernel(K.store_scalar_kernel)[(1,)](out, value)
    assert out[0] == expected


# --- math ----------------------------------------------------------------------------------------

X_UNARY = np.array([-2.5, -1.5, -0.7, -0.5, -0.0, 0.0, 0.3, 0.5, 0.999, 1.5, 2.5, 3.7, np.nan, np.inf,
                    -np.inf, 1e-3], np.float64)
Y_BINARY = np.array([1.5, -0.5, 2.0, 3.0, 1.0, -2.0, 0.5, -1.5, 2.5, 0.25, 3.0, -1.0, 1.0, 2.0, 1.0, 0.7])


def _round_half_away(v):
    return np.where(np.abs(v - np.trunc(v)) >= 0.5, np.trunc(v) + np.sign(v), np.trunc(v))


def _lgamma(v):
    try:
        return math.lgamma(v)
    except ValueError:                                      # poles at 0, -1, -2, ...: C's lgamma gives inf
        return math.inf


UNARY = {
    "erf": np.vectorize(math.erf), "erfc": np.vectorize(math.erfc), "expm1": np.expm1, "log1p": np.log1p,
    "tanh": np.tanh, "rint": np.rint, "nearbyint": np.rint, "round": _round_half_away, "trunc": np.trunc,
    "floor": np.floor, "ceil": np.ceil, "asin": np.arcsin, "acos": np.arccos, "atan": np.arctan,
    "sinh": np.sinh, "cosh": np.cosh, "tan": np.tan, "exp2": np.exp2, "log2": np.log2, "log10": np.log10,
    "sqrt": np.sqrt, "rsqrt": lambda v: 1 / np.sqrt(v), "lgamma": np.vectorize(_lgamma),
    "isnan": np.isnan, "isinf": np.isinf, "signbit": np.signbit,
}
BINARY = {"pow": np.power, "fmod": np.fmod, "atan2": np.arctan2, "hypot": np.hypot, "copysign": np.copysign}


@pytest.mark.parametrize("name", ["float32", "float64"])
@pytest.mark.parametrize("fn", sorted(UNARY))
def test_libdevice_unary_functions_match_numpy(fn, name):
    x = X_UNARY.astype(np_dtype(name))
    out = rt.empty((len(x),), getattr(torchlite, name))
    with np.errstate(all="ignore"):
        rt.kernel(K.libdevice_unary_kernel)[(1,)](x, out, len(x), FN=fn, BLOCK=16)
        expected = np.asarray(UNARY[fn](x.astype(np.float64)), np.float64)
    rtol = 2e-6 if name == "float32" else 1e-13
    np.testing.assert_allclose(out, expected, rtol=rtol, atol=rtol, equal_nan=True)


@pytest.mark.parametrize("name", ["float32", "float64"])
@pytest.mark.parametrize("fn", sorted(BINARY))
def test_libdevice_binary_functions_match_numpy(fn, name):
    x, y = X_UNARY.astype(np_dtype(name)), Y_BINARY.astype(np_dtype(name))
    out = rt.empty((len(x),), getattr(torchlite, name))
    with np.errstate(all="ignore"):
        rt.kernel(K.libdevice_binary_kernel)[(1,)](x, y, out, len(x), FN=fn, BLOCK=16)
        expected = BINARY[fn](x.astype(np.float64), y.astype(np.float64))
    rtol = 2e-6 if name == "float32" else 1e-13
    np.testing.assert_allclose(out, expected, rtol=rtol, atol=rtol, equal_nan=True)


def test_libdevice_table_covers_what_codegen_asks_for():
    assert set(UNARY) | set(BINARY) <= set(LIBDEVICE_FUNCTIONS)


@pytest.mark.parametrize("name", ["float32", "float64"])
def test_tl_math_functions_the_interpreter_implements(name):
    x = np.array([-2.5, -0.7, 0.0, 0.3, 0.999, 3.7], np.float64).astype(np_dtype(name))
    out = rt.empty((len(x),), getattr(torchlite, name))
    rt.kernel(K.math_kernel)[(1,)](x, out, len(x), BLOCK=8)
    v = x.astype(np.float64)
    erf = np.vectorize(math.erf)
    expected = (np.exp(v) + np.log(np.abs(v) + 1) + np.sqrt(np.abs(v)) + erf(v) + np.sin(v) + np.cos(v)
                + np.exp2(v) + np.log2(np.abs(v) + 1) + 1 / np.sqrt(np.abs(v) + 1) + np.floor(v) + np.ceil(v)
                + 1 / (1 + np.exp(-v)) + (v * v + v) + np.maximum(v, 0.25) + np.minimum(v, 0.5))
    np.testing.assert_allclose(out, expected, rtol=1e-5 if name == "float32" else 1e-12, atol=1e-5)


def test_float_mod_is_fmod_and_maximum_drops_nan_unless_asked():
    x = np.array([-2.5, 2.5, np.nan, 1.0], np.float32)
    y = np.array([1.5, -1.5, 1.0, np.nan], np.float32)
    mod, mx, mx_nan = (rt.empty((4,), torchlite.float32) for _ in range(3))
    rt.kernel(K.mod_max_kernel)[(1,)](x, y, mod, mx, mx_nan, 4, BLOCK=4)
    np.testing.assert_array_equal(mod, np.fmod(x, y))          # sign of the dividend, not Python's %
    np.testing.assert_array_equal(mx, np.fmax(x, y))           # NaN dropped
    np.testing.assert_array_equal(mx_nan, np.maximum(x, y))    # NaN propagated


# --- isolation -----------------------------------------------------------------------------------

def test_a_launch_leaves_triton_as_it_found_it():
    from triton.language.extra import libdevice as generic_libdevice
    from triton.language.extra.cuda import libdevice
    from triton.runtime import interpreter
    from triton.runtime.jit import JITFunction
    modules = (tl, tl.core, tl.math, libdevice, generic_libdevice)
    before = [dict(vars(m)) for m in modules]
    call = JITFunction.__dict__["__call__"]
    builder_attrs = set(vars(interpreter.interpreter_builder))
    x = np.linspace(-1, 1, 10).astype(np.float32)
    rt.kernel(K.libdevice_unary_kernel)[(1,)](x, np.empty_like(x), 10, FN="erf", BLOCK=16)
    rt.kernel(K.row_sum_max_kernel)[(1,)](x, np.empty(1, np.float32), np.empty(1, np.float32), 10, 10, BLOCK=16)
    for m, saved in zip(modules, before):
        changed = [k for k, v in saved.items() if vars(m).get(k) is not v]
        assert not changed, f"{m.__name__} still patched: {changed[:5]}"
    assert JITFunction.__dict__["__call__"] is call
    assert set(vars(interpreter.interpreter_builder)) - builder_attrs <= {"grid_idx", "grid_dim"}


def test_compiled_triton_still_works_after_an_interpreted_launch():
    from triton.backends.compiler import GPUTarget
    from triton.compiler import ASTSource
    x = np.ones((2, 8), np.float32)
    rt.kernel(K.row_sum_max_kernel)[(2,)](x, np.empty(2, np.float32), np.empty(2, np.float32), 8, 8, BLOCK=8)
    src = ASTSource(fn=K.row_sum_max_kernel, constexprs={"BLOCK": 8},
                    signature={"x_ptr": "*fp32", "sum_ptr": "*fp32", "max_ptr": "*fp32", "n_cols": "i32",
                               "row_stride": "i32", "BLOCK": "constexpr"})
    compiled = triton.compile(src, target=GPUTarget("cuda", 80, 32), options={"enable_fp_fusion": True})
    assert "tt.reduce" in compiled.asm["ttir"]


def test_the_interpret_module_never_imports_torch():
    code = "import torchlite.devices.interpret, sys; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=TESTS.parent)
    code = (f"import sys, numpy as np; sys.path.insert(0, {str(TESTS)!r}); import _interpret_kernels as K; "
            "from torchlite.devices.interpret import InterpretRuntime; rt = InterpretRuntime(); "
            "x = np.ones(4, np.float32); rt.kernel(K.add_kernel)[(1,)](x, x, x, 4, BLOCK=4); "
            "assert (x == 2).all() and 'torch' not in sys.modules, 'torch imported'")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=TESTS.parent)
