"""Pairs of the pool family: Pool/MaxPool 1D-3D, GlobalPool, Upscale, FeaturePool, FeatureWTA, SPP.

Pool graphs do not bake in sizes (the C op takes window, stride and pad as inputs), so one
compile per (mode, ignore_border) structure serves every shape. Traps reached: ignore_border
False with partial edge windows and stride < pool size, padding excluded from max and from
average_exc_pad, counted by average_inc_pad (divisor prod(ws) only with ignore_border),
first-max winner in FeatureWTA (``ties`` values), SPP bin boundaries of both implementations.

Error bounds of the averages: Theano sums the window in the input dtype, so each side is
within ``gamma_n * sum|x| / n`` of the exact mean (n = window elements), and the two within
``2 gamma_n mean|x|`` (computed by the twin on |x| in float64).
"""
from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

import layers_np as L
import layers_theano as LT
from layers_np.im2col import pool_nd
from layers_np.shapes.pool import theano_pool_length
from layers_np.pool import mean as np_mean
from layers_theano.backend import T

from ..registry import register_pair
from ..strategies import Fn, register_function
from ..tolerance import gamma

register_function("pool_max", T.max, np.max)
register_function("pool_mean", T.mean, np_mean)


def _as_tuple(v: Any, n: int) -> tuple:
    return tuple(v) if isinstance(v, (tuple, list)) else (v,) * n


def _pool_bound(n: int):
    """2 gamma_{prod(ws)} avg(|x|) for the average modes, 0 for max."""
    def bound(case, inputs, params, kwargs):
        mode = kwargs.get("mode", "max")
        if mode == "max":
            return None
        ws = _as_tuple(kwargs["pool_size"], n)
        stride = ws if kwargs.get("stride") is None else _as_tuple(kwargs["stride"], n)
        pad = _as_tuple(kwargs.get("pad", 0), n)
        absavg = pool_nd(np.abs(inputs[0].astype(np.float64)), ws, stride, pad, kwargs.get("ignore_border", True),
                         "average_exc_pad")
        return 2.0 * gamma(int(np.prod(ws)), case.dtype) * absavg
    return bound


@st.composite
def _pool_case(draw, n: int, max_mode: bool = False, max_side: int = 7):
    ws = tuple(draw(st.sampled_from([1, 2, 3])) for _ in range(n))
    if draw(st.booleans()):
        ws = (ws[0],) * n  # the int form
    stride = draw(st.sampled_from([None, "one", "two", "mixed"]))
    stride = {None: None, "one": (1,) * n, "two": (2,) * n,
              "mixed": tuple([3, 1, 2][i % 3] for i in range(n))}[stride]
    ignore_border = draw(st.booleans())
    if ignore_border and draw(st.booleans()):
        pad = tuple(draw(st.integers(0, w - 1)) for w in ws)
    else:
        pad = (0,) * n
    kw = {"pool_size": ws[0] if len(set(ws)) == 1 else ws, "ignore_border": ignore_border}
    if stride is not None:
        kw["stride"] = stride
    if any(pad):
        kw["pad"] = pad if n > 1 else pad[0]
    if not max_mode:
        kw["mode"] = draw(st.sampled_from(["max", "average_inc_pad", "average_exc_pad"]))
    st_ = ws if stride is None else stride
    spatial = []
    for i in range(n):
        lo = max(1, ws[i] - 2 * pad[i])
        size = draw(st.integers(lo, max_side))
        if ignore_border:
            assert theano_pool_length(size, ws[i], st_[i], pad[i], True) > 0
        spatial.append(size)
    shape = (draw(st.integers(1, 3)), draw(st.integers(1, 3))) + tuple(spatial)
    return kw, [shape]


for _n, _pool, _max in ((1, "Pool1DLayer", "MaxPool1DLayer"), (2, "Pool2DLayer", "MaxPool2DLayer"),
                        (3, "Pool3DLayer", "MaxPool3DLayer")):
    register_pair(_pool, getattr(LT, _pool), getattr(L, _pool), _pool_case(_n, max_side=7 if _n < 3 else 5),
                  family="pool", error_bound=_pool_bound(_n), values={"clamp_points": [0.0]})
    register_pair(_max, getattr(LT, _max), getattr(L, _max), _pool_case(_n, max_mode=True, max_side=7 if _n < 3 else 5),
                  family="pool", values={"clamp_points": [0.0]})


# ---------------------------------------------------------------------------
def _global_bound(case, inputs, params, kwargs):
    """Mean over the n trailing elements: 2 gamma_n mean(|x|) (T.mean sums, then divides)."""
    fn = kwargs.get("pool_function")
    if fn is not None and fn.name == "pool_max":
        return None
    x = np.abs(inputs[0].astype(np.float64)).reshape(inputs[0].shape[:2] + (-1,))
    return 2.0 * gamma(x.shape[2], case.dtype) * x.mean(axis=2)


@st.composite
def _global_case(draw):
    kw = {}
    fn = draw(st.sampled_from([None, Fn("pool_max"), Fn("pool_mean")]))
    if fn is not None:
        kw["pool_function"] = fn
    ndim = draw(st.integers(3, 5))
    shape = tuple(draw(st.integers(1, 6)) for _ in range(ndim))
    return kw, [shape]


register_pair("GlobalPoolLayer", LT.GlobalPoolLayer, L.GlobalPoolLayer, _global_case(), family="pool",
              error_bound=_global_bound)


@st.composite
def _upscale_case(draw, n: int):
    factors = tuple(draw(st.sampled_from([1, 2, 3])) for _ in range(n))
    kw = {"scale_factor": factors if n > 1 and draw(st.booleans()) else factors[0],
          "mode": draw(st.sampled_from(["repeat", "dilate"]))}
    shape = (draw(st.integers(1, 3)), draw(st.integers(1, 3))) + tuple(draw(st.integers(1, 5)) for _ in range(n))
    return kw, [shape]


for _n in (1, 2, 3):
    register_pair(f"Upscale{_n}DLayer", getattr(LT, f"Upscale{_n}DLayer"), getattr(L, f"Upscale{_n}DLayer"),
                  _upscale_case(_n), family="pool")


@st.composite
def _feature_case(draw, wta: bool):
    ndim = draw(st.integers(2, 4))
    axis = draw(st.sampled_from([1, -1] if ndim > 2 else [1]))
    p = draw(st.sampled_from([1, 2, 3]))
    shape = [draw(st.integers(1, 4)) for _ in range(ndim)]
    shape[axis] = p * draw(st.integers(1, 3))
    kw = {"pool_size": p}
    if axis != 1:
        kw["axis"] = axis
    if not wta:
        fn = draw(st.sampled_from([None, Fn("pool_mean")]))
        if fn is not None:
            kw["pool_function"] = fn
    return kw, [tuple(shape)]


def _feature_bound(case, inputs, params, kwargs):
    """pool_function mean over p features: 2 gamma_p mean(|x|)."""
    if kwargs.get("pool_function") is None:
        return None
    axis = kwargs.get("axis", 1) % inputs[0].ndim
    x = np.abs(inputs[0].astype(np.float64))
    p = kwargs["pool_size"]
    x = x.reshape(x.shape[:axis] + (x.shape[axis] // p, p) + x.shape[axis + 1:])
    return 2.0 * gamma(p, case.dtype) * x.mean(axis=axis + 1)


register_pair("FeaturePoolLayer", LT.FeaturePoolLayer, L.FeaturePoolLayer, _feature_case(False), family="pool",
              error_bound=_feature_bound)
register_pair("FeatureWTALayer", LT.FeatureWTALayer, L.FeatureWTALayer, _feature_case(True), family="pool")


# ---------------------------------------------------------------------------
def _fast_bins_ok(size: int, p: int) -> bool:
    """'fast' SPP gives p bins along an axis only for some sizes (Lasagne declares p*p regardless)."""
    s = size // p
    return s >= 1 and theano_pool_length(size, (size + p - 1) // p, s, 0, True) == p


@st.composite
def _spp_case(draw):
    impl = draw(st.sampled_from(["fast", "kaiming"]))
    dims = draw(st.sampled_from([[4, 2, 1], [3, 1], [2], [1, 3]]))
    kw = {"pool_dims": dims, "implementation": impl, "mode": draw(st.sampled_from(["max", "average_inc_pad",
                                                                                    "average_exc_pad"]))}
    spatial = []
    for _ in range(2):
        if impl == "fast":
            ok = [s for s in range(1, 13) if all(_fast_bins_ok(s, p) for p in dims)]
            spatial.append(draw(st.sampled_from(ok)))
        else:
            spatial.append(draw(st.integers(1, 10)))
    shape = (draw(st.integers(1, 3)), draw(st.integers(1, 3))) + tuple(spatial)
    return kw, [shape], [(None, shape[1], None, None)]


def _spp_bound(case, inputs, params, kwargs):
    """Averaging bins of at most h*w elements: 2 gamma_{h w} max(|x|)."""
    if kwargs["mode"] == "max":
        return None
    x = np.abs(inputs[0].astype(np.float64))
    return 2.0 * gamma(int(np.prod(x.shape[2:])), case.dtype) * x.max(axis=(2, 3))[:, :, None]


register_pair("SpatialPyramidPoolingLayer", LT.SpatialPyramidPoolingLayer, L.SpatialPyramidPoolingLayer,
              _spp_case(), family="pool", error_bound=_spp_bound)
