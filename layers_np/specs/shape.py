"""Spec of FlattenLayer, ReshapeLayer, DimshuffleLayer, PadLayer and SliceLayer (Lasagne's ``shape.py``)."""
from __future__ import annotations

from typing import Any, Sequence, Union

import numpy as np

from ..shapes.shape import (check_dimshuffle_pattern, check_flatten_outdim, check_reshape_spec, check_slice_args,
                            dimshuffle_output_shape, flatten_output_shape, pad_output_shape, pad_widths,
                            reshape_output_shape, slice_output_shape)
from .base import Layer, TwinError, plain_int, twin_errors

__all__ = ["FlattenLayer", "ReshapeLayer", "DimshuffleLayer", "PadLayer", "SliceLayer"]


class FlattenLayer(Layer):
    """Flatten the trailing axes: the output has ``outdim`` dimensions (``1 <= outdim <= ndim``).

    ``out.shape = in.shape[:outdim-1] + (prod(in.shape[outdim-1:]),)``, C order (Theano's ``flatten``).
    """

    def __init__(self, incoming: Any, outdim: int = 2, **kwargs: Any) -> None:
        super().__init__(incoming, **kwargs)
        with twin_errors():
            check_flatten_outdim(self._label(), outdim, self.input_shape)
        self.outdim = plain_int(outdim)

    def get_output_shape_for(self, input_shape):
        return flatten_output_shape(input_shape, self.outdim)


class ReshapeLayer(Layer):
    """Reshape to a specification of sizes, input-dimension references ``[i]`` and one ``-1``."""

    def __init__(self, incoming: Any, shape: Sequence[Any], **kwargs: Any) -> None:
        super().__init__(incoming, **kwargs)
        with twin_errors():
            spec = check_reshape_spec(self._label(), shape, self.is_symbolic)
            self.shape = tuple(plain_int(s) for s in spec)
            reshape_output_shape(self._label(), self.input_shape, self.shape)  # sanity check, like Lasagne

    def get_output_shape_for(self, input_shape, **kwargs):
        return reshape_output_shape(self._label(), input_shape, self.shape)


class DimshuffleLayer(Layer):
    """Permute the axes and insert broadcastable ones (Theano's ``dimshuffle``).

    ``pattern``: input dimension indices (each at most once) and ``'x'`` for new axes of
    size 1; an input dimension left out must have size 1 and is dropped.
    """

    def __init__(self, incoming: Any, pattern: Sequence[Any], **kwargs: Any) -> None:
        super().__init__(incoming, **kwargs)
        with twin_errors():
            self.pattern = tuple(plain_int(p) for p in check_dimshuffle_pattern(self._label(), pattern))
            dimshuffle_output_shape(self._label(), self.input_shape, self.pattern)

    def get_output_shape_for(self, input_shape):
        return dimshuffle_output_shape(self._label(), input_shape, self.pattern)


class PadLayer(Layer):
    """Pad every axis after the first ``batch_ndim`` with the constant ``val``.

    ``width``: an int (every padded axis, both sides), a sequence of ints (per axis) or of
    ``(before, after)`` pairs; a shorter sequence leaves the last axes alone.
    """

    def __init__(self, incoming: Any, width: Any, val: float = 0, batch_ndim: int = 2, **kwargs: Any) -> None:
        super().__init__(incoming, **kwargs)
        with twin_errors():
            pad_widths(self._label(), width, len(self.input_shape), batch_ndim)
        if isinstance(val, (bool, np.ndarray)) or not isinstance(val, (int, float, np.integer, np.floating)):
            raise TwinError(f"{self._label()}: val must be a number, got {val!r}")
        self.width = width
        self.val = val
        self.batch_ndim = plain_int(batch_ndim)

    def get_output_shape_for(self, input_shape):
        return pad_output_shape(self._label(), input_shape, self.width, self.batch_ndim)


class SliceLayer(Layer):
    """Select an index (the axis is dropped) or a slice (kept) along ``axis``."""

    def __init__(self, incoming: Any, indices: Union[int, slice], axis: int = -1, **kwargs: Any) -> None:
        super().__init__(incoming, **kwargs)
        with twin_errors():
            check_slice_args(self._label(), self.input_shape, indices, axis)
        self.slice = plain_int(indices)
        self.axis = plain_int(axis)

    def get_output_shape_for(self, input_shape):
        return slice_output_shape(input_shape, self.slice, self.axis)
