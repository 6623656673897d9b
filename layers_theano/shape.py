"""FlattenLayer, ReshapeLayer, DimshuffleLayer, PadLayer and SliceLayer (Lasagne's ``shape.py``).

Graphs as Lasagne master builds them; the output-shape arithmetic is shared with the
twins (``layers_np.shapes.shape``).
"""
from __future__ import annotations

from typing import Any, Sequence, Union

from layers_np.shapes.shape import (check_dimshuffle_pattern, check_reshape_spec, dimshuffle_output_shape,
                                    flatten_output_shape, is_int, pad_output_shape, reshape_output_shape,
                                    slice_output_shape)

from .backend import T
from .base import Layer

__all__ = ["FlattenLayer", "flatten", "ReshapeLayer", "reshape", "DimshuffleLayer", "dimshuffle",
           "PadLayer", "pad", "SliceLayer"]


def _is_symbolic(value: Any) -> bool:
    return isinstance(value, T.TensorVariable)


class FlattenLayer(Layer):
    def __init__(self, incoming: Any, outdim: int = 2, **kwargs: Any) -> None:
        super().__init__(incoming, **kwargs)
        self.outdim = outdim
        if outdim < 1:
            raise ValueError(f"Dim must be >0, was {outdim}")

    def get_output_shape_for(self, input_shape):
        return flatten_output_shape(input_shape, self.outdim)

    def get_output_for(self, input, **kwargs):
        return input.flatten(self.outdim)


flatten = FlattenLayer


class ReshapeLayer(Layer):
    def __init__(self, incoming: Any, shape: Sequence[Any], **kwargs: Any) -> None:
        super().__init__(incoming, **kwargs)
        self.shape = check_reshape_spec(type(self).__name__, shape, _is_symbolic)
        # try computing the output shape once as a sanity check
        self.get_output_shape_for(self.input_shape)

    def get_output_shape_for(self, input_shape, **kwargs):
        return reshape_output_shape(type(self).__name__, input_shape, self.shape)

    def get_output_for(self, input, **kwargs):
        output_shape = list(self.shape)
        for dim, o in enumerate(output_shape):
            if isinstance(o, list):
                output_shape[dim] = input.shape[o[0]]
        return input.reshape(tuple(output_shape))


reshape = ReshapeLayer


class DimshuffleLayer(Layer):
    def __init__(self, incoming: Any, pattern: Sequence[Any], **kwargs: Any) -> None:
        super().__init__(incoming, **kwargs)
        check_dimshuffle_pattern(type(self).__name__, pattern)
        self.pattern = pattern
        # try computing the output shape once as a sanity check
        self.get_output_shape_for(self.input_shape)

    def get_output_shape_for(self, input_shape):
        return dimshuffle_output_shape(type(self).__name__, input_shape, self.pattern)

    def get_output_for(self, input, **kwargs):
        return input.dimshuffle(self.pattern)


dimshuffle = DimshuffleLayer


def pad_tensor(x: Any, width: Any, val: float = 0, batch_ndim: int = 1) -> Any:
    """Lasagne's ``theano_extensions.padding.pad``: a constant tensor with ``x`` set inside."""
    input_shape = x.shape
    output_shape = list(input_shape)
    indices = [slice(None) for _ in output_shape]
    if is_int(width):
        widths = [width] * (x.ndim - batch_ndim)
    else:
        widths = width
    for k, w in enumerate(widths):
        try:
            l, r = w
        except TypeError:
            l = r = w
        output_shape[k + batch_ndim] += l + r
        indices[k + batch_ndim] = slice(l, l + input_shape[k + batch_ndim])
    if val:
        out = T.ones(output_shape) * val
    else:
        out = T.zeros(output_shape)
    return T.set_subtensor(out[tuple(indices)], x)


class PadLayer(Layer):
    def __init__(self, incoming: Any, width: Any, val: float = 0, batch_ndim: int = 2, **kwargs: Any) -> None:
        super().__init__(incoming, **kwargs)
        self.width = width
        self.val = val
        self.batch_ndim = batch_ndim

    def get_output_shape_for(self, input_shape):
        return pad_output_shape(type(self).__name__, input_shape, self.width, self.batch_ndim)

    def get_output_for(self, input, **kwargs):
        return pad_tensor(input, self.width, self.val, self.batch_ndim)


pad = PadLayer


class SliceLayer(Layer):
    def __init__(self, incoming: Any, indices: Union[int, slice], axis: int = -1, **kwargs: Any) -> None:
        super().__init__(incoming, **kwargs)
        self.slice = indices
        self.axis = axis

    def get_output_shape_for(self, input_shape):
        return slice_output_shape(input_shape, self.slice, self.axis)

    def get_output_for(self, input, **kwargs):
        axis = self.axis
        if axis < 0:
            axis += input.ndim
        return input[(slice(None),) * axis + (self.slice,)]
