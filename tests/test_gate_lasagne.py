"""``twins gate`` on a factory returning a real Lasagne 0.1 network (run through the theano shim).

The twin is built by ``from_lasagne`` (semantics from Lasagne's version) and certified layer by
layer against the converted layers_theano network and against Lasagne's own graph.
"""
from __future__ import annotations

import json
import os

import numpy as np
import pytest

import layers_np as L
from harness.gate import gate_main
from layers_theano import from_lasagne, theano_compat

HERE = os.path.abspath(__file__)


def lasagne_lstm():
    """Conv, pool, dense and an LSTM with peepholes and a mask: 0.1's output gate differs from master's."""
    theano_compat.enable()
    import lasagne
    from lasagne import layers as LL

    lasagne.random.set_rng(np.random.RandomState(4))
    net = LL.InputLayer((None, 2, 6, 6), name="image")
    net = LL.Conv2DLayer(net, 3, 3, pad=1, name="conv")
    net = LL.MaxPool2DLayer(net, 2, name="pool")
    net = LL.DenseLayer(net, 8, nonlinearity=lasagne.nonlinearities.tanh, name="dense")
    net = LL.ReshapeLayer(net, ([0], 4, 2), name="steps")
    mask = LL.InputLayer((None, 4), name="mask")
    net = LL.LSTMLayer(net, 3, mask_input=mask, name="lstm")
    # larger peepholes make the 0.1/master difference large enough for any tolerance
    for p in (net.W_cell_to_ingate, net.W_cell_to_forgetgate, net.W_cell_to_outgate):
        p.set_value(np.full(3, 2.0))
    return LL.DenseLayer(LL.SliceLayer(net, -1, axis=1), 2, nonlinearity=lasagne.nonlinearities.softmax, name="out")



def lasagne_subclass():
    theano_compat.enable()
    from lasagne import layers as LL

    class MyDense(LL.DenseLayer):
        pass

    return MyDense(LL.InputLayer((None, 3)), 2)


def test_gate_certifies_a_lasagne_network(tmp_path, capsys):
    out = tmp_path / "model.npz"
    code = gate_main([f"{HERE}:lasagne_lstm", "-o", str(out), "--report-dir", str(tmp_path), "--profile", "dev"])
    printed = capsys.readouterr()
    assert code == 0, printed.err + printed.out
    verdict = json.loads((tmp_path / "gate_test_gate_lasagne.lasagne_lstm_verdict.json").read_text())
    assert verdict["verdict"] == "certified"
    model = L.load(out)
    lstm = [l for l in L.get_all_layers(model) if type(l).__name__ == "LSTMLayer"][0]
    assert lstm.semantics == "0.1"  # from the installed Lasagne's version, recorded in the file

    import lasagne
    net = lasagne_lstm()
    inputs = [l for l in lasagne.layers.get_all_layers(net) if isinstance(l, lasagne.layers.InputLayer)]
    rng = np.random.RandomState(0)
    x, m = rng.normal(size=(3, 2, 6, 6)), (rng.uniform(size=(3, 4)) < 0.7).astype("float64")
    from layers_theano import backend
    ref = backend.function([l.input_var for l in inputs], lasagne.layers.get_output(net, deterministic=True))(x, m)
    twin_inputs = [l for l in L.get_all_layers(model) if isinstance(l, L.InputLayer)]
    np.testing.assert_allclose(L.get_output(model, dict(zip(twin_inputs, [x, m]))), ref, rtol=1e-7, atol=1e-8)


def test_gate_exports_a_lasagne_subclass_as_its_graph(tmp_path, capsys):
    """A user's subclass of a Lasagne layer has no twin class: from_lasagne(side='numpy') refuses it,
    the gate keeps it as Lasagne computes it and exports it through the graph fallback, certified
    against layers_theano, node by node and against Lasagne's own graph."""
    net = lasagne_subclass()
    with pytest.raises(TypeError, match="MyDense has no twin"):
        from_lasagne(net)
    out = tmp_path / "model.npz"
    code = gate_main([f"{HERE}:lasagne_subclass", "-o", str(out), "--report-dir", str(tmp_path), "--profile", "dev"])
    printed = capsys.readouterr()
    assert code == 0, printed.err + printed.out
    assert "1 graph-fallback layer(s) also agree node by node" in printed.out
    entry = L.io.read_spec(out)["layers"][1]
    assert entry["class"] == "GraphLayer" and entry["args"]["source"].endswith("lasagne_subclass.<locals>.MyDense")
    model = L.load(out)
    assert [p.name for p in L.get_all_params(model)] == [p.name for p in net.get_params()]
    # the factory's weights are drawn afresh on each call: the exported ones give Lasagne's relu(XW + b)
    W, b = L.get_all_param_values(model)
    X = np.random.default_rng(1).standard_normal((4, 3)).astype(W.dtype)
    np.testing.assert_allclose(model(X), np.maximum(X @ W + b, 0), rtol=1e-7, atol=1e-8)


def test_gate_finds_a_twin_that_only_matches_layers_theano(tmp_path, capsys, monkeypatch):
    """With master semantics forced on a Lasagne 0.1 network, the twin and the converted
    layers_theano network agree with each other; only Lasagne's own graph exposes it."""
    import layers_theano.lasagne_bridge as bridge

    monkeypatch.setattr(bridge, "lasagne_semantics", lambda layer: "master")
    out = tmp_path / "model.npz"
    code = gate_main([f"{HERE}:lasagne_lstm", "-o", str(out), "--report-dir", str(tmp_path), "--profile", "dev"])
    capsys.readouterr()
    assert code == 1 and not out.exists()
    message = json.loads((tmp_path / "gate_test_gate_lasagne.lasagne_lstm_verdict.json").read_text())["message"]
    assert message.startswith("DISCREPANCY at layer 6 'lstm' (LSTMLayer): against Lasagne's own graph")
