"""``to_numpy``: the numpy twin of a Theano network, built through the twins' constructors.

Each Theano layer is rebuilt from the arguments it was constructed with: incoming layers
become their twins, parameters become their current values, Theano nonlinearities become
the numpy function or class of the same name. Nothing here computes: the twin's numerics
are its own.
"""
from __future__ import annotations

from typing import Any, Dict, List, Union

from layers_np.record import RecordsArguments

from .base import Layer, get_all_layers
from .twins import register_nonlinearity, register_twin, twin_of

__all__ = ["to_numpy", "twin_class", "register_twin", "register_nonlinearity", "convert_value", "twin_kwargs"]


def twin_class(layer_or_cls: Any) -> type:
    """The numpy twin class of a Theano-side layer (or nonlinearity class), from :mod:`layers_theano.twins`."""
    cls = layer_or_cls if isinstance(layer_or_cls, type) else type(layer_or_cls)
    twin = twin_of(cls)
    if not isinstance(twin, type):
        raise TypeError(f"to_numpy: no numpy twin for {cls.__name__}; declare one with register_twin()")
    return twin


def convert_value(value: Any, twins: Dict[int, Any]) -> Any:
    """Map one constructor argument to its numpy-side equivalent."""
    if id(value) in twins:
        return twins[id(value)]
    if isinstance(value, Layer):
        raise ValueError(f"to_numpy: layer {value!r} is not below the converted output")
    if hasattr(value, "get_value") and hasattr(value, "type"):
        return value.get_value()
    if isinstance(value, (list, tuple)):
        return type(value)(convert_value(v, twins) for v in value)
    if isinstance(value, RecordsArguments) and type(value).__module__.startswith("layers_theano"):
        cls = twin_class(value)
        return cls(**{k: convert_value(v, twins) for k, v in value._init_args.items()})
    if callable(value) and not isinstance(value, (type, RecordsArguments)) and getattr(value, "__module__", "") != "layers_np.init" and not _is_numpy_side(value):
        twin = twin_of(value)
        if twin is not None:
            return twin
        raise TypeError(
            f"to_numpy: no numpy twin for the function {getattr(value, '__name__', value)!r}; "
            "declare one with layers_theano.convert.register_nonlinearity(theano_fn, numpy_fn)"
        )
    return value


def _is_numpy_side(value: Any) -> bool:
    module = getattr(value, "__module__", "") or getattr(type(value), "__module__", "")
    return module.startswith("layers_np") or module.startswith("numpy")


def twin_kwargs(layer: Layer, twins: Dict[int, Any]) -> Dict[str, Any]:
    """Constructor arguments for the twin of ``layer`` (its recorded arguments, converted)."""
    params = {id(p) for p in layer.params}
    hook = getattr(layer, "twin_kwargs", None)
    kwargs: Dict[str, Any] = {}
    for name, value in layer._init_args.items():
        current = getattr(layer, name, None)
        if current is not None and id(current) in params:
            kwargs[name] = current.get_value()  # the trained value, not the initializer
        elif name == "input_var":
            continue
        else:
            try:
                kwargs[name] = convert_value(value, twins)
            except TypeError:
                if hook is None:
                    raise
                kwargs[name] = value  # the layer's hook converts what the generic rules cannot
    if hook is not None:
        kwargs = hook(kwargs, lambda v: convert_value(v, twins))
    return kwargs


def to_numpy(layer_or_layers: Union[Layer, List[Layer]], graph_fallback: bool = False) -> Any:
    """Return the numpy twin of the network ending in ``layer_or_layers`` with the same weights.

    Parameters
    ----------
    graph_fallback : bool
        With ``True`` (what an export uses), an ``ExpressionLayer`` or a layer whose class has no
        twin becomes a ``layers_np.GraphLayer`` running its converted graph
        (:mod:`layers_theano.graph_fallback`) instead of being refused; an op outside the graph
        runtime's allow-list is still refused (a ValueError naming the op, the node and the layer).
    """
    from layers_np.traversal import incoming_layers

    many = isinstance(layer_or_layers, (list, tuple))
    targets = list(layer_or_layers) if many else [layer_or_layers]
    twins: Dict[int, Any] = {}
    for layer in get_all_layers(targets):
        if graph_fallback:
            from .graph_fallback import graph_twin, needs_graph

            if needs_graph(layer):
                twins[id(layer)] = graph_twin(layer, [twins[id(l)] for l in incoming_layers(layer)])
                continue
        cls = twin_class(layer)
        twins[id(layer)] = cls(**twin_kwargs(layer, twins))
    result = [twins[id(t)] for t in targets]
    return result if many else result[0]
