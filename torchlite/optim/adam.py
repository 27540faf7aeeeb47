"""``Adam`` and ``AdamW``, as PyTorch's ``torch.optim.Adam``/``AdamW`` (their single-tensor update, step for
step): first and second moment running averages with bias correction, optional AMSGrad, L2 (Adam) or decoupled
(AdamW) weight decay, and maximization. ``state[p]['step']`` is a 0-d float tensor as in PyTorch."""
from __future__ import annotations

from .. import dtypes as _dt
from ..ops.creation import tensor as _tensor, zeros_like
from ..ops.pointwise import maximum
from ..tensor import Tensor
from .optimizer import Optimizer, _step_under_no_grad
from .sgd import _scalar


class Adam(Optimizer):
    """Adam (Kingma & Ba); ``decoupled_weight_decay=True`` makes it AdamW. ``capturable=True`` keeps the step
    count a tensor updated lazily instead of reading it with ``.item()`` each step (same numbers), so that
    ``torchlite.compile`` can replay the whole training step."""

    def __init__(self, params, lr: float = 1e-3, betas: tuple = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, amsgrad: bool = False, *, foreach=None, maximize: bool = False,
                 capturable: bool = False, differentiable: bool = False, fused=None,
                 decoupled_weight_decay: bool = False) -> None:
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= betas[0] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
        if not 0.0 <= betas[1] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not ((isinstance(betas[0], float) and isinstance(betas[1], float))
                or (isinstance(betas[0], Tensor) and isinstance(betas[1], Tensor))):
            raise ValueError("betas must be either both floats or both Tensors")
        betas = tuple(_scalar(b) for b in betas)
        defaults = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay, "amsgrad": amsgrad,
                    "maximize": maximize, "foreach": foreach, "capturable": capturable,
                    "differentiable": differentiable, "fused": fused,
                    "decoupled_weight_decay": decoupled_weight_decay}
        super().__init__(params, defaults)

    def __setstate__(self, state: dict) -> None:
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("amsgrad", False)
            group.setdefault("maximize", False)
            group.setdefault("decoupled_weight_decay", False)

    @_step_under_no_grad
    def step(self, closure=None):
        """One update of every parameter that has a gradient; returns ``closure()``'s loss if given."""
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr = _scalar(group["lr"])
            beta1, beta2 = (_scalar(b) for b in group["betas"])
            eps, wd, amsgrad = group["eps"], group["weight_decay"], group["amsgrad"]
            maximize, decoupled = group["maximize"], group["decoupled_weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if len(state) == 0:
                    sdt = _dt.float64 if _dt.get_default_dtype() is _dt.float64 else _dt.float32
                    state["step"] = _tensor(0.0, dtype=sdt)
                    state["exp_avg"] = zeros_like(p)
                    state["exp_avg_sq"] = zeros_like(p)
                    if amsgrad:
                        state["max_exp_avg_sq"] = zeros_like(p)
                g = p.grad if not maximize else -p.grad
                exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
                step_t = state["step"]
                if group.get("capturable", False):
                    # The step count stays a lazy tensor (no .item()), so torchlite.compile can replay the
                    # update; the bias corrections are 0-d float64 tensors holding what the Python floats
                    # below hold, so both paths give the same numbers.
                    step_t._assign(step_t + 1)
                    step = step_t.to(_dt.float64)
                else:
                    step = step_t.item() + 1
                    state["step"] = _tensor(step, dtype=step_t.dtype)   # a fresh realized leaf: no program
                if wd != 0:
                    if decoupled:
                        p._assign(p * (1 - lr * wd))
                    else:
                        g = g + wd * p
                exp_avg._assign(exp_avg.lerp(g, 1 - beta1))
                exp_avg_sq._assign(exp_avg_sq * beta2 + (1 - beta2) * g * g)
                bias_correction1 = 1 - beta1 ** step
                bias_correction2 = 1 - beta2 ** step
                step_size = lr / bias_correction1
                bias_correction2_sqrt = bias_correction2 ** 0.5
                if amsgrad:
                    mx = state["max_exp_avg_sq"]
                    mx._assign(maximum(mx, exp_avg_sq))
                    denom = mx.sqrt() / bias_correction2_sqrt + eps
                else:
                    denom = exp_avg_sq.sqrt() / bias_correction2_sqrt + eps
                p._assign(p + (-step_size) * exp_avg / denom)
        return loss


class AdamW(Adam):
    """Adam with decoupled weight decay: ``p *= 1 - lr * weight_decay`` before the Adam update."""

    def __init__(self, params, lr: float = 1e-3, betas: tuple = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, *, maximize: bool = False, foreach=None,
                 capturable: bool = False, differentiable: bool = False, fused=None) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach, maximize=maximize,
                         capturable=capturable, differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True)

    def __setstate__(self, state: dict) -> None:
        super().__setstate__(state)
        for group in self.param_groups:
            group["decoupled_weight_decay"] = True
