"""Convolution layers (Lasagne master ``conv.py``) on PyTensor 2.8.11's ``nnet`` conv ops."""
from __future__ import annotations

from typing import Any

from layers_np import conv as np_conv
from layers_np.shapes.conv import conv_input_length, conv_output_length, theano_border_mode
from layers_np.specs import conv as spec

from .backend import T, nnet
from .base import Layer
from .convert import register_nonlinearity

__all__ = ["BaseConvLayer", "Conv1DLayer", "Conv2DLayer", "Conv3DLayer", "TransposedConv2DLayer",
           "Deconv2DLayer", "TransposedConv3DLayer", "Deconv3DLayer", "DilatedConv2DLayer", "conv1d_mc0",
           "conv_output_length", "conv_input_length"]


def conv1d_mc0(input: Any, filters: Any, image_shape: Any = None, filter_shape: Any = None,
               border_mode: Any = "valid", subsample: Any = (1,), filter_flip: bool = True,
               num_groups: int = 1) -> Any:
    """Lasagne's ``theano_extensions.conv.conv1d_mc0``: 1-D conv as conv2d on ``(b, c, 1, L)``."""
    image_shape_mc0 = None if image_shape is None else (image_shape[0], image_shape[1], 1, image_shape[2])
    filter_shape_mc0 = None if filter_shape is None else (filter_shape[0], filter_shape[1], 1, filter_shape[2])
    if isinstance(border_mode, tuple):
        (border_mode,) = border_mode
    if isinstance(border_mode, int):
        border_mode = (0, border_mode)
    input_mc0 = input.dimshuffle(0, 1, "x", 2)
    filters_mc0 = filters.dimshuffle(0, 1, "x", 2)
    extra = {"num_groups": num_groups} if num_groups > 1 else {}
    conved = nnet.conv2d(input_mc0, filters_mc0, image_shape_mc0, filter_shape_mc0,
                         subsample=(1, subsample[0]), border_mode=border_mode, filter_flip=filter_flip, **extra)
    return conved[:, :, 0, :]


register_nonlinearity(nnet.conv2d, np_conv.conv2d)
register_nonlinearity(nnet.conv3d, np_conv.conv3d)
register_nonlinearity(conv1d_mc0, np_conv.conv1d_mc0)


class BaseConvLayer(spec.BaseConvLayer, Layer):
    side_defaults = {**Layer.side_defaults, "conv1d_mc0": conv1d_mc0, "conv2d": nnet.conv2d, "conv3d": nnet.conv3d}

    def get_output_for(self, input, **kwargs):
        conved = self.convolve(input, **kwargs)
        if self.b is None:
            activation = conved
        elif self.untie_biases:
            activation = conved + T.shape_padleft(self.b, 1)
        else:
            activation = conved + self.b.dimshuffle(("x", 0) + ("x",) * self.n)
        return self.nonlinearity(activation)


class Conv1DLayer(spec.Conv1DLayer, BaseConvLayer):
    def convolve(self, input, **kwargs):
        extra = {"num_groups": self.num_groups} if self.num_groups > 1 else {}
        return self.convolution(input, self.W, self.input_shape, self.get_W_shape(), subsample=self.stride,
                                border_mode=theano_border_mode(self.pad), filter_flip=self.flip_filters, **extra)


class Conv2DLayer(spec.Conv2DLayer, BaseConvLayer):
    convolve = Conv1DLayer.convolve  # same call, the op (conv2d) comes from ``convolution``


class Conv3DLayer(spec.Conv3DLayer, BaseConvLayer):
    convolve = Conv1DLayer.convolve  # same call, the op (conv3d) comes from ``convolution``


class _TransposedConvNDLayer(spec.TransposedConvLayer, BaseConvLayer):
    _op: Any = None

    def convolve(self, input, **kwargs):
        border = theano_border_mode(self.crop)
        op = self._op(imshp=self.output_shape, kshp=self.get_W_shape(), subsample=self.stride,
                      border_mode=border, filter_flip=not self.flip_filters)
        output_size = self.output_shape[2:]
        if isinstance(self.output_size, T.Variable):
            output_size = self.output_size
        elif any(s is None for s in output_size):
            output_size = self.get_output_shape_for(input.shape)[2:]
        return op(self.W, input, output_size)


class TransposedConv2DLayer(spec.TransposedConv2DLayer, _TransposedConvNDLayer):
    _op = nnet.abstract_conv.AbstractConv2d_gradInputs


Deconv2DLayer = TransposedConv2DLayer


class TransposedConv3DLayer(spec.TransposedConv3DLayer, _TransposedConvNDLayer):
    _op = nnet.abstract_conv.AbstractConv3d_gradInputs


Deconv3DLayer = TransposedConv3DLayer


class DilatedConv2DLayer(spec.DilatedConv2DLayer, BaseConvLayer):
    def convolve(self, input, **kwargs):
        imshp = self.input_shape
        kshp = self.output_shape
        imshp = (imshp[1], imshp[0]) + tuple(imshp[2:])
        kshp = (kshp[1], kshp[0]) + tuple(kshp[2:])
        op = nnet.abstract_conv.AbstractConv2d_gradWeights(imshp=imshp, kshp=kshp, subsample=self.dilation,
                                                           border_mode="valid", filter_flip=False)
        output_size = self.output_shape[2:]
        if any(s is None for s in output_size):
            output_size = self.get_output_shape_for(input.shape)[2:]
        conved = op(input.transpose(1, 0, 2, 3), self.W, output_size)
        return conved.transpose(1, 0, 2, 3)
