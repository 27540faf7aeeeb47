"""VJP rules of the reduction and linalg families (torchlite/ops/reduction.py and torchlite/ops/linalg.py).

Every rule is checked twice: ``tl.autograd.gradcheck`` (central differences on small float64 inputs) for every
dim / tuple-dim / negative-dim / keepdim variant, and ``.grad`` against torch's autograd on the same values
(float64 rtol 1e-10, float32 rtol 1e-5), including PyTorch's conventions where the derivative is a choice:
ties (amax/amin), zeros (prod, cumprod, norm, std), degenerate degrees of freedom (var/std).
"""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import torchlite as tl
from torchlite.ops.linalg import linear

INF, NAN = math.inf, math.nan
RTOL = {"float64": (1e-10, 1e-12), "float32": (1e-5, 1e-6)}


@pytest.fixture(scope="module")
def torch():
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    return torch


# --- helpers ----------------------------------------------------------------------------------------------

def rand(shape, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape)


def leaf(a, dtype: str = "float64") -> tl.Tensor:
    return tl.tensor(np.asarray(a), dtype=getattr(tl, dtype), requires_grad=True)


def gradcheck(fn, *arrays) -> None:
    assert tl.autograd.gradcheck(fn, tuple(leaf(a) for a in arrays))


def grads_vs_torch(torch, fn, *arrays, tfn=None, dtype: str = "float64", seed: int = 1, layout=None):
    """Run ``fn`` on torchlite leaves and ``tfn`` (default ``fn``) on torch leaves holding the same values,
    backward the same random output gradient, and compare every input's ``.grad`` (None must match None).
    ``layout(t)`` makes a non-contiguous view of each leaf before ``fn`` sees it."""
    tfn = tfn or fn
    layout = layout or (lambda t: t)
    xs = [leaf(a, dtype) for a in arrays]
    ts = [torch.tensor(np.asarray(a), dtype=getattr(torch, dtype), requires_grad=True) for a in arrays]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")             # degrees-of-freedom warnings of the degenerate var cases
        y = fn(*[layout(x) for x in xs])
        yt = tfn(*[layout(t) for t in ts])
    assert tuple(y.shape) == tuple(yt.shape)
    go = np.random.default_rng(seed).standard_normal(tuple(yt.shape))
    y.backward(tl.tensor(go, dtype=y.dtype))
    yt.backward(torch.tensor(go, dtype=yt.dtype))
    rtol, atol = RTOL[dtype]
    for x, t in zip(xs, ts):
        assert (x.grad is None) == (t.grad is None), (x.grad, t.grad)
        if x.grad is not None:
            assert x.grad.dtype is x.dtype and tuple(x.grad.shape) == tuple(t.grad.shape)
            np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=rtol, atol=atol, equal_nan=True)
    return [None if x.grad is None else x.grad.numpy() for x in xs]


def transposed(t):
    return t.transpose(0, -1)


def lib(t):
    """The library ``t`` belongs to (for dtype arguments in functions run on both)."""
    return tl if isinstance(t, tl.Tensor) else __import__("torch")


# --- sum / mean / amax / amin / logsumexp / var / std over every dim variant -----------------------------

DIMS = [None, 0, -1, 1, (0, 2), (-1, 0), (0, 1, 2), ()]
KEEPDIM = [False, True]
REDUCTIONS = ["sum", "mean", "amax", "amin", "logsumexp", "var", "std"]


def reduce_fn(name, dim, keepdim):
    def f(x):
        if dim is None:
            return getattr(x, name)(keepdim=keepdim) if name in ("amax", "amin") else getattr(x, name)()
        return getattr(x, name)(dim, keepdim=keepdim)
    return f


def _cases():
    for name in REDUCTIONS:
        for dim in DIMS:
            if name == "logsumexp" and dim in (None, ()):
                continue                              # logsumexp needs a dim (torch's fails with dim=())
            for keepdim in KEEPDIM if dim is not None or name in ("amax", "amin") else [False]:
                yield name, dim, keepdim


CASES = list(_cases())
CASE_IDS = [f"{name}-dim={dim}-keepdim={keepdim}" for name, dim, keepdim in CASES]


@pytest.mark.parametrize("name,dim,keepdim", CASES, ids=CASE_IDS)
def test_reduction_gradcheck(name, dim, keepdim):
    gradcheck(reduce_fn(name, dim, keepdim), rand((2, 3, 4)))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name,dim,keepdim", CASES, ids=CASE_IDS)
def test_reduction_grad_matches_torch(torch, name, dim, keepdim, dtype):
    if name in ("var", "std") and dim == ():
        # torch's var_backward takes N = 1 for dim=() (a gradient of +-inf) although the forward reduces every
        # dim; gradcheck above checks ours. Compare with torch's explicit dim=(0, 1, 2) instead.
        grads_vs_torch(torch, reduce_fn(name, dim, keepdim), rand((2, 3, 4)), dtype=dtype,
                       tfn=reduce_fn(name, (0, 1, 2), keepdim))
    else:
        grads_vs_torch(torch, reduce_fn(name, dim, keepdim), rand((2, 3, 4)), dtype=dtype)


@pytest.mark.parametrize("name", REDUCTIONS + ["prod", "norm"])
def test_reduction_grad_of_a_transposed_input_matches_torch(torch, name):
    fn = {"prod": lambda x: x.prod(1), "norm": lambda x: x.norm(dim=(0, 1))}.get(name) or reduce_fn(name, (0, 1), False)
    grads_vs_torch(torch, fn, rand((4, 3, 2)), layout=transposed)


@pytest.mark.parametrize("name", ["sum", "mean", "prod", "amax", "amin", "var", "std", "norm", "logsumexp"])
def test_reduction_grad_of_a_0d_input_matches_torch(torch, name):
    fn = (lambda x: x.logsumexp(0)) if name == "logsumexp" else (lambda x: getattr(x, name)())
    grads_vs_torch(torch, fn, np.array(1.5))
    if name not in ("var", "std"):                  # (a 0-d variance has no degrees of freedom: nan)
        gradcheck(lambda x: getattr(x, name)(0) if name != "norm" else x.norm(dim=0), np.array(-0.75))


@pytest.mark.parametrize("name,dim", [("sum", 0), ("sum", 1), ("mean", 1), ("prod", 0), ("prod", 1),
                                      ("logsumexp", 1), ("var", 1)])
def test_reduction_grad_of_a_zero_size_input_matches_torch(torch, name, dim):
    g = grads_vs_torch(torch, lambda x: getattr(x, name)(dim), np.zeros((0, 3)))
    assert g[0].shape == (0, 3)


def test_sum_with_dtype_sends_the_gradient_back_in_the_input_dtype(torch):
    grads_vs_torch(torch, lambda x: x.sum(1, dtype=lib(x).float64) * x.sum(0, dtype=lib(x).float64)[:2],
                   rand((2, 3)), dtype="float32")
    x = leaf(rand((2, 3)), "float32")
    x.sum(1, dtype=tl.float64).sum().backward()
    assert x.grad.dtype is tl.float32 and x.grad.tolist() == [[1.0] * 3] * 2


# --- prod (zeros) -------------------------------------------------------------------------------------------

PROD_INPUTS = {
    "no_zero": rand((3, 4)),
    "one_zero": np.array([[2.0, 0.0, 3.0, -1.5], [1.0, 2.0, -3.0, 4.0], [0.5, 2.0, 1.5, 3.0]]),
    "zeros_in_two_rows": np.array([[2.0, 0.0, 3.0, -1.5], [1.0, 2.0, 0.0, 4.0], [0.5, 2.0, 1.5, 3.0]]),
    "two_zeros_in_a_row": np.array([[2.0, 0.0, 0.0, -1.5], [1.0, 2.0, -3.0, 4.0], [0.5, 0.0, 1.5, 3.0]]),
}


@pytest.mark.parametrize("dim,keepdim", [(None, False), (0, False), (1, False), (-1, True), (0, True)])
@pytest.mark.parametrize("values", list(PROD_INPUTS))
def test_prod_grad_matches_torch_with_zeros(torch, values, dim, keepdim):
    fn = (lambda x: x.prod()) if dim is None else (lambda x: x.prod(dim, keepdim=keepdim))
    grads_vs_torch(torch, fn, PROD_INPUTS[values])
    gradcheck(fn, PROD_INPUTS[values])             # prod is linear in each element: exact even at zeros


def test_prod_grad_at_a_single_zero_is_the_product_of_the_others_and_0_with_two_zeros():
    x = leaf([2.0, 0.0, 3.0])
    x.prod().backward()
    assert x.grad.tolist() == [0.0, 6.0, 0.0]
    y = leaf([2.0, 0.0, 0.0])
    y.prod().backward()
    assert y.grad.tolist() == [0.0, 0.0, 0.0]


def test_prod_grad_of_an_infinite_input_follows_torch(torch):
    grads_vs_torch(torch, lambda x: x.prod(), np.array([INF, 2.0, 3.0]))


def test_prod_grad_over_several_dims_is_the_product_of_the_others():
    a = np.array([[[2.0, 0.0], [3.0, 1.5]], [[1.0, 2.0], [0.5, -2.0]]])
    x = leaf(a)
    tl.ops.prod(x, dims=(0, 2), keepdim=False, dtype_=None).sum().backward()         # op-level: a tuple of dims
    expect = np.zeros_like(a)
    for j in range(2):
        s = a[:, j, :].reshape(-1)                  # the slice reduced into output j, in (dim 0, dim 2) order
        for i in range(4):
            expect[i // 2, j, i % 2] = np.prod(np.delete(s, i))
    np.testing.assert_allclose(x.grad.numpy(), expect, rtol=1e-12)


# --- amax / amin / max / min (ties, NaN) ----------------------------------------------------------------------

TIES = np.array([[[3.0, 1.0, 3.0], [2.0, 2.0, 2.0]], [[0.0, 5.0, 5.0], [1.0, -1.0, 0.0]]])


@pytest.mark.parametrize("dim", [(), 0, 1, -1, (0, 2), (1, 2)])
@pytest.mark.parametrize("name", ["amax", "amin"])
def test_amax_amin_split_the_gradient_evenly_between_ties_as_torch(torch, name, dim):
    for keepdim in KEEPDIM:
        g = grads_vs_torch(torch, lambda x: getattr(x, name)(dim, keepdim=keepdim), TIES)
        assert np.isfinite(g[0]).all()


@pytest.mark.parametrize("name", ["max", "min"])
def test_max_min_of_all_elements_split_ties_as_torch(torch, name):
    values = TIES if name == "max" else -TIES       # the extreme is tied twice
    grads_vs_torch(torch, lambda x: getattr(x, name)(), values)
    x = leaf(values)
    getattr(x, name)().backward()
    assert x.grad.numpy().sum() == 1.0 and sorted(set(x.grad.numpy().reshape(-1).tolist())) == [0.0, 0.5]


@pytest.mark.parametrize("name", ["max", "min"])
def test_max_min_along_a_dim_without_ties_match_torch(torch, name):
    for dim, keepdim in [(0, False), (1, True), (-1, False)]:
        grads_vs_torch(torch, lambda x: getattr(x, name)(dim, keepdim=keepdim).values, rand((2, 3, 4)))
        gradcheck(lambda x: getattr(x, name)(dim, keepdim=keepdim).values, rand((2, 3, 4)))


def test_amax_with_nan_gives_nan_gradients_as_torch(torch):
    g = grads_vs_torch(torch, lambda x: x.amax(1), np.array([[1.0, NAN, 3.0], [1.0, 2.0, 0.0]]))
    assert np.isnan(g[0][0]).all() and np.isfinite(g[0][1]).all()


def test_max_along_a_dim_sends_the_gradient_to_the_returned_index_at_ties(torch):
    grads_vs_torch(torch, lambda x: x.max(2).values, TIES)


@pytest.mark.xfail(strict=True, reason="known divergence: max(x) over all elements is an amax node, so a NaN "
                   "result gives NaN gradients everywhere (torch.amax's rule); PyTorch's max() sends them to the NaN "
                   "elements only. Matching both needs separate max/amax nodes; rare in practice")
def test_max_of_all_elements_with_nan_sends_the_gradient_to_the_nans(torch):
    grads_vs_torch(torch, lambda x: x.max(), np.array([1.0, NAN, 3.0, NAN]))


# --- var / std (corrections, zero spread, degenerate degrees of freedom) -------------------------------------

@pytest.mark.parametrize("correction", [0, 1, 2, 0.5])
@pytest.mark.parametrize("name", ["var", "std"])
def test_var_std_grad_with_correction(torch, name, correction):
    for dim in [None, 1, (0, 2)]:
        fn = lambda x: getattr(x, name)(dim, correction=correction)      # noqa: E731
        grads_vs_torch(torch, fn, rand((2, 3, 4)))
        gradcheck(fn, rand((2, 3, 4)))
    grads_vs_torch(torch, lambda x: getattr(x, name)(1, unbiased=False, keepdim=True), rand((2, 3)))


def test_std_of_constant_values_has_zero_gradient_as_torch(torch):
    g = grads_vs_torch(torch, lambda x: x.std(1), np.array([[2.0, 2.0, 2.0], [1.0, 2.0, 4.0]]))
    assert (g[0][0] == 0).all()


@pytest.mark.parametrize("name,values,kwargs", [
    ("var", [2.0], {}), ("std", [2.0], {}),                                  # N == correction: nan
    ("var", [2.0, 3.0], {"correction": 2}), ("var", [2.0, 2.0], {"correction": 2}),     # inf / nan
    ("var", [2.0, 3.0], {"correction": 3}), ("std", [2.0, 3.0], {"correction": 2}),
    ("var", [[2.0, 3.0], [1.0, 1.0]], {"correction": 4}),
])
def test_var_std_grad_with_no_degrees_of_freedom_matches_torch(torch, name, values, kwargs):
    grads_vs_torch(torch, lambda x: getattr(x, name)(**kwargs), np.array(values))


def test_var_grad_over_some_dims_with_negative_degrees_of_freedom_matches_torch(torch):
    grads_vs_torch(torch, lambda x: x.var(0, correction=3), np.array([[2.0, 3.0], [1.0, 1.0]]))
    grads_vs_torch(torch, lambda x: x.var(0, correction=2), np.array([[2.0, 3.0], [1.0, 1.0]]))


# --- norm ----------------------------------------------------------------------------------------------------

NORM_PS = [2, 1, 3, 1.5, 0.5, -1, -0.5, INF, -INF, 0]


@pytest.mark.parametrize("p", NORM_PS)
def test_norm_grad_matches_torch_incl_zeros(torch, p):
    x = np.array([[0.0, 0.0, 0.0], [0.0, 2.0, -2.0], [1.0, -2.0, 0.5]])
    for dim, keepdim in [(None, False), (1, False), (0, True), ((0, 1), False), (-1, True)]:
        grads_vs_torch(torch, lambda t: t.norm(p, dim, keepdim), x,
                       tfn=lambda t: torch.linalg.vector_norm(t, p, dim, keepdim))
    grads_vs_torch(torch, lambda t: t.norm(p, 1), rand((3, 4)), dtype="float32",
                   tfn=lambda t: torch.linalg.vector_norm(t, p, 1))


@pytest.mark.parametrize("p", NORM_PS)
def test_norm_gradcheck(p):
    for dim in [None, 1, (0, 2), -1]:
        gradcheck(lambda t: t.norm(p, dim), rand((2, 3, 4)))


def test_norm_grad_at_zero_is_zero_and_p0_has_no_gradient(torch):
    x = leaf([0.0, 0.0])
    x.norm().backward()
    assert x.grad.tolist() == [0.0, 0.0]
    y = leaf([1.0, 2.0])
    y.norm(0).backward()
    assert y.grad is None                         # PyTorch: the count of nonzeros has no gradient
    grads_vs_torch(torch, lambda t: t.norm(), np.zeros(3))
    grads_vs_torch(torch, lambda t: t.norm(INF), np.array([1.0, NAN, 2.0]),
                   tfn=lambda t: torch.linalg.vector_norm(t, INF))


def test_norm_inf_splits_the_gradient_between_ties_with_their_sign(torch):
    g = grads_vs_torch(torch, lambda t: t.norm(INF), np.array([1.0, -2.0, 2.0]),
                       tfn=lambda t: torch.linalg.vector_norm(t, INF))
    assert g[0][0] == 0 and g[0][1] == -g[0][2]


# --- cumsum / cumprod ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("name", ["cumsum", "cumprod"])
def test_cumulative_grad(torch, name, dim):
    gradcheck(lambda x: getattr(x, name)(dim), rand((2, 3, 4)))
    for dtype in ("float64", "float32"):
        grads_vs_torch(torch, lambda x: getattr(x, name)(dim), rand((2, 3, 4)), dtype=dtype)
    grads_vs_torch(torch, lambda x: getattr(x, name)(dim), rand((4, 3, 2)), layout=transposed)


@pytest.mark.parametrize("name", ["cumsum", "cumprod"])
def test_cumulative_grad_of_0d_zero_size_and_size_1_inputs_matches_torch(torch, name):
    grads_vs_torch(torch, lambda x: getattr(x, name)(0), np.array(1.5))
    grads_vs_torch(torch, lambda x: getattr(x, name)(0), np.zeros((0, 3)))
    grads_vs_torch(torch, lambda x: getattr(x, name)(1), rand((3, 1)))


def test_cumprod_grad_matches_torch_with_zeros(torch):
    x = np.array([[2.0, 0.0, 3.0, 0.0, 5.0], [0.0, 0.0, 2.0, 1.0, 3.0], [1.5, 2.0, -1.0, 0.0, 3.0],
                  [1.0, 2.0, 3.0, 4.0, 5.0], [0.0, 2.0, 3.0, 4.0, 5.0]])
    for dim in (0, 1):
        grads_vs_torch(torch, lambda t: t.cumprod(dim), x)
        gradcheck(lambda t: t.cumprod(dim), x)   # cumprod is linear in each element: exact at zeros


def test_cumprod_grad_at_the_first_zero_is_the_sum_of_products_that_skip_it():
    x = leaf([2.0, 0.0, 3.0, 0.0, 5.0])
    x.cumprod(0).sum().backward()
    assert x.grad.tolist() == [1.0, 2.0 + 2.0 * 3.0, 0.0, 0.0, 0.0]


def test_cumprod_grad_under_create_graph_uses_the_quadratic_formula_and_matches_torch(torch):
    """With grad mode on in the rule (create_graph), cumprod's VJP is the O(n^2) one: same values."""
    x = np.array([[2.0, 0.0, 3.0, 0.0, 5.0], [0.0, 2.0, -1.0, 1.5, 3.0], [1.5, 2.0, -1.0, 0.5, 3.0]])
    go = rand((3, 5), 7)
    for dim in (0, 1, -1):
        t = torch.tensor(x, requires_grad=True)
        (expect,) = torch.autograd.grad(t.cumprod(dim), t, torch.tensor(go))
        xt = leaf(x)
        (got,) = tl.autograd.grad(xt.cumprod(dim), [xt], [tl.tensor(go, dtype=tl.float64)], create_graph=True)
        np.testing.assert_allclose(got.numpy(), expect.numpy(), rtol=1e-10, atol=1e-12)


def test_cumulative_grad_with_dtype_comes_back_in_the_input_dtype(torch):
    for name in ("cumsum", "cumprod"):
        grads_vs_torch(torch, lambda x: getattr(x, name)(1, dtype=lib(x).float64), rand((2, 3)) + 2.0,
                       dtype="float32")


# --- softmax / log_softmax / logsumexp -----------------------------------------------------------------------

@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_grad(torch, name, dim):
    gradcheck(lambda x: getattr(x, name)(dim), rand((2, 3, 4)))
    for dtype in ("float64", "float32"):
        grads_vs_torch(torch, lambda x: getattr(x, name)(dim), rand((2, 3, 4)), dtype=dtype)
    grads_vs_torch(torch, lambda x: getattr(x, name)(dim), rand((4, 3, 2)), layout=transposed)
    grads_vs_torch(torch, lambda x: getattr(x, name)(0), np.array(0.5))
    grads_vs_torch(torch, lambda x: getattr(x, name)(1), np.zeros((0, 3)))


def test_logsumexp_grad_of_large_and_all_minus_inf_values_matches_torch(torch):
    grads_vs_torch(torch, lambda x: x.logsumexp(1), np.array([[1000.0, 1000.0, 999.0], [-INF, -INF, -INF]]))


# --- matmul ---------------------------------------------------------------------------------------------------

MATMUL_SHAPES = [
    ((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)), ((2, 3), (3, 4)), ((2, 2, 3), (3, 4)), ((3,), (2, 3, 4)),
    ((2, 2, 3), (3,)), ((2, 2, 3), (2, 3, 4)), ((2, 3), (2, 3, 4)), ((2, 1, 2, 3), (3, 3, 4)),
    ((1, 2, 3), (2, 3, 2)), ((2, 1, 2, 3), (3,)), ((3,), (2, 1, 3, 2)),
]


@pytest.mark.parametrize("sa,sb", MATMUL_SHAPES)
def test_matmul_gradcheck(sa, sb):
    gradcheck(lambda a, b: a @ b, rand(sa, 1), rand(sb, 2))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("sa,sb", MATMUL_SHAPES)
def test_matmul_grad_matches_torch(torch, sa, sb, dtype):
    grads_vs_torch(torch, lambda a, b: a @ b, rand(sa, 1), rand(sb, 2), dtype=dtype)


def test_matmul_grad_of_transposed_and_zero_size_operands_matches_torch(torch):
    grads_vs_torch(torch, lambda a, b: a.mT @ b, rand((2, 3, 2)), rand((2, 3, 4)))
    grads_vs_torch(torch, lambda a, b: a @ b.mT, rand((4, 3)), rand((2, 3)))
    grads_vs_torch(torch, lambda a, b: a @ b, np.zeros((0, 3)), rand((3, 2)))
    grads_vs_torch(torch, lambda a, b: a @ b, np.zeros((2, 0)), np.zeros((0, 2)))
    grads_vs_torch(torch, lambda a, b: a @ b, np.zeros((2, 0, 3)), rand((3,)))


def test_mm_bmm_mv_dot_frontends_are_differentiable(torch):
    for name, sa, sb in [("mm", (2, 3), (3, 4)), ("bmm", (2, 2, 3), (2, 3, 4)), ("mv", (2, 3), (3,)),
                         ("dot", (3,), (3,))]:
        grads_vs_torch(torch, lambda a, b: getattr(tl, name)(a, b), rand(sa), rand(sb),
                       tfn=lambda a, b: getattr(torch, name)(a, b))


def test_composites_of_matmul_are_differentiable(torch):
    grads_vs_torch(torch, lambda a, b: tl.tensordot(a, b, dims=([1, 0], [0, 2])), rand((3, 2, 4)), rand((2, 5, 3)),
                   tfn=lambda a, b: torch.tensordot(a, b, dims=([1, 0], [0, 2])))
    grads_vs_torch(torch, lambda c, a, b: tl.addmm(c, a, b, beta=0.5, alpha=2.0), rand((4,)), rand((2, 3)),
                   rand((3, 4)), tfn=lambda c, a, b: torch.addmm(c, a, b, beta=0.5, alpha=2.0))
    grads_vs_torch(torch, lambda a, b: tl.inner(a, b), rand((2, 3)), rand((4, 3)), tfn=torch.inner)


# --- linear ---------------------------------------------------------------------------------------------------

LINEAR_SHAPES = [
    ((2, 3), (4, 3), (4,)), ((2, 3), (4, 3), None), ((3,), (4, 3), (4,)), ((2, 2, 3), (4, 3), (4,)),
    ((2, 2, 3), (4, 3), None), ((2, 3), (4, 3), (2, 4)), ((2, 3), (4, 3), (1,)), ((2, 3), (3,), None),
    ((2, 2, 3), (3,), None), ((3,), (3,), ()), ((3,), (3,), None), ((0, 3), (4, 3), (4,)),
]


@pytest.mark.parametrize("sx,sw,sb", LINEAR_SHAPES)
def test_linear_grad(torch, sx, sw, sb):
    arrays = [rand(sx, 1), rand(sw, 2)] + ([] if sb is None else [rand(sb, 3)])
    gradcheck(lambda *t: linear(*t), *arrays)
    for dtype in ("float64", "float32"):
        grads_vs_torch(torch, lambda *t: linear(*t), *arrays, dtype=dtype,
                       tfn=lambda *t: torch.nn.functional.linear(*t))


def test_linear_grad_with_a_transposed_weight_matches_torch(torch):
    grads_vs_torch(torch, lambda x, w, b: linear(x, w.mT, b), rand((2, 3)), rand((3, 4)), rand((4,)),
                   tfn=lambda x, w, b: torch.nn.functional.linear(x, w.mT, b))


# --- einsum ---------------------------------------------------------------------------------------------------

EINSUMS = [
    ("ij,jk->ik", [(2, 3), (3, 4)]), ("bij,bjk->bik", [(2, 2, 3), (2, 3, 4)]), ("i,i->", [(3,), (3,)]),
    ("ij->ji", [(2, 3)]), ("ij,j->i", [(2, 3), (3,)]), ("...ij,...jk->...ik", [(2, 2, 3), (3, 4)]),
    ("...ij,...jk->...ik", [(2, 1, 2, 3), (3, 3, 4)]), ("ij,jk", [(2, 3), (3, 4)]), ("ij->", [(2, 3)]),
    ("ij->j", [(2, 3)]), ("i,j->ij", [(2,), (3,)]), ("ii->i", [(3, 3)]), ("ii->", [(3, 3)]),
    ("iij,j->i", [(2, 2, 3), (3,)]), ("i...j->j", [(2, 2, 3)]), ("...i,i->i", [(2, 3), (3,)]),
    ("ij,ij->i", [(2, 3), (2, 1)]), ("i...,...->...", [(2, 3), (2, 1)]), ("ij,jk,kl->il", [(2, 3), (3, 2), (2, 2)]),
    ("bi,bi->b", [(3, 2), (3, 2)]), ("ijk->kji", [(2, 3, 1)]),
]


@pytest.mark.parametrize("equation,shapes", EINSUMS)
def test_einsum_grad(torch, equation, shapes):
    arrays = [rand(s, i) for i, s in enumerate(shapes)]
    gradcheck(lambda *t: tl.einsum(equation, *t), *arrays)
    grads_vs_torch(torch, lambda *t: tl.einsum(equation, *t), *arrays,
                   tfn=lambda *t: torch.einsum(equation, *t))
    grads_vs_torch(torch, lambda *t: tl.einsum(equation, *t), *arrays, dtype="float32",
                   tfn=lambda *t: torch.einsum(equation, *t))


def test_einsum_grad_of_the_same_tensor_twice_adds_both_uses(torch):
    grads_vs_torch(torch, lambda a: tl.einsum("ij,jk->ik", a, a), rand((3, 3)),
                   tfn=lambda a: torch.einsum("ij,jk->ik", a, a))


# --- create_graph: Hessian-vector products ------------------------------------------------------------------

def hvp_vs_torch(torch, fn, arrays, w_shape, seed: int = 5):
    """d/dx <grad_x <fn(x), w>, v> for every input x, against torch's double backward."""
    rng = np.random.default_rng(seed)
    w = rng.standard_normal(w_shape)
    vs = [rng.standard_normal(np.shape(a)) for a in arrays]
    xs = [leaf(a) for a in arrays]
    gs = tl.autograd.grad((fn(*xs) * tl.tensor(w, dtype=tl.float64)).sum(), xs, create_graph=True)
    hs = tl.autograd.grad(sum((g * tl.tensor(v, dtype=tl.float64)).sum() for g, v in zip(gs, vs)), xs,
                          allow_unused=True)
    ts = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
    gts = torch.autograd.grad((fn(*ts) * torch.tensor(w)).sum(), ts, create_graph=True)
    hts = torch.autograd.grad(sum((g * torch.tensor(v)).sum() for g, v in zip(gts, vs)), ts, allow_unused=True)
    for h, ht in zip(hs, hts):
        if ht is None:
            assert h is None or not np.any(h.numpy())
        else:
            np.testing.assert_allclose(h.numpy(), ht.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_hessian_vector_product_matches_torch(torch, name):
    hvp_vs_torch(torch, lambda x: getattr(x, name)(1), [rand((2, 3))], (2, 3))


def test_matmul_hessian_vector_product_matches_torch(torch):
    hvp_vs_torch(torch, lambda a, b: a @ b, [rand((2, 3), 1), rand((3, 4), 2)], (2, 4))
    hvp_vs_torch(torch, lambda a: a @ a, [rand((3, 3), 1)], (3, 3))
    hvp_vs_torch(torch, lambda a, b: (a @ b).softmax(-1), [rand((2, 2, 3), 1), rand((3,), 2)], (2, 2))


def test_prod_and_cumprod_hessian_vector_products_with_zeros_match_torch(torch):
    x = np.array([[2.0, 0.0, 3.0, 0.5, 1.5], [0.0, 2.0, 3.0, 0.0, 1.5], [1.0, 2.0, -3.0, 0.5, 2.0]])
    hvp_vs_torch(torch, lambda t: t.cumprod(1), [x], (3, 5))
    hvp_vs_torch(torch, lambda t: t.prod(1), [x], (3,))
    hvp_vs_torch(torch, lambda t: t.prod(), [x[:, :3]], ())
