"""nn layers against torch (same weights copied from torch), and nn.init statistics."""
from __future__ import annotations

import math

import numpy as np
import pytest

import torchlite as tl
from torchlite import nn

RTOL, ATOL = 1e-5, 1e-6


def _copy_from_torch(ours, theirs):
    ours.load_state_dict({k: tl.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})


def _compare(ours, theirs, x_np, *, grad_input=True, upstream=True, seed=0):
    """Forward and backward of ``ours`` and ``theirs`` on the same input: outputs, input grad, param grads."""
    import torch
    _copy_from_torch(ours, theirs)
    floating = x_np.dtype.kind == "f"
    x = tl.tensor(x_np, requires_grad=grad_input and floating)
    tx = torch.tensor(x_np, requires_grad=grad_input and floating)
    y, ty = ours(x), theirs(tx)
    assert tuple(y.shape) == tuple(ty.shape) and y.dtype.name == str(ty.dtype).split(".")[1]
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=RTOL, atol=ATOL)
    if upstream:
        g = np.random.default_rng(seed).standard_normal(tuple(ty.shape)).astype(x_np.dtype if floating else np.float32)
        y.backward(tl.tensor(g))
        ty.backward(torch.tensor(g))
    else:
        y.sum().backward()
        ty.sum().backward()
    tparams = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        tp = tparams[name]
        if tp.grad is None:
            assert p.grad is None, name
            continue
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=RTOL, atol=ATOL, err_msg=name)
    if grad_input and floating:
        np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=RTOL, atol=ATOL)
    return y


def _x(*shape, seed=1):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("shape", [(4, 3), (2, 5, 3), (3,)])
def test_linear(bias, shape):
    torch = pytest.importorskip("torch")
    _compare(nn.Linear(3, 6, bias=bias), torch.nn.Linear(3, 6, bias=bias), _x(*shape))


def test_linear_sum_backward_and_noncontiguous_input():
    torch = pytest.importorskip("torch")
    _compare(nn.Linear(4, 2), torch.nn.Linear(4, 2), _x(4, 5).T, upstream=False)


def test_linear_float64_and_dtype_kwarg():
    torch = pytest.importorskip("torch")
    m = nn.Linear(3, 2, dtype=tl.float64)
    assert m.weight.dtype is tl.float64 and m.bias.dtype is tl.float64
    t = torch.nn.Linear(3, 2, dtype=torch.float64)
    _copy_from_torch(m, t)
    x = np.random.default_rng(0).standard_normal((4, 3))
    np.testing.assert_allclose(m(tl.tensor(x)).detach().numpy(), t(torch.tensor(x)).detach().numpy(), rtol=1e-12)


def test_linear_shape_error_names_caller():
    with pytest.raises(RuntimeError, match=r"test_nn_layers\.py:\d+") as e:
        nn.Linear(3, 2)(tl.ones(4, 5))
    assert "4x5" in str(e.value) and "3x2" in str(e.value)


@pytest.mark.parametrize("kw", [{}, {"bias": False}, {"elementwise_affine": False}, {"eps": 1e-3}])
def test_layer_norm(kw):
    torch = pytest.importorskip("torch")
    _compare(nn.LayerNorm(5, **kw), torch.nn.LayerNorm(5, **kw), _x(3, 5))


def test_layer_norm_multi_dim_with_trained_weights():
    torch = pytest.importorskip("torch")
    t = torch.nn.LayerNorm([2, 3])
    with torch.no_grad():
        t.weight.normal_()
        t.bias.normal_()
    _compare(nn.LayerNorm([2, 3]), t, _x(4, 2, 3))


@pytest.mark.parametrize("kw", [{}, {"eps": 1e-6}, {"elementwise_affine": False}])
def test_rms_norm(kw):
    torch = pytest.importorskip("torch")
    t = torch.nn.RMSNorm(6, **kw)
    if t.weight is not None:
        with torch.no_grad():
            t.weight.normal_()
    _compare(nn.RMSNorm(6, **kw), t, _x(2, 3, 6))


@pytest.mark.parametrize("padding_idx", [None, 1, -2])
def test_embedding(padding_idx):
    torch = pytest.importorskip("torch")
    idx = np.array([[0, 1, 3], [1, 1, 4]], dtype=np.int64)
    ours, theirs = nn.Embedding(6, 4, padding_idx=padding_idx), torch.nn.Embedding(6, 4, padding_idx=padding_idx)
    assert ours.padding_idx == theirs.padding_idx
    if padding_idx is not None:
        assert ours.weight[ours.padding_idx].tolist() == [0.0] * 4
    _compare(ours, theirs, idx, grad_input=False)
    if padding_idx is not None:
        assert ours.weight.grad[ours.padding_idx].tolist() == [0.0] * 4


def test_embedding_from_pretrained_and_errors():
    w = tl.arange(6.0).reshape(3, 2)
    e = nn.Embedding.from_pretrained(w)
    assert not e.weight.requires_grad and e(tl.tensor([2, 0])).tolist() == [[4.0, 5.0], [0.0, 1.0]]
    assert nn.Embedding.from_pretrained(w, freeze=False).weight.requires_grad
    with pytest.raises(AssertionError, match="Padding_idx"):
        nn.Embedding(3, 2, padding_idx=3)
    with pytest.raises(IndexError, match="out of range|out of bounds"):
        nn.Embedding(3, 2)(tl.tensor([3]))


@pytest.mark.parametrize("cls,kw", [("ReLU", {}), ("GELU", {}), ("GELU", {"approximate": "tanh"}), ("SiLU", {}),
                                    ("Tanh", {}), ("Sigmoid", {}), ("Softmax", {"dim": -1}),
                                    ("Softmax", {"dim": 0}), ("LogSoftmax", {"dim": 1}), ("Identity", {}),
                                    ("Flatten", {}), ("Flatten", {"start_dim": 0, "end_dim": 1})])
def test_activation_and_shape_layers(cls, kw):
    torch = pytest.importorskip("torch")
    _compare(getattr(nn, cls)(**kw), getattr(torch.nn, cls)(**kw), _x(3, 4, 2))


def test_softmax_implicit_dim_matches_torch():
    torch = pytest.importorskip("torch")
    for shape in [(5,), (3, 4), (2, 3, 4), (2, 2, 3, 4)]:
        x = _x(*shape)
        with pytest.warns(UserWarning):
            ref = torch.nn.Softmax()(torch.tensor(x)).numpy()
        np.testing.assert_allclose(nn.Softmax()(tl.tensor(x)).numpy(), ref, rtol=RTOL, atol=ATOL)
        with pytest.warns(UserWarning):
            ref = torch.nn.LogSoftmax()(torch.tensor(x)).numpy()
        np.testing.assert_allclose(nn.LogSoftmax()(tl.tensor(x)).numpy(), ref, rtol=RTOL, atol=ATOL)


def test_inplace_activations():
    x = tl.tensor([-1.0, 2.0])
    y = nn.ReLU(inplace=True)(x)
    assert x.tolist() == [0.0, 2.0] and y.tolist() == [0.0, 2.0]
    x = tl.tensor([-1.0, 2.0])
    nn.SiLU(inplace=True)(x)
    np.testing.assert_allclose(x.numpy(), np.array([-1.0, 2.0]) / (1 + np.exp([1.0, -2.0])), rtol=1e-6)


def test_dropout_train_eval():
    m = nn.Dropout(0.5)
    x = tl.ones(2000)
    y = m(x).numpy()
    assert set(np.unique(y)) <= {0.0, 2.0} and 0.4 < (y == 0).mean() < 0.6
    m.eval()
    assert m(x) is x or np.array_equal(m(x).numpy(), x.numpy())
    assert nn.Dropout(0.0)(x).sum().item() == 2000
    xg = tl.ones(100, requires_grad=True)
    out = nn.Dropout(0.25)(xg)
    out.sum().backward()
    np.testing.assert_allclose(xg.grad.numpy(), out.detach().numpy(), rtol=1e-6)  # grad = mask / (1 - p)
    with pytest.raises(ValueError, match="between 0 and 1, but got 1.5"):
        nn.Dropout(1.5)


def test_mlp_end_to_end_matches_torch():
    torch = pytest.importorskip("torch")

    def build(n):
        return n.Sequential(n.Linear(6, 8), n.LayerNorm(8), n.GELU(), n.Dropout(0.3), n.Linear(8, 8), n.SiLU(),
                            n.RMSNorm(8), n.Linear(8, 3), n.LogSoftmax(dim=-1))
    ours, theirs = build(nn).eval(), build(torch.nn).eval()
    _compare(ours, theirs, _x(5, 6))


# -- nn.init ------------------------------------------------------------------------------------------------

def test_linear_default_init_bounds():
    tl.manual_seed(0)
    m = nn.Linear(400, 300)
    w, b = m.weight.numpy(), m.bias.numpy()
    bound = 1 / math.sqrt(400)                              # kaiming_uniform(a=sqrt(5)) == U(+-1/sqrt(fan_in))
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.98 * bound
    np.testing.assert_allclose(w.std(), bound / math.sqrt(3), rtol=0.02)
    assert abs(w.mean()) < 0.01 * bound
    assert np.abs(b).max() <= bound and np.abs(b).max() > 0.9 * bound
    assert m.weight.is_leaf and m.weight.requires_grad


def test_embedding_layernorm_default_init():
    tl.manual_seed(0)
    w = nn.Embedding(500, 100).weight.numpy()
    assert abs(w.mean()) < 0.01 and abs(w.std() - 1) < 0.01
    ln = nn.LayerNorm(7)
    assert ln.weight.tolist() == [1.0] * 7 and ln.bias.tolist() == [0.0] * 7
    assert nn.RMSNorm(3).weight.tolist() == [1.0] * 3


def test_init_functions_statistics():
    tl.manual_seed(0)
    t = tl.empty(300, 200)
    assert nn.init.uniform_(t, -2, 3) is t
    v = t.numpy()
    assert v.min() >= -2 and v.max() < 3 and abs(v.mean() - 0.5) < 0.05
    nn.init.normal_(t, 1.0, 0.5)
    assert abs(t.numpy().mean() - 1) < 0.01 and abs(t.numpy().std() - 0.5) < 0.01
    nn.init.xavier_uniform_(t, gain=2.0)
    a = 2.0 * math.sqrt(6 / 500)
    assert np.abs(t.numpy()).max() <= a and abs(t.numpy().std() - a / math.sqrt(3)) < 0.02 * a
    nn.init.xavier_normal_(t)
    assert abs(t.numpy().std() - math.sqrt(2 / 500)) < 0.02 * math.sqrt(2 / 500)
    nn.init.kaiming_uniform_(t, nonlinearity="relu")
    bound = math.sqrt(2) * math.sqrt(3 / 200)
    assert np.abs(t.numpy()).max() <= bound and np.abs(t.numpy()).max() > 0.99 * bound
    nn.init.kaiming_normal_(t, mode="fan_out", nonlinearity="relu")
    assert abs(t.numpy().std() - math.sqrt(2 / 300)) < 0.02 * math.sqrt(2 / 300)
    nn.init.kaiming_normal_(t, a=0.2)
    std = math.sqrt(2 / (1 + 0.04)) / math.sqrt(200)
    assert abs(t.numpy().std() - std) < 0.02 * std
    nn.init.trunc_normal_(t, mean=0.5, std=1.0, a=-1.0, b=1.5)
    v = t.numpy()
    assert v.min() >= -1.0 and v.max() <= 1.5 and v.min() < -0.99 and v.max() > 1.49


def test_trunc_normal_moments():
    tl.manual_seed(1)
    t = nn.init.trunc_normal_(tl.empty(200, 300), std=0.02)   # the usual ViT/GPT init: [-2, 2] is ~100 sigma
    v = t.numpy()
    assert abs(v.std() - 0.02) < 0.001 and abs(v.mean()) < 0.001
    nn.init.trunc_normal_(t, a=-1.0, b=1.0)
    v = t.numpy()
    # std of N(0,1) truncated to [-1, 1]: sqrt(1 - 2 phi(1) / (2 Phi(1) - 1))
    phi = math.exp(-0.5) / math.sqrt(2 * math.pi)
    ref = math.sqrt(1 - 2 * phi / math.erf(1 / math.sqrt(2)))
    assert np.abs(v).max() <= 1.0 and abs(v.std() - ref) < 0.01 and abs(v.mean()) < 0.01


def test_init_on_parameters_in_place_no_history():
    m = nn.Linear(4, 4)
    p = m.weight
    for fn in (nn.init.zeros_, nn.init.ones_, lambda t: nn.init.constant_(t, 0.25), nn.init.eye_,
               nn.init.xavier_uniform_, nn.init.trunc_normal_):
        assert fn(m.weight) is p
        assert p.is_leaf and p.requires_grad and p.grad_fn is None
    nn.init.constant_(p, 0.25)
    assert p.sum().item() == 4.0
    nn.init.eye_(p)
    assert p.numpy().trace() == 4.0


def test_init_errors_and_gain():
    assert nn.init.calculate_gain("relu") == math.sqrt(2)
    assert nn.init.calculate_gain("tanh") == 5 / 3
    assert nn.init.calculate_gain("leaky_relu", 0.2) == math.sqrt(2 / 1.04)
    with pytest.raises(ValueError, match="Unsupported nonlinearity"):
        nn.init.calculate_gain("foo")
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        nn.init.xavier_uniform_(tl.empty(3))
    with pytest.raises(ValueError, match="Mode fan_x not supported"):
        nn.init.kaiming_uniform_(tl.empty(3, 3), mode="fan_x")


def test_init_matches_torch_formulas():
    torch = pytest.importorskip("torch")
    for nl, a in (("relu", None), ("leaky_relu", 0.3), ("selu", None), ("sigmoid", None), ("conv2d", None)):
        assert nn.init.calculate_gain(nl, a) == torch.nn.init.calculate_gain(nl, a)
    t = tl.empty(5, 3, 2, 2)
    assert nn.init._calculate_fan_in_and_fan_out(t) == torch.nn.init._calculate_fan_in_and_fan_out(
        torch.empty(5, 3, 2, 2))
