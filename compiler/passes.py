"""Named graph passes, ``Graph -> Graph``, listed in one pipeline.

Every captured graph goes through ``GRAPH_PASSES`` before a backend compiles it. Researchers add their own
with ``register_graph_pass``; registering one clears the program caches, since cached programs were built
without it. Passes rewrite the graph in place and return it; they must keep its placeholders and the arity
of its output.

    >>> from torchlite.compiler import passes
    >>> [p.__name__ for p in passes.GRAPH_PASSES]
    ['eliminate_dead_code', 'common_subexpression_elimination']
"""
from __future__ import annotations

from typing import Callable

from torchlite.fx import Graph


def eliminate_dead_code(graph: Graph) -> Graph:
    """Remove nodes whose values nothing uses."""
    graph.eliminate_dead_code()
    return graph


def rewrite(graph: Graph, replacement: Callable) -> Graph:
    """Replace call_function nodes by ``replacement(node)`` (a node, or None to keep it) until none changes,
    then drop what nothing uses: the loop of ``decompose`` and ``simplify``."""
    changed = True
    while changed:
        changed = False
        for n in list(graph.nodes):
            if n.op != "call_function":
                continue
            new = replacement(n)
            if new is None or new is n:
                continue
            n.replace_all_uses_with(new)
            graph.erase_node(n)
            changed = True
    graph.eliminate_dead_code()
    return graph


def _freeze(v):
    """A hashable stand-in for an argument (lists and dicts become tuples)."""
    if isinstance(v, (list, tuple)):
        return (type(v).__name__,) + tuple(_freeze(x) for x in v)
    if isinstance(v, dict):
        return ("dict",) + tuple((k, _freeze(x)) for k, x in v.items())
    if isinstance(v, slice):
        return ("slice", v.start, v.stop, v.step)
    return v


def common_subexpression_elimination(graph: Graph) -> Graph:
    """Merge call_function nodes with the same target, arguments and keyword arguments."""
    seen: dict = {}
    for node in list(graph.nodes):
        if node.op != "call_function" or getattr(node.target, "is_impure", False):
            continue
        try:
            key = (node.target, _freeze(node.args), _freeze(node.kwargs))
            hash(key)
        except TypeError:
            continue
        twin = seen.get(key)
        if twin is None:
            seen[key] = node
        else:
            node.replace_all_uses_with(twin)
            graph.erase_node(node)
    return graph


GRAPH_PASSES: list[Callable[[Graph], Graph]] = [eliminate_dead_code, common_subexpression_elimination]
_on_change: list[Callable[[], None]] = []


def register_graph_pass(fn: Callable[[Graph], Graph], *, before: str | None = None) -> Callable:
    """Run ``fn`` on every captured graph (after the built-in passes, or before the one named)."""
    if before is None:
        GRAPH_PASSES.append(fn)
    else:
        names = [p.__name__ for p in GRAPH_PASSES]
        GRAPH_PASSES.insert(names.index(before), fn)
    for cb in _on_change:
        cb()
    return fn


def unregister_graph_pass(fn: Callable) -> None:
    """Stop running ``fn``; clears the program caches as registering does."""
    GRAPH_PASSES.remove(fn)
    for cb in _on_change:
        cb()


def pipeline_changed() -> None:
    """Tell the backends that compiled programs are stale (a pass or a compile setting changed)."""
    for cb in _on_change:
        cb()


def on_pipeline_change(callback: Callable[[], None]) -> None:
    """Call ``callback`` whenever the pipeline changes (backends clear their program caches)."""
    _on_change.append(callback)


def run_graph_passes(graph: Graph, *, trace: Callable[[str, Graph], None] | None = None) -> Graph:
    """Run the pipeline; ``trace(name, graph)`` sees the graph after each pass."""
    for p in GRAPH_PASSES:
        graph = p(graph)
        if trace is not None:
            trace(p.__name__, graph)
    return graph
