"""Lazy op-level nodes, capture of pending subgraphs, and realization (DESIGN.md decision 2).

A ``LazyNode`` is one pending op: its ``OpDef``, its sources (other nodes, or Python scalars, which are
program arguments and never part of a cache key), its static ``params``, and its shape/dtype/device,
checked when it is built. ``sig`` (op, params, shape, dtype, device, scalar kinds) is computed once at
build time; a capture's cache key is the sequence of its nodes' ``sig`` plus how they connect, so a cache
hit costs one walk over the pending nodes and one dict lookup.

When a tensor is realized, the pending subgraph behind it is captured, its structure looked up in the
device backend's program cache (compiled on a miss), and run. Every node that something outside the
subgraph still refers to (a live tensor, another pending node) is realized too, so nothing is computed
twice; the rest are fused away or freed. Realized nodes drop their sources and become leaves.
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass

import numpy as np

from .devices import backend_for

_PKG_DIR = os.path.dirname(os.path.abspath(__file__))
_internal_prefixes: list[str] = [_PKG_DIR + os.sep]
_is_internal: dict[str, bool] = {}


def add_internal_dir(path: str) -> None:
    """Treat files under ``path`` as torchlite's own when looking for the user's line."""
    _internal_prefixes.append(os.path.abspath(path) + os.sep)
    _is_internal.clear()


def user_frame() -> tuple[str, int]:
    """(filename, line) of the innermost caller outside torchlite: the user's line."""
    f = sys._getframe(1)
    cache = _is_internal
    while f is not None:
        fn = f.f_code.co_filename
        internal = cache.get(fn)
        if internal is None:
            internal = cache[fn] = fn.startswith(tuple(_internal_prefixes))
        if not internal:
            return fn, f.f_lineno
        f = f.f_back
    return "<unknown>", 0


def format_frame(frame: tuple[str, int]) -> str:
    return f"{os.path.basename(frame[0])}:{frame[1]}"


def op_error(cls: type[BaseException], opname: str, msg: str, frame: tuple[str, int] | None = None):
    """An exception of type ``cls`` saying what ``opname`` objected to, at the user's line."""
    frame = frame or user_frame()
    return cls(f"{opname}: {msg} (at {format_frame(frame)})")


LEAF = "leaf"
# The tracer of ``torchlite.compile`` while it traces a step (torchlite/compile.py), else None. It is told of every
# realized leaf made during the trace (``LazyNode.leaf``) and of every value read to the host (``Tensor._value``),
# so that random draws and data-dependent Python are never replayed stale.
TRACER: list = [None]
_SCALAR_KIND = {float: "f", int: "i", bool: "b"}


class LazyNode:
    """One op-level node of the lazy graph (internal; the public graph IR is ``torchlite.fx``)."""

    __slots__ = ("op", "srcs", "params", "shape", "dtype", "device", "sig", "value", "frame", "__weakref__")

    def __init__(self, op, srcs: tuple, params: tuple, shape: tuple, dtype, device, frame):
        self.op = op
        self.srcs = srcs
        self.params = params
        self.shape = shape
        self.dtype = dtype
        self.device = device
        self.frame = frame
        self.value = None
        kinds = None
        for s in srcs:
            if type(s) is not LazyNode:
                kinds = tuple(_SCALAR_KIND.get(type(x), "") if type(x) is not LazyNode else "" for x in srcs)
                break
        self.sig = (op, params, shape, dtype, device, kinds)

    @classmethod
    def leaf(cls, value, dtype, device, frame=None) -> "LazyNode":
        """A realized node holding ``value`` (a buffer of ``device``)."""
        if device.type == "cuda" and isinstance(value, np.ndarray):     # creation ops make host arrays
            from .devices import backend_for
            value = backend_for(device).from_host(value)
        n = cls.__new__(cls)
        n.op, n.srcs, n.params, n.shape, n.dtype, n.device = None, (), (), tuple(value.shape), dtype, device
        n.frame, n.value = frame, value
        n.sig = (LEAF, n.shape, dtype, device)
        if TRACER[0] is not None:
            TRACER[0].on_leaf(n)
        return n

    def __repr__(self) -> str:
        what = "leaf" if self.value is not None else self.op.name
        return f"<LazyNode {what} {self.dtype.short}{list(self.shape)}>"


@dataclass
class Capture:
    """The pending subgraph behind some nodes, in topological order, with its cache key."""
    nodes: list            # pending LazyNodes, producers first
    leaves: list           # realized LazyNodes the subgraph reads (program inputs, in order)
    scalars: list          # Python scalar sources (program arguments after the leaves, in order)
    outputs: list          # nodes whose values the program returns
    refs: list             # per node: tuple of source refs (node index >= 0, ~leaf index < 0, None = scalar)
    key: tuple
    donate: tuple = ()     # leaves whose buffers the program may overwrite (torchlite.compile's dead state)

    @property
    def device(self):
        return self.nodes[0].device


def _topo(roots) -> tuple[list, dict[int, int]]:
    """Pending nodes behind ``roots``, producers first, and their positions (an iterative DFS)."""
    order: list = []
    index: dict[int, int] = {}
    for root in roots:
        if root.value is not None or id(root) in index:
            continue
        stack = [(root, False)]
        while stack:
            n, expanded = stack.pop()
            if id(n) in index:
                continue
            if expanded:
                index[id(n)] = len(order)
                order.append(n)
                continue
            stack.append((n, True))
            for s in reversed(n.srcs):
                if type(s) is LazyNode and s.value is None and id(s) not in index:
                    stack.append((s, False))
    return order, index


def _link(order: list, index: dict[int, int]):
    """Number the sources of each node: node index >= 0, ~leaf index < 0, None for a scalar."""
    leaves: list = []
    leaf_index: dict[int, int] = {}
    scalars: list = []
    entries: list = []
    all_refs: list = []
    uses = [0] * len(order)
    for n in order:
        refs = []
        for s in n.srcs:
            if type(s) is LazyNode:
                j = index.get(id(s))
                if j is None:
                    j = leaf_index.get(id(s))
                    if j is None:
                        j = leaf_index[id(s)] = len(leaves)
                        leaves.append(s)
                    refs.append(~j)
                else:
                    uses[j] += 1
                    refs.append(j)
            else:
                scalars.append(s)
                refs.append(None)
        refs = tuple(refs)
        all_refs.append(refs)
        entries.append((n.sig, refs))
    return leaves, scalars, entries, all_refs, uses


def capture(roots) -> Capture:
    """Collect the pending nodes behind ``roots`` (iteratively: graphs may be 100,000 nodes deep)."""
    order, index = _topo(roots)
    leaves, scalars, entries, all_refs, uses = _link(order, index)
    # Outputs: the requested roots, plus any node that something outside this subgraph still refers to
    # (a live tensor or another pending node). The references held here are `order` and getrefcount's
    # argument, plus the uses counted by _link; anything beyond those comes from outside.
    wanted = {id(r) for r in roots}
    out_idx = []
    getrefcount = sys.getrefcount
    for i in range(len(order)):
        if id(order[i]) in wanted or getrefcount(order[i]) - 2 > uses[i]:
            out_idx.append(i)
    key = (tuple(entries), tuple(l.sig for l in leaves), tuple(out_idx))
    return Capture(order, leaves, scalars, [order[i] for i in out_idx], all_refs, key)


def realize(roots) -> None:
    """Compute the values of ``roots`` (LazyNodes) and of every live node behind them."""
    roots = [r for r in roots if r.value is None]
    if not roots:
        return
    cap = capture(roots)
    backend = backend_for(cap.device)
    program = backend.lookup(cap)
    values = program(*[l.value for l in cap.leaves], *cap.scalars)
    for n, v in zip(cap.outputs, values):
        n.value = v
        n.srcs = ()
        n.sig = (LEAF, n.shape, n.dtype, n.device)
