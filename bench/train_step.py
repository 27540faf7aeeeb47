"""Training-step benchmark: one optimizer step on cpu, torchlite vs hand-written numpy vs torch CPU eager.

    python bench/train_step.py [--quick]

- MLP 784-256-128-10 (ReLU), batch 64: forward + cross_entropy + backward + SGD(momentum 0.9) step, in torchlite,
  in numpy with forward and backward written by hand, and in torch CPU eager (when installed);
- a GPT-like character model (2 pre-norm blocks, n_embd 64, 4 heads, block 64, vocab 65, batch 32) with AdamW,
  in torchlite and torch.
torchlite runs each step twice: eagerly (lazy nodes built, captured and run every step) and through
``torchlite.compile`` (traced once, then replayed as one cached numpy program; AdamW with ``capturable=True``, which
gives the same numbers and lets the step count stay a tensor). Each figure is the median step time over several
repeats after warm-up; ratios compare medians taken in this run.
Target: the torchlite MLP step within 1.5x of torch CPU eager.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
import warnings

import numpy as np
from rich.console import Console
from rich.table import Table

import torchlite as tl
from torchlite.compile import CompileFallbackWarning

try:
    import torch
except ImportError:     # the reference is optional
    torch = None


def median_time(fn, repeat: int, warmup: int = 3) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def models(m):
    """MLP and GPT classes for a torch-like module ``m`` (torchlite or torch)."""
    nn, F = m.nn, m.nn.functional

    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1, self.fc2, self.fc3 = nn.Linear(784, 256), nn.Linear(256, 128), nn.Linear(128, 10)

        def forward(self, x):
            return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))

    class Block(nn.Module):
        def __init__(self, d, h):
            super().__init__()
            self.h = h
            self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
            self.qkv, self.o = nn.Linear(d, 3 * d), nn.Linear(d, d)
            self.fc, self.proj = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)

        def forward(self, x):
            b, t, d = x.shape
            q, k, v = self.qkv(self.ln1(x)).split(d, dim=2)
            q, k, v = (z.view(b, t, self.h, d // self.h).transpose(1, 2) for z in (q, k, v))
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            x = x + self.o(y.transpose(1, 2).reshape(b, t, d))
            return x + self.proj(F.gelu(self.fc(self.ln2(x))))

    class GPT(nn.Module):
        def __init__(self, vocab=65, d=64, h=4, n_layer=2, block=64):
            super().__init__()
            self.tok, self.pos = nn.Embedding(vocab, d), nn.Embedding(block, d)
            self.blocks = nn.ModuleList([Block(d, h) for _ in range(n_layer)])
            self.ln_f, self.head = nn.LayerNorm(d), nn.Linear(d, vocab)

        def forward(self, idx):
            x = self.tok(idx) + self.pos(m.arange(idx.shape[1]))
            for blk in self.blocks:
                x = blk(x)
            return self.head(self.ln_f(x))

    return MLP, GPT


def lib_step(m, model, opt, x, y):
    def step():
        out = model(x)
        loss = m.nn.functional.cross_entropy(out.reshape(-1, out.shape[-1]), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.item()
    return step


def compiled_step(m, model, opt, x, y):
    """The same step through ``m.compile``: traced on its first calls, then replayed."""
    @m.compile
    def step(x, y):
        out = model(x)
        loss = m.nn.functional.cross_entropy(out.reshape(-1, out.shape[-1]), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss
    return step, lambda: step(x, y).item()


def timed_compiled(m, model, opt, x, y, repeat: int, warmup: int = 3):
    """(median step time, why it ran eagerly or None, replays) of the compiled step."""
    step, run = compiled_step(m, model, opt, x, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CompileFallbackWarning)         # the reason is printed below the table
        t = median_time(run, repeat, warmup)
    return t, step.eager_reason, step.replays


class NumpyMLP:
    """The MLP step by hand: forward, softmax cross-entropy, backward, SGD with momentum (torch's update rule)."""

    def __init__(self, params, lr=0.01, momentum=0.9):
        self.p = [np.array(p, dtype=np.float32) for p in params]      # w1, b1, w2, b2, w3, b3 (torch layout)
        self.buf = [None] * len(self.p)
        self.lr, self.mom = lr, momentum

    def step(self, x, y):
        w1, b1, w2, b2, w3, b3 = self.p
        h1 = x @ w1.T + b1
        a1 = np.maximum(h1, 0)
        h2 = a1 @ w2.T + b2
        a2 = np.maximum(h2, 0)
        z = a2 @ w3.T + b3
        z = z - z.max(axis=1, keepdims=True)
        e = np.exp(z)
        s = e.sum(axis=1, keepdims=True)
        n = x.shape[0]
        loss = float(np.log(s[:, 0]).mean() - z[np.arange(n), y].mean())
        dz = e / s
        dz[np.arange(n), y] -= 1.0
        dz /= n
        gw3, gb3 = dz.T @ a2, dz.sum(0)
        d2 = (dz @ w3) * (h2 > 0)
        gw2, gb2 = d2.T @ a1, d2.sum(0)
        d1 = (d2 @ w2) * (h1 > 0)
        gw1, gb1 = d1.T @ x, d1.sum(0)
        for i, g in enumerate((gw1, gb1, gw2, gb2, gw3, gb3)):
            if self.buf[i] is None:
                self.buf[i] = g.copy()
            else:
                self.buf[i] *= self.mom
                self.buf[i] += g
            self.p[i] -= self.lr * self.buf[i]
        return loss


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    rep = 5 if args.quick else 30
    rng = np.random.default_rng(0)
    console = Console(width=120)
    if torch is not None:
        torch.manual_seed(0)
    rows = []

    # -- MLP
    x = rng.standard_normal((64, 784)).astype(np.float32)
    y = rng.integers(0, 10, 64)
    mlp = models(tl)[0]()
    params = [p.numpy().copy() for p in mlp.parameters()]
    mlp_opt = tl.optim.SGD(mlp.parameters(), lr=0.01, momentum=0.9)
    t_tl = median_time(lib_step(tl, mlp, mlp_opt, tl.tensor(x), tl.tensor(y)), rep)
    cmlp = models(tl)[0]()
    cmlp_opt = tl.optim.SGD(cmlp.parameters(), lr=0.01, momentum=0.9)
    t_tlc, why_mlp, _ = timed_compiled(tl, cmlp, cmlp_opt, tl.tensor(x), tl.tensor(y), rep)
    npm = NumpyMLP(params)
    t_np = median_time(lambda: npm.step(x, y), rep)
    t_th = None
    if torch is not None:
        tm = models(torch)[0]()
        topt = torch.optim.SGD(tm.parameters(), lr=0.01, momentum=0.9)
        t_th = median_time(lib_step(torch, tm, topt, torch.tensor(x), torch.tensor(y)), rep)
    rows.append(("MLP b64 SGD, eager", t_tl, t_np, t_th))
    rows.append(("MLP b64 SGD, compiled", t_tlc, t_np, t_th))

    # -- GPT-like
    idx = rng.integers(0, 65, (32, 64))
    tgt = rng.integers(0, 65, (32, 64))
    gpt = models(tl)[1]()
    gopt = tl.optim.AdamW(gpt.parameters(), lr=3e-4)
    g_rep = max(3, rep // 3)
    t_tl = median_time(lib_step(tl, gpt, gopt, tl.tensor(idx), tl.tensor(tgt)), g_rep, warmup=2)
    cgpt = models(tl)[1]()
    cgopt = tl.optim.AdamW(cgpt.parameters(), lr=3e-4, capturable=True)
    t_tlc, why_gpt, _ = timed_compiled(tl, cgpt, cgopt, tl.tensor(idx), tl.tensor(tgt), g_rep, warmup=3)
    t_th = None
    if torch is not None:
        tg = models(torch)[1]()
        tgo = torch.optim.AdamW(tg.parameters(), lr=3e-4)
        t_th = median_time(lib_step(torch, tg, tgo, torch.tensor(idx), torch.tensor(tgt)), g_rep, warmup=2)
    rows.append(("GPT b32 AdamW, eager", t_tl, None, t_th))
    rows.append(("GPT b32 AdamW, compiled", t_tlc, None, t_th))

    table = Table(title=f"train step, cpu ({platform.processor() or platform.machine()}, {os.cpu_count()} cores), "
                        "median ms")
    for col in ("workload", "torchlite", "numpy by hand", "torch eager", "tl / numpy", "tl / torch"):
        table.add_column(col, justify="right" if col != "workload" else "left", no_wrap=True)
    ms = lambda t: "-" if t is None else f"{t * 1e3:.2f}"            # noqa: E731
    ratio = lambda a, b: "-" if b is None else f"{a / b:.2f}x"       # noqa: E731
    for name, a, b, c in rows:
        table.add_row(name, ms(a), ms(b), ms(c), ratio(a, b), ratio(a, c))
    console.print(table)
    console.print(f"load average at the end: {os.getloadavg()[0]:.2f} (figures are noisy on a busy machine)")
    for name, why in (("MLP", why_mlp), ("GPT", why_gpt)):
        if why is not None:
            console.print(f"[yellow]{name} compiled step ran eagerly[/]: {why}", markup=True, highlight=False)
    mlp_row = rows[1]
    if mlp_row[3] is not None:
        r = mlp_row[1] / mlp_row[3]
        verdict = "[green]met[/]" if r <= 1.5 else "[red]missed[/]"
        console.print(f"target: compiled MLP step within 1.5x of torch CPU eager: {r:.2f}x {verdict} "
                      f"(eager: {rows[0][1] / mlp_row[3]:.2f}x)")


if __name__ == "__main__":
    main()
