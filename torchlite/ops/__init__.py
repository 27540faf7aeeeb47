"""The op registry and every op family.

``torchlite.ops.<name>`` is the op-level callable of each registered op (what captured graphs call);
the PyTorch-signature functions (``torchlite.add``, ``torchlite.sum``, ...) live in the family modules
and are re-exported by ``torchlite``.
"""
from __future__ import annotations

from .registry import REGISTRY, OpDef, register, defop
from . import pointwise, creation, movement

FAMILIES = [pointwise, creation, movement]
for _fam_name in ("reduction", "indexing", "linalg", "random"):
    try:
        FAMILIES.append(__import__(f"{__name__}.{_fam_name}", fromlist=["_"]))
    except ModuleNotFoundError as _e:
        if _e.name != f"{__name__}.{_fam_name}":
            raise

globals().update(REGISTRY)
