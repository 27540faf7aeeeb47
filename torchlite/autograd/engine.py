"""The backward engine: reverse-mode differentiation as a lazy graph transform (DESIGN.md decision 6).

When grad mode is on and an op reads a tensor that requires grad, ``apply`` records a ``GradFn`` on the
result: the op, its params, the input values it consumed (as tensors over the very nodes it read, so later
in-place writes cannot change them), the output node, and where each input's gradient goes next (the
input's own ``GradFn``, or the leaf tensor whose ``.grad`` accumulates it). ``backward`` walks those
records from the output, applying each op's VJP rule from the registry. VJP rules are ordinary tensor
code, so the gradients are lazy nodes too: backward fuses with forward and with the optimizer step.

    >>> import torchlite as tl
    >>> x = tl.tensor([1.0, 2.0], requires_grad=True)
    >>> (x * x).sum().backward(); x.grad.tolist()
    [2.0, 4.0]
"""
from __future__ import annotations

from .grad_mode import _enabled, enable_grad, no_grad


class GradFn:
    """How to send a gradient back through one recorded op (``tensor.grad_fn``)."""

    __slots__ = ("op", "params", "saved", "next", "out", "__weakref__")

    def __init__(self, op, params: tuple, saved: tuple, next_: tuple, out):
        self.op = op                # the OpDef
        self.params = params
        self.saved = saved          # per source: a Tensor over the node the op read, or the Python scalar
        self.next = next_           # per source: GradFn, leaf Tensor (accumulates .grad), or None
        self.out = out              # the output LazyNode

    def name(self) -> str:
        return f"{''.join(w.capitalize() for w in self.op.name.split('_'))}Backward"

    def __repr__(self) -> str:
        return f"<{self.name()}>"


def record(t, op, args: tuple, params: tuple) -> None:
    """Make ``t`` (just built by ``op`` over ``args``) differentiable if an input requires grad."""
    if not t._node.dtype.is_floating_point:
        return
    saved, next_ = saved_and_edges(args)
    t.requires_grad = True
    t._grad_fn = GradFn(op, params, saved, next_, t._node)


def saved_and_edges(args: tuple) -> tuple[tuple, tuple]:
    """Per source of an op: the value it read (a Tensor over that very node, or the Python scalar), and where
    its gradient goes (see ``_edge``; None for scalars)."""
    from ..tensor import Tensor
    saved, next_ = [], []
    for a in args:
        if isinstance(a, Tensor):
            saved.append(Tensor._wrap(a.node))
            next_.append(_edge(a))
        else:
            saved.append(a)
            next_.append(None)
    return tuple(saved), tuple(next_)


def _edge(a):
    """Where the gradient for tensor ``a`` goes: its GradFn, itself if it is a leaf that requires grad."""
    a.node                                          # a view re-derives its value (and backward) after base writes
    if not a.requires_grad:
        return None
    return a._grad_fn if a._grad_fn is not None else a


def _order(roots: list) -> list:
    """GradFns reachable from ``roots``, each after every GradFn that sends it a gradient (iterative)."""
    seen, post = set(), []
    for root in roots:
        if root is None or id(root) in seen:
            continue
        stack = [(root, False)]
        while stack:
            fn, expanded = stack.pop()
            if expanded:
                post.append(fn)
                continue
            if id(fn) in seen:
                continue
            seen.add(id(fn))
            stack.append((fn, True))
            for nxt in fn.next:
                if isinstance(nxt, GradFn) and id(nxt) not in seen:
                    stack.append((nxt, False))
    post.reverse()
    return post


def _tracked_tensor(node, grad_fn):
    from ..tensor import Tensor
    t = Tensor._wrap(node)
    t.requires_grad, t._grad_fn = True, grad_fn
    return t


def _tracked(fn: GradFn) -> tuple:
    """``fn``'s saved inputs as tensors that carry their own backward, so that a VJP computed with
    ``create_graph=True`` is itself differentiable (higher-order gradients)."""
    from ..lazy import op_error
    out = []
    for s, nxt in zip(fn.saved, fn.next):
        if isinstance(nxt, GradFn):
            out.append(_tracked_tensor(s.node, nxt))
        elif nxt is not None:                       # a leaf that requires grad: differentiate through it
            if nxt.node is not s.node:
                raise op_error(RuntimeError, "backward", "one of the variables needed for gradient computation "
                               "has been modified by an inplace operation")
            out.append(nxt)
        else:
            out.append(s)
    return tuple(out)


def _sum_to(g, shape: tuple):
    """Sum a broadcast gradient back to ``shape``."""
    if tuple(g.shape) == tuple(shape):
        return g
    lead = g.ndim - len(shape)
    dims = tuple(range(lead)) + tuple(lead + i for i, s in enumerate(shape) if s == 1 and g.shape[lead + i] != 1)
    if dims:
        g = g.sum(dim=dims, keepdim=True)
    return g.reshape(shape)


def run_backward(outputs: list, grad_outputs: list, *, inputs=None, retain_graph: bool = False,
                 create_graph: bool = False, allow_unused: bool = False):
    """Propagate ``grad_outputs`` from ``outputs`` back to leaves (``inputs=None``: accumulate into ``.grad``)
    or to the given ``inputs`` (return their gradients)."""
    from ..lazy import op_error
    grads: dict = {}
    wanted = None
    if inputs is not None:
        wanted = {}
        for i, t in enumerate(inputs):
            t.node
            wanted[id(t._grad_fn if t._grad_fn is not None else t)] = i
    results = [None] * (len(inputs) if inputs is not None else 0)
    roots = []

    def send(target, g):
        key = id(target)
        if wanted is not None and key in wanted:
            i = wanted[key]
            results[i] = g if results[i] is None else results[i] + g
            if not isinstance(target, GradFn):
                return
        if isinstance(target, GradFn):
            grads[key] = g if key not in grads else grads[key] + g
        elif wanted is None:
            g = g if create_graph else g.detach()
            target.grad = g if target.grad is None else target.grad + g

    for out, g in zip(outputs, grad_outputs):
        out.node                                    # refresh a view whose base was written since
        if not out.requires_grad:
            raise op_error(RuntimeError, "backward", "element 0 of tensors does not require grad and does not "
                           "have a grad_fn")
        send(_edge(out), g)
        roots.append(out._grad_fn)

    mode = enable_grad() if create_graph else no_grad()
    from ..amp import _state as amp_state
    amp_saved, amp_state[0] = amp_state[0], None      # backward runs outside autocast, as in PyTorch
    try:
        _propagate(roots, grads, send, create_graph, retain_graph, mode)
    finally:
        amp_state[0] = amp_saved
    if inputs is not None:
        for i, r in enumerate(results):
            if r is None and not allow_unused:
                raise op_error(RuntimeError, "grad", f"One of the differentiated Tensors (input {i}) appears to not "
                               "have been used in the graph. Set allow_unused=True if this is the desired behavior.")
        return tuple(results)
    return None


def _propagate(roots, grads, send, create_graph, retain_graph, mode) -> None:
    """Apply VJP rules from the outputs back, in reverse topological order."""
    from ..lazy import op_error
    from ..tensor import Tensor
    with mode:
        for fn in _order(roots):
            g = grads.pop(id(fn), None)
            if g is None:
                continue
            if fn.saved is None:
                raise op_error(RuntimeError, "backward", "Trying to backward through the graph a second time (or "
                               "directly access saved tensors after they have already been freed). Specify "
                               "retain_graph=True if you need to backward through the graph a second time.")
            if fn.op.vjp is None:
                raise op_error(NotImplementedError, "backward", f"the op {fn.op.name!r} has no VJP rule yet")
            saved, out = fn.saved, Tensor._wrap(fn.out)
            if create_graph:
                saved, out = _tracked(fn), _tracked_tensor(fn.out, fn)
            in_grads = fn.op.vjp(g, out, *saved, *fn.params)
            for nxt, s, gi in zip(fn.next, fn.saved, in_grads):
                if nxt is None or gi is None:
                    continue
                if tuple(gi.shape) != tuple(s.shape):
                    gi = _sum_to(gi, tuple(s.shape))
                if gi.dtype is not s.dtype:
                    gi = gi.to(s.dtype)
                send(nxt, gi)
            if not retain_graph:
                fn.saved = None


__all__ = ["GradFn", "record", "run_backward", "_enabled"]
