"""Convolution twins (Lasagne master ``lasagne/layers/conv.py``) and Theano's conv functions.

The layers call a ``convolution`` function with Theano's signature, as Lasagne does;
:func:`conv2d`, :func:`conv3d` and :func:`conv1d_mc0` are the numpy twins of
``T.nnet.conv2d``, ``T.nnet.conv3d`` and ``lasagne.theano_extensions.conv.conv1d_mc0``.
All are computed by one GEMM over strided patches (see :mod:`layers_np.im2col`).
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from . import nonlinearities
from .im2col import corr_nd, corr_transpose_nd
from .base import Layer, TwinError
from .shapes.conv import as_tuple, conv_input_length, conv_output_length, conv_pad_amounts, theano_border_mode
from .specs import conv as spec

__all__ = ["BaseConvLayer", "Conv1DLayer", "Conv2DLayer", "Conv3DLayer", "TransposedConv2DLayer",
           "Deconv2DLayer", "TransposedConv3DLayer", "Deconv3DLayer", "DilatedConv2DLayer",
           "conv2d", "conv3d", "conv1d_mc0", "conv_output_length", "conv_input_length"]


def _conv_nd(nd: int, input: np.ndarray, filters: np.ndarray, border_mode: Any, subsample: Sequence[int],
             filter_flip: bool, filter_dilation: Sequence[int], num_groups: int) -> np.ndarray:
    input = np.asarray(input)
    filters = np.asarray(filters)
    if input.ndim != nd + 2 or filters.ndim != nd + 2:
        raise TwinError(f"conv{nd}d: expected {nd + 2}-d input and filters, got shapes {input.shape} and {filters.shape}")
    if num_groups < 1 or input.shape[1] != filters.shape[1] * num_groups or filters.shape[0] % num_groups:
        raise TwinError(f"conv{nd}d: input has {input.shape[1]} channels, filters {filters.shape} with "
                        f"num_groups={num_groups}: need channels == filters.shape[1] * num_groups and "
                        f"filters.shape[0] divisible by num_groups")
    subsample = as_tuple(subsample, nd, "subsample")
    dilation = as_tuple(filter_dilation, nd, "filter_dilation")
    if isinstance(border_mode, tuple) and len(border_mode) == nd:
        border_mode = tuple(border_mode)
    pads = conv_pad_amounts(border_mode, filters.shape[2:], dilation)
    if filter_flip:
        filters = filters[(Ellipsis,) + (slice(None, None, -1),) * nd]
    return corr_nd(input, filters, pads, subsample, dilation, num_groups)


def conv2d(input: np.ndarray, filters: np.ndarray, input_shape: Any = None, filter_shape: Any = None,
           border_mode: Any = "valid", subsample: Sequence[int] = (1, 1), filter_flip: bool = True,
           image_shape: Any = None, filter_dilation: Sequence[int] = (1, 1), num_groups: int = 1,
           **kwargs: Any) -> np.ndarray:
    """Twin of ``T.nnet.conv2d``: batch of 2-D convolutions.

    Notes
    -----
    ``out[n, f, y, x] = sum_{c, i, j} xpad[n, c', y*s0 + i*d0, x*s1 + j*d1] * W'[f, c, i, j]`` with
    ``W' = W[..., ::-1, ::-1]`` when ``filter_flip`` (a true convolution), ``c' = g*C/groups + c``
    for filter ``f`` in group ``g``, and ``xpad`` the input zero padded per ``border_mode``
    (``'valid'`` 0, ``'full'`` ``dk-1``, ``'half'`` ``dk//2``, int or tuple), ``dk = (k-1)*d + 1``.
    """
    return _conv_nd(2, input, filters, border_mode, subsample, filter_flip, filter_dilation, num_groups)


def conv3d(input: np.ndarray, filters: np.ndarray, input_shape: Any = None, filter_shape: Any = None,
           border_mode: Any = "valid", subsample: Sequence[int] = (1, 1, 1), filter_flip: bool = True,
           filter_dilation: Sequence[int] = (1, 1, 1), num_groups: int = 1) -> np.ndarray:
    """Twin of ``T.nnet.conv3d`` (see :func:`conv2d`, one more spatial axis)."""
    return _conv_nd(3, input, filters, border_mode, subsample, filter_flip, filter_dilation, num_groups)


def conv1d_mc0(input: np.ndarray, filters: np.ndarray, image_shape: Any = None, filter_shape: Any = None,
               border_mode: Any = "valid", subsample: Sequence[int] = (1,), filter_flip: bool = True,
               num_groups: int = 1) -> np.ndarray:
    """Twin of Lasagne's ``conv1d_mc0``: a 1-D convolution as a 2-D one on ``(b, c, 1, L)``."""
    if isinstance(border_mode, tuple):
        (border_mode,) = border_mode
    if isinstance(border_mode, int):
        border_mode = (0, border_mode)
    out = conv2d(input[:, :, None, :], filters[:, :, None, :], border_mode=border_mode,
                 subsample=(1, as_tuple(subsample, 1, "subsample")[0]), filter_flip=filter_flip,
                 num_groups=num_groups)
    return out[:, :, 0, :]


class BaseConvLayer(spec.BaseConvLayer, Layer):
    """Twin of Lasagne's ``BaseConvLayer`` (spec: :class:`layers_np.specs.conv.BaseConvLayer`).

    Notes
    -----
    ``out = nonlinearity(convolve(x) + b)``, ``b`` broadcast over the spatial axes unless untied.
    """

    side_defaults = {**Layer.side_defaults, "conv1d_mc0": conv1d_mc0, "conv2d": conv2d, "conv3d": conv3d}

    def get_output_for(self, input: np.ndarray, **kwargs: Any) -> np.ndarray:
        if input.ndim != self.n + 2 or (self.input_shape[1] is not None and input.shape[1] != self.input_shape[1]):
            raise TwinError(f"{self._label()}: expected input of shape {self.input_shape}, got {input.shape}")
        conved = self.convolve(input, **kwargs)
        # The built-in convolutions return a fresh array, which bias and rectify may then
        # overwrite (bit-identical to ``conved + b`` and ``rectify(conved)``); the result of a
        # user-supplied ``convolution`` is never written to.
        owned = self._owns_convolution() and conved is not input
        if self.b is not None:
            b = self.b.value
            b = b[None] if self.untie_biases else b.reshape((1, -1) + (1,) * self.n)
            conved = nonlinearities.add_owned(conved, b) if owned else conved + b
            owned = True
        return nonlinearities.apply_owned(self.nonlinearity, conved) if owned else self.nonlinearity(conved)

    def _owns_convolution(self) -> bool:
        """True when ``convolve`` returns an array allocated for this call (built-in convolutions)."""
        conv = getattr(self, "convolution", None)
        if conv is None:
            return type(self).convolve in _OWNED_CONVOLVE
        return conv in (conv1d_mc0, conv2d, conv3d) and type(self).convolve in _OWNED_CONVOLVE


class Conv1DLayer(spec.Conv1DLayer, BaseConvLayer):
    """1-D convolution over ``(batch, channels, length)``; ``W`` is ``(F, C, k)``.

    Notes
    -----
    ``out[n, f, t] = f(sum_{c, i} xpad[n, c, t*s + i] W'[f, c, i] + b[f])`` with ``W'`` the
    flipped filter when ``flip_filters`` (computed by ``convolution``, default :func:`conv1d_mc0`).
    """

    def convolve(self, input, **kwargs):
        extra = {"num_groups": self.num_groups} if self.num_groups > 1 else {}
        return self.convolution(input, self.W.value, self.input_shape, self.get_W_shape(), subsample=self.stride,
                                border_mode=theano_border_mode(self.pad), filter_flip=self.flip_filters, **extra)


class Conv2DLayer(spec.Conv2DLayer, BaseConvLayer):
    """2-D convolution over ``(batch, channels, rows, cols)``; ``W`` is ``(F, C/groups, kh, kw)``.

    Notes
    -----
    ``out[n, f, y, x] = f(sum_{c, i, j} xpad[n, c', y*s0 + i, x*s1 + j] W'[f, c, i, j] + b)``,
    see :func:`conv2d`.
    """

    convolve = Conv1DLayer.convolve  # same call, the op (conv2d) comes from ``convolution``


class Conv3DLayer(spec.Conv3DLayer, BaseConvLayer):
    """3-D convolution over ``(batch, channels, depth, rows, cols)``; see :func:`conv3d`.

    Notes
    -----
    ``out[n, f, z, y, x] = f(sum_{c, i, j, k} xpad[n, c', z*s0 + i, y*s1 + j, x*s2 + k] W'[f, c, i, j, k] + b)``.
    """

    convolve = Conv1DLayer.convolve  # same call, the op (conv3d) comes from ``convolution``


class _TransposedConvNDLayer(spec.TransposedConvLayer, BaseConvLayer):
    """Transposed convolution: the gradient of a convolution with respect to its input."""

    def convolve(self, input, **kwargs):
        size = self.get_output_shape_for(input.shape)[2:]
        W = self.W.value
        border = theano_border_mode(self.crop)
        pads = conv_pad_amounts(border, self.filter_size, (1,) * self.n)
        if not self.flip_filters:  # Lasagne passes filter_flip=not flip_filters to the gradient op
            W = W[(Ellipsis,) + (slice(None, None, -1),) * self.n]
        expect = tuple((o + lo + hi - k) // s + 1 for o, (lo, hi), k, s in zip(size, pads, self.filter_size, self.stride))
        if expect != tuple(input.shape[2:]):
            raise TwinError(f"{self._label()}: input spatial shape {input.shape[2:]} does not match output size {size}")
        return corr_transpose_nd(input, W, pads, self.stride, (1,) * self.n, size)


class TransposedConv2DLayer(spec.TransposedConv2DLayer, _TransposedConvNDLayer):
    """Transposed 2-D convolution (Lasagne's ``Deconv2DLayer``); ``W`` is ``(C_in, F, kh, kw)``.

    Notes
    -----
    ``out[n, f, y, x] = f(sum_{c, o, p, i, j: o*s0 + i - crop0 = y, p*s1 + j - crop1 = x}
    x[n, c, o, p] W'[c, f, i, j] + b)``, ``W'`` flipped unless ``flip_filters`` (the flag is
    inverted compared to a convolution). Output size ``(in - 1) * s - 2 * crop + k`` unless
    ``output_size`` (up to ``s - 1`` larger) is given.
    """


Deconv2DLayer = TransposedConv2DLayer


class TransposedConv3DLayer(spec.TransposedConv3DLayer, _TransposedConvNDLayer):
    """Transposed 3-D convolution (``Deconv3DLayer``); ``W`` is ``(C_in, F, kd, kh, kw)``.

    Notes
    -----
    As :class:`TransposedConv2DLayer` with three spatial axes.
    """


Deconv3DLayer = TransposedConv3DLayer


class DilatedConv2DLayer(spec.DilatedConv2DLayer, BaseConvLayer):
    """Dilated (atrous) 2-D correlation; ``W`` is ``(C_in, F, kh, kw)``, pad 0, no flip.

    Notes
    -----
    ``out[n, f, y, x] = f(sum_{c, i, j} x[n, c, y + i*d0, x + j*d1] W[c, f, i, j] + b)``,
    output size ``in - (k - 1) * d``.
    """

    def convolve(self, input, **kwargs):
        W = self.W.value.transpose(1, 0, 2, 3)
        return corr_nd(input, W, ((0, 0), (0, 0)), (1, 1), self.dilation, 1)


# ``convolve`` methods known to return an array allocated for the call (see
# ``BaseConvLayer._owns_convolution``); subclasses overriding ``convolve`` are not in it.
_OWNED_CONVOLVE = frozenset({Conv1DLayer.convolve, Conv2DLayer.convolve, Conv3DLayer.convolve,
                             _TransposedConvNDLayer.convolve, DilatedConv2DLayer.convolve})
