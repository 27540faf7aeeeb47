"""The ``interpret`` device runtime: Triton kernels run by Triton's interpreter on host (numpy) memory.

Buffers are plain C-contiguous numpy arrays. ``kernel(jit_fn)[grid](*args, **constexprs)`` runs a
``@triton.jit`` kernel program by program in ``triton.runtime.interpreter`` (about 1 ms a program: use small
shapes). It never sets ``TRITON_INTERPRET``, so interpreted and compiled kernels coexist in one process,
and it never imports torch: numpy arrays reach the interpreter through ``NumpyTensorAdapter``, which shows
the interpreter the few torch-tensor methods it calls, and the kernel reads and writes the array in place.

    >>> import numpy as np, torchlite as tl; from torchlite.devices.interpret import InterpretRuntime
    >>> rt = InterpretRuntime(); buf = rt.from_host(np.arange(3, dtype=np.float32))
    >>> rt.to_host(buf).tolist(), rt.empty((2, 3), tl.bfloat16).dtype.name
    ([0.0, 1.0, 2.0], 'bfloat16')

A launch, with ``add_kernel`` a ``@triton.jit`` function in an imported file (Triton reads its source)::

    rt.kernel(add_kernel)[(triton.cdiv(n, 128),)](x, y, out, n, BLOCK=128, num_warps=4)

What the interpreter does (triton 3.9), what this runtime fixes, and what code generators must respect
(tests/test_interpret_runtime.py checks each point that does not need a GPU):

- Scalar arguments. The bare interpreter passes a Python float into the kernel untyped, so it acts as a
  literal and takes the other operand's type: ``x_f64 * s`` keeps s in fp64, ``x_f16 * s`` computes in
  fp16. Compiled Triton makes every float argument fp32 instead (``x_f64 * s`` sees s rounded to fp32).
  This launcher types scalars as compiled Triton does, so the interpreter shows the GPU's numerics: the
  type comes from ``signature`` (``kernel(fn, signature={"s": "fp64"})``), else from the parameter's
  annotation (``s: tl.float64`` or ``s: "fp64"``, which compiled Triton's JIT honours too), else from the
  value: Python ``float`` (and ``np.float64``, a float subclass) -> fp32, ``int`` -> i32 / i64 / u64 by
  magnitude, ``bool`` -> i1; other numpy scalars (``np.float32(x)``, ``np.int64(x)``) -> their own type
  (compiled Triton's JIT refuses them). An exact fp64 scalar therefore needs an fp64-typed parameter
  (annotation or signature); a 0-d array is a pointer, not a scalar.
- Calls of ``@triton.jit`` functions from a kernel (``tl.sum``, ``tl.max``, ``tl.argmax``, ``tl.sort``,
  user helpers) fail in the bare interpreter unless ``TRITON_INTERPRET=1`` was set before
  triton was imported; this runtime runs them in the interpreter.
- ``triton.language.extra.cuda.libdevice`` (and the ``triton.language.extra.libdevice`` stubs) do not run
  in the bare interpreter at all; this runtime answers them in numpy: ``LIBDEVICE_FUNCTIONS`` lists them
  (erf, erfc, expm1, log1p, tanh, rint, nearbyint, round, pow, fmod, remainder, atan2, hypot, asin, acos,
  atan, sinh, cosh, tan, trunc, floor, ceil, isnan, isinf, signbit, exp2, log2, log10, rsqrt, sqrt, ...).
  fp32 results are within an ulp or two of libdevice; the GPU also flushes fp32 denormals to zero there.
  The interpreter's own ``tl.*`` math works: exp, exp2, log, log2, sqrt, sqrt_rn (fp32 only, as
  compiled), rsqrt, abs, floor, ceil, erf, sin, cos, fma, fdiv, div_rn, sigmoid, maximum, minimum.
  ``tl.maximum``/``tl.minimum`` drop NaNs unless ``propagate_nan=tl.PropagateNan.ALL``; ``%`` on floats
  is fmod (sign of the dividend); ``//`` on floats is refused, as in compiled Triton.
- bfloat16 is held as its uint16 bits. Loads, stores and ``tl.where`` are right. The bare interpreter
  gets bf16 conversions wrong (fp32 -> bf16 truncates instead of rounding to nearest even; ints, bool and
  fp64 -> bf16 store the integer value as bits; bf16 subnormals are lost on the way to fp32) and
  ``tl.dot`` multiplies the bits: all fixed here. Arithmetic, comparisons, reductions and scans on bf16
  values still act on the bits and are wrong: generated code must convert bf16 to fp32 after loading
  and back before storing (as it should for the GPU anyway).
- ``tl.dot`` computes in full fp32 whatever ``input_precision`` says; compiled Triton's default for fp32
  operands is tf32 (about 3 decimal digits), so pass ``input_precision="ieee"`` where fp32 accuracy is
  meant, or GPU results will differ from the interpreter's. fp16/bf16 operands accumulate in fp32.
- bool buffers are ``*u1`` pointers (Triton canonicalises bool to u1); loads give ``tl.int1`` values and
  stores write bytes 0/1. ``+`` on int1 wraps (True + True == False), as on the GPU; use ``|``.
- Also working: ``tl.cumsum``, ``tl.associative_scan`` and ``tl.reduce`` with ``@triton.jit`` combine
  functions, ``tl.sort``, ``tl.argmax``/``tl.argmin``, 64-bit pointer arithmetic, 3-d grids, masked
  loads/stores. Out-of-bounds unmasked stores write outside the array (no checks, as on the GPU) and
  can corrupt the process's heap.
- Interpreting patches ``triton.language`` for the duration of a launch; compiled Triton works again
  afterwards, but do not compile kernels in another thread while an interpreted launch runs.
"""
from __future__ import annotations

import inspect
import math
import types
from contextlib import contextmanager
from typing import Any, Callable, Sequence

import numpy as np
import ml_dtypes

from .. import dtypes as _dtypes

__all__ = ["NumpyTensorAdapter", "InterpretRuntime", "InterpretedKernel", "LIBDEVICE_FUNCTIONS"]

# numpy storage type -> the dtype name Triton canonicalises (triton._utils.type_canonicalisation_dict)
_TRITON_NAMES: dict[np.dtype, str] = {
    np.dtype(np.bool_): "bool", np.dtype(np.uint8): "uint8", np.dtype(np.int8): "int8",
    np.dtype(np.int16): "int16", np.dtype(np.int32): "int32", np.dtype(np.int64): "int64",
    np.dtype(np.uint16): "uint16", np.dtype(np.uint32): "uint32", np.dtype(np.uint64): "uint64",
    np.dtype(np.float16): "float16", np.dtype(ml_dtypes.bfloat16): "bfloat16",
    np.dtype(np.float32): "float32", np.dtype(np.float64): "float64",
}   # float8 is left out on purpose: the interpreter converts its nan, inf and roundings wrongly

# Launch options compiled Triton takes as keywords; the interpreter runs one program at a time and has no
# use for them, so they are accepted and dropped.
LAUNCH_OPTIONS = frozenset({
    "num_warps", "num_stages", "num_ctas", "maxnreg", "enable_fp_fusion", "launch_cooperative_grid",
    "launch_pdl", "debug", "sanitize_overflow", "instrumentation_mode", "num_buffers_warp_spec",
    "num_consumer_groups", "reg_dec_producer", "reg_inc_consumer",
})

class _TritonDtype:
    """What ``tensor.dtype`` must look like to Triton: ``str()`` gives a name it canonicalises."""

    __slots__ = ("name", "itemsize")
    _interned: dict[str, "_TritonDtype"] = {}

    def __new__(cls, name: str, itemsize: int):
        d = cls._interned.get(name)
        if d is None:
            d = object.__new__(cls)
            d.name, d.itemsize = name, itemsize
            cls._interned[name] = d
        return d

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return f"triton dtype {self.name}"


class _Storage:
    """The array's memory as ``untyped_storage()``. The interpreter copies each storage "to the host"
    (``cpu()``) and back (``copy_``); the memory already is host memory, so both are the identity and the
    kernel reads and writes the caller's array in place."""

    __slots__ = ("array",)

    def __init__(self, array: np.ndarray):
        self.array = array

    def data_ptr(self) -> int:
        return self.array.ctypes.data

    def cpu(self) -> "_Storage":
        return self

    def copy_(self, other: "_Storage") -> "_Storage":
        if other.data_ptr() != self.data_ptr():  # never happens: cpu() returned this very storage
            raise RuntimeError("interpret: a storage was copied to a different address")
        return self


class NumpyTensorAdapter:
    """A numpy array dressed as the torch tensor ``triton.runtime.interpreter`` expects of a pointer
    argument. ``data_ptr()`` is the address of element ``[0, ..., 0]``; strides are in elements, so views
    (slices, transposes) work as long as the kernel is given their strides.

        >>> import numpy as np
        >>> a = NumpyTensorAdapter(np.zeros((2, 3), np.float32))
        >>> str(a.dtype), a.size(), a.stride()
        ('float32', (2, 3), (3, 1))
    """

    __slots__ = ("array", "dtype")

    def __init__(self, array: np.ndarray):
        if not isinstance(array, np.ndarray):
            raise TypeError(f"interpret: expected a numpy array, got {type(array).__name__}")
        name = _TRITON_NAMES.get(array.dtype)
        if name is None:
            raise TypeError(f"interpret: arrays of dtype {array.dtype} cannot be kernel arguments; supported: "
                            f"{', '.join(sorted(set(_TRITON_NAMES.values())))}")
        self.array = array
        self.dtype = _TritonDtype(name, array.itemsize)

    def data_ptr(self) -> int:
        return self.array.ctypes.data

    def untyped_storage(self) -> _Storage:
        return _Storage(self.array)

    def new_empty(self, *size, device=None, **kwargs) -> "NumpyTensorAdapter":
        return NumpyTensorAdapter(self.array)       # set_ points it at a storage next

    def set_(self, storage: _Storage, storage_offset: int = 0, size=None, stride=None) -> "NumpyTensorAdapter":
        if storage_offset != 0:
            raise RuntimeError(f"interpret: storage offset {storage_offset} (storages here are the arrays)")
        self.array = storage.array
        return self

    def storage_offset(self) -> int:
        return 0

    def size(self) -> tuple[int, ...]:
        return self.array.shape

    def stride(self) -> tuple[int, ...]:
        return tuple(s // self.array.itemsize for s in self.array.strides)

    def __repr__(self) -> str:
        return f"NumpyTensorAdapter({self.array.dtype}, shape={self.array.shape}, ptr=0x{self.data_ptr():x})"


def _scalar_tensor(value, ty: str):
    """A Triton scalar of type ``ty`` ("fp32", "fp64", "i64", "u1", ...) for the interpreter."""
    import triton.language as tl
    from triton.runtime.interpreter import TensorHandle
    tl_ty = tl.str_to_ty(ty, None)
    if ty == "bf16":
        data = np.array([value], dtype=ml_dtypes.bfloat16).view(np.uint16)
    elif ty in ("u1", "i1"):
        data = np.array([bool(value)], dtype=np.bool_)
    else:
        data = np.array([value], dtype=np.dtype(_NP_OF_TY[ty]))
    return tl.tensor(TensorHandle(data, tl_ty), tl_ty)


_NP_OF_TY = {"fp16": np.float16, "fp32": np.float32, "fp64": np.float64, "i8": np.int8, "i16": np.int16,
             "i32": np.int32, "i64": np.int64, "u8": np.uint8, "u16": np.uint16, "u32": np.uint32,
             "u64": np.uint64}
_TY_OF_NP = {np.dtype(v): k for k, v in _NP_OF_TY.items()}
_TY_OF_NP[np.dtype(np.bool_)] = "u1"
_TY_OF_NP[np.dtype(ml_dtypes.bfloat16)] = "bf16"


def _canonical_ty(ty: str) -> str:
    from triton._utils import type_canonicalisation_dict
    return type_canonicalisation_dict.get(ty, ty)


def _value_ty(value) -> str:
    """The Triton type compiled Triton gives a scalar argument (numpy scalars: their own type)."""
    if isinstance(value, np.generic) and not isinstance(value, (float, int)):   # np.float64 is a float
        ty = _TY_OF_NP.get(value.dtype)
        if ty is None:
            raise TypeError(f"interpret: numpy scalars of dtype {value.dtype} cannot be kernel arguments")
        return ty
    if isinstance(value, bool):
        return "u1"
    if isinstance(value, int):
        if -2**31 <= value < 2**31:
            return "i32"
        if -2**63 <= value < 2**63:
            return "i64"
        if 0 <= value < 2**64:
            return "u64"
        raise ValueError(f"interpret: integer argument {value} does not fit 64 bits")
    return "fp32"


_INTERPRETED: dict[Callable, Any] = {}     # python function -> its InterpretedFunction


def _device_call(jit_fn, *args, **kwargs):
    """``JITFunction.__call__`` while a kernel is interpreted: run the callee (``tl.max``, ``tl.softmax``,
    a user's ``@triton.jit`` helper) in the interpreter. Without ``TRITON_INTERPRET`` these are
    ``JITFunction``s, whose ``__call__`` raises "Cannot call @triton.jit'd outside of the scope of a
    kernel"; with it, triton.jit would have made them ``InterpretedFunction``s. The language is already
    patched for the whole launch (``_interpreting``), so the rewritten function is called directly (not
    ``InterpretedFunction.__call__``, which patches ``triton.language.core`` and never restores it)."""
    from triton.runtime.interpreter import InterpretedFunction
    f = _INTERPRETED.get(jit_fn.fn)
    if f is None:
        f = _INTERPRETED[jit_fn.fn] = InterpretedFunction(jit_fn.fn)
    return f.rewrite()(*args, **kwargs)


_DEPTH = [0]           # nesting of _interpreting: a program's launches share its patches


@contextmanager
def _interpreting():
    """For one launch (or a whole program of launches: ``InterpretRuntime.program_scope``): patch
    ``triton.language`` and ``triton.language.core`` to the interpreter's semantics (the interpreter itself
    patches only the modules the kernel's own globals name), route calls of ``@triton.jit`` functions to
    ``_device_call``, and give libdevice numpy implementations (``_LIBDEVICE``); restore everything
    afterwards, so compiled Triton works again once the launch returns (not during it: do not compile
    kernels in another thread meanwhile). Nested uses patch once (it costs about 1.5 ms)."""
    if _DEPTH[0]:
        yield
        return
    import triton.language as tl
    from triton.language.extra import libdevice as generic_libdevice
    from triton.language.extra.cuda import libdevice
    from triton.runtime import interpreter
    from triton.runtime.jit import JITFunction
    probe = types.FunctionType((lambda: None).__code__, {"tl": tl, "core": tl.core})
    scope = interpreter._patch_lang(probe)
    # libdevice functions are builtins of a module the interpreter never patches, and its builder refuses
    # extern calls ("extern_elementwise not supported in interpreter mode"): patch the module so calls
    # reach the builder, and answer the builder's extern calls from _LIBDEVICE by symbol.
    interpreter._patch_builtin(libdevice, interpreter.interpreter_builder, scope)
    for name, fn in vars(generic_libdevice).items():      # the backend-neutral stubs: as the compiler does
        if inspect.isfunction(fn) and hasattr(libdevice, name):
            scope.set_attr(generic_libdevice, name, getattr(libdevice, name))
    builder = interpreter.interpreter_builder
    fixes = {"create_extern_elementwise": _extern_elementwise,
             "create_dot": _dot_bf16_as_fp32(builder.create_dot),
             "cast_impl": _bf16_casts(builder.cast_impl)}
    shadowed = {name: vars(builder)[name] for name in fixes if name in vars(builder)}
    vars(builder).update(fixes)
    saved_call = JITFunction.__dict__["__call__"]
    JITFunction.__call__ = _device_call
    _DEPTH[0] += 1
    try:
        yield
    finally:
        _DEPTH[0] -= 1
        JITFunction.__call__ = saved_call
        for name in fixes:
            del vars(builder)[name]
        vars(builder).update(shadowed)
        scope.restore()


def _dot_bf16_as_fp32(create_dot):
    """The interpreter multiplies bf16 operands as their uint16 bits; give it their fp32 values (exact)."""
    import triton.language as tl
    from triton.runtime.interpreter import TensorHandle

    def widen(h):
        if h.dtype.scalar != tl.bfloat16:
            return h
        return TensorHandle((h.data.astype(np.uint32) << np.uint32(16)).view(np.float32), tl.float32)

    def dot(a, b, d, input_precision, max_num_imprecise_acc):
        return create_dot(widen(a), widen(b), d, input_precision, max_num_imprecise_acc)
    return dot


def _bf16_casts(cast_impl):
    """Casts to and from bf16 done as the GPU does them. The bare interpreter truncates fp32 -> bf16 (its
    ``_convert_float`` gets no rounding mode: 0.1 -> 0.0996, 3.4e38 stays finite), casts ints, bool and
    fp64 to bf16 with ``astype(uint16)`` (the integer value as bits), and flushes bf16 subnormals to zero
    or garbage on the way to fp32. Here bf16 -> fp32 is the exact bit shift, and every source goes to bf16
    through fp32 (exact for fp16, bool and ints below 2**24) with ml_dtypes, rounding to nearest even.
    fp64 -> bf16 thus rounds twice, as numpy (ml_dtypes) and torch on cpu do; the GPU rounds once, which
    differs only when the first rounding lands on a tie."""
    import triton.language as tl
    from triton.runtime.interpreter import TensorHandle

    def cast(src, dst_type):
        dst = dst_type.scalar
        if src.dtype.scalar == tl.bfloat16 and dst != tl.bfloat16:
            widened = TensorHandle((src.data.astype(np.uint32) << np.uint32(16)).view(np.float32), tl.float32)
            return widened if dst == tl.float32 else cast_impl(widened, dst_type)
        if dst == tl.bfloat16 and src.dtype.scalar != tl.bfloat16:
            return TensorHandle(src.data.astype(np.float32).astype(ml_dtypes.bfloat16).view(np.uint16), dst)
        return cast_impl(src, dst_type)
    return cast


# --- libdevice in numpy ------------------------------------------------------------------------------
# libdevice function -> (numpy implementation, the libdevice symbols it answers). fp32 symbols compute in
# float32 with numpy's ufuncs (within an ulp or two of libdevice), special functions in float64 through
# the math module; results are rounded to the symbol's result type. On the GPU, fp32 libdevice functions
# flush denormals to zero (Triton's enable_reflect_ftz); these do not.

def _math_vectorized(f):
    def safe(v):
        try:
            return f(v)
        except (ValueError, OverflowError):      # math raises at poles and on overflow; libdevice does not
            return _AT_POLE.get(f, lambda v: math.nan)(v)
    return lambda x: np.vectorize(safe, otypes=[np.float64])(x.astype(np.float64))


_AT_POLE = {math.lgamma: lambda v: math.inf, math.gamma: lambda v: math.inf if v > 0 else math.nan}


def _round_half_away(x):
    t = np.trunc(x)
    return np.where(np.abs(x - t) >= 0.5, t + np.sign(x), t)


def _remainder(x, y):
    try:
        return math.remainder(x, y)
    except ValueError:                           # x infinite or y zero: IEEE says nan
        return math.nan


def _fma(x, y, z):
    if x.dtype == np.float64:
        from triton._C.libtriton import interpreter as _native
        return _native.fma_fp64(*np.broadcast_arrays(x, y, z))
    return x.astype(np.float64) * y + z          # the fp64 product of fp32/fp16 values is exact


def _both(name: str) -> tuple[str, str]:
    return (f"__nv_{name}f", f"__nv_{name}")     # the common pattern: fp32 symbol ends in f


_LIBDEVICE_BY_NAME: dict[str, tuple[Callable, tuple[str, ...]]] = {
    "abs": (np.abs, ("__nv_abs", "__nv_llabs", "__nv_fabsf", "__nv_fabs")),
    "floor": (np.floor, _both("floor")),
    "ceil": (np.ceil, _both("ceil")),
    "trunc": (np.trunc, _both("trunc")),
    "rint": (np.rint, _both("rint")),
    "nearbyint": (np.rint, _both("nearbyint")),
    "round": (_round_half_away, _both("round")),
    "llrint": (np.rint, _both("llrint")),
    "sqrt": (np.sqrt, _both("sqrt")),
    "sqrt_rn": (np.sqrt, ("__nv_fsqrt_rn", "__nv_dsqrt_rn")),
    "rsqrt": (lambda x: 1 / np.sqrt(x), _both("rsqrt")),
    "cbrt": (np.cbrt, _both("cbrt")),
    "exp": (np.exp, _both("exp")),
    "fast_expf": (np.exp, ("__nv_fast_expf",)),
    "exp2": (np.exp2, _both("exp2")),
    "exp10": (lambda x: np.power(x.dtype.type(10), x), _both("exp10")),
    "expm1": (np.expm1, _both("expm1")),
    "log": (np.log, _both("log")),
    "log2": (np.log2, _both("log2")),
    "log10": (np.log10, _both("log10")),
    "log1p": (np.log1p, _both("log1p")),
    "sin": (np.sin, _both("sin")),
    "cos": (np.cos, _both("cos")),
    "tan": (np.tan, _both("tan")),
    "asin": (np.arcsin, _both("asin")),
    "acos": (np.arccos, _both("acos")),
    "atan": (np.arctan, _both("atan")),
    "sinh": (np.sinh, _both("sinh")),
    "cosh": (np.cosh, _both("cosh")),
    "tanh": (np.tanh, _both("tanh")),
    "asinh": (np.arcsinh, _both("asinh")),
    "acosh": (np.arccosh, _both("acosh")),
    "atanh": (np.arctanh, _both("atanh")),
    "erf": (_math_vectorized(math.erf), _both("erf")),
    "erfc": (_math_vectorized(math.erfc), _both("erfc")),
    "lgamma": (_math_vectorized(math.lgamma), _both("lgamma")),
    "tgamma": (_math_vectorized(math.gamma), _both("tgamma")),
    "isnan": (np.isnan, ("__nv_isnanf", "__nv_isnand")),
    "isinf": (np.isinf, ("__nv_isinff", "__nv_isinfd")),
    "finitef": (np.isfinite, ("__nv_finitef",)),
    "isfinited": (np.isfinite, ("__nv_isfinited",)),
    "signbit": (np.signbit, ("__nv_signbitf", "__nv_signbitd")),
    "pow": (lambda x, y: np.power(x, y.astype(x.dtype)), _both("pow") + ("__nv_powif", "__nv_powi")),
    "fmod": (np.fmod, _both("fmod")),
    "remainder": (np.vectorize(_remainder, otypes=[np.float64]), _both("remainder")),
    "atan2": (np.arctan2, _both("atan2")),
    "hypot": (np.hypot, _both("hypot")),
    "copysign": (np.copysign, _both("copysign")),
    "nextafter": (np.nextafter, _both("nextafter")),
    "div_rn": (np.divide, ("__nv_fdiv_rn", "__nv_ddiv_rn")),
    "fma": (_fma, _both("fma")),
}
_LIBDEVICE: dict[str, Callable] = {sym: f for f, syms in _LIBDEVICE_BY_NAME.values() for sym in syms}
LIBDEVICE_FUNCTIONS: tuple[str, ...] = tuple(sorted(_LIBDEVICE_BY_NAME))   # what interprets here


def _extern_elementwise(lib_name, lib_path, symbol, args, ret_type, is_pure):
    """The interpreter builder's ``create_extern_elementwise``, answered in numpy from ``_LIBDEVICE``."""
    from triton.runtime.interpreter import TensorHandle, _get_np_dtype
    f = _LIBDEVICE.get(symbol)
    if f is None:
        raise NotImplementedError(
            f"interpret: libdevice function {symbol} has no numpy implementation; add it to _LIBDEVICE_BY_NAME "
            f"in torchlite/devices/interpret.py (supported: {', '.join(sorted(_LIBDEVICE_BY_NAME))})")
    with np.errstate(all="ignore"):
        data = np.asarray(f(*(a.data for a in args)))
        out = data.astype(_get_np_dtype(ret_type))
    return TensorHandle(out, ret_type.scalar)


class InterpretedKernel:
    """``InterpretedKernel(jit_fn)[grid](*args, **kwargs)``: one launch in Triton's interpreter.

    numpy arrays are pointer arguments, Python and numpy scalars are scalar arguments typed as described
    in the module docstring; constexprs go by keyword; ``num_warps``, ``num_stages`` and the other launch
    options are accepted and ignored. ``grid`` is an int, a tuple of up to three ints, or a callable of the
    dict of arguments (launch options included) returning one, as in Triton. With ``copy_kernel`` a
    ``@triton.jit`` function in an imported file (tests/_interpret_kernels.py has it)::

        x = np.arange(40, dtype=np.float32); out = np.empty_like(x)
        launch = InterpretedKernel(copy_kernel)[lambda meta: (triton.cdiv(meta["n"], meta["BLOCK"]),)]
        launch(x, out, 40, BLOCK=16, num_warps=4)          # out now equals x
    """

    def __init__(self, jit_fn, signature: dict[str, str] | None = None):
        from triton.runtime.interpreter import InterpretedFunction
        from triton.runtime.jit import JITFunction
        if not isinstance(jit_fn, JITFunction):
            raise TypeError(f"interpret: expected a @triton.jit function, got {type(jit_fn).__name__} "
                            f"({getattr(jit_fn, '__name__', jit_fn)!r})")
        self.jit_fn = jit_fn
        self.name = jit_fn.fn.__name__
        self._fn = InterpretedFunction(jit_fn.fn)
        self._params = [p.name for p in jit_fn.params]
        self._constexprs = {p.name for p in jit_fn.params if p.is_constexpr}
        self._scalar_ty: dict[str, str] = {}
        for p in jit_fn.params:
            ann = p.annotation_type
            if ann and not ann.startswith("*"):
                self._scalar_ty[p.name] = ann
        for name, ty in (signature or {}).items():
            if name not in self._params:
                raise TypeError(f"interpret: signature names '{name}', which {self.name} has no parameter for; "
                                f"parameters: {', '.join(self._params)}")
            if not ty.startswith("*") and ty != "constexpr":
                self._scalar_ty[name] = _canonical_ty(ty)

    def __getitem__(self, grid) -> Callable[..., None]:
        return lambda *args, **kwargs: self.run(grid, *args, **kwargs)

    def run(self, grid, *args, **kwargs) -> None:
        """Launch on ``grid`` (the same as ``self[grid](*args, **kwargs)``)."""
        unknown = [k for k in kwargs if k not in self._params and k not in LAUNCH_OPTIONS]
        if unknown:
            raise TypeError(f"interpret: {self.name}() got unexpected keyword argument(s) {', '.join(unknown)}; "
                            f"parameters: {', '.join(self._params)}")
        if len(args) > len(self._params):
            raise TypeError(f"interpret: {self.name}() takes {len(self._params)} arguments, got {len(args)}")
        if callable(grid):
            meta = dict(zip(self._params, args))
            meta.update(kwargs)
            grid = grid(meta)
        grid = (grid,) if isinstance(grid, (int, np.integer)) else tuple(grid)
        if not 1 <= len(grid) <= 3 or not all(isinstance(g, (int, np.integer)) and g >= 0 for g in grid):
            raise ValueError(f"interpret: grid must be 1 to 3 non-negative ints, got {grid!r}")
        grid = tuple(int(g) for g in grid)
        if 0 in grid:
            return
        call_args = [self._wrap(name, a) for name, a in zip(self._params, args)]
        call_kwargs = {k: self._wrap(k, v) for k, v in kwargs.items() if k in self._params}
        with _interpreting(), np.errstate(all="ignore"):       # IEEE overflow and nan are silent on a GPU
            self._fn.run(*call_args, grid=grid, warmup=False, **call_kwargs)

    def _wrap(self, name: str, value):
        if name in self._constexprs:
            return value
        if isinstance(value, np.ndarray):
            return NumpyTensorAdapter(value)
        if isinstance(value, (bool, int, float, np.generic)):
            ty = self._scalar_ty.get(name) or _value_ty(value)
            return _scalar_tensor(value, ty)
        return value

    def __repr__(self) -> str:
        return f"InterpretedKernel({self.name})"


class InterpretRuntime:
    """The ``interpret`` device's memory and launches: buffers are C-contiguous numpy arrays.

        >>> import numpy as np, torchlite as tl
        >>> rt = InterpretRuntime()
        >>> rt.empty((2, 2), tl.int64).shape, rt.to_host(rt.from_host(np.ones(2, np.int8))).tolist()
        ((2, 2), [1, 1])
    """

    name = "interpret"

    def __init__(self):
        self._kernels: dict[Any, InterpretedKernel] = {}

    def program_scope(self):
        """A context for running a whole launch program: Triton is patched for the interpreter once, not
        once per kernel launch."""
        return _interpreting()

    def empty(self, shape: Sequence[int] | int, dtype) -> np.ndarray:
        """A new uninitialised C-contiguous buffer; ``dtype`` a torchlite dtype (or a numpy dtype/name)."""
        d = _dtypes.to_dtype(dtype)
        return np.empty(shape, dtype=d.np)

    def zeros(self, shape: Sequence[int] | int, dtype) -> np.ndarray:
        """A new zero-filled C-contiguous buffer."""
        return np.zeros(shape, dtype=_dtypes.to_dtype(dtype).np)

    def from_host(self, array) -> np.ndarray:
        """A C-contiguous copy of a host array (any torchlite dtype), which kernels may write."""
        a = np.asarray(array)
        _dtypes.from_numpy_dtype(a.dtype)           # TypeError naming the supported dtypes
        return np.array(a, order="C", copy=True)

    def to_host(self, buffer: np.ndarray) -> np.ndarray:
        """A host copy of the buffer, independent of later kernel writes."""
        return np.array(buffer, copy=True)

    def synchronize(self) -> None:
        """Kernels run synchronously in the interpreter: nothing to wait for."""

    def kernel(self, jit_fn, signature: dict[str, str] | None = None) -> InterpretedKernel:
        """The launcher of ``jit_fn``: ``rt.kernel(fn)[grid](*args, **constexprs_and_options)``.

        ``signature`` (name -> Triton type, as in ``KernelSpec.signature``) types the scalar arguments;
        without it, parameter annotations and then the values decide (see the module docstring).
        """
        key = (jit_fn, tuple(sorted((signature or {}).items())))
        k = self._kernels.get(key)
        if k is None:
            k = self._kernels[key] = InterpretedKernel(jit_fn, signature)
        return k

    def __repr__(self) -> str:
        return "InterpretRuntime()"
