"""VJP rules of the movement/indexing family (movement, indexing, dim_indexing, joining, rearranging,
diagonals, sorting), and autograd through the tensor-level paths of in-place writes and views (tensor.py).

Each rule is checked against central differences (``tl.autograd.gradcheck``, float64, small shapes, several
index patterns) and ``.grad`` is compared with torch's autograd on the same program (float64 and float32,
non-contiguous inputs, duplicate indices that must accumulate).
"""
from __future__ import annotations

import numpy as np
import pytest

import torchlite as tl
from torchlite.autograd import gradcheck
from torchlite.ops import dim_indexing

TOL = {"float64": {"rtol": 1e-12, "atol": 1e-12}, "float32": {"rtol": 1e-5, "atol": 1e-5}}
FILE = r"test_grad_movement\.py:\d+"


def _x(*shape, seed=0):
    """A float64 leaf that requires grad, with distinct values (no ties for sort/amax)."""
    rng = np.random.default_rng(seed)
    n = int(np.prod(shape))
    vals = rng.permutation(n).reshape(shape) * 0.37 - n * 0.15 + rng.uniform(0.01, 0.05, shape)
    return tl.tensor(vals, dtype=tl.float64, requires_grad=True)


def _ix(*vals):
    """An int64 index tensor: ``_ix(1, 1, 0)`` or ``_ix([[0, 2], [2, 2]])``."""
    return tl.tensor(vals[0] if len(vals) == 1 and isinstance(vals[0], list) else list(vals))


# --- gradcheck of every rule -------------------------------------------------------------------------------
# (name, fn over torchlite tensors, input shapes)

VIEWS = [
    ("reshape", lambda a: a.reshape(4, 3), [(3, 4)]),
    ("view_infer", lambda a: a.view(2, -1), [(3, 4)]),
    ("reshape_same_is_alias", lambda a: a.reshape(3, 4) * 1, [(3, 4)]),
    ("flatten", lambda a: a.flatten(1), [(2, 3, 2)]),
    ("unflatten", lambda a: a.unflatten(1, (2, -1)), [(3, 4)]),
    ("permute", lambda a: a.permute(2, 0, 1), [(2, 3, 2)]),
    ("permute_negative", lambda a: a.permute(-1, -3, -2), [(2, 3, 2)]),
    ("transpose", lambda a: a.transpose(0, -1), [(2, 3, 2)]),
    ("t", lambda a: a.t(), [(3, 4)]),
    ("t_1d", lambda a: a.t(), [(4,)]),
    ("mT", lambda a: a.mT, [(2, 3, 2)]),
    ("T_3d", lambda a: a.T, [(2, 3, 2)]),
    ("movedim", lambda a: a.movedim((0, 1), (2, 0)), [(2, 3, 2)]),
    ("expand_leading", lambda a: a.expand(2, 3, 4), [(3, 1)]),
    ("expand_inner", lambda a: a.expand(2, -1, 3), [(2, 1, 1)]),
    ("expand_0d", lambda a: a.expand(2, 3), [()]),
    ("expand_as", lambda a: a.expand_as(tl.zeros(4, 3)), [(3,)]),
    ("broadcast_to", lambda a: a.broadcast_to((2, 1, 3)), [(1, 3)]),
    ("squeeze_all", lambda a: a.squeeze(), [(1, 3, 1)]),
    ("squeeze_dim", lambda a: a.squeeze(-1), [(1, 3, 1)]),
    ("unsqueeze", lambda a: a.unsqueeze(-2), [(2, 3)]),
    ("clone", lambda a: a.clone(), [(2, 3)]),
    ("contiguous_of_transposed", lambda a: a.t().contiguous(), [(2, 3)]),
    ("view_as", lambda a: a.view_as(tl.zeros(6)), [(2, 3)]),
    ("narrow", lambda a: a.narrow(1, 1, 2), [(3, 4)]),
    ("select_negative", lambda a: a.select(1, -1), [(3, 4)]),
]

BASIC_INDEX = [
    ("int", lambda a: a[1], [(3, 4)]),
    ("negative_int", lambda a: a[-1, -2], [(3, 4)]),
    ("slice_step", lambda a: a[::2, 1::2], [(3, 4)]),
    ("slice_negative_bounds", lambda a: a[-2:, :-1], [(3, 4)]),
    ("slice_past_end", lambda a: a[1:10, 3:], [(3, 4)]),
    ("empty_slice", lambda a: a[2:2], [(3, 4)]),
    ("none", lambda a: a[None, :, None, 1], [(3, 4)]),
    ("ellipsis", lambda a: a[..., 1], [(2, 3, 2)]),
    ("ellipsis_middle", lambda a: a[1, ..., 1], [(2, 3, 2)]),
    ("ellipsis_none", lambda a: a[..., None, 0:2], [(2, 3, 2)]),
    ("mixed", lambda a: a[-1, None, 1::2, ...], [(2, 3, 4)]),
    ("0d_none", lambda a: a[None], [()]),
    ("0d_ellipsis", lambda a: a[...], [()]),
    ("0d_int_tensor_selects", lambda a: a[tl.tensor(1)], [(3, 2)]),
    ("nested_views", lambda a: a.t()[1:][::2, 0], [(3, 4)]),
]

ADVANCED_INDEX = [
    ("list", lambda a: a[[2, 0]], [(3, 4)]),
    ("duplicates", lambda a: a[_ix(1, 1, 0, 1)], [(3, 4)]),
    ("negative", lambda a: a[_ix(-1, 0, -3)], [(3, 4)]),
    ("int32", lambda a: a[tl.tensor([2, 0, 2], dtype=tl.int32), -1], [(3, 4)]),
    ("2d_index", lambda a: a[_ix([[0, 2], [2, 2]])], [(3, 4)]),
    ("two_adjacent", lambda a: a[[0, 2, 2], [3, 3, 1]], [(3, 4)]),
    ("slice_then_tensor", lambda a: a[1:, [3, 0, 3]], [(3, 4)]),
    ("separated", lambda a: a[[0, 1], :, [1, 1]], [(2, 3, 2)]),
    ("none_and_tensor", lambda a: a[None, [1, 1], ..., 0], [(2, 3, 2)]),
    ("ellipsis_tensor", lambda a: a[..., _ix([[0, 1], [1, 1]])], [(2, 3, 2)]),
    ("empty_index", lambda a: a[tl.tensor([], dtype=tl.int64)], [(3, 4)]),
    ("bool_mask_1d", lambda a: a[tl.tensor([True, False, True])], [(3, 4)]),
    ("bool_mask_2d", lambda a: a[tl.tensor([[True, False, True, True], [False] * 4, [True] * 4])], [(3, 4)]),
    ("bool_mask_and_slice", lambda a: a[tl.tensor([False, True, True]), ::3], [(3, 4)]),
    ("bool_mask_all_false", lambda a: a[tl.tensor([False, False, False])], [(3, 4)]),
    ("python_true", lambda a: a[True], [(3,)]),
    ("python_false", lambda a: a[False], [(3,)]),
    ("0d_bool_tensor", lambda a: a[tl.tensor(True)], [()]),
    ("take", lambda a: a.take(_ix([[0, -1], [5, 5]])), [(3, 4)]),
    ("index_select_dups", lambda a: a.index_select(1, _ix(3, 0, 3)), [(3, 4)]),
    ("index_select_0d", lambda a: a.index_select(0, _ix(0)), [()]),
    ("masked_select", lambda a: a.masked_select(tl.tensor([True, False, True, True])), [(3, 4)]),
    ("take_along_dim", lambda a: tl.take_along_dim(a, _ix([[0], [3], [3]]), 1), [(3, 4)]),
    ("take_along_dim_flat", lambda a: tl.take_along_dim(a, _ix(0, 11, 0)), [(3, 4)]),
    ("of_transposed", lambda a: a.t()[[1, 1, 2]], [(3, 4)]),
]

PUTS = [
    ("index_put", lambda a, v: a.index_put((_ix(0, 2),), v), [(3, 4), (2, 4)]),
    ("index_put_accumulate_dups", lambda a, v: a.index_put((_ix(1, 1, 1),), v, accumulate=True), [(3, 4), (3, 4)]),
    ("index_put_two_indices", lambda a, v: a.index_put((_ix(0, 2), _ix(-1, 1)), v), [(3, 4), (2,)]),
    ("index_put_broadcast_value", lambda a, v: a.index_put((_ix(0, 2),), v), [(3, 4), (4,)]),
    ("index_put_0d_index", lambda a, v: a.index_put((tl.tensor(2),), v), [(3, 4), (4,)]),
    ("index_put_mask", lambda a, v: a.index_put((tl.tensor([True, False, True]),), v), [(3, 4), (2, 4)]),
    ("index_add_dups_alpha", lambda a, s: a.index_add(0, _ix(1, 1), s, alpha=2.0), [(3, 4), (2, 4)]),
    ("index_copy", lambda a, s: a.index_copy(1, _ix(3, 0), s), [(3, 4), (3, 2)]),
    ("index_fill_tensor_value", lambda a, v: a.index_fill(1, _ix(0, 2), v), [(3, 4), ()]),
    ("index_fill_number", lambda a: a.index_fill(0, _ix(1), -2.0), [(3, 4)]),
    ("slice_scatter_op", lambda a, v: tl.ops.slice_scatter(a, v, index=((0, 3, 2), 1)), [(3, 4), (2,)]),
    ("slice_scatter_op_none", lambda a, v: tl.ops.slice_scatter(a, v, index=(None, (1, 3, 1))), [(3, 4), (1, 2, 4)]),
]

GATHER_SCATTER = [
    ("gather_dim0", lambda a: a.gather(0, _ix([[2, 0, 2, 1]])), [(3, 4)]),
    ("gather_dim_neg_dups", lambda a: a.gather(-1, _ix([[0, 0, 3], [1, 1, 1]])), [(3, 4)]),
    ("gather_0d", lambda a: a.gather(0, tl.tensor(0)), [()]),
    ("scatter_src", lambda a, s: a.scatter(1, _ix([[3, 0], [1, 2]]), s), [(3, 4), (2, 2)]),
    ("scatter_src_larger_than_index", lambda a, s: a.scatter(0, _ix([[2, 0], [1, 2]]).t(), s), [(3, 4), (3, 4)]),
    ("scatter_value", lambda a: a.scatter(1, _ix([[3, 0], [1, 1]]), 2.5), [(3, 4)]),
    ("scatter_reduce_add_value", lambda a: a.scatter(1, _ix([[3, 3]]), 2.5, reduce="add"), [(3, 4)]),
    ("scatter_reduce_multiply", lambda a, s: a.scatter(1, _ix([[3, 3]]), s, reduce="multiply"), [(3, 4), (1, 2)]),
    ("scatter_add_dups", lambda a, s: a.scatter_add(0, _ix([[0, 0, 2], [0, 1, 2]]), s), [(3, 4), (2, 4)]),
] + [
    (f"scatter_reduce_{r}_{'self' if inc else 'noself'}",
     (lambda r, inc: lambda a, s: a.scatter_reduce(0, _ix([[0, 0, 2], [0, 1, 2]]), s, r, include_self=inc))(r, inc),
     [(3, 4), (2, 3)])
    for r in ("sum", "prod", "mean", "amax", "amin") for inc in (True, False)
]

JOINING = [
    ("cat_three_sizes", lambda a, b, c: tl.cat([a, b, c]), [(1, 3), (2, 3), (3, 3)]),
    ("cat_dim_neg", lambda a, b, c: tl.cat([a, b, c], -1), [(2, 1), (2, 3), (2, 2)]),
    ("cat_legacy_empty", lambda a, e, b: tl.cat([a, e, b], 1), [(2, 2), (0,), (2, 1)]),
    ("cat_zero_size", lambda a, b: tl.cat([a, b], 0), [(0, 3), (2, 3)]),
    ("cat_transposed", lambda a, b: tl.cat([a.t(), b[::2]]), [(3, 2), (3, 3)]),
    ("cat_same_input_twice", lambda a: tl.cat([a, a * 2, a]), [(2, 2)]),
    ("stack_dim0", lambda a, b, c: tl.stack([a, b, c]), [(2, 3), (2, 3), (2, 3)]),
    ("stack_last", lambda a, b: tl.stack([a, b], -1), [(2, 3), (2, 3)]),
    ("stack_0d", lambda a, b: tl.stack([a, b]), [(), ()]),
    ("hstack", lambda a, b: tl.hstack([a, b]), [(2, 1), (2, 3)]),
    ("vstack", lambda a, b: tl.vstack([a, b]), [(3,), (2, 3)]),
    ("dstack", lambda a, b: tl.dstack([a, b]), [(2, 3), (2, 3)]),
    ("column_stack", lambda a, b: tl.column_stack([a, b]), [(3,), (3, 2)]),
    ("atleast_3d", lambda a: tl.atleast_3d(a), [(3,)]),
    ("split_sizes", lambda a: tl.cat([p * (k + 1) for k, p in enumerate(a.split([1, 3], 1))], 1), [(2, 4)]),
    ("split_int", lambda a: tl.stack([p.sum() for p in a.split(2)]), [(5, 2)]),
    ("chunk", lambda a: tl.cat([p * (k + 2) for k, p in enumerate(a.chunk(3, -1))], -1), [(2, 5)]),
    ("unbind", lambda a: tl.stack([p * (k + 1) for k, p in enumerate(a.unbind(1))]), [(2, 3)]),
    ("tensor_split", lambda a: tl.cat([p * (k + 1) for k, p in enumerate(a.tensor_split([1, 3], 1))], 1), [(2, 4)]),
    ("hsplit_vsplit", lambda a: a.hsplit(2)[1] * 3 + a.vsplit([1])[0][:, 1:3], [(1, 4)]),
    ("split_pieces_unused", lambda a: a.split(1)[1], [(3, 2)]),
]

REARRANGING = [
    ("flip_one", lambda a: a.flip(0), [(3, 4)]),
    ("flip_two_negative", lambda a: a.flip(-1, -2), [(2, 3, 2)]),
    ("fliplr_flipud", lambda a: a.fliplr().flipud(), [(3, 4)]),
    ("roll_flat", lambda a: a.roll(5), [(3, 4)]),
    ("roll_dims", lambda a: a.roll((1, -5), (0, 1)), [(3, 4)]),
    ("roll_negative_dim", lambda a: a.roll(-1, -1), [(3, 4)]),
    ("repeat", lambda a: a.repeat(2, 3), [(2, 2)]),
    ("repeat_new_dims", lambda a: a.repeat(2, 1, 3), [(2, 2)]),
    ("repeat_zero", lambda a: a.repeat(0, 2), [(2, 2)]),
    ("repeat_0d", lambda a: a.repeat(3, 2), [()]),
    ("repeat_empty_reps", lambda a: a.repeat(()), [()]),
    ("tile", lambda a: a.tile(2), [(2, 3)]),
    ("tril", lambda a: a.tril(), [(3, 4)]),
    ("tril_offsets_batched", lambda a: a.tril(-1) + a.tril(2), [(2, 3, 3)]),
    ("triu", lambda a: a.triu(1), [(3, 4)]),
    ("triu_negative", lambda a: a.triu(-2), [(2, 4, 3)]),
    ("diagonal", lambda a: a.diagonal(), [(3, 4)]),
    ("diagonal_offsets", lambda a: tl.cat([a.diagonal(1), a.diagonal(-1), a.diagonal(5)]), [(3, 4)]),
    ("diagonal_dims", lambda a: a.diagonal(1, 2, 0), [(3, 2, 4)]),
    ("diagonal_neg_dims", lambda a: a.diagonal(-1, -1, -2), [(3, 2, 4)]),
    ("diagonal_scatter", lambda a, s: tl.diagonal_scatter(a, s, 1), [(3, 4), (3,)]),
    ("diagonal_scatter_dims", lambda a, s: tl.diagonal_scatter(a, s, -1, 0, 2), [(3, 2, 4), (2, 2)]),
    ("diag_1d", lambda a: tl.diag(a), [(3,)]),
    ("diag_1d_offsets", lambda a: tl.diag(a, 2) + tl.diag(a, 2).t(), [(2,)]),
    ("diag_2d", lambda a: tl.diag(a, -1), [(3, 4)]),
    ("sort_values", lambda a: a.sort(1).values, [(3, 4)]),
    ("sort_descending_dim0", lambda a: a.sort(0, descending=True).values, [(3, 4)]),
    ("msort", lambda a: a.msort(), [(3, 4)]),
    ("topk_values", lambda a: a.topk(2).values, [(3, 4)]),
    ("topk_smallest_dim0", lambda a: a.topk(2, 0, largest=False).values, [(3, 4)]),
]


def _pad(p, mode, value=None):
    return lambda a: tl.nn.functional.pad(a, p, mode=mode, value=value) if mode == "constant" else \
        tl.nn.functional.pad(a, p, mode=mode)


PADS = [
    ("pad_constant", _pad((1, 2), "constant", 3.0), [(2, 3)]),
    ("pad_constant_two_dims", _pad((0, 1, 2, 1), "constant"), [(2, 3)]),
    ("pad_constant_crop", _pad((-1, 2, 1, -1), "constant"), [(2, 3)]),
    ("pad_constant_all_dims", _pad((1, 0, 0, 1, 1, 1), "constant"), [(2, 2, 2)]),
] + [
    (f"pad_{mode}_{k}", _pad(p, mode), [shape])
    for mode in ("reflect", "replicate", "circular")
    for k, (p, shape) in enumerate([((1, 2), (2, 4)), ((2, 1, 1, 2), (1, 3, 4)), ((-1, 2), (2, 4)),
                                    ((1, 1, 0, 1, 2, 0), (1, 3, 3, 3))])
]

ALL = VIEWS + BASIC_INDEX + ADVANCED_INDEX + PUTS + GATHER_SCATTER + JOINING + REARRANGING + PADS


@pytest.mark.parametrize("name,fn,shapes", ALL, ids=[c[0] for c in ALL])
def test_gradcheck(name, fn, shapes):
    xs = [_x(*s, seed=k) for k, s in enumerate(shapes)]
    assert gradcheck(fn, xs)


def test_gradcheck_can_fail_on_a_wrong_rule():
    """The harness is honest: a deliberately wrong flip rule is caught."""
    op = tl.ops.flip
    saved = op.vjp
    op.vjp = lambda g, out, x, dims: (g,)
    try:
        with pytest.raises(RuntimeError, match="Jacobian mismatch"):
            gradcheck(lambda a: a.flip(0), [_x(3, 2)])
    finally:
        op.vjp = saved


# --- exact values: duplicates accumulate, masks and writes route gradients --------------------------------

def test_duplicate_indices_accumulate():
    x = _x(4)
    x[_ix(1, 1, 3, 1, -1)].backward(tl.tensor([1.0, 10.0, 100.0, 1000.0, 10000.0], dtype=tl.float64))
    assert x.grad.tolist() == [0.0, 1011.0, 0.0, 10100.0]


def test_gather_and_index_select_duplicates_accumulate():
    x = _x(2, 3)
    x.gather(1, _ix([[2, 2, 2, 0], [1, 1, 0, 0]])).backward(tl.ones(2, 4, dtype=tl.float64))
    assert x.grad.tolist() == [[1.0, 0.0, 3.0], [2.0, 2.0, 0.0]]
    y = _x(3)
    y.index_select(0, _ix(0, 0, 2)).backward(tl.tensor([1.0, 2.0, 4.0], dtype=tl.float64))
    assert y.grad.tolist() == [3.0, 0.0, 4.0]


def test_mask_index_routes_gradient():
    x = _x(2, 3)
    m = tl.tensor([[True, False, True], [False, False, True]])
    x[m].backward(tl.tensor([1.0, 2.0, 3.0], dtype=tl.float64))
    assert x.grad.tolist() == [[1.0, 0.0, 2.0], [0.0, 0.0, 3.0]]


def test_index_put_value_gets_gradient_of_every_duplicate_slot():
    """Non-accumulating put with duplicates: as torch, each value gets g at its target; base slots get 0."""
    x, v = _x(3), _x(2)
    x.index_put((_ix(1, 1),), v).backward(tl.tensor([1.0, 2.0, 3.0], dtype=tl.float64))
    assert x.grad.tolist() == [1.0, 0.0, 3.0]
    assert v.grad.tolist() == [2.0, 2.0]


def test_scatter_src_larger_than_index_gets_zero_padded_gradient():
    x, s = _x(3, 3), _x(2, 3)
    x.scatter(0, _ix([[2, 0]]), s).backward(tl.ones(3, 3, dtype=tl.float64) * 5)
    assert s.grad.tolist() == [[5.0, 5.0, 0.0], [0.0, 0.0, 0.0]]
    assert x.grad.tolist() == [[5.0, 0.0, 5.0], [5.0, 5.0, 5.0], [0.0, 5.0, 5.0]]


def test_scatter_amax_without_self_gives_src_its_full_gradient():
    """torch 2.13 still counts self's tie when include_self=False (out[1, 1] = src only, yet torch gives src
    half of g); torchlite gives the true derivative (gradcheck agrees)."""
    x = tl.tensor([[1.0, 5.0, 3.0], [2.0, 2.0, 7.0]], dtype=tl.float64, requires_grad=True)
    s = tl.tensor([[5.0, 1.0, 3.0], [4.0, 2.0, 9.0]], dtype=tl.float64, requires_grad=True)
    out = x.scatter_reduce(0, _ix([[0, 0, 0], [0, 1, 0]]), s, "amax", include_self=False)
    out.backward(tl.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], dtype=tl.float64))
    assert s.grad.tolist() == [[1.0, 2.0, 0.0], [0.0, 5.0, 3.0]]
    assert x.grad.tolist() == [[0.0, 0.0, 0.0], [4.0, 0.0, 6.0]]


def test_scatter_amax_splits_ties_evenly():
    x = tl.tensor([[3.0, 1.0]], dtype=tl.float64, requires_grad=True)
    s = tl.tensor([[3.0, 3.0]], dtype=tl.float64, requires_grad=True)
    x.scatter_reduce(1, _ix([[0, 0]]), s, "amax").backward(tl.tensor([[6.0, 1.0]], dtype=tl.float64))
    assert x.grad.tolist() == [[2.0, 1.0]]
    assert s.grad.tolist() == [[2.0, 2.0]]


def test_scatter_prod_with_zero_factors_matches_torch():
    torch = pytest.importorskip("torch")
    xs = np.array([[0.0, 5.0, 3.0], [2.0, 0.0, 7.0]])
    ss = np.array([[0.0, 1.0, 3.0], [4.0, 0.0, 0.0]])
    idx = [[0, 0, 0], [0, 1, 0]]
    w = np.arange(1.0, 7.0).reshape(2, 3)
    for inc in (True, False):
        got, want = [], []
        for lib, res in ((tl, got), (torch, want)):
            x = lib.tensor(xs, dtype=lib.float64, requires_grad=True)
            s = lib.tensor(ss, dtype=lib.float64, requires_grad=True)
            x.scatter_reduce(0, lib.tensor(idx), s, "prod", include_self=inc).backward(lib.tensor(w))
            res += [np.asarray(x.grad.tolist()), np.asarray(s.grad.tolist())]
        for a, b in zip(got, want):
            np.testing.assert_allclose(a, b, **TOL["float64"])


def test_scatter_rule_names_an_unknown_reduce():
    g = tl.ones(2, dtype=tl.float64)
    with pytest.raises(NotImplementedError, match="reduce='xor'"):
        dim_indexing.SCATTER.vjp(g, g, g, _ix(0, 1), g, 0, "xor", True)


def test_cat_skipped_legacy_empty_input_gets_empty_gradient():
    a, e = _x(2, 2), _x(0)
    tl.cat([a, e], 1).backward(tl.ones(2, 2, dtype=tl.float64))
    assert tuple(e.grad.shape) == (0,)
    assert a.grad.tolist() == [[1.0, 1.0], [1.0, 1.0]]


def test_cat_mixed_dtypes_gradients_keep_each_input_dtype():
    a = tl.ones(2, dtype=tl.float32, requires_grad=True)
    b = tl.ones(1, dtype=tl.float64, requires_grad=True)
    tl.cat([a, b]).backward(tl.tensor([1.5, 2.5, 3.5], dtype=tl.float64))
    assert a.grad.dtype is tl.float32 and b.grad.dtype is tl.float64
    assert a.grad.tolist() == [1.5, 2.5] and b.grad.tolist() == [3.5]


def test_integer_outputs_are_not_differentiable():
    x = _x(3, 4)
    assert not x.argsort().requires_grad
    assert not x.topk(2).indices.requires_grad
    assert x.topk(2).values.requires_grad
    assert not tl.nn.functional.one_hot(_ix(0, 2), 3).requires_grad


def test_index_tensor_gets_no_gradient_slot():
    x = _x(3)
    out = x[_ix(2, 0)]
    assert out.grad_fn.next[1] is None


# --- .grad against torch autograd -------------------------------------------------------------------------

def _grads(lib, prog, arrays, dtype, w_seed=1):
    ins = [lib.tensor(a, dtype=getattr(lib, dtype), requires_grad=True) for a in arrays]
    out = prog(lib, *ins)
    w = np.random.default_rng(w_seed).standard_normal(tuple(out.shape))
    out.backward(lib.tensor(w, dtype=out.dtype))
    return [None if t.grad is None else np.asarray(t.grad.tolist(), dtype=np.float64) for t in ins]


def _vs_torch(prog, shapes, dtype):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    arrays = [rng.standard_normal(s) for s in shapes]
    got, want = _grads(tl, prog, arrays, dtype), _grads(torch, prog, arrays, dtype)
    for k, (a, b) in enumerate(zip(got, want)):
        assert (a is None) == (b is None), f"input {k}: grad presence differs"
        if a is not None:
            np.testing.assert_allclose(a, b, err_msg=f"input {k}", **TOL[dtype])


def _F(m):
    return m.nn.functional


TORCH_PROGRAMS = [
    ("views_chain", lambda m, a: a.t().reshape(2, 6).permute(1, 0).unsqueeze(0).expand(3, 6, 2), [(3, 4)]),
    ("basic_index_mix", lambda m, a: m.cat([a[None, -1, 1::2, ...].flatten(), a[..., 0:2, None][0, ::2].flatten()]), [(2, 3, 4)]),
    ("noncontiguous_getitem", lambda m, a: a.t()[1:, ::2].flip(0), [(3, 4)]),
    ("advanced_dups", lambda m, a: a[m.tensor([[0, 0], [2, -1]]), 1:] * a[:, m.tensor([3, 3, 3])].sum(), [(3, 4)]),
    ("mask", lambda m, a: a[a > 0] * 2, [(3, 4)]),
    ("separated_adv", lambda m, a: a[[0, 1, 1], :, [1, 0, 1]], [(2, 3, 2)]),
    ("take_masked_select", lambda m, a: m.cat([a.take(m.tensor([0, 0, 11])), a.t().masked_select(a.t() < 0)]),
     [(3, 4)]),
    ("index_put_accumulate", lambda m, a, v: a.t().index_put((m.tensor([1, 1, 0]),), v, accumulate=True),
     [(3, 4), (3, 3)]),
    ("index_add_copy", lambda m, a, s: a.index_add(1, m.tensor([0, 0]), s).index_copy(1, m.tensor([3]), s[:, :1]),
     [(3, 4), (3, 2)]),
    ("gather_scatter_add", lambda m, a, s: a.scatter_add(0, m.tensor([[2, 2], [0, 2]]), s).gather(1, m.tensor(
        [[0, 0, 1], [1, 1, 1], [0, 1, 0]])), [(3, 2), (2, 2)]),
    ("scatter_src", lambda m, a, s: a.scatter(1, m.tensor([[1], [0], [1]]), s), [(3, 2), (3, 1)]),
    ("scatter_reduce_mean", lambda m, a, s: a.scatter_reduce(1, m.tensor([[0, 0, 1]]), s, "mean"), [(2, 2), (1, 3)]),
    ("scatter_reduce_amin", lambda m, a, s: a.scatter_reduce(0, m.tensor([[0, 1], [0, 1]]), s, "amin"),
     [(2, 2), (2, 2)]),
    ("sort_topk", lambda m, a: m.cat([a.sort(0, descending=True).values.flatten(), a.topk(3, 1).values.flatten()]),
     [(3, 4)]),
    ("cat_stack", lambda m, a, b, c: m.stack([m.cat([a, b, c], 1), m.cat([c, b, a], 1)], 1),
     [(2, 1), (2, 3), (2, 2)]),
    ("split_chunk_unbind", lambda m, a: m.cat([a.split([1, 2])[1].flatten(), a.chunk(2, 1)[1].flatten(),
                                                a.unbind(1)[3] * 3]), [(3, 4)]),
    ("flip_roll_repeat", lambda m, a: a.flip(1).roll((2, -1), (0, 1)).repeat(2, 1, 3), [(3, 2)]),
    ("tril_triu_diag", lambda m, a: a.tril(-1) + a.triu(1) * 3 + m.diag(a.diagonal(1)).sum(), [(3, 3)]),
    ("diagonal_scatter", lambda m, a, s: m.diagonal_scatter(a, s, -1, 0, 2), [(3, 2, 4), (2, 2)]),
    ("pad_constant", lambda m, a: _F(m).pad(a, (1, -1, 2, 0), value=1.5), [(2, 3)]),
    ("pad_reflect", lambda m, a: _F(m).pad(a, (2, 1, 1, 2), mode="reflect"), [(1, 3, 4)]),
    ("pad_replicate", lambda m, a: _F(m).pad(a, (2, 3), mode="replicate"), [(2, 3)]),
    ("pad_circular", lambda m, a: _F(m).pad(a, (1, 1, 0, 2, 2, 0), mode="circular"), [(1, 2, 3, 3)]),
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name,prog,shapes", TORCH_PROGRAMS, ids=[c[0] for c in TORCH_PROGRAMS])
def test_grad_matches_torch(name, prog, shapes, dtype):
    _vs_torch(prog, shapes, dtype)


def test_second_order_through_linear_rules_matches_torch():
    """create_graph=True: the VJP of these rules is itself differentiable (w.r.t. the incoming gradient)."""
    torch = pytest.importorskip("torch")
    res = []
    for m in (tl, torch):
        x = m.tensor(np.arange(12.0).reshape(3, 4), dtype=m.float64, requires_grad=True)
        w = m.tensor(np.linspace(-1, 1, 10).reshape(2, 5), dtype=m.float64, requires_grad=True)
        y = m.cat([x[[0, 2, 2], 1:].t(), _F(m).pad(x.t()[:2], (1, 0), mode="replicate").gather(
            1, m.tensor([[0, 0, 1], [2, 3, 3]])).t()], 1)[:2].flip(0).roll(1, 1)
        (g,) = m.autograd.grad(y, x, w * 1, create_graph=True)
        g.backward(m.tensor(np.arange(12.0).reshape(3, 4) ** 2, dtype=m.float64))
        res.append(np.asarray(w.grad.tolist()))
    np.testing.assert_allclose(res[0], res[1], **TOL["float64"])


# --- autograd through in-place writes and views (tensor.py), against torch ---------------------------------

def _program_vs_torch(program):
    """Run ``program(lib, x)`` with torchlite and torch on the same leaf; compare x.grad and what it returns
    (extra gradients as lists)."""
    torch = pytest.importorskip("torch")
    out = {}
    for lib in (tl, torch):
        x = lib.tensor(np.arange(1.0, 13.0).reshape(3, 4), dtype=lib.float64, requires_grad=True)
        extra = program(lib, x)
        grad = None if x.grad is None else np.asarray(x.grad.tolist())
        out[lib is tl] = (grad, extra)
    (g_tl, e_tl), (g_t, e_t) = out[True], out[False]
    assert (g_tl is None) == (g_t is None)
    if g_t is not None:
        np.testing.assert_allclose(g_tl, g_t, **TOL["float64"])
    assert e_tl == e_t
    return g_tl


def _grad_list(t):
    return None if t.grad is None else t.grad.tolist()


def test_inplace_on_non_leaf():
    def program(lib, x):
        y = x * 2
        y.add_(1)
        y.sum().backward()
    assert _program_vs_torch(program).tolist() == [[2.0] * 4] * 3


def test_inplace_chain_on_non_leaf_uses_each_value():
    def program(lib, x):
        y = x * 1
        y.mul_(x)
        y.mul_(x)
        y.sum().backward()
    np.testing.assert_allclose(_program_vs_torch(program), 3 * np.arange(1.0, 13.0).reshape(3, 4) ** 2)


def test_inplace_under_no_grad_keeps_graph():
    def program(lib, x):
        y = x * 2
        with lib.no_grad():
            y.add_(1)
        (y * y).sum().backward()
        return y.tolist()
    _program_vs_torch(program)


def test_write_through_view_mul():
    def program(lib, x):
        y = x * 1
        y[0].mul_(3)
        y.sum().backward()
    assert _program_vs_torch(program).tolist() == [[3.0] * 4, [1.0] * 4, [1.0] * 4]


def test_setitem_constant_kills_gradient():
    def program(lib, x):
        y = x * x
        y[1:3] = 0
        y.sum().backward()
    assert _program_vs_torch(program).tolist() == [[2.0, 4.0, 6.0, 8.0], [0.0] * 4, [0.0] * 4]


@pytest.mark.parametrize("write", [
    lambda lib, x, y: y.t()[1::2, ::2].mul_(x[:2, :2].t() * 1),
    lambda lib, x, y: y.diagonal(1).add_(x[0, :3]),
    lambda lib, x, y: y.reshape(1, 3, 4).squeeze(0)[-1].mul_(2),
    lambda lib, x, y: y.t()[1].__getitem__(slice(None, None, 2)).mul_(x[0, :2]),
    lambda lib, x, y: y[:, 1].fill_(2.0),
    lambda lib, x, y: y.masked_fill_(x > 4, 0.0),
    lambda lib, x, y: y.index_put_((lib.tensor([0, 0]),), x[1] * 1, accumulate=True),
    lambda lib, x, y: y.scatter_(1, lib.tensor([[0], [1], [2]]), x[:, :1] * 4),
    lambda lib, x, y: y.scatter_add_(1, lib.tensor([[0, 0], [1, 1], [2, 3]]), x[:, :2] * 4),
    lambda lib, x, y: y.index_add_(0, lib.tensor([0, 0]), x[:2] * 4),
    lambda lib, x, y: y.tril_(),
    lambda lib, x, y: y[1:].t().__getitem__(0).__iadd__(x[0, :2]),
    lambda lib, x, y: [y.zero_(), y.add_(x * x)],
], ids=["strided_view_mul", "diagonal_add", "squeeze_select_mul", "view_of_view", "fill", "masked_fill_",
        "index_put_", "scatter_", "scatter_add_", "index_add_", "tril_", "iadd_view", "zero_then_add"])
def test_inplace_writes_match_torch(write):
    def program(lib, x):
        y = x * 1
        write(lib, x, y)
        (y * y).sum().backward()
    _program_vs_torch(program)


def test_write_into_constant_base_makes_it_differentiable():
    def program(lib, x):
        b = lib.zeros(3, 4, dtype=lib.float64)
        b[1:, ::2].add_(x[1:, ::2] * x[1:, ::2])
        v = b[0]
        b.add_(x)
        (b.sum() + (v * 2).sum()).backward()
    _program_vs_torch(program)


def test_view_replays_after_inplace_on_base():
    def program(lib, x):
        y = x * 1
        v = y[0]
        y.mul_(2)
        v.sum().backward()
    assert _program_vs_torch(program).tolist() == [[2.0] * 4, [0.0] * 4, [0.0] * 4]


def test_strided_view_replays_after_inplace_on_base():
    def program(lib, x):
        y = x * 1
        v = y.t()[1:, ::2]
        y.mul_(3)
        (v * v).sum().backward()
    _program_vs_torch(program)


def test_view_replay_when_backward_is_called_on_the_view_itself():
    def program(lib, x):
        y = x * 1
        v = y[0]
        y.mul_(2)
        v.backward(lib.ones(4, dtype=lib.float64))
    _program_vs_torch(program)


def test_leaf_inplace_raises():
    x = _x(3, 4)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place "
                                           "operation") as e:
        x.add_(1)
    assert e.match(FILE)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad is being used in an in-place") as e:
        x[0].mul_(2)
    assert e.match(FILE)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad is being used in an in-place") as e:
        x[1:] = 0.0
    assert e.match(FILE)


def test_leaf_inplace_allowed_under_no_grad():
    def program(lib, x):
        with lib.no_grad():
            x.mul_(2)
            x[0] = 5.0
            x[1].add_(1)
        (x * x).sum().backward()
        return x.tolist()
    _program_vs_torch(program)


def test_detach_stops_gradients():
    def program(lib, x):
        y = x * x
        d = y.detach()
        (d * x + y.detach()[0].sum()).sum().backward()
        return d.requires_grad
    np.testing.assert_allclose(_program_vs_torch(program), np.arange(1.0, 13.0).reshape(3, 4) ** 2)


def test_nondifferentiable_leaf_write_through_view_keeps_gradients():
    def program(lib, x):
        y = x * 1
        y[0, 0] = 7.0
        y[:, 3].mul_(0.0)
        (y * x).sum().backward()
    _program_vs_torch(program)


# known problems in the lead's paths (each with its expected torch behaviour as the oracle)



def test_setitem_tensor_value_through_transposed_view_gets_gradient():
    def program(lib, x):
        v = lib.tensor([10.0, 20.0, 30.0], dtype=lib.float64, requires_grad=True)
        y = x * 1
        y.t()[0] = v
        (y * y).sum().backward()
        return _grad_list(v)
    _program_vs_torch(program)


def test_setitem_basic_with_value_from_x():
    def program(lib, x):
        y = x * 1
        y[0] = (x[1] * 2).float()
        y.sum().backward()
    _program_vs_torch(program)


def test_setitem_advanced_index():
    def program(lib, x):
        y = x * 1
        y[[0, 2], 1:] = x[0, :3] * 7
        y.sum().backward()
    _program_vs_torch(program)


def test_setitem_advanced_iadd():
    def program(lib, x):
        y = x * 1
        y[:, [0, 0]] += 1
        y.sum().backward()
    _program_vs_torch(program)


def test_setitem_mask():
    def program(lib, x):
        y = x * 1
        y[x > 5] = 0.0
        y.sum().backward()
    _program_vs_torch(program)


def test_copy_into_view():
    def program(lib, x):
        y = x * 1
        y[0].copy_(x[1] * 3)
        y.sum().backward()
    _program_vs_torch(program)


def test_inplace_on_detached_leaf_is_allowed():
    def program(lib, x):
        x.detach().add_(1)
        (x * x).sum().backward()
        return x.tolist()
    _program_vs_torch(program)


def test_detached_view_stays_detached_after_base_inplace():
    def program(lib, x):
        y = x * 2
        d = y.detach()
        y.mul_(x)
        (d * x).sum().backward()
        return d.requires_grad
    _program_vs_torch(program)


def test_second_order_through_saved_inputs():
    def program(lib, x):
        y = (x * x)[[0, 2, 2], 1:]
        (g,) = lib.autograd.grad(y.sum(), x, create_graph=True)
        (g * x).sum().backward()
    _program_vs_torch(program)
