"""Locally connected twin (Lasagne master ``lasagne/layers/local.py``)."""
from __future__ import annotations

from typing import Any, Callable, Optional

import numpy as np
from numpy.lib.stride_tricks import as_strided

from . import init, nonlinearities
from ._im2col import pad_spatial
from .base import TwinError
from .conv import Conv2DLayer

__all__ = ["LocallyConnected2DLayer"]


class LocallyConnected2DLayer(Conv2DLayer):
    """2-D convolution without weight sharing: every output position has its own filters.

    Parameters
    ----------
    incoming, num_filters, filter_size, untie_biases, W, b, nonlinearity, flip_filters
        As :class:`Conv2DLayer`; stride must be 1 and pad ``'same'`` (odd filters).
    channelwise : bool
        If True, filter ``f`` only sees input channel ``f`` (``num_filters`` must equal the
        number of input channels) and ``W`` is ``(F, kh, kw, H, W)``; otherwise ``W`` is
        ``(F, C, kh, kw, H, W)``.

    Notes
    -----
    With ``xpad`` zero padded by ``k // 2`` and ``W'`` flipped over its filter axes when
    ``flip_filters``::

        out[n, f, y, x] = f(sum_{c, i, j} xpad[n, c, y + i, x + j] W'[f, c, i, j, y, x] + b)

    computed as one batched GEMM over output positions.
    """

    def __init__(self, incoming: Any, num_filters: int, filter_size: Any, stride: Any = (1, 1), pad: Any = "same",
                 untie_biases: bool = False, W: Any = init.GlorotUniform(), b: Any = init.Constant(0.0),
                 nonlinearity: Optional[Callable] = nonlinearities.rectify, flip_filters: bool = True,
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

    def convolve(self, input, **kwargs):
        kh, kw = self.filter_size
        N, C, H, Wd = input.shape
        if (C, H, Wd) != tuple(self.input_shape[1:]):
            raise TwinError(f"{self._label()}: expected input of shape {self.input_shape}, got {input.shape}")
        W = self.W.value
        xp = pad_spatial(input, ((kh // 2, kh // 2), (kw // 2, kw // 2)))
        s = xp.strides
        patches = as_strided(xp, shape=(N, C, H, Wd, kh, kw), strides=s + s[2:], writeable=False)
        if self.channelwise:
            Wf = W[:, ::-1, ::-1] if self.flip_filters else W
            # (N, F, H, W, kh*kw) . (F, H, W, kh*kw)
            p = patches.reshape(N, C, H, Wd, kh * kw)
            w = Wf.transpose(0, 3, 4, 1, 2).reshape(C, H, Wd, kh * kw)
            return np.matmul(p[..., None, :], w[None, ..., :, None])[..., 0, 0]
        Wf = W[:, :, ::-1, ::-1] if self.flip_filters else W
        F = W.shape[0]
        K = C * kh * kw
        cols = patches.transpose(2, 3, 0, 1, 4, 5).reshape(H * Wd, N, K)
        w = Wf.transpose(4, 5, 1, 2, 3, 0).reshape(H * Wd, K, F)
        out = np.matmul(cols, w)  # (H*W, N, F)
        return out.reshape(H, Wd, N, F).transpose(2, 3, 0, 1)
