"""Lasagne's special-purpose layers (``lasagne/layers/special.py``) on PyTensor.

NonlinearityLayer, BiasLayer, ScaleLayer, ExpressionLayer, ParametricRectifierLayer,
RandomizedRectifierLayer, prelu and rrelu. ExpressionLayer takes an extra optional
``numpy_function`` so that ``to_numpy`` can build its twin.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, Optional, Tuple

import numpy as np

from layers_np.shapes.special import broadcast_pattern

from layers_np.specs import special as spec

from .backend import T, config, function, nnet, pytensor
from .base import Layer, MergeLayer

__all__ = ["NonlinearityLayer", "BiasLayer", "ScaleLayer", "ExpressionLayer",
           "ParametricRectifierLayer", "RandomizedRectifierLayer", "prelu", "rrelu", "standardize",
           "InverseLayer"]


class NonlinearityLayer(spec.NonlinearityLayer, Layer):
    def get_output_for(self, input, **kwargs):
        return self.nonlinearity(input)


class BiasLayer(spec.BiasLayer, Layer):
    def get_output_for(self, input, **kwargs):
        if self.b is None:
            return input
        return input + self.b.dimshuffle(*broadcast_pattern(input.ndim, self.shared_axes))


class ScaleLayer(spec.ScaleLayer, Layer):
    def get_output_for(self, input, **kwargs):
        return input * self.scales.dimshuffle(*broadcast_pattern(input.ndim, self.shared_axes))


_AUTO_SHAPES: Dict[Tuple[Any, ...], Tuple[Callable, Tuple[Any, ...]]] = {}


class ExpressionLayer(spec.ExpressionLayer, Layer):
    """Lasagne's ExpressionLayer, plus ``numpy_function``: the numpy twin of ``function``.

    ``to_numpy`` builds the twin with ``numpy_function`` (or, when it is None, with the
    twin registered for ``function`` through ``register_nonlinearity``, which covers the
    built-in nonlinearities) and refuses the layer otherwise. A callable ``output_shape``
    must be plain Python on shape tuples: the twin uses it as it is.
    """

    extra_arguments = {"numpy_function": "the numpy twin of function, used by to_numpy"}

    def __init__(self, incoming: Any, function: Callable, output_shape: Any = None,
                 numpy_function: Optional[Callable] = None, **kwargs: Any) -> None:
        super().__init__(incoming, function, output_shape, **kwargs)
        # Keep the callables out of the recorded arguments: to_numpy would try to convert
        # them before asking twin_kwargs (below), which knows how.
        self._expression = {"function": function, "output_shape": output_shape, "numpy_function": numpy_function}
        for key in ("function", "numpy_function") + (("output_shape",) if callable(output_shape) else ()):
            self._init_args.pop(key, None)
        self.numpy_function = numpy_function

    def _auto_shape(self, input_shape):
        # Lasagne evaluates the expression on zeros every time; the result only depends
        # on the input shape, so it is cached.
        key = (id(self.function), tuple(input_shape))
        if key not in _AUTO_SHAPES:
            X = T.alloc(0, *[0 if s is None else s for s in input_shape])
            out = function([], self.function(X).shape)()
            # the function is kept in the value so that its id cannot be reused
            _AUTO_SHAPES[key] = (self.function, tuple(int(s) if s else None for s in out))
        return _AUTO_SHAPES[key][1]

    def get_output_for(self, input, **kwargs):
        return self.function(input)

    def twin_kwargs(self, kwargs: Dict[str, Any], convert: Callable[[Any], Any]) -> Dict[str, Any]:
        """Constructor arguments of the numpy twin (called by ``to_numpy``)."""
        expr = self._expression
        if expr["numpy_function"] is not None:
            fn = expr["numpy_function"]
        else:
            try:
                fn = convert(expr["function"])
            except TypeError:
                label = f"ExpressionLayer {self.name!r}" if self.name else "ExpressionLayer"
                raise TypeError(
                    f"to_numpy: {label} has no numpy_function; construct it with "
                    "ExpressionLayer(incoming, function, numpy_function=<numpy equivalent of function>) "
                    "or register the pair with layers_theano.convert.register_nonlinearity(function, numpy_fn)"
                ) from None
        kwargs = {k: v for k, v in kwargs.items() if k not in ("function", "numpy_function", "output_shape")}
        output_shape = expr["output_shape"]
        kwargs["function"] = fn
        kwargs["output_shape"] = output_shape if callable(output_shape) else convert(output_shape)
        return kwargs


def _relu_param(input, alpha):
    return nnet.relu(input, alpha)


class ParametricRectifierLayer(spec.ParametricRectifierLayer, Layer):
    def get_output_for(self, input, **kwargs):
        alpha = self.alpha.dimshuffle(broadcast_pattern(input.ndim, self.shared_axes))
        return _relu_param(input, alpha)


class RandomizedRectifierLayer(spec.RandomizedRectifierLayer, Layer):
    def get_output_for(self, input, deterministic=False, **kwargs):
        if deterministic or self.upper == self.lower:
            return nnet.relu(input, (self.upper + self.lower) / 2.0)
        shape = list(self.input_shape)
        if any(s is None for s in shape):
            shape = list(input.shape)
        for ax in self.shared_axes:
            shape[ax] = 1
        rnd = self._srng.uniform(self.lower, self.upper, size=tuple(shape)).astype(config.floatX)
        return nnet.relu(input, rnd)


def prelu(layer: Layer, **kwargs: Any) -> ParametricRectifierLayer:
    return ParametricRectifierLayer(spec.with_identity(layer), **kwargs)


def rrelu(layer: Layer, **kwargs: Any) -> RandomizedRectifierLayer:
    return RandomizedRectifierLayer(spec.with_identity(layer), **kwargs)


# Lasagne's floatX(1.) / scale
standardize = spec.standardize_helper(BiasLayer, ScaleLayer, lambda: np.asarray(1.0, dtype=config.floatX))


class InverseLayer(spec.InverseLayer, MergeLayer):
    def get_output_for(self, inputs, **kwargs):
        input, layer_out, layer_in = inputs
        return pytensor.grad(None, wrt=layer_in, known_grads={layer_out: input})
