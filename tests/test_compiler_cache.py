"""The compile caches: in memory by capture structure, on disk by graph structure (scalars never key)."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import torchlite as tl
from torchlite.compiler import pipeline
from torchlite.devices import backend_for


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCHLITE_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(pipeline, "_DISK", None)
    backend_for(tl.device("interpret")).clear_cache()
    yield tmp_path
    backend_for(tl.device("interpret")).clear_cache()


def _run(scale: float):
    x = tl.tensor(np.arange(6, dtype=np.float32), device="interpret")
    return ((x * scale).exp() + 1.0).numpy()


def test_structurally_equal_graph_with_other_scalars_hits(fresh_cache):
    be = backend_for(tl.device("interpret"))
    a = _run(0.5)
    misses = be.cache_info()["misses"]
    b = _run(0.25)
    assert be.cache_info()["misses"] == misses                 # same program, new scalar values
    np.testing.assert_allclose(a, np.exp(np.arange(6) * 0.5) + 1, rtol=1e-6)
    np.testing.assert_allclose(b, np.exp(np.arange(6) * 0.25) + 1, rtol=1e-6)


def test_disk_cache_serves_a_new_process_worth_of_compiles(fresh_cache):
    be = backend_for(tl.device("interpret"))
    _run(0.5)
    prog = list(be.programs.values())[-1]
    assert prog.timings["disk_hit"] is False
    be.clear_cache()                                          # as if a new process started
    _run(0.5)
    prog2 = list(be.programs.values())[-1]
    assert prog2.timings["disk_hit"] is True
    assert prog2.source == prog.source and [s.name for s in prog2.specs] == [s.name for s in prog.specs]


@pytest.mark.parametrize("damage", ["truncate", "flip"])
def test_corrupt_entry_is_reported_and_rebuilt(fresh_cache, damage):
    be = backend_for(tl.device("interpret"))
    _run(0.5)
    entries = list((fresh_cache / "programs").glob("*.json"))
    assert len(entries) == 1
    data = entries[0].read_bytes()
    if damage == "truncate":
        entries[0].write_bytes(data[: len(data) // 2])
    else:
        i = len(data) // 2
        entries[0].write_bytes(data[:i] + bytes([data[i] ^ 0x20]) + data[i + 1:])
    be.clear_cache()
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        out = _run(0.5)
    assert any("corrupt" in str(x.message) for x in w)
    np.testing.assert_allclose(out, np.exp(np.arange(6) * 0.5) + 1, rtol=1e-6)
    prog = list(be.programs.values())[-1]
    assert prog.timings["disk_hit"] is False                  # rebuilt
    be.clear_cache()
    _run(0.5)
    assert list(be.programs.values())[-1].timings["disk_hit"] is True   # and the rebuilt entry is good
