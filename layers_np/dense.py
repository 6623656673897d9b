"""Dense and network-in-network twins (Lasagne's ``lasagne/layers/dense.py``)."""
from __future__ import annotations

from typing import Any, Callable, Optional

import numpy as np

from . import init, nonlinearities
from .base import Layer, TwinError
from .shapes import check_dense_input, dense_output_shape, nin_output_shape

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

    computed as one GEMM on the input reshaped to ``(-1, K)``.
    """

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

    def get_output_for(self, input: np.ndarray, **kwargs: Any) -> np.ndarray:
        n = self.num_leading_axes if self.num_leading_axes >= 0 else self.num_leading_axes + input.ndim
        lead = input.shape[:n]
        W = self.W.value
        if int(np.prod(input.shape[n:])) != W.shape[0]:
            raise TwinError(
                f"{self._label()}: trailing axes of input {input.shape} hold "
                f"{int(np.prod(input.shape[n:]))} values, W expects {W.shape[0]}"
            )
        activation = (input.reshape(-1, W.shape[0]) @ W).reshape(lead + (W.shape[1],))
        # ``activation`` is a fresh array: bias and rectify may overwrite it (same bits)
        if self.b is not None:
            activation = nonlinearities.add_owned(activation, self.b.value)
        return nonlinearities.apply_owned(self.nonlinearity, activation)


class NINLayer(Layer):
    """Network-in-network layer: a dense layer applied over axis 1 at every position.

    Notes
    -----
    ``out[n, u, ...] = f(sum_c x[n, c, ...] W[c, u] + b[u(, ...)])``; with
    ``untie_biases=True`` b has shape ``(num_units,) + input_shape[2:]``.
    """

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

    def get_output_for(self, input: np.ndarray, **kwargs: Any) -> np.ndarray:
        # Move channels last so the product is one GEMM, then move units back to axis 1.
        moved = np.moveaxis(input, 1, -1)
        out = np.moveaxis(moved @ self.W.value, -1, 1)
        if self.b is not None:
            b = self.b.value
            if not self.untie_biases:
                b = b.reshape(b.shape + (1,) * (input.ndim - 2))
            out = nonlinearities.add_owned(out, b)
        return nonlinearities.apply_owned(self.nonlinearity, out)
