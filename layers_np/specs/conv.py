"""Spec of the convolution layers (Lasagne master ``lasagne/layers/conv.py`` and ``local.py``).

Signatures follow Lasagne master: ``BaseConvLayer(..., flip_filters, num_groups, n)``;
Conv1D/2D/3DLayer take ``num_groups`` through ``**kwargs``; Conv3DLayer's ``convolution``
defaults to None (the side's conv3d). Each side supplies ``convolve``.
"""
from __future__ import annotations

from typing import Any, Callable, Optional, Tuple

from .. import init
from ..shapes.conv import as_tuple, conv_input_length, conv_output_length
from .base import Layer, SideDefault, TwinError, nonlinearity_or_identity, plain_int

__all__ = ["BaseConvLayer", "Conv1DLayer", "Conv2DLayer", "Conv3DLayer", "TransposedConvLayer",
           "TransposedConv2DLayer", "TransposedConv3DLayer", "DilatedConv2DLayer", "LocallyConnected2DLayer"]


class BaseConvLayer(Layer):
    """Lasagne's ``BaseConvLayer``: parameters, pad handling and output shape of n-d convolutions.

    Parameters
    ----------
    incoming : Layer or tuple
        Input of shape ``(batch, channels, *spatial)`` with ``n`` spatial axes.
    num_filters : int
    filter_size : int or tuple of n ints
    stride : int or tuple of n ints
    pad : 'valid', 'full', 'same', int or tuple of n ints
        ``'same'`` requires odd filter sizes (Lasagne refuses even ones).
    untie_biases : bool
        If True, ``b`` has shape ``(num_filters,) + output spatial shape``.
    W, b : array, initializer (b may be None)
    nonlinearity : callable or None
    flip_filters : bool
    num_groups : int
        ``W`` has shape ``(num_filters, channels // num_groups, *filter_size)``.
    n : int, optional

    Notes
    -----
    ``out = nonlinearity(convolve(x) + b)``, ``b`` broadcast over the spatial axes unless untied.
    """

    def __init__(self, incoming: Any, num_filters: int, filter_size: Any, stride: Any = 1, pad: Any = 0,
                 untie_biases: bool = False, W: Any = init.GlorotUniform(), b: Any = init.Constant(0.),
                 nonlinearity: Optional[Callable] = SideDefault("rectify"), flip_filters: bool = True,
                 num_groups: int = 1, n: Optional[int] = None, **kwargs: Any) -> None:
        super().__init__(incoming, **kwargs)
        self.nonlinearity = nonlinearity_or_identity(self, nonlinearity)
        if n is None:
            n = len(self.input_shape) - 2
        elif n != len(self.input_shape) - 2:
            raise TwinError(f"{self._label()}: tried to create a {n}D convolution layer with input shape "
                            f"{self.input_shape}. Expected {n + 2} input dimensions (batchsize, channels, "
                            f"{n} spatial dimensions).")
        self.n = n
        self.num_filters = plain_int(num_filters)
        self.filter_size = as_tuple(filter_size, n, f"{type(self).__name__} filter_size", int)
        self.flip_filters = flip_filters
        self.stride = as_tuple(stride, n, f"{type(self).__name__} stride", int)
        self.untie_biases = untie_biases
        if isinstance(pad, str) and pad == "same" and any(s % 2 == 0 for s in self.filter_size):
            raise NotImplementedError(f"{self._label()}: `same` padding requires odd filter size, "
                                      f"got filter_size={self.filter_size}.")
        if isinstance(pad, str) and pad == "valid":
            self.pad: Any = as_tuple(0, n)
        elif isinstance(pad, str) and pad in ("full", "same"):
            self.pad = pad
        else:
            self.pad = as_tuple(pad, n, f"{type(self).__name__} pad", int)
        num_groups = plain_int(num_groups)
        if num_groups <= 0 or self.num_filters % num_groups != 0 or self.input_shape[1] % num_groups != 0:
            raise TwinError(f"{self._label()}: num_groups (={num_groups}) must be positive and evenly divide the "
                            f"number of input ({self.input_shape[1]}) and output ({self.num_filters}) channels")
        self.num_groups = num_groups
        self.W = self.add_param(W, self.get_W_shape(), name="W")
        if b is None:
            self.b = None
        else:
            shape = (self.num_filters,) + tuple(self.output_shape[2:]) if untie_biases else (self.num_filters,)
            self.b = self.add_param(b, shape, name="b", regularizable=False)

    def get_W_shape(self) -> Tuple[int, ...]:
        c = self.input_shape[1]
        if c is None:
            raise TwinError(f"{self._label()}: the number of input channels cannot be None, "
                            f"got input_shape {self.input_shape}")
        return (self.num_filters, c // self.num_groups) + self.filter_size

    def get_output_shape_for(self, input_shape):
        pad = self.pad if isinstance(self.pad, tuple) else (self.pad,) * self.n
        return (input_shape[0], self.num_filters) + tuple(
            conv_output_length(i, f, s, p) for i, f, s, p in zip(input_shape[2:], self.filter_size, self.stride, pad))

    def convolve(self, input: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} does not implement convolve()")


class Conv1DLayer(BaseConvLayer):
    """1-D convolution over ``(batch, channels, length)``; ``W`` is ``(F, C/groups, k)``.

    Notes
    -----
    ``out[n, f, t] = f(sum_{c, i} xpad[n, c', t*s + i] W'[f, c, i] + b[f])`` with ``W'`` the
    flipped filter when ``flip_filters`` (computed by ``convolution``, default ``conv1d_mc0``).
    """

    def __init__(self, incoming: Any, num_filters: int, filter_size: Any, stride: Any = 1, pad: Any = 0,
                 untie_biases: bool = False, W: Any = init.GlorotUniform(), b: Any = init.Constant(0.),
                 nonlinearity: Optional[Callable] = SideDefault("rectify"), flip_filters: bool = True,
                 convolution: Callable = SideDefault("conv1d_mc0"), **kwargs: Any) -> None:
        super().__init__(incoming, num_filters, filter_size, stride, pad, untie_biases, W, b, nonlinearity,
                         flip_filters, n=1, **kwargs)
        self.convolution = convolution


class Conv2DLayer(BaseConvLayer):
    """2-D convolution over ``(batch, channels, rows, cols)``; ``W`` is ``(F, C/groups, kh, kw)``.

    Notes
    -----
    ``out[n, f, y, x] = f(sum_{c, i, j} xpad[n, c', y*s0 + i, x*s1 + j] W'[f, c, i, j] + b)``,
    see ``conv2d``.
    """

    def __init__(self, incoming: Any, num_filters: int, filter_size: Any, stride: Any = (1, 1), pad: Any = 0,
                 untie_biases: bool = False, W: Any = init.GlorotUniform(), b: Any = init.Constant(0.),
                 nonlinearity: Optional[Callable] = SideDefault("rectify"), flip_filters: bool = True,
                 convolution: Callable = SideDefault("conv2d"), **kwargs: Any) -> None:
        super().__init__(incoming, num_filters, filter_size, stride, pad, untie_biases, W, b, nonlinearity,
                         flip_filters, n=2, **kwargs)
        self.convolution = convolution


class Conv3DLayer(BaseConvLayer):
    """3-D convolution over ``(batch, channels, depth, rows, cols)``; ``convolution=None`` is conv3d.

    Notes
    -----
    ``out[n, f, z, y, x] = f(sum_{c, i, j, k} xpad[n, c', z*s0 + i, y*s1 + j, x*s2 + k] W'[f, c, i, j, k] + b)``.
    """

    def __init__(self, incoming: Any, num_filters: int, filter_size: Any, stride: Any = (1, 1, 1), pad: Any = 0,
                 untie_biases: bool = False, W: Any = init.GlorotUniform(), b: Any = init.Constant(0.),
                 nonlinearity: Optional[Callable] = SideDefault("rectify"), flip_filters: bool = True,
                 convolution: Optional[Callable] = None, **kwargs: Any) -> None:
        super().__init__(incoming, num_filters, filter_size, stride, pad, untie_biases, W, b, nonlinearity,
                         flip_filters, n=3, **kwargs)
        self.convolution = self.side_defaults["conv3d"] if convolution is None else convolution


class TransposedConvLayer(BaseConvLayer):
    """Transposed convolution (the gradient of a convolution with respect to its input).

    ``output_size`` may be a symbolic value on the Theano side; the output shape is then
    unknown (None) along the spatial axes.
    """

    _n = 2

    def __init__(self, incoming: Any, num_filters: int, filter_size: Any, stride: Any, crop: Any, untie_biases: bool,
                 W: Any, b: Any, nonlinearity: Optional[Callable], flip_filters: bool, output_size: Any,
                 **kwargs: Any) -> None:
        if output_size is not None and not self.is_symbolic(output_size):
            output_size = as_tuple(output_size, self._n, f"{type(self).__name__} output_size", int)
        self.output_size = output_size
        super().__init__(incoming, num_filters, filter_size, stride, crop, untie_biases, W, b, nonlinearity,
                         flip_filters, n=self._n, **kwargs)
        self.crop = self.pad
        del self.pad
        if isinstance(output_size, tuple) and all(s is not None for s in self.input_shape[2:]):
            smallest = self._smallest(self.input_shape)[2:]
            for got, lo, s in zip(output_size, smallest, self.stride):
                if not lo <= got < lo + s:
                    raise TwinError(f"{self._label()}: output_size {output_size} impossible for input shape "
                                    f"{self.input_shape}: each size must lie in [{tuple(smallest)}, +stride)")

    def get_W_shape(self):
        return (self.input_shape[1], self.num_filters) + self.filter_size

    def _smallest(self, input_shape):
        # called from the constructor, self.crop is still called self.pad (as in Lasagne)
        crop = getattr(self, "crop", getattr(self, "pad", None))
        crop = crop if isinstance(crop, tuple) else (crop,) * self.n
        return (input_shape[0], self.num_filters) + tuple(
            conv_input_length(i, f, s, p) for i, f, s, p in zip(input_shape[2:], self.filter_size, self.stride, crop))

    def get_output_shape_for(self, input_shape):
        if self.output_size is None:
            return self._smallest(input_shape)
        if self.is_symbolic(self.output_size):
            return (input_shape[0], self.num_filters) + (None,) * self.n
        return (input_shape[0], self.num_filters) + tuple(self.output_size)


class TransposedConv2DLayer(TransposedConvLayer):
    """Transposed 2-D convolution (Lasagne's ``Deconv2DLayer``); ``W`` is ``(C_in, F, kh, kw)``.

    Output size ``(in - 1) * s - 2 * crop + k`` unless ``output_size`` (up to ``s - 1``
    larger) is given; ``flip_filters`` defaults to False (the flag is inverted compared to
    a convolution).
    """

    _n = 2

    def __init__(self, incoming: Any, num_filters: int, filter_size: Any, stride: Any = (1, 1), crop: Any = 0,
                 untie_biases: bool = False, W: Any = init.GlorotUniform(), b: Any = init.Constant(0.),
                 nonlinearity: Optional[Callable] = SideDefault("rectify"), flip_filters: bool = False,
                 output_size: Any = None, **kwargs: Any) -> None:
        super().__init__(incoming, num_filters, filter_size, stride, crop, untie_biases, W, b, nonlinearity,
                         flip_filters, output_size, **kwargs)


class TransposedConv3DLayer(TransposedConvLayer):
    """Transposed 3-D convolution (``Deconv3DLayer``); ``W`` is ``(C_in, F, kd, kh, kw)``."""

    _n = 3

    def __init__(self, incoming: Any, num_filters: int, filter_size: Any, stride: Any = (1, 1, 1), crop: Any = 0,
                 untie_biases: bool = False, W: Any = init.GlorotUniform(), b: Any = init.Constant(0.),
                 nonlinearity: Optional[Callable] = SideDefault("rectify"), flip_filters: bool = False,
                 output_size: Any = None, **kwargs: Any) -> None:
        super().__init__(incoming, num_filters, filter_size, stride, crop, untie_biases, W, b, nonlinearity,
                         flip_filters, output_size, **kwargs)


class DilatedConv2DLayer(BaseConvLayer):
    """Dilated (atrous) 2-D correlation; ``W`` is ``(C_in, F, kh, kw)``, pad 0, no flip.

    Notes
    -----
    ``out[n, f, y, x] = f(sum_{c, i, j} x[n, c, y + i*d0, x + j*d1] W[c, f, i, j] + b)``,
    output size ``in - (k - 1) * d``.
    """

    def __init__(self, incoming: Any, num_filters: int, filter_size: Any, dilation: Any = (1, 1), pad: Any = 0,
                 untie_biases: bool = False, W: Any = init.GlorotUniform(), b: Any = init.Constant(0.),
                 nonlinearity: Optional[Callable] = SideDefault("rectify"), flip_filters: bool = False,
                 **kwargs: Any) -> None:
        self.dilation = as_tuple(dilation, 2, f"{type(self).__name__} dilation", int)
        super().__init__(incoming, num_filters, filter_size, 1, pad, untie_biases, W, b, nonlinearity,
                         flip_filters, n=2, **kwargs)
        del self.stride
        if self.pad != (0, 0):
            raise NotImplementedError(f"{self._label()} requires pad=0 / (0,0) / 'valid', but got {pad!r}. "
                                      "For a padded dilated convolution, add a PadLayer.")
        if self.flip_filters:
            raise NotImplementedError(f"{self._label()} requires flip_filters=False.")

    def get_W_shape(self):
        return (self.input_shape[1], self.num_filters) + self.filter_size

    def get_output_shape_for(self, input_shape):
        return (input_shape[0], self.num_filters) + tuple(
            conv_output_length(i, (f - 1) * d + 1, 1, 0)
            for i, f, d in zip(input_shape[2:], self.filter_size, self.dilation))


class LocallyConnected2DLayer(Conv2DLayer):
    """2-D convolution without weight sharing (Lasagne master ``local.py``).

    Parameters
    ----------
    incoming, num_filters, filter_size, untie_biases, W, b, nonlinearity, flip_filters
        As :class:`Conv2DLayer`; stride must be 1 and pad ``'same'`` (odd filters).
    channelwise : bool
        If True, filter ``f`` only sees input channel ``f`` (``num_filters`` must equal the
        number of input channels) and ``W`` is ``(F, kh, kw, H, W)``; otherwise ``W`` is
        ``(F, C, kh, kw, H, W)``.
    """

    def __init__(self, incoming: Any, num_filters: int, filter_size: Any, stride: Any = (1, 1), pad: Any = "same",
                 untie_biases: bool = False, W: Any = init.GlorotUniform(), b: Any = init.Constant(0.),
                 nonlinearity: Optional[Callable] = SideDefault("rectify"), flip_filters: bool = True,
                 channelwise: bool = False, **kwargs: Any) -> None:
        self.channelwise = channelwise
        super().__init__(incoming, num_filters, filter_size, stride=stride, pad=pad, untie_biases=untie_biases,
                         W=W, b=b, nonlinearity=nonlinearity, flip_filters=flip_filters, **kwargs)
        if self.stride != (1, 1):
            raise NotImplementedError(f"{self._label()} requires stride=1 / (1, 1), but got {stride!r}.")
        if self.pad != "same":
            raise NotImplementedError(f"{self._label()} requires pad='same', but got {pad!r}.")

    def get_W_shape(self):
        if any(s is None for s in self.input_shape[1:]):
            raise TwinError(f"A LocallyConnected2DLayer requires a fixed input shape (except for the batch size). "
                            f"Got {self.input_shape!r}.")
        c = self.input_shape[1]
        out = self.get_output_shape_for(self.input_shape)
        if self.channelwise:
            if self.num_filters != c:
                raise TwinError(f"{self._label()}: num_filters and the number of input channels should match when "
                                f"channelwise is true, but got num_filters={self.num_filters!r} and {c} input channels")
            return (self.num_filters,) + self.filter_size + tuple(out[-2:])
        return (self.num_filters, c) + self.filter_size + tuple(out[-2:])
