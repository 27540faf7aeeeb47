"""Turn a Graph into the source of a Python ``forward`` function a person can read, diff and run.

One statement per node (so Python's own compiler never sees a deeply nested expression), each call
followed by a comment from ``node.meta`` (shape/dtype, user line, module path)::

    def forward(self, x0, x1):
        add = torchlite.ops.add(x0, x1)  # f32[3, 4] quickstart.py:7
        return add

Functions print by qualified name (``operator.add``, ``math.sqrt``, ``torchlite.ops.add``) and the
top-level modules they need go into ``PythonCode.globals``; anything that cannot be named that way is
bound to a unique global name instead, so the source always runs.
"""
from __future__ import annotations

import ast
import builtins
import importlib
import math
import re
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Optional

from .node import ILLEGAL_NAMES, Node, fold_aggregate, is_valid_name

if TYPE_CHECKING:
    from .graph import Graph

__all__ = ["PythonCode", "generate_python_code"]

_illegal_char_regex = re.compile("[^0-9a-zA-Z_]+")
_snake_case_sub = re.compile(r"(?<=[a-z])([A-Z])")
_PLAIN_LITERALS = (bool, int, str, bytes, type(None), type(Ellipsis))


@dataclass
class PythonCode:
    """Generated source of ``def forward(...)`` and the globals it must be executed with.

    >>> import operator; from torchlite.fx import Graph
    >>> g = Graph(); x = g.placeholder("x"); _ = g.output(g.call_function(operator.neg, (x,)))
    >>> code = g.python_code(); ns = dict(code.globals); exec(code.src, ns); ns["forward"](None, 2)
    -2
    """
    src: str
    globals: dict[str, Any] = field(default_factory=dict)


def generate_python_code(graph: Graph, root_module: str = "self") -> PythonCode:
    """Generate the ``forward`` source for ``graph``; see :meth:`Graph.python_code`."""
    return _CodeGen(graph, root_module).run()


def format_target_path(base: str, target: str) -> str:
    """``self.layers.0.attn`` as an expression: ``getattr(self.layers, "0").attn``."""
    expr = base
    for part in target.split("."):
        expr = f"{expr}.{part}" if is_valid_name(part) else f"getattr({expr}, {part!r})"
    return expr


def _import_top(name: str) -> Optional[Any]:
    """The top-level module ``name`` if it is importable, else None."""
    mod = sys.modules.get(name)
    if mod is not None:
        return mod
    try:
        return importlib.import_module(name)
    except Exception:
        return None


def _resolves(module: str, qualname: str, obj: Any) -> bool:
    """Does ``<module>.<qualname>``, walked by getattr from the top package, give back ``obj``?"""
    parts = module.split(".") + qualname.split(".")
    if not all(is_valid_name(p) for p in parts):
        return False
    try:
        importlib.import_module(module)
    except Exception:
        return False
    cur: Any = sys.modules.get(parts[0])
    if cur is None:
        return False
    for p in parts[1:]:
        cur = getattr(cur, p, _MISSING)
        if cur is _MISSING:
            return False
    return cur is obj


_MISSING = object()


def _module_rooted_repr(text: str) -> Optional[str]:
    """If ``text`` is an expression like ``torchlite.float32`` or ``torchlite.device('cpu')``, the root name.

    Only the root module (and builtins) may appear as free names in the expression.
    """
    try:
        tree = ast.parse(text, mode="eval")
    except (SyntaxError, ValueError, RecursionError):
        return None
    expr: ast.AST = tree.body
    via_attribute = False
    while True:
        if isinstance(expr, ast.Attribute):
            expr, via_attribute = expr.value, True
        elif isinstance(expr, ast.Call):
            expr, via_attribute = expr.func, False
        elif isinstance(expr, ast.Subscript):
            expr, via_attribute = expr.value, False
        else:
            break
    if not (isinstance(expr, ast.Name) and via_attribute):
        return None
    root = expr.id
    for n in ast.walk(tree):
        if isinstance(n, ast.Name) and n.id != root and not hasattr(builtins, n.id):
            return None
    return root


def _sanitize(hint: str) -> str:
    name = _illegal_char_regex.sub("_", _snake_case_sub.sub(r"_\1", hint)) or "obj"
    if name[0].isdigit() or not is_valid_name(name):
        name = f"_{name}"
    return name


def _meta_comment(node: Node) -> str:
    """``f32[3, 4] model.py:12 layers.0.attn`` from ``node.meta`` (empty if nothing is known)."""
    meta = node.meta
    parts: list[str] = []
    if "shape" in meta and "dtype" in meta:
        dtype = meta["dtype"]
        parts.append(f"{getattr(dtype, 'short', str(dtype))}{list(meta['shape'])}")
    for key in ("stack_frame", "module_path"):
        if meta.get(key):
            parts.append(str(meta[key]))
    return " ".join(parts).replace("\r", " ").replace("\n", " ")


class _CodeGen:
    def __init__(self, graph: Graph, root_module: str) -> None:
        if not is_valid_name(root_module):
            raise ValueError(f"python_code: root_module must be a valid identifier, got {root_module!r}")
        self.graph = graph
        self.root = root_module
        self.globals: dict[str, Any] = {}
        self.used: set[str] = set()      # every name visible in forward: nodes, params, globals
        self._module_names: dict[str, str] = {}   # top-level module -> its global name
        self._bound: dict[int, str] = {}          # id(object) -> global name bound to it
        self._callables: dict[int, str] = {}      # id(callable) -> expression naming it

    # -- names ----------------------------------------------------------------------------------
    def _unique(self, hint: str) -> str:
        base = _sanitize(hint)
        name, i = base, 0
        while name in self.used or name in ILLEGAL_NAMES:
            i += 1
            name = f"{base}_{i}"
        self.used.add(name)
        return name

    def module_ref(self, top: str) -> Optional[str]:
        """The global name under which top-level module ``top`` is bound (None if not importable)."""
        if top in self._module_names:
            return self._module_names[top]
        mod = _import_top(top)
        if mod is None:
            return None
        if top not in self.used and not hasattr(builtins, top) and is_valid_name(top):
            name = top
            self.used.add(name)
        else:
            name = self._unique(f"{top}_module")
        self.globals[name] = mod
        self._module_names[top] = name
        return name

    def bind(self, obj: Any, hint: str) -> str:
        """Bind ``obj`` itself to a fresh global name (for things that cannot be named by import)."""
        key = id(obj)
        if key not in self._bound:
            name = self._unique(hint)
            self.globals[name] = obj
            self._bound[key] = name
        return self._bound[key]

    def callable_ref(self, fn: Any) -> str:
        """``operator.add``, ``getattr``, ``math.sqrt``, ``torchlite.ops.add`` or a bound global name."""
        key = id(fn)
        if key in self._callables:
            return self._callables[key]
        name = getattr(fn, "__name__", None)
        module = getattr(fn, "__module__", None)
        ref: Optional[str] = None
        if module == "builtins" and isinstance(name, str) and getattr(builtins, name, None) is fn:
            ref = name
        else:
            if module == "_operator":
                module = "operator"
            if isinstance(module, str) and module:
                for attr in (getattr(fn, "__qualname__", None), name):
                    if isinstance(attr, str) and _resolves(module, attr, fn):
                        top = module.split(".")[0]
                        alias = self.module_ref(top)
                        if alias is not None:
                            ref = f"{alias}{module[len(top):]}.{attr}"
                            break
            if ref is None:
                ref = self.bind(fn, name if isinstance(name, str) else type(fn).__name__)
        self._callables[key] = ref
        return ref

    # -- values ---------------------------------------------------------------------------------
    def const(self, v: Any) -> str:
        """A Python expression for constant ``v``."""
        t = type(v)
        if t in _PLAIN_LITERALS:
            return repr(v)
        if t is float:
            if math.isfinite(v):
                return repr(v)
            m = self.module_ref("math")
            return f"{m}.nan" if math.isnan(v) else f"{'-' if v < 0 else ''}{m}.inf"
        if t is complex and math.isfinite(v.real) and math.isfinite(v.imag):
            return repr(v)
        if callable(v) and isinstance(getattr(v, "__name__", None), str):
            return self.callable_ref(v)
        try:
            text = repr(v)
        except Exception:
            text = ""
        root = _module_rooted_repr(text)
        if root is not None:
            ref = self._module_names.get(root)
            if ref is None and root not in self.used and not hasattr(builtins, root):
                ref = self.module_ref(root)
            if ref == root:
                return text
        return self.bind(v, f"_{t.__name__}")

    def value(self, a: Any) -> str:
        """An expression for argument ``a`` (Nodes by name, containers rebuilt literally)."""
        def leaf(x: Any) -> str:
            return x.name if isinstance(x, Node) else self.const(x)

        def combine(obj: Any, vals: list[str]) -> str:
            if isinstance(obj, tuple):
                inner = f"({', '.join(vals)}{',' if len(vals) == 1 else ''})"
                if type(obj) is tuple:
                    return inner
                ctor = self.callable_ref(type(obj))
                return f"{ctor}({', '.join(vals)})" if hasattr(obj, "_fields") else f"{ctor}({inner})"
            if isinstance(obj, list):
                return f"[{', '.join(vals)}]"
            if isinstance(obj, dict):
                return "{" + ", ".join(f"{self.const(k)}: {v}" for k, v in zip(obj.keys(), vals)) + "}"
            return f"slice({', '.join(vals)})"
        return fold_aggregate(a, leaf, combine)

    def call_args(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
        parts = [self.value(a) for a in args]
        odd: dict[str, Any] = {}
        for k, v in kwargs.items():
            if is_valid_name(k):
                parts.append(f"{k}={self.value(v)}")
            else:
                odd[k] = v
        if odd:
            parts.append(f"**{self.value(odd)}")
        return ", ".join(parts)

    # -- the function ---------------------------------------------------------------------------
    def run(self) -> PythonCode:
        nodes = list(self.graph.nodes)
        self.used = {n.name for n in nodes}
        if self.root in self.used:
            raise ValueError(f"python_code: root_module name {self.root!r} is also a node name; "
                             "pick another root_module")
        self.used.add(self.root)

        params: dict[Node, str] = {}
        for node in nodes:
            if node.op == "placeholder":
                target = str(node.target)
                stars = target[: len(target) - len(target.lstrip("*"))]
                raw = target[len(stars):]
                if raw != node.name and (raw in self.used or raw in ILLEGAL_NAMES or not is_valid_name(raw)):
                    raw = node.name
                self.used.add(raw)
                params[node] = stars + raw

        signature = [self.root]
        body: list[str] = []
        returned = False
        for node in nodes:
            name = node.name
            if node.op == "placeholder":
                param = params[node]
                if node.args:
                    signature.append(f"{param}={self.value(node.args[0])}")
                else:
                    signature.append(param)
                if param.lstrip("*") != name:
                    body.append(f"{name} = {param.lstrip('*')}")
                continue
            if node.op == "output":
                body.append(f"return {self.value(node.args[0]) if node.args else None}")
                returned = True
                continue
            if node.op == "get_attr":
                line = f"{name} = {format_target_path(self.root, str(node.target))}"
            elif node.op == "call_function":
                line = f"{name} = {self.callable_ref(node.target)}({self.call_args(node.args, node.kwargs)})"
            elif node.op == "call_method":
                if not node.args:
                    raise ValueError(f"python_code: call_method node {name} has no args; "
                                     "args[0] must be the object whose method is called")
                recv = node.args[0]
                recv_s = self.value(recv)
                if not isinstance(recv, (Node, str, bytes, list, tuple, dict)):
                    recv_s = f"({recv_s})"
                method = str(node.target)
                call = f"{recv_s}.{method}" if is_valid_name(method) else f"getattr({recv_s}, {method!r})"
                line = f"{name} = {call}({self.call_args(node.args[1:], node.kwargs)})"
            else:  # call_module
                line = (f"{name} = {format_target_path(self.root, str(node.target))}"
                        f"({self.call_args(node.args, node.kwargs)})")
            comment = _meta_comment(node)
            body.append(f"{line}  # {comment}" if comment else line)
        if not returned:
            body.append("return None")

        lines = [f"def forward({', '.join(signature)}):"]
        lines.extend("    " + b for b in body)
        return PythonCode("\n".join(lines) + "\n", self.globals)
