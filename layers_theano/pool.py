"""Pooling layers (Lasagne master ``pool.py``) on PyTensor 2.8.11's ``signal.pool``."""
from __future__ import annotations

from typing import Any

import numpy as np

from layers_np import pool as np_pool
from layers_np.shapes.pool import pool_output_length
from layers_np.specs import pool as spec

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


class Pool1DLayer(spec.Pool1DLayer, Layer):
    def get_output_for(self, input, **kwargs):
        input_4d = T.shape_padright(input, 1)
        pooled = pool_2d(input_4d, ws=(self.pool_size[0], 1), stride=(self.stride[0], 1),
                         ignore_border=self.ignore_border, pad=(self.pad[0], 0), mode=self.mode)
        return pooled[:, :, :, 0]


class Pool2DLayer(spec.Pool2DLayer, Layer):
    def get_output_for(self, input, **kwargs):
        return pool_2d(input, ws=self.pool_size, stride=self.stride, ignore_border=self.ignore_border,
                       pad=self.pad, mode=self.mode)


class Pool3DLayer(spec.Pool3DLayer, Layer):
    def get_output_for(self, input, **kwargs):
        return pool.pool_3d(input, ws=self.pool_size, stride=self.stride, ignore_border=self.ignore_border,
                            pad=self.pad, mode=self.mode)


class MaxPool1DLayer(spec.MaxPool1DLayer, Pool1DLayer):
    """Lasagne\'s max pooling layer (the spec fixes ``mode="max"``)."""


class MaxPool2DLayer(spec.MaxPool2DLayer, Pool2DLayer):
    """Lasagne\'s max pooling layer (the spec fixes ``mode="max"``)."""


class MaxPool3DLayer(spec.MaxPool3DLayer, Pool3DLayer):
    """Lasagne\'s max pooling layer (the spec fixes ``mode="max"``)."""


class _UpscaleNDLayer(spec.UpscaleLayer, Layer):
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


class Upscale1DLayer(spec.Upscale1DLayer, _UpscaleNDLayer):
    """Lasagne\'s upscaling layer (``_n`` spatial axes from the spec)."""


class Upscale2DLayer(spec.Upscale2DLayer, _UpscaleNDLayer):
    """Lasagne\'s upscaling layer (``_n`` spatial axes from the spec)."""


class Upscale3DLayer(spec.Upscale3DLayer, _UpscaleNDLayer):
    """Lasagne\'s upscaling layer (``_n`` spatial axes from the spec)."""


class FeaturePoolLayer(spec.FeaturePoolLayer, Layer):
    side_defaults = {**Layer.side_defaults, "max": T.max, "mean": T.mean}


    def get_output_for(self, input, **kwargs):
        input_shape = tuple(input.shape)
        num_feature_maps = input_shape[self.axis]
        num_feature_maps_out = num_feature_maps // self.pool_size
        axis = self.axis % input.ndim
        pool_shape = input_shape[:axis] + (num_feature_maps_out, self.pool_size) + input_shape[axis + 1:]
        input_reshaped = input.reshape(pool_shape)
        return self.pool_function(input_reshaped, axis=axis + 1)


class FeatureWTALayer(spec.FeatureWTALayer, Layer):
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


class GlobalPoolLayer(spec.GlobalPoolLayer, Layer):
    side_defaults = {**Layer.side_defaults, "max": T.max, "mean": T.mean}


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


class SpatialPyramidPoolingLayer(spec.SpatialPyramidPoolingLayer, Layer):
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
