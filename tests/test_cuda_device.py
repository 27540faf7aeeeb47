"""The ``cuda`` device: torchlite.cuda's API, the CudaRuntime (cuda-core memory, copies, events; Triton launches).

Without a GPU (CI here): ``is_available()`` is False, every function and ``device="cuda"`` raise errors that name
what is missing, torch is never imported, ``CudaBuffer`` is a pointer argument Triton accepts, and the runtime's
own logic (copies of every dtype, memory statistics, the out-of-memory message, launches on its stream) runs
against a small stand-in for ``cuda.core`` that keeps "device" memory on the host.

With a GPU (``torchlite.cuda.is_available()``): the programs of tests/test_fusion.py run on cuda against numpy,
memory statistics move, out-of-memory errors name their numbers, ``.to("cuda").cpu()`` round-trips every dtype,
and events time a kernel.
"""
from __future__ import annotations

import ctypes
import gc
import subprocess
import sys
import types
from collections import namedtuple

import numpy as np
import pytest

import torchlite as tl
import torchlite.nn.functional as F
from torchlite.devices import backend_for
from torchlite.devices import cuda as cudamod
from torchlite.devices.cuda import CudaBuffer, CudaRuntime, OutOfMemoryError

from test_fusion import _log_softmax, _softmax   # the numpy references the interpret fusion tests use

needs_gpu = pytest.mark.skipif(not tl.cuda.is_available(), reason="needs a GPU")
no_gpu = pytest.mark.skipif(tl.cuda.is_available(), reason="checks the errors of a machine without a usable GPU")

RNG = np.random.default_rng(11)
DTYPES = [tl.bool, tl.uint8, tl.int8, tl.int16, tl.int32, tl.int64, tl.float16, tl.bfloat16, tl.float32, tl.float64]
SHAPES = [(), (0,), (5,), (3, 7)]


def _host(shape, dtype) -> np.ndarray:
    """Random host data of a torchlite dtype (bfloat16 as ml_dtypes.bfloat16)."""
    if dtype is tl.bool:
        return RNG.integers(0, 2, shape).astype(np.bool_)
    if dtype.is_floating_point:
        return RNG.standard_normal(shape).astype(dtype.np)
    info = np.iinfo(dtype.np)
    return RNG.integers(max(info.min, -1000), min(info.max, 1000), shape).astype(dtype.np)


def _bytes(a: np.ndarray) -> np.ndarray:
    """The raw bytes of an array (bit-exact comparison, NaNs and -0.0 included)."""
    return np.ascontiguousarray(a).reshape(-1).view(np.uint8)


# -- without a GPU -------------------------------------------------------------------------------------------------
def test_importing_and_probing_never_imports_torch():
    code = (
        "import sys, torchlite as tl\n"
        "ok = tl.cuda.is_available()\n"
        "if ok:\n"
        "    assert (tl.arange(10.0, device='cuda') * 2).sum().item() == 90.0\n"
        "    tl.cuda.synchronize()\n"
        "else:\n"
        "    try:\n"
        "        tl.ones(2, device='cuda')\n"
        "    except RuntimeError:\n"
        "        pass\n"
        "    else:\n"
        "        raise SystemExit('no error')\n"
        "print('torch' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "False"


@no_gpu
def test_is_available_is_false_and_every_function_names_the_cause():
    why = cudamod.unavailable_reason()
    assert not tl.cuda.is_available() and why
    assert tl.cuda.device_count() == 0
    calls = {"synchronize": tl.cuda.synchronize, "memory_allocated": tl.cuda.memory_allocated,
             "max_memory_allocated": tl.cuda.max_memory_allocated,
             "reset_peak_memory_stats": tl.cuda.reset_peak_memory_stats, "get_device_name": tl.cuda.get_device_name,
             "get_device_capability": tl.cuda.get_device_capability, "mem_get_info": tl.cuda.mem_get_info,
             "Event": tl.cuda.Event}
    for name, fn in calls.items():
        with pytest.raises(RuntimeError) as e:
            fn()
        assert f"torchlite.cuda.{name}: CUDA is not available: {why}" in str(e.value)


@no_gpu
def test_cuda_tensors_raise_saying_why():
    why = cudamod.unavailable_reason()
    for make in (lambda: tl.ones(2, device="cuda"), lambda: tl.ones(2).to("cuda"), lambda: tl.ones(2).cuda(),
                 lambda: tl.zeros(3, device="cuda:1")):
        with pytest.raises(RuntimeError, match=r"device 'cuda:\d' is not available: ") as e:
            make()
        assert why in str(e.value) and "device='cpu'" in str(e.value)


def test_the_probe_names_each_missing_piece(monkeypatch):
    monkeypatch.setattr(cudamod.ctypes, "CDLL", lambda name: (_ for _ in ()).throw(OSError(name)))
    assert cudamod._probe_gpus() == (0, "no NVIDIA GPU: the driver library libcuda.so.1 cannot be loaded "
                                        "(no GPU here, or its driver is not installed)")

    no_device = types.SimpleNamespace(cuInit=_settable(lambda flags: 100))    # cuInit: CUDA_ERROR_NO_DEVICE
    monkeypatch.setattr(cudamod.ctypes, "CDLL", lambda name: no_device)
    n, why = cudamod._probe_gpus()
    assert n == 0 and why.startswith("no NVIDIA GPU") and "CUDA_ERROR_NO_DEVICE (100)" in why

    monkeypatch.setattr(cudamod, "_has_module", lambda name: name != "cuda.core")
    assert cudamod._probe_cuda_core(import_it=False) == "cuda-core is not installed (pip install torchlite[cuda])"
    monkeypatch.setattr(cudamod, "_has_module", lambda name: True)
    monkeypatch.setattr(cudamod, "_dist_version", lambda name: "0.3.2")
    assert "cuda-core 0.3.2 is too old" in cudamod._probe_cuda_core(import_it=False)

    monkeypatch.setattr(cudamod, "_dist_version", lambda name: "3.7.1")
    monkeypatch.setattr(cudamod, "_has_module", lambda name: name != "torch")
    assert cudamod._probe_triton().startswith("triton 3.7.1 is too old to launch kernels without torch: upgrade "
                                              "to triton >= 3.8")
    monkeypatch.setattr(cudamod, "_has_module", lambda name: True)     # older triton is fine where torch is
    assert cudamod._probe_triton() is None
    monkeypatch.setattr(cudamod, "_dist_version", lambda name: "3.9.0")
    monkeypatch.setattr(cudamod, "_has_module", lambda name: name != "torch")
    assert cudamod._probe_triton() is None

    monkeypatch.setattr(cudamod, "_PROBE", [(0, ("no NVIDIA GPU: x", "cuda-core is not installed (y)"))])
    assert cudamod.unavailable_reason() == "no NVIDIA GPU: x; cuda-core is not installed (y)"
    with pytest.raises(RuntimeError, match=r"^cuda:0: CUDA is not available: no NVIDIA GPU: x; cuda-core"):
        CudaRuntime(0)


def _settable(fn):
    """A plain function (its ``argtypes``/``restype`` can be set, as on a ctypes function)."""
    def f(*args):
        return fn(*args)
    return f


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.name)
def test_a_cuda_buffer_is_a_triton_pointer_argument(dtype):
    pytest.importorskip("triton")
    from triton.runtime.jit import mangle_type
    from torchlite.compiler.lowering import triton_type
    buf = CudaBuffer(None, (4,), dtype, 0, None)
    assert buf.data_ptr() == 0
    assert mangle_type(buf) == "*" + {"bool": "u1"}.get(dtype.name, triton_type(dtype))


class CudaDriver:
    """Stands in for triton.backends.nvidia.driver.CudaDriver as built with torch imported (GPUDriver.__init__
    sets torch's functions); the torch-free ones are its ``_get_*`` methods."""

    def __init__(self):
        self.get_current_stream = lambda device: "torch stream"
        self.get_current_device = self.get_device_capability = self.set_current_device = "torch's"

    def _get_current_stream(self, device):
        return 0

    def _get_current_device(self):
        return 0

    def _set_current_device(self, device):
        pass

    def _get_device_capability(self, device):
        return (9, 0)


class _DriverConfig:
    """Stands in for triton.runtime.driver (a DriverConfig)."""

    def __init__(self, active=None):
        self._active = active

    @property
    def active(self):
        if self._active is None:
            raise RuntimeError("0 active drivers ([]). There should only be one.")
        return self._active

    def set_active(self, d):
        self._active = d


def test_triton_driver_routes_our_launches_and_survives_a_cpu_torch(monkeypatch):
    pytest.importorskip("triton")
    import triton.backends.nvidia.driver as nvidia
    import triton.runtime
    monkeypatch.setattr(nvidia, "CudaDriver", CudaDriver)

    monkeypatch.setattr(cudamod, "_DRIVER", [])
    drv = CudaDriver()
    monkeypatch.setattr(triton.runtime, "driver", _DriverConfig(drv))
    router = cudamod._triton_driver()
    assert drv.get_current_stream is router and cudamod._triton_driver() is router
    assert router(0) == "torch stream"                     # other code's launches: the driver's own answer
    router.local.stream = 1234
    assert router(0) == 1234                               # torchlite's launches: its stream
    router.local.stream = None

    # torch imported without CUDA: Triton sees no driver; the CudaDriver is built with its torch-free functions
    monkeypatch.setattr(cudamod, "_DRIVER", [])
    config = _DriverConfig(None)
    monkeypatch.setattr(triton.runtime, "driver", config)
    monkeypatch.setitem(sys.modules, "torch", types.ModuleType("torch"))
    router = cudamod._triton_driver()
    built = config.active
    assert isinstance(built, CudaDriver) and built.get_current_stream is router and router(0) == 0
    assert built.get_current_device() == 0 and built.get_device_capability(0) == (9, 0)

    monkeypatch.setattr(cudamod, "_DRIVER", [])
    monkeypatch.setattr(triton.runtime, "driver", _DriverConfig(None))
    monkeypatch.delitem(sys.modules, "torch")
    with pytest.raises(RuntimeError, match="Triton found no active GPU driver"):
        cudamod._triton_driver()
    monkeypatch.setattr(triton.runtime, "driver", _DriverConfig(types.SimpleNamespace(get_current_stream=None)))
    with pytest.raises(RuntimeError, match="not NVIDIA's CudaDriver"):
        cudamod._triton_driver()


# -- the runtime against a stand-in for cuda.core (host memory posing as device memory) ----------------------------
class _FakeCUDAError(Exception):
    pass


class _FakeBuffer:
    def __init__(self, size, owner=None, ptr=None):
        if ptr is None:
            self._mem = np.zeros(max(size, 1), np.uint8)
            ptr = self._mem.ctypes.data
        self.handle, self.size, self.owner = ptr, size, owner

    @staticmethod
    def from_handle(ptr, size, mr=None, owner=None, *, stream=None):
        return _FakeBuffer(size, owner, ptr)

    def copy_from(self, src, *, stream):
        assert src.size == self.size, (src.size, self.size)
        stream.log.append("copy")
        ctypes.memmove(self.handle, src.handle, self.size)

    def copy_to(self, dst, *, stream):
        dst.copy_from(self, stream=stream)
        return dst

    def fill(self, value, *, stream):
        ctypes.memset(self.handle, value, self.size)


class _FakePool:
    capacity = 1 << 20

    def allocate(self, size, *, stream):
        assert isinstance(stream, _FakeStream)
        if size > self.capacity:
            raise _FakeCUDAError("CUDA_ERROR_OUT_OF_MEMORY: out of memory")
        return _FakeBuffer(size)


class _FakeStream:
    handle = 0x5EED

    def __init__(self):
        self.log = []

    def sync(self):
        self.log.append("sync")

    def record(self, event):
        event.recorded = True


class _FakeEvent:
    def __init__(self, options):
        self.options, self.recorded, self.is_done = options, False, True

    def sync(self):
        pass

    def __sub__(self, other):
        return 1.5


class _FakeDevice:
    name = "Fake GPU"
    compute_capability = namedtuple("ComputeCapability", "major minor")(9, 0)

    def __init__(self, index=0):
        self.memory_resource = _FakePool()

    def set_current(self):
        pass

    def create_stream(self):
        return _FakeStream()

    def create_event(self, options):
        return _FakeEvent(options)


@pytest.fixture
def fake_runtime(monkeypatch):
    """A CudaRuntime on the stand-in: cuda.core, cuda.bindings.driver and Triton's driver are replaced."""
    from dataclasses import dataclass

    @dataclass
    class EventOptions:
        timing_enabled: bool = False
        blocking_sync: bool = False

    core = types.ModuleType("cuda.core")
    core.Device, core.Buffer, core.EventOptions = _FakeDevice, _FakeBuffer, EventOptions
    driver = types.ModuleType("cuda.bindings.driver")
    driver.cuMemGetInfo = lambda: (0, 3 << 20, 4 << 20)
    bindings = types.ModuleType("cuda.bindings")
    bindings.driver = driver
    pkg = types.ModuleType("cuda")
    pkg.core, pkg.bindings = core, bindings
    for name, mod in (("cuda", pkg), ("cuda.core", core), ("cuda.bindings", bindings),
                      ("cuda.bindings.driver", driver)):
        monkeypatch.setitem(sys.modules, name, mod)
    monkeypatch.setattr(cudamod, "_PROBE", [(1, ())])
    router = cudamod._StreamRouter(lambda device: 0)
    monkeypatch.setattr(cudamod, "_triton_driver", lambda: router)
    return CudaRuntime(0)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.name)
def test_fake_device_round_trips_every_dtype_and_shape(fake_runtime, dtype):
    rt = fake_runtime
    for shape in SHAPES:
        a = _host(shape, dtype)
        buf = rt.from_host(a)
        assert buf.shape == shape and buf.dtype is dtype and buf.nbytes == a.nbytes
        assert bool(rt._in_flight) == bool(a.nbytes)                  # the source lives until the next sync
        back = rt.to_host(buf)
        assert not rt._in_flight and (not a.nbytes or rt.stream.log[-2:] == ["copy", "sync"])
        assert back.dtype == a.dtype and back.shape == shape
        np.testing.assert_array_equal(_bytes(back), _bytes(a))
    z = rt.to_host(rt.zeros((2, 3), dtype))
    assert z.dtype == dtype.np and not z.astype(np.float64).any()
    t = rt.to_host(rt.from_host(_host((4, 6), dtype).T))                 # a transposed (non-contiguous) input
    assert t.shape == (6, 4)


def test_fake_device_memory_statistics_and_out_of_memory(fake_runtime, monkeypatch):
    rt = fake_runtime
    base = rt.memory_allocated()
    a = rt.empty((1000,), tl.float32)
    b = rt.zeros((10, 10), tl.int64)
    assert rt.memory_allocated() == base + 4000 + 800
    del a
    assert rt.memory_allocated() == base + 800
    assert rt.max_memory_allocated() == base + 4800
    rt.reset_peak_memory_stats()
    assert rt.max_memory_allocated() == base + 800
    assert rt.empty((0, 3), tl.float32).data_ptr() == 0 and rt.memory_allocated() == base + 800

    with pytest.raises(OutOfMemoryError) as e:
        rt.empty((1 << 20,), tl.float64)                  # 8 MiB from a 1 MiB pool
    msg = str(e.value)
    assert isinstance(e.value, RuntimeError) and e.value.__class__ is tl.cuda.OutOfMemoryError
    assert "cuda: out of memory on cuda:0 (Fake GPU): tried to allocate 8.00 MiB (8388608 bytes)" in msg
    assert f"torchlite has {base + 800} bytes allocated (peak {base + 800} bytes)" in msg
    assert "3.00 MiB (3145728 bytes) free of 4.00 MiB (4194304 bytes) total" in msg
    assert rt.memory_allocated() == base + 800                       # the failed request is not counted
    def broken(size, *, stream):
        raise _FakeCUDAError("CUDA_ERROR_INVALID_VALUE: invalid argument")
    monkeypatch.setattr(rt._mr, "allocate", broken)
    with pytest.raises(_FakeCUDAError, match="INVALID_VALUE"):       # other errors pass through unchanged
        rt.empty((4,), tl.float32)
    del b


def test_fake_device_launches_on_its_own_stream(fake_runtime, monkeypatch):
    pytest.importorskip("triton")
    from _interpret_kernels import add_kernel
    rt = fake_runtime
    seen = []

    def run(*args, grid, warmup, **kwargs):
        seen.append((args, grid, kwargs, rt._router(0)))
    monkeypatch.setattr(add_kernel, "run", run)
    x, out = rt.from_host(np.ones(8, np.float32)), rt.empty((8,), tl.float32)
    leaf = np.arange(8, dtype=np.float32)                               # a host array, as creation ops make
    k = rt.kernel(add_kernel, signature={"n": "i32"})
    assert rt.kernel(add_kernel, signature={"n": "i32"}) is k
    k[(1,)](x, leaf, out, np.int64(8), BLOCK=8, num_warps=1)
    k[(1,)](x, leaf, out, 8, BLOCK=8, num_warps=1)
    (args, grid, kwargs, stream), (args2, *_rest) = seen
    assert stream == _FakeStream.handle and rt._router(0) == 0          # our stream inside, Triton's own after
    assert grid == (1,) and kwargs == {"BLOCK": 8, "num_warps": 1}
    assert args[0] is x and isinstance(args[1], CudaBuffer) and args[3] == 8 and type(args[3]) is int
    assert args2[1] is args[1]                                           # the host array was uploaded once
    np.testing.assert_array_equal(rt.to_host(args[1]), leaf)
    del leaf
    gc.collect()
    assert not rt._uploads                                               # ... and forgotten with it


def test_fake_device_events(fake_runtime, monkeypatch):
    monkeypatch.setattr(tl.cuda, "_runtime", lambda device=None, what="": fake_runtime)
    start, end = tl.cuda.Event(enable_timing=True), tl.cuda.Event(enable_timing=True)
    assert start._event.options.timing_enabled
    with pytest.raises(RuntimeError, match="must be recorded first"):
        start.elapsed_time(end)
    start.record()
    end.record()
    assert end.query() and start.elapsed_time(end) == 1.5
    with pytest.raises(RuntimeError, match="enable_timing=True"):
        tl.cuda.Event().elapsed_time(end)


# -- on a GPU ------------------------------------------------------------------------------------------------------
def _arr(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


def _gelu(y):
    from math import erf
    return 0.5 * y * (1 + np.vectorize(erf)(y / np.sqrt(2)))


def _chain(x, n=20, abs_=abs):
    for i in range(n):
        x = (x * 0.9 + 0.1) if i % 2 else abs_(x - 0.05)
    return x


_T1, _T2 = RNG.integers(0, 11, 8), RNG.integers(0, 13, 16)

# The programs of tests/test_fusion.py: (name, fn, input arrays, numpy float64 reference, tolerance).
FUSION_PROGRAMS = [
    ("softmax_1x1", lambda x: x.softmax(-1), [_arr(1, 1)], _softmax, 1e-5),
    ("softmax_5x17", lambda x: x.softmax(-1), [_arr(5, 17)], _softmax, 1e-5),
    ("softmax_3x1023", lambda x: x.softmax(-1), [_arr(3, 1023)], _softmax, 1e-5),
    ("log_softmax", lambda x: x.log_softmax(-1), [_arr(6, 33)], _log_softmax, 1e-5),
    ("softmax_leading_axis", lambda x: x.softmax(0), [_arr(17, 5)], lambda a: _softmax(a, 0), 1e-5),
    ("layer_norm", lambda x, w, b: F.layer_norm(x, (33,), w, b), [_arr(7, 33), _arr(33), _arr(33)],
     lambda x, w, b: (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + 1e-5) * w + b, 1e-5),
    ("rms_norm", lambda x, w: F.rms_norm(x, (40,), w, eps=1e-6), [_arr(9, 40), _arr(40)],
     lambda x, w: x / np.sqrt((x * x).mean(-1, keepdims=True) + 1e-6) * w, 1e-5),
    ("var", lambda x: x.var(-1), [_arr(4, 50)], lambda a: a.var(-1, ddof=1), 1e-5),
    ("centering", lambda x: x - x.mean(-1, keepdim=True), [_arr(6, 17)], lambda a: a - a.mean(-1, keepdims=True),
     1e-5),
    ("cross_entropy_per_row", lambda x: F.cross_entropy(x, tl.tensor(_T1).to(x.device), reduction="none"),
     [_arr(8, 11)], lambda a: -_log_softmax(a)[np.arange(8), _T1], 1e-5),
    ("cross_entropy_mean", lambda x: F.cross_entropy(x, tl.tensor(_T2).to(x.device)), [_arr(16, 13)],
     lambda a: -_log_softmax(a)[np.arange(16), _T2].mean(), 1e-5),
    ("linear_bias_gelu", lambda x, w, b: F.gelu(F.linear(x, w, b)), [_arr(17, 24), _arr(19, 24), _arr(19)],
     lambda x, w, b: _gelu(x @ w.T + b), 1e-4),
    ("elementwise_chain_20", lambda x: _chain(x, abs_=lambda t: t.abs()), [_arr(1023)],
     lambda a: _chain(a, abs_=np.abs), 1e-5),
    ("mlp_3_layers", lambda x, w1, b1, w2, b2, w3: F.linear(F.relu(F.linear(F.relu(F.linear(x, w1, b1)), w2, b2)), w3),
     [_arr(17, 16), _arr(32, 16), _arr(32), _arr(24, 32), _arr(24), _arr(10, 24)],
     lambda x, w1, b1, w2, b2, w3: np.maximum(np.maximum(x @ w1.T + b1, 0) @ w2.T + b2, 0) @ w3.T, 1e-4),
    ("movement_ops", lambda x: (x.permute(1, 0).reshape(-1)[3:59:2].flip(0) * 2.0).reshape(2, -1), [_arr(5, 12)],
     lambda a: (a.T.reshape(-1)[3:59:2][::-1] * 2).reshape(2, -1), 1e-5),
    ("cat_pad_exp", lambda a, b: F.pad(tl.cat([a, b], 1), (1, 2)).exp(), [_arr(3, 4), _arr(3, 5)],
     lambda a, b: np.exp(np.pad(np.concatenate([a, b], 1), ((0, 0), (1, 2)))), 1e-5),
    ("reduction_prologue_epilogue", lambda x: ((x * 2.0).exp().sum(-1) + 1.0).sqrt(), [_arr(9, 31)],
     lambda a: np.sqrt(np.exp(a * 2).sum(-1) + 1), 1e-5),
    ("looped_softmax", lambda x: x.softmax(-1), [_arr(2, 3000)], _softmax, 1e-5),
]


@needs_gpu
@pytest.mark.parametrize("name,fn,arrays,reference,tol", FUSION_PROGRAMS, ids=[p[0] for p in FUSION_PROGRAMS])
def test_fusion_programs_on_cuda_match_numpy(name, fn, arrays, reference, tol):
    got = fn(*[tl.tensor(a).to("cuda") for a in arrays])
    assert got.device == tl.device("cuda")
    want = reference(*[a.astype(np.float64) for a in arrays])
    np.testing.assert_allclose(got.numpy().astype(np.float64), want, rtol=tol, atol=tol)


@needs_gpu
def test_runtime_launches_a_kernel_on_its_own_stream():
    import triton
    from _interpret_kernels import add_kernel
    rt = backend_for(tl.device("cuda")).runtime
    n = 1000
    x, y = _arr(n), _arr(n)
    bx, by, out = rt.from_host(x), rt.from_host(y), rt.empty((n,), tl.float32)
    rt.kernel(add_kernel)[(triton.cdiv(n, 128),)](bx, by, out, n, BLOCK=128, num_warps=4)
    np.testing.assert_array_equal(rt.to_host(out), x + y)
    stream_of = triton.runtime.driver.active.get_current_stream
    assert stream_of(rt.index) != rt.stream_handle           # outside torchlite's launches Triton answers as before


@needs_gpu
def test_creation_ops_and_host_reads_on_cuda():
    x = tl.ones(3, device="cuda") * 2
    assert x.device == tl.device("cuda") and x.is_cuda
    assert x.tolist() == [2.0, 2.0, 2.0] and x.sum().item() == 6.0
    assert isinstance(x.numpy(), np.ndarray) and "cuda:0" in repr(x)
    y = tl.arange(6.0, device="cuda").reshape(2, 3).softmax(-1)
    np.testing.assert_allclose(y.numpy(), _softmax(np.arange(6.0).reshape(2, 3)), rtol=1e-6)


@needs_gpu
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.name)
def test_to_cuda_and_back_round_trips_every_dtype(dtype):
    for shape in SHAPES:
        a = _host(shape, dtype)
        t = tl.tensor(a).to("cuda")
        assert t.device == tl.device("cuda") and t.dtype is dtype and tuple(t.shape) == shape
        back = t.cpu()
        assert back.device == tl.device("cpu")
        np.testing.assert_array_equal(_bytes(back.numpy()), _bytes(a))
        np.testing.assert_array_equal(_bytes(t.numpy()), _bytes(a))
        if shape == ():
            assert t.item() == back.item()


@needs_gpu
def test_memory_statistics_move():
    gc.collect()
    tl.cuda.synchronize()
    tl.cuda.reset_peak_memory_stats()
    before = tl.cuda.memory_allocated()
    x = tl.tensor(np.ones(1 << 20, np.float32)).to("cuda")                  # 4 MiB
    assert tl.cuda.memory_allocated() == before + (4 << 20)
    assert tl.cuda.max_memory_allocated() >= before + (4 << 20)
    del x
    gc.collect()
    assert tl.cuda.memory_allocated() == before
    assert tl.cuda.max_memory_allocated() >= before + (4 << 20)
    tl.cuda.reset_peak_memory_stats()
    assert tl.cuda.max_memory_allocated() == tl.cuda.memory_allocated()
    free, total = tl.cuda.mem_get_info()
    assert 0 < free <= total


@needs_gpu
def test_memory_pool_keeps_freed_memory():
    rt = backend_for(tl.device("cuda")).runtime
    assert rt.pool_keeps_memory and rt._mr.attributes.release_threshold == 2**64 - 1


@needs_gpu
def test_out_of_memory_error_names_the_numbers():
    rt = backend_for(tl.device("cuda")).runtime
    free, total = tl.cuda.mem_get_info()
    before = tl.cuda.memory_allocated()
    with pytest.raises(tl.cuda.OutOfMemoryError) as e:
        rt.empty((2 * total,), tl.uint8)
    msg = str(e.value)
    assert isinstance(e.value, RuntimeError)
    assert "tried to allocate" in msg and f"({2 * total} bytes)" in msg
    assert "allocated (peak" in msg and f"({total} bytes) total" in msg
    assert tl.cuda.memory_allocated() == before


@needs_gpu
def test_events_time_a_kernel():
    x = tl.tensor(_arr(1 << 20)).to("cuda")
    ((x * 2.0).exp() * 3.0).realize()                              # compile outside the timed region
    start, end = tl.cuda.Event(enable_timing=True), tl.cuda.Event(enable_timing=True)
    start.record()
    y = ((x * 2.0).exp() * 3.0).realize()
    end.record()
    end.synchronize()
    ms = start.elapsed_time(end)
    assert end.query() and 0.0 < ms < 10_000.0
    np.testing.assert_allclose(y.numpy(), np.exp(x.numpy() * 2.0) * 3.0, rtol=1e-5)
    with pytest.raises(RuntimeError, match="enable_timing=True"):
        tl.cuda.Event().elapsed_time(end)


@needs_gpu
def test_device_facts_and_synchronize():
    assert tl.cuda.device_count() >= 1
    name = tl.cuda.get_device_name()
    assert isinstance(name, str) and name
    major, minor = tl.cuda.get_device_capability()
    assert major >= 5 and minor >= 0
    assert tl.cuda.synchronize() is None
