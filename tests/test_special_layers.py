"""Special and noise layers: validation, shapes, hand-checked values and to_numpy."""
from __future__ import annotations

import numpy as np
import pytest

import layers_np as L
import layers_theano as LT
from layers_np import nonlinearities as NN
from layers_theano.backend import T, config, function


def _theano_out(layer, x):
    inputs = [l for l in LT.get_all_layers(layer) if isinstance(l, LT.InputLayer)]
    fn = function([inputs[0].input_var], LT.get_output(layer, deterministic=True))
    return fn(x)


# --------------------------------------------------------------------------- validation
def test_bias_layer_needs_sizes_of_unshared_axes():
    with pytest.raises(L.TwinError, match="BiasLayer needs specified input sizes"):
        L.BiasLayer((None, 3), shared_axes=1)
    with pytest.raises(ValueError, match="BiasLayer needs specified input sizes"):
        LT.BiasLayer((None, 3), shared_axes=1)


def test_shared_axes_type_errors():
    with pytest.raises(L.TwinError, match="ScaleLayer: shared_axes"):
        L.ScaleLayer((2, 3), shared_axes="all")  # 'all' is for the rectifier layers only
    with pytest.raises(L.TwinError, match="ints only"):
        L.ParametricRectifierLayer((2, 3), shared_axes=(0, "x"))


def test_rrelu_bounds_and_dropout_p():
    with pytest.raises(L.TwinError, match="Upper bound"):
        L.RandomizedRectifierLayer((2, 3), lower=0.8, upper=0.3)
    with pytest.raises(ValueError, match="Upper bound"):
        LT.RandomizedRectifierLayer((2, 3), lower=0.8, upper=0.3)
    with pytest.raises(L.TwinError, match=r"p must be a probability"):
        L.DropoutLayer((2, 3), p=1.5)
    with pytest.raises(L.TwinError, match="sigma must be >= 0"):
        L.GaussianNoiseLayer((2, 3), sigma=-1.0)


def test_expression_layer_bad_arguments():
    with pytest.raises(L.TwinError, match="function must be callable"):
        L.ExpressionLayer((2, 3), function=3)
    with pytest.raises(L.TwinError, match="output_shape must be"):
        L.ExpressionLayer((2, 3), np.tanh, output_shape="same")


# --------------------------------------------------------------------------- shapes
@pytest.mark.parametrize("M", [L, LT], ids=["numpy", "theano"])
def test_parameter_shapes_follow_lasagne(M):
    assert M.BiasLayer((20, 30, 40, 50), shared_axes=(0, 2)).b.get_value().shape == (30, 50)
    assert M.ScaleLayer((20, 30, 40, 50)).scales.get_value().shape == (30,)
    assert M.ParametricRectifierLayer((20, 3, 28, 28), shared_axes=(0, 3)).alpha.get_value().shape == (3, 28)
    assert M.ParametricRectifierLayer((20, 3), shared_axes="all").alpha.get_value().shape == ()
    # Lasagne does not normalise negative axes: -1 shares nothing.
    assert M.BiasLayer((2, 3, 4), shared_axes=(0, -1)).b.get_value().shape == (3, 4)
    assert M.BiasLayer((2, 3), b=None).b is None


@pytest.mark.parametrize("M", [L, LT], ids=["numpy", "theano"])
def test_expression_output_shapes(M):
    inp = M.InputLayer((None, 5, 7))
    fn = (lambda x: x.mean(-1)) if M is LT else (lambda x: x.mean(-1))
    assert M.ExpressionLayer(inp, fn, output_shape="auto").output_shape == (None, 5)
    assert M.ExpressionLayer(inp, fn, output_shape=lambda s: s[:2]).output_shape == (None, 5)
    assert M.ExpressionLayer(inp, fn, output_shape=(None, 5)).output_shape == (None, 5)
    assert M.ExpressionLayer(inp, fn).output_shape == (None, 5, 7)


# --------------------------------------------------------------------------- hand-checked values
def test_bias_and_scale_by_hand():
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    bias = L.BiasLayer((None, 3), b=np.array([1.0, -1.0, 0.5], dtype=np.float32))
    np.testing.assert_array_equal(bias.get_output_for(x), [[1, 0, 2.5], [4, 3, 5.5]])
    scale = L.ScaleLayer((2, 3), scales=np.array([2.0, 3.0], dtype=np.float32), shared_axes=1)
    out = scale.get_output_for(x)
    np.testing.assert_array_equal(out, [[0, 2, 4], [9, 12, 15]])
    assert out.dtype == np.float32


def test_prelu_and_rrelu_by_hand():
    x = np.array([[-2.0, 4.0], [1.0, -8.0]])
    prelu = L.ParametricRectifierLayer((None, 2), alpha=np.array([0.5, 0.25]))
    np.testing.assert_array_equal(prelu.get_output_for(x), [[-1.0, 4.0], [1.0, -2.0]])
    rrelu = L.RandomizedRectifierLayer((None, 2), lower=0.25, upper=0.75)  # mean slope 0.5
    np.testing.assert_array_equal(rrelu.get_output_for(x), [[-1.0, 4.0], [1.0, -4.0]])
    x32 = x.astype(np.float32)
    assert rrelu.get_output_for(x32).dtype == np.float32


def test_noise_layers_identity_at_inference_and_noisy_in_training():
    x = np.random.default_rng(0).standard_normal((50, 40)).astype(np.float32)
    drop = L.DropoutLayer((None, 40), p=0.5, shared_axes=(0,))
    assert drop.get_output_for(x) is x
    train = drop.get_output_for(x, deterministic=False)
    kept = np.all(train == 2 * x, axis=0)
    dropped = np.all(train == 0, axis=0)
    assert np.all(kept | dropped) and kept.any() and dropped.any()  # whole columns, rescaled by 2
    noise = L.GaussianNoiseLayer((None, 40), sigma=1.0)
    assert noise.get_output_for(x) is x
    assert not np.allclose(noise.get_output_for(x, deterministic=False), x)


# --------------------------------------------------------------------------- to_numpy
def test_to_numpy_network_matches_theano():
    rng = np.random.default_rng(1)
    with config.change_flags(floatX="float64"):
        inp = LT.InputLayer((None, 3, 4, 5))
        net = LT.BiasLayer(inp, b=rng.standard_normal(3))
        net = LT.ScaleLayer(net, scales=rng.standard_normal((3, 5)), shared_axes=(0, 2))
        net = LT.ParametricRectifierLayer(net, alpha=rng.standard_normal(3))
        net = LT.DropoutLayer(net, p=0.3)
        net = LT.GaussianNoiseLayer(net, sigma=0.2)
        net = LT.RandomizedRectifierLayer(net, lower=0.1, upper=0.3)
        net = LT.ExpressionLayer(net, lambda v: T.sum(v, axis=-1), output_shape="auto",
                                 numpy_function=lambda v: np.sum(v, axis=-1))
        net = LT.NonlinearityLayer(net, LT.nonlinearities.softmax)
        x = rng.standard_normal((2, 3, 4, 5))
        expected = _theano_out(net, x)
    twin = LT.to_numpy(net)
    assert isinstance(twin, L.NonlinearityLayer) and twin.nonlinearity is NN.softmax
    assert twin.output_shape == net.output_shape == (None, 3, 4)
    np.testing.assert_allclose(twin(x), expected, rtol=1e-12, atol=1e-15)


def test_to_numpy_refuses_expression_without_numpy_function():
    inp = LT.InputLayer((None, 3))
    net = LT.ExpressionLayer(inp, lambda v: v * 3, name="triple")
    with pytest.raises(TypeError, match="ExpressionLayer 'triple' has no numpy_function"):
        LT.to_numpy(net)
    # a built-in nonlinearity has a known twin, so no numpy_function is needed
    twin = LT.to_numpy(LT.ExpressionLayer(inp, LT.nonlinearities.tanh))
    assert twin.function is NN.tanh
