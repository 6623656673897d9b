"""The graph fallback of a layer-level export: a layer without a numpy twin becomes a ``layers_np.GraphLayer``.

An ``ExpressionLayer`` (its function is Python code) or a user's own layer class (its
``get_output_for`` may compute anything) has no twin class a model file could name. At export
(:func:`layers_theano.to_numpy` with ``graph_fallback=True``, used by ``twins gate`` and
``twins export``) such a layer is converted at graph level instead: its symbolic output
``layer.get_output_for(inputs, deterministic=True)`` over fresh inputs of the types the network
gives it (as Lasagne's ``get_output`` would build it), with the layer's parameters as further
inputs, goes through :func:`layers_theano.graph_export.convert` (the default mode's rewrites,
allow-listed ops only) and the twin is a ``layers_np.GraphLayer`` holding that graph spec, the
layer's parameters and the Theano layer's output shape. An op outside the allow-list is refused
here, in one line naming the op, the node and the layer.

Layers whose class has a registered twin (built-in or ``register_twin``) keep their twin.
"""
from __future__ import annotations

from typing import Any, Dict, List

from layers_np.traversal import incoming_layers

from .backend import clone_replace, config
from .base import InputLayer, get_all_params, get_output
from .graph_export import Converted, GraphConversionError, convert
from .twins import twin_of

__all__ = ["needs_graph", "layer_graph", "graph_twin", "layer_label"]


def layer_label(layer: Any) -> str:
    """``Class 'name'`` of a layer, for messages."""
    name = getattr(layer, "name", None)
    return type(layer).__name__ + (f" {name!r}" if name else "")


def needs_graph(layer: Any) -> bool:
    """Whether ``layer`` is exported through the graph fallback: an ExpressionLayer (a Python
    function, which a model file cannot hold) or a class with no registered twin."""
    from .special import ExpressionLayer

    if isinstance(layer, InputLayer):
        return False
    if isinstance(layer, ExpressionLayer):
        return True
    return not isinstance(twin_of(type(layer)), type)


def _short_name(layer: Any, param: Any) -> str:
    """Lasagne names a parameter ``<layer name>.<name>``: the part add_param was given."""
    full = str(param.name or "param")
    prefix = f"{layer.name}." if getattr(layer, "name", None) else None
    return full[len(prefix):] if prefix and full.startswith(prefix) else full


def layer_graph(layer: Any) -> Converted:
    """The converted graph of ``layer`` alone: inputs are its incoming values, then its parameters.

    Raises
    ------
    GraphConversionError
        An op the numpy runtime has no kernel for (naming the op, the node and the layer).
    """
    label = layer_label(layer)
    incomings = incoming_layers(layer)
    floats = sorted({str(p.dtype) for p in get_all_params(layer) if str(p.dtype).startswith("float")})
    params = list(layer.get_params())
    # floatX is the network's dtype while the graph is built, as when it was trained (constants
    # created in get_output_for follow floatX); the incoming values keep the network's types
    with config.change_flags(floatX=floats[-1] if len(floats) == 1 else config.floatX):
        incoming_vars = get_output(incomings, deterministic=True) if incomings else []
        fresh = [v.type(name=f"in{k}") for k, v in enumerate(incoming_vars)]
        out = get_output(layer, dict(zip(incomings, fresh)), deterministic=True)
        symbols = [p.type(name=_short_name(layer, p)) for p in params]
        if params:
            out = clone_replace(out, replace=dict(zip(params, symbols)))
    shapes: List[Any] = list(getattr(layer, "input_shapes", None) or [layer.input_shape])
    shapes = [tuple(s) for s in shapes[:len(fresh)]] + [tuple(p.get_value().shape) for p in params]
    try:
        return convert((fresh + symbols, [out]), input_shapes=shapes)
    except GraphConversionError as exc:
        raise GraphConversionError(f"{label} has no numpy twin and its graph cannot be converted: {exc}") from None


def graph_twin(layer: Any, incomings: List[Any]) -> Any:
    """The ``layers_np.GraphLayer`` of ``layer`` over the twin layers ``incomings``."""
    import layers_np

    converted = layer_graph(layer)
    params = list(layer.get_params())
    tags = getattr(layer, "params", {})
    parameters: List[Dict[str, Any]] = [
        {"name": _short_name(layer, p), "value": p.get_value(),
         "tags": sorted(tags.get(p, ("trainable", "regularizable")) if hasattr(tags, "get") else ())}
        for p in params]
    cls = type(getattr(layer, "lasagne_layer", layer))  # a real Lasagne layer: its own class
    return layers_np.GraphLayer(incomings, converted.spec["graph"], tuple(layer.output_shape),
                                values=converted.arrays, parameters=parameters,
                                source=f"{cls.__module__}.{cls.__qualname__}"[:200], name=layer.name)
