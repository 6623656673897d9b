"""``twins import-pickle MODEL.pkl MODULE:FACTORY -o model.npz``: a Python 2 model pickle, read
without running it, gated like ``twins gate --weights``; exit codes 0/1/2 with one line."""
from __future__ import annotations

import json
import os

import numpy as np
import pytest

import layers_np as L
import layers_theano as LT
from harness.cli import main

import py2_pickle as P

HERE = os.path.abspath(__file__)
RNG = np.random.RandomState(7)
VALUES32 = [RNG.randn(6, 5).astype("f4"), RNG.randn(5).astype("f4"), RNG.randn(5, 3).astype("f4"),
            RNG.randn(3).astype("f4")]


def tiny():
    """6-5-3 dense network (the pickle's values replace its initial ones)."""
    inp = LT.InputLayer((None, 6), name="input")
    hidden = LT.DenseLayer(inp, 5, name="hidden")
    return LT.DenseLayer(hidden, 3, nonlinearity=LT.nonlinearities.softmax, name="output")


def corrupted_tiny():
    """tiny() whose numpy twin gets a scaled hidden weight matrix (the Theano side is intact)."""
    net = tiny()
    net.input_layer.twin_kwargs = lambda kwargs, convert: {**kwargs, "W": np.asarray(kwargs["W"]) * 1.01}
    return net


def run(tmp_path, capsys, pickle_bytes, factory=f"{HERE}:tiny", name="model.pkl"):
    src = tmp_path / name
    src.write_bytes(pickle_bytes)
    out = tmp_path / "model.npz"
    code = main(["import-pickle", str(src), factory, "-o", str(out), "--profile", "dev",
                 "--report-dir", str(tmp_path / "reports")])
    printed = capsys.readouterr()
    return code, out, printed


def test_python2_pickle_is_certified_with_its_metadata(tmp_path, capsys):
    obj = {P.Str(b"param values"): VALUES32, P.Str(b"synset words"): [P.Str(b"cat"), P.Str(b"dog"), P.Str(b"caf\xc3\xa9")],
           P.Str(b"mean value"): np.array([103.939, 116.779, 123.68])}
    code, out, printed = run(tmp_path, capsys, P.dumps(obj, 2))
    assert code == 0, printed
    assert "certified: wrote" in printed.out
    model = L.load(out)
    for got, want in zip(L.get_all_param_values(model), VALUES32):
        assert got.dtype == want.dtype and np.array_equal(got, want)
    meta = L.io.read_metadata(out)
    assert meta["class_names"] == ["cat", "dog", "caf\u00e9"] and meta["pickle_file"] == "model.pkl"
    assert np.array_equal(meta["mean_value"], [103.939, 116.779, 123.68])
    spec = L.io.read_spec(out)
    assert spec["certification"]["verdict"] == "certified" and spec["producer"]["gate"] == "twins import-pickle"
    verdict = json.loads((tmp_path / "reports" / "gate_test_import_pickle.tiny_verdict.json").read_text())
    assert verdict["pickle_layout"] == "dict['param values']" and verdict["exit_code"] == 0


def test_float64_bare_list_at_protocol_0(tmp_path, capsys):
    values = [v.astype("f8") for v in VALUES32]
    code, out, printed = run(tmp_path, capsys, P.dumps(values, 0))
    assert code == 0, printed
    assert L.io.read_spec(out)["dtype"] == "float64"
    assert L.io.read_metadata(out)["pickle_layout"] == "list"
    for got, want in zip(L.get_all_param_values(L.load(out)), values):
        assert np.array_equal(got, want)


def test_discrepancy_exits_1_and_writes_nothing(tmp_path, capsys):
    code, out, printed = run(tmp_path, capsys, P.dumps(VALUES32, 2), factory=f"{HERE}:corrupted_tiny")
    assert code == 1, printed
    assert not out.exists() and "was not written" in printed.out


@pytest.mark.parametrize("what", ["os.system", "wrong count", "wrong shape", "layout", "truncated", "missing"])
def test_bad_pickles_exit_2_with_one_line(tmp_path, capsys, what):
    marker = tmp_path / "marker"
    data = {
        "os.system": P.dumps({P.Str(b"param values"): [P.Call("os", "system", (P.Str(f"touch {marker}".encode()),))]}, 2),
        "wrong count": P.dumps(VALUES32[:3], 2),
        "wrong shape": P.dumps(VALUES32[::-1], 2),
        "layout": P.dumps({P.Str(b"weights"): VALUES32}, 2),
        "truncated": P.dumps(VALUES32, 2)[:-40],
        "missing": None,
    }[what]
    if data is None:
        out = tmp_path / "model.npz"
        code = main(["import-pickle", str(tmp_path / "nothere.pkl"), f"{HERE}:tiny", "-o", str(out)])
        printed = capsys.readouterr()
    else:
        code, out, printed = run(tmp_path, capsys, data)
    assert code == 2
    lines = printed.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("twins import-pickle: error:"), printed.err
    assert {"os.system": "refused global os.system", "wrong count": "4 parameters, the file holds 3",
            "wrong shape": "has shape", "layout": "no 'param values'", "truncated": "truncated",
            "missing": "cannot read the file"}[what] in lines[0]
    assert not out.exists() and not marker.exists()


def test_help_lists_the_command(capsys):
    assert main(["--help"]) == 0
    assert "import-pickle" in capsys.readouterr().out
    assert main(["import-pickle", "--help"]) == 0
    usage = capsys.readouterr().out
    assert "pickle" in usage and "--inputs" in usage and "factory" in usage
