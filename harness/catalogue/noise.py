"""Pairs of the noise family: DropoutLayer and GaussianNoiseLayer, certified at inference
(``deterministic=True``), where both are the identity whatever their hyperparameters."""
from __future__ import annotations

from hypothesis import strategies as st

import layers_np as L
import layers_theano as LT

from ..registry import register_pair
from ..strategies import shapes


@st.composite
def dropout_draws(draw):
    shape = draw(shapes(min_ndim=1, max_ndim=4, max_side=6))
    axes = draw(st.sampled_from([(), (0,), (1,), (-1,), (2, 3), (0, -1)]))
    axes = tuple(a for a in axes if -len(shape) <= a < len(shape))
    return {"p": draw(st.sampled_from([0.0, 0.5, 0.9])), "rescale": draw(st.booleans()), "shared_axes": axes}, [shape]


@st.composite
def gaussian_draws(draw):
    shape = draw(shapes(min_ndim=1, max_ndim=4, max_side=6))
    return {"sigma": draw(st.sampled_from([0.0, 0.1, 1.0]))}, [shape]


register_pair("DropoutLayer", LT.DropoutLayer, L.DropoutLayer, dropout_draws(), family="noise")
register_pair("GaussianNoiseLayer", LT.GaussianNoiseLayer, L.GaussianNoiseLayer, gaussian_draws(), family="noise")
