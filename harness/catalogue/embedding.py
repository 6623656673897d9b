"""EmbeddingLayer pair.

The harness feeds float arrays through float InputLayers, and Theano refuses to index with
floats, so both sides put a small cast layer in front of the embedding: the ``prepare`` hook
draws integer-valued indices in ``[-input_size, input_size)`` (negative ones exercise the
from-the-end indexing both Theano and numpy do), the cast turns them into int64.
"""
from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

import layers_np as L
import layers_theano as LT
from layers_theano.backend import T

from ..registry import register_pair
from ..strategies import shapes


class _TheanoIndices(LT.Layer):
    """Cast float inputs holding integers to int64 indices (test scaffolding only)."""

    def get_output_for(self, input, **kwargs):
        return T.cast(input, "int64")


class _TwinIndices(L.Layer):
    def get_output_for(self, input, **kwargs):
        return input.astype(np.int64)


def _theano_embedding(incoming, **kwargs):
    return LT.EmbeddingLayer(_TheanoIndices(incoming), **kwargs)


def _twin_embedding(incoming, **kwargs):
    return L.EmbeddingLayer(_TwinIndices(incoming), **kwargs)


def _prepare(kwargs, inputs, params, rng):
    n = kwargs["input_size"]
    return [rng.integers(-n, n, size=inputs[0].shape).astype(np.float64)], params


@st.composite
def embedding_draws(draw):
    kwargs = {"input_size": draw(st.sampled_from([3, 1, 7])), "output_size": draw(st.sampled_from([4, 1]))}
    return kwargs, [draw(shapes(min_ndim=1, max_ndim=3, max_side=6))]


register_pair("EmbeddingLayer", _theano_embedding, _twin_embedding, embedding_draws(), family="embedding",
              prepare=_prepare)
