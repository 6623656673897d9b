"""``twins bench`` of the user's own models: factory and model-file targets, the saved JSON, --compare.

Plumbing only: timings are whatever this machine measures; no test asserts a speed. The models
are tiny and the timing budget a few milliseconds, so the whole file runs in seconds.
"""
from __future__ import annotations

import datetime
import json
import sys

import pytest

from harness import bench
from harness.bench_compare import (ENTRY_KEYS, SCHEMA, SCHEMA_VERSION, BenchFileError, compare_records,
                                   read_record)

FAST = ["--quick", "--max-time", "0.01", "--no-progress"]

TINY_FACTORY = '''
import layers_theano as L

def build():
    net = L.InputLayer((None, 6), name="x")
    net = L.DenseLayer(net, 5, name="hidden")
    return L.DenseLayer(net, 3, nonlinearity=L.nonlinearities.softmax, name="out")

def other():
    return L.DenseLayer(L.InputLayer((None, 6)), 7)
'''


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A user's project directory holding tinynet.py (not importable from anywhere else) and
    tiny.npz (its exported twin); the test runs from there."""
    (tmp_path / "tinynet.py").write_text(TINY_FACTORY)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delitem(sys.modules, "tinynet", raising=False)
    import layers_np as L

    net = L.InputLayer((None, 6), name="x")
    net = L.DenseLayer(net, 5, name="hidden")
    net = L.DenseLayer(net, 3, nonlinearity=L.nonlinearities.softmax, name="out")
    for p in L.get_all_params(net):  # a float32 file: a Theano factory built for it must follow its dtype
        p.set_value(p.get_value().astype("float32"))
    L.save(net, tmp_path / "tiny.npz")
    yield tmp_path
    sys.modules.pop("tinynet", None)


def _saved(path, results, **extra):
    record = {"schema": SCHEMA, "schema_version": SCHEMA_VERSION, "created": "2026-01-01T00:00:00+00:00",
              "machine": {}, "results": results, **extra}
    path.write_text(json.dumps(record))
    return str(path)


def _entry(model, batch, twin_ms, ratio=None):
    return {"model": model, "batch": batch, "twin_ms": twin_ms, "twin_over_theano": ratio, "theano_ms": None}


def test_factory_target_runs_and_saves_the_documented_schema(project, capsys):
    code = bench.bench_main(["tinynet:build", "--batch", "1,3", *FAST, "--json", "run.json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "tinynet:build" in out and "saved: run.json" in out
    record = json.loads((project / "run.json").read_text())
    assert record["schema"] == SCHEMA and record["schema_version"] == SCHEMA_VERSION
    assert datetime.datetime.fromisoformat(record["created"]).tzinfo is not None
    assert record["command"].startswith("twins bench tinynet:build")
    for key in ("cpu", "cores", "usable_cores", "python", "numpy", "pytensor", "blas", "blas_threads", "platform"):
        assert key in record["machine"], key
    assert record["machine"]["cores"] >= 1
    # the user's directory is no git repository; theano-twins' own commit is recorded when it is one
    assert record["commit"]["project"] == {"path": str(project), "commit": None, "dirty": None}
    own = record["commit"]["theano_twins"]
    assert own["commit"] is None or len(own["commit"]) == 40
    assert record["settings"]["batch_sizes"] == [1, 3] and record["settings"]["max_time_s"] == 0.01
    assert [(r["model"], r["batch"], r["source"]) for r in record["results"]] == [
        ("tinynet:build", 1, "factory"), ("tinynet:build", 3, "factory")]
    for r in record["results"]:
        assert list(r)[:len(ENTRY_KEYS)] == list(ENTRY_KEYS)
        assert r["error"] is None and r["twin_ms"] > 0 and r["theano_ms"] > 0 and r["reps"] >= 5
        assert r["twin_over_theano"] == pytest.approx(r["twin_ms"] / r["theano_ms"])
        assert r["max_rel_diff"] < 1e-5  # the twin computes the network it was built from
    assert read_record(str(project / "run.json"))["results"] == record["results"]  # --compare reads what --json wrote


def test_file_factory_spec_mixed_targets_and_progress_bar(project, capsys):
    # targets before and after options; --factory belongs to the model file, the factory target ignores it
    code = bench.bench_main(["tiny.npz", "--factory", "tinynet:build", "./tinynet.py:other", "--batch", "2",
                             "--quick", "--max-time", "0.01", "--json", "mixed.json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "./tinynet.py:other" in out
    assert "bench" in err and "./tinynet.py:other batch 2" in err  # tqdm on stderr names model and batch
    results = json.loads((project / "mixed.json").read_text())["results"]
    assert [(r["model"], r["source"]) for r in results] == [("tiny.npz", "file"), ("./tinynet.py:other", "factory")]
    assert all(r["theano_ms"] > 0 for r in results)


def test_model_file_alone_and_against_its_factory(project, capsys):
    (project / "sub").mkdir()
    (project / "sub" / "tiny.npz").write_bytes((project / "tiny.npz").read_bytes())
    # one file named twice is timed once; another file of the same name is another entry
    assert bench.bench_main(["tiny.npz", "./tiny.npz", "sub/tiny.npz", "--batch", "1", *FAST, "--json", "two.json"]) == 0
    assert [r["model"] for r in read_record(str(project / "two.json"))["results"]] == ["tiny.npz", "sub/tiny.npz"]
    assert bench.bench_main(["tiny.npz", "--batch", "1,2", *FAST, "--json", "alone.json"]) == 0
    alone = json.loads((project / "alone.json").read_text())["results"]
    assert [(r["model"], r["batch"], r["source"]) for r in alone] == [("tiny.npz", 1, "file"), ("tiny.npz", 2, "file")]
    assert all(r["twin_ms"] > 0 and r["theano_ms"] is None and r["twin_over_theano"] is None for r in alone)
    assert bench.bench_main(["tiny.npz", "--factory", "tinynet:build", "--batch", "2", *FAST,
                             "--json", "both.json"]) == 0
    (both,) = json.loads((project / "both.json").read_text())["results"]
    assert both["theano_ms"] > 0 and both["twin_over_theano"] == pytest.approx(both["twin_ms"] / both["theano_ms"])
    # Theano was built in the file's dtype with the file's weights: the two compute one function
    assert both["max_rel_diff"] < 1e-5
    from harness.bench_targets import prepare_target

    target = prepare_target("tiny.npz", "tinynet:build")
    assert {str(v.type.dtype) for v in target.theano.maker.fgraph.inputs} == {"float32"}  # input and weights
    capsys.readouterr()
    # a factory whose network is not the file's: one line, exit 2
    assert bench.bench_main(["tiny.npz", "--factory", "tinynet:other", "--batch", "1", *FAST]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "shapes" in err and "--factory" in err


def test_model_file_with_a_custom_layer_needs_its_class_named(project, capsys, monkeypatch):
    """A file records a user's twin class by name only; the command line names the class to use."""
    (project / "mytwins.py").write_text("import layers_np\n\nclass ScaledDense(layers_np.DenseLayer):\n    pass\n\n\ndef helper():\n    pass\n")
    monkeypatch.delitem(sys.modules, "mytwins", raising=False)
    import layers_np as L
    from harness.imports import import_user_module

    try:
        mytwins = import_user_module("mytwins")
        L.save(mytwins.ScaledDense(L.InputLayer((None, 4)), 2), project / "custom.npz")
        assert bench.bench_main(["custom.npz", "--batch", "1", *FAST]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "ScaledDense" in err and "custom_layers" in err, err
        assert bench.bench_main(["custom.npz", "--custom-layer", "mytwins:ScaledDense", "--batch", "1", *FAST]) == 0
        assert "custom.npz" in capsys.readouterr().out
        assert bench.bench_main(["custom.npz", "--custom-layer", "mytwins:nothing", *FAST]) == 2
        assert "--custom-layer mytwins:nothing: 'mytwins' has no callable 'nothing'" in capsys.readouterr().err
        assert bench.bench_main(["custom.npz", "--custom-layer", "mytwins:helper", *FAST]) == 2
        assert "'helper' is not a layers_np layer class" in capsys.readouterr().err
    finally:
        sys.modules.pop("mytwins", None)


@pytest.mark.parametrize("argv, words", [
    (["no_such_module_xyz:build"], ["no_such_module_xyz", "current directory"]),
    (["tinynet:missing"], ["no callable 'missing'"]),
    (["tinynet"], ["MODULE:FACTORY"]),
    (["absent.npz"], ["no such model file"]),
    (["garbage.npz"], ["garbage.npz"]),
    (["tinynet:build", "--factory", "tinynet:build"], ["--factory", ".npz"]),
])
def test_bad_targets_are_one_line_usage_errors(project, capsys, argv, words):
    (project / "garbage.npz").write_bytes(b"PK\x03\x04 not really a zip" * 10)
    assert bench.bench_main([*argv, *FAST]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("twins bench: error:"), err
    for word in words:
        assert word in err


def test_compare_exit_codes_with_saved_runs(project, capsys):
    run = ["tiny.npz", "--batch", "1,2", *FAST]
    # saved run impossibly fast: this run regressed (exit 1, says which entry)
    slow = _saved(project / "fast_base.json", [_entry("tiny.npz", 1, 1e-9), _entry("tiny.npz", 2, 1e9)])
    assert bench.bench_main([*run, "--compare", slow]) == 1
    out, err = capsys.readouterr()
    assert "REGRESSED: tiny.npz batch 1: twin ms/call" in err and "batch 2" not in err
    assert "REGRESSED" in out and "faster" in out  # the table: batch 1 regressed, batch 2 faster
    # saved run impossibly slow: nothing regressed; an entry missing on either side is listed, not failed
    fast = _saved(project / "slow_base.json", [_entry("tiny.npz", 1, 1e9), _entry("gone.npz", 1, 1.0)])
    assert bench.bench_main([*run, "--compare", fast]) == 0
    out = capsys.readouterr().out
    assert "not in this run (1): gone.npz batch 1" in out and "not in the saved run (1): tiny.npz batch 2" in out
    assert "no regression beyond 10% in 1 comparisons" in out
    # a threshold wide enough accepts the regression
    assert bench.bench_main([*run, "--compare", slow, "--threshold", "1e15%"]) == 0
    capsys.readouterr()
    # checking only the ratio when the model file alone has none compares nothing: not a pass
    assert bench.bench_main([*run, "--compare", slow, "--fail-on", "ratio"]) == 2
    out, err = capsys.readouterr()
    assert "slower (not checked)" in out and "no twin/Theano ratio of this run" in err
    # nothing in common: the comparison would be empty, so it is not a pass
    other = _saved(project / "other.json", [_entry("other.npz", 1, 1.0)])
    assert bench.bench_main([*run, "--compare", other]) == 2
    assert "nothing was compared" in capsys.readouterr().err


def test_compare_records_arithmetic():
    old = {"results": [_entry("m", 1, 4.0, 1.0), _entry("m", 8, 2.0, None)]}
    new = [dict(_entry("m", 1, 5.0, 1.5), error=None), dict(_entry("m", 8, None, None), error="boom")]
    result = compare_records(old, new, threshold_pct=25.0)
    by = {(r["batch"], r["metric"]): r for r in result["rows"]}
    # 4.0 -> 5.0 is +25% (exact in binary): at the threshold, not above it; the ratio 1.0 -> 1.5 is +50%
    assert by[(1, "twin ms/call")]["change"] == 0.25 and by[(1, "twin ms/call")]["verdict"] == "ok"
    assert by[(1, "twin/Theano")]["verdict"] == "REGRESSED"
    assert by[(8, "twin ms/call")]["verdict"] == "not measured now (boom)"
    assert result["compared"] == 2 and len(result["regressions"]) == 1 and "+50.0% > 25%" in result["regressions"][0]
    latency_only = compare_records(old, new, threshold_pct=25.0, checked=("twin_ms",))
    assert not latency_only["regressions"]
    assert [r["verdict"] for r in latency_only["rows"]][:2] == ["ok", "slower (not checked)"]


def _hostile_files(tmp_path):
    ok = [_entry("tiny.npz", 1, 1.0)]
    base = {"schema": SCHEMA, "schema_version": SCHEMA_VERSION, "results": ok}
    files = {
        "not_json.json": (b"{\"schema\": ", "not valid JSON"),
        "binary.json": (b"\xff\xfe\x00garbage", "not UTF-8"),
        "list.json": (b"[1, 2, 3]", "not a saved twins bench run"),
        "other_schema.json": (json.dumps({"schema": "pytest-benchmark"}).encode(), "not a saved twins bench run"),
        "version.json": (json.dumps({**base, "schema_version": 99}).encode(), "schema_version"),
        "nan.json": (json.dumps(base).replace("1.0", "NaN").encode(), "non-finite"),
        "deep.json": (b"[" * 200_000 + b"]" * 200_000, "nested too deeply"),
        "big.json": (b" " * (8 * 2 ** 20 + 10) + b"{}", "larger than 8 MB"),
        "results.json": (json.dumps({**base, "results": {"a": 1}}).encode(), "\"results\" must be a list"),
        "entry.json": (json.dumps({**base, "results": [5]}).encode(), "must be an object"),
        "escape.json": (json.dumps({**base, "results": [_entry("x\x1b[2J", 1, 1.0)]}).encode(), "printable name"),
        "batch.json": (json.dumps({**base, "results": [_entry("m", True, 1.0)]}).encode(), "positive integer"),
        "twice.json": (json.dumps({**base, "results": ok + ok}).encode(), "appears twice"),
        "string.json": (json.dumps({**base, "results": [_entry("m", 1, "fast")]}).encode(), "finite number"),
        "negative.json": (json.dumps({**base, "results": [_entry("m", 1, -1.0)]}).encode(), "must be positive"),
        "huge.json": (json.dumps({**base, "results": [_entry("m", 1, 10 ** 400)]}).encode(), "finite number"),
    }
    for name, (data, _) in files.items():
        (tmp_path / name).write_bytes(data)
    return {name: reason for name, (_, reason) in files.items()}


def test_hostile_compare_files_are_one_line_errors_before_any_measuring(tmp_path, capsys):
    for name, reason in _hostile_files(tmp_path).items():
        with pytest.raises(BenchFileError, match=reason):
            read_record(str(tmp_path / name))
        # the target does not even exist: the compare file is refused first, before a long run
        assert bench.bench_main([str(tmp_path / "absent.npz"), "--compare", str(tmp_path / name)]) == 2, name
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and f"--compare {tmp_path / name}: " in err and reason in err, err
        assert "\x1b" not in err
    assert bench.bench_main(["absent.npz", "--compare", str(tmp_path / "none.json")]) == 2
    assert "cannot read it" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["--threshold", "-5"], ["--threshold", "nan"], ["--max-time", "0"],
                                  ["--batch", "0"]])
def test_bad_options_are_usage_errors(argv):
    with pytest.raises(SystemExit) as info:
        bench.bench_main(["x.npz", *argv])
    assert info.value.code == 2


def test_zoo_rows_save_and_compare_like_user_rows(tmp_path):
    """The zoo suite's rows (every bench.csv column) go through the same schema and comparison."""
    from harness.bench_compare import make_record, write_record
    from test_bench import _fake_results

    rows = [dict(r, source="zoo") for r in bench.build_rows(_fake_results())]
    path = tmp_path / "zoo.json"
    write_record(make_record({"cpu": "x"}, {"batch_sizes": [1, 64]}, rows, ["--zoo", "mlp"]), str(path))
    record = read_record(str(path))
    assert record["command"] == "twins bench --zoo mlp"
    assert [(r["model"], r["batch"], r["source"]) for r in record["results"]] == [("mlp", 1, "zoo"), ("mlp", 64, "zoo")]
    assert record["results"][0]["break_even_cold"] == 9500  # the zoo's own columns are kept
    same = compare_records(record, rows, threshold_pct=0.0)
    assert same["compared"] == 4 and not same["regressions"]
    slower = [dict(r, twin_ms=r["twin_ms"] * 1.5) for r in rows]
    worse = compare_records(record, slower, threshold_pct=20.0)
    assert len(worse["regressions"]) == 2 and all("twin ms/call" in line for line in worse["regressions"])


def test_model_file_alone_needs_no_theano_side(project, capsys, monkeypatch):
    """A deployment set-up without PyTensor times its model file; asking for Theano says what is missing."""
    for name in ("pytensor", "layers_theano", "lasagne"):
        monkeypatch.setitem(sys.modules, name, None)  # import fails as if not installed
    assert bench.bench_main(["tiny.npz", "--batch", "1", *FAST]) == 0
    assert "tiny.npz" in capsys.readouterr().out
    assert bench.bench_main(["tiny.npz", "--factory", "tinynet:build", "--batch", "1", *FAST]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "needs the Theano side" in err


def test_git_commit_of_a_project(tmp_path):
    import shutil
    import subprocess

    from harness.bench_compare import git_commit

    if shutil.which("git") is None:  # no git: no commit, and no failure either
        assert git_commit(str(tmp_path)) is None
        return
    repo = tmp_path / "proj"
    (repo / "pkg").mkdir(parents=True)
    (repo / "pkg" / "m.py").write_text("x = 1\n")
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false"]
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "one"], check=True)
    head = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    assert git_commit(str(repo / "pkg")) == {"commit": head, "dirty": False}
    (repo / "pkg" / "m.py").write_text("x = 2\n")
    assert git_commit(str(repo)) == {"commit": head, "dirty": True}
    # a directory inside someone else's repository is not that repository's project
    assert git_commit(str(repo / "pkg"), toplevel=str(repo / "pkg")) is None
    assert git_commit(str(tmp_path)) is None or git_commit(str(tmp_path))["commit"] != head
