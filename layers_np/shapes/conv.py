"""Shape arithmetic of the conv family (Lasagne's ``conv_output_length``/``conv_input_length``)."""
from __future__ import annotations

import numbers
from typing import Any, Optional, Sequence, Tuple, Union

import numpy as np

__all__ = ["as_tuple", "conv_output_length", "conv_input_length", "conv_pad_amounts", "theano_border_mode"]

Pad = Union[str, int, Tuple[int, ...]]


def as_tuple(x: Any, n: int, what: str = "argument", t: Optional[type] = None) -> Tuple[Any, ...]:
    """Lasagne's ``as_tuple``: an int becomes ``(x,) * n``; an iterable must have length n."""
    try:
        values = tuple(x)
    except TypeError:
        values = (x,) * n
    if len(values) != n:
        raise ValueError(f"expected a single value or an iterable of length {n} for {what}, got {x!r}")
    if t is int:
        # Lasagne's int_types: numpy integers (e.g. from a config array) count as ints
        if not all(isinstance(v, (numbers.Integral, np.integer)) and not isinstance(v, (bool, np.bool_))
                   for v in values):
            raise TypeError(f"expected a single value or an iterable of int of length {n} for {what}, got {x!r}")
        return tuple(int(v) for v in values)
    if t is not None and not all(isinstance(v, t) and not isinstance(v, bool) for v in values):
        raise TypeError(f"expected a single value or an iterable of {t.__name__} of length {n} for {what}, got {x!r}")
    return values


def conv_output_length(input_length: Optional[int], filter_size: int, stride: int, pad: Pad = 0) -> Optional[int]:
    """Output length of a convolution along one axis (Lasagne master).

    ``'valid'``: ``in - k + 1``; ``'full'``: ``in + k - 1``; ``'same'``: ``in``; int p:
    ``in + 2p - k + 1``; then ``ceil(length / stride)``.
    """
    if input_length is None:
        return None
    if pad == "valid":
        length = input_length - filter_size + 1
    elif pad == "full":
        length = input_length + filter_size - 1
    elif pad == "same":
        length = input_length
    elif isinstance(pad, int):
        length = input_length + 2 * pad - filter_size + 1
    else:
        raise ValueError(f"Invalid pad: {pad!r}")
    return (length + stride - 1) // stride


def conv_input_length(output_length: Optional[int], filter_size: int, stride: int, pad: Pad = 0) -> Optional[int]:
    """Smallest input length of a convolution giving ``output_length`` (transposed conv size).

    ``(out - 1) * stride - 2 * pad + filter_size`` with ``'full'`` pad ``k - 1`` and ``'same'`` ``k // 2``.
    """
    if output_length is None:
        return None
    if pad == "valid":
        pad = 0
    elif pad == "full":
        pad = filter_size - 1
    elif pad == "same":
        pad = filter_size // 2
    if not isinstance(pad, int):
        raise ValueError(f"Invalid pad: {pad!r}")
    return (output_length - 1) * stride - 2 * pad + filter_size


def theano_border_mode(pad: Pad) -> Pad:
    """The ``border_mode`` Lasagne passes to Theano: ``'same'`` becomes ``'half'``."""
    return "half" if pad == "same" else pad


def conv_pad_amounts(border_mode: Pad, kernel: Sequence[int], dilation: Sequence[int]) -> Tuple[Tuple[int, int], ...]:
    """Per-axis (low, high) zero padding of Theano's ``border_mode`` for (dilated) kernels.

    ``'valid'`` 0, ``'full'`` ``dk - 1``, ``'half'`` ``dk // 2`` (an even kernel then gives an
    output one longer than the input), int or tuple of ints symmetric, tuple of pairs asymmetric;
    ``dk = (k - 1) * dilation + 1``.
    """
    n = len(kernel)
    dk = [(k - 1) * d + 1 for k, d in zip(kernel, dilation)]
    if border_mode == "valid":
        return tuple((0, 0) for _ in range(n))
    if border_mode == "full":
        return tuple((k - 1, k - 1) for k in dk)
    if border_mode == "half":
        return tuple((k // 2, k // 2) for k in dk)
    if isinstance(border_mode, int):
        border_mode = (border_mode,) * n
    if not isinstance(border_mode, tuple) or len(border_mode) != n:
        raise ValueError(f"invalid border_mode {border_mode!r} for a {n}-d convolution")
    pads = []
    for p in border_mode:
        lo, hi = (p, p) if isinstance(p, int) else tuple(p)
        if lo < 0 or hi < 0:
            raise ValueError(f"border_mode must be >= 0, got {border_mode!r}")
        pads.append((int(lo), int(hi)))
    return tuple(pads)
