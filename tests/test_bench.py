"""``twins bench``: break-even arithmetic, the table's columns and goals, and a quick smoke run."""
from __future__ import annotations

import json
import math
import os

import pandas as pd
import pytest

from harness import bench
from harness.bench import COLUMNS, break_even, build_rows, goal_rows, theano_env


def test_break_even_arithmetic():
    # Theano starts 9.5 s later and gains 1 ms per call: 9500 calls to catch up
    assert break_even(10.0, 0.5, 0.001, 0.002) == 9500
    # a fraction of a call rounds up: 1.0 s extra / 0.3 s gain = 3.33 -> 4
    assert break_even(1.5, 0.5, 0.1, 0.4) == 4
    # the twin at least as fast per call: Theano never pays back its start-up
    assert break_even(10.0, 0.5, 0.002, 0.001) is None
    assert break_even(10.0, 0.5, 0.002, 0.002) is None
    # Theano starting no later than numpy and faster per call: ahead from the start
    assert break_even(0.4, 0.5, 0.001, 0.002) == 0


def test_theano_env_sets_compiledir_and_keeps_blas_flag():
    env = theano_env("/tmp/x", {"PYTENSOR_FLAGS": "floatX=float32,compiledir=/old,base_compiledir=/b"})
    flags = env["PYTENSOR_FLAGS"].split(",")
    assert "compiledir=/tmp/x" in flags and "floatX=float32" in flags and "blas__ldflags=" in flags
    assert "compiledir=/old" not in flags and not any(f.startswith("base_compiledir") for f in flags)
    # a BLAS setting the user made wins
    env = theano_env("/tmp/y", {"PYTENSOR_FLAGS": "blas__ldflags=-lopenblas"})
    assert env["PYTENSOR_FLAGS"].split(",") == ["blas__ldflags=-lopenblas", "compiledir=/tmp/y"]


def _fake_results():
    def latency(th, tw, gr=None):
        out = {"theano": {"median": th, "q1": th * 0.9, "q3": th * 1.1, "min": th, "n": 50},
               "twin": {"median": tw, "q1": tw * 0.8, "q3": tw * 1.2, "min": tw, "n": 50}, "max_rel_diff": 0.0}
        if gr is not None:
            out["graph"] = {"median": gr, "q1": gr * 0.5, "q3": gr * 1.5, "min": gr, "n": 50}
            out["graph_max_rel_diff"] = 1e-7
        return out

    marks = {"import_s": 1.0, "build_s": 1.1, "compile_s": 9.1, "first_prediction_s": 10.0}
    return {"settings": {"batch_sizes": [1, 64], "quick": True, "seq_len": 8, "numpy_repeats": 2},
            "peak_gflops": 100.0,
            "models": [{
                "model": "mlp",
                "cold": {"startup_s": 10.0, "max_rss_mb": 150.0, "marks": marks, "process_s": 10.2},
                "warm": {"startup_s": 2.0, "max_rss_mb": 140.0,
                         "marks": dict(marks, compile_s=1.6, first_prediction_s=2.0),
                         "flops_per_sample": 1_000_000,
                         "latency": {"1": latency(0.001, 0.002, 0.003), "64": latency(0.004, 0.002)}},
                "numpy": [{"startup_s": s, "max_rss_mb": 40.0, "imported_pytensor": False, "process_s": s + 0.05,
                           "marks": {"import_s": s - 0.1, "load_s": s - 0.05, "first_prediction_s": s}}
                          for s in (0.4, 0.6)],
            }]}


def test_rows_and_goals_from_made_up_numbers():
    rows = build_rows(_fake_results())
    assert [list(r) for r in rows] == [COLUMNS, COLUMNS]
    b1, b64 = rows
    assert b1["numpy_start_s"] == pytest.approx(0.5)  # median of the numpy processes
    assert b1["cold_speedup"] == pytest.approx(20.0) and b1["warm_speedup"] == pytest.approx(4.0)
    assert b1["twin_over_theano"] == pytest.approx(2.0) and b64["twin_over_theano"] == pytest.approx(0.5)
    assert b1["break_even_cold"] == 9500 and b1["break_even_warm"] == 1500  # (2.0 - 0.5) / 1 ms
    assert b64["break_even_cold"] == "never" and b64["break_even_warm"] == "never"
    # 1 MFLOP per sample, 64 samples in 2 ms: 32 GFLOP/s, 32% of a 100 GFLOP/s peak
    assert b64["twin_gflops"] == pytest.approx(32.0) and b64["peak_fraction"] == pytest.approx(0.32)
    assert b1["theano_iqr_ms"] == pytest.approx(0.2) and b1["twin_iqr_ms"] == pytest.approx(0.8)
    assert b1["rss_ratio"] == pytest.approx(3.5) and b1["numpy_imported_pytensor"] is False
    assert b1["theano_cold_compile_s"] == pytest.approx(8.0) and b1["error"] is None
    # the graph runtime's column: its ratios to Theano and to the twin (absent when not timed)
    assert b1["graph_ms"] == pytest.approx(3.0) and b1["graph_iqr_ms"] == pytest.approx(3.0)
    assert b1["graph_over_theano"] == pytest.approx(3.0) and b1["graph_over_twin"] == pytest.approx(1.5)
    assert b1["graph_max_rel_diff"] == pytest.approx(1e-7)
    assert b64["graph_ms"] is None and b64["graph_over_theano"] is None and b64["graph_over_twin"] is None
    (goals,) = goal_rows(rows)
    assert goals["numpy vs cold Theano (>= 20x)"] == "20.0x met"
    assert goals["numpy vs warm Theano (>= 5x)"] == "4.0x MISSED"
    assert goals["twin/Theano b1 (<= 0.8)"] == "2.00 MISSED"
    assert goals["twin/Theano b64 (<= 0.9)"] == "0.50 met"
    assert goals["twin % of GEMM peak (>= 70%)"] == "32.0% (b64) MISSED"


def test_failed_worker_is_reported_not_raised():
    results = _fake_results()
    results["models"][0]["warm"] = {"error": "theano worker exited 1: boom"}
    rows = build_rows(results)
    assert all("boom" in r["error"] for r in rows)
    assert rows[0]["twin_ms"] is None and rows[0]["break_even_cold"] is None


def test_bad_arguments_are_usage_errors():
    assert bench.bench_main(["--models", "no_such_model", "--quick"]) == 2
    with pytest.raises(SystemExit):
        bench.bench_main(["--batch-sizes", "0,x"])


def test_quick_smoke_run(tmp_path):
    """One real run on the MLP: a cold compile in an empty compile directory, a warm one,
    and a numpy-only process that must not have imported PyTensor."""
    out = tmp_path / "bench"
    code = bench.bench_main(["--zoo", "mlp", "--batch", "1", "--quick", "--output-dir", str(out),
                             "--json", str(tmp_path / "run.json")])
    assert code == 0
    from harness.bench_compare import read_record

    (saved,) = read_record(str(tmp_path / "run.json"))["results"]  # --json of a zoo run, in the --compare schema
    assert (saved["model"], saved["batch"], saved["source"]) == ("mlp", 1, "zoo")
    assert saved["twin_ms"] > 0 and saved["twin_over_theano"] == pytest.approx(saved["twin_ms"] / saved["theano_ms"])
    # the graph runtime (the MLP converted at graph level) timed in the same rotation
    assert saved["graph_ms"] > 0 and saved["graph_max_rel_diff"] < 1e-4
    assert saved["graph_over_theano"] == pytest.approx(saved["graph_ms"] / saved["theano_ms"])
    assert saved["graph_over_twin"] == pytest.approx(saved["graph_ms"] / saved["twin_ms"])
    table = pd.read_csv(out / "bench.csv", keep_default_na=False)
    assert list(table.columns) == COLUMNS
    assert len(table) == 1
    row = table.iloc[0]
    assert row["model"] == "mlp" and row["batch"] == 1 and row["error"] == ""
    assert str(row["numpy_imported_pytensor"]) == "False"
    # every start-up measured; cold Theano really compiled (slower than from the filled cache)
    assert 0 < float(row["numpy_start_s"]) < float(row["theano_warm_s"]) < float(row["theano_cold_s"])
    assert float(row["theano_cold_compile_s"]) > float(row["theano_warm_compile_s"])
    assert float(row["twin_ms"]) > 0 and float(row["theano_ms"]) > 0 and float(row["max_rel_diff"]) < 1e-4
    # issue 15's figures: start-up split, GEMM share of the dense layers, array memory and its bound
    assert 0 < float(row["numpy_layers_import_s"]) and 0 < float(row["numpy_first_call_s"])
    assert float(row["startup_over_numpy_ms"]) == pytest.approx(1e3 * (
        float(row["numpy_layers_import_s"]) + float(row["numpy_load_s"]) + float(row["numpy_first_call_s"])), rel=1e-3)
    assert 0 < float(row["dense_gemm_fraction"]) and 0 < float(row["gemm_share"])
    assert row["conv_gemm_share"] == ""  # no conv layer in an MLP
    assert 0 < float(row["numpy_traced_peak_mb"]) and float(row["memory_bound_mb"]) > 0
    assert row["blas_threads"] == "" or int(row["blas_threads"]) >= 1
    assert float(row["cold_speedup"]) == pytest.approx(float(row["theano_cold_s"]) / float(row["numpy_start_s"]),
                                                       rel=1e-4)
    expected = break_even(float(row["theano_cold_s"]), float(row["numpy_start_s"]), float(row["theano_ms"]) / 1e3,
                          float(row["twin_ms"]) / 1e3)
    if expected is None:
        assert row["break_even_cold"] == "never"
    else:  # the CSV keeps 6 significant digits of the times
        assert int(row["break_even_cold"]) == pytest.approx(expected, rel=1e-3, abs=1)
    raw = json.loads((out / "bench.json").read_text())
    (model,) = raw["models"]
    for proc in model["numpy"]:
        assert proc["imported_pytensor"] is False and proc["heavy_modules"] == []
    assert model["cold"]["compiledir"] == model["warm"]["compiledir"]
    assert not os.path.exists(model["cold"]["compiledir"])  # the temporary compile directory is gone
    assert math.isfinite(raw["peak_gflops"]) and raw["peak_gflops"] > 0
    md = (out / "bench.md").read_text()
    assert "## Machine" in md and "## Goals" in md and "| mlp" in md
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        assert "chart skipped" in md
    else:
        assert (out / "bench.png").stat().st_size > 0


def test_interleaved_latency_times_every_side_in_rotation():
    import numpy as np

    from harness import bench_worker

    calls = []

    def side(name, value):
        def fn(x):
            calls.append(name)
            return x * value
        return fn

    x = np.ones(3, np.float32)
    got = bench_worker.interleaved_latency(side("theano", 1.0), side("twin", 1.0), [x], 0.0, 6, 6,
                                           graph=side("graph", 1.5))
    assert got["theano"]["n"] == got["twin"]["n"] == got["graph"]["n"] == 6
    assert got["max_rel_diff"] == 0.0 and got["graph_max_rel_diff"] == pytest.approx(0.5)
    timed = calls[-18:]
    assert {tuple(timed[i:i + 3]) for i in range(0, 18, 3)} >= {("theano", "twin", "graph"),
                                                                 ("twin", "graph", "theano"),
                                                                 ("graph", "theano", "twin")}
    assert "graph" not in bench_worker.interleaved_latency(side("theano", 1.0), side("twin", 1.0), [x], 0.0, 2, 2)


def test_worker_detects_pytensor_in_sys_modules():
    from harness import bench_worker

    import layers_theano  # noqa: F401  (this test process has PyTensor loaded)

    assert any(m.startswith("pytensor") for m in bench_worker._heavy_modules())


def test_flop_count_and_inputs_of_a_conv_model():
    import layers_np as L
    from harness import bench_worker

    net = L.InputLayer((None, 3, 8, 8))
    net = L.Conv2DLayer(net, 4, 3, pad="same", name="c")  # K = 3*3*3, N = 4*8*8 outputs per sample
    net = L.DenseLayer(net, 5, name="d")  # K = 256, N = 5
    assert bench_worker.flops_per_sample(net) == 2 * 27 * 256 + 2 * 256 * 5
    (x,) = bench_worker.make_inputs(net, 7, 3)
    assert x.shape == (7, 3, 8, 8) and x.dtype == "float32"
    lstm = L.LSTMLayer(L.InputLayer((None, None, 4)), 3)
    assert bench_worker.flops_per_sample(lstm) is None
    assert bench_worker.make_inputs(lstm, 2, 5)[0].shape == (2, 5, 4)


def test_workers_run_from_cached_bytecode():
    """Start-up samples must not compile layers_np from source when the caller's shell sets
    PYTHONDONTWRITEBYTECODE: the workers get a bytecode cache of their own instead."""
    from harness.bench import bytecode_env

    env = bytecode_env("/tmp/cache", {"PYTHONDONTWRITEBYTECODE": "1", "PATH": "/bin"})
    assert "PYTHONDONTWRITEBYTECODE" not in env
    assert env["PYTHONPYCACHEPREFIX"] == "/tmp/cache" and env["PATH"] == "/bin"
    # and the Theano workers keep it (theano_env builds on the same base)
    assert theano_env("/tmp/c", env)["PYTHONPYCACHEPREFIX"] == "/tmp/cache"
