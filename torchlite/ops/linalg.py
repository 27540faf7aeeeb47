"""Linear algebra: matmul (and mm, bmm, mv, dot, outer), linear, einsum, addmm, baddbmm, tensordot.

Three op-level nodes: ``matmul`` (every product of PyTorch's matmul family: dot, mv, mm, bmm and the
broadcast batched case), ``linear`` (``input @ weight.T + bias``, kept whole so the compiler can match it
with its epilogue) and ``einsum``. ``mm``/``bmm``/``mv``/``dot`` check their stricter arguments in the
frontend, with PyTorch's messages, then build a ``matmul`` node. The numpy kernels call ``np.matmul``
(BLAS) on the arrays as they are (transposed views included); float16/bfloat16 compute in float32 and
round once.

    >>> import torchlite as tl
    >>> (tl.ones(2, 3) @ tl.ones(3)).tolist()
    [3.0, 3.0]
"""
from __future__ import annotations

import functools

import numpy as np

from .. import dtypes as _dt
from ..lazy import op_error
from ..tensor import Tensor, apply
from ._meta import C_NAMES, broadcast_shapes, numel, torch_name
from .registry import OpDef, register

_F32 = np.dtype(np.float32)
_COMPUTE = {_dt.float16.np: _F32, _dt.bfloat16.np: _F32}   # low-precision floats compute in float32


_ERRORS = (RuntimeError, IndexError, ValueError, TypeError)


def _x(shape) -> str:
    return "x".join(str(s) for s in shape)


def _inner_hint(sa, sb, ka, kb) -> str:
    return f"; shapes {list(sa)} and {list(sb)}: inner dimensions {ka} != {kb}"


def _not_bool(dtype, kernel: str):
    if dtype is _dt.bool:
        raise NotImplementedError(f"\"{kernel}\" not implemented for 'Bool'")


# --- the rules of PyTorch's matmul family --------------------------------------------------------------

def _check_dot(sa, sb, da, db):
    if da is not db:
        raise RuntimeError(f"dot : expected both vectors to have same dtype, but found {torch_name(da)} and "
                           f"{torch_name(db)}")
    if sa[0] != sb[0]:
        raise RuntimeError(f"inconsistent tensor size, expected tensor [{sa[0]}] and src [{sb[0]}] to have the same "
                           f"number of elements, but got {sa[0]} and {sb[0]} elements respectively"
                           + _inner_hint(sa, sb, sa[0], sb[0]))
    _not_bool(da, "dot")
    return (), da


def _check_mv(sa, sb, da, db, shown_a=None):
    """matrix (n, k) @ vector (k,); ``shown_a`` is the folded shape PyTorch names in its message."""
    n, k = (numel(sa[:-1]), sa[-1])
    if k != sb[0]:
        raise RuntimeError(f"size mismatch, got input ({n}), mat ({n}x{k}), vec ({sb[0]})"
                           + _inner_hint(shown_a or sa, sb, k, sb[0]))
    if da is not db:
        raise RuntimeError(f"addmv input tensors must have the same dtype, but got {torch_name(db)}, "
                           f"{torch_name(da)}, and {torch_name(db)}")
    _not_bool(da, "addmv_impl_cpu")
    return tuple(sa[:-1]), da


def _check_mm(sa, sb, da, db, shown=None):
    """(n, k) @ (k, m) as PyTorch's mm checks it; ``shown`` the user's shapes for the hint."""
    if sa[-1] != sb[0]:
        sa_, sb_ = shown or (sa, sb)
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({_x(sa)} and {_x(sb)})"
                           + _inner_hint(sa_, sb_, sa[-1], sb[0]))
    if da is not db:
        raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: {C_NAMES[da.name]} != "
                           f"{C_NAMES[db.name]}")
    _not_bool(da, "addmm_impl_cpu_")
    return (sa[0], sb[1]), da


def _check_bmm(batch, sa, sb, da, db, shown):
    """Batched (B, n, k) @ (B, k, m) after broadcasting the batch dims."""
    if sa[-1] != sb[-2]:
        b = numel(batch)
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: [{b}, {sa[-1]}] but "
                           f"got: [{b}, {sb[-2]}]." + _inner_hint(*shown, sa[-1], sb[-2]))
    if da is not db:
        raise RuntimeError(f"expected scalar type {torch_name(da)} but found {torch_name(db)}")
    _not_bool(da, "bmm")


def matmul_meta(sa: tuple, sb: tuple, da: _dt.dtype, db: _dt.dtype) -> tuple[tuple, _dt.dtype]:
    """Shape and dtype of ``a @ b`` by PyTorch's rules (RuntimeError/NotImplementedError with its messages)."""
    na, nb = len(sa), len(sb)
    if na == 0 or nb == 0:
        raise RuntimeError(f"both arguments to matmul need to be at least 1D, but they are {na}D and {nb}D")
    if na == 1 and nb == 1:
        return _check_dot(sa, sb, da, db)
    if na == 2 and nb == 1:
        return _check_mv(sa, sb, da, db)
    if na == 1 and nb == 2:
        shape, d = _check_mm((1,) + sa, sb, da, db, shown=(sa, sb))
        return shape[1:], d
    if na == 2 and nb == 2:
        return _check_mm(sa, sb, da, db)
    if na >= 3 and nb <= 2:
        # PyTorch folds the batch of the left operand into its rows and calls mm / mv
        if nb == 1:
            _check_mv(sa, sb, da, db, shown_a=sa)
            return tuple(sa[:-1]), da
        _check_mm((numel(sa[:-1]), sa[-1]), sb, da, db, shown=(sa, sb))
        return tuple(sa[:-1]) + (sb[1],), da
    # batched: broadcast the batch dims, then bmm
    a2 = sa if na >= 2 else (1,) + sa
    b2 = sb if nb >= 2 else sb + (1,)
    batch = broadcast_shapes(tuple(a2[:-2]), tuple(b2[:-2]))
    _check_bmm(batch, a2, b2, da, db, (sa, sb))
    shape = batch + ((sa[-2],) if na >= 2 else ()) + ((sb[-1],) if nb >= 2 else ())
    return shape, da


def _meta_matmul(srcs, params):
    a, b = srcs
    return matmul_meta(a.shape, b.shape, a.dtype, b.dtype)


# --- kernels -------------------------------------------------------------------------------------------

def _np_matmul(a: np.ndarray, b: np.ndarray, out):
    """``np.matmul`` writing into ``out`` if given; a C-contiguous stack times a matrix is one GEMM."""
    if a.ndim >= 3 and b.ndim <= 2 and a.flags.c_contiguous:
        rows = a.reshape(-1, a.shape[-1])                    # a view: no copy
        shape = a.shape[:-1] + b.shape[1:]
        if out is not None and out.flags.c_contiguous:
            np.matmul(rows, b, out=out.reshape(rows.shape[0], *b.shape[1:]))
            return out
        r = np.matmul(rows, b).reshape(shape)
    else:
        r = np.matmul(a, b, out=out)
        if out is not None:
            return out
        if type(r) is not np.ndarray:                        # 1-d @ 1-d gives a numpy scalar
            r = np.asarray(r)
    if out is not None:
        out[...] = r
        return out
    return r


def _matmul_kernel(a, b, *, dtype, out=None):
    cd = _COMPUTE.get(dtype)
    if cd is None:
        return _np_matmul(a, b, out)
    r = _np_matmul(a.astype(cd), b.astype(cd), None)
    if out is None:
        return r.astype(dtype)
    out[...] = r
    return out


MATMUL = register(OpDef("matmul", _meta_matmul, _matmul_kernel, (), kind="linalg", supports_out=True,
                        doc="PyTorch's matmul: dot, mv, mm and broadcast batched products."))


# --- linear --------------------------------------------------------------------------------------------

def _meta_linear(srcs, params):
    x, w = srcs[0], srcs[1]
    b = srcs[2] if len(srcs) > 2 else None
    sx, sw = x.shape, w.shape
    if not sx or not sw:
        raise RuntimeError(f"both arguments to linear need to be at least 1D, but they are {len(sx)}D and "
                           f"{len(sw)}D")
    if len(sw) > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {len(sw)}D")
    if len(sw) == 1:
        if b is not None and len(sx) >= 2:
            raise RuntimeError("mat2 must be a matrix, got 1-D tensor")
        if len(sx) == 1:
            shape, d = _check_dot(sx, sw, x.dtype, w.dtype)
        else:
            shape, d = _check_mv((numel(sx[:-1]), sx[-1]), sw, x.dtype, w.dtype, shown_a=sx)
            shape = tuple(sx[:-1])
    else:
        wt = (sw[1], sw[0])
        _check_mm((numel(sx[:-1]), sx[-1]), wt, x.dtype, w.dtype, shown=(sx, wt))
        shape, d = tuple(sx[:-1]) + (sw[0],), x.dtype
    if b is not None:
        if b.dtype is not w.dtype:
            raise RuntimeError(f"self and mat2 must have the same dtype, but got {torch_name(b.dtype)} and "
                               f"{torch_name(w.dtype)}")
        _check_bias(b.shape, shape, addmm=len(sx) == 2)
    return shape, d


def _check_bias(sb: tuple, shape: tuple, *, addmm: bool) -> None:
    """The bias must broadcast to the output's shape without changing it."""
    if addmm:     # PyTorch expands the bias to the output (addmm), with expand's messages
        if len(sb) > len(shape):
            raise RuntimeError(f"expand(torch.FloatTensor{{{list(sb)}}}, size={list(shape)}): the number of sizes "
                               f"provided ({len(shape)}) must be greater or equal to the number of dimensions in "
                               f"the tensor ({len(sb)})")
        off = len(shape) - len(sb)
        for i, s in enumerate(sb):
            if s != shape[off + i] and s != 1:
                raise RuntimeError(f"The expanded size of the tensor ({shape[off + i]}) must match the existing "
                                   f"size ({s}) at non-singleton dimension {off + i}.  Target sizes: {list(shape)}."
                                   f"  Tensor sizes: {list(sb)}")
        return
    full = broadcast_shapes(shape, sb)
    if full != shape:
        raise RuntimeError(f"output with shape {list(shape)} doesn't match the broadcast shape {list(full)}")


def _linear_kernel(x, w, *bias, dtype, out=None):
    cd = _COMPUTE.get(dtype)
    if cd is not None:
        x, w = x.astype(cd), w.astype(cd)
        bias = tuple(b.astype(cd) for b in bias)
    r = _np_matmul(x, w.T if w.ndim == 2 else w, out if cd is None else None)
    if bias:
        np.add(r, bias[0], out=r)
    if cd is None:
        return r
    if out is None:
        return r.astype(dtype)
    out[...] = r
    return out


LINEAR = register(OpDef("linear", _meta_linear, _linear_kernel, (), kind="linalg", supports_out=True,
                        doc="``input @ weight.T + bias`` (bias optional: a third input)."))


# --- einsum --------------------------------------------------------------------------------------------

_ELL = "..."


def _is_letter(c: str) -> bool:
    return ("a" <= c <= "z") or ("A" <= c <= "Z")


def _parse_einsum(equation: str, ndims: tuple) -> tuple[list, list | None]:
    """Operand label lists (letters and "...") and the explicit output list (None if implicit)."""
    n_ops = len(ndims)
    arrow = equation.find("->")
    lhs = equation if arrow < 0 else equation[:arrow]
    ops: list = [[]]
    found_ell = False
    i = 0
    while i < len(lhs):
        c = lhs[i]
        if c == " ":
            pass
        elif c == ".":
            cur = len(ops) - 1
            if found_ell:
                raise RuntimeError(f"einsum(): found '.' for operand {cur} for which an ellipsis was already found")
            if not (i + 2 < len(lhs) and lhs[i + 1] == "." and lhs[i + 2] == "."):
                raise RuntimeError(f"einsum(): found '.' for operand {cur} that is not part of any ellipsis")
            i += 2
            ops[-1].append(_ELL)
            found_ell = True
        elif c == ",":
            if len(ops) >= n_ops:
                raise RuntimeError("einsum(): fewer operands were provided than specified in the equation")
            ops.append([])
            found_ell = False
        elif _is_letter(c):
            ops[-1].append(c)
        else:
            raise RuntimeError(f"einsum(): invalid subscript given at index {i} in the equation string, subscripts "
                               "must be in [a-zA-Z]")
        i += 1
    if len(ops) != n_ops:
        raise RuntimeError("einsum(): more operands were provided than specified in the equation")
    for k, (labels, nd) in enumerate(zip(ops, ndims)):
        nl = sum(1 for l in labels if l != _ELL)
        if _ELL in labels:
            if nl > nd:
                raise RuntimeError(f"einsum(): the number of subscripts in the equation ({nl}) is more than the "
                                   f"number of dimensions ({nd}) for operand {k}")
        elif nl != nd:
            raise RuntimeError(f"einsum(): the number of subscripts in the equation ({nl}) does not match the number "
                               f"of dimensions ({nd}) for operand {k} and no ellipsis was given")
    if arrow < 0:
        return ops, None
    rhs = equation[arrow + 2:]
    seen_in = {l for labels in ops for l in labels}
    out: list = []
    found_ell = False
    i = 0
    while i < len(rhs):
        c = rhs[i]
        if c == " ":
            pass
        elif c == ".":
            if found_ell:
                raise RuntimeError("einsum(): found '.' for output but an ellipsis (...) was already found")
            if not (i + 2 < len(rhs) and rhs[i + 1] == "." and rhs[i + 2] == "."):
                raise RuntimeError("einsum(): found '.' for output that is not part of any ellipsis (...)")
            i += 2
            out.append(_ELL)
            found_ell = True
        elif _is_letter(c):
            if c in out:
                raise RuntimeError(f"einsum(): output subscript {c} appears more than once in the output")
            if c not in seen_in:
                raise RuntimeError(f"einsum(): output subscript {c} does not appear in the equation for any input "
                                   "operand")
            out.append(c)
        else:
            raise RuntimeError(f"einsum(): invalid subscript given at index {arrow + 2 + i} in the equation string, "
                               "subscripts must be in [a-zA-Z]")
        i += 1
    return ops, out


def einsum_plan(equation: str, shapes: tuple) -> tuple[str, tuple, bool]:
    """(normalized explicit equation, output shape, whether some label is summed within one operand only).

    Raises RuntimeError with PyTorch's messages for bad equations and sizes that do not broadcast.
    """
    ops, out = _parse_einsum(equation, tuple(len(s) for s in shapes))
    sizes: dict = {}
    ell_shape: tuple = ()
    for k, (labels, shape) in enumerate(zip(ops, shapes)):
        n_ell = len(shape) - sum(1 for l in labels if l != _ELL)
        dim = 0
        first: dict = {}
        for l in labels:
            if l == _ELL:
                ell = tuple(shape[dim:dim + n_ell])
                dim += n_ell
                width = max(len(ell), len(ell_shape))
                a = (1,) * (width - len(ell_shape)) + ell_shape
                b = (1,) * (width - len(ell)) + ell
                merged = []
                for j, (x, y) in enumerate(zip(a, b)):
                    if x != y and x != 1 and y != 1:
                        raise RuntimeError(f"einsum(): dimension {j} covered by ellipsis in operand {k}has size {y} "
                                           f"which does not broadcast with previously seen ellipsis with size {x} "
                                           "for the respective dimension")
                    merged.append(y if x == 1 else x)
                ell_shape = tuple(merged)
                continue
            s = shape[dim]
            if l in first:
                if s != first[l]:
                    raise RuntimeError(f"einsum(): subscript {l} is repeated for operand {k} but the sizes don't "
                                       f"match, {s} != {first[l]}")
            else:
                first[l] = s
                prev = sizes.get(l)
                if prev is not None and s != prev and s != 1 and prev != 1:
                    raise RuntimeError(f"einsum(): subscript {l} has size {s} for operand {k} which does not "
                                       f"broadcast with previously seen size {prev}")
                sizes[l] = s if prev is None or prev == 1 else prev
            dim += 1
    has_ell = any(_ELL in labels for labels in ops)
    if out is None:
        counts: dict = {}
        for labels in ops:
            for l in labels:
                if l != _ELL:
                    counts[l] = counts.get(l, 0) + 1
        out = ([_ELL] if has_ell else []) + sorted(l for l, c in counts.items() if c == 1)
    elif not has_ell and _ELL in out:
        out = [l for l in out if l != _ELL]
    shape = []
    for l in out:
        shape.extend(ell_shape if l == _ELL else (sizes[l],))
    # a label (or the ellipsis) that is summed and appears in one operand only is a sum, which PyTorch
    # computes with sum(): integers and bool come back as int64
    single_sum = (has_ell and _ELL not in out and len(ell_shape) > 0) or any(
        l not in out and sum(1 for labels in ops if l in labels) == 1 for l in sizes)
    norm = ",".join("".join(labels) for labels in ops) + "->" + "".join(out)
    return norm, tuple(shape), single_sum


def _contracts(equation: str) -> bool:
    """Whether a label appears in two or more operands and not in the output (a product-sum, bmm)."""
    lhs, rhs = equation.split("->")
    ops = lhs.split(",")
    return any(c not in rhs and sum(1 for o in ops if c in o) >= 2 for c in set(lhs) if _is_letter(c))


def _meta_einsum(srcs, params):
    equation = params[0]
    if not srcs:
        raise ValueError("einsum(): must specify the equation string and at least one operand, or at least one "
                         "operand and its subscripts list")
    d = srcs[0].dtype
    for s in srcs[1:]:
        if s.dtype is not d:
            raise RuntimeError(f"expected scalar type {torch_name(d)} but found {torch_name(s.dtype)}")
    norm, shape, single_sum = einsum_plan(equation, tuple(s.shape for s in srcs))
    if d.category != 2:
        if single_sum:
            d = _dt.int64
        elif d is _dt.bool and len(srcs) > 1 and _contracts(norm):
            raise NotImplementedError("\"bmm\" not implemented for 'Bool'")
    return shape, d


@functools.lru_cache(maxsize=1024)
def _np_equation(equation: str, shapes: tuple) -> tuple[str, int]:
    """numpy's spelling of an equation, and how many leading result dims to sum afterwards.

    numpy (without ``optimize``) refuses an ellipsis that is summed away, so it is kept in front of the
    output and summed after.
    """
    equation = einsum_plan(equation, shapes)[0]
    lhs, rhs = equation.split("->")
    if _ELL in lhs and _ELL not in rhs:
        ops = lhs.split(",")
        n = max(len(s) - len(o.replace(_ELL, "")) for o, s in zip(ops, shapes) if _ELL in o)
        return lhs + "->..." + rhs, n
    return equation, 0


def _einsum_kernel(*ops, equation, dtype):
    cd = _COMPUTE.get(dtype, dtype)
    xs = [o.astype(cd, copy=False) for o in ops]
    eq, n_sum = _np_equation(equation, tuple(o.shape for o in ops))
    r = np.einsum(eq, *xs, optimize=len(xs) > 1)
    if n_sum:
        r = np.sum(r, axis=tuple(range(n_sum)), dtype=cd)
    r = np.asarray(r)
    if r.dtype != dtype:
        return r.astype(dtype)
    if any(np.may_share_memory(r, o) for o in ops):           # 'ij->ji', 'ii->i' give views of the input
        return r.copy()
    return r


EINSUM = register(OpDef("einsum", _meta_einsum, _einsum_kernel, ("equation",), kind="linalg"))


# --- frontends -----------------------------------------------------------------------------------------

def _tensors(name: str, *xs):
    for k, x in enumerate(xs):
        if not isinstance(x, Tensor):
            raise op_error(TypeError, name, f"{name}(): argument {k + 1} must be Tensor, not {type(x).__name__}")


def _no_out(name: str, out):
    if out is not None:
        raise op_error(TypeError, name, "out= is not supported; use the functional form")


def _check(name: str, fn, *args):
    try:
        return fn(*args)
    except _ERRORS as e:
        raise op_error(type(e), name, str(e)) from None


def matmul(input: Tensor, other: Tensor, *, out=None) -> Tensor:
    """Matrix product with PyTorch's rules: 1-d operands are vectors, leading dims broadcast as batches.

        >>> import torchlite as tl
        >>> tl.matmul(tl.ones(5, 2, 3), tl.ones(3, 4)).shape
        torchlite.Size([5, 2, 4])
    """
    _no_out("matmul", out)
    _tensors("matmul", input, other)
    return apply(MATMUL, (input, other))


def mm(input: Tensor, mat2: Tensor, *, out=None) -> Tensor:
    """Product of two matrices (2-d only; use ``matmul`` for broadcasting)."""
    _no_out("mm", out)
    _tensors("mm", input, mat2)
    if input.ndim != 2:
        raise op_error(RuntimeError, "mm", "self must be a matrix")
    if mat2.ndim != 2:
        raise op_error(RuntimeError, "mm", "mat2 must be a matrix")
    _check("mm", _check_mm, input.shape, mat2.shape, input.dtype, mat2.dtype)
    return apply(MATMUL, (input, mat2))


def bmm(input: Tensor, mat2: Tensor, *, out=None) -> Tensor:
    """Batched product of 3-d tensors with equal batch sizes (no broadcasting)."""
    _no_out("bmm", out)
    _tensors("bmm", input, mat2)
    if input.ndim != 3:
        raise op_error(RuntimeError, "bmm", "batch1 must be a 3D tensor")
    if mat2.ndim != 3:
        raise op_error(RuntimeError, "bmm", "batch2 must be a 3D tensor")
    sa, sb = input.shape, mat2.shape
    if sb[0] != sa[0] or sb[1] != sa[2]:
        raise op_error(RuntimeError, "bmm", f"Expected size for first two dimensions of batch2 tensor to be: "
                       f"[{sa[0]}, {sa[2]}] but got: [{sb[0]}, {sb[1]}]."
                       + (_inner_hint(sa, sb, sa[2], sb[1]) if sb[1] != sa[2] else ""))
    _check("bmm", _check_bmm, (sa[0],), sa, sb, input.dtype, mat2.dtype, (sa, sb))
    return apply(MATMUL, (input, mat2))


def mv(input: Tensor, vec: Tensor, *, out=None) -> Tensor:
    """Matrix-vector product."""
    _no_out("mv", out)
    _tensors("mv", input, vec)
    if input.ndim != 2 or vec.ndim != 1:
        raise op_error(RuntimeError, "mv", f"vector + matrix @ vector expected, got 1, {input.ndim}, {vec.ndim}")
    _check("mv", _check_mv, input.shape, vec.shape, input.dtype, vec.dtype)
    return apply(MATMUL, (input, vec))


def dot(input: Tensor, tensor: Tensor, *, out=None) -> Tensor:
    """Inner product of two 1-d tensors (a 0-d tensor)."""
    _no_out("dot", out)
    _tensors("dot", input, tensor)
    if input.ndim != 1 or tensor.ndim != 1:
        raise op_error(RuntimeError, "dot", f"1D tensors expected, but got {input.ndim}D and {tensor.ndim}D tensors")
    _check("dot", _check_dot, input.shape, tensor.shape, input.dtype, tensor.dtype)
    return apply(MATMUL, (input, tensor))


vdot = dot


def inner(input: Tensor, other: Tensor) -> Tensor:
    """Sum of products over the last dims (a dot product for 1-d; a scalar operand multiplies)."""
    _tensors("inner", input, other)
    if input.ndim == 0 or other.ndim == 0:
        from .pointwise import mul
        return mul(input, other)
    if input.shape[-1] != other.shape[-1]:
        raise op_error(RuntimeError, "inner", f"inner() the last dimension must match on both input tensors but got "
                       f"shapes {list(input.shape)} and {list(other.shape)}")
    return tensordot(input, other, dims=([-1], [-1]))


def outer(input: Tensor, vec2: Tensor) -> Tensor:
    """Outer product of two 1-d tensors: ``input[:, None] * vec2`` (with type promotion, as PyTorch)."""
    _tensors("outer", input, vec2)
    for name, v in (("self", input), ("vec2", vec2)):
        if v.ndim != 1:
            raise op_error(RuntimeError, "outer", f"outer: Expected 1-D argument {name}, but got {v.ndim}-D")
    from .movement import reshape
    from .pointwise import mul
    return mul(reshape(input, (input.shape[0], 1)), vec2)


ger = outer


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``input @ weight.T + bias`` (``torch.nn.functional.linear``): one ``linear`` node.

        >>> import torchlite as tl
        >>> tl.ops.linalg.linear(tl.ones(2, 3), tl.ones(4, 3), tl.ones(4)).tolist()[0]
        [4.0, 4.0, 4.0, 4.0]
    """
    if bias is None:
        _tensors("linear", input, weight)
        return apply(LINEAR, (input, weight))
    _tensors("linear", input, weight, bias)
    return apply(LINEAR, (input, weight, bias))


def einsum(*args) -> Tensor:
    """Einstein summation: ``einsum("bij,bjk->bik", a, b)``; operands may also come as one list, or in the
    sublist form ``einsum(a, [0, 1], b, [1, 2], [0, 2])``.

        >>> import torchlite as tl
        >>> tl.einsum("ii", tl.eye(3)).item()
        3.0
    """
    if not args or (isinstance(args[0], str) and len(args) == 1):
        raise op_error(ValueError, "einsum", "einsum(): must specify the equation string and at least one operand, "
                       "or at least one operand and its subscripts list")
    if isinstance(args[0], str):
        equation, ops = args[0], args[1:]
        if len(ops) == 1 and isinstance(ops[0], (list, tuple)):
            ops = tuple(ops[0])
    else:
        equation, ops = _sublist_equation(args)
    _tensors("einsum", *ops)
    if not ops:
        raise op_error(ValueError, "einsum", "einsum(): must specify the equation string and at least one operand, "
                       "or at least one operand and its subscripts list")
    norm, _, _ = _check("einsum", einsum_plan, equation, tuple(o.shape for o in ops))
    return apply(EINSUM, tuple(ops), (norm,))


def _sublist_equation(args) -> tuple[str, tuple]:
    """The equation string of ``einsum(op0, sublist0, op1, sublist1, ..., [sublist_out])``."""
    def letters(sub):
        s = []
        for v in sub:
            if v is Ellipsis:
                s.append(_ELL)
            elif isinstance(v, int) and 0 <= v < 52:
                s.append(chr(ord("A") + v) if v < 26 else chr(ord("a") + v - 26))
            else:
                raise op_error(ValueError, "einsum", f"einsum(): expected subscript to be within the range [0, 52), "
                               f"but got {v}")
        return "".join(s)
    ops, subs = list(args[0::2]), list(args[1::2])
    out = None
    if len(ops) > len(subs):         # an odd count: the last item is the output sublist
        out = ops.pop()
    eq = ",".join(letters(s) for s in subs)
    if out is not None:
        eq += "->" + letters(out)
    return eq, tuple(ops)


def addmm(input: Tensor, mat1: Tensor, mat2: Tensor, *, beta=1, alpha=1) -> Tensor:
    """``beta * input + alpha * (mat1 @ mat2)``; with ``beta=0`` ``input`` is ignored (NaN included)."""
    prod = mm(mat1, mat2)
    return _scale_add(input, prod, beta, alpha, "addmm")


def baddbmm(input: Tensor, batch1: Tensor, batch2: Tensor, *, beta=1, alpha=1) -> Tensor:
    """``beta * input + alpha * (batch1 @ batch2)`` over a batch of matrices."""
    prod = bmm(batch1, batch2)
    return _scale_add(input, prod, beta, alpha, "baddbmm")


def _scale_add(input, prod, beta, alpha, name):
    from .movement import expand
    from .pointwise import add, mul
    _tensors(name, input)
    if input.dtype is not prod.dtype:
        raise op_error(RuntimeError, name, f"self and mat2 must have the same dtype, but got "
                       f"{torch_name(input.dtype)} and {torch_name(prod.dtype)}")
    base = expand(input, prod.shape)
    if alpha != 1:
        prod = mul(prod, alpha)
    if beta == 0:
        r = prod
    else:
        r = add(base if beta == 1 else mul(base, beta), prod)
    return r.to(input.dtype)


def tensordot(a: Tensor, b: Tensor, dims=2, out=None) -> Tensor:
    """Sum of products over ``dims`` (an int: the last dims of ``a`` with the first of ``b``; or two lists)."""
    from .movement import permute, reshape
    _no_out("tensordot", out)
    _tensors("tensordot", a, b)
    if isinstance(dims, Tensor):
        dims = dims.tolist()
    if isinstance(dims, int):
        if dims < 0:
            raise op_error(RuntimeError, "tensordot", f"tensordot expects dims >= 0, but got dims={dims}")
        if dims > a.ndim or dims > b.ndim:
            raise op_error(RuntimeError, "tensordot", f"tensordot expects dims < ndim_a or ndim_b, but got "
                           f"dims={dims}")
        da, db = list(range(a.ndim - dims, a.ndim)), list(range(dims))
    else:
        da, db = dims
        da = [da] if isinstance(da, int) else list(da)
        db = [db] if isinstance(db, int) else list(db)
    if len(da) != len(db):
        raise op_error(RuntimeError, "tensordot", "both dimension lists should have same length")
    if a.dtype is not b.dtype:
        raise op_error(RuntimeError, "tensordot", "both inputs should have same dtype")
    try:
        from ._meta import wrap_dim
        da = [wrap_dim(d, a.ndim) for d in da]
        db = [wrap_dim(d, b.ndim) for d in db]
    except (IndexError, TypeError) as e:
        raise op_error(type(e), "tensordot", str(e)) from None
    for x, y in zip(da, db):
        if a.shape[x] != b.shape[y]:
            raise op_error(RuntimeError, "tensordot", f"contracted dimensions need to match, but first has size "
                           f"{a.shape[x]} in dim {x} and second has size {b.shape[y]} in dim {y}")
    fa = [d for d in range(a.ndim) if d not in da]
    fb = [d for d in range(b.ndim) if d not in db]
    k = numel(tuple(a.shape[d] for d in da))
    ma = numel(tuple(a.shape[d] for d in fa))
    nb = numel(tuple(b.shape[d] for d in fb))
    a2 = reshape(permute(a, fa + da), (ma, k))
    b2 = reshape(permute(b, db + fb), (k, nb))
    r = apply(MATMUL, (a2, b2))
    return reshape(r, tuple(a.shape[d] for d in fa) + tuple(b.shape[d] for d in fb))


__all__ = ["matmul", "mm", "bmm", "mv", "dot", "vdot", "inner", "outer", "ger", "einsum", "addmm", "baddbmm",
           "tensordot"]
METHODS = ["matmul", "mm", "bmm", "mv", "dot", "vdot", "inner", "outer", "ger", "addmm", "baddbmm"]
INPLACE = ["addmm", "baddbmm"]


# --- VJP rules (notes/VJP.md): ``rule(g, out, *srcs, *params) -> one gradient per source`` -------------------
# Gradients of broadcast batch dims are returned broadcast-shaped; the engine sums them back. A matrix
# operand whose rows fold (a stack times one matrix) gets its gradient as one product over the folded rows.

from . import creation as _cr                                 # noqa: E402 (used by the rules only)


def _rows(t: Tensor) -> Tensor:
    """``t`` as a matrix of its rows: (prod(leading dims), last dim)."""
    return t.reshape((numel(tuple(t.shape[:-1])), t.shape[-1]))


def _vjp_matmul(g, out, a, b):
    na, nb = a.ndim, b.ndim
    if na == 1 and nb == 1:                                  # dot: g is 0-d
        return g * b, g * a
    if nb == 1:                                              # (..., n, k) @ (k,) -> (..., n)
        return g.unsqueeze(-1) * b, matmul(_rows(a).mT, g.reshape(-1))
    if na == 1:                                              # (k,) @ (..., k, m) -> (..., m)
        g2 = g.unsqueeze(-2)
        return matmul(g2, b.mT).squeeze(-2), matmul(a.unsqueeze(-1), g2)
    if nb == 2:                                              # (..., n, k) @ (k, m): fold the rows of a
        return matmul(g, b.mT), matmul(_rows(a).mT, _rows(g))
    return matmul(g, b.mT), matmul(a.mT, g)


def _vjp_linear(g, out, x, w, b=None):
    gb = None if b is None else g
    if w.ndim == 1:                                          # x @ w: a dot product or a matrix-vector product
        if x.ndim == 1:
            return g * w, g * x, gb
        return g.unsqueeze(-1) * w, matmul(_rows(x).mT, g.reshape(-1)), gb
    gx = matmul(g, w)
    gw = matmul(_rows(g.reshape(tuple(x.shape[:-1]) + (w.shape[0],))).mT, _rows(x))
    return gx, gw, gb


def _fresh_letters(used: set):
    for c in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ":
        if c not in used:
            yield c
    raise NotImplementedError("einsum backward: a repeated subscript needs a free letter, and all 52 are used")


def _split_labels(term: str) -> list:
    """``"i...j"`` as ``["i", "...", "j"]``."""
    labels, i = [], 0
    while i < len(term):
        if term.startswith(_ELL, i):
            labels.append(_ELL)
            i += 3
        else:
            labels.append(term[i])
            i += 1
    return labels


def _einsum_operand_grad(g: Tensor, k: int, ops: tuple, terms: list, out_term: list) -> Tensor:
    """The gradient for operand ``k``: an einsum of ``g`` with the other operands producing operand ``k``'s
    subscripts. A label repeated in operand ``k`` (a diagonal) is renamed at its later occurrences and tied
    back with an identity matrix; a label (or the ellipsis) that only operand ``k`` has, summed away, comes
    from a ones tensor; ellipsis dims operand ``k`` broadcast from size 1 or lacks are summed back."""
    x, labels = ops[k], terms[k]
    used = {c for t in terms for c in t if c != _ELL}
    fresh = _fresh_letters(used)
    n_ell = x.ndim - sum(1 for c in labels if c != _ELL)
    sizes, dims, pos = {}, {}, 0
    for c in labels:
        if c == _ELL:
            dims[c] = tuple(x.shape[pos:pos + n_ell])
            pos += n_ell
        else:
            sizes.setdefault(c, x.shape[pos])
            pos += 1
    target, extra_ops, extra_terms = [], [], []
    for c in labels:
        if c != _ELL and c in target:                        # a diagonal: x[.., i, .., i, ..] -> eye(i, j)
            j = next(fresh)
            target.append(j)
            extra_ops.append(_cr.eye(sizes[c], dtype=g.dtype))
            extra_terms.append([c, j])
        else:
            target.append(c)
    have = set(out_term) | {c for i, t in enumerate(terms) if i != k for c in t} | {c for t in extra_terms for c in t}
    for c in target:
        if c not in have:                                    # summed within operand k only: broadcast back
            shape = dims[_ELL] if c == _ELL else (sizes[c],)
            extra_ops.append(_cr.ones(shape, dtype=g.dtype))
            extra_terms.append([c])
    srcs = [g] + [o for i, o in enumerate(ops) if i != k] + extra_ops
    subs = [out_term] + [t for i, t in enumerate(terms) if i != k] + extra_terms
    eq = ",".join("".join(t) for t in subs) + "->" + "".join(target)
    r = einsum(eq, *srcs)
    if _ELL in labels and r.ndim > x.ndim:                   # the ellipsis of other operands had more dims
        p = labels.index(_ELL)
        r = r.sum(tuple(range(p, p + r.ndim - x.ndim)))
    if tuple(r.shape) != tuple(x.shape):                     # size-1 dims broadcast one way or the other
        r = r.expand(broadcast_shapes(tuple(r.shape), tuple(x.shape)))
    return r


def _vjp_einsum(g, out, *args):
    *ops, equation = args
    lhs, rhs = equation.split("->")
    terms = [_split_labels(t) for t in lhs.split(",")]
    out_term = _split_labels(rhs)
    return tuple(_einsum_operand_grad(g, k, tuple(ops), terms, out_term) for k in range(len(ops)))


VJPS = {MATMUL: _vjp_matmul, LINEAR: _vjp_linear, EINSUM: _vjp_einsum}
for _op, _rule in VJPS.items():
    _op.vjp = _rule
