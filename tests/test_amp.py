"""autocast and GradScaler against torch.autocast("cpu", torch.bfloat16) and torch.amp.GradScaler on cpu."""
from __future__ import annotations

import numpy as np
import pytest

import torchlite as tl
import torchlite.nn.functional as F

RNG = np.random.default_rng(0)
A = RNG.standard_normal((3, 4)).astype(np.float32)
B = RNG.standard_normal((4, 5)).astype(np.float32)
BA = RNG.standard_normal((2, 3, 4)).astype(np.float32)
BB = RNG.standard_normal((2, 4, 5)).astype(np.float32)
W = RNG.standard_normal((5, 4)).astype(np.float32)
BIAS = RNG.standard_normal(5).astype(np.float32)
Q = RNG.standard_normal((2, 3, 4)).astype(np.float32)

# (name, fn(lib, F, x...) , inputs): the same code runs on torchlite and on torch.
CASES = [
    ("matmul", lambda m, f, a, b: a @ b, (A, B)),
    ("mm", lambda m, f, a, b: m.mm(a, b), (A, B)),
    ("bmm", lambda m, f, a, b: m.bmm(a, b), (BA, BB)),
    ("einsum", lambda m, f, a, b: m.einsum("ij,jk->ik", a, b), (A, B)),
    ("linear", lambda m, f, a, w, b: f.linear(a, w, b), (A, W, BIAS)),
    ("sdpa", lambda m, f, q: f.scaled_dot_product_attention(q, q, q, is_causal=True), (Q,)),
    ("softmax", lambda m, f, a: a.softmax(-1), (A,)),
    ("log_softmax", lambda m, f, a: f.log_softmax(a, dim=-1), (A,)),
    ("logsumexp", lambda m, f, a: a.logsumexp(-1), (A,)),
    ("sum", lambda m, f, a: a.sum(), (A,)),
    ("mean", lambda m, f, a: a.mean(0), (A,)),
    ("var", lambda m, f, a: a.var(), (A,)),
    ("std", lambda m, f, a: a.std(1), (A,)),
    ("norm", lambda m, f, a: a.norm(), (A,)),
    ("prod", lambda m, f, a: a.prod(), (A,)),
    ("cumsum", lambda m, f, a: a.cumsum(0), (A,)),
    ("exp", lambda m, f, a: a.exp(), (A,)),
    ("gelu", lambda m, f, a: f.gelu(a), (A,)),
    ("layer_norm", lambda m, f, a: f.layer_norm(a, (4,)), (A,)),
    ("add_mixed", lambda m, f, a, b: (a @ b) + m.ones(5), (A, B)),
    ("matmul_then_sum", lambda m, f, a, b: (a @ b).sum(), (A, B)),
    ("matmul_then_prod", lambda m, f, a, b: (a @ b).prod(), (A, B)),
    ("float64_matmul", lambda m, f, a, b: a.double() @ b.double(), (A, B)),
    ("int_add", lambda m, f, a: m.arange(3) + 1, (A,)),
]
# Losses sit on torch's CPU float32 list but are composite frontends in torchlite: not covered by op-level autocast.
LOSS_CASES = [
    ("cross_entropy", lambda m, f, a, b: f.cross_entropy(a @ b, m.tensor([0, 1, 2])), (A, B)),
    ("mse_loss", lambda m, f, a, b: f.mse_loss(a @ b, (a @ b) * 0.5), (A, B)),
]


def _name(d) -> str:
    return str(d).split(".")[-1]


def _run_both(fn, inputs, dtype_in):
    torch = pytest.importorskip("torch")
    tin = [torch.tensor(x).to(getattr(torch, dtype_in)) for x in inputs]
    lin = [tl.tensor(x).to(getattr(tl, dtype_in)) for x in inputs]
    with torch.autocast("cpu", torch.bfloat16):
        want = fn(torch, torch.nn.functional, *tin)
    with tl.autocast("cpu"):
        got = fn(tl, F, *lin)
    return got, want


@pytest.mark.parametrize("dtype_in", ["float32", "bfloat16"])
@pytest.mark.parametrize("name,fn,inputs", CASES, ids=[c[0] for c in CASES])
def test_result_dtype_matches_torch(name, fn, inputs, dtype_in):
    got, want = _run_both(fn, inputs, dtype_in)
    assert _name(got.dtype) == _name(want.dtype)
    tol = 1e-12 if got.dtype is tl.float64 else 3e-2
    np.testing.assert_allclose(got.float().numpy(), want.float().numpy(), rtol=tol, atol=tol)


@pytest.mark.parametrize("name,fn,inputs", LOSS_CASES, ids=[c[0] for c in LOSS_CASES])
def test_loss_dtype_matches_torch(name, fn, inputs):
    got, want = _run_both(fn, inputs, "float32")
    assert _name(got.dtype) == _name(want.dtype)


def test_outside_and_disabled_and_nested_restore():
    a, b = tl.tensor(A), tl.tensor(B)
    assert (a @ b).dtype is tl.float32
    assert not tl.amp.is_autocast_enabled("cpu")
    with tl.autocast("cpu"):
        assert tl.amp.is_autocast_enabled("cpu")
        assert (a @ b).dtype is tl.bfloat16
        with tl.autocast("cpu", enabled=False):
            assert (a @ b).dtype is tl.float32
            with tl.autocast("cpu", dtype=tl.float16):
                assert (a @ b).dtype is tl.float16
                assert tl.amp.get_autocast_dtype("cpu") is tl.float16
            assert (a @ b).dtype is tl.float32
        assert (a @ b).dtype is tl.bfloat16
        with tl.autocast("cuda", dtype=tl.float16):        # no cuda tensors: cpu ops untouched by a cuda region
            assert (a @ b).dtype is tl.bfloat16
    assert (a @ b).dtype is tl.float32
    assert tl.amp.get_autocast_dtype("cpu") is tl.bfloat16


def test_restores_after_exception():
    with pytest.raises(ZeroDivisionError):
        with tl.autocast("cpu"):
            1 / 0
    assert (tl.ones(2, 2) @ tl.ones(2, 2)).dtype is tl.float32


def test_decorator():
    @tl.autocast("cpu")
    def f(x):
        return x @ x

    assert f(tl.ones(2, 2)).dtype is tl.bfloat16
    assert (tl.ones(2, 2) @ tl.ones(2, 2)).dtype is tl.float32


def test_bad_args():
    with pytest.raises(RuntimeError, match="unsupported autocast device_type 'xpu9'"):
        tl.autocast("xpu9")
    with pytest.warns(UserWarning, match="target dtype is not supported"):
        ac = tl.autocast("cpu", dtype=tl.float64)
    with ac:
        assert (tl.ones(2, 2) @ tl.ones(2, 2)).dtype is tl.float32


@pytest.mark.parametrize("cache", [True, False])
def test_gradients_reach_float32_params(cache):
    torch = pytest.importorskip("torch")
    x = RNG.standard_normal((6, 4)).astype(np.float32)
    lin = tl.nn.Linear(4, 5)
    ref = torch.nn.Linear(4, 5)
    with torch.no_grad():
        ref.weight.copy_(torch.tensor(lin.weight.numpy()))
        ref.bias.copy_(torch.tensor(lin.bias.numpy()))
    with tl.autocast("cpu", cache_enabled=cache):
        h = lin(tl.tensor(x))
        h2 = lin(tl.tensor(x))                   # the same weight twice (a cache hit when enabled)
        loss = (h.float() ** 2).mean() + h2.float().sum()
    with torch.autocast("cpu", torch.bfloat16):
        th = ref(torch.tensor(x))
        th2 = ref(torch.tensor(x))
        tloss = (th.float() ** 2).mean() + th2.float().sum()
    assert h.dtype is tl.bfloat16 and loss.dtype is tl.float32
    loss.backward()
    tloss.backward()
    assert lin.weight.grad.dtype is tl.float32 and lin.bias.grad.dtype is tl.float32
    np.testing.assert_allclose(lin.weight.grad.numpy(), ref.weight.grad.numpy(), rtol=3e-2, atol=3e-2)
    np.testing.assert_allclose(lin.bias.grad.numpy(), ref.bias.grad.numpy(), rtol=3e-2, atol=3e-2)


def test_cache_sees_inplace_update():
    w = tl.ones(2, 2, requires_grad=True)
    with tl.autocast("cpu"):
        a = (tl.ones(2, 2) @ w).float().sum().item()
        with tl.no_grad():
            w.mul_(2.0)
        b = (tl.ones(2, 2) @ w).float().sum().item()
    assert (a, b) == (8.0, 16.0)


# ----------------------------------------------------------------------------------------------- GradScaler

def _grads_for(step: int):
    g = np.array([0.5, -2.0, 4.0], dtype=np.float32) * (step + 1)
    if step in (1, 5):
        g[1] = np.inf
    if step == 2:
        g[0] = np.nan
    return g


def test_gradscaler_matches_torch_step_by_step():
    torch = pytest.importorskip("torch")
    w = tl.tensor([1.0, 2.0, 3.0], requires_grad=True)
    tw = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    opt = tl.optim.SGD([w], lr=0.1, momentum=0.9)
    topt = torch.optim.SGD([tw], lr=0.1, momentum=0.9)
    kw = dict(init_scale=1024.0, growth_factor=2.0, backoff_factor=0.25, growth_interval=3)
    s = tl.amp.GradScaler("cpu", **kw)
    ts = torch.amp.GradScaler("cpu", **kw)
    assert s.get_scale() == ts.get_scale() == 1024.0
    for step in range(12):
        loss = s.scale((w * w).sum())
        tloss = ts.scale((tw * tw).sum())
        assert loss.item() == pytest.approx(tloss.item(), rel=1e-6)
        g = _grads_for(step) * s.get_scale()
        w.grad = tl.tensor(g)
        tw.grad = torch.tensor(g)
        if step % 2:
            s.unscale_(opt)
            ts.unscale_(topt)
            np.testing.assert_array_equal(w.grad.numpy(), tw.grad.numpy())
        s.step(opt)
        ts.step(topt)
        s.update()
        ts.update()
        assert s.get_scale() == ts.get_scale(), step
        assert s.state_dict() == ts.state_dict(), step
        np.testing.assert_allclose(w.detach().numpy(), tw.detach().numpy(), rtol=1e-6)
    assert s.get_scale() != 1024.0


def test_gradscaler_skips_step_on_inf():
    w = tl.tensor([1.0, 2.0], requires_grad=True)
    opt = tl.optim.SGD([w], lr=1.0)
    s = tl.amp.GradScaler(init_scale=8.0, growth_interval=1)
    s.scale(w.sum())
    w.grad = tl.tensor([np.inf, 1.0])
    s.step(opt)
    s.update()
    assert w.tolist() == [1.0, 2.0] and s.get_scale() == 4.0
    s.scale(w.sum())
    w.grad = tl.tensor([4.0, 8.0])
    s.step(opt)
    s.update()
    assert w.tolist() == [0.0, 0.0] and s.get_scale() == 8.0


def test_gradscaler_errors_and_state_dict():
    torch = pytest.importorskip("torch")
    w = tl.tensor([1.0], requires_grad=True)
    opt = tl.optim.SGD([w], lr=1.0)
    s = tl.amp.GradScaler(init_scale=4.0, growth_interval=7)
    with pytest.raises(RuntimeError, match="_scale is None"):
        s.unscale_(opt)
    s.scale(w.sum())
    w.grad = tl.tensor([4.0])
    s.unscale_(opt)
    with pytest.raises(RuntimeError, match="unscale_\\(\\) has already been called"):
        s.unscale_(opt)
    s.step(opt)
    with pytest.raises(RuntimeError, match="step\\(\\) has already been called"):
        s.step(opt)
    with pytest.raises(RuntimeError, match="unscale_\\(\\) is being called after step"):
        s.unscale_(opt)
    s.update()
    ts = torch.amp.GradScaler("cpu", init_scale=4.0, growth_interval=7)
    ts.scale(torch.ones(1))
    tw = torch.tensor([1.0], requires_grad=True)
    tw.grad = torch.tensor([4.0])
    topt = torch.optim.SGD([tw], lr=1.0)
    ts.step(topt)
    ts.update()
    assert s.state_dict() == ts.state_dict()
    s2 = tl.amp.GradScaler()
    s2.load_state_dict(ts.state_dict())
    assert s2.state_dict() == ts.state_dict()
    off = tl.amp.GradScaler(enabled=False)
    assert off.state_dict() == {} and off.get_scale() == 1.0
    with pytest.raises(RuntimeError, match="source state dict is empty"):
        s2.load_state_dict({})
    with pytest.raises(ValueError, match="growth factor must be > 1.0"):
        tl.amp.GradScaler(growth_factor=1.0)
    loss = tl.ones(1)
    assert off.scale(loss) is loss
