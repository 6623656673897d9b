"""Unit tests of the pool twins: validation, Theano's border rules by hand, to_numpy against Theano."""
from __future__ import annotations

import numpy as np
import pytest

import layers_np as L
import layers_theano as LT
from layers_theano.backend import T, config, function


def test_validation():
    with pytest.raises(NotImplementedError, match="ignore_border=True"):
        L.Pool2DLayer(L.InputLayer((None, 1, 5, 5)), 2, pad=1, ignore_border=False)
    with pytest.raises(NotImplementedError, match="smaller than the pool size"):
        L.Pool2DLayer(L.InputLayer((None, 1, 5, 5)), 2, pad=2)
    with pytest.raises(ValueError, match="Expected 3 input dimensions"):
        L.Pool1DLayer(L.InputLayer((None, 1, 5, 5)), 2)
    with pytest.raises(ValueError, match="mode"):
        L.Pool2DLayer(L.InputLayer((None, 1, 5, 5)), 2, mode="median")
    with pytest.raises(ValueError, match="multiple"):
        L.FeaturePoolLayer(L.InputLayer((None, 5, 3)), 2)
    with pytest.raises(ValueError, match="Scale factor"):
        L.Upscale2DLayer(L.InputLayer((None, 1, 3, 3)), 0)


def test_output_lengths():
    assert L.Pool1DLayer(L.InputLayer((None, 1, 7)), 3, stride=1, ignore_border=False).output_shape == (None, 1, 5)
    assert L.Pool1DLayer(L.InputLayer((None, 1, 7)), 2, ignore_border=False).output_shape == (None, 1, 4)
    assert L.Pool1DLayer(L.InputLayer((None, 1, 7)), 3, stride=2, pad=1).output_shape == (None, 1, 4)
    assert L.SpatialPyramidPoolingLayer(L.InputLayer((None, 3, 9, 9)), [4, 2, 1]).output_shape == (None, 3, 21)


def test_hand_checked_border_rules():
    x = np.array([1.0, 2.0, 3.0, 4.0, 5.0]).reshape(1, 1, 5)
    # ignore_border=False, stride 2 < ws 3: length 6 gives windows [0:3], [2:5], [4:6] (partial, mean of 2)
    x6 = np.arange(1.0, 7.0).reshape(1, 1, 6)
    np.testing.assert_array_equal(L.Pool1DLayer(L.InputLayer((None, 1, 6)), 3, stride=2, ignore_border=False,
                                                mode="average_inc_pad")(x6), [[[2.0, 4.0, 5.5]]])
    np.testing.assert_array_equal(L.Pool1DLayer(L.InputLayer((None, 1, 5)), 3, stride=2, ignore_border=False)(x), [[[3.0, 5.0]]])
    # pad 1: windows over [0,1,2], [2,3,4], [4,5,0] of the padded input
    inc = L.Pool1DLayer(L.InputLayer((None, 1, 5)), 3, stride=2, pad=1, mode="average_inc_pad")(x)
    exc = L.Pool1DLayer(L.InputLayer((None, 1, 5)), 3, stride=2, pad=1, mode="average_exc_pad")(x)
    np.testing.assert_allclose(inc, [[[1.0, 3.0, 3.0]]])
    np.testing.assert_allclose(exc, [[[1.5, 3.0, 4.5]]])
    neg = -x
    np.testing.assert_array_equal(L.Pool1DLayer(L.InputLayer((None, 1, 5)), 3, stride=2, pad=1)(neg), [[[-1.0, -2.0, -4.0]]])


def test_feature_wta_keeps_first_max():
    x = np.array([[3.0, 3.0, 1.0, 0.0, 2.0, 2.0]])
    np.testing.assert_array_equal(L.FeatureWTALayer(L.InputLayer((None, 6)), 3)(x), [[3.0, 0.0, 0.0, 0.0, 2.0, 0.0]])


def test_upscale_modes():
    x = np.array([[[1.0, 2.0]]])
    np.testing.assert_array_equal(L.Upscale1DLayer(L.InputLayer((None, 1, 2)), 2)(x), [[[1.0, 1.0, 2.0, 2.0]]])
    np.testing.assert_array_equal(L.Upscale1DLayer(L.InputLayer((None, 1, 2)), 2, mode="dilate")(x), [[[1.0, 0.0, 2.0, 0.0]]])


def test_spp_fast_bin_count_follows_theano():
    # h = 7, n = 4: ws 2, stride 1 gives 6 bins per axis, not 4 (Lasagne still declares 16)
    with config.change_flags(floatX="float64"):
        inp = LT.InputLayer((None, 2, 7, 7))
        layer = LT.SpatialPyramidPoolingLayer(inp, [4])
        fn = function([inp.input_var], LT.get_output(layer))
    x = np.random.default_rng(0).standard_normal((2, 2, 7, 7))
    twin = LT.to_numpy(layer)
    assert fn(x).shape == (2, 2, 36) == twin(x).shape
    np.testing.assert_array_equal(twin(x), fn(x))


def test_to_numpy_network_matches_theano():
    with config.change_flags(floatX="float32"):
        inp = LT.InputLayer((None, 6, 9, 8))
        net = LT.Pool2DLayer(inp, 3, stride=2, pad=(1, 2), mode="average_exc_pad")
        net = LT.Upscale2DLayer(net, (2, 1), mode="dilate")
        net = LT.MaxPool2DLayer(net, (3, 2), stride=(2, 1), ignore_border=False)
        net = LT.Pool2DLayer(net, 2, stride=1, mode="average_inc_pad", ignore_border=False)
        net = LT.FeaturePoolLayer(net, 2, pool_function=T.mean)
        net = LT.FeatureWTALayer(net, 3)
        net = LT.GlobalPoolLayer(net, pool_function=T.max)
        fn = function([inp.input_var], LT.get_output(net))
    twin = LT.to_numpy(net)
    x = np.random.default_rng(0).standard_normal((3, 6, 9, 8)).astype(np.float32)
    out = twin(x)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, fn(x), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("mode", ["max", "average_inc_pad", "average_exc_pad"])
def test_pool3d_and_kaiming_spp_match_theano(mode):
    with config.change_flags(floatX="float64"):
        inp = LT.InputLayer((None, 2, 5, 4, 6))
        net = LT.Pool3DLayer(inp, (2, 3, 2), stride=(1, 2, 3), pad=(1, 1, 0), mode=mode)
        fn = function([inp.input_var], LT.get_output(net))
        inp2 = LT.InputLayer((None, 2, 7, 5))
        spp = LT.SpatialPyramidPoolingLayer(inp2, [3, 2, 1], mode=mode, implementation="kaiming")
        fn2 = function([inp2.input_var], LT.get_output(spp))
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 2, 5, 4, 6))
    np.testing.assert_allclose(LT.to_numpy(net)(x), fn(x), rtol=1e-12)
    y = rng.standard_normal((2, 2, 7, 5))
    np.testing.assert_allclose(LT.to_numpy(spp)(y), fn2(y), rtol=1e-12)


def test_kaiming_bins_use_float32_constants_under_float32():
    # 2/3 rounded to float32 times 9 is 6.0000003: Theano's bin ends at 7, not 6
    with config.change_flags(floatX="float32"):
        inp = LT.InputLayer((None, 1, 1, 9))
        spp = LT.SpatialPyramidPoolingLayer(inp, [3], mode="average_exc_pad", implementation="kaiming")
        fn = function([inp.input_var], LT.get_output(spp))
    x = np.arange(9, dtype=np.float32).reshape(1, 1, 1, 9)
    out = LT.to_numpy(spp)(x)
    np.testing.assert_allclose(out, fn(x), rtol=1e-6)
    assert out[0, 0, 1] == np.float32(np.mean(np.arange(3, 7)))  # bin [3, 7)
