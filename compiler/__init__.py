"""graph -> kernels. Installed as ``torchlite.compiler``.

So far this holds the graph passes every backend runs after capture (``passes``); fusion, scheduling
and Triton codegen arrive with the compiler issue.
"""
from .passes import GRAPH_PASSES, register_graph_pass, run_graph_passes

__all__ = ["GRAPH_PASSES", "register_graph_pass", "run_graph_passes"]
