"""nn.Module bookkeeping, state_dict, hooks, modes, conversions and reprs (against torch where it applies)."""
from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest

import torchlite as tl
from torchlite import nn


def _arch(nn_):
    """The same architecture built from torch.nn or torchlite.nn (with a buffer and a non-persistent buffer)."""

    class Block(nn_.Module):
        def __init__(self):
            super().__init__()
            self.norm = nn_.LayerNorm(4)
            self.proj = nn_.Linear(4, 4, bias=False)
            self.register_buffer("steps", None)
            self.register_buffer("scale", nn_.Linear(1, 1).weight.detach() * 0 + 2)
            self.register_buffer("cache", nn_.Linear(1, 2).weight.detach() * 0, persistent=False)

        def forward(self, x):
            return self.proj(self.norm(x)) * self.scale

    class Net(nn_.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn_.Embedding(10, 4, padding_idx=0)
            self.blocks = nn_.ModuleList([Block(), Block()])
            self.heads = nn_.ModuleDict({"a": nn_.Linear(4, 3), "b": nn_.Sequential(nn_.ReLU(), nn_.Linear(4, 2))})
            self.out = nn_.Sequential(OrderedDict([("act", nn_.GELU()), ("drop", nn_.Dropout(0.1)),
                                                   ("fc", nn_.Linear(4, 5))]))
            self.shared = self.out.fc                       # the same module twice: deduplicated
            self.gamma = nn_.Parameter(nn_.Linear(1, 3).bias.detach() * 0 + 1)

        def forward(self, idx):
            x = self.emb(idx)
            for b in self.blocks:
                x = b(x)
            return self.out(x) * self.gamma.sum()

    return Net()


def test_names_and_order_match_torch():
    torch = pytest.importorskip("torch")
    a, b = _arch(nn), _arch(torch.nn)
    assert list(a.state_dict()) == list(b.state_dict())
    assert [n for n, _ in a.named_parameters()] == [n for n, _ in b.named_parameters()]
    assert [n for n, _ in a.named_buffers()] == [n for n, _ in b.named_buffers()]
    assert [n for n, _ in a.named_modules()] == [n for n, _ in b.named_modules()]
    assert [n for n, _ in a.named_children()] == [n for n, _ in b.named_children()]
    assert [n for n, _ in a.named_parameters(prefix="m", recurse=True)] == \
        [n for n, _ in b.named_parameters(prefix="m")]
    assert [n for n, _ in a.named_parameters(recurse=False)] == ["gamma"]
    assert [n for n, _ in a.named_parameters(remove_duplicate=False)] == \
        [n for n, _ in b.named_parameters(remove_duplicate=False)]
    assert [n for n, _ in a.named_modules(remove_duplicate=False)] == \
        [n for n, _ in b.named_modules(remove_duplicate=False)]
    assert len(list(a.parameters())) == len(list(b.parameters()))
    assert all(isinstance(p, nn.Parameter) for p in a.parameters())
    assert a.get_submodule("blocks.1.proj") is a.blocks[1].proj
    assert a.get_parameter("heads.b.1.bias") is a.heads["b"][1].bias


def test_state_dict_values_shared_and_detached():
    m = nn.Linear(3, 2)
    sd = m.state_dict()
    assert sd["weight"] is not m.weight and not sd["weight"].requires_grad
    np.testing.assert_array_equal(sd["weight"].numpy(), m.weight.numpy())
    kv = m.state_dict(keep_vars=True)
    assert kv["weight"] is m.weight
    sub = m.state_dict(prefix="lin.")
    assert list(sub) == ["lin.weight", "lin.bias"]


def test_setattr_registration_rules():
    m = nn.Module()
    m.w = nn.Parameter(tl.ones(2))
    m.sub = nn.Linear(2, 2)
    m.register_buffer("buf", tl.zeros(3))
    m.plain = 5
    assert list(m._parameters) == ["w"] and list(m._modules) == ["sub"] and list(m._buffers) == ["buf"]
    assert m.plain == 5 and "plain" not in m._parameters
    with pytest.raises(TypeError, match="cannot assign 'torchlite.FloatTensor' as parameter 'w'"):
        m.w = tl.ones(2)
    with pytest.raises(TypeError, match="as child module 'sub'"):
        m.sub = 3
    with pytest.raises(TypeError, match="as buffer 'buf'"):
        m.buf = 3
    m.buf = tl.ones(3)                                  # a tensor replaces a buffer
    assert m._buffers["buf"].sum().item() == 3
    m.w = None
    assert m.w is None and list(m.parameters()) == list(m.sub.parameters())
    m.sub = nn.Parameter(tl.ones(1))                    # a parameter replaces a module of the same name
    assert "sub" not in m._modules and "sub" in m._parameters
    del m.sub
    assert "sub" not in m._parameters
    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        m.nope
    with pytest.raises(KeyError, match=r'buffer name can.*t contain'):
        m.register_buffer("a.b", tl.zeros(1))
    with pytest.raises(KeyError, match="already exists"):
        m.register_parameter("plain", None)
    with pytest.raises(TypeError, match="torch.nn.Parameter or None required"):
        m.register_parameter("x", tl.ones(1))

    class Early(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(tl.ones(1))
    with pytest.raises(AttributeError, match="before Module.__init__"):
        Early()


def test_buffer_marker_and_persistence():
    m = nn.Module()
    m.a = nn.Buffer(tl.ones(2))
    m.b = nn.Buffer(tl.zeros(2), persistent=False)
    assert [n for n, _ in m.named_buffers()] == ["a", "b"]
    assert list(m.state_dict()) == ["a"]
    assert type(m.a) is tl.Tensor


def test_parameter_basics():
    p = nn.Parameter(tl.tensor([1.0, 2.0]))
    assert p.requires_grad and p.is_leaf and p.grad_fn is None and isinstance(p, tl.Tensor)
    assert repr(p) == "Parameter containing:\ntensor([1., 2.], requires_grad=True)"
    q = nn.Parameter(tl.ones(2), requires_grad=False)
    assert not q.requires_grad and repr(q) == "Parameter containing:\ntensor([1., 1.])"
    assert type(p * 2) is tl.Tensor and (p * 2).requires_grad
    assert nn.Parameter().shape == (0,)
    with pytest.raises(RuntimeError, match="floating point"):
        nn.Parameter(tl.tensor([1, 2]))
    d = p.data
    assert not d.requires_grad
    d.mul_(3)                                               # .data shares the value
    assert p.tolist() == [3.0, 6.0] and p.is_leaf
    p.data = tl.tensor([5.0])
    assert p.tolist() == [5.0] and p.requires_grad
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        p.add_(1)


def test_load_state_dict_copies_into_same_parameters():
    torch = pytest.importorskip("torch")
    a, b = _arch(nn), _arch(torch.nn)
    ids = [id(p) for p in a.parameters()]
    res = a.load_state_dict({k: tl.tensor(v.numpy()) for k, v in b.state_dict().items()})
    assert res.missing_keys == [] and res.unexpected_keys == [] and repr(res) == "<All keys matched successfully>"
    assert [id(p) for p in a.parameters()] == ids
    for (k, v), (k2, w) in zip(a.state_dict().items(), b.state_dict().items()):
        assert k == k2
        np.testing.assert_array_equal(v.numpy(), w.numpy())
    assert all(p.requires_grad and p.is_leaf for p in a.parameters())
    src = {k: v.clone() for k, v in a.state_dict().items()}
    a.load_state_dict(src)
    src["emb.weight"].add_(1)                               # loading copies: later writes to the source don't leak
    np.testing.assert_array_equal(a.emb.weight.numpy(), b.emb.weight.detach().numpy())


def test_load_state_dict_errors_and_non_strict():
    torch = pytest.importorskip("torch")
    m, t = nn.Sequential(nn.Linear(3, 2), nn.LayerNorm(2)), torch.nn.Sequential(torch.nn.Linear(3, 2),
                                                                                torch.nn.LayerNorm(2))
    sd = m.state_dict()
    del sd["1.bias"]
    sd["2.weight"] = tl.zeros(1)
    sd["extra"] = tl.zeros(1)
    tsd = t.state_dict()
    del tsd["1.bias"]
    tsd["2.weight"] = torch.zeros(1)
    tsd["extra"] = torch.zeros(1)
    with pytest.raises(RuntimeError) as e:
        m.load_state_dict(sd)
    with pytest.raises(RuntimeError) as te:
        t.load_state_dict(tsd)
    assert str(e.value) == str(te.value)
    assert 'Missing key(s) in state_dict: "1.bias"' in str(e.value)
    res, tres = m.load_state_dict(sd, strict=False), t.load_state_dict(tsd, strict=False)
    assert res.missing_keys == tres.missing_keys == ["1.bias"]
    assert res.unexpected_keys == tres.unexpected_keys == ["2.weight", "extra"]
    bad = m.state_dict()
    bad["0.weight"] = tl.zeros(2, 4)
    for strict in (True, False):
        with pytest.raises(RuntimeError, match=r"size mismatch for 0\.weight: copying a param with shape "
                           r"torchlite\.Size\(\[2, 4\]\) from checkpoint, the shape in current model is "
                           r"torchlite\.Size\(\[2, 3\]\)"):
            m.load_state_dict(bad, strict=strict)
    with pytest.raises(TypeError, match="dict-like"):
        m.load_state_dict([1])


def test_load_state_dict_casts_and_no_grad_history():
    m = nn.Linear(2, 2)
    m.load_state_dict({"weight": tl.ones(2, 2, dtype=tl.float64, requires_grad=True), "bias": tl.zeros(2)})
    assert m.weight.dtype is tl.float32 and m.weight.is_leaf and m.weight.requires_grad
    assert m.weight.tolist() == [[1.0, 1.0], [1.0, 1.0]]


def test_forward_hooks():
    m = nn.Linear(2, 2)
    calls = []
    h1 = m.register_forward_pre_hook(lambda mod, args: calls.append(("pre", mod)) or (args[0] * 0,))
    h2 = m.register_forward_hook(lambda mod, args, out: calls.append(("post", args[0].sum().item())) or out + 1)
    out = m(tl.ones(3, 2))
    assert calls == [("pre", m), ("post", 0.0)]
    np.testing.assert_allclose(out.numpy(), np.broadcast_to(m.bias.detach().numpy() + 1, (3, 2)), rtol=1e-6)
    h1.remove()
    h2.remove()
    calls.clear()
    out = m(tl.ones(3, 2))
    assert calls == []
    np.testing.assert_allclose(out.numpy(), (tl.ones(3, 2) @ m.weight.t() + m.bias).detach().numpy(), rtol=1e-6)
    order = []
    m.register_forward_hook(lambda *a: order.append(1))
    m.register_forward_hook(lambda *a: order.append(0), prepend=True)
    m.register_forward_pre_hook(lambda mod, args, kw: (args, {}), with_kwargs=True)
    m.register_forward_pre_hook(lambda mod, args: tl.zeros(1, 2))   # a non-tuple result becomes the args
    assert m(tl.ones(1, 2)).shape == (1, 2) and order == [0, 1]


def test_train_eval_apply_children():
    m = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.Dropout(), nn.ReLU()))
    assert all(x.training for x in m.modules())
    assert m.eval() is m and not any(x.training for x in m.modules())
    m.train()
    assert all(x.training for x in m.modules())
    m[1].train(False)
    assert m.training and not m[1][0].training
    seen = []
    m.apply(lambda x: seen.append(type(x).__name__))
    assert seen == ["Linear", "Dropout", "ReLU", "Sequential", "Sequential"]
    assert [type(c).__name__ for c in m.children()] == ["Linear", "Sequential"]
    with pytest.raises(ValueError, match="boolean"):
        m.train(1)


def test_zero_grad():
    m = nn.Linear(3, 2)
    m(tl.ones(4, 3)).sum().backward()
    assert m.weight.grad is not None and m.bias.grad.tolist() == [4.0, 4.0]
    m.zero_grad(set_to_none=False)
    assert m.bias.grad.tolist() == [0.0, 0.0] and not m.bias.grad.requires_grad
    m(tl.ones(4, 3)).sum().backward()
    assert m.bias.grad.tolist() == [4.0, 4.0]           # accumulates on the zeroed grad
    m.zero_grad()
    assert m.weight.grad is None and m.bias.grad is None


def test_to_dtype_keeps_parameter_objects():
    m = nn.Sequential(nn.Linear(3, 2), nn.LayerNorm(2))
    m.register_buffer("count", tl.zeros(1, dtype=tl.int64))
    m.register_buffer("f", tl.zeros(1))
    before = {n: (id(p), p.numpy().copy()) for n, p in m.named_parameters()}
    m(tl.ones(1, 3)).sum().backward()
    assert m.to(tl.float64) is m
    for n, p in m.named_parameters():
        assert id(p) == before[n][0] and p.dtype is tl.float64 and p.requires_grad and p.is_leaf
        assert p.grad.dtype is tl.float64
        np.testing.assert_array_equal(p.numpy(), before[n][1].astype(np.float64))
    assert m.count.dtype is tl.int64 and m.f.dtype is tl.float64
    out = m(tl.ones(1, 3, dtype=tl.float64))
    assert out.dtype is tl.float64
    out.sum().backward()
    assert m[0].weight.grad.dtype is tl.float64
    m.float()
    assert m[0].weight.dtype is tl.float32 and m.count.dtype is tl.int64
    m.to(dtype=tl.bfloat16)
    assert m[1].bias.dtype is tl.bfloat16
    m.to("cpu")
    m.to(tl.zeros(1, dtype=tl.float32))
    assert m[1].bias.dtype is tl.float32
    with pytest.raises(TypeError, match="only accepts floating point"):
        m.to(tl.int32)


def test_requires_grad_():
    m = nn.Linear(2, 2).requires_grad_(False)
    assert not any(p.requires_grad for p in m.parameters())


def test_repr_matches_torch():
    torch = pytest.importorskip("torch")
    a, b = _arch(nn), _arch(torch.nn)
    assert repr(a) == repr(b)
    for mk in (lambda n: n.ModuleList(), lambda n: n.Sequential(), lambda n: n.Identity(),
               lambda n: n.Embedding(5, 2, max_norm=1.0), lambda n: n.LayerNorm([2, 3], elementwise_affine=False),
               lambda n: n.RMSNorm(4), lambda n: n.RMSNorm(4, eps=1e-6), lambda n: n.Flatten(0, 2),
               lambda n: n.ReLU(inplace=True), lambda n: n.Softmax(dim=-1), lambda n: n.LogSoftmax(),
               lambda n: n.Dropout(0.2, inplace=True), lambda n: n.Linear(2, 3, bias=False), lambda n: n.SiLU(),
               lambda n: n.Tanh(), lambda n: n.Sigmoid()):
        assert repr(mk(nn)) == repr(mk(torch.nn))


def test_containers():
    torch = pytest.importorskip("torch")
    s = nn.Sequential(nn.ReLU(), nn.Tanh(), nn.Sigmoid())
    assert isinstance(s[0:2], nn.Sequential) and len(s[0:2]) == 2 and isinstance(s[-1], nn.Sigmoid)
    with pytest.raises(IndexError, match="index 3 is out of range"):
        s[3]
    s.append(nn.Identity())
    del s[0]
    assert list(s._modules) == ["0", "1", "2"] and isinstance(s[0], nn.Tanh)
    s.insert(0, nn.ReLU())
    assert [type(x).__name__ for x in s] == ["ReLU", "Tanh", "Sigmoid", "Identity"]
    x = tl.tensor([-1.0, 0.5])
    np.testing.assert_allclose(s(x).numpy(), 1 / (1 + np.exp(-np.tanh(np.maximum([-1.0, 0.5], 0)))), rtol=1e-6)
    ml = nn.ModuleList([nn.Linear(1, 1)])
    ml += [nn.ReLU()]
    ml.append(nn.Tanh()).extend([nn.Identity()])
    assert len(ml) == 4 and [n for n, _ in ml.named_parameters()] == ["0.weight", "0.bias"]
    assert isinstance(ml[1:], nn.ModuleList) and len(ml[1:]) == 3
    ml.insert(1, nn.GELU())
    assert isinstance(ml[1], nn.GELU) and list(ml._modules) == ["0", "1", "2", "3", "4"]
    assert isinstance(ml.pop(1), nn.GELU) and list(ml._modules) == ["0", "1", "2", "3"]
    with pytest.raises(TypeError, match="iterable"):
        ml.extend(nn.ReLU())
    md = nn.ModuleDict([("x", nn.ReLU()), ("y", nn.Linear(1, 2))])
    md["z"] = nn.Tanh()
    assert list(md.keys()) == ["x", "y", "z"] and "y" in md and len(md) == 3
    assert [n for n, _ in md.named_parameters()] == ["y.weight", "y.bias"]
    assert isinstance(md.pop("x"), nn.ReLU) and list(md) == ["y", "z"]
    tm = torch.nn.ModuleDict([("y", torch.nn.Linear(1, 2)), ("z", torch.nn.Tanh())])
    assert repr(md) == repr(tm)


def test_forward_not_implemented():
    with pytest.raises(NotImplementedError, match='missing the required "forward"'):
        nn.Module()(1)
