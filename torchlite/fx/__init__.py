"""torchlite.fx: a torch.fx-style graph IR (Graph, Node, GraphModule, Interpreter, Transformer).

>>> import operator; from torchlite.fx import Graph, GraphModule
>>> g = Graph(); x = g.placeholder("x"); _ = g.output(g.call_function(operator.add, (x, 1)))
>>> GraphModule({}, g)(41)
42
"""
from __future__ import annotations

from .graph import Graph, PythonCode
from .graph_module import GraphModule
from .interpreter import Interpreter, Transformer
from .node import Node, map_aggregate, map_arg
from .capture import capture

__all__ = ["Graph", "Node", "GraphModule", "Interpreter", "Transformer", "PythonCode", "map_arg",
           "map_aggregate", "capture"]
