"""The interface every device backend implements."""
from __future__ import annotations

from abc import ABC, abstractmethod
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
