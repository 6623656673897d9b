"""Lasagne's noise layers (``lasagne/layers/noise.py``) on PyTensor.

Lasagne draws from ``MRG_RandomStreams``; PyTensor's ``RandomStream`` plays that role
here (same distributions, other draws). ``get_output`` is deterministic by default in
this project, where both layers are the identity.
"""
from __future__ import annotations

from layers_np.shapes.special import dropout_shared_axes

from layers_np.specs import special as spec

from .backend import T
from .base import Layer

__all__ = ["DropoutLayer", "dropout", "dropout_channels", "spatial_dropout", "dropout_locations", "GaussianNoiseLayer"]


class DropoutLayer(spec.DropoutLayer, Layer):
    def get_output_for(self, input, deterministic=False, **kwargs):
        if deterministic or self.p == 0:
            return input
        one = T.constant(1)
        retain_prob = one - self.p
        if self.rescale:
            input = input / retain_prob
        mask_shape = self.input_shape
        if any(s is None for s in mask_shape):
            mask_shape = input.shape
        if self.shared_axes:
            shared_axes = dropout_shared_axes(self.shared_axes, input.ndim)
            mask_shape = tuple(1 if a in shared_axes else s for a, s in enumerate(mask_shape))
        mask = self._srng.binomial(1, retain_prob, size=mask_shape).astype(input.dtype)
        return input * mask


dropout = DropoutLayer
dropout_channels, dropout_locations = spec.dropout_shortcuts(DropoutLayer)
spatial_dropout = dropout_channels


class GaussianNoiseLayer(spec.GaussianNoiseLayer, Layer):
    def get_output_for(self, input, deterministic=False, **kwargs):
        if deterministic or self.sigma == 0:
            return input
        return input + self._srng.normal(0.0, self.sigma, size=input.shape).astype(input.dtype)
