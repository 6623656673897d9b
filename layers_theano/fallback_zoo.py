"""Networks with layers that have no numpy twin: the graph fallback's examples.

``twins gate layers_theano.fallback_zoo:custom_layers_mlp -o model.npz`` exports an MLP holding
an ``ExpressionLayer`` and a user's own layer class with a parameter; both become
``layers_np.GraphLayer`` s (:mod:`layers_theano.graph_fallback`). These are not zoo models
(:data:`layers_theano.zoo.FACTORIES`): they exist to exercise the fallback.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from layers_np import init

from .backend import T
from .base import Layer

__all__ = ["ScaledSoftsignLayer", "custom_layers_mlp", "expression"]


class ScaledSoftsignLayer(Layer):
    """A user's layer: ``x / (1 + |x|)`` scaled per unit by a learned ``scale`` (not regularized).

    Written as Lasagne code would be: ``add_param`` in the constructor, the expression in
    ``get_output_for``; no numpy twin class exists for it.
    """

    def __init__(self, incoming: Any, scale: Any = init.Uniform((0.5, 1.5)), **kwargs: Any) -> None:
        super().__init__(incoming, **kwargs)
        self.scale = self.add_param(scale, (self.input_shape[1],), name="scale", regularizable=False)

    def get_output_for(self, input: Any, **kwargs: Any) -> Any:
        return input / (1 + abs(input)) * self.scale.dimshuffle("x", 0)


def expression(X: Any) -> Any:
    """The ExpressionLayer's function: ``tanh(X) * 2 + X ** 2``."""
    return T.tanh(X) * 2 + X ** 2


def custom_layers_mlp(dtype: str = "float32", seed: int = 0) -> Any:
    """6-8-8-8-3 MLP: dense (tanh), ``ExpressionLayer(expression)``, ``ScaledSoftsignLayer``, dense (softmax)."""
    import layers_theano as LT
    from layers_theano.backend import config

    previous = init.get_rng()
    init.set_rng(np.random.RandomState(seed))
    try:
        with config.change_flags(floatX=dtype):
            net = LT.InputLayer((None, 6), name="input")
            net = LT.DenseLayer(net, 8, b=init.Uniform(0.1), nonlinearity=LT.nonlinearities.tanh, name="hidden")
            net = LT.ExpressionLayer(net, expression, name="expr")
            net = ScaledSoftsignLayer(net, name="softsign")
            return LT.DenseLayer(net, 3, nonlinearity=LT.nonlinearities.softmax, name="output")
    finally:
        init.set_rng(previous)
