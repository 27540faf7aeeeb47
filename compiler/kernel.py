"""The record every generated kernel is described by, shared by codegen, the devices, ``explain`` and the CLI.

A ``KernelSpec`` is plain data: the kernel's Triton source (a whole module text: imports plus one
``@triton.jit`` function named ``name``), how to launch it, and where it came from.

    >>> spec = KernelSpec(name="pw_neg_0", kind="pointwise", source="...", signature={"in_ptr0": "*fp32",
    ...     "out_ptr0": "*fp32", "xnumel": "i32"}, constexprs={"XBLOCK": 1024}, grid=(1,))
    >>> spec.name
    'pw_neg_0'
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class KernelSpec:
    name: str                                   # stable and descriptive: pw_add_relu_0, red_softmax_1, mm_bias_gelu_2
    kind: str                                   # pointwise | reduction | matmul | scan | extern
    source: str                                 # module text: imports + the @triton.jit function ``name``
    signature: dict[str, str]                   # runtime args in order -> Triton type ("*fp32", "i32", "fp64")
    constexprs: dict[str, int | bool] = field(default_factory=dict)   # XBLOCK=1024, ...
    grid: tuple[int, ...] = (1,)
    num_warps: int = 4
    num_stages: int = 1
    nodes: list[str] = field(default_factory=list)        # names of the fused graph nodes
    user_lines: list[str] = field(default_factory=list)   # file:line of the user code they came from
    bytes_moved: int = 0                        # estimated: every load and store of the kernel, once
    flops: int = 0                              # estimated floating point operations

    def __repr__(self) -> str:
        return (f"KernelSpec({self.name}, {self.kind}, grid={self.grid}, warps={self.num_warps}, "
                f"nodes={len(self.nodes)})")
