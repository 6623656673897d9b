"""The code ``twins bench`` runs in fresh subprocesses (run as a script, never imported by the twin).

``python harness/bench_worker.py '<json job>'`` prints one line ``BENCH_RESULT <json>`` on stdout.
It is started by path, not with ``-m harness...``, so that the harness package (which imports
PyTensor) is not loaded: the ``numpy`` mode must import nothing but numpy and layers_np, and it
reports whether any ``pytensor``/``theano`` module ended up in ``sys.modules`` anyway.

Modes (``job["mode"]``):

``theano``
    Import layers_theano (so PyTensor), build the zoo model, compile its prediction function
    (in whatever compile directory PYTENSOR_FLAGS names: the parent passes a temporary one,
    empty for the cold run, already filled for the warm run), first prediction at batch 1:
    each step timed from the very start of this process. Then one untimed call at the largest
    batch size, max RSS, and optionally: export the numpy twin (``job["export"]``) and measure
    warm per-call latency of the compiled function against the twin loaded from the exported
    file, interleaved in this process (``job["latency"]``), plus a per-layer profile of the twin;
    with ``job["graph"]`` the network's graph-level conversion (``layers_np.graph``) is timed
    in the same rotation.
``numpy``
    Import layers_np, load the exported file, first prediction at batch 1, one call at the
    largest batch size, max RSS, and the list of PyTensor modules imported (should be empty).
"""
import time

_T0 = time.perf_counter()

import json  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402

MARKER = "BENCH_RESULT "


def _max_rss_mb() -> float:
    """Peak resident set of this process in MB.

    Linux's ``getrusage(RUSAGE_SELF).ru_maxrss`` keeps the high-water mark of the process
    that forked us across ``execve`` (here: the bench parent, with PyTensor loaded), so the
    per-address-space ``VmHWM`` of /proc/self/status is read first; getrusage is the fallback.
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except (OSError, ValueError, IndexError):
        pass
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kilobytes on Linux, bytes on macOS
    return rss / (1024.0 * 1024.0) if sys.platform == "darwin" else rss / 1024.0


def _heavy_modules() -> list:
    return sorted(m for m in sys.modules if m.split(".")[0] in ("pytensor", "theano", "harness", "hypothesis", "scipy"))


def _layers_package(net):
    """layers_np or layers_theano, whichever the network's (first output's) class derives from: a
    user's own layer class lives in the user's module, so its base classes decide."""
    first = net[0] if isinstance(net, (list, tuple)) else net
    for cls in type(first).__mro__:
        top = cls.__module__.split(".")[0]
        if top in ("layers_np", "layers_theano"):
            return sys.modules[top]
    raise TypeError(f"{type(first).__name__} is not a layers_np or layers_theano layer")


def input_specs(net):
    """(declared shape, dtype, integer upper bound or None) of each InputLayer of a layers_np or
    layers_theano network, in network order; integer inputs (token ids) are bounded by the
    vocabulary of the embedding layer reading them."""
    module = _layers_package(net)
    layers = module.get_all_layers(net)
    specs = []
    for layer in layers:
        if not isinstance(layer, module.InputLayer):
            continue
        var = getattr(layer, "input_var", None)
        dtype = str(getattr(var, "dtype", None) or getattr(layer, "dtype", "float32"))
        high = None
        if not dtype.startswith("float"):
            sizes = [getattr(c, "input_size", None) for c in layers if getattr(c, "input_layer", None) is layer]
            high = min([s for s in sizes if s] or [10])
        specs.append((tuple(layer.shape), dtype, high))
    return specs


def make_inputs(net, batch, seq_len, seed=0):
    """Arrays for every InputLayer of ``net`` (either side): axis 0 is ``batch``, other free axes
    ``seq_len``. The same seed gives the same values on both sides."""
    import numpy as np

    rng = np.random.RandomState(seed)
    arrays = []
    for shape, dtype, high in input_specs(net):
        concrete = tuple(batch if (i == 0 and d is None) else (seq_len if d is None else d)
                         for i, d in enumerate(shape))
        if high is not None:
            arrays.append(rng.randint(0, high, size=concrete).astype(dtype))
        else:
            arrays.append(rng.standard_normal(concrete).astype(dtype))
    return arrays


def flops_per_sample(twin):
    """2*K*N FLOPs per sample of the dense and conv layers (K inputs per output, N outputs), or None
    when the network has layers whose arithmetic this does not count (recurrent layers)."""
    import numpy as np

    import layers_np as L

    total = 0
    for layer in L.get_all_layers(twin):
        name = type(layer).__name__
        if name in ("LSTMLayer", "GRULayer", "RecurrentLayer", "CustomRecurrentLayer"):
            return None
        if name in ("DenseLayer", "NINLayer"):
            W = layer.W.get_value()
            if name == "DenseLayer":
                total += 2 * W.size
            else:
                total += 2 * W.size * int(np.prod(layer.output_shape[2:]))
        elif isinstance(layer, L.conv.BaseConvLayer) and name in ("Conv1DLayer", "Conv2DLayer", "Conv3DLayer",
                                                                  "Conv2DDNNLayer", "Conv3DDNNLayer"):
            W = layer.W.get_value()
            k = int(np.prod(W.shape[1:]))
            total += 2 * k * int(np.prod(layer.output_shape[1:]))
    return total


def _call(fn, arrays):
    return fn(*arrays)


def _percentile(sorted_values, q):
    if not sorted_values:
        return float("nan")
    pos = (len(sorted_values) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def _stats(times):
    s = sorted(times)
    return {"median": _percentile(s, 0.5), "q1": _percentile(s, 0.25), "q3": _percentile(s, 0.75),
            "min": s[0], "n": len(s)}


def _rel_diff(a, b):
    import numpy as np

    a = np.asarray(a)
    b = np.asarray(b)
    scale = float(np.max(np.abs(a))) or 1.0
    return float(np.max(np.abs(a.astype(np.float64) - b.astype(np.float64)))) / scale


def interleaved_latency(theano_fn, twin, arrays, budget_s, min_reps, max_reps, graph=None):
    """Per-call seconds of the compiled function and of the twin (and of the graph model, when
    given), measured in rotation (the order changing every repetition) so that a noisy machine
    slows them alike."""
    clock = time.perf_counter
    sides = [("theano", theano_fn), ("twin", twin)] + ([("graph", graph)] if graph is not None else [])
    for _ in range(3):  # warm-up: allocator, BLAS threads, caches, the graph runtime's plan
        for _, fn in sides:
            fn(*arrays)
    outs, once = {}, 0.0
    for name, fn in sides:
        t = clock()
        outs[name] = fn(*arrays)
        once += clock() - t
    reps = int(max(min_reps, min(max_reps, budget_s / max(once, 1e-7))))
    times = {name: [] for name, _ in sides}
    n = len(sides)
    for i in range(reps):
        # rotate the order and, every other round, reverse it: each side runs first, middle and last
        order = sides[i % n:] + sides[:i % n]
        if (i // n) % 2:
            order = order[::-1]
        for name, fn in order:
            t = clock()
            fn(*arrays)
            times[name].append(clock() - t)
    result = {name: _stats(ts) for name, ts in times.items()}
    result["max_rel_diff"] = _rel_diff(outs["theano"], outs["twin"])
    if graph is not None:
        result["graph_max_rel_diff"] = _rel_diff(outs["theano"], outs["graph"])
    return result


def graph_model(net):
    """The network's graph-level conversion (``twins convert``), loaded back from its bytes as
    ``layers_np.load_graph`` would: the numpy graph runtime a deployment of the graph runs."""
    from layers_np.graph import dumps_graph, loads_graph
    from layers_theano.graph_export import convert

    converted = convert(net)
    return loads_graph(dumps_graph(converted.spec, converted.arrays))


def time_calls(fn, arrays, budget_s, min_reps, max_reps):
    """Per-call seconds of ``fn(*arrays)`` alone (the twin of a model file timed without Theano):
    a few warm-up calls, then as many repetitions as ``budget_s`` allows within [min_reps, max_reps]."""
    clock = time.perf_counter
    for _ in range(3):  # warm-up: the runtime's plan, allocator, BLAS threads, caches
        fn(*arrays)
    t = clock()
    fn(*arrays)
    once = clock() - t
    reps = int(max(min_reps, min(max_reps, budget_s / max(once, 1e-7))))
    times = []
    for _ in range(reps):
        t = clock(); fn(*arrays); times.append(clock() - t)  # noqa: E702
    return _stats(times)


def profile_twin(twin, arrays, reps):
    """Per layer of the twin's planned runtime: [label, fastest seconds of its kernel, seconds the
    same GEMMs take called directly (None without GEMMs), class, planned/generic]
    (``layers_np.profile_runtime``)."""
    import layers_np as L

    inputs = [l for l in L.get_all_layers(twin) if isinstance(l, L.InputLayer)]
    feed = arrays[0] if len(arrays) == 1 else dict(zip(inputs, arrays))
    return [[r["layer"], r["seconds"], r["gemm_seconds"], r["cls"], r["kind"]]
            for r in L.profile_runtime(twin, feed, max(4 * reps, 20))]


def run_theano(job):
    marks = {}
    import numpy as np  # noqa: F811

    marks["numpy_import_s"] = time.perf_counter() - _T0
    import layers_theano as LT  # noqa: F401  (imports PyTensor)
    from layers_theano import zoo
    from layers_theano.backend import __version__ as pytensor_version
    from layers_theano.backend import config

    from harness.execute import compile_theano  # numpy alone at import: the marks stay PyTensor's

    marks["import_s"] = time.perf_counter() - _T0
    net = zoo.lookup(job["model"])()  # a zoo model or a Recipes network
    inputs = [l for l in LT.get_all_layers(net) if isinstance(l, LT.InputLayer)]
    marks["build_s"] = time.perf_counter() - _T0
    fn, _ = compile_theano(inputs, net, "float32")
    marks["compile_s"] = time.perf_counter() - _T0
    np.asarray(fn(*make_inputs(net, 1, job["seq_len"], seed=1)))
    marks["first_prediction_s"] = time.perf_counter() - _T0
    fn(*make_inputs(net, max(job["batch_sizes"]), job["seq_len"], seed=2))
    result = {"mode": "theano", "model": job["model"], "marks": marks, "startup_s": marks["first_prediction_s"],
              "max_rss_mb": _max_rss_mb(), "pytensor_version": pytensor_version,
              "compiledir": str(config.compiledir)}
    if job.get("export"):
        from layers_theano.export import export

        export(net, job["export"])
    if job.get("latency"):
        import layers_np as L

        source = job.get("model_file") or job.get("export")
        twin = L.load(source) if source else LT.to_numpy(net)
        graph = None
        if job.get("graph"):
            try:
                graph = graph_model(net)
            except Exception as exc:  # reported in the row, the other timings go on
                result["graph_error"] = f"graph conversion failed: {type(exc).__name__}: {str(exc)[:200]}"
        latency = {}
        for batch in job["batch_sizes"]:
            arrays = make_inputs(twin, batch, job["seq_len"], seed=batch)
            latency[str(batch)] = interleaved_latency(fn, twin, arrays, job["budget_s"], job["min_reps"],
                                                      job["max_reps"], graph=graph)
        result["latency"] = latency
        result["blas_threads"] = L.blas_threads()  # as the twin's runtime set them (both sides share the BLAS)
        result["flops_per_sample"] = flops_per_sample(twin)
        if job.get("profile_reps"):
            result["profile"] = {str(b): profile_twin(twin, make_inputs(twin, b, job["seq_len"], seed=7),
                                                      job["profile_reps"]) for b in job["batch_sizes"]}
    return result


def run_numpy(job):
    marks = {}
    import numpy as np

    marks["numpy_import_s"] = time.perf_counter() - _T0
    import layers_np as L

    marks["import_s"] = time.perf_counter() - _T0
    if job.get("memory"):
        import tracemalloc  # numpy reports its array allocations to tracemalloc

        tracemalloc.start()
    twin = L.load(job["model_file"])
    marks["load_s"] = time.perf_counter() - _T0
    first = make_inputs(twin, 1, job["seq_len"], seed=1)
    marks["inputs_s"] = time.perf_counter() - _T0  # not part of start-up: the caller has its input
    np.asarray(twin(*first))
    marks["first_prediction_s"] = time.perf_counter() - _T0
    big = make_inputs(twin, max(job["batch_sizes"]), job["seq_len"], seed=2)
    twin(*big)
    result = {"mode": "numpy", "model": job["model"], "marks": marks,
              "startup_s": marks["first_prediction_s"] - (marks["inputs_s"] - marks["load_s"]),
              "max_rss_mb": _max_rss_mb(), "heavy_modules": _heavy_modules(),
              "imported_pytensor": any(m.split(".")[0] in ("pytensor", "theano") for m in sys.modules),
              "numpy_version": np.__version__, "blas_threads": L.blas_threads()}
    if job.get("memory"):
        import tracemalloc

        twin(*big)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        del big
        result["traced_peak_mb"] = peak / 2 ** 20
        result["memory_bound_mb"] = memory_bound(twin, max(job["batch_sizes"]), job["seq_len"]) / 2 ** 20
    return result


def memory_bound(twin, batch, seq_len):
    """Issue 15's bound on the numpy process's array memory, in bytes: the weights, plus two
    activations of the largest layer at ``batch``, plus the conv patch chunk buffer."""
    import numpy as np

    import layers_np as L

    weights = sum(p.get_value().nbytes for p in L.get_all_params(twin))
    layers = L.get_all_layers(twin)
    inputs = [l for l in layers if isinstance(l, L.InputLayer)]
    arrays = make_inputs(twin, batch, seq_len, seed=3)
    outs = L.get_output(layers, dict(zip(inputs, arrays)))
    largest = max(np.asarray(o).nbytes for o in outs)
    return weights + 2 * largest + L.CHUNK_BYTES


def main(argv):
    job = json.loads(argv[1])
    result = run_numpy(job) if job["mode"] == "numpy" else run_theano(job)
    result["pid"] = os.getpid()
    sys.stdout.write(MARKER + json.dumps(result) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    # started by path: put the project root (not harness/) first, so layers_np comes from this checkout
    sys.path[0:1] = [os.path.dirname(os.path.dirname(os.path.abspath(__file__)))]
    sys.exit(main(sys.argv))
