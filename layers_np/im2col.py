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
import math
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
    if value == 0.0:
        out = np.zeros(shape, dtype=x.dtype)
    else:  # fill only the border slabs (one pass over the array instead of two)
        out = np.empty(shape, dtype=x.dtype)
        for i, (s, (lo, hi)) in enumerate(zip(x.shape[-n:], pads)):
            axis = len(shape) - n + i
            if lo:
                out[(slice(None),) * axis + (slice(0, lo),)] = value
            if hi:
                out[(slice(None),) * axis + (slice(lo + s, None),)] = value
    out[(Ellipsis,) + tuple(slice(lo, lo + s) for s, (lo, _) in zip(x.shape[-n:], pads))] = x
    return out


def _chunk(per_item_bytes: int, batch: int) -> int:
    return int(max(1, min(batch, PATCH_BUFFER_BYTES // max(per_item_bytes, 1))))


def _strided(a: np.ndarray, offset: int, shape: Tuple[int, ...], strides: Tuple[int, ...]) -> np.ndarray:
    """Read-only strided view of the C-contiguous ``a`` starting ``offset`` bytes in
    (``as_strided`` without its overhead)."""
    view = np.ndarray(shape, a.dtype, buffer=a, offset=offset, strides=strides)
    view.flags.writeable = False
    return view


def corr_nd(x: np.ndarray, w: np.ndarray, pads: Pads, stride: Sequence[int], dilation: Sequence[int],
            groups: int = 1) -> np.ndarray:
    """N-d cross-correlation (no kernel flip) of ``x (N, C, *S)`` with ``w (F, C/groups, *K)``.

    ``out[n, f, o] = sum_{c, k} xpad[n, g(f)*C/groups + c, o*stride + k*dilation] * w[f, c, k]``
    with ``g(f) = f // (F/groups)`` and ``xpad`` zero padded by ``pads``.

    Notes
    -----
    Each batch item is one GEMM ``w_g (F/groups, CK) @ cols (CK, P)`` (the layout of Theano's
    CorrMM). A 1x1 kernel with unit stride and no padding needs no patch copy: ``cols`` is
    the input itself, so the GEMM (and its result) is the same.
    """
    nd = x.ndim - 2
    N, C = x.shape[:2]
    F, Cg = w.shape[:2]
    K = tuple(w.shape[2:])
    Fg = F // groups
    S = x.shape[2:]
    padded = tuple(S[i] + pads[i][0] + pads[i][1] for i in range(nd))
    O = tuple((padded[i] - ((K[i] - 1) * dilation[i] + 1)) // stride[i] + 1 for i in range(nd))
    if any(o <= 0 for o in O):
        raise ValueError(f"convolution output would have non-positive size {O} (input {x.shape[2:]}, "
                         f"kernel {K}, padding {tuple(pads)}, stride {tuple(stride)}, dilation {tuple(dilation)})")
    P = math.prod(O)
    KK = math.prod(K)
    CK = Cg * KK
    out = np.empty((N, F) + O, dtype=np.result_type(x.dtype, w.dtype))
    no_pad = not any(lo or hi for lo, hi in pads)
    if (groups == 1 and KK == 1 and no_pad and all(s == 1 for s in stride) and x.flags.c_contiguous
            and x.dtype == out.dtype and N > 0):
        # 1x1 kernel: the patch matrix of item n is x[n] viewed as (C, P)
        np.matmul(np.ascontiguousarray(w.reshape(F, CK)), x.reshape(N, C, P), out=out.reshape(N, F, P))
        return out
    if groups == 1:
        w2 = [np.ascontiguousarray(w.reshape(F, CK))]
    else:
        w2 = [np.ascontiguousarray(w[g * Fg:(g + 1) * Fg].reshape(Fg, CK)) for g in range(groups)]
    nb = _chunk(CK * P * out.itemsize, N)
    buf = np.empty((nb, CK, P), dtype=x.dtype)
    for n0 in range(0, N, nb):
        n1 = min(N, n0 + nb)
        m = n1 - n0
        xp = x[n0:n1] if no_pad else pad_spatial(x[n0:n1], pads)
        st = xp.strides
        view_strides = st[:2] + tuple(st[2 + i] * dilation[i] for i in range(nd)) \
            + tuple(st[2 + i] * stride[i] for i in range(nd))
        out_c = out[n0:n1].reshape(m, F, P)
        cols = buf[:m]
        cols_nd = cols.reshape((m, Cg) + K + O)
        for g in range(groups):
            if xp.flags.c_contiguous:
                view = _strided(xp, g * Cg * st[1], (m, Cg) + K + O, view_strides)
            else:
                view = as_strided(xp[:, g * Cg:(g + 1) * Cg], shape=(m, Cg) + K + O, strides=view_strides,
                                  writeable=False)
            np.copyto(cols_nd, view)
            if groups == 1:
                np.matmul(w2[0], cols, out=out_c)
            else:
                np.matmul(w2[g], cols, out=out_c[:, g * Fg:(g + 1) * Fg])
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


#: Windows at least this long are max-reduced as a pairwise tree (fewer numpy calls).
_TREE_MIN_WINDOW = 8


def _max_tree(v: np.ndarray, axis: int) -> np.ndarray:
    """Max over ``axis`` of ``v`` (length >= 2) by adjacent pairs, keeping the offsets' order.

    Every step takes ``maximum(earlier, later)`` of adjacent segments, so a tie (+0/-0) is
    resolved towards the later element exactly as the left-to-right scan ``acc =
    maximum(acc, v[k])`` does: the same element wins. Returns a new array without ``axis``.
    """
    pre = (slice(None),) * axis
    n = v.shape[axis]
    while n > 1:
        h, odd = n // 2, n % 2
        r = np.empty(v.shape[:axis] + (h + odd,) + v.shape[axis + 1:], dtype=v.dtype)
        np.maximum(v[pre + (slice(0, 2 * h, 2),)], v[pre + (slice(1, 2 * h, 2),)], out=r[pre + (slice(0, h),)])
        if odd:
            r[pre + (slice(h, h + 1),)] = v[pre + (slice(n - 1, n),)]
        v, n = r, h + odd
    return v.reshape(v.shape[:axis] + v.shape[axis + 1:])


def pool_nd(x: np.ndarray, ws: Sequence[int], stride: Sequence[int], pad: Sequence[int], ignore_border: bool,
            mode: str) -> np.ndarray:
    """Theano's ``Pool`` op over the trailing ``len(ws)`` axes, from strided slices.

    Windows start at ``j * stride`` in the zero-padded input. ``max`` and ``average_exc_pad``
    only see real input elements; ``average_inc_pad`` divides by ``prod(ws)`` when
    ``ignore_border`` is True and by the number of real elements otherwise. Sums are
    reduced offset by offset in row-major order, the order of Theano's C loop. Max is exact,
    so it may be reduced axis by axis (last axis first; a pairwise tree for windows of 8 or
    more) when that takes fewer passes: every window still yields the very element the
    row-major scan yields, ties between +0 and -0 included (numpy's ``maximum`` returns its
    second operand on ties, and both orders keep the later element).
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
    if mode == "max" and (nd == 1 or sum(ws) < math.prod(ws)):
        # Separable max: reduce the last window axis, then the one before, ... Each output
        # is the same element as the row-major scan below picks (max is exact, and
        # numpy.maximum resolves +0/-0 ties the same way in every pass, so the last tied
        # element in row-major order wins both ways): bit-identical, with sum(ws) passes
        # instead of prod(ws) (used when that is fewer, e.g. 3x3 windows, not 2x2).
        acc = xp
        for i in reversed(range(nd)):
            axis = acc.ndim - nd + i
            if ws[i] >= _TREE_MIN_WINDOW:
                st = acc.strides
                windows = as_strided(acc, shape=acc.shape[:axis] + (O[i], ws[i]) + acc.shape[axis + 1:],
                                     strides=st[:axis] + (st[axis] * stride[i], st[axis]) + st[axis + 1:],
                                     writeable=False)
                acc = _max_tree(windows, axis + 1)
                continue
            red = None
            for k in range(ws[i]):
                sl = (slice(None),) * axis + (slice(k, k + (O[i] - 1) * stride[i] + 1, stride[i]),)
                part = acc[sl]
                if red is None:
                    red = part.copy()
                else:
                    np.maximum(red, part, out=red)
            acc = red
        return acc
    acc = None
    axis_slices = [[slice(k, k + (O[i] - 1) * stride[i] + 1, stride[i]) for k in range(ws[i])] for i in range(nd)]
    for sl in itertools.product(*axis_slices):
        part = xp[(Ellipsis,) + sl]
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
