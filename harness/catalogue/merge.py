"""ConcatLayer, ElemwiseSumLayer and ElemwiseMergeLayer pairs, with every cropping mode.

Shapes are drawn so that inputs agree on the axes that are neither cropped nor the
concatenation axis, and differ freely on the others; the cropping lists are drawn shorter
than the rank too (Lasagne pads them with None) and, for ConcatLayer with a negative axis,
short enough that Lasagne's ``cropping[axis] = None`` clears a different entry.
"""
from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

import layers_np as L
import layers_theano as LT
from layers_np.shapes import concat_cropping, pad_cropping
from layers_theano.backend import T

from ..registry import register_pair
from ..strategies import Fn, register_function
from ..tolerance import gamma

for _name, _np_fn in (("mul", np.multiply), ("maximum", np.maximum), ("minimum", np.minimum), ("sub", np.subtract)):
    register_function(_name, getattr(T, _name), _np_fn)

CROPS = (None, "lower", "center", "upper")


@st.composite
def _cropping(draw, ndim):
    if draw(st.booleans()):
        return None
    length = draw(st.integers(1, ndim))
    return [draw(st.sampled_from(CROPS)) for _ in range(length)]


def _merge_shapes(draw, n_inputs, ndim, varying):
    """Input shapes equal on every axis except those in ``varying`` (sizes 1..5)."""
    base = [draw(st.integers(1, 5)) for _ in range(ndim)]
    shapes = []
    for _ in range(n_inputs):
        shapes.append(tuple(draw(st.integers(1, 5)) if d in varying else base[d] for d in range(ndim)))
    return shapes


@st.composite
def concat_draws(draw):
    ndim = draw(st.integers(1, 4))
    n_inputs = draw(st.integers(2, 3))
    axis = draw(st.integers(-ndim, ndim - 1))
    cropping = draw(_cropping(ndim))
    if cropping is not None and not (-len(cropping) <= axis < len(cropping)):
        cropping = None  # Lasagne raises IndexError at construction for these
    effective = concat_cropping(cropping, axis)
    cropped = set() if effective is None else {d for d, c in enumerate(pad_cropping(effective, ndim)) if c}
    shapes = _merge_shapes(draw, n_inputs, ndim, cropped | {axis % ndim})
    return {"axis": axis, "cropping": cropping}, shapes


def _elemwise_kwargs_shapes(draw):
    ndim = draw(st.integers(1, 4))
    n_inputs = draw(st.integers(2, 3))
    cropping = draw(_cropping(ndim))
    cropped = set() if cropping is None else {d for d, c in enumerate(pad_cropping(cropping, ndim)) if c}
    return {"cropping": cropping}, _merge_shapes(draw, n_inputs, ndim, cropped)


@st.composite
def sum_draws(draw):
    kwargs, shapes = _elemwise_kwargs_shapes(draw)
    coeffs = draw(st.one_of(st.sampled_from([1, 0.5, -1.0, 2, 0.1]),
                            st.lists(st.sampled_from([1, -1.0, 0.3, 1.7159]), min_size=len(shapes), max_size=len(shapes))))
    kwargs["coeffs"] = coeffs
    return kwargs, shapes


@st.composite
def merge_draws(draw):
    kwargs, shapes = _elemwise_kwargs_shapes(draw)
    kwargs["merge_function"] = draw(st.sampled_from([Fn("mul"), Fn("maximum"), Fn("minimum"), Fn("sub")]))
    return kwargs, shapes


def _cropped(inputs, cropping):
    return L.autocrop([np.asarray(a, dtype=np.float64) for a in inputs], cropping)


def sum_bound(case, inputs, params, kwargs):
    """An n-term sum (possibly regrouped, or with the products fused by FMA): each side is
    within gamma_n * sum_i |c_i x_i| of the exact sum, so they differ by at most twice that."""
    xs = _cropped(inputs, kwargs.get("cropping"))
    coeffs = kwargs.get("coeffs", 1)
    coeffs = coeffs if isinstance(coeffs, list) else [coeffs] * len(xs)
    acc = sum(np.abs(c * x) for c, x in zip(coeffs, xs))
    return 2.0 * gamma(len(xs), case.dtype) * acc


def merge_bound(case, inputs, params, kwargs):
    """max/min are exact and a product chain is evaluated in the same order on both sides (0);
    a chain of subtractions may be regrouped by Theano's canonicaliser into
    ``x_1 - (x_2 + ... + x_n)``: an n-term sum, bound 2 gamma_n sum |x_i|."""
    if kwargs["merge_function"].name != "sub":
        return None
    xs = _cropped(inputs, kwargs.get("cropping"))
    return 2.0 * gamma(len(xs), case.dtype) * sum(np.abs(x) for x in xs)


def _factory(cls):
    def build(incomings, **kwargs):
        return cls(incomings, **kwargs)
    build.__name__ = cls.__name__
    return build


register_pair("ConcatLayer", _factory(LT.ConcatLayer), _factory(L.ConcatLayer), concat_draws(), family="merge",
              multi_input=True)
register_pair("ElemwiseSumLayer", _factory(LT.ElemwiseSumLayer), _factory(L.ElemwiseSumLayer), sum_draws(),
              family="merge", multi_input=True, error_bound=sum_bound)
register_pair("ElemwiseMergeLayer", _factory(LT.ElemwiseMergeLayer), _factory(L.ElemwiseMergeLayer), merge_draws(),
              family="merge", multi_input=True, error_bound=merge_bound)
