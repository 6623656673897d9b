"""Pooling layers (Lasagne master ``pool.py``) on PyTensor 2.8.11's ``signal.pool``."""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from layers_np import pool as np_pool
from layers_np.shapes.conv import as_tuple
from layers_np.shapes.pool import pool_output_length

from .backend import T, pool
from .base import Layer
from .convert import register_nonlinearity

__all__ = ["Pool1DLayer", "Pool2DLayer", "Pool3DLayer", "MaxPool1DLayer", "MaxPool2DLayer", "MaxPool3DLayer",
           "Upscale1DLayer", "Upscale2DLayer", "Upscale3DLayer", "FeaturePoolLayer", "FeatureWTALayer",
           "GlobalPoolLayer", "SpatialPyramidPoolingLayer", "pool_output_length"]

# pool_function arguments of FeaturePoolLayer/GlobalPoolLayer and their numpy twins
register_nonlinearity(T.max, np.max)
register_nonlinearity(T.mean, np_pool.mean)
register_nonlinearity(T.min, np.min)
register_nonlinearity(T.sum, np.sum)


def pool_2d(input: Any, **kwargs: Any) -> Any:
    return pool.pool_2d(input, **kwargs)


class Pool1DLayer(Layer):
    def __init__(self, incoming: Any, pool_size: Any, stride: Any = None, pad: Any = 0, ignore_border: bool = True,
                 mode: str = "max", **kwargs: Any) -> None:
        super().__init__(incoming, **kwargs)
        if len(self.input_shape) != 3:
            raise ValueError("Tried to create a 1D pooling layer with input shape %r. Expected 3 input dimensions "
                             "(batchsize, channels, 1 spatial dimensions)." % (self.input_shape,))
        self.pool_size = as_tuple(pool_size, 1)
        self.stride = self.pool_size if stride is None else as_tuple(stride, 1)
        self.pad = as_tuple(pad, 1)
        self.ignore_border = ignore_border
        self.mode = mode

    def get_output_shape_for(self, input_shape):
        output_shape = list(input_shape)
        output_shape[-1] = pool_output_length(input_shape[-1], pool_size=self.pool_size[0], stride=self.stride[0],
                                              pad=self.pad[0], ignore_border=self.ignore_border)
        return tuple(output_shape)

    def get_output_for(self, input, **kwargs):
        input_4d = T.shape_padright(input, 1)
        pooled = pool_2d(input_4d, ws=(self.pool_size[0], 1), stride=(self.stride[0], 1),
                         ignore_border=self.ignore_border, pad=(self.pad[0], 0), mode=self.mode)
        return pooled[:, :, :, 0]


class Pool2DLayer(Layer):
    def __init__(self, incoming: Any, pool_size: Any, stride: Any = None, pad: Any = (0, 0),
                 ignore_border: bool = True, mode: str = "max", **kwargs: Any) -> None:
        super().__init__(incoming, **kwargs)
        self.pool_size = as_tuple(pool_size, 2)
        if len(self.input_shape) != 4:
            raise ValueError("Tried to create a 2D pooling layer with input shape %r. Expected 4 input dimensions "
                             "(batchsize, channels, 2 spatial dimensions)." % (self.input_shape,))
        self.stride = self.pool_size if stride is None else as_tuple(stride, 2)
        self.pad = as_tuple(pad, 2)
        self.ignore_border = ignore_border
        self.mode = mode

    def get_output_shape_for(self, input_shape):
        output_shape = list(input_shape)
        for i in range(2):
            output_shape[2 + i] = pool_output_length(input_shape[2 + i], pool_size=self.pool_size[i],
                                                     stride=self.stride[i], pad=self.pad[i],
                                                     ignore_border=self.ignore_border)
        return tuple(output_shape)

    def get_output_for(self, input, **kwargs):
        return pool_2d(input, ws=self.pool_size, stride=self.stride, ignore_border=self.ignore_border,
                       pad=self.pad, mode=self.mode)


class Pool3DLayer(Layer):
    def __init__(self, incoming: Any, pool_size: Any, stride: Any = None, pad: Any = (0, 0, 0),
                 ignore_border: bool = True, mode: str = "max", **kwargs: Any) -> None:
        super().__init__(incoming, **kwargs)
        self.pool_size = as_tuple(pool_size, 3)
        if len(self.input_shape) != 5:
            raise ValueError("Tried to create a 3D pooling layer with input shape %r. Expected 5 input dimensions "
                             "(batchsize, channels, 3 spatial dimensions)." % (self.input_shape,))
        self.stride = self.pool_size if stride is None else as_tuple(stride, 3)
        self.pad = as_tuple(pad, 3)
        self.ignore_border = ignore_border
        self.mode = mode

    def get_output_shape_for(self, input_shape):
        output_shape = list(input_shape)
        for i in range(3):
            output_shape[2 + i] = pool_output_length(input_shape[2 + i], pool_size=self.pool_size[i],
                                                     stride=self.stride[i], pad=self.pad[i],
                                                     ignore_border=self.ignore_border)
        return tuple(output_shape)

    def get_output_for(self, input, **kwargs):
        return pool.pool_3d(input, ws=self.pool_size, stride=self.stride, ignore_border=self.ignore_border,
                            pad=self.pad, mode=self.mode)


class MaxPool1DLayer(Pool1DLayer):
    def __init__(self, incoming: Any, pool_size: Any, stride: Any = None, pad: Any = 0, ignore_border: bool = True,
                 **kwargs: Any) -> None:
        super().__init__(incoming, pool_size, stride, pad, ignore_border, mode="max", **kwargs)


class MaxPool2DLayer(Pool2DLayer):
    def __init__(self, incoming: Any, pool_size: Any, stride: Any = None, pad: Any = (0, 0),
                 ignore_border: bool = True, **kwargs: Any) -> None:
        super().__init__(incoming, pool_size, stride, pad, ignore_border, mode="max", **kwargs)


class MaxPool3DLayer(Pool3DLayer):
    def __init__(self, incoming: Any, pool_size: Any, stride: Any = None, pad: Any = (0, 0, 0),
                 ignore_border: bool = True, **kwargs: Any) -> None:
        super().__init__(incoming, pool_size, stride, pad, ignore_border, mode="max", **kwargs)


class _UpscaleNDLayer(Layer):
    _n = 2

    def __init__(self, incoming: Any, scale_factor: Any, mode: str = "repeat", **kwargs: Any) -> None:
        super().__init__(incoming, **kwargs)
        self.scale_factor = as_tuple(scale_factor, self._n)
        if any(s < 1 for s in self.scale_factor):
            raise ValueError("Scale factor must be >= 1, not {0}".format(self.scale_factor))
        if mode not in {"repeat", "dilate"}:
            raise ValueError("Mode must be either 'repeat' or 'dilate', not {0}".format(mode))
        self.mode = mode

    def get_output_shape_for(self, input_shape):
        output_shape = list(input_shape)
        for i, a in enumerate(self.scale_factor):
            if output_shape[2 + i] is not None:
                output_shape[2 + i] *= a
        return tuple(output_shape)

    def get_output_for(self, input, **kwargs):
        upscaled = input
        if self.mode == "repeat":
            for i in reversed(range(self._n)):
                if self.scale_factor[i] > 1:
                    upscaled = T.extra_ops.repeat(upscaled, self.scale_factor[i], 2 + i)
        elif self.mode == "dilate":
            if any(a > 1 for a in self.scale_factor):
                output_shape = self.get_output_shape_for(input.shape)
                upscaled = T.zeros(shape=output_shape, dtype=input.dtype)
                upscaled = T.set_subtensor(
                    upscaled[(slice(None), slice(None)) + tuple(slice(None, None, a) for a in self.scale_factor)], input)
        return upscaled


class Upscale1DLayer(_UpscaleNDLayer):
    _n = 1

    def __init__(self, incoming: Any, scale_factor: Any, mode: str = "repeat", **kwargs: Any) -> None:
        super().__init__(incoming, scale_factor, mode, **kwargs)


class Upscale2DLayer(_UpscaleNDLayer):
    _n = 2

    def __init__(self, incoming: Any, scale_factor: Any, mode: str = "repeat", **kwargs: Any) -> None:
        super().__init__(incoming, scale_factor, mode, **kwargs)


class Upscale3DLayer(_UpscaleNDLayer):
    _n = 3

    def __init__(self, incoming: Any, scale_factor: Any, mode: str = "repeat", **kwargs: Any) -> None:
        super().__init__(incoming, scale_factor, mode, **kwargs)


class FeaturePoolLayer(Layer):
    def __init__(self, incoming: Any, pool_size: int, axis: int = 1, pool_function: Callable = T.max,
                 **kwargs: Any) -> None:
        super().__init__(incoming, **kwargs)
        self.pool_size = pool_size
        self.axis = axis
        self.pool_function = pool_function
        num_feature_maps = self.input_shape[self.axis]
        if num_feature_maps % self.pool_size != 0:
            raise ValueError("Number of input feature maps (%d) is not a multiple of the pool size (pool_size=%d)"
                             % (num_feature_maps, self.pool_size))

    def get_output_shape_for(self, input_shape):
        output_shape = list(input_shape)
        output_shape[self.axis] = input_shape[self.axis] // self.pool_size
        return tuple(output_shape)

    def get_output_for(self, input, **kwargs):
        input_shape = tuple(input.shape)
        num_feature_maps = input_shape[self.axis]
        num_feature_maps_out = num_feature_maps // self.pool_size
        axis = self.axis % input.ndim
        pool_shape = input_shape[:axis] + (num_feature_maps_out, self.pool_size) + input_shape[axis + 1:]
        input_reshaped = input.reshape(pool_shape)
        return self.pool_function(input_reshaped, axis=axis + 1)


class FeatureWTALayer(Layer):
    def __init__(self, incoming: Any, pool_size: int, axis: int = 1, **kwargs: Any) -> None:
        super().__init__(incoming, **kwargs)
        self.pool_size = pool_size
        self.axis = axis
        num_feature_maps = self.input_shape[self.axis]
        if num_feature_maps % self.pool_size != 0:
            raise ValueError("Number of input feature maps (%d) is not a multiple of the region size "
                             "(pool_size=%d)" % (num_feature_maps, self.pool_size))

    def get_output_for(self, input, **kwargs):
        axis = self.axis % input.ndim
        num_feature_maps = input.shape[axis]
        num_pools = num_feature_maps // self.pool_size
        pool_shape = ()
        arange_shuffle_pattern = ()
        for k in range(axis):
            pool_shape += (input.shape[k],)
            arange_shuffle_pattern += ("x",)
        pool_shape += (num_pools, self.pool_size)
        arange_shuffle_pattern += ("x", 0)
        for k in range(axis + 1, input.ndim):
            pool_shape += (input.shape[k],)
            arange_shuffle_pattern += ("x",)
        input_reshaped = input.reshape(pool_shape)
        max_indices = T.argmax(input_reshaped, axis=axis + 1, keepdims=True)
        arange = T.arange(self.pool_size).dimshuffle(*arange_shuffle_pattern)
        mask = T.eq(max_indices, arange).reshape(input.shape)
        return input * mask


class GlobalPoolLayer(Layer):
    def __init__(self, incoming: Any, pool_function: Callable = T.mean, **kwargs: Any) -> None:
        super().__init__(incoming, **kwargs)
        self.pool_function = pool_function

    def get_output_shape_for(self, input_shape):
        return tuple(input_shape[:2])

    def get_output_for(self, input, **kwargs):
        return self.pool_function(input.flatten(3), axis=2)


def pool_2d_nxn_regions(inputs: Any, output_size: int, mode: str = "max") -> list:
    if mode == "max":
        pooling_op = T.max
    elif mode in ["average_inc_pad", "average_exc_pad"]:
        pooling_op = T.mean
    else:
        raise ValueError("Mode must be either 'max', 'average_inc_pad' or 'average_exc_pad'. Got '{0}'".format(mode))
    h, w = inputs.shape[2:]
    result = []
    n = float(output_size)
    for row in range(output_size):
        for col in range(output_size):
            start_h = T.floor(row / n * h).astype("int32")
            end_h = T.ceil((row + 1) / n * h).astype("int32")
            start_w = T.floor(col / n * w).astype("int32")
            end_w = T.ceil((col + 1) / n * w).astype("int32")
            pooling_region = inputs[:, :, start_h:end_h, start_w:end_w]
            this_result = pooling_op(pooling_region, axis=(2, 3))
            result.append(this_result.dimshuffle(0, 1, "x"))
    return result


class SpatialPyramidPoolingLayer(Layer):
    def __init__(self, incoming: Any, pool_dims: Sequence[int] = [4, 2, 1], mode: str = "max",
                 implementation: str = "fast", **kwargs: Any) -> None:
        super().__init__(incoming, **kwargs)
        if len(self.input_shape) != 4:
            raise ValueError("Tried to create a SPP layer with input shape %r. Expected 4 input dimensions "
                             "(batchsize, channels, 2 spatial dimensions)." % (self.input_shape,))
        self.mode = mode
        self.implementation = implementation
        self.pool_dims = pool_dims

    def get_output_for(self, input, **kwargs):
        input_size = tuple(symb if fixed is None else fixed
                           for fixed, symb in zip(self.input_shape[2:], input.shape[2:]))
        pool_list = []
        for pool_dim in self.pool_dims:
            if self.implementation == "kaiming":
                pool_list += pool_2d_nxn_regions(input, pool_dim, mode=self.mode)
            else:
                win_size = tuple((i + pool_dim - 1) // pool_dim for i in input_size)
                str_size = tuple(i // pool_dim for i in input_size)
                pooled = pool_2d(input, ws=win_size, stride=str_size, mode=self.mode, pad=None, ignore_border=True)
                pool_list.append(pooled.flatten(3))
        return T.concatenate(pool_list, axis=2)

    def get_output_shape_for(self, input_shape):
        num_features = sum(p * p for p in self.pool_dims)
        return (input_shape[0], input_shape[1], num_features)
