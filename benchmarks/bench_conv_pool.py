"""Benchmark: conv/pool twins against the compiled Theano (PyTensor 2.8.11) function, per call.

Run from the project root::

    .venv/bin/python benchmarks/bench_conv_pool.py [--repeats 30]

Both sides run in this process on the same float32 arrays; each figure is the median
of ``--repeats`` calls after one warm-up call. Prints twin/Theano ratios (goal <= 1.0) and
the twin's peak traced memory (tracemalloc) for a 64x64, 128-channel input at batch 64.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import tracemalloc
from typing import Any, Callable, Dict, List, Tuple

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import layers_np as L  # noqa: E402
import layers_theano as LT  # noqa: E402
from harness.execute import compile_theano  # noqa: E402
from layers_theano.backend import config  # noqa: E402

CASES: List[Tuple[str, Tuple[int, ...], Callable[[Any, Any], Any]]] = [
    ("LeNet conv1 1->20 5x5 on 28x28", (1, 28, 28), lambda M, l: M.Conv2DLayer(l, 20, 5, nonlinearity=None)),
    ("LeNet conv2 20->50 5x5 on 12x12", (20, 12, 12), lambda M, l: M.Conv2DLayer(l, 50, 5, nonlinearity=None)),
    ("VGG 3x3 64->64 same on 32x32", (64, 32, 32), lambda M, l: M.Conv2DLayer(l, 64, 3, pad="same")),
    ("grouped 3x3 64->64 groups=4 on 16x16", (64, 16, 16),
     lambda M, l: M.Conv2DLayer(l, 64, 3, pad=1, num_groups=4)),
    ("transposed 4x4 s2 32->16 on 16x16", (32, 16, 16),
     lambda M, l: M.TransposedConv2DLayer(l, 16, 4, stride=2, crop=1)),
    ("max pool 2x2 on 64x32x32", (64, 32, 32), lambda M, l: M.MaxPool2DLayer(l, 2)),
    ("avg inc_pad 3x3 s2 p1 on 64x32x32", (64, 32, 32),
     lambda M, l: M.Pool2DLayer(l, 3, stride=2, pad=1, mode="average_inc_pad")),
    ("avg exc_pad 3x3 s2 p1 on 64x32x32", (64, 32, 32),
     lambda M, l: M.Pool2DLayer(l, 3, stride=2, pad=1, mode="average_exc_pad")),
]


def median_seconds(fn: Callable[[], Any], repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def bench(repeats: int) -> List[Dict[str, Any]]:
    rows = []
    rng = np.random.default_rng(0)
    for label, shape, make in CASES:
        with config.change_flags(floatX="float32"):
            inp = LT.InputLayer((None,) + shape)
            layer = make(LT, inp)
        fn, _ = compile_theano([inp], layer, "float32")
        twin = LT.to_numpy(layer)
        L.cast_param_values(twin, np.float32)
        for batch in (1, 64):
            x = rng.standard_normal((batch,) + shape).astype(np.float32)
            a, b = fn(x), twin(x)
            err = float(np.max(np.abs(a - b)) / (np.max(np.abs(a)) + 1e-30))
            t_th = median_seconds(lambda: fn(x), repeats)
            t_np = median_seconds(lambda: twin(x), repeats)
            rows.append({"case": label, "batch": batch, "theano_ms": 1e3 * t_th, "twin_ms": 1e3 * t_np,
                         "ratio": t_np / t_th, "max_rel_err": err})
            print(f"{label:40s} b={batch:<3d} theano {1e3 * t_th:9.3f} ms  twin {1e3 * t_np:9.3f} ms  "
                  f"ratio {t_np / t_th:5.2f}  rel.err {err:.1e}", flush=True)
    return rows


def peak_memory() -> None:
    from layers_np import im2col

    x = np.random.default_rng(1).standard_normal((64, 128, 64, 64)).astype(np.float32)
    layer = L.Conv2DLayer(L.InputLayer((None, 128, 64, 64)), 128, 3, pad="same")
    L.cast_param_values(layer, np.float32)
    out_bytes = 64 * 128 * 64 * 64 * 4
    tracemalloc.start()
    tracemalloc.reset_peak()
    t = time.perf_counter()
    layer(x)
    seconds = time.perf_counter() - t
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    mib = 2.0 ** 20
    print(f"\nConv2D 128->128 3x3 same, input 64x128x64x64 float32 ({x.nbytes / mib:.0f} MiB): twin {seconds:.2f} s, "
          f"peak traced {peak / mib:.0f} MiB = output {out_bytes / mib:.0f} MiB x ~3 (conv, +bias, relu) "
          f"+ patch buffer <= {im2col.PATCH_BUFFER_BYTES / mib:.0f} MiB + padded chunk")
    pool = L.Pool2DLayer(L.InputLayer((None, 128, 64, 64)), 3, stride=2, pad=1, mode="average_exc_pad")
    tracemalloc.start()
    pool(x)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"Pool2D 3x3 s2 p1 exc_pad on the same input: peak traced {peak / mib:.0f} MiB")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=30)
    ap.add_argument("--no-memory", action="store_true")
    args = ap.parse_args()
    rows = bench(args.repeats)
    worst = max(rows, key=lambda r: r["ratio"])
    print(f"\nworst ratio {worst['ratio']:.2f} ({worst['case']}, batch {worst['batch']}); "
          f"{sum(r['ratio'] <= 1.0 for r in rows)}/{len(rows)} at or below 1.0")
    if not args.no_memory:
        peak_memory()


if __name__ == "__main__":
    main()
