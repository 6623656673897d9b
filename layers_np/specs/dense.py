"""Spec of DenseLayer and NINLayer (Lasagne's ``lasagne/layers/dense.py``)."""
from __future__ import annotations

from typing import Any, Callable, Optional

from .. import init
from ..shapes import check_dense_input, dense_output_shape, nin_output_shape
from .base import Layer, SideDefault, TwinError, nonlinearity_or_identity, plain_int

__all__ = ["DenseLayer", "NINLayer"]


class DenseLayer(Layer):
    """Fully connected layer: ``nonlinearity(dot(flatten(x), W) + b)``.

    Parameters
    ----------
    incoming : Layer or tuple
    num_units : int
    W : array or initializer, shape ``(num_inputs, num_units)``
    b : array, initializer or None, shape ``(num_units,)``
    nonlinearity : callable or None (identity)
    num_leading_axes : int
        Axes kept as they are; the trailing axes are flattened into the dot product.

    Notes
    -----
    With ``n = num_leading_axes`` and ``K = prod(input_shape[n:])``::

        out[i_1..i_n, u] = f(sum_k x[i_1..i_n, k] W[k, u] + b[u])
    """

    def __init__(self, incoming: Any, num_units: int, W: Any = init.GlorotUniform(), b: Any = init.Constant(0.),
                 nonlinearity: Optional[Callable] = SideDefault("rectify"), num_leading_axes: int = 1,
                 **kwargs: Any) -> None:
        super().__init__(incoming, **kwargs)
        self.nonlinearity = nonlinearity_or_identity(self, nonlinearity)
        self.num_units = plain_int(num_units)
        try:
            num_inputs = check_dense_input(type(self).__name__, self.input_shape, plain_int(num_leading_axes))
        except ValueError as exc:
            raise TwinError(str(exc)) from None
        self.num_leading_axes = plain_int(num_leading_axes)
        self.W = self.add_param(W, (num_inputs, self.num_units), name="W")
        self.b = None if b is None else self.add_param(b, (self.num_units,), name="b", regularizable=False)

    def get_output_shape_for(self, input_shape):
        return dense_output_shape(input_shape, self.num_leading_axes, self.num_units)


class NINLayer(Layer):
    """Network-in-network layer: a dense layer applied over axis 1 at every position.

    Notes
    -----
    ``out[n, u, ...] = f(sum_c x[n, c, ...] W[c, u] + b[u(, ...)])``; with
    ``untie_biases=True`` b has shape ``(num_units,) + input_shape[2:]``.
    """

    def __init__(self, incoming: Any, num_units: int, untie_biases: bool = False, W: Any = init.GlorotUniform(),
                 b: Any = init.Constant(0.), nonlinearity: Optional[Callable] = SideDefault("rectify"),
                 **kwargs: Any) -> None:
        super().__init__(incoming, **kwargs)
        self.nonlinearity = nonlinearity_or_identity(self, nonlinearity)
        self.num_units = plain_int(num_units)
        self.untie_biases = untie_biases
        self.W = self.add_param(W, (self.input_shape[1], self.num_units), name="W")
        if b is None:
            self.b = None
        else:
            shape = (self.num_units,) + tuple(self.output_shape[2:]) if untie_biases else (self.num_units,)
            self.b = self.add_param(b, shape, name="b", regularizable=False)

    def get_output_shape_for(self, input_shape):
        return nin_output_shape(input_shape, self.num_units)
