"""Special-purpose layer twins (Lasagne's ``lasagne/layers/special.py``).

NonlinearityLayer, BiasLayer, ScaleLayer, ExpressionLayer, ParametricRectifierLayer and
RandomizedRectifierLayer (inference: the mean slope; training mode with a numpy RNG).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from . import nonlinearities
from .base import Layer, MergeLayer, TwinError
from .specs import special as spec
from .nonlinearities import _relu_alpha
from .shapes.special import broadcast_pattern

__all__ = ["NonlinearityLayer", "BiasLayer", "ScaleLayer", "ExpressionLayer",
           "ParametricRectifierLayer", "RandomizedRectifierLayer", "prelu", "rrelu", "standardize",
           "InverseLayer"]


def _expand(param: np.ndarray, ndim: int, shared_axes: Any) -> np.ndarray:
    """Reshape a shared parameter so it broadcasts against an ``ndim`` input (dimshuffle)."""
    pattern = broadcast_pattern(ndim, shared_axes)
    return param.reshape(tuple(1 if p == "x" else param.shape[p] for p in pattern))


class _ZeroProbe(np.ndarray):
    """The zeros ``ExpressionLayer(output_shape='auto')`` evaluates its function on.

    Free axes have size 0 there (Lasagne's probe); Theano reshapes such an empty tensor
    with a -1 size to 0 along that axis (reported as None), numpy refuses, so ``reshape``
    does it Theano's way on this probe and nowhere else.
    """

    def reshape(self, *shape: Any, **kwargs: Any) -> np.ndarray:  # type: ignore[override]
        if len(shape) == 1 and not isinstance(shape[0], (int, np.integer)):
            shape = tuple(shape[0])
        if self.size == 0 and any(isinstance(s, (int, np.integer)) and s == -1 for s in shape):
            shape = tuple(0 if isinstance(s, (int, np.integer)) and s == -1 else s for s in shape)
        return super().reshape(shape, **kwargs)


class NonlinearityLayer(spec.NonlinearityLayer, Layer):
    """A layer that applies a nonlinearity elementwise.

    Notes
    -----
    ``out = f(x)``.
    """

    def get_output_for(self, input: np.ndarray, **kwargs: Any) -> np.ndarray:
        return self.nonlinearity(input)


class BiasLayer(spec.BiasLayer, Layer):
    """Adds a (trainable) bias shared over some axes.

    Notes
    -----
    ``out = x + b[broadcast over shared_axes]``.
    """

    def get_output_for(self, input: np.ndarray, **kwargs: Any) -> np.ndarray:
        if self.b is None:
            return input
        return input + _expand(self.b.value, input.ndim, self.shared_axes)


class ScaleLayer(spec.ScaleLayer, Layer):
    """Multiplies the input by (trainable) scales shared over some axes.

    Notes
    -----
    ``out = x * scales[broadcast over shared_axes]``.
    """

    def get_output_for(self, input: np.ndarray, **kwargs: Any) -> np.ndarray:
        return input * _expand(self.scales.value, input.ndim, self.shared_axes)


class ExpressionLayer(spec.ExpressionLayer, Layer):
    """Applies a numpy function to its input.

    Notes
    -----
    ``out = function(x)``.
    """

    def _auto_shape(self, input_shape: Any) -> Any:
        probe = np.zeros(tuple(0 if s is None else s for s in input_shape)).view(_ZeroProbe)
        with np.errstate(all="ignore"):
            out = np.asarray(self.function(probe))
        return tuple(s if s else None for s in out.shape)

    def get_output_for(self, input: np.ndarray, **kwargs: Any) -> np.ndarray:
        return self.function(input)


class ParametricRectifierLayer(spec.ParametricRectifierLayer, Layer):
    """Parametric rectifier (PReLU) with learned slopes shared over some axes.

    Notes
    -----
    Theano's ``relu(x, alpha)``::

        out = 0.5 (1 + alpha) x + 0.5 (1 - alpha) |x|

    in the input dtype, which is ``max(x, 0) + alpha min(x, 0)`` up to rounding.
    """

    def get_output_for(self, input: np.ndarray, **kwargs: Any) -> np.ndarray:
        alpha = _expand(np.asarray(self.alpha.value, dtype=input.dtype), input.ndim, self.shared_axes)
        return _relu_alpha(input, alpha)


class RandomizedRectifierLayer(spec.RandomizedRectifierLayer, Layer):
    """Randomized leaky rectifier (RReLU).

    Notes
    -----
    Inference (``deterministic=True``, the default here) or ``lower == upper``:
    Theano's ``relu(x, a)`` with the fixed slope ``a = (lower + upper) / 2``::

        out = 0.5 (1 + a) x + 0.5 (1 - a) |x|      (0.5 (x + |x|) when a == 0)

    Training: ``a ~ U(lower, upper)`` per unshared position, drawn from this layer's numpy
    generator (seeded like Lasagne's stream, so not the same draws as Theano's).
    """

    def get_output_for(self, input: np.ndarray, deterministic: bool = True, **kwargs: Any) -> np.ndarray:
        if deterministic or self.upper == self.lower:
            slope = (self.upper + self.lower) / 2.0
            if slope == 0:
                return nonlinearities.rectify(input)
            return _relu_alpha(input, np.asarray(slope, dtype=input.dtype))
        shape = [1 if ax in self.shared_axes else s for ax, s in enumerate(input.shape)]
        rnd = self._srng.uniform(self.lower, self.upper, size=shape).astype(input.dtype)
        return _relu_alpha(input, rnd)


def prelu(layer: Layer, **kwargs: Any) -> ParametricRectifierLayer:
    """Set ``layer``'s nonlinearity to identity and stack a ParametricRectifierLayer on it."""
    return ParametricRectifierLayer(spec.with_identity(layer), **kwargs)


def rrelu(layer: Layer, **kwargs: Any) -> RandomizedRectifierLayer:
    """Set ``layer``'s nonlinearity to identity and stack a RandomizedRectifierLayer on it."""
    return RandomizedRectifierLayer(spec.with_identity(layer), **kwargs)


# Lasagne's floatX(1.) / scale: without a floatX on this side, 1.0 / scale keeps scale's float dtype
standardize = spec.standardize_helper(BiasLayer, ScaleLayer, lambda: 1.0)


def _inverse_kind(layer: Any) -> str:
    """Which inverse the twin computes for ``layer`` ('dense', 'conv', 'maxpool'), or a TwinError."""
    from . import conv, corrmm, dense, dnn, pool

    convs = (conv.Conv1DLayer, conv.Conv2DLayer, conv.Conv3DLayer, dnn.Conv2DDNNLayer, dnn.Conv3DDNNLayer,
             corrmm.Conv2DMMLayer)
    label = f"InverseLayer of {layer._label()}"
    if type(layer) is dense.DenseLayer:
        kind = "dense"
    elif type(layer) in convs:
        default = {conv.Conv1DLayer: conv.conv1d_mc0, conv.Conv2DLayer: conv.conv2d, conv.Conv3DLayer: conv.conv3d}
        if getattr(layer, "convolution", default.get(type(layer))) is not default.get(type(layer)):
            raise TwinError(f"{label}: a custom convolution has no known gradient on numpy")
        if layer.num_groups != 1:
            raise TwinError(f"{label}: num_groups={layer.num_groups} is not supported (only 1)")
        kind = "conv"
    elif isinstance(layer, (pool.Pool1DLayer, pool.Pool2DLayer, pool.Pool3DLayer)) and layer.mode == "max":
        return "maxpool"
    else:
        raise TwinError(f"{label}: Theano computes theano.grad through that layer; the twin computes it for "
                        f"DenseLayer, Conv1D/2D/3DLayer (and the dnn/corrmm names) and max pooling only")
    if layer.nonlinearity not in (nonlinearities.linear, nonlinearities.rectify):
        raise TwinError(f"{label}: the derivative of nonlinearity {getattr(layer.nonlinearity, '__name__', layer.nonlinearity)!r} "
                        f"is not supported (identity/linear or rectify only)")
    return kind


class InverseLayer(spec.InverseLayer, MergeLayer):
    """Twin of Lasagne's ``InverseLayer``: ``layer``'s gradient with respect to its input,
    applied to ``incoming`` (Theano: ``theano.grad(None, wrt=layer_in, known_grads={layer_out: incoming})``).

    Notes
    -----
    Computed for the layers where that gradient is a fixed formula, refused (TwinError at
    construction) otherwise. With ``g`` the incoming values, ``x`` the layer's input and
    ``d = f'(pre)`` the derivative of its nonlinearity at its pre-activation (1 for the
    identity; ``0.5 * (1 + sign(pre))`` for rectify, Theano's derivative of
    ``0.5 * (pre + |pre|)``, which is 0.5 at 0):

    * DenseLayer: ``(g * d) @ W.T`` reshaped to ``x``'s shape.
    * Conv1D/2D/3DLayer, Conv2DDNNLayer, Conv3DDNNLayer, Conv2DMMLayer (one group): the
      transposed correlation of ``g * d`` with the filters the forward pass used (flipped
      when ``flip_filters``), same stride and padding, cropped to ``x``'s size.
    * Max pooling (``Pool1D/2D/3DLayer`` with mode 'max' and their subclasses): each
      window's ``g`` goes to every element of the window equal to its maximum (Theano's
      ``MaxPoolGrad``), summed over overlapping windows; padding receives nothing.
    """

    def __init__(self, incoming: Any, layer: Any, **kwargs: Any) -> None:
        super().__init__(incoming, layer, **kwargs)
        self._kind = _inverse_kind(layer)

    def get_output_for(self, inputs: Any, **kwargs: Any) -> np.ndarray:
        g, out, x = inputs
        layer = self.input_layers[1]
        if self._kind == "maxpool":
            return _unpool(layer, g, out, x)
        if self._kind == "dense":
            n = layer.num_leading_axes if layer.num_leading_axes >= 0 else layer.num_leading_axes + x.ndim
            W = layer.W.value
            if layer.nonlinearity is nonlinearities.rectify:
                pre = x.reshape(-1, W.shape[0]) @ W + (0 if layer.b is None else layer.b.value)
                g = g * _rectify_slope(pre.reshape(g.shape))
            return (g.reshape(-1, W.shape[1]) @ W.T).reshape(x.shape[:n] + x.shape[n:])
        from .im2col import corr_transpose_nd
        from .shapes.conv import conv_pad_amounts, theano_border_mode

        if layer.nonlinearity is nonlinearities.rectify:
            pre = layer.convolve(x)
            if layer.b is not None:
                b = layer.b.value
                pre = pre + (b[None] if layer.untie_biases else b.reshape((1, -1) + (1,) * layer.n))
            g = g * _rectify_slope(pre)
        W = layer.W.value
        if layer.flip_filters:
            W = W[(Ellipsis,) + (slice(None, None, -1),) * layer.n]
        pads = conv_pad_amounts(theano_border_mode(layer.pad), layer.filter_size, (1,) * layer.n)
        return corr_transpose_nd(g, W, pads, layer.stride, (1,) * layer.n, x.shape[2:])


def _rectify_slope(pre: np.ndarray) -> np.ndarray:
    """Theano's derivative of ``relu(x) = 0.5 * (x + |x|)``: 0.5 * (1 + sign(x)) (0.5 at 0)."""
    half = np.asarray(0.5, dtype=pre.dtype)
    return half * (1 + np.sign(pre))


def _unpool(layer: Any, g: np.ndarray, out: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Theano's ``MaxPoolGrad``: every element equal to its window's max receives the window's ``g``."""
    nd = layer._n
    ws, st, pad = tuple(layer.pool_size), tuple(layer.stride), tuple(layer.pad)
    S, O = x.shape[-nd:], g.shape[-nd:]
    need = tuple(max(S[i] + 2 * pad[i], (O[i] - 1) * st[i] + ws[i]) for i in range(nd))
    lead = x.shape[:-nd]
    xp = np.full(lead + need, -np.inf, dtype=x.dtype)  # padding never equals a window's max
    interior = (Ellipsis,) + tuple(slice(pad[i], pad[i] + S[i]) for i in range(nd))
    xp[interior] = x
    gp = np.zeros(lead + need, dtype=g.dtype)
    for offset in np.ndindex(*ws):  # a loop over window offsets, each a whole-array operation
        window = (Ellipsis,) + tuple(slice(offset[i], offset[i] + (O[i] - 1) * st[i] + 1, st[i]) for i in range(nd))
        gp[window] += np.where(xp[window] == out, g, 0)
    return gp[interior]
