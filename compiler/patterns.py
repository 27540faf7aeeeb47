"""Patterns the fuser recognizes in the primitive graph: views a kernel reads through strides, and the
shapes the templates compute (flash attention, the fused MLP, prologues, the attention block).

Each ``match_*`` returns the nodes a template computes (and what it needs to know about them) or None; the
``Fuser`` (``fusion.py``) decides, records the decision and groups the rest.

    >>> from torchlite.compiler.patterns import split_batch
    >>> split_batch((2, 3), (12, 4))            # two dims one stride walks merge into one run
    ((6, 4), (1, 0))
"""
from __future__ import annotations

from . import index_rules
from .lowering import is_node, numel, shape_of

REDUCTIONS = ("sum", "prod", "amax", "amin", "argmax", "argmin", "all", "any")
SCANS = ("cumsum", "cumprod")       # run in reduction kernels whose rows fit in registers (tl.cumsum/cumprod)
ROW_OPS = SCANS + ("argsort",)      # an element per input element, computed from its whole row
SORTABLE = ("float16", "bfloat16", "float32", "int32", "int16", "int8", "uint8", "bool")   # 32-bit sort keys


PERSISTENT_ROWS = 1024              # codegen.PERSISTENT_MAX: the longest row a reduction kernel holds


def row_op_fits(node) -> bool:
    """A scan or an argsort whose row fits a persistent reduction kernel (its row in registers). Longer rows,
    0-d and empty inputs (and argsort of 64-bit values, whose sort keys need more than 32 bits) stay extern
    calls of the registry kernel."""
    xs = shape_of(node.args[0])
    if not xs or numel(xs) == 0 or xs[node.kwargs["dim"] % len(xs)] > PERSISTENT_ROWS:
        return False
    return node.target.name != "argsort" or node.args[0].meta["dtype"].name in SORTABLE


def classify(node) -> str | None:
    if node.op != "call_function":
        return None
    name, kind = node.target.name, node.target.kind
    if name == "matmul":
        # The matmul template (kernels/matmul.py) takes float operands only; integer products run as
        # the registry kernel (exact int64 accumulation, as PyTorch's cpu matmul).
        return "matmul" if node.meta["dtype"].is_floating_point else "extern"
    if name in REDUCTIONS:
        return "reduction"
    if name in ROW_OPS:
        return "reduction" if row_op_fits(node) else "extern"
    if kind == "pointwise" or index_rules.handles(node):
        return "pointwise"
    return "extern"


VIEW_OPS = ("permute", "expand", "alias", "contiguous", "getitem", "reshape")


def strided_view(node, is_buffer):
    """``(base, strides, offset)`` when ``node`` is a chain of views a strided load can read without a copy."""
    chain = []
    n = node
    while not is_buffer(n):
        if n.op != "call_function" or n.target.name not in VIEW_OPS:
            return None
        chain.append(n)
        n = n.args[0]
    from .indexing import contiguous_strides
    shape, strides, offset = shape_of(n), list(contiguous_strides(shape_of(n))), 0
    for v in reversed(chain):
        name, new_shape = v.target.name, shape_of(v)
        if name == "permute":
            strides = [strides[d] for d in v.kwargs["dims"]]
        elif name == "expand":
            lead = len(new_shape) - len(shape)
            strides = [0] * lead + [0 if s == 1 and t != 1 else st for s, t, st in zip(shape, new_shape[lead:], strides)]
        elif name == "getitem":
            out, k = [], 0
            for e in v.kwargs["index"]:
                if e is None:
                    out.append(0)
                elif type(e) is tuple:
                    offset += e[0] * strides[k]
                    out.append(strides[k] * e[2])
                    k += 1
                else:
                    offset += e * strides[k]
                    k += 1
            strides = out + strides[k:]
        elif name == "reshape":
            if tuple(strides) != contiguous_strides(shape) and numel(shape) > 1:
                return None
            strides = list(contiguous_strides(new_shape))
        shape = new_shape
    return n, tuple(strides), offset


def mm_strides(strides, shape, batch):
    """``((batch, row, col) element strides, (inner size, inner stride))`` of a matmul operand whose batch
    dims flatten into one index (split in at most two strided runs); None when they do not (the operand is
    then copied into a contiguous buffer first)."""
    from .indexing import contiguous_strides
    strides = tuple(contiguous_strides(shape) if strides is None else strides)
    if len(shape) == 2:
        return (0, strides[0], strides[1]), (1, 0)
    bshape, bstr = shape[:-2], strides[:-2]
    if numel(bshape) == 1:
        return (0, strides[-2], strides[-1]), (1, 0)
    if numel(bshape) != batch:
        return None
    dims = split_batch(bshape, bstr)
    if dims is None:
        return None
    (_, outer_stride), inner = dims
    return (outer_stride, strides[-2], strides[-1]), inner


def split_batch(bshape, bstr):
    """Batch dims as ``((outer size, outer stride), (inner size, inner stride))``: runs of dims that one
    stride walks merge; at most two runs are allowed (the template splits its batch index in two)."""
    runs: list[list[int]] = []                       # [size, stride] per run of mergeable dims
    for s, st in zip(bshape, bstr):
        if s == 1:
            continue
        if runs and runs[-1][1] == st * s:
            runs[-1] = [runs[-1][0] * s, st]
        else:
            runs.append([s, st])
    if not runs:
        return (1, 0), (1, 0)
    if len(runs) == 1:
        return tuple(runs[0]), (1, 0)
    if len(runs) == 2:
        return tuple(runs[0]), tuple(runs[1])
    return None


def scaled_operand(a):
    """``(x, (op, scalar, x_first))`` when ``a`` is ``x * s``, ``s * x`` or ``x / s`` for a scalar ``s`` (a
    placeholder of the user's scalars or a literal) that keeps ``x``'s dtype and shape and nothing but its
    one consumer reads: a template can scale the tile it loads instead (sdpa multiplies q and k by
    ``sqrt(scale)``). Else None."""
    if not (is_node(a) and a.op == "call_function" and a.target.name in ("mul", "div")) or len(a.users) != 1:
        return None
    x, s = a.args
    first = True
    if a.target.name == "mul" and not is_node(x):
        x, s, first = s, x, False
    scalar = isinstance(s, (int, float)) and not isinstance(s, bool) or \
        (is_node(s) and s.op == "placeholder" and s.meta.get("scalar") in ("float", "int"))
    if not scalar or not is_node(x) or "shape" not in x.meta or x.meta["dtype"] is not a.meta["dtype"] \
            or tuple(shape_of(x)) != tuple(shape_of(a)) or not a.meta["dtype"].is_floating_point:
        return None
    return x, (a.target.name, s, first)


def _only_users(n, allowed) -> bool:
    return all(u in allowed for u in n.users)


def _cone_to_matmuls(top, most: int):
    """``(cone, matmuls)``: the pointwise/index nodes computing ``top`` from one to ``most`` matmuls of
    ``top``'s shape, in graph order of discovery (placeholders and buffers may feed the cone too); None if
    there are none or more."""
    cone, mms, todo = set(), [], [top]
    while todo:
        n = todo.pop()
        if n in cone or not hasattr(n, "op") or n.op != "call_function":
            continue
        if n.target.name == "matmul":
            if n not in mms:
                mms.append(n)
            if len(mms) > most:
                return None
            continue
        if classify(n) != "pointwise" or n.target.name in ("gather", "index", "scatter"):
            return None
        cone.add(n)
        todo.extend(n.all_input_nodes)
    if not mms or any(shape_of(m) != shape_of(top) for m in mms):
        return None
    return cone, mms


def _cone_to_matmul(top):
    """``(cone, m1)``: the pointwise/index nodes computing ``top`` from exactly one matmul ``m1`` of
    ``top``'s shape (placeholders and buffers may feed the cone too); None if there is no such matmul."""
    found = _cone_to_matmuls(top, 1)
    return None if found is None else (found[0], found[1][0])


def match_attention(m2, outputs) -> dict | None:
    """``matmul(softmax(score(matmul(q, kT))), v)`` as decomposed (amax, sub, exp, sum, div; casts for half
    types): the nodes a flash-attention kernel computes without storing the scores, or None.

    ``score`` is any pointwise cone over the first matmul (a scale, a mask from ``tril``/``where``, an added
    bias); every node of the pattern must be used only inside it, so nothing it swallows is needed elsewhere.
    """
    if m2.target.name != "matmul":
        return None
    p = m2.args[0]
    cast_out = None
    if hasattr(p, "op") and p.op == "call_function" and p.target.name == "cast":
        cast_out, p = p, p.args[0]
    if not (hasattr(p, "op") and p.op == "call_function" and p.target.name == "div"):
        return None
    e, ssum = p.args
    if not all(hasattr(a, "op") and a.op == "call_function" for a in (e, ssum)):
        return None
    if e.target.name != "exp" or ssum.target.name != "sum" or ssum.args[0] is not e:
        return None
    sub = e.args[0]
    if not (hasattr(sub, "op") and sub.op == "call_function" and sub.target.name == "sub"):
        return None
    x, amax = sub.args
    if not (hasattr(amax, "op") and amax.op == "call_function" and amax.target.name == "amax" and amax.args[0] is x):
        return None
    nd = len(shape_of(x))
    for r in (amax, ssum):
        if tuple(d % nd for d in r.kwargs["dims"]) != (nd - 1,) or not r.kwargs["keepdim"]:
            return None
    found = _cone_to_matmul(x)                  # the score cone
    if found is None:
        return None
    cone, m1 = found
    absorbed = cone | {m1, amax, sub, e, ssum, p} | ({cast_out} if cast_out is not None else set())
    inside = absorbed | {m2}
    for n in absorbed:
        if n in outputs:
            return None
    # only the score chain may be read outside the cone (mask/bias inputs are fine: they are leaves of it)
    for n in [m1, amax, sub, e, ssum, p] + ([cast_out] if cast_out is not None else []):
        if not _only_users(n, inside):
            return None
    for n in cone:
        if not _only_users(n, inside):
            return None
    q, kt = m1.args
    v = m2.args[1]
    dt = m1.meta["dtype"]
    if not dt.is_floating_point or v.meta["dtype"] is not (cast_out or p).meta["dtype"] or \
            len(shape_of(q)) < 2 or shape_of(q)[:-2] != shape_of(m2)[:-2]:
        return None
    return {"m1": m1, "x": x, "absorbed": absorbed, "q": q, "kt": kt, "v": v}


def match_mlp(m2, outputs) -> dict | None:
    """``matmul(act(matmul(x, W1)), W2)`` (+ a bias vector on the result) where the hidden activation is used
    only by the second matmul: the nodes a fused MLP kernel computes without storing the hidden, or None.

    ``act`` is any pointwise cone over the first matmul (a bias add, relu, gelu, ...), or over two matmuls of
    the same ``x`` (a gated MLP: SwiGLU's ``silu(x @ Wg) * (x @ Wu)``; ``m1b`` is the second). The weights
    are 2-d strided views (a Linear weight transposed); the second layer is at most 128 wide (one column
    block, so the hidden is computed once per row block).
    """
    if m2.target.name != "matmul" or len(shape_of(m2.args[1])) != 2 or shape_of(m2)[-1] > 128:
        return None
    a = m2.args[0]
    found = _cone_to_matmuls(a, 2)              # the activation cone
    if found is None or any(len(shape_of(m.args[1])) != 2 for m in found[1]):
        return None
    cone, mms = found
    m1, m1b = mms[0], (mms[1] if len(mms) == 2 else None)
    if m1b is not None and (m1b.args[0] is not m1.args[0] or m1b.meta["dtype"] is not m1.meta["dtype"]):
        return None                             # a gated MLP's two projections read the same rows
    absorbed = cone | set(mms)
    if any(n in outputs for n in absorbed) or not all(_only_users(n, absorbed | {m2}) for n in absorbed):
        return None
    if not m1.meta["dtype"].is_floating_point or m1.meta["dtype"].name == "float64" \
            or m2.meta["dtype"] is not m1.meta["dtype"]:
        return None
    # a bias vector added to the result joins the kernel
    out, b2 = m2, None
    users = list(m2.users)
    if len(users) == 1 and users[0].op == "call_function" and users[0].target.name == "add" \
            and m2 not in outputs:
        add = users[0]
        other = add.args[1] if add.args[0] is m2 else add.args[0]
        if hasattr(other, "op") and other.op == "placeholder" and tuple(shape_of(other)) == (shape_of(m2)[-1],) \
                and other.meta["dtype"] is m2.meta["dtype"] and add.meta["dtype"] is m2.meta["dtype"]:
            out, b2 = add, other
            absorbed = absorbed | {m2}
    return {"m1": m1, "m1b": m1b, "m2": m2, "hidden": a, "absorbed": absorbed, "out": out, "b2": b2,
            "x": m1.args[0], "w1": m1.args[1], "w2": m2.args[1], "w1b": m1b.args[1] if m1b is not None else None}


def match_prologue(a, outputs, taken, readers=None) -> dict | None:
    """The nodes a GEMM computes when its row operand ``a`` (``[rows..., K]``) is a prologue, or None.

    ``a``'s cone is pointwise and index math over buffers (placeholders, matmul and extern outputs) and
    reductions over the last dim of values of ``a``'s shape (a row's mean, variance, sum of squares),
    possibly nested (the variance reads the mean). Nodes that depend on those reductions (the normalized
    rows) are *absorbed*: nothing outside the cone may read them. Nodes that do not (the residual sum a
    layer_norm reads) stay ordinary nodes, recomputed in the prologue as in any other consumer.
    """
    if not (is_node(a) and a.op == "call_function") or a in outputs \
            or not (len(a.users) == 1 if readers is None else set(a.users) <= set(readers)) \
            or classify(a) != "pointwise" or a in taken or not a.meta["dtype"].is_floating_point:
        return None
    shape = shape_of(a)
    if len(shape) < 2 or numel(shape) == 0:
        return None
    cone, reductions, todo = set(), [], [a]
    while todo:
        n = todo.pop()
        if n in cone or not is_node(n) or n.op != "call_function":
            continue
        if n in taken:
            return None
        kind = classify(n)
        if kind == "reduction":
            src = n.args[0]
            nd = len(shape_of(src))
            dims = n.kwargs.get("dims")
            dims = tuple(range(nd)) if dims is None or dims == () else tuple(d % nd for d in dims)
            if shape_of(src) != shape or dims != (nd - 1,) or n.target.name in ("argmax", "argmin"):
                return None
            reductions.append(n)
        elif kind != "pointwise":
            continue                            # a buffer: read by the prologue
        cone.add(n)
        todo.extend(n.all_input_nodes)
    # the nodes downstream of a reduction inside the cone: computed only here, so read only here
    absorbed, changed = set(reductions), True
    while changed:
        changed = False
        for n in cone - absorbed:
            if any(i in absorbed for i in n.all_input_nodes):
                absorbed.add(n)
                changed = True
    absorbed.add(a)
    for n in absorbed:
        if n in outputs or (n is not a and not _only_users(n, cone)):
            return None
    return {"a": a, "reductions": reductions, "absorbed": absorbed}


def match_attention_block(fuser, m2, m, outputs, absorbed) -> tuple[dict | None, tuple | None]:
    """``(record, None)`` when the flash attention ``m2`` (``m``: its ``match_attention`` result, with the
    layout ``Fuser._attention_layout`` found) is an attention block: its q, k and v are head slices of one
    projection ``P = x @ Wp`` that nothing else reads, and its output, stored in the ``transpose(1, 2).reshape``
    layout, only feeds ``O = y @ Wo``. Then ``kernels/attention_block.py`` computes ``P``, the attention and
    ``O`` in one kernel (``O``'s epilogue joins it as a matmul's would). Otherwise ``(None, (node, reason))``
    for a refusal worth recording, or ``(None, None)`` when there is no such shape at all."""
    from torchlite.kernels.attention import head_block
    from torchlite.kernels.attention_block import BLOCK_DTYPES, MAX_BLOCK_D, MAX_BLOCK_N, MAX_T
    from .lowering import triton_type
    y = m.get("store_as")
    if y is None or y in outputs or len(y.users) != 1:
        return None, None
    O = next(iter(y.users))
    if O.op != "call_function" or O.target.name != "matmul" or O.args[0] is not y or O in absorbed:
        return None, None
    bases = {b for b, _, _ in m["operands"]}
    P = bases.pop() if len(bases) == 1 else None
    if P is None or P.op != "call_function" or P in outputs:
        return None, None
    top, bias = P, None                         # top: what q, k and v view (the projection, or it + a bias)
    if P.target.name == "add":
        mm = [a for a in P.args if is_node(a) and a.op == "call_function" and a.target.name == "matmul"]
        if len(mm) != 1 or len(mm[0].users) != 1 or mm[0] in outputs:
            return None, None
        bias = P.args[1] if P.args[0] is mm[0] else P.args[0]
        P = mm[0]
        if not is_node(bias) or tuple(shape_of(bias)) != (shape_of(P)[-1],) \
                or bias.meta["dtype"] is not P.meta["dtype"]:
            return None, (O, "the projection's add is not a bias of its columns")
    if P.target.name != "matmul":
        return None, None
    why = _attention_block_misfit(m, m2, O, P)
    if why:
        return None, (O, why)
    buffer = fuser._is_buffer_or_candidate
    x, wp, wo = P.args[0], P.args[1], O.args[1]
    views = {"wp": strided_view(wp, buffer), "wo": strided_view(wo, buffer),
             "x": None if P in fuser.prologue else strided_view(x, buffer),
             "bp": strided_view(bias, buffer) if bias is not None else None}
    B, T, W = shape_of(P)
    if views["wp"] is None or views["wo"] is None or (P not in fuser.prologue and views["x"] is None) \
            or (bias is not None and views["bp"] is None):
        return None, (O, "an operand is not a strided view of a buffer")
    NH, D = shape_of(m["q"])[-3], shape_of(m["q"])[-1]
    N = shape_of(O)[-1]
    dt = P.meta["dtype"]
    if T > MAX_T or head_block(D) > MAX_BLOCK_D or max(16, 1 << (N - 1).bit_length()) > MAX_BLOCK_N \
            or triton_type(dt) not in BLOCK_DTYPES:
        return None, (O, f"T {T} > {MAX_T}, head dim {D} or output width {N} too large, or dtype {dt.name}")
    cols = []
    for (base, st, off, runs), swap in zip(m["views"], (False, True, False)):
        row, col = (st[-1], st[-2]) if swap else (st[-2], st[-1])
        head = st[1] if NH > 1 else 0
        if row != W or (B > 1 and st[0] != T * W) or not 0 <= off < W or off + (NH - 1) * head + (D - 1) * col >= W:
            return None, (O, "q, k or v is not a head slice of the projection")
        cols.append((off, head, col))
    sb, sh, sr, sc = m["y_strides"]
    Cy = shape_of(y)[-1]
    if sr != Cy or (B > 1 and sb != T * sr) or (NH - 1) * sh + (D - 1) * sc >= Cy:
        return None, (O, "the attention output is not stored as the heads concatenated")
    chain = set()
    for v in (m["q"], m["kt"], m["v"]):
        while v is not top:
            chain.add(v)
            scaled = scaled_operand(v)
            v = scaled[0] if scaled else v.args[0]
    inside = chain | m["absorbed"] | {m2, top, P}
    if not _only_users(top, chain) or not all(_only_users(c, inside) for c in chain):
        return None, (O, "the qkv projection is read elsewhere")
    return {"O": O, "m2": m2, "attn": m, "P": P, "top": top, "y": y, "views": views, "cols": tuple(cols),
            "out_rows": (sh if NH > 1 else 0, sc), "sizes": (B, T, N), "heads": (NH, D),
            "absorbed": inside | {y} | set(m.get("chain", ()))}, None


def _attention_block_misfit(m, m2, O, P) -> str | None:
    """Why the shapes around an attention cannot form an attention block (None: they can)."""
    if len(shape_of(P)) != 3 or len(shape_of(O)) != 3 or len(shape_of(m["q"])) != 4:
        return "needs [B, T, C] projections and [B, H, T, D] heads"
    B, T, _ = shape_of(P)
    if shape_of(m["q"])[-2] != T or shape_of(m["v"])[-2] != T or shape_of(O)[:2] != (B, T) \
            or len(shape_of(P.args[1])) != 2 or len(shape_of(O.args[1])) != 2:
        return "not self-attention over the projection's rows with 2-d weights"
    if shape_of(m["q"])[-1] != shape_of(m["v"])[-1] or "y_strides" not in m:
        return "q and v head dims differ"
    if len({P.meta["dtype"], O.meta["dtype"], m2.meta["dtype"]}) != 1:
        return "mixed dtypes"
    return None
