"""Interpreter: run a Graph node by node; Transformer: rebuild it node by node into a new Graph.

Both follow torch.fx: subclass and override one handler per op kind (``call_function`` ...) to change
what happens to those nodes. The run loop is iterative and frees each value after its last use.
"""
from __future__ import annotations

import copy
import inspect
from typing import Any, Iterator, Optional

from .graph import Graph
from .graph_module import GraphModule
from .node import Argument, Node, Target, fetch_attr, map_arg

__all__ = ["Interpreter", "Transformer"]


class Interpreter:
    """Execute a Graph (or a GraphModule's graph) one node at a time.

    ``module_or_graph`` is a GraphModule (its attributes serve ``get_attr``/``call_module``) or a
    Graph (then its ``owning_module``, if any, serves them).

    >>> import operator; from torchlite.fx import Graph, Interpreter
    >>> g = Graph(); x = g.placeholder("x"); _ = g.output(g.call_function(operator.mul, (x, 3)))
    >>> Interpreter(g).run(4)
    12
    """

    def __init__(self, module_or_graph: Any, garbage_collect_values: bool = True) -> None:
        if isinstance(module_or_graph, Graph):
            self.graph: Graph = module_or_graph
            self.module: Any = module_or_graph.owning_module
        else:
            self.module = module_or_graph
            self.graph = module_or_graph.graph
        self.garbage_collect_values = garbage_collect_values
        self.env: dict[Node, Any] = {}
        self.args_iter: Iterator[Any] = iter(())
        self.current_node: Optional[Node] = None

    def _last_uses(self) -> dict[Node, list[Node]]:
        """For each node, the values whose last reader it is (so they can be freed after it runs)."""
        seen: set[Node] = set()
        last: dict[Node, list[Node]] = {}
        for node in reversed(self.graph.nodes):
            for inp in node.all_input_nodes:
                if inp not in seen:
                    seen.add(inp)
                    last.setdefault(node, []).append(inp)
            if not node.users and node.op != "output":
                last.setdefault(node, []).append(node)  # nobody reads it: free it at once
        return last

    def run(self, *args: Any, initial_env: Optional[dict[Node, Any]] = None) -> Any:
        """Run the graph on ``args`` (one per placeholder); returns the output value.

        ``initial_env`` pre-fills values for some nodes, which are then not run.
        """
        self.env = dict(initial_env) if initial_env else {}
        self.args_iter = iter(args)
        last_uses = self._last_uses() if self.garbage_collect_values else {}
        for node in self.graph.nodes:
            if node in self.env:
                continue
            try:
                value = self.run_node(node)
            except Exception as e:
                where = node.meta.get("stack_frame")
                note = f"While executing {node.format_node()}" + (f" (from {where})" if where else "")
                if note not in getattr(e, "__notes__", ()):
                    e.add_note(note)
                raise
            if node.op == "output":
                return value
            self.env[node] = value
            for dead in last_uses.get(node, ()):
                self.env.pop(dead, None)
        return None

    def run_node(self, n: Node) -> Any:
        """Run one node: fetch its inputs from ``env``, then call the handler named by its op."""
        self.current_node = n
        args, kwargs = self.fetch_args_kwargs_from_env(n)
        return getattr(self, n.op)(n.target, args, kwargs)

    def fetch_args_kwargs_from_env(self, n: Node) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """``n.args`` and ``n.kwargs`` with every Node replaced by its value in ``env``."""
        args = map_arg(n.args, self._env_value)
        kwargs = map_arg(n.kwargs, self._env_value)
        return tuple(args), dict(kwargs)

    def _env_value(self, n: Node) -> Any:
        try:
            return self.env[n]
        except KeyError:
            raise RuntimeError(f"Interpreter: node '{n.name}' has no value yet (read by "
                               f"'{self.current_node}'); is the graph topologically sorted?") from None

    def fetch_attr(self, target: str) -> Any:
        """The value at dotted path ``target`` on the module."""
        if self.module is None:
            raise RuntimeError(f"Interpreter: graph reads '{target}' but there is no module to read it from; "
                               "pass a GraphModule")
        return fetch_attr(self.module, target)

    # -- one handler per op kind ----------------------------------------------------------------
    def placeholder(self, target: Target, args: tuple[Argument, ...], kwargs: dict[str, Any]) -> Any:
        """The next input (all remaining ones for ``*args``), or the placeholder's default."""
        if str(target).startswith("*"):
            return list(self.args_iter)
        try:
            return next(self.args_iter)
        except StopIteration:
            if args:
                return args[0]
            raise RuntimeError(f"Interpreter: expected a value for input '{target}' but run() got "
                               "too few arguments") from None

    def get_attr(self, target: Target, args: tuple[Argument, ...], kwargs: dict[str, Any]) -> Any:
        return self.fetch_attr(str(target))

    def call_function(self, target: Target, args: tuple[Argument, ...], kwargs: dict[str, Any]) -> Any:
        return target(*args, **kwargs)  # type: ignore[operator]

    def call_method(self, target: Target, args: tuple[Argument, ...], kwargs: dict[str, Any]) -> Any:
        obj, *rest = args
        return getattr(obj, str(target))(*rest, **kwargs)

    def call_module(self, target: Target, args: tuple[Argument, ...], kwargs: dict[str, Any]) -> Any:
        return self.fetch_attr(str(target))(*args, **kwargs)

    def output(self, target: Target, args: tuple[Argument, ...], kwargs: dict[str, Any]) -> Any:
        return args[0] if args else None


class Transformer(Interpreter):
    """Rebuild a graph node by node; override handlers to rewrite nodes, then call ``transform()``.

    Handlers receive args whose Nodes are already nodes of the new graph, and return new-graph
    Nodes (or plain values, which later nodes then take as constants).

    >>> import operator; from torchlite.fx import Graph, GraphModule, Transformer
    >>> class AddToMul(Transformer):
    ...     def call_function(self, target, args, kwargs):
    ...         return super().call_function(operator.mul if target is operator.add else target, args, kwargs)
    >>> g = Graph(); x = g.placeholder("x"); _ = g.output(g.call_function(operator.add, (x, 3)))
    >>> AddToMul(GraphModule({}, g)).transform()(5)
    15
    """

    def __init__(self, module_or_graph: Any) -> None:
        super().__init__(module_or_graph, garbage_collect_values=True)
        self.new_graph = Graph()

    def run_node(self, n: Node) -> Any:
        result = super().run_node(n)
        if isinstance(result, Node) and result.graph is self.new_graph:
            for k, v in n.meta.items():
                result.meta.setdefault(k, v)
        return result

    def placeholder(self, target: Target, args: tuple[Argument, ...], kwargs: dict[str, Any]) -> Node:
        default = args[0] if args else inspect.Parameter.empty
        return self.new_graph.placeholder(str(target), default=default)

    def get_attr(self, target: Target, args: tuple[Argument, ...], kwargs: dict[str, Any]) -> Node:
        return self.new_graph.get_attr(str(target))

    def call_function(self, target: Target, args: tuple[Argument, ...], kwargs: dict[str, Any]) -> Node:
        return self.new_graph.call_function(target, args, kwargs)  # type: ignore[arg-type]

    def call_method(self, target: Target, args: tuple[Argument, ...], kwargs: dict[str, Any]) -> Node:
        return self.new_graph.call_method(str(target), args, kwargs)

    def call_module(self, target: Target, args: tuple[Argument, ...], kwargs: dict[str, Any]) -> Node:
        return self.new_graph.call_module(str(target), args, kwargs)

    def transform(self) -> GraphModule:
        """Run the rewrite and return a new GraphModule over the new graph.

        Attributes come from the old module (a GraphModule, or any object holding them).
        """
        result = self.run()
        out = self.new_graph.output(result)
        old_outputs = self.graph.find_nodes(op="output")
        if old_outputs:
            out.meta = copy.copy(old_outputs[0].meta)
        root = self.module if self.module is not None else {}
        class_name = getattr(self.module, "class_name", "GraphModule")
        return GraphModule(root, self.new_graph, class_name=class_name)
