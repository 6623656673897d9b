"""``twins bench``: the numpy twins against Theano: your models per call, the zoo also at start-up.

``twins bench [TARGET...] [--zoo [NAME...]] [--batch 1,64] [--json FILE] [--compare FILE [--threshold PCT]]``

A TARGET (``MODULE:FACTORY``, ``path/to/file.py:FACTORY`` or a model file ``.npz``) is timed per
call at each batch size in this process (:mod:`harness.bench_targets`); ``--json`` saves the run
with machine facts and commits and ``--compare`` checks it against a saved one
(:mod:`harness.bench_compare`, which documents the schema). Without TARGETs, or with ``--zoo``:

For each model of :mod:`layers_theano.zoo` (or the ones named) it measures, each start-up
in a fresh subprocess (:mod:`harness.bench_worker`, started by path):

* cold Theano: import + build + compile into an EMPTY temporary compile directory
  (``PYTENSOR_FLAGS=compiledir=<tmp>``) + first prediction (batch 1);
* warm-cache Theano: the same again on the now filled compile directory;
* numpy: import layers_np + load the exported model file + first prediction (median of a few
  runs); the process reports whether any PyTensor module got imported (it must not);
* warm per-call latency at each batch size, the compiled Theano function and the twin
  measured alternately in one process (median and interquartile range); for the zoo's own
  models (not the Recipes networks) also the graph-level conversion of the network run by
  ``layers_np.graph`` (what ``twins convert`` writes), timed in the same rotation: graph/Theano
  and graph/twin (``--no-graph`` skips it);
* the break-even point: predictions before Theano's extra start-up is paid back by a faster
  call, or "never" when the twin is at least as fast per call;
* achieved GFLOP/s of the twin (2*K*N FLOPs per output of the dense and conv layers) against
  this machine's numpy float32 GEMM peak (1024x1024, median) measured in the same run;
* peak memory (max RSS) of the numpy-only process against the (warm-cache) Theano process.

Writes ``bench.md``, ``bench.csv`` (one row per model and batch size), ``bench.json`` (raw
results) and, when matplotlib is installed, ``bench.png`` under ``--output-dir``; prints the
table. Every verdict is a ratio of two figures from the same run.

Exit codes: 0 measured (whatever the goals say), 1 a measurement failed, the numpy
process imported PyTensor or ``--compare`` found a regression beyond ``--threshold``, 2 usage
error, a bad TARGET or a bad ``--compare`` file.
"""
from __future__ import annotations

import argparse
import io
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import redirect_stdout
from typing import Any, Dict, List, Optional, Sequence, Tuple

__all__ = ["bench_main", "break_even", "bytecode_env", "COLUMNS", "GOALS", "run_bench", "build_rows", "machine_facts",
           "gemm_peak_gflops", "run_worker", "theano_env", "DENSE_CONV_MODELS", "target_table"]

WORKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bench_worker.py")
MARKER = "BENCH_RESULT "

# goals of issue 6 (start-up against Theano, GEMM peak) and issue 15 (per call, GEMM share, start-up
# against ``import numpy``, memory)
GOALS = {"cold_speedup": 20.0, "warm_speedup": 5.0, "twin_over_theano": 1.0, "peak_fraction": 0.70,
         "twin_over_theano_b1": 0.8, "twin_over_theano_batched": 0.9, "dense_gemm_fraction": 0.9,
         "conv_gemm_share": 0.7, "startup_over_numpy_ms": 60.0}
GOAL_BATCH = 64  # the matmul-peak goal is stated at batch 64
DENSE_CONV_MODELS = ("mlp", "lenet5", "vgg_small", "resnet_small", "inception_block", "text_cnn")

COLUMNS = ["model", "batch", "theano_cold_s", "theano_warm_s", "numpy_start_s", "cold_speedup", "warm_speedup",
           "theano_ms", "theano_iqr_ms", "twin_ms", "twin_iqr_ms", "twin_over_theano", "reps",
           "break_even_cold", "break_even_warm", "twin_gflops", "peak_gflops", "peak_fraction",
           "theano_rss_mb", "numpy_rss_mb", "rss_ratio", "numpy_imported_pytensor",
           "theano_import_s", "theano_cold_compile_s", "theano_warm_compile_s", "numpy_import_s", "numpy_load_s",
           "theano_cold_process_s", "numpy_process_s", "max_rel_diff",
           "blas_threads", "gemm_share", "dense_gemm_fraction", "conv_gemm_share", "numpy_numpy_import_s",
           "numpy_layers_import_s", "numpy_first_call_s", "startup_over_numpy_ms", "numpy_traced_peak_mb",
           "memory_bound_mb", "graph_ms", "graph_iqr_ms", "graph_over_theano", "graph_over_twin",
           "graph_max_rel_diff", "error"]

SETTINGS = {  # per-mode measurement effort
    "full": {"budget_s": 2.0, "min_reps": 25, "max_reps": 3000, "numpy_repeats": 3, "gemm_reps": 15,
             "profile_reps": 5},
    "quick": {"budget_s": 0.25, "min_reps": 5, "max_reps": 300, "numpy_repeats": 1, "gemm_reps": 3,
              "profile_reps": 1},
}


# ---------------------------------------------------------------------------
# arithmetic
# ---------------------------------------------------------------------------
def break_even(theano_start_s: float, numpy_start_s: float, theano_call_s: float,
               twin_call_s: float) -> Optional[int]:
    """Predictions after which Theano's extra start-up is paid back by its faster calls.

    Theano starts ``theano_start_s - numpy_start_s`` later and gains ``twin_call_s -
    theano_call_s`` per call, so it is ahead after ``ceil(extra / gain)`` predictions.
    Returns ``None`` ("never") when the twin is at least as fast per call, and 0 when
    Theano does not start later.
    """
    gain = twin_call_s - theano_call_s
    if not gain > 0:
        return None
    extra = theano_start_s - numpy_start_s
    if extra <= 0:
        return 0
    return int(math.ceil(extra / gain))


def _ratio(a: Optional[float], b: Optional[float]) -> Optional[float]:
    if a is None or b is None or not b:
        return None
    return a / b


# ---------------------------------------------------------------------------
# machine facts and the matmul peak
# ---------------------------------------------------------------------------
def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _blas_info() -> str:
    import numpy as np

    try:
        from threadpoolctl import threadpool_info  # optional

        pools = [f"{p.get('internal_api')} {p.get('version')} ({p.get('num_threads')} threads)"
                 for p in threadpool_info() if p.get("user_api") == "blas"]
        if pools:
            return "; ".join(pools)
    except Exception:
        pass
    try:
        config = np.show_config(mode="dicts")  # numpy >= 1.25
        blas = config.get("Build Dependencies", {}).get("blas", {})
        if blas:
            return f"{blas.get('name', '?')} {blas.get('version', '')}".strip()
    except Exception:
        pass
    buf = io.StringIO()
    try:
        with redirect_stdout(buf):
            np.show_config()
    except Exception:
        return "unknown"
    lines = [l.strip() for l in buf.getvalue().splitlines() if "libraries" in l or "name" in l]
    return "; ".join(lines[:2]) or "unknown"


def machine_facts() -> Dict[str, Any]:
    import numpy as np

    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    try:
        from importlib.metadata import version

        pytensor_version = version("pytensor")
    except Exception:
        pytensor_version = "not installed"
    return {"cpu": _cpu_model(), "cores": os.cpu_count(), "usable_cores": usable,
            "python": platform.python_version(), "numpy": np.__version__, "blas": _blas_info(),
            "pytensor": pytensor_version, "platform": platform.platform(),
            "load_average_start": _loadavg()}


def _loadavg() -> Optional[Tuple[float, float, float]]:
    try:
        return tuple(round(x, 2) for x in os.getloadavg())  # type: ignore[return-value]
    except OSError:
        return None


def gemm_peak_gflops(n: int = 1024, reps: int = 15) -> List[float]:
    """GFLOP/s of ``reps`` timed float32 ``n x n`` numpy matmuls (after one warm-up)."""
    import numpy as np

    rng = np.random.RandomState(0)
    a = rng.standard_normal((n, n)).astype(np.float32)
    b = rng.standard_normal((n, n)).astype(np.float32)
    a @ b
    out = []
    for _ in range(reps):
        t = time.perf_counter()
        a @ b
        out.append(2.0 * n ** 3 / (time.perf_counter() - t) / 1e9)
    return out


# ---------------------------------------------------------------------------
# subprocesses
# ---------------------------------------------------------------------------
def theano_env(compiledir: str, base: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    """The environment of a Theano worker: PYTENSOR_FLAGS naming ``compiledir`` (replacing any
    compiledir the user set) and keeping ``blas__ldflags=`` as layers_theano/backend.py does."""
    env = dict(os.environ if base is None else base)
    flags = [f for f in env.get("PYTENSOR_FLAGS", "").split(",") if f.strip()]
    flags = [f for f in flags if f.split("=", 1)[0].strip().replace(".", "__") not in ("compiledir", "base_compiledir")]
    if not any(f.split("=", 1)[0].strip() in ("blas__ldflags", "blas.ldflags") for f in flags):
        flags.append("blas__ldflags=")
    flags.append(f"compiledir={compiledir}")
    env["PYTENSOR_FLAGS"] = ",".join(flags)
    return env


def bytecode_env(cache_dir: str, base: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    """The environment of every worker: Python bytecode cached under ``cache_dir``
    (``PYTHONPYCACHEPREFIX``, so nothing is written into the checkout or site-packages) and
    ``PYTHONDONTWRITEBYTECODE`` dropped.

    An installed package runs from compiled bytecode (pip compiles it at install; a checkout
    writes ``__pycache__`` on first import). With ``PYTHONDONTWRITEBYTECODE`` set in the
    calling shell every start-up sample would compile layers_np (and PyTensor) from source:
    measured on this machine, that made ``import layers_np`` about 3x and ``load`` about 1.5x
    slower than a user sees. :func:`run_bench` fills the cache once before the first sample.
    """
    env = dict(os.environ if base is None else base)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = cache_dir
    return env


def prime_bytecode(env: Dict[str, str], timeout: float = 900.0) -> None:
    """Compile (untimed) the modules the workers import into ``env``'s bytecode cache."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(WORKER)))
    code = ("import sys; sys.path.insert(0, %r); import numpy, layers_np, layers_np.io\n"
            "try:\n    import harness.execute, layers_theano, layers_theano.export, layers_theano.zoo\n"
            "except ImportError:\n    pass" % root)
    subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, timeout=timeout)


def run_worker(job: Dict[str, Any], env: Optional[Dict[str, str]] = None, timeout: float = 900.0) -> Dict[str, Any]:
    """Run :mod:`harness.bench_worker` on ``job`` in a fresh interpreter; its result plus the
    process's wall time (``process_s``), or ``{"error": ...}``."""
    start = time.perf_counter()
    try:
        proc = subprocess.run([sys.executable, WORKER, json.dumps(job)], env=env, capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"{job['mode']} worker timed out after {timeout:.0f} s"}
    wall = time.perf_counter() - start
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(MARKER):
            result = json.loads(line[len(MARKER):])
            result["process_s"] = wall
            return result
    tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
    return {"error": f"{job['mode']} worker exited {proc.returncode}: {' | '.join(tail)[:400]}"}


def _bench_model(model: str, batch_sizes: Sequence[int], seq_len: int, settings: Dict[str, Any], workdir: str,
                 bar: Any, timeout: float, np_env: Optional[Dict[str, str]] = None,
                 graph: bool = False) -> Dict[str, Any]:
    """All subprocess measurements of one model: {"cold", "warm", "numpy": [...]}."""
    compiledir = os.path.join(workdir, f"compiledir_{model}")
    os.makedirs(compiledir, exist_ok=True)
    model_file = os.path.join(workdir, f"{model}.npz")
    env = theano_env(compiledir, np_env)
    common = {"model": model, "batch_sizes": list(batch_sizes), "seq_len": seq_len}
    out: Dict[str, Any] = {"model": model}

    bar.set_postfix_str(f"{model}: cold Theano (empty compile cache)")
    out["cold"] = run_worker(dict(common, mode="theano", export=model_file), env, timeout)
    bar.update(1)
    if "error" in out["cold"]:
        bar.update(2 + settings["numpy_repeats"] - 1)
        return out
    bar.set_postfix_str(f"{model}: warm-cache Theano + per-call latency")
    out["warm"] = run_worker(dict(common, mode="theano", export=None, latency=True, model_file=model_file,
                                  budget_s=settings["budget_s"], min_reps=settings["min_reps"],
                                  max_reps=settings["max_reps"], profile_reps=settings["profile_reps"],
                                  graph=graph),
                             env, timeout)
    bar.update(1)
    out["numpy"] = []
    for i in range(settings["numpy_repeats"]):
        bar.set_postfix_str(f"{model}: numpy start-up {i + 1}/{settings['numpy_repeats']}")
        out["numpy"].append(run_worker(dict(common, mode="numpy", model_file=model_file), np_env, timeout))
        bar.update(1)
    # one more process with tracemalloc on (it slows allocation, so not a start-up sample)
    bar.set_postfix_str(f"{model}: numpy array memory")
    out["memory"] = run_worker(dict(common, mode="numpy", model_file=model_file, memory=True), np_env, timeout)
    bar.update(1)
    return out


def run_bench(models: Sequence[str], batch_sizes: Sequence[int], seq_len: int = 32, quick: bool = False,
              timeout: float = 900.0, progress: bool = True, graph: bool = True) -> Dict[str, Any]:
    """Measure ``models``; returns the raw results (machine facts, GEMM peak, per-model workers).

    ``graph``: also time the graph runtime on the zoo's own models (not on Recipes networks,
    whose graph conversion can take PyTensor's rewriter many minutes)."""
    from tqdm import tqdm

    from layers_theano import zoo

    graph_models = set(zoo.available()) if graph else set()

    settings = SETTINGS["quick" if quick else "full"]
    facts = machine_facts()
    started = time.perf_counter()
    steps = 2 + len(models) * (3 + settings["numpy_repeats"])
    results: Dict[str, Any] = {"facts": facts, "settings": dict(settings, quick=quick, seq_len=seq_len,
                                                                 batch_sizes=list(batch_sizes)), "models": []}
    gemm: List[float] = []
    with tempfile.TemporaryDirectory(prefix="twins-bench-") as workdir, \
            tqdm(total=steps, desc="bench", unit="step", file=sys.stderr, dynamic_ncols=True,
                 disable=not progress) as bar:
        bar.set_postfix_str("numpy GEMM peak (1024x1024 float32)")
        gemm += gemm_peak_gflops(1024, settings["gemm_reps"])
        bar.update(1)
        np_env = bytecode_env(os.path.join(workdir, "pycache"))
        bar.set_postfix_str("compiling bytecode (untimed)")
        prime_bytecode(np_env, timeout)
        for model in models:
            results["models"].append(_bench_model(model, batch_sizes, seq_len, settings, workdir, bar, timeout,
                                                  np_env, graph=model in graph_models))
        bar.set_postfix_str("numpy GEMM peak again")
        gemm += gemm_peak_gflops(1024, settings["gemm_reps"])
        bar.update(1)
    results["gemm_gflops"] = gemm
    results["peak_gflops"] = statistics.median(gemm)
    facts["load_average_end"] = _loadavg()
    results["seconds"] = time.perf_counter() - started
    return results


# ---------------------------------------------------------------------------
# the table
# ---------------------------------------------------------------------------
def _median(values: List[float]) -> Optional[float]:
    return statistics.median(values) if values else None


def profile_shares(entries: Optional[List[List[Any]]]) -> Dict[str, Optional[float]]:
    """GEMM time shares from a worker's runtime profile (entries ``[label, seconds, gemm_seconds,
    class, kind]``): of the whole call, of the conv layers together and of the dense layers
    together (bare GEMMs' time over the layers' time; a dense layer's softmax or tanh counts
    as its time, not its GEMM's)."""
    out: Dict[str, Optional[float]] = {"gemm_share": None, "dense_gemm_fraction": None, "conv_gemm_share": None}
    if not entries or len(entries[0]) < 4:
        return out
    total = sum(e[1] for e in entries)
    gemm = sum(e[2] or 0.0 for e in entries)
    out["gemm_share"] = gemm / total if total else None
    conv = [e for e in entries if e[3] in ("Conv1DLayer", "Conv2DLayer", "Conv3DLayer", "Conv2DDNNLayer",
                                           "Conv3DDNNLayer") and e[2] is not None]
    if conv:
        out["conv_gemm_share"] = sum(e[2] for e in conv) / (sum(e[1] for e in conv) or 1.0)
    dense = [e for e in entries if e[3] == "DenseLayer" and e[2] is not None]
    if dense:
        out["dense_gemm_fraction"] = sum(e[2] for e in dense) / (sum(e[1] for e in dense) or 1.0)
    return out


def build_rows(results: Dict[str, Any]) -> List[Dict[str, Any]]:
    """One row per (model, batch size) with every column of :data:`COLUMNS`."""
    rows = []
    peak = results.get("peak_gflops")
    for m in results["models"]:
        cold, warm, nps = m.get("cold", {}), m.get("warm", {}), m.get("numpy", [])
        errors = [r["error"] for r in [cold, warm] + list(nps) if r and "error" in r]
        if warm.get("graph_error"):
            errors.append(warm["graph_error"])
        good_np = [r for r in nps if "error" not in r]
        np_start = _median([r["startup_s"] for r in good_np])
        th_cold = cold.get("startup_s")
        th_warm = warm.get("startup_s")
        flops = warm.get("flops_per_sample")
        th_rss = warm.get("max_rss_mb", cold.get("max_rss_mb"))
        np_rss = _median([r["max_rss_mb"] for r in good_np])
        latency = warm.get("latency", {})
        batches = results["settings"]["batch_sizes"]
        memory = m.get("memory") or {}
        np_marks = [r["marks"] for r in good_np]
        first_call = _median([k["first_prediction_s"] - k["inputs_s"] for k in np_marks if "inputs_s" in k])
        over_numpy = _median([(k["load_s"] - k["numpy_import_s"]) + (k["first_prediction_s"] - k["inputs_s"])
                              for k in np_marks if "inputs_s" in k and "numpy_import_s" in k])
        for batch in batches:
            lat = latency.get(str(batch))
            th_ms = tw_ms = th_iqr = tw_iqr = reps = diff = None
            gr_ms = gr_iqr = gr_diff = None
            if lat and "graph" in lat:
                gr_ms = 1e3 * lat["graph"]["median"]
                gr_iqr = 1e3 * (lat["graph"]["q3"] - lat["graph"]["q1"])
                gr_diff = lat.get("graph_max_rel_diff")
            if lat:
                th_ms, tw_ms = 1e3 * lat["theano"]["median"], 1e3 * lat["twin"]["median"]
                th_iqr = 1e3 * (lat["theano"]["q3"] - lat["theano"]["q1"])
                tw_iqr = 1e3 * (lat["twin"]["q3"] - lat["twin"]["q1"])
                reps, diff = lat["theano"]["n"], lat["max_rel_diff"]
            gflops = flops * batch / (tw_ms / 1e3) / 1e9 if (flops and tw_ms) else None
            be_cold = be_warm = None
            if th_ms is not None and np_start is not None:
                be_cold = break_even(th_cold, np_start, th_ms / 1e3, tw_ms / 1e3) if th_cold is not None else None
                be_warm = break_even(th_warm, np_start, th_ms / 1e3, tw_ms / 1e3) if th_warm is not None else None
            marks_c, marks_w = cold.get("marks", {}), warm.get("marks", {})
            shares = profile_shares((warm.get("profile") or {}).get(str(batch)))
            rows.append({
                "model": m["model"], "batch": batch,
                "theano_cold_s": th_cold, "theano_warm_s": th_warm, "numpy_start_s": np_start,
                "cold_speedup": _ratio(th_cold, np_start), "warm_speedup": _ratio(th_warm, np_start),
                "theano_ms": th_ms, "theano_iqr_ms": th_iqr, "twin_ms": tw_ms, "twin_iqr_ms": tw_iqr,
                "twin_over_theano": _ratio(tw_ms, th_ms), "reps": reps,
                "break_even_cold": "never" if (be_cold is None and tw_ms is not None) else be_cold,
                "break_even_warm": "never" if (be_warm is None and tw_ms is not None) else be_warm,
                "twin_gflops": gflops, "peak_gflops": peak, "peak_fraction": _ratio(gflops, peak),
                "theano_rss_mb": th_rss, "numpy_rss_mb": np_rss, "rss_ratio": _ratio(th_rss, np_rss),
                "numpy_imported_pytensor": any(r.get("imported_pytensor") for r in good_np) if good_np else None,
                "theano_import_s": marks_w.get("import_s"),
                "theano_cold_compile_s": (marks_c["compile_s"] - marks_c["build_s"]) if marks_c else None,
                "theano_warm_compile_s": (marks_w["compile_s"] - marks_w["build_s"]) if marks_w else None,
                "numpy_import_s": _median([k["import_s"] for k in np_marks]),
                "numpy_load_s": _median([k["load_s"] - k["import_s"] for k in np_marks]),
                "theano_cold_process_s": cold.get("process_s"),
                "numpy_process_s": _median([r["process_s"] for r in good_np]),
                "max_rel_diff": diff,
                "blas_threads": warm.get("blas_threads"), **shares,
                "numpy_numpy_import_s": _median([k["numpy_import_s"] for k in np_marks if "numpy_import_s" in k]),
                "numpy_layers_import_s": _median([k["import_s"] - k["numpy_import_s"] for k in np_marks
                                                  if "numpy_import_s" in k]),
                "numpy_first_call_s": first_call,
                "startup_over_numpy_ms": None if over_numpy is None else 1e3 * over_numpy,
                "numpy_traced_peak_mb": memory.get("traced_peak_mb"), "memory_bound_mb": memory.get("memory_bound_mb"),
                "graph_ms": gr_ms, "graph_iqr_ms": gr_iqr, "graph_over_theano": _ratio(gr_ms, th_ms),
                "graph_over_twin": _ratio(gr_ms, tw_ms), "graph_max_rel_diff": gr_diff,
                "error": "; ".join(errors) or None,
            })
    return rows


def goal_rows(rows: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """One row per model: each goal's ratio and met/missed."""
    out = []
    models = list(dict.fromkeys(r["model"] for r in rows))
    for model in models:
        mine = [r for r in rows if r["model"] == model]
        first = mine[0]
        g: Dict[str, Any] = {"model": model}

        def verdict(value: Optional[float], ok: bool) -> str:
            return "n/a" if value is None else ("met" if ok else "MISSED")

        v = first["cold_speedup"]
        g["numpy vs cold Theano (>= 20x)"] = f"{v:.1f}x {verdict(v, v is not None and v >= GOALS['cold_speedup'])}" \
            if v is not None else "n/a"
        v = first["warm_speedup"]
        g["numpy vs warm Theano (>= 5x)"] = f"{v:.1f}x {verdict(v, v is not None and v >= GOALS['warm_speedup'])}" \
            if v is not None else "n/a"
        for r in mine:
            v = r["twin_over_theano"]
            limit = GOALS["twin_over_theano_b1"] if r["batch"] == 1 else GOALS["twin_over_theano_batched"]
            g[f"twin/Theano b{r['batch']} (<= {limit})"] = \
                f"{v:.2f} {verdict(v, v <= limit)}" if v is not None else "n/a"
        if model in DENSE_CONV_MODELS:
            at = [r for r in mine if r["batch"] == GOAL_BATCH] or [max(mine, key=lambda r: r["batch"])]
            v = at[0]["peak_fraction"]
            g["twin % of GEMM peak (>= 70%)"] = \
                f"{100 * v:.1f}% (b{at[0]['batch']}) {verdict(v, v >= GOALS['peak_fraction'])}" \
                if v is not None else "n/a"
        else:
            g["twin % of GEMM peak (>= 70%)"] = "not a dense/conv model"
        at = [r for r in mine if r["batch"] == GOAL_BATCH] or [max(mine, key=lambda r: r["batch"])]
        v = at[0].get("dense_gemm_fraction")
        g["dense: direct GEMM / layer (>= 90%)"] = (
            f"{100 * v:.0f}% (b{at[0]['batch']}) {verdict(v, v >= GOALS['dense_gemm_fraction'])}"
            if v is not None else "n/a")
        v = at[0].get("conv_gemm_share")
        g["conv: time in GEMM (>= 70%)"] = (
            f"{100 * v:.0f}% (b{at[0]['batch']}) {verdict(v, v >= GOALS['conv_gemm_share'])}"
            if v is not None else "n/a")
        v = first.get("startup_over_numpy_ms")
        g["start-up over import numpy (<= 60 ms)"] = (
            f"{v:.0f} ms {verdict(v, v <= GOALS['startup_over_numpy_ms'])}" if v is not None else "n/a")
        v, bound = first.get("numpy_traced_peak_mb"), first.get("memory_bound_mb")
        g["array memory (<= bound)"] = (f"{v:.1f} / {bound:.1f} MB {verdict(v, v <= bound)}"
                                        if v is not None and bound is not None else "n/a")
        out.append(g)
    return out


def _fmt(value: Any, digits: int = 3) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if value == 0:
            return "0"
        mag = abs(value)
        return f"{value:.{digits}g}" if mag < 1000 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return value


SUMMARY = [("model", "model"), ("batch", "batch"), ("theano_cold_s", "Theano cold s"),
           ("theano_warm_s", "Theano warm s"), ("numpy_start_s", "numpy start s"), ("cold_speedup", "cold x"),
           ("warm_speedup", "warm x"), ("theano_ms", "Theano ms/call"), ("twin_ms", "twin ms/call"),
           ("twin_over_theano", "twin/Theano"), ("graph_over_theano", "graph/Theano"),
           ("graph_over_twin", "graph/twin"), ("break_even_cold", "break-even (cold)"),
           ("break_even_warm", "break-even (warm)"), ("twin_gflops", "twin GFLOP/s"),
           ("peak_fraction", "of peak"), ("theano_rss_mb", "Theano RSS MB"), ("numpy_rss_mb", "numpy RSS MB")]


def summary_table(rows: List[Dict[str, Any]], tablefmt: str = "github") -> str:
    from tabulate import tabulate

    body = []
    for r in rows:
        line = []
        for key, _ in SUMMARY:
            v = r[key]
            if key == "peak_fraction" and v is not None:
                v = f"{100 * v:.1f}%"
            elif key in ("theano_ms", "twin_ms") and v is not None:
                iqr = r["theano_iqr_ms" if key == "theano_ms" else "twin_iqr_ms"]
                v = f"{_fmt(v)} ±{_fmt(iqr / 2, 2)}"
            line.append(_fmt(v))
        body.append(line)
    return tabulate(body, headers=[h for _, h in SUMMARY], tablefmt=tablefmt, disable_numparse=True)


def _profile_lines(results: Dict[str, Any], rows: List[Dict[str, Any]], top: int = 4) -> List[str]:
    """Where the twin spends its time, for models that miss a per-call or peak goal."""
    lines = []
    missing = {r["model"] for r in rows if (r["twin_over_theano"] or 0) > (
        GOALS["twin_over_theano_b1"] if r["batch"] == 1 else GOALS["twin_over_theano_batched"])
               or (r["model"] in DENSE_CONV_MODELS and r["batch"] == GOAL_BATCH
                   and r["peak_fraction"] is not None and r["peak_fraction"] < GOALS["peak_fraction"])}
    for m in results["models"]:
        profile = m.get("warm", {}).get("profile")
        if not profile or m["model"] not in missing:
            continue
        parts = []
        for batch, entries in profile.items():
            total = sum(e[1] for e in entries) or 1.0
            worst = sorted(entries, key=lambda e: -e[1])[:top]
            desc = ", ".join(f"{e[0]} {1e3 * e[1]:.3g} ms ({100 * e[1] / total:.0f}%"
                             + (f", GEMM alone {1e3 * e[2]:.3g} ms" if len(e) > 2 and e[2] is not None else "")
                             + ")" for e in worst)
            call = next((r["twin_ms"] for r in rows if r["model"] == m["model"] and str(r["batch"]) == batch), None)
            outside = f"; whole call {call:.3g} ms" if call is not None else ""
            parts.append(f"  - batch {batch}: layers sum to {1e3 * total:.3g} ms over {len(entries)} layers"
                         f"{outside}; slowest: {desc}")
        lines.append(f"- **{m['model']}**\n" + "\n".join(parts))
    return lines


def chart_figure(rows: List[Dict[str, Any]]) -> Any:
    """The bench chart as a matplotlib Figure (Agg): start-up and per-call latency per model.

    Model names stand vertically under their bars (no two overlap whatever their length),
    each legend sits above its axes with the axes' title as its own, and the constrained
    layout keeps every label and legend inside the figure.
    """
    import numpy as np
    from matplotlib.figure import Figure

    models = list(dict.fromkeys(r["model"] for r in rows))
    batches = list(dict.fromkeys(r["batch"] for r in rows))
    first = {m: next(r for r in rows if r["model"] == m) for m in models}
    fig = Figure(figsize=(max(10, 1.6 * len(models) + 6), 6.0), layout="constrained")
    ax1, ax2 = fig.subplots(1, 2)
    x = np.arange(len(models))
    series = [("theano_cold_s", "Theano cold cache"), ("theano_warm_s", "Theano warm cache"),
              ("numpy_start_s", "numpy (layers_np.load)")]
    w = 0.8 / len(series)
    for i, (key, label) in enumerate(series):
        ax1.bar(x + (i - (len(series) - 1) / 2) * w, [first[m][key] or np.nan for m in models], w, label=label)
    ax1.set_ylabel("seconds to first prediction")
    pairs = [(b, side) for b in batches for side in ("theano_ms", "twin_ms")]
    w = 0.8 / len(pairs)
    for i, (b, side) in enumerate(pairs):
        vals = [next((r[side] for r in rows if r["model"] == m and r["batch"] == b), None) or np.nan for m in models]
        ax2.bar(x + (i - (len(pairs) - 1) / 2) * w, vals, w,
                label=f"{'Theano' if side == 'theano_ms' else 'twin'} batch {b}")
    ax2.set_ylabel("ms per call (median)")
    # at most two legend columns: a legend stays narrower than its axes even for one model
    for ax, title, ncol in ((ax1, "start-up (fresh process)", 1), (ax2, "warm per-call latency", 2)):
        ax.set_yscale("log")
        ax.set_xticks(x)
        ax.set_xticklabels(models, rotation=90)
        ax.legend(title=title, fontsize=8, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=ncol)
    return fig


def write_chart(rows: List[Dict[str, Any]], path: str) -> Optional[str]:
    """A PNG of :func:`chart_figure`. Returns a note when skipped."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return "matplotlib is not installed (pip install '.[plots]'): chart skipped"
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = chart_figure(rows)
    FigureCanvasAgg(fig)
    fig.savefig(path, dpi=110, bbox_inches="tight")  # tight: nothing drawn outside the figure is cut off
    return None


def write_reports(results: Dict[str, Any], rows: List[Dict[str, Any]], output_dir: str,
                  chart: bool = True) -> Dict[str, str]:
    import pandas as pd

    from layers_np.atomic import atomic_write_text

    os.makedirs(output_dir, exist_ok=True)
    paths = {name: os.path.join(output_dir, name) for name in ("bench.csv", "bench.md", "bench.json", "bench.png")}
    atomic_write_text(paths["bench.csv"], pd.DataFrame(rows, columns=COLUMNS).to_csv(index=False, float_format="%.6g"))
    atomic_write_text(paths["bench.json"], json.dumps(results, indent=1, default=str))
    chart_note = write_chart(rows, paths["bench.png"]) if chart else "chart not requested (--no-chart)"
    if chart_note is not None:
        paths.pop("bench.png")
    from tabulate import tabulate

    facts, settings = results["facts"], results["settings"]
    gemm = results["gemm_gflops"]
    lines = ["# twins bench: Theano start-up and per-call latency against the numpy twins", "",
             "## Machine", "",
             f"- CPU: {facts['cpu']}; {facts['cores']} cores ({facts['usable_cores']} usable)",
             f"- Python {facts['python']}, numpy {facts['numpy']}, BLAS: {facts['blas']}, PyTensor {facts['pytensor']}",
             f"- {facts['platform']}",
             f"- load average at start {facts['load_average_start']}, at end {facts.get('load_average_end')} "
             "(other processes share the CPU; every verdict below is a ratio of two figures from this one run)",
             f"- numpy float32 GEMM 1024x1024 peak: {results['peak_gflops']:.1f} GFLOP/s (median of {len(gemm)} "
             f"runs at the start and end; range {min(gemm):.1f}-{max(gemm):.1f})",
             f"- run: {'--quick, ' if settings['quick'] else ''}batch sizes {settings['batch_sizes']}, "
             f"sequence length {settings['seq_len']} for recurrent models, {results['seconds']:.0f} s in all",
             "", "## Results", "",
             "Start-up = seconds from the start of a fresh Python process (before `import numpy`) to the first "
             "prediction (batch 1): Theano = import layers_theano + build + compile + predict, cold with an empty "
             "temporary compile directory (so it also builds PyTensor's own C modules), warm on the same directory "
             "again; numpy = import layers_np + `layers_np.load` the exported file + predict (median of "
             f"{settings['numpy_repeats']} processes). Every process runs from compiled bytecode (cached once, "
             "untimed, in a temporary PYTHONPYCACHEPREFIX), as an installed package does. Per call = median (± half the interquartile range) of calls "
             "measured alternately in one process. Break-even = predictions before Theano's extra start-up is paid "
             "back (never: the twin is at least as fast per call). GFLOP/s counts 2*K*N per output of dense and conv "
             "layers; of peak = against the GEMM peak above. RSS = max resident set of the warm Theano process "
             "and of the numpy-only process after a batch-1 and a largest-batch prediction.", "",
             summary_table(rows), "", "## Goals", ""]
    goals = goal_rows(rows)
    lines.append(tabulate([list(g.values()) for g in goals], headers=list(goals[0].keys()) if goals else [],
                          tablefmt="github", disable_numparse=True))
    missed = [g["model"] for g in goals if any("MISSED" in str(v) for v in g.values())]
    lines += ["", f"Models missing at least one goal: {', '.join(missed) if missed else 'none'}."]
    imported = [r["model"] for r in rows if r["numpy_imported_pytensor"]]
    checked = sorted({r["model"] for r in rows if r["numpy_imported_pytensor"] is not None})
    lines.append(f"numpy-only processes importing PyTensor: {', '.join(sorted(set(imported))) or 'none'} "
                 f"(checked sys.modules in {len(checked)} models' processes).")
    errors = sorted({(r["model"], r["error"]) for r in rows if r["error"]})
    if errors:
        lines += ["", "## Errors", ""] + [f"- {m}: {e}" for m, e in errors]
    profile = _profile_lines(results, rows)
    if profile:
        lines += ["", "## Where the twin spends its time (models missing a per-call or peak goal)", "",
                  "Seconds per layer (fastest of 20 or more runs: its kernel in the planned runtime, and the "
                  "same GEMMs called directly), warm process:", ""] + profile
    lines += ["", "## Issue 15 figures", "",
              "BLAS threads = numpy's OpenBLAS threads as the twin's runtime set them (the Theano function in the "
              "same process uses the same library). GEMM share = time the layers' GEMMs take called directly / "
              "time of the whole call (dense: the dense layers together; conv: the conv layers together). Start-up over "
              "numpy = import layers_np + load + first call, after `import numpy`. Array memory = tracemalloc "
              "peak of a fresh numpy process (load, batch 1, largest batch twice) against weights + 2 x the "
              "largest activation + the conv chunk buffer.", "",
              tabulate([[_fmt(r[k]) if not k.endswith("share") and not k.endswith("fraction") else
                         ("" if r[k] is None else f"{100 * r[k]:.0f}%")
                         for k in ("model", "batch", "twin_over_theano", "blas_threads", "gemm_share",
                                   "dense_gemm_fraction", "conv_gemm_share", "numpy_numpy_import_s",
                                   "numpy_layers_import_s", "numpy_load_s", "numpy_first_call_s",
                                   "startup_over_numpy_ms", "numpy_traced_peak_mb", "memory_bound_mb")]
                        for r in rows],
                       headers=["model", "batch", "twin/Theano", "BLAS threads", "GEMM share", "dense GEMM",
                                "conv GEMM", "import numpy s", "import layers_np s", "load s", "first call s",
                                "start-up over numpy ms", "array peak MB", "bound MB"],
                       tablefmt="github", disable_numparse=True)]
    lines += ["", "## Start-up breakdown", "",
              tabulate([[_fmt(r[k]) for k in ("model", "theano_import_s", "theano_cold_compile_s",
                                              "theano_warm_compile_s", "numpy_import_s", "numpy_load_s",
                                              "theano_cold_process_s", "numpy_process_s", "rss_ratio")]
                        for r in rows if r["batch"] == rows[0]["batch"]],
                       headers=["model", "Theano import s", "cold compile s", "warm compile s", "numpy import s",
                                "load file s", "cold Theano process wall s", "numpy process wall s",
                                "RSS Theano/numpy"], tablefmt="github", disable_numparse=True)]
    lines += ["", "Files: bench.csv (every column), bench.json (raw measurements)"
              + (", bench.png (chart)." if "bench.png" in paths else f". Chart: {chart_note}."), ""]
    if "bench.png" in paths:
        lines.insert(lines.index("## Goals"), "![start-up and per-call latency](bench.png)\n")
    atomic_write_text(paths["bench.md"], "\n".join(lines))
    paths["chart_note"] = chart_note or ""
    return paths


# ---------------------------------------------------------------------------
# command line
# ---------------------------------------------------------------------------
def _batch_sizes(text: str) -> List[int]:
    try:
        sizes = [int(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated positive integers, got {text!r}") from None
    if not sizes or any(s < 1 for s in sizes):
        raise argparse.ArgumentTypeError(f"expected comma-separated positive integers, got {text!r}")
    return list(dict.fromkeys(sizes))


def _threshold(text: str) -> float:
    try:
        value = float(text.strip().rstrip("%"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a percentage such as 10 or 10%, got {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"expected a percentage of at least 0, got {text!r}")
    return value


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text!r}")
    return value


def _error(message: str) -> int:
    print(f"twins bench: error: {message}", file=sys.stderr)
    return 2


def target_table(rows: List[Dict[str, Any]], tablefmt: str = "simple") -> str:
    """The table of a run of user targets: per model and batch, twin and Theano ms per call."""
    from tabulate import tabulate

    def ms(v: Optional[float], iqr: Optional[float]) -> str:
        return "" if v is None else f"{_fmt(v)} ±{_fmt((iqr or 0.0) / 2, 2)}"

    body = [[r["model"], r["batch"], ms(r["twin_ms"], r["twin_iqr_ms"]), ms(r["theano_ms"], r["theano_iqr_ms"]),
             _fmt(r["twin_over_theano"]), _fmt(r["reps"]), _fmt(r["max_rel_diff"]), r["error"] or ""] for r in rows]
    return tabulate(body, headers=["model", "batch", "twin ms/call", "Theano ms/call", "twin/Theano", "reps",
                                   "max rel diff", "error"], tablefmt=tablefmt, disable_numparse=True)


def _zoo_models(names: Optional[List[str]]) -> Tuple[Optional[List[str]], Optional[str]]:
    """(zoo models to run, None) or (None, the usage error)."""
    if not os.path.exists(WORKER):
        return None, f"worker script missing: {WORKER}"
    try:
        from layers_theano import zoo
    except ImportError as exc:
        return None, f"cannot import the Theano side ({exc}); run `make venv`"
    models = names or zoo.available()
    known = zoo.catalogue()  # the zoo's models and the Lasagne Recipes networks (real input sizes)
    unknown = [m for m in models if m not in known]
    if unknown:
        return None, f"unknown model(s) {', '.join(unknown)}; choose from {', '.join(known)}"
    unavailable = {m: zoo.missing_in_catalogue(m) for m in models if zoo.missing_in_catalogue(m)}
    if unavailable:
        return None, "; ".join(f"{m} needs {', '.join(c)}" for m, c in unavailable.items())
    return list(models), None


def _run_zoo(models: List[str], args: argparse.Namespace) -> List[Dict[str, Any]]:
    """The zoo suite (fresh processes per start-up), its reports under --output-dir and its tables."""
    results = run_bench(models, args.batch_sizes, seq_len=args.seq_len, quick=args.quick, timeout=args.timeout,
                        graph=not args.no_graph)
    rows = build_rows(results)
    paths = write_reports(results, rows, args.output_dir, chart=not args.no_chart)
    print(summary_table(rows, tablefmt="simple"))
    print()
    from tabulate import tabulate

    goals = goal_rows(rows)
    print(tabulate([list(g.values()) for g in goals], headers=list(goals[0].keys()), tablefmt="simple",
                   disable_numparse=True))
    print(f"\nGEMM peak {results['peak_gflops']:.1f} GFLOP/s; {results['seconds']:.0f} s; "
          f"report: {paths['bench.md']}" + (f" ({paths['chart_note']})" if paths["chart_note"] else ""))
    for r in rows:
        r["source"] = "zoo"
        if r["numpy_imported_pytensor"] and not r["error"]:
            r["error"] = "the numpy process imported PyTensor"
    return rows


USAGE = """examples:
  twins bench                              every zoo model (start-up and per call, reports/bench/)
  twins bench mynet:build --batch 1,64     your factory: compiled Theano against its twin, per call
  twins bench model.npz                    a model file: the numpy twin alone, per call
  twins bench model.npz --factory mynet:build   the file's twin against that factory's Theano network
  twins bench mynet:build --json base.json      save the run (machine facts, commit, results)
  twins bench mynet:build --compare base.json --threshold 10   exit 1 if 10% slower than base.json

exit codes: 0 measured (and, with --compare, nothing regressed beyond the threshold), 1 a
regression or a measurement that failed, 2 usage error, a bad target, or a --compare file that
is malformed or shares no model and batch with this run.
"""


def bench_main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(prog="twins bench", description=__doc__.split("\n\n")[0], epilog=USAGE,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("targets", nargs="*", metavar="TARGET",
                        help="MODULE:FACTORY, path/to/file.py:FACTORY or a model file .npz (default: the zoo)")
    parser.add_argument("--zoo", nargs="*", metavar="NAME", default=None,
                        help="zoo models (all available ones without names); the default when no TARGET is given")
    parser.add_argument("--models", nargs="+", metavar="NAME", help="same as --zoo NAME...")
    parser.add_argument("--recipes", nargs="*", metavar="NAME", default=None,
                        help="Lasagne Recipes networks at their real input sizes (layers_theano.recipes; all "
                             "available ones without names), timed like the zoo; --zoo also takes their names")
    parser.add_argument("--factory", metavar="MODULE:FACTORY",
                        help="time the .npz targets against the Theano network this factory builds")
    parser.add_argument("--custom-layer", action="append", default=[], metavar="MODULE:CLASS",
                        help="your own twin class a model file TARGET contains (as layers_np.load's "
                             "custom_layers); repeatable")
    parser.add_argument("--batch-sizes", "--batch", type=_batch_sizes, default=[1, 64],
                        help="comma-separated (default 1,64)")
    parser.add_argument("--quick", action="store_true", help="smoke run: few repetitions")
    parser.add_argument("--max-time", type=_positive_seconds, default=None, metavar="SECONDS",
                        help="timing budget per TARGET model and batch size (default 2, --quick 0.25)")
    parser.add_argument("--seq-len", type=int, default=32, help="time steps for recurrent models (default 32)")
    parser.add_argument("--json", "--save", dest="json", metavar="FILE",
                        help="save the run: results, machine facts, commit (schema: harness/bench_compare.py)")
    parser.add_argument("--compare", metavar="FILE", help="compare with a run saved by --json")
    parser.add_argument("--threshold", type=_threshold, default=10.0, metavar="PCT",
                        help="--compare fails (exit 1) when the twin's ms per call or twin/Theano grew by more "
                             "than PCT percent (default 10)")
    parser.add_argument("--fail-on", choices=["both", "ratio", "latency"], default="both",
                        help="what --compare checks against --threshold: twin/Theano, the twin's ms per call, or "
                             "both (default); the ratio is steadier on a busy machine")
    parser.add_argument("--output-dir", default=os.path.join("reports", "bench"),
                        help="zoo reports (default reports/bench)")
    parser.add_argument("--no-chart", action="store_true", help="skip the zoo PNG chart")
    parser.add_argument("--no-graph", action="store_true",
                        help="zoo: do not time the graph runtime (layers_np.graph) against Theano and the twin")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per zoo subprocess (default 900)")
    args = parser.parse_intermixed_args(argv)  # targets may come after options: model.npz --factory F other:f

    from .bench_compare import BenchFileError, compare_records, comparison_table, machine_differences, \
        make_record, printable, read_record, write_record
    from .bench_targets import BenchTargetError, custom_layers, is_model_file, prepare_target, run_targets

    if args.seq_len < 1:
        return _error("--seq-len must be at least 1")
    old = None
    if args.compare is not None:  # checked before a long run, not after it
        try:
            old = read_record(args.compare)
        except BenchFileError as exc:
            return _error(f"--compare {args.compare}: {exc}")
    if args.json is not None and os.path.isdir(args.json):
        return _error(f"--json {args.json} is a directory; name a file")
    # one entry per model: "./m.npz" and "m.npz" are one file, named as normalised
    targets = list(dict.fromkeys(os.path.normpath(t) if is_model_file(t) else t for t in args.targets))
    if args.factory is not None and not any(is_model_file(t) for t in targets):
        return _error("--factory names the Theano network of a model file TARGET (.npz); none was given")
    zoo_names = args.models if args.zoo is None and args.models else args.zoo
    if args.recipes is not None:
        from layers_theano import recipes

        zoo_names = list(zoo_names or []) + [m for m in (args.recipes or recipes.available())
                                             if m not in (zoo_names or [])]
    models: List[str] = []
    if zoo_names is not None or not targets:
        models, problem = _zoo_models(zoo_names)  # type: ignore[assignment]
        if problem:
            return _error(problem)

    settings = SETTINGS["quick" if args.quick else "full"]
    budget = args.max_time if args.max_time is not None else settings["budget_s"]
    started = time.perf_counter()
    facts = machine_facts()
    rows: List[Dict[str, Any]] = []
    if targets:
        from tqdm import tqdm

        prepared = []
        try:
            custom = custom_layers(args.custom_layer)
        except BenchTargetError as exc:
            return _error(str(exc))
        with tqdm(targets, desc="prepare", unit="model", file=sys.stderr, dynamic_ncols=True,
                  disable=args.no_progress) as bar:
            for spec in bar:
                bar.set_postfix_str(spec[-60:])
                try:
                    prepared.append(prepare_target(spec, args.factory, args.seq_len, custom))
                except BenchTargetError as exc:
                    bar.close()
                    return _error(str(exc))
        rows += run_targets(prepared, args.batch_sizes, args.seq_len, budget, settings["min_reps"],
                            settings["max_reps"], progress=not args.no_progress)
        print(target_table(rows))
    if models:
        if rows:
            print()
        rows += _run_zoo(models, args)
    try:
        import layers_np

        facts["blas_threads"] = layers_np.blas_threads()
    except ImportError:
        facts["blas_threads"] = None
    facts["load_average_end"] = _loadavg()
    bad = [r for r in rows if r["error"]]
    for r in bad:
        print(f"{r['model']}[batch {r['batch']}]: {r['error']}", file=sys.stderr)
    if args.json is not None:
        run_settings = {"batch_sizes": list(args.batch_sizes), "quick": args.quick, "max_time_s": budget,
                        "seq_len": args.seq_len, "seconds": time.perf_counter() - started}
        write_record(make_record(facts, run_settings, rows, argv), args.json)
        print(f"saved: {args.json}")
    if old is None:
        return 1 if bad else 0
    checked = {"both": ("twin_ms", "twin_over_theano"), "ratio": ("twin_over_theano",),
               "latency": ("twin_ms",)}[args.fail_on]
    result = compare_records(old, rows, args.threshold, checked)
    print(f"\ncompared with {args.compare} (saved {printable(old.get('created', '?'))}; threshold "
          f"{args.threshold:g}%):")
    if result["rows"]:
        print(comparison_table(result))
    for line in machine_differences(old, facts):
        print(f"note: the saved run was on another machine or set-up: {line}")
    if result["only_old"]:
        print(f"not in this run ({len(result['only_old'])}): {', '.join(result['only_old'][:20])}"
              + (" ..." if len(result["only_old"]) > 20 else ""))
    if result["only_new"]:
        print(f"not in the saved run ({len(result['only_new'])}): {', '.join(result['only_new'][:20])}"
              + (" ..." if len(result["only_new"]) > 20 else ""))
    if result["compared"] == 0:
        what = {"both": "measurement", "ratio": "twin/Theano ratio", "latency": "twin ms per call"}[args.fail_on]
        return _error(f"--compare {args.compare}: no {what} of this run has a counterpart in the saved run; "
                      "nothing was compared (run the same targets and --batch sizes)")
    for line in result["regressions"]:
        print(f"REGRESSED: {line}", file=sys.stderr)
    if result["regressions"]:
        return 1
    print(f"no regression beyond {args.threshold:g}% in {result['compared']} comparisons")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(bench_main(sys.argv[1:]))
