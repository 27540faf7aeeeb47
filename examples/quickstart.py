"""torchlite quickstart: lazy tensors, the captured graph, and the numpy program that runs it.

    python examples/quickstart.py
"""
import numpy as np

import torchlite as torch          # model code reads like PyTorch
from torchlite.devices import CPU, backend_for

torch.manual_seed(0)

# 1. Ops build a lazy graph; nothing is computed yet.
x = torch.randn(4, 8)
w = torch.randn(8, 3) * 0.5
b = torch.zeros(3)
h = (x @ w + b).relu()
y = torch.softmax(h * 2.0, dim=-1)
print(f"y: shape={tuple(y.shape)} dtype={y.dtype} pending={y.is_lazy}")

# 2. The pending graph, captured into the FX-style IR, printed as Python.
gm = torch.fx.capture(y)
print("\n# captured graph")
print(gm.graph)
print("\n# as code")
print(gm.code)

# 3. The cpu backend's numpy program for it: one kernel call per node, buffers reused where they die.
print("# numpy program")
print(gm.program.source)

# 4. Realizing runs the cached program; the result matches plain numpy.
print("# realized")
print(y)
ref = np.maximum(x.numpy() @ w.numpy() + b.numpy(), 0) * 2.0
ref = np.exp(ref - ref.max(-1, keepdims=True))
ref /= ref.sum(-1, keepdims=True)
print("max |torchlite - numpy| =", float(np.abs(y.numpy() - ref).max()))

# 5. Python scalars are program arguments: a new value reuses the compiled program.
for scale in (0.5, 1.0, 2.0):
    torch.softmax(h * scale, dim=-1).numpy()
print("program cache:", backend_for(CPU).cache_info())

# 6. In-place writes through views update the base, as in PyTorch.
z = torch.zeros(2, 3)
z[0].add_(1.0)
z.t()[2, 1] = 5.0
print(z)
