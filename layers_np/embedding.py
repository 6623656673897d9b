"""Embedding twin (Lasagne's ``lasagne/layers/embedding.py``)."""
from __future__ import annotations

from typing import Any

import numpy as np

from .base import Layer, TwinError
from .specs import special as spec

__all__ = ["EmbeddingLayer"]


class EmbeddingLayer(spec.EmbeddingLayer, Layer):
    """Lookup table: each integer of the input selects a row of ``W``.

    Notes
    -----
    ``out[i_1, ..., i_n, :] = W[x[i_1, ..., i_n], :]``. Like Theano's advanced indexing,
    negative indices count from the end (``-input_size <= x < input_size``); anything else
    raises.
    """

    def get_output_for(self, input: np.ndarray, **kwargs: Any) -> np.ndarray:
        input = np.asarray(input)
        if input.dtype.kind not in "iu":
            raise TwinError(f"{self._label()}: expected an integer index array, got dtype {input.dtype} "
                            "(Theano refuses to index with floats too)")
        W = self.W.value
        n = W.shape[0]
        if input.size and (input.min() < -n or input.max() >= n):
            bad = input[(input < -n) | (input >= n)].flat[0]
            raise TwinError(f"{self._label()}: index {bad} out of bounds for input_size {n}")
        return W[input]
