"""Shape arithmetic of the merge family (Lasagne's ``autocrop_array_shapes`` and friends).

Pure Python, imported by both sides. The twin also uses :func:`autocrop_slices` on the
concrete array shapes; the Theano side builds the same slices symbolically.
"""
from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

Shape = Tuple[Optional[int], ...]

__all__ = ["CROP_MODES", "check_cropping", "pad_cropping", "concat_cropping", "autocrop_array_shapes",
           "autocrop_slices", "concat_output_shape", "elemwise_merge_output_shape"]

CROP_MODES = ("lower", "center", "upper")


def check_cropping(layer: str, cropping: Optional[Sequence[Optional[str]]]) -> None:
    """Reject unknown crop modes early (Lasagne only notices when computing shapes)."""
    if cropping is None:
        return
    if isinstance(cropping, str) or not hasattr(cropping, "__iter__"):
        raise ValueError(f"{layer}: cropping must be None or a sequence of None/'lower'/'center'/'upper', "
                         f"got {cropping!r}")
    for cr in cropping:
        if cr is not None and cr not in CROP_MODES:
            raise ValueError(f"{layer}: unknown crop mode {cr!r}; expected None, 'lower', 'center' or 'upper'")


def pad_cropping(cropping: Sequence[Optional[str]], ndim: int) -> List[Optional[str]]:
    """Lasagne pads a short cropping list with None for the trailing axes."""
    cropping = list(cropping)
    if ndim > len(cropping):
        cropping = cropping + [None] * (ndim - len(cropping))
    return cropping


def concat_cropping(cropping: Optional[Sequence[Optional[str]]], axis: int) -> Optional[List[Optional[str]]]:
    """ConcatLayer never crops its concatenation axis: ``cropping[axis] = None``.

    Lasagne indexes the *unpadded* list, so a negative ``axis`` with a cropping list shorter
    than the inputs' rank clears the wrong entry, and ``axis >= len(cropping)`` raises
    IndexError; both are reproduced as they are.
    """
    if cropping is None:
        return None
    cropping = list(cropping)
    cropping[axis] = None
    return cropping


def autocrop_array_shapes(input_shapes: Sequence[Shape], cropping: Optional[Sequence[Optional[str]]]) -> List[Shape]:
    """Shapes after cropping: each cropped axis becomes the minimum size (None if any is None)."""
    if cropping is None:
        return [tuple(s) for s in input_shapes]
    ndim = len(input_shapes[0])
    if not all(len(sh) == ndim for sh in input_shapes):
        raise ValueError(f"Not all inputs are of the same dimensionality. Got {len(input_shapes)} inputs of "
                         f"dimensionalities {[len(sh) for sh in input_shapes]}.")
    result = []
    for sizes, cr in zip(zip(*input_shapes), pad_cropping(cropping, ndim)):
        if cr is None:
            result.append(list(sizes))
        elif cr in CROP_MODES:
            smallest = None if any(s is None for s in sizes) else min(sizes)
            result.append([smallest] * len(sizes))
        else:
            raise ValueError(f"Unknown crop mode '{cr}'")
    return [tuple(sh) for sh in zip(*result)]


def autocrop_slices(shapes: Sequence[Tuple[int, ...]], cropping: Optional[Sequence[Optional[str]]]) -> Optional[List[Tuple[slice, ...]]]:
    """Per-input index tuples cropping concrete ``shapes`` (None when nothing is cropped).

    'lower' keeps the first ``m`` entries, 'upper' the last ``m`` (``slice(-m, None)``),
    'center' starts at ``(size - m) // 2``, with ``m`` the smallest size along the axis.
    """
    if cropping is None:
        return None
    ndim = len(shapes[0])
    if not all(len(sh) == ndim for sh in shapes):
        raise ValueError(f"Not all inputs are of the same dimensionality. Got {len(shapes)} inputs of "
                         f"dimensionalities {[len(sh) for sh in shapes]}.")
    per_input: List[List[slice]] = [[] for _ in shapes]
    for dim, cr in enumerate(pad_cropping(cropping, ndim)):
        if cr is None:
            for s in per_input:
                s.append(slice(None))
            continue
        m = min(sh[dim] for sh in shapes)
        for sh, s in zip(shapes, per_input):
            if cr == "lower":
                s.append(slice(None, m))
            elif cr == "upper":
                s.append(slice(-m, None))
            elif cr == "center":
                offset = (sh[dim] - m) // 2
                s.append(slice(offset, offset + m))
            else:
                raise ValueError(f"Unknown crop mode '{cr}'")
    return [tuple(s) for s in per_input]


def _first_known(input_shapes: Sequence[Shape]) -> List[Optional[int]]:
    return [next((s for s in sizes if s is not None), None) for sizes in zip(*input_shapes)]


def concat_output_shape(input_shapes: Sequence[Shape], axis: int, cropping: Optional[Sequence[Optional[str]]]) -> Shape:
    """ConcatLayer: inputs equal except along ``axis`` (after cropping), sizes summed there."""
    input_shapes = autocrop_array_shapes(input_shapes, cropping)
    output_shape = _first_known(input_shapes)

    def match(shape1: Shape, shape2: Sequence[Optional[int]]) -> bool:
        ax = axis if axis >= 0 else len(shape1) + axis
        return len(shape1) == len(shape2) and all(
            i == ax or s1 is None or s2 is None or s1 == s2 for i, (s1, s2) in enumerate(zip(shape1, shape2)))

    if not all(match(shape, output_shape) for shape in input_shapes):
        raise ValueError("Mismatch: input shapes must be the same except in the concatenation axis; "
                         f"got {list(input_shapes)} for axis={axis}")
    sizes = [shape[axis] for shape in input_shapes]
    output_shape[axis] = None if any(s is None for s in sizes) else sum(sizes)
    return tuple(output_shape)


def elemwise_merge_output_shape(input_shapes: Sequence[Shape], cropping: Optional[Sequence[Optional[str]]]) -> Shape:
    """ElemwiseMergeLayer: all inputs the same shape after cropping."""
    input_shapes = autocrop_array_shapes(input_shapes, cropping)
    output_shape = tuple(_first_known(input_shapes))

    def match(shape1: Shape, shape2: Shape) -> bool:
        return len(shape1) == len(shape2) and all(
            s1 is None or s2 is None or s1 == s2 for s1, s2 in zip(shape1, shape2))

    if not all(match(shape, output_shape) for shape in input_shapes):
        raise ValueError(f"Mismatch: not all input shapes are the same, got {list(input_shapes)}")
    return output_shape
