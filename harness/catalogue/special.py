"""Pairs of the special family: NonlinearityLayer (every nonlinearity), BiasLayer, ScaleLayer,
ExpressionLayer, ParametricRectifierLayer, RandomizedRectifierLayer."""
from __future__ import annotations

from typing import Any, Callable, Optional, Tuple

import numpy as np
from hypothesis import strategies as st

import layers_np as L
import layers_theano as LT
from layers_np.shapes.special import resolve_shared_axes
from layers_theano.backend import T

from ..registry import register_pair
from ..strategies import Fn, register_function, resolve, shapes
from ..tolerance import dot_bound, gamma

# Values where an op changes formula or overflows (see the docstrings of
# layers_np.nonlinearities): relu 0; softplus -37, 18, 33.3; hard_sigmoid +-2.5;
# ultra_fast_sigmoid |x|/2 = 1.7 and 3; exp overflow +-88.72 (float32), +-709.78 (float64).
NONLINEARITY_CLAMP_POINTS = [0.0, -37.0, 18.0, 33.3, 2.5, -2.5, 3.4, -3.4, 6.0, -6.0,
                             88.72, -88.72, 103.0, -103.0, 709.78, -709.78]

_ALL_NONLINEARITIES = st.one_of(
    st.sampled_from([Fn(n) for n in ("sigmoid", "softmax", "tanh", "rectify", "leaky_rectify", "very_leaky_rectify",
                                     "elu", "selu", "softplus", "linear", "identity", "hard_sigmoid",
                                     "ultra_fast_sigmoid")] + [None]),
    st.builds(lambda a: Fn("LeakyRectify", leakiness=a), st.sampled_from([0.0, 0.01, 0.3, 1.0, 2.0])),
    st.builds(lambda cls, i, o: Fn(cls, scale_in=i, scale_out=o), st.sampled_from(["ScaledTanH", "ScaledTanh"]),
              st.sampled_from([0.5, 2.0 / 3]), st.sampled_from([1.0, 1.7159])),
    st.builds(lambda s, n: Fn("SELU", scale=s, scale_neg=n), st.sampled_from([1.0, 1.0507009873554805]),
              st.sampled_from([1.0, 1.6732632423543772])),
)


@st.composite
def nonlinearity_draws(draw):
    fn = draw(_ALL_NONLINEARITIES)
    # Softmax is row-wise over the last axis (PyTensor's Softmax(axis=-1)); Lasagne meant
    # it for 2-D input, which is what it mostly gets; ranks 1 and 3 follow axis=-1.
    if fn is not None and fn.name == "softmax":
        shape = draw(st.one_of(shapes(min_ndim=2, max_ndim=2, max_side=12), shapes(min_ndim=1, max_ndim=3, max_side=8)))
    else:
        shape = draw(shapes(min_ndim=1, max_ndim=4, max_side=8))
    return {"nonlinearity": fn}, [shape]


register_pair("NonlinearityLayer", LT.NonlinearityLayer, L.NonlinearityLayer, nonlinearity_draws(),
              family="special", values={"clamp_points": NONLINEARITY_CLAMP_POINTS})


# --------------------------------------------------------------------------- shared-axes layers
_SHARED_AXES = ["auto", 0, 1, 2, (), (0,), (1,), (0, 2), (0, 2, 3), (-1,), (0, -1), (0, 5)]  # -1, 5: Lasagne shares nothing on them


def _declared(shape: Tuple[int, ...], shared: Tuple[int, ...]) -> Tuple[Optional[int], ...]:
    """Batch axis free when the parameter is shared over it (Lasagne needs the others)."""
    return tuple(None if (i == 0 and 0 in shared) else d for i, d in enumerate(shape))


def shared_axes_draws(param: Optional[str] = None, allow_all: bool = False, allow_none: bool = False):
    @st.composite
    def draw_case(draw):
        shape = draw(shapes(min_ndim=1, max_ndim=4, max_side=6))
        choices = _SHARED_AXES + (["all"] if allow_all else [])
        shared_axes = draw(st.sampled_from(choices))
        resolved = resolve_shared_axes("pair", shared_axes, len(shape), allow_all=allow_all)
        kwargs: dict = {"shared_axes": shared_axes}
        if allow_none and param and draw(st.integers(0, 4)) == 0:
            kwargs[param] = None
        return kwargs, [shape], [_declared(shape, resolved)]
    return draw_case()


register_pair("BiasLayer", LT.BiasLayer, L.BiasLayer, shared_axes_draws("b", allow_none=True), family="special")
register_pair("ScaleLayer", LT.ScaleLayer, L.ScaleLayer, shared_axes_draws("scales"), family="special")
# PReLU fuses into one C loop per (rank, broadcast pattern): a few structures cover
# 'auto', 'all', an int, a tuple and the negative-axis trap while keeping compiles cheap.
_PRELU_STRUCTURES = [(2, "auto"), (4, "auto"), (3, "all"), (3, (0, -1)), (2, 1), (4, (0, 2, 3))]


@st.composite
def prelu_draws(draw):
    ndim, shared_axes = draw(st.sampled_from(_PRELU_STRUCTURES))
    shape = draw(st.tuples(*[st.integers(1, 6) for _ in range(ndim)]))
    resolved = resolve_shared_axes("pair", shared_axes, ndim, allow_all=True)
    return {"shared_axes": shared_axes}, [shape], [_declared(shape, resolved)]


register_pair("ParametricRectifierLayer", LT.ParametricRectifierLayer, L.ParametricRectifierLayer,
              prelu_draws(), family="special", values={"clamp_points": [0.0]})


@st.composite
def rrelu_draws(draw):
    shape = draw(shapes(min_ndim=2, max_ndim=3, max_side=8))
    # (0, 0): slope 0 takes Theano's plain relu branch; (0.1, 0.1): lower == upper.
    lower, upper = draw(st.sampled_from([(0.3, 0.8), (0.0, 0.0), (0.1, 0.1), (0.2, 0.45)]))
    shared = draw(st.sampled_from(["auto", "all", (0,)]))  # no effect at inference
    return {"lower": lower, "upper": upper, "shared_axes": shared}, [shape]


register_pair("RandomizedRectifierLayer", LT.RandomizedRectifierLayer, L.RandomizedRectifierLayer, rrelu_draws(),
              family="special", values={"clamp_points": [0.0]})


# --------------------------------------------------------------------------- ExpressionLayer
register_function("expr_affine", lambda x: x * 2 + 1, lambda x: x * 2 + 1)
register_function("expr_square", lambda x: T.sqr(x), lambda x: x * x)
register_function("expr_sum_last", lambda x: T.sum(x, axis=-1), lambda x: np.sum(x, axis=-1))


def drop_last_axis(shape: Tuple[Any, ...]) -> Tuple[Any, ...]:
    """Output shape of a reduction over the last axis (a plain-Python callable output_shape)."""
    return tuple(shape[:-1])


def same_shape(shape: Tuple[Any, ...]) -> Tuple[Any, ...]:
    return tuple(shape)


@st.composite
def expression_draws(draw):
    name = draw(st.sampled_from(["expr_affine", "expr_square", "expr_sum_last", "tanh"]))
    reduces = name == "expr_sum_last"
    shape = draw(shapes(min_ndim=2 if reduces else 1, max_ndim=4, max_side=8))
    declared_out = (None,) + tuple(shape[1:-1] if reduces else shape[1:])
    mode = draw(st.sampled_from(["none", "auto", "callable", "tuple"] if reduces else ["none", "auto", "callable", "tuple"]))
    if reduces and mode == "none":
        mode = "callable"
    output_shape = {"none": None, "auto": "auto", "callable": drop_last_axis if reduces else same_shape,
                    "tuple": declared_out}[mode]
    return {"function": Fn(name), "output_shape": output_shape}, [shape]


def expression_bound(case, inputs, params, kwargs):
    """Sum over the last axis: each side within gamma_n sum|x| of the exact sum, so 2 gamma_n sum|x|."""
    if kwargs["function"].name != "expr_sum_last":
        return None
    x = np.abs(inputs[0].astype(np.float64))
    return 2.0 * gamma(x.shape[-1], case.dtype) * x.sum(axis=-1)


register_pair("ExpressionLayer", LT.ExpressionLayer, L.ExpressionLayer, expression_draws(), family="special",
              error_bound=expression_bound)


# ---------------------------------------------------------------------------
# InverseLayer: the gradient of a layer w.r.t. its input, applied to a second input
# ---------------------------------------------------------------------------
INVERSE_STRUCTURES = [
    dict(inverse_of="DenseLayer", num_units=3, nonlinearity=Fn("rectify")),
    dict(inverse_of="DenseLayer", num_units=2, b=None, nonlinearity=None),
    dict(inverse_of="Conv2DLayer", num_filters=2, filter_size=3, stride=2, pad=1, nonlinearity=Fn("rectify")),
    dict(inverse_of="Conv2DDNNLayer", num_filters=3, filter_size=(2, 3), pad="full", nonlinearity=None),
    dict(inverse_of="MaxPool2DLayer", pool_size=3, stride=2, pad=1),
    dict(inverse_of="MaxPool2DLayer", pool_size=2, ignore_border=False),
]


def _inverse_of(side: Any) -> Callable:
    """Pair factory: ``InverseLayer(g_in, inner)`` with ``inner = <inverse_of>(x_in, **kwargs)``."""
    def make(incomings: Any, inverse_of: str, **kwargs: Any) -> Any:
        x_in, g_in = incomings
        inner = getattr(side, inverse_of)(x_in, **kwargs)
        return side.InverseLayer(g_in, inner)
    make.__name__ = "InverseLayer"
    return make


@st.composite
def _inverse_case(draw):
    kw = dict(draw(st.sampled_from(INVERSE_STRUCTURES)))
    batch, channels = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    x = (batch, channels, draw(st.integers(3, 7)), draw(st.integers(3, 7)))
    inner_kw = {k: v for k, v in resolve(kw, "numpy").items() if k != "inverse_of"}
    g = getattr(L, kw["inverse_of"])((None,) + x[1:], **inner_kw).output_shape
    g = (batch,) + tuple(g[1:])
    return kw, [x, g], [(None,) + x[1:], (None,) + g[1:]]


def _inverse_bound(case, inputs, params, kwargs):
    """Dense/conv: 2 gamma_{K+1} (|g| . |W|^T) (Higham 3.5 via dot_bound; the rectify slope is 0,
    1/2 or 1, so |g| bounds |g * slope|), K = the terms summed per element (units, or output
    channels times kernel size). Max pooling: the window gradients reaching an element are summed
    in another order, 2 gamma_{prod(ws)} times the unpooled |g|."""
    x, g = inputs
    kind = kwargs["inverse_of"]
    inner_kw = {k: v for k, v in resolve(kwargs, "numpy").items() if k != "inverse_of"}
    if kind != "MaxPool2DLayer":
        inner_kw["nonlinearity"] = None
    inner = getattr(L, kind)(L.InputLayer(tuple(x.shape)), **inner_kw)
    L.set_all_param_values(inner, [np.abs(p.astype(np.float64)) for p in params])
    inv = L.InverseLayer(tuple(g.shape), inner)
    x64 = x.astype(np.float64)
    if kind == "MaxPool2DLayer":
        unpooled = inv.get_output_for([np.abs(g.astype(np.float64)), inner.get_output_for(x64), x64])
        return 2.0 * gamma(int(np.prod(inner.pool_size)), case.dtype) * unpooled
    terms = params[0].shape[1] if kind == "DenseLayer" else int(np.prod(params[0].shape)) // params[0].shape[1]
    abs_out = inv.get_output_for([np.abs(g.astype(np.float64)), None, np.abs(x64)])
    return dot_bound(terms + 1, abs_out, case.dtype)


register_pair("InverseLayer", _inverse_of(LT), _inverse_of(L), _inverse_case(), family="special", multi_input=True,
              error_bound=_inverse_bound)
