"""Merge twins (Lasagne's ``lasagne/layers/merge.py``): ConcatLayer, ElemwiseMergeLayer, ElemwiseSumLayer.

All three accept ``cropping``: a sequence with one entry per axis (shorter lists are padded
with None) of None (no cropping), 'lower', 'center' or 'upper', which crops every input to
the smallest size along that axis before merging.
"""
from __future__ import annotations

from typing import Any, Callable, List, Optional, Sequence

import numpy as np

from .base import MergeLayer, TwinError
from .shapes import (autocrop_array_shapes, autocrop_slices, check_cropping, concat_cropping, concat_output_shape,
                     elemwise_merge_output_shape)

__all__ = ["autocrop", "autocrop_array_shapes", "ConcatLayer", "concat", "ElemwiseMergeLayer", "ElemwiseSumLayer"]


def _check_shapes_method(self) -> None:
    """Validate the input shapes at construction (Lasagne only notices when asked for the output shape)."""
    try:
        self.output_shape
    except (ValueError, IndexError) as exc:
        raise TwinError(f"{self._label()}: {exc}") from None


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


class ConcatLayer(MergeLayer):
    """Concatenate inputs along ``axis``, after cropping the other axes.

    Parameters
    ----------
    incomings : list of Layer or tuple
    axis : int
        Concatenation axis (negative counts from the end).
    cropping : None or sequence of None/'lower'/'center'/'upper'
        The entry of ``axis`` is set to None (Lasagne indexes the unpadded list).

    Notes
    -----
    ``out = concatenate([crop(x_1), ..., crop(x_n)], axis)``.
    """

    def __init__(self, incomings: Sequence[Any], axis: int = 1, cropping: Optional[Sequence[Optional[str]]] = None,
                 **kwargs: Any) -> None:
        super().__init__(incomings, **kwargs)
        check_cropping(self._label(), cropping)
        self.axis = axis
        self.cropping = concat_cropping(cropping, axis)
        self._check_shapes()

    def get_output_shape_for(self, input_shapes):
        return concat_output_shape(input_shapes, self.axis, self.cropping)

    def get_output_for(self, inputs: List[np.ndarray], **kwargs: Any) -> np.ndarray:
        if len({a.ndim for a in inputs}) != 1:
            raise TwinError(f"{self._label()}: inputs have different ranks {[a.ndim for a in inputs]}")
        return np.concatenate(autocrop(inputs, self.cropping), axis=self.axis)


ConcatLayer._check_shapes = _check_shapes_method  # type: ignore[attr-defined]
concat = ConcatLayer


class ElemwiseMergeLayer(MergeLayer):
    """Fold the inputs with a binary elementwise function, after cropping.

    Parameters
    ----------
    incomings : list of Layer or tuple
    merge_function : callable
        Binary numpy function, e.g. ``np.multiply``, ``np.maximum``, ``np.minimum``, ``np.subtract``.
    cropping : None or sequence of None/'lower'/'center'/'upper'

    Notes
    -----
    ``out = f(...f(f(x_1, x_2), x_3)..., x_n)``, left to right as Lasagne does.
    """

    def __init__(self, incomings: Sequence[Any], merge_function: Callable, cropping: Optional[Sequence[Optional[str]]] = None,
                 **kwargs: Any) -> None:
        super().__init__(incomings, **kwargs)
        if not callable(merge_function):
            raise TwinError(f"{self._label()}: merge_function must be a binary function such as np.multiply, "
                            f"got {merge_function!r}")
        check_cropping(self._label(), cropping)
        self.merge_function = merge_function
        self.cropping = cropping
        self._check_shapes()

    def get_output_shape_for(self, input_shapes):
        return elemwise_merge_output_shape(input_shapes, self.cropping)

    def get_output_for(self, inputs: List[np.ndarray], **kwargs: Any) -> np.ndarray:
        inputs = autocrop(inputs, self.cropping)
        shapes = {a.shape for a in inputs}
        if len(shapes) != 1:
            raise TwinError(f"{self._label()}: inputs must have the same shape after cropping, got {[a.shape for a in inputs]}")
        output = inputs[0]
        for a in inputs[1:]:
            output = self.merge_function(output, a)
        return output


class ElemwiseSumLayer(ElemwiseMergeLayer):
    """Weighted elementwise sum of the inputs, after cropping.

    Parameters
    ----------
    incomings : list of Layer or tuple
    coeffs : scalar or list of scalars (one per input)
    cropping : None or sequence of None/'lower'/'center'/'upper'

    Notes
    -----
    ``out = (...((c_1 x_1) + (c_2 x_2)) + ...) + (c_n x_n)``; an input whose coefficient is
    exactly 1 is not multiplied. A Python-float coefficient is rounded to the input dtype
    before multiplying (as Theano's scalar constants are).
    """

    def __init__(self, incomings: Sequence[Any], coeffs: Any = 1, cropping: Optional[Sequence[Optional[str]]] = None,
                 **kwargs: Any) -> None:
        super().__init__(incomings, np.add, cropping=cropping, **kwargs)
        if isinstance(coeffs, list):
            if len(coeffs) != len(incomings):
                raise TwinError(f"{self._label()}: Mismatch: got {len(coeffs)} coeffs for {len(incomings)} incomings")
        else:
            coeffs = [coeffs] * len(incomings)
        self.coeffs = coeffs

    def get_output_for(self, inputs: List[np.ndarray], **kwargs: Any) -> np.ndarray:
        inputs = [a * c if c != 1 else a for c, a in zip(self.coeffs, inputs)]
        return super().get_output_for(inputs, **kwargs)


ElemwiseMergeLayer._check_shapes = _check_shapes_method  # type: ignore[attr-defined]
