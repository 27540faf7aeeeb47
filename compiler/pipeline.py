"""The Triton path end to end: captured graph -> primitives -> kernels -> one importable program file.

``compile_graph(graph, runtime)`` runs the stages in order, each a named step whose graph (or result) is
kept for ``explain``:

1. ``decompose``: composites into registry primitives (``decompose.py``); ``simplify``: exact algebraic
   identities and folding of structural constants (``simplify.py``); then dead-code and
   common-subexpression elimination, and the user's "prims" passes;
2. ``fuse``: materialization and grouping into kernels by a ``FusionPolicy`` (``fusion.py``), every
   decision recorded;
3. ``codegen``: one ``KernelSpec`` per kernel (``codegen.py``, matmuls through ``kernels/matmul.py``);
4. ``schedule``: a launch order, buffer lifetimes (``del`` where a buffer dies), the reuse of a dead
   buffer of the same size and dtype, and the peak bytes of intermediates, known before running;
5. ``program``: a Python module with every kernel and a readable ``program(...)`` that allocates buffers
   and launches them, written to the cache directory (Triton reads kernel source from files) and imported.

    >>> from torchlite.compiler.pipeline import PRIMS_PASSES
    >>> [p.__name__ for p in PRIMS_PASSES]
    ['decompose', 'simplify', 'eliminate_dead_code', 'common_subexpression_elimination']
"""
from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import os
import sys
import time
from dataclasses import dataclass, field

import numpy as np

from .codegen import generate_kernel
from .decompose import decompose
from .fusion import Fuser, FusionPolicy
from .kernel import KernelSpec
from .lowering import numel, shape_of
from .passes import common_subexpression_elimination, eliminate_dead_code
from .simplify import simplify

PRIMS_PASSES = [decompose, simplify, eliminate_dead_code, common_subexpression_elimination]


def register_prims_pass(fn, *, before: str | None = None):
    """Run ``fn(graph) -> graph`` on every decomposed graph (after the built-in passes, or before one)."""
    if before is None:
        PRIMS_PASSES.append(fn)
    else:
        PRIMS_PASSES.insert([p.__name__ for p in PRIMS_PASSES].index(before), fn)
    from .passes import _on_change
    for cb in _on_change:
        cb()
    return fn


@dataclass
class CompiledProgram:
    """A compiled graph: call it with the leaves' buffers and the scalars, in placeholder order."""
    source: str                                  # the whole module: kernels, then program()
    specs: list[KernelSpec]
    fn: object = None
    path: str = ""
    stages: dict = field(default_factory=dict)   # stage name -> the graph's Python code after it
    decisions: list = field(default_factory=list)
    peak_bytes: int = 0
    graph: object = None
    timings: dict = field(default_factory=dict)
    runtime: object = None                       # the program runtime it launches on (its program_scope)

    def __call__(self, *args):
        scope = getattr(self.runtime, "program_scope", None)
        with np.errstate(all="ignore"), (scope() if scope is not None else contextlib.nullcontext()):
            return self.fn(*args)           # (masked-off lanes may compute log(0) on the interpreter)

    def __repr__(self) -> str:
        names = ", ".join(s.name for s in self.specs)
        return f"<CompiledProgram {len(self.specs)} kernels: {names}>"


def lower(graph, *, policy: FusionPolicy | None = None, trace=None):
    """Stages 1-3: the decomposed graph, the Fuser (kernels and decisions) and the KernelSpecs."""
    for p in PRIMS_PASSES:
        graph = p(graph)
        if trace is not None:
            trace(p.__name__, graph)
    fuser = Fuser(graph, policy)
    kernels = fuser.run()
    specs = []
    for k in kernels:
        if k.kind == "extern":
            specs.append(None)
            continue
        spec = generate_kernel(fuser, k, len([s for s in specs if s is not None]))
        k.name = spec.name
        specs.append(spec)
    return graph, fuser, kernels, specs


_DISK = None


def disk_cache():
    """The on-disk cache of compiled programs (``compiler.cache.DiskCache("programs")``)."""
    global _DISK
    if _DISK is None:
        from .cache import DiskCache
        _DISK = DiskCache("programs")
    return _DISK


def graph_key(graph, policy) -> str:
    """A digest of the graph's structure (ops, arguments, shapes, dtypes), the policy and the prims passes.

    Scalar values are placeholders, so they are not part of it; the user lines are not either (they only
    change comments in the generated source, and a cache hit keeps the lines of the first compile).
    """
    from .cache import cache_key
    index = {n: i for i, n in enumerate(graph.nodes)}

    def arg(a):
        if hasattr(a, "op") and hasattr(a, "meta"):
            return ("%", index[a])
        if isinstance(a, (tuple, list)):
            return tuple(arg(x) for x in a)
        if isinstance(a, slice):
            return ("slice", a.start, a.stop, a.step)
        if hasattr(a, "short") and hasattr(a, "np"):
            return ("dtype", a.name)
        if isinstance(a, (int, float, str, bool)) or a is None:
            return a
        return repr(a)
    parts = []
    for n in graph.nodes:
        target = n.target.name if hasattr(n.target, "name") and n.op == "call_function" else str(n.target)
        parts.append((n.op, target, arg(n.args), tuple((k, arg(v)) for k, v in n.kwargs.items()),
                      tuple(n.meta.get("shape", ())), getattr(n.meta.get("dtype"), "name", None),
                      n.meta.get("scalar")))
    pol = policy or FusionPolicy()
    pol_key = (type(pol).__module__, type(pol).__qualname__,
               tuple(sorted((k, v) for k, v in vars(type(pol)).items() if isinstance(v, (int, float, bool)))))
    from torchlite.dtypes import get_float32_matmul_precision
    return cache_key(tuple(parts), pol_key, tuple(p.__module__ + "." + p.__qualname__ for p in PRIMS_PASSES),
                     _code_version(), get_float32_matmul_precision())


_CODE_VERSION: list = []


def _code_version() -> str:
    """A digest of the compiler's and the templates' source files: editing either invalidates the disk cache."""
    if not _CODE_VERSION:
        import glob
        import torchlite.kernels
        h = hashlib.sha256()
        for d in (os.path.dirname(__file__), os.path.dirname(torchlite.kernels.__file__)):
            for f in sorted(glob.glob(os.path.join(d, "*.py"))):
                with open(f, "rb") as fh:
                    h.update(os.path.basename(f).encode() + fh.read())
        _CODE_VERSION.append(h.hexdigest())
    return _CODE_VERSION[0]


def compile_graph(graph, runtime, *, policy: FusionPolicy | None = None, use_disk_cache: bool = True) -> CompiledProgram:
    """Compile a captured op-level ``fx.Graph`` for ``runtime`` (see the module docstring).

    A structurally equal graph compiled before (in any process) is read back from the disk cache: its
    module is imported again with no lowering (``timings["disk_hit"]``).
    """
    t0 = time.perf_counter()
    key = graph_key(graph, policy) if use_disk_cache else None
    entry = disk_cache().get(key) if key else None
    if entry is not None:
        specs = [KernelSpec(**d) for d in entry["specs"]]
        for sp in specs:
            sp.grid = tuple(sp.grid)
        path = _write_module(entry["source"])
        fn = _import_program(path, runtime, specs)
        return CompiledProgram(entry["source"], specs, fn, path, entry["stages"], entry["decisions"],
                               entry["peak"], graph, {"disk_hit": True, "total_s": time.perf_counter() - t0},
                               runtime)
    stages = {"captured": graph.python_code("self").src}
    graph, fuser, kernels, specs = lower(graph, policy=policy,
                                         trace=lambda name, g: stages.__setitem__(name, g.python_code("self").src))
    t1 = time.perf_counter()
    source, peak = program_source(fuser, kernels, specs)
    specs = [s for s in specs if s is not None]
    path = _write_module(source)
    fn = _import_program(path, runtime, specs)
    t2 = time.perf_counter()
    decisions = [str(d) for d in fuser.decisions]
    if key:
        disk_cache().put(key, {"source": source, "specs": [vars(s) for s in specs], "stages": stages,
                               "decisions": decisions, "peak": peak})
    return CompiledProgram(source, specs, fn, path, stages, decisions, peak, graph,
                           {"disk_hit": False, "lower_s": t1 - t0, "load_s": t2 - t1, "total_s": t2 - t0},
                           runtime)


# -- the launch program -------------------------------------------------------------------------------------
def _var(n) -> str:
    return n.name if n.op == "placeholder" else f"buf_{n.name}"


def program_source(fuser, kernels, specs) -> tuple[str, int]:
    """The module text (kernels, then ``program``) and the planned peak bytes of intermediates."""
    graph_nodes = fuser.nodes
    placeholders = [n for n in graph_nodes if n.op == "placeholder"]
    outputs = fuser.outputs
    out_arg = graph_nodes[-1].args[0]
    out_list = list(out_arg) if isinstance(out_arg, (tuple, list)) else [out_arg]

    # Buffer lifetimes: a stored SN lives from its kernel to its last reader (outputs live on).
    last_use: dict = {}
    for i, k in enumerate(kernels):
        for r in k.reads:
            last_use[r] = i
    pinned = set(outputs)

    future: dict = {}                     # (shape, dtype) -> kernel indices that allocate one
    for i, k in enumerate(kernels):
        for m in (k.stores if k.kind != "extern" else k.members):
            future.setdefault((tuple(shape_of(m)), m.meta["dtype"]), []).append(i)
    lines, kernel_text = [], []
    donated: set = set()
    imports = ["import triton", "import triton.language as tl", "from triton.language.extra import libdevice"]
    live = peak = 0
    pool: dict = {}                       # (nbytes, dtype) -> dead buffer names free for reuse
    for i, (k, spec) in enumerate(zip(kernels, specs)):
        outs = k.stores if k.kind != "extern" else k.members
        allocs = []
        for m in outs:
            key = (tuple(shape_of(m)), m.meta["dtype"])
            reuse = pool.get(key)
            donor = next((r for r in sorted(k.elementwise_reads, key=lambda r: r.name)
                          if last_use.get(r) == i and r not in pinned and r.op != "placeholder"
                          and r not in donated and (tuple(shape_of(r)), r.meta["dtype"]) == key), None)
            if donor is not None:                   # its last reader writes over it, element by element
                donated.add(donor)
                allocs.append(f"    buf_{m.name} = buf_{donor.name}  # in place: {donor.name} dies here")
            elif reuse:
                allocs.append(f"    buf_{m.name} = {reuse.pop()}")
            else:
                allocs.append(f"    buf_{m.name} = rt.empty({tuple(shape_of(m))}, {m.meta['dtype'].short})")
                live += numel(shape_of(m)) * m.meta["dtype"].itemsize
        peak = max(peak, live)
        lines += allocs
        if k.kind == "extern":
            n = k.members[0]
            args = ", ".join(_arg_text(a) for a in n.args)
            lines.append(f"    buf_{n.name} = rt.extern(ops.{n.target.name}, ({args}{',' if len(n.args) == 1 else ''}), "
                         f"{dict(n.kwargs)!r}, {n.meta['dtype'].short})  # {n.meta.get('stack_frame', '')}")
        else:
            kernel_text.append(_strip_imports(spec.source))
            lines.append(f"    {spec.name}[{spec.grid}]({_launch_args(fuser, k, spec)})")
        # A dead buffer is kept for a later allocation of its shape and dtype, else deleted.
        dead = sorted((r for r, j in last_use.items() if j == i and r not in pinned and r.op != "placeholder"),
                      key=lambda r: r.name)
        gone = []
        for r in dead:
            key = (tuple(shape_of(r)), r.meta["dtype"])
            wanted = sum(1 for j in future.get(key, ()) if j > i) - len(pool.get(key, ()))
            if r in donated:                        # its memory lives on as an output of this kernel
                gone.append(f"buf_{r.name}")
            elif wanted > 0:
                pool.setdefault(key, []).append(f"buf_{r.name}")
            else:
                gone.append(f"buf_{r.name}")
                live -= numel(shape_of(r)) * r.meta["dtype"].itemsize
        if gone:
            lines.append(f"    del {', '.join(gone)}")
    rets = [(_var(o) if hasattr(o, "op") else repr(o)) for o in out_list]
    params = ", ".join(n.name for n in placeholders)
    prog = [f"def program({params}):"] + lines + [f"    return ({', '.join(rets)}{',' if len(rets) == 1 else ''})"]
    header = [f"# torchlite program: {sum(1 for s in specs if s is not None)} kernels, "
              f"{sum(1 for s in specs if s is None)} extern calls; peak of intermediates {peak} bytes"]
    text = "\n".join(header + imports) + "\n\n\n" + "\n\n".join(kernel_text) + "\n\n" + "\n".join(prog) + "\n"
    return text, peak


def _arg_text(a) -> str:
    if hasattr(a, "op"):
        return _var(a)
    return repr(a)


def _strip_imports(src: str) -> str:
    keep = [line for line in src.splitlines() if not line.startswith(("import triton", "from triton"))]
    return "\n".join(keep).strip("\n") + "\n"


def _launch_args(fuser, k, spec) -> str:
    by_param = {}
    nodes = {n.name: n for n in fuser.nodes}
    if k.kind == "mlp":
        m = fuser.mlp[k.members[0]]
        (xb, _, _), (w1b, _, _), (w2b, _, _) = m["operands"]
        by_param.update(x_ptr=_var(xb), w1_ptr=_var(w1b), w2_ptr=_var(w2b), out_ptr=f"buf_{k.members[0].name}",
                        M=str(numel(shape_of(m["m1"])) // shape_of(m["m1"])[-1]))
        if m["b2"] is not None:
            by_param["b2_ptr"] = _var(m["b2"])
        if m["gate_operand"] is not None:
            by_param["w1b_ptr"] = _var(m["gate_operand"][0])
    if k.kind == "attention":
        m = fuser.attention[k.members[0]]
        (qb, _, _), (kb, _, _), (vb, _, _) = m["operands"]
        by_param.update(q_ptr=_var(qb), k_ptr=_var(kb), v_ptr=_var(vb),
                        out_ptr=f"buf_{m.get('store_as', k.members[0]).name}",
                        Lq=str(shape_of(m["q"])[-2]), Lk=str(shape_of(m["v"])[-2]))
    if k.kind == "attn_block":
        m = fuser.attn_block[k.members[0]]
        by_param.update({f"{w}_ptr": _var(sv[0]) for w, sv in m["views"].items() if sv is not None})
        by_param["T"] = str(m["sizes"][1])
    if k.kind == "matmul":
        a_view, (bbase, _, _) = fuser.operands[k.members[0]]
        by_param["b_ptr"] = _var(bbase)
        if a_view is not None:                  # else A is computed by the kernel's prologue
            by_param["a_ptr"] = _var(a_view[0])
        mm = k.members[0]
        sa, sb = shape_of(mm.args[0]), shape_of(mm.args[1])
        by_param.update(M=str(sa[-2]), N=str(sb[-1]), K=str(sa[-1]))
    out = []
    for p in spec.signature:
        if p in by_param:
            out.append(by_param[p])
        elif p.startswith("in_"):
            out.append(_var(nodes[p[3:]]))
        elif p.startswith("out_"):
            out.append(f"buf_{p[4:]}")
        elif p.startswith("arg_"):
            out.append(p[4:])
        elif p == "xnumel":
            out.append(str(k.ctx.numel if k.kind == "pointwise" else k.ctx.xnumel))
        elif p == "rnumel":
            out.append(str(k.ctx.rnumel))
        else:
            raise RuntimeError(f"launch of {spec.name}: no value for parameter {p!r}")
    out += [f"{c}={v!r}" for c, v in spec.constexprs.items()]
    out += [f"num_warps={spec.num_warps}", f"num_stages={spec.num_stages}"]
    return ", ".join(out)


def _write_module(source: str) -> str:
    digest = hashlib.sha256(source.encode()).hexdigest()[:24]
    from .cache import cache_dir
    d = os.path.join(cache_dir(), "program-modules")
    os.makedirs(d, mode=0o700, exist_ok=True)
    path = os.path.join(d, f"p_{digest}.py")
    if not os.path.exists(path) or open(path).read() != source:
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "w") as f:
            f.write(source)
        os.replace(tmp, path)
    return path


def _import_program(path: str, runtime, specs):
    name = "torchlite_program_" + os.path.basename(path)[:-3]
    mod = sys.modules.get(name)
    if mod is None:
        spec = importlib.util.spec_from_file_location(name, path)
        mod = importlib.util.module_from_spec(spec)
        sys.modules[name] = mod
        spec.loader.exec_module(mod)
    from torchlite import dtypes as _dt
    from torchlite import ops
    import torchlite
    from torchlite.devices import device
    # extern calls spell their params with repr(): torchlite.float64, device(type='cpu')
    ns = {"rt": runtime, "ops": ops, "torchlite": torchlite, "device": device, **{d.short: d for d in _dt.ALL}}
    for s in specs:
        ns[s.name] = runtime.kernel(getattr(mod, s.name), signature=s.signature)
    fn = mod.program
    import types
    return types.FunctionType(fn.__code__, {**mod.__dict__, **ns}, "program")
