"""Overhead benchmark: what laziness costs on cpu, against numpy (and torch CPU when installed).

    python bench/overhead.py [--quick]

Prints, measured in this run:
- building one lazy op (target <= 10 us);
- a realized small op on a program-cache hit (target <= 30 us);
- 1024x1024 float32 matmul, and a 10-op elementwise chain on 4M float32, each as a ratio against the same
  work in numpy (target <= 1.2x) and torch CPU eager.
Each figure is the median of several repeats; ratios compare medians measured in the same process.
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from rich.console import Console
from rich.table import Table

import torchlite as tl

try:
    import torch
except ImportError:     # the reference is optional
    torch = None


def median_time(fn, repeat: int, number: int = 1) -> float:
    """Median seconds per call over ``repeat`` runs of ``number`` calls (after one warm-up run)."""
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        times.append((time.perf_counter() - t0) / number)
    return statistics.median(times)


def chain_numpy(x):
    y = x * 1.5
    y = y + 0.5
    y = np.sin(y)
    y = y * y
    y = y - 0.25
    y = np.exp(y)
    y = np.sqrt(y)
    y = y / 3.0
    y = np.tanh(y)
    return np.maximum(y, 0.0)


def chain_lazy(x):
    # the same 10 ops through the Tensor API (torchlite or torch)
    y = x * 1.5
    y = y + 0.5
    y = y.sin()
    y = y * y
    y = y - 0.25
    y = y.exp()
    y = y.sqrt()
    y = y / 3.0
    y = y.tanh()
    return y.relu()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer repeats (a smoke run)")
    args = ap.parse_args()
    rep = 3 if args.quick else 9
    rows = []

    a = tl.tensor(np.ones((4, 4), np.float32))
    b = tl.tensor(np.ones((4, 4), np.float32))
    n = 2000 if args.quick else 20000
    build = median_time(lambda: a + b, rep, n)
    rows.append(("build one lazy op (4x4 add)", build, None, None, "<= 10 us"))
    hit = median_time(lambda: (a + b).numpy(), rep, n)
    an = a.numpy()
    np_small = median_time(lambda: np.add(an, an), rep, n)
    t_small = None
    if torch is not None:
        ta = torch.ones(4, 4)
        t_small = median_time(lambda: ta + ta, rep, n)
    rows.append(("realized small op, cache hit", hit, np_small, t_small, "<= 30 us"))

    rng = np.random.default_rng(0)
    m1 = rng.standard_normal((1024, 1024), dtype=np.float32)
    m2 = rng.standard_normal((1024, 1024), dtype=np.float32)
    A, B = tl.from_numpy(m1), tl.from_numpy(m2)
    mm = median_time(lambda: (A @ B).numpy(), rep)
    np_mm = median_time(lambda: m1 @ m2, rep)
    t_mm = None
    if torch is not None:
        T1, T2 = torch.from_numpy(m1), torch.from_numpy(m2)
        t_mm = median_time(lambda: T1 @ T2, rep)
    rows.append(("matmul 1024x1024 f32", mm, np_mm, t_mm, "<= 1.2x numpy"))

    xs = rng.standard_normal(4 * 1024 * 1024, dtype=np.float32)
    X = tl.from_numpy(xs)
    ch = median_time(lambda: chain_lazy(X).numpy(), rep)
    np_ch = median_time(lambda: chain_numpy(xs), rep)
    t_ch = None
    if torch is not None:
        TX = torch.from_numpy(xs)
        t_ch = median_time(lambda: chain_lazy(TX), rep)
    np.testing.assert_allclose(chain_lazy(X).numpy(), chain_numpy(xs), rtol=2e-6, atol=1e-6)
    rows.append(("10-op elementwise chain, 4M f32", ch, np_ch, t_ch, "<= 1.2x numpy"))

    table = Table(title=f"torchlite overhead (cpu; numpy {np.__version__}"
                        f"{', torch ' + torch.__version__ if torch is not None else ''})")
    for col in ("benchmark", "torchlite", "numpy", "ratio vs numpy", "torch", "ratio vs torch", "target"):
        table.add_column(col, justify="right" if col != "benchmark" else "left")

    def fmt(t):
        return "-" if t is None else (f"{t * 1e6:.2f} us" if t < 1e-3 else f"{t * 1e3:.2f} ms")

    for name, t, t_np, t_t, target in rows:
        table.add_row(name, fmt(t), fmt(t_np), "-" if t_np is None else f"{t / t_np:.2f}x", fmt(t_t),
                      "-" if t_t is None else f"{t / t_t:.2f}x", target)
    Console(width=150).print(table)


if __name__ == "__main__":
    main()
