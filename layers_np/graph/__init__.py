"""Graph models: any Theano/PyTensor inference function as a numpy-only model.

``twins convert MODULE:FACTORY -o model.npz`` (or ``twins gate --graph``) writes the file;
:func:`load_graph` runs it with numpy alone. See :mod:`layers_np.graph.model` for the spec,
:mod:`layers_np.graph.ops` and :mod:`layers_np.graph.scalar` for the op allow-lists.
"""
from ..io import ModelFileError, SpecError
from .model import GraphModel, dumps_graph, load_graph, loads_graph, save_graph, validate_graph_spec
from .ops import OPS, op, op_names
from .scalar import SCALAR_OPS, GraphSpecError, scalar_op_names

__all__ = ["GraphModel", "load_graph", "loads_graph", "save_graph", "dumps_graph", "validate_graph_spec", "OPS",
           "op", "op_names", "SCALAR_OPS", "scalar_op_names", "GraphSpecError", "ModelFileError", "SpecError"]
