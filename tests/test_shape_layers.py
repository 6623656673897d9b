"""Shape twins: validation, output shapes (shared arithmetic), hand-checked values, agreement with Theano."""
from __future__ import annotations

import numpy as np
import pytest

import layers_np as L
import layers_theano as LT
from layers_theano.backend import config, function


# ---------------------------------------------------------------------------
# constructor validation
# ---------------------------------------------------------------------------
def test_flatten_validation():
    with pytest.raises(ValueError, match="Dim must be >0, was 0"):
        L.FlattenLayer((None, 3), outdim=0)
    with pytest.raises(ValueError, match="Dim must be >0"):
        LT.FlattenLayer((None, 3), outdim=0)
    with pytest.raises(L.TwinError, match="FlattenLayer: outdim=4 is larger than the input's 3 dimensions"):
        L.FlattenLayer((None, 3, 2), outdim=4)


@pytest.mark.parametrize("spec, message", [
    ((2, 0), "integers must be positive or -1"),
    ((-1, -1), "cannot contain multiple -1"),
    (([0, 1], -1), "single-element lists of int >= 0"),
    (([-1], 3), "single-element lists of int >= 0"),
    (("a", 3), "must be a tuple of int and/or"),
    (([3], -1), r"specification contains \[3\], but input shape has 3 dimensions only"),
    (([0], 5, -1), "The total size mismatches"),
])
def test_reshape_validation(spec, message):
    with pytest.raises(L.TwinError, match=message):
        L.ReshapeLayer((None, 4, 3), spec)
    with pytest.raises(ValueError, match=message):
        LT.ReshapeLayer((None, 4, 3), spec)


def test_reshape_size_mismatch_with_known_shape():
    with pytest.raises(L.TwinError, match=r"\(2, 4, 3\) cannot be reshaped to specification \(5, 7\)"):
        L.ReshapeLayer((2, 4, 3), (5, 7))
    layer = L.ReshapeLayer(L.InputLayer((None, 4, 3)), (5, -1))  # unknown batch: checked at run time
    with pytest.raises(L.TwinError, match="cannot reshape an input of shape"):
        layer(np.zeros((2, 4, 3)))


def test_dimshuffle_validation():
    with pytest.raises(L.TwinError, match="dimension 0 more than once"):
        L.DimshuffleLayer((2, 3), (0, 0))
    with pytest.raises(L.TwinError, match="only contain dimension indices or 'x'"):
        L.DimshuffleLayer((2, 3), (0, "y"))
    with pytest.raises(L.TwinError, match="pattern contains 2, but input shape has 2 dimensions only"):
        L.DimshuffleLayer((2, 3), (2, 0))
    with pytest.raises(L.TwinError, match="collapse dimension 1 of size 3"):
        L.DimshuffleLayer((2, 3), (0,))
    assert L.DimshuffleLayer((2, 1), (0,)).output_shape == (2,)  # size-1 dims may be dropped


def test_pad_and_slice_validation():
    with pytest.raises(L.TwinError, match="padding widths must be >= 0"):
        L.PadLayer((None, 3, 4), width=[(-1, 0)], batch_ndim=1)
    with pytest.raises(L.TwinError, match="gives 3 axes to pad.*only 1 axes"):
        L.PadLayer((None, 3, 4), width=[1, 1, 1])
    with pytest.raises(L.TwinError, match="int or a pair"):
        L.PadLayer((None, 3, 4), width=[(1, 2, 3)], batch_ndim=2)
    with pytest.raises(L.TwinError, match="axis=3 is out of range"):
        L.SliceLayer((None, 3, 4), indices=0, axis=3)
    with pytest.raises(L.TwinError, match="index 4 is out of range for axis -1 of size 4"):
        L.SliceLayer((None, 3, 4), indices=4)
    with pytest.raises(L.TwinError, match="step cannot be zero"):
        L.SliceLayer((None, 3, 4), indices=slice(None, None, 0))


# ---------------------------------------------------------------------------
# output shapes: twins and Theano layers share the arithmetic
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("make, expected", [
    (lambda M, i: M.FlattenLayer(i), (None, 60)),
    (lambda M, i: M.FlattenLayer(i, outdim=1), (None,)),
    (lambda M, i: M.FlattenLayer(i, outdim=4), (None, 3, 4, 5)),
    (lambda M, i: M.ReshapeLayer(i, ([0], -1)), (None, 60)),
    (lambda M, i: M.ReshapeLayer(i, ([0], [3], -1)), (None, 5, 12)),
    (lambda M, i: M.ReshapeLayer(i, (-1, [3])), (None, 5)),
    (lambda M, i: M.ReshapeLayer(i, ([2], [0], 15)), (4, None, 15)),
    (lambda M, i: M.DimshuffleLayer(i, (3, "x", 0, 2, 1)), (5, 1, None, 4, 3)),
    (lambda M, i: M.PadLayer(i, 2), (None, 3, 8, 9)),
    (lambda M, i: M.PadLayer(i, [(1, 0), (0, 3)]), (None, 3, 5, 8)),
    (lambda M, i: M.PadLayer(i, [1], batch_ndim=1), (None, 5, 4, 5)),
    (lambda M, i: M.PadLayer(i, 1, batch_ndim=0), (None, 5, 6, 7)),
    (lambda M, i: M.SliceLayer(i, 0, axis=1), (None, 4, 5)),
    (lambda M, i: M.SliceLayer(i, slice(None, None, -2)), (None, 3, 4, 3)),
    (lambda M, i: M.SliceLayer(i, slice(-1, 0, -1), axis=2), (None, 3, 3, 5)),
    (lambda M, i: M.SliceLayer(i, slice(1, 3), axis=0), (None, 3, 4, 5)),
])
def test_output_shapes(make, expected):
    assert make(L, L.InputLayer((None, 3, 4, 5))).output_shape == expected
    assert make(LT, LT.InputLayer((None, 3, 4, 5))).output_shape == expected


# ---------------------------------------------------------------------------
# hand-checked values
# ---------------------------------------------------------------------------
def test_reshape_is_c_order_and_uses_references():
    x = np.arange(1.0, 7.0).reshape(1, 6)
    out = L.ReshapeLayer(L.InputLayer((None, 6)), ([0], 2, -1))(x)
    np.testing.assert_array_equal(out, [[[1, 2, 3], [4, 5, 6]]])


def test_pad_never_touches_batch_axes_and_uses_val():
    x = np.array([[1.0, 2.0]], np.float32)
    out = L.PadLayer(L.InputLayer((None, 2)), width=[(1, 2)], val=9.5, batch_ndim=1)(x)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, [[9.5, 1, 2, 9.5, 9.5]])
    out2 = L.PadLayer(L.InputLayer((None, 1, 2)), width=1)(x.reshape(1, 1, 2))  # batch_ndim 2: only the last axis
    np.testing.assert_array_equal(out2, [[[0, 1, 2, 0]]])


def test_slice_int_drops_axis_negative_step_keeps_it():
    x = np.arange(12.0).reshape(2, 3, 2)
    np.testing.assert_array_equal(L.SliceLayer(L.InputLayer((None, 3, 2)), -1, axis=1)(x), x[:, -1])
    assert L.SliceLayer(L.InputLayer((None, 3, 2)), -1, axis=1)(x).shape == (2, 2)
    np.testing.assert_array_equal(L.SliceLayer(L.InputLayer((None, 3, 2)), slice(None, None, -1), axis=1)(x), x[:, ::-1])
    scalar = L.SliceLayer(L.InputLayer((None,)), 1, axis=0)(np.array([4.0, 5.0]))
    assert isinstance(scalar, np.ndarray) and scalar.shape == () and scalar == 5.0


def test_dimshuffle_hand_example():
    x = np.arange(6.0).reshape(2, 3)
    out = L.DimshuffleLayer(L.InputLayer((None, 3)), (1, "x", 0))(x)
    assert out.shape == (3, 1, 2)
    np.testing.assert_array_equal(out[:, 0, :], x.T)


# ---------------------------------------------------------------------------
# agreement with Theano
# ---------------------------------------------------------------------------
def test_to_numpy_network_matches_theano_exactly():
    with config.change_flags(floatX="float32"):
        inp = LT.InputLayer((None, 2, 3, 4))
        net = LT.PadLayer(inp, [(1, 0), (0, 2)], val=-1.5)             # (N, 2, 4, 6)
        net = LT.DimshuffleLayer(net, (0, 3, "x", 1, 2))               # (N, 6, 1, 2, 4)
        net = LT.ReshapeLayer(net, ([0], [1], -1))                     # (N, 6, 8)
        net = LT.SliceLayer(net, slice(None, 1, -2), axis=1)           # (N, 2, 8): rows 5, 3
        net = LT.SliceLayer(net, -3)                                    # (N, 2)
        net = LT.FlattenLayer(net, outdim=1)                            # (2N,)
        fn = function([inp.input_var], LT.get_output(net))
    twin = LT.to_numpy(net)
    x = np.random.default_rng(0).standard_normal((2, 2, 3, 4)).astype(np.float32)
    expected = fn(x)
    got = twin(x)
    assert expected.shape == got.shape == (4,)
    assert twin.output_shape == net.output_shape == (None,)
    assert got.dtype == expected.dtype == np.float32
    np.testing.assert_array_equal(got, expected)
