"""Registry edge cases across the op families: special values (NaN, +-inf, -0.0), 0-d inputs, type promotion and
integer wraparound, unusual argument forms, writes into (views of) inputs, and long accumulations.
"""
from __future__ import annotations

import numpy as np
from scipy import special

from _registry_case_helpers import (after_write, inplace_view, np_diag_scatter, np_gelu, np_gelu_tanh,
                                    np_index_put_acc, np_lerp, np_scatter, np_setitem, np_sign, np_softplus,
                                    np_trunc_div, realized, setitem)
from _registry_cases_pointwise import UNARY
from _registry_harness import DT, FL, FLI, Case, F, Idx, Mask, Perm, V, case_adder

CASES: list[Case] = []
case = case_adder(CASES)


# edge cases: special values, 0-d inputs, type promotion, unusual arguments --------------------------------------

case("add", lambda m, x, y: x + y, F(3, 4), F(dtype="float64"), ref=lambda x, y: x + y.astype(x.dtype),
     dtypes=("float32", "int32"), tag="0d_promote")
case("add", lambda m, x, y: x + y, F(3, 4, lo=-100, hi=100), F(dtype="int64", lo=-100, hi=100),
     ref=lambda x, y: x + y.astype(x.dtype), dtypes=("int8", "uint8"), tag="0d_int_promote")
case("maximum", lambda m, x, y: m.maximum(x, y), F(3, 4, lo=0, hi=100), F(dtype="int64", lo=0, hi=100),
     ref=lambda x, y: np.maximum(x, y.astype(x.dtype)), dtypes=("uint8",), tag="0d_int_promote")
case("mul", lambda m, x, y: x * y, F(3, 4), F(4, dtype="int64", lo=-3, hi=3), ref=np.multiply,
     dtypes=("float32", "int32", "bool"), tag="promote")
case("add", lambda m, x: x + 100, F(3, 4, lo=0, hi=100), ref=lambda x: x + 100, dtypes=("int8", "uint8"),
     tag="wrap")
case("clamp", lambda m, x: m.clamp(x, -0.5, 1.5), F(3, 4, lo=-3, hi=3), ref=lambda x: np.clip(x, -0.5, 1.5),
     dtypes=("int64",), tag="int_float_bounds")
case("where", lambda m, c, x: m.where(c, x, 1), Mask(3, 4), F(3, 4), ref=lambda c, x: np.where(c, x, 1),
     dtypes=FLI + ("bool",), tag="int_scalar")
case("cast", lambda m, x: x.bool(), F(3, 4, special=True), ref=lambda x: x.astype(bool), tag="bool_special")
case("sum", lambda m, x: x.sum(1), F(3, 4, special=True), ref=lambda x: x.sum(1), tag="special")
case("sum", lambda m, x: x.sum(0), F(), ref=lambda x: x.sum(), dtypes=FLI + ("bool",), tag="0d")
case("mean", lambda m, x: x.mean(0), F(3, 0), ref=lambda x: np.full(0, np.nan), tag="empty_dim")
case("prod", lambda m, x: x.prod(1), F(3, 0), ref=lambda x: np.ones(3), dtypes=FLI, tag="empty_dim")
case("amax", lambda m, x: m.amax(x, 0), F(), ref=lambda x: x.copy(), dtypes=FLI, tag="0d")
case("argmax", lambda m, x: x.argmax(1), F(3, 4, special=True), ref=lambda x: np.argmax(np.where(
     np.isnan(x), np.inf, x) + 0 * np.isnan(x), 1), tag="nan")
case("argmax", lambda m, x: x.argmax(0), F(), ref=lambda x: np.int64(0), dtypes=FLI, tag="0d")
case("argmin", lambda m, x: m.argmin(x), F(2, 3, 4, lo=-1, hi=2), ref=np.argmin, dtypes=("int64", "int32"),
     tag="flat_ties")
case("var", lambda m, x: x.var(0), F(1, 4), ref=lambda x: np.full(4, np.nan), tag="single")
case("std", lambda m, x: x.std(1, keepdim=True), F(3, 4, special=True), ref=lambda x: x.std(1, ddof=1,
     keepdims=True), tag="special")
case("logsumexp", lambda m, x: m.logsumexp(x, 1), V([[np.inf, 1.0, 2.0], [-np.inf, -np.inf, -np.inf],
                                                      [np.nan, 0.0, 1.0], [-np.inf, 0.5, -np.inf]]),
     ref=lambda x: np.array([np.inf, -np.inf, np.nan, 0.5]), tag="special")
case("logsumexp", lambda m, x: m.logsumexp(x, 0), F(), ref=lambda x: x.copy(), tag="0d")
case("softmax", lambda m, x: x.softmax(1), V([[-np.inf, 1.0, 2.0], [-np.inf, -np.inf, 0.0], [3.0, -np.inf, 3.0]]),
     ref=lambda x: special.softmax(x, 1), tag="neg_inf")
case("softmax", lambda m, x: x.softmax(0), F(), ref=lambda x: np.ones(()), tag="0d")
case("log_softmax", lambda m, x: x.log_softmax(1), V([[-np.inf, 1.0, 2.0], [3.0, -np.inf, 3.0]]),
     ref=lambda x: special.log_softmax(x, 1), tag="neg_inf")
case("cumsum", lambda m, x: x.cumsum(0), F(), ref=lambda x: x.copy(), dtypes=FLI, tag="0d")
case("cumprod", lambda m, x: x.cumprod(1), F(3, 4, special=True), ref=lambda x: x.cumprod(1), tag="special")
case("norm", lambda m, x: x.norm(p=float("-inf"), dim=1), F(3, 4), ref=lambda x: np.abs(x).min(1), tag="neg_inf")
case("norm", lambda m, x: m.norm(x, p=0.5, dim=0), F(3, 4), ref=lambda x: (np.abs(x) ** 0.5).sum(0) ** 2,
     tag="p_half")
case("norm", lambda m, x: m.norm(x, dim=1), F(3, 4, special=True), ref=lambda x: np.sqrt((x * x).sum(1)),
     tag="special")
case("all", lambda m, x: x.all(), F(3, 4, special=True), ref=np.all, tag="special")
case("argsort", lambda m, x: x.argsort(dim=1, stable=True), F(3, 5, special=True),
     ref=lambda x: np.argsort(x, 1, kind="stable"), tag="special")
case("topk_indices", lambda m, x: x.topk(2).indices, V([[np.nan, 1.0, 3.0, 2.0], [0.5, np.inf, -np.inf, 0.25]]),
     ref=lambda x: np.array([[0, 2], [1, 0]]), tag="nan")
case("topk_indices", lambda m, x: m.topk(x, 0, dim=1).values, F(3, 4), ref=lambda x: x[:, :0], tag="k0")
case("roll", lambda m, x: x.roll(-7, 1), F(3, 4), ref=lambda x: np.roll(x, -7, 1), tag="wrap")
case("repeat", lambda m, x: x.repeat(0, 2), F(3, 4), ref=lambda x: np.tile(x, (0, 2)), tag="zero")
case("flip", lambda m, x: x.flip(0), F(), ref=lambda x: x.copy(), tag="0d")
case("diagonal", lambda m, x: x.diagonal(5), F(3, 4), ref=lambda x: x.diagonal(5).copy(), tag="beyond")
case("tril", lambda m, x: x.tril(7), F(3, 4), ref=lambda x: np.tril(x, 7), tag="beyond")
case("triu", lambda m, x: x.triu(-7), F(3, 4), ref=lambda x: np.triu(x, -7), tag="beyond")
case("pad", lambda m, x: m.nn.functional.pad(x, (-1, -1, 1, 0)), F(3, 4),
     ref=lambda x: np.pad(x[:, 1:-1], ((1, 0), (0, 0))), tag="crop_both")
case("pad", lambda m, x: m.nn.functional.pad(x, (1, 2, 0, 1), mode="reflect"), F(1, 3, 4),
     ref=lambda x: np.pad(x, ((0, 0), (0, 1), (1, 2)), mode="reflect"), tag="reflect2d")
case("pad", lambda m, x: m.nn.functional.pad(x, (1, 1), value=7), F(3, 4, lo=-5, hi=5),
     ref=lambda x: np.pad(x, ((0, 0), (1, 1)), constant_values=7), dtypes=("int64", "int32", "uint8"),
     tag="int_value")
case("matmul", lambda m, x, y: x @ y, F(2, 1, 3, 4), F(5, 4, 2), ref=np.matmul, tag="broadcast")
case("matmul", lambda m, x, y: x @ y, F(4), F(2, 4, 3), ref=np.matmul, tag="vec_batched")
case("linear", lambda m, x, w, b: m.nn.functional.linear(x, w, b), F(4), F(5, 4), F(5),
     ref=lambda x, w, b: w @ x + b, tag="vector")
case("einsum", lambda m, a, b: m.einsum("...ij,...jk->...ik", a, b), F(2, 3, 4), F(4, 2),
     ref=lambda a, b: np.einsum("...ij,...jk->...ik", a, b), tag="ellipsis")
case("einsum", lambda m, a: m.einsum("ijk->", a), F(2, 3, 4), ref=np.sum, tag="sum")
case("index", lambda m, x, i: x[i, 1:], F(4, 3, 5), Idx(2, 2, lo=-4, hi=4),
     ref=lambda x, i: x[i, 1:], tag="with_slice")
case("index", lambda m, x, i: x[..., i], F(2, 3, 4), Idx(3, hi=4), ref=lambda x, i: x[..., i],
     dtypes=FLI + ("bool",), tag="last")
case("where", lambda m, x, c: setitem(x, c, 2.5), F(3, 4), Mask(3, 4),
     ref=lambda x, c: np_setitem(x, c, 2.5), tag="setitem_mask")
case("scatter", lambda m, x, i, s: x.scatter_reduce(1, i, s, "amin", include_self=True), F(3, 4),
     Idx(3, 6, hi=4), F(3, 6), ref=lambda x, i, s: np_scatter(x, 1, i, s, np.minimum), dtypes=FLI, tag="amin")
case("scatter", lambda m, x, i, s: x.scatter_reduce(1, i, s, "amax", include_self=False), F(3, 4, lo=-50, hi=50),
     Idx(3, 2, hi=4), F(3, 2, lo=-50, hi=50), ref=None, dtypes=("int64", "int32"), tag="amax_int")
case("scatter", lambda m, x, i, s: x.scatter_reduce(0, i, s, "mean", include_self=False), F(3, 4, lo=-50, hi=50),
     Idx(5, 4, hi=3), F(5, 4, lo=-50, hi=50), dtypes=FLI, tag="mean_noself")
case("scatter", lambda m, x, i, s: x.scatter_reduce(0, i, s, "prod", include_self=False), F(3, 4), Idx(2, 4, hi=3),
     F(2, 4), dtypes=FL, tag="prod_noself")
case("one_hot", lambda m, i: m.nn.functional.one_hot(i, 3), Idx(hi=3), ref=lambda i: np.eye(3, dtype=np.int64)[i],
     dtypes=("int64",), tag="0d")
case("arange", lambda m, d: m.arange(1, -2, -0.3, dtype=d), DT(), ref=lambda d: np.arange(1, -2, -0.3, dtype=d),
     tag="negative_step")
case("arange", lambda m, d: m.arange(0, 1, 0.1, dtype=d), DT(), ref=lambda d: np.arange(0, 1, 0.1, dtype=d),
     tag="tenths")
case("linspace", lambda m, d: m.linspace(-7, 5, 5, dtype=d), DT(), ref=lambda d: np.array([-7, -4, -1, 2, 5]),
     dtypes=("int64", "int32"), tag="int_negative")
case("linspace", lambda m, d: m.linspace(2.5, 3, 1, dtype=d), DT(), ref=lambda d: np.array([2.5], d), tag="one")
case("logspace", lambda m, d: m.logspace(0, 3, 4, dtype=d), DT(), ref=lambda d: np.array([1, 10, 100, 1000]),
     dtypes=("int64",), tag="int")
case("eye", lambda m, d: m.eye(4, 2, dtype=d), DT(), ref=lambda d: np.eye(4, 2, dtype=d), dtypes=FLI, tag="tall")
case("full", lambda m, d: m.full((2, 3), True, dtype=d), DT(), ref=lambda d: np.full((2, 3), True, d),
     dtypes=("bool", "float32", "int64"), tag="bool_value")


# special values: every pair of (NaN, +-inf, +-0, finite) through the binary float ops, and through every unary
# float op (torch is the oracle here: where numpy's own value differs, the case has no numpy reference)
SPECIALS = (np.nan, np.inf, -np.inf, 0.0, -0.0, 1.0, -1.0, 2.5, -2.5, 3.0)
_SX, _SY = V(np.array(SPECIALS)[:, None]), V(np.array(SPECIALS))
for _name, _fn, _ref in (
        ("add", lambda m, x, y: x + y, np.add), ("sub", lambda m, x, y: x - y, np.subtract),
        ("mul", lambda m, x, y: x * y, np.multiply), ("div", lambda m, x, y: x / y, np.true_divide),
        ("maximum", lambda m, x, y: m.maximum(x, y), np.maximum),
        ("minimum", lambda m, x, y: m.minimum(x, y), np.minimum),
        ("fmod", lambda m, x, y: m.fmod(x, y), np.fmod), ("remainder", lambda m, x, y: x % y, None),
        ("floor_divide", lambda m, x, y: x // y, None),
        ("div_trunc", lambda m, x, y: m.div(x, y, rounding_mode="trunc"), None),
        ("atan2", lambda m, x, y: m.atan2(x, y), np.arctan2), ("pow", lambda m, x, y: x ** y, np.power),
        ("eq", lambda m, x, y: x == y, np.equal), ("ne", lambda m, x, y: x != y, np.not_equal),
        ("lt", lambda m, x, y: x < y, np.less), ("le", lambda m, x, y: x <= y, np.less_equal),
        ("gt", lambda m, x, y: x > y, np.greater), ("ge", lambda m, x, y: x >= y, np.greater_equal),
        ("logical_and", lambda m, x, y: m.logical_and(x, y), np.logical_and),
        ("logical_or", lambda m, x, y: m.logical_or(x, y), np.logical_or),
        ("logical_xor", lambda m, x, y: m.logical_xor(x, y), np.logical_xor),
        ("lerp", lambda m, x, y: m.lerp(x, y, 0.3), lambda x, y: np_lerp(x, y, 0.3))):
    case(_name, _fn, _SX, _SY, ref=_ref, tag="special")
for _name, _fn, _ref, _lo, _hi, _dts in UNARY:
    case(_name, _fn, V(np.array(SPECIALS + (0.5, -0.5)).reshape(3, 4)), ref=_ref, tag="special")
for _name, _fn, _ref, _dts in (
        ("softplus", lambda m, x: m.nn.functional.softplus(x), np_softplus, FL),
        # exact gelu in float64 only: torch's own float32 gelu(+inf) is NaN on contiguous inputs (its vectorized
        # path) but inf on strided ones, so float32 +inf has no single torch value (gelu-special_noinf below)
        ("gelu", lambda m, x: m.nn.functional.gelu(x), np_gelu, ("float64",)),
        ("gelu", lambda m, x: m.nn.functional.gelu(x, approximate="tanh"), np_gelu_tanh, FL),
        ("clamp", lambda m, x: m.clamp(x, -1.5, 2.0), lambda x: np.clip(x, -1.5, 2.0), FL),
        ("nan_to_num", lambda m, x: m.nan_to_num(x, posinf=1e30), None, FL)):
    case(_name, _fn, V(np.array(SPECIALS + (0.5, -0.5)).reshape(3, 4)), ref=_ref, dtypes=_dts, tag="special")
case("gelu", lambda m, x: m.nn.functional.gelu(x), V(np.array([v for v in SPECIALS if v != np.inf] + [0.5, -0.5, 4.0])
                                                     .reshape(3, 4)), ref=np_gelu, tag="special_noinf")
case("pow", lambda m, x, y: x ** y, F(3, 4, lo=-9, hi=9), F(3, 4, lo=30, hi=45), ref=np.power,
     dtypes=("int64",), tag="overflow")
for _name, _fn, _ref in (("abs", lambda m, x: x.abs(), np.abs), ("neg", lambda m, x: -x, np.negative),
                         ("sign", lambda m, x: x.sign(), np.sign)):
    case(_name, _fn, V([-128, 127, 0, -1, 1, -127]), ref=_ref, dtypes=("int8",), tag="extremes")
case("amin", lambda m, x: x.amin(1), F(3, 4, special=True), ref=lambda x: x.min(1), tag="nan")
case("argmin", lambda m, x: x.argmin(1), F(3, 4, special=True), tag="nan")
case("cumsum", lambda m, x: x.cumsum(1), F(3, 4, special=True), ref=lambda x: x.cumsum(1), tag="special")
case("prod", lambda m, x: x.prod(1), F(3, 4, special=True), ref=lambda x: x.prod(1), tag="special")
case("mean", lambda m, x: x.mean(1), F(3, 4, special=True), ref=lambda x: x.mean(1), tag="special")
case("var", lambda m, x: x.var(1), F(3, 4, special=True), tag="special")
case("softmax", lambda m, x: x.softmax(1), F(3, 4, special=True), tag="special")
case("log_softmax", lambda m, x: x.log_softmax(1), F(3, 4, special=True), tag="special")
case("argsort", lambda m, x: x.argsort(dim=1, descending=True, stable=True), F(3, 5, special=True),
     tag="special_desc")
case("topk_indices", lambda m, x: x.topk(5, 1, largest=False).indices, F(3, 5, special=True), tag="special")
case("matmul", lambda m, x, y: x @ y, F(3, 4, special=True), F(4, 2), tag="special")

# more argument forms ---------------------------------------------------------------------------------------------
case("cat", lambda m, x, e: m.cat([x, e, x]), F(2, 3), F(0), ref=lambda x, e: np.concatenate([x, x]),
     dtypes=FLI, tag="legacy_empty")
case("stack", lambda m, x, y: m.stack([x, y]), F(), F(), ref=lambda x, y: np.stack([x, y]), dtypes=FLI, tag="0d")
case("index", lambda m, x, c: x[:, c], F(3, 4), Mask(4), ref=lambda x, c: x[:, c], tag="mask_dim1")
case("index", lambda m, x, i: x[i], F(4, 3), F(5, dtype="int32", lo=-4, hi=4), ref=lambda x, i: x[i],
     tag="int32_index")
# a 0-d integer tensor index selects like an int (torch returns a view of x), also next to a tensor index;
# index_put indexes with it as a tensor (no select)
case("getitem", lambda m, x, i: x[i, i], F(4, 4), Idx(hi=4), ref=lambda x, i: x[i, i], tag="0d_index")
case("index", lambda m, x, i, j: x[i, j], F(4, 5), Idx(hi=4), Idx(3, hi=5), ref=lambda x, i, j: x[i, j],
     tag="0d_index")
case("index_put", lambda m, x, i, v: x.index_put((i,), v), F(4, 3), Idx(hi=4), F(3),
     ref=lambda x, i, v: np_setitem(x, i, v), dtypes=FLI, tag="0d_index")
case("index_put", lambda m, x, i, v: x.index_put((i,), v, accumulate=True), F(4, 3), Idx(hi=4), F(),
     ref=lambda x, i, v: np_setitem(x, i, x[i] + v), tag="0d_index_accumulate")
case("gather", lambda m, x, i: x.gather(0, i), F(), Idx(hi=1), ref=lambda x, i: x.copy(), tag="0d")
case("scatter", lambda m, x, i, s: x.scatter(1, i, s, reduce="add"), F(3, 4), Idx(3, 5, hi=4), F(3, 5),
     ref=lambda x, i, s: np_scatter(x, 1, i, s, np.add), tag="reduce_add")
case("scatter", lambda m, x, i, s: x.scatter(1, i, s, reduce="multiply"), F(3, 4), Idx(3, 5, hi=4), F(3, 5),
     ref=lambda x, i, s: np_scatter(x, 1, i, s, np.multiply), tag="reduce_multiply")
case("pad", lambda m, x: m.nn.functional.pad(x, (-1, 2, 1, -1), mode="circular"), F(1, 3, 4),
     ref=lambda x: np.pad(x[:, :-1, 1:], ((0, 0), (1, 0), (0, 2)), mode="wrap"), tag="circular_crop")
case("expand", lambda m, x: x.expand(2, 3), F(), ref=lambda x: np.broadcast_to(x, (2, 3)), dtypes=FLI, tag="0d")
case("repeat", lambda m, x: x.repeat(2, 3), F(), ref=lambda x: np.tile(x, (2, 3)), dtypes=FLI, tag="0d")
case("permute", lambda m, x: x.T, F(2, 3, 4), ref=lambda x: x.T, tag="T3d")
case("permute", lambda m, x: x.mT, F(2, 3, 4), ref=lambda x: x.swapaxes(-1, -2), tag="mT")
case("tril", lambda m, x: x.tril(), F(0, 3), ref=np.tril, tag="empty_rows")
case("matmul", lambda m, x, y: x @ y, F(4, lo=-5, hi=5), F(4, 3, lo=-5, hi=5), ref=np.matmul,
     dtypes=("int64", "int32"), tag="int")
case("linear", lambda m, x, w, b: m.nn.functional.linear(x, w, b), F(3, 4, lo=-5, hi=5), F(2, 4, lo=-5, hi=5),
     F(2, lo=-5, hi=5), ref=lambda x, w, b: x @ w.T + b, dtypes=("int64",), tag="int")
case("einsum", lambda m, a, b: m.einsum("ij,kj->ik", a, b), F(3, 4, lo=-5, hi=5), F(2, 4, lo=-5, hi=5),
     ref=lambda a, b: a @ b.T, dtypes=("int64",), tag="int")
case("softmax", lambda m, x: x.softmax(1, dtype=m.float64), F(3, 4), ref=lambda x: special.softmax(
     x.astype(np.float64), 1), dtypes=("float32", "int64"), tag="dtype")
case("log_softmax", lambda m, x: m.log_softmax(x, 0, dtype=m.float32), F(3, 4), ref=lambda x: special.log_softmax(
     x.astype(np.float32), 0), dtypes=("float64",), tag="dtype")
case("mean", lambda m, x: x.mean(1, dtype=m.float64), F(3, 4), ref=lambda x: x.astype(np.float64).mean(1),
     dtypes=("float32", "int64"), tag="dtype")
case("norm", lambda m, x: m.norm(x, dim=1, dtype=m.float64), F(3, 4), ref=lambda x: np.sqrt(
     (x.astype(np.float64) ** 2).sum(1)), dtypes=("float32",), tag="dtype")
case("cumprod", lambda m, x: x.cumprod(1, dtype=m.float32), F(3, 4, lo=-3, hi=3), ref=lambda x: x.cumprod(1).astype(
     np.float32), dtypes=("int64",), tag="dtype")
case("prod", lambda m, x: x.prod(1, dtype=m.float64), F(3, 4), ref=lambda x: x.astype(np.float64).prod(1),
     dtypes=("float32", "int32"), tag="dtype")
case("arange", lambda m, d: m.arange(1.0, 1.3, 0.1, dtype=d), DT(), ref=lambda d: np.arange(1.0, 1.3, 0.1, dtype=d),
     tag="count_rounding")
case("arange", lambda m, d: m.arange(-5, 7, 3, dtype=d), DT(), ref=lambda d: np.arange(-5, 7, 3, dtype=d),
     dtypes=FLI, tag="int_step")
case("linspace", lambda m, d: m.linspace(3, -2.5, 6, dtype=d), DT(), ref=lambda d: np.linspace(3, -2.5, 6), tag="down")


case("full", lambda m, d: m.full((2,), 2.7, dtype=d), DT(), ref=lambda d: np.full(2, 2.7).astype(d),
     dtypes=("int64", "int32", "float32"), tag="truncate")
case("eye", lambda m, d: m.eye(3, 0, dtype=d), DT(), ref=lambda d: np.eye(3, 0, dtype=d), tag="zero_cols")

# 0-d chains: numpy returns scalars for 0-d results; the program keeps them arrays so the memory planner can
# hand them on as out=. loss_chain starts from a realized 0-d tensor (a leaf, as after ``loss.item()``).
case("add", lambda m, x: x * 2 + 1, F(), ref=lambda x: x * 2 + 1, dtypes=("float64", "int64"), tag="0d_chain")
case("add", lambda m, x: realized(x.mean()) * 0.5 + 1, F(3, 4), ref=lambda x: x.mean() * 0.5 + 1,
     dtypes=("float64",), tag="loss_chain")

# writes into (views of) the inputs themselves: with layout "noncontig" the input is a view of a larger
# tensor, so the write goes through the view chain to its base (functionalization) and back
case("slice_scatter", lambda m, x, v: after_write(x, lambda: x.__setitem__((slice(1, 3),), v)), F(3, 4), F(2, 4),
     ref=lambda x, v: np_setitem(x, (slice(1, 3),), v), tag="into_input")
case("slice_scatter", lambda m, x: after_write(x, lambda: x.t()[0].mul_(2)), F(3, 4),
     ref=lambda x: np_setitem(x, (slice(None), 0), 2 * x[:, 0]), tag="into_view_of_view")
case("slice_scatter", lambda m, x: after_write(x, lambda: x[:, 1:].add_(x[:, :-1].clone())), F(2, 3, 4),
     ref=lambda x: np_setitem(x, (slice(None), slice(1, None)), x[:, 1:] + x[:, :-1]), tag="shifted")
case("diagonal_scatter", lambda m, x: after_write(x, lambda: x.diagonal().fill_(7.0)), F(3, 4),
     ref=lambda x: np_diag_scatter(x, np.full(3, 7.0), 0), tag="into_input")
case("index_put", lambda m, x, i, v: after_write(x, lambda: x.__setitem__(i, v)), F(4, 3), Perm((2,), 4), F(2, 3),
     ref=lambda x, i, v: np_setitem(x, i, v), tag="into_input")
case("index_put", lambda m, x, i: after_write(x, lambda: x.t().index_put_((i,), m.ones(x.shape[0], dtype=x.dtype),
                                                                     accumulate=True)),
     F(4, 3), Idx(5, hi=3), ref=lambda x, i: np_index_put_acc(x.T.copy(), i, np.ones(4)).T, tag="into_view")

# accumulation over many elements (float32 kernels that accumulate differently show here)
case("sum", lambda m, x: x.sum(dim=1), F(3, 5000, lo=0, hi=1), ref=lambda x: x.sum(1), tag="long")
case("cumsum", lambda m, x: x.cumsum(dim=0), F(3000, lo=0, hi=1), ref=lambda x: x.cumsum(0), tag="long")
case("mean", lambda m, x: x.mean(), F(4000, lo=0, hi=1), ref=np.mean, tag="long")
case("var", lambda m, x: x.var(dim=0), F(500, 3, lo=1000, hi=1001), ref=lambda x: x.var(0, ddof=1),
     tag="offset")
case("std", lambda m, x: x.std(), F(2000, lo=-1, hi=1), ref=lambda x: x.std(ddof=1), tag="long")
case("norm", lambda m, x: x.norm(), F(3000, lo=0, hi=1), ref=lambda x: np.sqrt((x * x).sum()), tag="long")
case("logsumexp", lambda m, x: m.logsumexp(x, 0), F(3000, lo=-3, hi=3), ref=lambda x: special.logsumexp(x, 0),
     tag="long")
case("softmax", lambda m, x: x.softmax(0), F(3000, lo=-3, hi=3), ref=lambda x: special.softmax(x, 0),
     tag="long")
case("matmul", lambda m, x, y: x @ y, F(3, 1000), F(1000, 2), ref=np.matmul, tag="long")
case("prod", lambda m, x: x.prod(), F(500, lo=0.9, hi=1.1), ref=np.prod, tag="long")
case("cumprod", lambda m, x: x.cumprod(0), F(500, lo=0.9, hi=1.1), ref=lambda x: x.cumprod(0), tag="long")

# more special values: the remaining float ops and reductions ----------------------------------------------------
_SV = V(np.array(SPECIALS + (0.5, -0.5)).reshape(3, 4))
case("logical_not", lambda m, x: m.logical_not(x), _SV, ref=np.logical_not, tag="special")
case("cast", lambda m, x: x.float(), _SV, ref=lambda x: x.astype(np.float32), dtypes=("float64",),
     tag="special_float")
case("cast", lambda m, x: x.double(), _SV, ref=lambda x: x.astype(np.float64), dtypes=("float32",),
     tag="special_double")
case("round", lambda m, x: m.round(x, decimals=1), _SV, ref=lambda x: np.round(x, 1), tag="special_decimals")
case("where", lambda m, c, x, y: m.where(c, x, y), Mask(3, 4), _SV, F(3, 4, special=True),
     ref=np.where, tag="special")
case("any", lambda m, x: x.any(1), F(3, 4, special=True), ref=lambda x: x.any(1), tag="special")
case("amax", lambda m, x: x.amax(0), F(4, 3, special=True), ref=lambda x: x.max(0), tag="special_dim")
case("norm", lambda m, x: x.norm(p=float("inf"), dim=1), F(3, 4, special=True),
     ref=lambda x: np.abs(x).max(1), tag="special_inf")
case("norm", lambda m, x: x.norm(p=1, dim=0), F(4, 3, special=True), ref=lambda x: np.abs(x).sum(0),
     tag="special_p1")
case("logsumexp", lambda m, x: m.logsumexp(x, 1), F(3, 4, special=True), tag="special_random")

# more 0-d inputs: 0-d with 0-d through the binary ops, and through unary ops and reductions ----------------------
for _name, _fn, _ref, _dts in (
        ("sub", lambda m, x, y: x - y, np.subtract, FLI), ("mul", lambda m, x, y: x * y, np.multiply, FLI),
        ("div", lambda m, x, y: x / y, np.true_divide, FL),
        ("fmod", lambda m, x, y: m.fmod(x, y), np.fmod, FL), ("remainder", lambda m, x, y: x % y, np.remainder, FL),
        ("floor_divide", lambda m, x, y: x // y, np.floor_divide, FL),
        ("div_trunc", lambda m, x, y: m.div(x, y, rounding_mode="trunc"), np_trunc_div, FL),
        ("atan2", lambda m, x, y: m.atan2(x, y), np.arctan2, FL),
        ("pow", lambda m, x, y: m.pow(x.abs(), y), lambda x, y: np.abs(x) ** y, FL),
        ("maximum", lambda m, x, y: m.maximum(x, y), np.maximum, FLI),
        ("minimum", lambda m, x, y: m.minimum(x, y), np.minimum, FLI),
        ("lerp", lambda m, x, y: m.lerp(x, y, 0.25), lambda x, y: np_lerp(x, y, 0.25), FL),
        ("eq", lambda m, x, y: x == y, np.equal, FLI), ("lt", lambda m, x, y: x < y, np.less, FLI),
        ("logical_and", lambda m, x, y: m.logical_and(x, y), np.logical_and, FLI)):
    case(_name, _fn, F(lo=0.5, hi=3, signed=True), F(lo=0.5, hi=3, signed=True), ref=_ref, dtypes=_dts,
         tag="0d_pair")
case("bitwise_and", lambda m, x, y: x & y, F(lo=-100, hi=100), F(lo=-100, hi=100), ref=np.bitwise_and,
     dtypes=("int64", "uint8"), tag="0d_pair")
case("bitwise_left_shift", lambda m, x, y: x << y, F(lo=-100, hi=100), F(lo=0, hi=5), ref=np.left_shift,
     dtypes=("int64", "int8"), tag="0d_pair")
for _name, _fn, _ref, _dts in (
        ("sigmoid", lambda m, x: x.sigmoid(), special.expit, FL),
        ("relu", lambda m, x: x.relu(), lambda x: np.maximum(x, 0), FLI),
        ("sign", lambda m, x: x.sign(), np_sign, FLI), ("abs", lambda m, x: x.abs(), np.abs, FLI),
        ("neg", lambda m, x: -x, np.negative, FLI), ("round", lambda m, x: x.round(), np.round, FL),
        ("isnan", lambda m, x: x.isnan(), np.isnan, FL), ("logical_not", lambda m, x: ~x, np.logical_not, ("bool",)),
        ("bitwise_not", lambda m, x: ~x, np.invert, ("int64", "int8")),
        ("nan_to_num", lambda m, x: x.nan_to_num(), np.nan_to_num, FL),
        ("gelu", lambda m, x: m.nn.functional.gelu(x), np_gelu, FL),
        ("softplus", lambda m, x: m.nn.functional.softplus(x), np_softplus, FL),
        ("clamp", lambda m, x: x.clamp(-0.5, 0.5), lambda x: np.clip(x, -0.5, 0.5), FL),
        ("cast", lambda m, x: x.to(m.int32), lambda x: x.astype(np.int32), FL),
        ("clone", lambda m, x: x.clone(), lambda x: x.copy(), FLI),
        ("alias", lambda m, x: x.detach(), lambda x: x.copy(), FLI),
        ("reshape", lambda m, x: x.reshape(1, 1), lambda x: x.reshape(1, 1), FLI),
        ("permute", lambda m, x: x.permute(()), lambda x: x.copy(), FLI),
        ("getitem", lambda m, x: x[None, ..., None], lambda x: x[None, ..., None], FLI),
        ("roll", lambda m, x: x.roll(1), lambda x: x.copy(), FL),
        ("mean", lambda m, x: x.mean(), lambda x: x.copy(), FL),
        ("prod", lambda m, x: x.prod(0), lambda x: x.copy(), FLI),
        ("var", lambda m, x: x.var(correction=0), lambda x: np.zeros(()), FL),
        ("std", lambda m, x: x.std(0, correction=0), lambda x: np.zeros(()), FL),
        ("amin", lambda m, x: x.amin(), lambda x: x.copy(), FLI),
        ("argmin", lambda m, x: x.argmin(), lambda x: np.int64(0), FLI),
        ("cumprod", lambda m, x: x.cumprod(0), lambda x: x.copy(), FLI),
        ("log_softmax", lambda m, x: x.log_softmax(0), lambda x: np.zeros(()), FL),
        ("norm", lambda m, x: x.norm(), np.abs, FL),
        ("all", lambda m, x: x.all(), lambda x: np.all(x), FLI + ("bool",)),
        ("any", lambda m, x: x.any(0), lambda x: np.any(x), FLI + ("bool",)),
        ("argsort", lambda m, x: x.argsort(), lambda x: np.int64(0), FL),
        ("topk_indices", lambda m, x: x.topk(1).indices, lambda x: np.int64(0), FL)):
    case(_name, _fn, F(lo=0.5, hi=3, signed=True), ref=_ref, dtypes=_dts, tag="0d")
case("contiguous", lambda m, x: x.contiguous(), F(lo=0.5, hi=3, signed=True), ref=lambda x: x.copy(), dtypes=FLI,
     tag="0d")
case("where", lambda m, c, x, y: m.where(c, x, y), Mask(), F(), F(), ref=np.where, dtypes=FLI, tag="0d")
case("where", lambda m, c, x, y: m.where(c, x, y), Mask(3, 1), F(), F(4), ref=np.where, tag="0d_broadcast")
case("full", lambda m, d: m.full((), 2.5, dtype=d), DT(), ref=lambda d: np.full((), 2.5, d), dtypes=FLI, tag="0d")
case("slice_scatter", lambda m, x, i: inplace_view(x, lambda y: y[i].mul_(2)), F(4, 3), Idx(hi=4),
     ref=lambda x, i: np_setitem(x, i, 2 * x[i]), tag="0d_index")

# more type promotion and integer wraparound ---------------------------------------------------------------------
case("sub", lambda m, x, y: x - y, F(3, 4, lo=0, hi=50), F(4, lo=50, hi=100), ref=np.subtract,
     dtypes=("uint8",), tag="wrap")
case("mul", lambda m, x, y: x * y, F(3, 4, lo=-100, hi=100), F(4, lo=-100, hi=100), ref=np.multiply,
     dtypes=("int8", "int16"), tag="wrap")
case("cumsum", lambda m, x: x.cumsum(0, dtype=m.int8), F(6, 3, lo=50, hi=100), ref=lambda x: x.cumsum(0).astype(
     np.int8), dtypes=("int64",), tag="wrap")
case("where", lambda m, c, x, y: m.where(c, x, y), Mask(3, 4), F(3, 4), F(4, dtype="float64"),
     ref=lambda c, x, y: np.where(c, x.astype(np.float64), y), dtypes=("float32", "int32", "bool"), tag="promote")
case("maximum", lambda m, x, y: m.maximum(x, y), F(3, 4, lo=-5, hi=5), F(4, dtype="float32"),
     ref=lambda x, y: np.maximum(x.astype(np.float32), y), dtypes=("int32", "uint8", "bool"), tag="promote")
case("eq", lambda m, x, y: x == y, F(3, 4, step=1.0), F(4, dtype="int64", lo=-2, hi=3), ref=np.equal,
     dtypes=("float32", "uint8"), tag="promote")
case("bitwise_or", lambda m, x, y: x | y, F(3, 4, lo=-100, hi=100), Mask(4),
     ref=lambda x, y: x | y.astype(x.dtype), dtypes=("int8", "uint8"), tag="promote")
case("pow", lambda m, x: x ** 0.5, F(3, 4, lo=0, hi=50), ref=lambda x: np.sqrt(x).astype(np.float32),
     dtypes=("int64",), tag="int_float_scalar")
case("cat", lambda m, x, y: m.cat([x, y], 1), F(3, 2), Mask(3, 2), ref=lambda x, y: np.concatenate(
     [x, y.astype(x.dtype)], 1), dtypes=("int8", "float32"), tag="bool_promote")
case("floor_divide", lambda m, x, y: x // y, F(3, 4, lo=-100, hi=100), F(4, lo=1, hi=9, signed=True),
     ref=np.floor_divide, dtypes=("int8", "int16"), tag="int_signs")
case("remainder", lambda m, x, y: x % y, F(3, 4, lo=-100, hi=100), F(4, lo=1, hi=9, signed=True),
     ref=np.remainder, dtypes=("int8", "int16"), tag="int_signs")
