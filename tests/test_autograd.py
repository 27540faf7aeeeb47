"""The autograd engine: recording, backward/grad, grad modes, accumulation, graph lifetime, and the promise
that backward reuses realized forward values instead of recomputing them."""
from __future__ import annotations

import numpy as np
import pytest

import torchlite as tl
from torchlite.fx import capture

HERE = r"test_autograd\.py:\d+"


def leaf(values, dtype=tl.float64):
    return tl.tensor(values, dtype=dtype, requires_grad=True)


def test_ops_on_tensors_that_require_grad_are_recorded():
    x = leaf([1.0, 2.0])
    c = tl.tensor([3.0, 4.0], dtype=tl.float64)
    y = x * c
    assert y.requires_grad and not y.is_leaf and y.grad_fn is not None and "Mul" in repr(y.grad_fn)
    assert x.is_leaf and x.grad_fn is None
    assert not (c * 2.0).requires_grad
    assert not (x > 1.0).requires_grad            # bool outputs are never differentiable


def test_backward_accumulates_into_leaves():
    x = leaf([1.0, 2.0, 3.0])
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 4.0, 6.0])
    (x * 3.0).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [5.0, 7.0, 9.0])
    assert not x.grad.requires_grad


def test_backward_of_a_non_scalar_needs_a_gradient():
    x = leaf([1.0, 2.0])
    y = x * 2.0
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar outputs.*" + HERE):
        y.backward()
    y.backward(tl.tensor([1.0, 10.0], dtype=tl.float64))
    assert x.grad.tolist() == [2.0, 20.0]
    with pytest.raises(RuntimeError, match=r"Mismatch in shape: grad_output has a shape of \[3\]"):
        (x * 2.0).backward(tl.ones(3, dtype=tl.float64))


def test_second_backward_needs_retain_graph():
    x = leaf([2.0])
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    assert x.grad.tolist() == [8.0]
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        y.backward()


def test_backward_of_something_that_does_not_require_grad_raises():
    with pytest.raises(RuntimeError, match="does not require grad.*" + HERE):
        tl.ones(2).sum().backward()


def test_grad_returns_gradients_for_leaves_and_intermediates():
    x = leaf([1.0, 2.0])
    h = x * 3.0
    y = (h * h).sum()
    gx, gh = tl.autograd.grad(y, [x, h])
    np.testing.assert_allclose(gx.numpy(), [18.0, 36.0])
    np.testing.assert_allclose(gh.numpy(), [6.0, 12.0])
    assert x.grad is None                          # grad() does not accumulate
    z = leaf([5.0])
    with pytest.raises(RuntimeError, match="appears to not have been used in the graph"):
        tl.autograd.grad((x * 2.0).sum(), [z])
    assert tl.autograd.grad((x * 2.0).sum(), [z], allow_unused=True) == (None,)


def test_higher_order_gradients_with_create_graph():
    x = leaf([1.5, -0.5])
    y = (x * x * x).sum()
    (g,) = tl.autograd.grad(y, [x], create_graph=True)
    np.testing.assert_allclose(g.numpy(), 3 * np.array([1.5, -0.5]) ** 2)
    assert g.requires_grad
    (h,) = tl.autograd.grad(g.sum(), [x])
    np.testing.assert_allclose(h.numpy(), 6 * np.array([1.5, -0.5]))


def test_grad_modes():
    x = leaf([1.0])
    with tl.no_grad():
        assert not (x * 2.0).requires_grad
        with tl.enable_grad():
            assert (x * 2.0).requires_grad
    with tl.inference_mode():
        assert not (x * 2.0).requires_grad
    tl.set_grad_enabled(False)
    try:
        assert not tl.is_grad_enabled() and not (x * 2.0).requires_grad
    finally:
        tl.set_grad_enabled(True)
    with tl.set_grad_enabled(False):
        assert not (x * 2.0).requires_grad
    assert tl.is_grad_enabled()

    @tl.no_grad()
    def f(t):
        return t * 2.0
    assert not f(x).requires_grad


def test_detach_stops_gradients():
    x = leaf([1.0, 2.0])
    y = (x * x.detach()).sum()
    y.backward()
    assert x.grad.tolist() == [1.0, 2.0]


def test_requires_grad_rules():
    with pytest.raises(RuntimeError, match="only Tensors of floating point dtype can require gradients"):
        tl.tensor([1, 2], requires_grad=True)
    x = leaf([1.0])
    y = x * 2.0
    with pytest.raises(RuntimeError, match="you can only change requires_grad flags of leaf variables"):
        y.requires_grad_(False)
    assert tl.zeros(2, requires_grad=True).requires_grad and tl.randn(2, requires_grad=True).is_leaf


def test_inplace_on_a_leaf_that_requires_grad_is_refused_unless_no_grad():
    w = leaf([1.0, 2.0])
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place "
                                           "operation.*" + HERE):
        w.mul_(2.0)
    with tl.no_grad():
        w.mul_(2.0)                                # how optimizers update parameters
    assert w.is_leaf and w.requires_grad and w.tolist() == [2.0, 4.0]


def test_inplace_on_a_non_leaf_keeps_the_history():
    x = leaf([1.0, 2.0])
    y = x * 3.0
    y.mul_(x)                                      # y = 3x * x
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [6.0, 12.0])


def test_backward_reuses_the_realized_forward():
    x = leaf(np.linspace(-1, 1, 6).reshape(2, 3))
    w = leaf(np.linspace(0.5, 2, 6).reshape(2, 3))
    loss = (x * w * x).sum()
    loss.item()                                    # forward realized
    (gx, gw) = tl.autograd.grad(loss, [x, w])
    names = [n.target.name for n in capture(gx, gw).graph.nodes if n.op == "call_function"]
    # only backward work is pending: the forward products are read from the realized values
    assert names.count("mul") <= 4 and "sum" not in names, names
    np.testing.assert_allclose(gx.numpy(), 2 * x.numpy() * w.numpy())
    np.testing.assert_allclose(gw.numpy(), x.numpy() ** 2)



# Ops whose outputs are never differentiable: bool/int results, or no tensor inputs at all.
NO_GRADIENT = {
    "eq", "ne", "lt", "le", "gt", "ge", "logical_and", "logical_or", "logical_xor", "logical_not", "bitwise_and",
    "bitwise_or", "bitwise_xor", "bitwise_not", "bitwise_left_shift", "bitwise_right_shift", "isnan", "isinf",
    "isfinite", "signbit", "argmax", "argmin", "all", "any", "argsort", "topk_indices", "one_hot",
    "full", "arange", "linspace", "logspace", "eye",
}


def test_every_differentiable_registry_op_has_a_vjp_rule():
    missing = sorted(name for name, op in tl.ops.REGISTRY.items() if op.vjp is None and name not in NO_GRADIENT)
    assert missing == [], f"registry ops without a VJP rule: {missing}"
    stale = sorted(name for name in NO_GRADIENT if name in tl.ops.REGISTRY and tl.ops.REGISTRY[name].vjp)
    assert stale == [], f"listed as non-differentiable but have a rule: {stale}"
