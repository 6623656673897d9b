"""Normalization twins (Lasagne's ``lasagne/layers/normalization.py``, master).

The expressions follow Lasagne's Theano graphs operation by operation, in the input
dtype, so rounding matches: sums over float32 are accumulated in float64 and rounded
once (Theano's ``Sum`` uses a float64 accumulator for float32), means divide by each
reduced axis length in turn (``tensor.mean`` does).
"""
from __future__ import annotations

import sys
from typing import Any, Sequence

import numpy as np

from .base import Layer, TwinError
from .nonlinearities import binary_owned
from .specs import normalization as spec
from .specs.normalization import normalization_helpers

__all__ = ["LocalResponseNormalization2DLayer", "BatchNormLayer", "StandardizationLayer", "batch_norm",
           "instance_norm", "layer_norm"]


def _mean(x: np.ndarray, axes: Sequence[int]) -> np.ndarray:
    """``tensor.mean(x, axes, keepdims=True)`` as Theano computes it.

    The sum is accumulated in float64 (Theano's accumulator for float32 and float64),
    rounded to the input dtype, then divided by the length of each axis in turn.
    """
    s = np.sum(x, axis=tuple(axes), keepdims=True, dtype=np.float64).astype(x.dtype, copy=False)
    for a in axes:
        s = s / x.shape[a]  # a Python int keeps the dtype of s
    return s


def _constant_dtype(value: Any, floatx: np.dtype) -> np.dtype:
    """The dtype Theano gives the Python number ``value`` in a graph built with ``floatX``.

    Theano's 'custom' cast policy: ints take the smallest of int8..int64 holding them;
    floats take floatX when floatX is float32, otherwise the smallest of float32/float64
    that represents them exactly (so 0.5 is float32 and 1e-4 float64 under floatX=float64).
    """
    if isinstance(value, (bool, np.bool_)):
        return np.dtype(np.bool_)
    if isinstance(value, (np.integer, np.floating)):
        return value.dtype
    if isinstance(value, int):
        for dt in (np.int8, np.int16, np.int32, np.int64):
            info = np.iinfo(dt)
            if info.min <= value <= info.max:
                return np.dtype(dt)
        return np.dtype(np.int64)
    if floatx == np.float32:
        return np.dtype(np.float32)
    return np.dtype(np.float32) if float(np.float32(value)) == value else np.dtype(np.float64)


def _constant(value: Any, dtype: np.dtype) -> Any:
    """``value`` as a numpy scalar of ``dtype``, so ``scalar op array`` has the promoted dtype."""
    return dtype.type(value)


class LocalResponseNormalization2DLayer(spec.LocalResponseNormalization2DLayer, Layer):
    """Cross-channel local response normalization of ``(batch, channels, rows, cols)`` input.

    Notes
    -----
    With ``h = n // 2`` and ``x_j = 0`` outside ``0 <= j < C``::

        out_c = x_c / (k + alpha * sum_{j=c-h}^{c+h} x_j^2) ** beta

    ``alpha`` is not divided by ``n``. As in Lasagne, the scale is accumulated one window
    offset at a time: ``s = k; s += alpha * sq[:, i:i+C]`` for ``i = 0..n-1``.

    Dtypes follow Lasagne's graph, built with floatX equal to the input dtype: the
    zero-padded squares live in ``T.alloc(0., ...)``, a float32 buffer, so even float64
    squares are rounded to float32; ``alpha``, ``k`` and ``beta`` are Theano constants
    (float64 under floatX=float64 only when float32 cannot hold them exactly). Theano's C
    code evaluates the power in double precision.
    """

    def get_output_for(self, input: np.ndarray, **kwargs: Any) -> np.ndarray:
        if input.ndim != 4:
            raise TwinError(f"{self._label()}: expects a 4-dimensional input, got shape {input.shape}")
        floatx = input.dtype
        half = self.n // 2
        ch = input.shape[1]
        sqr = input * input
        padded = np.zeros((input.shape[0], ch + 2 * half) + input.shape[2:], dtype=np.float32)
        padded[:, half:half + ch] = sqr  # rounds float64 squares to float32, as set_subtensor does
        alpha_dtype = _constant_dtype(self.alpha, floatx)
        k_dtype = _constant_dtype(self.k, floatx)
        term_dtype = np.result_type(alpha_dtype, padded.dtype)
        alpha = _constant(self.alpha, alpha_dtype).astype(term_dtype)
        scale_dtype = np.result_type(k_dtype, term_dtype)
        # Lasagne starts from the Python number k and adds the window terms in order.
        # Explicit casts: numpy 1.x would let a scalar's value pick the dtype of scalar * array.
        terms = padded.astype(term_dtype, copy=False)
        scale = _constant(self.k, scale_dtype) + (alpha * terms[:, 0:ch]).astype(scale_dtype, copy=False)
        for i in range(1, self.n):  # n window offsets, not a loop over elements
            scale = scale + (alpha * terms[:, i:i + ch]).astype(scale_dtype, copy=False)
        beta_dtype = _constant_dtype(self.beta, floatx)
        pow_dtype = np.result_type(scale_dtype, beta_dtype)
        beta64 = float(_constant(self.beta, beta_dtype))
        powed = np.power(scale.astype(np.float64), beta64).astype(pow_dtype, copy=False)
        out_dtype = np.result_type(input.dtype, pow_dtype)
        return (input.astype(out_dtype, copy=False) / powed.astype(out_dtype, copy=False))


class BatchNormLayer(spec.BatchNormLayer, Layer):
    """Batch normalization with stored statistics, inference mode.

    Notes
    -----
    Parameters broadcast over ``axes``; Lasagne's ``deterministic=True`` output::

        out = (x - mean) * (gamma * inv_std) + beta

    ``epsilon`` is already folded into ``inv_std = 1 / sqrt(var + epsilon)``; it is not
    added again. Theano compiles the product as ``((x - mean) * gamma) * inv_std`` (its
    canonicalizer flattens nested products), and so does the twin.
    """

    def _broadcast(self, value: np.ndarray, ndim: int) -> np.ndarray:
        """A parameter with size-1 axes inserted at ``axes`` (Lasagne's dimshuffle pattern)."""
        shape = []
        it = iter(value.shape)
        for axis in range(ndim):
            shape.append(1 if axis in self.axes else next(it))
        return value.reshape(shape)

    def get_output_for(self, input: np.ndarray, **kwargs: Any) -> np.ndarray:
        want = tuple(s for a, s in enumerate(input.shape) if a not in self.axes)
        if input.ndim != len(self.input_shape) or want != self.mean.shape:
            raise TwinError(
                f"{self._label()}: input of shape {input.shape} does not match parameters of shape "
                f"{self.mean.shape} (normalizing over axes {self.axes})"
            )
        mean = self._broadcast(self.mean.value, input.ndim)
        inv_std = self._broadcast(self.inv_std.value, input.ndim)
        # Theano's canonicalizer flattens (x - mean) * (gamma * inv_std) into one n-ary
        # product evaluated left to right: ((x - mean) * gamma) * inv_std.
        # ``out`` is a fresh array from here on: the products and the sum are written into it
        # when that gives the same dtype and shape (bit-identical to the plain expressions)
        out = input - mean
        if self.gamma is not None:
            out = binary_owned(np.multiply, out, self._broadcast(self.gamma.value, input.ndim))
        out = binary_owned(np.multiply, out, inv_std)
        if self.beta is not None:
            out = binary_owned(np.add, out, self._broadcast(self.beta.value, input.ndim))
        return out


class StandardizationLayer(spec.StandardizationLayer, Layer):
    """Normalize to zero mean and unit variance over ``axes``, statistics of the input itself.

    Notes
    -----
    Computed on every call, at inference too (no stored statistics)::

        mu  = mean(x, axes)
        var = mean((x - mu)^2, axes)
        out = (x - mu) / sqrt(var + epsilon)
    """

    def get_output_for(self, input: np.ndarray, **kwargs: Any) -> np.ndarray:
        if input.ndim != len(self.input_shape):
            raise TwinError(f"{self._label()}: expected a {len(self.input_shape)}-dimensional input, got {input.shape}")
        mean = _mean(input, self.axes)
        centered = input - mean
        var = _mean(centered * centered, self.axes)
        return centered / np.sqrt(var + self.epsilon)


# Lasagne master's helpers; the classes they stack are looked up in the package when called
batch_norm, _, instance_norm, layer_norm = normalization_helpers(lambda name: getattr(sys.modules["layers_np"], name))
