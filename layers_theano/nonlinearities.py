"""Lasagne's nonlinearities on the Theano side, plus Theano's hard and ultra-fast sigmoids."""
from __future__ import annotations

from typing import Any

from layers_np.record import RecordsArguments

from .backend import T, nnet


def sigmoid(x: Any) -> Any:
    return T.sigmoid(x)


def softmax(x: Any) -> Any:
    # PyTensor's softmax without an axis normalises over every axis; Theano's was row-wise.
    return T.special.softmax(x, axis=-1)


def tanh(x: Any) -> Any:
    return T.tanh(x)


class ScaledTanH(RecordsArguments):
    """``scale_out * tanh(scale_in * x)``."""

    def __init__(self, scale_in: float = 1, scale_out: float = 1) -> None:
        self.scale_in, self.scale_out = scale_in, scale_out

    def __call__(self, x: Any) -> Any:
        return self.scale_out * T.tanh(x * self.scale_in)


ScaledTanh = ScaledTanH


def rectify(x: Any) -> Any:
    return nnet.relu(x)


class LeakyRectify(RecordsArguments):
    """``relu(x, leakiness)``: Theano's ``0.5*(1+a)*x + 0.5*(1-a)*|x|``."""

    def __init__(self, leakiness: float = 0.01) -> None:
        self.leakiness = leakiness

    def __call__(self, x: Any) -> Any:
        return nnet.relu(x, self.leakiness)


leaky_rectify = LeakyRectify(0.01)
very_leaky_rectify = LeakyRectify(1.0 / 3)


def elu(x: Any) -> Any:
    return T.switch(x > 0, x, T.expm1(x))


class SELU(RecordsArguments):
    """``scale * switch(x > 0, x, scale_neg * expm1(x))``."""

    def __init__(self, scale: float = 1, scale_neg: float = 1) -> None:
        self.scale, self.scale_neg = scale, scale_neg

    def __call__(self, x: Any) -> Any:
        return self.scale * T.switch(x > 0.0, x, self.scale_neg * T.expm1(x))


selu = SELU(scale=1.0507009873554805, scale_neg=1.6732632423543772)


def softplus(x: Any) -> Any:
    return T.softplus(x)


def linear(x: Any) -> Any:
    return x


identity = linear


def hard_sigmoid(x: Any) -> Any:
    return nnet.hard_sigmoid(x)


def ultra_fast_sigmoid(x: Any) -> Any:
    return nnet.ultra_fast_sigmoid(x)
