"""Twins of Lasagne's cuDNN layers (``lasagne.layers.dnn``), so model code written with the
``dnn`` names (``from layers_np.dnn import Conv2DDNNLayer``) runs on numpy.

Each class computes what cuDNN computes for it, with the plain layer's CPU arithmetic (see
:mod:`layers_np.specs.dnn`): ``Conv2DDNNLayer`` is a correlation unless ``flip_filters=True``
(its default is False, unlike ``Conv2DLayer``), the pooling classes pool with
``ignore_border=True``, ``BatchNormDNNLayer`` is ``BatchNormLayer`` at inference.
"""
from __future__ import annotations

import sys
from typing import Any

import numpy as np

from .base import TwinError
from .conv import BaseConvLayer, conv2d, conv3d
from .normalization import BatchNormLayer
from .pool import Pool2DLayer, Pool3DLayer, SpatialPyramidPoolingLayer
from .shapes.conv import theano_border_mode
from .specs import dnn as spec
from .specs.normalization import normalization_helpers

__all__ = ["Pool2DDNNLayer", "MaxPool2DDNNLayer", "Pool3DDNNLayer", "MaxPool3DDNNLayer", "Conv2DDNNLayer",
           "Conv3DDNNLayer", "SpatialPyramidPoolingDNNLayer", "BatchNormDNNLayer", "batch_norm_dnn"]


def convolve_with(layer: BaseConvLayer, op: Any, input: np.ndarray) -> np.ndarray:
    """The layer's convolution by ``op`` (conv2d/conv3d); filters flipped only if ``flip_filters``."""
    if input.ndim != layer.n + 2:
        raise TwinError(f"{layer._label()}: expected a {layer.n + 2}-d input, got shape {input.shape}")
    return op(input, layer.W.value, subsample=layer.stride, border_mode=theano_border_mode(layer.pad),
              filter_flip=layer.flip_filters, num_groups=layer.num_groups)


class Conv2DDNNLayer(spec.Conv2DDNNLayer, BaseConvLayer):
    """cuDNN 2-D convolution: ``flip_filters=False`` by default (a correlation).

    Notes
    -----
    ``out[n, f, y, x] = f(sum_{c, i, j} xpad[n, c', y*s0 + i, x*s1 + j] W'[f, c, i, j] + b)``,
    ``W' = W`` unless ``flip_filters`` (then ``W[..., ::-1, ::-1]``); see :func:`conv2d`.
    """

    def convolve(self, input: np.ndarray, **kwargs: Any) -> np.ndarray:
        return convolve_with(self, conv2d, input)


class Conv3DDNNLayer(spec.Conv3DDNNLayer, BaseConvLayer):
    """cuDNN 3-D convolution: ``flip_filters=False`` by default; see :func:`conv3d`."""

    def convolve(self, input: np.ndarray, **kwargs: Any) -> np.ndarray:
        return convolve_with(self, conv3d, input)


class Pool2DDNNLayer(spec.Pool2DDNNLayer, Pool2DLayer):
    """cuDNN 2-D pooling: :class:`Pool2DLayer` with ``ignore_border=True`` (the only mode cuDNN has)."""


class MaxPool2DDNNLayer(spec.MaxPool2DDNNLayer, Pool2DDNNLayer):
    """:class:`Pool2DDNNLayer` with ``mode='max'``."""


class Pool3DDNNLayer(spec.Pool3DDNNLayer, Pool3DLayer):
    """cuDNN 3-D pooling: :class:`Pool3DLayer` with ``ignore_border=True``."""


class MaxPool3DDNNLayer(spec.MaxPool3DDNNLayer, Pool3DDNNLayer):
    """:class:`Pool3DDNNLayer` with ``mode='max'``."""


class SpatialPyramidPoolingDNNLayer(spec.SpatialPyramidPoolingDNNLayer, SpatialPyramidPoolingLayer):
    """cuDNN spatial pyramid pooling: :class:`SpatialPyramidPoolingLayer` with ``implementation='fast'``."""


class BatchNormDNNLayer(spec.BatchNormDNNLayer, BatchNormLayer):
    """cuDNN batch normalization; at inference ``(x - mean) * (gamma * inv_std) + beta`` as
    :class:`BatchNormLayer` (axes ``(0,)`` or all but the second only)."""


_, batch_norm_dnn, _, _ = normalization_helpers(lambda name: getattr(sys.modules["layers_np"], name))
