"""``twins gate`` / ``twins export``: exit codes, what is written and what is not."""
from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import layers_np as L
import layers_theano as LT
from harness.gate import export_main, gate_main
from layers_theano import zoo

HERE = os.path.abspath(__file__)


# factories used through "tests/test_gate.py:NAME" ---------------------------------------
def corrupted_mlp():
    """zoo.mlp whose twin gets a corrupted hidden2 weight matrix (the Theano side is intact).

    The whole matrix is scaled: a single weight can hide behind a ReLU unit that no fuzzed
    batch activates."""
    net = zoo.mlp()
    hidden2 = net.input_layer

    def corrupt(kwargs, convert):
        W = np.array(kwargs["W"], copy=True)
        W *= 1.001
        return {**kwargs, "W": W}

    hidden2.twin_kwargs = corrupt  # layers_theano.convert calls this hook when building the twin
    return net


def lambda_mlp():
    """A network whose nonlinearity is a Python function: not describable without code."""
    inp = LT.InputLayer((None, 4))
    return LT.DenseLayer(inp, 2, nonlinearity=lambda v: v * 2)


def expression_net():
    """An ExpressionLayer (with a numpy twin function, which a file cannot hold): exported as its graph."""
    inp = LT.InputLayer((None, 4))
    return LT.ExpressionLayer(inp, lambda v: v * 2, numpy_function=lambda v: v * 2, name="expr")


def not_a_layer():
    return 42


def small_mlp():
    return zoo.mlp(seed=3)


# -----------------------------------------------------------------------------------------
def gate(tmp_path, factory, *extra):
    out = tmp_path / "model.npz"
    reports = tmp_path / "reports"
    code = gate_main([factory, "-o", str(out), "--report-dir", str(reports), "--profile", "dev",
                      "--junit-xml", str(tmp_path / "junit.xml"), *extra])
    return code, out, reports


def test_gate_certifies_and_writes(tmp_path, capsys):
    code, out, reports = gate(tmp_path, "layers_theano.zoo:mlp")
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "hidden2" in printed and "certified: wrote" in printed
    model = L.load(out)
    spec = L.io.read_spec(out)
    assert spec["certification"]["verdict"] == "certified" and spec["certification"]["dtype"] == "float32"
    assert spec["producer"]["pytensor"]
    # the written model computes what Theano computes
    net = zoo.mlp()
    X = np.random.default_rng(7).standard_normal((3, 784)).astype(np.float32)
    fn = LT.backend.function([LT.get_all_layers(net)[0].input_var], LT.get_output(net))
    np.testing.assert_allclose(model(X), fn(X), rtol=1e-5, atol=1e-6)
    verdict = json.loads((reports / "gate_layers_theano.zoo.mlp_verdict.json").read_text())
    assert verdict["verdict"] == "certified" and verdict["exit_code"] == 0 and verdict["output"] == str(out)
    for ext in ("csv", "json", "md"):
        assert (reports / f"gate_layers_theano.zoo.mlp.{ext}").exists()
    suite = ET.parse(tmp_path / "junit.xml").getroot().find("testsuite")
    assert suite.get("tests") == "3" and suite.get("failures") == "0"


def test_corrupted_weight_exits_1_and_writes_nothing(tmp_path, capsys):
    code, out, reports = gate(tmp_path, f"{HERE}:corrupted_mlp")
    printed = capsys.readouterr().out
    assert code == 1, printed
    assert not out.exists()
    assert not [f for f in os.listdir(tmp_path) if f.endswith(".tmp") or f.startswith(".model")]
    assert "DISCREPANCY at layer 2 'hidden2'" in printed and "was not written" in printed
    verdict = json.loads((reports / "gate_test_gate.corrupted_mlp_verdict.json").read_text())
    assert verdict["verdict"] == "DISCREPANCY" and verdict["exit_code"] == 1 and verdict["output"] is None
    assert verdict["summary"]["first_bad"] == {"index": 2, "name": "hidden2", "class": "DenseLayer",
                                               "verdict": "LOCAL", "reason": "values out of tolerance"}
    failures = [c.get("name") for c in ET.parse(tmp_path / "junit.xml").getroot().iter("testcase")
                if c.find("failure") is not None]
    assert failures == ["02 hidden2 (DenseLayer)", "03 output (DenseLayer)"]
    frame_rows = json.loads((reports / "gate_test_gate.corrupted_mlp.json").read_text())
    assert [r["verdict"] for r in frame_rows] == ["ok", "LOCAL", "propagated"]


def test_existing_output_is_left_alone_on_discrepancy(tmp_path):
    (tmp_path / "model.npz").write_bytes(b"previous release")
    code, out, _ = gate(tmp_path, f"{HERE}:corrupted_mlp")
    assert code == 1 and out.read_bytes() == b"previous release"


@pytest.mark.parametrize("factory, message", [
    ("no_colon_here", "MODULE:FACTORY"),
    ("no_such_module_xyz:mlp", "cannot import"),
    ("layers_theano.zoo:no_such_factory", "no callable"),
    (f"{HERE}:not_a_layer", "output layer of a layers_theano network"),
    (f"{HERE}:lambda_mlp", "no numpy twin for the function"),
])
def test_bad_input_exits_2(tmp_path, capsys, factory, message):
    code, out, reports = gate(tmp_path, factory)
    err = capsys.readouterr().err
    assert code == 2 and message in err
    assert not out.exists()
    suite = ET.parse(tmp_path / "junit.xml").getroot().find("testsuite")
    assert suite.get("errors") == "1"


def test_bad_profile_and_files_exit_2(tmp_path, capsys):
    assert gate(tmp_path, "layers_theano.zoo:mlp", "--profile", "nightly")[0] == 2
    (tmp_path / "w.npz").write_bytes(b"PK\x03\x04 truncated")
    assert gate(tmp_path, "layers_theano.zoo:mlp", "--weights", str(tmp_path / "w.npz"))[0] == 2
    assert "truncated" in capsys.readouterr().err
    with open(tmp_path / "few.npz", "wb") as f:
        np.savez(f, np.zeros((784, 512)))
    assert gate(tmp_path, "layers_theano.zoo:mlp", "--weights", str(tmp_path / "few.npz"))[0] == 2
    assert "6 parameters, the file holds 1" in capsys.readouterr().err
    np.savez(tmp_path / "samples.npz", np.zeros((2, 100), np.float32))
    assert gate(tmp_path, "layers_theano.zoo:mlp", "--inputs", str(tmp_path / "samples.npz"))[0] == 2
    assert "expected an array of shape (None, 784)" in capsys.readouterr().err
    assert gate_main(["layers_theano.zoo:mlp"]) == 2  # -o is required
    assert not (tmp_path / "model.npz").exists()


def test_gate_with_samples_and_lasagne_weights(tmp_path, capsys):
    source = zoo.mlp(seed=3)
    with open(tmp_path / "w.npz", "wb") as f:
        np.savez(f, *LT.get_all_param_values(source))
    samples = np.random.default_rng(2).standard_normal((6, 784)).astype(np.float32)
    np.savez(tmp_path / "samples.npz", input=samples)
    code, out, reports = gate(tmp_path, "layers_theano.zoo:mlp", "--weights", str(tmp_path / "w.npz"),
                              "--inputs", str(tmp_path / "samples.npz"))
    assert code == 0, capsys.readouterr().out
    cert = L.io.read_spec(out)["certification"]
    assert cert["input_source"].startswith("samples") and cert["input_shapes"][0] == [[6, 784]]
    # the weights of seed 3, not the factory's seed 0, were exported
    for a, b in zip(L.get_all_param_values(L.load(out)), LT.get_all_param_values(source)):
        np.testing.assert_array_equal(a, b)


def test_export_command(tmp_path, capsys):
    out = tmp_path / "m.npz"
    assert export_main([f"{HERE}:small_mlp", "-o", str(out)]) == 0
    loaded = L.load(out)
    for a, b in zip(L.get_all_param_values(loaded), LT.get_all_param_values(zoo.mlp(seed=3))):
        np.testing.assert_array_equal(a, b)
    assert L.io.read_spec(out)["certification"] is None
    assert export_main([f"{HERE}:lambda_mlp", "-o", str(tmp_path / "x.npz")]) == 2
    assert export_main(["layers_theano.zoo:mlp", "-o", str(tmp_path / "no" / "dir" / "x.npz")]) == 2
    assert not (tmp_path / "x.npz").exists()


def test_expression_layer_is_exported_as_its_graph(tmp_path, capsys):
    """An ExpressionLayer is not refused: the export holds its converted graph (a GraphLayer), not its function."""
    out = tmp_path / "e.npz"
    assert export_main([f"{HERE}:expression_net", "-o", str(out)]) == 0, capsys.readouterr().err
    entry = L.io.read_spec(out)["layers"][1]
    assert entry["class"] == "GraphLayer" and entry["args"]["source"] == "layers_theano.special.ExpressionLayer"
    X = np.arange(8, dtype=L.io.read_spec(out)["dtype"]).reshape(2, 4)
    np.testing.assert_array_equal(L.load(out)(X), X * 2)


def test_theano_side_lasagne_weights(tmp_path):
    from layers_np.io import WeightsMismatchError
    from layers_theano.export import load_lasagne_weights

    source = zoo.mlp(seed=4)
    with open(tmp_path / "w.npz", "wb") as f:
        np.savez(f, *LT.get_all_param_values(source))
    target = zoo.mlp(seed=0)
    load_lasagne_weights(target, tmp_path / "w.npz")
    for a, b in zip(LT.get_all_param_values(target), LT.get_all_param_values(source)):
        np.testing.assert_array_equal(a, b)
    twin = L.DenseLayer(L.InputLayer((None, 784)), 512)
    with pytest.raises(WeightsMismatchError):
        L.io.load_lasagne_weights(twin, tmp_path / "w.npz")


# hostile input to the gate: exit 2, one line, nothing published -------------------------
def tiny():
    inp = LT.InputLayer((None, 4), name="x")
    return LT.DenseLayer(inp, 2, W=np.full((4, 2), 0.5, np.float32), b=np.zeros(2, np.float32), name="out")


def nan_net():
    """A network whose outputs are all NaN on every input (its weights are NaN)."""
    inp = LT.InputLayer((None, 4), name="x")
    return LT.DenseLayer(inp, 2, W=np.full((4, 2), np.nan, np.float32), b=np.zeros(2, np.float32), name="out")


def exits():
    raise SystemExit(0)


def one_error_line(capsys):
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_factory_calling_sys_exit_is_exit_2(tmp_path, capsys):
    (tmp_path / "quits.py").write_text("import sys\nsys.exit(0)\n")
    code, out, _ = gate(tmp_path, f"{tmp_path / 'quits.py'}:net")
    assert code == 2 and "SystemExit" in one_error_line(capsys) and not out.exists()
    code, out, _ = gate(tmp_path, f"{HERE}:exits")
    assert code == 2 and "SystemExit" in one_error_line(capsys) and not out.exists()


def test_nonfinite_reference_outputs_are_refused(tmp_path, capsys):
    code, out, reports = gate(tmp_path, f"{HERE}:nan_net")
    line = one_error_line(capsys)
    assert code == 2 and "NaN" in line and "--allow-nonfinite" in line and not out.exists()
    assert json.loads((reports / "gate_test_gate.nan_net_verdict.json").read_text())["verdict"] == "ERROR"
    code, out, _ = gate(tmp_path, f"{HERE}:nan_net", "--allow-nonfinite")
    assert code == 0 and out.exists()


def test_zero_samples_are_refused(tmp_path, capsys):
    np.savez(tmp_path / "empty.npz", np.zeros((0, 4), np.float32))
    code, out, _ = gate(tmp_path, f"{HERE}:tiny", "--inputs", str(tmp_path / "empty.npz"))
    assert code == 2 and "no samples" in one_error_line(capsys) and not out.exists()
    assert gate(tmp_path, f"{HERE}:tiny", "--batches", "0")[0] == 2
    assert "at least 1" in one_error_line(capsys)


def test_samples_files_match_the_inputs_by_name_or_position():
    from harness.gate import GateInputError, sample_keys

    # one array for one input, whatever its name
    assert sample_keys("s.npz", ["anything"], ["x"], "InputLayer") == ["anything"]
    # several: named like the inputs (taken in input order), or arr_0.. in order
    assert sample_keys("s.npz", ["y", "x"], ["x", "y"], "InputLayer") == ["x", "y"]
    assert sample_keys("s.npz", ["arr_1", "arr_0"], ["x", "y"], "graph input") == ["arr_0", "arr_1"]
    assert sample_keys("s.npz", ["arr_0", "arr_1"], [None, None], "InputLayer") == ["arr_0", "arr_1"]
    for present in (["x"], ["x", "y", "z"], ["x", "arr_1"], []):
        with pytest.raises(GateInputError, match=r"^inputs: s.npz holds arrays .*; expected one array per graph "
                                                 r"input, named \['x', 'y'\] or arr_0..arr_1$"):
            sample_keys("s.npz", present, ["x", "y"], "graph input")


@pytest.mark.parametrize("what", ["output-is-dir", "report-dir-is-file", "junit-under-file", "verdict-under-file",
                                  "output-name-too-long", "weights-fifo", "inputs-fifo", "weights-dir"])
def test_bad_paths_exit_2_and_publish_nothing(tmp_path, capsys, what):
    previous = b"previous release"
    out = tmp_path / "model.npz"
    out.write_bytes(previous)
    (tmp_path / "afile").write_text("x")
    args = [f"{HERE}:tiny", "-o", str(out), "--profile", "dev", "--report-dir", str(tmp_path / "reports")]
    if what == "output-is-dir":
        args[2] = str(tmp_path)
    elif what == "report-dir-is-file":
        args[-1] = str(tmp_path / "afile")
    elif what == "junit-under-file":
        args += ["--junit-xml", str(tmp_path / "afile" / "junit.xml")]
    elif what == "verdict-under-file":
        args += ["--verdict-json", str(tmp_path / "afile" / "v.json")]
    elif what == "output-name-too-long":
        args[2] = str(tmp_path / ("m" * 300 + ".npz"))
    elif what in ("weights-fifo", "inputs-fifo"):
        os.mkfifo(tmp_path / "fifo.npz")
        args += ["--weights" if what == "weights-fifo" else "--inputs", str(tmp_path / "fifo.npz")]
    elif what == "weights-dir":
        args += ["--weights", str(tmp_path)]
    assert gate_main(args) == 2
    line = one_error_line(capsys)
    assert line.startswith("twins gate: error:")
    assert out.read_bytes() == previous  # nothing removed, nothing new published
    assert not [f for f in os.listdir(tmp_path) if f.endswith(".tmp")]


def test_publish_failure_after_the_reports_is_exit_2(tmp_path, capsys, monkeypatch):
    import layers_np.atomic as atomic

    out = tmp_path / "model.npz"
    out.write_bytes(b"previous release")
    real = atomic.atomic_write

    def failing(path, write, **kwargs):
        if os.path.abspath(path) == str(out):
            raise OSError(28, "No space left on device")
        return real(path, write, **kwargs)

    monkeypatch.setattr(atomic, "atomic_write", failing)
    code = gate_main([f"{HERE}:tiny", "-o", str(out), "--profile", "dev", "--report-dir", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert code == 2 and "No space left" in err and len(err.strip().splitlines()) == 1
    assert out.read_bytes() == b"previous release"
    assert json.loads((tmp_path / "r" / "gate_test_gate.tiny_verdict.json").read_text())["verdict"] == "ERROR"


USER_FACTORY = '''
import layers_theano as LT

def build():
    return LT.DenseLayer(LT.InputLayer((None, 3)), 2)
'''


def _without_cwd_on_path(monkeypatch, tmp_path):
    # as under the `twins` console script: sys.path[0] is the script's directory, not the cwd
    import sys
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", os.getcwd(), str(tmp_path))])
    monkeypatch.chdir(tmp_path)


def test_factory_module_resolves_from_the_current_directory(tmp_path, monkeypatch, capsys):
    """MODULE:FACTORY finds MODULE in the current directory first, as `python -m` does."""
    (tmp_path / "user_factory_cwd.py").write_text(USER_FACTORY)
    _without_cwd_on_path(monkeypatch, tmp_path)
    monkeypatch.delitem(__import__("sys").modules, "user_factory_cwd", raising=False)
    assert export_main(["user_factory_cwd:build", "-o", "cwd.npz"]) == 0, capsys.readouterr().err
    assert L.load(tmp_path / "cwd.npz").num_units == 2
    # a file path (with or without a directory part) names the file itself
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "user_factory_file.py").write_text(USER_FACTORY)
    assert export_main(["sub/user_factory_file.py:build", "-o", "file.npz"]) == 0, capsys.readouterr().err
    assert L.load(tmp_path / "file.npz").num_units == 2


def test_a_missing_factory_module_says_where_it_was_looked_for(tmp_path, monkeypatch, capsys):
    _without_cwd_on_path(monkeypatch, tmp_path)
    assert export_main(["no_such_user_module:build", "-o", "x.npz"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no module named 'no_such_user_module' in the current directory" in err[0], err
    assert not (tmp_path / "x.npz").exists()


# dtypes follow the weights file and THEANO_FLAGS -----------------------------------------
def _dense_weights(tmp_path, dtype):
    rng = np.random.default_rng(0)
    path = tmp_path / f"w_{dtype}.npz"
    with open(path, "wb") as f:
        np.savez(f, rng.standard_normal((3, 2)).astype(dtype), rng.standard_normal(2).astype(dtype))
    return path


def test_float32_lasagne_weights_make_a_float32_model(tmp_path, monkeypatch, capsys):
    import layers_theano.backend as backend
    from layers_theano.export import load_lasagne_weights

    monkeypatch.setattr(backend, "FLOATX_FROM_FLAGS", None)  # no floatX in THEANO_FLAGS/PYTENSOR_FLAGS
    (tmp_path / "user_dense.py").write_text(USER_FACTORY)
    w32 = _dense_weights(tmp_path, "float32")
    out = tmp_path / "m.npz"
    assert export_main([f"{tmp_path / 'user_dense.py'}:build", "--weights", str(w32), "-o", str(out)]) == 0, \
        capsys.readouterr().err
    model = L.load(out)
    assert {p.dtype for p in L.get_all_param_values(model)} == {np.dtype(np.float32)}
    assert L.get_output(model, np.ones((2, 3), np.float32)).dtype == np.float32
    # the Theano-side loader refuses to turn float32 weights into a float64 network silently
    with backend.config.change_flags(floatX="float64"):
        net64 = LT.DenseLayer(LT.InputLayer((None, 3)), 2)
    with pytest.raises(L.io.WeightsMismatchError, match="weights are float32 but the network was built in float64"):
        load_lasagne_weights(net64, w32)
    # ... unless floatX=float64 was chosen explicitly (Theano's upcast); a downcast never
    monkeypatch.setattr(backend, "FLOATX_FROM_FLAGS", "float64")
    load_lasagne_weights(net64, w32)
    assert net64.W.get_value().dtype == np.float64
    with backend.config.change_flags(floatX="float32"):
        net32 = LT.DenseLayer(LT.InputLayer((None, 3)), 2)
    with pytest.raises(L.io.WeightsMismatchError, match="weights are float64"):
        load_lasagne_weights(net32, _dense_weights(tmp_path, "float64"))


def test_numpy_side_lasagne_weights_set_the_twin_dtype(tmp_path):
    twin = L.DenseLayer(L.InputLayer((None, 3)), 2)
    L.set_all_param_values(twin, [v.astype(np.float64) for v in L.get_all_param_values(twin)])
    L.io.load_lasagne_weights(twin, _dense_weights(tmp_path, "float32"))
    assert {v.dtype for v in L.get_all_param_values(twin)} == {np.dtype(np.float32)}
    assert L.get_output(twin, np.ones((2, 3), np.float32)).dtype == np.float32


@pytest.mark.parametrize("env, want", [
    ({"THEANO_FLAGS": "floatX=float32"}, "float32"),
    ({"PYTENSOR_FLAGS": "floatX=float32"}, "float32"),
    ({"THEANO_FLAGS": "floatX=float32", "PYTENSOR_FLAGS": "floatX=float64"}, "float32"),  # THEANO_FLAGS wins
])
def test_theano_flags_floatx_is_honoured(env, want):
    import subprocess
    import sys

    base = {k: v for k, v in os.environ.items() if k not in ("THEANO_FLAGS", "PYTENSOR_FLAGS")}
    out = subprocess.run([sys.executable, "-c", "import layers_theano.backend as b; print(b.config.floatX)"],
                         env={**base, **env}, capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == want, out.stderr


def test_verdicts_of_same_named_factories_do_not_overwrite_each_other(tmp_path, monkeypatch):
    for pkg in ("pkg_a", "pkg_b"):
        (tmp_path / f"{pkg}.py").write_text(USER_FACTORY)
    _without_cwd_on_path(monkeypatch, tmp_path)
    for pkg in ("pkg_a", "pkg_b"):
        assert gate_main([f"{pkg}:build", "-o", f"{pkg}.npz", "--profile", "dev", "--report-dir", "r"]) == 0
    verdicts = {p.name: json.loads(p.read_text())["model"] for p in (tmp_path / "r").glob("*_verdict.json")}
    assert verdicts == {"gate_pkg_a.build_verdict.json": "pkg_a:build", "gate_pkg_b.build_verdict.json": "pkg_b:build"}


def empty_output_net():
    """No parameters, and an output with no elements (a slice past the end)."""
    return LT.SliceLayer(LT.InputLayer((None, 3)), indices=slice(5, 9), axis=1)


def only_input():
    return LT.InputLayer((None, 3))


@pytest.mark.parametrize("factory, message", [("empty_output_net", "output is empty on every batch"),
                                              ("only_input", "computes nothing")])
def test_a_network_that_computes_no_values_is_not_certified(tmp_path, capsys, factory, message):
    code, out, reports = gate(tmp_path, f"{HERE}:{factory}")
    err = capsys.readouterr().err
    assert code == 2 and message in err, err
    assert not out.exists()


# a user's own layer, from certification to a numpy-only deployment ------------------------
USER_TWINS = '''
"""The user's numpy twin (numpy only: what the deployment imports)."""
import layers_np as L


class ScaledDenseTwin(L.DenseLayer):
    def get_output_for(self, input, **kwargs):
        return super().get_output_for(input, **kwargs) * input.dtype.type(2)
'''
USER_NET = '''
import layers_theano as LT
from layers_theano import register_twin
from user_twins import ScaledDenseTwin


class ScaledDense(LT.DenseLayer):
    def get_output_for(self, input, **kwargs):
        return super().get_output_for(input, **kwargs) * 2


register_twin(ScaledDense, ScaledDenseTwin)


def build():
    return LT.DenseLayer(ScaledDense(LT.InputLayer((None, 4), name="x"), 3, name="scaled"), 2, name="out")
'''
NUMPY_ONLY_LOAD = '''
import sys, importlib.abc
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in ("pytensor", "hypothesis", "pandas", "layers_theano", "harness", "scipy"):
            raise ModuleNotFoundError(name, name=name)
sys.meta_path.insert(0, Block())
import numpy as np
import layers_np as L
from user_twins import ScaledDenseTwin
model = L.load("user.npz", custom_layers={"ScaledDenseTwin": ScaledDenseTwin})
np.save("y.npy", model(np.load("x.npy")))
'''


def test_a_network_with_a_user_layer_is_gated_exported_and_loaded_numpy_only(tmp_path, monkeypatch, capsys):
    import subprocess
    import sys

    (tmp_path / "user_twins.py").write_text(USER_TWINS)
    (tmp_path / "user_net.py").write_text(USER_NET)
    _without_cwd_on_path(monkeypatch, tmp_path)
    monkeypatch.setattr(sys, "path", [str(tmp_path)] + sys.path)
    monkeypatch.delitem(sys.modules, "user_twins", raising=False)
    code = gate_main(["user_net.py:build", "-o", "user.npz", "--profile", "dev", "--report-dir", "r"])
    assert code == 0, capsys.readouterr()
    spec = L.io.read_spec(tmp_path / "user.npz")
    assert [l["class"] for l in spec["layers"]] == ["InputLayer", "custom:ScaledDenseTwin", "DenseLayer"]
    # the file names the class; only the registry given to load can supply it
    with pytest.raises(L.io.UnknownLayerError, match=r"custom_layers=\{'ScaledDenseTwin': ScaledDenseTwin\}"):
        L.load(tmp_path / "user.npz")
    import user_twins

    twin = L.load(tmp_path / "user.npz", custom_layers={"ScaledDenseTwin": user_twins.ScaledDenseTwin})
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(spec["dtype"])
    np.save(tmp_path / "x.npy", x)
    out = subprocess.run([sys.executable, "-c", NUMPY_ONLY_LOAD], cwd=tmp_path, capture_output=True, text=True,
                         timeout=120, env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
                         | {"PYTHONPATH": os.pathsep.join([str(tmp_path), os.path.dirname(os.path.dirname(HERE))])})
    assert out.returncode == 0, out.stderr
    np.testing.assert_array_equal(np.load(tmp_path / "y.npy"), twin(x))
    with pytest.raises(TypeError, match="custom_layers"):
        L.load(tmp_path / "user.npz", custom_layers={"ScaledDenseTwin": object})
