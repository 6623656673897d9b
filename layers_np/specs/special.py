"""Spec of the special-purpose layers (Lasagne's ``lasagne/layers/special.py``) and the noise
and embedding layers (``noise.py``, ``embedding.py``)."""
from __future__ import annotations

from typing import Any, Callable, Optional, Sequence, Union

from .. import init
from ..shapes import embedding_output_shape
from ..shapes.special import (check_dropout_p, check_rrelu_bounds, expression_output_shape, resolve_shared_axes,
                              shared_param_shape)
from .base import (Layer, MergeLayer, SideDefault, TwinError, is_integer, nonlinearity_or_identity, twin_errors,
                   with_identity)

__all__ = ["NonlinearityLayer", "BiasLayer", "ScaleLayer", "ExpressionLayer", "ParametricRectifierLayer",
           "RandomizedRectifierLayer", "DropoutLayer", "GaussianNoiseLayer", "EmbeddingLayer", "RNG_SEED_RANGE",
           "dropout_shortcuts", "with_identity", "standardize_helper", "InverseLayer"]

# Lasagne seeds each noise layer's stream with get_rng().randint(1, 2147462579)
RNG_SEED_RANGE = (1, 2147462579)


def _stream_seed() -> int:
    return int(init.get_rng().randint(*RNG_SEED_RANGE))


class NonlinearityLayer(Layer):
    """A layer that applies a nonlinearity elementwise (``None`` means identity)."""

    def __init__(self, incoming: Any, nonlinearity: Optional[Callable] = SideDefault("rectify"),
                 **kwargs: Any) -> None:
        super().__init__(incoming, **kwargs)
        self.nonlinearity = nonlinearity_or_identity(self, nonlinearity)


def _shared_param_shape(layer: Layer, what: str, shared_axes: Any, allow_all: bool = False) -> Any:
    with twin_errors():
        layer.shared_axes = resolve_shared_axes(type(layer).__name__, shared_axes, len(layer.input_shape),
                                                allow_all=allow_all)
        return shared_param_shape(type(layer).__name__, what, layer.input_shape, layer.shared_axes)


class BiasLayer(Layer):
    """Adds a (trainable) bias shared over ``shared_axes``; ``b=None`` makes the layer the identity.

    ``shared_axes``: 'auto' (every axis but the second), an int or a tuple; as in Lasagne, a
    negative or out-of-range axis shares nothing.
    """

    def __init__(self, incoming: Any, b: Any = init.Constant(0), shared_axes: Union[str, int, tuple] = "auto",
                 **kwargs: Any) -> None:
        super().__init__(incoming, **kwargs)
        shape = _shared_param_shape(self, "the bias", shared_axes)
        self.b = None if b is None else self.add_param(b, shape, name="b", regularizable=False)


class ScaleLayer(Layer):
    """Multiplies the input by (trainable) scales shared over ``shared_axes`` (as :class:`BiasLayer`)."""

    def __init__(self, incoming: Any, scales: Any = init.Constant(1), shared_axes: Union[str, int, tuple] = "auto",
                 **kwargs: Any) -> None:
        super().__init__(incoming, **kwargs)
        shape = _shared_param_shape(self, "the scales", shared_axes)
        self.scales = self.add_param(scales, shape, name="scales", regularizable=False)


class ExpressionLayer(Layer):
    """Applies ``function`` to its input.

    ``output_shape``: None (same as the input), a tuple, a callable ``output_shape(input_shape)``
    or ``'auto'``: the shape of ``function`` applied to zeros (free axes as 0, any 0 in the
    result reported as None, as Lasagne does); each side evaluates the probe (``_auto_shape``).
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
                raise TwinError(f"{self._label()}: output_shape must be None, 'auto', a tuple or a callable, "
                                f"got {output_shape!r}")
            self._output_shape = output_shape
        else:
            try:
                self._output_shape = tuple(output_shape)
            except TypeError:
                raise TwinError(f"{self._label()}: output_shape must be None, 'auto', a tuple or a callable, "
                                f"got {output_shape!r}") from None

    def _auto_shape(self, input_shape: Any) -> Any:
        raise NotImplementedError

    def get_output_shape_for(self, input_shape: Any) -> Any:
        with twin_errors():
            return expression_output_shape(self._label(), self._output_shape, input_shape, self._auto_shape)


class ParametricRectifierLayer(Layer):
    """Parametric rectifier (PReLU) with learned slopes ``alpha`` shared over ``shared_axes``
    ('all' gives a scalar alpha)."""

    def __init__(self, incoming: Any, alpha: Any = init.Constant(0.25), shared_axes: Union[str, int, tuple] = "auto",
                 **kwargs: Any) -> None:
        super().__init__(incoming, **kwargs)
        shape = _shared_param_shape(self, "alpha", shared_axes, allow_all=True)
        self.alpha = self.add_param(alpha, shape, name="alpha", regularizable=False)


class RandomizedRectifierLayer(Layer):
    """Randomized leaky rectifier (RReLU): slopes ``U(lower, upper)`` in training, their mean at inference."""

    def __init__(self, incoming: Any, lower: float = 0.3, upper: float = 0.8, shared_axes: Union[str, int, tuple] = "auto",
                 **kwargs: Any) -> None:
        super().__init__(incoming, **kwargs)
        self._srng = self.random_stream(_stream_seed())
        self.lower = lower
        self.upper = upper
        with twin_errors():
            if not (self.is_symbolic(lower) or self.is_symbolic(upper)):
                check_rrelu_bounds(lower, upper)
            self.shared_axes = resolve_shared_axes(type(self).__name__, shared_axes, len(self.input_shape),
                                                   allow_all=True)


class DropoutLayer(Layer):
    """Dropout: zeroes values with probability ``p`` in training (identity at inference).

    ``rescale`` divides the kept values by ``1 - p``; ``shared_axes`` share one mask value.
    """

    def __init__(self, incoming: Any, p: float = 0.5, rescale: bool = True, shared_axes: Sequence[int] = (),
                 **kwargs: Any) -> None:
        super().__init__(incoming, **kwargs)
        self._srng = self.random_stream(_stream_seed())
        try:
            check_dropout_p(type(self).__name__, p)
            self.shared_axes = tuple(shared_axes)
        except (ValueError, TypeError) as exc:
            raise TwinError(f"{self._label()}: {exc}") from None
        ndim = len(self.input_shape)
        if not all(is_integer(a) and -ndim <= a < ndim for a in self.shared_axes):
            raise TwinError(f"{self._label()}: shared_axes must be axes of the {ndim}-d input, got {shared_axes!r}")
        self.shared_axes = tuple(int(a) for a in self.shared_axes)
        self.p = p
        self.rescale = rescale


def dropout_shortcuts(dropout_layer: type) -> Any:
    """Lasagne's ``dropout_channels`` (shared over the spatial axes 2, 3, ...; also called
    ``spatial_dropout``) and ``dropout_locations`` (shared over the channel axis 1) for one
    side's DropoutLayer."""

    def dropout_channels(incoming: Any, *args: Any, **kwargs: Any) -> Any:
        """A DropoutLayer dropping whole channels (shared over the spatial axes 2, 3, ...)."""
        ndim = len(getattr(incoming, "output_shape", incoming))
        kwargs["shared_axes"] = tuple(range(2, ndim))
        return dropout_layer(incoming, *args, **kwargs)

    def dropout_locations(incoming: Any, *args: Any, **kwargs: Any) -> Any:
        """A DropoutLayer dropping whole locations (shared over the channel axis 1)."""
        kwargs["shared_axes"] = (1,)
        return dropout_layer(incoming, *args, **kwargs)

    return dropout_channels, dropout_locations


class GaussianNoiseLayer(Layer):
    """Adds zero-mean Gaussian noise of standard deviation ``sigma`` in training (identity at inference)."""

    def __init__(self, incoming: Any, sigma: float = 0.1, **kwargs: Any) -> None:
        super().__init__(incoming, **kwargs)
        self._srng = self.random_stream(_stream_seed())
        if isinstance(sigma, (int, float)) and sigma < 0:
            raise TwinError(f"{self._label()}: sigma must be >= 0, got {sigma!r}")
        self.sigma = sigma


class EmbeddingLayer(Layer):
    """Lookup table: each integer of the input selects a row of ``W`` (``input_size x output_size``)."""

    def __init__(self, incoming: Any, input_size: int, output_size: int, W: Any = init.Normal(), **kwargs: Any) -> None:
        super().__init__(incoming, **kwargs)
        for label, value in (("input_size", input_size), ("output_size", output_size)):
            if not is_integer(value) or value <= 0:
                raise TwinError(f"{self._label()}: {label} must be a positive integer, got {value!r}")
        self.input_size = int(input_size)
        self.output_size = int(output_size)
        self.W = self.add_param(W, (self.input_size, self.output_size), name="W")

    def get_output_shape_for(self, input_shape):
        return embedding_output_shape(input_shape, self.output_size)


def standardize_helper(bias_layer: type, scale_layer: type, one: Callable[[], Any]) -> Callable[..., Any]:
    """Lasagne master's ``standardize`` for one side: ``BiasLayer(-offset)`` then
    ``ScaleLayer(one() / scale)``, both sharing ``shared_axes`` and neither trainable.

    ``one()`` is the side's ``floatX(1.)`` (Lasagne divides it by ``scale``, so the scales
    parameter has the dtype numpy gives that quotient).
    """

    def standardize(layer: Any, offset: Any, scale: Any, shared_axes: Any = "auto") -> Any:
        """Subtract ``offset`` and divide by ``scale`` (fixed statistics, not trained)."""
        layer = bias_layer(layer, -offset, shared_axes)
        layer.params[layer.b].remove("trainable")
        layer = scale_layer(layer, one() / scale, shared_axes)
        layer.params[layer.scales].remove("trainable")
        return layer

    return standardize


class InverseLayer(MergeLayer):
    """Lasagne's ``InverseLayer``: the gradient of ``layer``'s output with respect to its input,
    applied to ``incoming`` (a "transposed" layer, e.g. for tied-weight autoencoders).

    ``theano.grad(None, wrt=layer_in, known_grads={layer_out: incoming})``; its inputs are
    ``[incoming, layer, layer.input_layer]`` and its output has ``layer``'s input shape.
    """

    def __init__(self, incoming: Any, layer: Any, **kwargs: Any) -> None:
        super().__init__([incoming, layer, layer.input_layer], **kwargs)

    def get_output_shape_for(self, input_shapes):
        return input_shapes[2]
