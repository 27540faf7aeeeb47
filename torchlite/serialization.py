"""``torchlite.save`` / ``torchlite.load``: tensors and nested containers of them, as safetensors files.

A file is a plain safetensors file: every tensor is stored under a dotted key (``"state.0.exp_avg"``), and the
structure around the tensors (dicts, lists, tuples, Python numbers, strings, bools, None) is one JSON string in
the header's ``__metadata__`` under ``"torchlite"``. Loading never runs code: there is no pickle path at all.
bfloat16 is stored as its uint16 bits with a dtype note (numpy's safetensors API has no bfloat16). Saving to a
path is atomic: a temp file in the same directory is written, fsynced, and ``os.replace``d onto the path.

    >>> import os, tempfile, torchlite as tl
    >>> path = os.path.join(tempfile.mkdtemp(), "w.safetensors")
    >>> tl.save({"w": tl.ones(2, 3), "step": 7}, path); tl.load(path)["step"]
    7
"""
from __future__ import annotations

import json
import os
import secrets
import struct

import numpy as np

from . import dtypes as _dt
from .devices import to_device
from .tensor import Tensor

__all__ = ["save", "load"]

_FORMAT_VERSION = 1
_META_KEY = "torchlite"
_SUPPORTED = "Tensor, dict, list, tuple, int, float, bool, str or None"


# -- encoding: object tree -> (flat numpy arrays, JSON structure) ------------------------------------------
class _Encoder:
    """Walks the object once: collects contiguous arrays under unique dotted keys and builds the JSON tree."""

    def __init__(self):
        self.arrays: dict[str, np.ndarray] = {}
        self._by_id: dict[int, str] = {}          # the same Tensor object twice is stored once
        self._open: set[int] = set()              # containers being encoded (cycle check)

    def encode(self, obj, path: str):
        if isinstance(obj, Tensor):
            return self._tensor(obj, path)
        if obj is None or isinstance(obj, (bool, int, float, str)):
            if type(obj) not in (type(None), bool, int, float, str):   # int/str subclasses (enums): reject
                raise _type_error(obj, path)
            return obj if not isinstance(obj, float) else {"float": repr(obj)}
        if isinstance(obj, (dict, list, tuple)):
            if id(obj) in self._open:
                raise ValueError(f"torchlite.save: the object at key {_show(path)} contains itself")
            self._open.add(id(obj))
            try:
                if isinstance(obj, dict):
                    items = []
                    for k, v in obj.items():
                        if type(k) not in (str, int):
                            raise TypeError(f"torchlite.save: dict keys must be str or int, got a key of type "
                                            f"{type(k).__name__} ({k!r}) at key {_show(path)}")
                        items.append([k, self.encode(v, _join(path, str(k)))])
                    return {"dict": items}
                kind = "list" if isinstance(obj, list) else "tuple"
                return {kind: [self.encode(v, _join(path, str(i))) for i, v in enumerate(obj)]}
            finally:
                self._open.discard(id(obj))
        raise _type_error(obj, path)

    def _tensor(self, t: Tensor, path: str) -> dict:
        if id(t) in self._by_id:
            key = self._by_id[id(t)]
        else:
            key = path or "tensor"
            n = 1
            while key in self.arrays or key == "__metadata__":
                key, n = f"{path or 'tensor'}#{n}", n + 1
            arr = t.detach().numpy()
            if not arr.flags.c_contiguous:       # (np.ascontiguousarray would turn 0-d into 1-d)
                arr = np.ascontiguousarray(arr)
            if t.dtype is _dt.bfloat16:
                arr = arr.view(np.uint16)
            self.arrays[key] = arr
            self._by_id[id(t)] = key
        node = {"tensor": key, "dtype": t.dtype.name}
        if t.requires_grad:
            node["requires_grad"] = True
        return node


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _show(path: str) -> str:
    return repr(path) if path else "<root>"


def _type_error(obj, path: str) -> TypeError:
    tp = type(obj)
    name = tp.__name__ if tp.__module__ == "builtins" else f"{tp.__module__}.{tp.__qualname__}"
    return TypeError(f"torchlite.save: cannot save an object of type {name} at key {_show(path)} "
                     f"(supported: {_SUPPORTED})")


def _serialize(obj) -> bytes:
    import safetensors.numpy
    enc = _Encoder()
    tree = enc.encode(obj, "")
    meta = {"format": "torchlite", _META_KEY: json.dumps({"version": _FORMAT_VERSION, "tree": tree},
                                                        separators=(",", ":"))}
    return safetensors.numpy.save(enc.arrays, metadata=meta)


# -- writing ---------------------------------------------------------------------------------------------
def _write_all(fh, data: bytes) -> None:
    """Write ``data`` to the open binary file ``fh`` (one place, so tests can make it fail midway)."""
    view = memoryview(data)
    while view:
        n = fh.write(view)
        view = view[n if n is not None else len(view):]


def _atomic_write(path: str, data: bytes) -> None:
    dirname = os.path.dirname(os.path.abspath(path))
    base = os.path.basename(path)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        tmp = os.path.join(dirname, f".{base}.{secrets.token_hex(6)}.tmp")
        try:
            fd = os.open(tmp, flags, 0o666)          # 0o666 & ~umask, like a plain open()
            break
        except FileExistsError:
            continue
    try:
        with os.fdopen(fd, "wb") as fh:
            _write_all(fh, data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    try:                                            # make the rename itself durable (POSIX; best effort)
        dfd = os.open(dirname, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dfd)
    except OSError:
        pass
    finally:
        os.close(dfd)


def save(obj, f) -> None:
    """Save a tensor, or a (nested) dict/list/tuple of tensors and plain Python values, to ``f``.

    ``f`` is a path (written atomically) or a writable binary file object. The file is a safetensors file.

        >>> import io, torchlite as tl
        >>> buf = io.BytesIO(); tl.save({"w": tl.zeros(2)}, buf); buf.seek(0)
        0
    """
    data = _serialize(obj)           # every TypeError is raised here, before anything is written
    if isinstance(f, (str, os.PathLike)):
        _atomic_write(os.fspath(f), data)
    elif hasattr(f, "write"):
        _write_all(f, data)
        if hasattr(f, "flush"):
            f.flush()
    else:
        raise TypeError(f"torchlite.save: f must be a path (str or os.PathLike) or a writable binary file "
                        f"object, got {type(f).__name__}")


# -- reading ---------------------------------------------------------------------------------------------
class _Invalid(Exception):
    """Why a file is not a valid torchlite/safetensors file (turned into the RuntimeError by load)."""


_ST_DTYPES = {"BOOL": np.bool_, "U8": np.uint8, "I8": np.int8, "I16": np.int16, "U16": np.uint16,
              "I32": np.int32, "I64": np.int64, "F16": np.float16, "F32": np.float32, "F64": np.float64}


def _parse(data: bytes) -> tuple[dict[str, np.ndarray], dict]:
    """Validate and read a safetensors buffer: (name -> array, header metadata). Raises _Invalid."""
    if len(data) == 0:
        raise _Invalid("the file is empty")
    if len(data) < 8:
        raise _Invalid(f"the file is {len(data)} bytes, too short for the 8-byte header length")
    (n,) = struct.unpack("<Q", data[:8])
    if n > len(data) - 8:
        raise _Invalid(f"the header length {n} exceeds the {len(data) - 8} bytes after it (truncated or not "
                       f"a safetensors file)")
    try:
        header = json.loads(data[8:8 + n].decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise _Invalid(f"the header is not valid JSON: {e}") from None
    if not isinstance(header, dict):
        raise _Invalid("the header is not a JSON object")
    meta = header.pop("__metadata__", None) or {}
    if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
        raise _Invalid("__metadata__ is not a map of strings")
    body = memoryview(data)[8 + n:]
    arrays, spans = {}, []
    for name, info in header.items():
        try:
            st_dtype, shape, (start, stop) = info["dtype"], info["shape"], info["data_offsets"]
        except (TypeError, KeyError, ValueError):
            raise _Invalid(f"tensor {name!r} has a malformed header entry") from None
        if st_dtype not in _ST_DTYPES:
            raise _Invalid(f"tensor {name!r} has the unsupported dtype {st_dtype!r}")
        if (not isinstance(shape, list) or not all(type(s) is int and s >= 0 for s in shape)
                or type(start) is not int or type(stop) is not int or not 0 <= start <= stop):
            raise _Invalid(f"tensor {name!r} has a malformed shape or data offsets")
        np_dtype = np.dtype(_ST_DTYPES[st_dtype])
        nbytes = int(np.prod(shape, dtype=object)) * np_dtype.itemsize
        if stop - start != nbytes:
            raise _Invalid(f"tensor {name!r} has {stop - start} data bytes but shape {shape} needs {nbytes}")
        if stop > len(body):
            raise _Invalid(f"tensor {name!r} ends at byte {stop} of a {len(body)}-byte data section "
                           f"(truncated)")
        arrays[name] = np.frombuffer(body[start:stop], dtype=np_dtype).reshape(shape).copy()
        spans.append((start, stop))
    spans.sort()
    end = 0
    for start, stop in spans:
        if start != end:
            raise _Invalid("tensor data offsets overlap or leave gaps")
        end = stop
    if end != len(body):
        raise _Invalid(f"{len(body) - end} unexpected trailing bytes after the tensor data")
    return arrays, meta


def _decode(tree, arrays: dict, made: dict, device):
    if tree is None or isinstance(tree, (bool, int, str)):
        return tree
    if isinstance(tree, dict) and len(tree) >= 1:
        if "tensor" in tree:
            return _make_tensor(tree, arrays, made, device)
        if set(tree) == {"float"} and isinstance(tree["float"], str):
            try:
                return float(tree["float"])
            except ValueError:
                raise _Invalid(f"bad float literal {tree['float']!r} in the structure") from None
        if set(tree) == {"dict"} and isinstance(tree["dict"], list):
            out = {}
            for item in tree["dict"]:
                if not (isinstance(item, list) and len(item) == 2 and type(item[0]) in (str, int)):
                    raise _Invalid("malformed dict entry in the structure")
                out[item[0]] = _decode(item[1], arrays, made, device)
            return out
        if len(tree) == 1 and next(iter(tree)) in ("list", "tuple") and isinstance(next(iter(tree.values())), list):
            kind, items = next(iter(tree.items()))
            vals = [_decode(v, arrays, made, device) for v in items]
            return vals if kind == "list" else tuple(vals)
    raise _Invalid(f"unrecognised node in the structure: {str(tree)[:80]}")


def _make_tensor(node: dict, arrays: dict, made: dict, device) -> Tensor:
    from .ops.creation import _leaf
    key, name = node.get("tensor"), node.get("dtype")
    if key in made:
        return made[key]
    if key not in arrays:
        raise _Invalid(f"the structure names a tensor {key!r} that is not in the file")
    d = _dt._NAMES.get(name) if isinstance(name, str) else None
    if d is None:
        raise _Invalid(f"tensor {key!r} has an unknown dtype note {name!r}")
    arr = arrays[key]
    stored = np.dtype(np.uint16) if d is _dt.bfloat16 else d.np
    if arr.dtype != stored:
        raise _Invalid(f"tensor {key!r} is stored as {arr.dtype} but its dtype note says {name}")
    if d is _dt.bfloat16:
        arr = arr.view(d.np)
    t = _leaf(arr, d, "cpu")
    if device is not None and device != t.device:
        t = t.to(device)
    if node.get("requires_grad") is True:
        t.requires_grad_(True)
    made[key] = t
    return t


def _map_device(map_location):
    if map_location is None:
        return None
    if isinstance(map_location, Tensor) or callable(map_location) or isinstance(map_location, dict):
        raise TypeError("torchlite.load: map_location must be None, a device or a device string, got "
                        f"{type(map_location).__name__}")
    return to_device(map_location)


def load(f, map_location=None, weights_only: bool = True):
    """Load what ``save`` wrote (or any safetensors file, as a flat ``{name: tensor}`` dict).

    Never runs code from the file: ``weights_only=False`` is accepted for compatibility but changes nothing.

        >>> import io, torchlite as tl
        >>> buf = io.BytesIO(); tl.save(tl.arange(3), buf); _ = buf.seek(0); tl.load(buf).tolist()
        [0, 1, 2]
    """
    device = _map_device(map_location)
    if isinstance(f, (str, os.PathLike)):
        name = os.fspath(f)
        with open(name, "rb") as fh:
            data = fh.read()
    elif hasattr(f, "read"):
        name = getattr(f, "name", None)
        name = name if isinstance(name, (str, bytes)) and name else f"<{type(f).__name__}>"
        data = f.read()
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"torchlite.load: {name}: expected a binary file object (read() returned "
                            f"{type(data).__name__})")
        data = bytes(data)
    else:
        raise TypeError(f"torchlite.load: f must be a path (str or os.PathLike) or a readable binary file "
                        f"object, got {type(f).__name__}")
    try:
        arrays, meta = _parse(data)
        if _META_KEY not in meta:                  # a safetensors file from elsewhere: flat name -> tensor
            from .ops.creation import _leaf
            out = {k: _leaf(a, _dt.from_numpy_dtype(a.dtype), "cpu") for k, a in arrays.items()}
            return {k: (t.to(device) if device is not None else t) for k, t in out.items()}
        try:
            doc = json.loads(meta[_META_KEY])
        except ValueError as e:
            raise _Invalid(f"the torchlite structure is not valid JSON: {e}") from None
        if not isinstance(doc, dict) or "tree" not in doc:
            raise _Invalid("the torchlite structure has no tree")
        if doc.get("version") != _FORMAT_VERSION:
            raise _Invalid(f"unsupported torchlite format version {doc.get('version')!r}")
        return _decode(doc["tree"], arrays, {}, device)
    except _Invalid as e:
        raise RuntimeError(f"torchlite.load: {name}: not a valid torchlite/safetensors file ({e})") from None
    except RecursionError:
        raise RuntimeError(f"torchlite.load: {name}: not a valid torchlite/safetensors file (the structure is "
                           "nested too deeply)") from None

