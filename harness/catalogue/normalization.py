"""Pairs of the normalization family: LocalResponseNormalization2DLayer, BatchNormLayer,
StandardizationLayer.

Traps (SEMANTICS.md, Normalisation) and how the strategies reach them:

* BatchNormLayer inference is ``(x - mean) * (gamma * inv_std) + beta`` with no epsilon:
  ``inv_std`` is drawn positive at every parameter scale, up to ~30 (variance ~1e-3),
  and ``epsilon`` itself is drawn (1e-4 default, 1e-2), so a twin adding epsilon is off
  by ``epsilon * inv_std^2 / 2`` relative, far beyond the tolerance. ``beta`` and
  ``gamma`` are each None in some draws.
* StandardizationLayer computes its statistics on every call: input scales go down to
  1e-3 (variance ~1e-6 << epsilon) and epsilon is drawn from {1e-6, 1e-4, 1e-2}, so a
  wrong or missing epsilon changes the output by a large factor.
* LRN: alpha not divided by n, zero padding at the channel ends (channel counts 1..7,
  n up to 7 > C), odd n, alpha/k/beta both float32-exact and inexact (their Theano
  constant dtypes differ under floatX=float64).
"""
from __future__ import annotations

import numbers

import numpy as np
from hypothesis import strategies as st

import layers_np as L
import layers_theano as LT

from ..registry import register_pair
from ..strategies import shapes
from ..tolerance import gamma, unit_roundoff


# ---------------------------------------------------------------------------
# BatchNormLayer
# ---------------------------------------------------------------------------
def _bn_axes(choice: str, ndim: int):
    if choice == "auto":
        return "auto", (0,) + tuple(range(2, ndim))
    if choice == "batch":
        return (0,), (0,)
    if choice == "all_but_last":
        axes = tuple(range(ndim - 1))
        return axes, axes
    raise ValueError(choice)


# (input ndim, axes choice, parameters left out). Each distinct ndim / broadcast pattern /
# set of parameters is new C code (~2 s cold), so the structures come from a short list
# while shapes and values vary freely; epsilon is a graph constant fed as an input of the
# fused loop, so drawing it costs no compile.
BN_CONFIGS = [
    (4, "auto", ()),
    (2, "auto", ("beta",)),
    (3, "batch", ("gamma",)),
    (4, "all_but_last", ("beta", "gamma")),
    (2, "all_but_last", ()),
    (3, "auto", ()),
]


@st.composite
def batchnorm_draws(draw):
    ndim, choice, none_params = draw(st.sampled_from(BN_CONFIGS))
    shape = draw(shapes(min_ndim=ndim, max_ndim=ndim, max_side=6))
    spec, axes = _bn_axes(choice, ndim)
    kwargs = {}
    if spec != "auto":
        kwargs["axes"] = spec
    for name in none_params:
        kwargs[name] = None
    eps = draw(st.sampled_from([None, 1e-2]))
    if eps is not None:
        kwargs["epsilon"] = eps
    # Lasagne needs the sizes of the axes not normalized over; the normalized ones are free.
    declared = tuple(None if i in axes else s for i, s in enumerate(shape))
    return kwargs, [shape], [declared]


def batchnorm_bound(case, inputs, params, kwargs):
    """Theano's fused C loop may contract ``p + beta`` into a fused multiply-add
    (``-march`` flags, g++ ``-ffp-contract=fast``), skipping the rounding of the product
    ``p = ((x - mean) * gamma) * inv_std``: the sides then differ by at most
    ``u |p| + u |out|`` (one product rounding, one final rounding), u = eps/2 of the dtype.
    Without beta nothing can be contracted and the bound is 0."""
    if kwargs.get("beta", "init") is None:
        return None
    u = unit_roundoff(case.dtype)
    x = inputs[0].astype(np.float64)
    names = [n for n in ("beta", "gamma", "mean", "inv_std") if kwargs.get(n, "init") is not None]
    p = dict(zip(names, [q.astype(np.float64) for q in params]))
    axes = (0,) + tuple(range(2, x.ndim)) if kwargs.get("axes", "auto") == "auto" else tuple(kwargs["axes"])
    shape = [1 if a in axes else x.shape[a] for a in range(x.ndim)]
    prod = (x - p["mean"].reshape(shape)) * p["inv_std"].reshape(shape)
    if "gamma" in p:
        prod = prod * p["gamma"].reshape(shape)
    out = prod + p["beta"].reshape(shape)
    return 2.0 * u * (np.abs(prod) + np.abs(out))


register_pair("BatchNormLayer", LT.BatchNormLayer, L.BatchNormLayer, batchnorm_draws(), family="normalization",
              values={"positive_params": ["inv_std"]}, error_bound=batchnorm_bound)


# ---------------------------------------------------------------------------
# StandardizationLayer
# ---------------------------------------------------------------------------
def _std_axes(spec, ndim: int):
    if spec == "auto":
        return (1,) if ndim == 2 else tuple(range(2, ndim))
    if spec == "spatial":
        return tuple(range(2, ndim))
    if spec == "features":
        return tuple(range(1, ndim))
    if isinstance(spec, numbers.Integral):
        return (spec % ndim,)
    return tuple(a % ndim for a in spec)


# (input ndim, axes): three reduction patterns, each new C code for five ops (~3.5 s cold,
# twice that on a loaded machine), spelled several ways ('auto', named, explicit,
# negative) at no extra C compile: the graphs are identical.
STD_CONFIGS = [
    (2, "auto"), (2, "features"), (2, -1),         # all (1,)
    (3, (0, 2)), (3, (-3, -1)),                    # (0, 2): across the batch, not contiguous
    (4, "auto"), (4, "spatial"), (4, (2, 3)),      # all (2, 3)
]


@st.composite
def standardization_draws(draw):
    ndim, axes = draw(st.sampled_from(STD_CONFIGS))
    shape = draw(shapes(min_ndim=ndim, max_ndim=ndim, max_side=6))
    kwargs = {}
    if axes != "auto":
        kwargs["axes"] = axes
    # a graph constant fed to the fused loop: no new compile per value
    eps = draw(st.sampled_from([None, 1e-2, 1e-6]))
    if eps is not None:
        kwargs["epsilon"] = eps
    return kwargs, [shape]


def standardization_bound(case, inputs, params, kwargs):
    """Forward error of ``(x - mu) / sqrt(var + eps)`` over K reduced elements, per side:

    * mean: ``|d_mu| <= gamma_{K+4} * mean|x|`` (K-term sum, rounding to the dtype and
      one division per reduced axis);
    * variance: ``mean((x - mu - d_mu)^2) = var + d_mu^2`` exactly (the centred values sum
      to 0), plus ``gamma_{K+4} (var + d_mu^2)`` for squaring, summing and dividing, so
      ``|d_var| <= d_mu^2 + gamma_{K+4} (var + d_mu^2)``;
    * output: ``|d_out| <= (|d_mu| + u|c|) / s + |c|/s * (|d_var| / (2 s^2) + 3u)`` with
      ``c = x - mu``, ``s = sqrt(var + eps)`` (sqrt, add and divide roundings).

    The two sides differ by at most twice that (Theano sums sequentially, numpy pairwise).
    """
    x = inputs[0].astype(np.float64)
    axes = _std_axes(kwargs.get("axes", "auto"), x.ndim)
    eps = kwargs.get("epsilon", 1e-4)
    K = int(np.prod([x.shape[a] for a in axes])) if axes else 1
    u = unit_roundoff(case.dtype)
    g = gamma(K + 4, case.dtype)
    mu = x.mean(axis=axes, keepdims=True)
    c = x - mu
    var = (c * c).mean(axis=axes, keepdims=True)
    d_mu = g * np.abs(x).mean(axis=axes, keepdims=True)
    d_var = d_mu ** 2 + g * (var + d_mu ** 2)
    s2 = var + eps
    s = np.sqrt(s2)
    one_side = (d_mu + u * np.abs(c)) / s + np.abs(c) / s * (d_var / (2 * s2) + 3 * u)
    return 2.0 * one_side


register_pair("StandardizationLayer", LT.StandardizationLayer, L.StandardizationLayer, standardization_draws(),
              family="normalization", error_bound=standardization_bound)


# ---------------------------------------------------------------------------
# LocalResponseNormalization2DLayer
# ---------------------------------------------------------------------------
LRN_CONFIGS = [
    {},                                                # Lasagne defaults: alpha 1e-4, k 2, beta 0.75, n 5
    {"alpha": 1e-2, "n": 3},
    {"alpha": 0.5, "k": 1.5, "beta": 0.5, "n": 3},     # all exact in float32: a float32 chain under float64
    {"alpha": 0.3, "k": 0.5, "beta": 1.0, "n": 1},
    {"alpha": 0.1, "k": 1, "beta": 0.6, "n": 7},       # n > channels: the window reaches both paddings
]


@st.composite
def lrn_draws(draw):
    shape = draw(st.tuples(st.integers(1, 4), st.integers(1, 7), st.integers(1, 6), st.integers(1, 6)))
    kwargs = dict(draw(st.sampled_from(LRN_CONFIGS)))
    # Every axis free: with known sizes Lasagne bakes the channel count into the graph.
    return kwargs, [shape], [(None, None, None, None)]


def _const_dtype(value, dtype: str) -> np.dtype:
    """Theano's dtype for a Python number under floatX=dtype (cast_policy 'custom')."""
    if isinstance(value, int):
        return np.dtype(np.int8) if -128 <= value <= 127 else np.dtype(np.int64)
    if dtype == "float32" or float(np.float32(value)) == value:
        return np.dtype(np.float32)
    return np.dtype(np.float64)


def lrn_bound(case, inputs, params, kwargs):
    """``x / S^beta`` with ``S = k + alpha sum_{n} x_j^2``, all terms >= 0 when k >= 0:

    the n-term sum has relative error ``gamma_{n+1}`` in the dtype of the scale chain
    (float32 under floatX=float64 when alpha and k are float32 constants, since the
    squares sit in a float32 buffer), which may or may not be contracted into fused
    multiply-adds (one side at most ``gamma_{n+1}`` from exact); the power multiplies a
    relative error by beta and adds one rounding; the division adds one rounding. Per side
    ``(beta gamma_{n+1} + 2u) |out|``, twice that between the sides.
    """
    alpha = kwargs.get("alpha", 1e-4)
    k = kwargs.get("k", 2)
    beta = kwargs.get("beta", 0.75)
    n = kwargs.get("n", 5)
    chain = np.result_type(_const_dtype(alpha, case.dtype), _const_dtype(k, case.dtype), np.float32)
    x = inputs[0].astype(np.float64)
    C = x.shape[1]
    h = n // 2
    sq = np.zeros((x.shape[0], C + 2 * h) + x.shape[2:])
    sq[:, h:h + C] = x * x
    S = k + alpha * sum(sq[:, i:i + C] for i in range(n))
    out = np.abs(x) / S ** beta
    rel = abs(beta) * gamma(n + 1, chain.name) + 2 * unit_roundoff(case.dtype) + 2 * unit_roundoff(chain.name)
    return 2.0 * rel * out


register_pair("LocalResponseNormalization2DLayer", LT.LocalResponseNormalization2DLayer,
              L.LocalResponseNormalization2DLayer, lrn_draws(), family="normalization", error_bound=lrn_bound)
