"""Decomposition: op-level composites become the primitives the Triton path lowers.

``softmax`` becomes ``amax, sub, exp, sum, div``; ``var`` becomes ``mean`` of squared deviations;
``linear`` becomes a ``matmul`` with a transposed weight (a strided view, never a copy) plus ``add``;
``einsum`` becomes a batched ``matmul`` or a broadcast ``mul`` + ``sum`` over aligned views.
The primitives are registry ops themselves, so a decomposed graph still prints as ``torchlite.ops.*``
calls and still runs on the numpy backend — which is how decompositions are tested. Each rule is a
function ``rule(b, *args, **params) -> node`` over a ``Builder`` whose ``b.op(name, *args, **params)``
adds a node (its shape and dtype from the registry's meta rule) before the node being replaced; new nodes
keep the user's line and record the op they came from in ``meta["origin"]`` (kernel names use it).

    >>> sorted(DECOMPOSITIONS)[:4]
    ['einsum', 'index_put', 'linear', 'log_softmax']
"""
from __future__ import annotations

from torchlite import dtypes as _dt
from torchlite.lazy import LazyNode

_HALF = (_dt.float16, _dt.bfloat16)
DECOMPOSITIONS: dict = {}


def decomposition(name):
    def wrap(fn):
        DECOMPOSITIONS[name] = fn
        return fn
    return wrap


class Builder:
    """Adds registry-op nodes to ``graph`` before ``anchor`` (see the module docstring)."""

    def __init__(self, graph, anchor):
        self.graph, self.anchor = graph, anchor
        self.origin = anchor.meta.get("origin") or anchor.target.name

    def op(self, name: str, *args, **params):
        from torchlite.ops.registry import REGISTRY
        op = REGISTRY[name]
        values = tuple(params.get(p) for p in op.params)
        shape, dtype = op.meta(tuple(_stand_in(a) for a in args), values)
        with self.graph.inserting_before(self.anchor):
            n = self.graph.call_function(op, tuple(args), dict(zip(op.params, values)))
        n.meta.update(shape=tuple(shape), dtype=dtype, device=self.anchor.meta.get("device"), origin=self.origin)
        if "stack_frame" in self.anchor.meta:
            n.meta["stack_frame"] = self.anchor.meta["stack_frame"]
        return n


def _stand_in(a):
    """What a registry meta rule expects for ``a``: a LazyNode-shaped record, or a scalar of its type."""
    if hasattr(a, "op") and hasattr(a, "meta"):
        if a.meta.get("scalar"):
            return {"float": 1.0, "int": 1, "bool": True}[a.meta["scalar"]]
        return LazyNode(None, (), (), tuple(a.meta["shape"]), a.meta["dtype"], a.meta.get("device"), None)
    return a


def shape(n) -> tuple:
    return tuple(n.meta["shape"])


def dtype(n):
    return n.meta["dtype"]


def _dims(x, dims) -> tuple:
    nd = len(shape(x))
    if dims is None or dims == ():
        return tuple(range(nd))
    if isinstance(dims, int):
        dims = (dims,)
    return tuple(d % max(nd, 1) for d in dims)


def _count(x, dims) -> int:
    out = 1
    for d in _dims(x, dims):
        out *= shape(x)[d] if shape(x) else 1
    return out


def _upcast(b, x):
    return b.op("cast", x, to=_dt.float32) if dtype(x) in _HALF else x


@decomposition("mean")
def _mean(b, x, *, dims, keepdim, dtype_):
    out = dtype_ or dtype(x)
    acc = _dt.float32 if out in _HALF else out
    s = b.op("sum", x, dims=dims, keepdim=keepdim, dtype_=acc)
    r = b.op("div", s, float(_count(x, dims)))
    return r if dtype(r) is out else b.op("cast", r, to=out)


@decomposition("var")
def _var(b, x, *, dims, keepdim, correction):
    out = dtype(x)
    xf = _upcast(b, x)
    m = _mean(b, xf, dims=dims, keepdim=True, dtype_=None)
    d = b.op("sub", xf, m)
    s = b.op("sum", b.op("mul", d, d), dims=dims, keepdim=keepdim, dtype_=None)
    r = b.op("div", s, float(max(0, _count(x, dims) - correction)))
    return r if dtype(r) is out else b.op("cast", r, to=out)


@decomposition("std")
def _std(b, x, *, dims, keepdim, correction):
    out = dtype(x)
    v = _var(b, _upcast(b, x), dims=dims, keepdim=keepdim, correction=correction)
    r = b.op("sqrt", v)
    return r if dtype(r) is out else b.op("cast", r, to=out)


def _row(b, op: str, x, dim: int):
    """``op`` (amax or sum) over ``dim`` with keepdim; a 0-d ``x`` (softmax of a scalar, dim 0 or -1) is its
    own single-element row, and the registry's reductions take no dim of a 0-d tensor."""
    if not shape(x):
        return x
    if op == "sum":
        return b.op("sum", x, dims=(dim,), keepdim=True, dtype_=None)
    return b.op(op, x, dims=(dim,), keepdim=True)


@decomposition("softmax")
def _softmax(b, x, *, dim):
    out = dtype(x)
    xf = _upcast(b, x)
    m = _row(b, "amax", xf, dim)
    e = b.op("exp", b.op("sub", xf, m))
    r = b.op("div", e, _row(b, "sum", e, dim))
    return r if dtype(r) is out else b.op("cast", r, to=out)


@decomposition("log_softmax")
def _log_softmax(b, x, *, dim):
    out = dtype(x)
    xf = _upcast(b, x)
    m = _row(b, "amax", xf, dim)
    d = b.op("sub", xf, m)
    r = b.op("sub", d, b.op("log", _row(b, "sum", b.op("exp", d), dim)))
    return r if dtype(r) is out else b.op("cast", r, to=out)


@decomposition("logsumexp")
def _logsumexp(b, x, *, dims, keepdim):
    out_meta = b.anchor.meta["dtype"]
    xf = x if dtype(x).is_floating_point and dtype(x) not in _HALF else b.op("cast", x, to=_dt.float32 if dtype(x) in _HALF or not dtype(x).is_floating_point else dtype(x))
    m = b.op("amax", xf, dims=dims, keepdim=True)
    m = b.op("where", b.op("isinf", m), 0.0, m)                 # all -inf (or an inf) rows: PyTorch's guard
    s = b.op("sum", b.op("exp", b.op("sub", xf, m)), dims=dims, keepdim=True, dtype_=None)
    r = b.op("add", b.op("log", s), m)
    if not keepdim:
        r = b.op("reshape", r, shape=shape(b.anchor))
    return r if dtype(r) is out_meta else b.op("cast", r, to=out_meta)


@decomposition("norm")
def _norm(b, x, *, p, dims, keepdim):
    if p in ("inf", "-inf"):                    # the registry spells infinite orders as strings
        p = float(p)
    if not isinstance(p, (int, float)) or isinstance(p, bool):
        return None
    out = b.anchor.meta["dtype"]
    xf = _upcast(b, x)
    a = b.op("abs", xf)
    if p == 2:
        r = b.op("sqrt", b.op("sum", b.op("mul", xf, xf), dims=dims, keepdim=keepdim, dtype_=None))
    elif p == 1:
        r = b.op("sum", a, dims=dims, keepdim=keepdim, dtype_=None)
    elif p == float("inf"):
        r = b.op("amax", a, dims=dims, keepdim=keepdim)
    elif p == float("-inf"):
        r = b.op("amin", a, dims=dims, keepdim=keepdim)
    elif p == 0:                                # the count of nonzeros, in the float dtype
        r = b.op("sum", b.op("ne", xf, 0.0, common=dtype(xf)), dims=dims, keepdim=keepdim, dtype_=dtype(xf))
    else:                                       # (sum |x|**p) ** (1/p), as the registry kernel computes it
        r = b.op("pow", b.op("sum", b.op("pow", a, float(p)), dims=dims, keepdim=keepdim, dtype_=None), 1.0 / p)
    return r if dtype(r) is out else b.op("cast", r, to=out)


@decomposition("linear")
def _linear(b, x, w, bias=None):
    if len(shape(w)) != 2 or len(shape(x)) < 1:
        return None                             # (a 1-d x is a vector-matrix product: matmul decomposes it)
    y = b.op("matmul", x, b.op("permute", w, dims=(1, 0)))
    return y if bias is None else b.op("add", y, bias)


@decomposition("matmul")
def _matmul(b, x, y):
    if len(shape(x)) >= 2 and len(shape(y)) >= 2:
        out = shape(b.anchor)
        if shape(x)[-1] == 0 or 0 in out:                       # an empty sum (K == 0) or an empty result:
            return b.op("full", 0, shape=out, dtype_=dtype(b.anchor),   # zeros, no matmul kernel
                        device=b.anchor.meta.get("device"))
        xs, ys = _batch_operand(b, x, out[:-2]), _batch_operand(b, y, out[:-2])
        if xs is x and ys is y:
            return None                                         # already the primitive
        return b.op("matmul", xs, ys)
    xs = b.op("reshape", x, shape=(1,) + shape(x)) if len(shape(x)) == 1 else x
    ys = b.op("reshape", y, shape=shape(y) + (1,)) if len(shape(y)) == 1 else y
    return b.op("reshape", b.op("matmul", xs, ys), shape=shape(b.anchor))


@decomposition("einsum")
def _einsum(b, *ops, equation):
    """The registry's normalized equation (``"ij,jk->ik"``, explicit output, ``...`` allowed) as movement ops,
    ``mul`` and ``sum``: repeated labels of an operand become ``diagonal`` views, labels that only one
    operand has and the output lacks are summed there first; then a batched matmul (two float operands that
    share a contracted label) or every operand aligned to (output labels, contracted labels) with size-1
    dims, multiplied with broadcasting and summed over the contracted labels. Operands are cast to the
    output dtype first, as the registry kernel computes in it (float16/bfloat16: in float32, rounded once)."""
    out_dtype = dtype(b.anchor)
    if "->" not in equation or not ops:
        return None
    lhs, rhs = equation.split("->")
    specs = lhs.split(",")
    if len(specs) != len(ops):
        return None
    # labels: letters, and ("...", k) for the k-th dim of the ellipsis counted from its right end
    n_ell = max((len(shape(x)) - len(sp.replace("...", "")) for sp, x in zip(specs, ops) if "..." in sp), default=0)

    def labels_of(spec, nd):
        if "..." not in spec:
            return list(spec)
        head, tail = spec.split("...")
        k = nd - len(head) - len(tail)
        return list(head) + [("...", j) for j in range(k - 1, -1, -1)] + list(tail)
    out_labels = labels_of(rhs, len(rhs.replace("...", "")) + n_ell)
    compute = _dt.float32 if out_dtype in _HALF else out_dtype
    items = []
    for spec, x in zip(specs, ops):
        labels = labels_of(spec, len(shape(x)))
        if dtype(x) is not compute:
            x = b.op("cast", x, to=compute)
        while True:                                         # 'ii' -> the diagonal, as the last dim
            rep = next((l for k, l in enumerate(labels) if l in labels[k + 1:]), None)
            if rep is None:
                break
            d1 = labels.index(rep)
            d2 = labels.index(rep, d1 + 1)
            x = b.op("diagonal", x, offset=0, dim1=d1, dim2=d2)
            labels = [l for k, l in enumerate(labels) if k not in (d1, d2)] + [rep]
        items.append((x, labels))
    # sum the labels one operand has alone (not in the output) before any product
    for k, (x, labels) in enumerate(items):
        others = {l for j, (_, ls) in enumerate(items) if j != k for l in ls}
        alone = [d for d, l in enumerate(labels) if l not in out_labels and l not in others]
        if alone:
            x = b.op("sum", x, dims=tuple(alone), keepdim=False, dtype_=compute)
            items[k] = (x, [l for d, l in enumerate(labels) if d not in alone])
    sizes: dict = {}
    for x, labels in items:
        for l, s in zip(labels, shape(x)):
            sizes[l] = s if sizes.get(l, 1) == 1 else sizes[l]
    contracted = [l for l in sizes if l not in out_labels]
    if len(items) == 2 and contracted and compute.is_floating_point:
        r = _einsum_matmul(b, items, out_labels, contracted, sizes)
    else:
        r = None
    if r is None:
        order = out_labels + contracted
        r = None
        for x, labels in items:
            x = _align(b, x, labels, order, sizes)
            r = x if r is None else b.op("mul", r, x)
        if r is None:
            return None
        if contracted:
            r = b.op("sum", r, dims=tuple(range(len(out_labels), len(order))), keepdim=False, dtype_=compute)
        elif tuple(shape(r)) != tuple(sizes[l] for l in out_labels):   # a lone operand with size-1 labels
            r = b.op("expand", r, shape=tuple(sizes[l] for l in out_labels))
    if len(items) == 1 and (r.op != "call_function" or r.target.name in _VIEWS):
        r = b.op("clone", r)                                # einsum returns a new tensor, never a view
    return r if dtype(r) is out_dtype else b.op("cast", r, to=out_dtype)


_VIEWS = ("permute", "reshape", "expand", "diagonal", "alias")


def _align(b, x, labels, order, sizes):
    """``x`` (dims ``labels``) permuted into ``order`` with size-1 dims for the labels it lacks."""
    have = [l for l in order if l in labels]
    perm = tuple(labels.index(l) for l in have)
    if perm != tuple(range(len(perm))):
        x = b.op("permute", x, dims=perm)
    target = tuple(shape(x)[have.index(l)] if l in labels else 1 for l in order)
    if target != shape(x):
        x = b.op("reshape", x, shape=target)
    return x


def _einsum_matmul(b, items, out_labels, contracted, sizes):
    """Two operands as one (batched) matmul: batch labels (in both, kept; batch dims stay separate, so the
    template reads views like ``k.transpose(-1, -2)`` through strides), M (left only), N (right only), K
    (contracted). The operands swap when the output lists N before M (``ij,jk->ki`` is ``y^T x^T``: no
    transpose copy after). None where a shared label broadcasts (size 1 against n)."""
    (x, lx), (y, ly) = items
    for l in set(lx) & set(ly):
        if shape(x)[lx.index(l)] != shape(y)[ly.index(l)]:
            return None
    batch = [l for l in out_labels if l in lx and l in ly]
    m = [l for l in out_labels if l in lx and l not in ly]
    n = [l for l in out_labels if l in ly and l not in lx]
    if len(batch) + len(m) + len(n) != len(out_labels) or set(contracted) != set(lx) & set(ly) - set(batch):
        return None
    rest = [l for l in out_labels if l not in batch]
    if rest and rest[0] in n:
        (x, lx), (y, ly), m, n = (y, ly), (x, lx), n, m

    def size(ls):
        return _numel(sizes[l] for l in ls)
    lead = tuple(sizes[l] for l in batch)
    xs = _group(b, x, lx, batch + m + contracted, lead + (size(m), size(contracted)))
    ys = _group(b, y, ly, batch + contracted + n, lead + (size(contracted), size(n)))
    r = b.op("matmul", xs, ys)
    got = batch + m + n
    if shape(r) != tuple(sizes[l] for l in got):
        r = b.op("reshape", r, shape=tuple(sizes[l] for l in got))
    perm = tuple(got.index(l) for l in out_labels)
    return r if perm == tuple(range(len(perm))) else b.op("permute", r, dims=perm)


def _group(b, x, labels, order, target):
    perm = tuple(labels.index(l) for l in order)
    if perm != tuple(range(len(perm))):
        x = b.op("permute", x, dims=perm)
    return x if tuple(target) == shape(x) else b.op("reshape", x, shape=tuple(target))


def _batch_operand(b, x, out_batch):
    """``x`` as the matmul template can read it: its batch dims flatten to one stride when they hold one
    matrix or as many as the output; an operand broadcast along some batch dims only (``(2, 1, 3, 4) @
    (5, 4, 2)``) is expanded and copied (``clone``: a buffer, not a strided view) to the output's batch."""
    xb = shape(x)[:-2]
    if _numel(xb) in (1, _numel(out_batch)):
        return x
    return b.op("clone", b.op("expand", x, shape=tuple(out_batch) + shape(x)[-2:]))


def _numel(s) -> int:
    out = 1
    for k in s:
        out *= k
    return out


def decompose(graph):
    """Replace every node that has a decomposition by its primitives (repeatedly, until none is left)."""
    from .passes import rewrite

    def replacement(n):
        rule = DECOMPOSITIONS.get(n.target.name)
        new = rule(Builder(graph, n), *n.args, **n.kwargs) if rule is not None else None
        if new is not None and (tuple(new.meta["shape"]) != tuple(n.meta["shape"])
                                or new.meta["dtype"] is not n.meta["dtype"]):
            raise AssertionError(f"decomposition of {n.target.name} gives {new.meta['dtype']}"
                                 f"{list(new.meta['shape'])}, not {n.meta['dtype']}{list(n.meta['shape'])}")
        return new
    return rewrite(graph, replacement)


INDEX_PUT_PULL_LIMIT = 1 << 26      # elements x sources beyond which accumulation stays an extern call


@decomposition("index_put")
def _index_put(b, x, *rest, dims, accumulate):
    """``x.index_put_((i,), v, accumulate=True)`` with one integer index tensor (an embedding's gradient) as
    a reduction: ``x + sum_n where(i[n] == row, v[n], 0)`` over the sources ``n``, never materialized (the
    reduction reads the ``[.., N, V, ..]`` broadcast through index arithmetic). Deterministic, no atomics;
    the sum's order is the reduction kernel's (numpy's ``np.add.at`` adds in index order, so float results
    agree to rounding). It costs ``x.numel() * N`` operations, so large tables (a 50k vocabulary) stay
    extern calls (``INDEX_PUT_PULL_LIMIT``); overwrites (the last write wins) stay extern too."""
    idx, value = rest[:-1], rest[-1]
    if not accumulate or len(idx) != 1 or dtype(x) is _dt.bool or not hasattr(value, "meta"):
        return None
    i, d = idx[0], dims[0]
    xs, nd = shape(x), len(shape(x))
    if dtype(i) in (_dt.bool, _dt.uint8) or not xs:
        return None
    n = _numel(shape(i))
    if n == 0 or n * _numel(xs) > INDEX_PUT_PULL_LIMIT or shape(value) != xs[:d] + shape(i) + xs[d + 1:]:
        return None
    V = xs[d]
    acc = _dt.float32 if dtype(x) in _HALF else dtype(x)
    ones = (1,) * (nd - d - 1)
    iv = b.op("reshape", i, shape=(1,) * d + (n, 1) + ones)
    iv = b.op("where", b.op("lt", iv, 0, common=dtype(i)), b.op("add", iv, V), iv)     # negative rows wrap
    rows = b.op("reshape", b.op("arange", 0, 1, n=V, dtype_=dtype(i), device=x.meta.get("device")),
                shape=(1,) * d + (1, V) + ones)
    hit = b.op("eq", iv, rows, common=dtype(i))
    vv = b.op("reshape", value, shape=xs[:d] + (n, 1) + xs[d + 1:])
    if acc is not dtype(x):
        vv = b.op("cast", vv, to=acc)
    s = b.op("sum", b.op("where", hit, vv, 0.0 if acc.is_floating_point else 0), dims=(d,), keepdim=False,
             dtype_=acc)
    xa = b.op("cast", x, to=acc) if acc is not dtype(x) else x
    out = b.op("add", xa, s)
    return out if dtype(out) is dtype(x) else b.op("cast", out, to=dtype(x))


@decomposition("topk_indices")
def _topk_indices(b, x, *, k, dim, largest):
    """The first ``k`` of a stable argsort (as the registry kernel computes it), when the argsort is a
    generated kernel (``patterns.row_op_fits``); else the extern call stays."""
    from .patterns import PERSISTENT_ROWS, SORTABLE
    xs = shape(x)
    if not xs or _numel(xs) == 0 or xs[dim] > PERSISTENT_ROWS or dtype(x).name not in SORTABLE:
        return None
    order = b.op("argsort", x, dim=dim, descending=largest, stable=True)
    index = tuple((0, k if d == dim else s, 1) for d, s in enumerate(xs))
    return b.op("getitem", order, index=index, shape=xs[:dim] + (k,) + xs[dim + 1:])
