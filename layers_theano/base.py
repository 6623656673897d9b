"""Theano-side layer base classes and helpers, Lasagne's ``base.py`` and ``helper.py``.

Parameters are shared variables; ``get_output`` builds a symbolic expression with
inference semantics (``deterministic=True``) by default.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Any, Dict, List, Mapping, Optional, Sequence, Set, Tuple, Union

import numpy as np

from layers_np._record import RecordsArguments
from layers_np._graph import get_all_layers
from layers_np.init import as_array

from .backend import T, config, shared

Shape = Tuple[Optional[int], ...]


def floatX(arr: Any) -> np.ndarray:
    return np.asarray(arr, dtype=config.floatX)


class Layer(RecordsArguments):
    """Base class of the Theano layers with one input (Lasagne's ``Layer``)."""

    def __init__(self, incoming: Union["Layer", Shape], name: Optional[str] = None) -> None:
        if isinstance(incoming, tuple):
            self.input_shape: Shape = incoming
            self.input_layer: Optional[Layer] = None
        else:
            self.input_shape = incoming.output_shape
            self.input_layer = incoming
        self.name = name
        self.params: "OrderedDict[Any, Set[str]]" = OrderedDict()
        self.get_output_kwargs: List[str] = []
        if any(d is not None and d <= 0 for d in self.input_shape):
            raise ValueError(
                f"Cannot create {type(self).__name__} with a non-positive input_shape dimension. "
                f"input_shape={self.input_shape}, self.name={self.name}"
            )

    @property
    def output_shape(self) -> Shape:
        return self.get_output_shape_for(self.input_shape)

    def get_output_shape_for(self, input_shape: Shape) -> Shape:
        return input_shape

    def get_output_for(self, input: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    def add_param(self, spec: Any, shape: Sequence[int], name: Optional[str] = None, **tags: bool) -> Any:
        shape = tuple(int(s) for s in shape)
        pname = f"{self.name}.{name}" if (name is not None and self.name is not None) else name
        if hasattr(spec, "get_value") and hasattr(spec, "type"):
            param = spec  # a shared variable given by the user is used as is
            if tuple(param.get_value().shape) != shape:
                raise ValueError(f"{type(self).__name__} parameter {name!r}: expected shape {shape}, got {param.get_value().shape}")
        else:
            value = as_array(spec, shape, f"{type(self).__name__} parameter {name!r}")
            param = shared(floatX(value), name=pname)
        tags.setdefault("trainable", True)
        tags.setdefault("regularizable", True)
        self.params[param] = {t for t, on in tags.items() if on}
        return param

    def get_params(self, unwrap_shared: bool = True, **tags: bool) -> List[Any]:
        result = list(self.params.keys())
        only = {t for t, on in tags.items() if on}
        exclude = {t for t, on in tags.items() if not on}
        if only:
            result = [p for p in result if not (only - self.params[p])]
        if exclude:
            result = [p for p in result if not (self.params[p] & exclude)]
        return result


class MergeLayer(Layer):
    def __init__(self, incomings: Sequence[Union[Layer, Shape]], name: Optional[str] = None) -> None:
        self.input_shapes: List[Shape] = [i if isinstance(i, tuple) else i.output_shape for i in incomings]
        self.input_layers: List[Optional[Layer]] = [None if isinstance(i, tuple) else i for i in incomings]
        self.name = name
        self.params = OrderedDict()
        self.get_output_kwargs = []

    @property
    def output_shape(self) -> Shape:
        return self.get_output_shape_for(self.input_shapes)

    def get_output_shape_for(self, input_shapes):  # type: ignore[override]
        raise NotImplementedError

    def get_output_for(self, inputs, **kwargs):  # type: ignore[override]
        raise NotImplementedError


class InputLayer(Layer):
    """Symbolic network input. ``input_var`` defaults to a tensor of floatX and the shape's rank."""

    def __init__(self, shape: Sequence[Optional[int]], input_var: Any = None, name: Optional[str] = None, **kwargs: Any) -> None:
        self.shape: Shape = tuple(shape)
        if any(d is not None and d <= 0 for d in self.shape):
            raise ValueError(f"Cannot create InputLayer with a non-positive shape dimension. shape={self.shape}")
        if input_var is None:
            input_var = T.tensor(dtype=config.floatX, shape=(None,) * len(self.shape), name=name and f"{name}.input")
        elif input_var.ndim != len(self.shape):
            raise ValueError(f"InputLayer: shape {self.shape} has {len(self.shape)} dimensions, input_var has {input_var.ndim}")
        self.input_var = input_var
        self.input_layer = None
        self.input_shape = self.shape
        self.name = name
        self.params = OrderedDict()
        self.get_output_kwargs = []

    @property
    def output_shape(self) -> Shape:
        return self.shape


def get_output(layer_or_layers: Any, inputs: Any = None, deterministic: bool = True, **kwargs: Any) -> Any:
    """Symbolic output(s) of ``layer_or_layers``, Lasagne's ``get_output``.

    ``inputs`` is None (use each InputLayer's ``input_var``), one expression for the
    single InputLayer, or a mapping from layer to expression.
    """
    many = isinstance(layer_or_layers, (list, tuple))
    targets = list(layer_or_layers) if many else [layer_or_layers]
    given: Dict[int, Any] = {}
    if isinstance(inputs, Mapping):
        given = {id(l): T.as_tensor_variable(v) for l, v in inputs.items()}
    all_layers = get_all_layers(targets, treat_as_input=list(inputs) if isinstance(inputs, Mapping) else None)
    if inputs is not None and not isinstance(inputs, Mapping):
        input_layers = [l for l in all_layers if isinstance(l, InputLayer)]
        if len(input_layers) != 1:
            raise ValueError(f"get_output: {len(input_layers)} InputLayers, pass a dict {{layer: expression}}")
        given[id(input_layers[0])] = T.as_tensor_variable(inputs)
    kwargs["deterministic"] = deterministic
    outputs: Dict[int, Any] = {}
    for l in all_layers:
        if id(l) in given:
            outputs[id(l)] = given[id(l)]
        elif isinstance(l, InputLayer):
            outputs[id(l)] = l.input_var
        elif isinstance(l, MergeLayer):
            outputs[id(l)] = l.get_output_for([outputs[id(i)] for i in l.input_layers], **kwargs)
        else:
            extra = getattr(l, "extra_input_layers", None)
            kw = dict(kwargs)
            if extra:
                kw["extra_inputs"] = [None if e is None else outputs[id(e)] for e in extra]
            outputs[id(l)] = l.get_output_for(outputs[id(l.input_layer)], **kw)
    result = [outputs[id(t)] for t in targets]
    return result if many else result[0]


def get_all_params(layer: Any, unwrap_shared: bool = True, **tags: bool) -> List[Any]:
    params: List[Any] = []
    seen: Set[int] = set()
    for l in get_all_layers(layer):
        for p in l.get_params(**tags):
            if id(p) not in seen:
                seen.add(id(p))
                params.append(p)
    return params


def get_all_param_values(layer: Any, **tags: bool) -> List[np.ndarray]:
    return [p.get_value() for p in get_all_params(layer, **tags)]


def set_all_param_values(layer: Any, values: Sequence[Any], **tags: bool) -> None:
    params = get_all_params(layer, **tags)
    if len(params) != len(values):
        raise ValueError(f"set_all_param_values: network has {len(params)} parameters, got {len(values)} values")
    for p, v in zip(params, values):
        if tuple(p.get_value().shape) != tuple(np.shape(v)):
            raise ValueError(f"set_all_param_values: parameter {p.name!r} has shape {p.get_value().shape}, value has shape {np.shape(v)}")
    for p, v in zip(params, values):
        p.set_value(np.asarray(v, dtype=p.dtype))


def count_params(layer: Any, **tags: bool) -> int:
    return int(sum(np.prod(p.get_value().shape) for p in get_all_params(layer, **tags)))
