"""torchlite.nn.functional against torch.nn.functional: forward values, gradients, dropout statistics, errors."""
import itertools
import math
import warnings

import numpy as np
import pytest

import torchlite as tl
import torchlite.nn.functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional

DTYPES = [("float32", 1e-5, 1e-6), ("float64", 1e-10, 1e-12)]
HERE = r"test_nn_functional\.py:\d+"


def _rng(seed=0):
    return np.random.default_rng(seed)


def _both(a, dtype=None, grad=False):
    """The same values as a torchlite and a torch tensor (leaf, optionally requiring grad)."""
    a = np.asarray(a) if dtype is None else np.asarray(a, dtype=dtype)
    return tl.tensor(a, requires_grad=grad), torch.tensor(a, requires_grad=grad)


def _close(ours, ref, rtol, atol):
    ref = ref.detach().numpy() if isinstance(ref, torch.Tensor) else np.asarray(ref)
    got = ours.numpy() if isinstance(ours, tl.Tensor) else np.asarray(ours)
    assert got.shape == ref.shape, (got.shape, ref.shape)
    np.testing.assert_allclose(got, ref, rtol=rtol, atol=atol)


def _check(fn_ours, fn_ref, arrays, dtype, rtol, atol, grad_idx=None, seed_grad=True):
    """Forward and backward (through a random cotangent) of fn over arrays; grad_idx: which arrays need grad."""
    grad_idx = range(len(arrays)) if grad_idx is None else grad_idx
    ours, refs = zip(*[_both(a, a.dtype if a.dtype.kind in "biu" else dtype, grad=i in grad_idx)
                       for i, a in enumerate(arrays)])
    y, ry = fn_ours(*ours), fn_ref(*refs)
    _close(y, ry, rtol, atol)
    if not grad_idx:
        return
    cot = _rng(99).standard_normal(tuple(ry.shape)).astype(dtype)
    (y * tl.tensor(cot)).sum().backward()
    (ry * torch.tensor(cot)).sum().backward()
    for i in grad_idx:
        _close(ours[i].grad, refs[i].grad, rtol, atol)


# --- activations -----------------------------------------------------------------------------------------------

ACTS = [
    ("leaky_relu", lambda m, x: m.leaky_relu(x)),
    ("leaky_relu0.2", lambda m, x: m.leaky_relu(x, 0.2)),
    ("elu", lambda m, x: m.elu(x)),
    ("elu2", lambda m, x: m.elu(x, alpha=2.0)),
    ("hardtanh", lambda m, x: m.hardtanh(x)),
    ("hardtanh_custom", lambda m, x: m.hardtanh(x, -0.5, 2.0)),
    ("logsigmoid", lambda m, x: m.logsigmoid(x)),
    ("sigmoid", lambda m, x: m.sigmoid(x)),
    ("tanh", lambda m, x: m.tanh(x)),
    ("silu", lambda m, x: m.silu(x)),
    ("gelu", lambda m, x: m.gelu(x)),
    ("gelu_tanh", lambda m, x: m.gelu(x, approximate="tanh")),
    ("relu", lambda m, x: m.relu(x)),
]


@pytest.mark.parametrize("name,fn", ACTS, ids=[a[0] for a in ACTS])
@pytest.mark.parametrize("dtype,rtol,atol", DTYPES)
def test_activation_forward_and_grad_match_torch_including_kinks(name, fn, dtype, rtol, atol):
    x = np.concatenate([_rng().standard_normal(20) * 3, [0.0, -1.0, 1.0, -0.5, 2.0, 40.0, -40.0]])
    _check(lambda a: fn(F, a), lambda a: fn(TF, a), [x.reshape(3, 9)], dtype, rtol, atol)


def test_activations_on_noncontiguous_input():
    x = _rng(1).standard_normal((4, 6))
    _check(lambda a: F.elu(a.t()[1:]), lambda a: TF.elu(a.t()[1:]), [x], "float64", 1e-10, 1e-12)


@pytest.mark.parametrize("inplace_fn", ["leaky_relu", "elu", "hardtanh"])
def test_inplace_activation_writes_input(inplace_fn):
    x = _rng(2).standard_normal((3, 4))
    a, b = tl.tensor(x), torch.tensor(x)
    ra = getattr(F, inplace_fn)(a, inplace=True)
    getattr(TF, inplace_fn)(b, inplace=True)
    assert ra is a
    _close(a, b, 1e-12, 1e-12)


@pytest.mark.parametrize("p,dim,eps", [(2.0, 1, 1e-12), (1.0, 0, 1e-12), (3.0, -1, 1e-12), (2.0, 1, 0.5)])
@pytest.mark.parametrize("dtype,rtol,atol", DTYPES)
def test_normalize_matches_torch_with_zero_rows(p, dim, eps, dtype, rtol, atol):
    x = _rng(3).standard_normal((4, 5))
    x[2] = 0.0
    _check(lambda a: F.normalize(a, p, dim, eps), lambda a: TF.normalize(a, p, dim, eps), [x], dtype, rtol, atol)


def test_hardtanh_min_greater_than_max_is_value_error():
    with pytest.raises(ValueError, match="min_val cannot be greater than max_val") as e:
        F.hardtanh(tl.ones(2), 1.0, -1.0)
    assert "test_nn_functional.py" in str(e.value)


# --- dropout ---------------------------------------------------------------------------------------------------

def test_dropout_is_deterministic_under_manual_seed():
    x = tl.ones(50, 40)
    tl.manual_seed(123)
    a = F.dropout(x, 0.3).numpy()
    tl.manual_seed(123)
    b = F.dropout(x, 0.3).numpy()
    c = F.dropout(x, 0.3).numpy()
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_dropout_keep_rate_within_5_sigma_and_kept_values_scaled(p):
    tl.manual_seed(0)
    n = 20000
    x = tl.tensor(np.linspace(1.0, 2.0, n), dtype=tl.float64)
    y = F.dropout(x, p).numpy()
    kept = y != 0
    rate, sigma = kept.mean(), math.sqrt(p * (1 - p) / n)
    assert abs(rate - (1 - p)) < 5 * sigma
    np.testing.assert_allclose(y[kept], x.numpy()[kept] / (1 - p), rtol=1e-12)


def test_dropout_identity_in_eval_and_p0_and_zeros_at_p1():
    x = tl.tensor(_rng(4).standard_normal((3, 4)), requires_grad=True)
    assert F.dropout(x, 0.5, training=False) is x
    assert F.dropout(x, 0.0) is x
    y = F.dropout(x, 1.0)
    np.testing.assert_array_equal(y.numpy(), np.zeros((3, 4)))
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros((3, 4)))


def test_dropout_gradient_is_mask_over_keep_prob_and_float32_kept():
    tl.manual_seed(7)
    x = tl.ones(200, dtype=tl.float32, requires_grad=True)
    y = F.dropout(x, 0.25)
    assert y.dtype == tl.float32
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), y.detach().numpy(), rtol=1e-7)
    assert set(np.unique(y.numpy()).tolist()) <= {0.0, np.float32(1 / 0.75)}


def test_dropout_inplace_returns_input():
    tl.manual_seed(1)
    x = tl.ones(100)
    assert F.dropout(x, 0.5, inplace=True) is x
    assert (x.numpy() == 0).any()


@pytest.mark.parametrize("p", [-0.1, 1.5])
def test_dropout_bad_p_is_value_error_even_in_eval(p):
    with pytest.raises(ValueError, match=rf"dropout probability has to be between 0 and 1, but got {p}.*{HERE}"):
        F.dropout(tl.ones(2), p, training=False)


# --- layer_norm / rms_norm -------------------------------------------------------------------------------------

NORM_CASES = [((2, 3, 5), (5,)), ((2, 3, 5), (3, 5)), ((4, 6), 6), ((7,), [7])]


@pytest.mark.parametrize("shape,ns", NORM_CASES)
@pytest.mark.parametrize("affine", ["none", "weight", "both"])
@pytest.mark.parametrize("eps", [1e-5, 0.1])
@pytest.mark.parametrize("dtype,rtol,atol", DTYPES)
def test_layer_norm_forward_and_grads_match_torch(shape, ns, affine, eps, dtype, rtol, atol):
    r = _rng(5)
    nshape = (ns,) if isinstance(ns, int) else tuple(ns)
    arrays = [r.standard_normal(shape) * 3 + 1]
    if affine != "none":
        arrays.append(r.standard_normal(nshape))
    if affine == "both":
        arrays.append(r.standard_normal(nshape))

    def run(m, x, w=None, b=None):     # torch's functional form wants a tuple (nn.LayerNorm converts an int)
        return m.layer_norm(x, nshape if m is TF else ns, w, b, eps)
    _check(lambda *a: run(F, *a), lambda *a: run(TF, *a), arrays, dtype, rtol, atol * 10)


@pytest.mark.parametrize("shape,ns", NORM_CASES)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("eps", [None, 1e-6, 0.5])
@pytest.mark.parametrize("dtype,rtol,atol", DTYPES)
def test_rms_norm_forward_and_grads_match_torch(shape, ns, weighted, eps, dtype, rtol, atol):
    r = _rng(6)
    nshape = (ns,) if isinstance(ns, int) else tuple(ns)
    arrays = [r.standard_normal(shape)] + ([r.standard_normal(nshape)] if weighted else [])

    def run(m, x, w=None):
        return m.rms_norm(x, nshape if m is TF else ns, w, eps)
    _check(lambda *a: run(F, *a), lambda *a: run(TF, *a), arrays, dtype, rtol, atol * 10)


def test_rms_norm_default_eps_is_dtype_eps_on_tiny_inputs():
    x = np.full((2, 3), 1e-5, dtype=np.float32)
    _close(F.rms_norm(tl.tensor(x), (3,)), TF.rms_norm(torch.tensor(x), (3,)), 1e-5, 1e-6)


@pytest.mark.parametrize("dt", ["float16", "bfloat16"])
def test_norms_low_precision_keep_dtype(dt):
    x = _rng(7).standard_normal((3, 8)).astype(np.float32)
    for fn in ("layer_norm", "rms_norm"):
        ours = getattr(F, fn)(tl.tensor(x).to(getattr(tl, dt)), (8,))
        ref = getattr(TF, fn)(torch.tensor(x).to(getattr(torch, dt)), (8,))
        assert ours.dtype == getattr(tl, dt)
        np.testing.assert_allclose(ours.float().numpy(), ref.float().numpy(), rtol=1e-2, atol=1e-2)


@pytest.mark.parametrize("fn,msg", [
    (lambda: F.layer_norm(tl.ones(3, 5), (4,)),
     r"Given normalized_shape=\[4\], expected input with shape \[\*, 4\], but got input of size\[3, 5\]"),
    (lambda: F.rms_norm(tl.ones(3, 5), (4,)),
     r"Given normalized_shape=\[4\], expected input with shape \[\*4\], but got input of size\[3, 5\]"),
    (lambda: F.layer_norm(tl.ones(3, 5), (5,), weight=tl.ones(4)),
     r"Expected weight to be of same shape as normalized_shape, but got weight of shape \[4\] and "
     r"normalized_shape = \[5\]"),
    (lambda: F.layer_norm(tl.ones(3, 5), (5,), bias=tl.ones(4)), r"Expected bias to be of same shape"),
    (lambda: F.rms_norm(tl.ones(3, 5), (5,), weight=tl.ones(4)), r"Expected weight to be of same shape"),
])
def test_norm_shape_errors(fn, msg):
    with pytest.raises(RuntimeError, match=msg + ".*" + HERE):
        fn()


# --- embedding -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("padding_idx", [None, 0, 2, -1])
@pytest.mark.parametrize("idx_dtype", ["int64", "int32"])
@pytest.mark.parametrize("dtype,rtol,atol", DTYPES)
def test_embedding_forward_and_weight_grad_zero_on_padding_row(padding_idx, idx_dtype, dtype, rtol, atol):
    w = _rng(8).standard_normal((6, 4))
    idx = np.array([[0, 2, 5, 2], [1, 5, 0, 3]], dtype=idx_dtype)
    _check(lambda i, a: F.embedding(i, a, padding_idx), lambda i, a: TF.embedding(i, a, padding_idx),
           [idx, w], dtype, rtol, atol, grad_idx=[1])


def test_embedding_scalar_and_empty_indices():
    w = _rng(9).standard_normal((5, 3))
    for idx in (np.array(3), np.zeros((0, 2), dtype=np.int64)):
        _close(F.embedding(tl.tensor(idx), tl.tensor(w)), TF.embedding(torch.tensor(idx), torch.tensor(w)),
               1e-12, 0)


@pytest.mark.parametrize("fn,exc,msg", [
    (lambda: F.embedding(tl.tensor([5]), tl.ones(3, 2)), IndexError, "index out of range in self"),
    (lambda: F.embedding(tl.tensor([-1]), tl.ones(3, 2)), IndexError, "index out of range in self"),
    (lambda: F.embedding(tl.tensor([1.0]), tl.ones(3, 2)), RuntimeError,
     r"Expected tensor for argument #1 'indices' to have one of the following scalar types: Long, Int; but got "
     r"torch\.FloatTensor instead"),
    (lambda: F.embedding(tl.tensor([1]), tl.ones(3)), RuntimeError, "'weight' must be 2-D"),
])
def test_embedding_errors(fn, exc, msg):
    with pytest.raises(exc, match=msg + ".*" + HERE):
        fn()


@pytest.mark.parametrize("padding_idx", [3, -4])
def test_embedding_padding_idx_out_of_range_asserts(padding_idx):
    with pytest.raises(AssertionError, match="Padding_idx must be within num_embeddings"):
        F.embedding(tl.tensor([1]), tl.ones(3, 2), padding_idx=padding_idx)


# --- cross_entropy / nll_loss ----------------------------------------------------------------------------------

CE_SHAPES = [((5, 4), (5,)), ((4,), ()), ((3, 4, 2, 3), (3, 2, 3)), ((2, 4, 5), (2, 5))]


def _targets(tshape, n_classes, ignore, seed):
    t = _rng(seed).integers(0, n_classes, size=tshape)
    if ignore is not None and t.size > 1:
        t.flat[1] = ignore
    return np.asarray(t, dtype=np.int64)


@pytest.mark.parametrize("shape,tshape", CE_SHAPES)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("ignore_index", [-100, 1])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.25])
@pytest.mark.parametrize("dtype,rtol,atol", DTYPES)
def test_cross_entropy_class_indices_matches_torch(shape, tshape, reduction, weighted, ignore_index, label_smoothing,
                                                   dtype, rtol, atol):
    c = shape[1] if len(shape) > 1 else shape[0]
    x = _rng(10).standard_normal(shape) * 2
    t = _targets(tshape, c, ignore_index, 11)
    arrays = [x, t] + ([_rng(12).random(c) + 0.5] if weighted else [])

    def run(m, x, t, w=None):
        return m.cross_entropy(x, t, w, ignore_index=ignore_index, reduction=reduction,
                               label_smoothing=label_smoothing)
    _check(lambda *a: run(F, *a), lambda *a: run(TF, *a), arrays, dtype, rtol, atol, grad_idx=[0])


@pytest.mark.parametrize("shape", [(5, 4), (4,), (3, 4, 2)])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.3])
@pytest.mark.parametrize("dtype,rtol,atol", DTYPES)
def test_cross_entropy_probability_targets_input_and_weight_grads(shape, reduction, weighted, label_smoothing,
                                                                  dtype, rtol, atol):
    c = shape[1] if len(shape) > 1 else shape[0]
    x = _rng(13).standard_normal(shape)
    t = _rng(14).random(shape)
    arrays = [x, t] + ([_rng(15).random(c) + 0.5] if weighted else [])

    def run(m, x, t, w=None):
        return m.cross_entropy(x, t, w, reduction=reduction, label_smoothing=label_smoothing)
    _check(lambda *a: run(F, *a), lambda *a: run(TF, *a), arrays, dtype, rtol, atol)


@pytest.mark.parametrize("shape,tshape", CE_SHAPES)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("ignore_index", [-100, 2])
@pytest.mark.parametrize("dtype,rtol,atol", DTYPES)
def test_nll_loss_matches_torch(shape, tshape, reduction, weighted, ignore_index, dtype, rtol, atol):
    c = shape[1] if len(shape) > 1 else shape[0]
    x = _rng(16).standard_normal(shape)
    t = _targets(tshape, c, ignore_index, 17)
    arrays = [x, t] + ([_rng(18).random(c) + 0.5] if weighted else [])

    def run(m, x, t, w=None):
        return m.nll_loss(x, t, w, ignore_index=ignore_index, reduction=reduction)
    _check(lambda *a: run(F, *a), lambda *a: run(TF, *a), arrays, dtype, rtol, atol, grad_idx=[0])


@pytest.mark.parametrize("label_smoothing", [0.0, 0.2])
@pytest.mark.parametrize("weighted", [False, True])
def test_all_ignored_mean_is_nan_with_zero_gradient_as_torch(label_smoothing, weighted):
    x = _rng(29).standard_normal((3, 4))
    arrays = [x, np.array([2, 2, 2])] + ([np.arange(1.0, 5.0)] if weighted else [])

    def run(m, x, t, w=None):
        return m.cross_entropy(x, t, w, ignore_index=2, label_smoothing=label_smoothing)
    _check(lambda *a: run(F, *a), lambda *a: run(TF, *a), arrays, "float64", 1e-10, 1e-12, grad_idx=[0])


def test_cross_entropy_all_ignored_mean_is_nan_and_empty_batches():
    x = tl.tensor(_rng(19).standard_normal((3, 5)))
    assert math.isnan(F.cross_entropy(x, tl.tensor([-100, -100, -100])).item())
    assert math.isnan(F.nll_loss(tl.zeros(0, 5), tl.zeros(0, dtype=tl.int64)).item())
    assert math.isnan(F.cross_entropy(tl.zeros(0, 5), tl.zeros(0, 5)).item())
    assert F.cross_entropy(tl.zeros(0, 5), tl.zeros(0, dtype=tl.int64), reduction="sum").item() == 0.0


def test_cross_entropy_on_noncontiguous_logits_and_legacy_reduce_args():
    x = _rng(20).standard_normal((4, 6))
    t = np.array([0, 3, 1, 2, 0, 1])
    a, b = _both(x)
    _close(F.cross_entropy(a.t(), tl.tensor(t)), TF.cross_entropy(b.t(), torch.tensor(t)), 1e-12, 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _close(F.cross_entropy(a.t(), tl.tensor(t), size_average=False),
               TF.cross_entropy(b.t(), torch.tensor(t), size_average=False), 1e-12, 0)
        _close(F.nll_loss(a.t(), tl.tensor(t), reduce=False), TF.nll_loss(b.t(), torch.tensor(t), reduce=False),
               1e-12, 0)


LOSS_ERRORS = [
    (lambda: F.cross_entropy(tl.ones(3, 5), tl.tensor([1, 0, 7])), IndexError, r"Target 7 is out of bounds\."),
    (lambda: F.nll_loss(tl.ones(3, 5), tl.tensor([1, -3, 0])), IndexError, r"Target -3 is out of bounds\."),
    (lambda: F.nll_loss(tl.ones(3, 5), tl.tensor([1, 0])), ValueError,
     r"Expected input batch_size \(3\) to match target batch_size \(2\)\."),
    (lambda: F.nll_loss(tl.ones(2, 3, 4), tl.zeros(2, 5, dtype=tl.int64)), RuntimeError,
     r"Expected target size \[2, 4\], got \[2, 5\]"),
    (lambda: F.nll_loss(tl.tensor(1.0), tl.tensor(1)), ValueError, r"Expected 1 or more dimensions \(got 0\)"),
    (lambda: F.nll_loss(tl.ones(3, 5), tl.ones(3)), RuntimeError,
     "expected target dtype to be Long or Byte, but got Float"),
    (lambda: F.cross_entropy(tl.ones(3, 5), tl.tensor([1, 0, 2]), weight=tl.ones(4)), RuntimeError,
     r"weight tensor should be defined either for all 5 classes or no classes but got weight tensor of shape: "
     r"\[4\]"),
    (lambda: F.cross_entropy(tl.ones(3, 5), tl.ones(3, 5), weight=tl.ones(4)), RuntimeError,
     r"cross_entropy: weight tensor should be defined either for all 5 classes"),
    (lambda: F.cross_entropy(tl.ones(3, 5), tl.tensor([1, 0, 2]), label_smoothing=1.5), RuntimeError,
     r"label_smoothing must be between 0\.0 and 1\.0\. Got: 1\.5"),
    (lambda: F.cross_entropy(tl.ones(3, 5), tl.ones(3, 5), label_smoothing=1.5), RuntimeError,
     r"label_smoothing must be between 0\.0 and 1\.0\. Got: 1\.5"),
    (lambda: F.cross_entropy(tl.ones(3, 5), tl.ones(3, 5), ignore_index=1), RuntimeError,
     "ignore_index is not supported for floating point target"),
    (lambda: F.cross_entropy(tl.ones(3, 5), tl.ones(3, 5, dtype=tl.int64)), RuntimeError,
     "Expected floating point type for target with class probabilities, got Long"),
    (lambda: F.cross_entropy(tl.ones(3, 5), tl.tensor([1, 0, 2]), reduction="bad"), ValueError,
     "bad is not a valid value for reduction"),
    (lambda: F.nll_loss(tl.ones(3, 5), tl.tensor([1, 0, 2]), reduction="avg"), ValueError,
     "avg is not a valid value for reduction"),
    (lambda: F.mse_loss(tl.ones(3), tl.ones(3), reduction="bad"), ValueError, "bad is not a valid value for reduction"),
    (lambda: F.l1_loss(tl.ones(3), tl.ones(3), reduction="bad"), ValueError, "bad is not a valid value for reduction"),
    (lambda: F.binary_cross_entropy_with_logits(tl.ones(3), tl.ones(3), reduction="bad"), ValueError,
     "bad is not a valid value for reduction"),
    (lambda: F.binary_cross_entropy_with_logits(tl.ones(3, 5), tl.ones(3)), ValueError,
     r"Target size \(torchlite\.Size\(\[3\]\)\) must be the same as input size \(torchlite\.Size\(\[3, 5\]\)\)"),
    (lambda: F.mse_loss(tl.ones(3), tl.ones(3), weight=tl.ones(2)), ValueError,
     "Weights and input must have the same size"),
]


@pytest.mark.parametrize("fn,exc,msg", LOSS_ERRORS)
def test_loss_errors_use_torch_wording_and_name_the_test_file(fn, exc, msg):
    with pytest.raises(exc, match=msg + ".*" + HERE):
        fn()


def test_loss_errors_match_torch_exception_types():
    for ours, theirs in [
        (lambda: F.cross_entropy(tl.ones(3, 5), tl.tensor([1, 0, 7])),
         lambda: TF.cross_entropy(torch.ones(3, 5), torch.tensor([1, 0, 7]))),
        (lambda: F.nll_loss(tl.ones(3, 5), tl.tensor([1, 0])),
         lambda: TF.nll_loss(torch.ones(3, 5), torch.tensor([1, 0]))),
    ]:
        with pytest.raises(Exception) as a:
            ours()
        with pytest.raises(Exception) as b:
            theirs()
        assert type(a.value) is type(b.value)


# --- pointwise losses ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["mse_loss", "l1_loss"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("dtype,rtol,atol", DTYPES)
def test_mse_l1_match_torch_with_weights_and_exact_ties(name, reduction, weighted, dtype, rtol, atol):
    r = _rng(21)
    x, y = r.standard_normal((3, 4)), r.standard_normal((3, 4))
    y[0, 0] = x[0, 0]                       # |x - y| at 0: zero gradient in both
    arrays = [x, y] + ([r.random((3, 4))] if weighted else [])

    def run(m, x, y, w=None):
        return getattr(m, name)(x, y, reduction=reduction, weight=w)
    _check(lambda *a: run(F, *a), lambda *a: run(TF, *a), arrays, dtype, rtol, atol)


@pytest.mark.parametrize("name", ["mse_loss", "l1_loss"])
def test_pointwise_loss_broadcast_warns_like_torch(name):
    x, y = _rng(22).standard_normal((3, 1)), _rng(23).standard_normal(4)
    with pytest.warns(UserWarning, match="Using a target size .* that is different to the input size"):
        ours = getattr(F, name)(tl.tensor(x), tl.tensor(y))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = getattr(TF, name)(torch.tensor(x), torch.tensor(y))
    _close(ours, ref, 1e-12, 0)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted,pos", [(False, False), (True, False), (False, True), (True, True)])
@pytest.mark.parametrize("dtype,rtol,atol", DTYPES)
def test_bce_with_logits_matches_torch_stably(reduction, weighted, pos, dtype, rtol, atol):
    r = _rng(24)
    x = np.concatenate([r.standard_normal((3, 4)) * 3, [[0.0, 50.0, -50.0, 200.0]]])
    y = r.random((4, 4))
    arrays = [x, y] + ([r.random((4, 4))] if weighted else []) + ([r.random(4) * 3] if pos else [])

    def run(m, x, y, *rest):
        w = rest[0] if weighted else None
        pw = rest[-1] if pos else None
        return m.binary_cross_entropy_with_logits(x, y, w, reduction=reduction, pos_weight=pw)
    # torch differentiates input and target only (weight / pos_weight "not differentiable")
    _check(lambda *a: run(F, *a), lambda *a: run(TF, *a), arrays, dtype, rtol, atol, grad_idx=[0, 1])


# --- scaled_dot_product_attention ------------------------------------------------------------------------------

SDPA_CASES = list(itertools.product(["none", "bool", "float", "causal"], [None, 0.3, -0.5]))


@pytest.mark.parametrize("mask,scale", SDPA_CASES)
@pytest.mark.parametrize("L,S", [(4, 6), (5, 3)])
@pytest.mark.parametrize("dtype,rtol,atol", DTYPES)
def test_sdpa_matches_torch_forward_and_grads(mask, scale, L, S, dtype, rtol, atol):
    r = _rng(25)
    q, k, v = r.standard_normal((2, 3, L, 8)), r.standard_normal((2, 3, S, 8)), r.standard_normal((2, 3, S, 5))
    arrays = [q, k, v]
    if mask == "bool":
        m = r.random((L, S)) > 0.4
        m[:, 0] = True
        arrays.append(m)
    elif mask == "float":
        arrays.append(r.standard_normal((2, 1, L, S)))

    def run(m, q, k, v, am=None):
        return m.scaled_dot_product_attention(q, k, v, attn_mask=am, is_causal=mask == "causal", scale=scale)
    _check(lambda *a: run(F, *a), lambda *a: run(TF, *a), arrays, dtype, rtol, atol * 10, grad_idx=[0, 1, 2])


@pytest.mark.parametrize("dtype,rtol,atol", DTYPES)
def test_sdpa_fully_masked_row_gives_zero_output_and_finite_grads(dtype, rtol, atol):
    r = _rng(26)
    m = r.random((3, 5)) > 0.3
    m[1] = False
    arrays = [r.standard_normal((1, 2, 3, 4)), r.standard_normal((1, 2, 5, 4)), r.standard_normal((1, 2, 5, 4)), m]

    def run(mod, q, k, v, am):
        return mod.scaled_dot_product_attention(q, k, v, attn_mask=am)
    _check(lambda *a: run(F, *a), lambda *a: run(TF, *a), arrays, dtype, rtol, atol * 10, grad_idx=[0, 1, 2])


def test_sdpa_gqa_and_3d_inputs_match_torch():
    r = _rng(27)
    arrays = [r.standard_normal((2, 4, 3, 8)), r.standard_normal((2, 2, 5, 8)), r.standard_normal((2, 2, 5, 8))]
    _check(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True),
           lambda q, k, v: TF.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True),
           arrays, "float64", 1e-10, 1e-12)
    arrays = [r.standard_normal((3, 4, 8)), r.standard_normal((3, 6, 8)), r.standard_normal((3, 6, 2))]
    _check(F.scaled_dot_product_attention, TF.scaled_dot_product_attention, arrays, "float64", 1e-10, 1e-12)


def test_sdpa_dropout_is_seeded_and_p0_is_exact():
    q = tl.tensor(_rng(28).standard_normal((1, 2, 4, 8)))
    tl.manual_seed(5)
    a = F.scaled_dot_product_attention(q, q, q, dropout_p=0.5).numpy()
    tl.manual_seed(5)
    b = F.scaled_dot_product_attention(q, q, q, dropout_p=0.5).numpy()
    np.testing.assert_array_equal(a, b)
    c = F.scaled_dot_product_attention(q, q, q).numpy()
    assert not np.allclose(a, c)


@pytest.mark.parametrize("fn,msg", [
    (lambda: F.scaled_dot_product_attention(tl.ones(2, 3, 4), tl.ones(2, 5, 4), tl.ones(2, 5, 4),
                                            attn_mask=tl.ones(3, 5, dtype=tl.bool), is_causal=True),
     "Explicit attn_mask should not be set when is_causal=True"),
    (lambda: F.scaled_dot_product_attention(tl.ones(1, 4, 3, 4), tl.ones(1, 3, 5, 4), tl.ones(1, 3, 5, 4),
                                            enable_gqa=True),
     "Number of heads in key and value must divide the number of heads in query"),
    (lambda: F.scaled_dot_product_attention(tl.ones(1, 4, 3, 4), tl.ones(1, 4, 5, 4, dtype=tl.float64),
                                            tl.ones(1, 4, 5, 4)),
     "Expected query, key, and value to have the same dtype, but got query.dtype: float key.dtype: double"),
    (lambda: F.scaled_dot_product_attention(tl.ones(1, 4, 3, 4), tl.ones(1, 4, 5, 4), tl.ones(1, 4, 5, 4),
                                            attn_mask=tl.ones(3, 5, dtype=tl.int64)),
     "Expected attn_mask dtype to be bool or float or to match query dtype, but got attn_mask.dtype: long int"),
])
def test_sdpa_errors(fn, msg):
    with pytest.raises(RuntimeError, match=msg + ".*" + HERE):
        fn()


def test_all_names_exported():
    for name in F.__all__:
        assert callable(getattr(F, name)), name
    for name in ["dropout", "layer_norm", "rms_norm", "embedding", "cross_entropy", "nll_loss", "mse_loss", "l1_loss",
                 "binary_cross_entropy_with_logits", "scaled_dot_product_attention", "leaky_relu", "elu", "hardtanh",
                 "logsigmoid", "normalize", "softmax", "log_softmax", "sigmoid", "tanh", "silu", "gelu", "relu"]:
        assert name in F.__all__, name
