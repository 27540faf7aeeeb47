"""Graph: an ordered list of Nodes that prints itself as readable, runnable Python.

Nodes live in a doubly linked list around a sentinel ``root`` node, as in torch.fx, so inserting and
erasing are O(1) and iterating stays valid while the current node is erased. Every pass here is a loop
over that list: nothing recurses on graph depth.
"""
from __future__ import annotations

import copy
import inspect
import re
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Optional

from .codegen import PythonCode, generate_python_code
from .node import (ILLEGAL_NAMES, LEGAL_OPS, Argument, Node, Target, _pretty_target, collect_input_nodes,
                   fetch_attr, format_arg, is_valid_name, iter_nodes, map_arg)

__all__ = ["Graph", "PythonCode"]

_NO_DEFAULT = inspect.Parameter.empty

# torch.fx's name rules: base name plus an optional numeric suffix `_N`.
_name_regex = re.compile(r"^([a-zA-Z_][0-9a-zA-Z_]*?)(?:_(\d+))?$")
_illegal_char_regex = re.compile("[^0-9a-zA-Z_]+")
_snake_case_sub = re.compile(r"(?<=[a-z])([A-Z])")


class _Namespace:
    """Hands out unique, valid node names the way torch.fx does (``add``, ``add_1``, ``getattr_1``)."""

    def __init__(self) -> None:
        self._used_names: set[str] = set()
        self._base_count: dict[str, int] = {}

    def create_name(self, candidate: str) -> str:
        match = _name_regex.match(candidate)
        if match is None:
            candidate = _illegal_char_regex.sub("_", candidate) or "_unnamed"
            if candidate[0].isdigit():
                candidate = f"_{candidate}"
            match = _name_regex.match(candidate)
            assert match is not None, candidate
        base, num = match.group(1, 2)
        if num is None or candidate in self._used_names:
            num = self._base_count.get(base, 0)
            if candidate in ILLEGAL_NAMES:
                num += 1
                candidate = f"{base}_{num}"
        else:
            num = int(num)
        while candidate in self._used_names:
            num += 1
            candidate = f"{base}_{num}"
        self._used_names.add(candidate)
        self._base_count[base] = num
        return candidate


def _target_to_str(target: Target) -> str:
    """The naming candidate for a target: ``operator.add`` -> ``add``, ``layers.0.Attn`` -> ``layers.0.attn``."""
    if callable(target) and not isinstance(target, str):
        op = getattr(target, "__name__", None) or type(target).__name__
    else:
        op = str(target)
        if op.startswith("__") and op.endswith("__"):
            op = op[2:-2]
    return _snake_case_sub.sub(r"_\1", op).lower()


class _NodeList:
    """A live view of a graph's nodes: iterable (forwards and reversed) and sized."""

    def __init__(self, graph: Graph) -> None:
        self._graph = graph

    def __len__(self) -> int:
        return self._graph._len

    def __iter__(self) -> Iterator[Node]:
        root = self._graph._root
        return iter_nodes(root._next, root, forward=True)

    def __reversed__(self) -> Iterator[Node]:
        root = self._graph._root
        return iter_nodes(root._prev, root, forward=False)

    def __repr__(self) -> str:
        return f"[{', '.join(n.name for n in self)}]"


class Graph:
    """A torch.fx-style graph of :class:`Node` s, built by hand or by capture.

    >>> import operator; from torchlite.fx import Graph
    >>> g = Graph(); x = g.placeholder("x"); _ = g.output(g.call_function(operator.add, (x, 1)))
    >>> print(g.python_code().src.splitlines()[1])
        add = operator.add(x, 1)
    """

    def __init__(self, owning_module: Any = None) -> None:
        self._root = Node(self, "", "root", "", (), {})
        self._len = 0
        self._namespace = _Namespace()
        self._insert: Callable[[Node], None] = self._root.prepend
        self.owning_module = owning_module

    # -- the node list --------------------------------------------------------------------------
    @property
    def nodes(self) -> _NodeList:
        """The nodes in order; safe to iterate while erasing the current node.

        >>> from torchlite.fx import Graph
        >>> g = Graph(); _ = g.placeholder("x"), g.placeholder("y")
        >>> [n.name for n in g.nodes], len(g.nodes)
        (['x', 'y'], 2)
        """
        return _NodeList(self)

    def find_nodes(self, *, op: str, target: Optional[Target] = None) -> list[Node]:
        """Nodes with the given op (and target, if given), in graph order.

        >>> import operator; from torchlite.fx import Graph
        >>> g = Graph(); x = g.placeholder("x"); _ = g.call_function(operator.add, (x, 1))
        >>> g.find_nodes(op="call_function", target=operator.add)
        [add]
        """
        return [n for n in self.nodes if n.op == op and (target is None or n.target == target)]

    # -- building -------------------------------------------------------------------------------
    def create_node(self, op: str, target: Target, args: Optional[tuple[Argument, ...]] = None,
                    kwargs: Optional[dict[str, Argument]] = None, name: Optional[str] = None) -> Node:
        """Create a node at the current insert point (the end, unless inside ``inserting_*``).

        >>> import operator; from torchlite.fx import Graph
        >>> g = Graph(); x = g.placeholder("x")
        >>> g.create_node("call_function", operator.mul, (x, 2), name="double").name
        'double'
        """
        if op not in LEGAL_OPS:
            raise ValueError(f"create_node: op must be one of {LEGAL_OPS}, got {op!r}")
        candidate = name if name is not None else _target_to_str(target)
        node = Node(self, self._namespace.create_name(candidate), op, target,
                    tuple(args) if args else (), dict(kwargs) if kwargs else {})
        self._insert(node)
        self._len += 1
        return node

    def placeholder(self, name: str, default: Any = _NO_DEFAULT, *, default_value: Any = _NO_DEFAULT) -> Node:
        """An input of the graph; ``default`` becomes the parameter's default value.

        >>> from torchlite.fx import Graph
        >>> g = Graph(); x = g.placeholder("x"); y = g.placeholder("y", default=3)
        >>> y.args
        (3,)
        """
        if default is _NO_DEFAULT:
            default = default_value
        args = () if default is _NO_DEFAULT else (default,)
        return self.create_node("placeholder", name, args)

    def get_attr(self, qualified_name: str) -> Node:
        """Read an attribute (dotted path) of the owning module, e.g. ``layers.0.weight``.

        >>> from torchlite.fx import Graph
        >>> g = Graph(); w = g.get_attr("layers.0.weight")
        >>> w.name
        'layers_0_weight'
        """
        return self.create_node("get_attr", qualified_name)

    def call_function(self, target: Callable[..., Any], args: tuple[Argument, ...] = (),
                      kwargs: Optional[dict[str, Argument]] = None) -> Node:
        """Call a free function ``target(*args, **kwargs)``.

        >>> import math; from torchlite.fx import Graph
        >>> g = Graph(); x = g.placeholder("x")
        >>> g.call_function(math.sqrt, (x,)).format_node()
        '%sqrt : [num_users=0] = call_function[target=math.sqrt](args = (%x,), kwargs = {})'
        """
        return self.create_node("call_function", target, args, kwargs)

    def call_method(self, method_name: str, args: tuple[Argument, ...] = (),
                    kwargs: Optional[dict[str, Argument]] = None) -> Node:
        """Call ``args[0].method_name(*args[1:], **kwargs)``.

        >>> from torchlite.fx import Graph
        >>> g = Graph(); s = g.placeholder("s")
        >>> g.call_method("upper", (s,)).name
        'upper'
        """
        return self.create_node("call_method", method_name, args, kwargs)

    def call_module(self, module_name: str, args: tuple[Argument, ...] = (),
                    kwargs: Optional[dict[str, Argument]] = None) -> Node:
        """Call the owning module's submodule at dotted path ``module_name``.

        >>> from torchlite.fx import Graph
        >>> g = Graph(); x = g.placeholder("x")
        >>> g.call_module("layers.0.attn", (x,)).name
        'layers_0_attn'
        """
        return self.create_node("call_module", module_name, args, kwargs)

    def output(self, result: Argument) -> Node:
        """The graph's result (a node, a constant, or a container of them); must be the last node.

        >>> from torchlite.fx import Graph
        >>> g = Graph(); x = g.placeholder("x"); out = g.output((x, x))
        >>> print(g)
        graph():
            %x : [num_users=1] = placeholder[target=x]
            return (x, x)
        """
        return self.create_node("output", "output", (result,))

    @contextmanager
    def inserting_before(self, n: Optional[Node] = None) -> Iterator[None]:
        """Within the block, new nodes go just before ``n`` (in creation order); None: the start.

        >>> from torchlite.fx import Graph
        >>> g = Graph(); y = g.placeholder("y")
        >>> with g.inserting_before(y): _ = g.placeholder("x")
        >>> [n.name for n in g.nodes]
        ['x', 'y']
        """
        if n is None:
            with self.inserting_after(self._root):
                yield
            return
        old, self._insert = self._insert, n.prepend
        try:
            yield
        finally:
            self._insert = old

    @contextmanager
    def inserting_after(self, n: Optional[Node] = None) -> Iterator[None]:
        """Within the block, new nodes go just after ``n``, in creation order; None: the end.

        Unlike torch.fx (which puts each new node directly after ``n``, reversing their order),
        successive nodes follow one another, so ``b = f(a)`` created after ``a`` stays valid.

        >>> from torchlite.fx import Graph
        >>> g = Graph(); x = g.placeholder("x"); z = g.placeholder("z")
        >>> with g.inserting_after(x): _ = (g.placeholder("y1"), g.placeholder("y2"))
        >>> [n.name for n in g.nodes]
        ['x', 'y1', 'y2', 'z']
        """
        if n is None:
            with self.inserting_before(self._root):
                yield
            return
        cursor = [n]

        def insert(x: Node) -> None:
            cursor[0].append(x)
            cursor[0] = x
        old, self._insert = self._insert, insert
        try:
            yield
        finally:
            self._insert = old

    def erase_node(self, to_erase: Node) -> None:
        """Remove a node that has no users (RuntimeError otherwise, naming them).

        >>> import operator; from torchlite.fx import Graph
        >>> g = Graph(); x = g.placeholder("x"); a = g.call_function(operator.neg, (x,)); g.erase_node(a)
        >>> [n.name for n in g.nodes], list(x.users)
        (['x'], [])
        """
        if to_erase.graph is not self:
            raise RuntimeError(f"erase_node: node {to_erase.name} belongs to another graph")
        if to_erase._erased:
            raise RuntimeError(f"erase_node: node {to_erase.name} was already erased")
        if to_erase.users:
            raise RuntimeError(f"erase_node: cannot erase node {to_erase.name}: it still has "
                               f"{len(to_erase.users)} user(s) {list(to_erase.users)}; "
                               f"replace its uses first (replace_all_uses_with)")
        to_erase._remove_from_list()
        to_erase._erased = True
        self._len -= 1
        # Drop it from its inputs' users; keep its _prev/_next so live iterators continue.
        to_erase._update_args_kwargs(map_arg(to_erase.args, lambda n: None),
                                     map_arg(to_erase.kwargs, lambda n: None))

    # -- copying --------------------------------------------------------------------------------
    def node_copy(self, node: Node, arg_transform: Callable[[Node], Argument] = lambda x: x) -> Node:
        """Copy ``node`` (from any graph) into this one, mapping its input nodes with ``arg_transform``.

        >>> import operator; from torchlite.fx import Graph
        >>> g = Graph(); x = g.placeholder("x"); a = g.call_function(operator.neg, (x,))
        >>> h = Graph(); hx = h.node_copy(x); h.node_copy(a, {x: hx}.__getitem__).args
        (x,)
        """
        args = map_arg(node.args, arg_transform)
        kwargs = map_arg(node.kwargs, arg_transform)
        result = self.create_node(node.op, node.target, args, kwargs, name=node.name)
        result.meta = copy.copy(node.meta)
        return result

    def graph_copy(self, g: Graph, val_map: dict[Node, Node], return_output_node: bool = False) -> Any:
        """Copy all of ``g`` but its output into this graph; returns the mapped output value.

        ``val_map`` maps old nodes to new ones; nodes already in it are not copied.

        >>> import operator; from torchlite.fx import Graph
        >>> g = Graph(); x = g.placeholder("x"); _ = g.output(g.call_function(operator.neg, (x,)))
        >>> h = Graph(); _ = h.output(h.graph_copy(g, {})); [n.name for n in h.nodes]
        ['x', 'neg', 'output']
        """
        for node in g.nodes:
            if node in val_map:
                continue
            if node.op == "output":
                rv = map_arg(node.args[0], lambda n: val_map[n])
                return (rv, node) if return_output_node else rv
            val_map[node] = self.node_copy(node, lambda n: val_map[n])
        return None

    def __deepcopy__(self, memo: dict[int, Any]) -> Graph:
        new = Graph()
        memo[id(self)] = new
        out = new.graph_copy(self, {}, return_output_node=True)
        if out is not None:
            rv, old_output = out
            new.output(rv).meta = copy.copy(old_output.meta)
        return new

    # -- passes ---------------------------------------------------------------------------------
    def eliminate_dead_code(self, is_impure_node: Optional[Callable[[Node], bool]] = None) -> bool:
        """Erase nodes with no users that are not impure; returns whether anything changed.

        Placeholders, the output, and nodes for which ``Node.is_impure()`` (or ``is_impure_node``)
        is true are kept. One reverse pass removes whole dead chains.

        >>> import operator; from torchlite.fx import Graph
        >>> g = Graph(); x = g.placeholder("x"); _ = g.call_function(operator.neg, (x,)), g.output(x)
        >>> g.eliminate_dead_code(), [n.name for n in g.nodes]
        (True, ['x', 'output'])
        """
        impure = is_impure_node or Node.is_impure
        changed = False
        for node in reversed(self.nodes):
            if not node.users and not impure(node):
                self.erase_node(node)
                changed = True
        return changed

    def lint(self) -> None:
        """Check the graph's invariants; RuntimeError naming the offending node if one fails.

        Checks: the linked list is intact; every node belongs to this graph, has a legal op and
        target, and a unique valid name; every input belongs to this graph and comes before its
        user; ``users`` matches what args/kwargs actually read; exactly one output, at the end;
        get_attr/call_module targets exist on the owning module (if any).

        >>> import operator; from torchlite.fx import Graph
        >>> g = Graph(); x = g.placeholder("x"); _ = g.output(g.call_function(operator.neg, (x,)))
        >>> g.lint() is None
        True
        """
        def fail(node: Node, msg: str) -> None:
            raise RuntimeError(f"Graph.lint: node '{node.name}' ({node.op} {_pretty_target(node.target)}): {msg}")

        seen: set[Node] = set()
        names: dict[str, Node] = {}
        actual_inputs: dict[Node, dict[Node, None]] = {}
        outputs: list[Node] = []
        prev = self._root
        cur = self._root._next
        count = 0
        while cur is not self._root:
            node = cur
            if node._prev is not prev:
                fail(node, f"linked list broken: its prev is {node._prev.name!r}, expected {prev.name!r}")
            if node._erased:
                fail(node, "erased node is still linked into the graph")
            if node.graph is not self:
                fail(node, "node belongs to a different graph")
            if node.op not in LEGAL_OPS:
                fail(node, f"illegal op {node.op!r}; expected one of {LEGAL_OPS}")
            if node.op == "call_function" and not callable(node.target):
                fail(node, f"call_function target {node.target!r} is not callable")
            if node.op != "call_function" and not isinstance(node.target, str):
                fail(node, f"{node.op} target {node.target!r} must be a str")
            if not is_valid_name(node.name):
                fail(node, "name is not a valid Python identifier")
            if node.name in names:
                fail(node, f"name is not unique (also used by an earlier {names[node.name].op} node)")
            names[node.name] = node
            inputs = collect_input_nodes(node.args, node.kwargs)
            actual_inputs[node] = inputs
            if list(inputs) != list(node._input_nodes):
                fail(node, f"input bookkeeping is stale: args/kwargs read {list(inputs)}, "
                           f"recorded {list(node._input_nodes)} (was an arg container mutated in place?)")
            for inp in inputs:
                if inp.graph is not self:
                    fail(node, f"argument '{inp.name}' belongs to a different graph")
                if inp._erased:
                    fail(node, f"argument '{inp.name}' was erased from the graph")
                if inp not in seen:
                    fail(node, f"argument '{inp.name}' is used before it is defined "
                               "(graph is not topologically sorted)")
                if node not in inp.users:
                    fail(node, f"'{inp.name}'.users does not list '{node.name}', which reads it")
            if node.op == "output":
                outputs.append(node)
            if self.owning_module is not None and node.op in ("get_attr", "call_module"):
                try:
                    fetch_attr(self.owning_module, node.target)  # type: ignore[arg-type]
                except AttributeError as e:
                    fail(node, str(e))
            seen.add(node)
            count += 1
            prev = node
            cur = node._next
        if self._root._prev is not prev:
            raise RuntimeError("Graph.lint: linked list broken at the end of the graph")
        if count != self._len:
            raise RuntimeError(f"Graph.lint: graph records {self._len} nodes but {count} are linked")
        for node, _ in actual_inputs.items():
            for user in node.users:
                if user not in seen:
                    fail(node, f"user '{user.name}' is not a node of this graph (erased or foreign)")
                if node not in actual_inputs[user]:
                    fail(node, f"lists '{user.name}' as a user, but '{user.name}' does not read it")
        if len(outputs) != 1:
            if not outputs:
                raise RuntimeError("Graph.lint: graph has no output node; call graph.output(...)")
            fail(outputs[1], f"graph has {len(outputs)} output nodes: {outputs}; expected exactly one")
        if outputs[0] is not prev:
            fail(outputs[0], f"output node must be the last node, but '{prev.name}' follows it")

    # -- printing -------------------------------------------------------------------------------
    def __str__(self) -> str:
        lines = ["graph():"]
        lines.extend("    " + n.format_node() for n in self.nodes)
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<Graph with {self._len} nodes>"

    def print_tabular(self, console: Any = None) -> None:
        """Print the nodes as a rich table with columns opcode, name, target, args, kwargs.

        >>> import operator; from torchlite.fx import Graph
        >>> g = Graph(); x = g.placeholder("x"); _ = g.output(x)
        >>> g.print_tabular()  # doctest: +SKIP
        """
        from rich.console import Console
        from rich.table import Table
        from rich.text import Text

        table = Table("opcode", "name", "target", "args", "kwargs")
        for n in self.nodes:
            table.add_row(*(Text(s) for s in (n.op, n.name, _pretty_target(n.target),
                                              format_arg(n.args), format_arg(n.kwargs))))
        (console or Console()).print(table)

    def python_code(self, root_module: str = "self") -> PythonCode:
        """This graph as the source of ``def forward(root_module, ...)`` plus the globals it needs.

        >>> import operator; from torchlite.fx import Graph
        >>> g = Graph(); x = g.placeholder("x"); _ = g.output(g.call_function(operator.add, (x, 1)))
        >>> print(g.python_code().src)
        def forward(self, x):
            add = operator.add(x, 1)
            return add
        <BLANKLINE>
        """
        return generate_python_code(self, root_module)
