"""Graph-level conversion (issue 14): convert, run with numpy alone, certify node by node, refuse
what cannot be described, reject hostile graph files with one line."""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import layers_np
from harness.graph_gate import certify_graph, fuzz_graph_inputs, graph_input_bounds
from layers_np.graph import GraphModel, SpecError, dumps_graph, load_graph, loads_graph, save_graph
from layers_np.io import SPEC_KEY, array_digest
from layers_theano import recipes, zoo
from layers_theano.backend import T
from layers_theano.graph_export import GraphConversionError, convert
from layers_theano.recipes import reduced

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HERE = os.path.abspath(__file__)


# factories used through "tests/test_graph_convert.py:NAME" ------------------------------
def sort_graph():
    """A raw graph with an op the numpy runtime has no kernel for (SortOp)."""
    x = T.matrix("x")
    return [x], [T.sort(x, axis=1) * 2]


def raw_graph():
    """A raw (non-Lasagne) graph: two outputs, reductions, a max, a clip and an integer cast."""
    x = T.matrix("x")
    y = T.clip(x, -1.0, 1.0).sum(axis=1) + T.max(x, axis=1)
    return [x], [y, T.argmax(x, axis=1)]


def compiled_function():
    """A compiled PyTensor function (already rewritten, inplace ops included) returning its input too."""
    from layers_theano.backend import function, shared
    from pytensor.tensor.type import TensorType

    x = TensorType("float64", shape=(None, 3))("x")
    W = shared(np.random.default_rng(0).standard_normal((3, 4)), name="W")
    return function([x], [T.tanh(T.dot(x, W)).sum(axis=1), x])


def free_dims_graph():
    """A raw graph whose free input dimension must match a weight: fuzzing cannot guess it."""
    from layers_theano.backend import shared

    x = T.matrix("x")
    return [x], [T.dot(x, shared(np.ones((3, 2)), name="W"))]


def scan_graph():
    """A small recurrent graph: h_t = tanh(h_{t-1} W + x_t)."""
    from layers_theano.backend import scan, shared
    from pytensor.tensor.type import TensorType

    seq = TensorType("float64", shape=(None, 2, 3))("seq")
    W = shared(np.random.default_rng(1).standard_normal((3, 3)) * 0.5, name="W")
    out, _ = scan(lambda s, h: T.tanh(T.dot(h, W) + s), sequences=[seq], outputs_info=[T.zeros((2, 3), "float64")])
    return [seq], [out[-1]]


@pytest.fixture(scope="module")
def mlp_converted():
    return convert(zoo.mlp())


@pytest.fixture(scope="module")
def lenet_converted():
    return convert(zoo.lenet5())


# ---------------------------------------------------------------------------
@pytest.mark.parametrize("which", ["mlp_converted", "lenet_converted"])
def test_zoo_model_converts_and_certifies_node_by_node(which, request):
    converted = request.getfixturevalue(which)
    model = loads_graph(dumps_graph(converted.spec, converted.arrays))  # the bytes, loaded back
    report = certify_graph(converted, model, n_batches=2, batch_size=4, seed=1)
    assert report.ok, report.message()
    # one row per value every node computes (nothing skipped: these graphs have no AllocEmpty)
    assert [r.name for r in report.rows] == [o["name"] for n in converted.spec["graph"]["nodes"] for o in n["outputs"]]
    assert report.rows[-1].name == model.output_names[0]
    assert all(r.size > 0 for r in report.rows)
    ops = set(model.node_ops)
    assert {"Dot22", "Elemwise", "SoftmaxWithBias"} <= ops
    if which == "lenet_converted":
        assert {"CorrMM", "Pool", "Reshape", "Subtensor", "Shape_i", "MakeVector"} <= ops


@pytest.mark.parametrize("name", ["vgg_small", "resnet_small", "inception_block", "text_cnn", "char_lstm",
                                  "gru_classifier"])
def test_every_other_zoo_model_converts_and_certifies(name):
    converted = convert(getattr(zoo, name)())
    report = certify_graph(converted, n_batches=1, batch_size=3, seed=2)
    assert report.ok, report.message()
    ops = {n["op"] for n in converted.spec["graph"]["nodes"]}
    expected = {"vgg_small": {"CorrMM", "Pool"}, "resnet_small": {"CorrMM", "CAReduce", "Assert"},
                "inception_block": {"Join", "Pool"}, "text_cnn": {"AdvancedSubtensor1", "Join"},
                "char_lstm": {"Scan", "IncSubtensor", "AllocEmpty"}, "gru_classifier": {"Scan"}}[name]
    assert expected <= ops
    assert converted.dtype == "float32"
    _planned_equals_interpreted(GraphModel(converted.spec, converted.arrays), converted)


def _planned_equals_interpreted(model, converted):
    """The planned runtime (buffers reused across calls, values folded, Composites as ufunc calls
    with out=) gives the interpreted graph's values bit for bit, at two batch sizes, call after
    call, and every intermediate asked for by name."""
    for batch, seed in ((1, 3), (4, 4), (1, 5)):
        inputs = fuzz_graph_inputs(model.inputs, graph_input_bounds(converted), np.random.default_rng(seed), batch)
        want = model.run(inputs, planned=False, keep_all=True)
        for _ in range(2):
            got = model.run(inputs)
            for name in model.output_names:
                assert got[name].dtype == want[name].dtype
                np.testing.assert_array_equal(got[name], want[name])
        inner = [n for n in want if n not in model.output_names][-3:]
        some = model.run(inputs, names=inner)
        for name in inner + model.output_names:
            np.testing.assert_array_equal(some[name], want[name])


# The Lasagne Recipes networks at their reduced sizes (layers_theano.recipes.reduced), in their
# certification dtypes (float64 for the batch-normalised ones). Each test shows the op set it adds
# beyond the zoo's; RECIPES_MEASURED lists the ones converted and certified once by hand (README,
# "Graph-level conversion"): their ops are those of the tested ones, and they cost minutes cold.
RECIPES_GRAPH_OPS = {
    "nin_cifar10": {"CorrMM", "Pool"},                                   # max / exclusive average, partial windows
    "vgg_cnn_s": {"Alloc", "IncSubtensor", "Subtensor", "Pool", "Dot22", "SoftmaxWithBias"},  # LRN
    "caffenet": {"Join", "Subtensor", "IncSubtensor", "CorrMM"},        # grouped convolutions, flipped filters, LRN
    "c3d": {"Corr3dMM", "Pool", "IncSubtensor"},                         # 3-D convolution and pooling, PadLayer
    "unet": {"CorrMM_gradInputs", "Join", "Subtensor", "Softmax"},      # Deconv2DLayer, batch norm, cropping
    "googlenet": {"Join", "Pool", "CAReduce"},                           # padded max pools, 4-way concatenations
}


@pytest.mark.parametrize("name", [n for n in RECIPES_GRAPH_OPS if n in recipes.available()])
def test_recipe_network_converts_certifies_and_reloads(name, tmp_path):
    net = reduced.FACTORIES[name]()
    converted = convert(net)
    assert converted.dtype == reduced.DTYPES[name]
    path = tmp_path / f"{name}.graph.npz"
    save_graph(converted.spec, converted.arrays, path)
    model = load_graph(path)  # certify the model as reloaded from its file
    report = certify_graph(converted, model, n_batches=1, batch_size=2, seed=1)
    assert report.ok, report.message() + "\n" + report.table()
    assert len(report.rows) == sum(len(n["outputs"]) for n in converted.spec["graph"]["nodes"])
    assert RECIPES_GRAPH_OPS[name] <= set(model.node_ops)
    if name == "c3d":
        assert any(n["op"] == "Pool" and n["attrs"]["ndim"] == 3 for n in converted.spec["graph"]["nodes"])


def test_graph_model_matches_the_layer_twin_and_exposes_intermediates(lenet_converted):
    model = GraphModel(lenet_converted.spec, lenet_converted.arrays)
    X = np.random.default_rng(0).standard_normal((3, 1, 28, 28)).astype("float32")
    twin = layers_np.io.loads(layers_np.io.dumps(_twin(zoo.lenet5())))
    y = model(X)
    assert y.dtype == np.float32 and y.shape == (3, 10)
    np.testing.assert_allclose(y, twin(X), rtol=1e-5, atol=1e-6)
    values = model.run([X], keep_all=True)
    conv = [n for n, op in zip(model.node_names, model.node_ops) if op == "CorrMM"][0]
    assert values[conv].shape == (3, 6, 28, 28)
    # returned arrays belong to the caller: changing one does not change the stored weights
    for v in values.values():
        v[...] = 0
    np.testing.assert_array_equal(model(X), y)
    # nor the planned runtime's buffers: the next call returns a new array, not the last one reused
    first = model(X)
    first[...] = 0
    second = model(X)
    np.testing.assert_array_equal(second, y)
    assert not np.shares_memory(first, second) and not np.shares_memory(second, X)
    _planned_equals_interpreted(model, lenet_converted)


def test_a_shape_computed_from_input_values_changes_between_calls_of_one_signature():
    """x[:n] * 2 with n an input: one input signature, outputs of several shapes; the plan (built
    from the first call) must not assume the first call's shapes."""
    x, n = T.vector("x"), T.lscalar("n")
    model = GraphModel(*(lambda c: (c.spec, c.arrays))(convert(([x, n], [T.exp(x[:n]) * 2]))))
    X = np.arange(6, dtype=model.inputs[0]["dtype"]) / 4
    for k in (2, 5, 3, 5):
        got = model(X, np.int64(k))
        np.testing.assert_array_equal(got, model.run([X, np.int64(k)], planned=False)[model.output_names[0]])
        assert got.shape == (k,)


def test_the_planned_graph_runtime_is_per_thread(mlp_converted):
    """Threads calling one model concurrently, at different batch sizes, each get their own plan
    and buffers (the contract of layers_np._plan) and the interpreted graph's values."""
    import threading

    model = GraphModel(mlp_converted.spec, mlp_converted.arrays)
    rng = np.random.default_rng(6)
    batches = [rng.standard_normal((b, 784)).astype("float32") for b in (1, 5, 1, 5)]
    want = [model.run([x], planned=False)[model.output_names[0]] for x in batches]
    failures = []

    def worker(k):
        for _ in range(20):
            got = model(batches[k])
            if not np.array_equal(got, want[k]):
                failures.append(k)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(len(batches))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []


def _twin(net):
    import layers_theano as LT

    return LT.to_numpy(net)


def test_a_wrong_weight_is_named_as_the_first_local_discrepancy(mlp_converted):
    arrays = dict(mlp_converted.arrays)
    key = mlp_converted.spec["graph"]["values"]["output.W"]
    arrays[key] = arrays[key] * np.float32(1.01)
    model = GraphModel(mlp_converted.spec, arrays)
    report = certify_graph(mlp_converted, model, n_batches=1, batch_size=4)
    assert not report.ok
    bad = report.first_bad
    dot = [n for n in mlp_converted.spec["graph"]["nodes"] if "output.W" in n["inputs"]][0]
    assert bad.name == dot["name"] and bad.verdict == "LOCAL", report.message()
    after = report.rows[report.rows.index(bad) + 1]
    assert not after.ok and after.verdict == "propagated"
    assert f"DISCREPANCY at node {bad.index} {bad.name!r}" in report.message()


def test_an_unknown_op_is_refused_at_conversion_naming_op_and_node():
    with pytest.raises(GraphConversionError, match=r"cannot convert node \d+ .*SortOp.*not supported"):
        convert(sort_graph())


def test_raw_graph_with_two_outputs(tmp_path):
    converted = convert(raw_graph())
    report = certify_graph(converted, n_batches=2, batch_size=3)
    assert report.ok, report.message()
    model = GraphModel(converted.spec, converted.arrays)
    x = np.array([[3.0, -2.0, 0.5]], dtype=converted.dtype)
    total, arg = model(x)
    assert arg.dtype == np.int64 and arg.tolist() == [0]
    assert total.dtype == np.dtype(converted.dtype)
    np.testing.assert_allclose(total, [1.0 - 1.0 + 0.5 + 3.0], rtol=1e-6)


def test_fuzzed_integer_inputs_stay_below_their_table():
    rng = np.random.default_rng(0)
    batch = fuzz_graph_inputs([{"name": "t", "shape": [None, 20], "dtype": "int32"},
                               {"name": "x", "shape": [None, None, 3], "dtype": "float32"}], [7, None], rng, 5)
    assert batch[0].shape == (5, 20) and batch[0].dtype == np.int32 and batch[0].max() < 7
    assert batch[1].shape[0] == 5 and batch[1].shape[2] == 3 and batch[1].dtype == np.float32


# ---------------------------------------------------------------------------
# hostile files: one line naming the problem, before any input is seen
# ---------------------------------------------------------------------------
def _file_bytes(spec, arrays):
    """A graph model file written without the writer's checks (as an attacker would)."""
    spec = dict(spec, format="theano-twins-model", format_version=2, kind="graph",
                arrays={k: {"shape": list(a.shape), "dtype": a.dtype.name, "sha256": array_digest(a)}
                        for k, a in arrays.items()})
    buf = io.BytesIO()
    np.savez(buf, **{SPEC_KEY: np.frombuffer(json.dumps(spec).encode(), dtype=np.uint8), **arrays})
    return buf.getvalue()


def _mutated(converted, change):
    spec = json.loads(json.dumps(converted.spec))
    change(spec["graph"])
    return _file_bytes(spec, converted.arrays)


@pytest.mark.parametrize("change, message", [
    (lambda g: g["nodes"][0].update(op="Eval"), r"node 0 .*unknown op 'Eval'"),
    (lambda g: g["nodes"][-1]["attrs"].update(axis="__import__"), r"node \d+"),
    (lambda g: g["nodes"][2]["inputs"].__setitem__(0, "nowhere"), r"input 'nowhere' is not defined before the node"),
    (lambda g: g["nodes"][3]["attrs"]["scalar"].update(op="system"), r"unknown scalar op 'system'"),
    (lambda g: g["nodes"][3]["attrs"]["scalar"]["graph"]["nodes"][0]["op"].update(op="Composite", graph=None),
     r"a Composite needs a 'graph'"),
    (lambda g: g["values"].update(extra="value/missing"), r"value 'extra' names no stored array"),
    (lambda g: g.update(outputs=["ghost"]), r"output 'ghost' is not a value"),
    (lambda g: g["nodes"][1]["outputs"][0].update(dtype="object"), r"an output must be"),
])
def test_hostile_graph_specs_fail_with_one_line(mlp_converted, change, message):
    data = _mutated(mlp_converted, change)
    with pytest.raises(SpecError, match=message) as info:
        loads_graph(data)
    assert "\n" not in str(info.value)


def test_the_two_loaders_point_at_each_other(mlp_converted, tmp_path):
    path = tmp_path / "g.npz"
    path.write_bytes(dumps_graph(mlp_converted.spec, mlp_converted.arrays))
    with pytest.raises(layers_np.io.SpecError, match=r"load_graph"):
        layers_np.load(path)
    layer_file = tmp_path / "l.npz"
    layers_np.save(_twin(zoo.mlp()), layer_file)
    with pytest.raises(SpecError, match=r"not a .graph. model: load it with layers_np.load"):
        load_graph(layer_file)


# ---------------------------------------------------------------------------
# command line
# ---------------------------------------------------------------------------
def test_twins_convert_and_gate_graph(tmp_path, monkeypatch):
    from harness.cli import main

    monkeypatch.chdir(tmp_path)
    out = tmp_path / "mlp.npz"
    assert main(["convert", "layers_theano.zoo:mlp", "-o", str(out)]) == 0
    assert layers_np.load_graph(out).certification is None
    gated = tmp_path / "mlp_gated.npz"
    junit = tmp_path / "gate.xml"
    assert main(["gate", "--graph", "layers_theano.zoo:mlp", "-o", str(gated), "--profile", "dev",
                 "--report-dir", str(tmp_path / "rep"), "--junit-xml", str(junit)]) == 0
    model = layers_np.load_graph(gated)
    assert model.certification["verdict"] == "certified"
    verdict = json.loads((tmp_path / "rep" / "gate_layers_theano.zoo.mlp_verdict.json").read_text())
    assert verdict["level"] == "graph" and verdict["exit_code"] == 0
    assert junit.read_text().count("<testcase") == len(model.node_names)


def test_gate_graph_refuses_an_unknown_op_and_writes_nothing(tmp_path, capsys):
    from harness.cli import main

    out = tmp_path / "sort.npz"
    code = main(["gate", "--graph", f"{HERE}:sort_graph", "-o", str(out), "--report-dir", str(tmp_path / "rep")])
    err = capsys.readouterr().err
    assert code == 2 and not out.exists()
    assert "SortOp" in err and "node" in err and len(err.strip().splitlines()) == 1


def test_graph_model_runs_with_numpy_alone(mlp_converted, tmp_path):
    path = tmp_path / "mlp.npz"
    path.write_bytes(dumps_graph(mlp_converted.spec, mlp_converted.arrays))
    X = np.random.default_rng(3).standard_normal((2, 784)).astype("float32")
    np.save(tmp_path / "x.npy", X)
    expected = GraphModel(mlp_converted.spec, mlp_converted.arrays)(X)
    code = f'''
import sys, importlib.abc
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in ("pytensor", "theano", "layers_theano", "harness", "hypothesis", "scipy"):
            raise ModuleNotFoundError(name)
sys.meta_path.insert(0, Block())
import numpy as np, layers_np
y = layers_np.load_graph({str(path)!r})(np.load({str(tmp_path / "x.npy")!r}))
np.save({str(tmp_path / "y.npy")!r}, y)
'''
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": ROOT})
    np.testing.assert_array_equal(np.load(tmp_path / "y.npy"), expected)


def test_a_compiled_function_converts_as_compiled():
    converted = convert(compiled_function())
    ops = [n["op"] for n in converted.spec["graph"]["nodes"]]
    assert "Dot22" in ops and "DeepCopyOp" not in ops  # the output copy is the value itself
    report = certify_graph(converted, n_batches=2, batch_size=3)
    assert report.ok, report.message()
    model = GraphModel(converted.spec, converted.arrays)
    x = np.arange(6.0).reshape(2, 3)
    total, same = model(x)
    assert same is not x and np.array_equal(same, x)  # the caller's array is returned as a copy
    W = converted.arrays[converted.spec["graph"]["values"]["W"]]
    np.testing.assert_allclose(total, np.tanh(x @ W).sum(axis=1), rtol=1e-12)


def test_free_dimensions_that_must_match_are_one_clear_error(tmp_path, capsys):
    from harness.cli import main

    out = tmp_path / "g.npz"
    code = main(["gate", "--graph", f"{HERE}:free_dims_graph", "-o", str(out), "--report-dir", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert code == 2 and not out.exists() and len(err.strip().splitlines()) == 1
    assert "PyTensor cannot run the graph on inputs x(" in err and "--inputs" in err
    # with samples, fuzzed batches take the samples' non-batch free axes: the graph certifies
    np.savez(tmp_path / "x.npz", x=np.ones((2, 3)))
    code = main(["gate", "--graph", f"{HERE}:free_dims_graph", "-o", str(out), "--report-dir", str(tmp_path / "r"),
                 "--inputs", str(tmp_path / "x.npz"), "--profile", "dev"])
    assert code == 0 and layers_np.load_graph(out).certification["input_shapes"][1][0][1] == 3


def test_scan_graph_and_hostile_scan_specs():
    converted = convert(scan_graph())
    assert [n["op"] for n in converted.spec["graph"]["nodes"]].count("Scan") == 1
    report = certify_graph(converted, n_batches=2, batch_size=4)
    assert report.ok, report.message()
    seq = np.random.default_rng(2).standard_normal((5, 2, 3))
    W = converted.arrays[converted.spec["graph"]["values"]["W"]]
    h = np.zeros((2, 3))
    for t in range(5):
        h = np.tanh(h @ W + seq[t])
    np.testing.assert_allclose(GraphModel(converted.spec, converted.arrays)(seq), h, rtol=1e-12)
    scan_index = [n["op"] for n in converted.spec["graph"]["nodes"]].index("Scan")

    def scan_attrs(g):
        return g["nodes"][scan_index]["attrs"]

    for change, message in [
        (lambda g: scan_attrs(g)["graph"]["nodes"][0].update(op="os.system"), r"inner graph node 0 .*unknown op"),
        (lambda g: scan_attrs(g).update(n_seqs=5), r"Scan"),
        (lambda g: scan_attrs(g).update(sit_sot_taps=[[1]]), r"negative taps"),
        (lambda g: scan_attrs(g).update(graph={"inputs": [], "nodes": [], "outputs": [], "values": {}}),
         r"the inner graph has 0 inputs"),
    ]:
        with pytest.raises(SpecError, match=message):
            loads_graph(_mutated(converted, change))


def test_a_hostile_allocation_is_refused_at_run_time_in_one_line():
    """A file whose Alloc asks for 2**40 elements: a TwinError naming the node, nothing allocated."""
    import layers_np.graph.ops as gops

    x = T.vector("x")
    converted = convert(([x], [T.alloc(x[0], 3, 4) + 1]))
    nodes = converted.spec["graph"]["nodes"]
    alloc = [n for n in nodes if n["op"] in ("Alloc", "BroadcastTo")][0]
    spec = json.loads(json.dumps(converted.spec))
    arrays = dict(converted.arrays)
    big = "value/big"
    arrays[big] = np.asarray(2 ** 20, dtype=np.int64)
    spec["graph"]["values"]["big"] = big
    target = [n for n in spec["graph"]["nodes"] if n["name"] == alloc["name"]][0]
    target["inputs"][1:] = ["big", "big"]
    model = loads_graph(_file_bytes(spec, arrays))
    with pytest.raises(layers_np.TwinError, match=rf"{alloc['name']}.*over the limit of {gops.MAX_ALLOC_ELEMENTS}"):
        model(np.ones(2, dtype=converted.dtype))
