"""Ahead-of-time compilation of generated kernels for real GPUs, on machines with no GPU.

``compile_spec`` turns one ``KernelSpec`` into every lower IR Triton makes (TTIR, TTGIR, LLVM IR, PTX and
the cubin) for one NVIDIA architecture, and reads the kernel's resource usage out of the cubin with the
``cuobjdump`` that Triton bundles. This is how tests on GPU-less machines check what the interpreter
forgives: types, layouts, register pressure, spills and shared memory (see DESIGN.md, "Verifying GPU code
on machines without a GPU"). ``compile_many`` does the same for many kernels and archs on all cores.

    >>> r = compile_spec(example_spec(), arch=80)
    >>> r.n_regs > 0, r.n_spills, ".target sm_80" in r.asm["ptx"]
    (True, 0, True)

Notes on Triton 3.9's AOT API (checked in its source, ``triton/compiler/compiler.py``):
- ``ASTSource(fn, signature, constexprs, attrs)``: ``constexprs`` is keyed by argument name (or index path);
  the signature may leave constexpr arguments out or list them as ``"constexpr"``. We list them, in the
  function's argument order, as Triton's own JIT launcher does.
- ``attrs`` carries specialisation hints (``{(i,): [["tt.divisibility", 16]]}``). The JIT marks a pointer
  argument 16-byte divisible when it is (every allocator's pointers are), so we do the same for pointer
  arguments by default; without it the code is compiled for unaligned pointers and can differ from what a
  launch compiles (30 instead of 27 registers for a masked add). The JIT also marks integer arguments that
  are multiples of 16 (which lets masked loads vectorise); sizes are not known here, so we do not.
- ``CompiledKernel.n_regs``/``n_spills`` are only filled when the kernel is loaded on a GPU; we read the
  cubin instead. ``cuobjdump`` reports spills in ``STACK`` (the per-thread stack frame), not ``LOCAL``.
- Triton kernels take shared memory dynamically: the cubin's ``SHARED`` is only the static part (1 KiB on
  sm_90 for our reduction and dot kernels), the rest is ``metadata.shared``; the driver checks the sum
  against the device's limit only at load time, so ``AOTResult.problems()`` checks it here.
- ``triton.compile`` keeps its own on-disk cache (``~/.triton/cache``, ``TRITON_CACHE_DIR``); set
  ``TRITON_ALWAYS_COMPILE=1`` to time real compiles. ``arch=90`` compiles for ``sm_90a``.
"""
from __future__ import annotations

import atexit
import hashlib
import importlib.util
import inspect
import os
import pickle
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from .kernel import KernelSpec

__all__ = ["AOTResult", "AOTCompileError", "MAX_SHARED_BYTES", "compile_spec", "compile_many", "example_spec",
           "load_kernel", "parse_resource_usage"]

# Largest shared memory one block may use (opt-in maximum, bytes), from the CUDA programming guide's
# table of compute capabilities. Triton checks this only when a kernel is loaded on a device.
MAX_SHARED_BYTES = {80: 166912, 86: 101376, 87: 166912, 89: 101376, 90: 232448}

ASM_STAGES = ("ttir", "ttgir", "llir", "ptx", "cubin")


class AOTCompileError(RuntimeError):
    """A kernel did not compile for an arch; the message names both and carries Triton's message.

    >>> str(AOTCompileError("pw_add_0", 90, "boom"))
    "kernel 'pw_add_0' failed to compile for sm_90: boom"
    """

    def __init__(self, name: str, arch: int, message: str):
        self.name, self.arch, self.message = name, arch, message
        super().__init__(f"kernel {name!r} failed to compile for sm_{arch}: {message}")

    def __reduce__(self):   # crosses process boundaries intact (Triton's own errors do not always pickle)
        return (AOTCompileError, (self.name, self.arch, self.message))


@dataclass
class AOTResult:
    """One kernel compiled for one arch: every IR Triton made and what the cubin says it uses.

    ``n_spills`` is the per-thread local memory in bytes (cubin ``STACK`` + ``LOCAL``), which is what the CUDA
    driver reports as the kernel's local size and Triton as ``n_spills``; for Triton kernels, which use no
    local arrays, anything above 0 is register spilling. ``shared_bytes`` is static + dynamic shared memory
    per block. ``resources`` holds every field ``cuobjdump --dump-resource-usage`` printed.

        >>> r = compile_spec(example_spec(), 90)
        >>> r.n_spills, r.shared_bytes, r.problems()
        (0, 0, [])
    """
    name: str
    arch: int
    asm: dict[str, str | bytes]            # ttir, ttgir, llir, ptx (text) and cubin (bytes)
    n_regs: int
    n_spills: int
    shared_bytes: int
    resources: dict[str, int] = field(default_factory=dict)   # REG, STACK, SHARED, LOCAL, CONSTANT[0], ...
    metadata: dict = field(default_factory=dict)              # Triton's kernel metadata (num_warps, shared, ...)
    compile_s: float = 0.0
    _sass: str | None = field(default=None, init=False, repr=False, compare=False)

    def sass(self) -> str:
        """The cubin disassembled (``nvdisasm -c``, bundled with Triton); computed once."""
        if self._sass is None:
            self._sass = _run_tool("nvdisasm", ["-c"], self.asm["cubin"], f"{self.name} sm_{self.arch}")
        return self._sass

    def problems(self, *, allow_spills: bool = False) -> list[str]:
        """What would fail or be slow on a real device, in words; empty when the kernel is fine.

        >>> AOTResult("k", 80, {}, n_regs=40, n_spills=8, shared_bytes=0).problems()
        ['k on sm_80 spills 8 bytes per thread to local memory (40 registers)']
        """
        out = []
        if self.n_spills and not allow_spills:
            out.append(f"{self.name} on sm_{self.arch} spills {self.n_spills} bytes per thread to local memory "
                       f"({self.n_regs} registers)")
        limit = MAX_SHARED_BYTES.get(self.arch)
        if limit is not None and self.shared_bytes > limit:
            out.append(f"{self.name} on sm_{self.arch} needs {self.shared_bytes} bytes of shared memory per block, "
                       f"more than the {limit} the arch allows: use smaller blocks or fewer stages")
        return out

    def __repr__(self) -> str:
        return (f"AOTResult({self.name}, sm_{self.arch}, regs={self.n_regs}, spills={self.n_spills}, "
                f"shared={self.shared_bytes}, {self.compile_s:.2f}s)")


def example_spec(name: str = "pw_fill_0") -> KernelSpec:
    """A tiny pointwise kernel (``out_ptr0[:XBLOCK] = 1.0``) for examples and smoke tests.

    >>> example_spec().signature
    {'out_ptr0': '*fp32'}
    """
    source = ("import triton\nimport triton.language as tl\n\n\n@triton.jit\n"
              f"def {name}(out_ptr0, XBLOCK: tl.constexpr):\n"
              "    offs = tl.arange(0, XBLOCK)\n"
              "    tl.store(out_ptr0 + offs, tl.full((XBLOCK,), 1.0, tl.float32))\n")
    return KernelSpec(name=name, kind="pointwise", source=source, signature={"out_ptr0": "*fp32"},
                      constexprs={"XBLOCK": 128})


# ---- loading generated source as a real module (Triton reads a kernel's source through inspect) ----

_session_dir: str | None = None
_loaded: dict[tuple[str, str], object] = {}      # (module file, kernel name) -> JITFunction
_load_lock = threading.Lock()


def _default_dir() -> str:
    """A private directory for this process's kernel modules, removed at exit."""
    global _session_dir
    if _session_dir is None:
        _session_dir = tempfile.mkdtemp(prefix="torchlite-aot-")
        atexit.register(shutil.rmtree, _session_dir, True)
    return _session_dir


def load_kernel(spec: KernelSpec, cache_dir: str | os.PathLike | None = None):
    """The ``@triton.jit`` function ``spec.name`` from ``spec.source``, imported from a real file.

    The file is ``<cache_dir>/<name>_<sha256 of source>.py`` (written atomically, so processes sharing a
    directory never see half a file) and is imported under a unique module name; the same source is
    imported once per process.

        >>> load_kernel(example_spec()).arg_names
        ['out_ptr0', 'XBLOCK']
    """
    digest = hashlib.sha256(spec.source.encode()).hexdigest()[:16]
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", spec.name):
        raise ValueError(f"kernel name {spec.name!r} is not a Python identifier")
    with _load_lock:
        directory = Path(cache_dir) if cache_dir is not None else Path(_default_dir())
        path = directory / f"{spec.name}_{digest}.py"
        key = (str(path), spec.name)
        if key in _loaded:
            return _loaded[key]
        directory.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text() != spec.source:
            fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{spec.name}.", suffix=".tmp")
            with os.fdopen(fd, "w") as f:
                f.write(spec.source)
            os.replace(tmp, path)
        module_name = f"_torchlite_kernel_{spec.name}_{digest}"
        mod_spec = importlib.util.spec_from_file_location(module_name, path)
        module = importlib.util.module_from_spec(mod_spec)
        sys.modules[module_name] = module
        try:
            mod_spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[module_name]
            raise
        fn = getattr(module, spec.name, None)
        if fn is None or not hasattr(fn, "arg_names"):
            jitted = sorted(k for k, v in vars(module).items() if hasattr(v, "arg_names"))
            raise ValueError(f"kernel {spec.name!r}: its source defines no @triton.jit function of that name "
                             f"(it defines {jitted or 'none'}; file {path})")
        _loaded[key] = fn
        return fn


# ---- compiling one kernel ----

def _ast_source(spec: KernelSpec, fn, align_pointers: bool, divisible: tuple[str, ...] = ()):
    """Triton's ASTSource for ``spec``: signature in argument order, constexprs listed as "constexpr";
    pointers (``align_pointers``) and the int arguments named in ``divisible`` carry the 16-divisibility
    hint Triton's JIT gives real arguments (allocator pointers, sizes that are multiples of 16)."""
    from triton.compiler import ASTSource

    arg_names = list(fn.arg_names)
    unknown = [k for k in (*spec.signature, *spec.constexprs) if k not in arg_names]
    if unknown:
        raise ValueError(f"signature/constexprs name {unknown}, which {spec.name}() does not take "
                         f"(its arguments: {arg_names})")
    both = [k for k in spec.signature if k in spec.constexprs]
    if both:
        raise ValueError(f"{both} appear in both the signature and the constexprs")
    signature, constexprs, attrs = {}, dict(spec.constexprs), {}
    for i, param in enumerate(fn.params):
        name = param.name
        if name in spec.signature:
            signature[name] = spec.signature[name]
            if (align_pointers and spec.signature[name].startswith("*")) or name in divisible:
                attrs[(i,)] = [["tt.divisibility", 16]]
        elif name in constexprs:
            signature[name] = "constexpr"
        elif param.is_constexpr and param.default is not inspect.Parameter.empty:
            signature[name], constexprs[name] = "constexpr", param.default
        else:
            raise ValueError(f"argument {name!r} of {spec.name}() is in neither the signature nor the constexprs")
    return ASTSource(fn=fn, signature=signature, constexprs=constexprs, attrs=attrs)


def _run_tool(tool: str, flags: list[str], cubin: bytes, what: str) -> str:
    """Run a Triton-bundled CUDA tool (``cuobjdump``, ``nvdisasm``) on a cubin; its stdout."""
    from triton import knobs

    exe = getattr(knobs.nvidia, tool).path
    fd, path = tempfile.mkstemp(suffix=".cubin")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(cubin)
        proc = subprocess.run([exe, *flags, path], capture_output=True, text=True)
    finally:
        os.remove(path)
    if proc.returncode != 0:
        raise RuntimeError(f"{tool} {' '.join(flags)} failed on {what} (exit {proc.returncode}): {proc.stderr.strip()}")
    return proc.stdout


_RESOURCE_RE = re.compile(r"([A-Z_]+(?:\[\d+\])?):(\d+)")


def parse_resource_usage(text: str, name: str) -> dict[str, int]:
    """The fields ``cuobjdump --dump-resource-usage`` printed for function ``name``.

    >>> parse_resource_usage(" Function k:\\n  REG:30 STACK:0 SHARED:0 LOCAL:0 CONSTANT[0]:576", "k")["REG"]
    30
    """
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.strip() == f"Function {name}:" and i + 1 < len(lines):
            return {k: int(v) for k, v in _RESOURCE_RE.findall(lines[i + 1])}
    raise ValueError(f"cuobjdump printed no resource usage for function {name!r}:\n{text}")


def _json_metadata(metadata) -> dict:
    out = {}
    for k, v in metadata._asdict().items():
        if k == "target":
            v = {"backend": v.backend, "arch": v.arch, "warp_size": v.warp_size}
        elif isinstance(v, tuple):
            v = list(v)
        elif not isinstance(v, (int, float, str, bool, list, dict, type(None))):
            v = repr(v)
        out[k] = v
    return out


def compile_spec(spec: KernelSpec, arch: int = 90, *, cache_dir: str | os.PathLike | None = None,
                 align_pointers: bool = True, options: dict | None = None,
                 divisible: tuple[str, ...] = ()) -> AOTResult:
    """Compile ``spec`` for ``sm_<arch>`` with no GPU and read its resource usage from the cubin.

    ``options`` are extra Triton compile options (``{"maxnreg": 64}``); they override the spec's
    ``num_warps``/``num_stages``. ``divisible`` names int arguments whose launch values are multiples of 16
    (the JIT specializes on that; give it to compile what a launch with those values would). Raises ``AOTCompileError`` (naming the kernel and arch, with Triton's
    message) when Triton or ptxas rejects the kernel.

        >>> r = compile_spec(example_spec(), 80)
        >>> sorted(r.asm), r.n_regs > 0
        (['cubin', 'llir', 'ptx', 'ttgir', 'ttir'], True)
    """
    import triton
    from triton.backends.compiler import GPUTarget

    start = time.perf_counter()
    try:
        fn = load_kernel(spec, cache_dir)
        src = _ast_source(spec, fn, align_pointers, tuple(divisible))
        # enable_fp_fusion: Triton 3.9's default, passed explicitly so that 3.9 does not warn (3.10 flips it).
        opts = {"num_warps": spec.num_warps, "num_stages": spec.num_stages, "enable_fp_fusion": True,
                **(options or {})}
        compiled = triton.compile(src, target=GPUTarget("cuda", arch, 32), options=opts)
    except AOTCompileError:
        raise
    except Exception as e:
        raise AOTCompileError(spec.name, arch, f"{type(e).__name__}: {e}") from None
    elapsed = time.perf_counter() - start
    asm = {k: compiled.asm[k] for k in ASM_STAGES}
    what = f"{spec.name} sm_{arch}"
    res = parse_resource_usage(_run_tool("cuobjdump", ["--dump-resource-usage"], asm["cubin"], what), spec.name)
    meta = _json_metadata(compiled.metadata)
    return AOTResult(name=spec.name, arch=arch, asm=asm, n_regs=res.get("REG", 0),
                     n_spills=res.get("STACK", 0) + res.get("LOCAL", 0),
                     shared_bytes=res.get("SHARED", 0) + int(meta.get("shared", 0)),
                     resources=res, metadata=meta, compile_s=elapsed)


# ---- compiling many kernels on all cores ----
#
# Workers are plain subprocesses (``python -c`` importing this module) fed jobs over a pipe, as Inductor's
# compile pool does, not a multiprocessing pool: "fork" is unsafe once this process holds LLVM/MLIR threads
# from an earlier compile, and "spawn"/"forkserver" re-run the user's ``__main__`` in every worker, which
# breaks any script that compiles at top level without an ``if __name__ == "__main__":`` guard. The pipe
# carries pickles between this process and its own children only (nothing read from disk is unpickled).

_WORKER_BOOT = ("import os, pickle, sys; sys.path[:] = pickle.load(sys.stdin.buffer); "
                "from torchlite.compiler.aot import _worker_main; _worker_main()")


def _worker_main() -> None:
    """A compile worker's loop: read (spec, arch, kwargs) jobs from stdin, write results to stdout."""
    inp = sys.stdin.buffer
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)                     # anything Triton prints goes to stderr, never into the result pipe
    import triton.compiler  # noqa: F401  (warm up before the first job: most of a worker's start-up)
    while True:
        try:
            spec, arch, kwargs = pickle.load(inp)
        except EOFError:
            return
        try:
            reply = ("ok", compile_spec(spec, arch, **kwargs))
        except AOTCompileError as e:
            reply = ("err", e)
        except Exception as e:        # cuobjdump failing, a bad signature, ...: still name the kernel
            reply = ("err", AOTCompileError(spec.name, arch, f"{type(e).__name__}: {e}"))
        pickle.dump(reply, out)
        out.flush()


class _Worker:
    """One compile subprocess; ``run`` sends a job and waits for its result."""

    def __init__(self):
        self.proc = subprocess.Popen([sys.executable, "-c", _WORKER_BOOT], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE)
        pickle.dump(list(sys.path), self.proc.stdin)
        self.proc.stdin.flush()

    def run(self, spec: KernelSpec, arch: int, kwargs: dict):
        try:
            pickle.dump((spec, arch, kwargs), self.proc.stdin)
            self.proc.stdin.flush()
            status, value = pickle.load(self.proc.stdout)
        except (EOFError, BrokenPipeError, OSError, pickle.UnpicklingError) as e:
            code = self.proc.wait()
            raise RuntimeError(f"the compile worker died (exit code {code}) while compiling kernel {spec.name!r} "
                               f"for sm_{arch}: {type(e).__name__}; rerun with workers=1 to see the error") from None
        if status == "err":
            raise value
        return value

    def alive(self) -> bool:
        return self.proc.poll() is None

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()   # the worker exits at end of input
                self.proc.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()


_workers: list[_Worker] = []          # kept warm for the life of the process (Triton imported, LLVM set up)
_workers_lock = threading.Lock()


def _get_workers(n: int) -> list[_Worker]:
    with _workers_lock:
        _workers[:] = [w for w in _workers if w.alive()]
        while len(_workers) < n:
            _workers.append(_Worker())
        return _workers[:n]


@atexit.register
def _close_workers() -> None:
    with _workers_lock:
        for w in _workers:
            w.close()
        _workers.clear()


def compile_many(specs: Iterable[KernelSpec], archs: Iterable[int] = (80, 90), workers: int | None = None, *,
                 cache_dir: str | os.PathLike | None = None, align_pointers: bool = True,
                 options: dict | None = None) -> dict[tuple[str, int], AOTResult]:
    """Compile every spec for every arch, in parallel on ``workers`` processes (default: one per core).

    The result is ordered as the input (specs, then archs) whatever order the compiles finish in. When any
    compile fails, all the others still finish and an ``AOTCompileError`` for the first failure (in input
    order) is raised, listing the other failures. ``workers=1`` compiles in this process. Worker processes
    are started on first use and kept for later calls (so they keep the environment, e.g. ``TRITON_*``
    variables, of the moment they started).

        >>> results = compile_many([example_spec("pw_a"), example_spec("pw_b")], archs=(80, 90), workers=1)
        >>> list(results)
        [('pw_a', 80), ('pw_a', 90), ('pw_b', 80), ('pw_b', 90)]
    """
    specs, archs = list(specs), [int(a) for a in archs]
    by_name: dict[str, KernelSpec] = {}
    for s in specs:
        if s.name in by_name and by_name[s.name] != s:
            raise ValueError(f"two different kernels are both named {s.name!r}; kernel names must be unique")
        by_name[s.name] = s
    jobs = [(s, a) for s in by_name.values() for a in archs]
    if workers is None:
        workers = os.cpu_count() or 1
    workers = max(1, min(int(workers), len(jobs)))
    kwargs = {"cache_dir": str(cache_dir) if cache_dir is not None else _default_dir(),
              "align_pointers": align_pointers, "options": options}
    outcomes: list[AOTResult | Exception | None] = [None] * len(jobs)

    def run_jobs(run, next_job) -> None:
        while (i := next_job()) is not None:
            try:
                outcomes[i] = run(*jobs[i], kwargs)
            except Exception as e:       # AOTCompileError, or a dead worker (RuntimeError)
                outcomes[i] = e

    if workers == 1:
        run_jobs(lambda s, a, kw: compile_spec(s, a, **kw), _counter(len(jobs)))
    else:
        next_job = _counter(len(jobs))
        threads = [threading.Thread(target=run_jobs, args=(w.run, next_job), daemon=True)
                   for w in _get_workers(workers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    failures = [o for o in outcomes if isinstance(o, Exception)]
    if failures:
        first = failures[0]
        if len(failures) > 1:
            others = "; ".join(str(f).splitlines()[0] for f in failures[1:])
            first = (AOTCompileError(first.name, first.arch, f"{first.message}\n(also failed: {others})")
                     if isinstance(first, AOTCompileError) else RuntimeError(f"{first}\n(also failed: {others})"))
        raise first
    return {(r.name, r.arch): r for r in outcomes}


def _counter(n: int):
    """A thread-safe ``next_job()``: 0, 1, ..., n - 1, then None."""
    lock, state = threading.Lock(), [0]

    def next_job():
        with lock:
            if state[0] >= n:
                return None
            state[0] += 1
            return state[0] - 1
    return next_job
