"""The op registry: every op declared once (DESIGN.md decision 3).

An ``OpDef`` holds everything the rest of torchlite needs to know about one op-level operation:

- ``meta(srcs, params) -> (shape, dtype)``: shape and dtype rules, run when a node is built; it raises
  (RuntimeError, IndexError, TypeError, ValueError as PyTorch would) on bad input;
- ``numpy``: the cpu kernel, called ``numpy(*inputs, **params, dtype=np_dtype)`` and returning an array of
  exactly the meta shape and dtype (a numpy scalar is fine for a 0-d result: the program wraps those); with ``supports_out`` it also takes ``out=`` (an array to write into),
  which may be the buffer of one of the inputs listed in ``donate`` (elementwise ops list them all);
- ``view``: the kernel may return a view of its first input (the memory planner must keep that alive);
  ``inverse(base, value, **params)``: for view ops, how a write to the view becomes a new base value
  (functionalization of in-place writes through views);
- ``decomposition`` and ``vjp`` slots for the Triton compiler and autograd (filled as those land).

Ops are callable at op level, which is how captured graphs print: ``torchlite.ops.add(x0, x1)``.

    >>> import torchlite as tl
    >>> tl.ops.add(tl.ones(2), 3.0).tolist()
    [4.0, 4.0]
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

REGISTRY: dict[str, "OpDef"] = {}
_generation = [0]          # bumped on every change, so backends know when to refresh their kernel tables


def generation() -> int:
    """A number that changes whenever an op is registered or removed."""
    return _generation[0]


@dataclass(eq=False)
class OpDef:
    name: str
    meta: Callable
    numpy: Callable
    params: tuple[str, ...] = ()
    kind: str = "other"                 # pointwise | reduction | movement | indexing | linalg | creation
    supports_out: bool = False          # numpy kernel takes out= of the result's shape and dtype
    donate: tuple[int, ...] = ()        # inputs whose buffer may be passed as out= (when this op is their last reader)
    view: bool = False                  # result may alias input 0
    inverse: Callable | None = None     # write-through-view rule, for view ops
    decomposition: Callable | None = None
    vjp: Callable | None = None
    doc: str = ""

    def __post_init__(self):
        # How captured graphs print and import this op: torchlite.ops.<name>
        self.__name__ = self.__qualname__ = self.name
        self.__module__ = "torchlite.ops"

    def __call__(self, *srcs, **params):
        from ..tensor import apply
        unknown = set(params) - set(self.params)
        if unknown:
            raise TypeError(f"torchlite.ops.{self.name}() got unexpected keyword arguments {sorted(unknown)}")
        try:
            values = tuple(params[p] for p in self.params)
        except KeyError as e:
            raise TypeError(f"torchlite.ops.{self.name}() missing keyword argument {e}") from None
        return apply(self, srcs, values)

    def __repr__(self) -> str:
        return f"<op torchlite.ops.{self.name}>"

    def __hash__(self) -> int:
        return id(self)


def register(op: OpDef) -> OpDef:
    """Add ``op`` to the registry; each name is declared once."""
    if op.name in REGISTRY:
        raise ValueError(f"op {op.name!r} is already registered")
    REGISTRY[op.name] = op
    _generation[0] += 1
    return op


def unregister(name: str) -> None:
    """Remove an op (for tests and experiments); programs already compiled keep their kernel."""
    del REGISTRY[name]
    _generation[0] += 1


def defop(name: str, *, meta: Callable, params: tuple[str, ...] = (), **kw) -> Callable[[Callable], OpDef]:
    """Decorator form: the decorated function is the numpy kernel.

        @defop("relu", meta=same_as_input, kind="pointwise")
        def relu(x, *, dtype): return np.maximum(x, 0)
    """
    def wrap(fn: Callable) -> OpDef:
        return register(OpDef(name, meta, fn, params, doc=fn.__doc__ or "", **kw))
    return wrap
