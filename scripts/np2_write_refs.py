"""Write gated zoo models and Theano reference outputs for the numpy-2 runtime tests.

Usage (Theano environment): ``python scripts/np2_write_refs.py DIR [MODEL ...]``

MODEL is a zoo model or a Lasagne Recipes network (``layers_theano.recipes.reduced``: the
Recipes architecture at its smallest input, in its certification dtype). Default: every zoo
model whose layers exist plus the Recipes networks in ``RECIPES_DEFAULT`` (the ones that
compile in seconds; ``ZOO_MODELS="vgg16 resnet50 ..."`` in scripts/np2_check.sh runs others) and
``custom_layers_mlp`` (:mod:`layers_theano.fallback_zoo`: an ExpressionLayer and a custom layer,
exported as graph-fallback layers).
For each model this runs ``twins gate`` (so the file is the certified export) and, for a zoo
model or Recipes network, ``twins gate --graph`` (the certified graph model), then
evaluates the Theano network on fixed inputs and writes ``DIR/<model>.npz``,
``DIR/<model>.graph.npz``, ``DIR/<model>.ref.npz`` (``input:<InputLayer name>`` arrays and
``output``) and ``DIR/manifest.json`` (files, dtypes and the tolerance to compare with).
Exit code: 0 all written, 1 a model did not certify, 2 bad usage.
"""
from __future__ import annotations

import json
import os
import sys

import numpy as np

RECIPES_DEFAULT = ("nin_cifar10", "vgg_cnn_s", "c3d")
FALLBACK_DEFAULT = ("custom_layers_mlp",)  # layers_theano.fallback_zoo


def main(argv):
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    import layers_theano as LT
    from harness.execute import compile_theano
    from harness.gate import gate_main
    from harness.graph_gate import graph_gate_main
    from harness.network import fuzz_inputs, network_dtype
    from harness.tolerance import default_tolerance
    from layers_theano import fallback_zoo, recipes, zoo
    from layers_theano.recipes import reduced

    fallback = {n: getattr(fallback_zoo, n) for n in FALLBACK_DEFAULT}

    def factory_spec(name):
        module = ("layers_theano.zoo" if name in zoo.FACTORIES else "layers_theano.fallback_zoo" if name in fallback
                  else "layers_theano.recipes.reduced")
        return f"{module}:{name}"

    out_dir = argv[0]
    names = argv[1:] or (zoo.available() + [n for n in RECIPES_DEFAULT if n in recipes.available()]
                         + list(FALLBACK_DEFAULT))
    unknown = [n for n in names if n not in zoo.FACTORIES and n not in reduced.FACTORIES and n not in fallback]
    if unknown:
        print(f"unknown zoo models: {unknown}", file=sys.stderr)
        return 2
    os.makedirs(out_dir, exist_ok=True)
    entries = []
    for name in names:
        model_file = f"{name}.npz"
        code = gate_main([factory_spec(name), "-o", os.path.join(out_dir, model_file), "--profile", "dev",
                          "--report-dir", os.path.join(out_dir, "reports")])
        if code != 0:
            print(f"{name}: the gate exited {code}", file=sys.stderr)
            return 1
        graph_file = None  # the graph-level gate (issue 14) covers the zoo models and the Recipes networks
        if name not in fallback:
            graph_file = f"{name}.graph.npz"
            code = graph_gate_main([factory_spec(name), "--graph", "-o", os.path.join(out_dir, graph_file),
                                    "--profile", "dev", "--report-dir", os.path.join(out_dir, "reports")])
            if code != 0:
                print(f"{name}: the graph gate exited {code}", file=sys.stderr)
                return 1
        net = (zoo.FACTORIES if name in zoo.FACTORIES else fallback if name in fallback else reduced.FACTORIES)[name]()
        dtype = network_dtype(net)
        inputs = [l for l in LT.get_all_layers(net) if isinstance(l, LT.InputLayer)]
        arrays = fuzz_inputs(net, np.random.default_rng(123), batch_size=3)
        fn, _ = compile_theano(inputs, net, dtype)
        output = np.asarray(fn(*arrays))
        ref_file = f"{name}.ref.npz"
        with open(os.path.join(out_dir, ref_file), "wb") as f:
            np.savez(f, output=output, **{f"input:{l.name}": a for l, a in zip(inputs, arrays)})
        tol = default_tolerance(dtype)
        entries.append({"name": name, "file": model_file, "graph_file": graph_file, "reference": ref_file, "dtype": dtype,
                        "rtol": tol.rtol, "atol": tol.atol})
        print(f"{name}: wrote {model_file}, {graph_file or 'no graph model'} and {ref_file}")
    manifest = {"models": entries, "writer_numpy": np.__version__}
    with open(os.path.join(out_dir, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
