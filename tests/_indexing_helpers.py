"""Shared by the indexing-family tests (test_indexing.py, test_dim_indexing.py, test_joining.py,
test_rearranging.py, test_diagonals.py, test_sorting.py, test_indexing_family.py): deterministic data, the
torchlite/torch conversions, ``same`` (shape, dtype name and values) and ``raises_naming`` (errors must name the
test file's line).
"""
from __future__ import annotations

import re

import ml_dtypes
import numpy as np
import pytest

import torchlite as tl


def raises_naming(here: str):
    """``raises(exc, fragment)`` for one test file: pytest.raises that also wants the fragment and a line of
    that file (the regex ``here``) in the message."""
    def raises(exc, fragment):
        return pytest.raises(exc, match="(?s)" + re.escape(fragment) + ".*" + here)
    return raises


def npdtype(name):
    return ml_dtypes.bfloat16 if name == "bfloat16" else np.dtype(name)


def arr(shape, dtype="float64", seed=0):
    """Deterministic test data of ``dtype`` (distinct values for floats and wide ints)."""
    rng = np.random.default_rng(seed)
    n = int(np.prod(shape))
    if dtype == "bool":
        return rng.random(shape) < 0.5
    if dtype in ("uint8", "int8"):
        return rng.integers(0, 100, size=shape).astype(dtype)
    if dtype in ("int16", "int32", "int64"):
        return (rng.permutation(n) - n // 2).reshape(shape).astype(dtype)
    return (rng.permutation(n) * 0.25 - n / 8).reshape(shape).astype(npdtype(dtype))


def T(a):
    return tl.tensor(a)


def strided(a):
    """A torchlite tensor equal to ``a`` whose layout is not row-major (a permuted view of a copy)."""
    perm = tuple(reversed(range(a.ndim)))
    return tl.tensor(np.ascontiguousarray(a.transpose(perm))).permute(*perm)


def TT(torch, a):
    a = np.asarray(a)
    if a.dtype == ml_dtypes.bfloat16:
        return torch.from_numpy(a.astype(np.float32)).to(torch.bfloat16)
    return torch.from_numpy(a.copy())


def to_np(t):
    """numpy value of a torchlite or torch tensor (bfloat16 as float32)."""
    if isinstance(t, tl.Tensor):
        v = t.numpy()
        return v.astype(np.float32) if v.dtype == ml_dtypes.bfloat16 else np.asarray(v)
    if str(t.dtype) == "torch.bfloat16":
        t = t.float()
    return t.detach().numpy()


def dname(t):
    return str(t.dtype).split(".")[-1]


def same(ours, ref, *, rtol=0.0, atol=0.0):
    """``ours`` (torchlite) equals ``ref`` (torch tensor or numpy array): shape, dtype name and values."""
    assert tuple(ours.shape) == tuple(ref.shape), (tuple(ours.shape), tuple(ref.shape))
    if not isinstance(ref, np.ndarray):
        assert dname(ours) == dname(ref), (ours.dtype, ref.dtype)
    else:
        want = "bfloat16" if ref.dtype == ml_dtypes.bfloat16 else str(ref.dtype)
        assert dname(ours) == want, (ours.dtype, ref.dtype)
    a, b = to_np(ours), to_np(ref) if not isinstance(ref, np.ndarray) else np.asarray(ref)
    if b.dtype == ml_dtypes.bfloat16:
        b = b.astype(np.float32)
    if rtol or atol:
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, equal_nan=True)
    else:
        np.testing.assert_array_equal(a, b)
