"""torchlite.func transforms (grad, value_and_grad, vjp, jacobian, hessian) against torch.func."""
import numpy as np
import pytest

import torchlite as tl
from torchlite import func as tf

torch = pytest.importorskip("torch")
import torch.func as torch_func  # noqa: E402


def pair(*shape, seed=0):
    a = np.random.default_rng(seed).standard_normal(shape)
    return tl.tensor(a, dtype=tl.float64), torch.tensor(a, dtype=torch.float64)


def close(a, b, tol=1e-9):
    if isinstance(b, (tuple, list)):
        assert isinstance(a, (tuple, list)) and len(a) == len(b)
        for x, y in zip(a, b):
            close(x, y, tol)
        return
    assert tuple(a.shape) == tuple(b.shape)
    np.testing.assert_allclose(a.numpy(), b.detach().numpy(), rtol=tol, atol=tol)


def poly(x):
    return (x ** 3 - 2 * x ** 2 + x).sum()


def mixed(x):
    return (x.exp() * x.sin()).sum() + (x * x).sum() ** 0.5


def soft(x, w):
    return (x @ w).softmax(-1)[..., 0].sum()


SCALAR_FNS = [("poly", poly), ("mixed", mixed)]


@pytest.mark.parametrize("name,f", SCALAR_FNS)
def test_grad_matches_torch_func(name, f):
    x, tx = pair(4)
    close(tf.grad(f)(x), torch_func.grad(f)(tx))


def test_grad_of_0d_function_and_result_is_detached():
    x, tx = pair()
    g = tf.grad(lambda x: x.exp() * x)(x)
    close(g, torch_func.grad(lambda x: x.exp() * x)(tx))
    assert not g.requires_grad and x.grad is None and not x.requires_grad


def test_grad_argnums_tuple_with_matmul_softmax():
    (x, tx), (w, tw) = pair(3, 4), pair(4, 5, seed=1)
    close(tf.grad(soft, argnums=(0, 1))(x, w), torch_func.grad(soft, argnums=(0, 1))(tx, tw))
    close(tf.grad(soft, argnums=1)(x, w), torch_func.grad(soft, argnums=1)(tx, tw))
    close(tf.grad(soft, argnums=-1)(x, w), torch_func.grad(soft, argnums=-1)(tx, tw))


def test_grad_has_aux_returns_aux_untouched():
    def f(x):
        y = (x.sin() * x).sum()
        return y, {"y": y}
    x, tx = pair(3)
    g, aux = tf.grad(f, has_aux=True)(x)
    tg, taux = torch_func.grad(f, has_aux=True)(tx)
    close(g, tg)
    close(aux["y"], taux["y"])
    assert not aux["y"].requires_grad
    assert tf.grad(lambda x: (poly(x), 3), has_aux=True)(x)[1] == 3       # non-tensor aux passes through


def test_value_and_grad_plain_and_with_aux():
    x, tx = pair(5)
    (v, g), (tv, tg) = tf.value_and_grad(mixed)(x), torch_func.grad_and_value(mixed)(tx)[::-1]
    close(v, tv)
    close(g, tg)
    (v, aux), g = tf.value_and_grad(lambda x: (poly(x), x * 2), has_aux=True)(x)
    close(v, torch.tensor(poly(tx).item(), dtype=torch.float64))
    close(aux, tx * 2)
    close(g, torch_func.grad(poly)(tx))


@pytest.mark.parametrize("name,f", SCALAR_FNS)
def test_grad_of_grad_scalar(name, f):
    x, tx = pair(seed=3)
    close(tf.grad(tf.grad(f))(x), torch_func.grad(torch_func.grad(f))(tx))
    close(tf.grad(tf.grad(tf.grad(f)))(x), torch_func.grad(torch_func.grad(torch_func.grad(f)))(tx))


def test_nested_grad_has_no_perturbation_confusion():
    # d/dx [ d/dy (x * y) at y=x ] = d/dx [x] = 1
    def outer(x):
        return tf.grad(lambda y: x * y)(x)
    x = tl.tensor(2.5, dtype=tl.float64)
    assert tf.grad(outer)(x).item() == pytest.approx(1.0)


def test_grad_through_closure_inside_outer_grad():
    c = tl.tensor(1.5, dtype=tl.float64)

    def outer(x):
        return tf.grad(lambda y: (x * y * y).sum())(c)      # = 2 x c
    assert tf.grad(outer)(tl.tensor(0.7, dtype=tl.float64)).item() == pytest.approx(3.0)


def test_grad_of_unused_input_is_zero():
    x, tx = pair(3)
    close(tf.grad(lambda x, y: (y * 2).sum(), argnums=0)(x, x), torch.zeros(3, dtype=torch.float64))


def test_grad_errors():
    x, _ = pair(3)
    with pytest.raises(RuntimeError, match="scalar"):
        tf.grad(lambda x: x * 2)(x)
    with pytest.raises(RuntimeError, match="Tensor"):
        tf.grad(lambda x: 3.0)(x)
    with pytest.raises(RuntimeError, match="argnums"):
        tf.grad(poly, argnums=2)(x)
    with pytest.raises(RuntimeError, match="tuple"):
        tf.grad(poly, has_aux=True)(x)


def test_vjp_matches_torch():
    (x, tx), (w, tw) = pair(3, 4), pair(4, 2, seed=1)

    def f(x, w):
        return (x @ w).tanh(), x.exp().sum(0)
    out, fn = tf.vjp(f, x, w)
    tout, tfn = torch_func.vjp(f, tx, tw)
    close(out, tout)
    (c1, tc1), (c2, tc2) = pair(3, 2, seed=5), pair(4, seed=6)
    close(fn((c1, c2)), tfn((tc1, tc2)))
    close(fn((c1, c2)), tfn((tc1, tc2)))                     # callable again
    out, fn, aux = tf.vjp(lambda x: (x.sin(), x.cos()), x, has_aux=True)
    close(aux, tx.cos())
    close(fn(tl.ones(3, 4, dtype=tl.float64)), (tx.cos(),))


def test_vjp_wrong_cotangent_shape_raises():
    x, _ = pair(3)
    _, fn = tf.vjp(lambda x: x * 2, x)
    with pytest.raises(RuntimeError, match="cotangent"):
        fn(tl.ones(4, dtype=tl.float64))


@pytest.mark.parametrize("case", ["exp_sin", "matmul", "softmax"])
def test_jacobian_of_vector_functions(case):
    x, tx = pair(3)
    m, tm = pair(2, 3, seed=2)
    f = {"exp_sin": lambda x: x.exp() * x.sin(),
         "matmul": lambda x: (m if isinstance(x, tl.Tensor) else tm) @ x,
         "softmax": lambda x: x.softmax(0)}[case]
    close(tf.jacobian(f)(x), torch_func.jacrev(f)(tx))
    close(tf.jacobian(f)(x), torch.autograd.functional.jacobian(f, tx))


def test_jacobian_argnums_tuple_and_tuple_outputs():
    (x, tx), (y, ty) = pair(2, 2), pair(3, seed=1)

    def f(x, y):
        return x.sum() * y, (x * x).sum(1)
    close(tf.jacobian(f, argnums=(0, 1))(x, y), torch_func.jacrev(f, argnums=(0, 1))(tx, ty))
    close(tf.jacobian(f, argnums=1)(x, y), torch_func.jacrev(f, argnums=1)(tx, ty))


@pytest.mark.parametrize("name,f", SCALAR_FNS)
def test_hessian_of_scalar_functions(name, f):
    x, tx = pair(3, seed=4)
    close(tf.hessian(f)(x), torch_func.hessian(f)(tx))
    close(tf.hessian(f)(x), torch.autograd.functional.hessian(f, tx))


def test_hessian_argnums_tuple():
    (x, tx), (w, tw) = pair(2, 3), pair(3, 2, seed=1)
    close(tf.hessian(soft, argnums=(0, 1))(x, w), torch_func.hessian(soft, argnums=(0, 1))(tx, tw))


def test_transform_inside_outer_autograd_keeps_graph():
    x = tl.tensor([0.5, -1.0], dtype=tl.float64, requires_grad=True)
    tx = torch.tensor([0.5, -1.0], dtype=torch.float64, requires_grad=True)
    tf.grad(mixed)(x).sum().backward()
    torch_func.grad(mixed)(tx).sum().backward()
    close(x.grad, tx.grad)
