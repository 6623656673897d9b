"""FlattenLayer, ReshapeLayer, DimshuffleLayer, PadLayer and SliceLayer (Lasagne's ``shape.py``).

Graphs as Lasagne master builds them; the output-shape arithmetic is shared with the
twins (``layers_np.shapes.shape``).
"""
from __future__ import annotations

from typing import Any

from layers_np.shapes.shape import is_int
from layers_np.specs import shape as spec

from .backend import T
from .base import Layer

__all__ = ["FlattenLayer", "flatten", "ReshapeLayer", "reshape", "DimshuffleLayer", "dimshuffle",
           "PadLayer", "pad", "SliceLayer"]


class FlattenLayer(spec.FlattenLayer, Layer):
    def get_output_for(self, input, **kwargs):
        return input.flatten(self.outdim)


flatten = FlattenLayer


class ReshapeLayer(spec.ReshapeLayer, Layer):
    def get_output_for(self, input, **kwargs):
        output_shape = list(self.shape)
        for dim, o in enumerate(output_shape):
            if isinstance(o, list):
                output_shape[dim] = input.shape[o[0]]
        return input.reshape(tuple(output_shape))


reshape = ReshapeLayer


class DimshuffleLayer(spec.DimshuffleLayer, Layer):
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


class PadLayer(spec.PadLayer, Layer):
    def get_output_for(self, input, **kwargs):
        return pad_tensor(input, self.width, self.val, self.batch_ndim)


pad = PadLayer


class SliceLayer(spec.SliceLayer, Layer):
    def get_output_for(self, input, **kwargs):
        axis = self.axis
        if axis < 0:
            axis += input.ndim
        return input[(slice(None),) * axis + (self.slice,)]
