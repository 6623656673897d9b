"""Normalization twins: validation, shapes and parameters, hand-checked values, agreement with Theano."""
from __future__ import annotations

import numpy as np
import pytest

import layers_np as L
import layers_theano as LT
from layers_theano.backend import config, function


# ---------------------------------------------------------------------------
# constructor validation
# ---------------------------------------------------------------------------
def test_lrn_rejects_even_n_and_non_4d_input():
    with pytest.raises(NotImplementedError, match="odd n"):
        L.LocalResponseNormalization2DLayer((None, 3, 4, 4), n=4)
    with pytest.raises(L.TwinError, match="LocalResponseNormalization2DLayer.*4-dimensional"):
        L.LocalResponseNormalization2DLayer((None, 3, 4))
    with pytest.raises(L.TwinError, match="alpha must be a number"):
        L.LocalResponseNormalization2DLayer((None, 3, 4, 4), alpha="big")


def test_batchnorm_validation():
    with pytest.raises(L.TwinError, match="needs specified input sizes"):
        L.BatchNormLayer((None, None, 4), axes=(0, 2))
    with pytest.raises(L.TwinError, match=r"axes \(0, 3\) out of range"):
        L.BatchNormLayer((None, 3, 4), axes=(0, 3))
    with pytest.raises(L.TwinError, match="axes must be 'auto'"):
        L.BatchNormLayer((None, 3, 4), axes="spatial")
    with pytest.raises(ValueError, match=r"expected an array of shape \(3,\)"):
        L.BatchNormLayer((None, 3, 4), mean=np.zeros(4))


def test_standardization_validation():
    with pytest.raises(L.TwinError, match="StandardizationLayer.*'auto', 'spatial', 'features'"):
        L.StandardizationLayer((None, 3), axes="channels")
    with pytest.raises(L.TwinError, match="more than once"):
        L.StandardizationLayer((None, 3, 4), axes=(1, -2))
    with pytest.raises(L.TwinError, match="epsilon must be a number"):
        L.StandardizationLayer((None, 3), epsilon=None)


# ---------------------------------------------------------------------------
# shapes, parameters, axes
# ---------------------------------------------------------------------------
def test_batchnorm_parameters_in_lasagne_order():
    layer = L.BatchNormLayer(L.InputLayer((None, 3, 5, 5)))
    assert layer.axes == (0, 2, 3)
    assert [(p.name, p.shape) for p in layer.get_params()] == [
        ("beta", (3,)), ("gamma", (3,)), ("mean", (3,)), ("inv_std", (3,))]
    assert [p.name for p in layer.get_params(trainable=True)] == ["beta", "gamma"]
    assert [p.name for p in layer.get_params(regularizable=True)] == ["gamma"]
    no_beta = L.BatchNormLayer(L.InputLayer((None, 4)), axes=0, beta=None)
    assert [(p.name, p.shape) for p in no_beta.get_params()] == [("gamma", (4,)), ("mean", (4,)), ("inv_std", (4,))]
    theano = LT.BatchNormLayer(LT.InputLayer((None, 3, 5, 5)))
    assert [p.name for p in theano.get_params()] == ["beta", "gamma", "mean", "inv_std"]
    assert layer.output_shape == theano.output_shape == (None, 3, 5, 5)


@pytest.mark.parametrize("shape, axes, expected", [
    ((None, 6), "auto", (1,)),
    ((None, 3, 4, 5), "auto", (2, 3)),
    ((None, 3, 4, 5), "spatial", (2, 3)),
    ((None, 3, 4), "features", (1, 2)),
    ((None, 3, 4), -1, (2,)),
])
def test_standardization_axes(shape, axes, expected):
    assert L.StandardizationLayer(shape, axes=axes).axes == expected


# ---------------------------------------------------------------------------
# hand-checked values
# ---------------------------------------------------------------------------
def test_batchnorm_inference_formula_without_epsilon():
    inp = L.InputLayer((None, 2))
    layer = L.BatchNormLayer(inp, axes=0, epsilon=0.5, beta=np.array([0.0, 1.0]), gamma=np.array([1.0, 2.0]),
                             mean=np.array([1.0, 1.0]), inv_std=np.array([2.0, 0.5]))
    out = layer(np.array([[1.0, 2.0], [3.0, 4.0]]))
    # (x - mean) * gamma * inv_std + beta; epsilon (0.5) must not appear
    np.testing.assert_array_equal(out, [[0.0, 2.0], [4.0, 4.0]])


def test_batchnorm_without_beta_and_gamma_and_dtype():
    inp = L.InputLayer((None, 3, 2))
    layer = L.BatchNormLayer(inp, beta=None, gamma=None, mean=np.float32([1, 2, 3]), inv_std=np.float32([1, 2, 4]))
    x = np.ones((2, 3, 2), np.float32)
    out = layer(x)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out[0, :, 0], [0.0, -2.0, -8.0])


def test_standardization_hand_example():
    layer = L.StandardizationLayer(L.InputLayer((None, 2)), epsilon=0.0)
    np.testing.assert_allclose(layer(np.array([[1.0, 3.0], [5.0, 5.0 + 2e-3]])), [[-1.0, 1.0], [-1.0, 1.0]], rtol=1e-9)
    eps = L.StandardizationLayer(L.InputLayer((None, 2)))  # epsilon 1e-4 dominates a variance of 1e-6
    np.testing.assert_allclose(eps(np.array([[5.0, 5.0 + 2e-3]])), [[-1e-3 / np.sqrt(1e-6 + 1e-4), 1e-3 / np.sqrt(1.01e-4)]])
    out32 = eps(np.array([[1.0, 3.0]], np.float32))
    assert out32.dtype == np.float32


def test_lrn_hand_example_zero_padding_and_undivided_alpha():
    layer = L.LocalResponseNormalization2DLayer(L.InputLayer((None, 3, 1, 1)), alpha=1.0, k=1, beta=1.0, n=3)
    out = layer(np.array([1.0, 2.0, 3.0]).reshape(1, 3, 1, 1))
    # c0: 1 / (1 + 0 + 1 + 4), c1: 2 / (1 + 1 + 4 + 9), c2: 3 / (1 + 4 + 9 + 0)
    np.testing.assert_allclose(out.ravel(), [1 / 6, 2 / 15, 3 / 14], rtol=1e-15)


# ---------------------------------------------------------------------------
# agreement with Theano
# ---------------------------------------------------------------------------
def test_to_numpy_network_matches_theano():
    rng = np.random.default_rng(3)
    with config.change_flags(floatX="float32"):
        inp = LT.InputLayer((None, 5, 4, 3))
        bn = LT.BatchNormLayer(inp, name="bn")
        lrn = LT.LocalResponseNormalization2DLayer(bn, alpha=0.01, n=3)
        std = LT.StandardizationLayer(lrn, axes="features", epsilon=1e-3)
        values = [rng.standard_normal(5).astype(np.float32) for _ in range(3)]
        values.append((np.abs(rng.standard_normal(5)) + 0.5).astype(np.float32))
        LT.set_all_param_values(std, values)
        fn = function([inp.input_var], LT.get_output(std))
    twin = LT.to_numpy(std)
    assert isinstance(twin, L.StandardizationLayer)
    x = (rng.standard_normal((4, 5, 4, 3)) * 3).astype(np.float32)
    expected = fn(x)
    got = twin(x)
    assert got.dtype == np.float32 and got.shape == expected.shape == (4, 5, 4, 3)
    np.testing.assert_allclose(got, expected, rtol=2e-5, atol=2e-5)
    # the BatchNormLayer twin got the trained statistics, not the initialisers
    np.testing.assert_array_equal(L.get_all_param_values(twin)[3], values[3])


def test_lrn_float64_squares_are_rounded_to_float32_like_theano():
    # Lasagne pads the squares in T.alloc(0., ...), a float32 buffer: under floatX=float64
    # the squares are rounded to float32. A float64-only twin misses this by ~1e-8.
    kwargs = dict(alpha=0.5, k=1e-3, beta=0.5, n=1)
    with config.change_flags(floatX="float64"):
        inp = LT.InputLayer((None, None, None, None))
        fn = function([inp.input_var], LT.get_output(LT.LocalResponseNormalization2DLayer(inp, **kwargs)))
    x = (1.0 + np.arange(1, 9) * 2.0 ** -20 / 3).reshape(2, 1, 2, 2)
    expected = fn(x)
    got = L.LocalResponseNormalization2DLayer(L.InputLayer((None, 1, 2, 2)), **kwargs)(x)
    np.testing.assert_allclose(got, expected, rtol=1e-13, atol=0)
    naive = x / (1e-3 + 0.5 * x * x) ** 0.5
    assert np.max(np.abs(naive - expected) / np.abs(expected)) > 1e-10
