"""The pointwise family as the tests see it: ``pointwise``, ``unary`` and ``activations`` merged into one
namespace (every public name and op declaration, and the union of their ``__all__``/``METHODS``/``INPLACE``)."""
from __future__ import annotations

from torchlite.ops import activations, pointwise, unary

_MODULES = (pointwise, unary, activations)

for _m in _MODULES:
    globals().update({k: v for k, v in vars(_m).items() if not k.startswith("__")})
__all__ = [n for m in _MODULES for n in m.__all__]
METHODS = [n for m in _MODULES for n in m.METHODS]
INPLACE = [n for m in _MODULES for n in m.INPLACE]
del _m
