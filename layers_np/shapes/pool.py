"""Shape arithmetic of the pool family (Lasagne's ``pool_output_length``, Theano's ``Pool.out_shape``)."""
from __future__ import annotations

from typing import Optional

__all__ = ["pool_output_length", "theano_pool_length"]


def pool_output_length(input_length: Optional[int], pool_size: Optional[int], stride: int, pad: int,
                       ignore_border: bool) -> Optional[int]:
    """Output length of a pooling along one axis, as Lasagne declares it.

    ``ignore_border=True``: ``(L + 2p - ws) // s + 1``; otherwise (pad 0) ``ceil(L / s)`` if
    ``s >= ws`` else ``max(0, (L - ws + s - 1) // s) + 1``.
    """
    if input_length is None or pool_size is None:
        return None
    if ignore_border:
        length = input_length + 2 * pad - pool_size + 1
        return (length + stride - 1) // stride
    if pad != 0:
        raise ValueError(f"pooling with ignore_border=False requires pad=0, got pad={pad}")
    if stride >= pool_size:
        return (input_length + stride - 1) // stride
    return max(0, (input_length - pool_size + stride - 1) // stride) + 1


def theano_pool_length(input_length: int, ws: int, stride: int, pad: int, ignore_border: bool) -> int:
    """Output length Theano's ``Pool`` op produces (clamped at 0, unlike Lasagne's formula)."""
    v = input_length + 2 * pad
    if ignore_border:
        if ws == stride:
            return v // stride
        return max((v - ws) // stride + 1, 0)
    if stride >= ws:
        return (v - 1) // stride + 1
    return max(0, (v - 1 - ws + stride) // stride) + 1
