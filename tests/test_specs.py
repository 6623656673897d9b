"""One spec per layer class: what both sides now share, and the constructor defects the
shared spec fixed (numpy integer hyperparameters, Conv1DLayer groups, broadcastable
InputLayer axes, ExpressionLayer 'auto' on the twin, Lasagne's conv argument order, one
message for one mistake)."""
from __future__ import annotations

from typing import Any, Callable, List

import numpy as np
import pytest

import layers_np as L
import layers_theano as LT
from layers_theano.backend import config, function

SIDES = [L, LT]


def _param_shapes(layer: Any) -> List[Any]:
    return [(str(p.name), tuple(p.get_value().shape)) for p in layer.get_params()]


# (name, build(M, ints)): ``ints`` makes the hyperparameters Python or numpy integers
NUMPY_INT_CASES: List[Any] = [
    ("DenseLayer", lambda M, i: M.DenseLayer(M.InputLayer((None, 3, 2)), i(5), num_leading_axes=i(1))),
    ("NINLayer", lambda M, i: M.NINLayer(M.InputLayer((None, 3, 4)), i(2), untie_biases=True)),
    ("Conv1DLayer", lambda M, i: M.Conv1DLayer(M.InputLayer((None, 4, 9)), i(4), i(3), stride=i(2), pad=i(1),
                                               num_groups=i(2))),
    ("Conv2DLayer", lambda M, i: M.Conv2DLayer(M.InputLayer((None, 3, 8, 8)), i(4), i(3), stride=(i(2), i(1)),
                                               pad=i(1), untie_biases=True)),
    ("Conv3DLayer", lambda M, i: M.Conv3DLayer(M.InputLayer((None, 2, 4, 4, 4)), i(2), (i(1), i(2), i(2)))),
    ("TransposedConv2DLayer", lambda M, i: M.TransposedConv2DLayer(M.InputLayer((None, 2, 3, 3)), i(2), i(3),
                                                                   stride=i(2), crop=i(1), output_size=i(6))),
    ("DilatedConv2DLayer", lambda M, i: M.DilatedConv2DLayer(M.InputLayer((None, 2, 7, 7)), i(3), i(2),
                                                             dilation=i(2))),
    ("MaxPool2DLayer", lambda M, i: M.MaxPool2DLayer(M.InputLayer((None, 2, 7, 7)), i(3), stride=i(2), pad=i(1))),
    ("Pool1DLayer", lambda M, i: M.Pool1DLayer(M.InputLayer((None, 2, 7)), i(2), mode="average_inc_pad")),
    ("Upscale2DLayer", lambda M, i: M.Upscale2DLayer(M.InputLayer((None, 2, 3, 3)), i(2))),
    ("FeaturePoolLayer", lambda M, i: M.FeaturePoolLayer(M.InputLayer((None, 6, 3)), i(2), axis=i(1))),
    ("FeatureWTALayer", lambda M, i: M.FeatureWTALayer(M.InputLayer((None, 6, 3)), i(3))),
    ("SpatialPyramidPoolingLayer", lambda M, i: M.SpatialPyramidPoolingLayer(M.InputLayer((None, 2, 8, 8)),
                                                                             [i(2), i(1)])),
    ("FlattenLayer", lambda M, i: M.FlattenLayer(M.InputLayer((None, 2, 3, 4)), i(3))),
    ("ReshapeLayer", lambda M, i: M.ReshapeLayer(M.InputLayer((None, 2, 6)), ([i(0)], i(3), i(-1)))),
    ("DimshuffleLayer", lambda M, i: M.DimshuffleLayer(M.InputLayer((None, 2, 6)), (i(0), i(2), "x", i(1)))),
    ("PadLayer", lambda M, i: M.PadLayer(M.InputLayer((None, 2, 3, 3)), i(1), batch_ndim=i(2))),
    ("SliceLayer", lambda M, i: M.SliceLayer(M.InputLayer((None, 2, 5)), i(1), axis=i(2))),
    ("ConcatLayer", lambda M, i: M.ConcatLayer([M.InputLayer((None, 2, 5)), M.InputLayer((None, 3, 5))], axis=i(1))),
    ("BiasLayer", lambda M, i: M.BiasLayer(M.InputLayer((None, 2, 5)), shared_axes=(i(0), i(2)))),
    ("ScaleLayer", lambda M, i: M.ScaleLayer(M.InputLayer((None, 2, 5)), shared_axes=i(0))),
    ("ParametricRectifierLayer", lambda M, i: M.ParametricRectifierLayer(M.InputLayer((None, 2, 5)),
                                                                         shared_axes=(i(0), i(2)))),
    ("DropoutLayer", lambda M, i: M.DropoutLayer(M.InputLayer((None, 2, 5)), shared_axes=(i(1),))),
    ("EmbeddingLayer", lambda M, i: M.EmbeddingLayer(M.InputLayer((None, 3)), i(10), i(4))),
    ("BatchNormLayer", lambda M, i: M.BatchNormLayer(M.InputLayer((None, 2, 5)), axes=(i(0), i(2)))),
    ("StandardizationLayer", lambda M, i: M.StandardizationLayer(M.InputLayer((None, 2, 5)), axes=i(1))),
    ("LocalResponseNormalization2DLayer", lambda M, i: M.LocalResponseNormalization2DLayer(
        M.InputLayer((None, 4, 3, 3)), n=i(3))),
    ("RecurrentLayer", lambda M, i: M.RecurrentLayer(M.InputLayer((None, 4, 3)), i(5))),
    ("LSTMLayer", lambda M, i: M.LSTMLayer(M.InputLayer((None, 4, 3)), i(5))),
    ("GRULayer", lambda M, i: M.GRULayer(M.InputLayer((None, 4, 3)), i(5))),
]


@pytest.mark.parametrize("M", SIDES, ids=["numpy", "theano"])
@pytest.mark.parametrize("int_type", [np.int64, np.int32])
@pytest.mark.parametrize("name,build", NUMPY_INT_CASES, ids=[c[0] for c in NUMPY_INT_CASES])
def test_numpy_integer_hyperparameters_are_accepted_as_lasagne_accepts_them(name: str, build: Callable, int_type: type,
                                                                          M: Any) -> None:
    plain = build(M, int)
    with_numpy = build(M, int_type)
    assert with_numpy.output_shape == plain.output_shape
    assert _param_shapes(with_numpy) == _param_shapes(plain)


@pytest.mark.parametrize("name,build", NUMPY_INT_CASES, ids=[c[0] for c in NUMPY_INT_CASES])
def test_numpy_integer_hyperparameters_compute_the_same_twin(name: str, build: Callable) -> None:
    plain, with_numpy = build(L, int), build(L, np.int64)
    L.set_all_param_values(with_numpy, L.get_all_param_values(plain))
    inputs = {}
    rng = np.random.default_rng(0)
    for inp in L.get_all_layers(plain):
        if isinstance(inp, L.InputLayer):
            shape = tuple(2 if d is None else d for d in inp.shape)
            inputs[inp] = rng.integers(0, 10, shape) if name == "EmbeddingLayer" else rng.standard_normal(shape)
    twin_inputs = {b: inputs[a] for a, b in zip(L.get_all_layers(plain), L.get_all_layers(with_numpy)) if a in inputs}
    np.testing.assert_array_equal(L.get_output(with_numpy, twin_inputs), L.get_output(plain, inputs))


def test_conv1d_num_groups_runs_on_both_sides_and_agrees() -> None:
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 4, 9)).astype(config.floatX)
    th = LT.Conv1DLayer(LT.InputLayer((None, 4, 9)), 6, 3, pad=1, num_groups=2, nonlinearity=None)
    twin = LT.to_numpy(th)
    assert twin.num_groups == 2 and twin.W.shape == (6, 2, 3)
    out = twin(x)
    # groups: input channels 0-1 feed filters 0-2, channels 2-3 feed filters 3-5
    W, b = twin.W.value, twin.b.value
    halves = [L.Conv1DLayer(L.InputLayer((None, 2, 9)), 3, 3, pad=1, W=W[3 * g:3 * g + 3], b=b[3 * g:3 * g + 3],
                            nonlinearity=None)(x[:, 2 * g:2 * g + 2]) for g in range(2)]
    np.testing.assert_allclose(out, np.concatenate(halves, axis=1), rtol=1e-6, atol=1e-6)
    f = function([th.input_layer.input_var], LT.get_output(th))
    # float32 sums of 6 products: far inside 1e-5 relative
    np.testing.assert_allclose(f(x), out, rtol=1e-5, atol=1e-5)


def test_theano_input_layer_axes_declared_as_1_are_broadcastable_so_dimshuffle_drops_them() -> None:
    inp = LT.InputLayer((None, 1, 5))
    assert tuple(inp.input_var.broadcastable) == (False, True, False)
    net = LT.DimshuffleLayer(inp, (0, 2))
    x = np.arange(10, dtype=config.floatX).reshape(2, 1, 5)
    np.testing.assert_array_equal(function([inp.input_var], LT.get_output(net))(x), x[:, 0, :])
    np.testing.assert_array_equal(LT.to_numpy(net)(x), x[:, 0, :])


@pytest.mark.parametrize("fn_name", ["reshape", "np.reshape", "transpose", "sum0", "mean1", "slice"])
def test_expression_layer_auto_output_shape_on_the_twin_is_lasagnes(fn_name: str) -> None:
    """Lasagne probes the function with zeros, free axes as 0, and reports 0 as None."""
    fns = {"reshape": lambda x: x.reshape((x.shape[0], -1)),
           "np.reshape": lambda x: (x.reshape((x.shape[0], -1)) if hasattr(x, "owner") else np.reshape(x, (x.shape[0], -1))),
           "transpose": lambda x: x.T, "sum0": lambda x: x.sum(axis=0), "mean1": lambda x: x.mean(axis=1),
           "slice": lambda x: x[:, :2]}
    th = LT.ExpressionLayer(LT.InputLayer((None, 3, 4)), fns[fn_name], output_shape="auto")
    twin = L.ExpressionLayer(L.InputLayer((None, 3, 4)), fns[fn_name], output_shape="auto")
    assert twin.output_shape == th.output_shape


def test_conv_layers_take_lasagne_masters_positional_order() -> None:
    """Lasagne master: BaseConvLayer(..., flip_filters, num_groups, n); Conv1D/2D/3DLayer(...,
    flip_filters, convolution) with num_groups only by keyword."""
    for M in SIDES:
        inp = M.InputLayer((None, 4, 6, 6))
        base = M.BaseConvLayer(inp, 4, 3, 1, 0, False, M.init.Constant(1.), None, None, True, 2, 2)
        assert (base.num_groups, base.n, base.W.get_value().shape) == (2, 2, (4, 2, 3, 3))
        conv = M.Conv2DLayer(inp, 4, 3, 1, 0, False, M.init.Constant(1.), None, None, True, M.Conv2DLayer.convolve)
        assert conv.convolution is M.Conv2DLayer.convolve and conv.num_groups == 1
        conv3 = M.Conv3DLayer(M.InputLayer((None, 2, 3, 3, 3)), 2, 2, 1, 0, False, M.init.Constant(1.), None, None,
                              True, None, num_groups=2)
        assert conv3.num_groups == 2 and conv3.convolution is conv3.side_defaults["conv3d"]


MISTAKES = [
    lambda M: M.Conv2DLayer(M.InputLayer((None, 3, 8, 8)), 4, 3, num_groups=2),
    lambda M: M.Conv2DLayer(M.InputLayer((None, 3, 8, 8)), 4, 2, pad="same"),
    lambda M: M.Conv2DLayer(M.InputLayer((None, 3, 8, 8)), 4, (3, 3, 3)),
    lambda M: M.Conv2DLayer(M.InputLayer((None, 3, 8, 8)), 4, 3.0),
    lambda M: M.BaseConvLayer(M.InputLayer((None, 3, 8, 8)), 4, 3, n=1),
    lambda M: M.DenseLayer(M.InputLayer((None, 3)), 4, num_leading_axes=2),
    lambda M: M.DenseLayer(M.InputLayer((None, 0)), 4),
    lambda M: M.DenseLayer(M.InputLayer((None, 3)), 4, nonlinearity="relu"),
    lambda M: M.MaxPool2DLayer(M.InputLayer((None, 3, 8)), 2),
    lambda M: M.Pool2DLayer(M.InputLayer((None, 3, 8, 8)), 2, mode="median"),
    lambda M: M.Upscale2DLayer(M.InputLayer((None, 3, 8, 8)), 0),
    lambda M: M.FeaturePoolLayer(M.InputLayer((None, 5, 8)), 2),
    lambda M: M.FlattenLayer(M.InputLayer((None, 3)), 0),
    lambda M: M.ReshapeLayer(M.InputLayer((4, 2, 3)), (5, 7)),
    lambda M: M.DimshuffleLayer(M.InputLayer((None, 2, 3)), (0, 0)),
    lambda M: M.SliceLayer(M.InputLayer((None, 2, 3)), 0, axis=5),
    lambda M: M.ConcatLayer([M.InputLayer((None, 2, 3)), M.InputLayer((None, 2, 3, 4))]),
    lambda M: M.ElemwiseSumLayer([M.InputLayer((None, 2)), M.InputLayer((None, 2))], coeffs=[1]),
    lambda M: M.BatchNormLayer(M.InputLayer((None, 2, 3)), axes=(0, 3)),
    lambda M: M.StandardizationLayer(M.InputLayer((None, 2, 3)), axes="time"),
    lambda M: M.LocalResponseNormalization2DLayer(M.InputLayer((None, 2, 3, 3)), n=4),
    lambda M: M.BiasLayer(M.InputLayer((None, 2, 3)), shared_axes="rows"),
    lambda M: M.RandomizedRectifierLayer(M.InputLayer((None, 2, 3)), lower=0.9, upper=0.1),
    lambda M: M.DropoutLayer(M.InputLayer((None, 2, 3)), p=1.5),
    lambda M: M.ExpressionLayer(M.InputLayer((None, 2, 3)), lambda x: x, output_shape="same"),
    lambda M: M.EmbeddingLayer(M.InputLayer((None, 3)), 0, 4),
    lambda M: M.LSTMLayer(M.InputLayer((None, 3)), 4),
    lambda M: M.GRULayer(M.InputLayer((None, 5, 3)), -1),
    lambda M: M.LSTMLayer(M.InputLayer((None, 5, 3)), 4, ingate=M.Gate(W_cell=None)),
    lambda M: M.CustomRecurrentLayer(M.InputLayer((None, 5, 3)), M.DenseLayer(M.InputLayer((None, 3)), 4),
                                     M.DenseLayer(M.InputLayer((None, 5)), 4)),
]


@pytest.mark.parametrize("index", range(len(MISTAKES)))
def test_one_mistake_gets_one_message_on_both_sides(index: int) -> None:
    errors = []
    for M in SIDES:
        with pytest.raises((ValueError, TypeError, NotImplementedError)) as info:
            MISTAKES[index](M)
        errors.append((type(info.value), str(info.value)))
    assert errors[0] == errors[1]


def test_catalogue_cases_sometimes_pass_integer_hyperparameters_as_numpy_scalars() -> None:
    """The certified cases include numpy integer sizes (a config array's), not only ints."""
    from hypothesis import find, settings

    from harness.registry import get_pair, load_builtin_catalogue
    from harness.strategies import cases

    load_builtin_catalogue()
    case = find(cases(get_pair("Conv2DLayer"), "float64"),
                lambda c: isinstance(c.kwargs["num_filters"], np.integer),
                settings=settings(max_examples=200, derandomize=True, database=None))
    fs = case.kwargs["filter_size"]
    assert all(isinstance(v, np.integer) for v in (fs if isinstance(fs, tuple) else (fs,)))
