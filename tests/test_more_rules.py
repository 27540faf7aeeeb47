"""Ops moved off the extern list: ``diag_embed1d`` and ``diagonal_scatter`` (index rules in
``compiler/index_rules.py``) and ``einsum`` (a decomposition in ``compiler/decompose.py``).

Values run on ``interpret`` (generated Triton kernels in Triton's interpreter) against numpy in float64;
``explain`` (nothing runs) checks that no extern call is left and, where fusion is the point, the kernel count.
"""
from __future__ import annotations

import numpy as np
import pytest

import torchlite as tl
import torchlite.nn.functional as F
from conftest import to_numpy
from torchlite.compiler import explain

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

RNG = np.random.default_rng(11)


def _arr(*shape, dtype=np.float32):
    if np.dtype(dtype).kind in "iu":
        return RNG.integers(-5, 6, shape).astype(dtype)
    if np.dtype(dtype).kind == "b":
        return RNG.random(shape) < 0.5
    return RNG.standard_normal(shape).astype(dtype)


def _noncontig(a: np.ndarray, device: str):
    """``a`` as a strided view (every other element of the last dim of a twice-as-wide tensor)."""
    wide = np.zeros(a.shape[:-1] + (2 * a.shape[-1],), a.dtype) if a.ndim else a
    if a.ndim:
        wide[..., ::2] = a
        return tl.tensor(wide, device=device)[..., ::2]
    return tl.tensor(a, device=device)


def _run(fn, arrays, *, layout="contiguous"):
    """(values on interpret, explain report on cpu)."""
    make = (lambda a, d: tl.tensor(a, device=d)) if layout == "contiguous" else _noncontig
    report = explain(fn, *[make(a, "cpu") for a in arrays])
    got = fn(*[make(a, "interpret") for a in arrays])
    assert got.device.type == "interpret"
    return to_numpy(got), report


def _check(fn, arrays, want, *, layout="contiguous", kernels=None, rtol=1e-5, atol=1e-5):
    got, report = _run(fn, arrays, layout=layout)
    assert not report.externs, f"extern calls left: {report.externs}"
    assert report.kernels, "compiled to nothing"
    if kernels is not None:
        assert len(report.kernels) <= kernels, [k.name for k in report.kernels]
    want = np.asarray(want)
    assert got.shape == want.shape
    if want.dtype.kind == "f":
        np.testing.assert_allclose(got.astype(np.float64), want.astype(np.float64), rtol=rtol, atol=atol)
    else:
        np.testing.assert_array_equal(got, want)
    return report


# -- diag_embed1d ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("n", [1, 5, 17])
@pytest.mark.parametrize("k", [0, 1, 3, -1, -4])
@pytest.mark.parametrize("layout", ["contiguous", "noncontig"])
def test_diag_embed1d(n, k, layout):
    x = _arr(n)
    _check(lambda x: tl.diag(x, k), [x], np.diag(x.astype(np.float64), k), layout=layout)


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.bool_])
def test_diag_embed1d_dtypes(dtype):
    x = _arr(6, dtype=dtype)
    _check(lambda x: tl.diag(x, -2), [x], np.diag(x, -2))


def test_diag_embed1d_fuses_with_producer_and_consumer():
    x = _arr(33)
    report = _check(lambda x: (tl.diag(x.exp(), 2) + 1.0).relu(), [x],
                    np.maximum(np.diag(np.exp(x.astype(np.float64)), 2) + 1.0, 0), kernels=1)
    assert "diag_embed1d" in report.kernels[0].source


def test_diag_embed1d_of_a_transposed_diagonal():
    """diag(diagonal(a.T)): the input is itself an index map (a strided diagonal of a transpose)."""
    a = _arr(5, 4)
    want = np.diag(np.diagonal(a.T.astype(np.float64), -1), 1)
    _check(lambda a: tl.diag(a.t().diagonal(-1), 1), [a], want, kernels=1)


# -- diagonal_scatter ----------------------------------------------------------------------------------------------
def _np_diag_scatter(x, v, offset, d1, d2):
    out = x.astype(np.float64).copy() if x.dtype.kind == "f" else x.copy()
    moved = np.moveaxis(out, (d1, d2), (-2, -1))
    n, m = moved.shape[-2:]
    k = max(0, min(n, m - offset) if offset >= 0 else min(n + offset, m))
    r = np.arange(k)
    rows, cols = (r, r + offset) if offset >= 0 else (r - offset, r)
    moved[..., rows, cols] = v
    return out


@pytest.mark.parametrize("shape,offset,d1,d2", [
    ((3, 4), 0, 0, 1), ((3, 4), 2, 0, 1), ((3, 4), -2, 0, 1), ((4, 3), 1, 1, 0), ((5, 5), -4, 0, 1),
    ((2, 3, 4), 1, 0, 2), ((2, 3, 4), -1, 2, 0), ((3, 2, 5), 0, 1, -1), ((2, 3, 4, 5), 2, -1, 1), ((1, 7), 3, 0, 1),
])
@pytest.mark.parametrize("layout", ["contiguous", "noncontig"])
def test_diagonal_scatter(shape, offset, d1, d2, layout):
    x = _arr(*shape)
    vshape = np.diagonal(x, offset, d1, d2).shape
    v = _arr(*vshape)
    want = _np_diag_scatter(x, v.astype(np.float64), offset, d1 % len(shape), d2 % len(shape))
    _check(lambda x, v: tl.diagonal_scatter(x, v, offset, d1, d2), [x, v], want, layout=layout)


@pytest.mark.parametrize("dtype", [np.int64, np.bool_])
def test_diagonal_scatter_dtypes(dtype):
    x, v = _arr(4, 3, dtype=dtype), _arr(2, dtype=dtype)
    _check(lambda x, v: tl.diagonal_scatter(x, v, 1), [x, v], _np_diag_scatter(x, v, 1, 0, 1))


def test_diagonal_scatter_fuses_value_and_consumer():
    x, v = _arr(6, 7), _arr(6)
    want = _np_diag_scatter(x, 2 * v.astype(np.float64), 0, 0, 1).sum(-1)
    _check(lambda x, v: tl.diagonal_scatter(x, v * 2, 0).sum(-1), [x, v], want, kernels=1)


def test_diagonal_write_through_view():
    """``x.diagonal().fill_`` on a view: the write reaches the input as a diagonal_scatter."""
    x = _arr(5, 3)

    def fn(x):
        y = x * 1.0
        y.diagonal(-1).mul_(3.0)
        return y
    want = x.astype(np.float64).copy()
    want[[1, 2, 3], [0, 1, 2]] *= 3
    _check(fn, [x], want)


# -- einsum ------------------------------------------------------------------------------------------------------
EQUATIONS = [
    ("ij,jk->ik", (3, 4), (4, 5)),
    ("ij,jk->ki", (3, 4), (4, 5)),
    ("bij,bjk->bik", (2, 3, 4), (2, 4, 5)),
    ("bij,bkj->bki", (2, 3, 4), (2, 5, 4)),
    ("bhqd,bhkd->bhqk", (2, 3, 4, 5), (2, 3, 6, 5)),
    ("...ij,...jk->...ik", (2, 3, 4), (4, 2)),
    ("bij,jk->bik", (1, 3, 4), (4, 2)),
    ("ijk,jl->lik", (2, 3, 4), (3, 5)),
    ("abc,cd->ad", (2, 3, 4), (4, 5)),
    ("ij,jk->", (3, 4), (4, 5)),
    ("ij,j->i", (3, 4), (4,)),
    ("ij,j->ij", (3, 4), (1,)),
    ("i,i->", (17,), (17,)),
    ("bi,bi->b", (5, 3), (5, 3)),
    ("i,j->ij", (3,), (4,)),
    ("ij,kl->ijkl", (2, 3), (4, 1)),
    ("ij,ij->ij", (3, 4), (3, 4)),
    ("ij,jk,kl->il", (2, 3), (3, 4), (4, 5)),
    ("ii->", (4, 4)),
    ("ii->i", (4, 4)),
    ("iij->ji", (3, 3, 2)),
    ("ii,i->i", (3, 3), (3,)),
    ("ij->ji", (3, 4)),
    ("ij->ij", (3, 4)),
    ("ijk->", (2, 3, 4)),
    ("i...->...", (3, 2, 4)),
    ("b...i,b...i->b...", (2, 3, 4), (2, 3, 4)),
    ("ij,jk", (3, 4), (4, 5)),                            # implicit output
]


@pytest.mark.parametrize("eq,shapes", [pytest.param(e, s, id=e) for e, *s in EQUATIONS])
@pytest.mark.parametrize("layout", ["contiguous", "noncontig"])
def test_einsum_float(eq, shapes, layout):
    arrays = [_arr(*s) for s in shapes]
    want = np.einsum(eq, *[a.astype(np.float64) for a in arrays])
    _check(lambda *a: tl.einsum(eq, *a), arrays, want, layout=layout, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("eq,shapes", [pytest.param(e, s, id=e) for e, *s in EQUATIONS[:18]])
def test_einsum_float64(eq, shapes):
    arrays = [_arr(*s, dtype=np.float64) for s in shapes]
    _check(lambda *a: tl.einsum(eq, *a), arrays, np.einsum(eq, *arrays), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("eq,shapes", [("ij,kj->ik", ((3, 4), (2, 4))), ("bij,bjk->bik", ((2, 3, 4), (2, 4, 5))),
                                       ("i,j->ij", ((3,), (4,))), ("ii->", ((4, 4),)), ("ijk->j", ((2, 3, 4),))])
@pytest.mark.parametrize("dtype", [np.int64, np.int32])
def test_einsum_int(eq, shapes, dtype):
    """Integers: no matmul template (float only), so a fused multiply + sum; single-operand sums give int64."""
    arrays = [_arr(*s, dtype=dtype) for s in shapes]
    got, report = _run(lambda *a: tl.einsum(eq, *a), arrays)
    want = tl.einsum(eq, *[tl.tensor(a) for a in arrays])            # the registry kernel: dtype rules
    assert not report.externs
    assert got.dtype == to_numpy(want).dtype
    np.testing.assert_array_equal(got, np.einsum(eq, *[a.astype(np.int64) for a in arrays]).astype(got.dtype))


def test_einsum_bool_outer():
    a, b = _arr(3, dtype=np.bool_), _arr(4, dtype=np.bool_)
    _check(lambda a, b: tl.einsum("i,j->ij", a, b), [a, b], np.einsum("i,j->ij", a, b))


def test_einsum_matmul_relu_is_one_kernel():
    a, b = _arr(16, 8), _arr(8, 12)
    report = _check(lambda a, b: tl.einsum("ij,jk->ik", a, b).relu(), [a, b],
                    np.maximum(a.astype(np.float64) @ b, 0), kernels=1)
    assert report.kernels[0].name.startswith("mm_")


def test_einsum_attention_scores_read_transposed_key_without_copy():
    q, k = _arr(2, 3, 4, 8), _arr(2, 3, 5, 8)
    want = np.einsum("bhqd,bhkd->bhqk", q.astype(np.float64), k) * 0.5
    report = _check(lambda q, k: tl.einsum("bhqd,bhkd->bhqk", q, k) * 0.5, [q, k], want, kernels=1)
    assert report.kernels[0].name.startswith("mm_")


def test_einsum_output_transpose_needs_no_copy():
    """``ij,jk->ki`` swaps the operands (``y^T x^T``) rather than transposing the product."""
    a, b = _arr(3, 4), _arr(4, 5)
    _check(lambda a, b: tl.einsum("ij,jk->ki", a, b), [a, b], (a.astype(np.float64) @ b).T, kernels=1)


def test_einsum_trace_and_outer_fuse():
    a = _arr(6, 6)
    _check(lambda a: tl.einsum("ii->", a) * 2.0, [a], 2 * np.trace(a.astype(np.float64)), kernels=1)
    x, y = _arr(5), _arr(7)
    _check(lambda x, y: tl.einsum("i,j->ij", x, y).tanh(), [x, y], np.tanh(np.outer(x.astype(np.float64), y)),
           kernels=1)


def test_einsum_result_is_not_a_view_of_its_input():
    a = _arr(3, 4)
    x = tl.tensor(a, device="interpret")
    y = tl.einsum("ij->ij", x)
    x.add_(1.0)
    np.testing.assert_array_equal(to_numpy(y), a)


def test_einsum_empty():
    a, b = _arr(0, 4), _arr(4, 5)
    got, _ = _run(lambda a, b: tl.einsum("ij,jk->ik", a, b), [a, b])
    assert got.shape == (0, 5)
    got, _ = _run(lambda a, b: tl.einsum("ij,jk->ik", a, b), [_arr(3, 0), _arr(0, 2)])
    np.testing.assert_array_equal(got, np.zeros((3, 2), np.float32))


def test_einsum_half_rounds_once():
    a, b = _arr(4, 8, dtype=np.float16), _arr(8, 3, dtype=np.float16)
    got, report = _run(lambda a, b: tl.einsum("ij,jk->ik", a, b), [a, b])
    assert not report.externs and got.dtype == np.float16
    want = (a.astype(np.float32) @ b.astype(np.float32)).astype(np.float16)
    np.testing.assert_allclose(got.astype(np.float64), want.astype(np.float64), rtol=2 * 2.0 ** -10, atol=1e-5)


def test_embedding_lookup_and_gather_gradient_are_generated_kernels():
    """Advanced indexing (an embedding's row lookup) is an index rule; gather's gradient (a scatter of one
    source per row, as cross_entropy's backward has) is computed where it is read; the lookup's gradient
    (index_put with accumulation) is a reduction over the tokens: no extern calls, so no host round trip on a
    GPU. Values on interpret against cpu."""
    from torchlite.compiler import explain
    rng = np.random.default_rng(2)
    table = rng.standard_normal((11, 6)).astype(np.float32)
    ids = rng.integers(-11, 11, (4, 5))
    target = rng.integers(0, 6, (20,))

    def step(dev):
        w = tl.tensor(table, device=dev, requires_grad=True)
        logits = w[tl.tensor(ids, device=dev)].reshape(20, 6)
        loss = F.cross_entropy(logits, tl.tensor(target, device=dev))
        (g,) = tl.autograd.grad(loss, [w])
        return loss, g
    cpu = [t.numpy() for t in step("cpu")]
    r = explain(lambda: step("cpu"))
    assert r.externs == [], r.externs
    got = [t.numpy() for t in step("interpret")]
    for g, w in zip(got, cpu):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)
