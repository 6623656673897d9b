"""Numpy twins of Lasagne's nonlinearities and Theano's hard/ultra-fast sigmoids.

Outputs keep the input dtype. For float32, transcendental functions are evaluated in
float64 and rounded once: PyTensor's C code calls the double-precision libm functions
on float32 inputs, so this reproduces Theano's rounding rather than adding numpy's own.
"""
from __future__ import annotations

import numpy as np

from ._record import RecordsArguments


def _in_double(fn, x: np.ndarray) -> np.ndarray:
    x = np.asarray(x)
    if x.dtype == np.float64:
        return fn(x)
    return fn(x.astype(np.float64)).astype(x.dtype)


def sigmoid(x: np.ndarray) -> np.ndarray:
    """``1 / (1 + exp(-x))``, PyTensor's C formula (no clamping)."""
    with np.errstate(over="ignore"):
        return _in_double(lambda v: 1.0 / (1.0 + np.exp(-v)), x)


def softmax(x: np.ndarray) -> np.ndarray:
    """Row-wise softmax over the last axis: ``exp(x - max) / sum(exp(x - max))``."""
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def tanh(x: np.ndarray) -> np.ndarray:
    return _in_double(np.tanh, x)


class ScaledTanH(RecordsArguments):
    """``scale_out * tanh(scale_in * x)``."""

    def __init__(self, scale_in: float = 1, scale_out: float = 1) -> None:
        self.scale_in, self.scale_out = scale_in, scale_out

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.scale_out * tanh(x * self.scale_in)


ScaledTanh = ScaledTanH


def rectify(x: np.ndarray) -> np.ndarray:
    """Theano's ``relu``: ``0.5 * (x + |x|)`` (bit-identical to Theano, including -0.0)."""
    return 0.5 * (x + np.abs(x))


class LeakyRectify(RecordsArguments):
    """Theano's ``relu(x, a)``: ``0.5*(1+a)*x + 0.5*(1-a)*|x|``, about 1 ulp from ``where``."""

    def __init__(self, leakiness: float = 0.01) -> None:
        self.leakiness = leakiness

    def __call__(self, x: np.ndarray) -> np.ndarray:
        # Theano rounds the two coefficients to the input dtype before multiplying.
        f1 = np.asarray(0.5 * (1 + self.leakiness), dtype=x.dtype)
        f2 = np.asarray(0.5 * (1 - self.leakiness), dtype=x.dtype)
        return f1 * x + f2 * np.abs(x)


leaky_rectify = LeakyRectify(0.01)
very_leaky_rectify = LeakyRectify(1.0 / 3)


def elu(x: np.ndarray) -> np.ndarray:
    """``x if x > 0 else expm1(x)``."""
    with np.errstate(over="ignore"):
        return np.where(x > 0, x, _in_double(np.expm1, x))


class SELU(RecordsArguments):
    """``scale * (x if x > 0 else scale_neg * expm1(x))``."""

    def __init__(self, scale: float = 1, scale_neg: float = 1) -> None:
        self.scale, self.scale_neg = scale, scale_neg

    def __call__(self, x: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore"):
            return self.scale * np.where(x > 0.0, x, self.scale_neg * _in_double(np.expm1, x))


selu = SELU(scale=1.0507009873554805, scale_neg=1.6732632423543772)


def _softplus64(v: np.ndarray) -> np.ndarray:
    # PyTensor's piecewise C code (same thresholds for both precisions).
    with np.errstate(over="ignore"):
        return np.where(
            v < -37.0, np.exp(v),
            np.where(v < 18.0, np.log1p(np.exp(v)), np.where(v < 33.3, v + np.exp(-v), v)),
        )


def softplus(x: np.ndarray) -> np.ndarray:
    """``log(1 + exp(x))`` with PyTensor's thresholds -37, 18 and 33.3."""
    return _in_double(_softplus64, x)


def linear(x: np.ndarray) -> np.ndarray:
    return x


identity = linear


def hard_sigmoid(x: np.ndarray) -> np.ndarray:
    """``clip(0.2 * x + 0.5, 0, 1)`` in the input dtype."""
    return np.clip(x * np.asarray(0.2, x.dtype) + np.asarray(0.5, x.dtype), 0, 1).astype(x.dtype, copy=False)


def ultra_fast_sigmoid(x: np.ndarray) -> np.ndarray:
    """Theano's piecewise tanh approximation: ``0.5 * (z(x/2) + 1)``."""

    def f(v: np.ndarray) -> np.ndarray:
        h = 0.5 * v
        a = np.abs(h)
        z = np.where(a < 1.7, 1.5 * a / (1 + a), np.where(a < 3, 0.935409070603099 + 0.0458812946797165 * (a - 1.7), 0.99505475368673))
        return 0.5 * (np.where(h >= 0, z, -z) + 1.0)

    return _in_double(f, x)
