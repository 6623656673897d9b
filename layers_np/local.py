"""Locally connected twin (Lasagne master ``lasagne/layers/local.py``)."""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .im2col import pad_spatial
from .base import TwinError
from .conv import Conv2DLayer
from .specs import conv as spec

__all__ = ["LocallyConnected2DLayer"]


class LocallyConnected2DLayer(spec.LocallyConnected2DLayer, Conv2DLayer):
    """2-D convolution without weight sharing: every output position has its own filters.

    Notes
    -----
    With ``xpad`` zero padded by ``k // 2`` and ``W'`` flipped over its filter axes when
    ``flip_filters``::

        out[n, f, y, x] = f(sum_{c, i, j} xpad[n, c, y + i, x + j] W'[f, c, i, j, y, x] + b)

    computed as one batched GEMM over output positions.
    """

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
