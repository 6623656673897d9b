"""Numpy twins of Lasagne's nonlinearities and Theano's hard/ultra-fast sigmoids.

Outputs keep the input dtype. Each twin mirrors the C code PyTensor 2.8 compiles for the
op (``pytensor/scalar/math.py``, ``scalar/basic.py``, ``tensor/nnet/sigm.py``,
``tensor/special.py``), operation by operation and in the same precision:

* float32 C code calls the ``float`` overloads of ``exp``/``log1p``/``expm1``/``tanh``
  (the code is C++); the twin evaluates those in float64 and rounds once, which is the
  correctly rounded value and so within 1 ulp of glibc's float functions.
* PyTensor compiles with ``-march=native`` and GCC's default ``-ffp-contract=fast``: on
  any CPU with FMA (x86 since 2013, every ARM64) ``a*b + c`` in the fused elemwise loop is
  one fused multiply-add. The twins reproduce that rounding with :func:`_fma` where it
  changes results (leaky rectify, hard and ultra-fast sigmoid); elsewhere no product
  feeds an addition.

Measured against the compiled PyTensor ops on 400k values around every formula switch
point: rectify, the leaky rectifiers, hard and ultra-fast sigmoid and linear are
bit-identical; exp/expm1/log1p/tanh based twins are within 1-3 ulp (numpy's SIMD
``tanh``/``expm1`` and glibc's differ by that much); softmax within a few ulp.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from .record import RecordsArguments

__all__ = ["sigmoid", "softmax", "tanh", "ScaledTanH", "ScaledTanh", "rectify", "LeakyRectify",
           "leaky_rectify", "very_leaky_rectify", "elu", "SELU", "selu", "softplus", "linear",
           "identity", "hard_sigmoid", "ultra_fast_sigmoid"]


def _float_array(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x)
    if x.dtype.kind != "f":
        x = x.astype(np.float64)
    return x


def _in_double(fn: Callable[[np.ndarray], np.ndarray], x: np.ndarray) -> np.ndarray:
    """``fn`` evaluated in float64 and rounded once to the input dtype."""
    x = _float_array(x)
    if x.dtype == np.float64:
        return fn(x)
    with np.errstate(over="ignore"):
        return fn(x.astype(np.float64)).astype(x.dtype)


def _const(value: float, dtype: np.dtype) -> np.ndarray:
    """A hyperparameter as Theano's constant of the computation dtype (floatX)."""
    return np.asarray(value, dtype=dtype)


def _fma(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """``a * b + c`` rounded once, like the C ``fma`` GCC contracts ``a*b + c`` into.

    float32: the product of two floats is exact in float64, the sum is rounded to
    float64 and then to float32 (a double rounding that can differ from a true fma only
    on exact float64 ties). float64: Dekker's exact product and a two-sum.
    """
    a, b, c = np.asarray(a), np.asarray(b), np.asarray(c)
    dtype = np.result_type(a, b, c)
    if dtype != np.float64:
        wide = a.astype(np.float64) * b.astype(np.float64) + c.astype(np.float64)
        return wide.astype(dtype)
    with np.errstate(all="ignore"):
        p = a * b
        split = 134217729.0  # 2**27 + 1, Veltkamp's splitter
        ah = split * a
        ah = ah - (ah - a)
        al = a - ah
        bh = split * b
        bh = bh - (bh - b)
        bl = b - bh
        err = ((ah * bh - p) + ah * bl + al * bh) + al * bl  # a*b = p + err exactly
        s = p + c
        bb = s - p
        t = (p - (s - bb)) + (c - bb)  # p + c = s + t exactly
        out = s + (t + err)
        # Overflowing splits or non-finite operands: the plain expression is the answer.
        return np.where(np.isfinite(out), out, p + c)


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Logistic sigmoid, PyTensor's C formula without clamping.

    Notes
    -----
    ``1 / (1 + exp(-x))`` in the input precision: in float32 ``exp(-x)`` overflows to
    inf for ``x < -88.72`` and the result is exactly 0, as in Theano.
    """
    x = _float_array(x)
    with np.errstate(over="ignore"):
        if x.dtype == np.float64:
            return 1.0 / (1.0 + np.exp(-x))
        one = _const(1.0, x.dtype)
        e = _in_double(np.exp, -x)
        return one / (one + e)


def softmax(x: np.ndarray) -> np.ndarray:
    """Softmax over the last axis, PyTensor's ``Softmax(axis=-1)`` C code.

    Notes
    -----
    Per row: ``e = exp(x - max(x))`` (in the input dtype), ``s = e_0 + e_1 + ...``
    accumulated left to right in the input dtype, ``out = e * (1 / s)`` with the
    reciprocal rounded to the input dtype. A 1-D input is one row, but PyTensor then
    accumulates ``s`` and multiplies in double. Theano's original op accepted 2-D input
    only (row-wise); Lasagne's ``softmax`` is meant for that case.
    """
    x = _float_array(x)
    if x.ndim == 0:
        raise ValueError(f"softmax: expected an array of rank >= 1, got a scalar of dtype {x.dtype}")
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        e = _in_double(np.exp, x - x.max(axis=-1, keepdims=True))
        if x.ndim == 1:
            total = np.add.accumulate(e.astype(np.float64))[-1]
            return (e.astype(np.float64) * (1.0 / total)).astype(x.dtype)
        total = np.add.accumulate(e, axis=-1)[..., -1:]
        inv = (1.0 / total.astype(np.float64)).astype(x.dtype)
        return e * inv


def tanh(x: np.ndarray) -> np.ndarray:
    """Hyperbolic tangent, ``tanh(x)``."""
    return _in_double(np.tanh, x)


class ScaledTanH(RecordsArguments):
    """Scaled hyperbolic tangent.

    Parameters
    ----------
    scale_in : float
        Scale applied to the input.
    scale_out : float
        Scale applied to the output.

    Notes
    -----
    ``scale_out * tanh(scale_in * x)``; both scales are constants of the input dtype.
    """

    def __init__(self, scale_in: float = 1, scale_out: float = 1) -> None:
        self.scale_in, self.scale_out = scale_in, scale_out

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = _float_array(x)
        return _const(self.scale_out, x.dtype) * tanh(x * _const(self.scale_in, x.dtype))


ScaledTanh = ScaledTanH


def rectify(x: np.ndarray) -> np.ndarray:
    """Theano's ``relu``: ``0.5 * (x + |x|)``.

    Notes
    -----
    Bit-identical to Theano, including ``+0.0`` for negative input and overflow to inf
    for ``x > max/2``.
    """
    x = _float_array(x)
    return _const(0.5, x.dtype) * (x + np.abs(x))


def _rectify_into(x: np.ndarray) -> np.ndarray:
    """:func:`rectify` computed in place in ``x`` (a float array the caller owns).

    The same operations in the same dtype as :func:`rectify` (``|x|``, then ``x + |x|``,
    then ``0.5 *``), so the result is bit-identical; only the temporaries are saved.
    """
    scratch = np.abs(x)
    np.add(x, scratch, out=x)
    np.multiply(x, _const(0.5, x.dtype), out=x)
    return x


def apply_owned(nonlinearity: Callable[[np.ndarray], np.ndarray], x: np.ndarray) -> np.ndarray:
    """``nonlinearity(x)`` for an array ``x`` the caller has just allocated and will not reuse.

    :func:`rectify` is then computed in place (bit-identical, no temporaries), the identity
    returns ``x``; any other nonlinearity is simply called. Callers must never pass an array
    that another layer may hold (a layer's input, a parameter).
    """
    if nonlinearity is rectify and isinstance(x, np.ndarray) and x.dtype.kind == "f" and x.flags.writeable:
        return _rectify_into(x)
    return nonlinearity(x)


def binary_owned(ufunc: np.ufunc, x: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``ufunc(x, b)`` written into ``x`` (an array the caller has just allocated, so it cannot
    share memory with ``b``) when that gives the same dtype and shape as ``ufunc(x, b)``
    (same dtypes, ``b`` broadcasting to ``x``); otherwise the ordinary ``ufunc(x, b)``.
    Bit-identical either way."""
    if (type(x) is np.ndarray and type(b) is np.ndarray and x.dtype == b.dtype and x.dtype.kind == "f"
            and x.flags.writeable):
        xs, bs = x.shape, b.shape
        nb = len(bs)
        if nb <= len(xs):
            tail = xs[len(xs) - nb:]
            if bs == tail or all(d == 1 or d == t for d, t in zip(bs, tail)):
                ufunc(x, b, out=x)
                return x
    return ufunc(x, b)


def add_owned(x: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``x + b``, in place in ``x`` when that is bit-identical (see :func:`binary_owned`)."""
    return binary_owned(np.add, x, b)


def _relu_alpha(x: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Theano's ``relu(x, alpha)`` with the coefficients already in the input dtype."""
    one, half = _const(1.0, x.dtype), _const(0.5, x.dtype)
    f1 = half * (one + alpha)
    f2 = half * (one - alpha)
    # f1*x + f2*|x|: GCC contracts the second product and the sum into one fma.
    return _fma(f2, np.abs(x), f1 * x)


class LeakyRectify(RecordsArguments):
    """Leaky rectifier, Theano's ``relu(x, leakiness)``.

    Parameters
    ----------
    leakiness : float
        Slope for negative input.

    Notes
    -----
    ``f1 * x + f2 * |x|`` with ``f1 = 0.5 * (1 + a)``, ``f2 = 0.5 * (1 - a)`` computed in
    the input dtype (Theano folds them as constants); about 1 ulp from
    ``where(x > 0, x, a * x)``, more where ``a`` is close to 1.
    """

    def __init__(self, leakiness: float = 0.01) -> None:
        self.leakiness = leakiness

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = _float_array(x)
        return _relu_alpha(x, _const(self.leakiness, x.dtype))


leaky_rectify = LeakyRectify(0.01)
very_leaky_rectify = LeakyRectify(1.0 / 3)


def elu(x: np.ndarray) -> np.ndarray:
    """Exponential linear unit.

    Notes
    -----
    ``x if x > 0 else expm1(x)``.
    """
    x = _float_array(x)
    return np.where(x > 0, x, _in_double(np.expm1, x))


class SELU(RecordsArguments):
    """Scaled exponential linear unit.

    Parameters
    ----------
    scale : float
    scale_neg : float

    Notes
    -----
    ``scale * (x if x > 0 else scale_neg * expm1(x))``, constants in the input dtype.
    """

    def __init__(self, scale: float = 1, scale_neg: float = 1) -> None:
        self.scale, self.scale_neg = scale, scale_neg

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = _float_array(x)
        neg = _const(self.scale_neg, x.dtype) * _in_double(np.expm1, x)
        return _const(self.scale, x.dtype) * np.where(x > 0, x, neg)


selu = SELU(scale=1.0507009873554805, scale_neg=1.6732632423543772)


def softplus(x: np.ndarray) -> np.ndarray:
    """``log(1 + exp(x))`` with PyTensor's piecewise C code.

    Notes
    -----
    ``exp(x)`` below -37, ``log1p(exp(x))`` below 18, ``x + exp(-x)`` below 33.3 and
    ``x`` above, the thresholds being constants of the input dtype and every function
    rounded to the input dtype (float32: ``log1pf(expf(x))``, two roundings).
    """
    x = _float_array(x)
    dt = x.dtype
    with np.errstate(over="ignore"):
        ex = _in_double(np.exp, x)
        mid = _in_double(np.log1p, ex)
        high = x + _in_double(np.exp, -x)
    return np.where(x < _const(-37.0, dt), ex,
                    np.where(x < _const(18.0, dt), mid, np.where(x < _const(33.3, dt), high, x)))


def linear(x: np.ndarray) -> np.ndarray:
    """Identity: returns ``x`` unchanged."""
    return x


identity = linear


def hard_sigmoid(x: np.ndarray) -> np.ndarray:
    """Theano's ``hard_sigmoid``.

    Notes
    -----
    ``clip(0.2 * x + 0.5, 0, 1)`` with the constants in the input dtype and the
    multiply-add fused (one rounding).
    """
    x = _float_array(x)
    dt = x.dtype
    return np.clip(_fma(x, _const(0.2, dt), _const(0.5, dt)), _const(0.0, dt), _const(1.0, dt))


def ultra_fast_sigmoid(x: np.ndarray) -> np.ndarray:
    """Theano's piecewise approximation of the sigmoid.

    Notes
    -----
    With ``h = x/2`` (in the input dtype) and ``a = |h|``::

        z = 1.5 a / (1 + a)                              if a < 1.7
            0.935409070603099 + 0.0458812946797165 (a - 1.7)   if a < 3
            0.99505475368673                             otherwise
        out = 0.5 (sign(h) z + 1)

    The C code computes ``1 + a`` in the input dtype, everything else in double, and
    rounds ``z`` and ``out`` to the input dtype; the middle branch is a fused multiply-add.
    """
    x = _float_array(x)
    dt = x.dtype
    h = (0.5 * x.astype(np.float64)).astype(dt)
    a = np.abs(h)
    den = (_const(1.0, dt) + a).astype(np.float64)
    a64 = a.astype(np.float64)
    with np.errstate(invalid="ignore"):
        z = np.where(a64 < 1.7, 1.5 * a64 / den,
                     np.where(a64 < 3, _fma(0.0458812946797165, a64 - 1.7, 0.935409070603099), 0.99505475368673))
    z = z.astype(dt).astype(np.float64)
    z = np.where(h >= 0, z, -z)
    return (0.5 * (z + 1.0)).astype(dt)
