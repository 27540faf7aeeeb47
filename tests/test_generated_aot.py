"""Every generated kernel of the test corpus compiles ahead of time for sm_80 and sm_90 (no GPU needed),
and its cubin shows no register spills and fits shared memory (matmul tiles included).

The corpus is the fusion patterns of tests/test_fusion.py at realistic sizes (so the launch heuristics
pick the block sizes real programs get), in float32 and in bfloat16/float16 where the pattern allows.
Compiles run in parallel across the cores (``compiler.aot.compile_many``).
"""
from __future__ import annotations

import numpy as np
import pytest

import torchlite as tl
import torchlite.nn.functional as F
from torchlite.compiler import explain
from torchlite.compiler.aot import compile_many


def _swiglu(wg, wu, wd):
    wg, wu, wd = (w.contiguous().realize() for w in (wg, wu, wd))      # loaded weights, not lazy slices

    def mlp(x):
        h = F.rms_norm(x, (x.shape[-1],), None, eps=1e-6)
        return x + F.linear(F.silu(F.linear(h, wg)) * F.linear(h, wu), wd)
    return mlp


def _corpus():
    x = tl.randn(256, 512).realize()
    xh = x.to(tl.float16).realize()
    xb = x.to(tl.bfloat16).realize()
    long = tl.randn(8, 8192).realize()
    w1, b1 = tl.randn(1024, 512).realize(), tl.randn(1024).realize()
    w1h, b1h = w1.to(tl.float16).realize(), b1.to(tl.float16).realize()
    w2h = tl.randn(128, 1024).to(tl.float16).realize()
    g = tl.ones(512).realize()
    t = tl.tensor(np.arange(256) % 512)
    q = tl.randn(4, 8, 128, 64).realize()
    programs = {
        "softmax": (lambda x: x.softmax(-1), x),
        "softmax_bf16": (lambda x: x.softmax(-1), xb),
        "log_softmax_long_rows": (lambda x: x.log_softmax(-1), long),
        "layer_norm": (lambda x: F.layer_norm(x, (512,), g, g), x),
        "rms_norm_f16": (lambda x: F.rms_norm(x, (512,), g.to(tl.float16), eps=1e-6), xh),
        "cross_entropy": (lambda x: F.cross_entropy(x, t), x),
        "chain": (lambda x: ((x * 1.5 + 0.5).sigmoid() * x).tanh() - x.abs().sqrt(), x),
        "sum_dim0": (lambda x: x.sum(0), x),
        "argmax": (lambda x: x.argmax(-1), x),
        "linear_gelu": (lambda x: F.gelu(F.linear(x, w1, b1)), x),
        "linear_gelu_f16": (lambda x: F.gelu(F.linear(x, w1h, b1h)), xh),
        "fused_mlp_f16": (lambda x: F.linear(F.gelu(F.linear(x, w1h, b1h)), w2h), xh),
        "attention": (lambda q: (q @ q.transpose(-2, -1) * 0.125).softmax(-1) @ q, q),
        "attention_f16_causal": (lambda q: F.scaled_dot_product_attention(q, q, q, is_causal=True),
                                 q.to(tl.float16).realize()),
        # scans in a row kernel: top-p sampling's cumulative probabilities, and a half-type running sum
        "softmax_cumsum": (lambda x: x.softmax(-1).cumsum(-1), x),
        "cumprod_f16": (lambda x: (x * 0.01 + 1.0).cumprod(-1), xh),
        # a LLaMA-style gated MLP (rms_norm prologue, gate and up dotted side by side, residual epilogue)
        "swiglu_f16": (_swiglu(w1h[:512, :128], w1h[512:, :128], w2h[:, :512]), xh[:, :128].contiguous().realize()),
        "swiglu_f32": (_swiglu(w1[:512, :128], w1[512:, :128], w1[:128, :512]), x[:, :128].contiguous().realize()),
        # a sort in a row kernel (tl.sort of packed int64 keys): top-k sampling's indices and values
        "topk": (lambda x: x.softmax(-1).topk(8, -1), x),
        "argsort_f16_desc": (lambda x: x.argsort(-1, descending=True), xh),
        # looped rows: a row-level value first needed inside a loop (the mean) is computed before it
        "layer_norm_long_rows": (lambda x: F.layer_norm(x, (8192,), long[0], long[1]), long),
        # prologues: the normalized rows computed inside the GEMM that reads them
        "layer_norm_linear": (lambda x: F.linear(F.layer_norm(x, (512,), g, g), w1, b1), x),
        "layer_norm_linear_f16": (lambda x: F.linear(F.layer_norm(x, (512,), g.to(tl.float16), None), w1h), xh),
        "pre_norm_mlp_residual_f16": (lambda x: x + F.linear(F.gelu(F.linear(
            F.layer_norm(x, (128,), g[:128].to(tl.float16), None), w1h[:512, :128], b1h[:512])), w2h[:, :512]),
            xh[:, :128].contiguous().realize()),
    }
    # pre-norm transformer blocks (T = 64): the attention block (layer_norm prologue, qkv projection,
    # attention, output projection) at the register limit of fp32's FMA dots, and the MLP with its epilogue
    from test_prologue_fusion import _block
    for name, dt, causal in (("transformer_block", np.float32, False),
                             ("transformer_block_f16_causal", np.float16, True)):
        fn, _, arrays = _block(4, 64, 128, 4, causal)
        programs[name] = (lambda fn, arrays: (lambda _: fn(*arrays)))(fn, [tl.tensor(a.astype(dt)) for a in arrays]), x
    # nn.TransformerEncoderLayer (pre-norm, batch first, eval): the attention block with the projection's bias
    # and sdpa's scaled q and k
    import torchlite.nn as nn
    for dt in (tl.float32, tl.float16):
        tl.manual_seed(0)
        layer = nn.TransformerEncoderLayer(d_model=128, nhead=4, dim_feedforward=512, dropout=0.0,
                                           batch_first=True, norm_first=True).eval().to(dtype=dt)
        for p in layer.parameters():
            p.realize()                         # loaded weights, as a user's model has them
        programs[f"encoder_layer_{dt.name}"] = (lambda layer: (lambda x: layer(x)))(layer), \
            tl.randn(8, 64, 128, dtype=dt).realize()
    # tensors of 2**31 elements or more index in int64 (explain compiles without allocating anything)
    programs["int64_indexing"] = (lambda _: ((tl.zeros(2 ** 31 + 5) * 2.0 + 1.0),
                                             (tl.zeros(3, 2 ** 30) * 2.0).sum(-1)), x)
    specs = []
    for name, (fn, arg) in programs.items():
        with tl.no_grad():
            r = explain(fn, arg)
        assert r.kernels, f"{name} produced no kernels"
        specs.extend(r.kernels)
    # kernel names are unique per program, not across programs: make them unique for the compile table
    import dataclasses
    out = []
    for i, s in enumerate(specs):
        new = f"{s.name}_c{i}"
        out.append(dataclasses.replace(s, name=new, source=s.source.replace(f"def {s.name}(", f"def {new}(")))
    return out


@pytest.fixture(scope="module")
def compiled():
    specs = _corpus()
    return specs, compile_many(specs, archs=(80, 90))


def test_every_generated_kernel_compiles_for_sm80_and_sm90(compiled):
    specs, results = compiled
    assert len(results) == 2 * len(specs)
    for s in specs:
        for arch in (80, 90):
            r = results[(s.name, arch)]
            assert r.asm["ptx"] and r.asm["cubin"], f"{s.name} sm_{arch} has no PTX/cubin"
            assert r.n_regs > 0


def test_kernels_over_2_31_elements_index_in_int64(compiled):
    specs, _ = compiled
    wide = [s for s in specs if s.signature.get("xnumel") == "i64"]
    assert len(wide) == 2 and all("tl.program_id(0).to(tl.int64)" in s.source for s in wide)


def test_pointwise_and_reduction_kernels_do_not_spill(compiled):
    specs, results = compiled
    problems = []
    for s in specs:
        if s.kind in ("pointwise", "reduction"):
            for arch in (80, 90):
                problems += results[(s.name, arch)].problems()
    assert not problems, "\n".join(problems)


def test_template_kernels_fit_shared_memory_and_do_not_spill(compiled):
    specs, results = compiled
    mm = [s for s in specs if s.kind in ("matmul", "attention", "mlp", "attn_block")]
    assert {s.kind for s in mm} == {"matmul", "attention", "mlp", "attn_block"}
    problems = [p for s in mm for arch in (80, 90) for p in results[(s.name, arch)].problems()]
    assert not problems, "\n".join(problems)
