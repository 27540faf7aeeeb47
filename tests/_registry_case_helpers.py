"""Helpers the registry case tables share: numpy float64 references (``np_*``) and builder helpers.

A reference takes and returns numpy arrays, a builder helper takes and returns tensors of the module the case
runs with (torchlite or torch)::

    np_lerp(np.zeros(2), np.ones(2), 0.25)            # array([0.25, 0.25])
    setitem(torchlite.zeros(3), slice(1, None), 1.0)  # tensor([0., 1., 1.]), the input left as it was
"""
from __future__ import annotations

import math

import numpy as np
from scipy import special

import torchlite as tl


# --- numpy float64 references --------------------------------------------------------------------------------

def np_gelu(x):
    return 0.5 * x * (1 + special.erf(x / math.sqrt(2)))


def np_gelu_tanh(x):
    return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))


def np_softplus(x, beta=1.0, threshold=20.0):
    return np.where(x * beta > threshold, x, np.log1p(np.exp(x * beta)) / beta)


def np_sign(x):
    """torch.sign: like np.sign, but sign(NaN) is 0 (torch's value; torchlite matches it)."""
    return np.where(np.isnan(x), 0, np.sign(x)).astype(x.dtype) if x.dtype.kind == "f" else np.sign(x)


def np_trunc_div(a, b):
    return np.trunc(a / b)


def np_scatter(x, dim, idx, src, combine):
    out = x.copy()
    for pos in np.ndindex(*idx.shape):
        tgt = list(pos)
        tgt[dim] = idx[pos]
        out[tuple(tgt)] = combine(out[tuple(tgt)], src[pos] if isinstance(src, np.ndarray) else src)
    return out


def np_lerp(a, b, w):
    return np.where(np.abs(w) < 0.5, a + w * (b - a), b - (b - a) * (1 - w))


def np_index_put_acc(x, idx, v):
    out = x.copy()
    np.add.at(out, idx, v)
    return out


def np_setitem(x, key, v):
    out = x.copy()
    out[key] = v
    return out


def np_diag_scatter(x, v, offset):
    out = x.copy()
    n = len(v)
    r = np.arange(n)
    out[r, r + offset] = v
    return out


def np_mean_scatter(x, idx, src):
    # scatter_reduce(1, idx, src, "mean", include_self=True)
    acc, cnt = x.copy(), np.ones_like(x)
    for i, j in np.ndindex(*idx.shape):
        acc[i, idx[i, j]] += src[i, j]
        cnt[i, idx[i, j]] += 1
    return acc / cnt


# --- builder helpers (tensors of either module) ------------------------------------------------------------------

def setitem(x, key, v):
    """``y = x.clone(); y[key] = v; y`` (a write through a view of a fresh tensor)."""
    y = x.clone()
    y[key] = v
    return y


def after_write(x, write):
    """``write()`` mutates ``x`` (or a view of it) in place; returns ``x``."""
    write()
    return x


def inplace_view(x, write):
    """``y = x.clone()``, then ``write(y)`` mutates a view of y in place; returns y."""
    y = x.clone()
    write(y)
    return y


def realized(t):
    """``t`` computed now (a torchlite tensor becomes a leaf of later graphs, as after ``loss.item()``)."""
    return t.realize() if isinstance(t, tl.Tensor) else t
