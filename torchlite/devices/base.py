"""The interface every device backend implements."""
from __future__ import annotations

import gc
from abc import ABC, abstractmethod
from collections import OrderedDict
from typing import Any, Callable


class Backend(ABC):
    """Compiles captured graphs into programs, moves buffers to and from host memory, runs programs.

    A program is a callable ``program(*buffers_and_scalars) -> tuple of buffers`` with a readable
    ``source``; backends cache programs by the capture's structural key.
    """

    name: str

    @abstractmethod
    def compile(self, graph) -> Callable[..., tuple]:
        """Turn an ``fx.Graph`` of op-level nodes into a runnable program."""

    @abstractmethod
    def from_host(self, array) -> Any:
        """Copy (or adopt) a host numpy array as a buffer of this device."""

    @abstractmethod
    def to_host(self, buffer):
        """A host numpy array with the buffer's contents."""

    def synchronize(self) -> None:
        """Wait for queued work; the cpu backend runs synchronously."""


class CachingBackend(Backend):
    """A backend whose programs are kept by the capture's structural key (an LRU of ``max_programs``).

    Subclasses implement ``compile(graph)``; ``lookup(cap)`` captures, runs the graph passes and compiles
    on a miss. Registering or removing a graph pass clears the cache (programs were built without it).
    """

    max_programs = 4096

    def __init__(self):
        self.programs: OrderedDict = OrderedDict()
        self.hits = self.misses = 0
        from torchlite.compiler.passes import on_pipeline_change
        on_pipeline_change(self.clear_cache)

    def lookup(self, cap):
        """The program for ``cap``'s structure: cached, or captured into a graph and compiled now."""
        prog = self.programs.get(cap.key)
        if prog is not None:
            self.hits += 1
            return prog
        self.misses += 1
        from ..fx.capture import to_graph
        from torchlite.compiler import run_graph_passes
        # Building a program allocates many small objects; the cyclic GC would rescan them (and the whole
        # heap) over and over on big graphs, so it pauses until the program is built.
        gc_was_on = gc.isenabled()
        gc.disable()
        try:
            prog = self.compile(run_graph_passes(to_graph(cap)))
        finally:
            if gc_was_on:
                gc.enable()
        self.programs[cap.key] = prog
        if len(self.programs) > self.max_programs:
            self.programs.popitem(last=False)
        return prog

    def clear_cache(self) -> None:
        self.programs.clear()

    def cache_info(self) -> dict:
        return {"hits": self.hits, "misses": self.misses, "programs": len(self.programs)}
