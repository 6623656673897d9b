"""Noise layer twins (Lasagne's ``lasagne/layers/noise.py``).

At inference (``deterministic=True``, the default of the twins) both layers are the
identity, exactly as in Theano. Training mode draws from the layer's own numpy generator,
seeded from ``layers_np.init.get_rng()`` like Lasagne's stream; its draws are not
Theano's.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .base import Layer
from .specs import special as spec
from .shapes.special import dropout_shared_axes

__all__ = ["DropoutLayer", "dropout", "dropout_channels", "spatial_dropout", "dropout_locations", "GaussianNoiseLayer"]


class DropoutLayer(spec.DropoutLayer, Layer):
    """Dropout: zeroes values with probability ``p``.

    Notes
    -----
    Inference: ``out = x``. Training: ``out = x / (1 - p) * m`` (``x * m`` without
    rescale) with ``m ~ Bernoulli(1 - p)`` broadcast over ``shared_axes``.
    """

    def get_output_for(self, input: np.ndarray, deterministic: bool = True, **kwargs: Any) -> np.ndarray:
        if deterministic or self.p == 0:
            return input
        retain = 1.0 - self.p
        if self.rescale:
            input = input / np.asarray(retain, dtype=input.dtype)
        axes = dropout_shared_axes(self.shared_axes, input.ndim)
        shape = tuple(1 if a in axes else s for a, s in enumerate(input.shape))
        mask = (self._srng.random(shape) < retain).astype(input.dtype)
        return input * mask


dropout = DropoutLayer
dropout_channels, dropout_locations = spec.dropout_shortcuts(DropoutLayer)
spatial_dropout = dropout_channels


class GaussianNoiseLayer(spec.GaussianNoiseLayer, Layer):
    """Adds zero-mean Gaussian noise in training mode.

    Notes
    -----
    Inference: ``out = x``. Training: ``out = x + sigma * n``, ``n ~ N(0, 1)``.
    """

    def get_output_for(self, input: np.ndarray, deterministic: bool = True, **kwargs: Any) -> np.ndarray:
        if deterministic or self.sigma == 0:
            return input
        noise = self._srng.standard_normal(input.shape) * self.sigma
        return input + noise.astype(input.dtype)
