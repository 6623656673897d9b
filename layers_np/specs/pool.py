"""Spec of the pooling, upscaling and feature-pooling layers (Lasagne master ``pool.py``)."""
from __future__ import annotations

from typing import Any, Callable, Sequence, Tuple

from ..shapes.conv import as_tuple
from ..shapes.pool import pool_output_length
from .base import Layer, SideDefault, TwinError, plain_int

__all__ = ["PoolLayer", "Pool1DLayer", "Pool2DLayer", "Pool3DLayer", "MaxPool1DLayer", "MaxPool2DLayer",
           "MaxPool3DLayer", "UpscaleLayer", "Upscale1DLayer", "Upscale2DLayer", "Upscale3DLayer",
           "FeaturePoolLayer", "FeatureWTALayer", "GlobalPoolLayer", "SpatialPyramidPoolingLayer", "POOL_MODES"]

POOL_MODES = ("max", "average_inc_pad", "average_exc_pad", "sum")


def _ints(value: Any, n: int, what: str) -> Tuple[Any, ...]:
    return tuple(plain_int(v) for v in as_tuple(value, n, what))


class PoolLayer(Layer):
    """Shared spec of Pool1D/2D/3DLayer (``_n`` spatial axes).

    Notes
    -----
    Output length per axis ``(L + 2p - ws) // s + 1`` (``ignore_border``) or, pad 0,
    ``ceil(L / s)`` if ``s >= ws`` else ``max(0, (L - ws + s - 1) // s) + 1`` with partial
    edge windows.
    """

    _n = 2

    def __init__(self, incoming: Any, pool_size: Any, stride: Any = None, pad: Any = 0, ignore_border: bool = True,
                 mode: str = "max", **kwargs: Any) -> None:
        super().__init__(incoming, **kwargs)
        n = self._n
        if len(self.input_shape) != n + 2:
            raise TwinError(f"{self._label()}: tried to create a {n}D pooling layer with input shape "
                            f"{self.input_shape}. Expected {n + 2} input dimensions (batchsize, channels, "
                            f"{n} spatial dimensions).")
        self.pool_size = _ints(pool_size, n, f"{type(self).__name__} pool_size")
        self.stride = self.pool_size if stride is None else _ints(stride, n, f"{type(self).__name__} stride")
        self.pad = _ints(pad, n, f"{type(self).__name__} pad")
        self.ignore_border = ignore_border
        if mode not in POOL_MODES:
            raise TwinError(f"{self._label()}: mode must be one of 'max', 'average_inc_pad', 'average_exc_pad', "
                            f"got {mode!r}")
        if any(self.pad) and not ignore_border:
            raise NotImplementedError(f"{self._label()}: padding works only with ignore_border=True, got pad={self.pad}")
        if any(p >= w for p, w in zip(self.pad, self.pool_size)):
            raise NotImplementedError(f"{self._label()}: padding must be smaller than the pool size, "
                                      f"got pad={self.pad}, pool_size={self.pool_size}")
        self.mode = mode

    def get_output_shape_for(self, input_shape):
        out = list(input_shape)
        for i in range(self._n):
            out[2 + i] = pool_output_length(input_shape[2 + i], pool_size=self.pool_size[i], stride=self.stride[i],
                                            pad=self.pad[i], ignore_border=self.ignore_border)
        return tuple(out)


class Pool1DLayer(PoolLayer):
    """1-D pooling over the last axis of ``(batch, channels, length)``."""

    _n = 1


class Pool2DLayer(PoolLayer):
    """2-D pooling over the last two axes."""

    _n = 2

    def __init__(self, incoming: Any, pool_size: Any, stride: Any = None, pad: Any = (0, 0),
                 ignore_border: bool = True, mode: str = "max", **kwargs: Any) -> None:
        super().__init__(incoming, pool_size, stride, pad, ignore_border, mode, **kwargs)


class Pool3DLayer(PoolLayer):
    """3-D pooling over the last three axes."""

    _n = 3

    def __init__(self, incoming: Any, pool_size: Any, stride: Any = None, pad: Any = (0, 0, 0),
                 ignore_border: bool = True, mode: str = "max", **kwargs: Any) -> None:
        super().__init__(incoming, pool_size, stride, pad, ignore_border, mode, **kwargs)


class MaxPool1DLayer(Pool1DLayer):
    """:class:`Pool1DLayer` with ``mode='max'``."""

    def __init__(self, incoming: Any, pool_size: Any, stride: Any = None, pad: Any = 0, ignore_border: bool = True,
                 **kwargs: Any) -> None:
        super().__init__(incoming, pool_size, stride, pad, ignore_border, mode="max", **kwargs)


class MaxPool2DLayer(Pool2DLayer):
    """:class:`Pool2DLayer` with ``mode='max'``."""

    def __init__(self, incoming: Any, pool_size: Any, stride: Any = None, pad: Any = (0, 0),
                 ignore_border: bool = True, **kwargs: Any) -> None:
        super().__init__(incoming, pool_size, stride, pad, ignore_border, mode="max", **kwargs)


class MaxPool3DLayer(Pool3DLayer):
    """:class:`Pool3DLayer` with ``mode='max'``."""

    def __init__(self, incoming: Any, pool_size: Any, stride: Any = None, pad: Any = (0, 0, 0),
                 ignore_border: bool = True, **kwargs: Any) -> None:
        super().__init__(incoming, pool_size, stride, pad, ignore_border, mode="max", **kwargs)


class UpscaleLayer(Layer):
    """Shared spec of Upscale1D/2D/3DLayer: ``'repeat'`` or ``'dilate'`` by ``scale_factor`` per axis."""

    _n = 2

    def __init__(self, incoming: Any, scale_factor: Any, mode: str = "repeat", **kwargs: Any) -> None:
        super().__init__(incoming, **kwargs)
        self.scale_factor = _ints(scale_factor, self._n, f"{type(self).__name__} scale_factor")
        if any(s < 1 for s in self.scale_factor):
            raise TwinError(f"{self._label()}: Scale factor must be >= 1, not {self.scale_factor}")
        if mode not in {"repeat", "dilate"}:
            raise TwinError(f"{self._label()}: Mode must be either 'repeat' or 'dilate', not {mode}")
        self.mode = mode

    def get_output_shape_for(self, input_shape):
        out = list(input_shape)
        for i, a in enumerate(self.scale_factor):
            if out[2 + i] is not None:
                out[2 + i] *= a
        return tuple(out)


class Upscale1DLayer(UpscaleLayer):
    """Upscale the last axis of a 3-D input."""

    _n = 1


class Upscale2DLayer(UpscaleLayer):
    """Upscale the last two axes of a 4-D input."""

    _n = 2


class Upscale3DLayer(UpscaleLayer):
    """Upscale the last three axes of a 5-D input."""

    _n = 3


def _check_groups(layer: Layer, what: str) -> None:
    num = layer.input_shape[layer.axis]
    if num % layer.pool_size != 0:
        raise TwinError(f"{layer._label()}: Number of input feature maps ({num}) is not a multiple of the {what} "
                        f"(pool_size={layer.pool_size})")


class FeaturePoolLayer(Layer):
    """Pool groups of ``pool_size`` consecutive features along ``axis`` with ``pool_function``."""

    def __init__(self, incoming: Any, pool_size: int, axis: int = 1, pool_function: Callable = SideDefault("max"),
                 **kwargs: Any) -> None:
        super().__init__(incoming, **kwargs)
        self.pool_size = plain_int(pool_size)
        self.axis = plain_int(axis)
        self.pool_function = pool_function
        _check_groups(self, "pool size")

    def get_output_shape_for(self, input_shape):
        out = list(input_shape)
        out[self.axis] = input_shape[self.axis] // self.pool_size
        return tuple(out)


class FeatureWTALayer(Layer):
    """Winner-take-all over groups of ``pool_size`` consecutive features (shape unchanged)."""

    def __init__(self, incoming: Any, pool_size: int, axis: int = 1, **kwargs: Any) -> None:
        super().__init__(incoming, **kwargs)
        self.pool_size = plain_int(pool_size)
        self.axis = plain_int(axis)
        _check_groups(self, "region size")


class GlobalPoolLayer(Layer):
    """Pool over all trailing axes: ``pool_function(x.flatten(3), axis=2)``."""

    def __init__(self, incoming: Any, pool_function: Callable = SideDefault("mean"), **kwargs: Any) -> None:
        super().__init__(incoming, **kwargs)
        self.pool_function = pool_function

    def get_output_shape_for(self, input_shape):
        return tuple(input_shape[:2])


class SpatialPyramidPoolingLayer(Layer):
    """Spatial pyramid pooling: ``n x n`` bins for each ``n`` in ``pool_dims``, concatenated."""

    def __init__(self, incoming: Any, pool_dims: Sequence[int] = [4, 2, 1], mode: str = "max",
                 implementation: str = "fast", **kwargs: Any) -> None:
        super().__init__(incoming, **kwargs)
        if len(self.input_shape) != 4:
            raise TwinError(f"{self._label()}: Tried to create a SPP layer with input shape {self.input_shape!r}. "
                            "Expected 4 input dimensions (batchsize, channels, 2 spatial dimensions).")
        if implementation not in ("fast", "kaiming"):
            raise TwinError(f"{self._label()}: implementation must be 'fast' or 'kaiming', got {implementation!r}")
        self.mode = mode
        self.implementation = implementation
        self.pool_dims = [plain_int(p) for p in pool_dims] if isinstance(pool_dims, list) else pool_dims

    def get_output_shape_for(self, input_shape):
        return (input_shape[0], input_shape[1], sum(p * p for p in self.pool_dims))
