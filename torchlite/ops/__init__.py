"""The op registry and every op family.

``torchlite.ops.<name>`` is the op-level callable of each registered op (what captured graphs call);
the PyTorch-signature functions (``torchlite.add``, ``torchlite.sum``, ...) live in the family modules
and are re-exported by ``torchlite``.
"""
from __future__ import annotations

from .registry import REGISTRY, OpDef, register, defop
from . import (pointwise, unary, activations, creation, movement, reduction, statistics, cumulative, normalizing,
               indexing, dim_indexing, joining, rearranging, diagonals, sorting, linalg, random)

FAMILIES = [pointwise, unary, activations, creation, movement, reduction, statistics, cumulative, normalizing,
            indexing, dim_indexing, joining, rearranging, diagonals, sorting, linalg, random]

globals().update(REGISTRY)
