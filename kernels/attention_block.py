"""The attention-block template: qkv projection, attention and output projection of short sequences in one kernel.

``render_attention_block`` returns a ``KernelSpec`` computing, for each sequence ``b`` of ``T`` rows,

    q_h, k_h, v_h = x[b] @ Wp[:, cols of head h]           for every head h (one pass over C for all three)
    o_h = softmax(score(q_h @ k_h^T)) @ v_h
    acc = sum_h o_h @ Wo[rows of head h, :]                 the output projection of the concatenated heads

and then running an epilogue on ``acc`` (the residual add). One program owns a whole sequence: its ``T``
rows are both the queries and the keys, so every projection is computed exactly once and the softmax sees a
whole row at a time (no online rescaling). Neither the ``[T, 3C]`` qkv projection, nor the scores, nor the
``[T, C]`` attention output ever reach memory. ``x`` is loaded through strides or computed by a ``Prologue``
(a layer_norm: ``kernels.matmul.Prologue``).

    >>> spec = render_attention_block("attnblk_0", B=8, T=64, C=128, NH=4, D=32, N=128,
    ...     x=XOperand("fp32", (8192, 128, 1)), wp=WOperand("fp32", (1, 128)), wo=WOperand("fp32", (1, 128)),
    ...     cols=((0, 32, 1), (128, 32, 1), (256, 32, 1)), out_rows=(32, 1))
    >>> list(spec.signature), spec.grid
    (['x_ptr', 'wp_ptr', 'wo_ptr', 'out_ptr', 'T'], (8,))

Where it applies: ``T`` at most ``MAX_T`` (the sequence is one block of rows; longer sequences would
recompute the key and value projections per query block, so the compiler keeps flash attention there), the
head dim at most ``MAX_BLOCK_D`` and the output at most ``MAX_BLOCK_N`` wide (``acc`` stays in registers).
The grid has one program per sequence, so a GPU is busy only with many sequences; its worth is the memory
traffic and the launches it saves (DESIGN.md: bytes moved are the target).

Rounding follows eager code, which stores q, k, v and the attention output in the input dtype: each is cast
to it before its next dot (a no-op for fp32). fp32 dots are IEEE (``input_precision="ieee"``) unless
``allow_tf32``.
"""
from __future__ import annotations

import numbers
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass

from ..compiler.kernel import KernelSpec
from ._hooks import check_hook
from .attention import ScoreFn, _check_score, _dot_kwargs, head_block
from .matmul import (ITEMSIZE, MIN_DOT, TL_DTYPE, Epilogue, Prologue, _format_params, _next_pow2,
                     check_prologue, merge_params, prologue_text)

BLOCK_DTYPES = ("fp16", "bf16", "fp32")
MAX_T = 64                    # rows of a sequence held at once: the [T, T] scores and [T, N] acc are registers
MAX_BLOCK_N = 128             # widest output projection: acc [BLOCK_M, BLOCK_N] is fp32 registers
MAX_BLOCK_D = 64              # q, k, v [BLOCK_M, BLOCK_D] fp32 each, next to the scores and acc

_STRIDE_NAMES = ("stride_xb", "stride_xt", "stride_xc", "stride_wpk", "stride_wpc", "stride_wor", "stride_woc")
_TILE_NAMES = ("K", "NH", "D", "N", "Q_OFF", "K_OFF", "V_OFF", "Q_HS", "K_HS", "V_HS", "Q_DS", "K_DS", "V_DS",
               "O_HS", "O_DS", "BLOCK_M", "BLOCK_K", "BLOCK_D", "BLOCK_N")
_RESERVED = frozenset(("tl", "triton", "libdevice", "x_ptr", "wp_ptr", "bp_ptr", "wo_ptr", "out_ptr", "T", "pid_b",
                       "pid_bh", "hh", "offs_t", "offs_k", "offs_d", "offs_n", "mask_t", "mask_d", "mask_n",
                       "acc", "q", "k", "v", "start_k", "kcols", "x", "w", "qk", "s", "rm", "rn",
                       "mask", "m_i", "m_safe", "p", "l_i", "o", "wo", "cols_q", "cols_k", "cols_v", "rows_o",
                       "N_CHUNK") + tuple(f"acc{c}" for c in range(8))
                      + _STRIDE_NAMES + _TILE_NAMES)


@dataclass(frozen=True)
class XOperand:
    """The rows the projections read: Triton dtype and element strides ``(sequence, row, col)``."""
    dtype: str
    strides: tuple[int, int, int]
    offset: int = 0


@dataclass(frozen=True)
class WOperand:
    """A weight as a 2-D strided view: ``(row, col)`` element strides (a Linear weight transposed: ``(1, in)``)."""
    dtype: str
    strides: tuple[int, int]
    offset: int = 0


def block_sizes(T: int, C: int, D: int, N: int, dtype: str) -> tuple[int, int, int, int]:
    """``(BLOCK_M, BLOCK_K, BLOCK_D, BLOCK_N)``: the sequence, the projection's K step, the head dim and the
    output width, each the next power of two (at least 16, ``tl.dot``'s minimum). BLOCK_K: 16 for IEEE fp32
    (its FMA dot holds the K slice in registers, as in the matmul template), 32 on tensor cores (three
    weight tiles are loaded per step).

        >>> block_sizes(64, 128, 32, 128, "fp32"), block_sizes(20, 48, 8, 20, "fp16")
        ((64, 16, 32, 128), (32, 32, 16, 32))
    """
    block_k = min(16 if dtype == "fp32" else 32, max(MIN_DOT, _next_pow2(C)))
    return max(MIN_DOT, _next_pow2(T)), block_k, head_block(D), max(MIN_DOT, _next_pow2(N))


def n_chunk(BLOCK_N: int, dtype: str) -> int:
    """Output columns per accumulator: 64 for IEEE fp32, whose FMA dot ``o @ Wo`` holds its operands in
    registers (one 64x128 fp32 accumulator spilled 320 bytes a thread on sm_80 and sm_90, two 64x64 do
    not), else the whole ``BLOCK_N``."""
    return min(BLOCK_N, 64) if dtype == "fp32" else BLOCK_N


def num_warps(BLOCK_M: int, BLOCK_N: int, BLOCK_D: int) -> int:
    """8 warps once the fp32 tiles held across the head loop (acc, q, k, v, the scores) pass 8192 elements
    (32 registers a thread at 8 warps), else 4."""
    held = BLOCK_M * (BLOCK_N + 3 * BLOCK_D + BLOCK_M)
    return 8 if held > 8192 else 4


_BODY = '''\
@triton.jit
def {name}({params}):
    # Program -> one whole sequence: its T rows are the queries and the keys.
    pid_b = tl.program_id(0).to(tl.int64)
    offs_t = tl.arange(0, BLOCK_M)
    offs_k = tl.arange(0, BLOCK_K)
    offs_d = tl.arange(0, BLOCK_D)
    offs_n = tl.arange(0, N_CHUNK)
    mask_t = offs_t < T
    mask_d = offs_d < D
{x_setup}
    # The output projection's accumulator, in column chunks of N_CHUNK (one dot each).
{acc_init}
    for hh in range(0, NH):
        # Projection columns of head hh (q, k and v: offset + head * head stride + d * d stride). Each is
        # its own pass over K, and v's comes after the softmax, so at most one of them accumulates while
        # the scores (and acc) are held: the registers of three would spill.
        cols_q = Q_OFF + hh * Q_HS + offs_d * Q_DS
        cols_k = K_OFF + hh * K_HS + offs_d * K_DS
        cols_v = V_OFF + hh * V_HS + offs_d * V_DS
{proj_q}
{proj_k}

        # Scores of head hh over the whole sequence, rounded q and k as eager code stores them.
        qk = tl.dot(q, tl.trans(k){dot_kwargs})
        pid_bh = pid_b * NH + hh
        rm = offs_t[:, None]
        rn = offs_t[None, :]
        mask = mask_t[:, None] & mask_t[None, :]
        # Score: {score_name}
{score}
        s = tl.where(mask_t[None, :], s, float("-inf"))

        # Softmax over whole rows; a row of all -inf stores NaN, as torch's softmax does.
        m_i = tl.max(s, 1)
        m_safe = tl.where(m_i == float("-inf"), 0.0, m_i)
        p = tl.exp(s - m_safe[:, None])
        l_i = tl.sum(p, 1)
        p = p / l_i[:, None]

        # v, then o = p @ v, the probabilities rounded as eager code stores them.
{proj_v}
        o = tl.dot(p.to({dt_tl}), v{dot_kwargs})

        # acc += o @ Wo[rows of head hh, :], the attention output rounded as eager code stores it.
        rows_o = hh * O_HS + offs_d * O_DS
{out_proj}
{epilogue}
'''


_OUT_PROJECTION = """\
wo = tl.load(wo_ptr + {wo_offset}rows_o[:, None] * stride_wor + ({col0} + offs_n)[None, :] * stride_woc,
             mask=mask_d[:, None] & (({col0} + offs_n)[None, :] < N), other=0.0)
{acc} = tl.dot(o.to({dt_tl}), wo, {acc}{dot_kwargs})"""
_EPILOGUE = """\
# Epilogue, columns {col0} + [0, N_CHUNK): {name}
rm = offs_t[:, None]
rn = {col0} + offs_n[None, :]
mask = (rm < T) & (rn < N)
acc = {acc}
{lines}"""

_PROJECTION = """\
{out} = tl.zeros((BLOCK_M, BLOCK_D), dtype=tl.float32)
for start_k in range(0, K, BLOCK_K):
    kcols = start_k + offs_k
{x_tile}
    w = tl.load(wp_ptr + {wp_offset}kcols[:, None] * stride_wpk + cols_{out}[None, :] * stride_wpc,
                mask=(kcols[:, None] < K) & mask_d[None, :], other=0.0)
    {out} = tl.dot(x, w, {out}{dot_kwargs})
# {out} rounded to the input dtype, as eager code stores the projection{finish_note}
{out} = {out}.to({dt_tl}){finish}"""


def render_attention_block(name: str, *, B: int, T: int, C: int, NH: int, D: int, N: int,
                           x: XOperand | None, wp: WOperand, wo: WOperand,
                           cols: tuple[tuple[int, int, int], ...], out_rows: tuple[int, int],
                           score: ScoreFn | None = None, prologue: Prologue | None = None,
                           epilogue: Epilogue | None = None, out_dtype: str | None = None,
                           bias: WOperand | None = None, transforms: tuple[str, str, str] = ("", "", ""),
                           allow_tf32: bool = False, nodes: Sequence[str] = (),
                           user_lines: Sequence[str] = ()) -> KernelSpec:
    """The ``KernelSpec`` of the attention block (see the module docstring) for ``B`` sequences of ``T`` rows.

    ``x``: ``[B, T, C]`` through strides, or None with ``prologue`` (rows ``pid_b * T + row``). ``wp``: the
    projection weight ``[C, W]`` (its columns hold q, k and v of every head); ``cols``: for q, k and v, the
    ``(offset, head stride, d stride)`` of head ``h``'s column ``d`` in ``wp``. ``wo``: the output weight
    ``[R, N]``; ``out_rows``: ``(head stride, d stride)`` of head ``h``'s row ``d`` in it. ``score``: the
    score lines (``ScoreFn``; ``pid_bh`` is the flattened ``(sequence, head)`` index, ``pid_b`` the
    sequence; default ``s = qk / sqrt(D)``). ``epilogue``: lines on ``acc`` (fp32) with ``rm``, ``rn``,
    ``mask`` and ``pid_b`` defined, as in the matmul template; default: store ``acc`` to a contiguous
    ``[B, T, N]`` ``out_ptr`` of ``out_dtype``. ``bias``: the projection's bias, a 1-D view ``(stride,
    unused)`` of ``[W]`` (a Linear's bias, added after the projection rounds, as eager code does);
    ``transforms``: for q, k and v, a Triton expression of the rounded tile ``{x}`` (sdpa's scaling) or "".
    ``allow_tf32``: fp32 dots on TensorFloat32 tensor cores. Arguments: ``x_ptr | *prologue.params,
    wp_ptr[, bp_ptr], *score.params, wo_ptr, *epilogue.params, T``, then ``spec.constexprs``; grid ``(B,)``.
    """
    for size_name, size in (("B", B), ("T", T), ("C", C), ("NH", NH), ("D", D), ("N", N)):
        if not isinstance(size, numbers.Integral) or isinstance(size, bool) or size < 1:
            raise ValueError(f"render_attention_block: {size_name} must be a positive int, got {size!r}")
    if (x is None) == (prologue is None):
        raise ValueError("render_attention_block: pass exactly one of x (loaded) and prologue (computed)")
    dtype = x.dtype if x is not None else prologue.dtype
    if dtype not in BLOCK_DTYPES or wp.dtype != dtype or wo.dtype != dtype:
        raise ValueError(f"render_attention_block: x, wp and wo must share one of {BLOCK_DTYPES}, got "
                         f"{dtype}, {wp.dtype}, {wo.dtype}")
    if T > MAX_T:
        raise ValueError(f"render_attention_block: T={T} rows exceed {MAX_T}: one program holds a whole "
                         f"sequence; use flash attention and separate projections for longer ones")
    block_m, block_k, block_d, block_n = block_sizes(T, C, D, N, dtype)
    if block_d > MAX_BLOCK_D or block_n > MAX_BLOCK_N:
        raise ValueError(f"render_attention_block: head dim {D} (block {block_d}, at most {MAX_BLOCK_D}) or "
                         f"output width {N} (block {block_n}, at most {MAX_BLOCK_N}) too large for registers")
    if len(cols) != 3 or len(out_rows) != 2:
        raise ValueError(f"render_attention_block: cols needs (offset, head stride, d stride) for q, k and v "
                         f"and out_rows (head stride, d stride); got {cols!r}, {out_rows!r}")
    score = score or ScoreFn(params={}, lines=[f"s = qk * {1.0 / D ** 0.5!r}"], name=f"scale 1/sqrt({D})")
    score_lines = _check_score(score)
    if epilogue is None:
        od = out_dtype or dtype
        epilogue = Epilogue(params={"out_ptr": f"*{od}"}, out_params=("out_ptr",), name=f"store {od}",
                            lines=[f"tl.store(out_ptr + pid_b * T * N + rm * N + rn, acc.to({TL_DTYPE[od]}), mask=mask)"],
                            bytes_moved=B * T * N * ITEMSIZE[od])
    ep_lines = check_hook("Epilogue", "attention block", epilogue.params, epilogue.constexprs, epilogue.lines,
                          _RESERVED - {"out_ptr"})
    own_x = {"x_ptr": f"*{dtype}"} if prologue is None else {}
    if prologue is not None:
        setup, tile = check_prologue(prologue, "attention block", _RESERVED)
    own_b = {"bp_ptr": f"*{bias.dtype}"} if bias is not None else {}
    signature = merge_params("render_attention_block", prologue.params if prologue else own_x,
                             {"wp_ptr": f"*{dtype}"}, own_b, score.params, {"wo_ptr": f"*{dtype}"},
                             epilogue.params)
    signature["T"] = "i32"
    (q_off, q_hs, q_ds), (k_off, k_hs, k_ds), (v_off, v_hs, v_ds) = cols
    constexprs: dict = dict(zip(_STRIDE_NAMES, (*(x.strides if x is not None else (0, 0, 0)), *wp.strides,
                                                *wo.strides)))
    if x is None:
        for n in _STRIDE_NAMES[:3]:
            del constexprs[n]
    constexprs.update(K=C, NH=NH, D=D, N=N, Q_OFF=q_off, K_OFF=k_off, V_OFF=v_off, Q_HS=q_hs, K_HS=k_hs,
                      V_HS=v_hs, Q_DS=q_ds, K_DS=k_ds, V_DS=v_ds, O_HS=out_rows[0], O_DS=out_rows[1],
                      BLOCK_M=block_m, BLOCK_K=block_k, BLOCK_D=block_d, BLOCK_N=block_n)
    chunk = n_chunk(block_n, dtype)
    constexprs["N_CHUNK"] = chunk
    constexprs.update(score.constexprs)
    constexprs.update(epilogue.constexprs)

    if prologue is None:
        x_setup = ""
        x_tile = ("x = tl.load(x_ptr + " + (f"{x.offset} + " if x.offset else "") + "pid_b * stride_xb + "
                  "offs_t[:, None] * stride_xt + kcols[None, :] * stride_xc,\n"
                  "            mask=mask_t[:, None] & (kcols[None, :] < K), other=0.0)")
    else:
        # int32 row offsets when every element the prologue can index fits them (int64 costs registers)
        xindex = "pid_b * T + offs_t[:, None]" if B * T * C >= 2 ** 31 else "tl.program_id(0) * T + offs_t[:, None]"
        # rows past T are zeroed: the prologue's math on their masked loads may be anything (0 / 0)
        head, body = prologue_text(setup, tile, prologue.name, operand="x", xindex=xindex, xmask="mask_t[:, None]",
                                   rindex="kcols[None, :]", take="x = tl.where(mask_t[:, None], tile, 0.0).to(tile.dtype)")
        x_setup, x_tile = "\n".join(head), "\n".join(body)
    param_text = _format_params(name, list(signature), [f"{c}: tl.constexpr" for c in constexprs])
    warps = num_warps(block_m, block_n, block_d)
    header = [
        f"# {name}: attention block acc[b] = sum_h softmax(score(q_h k_h^T)) v_h @ Wo_h, [q|k|v] = x[b] @ Wp; "
        f"then the epilogue ({epilogue.name})",
        "#   generated by torchlite.kernels.attention_block (one program per sequence; nothing between the "
        "projections is stored)",
        (f"#   x: {dtype}, strides (sequence, row, col) = {x.strides}" if x is not None
         else f"#   x: {dtype}, computed by the prologue ({prologue.name})"),
        f"#   Wp: strides {wp.strides}, head columns (offset, head, d) q {cols[0]}, k {cols[1]}, v {cols[2]}",
        f"#   Wo: strides {wo.strides}, head rows (head, d) {out_rows}",
        f"#   {B} sequences of T {T} (block {block_m}), C {C} (step {block_k}), {NH} heads of {D} "
        f"(block {block_d}), out {N} (block {block_n}); score: {score.name}; {warps} warps"
        + ("; fp32 dots in tf32" if allow_tf32 and dtype == "fp32" else ""),
    ]
    if nodes:
        header.append(f"#   nodes: {', '.join(nodes)}")
    if user_lines:
        header.append(f"#   from: {', '.join(user_lines)}")
    accs = [f"acc{c}" for c in range(block_n // chunk)]
    acc_init = "\n".join(f"    {a} = tl.zeros((BLOCK_M, N_CHUNK), dtype=tl.float32)" for a in accs)
    out_proj = textwrap.indent("\n".join(_OUT_PROJECTION.format(
        wo_offset=f"{wo.offset} + " if wo.offset else "", col0=c * chunk, acc=a, dt_tl=TL_DTYPE[dtype],
        dot_kwargs=_dot_kwargs(dtype, allow_tf32)) for c, a in enumerate(accs)), " " * 8)
    ep_text = "\n\n".join(_EPILOGUE.format(col0=c * chunk, acc=a, name=epilogue.name, lines="\n".join(ep_lines))
                          for c, a in enumerate(accs))
    proj = {}
    for o, transform in zip("qkv", transforms):
        finish = ""
        if bias is not None:
            finish += (f"\n{o} = ({o}.to(tl.float32) + tl.load(bp_ptr + " + (f"{bias.offset} + " if bias.offset else "")
                       + f"cols_{o} * {bias.strides[0]}, mask=mask_d, other=0.0).to(tl.float32)[None, :])"
                       f".to({TL_DTYPE[dtype]})")
        if transform:
            if "{x}" not in transform:
                raise ValueError(f"render_attention_block: transform {transform!r} never uses the tile {{x}}")
            finish += f"\n{o} = {transform.format(x=o)}"
        proj[f"proj_{o}"] = textwrap.indent(_PROJECTION.format(
            out=o, x_tile=textwrap.indent(x_tile, "    "), wp_offset=f"{wp.offset} + " if wp.offset else "",
            dot_kwargs=_dot_kwargs(dtype, allow_tf32), dt_tl=TL_DTYPE[dtype], finish=finish,
            finish_note=(", then its bias" if bias is not None else "") + (", then its scale" if transform else "")),
            " " * 8)
    body = _BODY.format(
        name=name, params=param_text, dt_tl=TL_DTYPE[dtype], dot_kwargs=_dot_kwargs(dtype, allow_tf32),
        x_setup=textwrap.indent(x_setup, "    ") + ("\n" if x_setup else ""), **proj,
        acc_init=acc_init, out_proj=out_proj,
        score_name=score.name, score=textwrap.indent("\n".join(score_lines), " " * 8),
        epilogue=textwrap.indent(ep_text, "    "))
    imports = "import triton\nimport triton.language as tl\nfrom triton.language.extra import libdevice\n"
    source = "\n".join(header) + "\n" + imports + "\n\n" + body
    item = ITEMSIZE[dtype]
    x_bytes = B * T * C * item if prologue is None else prologue.bytes_moved
    bytes_moved = (x_bytes + 3 * C * NH * D * item + NH * D * N * item + score.bytes_moved
                   + epilogue.bytes_moved + (3 * NH * D * ITEMSIZE[bias.dtype] if bias is not None else 0))
    flops = B * (2 * T * C * 3 * NH * D + NH * 4 * T * T * D + 2 * T * NH * D * N)
    return KernelSpec(name=name, kind="attn_block", source=source, signature=signature, constexprs=constexprs,
                      grid=(B,), num_warps=warps, num_stages=1, nodes=list(nodes), user_lines=list(user_lines),
                      bytes_moved=bytes_moved,
                      flops=flops + score.flops + epilogue.flops + (prologue.flops if prologue else 0))
