"""The ``cuda`` device runtime: buffers, copies, streams and events through ``cuda.core``; kernels through Triton.

``CudaRuntime`` has the interface of ``InterpretRuntime`` (``empty``, ``zeros``, ``from_host``, ``to_host``,
``synchronize``, ``kernel``), so ``TritonBackend("cuda", CudaRuntime())`` runs the same compiled programs on a
GPU. Nothing here imports torch, and importing this module imports neither ``cuda.core`` nor Triton: the
probe (``unavailable_reason``) only looks for them, so ``torchlite.cuda.is_available()`` is cheap and safe on
machines without a GPU.

    >>> from torchlite.devices.cuda import unavailable_reason
    >>> isinstance(unavailable_reason(), (str, type(None)))    # None on a machine with a usable GPU
    True

How the pieces fit (cuda-core >= 1.0, triton >= 3.8; checked against cuda-core 1.2.2 and triton 3.9):

- Memory. Each buffer is a ``cuda.core.Buffer`` allocated from the device's memory resource (a stream-ordered
  memory pool, ``Device.memory_resource.allocate(n, stream=...)``) on the runtime's own stream, which also
  orders its release: dropping the last reference frees it asynchronously on that stream, after every kernel
  already queued there. The pool keeps freed memory for reuse (its release threshold is set to the maximum
  through ``cuda.bindings``, which cuda-core is built on). ``memory_allocated`` counts the bytes of live
  buffers (as requested, not rounded up by the pool); an allocation the pool cannot serve raises
  ``OutOfMemoryError`` naming the request, the allocated and peak bytes, and the device's free and total
  memory, after one retry that first collects Python garbage and waits for pending frees.
- Copies. ``from_host``/``to_host`` are ``Buffer.copy_from``/``copy_to`` (``cuMemcpyAsync``) between the
  device buffer and a non-owning ``Buffer.from_handle`` view of the numpy array (pageable memory; the driver
  stages it). An upload does not wait for the copy; its host array is kept alive until the stream next
  synchronizes. A download waits for everything queued before it.
- Launches. Triton (>= 3.8) launches without torch: its launcher takes any object with ``data_ptr()`` (a
  device address, checked with ``cuPointerGetAttribute``) and a ``dtype`` whose ``str()`` ends in a name it
  canonicalises (``torchlite.float32`` -> ``fp32``): ``CudaBuffer`` is that object. Triton asks
  ``triton.runtime.driver.active.get_current_stream(device)`` for the stream of every launch; the torch-free
  driver answers the legacy default stream (0), torch's driver answers torch's current stream. This module
  wraps that function once (``_StreamRouter``) so that launches made by this runtime go on its stream and
  every other Triton launch in the process keeps its old answer. Triton and ``cuda.core`` both use the
  device's primary context, so buffers, streams and kernels share one context.
- torch in the process. Triton's ``CudaDriver.is_active()`` asks torch when torch is imported; a CPU build of
  torch (the test oracle here) says no, and Triton then finds no driver at all. ``_triton_driver`` builds the
  ``CudaDriver`` itself in that case and gives it its own torch-free device and stream functions. On triton
  < 3.8 the driver imports torch to launch: that works where torch is installed (a CUDA build), and the probe
  says so where it is not.
"""
from __future__ import annotations

import ctypes
import gc
import importlib.util
import math
import re
import sys
import threading
import weakref
from typing import Sequence

import numpy as np

from .. import dtypes as _dtypes

__all__ = ["CudaRuntime", "CudaBuffer", "CudaKernel", "OutOfMemoryError", "unavailable_reason", "require",
           "gpu_count", "MIN_TRITON", "MIN_CUDA_CORE", "INSTALL_HINT"]

MIN_TRITON = (3, 8)             # torch-free launches
MIN_CUDA_CORE = (1, 0)          # stream-keyword allocation, Buffer.from_handle(owner=), copy_from/copy_to
INSTALL_HINT = "pip install torchlite[cuda]"


class OutOfMemoryError(RuntimeError):
    """A cuda allocation failed: the message names the request, torchlite's allocated and peak bytes, and the
    device's free and total memory (``torchlite.cuda.OutOfMemoryError``)."""


# -- the probe: what is missing for the cuda device ----------------------------------------------------
def _version_tuple(v: str) -> tuple[int, ...]:
    """(major, minor) of a version string: "3.9.0+git1a2b" -> (3, 9)."""
    m = re.match(r"(\d+)(?:\.(\d+))?", v)
    return (int(m.group(1)), int(m.group(2) or 0)) if m else (0, 0)


def _dist_version(name: str) -> str | None:
    from importlib import metadata
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def _has_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):        # a missing parent package ("cuda" for "cuda.core")
        return False


_CU_ERROR_NAMES = {3: "CUDA_ERROR_NOT_INITIALIZED", 35: "CUDA_ERROR_INSUFFICIENT_DRIVER", 100: "CUDA_ERROR_NO_DEVICE",
                   101: "CUDA_ERROR_INVALID_DEVICE", 804: "CUDA_ERROR_COMPAT_NOT_SUPPORTED_ON_DEVICE",
                   999: "CUDA_ERROR_UNKNOWN"}


def _probe_gpus() -> tuple[int, str | None]:
    """(number of GPUs, why there are none): the same driver calls Triton's own check makes (ctypes, no cuda-core)."""
    try:
        lib = ctypes.CDLL("libcuda.so.1")
    except OSError:
        return 0, ("no NVIDIA GPU: the driver library libcuda.so.1 cannot be loaded (no GPU here, or its driver is "
                   "not installed)")
    lib.cuInit.argtypes = [ctypes.c_uint]
    lib.cuInit.restype = ctypes.c_int
    rc = lib.cuInit(0)
    if rc != 0:
        what = "no NVIDIA GPU" if rc == 100 else "the NVIDIA driver cannot be initialised"
        return 0, f"{what}: cuInit failed with {_CU_ERROR_NAMES.get(rc, 'CUDA error')} ({rc})"
    count = ctypes.c_int(0)
    lib.cuDeviceGetCount.argtypes = [ctypes.POINTER(ctypes.c_int)]
    lib.cuDeviceGetCount.restype = ctypes.c_int
    rc = lib.cuDeviceGetCount(ctypes.byref(count))
    if rc != 0 or count.value == 0:
        return 0, "no NVIDIA GPU: the driver reports 0 devices"
    return count.value, None


def _probe_cuda_core(import_it: bool) -> str | None:
    if not _has_module("cuda.core"):
        return f"cuda-core is not installed ({INSTALL_HINT})"
    v = _dist_version("cuda-core") or _dist_version("cuda_core")
    if v is not None and _version_tuple(v) < MIN_CUDA_CORE:
        return (f"cuda-core {v} is too old: torchlite needs cuda-core >= {'.'.join(map(str, MIN_CUDA_CORE))} "
                f"({INSTALL_HINT})")
    if import_it:
        try:
            import cuda.core  # noqa: F401
        except Exception as e:              # e.g. cuda-bindings missing or of the wrong major version
            return f"cuda-core cannot be imported ({type(e).__name__}: {e}; {INSTALL_HINT})"
    return None


def _probe_triton() -> str | None:
    if not _has_module("triton"):
        return "triton is not installed (pip install triton; Linux only)"
    v = _dist_version("triton")
    if v is None:
        import triton
        v = triton.__version__
    if _version_tuple(v) < MIN_TRITON and not _has_module("torch"):
        return (f"triton {v} is too old to launch kernels without torch: upgrade to triton >= "
                f"{'.'.join(map(str, MIN_TRITON))} (pip install -U triton), or install torch (a CUDA build)")
    return None


_PROBE: list = []               # [(gpu count, problems)] once probed


def _probe() -> tuple[int, tuple[str, ...]]:
    if not _PROBE:
        n, gpu = _probe_gpus()
        problems = [p for p in (gpu, _probe_cuda_core(import_it=gpu is None), _probe_triton()) if p]
        _PROBE.append((n, tuple(problems)))
    return _PROBE[0]


def unavailable_reason() -> str | None:
    """Why the cuda device cannot be used here (every missing piece, joined by "; "), or None if it can."""
    problems = _probe()[1]
    return "; ".join(problems) if problems else None


def gpu_count() -> int:
    """The number of NVIDIA GPUs the driver reports (0 without a driver); probed once per process."""
    return _probe()[0]


def require(what: str = "cuda") -> None:
    """Raise RuntimeError naming every missing piece if the cuda device cannot be used."""
    why = unavailable_reason()
    if why:
        raise RuntimeError(f"{what}: CUDA is not available: {why}")


# -- Triton: a torch-free driver whose launches can be routed to our stream ----------------------------------
class _StreamRouter:
    """Stands in for ``driver.get_current_stream``: the stream a torchlite launch set for this thread, else the
    driver's own answer (so Triton kernels launched by other code in the process are unaffected)."""

    def __init__(self, fallback):
        self.fallback = fallback
        self.local = threading.local()

    def __call__(self, device):
        s = getattr(self.local, "stream", None)
        return self.fallback(device) if s is None else s


_DRIVER: list = []


def _triton_driver() -> _StreamRouter:
    """Make sure Triton has an active CUDA driver and install the stream router on it; returns the router."""
    if _DRIVER:
        return _DRIVER[0]
    import triton
    from triton.runtime import driver as config
    try:
        active = config.active
    except RuntimeError as e:
        if "torch" not in sys.modules:
            raise RuntimeError(f"cuda: Triton found no active GPU driver ({e})") from e
        # torch is imported but has no CUDA (a cpu build): CudaDriver.is_active() asked torch and heard "no".
        from triton.backends.nvidia.driver import CudaDriver
        active = CudaDriver()
        for name in ("get_device_capability", "get_current_device", "set_current_device"):
            own = getattr(active, "_" + name, None)
            if own is None:
                raise RuntimeError(f"cuda: triton {triton.__version__} cannot launch without a CUDA build of torch "
                                   f"when torch is imported; upgrade to triton >= 3.8") from e
            setattr(active, name, own)
        active.get_current_stream = active._get_current_stream
        config.set_active(active)
    if type(active).__name__ != "CudaDriver":
        raise RuntimeError(f"cuda: Triton's active driver is {type(active).__name__}, not NVIDIA's CudaDriver")
    router = active.get_current_stream
    if not isinstance(router, _StreamRouter):
        router = active.get_current_stream = _StreamRouter(router)
    _DRIVER.append(router)
    return router


# -- buffers and kernels -----------------------------------------------------------------------------------
class CudaBuffer:
    """A C-contiguous device buffer: a ``cuda.core.Buffer`` with a shape and a torchlite dtype.

    It is what Triton's launcher takes as a pointer argument: ``data_ptr()`` is the device address and
    ``str(dtype)`` (``torchlite.float32``) ends in a name Triton canonicalises (``fp32``). A 0-byte buffer owns
    no memory and its ``data_ptr()`` is 0 (Triton passes a null pointer).
    """

    __slots__ = ("buffer", "shape", "dtype", "nbytes", "ptr", "runtime")

    def __init__(self, buffer, shape: tuple[int, ...], dtype, nbytes: int, runtime: "CudaRuntime"):
        self.buffer = buffer
        self.shape = shape
        self.dtype = dtype
        self.nbytes = nbytes
        self.ptr = int(buffer.handle) if buffer is not None else 0
        self.runtime = runtime

    def data_ptr(self) -> int:
        return self.ptr

    def __del__(self):
        rt = self.runtime
        if rt is not None:
            rt._allocated -= self.nbytes      # the cuda.core Buffer frees itself, ordered on the runtime's stream

    def __repr__(self) -> str:
        where = f"cuda:{self.runtime.index}" if self.runtime is not None else "cuda"
        return f"CudaBuffer({self.dtype.name}, shape={self.shape}, ptr=0x{self.ptr:x}, device={where})"


class CudaKernel:
    """``CudaKernel(runtime, jit_fn)[grid](*args, **constexprs_and_options)``: a Triton launch on the runtime's
    stream. Arguments are as for ``jit_fn[grid](...)``: ``CudaBuffer`` pointers, Python scalars (numpy
    scalars are turned into Python ones, which compiled Triton's JIT requires), constexprs and launch options
    (``num_warps``, ``num_stages``) by keyword. A host numpy array is uploaded first (see ``_device_arg``)."""

    def __init__(self, runtime: "CudaRuntime", jit_fn, signature: dict[str, str] | None = None):
        from triton.runtime.jit import JITFunction
        if not isinstance(jit_fn, JITFunction):
            raise TypeError(f"cuda: expected a @triton.jit function, got {type(jit_fn).__name__} "
                            f"({getattr(jit_fn, '__name__', jit_fn)!r})")
        self.runtime = runtime
        self.jit_fn = jit_fn
        self.name = jit_fn.fn.__name__
        # Compiled Triton types scalar arguments from the parameter annotations (codegen annotates fp64 ones)
        # and otherwise from the values; ``signature`` is kept for explain/debugging, as KernelSpec gives it.
        self.signature = dict(signature or {})

    def __getitem__(self, grid):
        return lambda *args, **kwargs: self.run(grid, *args, **kwargs)

    def run(self, grid, *args, **kwargs) -> None:
        """Launch on ``grid`` (the same as ``self[grid](*args, **kwargs)``)."""
        rt = self.runtime
        args = [rt._device_arg(a) if isinstance(a, (np.ndarray, np.generic)) else a for a in args]
        rt._make_current()
        router = rt._router
        router.local.stream = rt.stream_handle
        try:
            self.jit_fn.run(*args, grid=grid, warmup=False, **kwargs)
        finally:
            router.local.stream = None

    def __repr__(self) -> str:
        return f"CudaKernel({self.name}, cuda:{self.runtime.index})"


def _is_oom(e: BaseException) -> bool:
    return isinstance(e, MemoryError) or "OUT_OF_MEMORY" in str(e).upper().replace(" ", "_")


def _fmt_bytes(n: int | None) -> str:
    if n is None:
        return "unknown"
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            return f"{n / size:.2f} {unit} ({n} bytes)"
    return f"{n} bytes"


_CURRENT = threading.local()           # the runtime whose device context is current on this thread


class CudaRuntime:
    """The ``cuda`` device's memory, copies and launches, on one GPU and one stream of its own. On a GPU::

        rt = CudaRuntime(0)
        buf = rt.from_host(np.arange(3, dtype=np.float32))
        rt.to_host(buf).tolist(), rt.memory_allocated()          # ([0.0, 1.0, 2.0], 12)
    """

    name = "cuda"

    def __init__(self, index: int = 0):
        require(f"cuda:{index}")
        from cuda.core import Device, EventOptions
        n = gpu_count()
        if not 0 <= index < n:
            raise RuntimeError(f"cuda: device index {index} is out of range: this machine has {n} GPU(s)")
        self.index = index
        self.device = Device(index)
        self.device.set_current()
        self._EventOptions = EventOptions
        self.stream = self.device.create_stream()
        self.stream_handle = int(self.stream.handle)
        self._mr = self.device.memory_resource
        self.pool_keeps_memory = self._keep_pool_memory()
        self._router = _triton_driver()
        self._kernels: dict = {}
        self._uploads: dict[int, tuple] = {}       # id(host array) -> (weakref to it, its CudaBuffer)
        self._in_flight: list = []                 # host arrays uploads may still read, until the next sync
        self._allocated = 0
        self._peak = 0
        _CURRENT.runtime = self

    # -- context ------------------------------------------------------------------------------------
    def _make_current(self) -> None:
        if getattr(_CURRENT, "runtime", None) is not self:
            self.device.set_current()
            _CURRENT.runtime = self

    # -- memory -------------------------------------------------------------------------------------
    def _allocate(self, nbytes: int):
        self._make_current()
        try:
            return self._mr.allocate(nbytes, stream=self.stream)
        except Exception as e:
            if not _is_oom(e):
                raise
        gc.collect()                # buffers only Python's cycle collector would free, then pending frees
        self._sync()
        try:
            return self._mr.allocate(nbytes, stream=self.stream)
        except Exception as e:
            if not _is_oom(e):
                raise
            raise OutOfMemoryError(self._oom_message(nbytes)) from e

    def _keep_pool_memory(self) -> bool:
        """Let the pool keep freed memory for the next allocations instead of handing it back to the driver at
        every synchronize (its default release threshold is 0, and torchlite synchronizes at each host read),
        as torch's caching allocator does. Returns whether the driver accepted it."""
        try:
            from cuda.bindings import driver as cu
            attr = cu.CUmemPool_attribute.CU_MEMPOOL_ATTR_RELEASE_THRESHOLD
            (err,) = cu.cuMemPoolSetAttribute(self._mr.handle, attr, cu.cuuint64_t(2**64 - 1))
            return int(err) == 0
        except Exception:           # a pool without this attribute still works, it only allocates more slowly
            return False

    def _oom_message(self, nbytes: int) -> str:
        free, total = self.mem_get_info()
        return (f"cuda: out of memory on cuda:{self.index} ({self.device.name}): tried to allocate "
                f"{_fmt_bytes(nbytes)}; torchlite has {_fmt_bytes(self._allocated)} allocated (peak "
                f"{_fmt_bytes(self._peak)}); the device has {_fmt_bytes(free)} free of {_fmt_bytes(total)} total. "
                f"Free tensors you no longer need (del them), or use smaller shapes or batches.")

    def empty(self, shape: Sequence[int] | int, dtype) -> CudaBuffer:
        """A new uninitialised C-contiguous buffer; ``dtype`` a torchlite dtype (or a numpy dtype/name)."""
        d = _dtypes.to_dtype(dtype)
        shape = (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(int(s) for s in shape)
        if any(s < 0 for s in shape):
            raise ValueError(f"cuda: negative dimension in shape {shape}")
        nbytes = math.prod(shape) * d.itemsize
        buf = self._allocate(nbytes) if nbytes else None
        self._allocated += nbytes
        if self._allocated > self._peak:
            self._peak = self._allocated
        return CudaBuffer(buf, shape, d, nbytes, self)

    def zeros(self, shape: Sequence[int] | int, dtype) -> CudaBuffer:
        """A new zero-filled C-contiguous buffer."""
        out = self.empty(shape, dtype)
        if out.nbytes:
            out.buffer.fill(0, stream=self.stream)
        return out

    def from_host(self, array) -> CudaBuffer:
        """A device copy of a host array (any torchlite dtype), which kernels may write."""
        a = np.asarray(array)
        d = _dtypes.from_numpy_dtype(a.dtype)      # TypeError naming the supported dtypes
        if not a.flags.c_contiguous:
            a = a.copy(order="C")
        out = self.empty(a.shape, d)
        if out.nbytes:
            from cuda.core import Buffer
            host = Buffer.from_handle(a.ctypes.data, out.nbytes, owner=a)
            out.buffer.copy_from(host, stream=self.stream)
            # The driver stages pageable memory before cuMemcpyAsync returns, but CUDA documents that only for
            # the synchronous copy: keep the source alive until the stream next synchronizes.
            self._in_flight.append(a)
            if len(self._in_flight) > 256:
                self._sync()
        return out

    def to_host(self, buffer) -> np.ndarray:
        """A host copy of the buffer, after every kernel queued before it (host arrays are copied as they are)."""
        if isinstance(buffer, np.ndarray):
            return np.array(buffer, copy=True)
        if not isinstance(buffer, CudaBuffer):
            raise TypeError(f"cuda: to_host expects a CudaBuffer, got {type(buffer).__name__}")
        out = np.empty(buffer.shape, dtype=buffer.dtype.np)
        if buffer.nbytes:
            from cuda.core import Buffer
            host = Buffer.from_handle(out.ctypes.data, buffer.nbytes, owner=out)
            self._make_current()
            buffer.buffer.copy_to(host, stream=self.stream)
            self._sync()
        return out

    def _device_arg(self, a):
        """A numpy scalar as a Python scalar; a host array as a device buffer, uploaded once per array.

        Leaves made by creation ops (``tl.ones(2, device="cuda")``) hold host arrays until torchlite uploads
        them where they are made; such arrays are never written afterwards (in-place ops are functionalized),
        so one upload per array, kept while the array lives, is enough.
        """
        if isinstance(a, np.generic):
            return a.item()
        hit = self._uploads.get(id(a))
        if hit is not None and hit[0]() is a:
            return hit[1]
        buf = self.from_host(a)
        key = id(a)
        try:
            ref = weakref.ref(a, lambda _, key=key, uploads=self._uploads: uploads.pop(key, None))
        except TypeError:                          # an array without weakref support: upload every time
            return buf
        self._uploads[key] = (ref, buf)
        return buf

    def memory_allocated(self) -> int:
        """Bytes held by live buffers of this runtime (as requested; the pool may round them up)."""
        return self._allocated

    def max_memory_allocated(self) -> int:
        """The peak of ``memory_allocated`` since the start or the last ``reset_peak_memory_stats``."""
        return self._peak

    def reset_peak_memory_stats(self) -> None:
        self._peak = self._allocated

    def mem_get_info(self) -> tuple[int | None, int | None]:
        """(free, total) bytes of the device, as the driver reports them (``cuMemGetInfo``); None if unknown."""
        try:
            from cuda.bindings import driver
            self._make_current()
            err, free, total = driver.cuMemGetInfo()
            if int(err) != 0:
                return None, None
            return int(free), int(total)
        except Exception:
            return None, None

    # -- streams, events and launches -----------------------------------------------------------------
    def synchronize(self) -> None:
        """Wait until every copy and kernel queued on this runtime's stream has finished."""
        self._sync()

    def _sync(self) -> None:
        self.stream.sync()
        self._in_flight.clear()

    def create_event(self, enable_timing: bool = False, blocking: bool = False):
        """A ``cuda.core.Event`` of this device (not yet recorded)."""
        self._make_current()
        return self.device.create_event(self._EventOptions(timing_enabled=enable_timing, blocking_sync=blocking))

    def record(self, event) -> None:
        """Record ``event`` on this runtime's stream (after everything queued so far)."""
        self._make_current()
        self.stream.record(event)

    def kernel(self, jit_fn, signature: dict[str, str] | None = None) -> CudaKernel:
        """The launcher of ``jit_fn``: ``rt.kernel(fn)[grid](*args, **constexprs_and_options)``."""
        key = (jit_fn, tuple(sorted((signature or {}).items())))
        k = self._kernels.get(key)
        if k is None:
            k = self._kernels[key] = CudaKernel(self, jit_fn, signature)
        return k

    def __repr__(self) -> str:
        return f"CudaRuntime(cuda:{self.index}, {self.device.name})"
