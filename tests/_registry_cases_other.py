"""Registry cases of the other op families: reductions, movement and views, indexing, linalg, creation.

At least one case per op, one of them with a zero-size variant (``_registry_harness`` says what a case
holds); the edge cases of these ops are in ``_registry_cases_edge``.
"""
from __future__ import annotations

import numpy as np
from scipy import special

from _registry_case_helpers import (inplace_view, np_diag_scatter, np_index_put_acc, np_mean_scatter, np_scatter,
                                    np_setitem, setitem)
from _registry_harness import DT, FL, FLI, Case, F, Idx, Mask, Perm, case_adder

CASES: list[Case] = []
case = case_adder(CASES)


# reductions ---------------------------------------------------------------------------------------------------

case("sum", lambda m, x: x.sum(dim=1), F(3, 4), ref=lambda x: x.sum(1), dtypes=FLI + ("int32", "bool"),
     empty=(F(0, 4),))
case("sum", lambda m, x: x.sum(), F(2, 3, 4), ref=np.sum, dtypes=FLI + ("uint8",), tag="all")
case("sum", lambda m, x: m.sum(x, dim=(0, -1), keepdim=True), F(2, 3, 4), ref=lambda x: x.sum((0, 2), keepdims=True),
     tag="keepdim")
case("sum", lambda m, x: x.sum(dim=0, dtype=m.float64), F(3, 4), ref=lambda x: x.astype(np.float64).sum(0),
     dtypes=("float32", "int64"),
     tag="dtype")
case("sum", lambda m, x: x.sum(dim=1), F(3, 0), ref=lambda x: x.sum(1), tag="empty_dim")
case("mean", lambda m, x: x.mean(dim=-1), F(3, 4), ref=lambda x: x.mean(-1), empty=(F(0, 4),))
case("mean", lambda m, x: m.mean(x), F(2, 3, 4), ref=np.mean, tag="all")
case("mean", lambda m, x: x.mean(dim=(0, 2), keepdim=True), F(2, 3, 4), ref=lambda x: x.mean((0, 2), keepdims=True),
     tag="keepdim")
case("prod", lambda m, x: x.prod(dim=0), F(3, 4, lo=0.5, hi=1.5, signed=True), ref=lambda x: x.prod(0),
     dtypes=FLI + ("bool",), empty=(F(0, 4),))
case("prod", lambda m, x: m.prod(x), F(2, 3, 4, lo=0.5, hi=1.5, signed=True), ref=np.prod, tag="all")
case("amax", lambda m, x: m.amax(x, dim=(0, 1)), F(2, 3, 4), ref=lambda x: x.max((0, 1)), dtypes=FLI,
     empty=(F(2, 3, 0),))
case("gather", lambda m, x: x.max(dim=1, keepdim=True).values, F(3, 4), ref=lambda x: x.max(1, keepdims=True),
     dtypes=FLI, tag="max")
case("amax", lambda m, x: x.max(), F(3, 4, special=True), ref=lambda x: np.max(x), tag="nan")
case("amin", lambda m, x: x.amin(-1), F(3, 4), ref=lambda x: x.min(-1), dtypes=FLI, empty=(F(0, 4),))
case("gather", lambda m, x: m.min(x, 0).values, F(3, 4), ref=lambda x: x.min(0), dtypes=FLI, tag="min")
case("argmax", lambda m, x: x.argmax(dim=1), F(3, 4), ref=lambda x: x.argmax(1), dtypes=FLI, empty=(F(0, 4),))
case("argmax", lambda m, x: m.argmax(x), F(2, 3, 4), ref=np.argmax, tag="flat")
case("argmax", lambda m, x: x.max(dim=0).indices, F(3, 4, lo=-2, hi=3), ref=lambda x: x.argmax(0),
     dtypes=("int64",), tag="ties")
case("argmin", lambda m, x: m.argmin(x, dim=0, keepdim=True), F(3, 4), ref=lambda x: x.argmin(0, keepdims=True),
     dtypes=FLI, empty=(F(3, 0),))
case("argmin", lambda m, x: x.min(dim=1).indices, F(3, 4, lo=-2, hi=3), ref=lambda x: x.argmin(1),
     dtypes=("int64",), tag="ties")
case("var", lambda m, x: x.var(dim=1), F(3, 4), ref=lambda x: x.var(1, ddof=1), empty=(F(0, 4),))
case("var", lambda m, x: m.var(x, correction=0), F(2, 3, 4), ref=np.var, tag="all")
case("var", lambda m, x: x.var(dim=(0, 2), keepdim=True, unbiased=False), F(2, 3, 4),
     ref=lambda x: x.var((0, 2), keepdims=True), tag="keepdim")
case("std", lambda m, x: x.std(dim=0), F(3, 4), ref=lambda x: x.std(0, ddof=1), empty=(F(0, 4),))
case("std", lambda m, x: m.std(x, correction=2), F(2, 3, 4), ref=lambda x: x.std(ddof=2), tag="all")
case("logsumexp", lambda m, x: m.logsumexp(x, dim=1), F(3, 4, lo=-5, hi=5), ref=lambda x: special.logsumexp(x, 1),
     dtypes=FLI, empty=(F(0, 4),))
case("logsumexp", lambda m, x: x.logsumexp(dim=(0, 2), keepdim=True), F(2, 3, 4, lo=500, hi=700),
     ref=lambda x: special.logsumexp(x, (0, 2), keepdims=True), tag="large")
case("all", lambda m, x: x.all(dim=1), F(3, 4, step=1.0, lo=-0.6, hi=3), ref=lambda x: x.all(1),
     dtypes=("bool",) + FLI + ("uint8",), empty=(F(0, 4),))
case("all", lambda m, x: m.all(x), F(2, 3), ref=np.all, dtypes=("bool", "float64"), tag="all")
case("any", lambda m, x: m.any(x, dim=0, keepdim=True), F(3, 4, step=1.0, lo=-0.6, hi=1.2),
     ref=lambda x: x.any(0, keepdims=True), dtypes=("bool",) + FLI + ("uint8",), empty=(F(0, 4),))
case("any", lambda m, x: x.any(), F(2, 3), ref=np.any, dtypes=("bool", "float64"), tag="all")
case("norm", lambda m, x: m.norm(x), F(3, 4), ref=lambda x: np.sqrt((x * x).sum()), empty=(F(0, 4),))
case("norm", lambda m, x: x.norm(p=1, dim=1), F(3, 4), ref=lambda x: np.abs(x).sum(1), tag="p1")
case("norm", lambda m, x: m.norm(x, p=float("inf"), dim=0, keepdim=True), F(3, 4),
     ref=lambda x: np.abs(x).max(0, keepdims=True), tag="inf")
case("norm", lambda m, x: x.norm(p=3, dim=(0, 2)), F(2, 3, 4), ref=lambda x: (np.abs(x) ** 3).sum((0, 2)) ** (1 / 3),
     tag="p3")
case("norm", lambda m, x: x.norm(p=0), F(3, 4, step=1.0), ref=lambda x: np.count_nonzero(x) * 1.0, tag="p0")
case("cumsum", lambda m, x: x.cumsum(dim=1), F(3, 4), ref=lambda x: x.cumsum(1), dtypes=FLI + ("int8", "bool"),
     empty=(F(0, 4),))
case("cumsum", lambda m, x: m.cumsum(x, 0, dtype=m.float64), F(3, 4), ref=lambda x: x.astype(np.float64).cumsum(0),
     dtypes=("float32", "int32"), tag="dtype")
case("cumprod", lambda m, x: m.cumprod(x, 0), F(3, 4, lo=0.5, hi=1.5, signed=True), ref=lambda x: x.cumprod(0),
     dtypes=FLI + ("bool",), empty=(F(0, 4),))
case("cumprod", lambda m, x: x.cumprod(dim=-1), F(2, 3, 4, lo=0.5, hi=1.5), ref=lambda x: x.cumprod(-1), tag="3d")
case("softmax", lambda m, x: x.softmax(dim=1), F(3, 4, lo=-5, hi=5), ref=lambda x: special.softmax(x, 1),
     empty=(F(0, 4),))
case("softmax", lambda m, x: m.nn.functional.softmax(x, dim=0), F(2, 3, 4, lo=-50, hi=50),
     ref=lambda x: special.softmax(x, 0), tag="functional")
case("log_softmax", lambda m, x: m.nn.functional.log_softmax(x, dim=-1), F(3, 4, lo=-5, hi=5),
     ref=lambda x: special.log_softmax(x, -1), empty=(F(0, 4),))
case("log_softmax", lambda m, x: x.log_softmax(0), F(2, 3, 4, lo=-50, hi=50),
     ref=lambda x: special.log_softmax(x, 0), tag="3d")

# movement and views -------------------------------------------------------------------------------------------

case("reshape", lambda m, x: x.reshape(4, 3), F(3, 4), ref=lambda x: x.reshape(4, 3), dtypes=FLI + ("bool",),
     empty=(F(0, 4),), empty_fn=lambda m, x: x.reshape(4, 0))
case("reshape", lambda m, x: x.flatten(), F(2, 3, 4), ref=lambda x: x.reshape(-1), tag="flatten")
case("reshape", lambda m, x: x.unsqueeze(1), F(3, 4), ref=lambda x: x[:, None], tag="unsqueeze")
case("permute", lambda m, x: x.permute(2, 0, 1), F(2, 3, 4), ref=lambda x: x.transpose(2, 0, 1),
     dtypes=FLI + ("bool",), empty=(F(2, 0, 4),))
case("permute", lambda m, x: x.t(), F(3, 4), ref=lambda x: x.T, tag="t")
case("permute", lambda m, x: x.transpose(-1, 0) * 2, F(2, 3, 4), ref=lambda x: x.transpose(2, 1, 0) * 2,
     tag="transpose")
case("expand", lambda m, x: x.expand(3, 4), F(4), ref=lambda x: np.broadcast_to(x, (3, 4)), dtypes=FLI,
     empty=(F(1, 4),), empty_fn=lambda m, x: x.expand(0, 4))
case("expand", lambda m, x: x.expand(2, -1, 4), F(3, 1), ref=lambda x: np.broadcast_to(x, (2, 3, 4)), tag="3d")
case("getitem", lambda m, x: x[1], F(3, 4), ref=lambda x: x[1], dtypes=FLI + ("bool",),
     empty=(F(3, 4),), empty_fn=lambda m, x: x[3:])
case("getitem", lambda m, x: x[:, 1:3], F(3, 4), ref=lambda x: x[:, 1:3], tag="slice")
case("getitem", lambda m, x: x[..., ::2, None], F(2, 3, 4), ref=lambda x: x[..., ::2, None], tag="step")
case("getitem", lambda m, x: x[-1, 1:, 2], F(2, 3, 4), ref=lambda x: x[-1, 1:, 2], tag="mixed")
case("slice_scatter", lambda m, x, v: setitem(x, (slice(1, 3),), v), F(3, 4), F(2, 4),
     ref=lambda x, v: np_setitem(x, (slice(1, 3),), v), dtypes=FLI + ("bool",),
     empty=(F(3, 4), F(0, 4)), empty_fn=lambda m, x, v: setitem(x, (slice(3, None),), v))
case("slice_scatter", lambda m, x: setitem(x, (slice(None), 0), 1.5), F(3, 4),
     ref=lambda x: np_setitem(x, (slice(None), 0), 1.5), tag="scalar")
case("slice_scatter", lambda m, x, v: setitem(x, (Ellipsis, slice(None, None, 2)), v), F(2, 3, 4), F(3, 1),
     ref=lambda x, v: np_setitem(x, (Ellipsis, slice(None, None, 2)), v), tag="broadcast")
case("slice_scatter", lambda m, x: inplace_view(x, lambda y: y[1].mul_(2)), F(3, 4),
     ref=lambda x: np_setitem(x, 1, 2 * x[1]), tag="view_inplace")
case("alias", lambda m, x: x.detach(), F(3, 4), ref=lambda x: x, dtypes=FLI + ("bool",), empty=(F(0, 4),))
case("alias", lambda m, x: x.reshape(x.shape), F(2, 3, 4), ref=lambda x: x, tag="reshape_same")
case("clone", lambda m, x: x.clone(), F(3, 4), ref=lambda x: x.copy(), dtypes=FLI + ("bool",), empty=(F(0, 4),))
case("contiguous", lambda m, x: x.contiguous(), F(3, 4), ref=lambda x: x.copy(), dtypes=FLI + ("bool",),
     empty=(F(0, 4),))
case("flip", lambda m, x: x.flip(0), F(3, 4), ref=lambda x: x[::-1], dtypes=FLI + ("bool",), empty=(F(0, 4),))
case("flip", lambda m, x: m.flip(x, dims=(0, -1)), F(2, 3, 4), ref=lambda x: x[::-1, :, ::-1], tag="dims")
case("roll", lambda m, x: x.roll(1, 0), F(3, 4), ref=lambda x: np.roll(x, 1, 0), dtypes=FLI + ("bool",),
     empty=(F(0, 4),))
case("roll", lambda m, x: m.roll(x, 5), F(3, 4), ref=lambda x: np.roll(x, 5), tag="flat")
case("roll", lambda m, x: x.roll((1, -2), (0, 2)), F(2, 3, 4), ref=lambda x: np.roll(x, (1, -2), (0, 2)),
     tag="dims")
case("repeat", lambda m, x: x.repeat(2, 3), F(3, 4), ref=lambda x: np.tile(x, (2, 3)), dtypes=FLI + ("bool",),
     empty=(F(0, 4),))
case("repeat", lambda m, x: x.repeat(2, 1, 3), F(3, 4), ref=lambda x: np.tile(x, (2, 1, 3)), tag="new_dims")
case("pad", lambda m, x: m.nn.functional.pad(x, (1, 2)), F(3, 4), ref=lambda x: np.pad(x, ((0, 0), (1, 2))),
     dtypes=FLI + ("bool",), empty=(F(0, 4),))
case("pad", lambda m, x: m.nn.functional.pad(x, (1, 1, 2, 0), value=3.5), F(2, 3, 4),
     ref=lambda x: np.pad(x, ((0, 0), (2, 0), (1, 1)), constant_values=3.5), tag="value")
case("pad", lambda m, x: m.nn.functional.pad(x, (-1, 2)), F(3, 4), ref=lambda x: np.pad(x[:, 1:], ((0, 0), (0, 2))),
     tag="crop")
case("pad", lambda m, x: m.nn.functional.pad(x, (2, 1), mode="reflect"), F(2, 3, 4),
     ref=lambda x: np.pad(x, ((0, 0), (0, 0), (2, 1)), mode="reflect"), tag="reflect")
case("pad", lambda m, x: m.nn.functional.pad(x, (1, 2, 2, 1), mode="replicate"), F(2, 3, 4),
     ref=lambda x: np.pad(x, ((0, 0), (2, 1), (1, 2)), mode="edge"), tag="replicate")
case("pad", lambda m, x: m.nn.functional.pad(x, (2, 3), mode="circular"), F(2, 3, 4),
     ref=lambda x: np.pad(x, ((0, 0), (0, 0), (2, 3)), mode="wrap"), tag="circular")
case("pad", lambda m, x: m.nn.functional.pad(x, (1, 1), mode="reflect"), F(0, 3, 4),
     ref=lambda x: np.pad(x, ((0, 0), (0, 0), (1, 1)), mode="reflect"), tag="reflect_empty_batch")
case("cat", lambda m, x, y: m.cat([x, y], dim=1), F(3, 4), F(3, 2), ref=lambda x, y: np.concatenate([x, y], 1),
     dtypes=FLI + ("bool",), empty=(F(0, 4), F(0, 2)))
case("cat", lambda m, x, y: m.cat([x, y]), F(2, 4), F(3, 4, dtype="int32", lo=-5, hi=5),
     ref=lambda x, y: np.concatenate([x, y]), tag="promote")
case("cat", lambda m, x, y, z: m.cat((x, y, z), dim=-1), F(2, 3, 1), F(2, 3, 2), F(2, 3, 0),
     ref=lambda x, y, z: np.concatenate([x, y, z], -1), tag="three")
case("stack", lambda m, x, y: m.stack([x, y], dim=1), F(3, 4), F(3, 4), ref=lambda x, y: np.stack([x, y], 1),
     dtypes=FLI + ("bool",), empty=(F(0, 4), F(0, 4)))
case("stack", lambda m, x, y: m.stack((x, y), -1), F(3, 4), F(3, 4, dtype="float64"),
     ref=lambda x, y: np.stack([x, y], -1), dtypes=("float32", "int64"), tag="promote")
case("diagonal", lambda m, x: x.diagonal(), F(3, 4), ref=lambda x: x.diagonal().copy(), dtypes=FLI + ("bool",),
     empty=(F(0, 4),))
case("diagonal", lambda m, x: m.diagonal(x, offset=1, dim1=1, dim2=2), F(2, 3, 4),
     ref=lambda x: x.diagonal(1, 1, 2).copy(), tag="offset")
case("diagonal", lambda m, x: x.diagonal(-1, 0, -1), F(3, 2, 4), ref=lambda x: x.diagonal(-1, 0, 2).copy(),
     tag="negative")
case("diagonal_scatter", lambda m, x, v: m.diagonal_scatter(x, v, 1), F(3, 4), F(3),
     ref=lambda x, v: np_diag_scatter(x, v, 1), dtypes=FLI + ("bool",), empty=(F(0, 4), F(0)))
case("diagonal_scatter", lambda m, x: inplace_view(x, lambda y: y.diagonal().mul_(2)), F(3, 4),
     ref=lambda x: np_diag_scatter(x, 2 * x.diagonal(), 0), tag="view_inplace")
case("diag_embed1d", lambda m, x: m.diag(x), F(4), ref=np.diag, dtypes=FLI + ("bool",), empty=(F(0),))
case("diag_embed1d", lambda m, x: x.diag(-2), F(3), ref=lambda x: np.diag(x, -2), tag="offset")
case("tril", lambda m, x: x.tril(), F(3, 4), ref=np.tril, dtypes=FLI + ("bool",), empty=(F(0, 4),))
case("tril", lambda m, x: m.tril(x, -1), F(2, 3, 4), ref=lambda x: np.tril(x, -1), tag="batched")
case("triu", lambda m, x: m.triu(x, 1), F(3, 4), ref=lambda x: np.triu(x, 1), dtypes=FLI + ("bool",),
     empty=(F(0, 4),))
case("triu", lambda m, x: x.triu(-1), F(2, 4, 3), ref=lambda x: np.triu(x, -1), tag="batched")

# indexing ------------------------------------------------------------------------------------------------------

case("index", lambda m, x, i: x[i], F(3, 4), Idx(5, lo=-3, hi=3), ref=lambda x, i: x[i], dtypes=FLI + ("bool",),
     empty=(F(3, 4), Idx(0, hi=3)))
case("index", lambda m, x, i: x[:, i], F(3, 4), Idx(2, 3, hi=4), ref=lambda x, i: x[:, i], tag="dim1")
case("index", lambda m, x, i, j: x[i, :, j], F(3, 4, 5), Idx(2, hi=3), Idx(3, 1, hi=5),
     ref=lambda x, i, j: x[i, :, j], tag="split")
case("index", lambda m, x, c: x[c], F(3, 4), Mask(3, 4), ref=lambda x, c: x[c], tag="mask")
case("index", lambda m, x, i: x.index_select(1, i), F(3, 4), Idx(5, hi=4), ref=lambda x, i: x[:, i],
     tag="index_select")
case("index_put", lambda m, x, i, v: setitem(x, i, v), F(4, 3), Perm((3,), 4), F(3, 3),
     ref=lambda x, i, v: np_setitem(x, i, v), dtypes=FLI + ("bool",),
     empty=(F(4, 3), Idx(0, hi=4), F(0, 3)))
case("index_put", lambda m, x, i, v: x.index_put((i,), v, accumulate=True), F(4, 3), Idx(6, hi=4), F(6, 3),
     ref=np_index_put_acc, dtypes=FLI, tag="accumulate")
case("index_put", lambda m, x, i, j, v: setitem(x, (i, j), v), F(4, 3), Idx(2, 2, lo=-4, hi=4),
     Idx(2, 1, hi=3), F(2), ref=lambda x, i, j, v: np_setitem(x, (i, j), v[None]), tag="two")
case("index_put", lambda m, x, i, v: x.index_add(0, i, v), F(4, 3), Idx(5, hi=4), F(5, 3),
     ref=lambda x, i, v: np_index_put_acc(x, i, v), tag="index_add")
case("gather", lambda m, x, i: x.gather(1, i), F(3, 4), Idx(3, 5, hi=4), ref=lambda x, i: np.take_along_axis(x, i, 1),
     dtypes=FLI + ("bool",), empty=(F(3, 4), Idx(3, 0, hi=4)))
case("gather", lambda m, x, i: m.gather(x, 0, i), F(3, 4), Idx(2, 3, hi=3),
     ref=lambda x, i: np.take_along_axis(x[:, :3], i, 0), tag="dim0")
case("gather", lambda m, x: x.sort(dim=1).values, F(3, 4), ref=lambda x: np.sort(x, 1), tag="sort")
case("gather", lambda m, x, i: m.take_along_dim(x, i, 1), F(3, 4), Idx(1, 2, hi=4),
     ref=lambda x, i: np.take_along_axis(x, np.broadcast_to(i, (3, 2)), 1), tag="take_along_dim")
case("scatter", lambda m, x, i, s: x.scatter(1, i, s), F(3, 5), Perm((3, 2), 5, dim=1), F(3, 4),
     ref=lambda x, i, s: np_scatter(x, 1, i, s, lambda a, b: b), dtypes=FLI + ("bool",),
     empty=(F(3, 5), Idx(3, 0, hi=5), F(3, 4)))
case("scatter", lambda m, x, i: x.scatter(0, i, 2.5), F(4, 3), Perm((2, 3), 4, dim=0),
     ref=lambda x, i: np_scatter(x, 0, i, 2.5, lambda a, b: b), tag="value")
case("scatter", lambda m, x, i, s: x.scatter_add(0, i, s), F(3, 4), Idx(5, 4, hi=3), F(5, 4),
     ref=lambda x, i, s: np_scatter(x, 0, i, s, np.add), dtypes=FLI, tag="add")
case("scatter", lambda m, x, i, s: x.scatter_reduce(1, i, s, "amax", include_self=False), F(3, 4),
     Idx(3, 6, hi=4), F(3, 6), ref=lambda x, i, s: np_scatter(np_scatter(x, 1, i, -np.inf, lambda a, b: b), 1, i,
                                                                   s, np.maximum),
     dtypes=FL, tag="amax")
case("scatter", lambda m, x, i, s: x.scatter_reduce(1, i, s, "mean"), F(3, 4), Idx(3, 6, hi=4), F(3, 6),
     ref=lambda x, i, s: np_mean_scatter(x, i, s), tag="mean")
case("scatter", lambda m, x, i, s: x.scatter_reduce(0, i, s, "prod"), F(3, 4, lo=0.5, hi=1.5), Idx(5, 4, hi=3),
     F(5, 4, lo=0.5, hi=1.5), ref=lambda x, i, s: np_scatter(x, 0, i, s, np.multiply), dtypes=FLI, tag="prod")
case("one_hot", lambda m, i: m.nn.functional.one_hot(i, 5), Idx(3, 4, hi=5),
     ref=lambda i: (i[..., None] == np.arange(5)).astype(np.int64), dtypes=("int64",), empty=(Idx(0, 3, hi=5),))
case("one_hot", lambda m, i: m.nn.functional.one_hot(i), Idx(6, hi=4),
     ref=lambda i: (i[..., None] == np.arange(i.max() + 1)).astype(np.int64), dtypes=("int64",), tag="infer")
case("argsort", lambda m, x: x.argsort(dim=1), F(3, 5), ref=lambda x: np.argsort(x, 1), dtypes=FL,
     empty=(F(0, 5),))
case("argsort", lambda m, x: m.argsort(x, dim=0, descending=True), F(4, 3), ref=lambda x: np.argsort(-x, 0),
     tag="descending")
case("argsort", lambda m, x: x.sort(dim=-1, stable=True).indices, F(3, 6, lo=-2, hi=2),
     ref=lambda x: np.argsort(x, -1, kind="stable"), dtypes=("int64", "int32"), tag="stable")
case("argsort", lambda m, x: m.sort(x, dim=1, descending=True, stable=True).indices, F(3, 6, lo=-2, hi=2),
     ref=lambda x: 5 - np.flip(np.argsort(np.flip(x, 1), 1, kind="stable"), 1), dtypes=("int64",),
     tag="stable_descending")
case("topk_indices", lambda m, x: x.topk(2, dim=1).indices, F(3, 5, lo=-1000, hi=1000),
     ref=lambda x: np.argsort(-x, 1)[:, :2], dtypes=FLI, empty=(F(0, 5),))
case("topk_indices", lambda m, x: m.topk(x, 3, dim=0, largest=False).values, F(4, 3),
     ref=lambda x: np.sort(x, 0)[:3], tag="smallest")

# linalg ----------------------------------------------------------------------------------------------------------

case("matmul", lambda m, x, y: x @ y, F(3, 4), F(4, 5), ref=np.matmul, dtypes=FLI,
     empty=(F(0, 4), F(4, 5)))
case("matmul", lambda m, x, y: m.matmul(x, y), F(2, 3, 4), F(4, 5), ref=np.matmul, tag="batched")
case("matmul", lambda m, x, y: x @ y, F(4), F(4), ref=np.matmul, dtypes=FLI, tag="dot")
case("matmul", lambda m, x, y: m.bmm(x, y), F(2, 3, 4), F(2, 4, 2), ref=np.matmul, tag="bmm")
case("matmul", lambda m, x, y: m.mv(x, y), F(3, 4), F(4), ref=np.matmul, tag="mv")
case("matmul", lambda m, x, y: x @ y, F(3, 0), F(0, 2), ref=np.matmul, tag="empty_inner")
case("linear", lambda m, x, w, b: m.nn.functional.linear(x, w, b), F(3, 4), F(5, 4), F(5),
     ref=lambda x, w, b: x @ w.T + b, empty=(F(0, 4), F(5, 4), F(5)))
case("linear", lambda m, x, w: m.nn.functional.linear(x, w), F(2, 3, 4), F(5, 4), ref=lambda x, w: x @ w.T,
     tag="nobias")
case("einsum", lambda m, a, b: m.einsum("ij,jk->ik", a, b), F(3, 4), F(4, 5), ref=lambda a, b: a @ b,
     empty=(F(0, 4), F(4, 5)))
case("einsum", lambda m, a, b: m.einsum("bij,bkj->bik", a, b), F(2, 3, 4), F(2, 5, 4),
     ref=lambda a, b: np.einsum("bij,bkj->bik", a, b), tag="batched")
case("einsum", lambda m, a: m.einsum("ii->i", a), F(4, 4), ref=lambda a: np.diagonal(a).copy(), tag="diag")
case("einsum", lambda m, a, b: m.einsum("i,j->ij", a, b), F(3), F(4), ref=np.outer, tag="outer")

# creation --------------------------------------------------------------------------------------------------------

case("arange", lambda m, d: m.arange(0, 5, 0.5, dtype=d), DT(), ref=lambda d: np.arange(0, 5, 0.5, dtype=d),
     dtypes=FL, empty=(DT(),), empty_fn=lambda m, d: m.arange(3, 3, dtype=d))
case("arange", lambda m, d: m.arange(10, dtype=d), DT(), ref=lambda d: np.arange(10, dtype=d),
     dtypes=FLI + ("int32", "uint8"), tag="int")
case("arange", lambda m: m.arange(-3.0, 4.0, 0.7), ref=lambda: np.arange(-3.0, 4.0, 0.7).astype(np.float32),
     dtypes=("float32",), tag="default")
case("full", lambda m, d: m.full((2, 3), 1.5, dtype=d), DT(), ref=lambda d: np.full((2, 3), 1.5, d),
     dtypes=FL, empty=(DT(),), empty_fn=lambda m, d: m.full((0, 3), 2.0, dtype=d))
case("full", lambda m, d: m.zeros(2, 3, dtype=d), DT(), ref=lambda d: np.zeros((2, 3), d), dtypes=FLI + ("bool",),
     tag="zeros")
case("full", lambda m, d: m.ones((3,), dtype=d), DT(), ref=lambda d: np.ones(3, d), dtypes=FLI + ("bool",),
     tag="ones")
case("full", lambda m: m.full((2, 2), 7), ref=lambda: np.full((2, 2), 7), dtypes=("int64",), tag="infer_int")
case("full", lambda m, x: m.full_like(x, -2), F(3, 4), ref=lambda x: np.full_like(x, -2), dtypes=FLI, tag="like")
case("eye", lambda m, d: m.eye(3, dtype=d), DT(), ref=lambda d: np.eye(3, dtype=d), dtypes=FLI + ("bool",),
     empty=(DT(),), empty_fn=lambda m, d: m.eye(0, 3, dtype=d))
case("eye", lambda m, d: m.eye(2, 4, dtype=d), DT(), ref=lambda d: np.eye(2, 4, dtype=d), tag="rect")
case("linspace", lambda m, d: m.linspace(-1, 2, 7, dtype=d), DT(), ref=lambda d: np.linspace(-1, 2, 7, dtype=d),
     dtypes=FL, empty=(DT(),), empty_fn=lambda m, d: m.linspace(0, 1, 0, dtype=d))
case("linspace", lambda m, d: m.linspace(0.1, 0.7, 30, dtype=d), DT(), ref=lambda d: np.linspace(0.1, 0.7, 30),
     tag="many")
case("linspace", lambda m, d: m.linspace(0, 10, 4, dtype=d), DT(),
     ref=lambda d: np.trunc(np.linspace(0, 10, 4)).astype(d), dtypes=("int64",), tag="int")
case("logspace", lambda m, d: m.logspace(0, 2, 5, dtype=d), DT(), ref=lambda d: np.logspace(0, 2, 5, dtype=d),
     dtypes=FL, empty=(DT(),), empty_fn=lambda m, d: m.logspace(0, 1, 0, dtype=d))
case("logspace", lambda m, d: m.logspace(-1, 1.5, 6, base=2.0, dtype=d), DT(),
     ref=lambda d: np.logspace(-1, 1.5, 6, base=2.0), tag="base2")
