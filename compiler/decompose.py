"""Decomposition: op-level composites become the primitives the Triton path lowers.

``softmax`` becomes ``amax, sub, exp, sum, div``; ``var`` becomes ``mean`` of squared deviations;
``linear`` becomes a ``matmul`` with a transposed weight (a strided view, never a copy) plus ``add``.
The primitives are registry ops themselves, so a decomposed graph still prints as ``torchlite.ops.*``
calls and still runs on the numpy backend — which is how decompositions are tested. Each rule is a
function ``rule(b, *args, **params) -> node`` over a ``Builder`` whose ``b.op(name, *args, **params)``
adds a node (its shape and dtype from the registry's meta rule) before the node being replaced; new nodes
keep the user's line and record the op they came from in ``meta["origin"]`` (kernel names use it).

    >>> sorted(DECOMPOSITIONS)[:4]
    ['linear', 'log_softmax', 'logsumexp', 'matmul']
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
    changed = True
    while changed:
        changed = False
        for n in list(graph.nodes):
            if n.op != "call_function":
                continue
            rule = DECOMPOSITIONS.get(n.target.name)
            if rule is None:
                continue
            new = rule(Builder(graph, n), *n.args, **n.kwargs)
            if new is None or new is n:
                continue
            if tuple(new.meta["shape"]) != tuple(n.meta["shape"]) or new.meta["dtype"] is not n.meta["dtype"]:
                raise AssertionError(f"decomposition of {n.target.name} gives {new.meta['dtype']}"
                                     f"{list(new.meta['shape'])}, not {n.meta['dtype']}{list(n.meta['shape'])}")
            n.replace_all_uses_with(new)
            graph.erase_node(n)
            changed = True
    graph.eliminate_dead_code()
    return graph
