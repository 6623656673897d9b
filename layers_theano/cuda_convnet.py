"""Lasagne's ``lasagne.layers.cuda_convnet`` on the CPU.

pylearn2's ``FilterActs`` and ``MaxPool`` are GPU-only; the layers here build the CPU graph
of the same arithmetic in the same ``c01b`` layout: ``Conv2DCCLayer`` is ``nnet.conv2d``
(CorrMM) on the ``bc01`` view with the symmetric padding cuda-convnet uses (``'same'``
``k // 2``, ``'full'`` ``k - 1``), the filters flipped when ``flip_filters``, bias and
nonlinearity applied in ``c01b`` as Lasagne does; ``MaxPool2DCCLayer`` is
``pool_2d(ignore_border=False, mode='max')`` (partial windows at the border, which is what
cuda-convnet's pooling computes for ``stride <= pool_size``); ``NINLayer_c01b`` is Lasagne's
``T.tensordot`` graph.
"""
from __future__ import annotations

from layers_np.shapes.conv import theano_border_mode
from layers_np.specs import cuda_convnet as spec

from .backend import T, nnet, pool
from .base import Layer
from .conv import BaseConvLayer

__all__ = ["Conv2DCCLayer", "MaxPool2DCCLayer", "ShuffleBC01ToC01BLayer", "bc01_to_c01b", "ShuffleC01BToBC01Layer",
           "c01b_to_bc01", "NINLayer_c01b"]


class Conv2DCCLayer(spec.Conv2DCCLayer, BaseConvLayer):
    def get_output_for(self, input, **kwargs):
        if self.dimshuffle:
            filters = self.W.dimshuffle(1, 2, 3, 0)  # bc01 to c01b, as Lasagne
            input = input.dimshuffle(1, 2, 3, 0)
        else:
            filters = self.W
        # FilterActs stands in: the correlation of the c01b tensors, computed on their bc01 views
        conved = nnet.conv2d(input.dimshuffle(3, 0, 1, 2), filters.dimshuffle(3, 0, 1, 2), subsample=self.stride,
                             border_mode=theano_border_mode(self.pad), filter_flip=self.flip_filters)
        conved = conved.dimshuffle(1, 2, 3, 0)  # bc01 to c01b
        if self.b is not None:
            if self.untie_biases:
                biases = self.b.dimshuffle(0, 1, 2, "x")  # c01 to c01b
            else:
                biases = self.b.dimshuffle(0, "x", "x", "x")  # c to c01b
            conved += biases
        conved = self.nonlinearity(conved)
        if self.dimshuffle:
            return conved.dimshuffle(3, 0, 1, 2)  # c01b to bc01
        return conved


class MaxPool2DCCLayer(spec.MaxPool2DCCLayer, Layer):
    def get_output_for(self, input, **kwargs):
        if not self.dimshuffle:
            input = input.dimshuffle(3, 0, 1, 2)  # c01b to bc01 for pool_2d
        pooled = pool.pool_2d(input, ws=(self.pool_size,) * 2, stride=(self.stride,) * 2, ignore_border=False,
                              pad=(0, 0), mode="max")
        if not self.dimshuffle:
            return pooled.dimshuffle(1, 2, 3, 0)
        return pooled


class ShuffleBC01ToC01BLayer(spec.ShuffleBC01ToC01BLayer, Layer):
    def get_output_for(self, input, **kwargs):
        return input.dimshuffle(1, 2, 3, 0)


bc01_to_c01b = ShuffleBC01ToC01BLayer


class ShuffleC01BToBC01Layer(spec.ShuffleC01BToBC01Layer, Layer):
    def get_output_for(self, input, **kwargs):
        return input.dimshuffle(3, 0, 1, 2)


c01b_to_bc01 = ShuffleC01BToBC01Layer


class NINLayer_c01b(spec.NINLayer_c01b, Layer):
    def get_output_for(self, input, **kwargs):
        out = T.tensordot(self.W, input, axes=[[1], [0]])
        if self.b is None:
            activation = out
        else:
            if self.untie_biases:
                bias_axes = list(range(input.ndim - 1)) + ["x"]
            else:
                bias_axes = [0] + ["x"] * (input.ndim - 1)
            activation = out + self.b.dimshuffle(bias_axes)
        return self.nonlinearity(activation)
