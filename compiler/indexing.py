"""Index arithmetic for generated kernels: small integer expressions that simplify with range facts.

Movement ops (reshape, permute, slicing, flips, pads, ...) never copy in a fused kernel: each one maps the
index of its output to an index of its input, and a load's address is the composition of those maps. This
module holds the algebra those maps are written in. An ``Expr`` is an affine sum ``c0 + c1*a1 + c2*a2 ...``
over *atoms*: kernel index variables (``Var``, with a known range), ``FloorDiv``/``Mod`` of an expression
by a positive constant, and ``Indirect`` values (an index loaded from memory, with its range). Every
operation returns a simplified, canonical expression, so two addresses are equal exactly when their
expressions compare equal — which is how fusion decides that a consumer reads a producer "at the same
place" and may take its value from registers.

The simplifications are the few that unravel/ravel round trips need (all exact for integers >= 0):
``(c*d*a + r) // d -> c*a + r // d``, ``r // d -> 0`` and ``r % d -> r`` when ``0 <= r < d``,
``(a // s) * s + a % s -> a`` and ``(a // s) % n * s + a % s -> a % (s * n)``.

    >>> x = Var("xindex", 12)
    >>> i0, i1 = x // 4, x % 4                 # unravel over shape (3, 4)
    >>> i0 * 4 + i1                            # ravel again
    xindex
"""
from __future__ import annotations

from typing import Iterable, Union

Int = Union[int, "Expr"]


class Atom:
    """A non-affine building block; subclasses are hashable records."""
    __slots__ = ()

    def bounds(self) -> tuple[int, int]:          # inclusive (lo, hi)
        raise NotImplementedError

    def render(self) -> str:
        raise NotImplementedError

    def __lt__(self, other):                      # canonical order of terms in a sum
        return self.sort_key() < other.sort_key()


class Var(Atom):
    """A kernel index variable with values in ``[0, size)``: ``xindex``, ``rindex``, ``rm``."""
    __slots__ = ("name", "size")

    def __init__(self, name: str, size: int):
        self.name, self.size = name, size

    def bounds(self):
        return (0, max(self.size - 1, 0))

    def render(self):
        return self.name

    def sort_key(self):
        return (0, self.name)

    def __eq__(self, o):
        return type(o) is Var and o.name == self.name and o.size == self.size

    def __hash__(self):
        return hash(("Var", self.name, self.size))

    def __repr__(self):
        return self.name

    # Arithmetic on a bare Var lifts it to an Expr.
    def __add__(self, o): return Expr.of(self) + o
    __radd__ = __add__
    def __sub__(self, o): return Expr.of(self) - o
    def __mul__(self, o): return Expr.of(self) * o
    __rmul__ = __mul__
    def __floordiv__(self, d): return Expr.of(self) // d
    def __mod__(self, d): return Expr.of(self) % d


class Indirect(Atom):
    """An index value loaded from memory (``idx0`` in the kernel), known to lie in ``[lo, hi]``."""
    __slots__ = ("name", "lo", "hi")

    def __init__(self, name: str, lo: int, hi: int):
        self.name, self.lo, self.hi = name, lo, hi

    def bounds(self):
        return (self.lo, self.hi)

    def render(self):
        return self.name

    def sort_key(self):
        return (1, self.name)

    def __eq__(self, o):
        return type(o) is Indirect and o.name == self.name

    def __hash__(self):
        return hash(("Indirect", self.name))

    def __repr__(self):
        return self.name


class FloorDiv(Atom):
    __slots__ = ("expr", "d")

    def __init__(self, expr: "Expr", d: int):
        self.expr, self.d = expr, d

    def bounds(self):
        lo, hi = self.expr.bounds()
        return (lo // self.d, hi // self.d)

    def render(self):
        return f"{self.expr.render(paren=True)} // {self.d}"

    def sort_key(self):
        return (2, self.expr.sort_key(), self.d)

    def __eq__(self, o):
        return type(o) is FloorDiv and o.d == self.d and o.expr == self.expr

    def __hash__(self):
        return hash(("FloorDiv", self.expr, self.d))

    def __repr__(self):
        return self.render()


class Mod(Atom):
    __slots__ = ("expr", "d")

    def __init__(self, expr: "Expr", d: int):
        self.expr, self.d = expr, d

    def bounds(self):
        lo, hi = self.expr.bounds()
        if lo >= 0 and hi < self.d:
            return (lo, hi)
        return (0, self.d - 1)

    def render(self):
        return f"{self.expr.render(paren=True)} % {self.d}"

    def sort_key(self):
        return (3, self.expr.sort_key(), self.d)

    def __eq__(self, o):
        return type(o) is Mod and o.d == self.d and o.expr == self.expr

    def __hash__(self):
        return hash(("Mod", self.expr, self.d))

    def __repr__(self):
        return self.render()


class Expr:
    """``const + sum(coeff * atom)``, canonical (terms sorted, zero coefficients dropped), immutable."""
    __slots__ = ("terms", "const", "_hash")

    def __init__(self, terms: Iterable[tuple[Atom, int]] = (), const: int = 0):
        acc: dict[Atom, int] = {}
        for a, c in terms:
            if c:
                lo, hi = a.bounds()
                if lo == hi:                        # an atom with one possible value is a constant
                    const += c * lo
                    continue
                acc[a] = acc.get(a, 0) + c
        self.terms = tuple(sorted(((a, c) for a, c in acc.items() if c), key=lambda t: t[0].sort_key()))
        self.const = const
        self._hash = None

    @staticmethod
    def of(v: Int | Atom) -> "Expr":
        if isinstance(v, Expr):
            return v
        if isinstance(v, Atom):
            return Expr(((v, 1),))
        if isinstance(v, int):
            return Expr((), v)
        raise TypeError(f"index expressions hold ints, Vars and Exprs, not {type(v).__name__}")

    # -- facts ----------------------------------------------------------------------------------------
    def is_const(self) -> bool:
        return not self.terms

    def bounds(self) -> tuple[int, int]:
        lo = hi = self.const
        for a, c in self.terms:
            alo, ahi = a.bounds()
            if c > 0:
                lo, hi = lo + c * alo, hi + c * ahi
            else:
                lo, hi = lo + c * ahi, hi + c * alo
        return lo, hi

    def atoms(self) -> set:
        """Every Var and Indirect this expression depends on."""
        out, todo = set(), [self]
        while todo:
            e = todo.pop()
            for a, _ in e.terms:
                if isinstance(a, (FloorDiv, Mod)):
                    todo.append(a.expr)
                else:
                    out.add(a)
        return out

    def depends_on(self, name: str) -> bool:
        return any(a.name == name for a in self.atoms())

    # -- arithmetic -----------------------------------------------------------------------------------
    def __add__(self, o: Int) -> "Expr":
        o = Expr.of(o)
        return _recombine(Expr(self.terms + o.terms, self.const + o.const))

    __radd__ = __add__

    def __neg__(self) -> "Expr":
        return Expr(((a, -c) for a, c in self.terms), -self.const)

    def __sub__(self, o: Int) -> "Expr":
        return self + (-Expr.of(o))

    def __rsub__(self, o: Int) -> "Expr":
        return Expr.of(o) - self

    def __mul__(self, k: int) -> "Expr":
        if not isinstance(k, int):
            raise TypeError("index expressions multiply by constant ints only")
        return Expr(((a, c * k) for a, c in self.terms), self.const * k)

    __rmul__ = __mul__

    def __floordiv__(self, d: int) -> "Expr":
        if d <= 0:
            raise ValueError(f"floor division of an index by {d}")
        if d == 1:
            return self
        q, r = divmod(self.const, d)
        whole = [(a, c // d) for a, c in self.terms if c % d == 0]
        rest = Expr([(a, c) for a, c in self.terms if c % d != 0], r)
        lo, hi = rest.bounds()
        if lo >= 0 and hi < d:
            return Expr(whole, q)
        if len(rest.terms) == 1 and rest.const == 0 and rest.terms[0][1] == 1 \
                and isinstance(rest.terms[0][0], FloorDiv):
            inner = rest.terms[0][0]                    # (a // s) // d == a // (s * d)
            return Expr(whole, q) + (inner.expr // (inner.d * d))
        split = _split_small(rest, d)
        if split is not None:                       # (g*a + s) // d == a // (d / g) when 0 <= s < g, g | d
            big, g, _ = split
            return Expr(whole, q) + big // (d // g)
        if lo >= 0:
            return Expr(whole + [(FloorDiv(rest, d), 1)], q)
        return Expr([(FloorDiv(self, d), 1)])

    def __mod__(self, d: int) -> "Expr":
        if d <= 0:
            raise ValueError(f"modulo of an index by {d}")
        if d == 1:
            return Expr()
        rest = Expr([(a, c) for a, c in self.terms if c % d != 0], self.const % d)
        lo, hi = rest.bounds()
        if lo >= 0 and hi < d:
            return rest
        split = _split_small(rest, d)
        if split is not None:                       # (g*a + s) % d == (a % (d / g)) * g + s
            big, g, small = split
            return (big % (d // g)) * g + small
        if len(rest.terms) == 1 and rest.const == 0 and rest.terms[0][1] == 1 \
                and isinstance(rest.terms[0][0], Mod) and rest.terms[0][0].d % d == 0:
            return rest.terms[0][0].expr % d                    # (a % (k*d)) % d == a % d
        return Expr([(Mod(rest if lo >= 0 else self, d), 1)])

    # -- comparison and printing ----------------------------------------------------------------------
    def __eq__(self, o) -> bool:
        if isinstance(o, int):
            return not self.terms and self.const == o
        return isinstance(o, Expr) and o.const == self.const and o.terms == self.terms

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = hash((self.terms, self.const))
        return self._hash

    def sort_key(self):
        return (tuple((a.sort_key(), c) for a, c in self.terms), self.const)

    def render(self, paren: bool = False) -> str:
        """Triton/Python source: ``xindex * 4 + rindex + 2``."""
        parts = []
        for a, c in self.terms:
            s = a.render()
            if isinstance(a, (FloorDiv, Mod)) and c != 1:
                s = f"({s})"
            if c == 1:
                parts.append(("+", s))
            elif c == -1:
                parts.append(("-", s))
            else:
                parts.append(("+" if c > 0 else "-", f"{s} * {abs(c)}"))
        if self.const or not parts:
            parts.append(("+" if self.const >= 0 else "-", str(abs(self.const))))
        text = ("-" if parts[0][0] == "-" else "") + parts[0][1]
        for sign, s in parts[1:]:
            text += f" {sign} {s}"
        compound = len(parts) > 1 or (self.terms and (isinstance(self.terms[0][0], (FloorDiv, Mod))
                                                      or self.terms[0][1] != 1))
        return f"({text})" if paren and compound else text

    def __repr__(self) -> str:
        return self.render()


def _split_small(e: Expr, d: int):
    """``(big / g, g, small)`` with ``e == g * (big / g) + small``, ``0 <= small < g`` and ``g`` dividing
    ``d`` (g > 1), trying the terms with the largest coefficients as ``big``; None if there is no such split."""
    from math import gcd
    terms = sorted(e.terms, key=lambda t: -abs(t[1]))
    for p in range(1, len(terms)):
        g = 0
        for _, c in terms[:p]:
            g = gcd(g, c)
        if g <= 1 or d % g:
            continue
        small = Expr(terms[p:], e.const)
        lo, hi = small.bounds()
        if lo >= 0 and hi < g:
            return Expr(((a, c // g) for a, c in terms[:p])), g, small
    return None


def _recombine(e: Expr) -> Expr:
    """Fold ``(a // s) * s + a % s`` into ``a`` and ``(a // s) % n * s + a % s`` into ``a % (s * n)``."""
    changed = True
    while changed:
        changed = False
        terms = dict(e.terms)
        for low, k in list(terms.items()):
            if not isinstance(low, Mod) or low not in terms:
                continue
            a, s = low.expr, low.d
            hi_div = FloorDiv(a, s)                 # (a // s) * s + a % s -> a
            if terms.get(hi_div) == k * s:
                del terms[low], terms[hi_div]
                e = Expr(list(terms.items()), e.const) + a * k
                changed = True
                break
            for atom, c in terms.items():           # ((a // s) % n) * s + a % s -> a % (s * n)
                if isinstance(atom, Mod) and c == k * s and atom.expr == Expr.of(hi_div):
                    n = atom.d
                    del terms[low], terms[atom]
                    e = Expr(list(terms.items()) + [(Mod(a, s * n), k)], e.const)
                    changed = True
                    break
            if changed:
                break
    return e


def as_expr(v: Int | Atom) -> Expr:
    return Expr.of(v)


def contiguous_strides(shape: tuple[int, ...]) -> tuple[int, ...]:
    strides, acc = [], 1
    for s in reversed(shape):
        strides.append(acc)
        acc *= s
    return tuple(reversed(strides))


def ravel(index: tuple[Expr, ...], shape: tuple[int, ...]) -> Expr:
    """The flat offset of ``index`` in a contiguous buffer of ``shape``."""
    out = Expr()
    for i, st, n in zip(index, contiguous_strides(shape), shape):
        if n != 1:
            out = out + Expr.of(i) * st
    return out


def unravel(flat: Expr | Var, shape: tuple[int, ...]) -> tuple[Expr, ...]:
    """The multi-index of flat offset ``flat`` in ``shape`` (size-1 dims index 0)."""
    flat = Expr.of(flat)
    if 0 in shape:                          # no element: every load and store is masked off, any index will do
        return tuple(Expr() for _ in shape)    # (and a zero stride must not divide)
    out = []
    for k, (st, n) in enumerate(zip(contiguous_strides(shape), shape)):
        if n == 1:
            out.append(Expr())
        elif k == 0 or all(m == 1 for m in shape[:k]):
            out.append(flat // st)
        else:
            out.append((flat // st) % n)
    return tuple(out)
