"""A catalogue of bad inputs: each raises the PyTorch exception type, with a message that names the problem,
the values, and the user's line (this file), at the op that caused it."""
from __future__ import annotations

import re

import numpy as np
import pytest

import torchlite as tl

HERE = r"test_errors\.py:\d+"


def t(*shape, dtype=tl.float32):
    return tl.zeros(*shape, dtype=dtype)


CASES = [
    # shapes
    ("broadcast", lambda: t(3, 4) + t(5, 4), RuntimeError, r"size of tensor a \(3\) must match the size of tensor b \(5\)"),
    ("where shapes", lambda: tl.where(t(2, dtype=tl.bool), t(3), t(2)), RuntimeError, r"must match"),
    ("view size", lambda: t(2, 3).view(4, 2), RuntimeError, r"shape '\[4, 2\]' is invalid for input of size 6"),
    ("view two -1", lambda: t(2, 3).view(-1, -1), RuntimeError, r"only one dimension can be inferred"),
    ("expand", lambda: t(2, 3).expand(4, 3), RuntimeError, r"expanded size of the tensor \(4\) must match the existing size \(2\)"),
    ("permute arity", lambda: t(2, 3).permute(0), RuntimeError, r"number of dims don't match in permute"),
    ("matmul inner", lambda: t(3, 4) @ t(5, 6), RuntimeError, r"4.*5|5.*4"),
    ("cat dims", lambda: tl.cat([t(2, 3), t(2, 4)], dim=0), RuntimeError, r"[Ss]izes of tensors must match"),
    ("stack shapes", lambda: tl.stack([t(2), t(3)]), RuntimeError, r"stack expects each tensor to be equal size"),
    ("inplace broadcast", lambda: t(3).add_(t(2, 3)), RuntimeError, r"output with shape \[3\] doesn't match the broadcast shape \[2, 3\]"),
    ("negative size", lambda: tl.zeros(2, -1), RuntimeError, r"negative dimension -1"),
    # dtypes
    ("inplace cast", lambda: t(3, dtype=tl.int64).mul_(0.5), RuntimeError, r"result type Float can't be cast to the desired output type Long"),
    ("where cond dtype", lambda: tl.where(t(2), t(2), t(2)), RuntimeError, r"where expected condition to be a boolean tensor"),
    ("bitwise float", lambda: t(2) & t(2), RuntimeError, r"bitwise_and.*not implemented for 'Float'"),
    ("neg bool", lambda: -t(2, dtype=tl.bool), RuntimeError, r"Negation, the `-` operator, on a bool tensor is not supported"),
    ("sub bool", lambda: t(2, dtype=tl.bool) - t(2, dtype=tl.bool), RuntimeError, r"Subtraction, the `-` operator, with two bool tensors"),
    ("mean int", lambda: t(2, dtype=tl.int64).mean(), RuntimeError, r"mean\(\): could not infer output dtype"),
    ("gelu int", lambda: tl.gelu(t(2, dtype=tl.int32)), RuntimeError, r"not implemented for 'Int'"),
    ("mm dtypes", lambda: tl.mm(t(2, 2), t(2, 2, dtype=tl.float64)), RuntimeError, r"same dtype"),
    ("operand type", lambda: tl.add(t(2), "x"), TypeError, r"expected Tensor or Python number"),
    ("int negative pow", lambda: tl.pow(t(2, dtype=tl.int64), -1), RuntimeError, r"Integers to negative integer powers are not allowed"),
    # indices and dims
    ("dim range", lambda: t(2, 3).sum(dim=2), IndexError, r"Dimension out of range \(expected to be in range of \[-2, 1\], but got 2\)"),
    ("duplicate dims", lambda: t(2, 3).sum(dim=(0, 0)), RuntimeError, r"appears multiple times"),
    ("unsqueeze range", lambda: t(2).unsqueeze(3), IndexError, r"Dimension out of range"),
    ("transpose range", lambda: t(2, 3).transpose(0, 5), IndexError, r"Dimension out of range"),
    ("index range", lambda: t(3)[3], IndexError, r"index 3 is out of bounds for dimension 0 with size 3"),
    ("too many indices", lambda: t(3)[0, 0], IndexError, r"too many indices for tensor of dimension 1"),
    ("negative step", lambda: t(3)[::-1], ValueError, r"step must be greater than zero"),
    ("tensor index range", lambda: t(3)[tl.tensor([0, 5])], IndexError, r"index 5 is out of bounds for dimension 0 with size 3"),
    ("gather index range", lambda: t(2, 3).gather(1, tl.tensor([[0, 3], [1, 1]])), (IndexError, RuntimeError), r"out of bounds|out of range"),
    ("index_select range", lambda: t(4, 2).index_select(0, tl.tensor([4])), IndexError, r"out of (bounds|range)"),
    ("one_hot range", lambda: tl.nn.functional.one_hot(tl.tensor([0, 3]), 3), RuntimeError, r"[Cc]lass values must be smaller than num_classes"),
    ("item of many", lambda: t(2).item(), RuntimeError, r"a Tensor with 2 elements cannot be converted to Scalar"),
    ("bool of many", lambda: bool(t(2)), RuntimeError, r"Boolean value of Tensor with 2 values is ambiguous"),
    # devices
    ("unknown device", lambda: tl.zeros(2, device="tpu"), RuntimeError, r"Expected one of cpu, cuda, interpret device type"),
    ("cuda unavailable", lambda: tl.zeros(2, device="cuda"), RuntimeError, r"device 'cuda:0' is not available: "),
    ("to cuda", lambda: t(2).to("cuda"), RuntimeError, r"is not available: "),
]


@pytest.mark.parametrize("name,fn,exc,pattern", CASES, ids=[c[0] for c in CASES])
def test_bad_input_raises_a_clear_error(name, fn, exc, pattern):
    if name in ("cuda unavailable", "to cuda") and tl.cuda.is_available():
        pytest.skip("a GPU is present: cuda is available here")
    with pytest.raises(exc) as e:
        fn()
    msg = str(e.value)
    assert re.search(pattern, msg), msg
    if name not in ("unknown device", "cuda unavailable", "to cuda"):   # device names are validated before any op
        assert re.search(HERE, msg), f"message does not name the user's line: {msg}"


def test_mismatched_devices_are_refused():
    a = tl.zeros(2, device="interpret")
    b = tl.zeros(2)
    with pytest.raises(RuntimeError, match=r"Expected all tensors to be on the same device, but found at least two "
                                           rf"devices, interpret:0 and cpu!.*{HERE}"):
        a + b


def test_errors_leave_tensors_unchanged():
    x = tl.tensor([1, 2, 3])
    with pytest.raises(RuntimeError):
        x.add_(0.5)
    with pytest.raises(IndexError):
        x[5] = 1
    assert x.tolist() == [1, 2, 3] and x.dtype is tl.int64
