"""Write certified Keras graph models and Keras's own predictions for the numpy-2 runtime tests.

Usage (Theano environment): ``python scripts/np2_write_keras_refs.py [--keras2] DIR``

For each model of :mod:`layers_theano.keras_zoo` (Keras 1.2.2) or, with ``--keras2``, of
:mod:`layers_theano.keras2_zoo` (Keras 2.3.1: one Keras per process, they are the same package)
this writes the sample batch ``DIR/<model>.inputs.npz``, runs ``twins gate --graph
layers_theano.<zoo>:<model>`` on fuzzed batches plus that sample (so the file is the certified
export), then runs Keras's own ``predict`` on the sample and writes ``DIR/<model>.ref.npz``
(``input:<name>`` arrays and ``output``) and ``DIR/manifest.json`` (files, dtype, the tolerance
to compare with, the Keras version, and the op classes of Keras's raw graph and of the
extracted inference graph).
Exit code: 0 all written, 1 a model did not certify, 2 bad usage.
"""
from __future__ import annotations

import json
import os
import sys

import numpy as np


def main(argv):
    keras2 = argv[:1] == ["--keras2"]
    argv = argv[1:] if keras2 else argv
    if len(argv) != 1 or argv[0].startswith("-"):
        print(__doc__, file=sys.stderr)
        return 2
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    from harness.graph_gate import graph_gate_main
    from harness.tolerance import default_tolerance
    from layers_theano import keras2_zoo, keras_zoo
    from pytensor.graph.basic import applys_between, graph_inputs

    zoo = keras2_zoo if keras2 else keras_zoo
    keras = zoo.import_keras()
    out_dir = argv[0]
    os.makedirs(out_dir, exist_ok=True)
    entries = []
    for name in zoo.FACTORIES:
        model = zoo.build_model(name)  # the factory's defaults: float32, seed 0
        ins, outs = zoo.model_graph(name, model)
        raw = sorted({type(n.op).__name__ for n in applys_between(list(graph_inputs(model.outputs)), model.outputs)})
        extracted = sorted({type(n.op).__name__ for n in applys_between(ins, outs)})
        xs = keras_zoo.sample_inputs(ins, np.random.default_rng(123), batch=3)
        samples = os.path.join(out_dir, f"{name}.inputs.npz")
        np.savez(samples, **{v.name: x for v, x in zip(ins, xs)})
        model_file = f"{name}.npz"
        code = graph_gate_main(["--graph", f"{zoo.__name__}:{name}", "-o", os.path.join(out_dir, model_file),
                                "--profile", "dev", "--inputs", samples,
                                "--report-dir", os.path.join(out_dir, "reports")])
        if code != 0:
            print(f"{name}: the graph gate exited {code}", file=sys.stderr)
            return 1
        output = np.asarray(zoo.keras_predict(model, xs))
        ref_file = f"{name}.ref.npz"
        with open(os.path.join(out_dir, ref_file), "wb") as f:
            np.savez(f, output=output, **{f"input:{v.name}": x for v, x in zip(ins, xs)})
        dtype = str(output.dtype)
        tol = default_tolerance(dtype)
        entries.append({"name": name, "file": model_file, "reference": ref_file, "dtype": dtype,
                        "inputs": [v.name for v in ins], "input_shapes": [list(v.type.shape) for v in ins],
                        "rtol": tol.rtol, "atol": tol.atol, "raw_ops": raw, "graph_ops": extracted})
        print(f"{name}: wrote {model_file} and {ref_file}")
    with open(os.path.join(out_dir, "manifest.json"), "w") as f:
        json.dump({"models": entries, "keras": keras.__version__, "writer_numpy": np.__version__}, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
