"""torchlite.save / torchlite.load: safetensors files, exact round trips, clear errors, no code execution,
atomic writes."""
from __future__ import annotations

import io
import json
import os
import pickle
import struct

import ml_dtypes
import numpy as np
import pytest
import safetensors.numpy

import torchlite as tl
import torchlite.serialization as ser
from conftest import DTYPE_NAMES

_BAD = r"torchlite\.load: .*: not a valid torchlite/safetensors file \("


def _sample(name: str, shape) -> np.ndarray:
    rng = np.random.default_rng(0)
    n = int(np.prod(shape))
    if name == "bool":
        return rng.random(n).reshape(shape) < 0.5
    d = getattr(tl, name)
    if d.is_floating_point:
        vals = rng.standard_normal(n) * 100
        vals[: min(n, 3)] = [np.inf, -0.0, np.nan][: min(n, 3)]
        return vals.astype(d.np).reshape(shape)
    info = np.iinfo(d.np)
    vals = rng.integers(info.min, info.max, n, endpoint=True, dtype=d.np)
    if n >= 2:
        vals[0], vals[1] = info.min, info.max
    return vals.reshape(shape)


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    """Bitwise equality (NaN payloads and -0.0 included) plus dtype and shape."""
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def _roundtrip(obj, tmp_path):
    path = tmp_path / "obj.safetensors"
    tl.save(obj, path)
    return tl.load(path)


@pytest.mark.parametrize("name", DTYPE_NAMES)
@pytest.mark.parametrize("shape", [(), (0,), (3, 0, 2), (5,), (2, 3, 4)])
def test_tensor_roundtrip_every_dtype_and_shape(tmp_path, name, shape):
    arr = _sample(name, shape)
    t = tl.tensor(arr, dtype=getattr(tl, name))
    out = _roundtrip(t, tmp_path)
    assert isinstance(out, tl.Tensor)
    assert out.dtype is t.dtype and out.shape == t.shape
    assert _same(out.numpy(), arr)


@pytest.mark.parametrize("name", ["float32", "bfloat16", "int64", "bool"])
def test_non_contiguous_views_saved_by_value(tmp_path, name):
    base = tl.tensor(_sample(name, (4, 6)), dtype=getattr(tl, name))
    views = {"t": base.t(), "s": base[1:, ::2], "e": base[:, 3], "x": base.reshape(2, 12)[:, 5:9].t()}
    out = _roundtrip(views, tmp_path)
    for k, v in views.items():
        assert _same(out[k].numpy(), np.ascontiguousarray(v.numpy())), k


def test_lazy_unrealized_tensor_is_saved(tmp_path):
    x = tl.arange(6.0).reshape(2, 3)
    y = (x * 2 + 1).t()                        # pending graph, not realized yet
    out = _roundtrip({"y": y}, tmp_path)["y"]
    np.testing.assert_array_equal(out.numpy(), (np.arange(6.0).reshape(2, 3) * 2 + 1).T)


def test_nested_state_dict_roundtrip(tmp_path):
    w = tl.randn(3, 4)
    state = {
        "model": {"layer.0.weight": w, "layer.0.bias": tl.zeros(4, dtype=tl.bfloat16), "step": tl.tensor(7)},
        "optimizer": {
            "state": {0: {"step": 3, "exp_avg": tl.ones(3, 4), "exp_avg_sq": tl.full((3, 4), 0.5)}, 1: {}},
            "param_groups": [{"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.0,
                              "amsgrad": False, "foreach": None, "name": "main", "params": [0, 1]}],
        },
        "epoch": 12, "best": float("inf"), "neg_zero": -0.0, "nan": float("nan"), "big": 2 ** 80,
        "empty": {}, "empty_list": [], "tags": ["a", "b"], "none": None, "flag": True,
    }
    out = _roundtrip(state, tmp_path)
    assert list(out) == list(state)
    assert list(out["model"]) == ["layer.0.weight", "layer.0.bias", "step"]
    assert _same(out["model"]["layer.0.weight"].numpy(), w.numpy())
    assert out["model"]["layer.0.bias"].dtype is tl.bfloat16
    assert out["model"]["step"].dtype is tl.int64 and out["model"]["step"].item() == 7
    opt = out["optimizer"]
    assert set(opt["state"]) == {0, 1} and all(type(k) is int for k in opt["state"])
    assert opt["state"][0]["step"] == 3 and type(opt["state"][0]["step"]) is int
    assert _same(opt["state"][0]["exp_avg_sq"].numpy(), np.full((3, 4), 0.5, np.float32))
    assert opt["state"][1] == {}
    assert opt["param_groups"] == state["optimizer"]["param_groups"]
    assert isinstance(opt["param_groups"][0]["betas"], tuple)
    assert out["epoch"] == 12 and out["best"] == float("inf") and out["big"] == 2 ** 80
    assert str(out["neg_zero"]) == "-0.0" and np.isnan(out["nan"])
    assert out["empty"] == {} and out["empty_list"] == [] and out["tags"] == ["a", "b"]
    assert out["none"] is None and out["flag"] is True
    assert type(out["flag"]) is bool and type(out["best"]) is float


def test_file_is_plain_safetensors_with_dotted_keys(tmp_path):
    path = tmp_path / "sd.safetensors"
    sd = {"enc": {"w": tl.ones(2, 3), "b": tl.zeros(3, dtype=tl.bfloat16)}, "lst": [tl.arange(4)], "n": 5}
    tl.save(sd, path)
    raw = safetensors.numpy.load_file(str(path))
    assert set(raw) == {"enc.w", "enc.b", "lst.0"}
    np.testing.assert_array_equal(raw["enc.w"], np.ones((2, 3), np.float32))
    assert raw["enc.b"].dtype == np.uint16                  # bfloat16 bits, with a dtype note in the metadata
    np.testing.assert_array_equal(raw["enc.b"].view(ml_dtypes.bfloat16).astype(np.float32), np.zeros(3))
    data = path.read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    meta = json.loads(data[8:8 + n])["__metadata__"]
    assert all(isinstance(v, str) for v in meta.values())
    assert json.loads(meta["torchlite"])["version"] == 1


def test_plain_safetensors_file_from_elsewhere_loads_as_flat_dict(tmp_path):
    path = tmp_path / "hf.safetensors"
    safetensors.numpy.save_file({"a.weight": np.arange(6, dtype=np.float16).reshape(2, 3),
                                 "b": np.array(3, np.int32)}, str(path))
    out = tl.load(path)
    assert set(out) == {"a.weight", "b"}
    assert out["a.weight"].dtype is tl.float16 and out["a.weight"].shape == (2, 3)
    assert out["b"].dtype is tl.int32 and out["b"].shape == () and out["b"].item() == 3


def test_file_objects_and_pathlike_and_str(tmp_path):
    t = tl.arange(5, dtype=tl.int16)
    buf = io.BytesIO()
    tl.save({"t": t}, buf)
    buf.seek(0)
    assert tl.load(buf)["t"].tolist() == [0, 1, 2, 3, 4]
    tl.save(t, str(tmp_path / "a"))
    assert tl.load(str(tmp_path / "a")).tolist() == [0, 1, 2, 3, 4]
    with open(tmp_path / "b", "wb") as fh:
        tl.save(t, fh)
    with open(tmp_path / "b", "rb") as fh:
        assert tl.load(fh).dtype is tl.int16


def test_shared_tensor_saved_once_and_loaded_shared(tmp_path):
    w = tl.randn(4, 4)
    out = _roundtrip({"enc": w, "dec": w}, tmp_path)
    assert out["enc"] is out["dec"]
    assert set(safetensors.numpy.load_file(str(tmp_path / "obj.safetensors"))) == {"enc"}


def test_colliding_dotted_keys_stay_distinct(tmp_path):
    a, b = tl.ones(2), tl.zeros(3)
    out = _roundtrip({"a.b": a, "a": {"b": b}}, tmp_path)
    assert out["a.b"].tolist() == [1.0, 1.0] and out["a"]["b"].tolist() == [0.0, 0.0, 0.0]


def test_requires_grad_roundtrips(tmp_path):
    p = tl.nn.Parameter(tl.ones(2))
    out = _roundtrip({"p": p, "q": tl.ones(2)}, tmp_path)
    assert out["p"].requires_grad and out["p"].is_leaf and not out["q"].requires_grad


def test_loaded_tensor_is_independent_and_writable(tmp_path):
    out = _roundtrip({"x": tl.zeros(3)}, tmp_path)["x"]
    out.add_(1)
    assert out.tolist() == [1.0, 1.0, 1.0]


def test_map_location_and_weights_only(tmp_path):
    path = tmp_path / "m.safetensors"
    tl.save({"x": tl.ones(2)}, path)
    assert tl.load(path, map_location="cpu")["x"].device == tl.device("cpu")
    assert tl.load(path, map_location=tl.device("cpu"), weights_only=False)["x"].tolist() == [1.0, 1.0]
    with pytest.raises(TypeError, match="map_location"):
        tl.load(path, map_location=lambda s, loc: s)


# -- unsupported objects on save ---------------------------------------------------------------------------
@pytest.mark.parametrize("obj, tname, key", [
    ({"a": {"b": np.zeros(3)}}, "numpy.ndarray", "'a.b'"),
    ({"opt": [1, object()]}, "object", "'opt.1'"),
    ({"s": {1, 2}}, "set", "'s'"),
    (np.float64(1.0), "numpy.float64", "<root>"),
    ({"f": lambda: 0}, "function", "'f'"),
])
def test_save_unsupported_type_names_type_and_key(tmp_path, obj, tname, key):
    path = tmp_path / "x.safetensors"
    with pytest.raises(TypeError, match=rf"torchlite\.save: cannot save an object of type {tname} at key {key}"):
        tl.save(obj, path)
    assert os.listdir(tmp_path) == []


def test_save_bad_dict_key_and_cycle(tmp_path):
    with pytest.raises(TypeError, match=r"dict keys must be str or int, got a key of type tuple .* at key 'm'"):
        tl.save({"m": {(1, 2): tl.ones(1)}}, tmp_path / "x")
    loop = {"a": 1}
    loop["self"] = loop
    with pytest.raises(ValueError, match="contains itself"):
        tl.save(loop, tmp_path / "x")
    with pytest.raises(TypeError, match="path .* or a writable binary file object"):
        tl.save({"a": 1}, 3)
    assert os.listdir(tmp_path) == []


# -- corrupt files: clear errors, never code execution -----------------------------------------------------
def _valid_bytes() -> bytes:
    buf = io.BytesIO()
    tl.save({"w": tl.arange(12.0).reshape(3, 4), "b": tl.ones(4, dtype=tl.bfloat16), "n": 3}, buf)
    return buf.getvalue()


def _header_len(data: bytes) -> int:
    return struct.unpack("<Q", data[:8])[0]


def _corrupt_header(data: bytes) -> bytes:
    n = _header_len(data)
    return data[:8] + b"{" * n + data[8 + n:]


def _wrong_offsets(data: bytes) -> bytes:
    n = _header_len(data)
    header = json.loads(data[8:8 + n])
    header["w"]["data_offsets"][1] += 4
    hb = json.dumps(header).encode()
    hb += b" " * (-len(hb) % 8)
    return struct.pack("<Q", len(hb)) + hb + data[8 + n:]


def _bad_structure(data: bytes) -> bytes:
    n = _header_len(data)
    header = json.loads(data[8:8 + n])
    header["__metadata__"]["torchlite"] = json.dumps({"version": 1, "tree": {"tensor": "missing", "dtype": "f"}})
    hb = json.dumps(header).encode()
    return struct.pack("<Q", len(hb)) + hb + data[8 + n:]


@pytest.mark.parametrize("make, reason", [
    (lambda d: b"", "the file is empty"),
    (lambda d: d[:5], "too short"),
    (lambda d: d[:-7], "truncated"),
    (lambda d: d[:8 + _header_len(d) // 2], "header length"),
    (lambda d: d + b"\0\0\0", "trailing bytes"),
    (lambda d: np.random.default_rng(1).bytes(4096), "header length"),
    (lambda d: struct.pack("<Q", 4) + b"\xff\xfe\x00{", "not valid JSON"),
    (_corrupt_header, "not valid JSON"),
    (_wrong_offsets, "data bytes but shape"),
    (_bad_structure, "not in the file"),
])
def test_corrupt_files_raise_clear_error(tmp_path, make, reason):
    path = tmp_path / "bad.safetensors"
    path.write_bytes(make(_valid_bytes()))
    with pytest.raises(RuntimeError, match=_BAD) as info:
        tl.load(path)
    assert str(path) in str(info.value) and reason in str(info.value)


def test_corrupt_file_object_error_names_the_stream():
    with pytest.raises(RuntimeError, match=r"torchlite\.load: <BytesIO>: not a valid .*the file is empty"):
        tl.load(io.BytesIO(b""))


class _Exploit:
    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.mark.parametrize("protocol", [0, 2, pickle.HIGHEST_PROTOCOL])
@pytest.mark.parametrize("weights_only", [True, False])
def test_pickle_file_is_rejected_without_running_code(tmp_path, protocol, weights_only):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    path.write_bytes(pickle.dumps({"w": _Exploit(str(marker))}, protocol=protocol))
    with pytest.raises(RuntimeError, match=_BAD) as info:
        tl.load(path, weights_only=weights_only)
    assert str(path) in str(info.value)
    assert not marker.exists()
    with pytest.raises(RuntimeError, match=_BAD):
        tl.load(io.BytesIO(path.read_bytes()), weights_only=weights_only)
    assert not marker.exists()


def test_module_has_no_pickle_path():
    import inspect
    src = inspect.getsource(ser)
    assert "import pickle" not in src and "pickle.load" not in src and "marshal" not in src


def test_missing_file_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        tl.load(tmp_path / "nope.safetensors")


# -- atomic saves ------------------------------------------------------------------------------------------
def _fail_midway(fh, data):
    fh.write(data[: len(data) // 2])
    raise OSError("disk full (simulated)")


def test_failed_save_leaves_existing_file_untouched_and_no_temp(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.safetensors"
    tl.save({"v": tl.ones(3)}, path)
    before = path.read_bytes()
    monkeypatch.setattr(ser, "_write_all", _fail_midway)
    with pytest.raises(OSError, match="disk full"):
        tl.save({"v": tl.zeros(1000)}, path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["ckpt.safetensors"]
    monkeypatch.undo()
    assert tl.load(path)["v"].tolist() == [1.0, 1.0, 1.0]


def test_failed_first_save_creates_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(ser, "_write_all", _fail_midway)
    with pytest.raises(OSError):
        tl.save(tl.ones(10), tmp_path / "new.safetensors")
    assert os.listdir(tmp_path) == []


def test_failed_replace_removes_temp(tmp_path, monkeypatch):
    path = tmp_path / "ckpt"
    path.write_bytes(b"old")

    def boom(src, dst):
        raise PermissionError("replace refused (simulated)")
    monkeypatch.setattr(ser.os, "replace", boom)
    with pytest.raises(PermissionError):
        tl.save(tl.ones(2), path)
    assert path.read_bytes() == b"old" and os.listdir(tmp_path) == ["ckpt"]


def test_save_overwrites_and_fsyncs(tmp_path, monkeypatch):
    path = tmp_path / "ckpt"
    tl.save(tl.ones(2), path)
    synced = []
    real = os.fsync
    monkeypatch.setattr(ser.os, "fsync", lambda fd: (synced.append(fd), real(fd)))
    tl.save(tl.zeros(3), path)
    assert synced and tl.load(path).tolist() == [0.0, 0.0, 0.0]
    assert os.listdir(tmp_path) == ["ckpt"]


def test_model_and_optimizer_checkpoint_resumes_identically(tmp_path):
    def make():
        tl.manual_seed(0)
        m = tl.nn.Sequential(tl.nn.Linear(3, 4), tl.nn.ReLU(), tl.nn.Linear(4, 2))
        return m, tl.optim.Adam(m.parameters(), lr=1e-2)

    def step(m, opt, x):
        opt.zero_grad()
        m(x).pow(2).sum().backward()
        opt.step()

    x = tl.randn(5, 3)
    m, opt = make()
    step(m, opt, x)
    path = tmp_path / "ckpt.safetensors"
    tl.save({"model": m.state_dict(), "optim": opt.state_dict(), "epoch": 1}, path)
    ck = tl.load(path)
    m2, opt2 = make()
    m2.load_state_dict(ck["model"])
    opt2.load_state_dict(ck["optim"])
    assert ck["optim"]["param_groups"] == opt.state_dict()["param_groups"]
    step(m, opt, x)
    step(m2, opt2, x)
    for (k, a), (k2, b) in zip(m.state_dict().items(), m2.state_dict().items()):
        assert k == k2 and _same(a.numpy(), b.numpy()), k
