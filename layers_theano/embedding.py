"""EmbeddingLayer (Lasagne's ``embedding.py``): a lookup table indexed by integer inputs."""
from __future__ import annotations

from typing import Any

from layers_np import init
from layers_np.shapes import embedding_output_shape

from .base import Layer

__all__ = ["EmbeddingLayer"]


class EmbeddingLayer(Layer):
    def __init__(self, incoming: Any, input_size: int, output_size: int, W: Any = init.Normal(), **kwargs: Any) -> None:
        super().__init__(incoming, **kwargs)
        self.input_size = input_size
        self.output_size = output_size
        self.W = self.add_param(W, (input_size, output_size), name="W")

    def get_output_shape_for(self, input_shape):
        return embedding_output_shape(input_shape, self.output_size)

    def get_output_for(self, input, **kwargs):
        return self.W[input]
