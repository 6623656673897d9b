"""Patch machinery of the conv and pool twins: strided windows, one GEMM per chunk, col2im.

Convolutions are computed like Theano's CorrMM: the zero-padded input is viewed as
patches with ``numpy.lib.stride_tricks.as_strided`` (no copy), the patches of a chunk of
batch items are copied once into a ``(items, C/groups * prod(kernel), prod(out))`` buffer
(im2col) and multiplied by the filters with one stacked BLAS GEMM, writing the result
directly in ``(batch, filters, *spatial)`` layout.

Memory: the im2col buffer of one chunk is kept under :data:`PATCH_BUFFER_BYTES` (4 MiB: small enough to stay in cache between the copy and the GEMM):
the batch is split into chunks of ``max(1, PATCH_BUFFER_BYTES // bytes_per_item)`` items and
each chunk is padded on its own, so peak extra memory is about one chunk's padded input
plus that buffer, whatever the batch size (one item's buffer may exceed the budget alone).
"""
from __future__ import annotations

import itertools
from typing import Sequence, Tuple

import numpy as np
from numpy.lib.stride_tricks import as_strided

__all__ = ["PATCH_BUFFER_BYTES", "pad_spatial", "corr_nd", "corr_transpose_nd", "pool_nd"]

#: Upper bound (bytes) of the im2col buffer of one chunk of batch items.
PATCH_BUFFER_BYTES = 4 * 2 ** 20

Pads = Sequence[Tuple[int, int]]


def pad_spatial(x: np.ndarray, pads: Pads, value: float = 0.0) -> np.ndarray:
    """Pad the trailing ``len(pads)`` axes of ``x`` with ``value``; returns ``x`` if no padding."""
    n = len(pads)
    if not any(lo or hi for lo, hi in pads):
        return x
    shape = x.shape[:-n] + tuple(s + lo + hi for s, (lo, hi) in zip(x.shape[-n:], pads))
    out = np.full(shape, value, dtype=x.dtype) if value != 0.0 else np.zeros(shape, dtype=x.dtype)
    out[(Ellipsis,) + tuple(slice(lo, lo + s) for s, (lo, _) in zip(x.shape[-n:], pads))] = x
    return out


def _chunk(per_item_bytes: int, batch: int) -> int:
    return int(max(1, min(batch, PATCH_BUFFER_BYTES // max(per_item_bytes, 1))))


def corr_nd(x: np.ndarray, w: np.ndarray, pads: Pads, stride: Sequence[int], dilation: Sequence[int],
            groups: int = 1) -> np.ndarray:
    """N-d cross-correlation (no kernel flip) of ``x (N, C, *S)`` with ``w (F, C/groups, *K)``.

    ``out[n, f, o] = sum_{c, k} xpad[n, g(f)*C/groups + c, o*stride + k*dilation] * w[f, c, k]``
    with ``g(f) = f // (F/groups)`` and ``xpad`` zero padded by ``pads``.
    """
    nd = x.ndim - 2
    N, C = x.shape[:2]
    F, Cg = w.shape[:2]
    K = tuple(w.shape[2:])
    Fg = F // groups
    padded = tuple(s + lo + hi for s, (lo, hi) in zip(x.shape[2:], pads))
    O = tuple((p - ((k - 1) * d + 1)) // s + 1 for p, k, d, s in zip(padded, K, dilation, stride))
    if any(o <= 0 for o in O):
        raise ValueError(f"convolution output would have non-positive size {O} (input {x.shape[2:]}, "
                         f"kernel {K}, padding {tuple(pads)}, stride {tuple(stride)}, dilation {tuple(dilation)})")
    P = int(np.prod(O))
    CK = Cg * int(np.prod(K))
    out = np.empty((N, F) + O, dtype=np.result_type(x.dtype, w.dtype))
    w2 = [np.ascontiguousarray(w[g * Fg:(g + 1) * Fg].reshape(Fg, CK)) for g in range(groups)]
    nb = _chunk(CK * P * out.itemsize, N)
    buf = np.empty((nb, CK, P), dtype=x.dtype)
    for n0 in range(0, N, nb):
        n1 = min(N, n0 + nb)
        m = n1 - n0
        xp = pad_spatial(x[n0:n1], pads)
        st = xp.strides
        out_c = out[n0:n1].reshape(m, F, P)
        for g in range(groups):
            xg = xp[:, g * Cg:(g + 1) * Cg]
            view = as_strided(xg, shape=(m, Cg) + K + O,
                              strides=st[:2] + tuple(st[2 + i] * dilation[i] for i in range(nd))
                              + tuple(st[2 + i] * stride[i] for i in range(nd)), writeable=False)
            cols = buf[:m]
            np.copyto(cols.reshape((m, Cg) + K + O), view)
            if groups == 1:
                np.matmul(w2[0], cols, out=out_c)
            else:
                out_c[:, g * Fg:(g + 1) * Fg] = np.matmul(w2[g], cols)
    return out


def corr_transpose_nd(x: np.ndarray, w: np.ndarray, pads: Pads, stride: Sequence[int], dilation: Sequence[int],
                      out_size: Sequence[int]) -> np.ndarray:
    """Transpose of :func:`corr_nd` (its gradient w.r.t. the input): col2im of ``w^T x``.

    ``x (N, Cin, *I)``, ``w (Cin, F, *K)``; ``out[n, f, y] = sum_{c, o, k: o*s + k*d - pad_lo = y}
    x[n, c, o] * w[c, f, k]`` for ``y < out_size``.
    """
    nd = x.ndim - 2
    N, Cin = x.shape[:2]
    F = w.shape[1]
    K = tuple(w.shape[2:])
    I = tuple(x.shape[2:])
    full = tuple(max(out_size[i] + pads[i][0], (I[i] - 1) * stride[i] + (K[i] - 1) * dilation[i] + 1)
                 for i in range(nd))
    dtype = np.result_type(x.dtype, w.dtype)
    out = np.empty((N, F) + tuple(out_size), dtype=dtype)
    FK = F * int(np.prod(K))
    P = int(np.prod(I))
    wT = np.ascontiguousarray(w.reshape(Cin, FK).T)
    nb = _chunk((FK * P + F * int(np.prod(full))) * out.itemsize, N)
    crop = (slice(None), slice(None)) + tuple(slice(pads[i][0], pads[i][0] + out_size[i]) for i in range(nd))
    for n0 in range(0, N, nb):
        n1 = min(N, n0 + nb)
        m = n1 - n0
        cols = np.matmul(wT, x[n0:n1].reshape(m, Cin, P)).reshape((m, F) + K + I)
        acc = np.zeros((m, F) + full, dtype=dtype)
        for k in itertools.product(*[range(s) for s in K]):
            target = (slice(None), slice(None)) + tuple(
                slice(k[i] * dilation[i], k[i] * dilation[i] + (I[i] - 1) * stride[i] + 1, stride[i]) for i in range(nd))
            acc[target] += cols[(slice(None), slice(None)) + k]
        out[n0:n1] = acc[crop]
    return out


def _pool_axis_counts(L: int, ws: int, stride: int, pad: int, out: int) -> np.ndarray:
    """Number of real (unpadded) input elements in each window along one axis."""
    start = np.arange(out) * stride
    end = np.minimum(start + ws, L + 2 * pad)
    return np.minimum(end, L + pad) - np.maximum(start, pad)


def pool_nd(x: np.ndarray, ws: Sequence[int], stride: Sequence[int], pad: Sequence[int], ignore_border: bool,
            mode: str) -> np.ndarray:
    """Theano's ``Pool`` op over the trailing ``len(ws)`` axes, from strided slices.

    Windows start at ``j * stride`` in the zero-padded input. ``max`` and ``average_exc_pad``
    only see real input elements; ``average_inc_pad`` divides by ``prod(ws)`` when
    ``ignore_border`` is True and by the number of real elements otherwise. The window is
    reduced offset by offset in row-major order, the order of Theano's C loop.
    """
    from .shapes.pool import theano_pool_length

    nd = len(ws)
    if mode not in ("max", "sum", "average_inc_pad", "average_exc_pad"):
        raise ValueError(f"pool mode must be 'max', 'sum', 'average_inc_pad' or 'average_exc_pad', got {mode!r}")
    if any(pad) and not ignore_border:
        raise NotImplementedError("padding works only with ignore_border=True")
    if any(p >= w for p, w in zip(pad, ws)):
        raise NotImplementedError(f"padding must be smaller than the pool size, got pad={tuple(pad)}, ws={tuple(ws)}")
    S = x.shape[-nd:]
    O = tuple(theano_pool_length(S[i], ws[i], stride[i], pad[i], ignore_border) for i in range(nd))
    lead = x.shape[:-nd]
    if any(o == 0 for o in O):
        return np.empty(lead + O, dtype=x.dtype)
    # extent of the padded input the windows touch (partial windows when ignore_border=False)
    need = tuple(max(S[i] + 2 * pad[i], (O[i] - 1) * stride[i] + ws[i]) for i in range(nd))
    pads = [(pad[i], need[i] - S[i] - pad[i]) for i in range(nd)]
    if mode == "max":
        fill = -np.inf if x.dtype.kind == "f" else np.iinfo(x.dtype).min
        xp = pad_spatial(x, pads, fill)
    else:
        xp = pad_spatial(x, pads)
    acc = None
    for k in itertools.product(*[range(w) for w in ws]):
        sl = (Ellipsis,) + tuple(slice(k[i], k[i] + (O[i] - 1) * stride[i] + 1, stride[i]) for i in range(nd))
        part = xp[sl]
        if acc is None:
            acc = part.copy()
        elif mode == "max":
            np.maximum(acc, part, out=acc)
        else:
            np.add(acc, part, out=acc)
    if mode in ("max", "sum"):
        return acc
    if mode == "average_inc_pad" and ignore_border:
        return acc / np.asarray(int(np.prod(ws)), dtype=acc.dtype)
    counts = np.ones((), dtype=np.int64)
    for i in range(nd):
        c = _pool_axis_counts(S[i], ws[i], stride[i], pad[i], O[i])
        counts = np.multiply.outer(counts, c)
    return acc / counts.astype(acc.dtype)
