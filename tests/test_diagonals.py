"""Tests for torchlite.ops.diagonals: tril/triu (and triu_), diagonal (a view: writes reach the input),
diagonal_scatter and diag, against torch (the oracle) and numpy.
"""
from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest

import torchlite as tl
from _indexing_helpers import T, TT, arr, same


# --- tril / triu -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["float32", "int64", "bool", "bfloat16"])
def test_tril_triu(dtype):
    torch = pytest.importorskip("torch")
    a = arr((2, 4, 5), dtype)
    x, y = T(a), TT(torch, a)
    for k in (-5, -1, 0, 2, 9):
        same(x.tril(k), y.tril(k))
        same(tl.triu(x, k), torch.triu(y, k))
        same(x.transpose(1, 2).tril(k), y.transpose(1, 2).tril(k))
    same(x.tril(1), np.tril(a, 1) if dtype != "bfloat16" else np.tril(a.astype(np.float32), 1).astype(ml_dtypes.bfloat16))
    z = T(a)
    z.triu_(1)
    same(z, y.clone().triu_(1))
    same(T(np.ones((0, 3))).tril(), torch.ones(0, 3, dtype=torch.float64).tril())


# --- diagonal / diag -------------------------------------------------------------------------------------

def test_diagonal_diag_and_writes_through_diagonal():
    torch = pytest.importorskip("torch")
    a = arr((3, 4, 5))
    x, y = T(a), TT(torch, a)
    for off, d1, d2 in ((0, 0, 1), (1, 1, 2), (-2, 2, 0), (3, -1, -2), (9, 0, 1)):
        same(x.diagonal(off, d1, d2), y.diagonal(off, d1, d2))
        same(tl.diagonal(x, off, d1, d2), np.diagonal(a, off, d1 % 3, d2 % 3))
    same(tl.diagonal_scatter(x, tl.zeros(5, 3, dtype=tl.float64), 0, 0, 1),
         torch.diagonal_scatter(y, torch.zeros(5, 3, dtype=torch.float64), 0, 0, 1))
    for k in (0, 1, -2):
        same(tl.diag(x[0], k), torch.diag(y[0], k))
        same(x[0, 0].diag(k), y[0, 0].diag(k))
    m = tl.zeros(3, 3)
    m.diagonal().add_(1.0)
    m.diagonal(1)[0] = 5.0
    same(m, np.eye(3, dtype=np.float32) + 5 * np.eye(3, k=1, dtype=np.float32) * (np.arange(3) == 0)[:, None])
