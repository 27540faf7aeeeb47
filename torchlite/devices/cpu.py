"""The cpu backend: captured graphs become numpy programs (DESIGN.md decision 9).

A program is generated Python: one line per graph node calling that op's numpy kernel, with buffers
reused where lifetimes allow (``out=`` into a dead intermediate of the same shape and dtype, or into the
input an elementwise op is the last reader of) and ``del`` where a buffer dies unreused. Programs are
cached by the capture's structural key; Python scalars are arguments, so new values never recompile.

    >>> import torchlite as tl
    >>> x = tl.ones(3)
    >>> print(tl.fx.capture((x * 2.0).exp()).program.source)   # doctest: +SKIP
"""
from __future__ import annotations

import itertools
import linecache
from types import SimpleNamespace

import numpy as np

from ..dtypes import ALL as _DTYPES
from .base import CachingBackend

_counter = itertools.count()


class NumpyProgram:
    """A compiled numpy program: ``program(*leaves, *scalars) -> tuple of arrays``."""

    def __init__(self, graph, source: str, fn, line_nodes: dict[int, object], filename: str):
        self.graph = graph
        self.source = source
        self.fn = fn
        self.line_nodes = line_nodes
        self.filename = filename
        self.peak_bytes = 0

    def __call__(self, *args):
        try:
            with np.errstate(all="ignore"):
                return self.fn(*args)
        except Exception as e:
            raise self._at_user_line(e) from e

    def _at_user_line(self, e: Exception) -> Exception:
        """Name the graph node (and so the user's line) whose kernel raised ``e``."""
        tb = e.__traceback__
        node = None
        while tb is not None:
            if tb.tb_frame.f_code.co_filename == self.filename:
                node = self.line_nodes.get(tb.tb_lineno)
            tb = tb.tb_next
        if node is None:
            return e
        where = node.meta.get("stack_frame", "?")
        try:
            return type(e)(f"{node.target.name}: {e} (at {where})")
        except Exception:
            return RuntimeError(f"{node.target.name}: {e} (at {where})")

    def __repr__(self) -> str:
        return f"<NumpyProgram {self.filename}>\n{self.source}"


def _kernels() -> SimpleNamespace:
    from ..ops.registry import REGISTRY
    return SimpleNamespace(**{name: op.numpy for name, op in REGISTRY.items()})


def _nbytes(node) -> int:
    shape, dt = node.meta["shape"], node.meta["dtype"]
    n = 1
    for s in shape:
        n *= s
    return n * dt.itemsize


def generate(graph) -> tuple[str, dict[int, object], int]:
    """Numpy source for ``graph``; also a map line -> fx node, and the planned peak of intermediates.

    Memory plan: a *life* is a buffer an op allocates (its root node) together with the views of it. A
    life dies after the last reader of any of its names; a dead buffer goes to a pool keyed by (shape,
    dtype) and a later op that can write ``out=`` takes it (an elementwise op may take the buffer of an
    input it is the last reader of). Names of a life that is never reused are deleted where it dies.
    Outputs and anything viewing them live on; leaves belong to the caller, except those whose placeholder
    has ``meta["donate"]`` (state ``torchlite.compile`` replaces): their buffers are reused like dead ones.
    """
    nodes = list(graph.nodes)
    pos = {n: i for i, n in enumerate(nodes)}
    outputs = nodes[-1].args[0]
    outputs = outputs if isinstance(outputs, (tuple, list)) else (outputs,)

    root, names = {}, {}
    for n in nodes:
        if n.op == "call_function" and n.target.view:
            root[n] = root[n.args[0]]
        else:
            root[n] = n
            names[n] = []
        names[root[n]].append(n.name)
    owned = {n for n in nodes if (n.op == "call_function" and not n.target.view)
             or (n.op == "placeholder" and n.meta.get("donate"))}     # a donated input's buffer is ours too
    pinned = {root[o] for o in outputs if hasattr(o, "op")}
    last = {}
    for n in nodes:
        for a in n.all_input_nodes:
            last[root[a]] = pos[n]
    dies_at: dict[int, list] = {}
    for r, p in last.items():
        if r in owned and r not in pinned:
            dies_at.setdefault(p, []).append(r)

    shape_key = {n: (tuple(n.meta["shape"]), n.meta["dtype"]) for n in nodes if "shape" in n.meta}
    free: dict[tuple, list] = {}            # (shape, dtype) -> dead lives whose buffer may be reused
    reuse_at: dict = {}                     # dead life -> index of the node that reuses its buffer
    stmts: list[tuple[object, str]] = []
    for i, n in enumerate(nodes):
        if n.op != "call_function":
            continue
        op = n.target
        key = shape_key[n]
        out = None
        if op.supports_out:
            if op.donate:
                donors = {root[a] for k, a in enumerate(n.args) if k in op.donate and hasattr(a, "op")}
                out = next((r for r in dies_at.get(i, ()) if shape_key[r] == key and r in donors), None)
            if out is None and free.get(key):
                out = free[key].pop()
            if out is not None:
                reuse_at[out] = i
        args = [_arg(a) for a in n.args]
        args += [f"{k}={_const(v)}" for k, v in n.kwargs.items()]
        args.append(f"dtype={n.meta['dtype'].short}")
        if out is not None:
            args.append(f"out={out.name}")
        comment = n.meta.get("stack_frame", "")
        call = f"cpu.{op.name}({', '.join(args)})"
        if key[0] == ():
            call = f"asarray({call})"           # numpy hands back scalars for 0-d results; keep arrays
        stmts.append((n, f"    {n.name} = {call}" + (f"  # {comment}" if comment else "")))
        for r in dies_at.get(i, ()):
            if r is not out:
                free.setdefault(shape_key[r], []).append(r)

    # Deletions: a life never reused loses all its names where it dies; a reused one keeps its root's
    # name (the reuser writes through it) until the reusing statement, then loses that too.
    dels: dict[int, list] = {}
    for p, lives in dies_at.items():
        for r in lives:
            j = reuse_at.get(r)
            keep = [] if j is None or j == p else [r.name]
            dels.setdefault(p, []).extend(x for x in names[r] if x not in keep)
            if j is not None and j != p:
                dels.setdefault(j, []).append(r.name)

    params = [n.name for n in nodes if n.op == "placeholder"]
    lines = [f"def program({', '.join(params)}):"]
    line_nodes: dict[int, object] = {}
    live = peak = 0
    reusing = set(reuse_at.values())
    for n, text in stmts:
        lines.append(text)
        line_nodes[len(lines)] = n
        i = pos[n]
        if n in owned and i not in reusing:
            live += _nbytes(n)
            peak = max(peak, live)
        if dels.get(i):
            lines.append(f"    del {', '.join(dict.fromkeys(dels[i]))}")
        for r in dies_at.get(i, ()):
            if r not in reuse_at and r.op == "call_function":
                live -= _nbytes(r)
    rets = [_arg(o) for o in outputs]
    lines.append(f"    return ({', '.join(rets)}{',' if len(rets) == 1 else ''})")
    return "\n".join(lines) + "\n", line_nodes, peak


def _arg(a) -> str:
    return a.name if hasattr(a, "op") else repr(a)


def _const(v) -> str:
    return repr(v)


class CPUBackend(CachingBackend):
    """numpy kernels on host memory; programs cached by graph structure."""

    name = "cpu"

    def __init__(self):
        super().__init__()
        self._namespace = None
        self._namespace_generation = -1

    # -- Backend interface -------------------------------------------------------------------------
    def compile(self, graph) -> NumpyProgram:
        from ..ops.registry import generation
        if self._namespace is None or self._namespace_generation != generation():
            self._namespace_generation = generation()
            import torchlite
            from . import device
            self._namespace = {"cpu": _kernels(), "torchlite": torchlite, "device": device,
                               "inf": float("inf"), "nan": float("nan"), "asarray": np.asarray, "np": np,
                               **{d.short: d.np for d in _DTYPES}}
        source, line_nodes, peak = generate(graph)
        filename = f"<torchlite-cpu-program-{next(_counter)}>"
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        ns = dict(self._namespace)
        exec(compile(source, filename, "exec"), ns)
        prog = NumpyProgram(graph, source, ns["program"], line_nodes, filename)
        prog.peak_bytes = peak
        return prog

    def from_host(self, array):
        return array

    def to_host(self, buffer):
        return buffer
