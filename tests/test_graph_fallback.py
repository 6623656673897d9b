"""The graph fallback of a layer-level export: ExpressionLayer and custom layers become layers_np.GraphLayer.

``layers_theano.fallback_zoo.custom_layers_mlp`` holds an ExpressionLayer and a user's layer class
with a parameter between dense layers: it gates, exports, reloads and predicts what Theano does;
an op outside the graph runtime's allow-list is refused at export naming it; a tampered node, a
wrong declared shape and a broken kernel are each caught by the certification.
"""
from __future__ import annotations

import dataclasses
import io
import json
import os

import numpy as np
import pytest

import layers_np as L
import layers_theano as LT
from harness.gate import export_main, gate_main
from harness.graph_check import fallback_checks
from harness.network import certify_network
from layers_np import io as mio
from layers_theano.backend import T
from layers_theano.fallback_zoo import custom_layers_mlp

HERE = os.path.abspath(__file__)
FACTORY = "layers_theano.fallback_zoo:custom_layers_mlp"


class CumsumLayer(LT.Layer):
    """A custom layer using an op the graph runtime has no kernel for (CumOp)."""

    def get_output_for(self, input, **kwargs):
        return T.cumsum(input, axis=1)


def cumsum_net():
    return CumsumLayer(LT.DenseLayer(LT.InputLayer((None, 4), name="x"), 3, name="d"), name="running")


def _theano_output(net, X):
    from harness.execute import compile_theano
    from harness.network import network_dtype

    inputs = [l for l in LT.get_all_layers(net) if isinstance(l, LT.InputLayer)]
    fn, _ = compile_theano(inputs, net, network_dtype(net))
    return np.asarray(fn(X))


def _with_spec(data: bytes, edit) -> bytes:
    """The model file ``data`` with its JSON spec changed by ``edit(spec)`` (arrays and checksums kept)."""
    with np.load(io.BytesIO(data), allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files}
    spec = json.loads(arrays.pop(mio.SPEC_KEY).tobytes())
    edit(spec)
    buffer = io.BytesIO()
    np.savez(buffer, **{mio.SPEC_KEY: np.frombuffer(json.dumps(spec).encode(), np.uint8), **arrays})
    return buffer.getvalue()


def _layer_entry(spec, name):
    return next(e for e in spec["layers"] if e["name"] == name)


def test_gate_exports_expression_and_custom_layers(tmp_path, capsys):
    out = tmp_path / "model.npz"
    code = gate_main([FACTORY, "-o", str(out), "--report-dir", str(tmp_path), "--profile", "dev"])
    printed = capsys.readouterr()
    assert code == 0, printed.out + printed.err
    assert "2 graph-fallback layer(s) also agree node by node" in printed.out
    spec = mio.read_spec(out)
    graphs = {e["name"]: e for e in spec["layers"] if e["class"] == "GraphLayer"}
    assert sorted(graphs) == ["expr", "softsign"]
    assert graphs["softsign"]["args"]["source"] == "layers_theano.fallback_zoo.ScaledSoftsignLayer"
    summary = {g["layer"]: g for g in spec["certification"]["subgraphs"]}
    assert summary["expr"]["verdict"] == summary["softsign"]["verdict"] == "certified"
    assert summary["expr"]["nodes"] >= 1 and summary["softsign"]["nodes"] >= 1
    # the file holds data only: allow-listed op names, no code
    text = json.dumps(graphs)
    assert "lambda" not in text and "expression" not in text
    nodes = [n["$dict"]["op"] for n in graphs["softsign"]["args"]["graph"]["$dict"]["nodes"]]
    assert set(nodes) <= set(L.graph.op_names()), nodes

    model = L.load(out)  # numpy only, nothing but the file
    net = custom_layers_mlp()
    # the same parameters, names, shapes and tags as the Theano network (Lasagne weights load unchanged)
    assert [p.name for p in L.get_all_params(model)] == [p.name for p in LT.get_all_params(net)]
    assert [p.name for p in L.get_all_params(model, regularizable=True)] == \
        [p.name for p in LT.get_all_params(net, regularizable=True)]
    for a, b in zip(L.get_all_param_values(model), LT.get_all_param_values(net)):
        np.testing.assert_array_equal(a, b)
    softsign = [l for l in L.get_all_layers(model) if l.name == "softsign"][0]
    assert isinstance(softsign, L.GraphLayer) and softsign.output_shape == (None, 8)
    X = np.random.default_rng(5).standard_normal((7, 6)).astype(np.float32)
    y = model(X)
    assert y.dtype == np.float32 and y.shape == (7, 3)
    np.testing.assert_allclose(y, _theano_output(net, X), rtol=1e-5, atol=1e-6)
    # a replaced parameter value is used by the graph on the next call
    softsign.get_params()[0].set_value(np.zeros(8, np.float32))
    np.testing.assert_allclose(model(X), L.nonlinearities.softmax(np.tile(model.b.value, (7, 1))), rtol=1e-6)


def test_op_outside_the_allow_list_is_refused_at_export(tmp_path, capsys):
    out = tmp_path / "m.npz"
    assert export_main([f"{HERE}:cumsum_net", "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and not out.exists()
    assert "CumsumLayer 'running' has no numpy twin" in err and "op CumOp is not supported" in err
    assert "cannot convert node" in err, err


def test_tampered_node_is_caught_node_by_node():
    """A node of the stored graph changed (tanh -> sinh in the ExpressionLayer's fused Composite):
    the layer is out of tolerance and the node-by-node check names the node, as LOCAL."""
    net = custom_layers_mlp()
    data = mio.dumps(LT.to_numpy(net, graph_fallback=True))

    def sinh(spec):
        entry = _layer_entry(spec, "expr")
        text = json.dumps(entry["args"]["graph"])
        assert text.count('{"op": "Tanh"}') == 1, text
        entry["args"]["graph"] = json.loads(text.replace('{"op": "Tanh"}', '{"op": "Sinh"}'))

    tampered = mio.loads(_with_spec(data, sinh))
    report = certify_network(net, twin=tampered, node_checks=fallback_checks(net, tampered), n_batches=1,
                             batch_size=4)
    assert not report.ok
    bad = report.first_bad
    assert bad.name == "expr" and bad.cls == "ExpressionLayer" and bad.verdict == "LOCAL"
    assert "graph fallback, node by node: DISCREPANCY at node 0 '0.Elemwise'" in bad.reason, bad.reason
    assert [g["verdict"] for g in report.subgraphs] == ["DISCREPANCY", "certified"]
    # the untampered file certifies with the same checks (so the failure above is the tampering)
    loaded = mio.loads(data)
    assert certify_network(net, twin=loaded, node_checks=fallback_checks(net, loaded), n_batches=1,
                           batch_size=4).ok


def test_a_graph_that_is_not_the_layers_conversion_is_refused():
    """A stored graph whose nodes differ from the Theano layer's conversion fails its row, saying which node."""
    net = custom_layers_mlp()
    twin = LT.to_numpy(net, graph_fallback=True)
    expr = [l for l in L.get_all_layers(twin) if l.name == "expr"][0]
    graph = json.loads(json.dumps(expr.graph))
    graph["nodes"][0]["name"] = graph["nodes"][0]["outputs"][0]["name"] = "renamed"
    graph["outputs"] = ["renamed"]
    twin_layers = L.get_all_layers(twin)
    softsign = twin_layers[twin_layers.index(expr) + 1]
    softsign.input_layers = [L.GraphLayer(expr.input_layers, graph, expr.output_shape, values=expr.values,
                                          source=expr.source, name="expr")]
    report = certify_network(net, twin=twin, node_checks=fallback_checks(net, twin), n_batches=1, batch_size=4)
    assert report.first_bad.name == "expr"
    assert "its graph is not the conversion of the Theano layer: node 0 is 'renamed' (Elemwise)" in \
        report.first_bad.reason


def test_declared_output_shape_is_checked():
    net = custom_layers_mlp()
    twin = LT.to_numpy(net, graph_fallback=True)
    softsign = [l for l in L.get_all_layers(twin) if l.name == "softsign"][0]
    softsign._output_shape = (None, 9)  # what a wrong get_output_shape_for would record
    report = certify_network(net, twin=twin, node_checks=fallback_checks(net, twin), n_batches=1, batch_size=4)
    assert report.first_bad.name == "softsign"
    assert report.first_bad.reason == ("the twin declares output_shape (None, 9), Theano computed an array of "
                                       "shape (4, 8)")


def test_broken_kernel_is_caught(monkeypatch):
    """The graph runtime's Elemwise kernel off by one ulp-scale factor: the fallback layers fail, node named."""
    from layers_np.graph import ops

    entry = ops.OPS["Elemwise"]
    original = entry.factory

    def broken(attrs, info):
        kernel = original(attrs, info)

        def run(*xs):
            return [np.asarray(v) * 1.001 for v in kernel(*xs)]
        return run

    monkeypatch.setitem(ops.OPS, "Elemwise", dataclasses.replace(entry, factory=broken))
    net = custom_layers_mlp()
    twin = LT.to_numpy(net, graph_fallback=True)
    report = certify_network(net, twin=twin, node_checks=fallback_checks(net, twin), n_batches=1, batch_size=4)
    assert report.first_bad.name == "expr" and report.first_bad.verdict == "LOCAL"
    assert "node by node: DISCREPANCY at node 0" in report.first_bad.reason


def test_a_hostile_graph_layer_is_refused_in_one_line():
    """A model file whose GraphLayer names an op outside the allow-list fails to load, naming the node."""
    net = custom_layers_mlp()
    data = mio.dumps(LT.to_numpy(net, graph_fallback=True))

    def evil(spec):
        node = _layer_entry(spec, "softsign")["args"]["graph"]["$dict"]["nodes"][0]["$dict"]
        node["op"] = "os.system"

    with pytest.raises(mio.ModelFileError) as info:
        mio.loads(_with_spec(data, evil))
    assert "unknown op 'os.system' (not in the allow-list of layers_np.graph)" in str(info.value)
    assert "GraphLayer('softsign')" in str(info.value) and "\n" not in str(info.value)


class BlendLayer(LT.MergeLayer):
    """A custom merge layer with a parameter: ``alpha * a + (1 - alpha) * b``."""

    def __init__(self, incomings, alpha=0.25, **kwargs):
        super().__init__(incomings, **kwargs)
        self.alpha = self.add_param(np.full((1,), alpha), (1,), name="alpha")

    def get_output_shape_for(self, input_shapes):
        return input_shapes[0]

    def get_output_for(self, inputs, **kwargs):
        alpha = self.alpha[0]
        return alpha * inputs[0] + (1 - alpha) * inputs[1]


def test_custom_merge_layer_falls_back_with_its_inputs_in_order():
    with LT.backend.config.change_flags(floatX="float64"):
        a = LT.InputLayer((None, 3), name="a")
        b = LT.DenseLayer(LT.InputLayer((None, 2), name="b"), 3, name="proj")
        net = BlendLayer([a, b], name="blend")
    loaded = mio.loads(mio.dumps(LT.to_numpy(net, graph_fallback=True)))
    assert isinstance(loaded, L.GraphLayer) and [p.name for p in loaded.get_params()] == ["blend.alpha"]
    report = certify_network(net, twin=loaded, node_checks=fallback_checks(net, loaded), n_batches=2, batch_size=3)
    assert report.ok and report.subgraphs[0]["verdict"] == "certified", report.message()
    ins = [l for l in L.get_all_layers(loaded) if isinstance(l, L.InputLayer)]
    xa, xb = np.ones((2, 3)), np.arange(4.0).reshape(2, 2)
    W, b = LT.get_all_param_values(net)[:2]
    np.testing.assert_allclose(L.get_output(loaded, {ins[0]: xa, ins[1]: xb}),
                               0.25 * xa + 0.75 * np.maximum(xb @ W + b, 0), rtol=1e-12)
