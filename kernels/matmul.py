"""The matmul template: renders the Triton source of a (batched) matmul with a fusable elementwise epilogue.

``render_matmul`` returns a ``KernelSpec`` whose source is a tutorial-shaped Triton kernel (Triton's tutorial
03: grouped program ordering, a tiled ``tl.dot`` K loop, fp32 accumulation) computing, for each batch ``b``,
``acc = A[b] @ B[b]`` and then running an epilogue on ``acc``. The default epilogue casts to the output dtype
and stores a contiguous ``[batch, M, N]`` result; the compiler fuses elementwise work (bias, activation,
residual add, ...) by passing an ``Epilogue`` instead.

    >>> spec = render_matmul("mm_0", M=64, N=32, K=16, batch=1,
    ...                      a=Operand("fp16", (0, 16, 1)), b=Operand("fp16", (0, 32, 1)))
    >>> list(spec.signature), spec.grid
    (['a_ptr', 'b_ptr', 'out_ptr', 'M', 'N', 'K'], (1, 1))

What is runtime and what is constexpr:
- ``M``, ``N``, ``K`` are runtime ``i32`` arguments, and the source never names their values, so shapes that
  fall in the same tile class reuse one compiled binary (Triton's cache is keyed by source + constexprs);
  the launcher recomputes ``grid`` for the new ``M``/``N`` with ``matmul_grid``.
- Operand strides are constexprs: they fix the memory layout (which dimension is contiguous, which is a
  broadcast) and let Triton vectorize the loads.  ``EVEN_K`` (``K % BLOCK_K == 0``, no K mask in the loop)
  depends on the ``K`` the spec was rendered for, so a launch with another ``K`` must re-render.
- Offsets inside one matrix are ``i32``; the batch offset is ``i64``.  ``render_matmul`` refuses a single
  operand or output matrix of 2**31 elements or more instead of overflowing.

fp64: Triton 3.9 accepts ``tl.dot`` on fp64 blocks (fp64 accumulator, IEEE arithmetic) and lowers it for
sm_80 and sm_90 (the double-precision MMA, ``DMMA``, of A100/H100), so fp64 uses the same kernel with an fp64
accumulator; there is no tf32-style shortcut for it.
"""
from __future__ import annotations

import numbers
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..compiler.kernel import KernelSpec
from ._hooks import check_hook

DTYPES = ("fp16", "bf16", "fp32", "fp64")
ITEMSIZE = {"fp16": 2, "bf16": 2, "fp32": 4, "fp64": 8}
TL_DTYPE = {"fp16": "tl.float16", "bf16": "tl.bfloat16", "fp32": "tl.float32", "fp64": "tl.float64"}

# Heuristic constants, each with its reason.
MIN_DOT = 16                  # tl.dot needs every block dimension >= 16
PIPELINE_SMEM = 96 * 1024     # shared memory for the K pipeline: fits every sm_80+ part (99 KiB on sm_86/89)
SM_COUNT = 108                # SMs of an A100 (H100: 132): fewer programs than this leaves SMs idle
GROUP_M = 8                   # row blocks per group in the grouped ordering (Triton tutorial 03): L2 reuse of B
MAX_GRID_Y = 65535            # CUDA limit of grid dimension y, where the batch goes

_SIZE_NAMES = ("M", "N", "K")
_STRIDE_NAMES = ("stride_ab", "stride_am", "stride_ak", "stride_bb", "stride_bk", "stride_bn")
_TILE_NAMES = ("BLOCK_M", "BLOCK_N", "BLOCK_K", "GROUP_M", "EVEN_K", "A_INNER", "B_INNER", "stride_ai", "stride_bi")
# Names the kernel body defines before the epilogue runs; an epilogue param may not shadow them.
_RESERVED = frozenset(("tl", "triton", "a_ptr", "b_ptr", "pid", "pid_b", "num_pid_m", "num_pid_n",
                       "num_pid_in_group", "group_id", "first_pid_m", "group_size_m", "pid_m", "pid_n",
                       "offs_m", "offs_n", "offs_am", "offs_bn", "offs_k", "a_ptrs", "b_ptrs", "acc", "k", "a",
                       "b", "rm", "rn", "mask") + _SIZE_NAMES + _STRIDE_NAMES + _TILE_NAMES)


@dataclass(frozen=True)
class Operand:
    """One matmul input as the kernel reads it: its Triton dtype and its element strides
    ``(batch_stride, row_stride, col_stride)``. A transposed operand swaps the last two; a batch-broadcast
    operand has ``batch_stride == 0``, so neither needs a copy.

        >>> Operand("fp32", (0, 1, 64))        # a [K, N] = [64, 32] view of a contiguous [32, 64] buffer: B = W.T
        Operand(dtype='fp32', strides=(0, 1, 64), inner=(1, 0), offset=0)
    """
    dtype: str
    strides: tuple[int, int, int]
    # Two batch dims that no single stride walks (heads of a permuted qkv buffer): the flattened batch index
    # b splits into (b // size, b % size), the first stepping strides[0], the second ``stride``.
    inner: tuple[int, int] = (1, 0)          # (size, stride) of the inner batch dim; (1, 0): none
    offset: int = 0                          # elements from the buffer's start to the operand's first element

    def __post_init__(self) -> None:
        if self.dtype not in DTYPES:
            raise ValueError(f"Operand: dtype {self.dtype!r} is not supported by the matmul template; "
                             f"use one of {DTYPES}")
        strides = tuple(self.strides)
        if len(strides) != 3 or not all(isinstance(s, numbers.Integral) and s >= 0 for s in strides):
            raise ValueError(f"Operand: strides must be three non-negative ints (batch, row, col), "
                             f"got {self.strides!r}")
        object.__setattr__(self, "strides", tuple(int(s) for s in strides))   # numpy ints -> int


@dataclass(frozen=True)
class Epilogue:
    """What runs after the K loop, given ``acc``: the compiler's hook for fusing elementwise work.

    - ``params``: extra kernel parameters in order, name -> Triton type (``"*fp16"``, ``"fp32"``, ``"i32"``);
      they follow ``a_ptr, b_ptr`` in the signature (before ``M, N, K``).
    - ``lines``: Triton source lines, unindented (relative indentation is kept), spliced after the K loop.
      Defined for them: ``acc`` (``[BLOCK_M, BLOCK_N]``, fp32; fp64 for fp64 inputs), ``offs_m`` /
      ``offs_n`` (row / column indices, ``[BLOCK_M]`` / ``[BLOCK_N]``), ``rm = offs_m[:, None]``,
      ``rn = offs_n[None, :]``, ``mask = (rm < M) & (rn < N)``, ``pid_b`` (batch index, i64), the sizes
      ``M, N, K`` and ``tl``. The lines do their own stores.
    - ``out_params``: the pointer params the lines store to (the buffers the kernel writes).
    - ``constexprs``: extra constexpr params, name -> value (appended after the template's constexprs).
    - ``name``: what it computes, for the kernel's header comment (``"bias + relu + residual"``).
    - ``bytes_moved``: bytes its loads and stores move (estimated by its author), added to the spec's total.
    - ``flops``: floating point operations it adds.

        >>> ep = Epilogue(params={"out_ptr": "*fp32"}, out_params=("out_ptr",),
        ...               lines=["tl.store(out_ptr + pid_b * M * N + rm * N + rn, tl.maximum(acc, 0.0), mask=mask)"])
        >>> ep.out_params
        ('out_ptr',)
    """
    params: dict[str, str]
    lines: list[str] | tuple[str, ...]
    out_params: tuple[str, ...] = ()
    constexprs: dict[str, int | bool] = field(default_factory=dict)
    name: str = "custom epilogue"
    bytes_moved: int = 0
    flops: int = 0


@dataclass(frozen=True)
class Prologue:
    """How a template computes its row operand (matmul's A, the MLP's x) instead of loading it: the
    compiler's hook for fusing a layer_norm, an rms_norm or any elementwise math into the GEMM that reads it.

    - ``dtype``: the tile's Triton dtype (the dot's input dtype; B's or W1's must match).
    - ``params``: kernel parameters it reads, name -> Triton type; a name the epilogue also uses must have
      the same type (the two share the parameter).
    - ``setup``: lines run once per program before the K loop (row statistics: their own loops over K).
      Defined for them: ``xindex`` (``[BLOCK_M, 1]``, the operand's absolute row, i64), ``xmask``,
      ``rbase`` (``tl.arange(0, BLOCK_K)[None, :]``), ``K``, ``BLOCK_M``, ``BLOCK_K`` and ``tl``.
    - ``tile``: lines run at each K step; defined for them as well: ``rindex = k + rbase`` (the absolute K
      column, ``[1, BLOCK_K]``) and ``rmask = rindex < K``. They must assign ``tile``, ``[BLOCK_M, BLOCK_K]``
      in ``dtype``, zero where ``rmask`` is false.
    - ``name``, ``bytes_moved``, ``flops``: as for ``Epilogue``.

        >>> p = Prologue("fp32", {"x_ptr": "*fp32"}, setup=[],
        ...              tile=["tile = tl.maximum(tl.load(x_ptr + xindex * K + rindex, rmask & xmask, other=0), 0.0)"])
        >>> p.name
        'prologue'
    """
    dtype: str
    params: dict[str, str]
    setup: list[str] | tuple[str, ...]
    tile: list[str] | tuple[str, ...]
    name: str = "prologue"
    bytes_moved: int = 0
    flops: int = 0


# Names a prologue's lines may assign although a template defines them: its own loops over K walk them.
PROLOGUE_LOOP_NAMES = frozenset(("roffset", "rindex", "rmask"))
PROLOGUE_NAMES = frozenset(("xindex", "xmask", "rbase", "tile")) | PROLOGUE_LOOP_NAMES


def check_prologue(p: Prologue, template: str, reserved: frozenset) -> tuple[list[str], list[str]]:
    """Validate ``p`` for ``template`` and return its setup and tile lines, dedented."""
    if p.dtype not in DTYPES:
        raise ValueError(f"Prologue: dtype {p.dtype!r} is not one of {DTYPES}")
    reserved = (reserved | frozenset(("xindex", "xmask", "rbase"))) - PROLOGUE_LOOP_NAMES
    setup = check_hook("Prologue", template, p.params, {}, list(p.setup) or ["pass"], reserved)
    tile = check_hook("Prologue", template, p.params, {}, p.tile, reserved, assigns="tile")
    return [] if list(p.setup) == [] else setup, tile


def merge_params(template: str, *groups: dict) -> dict:
    """Hook parameters in order, a name shared by two hooks (a buffer the prologue and the epilogue both
    read) kept once; the same name with two types is an error."""
    out: dict = {}
    for g in groups:
        for k, t in g.items():
            if k in out and out[k] != t:
                raise ValueError(f"{template}: parameter {k!r} is {out[k]} in one hook and {t} in another")
            out[k] = t
    return out


def default_epilogue(out_dtype: str, *, batch: int = 1, M: int = 0, N: int = 0) -> Epilogue:
    """Cast ``acc`` to ``out_dtype`` and store it to ``out_ptr``, a contiguous ``[batch, M, N]`` buffer.

        >>> default_epilogue("bf16").params
        {'out_ptr': '*bf16'}
    """
    if out_dtype not in DTYPES:
        raise ValueError(f"default_epilogue: out_dtype {out_dtype!r} is not one of {DTYPES}")
    return Epilogue(
        params={"out_ptr": f"*{out_dtype}"},
        lines=["out_ptrs = out_ptr + pid_b * M * N + rm * N + rn",
               f"tl.store(out_ptrs, acc.to({TL_DTYPE[out_dtype]}), mask=mask)"],
        out_params=("out_ptr",),
        name=f"store {out_dtype}",
        bytes_moved=batch * M * N * ITEMSIZE[out_dtype],
    )


# ----------------------------------------------------------------------------------------------------------
# Launch heuristics
# ----------------------------------------------------------------------------------------------------------

def _next_pow2(n: int) -> int:
    return 1 << max(0, (n - 1).bit_length())


def _cdiv(a: int, b: int) -> int:
    return -(-a // b)


def matmul_block_sizes(M: int, N: int, K: int, dtype: str, *, batch: int = 1,
                       allow_tf32: bool = False) -> tuple[int, int, int, int]:
    """``(BLOCK_M, BLOCK_N, BLOCK_K, GROUP_M)`` for a ``batch`` x ``[M, K] @ [K, N]`` matmul of ``dtype``.

    BLOCK_M/N: the next power of two of M/N in [16, 128] (64 for fp64), because a bigger tile reuses each
    loaded element more times until the accumulator fills the registers; then halved (not below 64) while
    the grid has fewer programs than an A100 has SMs, because an idle SM costs more than a smaller tile.
    BLOCK_K: 128 bytes of K per row on tensor cores (64 fp16/bf16, 32 tf32, 16 fp64), so a K step loads
    whole cache lines; 16 for IEEE fp32, whose FMA dot holds the K slice in registers (32 spills on sm_90).

        >>> matmul_block_sizes(4096, 4096, 4096, "fp16"), matmul_block_sizes(1, 17, 9, "fp32")
        ((128, 128, 64, 8), (16, 32, 16, 8))
    """
    if dtype not in DTYPES:
        raise ValueError(f"matmul_block_sizes: dtype {dtype!r} is not one of {DTYPES}")
    max_mn = 64 if dtype == "fp64" else 128
    block_m = min(max_mn, max(MIN_DOT, _next_pow2(M)))
    block_n = min(max_mn, max(MIN_DOT, _next_pow2(N)))
    while max(block_m, block_n) > 64 and batch * _cdiv(M, block_m) * _cdiv(N, block_n) < SM_COUNT:
        if block_m >= block_n:
            block_m //= 2
        else:
            block_n //= 2
    max_k = 16 if dtype == "fp32" and not allow_tf32 else 128 // ITEMSIZE[dtype]
    block_k = min(max_k, max(MIN_DOT, _next_pow2(K)))
    return block_m, block_n, block_k, GROUP_M


def matmul_num_warps(BLOCK_M: int, BLOCK_N: int, dtype: str = "fp16", fma_dot: bool = False) -> int:
    """8 warps for tiles of 128x128 and up (keeps the fp32 accumulator at <= 64 registers a thread), else 4
    (one Hopper warpgroup, the unit ``wgmma`` works in; with 2, ptxas spilled small tiles on sm_80/sm_90).
    An fp64 accumulator takes two registers an element, so it counts double. ``fma_dot`` (IEEE fp32 inputs,
    whose dot runs on FMA units holding the K slices in registers) takes 8 warps from 64x64 up: with 4, the
    64x64x16 tile of an fp32 attention's ``p @ v`` spilled 8 bytes on sm_80 (tests/test_generated_aot.py).

        >>> matmul_num_warps(128, 128), matmul_num_warps(64, 64, "fp64"), matmul_num_warps(16, 32)
        (8, 4, 4)
    """
    acc_regs = BLOCK_M * BLOCK_N * (2 if dtype == "fp64" else 1)
    if fma_dot and acc_regs >= 64 * 64:
        return 8        # the IEEE fp32 dot runs on FMA units and holds its K slices in registers: 4 warps spilled
    return 8 if acc_regs >= 128 * 128 else 4


def matmul_num_stages(BLOCK_M: int, BLOCK_N: int, BLOCK_K: int, K: int, dtype: str) -> int:
    """K tiles kept in flight: as many as fit in ``PIPELINE_SMEM`` (96 KiB, legal on every sm_80+ part),
    at most 4 (more hides no more latency) and at most the number of K steps (1 when the loop runs once).

        >>> matmul_num_stages(128, 128, 64, 4096, "fp16"), matmul_num_stages(16, 16, 16, 9, "fp32")
        (3, 1)
    """
    stage_bytes = (BLOCK_M * BLOCK_K + BLOCK_K * BLOCK_N) * ITEMSIZE[dtype]
    return max(1, min(4, PIPELINE_SMEM // stage_bytes, _cdiv(K, BLOCK_K)))


def matmul_grid(M: int, N: int, batch: int, BLOCK_M: int, BLOCK_N: int) -> tuple[int, int]:
    """``(tiles of one [M, N] output, batch)``: tiles on program axis 0 (in grouped order), batch on axis 1.

        >>> matmul_grid(100, 100, 3, 64, 32)
        (8, 3)
    """
    return _cdiv(M, BLOCK_M) * _cdiv(N, BLOCK_N), batch


# ----------------------------------------------------------------------------------------------------------
# Rendering
# ----------------------------------------------------------------------------------------------------------

_BODY = '''\
@triton.jit
def {name}({params}):
    # Program -> output tile, grouped so that GROUP_M row blocks in a row share B's columns in L2.
    pid = tl.program_id(0)
    pid_b = tl.program_id(1).to(tl.int64)
    num_pid_m = (M + BLOCK_M - 1) // BLOCK_M
    num_pid_n = (N + BLOCK_N - 1) // BLOCK_N
    num_pid_in_group = GROUP_M * num_pid_n
    group_id = pid // num_pid_in_group
    first_pid_m = group_id * GROUP_M
    group_size_m = tl.minimum(num_pid_m - first_pid_m, GROUP_M)
    pid_m = first_pid_m + ((pid % num_pid_in_group) % group_size_m)
    pid_n = (pid % num_pid_in_group) // group_size_m

    # Offsets. Rows and columns past the edge wrap around (% M, % N), so loads in the K loop need no
    # row or column mask; the epilogue masks them out of the stores.
    offs_m = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
    offs_n = pid_n * BLOCK_N + tl.arange(0, BLOCK_N)
    offs_am = offs_m % M
    offs_bn = offs_n % N
    offs_k = tl.arange(0, BLOCK_K)
{a_setup}    b_ptrs = b_ptr + {b_batch} + (offs_k[:, None] * stride_bk + offs_bn[None, :] * stride_bn)

    # K loop: acc += A[offs_m, k:k+BLOCK_K] @ B[k:k+BLOCK_K, offs_n]; the last step masks K's tail to zero.
    acc = tl.full((BLOCK_M, BLOCK_N), 0, dtype={acc_tl})
    for k in range(0, K, BLOCK_K):
{a_tile}        if EVEN_K:
{a_load_even}            b = tl.load(b_ptrs)
        else:
{a_load_tail}            b = tl.load(b_ptrs, mask=offs_k[:, None] < K - k, other=0.0)
        acc = tl.dot(a, b, acc{dot_kwargs})
{a_advance}        b_ptrs += BLOCK_K * stride_bk

    # Epilogue: {epilogue_name}
    rm = offs_m[:, None]
    rn = offs_n[None, :]
    mask = (rm < M) & (rn < N)
{epilogue}
'''


_A_LOADED = dict(
    a_setup="    a_ptrs = a_ptr + {a_batch} + (offs_am[:, None] * stride_am + offs_k[None, :] * stride_ak)\n",
    a_tile="", a_load_even="            a = tl.load(a_ptrs)\n",
    a_load_tail="            a = tl.load(a_ptrs, mask=offs_k[None, :] < K - k, other=0.0)\n",
    a_advance="        a_ptrs += BLOCK_K * stride_ak\n")


def prologue_text(setup: list[str], tile: list[str], name: str, *, operand: str, xindex: str, xmask: str,
                  rindex: str, take: str) -> tuple[list[str], list[str]]:
    """A template's lines for a checked ``Prologue``: ``(before the K loop, inside it)``. The template says
    what its operand is called, where its rows are (``xindex``, ``xmask``), where the K step's columns are
    (``rindex``) and how the loop takes the computed tile (``take``, e.g. ``"a = tile"``)."""
    head = [f"# Prologue ({name}): {operand} is computed, not loaded: row statistics first, then each K tile.",
            f"xindex = {xindex}", f"xmask = {xmask}", "rbase = tl.arange(0, BLOCK_K)[None, :]"] + setup
    return head, [f"rindex = {rindex}", "rmask = rindex < K"] + tile + [take]


def _a_computed(setup: list[str], tile: list[str], name: str) -> dict:
    """The body's A fields for a ``Prologue``: rows' statistics before the loop, each tile computed in it."""
    head, body = prologue_text(setup, tile, name, operand="A", xindex="pid_b * M + offs_am[:, None]",
                               xmask="offs_am[:, None] < M", rindex="k + rbase", take="a = tile")
    return dict(a_setup=textwrap.indent("\n".join(head), "    ") + "\n",
                a_tile=textwrap.indent("\n".join(body), "        ") + "\n",
                a_load_even="", a_load_tail="", a_advance="")


def _check_epilogue(ep: Epilogue) -> list[str]:
    """Validate ``ep`` and return its lines, dedented, one per source line."""
    for name in ep.out_params:
        if not ep.params.get(name, "").startswith("*"):
            raise ValueError(f"Epilogue: out_params names {name!r}, which is not a pointer parameter "
                             f"of params {ep.params}")
    if not any(line.strip() for line in textwrap.dedent("\n".join(ep.lines)).splitlines()):
        raise ValueError("Epilogue: lines are empty; an epilogue must at least store acc")
    return check_hook("Epilogue", "matmul", ep.params, ep.constexprs, ep.lines, _RESERVED)


def _format_params(name: str, runtime: list[str], constexpr: list[str], width: int = 110) -> str:
    """The parameter list of ``def name(...)``: runtime params first, then constexprs on their own lines,
    wrapped at ``width`` columns and aligned under the opening parenthesis."""
    indent = " " * (len("def ") + len(name) + 1)
    lines: list[str] = []
    for group in (runtime, constexpr):
        line = ""
        for param in group:
            if line and len(indent) + len(line) + len(param) + 2 > width:
                lines.append(line + ",")
                line = ""
            line = f"{line}, {param}" if line else param
        if line:
            lines.append(line + ",")
    return ("\n" + indent).join(lines)[:-1]


def render_matmul(name: str, *, M: int, N: int, K: int, batch: int, a: Operand | None, b: Operand,
                  acc_dtype: str | None = None, allow_tf32: bool = False, out_dtype: str | None = None,
                  epilogue: Epilogue | None = None, prologue: Prologue | None = None, nodes: Sequence[str] = (),
                  user_lines: Sequence[str] = ()) -> KernelSpec:
    """The ``KernelSpec`` of a kernel computing ``epilogue(A[b] @ B[b])`` for ``b`` in ``range(batch)``,
    with ``A[b]`` ``[M, K]`` and ``B[b]`` ``[K, N]`` read through the operands' strides.

    ``acc_dtype``: ``"fp32"`` (the default), or ``"fp64"``, which fp64 inputs require and default to.
    ``allow_tf32``: fp32 inputs use tf32 tensor cores (``input_precision="tf32"``); else they are IEEE fp32.
    ``out_dtype``: the default epilogue's output dtype (default: the inputs'). Ignored with ``epilogue``.
    ``prologue``: compute A's tiles instead of loading them (``a`` is then None; A's rows are ``pid_b * M +
    row``, so a batched A must not be broadcast over the batch).
    ``nodes``, ``user_lines``: provenance (fused graph nodes, user file:line), named in the header comment
    (module level, outside the function, so it does not change Triton's cache key) and kept in the spec.
    The kernel's arguments are ``a_ptr, b_ptr, *epilogue.params, M, N, K`` (``spec.signature``), then the
    constexprs ``spec.constexprs`` by keyword; launch it on ``spec.grid``.

        >>> spec = render_matmul("mm_1", M=8, N=8, K=8, batch=2, a=Operand("bf16", (64, 8, 1)),
        ...                      b=Operand("bf16", (0, 1, 8)))           # B is one shared, transposed matrix
        >>> spec.constexprs["stride_bb"], spec.flops
        (0, 2048)
    """
    for size_name, size in (("M", M), ("N", N), ("K", K), ("batch", batch)):
        if not isinstance(size, int) or size < 1:
            raise ValueError(f"render_matmul: {size_name} must be a positive int, got {size!r} "
                             f"(an empty matmul needs no kernel: fill the output with zeros)")
    if (a is None) == (prologue is None):
        raise ValueError("render_matmul: pass exactly one of a (A loaded through its strides) and prologue "
                         "(A computed)")
    a_dtype = a.dtype if a is not None else prologue.dtype
    if a_dtype != b.dtype:
        raise ValueError(f"render_matmul: operand dtypes differ: a is {a_dtype}, b is {b.dtype}; "
                         f"cast one first (tl.dot needs equal input dtypes)")
    dtype = a_dtype
    if acc_dtype is None:
        acc_dtype = "fp64" if dtype == "fp64" else "fp32"
    if acc_dtype != ("fp64" if dtype == "fp64" else "fp32"):
        raise ValueError(f"render_matmul: acc_dtype {acc_dtype!r} is not supported for {dtype} inputs; "
                         f"use {'fp64' if dtype == 'fp64' else 'fp32'}")
    if batch > MAX_GRID_Y:
        raise ValueError(f"render_matmul: batch {batch} exceeds the grid's axis-1 limit {MAX_GRID_Y}; "
                         f"fold batch into M where the operands allow it")
    for what, elems in (("A", M * K), ("B", K * N), ("the output", M * N)):
        if elems >= 2 ** 31:
            raise ValueError(f"render_matmul: one matrix of {what} has {elems} elements (M={M}, N={N}, "
                             f"K={K}); the template's in-matrix offsets are i32 (< 2**31 elements)")

    if epilogue is None:
        epilogue = default_epilogue(out_dtype or dtype, batch=batch, M=M, N=N)
    ep_lines = _check_epilogue(epilogue)

    block_m, block_n, block_k, group_m = matmul_block_sizes(M, N, K, dtype, batch=batch,
                                                            allow_tf32=allow_tf32)
    num_warps = matmul_num_warps(block_m, block_n, acc_dtype, fma_dot=dtype == "fp32" and not allow_tf32)
    num_stages = matmul_num_stages(block_m, block_n, block_k, K, dtype)

    if prologue is None:
        signature = {"a_ptr": f"*{dtype}", "b_ptr": f"*{dtype}", **epilogue.params}
        constexprs: dict[str, int | bool] = dict(zip(_STRIDE_NAMES, (*a.strides, *b.strides)))
    else:
        setup, tile = check_prologue(prologue, "matmul", _RESERVED)
        signature = merge_params("render_matmul", prologue.params, {"b_ptr": f"*{dtype}"}, epilogue.params)
        constexprs = dict(zip(_STRIDE_NAMES[3:], b.strides))
    signature.update(M="i32", N="i32", K="i32")
    constexprs.update(BLOCK_M=block_m, BLOCK_N=block_n, BLOCK_K=block_k, GROUP_M=group_m,
                      EVEN_K=K % block_k == 0)
    batch_text = {}
    for x, op in (("a", a), ("b", b)):
        if op is None:
            continue
        if op.inner[0] > 1:
            constexprs[f"{x.upper()}_INNER"], constexprs[f"stride_{x}i"] = op.inner
            batch_text[x] = (f"(pid_b // {x.upper()}_INNER) * stride_{x}b + (pid_b % {x.upper()}_INNER) * stride_{x}i")
        else:
            batch_text[x] = f"pid_b * stride_{x}b"
        if op.offset:
            batch_text[x] = f"{op.offset} + {batch_text[x]}"
    constexprs.update(epilogue.constexprs)

    if dtype == "fp32":
        dot_kwargs = f', input_precision="{"tf32" if allow_tf32 else "ieee"}"'
    elif dtype == "fp64":
        dot_kwargs = ', input_precision="ieee"'
    else:
        dot_kwargs = ""
    if acc_dtype == "fp64":
        dot_kwargs += ", out_dtype=tl.float64"

    param_text = _format_params(name, list(signature), [f"{c}: tl.constexpr" for c in constexprs])
    precision = {"fp32": "tf32" if allow_tf32 else "ieee", "fp64": "ieee"}.get(dtype, f"{dtype} tensor cores")
    header = [
        f"# {name}: batched matmul acc[b] = A[b] @ B[b], then the epilogue ({epilogue.name})",
        "#   generated by torchlite.kernels.matmul (the Triton tutorial-03 template)",
        f"#   A: {dtype}, strides (batch, row, col) = {a.strides}" if a is not None else
        f"#   A: {dtype}, computed by the prologue ({prologue.name})",
        f"#   B: {dtype}, strides (batch, row, col) = {b.strides}",
        f"#   accumulator {acc_dtype}, dot precision {precision}",
        f"#   tile {block_m}x{block_n}x{block_k}, GROUP_M {group_m}, {num_warps} warps, "
        f"{num_stages} stage{'s' if num_stages > 1 else ''}",
        "#   M, N, K are runtime arguments; strides and tile sizes are constexprs",
    ]
    if nodes:
        header.append(f"#   nodes: {', '.join(nodes)}")
    if user_lines:
        header.append(f"#   from: {', '.join(user_lines)}")
    a_fields = {k: v.format(a_batch=batch_text["a"]) for k, v in _A_LOADED.items()} if prologue is None \
        else _a_computed(setup, tile, prologue.name)
    body = _BODY.format(name=name, params=param_text, acc_tl=TL_DTYPE[acc_dtype], dot_kwargs=dot_kwargs,
                        b_batch=batch_text["b"], **a_fields,
                        epilogue_name=epilogue.name, epilogue=textwrap.indent("\n".join(ep_lines), "    "))
    # libdevice: prologue and epilogue lines call it (silu's exp); the launch program imports it too
    source = ("\n".join(header) + "\nimport triton\nimport triton.language as tl\n"
              "from triton.language.extra import libdevice\n\n\n" + body)

    a_bytes = (1 if a.strides[0] == 0 else batch) * M * K * ITEMSIZE[dtype] if a is not None else prologue.bytes_moved
    b_mats = 1 if b.strides[0] == 0 else batch
    bytes_moved = a_bytes + b_mats * K * N * ITEMSIZE[dtype] + epilogue.bytes_moved
    return KernelSpec(
        name=name, kind="matmul", source=source, signature=signature, constexprs=constexprs,
        grid=matmul_grid(M, N, batch, block_m, block_n), num_warps=num_warps, num_stages=num_stages,
        nodes=list(nodes), user_lines=list(user_lines), bytes_moved=bytes_moved,
        flops=2 * batch * M * N * K + epilogue.flops + (prologue.flops if prologue is not None else 0),
    )
