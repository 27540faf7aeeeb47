"""Finite-difference checks of gradients (``torch.autograd.gradcheck``'s contract, float64 inputs).

    >>> import torchlite as tl
    >>> x = tl.tensor([0.5, -1.25], dtype=tl.float64, requires_grad=True)
    >>> tl.autograd.gradcheck(lambda t: (t.exp() * t).sum(), (x,))
    True
"""
from __future__ import annotations

import numpy as np


def _outputs(fn, inputs):
    out = fn(*inputs)
    return list(out) if isinstance(out, (tuple, list)) else [out]


def gradcheck(fn, inputs, *, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              raise_exception: bool = True) -> bool:
    """Compare the Jacobian autograd gives with central differences, for every float input that requires
    grad. Inputs should be float64 and small (each element is perturbed twice)."""
    from ..tensor import Tensor
    from ..ops.creation import tensor as make
    from . import grad, no_grad
    inputs = tuple(inputs)
    diff = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    outs = _outputs(fn, inputs)
    for k, out in enumerate(outs):
        n_out = out.numel()
        for i in diff:
            x = inputs[i]
            base = np.array(x.numpy(), dtype=np.float64)
            numeric = np.zeros((base.size, n_out))
            with no_grad():
                for j in range(base.size):
                    vals = []
                    for sign in (1.0, -1.0):
                        p = base.copy().reshape(-1)
                        p[j] += sign * eps
                        args = list(inputs)
                        args[i] = make(p.reshape(base.shape), dtype=x.dtype)
                        vals.append(np.array(_outputs(fn, args)[k].numpy(), dtype=np.float64).reshape(-1))
                    numeric[j] = (vals[0] - vals[1]) / (2 * eps)
            analytic = np.zeros((base.size, n_out))
            for r in range(n_out):
                e = np.zeros(n_out)
                e[r] = 1.0
                (g,) = grad(_outputs(fn, inputs)[k], [x], grad_outputs=[make(e.reshape(tuple(out.shape)),
                                                                              dtype=out.dtype)],
                            allow_unused=True)
                if g is not None:
                    analytic[:, r] = np.array(g.numpy(), dtype=np.float64).reshape(-1)
            if not np.allclose(analytic, numeric, atol=atol, rtol=rtol):
                if raise_exception:
                    worst = np.unravel_index(np.argmax(np.abs(analytic - numeric)), analytic.shape)
                    raise RuntimeError(f"Jacobian mismatch for output {k} with respect to input {i}: "
                                       f"numerical {numeric[worst]:.6g} vs analytical {analytic[worst]:.6g} at "
                                       f"(input element, output element) {tuple(int(w) for w in worst)}")
                return False
    return True
