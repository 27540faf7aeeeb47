"""The backend of the Triton devices (``interpret`` now, ``cuda`` where a GPU and triton >= 3.8 are present).

It turns a capture into a ``compiler.pipeline.CompiledProgram`` — fused, generated Triton kernels and a
Python launch program — and keeps compiled programs by the capture's structural key, as the cpu backend
does, so a cache hit costs a dictionary lookup. Ops the compiler has no Triton rule for run as *extern*
calls: the op's registry kernel on host copies of the buffers (free on ``interpret``, whose buffers are
host memory; ``explain`` lists every extern call).

    >>> import torchlite as tl
    >>> y = (tl.ones(4, device="interpret") * 2.0).exp()
    >>> round(float(y.sum()), 3)
    29.556
"""
from __future__ import annotations

import contextlib

import numpy as np

from .base import CachingBackend


class _ProgramRuntime:
    """What a launch program calls: ``rt.empty``, ``rt.extern``, and ``rt.kernel`` (used when it is loaded)."""

    def __init__(self, device_runtime):
        self.device = device_runtime

    def empty(self, shape, dtype):
        return self.device.empty(shape, dtype)

    def program_scope(self):
        """What a whole program runs inside (the interpreter patches Triton once for all its launches)."""
        scope = getattr(self.device, "program_scope", None)
        return scope() if scope is not None else contextlib.nullcontext()

    def kernel(self, jit_fn, signature=None):
        return self.device.kernel(jit_fn, signature=signature)

    def extern(self, op, args, params, dtype):
        host = [self.device.to_host(a) if isinstance(a, np.ndarray) or hasattr(a, "shape") else a for a in args]
        with np.errstate(all="ignore"):
            r = op.numpy(*host, **params, dtype=dtype.np)
        # from_host copies into a C-contiguous buffer; np.ascontiguousarray would turn a 0-d result into (1,)
        return self.device.from_host(np.asarray(r, dtype=dtype.np))


class TritonBackend(CachingBackend):
    """Compiles captures through ``torchlite.compiler`` for one device runtime."""

    max_programs = 1024

    def __init__(self, name: str, device_runtime):
        super().__init__()
        self.name = name
        self.runtime = device_runtime
        self.program_runtime = _ProgramRuntime(device_runtime)

    def compile(self, graph):
        from torchlite.compiler.pipeline import compile_graph
        return compile_graph(graph, self.program_runtime)

    def from_host(self, array):
        return self.runtime.from_host(array)

    def to_host(self, buffer):
        return self.runtime.to_host(buffer)

    def synchronize(self) -> None:
        self.runtime.synchronize()
