"""graph -> kernels. Installed as ``torchlite.compiler``.

- ``passes``: the graph passes every backend runs after capture (DCE, CSE, user passes);
- ``decompose``, ``fusion``, ``lowering``/``index_rules``/``indexing``, ``codegen``, ``pipeline``: the Triton
  path (primitives, kernel groups under a ``FusionPolicy``, Triton source, the launch program);
- ``explain(fn, *args)``: every stage's graph, the fusion decisions and the kernels, as a report.
"""
from .passes import GRAPH_PASSES, register_graph_pass, run_graph_passes
from .fusion import FusionPolicy
from .explain import explain, Report
from .pipeline import register_prims_pass

__all__ = ["GRAPH_PASSES", "register_graph_pass", "run_graph_passes", "FusionPolicy", "explain", "Report",
           "register_prims_pass"]
