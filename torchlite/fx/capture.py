"""Capture: the pending lazy subgraph behind some tensors, as an ``fx.Graph`` of op-level nodes.

Realized buffers the subgraph reads become placeholders ``x0, x1, ...`` and Python scalars become
placeholders ``s0, s1, ...`` (they are arguments, never constants, so new values reuse the program).
Each call_function node's target is the registry op (printing as ``torchlite.ops.<name>``), its kwargs
are the op's params, and its ``meta`` holds shape, dtype, device and the user's ``stack_frame``.

    >>> import torchlite as tl
    >>> gm = tl.fx.capture(tl.ones(2, 3).exp() * 2.0)
    >>> print(gm.code)                                          # doctest: +SKIP
"""
from __future__ import annotations

from .graph import Graph
from .graph_module import GraphModule


def to_graph(cap) -> Graph:
    """The fx.Graph of a ``lazy.Capture``; its placeholders are the program's parameters, in order."""
    from ..lazy import format_frame
    g = Graph()
    leaves = []
    for i, leaf in enumerate(cap.leaves):
        ph = g.placeholder(f"x{i}")
        ph.meta.update(shape=leaf.shape, dtype=leaf.dtype, device=leaf.device)
        if i in cap.donate:
            ph.meta["donate"] = True                # the caller hands this buffer over (torchlite.compile)
        leaves.append(ph)
    scalars = []
    for i, s in enumerate(cap.scalars):
        ph = g.placeholder(f"s{i}")
        ph.meta["scalar"] = type(s).__name__
        scalars.append(ph)
    env: list = []
    si = 0
    for n, refs in zip(cap.nodes, cap.refs):
        args = []
        for r in refs:
            if r is None:
                args.append(scalars[si])
                si += 1
            else:
                args.append(leaves[~r] if r < 0 else env[r])
        node = g.call_function(n.op, tuple(args), dict(zip(n.op.params, n.params)))
        node.meta.update(shape=n.shape, dtype=n.dtype, device=n.device)
        if n.frame is not None:
            node.meta["stack_frame"] = format_frame(n.frame)
        env.append(node)
    index = {id(n): i for i, n in enumerate(cap.nodes)}
    g.output(tuple(env[index[id(o)]] for o in cap.outputs))
    return g


def capture(*tensors) -> GraphModule:
    """The pending graph behind ``tensors`` as a GraphModule, without running it.

    The module's ``example_inputs`` are the realized tensors and scalars it reads (call it with them to
    rebuild the same lazy tensors), and ``program`` is the cpu backend's compiled numpy program for it.
    """
    from ..lazy import capture as lazy_capture
    from ..devices import backend_for
    from ..tensor import Tensor
    nodes = [t.node for t in tensors]
    cap = lazy_capture(nodes)
    if not cap.nodes:
        raise ValueError("capture: these tensors are already realized; there is no pending graph")
    gm = GraphModule({}, to_graph(cap))
    gm.example_inputs = [Tensor._wrap(l) for l in cap.leaves] + list(cap.scalars)
    gm.program = backend_for(cap.device).lookup(cap)
    return gm
