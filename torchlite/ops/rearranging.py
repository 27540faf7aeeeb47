"""Copies that rearrange, repeat or pad entries: ``flip``/``fliplr``/``flipud``, ``roll``, ``repeat``/``tile``,
and the ``torch.nn.functional`` pair ``pad`` (constant/reflect/replicate/circular) and ``one_hot``.

``one_hot`` is a sync point: the classes are realized to check their bounds (and to count them when
``num_classes=-1``).

    >>> import torchlite as tl
    >>> tl.arange(3).flip(0).roll(1).tolist()
    [0, 2, 1]
"""
from __future__ import annotations

import numpy as np

from .. import dtypes as _dt
from ..tensor import Tensor, apply
from ._index_common import _check_tensor, _dim, _err, _int_list, _scalar_for
from ._meta import wrap_dims
from .registry import OpDef, register


# --- flip / roll / repeat / tile --------------------------------------------------------------------------

def _dims(name: str, dims, ndim: int) -> tuple:
    try:
        return wrap_dims(dims, ndim)
    except (IndexError, RuntimeError, TypeError) as e:
        raise _err(type(e), name, str(e)) from None


def _same_shape(srcs, params):
    return srcs[0].shape, srcs[0].dtype


FLIP = register(OpDef("flip", _same_shape, lambda x, *, dims, dtype: np.flip(x, dims) if dims and x.ndim else x,
                      ("dims",), kind="movement", view=True,
                      doc="Reverse the order along ``dims`` (a copy in PyTorch; the numpy kernel returns a view)."))


def flip(input: Tensor, *dims, **kwargs) -> Tensor:
    """Reverse the order of entries along ``dims``: ``x.flip(0, 1)``, ``x.flip([0, 1])``, ``flip(x, dims=[0])``."""
    if "dims" in kwargs:
        dims = (kwargs.pop("dims"),)
    if kwargs:
        raise _err(TypeError, "flip", f"flip() got unexpected keyword arguments {sorted(kwargs)}")
    if not dims:
        raise _err(TypeError, "flip", 'flip() missing 1 required positional arguments: "dims"')
    ds = _dims("flip", _int_list("flip", dims), input.ndim)
    return apply(FLIP, (input,), (ds,))


def fliplr(input: Tensor) -> Tensor:
    if input.ndim < 2:
        raise _err(RuntimeError, "fliplr", "Input must be >= 2-d.")
    return flip(input, 1)


def flipud(input: Tensor) -> Tensor:
    if input.ndim < 1:
        raise _err(RuntimeError, "flipud", "Input must be >= 1-d.")
    return flip(input, 0)


def _roll_kernel(x, *, shifts, dims, dtype):
    if not dims:
        return np.roll(x, shifts[0])
    return np.roll(x, shifts, axis=dims)


ROLL = register(OpDef("roll", _same_shape, _roll_kernel, ("shifts", "dims"), kind="movement",
                      doc="Rotate entries by ``shifts`` along ``dims`` (all entries, flattened, if dims is empty)."))


def roll(input: Tensor, shifts, dims=None) -> Tensor:
    """Rotate entries by ``shifts`` along ``dims`` (over the flattened tensor when dims is None)."""
    sh = _int_list("roll", (shifts,)) if isinstance(shifts, (tuple, list)) else _int_list("roll", (shifts,))
    if dims is None:
        if len(sh) != 1:
            raise _err(RuntimeError, "roll", f"shifts and dimensions must align. shifts: {len(sh)}, dims:0")
        return apply(ROLL, (input,), (sh, ()))
    ds = (dims,) if isinstance(dims, int) else tuple(dims)
    if len(sh) != len(ds):
        raise _err(RuntimeError, "roll", f"shifts and dimensions must align. shifts: {len(sh)}, dims:{len(ds)}")
    if input.ndim == 0:
        raise _err(IndexError, "roll", "Dimension specified as 0 but tensor has no dimensions")
    ds = tuple(_dim("roll", d, input.ndim) for d in ds)
    return apply(ROLL, (input,), (sh, ds))


def _meta_repeat(srcs, params):
    (reps,) = params
    s = srcs[0].shape
    s = (1,) * (len(reps) - len(s)) + s
    return tuple(a * b for a, b in zip(s, reps)), srcs[0].dtype


REPEAT = register(OpDef("repeat", _meta_repeat,
                        lambda x, *, reps, dtype: np.tile(x, reps) if reps else x.copy(),
                        ("reps",), kind="movement", doc="Tile ``x`` ``reps`` times along each dim (np.tile)."))


def repeat(input: Tensor, *sizes) -> Tensor:
    """Tile ``input``: ``x.repeat(2, 3)`` repeats dim -2 twice and dim -1 three times (may add leading dims)."""
    reps = _int_list("repeat", sizes)
    if len(reps) < input.ndim:
        raise _err(RuntimeError, "repeat", "Number of dimensions of repeat dims can not be smaller than number of "
                   "dimensions of tensor")
    for r in reps:
        if r < 0:
            s = (1,) * (len(reps) - input.ndim) + input.shape
            raise _err(RuntimeError, "repeat", f"Trying to create tensor with negative dimension {r}: "
                       f"{[a * b for a, b in zip(s, reps)]}")
    return apply(REPEAT, (input,), (reps,))


def tile(input: Tensor, *dims) -> Tensor:
    """``repeat`` with fewer reps allowed (missing ones are 1, at the front): ``x.tile(2)``, ``x.tile((2, 1))``."""
    reps = _int_list("tile", dims)
    reps = (1,) * (input.ndim - len(reps)) + reps
    return repeat(input, reps)


# --- pad ----------------------------------------------------------------------------------------------------

_PAD_SIZES = ("Supported combinations for non-constant padding:\n"
              "  - 2D or 3D input: padding size = 2 (pads last dimension)\n"
              "  - 3D or 4D input: padding size = 4 (pads last 2 dimensions)\n"
              "  - 4D or 5D input: padding size = 6 (pads last 3 dimensions)")


def _meta_pad(srcs, params):
    widths, mode = params
    s = srcs[0].shape
    return tuple(n + a + b for n, (a, b) in zip(s, widths)), srcs[0].dtype


def _pad_kernel(x, value, *, widths, mode, dtype):
    if not widths:
        return x.copy()
    if mode == "circular":
        x = x[tuple(slice(max(-a, 0), n - max(-b, 0)) for n, (a, b) in zip(x.shape, widths))]
        pos = tuple((max(a, 0), max(b, 0)) for a, b in widths)
        return np.pad(x, pos, mode="wrap")
    pos = tuple((max(a, 0), max(b, 0)) for a, b in widths)
    if mode == "constant":
        x = x[tuple(slice(max(-a, 0), n - max(-b, 0)) for n, (a, b) in zip(x.shape, widths))]
        return np.pad(x, pos, mode="constant", constant_values=np.array(value).astype(dtype))
    r = np.pad(x, pos, mode="reflect" if mode == "reflect" else "edge")
    return r[tuple(slice(max(-a, 0), n - max(-b, 0)) for n, (a, b) in zip(r.shape, widths))]


PAD = register(OpDef("pad", _meta_pad, _pad_kernel, ("widths", "mode"), kind="movement",
                     doc="Pad (or crop, for negative widths) each dim by (before, after); constant/reflect/replicate/"
                         "circular."))


def pad(input: Tensor, pad, mode: str = "constant", value=None) -> Tensor:
    """``torch.nn.functional.pad``: ``pad`` lists (left, right) widths from the last dim backwards.

        >>> import torchlite as tl
        >>> pad(tl.ones(1, 2), (1, 0), value=5.0).tolist()
        [[5.0, 1.0, 1.0]]
    """
    p = _int_list("pad", (pad,))
    nd = input.ndim
    if len(p) % 2:
        raise _err(RuntimeError, "pad", "Padding length must be divisible by 2")
    if len(p) // 2 > nd:
        raise _err(RuntimeError, "pad", f"Padding length should be less than or equal to two times the input "
                   f"dimension but got padding length {len(p)} and input of dimension {nd}")
    k = len(p) // 2
    widths = [(0, 0)] * (nd - k) + [(p[2 * (k - 1 - j)], p[2 * (k - 1 - j) + 1]) for j in range(k)]
    widths = tuple(widths)
    s = input.shape
    if mode == "constant":
        for d, ((a, b), n) in enumerate(zip(widths, s)):
            if n + a + b < 0:
                raise _err(RuntimeError, "pad", f"The input size {n}, plus negative padding {a} and {b} resulted in a "
                           f"negative output size, which is invalid. Check dimension {d} of your input.")
        v = _scalar_for(input.dtype, 0 if value is None else value, "pad")
        return apply(PAD, (input, v), (widths, "constant"))
    if mode not in ("reflect", "replicate", "circular"):
        raise _err(NotImplementedError, "pad", f"Unrecognised padding mode {mode}")
    if value is not None and value != 0:
        raise _err(RuntimeError, "pad", f'Padding mode "{mode}" doesn\'t take in value argument')
    if not ((k == 1 and nd in (2, 3)) or (k == 2 and nd in (3, 4)) or (k == 3 and nd in (4, 5))):
        raise _err(NotImplementedError, "pad", f"Padding size {len(p)} is not supported for {nd}D input tensor.\n"
                   + _PAD_SIZES)
    for d in range(nd - k - (1 if nd == k + 2 else 0), nd):
        if s[d] == 0 and d >= nd - k:
            raise _err(RuntimeError, "pad", f"Expected {k + 1}D or {k + 2}D (batch mode) tensor with possibly 0 batch "
                       f"size and other non-zero dimensions for input, but got: {list(s)}")
    if nd == k + 2 and s[1] == 0:
        raise _err(RuntimeError, "pad", f"Expected {k + 1}D or {k + 2}D (batch mode) tensor with possibly 0 batch "
                   f"size and other non-zero dimensions for input, but got: {list(s)}")
    for j in range(k):                      # pairs from the last dim backwards, as torch checks them
        d = nd - 1 - j
        a, b = widths[d]
        if mode == "reflect" and (a >= s[d] or b >= s[d]):
            raise _err(RuntimeError, "pad", f"Argument #{4 + 2 * j}: Padding size should be less than the "
                       f"corresponding input dimension, but got: padding ({a}, {b}) at dimension {d} of input {list(s)}")
        if mode == "circular":
            n = s[d] + min(a, 0) + min(b, 0)
            if a > n or b > n:
                raise _err(RuntimeError, "pad", "Padding value causes wrapping around more than once.")
        if s[d] + a + b < 0:
            raise _err(RuntimeError, "pad", f"input size {s[d]} with padding ({a}, {b}) at dimension {d} gives a "
                       "negative output size")
    return apply(PAD, (input, 0), (widths, mode))


# --- one_hot ------------------------------------------------------------------------------------------------

def _meta_one_hot(srcs, params):
    return srcs[0].shape + (params[0],), _dt.int64


ONE_HOT = register(OpDef("one_hot", _meta_one_hot,
                         lambda x, *, num_classes, dtype: (x[..., None] == np.arange(num_classes)).astype(np.int64),
                         ("num_classes",), kind="indexing", doc="out[..., c] = 1 where x == c (int64)."))


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """``torch.nn.functional.one_hot``: int64 class indices -> int64 one-hot vectors on a new last dim.

    A sync point: the classes are realized to check their bounds (and to find their number when -1)."""
    _check_tensor("one_hot", tensor, "tensor")
    if tensor.dtype is not _dt.int64:
        raise _err(RuntimeError, "one_hot", "one_hot is only applicable to index tensor of type LongTensor.")
    a = np.asarray(tensor.numpy())                           # SYNC
    if num_classes == -1:
        if a.size == 0:
            raise _err(RuntimeError, "one_hot", "Can not infer total number of classes from empty tensor.")
        num_classes = int(a.max()) + 1
    if a.size:
        if a.min() < 0:
            raise _err(RuntimeError, "one_hot", "Class values must be non-negative.")
        if a.max() >= num_classes:
            raise _err(RuntimeError, "one_hot", "Class values must be smaller than num_classes.")
    elif num_classes < 0:
        raise _err(RuntimeError, "one_hot", "Class values must be smaller than num_classes.")
    return apply(ONE_HOT, (tensor,), (int(num_classes),))


METHODS = ["flip", "fliplr", "flipud", "roll", "repeat", "tile"]
INPLACE = []

__all__ = ["flip", "fliplr", "flipud", "roll", "tile"]


# --- VJP rules (autograd; notes/VJP.md) --------------------------------------------------------------------
# Movements are undone; copies made by repeat and by reflect/replicate/circular padding add their gradients up.

def _vjp_flip(g, out, x, dims):
    return (apply(FLIP, (g,), (dims,)),)


def _vjp_roll(g, out, x, shifts, dims):
    return (apply(ROLL, (g,), (tuple(-s for s in shifts), dims)),)


def _vjp_repeat(g, out, x, reps):
    from . import movement as _mv
    from .reduction import sum as _sum
    if not reps:
        return (g,)
    s = (1,) * (len(reps) - x.ndim) + tuple(x.shape)
    blocks = []
    for r, n in zip(reps, s):              # np.tile lays the copies out block by block: out index = k * n + j
        blocks += [r, n]
    summed = _sum(_mv.reshape(g, tuple(blocks)), tuple(range(0, 2 * len(reps), 2)))
    return (_mv.reshape(summed, tuple(x.shape)),)


def _pad_sources(n: int, before: int, after: int, mode: str) -> list:
    """For each position of a padded (or cropped) dim of size ``n``, the input position it copies."""
    return _pad_kernel(np.arange(n), 0, widths=((before, after),), mode=mode, dtype=np.int64).tolist()


def _vjp_pad(g, out, x, value, widths, mode):
    from .creation import tensor
    from .indexing import INDEX_PUT
    from . import movement as _mv
    if mode == "constant":      # padding the gradient by the negated widths crops the pad, zero-fills the crop
        return apply(PAD, (g, 0.0), (tuple((-a, -b) for a, b in widths), "constant")), None
    for d, ((a, b), n) in enumerate(zip(widths, x.shape)):
        if a == 0 and b == 0:
            continue
        src = tensor(_pad_sources(n, a, b, mode), dtype=_dt.int64, device=g.device)
        shape = tuple(g.shape[:d]) + (n,) + tuple(g.shape[d + 1:])
        g = apply(INDEX_PUT, (_mv._zeros(shape, g), src, g), ((d,), True))
    return g, None


VJPS = {FLIP: _vjp_flip, ROLL: _vjp_roll, REPEAT: _vjp_repeat, PAD: _vjp_pad}
for _op, _rule in VJPS.items():
    _op.vjp = _rule
