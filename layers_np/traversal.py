"""Graph traversal shared by both sides (pure Python: layers only need ``input_layer(s)``)."""
from __future__ import annotations

from typing import Any, Iterable, List, Optional, Set


def incoming_layers(layer: Any) -> List[Any]:
    """The layers whose outputs ``layer`` consumes, in Lasagne's order."""
    if hasattr(layer, "input_layers"):
        layers = [l for l in layer.input_layers if l is not None]
    elif getattr(layer, "input_layer", None) is not None:
        layers = [layer.input_layer]
    else:
        layers = []
    # Recurrent layers keep extra inputs (mask, initial states) in ``extra_input_layers``.
    layers += [l for l in getattr(layer, "extra_input_layers", None) or () if l is not None]
    return layers


def get_all_layers(layer: Any, treat_as_input: Optional[Iterable[Any]] = None) -> List[Any]:
    """All layers below ``layer`` (one or a list) in topological order, inputs first.

    The same depth-first traversal as ``lasagne.layers.get_all_layers``, so parameter lists
    come out in Lasagne's order and a ``get_all_param_values`` list loads unchanged.
    """
    queue = list(layer) if isinstance(layer, (list, tuple)) else [layer]
    queue = queue[::-1]
    seen: Set[int] = set()
    done: Set[int] = set()
    result: List[Any] = []
    stop = {id(l) for l in (treat_as_input or [])}
    while queue:
        current = queue[-1]
        if id(current) in done:
            queue.pop()
            continue
        if id(current) in seen:
            queue.pop()
            done.add(id(current))
            result.append(current)
            continue
        seen.add(id(current))
        if id(current) not in stop:
            children = [c for c in incoming_layers(current) if id(c) not in seen]
            queue.extend(children[::-1])
    return result


def get_output_shape(layer_or_layers: Any, input_shapes: Any = None) -> Any:
    """Lasagne master's ``get_output_shape``: the output shape(s) of one layer or a list.

    ``input_shapes`` is None (the declared shapes), one shape for the network's only
    InputLayer, or a dict ``{layer: shape}`` (those layers are then treated as inputs);
    shapes propagate through each layer's ``get_output_shape_for``.

    Raises
    ------
    ValueError
        A single shape given for a network with several InputLayers.
    """
    from .specs.base import InputLayer, MergeLayer

    many = isinstance(layer_or_layers, (list, tuple))
    targets = list(layer_or_layers) if many else [layer_or_layers]
    if input_shapes is None or (isinstance(input_shapes, dict) and not input_shapes):
        result = [t.output_shape for t in targets]
        return result if many else result[0]
    given = dict(input_shapes) if isinstance(input_shapes, dict) else None
    layers = get_all_layers(targets, treat_as_input=list(given) if given else None)
    shapes = {id(l): l.shape for l in layers
              if isinstance(l, InputLayer) and (given is None or all(l is not g for g in given))}
    if given is not None:
        shapes.update({id(l): s for l, s in given.items()})
    else:
        if len(shapes) > 1:
            raise ValueError("get_output_shape() was called with a single input shape on a network with multiple "
                             "input layers. Please call it with a dictionary of input shapes instead.")
        shapes = {k: input_shapes for k in shapes}
    for l in layers:
        if id(l) not in shapes:
            if isinstance(l, MergeLayer):
                shapes[id(l)] = l.get_output_shape_for([shapes[id(i)] for i in l.input_layers])
            else:
                shapes[id(l)] = l.get_output_shape_for(shapes[id(l.input_layer)])
    result = [shapes[id(t)] for t in targets]
    return result if many else result[0]
