"""Pooling, upscaling and feature-pooling twins (Lasagne master ``lasagne/layers/pool.py``).

Pooling follows Theano's ``signal.pool`` op exactly (see :func:`layers_np.im2col.pool_nd`):
windows are reduced from strided slices; sums in the C loop's order, max so that each
window yields the same element as that order.
"""
from __future__ import annotations

import math
from typing import Any, Callable, Optional, Sequence

import numpy as np

from .im2col import pool_nd
from .base import Layer, TwinError
from .shapes.pool import pool_output_length
from .specs import pool as spec

__all__ = ["Pool1DLayer", "Pool2DLayer", "Pool3DLayer", "MaxPool1DLayer", "MaxPool2DLayer", "MaxPool3DLayer",
           "Upscale1DLayer", "Upscale2DLayer", "Upscale3DLayer", "FeaturePoolLayer", "FeatureWTALayer",
           "GlobalPoolLayer", "SpatialPyramidPoolingLayer", "pool_2d", "pool_3d", "pool_output_length"]

def mean(x: np.ndarray, axis: Any = None, **kwargs: Any) -> np.ndarray:
    """Theano's ``T.mean``: the sum accumulated in float64, rounded to the input dtype, divided by n."""
    x = np.asarray(x)
    s = np.sum(x, axis=axis, dtype=np.float64)
    s = np.asarray(s).astype(x.dtype)
    n = x.size // max(s.size, 1) if x.size else 0
    return s / np.asarray(n, dtype=x.dtype)


def pool_2d(input: np.ndarray, ws: Sequence[int], ignore_border: bool = True, stride: Optional[Sequence[int]] = None,
            pad: Optional[Sequence[int]] = (0, 0), mode: str = "max") -> np.ndarray:
    """Twin of ``T.signal.pool.pool_2d`` over the last two axes (see :func:`layers_np.im2col.pool_nd`)."""
    ws = tuple(int(w) for w in ws)
    stride = ws if stride is None else tuple(int(s) for s in stride)
    pad = (0, 0) if pad is None else tuple(int(p) for p in pad)
    return pool_nd(np.asarray(input), ws, stride, pad, ignore_border, mode)


def pool_3d(input: np.ndarray, ws: Sequence[int], ignore_border: bool = True, stride: Optional[Sequence[int]] = None,
            pad: Optional[Sequence[int]] = (0, 0, 0), mode: str = "max") -> np.ndarray:
    """Twin of ``T.signal.pool.pool_3d`` over the last three axes."""
    ws = tuple(int(w) for w in ws)
    stride = ws if stride is None else tuple(int(s) for s in stride)
    pad = (0, 0, 0) if pad is None else tuple(int(p) for p in pad)
    return pool_nd(np.asarray(input), ws, stride, pad, ignore_border, mode)


class _PoolNDLayer(spec.PoolLayer, Layer):
    """Shared code of Pool1D/2D/3DLayer.

    Notes
    -----
    Output length per axis ``(L + 2p - ws) // s + 1`` (``ignore_border``) or, pad 0,
    ``ceil(L / s)`` if ``s >= ws`` else ``max(0, (L - ws + s - 1) // s) + 1`` with partial
    edge windows. ``max`` and ``average_exc_pad`` only see real elements;
    ``average_inc_pad`` divides by ``prod(pool_size)`` when ``ignore_border`` is True.
    """

    def get_output_for(self, input, **kwargs):
        if input.ndim != self._n + 2:
            raise TwinError(f"{self._label()}: expected a {self._n + 2}-d input, got shape {input.shape}")
        return pool_nd(input, self.pool_size, self.stride, self.pad, self.ignore_border, self.mode)


class Pool1DLayer(spec.Pool1DLayer, _PoolNDLayer):
    """1-D pooling over the last axis of ``(batch, channels, length)`` (see :class:`_PoolNDLayer` Notes)."""


class Pool2DLayer(spec.Pool2DLayer, _PoolNDLayer):
    """2-D pooling over the last two axes (see :class:`_PoolNDLayer` Notes)."""


class Pool3DLayer(spec.Pool3DLayer, _PoolNDLayer):
    """3-D pooling over the last three axes (see :class:`_PoolNDLayer` Notes)."""


class MaxPool1DLayer(spec.MaxPool1DLayer, Pool1DLayer):
    """:class:`Pool1DLayer` with ``mode='max'``."""


class MaxPool2DLayer(spec.MaxPool2DLayer, Pool2DLayer):
    """:class:`Pool2DLayer` with ``mode='max'``."""


class MaxPool3DLayer(spec.MaxPool3DLayer, Pool3DLayer):
    """:class:`Pool3DLayer` with ``mode='max'``."""


class _UpscaleNDLayer(spec.UpscaleLayer, Layer):
    """Upscaling of the spatial axes.

    Notes
    -----
    ``'repeat'``: ``out[..., y] = x[..., y // a]``; ``'dilate'``: ``out[..., a*y] = x[..., y]``,
    zeros elsewhere (per axis, scale factor ``a``).
    """

    def get_output_for(self, input, **kwargs):
        if self.mode == "repeat":
            out = input
            for i in reversed(range(self._n)):
                if self.scale_factor[i] > 1:
                    out = np.repeat(out, self.scale_factor[i], axis=2 + i)
            return out
        if all(a == 1 for a in self.scale_factor):
            return input
        out = np.zeros(self.get_output_shape_for(input.shape), dtype=input.dtype)
        out[(slice(None), slice(None)) + tuple(slice(None, None, a) for a in self.scale_factor)] = input
        return out


class Upscale1DLayer(spec.Upscale1DLayer, _UpscaleNDLayer):
    """Upscale the last axis of a 3-D input (see :class:`_UpscaleNDLayer` Notes)."""


class Upscale2DLayer(spec.Upscale2DLayer, _UpscaleNDLayer):
    """Upscale the last two axes of a 4-D input (see :class:`_UpscaleNDLayer` Notes)."""


class Upscale3DLayer(spec.Upscale3DLayer, _UpscaleNDLayer):
    """Upscale the last three axes of a 5-D input (see :class:`_UpscaleNDLayer` Notes)."""


_POOL_FUNCTIONS = {"max": np.max, "mean": mean}


class FeaturePoolLayer(spec.FeaturePoolLayer, Layer):
    """Pool groups of ``pool_size`` consecutive features along ``axis``.

    Notes
    -----
    ``out[..., g, ...] = pool_function(x[..., g*p:(g+1)*p, ...])`` over the feature axis.
    """

    side_defaults = {**Layer.side_defaults, **_POOL_FUNCTIONS}

    def get_output_for(self, input, **kwargs):
        axis = self.axis % input.ndim
        shape = input.shape[:axis] + (input.shape[axis] // self.pool_size, self.pool_size) + input.shape[axis + 1:]
        return self.pool_function(input.reshape(shape), axis=axis + 1)


class FeatureWTALayer(spec.FeatureWTALayer, Layer):
    """Winner-take-all over groups of ``pool_size`` consecutive features.

    Notes
    -----
    ``out = x * (index within the group == first argmax of the group)``; the shape is unchanged.
    """

    def get_output_for(self, input, **kwargs):
        axis = self.axis % input.ndim
        shape = input.shape[:axis] + (input.shape[axis] // self.pool_size, self.pool_size) + input.shape[axis + 1:]
        idx = np.argmax(input.reshape(shape), axis=axis + 1)
        arange = np.arange(self.pool_size).reshape((1,) * (axis + 1) + (-1,) + (1,) * (input.ndim - axis - 1))
        mask = (np.expand_dims(idx, axis + 1) == arange).reshape(input.shape)
        return input * mask.astype(np.int8)


class GlobalPoolLayer(spec.GlobalPoolLayer, Layer):
    """Pool over all trailing axes: ``pool_function(x.reshape(b, c, -1), axis=2)``.

    Notes
    -----
    ``out[n, c] = pool_function(x[n, c, ...])``, default the mean (Theano's: sum in float64, then divide).
    """

    side_defaults = {**Layer.side_defaults, **_POOL_FUNCTIONS}

    def get_output_for(self, input, **kwargs):
        if input.ndim < 3:
            raise TwinError(f"{self._label()}: expected an input with at least 3 dimensions, got shape {input.shape}")
        # explicit size: ``-1`` is ambiguous for an empty batch
        return self.pool_function(input.reshape(input.shape[:2] + (math.prod(input.shape[2:]),)), axis=2)


class SpatialPyramidPoolingLayer(spec.SpatialPyramidPoolingLayer, Layer):
    """Spatial pyramid pooling: ``n x n`` bins for each ``n`` in ``pool_dims``, concatenated.

    Notes
    -----
    ``'kaiming'``: bin ``i`` of ``n`` spans ``[floor(i/n*h), ceil((i+1)/n*h))`` (``i/n`` rounded to
    the input dtype, as Theano's floatX constant, the product in double precision), reduced by max (mode ``'max'``) or mean. ``'fast'``: ``pool_2d`` with
    ``ws = ceil(h/n)``, ``stride = floor(h/n)``, which gives ``n`` bins only for some sizes.
    Output ``(batch, channels, sum(n*n))``.
    """

    def get_output_for(self, input, **kwargs):
        h, w = input.shape[2:]
        pools = []
        for p in self.pool_dims:
            if self.implementation == "kaiming":
                if self.mode == "max":
                    fn: Callable = np.max
                elif self.mode in ("average_inc_pad", "average_exc_pad"):
                    fn = mean
                else:
                    raise TwinError(f"{self._label()}: Mode must be either 'max', 'average_inc_pad' or "
                                    f"'average_exc_pad'. Got '{self.mode}'")
                n = float(p)
                # Lasagne computes floor(row / n * h) with row / n a Python float constant, which
                # Theano stores in floatX: under float32 it is rounded to float32 before the
                # (float64) product, which moves some bin edges (e.g. 2/3 * 9 -> 6.0000003 -> 7).
                q: Callable = (lambda v: float(np.float32(v))) if input.dtype == np.float32 else float
                for row in range(p):
                    for col in range(p):  # p*p bins: a loop over bins, each a whole-batch reduction
                        h0, h1 = math.floor(q(row / n) * h), math.ceil(q((row + 1) / n) * h)
                        w0, w1 = math.floor(q(col / n) * w), math.ceil(q((col + 1) / n) * w)
                        region = input[:, :, h0:h1, w0:w1]
                        flat = region.reshape(region.shape[:2] + (math.prod(region.shape[2:]),))
                        pools.append(fn(flat, axis=2)[:, :, None])
            else:
                ws = ((h + p - 1) // p, (w + p - 1) // p)
                st = (h // p, w // p)
                if min(st) < 1:
                    raise TwinError(f"{self._label()}: implementation 'fast' needs spatial sizes >= pool_dims, "
                                    f"got {(h, w)} for pool_dim {p}")
                pooled = pool_nd(input, ws, st, (0, 0), True, self.mode)
                pools.append(pooled.reshape(pooled.shape[:2] + (math.prod(pooled.shape[2:]),)))
        return np.concatenate(pools, axis=2)
