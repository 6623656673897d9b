"""Shape logic of the special and noise layers (pure Python, both sides import it).

Lasagne's ``shared_axes`` convention: ``'auto'`` shares over every axis but the second,
``'all'`` (rectifier layers only) over every axis, an int over that axis, a tuple over
its axes. Lasagne compares the axes with ``enumerate(input_shape)`` without normalising
them, so a negative or out-of-range axis shares nothing: the parameter then has that
axis. Both sides keep this behaviour so models built with Lasagne load unchanged.
"""
from __future__ import annotations

import numbers
from typing import Any, Callable, List, Optional, Sequence, Tuple, Union

import numpy as np

Shape = Tuple[Optional[int], ...]

__all__ = ["resolve_shared_axes", "shared_param_shape", "broadcast_pattern", "dropout_shared_axes",
           "check_rrelu_bounds", "check_dropout_p", "expression_output_shape"]


def resolve_shared_axes(layer: str, shared_axes: Any, ndim: int, allow_all: bool = False) -> Tuple[int, ...]:
    """Lasagne's resolution of ``shared_axes`` for an input of rank ``ndim``."""
    if isinstance(shared_axes, str):
        if shared_axes == "auto":
            return (0,) + tuple(range(2, ndim))
        if shared_axes == "all" and allow_all:
            return tuple(range(ndim))
        allowed = "'auto', 'all'" if allow_all else "'auto'"
        raise ValueError(f"{layer}: shared_axes must be {allowed}, an int or a tuple of ints, got {shared_axes!r}")
    if isinstance(shared_axes, bool):
        raise ValueError(f"{layer}: shared_axes must be an int or a tuple of ints, got {shared_axes!r}")
    if _is_int(shared_axes):
        return (int(shared_axes),)
    try:
        axes = tuple(shared_axes)
    except TypeError:
        raise ValueError(f"{layer}: shared_axes must be 'auto', an int or a tuple of ints, got {shared_axes!r}") from None
    if not all(_is_int(a) for a in axes):
        raise ValueError(f"{layer}: shared_axes must contain ints only, got {shared_axes!r}")
    return tuple(int(a) for a in axes)


def _is_int(value: Any) -> bool:
    # numpy integers too (Lasagne's int_types), never bools
    return isinstance(value, (numbers.Integral, np.integer)) and not isinstance(value, (bool, np.bool_))


def shared_param_shape(layer: str, param: str, input_shape: Shape, shared_axes: Sequence[int]) -> List[int]:
    """Shape of a parameter shared over ``shared_axes``: the other input axes, in order."""
    shape = [size for axis, size in enumerate(input_shape) if axis not in shared_axes]
    if any(size is None for size in shape):
        raise ValueError(
            f"{layer} needs specified input sizes for all axes that {param} is not shared over; "
            f"input_shape={tuple(input_shape)}, shared_axes={tuple(shared_axes)}"
        )
    return shape


def broadcast_pattern(ndim: int, shared_axes: Sequence[int]) -> List[Union[str, int]]:
    """Lasagne's dimshuffle pattern: ``'x'`` on shared axes, parameter axes in order elsewhere."""
    pattern: List[Union[str, int]] = []
    k = 0
    for axis in range(ndim):
        if axis in shared_axes:
            pattern.append("x")
        else:
            pattern.append(k)
            k += 1
    return pattern


def dropout_shared_axes(shared_axes: Sequence[int], ndim: int) -> Tuple[int, ...]:
    """DropoutLayer normalises negative axes (``a + ndim``), unlike the parameter layers."""
    return tuple(a if a >= 0 else a + ndim for a in shared_axes)


def check_rrelu_bounds(lower: Any, upper: Any) -> None:
    if lower > upper:
        raise ValueError(
            f"Upper bound for RandomizedRectifierLayer needs to be higher than lower bound; got lower={lower}, upper={upper}"
        )


def check_dropout_p(layer: str, p: Any) -> None:
    if isinstance(p, (int, float)) and not 0 <= p <= 1:
        raise ValueError(f"{layer}: p must be a probability in [0, 1], got {p!r}")


def expression_output_shape(layer: str, output_shape: Any, input_shape: Shape,
                            auto: Callable[[Shape], Shape]) -> Shape:
    """ExpressionLayer's declared output shape: None (same as input), a tuple or 'auto'."""
    if output_shape is None:
        return tuple(input_shape)
    if isinstance(output_shape, str):
        if output_shape == "auto":
            return auto(tuple(input_shape))
        raise ValueError(f"{layer}: output_shape must be None, 'auto', a tuple or a callable, got {output_shape!r}")
    return tuple(output_shape)
