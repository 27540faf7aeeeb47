"""The MLP template: renders the Triton source of a fused two-layer MLP (a back-to-back GEMM).

``render_mlp`` returns a ``KernelSpec`` computing ``out = act(x @ W1 + b1) @ W2 + b2`` without writing the
hidden activation to memory. One program owns a ``BLOCK_M x BLOCK_N`` tile of ``out`` and loops over the
hidden dimension in chunks of ``BLOCK_H``: for each chunk it computes the hidden tile
``h = x[rows, :] @ W1[:, chunk]`` (an inner K loop of ``tl.dot``, fp32 accumulation), adds ``b1``, rounds
``h`` to the input dtype (as eager code stores the hidden activation), runs the activation lines (the
compiler's hook: relu, gelu, ... as Triton source) and folds ``acc += a @ W2[chunk, cols]``. The
``[M, H]`` hidden matrix never reaches memory; ``acc`` is biased, cast and stored once.

    >>> x = MlpOperand("fp16", (64, 1)); w1 = MlpOperand("fp16", (1, 64))      # w1: a Linear weight [256, 64]
    >>> spec = render_mlp("mlp_0", M=128, K=64, H=256, N=64, x=x, w1=w1, w2=MlpOperand("fp16", (64, 1)),
    ...                   b1="fp16", b2="fp16", out_dtype="fp16")
    >>> list(spec.signature), spec.grid
    (['x_ptr', 'w1_ptr', 'b1_ptr', 'w2_ptr', 'b2_ptr', 'out_ptr', 'M'], (4,))

What is runtime and what is constexpr:
- ``M`` (the rows: batch x sequence in a transformer) is a runtime ``i32`` argument and the source never
  names its value, so every M in the same tile class reuses one binary; ``mlp_grid`` recomputes the grid.
- ``K``, ``H``, ``N`` (the layer widths, fixed by the model), the operand strides and the tile sizes are
  constexprs: they fix the loops' trip counts and the memory layout. ``EVEN_K`` / ``EVEN_H`` drop the
  masks of the inner loads when the widths are multiples of the blocks.
- Offsets inside one matrix are ``i32``; ``render_mlp`` refuses matrices that i32 cannot address.

Semantics at the edges: rows past ``M`` and columns past ``N`` wrap around (``% M``, ``% N``) in the loads
and are masked out of the store; K and H tails load zeros. Hidden columns past ``H`` are set to 0 *after*
the activation lines run (an activation with ``act(0) != 0`` cannot leak into ``acc``).
fp32 inputs use IEEE fp32 dots (``input_precision="ieee"``, FMA units, no tf32); fp16/bf16 use tensor cores.
"""
from __future__ import annotations

import numbers
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..compiler.kernel import KernelSpec
from ._hooks import check_hook
from .attention import _dot_kwargs
from .matmul import (ITEMSIZE, MIN_DOT, SM_COUNT, TL_DTYPE, Epilogue, Prologue, _cdiv, _format_params,
                     _next_pow2, check_prologue, merge_params, prologue_text)

MLP_DTYPES = ("fp16", "bf16", "fp32")

# Heuristic constants, each with its reason.
MLP_SMEM = 96 * 1024          # shared memory for the K pipeline, the W2 chunk and the hidden tile: fits every
                              # sm_80+ part (99 KiB on sm_86/89)
MAX_BLOCK_N = 128             # widest output tile: acc [BLOCK_M, BLOCK_N] and h [BLOCK_M, BLOCK_H] are both fp32
                              # registers; wider N recomputes the hidden per column block instead
MIN_BLOCK_M = 32              # the SM-filling shrink stops here: below it every program re-reads all of W1 and
                              # W2 for fewer rows than a tensor-core tile wants

_STRIDE_NAMES = ("stride_xm", "stride_xk", "stride_w1k", "stride_w1h", "stride_w2h", "stride_w2n")
_TILE_NAMES = ("K", "H", "N", "BLOCK_M", "BLOCK_K", "BLOCK_H", "BLOCK_N", "EVEN_K", "EVEN_H")
# Names the kernel body defines; an activation param may not shadow them and the activation lines may
# assign none of them except ``a`` (their result).
_RESERVED = frozenset(("tl", "triton", "libdevice", "x_ptr", "w1_ptr", "b1_ptr", "w2_ptr", "b2_ptr", "out_ptr",
                       "M", "pid_m", "pid_n", "offs_m", "offs_n", "offs_k", "offs_h", "offs_xm", "offs_wn",
                       "rm", "rn", "mask", "acc", "start_h", "hcols", "rh", "mask_h", "h", "g", "w1b", "w1b_ptr",
                       "start_k", "kcols",
                       "x", "w1", "w2", "b1", "b2", "a", "out")
                      + _STRIDE_NAMES + _TILE_NAMES)


@dataclass(frozen=True)
class MlpOperand:
    """x, W1 or W2 as the kernel reads it: its Triton dtype and element strides ``(row, col)`` of the 2-D
    view the MLP multiplies (x ``[M, K]``, W1 ``[K, H]``, W2 ``[H, N]``). A torch ``Linear`` weight
    ``[out, in]`` is passed transposed by swapping its strides, never by copying. ``offset``: elements from
    the pointer passed at launch to the operand's first element.

        >>> MlpOperand("bf16", (1, 768))          # W1 = fc.weight.T of a Linear(768, 3072) weight [3072, 768]
        MlpOperand(dtype='bf16', strides=(1, 768), offset=0)
    """
    dtype: str
    strides: tuple[int, int]
    offset: int = 0

    def __post_init__(self) -> None:
        if self.dtype not in MLP_DTYPES:
            raise ValueError(f"MlpOperand: dtype {self.dtype!r} is not supported by the MLP template; "
                             f"use one of {MLP_DTYPES}")
        strides = tuple(self.strides)
        if len(strides) != 2 or not all(isinstance(s, numbers.Integral) and s >= 0 for s in strides):
            raise ValueError(f"MlpOperand: strides must be two non-negative ints (row, col), got {self.strides!r}")
        if not isinstance(self.offset, numbers.Integral) or self.offset < 0:
            raise ValueError(f"MlpOperand: offset must be a non-negative int, got {self.offset!r}")
        object.__setattr__(self, "strides", tuple(int(s) for s in strides))   # numpy ints -> int
        object.__setattr__(self, "offset", int(self.offset))


@dataclass(frozen=True)
class Activation:
    """The hidden tile's elementwise function: the compiler's hook for fusing the activation between the
    two GEMMs.

    - ``lines``: Triton source lines, unindented (relative indentation is kept), run once per hidden chunk.
      They must assign ``a`` (fp32, ``[BLOCK_M, BLOCK_H]``) and may assign temporaries of their own, but no
      other name the template defines. Defined for them: ``h`` (fp32, ``x_tile @ W1[:, chunk]`` plus the
      ``b1`` chunk when there is one, rounded to the input dtype when ``round_hidden``), ``rm`` (absolute
      row, ``[BLOCK_M, 1]``), ``rh`` (absolute hidden column, ``[1, BLOCK_H]``), ``M``, ``tl`` and
      ``libdevice``. Hidden columns past ``H`` are zeroed after the lines, whatever they computed.
    - ``params``: extra kernel parameters in order, name -> Triton type (``"*fp32"``, ``"fp32"``); they
      follow the weights and biases in the signature (before ``out_ptr``).
    - ``name``: what it computes, for the kernel's header comment.

        >>> relu = Activation(lines=["a = tl.maximum(h, 0.0)"], name="relu")
        >>> relu.params
        {}
    """
    lines: list[str]
    params: dict[str, str] = field(default_factory=dict)
    name: str = "identity"


IDENTITY = Activation(lines=["a = h"])


# ----------------------------------------------------------------------------------------------------------
# Launch heuristics
# ----------------------------------------------------------------------------------------------------------

def mlp_block_sizes(M: int, K: int, H: int, N: int, dtype: str) -> tuple[int, int, int, int]:
    """``(BLOCK_M, BLOCK_K, BLOCK_H, BLOCK_N)`` for an ``[M, K] -> [M, H] -> [M, N]`` MLP of ``dtype``.

    BLOCK_N: the next power of two of N in [16, 128], because the output tile stays in registers next to
    the hidden tile. N <= 128 is one column block and every hidden chunk is computed exactly once; wider N
    recomputes the whole hidden (``2*M*K*H`` flops, W1 and x re-read) once per extra column block, which
    beats writing and re-reading ``[M, H]`` only while ``N`` is a few blocks wide (the compiler should fall
    back to two matmuls for a wide second layer). BLOCK_M: 64 rows (two fp32 tiles, ``h`` and ``acc``, share
    the registers), cut to the next power of two of M, then halved (not below 32) while the grid has fewer
    programs than an A100 has SMs: each program re-reads W1 and W2 from L2, a cheap price for busy SMs
    (below 64 rows sm_90 runs the dots as ``mma.sync``, not ``wgmma``, which wants 64 rows a warpgroup).
    BLOCK_H: 64 hidden columns on tensor cores, 32 for IEEE fp32 (its FMA dot holds operand slices in
    registers). BLOCK_K: 128 bytes of K per row on tensor cores (64 fp16/bf16), 16 for IEEE fp32, as matmul.

        >>> mlp_block_sizes(512, 128, 512, 128, "fp16"), mlp_block_sizes(17, 33, 100, 19, "fp32")
        ((32, 64, 64, 128), (32, 16, 32, 32))
    """
    if dtype not in MLP_DTYPES:
        raise ValueError(f"mlp_block_sizes: dtype {dtype!r} is not one of {MLP_DTYPES}")
    fma = dtype == "fp32"
    block_n = min(MAX_BLOCK_N, max(MIN_DOT, _next_pow2(N)))
    block_m = min(64, max(MIN_DOT, _next_pow2(M)))
    while block_m > MIN_BLOCK_M and _cdiv(M, block_m) * _cdiv(N, block_n) < SM_COUNT:
        block_m //= 2
    block_h = min(32 if fma else 64, max(MIN_DOT, _next_pow2(H)))
    block_k = min(16 if fma else 128 // ITEMSIZE[dtype], max(MIN_DOT, _next_pow2(K)))
    return block_m, block_k, block_h, block_n


def mlp_num_warps(BLOCK_M: int, BLOCK_H: int, BLOCK_N: int, dtype: str = "fp16") -> int:
    """8 warps when the two fp32 tiles (``acc`` and ``h``) hold 8192 elements or more (64 registers a thread
    at 4 warps, before the dot operands), else 4 (one Hopper warpgroup, the unit ``wgmma`` works in). IEEE
    fp32 always takes 8: its FMA dots hold operand slices in registers, and with 4 even the 16x64 tile
    (hidden chunk 32) spilled 16-24 bytes on sm_80.

        >>> mlp_num_warps(64, 64, 128), mlp_num_warps(32, 64, 128), mlp_num_warps(16, 32, 16, "fp32")
        (8, 4, 8)
    """
    if dtype == "fp32":
        return 8
    return 8 if BLOCK_M * (BLOCK_N + BLOCK_H) >= 8192 else 4


def mlp_num_stages(BLOCK_M: int, BLOCK_K: int, BLOCK_H: int, BLOCK_N: int, K: int, dtype: str,
                   w2_dtype: str | None = None) -> int:
    """x / W1 tiles of the inner K loop kept in flight: as many as fit in ``MLP_SMEM`` (96 KiB) next to the
    W2 chunk and the hidden tile (which the second dot reads through shared memory), at most 2 (the K loop
    is short and restarts every hidden chunk, so a deeper pipeline's prologue costs registers: 3 stages
    spilled 8 bytes on sm_90 at 16x128) and at most the number of K steps. IEEE fp32 takes 1: its dots are
    FMA-bound, so a pipeline hides little, and 2-3 stages spilled 8-24 bytes on sm_80 and sm_90.

        >>> mlp_num_stages(32, 64, 64, 128, 128, "fp16"), mlp_num_stages(32, 16, 32, 32, 33, "fp32")
        (2, 1)
    """
    if dtype == "fp32":
        return 1
    w2_item = ITEMSIZE[w2_dtype or dtype]
    fixed = BLOCK_H * BLOCK_N * w2_item + BLOCK_M * BLOCK_H * w2_item
    stage_bytes = (BLOCK_M * BLOCK_K + BLOCK_K * BLOCK_H) * ITEMSIZE[dtype]
    return max(1, min(2, (MLP_SMEM - fixed) // stage_bytes, _cdiv(K, BLOCK_K)))


def mlp_grid(M: int, N: int, BLOCK_M: int, BLOCK_N: int) -> tuple[int, ...]:
    """``(row blocks,)`` when N fits one column block, else ``(row blocks, column blocks)``.

        >>> mlp_grid(100, 64, 32, 64), mlp_grid(100, 300, 32, 128)
        ((4,), (4, 3))
    """
    n_blocks = _cdiv(N, BLOCK_N)
    return (_cdiv(M, BLOCK_M),) if n_blocks == 1 else (_cdiv(M, BLOCK_M), n_blocks)


# ----------------------------------------------------------------------------------------------------------
# Rendering
# ----------------------------------------------------------------------------------------------------------

_BODY = '''\
@triton.jit
def {name}({params}):
    # Program -> BLOCK_M rows and BLOCK_N columns of out (axis 1 exists only when N needs several blocks).
    pid_m = tl.program_id(0)
    pid_n = tl.program_id(1)

    # Offsets. Rows and columns past the edge wrap around (% M, % N), so the loads need no row or column
    # mask; the store masks them out.
    offs_m = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
    offs_n = pid_n * BLOCK_N + tl.arange(0, BLOCK_N)
    offs_xm = offs_m % M
    offs_wn = offs_n % N
    offs_k = tl.arange(0, BLOCK_K)
    offs_h = tl.arange(0, BLOCK_H)
    rm = offs_m[:, None]
    rn = offs_n[None, :]
{x_setup}
    # Hidden loop: acc += act(x @ W1[:, chunk]{b1_text}) @ W2[chunk, cols]; the hidden tile stays in registers.
    acc = tl.zeros((BLOCK_M, BLOCK_N), dtype=tl.float32)
    for start_h in range(0, H, BLOCK_H):
        hcols = start_h + offs_h
        rh = hcols[None, :]
        mask_h = rh < H

        # h = x[rows, :] @ W1[:, chunk], the K loop accumulating in fp32; K's tail loads zeros.
        h = tl.zeros((BLOCK_M, BLOCK_H), dtype=tl.float32)
{g_init}        for start_k in range(0, K, BLOCK_K):
            kcols = start_k + offs_k
{x_tile}            if EVEN_K and EVEN_H:
{x_load_even}                w1 = tl.load(w1_ptr + {w1_offset}kcols[:, None] * stride_w1k + rh * stride_w1h)
            else:
{x_load_tail}                w1 = tl.load(w1_ptr + {w1_offset}kcols[:, None] * stride_w1k + rh * stride_w1h,
                             mask=(kcols[:, None] < K) & mask_h, other=0.0)
            h = tl.dot(x, w1, h{dot1_kwargs})
{g_dot}{b1_lines}{round_lines}
        # Activation: {act_name}
{act}
        # Hidden columns past H contribute nothing, whatever the activation made of their zeros.
        a = tl.where(mask_h, a, 0.0)

        # acc += a @ W2[chunk, cols], the dot in W2's dtype; H's tail loads zeros.
        if EVEN_H:
            w2 = tl.load(w2_ptr + {w2_offset}hcols[:, None] * stride_w2h + offs_wn[None, :] * stride_w2n)
        else:
            w2 = tl.load(w2_ptr + {w2_offset}hcols[:, None] * stride_w2h + offs_wn[None, :] * stride_w2n,
                         mask=hcols[:, None] < H, other=0.0)
        acc = tl.dot(a.to({w2_tl}), w2, acc{dot2_kwargs})
{b2_lines}
{out_lines}'''

_B1 = '''\
        b1 = tl.load(b1_ptr + rh, mask=mask_h, other=0.0).to(tl.float32)
        h = h + b1
'''
_ROUND = '''\
        # The hidden activation rounded to {dtype}, as eager code stores it between the layers.
        h = h.to({x_tl}).to(tl.float32)
'''
_B2 = '''\

    b2 = tl.load(b2_ptr + offs_wn).to(tl.float32)
    acc = acc + b2[None, :]
'''


_X_LOADED = dict(
    x_setup="", x_tile="",
    x_load_even="                x = tl.load(x_ptr + {x_offset}offs_xm[:, None] * stride_xm + kcols[None, :] * stride_xk)\n",
    x_load_tail="                x = tl.load(x_ptr + {x_offset}offs_xm[:, None] * stride_xm + kcols[None, :] * stride_xk,\n"
                "                            mask=kcols[None, :] < K, other=0.0)\n")
_STORE = '''\
    # Store out (contiguous [M, N]).
    mask = (rm < M) & (rn < N)
    tl.store(out_ptr + rm * N + rn, acc.to({out_tl}), mask=mask)
'''


def _x_computed(setup: list[str], tile: list[str], name: str) -> dict:
    """The body's x fields for a ``Prologue``: rows' statistics before the hidden loop, tiles in the K loop."""
    head, body = prologue_text(setup, tile, name, operand="x", xindex="offs_xm[:, None].to(tl.int64)",
                               xmask="offs_xm[:, None] < M", rindex="kcols[None, :]", take="x = tile")
    return dict(x_setup=textwrap.indent("\n".join(head), "    ") + "\n",
                x_tile=textwrap.indent("\n".join(body), "            ") + "\n", x_load_even="", x_load_tail="")


def _check_activation(act: Activation) -> list[str]:
    """Validate ``act`` and return its lines, dedented, one per source line."""
    return check_hook("Activation", "MLP", act.params, {}, act.lines, _RESERVED, assigns="a")


def render_mlp(name: str, *, M: int, K: int, H: int, N: int, x: MlpOperand | None, w1: MlpOperand,
               w2: MlpOperand, b1: str | None, b2: str | None, out_dtype: str, activation: Activation | None = None,
               round_hidden: bool = True, prologue: Prologue | None = None, epilogue: Epilogue | None = None,
               w1b: MlpOperand | None = None, allow_tf32: bool = False, nodes: Sequence[str] = (),
               user_lines: Sequence[str] = ()) -> KernelSpec:
    """The ``KernelSpec`` of a kernel computing ``out = act(x @ W1 + b1) @ W2 + b2`` with x ``[M, K]``,
    W1 ``[K, H]`` and W2 ``[H, N]`` read through their strides and ``out`` a contiguous ``[M, N]`` buffer.

    ``b1``, ``b2``: the dtypes of the (contiguous) bias vectors, or ``None`` for no bias. ``activation``:
    the lines run on the hidden tile (default ``a = h``). ``round_hidden``: round ``h`` (after ``b1``) to
    x's dtype before the activation, as eager fp16/bf16 code does when it stores the linear's output (a
    no-op for fp32). The activated tile is cast to W2's dtype for the second dot. ``nodes``, ``user_lines``:
    provenance, named in the header comment and kept in the spec. The kernel's arguments are
    ``x_ptr, w1_ptr[, b1_ptr], w2_ptr[, b2_ptr], *activation.params, out_ptr, M`` (``spec.signature``),
    then ``spec.constexprs`` by keyword; launch it on ``spec.grid``.

    ``prologue`` (``kernels.matmul.Prologue``): compute x's tiles instead of loading them (``x`` is then
    None); its params come first. ``epilogue`` (``kernels.matmul.Epilogue``): lines run on ``acc`` (fp32,
    biased) instead of the store into ``out_ptr``, with ``rm``, ``rn``, ``mask`` and ``M`` defined, as in
    the matmul template; its params replace ``out_ptr``. ``allow_tf32``: fp32 dots on TensorFloat32 tensor
    cores (the tile heuristics stay those of IEEE fp32). ``w1b``: a gated MLP's second projection ``[K, H]``
    (SwiGLU's up projection): its tile ``g = x @ W1b[:, chunk]`` is computed next to ``h`` and the activation
    lines read both.

    ``bytes_moved`` counts DRAM traffic with the weights' column block served from L2 after its first read:
    x, W1 and b1 once per column block (a second column block recomputes the hidden), W2, b2 and out once.
    ``flops``: ``2*M*K*H + 2*M*H*N`` (the hidden recomputed per extra column block is not counted).

        >>> spec = render_mlp("mlp_1", M=64, K=32, H=128, N=300, x=MlpOperand("fp32", (32, 1)),
        ...                   w1=MlpOperand("fp32", (128, 1)), w2=MlpOperand("fp32", (300, 1)),
        ...                   b1=None, b2=None, out_dtype="fp32")
        >>> spec.grid, spec.flops == 2 * 64 * 32 * 128 + 2 * 64 * 128 * 300
        ((2, 3), True)
    """
    for size_name, size in (("M", M), ("K", K), ("H", H), ("N", N)):
        if not isinstance(size, numbers.Integral) or isinstance(size, bool) or size < 1:
            raise ValueError(f"render_mlp: {size_name} must be a positive int, got {size!r} "
                             f"(an empty MLP needs no kernel)")
    M, K, H, N = int(M), int(K), int(H), int(N)
    if (x is None) == (prologue is None):
        raise ValueError("render_mlp: pass exactly one of x (loaded through its strides) and prologue (computed)")
    x_dtype = x.dtype if x is not None else prologue.dtype
    if x_dtype != w1.dtype:
        raise ValueError(f"render_mlp: x is {x_dtype} and w1 is {w1.dtype}; cast one first "
                         f"(tl.dot needs equal input dtypes)")
    for what, dt in (("b1", b1), ("b2", b2), ("out_dtype", out_dtype)):
        if dt is not None and dt not in MLP_DTYPES:
            raise ValueError(f"render_mlp: {what} {dt!r} is not one of {MLP_DTYPES}" +
                             (" (or None: no bias)" if what != "out_dtype" else ""))
    if out_dtype is None:
        raise ValueError(f"render_mlp: out_dtype is required, one of {MLP_DTYPES}")
    for what, op, rows, cols in (("x", x, M, K), ("w1", w1, K, H), ("w2", w2, H, N)):
        if op is None:
            continue
        last = op.offset + (rows - 1) * op.strides[0] + (cols - 1) * op.strides[1]
        if last >= 2 ** 31:
            raise ValueError(f"render_mlp: {what} ([{rows}, {cols}], strides {op.strides}, offset {op.offset}) "
                             f"spans {last + 1} elements; the template's offsets are i32 (< 2**31 elements)")
    if M * N >= 2 ** 31:
        raise ValueError(f"render_mlp: out has {M * N} elements (M={M}, N={N}); the template's offsets are i32 "
                         f"(< 2**31 elements)")
    activation = activation or IDENTITY
    act_lines = _check_activation(activation)

    dtype = x_dtype
    block_m, block_k, block_h, block_n = mlp_block_sizes(M, K, H, N, dtype)
    num_warps = mlp_num_warps(block_m, block_h, block_n, dtype)
    num_stages = mlp_num_stages(block_m, block_k, block_h, block_n, K, dtype, w2.dtype)

    own = {"x_ptr": f"*{dtype}"} if prologue is None else {}
    own["w1_ptr"] = f"*{dtype}"
    if w1b is not None:
        if w1b.dtype != dtype:
            raise ValueError(f"render_mlp: w1b is {w1b.dtype} and x is {dtype}; they must match")
        own["w1b_ptr"] = f"*{dtype}"
    if b1:
        own["b1_ptr"] = f"*{b1}"
    own["w2_ptr"] = f"*{w2.dtype}"
    if b2:
        own["b2_ptr"] = f"*{b2}"
    clash = sorted(set(activation.params) & set(own))
    if clash:
        raise ValueError(f"Activation: parameters {clash} repeat the template's own parameters")
    if prologue is not None:
        setup, tile = check_prologue(prologue, "MLP", _RESERVED)
    if epilogue is not None:
        ep_lines = check_hook("Epilogue", "MLP", epilogue.params, epilogue.constexprs, epilogue.lines,
                              _RESERVED)
    signature = merge_params("render_mlp", prologue.params if prologue else {}, own, activation.params,
                             epilogue.params if epilogue else {"out_ptr": f"*{out_dtype}"})
    signature["M"] = "i32"
    strides = (*x.strides, *w1.strides, *w2.strides) if x is not None else (*w1.strides, *w2.strides)
    constexprs: dict[str, int | bool] = dict(zip(_STRIDE_NAMES[-len(strides):], strides))
    if w1b is not None:
        constexprs.update(stride_w1bk=w1b.strides[0], stride_w1bh=w1b.strides[1])
    constexprs.update(K=K, H=H, N=N, BLOCK_M=block_m, BLOCK_K=block_k, BLOCK_H=block_h, BLOCK_N=block_n,
                      EVEN_K=K % block_k == 0, EVEN_H=H % block_h == 0)

    rounds = round_hidden and dtype != "fp32"
    param_text = _format_params(name, list(signature), [f"{c}: tl.constexpr" for c in constexprs])
    precision = ("tf32" if allow_tf32 else "ieee fp32") if dtype == "fp32" else f"{dtype} tensor cores"
    n_blocks = _cdiv(N, block_n)
    header = [
        f"# {name}: fused MLP out = act(x @ W1{' + b1' if b1 else ''}) @ W2{' + b2' if b2 else ''}, "
        f"the hidden [M, {H}] never stored (activation: {activation.name})",
        "#   generated by torchlite.kernels.mlp (back-to-back GEMM template)",
        (f"#   x: {dtype}, strides (row, col) = {x.strides}" + (f", offset {x.offset}" if x.offset else ""))
        if x is not None else f"#   x: {dtype}, computed by the prologue ({prologue.name})",
        f"#   W1: {w1.dtype}, strides (row, col) = {w1.strides}" + (f", offset {w1.offset}" if w1.offset else ""),
        f"#   W2: {w2.dtype}, strides (row, col) = {w2.strides}" + (f", offset {w2.offset}" if w2.offset else ""),
        f"#   K {K}, H {H}, N {N}; biases b1 {b1 or 'none'}, b2 {b2 or 'none'}; out {out_dtype}; "
        f"hidden {'rounded to ' + dtype if rounds else 'kept in fp32'}",
        f"#   accumulators fp32, dot precision {precision}"
        + (f", a @ W2 in {w2.dtype}" if w2.dtype != dtype else ""),
        f"#   tile {block_m}x{block_n}, hidden chunk {block_h}, K step {block_k}, {num_warps} warps, "
        f"{num_stages} stage{'s' if num_stages > 1 else ''}"
        + (f"; {n_blocks} column blocks each recompute the hidden" if n_blocks > 1 else ""),
        "#   M is a runtime argument; K, H, N, strides and tile sizes are constexprs",
    ]
    if nodes:
        header.append(f"#   nodes: {', '.join(nodes)}")
    if user_lines:
        header.append(f"#   from: {', '.join(user_lines)}")
    x_fields = {k: v.format(x_offset=f"{x.offset} + " if x.offset else "") for k, v in _X_LOADED.items()} \
        if x is not None else _x_computed(setup, tile, prologue.name)
    if epilogue is None:
        out_lines = _STORE.format(out_tl=TL_DTYPE[out_dtype])
    else:
        out_lines = textwrap.indent("\n".join([f"# Epilogue: {epilogue.name}", "mask = (rm < M) & (rn < N)"]
                                              + ep_lines), "    ") + "\n"
    g_fields = dict(g_init="", g_dot="")
    if w1b is not None:
        off = f"{w1b.offset} + " if w1b.offset else ""
        g_fields = dict(
            g_init="        g = tl.zeros((BLOCK_M, BLOCK_H), dtype=tl.float32)   # the gate's partner: x @ W1b\n",
            g_dot=(f"            w1b = tl.load(w1b_ptr + {off}kcols[:, None] * stride_w1bk + rh * stride_w1bh,\n"
                   "                          mask=(kcols[:, None] < K) & mask_h, other=0.0)\n"
                   f"            g = tl.dot(x, w1b, g{_dot_kwargs(dtype, allow_tf32)})\n"))
    body = _BODY.format(
        name=name, params=param_text, b1_text=" + b1" if b1 else "", **x_fields, **g_fields, out_lines=out_lines,
        w1_offset=f"{w1.offset} + " if w1.offset else "",
        w2_offset=f"{w2.offset} + " if w2.offset else "",
        dot1_kwargs=_dot_kwargs(dtype, allow_tf32), dot2_kwargs=_dot_kwargs(w2.dtype, allow_tf32),
        b1_lines=_B1 if b1 else "", round_lines=_ROUND.format(dtype=dtype, x_tl=TL_DTYPE[dtype]) if rounds else "",
        act_name=activation.name, act=textwrap.indent("\n".join(act_lines), " " * 8),
        w2_tl=TL_DTYPE[w2.dtype], b2_lines=_B2 if b2 else "")
    imports = "import triton\nimport triton.language as tl\nfrom triton.language.extra import libdevice\n"
    source = "\n".join(header) + "\n" + imports + "\n\n" + body

    item = ITEMSIZE
    x_bytes = M * K * item[dtype] if prologue is None else prologue.bytes_moved
    per_column_block = x_bytes + K * H * item[dtype] * (2 if w1b is not None else 1) + (H * item[b1] if b1 else 0)
    bytes_moved = (n_blocks * per_column_block + H * N * item[w2.dtype] + (N * item[b2] if b2 else 0)
                   + (M * N * item[out_dtype] if epilogue is None else epilogue.bytes_moved))
    return KernelSpec(
        name=name, kind="mlp", source=source, signature=signature, constexprs=constexprs,
        grid=mlp_grid(M, N, block_m, block_n), num_warps=num_warps, num_stages=num_stages,
        nodes=list(nodes), user_lines=list(user_lines), bytes_moved=bytes_moved,
        flops=(2 * M * K * H * (2 if w1b is not None else 1) + 2 * M * H * N
               + (prologue.flops if prologue else 0) + (epilogue.flops if epilogue else 0)),
    )
