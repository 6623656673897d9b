"""Pairs of Lasagne's backend layer names: cuDNN (``lasagne.layers.dnn``), CorrMM
(``lasagne.layers.corrmm``) and cuda-convnet (``lasagne.layers.cuda_convnet``).

Each class computes the plain layer's arithmetic with its own defaults and restrictions, so
the pairs reuse the plain families' draws and error bounds (see ``conv.py``, ``pool.py``,
``normalization.py``): the structures reach each class's own default (``flip_filters=False``
when not given), the other flip, every pad form, and each refusal (``pad='same'`` with an
even filter, ``ignore_border=False`` for the cuDNN pools, axes other than ``(0,)`` / all but
the second for BatchNormDNNLayer). Few structures, small shapes: every distinct kwargs dict
compiles one Theano function.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np
from hypothesis import strategies as st

import layers_np as L
import layers_theano as LT

from ..registry import register_pair
from ..strategies import Fn, resolve, shapes
from ..tolerance import dot_bound
from .conv import _conv_case, _forward_terms, _refusing, conv_bound
from .dense import _lipschitz
from .normalization import _bn_axes, batchnorm_bound
from .pool import _fast_bins_ok, _pool_bound, _pool_case, _spp_bound

# ---------------------------------------------------------------------------
# convolutions: flip_filters defaults to False (the draws leave it out half of the time)
# ---------------------------------------------------------------------------
CONV2D_DNN_STRUCTURES = [
    dict(num_filters=3, filter_size=3, pad="same", nonlinearity=Fn("rectify")),  # default: no flip
    dict(num_filters=2, filter_size=(2, 3), stride=2, pad=1, flip_filters=True, untie_biases=True,
         nonlinearity=None),
    dict(num_filters=4, filter_size=(3, 1), stride=(1, 2), pad="full", num_groups=2, b=None,
         nonlinearity=Fn("tanh")),
    dict(num_filters=2, filter_size=2, pad="valid", nonlinearity=None),
    dict(num_filters=2, filter_size=(2, 3), pad="same", nonlinearity=None),  # even filter: refused
]
CONV3D_DNN_STRUCTURES = [
    dict(num_filters=2, filter_size=3, pad="same", nonlinearity=None),
    dict(num_filters=2, filter_size=(1, 2, 2), stride=(1, 2, 1), pad=1, flip_filters=True, nonlinearity=Fn("rectify")),
    dict(num_filters=2, filter_size=(2, 1, 1), pad="full", b=None, nonlinearity=None),
]

register_pair("Conv2DDNNLayer", _refusing("Theano", LT.Conv2DDNNLayer), _refusing("twin", L.Conv2DDNNLayer),
              _conv_case(CONV2D_DNN_STRUCTURES, 2, max_side=6), family="backends",
              error_bound=conv_bound(L.Conv2DDNNLayer, _forward_terms))
register_pair("Conv3DDNNLayer", _refusing("Theano", LT.Conv3DDNNLayer), _refusing("twin", L.Conv3DDNNLayer),
              _conv_case(CONV3D_DNN_STRUCTURES, 3, max_side=4), family="backends",
              error_bound=conv_bound(L.Conv3DDNNLayer, _forward_terms), max_examples_scale=0.6)


# ---------------------------------------------------------------------------
# pooling: ignore_border=True only
# ---------------------------------------------------------------------------
def _refusing_first(side: str, cls: Callable, error: type, bad_cases: Callable) -> Callable:
    """Layer factory checking first that ``cls`` refuses, with ``error``, each ``(incoming, kwargs)``
    of ``bad_cases(incoming, kwargs)`` (the case's own arguments made invalid one way each),
    then building the case's layer."""
    def make(incoming: Any, **kwargs: Any) -> Any:
        for bad_incoming, bad in bad_cases(incoming, kwargs):
            try:
                cls(bad_incoming, **bad)
            except error:
                continue
            raise AssertionError(f"{side} {cls.__name__} accepted {bad}")
        return cls(incoming, **kwargs)
    make.__name__ = cls.__name__
    return make


def _border_refused(side: str, cls: Callable) -> Callable:
    """Layer factory checking first that ``ignore_border=False`` is refused (NotImplementedError)."""
    return _refusing_first(side, cls, NotImplementedError,
                           lambda incoming, kwargs: [(incoming, dict(kwargs, ignore_border=False))])


@st.composite
def _dnn_pool_case(draw, n: int, max_mode: bool, max_side: int):
    kw, shapes_ = draw(_pool_case(n, max_mode=max_mode, max_side=max_side))
    if not kw.pop("ignore_border"):
        kw.pop("pad", None)  # drawn without padding; the sizes are valid with ignore_border=True
    elif draw(st.booleans()):
        kw["ignore_border"] = True
    return kw, shapes_


for _n, _side in ((2, 6), (3, 4)):
    for _cls, _max in ((f"Pool{_n}DDNNLayer", False), (f"MaxPool{_n}DDNNLayer", True)):
        register_pair(_cls, _border_refused("Theano", getattr(LT, _cls)), _border_refused("twin", getattr(L, _cls)),
                      _dnn_pool_case(_n, _max, _side), family="backends", values={"clamp_points": [0.0]},
                      error_bound=None if _max else _pool_bound(_n), max_examples_scale=0.6 if _n == 3 else 1.0)


@st.composite
def _spp_dnn_case(draw):
    dims = draw(st.sampled_from([[4, 2, 1], [1, 3]]))  # each (dims, mode) is one compile
    kw = {"pool_dims": dims, "mode": draw(st.sampled_from(["max", "average_inc_pad", "average_exc_pad"]))}
    ok = [s for s in range(1, 13) if all(_fast_bins_ok(s, p) for p in dims)]
    shape = (draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.sampled_from(ok)), draw(st.sampled_from(ok)))
    return kw, [shape], [(None, shape[1], None, None)]


register_pair("SpatialPyramidPoolingDNNLayer", LT.SpatialPyramidPoolingDNNLayer, L.SpatialPyramidPoolingDNNLayer,
              _spp_dnn_case(), family="backends", error_bound=_spp_bound)


# ---------------------------------------------------------------------------
# BatchNormDNNLayer: axes 'auto' (or all but the second) or (0,)
# ---------------------------------------------------------------------------
BN_DNN_CONFIGS = [(4, "auto", ()), (2, "batch", ("gamma",)), (3, "batch", ("beta",)), (5, "auto", ())]


def _axes_refused(side: str, cls: Callable) -> Callable:
    """Layer factory checking first that axes other than (0,) / all but the second are refused."""
    def bad_cases(incoming: Any, kwargs: Any) -> Any:
        declared = tuple(s if s is not None else 2 for s in incoming.output_shape)
        return [(declared, dict(kwargs, axes=(1,)))]  # the channel axis: neither (0,) nor all but the second
    return _refusing_first(side, cls, ValueError, bad_cases)


@st.composite
def _bn_dnn_case(draw):
    ndim, choice, none_params = draw(st.sampled_from(BN_DNN_CONFIGS))
    # sides >= 2: a declared size of 1 is broadcastable, one more compile per pattern (the plain
    # BatchNormLayer pair reaches size-1 axes)
    shape = draw(shapes(min_ndim=ndim, max_ndim=ndim, min_side=2, max_side=5 if ndim < 5 else 3))
    spec, axes = _bn_axes(choice, ndim)
    kwargs = {} if spec == "auto" else {"axes": spec}
    for name in none_params:
        kwargs[name] = None
    declared = tuple(None if i in axes else s for i, s in enumerate(shape))
    return kwargs, [shape], [declared]


register_pair("BatchNormDNNLayer", _axes_refused("Theano", LT.BatchNormDNNLayer),
              _axes_refused("twin", L.BatchNormDNNLayer), _bn_dnn_case(), family="backends",
              values={"positive_params": ["inv_std"]}, error_bound=batchnorm_bound)


# ---------------------------------------------------------------------------
# CorrMM: Conv2DMMLayer (flip_filters=False by default)
# ---------------------------------------------------------------------------
register_pair("Conv2DMMLayer", _refusing("Theano", LT.Conv2DMMLayer), _refusing("twin", L.Conv2DMMLayer),
              _conv_case(CONV2D_DNN_STRUCTURES[:2] + CONV2D_DNN_STRUCTURES[4:], 2, max_side=6), family="backends",
              error_bound=conv_bound(L.Conv2DMMLayer, _forward_terms))


# ---------------------------------------------------------------------------
# cuda-convnet: c01b layout, square filters/strides/pools, num_filters % 16 == 0
# ---------------------------------------------------------------------------
CC_STRUCTURES = [
    dict(num_filters=16, filter_size=3, pad="same", nonlinearity=Fn("rectify")),  # default: no flip
    dict(num_filters=16, filter_size=2, stride=2, pad=1, flip_filters=True, untie_biases=True, nonlinearity=None),
    dict(num_filters=32, filter_size=3, stride=2, pad="full", b=None, nonlinearity=Fn("tanh")),
    dict(num_filters=16, filter_size=3, pad=1, dimshuffle=False, nonlinearity=None),
    dict(num_filters=16, filter_size=2, stride=(2, 2), dimshuffle=False, untie_biases=True, flip_filters=True,
         nonlinearity=Fn("rectify")),
]


def _cc_refusals(side: str, cls: Callable) -> Callable:
    """Layer factory checking first that a non-square filter and a num_filters that is not a
    multiple of 16 are refused (RuntimeError, as master)."""
    def bad_cases(incoming: Any, kwargs: Any) -> Any:
        fs = kwargs["filter_size"]
        return [(incoming, dict(kwargs, filter_size=(fs, fs + 1))), (incoming, dict(kwargs, num_filters=8))]
    return _refusing_first(side, cls, RuntimeError, bad_cases)


@st.composite
def _cc_case(draw):
    kw, (shape,) = draw(_conv_case(CC_STRUCTURES, 2, max_side=6))
    if kw.get("dimshuffle", True):
        return kw, [shape]
    # c01b declares the rows and columns: sizes of 1 would make them broadcastable, another compile
    shape = shape[:2] + tuple(max(2, s) for s in shape[2:])
    if kw.get("untie_biases"):
        shape = shape[:2] + (4, 5)  # b's shape follows the output: one spatial shape for this structure
        c01b = (shape[1], shape[2], shape[3], shape[0])
        return kw, [c01b], [c01b[:3] + (None,)]
    c01b = (shape[1], shape[2], shape[3], shape[0])
    # master needs the rows too (BaseConvLayer checks input_shape[1] % num_groups: in c01b the rows)
    return kw, [c01b], [c01b[:3] + (None,)]


def _cc_terms(kwargs, x, params):
    return params[0].size // kwargs["num_filters"]  # C * kh * kw in either layout


register_pair("Conv2DCCLayer", _cc_refusals("Theano", LT.Conv2DCCLayer), _cc_refusals("twin", L.Conv2DCCLayer),
              _cc_case(), family="backends", error_bound=conv_bound(L.Conv2DCCLayer, _cc_terms))


def _cc_pool_refusals(side: str, cls: Callable) -> Callable:
    """Layer factory checking first that ignore_border=True, padding and stride > pool_size are
    refused (NotImplementedError, as master)."""
    def bad_cases(incoming: Any, kwargs: Any) -> Any:
        p = kwargs["pool_size"]
        return [(incoming, dict(kwargs, **bad)) for bad in (dict(ignore_border=True), dict(pad=1),
                                                            dict(stride=p + 1), dict(pool_size=(p, p + 1)))]
    return _refusing_first(side, cls, NotImplementedError, bad_cases)


@st.composite
def _cc_pool_case(draw):
    p = draw(st.sampled_from([1, 2, 3]))
    kw: dict = {"pool_size": p}
    stride = draw(st.sampled_from([None] + list(range(1, p + 1))))
    if stride is not None:
        kw["stride"] = stride
    shape = (draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 7)), draw(st.integers(1, 7)))
    if draw(st.booleans()):
        return kw, [shape]
    kw["dimshuffle"] = False
    c01b = (shape[1], shape[2], shape[3], shape[0])
    return kw, [c01b], [(c01b[0], None, None, None)]


register_pair("MaxPool2DCCLayer", _cc_pool_refusals("Theano", LT.MaxPool2DCCLayer),
              _cc_pool_refusals("twin", L.MaxPool2DCCLayer), _cc_pool_case(), family="backends",
              values={"clamp_points": [0.0]})


@st.composite
def _shuffle_case(draw):
    return {}, [tuple(draw(st.integers(1, 4)) for _ in range(4))]


register_pair("ShuffleBC01ToC01BLayer", LT.ShuffleBC01ToC01BLayer, L.ShuffleBC01ToC01BLayer, _shuffle_case(),
              family="backends")
register_pair("ShuffleC01BToBC01Layer", LT.ShuffleC01BToBC01Layer, L.ShuffleC01BToBC01Layer, _shuffle_case(),
              family="backends")

NIN_C01B_STRUCTURES = [
    dict(num_units=3, nonlinearity=Fn("rectify")),
    dict(num_units=2, untie_biases=True, nonlinearity=None),
    dict(num_units=4, b=None, nonlinearity=Fn("tanh")),
]


@st.composite
def _nin_c01b_case(draw):
    kw = dict(draw(st.sampled_from(NIN_C01B_STRUCTURES)))
    # declared (C, rows, cols): sizes of 1 would make them broadcastable, one more compile each
    shape = tuple(draw(st.integers(2, 5)) for _ in range(3)) + (draw(st.integers(1, 3)),)
    return kw, [shape], [shape[:3] + (None,)]


def _nin_c01b_bound(case, inputs, params, kwargs):
    """2 gamma_{C+1} L (|W| . |x| + |b|) (Higham 3.5 via dot_bound), computed by the twin on |.|."""
    kw = dict(resolve(kwargs, "numpy"), nonlinearity=None)
    layer = L.NINLayer_c01b(tuple(inputs[0].shape), **kw)
    L.set_all_param_values(layer, [np.abs(p.astype(np.float64)) for p in params])
    abs_out = layer.get_output_for(np.abs(inputs[0].astype(np.float64)))
    return dot_bound(inputs[0].shape[0] + 1, abs_out, case.dtype, _lipschitz(kwargs.get("nonlinearity")))


register_pair("NINLayer_c01b", LT.NINLayer_c01b, L.NINLayer_c01b, _nin_c01b_case(), family="backends",
              error_bound=_nin_c01b_bound)
