"""``isclose`` (rtol, atol, equal_nan; infinities; broadcasting; mismatched dtypes), ``allclose`` and
``equal`` against torch (CPU).
"""
from __future__ import annotations

import pytest

import torchlite as tl
from conftest import DTYPE_NAMES, FLOAT_NAMES, to_numpy, to_torch
from _pointwise_helpers import check, sample


@pytest.mark.parametrize("dtype", DTYPE_NAMES)
@pytest.mark.parametrize("kw", [{}, {"rtol": 0.1, "atol": 0.0}, {"rtol": 0.0, "atol": 0.5}, {"equal_nan": True}],
                         ids=str)
def test_isclose_matches_torch(dtype, kw, torch):
    if dtype in FLOAT_NAMES:
        a = tl.tensor([1.0, 1.0, float("nan"), float("inf"), 2.0, -float("inf"), 0.0, 100.0, 1e-9],
                      dtype=getattr(tl, dtype))
        b = tl.tensor([1.0, 1.05, float("nan"), float("inf"), float("nan"), -float("inf"), 1e-9, 100.5, 0.0],
                      dtype=getattr(tl, dtype))
    else:
        a, b = sample(dtype, (9,)), sample(dtype, (9,), seed=1)
    check(lambda x, y: tl.isclose(x, y, **kw), lambda x, y: torch.isclose(x, y, **kw), [a, b], torch)
    check(lambda x, y: x.isclose(y, **kw), lambda x, y: x.isclose(y, **kw), [a, b], torch)
    check(lambda x, y: tl.isclose(x, y, **kw), lambda x, y: torch.isclose(x, y, **kw),
          [a.reshape(3, 3), tl.tensor(to_numpy(b).reshape(3, 3)[0])], torch)      # broadcasting


@pytest.mark.parametrize("dtype", FLOAT_NAMES)
def test_isclose_of_infinities(dtype, torch):
    a = tl.tensor([float("inf"), 1.0, -float("inf"), float("inf")], dtype=getattr(tl, dtype))
    b = tl.tensor([-float("inf"), float("inf"), 1.0, float("inf")], dtype=getattr(tl, dtype))
    check(tl.isclose, torch.isclose, [a, b], torch)


@pytest.mark.parametrize("a, b", [("float32", "float64"), ("int64", "float32"), ("int32", "int64")])
def test_isclose_mismatched_dtypes_raise(a, b, torch):
    check(tl.isclose, torch.isclose, [sample(a, (3,)), sample(b, (3,))], torch)


def test_allclose_and_equal_match_torch(torch):
    pytest.importorskip("torchlite.ops.reduction", reason="allclose/equal need torchlite.ops.reduction.all")
    a = sample("float32", (3, 4))
    b = a + 1e-7
    for x, y in [(a, a), (a, b), (a, a + 1.0), (a, tl.tensor(to_numpy(a)[0]))]:
        assert tl.allclose(x, y) == torch.allclose(to_torch(x), to_torch(y))
        assert x.allclose(y, rtol=0.0, atol=0.0) == to_torch(x).allclose(to_torch(y), rtol=0.0, atol=0.0)
    nan = tl.tensor([1.0, float("nan")])
    assert tl.allclose(nan, nan) is False and tl.allclose(nan, nan, equal_nan=True) is True
    assert tl.equal(a, a) is True and tl.equal(a, b) == torch.equal(to_torch(a), to_torch(b))
    assert tl.equal(a, tl.tensor(to_numpy(a)[:2])) is False
    assert tl.equal(nan, nan) is False
    assert tl.equal(tl.ones(0), tl.ones(0)) is True
