"""Function transforms, as in ``torch.func``: ``grad``, ``value_and_grad``, ``vjp``, ``jacobian`` (``jacrev``)
and ``hessian``, built on the autograd engine.

Each transform re-wraps the differentiated arguments as fresh tensors that require grad and calls
``torchlite.autograd.grad`` on them. Inside another transform (or when an argument already requires grad)
the gradients are computed with ``create_graph=True`` and stay differentiable, so transforms nest:
``grad(grad(f))``, ``jacobian(jacobian(f))``. At the outermost level results are detached.

    >>> import torchlite as tl
    >>> from torchlite.func import grad
    >>> x = tl.tensor(2.0)
    >>> grad(lambda x: x ** 3)(x).item(), grad(grad(lambda x: x ** 3))(x).item()
    (12.0, 12.0)
"""
from __future__ import annotations

import functools

from .autograd.grad_mode import _enabled, enable_grad

__all__ = ["grad", "grad_and_value", "value_and_grad", "vjp", "jacobian", "jacrev", "hessian"]

_level = [0]                # how many transforms are running (nested ones keep their graphs)


def _is_tensor(x) -> bool:
    from .tensor import Tensor
    return isinstance(x, Tensor)


def _argnums(argnums, n: int, name: str) -> tuple:
    nums = argnums if isinstance(argnums, tuple) else (argnums,)
    if not nums:
        raise RuntimeError(f"{name}: argnums must be non-empty")
    out = []
    for a in nums:
        if not isinstance(a, int) or isinstance(a, bool):
            raise RuntimeError(f"{name}: argnums must be int or Tuple[int, ...], got: {type(a).__name__}")
        if not -n <= a < n:
            raise RuntimeError(f"{name}: Got argnums={a}, but only {n} positional inputs")
        out.append(a % n)
    if len(set(out)) != len(out):
        raise RuntimeError(f"{name}: argnums must be unique, got {argnums}")
    return tuple(out)


def _wrap(x, name: str):
    """A fresh tensor for ``x`` that requires grad: a new leaf, or (when ``x`` already requires grad, inside an
    enclosing transform) a differentiable copy, so gradients are taken with respect to this use of ``x`` only."""
    if not _is_tensor(x):
        raise RuntimeError(f"{name}: expected the differentiated arguments to be Tensors, got {type(x).__name__}")
    if not x.dtype.is_floating_point:
        raise RuntimeError(f"{name}: only Tensors of floating point dtype can be differentiated, got {x.dtype}")
    if x.requires_grad:
        return x.clone()
    return x.detach().requires_grad_(True)


class _Transform:
    """Context for one transform call: grad mode on, level counted, whether results keep their graphs."""

    def __init__(self, args: tuple):
        self.keep = _level[0] > 0 or (_enabled[0] and any(_is_tensor(a) and a.requires_grad for a in args))

    def __enter__(self):
        _level[0] += 1
        self._mode = enable_grad()
        self._mode.__enter__()
        return self

    def __exit__(self, *exc):
        self._mode.__exit__(*exc)
        _level[0] -= 1
        return False

    def out(self, x):
        """``x`` (a tensor, or nested tuples/lists/dicts of them) detached at the outermost level."""
        if self.keep or x is None:
            return x
        if _is_tensor(x):
            return x.detach()
        if isinstance(x, (tuple, list)):
            return type(x)(self.out(v) for v in x)
        if isinstance(x, dict):
            return {k: self.out(v) for k, v in x.items()}
        return x


def _grads(outputs: list, inputs: list, cotangents: list, keep: bool) -> list:
    """d(outputs)/d(inputs) contracted with ``cotangents``; zeros for inputs that were not used."""
    from . import autograd
    from .ops.creation import zeros_like
    live = [(o, c) for o, c in zip(outputs, cotangents) if o.requires_grad]
    if not live:
        return [zeros_like(x) for x in inputs]
    res = autograd.grad([o for o, _ in live], inputs, grad_outputs=[c for _, c in live], retain_graph=True,
                        create_graph=keep, allow_unused=True)
    return [zeros_like(x) if g is None else g for x, g in zip(inputs, res)]


def _split_aux(result, has_aux: bool, name: str):
    if not has_aux:
        return result, None
    if not (isinstance(result, tuple) and len(result) == 2):
        raise RuntimeError(f"{name}(f, ...)(*args): output of function f should be a tuple: (output, aux) "
                           "if has_aux is True")
    return result


def grad_and_value(func, argnums=0, has_aux: bool = False):
    """``func`` -> a function returning ``(gradient, value)`` (``((gradient), (value, aux))`` with has_aux)."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        nums = _argnums(argnums, len(args), "grad_and_value")
        with _Transform(args) as tr:
            args = list(args)
            for i in nums:
                args[i] = _wrap(args[i], "grad")
            out, aux = _split_aux(func(*args, **kwargs), has_aux, "grad_and_value")
            if not _is_tensor(out):
                raise RuntimeError(f"grad_and_value(f)(*args): Expected f(*args) to return a Tensor, got "
                                   f"{type(out).__name__}")
            if out.dim() != 0:
                raise RuntimeError(f"grad_and_value(f)(*args): Expected f(*args) to return a scalar Tensor, got "
                                   f"tensor with {out.dim()} dims. Maybe you wanted to use the vjp or jacrev APIs "
                                   "instead?")
            from .ops.creation import ones_like
            gs = _grads([out], [args[i] for i in nums], [ones_like(out)], tr.keep)
            g = tuple(gs) if isinstance(argnums, tuple) else gs[0]
            value = (tr.out(out), tr.out(aux)) if has_aux else tr.out(out)
            return tr.out(g), value
    return wrapper


def grad(func, argnums=0, has_aux: bool = False):
    """``func`` (returning a 0-d tensor) -> a function returning its gradient with respect to the arguments
    at ``argnums`` (an int, or a tuple for a tuple of gradients); with has_aux, ``(gradient, aux)``."""
    gv = grad_and_value(func, argnums, has_aux)

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        g, value = gv(*args, **kwargs)
        return (g, value[1]) if has_aux else g
    return wrapper


def value_and_grad(func, argnums=0, has_aux: bool = False):
    """Like ``grad`` but returns ``(value, gradient)`` (``((value, aux), gradient)`` with has_aux)."""
    gv = grad_and_value(func, argnums, has_aux)

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        g, value = gv(*args, **kwargs)
        return value, g
    return wrapper


def _flat_outputs(out, name: str) -> tuple:
    outs = out if isinstance(out, (tuple, list)) else (out,)
    for o in outs:
        if not _is_tensor(o):
            raise RuntimeError(f"{name}: Expected f to be a function that has only Tensor outputs, got "
                               f"{type(o).__name__}")
    return tuple(outs)


def vjp(func, *primals, has_aux: bool = False):
    """``(func(*primals), vjp_fn)`` (plus ``aux`` with has_aux): ``vjp_fn(cotangents)`` returns the
    vector-Jacobian products, one per primal (a tuple). ``cotangents`` matches the output's structure."""
    with _Transform(primals) as tr:
        wrapped = [_wrap(p, "vjp") for p in primals]
        out, aux = _split_aux(func(*wrapped), has_aux, "vjp")
        outs = _flat_outputs(out, "vjp")
    keep = tr.keep

    def vjp_fn(*cotangents):
        cts = cotangents[0] if len(cotangents) == 1 and isinstance(out, (tuple, list)) else cotangents
        cts = tuple(cts)
        if len(cts) != len(outs):
            raise RuntimeError(f"Expected pytree structure of cotangents to be the same as pytree structure of "
                               f"outputs to the function: got {len(cts)} cotangents for {len(outs)} outputs")
        for c, o in zip(cts, outs):
            if not _is_tensor(c) or tuple(c.shape) != tuple(o.shape):
                raise RuntimeError("vjp: each cotangent must be a Tensor of its output's shape, got "
                                   f"{list(c.shape) if _is_tensor(c) else type(c).__name__} for "
                                   f"{list(o.shape)}")
        inner = _Transform(())
        inner.keep = keep or _level[0] > 0 or (_enabled[0] and any(c.requires_grad for c in cts))
        with inner:
            gs = _grads(list(outs), wrapped, list(cts), inner.keep)
            return inner.out(tuple(gs))

    result = (tr.out(out), vjp_fn)
    return result + (tr.out(aux),) if has_aux else result


def jacobian(func, argnums=0, has_aux: bool = False):
    """``func`` -> a function returning its Jacobian by reverse mode (one vjp per output element), shaped
    ``output.shape + input.shape``; tuples over the outputs and/or ``argnums`` where those are tuples."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        from .ops.creation import zeros
        from .ops.joining import stack
        nums = _argnums(argnums, len(args), "jacrev")
        with _Transform(args) as tr:
            args = list(args)
            for i in nums:
                args[i] = _wrap(args[i], "jacrev")
            ins = [args[i] for i in nums]
            out, aux = _split_aux(func(*args, **kwargs), has_aux, "jacrev")
            outs = _flat_outputs(out, "jacrev")
            per_out = []
            for o in outs:
                n = o.numel()
                rows = [[] for _ in ins]
                for k in range(n):
                    e = zeros(n, dtype=o.dtype)
                    e[k] = 1.0
                    gs = _grads([o], ins, [e.reshape(tuple(o.shape))], tr.keep)
                    for r, g in zip(rows, gs):
                        r.append(g)
                jacs = []
                for x, r in zip(ins, rows):
                    j = stack(r) if r else zeros(0, *x.shape, dtype=x.dtype)
                    jacs.append(tr.out(j.reshape(tuple(o.shape) + tuple(x.shape))))
                per_out.append(tuple(jacs) if isinstance(argnums, tuple) else jacs[0])
            res = tuple(per_out) if isinstance(out, (tuple, list)) else per_out[0]
            return (res, tr.out(aux)) if has_aux else res
    return wrapper


jacrev = jacobian


def hessian(func, argnums=0):
    """``func`` -> a function returning its Hessian: the Jacobian of its Jacobian (``output.shape + input.shape
    + input.shape``; nested tuples where ``argnums`` is a tuple)."""
    return jacobian(jacobian(func, argnums), argnums)
