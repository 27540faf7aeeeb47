"""The on-disk compile cache (compiler/cache.py): round trips, corruption, privacy, atomicity, concurrency."""
from __future__ import annotations

import os
import stat
import threading
import warnings

import pytest

from torchlite.compiler import cache as cache_mod
from torchlite.compiler.cache import DiskCache, cache_dir, cache_key, versions

ENTRY = {"source": "import triton\n\n@triton.jit\ndef pw_add_0(x):\n    pass\n", "grid": [4, 1, 1],
         "meta": {"num_warps": 4, "names": ["pw_add_0"]}}


@pytest.fixture
def root(tmp_path, monkeypatch):
    """TORCHLITE_CACHE_DIR pointing at a fresh directory that does not exist yet."""
    d = tmp_path / "tlcache"
    monkeypatch.setenv("TORCHLITE_CACHE_DIR", str(d))
    return d


def test_round_trip_and_stats(root):
    c = DiskCache("kernels")
    key = cache_key("graph", ("add", (4, 8), "float32"))
    assert c.get(key) is None
    c.put(key, ENTRY)
    assert c.get(key) == ENTRY
    assert (c.stats.hits, c.stats.misses, c.stats.corrupt, c.stats.writes) == (1, 1, 0, 1)
    assert c.path(key).parent == root / "kernels"
    assert DiskCache("kernels").get(key) == ENTRY           # a new instance (a new run) reads it back
    assert DiskCache("other").get(key) is None              # caches with different names do not share entries


def test_overwrite_replaces_entry(root):
    c = DiskCache()
    c.put("k", {"v": 1})
    c.put("k", {"v": 2})
    assert c.get("k") == {"v": 2}
    assert len(c) == 1


def test_directory_follows_env_at_call_time(tmp_path, monkeypatch):
    c = DiskCache("kernels")
    monkeypatch.setenv("TORCHLITE_CACHE_DIR", str(tmp_path / "a"))
    c.put("k", {"where": "a"})
    monkeypatch.setenv("TORCHLITE_CACHE_DIR", str(tmp_path / "b"))
    assert c.get("k") is None
    assert (tmp_path / "a" / "kernels").is_dir() and not (tmp_path / "b" / "kernels").exists()


def test_default_dir_is_xdg_cache_or_home(tmp_path, monkeypatch):
    monkeypatch.delenv("TORCHLITE_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "torchlite"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_dir() == tmp_path / "home" / ".cache" / "torchlite"


def test_created_directories_are_private_0700(root):
    old = os.umask(0o022)
    try:
        DiskCache("kernels").put("k", {"v": 1})
    finally:
        os.umask(old)
    for d in (root, root / "kernels"):
        assert stat.S_IMODE(d.stat().st_mode) == 0o700, f"{d} has mode {oct(stat.S_IMODE(d.stat().st_mode))}"
    (f,) = (root / "kernels").glob("*.json")
    assert stat.S_IMODE(f.stat().st_mode) & 0o077 == 0


def test_directory_others_can_write_is_not_used(root):
    c = DiskCache("kernels")
    c.put("k", {"v": 1})
    os.chmod(root / "kernels", 0o777)
    with pytest.warns(RuntimeWarning, match="writable by other users"):
        assert c.get("k") is None


def _corrupt_and_check(c: DiskCache, key: str, damage, expect: str) -> None:
    c.put(key, ENTRY)
    path = c.path(key)
    data = path.read_bytes()
    path.write_bytes(damage(data))
    with pytest.warns(RuntimeWarning, match=expect) as record:
        assert c.get(key) is None
    assert str(path) in str(record[0].message)              # the warning names the file
    assert not path.exists()                                 # and the bad file is gone
    assert c.stats.corrupt == 1
    c.put(key, ENTRY)                                        # the caller rebuilds it
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert c.get(key) == ENTRY


def test_truncated_entry_is_detected_deleted_and_rebuilt(root):
    _corrupt_and_check(DiskCache(), "trunc", lambda d: d[: len(d) // 2], "checksum mismatch")


def test_truncated_to_checksum_line_only_is_detected(root):
    _corrupt_and_check(DiskCache(), "trunc2", lambda d: d[:40], "no checksum line")


def test_flipped_byte_is_detected_deleted_and_rebuilt(root):
    def flip(d: bytes) -> bytes:
        i = len(d) - 10                                      # inside the JSON body, after the checksum line
        return d[:i] + bytes([d[i] ^ 0x01]) + d[i + 1:]
    _corrupt_and_check(DiskCache(), "flip", flip, "checksum mismatch")


def test_entry_for_another_key_is_detected(root):
    c = DiskCache()
    c.put("a", {"v": "a"})
    os.replace(c.path("a"), c.path("b"))                     # a file under the wrong name
    with pytest.warns(RuntimeWarning, match="holds key 'a'"):
        assert c.get("b") is None


def test_crash_between_temp_write_and_rename_leaves_no_entry(root, monkeypatch):
    c = DiskCache()
    c.put("k", {"v": "old"})

    def crash(src, dst):
        raise OSError("simulated crash before rename")
    with monkeypatch.context() as m:
        m.setattr(cache_mod.os, "replace", crash)
        with pytest.raises(OSError, match="simulated crash"):
            c.put("k", {"v": "new"})
        with pytest.raises(OSError, match="simulated crash"):
            c.put("fresh", {"v": "new"})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert c.get("k") == {"v": "old"}                    # the old entry, whole
        assert c.get("fresh") is None                        # no half-written new one
    assert [p.name for p in c.directory.iterdir() if p.name.endswith(".tmp")] == []


def test_concurrent_writers_of_one_key_leave_a_valid_entry(root):
    c = DiskCache()
    payloads = [{"writer": i, "source": f"# kernel {i}\n" * 2000} for i in range(8)]
    start = threading.Barrier(len(payloads) + 1)
    seen: list = []

    def writer(entry):
        start.wait()
        for _ in range(20):
            c.put("same", entry)

    def reader():
        start.wait()
        for _ in range(200):
            seen.append(DiskCache().get("same"))

    threads = [threading.Thread(target=writer, args=(p,)) for p in payloads] + [threading.Thread(target=reader)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")                       # a torn read would warn "corrupt"
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        final = c.get("same")
    assert final in payloads
    assert all(s is None or s in payloads for s in seen)
    assert len(c) == 1 and [p for p in c.directory.iterdir() if p.name.endswith(".tmp")] == []


def test_non_json_entry_is_refused_with_its_key(root):
    with pytest.raises(TypeError, match="'k'.*not JSON"):
        DiskCache().put("k", {"fn": object()})
    with pytest.raises(TypeError, match="is a dict"):
        DiskCache().put("k", ["not", "a", "dict"])


def test_clear_removes_entries(root):
    c = DiskCache()
    for i in range(3):
        c.put(f"k{i}", {"i": i})
    assert len(c) == 3
    assert c.clear() == 3
    assert len(c) == 0 and c.get("k0") is None


def test_cache_key_is_canonical_and_typed():
    assert cache_key({"b": 1, "a": 2}) == cache_key({"a": 2, "b": 1})
    assert cache_key({3, 1, 2}) == cache_key({2, 3, 1})
    distinct = [cache_key(v) for v in (1, 1.0, "1", True, (1,), [1], b"1", None)]
    assert len(set(distinct)) == len(distinct)
    assert cache_key(("a", "b")) != cache_key(("ab",))
    assert len(cache_key("x")) == 64 and int(cache_key("x"), 16) >= 0
    deep = ()
    for _ in range(5000):                                    # nesting deeper than the recursion limit
        deep = (deep,)
    assert len(cache_key(deep)) == 64
    with pytest.raises(TypeError, match="cannot key on a object"):
        cache_key(object())


def test_versions_are_part_of_the_file_name(root, monkeypatch):
    c = DiskCache()
    c.put("k", {"v": 1})
    before = c.path("k")
    monkeypatch.setattr(cache_mod, "versions", lambda: {**versions(), "triton": "0.0.0-other"})
    assert c.path("k") != before and c.get("k") is None      # an upgrade misses instead of reading old code
    assert set(versions()) == {"torchlite", "triton", "python"}
