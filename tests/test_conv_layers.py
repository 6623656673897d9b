"""Unit tests of the conv twins: validation, shapes, hand-checked values, to_numpy against Theano."""
from __future__ import annotations

import numpy as np
import pytest

import layers_np as L
import layers_theano as LT
from layers_np import im2col
from layers_theano.backend import T, config, function, nnet


def _theano_fn(layer, inp):
    return function([inp.input_var], LT.get_output(layer))


def test_same_pad_refuses_even_filters_on_both_sides():
    with pytest.raises(NotImplementedError):
        L.Conv2DLayer(L.InputLayer((None, 3, 8, 8)), 4, (2, 3), pad="same")
    with pytest.raises(NotImplementedError):
        LT.Conv2DLayer((None, 3, 8, 8), 4, (2, 3), pad="same")
    with pytest.raises(NotImplementedError):
        L.Conv1DLayer(L.InputLayer((None, 3, 8)), 4, 4, pad="same")


def test_constructor_validation_messages():
    with pytest.raises(ValueError, match="num_groups"):
        L.Conv2DLayer(L.InputLayer((None, 3, 8, 8)), 4, 3, num_groups=2)
    with pytest.raises(ValueError, match="Expected 4 input dimensions"):
        L.Conv2DLayer(L.InputLayer((None, 3, 8)), 4, 3)
    with pytest.raises(NotImplementedError, match="flip_filters=False"):
        L.DilatedConv2DLayer(L.InputLayer((None, 3, 8, 8)), 4, 3, flip_filters=True)
    with pytest.raises(NotImplementedError, match="pad=0"):
        L.DilatedConv2DLayer(L.InputLayer((None, 3, 8, 8)), 4, 3, pad=1)
    with pytest.raises(ValueError, match="channelwise"):
        L.LocallyConnected2DLayer(L.InputLayer((None, 3, 5, 5)), 4, 3, channelwise=True)
    with pytest.raises(NotImplementedError, match="pad='same'"):
        L.LocallyConnected2DLayer(L.InputLayer((None, 3, 5, 5)), 4, 3, pad=0)


def test_shapes_and_param_shapes():
    l = L.Conv2DLayer(L.InputLayer((None, 6, 7, 9)), 4, (3, 2), stride=2, pad="full", untie_biases=True, num_groups=2)
    assert l.output_shape == (None, 4, 5, 5)
    assert l.W.shape == (4, 3, 3, 2) and l.b.shape == (4, 5, 5)
    assert L.Conv2DLayer(L.InputLayer((None, 1, 7, 7)), 1, 3, stride=2, pad="same").output_shape == (None, 1, 4, 4)
    t = L.TransposedConv2DLayer(L.InputLayer((None, 3, 4, 5)), 2, 3, stride=2, crop=1)
    assert t.W.shape == (3, 2, 3, 3) and t.output_shape == (None, 2, 7, 9)
    assert L.TransposedConv2DLayer(L.InputLayer((None, 3, 4, 5)), 2, 3, stride=2, crop=1, output_size=(8, 10)).output_shape == (None, 2, 8, 10)
    d = L.DilatedConv2DLayer(L.InputLayer((None, 3, 9, 8)), 2, (3, 2), dilation=(2, 3))
    assert d.W.shape == (3, 2, 3, 2) and d.output_shape == (None, 2, 5, 5)
    lc = L.LocallyConnected2DLayer(L.InputLayer((None, 3, 5, 4)), 2, 3)
    assert lc.W.shape == (2, 3, 3, 3, 5, 4)
    assert L.Conv3DLayer(L.InputLayer((None, 2, 4, 5, 6)), 3, 2, pad=1).output_shape == (None, 3, 5, 6, 7)


def test_hand_checked_convolution_flips_the_kernel():
    x = np.arange(5.0).reshape(1, 1, 5)  # 0 1 2 3 4
    W = np.array([1.0, 0.0, -1.0]).reshape(1, 1, 3)
    flip = L.Conv1DLayer(L.InputLayer((None, 1, 5)), 1, 3, W=W, b=None, nonlinearity=None)
    corr = L.Conv1DLayer(L.InputLayer((None, 1, 5)), 1, 3, W=W, b=None, nonlinearity=None, flip_filters=False)
    # convolution: out[t] = x[t+2]*W[0] + x[t]*W[2] = 2; correlation: x[t] - x[t+2] = -2
    np.testing.assert_array_equal(flip(x), [[[2.0, 2.0, 2.0]]])
    np.testing.assert_array_equal(corr(x), [[[-2.0, -2.0, -2.0]]])


def test_hand_checked_transposed_stride():
    x = np.array([1.0, 2.0]).reshape(1, 1, 1, 2)
    W = np.array([1.0, 10.0]).reshape(1, 1, 1, 2)
    l = L.TransposedConv2DLayer(L.InputLayer((None, 1, 1, 2)), 1, (1, 2), stride=(1, 3), W=W, b=None, nonlinearity=None)
    # flip_filters=False: correlation on the zero-stuffed input, i.e. scatter of the flipped kernel
    np.testing.assert_array_equal(l(x), [[[[10.0, 1.0, 0.0, 20.0, 2.0]]]])


@pytest.mark.parametrize("border_mode", ["valid", "full", "half", 1, (2, 0), ((1, 2), (0, 3))])
@pytest.mark.parametrize("dilation", [(1, 1), (2, 1)])
def test_functional_conv2d_matches_theano(border_mode, dilation):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 4, 7, 8))
    w = rng.standard_normal((6, 2, 4, 3))  # even kernel rows: 'half' pads 2 on both sides
    X, Wv = T.tensor4(dtype="float64"), T.tensor4(dtype="float64")
    f = function([X, Wv], nnet.conv2d(X, Wv, border_mode=border_mode, subsample=(2, 1), filter_dilation=dilation,
                                     num_groups=2))
    np.testing.assert_allclose(L.conv2d(x, w, border_mode=border_mode, subsample=(2, 1), filter_dilation=dilation,
                                        num_groups=2), f(x, w), rtol=1e-12, atol=1e-12)


def test_to_numpy_network_matches_theano(monkeypatch):
    monkeypatch.setattr(im2col, "PATCH_BUFFER_BYTES", 2048)  # force several chunks
    with config.change_flags(floatX="float64"):
        inp = LT.InputLayer((None, 3, 11, 10))
        net = LT.Conv2DLayer(inp, 4, 3, pad="same", num_groups=1)
        net = LT.Conv2DLayer(net, 6, (2, 3), stride=2, pad=(1, 0), num_groups=2, untie_biases=True)
        net = LT.TransposedConv2DLayer(net, 3, 3, stride=2, crop="same", nonlinearity=LT.nonlinearities.tanh)
        net = LT.DilatedConv2DLayer(net, 2, 2, dilation=2)
        net = LT.LocallyConnected2DLayer(net, 2, 3, channelwise=True)
        fn = _theano_fn(net, inp)
    for p in LT.get_all_params(net):
        p.set_value(np.random.default_rng(len(p.name or "")).standard_normal(p.get_value().shape))
    twin = LT.to_numpy(net)
    x = np.random.default_rng(3).standard_normal((5, 3, 11, 10))
    np.testing.assert_allclose(twin(x), fn(x), rtol=1e-10, atol=1e-10)


def test_float32_stays_float32_and_conv3d_matches():
    with config.change_flags(floatX="float32"):
        inp = LT.InputLayer((None, 4, 5, 4, 6))
        net = LT.Conv3DLayer(inp, 2, (2, 3, 2), pad=(1, 0, 1), stride=(1, 2, 1), num_groups=2)
        net = LT.TransposedConv3DLayer(net, 2, 2, stride=2)
        fn = _theano_fn(net, inp)
    twin = LT.to_numpy(net)
    L.cast_param_values(twin, np.float32)
    x = np.random.default_rng(0).standard_normal((2, 4, 5, 4, 6)).astype(np.float32)
    out = twin(x)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, fn(x), rtol=1e-4, atol=1e-4)


def test_chunking_gives_identical_results(monkeypatch):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((7, 4, 9, 9)).astype(np.float32)
    w = rng.standard_normal((6, 4, 3, 3)).astype(np.float32)
    whole = L.conv2d(x, w, border_mode="half")
    monkeypatch.setattr(im2col, "PATCH_BUFFER_BYTES", 1)
    np.testing.assert_array_equal(L.conv2d(x, w, border_mode="half"), whole)
