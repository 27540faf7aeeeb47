"""Checks shared by the templates' code hooks (matmul ``Epilogue``, attention ``ScoreFn``, MLP ``Activation``).

A hook is Triton source lines the compiler splices into a template, plus the parameters they need. Before
splicing, ``check_hook`` makes sure the lines parse, the parameters are identifiers with Triton types that do
not shadow the template's own names, the lines assign what the template reads next, and they clobber nothing
the template uses after them. Every failure is a ValueError naming the hook and the offending values.

    >>> check_hook("Activation", "MLP", {"bias": "*fp32"}, {}, ["a = h + 1.0"], frozenset({"h"}), assigns="a")
    ['a = h + 1.0']
"""
from __future__ import annotations

import ast
import keyword
import re
import textwrap

TRITON_TYPE = re.compile(r"^\*?k?(fp16|bf16|fp32|fp64|i1|i8|i16|i32|i64|u8|u16|u32|u64|fp8e4nv|fp8e5)$")


class Assigned(ast.NodeVisitor):
    """The names a block of statements binds (assignments, loop targets, walrus, imports, defs)."""

    def __init__(self) -> None:
        self.names: set[str] = set()

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, (ast.Store, ast.Del)):
            self.names.add(node.id)

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self.names.add(node.name)


def check_hook(hook: str, template: str, params: dict, constexprs: dict, lines, reserved: frozenset,
               assigns: str | None = None) -> list[str]:
    """Validate one hook (see the module docstring) and return its lines, dedented, one per source line."""
    names = list(params) + list(constexprs)
    for name in names:
        if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
            raise ValueError(f"{hook}: parameter name {name!r} is not a Python identifier")
        if name in reserved:
            raise ValueError(f"{hook}: parameter {name!r} shadows a name the {template} template defines; "
                             f"rename it (reserved: {sorted(reserved)})")
    if len(set(names)) != len(names):
        raise ValueError(f"{hook}: parameter names repeat: {names}")
    for name, ty in params.items():
        if not isinstance(ty, str) or not TRITON_TYPE.match(ty):
            raise ValueError(f"{hook}: parameter {name!r} has type {ty!r}, not a Triton type like "
                             f"'*fp16', 'fp32' or 'i32'")
    lines = textwrap.dedent("\n".join(lines)).splitlines()
    try:
        tree = ast.parse("\n".join(lines))
    except SyntaxError as e:
        raise ValueError(f"{hook}: lines are not valid Python: {e.msg} in line {e.lineno}: "
                         f"{e.text!r}") from None
    if assigns is not None:
        assigned = Assigned()
        assigned.visit(tree)
        if assigns not in assigned.names:
            raise ValueError(f"{hook}: lines never assign {assigns}, which the {template} template reads next: "
                             f"{lines}")
        clobbered = sorted((assigned.names & reserved) - {assigns})
        if clobbered:
            raise ValueError(f"{hook}: lines assign {clobbered}, which the {template} template defines and uses "
                             f"after them; use other names for temporaries")
    return lines
