"""Contracts shared by every op of the indexing family (torchlite.ops.indexing, dim_indexing, joining,
rearranging, diagonals, sorting): each op builds a lazy node (nothing realized), and bad inputs raise the
exception torch raises, with its message, at the user's line (here: this file's).
"""
from __future__ import annotations

import numpy as np
import pytest

import torchlite as tl
from torchlite.ops.rearranging import one_hot as tl_one_hot, pad as tl_pad
from _indexing_helpers import raises_naming

HERE = r"test_indexing_family\.py:\d+"
raises = raises_naming(HERE)


# --- laziness --------------------------------------------------------------------------------------------

def test_ops_build_lazy_nodes_until_realized():
    x = tl.arange(12.0).reshape(3, 4) * 1.0
    built = [x[[0, 2]], tl.cat([x, x]), tl.stack([x, x]), x.flip(0), x.roll(1), x.repeat(2, 1), x.tril(),
             x.sort().values, x.topk(2).indices, tl_pad(x, (1, 1)), x.gather(1, tl.tensor([[0], [1], [2]])),
             x.scatter(1, tl.tensor([[0], [1], [2]]), 0.0), x.masked_fill(x > 3, 0.0), x.diagonal()]
    assert all(t.is_lazy for t in built)
    names = {t._node.op.name for t in built}
    assert {"index", "cat", "stack", "flip", "roll", "repeat", "tril", "gather", "topk_indices", "pad", "scatter",
            "where"} <= names
    assert [t.shape for t in built][:3] == [(2, 4), (6, 4), (2, 3, 4)]


# --- bad inputs ------------------------------------------------------------------------------------------

X = tl.arange(24.0).reshape(2, 3, 4)
M = tl.arange(12.0).reshape(3, 4)
LONG = tl.tensor([[0, 1]])

BAD = [
    (lambda: X[2], IndexError, "index 2 is out of bounds for dimension 0 with size 2"),
    (lambda: X[:, [5]], IndexError, "index 5 is out of bounds for dimension 0 with size 3"),
    (lambda: X[[0], :, [-5]], IndexError, "index -5 is out of bounds for dimension 1 with size 4"),
    (lambda: X[tl.tensor([[0, 1]]), tl.tensor([0, 3])], IndexError, "index 3 is out of bounds for dimension 1 with size 3"),
    (lambda: X[0, 0, 0, 0], IndexError, "too many indices for tensor of dimension 3"),
    (lambda: X[[0, 1], [0, 1, 2]], IndexError, "shape mismatch: indexing tensors could not be broadcast together with shapes [2], [3]"),
    (lambda: X[tl.tensor([1.0])], IndexError, "tensors used as indices must be long, int, byte or bool tensors"),
    (lambda: X[tl.tensor([1], dtype=tl.int16)], IndexError, "tensors used as indices must be long, int, byte or bool"),
    (lambda: X[1.5], IndexError, "only integers, slices (`:`), ellipsis (`...`), None and long or byte Variables are valid indices (got float)"),
    (lambda: X[np.bool_(True)], IndexError, "valid indices (got numpy.bool"),
    (lambda: X[tl.tensor([True, False, True])], IndexError, "The shape of the mask [3] at index 0 does not match the shape of the indexed tensor [2, 3, 4] at index 0"),
    (lambda: X[:, tl.ones(3, 5, dtype=tl.bool)], IndexError, "The shape of the mask [3, 5] at index 1 does not match the shape of the indexed tensor [2, 3, 4] at index 2"),
    (lambda: X[..., ...], IndexError, "an index can only have a single ellipsis"),
    (lambda: X[::-1], ValueError, "step must be greater than zero"),
    (lambda: X.__setitem__([3], 1.0), IndexError, "index 3 is out of bounds for dimension 0 with size 2"),
    (lambda: X.__setitem__(tl.ones(3, dtype=tl.bool), 1.0), IndexError, "The shape of the mask [3] at index 0"),
    (lambda: X.__setitem__((0, [0, 1]), tl.ones(3, 4)), RuntimeError, "shape mismatch: value tensor of shape [3, 4] cannot be broadcast to indexing result of shape [2, 4]"),
    (lambda: X.__setitem__(0, "a"), TypeError, "can't assign a str to a torchlite.FloatTensor"),
    (lambda: M.index_put((tl.tensor([0]),), tl.ones(4, dtype=tl.float64)), RuntimeError, "Index put requires the source and destination dtypes match, got Float for the destination and Double for the source."),
    (lambda: M.index_put((tl.tensor([0]),), 1.0), TypeError, "argument 'values' (position 2) must be Tensor, not float"),
    (lambda: M.index_put((tl.tensor([0]),), tl.ones(3)), RuntimeError, "value tensor of shape [3] cannot be broadcast to indexing result of shape [1, 4]"),
    (lambda: M.index_put((None, tl.tensor([0])), tl.ones(3)), TypeError, "expected Tensor as element 0 in argument 0, but got NoneType"),
    (lambda: M.index_put((tl.tensor([4]),), tl.ones(4)), IndexError, "index 4 is out of bounds for dimension 0 with size 3"),
    (lambda: M.gather(0, tl.tensor([[0, 3]])), RuntimeError, "index 3 is out of bounds for dimension 0 with size 3"),
    (lambda: M.gather(0, tl.tensor([[0, -1]])), RuntimeError, "index -1 is out of bounds for dimension 0 with size 3"),
    (lambda: M.gather(1, tl.tensor([[0, 1]], dtype=tl.int32)), RuntimeError, "gather(): Expected dtype int64 for index"),
    (lambda: M.gather(1, tl.tensor([0, 1])), RuntimeError, "Index tensor must have the same number of dimensions as input tensor"),
    (lambda: M.gather(1, tl.tensor([[0], [1], [1], [1]])), RuntimeError, "Size does not match at dimension 0 expected index [4, 1] to be no larger than self [3, 4] apart from dimension 1"),
    (lambda: M.gather(2, tl.tensor([[0]])), IndexError, "Dimension out of range (expected to be in range of [-2, 1], but got 2)"),
    (lambda: M.scatter(0, LONG, tl.ones(1, 2, dtype=tl.float64)), RuntimeError, "scatter(): Expected self.dtype to be equal to src.dtype"),
    (lambda: M.scatter(0, tl.tensor([[0, 5]]), 7.0), RuntimeError, "index 5 is out of bounds for dimension 0 with size 3"),
    (lambda: M.scatter(0, tl.tensor([[0, 1]], dtype=tl.int32), 7.0), RuntimeError, "scatter(): Expected dtype int64 for index"),
    (lambda: M.scatter(0, LONG, tl.ones(1, 1)), RuntimeError, "Expected index [1, 2] to be no larger than self [3, 4] apart from dimension 0 and to be no larger size than src [1, 1]"),
    (lambda: M.scatter(0, tl.tensor([[0, 1, 2, 0, 0]]), 7.0), RuntimeError, "Expected index [1, 5] to be no larger than self [3, 4] apart from dimension 0"),
    (lambda: M.scatter(1, tl.tensor([0]), 7.0), RuntimeError, "Index tensor must have the same number of dimensions as self tensor"),
    (lambda: M.scatter(0, LONG, 2.0, reduce="foo"), RuntimeError, "reduce argument must be either add or multiply."),
    (lambda: M.scatter_add(0, LONG, 1.0), TypeError, "scatter_add(): argument 'src' must be Tensor, not float"),
    (lambda: M.scatter_reduce(0, LONG, tl.ones(1, 2), "foo"), RuntimeError, "reduce argument must be either sum, prod, mean, amax or amin, got foo"),
    (lambda: M.index_select(1, tl.tensor([7])), RuntimeError, "INDICES element is out of DATA bounds, id=7 axis_dim=4"),
    (lambda: M.index_select(1, tl.tensor([-1])), RuntimeError, "INDICES element is out of DATA bounds, id=-1 axis_dim=4"),
    (lambda: M.index_select(0, tl.tensor([3])), IndexError, "index out of range in self"),
    (lambda: X.index_select(2, tl.tensor([-1])), IndexError, "index out of range in self"),
    (lambda: M.index_select(1, tl.tensor([1.0])), RuntimeError, "index_select(): Expected dtype int32 or int64 for index"),
    (lambda: M.index_select(1, tl.tensor([[2]])), IndexError, "index_select(): Index is supposed to be a vector"),
    (lambda: M.index_add(0, tl.tensor([0, 0]), tl.ones(3, 4)), RuntimeError, "index_add_(): Number of indices (2) should be equal to source.size(dim): (3), for dim: 0"),
    (lambda: M.index_add(0, tl.tensor([0, 0]), tl.ones(2, 3)), RuntimeError, "source tensor shape must match self tensor shape, excluding the specified dimension. Got self.shape = [3, 4] source.shape = [2, 3]"),
    (lambda: M.index_add(0, tl.tensor([0, 0]), tl.ones(2, 4, dtype=tl.float64)), RuntimeError, "index_add_(): self (Float) and source (Double) must have the same scalar type"),
    (lambda: M.index_add(0, tl.tensor([0, 5]), tl.ones(2, 4)), RuntimeError, "index 5 is out of bounds for dimension 0 with size 3"),
    (lambda: M.index_add(0, tl.tensor([0, -1]), tl.ones(2, 4)), RuntimeError, "index -1 is out of bounds for dimension 0 with size 3"),
    (lambda: M.index_add(0, tl.tensor([0, 1.0]), tl.ones(2, 4)), RuntimeError, "index_add_(): Expected dtype int32/int64 for index but got: Float"),
    (lambda: M.index_add(0, tl.tensor([[0, 1]]), tl.ones(2, 4)), IndexError, "index_add_(): Index is supposed to be a vector, but got dim: 2 with type: Long and size: [1, 2]"),
    (lambda: M.index_copy(0, tl.tensor([0, 5]), tl.ones(2, 4)), IndexError, "index_copy_(): index 5 is out of bounds for dimension 0 with size 3"),
    (lambda: M.index_copy(0, tl.tensor([0, 1], dtype=tl.int32), tl.ones(2, 4)), RuntimeError, "index_copy_(): Expected a long tensor for index, but got Int"),
    (lambda: M.index_copy(0, tl.tensor([[0, 1]]), tl.ones(2, 4)), IndexError, "index_copy_(): Index should have dimension 1 or 0 (got 2)"),
    (lambda: M.index_copy(0, tl.tensor([0, 1]), tl.ones(2, 4, dtype=tl.float64)), RuntimeError, "index_copy_(): self and source expected to have the same dtype, but got (self) Float and (source) Double"),
    (lambda: M.index_copy(0, tl.tensor([0, 1]), tl.ones(3, 4)), IndexError, "index_copy_(): Number of indices (2) should be equal to source.size(dim) (3)"),
    (lambda: M.index_copy(0, tl.tensor([0, 1]), tl.ones(2, 3)), RuntimeError, "index_copy_(): Source/destination tensor must have same slice shapes. Destination slice shape: 4 at dimension"),
    (lambda: M.index_fill(0, tl.tensor([0, 1], dtype=tl.int32), 1.0), IndexError, "index_fill_(): Expected dtype int64 for index."),
    (lambda: M.index_fill(0, tl.tensor([[0]]), 1.0), RuntimeError, "Index has to be a vector/scalar"),
    (lambda: M.index_fill(0, tl.tensor(0), tl.tensor([1.0])), RuntimeError, "index_fill_ only supports a 0-dimensional value tensor, but got tensor with 1 dimension(s)."),
    (lambda: M.index_put((tl.tensor(1, dtype=tl.int16),), tl.ones(4)), IndexError, "tensors used as indices must be long, int, byte or bool tensors"),
    (lambda: tl.take_along_dim(M, tl.tensor([-1])), RuntimeError, "index -1 is out of bounds for dimension 0 with size 12"),
    (lambda: M.index_fill(1, tl.tensor([0, 5]), -1.0), IndexError, "index 5 is out of bounds for dimension 1 with size 4"),
    (lambda: M.take(tl.tensor([12])), IndexError, "out of range: tried to access index 12 on a tensor of 12 elements."),
    (lambda: tl.take_along_dim(M, tl.tensor([[0, 1]]), 0), RuntimeError, "The size of tensor a (4) must match the size of tensor b (2) at non-singleton dimension 1"),
    (lambda: M.masked_fill(tl.ones(4, dtype=tl.int64), 2.0), RuntimeError, "masked_fill_ only supports boolean masks, but got mask with dtype long int"),
    (lambda: M.masked_fill(tl.ones(4, dtype=tl.bool), tl.tensor([2.0])), RuntimeError, "masked_fill_ only supports a 0-dimensional value tensor, but got tensor with 1 dimension(s)."),
    (lambda: M.masked_fill(tl.ones(3, dtype=tl.bool), 2.0), RuntimeError, "The size of tensor a (4) must match the size of tensor b (3) at non-singleton dimension 1"),
    (lambda: tl.zeros(4).masked_fill_(tl.ones(3, 4, dtype=tl.bool), 2.0), RuntimeError, "output with shape [4] doesn't match the broadcast shape [3, 4]"),
    (lambda: M.long().masked_fill(tl.ones(4, dtype=tl.bool), float("inf")), RuntimeError, "value cannot be converted to type int64_t without overflow"),
    (lambda: M.masked_select(tl.ones(4, dtype=tl.int64)), RuntimeError, "masked_select: expected BoolTensor for mask"),
    (lambda: tl.cat([M, tl.ones(3, 5)]), RuntimeError, "Sizes of tensors must match except in dimension 0. Expected size 4 but got size 5 for tensor number 1 in the list."),
    (lambda: tl.cat([M, tl.ones(4)]), RuntimeError, "Tensors must have same number of dimensions: got 2 and 1"),
    (lambda: tl.cat([M, M], 2), IndexError, "Dimension out of range (expected to be in range of [-2, 1], but got 2)"),
    (lambda: tl.cat([]), ValueError, "torch.cat(): expected a non-empty list of Tensors"),
    (lambda: tl.cat([tl.tensor(1.0), tl.tensor(2.0)]), RuntimeError, "zero-dimensional tensor (at position 0) cannot be concatenated"),
    (lambda: tl.cat(M), TypeError, "cat(): argument 'tensors' (position 1) must be tuple of Tensors, not Tensor"),
    (lambda: tl.stack([M, tl.ones(3, 5)]), RuntimeError, "stack expects each tensor to be equal size, but got [3, 4] at entry 0 and [3, 5] at entry 1"),
    (lambda: tl.stack([]), RuntimeError, "stack expects a non-empty TensorList"),
    (lambda: tl.stack([M, M], 3), IndexError, "Dimension out of range (expected to be in range of [-3, 2], but got 3)"),
    (lambda: M.split([1, 1]), RuntimeError, "split_with_sizes expects split_sizes to sum exactly to 3 (input tensor's size at dimension 0), but got split_sizes=[1, 1]"),
    (lambda: M.split(0), RuntimeError, "split_size can only be 0 if dimension size is 0, but got dimension size of 3"),
    (lambda: M.split(-1), RuntimeError, "split expects split_size be non-negative, but got split_size=-1"),
    (lambda: tl.tensor(1.0).split(1), RuntimeError, "split expects at least a 1-dimensional tensor"),
    (lambda: M.chunk(0), RuntimeError, "chunk expects `chunks` to be greater than 0, got: 0"),
    (lambda: tl.tensor(1.0).unbind(), IndexError, "Dimension specified as 0 but tensor has no dimensions"),
    (lambda: M.unbind(2), IndexError, "Dimension out of range"),
    (lambda: M.tensor_split(0), RuntimeError, "number of sections must be larger than 0, got 0"),
    (lambda: M.flip(0, 0), RuntimeError, "dim 0 appears multiple times in the list of dims"),
    (lambda: M.flip(2), IndexError, "Dimension out of range (expected to be in range of [-2, 1], but got 2)"),
    (lambda: M.flip(), TypeError, "missing 1 required positional arguments"),
    (lambda: M.roll((1, 2), (0,)), RuntimeError, "shifts and dimensions must align. shifts: 2, dims:1"),
    (lambda: M.roll((1, 2)), RuntimeError, "shifts and dimensions must align. shifts: 2, dims:0"),
    (lambda: M.repeat(2), RuntimeError, "Number of dimensions of repeat dims can not be smaller than number of dimensions of tensor"),
    (lambda: M.repeat(-1, 1), RuntimeError, "Trying to create tensor with negative dimension -1: [-3, 4]"),
    (lambda: tl.ones(3).tril(), RuntimeError, "tril: input tensor must have at least 2 dimensions"),
    (lambda: tl_pad(M, (1, 2, 3)), RuntimeError, "Padding length must be divisible by 2"),
    (lambda: tl_pad(M, (1, 2, 3, 4, 5, 6)), RuntimeError, "Padding length should be less than or equal to two times the input dimension but got padding length 6 and input of dimension 2"),
    (lambda: tl_pad(M[None], (4, 2), mode="reflect"), RuntimeError, "Padding size should be less than the corresponding input dimension, but got: padding (4, 2) at dimension 2 of input [1, 3, 4]"),
    (lambda: tl_pad(M[None], (1, 2, 1, 1, 1, 1), mode="reflect"), NotImplementedError, "Padding size 6 is not supported for 3D input tensor."),
    (lambda: tl_pad(M[None], (5, 6), mode="circular"), RuntimeError, "Padding value causes wrapping around more than once."),
    (lambda: tl_pad(M[None], (1, 2), mode="foo"), NotImplementedError, "Unrecognised padding mode foo"),
    (lambda: tl_pad(M[None], (1, 2), mode="reflect", value=2), RuntimeError, 'Padding mode "reflect" doesn\'t take in value argument'),
    (lambda: tl_pad(tl.zeros(1, 0, 3), (1, 1), mode="replicate"), RuntimeError, "Expected 2D or 3D (batch mode) tensor with possibly 0 batch size and other non-zero dimensions for input, but got: [1, 0, 3]"),
    (lambda: tl_pad(M, (-3, -2)), RuntimeError, "negative output size"),
    (lambda: tl_one_hot(tl.tensor([0, 2, 1]), 2), RuntimeError, "Class values must be smaller than num_classes."),
    (lambda: tl_one_hot(tl.tensor([0, -2, 1]), 4), RuntimeError, "Class values must be non-negative."),
    (lambda: tl_one_hot(tl.tensor([0, 2], dtype=tl.int32)), RuntimeError, "one_hot is only applicable to index tensor of type LongTensor."),
    (lambda: tl_one_hot(tl.tensor([], dtype=tl.int64)), RuntimeError, "Can not infer total number of classes from empty tensor."),
    (lambda: M.topk(5), RuntimeError, "selected index k out of range"),
    (lambda: M.topk(-1), RuntimeError, "selected index k out of range"),
    (lambda: tl.tensor([True, False]).topk(1), RuntimeError, "topk does not support bool dtypes on CPU"),
    (lambda: M.sort(2), IndexError, "Dimension out of range (expected to be in range of [-2, 1], but got 2)"),
    (lambda: tl.tensor(3.0).argsort(dim=1), IndexError, "Dimension out of range (expected to be in range of [-1, 0], but got 1)"),
    (lambda: M.diagonal(0, 1, 1), RuntimeError, "diagonal dimensions cannot be identical 1, 1"),
    (lambda: tl.zeros(2, 2, 2).diag(), RuntimeError, "diag(): Supports 1D or 2D tensors. Got 3D"),
]


@pytest.mark.parametrize("fn,exc,fragment", BAD, ids=[str(i) for i in range(len(BAD))])
def test_bad_inputs_raise_like_torch_at_the_users_line(fn, exc, fragment):
    with raises(exc, fragment):
        fn()


def test_bad_input_messages_match_torch_where_worded_alike():
    """The torchlite message (minus the 'op: ' prefix and '(at file:line)' suffix) contains torch's, for a sample."""
    torch = pytest.importorskip("torch")
    Xt = torch.arange(24.0).reshape(2, 3, 4)
    Mt = torch.arange(12.0).reshape(3, 4)
    pairs = [
        (lambda: X[:, [5]], lambda: Xt[:, [5]]),
        (lambda: X[[0], :, [-5]], lambda: Xt[[0], :, [-5]]),
        (lambda: X[tl.tensor([True, False, True])], lambda: Xt[torch.tensor([True, False, True])]),
        (lambda: M.gather(1, tl.tensor([[0], [1], [1], [1]])), lambda: Mt.gather(1, torch.tensor([[0], [1], [1], [1]]))),
        (lambda: tl.cat([M, tl.ones(3, 5)]), lambda: torch.cat([Mt, torch.ones(3, 5)])),
        (lambda: M.split([1, 1]), lambda: Mt.split([1, 1])),
        (lambda: M.index_select(1, tl.tensor([7])), lambda: Mt.index_select(1, torch.tensor([7]))),
        (lambda: M.index_select(0, tl.tensor([7])), lambda: Mt.index_select(0, torch.tensor([7]))),
        (lambda: X.index_select(1, tl.tensor([-4])), lambda: Xt.index_select(1, torch.tensor([-4]))),
        (lambda: X[tl.tensor([[0, 1]]), tl.tensor([0, 3])], lambda: Xt[torch.tensor([[0, 1]]), torch.tensor([0, 3])]),
        (lambda: M.index_copy(0, tl.tensor([0, 5]), tl.ones(2, 4)), lambda: Mt.index_copy(0, torch.tensor([0, 5]), torch.ones(2, 4))),
        (lambda: M.scatter(0, tl.tensor([[0, 1]]), tl.ones(1, 1)), lambda: Mt.scatter(0, torch.tensor([[0, 1]]), torch.ones(1, 1))),
        (lambda: tl_pad(M[None], (4, 2), mode="reflect"), lambda: torch.nn.functional.pad(Mt[None], (4, 2), mode="reflect")),
        (lambda: tl_one_hot(tl.tensor([0, -2]), 4), lambda: torch.nn.functional.one_hot(torch.tensor([0, -2]), 4)),
    ]
    for ours, theirs in pairs:
        with pytest.raises(Exception) as a:
            ours()
        with pytest.raises(Exception) as b:
            theirs()
        assert type(a.value) is type(b.value)
        assert str(b.value).splitlines()[0] in str(a.value)
