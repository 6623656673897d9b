"""DenseLayer and NINLayer (Lasagne's ``dense.py``)."""
from __future__ import annotations

from layers_np.specs import dense as spec

from .backend import T
from .base import Layer

__all__ = ["DenseLayer", "NINLayer"]


class DenseLayer(spec.DenseLayer, Layer):
    def get_output_for(self, input, **kwargs):
        n = self.num_leading_axes
        if n < 0:
            n += input.ndim
        if input.ndim > n + 1:
            input = input.flatten(n + 1)
        activation = T.dot(input, self.W)
        if self.b is not None:
            activation = activation + self.b
        return self.nonlinearity(activation)


class NINLayer(spec.NINLayer, Layer):
    def get_output_for(self, input, **kwargs):
        # cf * bc01... = fb01..., then bf01...
        out_r = T.tensordot(self.W, input, axes=[[0], [1]])
        out = out_r.dimshuffle(1, 0, *range(2, input.ndim))
        if self.b is not None:
            dims = range(1, input.ndim - 1) if self.untie_biases else ["x"] * (input.ndim - 2)
            out = out + self.b.dimshuffle("x", 0, *dims)
        return self.nonlinearity(out)
