"""Spec of Lasagne master's ``lasagne/layers/cuda_convnet.py`` (pylearn2's cuda-convnet wrappers).

cuda-convnet works in the ``c01b`` layout (channels, rows, columns, batch). ``Conv2DCCLayer``
and ``MaxPool2DCCLayer`` take ``bc01`` input and shuffle it (``dimshuffle=True``, the default)
or take ``c01b`` input directly (``dimshuffle=False``: ``W`` is then ``(C, kh, kw, F)``, an
untied ``b`` ``(F, out_rows, out_cols)``, initialised by ``GlorotUniform(c01b=True)``).
Restrictions, as master raises them: square filters, strides, padding and pools; ``num_filters``
a multiple of 16; 1, 2, 3 or a multiple of 4 input channels; pools with ``stride <= pool_size``,
no padding and ``ignore_border=False`` (partial windows at the border, as Theano's
``pool_2d(ignore_border=False)``).

One leniency: master builds an untied ``b`` for ``dimshuffle=False`` first with a wrong shape
``(F, cols, batch)`` (then replaces it), which fails when the batch size is None; here it is
made once with its final shape. The parameters are the same (``W`` then ``b``).
"""
from __future__ import annotations

from typing import Any, Callable, Optional

from .. import init
from ..shapes.conv import as_tuple
from ..shapes.pool import pool_output_length
from .base import Layer, SideDefault, nonlinearity_or_identity, plain_int
from .conv import BaseConvLayer

__all__ = ["Conv2DCCLayer", "MaxPool2DCCLayer", "ShuffleBC01ToC01BLayer", "ShuffleC01BToBC01Layer", "NINLayer_c01b"]


class Conv2DCCLayer(BaseConvLayer):
    """cuda-convnet 2-D convolution (``flip_filters=False`` by default); see the module notes."""

    def __init__(self, incoming: Any, num_filters: int, filter_size: Any, stride: Any = (1, 1), pad: Any = 0,
                 untie_biases: bool = False, W: Any = None, b: Any = init.Constant(0.),
                 nonlinearity: Optional[Callable] = SideDefault("rectify"), dimshuffle: bool = True,
                 flip_filters: bool = False, partial_sum: Any = 1, **kwargs: Any) -> None:
        if W is None:
            W = init.GlorotUniform() if dimshuffle else init.GlorotUniform(c01b=True)
        self.dimshuffle = dimshuffle
        c01b_untied = not dimshuffle and untie_biases and b is not None
        super().__init__(incoming, num_filters, filter_size, stride, pad, untie_biases, W,
                         None if c01b_untied else b, nonlinearity, flip_filters, n=2, **kwargs)
        self.partial_sum = partial_sum
        if self.filter_size[0] != self.filter_size[1]:
            raise RuntimeError(f"Conv2DCCLayer only supports square filters, but filter_size={self.filter_size}")
        if self.stride[0] != self.stride[1]:
            raise RuntimeError(f"Conv2DCCLayer only supports square strides, but stride={self.stride}")
        if self.num_filters % 16 != 0:
            raise RuntimeError(f"Conv2DCCLayer requires num_filters to be a multiple of 16, but num_filters is "
                               f"{self.num_filters}")
        if not (self.num_input_channels < 4 or self.num_input_channels % 4 == 0):
            raise RuntimeError(f"Conv2DCCLayer requires the number of input channels to be 1, 2, 3 or a multiple "
                               f"of 4, but it is {self.num_input_channels}")
        if isinstance(self.pad, tuple) and self.pad[0] != self.pad[1]:
            raise RuntimeError(f"Conv2DCCLayer only supports square padding, but pad={self.pad}")
        if c01b_untied:
            shape = (self.num_filters, self.output_shape[1], self.output_shape[2])
            self.b = self.add_param(b, shape, name="b", regularizable=False)

    @property
    def num_input_channels(self) -> Any:
        return self.input_shape[1] if self.dimshuffle else self.input_shape[0]

    def get_W_shape(self):
        if self.dimshuffle:
            return super().get_W_shape()
        return (self.num_input_channels,) + self.filter_size + (self.num_filters,)

    def get_output_shape_for(self, input_shape):
        if not self.dimshuffle:
            input_shape = (input_shape[3], input_shape[0], input_shape[1], input_shape[2])
        shape = super().get_output_shape_for(input_shape)
        if not self.dimshuffle:
            shape = (shape[1], shape[2], shape[3], shape[0])
        return shape


class MaxPool2DCCLayer(Layer):
    """cuda-convnet max pooling: square pools, ``stride <= pool_size``, partial border windows."""

    def __init__(self, incoming: Any, pool_size: Any, stride: Any = None, ignore_border: bool = False,
                 dimshuffle: bool = True, **kwargs: Any) -> None:
        if "pad" in kwargs:
            pad = kwargs.pop("pad")
            if as_tuple(pad, 2) != (0, 0):
                raise NotImplementedError("MaxPool2DCCLayer does not support padding")
        super().__init__(incoming, **kwargs)
        pool_size = tuple(plain_int(p) for p in as_tuple(pool_size, 2))
        if pool_size[0] != pool_size[1]:
            raise NotImplementedError(f"MaxPool2DCCLayer only supports square pooling regions, but "
                                      f"pool_size={pool_size}")
        self.pool_size = pool_size[0]
        if stride is None:
            self.stride = self.pool_size
        else:
            stride = tuple(plain_int(s) for s in as_tuple(stride, 2))
            if stride[0] != stride[1]:
                raise NotImplementedError(f"MaxPool2DCCLayer only supports using the same stride in both "
                                          f"directions but stride={stride}")
            self.stride = stride[0]
        if self.stride > self.pool_size:
            raise NotImplementedError("MaxPool2DCCLayer only supports stride <= pool_size.")
        if ignore_border:
            raise NotImplementedError("MaxPool2DCCLayer does not support ignore_border=True.")
        self.dimshuffle = dimshuffle

    def get_output_shape_for(self, input_shape):
        if self.dimshuffle:
            batch, channels, rows, cols = input_shape
        else:
            channels, rows, cols, batch = input_shape
        rows, cols = (pool_output_length(n, pool_size=self.pool_size, stride=self.stride, pad=0, ignore_border=False)
                      for n in (rows, cols))
        return (batch, channels, rows, cols) if self.dimshuffle else (channels, rows, cols, batch)


class ShuffleBC01ToC01BLayer(Layer):
    """``bc01`` to ``c01b``: ``input.transpose(1, 2, 3, 0)``."""

    def get_output_shape_for(self, input_shape):
        return (input_shape[1], input_shape[2], input_shape[3], input_shape[0])


class ShuffleC01BToBC01Layer(Layer):
    """``c01b`` to ``bc01``: ``input.transpose(3, 0, 1, 2)``."""

    def get_output_shape_for(self, input_shape):
        return (input_shape[3], input_shape[0], input_shape[1], input_shape[2])


class NINLayer_c01b(Layer):
    """Network-in-network layer on ``c01b`` input: a dense layer over the channel axis 0.

    ``W`` is ``(num_units, C)``; ``b`` is ``(num_units,)`` or, untied, ``(num_units, rows, cols)``;
    output ``(num_units, rows, cols, batch)``.
    """

    def __init__(self, incoming: Any, num_units: int, untie_biases: bool = False, W: Any = init.GlorotUniform(),
                 b: Any = init.Constant(0.), nonlinearity: Optional[Callable] = SideDefault("rectify"),
                 **kwargs: Any) -> None:
        super().__init__(incoming, **kwargs)
        self.nonlinearity = nonlinearity_or_identity(self, nonlinearity)
        self.num_units = plain_int(num_units)
        self.untie_biases = untie_biases
        self.W = self.add_param(W, (self.num_units, self.input_shape[0]), name="W")
        if b is None:
            self.b = None
        else:
            shape = (self.num_units,) + tuple(self.output_shape[1:-1]) if untie_biases else (self.num_units,)
            self.b = self.add_param(b, shape, name="b", regularizable=False)

    def get_output_shape_for(self, input_shape):
        return (self.num_units,) + tuple(input_shape[1:])
