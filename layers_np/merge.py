"""Merge twins (Lasagne's ``lasagne/layers/merge.py``): ConcatLayer, ElemwiseMergeLayer, ElemwiseSumLayer.

All three accept ``cropping``: a sequence with one entry per axis (shorter lists are padded
with None) of None (no cropping), 'lower', 'center' or 'upper', which crops every input to
the smallest size along that axis before merging.
"""
from __future__ import annotations

from typing import Any, List, Optional, Sequence

import numpy as np

from .base import MergeLayer, TwinError
from .specs import merge as spec
from .shapes import (autocrop_array_shapes, autocrop_slices)

__all__ = ["autocrop", "autocrop_array_shapes", "ConcatLayer", "concat", "ElemwiseMergeLayer", "ElemwiseSumLayer"]


def autocrop(inputs: List[np.ndarray], cropping: Optional[Sequence[Optional[str]]]) -> List[np.ndarray]:
    """Crop arrays to their common minimum size along the cropped axes (views, no copies).

    Notes
    -----
    With ``m = min_i shape_i[d]`` along a cropped axis d: 'lower' keeps ``[0, m)``, 'upper'
    keeps ``[size - m, size)`` and 'center' keeps ``[(size - m) // 2, (size - m) // 2 + m)``.
    """
    slices = autocrop_slices([a.shape for a in inputs], cropping)
    if slices is None:
        return list(inputs)
    return [a[s] for a, s in zip(inputs, slices)]


class ConcatLayer(spec.ConcatLayer, MergeLayer):
    """Concatenate inputs along ``axis``, after cropping the other axes.

    Notes
    -----
    ``out = concatenate([crop(x_1), ..., crop(x_n)], axis)``.
    """

    def get_output_for(self, inputs: List[np.ndarray], **kwargs: Any) -> np.ndarray:
        if len({a.ndim for a in inputs}) != 1:
            raise TwinError(f"{self._label()}: inputs have different ranks {[a.ndim for a in inputs]}")
        return np.concatenate(autocrop(inputs, self.cropping), axis=self.axis)


concat = ConcatLayer


class ElemwiseMergeLayer(spec.ElemwiseMergeLayer, MergeLayer):
    """Fold the inputs with a binary elementwise function, after cropping.

    Notes
    -----
    ``out = f(...f(f(x_1, x_2), x_3)..., x_n)``, left to right as Lasagne does.
    """

    side_defaults = {**MergeLayer.side_defaults, "add": np.add}

    def get_output_for(self, inputs: List[np.ndarray], **kwargs: Any) -> np.ndarray:
        inputs = autocrop(inputs, self.cropping)
        shapes = {a.shape for a in inputs}
        if len(shapes) != 1:
            raise TwinError(f"{self._label()}: inputs must have the same shape after cropping, got {[a.shape for a in inputs]}")
        output = inputs[0]
        for a in inputs[1:]:
            output = self.merge_function(output, a)
        return output


class ElemwiseSumLayer(spec.ElemwiseSumLayer, ElemwiseMergeLayer):
    """Weighted elementwise sum of the inputs, after cropping.

    Notes
    -----
    ``out = (...((c_1 x_1) + (c_2 x_2)) + ...) + (c_n x_n)``; an input whose coefficient is
    exactly 1 is not multiplied. A Python-float coefficient is rounded to the input dtype
    before multiplying (as Theano's scalar constants are).
    """

    def get_output_for(self, inputs: List[np.ndarray], **kwargs: Any) -> np.ndarray:
        inputs = [a * c if c != 1 else a for c, a in zip(self.coeffs, inputs)]
        return super().get_output_for(inputs, **kwargs)


