"""A character-level GPT trained with torchlite, written like PyTorch code.

    python examples/train_gpt.py                      # trains on the Python standard library's source
    python examples/train_gpt.py --data input.txt --steps 2000 --checkpoint gpt.safetensors
    python examples/train_gpt.py --checkpoint gpt.safetensors --resume --steps 3000

Token + position embeddings, pre-norm transformer blocks (causal self-attention, GELU MLP), a final LayerNorm
and an LM head tied to the token embedding; AdamW; periodic held-out eval; checkpoints with torchlite.save.
"""
import argparse
import math
import os
import sys
import time

import numpy as np
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

import torchlite as torch
import torchlite.nn as nn
import torchlite.nn.functional as F


# -- model ---------------------------------------------------------------------------------------------------
class CausalSelfAttention(nn.Module):
    def __init__(self, n_embd, n_head):
        super().__init__()
        assert n_embd % n_head == 0
        self.n_head = n_head
        self.qkv = nn.Linear(n_embd, 3 * n_embd)
        self.proj = nn.Linear(n_embd, n_embd)

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.qkv(x).split(C, dim=2)
        q = q.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)      # (B, nh, T, hs)
        k = k.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        v = v.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        y = y.transpose(1, 2).reshape(B, T, C)
        return self.proj(y)


class MLP(nn.Module):
    def __init__(self, n_embd):
        super().__init__()
        self.fc = nn.Linear(n_embd, 4 * n_embd)
        self.gelu = nn.GELU()
        self.proj = nn.Linear(4 * n_embd, n_embd)

    def forward(self, x):
        return self.proj(self.gelu(self.fc(x)))


class Block(nn.Module):
    def __init__(self, n_embd, n_head):
        super().__init__()
        self.ln_1 = nn.LayerNorm(n_embd)
        self.attn = CausalSelfAttention(n_embd, n_head)
        self.ln_2 = nn.LayerNorm(n_embd)
        self.mlp = MLP(n_embd)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        x = x + self.mlp(self.ln_2(x))
        return x


class GPT(nn.Module):
    def __init__(self, vocab_size, block_size, n_layer, n_embd, n_head):
        super().__init__()
        self.block_size = block_size
        self.wte = nn.Embedding(vocab_size, n_embd)
        self.wpe = nn.Embedding(block_size, n_embd)
        self.blocks = nn.ModuleList([Block(n_embd, n_head) for _ in range(n_layer)])
        self.ln_f = nn.LayerNorm(n_embd)
        self.lm_head = nn.Linear(n_embd, vocab_size, bias=False)
        self.lm_head.weight = self.wte.weight          # weight tying
        for name, p in self.named_parameters():
            if p.dim() == 2:
                nn.init.normal_(p, mean=0.0, std=0.02)
            elif name.endswith("bias"):
                nn.init.zeros_(p)
        for name, p in self.named_parameters():       # GPT-2: scale the residual projections by depth
            if name.endswith("proj.weight"):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * n_layer))

    def forward(self, idx, targets=None):
        B, T = idx.shape
        pos = torch.arange(T, device=idx.device)
        x = self.wte(idx) + self.wpe(pos)
        for block in self.blocks:
            x = block(x)
        logits = self.lm_head(self.ln_f(x))
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.view(B * T, -1), targets.view(B * T))
        return logits, loss

    @torch.no_grad()
    def generate(self, idx, max_new_tokens, temperature=1.0):
        for _ in range(max_new_tokens):
            logits, _ = self(idx[:, -self.block_size:])
            probs = F.softmax(logits[:, -1, :] / temperature, dim=-1)
            idx = torch.cat([idx, torch.multinomial(probs, num_samples=1)], dim=1)
        return idx


# -- data ----------------------------------------------------------------------------------------------------
def stdlib_text(limit=1_500_000):
    """A deterministic ~1.5 MB of Python: the standard library's top-level modules, in sorted order."""
    root = os.path.dirname(os.__file__)
    parts, size = [], 0
    for name in sorted(os.listdir(root)):
        if not name.endswith(".py"):
            continue
        with open(os.path.join(root, name), encoding="utf-8", errors="replace") as f:
            parts.append(f.read())
        size += len(parts[-1])
        if size >= limit:
            break
    return "".join(parts)[:limit]


def unigram_entropy(ids, vocab_size):
    """Entropy (nats) of the character distribution: the loss of the best model that ignores context."""
    p = np.bincount(ids, minlength=vocab_size) / len(ids)
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


def get_batch(data, batch_size, block_size, rng, device):
    ix = rng.integers(0, len(data) - block_size - 1, size=batch_size)
    x = np.stack([data[i:i + block_size] for i in ix])
    y = np.stack([data[i + 1:i + 1 + block_size] for i in ix])
    return torch.from_numpy(x).to(device), torch.from_numpy(y).to(device)


@torch.no_grad()
def estimate_loss(model, data, args, device, iters=8):
    rng = np.random.default_rng(1234)                    # the same eval batches every time
    model.eval()
    losses = [model(*get_batch(data, args.batch_size, args.block_size, rng, device))[1].item()
              for _ in range(iters)]
    model.train()
    return sum(losses) / len(losses)


# -- main ----------------------------------------------------------------------------------------------------
def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", help="text file to train on (default: the Python standard library's source)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--block-size", type=int, default=64)
    p.add_argument("--n-layer", type=int, default=2)
    p.add_argument("--n-embd", type=int, default=64)
    p.add_argument("--n-head", type=int, default=4)
    p.add_argument("--lr", type=float, default=3e-3, help="peak learning rate (warmup, then cosine decay)")
    p.add_argument("--eval-every", type=int, default=200)
    p.add_argument("--checkpoint", help="save model+optimizer+step here (atomically) at every eval")
    p.add_argument("--resume", action="store_true", help="continue from --checkpoint")
    p.add_argument("--seed", type=int, default=1337)
    p.add_argument("--sample-tokens", type=int, default=200)
    args = p.parse_args(argv)
    if args.resume and not args.checkpoint:
        p.error("--resume needs --checkpoint")

    device = torch.device(args.device)
    torch.empty(0, device=device)                        # fail now, not after loading data, if it is unavailable
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)

    if args.data:
        with open(args.data, encoding="utf-8", errors="replace") as f:
            text = f.read()
    else:
        text = stdlib_text()
    chars = sorted(set(text))
    stoi = {c: i for i, c in enumerate(chars)}
    data = np.array([stoi[c] for c in text], dtype=np.int64)
    n = int(0.9 * len(data))
    train_data, val_data = data[:n], data[n:]
    print(f"data: {len(text):,} chars, vocab {len(chars)}, train {len(train_data):,} / eval {len(val_data):,}")

    model = GPT(len(chars), args.block_size, args.n_layer, args.n_embd, args.n_head).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, betas=(0.9, 0.99), weight_decay=0.1)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"model: {n_params:,} parameters, {args.n_layer} layers, n_embd {args.n_embd}, {args.n_head} heads, "
          f"block {args.block_size}")

    start = 0
    if args.resume:
        ckpt = torch.load(args.checkpoint)
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        start = int(ckpt["step"])
        rng = np.random.default_rng([args.seed, start])
        print(f"resumed from {args.checkpoint} at step {start}")

    warmup = max(1, min(100, args.steps // 10))

    def lr_at(step):                                     # a function of the step alone, so --resume is exact
        if step <= warmup:
            return args.lr * step / warmup
        progress = (step - warmup) / max(1, args.steps - warmup)
        return args.lr * (0.1 + 0.9 * 0.5 * (1.0 + math.cos(math.pi * progress)))

    def save(step):
        if args.checkpoint:
            torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "step": step},
                       args.checkpoint)

    tokens_per_step = args.batch_size * args.block_size
    train_loss = eval_loss = float("nan")
    t0 = time.perf_counter()
    columns = [TextColumn("step {task.completed}/{task.total}"), BarColumn(),
               TextColumn("loss {task.fields[loss]:.4f}  eval {task.fields[eval]:.4f}  {task.fields[tps]:,.0f} tok/s"),
               TimeElapsedColumn(), TimeRemainingColumn()]
    with Progress(*columns) as progress:
        task = progress.add_task("train", total=args.steps, completed=start, loss=float("nan"),
                                 eval=float("nan"), tps=0.0)
        for step in range(start + 1, args.steps + 1):
            for group in optimizer.param_groups:
                group["lr"] = lr_at(step)
            x, y = get_batch(train_data, args.batch_size, args.block_size, rng, device)
            _, loss = model(x, y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            train_loss = loss.item()
            tps = (step - start) * tokens_per_step / (time.perf_counter() - t0)
            if step % args.eval_every == 0 or step == args.steps:
                eval_loss = estimate_loss(model, val_data, args, device)
                progress.console.print(f"step {step:5d}  train loss {train_loss:.4f}  eval loss {eval_loss:.4f}  "
                                       f"{tps:,.0f} tok/s")
                save(step)
            progress.update(task, completed=step, loss=train_loss, eval=eval_loss, tps=tps)
    elapsed = time.perf_counter() - t0
    done = args.steps - start
    if done > 0:
        print(f"trained {done} steps in {elapsed:.1f} s: {done * tokens_per_step / elapsed:,.0f} tokens/s")

    print(f"unigram entropy {unigram_entropy(data, len(chars)):.4f} nats | final train loss {train_loss:.4f} | "
          f"final eval loss {eval_loss:.4f}")
    if args.sample_tokens > 0:
        model.eval()
        prompt = torch.tensor([[stoi.get("\n", 0)]], dtype=torch.long, device=device)
        out = model.generate(prompt, args.sample_tokens, temperature=0.8)[0].tolist()
        print("sample:\n" + "".join(chars[i] for i in out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
