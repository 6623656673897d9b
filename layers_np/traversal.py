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
