"""Graph-level certification and export: ``twins convert`` and ``twins gate --graph``.

A converted graph is certified node by node by :mod:`harness.graph_check` (which describes
how; it is shared with the graph fallback of a layer-level gate); its names are re-exported
here. Reports, verdict, JUnit and exit codes are those of ``twins gate`` (one row per node value).
"""
from __future__ import annotations

import argparse
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

from .execute import NetworkError
from .graph_check import (FREE_DIM_RANGE, GraphCheck, GraphReport, certify_graph, fuzz_graph_inputs,
                          graph_input_bounds)

__all__ = ["certify_graph", "GraphCheck", "GraphReport", "graph_input_bounds", "fuzz_graph_inputs", "convert_main", "graph_gate_main",
           "build_graph_source", "FREE_DIM_RANGE"]


# ---------------------------------------------------------------------------
# command line
# ---------------------------------------------------------------------------
def build_graph_source(factory_spec: str, weights: Optional[str] = None) -> Any:
    """Call ``MODULE:FACTORY``: (inputs, outputs), a compiled function or a (layers_theano or Lasagne) network."""
    import layers_theano as LT

    from .gate import GateInputError, resolve_factory

    factory, _ = resolve_factory(factory_spec)
    try:
        obj = factory()
    except (Exception, SystemExit) as exc:
        raise GateInputError(f"the factory {factory_spec} raised {type(exc).__name__}: {exc}") from None
    if LT.lasagne_bridge.is_lasagne_layer(obj):
        obj = LT.from_lasagne(obj, side="theano")
    if weights is not None:
        if not isinstance(obj, LT.Layer):
            raise GateInputError("--weights needs a factory returning a network; a graph factory carries its weights "
                                 "in its shared variables")
        from layers_np.io import ModelFileError
        from layers_theano.export import load_lasagne_weights

        try:
            load_lasagne_weights(obj, weights)
        except ModelFileError as exc:
            raise GateInputError(f"weights: {exc}") from None
    return obj


def _read_graph_samples(path: str, inputs: Sequence[Dict[str, Any]]) -> List[np.ndarray]:
    """Samples from an .npz: one array per graph input, named like the inputs or arr_0.. in order."""
    from layers_np.safe_npz import ModelFileError, NpzReader

    from .gate import GateInputError, sample_keys

    try:
        with NpzReader(path) as reader:
            keys = sample_keys(path, reader.names, [e["name"] for e in inputs], "graph input")
            arrays = [reader.read(k) for k in keys]
    except ModelFileError as exc:
        raise GateInputError(f"inputs: {exc}") from None
    for k, a, entry in zip(keys, arrays, inputs):
        shape = entry["shape"]
        if a.ndim != len(shape) or any(d is not None and d != s for d, s in zip(shape, a.shape)) or not a.size:
            raise GateInputError(f"inputs: array {k!r} has shape {a.shape}; input {entry['name']!r} is declared "
                                 f"{tuple(shape)} (give at least one sample)")
        dtype = np.dtype(entry["dtype"])
        if (dtype.kind in "iu") != (a.dtype.kind in "iu") or a.dtype.kind not in "iuf":
            raise GateInputError(f"inputs: array {k!r} has dtype {a.dtype}; input {entry['name']!r} is {dtype}")
    return [a.astype(e["dtype"]) for a, e in zip(arrays, inputs)]


def _convert(factory: str, weights: Optional[str]) -> Any:
    from layers_theano.graph_export import convert

    return convert(build_graph_source(factory, weights))


def convert_main(argv: List[str]) -> int:
    """``twins convert MODULE:FACTORY -o model.npz``: 0 written, 2 anything else (no certification)."""
    from .gate import GateInputError, _output_problem, _parse, _print_error

    p = argparse.ArgumentParser(prog="twins convert", description="Convert a Theano/PyTensor graph to a numpy "
                                "graph model file (not certified: `twins gate --graph` certifies).")
    p.add_argument("factory", help="MODULE:FACTORY returning (inputs, outputs), a compiled function or a network")
    p.add_argument("--weights", help="Lasagne weights for a network factory")
    p.add_argument("-o", "--output", required=True, help="model file to write")
    args = _parse(p, argv)
    if isinstance(args, int):
        return args
    problem = _output_problem(args.output)
    if problem:
        return _print_error("twins convert", problem)
    from layers_np.graph import SpecError, save_graph
    from layers_theano.graph_export import GraphConversionError

    try:
        converted = _convert(args.factory, args.weights)
        spec = save_graph(converted.spec, converted.arrays, args.output)
    except (GateInputError, GraphConversionError, SpecError) as exc:
        return _print_error("twins convert", str(exc))
    except OSError as exc:
        return _print_error("twins convert", f"cannot write {args.output} ({exc.strerror or exc})")
    except (Exception, SystemExit) as exc:
        return _print_error("twins convert", f"{type(exc).__name__}: {exc}")
    print(f"wrote {args.output}: {len(spec['graph']['nodes'])} nodes, {len(spec['arrays'])} arrays, {spec['dtype']} "
          f"(not certified: use `twins gate --graph` to certify before publishing)")
    return 0


def graph_gate_main(argv: List[str]) -> int:
    """``twins gate --graph ...`` (the options of ``twins gate``): 0 certified, 1 discrepancy, 2 error."""
    from .gate import _parse, _parser_gate

    args = _parse(_parser_gate(), argv)
    if isinstance(args, int):
        return args
    return _graph_gate(args)


def _graph_gate(args: Any) -> int:
    from layers_np.graph import SpecError, dumps_graph, loads_graph
    from layers_theano.graph_export import GraphConversionError

    from .gate import GateInputError, GateRun

    run = GateRun(args, "twins gate", {"model": args.factory, "output": None, "weights": args.weights,
                                       "inputs": args.inputs, "profile": args.profile, "level": "graph"})
    error = run.error
    n_batches, batch_size, problem = run.batches()
    if problem:
        return error(problem)
    try:
        converted = _convert(args.factory, args.weights)
        loaded = loads_graph(dumps_graph(converted.spec, converted.arrays))  # certify the bytes to publish
        samples = _read_graph_samples(args.inputs, loaded.inputs) if args.inputs else None
        report = certify_graph(converted, loaded, samples, n_batches=n_batches, batch_size=batch_size, seed=args.seed)
        data = None
        if report.ok:
            nonfinite = report.nonfinite_outputs
            if nonfinite and not args.allow_nonfinite:
                return error(f"the reference outputs contain NaN or Inf ({', '.join(nonfinite)}); pass "
                             f"--allow-nonfinite to certify anyway", report)
            data = dumps_graph(converted.spec, converted.arrays, certification=report.summary())
    except (GateInputError, GraphConversionError, SpecError, NetworkError) as exc:
        return error(str(exc))
    except (Exception, SystemExit) as exc:
        return error(f"{type(exc).__name__}: {exc}")
    nodes = len(converted.spec["graph"]["nodes"])
    return run.finish(report, {"dtype": converted.dtype, "nodes": nodes}, data,
                      f"certified: wrote {args.output} ({nodes} nodes, {converted.dtype})")
