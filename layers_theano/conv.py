"""Convolution layers (Lasagne master ``conv.py``) on PyTensor 2.8.11's ``nnet`` conv ops."""
from __future__ import annotations

from typing import Any, Callable, Optional

from layers_np import conv as np_conv
from layers_np import init
from layers_np.shapes.conv import as_tuple, conv_input_length, conv_output_length, theano_border_mode

from . import nonlinearities
from .backend import T, nnet
from .base import Layer
from .convert import register_nonlinearity

__all__ = ["BaseConvLayer", "Conv1DLayer", "Conv2DLayer", "Conv3DLayer", "TransposedConv2DLayer",
           "Deconv2DLayer", "TransposedConv3DLayer", "Deconv3DLayer", "DilatedConv2DLayer", "conv1d_mc0",
           "conv_output_length", "conv_input_length"]


def conv1d_mc0(input: Any, filters: Any, image_shape: Any = None, filter_shape: Any = None,
               border_mode: Any = "valid", subsample: Any = (1,), filter_flip: bool = True) -> Any:
    """Lasagne's ``theano_extensions.conv.conv1d_mc0``: 1-D conv as conv2d on ``(b, c, 1, L)``."""
    image_shape_mc0 = None if image_shape is None else (image_shape[0], image_shape[1], 1, image_shape[2])
    filter_shape_mc0 = None if filter_shape is None else (filter_shape[0], filter_shape[1], 1, filter_shape[2])
    if isinstance(border_mode, tuple):
        (border_mode,) = border_mode
    if isinstance(border_mode, int):
        border_mode = (0, border_mode)
    input_mc0 = input.dimshuffle(0, 1, "x", 2)
    filters_mc0 = filters.dimshuffle(0, 1, "x", 2)
    conved = nnet.conv2d(input_mc0, filters_mc0, image_shape_mc0, filter_shape_mc0,
                         subsample=(1, subsample[0]), border_mode=border_mode, filter_flip=filter_flip)
    return conved[:, :, 0, :]


register_nonlinearity(nnet.conv2d, np_conv.conv2d)
register_nonlinearity(nnet.conv3d, np_conv.conv3d)
register_nonlinearity(conv1d_mc0, np_conv.conv1d_mc0)


class BaseConvLayer(Layer):
    def __init__(self, incoming: Any, num_filters: int, filter_size: Any, stride: Any = 1, pad: Any = 0,
                 untie_biases: bool = False, W: Any = init.GlorotUniform(), b: Any = init.Constant(0.0),
                 nonlinearity: Optional[Callable] = nonlinearities.rectify, flip_filters: bool = True,
                 n: Optional[int] = None, num_groups: int = 1, **kwargs: Any) -> None:
        super().__init__(incoming, **kwargs)
        self.nonlinearity = nonlinearities.identity if nonlinearity is None else nonlinearity
        if n is None:
            n = len(self.input_shape) - 2
        elif n != len(self.input_shape) - 2:
            raise ValueError("Tried to create a %dD convolution layer with input shape %r. Expected %d input "
                             "dimensions (batchsize, channels, %d spatial dimensions)." % (n, self.input_shape, n + 2, n))
        self.n = n
        self.num_filters = num_filters
        self.filter_size = as_tuple(filter_size, n, "filter_size", int)
        self.flip_filters = flip_filters
        self.stride = as_tuple(stride, n, "stride", int)
        self.untie_biases = untie_biases
        if pad == "same":
            if any(s % 2 == 0 for s in self.filter_size):
                raise NotImplementedError("`same` padding requires odd filter size.")
        if pad == "valid":
            self.pad: Any = as_tuple(0, n)
        elif pad in ("full", "same"):
            self.pad = pad
        else:
            self.pad = as_tuple(pad, n, "pad", int)
        if num_groups <= 0 or self.num_filters % num_groups != 0 or self.input_shape[1] % num_groups != 0:
            raise ValueError("num_groups (=%d) must be positive and evenly divide the number of input and "
                             "output channels" % num_groups)
        self.num_groups = num_groups
        self.W = self.add_param(W, self.get_W_shape(), name="W")
        if b is None:
            self.b = None
        else:
            biases_shape = (num_filters,) + tuple(self.output_shape[2:]) if untie_biases else (num_filters,)
            self.b = self.add_param(b, biases_shape, name="b", regularizable=False)

    def get_W_shape(self):
        num_input_channels = self.input_shape[1]
        if num_input_channels is None:
            raise ValueError("The number of input channels cannot be None, got input shape %r" % (self.input_shape,))
        return (self.num_filters, num_input_channels // self.num_groups) + self.filter_size

    def get_output_shape_for(self, input_shape):
        pad = self.pad if isinstance(self.pad, tuple) else (self.pad,) * self.n
        return (input_shape[0], self.num_filters) + tuple(
            conv_output_length(i, f, s, p) for i, f, s, p in zip(input_shape[2:], self.filter_size, self.stride, pad))

    def get_output_for(self, input, **kwargs):
        conved = self.convolve(input, **kwargs)
        if self.b is None:
            activation = conved
        elif self.untie_biases:
            activation = conved + T.shape_padleft(self.b, 1)
        else:
            activation = conved + self.b.dimshuffle(("x", 0) + ("x",) * self.n)
        return self.nonlinearity(activation)

    def convolve(self, input, **kwargs):
        raise NotImplementedError


class Conv1DLayer(BaseConvLayer):
    def __init__(self, incoming: Any, num_filters: int, filter_size: Any, stride: Any = 1, pad: Any = 0,
                 untie_biases: bool = False, W: Any = init.GlorotUniform(), b: Any = init.Constant(0.0),
                 nonlinearity: Optional[Callable] = nonlinearities.rectify, flip_filters: bool = True,
                 convolution: Callable = conv1d_mc0, **kwargs: Any) -> None:
        super().__init__(incoming, num_filters, filter_size, stride, pad, untie_biases, W, b, nonlinearity,
                         flip_filters, n=1, **kwargs)
        self.convolution = convolution

    def convolve(self, input, **kwargs):
        return self.convolution(input, self.W, self.input_shape, self.get_W_shape(), subsample=self.stride,
                                border_mode=theano_border_mode(self.pad), filter_flip=self.flip_filters)


class Conv2DLayer(BaseConvLayer):
    def __init__(self, incoming: Any, num_filters: int, filter_size: Any, stride: Any = (1, 1), pad: Any = 0,
                 untie_biases: bool = False, W: Any = init.GlorotUniform(), b: Any = init.Constant(0.0),
                 nonlinearity: Optional[Callable] = nonlinearities.rectify, flip_filters: bool = True,
                 num_groups: int = 1, convolution: Callable = nnet.conv2d, **kwargs: Any) -> None:
        super().__init__(incoming, num_filters, filter_size, stride, pad, untie_biases, W, b, nonlinearity,
                         flip_filters, n=2, num_groups=num_groups, **kwargs)
        self.convolution = convolution

    def convolve(self, input, **kwargs):
        extra = {"num_groups": self.num_groups} if self.num_groups > 1 else {}
        return self.convolution(input, self.W, self.input_shape, self.get_W_shape(), subsample=self.stride,
                                border_mode=theano_border_mode(self.pad), filter_flip=self.flip_filters, **extra)


class Conv3DLayer(BaseConvLayer):
    def __init__(self, incoming: Any, num_filters: int, filter_size: Any, stride: Any = (1, 1, 1), pad: Any = 0,
                 untie_biases: bool = False, W: Any = init.GlorotUniform(), b: Any = init.Constant(0.0),
                 nonlinearity: Optional[Callable] = nonlinearities.rectify, flip_filters: bool = True,
                 num_groups: int = 1, convolution: Callable = nnet.conv3d, **kwargs: Any) -> None:
        super().__init__(incoming, num_filters, filter_size, stride, pad, untie_biases, W, b, nonlinearity,
                         flip_filters, n=3, num_groups=num_groups, **kwargs)
        self.convolution = convolution

    convolve = Conv2DLayer.convolve  # same call, the op (conv3d) comes from ``convolution``


class _TransposedConvNDLayer(BaseConvLayer):
    _n = 2
    _op: Any = None

    def __init__(self, incoming, num_filters, filter_size, stride, crop, untie_biases, W, b, nonlinearity,
                 flip_filters, output_size, **kwargs):
        if not isinstance(output_size, T.Variable) and output_size is not None:
            output_size = as_tuple(output_size, self._n, "output_size", int)
        self.output_size = output_size
        super().__init__(incoming, num_filters, filter_size, stride, crop, untie_biases, W, b, nonlinearity,
                         flip_filters, n=self._n, **kwargs)
        self.crop = self.pad
        del self.pad

    def get_W_shape(self):
        return (self.input_shape[1], self.num_filters) + self.filter_size

    def get_output_shape_for(self, input_shape):
        if self.output_size is not None:
            size = self.output_size
            if isinstance(self.output_size, T.Variable):
                size = (None,) * self.n
            return (input_shape[0], self.num_filters) + tuple(size)
        crop = getattr(self, "crop", getattr(self, "pad", None))
        crop = crop if isinstance(crop, tuple) else (crop,) * self.n
        return (input_shape[0], self.num_filters) + tuple(
            conv_input_length(i, f, s, p) for i, f, s, p in zip(input_shape[2:], self.filter_size, self.stride, crop))

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


class TransposedConv2DLayer(_TransposedConvNDLayer):
    _n = 2
    _op = nnet.abstract_conv.AbstractConv2d_gradInputs

    def __init__(self, incoming: Any, num_filters: int, filter_size: Any, stride: Any = (1, 1), crop: Any = 0,
                 untie_biases: bool = False, W: Any = init.GlorotUniform(), b: Any = init.Constant(0.0),
                 nonlinearity: Optional[Callable] = nonlinearities.rectify, flip_filters: bool = False,
                 output_size: Any = None, **kwargs: Any) -> None:
        super().__init__(incoming, num_filters, filter_size, stride, crop, untie_biases, W, b, nonlinearity,
                         flip_filters, output_size, **kwargs)


Deconv2DLayer = TransposedConv2DLayer


class TransposedConv3DLayer(_TransposedConvNDLayer):
    _n = 3
    _op = nnet.abstract_conv.AbstractConv3d_gradInputs

    def __init__(self, incoming: Any, num_filters: int, filter_size: Any, stride: Any = (1, 1, 1), crop: Any = 0,
                 untie_biases: bool = False, W: Any = init.GlorotUniform(), b: Any = init.Constant(0.0),
                 nonlinearity: Optional[Callable] = nonlinearities.rectify, flip_filters: bool = False,
                 output_size: Any = None, **kwargs: Any) -> None:
        super().__init__(incoming, num_filters, filter_size, stride, crop, untie_biases, W, b, nonlinearity,
                         flip_filters, output_size, **kwargs)


Deconv3DLayer = TransposedConv3DLayer


class DilatedConv2DLayer(BaseConvLayer):
    def __init__(self, incoming: Any, num_filters: int, filter_size: Any, dilation: Any = (1, 1), pad: Any = 0,
                 untie_biases: bool = False, W: Any = init.GlorotUniform(), b: Any = init.Constant(0.0),
                 nonlinearity: Optional[Callable] = nonlinearities.rectify, flip_filters: bool = False,
                 **kwargs: Any) -> None:
        self.dilation = as_tuple(dilation, 2, "dilation", int)
        super().__init__(incoming, num_filters, filter_size, 1, pad, untie_biases, W, b, nonlinearity,
                         flip_filters, n=2, **kwargs)
        del self.stride
        if self.pad != (0, 0):
            raise NotImplementedError("DilatedConv2DLayer requires pad=0 / (0,0) / 'valid', but got %r. For a "
                                      "padded dilated convolution, add a PadLayer." % (pad,))
        if self.flip_filters:
            raise NotImplementedError("DilatedConv2DLayer requires flip_filters=False.")

    def get_W_shape(self):
        return (self.input_shape[1], self.num_filters) + self.filter_size

    def get_output_shape_for(self, input_shape):
        return (input_shape[0], self.num_filters) + tuple(
            conv_output_length(i, (f - 1) * d + 1, 1, 0)
            for i, f, d in zip(input_shape[2:], self.filter_size, self.dilation))

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
