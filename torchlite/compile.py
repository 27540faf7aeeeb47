"""``torchlite.compile``: trace a whole step once, then replay it as one numpy program (DESIGN.md data flow).

A training step built lazily spends most of its time in Python: building forward, backward and optimizer
nodes, then capturing them and computing the program cache key. ``compile(fn)`` pays that once. Its first
call runs ``fn`` on lazy tensors as usual and watches it: which tensors it reads (its tensor arguments and the
*state* it finds through its closure, globals and non-tensor arguments: parameters, their ``.grad``,
optimizer state), which of those it rebinds, and what it returns. The whole step, forward + backward +
update, becomes one captured graph and one cached numpy program. Later calls with inputs of the same
shapes/dtypes/devices check the guards below, run that program on the new input buffers and the current
state buffers, and rebind the state tensors to the results: no node is built and nothing is captured.

    >>> import torchlite as tl
    >>> w = tl.ones(3, requires_grad=True); opt = tl.optim.SGD([w], lr=0.1)
    >>> @tl.compile
    ... def step(x):
    ...     loss = (w * x).sum(); opt.zero_grad(); loss.backward(); opt.step(); return loss
    >>> [round(step(tl.ones(3)).item(), 4) for _ in range(3)]
    [3.0, 2.7, 2.4]

Results are those of the eager step, bit for bit where the program is the same (the tests check parameters,
gradients and optimizer state after several SGD and AdamW steps). Returned tensors are fresh tensors over the
computed values, without autograd history (a state or argument tensor ``fn`` returns comes back as itself).
``compiled.program.source`` prints the numpy program; ``traces``/``replays`` count the calls of each kind.

Guards. A call replays only if all of these hold; otherwise ``fn`` is traced again (a structurally equal
trace hits the program cache, so re-tracing costs node building, never a program compile):

- *inputs*: the same structure of arguments, and each tensor argument with the same shape, dtype, device and
  ``requires_grad`` (and the same pattern of repeated tensors); non-tensor arguments are compared by value
  (numbers, strings) or identity (other objects). A non-tensor where a tensor was traced is another
  signature: it is traced (and fails, if it does, as ``fn`` fails eagerly).
- *modes*: grad mode, autocast state, default dtype and default device are part of the signature.
- *Python state*: everything ``fn`` can reach through its closure, the globals it names, its defaults and
  its non-tensor arguments is walked on every call: Python numbers and strings by value (a learning rate a
  scheduler changed, ``module.training``, a layer's ``eps``), containers by identity and length, modules,
  optimizers, schedulers, generators, grad scalers and objects of user classes through their attributes,
  helper functions written in user code through their own closures and globals. Any difference re-traces.
  Other objects (numpy arrays, Python modules, library objects) are compared by identity only.
- *state tensors*: each tensor found that way must be the same object, with the same ``requires_grad``,
  bound to the node the last call of this function left it with, with the same ``.grad`` object and node. A
  tensor rebound outside ``fn`` (``load_state_dict``, ``p.data = ...``, an in-place write, an eager step) or
  a changed set of state tensors (an optimizer's first step creating its buffers, ``opt.load_state_dict``
  replacing them) re-traces.
- *index checks*: torchlite's bounds checks of ``nll_loss``/``cross_entropy`` targets and of ``gather``-like
  indices read the index values; when those are a tensor argument they run again before each replay, so a bad
  target fails as it does eagerly. Other index reads (``embedding``'s, indices computed inside ``fn``) are
  checked while tracing only: out of range they still fail inside the program, but negative ones wrap.

What cannot be replayed runs eagerly. A trace is kept only if everything it read is accounted for; if not,
that call's result is exactly the eager one, and after a permanent cause (or three traces in a row that
could not be kept) ``fn`` runs eagerly for that input signature from then on, with a one-time
``CompileFallbackWarning`` saying why (``compiled.eager_reason`` keeps it):

- random numbers drawn inside ``fn`` (dropout, ``randn``: sampling is eager, so a replay would reuse the
  draw of the trace);
- a value read to Python inside ``fn`` (``.item()``, ``.tolist()``, ``bool(t)``, ``print(t)``: the Python
  that follows depends on data). Return the tensor instead. ``Adam``/``AdamW`` read their step count with
  ``.item()`` unless ``capturable=True`` (same numbers);
- a tensor read that is neither an argument nor reachable from ``fn``, a tensor ``fn`` computes and keeps
  where the walk cannot see it, state that is a view or carries autograd history, and a returned tensor
  whose backward has not run (compile whole steps, or compile under ``no_grad`` for inference);
- Python state ``fn`` changes on every call (a counter, a scheduler stepped inside ``fn``).

Tensors created inside ``fn`` from Python data (``torchlite.tensor([...])``) are constants of the trace, like
the code that made them. Python-level randomness, I/O, and attributes of Python modules read inside ``fn``
are not seen and are baked in; Python side effects on objects the walk does not see happen while tracing
only (on state it sees, they make the trace one that cannot be kept).

Buffers. A replay writes the new values of state it replaces (parameters, optimizer state) into the old
values' buffers where the program can (``out=`` on the op that computes them), as a hand-written update
would, instead of allocating: the cpu program's memory planner treats those inputs as donated
(``Capture.donate``). It does so only when nothing else holds the old value (checked with reference counts
on every replay; a kept ``p.numpy()`` array or a pending ``p.clone()`` gets a copy instead), so values stay
immutable as in eager mode. If a replay fails midway (an index out of range inside the program), the
exception says that the state may be partly updated.
"""
from __future__ import annotations

import functools
import os
import sys
import sysconfig
import types
import warnings
from collections import OrderedDict, defaultdict
from operator import is_
from sys import getrefcount

from . import dtypes as _dt
from . import lazy as _lazy
from .amp import _state as _amp_state
from .autograd.grad_mode import _enabled as _grad_enabled
from .devices import _default as _default_device, backend_for
from .lazy import LEAF, TRACER, Capture, LazyNode, format_frame, realize
from .tensor import Tensor

__all__ = ["compile", "CompiledFunction", "CompileFallbackWarning"]


class CompileFallbackWarning(UserWarning):
    """``torchlite.compile`` runs a function eagerly from now on; the message says why."""


# -- the walk over the Python state a function can reach ---------------------------------------------------

_LIB_DIRS = tuple(sorted({os.path.abspath(p) + os.sep for k in ("stdlib", "platstdlib", "purelib", "platlib")
                          if (p := sysconfig.get_paths().get(k))}))
_ABSENT = object()          # a global name that is not bound (yet)
_EMPTY_CELL = object()
_user_file: dict[str, bool] = {}
_walkable: dict[type, bool] = {}
_names_of_code: dict = {}


def _is_user_file(filename: str) -> bool:
    """Whether code in ``filename`` is the user's (not torchlite's, the standard library's or a package's)."""
    r = _user_file.get(filename)
    if r is None:
        r = _user_file[filename] = not (filename.startswith("<") or filename.startswith(_LIB_DIRS)
                                        or filename.startswith(tuple(_lazy._internal_prefixes)))
    return r


def _state_classes() -> tuple:
    from .amp import GradScaler
    from .nn.module import Module
    from .ops.random import Generator
    from .optim.lr_scheduler import LRScheduler
    from .optim.optimizer import Optimizer
    return (Module, Optimizer, LRScheduler, GradScaler, Generator)


def _is_walkable(t: type) -> bool:
    """Whether objects of class ``t`` are walked through their ``__dict__``: torchlite's stateful classes
    (modules, optimizers, schedulers, grad scalers, generators) and classes defined in user code."""
    r = _walkable.get(t)
    if r is None:
        if issubclass(t, _state_classes()):
            r = True
        else:
            mod = sys.modules.get(t.__module__)
            f = getattr(mod, "__file__", None)
            r = bool(f) and _is_user_file(os.path.abspath(f))
        _walkable[t] = r
    return r


def _global_names(code) -> tuple:
    """The names ``code`` (and the code nested in it: lambdas, comprehensions) may look up as globals."""
    names = _names_of_code.get(code)
    if names is None:
        seen: dict = {}
        stack = [code]
        while stack:
            c = stack.pop()
            seen.update(dict.fromkeys(c.co_names))
            stack.extend(k for k in c.co_consts if isinstance(k, types.CodeType))
        names = _names_of_code[code] = tuple(seen)
    return names


_SCALAR_TYPES = frozenset({int, float, bool, str, bytes, complex, type(None)})
_CONTAINER_TYPES = frozenset({dict, OrderedDict, defaultdict, list, tuple, set, frozenset})


def _walk(roots: list) -> tuple[list, list, list]:
    """Walk the Python state reachable from ``roots``: returns ``(values, objects, tensors)``.

    ``values`` holds scalars (type and value), dict keys and container lengths, compared with ``==``;
    ``objects`` every other object met, compared by identity; ``tensors`` each tensor once, in the order met.
    The order is deterministic (scalars inline, containers through a stack), and the walk is iterative, so
    deep structures do not hit the recursion limit. This runs on every call: keep it lean.
    """
    values: list = []
    objects: list = []
    tensors: list = []
    seen: set = set()
    stack = list(reversed(roots))
    pop, push, val, obj = stack.pop, stack.append, values.append, objects.append
    scalar_types, empty_types = _SCALAR_TYPES, _CONTAINER_TYPES
    while stack:
        o = pop()
        t = type(o)
        if t in scalar_types:
            val(t)
            val(o)
            continue
        obj(o)
        oid = id(o)
        if oid in seen:
            continue
        seen.add(oid)
        if isinstance(o, dict):
            val(len(o))
            for k, v in o.items():
                if type(k) is str:
                    val(k)
                else:
                    push(k)
                tv = type(v)
                if tv in scalar_types:
                    val(tv)
                    val(v)
                elif tv in empty_types and not v:   # an empty container (hooks, buffers): its type stands for it
                    val(tv)
                else:
                    push(v)
        elif isinstance(o, Tensor):
            tensors.append(o)
            val(o.requires_grad)
        elif t is list or t is tuple:
            val(len(o))
            stack.extend(o)
        elif t is set or t is frozenset:
            val(frozenset(x if type(x) in scalar_types else id(x) for x in o) if o else 0)
        elif t is types.FunctionType:
            code = o.__code__
            if o is roots[0] or _is_user_file(code.co_filename):
                g = o.__globals__
                for name in _global_names(code):
                    push(g.get(name, _ABSENT))
                for c in o.__closure__ or ():
                    try:
                        push(c.cell_contents)
                    except ValueError:
                        push(_EMPTY_CELL)
                push(o.__defaults__)
                push(o.__kwdefaults__)
        elif t is types.MethodType:
            push(o.__func__)
            push(o.__self__)
        elif isinstance(o, (types.ModuleType, type)):
            continue
        else:
            d = getattr(o, "__dict__", None)
            if d is not None and _is_walkable(t):
                push(d)
    return values, objects, tensors


def _tensor_state(tensors: list) -> list:
    """What the state guard compares by identity: each tensor's node, its ``.grad`` and that grad's node."""
    out = []
    for t in tensors:
        g = t.grad
        out.append(t._node)
        out.append(g)
        out.append(None if g is None else g._node)
    return out


def _same(a: list, b: list) -> bool:
    return len(a) == len(b) and all(map(is_, a, b))


# -- arguments and results -----------------------------------------------------------------------------------

def _flatten_args(args: tuple, kwargs: dict) -> tuple[list, tuple, list]:
    """``(tensors, spec, objects)``: the tensor arguments (also inside tuples, lists and dicts), a hashable
    spec of the arguments' structure (tensors by shape, dtype, device, requires_grad; numbers and strings by
    value; other objects by identity), and the other objects (walked as state)."""
    if not kwargs and all(type(a) is Tensor for a in args):     # the common case, quickly
        tensors = list(args)
        return tensors, tuple((Tensor, (n := a._node).shape, n.dtype, n.device, a.requires_grad)
                              for a in args), []
    tensors: list = []
    objects: list = []

    def spec(a):
        if isinstance(a, Tensor):
            tensors.append(a)
            n = a._node
            return (Tensor, n.shape, n.dtype, n.device, a.requires_grad)
        t = type(a)
        if t in _SCALAR_TYPES:
            return (t, a)
        if t is tuple or t is list:
            return (t,) + tuple(spec(x) for x in a)
        if t is dict:
            return (t,) + tuple((k, spec(v)) for k, v in a.items())
        objects.append(a)
        return (object, id(a))

    s = tuple(spec(a) for a in args)
    if kwargs:
        s += (dict,) + tuple((k, spec(v)) for k, v in kwargs.items())
    return tensors, s, objects


class _Out:
    """A returned tensor in a result template: ``index`` into the list of returned tensors."""
    __slots__ = ("index",)

    def __init__(self, index: int):
        self.index = index


def _template(r, outs: list):
    """The structure of ``fn``'s result with each tensor replaced by an ``_Out`` (tensors collected in ``outs``)."""
    if isinstance(r, Tensor):
        outs.append(r)
        return _Out(len(outs) - 1)
    t = type(r)
    if t is tuple or t is list:
        return t(_template(x, outs) for x in r)
    if t is dict:
        return {k: _template(v, outs) for k, v in r.items()}
    if isinstance(r, tuple) and hasattr(r, "_fields"):         # a namedtuple (torchlite.return_types too)
        return t(*(_template(x, outs) for x in r))
    return r


def _fill(template, values: list):
    if type(template) is _Out:
        return values[template.index]
    t = type(template)
    if t is tuple or t is list:
        return t(_fill(x, values) for x in template)
    if t is dict:
        return {k: _fill(v, values) for k, v in template.items()}
    if isinstance(template, tuple) and hasattr(template, "_fields"):
        return t(*(_fill(x, values) for x in template))
    return template


# -- the tracer -------------------------------------------------------------------------------------------

def _validation_codes() -> tuple[frozenset, dict]:
    """Code of torchlite's own checks that read index values only to raise a bounds error (their reads do not
    shape the graph), and those of them that are plain functions a replay can call again on new inputs."""
    import inspect
    from .nn import functional as F
    from .ops import _index_common
    rerun = [_index_common._check_bounds, F._check_targets_in_range]
    codes = frozenset(inspect.unwrap(f).__code__ for f in rerun + [F.embedding])
    return codes, {f.__code__: f for f in rerun}


_VALIDATION: list = [None]
_TENSOR_FILE = sys.modules[Tensor.__module__].__file__


def _random_file() -> str:
    from .ops import random
    return random.__file__


class _Tracer:
    """Installed in ``lazy.TRACER`` while ``fn`` runs: records realized leaves made and host reads."""

    def __init__(self):
        self.leaves: dict[int, tuple] = {}    # id(leaf) -> (leaf, drawn by random sampling?)
        self.data_reads: list = []            # user frames of values read to Python
        self.checks: list = []                # (check function, tensor parameter, other arguments, node read)
        self._random_file = _random_file()

    def on_leaf(self, node: LazyNode) -> None:
        f = sys._getframe(2)
        drawn = False
        for _ in range(8):
            if f is None:
                break
            if f.f_code.co_filename == self._random_file:
                drawn = True
                break
            f = f.f_back
        self.leaves[id(node)] = (node, drawn)

    def on_read(self, tensor: Tensor, node: LazyNode):
        if _VALIDATION[0] is None:
            _VALIDATION[0] = _validation_codes()
        codes, rerun = _VALIDATION[0]
        f = sys._getframe(1)
        for _ in range(4):                  # _value <- numpy/item/__array__ <- (np.asarray) <- caller
            f = f.f_back
            if f is None:
                break
            if f.f_code in codes:
                if f.f_code in rerun and node.value is not None:
                    args = dict(f.f_locals)
                    name = next((k for k, v in args.items() if v is tensor), None)
                    if name is not None:
                        del args[name]
                        self.checks.append((rerun[f.f_code], name, args, node))
                return node.value if node.value is not None else _evaluate(node)
        reader = sys._getframe(2)
        while reader is not None and reader.f_code.co_filename == _TENSOR_FILE:
            reader = reader.f_back
        user = _lazy.user_frame()
        where = format_frame(user)
        if reader is not None and (reader.f_code.co_filename, reader.f_lineno) != user:
            where = f"{format_frame((reader.f_code.co_filename, reader.f_lineno))}, called from {where}"
        self.data_reads.append(where)
        if node.value is None:
            realize([node])
        return node.value


def _evaluate(node: LazyNode):
    """The value of pending ``node`` computed on the side: nothing is realized, the graph stays whole."""
    order, index = _lazy._topo([node])
    leaves, scalars, entries, refs, _ = _lazy._link(order, index)
    key = (tuple(entries), tuple(l.sig for l in leaves), (len(order) - 1,))
    cap = Capture(order, leaves, scalars, [node], refs, key)
    return backend_for(node.device).lookup(cap)(*[l.value for l in leaves], *scalars)[0]


class _NotReplayable(Exception):
    """Why a trace cannot be kept; ``permanent`` if tracing again cannot help."""

    def __init__(self, why: str, permanent: bool):
        super().__init__(why)
        self.permanent = permanent


# -- compiled entries ---------------------------------------------------------------------------------------

def _calibrate_refs() -> tuple[int, int]:
    """What ``getrefcount`` reports, in ``_Entry.run``'s donation check, for a state node held only by its
    tensor and the ``state`` list, and for its array held only by the node and ``args``: this interpreter's
    counts (they differ across Python versions), measured the way ``run`` measures them."""
    import numpy as np
    holder, state, args = types.SimpleNamespace(), [None], [None]
    n = LazyNode.__new__(LazyNode)
    n.value = np.empty(1)
    holder._node = state[0] = n
    args[0] = n.value
    del n
    for k in (0,):
        n = state[k]
        a = n.value
        counts = getrefcount(n), getrefcount(a)
    return counts



_NODE, _GRAD_NEW, _GRAD_SAME, _GRAD_NONE = range(4)
_CLEAN_REFS = _calibrate_refs()


class _Entry:
    """One kept trace: the program, where its inputs come from, and what its outputs rebind."""

    __slots__ = ("values", "objects", "tensors", "program", "scalars", "inputs", "const", "out_meta",
                 "writes", "template", "returns", "single", "aliases", "n_state", "donate", "copies", "checks")

    def __init__(self):
        self.copies = 0

    def run(self, inputs: list, state: list):
        """Replay on ``inputs`` (the call's tensor arguments) and ``state`` (``_tensor_state`` of the state
        tensors, updated here to what the run leaves); returns the result."""
        args = self.const[:]
        for j, kind, k in self.inputs:
            if kind == 0:                                   # a tensor argument
                args[j] = inputs[k]._node.value
            else:                                           # a state node, as the guard saw it
                args[j] = state[k].value
        node_refs, array_refs = _CLEAN_REFS
        donated = False
        for j, k in self.donate:
            # Donate the buffer of a state node the step replaces only if nothing else can see it: the node is
            # held by its tensor and ``state`` only, the array by the node and ``args`` only (``_CLEAN_REFS``).
            # Otherwise (a view of it, ``p.numpy()`` kept by the user) the program gets a copy.
            n = state[k]
            a = n.value
            if getrefcount(n) > node_refs or getrefcount(a) > array_refs:
                args[j] = a.copy()
                self.copies += 1
            else:
                donated = True
            n = a = None
        try:
            outs = self.program(*args, *self.scalars)
        except Exception as e:
            if donated and hasattr(e, "add_note"):
                e.add_note("torchlite.compile: the replay stopped after it may have begun writing new values into "
                           "the buffers of the state it updates (parameters, optimizer state); reload that state "
                           "before training on")
            raise
        leaf = LazyNode.__new__
        nodes = []
        for v, (shape, dtype, device, frame) in zip(outs, self.out_meta):
            n = leaf(LazyNode)
            n.op, n.srcs, n.params, n.shape, n.dtype, n.device = None, (), (), shape, dtype, device
            n.frame, n.value, n.sig = frame, v, (LEAF, shape, dtype, device)
            nodes.append(n)
        for kind, k in self.aliases:                        # values handed back as they were read
            nodes.append(inputs[k]._node if kind == 0 else state[k])
        tensors, n_state = self.tensors, self.n_state
        for kind, owner, pos, src in self.writes:
            n = nodes[src]
            t = tensors[owner] if owner < n_state else inputs[owner - n_state]
            if kind == _NODE:
                t._node = n
                t._version += 1
                if owner < n_state:
                    state[pos] = n
            elif kind == _GRAD_NEW:
                g = Tensor.__new__(Tensor)
                g._node = n
                t.grad = g
                if owner < n_state:
                    state[pos + 1] = g
                    state[pos + 2] = n
            elif kind == _GRAD_SAME:
                g = t.grad
                g._node = n
                g._version += 1
                if owner < n_state:
                    state[pos + 2] = n
            else:
                t.grad = None
        if self.single is not None:
            return _wrap_out(self.single, nodes, self, inputs)
        return _fill(self.template, [_wrap_out(r, nodes, self, inputs) for r in self.returns])


def _wrap_out(r, nodes: list, e: _Entry, inputs: list):
    """A returned value: a fresh tensor over ``nodes[r]``, or the state/input tensor ``fn`` returned."""
    if type(r) is int:
        t = Tensor.__new__(Tensor)
        t._node = nodes[r]
        return t
    kind, k = r
    return e.tensors[k] if kind == "state" else inputs[k]


# -- compile ------------------------------------------------------------------------------------------------

def _name(fn) -> str:
    return getattr(fn, "__qualname__", None) or type(fn).__qualname__


class _Eager:
    """An input signature that runs eagerly, and why."""
    __slots__ = ("reason",)

    def __init__(self, reason: str):
        self.reason = reason


class CompiledFunction:
    """``fn`` traced once per input signature and replayed (see the module docstring for the guards).

    ``traces``/``replays`` count calls of each kind; ``eager_reason`` is why a signature last fell back to
    eager mode (None if none did); ``program`` is the numpy program of the latest kept trace (print
    ``.source``).
    """

    max_entries = 8

    def __init__(self, fn):
        if not callable(fn):
            raise TypeError(f"torchlite.compile expects a callable, got {type(fn).__name__}")
        self.fn = fn
        self.traces = 0
        self.replays = 0
        self.eager_reason: str | None = None
        self.program = None
        self._entries: OrderedDict = OrderedDict()      # signature -> _Entry | _Eager
        self._misses: dict = {}                         # signature -> traces in a row that could not be kept
        self._warned: set = set()
        self._state: list | None = None                 # the state tensors as the last call left them
        functools.update_wrapper(self, fn, updated=())

    def __repr__(self) -> str:
        name = _name(self.fn)
        n_eager = sum(type(e) is _Eager for e in self._entries.values())
        mode = f"{len(self._entries) - n_eager} program(s)" + (f", {n_eager} eager" if n_eager else "")
        return f"<torchlite.compile({name}): {mode}, {self.traces} traces, {self.replays} replays>"

    def __get__(self, obj, objtype=None):
        return self if obj is None else types.MethodType(self, obj)

    def __call__(self, *args, **kwargs):
        if TRACER[0] is not None:                       # inside another function's trace: part of it
            return self.fn(*args, **kwargs)
        inputs, spec, objects = _flatten_args(args, kwargs)
        if len(inputs) > 1 and len({id(t._node) for t in inputs}) < len(inputs):
            spec += (tuple(next(i for i, u in enumerate(inputs) if u._node is t._node) for t in inputs),)
        amp = _amp_state[0]
        key = (spec, _grad_enabled[0], None if amp is None else tuple(sorted(amp.items())),
               _dt._default[0], _default_device[0])
        e = self._entries.get(key)
        if e is not None:
            if type(e) is _Eager:
                self._state = None
                return self.fn(*args, **kwargs)
            values, objs, tensors = _walk([self.fn, *objects])
            state = _tensor_state(tensors)
            if values == e.values and _same(objs, e.objects) and self._state is not None \
                    and _same(state, self._state):
                pending = [n for t in inputs if (n := t.node).value is None]
                if pending:
                    realize(pending)
                for check, name, kw, k in e.checks:     # bounds checks on the new arguments, as eager runs them
                    check(**kw, **{name: inputs[k]})
                self.replays += 1
                self._state = None                      # until the run below has finished
                out = e.run(inputs, state)
                self._state = state
                return out
        self._state = None
        return self._trace(args, kwargs, inputs, key, objects)

    # -- tracing ----------------------------------------------------------------------------------------
    def _trace(self, args, kwargs, inputs, key, objects):
        self.traces += 1
        roots = [self.fn, *objects]
        values0, objs0, tensors0 = _walk(roots)
        # State and inputs that are still pending are computed first: the trace reads realized values only.
        pending = [t.node for t in tensors0 + inputs if t.node.value is None]
        pending += [t.grad.node for t in tensors0 if t.grad is not None and t.grad.node.value is None]
        if pending:
            realize(pending)
        state0 = _tensor_state(tensors0)
        inputs0 = [(t._node, t.grad, None if t.grad is None else t.grad._node) for t in inputs]
        tracer = _Tracer()
        TRACER[0] = tracer
        try:
            result = self.fn(*args, **kwargs)
        finally:
            TRACER[0] = None
        try:
            entry, value = self._keep(tracer, result, roots, values0, objs0, tensors0, state0, inputs, inputs0)
        except _NotReplayable as e:
            misses = self._misses[key] = self._misses.get(key, 0) + 1
            if e.permanent or misses >= 3:
                self._store(key, _Eager(str(e)))
                self._give_up(str(e))
            return result
        self._misses.pop(key, None)
        self._store(key, entry)
        self._state = _tensor_state(entry.tensors)
        return value

    def _store(self, key, entry) -> None:
        self._entries[key] = entry
        self._entries.move_to_end(key)
        if len(self._entries) > self.max_entries:
            self._misses.pop(next(iter(self._entries)), None)
            self._entries.popitem(last=False)

    def _give_up(self, why: str) -> None:
        self.eager_reason = why
        if why in self._warned:
            return
        self._warned.add(why)
        name = _name(self.fn)
        warnings.warn(f"torchlite.compile({name}) runs eagerly for these inputs from now on: {why}",
                      CompileFallbackWarning, stacklevel=4)

    def _keep(self, tracer, result, roots, values0, objs0, tensors0, state0, inputs, inputs0):
        """Turn a finished trace into an entry (and realize it), or raise _NotReplayable."""
        if tracer.data_reads:
            where = tracer.data_reads[0]
            raise _NotReplayable(f"it reads a tensor's value into Python at {where} (.item(), .tolist(), bool(), "
                                 "print...), so the Python after it depends on data; return the tensor instead "
                                 "(Adam/AdamW: pass capturable=True)", True)
        outs: list = []
        template = _template(result, outs)
        for t in outs:
            fn_ = t._grad_fn
            if t.requires_grad and fn_ is not None and fn_.saved is not None:
                raise _NotReplayable("it returns a tensor that still has an autograd graph; compile whole "
                                     "training steps (call backward inside) or return a detached tensor", True)
        values1, objs1, tensors1 = _walk(roots)
        if values1 != values0 or not _same(objs1, objs0):
            raise _NotReplayable("the Python state it reads changes on every call (" +
                                 _first_difference(roots, values0, values1, objs0, objs1) + ")", False)
        n_state = len(tensors0)
        owners = tensors0 + inputs
        before = [(state0[3 * k], state0[3 * k + 1], state0[3 * k + 2]) for k in range(n_state)] + inputs0

        # Where each realized value the trace read comes from: a tensor argument, or a state node.
        sources: dict[int, tuple] = {}
        for k, (node, _, _) in enumerate(inputs0):
            sources.setdefault(id(node), (0, k, node))
        for i in range(n_state):
            node, gnode = state0[3 * i], state0[3 * i + 2]
            for pos, n in ((3 * i, node), (3 * i + 2, gnode)):
                if n is None:
                    continue
                if sources.get(id(n), (1,))[0] == 0:
                    raise _NotReplayable("a tensor argument is also state it reaches through its closure or "
                                         "globals; pass it one way only", True)
                sources.setdefault(id(n), (1, pos, n))

        # What fn rebound: tensor nodes and .grad bindings.
        writes = []                         # (kind, owner, state position, final node)
        for o, t in enumerate(owners):
            node0, g0, gnode0 = before[o]
            pos = 3 * o if o < n_state else -1
            if t._node is not node0:
                if t._base is not None or t._grad_fn is not None:
                    raise _NotReplayable("it rebinds a tensor that is a view or has an autograd history "
                                         f"({_where(t._node)})", True)
                writes.append((_NODE, o, pos, t._node))
            g = t.grad
            if g is not g0:
                if g is None:
                    writes.append((_GRAD_NONE, o, pos, None))
                else:
                    # backward leaves ``g.detach()``: a view of a temporary, which a replay makes a plain tensor
                    if g.requires_grad or any(g._base is u for u in owners):
                        raise _NotReplayable("it leaves a .grad that requires grad or is a view of other state "
                                             f"({_where(g._node)})", True)
                    if g._base is not None:         # what a replay will leave there: a plain tensor
                        g = t.grad = Tensor._wrap(g._node)
                    writes.append((_GRAD_NEW, o, pos, g._node))
            elif g is not None and g._node is not gnode0:
                if g.requires_grad or any(g._base is u for u in owners):
                    raise _NotReplayable("it leaves a .grad that requires grad or is a view of other state "
                                         f"({_where(g._node)})", True)
                writes.append((_GRAD_SAME, o, pos, g._node))

        returns_at = {id(t): ("state", k) for k, t in enumerate(tensors0)}
        returns_at.update({id(t): ("input", k) for k, t in enumerate(inputs)})
        roots_out: list = []                # nodes the program must compute, in order, once each
        at: dict[int, int] = {}
        passthrough: list = []              # (kind, k) of realized values handed back as they are

        def want(node) -> int:
            if node.value is not None:
                src = sources.get(id(node))
                if src is None:
                    raise _NotReplayable(_unknown_leaf(node, tracer), True)
                passthrough.append((src[0], src[1]))
                return ~(len(passthrough) - 1)
            i = at.get(id(node))
            if i is None:
                i = at[id(node)] = len(roots_out)
                roots_out.append(node)
            return i

        returns = [returns_at.get(id(t)) or want(t.node) for t in outs]
        writes = [(kind, o, pos, want(n) if n is not None else 0) for kind, o, pos, n in writes]
        # The old values of state the step rebinds die with it: the program may write into their buffers.
        dying = {pos for kind, o, pos, _ in writes if kind == _NODE and o < n_state}
        cap, const, input_srcs = _capture(roots_out, sources, tracer, _explained_refs(outs), dying)
        entry = _Entry()
        entry.values, entry.objects, entry.tensors, entry.n_state = values1, objs1, tensors0, n_state
        entry.scalars = tuple(cap.scalars)
        entry.const = const
        # Bounds checks that read a tensor argument run again on each replay's argument (cheap, and bad
        # targets or indices then fail as they do eagerly instead of reading out of range).
        entry.checks = [(fn, name, args, sources[id(node)][1]) for fn, name, args, node in tracer.checks
                        if sources.get(id(node), (1,))[0] == 0]
        entry.inputs = input_srcs
        entry.template = template
        entry.aliases = passthrough
        entry.donate = [(j, k) for j, kind, k in input_srcs if j in cap.donate]
        if cap.nodes:
            program = backend_for(cap.device).lookup(cap)
            # (this first run hands the program copies of what it may overwrite: the trace still holds them)
            values = program(*[l.value.copy() if j in cap.donate else l.value for j, l in enumerate(cap.leaves)],
                             *cap.scalars)
            for n, v in zip(cap.outputs, values):
                n.value, n.srcs, n.sig = v, (), (LEAF, n.shape, n.dtype, n.device)
            self.program = entry.program = program
        else:
            entry.program = lambda: ()
        entry.out_meta = [(n.shape, n.dtype, n.device, n.frame) for n in cap.outputs]
        n_out = len(cap.outputs)                # passthrough values follow the program's outputs
        entry.writes = [(kind, o, pos, src if src >= 0 else n_out + ~src) for kind, o, pos, src in writes]
        entry.returns = [r if type(r) is not int or r >= 0 else n_out + ~r for r in returns]
        entry.single = entry.returns[0] if type(template) is _Out else None
        nodes = list(cap.outputs) + [inputs0[k][0] if kind == 0 else state0[k] for kind, k in passthrough]
        value = entry_result(entry, nodes, inputs)
        return entry, value


def entry_result(entry: _Entry, nodes: list, inputs: list):
    """The trace's own result, built the way a replay builds it (fresh tensors over the computed nodes)."""
    if entry.single is not None:
        return _wrap_out(entry.single, nodes, entry, inputs)
    return _fill(entry.template, [_wrap_out(r, nodes, entry, inputs) for r in entry.returns])


def _explained_refs(outs: list) -> dict[int, int]:
    """References to pending nodes held by the returned tensors' autograd records and view bases (they
    die with the eager result, which a kept trace does not hand back)."""
    from .autograd.engine import _order
    counts: dict[int, int] = {}
    fns = [u._grad_fn for t in outs for u in (t, t._base) if u is not None and u._grad_fn is not None]
    for f in _order(fns):
        counts[id(f.out)] = counts.get(id(f.out), 0) + 1
    for t in outs:
        if t._base is not None:
            counts[id(t._base._node)] = counts.get(id(t._base._node), 0) + 1
    return counts


def _capture(roots: list, sources: dict, tracer: _Tracer, explained: dict[int, int], dying: set):
    """The Capture computing exactly ``roots`` (in that order), the constant program inputs, and where the
    other inputs come from; raises _NotReplayable for an input that cannot be accounted for or a computed
    value that something outside the trace still holds."""
    order, index = _lazy._topo(roots)
    leaves, scalars, entries, refs, uses = _lazy._link(order, index)
    const: list = []
    input_srcs: list = []
    for j, l in enumerate(leaves):
        src = sources.get(id(l))
        if src is not None:
            input_srcs.append((j, src[0], src[1]))
            const.append(None)
        else:
            made = tracer.leaves.get(id(l))
            if made is None or made[1]:
                raise _NotReplayable(_unknown_leaf(l, tracer), True)
            const.append(l.value)              # made from Python data inside fn: a constant of the trace
    # Escapes: a pending node that something besides its consumers here (and our own lists) still holds,
    # that fn did not return or store in state we found. A replay would leave it stale.
    wanted = {id(r) for r in roots}
    getrefcount = sys.getrefcount
    for i in range(len(order)):           # no loop variable: it would hold a reference itself
        if id(order[i]) not in wanted and getrefcount(order[i]) - 2 - explained.get(id(order[i]), 0) > uses[i]:
            n = order[i]
            raise _NotReplayable(f"it keeps a computed tensor where torchlite.compile does not look "
                                 f"({_where(n)}): pass that state as an argument or keep it reachable from "
                                 "fn's closure or globals", False)
    out_idx = [index[id(r)] for r in roots]
    donate = tuple(j for j, kind, k in input_srcs if kind == 1 and k in dying
                   and leaves[j].device.type == "cpu")          # numpy buffers (a copy is cheap to make)
    key = (tuple(entries), tuple(l.sig for l in leaves), tuple(out_idx), ("donate",) + donate)
    return Capture(order, leaves, scalars, list(roots), refs, key, donate), const, input_srcs


def _where(node: LazyNode) -> str:
    return "made at " + format_frame(node.frame) if node.frame else "made by torchlite"


def _unknown_leaf(leaf: LazyNode, tracer: _Tracer) -> str:
    made = tracer.leaves.get(id(leaf))
    if made is not None and made[1]:
        return (f"it draws random numbers ({_where(leaf)}); sampling is eager, so a replay would reuse the "
                "numbers drawn while tracing")
    return (f"it reads a tensor that is neither an argument nor reachable from its closure or globals "
            f"({_where(leaf)}); pass it as an argument")


def _first_difference(roots, values0, values1, objs0, objs1) -> str:
    for a, b in zip(values0, values1):
        if a != b:
            return f"{a!r} became {b!r}"
    if len(values0) != len(values1):
        return "a container changed length"
    return "an object it reads was replaced"


def compile(fn=None):
    """Trace ``fn`` once per input signature and replay it as one numpy program (guards: module docstring).

        >>> import torchlite as tl
        >>> f = tl.compile(lambda x: (x * 2).sum())
        >>> f(tl.ones(3)).item(), f(tl.ones(3)).item(), f.replays
        (6.0, 6.0, 1)
    """
    if fn is None:
        return compile
    return CompiledFunction(fn)
