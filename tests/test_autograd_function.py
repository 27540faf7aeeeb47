"""torchlite.autograd.Function: custom forward/backward pairs plugged into the autograd engine."""
import numpy as np
import pytest

import torchlite as tl
from torchlite import func as tf

torch = pytest.importorskip("torch")


def leaf(*shape, seed=0):
    a = np.random.default_rng(seed).standard_normal(shape)
    return (tl.tensor(a, dtype=tl.float64, requires_grad=True),
            torch.tensor(a, dtype=torch.float64, requires_grad=True))


def close(a, b, tol=1e-9):
    np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=tol, atol=tol)


def make_exp(lib):
    class MyExp(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            y = x.exp()
            ctx.save_for_backward(y)
            return y

        @staticmethod
        def backward(ctx, g):
            y, = ctx.saved_tensors
            return g * y
    return MyExp


def make_scale(lib):
    """out = x * w; records which inputs need grad; stores a plain attribute on ctx."""
    class Scale(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x, w, k):
            ctx.save_for_backward(x, w)
            ctx.k = k
            return x * w * k

        @staticmethod
        def backward(ctx, g):
            x, w = ctx.saved_tensors
            ctx.seen = ctx.needs_input_grad
            gx = g * w * ctx.k if ctx.needs_input_grad[0] else None
            gw = (g * x * ctx.k).sum(0) if ctx.needs_input_grad[1] else None
            return gx, gw, None
    return Scale


def test_custom_exp_matches_torch_function():
    (x, tx) = leaf(3, 2)
    y, ty = make_exp(tl).apply(x), make_exp(torch).apply(tx)
    close(y, ty)
    assert y.requires_grad and not y.is_leaf and y.grad_fn.name() == "MyExpBackward"
    (y * y.sin()).sum().backward()
    (ty * ty.sin()).sum().backward()
    close(x.grad, tx.grad)


def test_needs_input_grad_and_ctx_attributes():
    x, tx = leaf(4, 3)
    w = tl.tensor(np.arange(3.0), dtype=tl.float64)           # does not require grad
    tw = torch.arange(3.0, dtype=torch.float64)
    Scale, TScale = make_scale(tl), make_scale(torch)
    out, tout = Scale.apply(x, w, 2.0), TScale.apply(tx, tw, 2.0)
    close(out, tout)
    out.sum().backward()
    tout.sum().backward()
    close(x.grad, tx.grad)
    assert out.grad_fn.op.ctx.seen == (True, False, False) == tuple(tout.grad_fn.seen)
    assert w.grad is None


def test_broadcast_gradient_is_summed_back():
    (x, tx), (w, tw) = leaf(4, 3), leaf(3, seed=1)
    Scale, TScale = make_scale(tl), make_scale(torch)
    Scale.apply(x, w, 0.5).pow(2).sum().backward()
    TScale.apply(tx, tw, 0.5).pow(2).sum().backward()
    close(x.grad, tx.grad)
    close(w.grad, tw.grad)


def test_no_record_without_grad_inputs_or_in_no_grad():
    x = tl.tensor([1.0, 2.0], dtype=tl.float64)
    assert not make_exp(tl).apply(x).requires_grad
    xr = x.detach().requires_grad_()
    with tl.no_grad():
        assert not make_exp(tl).apply(xr).requires_grad


def test_forward_runs_under_no_grad():
    seen = []

    class Probe(tl.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            y = x * 2
            seen.append((tl.is_grad_enabled(), y.requires_grad))
            return y

        @staticmethod
        def backward(ctx, g):
            return g * 2
    x, _ = leaf(2)
    Probe.apply(x)
    assert seen == [(False, False)]


def test_custom_rule_differs_from_true_derivative_and_is_used():
    class WrongSquare(tl.autograd.Function):             # forward x**2, but backward says 10 * g
        @staticmethod
        def forward(ctx, x):
            return x * x

        @staticmethod
        def backward(ctx, g):
            return g * 10.0
    x, _ = leaf(3)
    WrongSquare.apply(x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.full(3, 10.0))
    g, = tl.autograd.grad(WrongSquare.apply(x).sum(), x)
    np.testing.assert_allclose(g.numpy(), np.full(3, 10.0))
    np.testing.assert_allclose(tf.grad(lambda v: WrongSquare.apply(v).sum())(x.detach()).numpy(), np.full(3, 10.0))


def test_gradcheck_through_correct_custom_functions():
    (x, _), (w, _) = leaf(3, 2), leaf(2, seed=1)
    assert tl.autograd.gradcheck(make_exp(tl).apply, (x,))
    assert tl.autograd.gradcheck(lambda a, b: make_scale(tl).apply(a, b, 1.5), (x, w))


def test_gradcheck_detects_wrong_custom_rule():
    class Bad(tl.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x.sin()

        @staticmethod
        def backward(ctx, g):
            return g
    x, _ = leaf(3)
    with pytest.raises(Exception):
        tl.autograd.gradcheck(Bad.apply, (x,))


def test_higher_order_through_custom_function():
    x, tx = leaf(3)
    f = lambda v: make_exp(tl).apply(v * v).sum()          # noqa: E731
    tfn = lambda v: make_exp(torch).apply(v * v).sum()     # noqa: E731
    close(tf.hessian(f)(x.detach()), torch.func.hessian(lambda v: (v * v).exp().sum())(tx.detach()))
    g, = tl.autograd.grad(f(x), x, create_graph=True)
    tg, = torch.autograd.grad(tfn(tx), tx, create_graph=True)
    close(g, tg)
    g.sum().backward()
    tg.sum().backward()
    close(x.grad, tx.grad)


def test_multiple_outputs_and_non_differentiable_output():
    class SinCosArg(tl.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            idx = x.argmax()
            ctx.mark_non_differentiable(idx)
            return x.sin(), x.cos(), idx

        @staticmethod
        def backward(ctx, gs, gc, gi):
            x, = ctx.saved_tensors
            return gs * x.cos() - gc * x.sin()
    x, tx = leaf(4)
    s, c, i = SinCosArg.apply(x)
    assert s.requires_grad and c.requires_grad and not i.requires_grad
    (s * 2 + c * c).sum().backward(retain_graph=True)
    (tx.sin() * 2 + tx.cos() * tx.cos()).sum().backward()
    close(x.grad, tx.grad)
    x.grad = None
    s.sum().backward(retain_graph=True)       # only one output used: the other gradient comes in as zeros
    close(x.grad, tx.detach().cos())


def test_returning_an_input_gives_a_new_tensor():
    class Ident(tl.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x

        @staticmethod
        def backward(ctx, g):
            return g * 3
    x, _ = leaf(2)
    y = Ident.apply(x)
    assert y is not x and x.is_leaf and y.grad_fn is not None
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 3.0])


def test_backward_returning_wrong_count_raises():
    class TooFew(tl.autograd.Function):
        @staticmethod
        def forward(ctx, x, y):
            return x * y

        @staticmethod
        def backward(ctx, g):
            return g
    (x, _), (y, _) = leaf(2), leaf(2, seed=1)
    with pytest.raises(RuntimeError, match="incorrect number of gradients"):
        TooFew.apply(x, y).sum().backward()

    class ExtraNones(tl.autograd.Function):            # trailing Nones beyond the inputs are allowed
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2, None, None
    x.grad = None
    ExtraNones.apply(x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 2.0])


def test_backward_gradient_errors():
    class BadShape(tl.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x.sum()

        @staticmethod
        def backward(ctx, g):
            return tl.ones(5, dtype=tl.float64)

    class GradForNonTensor(tl.autograd.Function):
        @staticmethod
        def forward(ctx, x, k):
            return x * k

        @staticmethod
        def backward(ctx, g):
            return g, g
    x, _ = leaf(3)
    with pytest.raises(RuntimeError, match="invalid gradient"):
        BadShape.apply(x).backward()
    with pytest.raises(RuntimeError, match="not a Variable"):
        GradForNonTensor.apply(x, 2.0).sum().backward()


def test_backward_twice_without_retain_graph_raises():
    x, _ = leaf(2)
    y = make_exp(tl).apply(x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()


def test_save_for_backward_rejects_non_tensors():
    class SaveInt(tl.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x, 3)
            return x * 1
    with pytest.raises(TypeError, match="save_for_backward"):
        SaveInt.apply(leaf(2)[0])
