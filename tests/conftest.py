"""Shared test helpers: dtype tables, torchlite <-> torch conversion, and ``assert_close``.

torch is imported lazily (only inside the helpers that need it), so test files that never touch torch
still run where it is not installed. Keep this file small and stable: other test files import from it.

    from conftest import DTYPE_NAMES, to_torch, from_torch, assert_close, tol
"""
from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest

import torchlite as tl

@pytest.fixture(scope="session", autouse=True)
def _private_compile_cache(tmp_path_factory):
    """Compiled programs go to a fresh cache directory per test session, never the user's."""
    import os
    old = os.environ.get("TORCHLITE_CACHE_DIR")
    os.environ["TORCHLITE_CACHE_DIR"] = str(tmp_path_factory.mktemp("torchlite-cache"))
    yield
    if old is None:
        os.environ.pop("TORCHLITE_CACHE_DIR", None)
    else:
        os.environ["TORCHLITE_CACHE_DIR"] = old


# Every torchlite dtype, by name, in promotion order (bool < ints < floats).
DTYPE_NAMES = ("bool", "uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16", "float32", "float64")
INT_NAMES = ("uint8", "int8", "int16", "int32", "int64")
FLOAT_NAMES = ("float16", "bfloat16", "float32", "float64")

# (rtol, atol) per result dtype: about one rounding of the dtype (float16/bfloat16 results are computed in
# float32 and rounded once, so two correct implementations differ by at most one ulp of the result).
TOLERANCES = {
    "float64": (1e-12, 1e-14),
    "float32": (2e-6, 1e-6),
    "float16": (1e-3, 1e-5),
    "bfloat16": (1e-2, 1e-5),
}


def tol(dtype_name: str) -> dict:
    """``{"rtol": ..., "atol": ...}`` for results of ``dtype_name`` (exact for bool and integers)."""
    rtol, atol = TOLERANCES.get(dtype_name, (0.0, 0.0))
    return {"rtol": rtol, "atol": atol}


def tl_dtype(name: str):
    return getattr(tl, name)


def torch_dtype(name: str):
    import torch
    return getattr(torch, name)


def dtype_name(d) -> str:
    """The plain name (``"float32"``) of a torchlite, torch or numpy dtype."""
    if isinstance(d, tl.dtype):
        return d.name
    s = str(d)
    if s.startswith("torch."):
        return s[len("torch."):]
    nd = np.dtype(d)
    return "bfloat16" if nd == np.dtype(ml_dtypes.bfloat16) else nd.name


def to_numpy(x) -> np.ndarray:
    """The value of a torchlite tensor, torch tensor or array as numpy (bfloat16 as ml_dtypes.bfloat16)."""
    if isinstance(x, tl.Tensor):
        return np.asarray(x.numpy())
    if type(x).__module__.startswith("torch"):
        import torch
        x = x.detach().cpu()
        if x.dtype == torch.bfloat16:
            return x.float().numpy().astype(ml_dtypes.bfloat16)
        return x.numpy()
    return np.asarray(x)


def to_torch(x):
    """A torch tensor with the value, shape and dtype of torchlite tensor ``x`` (a copy)."""
    import torch
    a = np.asarray(x.numpy())
    if a.dtype == np.dtype(ml_dtypes.bfloat16):
        return torch.from_numpy(a.astype(np.float32)).to(torch.bfloat16)
    return torch.from_numpy(a.copy())


def from_torch(t):
    """A torchlite tensor with the value, shape and dtype of torch tensor ``t`` (a copy)."""
    return tl.tensor(to_numpy(t).copy())


def assert_close(actual, expected, rtol: float | None = None, atol: float | None = None, *,
                 equal_nan: bool = True, check_dtype: bool = True) -> None:
    """``actual`` (a torchlite tensor) has ``expected``'s shape, dtype name and values.

    ``expected`` is a torch tensor or a numpy array/scalar. Floats compare within ``rtol``/``atol`` (default:
    the table above for the expected dtype) with NaN equal to NaN and infinities equal by sign; integers and
    bools compare exactly. The sign of zero is not checked (use ``np.signbit`` for that).
    """
    assert isinstance(actual, tl.Tensor), f"expected a torchlite Tensor, got {type(actual).__name__}"
    exp = to_numpy(expected)
    exp_name = dtype_name(expected.dtype)
    assert tuple(actual.shape) == tuple(exp.shape), f"shape {tuple(actual.shape)} != expected {tuple(exp.shape)}"
    if check_dtype:
        assert actual.dtype.name == exp_name, f"dtype {actual.dtype.name} != expected {exp_name}"
    got = to_numpy(actual)
    assert tuple(got.shape) == tuple(exp.shape), f"value shape {got.shape} != tensor shape {tuple(exp.shape)}"
    if exp_name in TOLERANCES or actual.dtype.name in TOLERANCES:
        d = tol(exp_name if exp_name in TOLERANCES else actual.dtype.name)
        rtol = d["rtol"] if rtol is None else rtol
        atol = d["atol"] if atol is None else atol
        np.testing.assert_allclose(got.astype(np.float64), exp.astype(np.float64), rtol=rtol, atol=atol,
                                   equal_nan=equal_nan)
    else:
        np.testing.assert_array_equal(got.astype(np.int64), exp.astype(np.int64))


@pytest.fixture(scope="session")
def torch():
    """The torch module, the test oracle; the test is skipped where torch is not installed."""
    return pytest.importorskip("torch")


@pytest.fixture
def rng() -> np.random.Generator:
    """A fresh, seeded generator per test (deterministic)."""
    return np.random.default_rng(0)
