"""``torchlite.cuda``: the cuda device's availability, synchronization, memory statistics and events, as in
``torch.cuda``.

Everything here can be imported and called on any machine: without a usable GPU ``is_available()`` is False,
``device_count()`` is 0, and the rest raise a RuntimeError naming every missing piece (no NVIDIA GPU or
driver, cuda-core not installed: ``pip install torchlite[cuda]``, triton too old). Memory, streams and events
come from ``cuda-core`` (``torchlite/devices/cuda.py``); nothing imports torch.

    >>> import torchlite as tl
    >>> tl.cuda.is_available() in (True, False)
    True

On a GPU::

    x = tl.randn(1024, 1024, device="cuda")
    start, end = tl.cuda.Event(enable_timing=True), tl.cuda.Event(enable_timing=True)
    start.record(); y = (x * 2).exp().sum().realize(); end.record()
    end.synchronize(); print(start.elapsed_time(end), "ms", tl.cuda.max_memory_allocated(), "bytes at peak")
"""
from __future__ import annotations

from .devices import device as _device
from .devices.cuda import OutOfMemoryError

__all__ = ["is_available", "device_count", "synchronize", "get_device_name", "get_device_capability",
           "memory_allocated", "max_memory_allocated", "reset_peak_memory_stats", "mem_get_info", "Event",
           "OutOfMemoryError"]


def is_available() -> bool:
    """Whether the cuda device can be used: an NVIDIA GPU and driver, cuda-core and a torch-free triton."""
    from .devices.cuda import unavailable_reason
    return unavailable_reason() is None


def device_count() -> int:
    """The number of usable GPUs (0 when the cuda device is not available, as in torch)."""
    from .devices.cuda import gpu_count
    return gpu_count() if is_available() else 0


def _runtime(device=None, what: str = "torchlite.cuda"):
    """The CudaRuntime of ``device`` (None: cuda:0; an int i: cuda:i); RuntimeError saying why if unavailable."""
    from .devices import backend_for
    from .devices.cuda import require
    require(what)
    if device is None:
        d = _device("cuda", 0)
    elif isinstance(device, int):
        d = _device("cuda", device)
    else:
        d = _device(device)
    if d.type != "cuda":
        raise ValueError(f"{what}: expected a cuda device, got '{d}'")
    return backend_for(d).runtime


def synchronize(device=None) -> None:
    """Wait for every kernel and copy queued on the device, by torchlite or anyone (``torch.cuda.synchronize``)."""
    _runtime(device, "torchlite.cuda.synchronize").device.sync()


def get_device_name(device=None) -> str:
    """The GPU's name, e.g. ``'NVIDIA H100 80GB HBM3'``."""
    return _runtime(device, "torchlite.cuda.get_device_name").device.name


def get_device_capability(device=None) -> tuple[int, int]:
    """The GPU's compute capability as ``(major, minor)``, e.g. ``(9, 0)`` for an H100."""
    cc = _runtime(device, "torchlite.cuda.get_device_capability").device.compute_capability
    return (int(cc.major), int(cc.minor))


def memory_allocated(device=None) -> int:
    """Bytes held by live torchlite buffers on the device (as requested; the memory pool may round them up)."""
    return _runtime(device, "torchlite.cuda.memory_allocated").memory_allocated()


def max_memory_allocated(device=None) -> int:
    """The peak of ``memory_allocated`` since the program started or ``reset_peak_memory_stats`` was called."""
    return _runtime(device, "torchlite.cuda.max_memory_allocated").max_memory_allocated()


def reset_peak_memory_stats(device=None) -> None:
    """Start measuring ``max_memory_allocated`` again from the current ``memory_allocated``."""
    _runtime(device, "torchlite.cuda.reset_peak_memory_stats").reset_peak_memory_stats()


def mem_get_info(device=None) -> tuple[int, int]:
    """``(free, total)`` bytes of the device, as the driver reports them (all processes included)."""
    free, total = _runtime(device, "torchlite.cuda.mem_get_info").mem_get_info()
    if free is None:
        raise RuntimeError("torchlite.cuda.mem_get_info: the driver did not report the device's memory")
    return free, total


class Event:
    """A point in the device's stream of work, for waiting and timing (``torch.cuda.Event``).

    ``record()`` places it after everything queued so far; ``elapsed_time(end)`` is the GPU time in milliseconds
    between two recorded timing events (both made with ``enable_timing=True``).
    """

    def __init__(self, enable_timing: bool = False, blocking: bool = False, interprocess: bool = False,
                 device=None):
        if interprocess:
            raise NotImplementedError("torchlite.cuda.Event: interprocess events are not supported")
        self._rt = _runtime(device, "torchlite.cuda.Event")
        self._event = self._rt.create_event(enable_timing=enable_timing, blocking=blocking)
        self.enable_timing = enable_timing
        self._recorded = False

    def record(self, stream=None) -> None:
        """Record the event on torchlite's stream (``stream`` must be None: torchlite uses one stream)."""
        if stream is not None:
            raise ValueError("torchlite.cuda.Event.record: torchlite runs on one stream per device; pass no stream")
        self._rt.record(self._event)
        self._recorded = True

    def synchronize(self) -> None:
        """Wait until the work before the event's record has finished."""
        if self._recorded:
            self._event.sync()

    def query(self) -> bool:
        """Whether the work before the event's record has finished (True if it was never recorded)."""
        return (not self._recorded) or bool(self._event.is_done)

    def elapsed_time(self, end: "Event") -> float:
        """Milliseconds of GPU time from this event to ``end`` (waits for ``end``)."""
        if not (self.enable_timing and end.enable_timing):
            raise RuntimeError("Event.elapsed_time: both events must be created with enable_timing=True")
        if not (self._recorded and end._recorded):
            raise RuntimeError("Event.elapsed_time: both events must be recorded first (event.record())")
        end.synchronize()
        return float(end._event - self._event)

    def __repr__(self) -> str:
        return f"<torchlite.cuda.Event timing={self.enable_timing} recorded={self._recorded}>"
