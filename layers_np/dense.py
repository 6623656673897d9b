"""Dense and network-in-network twins (Lasagne's ``lasagne/layers/dense.py``)."""
from __future__ import annotations

from typing import Any

import numpy as np

from . import nonlinearities
from .base import Layer, TwinError
from .specs import dense as spec

__all__ = ["DenseLayer", "NINLayer"]


class DenseLayer(spec.DenseLayer, Layer):
    """Fully connected layer: ``nonlinearity(dot(flatten(x), W) + b)``.

    Notes
    -----
    With ``n = num_leading_axes`` and ``K = prod(input_shape[n:])``::

        out[i_1..i_n, u] = f(sum_k x[i_1..i_n, k] W[k, u] + b[u])

    computed as one GEMM on the input reshaped to ``(-1, K)``.
    """

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


class NINLayer(spec.NINLayer, Layer):
    """Network-in-network layer: a dense layer applied over axis 1 at every position.

    Notes
    -----
    ``out[n, u, ...] = f(sum_c x[n, c, ...] W[c, u] + b[u(, ...)])``; with
    ``untie_biases=True`` b has shape ``(num_units,) + input_shape[2:]``.
    """

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
