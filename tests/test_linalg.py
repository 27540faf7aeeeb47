"""Linear algebra: matmul and its family (mm, bmm, mv, dot, outer), linear, einsum, addmm, baddbmm, tensordot.

Values are checked against numpy in float64 and against torch (the ``torch`` fixture skips where it is
missing); errors against PyTorch's messages, raised when the op is built and naming this file.
"""
from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest

import torchlite as tl
from conftest import assert_close, to_torch

HERE = r"test_linalg\.py:\d+"


def sample(shape, dtype="float32", seed=0, lo=-3, hi=4):
    """A tensor of ``shape``: normal values for floats, small integers for integer dtypes."""
    r = np.random.default_rng(seed)
    if dtype in ("float32", "float64", "float16", "bfloat16"):
        a = r.standard_normal(shape)
        np_dtype = ml_dtypes.bfloat16 if dtype == "bfloat16" else dtype
        return tl.tensor(a.astype(np_dtype))
    return tl.tensor(r.integers(lo, hi, shape).astype(dtype))


def f64(x: tl.Tensor) -> np.ndarray:
    return np.asarray(x.numpy()).astype(np.float64)


def tol_for(dtype: str, k: int) -> dict:
    """Tolerances for a sum of ``k`` products in ``dtype`` (compared with an exact float64 reference)."""
    eps = {"float64": 2e-16, "float32": 1.2e-7, "float16": 1e-3, "bfloat16": 8e-3}[dtype]
    if dtype in ("float16", "bfloat16"):          # float32 accumulation, one rounding to the dtype
        return {"rtol": eps, "atol": eps}
    scale = 4 * max(k, 1) ** 0.5 * eps
    return {"rtol": scale, "atol": scale * 4}


def check_product(result: tl.Tensor, expected64: np.ndarray, dtype: str, k: int):
    assert result.dtype.name == dtype
    assert tuple(result.shape) == expected64.shape
    got = f64(result)
    if dtype in ("float16", "bfloat16"):
        np_dtype = ml_dtypes.bfloat16 if dtype == "bfloat16" else np.float16
        expected64 = expected64.astype(np_dtype).astype(np.float64)   # the correctly rounded result
        np.testing.assert_allclose(got, expected64, **tol_for(dtype, k))
    elif dtype.startswith("float"):
        np.testing.assert_allclose(got, expected64, **tol_for(dtype, k))
    else:
        np.testing.assert_array_equal(got, expected64)


# --- matmul: shapes ---------------------------------------------------------------------------------------

MATMUL_SHAPES = [
    ((5,), (5,)),                    # dot -> 0-d
    ((3, 5), (5,)),                  # mv
    ((5,), (5, 4)),                  # vector @ matrix
    ((3, 5), (5, 4)),                # mm
    ((2, 3, 5), (5, 4)),             # batch @ matrix (folded into one GEMM)
    ((2, 3, 5), (5,)),               # batch @ vector
    ((5,), (2, 5, 4)),               # vector @ batch
    ((3, 5), (2, 5, 4)),             # matrix @ batch
    ((2, 3, 5), (2, 5, 4)),          # bmm
    ((2, 1, 3, 5), (6, 5, 4)),       # batch dims broadcast
    ((1, 3, 5), (7, 1, 5, 2)),       # broadcast with a missing leading dim
    ((0, 5), (5, 4)),                # empty rows
    ((3, 0), (0, 4)),                # empty inner dimension -> zeros
    ((2, 0, 3), (3, 4)),
    ((3, 5), (5, 0)),
    ((0,), (0,)),                    # empty dot -> 0
    ((0, 3, 5), (5, 4)),
]


@pytest.mark.parametrize("sa, sb", MATMUL_SHAPES)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_matmul_shapes_match_numpy_float64(sa, sb, dtype):
    a, b = sample(sa, dtype, 1), sample(sb, dtype, 2)
    r = tl.matmul(a, b)
    check_product(r, np.matmul(f64(a), f64(b)), dtype, sa[-1])
    check_product(a @ b, np.matmul(f64(a), f64(b)), dtype, sa[-1])


@pytest.mark.parametrize("sa, sb", MATMUL_SHAPES)
def test_matmul_shapes_match_torch(sa, sb, torch):
    a, b = sample(sa, "float32", 3), sample(sb, "float32", 4)
    assert_close(tl.matmul(a, b), torch.matmul(to_torch(a), to_torch(b)), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("sa, sb", [((3, 17), (17, 4)), ((2, 3, 33), (33, 5)), ((2, 4, 9), (2, 9, 3)), ((8,), (8,))])
def test_matmul_low_precision_rounds_once(dtype, sa, sb, torch):
    a, b = sample(sa, dtype, 5), sample(sb, dtype, 6)
    r = a @ b
    check_product(r, np.matmul(f64(a), f64(b)), dtype, sa[-1])
    assert_close(r, torch.matmul(to_torch(a), to_torch(b)), rtol=1e-2 if dtype == "bfloat16" else 2e-3, atol=1e-2)


@pytest.mark.parametrize("dtype", ["int64", "int32", "int16", "uint8"])
def test_integer_matmul_keeps_its_dtype(dtype, torch):
    a, b = sample((2, 3, 4), dtype, 7, 0, 5), sample((4, 5), dtype, 8, 0, 5)
    r = a @ b
    assert r.dtype.name == dtype
    np.testing.assert_array_equal(r.numpy(), np.matmul(a.numpy().astype(np.int64), b.numpy().astype(np.int64)))
    assert_close(r, torch.matmul(to_torch(a), to_torch(b)))
    v = sample((4,), "int64", 9)
    d = tl.dot(v, v)
    assert d.dtype is tl.int64 and d.shape == () and d.item() == int((v.numpy() ** 2).sum())


def test_int64_matmul_wraps_like_torch(torch):
    a = tl.tensor([[2 ** 62, 2 ** 62]])
    b = tl.tensor([[3], [1]])
    assert_close(a @ b, torch.matmul(to_torch(a), to_torch(b)))


# --- non-contiguous operands -----------------------------------------------------------------------------

def test_matmul_with_transposed_and_sliced_operands(torch):
    w = sample((6, 5), "float32", 10)
    x = sample((4, 10), "float32", 11)[:, ::2]           # (4, 5), strided columns
    r = x @ w.t()                                         # w.t() is a transposed view
    check_product(r, f64(x) @ f64(w).T, "float32", 5)
    assert_close(r, torch.matmul(to_torch(x), to_torch(w).t()), rtol=1e-5, atol=1e-5)
    bt = sample((2, 5, 3), "float64", 12).transpose(1, 2)  # (2, 3, 5), non-contiguous batch
    r2 = bt @ sample((2, 5, 4), "float64", 13)
    check_product(r2, f64(bt) @ f64(sample((2, 5, 4), "float64", 13)), "float64", 5)
    p = sample((3, 2, 5), "float32", 14).permute(1, 0, 2)  # (2, 3, 5) not C-contiguous: no folding
    check_product(p @ w.t(), f64(p) @ f64(w).T, "float32", 5)


def test_matmul_reads_the_current_value_of_written_tensors():
    a = tl.ones(2, 3)
    b = tl.ones(3, 2)
    a[0].fill_(2.0)
    b.t()[1].mul_(3.0)
    np.testing.assert_array_equal((a @ b).numpy(), np.array([[6, 18], [3, 9]], np.float32))


# --- laziness, registry, kernel ----------------------------------------------------------------------------

def test_matmul_is_lazy_and_errors_at_build_time():
    a, b = tl.ones(3, 4), tl.ones(4, 5)
    c = a @ b
    assert c.is_lazy
    assert c.shape == (3, 5) and c.dtype is tl.float32
    with pytest.raises(RuntimeError, match=r"mat1 and mat2 shapes cannot be multiplied \(3x4 and 5x6\).*"
                       r"inner dimensions 4 != 5.*" + HERE):
        a @ tl.ones(5, 6)


def test_matmul_op_declaration():
    op = tl.ops.matmul
    assert op.kind == "linalg" and op.supports_out and op.donate == () and not op.view
    assert tl.ops.linear.supports_out and tl.ops.linear.donate == ()


@pytest.mark.parametrize("sa, sb", [((3, 5), (5, 4)), ((2, 3, 5), (5, 4)), ((2, 3, 5), (5,)), ((5,), (5,)),
                                    ((2, 3, 5), (2, 5, 4))])
def test_matmul_kernel_writes_into_out(sa, sb):
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(sa).astype(np.float32), rng.standard_normal(sb).astype(np.float32)
    ref = np.matmul(a, b)
    out = np.full(np.shape(ref), np.nan, np.float32)
    r = tl.ops.matmul.numpy(a, b, dtype=np.dtype(np.float32), out=out)
    assert r is out
    np.testing.assert_allclose(out, ref, rtol=1e-6, atol=1e-6)
    r = tl.ops.matmul.numpy(a, b, dtype=np.dtype(np.float32))
    assert isinstance(r, np.ndarray) and r.dtype == np.float32 and r.shape == np.shape(ref)


def test_matmul_kernel_low_precision_out():
    a = np.ones((2, 3), np.float16)
    out = np.zeros((2, 2), np.float16)
    assert tl.ops.matmul.numpy(a, a.T, dtype=np.dtype(np.float16), out=out) is out
    np.testing.assert_array_equal(out, np.full((2, 2), 3, np.float16))


def test_linear_is_one_node_in_the_captured_graph():
    x, w, b = tl.ones(2, 3), tl.ones(4, 3), tl.ones(4)
    gm = tl.fx.capture(tl.ops.linalg.linear(x, w, b))
    names = [n.target.name for n in gm.graph.nodes if n.op == "call_function"]
    assert names.count("linear") == 1 and "matmul" not in names and "add" not in names


# --- matmul errors ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("sa, sb, msg, hint", [
    ((), (3,), r"both arguments to matmul need to be at least 1D, but they are 0D and 1D", ""),
    ((3,), (4,), r"inconsistent tensor size, expected tensor \[3\] and src \[4\]", "inner dimensions 3 != 4"),
    ((3, 4), (5,), r"size mismatch, got input \(3\), mat \(3x4\), vec \(5\)", "inner dimensions 4 != 5"),
    ((3,), (4, 5), r"mat1 and mat2 shapes cannot be multiplied \(1x3 and 4x5\)", r"shapes \[3\] and \[4, 5\]"),
    ((3, 4), (5, 6), r"mat1 and mat2 shapes cannot be multiplied \(3x4 and 5x6\)", "inner dimensions 4 != 5"),
    ((2, 3, 4), (5, 6), r"mat1 and mat2 shapes cannot be multiplied \(6x4 and 5x6\)",
     r"shapes \[2, 3, 4\] and \[5, 6\]: inner dimensions 4 != 5"),
    ((2, 2, 3, 4), (5,), r"size mismatch, got input \(12\), mat \(12x4\), vec \(5\)", "4 != 5"),
    ((2, 3, 4), (2, 5, 6), r"Expected size for first two dimensions of batch2 tensor to be: \[2, 4\] but got: "
                           r"\[2, 5\]\.", r"shapes \[2, 3, 4\] and \[2, 5, 6\]: inner dimensions 4 != 5"),
    ((3, 4), (2, 5, 6), r"batch2 tensor to be: \[2, 4\] but got: \[2, 5\]", "4 != 5"),
    ((4,), (2, 5, 6), r"batch2 tensor to be: \[2, 4\] but got: \[2, 5\]", "4 != 5"),
    ((2, 3, 4), (5, 4, 6), r"The size of tensor a \(2\) must match the size of tensor b \(5\) at non-singleton "
                           r"dimension 0", ""),
    ((7, 2, 3, 4), (5, 4, 6), r"The size of tensor a \(2\) must match the size of tensor b \(5\) at non-singleton "
                              r"dimension 1", ""),
])
def test_matmul_shape_errors_match_torch(sa, sb, msg, hint, torch):
    with pytest.raises(RuntimeError, match="matmul: .*" + msg + ".*" + hint + ".*" + HERE):
        tl.matmul(tl.ones(sa), tl.ones(sb))
    with pytest.raises(RuntimeError, match=msg):
        torch.matmul(torch.ones(sa), torch.ones(sb))


@pytest.mark.parametrize("sa, sb, msg", [
    ((3,), (3,), r"dot : expected both vectors to have same dtype, but found Float and Double"),
    ((3, 4), (4,), r"addmv input tensors must have the same dtype, but got Double, Float, and Double"),
    ((3, 4), (4, 2), r"expected m1 and m2 to have the same dtype, but got: float != double"),
    ((2, 3, 4), (4, 2), r"expected m1 and m2 to have the same dtype, but got: float != double"),
    ((2, 3, 4), (2, 4, 2), r"expected scalar type Float but found Double"),
])
def test_matmul_dtype_mismatch(sa, sb, msg, torch):
    with pytest.raises(RuntimeError, match=msg + ".*" + HERE):
        tl.ones(*sa) @ tl.ones(*sb, dtype=tl.float64)
    with pytest.raises(RuntimeError, match=msg):
        torch.ones(*sa) @ torch.ones(*sb, dtype=torch.float64)


@pytest.mark.parametrize("sa, sb, kernel", [((3,), (3,), "dot"), ((2, 3), (3,), "addmv_impl_cpu"),
                                            ((2, 3), (3, 2), "addmm_impl_cpu_"), ((2, 2, 3), (2, 3, 2), "bmm")])
def test_bool_matmul_is_not_implemented(sa, sb, kernel):
    with pytest.raises(NotImplementedError, match=f"\"{kernel}\" not implemented for 'Bool'.*" + HERE):
        tl.ones(*sa, dtype=tl.bool) @ tl.ones(*sb, dtype=tl.bool)


def test_matmul_rejects_non_tensors():
    with pytest.raises(TypeError, match="must be Tensor.*" + HERE):
        tl.matmul(tl.ones(2, 2), [[1.0, 0.0], [0.0, 1.0]])
    with pytest.raises(TypeError, match="must be Tensor.*" + HERE):
        2 @ tl.ones(2)


# --- mm, bmm, mv, dot, outer -------------------------------------------------------------------------------

def test_mm_bmm_mv_dot_functions_and_methods(torch):
    a, b = sample((3, 4), "float64", 20), sample((4, 5), "float64", 21)
    check_product(tl.mm(a, b), f64(a) @ f64(b), "float64", 4)
    check_product(a.mm(b), f64(a) @ f64(b), "float64", 4)
    p, q = sample((2, 3, 4), "float64", 22), sample((2, 4, 5), "float64", 23)
    check_product(tl.bmm(p, q), f64(p) @ f64(q), "float64", 4)
    check_product(p.bmm(q), f64(p) @ f64(q), "float64", 4)
    v = sample((4,), "float64", 24)
    check_product(tl.mv(a, v), f64(a) @ f64(v), "float64", 4)
    check_product(a.mv(v), f64(a) @ f64(v), "float64", 4)
    check_product(tl.dot(v, v), np.dot(f64(v), f64(v)), "float64", 4)
    check_product(v.dot(v), np.dot(f64(v), f64(v)), "float64", 4)
    check_product(tl.vdot(v, v), np.dot(f64(v), f64(v)), "float64", 4)
    check_product(tl.inner(a, b.t()), np.inner(f64(a), f64(b).T), "float64", 4)
    assert_close(tl.inner(a, b.t()), torch.inner(to_torch(a), to_torch(b).t()))
    assert_close(a.matmul(b), torch.matmul(to_torch(a), to_torch(b)))


@pytest.mark.parametrize("fn, args, exc, msg", [
    ("mm", ((3,), (3, 4)), RuntimeError, "self must be a matrix"),
    ("mm", ((2, 3, 4), (4, 4)), RuntimeError, "self must be a matrix"),
    ("mm", ((3, 4), (4,)), RuntimeError, "mat2 must be a matrix"),
    ("mm", ((3, 4), (5, 6)), RuntimeError, r"mat1 and mat2 shapes cannot be multiplied \(3x4 and 5x6\)"),
    ("bmm", ((3, 4), (4, 5)), RuntimeError, "batch1 must be a 3D tensor"),
    ("bmm", ((2, 3, 4), (4, 5)), RuntimeError, "batch2 must be a 3D tensor"),
    ("bmm", ((2, 3, 4), (3, 4, 5)), RuntimeError, r"Expected size for first two dimensions of batch2 tensor to be: "
                                                  r"\[2, 4\] but got: \[3, 4\]\."),
    ("bmm", ((2, 3, 4), (2, 5, 5)), RuntimeError, r"to be: \[2, 4\] but got: \[2, 5\]"),
    ("mv", ((3, 4), (5,)), RuntimeError, r"size mismatch, got input \(3\), mat \(3x4\), vec \(5\)"),
    ("mv", ((4,), (4,)), RuntimeError, r"vector \+ matrix @ vector expected, got 1, 1, 1"),
    ("mv", ((3, 4), (4, 1)), RuntimeError, r"vector \+ matrix @ vector expected, got 1, 2, 2"),
    ("dot", ((3,), (4,)), RuntimeError, r"inconsistent tensor size, expected tensor \[3\] and src \[4\] to have the "
                                        r"same number of elements, but got 3 and 4 elements respectively"),
    ("dot", ((3, 1), (3,)), RuntimeError, "1D tensors expected, but got 2D and 1D tensors"),
    ("outer", ((3, 1), (4,)), RuntimeError, "outer: Expected 1-D argument self, but got 2-D"),
    ("outer", ((3,), (4, 1)), RuntimeError, "outer: Expected 1-D argument vec2, but got 2-D"),
])
def test_matmul_family_errors_match_torch(fn, args, exc, msg, torch):
    with pytest.raises(exc, match=f"{fn}: .*{msg}.*" + HERE):
        getattr(tl, fn)(*(tl.ones(*s) for s in args))
    with pytest.raises(exc, match=msg):
        getattr(torch, fn)(*(torch.ones(*s) for s in args))


def test_mm_and_bmm_dtype_errors():
    with pytest.raises(RuntimeError, match="mm: expected m1 and m2 to have the same dtype, but got: float != long "
                       "int.*" + HERE):
        tl.mm(tl.ones(2, 2), tl.ones(2, 2, dtype=tl.int64))
    with pytest.raises(RuntimeError, match="bmm: expected scalar type Float but found Half.*" + HERE):
        tl.bmm(tl.ones(1, 2, 2), tl.ones(1, 2, 2, dtype=tl.float16))
    with pytest.raises(NotImplementedError, match="bmm.*\"bmm\" not implemented for 'Bool'.*" + HERE):
        tl.bmm(tl.ones(1, 2, 2, dtype=tl.bool), tl.ones(1, 2, 2, dtype=tl.bool))


@pytest.mark.parametrize("da, db", [("float32", "float32"), ("float32", "int64"), ("int32", "int8"),
                                    ("bool", "bool"), ("float16", "float64")])
def test_outer_and_ger_promote_like_torch(da, db, torch):
    a, b = sample((3,), da, 30, 0, 2), sample((4,), db, 31, 0, 2)
    expected = torch.outer(to_torch(a), to_torch(b))
    assert_close(tl.outer(a, b), expected)
    assert_close(a.outer(b), expected)
    assert_close(tl.ger(a, b), expected)


# --- linear ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("sx, sw, sb", [
    ((4, 3), (5, 3), (5,)),
    ((4, 3), (5, 3), None),
    ((2, 4, 3), (5, 3), (5,)),
    ((2, 4, 3), (5, 3), (4, 5)),          # a bias that broadcasts over the batch
    ((3,), (5, 3), (5,)),                 # 1-d input
    ((4, 3), (3,), None),                 # 1-d weight
    ((3,), (3,), ()),                     # 1-d input and weight, 0-d bias
    ((0, 3), (5, 3), (5,)),
    ((4, 0), (5, 0), (5,)),               # no input features: the bias alone
])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_linear_matches_numpy_and_torch(sx, sw, sb, dtype, torch):
    x, w = sample(sx, dtype, 40), sample(sw, dtype, 41)
    b = sample(sb, dtype, 42) if sb is not None else None
    r = tl.ops.linalg.linear(x, w, b)
    ref = np.matmul(f64(x), f64(w).T) + (f64(b) if b is not None else 0.0)
    check_product(r, ref, dtype, sx[-1] + 1)
    tt = torch.nn.functional.linear(to_torch(x), to_torch(w), to_torch(b) if b is not None else None)
    assert_close(r, tt, rtol=1e-5, atol=1e-5)


def test_linear_with_transposed_weight_and_low_precision(torch):
    wt = sample((3, 5), "float32", 43).t()                 # (5, 3), a transposed view
    x = sample((2, 4, 3), "float32", 44)
    r = tl.ops.linalg.linear(x, wt)
    check_product(r, f64(x) @ f64(wt).T, "float32", 3)
    for dtype in ("float16", "bfloat16"):
        xl, wl, bl = sample((4, 7), dtype, 45), sample((2, 7), dtype, 46), sample((2,), dtype, 47)
        r = tl.ops.linalg.linear(xl, wl, bl)
        check_product(r, f64(xl) @ f64(wl).T + f64(bl), dtype, 8)
        assert_close(r, torch.nn.functional.linear(to_torch(xl), to_torch(wl), to_torch(bl)), rtol=1e-2, atol=1e-2)


@pytest.mark.parametrize("sx, sw, sb, wdt, bdt, exc, msg", [
    ((3, 4), (5, 6), None, "float32", None, RuntimeError, r"mat1 and mat2 shapes cannot be multiplied \(3x4 and 6x5\)"),
    ((2, 3, 4), (5, 6), None, "float32", None, RuntimeError, r"mat1 and mat2 shapes cannot be multiplied \(6x4 and 6x5\)"),
    ((), (5, 4), (5,), "float32", "float32", RuntimeError, "both arguments to linear need to be at least 1D, but they "
                                                           "are 0D and 2D"),
    ((3, 4), (2, 5, 4), None, "float32", None, RuntimeError, "t\\(\\) expects a tensor with <= 2 dimensions, but self "
                                                             "is 3D"),
    ((3, 4), (5, 4), None, "float64", None, RuntimeError, "expected m1 and m2 to have the same dtype, but got: float "
                                                          "!= double"),
    ((3, 4), (5, 4), (5,), "float32", "float64", RuntimeError, "self and mat2 must have the same dtype, but got Double "
                                                               "and Float"),
    ((3, 4), (5, 4), (6,), "float32", "float32", RuntimeError, r"The expanded size of the tensor \(5\) must match the "
                                                               r"existing size \(6\) at non-singleton dimension 1"),
    ((2, 3, 4), (5, 4), (4, 2, 3, 5), "float32", "float32", RuntimeError,
     r"output with shape \[2, 3, 5\] doesn't match the broadcast shape \[4, 2, 3, 5\]"),
    ((3, 4), (4,), (1,), "float32", "float32", RuntimeError, "mat2 must be a matrix, got 1-D tensor"),
    ((3, 4), (3,), None, "float32", None, RuntimeError, r"size mismatch, got input \(3\), mat \(3x4\), vec \(3\)"),
])
def test_linear_errors_match_torch(sx, sw, sb, wdt, bdt, exc, msg, torch):
    args = [tl.ones(sx), tl.ones(sw, dtype=getattr(tl, wdt))]
    targs = [torch.ones(sx), torch.ones(sw, dtype=getattr(torch, wdt))]
    if sb is not None:
        args.append(tl.ones(sb, dtype=getattr(tl, bdt)))
        targs.append(torch.ones(sb, dtype=getattr(torch, bdt)))
    with pytest.raises(exc, match="linear: " + msg + ".*" + HERE):
        tl.ops.linalg.linear(*args)
    with pytest.raises(exc, match=msg):
        torch.nn.functional.linear(*targs)


def test_linear_bool_is_not_implemented():
    with pytest.raises(NotImplementedError, match="\"addmm_impl_cpu_\" not implemented for 'Bool'.*" + HERE):
        tl.ops.linalg.linear(tl.ones(2, 3, dtype=tl.bool), tl.ones(4, 3, dtype=tl.bool))


def test_integer_linear(torch):
    x, w, b = sample((4, 3), "int64", 48), sample((5, 3), "int64", 49), sample((5,), "int64", 50)
    r = tl.ops.linalg.linear(x, w, b)
    assert r.dtype is tl.int64
    assert_close(r, torch.nn.functional.linear(to_torch(x), to_torch(w), to_torch(b)))


# --- einsum ----------------------------------------------------------------------------------------------

EINSUM_CASES = [
    ("ij,jk->ik", [(3, 4), (4, 5)]),
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
    ("bhqd,bhkd->bhqk", [(2, 3, 4, 5), (2, 3, 6, 5)]),
    ("ii", [(4, 4)]),                          # trace
    ("ii->i", [(4, 4)]),                       # diagonal
    ("i,j->ij", [(3,), (4,)]),                 # outer
    ("ij->ji", [(3, 4)]),
    ("ij->", [(3, 4)]),
    ("i,i->", [(5,), (5,)]),
    ("ij,ij->ij", [(3, 4), (3, 4)]),
    ("ij,jk", [(3, 4), (4, 5)]),               # implicit output
    ("ba", [(3, 4)]),                          # implicit output is sorted: a transpose
    ("...ij,...jk->...ik", [(2, 3, 4), (4, 5)]),
    ("...ij,...jk", [(2, 1, 3, 4), (7, 4, 5)]),  # ellipsis dims broadcast
    ("...ij->ij", [(2, 3, 4)]),                # ellipsis summed away
    ("i...->...", [(3, 2, 4)]),
    ("b...,b...->...", [(3, 2), (3,)]),
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 5)]),  # three operands (optimized path)
    ("i,i->i", [(3,), (1,)]),                  # a size-1 label broadcasts
    ("ij,jk->ik", [(3, 1), (4, 5)]),
    (",i->i", [(), (3,)]),                     # 0-d operand
    ("->", [()]),
    (" i j , j k -> i k ", [(3, 4), (4, 5)]),  # spaces
    ("iJ,Jk->ik", [(3, 4), (4, 5)]),           # upper-case labels
    ("ij,jk->ik", [(3, 0), (0, 5)]),           # empty contraction -> zeros
    ("bij,bjk->bik", [(0, 3, 4), (0, 4, 5)]),
]


@pytest.mark.parametrize("equation, shapes", EINSUM_CASES)
def test_einsum_matches_numpy_and_torch(equation, shapes, torch):
    ops = [sample(s, "float64", 60 + i) for i, s in enumerate(shapes)]
    r = tl.einsum(equation, *ops)
    expected = torch.einsum(equation, *[to_torch(o) for o in ops])
    assert_close(r, expected, rtol=1e-12, atol=1e-12)
    if equation != "...ij->ij":                  # numpy refuses to sum an ellipsis away without optimize
        np.testing.assert_allclose(r.numpy(), np.einsum(equation.replace(" ", ""), *[o.numpy() for o in ops]),
                                   rtol=1e-12, atol=1e-12)
    r32 = tl.einsum(equation, *[o.float() for o in ops])
    assert r32.dtype is tl.float32
    assert_close(r32, expected.float(), rtol=1e-5, atol=1e-5)


def test_einsum_operand_list_and_sublist_forms(torch):
    a, b = sample((3, 4), "float32", 70), sample((4, 5), "float32", 71)
    expected = torch.einsum("ij,jk->ik", to_torch(a), to_torch(b))
    assert_close(tl.einsum("ij,jk->ik", [a, b]), expected, rtol=1e-5, atol=1e-5)
    assert_close(tl.einsum(a, [0, 1], b, [1, 2], [0, 2]), expected, rtol=1e-5, atol=1e-5)
    assert_close(tl.einsum(a, [0, 1], b, [1, 2]), expected, rtol=1e-5, atol=1e-5)
    x = sample((2, 3, 4), "float32", 72)
    assert_close(tl.einsum(x, [Ellipsis, 0, 1], [Ellipsis, 1, 0]),
                 torch.einsum(to_torch(x), [Ellipsis, 0, 1], [Ellipsis, 1, 0]))


def test_einsum_result_never_aliases_its_input():
    x = sample((3, 3), "float32", 73)
    for eq in ("ij->ji", "ii->i", "ij->ij"):
        r = tl.einsum(eq, x).numpy()
        assert not np.shares_memory(r, x.numpy())


@pytest.mark.parametrize("equation, shapes, dtype", [
    ("ij,jk->ik", [(3, 4), (4, 5)], "int32"),      # product-sum: keeps the dtype
    ("ij->i", [(3, 4)], "int32"),                  # a sum: int64, as torch.sum
    ("ii", [(3, 3)], "int32"),
    ("ij,k->k", [(3, 4), (5,)], "int32"),
    ("ij,jk->ik", [(3, 4), (4, 5)], "uint8"),
    ("ij->i", [(3, 4)], "bool"),
    ("ij->ji", [(3, 4)], "bool"),
    ("ii->i", [(3, 3)], "bool"),
    ("i,j->ij", [(3,), (4,)], "bool"),
    ("ij,jk->ik", [(3, 4), (4, 5)], "float16"),
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)], "bfloat16"),
])
def test_einsum_dtypes_match_torch(equation, shapes, dtype, torch):
    ops = [sample(s, dtype, 80 + i, 0, 2) for i, s in enumerate(shapes)]
    expected = torch.einsum(equation, *[to_torch(o) for o in ops])
    assert_close(tl.einsum(equation, *ops), expected, rtol=1e-2, atol=1e-2)


@pytest.mark.parametrize("args, exc, msg", [
    (("ij,jk->ik", (3, 4)), RuntimeError, "einsum\\(\\): fewer operands were provided than specified in the equation"),
    (("ij->ik", (3, 4), (4, 5)), RuntimeError, "einsum\\(\\): more operands were provided than specified in the "
                                               "equation"),
    (("ijk,jk->ik", (3, 4), (4, 5)), RuntimeError, r"einsum\(\): the number of subscripts in the equation \(3\) does "
                                                   r"not match the number of dimensions \(2\) for operand 0 and no "
                                                   r"ellipsis was given"),
    (("...ijk->i", (3, 4)), RuntimeError, r"the number of subscripts in the equation \(3\) is more than the number of "
                                          r"dimensions \(2\) for operand 0"),
    (("ij,jk->ik", (3, 4), (5, 5)), RuntimeError, "einsum\\(\\): subscript j has size 5 for operand 1 which does not "
                                                  "broadcast with previously seen size 4"),
    (("ii", (3, 4)), RuntimeError, "einsum\\(\\): subscript i is repeated for operand 0 but the sizes don't match, "
                                   "4 != 3"),
    (("ij,jk->iz", (3, 4), (4, 5)), RuntimeError, "einsum\\(\\): output subscript z does not appear in the equation "
                                                  "for any input operand"),
    (("ij,jk->ii", (3, 4), (4, 5)), RuntimeError, "einsum\\(\\): output subscript i appears more than once in the "
                                                  "output"),
    (("i1,jk->ik", (3, 4), (4, 5)), RuntimeError, "einsum\\(\\): invalid subscript given at index 1 in the equation "
                                                  "string, subscripts must be in \\[a-zA-Z\\]"),
    (("ij->j->i", (3, 4)), RuntimeError, "invalid subscript given at index 5 in the equation string"),
    (("...i...,i", (3, 4), (4,)), RuntimeError, "einsum\\(\\): found '.' for operand 0 for which an ellipsis was "
                                                "already found"),
    (("i..,i", (3, 4), (3,)), RuntimeError, "einsum\\(\\): found '.' for operand 0 that is not part of any ellipsis"),
    (("...ij,...jk", (2, 3, 4), (3, 4, 5)), RuntimeError, "einsum\\(\\): dimension 0 covered by ellipsis in operand "
                                                          "1has size 3 which does not broadcast with previously seen "
                                                          "ellipsis with size 2"),
])
def test_einsum_errors_match_torch(args, exc, msg, torch):
    eq, *shapes = args
    with pytest.raises(exc, match="einsum: .*" + msg + ".*" + HERE):
        tl.einsum(eq, *(tl.ones(*s) for s in shapes))
    with pytest.raises(exc, match=msg):
        torch.einsum(eq, *(torch.ones(*s) for s in shapes))


def test_einsum_dtype_and_argument_errors():
    with pytest.raises(RuntimeError, match="einsum: expected scalar type Float but found Double.*" + HERE):
        tl.einsum("ij,jk->ik", tl.ones(3, 4), tl.ones(4, 5, dtype=tl.float64))
    with pytest.raises(NotImplementedError, match="\"bmm\" not implemented for 'Bool'.*" + HERE):
        tl.einsum("ij,jk->ik", tl.ones(3, 4, dtype=tl.bool), tl.ones(4, 5, dtype=tl.bool))
    with pytest.raises(ValueError, match="must specify the equation string and at least one operand.*" + HERE):
        tl.einsum("ij,jk->ik")


# --- addmm, baddbmm, tensordot ----------------------------------------------------------------------------

def test_addmm_and_baddbmm_match_torch(torch):
    inp, m1, m2 = sample((3,), "float64", 90), sample((2, 4), "float64", 91), sample((4, 3), "float64", 92)
    for kw in ({}, {"beta": 0.5, "alpha": 2.0}, {"beta": 0.0}):
        assert_close(tl.addmm(inp, m1, m2, **kw), torch.addmm(to_torch(inp), to_torch(m1), to_torch(m2), **kw))
        assert_close(inp.addmm(m1, m2, **kw), torch.addmm(to_torch(inp), to_torch(m1), to_torch(m2), **kw))
    nan_in = tl.full((2, 3), float("nan"), dtype=tl.float64)
    assert not np.isnan(tl.addmm(nan_in, m1, m2, beta=0).numpy()).any()   # beta=0 ignores input, NaN included
    b1, b2, bi = sample((2, 2, 4), "float32", 93), sample((2, 4, 3), "float32", 94), sample((2, 1, 3), "float32", 95)
    assert_close(tl.baddbmm(bi, b1, b2, beta=0.5, alpha=2),
                 torch.baddbmm(to_torch(bi), to_torch(b1), to_torch(b2), beta=0.5, alpha=2), rtol=1e-5, atol=1e-5)
    x = tl.zeros(2, 3, dtype=tl.float64)
    x.addmm_(m1, m2)
    assert_close(x, torch.mm(to_torch(m1), to_torch(m2)))
    with pytest.raises(RuntimeError, match=r"The expanded size of the tensor \(3\) must match the existing size "
                       r"\(4\).*" + HERE):
        tl.addmm(tl.ones(4, dtype=tl.float64), m1, m2)


@pytest.mark.parametrize("sa, sb, dims", [((2, 3, 4), (3, 4, 5), 2), ((2, 3, 4), (4, 3, 5), ([1, 2], [1, 0])),
                                          ((2, 3), (4,), 0), ((2, 3), (3,), 1), ((3, 4), (4, 3), ([0, 1], [1, 0])),
                                          ((2, 3, 4), (4, 5), ([-1], [0]))])
def test_tensordot_matches_torch(sa, sb, dims, torch):
    a, b = sample(sa, "float64", 96), sample(sb, "float64", 97)
    assert_close(tl.tensordot(a, b, dims=dims), torch.tensordot(to_torch(a), to_torch(b), dims=dims))


@pytest.mark.parametrize("sa, sb, dims, msg", [
    ((2, 3, 4), (3, 5, 5), 2, r"contracted dimensions need to match, but first has size 4 in dim 2 and second has "
                              r"size 5 in dim 1"),
    ((2, 3), (3,), -1, "tensordot expects dims >= 0, but got dims=-1"),
    ((2, 3), (3,), ([1], [0, 0]), "both dimension lists should have same length"),
])
def test_tensordot_errors(sa, sb, dims, msg):
    with pytest.raises(RuntimeError, match="tensordot: " + msg + ".*" + HERE):
        tl.tensordot(tl.ones(*sa), tl.ones(*sb), dims=dims)
    with pytest.raises(RuntimeError, match="both inputs should have same dtype.*" + HERE):
        tl.tensordot(tl.ones(2, 3), tl.ones(3, dtype=tl.float64), dims=1)
