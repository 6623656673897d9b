"""DenseLayer and NINLayer (Lasagne's ``dense.py``)."""
from __future__ import annotations

from typing import Any, Callable, Optional

from layers_np import init
from layers_np.shapes import check_dense_input, dense_output_shape, nin_output_shape

from . import nonlinearities
from .backend import T
from .base import Layer

__all__ = ["DenseLayer", "NINLayer"]


class DenseLayer(Layer):
    def __init__(self, incoming: Any, num_units: int, W: Any = init.GlorotUniform(), b: Any = init.Constant(0.0),
                 nonlinearity: Optional[Callable] = nonlinearities.rectify, num_leading_axes: int = 1, **kwargs: Any) -> None:
        super().__init__(incoming, **kwargs)
        self.nonlinearity = nonlinearities.identity if nonlinearity is None else nonlinearity
        self.num_units = num_units
        num_inputs = check_dense_input(type(self).__name__, self.input_shape, num_leading_axes)
        self.num_leading_axes = num_leading_axes
        self.W = self.add_param(W, (num_inputs, num_units), name="W")
        self.b = None if b is None else self.add_param(b, (num_units,), name="b", regularizable=False)

    def get_output_shape_for(self, input_shape):
        return dense_output_shape(input_shape, self.num_leading_axes, self.num_units)

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


class NINLayer(Layer):
    def __init__(self, incoming: Any, num_units: int, untie_biases: bool = False, W: Any = init.GlorotUniform(),
                 b: Any = init.Constant(0.0), nonlinearity: Optional[Callable] = nonlinearities.rectify, **kwargs: Any) -> None:
        super().__init__(incoming, **kwargs)
        self.nonlinearity = nonlinearities.identity if nonlinearity is None else nonlinearity
        self.num_units = num_units
        self.untie_biases = untie_biases
        self.W = self.add_param(W, (self.input_shape[1], num_units), name="W")
        if b is None:
            self.b = None
        else:
            shape = (num_units,) + tuple(self.output_shape[2:]) if untie_biases else (num_units,)
            self.b = self.add_param(b, shape, name="b", regularizable=False)

    def get_output_shape_for(self, input_shape):
        return nin_output_shape(input_shape, self.num_units)

    def get_output_for(self, input, **kwargs):
        # cf * bc01... = fb01..., then bf01...
        out_r = T.tensordot(self.W, input, axes=[[0], [1]])
        out = out_r.dimshuffle(1, 0, *range(2, input.ndim))
        if self.b is not None:
            dims = range(1, input.ndim - 1) if self.untie_biases else ["x"] * (input.ndim - 2)
            out = out + self.b.dimshuffle("x", 0, *dims)
        return self.nonlinearity(out)
