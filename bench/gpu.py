"""GPU benchmark: the fusion suite's generated kernels on a real GPU, against torch and the roofline.

    python bench/gpu.py [--batch 512] [--repeat 50] [--device cuda]

For each program of bench/fusion.py's suite (``--batch`` sequences of 64 rows: 16 MiB activations at the
default, so memory traffic, not launch latency, is what is timed) it prints, all measured in this run:

- torchlite: the compiled program replayed back to back (CUDA events around ``--repeat`` launches of the
  whole program; the lazy capture and cache lookup of eager use are timed separately, as ``call us``);
- bytes moved (the kernels' estimate, as in bench/fusion.py) over the time: GB/s, and that as a fraction of
  the copy bandwidth measured here (a device-to-device copy of 1 GiB, by torch when installed, else by a
  torchlite copy kernel): the roofline for memory-bound programs;
- torch eager on the same GPU running the same code (``import torch`` in place of ``torchlite``), and the
  ratio torchlite / torch (below 1: torchlite is faster).

Without a GPU it says so and exits with status 2. ``--device interpret`` runs the same logic on Triton's
interpreter with wall-clock timing (to check the script, not to measure anything).
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time

from rich.console import Console
from rich.table import Table

import torchlite as tl
import torchlite.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fusion import suite  # noqa: E402

try:
    import torch
except ImportError:                     # the torch columns are left out
    torch = None


class Timer:
    """Median milliseconds of ``fn`` over ``repeat`` back-to-back runs, after ``warmup``: CUDA events on
    cuda (``events``: torchlite's or torch's), the wall clock (after a synchronize) elsewhere."""

    def __init__(self, device: str, events, sync, warmup: int = 3):
        self.device, self.events, self.sync, self.warmup = device, events, sync, warmup

    def __call__(self, fn, repeat: int) -> float:
        for _ in range(self.warmup):
            fn()
        self.sync()
        if self.events is None:
            times = []
            for _ in range(repeat):
                t0 = time.perf_counter()
                fn()
                self.sync()
                times.append((time.perf_counter() - t0) * 1e3)
            return statistics.median(times)
        start, end = self.events(enable_timing=True), self.events(enable_timing=True)
        start.record()
        for _ in range(repeat):
            fn()
        end.record()
        end.synchronize()
        return start.elapsed_time(end) / repeat


def replayable(fn, args, device):
    """``(run, program, bytes_moved)``: ``run()`` launches ``fn``'s compiled program on its captured inputs
    (no capture, no lookup: what the GPU does per call)."""
    from torchlite.devices import backend_for
    from torchlite.lazy import capture
    out = fn(*args)
    outs = out if isinstance(out, (tuple, list)) else (out,)
    cap = capture([o.node for o in outs])
    program = backend_for(tl.device(device)).lookup(cap)
    inputs = [leaf.value for leaf in cap.leaves] + list(cap.scalars)
    return (lambda: program(*inputs)), program, sum(s.bytes_moved for s in program.specs)


def copy_bandwidth(device: str, timer: Timer, repeat: int) -> tuple[float, str]:
    """Bytes per second of a 1 GiB device-to-device copy (read + write), and who measured it."""
    n = (1 << 30) // 4 if device == "cuda" else 1 << 20
    if torch is not None and device == "cuda":
        src = torch.empty(n, device="cuda")
        dst = torch.empty_like(src)
        t = Timer(device, torch.cuda.Event, torch.cuda.synchronize, timer.warmup)(lambda: dst.copy_(src), repeat)
        return 2 * 4 * n / (t / 1e3), "torch copy_"
    src = tl.zeros(n, device=device).realize()
    run, _, _ = replayable(lambda x: x * 1.0, (src,), device)      # one pointwise kernel: read n, write n
    return 2 * 4 * n / (timer(run, repeat) / 1e3), "torchlite copy kernel"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda", choices=("cuda", "interpret"))
    ap.add_argument("--batch", type=int, default=512, help="sequences of 64 rows per program")
    ap.add_argument("--repeat", type=int, default=50)
    ap.add_argument("--warmup", type=int, default=3)
    args = ap.parse_args()
    console = Console(width=170)
    if args.device == "cuda" and not tl.cuda.is_available():
        console.print("bench/gpu.py: no usable GPU here (torchlite.cuda.is_available() is False); "
                      "run it on a machine with an NVIDIA GPU, or pass --device interpret to check the script")
        return 2
    dev = args.device
    if dev == "cuda":
        timer = Timer(dev, tl.cuda.Event, tl.cuda.synchronize, args.warmup)
        name = tl.cuda.get_device_name()
    else:
        timer = Timer(dev, None, lambda: None, args.warmup)
        name = f"Triton interpreter on {platform.machine()}"
    bandwidth, by = copy_bandwidth(dev, timer, max(1, args.repeat // 5))
    torch_ok = torch is not None and (dev != "cuda" or torch.cuda.is_available())
    tdev = "cuda" if dev == "cuda" else "cpu"
    console.print(f"device: {name}; copy bandwidth {bandwidth / 1e9:.0f} GB/s ({by}); batch {args.batch}; "
                  f"torch {torch.__version__ if torch_ok else 'not installed'}")

    table = Table(title=f"bench/gpu.py ({dev}, {args.repeat} launches each)")
    for col in ("program", "kernels", "MB moved", "torchlite us", "GB/s", "of copy bw", "call us",
                "torch us", "torchlite / torch"):
        table.add_column(col, justify="right" if col != "program" else "left")
    ours = suite(tl, F, device=dev, batch=args.batch)
    theirs = suite(torch, torch.nn.functional, device=tdev, batch=args.batch) if torch_ok else {}
    for prog_name, (fn, fargs) in ours.items():
        run, program, moved = replayable(fn, fargs, dev)
        t_ours = timer(run, args.repeat)
        t_call = timer(lambda: [o.realize() for o in _outs(fn(*fargs))], max(1, args.repeat // 5))
        row = [prog_name, str(len(program.specs)), f"{moved / 1e6:.1f}", f"{t_ours * 1e3:.1f}",
               f"{moved / (t_ours / 1e3) / 1e9:.0f}", f"{moved / (t_ours / 1e3) / bandwidth:.2f}",
               f"{t_call * 1e3:.1f}"]
        if prog_name in theirs:
            tfn, targs = theirs[prog_name]
            sync = torch.cuda.synchronize if tdev == "cuda" else (lambda: None)
            ev = torch.cuda.Event if tdev == "cuda" else None
            with torch.no_grad():
                t_torch = Timer(tdev, ev, sync, args.warmup)(lambda: tfn(*targs), args.repeat)
            row += [f"{t_torch * 1e3:.1f}", f"{t_ours / t_torch:.2f}x"]
        else:
            row += ["-", "-"]
        table.add_row(*row)
    console.print(table)
    return 0


def _outs(out):
    return out if isinstance(out, (tuple, list)) else (out,)


if __name__ == "__main__":
    sys.exit(main())
