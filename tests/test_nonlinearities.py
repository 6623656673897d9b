"""Numpy nonlinearities against the compiled PyTensor ops, at their formula switch points."""
from __future__ import annotations

import numpy as np
import pytest

from layers_np import nonlinearities as NN
from layers_theano import nonlinearities as TN
from layers_theano.backend import T, config, function

POINTS = [0.0, -37.0, 18.0, 33.3, 2.5, -2.5, 3.4, -3.4, 6.0, -6.0, 88.72, -88.72, 709.78, -709.78, 1e-3, -1e-3]


def _values(dtype):
    rng = np.random.default_rng(0)
    parts = [rng.standard_normal(500) * s for s in (1e-3, 1.0, 10.0, 300.0)]
    for p in POINTS:
        parts.append(p * (1 + rng.uniform(-1e-3, 1e-3, 50)))
        v = np.asarray(p, dtype)
        parts.append(np.array([np.nextafter(v, np.asarray(np.inf, dtype)), v, np.nextafter(v, np.asarray(-np.inf, dtype))]))
    return np.concatenate(parts).astype(dtype)


def _compiled(fn, dtype, ndim=1):
    with config.change_flags(floatX=dtype):
        v = T.tensor(dtype=dtype, shape=(None,) * ndim)
        return function([v], fn(v))


# (name, ctor args, allowed ulp): exact where the twin mirrors Theano's arithmetic
# operation by operation, a few ulp where libm (glibc) and numpy's transcendental
# kernels differ.
CASES = [("rectify", None, 0), ("leaky_rectify", None, 0), ("very_leaky_rectify", None, 0),
         ("LeakyRectify", {"leakiness": 0.3}, 0), ("hard_sigmoid", None, 1), ("ultra_fast_sigmoid", None, 0),
         ("linear", None, 0), ("identity", None, 0), ("sigmoid", None, 4), ("tanh", None, 4), ("elu", None, 2),
         ("selu", None, 4), ("SELU", {"scale": 1.5, "scale_neg": 2.0}, 4), ("softplus", None, 4),
         ("ScaledTanH", {"scale_in": 0.5, "scale_out": 1.7159}, 5), ("ScaledTanh", {"scale_in": 2.0, "scale_out": 1.0}, 5)]


def _ulps(a, b, dtype):
    assert a.dtype == b.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(np.isfinite(a), np.isfinite(b))
    fin = np.isfinite(b)
    spacing = np.maximum(np.spacing(np.abs(b[fin])).astype(np.float64), np.finfo(dtype).smallest_subnormal)
    return np.abs(a[fin].astype(np.float64) - b[fin].astype(np.float64)) / spacing


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name,args,max_ulp", CASES, ids=[c[0] + ("_args" if c[1] else "") for c in CASES])
def test_twin_within_ulps_of_theano(name, args, max_ulp, dtype):
    th = getattr(TN, name)
    tw = getattr(NN, name)
    if args:
        th, tw = th(**args), tw(**args)
    x = _values(dtype)
    expected = _compiled(th, dtype)(x)
    with np.errstate(all="ignore"):
        got = tw(x)
    assert got.dtype == np.dtype(dtype)  # dtype preserved (float32 in -> float32 out)
    assert _ulps(got, expected, dtype).max() <= max_ulp


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", [(7,), (4, 9), (2, 3, 5)])
def test_softmax_last_axis(dtype, shape):
    x = (np.random.default_rng(3).standard_normal(shape) * 5).astype(dtype)
    expected = _compiled(TN.softmax, dtype, len(shape))(x)
    got = NN.softmax(x)
    assert got.dtype == np.dtype(dtype)
    assert _ulps(got, expected, dtype).max() <= 8
    np.testing.assert_allclose(got.sum(axis=-1), 1.0, rtol=1e-5)


def test_hand_checked_values():
    x32 = np.array([-100.0, -3.0, 0.0, 3.0], dtype=np.float32)
    # float32 sigmoid: exp(100) overflows to inf, so exactly 0 as in Theano
    assert NN.sigmoid(x32)[0] == 0.0
    np.testing.assert_array_equal(NN.hard_sigmoid(x32), np.array([0.0, 0.0, 0.5, 1.0], dtype=np.float32))
    np.testing.assert_array_equal(NN.rectify(np.array([-1.0, 2.0])), [0.0, 2.0])
    np.testing.assert_allclose(NN.ultra_fast_sigmoid(np.array([0.0, 2.0, 100.0])),
                               [0.5, 0.5 * (1.5 * 1.0 / 2.0 + 1.0), 0.5 * (0.99505475368673 + 1.0)])
    np.testing.assert_allclose(NN.softplus(np.array([-40.0, 0.0, 40.0])), [np.exp(-40.0), np.log(2.0), 40.0])
    np.testing.assert_allclose(NN.selu(np.array([1.0, -1.0])),
                               [1.0507009873554805, 1.0507009873554805 * 1.6732632423543772 * np.expm1(-1.0)])
    np.testing.assert_array_equal(NN.softmax(np.zeros((2, 4))), np.full((2, 4), 0.25))
