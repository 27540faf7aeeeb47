"""The ``torchlite`` command.

    torchlite info          versions, devices, and the op registry size
    torchlite ops [KIND]    the op registry: every op-level op with its kind, params and flags

Kernel listing, inspection and benchmarking arrive with the compiler.
"""
from __future__ import annotations

import argparse
import platform
import sys


def _info(args) -> int:
    from importlib import metadata
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table
    import torchlite
    from torchlite.devices import _KNOWN, backend_for, device
    t = Table(title="torchlite")
    t.add_column("what")
    t.add_column("value")
    t.add_row("torchlite", torchlite.__version__)
    t.add_row("python", platform.python_version())
    for pkg in ("numpy", "ml_dtypes", "networkx", "rich", "scipy", "triton"):
        try:
            t.add_row(pkg, metadata.version(pkg))
        except metadata.PackageNotFoundError:
            t.add_row(pkg, "not installed")
    for name in _KNOWN:
        try:
            backend_for(device(name))
            t.add_row(f"device {name}", "available")
        except RuntimeError as e:
            t.add_row(f"device {name}", escape(f"not available: {str(e).split(': ', 1)[-1]}"))
    t.add_row("registered ops", str(len(torchlite.ops.REGISTRY)))
    Console().print(t)
    return 0


def _ops(args) -> int:
    from rich.console import Console
    from rich.table import Table
    from torchlite.ops import REGISTRY
    kinds = sorted({op.kind for op in REGISTRY.values()})
    if args.kind and args.kind not in kinds:
        print(f"torchlite ops: no ops of kind {args.kind!r}; the kinds are: {', '.join(kinds)}", file=sys.stderr)
        return 2
    t = Table(title="op registry")
    for col in ("op", "kind", "params", "flags"):
        t.add_column(col)
    for name, op in sorted(REGISTRY.items(), key=lambda kv: (kv[1].kind, kv[0])):
        if args.kind and op.kind != args.kind:
            continue
        flags = [f for f, on in (("out=", op.supports_out), ("view", op.view), ("inverse", op.inverse is not None),
                                 ("decomp", op.decomposition is not None), ("vjp", op.vjp is not None)) if on]
        t.add_row(name, op.kind, ", ".join(op.params), " ".join(flags))
    Console().print(t)
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="torchlite", description="Inspect torchlite: devices, ops, kernels.")
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("info", help="versions and devices").set_defaults(fn=_info)
    o = sub.add_parser("ops", help="list the op registry")
    o.add_argument("kind", nargs="?", help="only ops of this kind (pointwise, reduction, movement, ...)")
    o.set_defaults(fn=_ops)
    args = p.parse_args(argv)
    return args.fn(args)


if __name__ == "__main__":
    sys.exit(main())
