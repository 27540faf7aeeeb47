"""Movement, indexing and creation ops as index arithmetic: never a copy inside a fused kernel.

Each rule is ``rule(lowerer, node, index, cond) -> Value``: given where the consumer wants ``node``'s value
(``index``, one ``indexing.Expr`` per dim of ``node``'s shape) it maps the index to its input's index and
asks for that (``lowerer.value``), or builds the value from the index itself (``arange``, ``eye``,
``tril``). ``cond`` is a guard already in force (inside a ``pad`` border or one input of a ``cat``): loads
under it are masked with it, so no address outside a buffer is ever read.

    >>> from torchlite.compiler.index_rules import RULES
    >>> "permute" in RULES and "cat" in RULES
    True
"""
from __future__ import annotations

from torchlite import dtypes as _dt

from .indexing import Expr, Indirect, ravel, unravel
from .lowering import IllegalFusion, Value, and_cond, broadcast_index, is_node, literal, shape_of, tl_type

RULES: dict = {}
GUARDS: dict = {}       # op name -> node -> bool: whether the rule handles this node (else an extern call)


def rule(*names, guard=None):
    def wrap(fn):
        for n in names:
            RULES[n] = fn
            if guard is not None:
                GUARDS[n] = guard
        return fn
    return wrap


def handles(node) -> bool:
    """Whether ``node``'s op has an index rule that lowers this node (its guard, if any, agrees)."""
    name = node.target.name
    return name in RULES and GUARDS.get(name, lambda n: True)(node)


def _where(L, cond: tuple[str, int], a: Value, b: Value, dtype) -> Value:
    level = max(cond[1], a.level, b.level)
    return L.b.emit(f"tl.where({cond[0]}, {_cast(a, dtype)}, {_cast(b, dtype)})", dtype, level)


def _cast(v: Value, dtype) -> str:
    if v.dtype is dtype:
        return v.expr
    if v.dtype is None:                    # a Python constant: Triton types it, tl.where promotes
        return f"{v.expr}"
    return f"{v.expr}.to({tl_type(dtype)})"


def _cmp(e: Expr, op: str, k: int) -> str:
    return f"({e.render()} {op} {k})"


# -- views and copies ---------------------------------------------------------------------------------------
@rule("alias", "contiguous", "clone")
def _identity(L, n, index, cond):
    return L.value(n.args[0], index, cond)


@rule("reshape")
def _reshape(L, n, index, cond):
    src = n.args[0]
    return L.value(src, unravel(ravel(index, shape_of(n)), shape_of(src)), cond)


@rule("permute")
def _permute(L, n, index, cond):
    dims = n.kwargs["dims"]
    src_index = [None] * len(dims)
    for k, d in enumerate(dims):
        src_index[d] = index[k]
    return L.value(n.args[0], tuple(src_index), cond)


@rule("expand")
def _expand(L, n, index, cond):
    src = n.args[0]
    return L.value(src, broadcast_index(index, shape_of(n), shape_of(src)), cond)


@rule("getitem")
def _getitem(L, n, index, cond):
    src = n.args[0]
    out, k = [], 0
    for entry in n.kwargs["index"]:
        if entry is None:
            k += 1
        elif type(entry) is tuple:
            start, _, step = entry
            out.append(Expr.of(index[k]) * step + start)
            k += 1
        else:
            out.append(Expr.of(entry))
    out.extend(index[k:])
    return L.value(src, tuple(out), cond)


@rule("flip")
def _flip(L, n, index, cond):
    shape = shape_of(n)
    dims = {d % max(len(shape), 1) for d in n.kwargs["dims"]}        # a 0-d flip (dims=(0,)) is the identity
    return L.value(n.args[0], tuple(shape[d] - 1 - Expr.of(i) if d in dims else i
                                    for d, i in enumerate(index)), cond)


@rule("roll")
def _roll(L, n, index, cond):
    shape = shape_of(n)
    shifts, dims = n.kwargs["shifts"], n.kwargs["dims"]
    if not dims:                                       # over the flattened tensor
        total = 1
        for s in shape:
            total *= s
        flat = (ravel(index, shape) + (total - shifts[0] % total)) % total if total else ravel(index, shape)
        return L.value(n.args[0], unravel(flat, shape), cond)
    idx = list(index)
    for s, d in zip(shifts, dims):
        d %= len(shape)
        m = shape[d]
        idx[d] = (Expr.of(idx[d]) + (m - s % m)) % m
    return L.value(n.args[0], tuple(idx), cond)


@rule("repeat")
def _repeat(L, n, index, cond):
    src = n.args[0]
    in_shape = shape_of(src)
    lead = len(index) - len(in_shape)
    return L.value(src, tuple(Expr.of(index[lead + k]) % m if m != 1 else Expr()
                              for k, m in enumerate(in_shape)), cond)


@rule("pad")
def _pad(L, n, index, cond):
    """The registry's ``pad``: ``widths`` (before, after) per dim, negative widths crop. constant: crop, then
    pad with the fill (loads guarded); circular: crop, then wrap; reflect and replicate: pad, then crop, so
    output ``i`` reads input ``i - before`` reflected about the edges or clamped to them."""
    src, fill = n.args[0], n.args[1]
    in_shape, widths, mode = shape_of(src), n.kwargs["widths"], n.kwargs["mode"]
    if mode not in ("constant", "replicate", "reflect", "circular"):
        raise IllegalFusion(f"pad mode {mode!r} has no index rule")
    lead = len(index) - len(widths)
    src_index, inside = list(index[:lead]), []
    for k, ((a, b), m) in enumerate(zip(widths, in_shape[lead:])):
        i = Expr.of(index[lead + k])
        j = i - a
        if (a, b) == (0, 0):
            pass
        elif mode == "constant":
            if j.bounds()[0] < 0:
                inside.append(_cmp(j, ">=", 0))
            if j.bounds()[1] >= m:
                inside.append(_cmp(j, "<", m))
        elif mode == "circular":
            lo, size = max(-a, 0), m - max(-a, 0) - max(-b, 0)        # the cropped input, then wrapped
            if size > 0:
                before = max(a, 0)
                j = (i - before + size * (-(-before // size))) % size + lo
        else:
            j = _fold_into(L, j, m, mode)
        src_index.append(j)
    if not inside:
        return L.value(src, tuple(src_index), cond)
    guard = L.cond_of(" & ".join(inside), index)
    v = L.value(src, tuple(src_index), and_cond(cond, guard))
    return _where(L, guard, v, L.value(fill, (), cond), n.meta["dtype"])


def _fold_into(L, j: Expr, m: int, mode: str) -> Expr:
    """``j`` (in ``(-m, 2m - 1)``, as pad's widths allow) brought into ``[0, m)``: reflected about the
    edges (reflect: -1 -> 1, m -> m - 2) or clamped to them (replicate). No affine form exists, so the
    result is a kernel value the load's address reads as an ``Indirect`` index."""
    lo, hi = j.bounds()
    if lo >= 0 and hi < m:
        return j
    if m <= 1:
        return Expr()

    def fold(v: int) -> int:
        return (m - 1) - abs((m - 1) - abs(v)) if mode == "reflect" else min(max(v, 0), m - 1)
    if j.is_const():
        return Expr.of(fold(j.const))
    t = j.render()
    if mode == "reflect":
        expr = f"{m - 1} - tl.abs({m - 1} - tl.abs({t}))"
    else:
        expr = f"tl.minimum(tl.maximum({t}, 0), {m - 1})"
    v = L.b.emit(expr, _dt.int32, L.b.level_of(j))
    return Expr.of(Indirect(v.expr, 0, m - 1))


@rule("cat")
def _cat(L, n, index, cond):
    d = n.kwargs["dim"] % len(shape_of(n))
    parts = [a for a in n.args if not (len(shape_of(a)) == 1 and shape_of(a)[0] == 0)]
    offset, pieces = 0, []
    for a in parts:
        size = shape_of(a)[d]
        pieces.append((a, offset, size))
        offset += size
    i = Expr.of(index[d])
    result = None
    for a, off, size in reversed(pieces):
        sub = list(index)
        sub[d] = i - off
        if result is None:                              # the last piece needs no test of its own
            guard = L.cond_of(_cmp(i, ">=", off), [i]) if len(pieces) > 1 else None
            result = _cast_value(L, L.value(a, tuple(sub), and_cond(cond, guard)), n.meta["dtype"])
            continue
        guard = L.cond_of(f"{_cmp(i, '>=', off)} & {_cmp(i, '<', off + size)}" if off else _cmp(i, "<", size), [i])
        v = L.value(a, tuple(sub), and_cond(cond, guard))
        result = _where(L, guard, v, result, n.meta["dtype"])
    return result


def _cast_value(L, v: Value, dtype) -> Value:
    if v.dtype is dtype:
        return v
    return L.b.emit(_cast(v, dtype) if v.dtype is not None else f"tl.full([], {v.expr}, {tl_type(dtype)})",
                    dtype, v.level)


@rule("stack")
def _stack(L, n, index, cond):
    d = n.kwargs["dim"] % len(shape_of(n))
    i = Expr.of(index[d])
    rest = tuple(index[:d]) + tuple(index[d + 1:])
    result = None
    for k in reversed(range(len(n.args))):
        if result is None:
            result = _cast_value(L, L.value(n.args[k], rest, cond), n.meta["dtype"])
            continue
        guard = L.cond_of(_cmp(i, "==", k), [i])
        v = L.value(n.args[k], rest, and_cond(cond, guard))
        result = _where(L, guard, v, result, n.meta["dtype"])
    return result


@rule("diagonal")
def _diagonal(L, n, index, cond):
    src = n.args[0]
    offset, d1, d2 = n.kwargs["offset"], n.kwargs["dim1"], n.kwargs["dim2"]
    nd = len(shape_of(src))
    d1, d2 = d1 % nd, d2 % nd
    j = Expr.of(index[-1])
    rest = iter(index[:-1])
    src_index = []
    for d in range(nd):
        if d == d1:
            src_index.append(j + max(-offset, 0))
        elif d == d2:
            src_index.append(j + max(offset, 0))
        else:
            src_index.append(next(rest))
    return L.value(src, tuple(src_index), cond)


# -- masks built from the index -----------------------------------------------------------------------------
@rule("tril", "triu")
def _tri(L, n, index, cond):
    row, col = Expr.of(index[-2]), Expr.of(index[-1])
    k = n.kwargs["diagonal"]
    keep = f"(({col.render()}) - ({row.render()}) {'<=' if n.target.name == 'tril' else '>='} {k})"
    guard = L.cond_of(keep, [row, col])
    v = L.value(n.args[0], index, and_cond(cond, guard))
    return _where(L, guard, v, literal(False if n.meta["dtype"] is _dt.bool else 0), n.meta["dtype"])


@rule("slice_scatter")
def _slice_scatter(L, n, index, cond):
    base, val = n.args[0], n.args[1]
    inside, vindex, k = [], [], 0
    for entry in n.kwargs["index"]:
        if entry is None:
            vindex.append(Expr())
            continue
        i = Expr.of(index[k])
        if type(entry) is tuple:
            start, stop, step = entry
            inside.append(f"{_cmp(i, '>=', start)} & {_cmp(i, '<', stop)}")
            if step != 1:
                inside.append(f"((({i.render()}) - {start}) % {step} == 0)")
            vindex.append((i - start) // step if step != 1 or start else i)
        else:
            inside.append(_cmp(i, "==", entry))
        k += 1
    vindex.extend(index[k:])
    view_shape = _getitem_shape(n.kwargs["index"], shape_of(base))
    vidx = broadcast_index(tuple(vindex), view_shape, shape_of(val)) if is_node(val) and "shape" in val.meta else ()
    b = L.value(base, index, cond)
    if not inside:
        return _cast_value(L, L.value(val, vidx, cond), n.meta["dtype"])
    guard = L.cond_of(" & ".join(inside), index)
    v = L.value(val, vidx, and_cond(cond, guard))
    return _where(L, guard, v, b, n.meta["dtype"])


@rule("diagonal_scatter")
def _diagonal_scatter(L, n, index, cond):
    """``x`` with its (offset, dim1, dim2) diagonal replaced by ``src`` (shape: the other dims, then the
    diagonal): where ``i[dim2] - i[dim1] == offset`` the value is ``src[rest, i[dim1] - max(-offset, 0)]``."""
    base, val = n.args[0], n.args[1]
    offset, d1, d2 = n.kwargs["offset"], n.kwargs["dim1"], n.kwargs["dim2"]
    nd = len(shape_of(base))
    d1, d2 = d1 % nd, d2 % nd
    r, c = Expr.of(index[d1]), Expr.of(index[d2])
    guard = L.cond_of(f"((({c.render()}) - ({r.render()})) == {offset})", [r, c])
    vindex = tuple(index[d] for d in range(nd) if d not in (d1, d2)) + (r - max(-offset, 0),)
    v = L.value(val, vindex, and_cond(cond, guard))
    return _where(L, guard, v, L.value(base, index, cond), n.meta["dtype"])


@rule("diag_embed1d")
def _diag_embed1d(L, n, index, cond):
    """A square matrix with 1-d ``x`` on its ``diagonal``-th diagonal: ``out[i, j] = x[min(i, j)]`` where
    ``j - i == diagonal``, else zero."""
    row, col = Expr.of(index[0]), Expr.of(index[1])
    k = n.kwargs["diagonal"]
    guard = L.cond_of(f"((({col.render()}) - ({row.render()})) == {k})", [row, col])
    v = L.value(n.args[0], (row if k >= 0 else col,), and_cond(cond, guard))
    return _where(L, guard, v, literal(False if n.meta["dtype"] is _dt.bool else 0), n.meta["dtype"])


def _getitem_shape(entries, shape) -> tuple[int, ...]:
    out, k = [], 0
    for e in entries:
        if e is None:
            out.append(1)
        elif type(e) is tuple:
            start, stop, step = e
            out.append(len(range(start, stop, step)))
            k += 1
        else:
            k += 1
    out.extend(shape[k:])
    return tuple(out)


# -- reads through a loaded index ---------------------------------------------------------------------------
@rule("gather")
def _gather(L, n, index, cond):
    src, idx = n.args[0], n.args[1]
    d = n.kwargs["dim"] % max(len(shape_of(src)), 1)
    if not shape_of(src):
        return L.value(src, (), cond)
    size = shape_of(src)[d]
    raw = L.value(idx, index, cond)
    # Negative indices were rejected (or wrapped) when the node was built; wrap again to be safe.
    i = L.b.emit(f"tl.where({raw.expr} < 0, {raw.expr} + {size}, {raw.expr})", raw.dtype, raw.level)
    src_index = list(index[:len(shape_of(src))])
    src_index[d] = Expr.of(Indirect(i.expr, 0, size - 1))
    return L.value(src, tuple(src_index), cond)


def _index_lowerable(n) -> bool:
    return not any(i.meta["dtype"] in (_dt.bool, _dt.uint8) for i in n.args[1:])


@rule("index", guard=_index_lowerable)
def _index(L, n, index, cond):
    """``x[..., i0, ..., i1]`` with integer index tensors at ``dims`` (numpy's advanced indexing): the index
    tensors broadcast to ``b``, which sits where the indexed dims were when they are adjacent, else first.
    Each is loaded at its broadcast position and read ``x`` through (the frontend checked their bounds)."""
    x, idx, dims = n.args[0], n.args[1:], tuple(n.kwargs["dims"])
    if not _index_lowerable(n):
        raise IllegalFusion("a boolean mask index has a data-dependent shape: it stays an extern call")
    xs = shape_of(x)
    bshape = _broadcast_shape([shape_of(i) for i in idx])
    adjacent = dims == tuple(range(dims[0], dims[0] + len(dims)))
    start = dims[0] if adjacent else 0
    bindex = tuple(index[start:start + len(bshape)])
    rest = iter(index[:start] + index[start + len(bshape):])
    src = []
    for d in range(len(xs)):
        if d in dims:
            i = idx[dims.index(d)]
            raw = L.value(i, broadcast_index(bindex, bshape, shape_of(i)), cond)
            w = L.b.emit(f"tl.where({raw.expr} < 0, {raw.expr} + {xs[d]}, {raw.expr})", raw.dtype, raw.level)
            src.append(Expr.of(Indirect(w.expr, 0, xs[d] - 1)))
        else:
            src.append(next(rest))
    return L.value(x, tuple(src), cond)


def _broadcast_shape(shapes) -> tuple:
    nd = max(len(s) for s in shapes)
    out = []
    for k in range(nd):
        sizes = {s[k - nd + len(s)] for s in shapes if k - nd + len(s) >= 0} - {1}
        out.append(sizes.pop() if sizes else 1)
    return tuple(out)


SCATTER_MAX_SOURCES = 16        # sources per element a scatter reads in a kernel; more stay an extern call
_SUMS = ("sum", "add")


def _scatter_lowerable(n) -> bool:
    x, idx = n.args[0], n.args[1]
    reduce, dt = n.kwargs["reduce"], n.meta["dtype"]
    if not shape_of(x) or reduce not in (None,) + _SUMS or (reduce in _SUMS and dt is _dt.bool):
        return False
    return shape_of(idx)[n.kwargs["dim"] % len(shape_of(x))] <= SCATTER_MAX_SOURCES


@rule("scatter", guard=_scatter_lowerable)
def _scatter(L, n, index, cond):
    """``x`` with ``src`` written at ``index`` along ``dim`` (overwrite or ``reduce="sum"``), computed where
    it is read: element ``c`` along ``dim`` looks at the ``k = index.shape[dim]`` positions that may write it
    and takes the hits in ascending order (the last write wins; sums add in the order ``np.add.at`` does, in
    float32 for half types). No atomics, so the result is deterministic. Used by gather's gradient
    (``k == 1``); ``k > SCATTER_MAX_SOURCES``, other reductions and bool sums stay extern calls."""
    x, idx, src = n.args
    xs = shape_of(x)
    reduce, include_self = n.kwargs["reduce"], n.kwargs["include_self"]
    dt = n.meta["dtype"]
    if not _scatter_lowerable(n):
        raise IllegalFusion(f"scatter with reduce={reduce!r} on {dt.name} or over {SCATTER_MAX_SOURCES} sources")
    sums = reduce in _SUMS
    d = n.kwargs["dim"] % len(xs)
    ishape = shape_of(idx)
    c = Expr.of(index[d])
    inside = [_cmp(Expr.of(index[e]), "<", ishape[e]) for e in range(len(xs)) if e != d and ishape[e] < xs[e]]
    guard = L.cond_of(" & ".join(inside), index) if inside else None
    hits, vals = [], []
    for j in range(ishape[d]):
        pos = tuple(Expr() + j if e == d else index[e] for e in range(len(ishape)))
        raw = L.value(idx, pos, and_cond(cond, guard))
        w = L.b.emit(f"tl.where({raw.expr} < 0, {raw.expr} + {xs[d]}, {raw.expr})", raw.dtype, raw.level)
        hit = f"({w.expr} == {c.render(paren=True)})" + (f" & {guard[0]}" if guard else "")
        hits.append((hit, max(w.level, L.b.level_of(c), guard[1] if guard else 0)))
        vals.append(L.value(src, pos, and_cond(cond, guard)) if is_node(src) else literal(src))
    acc_t = _dt.float32 if sums and dt in (_dt.float16, _dt.bfloat16) else dt
    acc = _cast_value(L, L.value(x, index, cond), acc_t)
    if sums and not include_self and hits:
        anyhit = (" | ".join(f"({h})" for h, _ in hits), max(lv for _, lv in hits))
        acc = _where(L, anyhit, literal(0), acc, acc_t)
    for (hit, level), v in zip(hits, vals):
        if sums:
            v = L.b.emit(f"{acc.expr} + {_cast(v, acc_t)}", acc_t, max(acc.level, v.level))
        acc = _where(L, (hit, level), v, acc, acc_t)
    return _cast_value(L, acc, dt)


@rule("one_hot")
def _one_hot(L, n, index, cond):
    cls = Expr.of(index[-1])
    v = L.value(n.args[0], tuple(index[:-1]), cond)
    return L.b.emit(f"({v.expr} == {cls.render(paren=True)}).to(tl.int64)", _dt.int64, max(v.level, 1))


# -- creation -----------------------------------------------------------------------------------------------
@rule("full")
def _full(L, n, index, cond):
    fill = L.value(n.args[0], (), cond)
    return L.b.emit(f"tl.full([], {fill.expr}, {tl_type(n.meta['dtype'])})", n.meta["dtype"], 0)


@rule("arange")
def _arange(L, n, index, cond):
    start, step = L.value(n.args[0], (), cond), L.value(n.args[1], (), cond)
    i = Expr.of(index[0])
    dt = n.meta["dtype"]
    wide = "tl.float64" if dt.is_floating_point else "tl.int64"
    pos = f"tl.full([], {i.render()}, {wide})" if i.is_const() else f"({i.render()}).to({wide})"
    expr = f"({start.expr} + {step.expr} * {pos}).to({tl_type(dt)})"
    return L.b.emit(expr, dt, L.b.level_of(i))


@rule("eye")
def _eye(L, n, index, cond):
    r, c = Expr.of(index[0]), Expr.of(index[1])
    dt = n.meta["dtype"]
    return L.b.emit(f"({r.render()} == {c.render()}).to({tl_type(dt)})", dt,
                    max(L.b.level_of(r), L.b.level_of(c)))
