"""Optimizers and learning-rate schedulers, as PyTorch's ``torch.optim``.

    >>> import torchlite as tl
    >>> w = tl.tensor([3.0], requires_grad=True)
    >>> opt = tl.optim.SGD([w], lr=0.25, momentum=0.5)
    >>> sched = tl.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    >>> for _ in range(2):
    ...     opt.zero_grad(); (w * w).sum().backward(); opt.step(); sched.step()
    >>> round(w.item(), 6), sched.get_last_lr()
    (0.75, [0.0625])
"""
from . import lr_scheduler
from .adam import Adam, AdamW
from .optimizer import Optimizer
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "lr_scheduler"]
