"""Named tuples returned by ops with several results (``max(x, dim)``, ``sort``, ``topk``, ...), printing
like ``torch.return_types.<name>``.

    >>> import torchlite as tl
    >>> tl.tensor([3.0, 1.0, 2.0]).sort().indices.tolist()
    [1, 2, 0]
"""
from __future__ import annotations

from collections import namedtuple


def _return_type(name: str, fields: tuple[str, ...]):
    cls = namedtuple(name, fields)

    def __repr__(self):
        body = ",\n".join(f"{f}={v!r}" for f, v in zip(fields, self))
        return f"torchlite.return_types.{name}(\n{body})"

    cls.__repr__ = __repr__
    cls.__module__ = __name__
    cls.__qualname__ = name
    return cls


max = _return_type("max", ("values", "indices"))
min = _return_type("min", ("values", "indices"))
aminmax = _return_type("aminmax", ("min", "max"))
sort = _return_type("sort", ("values", "indices"))
topk = _return_type("topk", ("values", "indices"))
