"""Networks with several InputLayers and shared ancestors, certified layer by layer.

Three example graphs are built on the Theano side (a residual block, an inception-style
concatenation of four branches, an LSTM fed a mask as a second input), converted with
``layers_theano.to_numpy``, and every intermediate layer's output is compared with the
compiled Theano function returning all of them, in float32 and float64.
"""
import numpy as np
import pytest

import layers_np as L
import layers_theano as LT
from harness.compare import compare_arrays
from harness.tolerance import default_tolerance
from layers_theano.backend import config, function

NL = LT.nonlinearities


def residual_block():
    x = LT.InputLayer((None, 6), name="x")
    h = LT.DenseLayer(x, 8, name="d1")
    h = LT.DenseLayer(h, 6, nonlinearity=None, name="d2")
    s = LT.ElemwiseSumLayer([h, x], name="sum")
    return LT.DenseLayer(s, 3, nonlinearity=NL.softmax, name="out")


def inception_block():
    x = LT.InputLayer((None, 4, 5), name="x")
    b1 = LT.NINLayer(x, 3, name="b1")
    b2 = LT.NINLayer(LT.NINLayer(x, 4, name="b2a"), 2, nonlinearity=NL.tanh, name="b2")
    b3 = LT.NINLayer(LT.NINLayer(x, 2, nonlinearity=NL.sigmoid, name="b3a"), 3, name="b3")
    b4 = LT.NINLayer(x, 1, nonlinearity=None, name="b4")
    cat = LT.ConcatLayer([b1, b2, b3, b4], axis=1, name="cat")
    return LT.DenseLayer(cat, 2, nonlinearity=None, name="out")


def masked_lstm():
    x = LT.InputLayer((None, 6, 3), name="x")
    m = LT.InputLayer((None, 6), name="mask")
    lstm = LT.LSTMLayer(x, 5, mask_input=m, name="lstm")
    gru = LT.GRULayer(lstm, 4, mask_input=m, backwards=True, only_return_final=True, name="gru")
    return LT.DenseLayer(gru, 3, nonlinearity=NL.softmax, name="out")


GRAPHS = {"residual": residual_block, "inception": inception_block, "masked_lstm": masked_lstm}


def _inputs(layers, rng, dtype):
    arrays = {}
    for l in layers:
        if l.name == "mask":
            arrays[l.name] = (rng.random((3, l.shape[1])) < 0.7).astype(dtype)
        else:
            arrays[l.name] = rng.standard_normal((3,) + tuple(l.shape[1:])).astype(dtype)
    return arrays


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("graph", sorted(GRAPHS))
def test_every_layer_matches_theano(graph, dtype):
    with config.change_flags(floatX=dtype):
        out = GRAPHS[graph]()
        layers = LT.get_all_layers(out)
        inputs = [l for l in layers if isinstance(l, LT.InputLayer)]
        inner = [l for l in layers if not isinstance(l, LT.InputLayer)]
        fn = function([i.input_var for i in inputs], LT.get_output(inner))
    twin = LT.to_numpy(out)
    twin_layers = L.get_all_layers(twin)
    assert [type(l).__name__ for l in twin_layers] == [type(l).__name__ for l in layers]
    twin_inputs = [l for l in twin_layers if isinstance(l, L.InputLayer)]
    twin_inner = [l for l in twin_layers if not isinstance(l, L.InputLayer)]
    tol = default_tolerance(dtype)
    for seed in range(3):
        arrays = _inputs(inputs, np.random.default_rng(seed), dtype)
        want = fn(*[arrays[i.name] for i in inputs])
        got = L.get_output(twin_inner, {l: arrays[l.name] for l in twin_inputs})
        assert len(want) == len(got) == len(inner)
        for layer, a, b in zip(inner, want, got):
            cmp = compare_arrays(a, b, tol)
            assert cmp.ok, cmp.message(f"{graph} layer {layer.name} ({type(layer).__name__}), seed {seed}")


@pytest.mark.parametrize("graph", sorted(GRAPHS))
def test_certify_network(graph):
    from harness import network
    with config.change_flags(floatX="float64"):
        out = GRAPHS[graph]()
    report = network.certify_network(out, n_batches=2, batch_size=3)
    assert report.ok, report.message()
    assert len(report.rows) == len([l for l in LT.get_all_layers(out) if not isinstance(l, LT.InputLayer)])


def test_one_pass_evaluates_each_layer_once():
    twin = LT.to_numpy(inception_block())
    layers = L.get_all_layers(twin)
    calls = {}
    for l in layers:
        if isinstance(l, L.InputLayer):
            continue
        original = l.get_output_for

        def counted(*args, _l=l, _f=original, **kwargs):
            calls[_l.name] = calls.get(_l.name, 0) + 1
            return _f(*args, **kwargs)
        l.get_output_for = counted
    x = np.random.default_rng(0).standard_normal((2, 4, 5))
    outputs = L.get_output([l for l in layers if l.name in ("b1", "b2", "cat", "out", "b2a")], x)
    assert len(outputs) == 5
    assert calls == {l.name: 1 for l in layers if not isinstance(l, L.InputLayer)}


def test_layer_call_chaining():
    twin = LT.to_numpy(residual_block())
    x = np.random.default_rng(1).standard_normal((2, 6))
    by_name = {l.name: l for l in L.get_all_layers(twin)}
    np.testing.assert_array_equal(twin(x), L.get_output(twin, x))
    np.testing.assert_array_equal(by_name["d2"](x), L.get_output(by_name["d2"], x))
    np.testing.assert_allclose(by_name["sum"](x), by_name["d2"](x) + x)


@pytest.mark.parametrize("graph", sorted(GRAPHS))
def test_evaluate_layer_alone_equals_get_output(graph):
    """layers_np.evaluate_layer on the incoming layers' outputs gives what get_output gives,
    for single-input, merge and recurrent (mask as an extra input) layers."""
    from layers_np.base import incoming_layers

    twin = LT.to_numpy(GRAPHS[graph]())
    layers = L.get_all_layers(twin)
    twin_inputs = [l for l in layers if isinstance(l, L.InputLayer)]
    arrays = _inputs(twin_inputs, np.random.default_rng(4), "float64")
    outputs = L.get_output(layers, {l: arrays[l.name] for l in twin_inputs})
    by_layer = dict(zip(map(id, layers), outputs))
    for layer, want in zip(layers, outputs):
        if isinstance(layer, L.InputLayer):
            continue
        alone = L.evaluate_layer(layer, {c: by_layer[id(c)] for c in incoming_layers(layer)})
        np.testing.assert_array_equal(alone, want)
    last = layers[-1]
    with pytest.raises(L.TwinError, match="no array given for"):
        L.evaluate_layer(last, {})
    with pytest.raises(L.TwinError, match="InputLayer"):
        L.evaluate_layer(twin_inputs[0], {})
