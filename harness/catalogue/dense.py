"""DenseLayer and NINLayer pairs, and the nonlinearities through NonlinearityLayer-free dense use."""
from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

import layers_np as L
import layers_theano as LT

from ..registry import register_pair
from ..strategies import nonlinearities, shapes
from ..tolerance import dot_bound


def _lipschitz(fn: Any) -> float:
    """Largest |f'| of a nonlinearity spec: scales the error of the pre-activation."""
    if fn is None or not hasattr(fn, "args"):
        return 1.0
    args = dict(fn.args)
    if fn.name == "ScaledTanH":
        return abs(args["scale_in"] * args["scale_out"])
    if fn.name in ("SELU", "selu"):
        return 1.0507009873554805 * 1.6732632423543772 if fn.name == "selu" else abs(args["scale"]) * max(1.0, abs(args["scale_neg"]))
    return 1.0  # sigmoid 1/4, tanh, relu and its leaky forms, elu, softplus, softmax (<= 1/2), hard/ultra-fast <= 1


def dense_bound(case, inputs, params, kwargs):
    """Forward error bound of ``f(dot(x, W) + b)``: 2 gamma_{K+1} L (|x| |W| + |b|)."""
    x = inputs[0].astype(np.float64)
    n = kwargs.get("num_leading_axes", 1) % x.ndim
    W = np.abs(params[0].astype(np.float64))
    abs_dot = np.abs(x.reshape(x.shape[:n] + (-1,))) @ W
    if len(params) > 1:
        abs_dot = abs_dot + np.abs(params[1].astype(np.float64))
    return dot_bound(W.shape[0] + 1, abs_dot, case.dtype, _lipschitz(kwargs.get("nonlinearity")))


@st.composite
def dense_draws(draw):
    shape = draw(shapes(min_ndim=2, max_ndim=4, max_side=6))
    nla = draw(st.integers(-len(shape) + 1, len(shape) - 1).filter(lambda n: n != 0))
    kwargs = {"num_units": draw(st.integers(1, 9)), "nonlinearity": draw(nonlinearities()),
              "num_leading_axes": nla, "b": draw(st.sampled_from(["init", None]))}
    if kwargs["b"] == "init":
        del kwargs["b"]
    return kwargs, [shape]


register_pair("DenseLayer", LT.DenseLayer, L.DenseLayer, dense_draws(), family="dense",
              error_bound=dense_bound,
              values={"clamp_points": [0.0, -37.0, 18.0, 33.3, 2.5, -2.5, 3.4, 6.0, -88.7]})


def nin_bound(case, inputs, params, kwargs):
    """2 gamma_{C+1} L (sum_c |x_c||W_cu| + |b|) at every position."""
    x = np.abs(np.moveaxis(inputs[0].astype(np.float64), 1, -1))
    acc = np.moveaxis(x @ np.abs(params[0].astype(np.float64)), -1, 1)
    if len(params) > 1:
        b = np.abs(params[1].astype(np.float64))
        acc = acc + (b if kwargs.get("untie_biases") else b.reshape(b.shape + (1,) * (x.ndim - 2)))
    return dot_bound(params[0].shape[0] + 1, acc, case.dtype, _lipschitz(kwargs.get("nonlinearity")))


@st.composite
def nin_draws(draw):
    shape = draw(shapes(min_ndim=2, max_ndim=5, max_side=5))
    kwargs = {"num_units": draw(st.integers(1, 7)), "untie_biases": draw(st.booleans()),
              "nonlinearity": draw(nonlinearities(allow_softmax=False))}
    if draw(st.booleans()):
        kwargs["b"] = None
    return kwargs, [shape]


register_pair("NINLayer", LT.NINLayer, L.NINLayer, nin_draws(), family="dense", error_bound=nin_bound)
