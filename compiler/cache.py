"""The on-disk compile cache: generated sources and metadata kept between runs, as checked JSON text.

The caller makes a key from a graph's structure (``cache_key(...)``); the cache mixes in the versions of
torchlite, Triton and Python, so an upgrade never serves stale code. Each entry is one file whose first line
is the sha256 of the rest; a truncated or corrupted file is reported with ``warnings.warn``, deleted, and
read as a miss, so the caller rebuilds it. Writes go to a temporary file in the same directory and are then
renamed over the entry (``os.replace``), so readers see the old entry or the new one, never half of one.
Entries are JSON, never pickles: reading the cache must not run code.

    >>> c = DiskCache("kernels", directory=tempfile.mkdtemp())   # default: cache_dir() / "kernels"
    >>> c.put(cache_key("graph", (2, 3)), {"source": "def f(): pass"})
    >>> c.get(cache_key("graph", (2, 3)))["source"]
    'def f(): pass'

The directory is ``$TORCHLITE_CACHE_DIR`` if set, else ``$XDG_CACHE_HOME/torchlite`` (``~/.cache/torchlite``),
read at every call; directories it creates are private to the user (mode 0700).
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
import platform
import stat
import sys
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DiskCache", "CacheStats", "cache_dir", "cache_key", "versions"]

_FORMAT = 1   # bump when the file layout changes; old files then miss and are rebuilt


def cache_dir() -> Path:
    """The cache root now: ``$TORCHLITE_CACHE_DIR``, else ``$XDG_CACHE_HOME/torchlite``, else ``~/.cache/torchlite``.

    >>> cache_dir()                                  # doctest: +SKIP
    PosixPath('/home/me/.cache/torchlite')
    """
    if os.environ.get("TORCHLITE_CACHE_DIR"):
        return Path(os.environ["TORCHLITE_CACHE_DIR"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "torchlite"


@functools.lru_cache(maxsize=None)
def versions() -> dict[str, str]:
    """The versions every cache entry depends on: torchlite, Triton (``"none"`` when absent) and Python.

    >>> sorted(versions())
    ['python', 'torchlite', 'triton']
    """
    from importlib import metadata

    def dist_version(name: str) -> str:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return "none"

    tl = sys.modules.get("torchlite")
    triton = sys.modules.get("triton")   # the imported module is the truth; else the installed distribution
    return {
        "torchlite": str(getattr(tl, "__version__", None) or dist_version("torchlite")),
        "triton": str(getattr(triton, "__version__", None) or dist_version("triton")),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
    }


def _canonical(obj, out: list[str]) -> None:
    """Append a canonical, type-tagged text for ``obj`` (equal values give equal text, in every process)."""
    stack = [obj]
    while stack:                     # iterative: deeply nested keys do not hit the recursion limit
        x = stack.pop()
        if isinstance(x, _Close):
            out.append(x.text)
        elif x is None or isinstance(x, bool):
            out.append(repr(x))
        elif isinstance(x, (int, float)):
            out.append(f"{type(x).__name__}:{x!r}")
        elif isinstance(x, str):
            out.append(f"s{len(x)}:{x}")
        elif isinstance(x, bytes):
            out.append(f"b{len(x)}:{x.hex()}")
        elif isinstance(x, (tuple, list)):
            out.append("(" if isinstance(x, tuple) else "[")
            stack.append(_Close(")" if isinstance(x, tuple) else "]"))
            stack.extend(reversed(x))
        elif isinstance(x, dict):
            items = sorted(x.items(), key=lambda kv: _text(kv[0]))
            out.append("{")
            stack.append(_Close("}"))
            stack.extend(reversed([v for kv in items for v in kv]))
        elif isinstance(x, (set, frozenset)):
            out.append("set{")
            stack.append(_Close("}"))
            stack.extend(reversed(sorted(x, key=_text)))
        else:
            raise TypeError(f"cache_key: cannot key on a {type(x).__name__} ({x!r:.60}); pass None, bool, int, "
                            f"float, str, bytes, or tuples, lists, dicts and sets of them")
        out.append(",")


@dataclass(frozen=True)
class _Close:
    text: str


def _text(obj) -> str:
    out: list[str] = []
    _canonical(obj, out)
    return "".join(out)


def cache_key(*parts) -> str:
    """A sha256 hex digest of ``parts`` (None, bool, int, float, str, bytes, tuples, lists, dicts, sets).

    The same values give the same key in every process and run: dicts and sets are keyed sorted, and types
    are part of the key (``1``, ``1.0``, ``"1"`` and ``True`` differ).

    >>> cache_key("mm", (128, 64), {"dtype": "float16"}) == cache_key("mm", (128, 64), {"dtype": "float16"})
    True
    """
    return hashlib.sha256(_text(parts).encode()).hexdigest()


@dataclass
class CacheStats:
    """What a ``DiskCache`` has seen in this process."""
    hits: int = 0
    misses: int = 0     # includes corrupt entries, which read as misses
    corrupt: int = 0
    writes: int = 0


class DiskCache:
    """Checked JSON entries under ``<cache root>/<name>/``, one file per key.

    ``directory`` fixes the location; by default it is ``cache_dir() / name``, looked up at every call so
    that ``TORCHLITE_CACHE_DIR`` set later (by a test, say) is honoured.

        >>> c = DiskCache("doctest", directory=tempfile.mkdtemp())
        >>> c.get("ab12") is None, c.put("ab12", {"n": 1}), c.get("ab12"), c.stats.hits
        (True, None, {'n': 1}, 1)
    """

    def __init__(self, name: str = "compile", *, directory: str | os.PathLike | None = None):
        if not name or "/" in name or name.startswith("."):
            raise ValueError(f"DiskCache name {name!r} must be a plain directory name")
        self.name = name
        self._directory = Path(directory) if directory is not None else None
        self.stats = CacheStats()

    @property
    def directory(self) -> Path:
        return self._directory if self._directory is not None else cache_dir() / self.name

    def path(self, key: str) -> Path:
        """The file that holds ``key`` (its name mixes in ``versions()``)."""
        if not isinstance(key, str) or not key:
            raise TypeError(f"DiskCache key must be a non-empty str (a hex digest from cache_key), got {key!r}")
        return self.directory / f"{cache_key(_FORMAT, versions(), key)}.json"

    def get(self, key: str) -> dict | None:
        """The entry stored under ``key``, or None (missing, or corrupt: then warned about and deleted)."""
        path = self.path(key)
        try:
            if not _is_private(path.parent):
                self.stats.misses += 1
                return None
            with open(path, "rb") as f:
                inode = os.fstat(f.fileno()).st_ino
                data = f.read()
        except FileNotFoundError:
            self.stats.misses += 1
            return None
        problem, entry = _decode(data, key)
        if problem is not None:
            self.stats.corrupt += 1
            self.stats.misses += 1
            warnings.warn(f"torchlite cache: {path} is corrupt ({problem}); deleted it, the entry will be rebuilt",
                          RuntimeWarning, stacklevel=2)
            try:
                if os.stat(path).st_ino == inode:     # not a good entry a concurrent writer just put there
                    path.unlink()
            except FileNotFoundError:
                pass
            return None
        self.stats.hits += 1
        return entry

    def put(self, key: str, entry: dict) -> None:
        """Store ``entry`` (a dict of JSON data) under ``key``, atomically; concurrent writers are safe.

        JSON has no tuples: they come back from ``get`` as lists.
        """
        if not isinstance(entry, dict):
            raise TypeError(f"DiskCache.put({key!r}): an entry is a dict of JSON data, got {type(entry).__name__}")
        path = self.path(key)
        try:
            body = json.dumps({"key": key, "versions": versions(), "entry": entry}, sort_keys=True,
                              allow_nan=False).encode()
        except (TypeError, ValueError) as e:
            raise TypeError(f"DiskCache.put({key!r}): the entry is not JSON data: {e}") from None
        data = hashlib.sha256(body).hexdigest().encode() + b"\n" + body
        _make_private_dir(path.parent)
        if not _is_private(path.parent):
            return
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem[:16]}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, path)          # atomic: readers see the old file or this one, never a mix
        except BaseException:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
            raise
        self.stats.writes += 1

    def clear(self) -> int:
        """Delete every entry (and stray temporary file) of this cache; the number of files removed."""
        n = 0
        if self.directory.is_dir():
            for p in self.directory.iterdir():
                if p.is_file() and (p.suffix == ".json" or p.name.endswith(".tmp")):
                    p.unlink(missing_ok=True)
                    n += 1
        return n

    def __len__(self) -> int:
        return sum(1 for _ in self.directory.glob("*.json")) if self.directory.is_dir() else 0

    def __repr__(self) -> str:
        s = self.stats
        return (f"DiskCache({self.name!r}, {self.directory}, hits={s.hits}, misses={s.misses}, "
                f"corrupt={s.corrupt})")


def _decode(data: bytes, key: str) -> tuple[str | None, dict | None]:
    """(what is wrong, None) for a bad file, else (None, entry)."""
    head, sep, body = data.partition(b"\n")
    if not sep:
        return f"no checksum line; {len(data)} bytes, truncated?", None
    if hashlib.sha256(body).hexdigest().encode() != head:
        return f"checksum mismatch over {len(body)} bytes: truncated or modified", None
    try:
        wrapper = json.loads(body)
    except ValueError as e:
        return f"not JSON: {e}", None
    if not isinstance(wrapper, dict) or not isinstance(wrapper.get("entry"), dict):
        return "no entry object in the file", None
    if wrapper.get("key") != key:
        return f"holds key {wrapper.get('key')!r}, expected {key!r}", None
    if wrapper.get("versions") != versions():
        return f"written for versions {wrapper.get('versions')}, expected {versions()}", None
    return None, wrapper["entry"]


_warned_dirs: set[str] = set()


def _is_private(directory: Path) -> bool:
    """Whether only this user can write ``directory``; warns once per directory when not.

    Cached entries hold generated source that is imported later, so a directory others can write to would
    let them run code in this process: such a cache is not used.
    """
    st = directory.stat()
    if (hasattr(os, "getuid") and st.st_uid != os.getuid()) or st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        if str(directory) not in _warned_dirs:
            _warned_dirs.add(str(directory))
            warnings.warn(f"torchlite cache: {directory} is writable by other users or owned by another user "
                          f"(mode {stat.filemode(st.st_mode)}, uid {st.st_uid}); not using it. Fix its mode with "
                          f"chmod 700 or set TORCHLITE_CACHE_DIR", RuntimeWarning, stacklevel=3)
        return False
    return True


def _make_private_dir(path: Path) -> None:
    """Create ``path`` (and missing parents) with mode 0700; leave existing directories as they are."""
    if path.is_dir():
        return
    missing = []
    p = path
    while not p.exists():
        missing.append(p)
        p = p.parent
    for d in reversed(missing):
        try:
            d.mkdir(mode=0o700)
        except FileExistsError:       # another process made it first
            continue
        os.chmod(d, stat.S_IRWXU)     # mkdir's mode is filtered by the umask; 0700 is what we mean
