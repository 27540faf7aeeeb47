"""Node: one operation in an fx Graph, following torch.fx's data model.

A Node is one of six op kinds (``placeholder``, ``get_attr``, ``call_function``, ``call_method``,
``call_module``, ``output``) with a ``target``, ``args``, ``kwargs``, a ``meta`` dict, and ``users``
(the nodes that read it). Setting ``args``/``kwargs`` keeps ``users`` of old and new inputs right.

Arguments may nest Nodes inside tuples, lists, dicts and slices. Every walk over such nesting here is
iterative (an explicit stack), so neither deep argument nesting nor deep graphs hit the recursion limit.
"""
from __future__ import annotations

import builtins
import keyword
from typing import TYPE_CHECKING, Any, Callable, Iterator, Optional, Union

if TYPE_CHECKING:
    from .graph import Graph

__all__ = ["Node", "map_arg", "map_aggregate", "Argument", "Target"]

Argument = Any
Target = Union[str, Callable[..., Any]]

LEGAL_OPS = ("placeholder", "get_attr", "call_function", "call_method", "call_module", "output")


# ---------------------------------------------------------------------------------------------
# Iterative traversal of nested arguments
# ---------------------------------------------------------------------------------------------

def _children(a: Any, slices: bool) -> Optional[tuple[Any, ...] | list[Any]]:
    """The child values of a container argument, or None for a leaf."""
    if isinstance(a, (tuple, list)):
        return a
    if isinstance(a, dict):
        return list(a.values())
    if slices and isinstance(a, slice):
        return (a.start, a.stop, a.step)
    return None


_CONTAINERS = (tuple, list, dict, slice)


def fold_aggregate(a: Any, leaf: Callable[[Any], Any],
                   combine: Callable[[Any, list[Any]], Any], *, slices: bool = True) -> Any:
    """Post-order fold over nested tuples/lists/dicts/slices, without recursion.

    ``leaf(x)`` maps each non-container value; ``combine(container, child_results)`` builds the
    result for a container from its children's results (dict children are its values, in order).
    """
    top = _children(a, slices)
    if top is None:
        return leaf(a)
    if not any(isinstance(k, _CONTAINERS) for k in top):  # fast path: flat args, the common case
        return combine(a, [leaf(k) for k in top])
    stack: list[tuple[Any, bool]] = [(a, False)]
    results: list[Any] = []
    while stack:
        obj, ready = stack.pop()
        kids = _children(obj, slices)
        if kids is None:
            results.append(leaf(obj))
        elif ready:
            n = len(kids)
            vals = results[len(results) - n:]
            del results[len(results) - n:]
            results.append(combine(obj, vals))
        else:
            stack.append((obj, True))
            stack.extend((k, False) for k in reversed(kids))
    return results[0]


def _rebuild(obj: Any, vals: list[Any], list_type: type = list, dict_type: type = dict) -> Any:
    """A container of the same kind as ``obj`` holding ``vals``."""
    if isinstance(obj, tuple):
        if type(obj) is tuple:
            return tuple(vals)
        if hasattr(obj, "_fields"):  # namedtuple
            return type(obj)(*vals)
        try:
            return type(obj)(vals)
        except Exception:
            return tuple(vals)
    if isinstance(obj, list):
        return list_type(vals)
    if isinstance(obj, dict):
        return dict_type(zip(obj.keys(), vals))
    assert isinstance(obj, slice)
    return slice(*vals)


def map_aggregate(a: Argument, fn: Callable[[Argument], Argument]) -> Argument:
    """Apply ``fn`` to every leaf of ``a``, rebuilding tuples, lists, dicts and slices around it.

    >>> from torchlite.fx import map_aggregate
    >>> map_aggregate((1, [2, {"k": 3}], slice(4, None)), lambda x: x * 10 if isinstance(x, int) else x)
    (10, [20, {'k': 30}], slice(40, None, None))
    """
    return fold_aggregate(a, fn, _rebuild)


def map_arg(a: Argument, fn: Callable[[Node], Argument]) -> Argument:
    """Apply ``fn`` to every Node inside ``a`` (through nested containers); other values stay.

    >>> from torchlite.fx import Graph, map_arg
    >>> g = Graph(); x = g.placeholder("x")
    >>> map_arg((x, [x, 2]), lambda n: n.name)
    ('x', ['x', 2])
    """
    if not callable(fn):
        raise TypeError(f"map_arg: fn must be callable, got {fn!r}")
    return map_aggregate(a, lambda x: fn(x) if isinstance(x, Node) else x)


# ---------------------------------------------------------------------------------------------
# Immutable containers: args/kwargs must be changed through the Node so `users` stays right
# ---------------------------------------------------------------------------------------------

def _no_mutation(self: Any, *args: Any, **kwargs: Any) -> None:
    raise TypeError(f"'{type(self).__name__}' held by a Node is immutable; "
                    "use node.args = ..., node.update_arg() or node.update_kwarg() instead")


class _ImmutableList(list):
    __setitem__ = __delitem__ = __iadd__ = __imul__ = _no_mutation  # type: ignore[assignment]
    append = extend = insert = pop = remove = clear = sort = reverse = _no_mutation  # type: ignore[assignment]

    def __reduce__(self) -> tuple[Any, ...]:
        return (_ImmutableList, (list(self),))


class _ImmutableDict(dict):
    __setitem__ = __delitem__ = __ior__ = _no_mutation  # type: ignore[assignment]
    clear = pop = popitem = setdefault = update = _no_mutation  # type: ignore[assignment]

    def __reduce__(self) -> tuple[Any, ...]:
        return (_ImmutableDict, (dict(self),))


def _freeze(a: Argument, inputs: dict[Node, None]) -> Argument:
    """An immutable copy of ``a``; records the Nodes found in ``inputs`` (in order)."""
    def leaf(x: Any) -> Any:
        if isinstance(x, Node):
            inputs.setdefault(x)
        return x
    return fold_aggregate(a, leaf,
                          lambda obj, vals: _rebuild(obj, vals, _ImmutableList, _ImmutableDict))


def collect_input_nodes(args: Argument, kwargs: Argument) -> dict[Node, None]:
    """The Nodes found in ``args`` and ``kwargs``, in first-use order."""
    found: dict[Node, None] = {}
    for a in (args, kwargs):
        map_arg(a, found.setdefault)
    return found


# ---------------------------------------------------------------------------------------------
# Printing targets and arguments (torch.fx's format)
# ---------------------------------------------------------------------------------------------

def _pretty_target(target: Target) -> str:
    """``operator.add``, ``builtins.getattr``, ``math.sqrt``, ``torchlite.ops.add``, or the string."""
    if isinstance(target, str):
        return target
    name = getattr(target, "__name__", None) or type(target).__name__
    module = getattr(target, "__module__", None) or type(target).__module__
    if module == "_operator":
        module = "operator"
    return f"{module}.{name}"


def format_arg(arg: Argument) -> str:
    """torch.fx's argument format: Nodes as ``%name``, other leaves with ``str``."""
    def leaf(x: Any) -> str:
        return f"%{x.name}" if isinstance(x, Node) else str(x)

    def combine(obj: Any, vals: list[str]) -> str:
        if isinstance(obj, tuple):
            return f"({', '.join(vals)}{',' if len(vals) == 1 else ''})"
        if isinstance(obj, list):
            return f"[{', '.join(vals)}]"
        return "{" + ", ".join(f"{k}: {v}" for k, v in zip(obj.keys(), vals)) + "}"
    return fold_aggregate(arg, leaf, combine, slices=False)


def format_value(arg: Argument) -> str:
    """Python's ``repr`` of nested containers, with Nodes shown by name (used for ``return``)."""
    def leaf(x: Any) -> str:
        return x.name if isinstance(x, Node) else repr(x)

    def combine(obj: Any, vals: list[str]) -> str:
        if isinstance(obj, tuple):
            return f"({', '.join(vals)}{',' if len(vals) == 1 else ''})"
        if isinstance(obj, list):
            return f"[{', '.join(vals)}]"
        return "{" + ", ".join(f"{k!r}: {v}" for k, v in zip(obj.keys(), vals)) + "}"
    return fold_aggregate(arg, leaf, combine, slices=False)


def fetch_attr(root: Any, target: str) -> Any:
    """Follow a dotted path (``layers.0.attn``) from ``root`` with getattr."""
    obj = root
    walked: list[str] = []
    for part in target.split("."):
        if not hasattr(obj, part):
            where = ".".join(walked) or type(root).__name__
            raise AttributeError(f"fx: target '{target}' not found: '{where}' has no attribute '{part}'")
        obj = getattr(obj, part)
        walked.append(part)
    return obj


def is_valid_name(name: str) -> bool:
    """A Python identifier that is not a keyword."""
    return name.isidentifier() and not keyword.iskeyword(name)


# ---------------------------------------------------------------------------------------------
# Node
# ---------------------------------------------------------------------------------------------

class Node:
    """One operation in a :class:`Graph`: ``op`` kind, ``target``, ``args``, ``kwargs``, ``users``, ``meta``.

    >>> import operator; from torchlite.fx import Graph
    >>> g = Graph(); x = g.placeholder("x"); y = g.call_function(operator.add, (x, 1))
    >>> (y.op, y.name, y.args, list(x.users))
    ('call_function', 'add', (x, 1), [add])
    """

    def __init__(self, graph: Graph, name: str, op: str, target: Target,
                 args: tuple[Argument, ...], kwargs: dict[str, Argument]) -> None:
        if op not in LEGAL_OPS and op != "root":
            raise ValueError(f"Node {name!r}: op must be one of {LEGAL_OPS}, got {op!r}")
        if op == "call_function":
            if not callable(target):
                raise ValueError(f"Node {name!r}: call_function target must be callable, got {target!r}")
        elif op != "root" and not isinstance(target, str):
            raise ValueError(f"Node {name!r}: {op} target must be a str, got {target!r}")
        self.graph = graph
        self.name = name
        self.op = op
        self.target = target
        self.meta: dict[str, Any] = {}
        self.users: dict[Node, None] = {}
        self._input_nodes: dict[Node, None] = {}
        self._args: tuple[Argument, ...] = ()
        self._kwargs: dict[str, Argument] = _ImmutableDict()
        self._prev: Node = self
        self._next: Node = self
        self._erased = False
        self._update_args_kwargs(args, kwargs)

    # -- args / kwargs / users bookkeeping -------------------------------------------------------
    @property
    def args(self) -> tuple[Argument, ...]:
        """Positional arguments; assigning updates ``users`` of old and new input nodes."""
        return self._args

    @args.setter
    def args(self, a: tuple[Argument, ...] | list[Argument]) -> None:
        self._update_args_kwargs(a, self._kwargs)

    @property
    def kwargs(self) -> dict[str, Argument]:
        """Keyword arguments; assigning updates ``users`` of old and new input nodes."""
        return self._kwargs

    @kwargs.setter
    def kwargs(self, k: dict[str, Argument]) -> None:
        self._update_args_kwargs(self._args, k)

    def _update_args_kwargs(self, new_args: Any, new_kwargs: Any) -> None:
        if not isinstance(new_args, (tuple, list)):
            raise TypeError(f"Node {self.name}: args must be a tuple, got {type(new_args).__name__}")
        if not isinstance(new_kwargs, dict):
            raise TypeError(f"Node {self.name}: kwargs must be a dict, got {type(new_kwargs).__name__}")
        inputs: dict[Node, None] = {}
        frozen_args = tuple(_freeze(tuple(new_args), inputs))
        frozen_kwargs = _ImmutableDict(_freeze(dict(new_kwargs), inputs))
        old = self._input_nodes
        for n in old:
            if n not in inputs:
                n.users.pop(self, None)
        for n in inputs:
            if n not in old:
                n.users.setdefault(self)
        self._args, self._kwargs, self._input_nodes = frozen_args, frozen_kwargs, inputs

    @property
    def all_input_nodes(self) -> list[Node]:
        """The Nodes this node reads, in order of first appearance in args then kwargs.

        >>> import operator; from torchlite.fx import Graph
        >>> g = Graph(); x = g.placeholder("x"); y = g.call_function(operator.add, (x, x))
        >>> y.all_input_nodes
        [x]
        """
        return list(self._input_nodes)

    def update_arg(self, idx: int, arg: Argument) -> None:
        """Set ``args[idx]`` to ``arg``, keeping ``users`` right.

        >>> import operator; from torchlite.fx import Graph
        >>> g = Graph(); x = g.placeholder("x"); y = g.call_function(operator.add, (x, 1))
        >>> y.update_arg(1, 2); y.args
        (x, 2)
        """
        args = list(self._args)
        args[idx] = arg
        self.args = tuple(args)

    def update_kwarg(self, key: str, arg: Argument) -> None:
        """Set ``kwargs[key]`` to ``arg``, keeping ``users`` right.

        >>> from torchlite.fx import Graph
        >>> g = Graph(); x = g.placeholder("x"); y = g.call_method("split", (x,))
        >>> y.update_kwarg("sep", ","); y.kwargs
        {'sep': ','}
        """
        kwargs = dict(self._kwargs)
        kwargs[key] = arg
        self.kwargs = kwargs

    def replace_input_with(self, old_input: Node, new_input: Argument) -> None:
        """Replace every occurrence of ``old_input`` in this node's args/kwargs with ``new_input``.

        >>> import operator; from torchlite.fx import Graph
        >>> g = Graph(); x = g.placeholder("x"); z = g.placeholder("z"); y = g.call_function(operator.add, (x, x))
        >>> y.replace_input_with(x, z); y.args
        (z, z)
        """
        def swap(n: Node) -> Argument:
            return new_input if n is old_input else n
        self._update_args_kwargs(map_arg(self._args, swap), map_arg(self._kwargs, swap))

    def replace_all_uses_with(self, replace_with: Argument,
                              delete_user_cb: Optional[Callable[[Node], bool]] = None,
                              *, propagate_meta: bool = False) -> list[Node]:
        """Make every user of this node read ``replace_with`` instead; returns the changed users.

        >>> import operator; from torchlite.fx import Graph
        >>> g = Graph(); x = g.placeholder("x"); a = g.call_function(operator.neg, (x,)); b = g.call_function(abs, (a,))
        >>> a.replace_all_uses_with(x), b.args, list(a.users)
        ([abs_1], (x,), [])
        """
        if propagate_meta and isinstance(replace_with, Node):
            if replace_with.meta:
                raise RuntimeError(f"replace_all_uses_with(propagate_meta=True): {replace_with.name} "
                                   "already has meta; clear it first")
            replace_with.meta = dict(self.meta)
        changed = []
        for user in list(self.users):
            if delete_user_cb is not None and not delete_user_cb(user):
                continue
            user.replace_input_with(self, replace_with)
            changed.append(user)
        return changed

    # -- position in the graph ------------------------------------------------------------------
    @property
    def next(self) -> Optional[Node]:
        """The following node in the graph, or None at the end."""
        n = self._next
        return None if n.op == "root" else n

    @property
    def prev(self) -> Optional[Node]:
        """The preceding node in the graph, or None at the start."""
        p = self._prev
        return None if p.op == "root" else p

    def _remove_from_list(self) -> None:
        p, n = self._prev, self._next
        p._next, n._prev = n, p

    def prepend(self, x: Node) -> None:
        """Move (or insert) node ``x`` to just before this node.

        >>> import operator; from torchlite.fx import Graph
        >>> g = Graph(); a = g.placeholder("a"); b = g.placeholder("b"); a.prepend(b)
        >>> [n.name for n in g.nodes]
        ['b', 'a']
        """
        if x.graph is not self.graph:
            raise ValueError(f"prepend: {x.name} belongs to another graph than {self.name}")
        if x is self:
            return
        x._remove_from_list()
        p = self._prev
        p._next, x._prev = x, p
        x._next, self._prev = self, x

    def append(self, x: Node) -> None:
        """Move (or insert) node ``x`` to just after this node.

        >>> import operator; from torchlite.fx import Graph
        >>> g = Graph(); a = g.placeholder("a"); b = g.placeholder("b"); b.append(a)
        >>> [n.name for n in g.nodes]
        ['b', 'a']
        """
        if x is self:
            return
        self._next.prepend(x)

    # -- properties -----------------------------------------------------------------------------
    def is_impure(self) -> bool:
        """True if dead-code elimination must keep this node even when it has no users.

        Placeholders and outputs are impure, as is a node whose ``meta["impure"]`` is true, or whose
        target (for ``call_module``, the module object) has a true ``is_impure`` attribute.

        >>> from torchlite.fx import Graph
        >>> g = Graph(); x = g.placeholder("x"); y = g.call_function(print, (x,)); y.meta["impure"] = True
        >>> (x.is_impure(), y.is_impure())
        (True, True)
        """
        if self.op in ("placeholder", "output"):
            return True
        if self.meta.get("impure"):
            return True
        obj: Any = None
        if self.op == "call_function":
            obj = self.target
        elif self.op == "call_module":
            owner = getattr(self.graph, "owning_module", None)
            if owner is not None:
                try:
                    obj = fetch_attr(owner, str(self.target))
                except AttributeError:
                    obj = None
        flag = getattr(obj, "is_impure", False) if obj is not None else False
        return bool(flag) and not callable(flag)

    def format_node(self) -> str:
        """One line in torch.fx's format, as used by ``str(graph)``.

        >>> import operator; from torchlite.fx import Graph
        >>> g = Graph(); x = g.placeholder("x"); y = g.call_function(operator.add, (x, 1))
        >>> y.format_node()
        '%add : [num_users=0] = call_function[target=operator.add](args = (%x, 1), kwargs = {})'
        """
        head = f"%{self.name} : [num_users={len(self.users)}] = {self.op}[target={_pretty_target(self.target)}]"
        if self.op == "placeholder":
            return head + (f"(default={self.args[0]})" if self.args else "")
        if self.op == "get_attr":
            return head
        if self.op == "output":
            return f"return {format_value(self.args[0]) if self.args else None}"
        return f"{head}(args = {format_arg(self.args)}, kwargs = {format_arg(self.kwargs)})"

    def __repr__(self) -> str:
        return self.name


def iter_nodes(start: Node, stop: Node, forward: bool = True) -> Iterator[Node]:
    """Walk the linked list from ``start`` until ``stop``, skipping erased nodes (safe under erasure)."""
    cur = start
    while cur is not stop:
        if not cur._erased:
            yield cur
        cur = cur._next if forward else cur._prev


# Names a node may not take: keywords and builtins (as torch.fx), plus the names generated code binds.
ILLEGAL_NAMES: dict[str, object] = {k: object() for k in keyword.kwlist}
ILLEGAL_NAMES.update(builtins.__dict__)
for _reserved in ("self", "torchlite", "operator", "math"):
    ILLEGAL_NAMES.setdefault(_reserved, object())
