"""Lasagne's special-purpose layers (``lasagne/layers/special.py``) on PyTensor.

NonlinearityLayer, BiasLayer, ScaleLayer, ExpressionLayer, ParametricRectifierLayer,
RandomizedRectifierLayer, prelu and rrelu. ExpressionLayer takes an extra optional
``numpy_function`` so that ``to_numpy`` can build its twin.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, Optional, Tuple, Union

from layers_np import init
from layers_np.shapes.special import (broadcast_pattern, check_rrelu_bounds, expression_output_shape,
                                      resolve_shared_axes, shared_param_shape)

from . import nonlinearities
from .backend import T, config, function, nnet
from .base import Layer

__all__ = ["NonlinearityLayer", "BiasLayer", "ScaleLayer", "ExpressionLayer",
           "ParametricRectifierLayer", "RandomizedRectifierLayer", "prelu", "rrelu"]


class NonlinearityLayer(Layer):
    def __init__(self, incoming: Any, nonlinearity: Optional[Callable] = nonlinearities.rectify, **kwargs: Any) -> None:
        super().__init__(incoming, **kwargs)
        self.nonlinearity = nonlinearities.identity if nonlinearity is None else nonlinearity

    def get_output_for(self, input, **kwargs):
        return self.nonlinearity(input)


class BiasLayer(Layer):
    def __init__(self, incoming: Any, b: Any = init.Constant(0), shared_axes: Union[str, int, tuple] = "auto",
                 **kwargs: Any) -> None:
        super().__init__(incoming, **kwargs)
        self.shared_axes = resolve_shared_axes("BiasLayer", shared_axes, len(self.input_shape))
        if b is None:
            self.b = None
        else:
            shape = shared_param_shape("BiasLayer", "the bias", self.input_shape, self.shared_axes)
            self.b = self.add_param(b, shape, "b", regularizable=False)

    def get_output_for(self, input, **kwargs):
        if self.b is None:
            return input
        return input + self.b.dimshuffle(*broadcast_pattern(input.ndim, self.shared_axes))


class ScaleLayer(Layer):
    def __init__(self, incoming: Any, scales: Any = init.Constant(1), shared_axes: Union[str, int, tuple] = "auto",
                 **kwargs: Any) -> None:
        super().__init__(incoming, **kwargs)
        self.shared_axes = resolve_shared_axes("ScaleLayer", shared_axes, len(self.input_shape))
        shape = shared_param_shape("ScaleLayer", "the scales", self.input_shape, self.shared_axes)
        self.scales = self.add_param(scales, shape, "scales", regularizable=False)

    def get_output_for(self, input, **kwargs):
        return input * self.scales.dimshuffle(*broadcast_pattern(input.ndim, self.shared_axes))


_AUTO_SHAPES: Dict[Tuple[Any, ...], Tuple[Callable, Tuple[Any, ...]]] = {}


class ExpressionLayer(Layer):
    """Lasagne's ExpressionLayer, plus ``numpy_function``: the numpy twin of ``function``.

    ``to_numpy`` builds the twin with ``numpy_function`` (or, when it is None, with the
    twin registered for ``function`` through ``register_nonlinearity``, which covers the
    built-in nonlinearities) and refuses the layer otherwise. A callable ``output_shape``
    must be plain Python on shape tuples: the twin uses it as it is.
    """

    def __init__(self, incoming: Any, function: Callable, output_shape: Any = None,
                 numpy_function: Optional[Callable] = None, **kwargs: Any) -> None:
        super().__init__(incoming, **kwargs)
        # Keep the callables out of the recorded arguments: to_numpy would try to convert
        # them before asking twin_kwargs (below), which knows how.
        self._expression = {"function": function, "output_shape": output_shape, "numpy_function": numpy_function}
        for key in ("function", "numpy_function") + (("output_shape",) if callable(output_shape) else ()):
            self._init_args.pop(key, None)
        if output_shape is None:
            self._output_shape: Any = None
        elif isinstance(output_shape, str) and output_shape == "auto":
            self._output_shape = "auto"
        elif callable(output_shape):
            self.get_output_shape_for = output_shape  # type: ignore[assignment]
        else:
            self._output_shape = tuple(output_shape)
        self.function = function
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

    def get_output_shape_for(self, input_shape):
        return expression_output_shape("ExpressionLayer", self._output_shape, input_shape, self._auto_shape)

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


class ParametricRectifierLayer(Layer):
    def __init__(self, incoming: Any, alpha: Any = init.Constant(0.25), shared_axes: Union[str, int, tuple] = "auto",
                 **kwargs: Any) -> None:
        super().__init__(incoming, **kwargs)
        self.shared_axes = resolve_shared_axes("ParametricRectifierLayer", shared_axes, len(self.input_shape), allow_all=True)
        shape = shared_param_shape("ParametricRectifierLayer", "alpha", self.input_shape, self.shared_axes)
        self.alpha = self.add_param(alpha, shape, name="alpha", regularizable=False)

    def get_output_for(self, input, **kwargs):
        alpha = self.alpha.dimshuffle(broadcast_pattern(input.ndim, self.shared_axes))
        return _relu_param(input, alpha)


class RandomizedRectifierLayer(Layer):
    def __init__(self, incoming: Any, lower: float = 0.3, upper: float = 0.8, shared_axes: Union[str, int, tuple] = "auto",
                 **kwargs: Any) -> None:
        super().__init__(incoming, **kwargs)
        self._srng = T.random.utils.RandomStream(init.get_rng().randint(1, 2147462579))
        self.lower = lower
        self.upper = upper
        if not isinstance(lower > upper, T.TensorVariable):
            check_rrelu_bounds(lower, upper)
        self.shared_axes = resolve_shared_axes("RandomizedRectifierLayer", shared_axes, len(self.input_shape), allow_all=True)

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
    if getattr(layer, "nonlinearity", None) is not None:
        layer.nonlinearity = nonlinearities.identity
    return ParametricRectifierLayer(layer, **kwargs)


def rrelu(layer: Layer, **kwargs: Any) -> RandomizedRectifierLayer:
    if getattr(layer, "nonlinearity", None) is not None:
        layer.nonlinearity = nonlinearities.identity
    return RandomizedRectifierLayer(layer, **kwargs)
