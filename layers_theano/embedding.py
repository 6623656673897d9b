"""EmbeddingLayer (Lasagne's ``embedding.py``): a lookup table indexed by integer inputs."""
from __future__ import annotations

from layers_np.specs import special as spec

from .base import Layer

__all__ = ["EmbeddingLayer"]


class EmbeddingLayer(spec.EmbeddingLayer, Layer):
    def get_output_for(self, input, **kwargs):
        return self.W[input]
