"""Lowering: the value of a graph node at an index, written as Triton statements.

A kernel computes some nodes of the primitive graph over an iteration space (a ``KernelContext``: flat
``xindex`` for pointwise kernels; ``xindex`` x ``rindex`` for row reductions; ``pid_b, rm, rn`` for a
matmul epilogue). ``Lowerer.value(node, index)`` returns the Triton variable holding ``node`` at the
multi-index ``index`` (a tuple of ``indexing.Expr``):

- a buffer (a placeholder, or a node another kernel stores) is *loaded* at ``ravel(index)``;
- a node this kernel computes itself is taken *from registers* when read at its native index (the
  place this kernel computes it) — any other index is an ``IllegalFusion``, which is how fusion learns
  that two nodes cannot share a kernel;
- any other node is *inlined*: pointwise ops through ``triton_ops.lower_pointwise``, movement and
  indexing ops through ``index_rules`` (which map the index and recurse, never copying).

Every statement goes through ``KernelBuilder.emit``, which names it (``t3``) and reuses an equal
statement already emitted (common-subexpression elimination across the whole fused kernel).

    >>> from torchlite.compiler.lowering import triton_type
    >>> triton_type(__import__("torchlite").float16)
    'fp16'
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as _np

from torchlite import dtypes as _dt

from .indexing import Expr, Indirect, Var, ravel, unravel

_TRITON = {_dt.bool: "i1", _dt.uint8: "u8", _dt.int8: "i8", _dt.int16: "i16", _dt.int32: "i32",
           _dt.int64: "i64", _dt.float16: "fp16", _dt.bfloat16: "bf16", _dt.float32: "fp32",
           _dt.float64: "fp64"}
_TL = {_dt.bool: "tl.int1", _dt.uint8: "tl.uint8", _dt.int8: "tl.int8", _dt.int16: "tl.int16",
       _dt.int32: "tl.int32", _dt.int64: "tl.int64", _dt.float16: "tl.float16", _dt.bfloat16: "tl.bfloat16",
       _dt.float32: "tl.float32", _dt.float64: "tl.float64"}


def triton_type(d) -> str:
    """The Triton signature type of a torchlite dtype (``fp32``; pointers add ``*``)."""
    return _TRITON[d]


def tl_type(d) -> str:
    return _TL[d]


class IllegalFusion(Exception):
    """A kernel would read a value it computes at a place other than where it computes it."""


@dataclass
class Value:
    """A Triton value in a kernel: its expression or variable name, dtype (None: a Python scalar) and level
    (0: the same for the whole program, 1: per row/element of the x axis, 2: per reduction element)."""
    expr: str
    dtype: object
    level: int
    pytype: type | None = None


def is_node(a) -> bool:
    return hasattr(a, "op") and hasattr(a, "meta")


def shape_of(n) -> tuple[int, ...]:
    return tuple(n.meta["shape"])


def numel(shape) -> int:
    out = 1
    for s in shape:
        out *= s
    return out


def broadcast_index(index: tuple[Expr, ...], out_shape, in_shape) -> tuple[Expr, ...]:
    """The index of an operand of shape ``in_shape`` broadcast (trailing-aligned) to ``out_shape``."""
    lead = len(out_shape) - len(in_shape)
    return tuple(Expr() if n == 1 else index[lead + k] for k, n in enumerate(in_shape))


# -- iteration spaces ---------------------------------------------------------------------------------------
class KernelContext:
    """Where a kernel's SNs live: their native flat offsets in terms of the kernel's index variables."""
    kind = "pointwise"
    rvar: Var | None = None
    zero_block = "xindex"                   # a block of the kernel's row shape, to broadcast scalars against

    def zero(self, level: int) -> str:
        return "(xindex + rindex)" if level == 2 and self.rvar is not None else self.zero_block

    def native_flat(self, n) -> Expr | None:
        raise NotImplementedError

    def mask(self, level: int) -> str:
        raise NotImplementedError


class PointwiseContext(KernelContext):
    kind = "pointwise"

    def __init__(self, numel: int):
        self.numel = numel
        self.xvar = Var("xindex", numel)

    def native_flat(self, n):
        return Expr.of(self.xvar) if numel(shape_of(n)) == self.numel else None

    def mask(self, level):
        return "xmask"

    def key(self):
        return ("pointwise", self.numel)


class ReductionContext(KernelContext):
    """Rows of ``in_shape`` reduced over ``dims``: ``xindex`` walks the kept dims, ``rindex`` the reduced."""
    kind = "reduction"

    def __init__(self, in_shape: tuple[int, ...], dims: tuple[int, ...]):
        self.in_shape, self.dims = tuple(in_shape), tuple(sorted(dims))
        self.outer = tuple(s for d, s in enumerate(in_shape) if d not in self.dims)
        self.rshape = tuple(in_shape[d] for d in self.dims)
        self.xnumel, self.rnumel = numel(self.outer), numel(self.rshape)
        self.xvar = Var("xindex", self.xnumel)
        self.rvar = Var("rindex", self.rnumel)
        xs, rs = iter(unravel(self.xvar, self.outer)), iter(unravel(self.rvar, self.rshape))
        self.full_index = tuple(next(rs) if d in self.dims else next(xs) for d in range(len(in_shape)))
        self.full_flat = ravel(self.full_index, self.in_shape)

    def native_flat(self, n):
        k = numel(shape_of(n))
        if k == self.xnumel and self.rnumel != 1:
            return Expr.of(self.xvar)
        if k == numel(self.in_shape):
            return self.full_flat
        return None

    def mask(self, level):
        return "rmask & xmask" if level == 2 else "xmask"

    def key(self):
        return ("reduction", self.in_shape, self.dims)


class MatmulContext(KernelContext):
    """A matmul's output tile: ``pid_b`` (flattened batch), rows ``rm`` and columns ``rn``."""
    kind = "matmul"

    def __init__(self, batch: int, M: int, N: int, bname: str = "pid_b"):
        self.batch, self.M, self.N = batch, M, N
        self.bvar, self.mvar, self.nvar = Var(bname, batch), Var("rm", M), Var("rn", N)
        self.flat = Expr.of(self.bvar) * (M * N) + Expr.of(self.mvar) * N + self.nvar

    def native_flat(self, n):
        return self.flat if numel(shape_of(n)) == self.batch * self.M * self.N else None

    zero_block = "(rm + rn)"

    def mask(self, level):
        return "mask"

    def key(self):
        return ("matmul", self.batch, self.M, self.N)


class MlpHiddenContext(KernelContext):
    """The hidden tile of the fused MLP template: rows ``rm`` and hidden columns ``rh``."""
    kind = "matmul"
    zero_block = "(rm + rh)"

    def __init__(self, M: int, H: int):
        self.M, self.H = M, H
        self.flat = Expr.of(Var("rm", M)) * H + Var("rh", H)

    def native_flat(self, n):
        return self.flat if numel(shape_of(n)) == self.M * self.H else None

    def mask(self, level):
        return "((rm < M) & mask_h)"


# -- emitting statements ------------------------------------------------------------------------------------
@dataclass
class KernelBuilder:
    """Collects a kernel's statements and parameters; ``emit`` deduplicates equal statements."""
    ctx: KernelContext
    lines: list[str] = field(default_factory=list)
    params: dict = field(default_factory=dict)          # buffer/scalar node -> (param name, signature type)
    cse: dict = field(default_factory=dict)             # statement -> Value
    counter: int = 0
    loads: dict = field(default_factory=dict)           # buffer node -> set of flat offsets read
    ops: int = 0                                        # pointwise operations emitted (for the FLOP estimate)
    prefix: str = "t"                                   # of temporaries (a prologue's "p" keeps clear of them)

    def fresh(self, prefix=None) -> str:
        self.counter += 1
        return f"{prefix or self.prefix}{self.counter - 1}"

    def emit(self, expr: str, dtype, level: int, comment: str = "") -> Value:
        hit = self.cse.get(expr)
        if hit is not None:
            return hit
        name = self.fresh()
        self.lines.append(f"{name} = {expr}" + (f"  # {comment}" if comment else ""))
        v = Value(name, dtype, level)
        self.cse[expr] = v
        return v

    def forget_level(self, level: int) -> None:
        """Drop cached values of ``level`` and above (a new reduction loop recomputes them)."""
        self.cse = {k: v for k, v in self.cse.items() if v.level < level}

    def param(self, node, prefix: str) -> str:
        if node not in self.params:
            name = f"{prefix}_{node.name}"
            if node.meta.get("scalar"):
                sig = {"float": "fp32", "int": "i64", "bool": "i1"}[node.meta["scalar"]]
                # Compiled Triton types float arguments fp32; a float64 computation needs its scalars fp64
                # (the kernel annotates them, so the JIT and the interpreter agree).
                if sig == "fp32" and any(u.meta.get("dtype") is _dt.float64 for u in node.users):
                    sig = "fp64"
            else:
                sig = "*" + triton_type(node.meta["dtype"])
            self.params[node] = (name, sig)
        return self.params[node][0]

    def empty_value(self, dtype) -> Value:
        """The value of a zero-size node or buffer: never used (every lane that could read it is masked off or
        has no element), and a zero-size buffer must not be read at all (on a GPU its pointer may be null)."""
        return self.emit(f"tl.full([], 0, {tl_type(dtype)})", dtype, 0)

    def level_of(self, offset: Expr) -> int:
        if self.ctx.rvar is None:
            return 1
        if offset.depends_on(self.ctx.rvar.name):
            return 2
        # An index loaded or computed in the kernel (a gather's index, a reflected pad index: an Indirect
        # atom naming a kernel value) is as deep as that value: a per-reduction-element index makes the load
        # per element too, masked with rmask (lanes past a row's end may compute an address off the buffer).
        by_name = {v.expr: v.level for v in self.cse.values()}
        if any(by_name.get(a.name, 1) >= 2 for a in offset.atoms() if isinstance(a, Indirect)):
            return 2
        return 1

    def load(self, node, offset: Expr, cond: tuple[str, int] | None = None) -> Value:
        if numel(shape_of(node)) == 0:
            return self.empty_value(node.meta["dtype"])
        ptr = self.param(node, "in")
        self.loads.setdefault(node, set()).add(offset)
        if not offset.atoms():
            if cond is None:                    # one element for the whole program: a scalar load, no mask
                return self.emit(f"tl.load({ptr} + {offset.render(paren=True)})", node.meta["dtype"], 0)
            offset_text = f"{offset.render()} + 0 * {self.ctx.zero(cond[1])}"    # a block, so the guard can mask it
            mask = f"{self.ctx.mask(max(1, cond[1]))} & {cond[0]}"
            other = ", other=0" if node.meta["dtype"] is not _dt.bool else ", other=False"
            return self.emit(f"tl.load({ptr} + ({offset_text}), {mask}{other})", node.meta["dtype"], max(1, cond[1]))
        level = self.level_of(offset)
        if cond is not None:
            level = max(level, cond[1])
        mask = self.ctx.mask(level)
        if cond is not None:
            mask = f"{mask} & {cond[0]}"
        other = ", other=0" if node.meta["dtype"] is not _dt.bool else ", other=False"
        return self.emit(f"tl.load({ptr} + {offset.render(paren=True)}, {mask}{other})",
                         node.meta["dtype"], level)


def and_cond(a: tuple[str, int] | None, b: tuple[str, int] | None):
    if a is None:
        return b
    if b is None:
        return a
    return (f"({a[0]}) & ({b[0]})", max(a[1], b[1]))


# -- the evaluator ------------------------------------------------------------------------------------------
class Lowerer:
    """Evaluates nodes at indices inside one kernel (see the module docstring).

    ``buffers``: nodes readable from memory (placeholders and nodes stored by other kernels);
    ``members``: the nodes this kernel computes (read from registers at their native index).
    """

    def __init__(self, builder: KernelBuilder, buffers, members):
        self.b = builder
        self.buffers = buffers
        self.members = members
        self.registers: dict = {}
        self.member_reads: set = set()          # members this evaluation read from registers
        self.reduction_values: dict = {}        # reduction member -> Value (set by codegen)

    def index_for(self, n) -> tuple[Expr, ...]:
        """The native multi-index of member ``n`` in this kernel."""
        flat = self.b.ctx.native_flat(n)
        if flat is None:
            raise IllegalFusion(f"{n.name} of shape {shape_of(n)} does not fit this kernel's iteration space")
        return unravel(flat, shape_of(n))

    def value(self, a, index: tuple[Expr, ...], cond=None) -> Value:
        if not is_node(a):
            return literal(a)
        if a.op == "placeholder" and a.meta.get("scalar"):
            return Value(self.b.param(a, "arg"), None, 0, {"float": float, "int": int, "bool": bool}[a.meta["scalar"]])
        if a in self.members:
            flat = ravel(index, shape_of(a))
            native = self.b.ctx.native_flat(a)
            if native is None or flat != native:
                raise IllegalFusion(f"{a.name} is computed in this kernel at offset {native} but read at {flat}")
            self.member_reads.add(a)
            if a in self.registers:
                return self.registers[a]
            if a in self.reduction_values:
                return self.reduction_values[a]
            if a.target.kind == "reduction" or a.target.name in ("matmul",):
                raise IllegalFusion(f"{a.name} is read before this kernel computes it")
            v = self.compute(a, index, cond)
            self.registers[a] = v
            return v
        if a in self.buffers:
            return self.b.load(a, ravel(index, shape_of(a)), cond)
        return self.compute(a, index, cond)

    def compute(self, n, index, cond) -> Value:
        """Inline ``n`` at ``index``: its op's pointwise or index rule."""
        from . import index_rules
        op = n.target
        if numel(shape_of(n)) == 0:             # nothing to compute (and index rules may not divide by a 0 size)
            return self.b.empty_value(n.meta["dtype"])
        rule = index_rules.RULES.get(op.name)
        if rule is not None:
            return rule(self, n, index, cond)
        if op.kind == "pointwise":
            return self.pointwise(n, index, cond)
        raise IllegalFusion(f"{op.name} cannot be computed inside a fused kernel")

    def pointwise(self, n, index, cond) -> Value:
        from .triton_ops import Arg, lower_pointwise
        out_shape = shape_of(n)
        args, level = [], 0
        float64 = n.meta["dtype"] is _dt.float64 or any(is_node(a) and a.meta.get("dtype") is _dt.float64
                                                          for a in n.args)
        for a in n.args:
            if is_node(a) and "shape" in a.meta:
                v = self.value(a, broadcast_index(index, out_shape, shape_of(a)), cond)
            else:
                v = self.value(a, (), cond)
                if isinstance(a, float) and float64 and float(_np.float32(a)) != a:
                    # A float literal in Triton source is an fp32 constant: a decomposition's 1/3 in a float64
                    # computation would lose its last 29 bits. tl.full types it fp64 exactly.
                    v = self.b.emit(f"tl.full([], {v.expr}, tl.float64)", _dt.float64, 0)
            level = max(level, v.level)
            args.append(Arg(v.expr, v.dtype, v.pytype))
        expr = lower_pointwise(n.target.name, args, n.meta["dtype"], **n.kwargs)
        self.b.ops += 1
        v = self.b.emit(expr, n.meta["dtype"], level, n.name)
        return v

    def cond_of(self, text: str, exprs) -> tuple[str, int]:
        level = max((self.b.level_of(Expr.of(e)) for e in exprs), default=1)
        return (text, level)


def literal(v) -> Value:
    """A Python constant from the graph (a decomposition's 0.5, a reduction's identity) as Triton source."""
    if isinstance(v, bool):
        return Value("True" if v else "False", None, 0, bool)
    if isinstance(v, int):
        return Value(str(v), None, 0, int)
    if isinstance(v, float):
        if v != v:
            return Value('float("nan")', None, 0, float)
        if v in (float("inf"), float("-inf")):
            return Value(f'float("{v}")', None, 0, float)
        return Value(repr(v), None, 0, float)
    raise TypeError(f"cannot put a {type(v).__name__} constant in a kernel: {v!r}")
