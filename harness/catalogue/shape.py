"""Pairs of the shape family: FlattenLayer, ReshapeLayer, DimshuffleLayer, PadLayer, SliceLayer.

These layers only move values, so twins must match Theano exactly (no error bound).
Traps (SEMANTICS.md, Shape and merge) and where the strategies reach them:

* ReshapeLayer: ``[i]`` references to input dims (including the free batch axis, and
  references out of order, e.g. ``([1], [0])``), one ``-1``, C order.
* SliceLayer: an int index drops the axis (also the batch axis, also on 1-d input),
  negative indices, negative steps, empty results.
* PadLayer: never pads the first ``batch_ndim`` axes (0, 1, 2 drawn); asymmetric
  ``(before, after)`` pairs, per-axis ints, a width list shorter than the padded axes,
  non-zero padding values.
* FlattenLayer: every ``outdim`` from 1 to ndim.

Hyperparameters come from short lists (each distinct one compiles a Theano function);
the graphs read every size from the input at run time, so shapes vary freely without
``shape_in_key``.
"""
from __future__ import annotations

import numbers

from hypothesis import strategies as st

import layers_np as L
import layers_theano as LT

from ..registry import register_pair


@st.composite
def _shape(draw, ndim: int, min_sides=None):
    min_sides = min_sides or {}
    return tuple(draw(st.integers(min_sides.get(i, 1), 6)) for i in range(ndim))


# ---------------------------------------------------------------------------
# FlattenLayer
# ---------------------------------------------------------------------------
FLATTEN_CONFIGS = [(ndim, outdim) for ndim in (1, 2, 3, 4) for outdim in range(1, ndim + 1)]


@st.composite
def flatten_draws(draw):
    ndim, outdim = draw(st.sampled_from(FLATTEN_CONFIGS))
    shape = draw(_shape(ndim))
    kwargs = {} if outdim == 2 else {"outdim": outdim}
    return kwargs, [shape]


register_pair("FlattenLayer", LT.FlattenLayer, L.FlattenLayer, flatten_draws(), family="shape")


# ---------------------------------------------------------------------------
# ReshapeLayer
# ---------------------------------------------------------------------------
# (input ndim, specification, factor the last input side must be a multiple of)
RESHAPE_CONFIGS = [
    (2, ([0], -1), 1),
    (2, (-1,), 1),
    (2, ([1], [0]), 1),              # sizes swapped: a reshape, not a transpose
    (3, ([0], [2], -1), 1),
    (3, ([0], 1, -1, [1]), 1),
    (3, ([0], -1, 2), 2),
    (4, ([0], -1, [3]), 1),
    (4, (-1, [2], [3]), 1),
    (4, ([0], 3, -1), 3),
    (4, ([0], [1], [2], [3]), 1),
]


@st.composite
def reshape_draws(draw):
    ndim, spec, factor = draw(st.sampled_from(RESHAPE_CONFIGS))
    shape = list(draw(_shape(ndim)))
    shape[-1] = factor * draw(st.integers(1, 3)) if factor > 1 else shape[-1]
    return {"shape": spec}, [tuple(shape)]


register_pair("ReshapeLayer", LT.ReshapeLayer, L.ReshapeLayer, reshape_draws(), family="shape")


# ---------------------------------------------------------------------------
# DimshuffleLayer
# ---------------------------------------------------------------------------
DIMSHUFFLE_PATTERNS = [
    ("x", 0),
    (1, 0),
    (0, "x", 1),
    (2, 0, 1),
    (0, 2, 1, "x"),
    (3, 2, 1, 0),
    (0, "x", 3, "x", 1, 2),
]


@st.composite
def dimshuffle_draws(draw):
    pattern = draw(st.sampled_from(DIMSHUFFLE_PATTERNS))
    ndim = len([p for p in pattern if p != "x"])
    return {"pattern": pattern}, [draw(_shape(ndim))]


register_pair("DimshuffleLayer", LT.DimshuffleLayer, L.DimshuffleLayer, dimshuffle_draws(), family="shape")


# ---------------------------------------------------------------------------
# PadLayer
# ---------------------------------------------------------------------------
# (input ndim, width, batch_ndim or None for the default 2)
PAD_CONFIGS = [
    (4, 1, None),
    (4, [(0, 2), (1, 0)], None),     # asymmetric pairs
    (4, [(1, 0)], None),             # shorter than the padded axes: axis 3 left alone
    (3, [2], None),
    (3, (1, 2), 1),                  # one symmetric width per axis
    (2, [(2, 1)], 1),
    (3, 1, 0),                       # batch_ndim 0: the batch axis is padded too
]


@st.composite
def pad_draws(draw):
    ndim, width, batch_ndim = draw(st.sampled_from(PAD_CONFIGS))
    kwargs = {"width": width}
    if batch_ndim is not None:
        kwargs["batch_ndim"] = batch_ndim
    val = draw(st.sampled_from([None, 1.5, -2.25]))
    if val is not None:
        kwargs["val"] = val
    return kwargs, [draw(_shape(ndim))]


register_pair("PadLayer", LT.PadLayer, L.PadLayer, pad_draws(), family="shape")


# ---------------------------------------------------------------------------
# SliceLayer
# ---------------------------------------------------------------------------
# (input ndim, indices, axis or None for the default -1)
SLICE_CONFIGS = [
    (2, 0, None),                         # int: drops the last axis
    (3, -1, 1),                           # negative int
    (3, 1, 0),                            # int on the (free) batch axis
    (1, -2, 0),                           # 1-d input: a 0-d result
    (2, slice(None, None, -1), None),     # reversed
    (3, slice(-2, None), 1),
    (4, slice(1, None, 2), 2),
    (3, slice(None, None, -2), None),
    (2, slice(-1, 0, -1), 0),
    (3, slice(3, 1, -1), -2),             # empty when the axis is short
]


def _min_side(indices) -> int:
    if isinstance(indices, numbers.Integral):
        return indices + 1 if indices >= 0 else -indices
    return 1


@st.composite
def slice_draws(draw):
    ndim, indices, axis = draw(st.sampled_from(SLICE_CONFIGS))
    ax = (ndim - 1 if axis is None else axis) % ndim
    shape = draw(_shape(ndim, {ax: _min_side(indices)}))
    kwargs = {"indices": indices}
    if axis is not None:
        kwargs["axis"] = axis
    return kwargs, [shape]


register_pair("SliceLayer", LT.SliceLayer, L.SliceLayer, slice_draws(), family="shape")
