"""torchlite.optim optimizers against torch.optim: trajectories, state dicts, param groups, zero_grad, errors,
and that a changing lr never recompiles (DESIGN.md decision 4)."""
from __future__ import annotations

import numpy as np
import pytest

import torchlite as tl

STEPS = 10

SGD_CONFIGS = [
    dict(lr=0.1),
    dict(lr=0.1, momentum=0.9),
    dict(lr=0.05, momentum=0.9, dampening=0.5),
    dict(lr=0.1, momentum=0.8, nesterov=True),
    dict(lr=0.1, weight_decay=0.01),
    dict(lr=0.1, momentum=0.9, weight_decay=0.05, nesterov=True),
    dict(lr=0.1, momentum=0.5, maximize=True),
    dict(lr=0.02, momentum=0.7, dampening=0.1, weight_decay=0.1, maximize=True),
]
ADAM_CONFIGS = [
    dict(),
    dict(lr=0.05),
    dict(lr=0.05, amsgrad=True),
    dict(lr=0.05, weight_decay=0.1),
    dict(lr=0.05, weight_decay=0.1, amsgrad=True),
    dict(lr=0.02, betas=(0.8, 0.99), eps=1e-6),
    dict(lr=0.05, maximize=True),
    dict(lr=0.05, maximize=True, amsgrad=True, weight_decay=0.01),
]
ADAMW_CONFIGS = [
    dict(),
    dict(lr=0.05, weight_decay=0.1),
    dict(lr=0.05, weight_decay=0.1, amsgrad=True),
    dict(lr=0.05, weight_decay=0.0),
    dict(lr=0.05, weight_decay=0.2, maximize=True, betas=(0.85, 0.95)),
]
CASES = ([("SGD", c) for c in SGD_CONFIGS] + [("Adam", c) for c in ADAM_CONFIGS]
         + [("AdamW", c) for c in ADAMW_CONFIGS])
IDS = [f"{n}-{'-'.join(f'{k}={v}' for k, v in c.items()) or 'default'}" for n, c in CASES]


def _problem(seed: int = 0):
    r = np.random.default_rng(seed)
    return dict(W=r.standard_normal((3, 2)), b=r.standard_normal(2), X=r.standard_normal((5, 3)),
                Y=r.standard_normal((5, 2)))


def _loss(lib, W, b, X, Y):
    return ((X @ W + b - Y) ** 2).mean() + 0.1 * (W ** 4).sum()


def _params(lib, prob):
    return [lib.tensor(prob["W"].copy(), requires_grad=True), lib.tensor(prob["b"].copy(), requires_grad=True)]


def _close(tl_params, th_params, rtol=1e-9, atol=1e-12):
    for a, e in zip(tl_params, th_params):
        np.testing.assert_allclose(a.numpy(), e.detach().numpy(), rtol=rtol, atol=atol)


@pytest.mark.parametrize("name,cfg", CASES, ids=IDS)
def test_trajectory_autograd_matches_torch(name, cfg):
    torch = pytest.importorskip("torch")
    prob = _problem()
    ps, qs = _params(tl, prob), _params(torch, prob)
    X, Y = tl.tensor(prob["X"]), tl.tensor(prob["Y"])
    tX, tY = torch.tensor(prob["X"]), torch.tensor(prob["Y"])
    opt, topt = getattr(tl.optim, name)(ps, **cfg), getattr(torch.optim, name)(qs, **cfg)
    for _ in range(STEPS):
        opt.zero_grad()
        topt.zero_grad()
        loss = _loss(tl, *ps, X, Y)
        loss.backward()
        tloss = _loss(torch, *qs, tX, tY)
        tloss.backward()
        assert abs(loss.item() - tloss.item()) <= 1e-9 * abs(tloss.item())
        opt.step()
        topt.step()
        _close(ps, qs)
    for p in ps:
        assert p.requires_grad and p.is_leaf and p.grad_fn is None


@pytest.mark.parametrize("name,cfg", CASES, ids=IDS)
def test_trajectory_explicit_grads_matches_torch(name, cfg):
    torch = pytest.importorskip("torch")
    prob = _problem(1)
    r = np.random.default_rng(7)
    ps, qs = _params(tl, prob), _params(torch, prob)
    opt, topt = getattr(tl.optim, name)(ps, **cfg), getattr(torch.optim, name)(qs, **cfg)
    for _ in range(STEPS):
        for p, q in zip(ps, qs):
            g = r.standard_normal(p.shape) * 3
            p.grad, q.grad = tl.tensor(g), torch.tensor(g)
        opt.step()
        topt.step()
        _close(ps, qs, rtol=1e-12, atol=1e-14)


def test_float32_params_stay_float32():
    torch = pytest.importorskip("torch")
    prob = _problem(2)
    ps = [tl.tensor(prob["W"], dtype=tl.float32, requires_grad=True)]
    qs = [torch.tensor(prob["W"], dtype=torch.float32, requires_grad=True)]
    opt, topt = tl.optim.Adam(ps, lr=0.1, amsgrad=True), torch.optim.Adam(qs, lr=0.1, amsgrad=True)
    for _ in range(STEPS):
        (ps[0] ** 2).sum().backward()
        (qs[0] ** 2).sum().backward()
        opt.step()
        topt.step()
        assert ps[0].dtype is tl.float32 and opt.state[ps[0]]["exp_avg"].dtype is tl.float32
        np.testing.assert_allclose(ps[0].numpy(), qs[0].detach().numpy(), rtol=1e-5, atol=1e-6)


def test_closure_returns_loss_and_matches_torch():
    torch = pytest.importorskip("torch")
    prob = _problem(3)
    ps, qs = _params(tl, prob), _params(torch, prob)
    X, Y = tl.tensor(prob["X"]), tl.tensor(prob["Y"])
    tX, tY = torch.tensor(prob["X"]), torch.tensor(prob["Y"])
    opt = tl.optim.SGD(ps, lr=0.05, momentum=0.9)
    topt = torch.optim.SGD(qs, lr=0.05, momentum=0.9)

    def closure():
        opt.zero_grad()
        loss = _loss(tl, *ps, X, Y)
        assert tl.is_grad_enabled()          # the closure runs with grad on, inside step's no_grad
        loss.backward()
        return loss

    def tclosure():
        topt.zero_grad()
        loss = _loss(torch, *qs, tX, tY)
        loss.backward()
        return loss

    for _ in range(STEPS):
        loss, tloss = opt.step(closure), topt.step(tclosure)
        assert abs(loss.item() - tloss.item()) <= 1e-9 * abs(tloss.item())
        _close(ps, qs)
    assert opt.step() is None


# -- state dicts ---------------------------------------------------------------------------------------
def _grads(n, shapes, seed=11):
    r = np.random.default_rng(seed)
    return [[r.standard_normal(s) for s in shapes] for _ in range(n)]


def _apply(ps, opt, grads, lib=tl):
    for gs in grads:
        for p, g in zip(ps, gs):
            p.grad = lib.tensor(g)
        opt.step()


@pytest.mark.parametrize("name,cfg", [("SGD", dict(lr=0.1, momentum=0.9, nesterov=True)),
                                      ("Adam", dict(lr=0.05, amsgrad=True, weight_decay=0.1)),
                                      ("AdamW", dict(lr=0.05, weight_decay=0.1))])
def test_state_dict_round_trip_continues_trajectory(name, cfg):
    prob = _problem(4)
    shapes = [(3, 2), (2,)]
    grads = _grads(2 * STEPS // 2, shapes)
    ps = _params(tl, prob)
    opt = getattr(tl.optim, name)(ps, **cfg)
    _apply(ps, opt, grads[:5])
    sd = opt.state_dict()
    assert sorted(sd["state"]) == [0, 1]
    assert [g["params"] for g in sd["param_groups"]] == [[0, 1]]
    qs = [tl.tensor(p.numpy().copy(), requires_grad=True) for p in ps]
    opt2 = getattr(tl.optim, name)(qs, lr=123.0)       # the loaded groups' hyperparameters win
    opt2.load_state_dict(sd)        # loads copies (torchlite tensors do not deepcopy)
    assert opt2.param_groups[0]["lr"] == cfg["lr"] and opt2.param_groups[0]["params"][0] is qs[0]
    _apply(ps, opt, grads[5:])
    _apply(qs, opt2, grads[5:])
    for p, q in zip(ps, qs):
        np.testing.assert_array_equal(p.numpy(), q.numpy())
    # the loaded state is a copy: stepping the original again leaves the new one alone
    before = [v.numpy().copy() for v in opt2.state[qs[0]].values() if isinstance(v, tl.Tensor)]
    _apply(ps, opt, grads[:1])
    after = [v.numpy() for v in opt2.state[qs[0]].values() if isinstance(v, tl.Tensor)]
    for a, b in zip(before, after):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name,cfg", [("SGD", dict(lr=0.1, momentum=0.9)),
                                      ("Adam", dict(lr=0.05, amsgrad=True)),
                                      ("AdamW", dict(lr=0.05))])
def test_state_dict_format_matches_torch(name, cfg):
    """A torch state dict (tensors converted) loads into torchlite and continues torch's trajectory; the
    formats have the same keys."""
    torch = pytest.importorskip("torch")
    prob = _problem(5)
    shapes = [(3, 2), (2,)]
    grads = _grads(STEPS, shapes)
    qs = _params(torch, prob)
    topt = getattr(torch.optim, name)(qs, **cfg)
    _apply(qs, topt, grads[:4], lib=torch)
    ps = [tl.tensor(q.detach().numpy().copy(), requires_grad=True) for q in qs]
    opt = getattr(tl.optim, name)(ps, **cfg)
    tsd = topt.state_dict()
    conv = {"state": {k: {kk: tl.tensor(vv.numpy()) if isinstance(vv, torch.Tensor) else vv
                          for kk, vv in v.items()} for k, v in tsd["state"].items()},
            "param_groups": tsd["param_groups"]}
    opt.load_state_dict(conv)
    _apply(qs, topt, grads[4:], lib=torch)
    _apply(ps, opt, grads[4:])
    _close(ps, qs, rtol=1e-12, atol=1e-14)
    sd, tsd = opt.state_dict(), topt.state_dict()
    assert set(sd["param_groups"][0]) == set(tsd["param_groups"][0])
    assert sd["param_groups"][0]["params"] == tsd["param_groups"][0]["params"]
    assert set(sd["state"]) == set(tsd["state"])
    for k in tsd["state"]:
        assert set(sd["state"][k]) == set(tsd["state"][k])
        for kk, v in tsd["state"][k].items():
            np.testing.assert_allclose(np.asarray(sd["state"][k][kk].numpy()), v.numpy(), rtol=1e-12, atol=1e-14)


def test_load_state_dict_errors():
    a, b = tl.zeros(2, requires_grad=True), tl.zeros(3, requires_grad=True)
    sd = tl.optim.SGD([a, b], lr=0.1).state_dict()
    with pytest.raises(ValueError, match="different number of parameter groups"):
        tl.optim.SGD([{"params": [a]}, {"params": [b]}], lr=0.1).load_state_dict(sd)
    with pytest.raises(ValueError, match="doesn't match the size of optimizer's group"):
        tl.optim.SGD([a], lr=0.1).load_state_dict(sd)


# -- zero_grad, groups, skipping -----------------------------------------------------------------------
def test_zero_grad_set_to_none_and_zeros():
    w = tl.tensor([1.0, 2.0], requires_grad=True)
    v = tl.tensor([1.0], requires_grad=True)          # never gets a grad: stays None
    opt = tl.optim.SGD([w, v], lr=0.1)
    (w * w).sum().backward()
    g = w.grad
    opt.zero_grad(set_to_none=False)
    assert w.grad is g and w.grad.tolist() == [0.0, 0.0] and not w.grad.requires_grad and v.grad is None
    (w * w).sum().backward()
    assert w.grad.tolist() == [2.0, 4.0]              # accumulates onto the zeros
    opt.zero_grad()
    assert w.grad is None and v.grad is None


def test_zero_grad_detaches_graph_grads():
    w = tl.tensor([1.0, 2.0], requires_grad=True)
    opt = tl.optim.SGD([w], lr=0.1)
    (w ** 3).sum().backward(create_graph=True)
    assert w.grad.requires_grad
    opt.zero_grad(set_to_none=False)
    assert not w.grad.requires_grad and w.grad.grad_fn is None and w.grad.tolist() == [0.0, 0.0]


def test_params_without_grad_are_skipped():
    w = tl.tensor([1.0, 2.0], requires_grad=True)
    v = tl.tensor([3.0], requires_grad=True)
    opt = tl.optim.Adam([w, v], lr=0.1)
    w.grad = tl.tensor([1.0, -1.0])
    opt.step()
    assert v.tolist() == [3.0] and v not in opt.state and opt.state[w]["step"].item() == 1.0


def test_param_groups_with_different_hyperparameters():
    torch = pytest.importorskip("torch")
    prob = _problem(6)
    ps, qs = _params(tl, prob), _params(torch, prob)

    def groups(p):
        return [{"params": [p[0]]}, {"params": p[1], "lr": 0.01, "momentum": 0.5}]

    opt = tl.optim.SGD(groups(ps), lr=0.1, momentum=0.9)
    topt = torch.optim.SGD(groups(qs), lr=0.1, momentum=0.9)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.01]
    assert [g["momentum"] for g in opt.param_groups] == [0.9, 0.5]
    assert opt.param_groups[1]["params"] == [ps[1]] or opt.param_groups[1]["params"][0] is ps[1]
    for gs in _grads(STEPS, [(3, 2), (2,)]):
        for p, q, g in zip(ps, qs, gs):
            p.grad, q.grad = tl.tensor(g), torch.tensor(g)
        opt.step()
        topt.step()
        _close(ps, qs, rtol=1e-12, atol=1e-14)


def test_add_param_group():
    torch = pytest.importorskip("torch")
    prob = _problem(7)
    ps, qs = _params(tl, prob), _params(torch, prob)
    opt, topt = tl.optim.Adam([ps[0]], lr=0.1), torch.optim.Adam([qs[0]], lr=0.1)
    grads = _grads(STEPS, [(3, 2), (2,)])
    for i, gs in enumerate(grads):
        if i == 3:
            opt.add_param_group({"params": [ps[1]], "lr": 0.02, "amsgrad": True})
            topt.add_param_group({"params": [qs[1]], "lr": 0.02, "amsgrad": True})
            assert opt.param_groups[1]["betas"] == (0.9, 0.999)      # defaults fill the rest
        for p, q, g in zip(ps, qs, gs):
            p.grad, q.grad = tl.tensor(g), torch.tensor(g)
        opt.step()
        topt.step()
        _close(ps, qs, rtol=1e-12, atol=1e-14)


def test_state_keyed_by_tensor():
    w = tl.tensor([1.0], requires_grad=True)
    opt = tl.optim.SGD([w], lr=0.1, momentum=0.9)
    w.grad = tl.tensor([2.0])
    opt.step()
    assert list(opt.state) == [w] and opt.state[w]["momentum_buffer"].tolist() == [2.0]


# -- compiled programs are reused when hyperparameters change ------------------------------------------
@pytest.mark.parametrize("name,cfg", [("SGD", dict(lr=0.1, momentum=0.9, weight_decay=0.01, nesterov=True)),
                                      ("Adam", dict(lr=0.05, amsgrad=True)),
                                      ("AdamW", dict(lr=0.05, weight_decay=0.1))])
def test_changing_lr_does_not_recompile(name, cfg):
    prob = _problem(8)
    ps = _params(tl, prob)
    X, Y = tl.tensor(prob["X"]), tl.tensor(prob["Y"])
    opt = getattr(tl.optim, name)(ps, **cfg)
    sched = tl.optim.lr_scheduler.ExponentialLR(opt, gamma=0.9)
    backend = tl.devices.backend_for(tl.devices.CPU)

    def one_step():
        opt.zero_grad()
        loss = _loss(tl, *ps, X, Y)
        loss.backward()
        opt.step()
        sched.step()
        loss.item()
        for p in ps:
            p.numpy()

    for _ in range(3):
        one_step()
    misses, hits = backend.cache_info()["misses"], backend.cache_info()["hits"]
    lrs = set()
    for i in range(8):
        one_step()
        lrs.add(opt.param_groups[0]["lr"])
        if i == 4:
            opt.param_groups[0]["lr"] = 0.003                  # set by hand too
    assert len(lrs) == 8
    assert backend.cache_info()["misses"] == misses
    assert backend.cache_info()["hits"] >= hits + 8         # the steps did run compiled programs


# -- errors ----------------------------------------------------------------------------------------------
ERROR_CASES = [
    ("SGD", dict(lr=-0.1)),
    ("SGD", dict(lr=0.1, momentum=-0.5)),
    ("SGD", dict(lr=0.1, weight_decay=-1.0)),
    ("SGD", dict(lr=0.1, nesterov=True)),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.1, nesterov=True)),
    ("Adam", dict(lr=-1e-3)),
    ("Adam", dict(eps=-1.0)),
    ("Adam", dict(betas=(1.0, 0.999))),
    ("Adam", dict(betas=(0.9, -0.1))),
    ("Adam", dict(betas=(0.9, 1))),
    ("Adam", dict(weight_decay=-0.1)),
    ("AdamW", dict(lr=-1.0)),
    ("AdamW", dict(betas=(0.5, 1.5))),
]


def _both_raise(fn_tl, fn_torch):
    with pytest.raises(Exception) as te:
        fn_torch()
    with pytest.raises(Exception) as e:
        fn_tl()
    assert e.type is te.type, (e.value, te.value)
    return str(e.value), str(te.value)


@pytest.mark.parametrize("name,cfg", ERROR_CASES)
def test_bad_hyperparameters_like_torch(name, cfg):
    torch = pytest.importorskip("torch")
    msg, tmsg = _both_raise(lambda: getattr(tl.optim, name)([tl.zeros(2, requires_grad=True)], **cfg),
                            lambda: getattr(torch.optim, name)([torch.zeros(2, requires_grad=True)], **cfg))
    assert msg == tmsg


def test_bad_params_like_torch():
    torch = pytest.importorskip("torch")
    a, ta = tl.zeros(2, requires_grad=True), torch.zeros(2, requires_grad=True)
    msg, tmsg = _both_raise(lambda: tl.optim.SGD([], lr=0.1), lambda: torch.optim.SGD([], lr=0.1))
    assert msg == tmsg == "optimizer got an empty parameter list"
    msg, tmsg = _both_raise(lambda: tl.optim.SGD(a, lr=0.1), lambda: torch.optim.SGD(ta, lr=0.1))
    assert msg.startswith("params argument given to the optimizer should be an iterable of Tensors or dicts")
    assert tmsg.startswith("params argument given to the optimizer should be an iterable of Tensors or dicts")
    msg, tmsg = _both_raise(lambda: tl.optim.SGD([1.0], lr=0.1), lambda: torch.optim.SGD([1.0], lr=0.1))
    assert msg == tmsg == "optimizer can only optimize Tensors, but one of the params is float"
    msg, tmsg = _both_raise(lambda: tl.optim.SGD([a * 2], lr=0.1), lambda: torch.optim.SGD([ta * 2], lr=0.1))
    assert msg == tmsg == "can't optimize a non-leaf Tensor"
    msg, tmsg = _both_raise(lambda: tl.optim.SGD([{"params": [a]}, {"params": [a]}], lr=0.1),
                            lambda: torch.optim.SGD([{"params": [ta]}, {"params": [ta]}], lr=0.1))
    assert msg == tmsg == "some parameters appear in more than one parameter group"
    msg, tmsg = _both_raise(lambda: tl.optim.SGD([{"params": {a}}], lr=0.1),
                            lambda: torch.optim.SGD([{"params": {ta}}], lr=0.1))
    assert msg == tmsg and "ordered collections" in msg
    opt, topt = tl.optim.SGD([a], lr=0.1), torch.optim.SGD([ta], lr=0.1)
    msg, tmsg = _both_raise(lambda: opt.add_param_group([a]), lambda: topt.add_param_group([ta]))
    assert msg == tmsg == "param_group must be a dict, but got <class 'list'>"


def test_duplicate_params_warn():
    a = tl.zeros(2, requires_grad=True)
    with pytest.warns(UserWarning, match="duplicate parameters"):
        tl.optim.SGD([a, a], lr=0.1)


def test_optimizer_base_step_not_implemented_and_repr():
    opt = tl.optim.Optimizer([tl.zeros(1, requires_grad=True)], {"lr": 0.5})
    with pytest.raises(NotImplementedError):
        opt.step()
    assert "Parameter Group 0" in repr(tl.optim.SGD([tl.zeros(1, requires_grad=True)], lr=0.5))
    assert "lr: 0.5" in repr(tl.optim.SGD([tl.zeros(1, requires_grad=True)], lr=0.5))
