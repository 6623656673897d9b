"""Lasagne's cuDNN layers (``lasagne.layers.dnn``) computed with PyTensor's CPU ops.

There is no GPU here: each class builds the CPU graph that gives what cuDNN computes for it
(see :mod:`layers_np.specs.dnn`). ``dnn_conv(conv_mode='cross'|'conv')`` is ``nnet.conv2d``
(CorrMM) with ``filter_flip=flip_filters``, ``dnn_conv3d`` is ``nnet.conv3d`` (Corr3dMM),
``dnn_pool`` is ``pool_2d``/``pool_3d`` with ``ignore_border=True`` (cuDNN pads max pooling
with a value below the minimum, as the CPU op does; ``average_inc_pad`` counts the padding,
``average_exc_pad`` does not). ``BatchNormDNNLayer`` builds BatchNormLayer's graph; at
inference both are ``(x - mean) * (gamma * inv_std) + beta``.
"""
from __future__ import annotations

import sys
from typing import Any

from layers_np.shapes.conv import theano_border_mode
from layers_np.specs import dnn as spec
from layers_np.specs.normalization import normalization_helpers

from .backend import nnet
from .conv import BaseConvLayer
from .normalization import BatchNormLayer
from .pool import Pool2DLayer, Pool3DLayer, SpatialPyramidPoolingLayer

__all__ = ["Pool2DDNNLayer", "MaxPool2DDNNLayer", "Pool3DDNNLayer", "MaxPool3DDNNLayer", "Conv2DDNNLayer",
           "Conv3DDNNLayer", "SpatialPyramidPoolingDNNLayer", "BatchNormDNNLayer", "batch_norm_dnn"]


def convolve_with(layer: BaseConvLayer, op: Any, input: Any) -> Any:
    """The layer's convolution by ``op`` (``nnet.conv2d``/``conv3d``); ``filter_flip=flip_filters``."""
    extra = {"num_groups": layer.num_groups} if layer.num_groups > 1 else {}
    return op(input, layer.W, layer.input_shape, layer.get_W_shape(), subsample=layer.stride,
              border_mode=theano_border_mode(layer.pad), filter_flip=layer.flip_filters, **extra)


class Conv2DDNNLayer(spec.Conv2DDNNLayer, BaseConvLayer):
    def convolve(self, input, **kwargs):
        return convolve_with(self, nnet.conv2d, input)


class Conv3DDNNLayer(spec.Conv3DDNNLayer, BaseConvLayer):
    def convolve(self, input, **kwargs):
        return convolve_with(self, nnet.conv3d, input)


class Pool2DDNNLayer(spec.Pool2DDNNLayer, Pool2DLayer):
    """Lasagne's ``Pool2DDNNLayer`` (``pool_2d`` with ``ignore_border=True``)."""


class MaxPool2DDNNLayer(spec.MaxPool2DDNNLayer, Pool2DDNNLayer):
    """Lasagne's ``MaxPool2DDNNLayer``."""


class Pool3DDNNLayer(spec.Pool3DDNNLayer, Pool3DLayer):
    """Lasagne's ``Pool3DDNNLayer`` (``pool_3d`` with ``ignore_border=True``)."""


class MaxPool3DDNNLayer(spec.MaxPool3DDNNLayer, Pool3DDNNLayer):
    """Lasagne's ``MaxPool3DDNNLayer``."""


class SpatialPyramidPoolingDNNLayer(spec.SpatialPyramidPoolingDNNLayer, SpatialPyramidPoolingLayer):
    """Lasagne's ``SpatialPyramidPoolingDNNLayer`` (the 'fast' pooling of SpatialPyramidPoolingLayer)."""


class BatchNormDNNLayer(spec.BatchNormDNNLayer, BatchNormLayer):
    """Lasagne's ``BatchNormDNNLayer``: BatchNormLayer's graph (batch statistics by ``T.var`` in
    training instead of cuDNN's kernel; the same formula)."""


_, batch_norm_dnn, _, _ = normalization_helpers(lambda name: getattr(sys.modules["layers_theano"], name))
