"""The model zoo: every model whose layer classes exist builds, certifies, exports and reloads."""
from __future__ import annotations

import numpy as np
import pytest

import layers_np as L
import layers_theano as LT
from harness.network import certify_network
from layers_theano import zoo
from layers_theano.export import export

AVAILABLE = zoo.available()
MISSING = {name: zoo.missing_classes(name) for name in zoo.FACTORIES if name not in AVAILABLE}


def test_zoo_lists_every_model():
    assert set(zoo.FACTORIES) == set(zoo.REQUIRES) == {
        "mlp", "lenet5", "vgg_small", "resnet_small", "inception_block", "text_cnn", "char_lstm", "gru_classifier"}
    assert "mlp" in AVAILABLE  # Dense only
    for name, missing in MISSING.items():  # a model reported unavailable really lacks a class
        assert missing, name


@pytest.mark.parametrize("name", AVAILABLE)
def test_zoo_model_certifies_exports_and_reloads(tmp_path, name):
    net = zoo.FACTORIES[name]()
    assert isinstance(net, LT.Layer)
    assert {str(p.dtype) for p in LT.get_all_params(net)} == {"float32"}
    export(net, tmp_path / f"{name}.npz")
    loaded = L.load(tmp_path / f"{name}.npz")
    # certify the reloaded file itself, layer by layer, against Theano
    report = certify_network(net, twin=loaded, n_batches=1, batch_size=2, seed=1)
    assert report.ok, report.message() + "\n" + report.table()
    assert len(report.rows) == len(LT.get_all_layers(net)) - len([l for l in LT.get_all_layers(net)
                                                                  if isinstance(l, LT.InputLayer)])
    spec = L.io.read_spec(tmp_path / f"{name}.npz")
    assert spec["dtype"] == "float32"
    if name == "text_cnn":
        assert spec["inputs"][0]["dtype"] == "int32"


def test_factories_are_seeded():
    a, b, c = zoo.mlp(seed=0), zoo.mlp(seed=0), zoo.mlp(seed=1)
    for x, y in zip(LT.get_all_param_values(a), LT.get_all_param_values(b)):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(LT.get_all_param_values(a)[0], LT.get_all_param_values(c)[0])
    assert LT.get_all_param_values(zoo.mlp("float64"))[0].dtype == np.float64
