"""Simplify: algebraic identities and constant folding on the primitive graph (a prims pass after decompose).

Every rewrite is exact: the graph's outputs keep their values bit for bit (NaN, infinities and the sign of
zero included), their dtypes and their shapes. So ``x * 1``, ``x / 1``, ``x - 0``, ``x + (-0.0)`` and
``x ** 1`` become ``x``, but a float ``x + 0.0`` stays (``-0.0 + 0.0`` is ``+0.0``) and ``x * 0`` stays
(``inf * 0`` is NaN). Casts to a value's own dtype, reshapes and expands to its own shape and identity
permutes disappear; a permute of a permute and a reshape of a reshape become one; ``neg(neg(x))`` is ``x``.

Constant folding works on what is constant in the graph's *structure*: literals a decomposition wrote and
``full`` nodes filled with them. Python scalars of the user's code are placeholders (``s0, s1``: runtime
arguments), so one compiled program serves every value of them; they are never folded. A pointwise op whose
inputs are all such constants becomes one ``full`` of its value, computed by the op's own numpy kernel, and a
movement op of a constant ``full`` is a ``full`` of the new shape.

Backward graphs are where this fires most: VJP rules cast to the dtype a gradient already has, expand to the
shape it already has and transpose transposes.

    >>> from torchlite.compiler.simplify import simplify
    >>> simplify.__name__
    'simplify'
"""
from __future__ import annotations

import numpy as np

from .lowering import is_node, shape_of

_MOVEMENT = ("reshape", "expand", "permute")


def _literal(a) -> bool:
    return isinstance(a, (bool, int, float)) and not is_node(a)


def _is(a, value) -> bool:
    """``a`` is the constant ``value``: a literal, or a ``full`` filled with one (``1`` matches ``1``, ``1.0``
    and ``True``; ``-0.0`` only ``-0.0``)."""
    c = _constant(a)
    if c is None or c[0] != value:
        return False
    if value == 0 and (isinstance(c[0], float) or isinstance(value, float)):
        return bool(np.signbit(float(c[0])) == np.signbit(float(value)))
    return True


def _same(n, x) -> bool:
    """``x`` can stand for ``n``: same dtype and shape (an identity must not promote or broadcast)."""
    return is_node(x) and x.meta.get("dtype") is n.meta["dtype"] and "shape" in x.meta \
        and tuple(shape_of(x)) == tuple(shape_of(n))


def _identity(n):
    """What ``n`` equals when it is an identity of one of its inputs, else None."""
    name, args, kw = n.target.name, n.args, n.kwargs
    x = args[0] if args else None
    if name == "cast" or name in _MOVEMENT:
        if name == "permute" and tuple(kw["dims"]) != tuple(range(len(kw["dims"]))):
            return None
        return x if _same(n, x) else None
    if name == "neg" and is_node(x) and x.op == "call_function" and x.target.name == "neg":
        return x.args[0] if _same(n, x.args[0]) else None
    if len(args) != 2:
        return None
    a, b = args
    floats = n.meta["dtype"].is_floating_point
    if name == "mul":
        for one, other in ((b, a), (a, b)):
            if _is(one, 1) and _same(n, other):
                return other
    elif name in ("div", "pow") and _is(b, 1) and _same(n, a):
        return a
    elif name == "sub" and _is(b, 0) and _same(n, a):
        return a                                    # x - 0 is x for every x, -0.0 included
    elif name == "add":
        for zero, other in ((b, a), (a, b)):
            # -0.0 is the additive identity of floats (x + 0.0 turns -0.0 into +0.0); any zero of integers
            if (_is(zero, -0.0) if floats else _is(zero, 0)) and _same(n, other):
                return other
    return None


def _constant(a):
    """``(value,)`` when ``a`` is a compile-time constant: a literal, or a ``full`` filled with one."""
    if _literal(a):
        return (a,)
    if is_node(a) and a.op == "call_function" and a.target.name == "full" and _literal(a.args[0]):
        return (np.asarray(a.args[0], dtype=a.meta["dtype"].np).item(),)      # full(0, float32) is +0.0
    return None


def _fold(graph, n):
    """A ``full`` node equal to ``n`` when all its inputs are constants (see the module docstring), else None."""
    kind, name = n.target.kind, n.target.name
    if not (kind == "pointwise" or name in _MOVEMENT or name == "cast"):
        return None
    consts = [_constant(a) for a in n.args]
    if not n.args or any(c is None for c in consts) or not any(is_node(a) for a in n.args):
        return None
    dtype = n.meta["dtype"]
    if dtype.name == "bfloat16" or any(is_node(a) and a.meta["dtype"].name == "bfloat16" for a in n.args):
        return None                                 # keep bf16 rounding where the kernels do it
    if name in _MOVEMENT:
        value = consts[0][0]
    else:
        srcs = [np.asarray(c[0], dtype=a.meta["dtype"].np) if is_node(a) else c[0] for a, c in zip(n.args, consts)]
        with np.errstate(all="ignore"):
            r = np.asarray(n.target.numpy(*srcs, **n.kwargs, dtype=dtype.np), dtype=dtype.np)
        if r.shape != ():
            return None
        value = r.item()
        if np.asarray(value, dtype=dtype.np).tobytes() != r.tobytes():
            return None                             # the Python value would not round-trip (a NaN payload)
    from torchlite.ops.registry import REGISTRY
    full = REGISTRY["full"]
    with graph.inserting_before(n):
        f = graph.call_function(full, (value,), {"shape": tuple(shape_of(n)), "dtype_": dtype,
                                                 "device": n.meta.get("device")})
    f.meta.update({k: v for k, v in n.meta.items() if k in ("shape", "dtype", "device", "stack_frame", "origin")})
    return f


def _compose(graph, n):
    """One permute for a permute of a permute; one reshape for a reshape of a reshape."""
    name, x = n.target.name, n.args[0] if n.args else None
    if name not in ("permute", "reshape") or not (is_node(x) and x.op == "call_function" and x.target.name == name) \
            or len(x.users) != 1:
        return None
    if name == "permute":
        inner, outer = x.kwargs["dims"], n.kwargs["dims"]
        kwargs = {"dims": tuple(inner[d] for d in outer)}
    else:
        kwargs = dict(n.kwargs)
    with graph.inserting_before(n):
        m = graph.call_function(n.target, (x.args[0],), kwargs)
    m.meta.update(n.meta)
    return m


def simplify(graph):
    """Apply the identities and folds above until none applies (see the module docstring)."""
    from .passes import rewrite

    def replacement(n):
        if not hasattr(n.target, "kind") or not n.users:
            return None
        # An output stays its own node: returning an input (or another output) would make two tensors
        # share one buffer, and an in-place update of one would change the other.
        output = any(u.op == "output" for u in n.users)
        return (None if output else _identity(n)) or _fold(graph, n) or _compose(graph, n)
    return rewrite(graph, replacement)
