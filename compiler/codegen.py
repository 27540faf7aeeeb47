"""Codegen: each fused kernel becomes Triton source that reads like a tutorial kernel.

``generate_kernel(fuser, kernel)`` lowers the kernel's members with ``lowering.Lowerer`` into one
``@triton.jit`` function and returns its ``KernelSpec``: a header naming the fused nodes and the user
lines they came from, named offsets and masks, loads, math, stores. Launch heuristics are the small named
functions below, each with its reason.

Reduction kernels come in two shapes. *Persistent*: a whole row fits one block (``RBLOCK >= rnumel``), so
the row is loaded once and every reduction over it (softmax's max and sum, layer_norm's mean and
variance) is a ``tl.sum``/``tl.max`` along axis 1 with the values kept in registers. *Looped*: long rows
are walked ``RBLOCK`` at a time, one loop per *phase* (a reduction that needs another's result — the sum
of ``exp(x - max)`` — runs in a later loop), and row-shaped outputs are written in a last loop.

    >>> pointwise_block(1000)
    1024
"""
from __future__ import annotations

import dataclasses

from torchlite import dtypes as _dt

from .indexing import Expr
from .kernel import KernelSpec
from .lowering import (IllegalFusion, KernelBuilder, Lowerer, Value, is_node, numel, shape_of, tl_type,
                       triton_type)
from .patterns import PERSISTENT_ROWS, ROW_OPS, SCANS

PERSISTENT_MAX = PERSISTENT_ROWS    # longest row kept in registers (next power of two); longer rows loop


# -- launch heuristics --------------------------------------------------------------------------------------
def _pow2(n: int) -> int:
    return 1 << max(0, (n - 1).bit_length())


def pointwise_block(n: int) -> int:
    """Elements per program: 1024 keeps 4 warps busy with 8 elements each; small tensors take one block."""
    return min(1024, max(16, _pow2(n)))


def pointwise_warps(block: int) -> int:
    """One warp per 256 elements, at least 1 and at most 8."""
    return max(1, min(8, block // 256))


def reduction_blocks(xnumel: int, rnumel: int) -> tuple[int, int, bool]:
    """``(XBLOCK, RBLOCK, persistent)``: a row in registers when it fits, rows per program to fill ~4K elements."""
    r = _pow2(max(rnumel, 1))
    if r <= PERSISTENT_MAX:
        x = max(1, min(_pow2(max(xnumel, 1)), 4096 // max(r, 1), 64))
        return x, max(r, 2), True
    return 1, 1024, False


def reduction_warps(xblock: int, rblock: int) -> int:
    """Enough warps that each thread holds at most 16 values, capped at 8 (register pressure)."""
    return max(1, min(8, (xblock * rblock) // 512))


_INT32_LIMIT = 2 ** 31        # tensors with this many elements or more index in int64


def _pid(wide: bool) -> str:
    """The program id; int64 when offsets can pass 2**31 (int32 arithmetic would wrap silently)."""
    return "tl.program_id(0).to(tl.int64)" if wide else "tl.program_id(0)"


# -- names and headers --------------------------------------------------------------------------------------
def kernel_title(kernel, computed, prologue=()) -> str:
    """``pw_add_relu``, ``red_softmax``, ``mm_bias_gelu``: the kind and what the kernel's nodes came from
    (``prologue``: nodes a template computes before its dot, whose adds are not a bias)."""
    prefix = {"pointwise": "pw", "reduction": "red", "matmul": "mm", "extern": "ext", "attention": "attn",
              "mlp": "mlp", "attn_block": "attnblk"}[kernel.kind]
    words = []
    for n in computed:
        w = n.meta.get("origin") or n.target.name
        if w in ("alias", "reshape", "expand", "permute", "contiguous", "getitem"):
            continue
        if kernel.kind == "matmul" and n.target.name == "add" and n not in prologue:
            w = "bias"                      # an add in a matmul's epilogue (linear's bias, or a residual)
        elif kernel.kind == "matmul" and w in ("matmul", "linear"):
            continue
        if w not in words:
            words.append(w)
    if not words and kernel.kind != "matmul":
        words = [computed[-1].target.name if computed else "copy"]
    return "_".join([prefix] + words[:3])


def _header(kernel, title, computed, ctx_line) -> list[str]:
    lines = [f"# {title}: {ctx_line}"]
    seen = []
    for n in computed:
        where = n.meta.get("stack_frame", "")
        seen.append(f"#   {n.name} = {n.target.name}" + (f"  ({where})" if where else ""))
    return lines + ["# fused nodes:"] + seen


# -- kernels ------------------------------------------------------------------------------------------------
class _Tracking(Lowerer):
    """A Lowerer that remembers which nodes it computed (for the header and the kernel's name)."""

    def __init__(self, *a, **k):
        super().__init__(*a, **k)
        self.computed: list = []

    def compute(self, n, index, cond):
        v = super().compute(n, index, cond)
        if n not in self.computed:
            self.computed.append(n)
        return v


def _block_value(v: Value, level: int, shape: str, dtype) -> str:
    """``v`` as a full block of the store's shape (constants and row values broadcast)."""
    expr = v.expr if v.dtype is dtype or v.dtype is None else f"{v.expr}.to({tl_type(dtype)})"
    if v.dtype is None:
        expr = f"tl.full({shape}, {v.expr}, {tl_type(dtype)})"
    elif v.level < level or v.level == 0:
        expr = f"tl.broadcast_to({expr}, {shape})"
    return expr


def _block_vars(ctx, level: int) -> tuple[str, ...]:
    """The index variables that span a store's block at ``level`` (its pointer must depend on all of them)."""
    if ctx.kind == "matmul":
        return ("rm", "rn")
    return ("xindex", "rindex") if level == 2 and ctx.rvar is not None else ("xindex",)


def _store(b: KernelBuilder, ptr: str, offset: Expr, v: Value, level: int, shape: str, dtype) -> str:
    where = offset.render(paren=True)
    # A pointer that does not span the whole block (a single element; or a size-1 axis such as rows of one
    # element, M == 1 or N == 1 in a matmul, whose index folds to 0) is broadcast to it, because tl.store
    # broadcasts the value to the pointer's shape, never the pointer to the value's.
    if not all(offset.depends_on(name) for name in _block_vars(b.ctx, level)):
        where = f"({offset.render()} + 0 * {b.ctx.zero(level)})"
    return f"tl.store({ptr} + {where}, {_block_value(v, level, shape, dtype)}, {b.ctx.mask(level)})"


def generate_kernel(fuser, kernel, index: int) -> KernelSpec:
    generate = {"pointwise": _pointwise, "reduction": _reduction, "matmul": _matmul, "attention": _attention,
                "mlp": _mlp, "attn_block": _attention_block}.get(kernel.kind)
    if generate is None:
        raise ValueError(f"no Triton codegen for {kernel.kind} kernels")
    return generate(fuser, kernel, index)


def _lowerer(fuser, kernel, ctx) -> tuple[KernelBuilder, _Tracking]:
    from .fusion import _BufferSet
    b = KernelBuilder(ctx)
    L = _Tracking(b, _BufferSet(fuser.sns, set(kernel.members)), set(kernel.members))
    return b, L


def _signature(b: KernelBuilder, kernel, extra: dict) -> dict:
    """Kernel parameters in order: input pointers, output pointers, scalars, then ``extra`` (sizes)."""
    sig = {}
    for node, (name, t) in b.params.items():
        if not node.meta.get("scalar"):
            sig[name] = t
    for m in kernel.stores:
        sig[f"out_{m.name}"] = "*" + triton_type(m.meta["dtype"])
    for node, (name, t) in b.params.items():
        if node.meta.get("scalar"):
            sig[name] = t
    sig.update(extra)
    return sig


def _source(name: str, sig: dict, constexprs: dict, header: list[str], body: list[str],
            helpers: list[str] = ()) -> str:
    params = ", ".join([f"{k}: tl.float64" if t == "fp64" else k for k, t in sig.items()]
                       + [f"{c}: tl.constexpr" for c in constexprs])
    uses_libdevice = any("libdevice." in line for line in body)
    out = ["import triton", "import triton.language as tl"]
    if uses_libdevice:
        out.append("from triton.language.extra import libdevice")
    out += ["", ""]
    for h in helpers:
        out += [h, "", ""]
    out += header + ["@triton.jit", f"def {name}({params}):"] + ["    " + line for line in body]
    return "\n".join(out) + "\n"


def _footprint(offset: Expr) -> int:
    """How many distinct elements a load at ``offset`` can touch: the product of its index variables'
    ranges (a loaded index — a gather — adds nothing: one element per lane)."""
    from .indexing import Var
    out = 1
    for a in offset.atoms():
        if isinstance(a, Var):
            out *= a.size
    return out


def _bytes(b: KernelBuilder, kernel) -> int:
    """Estimated traffic: each loaded buffer once (at most the elements its loads can reach), each store once."""
    return _load_bytes(b.loads) + sum(numel(shape_of(m)) * m.meta["dtype"].itemsize for m in kernel.stores)


def _load_bytes(*loads: dict) -> int:
    """Bytes of the buffers ``loads`` (node -> offsets) read, each buffer once across all of them (at most
    the elements its loads can reach): a buffer a prologue and an epilogue both read counts once."""
    reach: dict = {}
    for d in loads:
        for n, offs in d.items():
            reach[n] = max(reach.get(n, 0), min(numel(shape_of(n)), max(_footprint(o) for o in offs)))
    return sum(k * n.meta["dtype"].itemsize for n, k in reach.items())


def _pointwise(fuser, kernel, index) -> KernelSpec:
    ctx = kernel.ctx
    b, L = _lowerer(fuser, kernel, ctx)
    stores = []
    for m in kernel.members:
        v = L.value(m, L.index_for(m))
        if m in kernel.stores:
            stores.append(_store(b, f"out_{m.name}", ctx.native_flat(m), v, 1, "[XBLOCK]", m.meta["dtype"]))
    # Buffers read only where this kernel writes (offset == xindex): an output may take one over in place.
    kernel.elementwise_reads = {n for n, offs in b.loads.items() if offs == {Expr.of(ctx.xvar)}}
    block = pointwise_block(ctx.numel)
    title = f"{kernel_title(kernel, L.computed or kernel.members)}_{index}"
    wide = ctx.numel >= _INT32_LIMIT
    body = [f"xoffset = {_pid(wide)} * XBLOCK", "xindex = xoffset + tl.arange(0, XBLOCK)",
            "xmask = xindex < xnumel"] + b.lines + stores
    if ctx.numel == 0:          # no element to compute (its indices fold to constants): a kernel that does nothing
        body = body[:3]
    sig = _signature(b, kernel, {"xnumel": "i64" if wide else "i32"})
    header = _header(kernel, title, L.computed or kernel.members, f"pointwise over {ctx.numel} elements")
    return KernelSpec(title, "pointwise", _source(title, sig, {"XBLOCK": block}, header, body), sig,
                      {"XBLOCK": block}, grid=(max(1, -(-ctx.numel // block)),), num_warps=pointwise_warps(block),
                      nodes=[n.name for n in L.computed], user_lines=_user_lines(L.computed),
                      bytes_moved=_bytes(b, kernel), flops=b.ops * ctx.numel)


def _user_lines(nodes) -> list[str]:
    out = []
    for n in nodes:
        w = n.meta.get("stack_frame")
        if w and w not in out:
            out.append(w)
    return out


# -- reductions ---------------------------------------------------------------------------------------------
_ACC = {_dt.float16: _dt.float32, _dt.bfloat16: _dt.float32}


def _identity(op: str, dtype) -> str:
    """The value masked-off lanes take so they never win the reduction ``op``."""
    if op in ("sum", "any"):
        return "0"
    if op in ("prod", "all"):
        return "1"
    lowest = op in ("amax", "argmax")               # maxima start from the bottom, minima from the top
    if dtype.is_floating_point:
        return "float('-inf')" if lowest else "float('inf')"
    return str(_int_limit(dtype, high=not lowest))


def _int_limit(dtype, high: bool) -> int:
    import numpy as np
    if dtype is _dt.bool:
        return 1 if high else 0
    info = np.iinfo(dtype.np)
    return int(info.max if high else info.min)


def _reduce_persistent(b: KernelBuilder, op: str, v: Value, out_dtype) -> str:
    """Reduce the masked row block ``v`` along axis 1 into an x-level value; returns its name."""
    src_dtype = v.dtype
    full = "rmask & xmask"
    if src_dtype is _dt.bfloat16 and op not in ("sum", "prod"):
        # Compare bf16 values as fp32 (exact both ways): Triton's interpreter compares bf16 as their uint16 bits.
        r = _reduce_persistent(b, op, b.emit(f"{v.expr}.to(tl.float32)", _dt.float32, v.level),
                               _dt.float32 if op in ("amax", "amin") else out_dtype)
        return b.emit(f"{r}.to(tl.bfloat16)", _dt.bfloat16, 1).expr if op in ("amax", "amin") else r
    if op in ("sum", "prod"):
        acc = _ACC.get(out_dtype, out_dtype)
        x = v.expr if src_dtype is acc else f"{v.expr}.to({tl_type(acc)})"
        masked = b.emit(f"tl.where({full}, {x}, {_identity(op, out_dtype)})", acc, 2)
        call = f"tl.sum({masked.expr}, 1)" if op == "sum" else f"tl.reduce({masked.expr}, 1, _prod_combine)"
        r = b.emit(f"{call}[:, None]", acc, 1)
        return r.expr if acc is out_dtype else b.emit(f"{r.expr}.to({tl_type(out_dtype)})", out_dtype, 1).expr
    if op in ("all", "any"):
        x = b.emit(f"tl.where({full}, ({v.expr} != 0).to(tl.int8), {_identity(op, out_dtype)})", _dt.int8, 2)
        fn = "tl.min" if op == "all" else "tl.max"
        return b.emit(f"({fn}({x.expr}, 1)[:, None] != 0)", _dt.bool, 1).expr
    if op in ("amax", "amin"):
        fn = "tl.max" if op == "amax" else "tl.min"
        x = v.expr
        masked = b.emit(f"tl.where({full}, {x}, {_identity(op, src_dtype)})", src_dtype, 2)
        r = b.emit(f"{fn}({masked.expr}, 1)[:, None]", src_dtype, 1)
        if src_dtype.is_floating_point:             # NaN wins, as in PyTorch
            nan = b.emit(f"tl.max(tl.where({full}, ({x} != {x}).to(tl.int8), 0), 1)[:, None]", _dt.int8, 1)
            r = b.emit(f"tl.where({nan.expr} > 0, float('nan'), {r.expr}).to({tl_type(src_dtype)})", src_dtype, 1)
        return r.expr
    if op in ("argmax", "argmin"):
        fn = "tl.argmax" if op == "argmax" else "tl.argmin"
        x = v.expr
        masked = b.emit(f"tl.where({full}, {x}, {_identity(op, src_dtype)})", src_dtype, 2)
        r = b.emit(f"{fn}({masked.expr}, 1, tie_break_left=True)[:, None].to(tl.int64)", _dt.int64, 1)
        if src_dtype.is_floating_point:             # the first NaN is the extreme, as in PyTorch
            isnan = b.emit(f"tl.where({full}, ({x} != {x}).to(tl.int8), 0)", _dt.int8, 2)
            nan_at = b.emit(f"tl.argmax({isnan.expr}, 1, tie_break_left=True)[:, None].to(tl.int64)", _dt.int64, 1)
            has = b.emit(f"tl.max({isnan.expr}, 1)[:, None]", _dt.int8, 1)
            r = b.emit(f"tl.where({has.expr} > 0, {nan_at.expr}, {r.expr})", _dt.int64, 1)
        return r.expr
    raise IllegalFusion(f"no reduction rule for {op}")


def _scan_persistent(b: KernelBuilder, op: str, v: Value, out_dtype) -> Value:
    """The running sum or product of the row block ``v`` along axis 1 (``tl.cumsum``/``tl.cumprod``, a
    parallel scan: floats agree with numpy's sequential one to rounding), per element. Half types scan in
    fp32 and round each prefix once, as the registry kernel does; lanes past the row's end hold the identity
    and come after every real element, so no prefix sees them."""
    acc = _ACC.get(out_dtype, out_dtype)
    x = v.expr if v.dtype is acc else f"{v.expr}.to({tl_type(acc)})"
    masked = b.emit(f"tl.where(rmask & xmask, {x}, {1 if op == 'cumprod' else 0})", acc, 2)
    r = b.emit(f"tl.{op}({masked.expr}, 1)", acc, 2)
    return r if acc is out_dtype else b.emit(f"{r.expr}.to({tl_type(out_dtype)})", out_dtype, 2)


def _argsort_persistent(b: KernelBuilder, v: Value, dtype, descending: bool) -> Value:
    """Stable argsort of the row block ``v`` along axis 1 by one ``tl.sort`` of int64 keys: the value mapped
    to an order-preserving 32-bit unsigned key (floats: sign-magnitude bits flipped; -0.0 as 0.0; every NaN
    the largest, as the registry kernel sorts them), complemented for descending order, times ``2**11`` plus
    the lane index, so equal values keep their order and lanes past the row (key ``2**32``) sort last. The
    lane index is what is left below ``2**11`` after sorting."""
    top = 2 ** 32 - 1
    if dtype.is_floating_point:
        x = v.expr if dtype is _dt.float32 else f"{v.expr}.to(tl.float32)"
        x = b.emit(f"tl.where({x} == 0, 0.0, {x})", _dt.float32, v.level)                  # -0.0 sorts as 0.0
        u = b.emit(f"{x.expr}.to(tl.int32, bitcast=True).to(tl.int64) & {top}", _dt.int64, v.level)
        key = b.emit(f"tl.where({u.expr} >= {2 ** 31}, {top} - {u.expr}, {u.expr} + {2 ** 31})", _dt.int64, v.level)
        key = b.emit(f"tl.where({x.expr} != {x.expr}, {top}, {key.expr})", _dt.int64, v.level)  # NaN: largest
    else:
        key = b.emit(f"{v.expr}.to(tl.int64) + {2 ** 31}", _dt.int64, v.level)
    if descending:
        key = b.emit(f"{top} - {key.expr}", _dt.int64, v.level)
    lanes = 2 ** 11                                 # > PERSISTENT_MAX lanes
    packed = b.emit(f"tl.where(rmask & xmask, {key.expr}, {top + 1}) * {lanes} + rindex", _dt.int64, 2)
    srt = b.emit(f"tl.sort({packed.expr}, 1)", _dt.int64, 2)
    return b.emit(f"{srt.expr} % {lanes}", _dt.int64, 2)


_LOOP_UPDATE = {
    "sum": ("tl.zeros([XBLOCK, RBLOCK], {acc})", "{a} + tl.where(rmask & xmask, {x}, 0)", "tl.sum({a}, 1)[:, None]"),
    "prod": ("tl.full([XBLOCK, RBLOCK], 1, {acc})", "{a} * tl.where(rmask & xmask, {x}, 1)",
             "tl.reduce({a}, 1, _prod_combine)[:, None]"),
    "amax": ("tl.full([XBLOCK, RBLOCK], {ident}, {acc})", "tl.maximum({a}, tl.where(rmask & xmask, {x}, {ident}), propagate_nan=tl.PropagateNan.ALL)",
             "tl.max({a}, 1)[:, None]"),
    "amin": ("tl.full([XBLOCK, RBLOCK], {ident}, {acc})", "tl.minimum({a}, tl.where(rmask & xmask, {x}, {ident}), propagate_nan=tl.PropagateNan.ALL)",
             "tl.min({a}, 1)[:, None]"),
    "all": ("tl.full([XBLOCK, RBLOCK], 1, tl.int8)", "tl.minimum({a}, tl.where(rmask & xmask, ({x} != 0).to(tl.int8), 1))",
            "(tl.min({a}, 1)[:, None] != 0)"),
    "any": ("tl.zeros([XBLOCK, RBLOCK], tl.int8)", "tl.maximum({a}, tl.where(rmask & xmask, ({x} != 0).to(tl.int8), 0))",
            "(tl.max({a}, 1)[:, None] != 0)"),
}


# Looped argmax/argmin: each lane keeps its best value and that value's index (the first one: indices only grow
# along a lane, so a strict comparison keeps it; a NaN beats everything and the first NaN stays), then the row's
# answer is the smallest index among the lanes holding the row's best value (or a NaN).
def _arg_loop_init(name: str, op: str, acc_t) -> list[str]:
    return [f"{name} = tl.full([XBLOCK, RBLOCK], {_identity(op, acc_t)}, {tl_type(acc_t)})",
            f"{name}_i = tl.zeros([XBLOCK, RBLOCK], tl.int64)"]


def _arg_loop_update(name: str, op: str, x: str, acc_t) -> list[str]:
    better = f"({name}_x {'>' if op == 'argmax' else '<'} {name})"
    if acc_t.is_floating_point:
        better += f" | (({name}_x != {name}_x) & ({name} == {name}))"
    return [f"{name}_x = tl.where(rmask & xmask, {x}, {_identity(op, acc_t)})",
            f"{name}_b = {better}",
            f"{name} = tl.where({name}_b, {name}_x, {name})",
            f"{name}_i = tl.where({name}_b, rindex.to(tl.int64), {name}_i)"]


def _arg_loop_finish(b: KernelBuilder, name: str, op: str, acc_t) -> Value:
    best = b.emit(f"{'tl.max' if op == 'argmax' else 'tl.min'}({name}, 1)[:, None]", acc_t, 1)
    hit = f"({name} == {best.expr})"
    if acc_t.is_floating_point:
        nan = b.emit(f"tl.max(({name} != {name}).to(tl.int8), 1)[:, None]", _dt.int8, 1)
        hit = f"tl.where({nan.expr} > 0, {name} != {name}, {hit})"
    return b.emit(f"tl.min(tl.where({hit}, {name}_i, {2 ** 62}), 1)[:, None]", _dt.int64, 1)


def _reduction(fuser, kernel, index) -> KernelSpec:
    ctx = kernel.ctx
    xblock, rblock, persistent = reduction_blocks(ctx.xnumel, ctx.rnumel)
    reductions = [m for m in kernel.members if fuser.sns[m] == "reduction"]
    b, L = _lowerer(fuser, kernel, ctx)
    wide = numel(ctx.in_shape) >= _INT32_LIMIT
    body = [f"xoffset = {_pid(wide)} * XBLOCK", "xindex = xoffset + tl.arange(0, XBLOCK)[:, None]",
            "xmask = xindex < xnumel",
            "rbase = tl.arange(0, RBLOCK)[None, :]" + (".to(tl.int64)" if wide else "")]
    helpers = []
    if any(m.target.name == "prod" for m in reductions):
        helpers.append("@triton.jit\ndef _prod_combine(a, b):\n    return a * b")
    # phases: a reduction runs after the reductions its input reads
    phase = {}
    for m in reductions:
        _, reads = fuser.trial(ctx, kernel.members[:kernel.members.index(m) + 1])
        phase[m] = 1 + max((phase.get(r, -1) for r in _closure(reads, m) if r in phase), default=-1)
    # Row-shaped stores: members with an element per input element. (With rows of 0 or 1 element the row and
    # element offsets coincide; the element count tells them apart: a row of 0 elements has no element lane.)
    r_stores = [m for m in kernel.stores if ctx.native_flat(m) is not None and ctx.native_flat(m) == ctx.full_flat
                and (fuser.sns[m] != "reduction" or m.target.name in ROW_OPS)
                and numel(shape_of(m)) == numel(ctx.in_shape)]
    if any(m.target.name in ROW_OPS for m in reductions) and not persistent:
        raise IllegalFusion("a scan over rows longer than PERSISTENT_MAX (patterns.classify keeps those extern)")
    x_stores = [m for m in kernel.stores if m not in r_stores]
    n_phases = max(phase.values(), default=-1) + 1

    if persistent:
        b.lines.extend(["rindex = rbase", "rmask = rindex < rnumel"])
        for p in range(n_phases):
            for m in [r for r in reductions if phase[r] == p]:
                v = L.value(m.args[0], ctx.full_index)
                if m.target.name in SCANS:
                    L.reduction_values[m] = _scan_persistent(b, m.target.name, v, m.meta["dtype"])
                    continue
                if m.target.name == "argsort":
                    L.reduction_values[m] = _argsort_persistent(b, v, m.args[0].meta["dtype"], m.kwargs["descending"])
                    continue
                L.reduction_values[m] = Value(_reduce_persistent(b, m.target.name, v, m.meta["dtype"]),
                                              m.meta["dtype"], 1)
        for m in r_stores:
            v = L.value(m, L.index_for(m))
            b.lines.append(_store(b, f"out_{m.name}", ctx.native_flat(m), v, 2, "[XBLOCK, RBLOCK]", m.meta["dtype"]))
        body += b.lines
        b.lines = []
    else:
        body += b.lines
        b.lines = []
        body += _looped_phases(b, L, reductions, phase)
        if r_stores:
            b.forget_level(2)
            L.registers = {k: v for k, v in L.registers.items() if v.level < 2}
            for m in r_stores:
                v = L.value(m, L.index_for(m))
                b.lines.append(_store(b, f"out_{m.name}", ctx.native_flat(m), v, 2, "[XBLOCK, RBLOCK]", m.meta["dtype"]))
            rows, elements = _split_rows(b, b.lines)
            body += rows + _loop(elements)
            b.lines = []
    for m in x_stores:
        v = L.reduction_values.get(m) or L.value(m, L.index_for(m))
        b.lines.append(_store(b, f"out_{m.name}", ctx.native_flat(m) if ctx.native_flat(m) is not None
                              else Expr.of(ctx.xvar), v, 1, "[XBLOCK, 1]", m.meta["dtype"]))
    body += b.lines
    computed = [n for n in (L.computed + reductions) if n is not None]
    computed = sorted(set(computed), key=lambda n: fuser.nodes.index(n))
    title = f"{kernel_title(kernel, computed)}_{index}"
    sig = _signature(b, kernel, {"xnumel": "i64" if wide else "i32", "rnumel": "i64" if wide else "i32"})
    cx = {"XBLOCK": xblock, "RBLOCK": rblock}
    mode = "persistent (one row per block)" if persistent else f"looped ({n_phases} passes over each row)"
    header = _header(kernel, title, computed, f"{ctx.xnumel} rows of {ctx.rnumel}, {mode}")
    flops = (b.ops + len(reductions)) * numel(ctx.in_shape)
    return KernelSpec(title, "reduction", _source(title, sig, cx, header, body, helpers), sig, cx,
                      grid=(max(1, -(-ctx.xnumel // xblock)),), num_warps=reduction_warps(xblock, rblock),
                      nodes=[n.name for n in computed], user_lines=_user_lines(computed),
                      bytes_moved=_bytes(b, kernel), flops=flops)


def _looped_phases(b: KernelBuilder, L, reductions, phase: dict, loop=None, blocks=("XBLOCK", "RBLOCK")) -> list[str]:
    """The lines computing ``reductions`` over rows walked ``RBLOCK`` at a time, one loop per phase (a
    reduction reading another's result runs in a later loop); sets ``L.reduction_values``. ``loop`` wraps
    a loop body (default ``_loop``); ``blocks`` names the row and reduction block sizes in the kernel."""
    loop = loop or _loop
    out: list[str] = []
    n_phases = max(phase.values(), default=-1) + 1
    for p in range(n_phases):
        group = [r for r in reductions if phase[r] == p]
        accs = {}
        for m in group:
            acc_t = _ACC.get(m.meta["dtype"], m.meta["dtype"]) if m.target.name in ("sum", "prod") else m.args[0].meta["dtype"]
            if acc_t is _dt.bfloat16:           # compared as fp32: see _reduce_persistent
                acc_t = _dt.float32
            name = f"acc_{m.name}"
            if m.target.name in ("argmax", "argmin"):
                out += _arg_loop_init(name, m.target.name, acc_t)
                accs[m] = (name, acc_t)
                continue
            init, _, _ = _LOOP_UPDATE[m.target.name]
            out.append(f"{name} = " + init.format(acc=tl_type(acc_t), ident=_identity(m.target.name, acc_t)))
            accs[m] = (name, acc_t)
        b.lines = []
        b.forget_level(2)
        for m in group:
            v = L.value(m.args[0], b.ctx.full_index)
            name, acc_t = accs[m]
            x = v.expr if v.dtype is acc_t or (m.target.name in ("all", "any") and v.dtype is not _dt.bfloat16) \
                else f"{v.expr}.to({tl_type(acc_t if m.target.name not in ('all', 'any') else _dt.float32)})"
            if m.target.name in ("argmax", "argmin"):
                b.lines += _arg_loop_update(name, m.target.name, x, acc_t)
                continue
            _, upd, _ = _LOOP_UPDATE[m.target.name]
            b.lines.append(f"{name} = " + upd.format(a=name, x=x, ident=_identity(m.target.name, acc_t)))
        rows, elements = _split_rows(b, b.lines)
        out += rows + loop(elements)
        b.lines = []
        for m in group:
            name, acc_t = accs[m]
            if m.target.name in ("argmax", "argmin"):
                L.reduction_values[m] = _arg_loop_finish(b, name, m.target.name, acc_t)
                continue
            _, _, fin = _LOOP_UPDATE[m.target.name]
            r = b.emit(fin.format(a=name), acc_t if m.target.name not in ("all", "any") else _dt.bool, 1)
            if m.target.name in ("amax", "amin") and acc_t.is_floating_point:
                # tl.max/tl.min drop NaN: a NaN the loop's maximum carried in some lane must still win.
                nan = b.emit(f"tl.max(({name} != {name}).to(tl.int8), 1)[:, None]", _dt.int8, 1)
                r = b.emit(f"tl.where({nan.expr} > 0, float('nan'), {r.expr}).to({tl_type(acc_t)})", acc_t, 1)
            if r.dtype is not m.meta["dtype"]:
                r = b.emit(f"{r.expr}.to({tl_type(m.meta['dtype'])})", m.meta["dtype"], 1)
            L.reduction_values[m] = r
        out += b.lines
        b.lines = []
    if blocks != ("XBLOCK", "RBLOCK"):
        out = [line.replace("[XBLOCK, RBLOCK]", f"[{blocks[0]}, {blocks[1]}]") for line in out]
    return out


def _closure(reads: dict, m) -> set:
    out, todo = set(), [m]
    while todo:
        x = todo.pop()
        for r in reads.get(x, ()):
            if r not in out:
                out.add(r)
                todo.append(r)
    return out


def _split_rows(b: KernelBuilder, lines: list[str]) -> tuple[list[str], list[str]]:
    """``(row-level lines, element-level lines)``. A loop over a row must compute its row-level values (a
    mean its body first needed) before it: Triton drops names a loop body defines when the loop ends, so a
    later loop could not read them, and they need no element of the row anyway (the level of a value is the
    highest of its inputs', so a row-level line never reads an element-level one)."""
    levels = {v.expr: v.level for v in b.cse.values()}
    rows, elements = [], []
    for line in lines:
        (rows if levels.get(line.split(" = ", 1)[0], 2) < 2 else elements).append(line)
    return rows, elements


def _loop(lines: list[str]) -> list[str]:
    return (["for roffset in range(0, rnumel, RBLOCK):", "    rindex = roffset + rbase",
             "    rmask = rindex < rnumel"] + ["    " + line for line in lines])


# -- matmul with its epilogue -------------------------------------------------------------------------------
def _matmul(fuser, kernel, index) -> KernelSpec:
    from torchlite.kernels.matmul import Epilogue, Operand, render_matmul
    mm = kernel.members[0]
    ctx = kernel.ctx
    a_view, (bbase, bstr, boff) = fuser.operands[mm]
    a_shape, b_shape = shape_of(mm.args[0]), shape_of(mm.args[1])
    K = a_shape[-1]
    dt = mm.meta["dtype"]
    prologue, p_loads = row_prologue(fuser, mm) if mm in fuser.prologue else (None, {})
    a_op = None if prologue else Operand(triton_type(dt), *_mm_strides(a_view[1], a_shape, ctx.batch), offset=a_view[2])
    b_op = Operand(triton_type(dt), *_mm_strides(bstr, b_shape, ctx.batch), offset=boff)
    b, L = _lowerer(fuser, kernel, ctx)
    acc = b.emit(f"acc.to({tl_type(dt)})" if dt is not _dt.float32 and dt is not _dt.float64 else "acc", dt, 2)
    L.reduction_values[mm] = acc
    for m in kernel.members[1:]:
        L.value(m, L.index_for(m))
    for m in kernel.stores:
        v = L.reduction_values[m] if m is mm else L.value(m, L.index_for(m))
        b.lines.append(_store(b, f"out_{m.name}", ctx.native_flat(m), v, 2, "[BLOCK_M, BLOCK_N]", m.meta["dtype"]))
    params = _signature(b, kernel, {})
    absorbed = fuser.prologue[mm]["absorbed"] if prologue else set()
    computed = sorted(absorbed, key=fuser.nodes.index) + [mm] + L.computed
    title = f"{kernel_title(kernel, computed, absorbed)}_{index}"
    ep = Epilogue(params=params, lines=b.lines, out_params=tuple(f"out_{m.name}" for m in kernel.stores),
                  name=", ".join(n.name for n in L.computed) or "store",
                  bytes_moved=_bytes(b, kernel), flops=b.ops * ctx.batch * ctx.M * ctx.N)
    if prologue:        # a buffer the prologue and the epilogue both read (a residual) counts once
        prologue = dataclasses.replace(prologue, bytes_moved=_load_bytes(p_loads, b.loads) - _load_bytes(b.loads))
    spec = render_matmul(title, M=ctx.M, N=ctx.N, K=K, batch=ctx.batch, a=a_op, b=b_op, epilogue=ep,
                         prologue=prologue, allow_tf32=_tf32())
    spec.nodes = [n.name for n in computed]
    spec.user_lines = _user_lines(computed)
    return spec


def _tf32() -> bool:
    """fp32 dots on TensorFloat32 tensor cores (``torchlite.set_float32_matmul_precision``)."""
    from torchlite.dtypes import get_float32_matmul_precision
    return get_float32_matmul_precision() != "highest"


def _mm_strides(strides, shape, batch):
    from .fusion import mm_strides
    out = mm_strides(strides, shape, batch)
    if out is None:
        raise IllegalFusion("matmul operand's batch dims cannot be flattened into one stride")
    return out


# -- prologues: a GEMM's row operand computed in its kernel ------------------------------------------------
class _PrologueBuffers:
    """What a prologue reads from memory: placeholders, SNs, and matmul/extern outputs (before fusion has
    decided the SNs, when ``fusion.Fuser._match_prologues`` tries the lowering)."""

    def __init__(self, fuser, members):
        self.fuser, self.members = fuser, members

    def __contains__(self, n) -> bool:
        from .fusion import classify
        if n in self.members:
            return False
        if n.op == "placeholder":
            return not n.meta.get("scalar")
        return n in self.fuser.sns or classify(n) in ("matmul", "extern")


def row_prologue(fuser, consumer):
    """``(Prologue, loads)`` computing the row operand of ``consumer`` (a matmul's A, a fused MLP's x), as
    matched by ``patterns.match_prologue``: the row reductions in looped phases over K (``_looped_phases``),
    then each ``[BLOCK_M, BLOCK_K]`` tile lowered at ``(xindex, rindex)``. Row-level values the tile needs
    (a row's ``rsqrt(var + eps)``) are computed once, before the K loop."""
    from torchlite.kernels.matmul import Prologue
    from .lowering import ReductionContext
    m = fuser.prologue[consumer]
    a, reductions = m["a"], m["reductions"]
    shape = shape_of(a)
    ctx = ReductionContext(shape, (len(shape) - 1,))
    b = KernelBuilder(ctx, prefix="p")
    L = _Tracking(b, _PrologueBuffers(fuser, set(reductions)), set(reductions))
    order = sorted(reductions, key=fuser.nodes.index)
    phase: dict = {}
    for r in order:
        phase[r] = 1 + max((phase[d] for d in _reductions_read(r, set(reductions), m["absorbed"]) if d in phase),
                           default=-1)

    def k_loop(lines):
        return (["for roffset in range(0, K, BLOCK_K):", "    rindex = roffset + rbase", "    rmask = rindex < K"]
                + ["    " + line for line in lines])

    setup = _looped_phases(b, L, order, phase, loop=k_loop, blocks=("BLOCK_M", "BLOCK_K"))
    b.lines = []
    b.forget_level(2)
    v = L.value(a, ctx.full_index)
    dt = a.meta["dtype"]
    rows, tile = _split_rows(b, b.lines)           # row-level values (a row's rstd) move before the K loop
    setup += rows
    tile.append(f"tile = tl.where(rmask, {_block_value(v, 2, '[BLOCK_M, BLOCK_K]', dt)}, 0.0).to({tl_type(dt)})")
    params = _signature(b, type("K", (), {"stores": []})(), {})
    rows = numel(shape[:-1])
    name = ", ".join(n.name for n in sorted(set(L.computed) | set(reductions), key=fuser.nodes.index)) or a.name
    return Prologue(triton_type(dt), params, setup, tile, name=name, bytes_moved=_load_bytes(b.loads),
                    flops=(b.ops + len(reductions)) * rows * shape[-1]), dict(b.loads)


def _reductions_read(r, reductions: set, cone: set) -> set:
    """The reductions among ``reductions`` that ``r``'s input reads through the nodes of ``cone``."""
    out, seen, todo = set(), set(), [r.args[0]]
    while todo:
        n = todo.pop()
        if not is_node(n) or n in seen:
            continue
        seen.add(n)
        if n in reductions:
            out.add(n)
        elif n in cone:
            todo.extend(n.all_input_nodes)
    return out


# -- flash attention ----------------------------------------------------------------------------------------
def attention_score(fuser, m2, match=None, bname="pid_b"):
    """The score lines of a matched attention (``patterns.match_attention``): the cone from ``q @ k^T`` to the
    softmax input, lowered over the template's ``(bname, rm, rn)`` tile with the raw product as ``qk``
    (``bname``: the flattened batch index's name in the template). Returns the ``ScoreFn``, the buffers
    its lines load (node -> offsets) and the transforms of q, k and v (``operand_transforms``), whose
    scalar parameters the ScoreFn carries."""
    from torchlite.kernels.attention import ScoreFn
    from .fusion import _BufferSet
    from .lowering import MatmulContext
    m = match or fuser.attention[m2]
    m1, x = m["m1"], m["x"]
    Lq, Lk = shape_of(x)[-2:]
    ctx = MatmulContext(numel(shape_of(x)[:-2]), Lq, Lk, bname=bname)
    b = KernelBuilder(ctx)
    L = _Tracking(b, _BufferSet(fuser.sns, {m1}), {m1})
    dt = m1.meta["dtype"]
    L.reduction_values[m1] = b.emit("qk" if dt in (_dt.float32, _dt.float64) else f"qk.to({tl_type(dt)})", dt, 2)
    v = L.value(x, L.index_for(x))
    acc = _dt.float64 if dt is _dt.float64 else _dt.float32
    b.lines.append(f"s = {_block_value(v, 2, '[BLOCK_M, BLOCK_N]', acc)}")
    transforms = operand_transforms(b, m)
    params = _signature(b, type("K", (), {"stores": []})(), {})
    return ScoreFn(params=params, lines=b.lines, name=", ".join(n.name for n in L.computed) or "scores",
                   bytes_moved=0, flops=b.ops * numel(shape_of(x))), dict(b.loads), transforms


def operand_transforms(b: KernelBuilder, m) -> list[str]:
    """For q, k and v of a matched attention: ``""``, or the Triton expression of the loaded tile ``{x}``
    that its scale (``patterns.scaled_operand``) makes of it, written by the pointwise rule of the op it
    replaces (so it rounds exactly as the stored ``q * s`` would). Scalar parameters go to ``b``."""
    from .lowering import literal
    from .triton_ops import Arg, lower_pointwise
    out = []
    for node, scale in zip((m["q"], m["kt"], m["v"]), m.get("scales") or (None,) * 3):
        if scale is None:
            out.append("")
            continue
        op, s, first = scale
        sv = Value(b.param(s, "arg"), None, 0, float if s.meta["scalar"] == "float" else int) if is_node(s) \
            else literal(s)
        args = [Arg("{x}", node.meta["dtype"]), Arg(sv.expr, None, sv.pytype)]
        out.append(lower_pointwise(op, args if first else args[::-1], node.meta["dtype"]))
    return out


def _attention(fuser, kernel, index) -> KernelSpec:
    from torchlite.kernels.attention import AttnOperand, render_attention
    m2 = kernel.members[0]
    m = fuser.attention[m2]
    inner = m["inner"]
    score, s_loads, transforms = attention_score(fuser, m2)
    score = dataclasses.replace(score, bytes_moved=_load_bytes(s_loads))      # a mask or bias the scores read
    ops = []
    for (base, strides, offset, runs), swap in zip(m["views"], (False, True, False)):
        (osize, ostride), (isize, istride) = runs
        if isize == 1 and inner > 1:            # one run over the whole batch: split it like the others
            ostride, istride = ostride * inner, ostride
        row, col = (strides[-1], strides[-2]) if swap else (strides[-2], strides[-1])
        ops.append(AttnOperand(triton_type(base.meta["dtype"]), (ostride, istride, row, col), offset=offset,
                               transform=transforms[len(ops)]))
    q_shape, v_shape = shape_of(m["q"]), shape_of(m["v"])
    Lq, D = q_shape[-2], q_shape[-1]
    Lk, Dv = v_shape[-2], v_shape[-1]
    batch = numel(shape_of(m2)[:-2])
    computed = [m["m1"]] + sorted(m["absorbed"] - {m["m1"]}, key=lambda n: fuser.nodes.index(n)) + [m2]
    title = f"attn_{index}"
    spec = render_attention(title, batch_outer=batch // inner, batch_inner=inner, Lq=Lq, Lk=Lk, D=D, Dv=Dv,
                            q=ops[0], k=ops[1], v=ops[2], out_dtype=triton_type(m2.meta["dtype"]), score=score,
                            out_strides=m.get("out_strides"), allow_tf32=_tf32(),
                            nodes=[n.name for n in computed], user_lines=_user_lines(computed))
    return spec


# -- the attention block ------------------------------------------------------------------------------------
def _epilogue(fuser, kernel, out, M: int, N: int):
    """The Epilogue of a template whose ``acc`` (fp32) is ``out``: its elementwise consumers that joined the
    kernel lowered over ``(pid_b, rm, rn)``, and the stores of every member other kernels read. Returns
    ``(Epilogue, loads, computed nodes)``."""
    from torchlite.kernels.matmul import Epilogue
    ctx = kernel.ctx
    b, L = _lowerer(fuser, kernel, ctx)
    odt = out.meta["dtype"]
    L.reduction_values[out] = b.emit("acc" if odt is _dt.float32 else f"acc.to({tl_type(odt)})", odt, 2)
    for mem in kernel.members[1:]:
        L.value(mem, L.index_for(mem))
    for mem in kernel.stores:
        v = L.reduction_values[mem] if mem is out else L.value(mem, L.index_for(mem))
        b.lines.append(_store(b, f"out_{mem.name}", ctx.native_flat(mem), v, 2, "[BLOCK_M, BLOCK_N]",
                              mem.meta["dtype"]))
    ep = Epilogue(params=_signature(b, kernel, {}), lines=b.lines,
                  out_params=tuple(f"out_{mem.name}" for mem in kernel.stores),
                  name=", ".join(n.name for n in L.computed) or "store", bytes_moved=_bytes(b, kernel),
                  flops=b.ops * ctx.batch * M * N)
    return ep, dict(b.loads), L.computed


def _attention_block(fuser, kernel, index) -> KernelSpec:
    """The attention block (``patterns.match_attention_block``): the projection's x loaded or computed
    by a prologue, the score cone of the attention, and the output projection's epilogue."""
    from torchlite.kernels.attention_block import WOperand, XOperand, render_attention_block
    O = kernel.members[0]
    m = fuser.attn_block[O]
    P, m2 = m["P"], m["m2"]
    B, T, N = m["sizes"]
    NH, D = m["heads"]
    dt = triton_type(P.meta["dtype"])
    prologue, p_loads = row_prologue(fuser, P) if P in fuser.prologue else (None, {})
    score, s_loads, transforms = attention_score(fuser, m2, match=m["attn"], bname="pid_bh")
    bias = None
    if m["views"]["bp"] is not None:
        _, bst, bo = m["views"]["bp"]
        bias = WOperand(triton_type(m["top"].meta["dtype"]), (bst[0], 0), bo)
    ep, e_loads, ep_computed = _epilogue(fuser, kernel, O, T, N)
    x = None
    if prologue is None:
        _, xs, xo = m["views"]["x"]
        x = XOperand(dt, _mm_strides(xs, shape_of(P.args[0]), B)[0], xo)
    (_, wps, wpo), (_, wos, woo) = m["views"]["wp"], m["views"]["wo"]
    if prologue:        # buffers the prologue, the scores and the epilogue share count once
        prologue = dataclasses.replace(prologue, bytes_moved=_load_bytes(p_loads, s_loads, e_loads)
                                       - _load_bytes(s_loads, e_loads))
    score = dataclasses.replace(score, bytes_moved=_load_bytes(s_loads, e_loads) - _load_bytes(e_loads))
    computed = sorted(m["absorbed"] | (fuser.prologue[P]["absorbed"] if prologue else set()) | {O},
                      key=fuser.nodes.index) + ep_computed
    return render_attention_block(
        f"attnblk_{index}", B=B, T=T, C=shape_of(P.args[0])[-1], NH=NH, D=D, N=N, x=x,
        wp=WOperand(dt, tuple(wps), wpo), wo=WOperand(dt, tuple(wos), woo), cols=m["cols"], out_rows=m["out_rows"],
        score=score, prologue=prologue, epilogue=ep, bias=bias, transforms=tuple(transforms),
        allow_tf32=_tf32(), nodes=[n.name for n in computed],
        user_lines=_user_lines(computed))


# -- fused MLP ----------------------------------------------------------------------------------------------
def mlp_activation(fuser, out):
    """The activation lines of a matched MLP (``patterns.match_mlp``): the cone from ``x @ W1`` to the hidden
    activation, lowered over the template's hidden tile (``rm``, ``rh``) with the raw product as ``h``."""
    from torchlite.kernels.mlp import Activation
    from .fusion import _BufferSet
    from .lowering import MlpHiddenContext
    m = fuser.mlp[out]
    m1, hidden = m["m1"], m["hidden"]
    H = shape_of(m1)[-1]
    ctx = MlpHiddenContext(numel(shape_of(m1)) // H, H)
    b = KernelBuilder(ctx)
    L = _Tracking(b, _BufferSet(fuser.sns, {m1}), {m1})
    dt = m1.meta["dtype"]
    L.reduction_values[m1] = b.emit("h" if dt is _dt.float32 else f"h.to({tl_type(dt)})", dt, 2)
    if m["m1b"] is not None:                    # a gated MLP's second projection: the template's g tile
        L.members.add(m["m1b"])
        L.reduction_values[m["m1b"]] = b.emit("g" if dt is _dt.float32 else f"g.to({tl_type(dt)})", dt, 2)
    v = L.value(hidden, L.index_for(hidden))
    b.lines.append(f"a = {_block_value(v, 2, '[BLOCK_M, BLOCK_H]', _dt.float32)}")
    params = _signature(b, type("K", (), {"stores": []})(), {})
    return Activation(lines=b.lines, params=params, name=", ".join(n.name for n in L.computed) or "identity"), \
        dict(b.loads)


def _mlp(fuser, kernel, index) -> KernelSpec:
    """The fused MLP kernel: its x computed by a prologue when matched, and its output's elementwise
    consumers (a residual add) fused as an epilogue on ``acc``, as for a matmul."""
    from torchlite.kernels.mlp import MlpOperand, render_mlp
    out = kernel.members[0]
    m = fuser.mlp[out]
    (xb, xs, xo), (w1b, w1s, w1o), (w2b, w2s, w2o) = m["operands"]
    dt = triton_type(m["m1"].meta["dtype"])
    act, act_loads = mlp_activation(fuser, out)
    K, H, N = shape_of(m["x"])[-1], shape_of(m["m1"])[-1], shape_of(m["m2"])[-1]
    M = numel(shape_of(m["m1"])) // H
    prologue, p_loads = row_prologue(fuser, out) if out in fuser.prologue else (None, {})
    # the epilogue: acc (fp32, b2 added) is the MLP's output; its elementwise consumers lower over (rm, rn)
    ep, e_loads, ep_computed = _epilogue(fuser, kernel, out, M, N)
    if prologue:        # a buffer the prologue and the epilogue both read (the residual) counts once
        prologue = dataclasses.replace(prologue, bytes_moved=_load_bytes(p_loads, e_loads) - _load_bytes(e_loads))
    absorbed = fuser.prologue[out]["absorbed"] if prologue else set()
    computed = sorted(m["absorbed"] | absorbed | {out}, key=fuser.nodes.index) + ep_computed
    gate = m["gate_operand"]
    spec = render_mlp(f"mlp_{index}", M=M, K=K, H=H, N=N, x=None if prologue else MlpOperand(dt, xs, xo),
                      w1=MlpOperand(dt, w1s, w1o), w2=MlpOperand(dt, w2s, w2o), b1=None,
                      w1b=MlpOperand(dt, gate[1], gate[2]) if gate else None,
                      b2=triton_type(m["b2"].meta["dtype"]) if m["b2"] is not None else None,
                      out_dtype=triton_type(out.meta["dtype"]), activation=act, round_hidden=False, prologue=prologue,
                      epilogue=ep, allow_tf32=_tf32(), nodes=[n.name for n in computed],
                      user_lines=_user_lines(computed))
    spec.bytes_moved += _load_bytes(act_loads)          # the activation's bias (the template counts no b1)
    return spec
