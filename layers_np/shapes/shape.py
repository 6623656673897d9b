"""Shape arithmetic of the shape family (Lasagne's ``lasagne/layers/shape.py``).

Pure Python, shared by the Theano layers and their numpy twins. Every function takes the
layer's name first so its messages say which layer refused what. Messages keep
Lasagne's wording where Lasagne has one.

The harness checks every shape declared here against the arrays Theano produces, so a
mistake in this module cannot hide: it would show up as a shape mismatch.
"""
from __future__ import annotations

import numbers
from typing import Any, Callable, List, Optional, Sequence, Tuple, Union

import numpy as np

Shape = Tuple[Optional[int], ...]

__all__ = [
    "is_int",
    "check_flatten_outdim",
    "flatten_output_shape",
    "check_reshape_spec",
    "reshape_output_shape",
    "check_dimshuffle_pattern",
    "dimshuffle_output_shape",
    "pad_widths",
    "pad_output_shape",
    "check_slice_args",
    "slice_output_shape",
]


def is_int(value: Any) -> bool:
    """True for Python and numpy integers, False for bools (Lasagne's ``int_types``)."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


# ---------------------------------------------------------------------------
# FlattenLayer
# ---------------------------------------------------------------------------
def check_flatten_outdim(layer: str, outdim: Any, input_shape: Optional[Shape] = None) -> None:
    """Lasagne refuses ``outdim < 1``; Theano's ``flatten`` also refuses ``outdim > ndim`` (for ndim > 1)."""
    if not is_int(outdim):
        raise ValueError(f"{layer}: outdim must be an int >= 1, got {outdim!r}")
    if outdim < 1:
        raise ValueError(f"{layer}: Dim must be >0, was {outdim}")
    if input_shape is not None and outdim > 1 and outdim > len(input_shape):
        raise ValueError(
            f"{layer}: outdim={outdim} is larger than the input's {len(input_shape)} dimensions "
            f"(input shape {input_shape}); Theano's flatten needs 1 <= outdim <= ndim"
        )


def flatten_output_shape(input_shape: Shape, outdim: int) -> Shape:
    """Keep the leading ``outdim - 1`` axes, collapse the rest (None if any collapsed axis is None)."""
    to_flatten = tuple(input_shape[outdim - 1:])
    flattened = None if any(s is None for s in to_flatten) else int(np.prod(to_flatten, dtype=np.int64))
    return tuple(input_shape[:outdim - 1]) + (flattened,)


# ---------------------------------------------------------------------------
# ReshapeLayer
# ---------------------------------------------------------------------------
def check_reshape_spec(layer: str, shape: Sequence[Any], is_symbolic: Optional[Callable[[Any], bool]] = None) -> Tuple[Any, ...]:
    """Validate a ReshapeLayer specification and return it as a tuple.

    Elements: a positive int, ``[i]`` (size of input dimension i), one ``-1``, or (Theano
    side only, when ``is_symbolic`` recognises it) a scalar symbolic size.
    """
    try:
        shape = tuple(shape)
    except TypeError:
        raise ValueError(f"{layer}: `shape` must be a tuple of int and/or [int], got {shape!r}") from None
    for s in shape:
        if is_int(s):
            if s == 0 or s < -1:
                raise ValueError(f"{layer}: `shape` integers must be positive or -1, got {s} in {shape}")
        elif isinstance(s, list):
            if len(s) != 1 or not is_int(s[0]) or s[0] < 0:
                raise ValueError(
                    f"{layer}: `shape` input references must be single-element lists of int >= 0, got {s!r} in {shape}"
                )
        elif is_symbolic is not None and is_symbolic(s):
            if getattr(s, "ndim", 0) != 0:
                raise ValueError(
                    f"{layer}: A symbolic variable in a shape specification must be a scalar, "
                    f"but had {s.ndim} dimensions"
                )
        else:
            raise ValueError(f"{layer}: `shape` must be a tuple of int and/or [int], got {s!r} in {shape}")
    if sum(1 for s in shape if is_int(s) and s == -1) > 1:
        raise ValueError(f"{layer}: `shape` cannot contain multiple -1, got {shape}")
    return shape


def reshape_output_shape(layer: str, input_shape: Shape, spec: Sequence[Any]) -> Shape:
    """Lasagne's ReshapeLayer output shape: ``[i]`` copies input dim i, ``-1`` is inferred.

    Elements that are neither int nor ``[i]`` (symbolic sizes) become None. An unknown
    input size copied once through ``[i]`` does not prevent inferring ``-1``.
    """
    output_shape: List[Any] = list(spec)
    masked_input: List[Optional[int]] = list(input_shape)
    masked_output: List[Any] = list(output_shape)
    for dim, o in enumerate(output_shape):
        if isinstance(o, list):
            if o[0] >= len(input_shape):
                raise ValueError(
                    f"{layer}: specification contains [{o[0]}], but input shape has "
                    f"{len(input_shape)} dimensions only"
                )
            output_shape[dim] = input_shape[o[0]]
            masked_output[dim] = input_shape[o[0]]
            if input_shape[o[0]] is None and masked_input[o[0]] is None:
                # first copy of this unknown size: a 1:1 correspondence, ignore it for -1
                masked_input[o[0]] = 1
                masked_output[dim] = 1
    for dim, o in enumerate(output_shape):
        if not (o is None or is_int(o)):
            output_shape[dim] = None
            masked_output[dim] = None
    input_size = None if any(x is None for x in masked_input) else int(np.prod(masked_input, dtype=np.int64))
    output_size = None if any(x is None for x in masked_output) else int(np.prod(masked_output, dtype=np.int64))
    if -1 in output_shape:
        dim = output_shape.index(-1)
        if input_size is None or output_size is None:
            output_shape[dim] = None
            output_size = None
        else:
            output_size *= -1
            output_shape[dim] = input_size // output_size
            output_size *= output_shape[dim]
    if input_size is not None and output_size is not None and input_size != output_size:
        raise ValueError(
            f"{layer}: {tuple(input_shape)} cannot be reshaped to specification {tuple(spec)}. "
            "The total size mismatches."
        )
    return tuple(output_shape)


# ---------------------------------------------------------------------------
# DimshuffleLayer
# ---------------------------------------------------------------------------
def check_dimshuffle_pattern(layer: str, pattern: Sequence[Any]) -> Tuple[Any, ...]:
    """Each entry an input dimension index (at most once) or ``'x'``."""
    try:
        pattern = tuple(pattern)
    except TypeError:
        raise ValueError(f"{layer}: pattern must be a tuple of dimension indices and 'x', got {pattern!r}") from None
    used = set()
    for p in pattern:
        if is_int(p):
            if p in used:
                raise ValueError(f"{layer}: pattern contains dimension {p} more than once: {pattern}")
            used.add(p)
        elif isinstance(p, str) and p == "x":
            pass
        else:
            raise ValueError(f"{layer}: pattern should only contain dimension indices or 'x', not {p!r}")
    return pattern


def dimshuffle_output_shape(layer: str, input_shape: Shape, pattern: Sequence[Any]) -> Shape:
    """Output shape of ``dimshuffle(pattern)``; omitted input dims must have size 1 (or None)."""
    output_shape: List[Optional[int]] = []
    used = [False] * len(input_shape)
    for p in pattern:
        if is_int(p):
            if p < 0 or p >= len(input_shape):
                raise ValueError(
                    f"{layer}: pattern contains {p}, but input shape has {len(input_shape)} dimensions only"
                )
            output_shape.append(input_shape[p])
            used[p] = True
        else:
            output_shape.append(1)
    for i, (size, u) in enumerate(zip(input_shape, used)):
        if not u and size != 1 and size is not None:
            raise ValueError(
                f"{layer}: pattern attempted to collapse dimension {i} of size {size}; dimensions with "
                "size != 1/None are not broadcastable and cannot be collapsed"
            )
    return tuple(output_shape)


# ---------------------------------------------------------------------------
# PadLayer
# ---------------------------------------------------------------------------
def pad_widths(layer: str, width: Any, ndim: int, batch_ndim: int) -> List[Tuple[int, int]]:
    """``(before, after)`` for each padded axis ``batch_ndim, batch_ndim + 1, ...``.

    ``width`` is an int (every non-batch axis, both sides), a sequence of ints (one per
    axis, both sides) or a sequence of pairs; a sequence shorter than ``ndim - batch_ndim``
    pads only the first axes after the batch axes.
    """
    if not is_int(batch_ndim) or batch_ndim < 0:
        raise ValueError(f"{layer}: batch_ndim must be an int >= 0, got {batch_ndim!r}")
    if is_int(width):
        widths: List[Any] = [width] * max(ndim - batch_ndim, 0)
    else:
        try:
            widths = list(width)
        except TypeError:
            raise ValueError(
                f"{layer}: width must be an int, a sequence of ints or a sequence of (before, after) "
                f"pairs, got {width!r}"
            ) from None
    if len(widths) > ndim - batch_ndim:
        raise ValueError(
            f"{layer}: width {width!r} gives {len(widths)} axes to pad, but a {ndim}-dimensional input "
            f"with batch_ndim={batch_ndim} has only {max(ndim - batch_ndim, 0)} axes after the batch axes"
        )
    pairs = []
    for w in widths:
        if is_int(w):
            pair = (int(w), int(w))
        else:
            try:
                l, r = w
            except (TypeError, ValueError):
                raise ValueError(f"{layer}: each width must be an int or a pair (before, after), got {w!r}") from None
            if not (is_int(l) and is_int(r)):
                raise ValueError(f"{layer}: each width must be an int or a pair of ints, got {w!r}")
            pair = (int(l), int(r))
        if pair[0] < 0 or pair[1] < 0:
            raise ValueError(f"{layer}: padding widths must be >= 0, got {w!r}")
        pairs.append(pair)
    return pairs


def pad_output_shape(layer: str, input_shape: Shape, width: Any, batch_ndim: int) -> Shape:
    """Padded axes grow by ``before + after``; unknown sizes stay None."""
    output_shape = list(input_shape)
    for k, (l, r) in enumerate(pad_widths(layer, width, len(input_shape), batch_ndim)):
        if output_shape[k + batch_ndim] is not None:
            output_shape[k + batch_ndim] += l + r
    return tuple(output_shape)


# ---------------------------------------------------------------------------
# SliceLayer
# ---------------------------------------------------------------------------
def check_slice_args(layer: str, input_shape: Shape, indices: Any, axis: Any) -> None:
    """``indices`` an int or a slice of ints/None, ``axis`` a valid (possibly negative) axis."""
    ndim = len(input_shape)
    if not is_int(axis) or not -ndim <= axis < ndim:
        raise ValueError(f"{layer}: axis={axis!r} is out of range for a {ndim}-dimensional input {input_shape}")
    if is_int(indices):
        size = input_shape[axis]
        if size is not None and not -size <= indices < size:
            raise ValueError(
                f"{layer}: index {indices} is out of range for axis {axis} of size {size} (input shape {input_shape})"
            )
    elif isinstance(indices, slice):
        for part in (indices.start, indices.stop, indices.step):
            if part is not None and not is_int(part):
                raise ValueError(f"{layer}: slice {indices!r} must hold ints or None")
        if indices.step == 0:
            raise ValueError(f"{layer}: slice step cannot be zero, got {indices!r}")
    else:
        raise ValueError(f"{layer}: indices must be an int or a slice, got {indices!r}")


def slice_output_shape(input_shape: Shape, indices: Union[int, slice], axis: int) -> Shape:
    """An int index drops the axis; a slice keeps it with ``len(range(*slice.indices(size)))``."""
    output_shape = list(input_shape)
    if is_int(indices):
        del output_shape[axis]
    elif input_shape[axis] is not None:
        output_shape[axis] = len(range(*indices.indices(input_shape[axis])))
    else:
        output_shape[axis] = None
    return tuple(output_shape)
