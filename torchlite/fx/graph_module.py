"""GraphModule: a Graph compiled into a real Python ``forward`` method, with the attributes it reads."""
from __future__ import annotations

import copy
import itertools
import linecache
import re
import types
from typing import Any, Callable

from .graph import Graph, PythonCode
from .node import fetch_attr

__all__ = ["GraphModule"]

_file_ids = itertools.count()


class _SourceLoader:
    """Lets ``linecache`` fetch generated source again even after ``linecache.clearcache()``."""

    def __init__(self, src: str) -> None:
        self.src = src

    def get_source(self, name: str) -> str:
        return self.src


def _resolve_in_dict(root: dict[str, Any], target: str) -> Any:
    """``root[target]``, or the longest key that is a dotted prefix of ``target`` followed by getattr."""
    if target in root:
        return root[target]
    parts = target.split(".")
    for i in range(len(parts) - 1, 0, -1):
        prefix = ".".join(parts[:i])
        if prefix in root:
            return fetch_attr(root[prefix], ".".join(parts[i:]))
    raise KeyError(f"GraphModule: the graph reads '{target}' but the root dict has no such key "
                   f"(keys: {sorted(root)})")


class GraphModule:
    """A callable built from a Graph: ``gm(*inputs)`` runs the generated ``forward``.

    ``root`` holds the values of ``get_attr``/``call_module`` targets: either an object whose
    attributes (dotted paths) hold them, or a dict ``{qualified name: value}``. Only the targets the
    graph reads are copied onto the GraphModule, under the same dotted paths.

    >>> import operator; from torchlite.fx import Graph, GraphModule
    >>> g = Graph(); x = g.placeholder("x"); _ = g.output(g.call_function(operator.add, (x, g.get_attr("bias"))))
    >>> GraphModule({"bias": 10}, g)(5)
    15
    """

    _reserved = frozenset({"graph", "code", "forward", "recompile", "print_readable", "class_name",
                           "_graph", "_code", "_python_code", "_filename"})

    def __init__(self, root: Any, graph: Graph, class_name: str = "GraphModule") -> None:
        self.class_name = class_name
        self._graph: Graph = graph
        targets: dict[str, None] = {}
        for node in graph.nodes:
            if node.op in ("get_attr", "call_module"):
                targets.setdefault(str(node.target))
        for target in sorted(targets, key=lambda t: t.count(".")):
            if isinstance(root, dict):
                value = _resolve_in_dict(root, target)
            else:
                value = fetch_attr(root, target)
            self._install(target, value)
        self.graph = graph

    def _install(self, target: str, value: Any) -> None:
        parts = target.split(".")
        if parts[0] in self._reserved or hasattr(GraphModule, parts[0]):
            raise ValueError(f"GraphModule: target '{target}' would shadow GraphModule.{parts[0]}; "
                             "rename that attribute in the root")
        obj: Any = self
        for p in parts[:-1]:
            nxt = getattr(obj, p, None)
            if nxt is None:
                nxt = types.SimpleNamespace()
                setattr(obj, p, nxt)
            obj = nxt
        if getattr(obj, parts[-1], _MISSING) is not value:
            setattr(obj, parts[-1], value)

    # -- the graph and its code -----------------------------------------------------------------
    @property
    def graph(self) -> Graph:
        """The graph; assigning a new one recompiles ``forward``."""
        return self._graph

    @graph.setter
    def graph(self, g: Graph) -> None:
        self._graph = g
        g.owning_module = self
        self.recompile()

    @property
    def code(self) -> str:
        """The generated source of ``forward``."""
        return self._code

    def recompile(self) -> PythonCode:
        """Regenerate ``forward`` from ``self.graph`` (call after editing the graph in place).

        The source gets a file name registered in ``linecache``, so tracebacks show generated lines.

        >>> import operator; from torchlite.fx import Graph, GraphModule
        >>> g = Graph(); x = g.placeholder("x"); out = g.output(x); gm = GraphModule({}, g)
        >>> with g.inserting_before(out): out.args = (g.call_function(operator.neg, (x,)),)
        >>> _ = gm.recompile(); gm(3)
        -3
        """
        code = self._graph.python_code(root_module="self")
        safe = re.sub(r"[^0-9A-Za-z_]", "_", self.class_name)
        filename = f"fx_generated_{safe}_{next(_file_ids)}.py"
        ns: dict[str, Any] = dict(code.globals)
        ns["__name__"] = f"torchlite.fx.generated.{safe}"
        ns["__loader__"] = _SourceLoader(code.src)
        exec(compile(code.src, filename, "exec"), ns)
        linecache.cache[filename] = (len(code.src), None, code.src.splitlines(True), filename)
        fn: Callable[..., Any] = ns["forward"]
        self.forward = types.MethodType(fn, self)
        self._code = code.src
        self._python_code = code
        self._filename = filename
        return code

    def __deepcopy__(self, memo: dict[int, Any]) -> GraphModule:
        new = type(self).__new__(type(self))
        memo[id(self)] = new
        compiled = ("_graph", "forward", "_code", "_python_code", "_filename")
        for k, v in self.__dict__.items():
            if k not in compiled:
                new.__dict__[k] = copy.deepcopy(v, memo)
        new.graph = copy.deepcopy(self._graph, memo)
        return new

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    # -- printing -------------------------------------------------------------------------------
    def print_readable(self, print_output: bool = True) -> str:
        """The code as a class body (``class GraphModule:`` + ``forward``); printed unless told not to.

        >>> from torchlite.fx import Graph, GraphModule
        >>> g = Graph(); x = g.placeholder("x"); _ = g.output(x)
        >>> _ = GraphModule({}, g).print_readable()
        class GraphModule:
            def forward(self, x):
                return x
        """
        lines = [f"class {self.class_name}:"]
        lines.extend(("    " + line) if line else line for line in self._code.rstrip("\n").split("\n"))
        text = "\n".join(lines)
        if print_output:
            print(text)
        return text

    def __repr__(self) -> str:
        return self.print_readable(print_output=False)


_MISSING = object()
