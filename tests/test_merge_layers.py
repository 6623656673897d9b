"""Unit tests of the merge twins (ConcatLayer, ElemwiseSumLayer, ElemwiseMergeLayer) and autocrop."""
import numpy as np
import pytest

import layers_np as L
import layers_theano as LT
from layers_theano.backend import T, config, function


def test_validation_errors():
    with pytest.raises(ValueError, match="crop mode"):
        L.ConcatLayer([(None, 2), (None, 3)], cropping=["sideways"])
    with pytest.raises(ValueError, match="Mismatch"):
        L.ConcatLayer([(None, 2, 3), (None, 3, 4)], axis=1)
    with pytest.raises(L.TwinError, match="coeffs"):
        L.ElemwiseSumLayer([(None, 2), (None, 2)], coeffs=[1, 2, 3])
    with pytest.raises(ValueError, match="not all input shapes"):
        L.ElemwiseSumLayer([(None, 2), (None, 3)])
    with pytest.raises(L.TwinError, match="merge_function"):
        L.ElemwiseMergeLayer([(None, 2), (None, 2)], merge_function="max")


def test_output_shapes_with_cropping():
    assert L.ConcatLayer([(None, 2, 5), (None, 3, 4)], axis=1, cropping=[None, None, "center"]).output_shape == (None, 5, 4)
    assert L.ElemwiseSumLayer([(2, 5, 3), (2, 4, 6)], cropping=[None, "lower", "upper"]).output_shape == (2, 4, 3)
    # Lasagne clears cropping[axis] on the unpadded list: axis=-1 with two entries clears axis 1 of a 3-D input,
    # so the concatenation axis 2 is cropped and axis 1 is not
    layer = L.ConcatLayer([(None, 3, 5), (None, 3, 4)], axis=-1, cropping=[None, "lower"])
    assert layer.cropping == [None, None]
    layer = L.ConcatLayer([(None, 3, 5), (None, 3, 4)], axis=-1, cropping=[None, "lower", "lower"])
    assert layer.cropping == [None, "lower", None]


def test_autocrop_hand_example():
    a = np.arange(5.0)
    b = np.arange(2.0)
    lower, _ = L.autocrop([a, b], ["lower"])
    center, _ = L.autocrop([a, b], ["center"])
    upper, _ = L.autocrop([a, b], ["upper"])
    np.testing.assert_array_equal(lower, [0, 1])
    np.testing.assert_array_equal(center, [1, 2])  # offset (5 - 2) // 2 = 1
    np.testing.assert_array_equal(upper, [3, 4])


def test_sum_and_merge_hand_examples():
    a, b, c = np.float32([1, 2]), np.float32([10, 20]), np.float32([5, 1])
    s = L.ElemwiseSumLayer([(2,), (2,), (2,)], coeffs=[1, -1.0, 0.5]).get_output_for([a, b, c])
    assert s.dtype == np.float32
    np.testing.assert_array_equal(s, [1 - 10 + 2.5, 2 - 20 + 0.5])
    m = L.ElemwiseMergeLayer([(2,), (2,), (2,)], np.subtract).get_output_for([a, b, c])
    np.testing.assert_array_equal(m, [1 - 10 - 5, 2 - 20 - 1])
    np.testing.assert_array_equal(L.ElemwiseMergeLayer([(2,), (2,)], np.maximum).get_output_for([a, c]), [5, 2])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_to_numpy_merge_network_matches_theano(dtype):
    rng = np.random.default_rng(0)
    with config.change_flags(floatX=dtype):
        x = LT.InputLayer((None, 4, 6))
        y = LT.InputLayer((None, 3, 5))
        cat = LT.ConcatLayer([x, y], axis=1, cropping=[None, None, "center"])
        s = LT.ElemwiseSumLayer([x, y], coeffs=[0.5, -1.0], cropping=[None, "upper", "lower"])
        outs = [cat, s] + [LT.ElemwiseMergeLayer([x, y, x], f, cropping=["lower", "center", "upper"])
                           for f in (T.mul, T.maximum, T.minimum, T.sub)]
        fn = function([x.input_var, y.input_var], LT.get_output(outs))
    twins = LT.to_numpy(outs)
    assert [t.merge_function for t in twins[2:]] == [np.multiply, np.maximum, np.minimum, np.subtract]
    tx, ty = [l for l in L.get_all_layers(twins) if isinstance(l, L.InputLayer)]
    xs, ys = rng.standard_normal((2, 4, 6)).astype(dtype), rng.standard_normal((2, 3, 5)).astype(dtype)
    for want, got in zip(fn(xs, ys), L.get_output(twins, {tx: xs, ty: ys})):
        assert got.dtype == np.dtype(dtype) and got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
