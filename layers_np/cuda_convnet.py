"""Twins of Lasagne's ``lasagne.layers.cuda_convnet`` (pylearn2's cuda-convnet wrappers).

cuda-convnet computes in the ``c01b`` layout; the twins transpose ``c01b`` arrays to ``bc01``,
compute with the plain layers' kernels and transpose back (see
:mod:`layers_np.specs.cuda_convnet`):

* ``Conv2DCCLayer``: ``conv2d`` with symmetric padding (``'same'`` is ``k // 2``, ``'full'``
  ``k - 1``), a correlation unless ``flip_filters=True``; with ``dimshuffle=False`` the input
  is ``c01b`` and ``W`` is ``(C, kh, kw, F)``.
* ``MaxPool2DCCLayer``: max pooling with partial windows at the border, as
  ``pool_2d(ignore_border=False)``.
* ``NINLayer_c01b``: ``tensordot(W, x, axes=([1], [0]))`` over the channel axis, plus ``b``.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from . import nonlinearities
from .base import Layer, TwinError
from .conv import BaseConvLayer, conv2d
from .im2col import pool_nd
from .shapes.conv import theano_border_mode
from .specs import cuda_convnet as spec

__all__ = ["Conv2DCCLayer", "MaxPool2DCCLayer", "ShuffleBC01ToC01BLayer", "bc01_to_c01b", "ShuffleC01BToBC01Layer",
           "c01b_to_bc01", "NINLayer_c01b"]


def _check(layer: Layer, input: np.ndarray) -> None:
    if input.ndim != 4:
        raise TwinError(f"{layer._label()}: expected a 4-d input, got shape {input.shape}")


class Conv2DCCLayer(spec.Conv2DCCLayer, BaseConvLayer):
    """cuda-convnet 2-D convolution (``flip_filters=False`` by default).

    Notes
    -----
    In ``bc01`` terms ``out[n, f, y, x] = f(sum_{c, i, j} xpad[n, c, y*s + i, x*s + j] W'[f, c, i, j] + b)``
    with ``W' = W`` unless ``flip_filters``; ``dimshuffle=False`` reads and writes ``c01b``.
    """

    def get_output_for(self, input: np.ndarray, **kwargs: Any) -> np.ndarray:
        _check(self, input)
        x = input if self.dimshuffle else input.transpose(3, 0, 1, 2)
        W = self.W.value if self.dimshuffle else self.W.value.transpose(3, 0, 1, 2)
        out = conv2d(x, W, subsample=self.stride, border_mode=theano_border_mode(self.pad),
                     filter_flip=self.flip_filters)
        if self.b is not None:
            b = self.b.value
            out = nonlinearities.add_owned(out, b[None] if self.untie_biases else b.reshape(1, -1, 1, 1))
        out = nonlinearities.apply_owned(self.nonlinearity, out)
        return out if self.dimshuffle else out.transpose(1, 2, 3, 0)


class MaxPool2DCCLayer(spec.MaxPool2DCCLayer, Layer):
    """cuda-convnet max pooling: square windows, partial windows at the border."""

    def get_output_for(self, input: np.ndarray, **kwargs: Any) -> np.ndarray:
        _check(self, input)
        x = input if self.dimshuffle else input.transpose(3, 0, 1, 2)
        out = pool_nd(x, (self.pool_size,) * 2, (self.stride,) * 2, (0, 0), False, "max")
        return out if self.dimshuffle else out.transpose(1, 2, 3, 0)


class ShuffleBC01ToC01BLayer(spec.ShuffleBC01ToC01BLayer, Layer):
    """``bc01`` to ``c01b``."""

    def get_output_for(self, input: np.ndarray, **kwargs: Any) -> np.ndarray:
        _check(self, input)
        return input.transpose(1, 2, 3, 0)


bc01_to_c01b = ShuffleBC01ToC01BLayer


class ShuffleC01BToBC01Layer(spec.ShuffleC01BToBC01Layer, Layer):
    """``c01b`` to ``bc01``."""

    def get_output_for(self, input: np.ndarray, **kwargs: Any) -> np.ndarray:
        _check(self, input)
        return input.transpose(3, 0, 1, 2)


c01b_to_bc01 = ShuffleC01BToBC01Layer


class NINLayer_c01b(spec.NINLayer_c01b, Layer):
    """Dense layer over the channel axis of ``c01b`` input.

    Notes
    -----
    ``out[u, y, x, n] = f(sum_c W[u, c] x[c, y, x, n] + b[u (, y, x)])``.
    """

    def get_output_for(self, input: np.ndarray, **kwargs: Any) -> np.ndarray:
        if input.ndim != len(self.input_shape) or input.shape[0] != self.W.value.shape[1]:
            raise TwinError(f"{self._label()}: expected input of shape {self.input_shape}, got {input.shape}")
        out = np.tensordot(self.W.value, input, axes=([1], [0]))
        if self.b is not None:
            b = self.b.value
            b = b[..., None] if self.untie_biases else b.reshape((-1,) + (1,) * (input.ndim - 1))
            out = nonlinearities.add_owned(out, b)
        return nonlinearities.apply_owned(self.nonlinearity, out)
