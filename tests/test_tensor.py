"""Tensor semantics: views and in-place writes (functionalization), conversions, host interop."""
from __future__ import annotations

import numpy as np
import pytest

import torchlite as tl


def arange2d(r=3, c=4, dtype=np.float32):
    return tl.tensor(np.arange(r * c, dtype=dtype).reshape(r, c))


def ref2d(r=3, c=4, dtype=np.float32):
    return np.arange(r * c, dtype=dtype).reshape(r, c)


# --- in-place ops and writes through views -------------------------------------------------------------

def test_inplace_rebinds_the_tensor_and_keeps_others():
    x = arange2d()
    y = x                       # the same Python object
    z = x * 1.0                 # a different tensor computed before the write
    x.add_(1.0)
    assert y is x
    np.testing.assert_array_equal(x.numpy(), ref2d() + 1)
    np.testing.assert_array_equal(z.numpy(), ref2d())


def test_write_through_row_view_updates_base():
    x = arange2d()
    x[1].mul_(10.0)
    ref = ref2d()
    ref[1] *= 10
    np.testing.assert_array_equal(x.numpy(), ref)


def test_write_through_view_of_view_and_transpose():
    x = arange2d()
    v = x.t()[1:3]              # view of a view: rows 1..2 of x.T = columns 1..2 of x
    v.fill_(-1.0) if hasattr(v, "fill_") else v.mul_(0.0).sub_(1.0)
    ref = ref2d()
    ref[:, 1:3] = -1
    np.testing.assert_array_equal(x.numpy(), ref)


def test_other_views_of_the_base_see_the_write():
    x = arange2d()
    a = x[0]
    b = x.reshape(12)
    x[0, 1:3] = 100.0
    assert a.tolist() == [0.0, 100.0, 100.0, 3.0]
    assert b.tolist()[:4] == [0.0, 100.0, 100.0, 3.0]
    b.add_(1.0)                 # writing through the reshape view changes x and a
    assert x.tolist()[0] == [1.0, 101.0, 101.0, 4.0]
    assert a.tolist() == [1.0, 101.0, 101.0, 4.0]


def test_augmented_assignment_on_a_view_writes_through():
    x = arange2d()
    row = x[2]
    row += 5.0
    assert x.tolist()[2] == [13.0, 14.0, 15.0, 16.0]
    x[:, 0] *= 0.0 if False else 1.0
    np.testing.assert_array_equal(x.numpy()[:2], ref2d()[:2])


def test_setitem_with_step_slice_and_newaxis():
    x = tl.zeros(4, 6)
    x[1::2, ::3] = tl.tensor([[1.0, 2.0]])
    ref = np.zeros((4, 6), np.float32)
    ref[1::2, ::3] = [[1.0, 2.0]]
    np.testing.assert_array_equal(x.numpy(), ref)
    x[None, 0] = 7.0
    ref[None, 0] = 7.0
    np.testing.assert_array_equal(x.numpy(), ref)
    x[..., -1] = -2.0
    ref[..., -1] = -2.0
    np.testing.assert_array_equal(x.numpy(), ref)


def test_setitem_casts_the_value_to_the_tensor_dtype():
    x = tl.zeros(3, dtype=tl.int64)
    x[1] = 2.7
    assert x.tolist() == [0, 2, 0] and x.dtype is tl.int64


def test_write_to_an_expanded_view_raises():
    x = tl.ones(1, 3)
    e = x.expand(4, 3)
    with pytest.raises(RuntimeError, match="more than one element of the written-to tensor"):
        e.add_(1.0)


def test_inplace_dtype_and_shape_rules_match_torch():
    i = tl.tensor([1, 2, 3])
    with pytest.raises(RuntimeError, match=r"result type Float can't be cast to the desired output type Long"):
        i.add_(1.5)
    f = tl.ones(3)
    with pytest.raises(RuntimeError, match=r"output with shape \[3\] doesn't match the broadcast shape \[2, 3\]"):
        f.add_(tl.ones(2, 3))
    f.add_(tl.tensor([1, 2, 3]))                 # int into float is fine
    assert f.tolist() == [2.0, 3.0, 4.0] and f.dtype is tl.float32


def test_detach_shares_the_value():
    x = tl.ones(3)
    d = x.detach()
    d.mul_(4.0)
    assert x.tolist() == [4.0, 4.0, 4.0]


def test_view_reshape_flatten_unflatten_squeeze():
    x = arange2d(2, 6)
    assert x.view(3, 4).shape == (3, 4)
    assert x.view(-1).shape == (12,)
    assert x.reshape(2, 3, 2).flatten(1).shape == (2, 6)
    assert x.unflatten(1, (2, -1)).shape == (2, 2, 3)
    assert x[:, None].squeeze().shape == (2, 6)
    assert x.unsqueeze(-1).shape == (2, 6, 1)
    with pytest.raises(RuntimeError, match=r"shape '\[5, -1\]' is invalid for input of size 12"):
        x.view(5, -1)
    with pytest.raises(IndexError, match=r"Dimension out of range \(expected to be in range of \[-3, 2\], but got 3\)"):
        x.unsqueeze(3)


def test_permute_transpose_mT_T():
    r = np.arange(24, dtype=np.float64).reshape(2, 3, 4)
    x = tl.tensor(r)
    np.testing.assert_array_equal(x.permute(2, 0, 1).numpy(), r.transpose(2, 0, 1))
    np.testing.assert_array_equal(x.transpose(0, 2).numpy(), r.swapaxes(0, 2))
    np.testing.assert_array_equal(x.mT.numpy(), r.swapaxes(-1, -2))
    np.testing.assert_array_equal(x[0].T.numpy(), r[0].T)
    with pytest.raises(RuntimeError, match="number of dims don't match in permute"):
        x.permute(0, 1)


def test_expand_and_errors():
    x = tl.tensor([[1.0], [2.0]])
    assert x.expand(3, 2, 4).shape == (3, 2, 4)
    assert x.expand(-1, 5).tolist() == [[1.0] * 5, [2.0] * 5]
    with pytest.raises(RuntimeError, match=r"The expanded size of the tensor \(3\) must match the existing size \(2\)"):
        x.expand(3, 3)


def test_basic_indexing_errors():
    x = arange2d()
    with pytest.raises(IndexError, match="index 3 is out of bounds for dimension 0 with size 3"):
        x[3]
    with pytest.raises(IndexError, match="too many indices for tensor of dimension 2"):
        x[0, 0, 0]
    with pytest.raises(ValueError, match="step must be greater than zero"):
        x[::-1]


# --- conversions --------------------------------------------------------------------------------------

@pytest.mark.parametrize("dst", ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16",
                                 "float32", "float64"])
def test_to_dtype_matches_numpy_cast(dst):
    import ml_dtypes
    src = np.array([-2.7, -1.0, 0.0, 0.5, 1.5, 3.9], dtype=np.float64)
    d = getattr(tl, dst)
    got = tl.tensor(src).to(d)
    assert got.dtype is d
    want = src.astype(ml_dtypes.bfloat16 if dst == "bfloat16" else dst)
    np.testing.assert_array_equal(got.numpy(), want)


def test_to_is_identity_when_nothing_changes_and_type_as():
    x = tl.ones(2)
    assert x.to(tl.float32) is x and x.to("cpu") is x
    assert x.to(tl.float32, copy=True) is not x
    assert x.type_as(tl.tensor([1], dtype=tl.int16)).dtype is tl.int16
    assert x.double().dtype is tl.float64 and x.long().dtype is tl.int64 and x.half().dtype is tl.float16


# --- host interop -------------------------------------------------------------------------------------

def test_numpy_item_tolist_array_protocol():
    x = arange2d(2, 2)
    assert isinstance(x.numpy(), np.ndarray) and x.numpy().dtype == np.float32
    assert x[1, 1].item() == 3.0 and isinstance(x[1, 1].item(), float)
    assert tl.tensor([7]).item() == 7 and isinstance(tl.tensor([7]).item(), int)
    assert x.tolist() == [[0.0, 1.0], [2.0, 3.0]]
    np.testing.assert_array_equal(np.asarray(x), ref2d(2, 2))
    assert np.asarray(x, dtype=np.float64).dtype == np.float64
    assert tl.tensor([1.5], dtype=tl.bfloat16).tolist() == [1.5]
    with pytest.raises(RuntimeError, match="a Tensor with 4 elements cannot be converted to Scalar"):
        x.item()


def test_python_protocols():
    x = tl.tensor([[1, 2], [3, 4]])
    assert len(x) == 2
    assert [r.tolist() for r in x] == [[1, 2], [3, 4]]
    assert bool(tl.tensor([1.0])) and not bool(tl.tensor(0))
    with pytest.raises(RuntimeError, match="Boolean value of Tensor with 4 values is ambiguous"):
        bool(x)
    with pytest.raises(TypeError, match="len\\(\\) of a 0-d tensor"):
        len(tl.tensor(1.0))
    assert int(tl.tensor(3.7)) == 3 and float(tl.tensor(2)) == 2.0
    assert [10, 20, 30][tl.tensor(1)] == 20
    with pytest.raises(TypeError, match="only integer tensors of a single element"):
        [1, 2][tl.tensor(1.0)]
    assert f"{tl.tensor(2.5):.2f}" == "2.50"


def test_from_numpy_shares_memory_and_from_dlpack():
    a = np.arange(4, dtype=np.float64)
    t = tl.from_numpy(a)
    a[0] = 42.0
    assert t.tolist()[0] == 42.0
    b = tl.from_dlpack(np.arange(3, dtype=np.int32))
    assert b.dtype is tl.int32 and b.tolist() == [0, 1, 2]
    back = np.from_dlpack(tl.tensor([1.0, 2.0]))
    np.testing.assert_array_equal(back, [1.0, 2.0])
    with pytest.raises(TypeError, match="can't convert np.ndarray of type complex128"):
        tl.from_numpy(np.zeros(2, dtype=np.complex128))


def test_dlpack_round_trip_with_torch():
    torch = pytest.importorskip("torch")
    x = tl.tensor(np.arange(6, dtype=np.float32).reshape(2, 3))
    t = torch.from_dlpack(x)
    assert t.tolist() == x.tolist()
    y = tl.from_dlpack(torch.arange(4, dtype=torch.int64))
    assert y.tolist() == [0, 1, 2, 3] and y.dtype is tl.int64


def test_repr_matches_torch():
    torch = pytest.importorskip("torch")
    cases = [np.array([1.0, 2.5, -3.25], np.float32), np.arange(6, dtype=np.int64).reshape(2, 3),
             np.array([True, False]), np.array(3.5, np.float64), np.zeros((0, 3), np.float32),
             np.random.default_rng(0).standard_normal((4, 5)).astype(np.float32)]
    for c in cases:
        want = repr(torch.from_numpy(c)).replace("torch.", "torchlite.")
        assert repr(tl.tensor(c)) == want


def test_tensors_refuse_pickle():
    import pickle
    with pytest.raises(TypeError, match="not picklable"):
        pickle.dumps(tl.ones(2))


def test_dtype_objects_and_promotion_table():
    assert repr(tl.float32) == "torchlite.float32"
    assert tl.promote_types(tl.uint8, tl.int8) is tl.int16
    assert tl.promote_types(tl.float16, tl.bfloat16) is tl.float32
    assert tl.promote_types(tl.bool, tl.int8) is tl.int8
    assert tl.result_type(tl.tensor([1], dtype=tl.int8), 1000) is tl.int8
    assert tl.result_type(tl.tensor([1], dtype=tl.int8), 1.0) is tl.float32
    # a 0-d tensor of a higher category wins over dimensioned ones (torch: float64); same category: it does not
    assert tl.result_type(tl.tensor(1.0, dtype=tl.float64), tl.tensor([1], dtype=tl.int32)) is tl.float64
    assert tl.result_type(tl.tensor(1.0, dtype=tl.float64), tl.tensor([1], dtype=tl.float16)) is tl.float16
    assert (tl.tensor([1], dtype=tl.int8) + 1000).tolist() == [-23]      # wraps, as torch does
    assert tl.can_cast(tl.int64, tl.float16) and not tl.can_cast(tl.float32, tl.int64)
    assert tl.finfo(tl.bfloat16).eps == 0.0078125 and tl.iinfo(tl.int8).min == -128


def test_default_dtype_changes_python_float_promotion():
    tl.set_default_dtype(tl.float64)
    try:
        assert tl.tensor([1.0]).dtype is tl.float64
        assert (tl.tensor([1, 2]) * 0.5).dtype is tl.float64
        assert tl.ones(2).dtype is tl.float64
    finally:
        tl.set_default_dtype(tl.float32)
    with pytest.raises(TypeError, match="only floating-point types"):
        tl.set_default_dtype(tl.int32)
