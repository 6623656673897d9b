"""Pairs of the conv family: Conv1D/2D/3D, transposed, dilated and locally connected layers.

Compile budget: every distinct kwargs dict compiles one Theano function, so each pair
draws its hyperparameters from a short list of structures chosen to reach the traps of
SEMANTICS.md (flip both ways, 'same'/'full'/int/tuple pads, strides, groups, untied biases,
even filters, transposed output sizes), while input shapes and values vary freely. The
Theano graphs do not bake in spatial sizes (conv shape hints are not checked at run time,
transposed sizes are symbolic when the declared spatial axes are None), so one compile
serves every shape.

Error bound of every convolution: ``2 gamma_{K+1} L (|x| conv |W| + |b|)`` (Higham 3.5 via
``dot_bound``) with ``K`` the number of products summed per output (``C_in/groups * prod(k)``),
``L`` the nonlinearity's Lipschitz constant, and the absolute convolution computed by the
twin itself in float64 on absolute values.
"""
from __future__ import annotations

import numbers
from typing import Any, Callable, Dict, List, Sequence

import numpy as np
from hypothesis import strategies as st

import layers_np as L
import layers_theano as LT

from ..registry import register_pair
from ..strategies import Fn, resolve
from ..tolerance import dot_bound
from .dense import _lipschitz


def _abs_output(np_cls: Callable, case: Any, inputs: List[np.ndarray], params: List[np.ndarray],
                kwargs: Dict[str, Any]) -> np.ndarray:
    """``|x| conv |W| + |b|`` in float64, computed by the twin class on absolute values."""
    kw = dict(resolve(kwargs, "numpy"))
    kw["nonlinearity"] = None
    shape = tuple(inputs[0].shape)
    fs = kw.get("filter_size")
    if kw.get("pad") == "same" and fs is not None:  # the even-filter refusal cases run pad = k // 2
        fs = (fs,) * (len(shape) - 2) if isinstance(fs, numbers.Integral) else tuple(fs)
        if any(k % 2 == 0 for k in fs):
            kw["pad"] = tuple(k // 2 for k in fs)
    layer = np_cls(shape, **kw)
    L.set_all_param_values(layer, [np.abs(p.astype(np.float64)) for p in params])
    return layer.get_output_for(np.abs(inputs[0].astype(np.float64)))


def conv_bound(np_cls: Callable, terms: Callable[[Dict[str, Any], np.ndarray, List[np.ndarray]], int]) -> Callable:
    """Error bound 2 gamma_{K+1} L (|x| conv |W| + |b|), K = terms(kwargs, x, params)."""
    def bound(case, inputs, params, kwargs):
        K = terms(kwargs, inputs[0], params)
        return dot_bound(K + 1, _abs_output(np_cls, case, inputs, params, kwargs), case.dtype,
                         _lipschitz(kwargs.get("nonlinearity")))
    return bound


def _forward_terms(kwargs, x, params):
    W = params[0]
    return int(np.prod(W.shape[1:]))  # C_in/groups * prod(kernel)


def _transposed_terms(kwargs, x, params):
    W = params[0]
    return int(W.shape[0] * np.prod(W.shape[2:]))  # C_in * prod(kernel) (at most that many hit an output)


def _refusing(th_or_np: str, cls: Callable) -> Callable:
    """Layer factory: ``pad='same'`` with an even filter must be refused (Lasagne master raises
    NotImplementedError); the case then runs Theano's 'half' arithmetic for that even filter,
    ``pad = k // 2`` on both sides (output one longer than the input)."""
    def make(incoming, **kwargs):
        n = len(incoming.output_shape) - 2
        fs = kwargs.get("filter_size")
        fs = (fs,) * n if isinstance(fs, numbers.Integral) else tuple(fs)
        if kwargs.get("pad") == "same" and any(k % 2 == 0 for k in fs):
            try:
                cls(incoming, **kwargs)
            except NotImplementedError:
                pass
            else:
                raise AssertionError(f"{th_or_np} {cls.__name__} accepted pad='same' with even filter_size {fs}")
            kwargs = dict(kwargs, pad=tuple(k // 2 for k in fs))
        return cls(incoming, **kwargs)
    make.__name__ = cls.__name__
    return make


def _dilated(k: int, d: int = 1) -> int:
    return (k - 1) * d + 1


@st.composite
def _conv_case(draw, structures: Sequence[Dict[str, Any]], n: int, max_side: int = 8):
    kw = dict(draw(st.sampled_from(structures)))
    fs = kw["filter_size"]
    fs = (fs,) * n if isinstance(fs, numbers.Integral) else tuple(fs)
    pad = kw.get("pad", 0)
    groups = kw.get("num_groups", 1)
    if pad == "valid" or isinstance(pad, (numbers.Integral, tuple)):
        pads = (0,) * n if pad == "valid" else ((pad,) * n if isinstance(pad, numbers.Integral) else pad)
        mins = [max(1, k - 2 * p) for k, p in zip(fs, pads)]
    else:
        mins = [1] * n
    spatial = tuple(draw(st.integers(m, max(m, max_side))) for m in mins)
    channels = groups * draw(st.integers(1, 3))
    batch = draw(st.integers(1, 3))
    return kw, [(batch, channels) + spatial]


CONV2D_STRUCTURES = [
    dict(num_filters=3, filter_size=3, stride=(2, 1), pad="same", nonlinearity=Fn("rectify")),
    dict(num_filters=2, filter_size=2, stride=2, pad=1, untie_biases=True, nonlinearity=Fn("tanh")),
    dict(num_filters=4, filter_size=3, stride=(1, 2), pad="valid", num_groups=2, nonlinearity=Fn("linear")),
    dict(num_filters=3, filter_size=(3, 1), stride=(2, 1), pad=(2, 0), b=None, flip_filters=False,
         nonlinearity=Fn("LeakyRectify", leakiness=0.1)),
    dict(num_filters=2, filter_size=(2, 3), pad="same", nonlinearity=None),  # even filter: refused
    dict(num_filters=3, filter_size=(1, 2), stride=3, pad="full", num_groups=3, untie_biases=True,
         flip_filters=False, nonlinearity=None),
]

register_pair("Conv2DLayer", _refusing("Theano", LT.Conv2DLayer), _refusing("twin", L.Conv2DLayer),
              _conv_case(CONV2D_STRUCTURES, 2), family="conv",
              error_bound=conv_bound(L.Conv2DLayer, _forward_terms))

CONV1D_STRUCTURES = [
    dict(num_filters=3, filter_size=3, pad="same", nonlinearity=Fn("rectify")),
    dict(num_filters=2, filter_size=4, stride=2, pad="full", flip_filters=False, untie_biases=True, nonlinearity=None),
    dict(num_filters=2, filter_size=2, stride=2, pad=1, nonlinearity=Fn("tanh")),
    dict(num_filters=4, filter_size=3, stride=3, pad="valid", b=None, nonlinearity=Fn("linear")),
    dict(num_filters=2, filter_size=2, pad="same", nonlinearity=None),  # even filter: refused
    dict(num_filters=3, filter_size=5, stride=2, pad=(3,), flip_filters=False, nonlinearity=Fn("sigmoid")),
]

register_pair("Conv1DLayer", _refusing("Theano", LT.Conv1DLayer), _refusing("twin", L.Conv1DLayer),
              _conv_case(CONV1D_STRUCTURES, 1, max_side=12), family="conv",
              error_bound=conv_bound(L.Conv1DLayer, _forward_terms))

CONV3D_STRUCTURES = [
    dict(num_filters=2, filter_size=3, pad="same", nonlinearity=Fn("rectify")),
    dict(num_filters=2, filter_size=(2, 1, 3), pad="full", flip_filters=False, nonlinearity=None),
    dict(num_filters=2, filter_size=2, stride=(2, 1, 2), pad=1, untie_biases=True, nonlinearity=Fn("tanh")),
    dict(num_filters=4, filter_size=(1, 2, 2), pad="valid", num_groups=2, b=None, nonlinearity=Fn("linear")),
    dict(num_filters=2, filter_size=(2, 3, 3), pad="same", nonlinearity=None),  # even filter: refused
]

register_pair("Conv3DLayer", _refusing("Theano", LT.Conv3DLayer), _refusing("twin", L.Conv3DLayer),
              _conv_case(CONV3D_STRUCTURES, 3, max_side=5), family="conv",
              error_bound=conv_bound(L.Conv3DLayer, _forward_terms))


# ---------------------------------------------------------------------------
# transposed convolutions
# ---------------------------------------------------------------------------
def _transposed_structures(n: int) -> List[Dict[str, Any]]:
    one = (1,) * n
    return [
        dict(num_filters=2, filter_size=3, stride=2, crop=0, nonlinearity=None),
        dict(num_filters=3, filter_size=(2,) + (3,) * (n - 1), stride=(1,) + (2,) * (n - 1), crop=1, flip_filters=True,
             nonlinearity=Fn("rectify")),
        dict(num_filters=2, filter_size=3, stride=2, crop="same", b=None, nonlinearity=Fn("tanh")),
        dict(num_filters=2, filter_size=2, stride=3, crop="full", nonlinearity=Fn("linear")),
        dict(num_filters=2, filter_size=3, stride=2, crop="valid", untie_biases=True, nonlinearity=None),
        # output_size larger than the smallest size, by up to stride - 1 (fixed input spatial (2,...) below)
        dict(num_filters=2, filter_size=3, stride=3, crop=1, output_size=(5,) + (6,) * (n - 1), nonlinearity=None),
        dict(num_filters=1, filter_size=1, stride=one, nonlinearity=Fn("sigmoid")),
    ]


@st.composite
def _transposed_case(draw, structures, n: int, max_side: int):
    kw = dict(draw(st.sampled_from(structures)))
    batch, channels = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    if "output_size" in kw or kw.get("untie_biases"):
        # sizes baked into the graph: the spatial shape is a function of the structure
        spatial = (2,) * n
        return kw, [(batch, channels) + spatial], [(None, channels) + spatial]
    spatial = tuple(draw(st.integers(1, max_side)) for _ in range(n))
    fs = kw["filter_size"]
    fs = (fs,) * n if isinstance(fs, numbers.Integral) else tuple(fs)
    stride = kw["stride"]
    stride = (stride,) * n if isinstance(stride, numbers.Integral) else tuple(stride)
    crop = kw.get("crop", 0)
    cr = [{"valid": 0, "full": k - 1, "same": k // 2}.get(crop, crop) if isinstance(crop, (str, numbers.Integral)) else 0
          for k in fs]
    # output (in - 1) * s - 2 crop + k must be positive
    spatial = tuple(max(i, 1 + (2 * c - k + s) // s) if (i - 1) * s - 2 * c + k <= 0 else i
                    for i, c, k, s in zip(spatial, cr, fs, stride))
    return kw, [(batch, channels) + spatial], [(None, channels) + (None,) * n]


register_pair("TransposedConv2DLayer", LT.TransposedConv2DLayer, L.TransposedConv2DLayer,
              _transposed_case(_transposed_structures(2), 2, 6), family="conv",
              error_bound=conv_bound(L.TransposedConv2DLayer, _transposed_terms))
register_pair("TransposedConv3DLayer", LT.TransposedConv3DLayer, L.TransposedConv3DLayer,
              _transposed_case(_transposed_structures(3)[:6], 3, 4), family="conv",
              error_bound=conv_bound(L.TransposedConv3DLayer, _transposed_terms), max_examples_scale=0.8)


DILATED_STRUCTURES = [
    dict(num_filters=2, filter_size=3, dilation=2, nonlinearity=None),
    dict(num_filters=3, filter_size=(2, 3), dilation=(3, 1), nonlinearity=Fn("rectify")),
    dict(num_filters=2, filter_size=2, dilation=(1, 2), b=None, nonlinearity=Fn("tanh")),
    dict(num_filters=2, filter_size=(1, 2), dilation=1, untie_biases=True, nonlinearity=None),
]


@st.composite
def _dilated_case(draw):
    kw = dict(draw(st.sampled_from(DILATED_STRUCTURES)))
    fs = kw["filter_size"]
    fs = (fs,) * 2 if isinstance(fs, numbers.Integral) else tuple(fs)
    d = kw["dilation"]
    d = (d,) * 2 if isinstance(d, numbers.Integral) else tuple(d)
    spatial = tuple(draw(st.integers(_dilated(k, dd), _dilated(k, dd) + 5)) for k, dd in zip(fs, d))
    batch, channels = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    if kw.get("untie_biases"):
        spatial = (4, 5)  # b's shape follows the output: one spatial shape for this structure
        return kw, [(batch, channels) + spatial], [(None, channels) + spatial]
    return kw, [(batch, channels) + spatial], [(None, channels, None, None)]


register_pair("DilatedConv2DLayer", LT.DilatedConv2DLayer, L.DilatedConv2DLayer, _dilated_case(), family="conv",
              error_bound=conv_bound(L.DilatedConv2DLayer, _transposed_terms))


# ---------------------------------------------------------------------------
# locally connected
# ---------------------------------------------------------------------------
LOCAL_STRUCTURES = [
    dict(num_filters=2, filter_size=3, nonlinearity=None),
    dict(num_filters=3, filter_size=(3, 1), flip_filters=False, untie_biases=True, nonlinearity=Fn("rectify")),
    dict(num_filters=3, filter_size=3, channelwise=True, nonlinearity=Fn("tanh")),
    dict(num_filters=3, filter_size=(1, 5), channelwise=True, flip_filters=False, b=None, nonlinearity=None),
]


@st.composite
def _local_case(draw):
    kw = dict(draw(st.sampled_from(LOCAL_STRUCTURES)))
    # the Theano graph slices with the declared output size: one spatial shape per structure
    spatial = {3: (4, 5), (3, 1): (5, 3)}.get(kw["filter_size"], (3, 6))
    channels = 3 if kw.get("channelwise") else draw(st.sampled_from([1, 2]))
    return kw, [(draw(st.integers(1, 3)), channels) + spatial], [(None, channels) + spatial]


def _local_terms(kwargs, x, params):
    return int(np.prod(params[0].shape[1:-2]))  # C * kh * kw (kh * kw channelwise)


register_pair("LocallyConnected2DLayer", LT.LocallyConnected2DLayer, L.LocallyConnected2DLayer, _local_case(),
              family="conv", error_bound=conv_bound(L.LocallyConnected2DLayer, _local_terms))
