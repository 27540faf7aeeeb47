"""``explain(fn, *args)``: what compiling ``fn`` produces, stage by stage, without running a kernel.

The report holds the graph after every stage (as Python), every fusion decision with its reason, each
kernel (name, kind, Triton source, fused nodes, user lines, launch configuration, estimated bytes moved and
FLOPs), the launch program, and the ideal traffic (every graph input read once, every output written once)
that ``bytes_moved`` is measured against. The kernel CLI is built on it.

    >>> import torchlite as tl
    >>> r = explain(lambda x: (x * 2.0).relu().sum(-1), tl.ones(4, 8))
    >>> [k.name for k in r.kernels]
    ['red_full_mul_relu_0']
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .kernel import KernelSpec


@dataclass
class Report:
    stages: dict                                  # stage name -> graph code after it
    decisions: list
    kernels: list[KernelSpec]
    externs: list[str]
    program: str                                  # the whole generated module (kernels + launch program)
    peak_bytes: int
    ideal_bytes: int
    lower_seconds: float = 0.0
    extra: dict = field(default_factory=dict)

    @property
    def bytes_moved(self) -> int:
        return sum(k.bytes_moved for k in self.kernels)

    @property
    def flops(self) -> int:
        return sum(k.flops for k in self.kernels)

    def __str__(self) -> str:
        out = []
        for name, code in self.stages.items():
            out += [f"== graph after {name} ==", code.strip(), ""]
        out.append("== fusion decisions ==")
        out += [f"  {d}" for d in self.decisions]
        out += ["", f"== kernels: {len(self.kernels)} (+{len(self.externs)} extern calls) =="]
        for k in self.kernels:
            out.append(f"  {k.name:32s} {k.kind:9s} grid={k.grid} warps={k.num_warps} stages={k.num_stages} "
                       f"{k.constexprs}  bytes={k.bytes_moved} flops={k.flops}  from {', '.join(k.user_lines)}")
        for e in self.externs:
            out.append(f"  extern {e}")
        ratio = self.bytes_moved / self.ideal_bytes if self.ideal_bytes else float("nan")
        out += ["", f"bytes moved {self.bytes_moved} vs ideal {self.ideal_bytes} ({ratio:.2f}x); "
                    f"peak of intermediates {self.peak_bytes} bytes", "", "== program ==", self.program]
        return "\n".join(out)

    def __repr__(self) -> str:
        return (f"<Report {len(self.kernels)} kernels ({', '.join(k.name for k in self.kernels)}), "
                f"{len(self.externs)} extern>")


def _tensors(out) -> list:
    from torchlite.tensor import Tensor
    if isinstance(out, Tensor):
        return [out]
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in _tensors(o)]
    if isinstance(out, dict):
        return [t for o in out.values() for t in _tensors(o)]
    return []


def explain(fn, *args, policy=None, **kwargs) -> Report:
    """Trace ``fn(*args, **kwargs)`` lazily and compile what it builds for the Triton path (see the module)."""
    import time

    from torchlite.fx.capture import to_graph
    from torchlite.lazy import capture

    from .passes import run_graph_passes
    from .pipeline import lower, program_source

    tensors = _tensors(fn(*args, **kwargs))
    pending = [t.node for t in tensors if t.node.value is None]
    if not pending:
        raise ValueError("explain: fn returned no pending tensors; return the tensors it computes "
                         "(before anything realizes them)")
    cap = capture(pending)
    stages = {}
    graph = run_graph_passes(to_graph(cap), trace=None)
    stages["captured"] = graph.python_code("self").src
    t0 = time.perf_counter()
    graph, fuser, kernels, specs = lower(graph, policy=policy,
                                         trace=lambda name, g: stages.__setitem__(name, g.python_code("self").src))
    source, peak = program_source(fuser, kernels, specs)
    t1 = time.perf_counter()
    ideal = sum(_nbytes(n) for n in fuser.nodes if n.op == "placeholder" and not n.meta.get("scalar")
                and n.users) + sum(_nbytes(o) for o in fuser.outputs)
    externs = [f"{k.members[0].name} = {k.members[0].target.name}" for k in kernels if k.kind == "extern"]
    stages["fused"] = "\n".join(f"{k.name}: {', '.join(m.name for m in k.members)}  (stores "
                                f"{', '.join(m.name for m in k.stores) or 'nothing'})" for k in kernels)
    return Report(stages, list(fuser.decisions), [s for s in specs if s is not None], externs, source, peak,
                  ideal, t1 - t0)


def _nbytes(n) -> int:
    k = 1
    for s in n.meta["shape"]:
        k *= s
    return k * n.meta["dtype"].itemsize
