"""Fusion: group the primitive graph's nodes into kernels (DESIGN.md decision 7).

Legality lives here; choices live in a ``FusionPolicy`` a researcher can swap.

1. *Materialize.* Pointwise, movement and indexing nodes are inlined into whatever reads them (a
   ``permute`` is index arithmetic, a chain of 20 adds is 20 statements) unless they must have a buffer:
   graph outputs, operands of a matmul or an extern op, and — the policy's call — values read by several
   consumers that are costly to recompute. The materialized nodes, reductions, matmuls and extern ops are
   the *scheduler nodes* (SNs). Before that, the template patterns of ``patterns.py`` claim their nodes:
   flash attention, the fused MLP, prologues (a GEMM's normalized operand) and the attention block.
2. *Group.* SNs are visited in topological order; each joins an existing kernel when the spaces agree
   (same element count for pointwise kernels; same rows for reductions, with their prologue and epilogue
   at row or element level; a matmul's output for its epilogue), when joining is legal — it reads other
   members only where they are computed (checked by lowering it: ``lowering.IllegalFusion``) and the
   kernel graph stays acyclic — and when the policy agrees. Otherwise it starts a kernel of its own.

Every decision, taken or refused, is recorded as a ``Decision`` with its reason.

    >>> from torchlite.compiler.fusion import FusionPolicy
    >>> FusionPolicy().recompute_limit
    8
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .lowering import (IllegalFusion, KernelBuilder, Lowerer, MatmulContext, PointwiseContext,
                       ReductionContext, Value, is_node, numel, shape_of)
from .patterns import (ROW_OPS, VIEW_OPS, classify, match_attention, match_attention_block, match_mlp, match_prologue,
                       mm_strides, scaled_operand, split_batch, strided_view)


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
      rows, from cache) and the elementwise math once per column block. Up to ``prologue_readers`` GEMMs
      reading the same normalized rows (separate q, k and v projections) each recompute it: three reads of
      ``x`` instead of a store and three reads of the normalized copy.
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
    prologue_readers = 3            # GEMMs that may each recompute one prologue (separate q, k, v projections)
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
                m = self.mlp[n]
                for i, (base, _, _) in enumerate(m["operands"] + ([m["gate_operand"]] if m["gate_operand"] else [])):
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
        # operand -> (the kernels that would compute it, the graph nodes that read it)
        groups: dict = {}
        for m in self.mlp.values():             # a gated MLP's two projections both read x in its kernel
            groups[m["x"]] = ([m["out"]], {m["m1"], m["m1b"]} - {None})
        for n in self.nodes:
            if n.op != "call_function" or n.target.name != "matmul" or classify(n) != "matmul" \
                    or n in absorbed or n in self.attention or n in self.mlp:
                continue
            a, N = n.args[0], shape_of(n.args[1])[-1]
            if a.meta["dtype"] is not n.meta["dtype"] or \
                    numel(shape_of(a)) != numel(shape_of(n)) // max(N, 1) * shape_of(a)[-1]:
                continue                        # A broadcast over the batch: its rows are not pid_b * M + row
            kernels, readers = groups.setdefault(a, ([], set()))
            kernels.append(n)
            readers.add(n)
        for a, (kernels, readers) in groups.items():
            if strided_view(a, lambda n: n.op == "placeholder" or classify(n) in ("matmul", "extern")) is not None:
                continue                        # read through strides already: nothing to compute
            if len(kernels) > self.policy.prologue_readers or set(a.users) != readers:
                continue                        # read elsewhere too (or by too many GEMMs to recompute it)
            m = match_prologue(a, outputs, absorbed, readers)
            if m is None:
                continue
            try:
                for consumer in kernels:
                    self.prologue[consumer] = m
                    row_prologue(self, consumer)
            except IllegalFusion as e:
                for consumer in kernels:
                    self.prologue.pop(consumer, None)
                self.decisions.append(Decision(a.name, None, False, f"not a prologue: {e}"))
                continue
            absorbed |= m["absorbed"]
            names = ", ".join(c.name for c in kernels)
            self.decisions.append(Decision(a.name, None, True, f"computed in the prologue of {names} "
                                           f"({len(m['reductions'])} row reductions; never stored)"))

    def _match_attention_blocks(self, outputs, absorbed: set) -> None:
        """Attention blocks (``patterns.match_attention_block``); adds the nodes they compute to ``absorbed``."""
        for m2, m in list(self.attention.items()):
            rec, why = match_attention_block(self, m2, m, outputs, absorbed)
            if rec is None:
                if why:
                    self.decisions.append(Decision(why[0].name, None, False, f"no attention block: {why[1]}"))
                continue
            O = rec["O"]
            self.attn_block[O] = rec
            del self.attention[m2]
            absorbed |= rec["absorbed"]
            self.decisions.append(Decision(O.name, None, True, f"attention block: {rec['P'].name}, the attention "
                                           f"{m2.name} and {O.name} in one kernel ({rec['sizes'][1]} rows a sequence)"))

    def _attention_operands(self, m2, m) -> bool:
        """q, k (rows = keys) and v as strided views of buffers with at most two batch runs, into ``m``."""
        ops, scales, scaled_nodes = [], [], set()
        from .indexing import contiguous_strides
        base_of = self._view_base
        for a in (m["q"], m["kt"], m["v"]):
            scaled = scaled_operand(a)          # sdpa's q * sqrt(scale): the kernel scales the tile it loads
            sv = strided_view(scaled[0], base_of) if scaled else None
            if sv is not None:
                scales.append(scaled[1])
                scaled_nodes.add(a)
            else:
                scales.append(None)
                sv = strided_view(a, base_of)
            if sv is None:                      # other computed operands get a buffer
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
        m["scales"] = scales                    # per operand: (op, scalar, operand first) or None
        m["absorbed"] = m["absorbed"] | scaled_nodes
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
        for a in (m["x"], m["w1"], m["w2"]) + ((m["w1b"],) if m["w1b"] is not None else ()):
            sv = strided_view(a, self._is_buffer_or_candidate)
            if sv is None:
                sv = (a, contiguous_strides(shape_of(a)), 0)
            base, strides, offset = sv
            runs = split_batch(shape_of(a)[:-1], strides[:-1])     # rows: one strided run
            if runs is None or runs[1][0] > 1:
                return False
            ops.append((base, (runs[0][1] if runs[0][0] > 1 else 0, strides[-1]), offset))
        m["operands"], m["gate_operand"] = ops[:3], (ops[3] if len(ops) == 4 else None)
        return True

    def _view_base(self, n) -> bool:
        """Where a template's strided read of a view chain stops: a buffer, or the first computed node under
        the views (which is then stored in its own layout: a linear's bias add joins its matmul's epilogue,
        where storing the view would take a copy kernel)."""
        return self._is_buffer_or_candidate(n) or (n.op == "call_function" and n not in self.absorbed
                                                   and n.target.name not in VIEW_OPS)

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
                L.reduction_values[m] = Value(f"red_{m.name}", m.meta["dtype"], 2 if m.target.name in ROW_OPS else 1)
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
            ops = (m["operands"][1:] if n in self.prologue else m["operands"]) \
                + ([m["gate_operand"]] if m["gate_operand"] else [])
            k.reads = {sv[0] for sv in ops} | set(loads) | ({m["b2"]} if m["b2"] is not None else set()) \
                | self._prologue_reads(n)
        elif kind == "attention":
            from .codegen import attention_score
            _, loads, _ = attention_score(self, n)
            k.reads = {sv[0] for sv in self.attention[n]["operands"]} | set(loads)
        elif kind == "attn_block":
            from .codegen import attention_score
            m = self.attn_block[n]
            _, loads, _ = attention_score(self, m["m2"], match=m["attn"], bname="pid_bh")
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
