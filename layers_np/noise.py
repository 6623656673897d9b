"""Noise layer twins (Lasagne's ``lasagne/layers/noise.py``).

At inference (``deterministic=True``, the default of the twins) both layers are the
identity, exactly as in Theano. Training mode draws from the layer's own numpy generator,
seeded from ``layers_np.init.get_rng()`` like Lasagne's stream; its draws are not
Theano's.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from . import init
from .base import Layer, TwinError
from .shapes.special import check_dropout_p, dropout_shared_axes

__all__ = ["DropoutLayer", "dropout", "dropout_channels", "spatial_dropout", "dropout_locations", "GaussianNoiseLayer"]


class DropoutLayer(Layer):
    """Dropout: zeroes values with probability ``p``.

    Parameters
    ----------
    incoming : Layer or tuple
    p : float
        Probability of dropping a value, in [0, 1].
    rescale : bool
        In training mode, divide the kept values by ``1 - p``.
    shared_axes : tuple of int
        Axes sharing one mask value (negative axes count from the end).

    Notes
    -----
    Inference: ``out = x``. Training: ``out = x / (1 - p) * m`` (``x * m`` without
    rescale) with ``m ~ Bernoulli(1 - p)`` broadcast over ``shared_axes``.
    """

    def __init__(self, incoming: Any, p: float = 0.5, rescale: bool = True, shared_axes: Sequence[int] = (),
                 **kwargs: Any) -> None:
        super().__init__(incoming, **kwargs)
        self._rng = np.random.default_rng(init.get_rng().randint(1, 2147462579))
        try:
            check_dropout_p(type(self).__name__, p)
            self.shared_axes = tuple(shared_axes)
        except (ValueError, TypeError) as exc:
            raise TwinError(f"{self._label()}: {exc}") from None
        if not all(isinstance(a, (int, np.integer)) and -len(self.input_shape) <= a < len(self.input_shape) for a in self.shared_axes):
            raise TwinError(f"{self._label()}: shared_axes must be axes of the {len(self.input_shape)}-d input, got {shared_axes!r}")
        self.p = p
        self.rescale = rescale

    def get_output_for(self, input: np.ndarray, deterministic: bool = True, **kwargs: Any) -> np.ndarray:
        if deterministic or self.p == 0:
            return input
        retain = 1.0 - self.p
        if self.rescale:
            input = input / np.asarray(retain, dtype=input.dtype)
        axes = dropout_shared_axes(self.shared_axes, input.ndim)
        shape = tuple(1 if a in axes else s for a, s in enumerate(input.shape))
        mask = (self._rng.random(shape) < retain).astype(input.dtype)
        return input * mask


dropout = DropoutLayer


def dropout_channels(incoming: Any, *args: Any, **kwargs: Any) -> DropoutLayer:
    """A DropoutLayer dropping whole channels (shared over the spatial axes 2, 3, ...)."""
    ndim = len(getattr(incoming, "output_shape", incoming))
    kwargs["shared_axes"] = tuple(range(2, ndim))
    return DropoutLayer(incoming, *args, **kwargs)


spatial_dropout = dropout_channels


def dropout_locations(incoming: Any, *args: Any, **kwargs: Any) -> DropoutLayer:
    """A DropoutLayer dropping whole locations (shared over the channel axis 1)."""
    kwargs["shared_axes"] = (1,)
    return DropoutLayer(incoming, *args, **kwargs)


class GaussianNoiseLayer(Layer):
    """Adds zero-mean Gaussian noise in training mode.

    Parameters
    ----------
    incoming : Layer or tuple
    sigma : float
        Standard deviation of the noise (>= 0).

    Notes
    -----
    Inference: ``out = x``. Training: ``out = x + sigma * n``, ``n ~ N(0, 1)``.
    """

    def __init__(self, incoming: Any, sigma: float = 0.1, **kwargs: Any) -> None:
        super().__init__(incoming, **kwargs)
        self._rng = np.random.default_rng(init.get_rng().randint(1, 2147462579))
        if isinstance(sigma, (int, float)) and sigma < 0:
            raise TwinError(f"{self._label()}: sigma must be >= 0, got {sigma!r}")
        self.sigma = sigma

    def get_output_for(self, input: np.ndarray, deterministic: bool = True, **kwargs: Any) -> np.ndarray:
        if deterministic or self.sigma == 0:
            return input
        noise = self._rng.standard_normal(input.shape) * self.sigma
        return input + noise.astype(input.dtype)
