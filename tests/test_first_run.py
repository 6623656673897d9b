"""The first run: compiled functions shared between cases, certify's workers, progress, the project's compile cache."""
import json
import os
import subprocess

import numpy as np
import pytest

from harness import registry
from harness.execute import build, compiled_function, run_theano
from harness.strategies import Case, Fn, Values
from harness.workers import Job, Setup, assign, flag_value, run_jobs, worker_flags

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _dense_case(num_units, shape, dtype="float64", seed=0, **kwargs):
    declared = (None,) + tuple(shape[1:])
    return Case("DenseLayer", dtype, {"num_units": num_units, **kwargs}, [shape], [declared],
                Values("normal", 1.0, seed))


def test_cases_that_differ_only_in_sizes_share_one_compiled_function():
    # num_units sets parameter shapes only, and batch/feature sizes are input shapes: one Theano
    # function serves them all (the compile key used to include every hyperparameter)
    registry.load_pairs(builtin=True)
    pair = registry.get_pair("DenseLayer")
    nl = Fn("ScaledTanH", scale_in=0.25, scale_out=1.75)  # a graph no other test compiles
    fns, fresh = [], []
    for seed, (units, shape) in enumerate([(2, (3, 4)), (7, (5, 4)), (3, (1, 6)), (9, (2, 5))]):
        built = build(registry.get_pair("DenseLayer"), _dense_case(units, shape, seed=seed, nonlinearity=nl))
        fn, compiled, _ = compiled_function(pair, built)
        fns.append(fn)
        fresh.append(compiled)
        out = run_theano(pair, built)[0]
        x, (W, b) = built.inputs[0].astype(np.float64), built.params
        np.testing.assert_allclose(out, 1.75 * np.tanh(0.25 * (x @ W + b)), rtol=1e-12, atol=1e-12)
    assert fresh == [True, False, False, False] and all(f is fns[0] for f in fns)
    # a different graph (another nonlinearity, another dtype) is another function
    other = build(pair, _dense_case(2, (3, 4), nonlinearity=Fn("ScaledTanH", scale_in=0.5, scale_out=1.75)))
    assert compiled_function(pair, other)[0] is not fns[0]
    f32 = build(pair, _dense_case(2, (3, 4), dtype="float32", nonlinearity=nl))
    assert compiled_function(pair, f32)[0] is not fns[0]


def test_jobs_split_statically_so_each_worker_keeps_its_jobs_and_its_cache():
    assert assign(5, 2) == [[0, 2, 4], [1, 3]]
    assert assign(3, 1) == [[0, 1, 2]] and assign(1, 4) == [[0]]
    # each worker compiles in a directory of its own under the base directory ...
    flags = worker_flags(1, "floatX=float32,base_compiledir=/old,blas__ldflags=", "/base")
    assert flags.split(",") == ["floatX=float32", "blas__ldflags=", "base_compiledir=/base/twins-worker-1"]
    # ... unless the user pinned one compile directory: then they share it
    assert worker_flags(0, "compiledir=/pinned", "/base") == "compiledir=/pinned"
    # the flags are read as PyTensor reads them (tests/conftest.py finds the base directory so)
    assert flag_value("base_compiledir=/a,floatX=float32,base_compiledir=/b", "base_compiledir") == "/b"
    assert flag_value("blas.ldflags=-lblas", "blas__ldflags") == "-lblas"
    assert flag_value("compiledir_format=x,blas__ldflags=", "compiledir") is None


def _comparable(path):
    rows = json.loads(path.read_text())
    keep = ("pair", "dtype", "examples", "verdict", "worst_ulp", "worst_diff_over_allowed", "worst_example", "blame")
    return [{k: r[k] for k in keep} for r in rows]


def test_progress_is_reported_per_example_and_per_zoo_network(tmp_path):
    events = []
    jobs = [Job("pair", "FlattenLayer", "float64"), Job("zoo", "mlp", "float64")]
    stats, zoo = run_jobs(jobs, Setup("ci", str(tmp_path)), 1, on_event=lambda *e: events.append(e))
    kinds = [(kind, payload[0] if kind == "start" else None) for kind, _, payload in events]
    first, second = kinds.index(("start", "FlattenLayer[float64]")), kinds.index(("start", "mlp[float64]"))
    assert kinds[first + 1:second].count(("step", None)) == stats.examples == 25  # one step per example
    assert kinds[second + 1:].count(("step", None)) == 2 and not zoo.error  # certify, then attribute
    assert [k for k, _ in kinds].count("done") == 2


def test_two_workers_give_the_reports_of_one_process(tmp_path, capsys, monkeypatch):
    from harness.cli import main
    from layers_theano.backend import config

    # the workers share this process's compile directory (pinned, as a user may pin one), which the
    # first run warms; their own directories are worker_flags' business, tested above
    flags = os.environ.get("PYTENSOR_FLAGS", "")
    monkeypatch.setenv("PYTENSOR_FLAGS", ",".join(f for f in (flags, f"compiledir={config.compiledir}") if f))

    args = ["certify", "--layers", "FlattenLayer", "--profile", "ci", "--no-html"]
    assert main(args + ["--report-dir", str(tmp_path / "one")]) == 0
    err = capsys.readouterr().err
    assert "FlattenLayer[float32]" in err and "/25 [" in err and "example" in err  # a bar over the pair's examples
    assert main(args + ["--jobs", "2", "--report-dir", str(tmp_path / "two")]) == 0
    err = capsys.readouterr().err
    assert "[0] FlattenLayer[float32]" in err and "[1] FlattenLayer[float64]" in err  # one dtype per worker
    assert (_comparable(tmp_path / "one" / "discrepancy.json") == _comparable(tmp_path / "two" / "discrepancy.json"))


def test_a_worker_that_dies_turns_its_jobs_into_errors_not_a_hang(tmp_path):
    setup = Setup("ci", str(tmp_path), ("no_such_pairs_module_xyz",), False)
    results = run_jobs([Job("pair", "FlattenLayer", "float32"), Job("pair", "FlattenLayer", "float64")], setup, 2)
    assert [r.verdict for r in results] == ["ERROR", "ERROR"]
    assert all("not run" in r.message and "no_such_pairs_module_xyz" in r.message for r in results)


@pytest.mark.parametrize("flags,expected", [
    (None, os.path.join(ROOT, ".cache", "pytensor")),
    ("floatX=float32", os.path.join(ROOT, ".cache", "pytensor")),
    ("floatX=float32,base_compiledir=/mine", "/mine"),
    ("compiledir=/pinned", "/pinned"),
])
def test_make_keeps_the_compile_cache_in_the_project_unless_the_user_names_one(flags, expected):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTENSOR_FLAGS", "MAKEFLAGS", "MFLAGS")}
    if flags is not None:
        env["PYTENSOR_FLAGS"] = flags
    out = subprocess.run(["make", "-s", "-C", ROOT, "cachedir"], capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == expected
    with open(os.path.join(ROOT, ".gitignore")) as f:
        assert ".cache/" in f.read().split()
