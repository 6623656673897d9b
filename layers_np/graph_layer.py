"""``GraphLayer``: a layer computed by a converted graph (the fallback for layers without a twin).

An ``ExpressionLayer`` or a user's own Lasagne layer has no numpy twin class: its computation is
whatever its ``get_output_for`` builds. At export (``layers_theano.to_numpy(net,
graph_fallback=True)``, which ``twins gate`` and ``twins export`` use) such a layer's symbolic
output over fresh inputs is converted by ``layers_theano.graph_export`` into a graph spec
(allow-listed ops, their attributes, value names; constants as arrays), and this layer holds
that spec and runs it with the graph runtime (:mod:`layers_np.graph`). The spec is data: a
model file stores it among the layer's arguments, and loading rebuilds every kernel from the
allow-list, never code.

The graph's inputs are the layer's incoming values, in order, then the layer's parameters in
Lasagne's order (so ``get_all_params`` / ``set_all_param_values`` see the same parameters,
names, shapes and tags as the Theano layer, and replacing a value is picked up on the next
call). The declared output shape is the Theano layer's ``output_shape`` at export time.
"""
from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Sequence

import numpy as np

from .base import MergeLayer, TwinError

__all__ = ["GraphLayer"]


def _shape(value: Any, label: str) -> tuple:
    try:
        shape = tuple(value)
    except TypeError:
        raise TwinError(f"{label}: output_shape must be a tuple of sizes (None for free axes), got {value!r}") from None
    if not all(d is None or (isinstance(d, (int, np.integer)) and not isinstance(d, bool) and d >= 0) for d in shape):
        raise TwinError(f"{label}: output_shape must be a tuple of sizes (None for free axes), got {value!r}")
    return tuple(None if d is None else int(d) for d in shape)


class GraphLayer(MergeLayer):
    """A layer whose forward pass is a converted PyTensor graph, run by :mod:`layers_np.graph`.

    Parameters
    ----------
    incomings : list of Layer or tuple
        The incoming layers (the graph's first inputs, in this order).
    graph : dict
        The graph description (``layers_theano.graph_export``'s ``spec["graph"]``): inputs (the
        incoming values, then one per parameter), stored values, nodes and one output.
    output_shape : tuple
        The declared output shape (the Theano layer's, None for free axes).
    values : dict of str to array, optional
        The arrays the graph's stored values (constants, non-parameter shared values) name.
    parameters : list of dict, optional
        ``{"name": short name, "value": array, "tags": [tag, ...]}`` per parameter, in order.
    source : str
        What the graph was converted from (the Theano layer's class), for messages and reports.
    name : str, optional

    Notes
    -----
    ``get_output_shape_for`` returns the recorded ``output_shape`` whatever shapes it is given:
    the graph is not re-derived for other input shapes.
    """

    # arrays under these arguments are stored in a model file even when a parameter has the
    # same shape (elsewhere such an array is taken for the parameter's initial value)
    stored_array_args = ("values",)

    def __init__(self, incomings: Sequence[Any], graph: Mapping[str, Any], output_shape: Sequence[Optional[int]],
                 values: Optional[Mapping[str, Any]] = None, parameters: Optional[Sequence[Mapping[str, Any]]] = None,
                 source: str = "", name: Optional[str] = None) -> None:
        super().__init__(incomings, name=name)
        label = self._label()
        if not isinstance(source, str):
            raise TwinError(f"{label}: source must be a string, got {type(source).__name__}")
        self.source = source
        self._output_shape = _shape(output_shape, label)
        if not isinstance(graph, Mapping) or not isinstance(graph.get("inputs"), list):
            raise TwinError(f"{label}: graph must be a graph description with a list of 'inputs'")
        parameters = list(parameters or [])
        for k, entry in enumerate(parameters):
            if not isinstance(entry, Mapping) or not isinstance(entry.get("name"), str) or "value" not in entry:
                raise TwinError(f"{label}: parameter {k} must be {{'name', 'value', 'tags'}}")
            tags = entry.get("tags", ["trainable", "regularizable"])
            if not isinstance(tags, (list, tuple)) or not all(isinstance(t, str) for t in tags):
                raise TwinError(f"{label}: parameter {entry['name']!r}: tags must be a list of strings")
            value = np.asarray(entry["value"])
            if value.dtype.kind != "f":
                raise TwinError(f"{label}: parameter {entry['name']!r} must be a float array, got {value.dtype}")
            param = self.add_param(value, value.shape, entry["name"])
            self.params[param] = set(tags)
            param.tags = self.params[param]
        n_in, n_params = len(self.input_shapes), len(parameters)
        inputs = graph["inputs"]
        if len(inputs) != n_in + n_params:
            raise TwinError(f"{label}: the graph has {len(inputs)} inputs; the layer gives {n_in} incoming values "
                            f"and {n_params} parameters")
        if not all(isinstance(e, Mapping) and isinstance(e.get("name"), str) for e in inputs):
            raise TwinError(f"{label}: every graph input needs a name")
        if not isinstance(graph.get("outputs"), list) or len(graph["outputs"]) != 1:
            raise TwinError(f"{label}: the graph must have exactly one output")
        arrays = {str(k): np.asarray(v) for k, v in (values or {}).items()}
        shapes = [list(s) for s in self.input_shapes] + [list(p.shape) for p in self.get_params()]
        dtypes = [e.get("dtype") for e in inputs]
        floats = sorted({str(d) for d in dtypes if isinstance(d, str) and d.startswith("float")})
        spec = {"graph": dict(graph), "dtype": floats[-1] if floats else "float64",
                "inputs": [{"name": e["name"], "shape": s, "dtype": d} for e, s, d in zip(inputs, shapes, dtypes)]}
        from .graph.model import GraphModel  # the graph runtime is imported only when a graph layer exists

        # a bad graph (a hostile file) fails here with one line naming the node (SpecError)
        self.graph_model = GraphModel(spec, arrays, label)
        self.graph = graph
        self.values = arrays

    def get_output_shape_for(self, input_shapes: List[Any]) -> Any:  # type: ignore[override]
        return self._output_shape

    def get_output_for(self, inputs: List[np.ndarray], **kwargs: Any) -> np.ndarray:  # type: ignore[override]
        model = self.graph_model
        # the parameters' current values: a replaced value is used on the next call
        arrays = list(inputs) + [p.value for p in self.get_params()]
        return model.run(arrays)[model.output_names[0]]

    def node_names(self) -> Dict[str, str]:
        """``{node name: op}`` of the graph, in execution order."""
        return dict(zip(self.graph_model.node_names, self.graph_model.node_ops))
