"""Twin vs compiled Theano, per call, for recurrent networks (a script, not a test).

Networks: a 2-layer LSTM (128 units, sequence 50) and a GRU classifier (GRU 128 units,
final step -> dense softmax over 10 classes), at batch 1 and 32, float32. Both sides run in
this process on the same inputs; the figure is the median wall time of repeated calls
after a warm-up. Goal: twin/Theano <= 1.0.

Usage: python benchmarks/bench_recurrent.py [--repeats N] [--dtype float32]
"""
from __future__ import annotations

import argparse
import statistics
import time
from typing import Any, Callable, List

import numpy as np

import layers_theano as LT
from harness.execute import compile_theano
from layers_theano.backend import config

SEQ, FEATURES, UNITS, CLASSES = 50, 64, 128, 10


def lstm2(dtype: str) -> Any:
    l = LT.InputLayer((None, SEQ, FEATURES), name="x")
    l = LT.LSTMLayer(l, UNITS, name="lstm1")
    return LT.LSTMLayer(l, UNITS, name="lstm2")


def gru_classifier(dtype: str) -> Any:
    l = LT.InputLayer((None, SEQ, FEATURES), name="x")
    l = LT.GRULayer(l, UNITS, only_return_final=True, name="gru")
    return LT.DenseLayer(l, CLASSES, nonlinearity=LT.nonlinearities.softmax, name="out")


def median_time(fn: Callable[[], Any], repeats: int) -> float:
    fn()  # warm-up
    times: List[float] = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--dtype", default="float32")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    rows = []
    for name, build in (("2-layer LSTM", lstm2), ("GRU classifier", gru_classifier)):
        with config.change_flags(floatX=args.dtype):
            net = build(args.dtype)
            inp = LT.get_all_layers(net)[0]
        fn, compile_s = compile_theano([inp], net, args.dtype)
        twin = LT.to_numpy(net)
        for batch in (1, 32):
            x = rng.standard_normal((batch, SEQ, FEATURES)).astype(args.dtype)
            ref, out = fn(x), twin(x)
            err = float(np.abs(ref.astype(np.float64) - out.astype(np.float64)).max())
            t_th = median_time(lambda: fn(x), args.repeats)
            t_np = median_time(lambda: twin(x), args.repeats)
            rows.append((name, batch, t_th * 1e3, t_np * 1e3, t_np / t_th, err, compile_s))
    print(f"{'network':16s} {'batch':>5s} {'theano ms':>10s} {'twin ms':>9s} {'twin/theano':>12s} {'max|diff|':>10s}")
    for name, batch, th, tw, ratio, err, _ in rows:
        print(f"{name:16s} {batch:5d} {th:10.2f} {tw:9.2f} {ratio:12.2f} {err:10.2e}")
    worst = max(r[4] for r in rows)
    print(f"worst twin/theano ratio: {worst:.2f} ({'meets' if worst <= 1.0 else 'misses'} the goal <= 1.0)")


if __name__ == "__main__":
    main()
