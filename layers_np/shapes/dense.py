"""Shape arithmetic of dense layers.

The harness checks every shape declared here against the arrays Theano produces, so a
mistake in this module cannot hide: it would show up as a shape mismatch.
"""
from __future__ import annotations

from typing import Optional, Tuple

import numpy as np

Shape = Tuple[Optional[int], ...]

__all__ = ["check_dense_input", "dense_output_shape", "nin_output_shape"]


def check_dense_input(layer: str, input_shape: Shape, num_leading_axes: int) -> int:
    """Validate ``num_leading_axes`` for a dense layer and return the number of inputs K."""
    if num_leading_axes >= len(input_shape):
        raise ValueError(
            f"{layer}: got num_leading_axes={num_leading_axes} for a {len(input_shape)}-dimensional input, "
            "leaving no trailing axes for the dot product."
        )
    if num_leading_axes < -len(input_shape):
        raise ValueError(
            f"{layer}: got num_leading_axes={num_leading_axes} for a {len(input_shape)}-dimensional input, "
            "requesting more trailing axes than there are input dimensions."
        )
    trailing = input_shape[num_leading_axes:]
    if any(s is None for s in trailing):
        raise ValueError(
            f"{layer} requires a fixed input shape (except for the leading axes). "
            f"Got {input_shape} for num_leading_axes={num_leading_axes}."
        )
    return int(np.prod(trailing))


def dense_output_shape(input_shape: Shape, num_leading_axes: int, num_units: int) -> Shape:
    return tuple(input_shape[:num_leading_axes]) + (num_units,)


def nin_output_shape(input_shape: Shape, num_units: int) -> Shape:
    return (input_shape[0], num_units) + tuple(input_shape[2:])
