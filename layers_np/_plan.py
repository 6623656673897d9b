"""The planned runtime: how ``get_output`` (and so ``layer(X)`` and loaded models) executes.

A network is walked once per (output layers, given layers, input shapes, dtypes, C-contiguity,
keyword arguments, thread); that walk (a *trace*, the plain ``get_output_for`` of every layer)
gives each layer's concrete input and output shapes and dtypes, and a *runtime* is built
from it: for every layer a kernel that writes into buffers allocated once, with every
reshaped, flipped or stacked weight, broadcast bias and patch view precomputed. A call is
then a flat list of kernel calls. Layers without a planned kernel (any class not listed in
:data:`_BUILDERS`, subclasses included, and unusual options) run their ``get_output_for`` as
before.

Kernels are chosen for speed within each op's certified error bound, not for bit-identity
with Theano's C code (no zoo model's output was bit-identical to Theano's anyway):

* convolutions: one GEMM over the patches of many batch items ("folded batch", chunked so
  the patch buffer stays under :data:`CHUNK_BYTES`) instead of one GEMM per item; the
  products are summed in a different order than CorrMM's, inside the forward error bound
  ``2 gamma_K sum |x||w|`` the harness certifies against;
* float32 ``tanh``/``exp``/sigmoid/softmax are computed in float32 (numpy's SIMD functions,
  1-2 ulp from correctly rounded) instead of a float64 round trip;
* ``rectify`` is ``maximum(x, 0)`` in place (the same value as Theano's ``0.5 * (x + |x|)``
  for every finite ``|x| <= max/2``; Theano's formula overflows to inf above that and gives
  NaN for ``-inf``);
* bias and activation are applied in place in the layer's own buffer; recurrent layers
  project the input of all steps with one GEMM and run each step in preallocated gate
  buffers.

Ownership and threads: internal buffers belong to the runtime and are reused by the next
call; the arrays returned for the requested layers are always freshly allocated (never a
buffer or a view of one, nor of the caller's input). A runtime is used by one thread only:
the cache key includes the thread, so concurrent calls from several threads each get their
own runtime (and buffers). Parameters are read when a runtime is built; it is rebuilt when
any ``Param.value`` is replaced (``set_value``, ``set_all_param_values``, loading) or the
network is rewired. Writing into a weight array in place is not seen (as with Theano's
``get_value()``, which returns a copy).
"""
from __future__ import annotations

import math
import os
import threading
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

__all__ = ["CHUNK_BYTES", "Runtime", "build_runtime", "blas_threads", "set_blas_threads", "thread_key"]

#: Upper bound (bytes) of the patch (im2col) buffer of one chunk of a folded convolution.
CHUNK_BYTES = 4 * 2 ** 20

Kernel = Callable[..., np.ndarray]
_CHECK = 2


# ---------------------------------------------------------------------------
# BLAS threads
# ---------------------------------------------------------------------------
_BLAS: Dict[str, Any] = {}


def _blas_handles() -> Tuple[Optional[Callable], Optional[Callable]]:
    """(set, get) thread-count functions of the OpenBLAS numpy loaded, via ctypes, or (None, None).

    The library is found in ``/proc/self/maps`` (Linux; elsewhere nothing is done) under the
    names numpy's wheels use (``openblas_*``, scipy-openblas' ``scipy_openblas_*64_``...).
    """
    if "handles" in _BLAS:
        return _BLAS["handles"]
    handles: Tuple[Optional[Callable], Optional[Callable]] = (None, None)
    try:
        import ctypes

        paths = []
        with open("/proc/self/maps") as f:
            for line in f:
                path = line.rsplit(" ", 1)[-1].strip()
                if "openblas" in os.path.basename(path).lower() and path not in paths:
                    paths.append(path)
        for path in paths:
            lib = ctypes.CDLL(path)
            for prefix, suffix in (("", ""), ("scipy_", "64_"), ("scipy_", ""), ("", "64_")):
                setter = getattr(lib, f"{prefix}openblas_set_num_threads{suffix}", None)
                getter = getattr(lib, f"{prefix}openblas_get_num_threads{suffix}", None)
                if setter is not None and getter is not None:
                    setter.argtypes, setter.restype = [ctypes.c_int], None
                    getter.argtypes, getter.restype = [], ctypes.c_int
                    handles = (setter, getter)
                    break
            if handles[0] is not None:
                break
    except Exception:  # no /proc, no ctypes, another BLAS: leave the threads alone
        handles = (None, None)
    _BLAS["handles"] = handles
    return handles


def blas_threads() -> Optional[int]:
    """Threads numpy's OpenBLAS uses now, or None when it cannot be asked (another BLAS)."""
    getter = _blas_handles()[1]
    return None if getter is None else int(getter())


def set_blas_threads(n: Optional[int] = None) -> Optional[int]:
    """Set numpy's OpenBLAS thread count (process-wide); returns the count now in effect or None.

    ``n=None`` takes ``LAYERS_NP_BLAS_THREADS`` from the environment, else 1: on the 2-core
    machine of the benchmarks a second OpenBLAS thread never made these small GEMMs faster
    and OpenBLAS 0.3.31 on 2 threads made vgg_small 30x slower at batch 1. The runtime calls
    this once, when it builds its first plan, unless ``LAYERS_NP_BLAS_THREADS=keep``. A BLAS
    without ``openblas_set_num_threads`` is left alone (returns None).
    """
    setter, getter = _blas_handles()
    if setter is None or getter is None:
        return None
    if n is None:
        env = os.environ.get("LAYERS_NP_BLAS_THREADS", "").strip()
        if env.lower() == "keep":
            return int(getter())
        n = int(env) if env.isdigit() and int(env) > 0 else 1
    setter(int(n))
    return int(getter())


def _blas_once() -> None:
    if "set" not in _BLAS:
        _BLAS["set"] = set_blas_threads()


# ---------------------------------------------------------------------------
# elementwise kernels (in place)
# ---------------------------------------------------------------------------
def _inplace_activation(fn: Any, dtype: np.dtype,
                        shape: Optional[Tuple[int, ...]] = None) -> Optional[Callable[[np.ndarray], np.ndarray]]:
    """An in-place version of the nonlinearity ``fn`` for arrays of ``dtype``, or None.

    The function overwrites its argument and returns it. ``shape``, when every call's array
    has that shape, lets softmax keep its row maxima and sums in buffers of its own. Outputs
    are passed to the ufuncs positionally and the ufuncs bound once: at batch 1 a kernel's
    time is mostly the fixed cost of its numpy calls.
    """
    from . import nonlinearities as nl

    if dtype.kind != "f":
        return None
    if fn is nl.identity or fn is nl.linear:
        return lambda x: x
    if fn is nl.rectify:
        zero, maximum = np.zeros((), dtype), np.maximum
        return lambda x: maximum(x, zero, out=x)
    if fn is nl.tanh:
        tanh = np.tanh
        return lambda x: tanh(x, x)
    if fn is nl.sigmoid:
        one = np.ones((), dtype)

        def sigmoid(x: np.ndarray) -> np.ndarray:
            with np.errstate(over="ignore"):  # exp(-x) overflows to inf below -88.7: sigmoid 0
                np.negative(x, x)
                np.exp(x, x)
                np.add(x, one, x)
                return np.reciprocal(x, x)
        return sigmoid
    if fn is nl.softmax:
        subtract, exp, multiply, reciprocal = np.subtract, np.exp, np.multiply, np.reciprocal
        vmax, vsum = np.maximum.reduce, np.add.reduce
        if shape is not None and len(shape) >= 1 and math.prod(shape) > 0:
            m = np.empty(shape[:-1] + (1,), dtype)  # row maxima, then 1 / row sums
            last = len(shape) - 1

            def softmax_planned(x: np.ndarray) -> np.ndarray:
                vmax(x, last, None, m, True)
                subtract(x, m, x)
                exp(x, x)
                vsum(x, last, None, m, True)
                # 1 / sum rounded to the dtype, then one multiply per element (Theano's order)
                reciprocal(m, m)
                return multiply(x, m, x)
            return softmax_planned

        def softmax(x: np.ndarray) -> np.ndarray:
            if x.ndim == 0 or x.shape[-1] == 0 or x.size == 0:
                return x
            subtract(x, vmax(x, axis=-1, keepdims=True), x)
            exp(x, x)
            return multiply(x, reciprocal(vsum(x, axis=-1, keepdims=True)), x)
        return softmax
    return None


def _apply_activation(fn: Any, dtype: np.dtype, shape: Optional[Tuple[int, ...]] = None) -> Callable[[np.ndarray], np.ndarray]:
    """``x -> fn(x)`` that may overwrite ``x`` (an array the kernel owns, of ``shape`` if given)."""
    inplace = _inplace_activation(fn, dtype, shape)
    return fn if inplace is None else inplace


# ---------------------------------------------------------------------------
# per-class kernel builders
# ---------------------------------------------------------------------------
class _Out:
    """Shape and dtype of a kernel's output, worked out by its builder from the inputs."""

    __slots__ = ("shape", "dtype", "ndim")

    def __init__(self, shape: Sequence[int], dtype: Any) -> None:
        self.shape = tuple(int(d) for d in shape)
        self.dtype = np.dtype(dtype)
        self.ndim = len(self.shape)


#: Padded-input buffers up to this size are private to their kernel (see :meth:`_Alloc.padded`).
PRIVATE_PAD_BYTES = 256 * 2 ** 10


def _no_refill() -> None:
    """The border of a private padded buffer keeps its fill value: nothing to do."""


class _Alloc:
    """Where a kernel puts its output: one buffer reused by every call, or (for the requested
    layers, which the caller owns) a fresh array per call."""

    __slots__ = ("fresh", "buffers", "gemms", "view", "inplace", "pool", "step", "block")

    def __init__(self, fresh: bool, inplace: bool = False, pool: Optional["_Pool"] = None, step: int = 0) -> None:
        self.fresh = fresh
        self.pool = pool
        self.step = step
        self.block: Optional[List[Any]] = None  # the pool block holding the output
        # the first input is an internal buffer nothing else reads: an elementwise kernel may
        # overwrite it instead of writing a buffer of its own (not the caller's arrays, never a
        # requested layer's value)
        self.inplace = inplace and not fresh
        self.view = False  # the kernel returns a view of its input (copied when requested)
        self.buffers: List[np.ndarray] = []
        self.gemms: List[Tuple[Tuple[int, int], Tuple[int, int], str, int]] = []

    def gemm(self, a: Tuple[int, int], b: Tuple[int, int], dtype: Any, count: int = 1) -> None:
        """Record a GEMM the kernel makes per call (for :func:`profile_runtime`'s GEMM share)."""
        self.gemms.append((tuple(a), tuple(b), np.dtype(dtype).str, count))  # type: ignore[arg-type]

    def output(self, shape: Tuple[int, ...], dtype: Any) -> Callable[[], np.ndarray]:
        if self.fresh:
            return lambda: np.empty(shape, dtype)
        if self.pool is None:
            buf = np.empty(shape, dtype)
            self.buffers.append(buf)
        else:
            self.block, buf = self.pool.output(shape, dtype, self.step)
        return lambda: buf

    def scratch(self, shape: Tuple[int, ...], dtype: Any) -> np.ndarray:
        """A work array valid during the kernel's call only (shared with other kernels' scratch)."""
        if self.pool is None:
            buf = np.empty(shape, dtype)
            self.buffers.append(buf)
            return buf
        return self.pool.scratch(shape, dtype, self.step)

    def padded(self, shape: Tuple[int, ...], dtype: Any, pads: Sequence[Tuple[int, int]],
               fill: float) -> Tuple[np.ndarray, np.ndarray, Callable[[], None]]:
        """A scratch array for a padded input: (array, its interior, a function refilling the
        border with ``fill``, to call before each use since scratch is shared).

        A small one (at most :data:`PRIVATE_PAD_BYTES`, e.g. every padded input at batch 1) is
        the kernel's own, filled once: its border is never written, so the refill is a no-op
        (at batch 1 the refill's one call per border slab cost as much as the copy itself).
        """
        value = np.asarray(fill, dtype)
        if math.prod(shape) * np.dtype(dtype).itemsize <= PRIVATE_PAD_BYTES:
            xp = np.full(shape, value, dtype)
            self.buffers.append(xp)
            nd = len(pads)
            lead = xp.ndim - nd
            interior = xp[(slice(None),) * lead + tuple(slice(lo, shape[lead + i] - hi)
                                                        for i, (lo, hi) in enumerate(pads))]
            return xp, interior, _no_refill
        xp = self.scratch(shape, dtype)
        nd = len(pads)
        lead = xp.ndim - nd
        S = [shape[lead + i] - lo - hi for i, (lo, hi) in enumerate(pads)]
        interior = xp[(slice(None),) * lead + tuple(slice(lo, lo + s) for (lo, _), s in zip(pads, S))]
        slabs = []
        for i, (lo, hi) in enumerate(pads):
            pre = (slice(None),) * (lead + i)
            if lo:
                slabs.append(xp[pre + (slice(0, lo),)])
            if hi:
                slabs.append(xp[pre + (slice(lo + S[i], None),)])

        def refill() -> None:
            for slab in slabs:
                slab[...] = value
        return xp, interior, refill


class _Pool:
    """Memory of one runtime. Output blocks are reused once every value living in them has
    been read for the last time in the call (values that are views of a block, or in-place
    results in it, keep it alive); scratch blocks are shared by all kernels, each kernel
    using distinct blocks during its own call."""

    def __init__(self, last_read: Dict[int, float]) -> None:
        self.last_read = last_read
        self.out_blocks: List[List[Any]] = []  # [uint8 buffer, holder value ids]
        self.scratch_blocks: List[List[Any]] = []  # [uint8 buffer, last step that used it]

    @staticmethod
    def _view(buf: np.ndarray, shape: Tuple[int, ...], dtype: Any) -> np.ndarray:
        n = int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize
        return buf[:n].view(dtype).reshape(shape)

    def output(self, shape: Tuple[int, ...], dtype: Any, step: int) -> Tuple[List[Any], np.ndarray]:
        n = max(1, int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize)
        for block in sorted(self.out_blocks, key=lambda b: b[0].nbytes):
            if block[0].nbytes >= n and all(self.last_read.get(h, float("inf")) < step for h in block[1]):
                block[1] = []
                return block, self._view(block[0], shape, dtype)
        block = [np.empty(n + 64, np.uint8), []]
        self.out_blocks.append(block)
        return block, self._view(block[0], shape, dtype)

    def scratch(self, shape: Tuple[int, ...], dtype: Any, step: int) -> np.ndarray:
        n = max(1, int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize)
        for block in sorted(self.scratch_blocks, key=lambda b: b[0].nbytes):
            if block[0].nbytes >= n and block[1] != step:
                block[1] = step
                return self._view(block[0], shape, dtype)
        block = [np.empty(n + 64, np.uint8), step]
        self.scratch_blocks.append(block)
        return self._view(block[0], shape, dtype)

    @property
    def nbytes(self) -> int:
        return sum(b[0].nbytes for b in self.out_blocks + self.scratch_blocks)


def _dense(layer: Any, ins: List[np.ndarray], alloc: _Alloc) -> Optional[Kernel]:
    x = ins[0]
    W = layer.W.value
    if x.dtype != W.dtype or W.dtype.kind != "f" or x.ndim < 1:
        return None
    K, U = W.shape
    lead_n = layer.num_leading_axes if layer.num_leading_axes >= 0 else layer.num_leading_axes + x.ndim
    if not 0 <= lead_n < x.ndim or math.prod(x.shape[lead_n:]) != K:
        return None  # get_output_for reports it
    out = _Out(x.shape[:lead_n] + (U,), W.dtype)
    M = math.prod(out.shape[:-1])
    b = None if layer.b is None else layer.b.value
    if b is not None and b.dtype != W.dtype:
        return None
    act = _apply_activation(layer.nonlinearity, W.dtype, out.shape)
    get = alloc.output(out.shape, out.dtype)
    shape2 = (M, K)
    alloc.gemm((M, K), (K, U), W.dtype)
    # np.dot: the same BLAS call as np.matmul for 2-D operands (same bits), with about half its
    # fixed cost; at M == 1 a vector-matrix product (GEMV, measured ~20% faster than M=1 GEMM)
    dot, add = np.dot, np.add
    shape_x, shape_o = ((K,), (U,)) if M == 1 else (shape2, (M, U))

    def dense(x: np.ndarray) -> np.ndarray:
        o = get()
        o2 = o.reshape(shape_o)
        dot(x.reshape(shape_x), W, o2)
        if b is not None:
            add(o2, b, o2)
        return act(o)
    return dense


def _conv(layer: Any, ins: List[np.ndarray], alloc: _Alloc) -> Optional[Kernel]:
    from .shapes.conv import conv_pad_amounts, theano_border_mode

    # the class's own default convolution, by name like the classes (see _BUILDERS); the
    # backend classes (dnn, corrmm) have no ``convolution`` argument: their op is fixed
    default = _CONV_DEFAULTS.get(_qualified(type(layer)))
    x = ins[0]
    W = layer.W.value
    conv_fn = getattr(layer, "convolution", None)
    if ((None if conv_fn is None else _qualified(conv_fn)) != default or layer.num_groups != 1
            or x.dtype != W.dtype or W.dtype.kind != "f" or x.ndim != layer.n + 2 or x.shape[1] != W.shape[1]):
        return None
    nd = layer.n
    N, Cin = x.shape[:2]
    S = x.shape[2:]
    F = W.shape[0]
    K = tuple(W.shape[2:])
    stride = tuple(layer.stride)
    pads = conv_pad_amounts(theano_border_mode(layer.pad), K, (1,) * nd)
    O = tuple((S[i] + pads[i][0] + pads[i][1] - K[i]) // stride[i] + 1 for i in range(nd))
    if any(o <= 0 for o in O) or N == 0:
        return None
    out = _Out((N, F) + O, W.dtype)
    Wf = W[(Ellipsis,) + (slice(None, None, -1),) * nd] if layer.flip_filters else W
    KK, P = math.prod(K), math.prod(O)
    CK = Cin * KK
    W2 = np.ascontiguousarray(Wf.reshape(F, CK))
    b = None if layer.b is None else layer.b.value
    if b is not None:
        if b.dtype != W.dtype:
            return None
        if layer.untie_biases and b.shape != (F,) + O:
            return None
        bcol = b.reshape(F, P) if layer.untie_biases else b.reshape(F, 1)
    act = _apply_activation(layer.nonlinearity, W.dtype, out.shape)
    get = alloc.output(out.shape, out.dtype)
    dtype = W.dtype
    dot, add = np.dot, np.add  # see _dense
    item = dtype.itemsize
    padded = tuple(S[i] + pads[i][0] + pads[i][1] for i in range(nd))
    any_pad = any(lo or hi for lo, hi in pads)
    xp = interior = refill = None  # the padded input buffer, its interior view and border refill
    if any_pad:
        xp, interior, refill = alloc.padded((N, Cin) + padded, dtype, pads, 0.0)
    pointwise = KK == 1 and not any_pad and all(s == 1 for s in stride)
    if pointwise:
        # a 1x1 convolution: each item's input is its patch matrix, one stacked GEMM writes
        # the output in place (no patch copy, no transpose)
        alloc.gemm((F, Cin), (Cin, P), dtype, N)

        def conv_1x1(x: np.ndarray) -> np.ndarray:
            o = get()
            o3 = o.reshape(N, F, P)
            if N == 1:
                dot(W2, x.reshape(Cin, P), o3[0])
            else:
                np.matmul(W2, x.reshape(N, Cin, P), o3)
            if b is not None:
                add(o3, bcol, o3)
            return act(o)
        return conv_1x1
    if _CONV_LAYOUT == "per_item" or (_CONV_LAYOUT == "auto" and F < _FOLD_MIN_FILTERS):
        return _conv_per_item(x, N, Cin, K, O, P, F, CK, stride, nd, W2, b, bcol, act, get, dtype,
                              alloc, xp, interior, refill)
    nb = int(max(1, min(N, CHUNK_BYTES // max(CK * P * item, 1))))
    chunks = [(n0, min(N, n0 + nb)) for n0 in range(0, N, nb)]
    cols = alloc.scratch((CK, nb * P), dtype)
    gemm = alloc.scratch((F * nb * P,), dtype) if nb > 1 else None

    def patch_view(src: np.ndarray, n0: int, m: int) -> np.ndarray:
        """(C, *K, m, *O) view of the patches of items n0..n0+m of ``src``."""
        st = src.strides
        shape = (Cin,) + K + (m,) + O
        strides = (st[1],) + tuple(st[2 + i] for i in range(nd)) + (st[0],) + \
            tuple(st[2 + i] * stride[i] for i in range(nd))
        return _strided(src, n0, shape, strides)

    targets = {}
    gemms = {}  # np.dot writes only into a C-contiguous array: one (F, m*P) view per chunk size
    for n0, n1 in chunks:
        m = n1 - n0
        targets[m] = cols[:, :m * P].reshape((Cin,) + K + (m,) + O)
        if m > 1:
            gemms[m] = gemm[:F * m * P].reshape(F, m * P)
        alloc.gemm((F, CK), (CK, m * P), dtype)
    views_of = _patch_views(chunks, patch_view, xp, interior, refill)

    copyto = np.copyto

    def conv(x: np.ndarray) -> np.ndarray:
        o = get()
        for (n0, n1), view in zip(chunks, views_of(x)):
            m = n1 - n0
            c = cols[:, :m * P]
            copyto(targets[m], view)
            if m == 1:
                o2 = o[n0].reshape(F, P)
                dot(W2, c, o2)
                if b is not None:
                    add(o2, bcol, o2)
            else:
                g = gemms[m]
                dot(W2, c, g)
                # (F, m, P) -> (m, F, P) with the bias added in the same pass
                gT = g.reshape(F, m, P).transpose(1, 0, 2)
                o3 = o[n0:n1].reshape(m, F, P)
                if b is not None:
                    add(gT, bcol, o3)
                else:
                    copyto(o3, gT)
        return act(o)
    return conv


#: Convolution GEMM layout: "auto" folds the batch into one GEMM ``(F, CK) @ (CK, m*P)`` when
#: there are at least ``_FOLD_MIN_FILTERS`` filters; with fewer, the GEMM's output is thin and
#: moving it to ``(m, F, P)`` costs about as much as the GEMM, so one stacked GEMM per item
#: writes the output in place instead (measured interleaved at batch 64 on the zoo: folded
#: 0.8x the per-item time for vgg_small/resnet_small (16-32 filters), per-item 0.9x the folded
#: time for inception_block/lenet5 (4-8 filters)). "folded" / "per_item" force one.
_CONV_LAYOUT = "auto"
_FOLD_MIN_FILTERS = 16


def _patch_views(chunks: List[Tuple[int, int]], patch_view: Callable[[np.ndarray, int, int], np.ndarray],
                 xp: Optional[np.ndarray], interior: Any, refill: Any) -> Callable[[np.ndarray], List[np.ndarray]]:
    """Per call, the patch views of each chunk of the input ``x`` (both conv layouts use this).

    With padding (``xp`` the padded buffer) the border is refilled, ``x`` is copied into its
    interior and the views planned on ``xp`` are returned; without, views of ``x`` itself,
    memoised on identity (an internal buffer is the same array on every call; holding the
    reference keeps the identity test sound).
    """
    if xp is not None:
        pre_views = [patch_view(xp, n0, n1 - n0) for n0, n1 in chunks]

        def padded(x: np.ndarray) -> List[np.ndarray]:
            refill()
            np.copyto(interior, x)
            return pre_views
        return padded
    memo: List[Any] = [None, None]

    def unpadded(x: np.ndarray) -> List[np.ndarray]:
        if x is memo[0]:
            return memo[1]
        views = [patch_view(x, n0, n1 - n0) for n0, n1 in chunks]
        memo[0], memo[1] = x, views
        return views
    return unpadded


def _strided(src: np.ndarray, n0: int, shape: Tuple[int, ...], strides: Tuple[int, ...]) -> np.ndarray:
    """A view of ``src``'s memory from item ``n0`` on with ``shape`` and ``strides``.

    A C-contiguous ``src`` is its own buffer (the cheap ``np.ndarray`` constructor); any
    other (e.g. the transposed view a DimshuffleLayer gives a 1-D convolution) is viewed in
    place with ``as_strided`` (read-only) instead of being copied first: its patches are then
    gathered by the one im2col copy the kernel makes anyway.
    """
    if src.flags.c_contiguous:
        return np.ndarray(shape, src.dtype, buffer=src, offset=n0 * src.strides[0], strides=strides)
    from numpy.lib.stride_tricks import as_strided

    return as_strided(src[n0:], shape=shape, strides=strides, writeable=False)


def _conv_per_item(x: np.ndarray, N: int, Cin: int, K: Tuple[int, ...], O: Tuple[int, ...], P: int, F: int,
                   CK: int, stride: Tuple[int, ...], nd: int, W2: np.ndarray, b: Any, bcol: Any,
                   act: Callable, get: Callable, dtype: np.dtype, alloc: "_Alloc", xp: Any, interior: Any,
                   refill: Any) -> Kernel:
    """The convolution as CorrMM lays it out: patches of a chunk of items as ``(m, CK, P)``, one
    stacked GEMM ``W2 @ cols`` writing ``(m, F, P)`` straight into the output."""
    nb = int(max(1, min(N, CHUNK_BYTES // max(CK * P * dtype.itemsize, 1))))
    chunks = [(n0, min(N, n0 + nb)) for n0 in range(0, N, nb)]
    cols = alloc.scratch((nb, CK, P), dtype)
    alloc.gemm((F, CK), (CK, P), dtype, N)

    def patch_view(src: np.ndarray, n0: int, m: int) -> np.ndarray:
        st = src.strides
        shape = (m, Cin) + K + O
        strides = (st[0], st[1]) + tuple(st[2 + i] for i in range(nd)) + \
            tuple(st[2 + i] * stride[i] for i in range(nd))
        return _strided(src, n0, shape, strides)

    targets = {n1 - n0: cols[:n1 - n0].reshape((n1 - n0, Cin) + K + O) for n0, n1 in chunks}
    views_of = _patch_views(chunks, patch_view, xp, interior, refill)

    def conv(x: np.ndarray) -> np.ndarray:
        o = get()
        for (n0, n1), view in zip(chunks, views_of(x)):
            m = n1 - n0
            np.copyto(targets[m], view)
            o3 = o[n0:n1].reshape(m, F, P)
            if m == 1:
                np.dot(W2, cols[0], o3[0])  # the same BLAS call as the stacked matmul, less fixed cost
            else:
                np.matmul(W2, cols[:m], o3)
            if b is not None:
                np.add(o3, bcol, o3)
        return act(o)
    return conv


def _pool(layer: Any, ins: List[np.ndarray], alloc: _Alloc) -> Optional[Kernel]:
    x = ins[0]
    nd = layer._n
    if layer.mode != "max" or not layer.ignore_border or x.dtype.kind != "f" or x.ndim != nd + 2 or x.size == 0:
        return None
    from .shapes.pool import theano_pool_length

    ws, st, pad = tuple(layer.pool_size), tuple(layer.stride), tuple(layer.pad)
    S = x.shape[2:]
    O = tuple(theano_pool_length(S[i], ws[i], st[i], pad[i], True) for i in range(nd))
    if any(o <= 0 for o in O) or any(p >= w for p, w in zip(pad, ws)):
        return None
    out = _Out(x.shape[:2] + O, x.dtype)
    get = alloc.output(out.shape, out.dtype)
    any_pad = any(pad)
    if any_pad:
        need = tuple(max(S[i] + 2 * pad[i], (O[i] - 1) * st[i] + ws[i]) for i in range(nd))
        xp, interior, refill = alloc.padded(x.shape[:2] + need, x.dtype,
                                            [(pad[i], need[i] - S[i] - pad[i]) for i in range(nd)], -np.inf)
    if nd == 1 and O[0] == 1 and ws[0] >= 8:
        # one window over the whole (used part of the) axis: a single max reduction
        w = ws[0]

        def pool_all(x: np.ndarray) -> np.ndarray:
            o = get()
            if any_pad:
                refill()
                np.copyto(interior, x)
                x = xp
            np.maximum.reduce(x[..., :w], axis=-1, keepdims=True, out=o)
            return o
        return pool_all
    if not any_pad and 2 <= math.prod(ws) <= 4:
        # a small window (2x2 at most): the maximum of its strided offset views, one call per
        # offset after the first pair and no intermediate (max is exact: any order gives the
        # same values); the views are kept while the input is the same array (an internal
        # buffer is, on every call)
        import itertools

        offsets = [(slice(None), slice(None)) + tuple(slice(k[i], k[i] + (O[i] - 1) * st[i] + 1, st[i])
                                                      for i in range(nd))
                   for k in itertools.product(*(range(w) for w in ws))]
        memo: List[Any] = [None, None]
        maximum = np.maximum

        def pool_small(x: np.ndarray) -> np.ndarray:
            if x is memo[0]:
                views = memo[1]
            else:
                views = [x[k] for k in offsets]
                memo[0], memo[1] = x, views
            o = get()
            maximum(views[0], views[1], out=o)
            for v in views[2:]:
                maximum(o, v, out=o)
            return o
        return pool_small
    # max is exact: reduce axis by axis (last first), each window offset one ufunc call
    stages = []
    shape = xp.shape if any_pad else x.shape
    for i in reversed(range(nd)):
        axis = 2 + i
        new_shape = shape[:axis] + (O[i],) + shape[axis + 1:]
        buf = get if i == 0 else None
        stages.append((axis, i, new_shape, buf))
        shape = new_shape
    scratch = {}
    for axis, i, new_shape, buf in stages:
        if buf is None:
            scratch[i] = alloc.scratch(new_shape, x.dtype)

    def pool(x: np.ndarray) -> np.ndarray:
        if any_pad:
            refill()
            np.copyto(interior, x)
            x = xp
        acc = x
        for axis, i, new_shape, buf in stages:
            r = buf() if buf is not None else scratch[i]
            pre = (slice(None),) * axis
            span = (O[i] - 1) * st[i] + 1
            np.copyto(r, acc[pre + (slice(0, span, st[i]),)])
            for k in range(1, ws[i]):
                np.maximum(r, acc[pre + (slice(k, k + span, st[i]),)], out=r)
            acc = r
        return acc
    return pool


def _batchnorm(layer: Any, ins: List[np.ndarray], alloc: _Alloc) -> Optional[Kernel]:
    x = ins[0]
    params = [layer.mean, layer.inv_std] + [p for p in (layer.gamma, layer.beta) if p is not None]
    if x.dtype.kind != "f" or any(p.value.dtype != x.dtype for p in params) or x.ndim != len(layer.input_shape):
        return None
    if tuple(s for a, s in enumerate(x.shape) if a not in layer.axes) != layer.mean.value.shape:
        return None
    out = _Out(x.shape, x.dtype)
    mean = layer._broadcast(layer.mean.value, x.ndim)
    inv_std = layer._broadcast(layer.inv_std.value, x.ndim)
    gamma = None if layer.gamma is None else layer._broadcast(layer.gamma.value, x.ndim)
    beta = None if layer.beta is None else layer._broadcast(layer.beta.value, x.ndim)
    get = (lambda: None) if alloc.inplace else alloc.output(out.shape, out.dtype)
    inplace = alloc.inplace

    def batchnorm(x: np.ndarray) -> np.ndarray:
        # Theano's order, ((x - mean) * gamma) * inv_std + beta: the same bits as get_output_for
        o = x if inplace else get()
        np.subtract(x, mean, out=o)
        if gamma is not None:
            np.multiply(o, gamma, out=o)
        np.multiply(o, inv_std, out=o)
        if beta is not None:
            np.add(o, beta, out=o)
        return o
    return batchnorm


def _nonlinearity(layer: Any, ins: List[np.ndarray], alloc: _Alloc) -> Optional[Kernel]:
    x = ins[0]
    inplace = _inplace_activation(layer.nonlinearity, x.dtype, x.shape)
    if inplace is None:
        return None
    out = _Out(x.shape, x.dtype)
    get = (lambda: None) if alloc.inplace else alloc.output(out.shape, out.dtype)
    inplace_input = alloc.inplace
    from . import nonlinearities as nl

    if layer.nonlinearity is nl.rectify:
        zero = np.zeros((), x.dtype)

        def relu(x: np.ndarray) -> np.ndarray:
            o = x if inplace_input else get()
            np.maximum(x, zero, out=o)
            return o
        return relu

    def nonlinearity(x: np.ndarray) -> np.ndarray:
        if inplace_input:
            o = x
        else:
            o = get()
            np.copyto(o, x)
        inplace(o)
        return o
    return nonlinearity


def _elemwise_sum(layer: Any, ins: List[np.ndarray], alloc: _Alloc) -> Optional[Kernel]:
    if (getattr(layer, "cropping", None) is not None or any(c != 1 for c in layer.coeffs)
            or any(a.shape != ins[0].shape or a.dtype != ins[0].dtype for a in ins) or ins[0].dtype.kind != "f"):
        return None
    out = _Out(ins[0].shape, ins[0].dtype)
    inplace = alloc.inplace and not any(a is ins[0] for a in ins[1:])
    get = (lambda: None) if inplace else alloc.output(out.shape, out.dtype)

    def elemwise_sum(*xs: np.ndarray) -> np.ndarray:
        o = xs[0] if inplace else get()
        np.add(xs[0], xs[1], out=o)  # left to right, as Theano's n-ary add
        for a in xs[2:]:
            np.add(o, a, out=o)
        return o
    if len(ins) < 2:
        return None
    return elemwise_sum


def _concat(layer: Any, ins: List[np.ndarray], alloc: _Alloc) -> Optional[Kernel]:
    first = ins[0]
    if getattr(layer, "cropping", None) is not None or any(a.dtype != first.dtype or a.ndim != first.ndim for a in ins):
        return None
    if not -first.ndim <= layer.axis < first.ndim:
        return None
    axis = layer.axis % first.ndim
    if any(a.shape[:axis] + a.shape[axis + 1:] != first.shape[:axis] + first.shape[axis + 1:] for a in ins):
        return None
    out = _Out(first.shape[:axis] + (sum(a.shape[axis] for a in ins),) + first.shape[axis + 1:], first.dtype)
    get = alloc.output(out.shape, out.dtype)
    bounds = np.cumsum([0] + [a.shape[axis] for a in ins])
    slices = [(slice(None),) * axis + (slice(int(lo), int(hi)),) for lo, hi in zip(bounds[:-1], bounds[1:])]
    if bounds[-1] != out.shape[axis]:
        return None

    def concat(*xs: np.ndarray) -> np.ndarray:
        o = get()
        for sl, a in zip(slices, xs):
            o[sl] = a
        return o
    return concat


def _global_pool(layer: Any, ins: List[np.ndarray], alloc: _Alloc) -> Optional[Kernel]:
    x = ins[0]
    if _qualified(layer.pool_function) != ("layers_np.pool", "mean") or x.dtype.kind != "f" or x.ndim < 3:
        return None
    out = _Out(x.shape[:2], x.dtype)
    N, Cc = x.shape[:2]
    n = int(np.prod(x.shape[2:], dtype=np.int64))
    if n == 0 or N * Cc == 0:
        return None
    get = alloc.output(out.shape, out.dtype)
    s64 = alloc.scratch((N, Cc), np.float64)
    count = np.asarray(n, dtype=x.dtype)

    def global_mean(x: np.ndarray) -> np.ndarray:
        # Theano's mean: the sum accumulated in float64, rounded, divided by n
        o = get()
        np.sum(x.reshape(N, Cc, n), axis=2, dtype=np.float64, out=s64)
        np.copyto(o, s64, casting="same_kind")
        np.divide(o, count, out=o)
        return o
    return global_mean


def _embedding(layer: Any, ins: List[np.ndarray], alloc: _Alloc) -> Optional[Kernel]:
    x = ins[0]
    W = layer.W.value
    if x.dtype.kind not in "iu" or x.size == 0:
        return None
    out = _Out(x.shape + (W.shape[1],), W.dtype)
    get = alloc.output(out.shape, out.dtype)
    fallback = layer.get_output_for

    def embedding(x: np.ndarray) -> np.ndarray:
        o = get()
        try:  # mode="raise" accepts -n <= index < n, as Theano's advanced indexing
            np.take(W, x, axis=0, out=o, mode="raise")
        except IndexError:
            return fallback(x)  # raises the layer's own message
        return o
    return embedding


def _gate_activation(fn: Any, dt: np.dtype) -> Tuple[bool, Optional[Callable[[np.ndarray], None]]]:
    """(negated, in-place activation) of one recurrent gate.

    A sigmoid gate's pre-activations are negated at plan time (its rows of the input and
    hidden weights, its bias and peephole weights: exact, negation commutes with every
    rounding of the GEMM and the additions), so its sigmoid is ``1 / (1 + exp(.))`` in three
    in-place calls: the same bits as :func:`_inplace_activation`'s four, one numpy call fewer
    per gate block and step.
    """
    from . import nonlinearities as nl

    if fn is nl.sigmoid and dt.kind == "f":
        one = np.ones((), dt)

        exp, add, reciprocal = np.exp, np.add, np.reciprocal

        def negated_sigmoid(x: np.ndarray) -> None:
            exp(x, x)  # exp(-a) (may overflow to inf: sigmoid 0; the caller ignores the warning)
            add(x, one, x)
            reciprocal(x, x)
        return True, negated_sigmoid
    return False, _inplace_activation(fn, dt)


def _activation_into(fn: Any, dt: np.dtype) -> Optional[Callable[[np.ndarray, np.ndarray], np.ndarray]]:
    """``(src, dst) -> fn(src)`` written into ``dst`` (or ``src`` itself for the identity), or None."""
    from . import nonlinearities as nl

    if fn is nl.identity or fn is nl.linear:
        return lambda src, dst: src
    if fn is nl.tanh and dt.kind == "f":
        tanh = np.tanh

        def tanh_into(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
            tanh(src, dst)
            return dst
        return tanh_into
    inplace = _inplace_activation(fn, dt)
    if inplace is None:
        return None

    def into(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
        np.copyto(dst, src)
        inplace(dst)
        return dst
    return into


def _recurrent_common(layer: Any, x: np.ndarray, gate_fns: Sequence[Any], perm: Sequence[int],
                      alloc: _Alloc) -> Optional[Tuple[Any, ...]]:
    """Shared set-up of the LSTM/GRU kernels, or None when the generic loop must run.

    The kernels work in the transposed layout, states ``(units, batch)`` and gates
    ``(k*units, batch)``: every gate is then a contiguous block, where numpy's SIMD
    transcendentals run (on a strided ``(batch, units)`` column block they fall back to a
    scalar loop). All steps' input projections are one GEMM, ``W_in^T x^T``. ``gate_fns``
    are the gates' nonlinearities in the kernel's row order, ``perm`` the gate (in Lasagne's
    stacking order) each row block holds; sigmoid blocks are negated (:func:`_gate_activation`).

    Returns ``(gates, dt, batch, steps, n, W_hidT, h0, project, seq, hs, out)``: ``gates`` the
    (negated, activation) pair per block, ``seq`` per processed step ``(input projection view,
    previous state, state to write)`` and ``hs`` the ``(steps, units, batch)`` buffer the
    states are written to (None when only the final state is returned: then the state
    buffer ``seq[-1][2]`` holds it).
    """
    W_in, W_hid, b = layer._stacked()
    dt = W_in.dtype
    gates = [_gate_activation(f, dt) for f in gate_fns]
    k = len(perm)
    if (x.dtype != dt or dt.kind != "f" or any(a is None for _, a in gates) or b.dtype != dt
            or layer.hid_init.value.dtype != dt or x.ndim != len(layer.input_shape)
            or x.shape[2:] != tuple(layer.input_shape[2:]) or math.prod(x.shape[2:]) != W_in.shape[0]):
        return None
    batch, steps = x.shape[:2]
    if batch == 0 or steps == 0:
        return None
    n = layer.num_units
    out = _Out((batch, n) if layer.only_return_final else (batch, steps, n), dt)
    Kin = W_in.shape[0]
    rows = np.concatenate([np.arange(g * n, (g + 1) * n) for g in perm])
    W_inT = np.ascontiguousarray(W_in.T[rows])      # (k n, K), rows in the kernel's gate order
    W_hidT = np.ascontiguousarray(W_hid.T[rows])    # (k n, n)
    bcol = np.ascontiguousarray(b[rows].reshape(k * n, 1))
    for blk, (neg, _) in enumerate(gates):
        if neg:
            for a in (W_inT, W_hidT, bcol):
                np.negative(a[blk * n:(blk + 1) * n], out=a[blk * n:(blk + 1) * n])
    xT = alloc.scratch((Kin, steps, batch), dt)
    xin = alloc.scratch((k * n, steps, batch), dt)
    h0 = np.ascontiguousarray(np.broadcast_to(layer.hid_init.value, (batch, n)).T)

    def project(x: np.ndarray) -> None:
        np.copyto(xT, x.reshape(batch, steps, Kin).transpose(2, 1, 0))
        xin2 = xin.reshape(k * n, steps * batch)
        np.matmul(W_inT, xT.reshape(Kin, steps * batch), out=xin2)
        np.add(xin2, bcol, out=xin2)
    order = range(steps - 1, -1, -1) if layer.backwards else range(steps)
    hs = None if layer.only_return_final else alloc.scratch((steps, n, batch), dt)
    hid = alloc.scratch((n, batch), dt) if hs is None else None
    seq = []
    prev = h0
    for t in order:
        nxt = hid if hs is None else hs[t]
        seq.append((xin[:, t], prev, nxt))
        prev = nxt
    alloc.gemm((k * n, Kin), (Kin, steps * batch), dt)
    alloc.gemm((k * n, n), (n, batch), dt, steps)
    return gates, dt, batch, steps, n, W_hidT, h0, project, seq, hs, out


def _finish_states(o: np.ndarray, hs: Optional[np.ndarray], last: np.ndarray) -> np.ndarray:
    """Copy the states (``(steps, units, batch)`` or the last ``(units, batch)``) into ``o``."""
    if hs is None:
        np.copyto(o.T, last)
    else:
        np.copyto(o, hs.transpose(2, 0, 1))
    return o


def _lstm(layer: Any, ins: List[np.ndarray], alloc: _Alloc) -> Optional[Kernel]:
    if len(ins) > 1:
        return None  # a mask or states given as layers: the generic step loop
    fn_i, fn_f, fn_c, fn_o = (layer.nonlinearity_ingate, layer.nonlinearity_forgetgate, layer.nonlinearity_cell,
                              layer.nonlinearity_outgate)
    # rows in the order i, f, o, c: gates sharing a nonlinearity are one contiguous block
    common = _recurrent_common(layer, ins[0], [fn_i, fn_f, fn_o, fn_c], [0, 1, 3, 2], alloc)
    if common is None or layer.cell_init.value.dtype != common[1]:
        return None
    gates, dt, batch, steps, n, W_hidT, h0, project, seq, hs, out = common
    f_h = _activation_into(layer.nonlinearity, dt)
    peep = [layer.W_cell_to_ingate, layer.W_cell_to_forgetgate, layer.W_cell_to_outgate] if layer.peepholes else []
    if f_h is None or any(p.value.dtype != dt for p in peep):
        return None
    (neg_i, act_i), (neg_f, act_f), (neg_o, act_o), (_, act_c) = gates
    outgate_first = layer.semantics == "0.1"  # layers_np.versions: o = s_o(g_o) + c_t * w_co
    peep_if = w_co_pre = w_co_post = None
    if peep:
        w_ci, w_cf, w_co = (p.value.reshape(n, 1) for p in peep)
        # a negated gate gets its peephole term negated too (exact)
        peep_if = np.stack([-w_ci if neg_i else w_ci, -w_cf if neg_f else w_cf])  # (2, n, 1)
        if outgate_first:
            w_co_post = w_co
        else:
            w_co_pre = -w_co if neg_o else w_co
    c0 = np.ascontiguousarray(np.broadcast_to(layer.cell_init.value, (batch, n)).T)
    g = alloc.scratch((4 * n, batch), dt)
    cell = alloc.scratch((n, batch), dt)
    tmp = alloc.scratch((n, batch), dt)
    tmp2 = alloc.scratch((2, n, batch), dt) if peep_if is not None else None
    tmp2_2d = None if tmp2 is None else tmp2.reshape(2 * n, batch)
    get = alloc.output(out.shape, out.dtype)
    g_i, g_f, g_o, g_c = (g[j * n:(j + 1) * n] for j in range(4))
    g_if = g[:2 * n]
    # the gate activations applied before the cell update: one call per run of equal nonlinearities
    early: List[Tuple[Callable, np.ndarray]] = []
    late_o = w_co_pre is not None  # the output peephole needs the new cell first
    if fn_i is fn_f and (fn_o is fn_i and not late_o):
        early.append((act_i, g[:3 * n]))
    else:
        early.extend([(act_i, g_if)] if fn_i is fn_f else [(act_i, g_i), (act_f, g_f)])
        if not late_o:
            early.append((act_o, g_o))
    early.append((act_c, g_c))

    def lstm(x: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore"):  # sigmoid's exp(-x) may overflow to inf (gate 0)
            return run(x)

    def run(x: np.ndarray) -> np.ndarray:
        # ufuncs as locals, outputs passed positionally, np.dot for the 2-D GEMM (the same BLAS
        # call as np.matmul, about half its fixed cost on these small products): the loop runs
        # ~18 numpy calls per step, where each call's Python overhead is the time
        dot, add, mul = np.dot, np.add, np.multiply
        project(x)
        np.copyto(cell, c0)
        hn = h0
        for a, hp, hn in seq:
            dot(W_hidT, hp, g)
            add(g, a, g)
            if peep_if is not None:
                mul(cell, peep_if, tmp2)
                add(g_if, tmp2_2d, g_if)
            for act, block in early:
                act(block)
            mul(g_f, cell, cell)  # c_t = f * c_{t-1} + i * s_c(g_c)
            mul(g_i, g_c, g_c)
            add(cell, g_c, cell)
            if late_o:  # the output peephole sees the new cell
                mul(cell, w_co_pre, tmp)
                add(g_o, tmp, g_o)
                act_o(g_o)
            elif w_co_post is not None:  # Lasagne 0.1: added after the nonlinearity
                mul(cell, w_co_post, tmp)
                add(g_o, tmp, g_o)
            mul(g_o, f_h(cell, tmp), hn)
        return _finish_states(get(), hs, hn)
    return lstm


def _gru(layer: Any, ins: List[np.ndarray], alloc: _Alloc) -> Optional[Kernel]:
    if len(ins) > 1:
        return None
    fn_r, fn_u, fn_c = layer.nonlinearity_resetgate, layer.nonlinearity_updategate, layer.nonlinearity_hid
    common = _recurrent_common(layer, ins[0], [fn_r, fn_u, fn_c], [0, 1, 2], alloc)
    if common is None:
        return None
    gates, dt, batch, steps, n, W_hidT, h0, project, seq, hs, out = common
    (_, act_r), (_, act_u), (_, act_c) = gates
    hg = alloc.scratch((3 * n, batch), dt)
    c = alloc.scratch((n, batch), dt)
    t1 = alloc.scratch((n, batch), dt)
    one = np.ones((), dt)
    get = alloc.output(out.shape, out.dtype)
    hg_ru, hg_c = hg[:2 * n], hg[2 * n:]
    r, u = hg[:n], hg[n:2 * n]
    acts = [(act_r, hg_ru)] if fn_r is fn_u else [(act_r, r), (act_u, u)]
    seq_gru = [(a[:2 * n], a[2 * n:], hp, hn) for a, hp, hn in seq]

    def gru(x: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore"):  # sigmoid's exp(-x) may overflow to inf (gate 0)
            return run(x)

    def run(x: np.ndarray) -> np.ndarray:
        dot, add, mul = np.dot, np.add, np.multiply  # see _lstm
        project(x)
        hn = h0
        for a_ru, a_c, hp, hn in seq_gru:
            dot(W_hidT, hp, hg)
            add(hg_ru, a_ru, hg_ru)
            for act, block in acts:
                act(block)
            mul(r, hg_c, c)  # c_t = s_c(a_c + r * (h W_c))
            add(a_c, c, c)
            act_c(c)
            np.subtract(one, u, t1)  # h_t = (1 - u) * h_{t-1} + u * c_t
            mul(t1, hp, t1)
            mul(u, c, c)
            add(t1, c, hn)
        return _finish_states(get(), hs, hn)
    return gru


def _flatten(layer: Any, ins: List[np.ndarray], alloc: _Alloc) -> Optional[Kernel]:
    x = ins[0]
    k = layer.outdim - 1
    if layer.outdim < 1 or x.ndim < layer.outdim:
        return None
    shape = x.shape[:k] + (math.prod(x.shape[k:]),)
    alloc.view = True
    return lambda x: x.reshape(shape)


def _reshape(layer: Any, ins: List[np.ndarray], alloc: _Alloc) -> Optional[Kernel]:
    x = ins[0]
    target = []
    for s in layer.shape:
        if isinstance(s, list):
            if s[0] >= x.ndim:
                return None
            target.append(x.shape[s[0]])
        else:
            target.append(int(s))
    if -1 in target:
        known = math.prod(t for t in target if t != -1)
        if known <= 0 or x.size % known:
            return None
        target[target.index(-1)] = x.size // known
    if math.prod(target) != x.size:
        return None
    shape = tuple(target)
    alloc.view = True
    return lambda x: x.reshape(shape)


def _dimshuffle(layer: Any, ins: List[np.ndarray], alloc: _Alloc) -> Optional[Kernel]:
    x = ins[0]
    kept = [p for p in layer.pattern if p != "x"]
    if any(p >= x.ndim for p in kept):
        return None
    dropped = [i for i in range(x.ndim) if i not in kept]
    if any(x.shape[i] != 1 for i in dropped):
        return None
    perm = tuple(kept + dropped)
    shape = tuple(1 if p == "x" else x.shape[p] for p in layer.pattern)
    alloc.view = True
    memo: List[Any] = [None, None]

    def dimshuffle(x: np.ndarray) -> np.ndarray:
        # the same view object while the input is the same array (an internal buffer is, on
        # every call): a convolution reading it keeps its patch views (memoised on identity)
        if x is not memo[0]:
            memo[0], memo[1] = x, x.transpose(perm).reshape(shape)
        return memo[1]
    return dimshuffle


def _qualified(obj: Any) -> Tuple[Optional[str], Optional[str]]:
    """``(module, qualified name)`` of a class or function (None, None for anything else)."""
    return getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)


#: Kernel builders by exact layer class, named by ``(module, qualified name)``: a subclass (a
#: user's class, another module) may change the computation and runs the generic path. Names,
#: not the class objects, so this module imports no layer module (they import ``base``, which
#: runs this module's runtimes: no import cycle).
_BUILDERS: Dict[Tuple[Optional[str], Optional[str]], Callable[..., Optional[Kernel]]] = {
    ("layers_np.dense", "DenseLayer"): _dense,
    **{("layers_np.conv", f"Conv{n}DLayer"): _conv for n in (1, 2, 3)},
    **{("layers_np.pool", f"{kind}{n}DLayer"): _pool for n in (1, 2, 3) for kind in ("Pool", "MaxPool")},
    ("layers_np.pool", "GlobalPoolLayer"): _global_pool,
    ("layers_np.normalization", "BatchNormLayer"): _batchnorm,
    ("layers_np.special", "NonlinearityLayer"): _nonlinearity,
    ("layers_np.merge", "ElemwiseSumLayer"): _elemwise_sum,
    ("layers_np.merge", "ConcatLayer"): _concat,
    ("layers_np.embedding", "EmbeddingLayer"): _embedding,
    ("layers_np.recurrent", "LSTMLayer"): _lstm,
    ("layers_np.recurrent", "GRULayer"): _gru,
    ("layers_np.shape", "FlattenLayer"): _flatten,
    ("layers_np.shape", "ReshapeLayer"): _reshape,
    ("layers_np.shape", "DimshuffleLayer"): _dimshuffle,
    # Lasagne's backend names compute the same arithmetic with their own defaults
    ("layers_np.dnn", "Conv2DDNNLayer"): _conv, ("layers_np.dnn", "Conv3DDNNLayer"): _conv,
    **{("layers_np.dnn", f"{kind}{n}DDNNLayer"): _pool for n in (2, 3) for kind in ("Pool", "MaxPool")},
    ("layers_np.dnn", "BatchNormDNNLayer"): _batchnorm, ("layers_np.corrmm", "Conv2DMMLayer"): _conv,
    # bc01 cuda-convnet convolutions are plain ones (c01b ones take the generic path)
    ("layers_np.cuda_convnet", "Conv2DCCLayer"): lambda layer, ins, alloc: _conv(layer, ins, alloc)
    if layer.dimshuffle else None,
}

#: The default ``convolution`` of each convolution class (a user's function runs the generic path).
_CONV_DEFAULTS = {("layers_np.conv", "Conv1DLayer"): ("layers_np.conv", "conv1d_mc0"),
                  ("layers_np.conv", "Conv2DLayer"): ("layers_np.conv", "conv2d"),
                  ("layers_np.conv", "Conv3DLayer"): ("layers_np.conv", "conv3d")}


# ---------------------------------------------------------------------------
# the runtime
# ---------------------------------------------------------------------------
#: bumped by :func:`layers_changed`; a runtime built under another value is rebuilt
_EPOCH = [0]


def layers_changed() -> None:
    """A layer's computation changed in place (Lasagne's ``batch_norm``/``prelu`` remove a bias or
    a nonlinearity after construction): every runtime is rebuilt on its next call."""
    _EPOCH[0] += 1


class Runtime:
    """A flat list of kernel calls for one input signature (see the module docstring)."""

    __slots__ = ("steps", "n_slots", "input_slots", "target_slots", "params", "copy_targets", "kernels",
                 "nbytes", "epoch")

    def valid(self) -> bool:
        """False when a parameter's value was replaced, or a layer changed in place (see
        :func:`layers_changed`), since the runtime was built."""
        if self.epoch != _EPOCH[0]:
            return False
        for p, v in self.params:
            if p.value is not v:
                return False
        return True

    def run(self, arrays: Sequence[np.ndarray]) -> List[np.ndarray]:
        vals: List[Any] = [None] * self.n_slots
        for slot, a in zip(self.input_slots, arrays):
            vals[slot] = a
        for fn, ins, o, one in self.steps:
            if one >= 0:  # one input (most layers): no argument list to build
                vals[o] = fn(vals[one])
            else:
                vals[o] = fn(*[vals[i] for i in ins])
        return self.collect(vals)

    def collect(self, vals: List[Any]) -> List[Any]:
        """The requested layers' values, copied where the caller would not own them."""
        result = []
        for slot, copy in zip(self.target_slots, self.copy_targets):
            v = vals[slot]
            if copy == _CHECK:  # a generic layer's value: copy unless it is a new array of its own
                copy = isinstance(v, np.ndarray) and (v.base is not None
                                                      or any(v is w for i, w in enumerate(vals) if i != slot))
            result.append(np.array(v, copy=True) if copy else v)
        return result


def _generic(layer: Any, kind: str, kwargs: Dict[str, Any]) -> Kernel:
    """A kernel running ``get_output_for`` exactly as :func:`layers_np.get_output` always did."""
    if kind == "merge":
        return lambda *xs: layer.get_output_for(list(xs), **kwargs)
    if kind == "extra":
        mask = [e is not None for e in layer.extra_input_layers]

        def with_extra(x: np.ndarray, *extras: np.ndarray) -> np.ndarray:
            it = iter(extras)
            return layer.get_output_for(x, extra_inputs=[next(it) if m else None for m in mask], **kwargs)
        return with_extra
    return lambda x: layer.get_output_for(x, **kwargs)


def _sources(layer: Any, kind: int, MERGE: int, EXTRA: int) -> List[Any]:
    """The layers whose values ``layer``'s kernel reads, in its argument order."""
    if kind == MERGE:
        return list(layer.input_layers)
    if kind == EXTRA:
        return [layer.input_layer] + [e for e in layer.extra_input_layers if e is not None]
    return [layer.input_layer]


def build_runtime(steps: Sequence[Tuple[Any, int]], kinds: Tuple[int, int, int, int], targets: Sequence[Any],
                  given_layers: Sequence[Any], arrays: Sequence[np.ndarray],
                  kwargs: Dict[str, Any]) -> Tuple[Runtime, List[Any]]:
    """Build the runtime of one evaluation order while evaluating it once; returns it and the outputs.

    ``steps`` is :func:`layers_np.base.get_output`'s ``(layer, kind)`` list, ``kinds`` the
    (input, merge, extra, single) codes, ``given_layers`` the layers whose values the caller
    gives as ``arrays`` (checked), in the order :meth:`Runtime.run` receives them. Each layer
    is evaluated once: a planned kernel is built from the actual input values and called, or
    the layer's ``get_output_for`` is (so its errors are the ones the caller sees).
    """
    _blas_once()
    INPUT, MERGE, EXTRA, SINGLE = kinds
    slot: Dict[int, int] = {}
    vals: List[Any] = []
    rt = Runtime()
    rt.epoch = _EPOCH[0]
    rt.steps = []
    rt.params = []
    rt.kernels = []
    target_ids = {id(t) for t in targets}
    given = {id(l) for l in given_layers}
    for l, a in zip(given_layers, arrays):
        slot[id(l)] = len(vals)
        vals.append(a)
    owned_fresh: Dict[int, bool] = {}
    own_buffer: Dict[int, bool] = {}  # the layer's value is a buffer of its planned kernel
    readers: Dict[int, int] = {}
    last_read: Dict[int, float] = {}  # step of the last kernel reading each value
    step = 0
    for layer, kind in steps:
        if id(layer) not in given:
            for s in _sources(layer, kind, MERGE, EXTRA):
                readers[id(s)] = readers.get(id(s), 0) + 1
                last_read[id(s)] = step
            step += 1
    for t in targets:  # read by the caller after the last kernel
        last_read[id(t)] = float("inf")
    pool = _Pool(last_read)
    blocks_of: Dict[int, List[List[Any]]] = {}  # pool blocks each value may live in
    step = -1
    if True:  # (same indentation as the runtime's loop it mirrors)
        for layer, kind in steps:
            lid = id(layer)
            if lid in given:
                continue
            step += 1
            srcs = _sources(layer, kind, MERGE, EXTRA)
            k = "merge" if kind == MERGE else ("extra" if kind == EXTRA else "single")
            ins = [slot[id(s)] for s in srcs]
            inputs = [vals[i] for i in ins]
            fresh = lid in target_ids
            first = id(srcs[0])
            alloc = _Alloc(fresh, inplace=own_buffer.get(first, False) and readers.get(first, 0) == 1
                           and first not in target_ids, pool=pool, step=step)
            kernel = None
            builder = _BUILDERS.get(_qualified(type(layer)))
            # an instance whose get_output_for was replaced keeps it
            if builder is not None and "get_output_for" not in layer.__dict__ and \
                    all(isinstance(v, np.ndarray) for v in inputs):
                try:
                    kernel = builder(layer, inputs, alloc)
                except Exception:  # an unusual configuration: the generic path handles (or reports) it
                    kernel = None
            if kernel is None:
                alloc = _Alloc(fresh)
                kernel = _generic(layer, k, kwargs)
                owned_fresh[lid] = False
                rt.kernels.append((layer, "generic", []))
                # its value may be a view of any of its inputs: it keeps their blocks alive
                blocks_of[lid] = [b for s in srcs for b in blocks_of.get(id(s), [])]
            else:
                owned_fresh[lid] = fresh and not alloc.view
                own_buffer[lid] = not fresh and not alloc.view
                rt.params.extend((p, p.value) for p in layer.params)
                rt.kernels.append((layer, "planned", alloc.gemms))
                if alloc.block is not None:  # a block of its own
                    blocks_of[lid] = [alloc.block]
                elif alloc.view or alloc.inplace:  # it lives in its first input's blocks
                    blocks_of[lid] = list(blocks_of.get(first, []))
                else:  # allocated per call (a requested layer)
                    blocks_of[lid] = []
            for block in blocks_of[lid]:
                block[1].append(lid)
            value = kernel(*inputs)
            slot[lid] = len(vals)
            vals.append(value)
            rt.steps.append((kernel, ins, slot[lid], ins[0] if len(ins) == 1 else -1))
    rt.n_slots = len(vals)
    rt.input_slots = [slot[id(g)] for g in given_layers]
    rt.target_slots = [slot[id(t)] for t in targets]
    # a requested layer's value is copied unless its kernel allocated it for this call
    rt.copy_targets = [True if id(t) in given else (False if owned_fresh[id(t)] else _CHECK) for t in targets]
    rt.steps = [tuple(st) for st in rt.steps]
    rt.nbytes = pool.nbytes
    return rt, rt.collect(vals)


def thread_key() -> int:
    """The key separating runtimes (and their buffers) of different threads."""
    return threading.get_ident()
