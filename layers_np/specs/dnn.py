"""Spec of the cuDNN layer names (Lasagne master ``lasagne/layers/dnn.py``).

Lasagne's ``dnn`` module gives GPU implementations of layers that ``lasagne.layers`` also has,
with their own defaults and restrictions; the forward pass is the same arithmetic as the
plain layer with those arguments, so each spec here is a thin subclass of the plain spec:

* ``Conv2DDNNLayer`` / ``Conv3DDNNLayer`` default ``flip_filters=False`` (a correlation;
  ``Conv2DLayer`` defaults to True). ``pad='same'`` is ``filter_size // 2`` on both sides
  (odd filters only, as every BaseConvLayer).
* ``Pool2DDNNLayer`` / ``Pool3DDNNLayer`` (and the Max variants) refuse ``ignore_border=False``
  (cuDNN never produces partial windows); padding never wins a max, ``average_inc_pad``
  counts it, ``average_exc_pad`` does not: Theano's ``pool_2d``/``pool_3d`` with
  ``ignore_border=True``. Theano's CPU pooling also needs ``pad < pool_size`` (the spec of
  the plain pooling layers refuses larger pads; Lasagne's docstring asks for ``pad < stride``
  and leaves the check to cuDNN).
* ``SpatialPyramidPoolingDNNLayer`` is ``SpatialPyramidPoolingLayer(implementation='fast')``:
  ``dnn_pool`` with window ``ceil(size / n)`` and stride ``floor(size / n)``.
* ``BatchNormDNNLayer`` only normalizes over ``(0,)`` or all axes but the second; its
  inference output is BatchNormLayer's ``(x - mean) * (gamma * inv_std) + beta``.
"""
from __future__ import annotations

from typing import Any, Callable, Optional, Sequence

from .. import init
from .base import SideDefault, TwinError
from .conv import BaseConvLayer
from .normalization import BatchNormLayer
from .pool import Pool2DLayer, Pool3DLayer, SpatialPyramidPoolingLayer

__all__ = ["Conv2DDNNLayer", "Conv3DDNNLayer", "Pool2DDNNLayer", "MaxPool2DDNNLayer", "Pool3DDNNLayer",
           "MaxPool3DDNNLayer", "SpatialPyramidPoolingDNNLayer", "BatchNormDNNLayer"]


class Conv2DDNNLayer(BaseConvLayer):
    """cuDNN 2-D convolution; as ``Conv2DLayer`` but ``flip_filters=False`` by default.

    Notes
    -----
    ``out[n, f, y, x] = f(sum_{c, i, j} xpad[n, c', y*s0 + i, x*s1 + j] W'[f, c, i, j] + b)``,
    ``W'`` flipped only when ``flip_filters=True`` (Lasagne's ``conv_mode='conv'``).
    """

    def __init__(self, incoming: Any, num_filters: int, filter_size: Any, stride: Any = (1, 1), pad: Any = 0,
                 untie_biases: bool = False, W: Any = init.GlorotUniform(), b: Any = init.Constant(0.),
                 nonlinearity: Optional[Callable] = SideDefault("rectify"), flip_filters: bool = False,
                 num_groups: int = 1, **kwargs: Any) -> None:
        super().__init__(incoming, num_filters, filter_size, stride, pad, untie_biases, W, b, nonlinearity,
                         flip_filters, num_groups, n=2, **kwargs)


class Conv3DDNNLayer(BaseConvLayer):
    """cuDNN 3-D convolution; as ``Conv3DLayer`` but ``flip_filters=False`` by default."""

    def __init__(self, incoming: Any, num_filters: int, filter_size: Any, stride: Any = (1, 1, 1), pad: Any = 0,
                 untie_biases: bool = False, W: Any = init.GlorotUniform(), b: Any = init.Constant(0.),
                 nonlinearity: Optional[Callable] = SideDefault("rectify"), flip_filters: bool = False,
                 num_groups: int = 1, **kwargs: Any) -> None:
        super().__init__(incoming, num_filters, filter_size, stride, pad, untie_biases, W, b, nonlinearity,
                         flip_filters, num_groups, n=3, **kwargs)


def _refuse_partial_windows(layer: Any, ignore_border: Any) -> None:
    if not ignore_border:
        raise NotImplementedError(f"{type(layer).__name__} does not support ignore_border=False.")


class Pool2DDNNLayer(Pool2DLayer):
    """cuDNN 2-D pooling: ``Pool2DLayer`` with ``ignore_border=True`` only."""

    def __init__(self, incoming: Any, pool_size: Any, stride: Any = None, pad: Any = (0, 0),
                 ignore_border: bool = True, mode: str = "max", **kwargs: Any) -> None:
        _refuse_partial_windows(self, ignore_border)
        super().__init__(incoming, pool_size, stride, pad, True, mode, **kwargs)


class MaxPool2DDNNLayer(Pool2DDNNLayer):
    """:class:`Pool2DDNNLayer` with ``mode='max'``."""

    def __init__(self, incoming: Any, pool_size: Any, stride: Any = None, pad: Any = (0, 0),
                 ignore_border: bool = True, **kwargs: Any) -> None:
        super().__init__(incoming, pool_size, stride, pad, ignore_border, mode="max", **kwargs)


class Pool3DDNNLayer(Pool3DLayer):
    """cuDNN 3-D pooling: ``Pool3DLayer`` with ``ignore_border=True`` only."""

    def __init__(self, incoming: Any, pool_size: Any, stride: Any = None, pad: Any = (0, 0, 0),
                 ignore_border: bool = True, mode: str = "max", **kwargs: Any) -> None:
        _refuse_partial_windows(self, ignore_border)
        super().__init__(incoming, pool_size, stride, pad, True, mode, **kwargs)


class MaxPool3DDNNLayer(Pool3DDNNLayer):
    """:class:`Pool3DDNNLayer` with ``mode='max'``."""

    def __init__(self, incoming: Any, pool_size: Any, stride: Any = None, pad: Any = (0, 0, 0),
                 ignore_border: bool = True, **kwargs: Any) -> None:
        super().__init__(incoming, pool_size, stride, pad, ignore_border, mode="max", **kwargs)


class SpatialPyramidPoolingDNNLayer(SpatialPyramidPoolingLayer):
    """cuDNN spatial pyramid pooling: ``SpatialPyramidPoolingLayer(implementation='fast')``."""

    def __init__(self, incoming: Any, pool_dims: Sequence[int] = [4, 2, 1], mode: str = "max",
                 **kwargs: Any) -> None:
        super().__init__(incoming, pool_dims, mode, implementation="fast", **kwargs)


class BatchNormDNNLayer(BatchNormLayer):
    """cuDNN batch normalization: ``BatchNormLayer`` over ``(0,)`` or all axes but the second."""

    def __init__(self, incoming: Any, axes: Any = "auto", epsilon: float = 1e-4, alpha: float = 0.1,
                 beta: Any = init.Constant(0), gamma: Any = init.Constant(1), mean: Any = init.Constant(0),
                 inv_std: Any = init.Constant(1), **kwargs: Any) -> None:
        super().__init__(incoming, axes, epsilon, alpha, beta, gamma, mean, inv_std, **kwargs)
        all_but_second = (0,) + tuple(range(2, len(self.input_shape)))
        if self.axes not in ((0,), all_but_second):
            raise TwinError(f"{self._label()}: BatchNormDNNLayer only supports normalization across the first "
                            f"axis, or across all but the second axis, got axes={axes!r}")
