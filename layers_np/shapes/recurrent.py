"""Shape arithmetic and argument checks of the recurrent and embedding families (pure Python)."""
from __future__ import annotations

from typing import Optional, Sequence, Tuple

Shape = Tuple[Optional[int], ...]

__all__ = ["check_recurrent_input", "check_recurrent_options", "recurrent_output_shape", "embedding_output_shape",
           "num_flat_inputs"]


def check_recurrent_input(layer: str, input_shape: Shape) -> None:
    """Recurrent input is ``(batch, time, features...)``: at least 3 axes."""
    if len(input_shape) < 3:
        raise ValueError(f"{layer}: expected an input of shape (batch, time, features...), "
                         f"got input_shape={tuple(input_shape)}")


def check_recurrent_options(layer: str, input_shape: Shape, unroll_scan: bool, gradient_steps: int) -> None:
    """Lasagne's checks: unroll_scan needs the full gradient and a known sequence length."""
    if unroll_scan and gradient_steps != -1:
        raise ValueError(f"{layer}: Gradient steps must be -1 when unroll_scan is true "
                         f"(got gradient_steps={gradient_steps}).")
    if unroll_scan and input_shape[1] is None:
        raise ValueError(f"{layer}: Input sequence length cannot be specified as None when unroll_scan is True")


def num_flat_inputs(layer: str, input_shape: Shape) -> int:
    """Number of features per step: the product of the axes after (batch, time)."""
    trailing = input_shape[2:]
    if any(s is None for s in trailing):
        raise ValueError(f"{layer}: the feature axes of the input must be known, got input_shape={tuple(input_shape)}")
    n = 1
    for s in trailing:
        n *= int(s)
    return n


def recurrent_output_shape(input_shape: Shape, trailing: Sequence[Optional[int]], only_return_final: bool) -> Shape:
    """``(batch, time) + trailing``, or ``(batch,) + trailing`` when only the final step is returned."""
    if only_return_final:
        return (input_shape[0],) + tuple(trailing)
    return (input_shape[0], input_shape[1]) + tuple(trailing)


def embedding_output_shape(input_shape: Shape, output_size: int) -> Shape:
    return tuple(input_shape) + (output_size,)
