"""Theano-side layer base classes and helpers, Lasagne's ``base.py`` and ``helper.py``.

Parameters are shared variables; ``get_output`` builds a symbolic expression with
inference semantics (``deterministic=True``) by default.
"""
from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from layers_np.traversal import get_all_layers
from layers_np.specs import base as spec
from layers_np.specs.base import TwinError

from . import nonlinearities
from .backend import T, config, shared

Shape = Tuple[Optional[int], ...]


def floatX(arr: Any) -> np.ndarray:
    return np.asarray(arr, dtype=config.floatX)


class Layer(spec.Layer):
    """Base class of the Theano layers with one input (Lasagne's ``Layer``).

    The Theano side of a spec (:mod:`layers_np.specs`): parameters are shared variables
    and function defaults the Theano nonlinearities.
    """

    side_defaults = {name: getattr(nonlinearities, name) for name in ("rectify", "tanh", "sigmoid", "identity")}
    side_name = "Theano"

    def is_symbolic(self, value: Any) -> bool:
        return isinstance(value, T.Variable)

    def random_stream(self, seed: int) -> Any:
        return T.random.utils.RandomStream(seed)

    def new_param(self, spec: Any, shape: Tuple[int, ...], name: Optional[str], full_name: Optional[str]) -> Any:
        if hasattr(spec, "get_value") and hasattr(spec, "type"):
            # a shared variable given by the user is used as is
            if tuple(spec.get_value().shape) != shape:
                raise TwinError(f"{self._label()} parameter {name!r}: expected shape {shape}, "
                                f"got {spec.get_value().shape}")
            return spec
        return shared(floatX(self.param_array(spec, shape, name)), name=full_name)


class MergeLayer(spec.MergeLayer, Layer):
    """Lasagne's ``MergeLayer`` on the Theano side."""


class InputLayer(spec.InputLayer, Layer):
    """Symbolic network input: ``input_var`` defaults to a floatX tensor of the shape's rank
    whose axes declared as 1 are broadcastable (as Lasagne's)."""

    def new_input_var(self, input_var: Any) -> Any:
        if input_var is None:
            static = tuple(1 if d == 1 else None for d in self.shape)
            return T.tensor(dtype=config.floatX, shape=static, name=self.name and f"{self.name}.input")
        if input_var.ndim != len(self.shape):
            raise TwinError(f"{self._label()}: shape {self.shape} has {len(self.shape)} dimensions, "
                            f"input_var has {input_var.ndim}")
        return input_var


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


get_all_params = spec.get_all_params


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
