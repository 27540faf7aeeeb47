"""Convolutions, pooling, batch norm and gradient clipping vs torch (forward and backward)."""
import numpy as np
import pytest

import torchlite as tl
import torchlite.nn.functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional


def _pair(shape, dtype, seed):
    a = np.random.default_rng(seed).standard_normal(shape).astype(dtype)
    return tl.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)


def _tol(dtype):
    return dict(rtol=1e-4, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-12)


def _check(fn_tl, fn_t, shapes, dtype=np.float64, seed=0):
    pairs = [_pair(s, dtype, seed + i) if s is not None else (None, None) for i, s in enumerate(shapes)]
    y = fn_tl(*[p[0] for p in pairs])
    ty = fn_t(*[p[1] for p in pairs])
    assert tuple(y.shape) == tuple(ty.shape)
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), **_tol(dtype))
    g = np.random.default_rng(99).standard_normal(tuple(ty.shape)).astype(dtype)
    (y * tl.tensor(g)).sum().backward()
    (ty * torch.tensor(g)).sum().backward()
    for a, b in pairs:
        if a is not None:
            np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), **_tol(dtype))


CONV2D_CASES = [
    dict(),
    dict(stride=2),
    dict(padding=1),
    dict(stride=(2, 1), padding=(1, 2), dilation=(2, 1)),
    dict(padding="same", dilation=2),
    dict(padding="valid"),
    dict(groups=2),
    dict(groups=4, stride=2, padding=1),
]


@pytest.mark.parametrize("kw", CONV2D_CASES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_conv2d_forward_backward_matches_torch(kw, dtype):
    g = kw.get("groups", 1)
    _check(lambda x, w, b: F.conv2d(x, w, b, **kw), lambda x, w, b: TF.conv2d(x, w, b, **kw),
           [(2, 4, 7, 8), (6 if g != 4 else 8, 4 // g, 3, 2), (6 if g != 4 else 8,)], dtype)


@pytest.mark.parametrize("kw", [dict(), dict(stride=2, padding=2), dict(dilation=3, padding="same"), dict(groups=3)])
def test_conv1d_forward_backward_matches_torch(kw):
    g = kw.get("groups", 1)
    _check(lambda x, w, b: F.conv1d(x, w, b, **kw), lambda x, w, b: TF.conv1d(x, w, b, **kw),
           [(3, 6, 11), (9, 6 // g, 3), (9,)])


def test_conv2d_no_bias_unbatched_and_noncontiguous_input():
    _check(lambda x, w: F.conv2d(x.transpose(-1, -2), w, padding=1),
           lambda x, w: TF.conv2d(x.transpose(-1, -2), w, padding=1), [(3, 6, 5), (4, 3, 3, 3)])


def test_conv2d_gradcheck():
    x = tl.tensor(np.random.default_rng(0).standard_normal((1, 2, 5, 5)), requires_grad=True)
    w = tl.tensor(np.random.default_rng(1).standard_normal((2, 1, 3, 3)), requires_grad=True)
    assert tl.autograd.gradcheck(lambda x, w: F.conv2d(x, w, stride=2, padding=1, groups=2), (x, w))


def test_conv2d_module_copies_torch_weights_and_init_bounds():
    tm = torch.nn.Conv2d(3, 5, (3, 2), stride=2, padding=1, bias=True).double()
    m = tl.nn.Conv2d(3, 5, (3, 2), stride=2, padding=1)
    assert [n for n, _ in m.named_parameters()] == ["weight", "bias"]
    bound = 1 / np.sqrt(3 * 3 * 2)
    assert np.abs(m.weight.numpy()).max() <= bound and np.abs(m.bias.numpy()).max() <= bound
    m.double().load_state_dict({k: tl.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((2, 3, 9, 6))
    np.testing.assert_allclose(m(tl.tensor(x)).numpy(), tm(torch.tensor(x)).detach().numpy(), rtol=1e-10)
    assert repr(m) == repr(tm)


def test_conv2d_bad_channels_raise_with_user_line():
    with pytest.raises(RuntimeError, match=r"(?s)expected input\[2, 5, 4, 4\] to have 3 channels.*test_nn_conv\.py:\d+"):
        F.conv2d(tl.zeros(2, 5, 4, 4), tl.zeros(4, 3, 3, 3))
    with pytest.raises(RuntimeError, match=r"(?s)Kernel size can't be greater.*test_nn_conv\.py:\d+"):
        F.conv2d(tl.zeros(1, 1, 2, 2), tl.zeros(1, 1, 3, 3))


def test_conv_speed_small_images():
    import time
    x = tl.randn(8, 3, 32, 32, requires_grad=True)
    m = tl.nn.Conv2d(3, 16, 3, padding=1)
    t = time.perf_counter()
    m(x).relu().sum().backward()
    x.grad.numpy()
    assert time.perf_counter() - t < 1.0


POOL_CASES = [
    dict(kernel_size=2),
    dict(kernel_size=3, stride=2, padding=1),
    dict(kernel_size=3, stride=2, ceil_mode=True),
    dict(kernel_size=(3, 2), stride=(2, 3), padding=(1, 1), ceil_mode=True),
]


@pytest.mark.parametrize("kw", POOL_CASES + [dict(kernel_size=2, dilation=2, stride=1)])
def test_max_pool2d_matches_torch(kw):
    _check(lambda x: F.max_pool2d(x, **kw), lambda x: TF.max_pool2d(x, **kw), [(2, 3, 7, 8)])


def test_max_pool2d_ties_route_gradient_like_torch():
    a = np.zeros((1, 1, 4, 4))
    a[0, 0, 1, 1] = 1.0
    x, tx = tl.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    F.max_pool2d(x, 2).sum().backward()
    TF.max_pool2d(tx, 2).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())


@pytest.mark.parametrize("kw", POOL_CASES)
@pytest.mark.parametrize("cip", [True, False])
def test_avg_pool2d_matches_torch(kw, cip):
    _check(lambda x: F.avg_pool2d(x, count_include_pad=cip, **kw),
           lambda x: TF.avg_pool2d(x, count_include_pad=cip, **kw), [(2, 3, 7, 8)])


def test_avg_pool2d_divisor_override_and_modules():
    _check(lambda x: tl.nn.AvgPool2d(2, divisor_override=3)(x), lambda x: torch.nn.AvgPool2d(2, divisor_override=3)(x),
           [(1, 2, 4, 6)])
    _check(lambda x: tl.nn.MaxPool2d(3, 2, 1)(x), lambda x: torch.nn.MaxPool2d(3, 2, 1)(x), [(2, 5, 5)])


@pytest.mark.parametrize("size", [1, 3, (2, 5), (None, 3), (7, 8)])
def test_adaptive_avg_pool2d_matches_torch(size):
    _check(lambda x: tl.nn.AdaptiveAvgPool2d(size)(x), lambda x: torch.nn.AdaptiveAvgPool2d(size)(x),
           [(2, 3, 7, 8)])


@pytest.mark.parametrize("cls,shape", [("BatchNorm2d", (4, 3, 5, 6)), ("BatchNorm1d", (8, 3)),
                                       ("BatchNorm1d", (4, 3, 7))])
@pytest.mark.parametrize("momentum", [0.1, None])
def test_batchnorm_train_eval_and_running_stats_match_torch(cls, shape, momentum):
    tm = getattr(torch.nn, cls)(3, momentum=momentum).double()
    m = getattr(tl.nn, cls)(3, momentum=momentum)
    with torch.no_grad():
        tm.weight.uniform_(0.5, 1.5)
        tm.bias.uniform_(-1, 1)
    m.double().load_state_dict({k: tl.tensor(v.numpy()) for k, v in tm.state_dict().items()}, strict=True)
    rng = np.random.default_rng(0)
    for step in range(3):
        a = rng.standard_normal(shape) * 2 + 1
        x, tx = tl.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
        y, ty = m(x), tm(tx)
        np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-10, atol=1e-12)
        (y * y).sum().backward()
        (ty * ty).sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(m.weight.grad.numpy(), tm.weight.grad.numpy(), rtol=1e-8)
    np.testing.assert_allclose(m.bias.grad.numpy(), tm.bias.grad.numpy(), rtol=1e-8)
    for k, v in tm.state_dict().items():
        np.testing.assert_allclose(m.state_dict()[k].numpy(), v.numpy(), rtol=1e-12, err_msg=k)
    assert int(m.num_batches_tracked.item()) == 3
    m.eval()
    tm.eval()
    a = rng.standard_normal(shape)
    np.testing.assert_allclose(m(tl.tensor(a)).numpy(), tm(torch.tensor(a)).detach().numpy(), rtol=1e-10)


def test_batch_norm_functional_and_errors():
    a = np.random.default_rng(0).standard_normal((5, 4, 3))
    rm, rv = tl.zeros(4, dtype=tl.float64), tl.ones(4, dtype=tl.float64)
    trm, trv = torch.zeros(4, dtype=torch.float64), torch.ones(4, dtype=torch.float64)
    y = F.batch_norm(tl.tensor(a), rm, rv, training=True, momentum=0.3)
    ty = TF.batch_norm(torch.tensor(a), trm, trv, training=True, momentum=0.3)
    np.testing.assert_allclose(y.numpy(), ty.numpy(), rtol=1e-10)
    np.testing.assert_allclose(rv.numpy(), trv.numpy(), rtol=1e-12)
    with pytest.raises(ValueError, match=r"(?s)more than 1 value per channel.*test_nn_conv\.py:\d+"):
        tl.nn.BatchNorm1d(3)(tl.zeros(1, 3))
    with pytest.raises(ValueError, match=r"expected 4D input \(got 3D input\)"):
        tl.nn.BatchNorm2d(3)(tl.zeros(2, 3, 4))


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, float("inf")])
@pytest.mark.parametrize("max_norm", [0.5, 100.0])
def test_clip_grad_norm_matches_torch(norm_type, max_norm):
    rng = np.random.default_rng(0)
    grads = [rng.standard_normal(s) for s in [(3, 4), (5,), ()]]
    ps = [tl.nn.Parameter(tl.zeros(*g.shape, dtype=tl.float64)) for g in grads]
    tps = [torch.nn.Parameter(torch.zeros(g.shape, dtype=torch.float64)) for g in grads]
    for p, tp, g in zip(ps, tps, grads):
        p.grad, tp.grad = tl.tensor(g), torch.tensor(g)
    extra = tl.nn.Parameter(tl.zeros(2))           # no grad: skipped
    total = tl.nn.utils.clip_grad_norm_(ps + [extra], max_norm, norm_type)
    ttotal = torch.nn.utils.clip_grad_norm_(tps, max_norm, norm_type)
    np.testing.assert_allclose(total.numpy(), ttotal.numpy(), rtol=1e-12)
    for p, tp in zip(ps, tps):
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-12)


def test_clip_grad_value_and_nonfinite_error():
    p = tl.nn.Parameter(tl.zeros(4))
    p.grad = tl.tensor([-3.0, 0.5, 2.0, -0.1])
    tl.nn.utils.clip_grad_value_(p, 1.0)
    np.testing.assert_array_equal(p.grad.numpy(), np.float32([-1, 0.5, 1, -0.1]))
    p.grad = tl.tensor([float("inf"), 1.0])
    with pytest.raises(RuntimeError, match=r"(?s)non-finite.*test_nn_conv\.py:\d+"):
        tl.nn.utils.clip_grad_norm_([p], 1.0, error_if_nonfinite=True)
    assert float(tl.nn.utils.clip_grad_norm_([], 1.0).item()) == 0.0
