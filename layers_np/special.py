"""Special-purpose layer twins (Lasagne's ``lasagne/layers/special.py``).

NonlinearityLayer, BiasLayer, ScaleLayer, ExpressionLayer, ParametricRectifierLayer and
RandomizedRectifierLayer (inference: the mean slope; training mode with a numpy RNG).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from . import nonlinearities
from .base import Layer
from .specs import special as spec
from .nonlinearities import _relu_alpha
from .shapes.special import broadcast_pattern

__all__ = ["NonlinearityLayer", "BiasLayer", "ScaleLayer", "ExpressionLayer",
           "ParametricRectifierLayer", "RandomizedRectifierLayer", "prelu", "rrelu", "standardize"]


def _expand(param: np.ndarray, ndim: int, shared_axes: Any) -> np.ndarray:
    """Reshape a shared parameter so it broadcasts against an ``ndim`` input (dimshuffle)."""
    pattern = broadcast_pattern(ndim, shared_axes)
    return param.reshape(tuple(1 if p == "x" else param.shape[p] for p in pattern))


class _ZeroProbe(np.ndarray):
    """The zeros ``ExpressionLayer(output_shape='auto')`` evaluates its function on.

    Free axes have size 0 there (Lasagne's probe); Theano reshapes such an empty tensor
    with a -1 size to 0 along that axis (reported as None), numpy refuses, so ``reshape``
    does it Theano's way on this probe and nowhere else.
    """

    def reshape(self, *shape: Any, **kwargs: Any) -> np.ndarray:  # type: ignore[override]
        if len(shape) == 1 and not isinstance(shape[0], (int, np.integer)):
            shape = tuple(shape[0])
        if self.size == 0 and any(isinstance(s, (int, np.integer)) and s == -1 for s in shape):
            shape = tuple(0 if isinstance(s, (int, np.integer)) and s == -1 else s for s in shape)
        return super().reshape(shape, **kwargs)


class NonlinearityLayer(spec.NonlinearityLayer, Layer):
    """A layer that applies a nonlinearity elementwise.

    Notes
    -----
    ``out = f(x)``.
    """

    def get_output_for(self, input: np.ndarray, **kwargs: Any) -> np.ndarray:
        return self.nonlinearity(input)


class BiasLayer(spec.BiasLayer, Layer):
    """Adds a (trainable) bias shared over some axes.

    Notes
    -----
    ``out = x + b[broadcast over shared_axes]``.
    """

    def get_output_for(self, input: np.ndarray, **kwargs: Any) -> np.ndarray:
        if self.b is None:
            return input
        return input + _expand(self.b.value, input.ndim, self.shared_axes)


class ScaleLayer(spec.ScaleLayer, Layer):
    """Multiplies the input by (trainable) scales shared over some axes.

    Notes
    -----
    ``out = x * scales[broadcast over shared_axes]``.
    """

    def get_output_for(self, input: np.ndarray, **kwargs: Any) -> np.ndarray:
        return input * _expand(self.scales.value, input.ndim, self.shared_axes)


class ExpressionLayer(spec.ExpressionLayer, Layer):
    """Applies a numpy function to its input.

    Notes
    -----
    ``out = function(x)``.
    """

    def _auto_shape(self, input_shape: Any) -> Any:
        probe = np.zeros(tuple(0 if s is None else s for s in input_shape)).view(_ZeroProbe)
        with np.errstate(all="ignore"):
            out = np.asarray(self.function(probe))
        return tuple(s if s else None for s in out.shape)

    def get_output_for(self, input: np.ndarray, **kwargs: Any) -> np.ndarray:
        return self.function(input)


class ParametricRectifierLayer(spec.ParametricRectifierLayer, Layer):
    """Parametric rectifier (PReLU) with learned slopes shared over some axes.

    Notes
    -----
    Theano's ``relu(x, alpha)``::

        out = 0.5 (1 + alpha) x + 0.5 (1 - alpha) |x|

    in the input dtype, which is ``max(x, 0) + alpha min(x, 0)`` up to rounding.
    """

    def get_output_for(self, input: np.ndarray, **kwargs: Any) -> np.ndarray:
        alpha = _expand(np.asarray(self.alpha.value, dtype=input.dtype), input.ndim, self.shared_axes)
        return _relu_alpha(input, alpha)


class RandomizedRectifierLayer(spec.RandomizedRectifierLayer, Layer):
    """Randomized leaky rectifier (RReLU).

    Notes
    -----
    Inference (``deterministic=True``, the default here) or ``lower == upper``:
    Theano's ``relu(x, a)`` with the fixed slope ``a = (lower + upper) / 2``::

        out = 0.5 (1 + a) x + 0.5 (1 - a) |x|      (0.5 (x + |x|) when a == 0)

    Training: ``a ~ U(lower, upper)`` per unshared position, drawn from this layer's numpy
    generator (seeded like Lasagne's stream, so not the same draws as Theano's).
    """

    def get_output_for(self, input: np.ndarray, deterministic: bool = True, **kwargs: Any) -> np.ndarray:
        if deterministic or self.upper == self.lower:
            slope = (self.upper + self.lower) / 2.0
            if slope == 0:
                return nonlinearities.rectify(input)
            return _relu_alpha(input, np.asarray(slope, dtype=input.dtype))
        shape = [1 if ax in self.shared_axes else s for ax, s in enumerate(input.shape)]
        rnd = self._srng.uniform(self.lower, self.upper, size=shape).astype(input.dtype)
        return _relu_alpha(input, rnd)


def prelu(layer: Layer, **kwargs: Any) -> ParametricRectifierLayer:
    """Set ``layer``'s nonlinearity to identity and stack a ParametricRectifierLayer on it."""
    return ParametricRectifierLayer(spec.with_identity(layer), **kwargs)


def rrelu(layer: Layer, **kwargs: Any) -> RandomizedRectifierLayer:
    """Set ``layer``'s nonlinearity to identity and stack a RandomizedRectifierLayer on it."""
    return RandomizedRectifierLayer(spec.with_identity(layer), **kwargs)


# Lasagne's floatX(1.) / scale: without a floatX on this side, 1.0 / scale keeps scale's float dtype
standardize = spec.standardize_helper(BiasLayer, ScaleLayer, lambda: 1.0)
