"""Lasagne's ``lasagne.layers.corrmm`` on the CPU: ``Conv2DMMLayer`` is ``nnet.conv2d`` (CorrMM)
with ``filter_flip=flip_filters`` (False by default) and ``'same'`` as ``'half'``; Lasagne's
GPU version flips the filters by slicing before ``GpuCorrMM``, the same arithmetic."""
from __future__ import annotations

from layers_np.specs import corrmm as spec

from .backend import nnet
from .conv import BaseConvLayer
from .dnn import convolve_with

__all__ = ["Conv2DMMLayer"]


class Conv2DMMLayer(spec.Conv2DMMLayer, BaseConvLayer):
    def convolve(self, input, **kwargs):
        return convolve_with(self, nnet.conv2d, input)
