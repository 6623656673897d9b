"""Embedding twin (Lasagne's ``lasagne/layers/embedding.py``)."""
from __future__ import annotations

from typing import Any

import numpy as np

from . import init
from .base import Layer, TwinError
from .shapes import embedding_output_shape

__all__ = ["EmbeddingLayer"]


class EmbeddingLayer(Layer):
    """Lookup table: each integer of the input selects a row of ``W``.

    Parameters
    ----------
    incoming : Layer or tuple
        Layer producing integer indices (any shape).
    input_size : int
        Number of rows of ``W`` (vocabulary size).
    output_size : int
        Length of each embedding vector.
    W : array or initializer, shape ``(input_size, output_size)``

    Notes
    -----
    ``out[i_1, ..., i_n, :] = W[x[i_1, ..., i_n], :]``. Like Theano's advanced indexing,
    negative indices count from the end (``-input_size <= x < input_size``); anything else
    raises.
    """

    def __init__(self, incoming: Any, input_size: int, output_size: int, W: Any = init.Normal(), **kwargs: Any) -> None:
        super().__init__(incoming, **kwargs)
        for label, value in (("input_size", input_size), ("output_size", output_size)):
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value <= 0:
                raise TwinError(f"{self._label()}: {label} must be a positive integer, got {value!r}")
        self.input_size = int(input_size)
        self.output_size = int(output_size)
        self.W = self.add_param(W, (self.input_size, self.output_size), name="W")

    def get_output_shape_for(self, input_shape):
        return embedding_output_shape(input_shape, self.output_size)

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
