"""torchlite.optim.lr_scheduler against torch.optim.lr_scheduler: 30-step lr sequences (to 1e-12), chains,
OneCycleLR variants (with momentum/beta1 cycling), epoch= closed forms, state dict round trips, errors."""
from __future__ import annotations

import math

import pytest

import torchlite as tl

N = 30


def _opts(torch, opt_name="SGD", groups=2, **kw):
    def make(lib):
        ps = [lib.zeros(2, requires_grad=True) for _ in range(groups)]
        gs = [{"params": [p], "lr": 0.1 * (i + 1)} for i, p in enumerate(ps)]
        if opt_name == "SGD":
            kw.setdefault("momentum", 0.9)
        return getattr(lib.optim, opt_name)(gs, **kw)
    return make(tl), make(torch)


def _lm(lib):
    return lib.optim.lr_scheduler


SCHEDULERS = {
    "StepLR": lambda L, o: L.StepLR(o, step_size=4, gamma=0.7),
    "MultiStepLR": lambda L, o: L.MultiStepLR(o, milestones=[3, 8, 8, 20], gamma=0.5),
    "ExponentialLR": lambda L, o: L.ExponentialLR(o, gamma=0.93),
    "CosineAnnealingLR": lambda L, o: L.CosineAnnealingLR(o, T_max=7, eta_min=0.001),
    "CosineAnnealingLR-0": lambda L, o: L.CosineAnnealingLR(o, T_max=10),
    "LambdaLR": lambda L, o: L.LambdaLR(o, lr_lambda=lambda e: 1.0 / (1 + e) + 0.01 * e),
    "LambdaLR-list": lambda L, o: L.LambdaLR(o, lr_lambda=[lambda e: 0.95 ** e, lambda e: math.sqrt(e + 1)]),
    "LinearLR": lambda L, o: L.LinearLR(o, start_factor=0.2, end_factor=0.9, total_iters=12),
    "LinearLR-default": lambda L, o: L.LinearLR(o),
    "OneCycleLR-cos": lambda L, o: L.OneCycleLR(o, max_lr=1.0, total_steps=N + 1),
    "OneCycleLR-linear": lambda L, o: L.OneCycleLR(o, max_lr=[0.5, 2.0], total_steps=N + 1,
                                                   anneal_strategy="linear", pct_start=0.25),
    "OneCycleLR-three-phase": lambda L, o: L.OneCycleLR(o, max_lr=0.8, epochs=4, steps_per_epoch=8,
                                                        three_phase=True, div_factor=10.0),
    "OneCycleLR-three-phase-linear": lambda L, o: L.OneCycleLR(o, max_lr=0.8, total_steps=N + 5, three_phase=True,
                                                               anneal_strategy="linear", cycle_momentum=False),
    "SequentialLR": lambda L, o: L.SequentialLR(o, [L.LinearLR(o, start_factor=0.1, total_iters=5),
                                                    L.CosineAnnealingLR(o, T_max=20)], milestones=[5]),
    "SequentialLR-3": lambda L, o: L.SequentialLR(o, [L.ExponentialLR(o, gamma=0.9),
                                                      L.StepLR(o, step_size=3, gamma=0.5),
                                                      L.MultiStepLR(o, milestones=[22, 25], gamma=0.3)],
                                                  milestones=[6, 15]),
    "SequentialLR-lambda-cos": lambda L, o: L.SequentialLR(
        o, [L.ExponentialLR(o, gamma=0.8), L.LambdaLR(o, lambda e: 1.0 / (e + 1)), L.CosineAnnealingLR(o, T_max=6)],
        milestones=[2, 10]),
}


def _hp(opt):
    return [(g["lr"], g.get("momentum"), g.get("betas")) for g in opt.param_groups]


def _check_same(opt, topt, s, ts):
    for (lr, m, b), (tlr, tm, tb) in zip(_hp(opt), _hp(topt)):
        assert lr == pytest.approx(tlr, rel=1e-12, abs=1e-15)
        assert m == pytest.approx(tm, rel=1e-12) if tm is not None else m is None
        if tb is not None:
            assert b == pytest.approx(tb, rel=1e-12)
    assert s.get_last_lr() == pytest.approx(ts.get_last_lr(), rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("opt_name", ["SGD", "Adam"])
@pytest.mark.parametrize("kind", list(SCHEDULERS))
def test_lr_sequence_matches_torch(kind, opt_name):
    torch = pytest.importorskip("torch")
    opt, topt = _opts(torch, opt_name)
    s, ts = SCHEDULERS[kind](_lm(tl), opt), SCHEDULERS[kind](_lm(torch), topt)
    _check_same(opt, topt, s, ts)
    for _ in range(N):
        opt.step()
        topt.step()
        s.step()
        ts.step()
        _check_same(opt, topt, s, ts)


@pytest.mark.parametrize("kind", [k for k in SCHEDULERS if not k.startswith("OneCycle")])
def test_state_dict_round_trip(kind):
    torch = pytest.importorskip("torch")
    opt, topt = _opts(torch)
    s, ts = SCHEDULERS[kind](_lm(tl), opt), SCHEDULERS[kind](_lm(torch), topt)
    for _ in range(11):
        opt.step()
        topt.step()
        s.step()
        ts.step()
    sd = s.state_dict()
    assert "optimizer" not in sd
    # a fresh optimizer + scheduler resumed from the saved states continues torch's sequence
    opt2, _ = _opts(torch)
    opt2.load_state_dict(opt.state_dict())
    s2 = SCHEDULERS[kind](_lm(tl), opt2)
    s2.load_state_dict(sd)
    for group, saved in zip(opt2.param_groups, opt.param_groups):
        group["lr"] = saved["lr"]
    for _ in range(N - 11):
        opt2.step()
        topt.step()
        s2.step()
        ts.step()
        _check_same(opt2, topt, s2, ts)


def test_onecycle_state_dict_round_trip():
    torch = pytest.importorskip("torch")
    opt, topt = _opts(torch, "Adam")
    make = SCHEDULERS["OneCycleLR-three-phase"]
    s, ts = make(_lm(tl), opt), make(_lm(torch), topt)
    for _ in range(10):
        opt.step(); topt.step(); s.step(); ts.step()
    opt2, _ = _opts(torch, "Adam")
    opt2.load_state_dict(opt.state_dict())
    s2 = make(_lm(tl), opt2)
    s2.load_state_dict(s.state_dict())
    for _ in range(20):
        opt2.step(); topt.step(); s2.step(); ts.step()
        _check_same(opt2, topt, s2, ts)


@pytest.mark.parametrize("kind", ["StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR", "LinearLR"])
def test_epoch_argument_uses_closed_form(kind):
    torch = pytest.importorskip("torch")
    opt, topt = _opts(torch)
    s, ts = SCHEDULERS[kind](_lm(tl), opt), SCHEDULERS[kind](_lm(torch), topt)
    for e in [3, 9, 4, 17, 25]:
        opt.step(); topt.step()
        with pytest.warns(UserWarning, match="epoch parameter"):
            s.step(e)
        with pytest.warns(UserWarning):
            ts.step(e)
        _check_same(opt, topt, s, ts)


def test_schedulers_update_lr_in_optimizer_and_resume_with_last_epoch():
    opt = tl.optim.SGD([tl.zeros(1, requires_grad=True)], lr=1.0)
    with pytest.raises(KeyError, match="initial_lr"):
        tl.optim.lr_scheduler.StepLR(opt, step_size=2, last_epoch=3)
    s = tl.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    assert opt.param_groups[0]["initial_lr"] == 1.0 and s.base_lrs == [1.0] and s.last_epoch == 0
    for _ in range(4):
        opt.step(); s.step()
    assert opt.param_groups[0]["lr"] == 0.25 == s.get_last_lr()[0]


def test_warnings_like_torch():
    opt = tl.optim.SGD([tl.zeros(1, requires_grad=True)], lr=1.0)
    s = tl.optim.lr_scheduler.ExponentialLR(opt, gamma=0.5)
    with pytest.warns(UserWarning, match=r"before `optimizer.step\(\)`"):
        s.step()
    with pytest.warns(UserWarning, match="get_last_lr"):
        s.get_lr()


def test_errors_like_torch():
    torch = pytest.importorskip("torch")
    opt, topt = _opts(torch)
    cases = [
        lambda L, o: L.LinearLR(o, start_factor=0.0),
        lambda L, o: L.LinearLR(o, end_factor=1.5),
        lambda L, o: L.LambdaLR(o, lr_lambda=[lambda e: 1.0]),
        lambda L, o: L.OneCycleLR(o, max_lr=1.0),
        lambda L, o: L.OneCycleLR(o, max_lr=1.0, total_steps=0),
        lambda L, o: L.OneCycleLR(o, max_lr=1.0, total_steps=10, pct_start=1),
        lambda L, o: L.OneCycleLR(o, max_lr=1.0, total_steps=10, anneal_strategy="exp"),
        lambda L, o: L.OneCycleLR(o, max_lr=[1.0], total_steps=10),
        lambda L, o: L.SequentialLR(o, [L.StepLR(o, 2)], milestones=[3]),
        lambda L, o: L.SequentialLR(o, [], milestones=[]),
        lambda L, o: L.StepLR(object(), 2),
    ]
    for case in cases:
        with pytest.raises(Exception) as te:
            case(_lm(torch), topt)
        with pytest.raises(Exception) as e:
            case(_lm(tl), opt)
        assert e.type is te.type and str(e.value) == str(te.value)
    s, ts = _lm(tl).OneCycleLR(opt, max_lr=1.0, total_steps=3), _lm(torch).OneCycleLR(topt, max_lr=1.0, total_steps=3)
    for _ in range(3):
        opt.step(); topt.step(); s.step(); ts.step()
    opt.step(); topt.step()
    with pytest.raises(ValueError) as te:
        ts.step()
    with pytest.raises(ValueError) as e:
        s.step()
    assert str(e.value) == str(te.value) == "Tried to step 4 times. The specified number of total steps is 3"
    opt2 = tl.optim.SGD([tl.zeros(1, requires_grad=True)], lr=1.0)
    with pytest.raises(ValueError, match="same optimizer"):
        _lm(tl).SequentialLR(opt, [_lm(tl).StepLR(opt2, 2), _lm(tl).StepLR(opt, 2)], milestones=[3])
