"""Random numbers (Generator, seeding, samplers, in-place samplers) and the in-place writers fill_/zero_/copy_,
plus the range constructors linspace/logspace/eye.

Statistical checks use 100,000 samples and bounds of 5 standard errors (a correct sampler fails one of
them with probability below 1e-6; the seeds are fixed anyway, so the tests are deterministic).
"""
from __future__ import annotations

import math

import numpy as np
import pytest

import torchlite as tl
from conftest import assert_close, to_torch

HERE = r"test_random\.py:\d+"
N = 100_000
FLOATS = ["float16", "bfloat16", "float32", "float64"]


def f64(x: tl.Tensor) -> np.ndarray:
    return np.asarray(x.numpy()).astype(np.float64)


def assert_mean(x: np.ndarray, mean: float, std: float):
    """The sample mean is within 5 standard errors of ``mean``."""
    se = std / math.sqrt(x.size)
    assert abs(x.mean() - mean) <= 5 * se, (x.mean(), mean, se)


def assert_std(x: np.ndarray, std: float, kurtosis: float = 3.0):
    """The sample standard deviation is within 5 standard errors of ``std``."""
    se = std * math.sqrt((kurtosis - 1) / (4 * x.size))
    assert abs(x.std() - std) < 5 * se, (x.std(), std, se)


# --- seeding and generators --------------------------------------------------------------------------------

SAMPLERS = {
    "rand": lambda g: tl.rand(5, generator=g),
    "randn": lambda g: tl.randn(2, 3, generator=g, dtype=tl.float64),
    "randint": lambda g: tl.randint(0, 100, (6,), generator=g),
    "randperm": lambda g: tl.randperm(10, generator=g),
    "normal": lambda g: tl.normal(tl.zeros(4), tl.ones(4), generator=g),
    "normal_numbers": lambda g: tl.normal(1.0, 2.0, (4,), generator=g),
    "bernoulli": lambda g: tl.bernoulli(tl.full((8,), 0.5), generator=g),
    "multinomial": lambda g: tl.multinomial(tl.ones(2, 10), 3, generator=g),
    "multinomial_replacement": lambda g: tl.multinomial(tl.ones(10), 5, True, generator=g),
    "uniform_": lambda g: tl.zeros(5).uniform_(-1, 1, generator=g),
    "normal_": lambda g: tl.zeros(5).normal_(generator=g),
    "bernoulli_": lambda g: tl.zeros(8).bernoulli_(0.5, generator=g),
    "random_": lambda g: tl.zeros(5, dtype=tl.int64).random_(0, 1000, generator=g),
    "exponential_": lambda g: tl.zeros(5).exponential_(generator=g),
}


@pytest.mark.parametrize("name", sorted(SAMPLERS))
def test_manual_seed_makes_every_sampler_deterministic(name):
    fn = SAMPLERS[name]
    tl.manual_seed(123)
    a = fn(None).numpy().copy()
    b = fn(None).numpy().copy()
    tl.manual_seed(123)
    np.testing.assert_array_equal(fn(None).numpy(), a)
    np.testing.assert_array_equal(fn(None).numpy(), b)
    g = tl.Generator().manual_seed(7)
    c = fn(g).numpy().copy()
    np.testing.assert_array_equal(fn(tl.Generator().manual_seed(7)).numpy(), c)
    if name not in ("bernoulli", "bernoulli_"):          # 8 fair coins may repeat; the rest cannot in practice
        tl.manual_seed(124)
        assert not np.array_equal(fn(None).numpy(), a)


def test_samples_are_drawn_at_call_time_in_call_order():
    tl.manual_seed(0)
    a = tl.rand(3, dtype=tl.float64)
    b = tl.rand(2, dtype=tl.float64)
    assert not a.is_lazy and not b.is_lazy
    tl.manual_seed(0)
    both = tl.rand(5, dtype=tl.float64).numpy()
    np.testing.assert_array_equal(both, np.concatenate([a.numpy(), b.numpy()]))
    # building (not realizing) other ops between draws does not disturb the stream
    tl.manual_seed(0)
    c = tl.rand(3, dtype=tl.float64) * 2.0
    d = tl.rand(2, dtype=tl.float64)
    np.testing.assert_array_equal(c.numpy(), a.numpy() * 2)
    np.testing.assert_array_equal(d.numpy(), b.numpy())


def test_generators_are_independent_of_each_other_and_of_the_default():
    g1, g2 = tl.Generator().manual_seed(5), tl.Generator().manual_seed(5)
    tl.manual_seed(9)
    ref_default = tl.rand(4).numpy().copy()
    tl.manual_seed(9)
    x1 = tl.rand(4, generator=g1).numpy().copy()
    tl.rand(100, generator=g1)                             # advancing g1 changes neither g2 nor the default
    np.testing.assert_array_equal(tl.rand(4, generator=g2).numpy(), x1)
    np.testing.assert_array_equal(tl.rand(4).numpy(), ref_default)
    assert not np.array_equal(tl.rand(4, generator=g1).numpy(), tl.rand(4, generator=g2).numpy())


def test_generator_api():
    g = tl.Generator()
    assert g.device == tl.device("cpu")
    assert g.initial_seed() == 67280421310721
    assert g.manual_seed(11) is g and g.initial_seed() == 11
    assert g.manual_seed(-1).initial_seed() == 2 ** 64 - 1
    s = g.seed()
    assert isinstance(s, int) and 0 <= s < 2 ** 64 and g.initial_seed() == s
    assert tl.manual_seed(3) is tl.default_generator and tl.initial_seed() == 3
    assert tl.manual_seed(3.7).initial_seed() == 3                 # torch.manual_seed takes int(seed)
    s = tl.seed()
    assert tl.initial_seed() == s
    assert "Generator" in repr(g)
    with pytest.raises(RuntimeError, match="manual_seed expected a long, but got float"):
        g.manual_seed(1.5)
    with pytest.raises(RuntimeError, match="manual_seed expected a long, but got str"):
        g.manual_seed("1")
    with pytest.raises(ValueError, match="Overflow when unpacking long long"):
        g.manual_seed(2 ** 64)
    with pytest.raises(ValueError, match="Overflow when unpacking long long.*" + HERE):
        tl.manual_seed(-2 ** 63 - 1)
    with pytest.raises(RuntimeError, match="cuda"):
        tl.Generator(device="cuda")


def test_state_round_trips():
    g = tl.Generator().manual_seed(21)
    tl.rand(3, generator=g)
    state = g.get_state()
    assert state.dtype is tl.uint8 and state.ndim == 1
    a = tl.randn(7, generator=g).numpy().copy()
    b = tl.rand(3, generator=g).numpy().copy()          # float32 draws use half of a 64-bit word: buffered
    g.set_state(state)
    np.testing.assert_array_equal(tl.randn(7, generator=g).numpy(), a)
    np.testing.assert_array_equal(tl.rand(3, generator=g).numpy(), b)
    assert g.initial_seed() == 21
    g2 = tl.Generator().set_state(bytes(state.numpy()))   # the raw bytes work too, in another generator
    g2.set_state(state)
    np.testing.assert_array_equal(tl.randn(7, generator=g2).numpy(), a)
    tl.manual_seed(4)
    s = tl.get_rng_state()
    c = tl.randint(0, 10 ** 9, (5,)).numpy().copy()
    tl.set_rng_state(s)
    np.testing.assert_array_equal(tl.randint(0, 10 ** 9, (5,)).numpy(), c)


def test_bad_states_are_rejected():
    with pytest.raises(RuntimeError, match=r"Expected a PCG64 generator state of size 56 but found the input RNG "
                       r"state size to be 3.*" + HERE):
        tl.set_rng_state(tl.zeros(3, dtype=tl.uint8))
    with pytest.raises(TypeError, match=r"RNG state must be a torchlite\.ByteTensor.*" + HERE):
        tl.set_rng_state(tl.zeros(56))
    with pytest.raises(TypeError, match="RNG state must be"):
        tl.Generator().set_state([0] * 56)


def test_fork_rng_restores_the_default_stream():
    from torchlite.ops.random import fork_rng
    tl.manual_seed(8)
    expected = tl.rand(4).numpy().copy()
    tl.manual_seed(8)
    with fork_rng():
        tl.rand(100)
    np.testing.assert_array_equal(tl.rand(4).numpy(), expected)


def test_generator_argument_must_be_a_generator():
    with pytest.raises(TypeError, match="rand: rand\\(\\): argument 'generator' must be torchlite.Generator, not "
                       "int.*" + HERE):
        tl.rand(3, generator=5)


# --- shapes, dtypes, devices ---------------------------------------------------------------------------------

@pytest.mark.parametrize("fn", ["rand", "randn"])
@pytest.mark.parametrize("dtype", FLOATS)
def test_rand_randn_shapes_and_dtypes(fn, dtype):
    f = getattr(tl, fn)
    d = getattr(tl, dtype)
    for args in ((2, 3), ((2, 3),), ([2, 3],)):
        x = f(*args, dtype=d, device="cpu")
        assert x.shape == (2, 3) and x.dtype is d and x.device == tl.device("cpu")
        assert x.numpy().dtype == d.np
    assert f(0, 4).shape == (0, 4) and f(()).shape == ()
    assert f(3).dtype is tl.get_default_dtype()
    like = getattr(tl, fn + "_like")(tl.zeros(4, 5, dtype=tl.float64))
    assert like.shape == (4, 5) and like.dtype is tl.float64
    assert getattr(tl, fn + "_like")(tl.zeros(2), dtype=d).dtype is d


@pytest.mark.parametrize("fn, kernel", [("rand", "check_uniform_bounds"), ("randn", "normal_kernel_cpu")])
def test_rand_randn_reject_integer_dtypes_and_bad_sizes(fn, kernel, torch):
    with pytest.raises(NotImplementedError, match=f"{fn}: \"{kernel}\" not implemented for 'Long'.*" + HERE):
        getattr(tl, fn)(3, dtype=tl.int64)
    with pytest.raises(NotImplementedError, match=f"\"{kernel}\" not implemented for 'Long'"):
        getattr(torch, fn)(3, dtype=torch.int64)
    with pytest.raises(NotImplementedError, match=f"\"{kernel}\" not implemented for 'Bool'.*" + HERE):
        getattr(tl, fn + "_like")(tl.zeros(2, dtype=tl.bool))
    with pytest.raises(RuntimeError, match=r"Trying to create tensor with negative dimension -3: \[-3\].*" + HERE):
        getattr(tl, fn)(-3)


# --- statistics -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", FLOATS)
def test_rand_is_uniform_on_the_half_open_unit_interval(dtype):
    tl.manual_seed(1)
    x = f64(tl.rand(N, dtype=getattr(tl, dtype)))
    assert x.min() >= 0.0 and x.max() < 1.0
    assert_mean(x, 0.5, math.sqrt(1 / 12))
    assert_std(x, math.sqrt(1 / 12), kurtosis=1.8)
    if dtype in ("float16", "bfloat16"):               # k / 2**digits: every value of the grid is reachable
        digits = 11 if dtype == "float16" else 8
        grid = x * 2 ** digits
        np.testing.assert_array_equal(grid, np.round(grid))
        assert len(np.unique(grid)) == 2 ** digits
    assert (x < 0.01).any() and (x > 0.99).any()


@pytest.mark.parametrize("dtype", FLOATS)
def test_randn_is_standard_normal(dtype):
    tl.manual_seed(2)
    x = f64(tl.randn(N, dtype=getattr(tl, dtype)))
    assert_mean(x, 0.0, 1.0)
    assert_std(x, 1.0)
    assert abs((np.abs(x) < 1).mean() - 0.6827) < 5 * math.sqrt(0.6827 * 0.3173 / N) + 0.004


def test_uniform_normal_exponential_inplace_statistics():
    tl.manual_seed(3)
    u = f64(tl.empty(N, dtype=tl.float64).uniform_(-2.0, 6.0))
    assert u.min() >= -2 and u.max() < 6
    assert_mean(u, 2.0, 8 / math.sqrt(12))
    n = f64(tl.empty(N).normal_(5.0, 0.5))
    assert_mean(n, 5.0, 0.5)
    assert_std(n, 0.5)
    e = f64(tl.empty(N, dtype=tl.float64).exponential_(4.0))
    assert e.min() >= 0
    assert_mean(e, 0.25, 0.25)
    k = f64(tl.empty(N, dtype=tl.float16).uniform_(1.0, 1.0))  # from == to: a constant
    assert (k == 1.0).all()


@pytest.mark.parametrize("low, high, dtype", [(0, 10, "int64"), (-5, 5, "int32"), (0, 256, "uint8"),
                                              (-128, 128, "int8"), (0, 2, "bool"), (3, 7, "float32"),
                                              (-(2 ** 40), 2 ** 40, "int64"), (0, 1, "int16")])
def test_randint_bounds_and_uniformity(low, high, dtype):
    tl.manual_seed(4)
    x = tl.randint(low, high, (N,), dtype=getattr(tl, dtype))
    assert x.dtype.name == dtype and x.shape == (N,)
    v = f64(x)
    assert v.min() >= low and v.max() <= high - 1
    np.testing.assert_array_equal(v, np.round(v))
    span = high - low
    if span <= 256:
        assert len(np.unique(v)) == span
        assert v.min() == low and v.max() == high - 1
    assert_mean(v, (low + high - 1) / 2, math.sqrt((span ** 2 - 1) / 12))


def test_randint_argument_forms(torch):
    tl.manual_seed(5)
    assert tl.randint(10, (2, 3)).shape == (2, 3)
    assert tl.randint(3, 10, (4,)).dtype is tl.int64
    assert tl.randint(high=10, size=(3,)).shape == (3,)
    assert tl.randint(low=2, high=10, size=(3,)).numpy().min() >= 2
    assert tl.randint(tl.tensor(10), (3,)).shape == (3,)
    like = tl.randint_like(tl.zeros(3, 2), 5, 10)
    assert like.dtype is tl.float32 and like.shape == (3, 2) and f64(like).min() >= 5 and f64(like).max() <= 9
    assert f64(tl.randint_like(tl.zeros(100, dtype=tl.int32), 3)).max() <= 2


@pytest.mark.parametrize("args, kw, exc, msg", [
    ((5, 5, (3,)), {}, RuntimeError, r"random_ expects 'from' to be less than 'to', but got from=5 >= to=5"),
    ((0, (3,)), {}, RuntimeError, r"random_ expects 'from' to be less than 'to', but got from=0 >= to=0"),
    ((0, 300, (3,)), {"dtype": "uint8"}, RuntimeError, "to - 1 is out of bounds for unsigned char"),
    ((-1, 3, (3,)), {"dtype": "uint8"}, RuntimeError, "from is out of bounds for unsigned char"),
    ((0, 2 ** 40, (3,)), {"dtype": "int32"}, RuntimeError, "to - 1 is out of bounds for int"),
    ((0, 3, (3,)), {"dtype": "bool"}, RuntimeError, "to - 1 is out of bounds for bool"),
    ((10, 5), {}, TypeError, "argument 'size' must be tuple of ints, not int"),
    ((1.5, 4.7, (3,)), {}, TypeError, "must be int, not float"),
])
def test_randint_errors(args, kw, exc, msg, torch):
    tkw = {k: getattr(torch, v) for k, v in kw.items()}
    with pytest.raises(exc, match="randint: .*" + msg + ".*" + HERE):
        tl.randint(*args, **{k: getattr(tl, v) for k, v in kw.items()})
    with pytest.raises(exc, match=msg if exc is RuntimeError else "randint"):
        torch.randint(*args, **tkw)


@pytest.mark.parametrize("n, dtype", [(0, "int64"), (1, "int64"), (1000, "int64"), (50, "int32"), (128, "int8"),
                                      (100, "float32"), (2049, "float16"), (200, "bfloat16")])
def test_randperm_is_a_permutation(n, dtype):
    tl.manual_seed(6)
    p = tl.randperm(n, dtype=getattr(tl, dtype))
    assert p.dtype.name == dtype and p.shape == (n,)
    np.testing.assert_array_equal(np.sort(f64(p)), np.arange(n))
    if n >= 100:
        assert (f64(p) != np.arange(n)).sum() > n // 2


def test_randperm_is_uniform_over_positions():
    tl.manual_seed(7)
    first = np.array([tl.randperm(4).numpy()[0] for _ in range(4000)])
    counts = np.bincount(first, minlength=4)
    assert (np.abs(counts - 1000) < 5 * math.sqrt(4000 * 0.25 * 0.75)).all()


@pytest.mark.parametrize("n, kw, exc, msg", [
    (-1, {}, RuntimeError, r"Trying to create tensor with negative dimension -1: \[-1\]"),
    (2, {"dtype": "bool"}, NotImplementedError, "\"randperm\" not implemented for 'Bool'"),
    (129, {"dtype": "int8"}, RuntimeError, "value cannot be converted to type int8_t without overflow"),
    (2050, {"dtype": "float16"}, RuntimeError, "n cannot be greater than 2049 for Half type."),
])
def test_randperm_errors_match_torch(n, kw, exc, msg, torch):
    with pytest.raises(exc, match="randperm: " + msg + ".*" + HERE):
        tl.randperm(n, **{k: getattr(tl, v) for k, v in kw.items()})
    with pytest.raises(exc, match=msg):
        torch.randperm(n, **{k: getattr(torch, v) for k, v in kw.items()})


# --- normal ------------------------------------------------------------------------------------------------------

def test_normal_broadcasts_tensor_mean_and_std():
    tl.manual_seed(8)
    mean = tl.tensor([[0.0], [10.0]])                       # (2, 1)
    std = tl.full((N,), 0.5)                                # (N,)
    x = tl.normal(mean, std)
    assert x.shape == (2, N) and x.dtype is tl.float32
    v = f64(x)
    assert_mean(v[0], 0.0, 0.5)
    assert_mean(v[1], 10.0, 0.5)
    assert_std(v[1], 0.5)


def test_normal_argument_forms_and_dtypes():
    tl.manual_seed(9)
    a = tl.normal(tl.zeros(2, 3), 2.0)
    assert a.shape == (2, 3) and a.dtype is tl.float32
    b = tl.normal(3.0, tl.ones(4, dtype=tl.float64))
    assert b.shape == (4,) and b.dtype is tl.float64
    c = tl.normal(2.0, 3.0, (N,), dtype=tl.float64)
    assert c.dtype is tl.float64
    assert_mean(f64(c), 2.0, 3.0)
    assert_std(f64(c), 3.0)
    d = tl.normal(tl.zeros(2, dtype=tl.float64), tl.ones(2))    # the mean's dtype decides
    assert d.dtype is tl.float64
    e = tl.normal(tl.full((3,), 7.0, dtype=tl.float16), 0.0)    # std 0: exactly the mean
    assert e.dtype is tl.float16 and (f64(e) == 7.0).all()
    f = tl.normal(tl.zeros(()), tl.ones(3))
    assert f.shape == (3,)
    assert tl.normal(tl.zeros(0), tl.ones(0)).shape == (0,)
    assert tl.normal(mean=tl.zeros(2)).shape == (2,)


@pytest.mark.parametrize("make, exc, msg", [
    (lambda: tl.normal(tl.zeros(2, 3), tl.ones(4)), RuntimeError,
     r"The size of tensor a \(3\) must match the size of tensor b \(4\) at non-singleton dimension 1"),
    (lambda: tl.normal(2.0, -3.0, (2,)), RuntimeError, "normal expects std >= 0.0, but found std -3"),
    (lambda: tl.normal(tl.zeros(2), tl.tensor([1.0, -1.0])), RuntimeError, "normal expects all elements of std >= 0.0"),
    (lambda: tl.normal(tl.zeros(2, dtype=tl.int64), 1.0), NotImplementedError,
     "\"normal_kernel_cpu\" not implemented for 'Long'"),
    (lambda: tl.normal(0.0, 1.0), TypeError, "requires size"),
    (lambda: tl.zeros(3).normal_(0, -1.5), RuntimeError, "normal expects std >= 0.0, but found std -1.5"),
    (lambda: tl.zeros(3, dtype=tl.int64).normal_(), NotImplementedError, "\"normal_kernel_cpu\" not implemented"),
])
def test_normal_errors(make, exc, msg):
    with pytest.raises(exc, match=msg + ".*" + HERE):
        make()


# --- bernoulli and multinomial ------------------------------------------------------------------------------------

def test_bernoulli_frequencies_and_extremes():
    tl.manual_seed(10)
    p = tl.tensor([0.0, 0.3, 1.0]).reshape(3, 1).expand(3, N)
    x = tl.bernoulli(p)
    assert x.dtype is tl.float32 and x.shape == (3, N)
    v = f64(x)
    assert set(np.unique(v)) <= {0.0, 1.0}
    assert (v[0] == 0).all() and (v[2] == 1).all()
    assert_mean(v[1], 0.3, math.sqrt(0.21))
    y = tl.bernoulli(tl.zeros(N, dtype=tl.float64), 0.7)
    assert y.dtype is tl.float64
    assert_mean(f64(y), 0.7, math.sqrt(0.21))
    assert tl.bernoulli(tl.ones(3, dtype=tl.float16)).tolist() == [1.0, 1.0, 1.0]
    assert tl.ones(4).bernoulli().shape == (4,)


def test_bernoulli_inplace_any_dtype_and_tensor_p():
    tl.manual_seed(11)
    x = tl.zeros(N, dtype=tl.int64).bernoulli_(0.25)
    assert x.dtype is tl.int64
    assert_mean(f64(x), 0.25, math.sqrt(0.25 * 0.75))
    b = tl.zeros(10, dtype=tl.bool).bernoulli_(1.0)
    assert b.dtype is tl.bool and all(b.tolist())
    y = tl.zeros(2, 3).bernoulli_(tl.tensor([0.0, 1.0, 0.0]))   # p broadcasts to self
    assert y.tolist() == [[0.0, 1.0, 0.0], [0.0, 1.0, 0.0]]


@pytest.mark.parametrize("make, exc, msg", [
    (lambda: tl.bernoulli(tl.full((3,), 1.5)), RuntimeError, "Expected p_in >= 0 && p_in <= 1 to be true"),
    (lambda: tl.bernoulli(tl.full((3,), 0.5), 1.5), RuntimeError, r"bernoulli_ expects p to be in \[0, 1\], but got "
                                                                  r"p=1.5"),
    (lambda: tl.bernoulli(tl.ones(3, dtype=tl.int64)), NotImplementedError,
     "\"bernoulli_tensor_cpu_p_\" not implemented for 'Long'"),
    (lambda: tl.ones(3).bernoulli_(-0.5), RuntimeError, r"bernoulli_ expects p to be in \[0, 1\], but got p=-0.5"),
    (lambda: tl.ones(2, 3).bernoulli_(tl.full((4,), 0.5)), RuntimeError,
     r"The expanded size of the tensor \(3\) must match the existing size \(4\) at non-singleton dimension 1"),
    (lambda: tl.ones(3).bernoulli_(tl.full((2, 3), 0.5)), RuntimeError,
     r"the number of sizes provided \(1\) must be greater or equal to the number of dimensions in the tensor \(2\)"),
])
def test_bernoulli_errors(make, exc, msg):
    with pytest.raises(exc, match=msg + ".*" + HERE):
        make()


def test_multinomial_with_replacement_frequencies():
    tl.manual_seed(12)
    p = np.array([0.1, 0.0, 0.2, 0.3, 0.4])
    x = tl.multinomial(tl.tensor(p * 7.0), N, replacement=True)    # unnormalized weights
    assert x.dtype is tl.int64 and x.shape == (N,)
    counts = np.bincount(x.numpy(), minlength=5)
    assert counts[1] == 0                                           # zero probability: never drawn
    for c, q in zip(counts, p):
        assert abs(c / N - q) < 5 * math.sqrt(q * (1 - q) / N) + 1e-12
    rows = tl.multinomial(tl.tensor([[1.0, 0.0], [0.0, 1.0]]), 6, replacement=True)
    assert rows.tolist() == [[0] * 6, [1] * 6]


def test_multinomial_without_replacement():
    tl.manual_seed(13)
    p = np.array([0.1, 0.2, 0.3, 0.4])
    first = tl.multinomial(tl.tensor(np.tile(p, (N, 1))), 1)        # one draw per row: frequencies are p
    assert first.shape == (N, 1)
    counts = np.bincount(first.numpy()[:, 0], minlength=4)
    for c, q in zip(counts, p):
        assert abs(c / N - q) < 5 * math.sqrt(q * (1 - q) / N)
    two = tl.multinomial(tl.tensor(np.tile(p, (20_000, 1)), dtype=tl.float64), 2).numpy()
    assert (two[:, 0] != two[:, 1]).all()
    # P(second = 0) = sum over j != 0 of p_j * p_0 / (1 - p_j)
    second0 = sum(p[j] * p[0] / (1 - p[j]) for j in range(1, 4))
    assert abs((two[:, 1] == 0).mean() - second0) < 5 * math.sqrt(second0 * (1 - second0) / 20_000)
    perm = tl.multinomial(tl.ones(3, 6), 6).numpy()                 # all categories: permutations
    assert (np.sort(perm, axis=1) == np.arange(6)).all()
    z = tl.multinomial(tl.tensor([0.0, 5.0, 0.0, 1.0]), 2).numpy()  # the nonzero categories come first
    assert sorted(z.tolist()) == [1, 3]
    assert tl.multinomial(tl.ones(0, 3), 2).shape == (0, 2)
    assert tl.multinomial(tl.ones(2, 3, dtype=tl.float16), 1).shape == (2, 1)
    assert tl.ones(5).multinomial(2).shape == (2,)


@pytest.mark.parametrize("args, msg", [
    ((tl.ones(2, 2, 2), 1), "prob_dist must be 1 or 2 dim"),
    ((tl.ones(3), 4), r"cannot sample n_sample > prob_dist.size\(-1\) samples without replacement"),
    ((tl.tensor([1.0, -1.0]), 1), "probability tensor contains either `inf`, `nan` or element < 0"),
    ((tl.tensor([1.0, float("nan")]), 1), "probability tensor contains either `inf`, `nan` or element < 0"),
    ((tl.tensor([0.0, 0.0]), 1, True), r"invalid multinomial distribution \(sum of probabilities <= 0\)"),
    ((tl.tensor([1, 2]), 1), "multinomial only supports floating-point dtypes for input, got: Long"),
    ((tl.tensor([1.0, 2.0]), 0), "cannot sample n_sample <= 0 samples"),
])
def test_multinomial_errors_match_torch(args, msg, torch):
    with pytest.raises(RuntimeError, match="multinomial: " + msg + ".*" + HERE):
        tl.multinomial(*args)
    with pytest.raises(RuntimeError, match=msg):
        torch.multinomial(to_torch(args[0]), *args[1:])


# --- the other in-place samplers --------------------------------------------------------------------------------------

def test_inplace_samplers_keep_dtype_and_write_through_views():
    tl.manual_seed(14)
    x = tl.zeros(3, 4, dtype=tl.float16)
    r = x[1].uniform_(5.0, 6.0)
    assert r.dtype is tl.float16 and r.shape == (4,)
    v = f64(x)
    assert (v[0] == 0).all() and (v[2] == 0).all() and (v[1] >= 5).all() and (v[1] <= 6).all()
    y = tl.zeros(4, 3, dtype=tl.float64)
    y.t()[0].normal_()
    assert (f64(y)[:, 1:] == 0).all() and (f64(y)[:, 0] != 0).all()
    z = tl.zeros(2, 5, dtype=tl.bfloat16)
    z[:, 1:3].exponential_()
    assert (f64(z)[:, [0, 3, 4]] == 0).all() and (f64(z)[:, 1:3] > 0).all()


@pytest.mark.parametrize("dtype, expect_max", [("float32", 2 ** 24), ("float16", 2 ** 11), ("int8", 127),
                                               ("bool", 1), ("int64", 2 ** 63 - 1)])
def test_random_inplace_ranges(dtype, expect_max):
    tl.manual_seed(15)
    x = tl.zeros(2000, dtype=getattr(tl, dtype)).random_()
    v = x.numpy().astype(np.float64) if dtype != "int64" else x.numpy()
    assert v.min() >= 0 and v.max() <= expect_max
    assert v.max() > expect_max / 2
    y = tl.zeros(2000, dtype=getattr(tl, dtype)).random_(2)
    assert set(np.unique(y.numpy().astype(np.int64))) == {0, 1}
    if dtype != "bool":
        w = tl.zeros(2000, dtype=getattr(tl, dtype)).random_(3, 7).numpy().astype(np.int64)
        assert set(np.unique(w)) == {3, 4, 5, 6}


@pytest.mark.parametrize("make, exc, msg", [
    (lambda: tl.zeros(3).uniform_(2, 1), RuntimeError, r"uniform_ expects to return a \[from, to\) range, but found "
                                                       r"from=2 > to=1"),
    (lambda: tl.zeros(3, dtype=tl.int64).uniform_(), NotImplementedError,
     "\"check_uniform_bounds\" not implemented for 'Long'"),
    (lambda: tl.zeros(3).exponential_(0), RuntimeError, "exponential_ expects lambda > 0.0, but found lambda=0"),
    (lambda: tl.zeros(3, dtype=tl.int64).exponential_(), RuntimeError,
     "dtype must be a floating point but you specified Long"),
    (lambda: tl.zeros(3, dtype=tl.int64).random_(5, 2), RuntimeError,
     "random_ expects 'from' to be less than 'to', but got from=5 >= to=2"),
    (lambda: tl.zeros(3, dtype=tl.uint8).random_(0, 300), RuntimeError, "to - 1 is out of bounds for unsigned char"),
])
def test_inplace_sampler_errors(make, exc, msg):
    with pytest.raises(exc, match=msg + ".*" + HERE):
        make()


def test_uniform_accepts_from_and_to_keywords():
    tl.manual_seed(16)
    x = tl.zeros(1000).uniform_(**{"from": 2.0, "to": 3.0})
    assert 2.0 <= f64(x).min() and f64(x).max() < 3.0


# --- fill_, zero_, copy_ --------------------------------------------------------------------------------------

def test_fill_and_zero_write_through_views():
    x = tl.zeros(2, 3)
    assert x[0].fill_(3) is not None
    assert x.tolist() == [[3.0, 3.0, 3.0], [0.0, 0.0, 0.0]]
    x.t()[2].fill_(tl.tensor(7.0, dtype=tl.float64))             # 0-d tensor value, any dtype
    assert x.tolist() == [[3.0, 3.0, 7.0], [0.0, 0.0, 7.0]]
    col = x[:, 0]
    x.fill_(1.5)
    assert x.is_lazy                                                # fill_ stays lazy
    assert col.tolist() == [1.5, 1.5]                               # other views see the write
    x[1].zero_()
    assert x.tolist() == [[1.5, 1.5, 1.5], [0.0, 0.0, 0.0]]
    y = tl.ones(3)
    assert y.zero_() is y and y.tolist() == [0.0, 0.0, 0.0]


@pytest.mark.parametrize("dtype, value, expected", [
    ("int64", 2.7, 2), ("int64", -2.7, -2), ("uint8", -1, 255), ("bool", 2, True), ("bool", 0.5, True),
    ("bool", 0, False), ("float16", 1e4, 1e4), ("bfloat16", 3.0, 3.0), ("int8", -128, -128),
])
def test_fill_converts_like_torch(dtype, value, expected, torch):
    x = tl.zeros(3, dtype=getattr(tl, dtype)).fill_(value)
    assert x.dtype.name == dtype
    assert_close(x, torch.zeros(3, dtype=getattr(torch, dtype)).fill_(value))
    assert x.tolist() == [expected] * 3


@pytest.mark.parametrize("dtype, value, msg", [
    ("int64", 1e30, "value cannot be converted to type int64_t without overflow"),
    ("int64", float("nan"), "value cannot be converted to type int64_t without overflow"),
    ("uint8", 256, "value cannot be converted to type uint8_t without overflow"),
    ("int8", 200, "value cannot be converted to type int8_t without overflow"),
    ("float16", 1e6, "value cannot be converted to type c10::Half without overflow"),
])
def test_fill_overflow_errors_match_torch(dtype, value, msg, torch):
    with pytest.raises(RuntimeError, match="fill_: " + msg + ".*" + HERE):
        tl.zeros(3, dtype=getattr(tl, dtype)).fill_(value)
    with pytest.raises(RuntimeError, match=msg):
        torch.zeros(3, dtype=getattr(torch, dtype)).fill_(value)


def test_fill_rejects_non_scalar_values():
    with pytest.raises(RuntimeError, match="fill_ only supports 0-dimension value tensor but got tensor with 1 "
                       "dimensions.*" + HERE):
        tl.zeros(3).fill_(tl.ones(1))
    with pytest.raises(TypeError, match="fill_.*str.*" + HERE):
        tl.zeros(3).fill_("a")


def test_copy_broadcasts_casts_and_copies(torch):
    x = tl.zeros(2, 3, dtype=tl.int64)
    src = tl.tensor([1.7, -1.7, 2.2])
    assert x.copy_(src) is x
    assert_close(x, torch.zeros(2, 3, dtype=torch.int64).copy_(to_torch(src)))
    b = tl.zeros(3, dtype=tl.bool).copy_(tl.tensor([1.7, 0.0, -2.0]))
    assert b.tolist() == [True, False, True]
    y = tl.zeros(2, 2)
    s = tl.tensor([[1.0, 2.0], [3.0, 4.0]])
    y.copy_(s)
    s.add_(10.0)                                                      # y holds a copy, not s itself
    assert y.tolist() == [[1.0, 2.0], [3.0, 4.0]]
    assert not np.shares_memory(y.numpy(), s.numpy())
    z = tl.zeros(3, 2)
    z[:, 1].copy_(tl.tensor([7.0, 8.0, 9.0], dtype=tl.float16))      # through a view
    assert z.tolist() == [[0.0, 7.0], [0.0, 8.0], [0.0, 9.0]]
    h = tl.zeros(2, dtype=tl.float16).copy_(tl.tensor([1.0 / 3, 70000.0], dtype=tl.float64))
    assert_close(h, torch.zeros(2, dtype=torch.float16).copy_(torch.tensor([1.0 / 3, 70000.0], dtype=torch.float64)))
    assert tl.zeros(3).copy_(1.5).tolist() == [1.5, 1.5, 1.5]
    e = tl.zeros(0, 3).copy_(tl.ones(3))
    assert e.shape == (0, 3)


@pytest.mark.parametrize("dst, src, msg", [
    ((2, 3), (4,), r"The size of tensor a \(3\) must match the size of tensor b \(4\) at non-singleton dimension 1"),
    ((3,), (1, 3), r"output with shape \[3\] doesn't match the broadcast shape \[1, 3\]"),
    ((3,), (2, 3), r"output with shape \[3\] doesn't match the broadcast shape \[2, 3\]"),
])
def test_copy_shape_errors_match_torch(dst, src, msg, torch):
    with pytest.raises(RuntimeError, match="copy_: " + msg + ".*" + HERE):
        tl.zeros(dst).copy_(tl.ones(src))
    with pytest.raises(RuntimeError, match=msg):
        torch.zeros(dst).copy_(torch.ones(src))
    with pytest.raises(TypeError, match="copy_.*must be Tensor.*" + HERE):
        tl.zeros(3).copy_([1, 2, 3])


# --- linspace, logspace, eye --------------------------------------------------------------------------------

RANGE_DTYPES = ["float32", "float64", "float16", "bfloat16", "int64", "int32", "uint8"]


def _range_cases():
    rng = np.random.default_rng(0)
    for dtype in RANGE_DTYPES:
        for steps in (0, 1, 2, 3, 8, 17, 100, 1001):
            if dtype in ("int64", "int32"):
                a, b = (int(v) for v in rng.integers(-1000, 1000, 2))
            elif dtype == "uint8":
                a, b = (int(v) for v in rng.integers(0, 255, 2))
            else:
                a, b = (float(v) for v in rng.normal(0, 10, 2))
            yield dtype, a, b, steps


def assert_within_one_ulp(x: tl.Tensor, expected) -> None:
    """Values equal to torch's within one unit in the last place of the dtype (integers: within 1).

    On x86-64 with FMA (what PyTorch's wheels dispatch to there) they are bit for bit equal; one ulp leaves
    room for PyTorch builds whose kernels round ``start + step * i`` twice.
    """
    got, exp = f64(x), expected.double().numpy()
    assert got.shape == exp.shape and x.dtype.name == str(expected.dtype).replace("torch.", "")
    if x.dtype.category != 2:
        assert np.abs(got - exp).max(initial=0) <= 1
        return
    bits = {"float16": 10, "bfloat16": 7, "float32": 23, "float64": 52}[x.dtype.name]
    tiny = tl.finfo(x.dtype).tiny
    ulp = np.exp2(np.floor(np.log2(np.maximum(np.abs(exp), tiny))) - bits)
    assert (np.abs(got - exp) <= ulp).all(), np.abs(got - exp) / ulp


@pytest.mark.parametrize("dtype, start, end, steps", list(_range_cases()))
def test_linspace_matches_torch(dtype, start, end, steps, torch):
    x = tl.linspace(start, end, steps, dtype=getattr(tl, dtype))
    assert x.is_lazy and x.shape == (steps,) and x.dtype.name == dtype
    expected = torch.linspace(start, end, steps, dtype=getattr(torch, dtype))
    assert_within_one_ulp(x, expected)
    if steps:
        assert x[0].item() == expected[0].item() and x[-1].item() == expected[-1].item()   # both ends exact


@pytest.mark.parametrize("dtype, steps, base", [(d, s, b) for d in RANGE_DTYPES for s in (0, 1, 2, 7, 100)
                                                for b in (10.0, 2.0)])
def test_logspace_matches_torch(dtype, steps, base, torch):
    lo, hi = (0, 2) if dtype == "uint8" else ((0, 6) if dtype.startswith("int") else (-2.5, 3.7))
    x = tl.logspace(lo, hi, steps, base=base, dtype=getattr(tl, dtype))
    expected = torch.logspace(lo, hi, steps, base=base, dtype=getattr(torch, dtype))
    assert_within_one_ulp(x, expected)


def test_ranges_defaults_and_tensor_bounds(torch):
    x = tl.linspace(0, 1, 5)
    assert x.dtype is tl.float32 and x.tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
    t = tl.linspace(tl.tensor(-1.0), tl.tensor(1.0), 3)
    assert t.tolist() == [-1.0, 0.0, 1.0]
    assert_close(tl.logspace(0, 3, 4), torch.logspace(0, 3, 4))
    assert tl.linspace(3, 10, 1).tolist() == [3.0]
    assert tl.linspace(3.0, 10.0, 1000)[-1].item() == 10.0 and tl.linspace(3.0, 10.0, 1000)[0].item() == 3.0
    names = [n.target.name for n in tl.fx.capture(tl.linspace(0, 1, 4) + tl.eye(4)[0]).graph.nodes
             if n.op == "call_function"]
    assert "linspace" in names and "eye" in names


@pytest.mark.parametrize("make, exc, msg", [
    (lambda: tl.linspace(0, 10, -1), RuntimeError, "number of steps must be non-negative"),
    (lambda: tl.logspace(0, 10, -1), RuntimeError, "number of steps must be non-negative"),
    (lambda: tl.linspace(0, 1, 3, dtype=tl.bool), NotImplementedError, "\"linspace_cpu\" not implemented for 'Bool'"),
    (lambda: tl.logspace(0, 1, 3, dtype=tl.bool), NotImplementedError, "\"logspace_cpu\" not implemented for 'Bool'"),
    (lambda: tl.linspace(0, 1, 3.0), TypeError, "argument 'steps' must be int, not float"),
    (lambda: tl.linspace(tl.tensor([0.0]), tl.tensor(1.0), 3), RuntimeError,
     r"linspace only supports 0-dimensional start and end tensors, but got start with 1 dimension\(s\) and end with 0 "
     r"dimension\(s\)\."),
    (lambda: tl.eye(-1), RuntimeError, "n must be greater or equal to 0, got -1"),
    (lambda: tl.eye(2, -1), RuntimeError, "m must be greater or equal to 0, got -1"),
    (lambda: tl.eye(2.0), TypeError, r"eye\(\): argument 'n' \(position 1\) must be int, not float"),
])
def test_range_errors(make, exc, msg):
    with pytest.raises(exc, match=msg + ".*" + HERE):
        make()


@pytest.mark.parametrize("n, m, dtype", [(3, None, "float32"), (3, 2, "float64"), (2, 4, "int64"), (0, 3, "bool"),
                                         (4, None, "bfloat16"), (0, None, "float16")])
def test_eye_matches_torch(n, m, dtype, torch):
    x = tl.eye(n, m, dtype=getattr(tl, dtype)) if m is not None else tl.eye(n, dtype=getattr(tl, dtype))
    assert x.is_lazy
    tt = torch.eye(n, m, dtype=getattr(torch, dtype)) if m is not None else torch.eye(n, dtype=getattr(torch, dtype))
    assert_close(x, tt)
    assert tl.eye(2).dtype is tl.float32


def test_public_names():
    for name in ("Generator", "default_generator", "manual_seed", "seed", "initial_seed", "get_rng_state",
                 "set_rng_state", "rand", "randn", "randint", "randperm", "normal", "rand_like", "randn_like",
                 "randint_like", "bernoulli", "multinomial", "linspace", "logspace", "eye", "matmul", "einsum"):
        assert hasattr(tl, name), name
    for method in ("uniform_", "normal_", "bernoulli_", "random_", "exponential_", "fill_", "zero_", "copy_",
                   "bernoulli", "multinomial", "matmul", "mm", "bmm", "mv", "dot", "outer"):
        assert callable(getattr(tl.Tensor, method)), method
    assert set(tl.ops.creation.__all__) >= {"tensor", "zeros", "arange", "linspace", "logspace", "eye"}
    assert "fill_" not in tl.ops.creation.__all__ and "_leaf" not in tl.ops.creation.__all__
