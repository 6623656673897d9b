"""Keras 1.2.2 and 2.3.1 models at graph level (issue 14): the inference graph extracted from a Keras
model computes what Keras's own ``predict`` computes, and converts to a numpy graph model certified
node by node against PyTensor. Keras 2.3.1 runs in a subprocess (it is the package ``keras`` too)."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from harness.graph_gate import certify_graph
from layers_np.graph import dumps_graph, load_graph, loads_graph
from layers_theano import keras_zoo
from layers_theano.backend import config
from layers_theano.graph_export import convert

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.parametrize("name", list(keras_zoo.FACTORIES))
def test_keras_model_converts_certifies_and_predicts_as_keras(name):
    """One model per test (each Keras predict and each certification compiles a function): the
    inference graph has no learning-phase switch left, converts, certifies node by node against
    PyTensor on fuzzed inputs and on the batch given to Keras, and the numpy model's output is
    Keras's own ``predict``."""
    from pytensor.graph.basic import ancestors, applys_between, graph_inputs
    from pytensor.ifelse import IfElse

    model = keras_zoo.build_model(name, "float32", seed=3)
    K = keras_zoo.import_keras().backend  # imported by build_model, with the Theano backend
    ins, outs = keras_zoo.model_graph(name, model)
    # the Keras graph switches on the learning phase (Dropout, BatchNormalization, RNN dropout) ...
    raw = list(applys_between(list(graph_inputs(model.outputs)), model.outputs))
    assert any(isinstance(n.op, IfElse) for n in raw)
    # ... the inference graph does not: no switch, no learning phase, no random generator
    nodes = list(applys_between(ins, outs))
    assert not any(isinstance(n.op, IfElse) for n in nodes)
    assert not any(v is K.learning_phase() for v in ancestors(outs))
    assert not any("mrg" in type(n.op).__name__.lower() or "random" in type(n.op).__name__.lower() for n in nodes)
    # the inputs declare the model's shapes, batch axis free
    assert [tuple(v.type.shape) for v in ins] == [tuple(v._keras_shape) for v in model.inputs]
    assert all(v.type.shape[0] is None for v in ins)

    converted = convert((ins, outs))
    loaded = loads_graph(dumps_graph(converted.spec, converted.arrays))  # the bytes to publish
    assert [e["name"] for e in loaded.inputs] == [v.name for v in ins]
    xs = keras_zoo.sample_inputs(ins, np.random.default_rng(7))
    report = certify_graph(converted, loaded, xs, n_batches=2, batch_size=4, seed=2)
    assert report.ok, report.message()
    assert report.batches == 3  # Keras's batch and two fuzzed ones
    # one row per value every node computes, except AllocEmpty's (uninitialised memory in PyTensor)
    assert [r.name for r in report.rows] == [o["name"] for n in converted.spec["graph"]["nodes"]
                                             if not loaded.undefined_content(n["name"]) for o in n["outputs"]]
    expected = {"keras_cnn": {"CorrMM", "Pool", "Dot22", "SoftmaxWithBias", "Reshape"},
                "keras_text_rnn": {"AdvancedSubtensor1", "Scan", "Dot22", "SoftmaxWithBias"},
                "keras_merge": {"Join", "Alloc", "Dot22", "SoftmaxWithBias"}}[name]
    assert expected <= set(loaded.node_ops)

    ours = loaded(*xs)
    theirs = keras_zoo.keras_predict(model, xs, batch_size=5)
    assert ours.dtype == theirs.dtype == np.float32 and ours.shape == theirs.shape
    assert np.allclose(ours.sum(axis=1), 1, atol=1e-5)  # softmax rows: a wrong branch would still sum to 1 ...
    # ... but not agree: the same ops on the same weights (Keras's graph is rewritten without the
    # static input shapes, so fusion may differ), each float32 rounding 2^-24 relative on outputs
    # in [0, 1]; a handful of ulp
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=8 * 2.0 ** -24)


def test_same_seed_same_weights_other_seed_other_weights():
    a = keras_zoo.build_model("keras_merge", "float64", seed=1).get_weights()
    b = keras_zoo.build_model("keras_merge", "float64", seed=1).get_weights()
    c = keras_zoo.build_model("keras_merge", "float64", seed=2).get_weights()
    assert all(x.dtype == np.float64 for x in a)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not any(np.array_equal(x, y) for x, y in zip(a, c))
    with pytest.raises(KeyError, match="no Keras model 'nope'"):
        keras_zoo.build_model("nope")


def test_twins_convert_cli_leaves_home_alone(tmp_path):
    """`twins convert layers_theano.keras_zoo:keras_merge`: Keras imported by the factory neither
    reads nor writes ~/.keras, and the file loads."""
    home = tmp_path / "home"
    home.mkdir()
    out = tmp_path / "merge.npz"
    # the compile cache stays where it is (a cold cache would cost minutes)
    flags = ",".join(f for f in (os.environ.get("PYTENSOR_FLAGS", ""),
                                 f"base_compiledir={config.base_compiledir}") if f)
    env = dict(os.environ, PYTHONPATH=ROOT, HOME=str(home), PYTENSOR_FLAGS=flags)
    env.pop("KERAS_BACKEND", None)
    proc = subprocess.run([sys.executable, "-m", "harness.cli", "convert", "layers_theano.keras_zoo:keras_merge",
                           "-o", str(out)], capture_output=True, text=True, env=env, cwd=str(tmp_path), timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "wrote" in proc.stdout and out.exists()
    assert not (home / ".keras").exists()
    model = loads_graph(out.read_bytes())
    assert [e["name"] for e in model.inputs] == ["features", "context"]
    assert [e["shape"] for e in model.inputs] == [[None, 16], [None, 10]]


def test_inference_graph_refuses_what_it_cannot_resolve():
    """A graph reading the learning phase other than through Keras's IfElse is refused, not
    silently converted with the phase as a missing input; input names must match the inputs."""
    keras = keras_zoo.import_keras()
    K = keras.backend
    model = keras_zoo.build_model("keras_merge", "float32", seed=0)
    odd = model.outputs[0] * K.cast(K.learning_phase(), "float32")
    with pytest.raises(ValueError, match="still reads the learning phase"):
        keras_zoo.inference_graph(model.inputs, [odd], [(None, 16), (None, 10)], ["a", "b"])
    with pytest.raises(ValueError, match="1 input names for a model with 2 inputs"):
        keras_zoo.keras_graph(model, ["a"])
    ins, outs = keras_zoo.keras_graph(model)
    assert [v.name for v in ins] == ["features", "context"]


def test_importing_keras_leaves_pytensor_floatx_alone():
    """Keras 1.2.2's theano backend sets theano.config.floatX to float32 on import; without the
    restore every later Theano graph in the process (a float64 Lasagne LSTM, say) changed dtype."""
    code = ("from layers_theano.backend import config\n"
            "from layers_theano import keras_zoo\n"
            "keras_zoo.import_keras()\n"
            "print('FLOATX', config.floatX)\n")
    flags = [f for f in os.environ.get("PYTENSOR_FLAGS", "").split(",") if f and not f.startswith("floatX")]
    env = dict(os.environ, PYTENSOR_FLAGS=",".join(flags + ["floatX=float64"]))
    env.pop("THEANO_FLAGS", None)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "FLOATX float64" in out.stdout, out.stdout


# ---------------------------------------------------------------------------
# Keras 2.3.1 (layers_theano.keras2_zoo): the package `keras` too, so it runs in a process of its own
# ---------------------------------------------------------------------------
def _keras2_env(home):
    """The environment of a Keras 2 process: HOME is a fresh directory (so a write to ~/.keras would
    show), the compile cache stays where it is (a cold cache would cost minutes)."""
    flags = ",".join(f for f in (os.environ.get("PYTENSOR_FLAGS", ""), f"base_compiledir={config.base_compiledir}") if f)
    env = dict(os.environ, PYTHONPATH=ROOT, HOME=str(home), PYTENSOR_FLAGS=flags)
    for name in ("KERAS_BACKEND", "KERAS_HOME", "THEANO_FLAGS"):
        env.pop(name, None)
    return env


def test_keras2_models_convert_certify_and_predict_as_keras(tmp_path):
    """One process builds the three Keras 2.3.1 models (channels_first CNN with a dilated Conv2D and
    a 'same' pooling, LSTM/GRU text model, functional Concatenate/Add/Multiply/Subtract/Maximum
    model), certifies each extracted inference graph node by node with `twins gate --graph` (Keras's
    sample batch plus two fuzzed ones) and runs Keras's own `predict` on the sample; here, in
    Keras 1.2.2's process, the numpy models are loaded from the certified files and must compute
    what Keras 2 predicted."""
    home = tmp_path / "home"
    home.mkdir()
    out = tmp_path / "keras2"
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "np2_write_keras_refs.py"), "--keras2",
                           str(out)], capture_output=True, text=True, env=_keras2_env(home), cwd=str(tmp_path),
                          timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert not (home / ".keras").exists()  # Keras 2 read its configuration from a temporary KERAS_HOME
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["keras"] == "2.3.1"
    entries = {e["name"]: e for e in manifest["models"]}
    assert list(entries) == ["keras2_cnn", "keras2_text_rnn", "keras2_merge"]
    shapes = {"keras2_cnn": [[None, 3, 16, 16]], "keras2_text_rnn": [[None, 7]],
              "keras2_merge": [[None, 16], [None, 10]]}
    expected = {"keras2_cnn": {"CorrMM", "Pool", "Dot22", "SoftmaxWithBias", "Reshape"},
                "keras2_text_rnn": {"AdvancedSubtensor1", "Scan", "Dot22", "SoftmaxWithBias"},
                "keras2_merge": {"Join", "Alloc", "Dot22", "SoftmaxWithBias"}}
    for name, entry in entries.items():
        # Keras 2's Dropout and BatchNormalization switch on the learning phase with IfElse (and
        # Dropout draws from MRG); the inference graph has neither
        assert "IfElse" in entry["raw_ops"] and "IfElse" not in entry["graph_ops"], name
        assert not any("mrg" in op.lower() or "random" in op.lower() for op in entry["graph_ops"]), name
        assert entry["input_shapes"] == shapes[name]
        model = load_graph(str(out / entry["file"]))
        cert = model.certification
        assert cert["verdict"] == "certified" and cert["batches"] == 3, cert["message"]
        assert cert["layers"] == sum(len(n["outputs"]) for n in model.spec["graph"]["nodes"]
                                     if not model.undefined_content(n["name"]))
        assert expected[name] <= set(model.node_ops), (name, sorted(model.node_ops))
        if name == "keras2_merge":  # Keras's 'softsign' activation: PyTensor's ScalarSoftsign in a Composite
            assert "ScalarSoftsign" in json.dumps(model.spec["graph"]["nodes"])
        with np.load(str(out / entry["reference"]), allow_pickle=False) as f:
            xs = [f[f"input:{n}"] for n in entry["inputs"]]
            theirs = f["output"]
        ours = model(*xs)
        assert ours.dtype == theirs.dtype == np.float32 and ours.shape == theirs.shape
        assert np.allclose(ours.sum(axis=1), 1, atol=1e-5)
        # the same ops on the same weights, each float32 rounding 2^-24 relative on outputs in [0, 1]
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=8 * 2.0 ** -24, err_msg=name)
    cnn = load_graph(str(out / "keras2_cnn.npz"))
    # the dilated Conv2D reached the file as a CorrMM with filter_dilation 2 (Theano's conv2d argument)
    assert any(n["op"] == "CorrMM" and list(n["attrs"].get("filter_dilation", ())) == [2, 2]
               for n in cnn.spec["graph"]["nodes"]), [n["attrs"] for n in cnn.spec["graph"]["nodes"] if n["op"] == "CorrMM"]


def test_keras2_needs_its_own_process():
    """Keras 1.2.2 imported here: Keras 2.3.1 (the same package name) is refused in one line, not
    mixed with it."""
    from layers_theano import keras2_zoo

    keras_zoo.import_keras()
    with pytest.raises(ImportError, match="Keras 1.2.2 is already imported in this process; Keras 2.3.1"):
        keras2_zoo.import_keras()
    with pytest.raises(ImportError, match="already imported"):
        keras2_zoo.keras2_cnn()


def test_keras2_not_installed_is_one_line(tmp_path):
    """TWINS_KERAS2_PATH naming a directory without Keras 2.3.1: the factory's error names it (and how
    to install), through `twins convert`'s exit code 2."""
    env = _keras2_env(tmp_path)
    env["TWINS_KERAS2_PATH"] = str(tmp_path / "empty")
    proc = subprocess.run([sys.executable, "-m", "harness.cli", "convert", "layers_theano.keras2_zoo:keras2_merge",
                           "-o", str(tmp_path / "m.npz")], capture_output=True, text=True, env=env,
                          cwd=str(tmp_path), timeout=300)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert f"Keras 2.3.1 is not installed in {tmp_path / 'empty'}" in proc.stderr
    assert "pip install --no-deps --target DIR keras==2.3.1" in proc.stderr
    assert not (tmp_path / "m.npz").exists()


def test_every_theano_name_keras2_backend_uses_is_in_the_shim():
    """Each dotted name Keras 2.3.1's theano_backend.py reaches from ``theano``, ``T``, ``pool`` and
    ``th_sparse_module`` resolves on the shim (read from the source, Keras not imported), except
    ``theano.sandbox.cuda`` (cuDNN batch normalization, reached only when theano.config.device
    starts with cuda/gpu, which the shim refuses)."""
    import ast

    from layers_theano import keras2_zoo, theano_compat

    theano = theano_compat.enable()
    path = os.path.join(keras2_zoo.keras2_path(), "keras", "backend", "theano_backend.py")
    assert os.path.isfile(path), f"{path} is missing: `make venv` installs Keras 2.3.1 into .keras2"
    with open(path) as f:
        tree = ast.parse(f.read())
    roots = {"theano": theano, "T": theano.tensor, "pool": theano.tensor.signal.pool,
             "th_sparse_module": theano.sparse}
    chains = set()
    for node in ast.walk(tree):
        parts = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if isinstance(node, ast.Name) and node.id in roots and parts:
            chains.add((node.id, *reversed(parts)))
    assert len(chains) > 100  # conv2d, pool_2d, bn, scan, ifelse's module, printing, sparse ...
    missing = set()
    for root, *attrs in sorted(chains):
        obj = roots[root]
        for i, attr in enumerate(attrs):
            try:
                obj = getattr(obj, attr)
            except AttributeError:
                missing.add(".".join([root, *attrs[:i + 1]]))
                break
    assert missing == {"theano.sandbox.cuda"}, sorted(missing)
    # the imports at the top of the backend resolve too
    imported = {(n.module, a.name) for n in tree.body if isinstance(n, ast.ImportFrom) and n.module
                and n.module.startswith("theano") for a in n.names}
    assert ("theano.tensor.signal", "pool") in imported and ("theano.ifelse", "ifelse") in imported
    import importlib

    for module, name in imported:
        assert hasattr(importlib.import_module(module), name), (module, name)
