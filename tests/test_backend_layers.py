"""Lasagne's backend layer names (``dnn``, ``corrmm``, ``cuda_convnet``) and graph helpers
(``batch_norm``, ``instance_norm``, ``layer_norm``, ``standardize``, ``get_output_shape`` ...):
module paths, their own defaults, the layer sequences Lasagne master builds, and outputs twin
vs Theano. Certification of each class is in ``harness/catalogue/backends.py``.
"""
from __future__ import annotations

import importlib

import numpy as np
import pytest

import layers_np as L
import layers_theano as LT
from harness.compare import compare_arrays
from harness.tolerance import default_tolerance
from layers_theano.backend import config, function

SIDES = {"numpy": L, "theano": LT}


def _theano_out(layer, x):
    inputs = [l for l in LT.get_all_layers(layer) if isinstance(l, LT.InputLayer)]
    return function([inputs[0].input_var], LT.get_output(layer, deterministic=True))(x)


def _correlate2d(x: np.ndarray, W: np.ndarray) -> np.ndarray:
    """Valid 2-D cross-correlation written out (the reference for flip_filters=False)."""
    n, c, h, w = x.shape
    f, _, kh, kw = W.shape
    out = np.zeros((n, f, h - kh + 1, w - kw + 1))
    for i in range(kh):
        for j in range(kw):
            out += np.einsum("nchw,fc->nfhw", x[:, :, i:i + h - kh + 1, j:j + w - kw + 1], W[:, :, i, j])
    return out


# --------------------------------------------------------------------------- module paths
@pytest.mark.parametrize("path,names", [
    ("layers_np.dnn", ["Conv2DDNNLayer", "Conv3DDNNLayer", "MaxPool2DDNNLayer", "Pool2DDNNLayer", "MaxPool3DDNNLayer",
                       "Pool3DDNNLayer", "BatchNormDNNLayer", "batch_norm_dnn", "SpatialPyramidPoolingDNNLayer"]),
    ("layers_theano.dnn", ["Conv2DDNNLayer", "Conv3DDNNLayer", "batch_norm_dnn"]),
    ("layers_theano.layers.dnn", ["Conv2DDNNLayer", "Conv3DDNNLayer", "MaxPool2DDNNLayer", "Pool2DDNNLayer",
                                  "MaxPool3DDNNLayer", "Pool3DDNNLayer", "BatchNormDNNLayer", "batch_norm_dnn",
                                  "SpatialPyramidPoolingDNNLayer"]),
    ("layers_np.corrmm", ["Conv2DMMLayer"]),
    ("layers_theano.layers.corrmm", ["Conv2DMMLayer"]),
    ("layers_np.cuda_convnet", ["Conv2DCCLayer", "MaxPool2DCCLayer", "ShuffleBC01ToC01BLayer", "bc01_to_c01b",
                                "ShuffleC01BToBC01Layer", "c01b_to_bc01", "NINLayer_c01b"]),
    ("layers_theano.layers.cuda_convnet", ["Conv2DCCLayer", "MaxPool2DCCLayer", "ShuffleBC01ToC01BLayer",
                                           "bc01_to_c01b", "ShuffleC01BToBC01Layer", "c01b_to_bc01", "NINLayer_c01b"]),
])
def test_lasagne_module_paths(path: str, names: list) -> None:
    """``from lasagne.layers.dnn import Conv2DDNNLayer`` has a counterpart on each side."""
    module = importlib.import_module(path)
    package = LT if path.startswith("layers_theano") else L
    for name in names:
        assert getattr(module, name) is getattr(package, name), f"{path}.{name}"
        assert name in module.__all__


def test_lasagne_spelling_through_the_theano_package() -> None:
    import layers_theano as lasagne

    assert lasagne.layers.dnn.Conv2DDNNLayer is LT.Conv2DDNNLayer
    assert lasagne.layers.batch_norm is LT.batch_norm and lasagne.layers.get_output_shape is L.get_output_shape


# --------------------------------------------------------------------------- own defaults
@pytest.mark.parametrize("side", sorted(SIDES))
def test_dnn_convolution_is_a_correlation_by_default(side: str) -> None:
    """The most reported GPU-to-CPU bug: Conv2DDNNLayer defaults to flip_filters=False."""
    X = SIDES[side]
    rng = np.random.RandomState(0)
    x = rng.randn(2, 2, 5, 6)
    W = rng.randn(3, 2, 2, 3)
    l_in = X.InputLayer((None, 2, 5, 6))
    dnn = X.Conv2DDNNLayer(l_in, 3, (2, 3), W=W, b=None, nonlinearity=None)
    plain = X.Conv2DLayer(l_in, 3, (2, 3), W=W, b=None, nonlinearity=None)
    assert dnn.flip_filters is False and plain.flip_filters is True
    run = (lambda l: l(x)) if side == "numpy" else (lambda l: _theano_out(l, x))
    np.testing.assert_allclose(run(dnn), _correlate2d(x, W), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(run(plain), _correlate2d(x, W[:, :, ::-1, ::-1]), rtol=1e-12, atol=1e-12)
    assert not np.allclose(run(dnn), run(plain))


@pytest.mark.parametrize("side", sorted(SIDES))
def test_dnn_restrictions(side: str) -> None:
    X = SIDES[side]
    with pytest.raises(NotImplementedError, match="Pool2DDNNLayer does not support ignore_border=False"):
        X.MaxPool2DDNNLayer((1, 1, 4, 4), 2, ignore_border=False)
    with pytest.raises(NotImplementedError, match="Pool3DDNNLayer does not support ignore_border=False"):
        X.Pool3DDNNLayer((1, 1, 4, 4, 4), 2, ignore_border=False)
    with pytest.raises(ValueError, match=r"only supports normalization across the first axis.*axes=\(0, 1\)"):
        X.BatchNormDNNLayer((2, 3, 4), axes=(0, 1))
    with pytest.raises(NotImplementedError, match="requires odd filter size"):
        X.Conv2DDNNLayer((1, 1, 4, 4), 2, 2, pad="same")
    assert X.Conv3DDNNLayer((1, 1, 3, 3, 3), 2, 2).flip_filters is False
    assert X.SpatialPyramidPoolingDNNLayer((1, 2, 8, 8)).implementation == "fast"
    assert X.BatchNormDNNLayer((2, 3)).axes == (0,)


@pytest.mark.parametrize("side", sorted(SIDES))
def test_cuda_convnet_restrictions_and_layout(side: str) -> None:
    X = SIDES[side]
    with pytest.raises(RuntimeError, match="only supports square filters"):
        X.Conv2DCCLayer((1, 3, 8, 8), 16, (3, 2))
    with pytest.raises(RuntimeError, match="only supports square strides"):
        X.Conv2DCCLayer((1, 3, 8, 8), 16, 3, stride=(1, 2))
    with pytest.raises(RuntimeError, match="num_filters to be a multiple of 16"):
        X.Conv2DCCLayer((1, 3, 8, 8), 8, 3)
    with pytest.raises(RuntimeError, match="1, 2, 3 or a multiple of 4, but it is 5"):
        X.Conv2DCCLayer((1, 5, 8, 8), 16, 3)
    with pytest.raises(RuntimeError, match="only supports square padding"):
        X.Conv2DCCLayer((1, 3, 8, 8), 16, 3, pad=(1, 0))
    with pytest.raises(NotImplementedError, match="does not support padding"):
        X.MaxPool2DCCLayer((1, 3, 8, 8), 2, pad=1)
    with pytest.raises(NotImplementedError, match="stride <= pool_size"):
        X.MaxPool2DCCLayer((1, 3, 8, 8), 2, stride=3)
    with pytest.raises(NotImplementedError, match="does not support ignore_border=True"):
        X.MaxPool2DCCLayer((1, 3, 8, 8), 2, ignore_border=True)
    c01b = X.Conv2DCCLayer((3, 8, 8, None), 16, 3, dimshuffle=False, untie_biases=True)
    assert [(p.name, p.get_value().shape) for p in c01b.get_params()] == [("W", (3, 3, 3, 16)), ("b", (16, 6, 6))]
    assert c01b.output_shape == (16, 6, 6, None) and c01b.flip_filters is False
    assert X.bc01_to_c01b is X.ShuffleBC01ToC01BLayer and X.c01b_to_bc01 is X.ShuffleC01BToBC01Layer


def test_c01b_convolution_is_the_bc01_one_transposed() -> None:
    """Conv2DCCLayer(dimshuffle=False) on c01b arrays computes what dimshuffle=True computes on bc01."""
    rng = np.random.RandomState(3)
    x = rng.randn(2, 3, 7, 7)
    W = rng.randn(16, 3, 3, 3)
    bc01 = L.Conv2DCCLayer(L.InputLayer((None, 3, 7, 7)), 16, 3, pad="full", W=W, nonlinearity=None)
    c01b = L.Conv2DCCLayer(L.InputLayer((3, 7, 7, None)), 16, 3, pad="full", W=W.transpose(1, 2, 3, 0), dimshuffle=False,
                           nonlinearity=None)
    np.testing.assert_array_equal(c01b(x.transpose(1, 2, 3, 0)), bc01(x).transpose(1, 2, 3, 0))
    np.testing.assert_allclose(bc01(x)[:, :, 2:-2, 2:-2], _correlate2d(x, W), rtol=1e-12, atol=1e-12)


# --------------------------------------------------------------------------- batch_norm
def _sequence(layer, X):
    return [(type(l).__name__, l.name, [(p.name, tuple(p.get_value().shape)) for p in l.get_params()])
            for l in X.get_all_layers(layer)]


@pytest.mark.parametrize("side", sorted(SIDES))
@pytest.mark.parametrize("helper", ["batch_norm", "batch_norm_dnn"])
def test_batch_norm_builds_lasagne_masters_sequence(side: str, helper: str) -> None:
    """Master: drop b and the nonlinearity, BatchNormLayer '<name>_bn', NonlinearityLayer '<name>_bn_nonlin'."""
    X = SIDES[side]
    bn_cls = "BatchNormLayer" if helper == "batch_norm" else "BatchNormDNNLayer"
    l_in = X.InputLayer((None, 3, 6, 6), name="in")
    conv = X.Conv2DLayer(l_in, 4, 3, name="conv")
    out = getattr(X, helper)(conv)
    assert conv.b is None and conv.nonlinearity is X.nonlinearities.identity
    assert _sequence(out, X) == [
        ("InputLayer", "in", []),
        ("Conv2DLayer", "conv", [("conv.W", (4, 3, 3, 3))]),
        (bn_cls, "conv_bn", [("conv_bn.beta", (4,)), ("conv_bn.gamma", (4,)), ("conv_bn.mean", (4,)),
                             ("conv_bn.inv_std", (4,))]),
        ("NonlinearityLayer", "conv_bn_nonlin", []),
    ]
    assert out.nonlinearity is X.nonlinearities.rectify
    # an explicit name, other kwargs passed on; a layer without bias or nonlinearity gets none
    dense = X.DenseLayer(X.InputLayer((None, 5)), 3, b=None, nonlinearity=None)
    out = getattr(X, helper)(dense, name="bn", beta=None)
    assert [(type(l).__name__, l.name) for l in X.get_all_layers(out)][1:] == [
        ("DenseLayer", None), (bn_cls, "bn"), ("NonlinearityLayer", "bn_nonlin")]
    assert [p.name for p in out.input_layer.get_params()] == ["bn.gamma", "bn.mean", "bn.inv_std"]
    pool = X.MaxPool2DLayer(l_in, 2)
    out = getattr(X, helper)(pool)
    assert type(out).__name__ == bn_cls and out.name is None


def _random_values(layer, rng):
    return [rng.uniform(0.5, 1.5, size=np.shape(v)) for v in L.get_all_param_values(layer)]


@pytest.mark.parametrize("dtype", ["float32"])  # each class is certified in both dtypes; one big compile here
def test_helper_networks_twin_vs_theano(dtype: str) -> None:
    """batch_norm, batch_norm_dnn, instance_norm, layer_norm and standardize: the twin network
    built by the twin helpers computes what the Theano network built by the Theano helpers does."""
    rng = np.random.RandomState(1)
    x = rng.randn(2, 3, 5, 5).astype(dtype)
    offset, scale = rng.randn(3).astype(dtype), rng.uniform(0.5, 2, 3).astype(dtype)

    def build(X):
        l = X.InputLayer((None, 3, 5, 5))
        l = X.standardize(l, offset, scale)
        l = X.batch_norm(X.Conv2DLayer(l, 4, 3, pad="same", name="c1"))
        l = X.batch_norm_dnn(X.Conv2DDNNLayer(l, 4, 3, name="c2", nonlinearity=X.nonlinearities.tanh))
        l = X.instance_norm(X.Conv2DLayer(l, 3, 1, name="c3"))
        l = X.layer_norm(X.DenseLayer(l, 6, name="d"))
        return l

    with config.change_flags(floatX=dtype):  # Theano computes in floatX, as the harness runs it
        net_np, net_th = build(L), build(LT)
        assert _sequence(net_np, L) == _sequence(net_th, LT)
        values = [v.astype(dtype) for v in _random_values(net_np, rng)]
        L.set_all_param_values(net_np, values)
        LT.set_all_param_values(net_th, values)
        got, want = net_np(x), _theano_out(net_th, x)
    assert got.dtype == want.dtype == np.dtype(dtype)
    report = compare_arrays(want, got, default_tolerance(dtype))
    assert report.ok, report


def test_helpers_record_what_they_removed(tmp_path) -> None:
    """An export (and to_numpy) rebuilds layers from their recorded arguments: a layer whose bias
    and nonlinearity batch_norm removed, or whose nonlinearity prelu removed, must come back
    without them (before the fix, the file's spec gave the convolution a bias again)."""
    rng = np.random.RandomState(2)
    l = L.InputLayer((None, 3, 6, 6))
    l = L.batch_norm(L.Conv2DDNNLayer(l, 4, 3, name="c"))
    l = L.prelu(L.DenseLayer(L.MaxPool2DDNNLayer(l, 2), 5))
    L.set_all_param_values(l, _random_values(l, rng))
    L.save(l, tmp_path / "m.npz")
    x = rng.randn(2, 3, 6, 6)
    loaded = L.load(tmp_path / "m.npz")
    np.testing.assert_array_equal(loaded(x), l(x))
    th = LT.batch_norm(LT.Conv2DDNNLayer(LT.InputLayer((None, 3, 6, 6)), 4, 3))
    twin = LT.to_numpy(th)
    conv = twin.input_layer.input_layer
    assert type(conv) is L.Conv2DDNNLayer and conv.b is None and conv.nonlinearity is L.nonlinearities.identity


# --------------------------------------------------------------------------- InverseLayer
@pytest.mark.parametrize("side", sorted(SIDES))
def test_inverse_layer_structure(side: str) -> None:
    """Master: a MergeLayer of [incoming, layer, layer.input_layer] with layer's input shape."""
    X = SIDES[side]
    l_in = X.InputLayer((None, 3, 8, 8))
    conv = X.Conv2DLayer(l_in, 4, 3)
    dense = X.DenseLayer(conv, 5)
    inv = X.InverseLayer(X.InverseLayer(dense, dense), conv)
    assert inv.input_layers[1] is conv and inv.input_layers[2] is l_in
    assert inv.output_shape == (None, 3, 8, 8) and inv.input_layers[0].output_shape == (None, 4, 6, 6)
    assert X.InverseLayer(dense, dense).get_params() == []


def test_inverse_layer_refuses_what_has_no_numpy_formula() -> None:
    l_in = L.InputLayer((None, 3, 8, 8))
    with pytest.raises(L.TwinError, match="InverseLayer of DenseLayer: the derivative of nonlinearity 'tanh'"):
        d = L.DenseLayer(l_in, 4, nonlinearity=L.nonlinearities.tanh)
        L.InverseLayer(d, d)
    with pytest.raises(L.TwinError, match="InverseLayer of Pool2DLayer: Theano computes theano.grad"):
        p = L.Pool2DLayer(l_in, 2, mode="average_inc_pad")
        L.InverseLayer(p, p)
    with pytest.raises(L.TwinError, match="num_groups=3 is not supported"):
        c = L.Conv2DLayer(l_in, 3, 3, num_groups=3)
        L.InverseLayer(c, c)


def test_inverse_of_max_pooling_routes_to_every_maximum() -> None:
    """Theano's MaxPoolGrad gives a window's gradient to every element equal to its max (ties
    included), summed over overlapping windows; written out for a 1-row example."""
    l_in = L.InputLayer((1, 1, 1, 5))
    pool = L.MaxPool2DLayer(l_in, (1, 3), stride=(1, 2))  # windows [0:3], [2:5]
    g_in = L.InputLayer((1, 1, 1, 2))
    inv = L.InverseLayer(g_in, pool)
    x = np.array([[[[1.0, 3.0, 3.0, 0.0, 2.0]]]])
    g = np.array([[[[10.0, 100.0]]]])
    got = L.get_output(inv, {l_in: x, g_in: g})
    np.testing.assert_array_equal(got, [[[[0.0, 10.0, 110.0, 0.0, 0.0]]]])
    t_in, t_g = LT.InputLayer((1, 1, 1, 5)), LT.InputLayer((1, 1, 1, 2))
    t_inv = LT.InverseLayer(t_g, LT.MaxPool2DLayer(t_in, (1, 3), stride=(1, 2)))
    with config.change_flags(floatX="float64"):
        fn = function([t_in.input_var, t_g.input_var], LT.get_output(t_inv))
    np.testing.assert_array_equal(fn(x, g), got)


def test_inverse_layer_exports_and_converts(tmp_path) -> None:
    rng = np.random.RandomState(4)
    l_in = L.InputLayer((None, 4))
    dense = L.DenseLayer(l_in, 3)
    inv = L.InverseLayer(dense, dense)
    L.set_all_param_values(inv, _random_values(inv, rng))
    L.save(inv, tmp_path / "inv.npz")
    loaded = L.load(tmp_path / "inv.npz")
    x = rng.randn(2, 4)
    np.testing.assert_array_equal(loaded(x), inv(x))
    th_dense = LT.DenseLayer(LT.InputLayer((None, 4)), 3)
    twin = LT.to_numpy(LT.InverseLayer(th_dense, th_dense))
    assert type(twin) is L.InverseLayer and twin.input_layers[0] is twin.input_layers[1]


# --------------------------------------------------------------------------- other helpers
@pytest.mark.parametrize("side", sorted(SIDES))
def test_dropout_and_rectifier_helpers_match_master(side: str) -> None:
    """Master noise.py: dropout is DropoutLayer; dropout_channels (spatial_dropout) shares the mask
    over axes 2.., dropout_locations over axis 1. special.py: prelu/rrelu set the layer's
    nonlinearity to identity and stack ParametricRectifierLayer ('alpha', shared 'auto') /
    RandomizedRectifierLayer."""
    X = SIDES[side]
    l_in = X.InputLayer((None, 3, 4, 5))
    assert X.dropout is X.DropoutLayer and X.spatial_dropout is X.dropout_channels
    assert X.dropout_channels(l_in, p=0.3).shared_axes == (2, 3)
    assert X.dropout_locations(l_in).shared_axes == (1,)
    assert X.dropout_channels(X.InputLayer((None, 3, 4)), 0.2).p == 0.2
    conv = X.Conv2DLayer(l_in, 2, 3, name="c")
    pr = X.prelu(conv, name="pr")
    assert conv.nonlinearity is X.nonlinearities.identity and type(pr).__name__ == "ParametricRectifierLayer"
    assert [(p.name, tuple(p.get_value().shape)) for p in pr.get_params()] == [("pr.alpha", (2,))]
    rr = X.rrelu(X.DenseLayer(l_in, 4))
    assert type(rr).__name__ == "RandomizedRectifierLayer" and rr.input_layer.nonlinearity is X.nonlinearities.identity


@pytest.mark.parametrize("side", sorted(SIDES))
def test_get_output_shape_as_master(side: str) -> None:
    X = SIDES[side]
    a, b = X.InputLayer((None, 3, 8, 8)), X.InputLayer((None, 3, 8, 8))
    pool = X.MaxPool2DDNNLayer(X.Conv2DDNNLayer(a, 4, 3, pad="same"), 2)
    assert X.get_output_shape(pool) == (None, 4, 4, 4)
    assert X.get_output_shape([pool, a], (5, 3, 10, 12)) == [(5, 4, 5, 6), (5, 3, 10, 12)]
    assert X.get_output_shape(pool, {pool.input_layer: (2, 4, 6, 6)}) == (2, 4, 3, 3)
    merged = X.ElemwiseSumLayer([a, b])
    assert X.get_output_shape(merged, {a: (2, 3, 8, 8), b: (2, 3, 8, 8)}) == (2, 3, 8, 8)
    with pytest.raises(ValueError, match="single input shape on a network with multiple input layers"):
        X.get_output_shape(merged, (2, 3, 8, 8))


@pytest.mark.parametrize("helper", ["batch_norm", "prelu", "layer_norm"])
def test_a_layer_called_before_a_helper_changed_it_computes_its_new_output(helper: str) -> None:
    """The planned runtime of an earlier ``conv(x)`` captured its bias and nonlinearity; after
    the helper removed them, ``conv(x)`` must compute without them (as Lasagne would)."""
    rng = np.random.RandomState(5)
    x = rng.randn(2, 3, 6, 6)
    conv = L.Conv2DLayer(L.InputLayer((None, 3, 6, 6)), 4, 3, b=L.init.Constant(5.0))
    conv(x)
    conv(x)  # the remembered fast path
    getattr(L, helper)(conv)
    linear = L.Conv2DLayer(L.InputLayer((None, 3, 6, 6)), 4, 3, W=conv.W.value, nonlinearity=None,
                           b=None if conv.b is None else conv.b.value)
    np.testing.assert_array_equal(conv(x), linear(x))


@pytest.mark.parametrize("side", sorted(SIDES))
def test_instance_norm_layer_norm_standardize_sequences(side: str) -> None:
    """Master normalization.py instance_norm/layer_norm and special.py standardize: layer order,
    names, parameters (ScaleLayer 'scales', BiasLayer 'b', shared over 'auto') and tags."""
    X = SIDES[side]
    conv = X.Conv2DLayer(X.InputLayer((None, 3, 6, 6)), 4, 3, name="c")
    out = X.instance_norm(conv)
    assert _sequence(out, X)[1:] == [
        ("Conv2DLayer", "c", [("c.W", (4, 3, 3, 3))]),
        ("StandardizationLayer", "c_in", []),
        ("ScaleLayer", "c_in_scale", [("c_in_scale.scales", (4,))]),
        ("BiasLayer", "c_in_bias", [("c_in_bias.b", (4,))]),
        ("NonlinearityLayer", "c_in_nonlin", []),
    ]
    assert out.input_layer.input_layer.input_layer.axes == (2, 3)
    plain = X.instance_norm(X.Conv2DLayer(X.InputLayer((None, 3, 6, 6)), 4, 3, nonlinearity=None),
                            learn_scale=False, learn_bias=False)
    assert [type(l).__name__ for l in X.get_all_layers(plain)] == [
        "InputLayer", "Conv2DLayer", "StandardizationLayer", "NonlinearityLayer"]
    dense = X.DenseLayer(X.InputLayer((None, 5)), 6, name="d", nonlinearity=None)
    out = X.layer_norm(dense, epsilon=1e-3)
    assert _sequence(out, X)[1:] == [
        ("DenseLayer", "d", [("d.W", (5, 6))]),
        ("StandardizationLayer", "d_ln", []),
        ("ScaleLayer", "d_ln_scale", [("d_ln_scale.scales", (6,))]),
        ("BiasLayer", "d_ln_bias", [("d_ln_bias.b", (6,))]),
        ("NonlinearityLayer", "d_ln_nonlin", []),
    ]
    assert out.input_layer.input_layer.input_layer.axes == (1,) and out.input_layer.input_layer.input_layer.epsilon == 1e-3
    offset, scale = np.array([1.0, 2.0, 3.0]), np.array([2.0, 4.0, 8.0])
    std = X.standardize(X.InputLayer((None, 3)), offset, scale, shared_axes=0)
    bias = std.input_layer
    assert (type(bias).__name__, type(std).__name__) == ("BiasLayer", "ScaleLayer")
    np.testing.assert_array_equal(bias.b.get_value(), -offset)
    np.testing.assert_array_equal(std.scales.get_value(), 1.0 / scale)
    assert X.get_all_params(std, trainable=True) == [] and len(X.get_all_params(std)) == 2


def test_lasagne_alias_runs_recipes_style_imports_unchanged() -> None:
    """In a fresh process (the alias changes sys.modules for good): Recipes-style imports."""
    import subprocess
    import sys

    code = (
        "from layers_theano import lasagne_alias; lasagne_alias.enable()\n"
        "from lasagne.layers import InputLayer, DenseLayer, NonlinearityLayer\n"
        "from lasagne.layers.dnn import Conv2DDNNLayer as ConvLayer, MaxPool2DDNNLayer as PoolLayer\n"
        "from lasagne.layers.corrmm import Conv2DMMLayer\n"
        "from lasagne.layers.cuda_convnet import Conv2DCCLayer\n"
        "from lasagne.layers import batch_norm\n"
        "from lasagne.nonlinearities import softmax\n"
        "import lasagne, layers_theano\n"
        "net = InputLayer((None, 3, 8, 8))\n"
        "net = batch_norm(ConvLayer(net, 4, 3, pad=1))\n"
        "net = DenseLayer(PoolLayer(net, 2), 5, nonlinearity=softmax)\n"
        "assert lasagne.layers.get_output_shape(net) == (None, 5) and ConvLayer is layers_theano.Conv2DDNNLayer\n"
        "assert lasagne.init.GlorotUniform is layers_theano.init.GlorotUniform\n"
        "try:\n    import lasagne.updates\nexcept ImportError:\n    print('ok')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]
    code = ("from layers_theano import lasagne_alias, theano_compat\ntheano_compat.enable()\nimport lasagne\n"
            "lasagne_alias.enable()\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 1 and "the real lasagne is already imported" in done.stderr
