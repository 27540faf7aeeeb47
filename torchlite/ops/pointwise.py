"""Pointwise ops: the shared kernel machinery, arithmetic, comparisons, logic, bitwise ops, casts, where, lerp.

Each op is one declaration: a name, a numpy function, and the dtype rule of its family. Kernels compute
float16/bfloat16 in float32 and round once at the end, as PyTorch's CPU kernels do. The unary math lives
in ``unary.py`` and the activations (with clamp) in ``activations.py``; both build on the helpers here.

    >>> import torchlite as tl
    >>> (tl.tensor([1, 2]) + 0.5).tolist()
    [1.5, 2.5]
"""
from __future__ import annotations

import math

import numpy as np

from .. import dtypes as _dt
from ..lazy import LazyNode, op_error
from ..tensor import Tensor, apply
from ._meta import _PROMOTE, C_NAMES, default_float, pointwise_shape, result_dtype, torch_name
from .registry import OpDef, register

_F32 = np.dtype(np.float32)
_COMPUTE = {_dt.float16.np: _F32, _dt.bfloat16.np: _F32}   # low-precision floats compute in float32
_NUMBER = (int, float, bool)
ALL_INPUTS = (0, 1, 2, 3)


def _operand(x):
    """A Tensor or Python number usable as an operand, or None (numpy scalars become Python numbers)."""
    if isinstance(x, np.generic):
        return x.item() if x.dtype.kind in "biuf" else None
    if isinstance(x, (Tensor, int, float)):
        return x
    return None


def _check_operands(name: str, *xs):
    out = []
    for x in xs:
        o = _operand(x)
        if o is None:
            raise op_error(TypeError, name, f"expected Tensor or Python number as argument, got {type(x).__name__}")
        out.append(o)
    if not any(isinstance(o, Tensor) for o in out):
        raise op_error(TypeError, name, "expected at least one Tensor argument, got only Python numbers")
    return out


# --- kernels -------------------------------------------------------------------------------------------

def _ufunc_kernel(ufunc):
    """Kernel calling ``ufunc`` in the result dtype (float32 for float16/bfloat16 results)."""
    def kernel(*xs, dtype, out=None):
        cd = _COMPUTE.get(dtype)
        if cd is None:
            if dtype.kind in "iu":
                # integer operands convert into the result dtype with wrap-around, as PyTorch's do
                xs = [_wrap_int(x, dtype) if type(x) is int else x for x in xs]
                return ufunc(*xs, out=out, dtype=dtype, casting="unsafe")
            return ufunc(*xs, out=out, dtype=dtype)
        r = ufunc(*xs, dtype=cd)
        if out is None:
            return r.astype(dtype)
        out[...] = r
        return out
    kernel.__name__ = ufunc.__name__
    return kernel


def _wrap_int(x: int, dtype):
    """A Python int as ``dtype``, wrapping out-of-range values as PyTorch does (int8 + 1000 wraps)."""
    return np.array(x, dtype=np.int64).astype(dtype)[()]


def _float_kernel(fn):
    """Kernel for a float function written with numpy expressions: inputs cast to the compute dtype."""
    def kernel(*xs, dtype, out=None):
        cd = _COMPUTE.get(dtype, dtype)
        xs = [x.astype(cd, copy=False) if isinstance(x, np.ndarray) else cd.type(x) for x in xs]
        r = fn(*xs)
        if out is None:
            return r.astype(dtype, copy=False) if r.dtype != dtype else r
        out[...] = r
        return out
    kernel.__name__ = fn.__name__
    return kernel


def _compare_kernel(ufunc):
    """Comparison/logic kernel: operands compared in their promoted dtype ``common``, result bool."""
    def kernel(a, b, *, common, dtype, out=None):
        cd = _COMPUTE.get(common.np, common.np)
        return ufunc(_as(a, cd), _as(b, cd), out=out)
    kernel.__name__ = ufunc.__name__
    return kernel


def _as(x, cd):
    """``x`` (array or Python number) in numpy dtype ``cd``; integers wrap as in PyTorch."""
    if isinstance(x, np.ndarray):
        return x if x.dtype == cd else x.astype(cd)
    if cd.kind in "iu" and type(x) is int:
        return _wrap_int(x, cd)
    return x


def _up(x):
    # bfloat16 compares exactly once widened to float32 (ml_dtypes' own loops are slow)
    if isinstance(x, np.ndarray) and x.dtype == _dt.bfloat16.np:
        return x.astype(np.float32)
    return x


# --- meta rules ------------------------------------------------------------------------------------------

def _meta_promote(srcs, params):
    a = srcs[0]
    if len(srcs) == 2 and type(a) is LazyNode and type(srcs[1]) is LazyNode and a.shape == srcs[1].shape and a.shape:
        return a.shape, _PROMOTE[(a.dtype, srcs[1].dtype)]
    return pointwise_shape(srcs), result_dtype(srcs)


def _meta_float(srcs, params):
    shape, d = _meta_promote(srcs, params)
    return shape, default_float(d)


def _meta_bool(srcs, params):
    return pointwise_shape(srcs), _dt.bool


def _meta_int_only(name):
    def meta(srcs, params):
        shape, d = _meta_promote(srcs, params)
        if d.category == 2:
            raise NotImplementedError(f"\"{name}_cpu\" not implemented for '{torch_name(d)}'")
        return shape, d
    return meta


def _meta_no_bool(name, msg=None):
    def meta(srcs, params):
        shape, d = _meta_promote(srcs, params)
        if d is _dt.bool:
            raise (RuntimeError if msg else NotImplementedError)(msg or f"\"{name}_cpu\" not implemented for 'Bool'")
        return shape, d
    return meta

# unary ---------------------------------------------------------------------------------------------------

def _meta_same(srcs, params):
    return srcs[0].shape, srcs[0].dtype


def _meta_same_no_bool(name, msg=None):
    def meta(srcs, params):
        if srcs[0].dtype is _dt.bool:
            raise (RuntimeError if msg else NotImplementedError)(msg or f"\"{name}_cpu\" not implemented for 'Bool'")
        return srcs[0].shape, srcs[0].dtype
    return meta


def _meta_unary_float(srcs, params):
    return srcs[0].shape, default_float(srcs[0].dtype)


def _meta_unary_bool(srcs, params):
    return srcs[0].shape, _dt.bool


def _unary_bool_kernel(fn):
    def kernel(x, *, dtype, out=None):
        return fn(_up(x), out=out)
    kernel.__name__ = fn.__name__
    return kernel



def _float_unary(name, fn):
    # numpy ufuncs write straight into out= in the result dtype; other functions go through _float_kernel
    kernel = _ufunc_kernel(fn) if isinstance(fn, np.ufunc) else _float_kernel(fn)
    return _pw(name, _meta_unary_float, kernel)


def _meta_float_only(name):
    def meta(srcs, params):
        if srcs[0].dtype.category != 2:
            raise NotImplementedError(f"\"{name}_cpu\" not implemented for '{torch_name(srcs[0].dtype)}'")
        return srcs[0].shape, srcs[0].dtype
    return meta



# --- declarations ----------------------------------------------------------------------------------------

def _pw(name, meta, kernel, *, params=(), out=True):
    return register(OpDef(name, meta, kernel, params, kind="pointwise", supports_out=out, donate=ALL_INPUTS if out else ()))


_SUB_BOOL = ("Subtraction, the `-` operator, with a bool tensor is not supported. "
             "If you are trying to invert a mask, use the `~` or `logical_not()` operator instead.")
_SUB_BOOLS = ("Subtraction, the `-` operator, with two bool tensors is not supported. "
              "Use the `^` or `logical_xor()` operator instead.")


def _sub_bool_message(srcs) -> str | None:
    """PyTorch refuses subtraction with any bool operand; its message depends on whether both are."""
    flags = [s.dtype is _dt.bool if type(s) is LazyNode or isinstance(s, Tensor) else type(s) is bool for s in srcs]
    return None if not any(flags) else (_SUB_BOOLS if all(flags) else _SUB_BOOL)
_NEG_BOOL = ("Negation, the `-` operator, on a bool tensor is not supported. "
             "If you are trying to invert a mask, use the `~` or `logical_not()` operator instead.")

ADD = _pw("add", _meta_promote, _ufunc_kernel(np.add))
def _meta_sub(srcs, params):
    msg = _sub_bool_message(srcs)
    if msg:
        raise RuntimeError(msg)
    return _meta_promote(srcs, params)


SUB = _pw("sub", _meta_sub, _ufunc_kernel(np.subtract))
MUL = _pw("mul", _meta_promote, _ufunc_kernel(np.multiply))
DIV = _pw("div", _meta_float, _ufunc_kernel(np.true_divide))
MAXIMUM = _pw("maximum", _meta_promote, _ufunc_kernel(np.maximum))
MINIMUM = _pw("minimum", _meta_promote, _ufunc_kernel(np.minimum))
FMOD = _pw("fmod", _meta_no_bool("fmod"), _ufunc_kernel(np.fmod))
REMAINDER = _pw("remainder", _meta_no_bool("remainder"), _ufunc_kernel(np.remainder))
FLOOR_DIVIDE = _pw("floor_divide", _meta_no_bool("floor_divide"), _ufunc_kernel(np.floor_divide))
ATAN2 = _pw("atan2", _meta_float, _ufunc_kernel(np.arctan2))
BITWISE_AND = _pw("bitwise_and", _meta_int_only("bitwise_and"), _ufunc_kernel(np.bitwise_and))
BITWISE_OR = _pw("bitwise_or", _meta_int_only("bitwise_or"), _ufunc_kernel(np.bitwise_or))
BITWISE_XOR = _pw("bitwise_xor", _meta_int_only("bitwise_xor"), _ufunc_kernel(np.bitwise_xor))
def _meta_shift(name):
    def meta(srcs, params):
        shape, d = _meta_promote(srcs, params)
        if d.category != 1:
            raise NotImplementedError(f"\"{name}_cpu\" not implemented for '{torch_name(d)}'")
        return shape, d
    return meta


LEFT_SHIFT = _pw("bitwise_left_shift", _meta_shift("lshift"), _ufunc_kernel(np.left_shift))
RIGHT_SHIFT = _pw("bitwise_right_shift", _meta_shift("rshift"), _ufunc_kernel(np.right_shift))


def _trunc_divide(a, b):
    q = np.true_divide(a, b)
    return np.trunc(q)


def _div_trunc_kernel(a, b, *, dtype, out=None):
    if dtype.kind in "iu":
        a, b = _as(a, dtype), _as(b, dtype)
        q = np.floor_divide(a, b, dtype=dtype)
        fix = (np.remainder(a, b, dtype=dtype) != 0) & ((np.asarray(a) < 0) != (np.asarray(b) < 0))
        r = q + fix.astype(dtype)
        if out is None:
            return r
        out[...] = r
        return out
    return _float_kernel(_trunc_divide)(a, b, dtype=dtype, out=out)


DIV_TRUNC = _pw("div_trunc", _meta_no_bool("div_trunc"), _div_trunc_kernel)


def _meta_pow(srcs, params):
    shape, d = _meta_promote(srcs, params)
    if d is _dt.bool and type(srcs[1]) is LazyNode:
        raise NotImplementedError("\"pow\" not implemented for 'Bool'")
    return shape, d


_power = _ufunc_kernel(np.power)


def _pow_kernel(a, b, *, dtype, out=None):
    if dtype.kind == "b":                       # bool ** True is the input, bool ** False is all True
        r = np.logical_or(a, not b)
    elif dtype.kind in "iu" and np.any(np.asarray(b) < 0):
        # PyTorch: an integer to a negative power is 0, except for bases 1 and -1
        bb = np.asarray(b)
        r = _power(a, np.maximum(bb, 0), dtype=dtype)
        aa = np.broadcast_to(np.asarray(a), r.shape)
        neg = np.broadcast_to(bb < 0, r.shape)
        r = np.where(neg, np.where(aa == 1, 1, np.where(aa == -1, np.where(bb % 2 == 0, 1, -1), 0)), r).astype(dtype)
    else:
        return _power(a, b, dtype=dtype, out=out)
    if out is None:
        return r
    out[...] = r
    return out


POW = _pw("pow", _meta_pow, _pow_kernel)

def _cmp(name, ufunc):
    return register(OpDef(name, _meta_bool, _compare_kernel(ufunc), ("common",), kind="pointwise",
                          supports_out=True, donate=ALL_INPUTS))


EQ = _cmp("eq", np.equal)
NE = _cmp("ne", np.not_equal)
LT = _cmp("lt", np.less)
LE = _cmp("le", np.less_equal)
GT = _cmp("gt", np.greater)
GE = _cmp("ge", np.greater_equal)
LOGICAL_AND = _cmp("logical_and", np.logical_and)
LOGICAL_OR = _cmp("logical_or", np.logical_or)
LOGICAL_XOR = _cmp("logical_xor", np.logical_xor)


# unary logic and bitwise ------------------------------------------------------------------------------

BITWISE_NOT = _pw("bitwise_not", _meta_int_only("bitwise_not"),
                  lambda x, *, dtype, out=None: (np.logical_not if dtype.kind == "b" else np.invert)(x, out=out))
LOGICAL_NOT = _pw("logical_not", _meta_unary_bool, _unary_bool_kernel(np.logical_not))


def _meta_cast(srcs, params):
    return srcs[0].shape, params[0]


def _cast_kernel(x, *, to, dtype, out=None):
    if out is None:
        return x.astype(dtype)
    out[...] = x
    return out


CAST = register(OpDef("cast", _meta_cast, _cast_kernel, ("to",), kind="pointwise", supports_out=True,
                      donate=ALL_INPUTS))


def _meta_where(srcs, params):
    c = srcs[0]
    if type(c) is LazyNode and c.dtype is not _dt.bool:
        raise RuntimeError(f"where expected condition to be a boolean tensor, but got a tensor with dtype "
                           f"{torch_name(c.dtype)}")
    return pointwise_shape(srcs), result_dtype(srcs[1:])


_SAME_SIZE_INT = {np.dtype(np.float32): np.dtype(np.int32), np.dtype(np.float64): np.dtype(np.int64)}


def _where_kernel(c, x, y, *, dtype, out=None):
    cd = _COMPUTE.get(dtype, dtype)
    bits = _SAME_SIZE_INT.get(dtype)
    if (out is not None and out is y and bits is not None and type(x) in (int, float) and x == 0
            and math.copysign(1.0, x) > 0 and isinstance(c, np.ndarray)):
        # relu's backward, ``where(x <= 0, 0, g)`` into g's own buffer: clear the bits where c holds. Exact
        # (+0.0 is all zero bits), branch-free and 3-4x faster than np.where on a random mask, no copy.
        keep = np.subtract(c, 1, dtype=bits)            # 0 where c, all ones elsewhere
        v = out.view(bits)
        np.bitwise_and(v, keep, out=v)
        return out
    r = np.where(c, _as(x, cd), _as(y, cd))
    if out is None:
        return r.astype(dtype, copy=False) if r.dtype != dtype else r
    out[...] = r
    return out


WHERE = _pw("where", _meta_where, _where_kernel)


def _lerp(start, end, weight):
    diff = end - start
    return np.where(np.abs(weight) < 0.5, start + weight * diff, end - diff * (1 - weight))


def _meta_lerp(srcs, params):
    shape, d = _meta_promote(srcs, params)
    if srcs[0].dtype.category != 2:
        raise NotImplementedError(f"\"lerp_kernel_scalar\" not implemented for '{torch_name(srcs[0].dtype)}'")
    if type(srcs[1]) is LazyNode and srcs[1].dtype is not srcs[0].dtype:
        raise RuntimeError(f"expected dtype {C_NAMES[srcs[0].dtype.name]} for `end` but got dtype "
                           f"{C_NAMES[srcs[1].dtype.name]}")
    if type(srcs[2]) is LazyNode and srcs[2].dtype is not srcs[0].dtype:
        raise RuntimeError(f"expected dtype {C_NAMES[srcs[0].dtype.name]} for `weight` but got dtype "
                           f"{C_NAMES[srcs[2].dtype.name]}")
    return shape, srcs[0].dtype


LERP = _pw("lerp", _meta_lerp, _float_kernel(_lerp))


# --- frontends (PyTorch signatures) -----------------------------------------------------------------------

def _binary(op, name):
    def f(input, other, *, out=None):
        if out is not None:
            raise op_error(TypeError, name, "out= is not supported; use the in-place variant instead")
        return apply(op, _check_operands(name, input, other))
    f.__name__ = f.__qualname__ = name
    f.__doc__ = f"``torch.{name}``: elementwise, with broadcasting and type promotion."
    return f


def _compare(op, name):
    def f(input, other, *, out=None):
        if out is not None:
            raise op_error(TypeError, name, "out= is not supported; use the in-place variant instead")
        a, b = _check_operands(name, input, other)
        common = result_dtype([x.node if isinstance(x, Tensor) else x for x in (a, b)])
        return apply(op, (a, b), (common,))
    f.__name__ = f.__qualname__ = name
    f.__doc__ = f"``torch.{name}``: elementwise, compared in the promoted dtype; the result is bool."
    return f


def _scaled(name, a, b, alpha):
    """``alpha * b`` for add/sub, in the dtype ``a op b`` has (alpha never changes the result dtype)."""
    r = result_dtype([x.node if isinstance(x, Tensor) else x for x in (a, b)])
    if r.category == 1 and isinstance(alpha, float):
        raise op_error(RuntimeError, name, "For integral input tensors, argument alpha must not be a floating "
                       "point number.")
    if r is _dt.bool and not isinstance(alpha, bool) and alpha not in (0, 1):
        alpha = True                 # bool arithmetic: any non-zero alpha is True, as in PyTorch
    if not isinstance(b, Tensor):
        return _dt_cast_scalar(b * alpha, r)
    scaled = mul(b, alpha)
    return scaled if scaled.dtype is r else scaled.to(r)


def _dt_cast_scalar(v, d: _dt.dtype):
    return bool(v) if d is _dt.bool else (int(v) if d.category == 1 else v)


def add(input, other, *, alpha=1, out=None):
    """``input + alpha * other`` with broadcasting and type promotion."""
    if out is not None:
        raise op_error(TypeError, "add", "out= is not supported; use the in-place variant instead")
    a, b = _check_operands("add", input, other)
    if alpha != 1:
        b = _scaled("add", a, b, alpha)
    return apply(ADD, (a, b))


def sub(input, other, *, alpha=1, out=None):
    """``input - alpha * other``."""
    if out is not None:
        raise op_error(TypeError, "sub", "out= is not supported; use the in-place variant instead")
    a, b = _check_operands("sub", input, other)
    msg = _sub_bool_message((a, b))
    if msg:
        raise op_error(RuntimeError, "sub", msg)
    if alpha != 1:
        b = _scaled("sub", a, b, alpha)
    return apply(SUB, (a, b))


def rsub(input, other, *, alpha=1):
    return sub(other, input, alpha=alpha)


mul = multiply = _binary(MUL, "mul")
maximum = _binary(MAXIMUM, "maximum")
minimum = _binary(MINIMUM, "minimum")
fmax = None  # not provided: NaN-ignoring max is rarely used
fmod = _binary(FMOD, "fmod")
remainder = _binary(REMAINDER, "remainder")
atan2 = _binary(ATAN2, "atan2")
eq = _compare(EQ, "eq")
ne = _compare(NE, "ne")
lt = _compare(LT, "lt")
le = _compare(LE, "le")
gt = _compare(GT, "gt")
ge = _compare(GE, "ge")
greater, greater_equal, less, less_equal, not_equal = gt, ge, lt, le, ne
logical_and = _compare(LOGICAL_AND, "logical_and")
logical_or = _compare(LOGICAL_OR, "logical_or")
logical_xor = _compare(LOGICAL_XOR, "logical_xor")
bitwise_and = _binary(BITWISE_AND, "bitwise_and")
bitwise_or = _binary(BITWISE_OR, "bitwise_or")
bitwise_xor = _binary(BITWISE_XOR, "bitwise_xor")
bitwise_left_shift = _binary(LEFT_SHIFT, "bitwise_left_shift")
bitwise_right_shift = _binary(RIGHT_SHIFT, "bitwise_right_shift")
del fmax


def div(input, other, *, rounding_mode: str | None = None, out=None):
    """True division, or rounded with ``rounding_mode`` "trunc" or "floor"."""
    if out is not None:
        raise op_error(TypeError, "div", "out= is not supported; use the in-place variant instead")
    a, b = _check_operands("div", input, other)
    if rounding_mode is None:
        return apply(DIV, (a, b))
    if rounding_mode == "floor":
        return apply(FLOOR_DIVIDE, (a, b))
    if rounding_mode == "trunc":
        return apply(DIV_TRUNC, (a, b))
    raise op_error(RuntimeError, "div", f"expected rounding_mode to be one of None, 'trunc', or 'floor' but found '{rounding_mode}'")


divide = true_divide = div


def floor_divide(input, other):
    """``input // other`` (rounds toward negative infinity, as Python and PyTorch do)."""
    return apply(FLOOR_DIVIDE, _check_operands("floor_divide", input, other))


def pow(input, exponent):
    """``input ** exponent``; integer tensors to negative integer powers raise."""
    a, b = _check_operands("pow", input, exponent)
    if isinstance(a, Tensor) and a.dtype.category != 2 and isinstance(b, int) and not isinstance(b, bool) and b < 0:
        raise op_error(RuntimeError, "pow", "Integers to negative integer powers are not allowed.")
    return apply(POW, (a, b))


def float_power(input, exponent):
    a, b = _check_operands("float_power", input, exponent)
    a = a.double() if isinstance(a, Tensor) else float(a)
    b = b.double() if isinstance(b, Tensor) else float(b)
    return apply(POW, (a, b))


def _unary(op, name):
    def f(input):
        if not isinstance(input, Tensor):
            raise op_error(TypeError, name, f"expected a Tensor, got {type(input).__name__}")
        return apply(op, (input,))
    f.__name__ = f.__qualname__ = name
    f.__doc__ = f"``torch.{name}``, elementwise."
    return f


bitwise_not = _unary(BITWISE_NOT, "bitwise_not")
logical_not = _unary(LOGICAL_NOT, "logical_not")


def cast(input, dtype) -> Tensor:
    """``input`` converted to ``dtype`` (what ``Tensor.to(dtype)`` builds)."""
    return apply(CAST, (input,), (_dt.to_dtype(dtype),))


def where(condition, input=None, other=None):
    """``input`` where ``condition`` holds, else ``other``; ``where(condition)`` is ``nonzero(as_tuple=True)``."""
    if input is None and other is None:
        from .indexing import nonzero
        return nonzero(condition, as_tuple=True)
    if not isinstance(condition, Tensor):
        raise op_error(TypeError, "where", f"condition must be a Tensor, got {type(condition).__name__}")
    x, y = _check_operands("where", condition, input, other)[1:]     # both branches may be numbers
    return apply(WHERE, (condition, x, y))


def lerp(input, end, weight):
    """``input + weight * (end - input)``."""
    _check_operands("lerp", input, end, weight)
    return apply(LERP, (input, _operand(end), _operand(weight)))


def equal(input, other) -> bool:
    """True when both have the same shape and values."""
    if input.shape != other.shape:
        return False
    from .reduction import all as _all
    return bool(_all(eq(input, other)).item())


# --- VJP rules: (grad_out, out, *srcs, *params) -> one gradient per source (None: no gradient) -----------
# Sources are tensors or the Python scalars the op read; the engine sums gradients back to each
# source's shape and casts them to its dtype.

# torch's conventions where the derivative is a choice: maximum/minimum split ties evenly; d/dexp of
# 0 ** e is 0 for e >= 0.

def _diff(x) -> bool:
    """Whether source ``x`` can carry a gradient (a floating tensor; not a Python scalar, int or bool)."""
    return isinstance(x, Tensor) and x.dtype.is_floating_point


def _zeros(g):
    from .creation import zeros_like
    return zeros_like(g)


def _each(*pairs):
    """The gradient per source: ``(src, thunk)`` pairs, the thunk called only for differentiable sources."""
    return tuple(f() if _diff(x) else None for x, f in pairs)


def _vjp_add(g, out, a, b):
    return _each((a, lambda: g), (b, lambda: g))


def _vjp_sub(g, out, a, b):
    return _each((a, lambda: g), (b, lambda: -g))


def _vjp_mul(g, out, a, b):
    return _each((a, lambda: g * b), (b, lambda: g * a))


def _vjp_div(g, out, a, b):
    return _each((a, lambda: g / b), (b, lambda: -g * ((a / b) / b)))


def _vjp_zero2(g, out, a, b):
    """floor_divide and div(rounding_mode="trunc") are piecewise constant."""
    return _each((a, lambda: _zeros(g)), (b, lambda: _zeros(g)))


def _vjp_remainder(g, out, a, b):
    return _each((a, lambda: g), (b, lambda: -g * div(a, b, rounding_mode="floor")))


def _vjp_fmod(g, out, a, b):
    return _each((a, lambda: g), (b, lambda: -g * div(a, b, rounding_mode="trunc")))


def _vjp_max_min(sign):
    def rule(g, out, a, b):
        half = where(eq(a, b), g / 2, g)
        return _each((a, lambda: where(lt(a, b) if sign > 0 else gt(a, b), 0.0, half)),
                     (b, lambda: where(gt(a, b) if sign > 0 else lt(a, b), 0.0, half)))
    return rule


def _vjp_atan2(g, out, a, b):
    def r():
        return g / (a * a + b * b)
    return _each((a, lambda: r() * b), (b, lambda: r() * -a))


def _vjp_pow(g, out, a, b):
    def d_base():
        if not isinstance(b, Tensor):
            return _zeros(g) if b == 0 else g * (b * a ** (b - 1))
        return where(eq(b, 0), 0.0, g * (b * a ** (b - 1)))

    def d_exponent():
        if not isinstance(a, Tensor):
            if a == 0:
                return where(ge(b, 0), 0.0, g * (out * -math.inf))
            return g * (out * (math.log(a) if a > 0 else math.nan))      # log of a negative base is NaN
        from .unary import log
        return g * where(logical_and(eq(a, 0), ge(b, 0)), 0.0, out * log(a))
    return _each((a, d_base), (b, d_exponent))


def _vjp_unary(fn):
    """A rule for a one-input op whose derivative is ``fn(g, out, x)``."""
    def rule(g, out, x, *params):
        return (fn(g, out, x) if _diff(x) else None,)
    return rule


def _vjp_where(g, out, c, x, y):
    return (None,) + _each((x, lambda: where(c, g, 0.0)), (y, lambda: where(c, 0.0, g)))


def _vjp_lerp(g, out, start, end, weight):
    return _each((start, lambda: g * (1 - weight)), (end, lambda: g * weight), (weight, lambda: g * (end - start)))


VJPS = {
    ADD: _vjp_add, SUB: _vjp_sub, MUL: _vjp_mul, DIV: _vjp_div,
    DIV_TRUNC: _vjp_zero2, FLOOR_DIVIDE: _vjp_zero2, REMAINDER: _vjp_remainder, FMOD: _vjp_fmod,
    MAXIMUM: _vjp_max_min(+1), MINIMUM: _vjp_max_min(-1), ATAN2: _vjp_atan2, POW: _vjp_pow,
    WHERE: _vjp_where, LERP: _vjp_lerp,
    CAST: _vjp_unary(lambda g, out, x: g),     # the engine casts the gradient back to the source dtype
}
for _op, _rule in VJPS.items():
    _op.vjp = _rule
del _op, _rule

__all__ = [
    "add", "sub", "rsub", "mul", "multiply", "div", "divide", "true_divide", "floor_divide", "remainder", "fmod",
    "pow", "float_power", "maximum", "minimum", "atan2", "eq", "ne", "lt", "le", "gt", "ge", "greater",
    "greater_equal", "less", "less_equal", "not_equal", "logical_and", "logical_or", "logical_xor", "logical_not",
    "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not", "bitwise_left_shift", "bitwise_right_shift", "where",
    "lerp", "equal",
]


def _where_method(self, condition, other):
    """``x.where(condition, y)`` is ``where(condition, x, y)``."""
    return where(condition, self, other)


PROPERTIES: dict = {}
# Tensor methods and in-place variants of these functions (bound in methods.py).
METHODS = [
    "add", "sub", "mul", "div", "divide", "true_divide", "floor_divide", "remainder", "fmod", "pow", "float_power",
    "maximum", "minimum", "atan2", "eq", "ne", "lt", "le", "gt", "ge", "greater", "greater_equal", "less",
    "less_equal", "not_equal", "logical_and", "logical_or", "logical_xor", "logical_not", "bitwise_and",
    "bitwise_or", "bitwise_xor", "bitwise_not", "bitwise_left_shift", "bitwise_right_shift", "lerp", "equal",
    "rsub", "multiply",
]
INPLACE = [
    "add", "sub", "mul", "div", "divide", "true_divide", "floor_divide", "remainder", "fmod", "pow", "atan2", "eq",
    "ne", "lt", "le", "gt", "ge", "logical_and", "logical_or", "logical_xor", "logical_not", "bitwise_and",
    "bitwise_or", "bitwise_xor", "bitwise_not", "bitwise_left_shift", "bitwise_right_shift", "lerp", "multiply",
]


def __getattr__(name: str):
    """``pointwise.<name>`` still finds the unary ops and activations that moved to their own modules."""
    if name.startswith("__"):                   # import machinery probing (__path__, ...)
        raise AttributeError(name)
    from . import activations, unary
    for mod in (unary, activations):
        if name in mod.__all__:
            return getattr(mod, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
