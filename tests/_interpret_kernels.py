"""Hand-written Triton kernels that tests/test_interpret_runtime.py runs on the ``interpret`` device.

They live in a real, imported file because Triton reads a kernel's source. Each is small and written the
way generated kernels are: program id, offsets, masks, loads, math, stores.
"""
import triton
import triton.language as tl
from triton.language.extra.cuda import libdevice


@triton.jit
def add_kernel(x_ptr, y_ptr, out_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    x0 = tl.load(x_ptr + offs, mask=mask)
    x1 = tl.load(y_ptr + offs, mask=mask)
    tl.store(out_ptr + offs, x0 + x1, mask=mask)


@triton.jit
def add_upcast_kernel(x_ptr, y_ptr, out_ptr, n, BLOCK: tl.constexpr):
    # bf16 / f16 the way generated code handles them: compute in fp32, round once on the store
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    x0 = tl.load(x_ptr + offs, mask=mask).to(tl.float32)
    x1 = tl.load(y_ptr + offs, mask=mask).to(tl.float32)
    tl.store(out_ptr + offs, (x0 + x1).to(out_ptr.dtype.element_ty), mask=mask)


@triton.jit
def bool_ops_kernel(x_ptr, y_ptr, or_ptr, and_ptr, not_ptr, gt_ptr, f_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    x0 = tl.load(x_ptr + offs, mask=mask)
    x1 = tl.load(y_ptr + offs, mask=mask)
    tl.store(or_ptr + offs, x0 | x1, mask=mask)
    tl.store(and_ptr + offs, x0 & x1, mask=mask)
    tl.store(not_ptr + offs, x0 == 0, mask=mask)
    tl.store(gt_ptr + offs, x0.to(tl.int32) > x1.to(tl.int32), mask=mask)
    tl.store(f_ptr + offs, tl.where(x0, 1.5, -2.0), mask=mask)


@triton.jit
def copy_kernel(x_ptr, out_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    tl.store(out_ptr + offs, tl.load(x_ptr + offs, mask=mask), mask=mask)


@triton.jit
def fill_kernel(out_ptr, value, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    tl.store(out_ptr + offs, value, mask=offs < n)


@triton.jit
def scale_kernel(x_ptr, out_ptr, s, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    tl.store(out_ptr + offs, tl.load(x_ptr + offs, mask=mask) * s, mask=mask)


@triton.jit
def scale_f64_kernel(x_ptr, out_ptr, s: tl.float64, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    tl.store(out_ptr + offs, tl.load(x_ptr + offs, mask=mask) * s, mask=mask)


@triton.jit
def store_scalar_kernel(out_ptr, s):
    tl.store(out_ptr, s)


@triton.jit
def row_sum_max_kernel(x_ptr, sum_ptr, max_ptr, n_cols, row_stride, BLOCK: tl.constexpr):
    row = tl.program_id(0)
    offs = tl.arange(0, BLOCK)
    mask = offs < n_cols
    x0 = tl.load(x_ptr + row * row_stride + offs, mask=mask, other=0.0)
    tl.store(sum_ptr + row, tl.sum(x0, axis=0))
    x1 = tl.where(mask, x0, float("-inf"))
    tl.store(max_ptr + row, tl.max(x1, axis=0))


@triton.jit
def dot_kernel(a_ptr, b_ptr, c_ptr, M: tl.constexpr, N: tl.constexpr, K: tl.constexpr):
    rm = tl.arange(0, M)
    rn = tl.arange(0, N)
    rk = tl.arange(0, K)
    a = tl.load(a_ptr + rm[:, None] * K + rk[None, :])
    b = tl.load(b_ptr + rk[:, None] * N + rn[None, :])
    acc = tl.dot(a, b, input_precision="ieee", out_dtype=tl.float32)
    tl.store(c_ptr + rm[:, None] * N + rn[None, :], acc)


@triton.jit
def cumsum_kernel(x_ptr, out_ptr, n, BLOCK: tl.constexpr):
    offs = tl.arange(0, BLOCK)
    mask = offs < n
    x0 = tl.load(x_ptr + offs, mask=mask, other=0)
    tl.store(out_ptr + offs, tl.cumsum(x0, axis=0), mask=mask)


@triton.jit
def _max_combine(a, b):
    return tl.maximum(a, b)


@triton.jit
def _prod_combine(a, b):
    return a * b


@triton.jit
def _square(x):
    return x * x


@triton.jit
def scan_reduce_kernel(x_ptr, cummax_ptr, prod_ptr, argmax_ptr, argmin_ptr, sorted_ptr, sq_ptr, n,
                       BLOCK: tl.constexpr):
    offs = tl.arange(0, BLOCK)
    mask = offs < n
    x0 = tl.load(x_ptr + offs, mask=mask, other=float("-inf"))
    tl.store(cummax_ptr + offs, tl.associative_scan(x0, 0, _max_combine), mask=mask)
    x1 = tl.where(mask, x0, 1.0)
    tl.store(prod_ptr, tl.reduce(x1, 0, _prod_combine))
    tl.store(argmax_ptr, tl.argmax(x0, axis=0))
    x2 = tl.where(mask, x0, float("inf"))
    tl.store(argmin_ptr, tl.argmin(x2, axis=0))
    tl.store(sorted_ptr + offs, tl.sort(x2), mask=mask)
    tl.store(sq_ptr + offs, _square(x0), mask=mask)


@triton.jit
def int64_offset_kernel(x_ptr, out_ptr, big, n, BLOCK: tl.constexpr):
    # x_ptr + big - big: only right if pointer arithmetic is done in 64 bits (big > 2**32)
    offs = tl.arange(0, BLOCK)
    mask = offs < n
    far = x_ptr + big
    tl.store(out_ptr + offs, tl.load(far - big + offs.to(tl.int64), mask=mask), mask=mask)


@triton.jit
def grid3_kernel(out_ptr, NY: tl.constexpr, NZ: tl.constexpr):
    x = tl.program_id(0)
    y = tl.program_id(1)
    z = tl.program_id(2)
    tl.store(out_ptr + (x * NY + y) * NZ + z, x * 100 + y * 10 + z + tl.num_programs(0) * 1000)


@triton.jit
def strided_copy_kernel(x_ptr, out_ptr, n_rows, n_cols, stride_r, stride_c, BLOCK: tl.constexpr):
    row = tl.program_id(0)
    offs = tl.arange(0, BLOCK)
    mask = offs < n_cols
    x0 = tl.load(x_ptr + row * stride_r + offs * stride_c, mask=mask)
    tl.store(out_ptr + row * n_cols + offs, x0, mask=mask)


@triton.jit
def libdevice_unary_kernel(x_ptr, out_ptr, n, FN: tl.constexpr, BLOCK: tl.constexpr):
    offs = tl.arange(0, BLOCK)
    mask = offs < n
    x = tl.load(x_ptr + offs, mask=mask)
    if FN == "erf":
        y = libdevice.erf(x)
    elif FN == "erfc":
        y = libdevice.erfc(x)
    elif FN == "expm1":
        y = libdevice.expm1(x)
    elif FN == "log1p":
        y = libdevice.log1p(x)
    elif FN == "tanh":
        y = libdevice.tanh(x)
    elif FN == "rint":
        y = libdevice.rint(x)
    elif FN == "nearbyint":
        y = libdevice.nearbyint(x)
    elif FN == "round":
        y = libdevice.round(x)
    elif FN == "trunc":
        y = libdevice.trunc(x)
    elif FN == "floor":
        y = libdevice.floor(x)
    elif FN == "ceil":
        y = libdevice.ceil(x)
    elif FN == "asin":
        y = libdevice.asin(x)
    elif FN == "acos":
        y = libdevice.acos(x)
    elif FN == "atan":
        y = libdevice.atan(x)
    elif FN == "sinh":
        y = libdevice.sinh(x)
    elif FN == "cosh":
        y = libdevice.cosh(x)
    elif FN == "tan":
        y = libdevice.tan(x)
    elif FN == "exp2":
        y = libdevice.exp2(x)
    elif FN == "log2":
        y = libdevice.log2(x)
    elif FN == "log10":
        y = libdevice.log10(x)
    elif FN == "sqrt":
        y = libdevice.sqrt(x)
    elif FN == "rsqrt":
        y = libdevice.rsqrt(x)
    elif FN == "lgamma":
        y = libdevice.lgamma(x)
    elif FN == "isnan":
        y = libdevice.isnan(x).to(x.dtype)
    elif FN == "isinf":
        y = libdevice.isinf(x).to(x.dtype)
    else:
        y = libdevice.signbit(x).to(x.dtype)
    tl.store(out_ptr + offs, y, mask=mask)


@triton.jit
def libdevice_binary_kernel(x_ptr, y_ptr, out_ptr, n, FN: tl.constexpr, BLOCK: tl.constexpr):
    offs = tl.arange(0, BLOCK)
    mask = offs < n
    x = tl.load(x_ptr + offs, mask=mask)
    y = tl.load(y_ptr + offs, mask=mask)
    if FN == "pow":
        z = libdevice.pow(x, y)
    elif FN == "fmod":
        z = libdevice.fmod(x, y)
    elif FN == "atan2":
        z = libdevice.atan2(x, y)
    elif FN == "hypot":
        z = libdevice.hypot(x, y)
    else:
        z = libdevice.copysign(x, y)
    tl.store(out_ptr + offs, z, mask=mask)


@triton.jit
def math_kernel(x_ptr, out_ptr, n, BLOCK: tl.constexpr):
    # tl.math functions the interpreter implements itself (no libdevice)
    offs = tl.arange(0, BLOCK)
    mask = offs < n
    x = tl.load(x_ptr + offs, mask=mask)
    y = tl.exp(x) + tl.log(tl.abs(x) + 1) + tl.sqrt(tl.abs(x)) + tl.erf(x) + tl.sin(x) + tl.cos(x)
    y = y + tl.exp2(x) + tl.log2(tl.abs(x) + 1) + tl.rsqrt(tl.abs(x) + 1) + tl.floor(x) + tl.ceil(x)
    y = y + tl.sigmoid(x) + tl.fma(x, x, x) + tl.maximum(x, 0.25) + tl.minimum(x, 0.5)
    tl.store(out_ptr + offs, y, mask=mask)


@triton.jit
def mod_max_kernel(x_ptr, y_ptr, mod_ptr, max_ptr, max_nan_ptr, n, BLOCK: tl.constexpr):
    offs = tl.arange(0, BLOCK)
    mask = offs < n
    x = tl.load(x_ptr + offs, mask=mask)
    y = tl.load(y_ptr + offs, mask=mask)
    tl.store(mod_ptr + offs, x % y, mask=mask)
    tl.store(max_ptr + offs, tl.maximum(x, y), mask=mask)
    tl.store(max_nan_ptr + offs, tl.maximum(x, y, propagate_nan=tl.PropagateNan.ALL), mask=mask)


@triton.jit
def libdevice_j0_kernel(x_ptr, out_ptr):
    # a libdevice function the interpret runtime has no numpy version of
    tl.store(out_ptr, libdevice.j0(tl.load(x_ptr)))
