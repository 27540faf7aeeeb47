"""The attention template: renders the Triton source of a flash-attention forward kernel (online softmax).

``render_attention`` returns a ``KernelSpec`` whose source reads like Triton's fused-attention tutorial (06):
one program per block of ``BLOCK_M`` query rows of one batch, the query block loaded once, then a loop over
key blocks that computes the raw scores ``qk = q @ k^T``, runs the score lines on them (the default:
``s = qk * SCALE``; the compiler fuses masks, biases and scales by passing a ``ScoreFn`` instead), and
folds ``softmax(s) @ v`` into a running max ``m_i``, a running sum ``l_i`` and an fp32 accumulator that is
rescaled by ``exp(m_old - m_new)`` whenever the max rises. The ``[Lq, Lk]`` score matrix never reaches
memory; the output is divided by ``l_i`` once, after the loop, and stored as a contiguous
``[batch, Lq, Dv]`` tensor.

    >>> q = AttnOperand("fp16", (0, 0, 64, 1))               # one [Lq, 64] matrix, rows contiguous
    >>> spec = render_attention("attn_0", batch_outer=1, batch_inner=1, Lq=128, Lk=128, D=64, Dv=64,
    ...                         q=q, k=q, v=q, out_dtype="fp16", scale=0.125)
    >>> list(spec.signature), spec.grid
    (['q_ptr', 'k_ptr', 'v_ptr', 'out_ptr', 'Lq', 'Lk'], (2, 1))

What is runtime and what is constexpr:
- ``Lq`` and ``Lk`` are runtime ``i32`` arguments and the source never names their values, so sequence
  lengths in the same tile class reuse one compiled binary; ``attention_grid`` recomputes the grid.
- The head sizes ``D``/``DV`` (and their power-of-two paddings ``BLOCK_D``/``BLOCK_DV``), the operand
  strides and the batch split ``BATCH_INNER`` are constexprs: they fix the memory layout and let Triton
  prove which masks are constant along a row, so padded head dims cost nothing when ``D`` is a power of two.
- The default score's ``SCALE`` is a constexpr (it is a shape fact, ``1/sqrt(D)``, in practice). A compiler
  that wants a scale that changes without a recompile passes a ``ScoreFn`` with an ``fp32`` parameter.

Batches: the flattened batch index ``pid_b`` (program axis 1) splits into ``(pid_b // BATCH_INNER,
pid_b % BATCH_INNER)``, stepping each operand's ``batch_outer`` and ``batch_inner`` strides, so q, k and v
may be views of one packed ``[B, L, 3, H, D]`` qkv buffer (batch = B x H) with no copy. Offsets inside one
matrix are ``i32``, batch offsets ``i64``; ``render_attention`` refuses a matrix that i32 cannot address.

Semantics at the edges:
- Keys past ``Lk`` get ``-inf`` *after* the score lines run (so a score cannot bring them back); rows past
  ``Lq`` are computed on zeros and never stored.
- A score of ``-inf`` contributes 0. A row whose scores are all ``-inf`` (everything masked) ends with
  ``l_i == 0`` and stores ``0 / 0 = NaN``, as ``torch.softmax`` of an all ``-inf`` row does, and its
  log-sum-exp is ``-inf``. While a row has seen no finite score yet, the update subtracts 0 instead of
  its max (``m_safe``), so a fully masked *first* block is not NaN for a row that has finite scores later.
- A ``+inf`` or NaN score makes its row NaN (``inf - inf``), as in torch.

fp64 inputs use the same kernel with an fp64 accumulator and fp64 softmax state (``tl.dot`` on fp64 is
DMMA on sm_80/sm_90); fp32 inputs use IEEE fp32 dots (``input_precision="ieee"``, FMA units, no tf32).
"""
from __future__ import annotations

import ast
import math
import numbers
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..compiler.kernel import KernelSpec
from .matmul import DTYPES, ITEMSIZE, MAX_GRID_Y, MIN_DOT, SM_COUNT, TL_DTYPE, _cdiv, _next_pow2
from .matmul import _format_params
from ._hooks import check_hook

# Heuristic constants, each with its reason.
ATTN_SMEM = 96 * 1024         # shared memory for q + the K/V pipeline: fits every sm_80+ part (99 KiB on sm_86/89)
MAX_BLOCK_D = 256             # largest head dim: q block and accumulator live in registers (fp64: 128;
                              # fp64 at 256 spilled on sm_90 with a bias score)
Q_BLOCK_BYTES = 32 * 1024     # largest q block: it stays in registers (or shared memory) for the whole loop
FMA_DOTS = ("fp32", "fp64")   # IEEE fp32 and fp64 dots run on FMA/DMMA units, not fp16/bf16 tensor cores

_SIZE_NAMES = ("Lq", "Lk")
_STRIDE_NAMES = tuple(f"stride_{x}{d}" for x, dims in (("q", "bo bi m d"), ("k", "bo bi n d"),
                                                       ("v", "bo bi n d")) for d in dims.split())
_TILE_NAMES = ("BATCH_INNER", "D", "DV", "BLOCK_M", "BLOCK_N", "BLOCK_D", "BLOCK_DV")
# Names the kernel body defines before or around the score lines; a score param may not shadow them, and
# the score lines may assign none of them except ``s`` (their result).
_RESERVED = frozenset(("tl", "triton", "q_ptr", "k_ptr", "v_ptr", "out_ptr", "lse_ptr", "pid_m", "pid_b",
                       "b_outer", "b_inner", "q_base", "k_base", "v_base", "offs_m", "offs_n", "offs_d",
                       "offs_dv", "rm", "rn", "mask_m", "mask_n", "mask_d", "mask_dv", "mask", "q", "k", "v",
                       "qk", "s", "m_i", "l_i", "acc", "m_new", "m_safe", "alpha", "p", "hi", "start_n", "out")
                      + _SIZE_NAMES + _STRIDE_NAMES + _TILE_NAMES)


@dataclass(frozen=True)
class AttnOperand:
    """q, k or v as the kernel reads it: its Triton dtype and element strides
    ``(batch_outer, batch_inner, row, col)``; the flattened batch is ``batch_outer_size x batch_inner_size``.
    k's rows are keys and its columns the head dim (the kernel computes ``q @ k^T`` itself), so a k^T view
    is passed by swapping the last two strides, never by copying. ``offset``: elements from the pointer
    passed at launch to the operand's first element (q, k and v of one packed qkv buffer can share it).

        >>> AttnOperand("bf16", (1024 * 3 * 12 * 64, 64, 3 * 12 * 64, 1), offset=12 * 64)   # k of qkv[B, L, 3, H, D]
        AttnOperand(dtype='bf16', strides=(2359296, 64, 2304, 1), offset=768, transform='')
    """
    dtype: str
    strides: tuple[int, int, int, int]
    offset: int = 0
    # A Triton expression of the loaded tile ``{x}`` that the kernel uses instead of it (sdpa's q and k scaled
    # by sqrt(scale): ``"({x}.to(tl.float32) * arg_s1).to(tl.float16)"``), its parameters among the score's.
    transform: str = ""

    def __post_init__(self) -> None:
        if self.dtype not in DTYPES:
            raise ValueError(f"AttnOperand: dtype {self.dtype!r} is not supported by the attention template; "
                             f"use one of {DTYPES}")
        strides = tuple(self.strides)
        if len(strides) != 4 or not all(isinstance(s, numbers.Integral) and s >= 0 for s in strides):
            raise ValueError(f"AttnOperand: strides must be four non-negative ints (batch_outer, batch_inner, "
                             f"row, col), got {self.strides!r}")
        if not isinstance(self.offset, numbers.Integral) or self.offset < 0:
            raise ValueError(f"AttnOperand: offset must be a non-negative int, got {self.offset!r}")
        object.__setattr__(self, "strides", tuple(int(s) for s in strides))   # numpy ints -> int
        object.__setattr__(self, "offset", int(self.offset))


@dataclass(frozen=True)
class ScoreFn:
    """How a score tile ``s`` is computed from the raw ``qk = q @ k^T`` tile: the compiler's hook for fusing
    scales, masks and biases into attention.

    - ``params``: extra kernel parameters in order, name -> Triton type; they follow ``q_ptr, k_ptr, v_ptr``
      in the signature (before ``out_ptr``).
    - ``lines``: Triton source lines, unindented (relative indentation is kept), run inside the K/V loop
      after ``qk = tl.dot(q, k)``. They must assign ``s`` (``[BLOCK_M, BLOCK_N]``, fp32; fp64 for fp64
      inputs) and may assign temporaries of their own, but no other name the template defines. Defined for
      them: ``qk`` (same shape and dtype as ``s``), ``rm = offs_m[:, None]`` (absolute query row),
      ``rn = offs_n[None, :]`` (absolute key column), ``pid_b`` (flattened batch index, i64),
      ``mask = (rm < Lq) & (rn < Lk)``, the sizes ``Lq``, ``Lk`` and ``tl``. Keys past ``Lk`` are set to
      ``-inf`` after the lines run, whatever they computed.
    - ``constexprs``: extra constexpr params, name -> value (appended after the template's constexprs).
    - ``name``: what it computes, for the kernel's header comment (``"causal mask, scale 0.125"``).
    - ``load_bytes``: bytes its loads read per score element per key block (4 for one fp32 bias tile);
      the tile heuristics make room for them in registers and shared memory (Triton pipelines these loads
      with k and v). ``None``: 4 per ``tl.load`` in the lines (a vector load, e.g. a key padding mask,
      is counted as a tile: conservative).
    - ``bytes_moved``, ``flops``: what its loads move and its math adds (estimated by its author), added to
      the spec's totals.

        >>> causal = ScoreFn(params={}, lines=['s = tl.where(rn <= rm, qk * 0.125, float("-inf"))'],
        ...                  name="causal mask")
        >>> causal.lines[0][:14]
        's = tl.where(r'
    """
    params: dict[str, str]
    lines: list[str] | tuple[str, ...]
    constexprs: dict[str, int | float | bool] = field(default_factory=dict)
    name: str = "scores"
    load_bytes: int | None = None
    bytes_moved: int = 0
    flops: int = 0


def default_score(scale: float = 1.0, dtype: str = "fp32") -> ScoreFn:
    """``s = qk * SCALE``, with ``SCALE`` a constexpr. For fp64 the literal is made an fp64 tensor (compiled
    Triton turns a Python float into an fp32 constant, which would round ``1/sqrt(D)``).

        >>> default_score(0.125).lines, default_score(0.125).constexprs
        (['s = qk * SCALE'], {'SCALE': 0.125})
    """
    if not isinstance(scale, numbers.Real) or not math.isfinite(scale):
        raise ValueError(f"default_score: scale must be a finite float, got {scale!r}")
    line = "s = qk * tl.full([], SCALE, tl.float64)" if dtype == "fp64" else "s = qk * SCALE"
    return ScoreFn(params={}, lines=[line], constexprs={"SCALE": float(scale)}, name=f"scale {float(scale):g}")


# ----------------------------------------------------------------------------------------------------------
# Launch heuristics
# ----------------------------------------------------------------------------------------------------------

def head_block(D: int) -> int:
    """The padded head dim: the next power of two, at least 16 (``tl.dot`` needs every dimension >= 16).

        >>> head_block(8), head_block(64), head_block(100)
        (16, 64, 128)
    """
    return max(MIN_DOT, _next_pow2(D))


def _pow2_at_most(n: int) -> int:
    return 1 << max(0, n.bit_length() - 1)


def attention_block_sizes(Lq: int, Lk: int, D: int, dtype: str, *, batch: int = 1, Dv: int | None = None,
                          v_dtype: str | None = None, score_bytes: int = 0) -> tuple[int, int]:
    """``(BLOCK_M, BLOCK_N)``: query rows per program and keys per loop step.

    BLOCK_M: 128 rows on tensor cores (fp16/bf16: the tutorial's tile, each q block is reused against every
    key block), 64 for fp32/fp64, whose FMA dots hold operand slices in registers; then at most 32 KiB of
    q block (64 rows at head dim 256), 16 KiB when the score loads tiles (``score_bytes`` per score
    element: its tile and its 64-bit pointers take the registers a bigger q block would). BLOCK_N: what
    one pipeline stage loads (k, v and the score's tiles) at most 32 KiB and 64 keys on tensor cores,
    16 KiB and 32 keys for FMA dots. Both cut to the next power of two of Lq / Lk, never below 16;
    BLOCK_M is then halved (not below 64) while the grid has fewer programs than an A100 has SMs, because
    an idle SM costs more than a smaller tile. Checked by compiling for sm_80 and sm_90 (8 x 12 heads,
    L 1024 and 1, head dims 16..256, fp64 16..128, causal and bias scores): no spills, at most 97 KiB of
    shared memory; tests/test_attention_template.py keeps four of those configs.

        >>> attention_block_sizes(1024, 1024, 64, "fp16", batch=96), attention_block_sizes(1, 17, 64, "fp32")
        ((128, 64), (16, 32))
    """
    if dtype not in DTYPES:
        raise ValueError(f"attention_block_sizes: dtype {dtype!r} is not one of {DTYPES}")
    block_d, block_dv = head_block(D), head_block(Dv or D)
    itemsize = ITEMSIZE[dtype]
    max_m, max_n, stage_bytes = (64, 32, 16 * 1024) if dtype in FMA_DOTS else (128, 64, 32 * 1024)
    q_bytes = Q_BLOCK_BYTES // 2 if score_bytes else Q_BLOCK_BYTES
    max_m = max(MIN_DOT, min(max_m, q_bytes // (block_d * itemsize)))
    key_bytes = block_d * itemsize + block_dv * ITEMSIZE[v_dtype or dtype] + max_m * score_bytes
    max_n = max(MIN_DOT, min(max_n, _pow2_at_most(stage_bytes // key_bytes)))
    block_m = max(MIN_DOT, min(max_m, _next_pow2(Lq)))
    block_n = max(MIN_DOT, min(max_n, _next_pow2(Lk)))
    while block_m > 64 and batch * _cdiv(Lq, block_m) < SM_COUNT:
        block_m //= 2
    return block_m, block_n


def attention_num_warps(BLOCK_M: int, BLOCK_N: int, BLOCK_D: int, dtype: str = "fp16",
                        BLOCK_DV: int | None = None) -> int:
    """8 warps when the accumulator (``BLOCK_M x BLOCK_DV``) takes 32 KiB or more, 64 registers a thread at
    4 warps with the q block, the score tile and p still to hold (128 rows at head dim 64: with 4 warps
    the causal 128x64 tile spilled on sm_80), else 4 (one Hopper warpgroup, the unit ``wgmma`` works in).
    fp32/fp64 dots run on FMA/DMMA units that load operand slices into registers too, so they switch at
    8 KiB (with 4 warps the fp32 64x32 tile at head dim 64 spilled on both archs).

        >>> attention_num_warps(128, 64, 32), attention_num_warps(128, 64, 64), attention_num_warps(64, 32, 16, "fp32")
        (4, 8, 4)
    """
    acc_bytes = BLOCK_M * max(BLOCK_D, BLOCK_DV or BLOCK_D) * (8 if dtype == "fp64" else 4)
    return 8 if acc_bytes >= (8 if dtype in FMA_DOTS else 32) * 1024 else 4


def attention_num_stages(BLOCK_M: int, BLOCK_N: int, BLOCK_D: int, BLOCK_DV: int, Lk: int, dtype: str,
                         v_dtype: str | None = None, score_bytes: int = 0) -> int:
    """K/V blocks kept in flight (with the score's tiles, ``score_bytes`` per score element): as many as fit
    in ``ATTN_SMEM`` (96 KiB, legal on every sm_80+ part) next to the q block (which Hopper stages through
    shared memory for ``wgmma``), at most 3 (the tutorial's depth: more hides no more latency behind two
    dots and a softmax) and at most the number of key blocks (1 when the loop runs once).

        >>> attention_num_stages(128, 64, 64, 64, 1024, "fp16"), attention_num_stages(128, 64, 128, 128, 1024, "bf16")
        (3, 2)
    """
    stage_bytes = BLOCK_N * (BLOCK_D * ITEMSIZE[dtype] + BLOCK_DV * ITEMSIZE[v_dtype or dtype]
                             + BLOCK_M * score_bytes)
    q_bytes = BLOCK_M * BLOCK_D * ITEMSIZE[dtype]
    return max(1, min(3, (ATTN_SMEM - q_bytes) // stage_bytes, _cdiv(Lk, BLOCK_N)))


def attention_grid(Lq: int, batch: int, BLOCK_M: int) -> tuple[int, int]:
    """``(query blocks of one matrix, batch)``: query blocks on program axis 0, the flattened batch on axis 1.

        >>> attention_grid(100, 96, 64)
        (2, 96)
    """
    return _cdiv(Lq, BLOCK_M), batch


# ----------------------------------------------------------------------------------------------------------
# Rendering
# ----------------------------------------------------------------------------------------------------------

_BODY = '''\
@triton.jit
def {name}({params}):
    # Program -> BLOCK_M query rows of one batch; the flattened batch index splits into (outer, inner).
    pid_m = tl.program_id(0)
    pid_b = tl.program_id(1).to(tl.int64)
    b_outer = pid_b // BATCH_INNER
    b_inner = pid_b % BATCH_INNER
    q_base = q_ptr + {q_offset}b_outer * stride_qbo + b_inner * stride_qbi
    k_base = k_ptr + {k_offset}b_outer * stride_kbo + b_inner * stride_kbi
    v_base = v_ptr + {v_offset}b_outer * stride_vbo + b_inner * stride_vbi

    # Offsets and masks: query rows offs_m, head dims offs_d (q, k) and offs_dv (v, out), padded to
    # powers of two; the key columns offs_n move with the loop.
    offs_m = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
    offs_d = tl.arange(0, BLOCK_D)
    offs_dv = tl.arange(0, BLOCK_DV)
    rm = offs_m[:, None]
    mask_m = rm < Lq
    mask_d = offs_d < D
    mask_dv = offs_dv < DV

    # The query block is loaded once and reused against every key block.
    q = tl.load(q_base + rm * stride_qm + offs_d[None, :] * stride_qd, mask=mask_m & mask_d[None, :], other=0.0)
{q_transform}
    # Online softmax state per query row: the running max m_i of its scores, the running sum l_i of
    # exp(s - m_i), and acc, the running sum of exp(s - m_i) * v.
    m_i = tl.full((BLOCK_M,), float("-inf"), dtype={acc_tl})
    l_i = tl.zeros((BLOCK_M,), dtype={acc_tl})
    acc = tl.zeros((BLOCK_M, BLOCK_DV), dtype={acc_tl})

    # K/V loop over key blocks [start_n, start_n + BLOCK_N).
    {hi_line}
    for start_n in range(0, hi, BLOCK_N):
        offs_n = start_n + tl.arange(0, BLOCK_N)
        rn = offs_n[None, :]
        mask_n = rn < Lk
        mask = mask_m & mask_n
        # Raw scores: q @ k^T, with the k^T block [BLOCK_D, BLOCK_N] read through k's strides.
        k = tl.load(k_base + offs_d[:, None] * stride_kd + rn * stride_kn, mask=mask_d[:, None] & mask_n, other=0.0)
{k_transform}        qk = tl.dot(q, k{qk_kwargs})

        # Score: {score_name}
{score}
        # Keys past Lk get -inf after the score lines, so no score brings them back.
        s = tl.where(mask_n, s, float("-inf"))

        # Online softmax update: raise the running max, rescale what was summed under the old one by
        # alpha = exp(m_old - m_new). A row with no finite score yet subtracts 0 (exp(-inf) = 0, not NaN).
        m_new = tl.maximum(m_i, tl.max(s, 1))
        m_safe = tl.where(m_new == float("-inf"), 0.0, m_new)
        alpha = tl.exp(m_i - m_safe)
        p = tl.exp(s - m_safe[:, None])
        l_i = l_i * alpha + tl.sum(p, 1)
        m_i = m_new

        # acc = acc * alpha + p @ v, the dot in v's dtype.
        v = tl.load(v_base + offs_n[:, None] * stride_vn + offs_dv[None, :] * stride_vd,
                    mask=(offs_n[:, None] < Lk) & mask_dv[None, :], other=0.0)
{v_transform}        acc = acc * alpha[:, None]
        acc = tl.dot(p.to(v.dtype), v, acc{pv_kwargs})

    # Normalize once and store out[b] ({out_layout}). A row whose scores were all -inf has
    # l_i == 0 and stores 0 / 0 = NaN, as torch's softmax of an all -inf row.
    out = acc / l_i[:, None]
    tl.store(out_ptr + {out_offset}, out.to({out_tl}), mask=mask_m & mask_dv[None, :])
{lse}'''

_LSE = '''\
    # The row's log-sum-exp of its scores (for the backward pass): m_i + log(l_i); -inf for an all -inf row.
    tl.store(lse_ptr + pid_b * Lq + offs_m, m_i + tl.log(l_i), mask=offs_m < Lq)
'''


def _transform_line(name: str, transform: str, indent: int) -> str:
    """``name = transform(name)``, indented, or nothing; a transform must use its tile and parse."""
    if not transform:
        return ""
    if "{x}" not in transform:
        raise ValueError(f"AttnOperand: transform {transform!r} never uses the loaded tile {{x}}")
    line = f"{name} = {transform.format(x=name)}"
    try:
        ast.parse(line)
    except SyntaxError as e:
        raise ValueError(f"AttnOperand: transform {transform!r} is not a Triton expression: {e.msg}") from None
    return " " * indent + line + "\n"


def _check_score(score: ScoreFn) -> list[str]:
    """Validate ``score`` and return its lines, dedented, one per source line."""
    return check_hook("ScoreFn", "attention", score.params, score.constexprs, score.lines, _RESERVED, assigns="s")


def _dot_kwargs(dtype: str, tf32: bool = False) -> str:
    """Keyword arguments of a ``tl.dot`` on ``dtype`` operands: IEEE for fp32 unless ``tf32`` (TensorFloat32
    tensor cores, ``torchlite.set_float32_matmul_precision("high")``), fp64 out for fp64."""
    if dtype == "fp32" and tf32:
        return ', input_precision="tf32"'
    return {"fp32": ', input_precision="ieee"',
            "fp64": ', input_precision="ieee", out_dtype=tl.float64'}.get(dtype, "")


def render_attention(name: str, *, batch_outer: int, batch_inner: int, Lq: int, Lk: int, D: int, Dv: int,
                     q: AttnOperand, k: AttnOperand, v: AttnOperand, out_dtype: str,
                     score: ScoreFn | None = None, scale: float = 1.0, causal_skip: bool = False,
                     store_lse: bool = False, out_strides: tuple[int, int, int, int] | None = None,
                     allow_tf32: bool = False, nodes: Sequence[str] = (),
                     user_lines: Sequence[str] = ()) -> KernelSpec:
    """The ``KernelSpec`` of a flash-attention kernel: for each batch ``b`` (``batch_outer x batch_inner``)
    and query row ``i``, ``s[i, j] = score(q[b, i, :] . k[b, j, :])``, ``p = softmax_j(s)`` and
    ``out[b, i, :] = sum_j p[i, j] * v[b, j, :]``, stored to a contiguous ``[batch, Lq, Dv]`` ``out_ptr``.

    ``q`` is ``[Lq, D]``, ``k`` ``[Lk, D]`` (keys are rows) and ``v`` ``[Lk, Dv]`` per batch, each read
    through its strides. ``score``: the score lines (see ``ScoreFn``); default ``s = qk * scale``
    (``scale`` is unused when ``score`` is given: the score lines scale).
    ``causal_skip``: the caller promises that the score masks ``rn > rm`` to ``-inf`` (top-left causal, as
    ``torch``'s ``is_causal``); the loop then stops at the block's last query row instead of ``Lk``. The
    score lines still apply the mask. ``store_lse``: also store each row's log-sum-exp of ``s`` (what a
    backward pass needs) to ``lse_ptr``, a contiguous ``[batch, Lq]`` fp32 (fp64 for fp64) buffer.
    ``out_strides``: store out through ``(batch_outer, batch_inner, row, col)`` element strides instead of
    contiguously (the compiler writes straight into the layout a ``transpose(1, 2).reshape(...)`` reads).
    ``allow_tf32``: fp32 dots on TensorFloat32 tensor cores instead of IEEE fp32 FMAs.
    ``nodes``, ``user_lines``: provenance, named in the header comment and kept in the spec.
    The kernel's arguments are ``q_ptr, k_ptr, v_ptr, *score.params, out_ptr[, lse_ptr], Lq, Lk``
    (``spec.signature``), then the constexprs ``spec.constexprs`` by keyword; launch it on ``spec.grid``.

        >>> qkv = [AttnOperand("bf16", (3 * 1024 * 768, 64, 3 * 768, 1), offset=i * 768) for i in range(3)]
        >>> spec = render_attention("attn_1", batch_outer=2, batch_inner=12, Lq=1024, Lk=1024, D=64, Dv=64,
        ...                         q=qkv[0], k=qkv[1], v=qkv[2], out_dtype="bf16", scale=0.125)
        >>> spec.grid, spec.constexprs["BLOCK_M"], spec.num_warps, spec.flops == 4 * 24 * 1024 * 1024 * 64
        ((8, 24), 128, 8, True)
    """
    for size_name, size in (("batch_outer", batch_outer), ("batch_inner", batch_inner), ("Lq", Lq),
                            ("Lk", Lk), ("D", D), ("Dv", Dv)):
        if not isinstance(size, numbers.Integral) or isinstance(size, bool) or size < 1:
            raise ValueError(f"render_attention: {size_name} must be a positive int, got {size!r} "
                             f"(zero-size attention needs no kernel)")
    batch_outer, batch_inner, Lq, Lk, D, Dv = (int(x) for x in (batch_outer, batch_inner, Lq, Lk, D, Dv))
    if q.dtype != k.dtype:
        raise ValueError(f"render_attention: q is {q.dtype} and k is {k.dtype}; cast one first "
                         f"(tl.dot needs equal input dtypes)")
    if ("fp64" in (q.dtype, v.dtype)) and q.dtype != v.dtype:
        raise ValueError(f"render_attention: q/k are {q.dtype} and v is {v.dtype}; fp64 attention needs fp64 "
                         f"q, k and v (its softmax state and accumulator are fp64)")
    if out_dtype not in DTYPES:
        raise ValueError(f"render_attention: out_dtype {out_dtype!r} is not one of {DTYPES}")
    batch = batch_outer * batch_inner
    if batch > MAX_GRID_Y:
        raise ValueError(f"render_attention: batch {batch_outer} x {batch_inner} = {batch} exceeds the grid's "
                         f"axis-1 limit {MAX_GRID_Y}")
    max_d = MAX_BLOCK_D // 2 if q.dtype == "fp64" else MAX_BLOCK_D
    if max(D, Dv) > max_d:
        raise ValueError(f"render_attention: head dims D={D}, Dv={Dv}; the template holds a query block and "
                         f"the accumulator in registers and supports {q.dtype} head dims up to {max_d}")
    for what, op, rows, cols in (("q", q, Lq, D), ("k", k, Lk, D), ("v", v, Lk, Dv)):
        last = (rows - 1) * op.strides[2] + (cols - 1) * op.strides[3]
        if last >= 2 ** 31:
            raise ValueError(f"render_attention: one matrix of {what} ([{rows}, {cols}], strides "
                             f"{op.strides[2:]}) spans {last + 1} elements; the template's in-matrix offsets "
                             f"are i32 (< 2**31 elements)")
    if Lq * Dv >= 2 ** 31:
        raise ValueError(f"render_attention: one output matrix has {Lq * Dv} elements (Lq={Lq}, Dv={Dv}); the "
                         f"template's in-matrix offsets are i32 (< 2**31 elements)")

    dtype = q.dtype
    acc_dtype = "fp64" if dtype == "fp64" else "fp32"
    if score is None:
        score = default_score(scale, dtype)
    score_lines = _check_score(score)
    score_bytes = score.load_bytes
    if score_bytes is None:
        score_bytes = 4 * sum(isinstance(n, ast.Call) and ast.unparse(n.func) == "tl.load"
                              for n in ast.walk(ast.parse("\n".join(score_lines))))

    block_d, block_dv = head_block(D), head_block(Dv)
    block_m, block_n = attention_block_sizes(Lq, Lk, D, dtype, batch=batch, Dv=Dv, v_dtype=v.dtype,
                                             score_bytes=score_bytes)
    num_warps = attention_num_warps(block_m, block_n, block_d, dtype, block_dv)
    if num_warps == 4 and block_m * block_n >= 64 * 64 and any(op.transform for op in (q, k, v)):
        # A scaled k tile is one more [BLOCK_D, BLOCK_N] temporary per key block: the fp16 64x64 tile of
        # sdpa's scaled q and k spilled 8 bytes on sm_80 at 4 warps and one stage; 8 warps never did.
        num_warps = 8
    num_stages = attention_num_stages(block_m, block_n, block_d, block_dv, Lk, dtype, v.dtype, score_bytes)

    signature = {"q_ptr": f"*{dtype}", "k_ptr": f"*{dtype}", "v_ptr": f"*{v.dtype}", **score.params,
                 "out_ptr": f"*{out_dtype}"}
    if store_lse:
        signature["lse_ptr"] = f"*{acc_dtype}"
    signature.update(Lq="i32", Lk="i32")
    constexprs: dict[str, int | float | bool] = dict(zip(_STRIDE_NAMES, (*q.strides, *k.strides, *v.strides)))
    constexprs.update(BATCH_INNER=batch_inner, D=D, DV=Dv, BLOCK_M=block_m, BLOCK_N=block_n, BLOCK_D=block_d,
                      BLOCK_DV=block_dv)
    constexprs.update(score.constexprs)

    if causal_skip:
        hi_line = ("hi = tl.minimum((pid_m + 1) * BLOCK_M, Lk)   "
                   "# causal: keys past the block's last query row are all masked, skip them")
    else:
        hi_line = "hi = Lk"
    param_text = _format_params(name, list(signature), [f"{c}: tl.constexpr" for c in constexprs])
    precision = {"fp32": "tf32" if allow_tf32 else "ieee fp32", "fp64": "fp64"}.get(dtype, f"{dtype} tensor cores")
    header = [
        f"# {name}: flash attention out[b] = softmax(score(q[b] @ k[b]^T)) @ v[b], online softmax "
        f"(score: {score.name})",
        "#   generated by torchlite.kernels.attention (the Triton fused-attention tutorial template)",
        f"#   q: {q.dtype}, strides (batch_outer, batch_inner, row, col) = {q.strides}"
        + (f", offset {q.offset}" if q.offset else ""),
        f"#   k: {k.dtype}, strides (batch_outer, batch_inner, row, col) = {k.strides}"
        + (f", offset {k.offset}" if k.offset else ""),
        f"#   v: {v.dtype}, strides (batch_outer, batch_inner, row, col) = {v.strides}"
        + (f", offset {v.offset}" if v.offset else ""),
        f"#   batch {batch_outer} x {batch_inner}, head dims D {D} (block {block_d}), Dv {Dv} (block {block_dv}); "
        f"out {out_dtype}" + (", log-sum-exp stored" if store_lse else ""),
        f"#   accumulator and softmax state {acc_dtype}, dot precision {precision}"
        + (f", p @ v in {v.dtype}" if v.dtype != dtype else ""),
        f"#   tile {block_m}x{block_n}, {num_warps} warps, {num_stages} stage{'s' if num_stages > 1 else ''}"
        + ("; causal_skip: key blocks above the diagonal are skipped" if causal_skip else ""),
        "#   Lq, Lk are runtime arguments; strides, head dims and tile sizes are constexprs",
    ]
    if nodes:
        header.append(f"#   nodes: {', '.join(nodes)}")
    if user_lines:
        header.append(f"#   from: {', '.join(user_lines)}")
    if out_strides is None:
        out_layout, out_offset = "contiguous [batch, Lq, DV]", "pid_b * Lq * DV + rm * DV + offs_dv[None, :]"
    else:                       # the layout a consumer wants, e.g. [B, Lq, H, DV] for transpose(1, 2).reshape
        so, si, sr, sc = out_strides
        out_layout = f"strides (outer, inner, row, col) = {tuple(out_strides)}"
        out_offset = (f"b_outer * {so} + b_inner * {si} + rm * {sr} + offs_dv[None, :]"
                      + (f" * {sc}" if sc != 1 else ""))
    body = _BODY.format(
        name=name, params=param_text, acc_tl=TL_DTYPE[acc_dtype], out_tl=TL_DTYPE[out_dtype],
        out_layout=out_layout, out_offset=out_offset,
        q_offset=f"{q.offset} + " if q.offset else "", k_offset=f"{k.offset} + " if k.offset else "",
        v_offset=f"{v.offset} + " if v.offset else "", hi_line=hi_line, qk_kwargs=_dot_kwargs(dtype, allow_tf32),
        pv_kwargs=_dot_kwargs(v.dtype, allow_tf32), score_name=score.name,
        score=textwrap.indent("\n".join(score_lines), " " * 8), lse=_LSE if store_lse else "",
        **{f"{x}_transform": _transform_line(x, op.transform, indent) for x, op, indent in
           (("q", q, 4), ("k", k, 8), ("v", v, 8))})
    # libdevice: score lines may call it (a tanh soft-cap); the launch program imports it too
    source = ("\n".join(header) + "\nimport triton\nimport triton.language as tl\n"
              "from triton.language.extra import libdevice\n\n\n" + body)

    # Cost: q read once, k and v once per query block (over the key blocks it visits), out (and lse) once.
    rows_keys = 0        # sum over query blocks of (rows in the block) x (keys it visits)
    keys_read = 0        # sum over query blocks of the keys it visits
    for i in range(_cdiv(Lq, block_m)):
        keys = min(Lk, (i + 1) * block_m) if causal_skip else Lk
        keys_read += keys
        rows_keys += min(block_m, Lq - i * block_m) * keys
    bytes_moved = batch * (Lq * D * ITEMSIZE[dtype] + keys_read * (D * ITEMSIZE[dtype] + Dv * ITEMSIZE[v.dtype])
                           + Lq * Dv * ITEMSIZE[out_dtype] + (Lq * ITEMSIZE[acc_dtype] if store_lse else 0))
    return KernelSpec(
        name=name, kind="attention", source=source, signature=signature, constexprs=constexprs,
        grid=attention_grid(Lq, batch, block_m), num_warps=num_warps, num_stages=num_stages,
        nodes=list(nodes), user_lines=list(user_lines), bytes_moved=bytes_moved + score.bytes_moved,
        flops=2 * batch * rows_keys * (D + Dv) + score.flops,
    )
