"""Tests for torchlite._formatting: literal strings plus a differential corpus vs torch."""

import ast
import importlib.util
import math
import pathlib
import sys

import ml_dtypes
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp


def _load_formatting():
    try:
        from torchlite import _formatting

        return _formatting
    except Exception:  # package not importable (yet): load the file directly
        path = pathlib.Path(__file__).resolve().parents[1] / "torchlite" / "_formatting.py"
        spec = importlib.util.spec_from_file_location("torchlite_formatting_under_test", path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        return module


fmt = _load_formatting()
format_tensor = fmt.format_tensor


@pytest.fixture(autouse=True)
def _restore_options():
    """Every test starts and ends with default print options (ours and torch's)."""
    fmt.set_printoptions(profile="default")
    torch = sys.modules.get("torch")
    yield
    fmt.set_printoptions(profile="default")
    if torch is not None:
        torch.set_printoptions(profile="default")
        torch.set_default_dtype(torch.float32)


# --------------------------------------------------------------------------- #
# torch-free tests (expected strings checked against torch 2.x)
# --------------------------------------------------------------------------- #

def f32(values):
    return format_tensor(np.asarray(values, np.float32), dtype_name="float32", is_default_float=True)


def test_literal_floats():
    assert f32([1.0, 2.0]) == "tensor([1., 2.])"
    assert f32(3.5) == "tensor(3.5000)"
    assert f32([1.5, -2.25]) == "tensor([ 1.5000, -2.2500])"
    assert f32([-0.0, 1.0]) == "tensor([-0., 1.])"
    assert f32([0.0, 0.0]) == "tensor([0., 0.])"
    assert f32([math.nan, math.inf, -math.inf]) == "tensor([nan, inf, -inf])"
    assert f32([1e-5, 1.0]) == "tensor([1.0000e-05, 1.0000e+00])"
    assert f32([1e10, math.nan]) == "tensor([1.0000e+10,        nan])"


def test_literal_other_dtypes():
    assert format_tensor(np.array([1, -20, 300]), dtype_name="int64", is_default_float=False) == (
        "tensor([  1, -20, 300])"
    )
    assert format_tensor(np.array([True, False]), dtype_name="bool", is_default_float=False) == (
        "tensor([ True, False])"
    )
    assert format_tensor(np.array([1, 2], np.int32), dtype_name="int32", is_default_float=False) == (
        "tensor([1, 2], dtype=torchlite.int32)"
    )
    bf = np.array([1.1, 2.0], ml_dtypes.bfloat16)
    assert format_tensor(bf, dtype_name="bfloat16", is_default_float=False) == (
        "tensor([1.1016, 2.0000], dtype=torchlite.bfloat16)"
    )
    half = np.array([0.1, 1.0], np.float16)
    assert format_tensor(half, dtype_name="float16", is_default_float=False, module="torch") == (
        "tensor([0.1000, 1.0000], dtype=torch.float16)"
    )


def test_literal_empty_and_suffixes():
    empty = np.zeros((0, 3), np.float32)
    assert format_tensor(empty, dtype_name="float32", is_default_float=True) == "tensor([], size=(0, 3))"
    assert format_tensor(np.zeros(0, np.int64), dtype_name="int64", is_default_float=False) == (
        "tensor([], dtype=torchlite.int64)"
    )
    x = np.array([1.0, 2.0], np.float32)
    assert format_tensor(x, dtype_name="float32", is_default_float=True, device="cuda:0") == (
        "tensor([1., 2.], device='cuda:0')"
    )
    assert format_tensor(x, dtype_name="float32", is_default_float=True, requires_grad=True) == (
        "tensor([1., 2.], requires_grad=True)"
    )
    assert format_tensor(x, dtype_name="float32", is_default_float=True, grad_fn="MulBackward0") == (
        "tensor([1., 2.], grad_fn=<MulBackward0>)"
    )


def test_literal_nested_and_summarized():
    assert f32(np.arange(6).reshape(2, 3)) == "tensor([[0., 1., 2.],\n        [3., 4., 5.]])"
    assert f32(np.arange(8).reshape(2, 2, 2)) == (
        "tensor([[[0., 1.],\n         [2., 3.]],\n\n        [[4., 5.],\n         [6., 7.]]])"
    )
    ints = format_tensor(np.arange(2000), dtype_name="int64", is_default_float=False)
    assert ints == "tensor([   0,    1,    2,  ..., 1997, 1998, 1999])"


def test_suffix_wrap_depends_on_module_name():
    # torch keeps ", dtype=torch.bfloat16" on the last line (fits in 80 columns);
    # the 4 extra characters of "torchlite." push it onto its own line.
    values = np.array([[12.5625, -13.1875, 64.0, 10.5], [-53.5, 36.25, 130.0, 94.5],
                       [-70.5, -126.5, -62.25, 4.125]], ml_dtypes.bfloat16)
    body = ("tensor([[  12.5625,  -13.1875,   64.0000,   10.5000],\n"
            "        [ -53.5000,   36.2500,  130.0000,   94.5000],\n"
            "        [ -70.5000, -126.5000,  -62.2500,    4.1250]]")
    kw = dict(dtype_name="bfloat16", is_default_float=False)
    assert format_tensor(values, module="torch", **kw) == body + ", dtype=torch.bfloat16)"
    assert format_tensor(values, **kw) == body + ",\n       dtype=torchlite.bfloat16)"


def test_printoptions_api():
    default = {"precision": 4, "threshold": 1000, "edgeitems": 3, "linewidth": 80, "sci_mode": None}
    assert fmt.get_printoptions() == default
    fmt.set_printoptions(profile="short")
    assert fmt.get_printoptions() == {**default, "precision": 2, "edgeitems": 2}
    fmt.set_printoptions(profile="full", precision=6, sci_mode=True)
    assert fmt.get_printoptions() == {**default, "precision": 6, "threshold": math.inf, "sci_mode": True}
    fmt.set_printoptions(linewidth=100)  # sci_mode resets to None, like torch
    assert fmt.get_printoptions()["sci_mode"] is None
    assert fmt.get_printoptions()["linewidth"] == 100
    with fmt.printoptions(precision=2, threshold=5):
        assert f32([1.12345]) == "tensor([1.12])"
        assert format_tensor(np.arange(10), dtype_name="int64", is_default_float=False) == (
            "tensor([0, 1, 2,  ..., 7, 8, 9])"
        )
    assert fmt.get_printoptions()["precision"] == 6
    fmt.set_printoptions(profile="default")
    assert fmt.get_printoptions() == default
    assert f32([1.12345]) == "tensor([1.1235])"


def test_no_torch_import():
    tree = ast.parse(pathlib.Path(fmt.__file__).read_text())
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    assert not any(name == "torch" or name.startswith("torch.") for name in imported)


# --------------------------------------------------------------------------- #
# Differential tests against torch
# --------------------------------------------------------------------------- #

def _torch():
    return pytest.importorskip("torch")


def to_numpy(t):
    t = t.detach()
    if t.dtype == _torch().bfloat16:
        return t.view(_torch().int16).numpy().view(ml_dtypes.bfloat16)
    return t.numpy()


def ours(t, prefix="tensor(", grad_fn=None):
    T = _torch()
    default = T.get_default_dtype()
    default_complex = T.complex128 if default == T.float64 else T.complex64
    return format_tensor(
        to_numpy(t),
        dtype_name=str(t.dtype).removeprefix("torch."),
        is_default_float=t.dtype in (default, default_complex),
        requires_grad=t.requires_grad and grad_fn is None,
        prefix=prefix,
        grad_fn=grad_fn,
        module="torch",
    )


def expected(t):
    # Compared with module="torch" so the comparison is exact: renaming the module
    # in the suffix changes its length and therefore where torch would wrap it.
    return repr(t)


def _rng(seed=0):
    return np.random.default_rng(seed)


def _randn(*shape, scale=1.0, seed=0, dtype="float32"):
    T = _torch()
    values = _rng(seed).standard_normal(shape) * scale
    return T.from_numpy(values).to(getattr(T, dtype))


def _ints(*shape, low=-1000, high=1000, dtype="int64", seed=1):
    T = _torch()
    return T.from_numpy(_rng(seed).integers(low, high, size=shape)).to(getattr(T, dtype))


def _t(values, dtype="float32"):
    T = _torch()
    return T.tensor(values, dtype=getattr(T, dtype))


nan, inf = math.nan, math.inf

# name -> zero-argument factory returning a torch tensor
CORPUS = {
    # 0-d
    "0d_float": lambda: _t(3.5),
    "0d_intvalued": lambda: _t(3.0),
    "0d_negzero": lambda: _t(-0.0),
    "0d_nan": lambda: _t(nan),
    "0d_tiny": lambda: _t(1e-5),
    "0d_int": lambda: _t(7, "int64"),
    "0d_bool": lambda: _t(True, "bool"),
    "0d_half": lambda: _t(0.1, "float16"),
    "0d_bf16": lambda: _t(0.1, "bfloat16"),
    "0d_f64": lambda: _t(2.0 / 3.0, "float64"),
    # 1-d floats at several scales
    **{f"randn_scale_{s:g}": (lambda s=s: _randn(7, scale=s, seed=3)) for s in
       (1e-6, 1e-3, 1e-1, 1.0, 10.0, 1e3, 1e5, 1e9, 1e20)},
    "intvalued": lambda: _t([1.0, 2.0, -30.0]),
    "intvalued_big": lambda: _t([1e9, 2.0]),
    "intvalued_big_f64": lambda: _t([123456789.0, 1.0], "float64"),
    "negzero_mix": lambda: _t([-0.0, 1.0, 0.5]),
    "all_zero": lambda: _t([0.0, -0.0, 0.0]),
    "range_wide": lambda: _t([1e-3, 1.0, 1e3]),
    "range_ok": lambda: _t([0.5, 1.0, 400.0]),
    "nan_inf_only": lambda: _t([nan, inf, -inf]),
    "nan_with_ints": lambda: _t([nan, 1.0, -2.0]),
    "inf_with_frac": lambda: _t([inf, 1.5, -inf]),
    "nan_with_sci": lambda: _t([nan, 1e-5, 3.0]),
    "inf_sci_big": lambda: _t([-inf, 1e12, 2.5]),
    # ints / bool
    "int64_neg": lambda: _ints(10),
    "int64_extremes": lambda: _t([-(2**63), 2**63 - 1, 0], "int64"),
    "int32": lambda: _ints(6, dtype="int32"),
    "int16": lambda: _ints(5, dtype="int16"),
    "int8": lambda: _ints(5, low=-128, high=128, dtype="int8"),
    "uint8": lambda: _ints(5, low=0, high=256, dtype="uint8"),
    "bool_1d": lambda: _t([True, False, True], "bool"),
    "bool_2d": lambda: _t([[True, False], [False, False]], "bool"),
    # reduced / other float dtypes
    "half_randn": lambda: _randn(6, dtype="float16"),
    "half_big": lambda: _t([60000.0, 0.001, -1.0], "float16"),
    "bf16_randn": lambda: _randn(6, dtype="bfloat16"),
    "bf16_big": lambda: _t([3e38, 1.0, -2.0], "bfloat16"),
    "bf16_2d": lambda: _randn(3, 4, scale=100.0, dtype="bfloat16"),
    "f64_randn": lambda: _randn(5, dtype="float64"),
    "complex64": lambda: _t([1 + 2j, -3.5 - 0.25j, 0.5j], "complex64"),
    "complex128_int": lambda: _t([1 + 2j, -3 + 0j], "complex128"),
    "complex64_0d": lambda: _t(1.5 - 2j, "complex64"),
    # wrapping
    "wrap_arange_float": lambda: _torch().arange(100.0),
    "wrap_randn": lambda: _randn(30, seed=5),
    "wrap_ints": lambda: _ints(50, low=-10**6, high=10**6),
    "wrap_sci": lambda: _randn(25, scale=1e-6),
    "wrap_2d_rows": lambda: _randn(4, 30, seed=6),
    "wrap_f64_suffix": lambda: _randn(9, dtype="float64", seed=7),
    "suffix_newline": lambda: _randn(7, dtype="float16", seed=8).requires_grad_(),
    # multi-dim
    "2d": lambda: _randn(3, 4),
    "2d_ints": lambda: _ints(4, 5),
    "3d": lambda: _randn(2, 3, 4, seed=9),
    "4d": lambda: _randn(2, 2, 2, 3, seed=10),
    "4d_int": lambda: _ints(2, 3, 1, 2),
    "2d_single_col": lambda: _randn(5, 1),
    # summarization
    "sum_1001": lambda: _torch().arange(1001.0),
    "sum_randn_2000": lambda: _randn(2000, seed=11),
    "sum_2d_40x40": lambda: _randn(40, 40, seed=12),
    "sum_2d_tall": lambda: _randn(1001, 2, seed=13),
    "sum_2d_wide": lambda: _randn(2, 1001, seed=14),
    "sum_3d": lambda: _randn(10, 10, 11, seed=15),
    "sum_short_dim0": lambda: _randn(3, 400, seed=16),
    "sum_4d_ints": lambda: _ints(5, 5, 5, 10, high=10**5),
    "sum_hidden_outlier": lambda: _torch().cat([_t([1e-9]), _torch().ones(2000), _t([2.5])]),
    "sum_bool": lambda: _torch().arange(3000) % 3 == 0,
    # empty
    "empty_1d": lambda: _torch().zeros(0),
    "empty_2d": lambda: _torch().zeros(0, 3),
    "empty_3d": lambda: _torch().zeros(2, 0, 4),
    "empty_int": lambda: _torch().zeros(0, dtype=_torch().int64),
    "empty_bool_2d": lambda: _torch().zeros(3, 0, dtype=_torch().bool),
    "empty_f64": lambda: _torch().zeros(0, dtype=_torch().float64),
    "empty_half": lambda: _torch().zeros(0, 2, dtype=_torch().float16),
    "empty_complex": lambda: _torch().zeros(0, dtype=_torch().complex64),
    # autograd suffix
    "requires_grad": lambda: _randn(3).requires_grad_(),
    "requires_grad_f64": lambda: _randn(2, 2, dtype="float64").requires_grad_(),
}

# name -> (set_printoptions kwargs, factory)
OPTION_CASES = {
    "precision2": (dict(precision=2), lambda: _randn(5)),
    "precision8": (dict(precision=8), lambda: _randn(5, dtype="float64")),
    "precision0": (dict(precision=0), lambda: _t([1.5, 2.25, -3.75])),
    "precision0_sci": (dict(precision=0), lambda: _t([1e-6, 2.0])),
    "sci_true": (dict(sci_mode=True), lambda: _randn(4)),
    "sci_true_intvalued": (dict(sci_mode=True), lambda: _t([1.0, 20.0])),
    "sci_true_all_zero": (dict(sci_mode=True), lambda: _t([0.0, nan])),
    "sci_false": (dict(sci_mode=False), lambda: _t([1e-6, 1e9, 3.0])),
    "sci_false_int": (dict(sci_mode=False), lambda: _t([1e10, 2.0])),
    "threshold5": (dict(threshold=5), lambda: _torch().arange(10)),
    "threshold0_scalar": (dict(threshold=0), lambda: _t(2.5)),
    "edgeitems1": (dict(edgeitems=1), lambda: _randn(30, 40)),
    "edgeitems0_1d": (dict(edgeitems=0), lambda: _torch().arange(2000.0)),
    "edgeitems0_2d": (dict(edgeitems=0), lambda: _randn(40, 40)),
    "edgeitems0_small": (dict(edgeitems=0), lambda: _t([1.5, 2.0])),
    "linewidth40": (dict(linewidth=40), lambda: _randn(3, 12)),
    "linewidth10": (dict(linewidth=10), lambda: _randn(5).requires_grad_()),
    "linewidth200": (dict(linewidth=200), lambda: _torch().arange(100.0)),
    "profile_short": (dict(profile="short"), lambda: _randn(30, 40)),
    "profile_full": (dict(profile="full"), lambda: _torch().arange(1200)),
    "profile_full_override": (dict(profile="full", precision=2), lambda: _randn(1100)),
    "profile_short_sci": (dict(profile="short", sci_mode=True), lambda: _randn(3)),
}


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_corpus_matches_torch(name):
    _torch()
    t = CORPUS[name]()
    assert ours(t) == expected(t)


@pytest.mark.parametrize("name", sorted(OPTION_CASES))
def test_printoptions_match_torch(name):
    T = _torch()
    kwargs, factory = OPTION_CASES[name]
    t = factory()
    T.set_printoptions(**kwargs)
    fmt.set_printoptions(**kwargs)
    assert fmt.get_printoptions() == T._tensor_str.get_printoptions()
    assert ours(t) == expected(t)
    T.set_printoptions(profile="default")
    fmt.set_printoptions(profile="default")
    assert fmt.get_printoptions() == T._tensor_str.get_printoptions()
    assert ours(t) == expected(t)


def test_printoptions_context_restores():
    T = _torch()
    fmt.set_printoptions(precision=3, linewidth=60)
    T.set_printoptions(precision=3, linewidth=60)
    with fmt.printoptions(profile="short", sci_mode=True), T._tensor_str.printoptions(
        profile="short", sci_mode=True
    ):
        t = _randn(4)
        assert ours(t) == expected(t)
    assert fmt.get_printoptions() == T._tensor_str.get_printoptions()
    t = _randn(4, 30)
    assert ours(t) == expected(t)


@pytest.mark.parametrize("name", ["0d_float", "intvalued", "f64_randn", "empty_1d", "empty_f64",
                                  "complex64", "complex128_int", "empty_complex", "2d"])
def test_default_dtype_float64(name):
    T = _torch()
    T.set_default_dtype(T.float64)
    t = CORPUS[name]()
    assert ours(t) == expected(t)


def test_grad_fn_and_subclass_prefix():
    T = _torch()
    t = _randn(3, 30).requires_grad_() * 2
    assert ours(t, grad_fn=type(t.grad_fn).__name__) == expected(t)

    class MyTensor(T.Tensor):
        pass

    sub = _randn(2, 12, seed=4).as_subclass(MyTensor)
    assert ours(sub, prefix="MyTensor(") == expected(sub)


_DTYPES = ["float16", "bfloat16", "float32", "float64"]


@st.composite
def _float_tensors(draw):
    """Small float tensors of every float dtype: mixed magnitudes, ints, nan/inf, +-0."""
    T = _torch()
    dtype = draw(st.sampled_from(_DTYPES))
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=6))
    bound = 10.0 ** draw(st.integers(-8, 8))
    elements = st.one_of(
        st.floats(allow_nan=True, allow_infinity=True),
        st.floats(-bound, bound),
        st.integers(-1000, 1000).map(float),
    )
    values = draw(hnp.arrays(np.float64, shape, elements=elements))
    return T.from_numpy(values).to(getattr(T, dtype))  # torch rounds to the dtype


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_float_tensors())
def test_property_random_floats(t):
    assert ours(t) == expected(t)


@settings(max_examples=100, deadline=None)
@given(hnp.arrays(np.int64, hnp.array_shapes(min_dims=0, max_dims=3, max_side=5),
                  elements=st.integers(-(2**63), 2**63 - 1)))
def test_property_random_ints(values):
    T = _torch()
    t = T.from_numpy(values)
    assert ours(t) == expected(t)
