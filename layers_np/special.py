"""Special-purpose layer twins (Lasagne's ``lasagne/layers/special.py``).

NonlinearityLayer, BiasLayer, ScaleLayer, ExpressionLayer, ParametricRectifierLayer and
RandomizedRectifierLayer (inference: the mean slope; training mode with a numpy RNG).
"""
from __future__ import annotations

from typing import Any, Callable, Optional, Union

import numpy as np

from . import init, nonlinearities
from .base import Layer, TwinError
from .nonlinearities import _relu_alpha
from .shapes.special import (broadcast_pattern, check_rrelu_bounds, expression_output_shape,
                             resolve_shared_axes, shared_param_shape)

__all__ = ["NonlinearityLayer", "BiasLayer", "ScaleLayer", "ExpressionLayer",
           "ParametricRectifierLayer", "RandomizedRectifierLayer", "prelu", "rrelu"]


def _expand(param: np.ndarray, ndim: int, shared_axes: Any) -> np.ndarray:
    """Reshape a shared parameter so it broadcasts against an ``ndim`` input (dimshuffle)."""
    pattern = broadcast_pattern(ndim, shared_axes)
    return param.reshape(tuple(1 if p == "x" else param.shape[p] for p in pattern))


class NonlinearityLayer(Layer):
    """A layer that applies a nonlinearity elementwise.

    Parameters
    ----------
    incoming : Layer or tuple
    nonlinearity : callable or None
        ``None`` means identity.

    Notes
    -----
    ``out = f(x)``.
    """

    def __init__(self, incoming: Any, nonlinearity: Optional[Callable] = nonlinearities.rectify, **kwargs: Any) -> None:
        super().__init__(incoming, **kwargs)
        if nonlinearity is not None and not callable(nonlinearity):
            raise TwinError(f"{self._label()}: nonlinearity must be callable or None, got {nonlinearity!r}")
        self.nonlinearity = nonlinearities.identity if nonlinearity is None else nonlinearity

    def get_output_for(self, input: np.ndarray, **kwargs: Any) -> np.ndarray:
        return self.nonlinearity(input)


class BiasLayer(Layer):
    """Adds a (trainable) bias shared over some axes.

    Parameters
    ----------
    incoming : Layer or tuple
    b : array, initializer or None
        Shape: the input shape without the shared axes. ``None``: the layer is the identity.
    shared_axes : 'auto', int or tuple of int
        ``'auto'`` shares over every axis but the second. As in Lasagne, a negative or
        out-of-range axis shares nothing.

    Notes
    -----
    ``out = x + b[broadcast over shared_axes]``.
    """

    def __init__(self, incoming: Any, b: Any = init.Constant(0), shared_axes: Union[str, int, tuple] = "auto",
                 **kwargs: Any) -> None:
        super().__init__(incoming, **kwargs)
        try:
            self.shared_axes = resolve_shared_axes(type(self).__name__, shared_axes, len(self.input_shape))
            shape = None if b is None else shared_param_shape(type(self).__name__, "the bias", self.input_shape, self.shared_axes)
        except ValueError as exc:
            raise TwinError(str(exc)) from None
        self.b = None if b is None else self.add_param(b, shape, name="b", regularizable=False)

    def get_output_for(self, input: np.ndarray, **kwargs: Any) -> np.ndarray:
        if self.b is None:
            return input
        return input + _expand(self.b.value, input.ndim, self.shared_axes)


class ScaleLayer(Layer):
    """Multiplies the input by (trainable) scales shared over some axes.

    Parameters
    ----------
    incoming : Layer or tuple
    scales : array or initializer
        Shape: the input shape without the shared axes.
    shared_axes : 'auto', int or tuple of int
        As for :class:`BiasLayer`.

    Notes
    -----
    ``out = x * scales[broadcast over shared_axes]``.
    """

    def __init__(self, incoming: Any, scales: Any = init.Constant(1), shared_axes: Union[str, int, tuple] = "auto",
                 **kwargs: Any) -> None:
        super().__init__(incoming, **kwargs)
        try:
            self.shared_axes = resolve_shared_axes(type(self).__name__, shared_axes, len(self.input_shape))
            shape = shared_param_shape(type(self).__name__, "the scales", self.input_shape, self.shared_axes)
        except ValueError as exc:
            raise TwinError(str(exc)) from None
        self.scales = self.add_param(scales, shape, name="scales", regularizable=False)

    def get_output_for(self, input: np.ndarray, **kwargs: Any) -> np.ndarray:
        return input * _expand(self.scales.value, input.ndim, self.shared_axes)


class ExpressionLayer(Layer):
    """Applies a numpy function to its input.

    Parameters
    ----------
    incoming : Layer or tuple
    function : callable
        ``function(array) -> array``, the numpy twin of the Theano expression.
    output_shape : None, 'auto', tuple or callable
        ``None``: same as the input; a tuple: fixed; a callable: ``output_shape(input_shape)``;
        ``'auto'``: the shape of ``function`` applied to zeros (free axes as 0, and any 0 in
        the result reported as None, as Lasagne does).

    Notes
    -----
    ``out = function(x)``.
    """

    def __init__(self, incoming: Any, function: Callable, output_shape: Any = None, **kwargs: Any) -> None:
        super().__init__(incoming, **kwargs)
        if not callable(function):
            raise TwinError(f"{self._label()}: function must be callable, got {function!r}")
        self.function = function
        self._output_shape: Any = None
        if callable(output_shape):
            self.get_output_shape_for = output_shape  # type: ignore[assignment]
        elif output_shape is None or isinstance(output_shape, str):
            if isinstance(output_shape, str) and output_shape != "auto":
                raise TwinError(f"{self._label()}: output_shape must be None, 'auto', a tuple or a callable, got {output_shape!r}")
            self._output_shape = output_shape
        else:
            try:
                self._output_shape = tuple(output_shape)
            except TypeError:
                raise TwinError(f"{self._label()}: output_shape must be None, 'auto', a tuple or a callable, "
                                f"got {output_shape!r}") from None

    def _auto_shape(self, input_shape: Any) -> Any:
        probe = np.zeros(tuple(0 if s is None else s for s in input_shape))
        with np.errstate(all="ignore"):
            out = np.asarray(self.function(probe))
        return tuple(s if s else None for s in out.shape)

    def get_output_shape_for(self, input_shape: Any) -> Any:
        return expression_output_shape(self._label(), self._output_shape, input_shape, self._auto_shape)

    def get_output_for(self, input: np.ndarray, **kwargs: Any) -> np.ndarray:
        return self.function(input)


class ParametricRectifierLayer(Layer):
    """Parametric rectifier (PReLU) with learned slopes shared over some axes.

    Parameters
    ----------
    incoming : Layer or tuple
    alpha : array or initializer
        Slopes; shape: the input shape without the shared axes.
    shared_axes : 'auto', 'all', int or tuple of int
        ``'all'`` gives a scalar (shape ``()``) alpha.

    Notes
    -----
    Theano's ``relu(x, alpha)``::

        out = 0.5 (1 + alpha) x + 0.5 (1 - alpha) |x|

    in the input dtype, which is ``max(x, 0) + alpha min(x, 0)`` up to rounding.
    """

    def __init__(self, incoming: Any, alpha: Any = init.Constant(0.25), shared_axes: Union[str, int, tuple] = "auto",
                 **kwargs: Any) -> None:
        super().__init__(incoming, **kwargs)
        try:
            self.shared_axes = resolve_shared_axes(type(self).__name__, shared_axes, len(self.input_shape), allow_all=True)
            shape = shared_param_shape(type(self).__name__, "alpha", self.input_shape, self.shared_axes)
        except ValueError as exc:
            raise TwinError(str(exc)) from None
        self.alpha = self.add_param(alpha, shape, name="alpha", regularizable=False)

    def get_output_for(self, input: np.ndarray, **kwargs: Any) -> np.ndarray:
        alpha = _expand(np.asarray(self.alpha.value, dtype=input.dtype), input.ndim, self.shared_axes)
        return _relu_alpha(input, alpha)


class RandomizedRectifierLayer(Layer):
    """Randomized leaky rectifier (RReLU).

    Parameters
    ----------
    incoming : Layer or tuple
    lower, upper : float
        Bounds of the random slope; ``lower <= upper``.
    shared_axes : 'auto', 'all', int or tuple of int
        Axes sharing one random slope in training mode.

    Notes
    -----
    Inference (``deterministic=True``, the default here) or ``lower == upper``:
    Theano's ``relu(x, a)`` with the fixed slope ``a = (lower + upper) / 2``::

        out = 0.5 (1 + a) x + 0.5 (1 - a) |x|      (0.5 (x + |x|) when a == 0)

    Training: ``a ~ U(lower, upper)`` per unshared position, drawn from this layer's numpy
    generator (seeded like Lasagne's stream, so not the same draws as Theano's).
    """

    def __init__(self, incoming: Any, lower: float = 0.3, upper: float = 0.8, shared_axes: Union[str, int, tuple] = "auto",
                 **kwargs: Any) -> None:
        super().__init__(incoming, **kwargs)
        self._rng = np.random.default_rng(init.get_rng().randint(1, 2147462579))
        self.lower, self.upper = lower, upper
        try:
            check_rrelu_bounds(lower, upper)
            self.shared_axes = resolve_shared_axes(type(self).__name__, shared_axes, len(self.input_shape), allow_all=True)
        except ValueError as exc:
            raise TwinError(str(exc)) from None

    def get_output_for(self, input: np.ndarray, deterministic: bool = True, **kwargs: Any) -> np.ndarray:
        if deterministic or self.upper == self.lower:
            slope = (self.upper + self.lower) / 2.0
            if slope == 0:
                return nonlinearities.rectify(input)
            return _relu_alpha(input, np.asarray(slope, dtype=input.dtype))
        shape = [1 if ax in self.shared_axes else s for ax, s in enumerate(input.shape)]
        rnd = self._rng.uniform(self.lower, self.upper, size=shape).astype(input.dtype)
        return _relu_alpha(input, rnd)


def prelu(layer: Layer, **kwargs: Any) -> ParametricRectifierLayer:
    """Set ``layer``'s nonlinearity to identity and stack a ParametricRectifierLayer on it."""
    if getattr(layer, "nonlinearity", None) is not None:
        layer.nonlinearity = nonlinearities.identity
    return ParametricRectifierLayer(layer, **kwargs)


def rrelu(layer: Layer, **kwargs: Any) -> RandomizedRectifierLayer:
    """Set ``layer``'s nonlinearity to identity and stack a RandomizedRectifierLayer on it."""
    if getattr(layer, "nonlinearity", None) is not None:
        layer.nonlinearity = nonlinearities.identity
    return RandomizedRectifierLayer(layer, **kwargs)
