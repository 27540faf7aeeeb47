"""Fusion: group the primitive graph's nodes into kernels (DESIGN.md decision 7).

Legality lives here; choices live in a ``FusionPolicy`` a researcher can swap.

1. *Materialize.* Pointwise, movement and indexing nodes are inlined into whatever reads them (a
   ``permute`` is index arithmetic, a chain of 20 adds is 20 statements) unless they must have a buffer:
   graph outputs, operands of a matmul or an extern op, and — the policy's call — values read by several
   consumers that are costly to recompute. The materialized nodes, reductions, matmuls and extern ops are
   the *scheduler nodes* (SNs).
2. *Group.* SNs are visited in topological order; each joins an existing kernel when the spaces agree
   (same element count for pointwise kernels; same rows for reductions, with their prologue and epilogue
   at row or element level; a matmul's output for its epilogue), when joining is legal — it reads other
   members only where they are computed (checked by lowering it: ``lowering.IllegalFusion``) and the
   kernel graph stays acyclic — and when the policy agrees. Otherwise it starts a kernel of its own.

Every decision, taken or refused, is recorded as a ``Decision`` with its reason.

    >>> from compiler.fusion import FusionPolicy
    >>> FusionPolicy().recompute_limit
    8
"""
from __future__ import annotations

from dataclasses import dataclass, field

from . import index_rules
from .lowering import (IllegalFusion, KernelBuilder, Lowerer, MatmulContext, PointwiseContext,
                       ReductionContext, Value, is_node, numel, shape_of)

REDUCTIONS = ("sum", "prod", "amax", "amin", "argmax", "argmin", "all", "any")


@dataclass
class Decision:
    node: str
    kernel: str | None
    taken: bool
    reason: str

    def __str__(self) -> str:
        verb = "fused into" if self.taken else "not fused into"
        where = self.kernel or "a new kernel"
        return f"{self.node}: {verb} {where}: {self.reason}"


@dataclass
class Kernel:
    """A group of SNs computed by one launch (or one extern call)."""
    kind: str                                   # pointwise | reduction | matmul | extern
    ctx: object
    members: list = field(default_factory=list)
    reads: set = field(default_factory=set)     # SN buffers (and placeholders) read from memory
    deps: set = field(default_factory=set)      # indices of kernels that must run first
    index: int = 0
    name: str = ""
    stores: list = field(default_factory=list)  # members other kernels or the caller read
    base_reads: set = field(default_factory=set)  # what a template reads besides its epilogue's loads
    elementwise_reads: set = field(default_factory=set)   # buffers read only at the element written (codegen)

    def __repr__(self) -> str:
        return f"Kernel({self.name or self.index}, {self.kind}, {[m.name for m in self.members]})"


class FusionPolicy:
    """What *should* fuse, among what may. Subclass and pass to ``compile_graph(policy=...)``.

    - ``recompute_limit``: a value read by several consumers is recomputed in each (not stored) when its
      inlined cone has at most this many ops;
    - ``max_members``: SNs per kernel (keeps generated kernels a size a person can read);
    - ``max_inline_depth``: the longest chain of inlined ops (deeper chains store an intermediate);
    - ``horizontal``: fuse SNs with no producer-consumer relation when they share an input;
    - ``flash_attention``: compute ``matmul(softmax(score(q @ k^T)), v)`` in one kernel that never stores
      the scores (``kernels/attention.py``);
    - ``fused_mlp``: compute ``act(x @ W1) @ W2`` in one kernel that never stores the hidden activation
      (``kernels/mlp.py``), when nothing else reads it (training keeps it for backward: no fusion then).
    - ``prologue``: compute the row operand of a matmul (A) or of a fused MLP (x) inside that kernel when
      it is elementwise math over buffers and reductions over its own rows (a layer_norm, an rms_norm, a
      gelu) and nothing else reads it: ``linear(layer_norm(x))`` is one kernel that never stores the
      normalized rows. Each program recomputes its rows' statistics (one more pass over its ``BLOCK_M``
      rows, from cache) and the elementwise math once per column block.
    - ``attention_block``: compute ``(attention(x @ Wqkv) -> heads concatenated) @ Wo`` in one kernel
      (``kernels/attention_block.py``) when a sequence fits one block of rows (``T <= 64``): every
      projection is then computed once, and neither qkv nor the attention output is stored. Longer
      sequences keep flash attention between two matmuls (the block would recompute k and v per query
      block). Its grid has one program per sequence: the trade is launches and bytes for parallelism.
    """
    recompute_limit = 8
    max_members = 32
    max_inline_depth = 64           # longest chain of inlined ops before a value is stored (lowering recurses)
    horizontal = True
    flash_attention = True          # matmul(softmax(score(q @ k^T)), v) as one kernel; False: as written
    fused_mlp = True                # matmul(act(matmul(x, W1)), W2) as one kernel when the hidden has no other use
    prologue = True                 # a GEMM's row operand computed in its kernel (layer_norm + linear: one kernel)
    attention_block = True          # qkv projection + attention + output projection of short sequences: one kernel

    def materialize(self, node, n_users: int, cone_ops: int) -> tuple[bool, str]:
        if n_users > 1 and cone_ops > self.recompute_limit:
            return True, f"{n_users} consumers and {cone_ops} ops to recompute (> {self.recompute_limit})"
        return False, "inlined into its consumers"

    def fuse(self, kernel: Kernel, node, relation: str) -> tuple[bool, str]:
        if len(kernel.members) >= self.max_members:
            return False, f"kernel already has {self.max_members} members"
        if relation == "horizontal" and not self.horizontal:
            return False, "horizontal fusion is off"
        if relation == "unrelated":
            return False, "no shared input or dependency"
        return True, relation


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
    if kind == "pointwise" or name in index_rules.RULES:
        return "pointwise"
    return "extern"


def _cone_ops(node, is_sn) -> int:
    """How many inlinable nodes computing ``node`` takes (stopping at SNs and placeholders)."""
    seen, todo = set(), [node]
    while todo:
        n = todo.pop()
        if n in seen:
            continue
        seen.add(n)
        for a in n.all_input_nodes:
            if a.op == "call_function" and not is_sn(a) and classify(a) == "pointwise":
                todo.append(a)
    return len(seen)


def strided_view(node, is_buffer):
    """``(base, strides, offset)`` when ``node`` is a chain of views a strided load can read without a copy."""
    chain = []
    n = node
    while not is_buffer(n):
        if n.op != "call_function" or n.target.name not in ("permute", "expand", "alias", "contiguous",
                                                             "getitem", "reshape"):
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


def _only_users(n, allowed) -> bool:
    return all(u in allowed for u in n.users)


def _cone_to_matmul(top):
    """``(cone, m1)``: the pointwise/index nodes computing ``top`` from exactly one matmul ``m1`` of
    ``top``'s shape (placeholders and buffers may feed the cone too); None if there is no such matmul."""
    cone, m1, todo = set(), None, [top]
    while todo:
        n = todo.pop()
        if n in cone or not hasattr(n, "op") or n.op != "call_function":
            continue
        if n.target.name == "matmul":
            if m1 is not None and m1 is not n:
                return None
            m1 = n
            continue
        if classify(n) != "pointwise" or n.target.name in ("gather",):
            return None
        cone.add(n)
        todo.extend(n.all_input_nodes)
    if m1 is None or shape_of(m1) != shape_of(top):
        return None
    return cone, m1


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

    ``act`` is any pointwise cone over the first matmul (a bias add, relu, gelu, ...). The weights are 2-d
    strided views (a Linear weight transposed); the second layer is at most 128 wide (one column block, so
    the hidden is computed once per row block).
    """
    if m2.target.name != "matmul" or len(shape_of(m2.args[1])) != 2 or shape_of(m2)[-1] > 128:
        return None
    a = m2.args[0]
    found = _cone_to_matmul(a)                  # the activation cone
    if found is None or len(shape_of(found[1].args[1])) != 2:
        return None
    cone, m1 = found
    absorbed = cone | {m1}
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
    return {"m1": m1, "m2": m2, "hidden": a, "absorbed": absorbed, "out": out, "b2": b2,
            "x": m1.args[0], "w1": m1.args[1], "w2": m2.args[1]}


def match_prologue(a, outputs, taken) -> dict | None:
    """The nodes a GEMM computes when its row operand ``a`` (``[rows..., K]``) is a prologue, or None.

    ``a``'s cone is pointwise and index math over buffers (placeholders, matmul and extern outputs) and
    reductions over the last dim of values of ``a``'s shape (a row's mean, variance, sum of squares),
    possibly nested (the variance reads the mean). Nodes that depend on those reductions (the normalized
    rows) are *absorbed*: nothing outside the cone may read them. Nodes that do not (the residual sum a
    layer_norm reads) stay ordinary nodes, recomputed in the prologue as in any other consumer.
    """
    if not (is_node(a) and a.op == "call_function") or a in outputs or len(a.users) != 1 \
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


class Fuser:
    """Runs the two steps on one graph; ``kernels`` (in a valid launch order) and ``decisions`` result."""

    def __init__(self, graph, policy: FusionPolicy | None = None):
        self.graph = graph
        self.policy = policy or FusionPolicy()
        self.decisions: list[Decision] = []
        self.nodes = list(graph.nodes)
        out = self.nodes[-1].args[0]
        self.outputs = [o for o in (out if isinstance(out, (tuple, list)) else (out,)) if is_node(o)]
        self.sns: dict = {}                    # node -> "pointwise" | "reduction" | "matmul" | "extern"
        self.operands: dict = {}               # matmul node -> [(base, strides, offset)] * 2
        self.kernel_of: dict = {}
        self.kernels: list[Kernel] = []
        self.attention: dict = {}              # matmul node -> match_attention() result
        self.mlp: dict = {}                    # output node -> match_mlp() result
        self.absorbed: set = set()             # nodes a template computes internally
        self.prologue: dict = {}               # matmul node or MLP output -> match_prologue() result
        self.attn_block: dict = {}             # output-projection matmul -> _match_attention_blocks() record

    # -- step 1 -------------------------------------------------------------------------------------------
    def materialize(self) -> None:
        outputs = set(self.outputs)
        absorbed: set = set()
        if self.policy.flash_attention:
            for n in self.nodes:
                if n.op == "call_function" and n.target.name == "matmul" and n not in absorbed:
                    m = match_attention(n, outputs)
                    if m is not None and self._attention_operands(n, m):
                        self.attention[n] = m
                        absorbed |= m["absorbed"]
                        layout = self._attention_layout(n, m, outputs)
                        if layout is not None:
                            m["store_as"], m["out_strides"], chain = layout
                            m["chain"] = chain
                            absorbed |= set(chain)
                            self.decisions.append(Decision(m["store_as"].name, None, True, "the flash-attention "
                                                           "kernel writes it in this layout (no copy)"))
                        self.decisions.append(Decision(n.name, None, True, "flash attention: the scores of "
                                                       f"{m['m1'].name} stay on chip ({len(m['absorbed'])} nodes)"))
        if self.policy.fused_mlp:
            # from the output side, so a deep MLP pairs its last two layers (whose input activation would
            # otherwise be stored) rather than its first two
            for n in reversed(self.nodes):
                if n.op == "call_function" and n.target.name == "matmul" and n not in absorbed:
                    m = match_mlp(n, outputs)
                    if m is not None and not (m["absorbed"] | {m["out"]}) & (absorbed | set(self.mlp)) \
                            and self._mlp_operands(m):
                        self.mlp[m["out"]] = m
                        absorbed |= m["absorbed"]
                        self.decisions.append(Decision(m["out"].name, None, True, "fused MLP: the hidden "
                                                       f"activation {m['hidden'].name} stays on chip"))
        if self.policy.prologue:
            self._match_prologues(outputs, absorbed)
        if self.policy.attention_block:
            self._match_attention_blocks(outputs, absorbed)
        self.absorbed = absorbed
        for n in self.nodes:
            kind = classify(n)
            if kind is None or n in absorbed:
                continue
            if n in self.attention:
                self.sns[n] = "attention"
                continue
            if n in self.attn_block:
                self.sns[n] = "attn_block"
                continue
            if n in self.mlp:
                self.sns[n] = "mlp"
                continue
            if kind != "pointwise":
                self.sns[n] = kind
            elif n in outputs:
                self.sns[n] = kind
                self.decisions.append(Decision(n.name, None, False, "a graph output: stored"))
        # Operands of matmuls and extern ops need buffers (a matmul reads strided views without a copy).
        for n in self.nodes:
            kind = self.sns.get(n)
            if kind == "matmul":
                ops = []
                M, N = shape_of(n.args[0])[-2], shape_of(n.args[1])[-1]
                batch = numel(shape_of(n)) // max(M * N, 1)
                for i, a in enumerate(n.args):
                    if i == 0 and n in self.prologue:
                        ops.append(None)                # computed by the kernel's prologue
                        continue
                    sv = strided_view(a, self._is_buffer_or_candidate)
                    if sv is not None and mm_strides(sv[1], shape_of(a), batch) is None:
                        sv = None                       # batch dims that two strides cannot walk
                    if sv is None:
                        self._force(a, "a matmul operand that is not a strided view of a buffer")
                        sv = (a, None, 0)
                    elif sv[0].op == "call_function":
                        self._force(sv[0], "read by a matmul through a strided view")
                    ops.append(sv)
                self.operands[n] = ops
            elif kind == "extern":
                for a in n.all_input_nodes:
                    if a.op == "call_function":
                        self._force(a, f"an input of extern op {n.target.name}")
            elif kind == "mlp":
                for i, (base, _, _) in enumerate(self.mlp[n]["operands"]):
                    if i == 0 and n in self.prologue:
                        continue                        # x is computed by the kernel's prologue
                    if base.op == "call_function":
                        self._force(base, "read by a fused MLP through a strided view")
            elif kind == "attention":
                for base, _, _ in self.attention[n]["operands"]:
                    if base.op == "call_function":
                        self._force(base, "read by flash attention through a strided view")
            elif kind == "attn_block":
                for sv in self.attn_block[n]["views"].values():
                    if sv is not None and sv[0].op == "call_function":
                        self._force(sv[0], "read by the attention block through a strided view")
        # Long chains: lowering recurses along inlined producers, so a chain deeper than the policy's limit
        # is cut by storing every max_inline_depth-th value (a 2000-op chain becomes a few kernels).
        depth: dict = {}
        for n in self.nodes:
            if n.op != "call_function" or n in self.sns or n in absorbed or classify(n) != "pointwise":
                continue
            d = 1 + max((depth.get(a, 0) for a in n.all_input_nodes if a not in self.sns), default=0)
            if d > self.policy.max_inline_depth:
                self.sns[n] = "pointwise"
                self.decisions.append(Decision(n.name, None, False, f"stored: an inlined chain {d - 1} ops deep "
                                               f"(limit {self.policy.max_inline_depth})"))
                d = 0
            depth[n] = d
        # Values read by several consumers: recompute when cheap, else store.
        for n in reversed(self.nodes):
            if n in self.sns or n in absorbed or classify(n) != "pointwise":
                continue
            users = len(n.users)
            if users > 1:
                store, why = self.policy.materialize(n, users, _cone_ops(n, lambda m: m in self.sns))
                if store:
                    self.sns[n] = "pointwise"
                self.decisions.append(Decision(n.name, None, not store, why))

    def _match_prologues(self, outputs, absorbed: set) -> None:
        """Row operands computed inside their GEMM (``FusionPolicy.prologue``); adds to ``absorbed``."""
        from .codegen import row_prologue
        consumers = [(m["out"], m["x"], False) for m in self.mlp.values()]
        consumers += [(n, n.args[0], True) for n in self.nodes if n.op == "call_function" and n.target.name == "matmul"
                      and classify(n) == "matmul" and n not in absorbed and n not in self.attention
                      and n not in self.mlp]
        for consumer, a, is_mm in consumers:
            if strided_view(a, lambda n: n.op == "placeholder" or classify(n) in ("matmul", "extern")) is not None:
                continue                        # read through strides already: nothing to compute
            if is_mm:
                M, N = shape_of(consumer.args[0])[-2], shape_of(consumer.args[1])[-1]
                if not a.meta["dtype"] is consumer.meta["dtype"] or \
                        numel(shape_of(a)) != numel(shape_of(consumer)) // max(N, 1) * shape_of(a)[-1]:
                    continue                    # A broadcast over the batch: its rows are not pid_b * M + row
            m = match_prologue(a, outputs, absorbed)
            if m is None:
                continue
            self.prologue[consumer] = m
            try:
                row_prologue(self, consumer)
            except IllegalFusion as e:
                del self.prologue[consumer]
                self.decisions.append(Decision(a.name, None, False, f"not a prologue of {consumer.name}: {e}"))
                continue
            absorbed |= m["absorbed"]
            self.decisions.append(Decision(a.name, None, True, f"computed in the prologue of {consumer.name} "
                                           f"({len(m['reductions'])} row reductions; never stored)"))

    def _match_attention_blocks(self, outputs, absorbed: set) -> None:
        """Flash attentions whose q, k and v are views of one projection ``P = x @ Wp`` read by nothing else,
        and whose output (stored in the layout ``transpose(1, 2).reshape``) only feeds ``O = y @ Wo``: the
        attention-block template computes ``P``, the attention and ``O`` in one kernel (``O``'s epilogue
        joins it as a matmul's would). Adds the nodes it computes to ``absorbed``."""
        from torchlite.kernels.attention_block import BLOCK_DTYPES, MAX_BLOCK_D, MAX_BLOCK_N, MAX_T
        from torchlite.kernels.attention import head_block
        from .lowering import triton_type
        buffer = self._is_buffer_or_candidate
        for m2, m in list(self.attention.items()):
            y = m.get("store_as")
            if y is None or y in outputs or len(y.users) != 1:
                continue
            O = next(iter(y.users))
            if O.op != "call_function" or O.target.name != "matmul" or O.args[0] is not y or O in absorbed:
                continue
            bases = {b for b, _, _ in m["operands"]}
            P = bases.pop() if len(bases) == 1 else None
            if P is None or P.op != "call_function" or P.target.name != "matmul" or P in outputs:
                continue
            why = self._attention_block_misfit(m, m2, y, O, P, outputs)
            if why:
                self.decisions.append(Decision(O.name, None, False, f"no attention block: {why}"))
                continue
            x, wp, wo = P.args[0], P.args[1], O.args[1]
            views = {"wp": strided_view(wp, buffer), "wo": strided_view(wo, buffer),
                     "x": None if P in self.prologue else strided_view(x, buffer)}
            B, T, W = shape_of(P)
            if views["wp"] is None or views["wo"] is None or (P not in self.prologue and views["x"] is None):
                self.decisions.append(Decision(O.name, None, False, "no attention block: an operand is not "
                                               "a strided view of a buffer"))
                continue
            NH, D = shape_of(m["q"])[-3], shape_of(m["q"])[-1]
            N = shape_of(O)[-1]
            dt = P.meta["dtype"]
            if T > MAX_T or head_block(D) > MAX_BLOCK_D or max(16, 1 << (N - 1).bit_length()) > MAX_BLOCK_N \
                    or triton_type(dt) not in BLOCK_DTYPES:
                self.decisions.append(Decision(O.name, None, False, f"no attention block: T {T} > {MAX_T}, "
                                               f"head dim {D} or output width {N} too large, or dtype {dt.name}"))
                continue
            cols = []
            for (base, st, off, runs), swap in zip(m["views"], (False, True, False)):
                row, col = (st[-1], st[-2]) if swap else (st[-2], st[-1])
                head = st[1] if NH > 1 else 0
                if row != W or (B > 1 and st[0] != T * W) or not 0 <= off < W \
                        or off + (NH - 1) * head + (D - 1) * col >= W:
                    cols = None
                    break
                cols.append((off, head, col))
            sb, sh, sr, sc = m["y_strides"]
            Cy = shape_of(y)[-1]
            if cols is None or sr != Cy or (B > 1 and sb != T * sr) or (NH - 1) * sh + (D - 1) * sc >= Cy:
                self.decisions.append(Decision(O.name, None, False, "no attention block: q, k, v or the "
                                               "output are not head slices of the projections"))
                continue
            chain = set()
            for v in (m["q"], m["kt"], m["v"]):
                while v is not P:
                    chain.add(v)
                    v = v.args[0]
            inside = chain | m["absorbed"] | {m2, P}
            if not _only_users(P, chain) or not all(_only_users(c, inside) for c in chain):
                self.decisions.append(Decision(O.name, None, False, "no attention block: the qkv projection "
                                               "is read elsewhere"))
                continue
            self.attn_block[O] = {"m2": m2, "attn": m, "P": P, "y": y, "views": views, "cols": tuple(cols),
                                  "out_rows": (sh if NH > 1 else 0, sc), "sizes": (B, T, N), "heads": (NH, D),
                                  "absorbed": inside | {y} | set(m.get("chain", ()))}
            del self.attention[m2]
            absorbed |= inside | {y}
            self.decisions.append(Decision(O.name, None, True, f"attention block: {P.name}, the attention "
                                           f"{m2.name} and {O.name} in one kernel ({T} rows a sequence)"))

    @staticmethod
    def _attention_block_misfit(m, m2, y, O, P, outputs) -> str | None:
        """Why the shapes cannot form an attention block (None: they can)."""
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

    def _attention_operands(self, m2, m) -> bool:
        """q, k (rows = keys) and v as strided views of buffers with at most two batch runs, into ``m``."""
        ops = []
        from .indexing import contiguous_strides
        for a in (m["q"], m["kt"], m["v"]):
            sv = strided_view(a, self._is_buffer_or_candidate)
            if sv is None:                      # computed operands (sdpa's scaled q and k) get a buffer
                sv = (a, contiguous_strides(shape_of(a)), 0)
            base, strides, offset = sv
            bshape, bstr = shape_of(a)[:-2], strides[:-2]
            runs = split_batch(bshape, bstr)
            if runs is None or numel(bshape) != numel(shape_of(m2)[:-2]):
                return False
            ops.append((base, strides, offset, runs))
        inner = {r[1][0] for _, _, _, r in ops if r[1][0] > 1}
        if len(inner) > 1:
            return False                    # q, k and v split their batch differently: one kernel can't walk them
        m["inner"] = inner.pop() if inner else 1
        m["operands"] = [(b, st, off) for b, st, off, _ in ops]
        m["views"] = ops
        return True

    def _attention_layout(self, m2, m, outputs):
        """``(y, out_strides, chain)`` when the attention output is only read through ``permute`` then
        ``reshape`` (``out.transpose(1, 2).reshape(B, T, C)``): the kernel can store each element where
        ``y``'s contiguous buffer wants it, so ``y`` needs no copy kernel."""
        from .indexing import contiguous_strides
        chain, n, dims = [], m2, tuple(range(len(shape_of(m2))))
        while m2 not in outputs and len(n.users) == 1:
            u = next(iter(n.users))
            if u.op != "call_function" or u.target.name not in ("permute", "reshape", "alias", "contiguous"):
                break
            if u.target.name == "permute":
                if any(c.target.name == "reshape" for c in chain):
                    break                       # a permute after a reshape: not one strided layout
                dims = tuple(dims[d] for d in u.kwargs["dims"])
            chain.append(u)
            n = u
            if n in outputs:
                break
        if not chain or chain[-1].target.name == "alias":
            return None
        permuted = contiguous_strides(tuple(shape_of(m2)[d] for d in dims))
        st = [0] * len(dims)
        for pos, d in enumerate(dims):
            st[d] = permuted[pos]
        batch = shape_of(m2)[:-2]
        wide = [d for d, n in enumerate(batch) if n > 1]
        if len(batch) == 2 and m["inner"] == batch[1] > 1:
            out = (st[0], st[1], st[-2], st[-1])
        elif m["inner"] == 1 and len(wide) <= 1:       # one batch dim walks the flattened batch (B or H is 1)
            out = (st[wide[0]] if wide else 0, 0, st[-2], st[-1])
        else:
            return None
        m["y_strides"] = tuple(st)
        return chain[-1], out, chain[:-1]

    def _mlp_operands(self, m) -> bool:
        """x as rows of a strided 2-d view (its leading dims merged), W1 and W2 as 2-d strided views."""
        from .indexing import contiguous_strides
        ops = []
        for a in (m["x"], m["w1"], m["w2"]):
            sv = strided_view(a, self._is_buffer_or_candidate)
            if sv is None:
                sv = (a, contiguous_strides(shape_of(a)), 0)
            base, strides, offset = sv
            runs = split_batch(shape_of(a)[:-1], strides[:-1])     # rows: one strided run
            if runs is None or runs[1][0] > 1:
                return False
            ops.append((base, (runs[0][1] if runs[0][0] > 1 else 0, strides[-1]), offset))
        m["operands"] = ops
        return True

    def _is_buffer_or_candidate(self, n) -> bool:
        """Will ``n`` have a buffer? Placeholders, SNs, and (before materialization) matmul/extern outputs."""
        return n.op == "placeholder" or n in self.sns or \
            (n.op == "call_function" and n not in self.absorbed and classify(n) in ("matmul", "extern"))

    def _force(self, n, why: str) -> None:
        if n.op == "call_function" and n not in self.sns:
            self.sns[n] = classify(n) if classify(n) != "pointwise" else "pointwise"
            self.decisions.append(Decision(n.name, None, False, f"stored: {why}"))

    # -- step 2 -------------------------------------------------------------------------------------------
    def context_for(self, n):
        kind = self.sns[n]
        if kind == "reduction":
            src = n.args[0]
            dims = n.kwargs.get("dims", None)
            if dims is None:
                dims = (n.kwargs["dim"],) if n.kwargs.get("dim") is not None else None
            nd = len(shape_of(src))
            dims = tuple(range(nd)) if dims is None or dims == () else tuple(d % max(nd, 1) for d in dims)
            return ReductionContext(shape_of(src), dims)
        if kind == "matmul":
            a, b = n.args
            M, N = shape_of(a)[-2], shape_of(b)[-1]
            return MatmulContext(numel(shape_of(n)) // max(M * N, 1), M, N)
        if kind == "pointwise":
            return PointwiseContext(numel(shape_of(n)))
        return None

    def trial(self, ctx, members: list) -> tuple[set, dict]:
        """Lower ``members`` in ``ctx``; the buffers they read and, per member, the members it reads."""
        b = KernelBuilder(ctx)
        buffers = _BufferSet(self.sns, set(members))
        L = Lowerer(b, buffers, set(members))
        reads_members = {}
        for m in members:
            L.member_reads = set()
            kind = self.sns[m]
            if kind == "reduction":
                L.value(m.args[0], ctx.full_index)
                L.reduction_values[m] = Value(f"red_{m.name}", m.meta["dtype"], 1)
            elif kind in ("matmul", "mlp", "attn_block"):
                L.reduction_values[m] = Value("acc", m.meta["dtype"], 2)
            else:
                L.value(m, L.index_for(m))
            reads_members[m] = set(L.member_reads) - {m}
        return set(b.loads), reads_members

    def group(self) -> None:
        for n in self.nodes:
            kind = self.sns.get(n)
            if kind is None or n in self.kernel_of:
                continue
            if kind == "extern":
                self._new_kernel("extern", None, n, "extern op: runs its registry kernel")
                continue
            if kind == "matmul":
                ctx = self.context_for(n)
                self._new_kernel("matmul", ctx, n, "matmul template")
                continue
            if kind == "attention":
                k = self._new_kernel("attention", None, n, "flash-attention template")
                y = self.attention[n].get("store_as")
                if y is not None:                       # stored in its consumer's layout by the same kernel
                    k.members.append(y)
                    self.kernel_of[y] = k
                    self.sns[y] = "attention"
                continue
            if kind == "mlp":
                m = self.mlp[n]
                H = shape_of(m["m1"])[-1]
                ctx = MatmulContext(1, numel(shape_of(m["m1"])) // H, shape_of(n)[-1])
                self._new_kernel("mlp", ctx, n, "fused MLP template")
                continue
            if kind == "attn_block":
                B, T, N = self.attn_block[n]["sizes"]
                self._new_kernel("attn_block", MatmulContext(B, T, N), n, "attention-block template")
                continue
            placed = False
            for k in sorted(self._candidates(n), key=lambda k: -k.index):
                ok, why = self._try_join(k, n)
                self.decisions.append(Decision(n.name, k.name, ok, why))
                if ok:
                    placed = True
                    break
            if not placed:
                self._new_kernel(kind, self.context_for(n), n, "starts a kernel")

    def _candidates(self, n):
        kind = self.sns[n]
        k_n = numel(shape_of(n))
        for k in self.kernels:
            if k.kind in ("extern", "attention"):
                continue
            if kind == "reduction":
                if k.kind == "reduction" and k.ctx.key() == self.context_for(n).key():
                    yield k
                elif k.kind == "pointwise" and k.ctx.numel == numel(shape_of(n.args[0])):
                    yield k
            elif k.kind == "pointwise" and k.ctx.numel == k_n:
                yield k
            elif k.kind == "reduction" and k_n in (k.ctx.xnumel, numel(k.ctx.in_shape)):
                yield k
            elif k.kind in ("matmul", "mlp", "attn_block") and kind == "pointwise" \
                    and k_n == k.ctx.batch * k.ctx.M * k.ctx.N:
                yield k

    def _try_join(self, k: Kernel, n) -> tuple[bool, str]:
        ctx = k.ctx
        if self.sns[n] == "reduction" and k.kind == "pointwise":
            ctx = self.context_for(n)               # the kernel becomes a reduction over rows
        try:
            loads, member_reads = self.trial(ctx, k.members + [n])
        except IllegalFusion as e:
            return False, f"illegal: {e}"
        new_deps = {self.kernel_of[b].index for b in loads if b in self.kernel_of and self.kernel_of[b] is not k}
        for d in new_deps:
            if self._depends_on(d, k.index):
                return False, f"illegal: would make a cycle through {self.kernels[d].name}"
        relation = "vertical" if member_reads.get(n) else \
            ("horizontal" if loads & k.reads or any(n in r for r in member_reads.values()) else "unrelated")
        if relation == "vertical":
            relation = f"reads {', '.join(sorted(m.name for m in member_reads[n]))} where the kernel computes it"
        ok, why = self.policy.fuse(k, n, relation)
        if not ok:
            return False, why
        k.members.append(n)
        k.ctx = ctx
        if ctx.kind == "reduction":
            k.kind = "reduction"
        k.reads = set(loads) | k.base_reads
        k.deps |= new_deps
        self.kernel_of[n] = k
        return True, why

    def _depends_on(self, a: int, b: int) -> bool:
        """Does kernel ``a`` (transitively) need kernel ``b`` to run first?"""
        seen, todo = set(), [a]
        while todo:
            x = todo.pop()
            if x == b:
                return True
            if x in seen:
                continue
            seen.add(x)
            todo.extend(self.kernels[x].deps)
        return False

    def _new_kernel(self, kind, ctx, n, why) -> Kernel:
        k = Kernel(kind, ctx, [n], index=len(self.kernels))
        if kind == "extern":
            k.reads = set(n.all_input_nodes)
        elif kind == "matmul":
            k.reads = {sv[0] for sv in self.operands[n] if sv is not None} | self._prologue_reads(n)
        elif kind == "mlp":
            from .codegen import mlp_activation
            _, loads = mlp_activation(self, n)
            m = self.mlp[n]
            ops = m["operands"][1:] if n in self.prologue else m["operands"]
            k.reads = {sv[0] for sv in ops} | set(loads) | ({m["b2"]} if m["b2"] is not None else set()) \
                | self._prologue_reads(n)
        elif kind == "attention":
            from .codegen import attention_score
            _, loads = attention_score(self, n)
            k.reads = {sv[0] for sv in self.attention[n]["operands"]} | set(loads)
        elif kind == "attn_block":
            from .codegen import attention_score
            m = self.attn_block[n]
            _, loads = attention_score(self, m["m2"], match=m["attn"], bname="pid_bh")
            k.reads = {sv[0] for sv in m["views"].values() if sv is not None} | set(loads) \
                | self._prologue_reads(m["P"])
        else:
            k.reads, _ = self.trial(ctx, [n])
        if kind in ("matmul", "mlp", "attn_block"):
            k.base_reads = set(k.reads)
        k.deps = {self.kernel_of[b].index for b in k.reads if b in self.kernel_of}
        k.name = f"k{k.index}"
        self.kernels.append(k)
        self.kernel_of[n] = k
        self.decisions.append(Decision(n.name, k.name, True, why))
        return k

    def _prologue_reads(self, consumer) -> set:
        if consumer not in self.prologue:
            return set()
        from .codegen import row_prologue
        return set(row_prologue(self, consumer)[1])

    # -- results ------------------------------------------------------------------------------------------
    def finish(self) -> list[Kernel]:
        """Decide stores and a launch order (kernels after everything they read)."""
        outputs = set(self.outputs)
        read_elsewhere = set()
        for k in self.kernels:
            read_elsewhere |= {b for b in k.reads if self.kernel_of.get(b) is not k}
        for k in self.kernels:
            k.stores = [m for m in k.members if m in outputs or m in read_elsewhere]
        order, done = [], set()
        pending = list(self.kernels)
        while pending:
            for k in pending:
                if k.deps <= done:
                    order.append(k)
                    done.add(k.index)
                    pending.remove(k)
                    break
            else:
                raise RuntimeError("fusion produced a cycle between kernels (a compiler bug)")
        return order

    def run(self) -> list[Kernel]:
        self.materialize()
        self.group()
        return self.finish()


class _BufferSet:
    """Membership test for "read this node from memory": placeholders and SNs outside the kernel."""

    def __init__(self, sns, members):
        self.sns, self.members = sns, members

    def __contains__(self, n) -> bool:
        return (n.op == "placeholder" and not n.meta.get("scalar")) or (n in self.sns and n not in self.members)
