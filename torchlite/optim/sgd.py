"""``SGD``: stochastic gradient descent with optional momentum, dampening, Nesterov momentum, weight decay and
maximization, as PyTorch's ``torch.optim.SGD`` (its single-tensor update, step for step)."""
from __future__ import annotations

from ..tensor import Tensor
from .optimizer import Optimizer, _step_under_no_grad


class SGD(Optimizer):
    """``p -= lr * g`` where ``g`` is the gradient (negated if ``maximize``), plus ``weight_decay * p``, passed
    through a momentum buffer ``buf = momentum * buf + (1 - dampening) * g`` when ``momentum != 0``."""

    def __init__(self, params, lr: float = 1e-3, momentum: float = 0, dampening: float = 0,
                 weight_decay: float = 0, nesterov: bool = False, *, maximize: bool = False,
                 foreach=None, differentiable: bool = False, fused=None) -> None:
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = {"lr": lr, "momentum": momentum, "dampening": dampening, "weight_decay": weight_decay,
                    "nesterov": nesterov, "maximize": maximize, "foreach": foreach,
                    "differentiable": differentiable, "fused": fused}
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, defaults)

    def __setstate__(self, state: dict) -> None:
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("nesterov", False)
            group.setdefault("maximize", False)

    @_step_under_no_grad
    def step(self, closure=None):
        """One update of every parameter that has a gradient; returns ``closure()``'s loss if given."""
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr = _scalar(group["lr"])
            wd, momentum, dampening = group["weight_decay"], group["momentum"], group["dampening"]
            nesterov, maximize = group["nesterov"], group["maximize"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad if not maximize else -p.grad
                if wd != 0:
                    g = g + wd * p
                if momentum != 0:
                    state = self.state[p]
                    buf = state.get("momentum_buffer")
                    if buf is None:
                        buf = g.detach().clone()
                        state["momentum_buffer"] = buf
                    else:
                        # (no multiply by 1 - dampening when it is 1: a full pass over the gradient saved)
                        buf._assign(buf * momentum + ((1 - dampening) * g if dampening != 0 else g))
                    g = g + momentum * buf if nesterov else buf
                p._assign(p + (-lr) * g)
        return loss


def _scalar(v):
    """A hyperparameter as a Python number (a one-element tensor is read once)."""
    return v.item() if isinstance(v, Tensor) else v
