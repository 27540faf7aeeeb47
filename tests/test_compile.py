"""torchlite.compile: compiled training steps equal eager ones, guards re-trace, what cannot replay runs eagerly."""
from __future__ import annotations

import copy
import warnings

import numpy as np
import pytest

import torchlite as tl
import torchlite.nn as nn
import torchlite.nn.functional as F
from torchlite.compile import CompileFallbackWarning
from torchlite.devices import CPU, backend_for


class MLP(nn.Module):
    def __init__(self, p_drop: float = 0.0):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(12, 16), nn.Linear(16, 5)
        self.drop = nn.Dropout(p_drop)

    def forward(self, x):
        return self.fc2(self.drop(F.relu(self.fc1(x))))


def _batches(n: int, batch: int = 8, seed: int = 0):
    rng = np.random.default_rng(seed)
    return [(tl.tensor(rng.standard_normal((batch, 12)).astype(np.float32)), tl.tensor(rng.integers(0, 5, batch)))
            for _ in range(n)]


def _pair(make_opt, p_drop: float = 0.0):
    """Two identical (model, optimizer) pairs: one for eager steps, one for compiled steps."""
    tl.manual_seed(0)
    a = MLP(p_drop)
    b = copy.deepcopy(a)
    return (a, make_opt(a)), (b, make_opt(b))


def _train_step(model, opt):
    def step(x, y):
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss
    return step


def _assert_same_state(ma, oa, mb, ob):
    for (name, pa), pb in zip(ma.named_parameters(), mb.parameters()):
        np.testing.assert_array_equal(pa.numpy(), pb.numpy(), err_msg=name)
        np.testing.assert_array_equal(pa.grad.numpy(), pb.grad.numpy(), err_msg=name + ".grad")
        sa, sb = oa.state[pa], ob.state[pb]
        assert sa.keys() == sb.keys()
        for k in sa:
            np.testing.assert_array_equal(np.asarray(sa[k].numpy()), np.asarray(sb[k].numpy()), err_msg=f"{name} {k}")


@pytest.mark.parametrize("make_opt", [
    lambda m: tl.optim.SGD(m.parameters(), lr=0.1, momentum=0.9),
    lambda m: tl.optim.SGD(m.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-2),
    lambda m: tl.optim.AdamW(m.parameters(), lr=1e-2, capturable=True),
    lambda m: tl.optim.Adam(m.parameters(), lr=1e-2, amsgrad=True, capturable=True),
], ids=["sgd-momentum", "sgd-nesterov-wd", "adamw-capturable", "adam-amsgrad-capturable"])
def test_compiled_steps_equal_eager_steps(make_opt):
    (ma, oa), (mb, ob) = _pair(make_opt)
    eager, compiled = _train_step(ma, oa), tl.compile(_train_step(mb, ob))
    with warnings.catch_warnings():
        warnings.simplefilter("error", CompileFallbackWarning)
        for x, y in _batches(6):
            assert eager(x, y).item() == compiled(x, y).item()
    assert compiled.replays >= 3 and compiled.eager_reason is None
    _assert_same_state(ma, oa, mb, ob)


@pytest.mark.parametrize("amsgrad", [False, True])
def test_adam_capturable_gives_the_same_numbers_as_the_default(amsgrad):
    (ma, oa), (mb, ob) = _pair(lambda m: tl.optim.AdamW(m.parameters(), lr=1e-2, amsgrad=amsgrad))
    ob.param_groups[0]["capturable"] = True
    for x, y in _batches(5):
        _train_step(ma, oa)(x, y).item()
        _train_step(mb, ob)(x, y).item()
    _assert_same_state(ma, oa, mb, ob)                       # bias corrections in float64, as Python floats are


def test_adam_without_capturable_runs_eagerly_and_says_why():
    (ma, oa), (mb, ob) = _pair(lambda m: tl.optim.AdamW(m.parameters(), lr=1e-2))
    eager, compiled = _train_step(ma, oa), tl.compile(_train_step(mb, ob))
    with pytest.warns(CompileFallbackWarning, match=r"\.item\(\).*capturable=True"):
        for x, y in _batches(4):
            assert eager(x, y).item() == compiled(x, y).item()
    assert compiled.replays == 0 and "adam.py" in compiled.eager_reason
    _assert_same_state(ma, oa, mb, ob)


def test_a_new_input_shape_retraces_and_each_shape_replays():
    (ma, oa), (mb, ob) = _pair(lambda m: tl.optim.SGD(m.parameters(), lr=0.1, momentum=0.9))
    eager, compiled = _train_step(ma, oa), tl.compile(_train_step(mb, ob))
    small, large = _batches(3, batch=4, seed=1), _batches(3, batch=9, seed=2)
    for (xs, ys), (xl, yl) in zip(small, large):
        assert eager(xs, ys).item() == compiled(xs, ys).item()
        assert eager(xl, yl).item() == compiled(xl, yl).item()
    # the first call makes the momentum buffers (a new set of state: not kept), then one trace per shape
    assert compiled.traces == 3 and compiled.replays == 3
    _assert_same_state(ma, oa, mb, ob)


def test_an_lr_change_retraces_without_compiling_a_program():
    (ma, oa), (mb, ob) = _pair(lambda m: tl.optim.SGD(m.parameters(), lr=0.1, momentum=0.9))
    sa = tl.optim.lr_scheduler.StepLR(oa, step_size=1, gamma=0.5)
    sb = tl.optim.lr_scheduler.StepLR(ob, step_size=1, gamma=0.5)
    eager, compiled = _train_step(ma, oa), tl.compile(_train_step(mb, ob))
    cache = backend_for(CPU)
    for i, (x, y) in enumerate(_batches(6)):
        a = eager(x, y).item()
        misses, traces = cache.cache_info()["misses"], compiled.traces
        assert compiled(x, y).item() == a
        if i >= 2:
            assert compiled.traces == traces + 1                 # every lr is new: traced again...
            assert cache.cache_info()["misses"] == misses        # ...but the program comes from the cache
        sa.step(), sb.step()
    assert ob.param_groups[0]["lr"] == 0.1 * 0.5 ** 6
    _assert_same_state(ma, oa, mb, ob)


def test_dropout_runs_eagerly_with_one_warning_and_stays_correct():
    (ma, oa), (mb, ob) = _pair(lambda m: tl.optim.SGD(m.parameters(), lr=0.1), p_drop=0.5)
    eager, compiled = _train_step(ma, oa), tl.compile(_train_step(mb, ob))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for i, (x, y) in enumerate(_batches(5)):
            tl.manual_seed(i)
            a = eager(x, y).item()
            tl.manual_seed(i)
            assert compiled(x, y).item() == a
    fallbacks = [w for w in caught if issubclass(w.category, CompileFallbackWarning)]
    assert len(fallbacks) == 1
    assert "random numbers" in str(fallbacks[0].message) and "test_compile.py" in str(fallbacks[0].message)
    assert fallbacks[0].filename == __file__                 # the warning points at the caller's line
    _assert_same_state(ma, oa, mb, ob)


def test_eval_mode_dropout_replays_and_train_mode_is_a_new_trace():
    (ma, oa), (mb, ob) = _pair(lambda m: tl.optim.SGD(m.parameters(), lr=0.1), p_drop=0.5)
    ma.eval(), mb.eval()
    eager, compiled = _train_step(ma, oa), tl.compile(_train_step(mb, ob))
    for x, y in _batches(3):
        assert eager(x, y).item() == compiled(x, y).item()
    assert compiled.replays == 2
    mb.train()                                               # module.training is read: a different trace
    with pytest.warns(CompileFallbackWarning, match="random"):
        compiled(*_batches(1)[0])


def test_multiple_return_values():
    (ma, oa), (mb, ob) = _pair(lambda m: tl.optim.SGD(m.parameters(), lr=0.1, momentum=0.9))

    def make(model, opt):
        def step(x, y):
            logits = model(x)
            loss = F.cross_entropy(logits, y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            acc = (logits.argmax(dim=1) == y).float().mean()
            return loss.detach(), {"acc": acc, "n": x.shape[0], "w": model.fc2.weight}, logits.detach()
        return step

    eager, compiled = make(ma, oa), tl.compile(make(mb, ob))
    for x, y in _batches(4):
        la, da, za = eager(x, y)
        lb, db, zb = compiled(x, y)
        assert la.item() == lb.item() and da["acc"].item() == db["acc"].item() and db["n"] == 8
        np.testing.assert_array_equal(za.numpy(), zb.numpy())
        assert db["w"] is mb.fc2.weight                      # a state tensor comes back as itself
    assert compiled.replays == 2
    assert not lb.requires_grad and lb.grad_fn is None


def test_a_non_tensor_where_a_tensor_was_traced_retraces():
    w = tl.ones(3)
    compiled = tl.compile(lambda x: (w * x).relu().sum())
    assert compiled(tl.tensor([1.0, 2.0, 3.0])).item() == 6.0
    assert compiled(2.0).item() == 6.0                       # a number: a different signature, traced
    assert compiled.traces == 2
    with pytest.raises(AttributeError, match="relu"):
        compiled(np.ones(3))                                 # the function's own error, as eager mode gives it
    assert compiled.traces == 3
    assert compiled(tl.tensor([1.0, -1.0, 1.0])).item() == 2.0      # after a failed call: traced again
    assert compiled(tl.tensor([1.0, -1.0, 0.0])).item() == 1.0 and compiled.replays == 1


def test_state_rebound_outside_the_function_retraces():
    (ma, oa), (mb, ob) = _pair(lambda m: tl.optim.SGD(m.parameters(), lr=0.1, momentum=0.9))
    eager, compiled = _train_step(ma, oa), tl.compile(_train_step(mb, ob))
    data = _batches(8)
    for x, y in data[:3]:
        eager(x, y), compiled(x, y)
    saved = {k: v.clone() for k, v in ma.state_dict().items()}
    for x, y in data[3:5]:
        eager(x, y), compiled(x, y)
    traces = compiled.traces
    ma.load_state_dict(saved), mb.load_state_dict(saved)     # rebinds the parameters
    assert eager(*data[5]).item() == compiled(*data[5]).item()
    assert compiled.traces == traces + 1
    with tl.no_grad():                                       # an in-place write between steps
        ma.fc1.weight.mul_(0.5), mb.fc1.weight.mul_(0.5)
    assert eager(*data[6]).item() == compiled(*data[6]).item()
    sd = copy.deepcopy(oa.state_dict())
    oa.load_state_dict(sd), ob.load_state_dict(sd)           # new momentum buffers: a new set of state tensors
    assert eager(*data[7]).item() == compiled(*data[7]).item()
    assert compiled.traces == traces + 3
    _assert_same_state(ma, oa, mb, ob)


def test_grad_mode_is_part_of_the_signature():
    model = MLP()
    compiled = tl.compile(lambda x: model(x))
    x = _batches(1)[0][0]
    with tl.no_grad():
        a = compiled(x)
        b = compiled(x)
    assert compiled.replays == 1 and not b.requires_grad
    np.testing.assert_array_equal(a.numpy(), model(x).numpy())
    with pytest.warns(CompileFallbackWarning, match="autograd graph"):
        out = compiled(x)                                    # grad mode on: a new trace, whose output needs backward
    assert out.requires_grad and out.grad_fn is not None


def test_reading_a_value_inside_runs_eagerly():
    w = tl.ones(2)
    calls = []

    def f(x):
        s = (w * x).sum()
        calls.append(1)
        return s * 2 if s.item() > 0 else s                  # Python control flow on data

    compiled = tl.compile(f)
    with pytest.warns(CompileFallbackWarning, match=r"test_compile\.py:\d+"):
        assert compiled(tl.ones(2)).item() == 4.0
    assert compiled(-tl.ones(2)).item() == -2.0 and len(calls) == 2


def test_python_state_changed_by_the_function_each_call_ends_in_eager_mode():
    counter = {"n": 0}
    w = tl.ones(2)

    def f(x):
        counter["n"] += 1
        return (w * x * counter["n"]).sum()

    compiled = tl.compile(f)
    with pytest.warns(CompileFallbackWarning, match="changes on every call"):
        results = [compiled(tl.ones(2)).item() for _ in range(5)]
    assert results == [2.0, 4.0, 6.0, 8.0, 10.0]


def test_a_global_scalar_is_guarded():
    compiled = tl.compile(_scaled)
    assert compiled(tl.ones(2)).item() == 4.0 and compiled(tl.ones(2)).item() == 4.0
    global SCALE
    SCALE = 3.0
    try:
        assert compiled(tl.ones(2)).item() == 12.0
    finally:
        SCALE = 1.0
    assert compiled.traces == 2 and compiled.replays == 1


SCALE = 1.0


def _scaled(x):
    return (x * SCALE).sum() * 2


def test_inputs_written_in_place_are_rebound_on_replay():
    compiled = tl.compile(lambda x, v: x.add_(v))
    for i in range(3):
        x = tl.zeros(3)
        out = compiled(x, tl.full((3,), float(i)))
        assert out is x and x.tolist() == [float(i)] * 3
    assert compiled.replays == 2


def test_the_program_is_inspectable_and_printable():
    model = MLP()
    opt = tl.optim.SGD(model.parameters(), lr=0.1)
    compiled = tl.compile(_train_step(model, opt))
    for x, y in _batches(2):
        compiled(x, y)
    assert "def program(" in compiled.program.source and "linear" in compiled.program.source
    assert "1 program(s)" in repr(compiled)


def test_replays_update_state_in_place_unless_someone_holds_it():
    (ma, oa), (mb, ob) = _pair(lambda m: tl.optim.SGD(m.parameters(), lr=0.1, momentum=0.9))
    eager, compiled = _train_step(ma, oa), tl.compile(_train_step(mb, ob))
    data = _batches(7)
    for x, y in data[:4]:
        eager(x, y), compiled(x, y)
    entry = next(iter(compiled._entries.values()))
    assert entry.donate and entry.copies == 0                # parameters and buffers: written in place
    assert ", out=x" in compiled.program.source
    held = mb.fc1.weight.numpy()                             # a user keeps the live buffer...
    snapshot = held.copy()
    pending = mb.fc2.weight.clone()                          # ...and a lazy copy of another parameter
    before = mb.fc2.weight.numpy().copy()
    view = mb.fc2.weight.detach()                            # a view follows the parameter, as in PyTorch
    for x, y in data[4:]:
        assert eager(x, y).item() == compiled(x, y).item()
    np.testing.assert_array_equal(held, snapshot)           # values are immutable, donation or not
    np.testing.assert_array_equal(pending.numpy(), before)
    np.testing.assert_array_equal(view.numpy(), mb.fc2.weight.numpy())
    assert entry.copies >= 2
    _assert_same_state(ma, oa, mb, ob)


def test_bad_targets_fail_on_replay_as_they_do_eagerly():
    (ma, oa), (mb, ob) = _pair(lambda m: tl.optim.SGD(m.parameters(), lr=0.1, momentum=0.9))
    compiled = tl.compile(_train_step(mb, ob))
    for x, y in _batches(3):
        compiled(x, y)
    x, _ = _batches(1)[0]
    replays = compiled.replays
    for bad in (7, -2):
        with pytest.raises(IndexError, match=rf"Target {bad} is out of bounds.*test_compile\.py:\d+"):
            compiled(x, tl.tensor([0, 1, 2, 3, bad, 1, 1, 1]))
    y = tl.tensor([0, 1, 2, 3, 4, 1, 1, 1])
    for x0, y0 in _batches(3):                               # the eager twin, up to here
        _train_step(ma, oa)(x0, y0)
    assert _train_step(ma, oa)(x, y).item() == compiled(x, y).item()
    assert compiled.replays == replays + 1                  # checked before the program ran: state untouched
    _assert_same_state(ma, oa, mb, ob)


def test_where_into_its_own_buffer_is_exact():
    from torchlite.ops.pointwise import _where_kernel
    for dt in (np.float32, np.float64):
        y = np.array([np.nan, np.inf, -np.inf, -0.0, 1.5, -2.0, np.nan, 3.0], dt)
        c = np.array([1, 1, 1, 1, 0, 1, 0, 0], bool)
        want = np.where(c, dt(0), y)
        got = _where_kernel(c, 0.0, y, dtype=np.dtype(dt), out=y)
        assert got is y
        np.testing.assert_array_equal(got, want)
        assert not np.signbit(got[c]).any()


def test_a_transformer_step_with_adamw_compiles():
    class Block(nn.Module):
        def __init__(self, d=16, h=2):
            super().__init__()
            self.tok, self.ln = nn.Embedding(11, d), nn.LayerNorm(d)
            self.attn = nn.MultiheadAttention(d, h, bias=False, batch_first=True)   # (a key bias gets no gradient)
            self.head = nn.Linear(d, 11)

        def forward(self, idx):
            x = self.ln(self.tok(idx))
            y, _ = self.attn(x, x, x, need_weights=False)
            return self.head(F.gelu(x + y))

    tl.manual_seed(0)
    ma = Block()
    mb = copy.deepcopy(ma)
    oa, ob = (tl.optim.AdamW(m.parameters(), lr=1e-2, capturable=True) for m in (ma, mb))

    def make(model, opt):
        def step(idx, tgt):
            out = model(idx)
            loss = F.cross_entropy(out.reshape(-1, 11), tgt.reshape(-1))
            opt.zero_grad()
            loss.backward()
            opt.step()
            return loss
        return step

    eager, compiled = make(ma, oa), tl.compile(make(mb, ob))
    rng = np.random.default_rng(0)
    for _ in range(4):
        idx, tgt = (tl.tensor(rng.integers(0, 11, (3, 6))) for _ in range(2))
        assert eager(idx, tgt).item() == compiled(idx, tgt).item()
    assert compiled.replays == 2 and compiled.eager_reason is None
    for pa, pb in zip(ma.parameters(), mb.parameters()):
        np.testing.assert_array_equal(pa.numpy(), pb.numpy())
