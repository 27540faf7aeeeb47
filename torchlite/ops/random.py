"""Random numbers: ``Generator``, seeding, and the sampling functions and in-place samplers.

Sampling is eager, as in PyTorch: each call draws its values from the generator *when it is made*, so the
order of calls defines the stream and the same seed gives the same values; the result is a realized leaf
(a constant of any graph that reads it, never a node the compiler could reorder or merge). A
``Generator`` wraps numpy's PCG64 bit generator; the global ``default_generator`` is seeded at random on
import, as PyTorch's is, until ``manual_seed`` fixes it.

    >>> import torchlite as tl
    >>> _ = tl.manual_seed(0); a = tl.rand(3)
    >>> _ = tl.manual_seed(0); bool((tl.rand(3) == a).all())
    True
"""
from __future__ import annotations

import contextlib
import os

import numpy as np

from .. import dtypes as _dt
from ..devices import to_device
from ..lazy import op_error
from ..tensor import Tensor
from ._meta import C_NAMES, CPP_SCALAR_NAMES, broadcast_shapes, torch_name
from .creation import _leaf, _shape_arg, grad_option
from .linalg import _check_bias

_DEFAULT_SEED = 67280421310721      # what a new torch.Generator() starts from
_STATE_BYTES = 56                   # PCG64 state (16) + increment (16) + has_uint32 (8) + uinteger (8) + seed (8)


def _seed_value(seed) -> int:
    """A seed as PyTorch accepts it: an int in [-2**63, 2**64), negative ones taken modulo 2**64."""
    if isinstance(seed, Tensor):
        seed = seed.item()
    if not isinstance(seed, (int, np.integer)):
        raise RuntimeError(f"manual_seed expected a long, but got {type(seed).__name__}")
    seed = int(seed)
    if not -(1 << 63) <= seed < (1 << 64):
        raise ValueError("Overflow when unpacking long long")
    return seed % (1 << 64)


class Generator:
    """A stream of random numbers (numpy's PCG64) for the sampling functions' ``generator=`` argument.

        >>> import torchlite as tl
        >>> g = tl.Generator().manual_seed(42)
        >>> tl.randint(0, 10, (3,), generator=g).shape
        torchlite.Size([3])
    """

    def __init__(self, device="cpu"):
        self.device = to_device(device)
        self._set(_DEFAULT_SEED)

    def _set(self, seed: int) -> None:
        self._seed = seed
        self._np = np.random.Generator(np.random.PCG64(seed))

    def manual_seed(self, seed) -> "Generator":
        """Restart the stream from ``seed``; returns the generator."""
        self._set(_seed_value(seed))
        return self

    def seed(self) -> int:
        """Restart the stream from a non-deterministic seed, and return that seed."""
        s = int.from_bytes(os.urandom(8), "little")
        self._set(s)
        return s

    def initial_seed(self) -> int:
        """The seed the stream started from."""
        return self._seed

    def get_state(self) -> Tensor:
        """The generator's full state as a uint8 tensor (for ``set_state``)."""
        st = self._np.bit_generator.state
        raw = (st["state"]["state"].to_bytes(16, "little") + st["state"]["inc"].to_bytes(16, "little")
               + int(st["has_uint32"]).to_bytes(8, "little") + int(st["uinteger"]).to_bytes(8, "little")
               + self._seed.to_bytes(8, "little"))
        return _leaf(np.frombuffer(raw, np.uint8).copy(), _dt.uint8, "cpu")

    def set_state(self, new_state) -> "Generator":
        """Restore a state from ``get_state`` (a uint8 tensor, or its bytes)."""
        if isinstance(new_state, Tensor):
            if new_state.dtype is not _dt.uint8:
                raise TypeError("RNG state must be a torchlite.ByteTensor (a uint8 tensor)")
            raw = np.ascontiguousarray(new_state.numpy()).tobytes()
        elif isinstance(new_state, (bytes, bytearray)):
            raw = bytes(new_state)
        else:
            raise TypeError(f"RNG state must be a torchlite.ByteTensor (a uint8 tensor), not "
                            f"{type(new_state).__name__}")
        if len(raw) != _STATE_BYTES:
            raise RuntimeError(f"Expected a PCG64 generator state of size {_STATE_BYTES} but found the input RNG "
                               f"state size to be {len(raw)}")
        word = [int.from_bytes(raw[i:j], "little") for i, j in ((0, 16), (16, 32), (32, 40), (40, 48), (48, 56))]
        bg = np.random.PCG64()
        bg.state = {"bit_generator": "PCG64", "state": {"state": word[0], "inc": word[1]},
                    "has_uint32": word[2], "uinteger": word[3]}
        self._np = np.random.Generator(bg)
        self._seed = word[4]
        return self

    def __repr__(self) -> str:
        return f"<torchlite.Generator device={self.device} initial_seed={self._seed}>"


default_generator = Generator()
default_generator.seed()


def manual_seed(seed) -> Generator:
    """Seed the default generator (``torch.manual_seed``); returns it."""
    if isinstance(seed, float):
        seed = int(seed)
    try:
        return default_generator.manual_seed(seed)
    except (RuntimeError, ValueError) as e:
        raise op_error(type(e), "manual_seed", str(e)) from None


def seed() -> int:
    """Seed the default generator non-deterministically; returns the seed."""
    return default_generator.seed()


def initial_seed() -> int:
    """The seed the default generator started from."""
    return default_generator.initial_seed()


def get_rng_state() -> Tensor:
    """The default generator's state (a uint8 tensor)."""
    return default_generator.get_state()


def set_rng_state(new_state) -> None:
    """Restore the default generator's state from ``get_rng_state``."""
    try:
        default_generator.set_state(new_state)
    except (RuntimeError, TypeError) as e:
        raise op_error(type(e), "set_rng_state", str(e)) from None


@contextlib.contextmanager
def fork_rng(devices=None, enabled: bool = True, **kwargs):
    """A block whose random draws do not advance the default generator (``torch.random.fork_rng``)."""
    if not enabled:
        yield
        return
    state = default_generator.get_state()
    try:
        yield
    finally:
        default_generator.set_state(state)


# --- helpers ---------------------------------------------------------------------------------------------

def _np_gen(name: str, generator) -> np.random.Generator:
    if generator is None:
        return default_generator._np
    if not isinstance(generator, Generator):
        raise op_error(TypeError, name, f"{name}(): argument 'generator' must be torchlite.Generator, not "
                       f"{type(generator).__name__}")
    return generator._np


def _float_dtype(name: str, d: _dt.dtype, kernel: str) -> _dt.dtype:
    if d.category != 2:
        raise op_error(NotImplementedError, name, f"\"{kernel}\" not implemented for '{torch_name(d)}'")
    return d


def _compute(d: _dt.dtype) -> np.dtype:
    """The numpy dtype samples of ``d`` are computed in (float64 for float64, float32 otherwise)."""
    return np.dtype(np.float64) if d is _dt.float64 else np.dtype(np.float32)


# mantissa digits of each float dtype: uniform samples are k / 2**digits, as PyTorch draws them
_DIGITS = {"float16": 11, "bfloat16": 8, "float32": 24, "float64": 53}


def _uniform01(g: np.random.Generator, shape: tuple, d: _dt.dtype) -> np.ndarray:
    """Samples in [0, 1) in the compute dtype of ``d``, each exactly representable in ``d``."""
    if d is _dt.float64:
        return g.random(shape)
    if d is _dt.float32:
        return g.random(shape, dtype=np.float32)
    k = g.integers(0, 1 << _DIGITS[d.name], shape, dtype=np.int32)
    return k.astype(np.float32) * np.float32(2.0 ** -_DIGITS[d.name])


def _normal01(g: np.random.Generator, shape: tuple, d: _dt.dtype) -> np.ndarray:
    return g.standard_normal(shape, dtype=_compute(d))


def _num(v) -> str:
    """A number as PyTorch prints it in messages (2.0 -> 2)."""
    return f"{v:g}" if isinstance(v, float) else str(v)


def _scalar(name: str, v, what: str):
    if isinstance(v, Tensor):
        v = v.item()
    if isinstance(v, np.generic):
        v = v.item()
    if not isinstance(v, (int, float)):
        raise op_error(TypeError, name, f"{name}(): argument '{what}' must be a number, not {type(v).__name__}")
    return v


# --- sampling functions ----------------------------------------------------------------------------------

@grad_option
def rand(*size, generator: Generator | None = None, dtype=None, device=None) -> Tensor:
    """Uniform samples in [0, 1).

        >>> import torchlite as tl
        >>> tl.rand(2, 3).shape
        torchlite.Size([2, 3])
    """
    shape = _shape_arg("rand", size)
    d = _float_dtype("rand", _dt.to_dtype(dtype) if dtype is not None else _dt.get_default_dtype(),
                     "check_uniform_bounds")
    dev = to_device(device)
    g = _np_gen("rand", generator)
    return _leaf(_uniform01(g, shape, d).astype(d.np, copy=False), d, dev)


@grad_option
def randn(*size, generator: Generator | None = None, dtype=None, device=None) -> Tensor:
    """Standard normal samples."""
    shape = _shape_arg("randn", size)
    d = _float_dtype("randn", _dt.to_dtype(dtype) if dtype is not None else _dt.get_default_dtype(),
                     "normal_kernel_cpu")
    dev = to_device(device)
    g = _np_gen("randn", generator)
    return _leaf(_normal01(g, shape, d).astype(d.np, copy=False), d, dev)


def _int_bounds_check(name: str, lo: int, hi: int, d: _dt.dtype) -> None:
    """PyTorch's random_ range checks: lo < hi, and both ends representable in ``d``."""
    if lo >= hi:
        raise op_error(RuntimeError, name, f"random_ expects 'from' to be less than 'to', but got from={lo} >= to={hi}")
    if d is _dt.bool:
        tmin, tmax = 0, 1
    elif d.category == 1:
        info = np.iinfo(d.np)
        tmin, tmax = int(info.min), int(info.max)
    else:
        f = _dt.finfo(d)
        tmin, tmax = f.min, f.max
    cname = C_NAMES[d.name]
    if lo < tmin or lo > tmax:
        raise op_error(RuntimeError, name, f"from is out of bounds for {cname}")
    if hi - 1 < tmin or hi - 1 > tmax:
        raise op_error(RuntimeError, name, f"to - 1 is out of bounds for {cname}")


def _int_samples(g: np.random.Generator, lo: int, hi: int, shape: tuple, d: _dt.dtype) -> np.ndarray:
    """Integers drawn uniformly from [lo, hi), as ``d``."""
    if lo >= -(1 << 63) and hi <= 1 << 63:
        return g.integers(lo, hi, shape, dtype=np.int64).astype(d.np)
    # bounds beyond int64 only reach here for float dtypes, which cannot tell those integers apart anyway
    return np.floor(g.random(shape) * (float(hi) - float(lo)) + float(lo)).astype(d.np)


def _int_arg(name: str, v, what: str) -> int:
    if isinstance(v, Tensor):
        v = v.item()
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
        raise op_error(TypeError, name, f"{name}(): argument '{what}' must be int, not {type(v).__name__}")
    return int(v)


@grad_option
def randint(*args, size=None, low=None, high=None, generator: Generator | None = None, dtype=None,
            device=None) -> Tensor:
    """Integers drawn uniformly from [low, high): ``randint(high, size)`` or ``randint(low, high, size)``.

        >>> import torchlite as tl
        >>> tl.randint(3, 10, (4,)).dtype
        torchlite.int64
    """
    args = list(args)
    if size is None:
        if not args:
            raise op_error(TypeError, "randint", "randint() missing required argument 'size'")
        size = args.pop()
    if high is None:
        if not args:
            raise op_error(TypeError, "randint", "randint() missing required argument 'high'")
        high = args.pop()
    if args:
        if low is not None or len(args) > 1:
            raise op_error(TypeError, "randint", "randint() takes at most 3 positional arguments (low, high, size)")
        low = args.pop()
    low = 0 if low is None else _int_arg("randint", low, "low")
    high = _int_arg("randint", high, "high")
    if not isinstance(size, (tuple, list)):
        raise op_error(TypeError, "randint", f"randint(): argument 'size' must be tuple of ints, not "
                       f"{type(size).__name__}")
    shape = _shape_arg("randint", tuple(size))
    d = _dt.to_dtype(dtype) if dtype is not None else _dt.int64
    _int_bounds_check("randint", low, high, d)
    dev = to_device(device)
    g = _np_gen("randint", generator)
    return _leaf(_int_samples(g, low, high, shape, d), d, dev)


@grad_option
def randperm(n: int, *, generator: Generator | None = None, dtype=None, device=None) -> Tensor:
    """A random permutation of ``0 .. n-1``."""
    n = _int_arg("randperm", n, "n")
    if n < 0:
        raise op_error(RuntimeError, "randperm", f"Trying to create tensor with negative dimension {n}: [{n}]")
    d = _dt.to_dtype(dtype) if dtype is not None else _dt.int64
    if d is _dt.bool:
        raise op_error(NotImplementedError, "randperm", "\"randperm\" not implemented for 'Bool'")
    if d is _dt.float16 and n > 2049:
        raise op_error(RuntimeError, "randperm", "n cannot be greater than 2049 for Half type.")
    if d.category == 1 and n - 1 > np.iinfo(d.np).max:
        raise op_error(RuntimeError, "randperm", f"value cannot be converted to type {CPP_SCALAR_NAMES[d.name]} without "
                       "overflow")
    dev = to_device(device)
    g = _np_gen("randperm", generator)
    return _leaf(g.permutation(n).astype(d.np), d, dev)


@grad_option
def normal(mean, std=1.0, size=None, *, generator: Generator | None = None, dtype=None,
           device=None) -> Tensor:
    """Normal samples with ``mean`` and ``std`` (tensors broadcast together, or numbers with ``size``).

        >>> import torchlite as tl
        >>> tl.normal(tl.zeros(2, 3), tl.ones(3)).shape
        torchlite.Size([2, 3])
    """
    g_arg = generator
    mt, st = isinstance(mean, Tensor), isinstance(std, Tensor)
    if mt or st:
        if size is not None:
            raise op_error(TypeError, "normal", "normal(): size= is only accepted when mean and std are numbers")
        ref = mean if mt else std
        d = _float_dtype("normal", ref.dtype, "normal_kernel_cpu")
        try:
            shape = broadcast_shapes(tuple(mean.shape), tuple(std.shape)) if mt and st else tuple(ref.shape)
        except RuntimeError as e:
            raise op_error(RuntimeError, "normal", str(e)) from None
        cd = _compute(d)
        m = mean.numpy().astype(cd) if mt else cd.type(_scalar("normal", mean, "mean"))
        if st:
            s = std.numpy().astype(cd)
            if s.size and not (s >= 0).all():
                raise op_error(RuntimeError, "normal", "normal expects all elements of std >= 0.0")
        else:
            s = _scalar("normal", std, "std")
            if s < 0:
                raise op_error(RuntimeError, "normal", f"normal expects std >= 0.0, but found std {_num(s)}")
            s = cd.type(s)
        dev = ref.device
    else:
        m, s = _scalar("normal", mean, "mean"), _scalar("normal", std, "std")
        if size is None:
            raise op_error(TypeError, "normal", "normal() with numbers for mean and std requires size=")
        if s < 0:
            raise op_error(RuntimeError, "normal", f"normal expects std >= 0.0, but found std {_num(s)}")
        shape = _shape_arg("normal", size if isinstance(size, (tuple, list)) else (size,))
        d = _float_dtype("normal", _dt.to_dtype(dtype) if dtype is not None else _dt.get_default_dtype(),
                         "normal_kernel_cpu")
        cd = _compute(d)
        m, s = cd.type(m), cd.type(s)
        dev = to_device(device)
    g = _np_gen("normal", g_arg)
    z = _normal01(g, shape, d)
    return _leaf((m + s * z).astype(d.np, copy=False).reshape(shape), d, dev)


def rand_like(input: Tensor, *, generator: Generator | None = None, dtype=None, device=None,
              requires_grad: bool = False) -> Tensor:
    """``rand`` with ``input``'s shape (and dtype and device unless given)."""
    return rand(input.shape, generator=generator, dtype=dtype if dtype is not None else input.dtype,
                device=device if device is not None else input.device, requires_grad=requires_grad)


def randn_like(input: Tensor, *, generator: Generator | None = None, dtype=None, device=None,
               requires_grad: bool = False) -> Tensor:
    """``randn`` with ``input``'s shape (and dtype and device unless given)."""
    return randn(input.shape, generator=generator, dtype=dtype if dtype is not None else input.dtype,
                 device=device if device is not None else input.device, requires_grad=requires_grad)


def randint_like(input: Tensor, low=0, high=None, *, generator: Generator | None = None, dtype=None, device=None,
                 requires_grad: bool = False) -> Tensor:
    """``randint`` with ``input``'s shape: ``randint_like(x, high)`` or ``randint_like(x, low, high)``."""
    if high is None:
        low, high = 0, low
    return randint(low, high, tuple(input.shape), generator=generator,
                   dtype=dtype if dtype is not None else input.dtype,
                   device=device if device is not None else input.device, requires_grad=requires_grad)


_P_RANGE = "Expected p_in >= 0 && p_in <= 1 to be true, but got false."


def _probs(name: str, p: Tensor) -> np.ndarray:
    if p.dtype.category != 2:
        raise op_error(NotImplementedError, name, f"\"bernoulli_tensor_cpu_p_\" not implemented for "
                       f"'{torch_name(p.dtype)}'")
    v = p.numpy().astype(np.float64)
    if v.size and not ((v >= 0) & (v <= 1)).all():
        raise op_error(RuntimeError, name, _P_RANGE)
    return v


def _p_scalar(name: str, p) -> float:
    p = _scalar(name, p, "p")
    if not 0 <= p <= 1:
        raise op_error(RuntimeError, name, f"bernoulli_ expects p to be in [0, 1], but got p={_num(p)}")
    return float(p)


def bernoulli(input: Tensor, p=None, *, generator: Generator | None = None) -> Tensor:
    """0/1 samples: 1 with probability ``input`` (elementwise), or with probability ``p`` if given.

        >>> import torchlite as tl
        >>> tl.bernoulli(tl.ones(3)).tolist()
        [1.0, 1.0, 1.0]
    """
    if not isinstance(input, Tensor):
        raise op_error(TypeError, "bernoulli", f"bernoulli(): argument 'input' must be Tensor, not "
                       f"{type(input).__name__}")
    probs = _probs("bernoulli", input) if p is None else _p_scalar("bernoulli", p)
    g = _np_gen("bernoulli", generator)
    u = g.random(tuple(input.shape))
    return _leaf((u < probs).astype(input.dtype.np), input.dtype, input.device)


def multinomial(input: Tensor, num_samples: int, replacement: bool = False, *,
                generator: Generator | None = None) -> Tensor:
    """Indices sampled from the categorical distributions in the rows of ``input`` (weights, not normalized).

        >>> import torchlite as tl
        >>> tl.multinomial(tl.tensor([0.0, 1.0, 0.0]), 2, replacement=True).tolist()
        [1, 1]
    """
    name = "multinomial"
    if not isinstance(input, Tensor):
        raise op_error(TypeError, name, f"multinomial(): argument 'input' must be Tensor, not {type(input).__name__}")
    if input.dtype.category != 2:
        raise op_error(RuntimeError, name, f"multinomial only supports floating-point dtypes for input, got: "
                       f"{torch_name(input.dtype)}")
    if input.ndim not in (1, 2):
        raise op_error(RuntimeError, name, "prob_dist must be 1 or 2 dim")
    n = _int_arg(name, num_samples, "num_samples")
    if n <= 0:
        raise op_error(RuntimeError, name, "cannot sample n_sample <= 0 samples")
    cats = input.shape[-1]
    if not replacement and n > cats:
        raise op_error(RuntimeError, name, "cannot sample n_sample > prob_dist.size(-1) samples without replacement")
    if cats > 1 << 24:
        raise op_error(RuntimeError, name, "number of categories cannot exceed 2^24")
    p = input.numpy().astype(np.float64).reshape(-1, cats)
    if p.size and not (np.isfinite(p) & (p >= 0)).all():
        raise op_error(RuntimeError, name, "probability tensor contains either `inf`, `nan` or element < 0")
    total = p.sum(axis=1)
    if p.shape[0] and not (total > 0).all():
        raise op_error(RuntimeError, name, "invalid multinomial distribution (sum of probabilities <= 0)")
    g = _np_gen(name, generator)
    rows = p.shape[0]
    if replacement:
        u = g.random((rows, n))
        out = np.empty((rows, n), np.int64)
        for r in range(rows):
            cdf = np.cumsum(p[r])
            cdf /= cdf[-1]
            idx = np.searchsorted(cdf, u[r], side="right")
            # never return a category of probability 0 (rounding in the cumulative sum near 1)
            out[r] = np.minimum(idx, np.flatnonzero(p[r])[-1])
    else:
        # Efraimidis-Spirakis, as PyTorch does it: the n largest p / E with E ~ Exponential(1)
        keys = p / np.maximum(g.standard_exponential((rows, cats)), np.finfo(np.float64).tiny)
        if n == 1:
            out = np.argmax(keys, axis=1).reshape(rows, 1)
        else:
            out = np.argsort(-keys, axis=1, kind="stable")[:, :n]
    out = out.astype(np.int64, copy=False)
    return _leaf(out.reshape(tuple(input.shape[:-1]) + (n,)), _dt.int64, input.device)


# --- in-place samplers: draw now, then rebind self (writes through views) ---------------------------------

def _write_samples(self: Tensor, values: np.ndarray) -> Tensor:
    return self._assign(_leaf(values.astype(self.dtype.np, copy=False).reshape(tuple(self.shape)), self.dtype,
                              self.device)._node)


def uniform_(self: Tensor, *args, generator: Generator | None = None, **kwargs) -> Tensor:
    """Fill ``self`` with samples from [from, to) (``uniform_(from=0, to=1)``), in place."""
    bounds = {"from": 0.0, "to": 1.0}
    for k, v in zip(("from", "to"), args):
        bounds[k] = v
    for k, v in kwargs.items():
        if k not in bounds:
            raise op_error(TypeError, "uniform_", f"uniform_() got an unexpected keyword argument '{k}'")
        bounds[k] = v
    lo, hi = _scalar("uniform_", bounds["from"], "from"), _scalar("uniform_", bounds["to"], "to")
    d = _float_dtype("uniform_", self.dtype, "check_uniform_bounds")
    if lo > hi:
        raise op_error(RuntimeError, "uniform_", f"uniform_ expects to return a [from, to) range, but found "
                       f"from={_num(lo)} > to={_num(hi)}")
    g = _np_gen("uniform_", generator)
    cd = _compute(d)
    u = _uniform01(g, tuple(self.shape), d)
    return _write_samples(self, u * cd.type(hi - lo) + cd.type(lo))


def normal_(self: Tensor, mean=0.0, std=1.0, *, generator: Generator | None = None) -> Tensor:
    """Fill ``self`` with normal samples, in place."""
    mean, std = _scalar("normal_", mean, "mean"), _scalar("normal_", std, "std")
    d = _float_dtype("normal_", self.dtype, "normal_kernel_cpu")
    if std < 0:
        raise op_error(RuntimeError, "normal_", f"normal expects std >= 0.0, but found std {_num(std)}")
    g = _np_gen("normal_", generator)
    cd = _compute(d)
    return _write_samples(self, cd.type(mean) + cd.type(std) * _normal01(g, tuple(self.shape), d))


def bernoulli_(self: Tensor, p=0.5, *, generator: Generator | None = None) -> Tensor:
    """Fill ``self`` with 0/1 samples (1 with probability ``p``: a number or a tensor broadcast to self)."""
    if isinstance(p, Tensor):
        probs = _probs("bernoulli_", p)
        try:
            _check_bias(tuple(p.shape), tuple(self.shape), addmm=True)
        except RuntimeError as e:
            raise op_error(RuntimeError, "bernoulli_", str(e)) from None
    else:
        probs = _p_scalar("bernoulli_", p)
    g = _np_gen("bernoulli_", generator)
    return _write_samples(self, g.random(tuple(self.shape)) < probs)


def random_(self: Tensor, *args, generator: Generator | None = None, **kwargs) -> Tensor:
    """Fill ``self`` with integers from [from, to): ``random_()``, ``random_(to)`` or ``random_(from, to)``.

    With no bounds: [0, 2**digits] for floats (every integer the dtype holds exactly), the dtype's
    non-negative range for integers.
    """
    bounds = dict(zip(("from", "to"), args)) if len(args) != 1 else {"to": args[0]}
    bounds.update(kwargs)
    d = self.dtype
    if d.category == 2:
        top = (1 << _DIGITS[d.name]) + 1
    elif d is _dt.bool:
        top = 2
    else:
        top = int(np.iinfo(d.np).max) + 1
    lo = _int_arg("random_", bounds.get("from", 0), "from")
    hi = bounds.get("to")
    hi = top if hi is None else _int_arg("random_", hi, "to")
    _int_bounds_check("random_", lo, hi, d)
    g = _np_gen("random_", generator)
    return _write_samples(self, _int_samples(g, lo, hi, tuple(self.shape), _dt.int64 if d.category == 2 else d))


def exponential_(self: Tensor, lambd: float = 1.0, *, generator: Generator | None = None) -> Tensor:
    """Fill ``self`` with samples of the exponential distribution of rate ``lambd``, in place."""
    if self.dtype.category != 2:
        raise op_error(RuntimeError, "exponential_", "Exponential distribution is a continuous probability "
                       f"distribution. dtype must be a floating point but you specified {torch_name(self.dtype)}")
    lambd = _scalar("exponential_", lambd, "lambd")
    if not lambd > 0:
        raise op_error(RuntimeError, "exponential_", f"exponential_ expects lambda > 0.0, but found lambda={_num(lambd)}")
    g = _np_gen("exponential_", generator)
    cd = _compute(self.dtype)
    return _write_samples(self, g.standard_exponential(tuple(self.shape), dtype=cd) / cd.type(lambd))


__all__ = ["Generator", "default_generator", "manual_seed", "seed", "initial_seed", "get_rng_state",
           "set_rng_state", "rand", "randn", "randint", "randperm", "normal", "rand_like", "randn_like",
           "randint_like", "bernoulli", "multinomial"]
METHODS = ["bernoulli", "multinomial", "uniform_", "normal_", "bernoulli_", "random_", "exponential_"]
INPLACE: list[str] = []
