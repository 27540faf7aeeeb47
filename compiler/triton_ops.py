"""How each pointwise registry op is written in Triton: one rule per op, each returning one Triton expression.

The code generator turns every pointwise graph node into ``x3 = <expression>``; this module is the table it
asks. A rule takes the node's inputs as ``Arg`` records, the node's dtype ``out`` (decided by the op's meta
rule: type promotion is already done) and the op's params as keywords, and returns an expression whose
Triton value has dtype ``out``::

    @dataclass(frozen=True)
    class Arg:
        expr: str              # a Triton expression or variable name holding the value
        dtype: DType | None    # the torchlite dtype of the value; None for a Python scalar kernel argument
        pytype: type | None = None   # for scalars: float, int or bool
    POINTWISE: dict[str, Callable[..., str]]
    # rule(args: list[Arg], out: DType, **params) -> str : an expression whose Triton value has dtype `out`
    def lower_pointwise(opname, args, out, **params) -> str

    >>> from torchlite import dtypes as dt
    >>> lower_pointwise("add", [Arg("x0", dt.int32), Arg("s1", None, float)], dt.float32)
    'x0.to(tl.float32) + tl.cast(s1, tl.float32)'

Conventions (they are what makes the results match the registry's numpy kernels, which match PyTorch):

- float16/bfloat16 math runs in float32 ("opmath") and is rounded once to ``out`` at the end, as PyTorch's
  kernels do; comparisons, ``where`` and casts need no detour.
- Scalars are cast explicitly to the dtype the computation runs in: ``tl.cast(s, tl.float32)``. A Python
  float kernel argument is fp32 unless the kernel's signature declares it ``fp64`` (compiled Triton's JIT
  makes every float fp32; so does the interpret runtime, ``torchlite/devices/interpret.py``), so a float64
  computation sees the scalar rounded to float32 (relative error up to 2**-24, e.g. 0.1 -> 0.10000000149)
  unless the code generator types it ``fp64``; then the cast is a no-op and the result is exact.
- Scalars headed for float16/bfloat16 go through float32 first (``tl.cast(s, tl.float32).to(tl.float16)``),
  as the numpy kernels convert them.
- Transcendental functions come from libdevice (the backend-neutral ``triton.language.extra.libdevice``,
  which the NVIDIA backend maps to CUDA's libdevice): the same ``__nv_*`` functions PyTorch's CUDA kernels
  call. Checked in Triton 3.9's PTX for sm_90: ``tl.exp`` is ``ex2.approx`` after a multiply by log2(e)
  (error growing with |x|), ``tl.sqrt``/``tl.rsqrt`` are ``sqrt.approx``/``rsqrt.approx`` and fp32 ``a / b``
  is ``div.full.f32`` (2 ulp); so rules use ``libdevice.exp``, ``tl.sqrt_rn`` and ``tl.math.div_rn`` for
  fp32 (IEEE, as numpy), and plain ``/``/``tl.sqrt`` for fp64 (``div.rn.f64``/``sqrt.rn.f64``). (``tl.log``,
  ``tl.sin``, ``tl.cos`` and ``tl.erf`` already call libdevice; ``tl.erf`` is used as is.)
- Generated kernels must import ``tl`` and ``libdevice``: put ``KERNEL_IMPORTS`` in their header.
- An argument's ``expr`` may appear several times in the result (``remainder``, ``where``-based forms):
  pass variable names or literals, not long expressions. Values a rule needs more than once are bound
  inline with ``:=`` to names derived from a hash of the rule's inputs (``_m_1a2b3c4d``), so the same name
  always holds the same value and nested rules never clash. Triton's code generator and its interpreter
  both accept ``:=``.

Triton 3.9's bare interpreter cannot run libdevice and gets bfloat16 conversions wrong; run generated
kernels through ``torchlite.devices.interpret`` (it answers libdevice in numpy and rounds bf16 correctly).
Rules never compute on bfloat16 values directly (the interpreter would act on their bits): they convert to
float32 first, as they must for the GPU's accuracy anyway.

Compile options that change results on a GPU (not decided here): ``enable_fp_fusion`` (Triton 3.9 still
defaults to fusing ``a * b + c`` into an FMA, which moves lerp/gelu/softplus by an ulp against numpy) and
``enable_reflect_ftz`` (on by default: libdevice's float32 functions flush subnormals to zero).
"""
from __future__ import annotations

import math
import re
import zlib
from dataclasses import dataclass
from typing import Callable

import numpy as np

from torchlite import dtypes as _dt
from torchlite.dtypes import dtype as DType

__all__ = ["Arg", "POINTWISE", "lower_pointwise", "tl_dtype", "opmath", "cast", "KERNEL_IMPORTS"]

KERNEL_IMPORTS = "import triton\nimport triton.language as tl\nfrom triton.language.extra import libdevice\n"


@dataclass(frozen=True)
class Arg:
    """One input of a pointwise node: a Triton expression (usually a variable name) and what it holds."""
    expr: str              # a Triton expression or variable name holding the value
    dtype: DType | None    # the torchlite dtype of the value; None for a Python scalar kernel argument
    pytype: type | None = None   # for scalars: float, int or bool

    @property
    def is_scalar(self) -> bool:
        return self.dtype is None


# --- helpers ---------------------------------------------------------------------------------------------

_TL = {"bool": "tl.int1", "uint8": "tl.uint8", "int8": "tl.int8", "int16": "tl.int16", "int32": "tl.int32",
       "int64": "tl.int64", "float16": "tl.float16", "bfloat16": "tl.bfloat16", "float32": "tl.float32",
       "float64": "tl.float64"}
_HALF = (_dt.float16, _dt.bfloat16)


def tl_dtype(d: DType) -> str:
    """The Triton dtype spelled in kernel source: ``tl_dtype(torchlite.float32) == "tl.float32"``."""
    return _TL[d.name]


def opmath(d: DType) -> DType:
    """The dtype a computation producing ``d`` runs in: float32 for float16/bfloat16, else ``d``."""
    return _dt.float32 if d in _HALF else d


_ATOM = re.compile(r"[\w.]+")


def _atom(expr: str) -> str:
    """``expr`` safe to use as an operand: names, numbers and whole calls/parenthesized forms stay as they are."""
    if _ATOM.fullmatch(expr):
        return expr
    m = re.match(r"[\w.]*\(", expr)
    if m and expr.endswith(")") and _closing(expr, m.end() - 1) == len(expr) - 1:
        return expr
    return f"({expr})"


def _closing(s: str, i: int) -> int:
    """Index of the parenthesis closing the one at ``s[i]``."""
    depth = 0
    for j in range(i, len(s)):
        if s[j] == "(":
            depth += 1
        elif s[j] == ")":
            depth -= 1
            if depth == 0:
                return j
    return -1


def _to(expr: str, src: DType, dst: DType) -> str:
    """The value of ``expr`` (a tensor of dtype ``src``) as ``dst``; see ``cast``."""
    if src is dst:
        return expr
    e = _atom(expr)
    if dst is _dt.bfloat16 and src not in (_dt.float32, _dt.float16):
        # through float32, as ml_dtypes and c10::BFloat16 convert (and the interpreter needs it)
        return f"{e}.to(tl.float32).to(tl.bfloat16)"
    if src.is_floating_point and dst in (_dt.int8, _dt.int16):
        # out-of-range floats wrap like PyTorch's (and numpy's) CPU casts, not saturate like cvt.rzi.s8
        return f"{e}.to(tl.int32).to({tl_dtype(dst)})"
    if src.is_floating_point and dst is _dt.uint8:
        return f"{e}.to(tl.int64).to(tl.uint8)"       # c10 casts float -> int64 -> uint8 (negatives wrap)
    return f"{e}.to({tl_dtype(dst)})"


def cast(arg: Arg, d: DType) -> str:
    """``arg`` converted to ``d``; no-op casts of tensors are omitted, scalars are always cast explicitly.

        >>> cast(Arg("s0", None, float), _dt.float16)
        'tl.cast(s0, tl.float32).to(tl.float16)'
    """
    if arg.dtype is None:
        if d in _HALF:
            return f"tl.cast({arg.expr}, tl.float32).to({tl_dtype(d)})"
        return f"tl.cast({arg.expr}, {tl_dtype(d)})"
    return _to(arg.expr, arg.dtype, d)


def _c(arg: Arg, d: DType) -> str:
    return _atom(cast(arg, d))


def _div(x: str, y: str, c: DType) -> str:
    """IEEE division in ``c``: fp32 ``/`` is ``div.full.f32`` (2 ulp) on NVIDIA, so fp32 uses ``div_rn``."""
    if c is _dt.float32:
        return f"tl.math.div_rn({x}, {y})"
    return f"{_atom(x)} / {_atom(y)}"


def _lit(v: float, c: DType) -> str:
    """A Python literal for ``v`` rounded to float dtype ``c`` (infinities and NaN spelled ``float(...)``)."""
    with np.errstate(over="ignore"):
        v = float(np.asarray(v, dtype=np.float64).astype(c.np))     # 1e300 in float32 is inf, as numpy has it
    if math.isnan(v):
        return 'float("nan")'
    if math.isinf(v):
        return 'float("inf")' if v > 0 else 'float("-inf")'
    return repr(v)


class _Names:
    """Temporaries for one rule application: ``_m_1a2b3c4d``; the suffix hashes the rule's inputs."""

    def __init__(self, op: str, args, out: DType, params: dict):
        key = f"{op}|{[(a.expr, a.dtype, a.pytype) for a in args]}|{out}|{sorted(params.items())}"
        self.suffix = f"{zlib.crc32(key.encode()):08x}"

    def __call__(self, label: str) -> str:
        return f"_{label}_{self.suffix}"


def _float_or_int(out: DType) -> tuple[DType, bool]:
    c = opmath(out)
    return c, c.is_floating_point


# --- binary arithmetic -----------------------------------------------------------------------------------

def _arith(sym: str, bool_sym: str | None):
    def rule(args, out, **_):
        c = opmath(out)
        a, b = (_c(x, c) for x in args)
        if out is _dt.bool:
            return f"{a} {bool_sym} {b}"          # numpy: True + True is True (Triton's i1 add would wrap)
        return _to(f"{a} {sym} {b}", c, out)
    return rule


def _rule_div(args, out, **_):
    c = opmath(out)
    a, b = (_c(x, c) for x in args)
    return _to(_div(a, b, c), c, out)


def _maxmin(cmp: str, bool_sym: str, tl_fn: str):
    def rule(args, out, **_):
        c = opmath(out)
        a, b = (_c(x, c) for x in args)
        if out is _dt.bool:
            return f"{a} {bool_sym} {b}"
        if not c.is_floating_point:
            return f"{tl_fn}({a}, {b})"
        # numpy's float loops: (a > b or isnan(a)) ? a : b for maximum: NaN propagates, ties give b
        return _to(_pick(a, cmp, b), c, out)
    return rule


def _pick(a: str, cmp: str, b: str) -> str:
    """``a`` where it is NaN or ``a cmp b``, else ``b``. Nested wheres, not ``(a > b) | (a != a)``: in
    Triton's interpreter a comparison of scalars joined to a tensor by ``|`` comes out as floats."""
    return f"tl.where({a} != {a}, {a}, tl.where({a} {cmp} {b}, {a}, {b}))"


def _rule_fmod(args, out, **_):
    c, fl = _float_or_int(out)
    a, b = (_c(x, c) for x in args)
    if fl:
        return _to(f"libdevice.fmod({a}, {b})", c, out)     # exact; fp32 `%` lowers to a - trunc(a/b)*b
    return f"{a} % {b}"                                       # Triton's integer % is C's (sign of a)


def _rule_remainder(args, out, **params):
    c, fl = _float_or_int(out)
    a, b = (_c(x, c) for x in args)
    r = _Names("remainder", args, out, params)("r")
    if not fl:
        if not out.is_signed:
            return f"{a} % {b}"
        return f"tl.where((({r} := {a} % {b}) != 0) & (({r} < 0) != ({b} < 0)), {r} + {b}, {r})"
    # numpy: fmod, moved into b's sign; an exact zero takes b's sign
    return _to(f"tl.where(({r} := libdevice.fmod({a}, {b})) != 0, tl.where(({r} < 0) != ({b} < 0), {r} + {b}, {r}), "
               f"tl.where({b} < 0, -0.0, 0.0))", c, out)


def _rule_floor_divide(args, out, **params):
    c, fl = _float_or_int(out)
    a, b = (_c(x, c) for x in args)
    if not fl:
        if not out.is_signed:
            return f"{a} // {b}"
        # Triton's integer // truncates (C); step down where the exact quotient is negative and inexact
        return f"{a} // {b} - ((({a} % {b}) != 0) & (({a} < 0) != ({b} < 0))).to({tl_dtype(out)})"
    # numpy's npy_floor_divide (= PyTorch's div_floor_floating), step by step:
    #   mod = fmod(a, b); div = (a - mod) / b, minus 1 where mod and b differ in sign;
    #   the nearest integer to div (it is one up to rounding), or copysign(0, a / b) when div is 0; a / b when b == 0
    n = _Names("floor_divide", args, out, params)
    m, d, f = n("m"), n("d"), n("f")
    q = _div(a, b, c)
    div0 = _div(f"{a} - ({m} := libdevice.fmod({a}, {b}))", b, c)
    adj = f"(({m} != 0) & (({b} < 0) != ({m} < 0))).to({tl_dtype(c)})"
    body = (f"tl.where(({d} := {div0} - {adj}) != 0, "
            f"({f} := tl.floor({d})) + ({d} - {f} > 0.5).to({tl_dtype(c)}), 0.0 * {_atom(q)})")
    return _to(f"tl.where({b} == 0, {q}, {body})", c, out)


def _rule_div_trunc(args, out, **_):
    c, fl = _float_or_int(out)
    a, b = (_c(x, c) for x in args)
    if fl:
        return _to(f"libdevice.trunc({_div(a, b, c)})", c, out)
    return f"{a} // {b}"                                      # Triton's integer // truncates toward zero


def _rule_atan2(args, out, **_):
    c = opmath(out)
    a, b = (_c(x, c) for x in args)
    return _to(f"libdevice.atan2({a}, {b})", c, out)


def _bitwise(sym: str):
    def rule(args, out, **_):
        a, b = (_c(x, out) for x in args)
        return f"{a} {sym} {b}"
    return rule


def _rule_left_shift(args, out, **_):
    a, b = (_c(x, out) for x in args)
    bits = out.itemsize * 8
    # PyTorch and numpy: shifting by a negative amount or by >= the width gives 0 (LLVM: poison)
    ok = f"({b} >= 0) & ({b} < {bits})" if out.is_signed else f"{b} < {bits}"
    return f"tl.where({ok}, {a} << {b}, 0)"


def _rule_right_shift(args, out, **_):
    a, b = (_c(x, out) for x in args)
    bits = out.itemsize * 8
    if out.is_signed:     # out of range: the sign fills every bit (arithmetic shift by width - 1)
        return f"tl.where(({b} >= 0) & ({b} < {bits}), {a} >> {b}, {a} >> {bits - 1})"
    return f"tl.where({b} < {bits}, {a} >> {b}, 0)"


def _rule_pow(args, out, **params):
    c, fl = _float_or_int(out)
    if out is _dt.bool:               # bool ** True is the base, bool ** False is True
        a, b = (_c(x, out) for x in args)
        return f"{a} | ({b} == 0)"
    a, b = (_c(x, c) for x in args)
    if fl:
        return _to(f"libdevice.pow({a}, {b})", c, out)
    # integers: square-and-multiply over every bit of the exponent, wrapping like numpy's and PyTorch's;
    # a flat product (no nesting) so the expression stays shallow for int64's 63 steps
    n = _Names("pow", args, out, params)
    steps = out.itemsize * 8 - (1 if out.is_signed else 0)
    factors = []
    for k in range(steps):
        s = n(f"s{k}")
        square = a if k == 0 else f"{n(f's{k - 1}')} * {n(f's{k - 1}')}"
        bit = f"({b} & 1)" if k == 0 else f"(({b} >> {k}) & 1)"
        factors.append(f"tl.where({bit} != 0, ({s} := {square}), 1)")
    power = " * ".join(factors)
    if not out.is_signed:
        return power
    # negative exponents: 1 ** e is 1, (-1) ** e is +-1, anything else is 0 (integer division of 1 by a^|e|)
    negative = f"tl.where({a} == 1, 1, tl.where({a} == -1, 1 - 2 * ({b} & 1), 0))"
    return f"tl.where({b} < 0, {negative}, {power})"


# --- comparisons and logic -------------------------------------------------------------------------------

def _compare(sym: str):
    def rule(args, out, *, common, **_):
        cd = opmath(common)
        a, b = (_c(x, cd) for x in args)
        return f"{a} {sym} {b}"
    return rule


def _truth(arg: Arg, cd: DType) -> str:
    """``arg != 0`` as bool, tested in its own dtype (a tensor) or in the promoted dtype ``cd`` (a scalar:
    numpy converts it first, so 1e-50 is false next to a float32 tensor)."""
    if arg.dtype is _dt.bool:
        return _atom(arg.expr)
    d = opmath(arg.dtype) if arg.dtype is not None else cd
    return f"({_c(arg, d)} != 0)"


def _logical(sym: str):
    # As wheres rather than a & b: either side may be a scalar's truth, a comparison of scalars, which
    # Triton's interpreter turns into floats when & | ^ broadcast it (tl.where takes it fine).
    fmt = {"&": "tl.where({a}, {b}, False)", "|": "tl.where({a}, True, {b})", "^": "tl.where({a}, {b} == 0, {b})"}[sym]

    def rule(args, out, *, common, **_):
        cd = opmath(common)
        a, b = (_truth(x, cd) for x in args)
        return fmt.format(a=a, b=b)
    return rule


def _rule_bitwise_not(args, out, **_):
    return f"~{_c(args[0], out)}"


def _rule_logical_not(args, out, **_):
    return f"{_c(args[0], opmath(_source_dtype(args[0])))} == 0"


def _rule_cast(args, out, *, to, **_):
    return cast(args[0], to)


def _rule_where(args, out, **_):
    cond, a, b = args
    return f"tl.where({_c(cond, _dt.bool)}, {cast(a, out)}, {cast(b, out)})"


def _rule_lerp(args, out, **_):
    c = opmath(out)
    s, e, w = (_c(x, c) for x in args)
    # PyTorch's two-sided form: exact at weight 0 and 1
    return _to(f"tl.where(tl.abs({w}) < 0.5, {s} + {w} * ({e} - {s}), {e} - ({e} - {s}) * (1.0 - {w}))", c, out)


# --- unary -----------------------------------------------------------------------------------------------

def _rule_neg(args, out, **_):
    c = opmath(out)
    return _to(f"-{_c(args[0], c)}", c, out)


def _rule_abs(args, out, **_):
    c = opmath(out)
    if not c.is_floating_point and not out.is_signed:
        return cast(args[0], out)
    return _to(f"tl.abs({_c(args[0], c)})", c, out)


def _rule_sign(args, out, **_):
    if out is _dt.bool:
        return cast(args[0], out)
    c = opmath(out)
    x, t = _c(args[0], c), tl_dtype(c)
    # NaN and both zeros give +0 (numpy's sign, with NaN mapped to 0 as PyTorch does)
    return _to(f"({x} > 0).to({t}) - ({x} < 0).to({t})", c, out)


def _rounding(fn: str):
    def rule(args, out, **_):
        c = opmath(out)
        if not c.is_floating_point:
            return cast(args[0], out)          # integers are already whole
        return _to(f"{fn}({_c(args[0], c)})", c, out)
    return rule


def _rule_round(args, out, *, decimals=0, **_):
    c = opmath(out)
    if not c.is_floating_point:
        return cast(args[0], out)
    x = _c(args[0], c)
    if decimals == 0:
        return _to(f"libdevice.nearbyint({x})", c, out)   # round half to even
    # numpy.round and PyTorch: scale by 10**|decimals| (rounded to c), round half to even, scale back
    p = _lit(10.0 ** abs(decimals), c)
    if decimals > 0:
        expr = _div(f"libdevice.nearbyint({x} * {p})", p, c)
    else:
        expr = f"libdevice.nearbyint({_div(x, p, c)}) * {p}"
    return _to(expr, c, out)


def _source_dtype(arg: Arg) -> DType:
    """The dtype of a tensor argument; for a scalar, the dtype its Python type stands for."""
    if arg.dtype is not None:
        return arg.dtype
    return {bool: _dt.bool, int: _dt.int64}.get(arg.pytype) or _dt.get_default_dtype()


def _predicate(float_fmt: str, int_fmt: str):
    """isnan/isinf/isfinite: ``float_fmt`` on floats (in opmath), ``int_fmt`` on integers and bool."""
    def rule(args, out, **_):
        d = _source_dtype(args[0])
        if d.is_floating_point:
            return float_fmt.format(x=_c(args[0], opmath(d)))
        return int_fmt.format(x=_c(args[0], d))
    return rule


_BITS_INT = {"float16": "tl.int16", "bfloat16": "tl.int16", "float32": "tl.int32", "float64": "tl.int64"}


def _rule_signbit(args, out, **_):
    d = _source_dtype(args[0])
    x = _c(args[0], d)
    if d.is_floating_point:           # the sign bit itself: true for -0.0 and for NaNs with it set
        return f"{x}.to({_BITS_INT[d.name]}, bitcast=True) < 0"
    if d.is_signed:
        return f"{x} < 0"
    return f"{x} != {x}"              # bool and uint8: never negative (a false of the right shape)


_UNARY_FLOAT = {
    "exp": "libdevice.exp({x})", "exp2": "libdevice.exp2({x})", "expm1": "libdevice.expm1({x})",
    "log": "libdevice.log({x})", "log2": "libdevice.log2({x})", "log10": "libdevice.log10({x})",
    "log1p": "libdevice.log1p({x})", "sin": "libdevice.sin({x})", "cos": "libdevice.cos({x})",
    "tan": "libdevice.tan({x})", "tanh": "libdevice.tanh({x})", "asin": "libdevice.asin({x})",
    "acos": "libdevice.acos({x})", "atan": "libdevice.atan({x})", "sinh": "libdevice.sinh({x})",
    "cosh": "libdevice.cosh({x})", "erf": "tl.erf({x})", "erfc": "libdevice.erfc({x})",
}


def _unary_float(name: str):
    fmt = _UNARY_FLOAT[name]

    def rule(args, out, **_):
        c = opmath(out)
        return _to(fmt.format(x=_c(args[0], c)), c, out)
    rule.__name__ = f"_rule_{name}"
    return rule


def _sqrt(x: str, c: DType) -> str:
    return f"tl.sqrt_rn({x})" if c is _dt.float32 else f"tl.sqrt({x})"     # fp64 tl.sqrt is sqrt.rn.f64


def _rule_sqrt(args, out, **_):
    c = opmath(out)
    return _to(_sqrt(_c(args[0], c), c), c, out)


def _rule_rsqrt(args, out, **_):
    c = opmath(out)
    # 1 / sqrt(x) with both roundings, as the numpy kernel (tl.rsqrt is rsqrt.approx on NVIDIA)
    return _to(_div("1.0", _sqrt(_c(args[0], c), c), c), c, out)


def _rule_reciprocal(args, out, **_):
    c = opmath(out)
    return _to(_div("1.0", _c(args[0], c), c), c, out)


def _rule_nan_to_num(args, out, *, nan=0.0, posinf=None, neginf=None, **_):
    if not out.is_floating_point:
        return cast(args[0], out)
    c = opmath(out)
    info = _dt.finfo(out)
    big = info.max if posinf is None else posinf
    small = info.min if neginf is None else neginf
    x = _c(args[0], c)
    return _to(f'tl.where({x} != {x}, {_lit(nan, c)}, tl.where({x} == float("inf"), {_lit(big, c)}, '
               f'tl.where({x} == float("-inf"), {_lit(small, c)}, {x})))', c, out)


# --- activations -----------------------------------------------------------------------------------------

def _rule_gelu(args, out, *, approximate="none", **_):
    c = opmath(out)
    x = _c(args[0], c)
    if approximate == "tanh":
        inner = f"{_lit(math.sqrt(2.0 / math.pi), c)} * ({x} + {_lit(0.044715, c)} * {x} * {x} * {x})"
        return _to(f"0.5 * {x} * (1.0 + libdevice.tanh({inner}))", c, out)
    return _to(f"0.5 * {x} * (1.0 + tl.erf({x} * {_lit(1 / math.sqrt(2.0), c)}))", c, out)


def _sigmoid(x: str, c: DType) -> str:
    return _div("1.0", f"1.0 + libdevice.exp(-{x})", c)


def _rule_sigmoid(args, out, **_):
    c = opmath(out)
    return _to(_sigmoid(_c(args[0], c), c), c, out)


def _rule_silu(args, out, **_):
    c = opmath(out)
    x = _c(args[0], c)
    return _to(f"{x} * {_sigmoid(x, c)}", c, out)


def _rule_relu(args, out, **_):
    c = opmath(out)
    x = _c(args[0], c)
    if not c.is_floating_point:
        return f"tl.maximum({x}, 0)"
    return _to(f"tl.where({x} <= 0, 0.0, {x})", c, out)     # NaN stays NaN and -0.0 gives 0.0, as numpy.maximum(x, 0)


def _rule_softplus(args, out, **_):
    c = opmath(out)
    x, beta, threshold = (_c(a, c) for a in args)
    z = f"{x} * {beta}"
    # log1p(exp(min(z, threshold))) / beta, and x itself above the threshold (min propagates NaN like numpy)
    zmin = f"tl.where(({z} <= {threshold}) | ({z} != {z}), {z}, {threshold})"
    soft = _div(f"libdevice.log1p(libdevice.exp({zmin}))", beta, c)
    return _to(f"tl.where({z} > {threshold}, {x}, {soft})", c, out)


def _rule_clamp(args, out, *, has_min, has_max, **_):
    c = opmath(out)
    x, *bounds = (_c(a, c) for a in args)
    lo = bounds[0] if has_min else None
    hi = bounds[-1] if has_max else None
    r = x
    if out is _dt.bool:
        r = f"({r} | {lo})" if lo is not None else r
        return f"{r} & {hi}" if hi is not None else r
    if not c.is_floating_point:
        if lo is not None:
            r = f"tl.maximum({r}, {lo})"
        return f"tl.minimum({r}, {hi})" if hi is not None else r
    n = _Names("clamp", args, out, {"has_min": has_min, "has_max": has_max})
    if lo is not None:      # numpy.maximum then numpy.minimum: NaN in x or in a bound propagates
        r = _pick(r, ">", lo)
    if hi is not None:
        if lo is not None:
            r = f"({n('r')} := {r})"
            r = f"tl.where({r} != {n('r')}, {n('r')}, tl.where({n('r')} < {hi}, {n('r')}, {hi}))"
        else:
            r = _pick(r, "<", hi)
    return _to(r, c, out)


# --- the table -------------------------------------------------------------------------------------------

POINTWISE: dict[str, Callable[..., str]] = {
    "add": _arith("+", "|"),
    "sub": _arith("-", None),
    "mul": _arith("*", "&"),
    "div": _rule_div,
    "maximum": _maxmin(">", "|", "tl.maximum"),
    "minimum": _maxmin("<", "&", "tl.minimum"),
    "fmod": _rule_fmod,
    "remainder": _rule_remainder,
    "floor_divide": _rule_floor_divide,
    "atan2": _rule_atan2,
    "bitwise_and": _bitwise("&"),
    "bitwise_or": _bitwise("|"),
    "bitwise_xor": _bitwise("^"),
    "bitwise_left_shift": _rule_left_shift,
    "bitwise_right_shift": _rule_right_shift,
    "div_trunc": _rule_div_trunc,
    "pow": _rule_pow,
    "eq": _compare("=="),
    "ne": _compare("!="),
    "lt": _compare("<"),
    "le": _compare("<="),
    "gt": _compare(">"),
    "ge": _compare(">="),
    "logical_and": _logical("&"),
    "logical_or": _logical("|"),
    "logical_xor": _logical("^"),
    "bitwise_not": _rule_bitwise_not,
    "logical_not": _rule_logical_not,
    "cast": _rule_cast,
    "where": _rule_where,
    "lerp": _rule_lerp,
    "neg": _rule_neg,
    "abs": _rule_abs,
    "sign": _rule_sign,
    "floor": _rounding("tl.floor"),
    "ceil": _rounding("tl.ceil"),
    "trunc": _rounding("libdevice.trunc"),
    "isnan": _predicate("{x} != {x}", "{x} != {x}"),
    "isinf": _predicate('tl.abs({x}) == float("inf")', "{x} != {x}"),
    "isfinite": _predicate('tl.abs({x}) < float("inf")', "{x} == {x}"),
    "signbit": _rule_signbit,
    "round": _rule_round,
    **{name: _unary_float(name) for name in _UNARY_FLOAT},
    "sqrt": _rule_sqrt,
    "rsqrt": _rule_rsqrt,
    "reciprocal": _rule_reciprocal,
    "nan_to_num": _rule_nan_to_num,
    "gelu": _rule_gelu,
    "sigmoid": _rule_sigmoid,
    "silu": _rule_silu,
    "relu": _rule_relu,
    "softplus": _rule_softplus,
    "clamp": _rule_clamp,
}


def lower_pointwise(opname: str, args: list[Arg], out: DType, **params) -> str:
    """The Triton expression computing pointwise op ``opname`` on ``args``; its value has dtype ``out``.

        >>> from torchlite import dtypes as dt
        >>> lower_pointwise("exp", [Arg("x0", dt.bfloat16)], dt.bfloat16)
        'libdevice.exp(x0.to(tl.float32)).to(tl.bfloat16)'
    """
    rule = POINTWISE.get(opname)
    if rule is None:
        raise NotImplementedError(f"lower_pointwise: no Triton rule for pointwise op {opname!r}; add one to "
                                  f"compiler/triton_ops.py POINTWISE")
    return rule(list(args), out, **params)
