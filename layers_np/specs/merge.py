"""Spec of ConcatLayer, ElemwiseMergeLayer and ElemwiseSumLayer (Lasagne's ``merge.py``).

``cropping``: a sequence with one entry per axis (shorter lists are padded with None) of
None, 'lower', 'center' or 'upper', cropping every input to the smallest size along that
axis before merging.
"""
from __future__ import annotations

from typing import Any, Callable, Optional, Sequence

from ..shapes import check_cropping, concat_cropping, concat_output_shape, elemwise_merge_output_shape
from .base import MergeLayer, TwinError, plain_int, twin_errors

__all__ = ["ConcatLayer", "ElemwiseMergeLayer", "ElemwiseSumLayer"]


def _check_shapes(layer: MergeLayer) -> None:
    """Validate the input shapes at construction (Lasagne only notices when asked for the output shape)."""
    try:
        layer.output_shape
    except (ValueError, IndexError) as exc:
        raise TwinError(f"{layer._label()}: {exc}") from None


class ConcatLayer(MergeLayer):
    """Concatenate inputs along ``axis`` (negative counts from the end), after cropping the other axes."""

    def __init__(self, incomings: Sequence[Any], axis: int = 1, cropping: Optional[Sequence[Optional[str]]] = None,
                 **kwargs: Any) -> None:
        super().__init__(incomings, **kwargs)
        with twin_errors():
            check_cropping(self._label(), cropping)
        self.axis = plain_int(axis)
        self.cropping = concat_cropping(cropping, self.axis)
        _check_shapes(self)

    def get_output_shape_for(self, input_shapes):
        return concat_output_shape(input_shapes, self.axis, self.cropping)


class ElemwiseMergeLayer(MergeLayer):
    """Fold the inputs with a binary elementwise ``merge_function``, after cropping."""

    def __init__(self, incomings: Sequence[Any], merge_function: Callable,
                 cropping: Optional[Sequence[Optional[str]]] = None, **kwargs: Any) -> None:
        super().__init__(incomings, **kwargs)
        if not callable(merge_function):
            raise TwinError(f"{self._label()}: merge_function must be a binary function such as np.multiply, "
                            f"got {merge_function!r}")
        with twin_errors():
            check_cropping(self._label(), cropping)
        self.merge_function = merge_function
        self.cropping = cropping
        _check_shapes(self)

    def get_output_shape_for(self, input_shapes):
        return elemwise_merge_output_shape(input_shapes, self.cropping)


class ElemwiseSumLayer(ElemwiseMergeLayer):
    """Weighted elementwise sum (the side's ``add``) of the inputs, after cropping.

    ``coeffs``: a scalar or a list with one scalar per input.
    """

    def __init__(self, incomings: Sequence[Any], coeffs: Any = 1, cropping: Optional[Sequence[Optional[str]]] = None,
                 **kwargs: Any) -> None:
        super().__init__(incomings, self.side_defaults["add"], cropping=cropping, **kwargs)
        if isinstance(coeffs, list):
            if len(coeffs) != len(incomings):
                raise TwinError(f"{self._label()}: Mismatch: got {len(coeffs)} coeffs for {len(incomings)} incomings")
        else:
            coeffs = [coeffs] * len(incomings)
        self.coeffs = coeffs
