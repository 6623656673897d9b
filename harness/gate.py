"""The CI export gate: publish a numpy model file only when it matches the Theano network.

``twins gate MODULE:FACTORY -o model.npz`` builds the Theano network (the factory returns its
output layer; ``MODULE`` may also be a path to a ``.py`` file), optionally loads Lasagne
weights, serialises its numpy twin, loads those bytes back, and certifies the *loaded*
model layer by layer against Theano on fuzzed batches (plus ``--inputs`` samples). Only a
certified model is written (atomically, with the certification summary inside).

Exit codes: 0 certified (file written), 1 discrepancy (nothing written), 2 bad input
(bad factory, weights, samples, or a network that cannot be described without code).

Reports under ``--report-dir``: ``gate_<model>.{csv,json,md}`` (one row per layer),
``gate_<model>_verdict.json``; ``--junit-xml FILE`` writes one test case per layer.
"""
from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import os
import sys
import time
import xml.etree.ElementTree as ET
from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np

from layers_np._atomic import atomic_write_text

__all__ = ["export_main", "gate_main", "resolve_factory", "GateInputError", "PROFILE_BATCHES", "read_samples"]

# profile -> (batches, batch size) of fuzzed inputs; the seed is fixed so a gate never flakes
PROFILE_BATCHES: Dict[str, Tuple[int, int]] = {"dev": (2, 4), "ci": (5, 8), "thorough": (20, 16)}


class GateInputError(ValueError):
    """Bad input to the gate or export command (exit code 2)."""


def _print_error(prog: str, message: str) -> int:
    print(f"{prog}: error: {message}", file=sys.stderr)
    return 2


def resolve_factory(spec: str) -> Tuple[Callable[[], Any], str]:
    """``MODULE:FACTORY`` (or ``path/to/file.py:FACTORY``) -> (factory, FACTORY)."""
    module_name, sep, attr = spec.rpartition(":")
    if not sep or not module_name or not attr:
        raise GateInputError(f"expected MODULE:FACTORY, got {spec!r}")
    try:
        if module_name.endswith(".py") or os.sep in module_name:
            if not os.path.isfile(module_name):
                raise GateInputError(f"no such file: {module_name}")
            name = "_twins_factory_" + os.path.splitext(os.path.basename(module_name))[0]
            loader_spec = importlib.util.spec_from_file_location(name, module_name)
            if loader_spec is None or loader_spec.loader is None:
                raise GateInputError(f"cannot import {module_name}")
            module = importlib.util.module_from_spec(loader_spec)
            sys.modules[name] = module
            loader_spec.loader.exec_module(module)
        else:
            module = importlib.import_module(module_name)
    except GateInputError:
        raise
    except Exception as exc:
        raise GateInputError(f"cannot import {module_name!r}: {type(exc).__name__}: {exc}") from None
    factory = getattr(module, attr, None)
    if not callable(factory):
        raise GateInputError(f"{module_name!r} has no callable {attr!r}")
    return factory, attr


def _build_network(factory_spec: str, weights: Optional[str]) -> Tuple[Any, str]:
    import layers_theano as LT
    from layers_np.io import ModelFileError
    from layers_theano.export import load_lasagne_weights

    factory, name = resolve_factory(factory_spec)
    try:
        net = factory()
    except Exception as exc:
        raise GateInputError(f"the factory {factory_spec} raised {type(exc).__name__}: {exc}") from None
    if not isinstance(net, LT.Layer):
        raise GateInputError(f"the factory {factory_spec} must return the output layer of a layers_theano network, "
                             f"got {type(net).__name__}")
    if weights is not None:
        try:
            load_lasagne_weights(net, weights)
        except ModelFileError as exc:
            raise GateInputError(f"weights: {exc}") from None
    return net, name


def read_samples(path: str, net: Any) -> Any:
    """Sample inputs from an .npz: one array, arrays named like the InputLayers, or arr_0.. in input order."""
    from layers_np.io import ModelFileError, _read_npz

    from .network import input_specs

    try:
        arrays = _read_npz(path, path)
    except ModelFileError as exc:
        raise GateInputError(f"inputs: {exc}") from None
    specs = input_specs(net)
    if not arrays:
        raise GateInputError(f"inputs: {path} holds no arrays")
    if len(arrays) == 1 and len(specs) == 1:
        return next(iter(arrays.values()))
    names = [s[0].name for s in specs]
    if set(arrays) == set(names):
        return dict(arrays)
    positional = [f"arr_{i}" for i in range(len(specs))]
    if set(arrays) == set(positional):
        return {s[0]: arrays[k] for s, k in zip(specs, positional)}
    raise GateInputError(f"inputs: {path} holds arrays {sorted(arrays)}; expected one array per InputLayer, "
                         f"named {names} or arr_0..arr_{len(specs) - 1}")


def _junit(path: str, model: str, report: Any, error: Optional[str], seconds: float) -> None:
    suite_name = f"twins-gate.{model}"
    suites = ET.Element("testsuites")
    rows = report.rows if report is not None else []
    suite = ET.SubElement(suites, "testsuite", name=suite_name, tests=str(max(len(rows), 1)),
                          failures=str(sum(not r.ok for r in rows)), errors="1" if error else "0",
                          time=f"{seconds:.3f}")
    if error:
        case = ET.SubElement(suite, "testcase", classname=suite_name, name="gate")
        ET.SubElement(case, "error", message=error.splitlines()[0][:500]).text = error
    for r in rows:
        case = ET.SubElement(suite, "testcase", classname=suite_name, name=f"{r.index:02d} {r.name} ({r.cls})")
        if not r.ok:
            detail = (f"{r.reason}; verdict {r.verdict}; max abs {r.max_abs:.6g}, max ulp {r.max_ulp:.6g}, "
                      f"{r.mismatches}/{r.size} out of tolerance; worst {r.worst}")
            ET.SubElement(case, "failure", message=f"{r.name}: {r.reason} ({r.verdict})").text = detail
    if report is not None:
        ET.SubElement(suite, "system-out").text = report.table()
    atomic_write_text(path, ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n")


def _verdict(path: str, payload: Dict[str, Any]) -> None:
    from layers_np.io import _jsonable

    atomic_write_text(path, json.dumps(_jsonable(payload), indent=2, allow_nan=False) + "\n")


def _parser_gate() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="twins gate", description="Export a model only if its numpy twin matches Theano.")
    p.add_argument("factory", help="MODULE:FACTORY returning the output layer (e.g. layers_theano.zoo:mlp)")
    p.add_argument("--weights", help="Lasagne weights: np.savez(f, *get_all_param_values(net))")
    p.add_argument("--inputs", help="sample inputs (.npz) certified in addition to fuzzed batches")
    p.add_argument("--profile", default="ci", help="dev, ci (default) or thorough: how many fuzzed batches")
    p.add_argument("-o", "--output", required=True, help="model file to write when certified")
    p.add_argument("--junit-xml", help="write a JUnit XML report (one test case per layer)")
    p.add_argument("--report-dir", default="reports", help="where the layer-by-layer report goes (default: reports)")
    p.add_argument("--verdict-json", help="verdict file (default: REPORT_DIR/gate_<model>_verdict.json)")
    p.add_argument("--seed", type=int, default=0, help="seed of the fuzzed batches (default 0)")
    p.add_argument("--batch-size", type=int, default=None, help="samples per fuzzed batch (default: by profile)")
    p.add_argument("--batches", type=int, default=None, help="number of fuzzed batches (default: by profile)")
    return p


def _parse(parser: argparse.ArgumentParser, argv: List[str]) -> Any:
    try:
        return parser.parse_args(argv)
    except SystemExit as exc:
        return 0 if exc.code in (0, None) else 2


def gate_main(argv: List[str]) -> int:
    """``twins gate``: returns 0 certified (written), 1 discrepancy (nothing written), 2 bad input."""
    args = _parse(_parser_gate(), argv)
    if isinstance(args, int):
        return args
    start = time.perf_counter()
    model = args.factory.rpartition(":")[2] or "model"
    verdict_path = args.verdict_json or os.path.join(args.report_dir, f"gate_{model}_verdict.json")
    base = {"model": args.factory, "output": None, "weights": args.weights, "inputs": args.inputs,
            "profile": args.profile}

    def error(message: str) -> int:
        seconds = time.perf_counter() - start
        try:
            _verdict(verdict_path, {**base, "verdict": "ERROR", "exit_code": 2, "message": message})
            if args.junit_xml:
                _junit(args.junit_xml, model, None, message, seconds)
        except OSError as exc:
            print(f"twins gate: cannot write the verdict: {exc}", file=sys.stderr)
        return _print_error("twins gate", message)

    from .profiles import PROFILES

    if args.profile not in PROFILES:
        return error(f"unknown profile {args.profile!r}; choose one of {', '.join(PROFILES)}")
    n_batches, batch_size = PROFILE_BATCHES[args.profile]
    n_batches = n_batches if args.batches is None else args.batches
    batch_size = batch_size if args.batch_size is None else args.batch_size
    if n_batches < 1 or batch_size < 1:
        return error("--batches and --batch-size must be at least 1")
    out_dir = os.path.dirname(os.path.abspath(args.output))
    if not os.path.isdir(out_dir):
        return error(f"the output directory {out_dir} does not exist")

    try:
        import layers_np
        from layers_np import io as np_io
        from layers_theano.export import input_dtypes, to_twin

        from .network import NetworkError, certify_network, network_dtype
    except ImportError as exc:
        return error(f"cannot import the Theano side ({exc}); the gate needs the Theano environment")

    try:
        net, _ = _build_network(args.factory, args.weights)
        dtype = network_dtype(net)
        samples = read_samples(args.inputs, net) if args.inputs else None
        twin = to_twin(net)
        dtypes = input_dtypes(net, twin)
        # certify the artifact itself: the bytes that will be written, loaded back
        loaded = np_io.loads(np_io.dumps(twin, input_dtypes=dtypes))
        report = certify_network(net, samples, twin=loaded, fuzz=True, n_batches=n_batches, batch_size=batch_size,
                                 seed=args.seed)
    except (GateInputError, NetworkError, np_io.ModelExportError, np_io.ModelFileError) as exc:
        return error(str(exc))

    seconds = time.perf_counter() - start
    from .reports import write_frame

    paths = write_frame(report.to_frame(), args.report_dir, f"gate_{model}")
    print(report.table())
    print()
    print(report.message())
    payload = {**base, "dtype": dtype, "verdict": "certified" if report.ok else "DISCREPANCY",
               "exit_code": 0 if report.ok else 1, "message": report.message(), "summary": report.summary(),
               "reports": paths, "seconds": seconds}
    if report.ok:
        spec = np_io.save(loaded, args.output, certification=report.summary(), input_dtypes=dtypes,
                          producer=_producer())
        np_io.read_spec(args.output)  # the written file verifies
        payload["output"] = os.path.abspath(args.output)
        payload["arrays"] = len(spec["arrays"])
        payload["parameters"] = int(layers_np.count_params(loaded))
        print(f"certified: wrote {args.output} ({len(spec['layers'])} layers, {payload['parameters']} parameters, "
              f"{dtype})")
    else:
        print(f"not certified: {args.output} was not written")
    _verdict(verdict_path, payload)
    if args.junit_xml:
        _junit(args.junit_xml, model, report, None, seconds)
    print(f"reports: {paths['md']}, {verdict_path}" + (f", {args.junit_xml}" if args.junit_xml else ""))
    return 0 if report.ok else 1


def _producer() -> Dict[str, Any]:
    from layers_theano.backend import __version__ as pytensor_version

    return {"pytensor": pytensor_version, "exported_from": "layers_theano", "gate": "twins gate"}


def export_main(argv: List[str]) -> int:
    """``twins export MODULE:FACTORY [--weights FILE] -o model.npz`` (no certification): 0 written, 2 bad input."""
    p = argparse.ArgumentParser(prog="twins export", description="Export the numpy twin of a Theano network.")
    p.add_argument("factory", help="MODULE:FACTORY returning the output layer (e.g. layers_theano.zoo:mlp)")
    p.add_argument("--weights", help="Lasagne weights: np.savez(f, *get_all_param_values(net))")
    p.add_argument("-o", "--output", required=True, help="model file to write")
    args = _parse(p, argv)
    if isinstance(args, int):
        return args
    try:
        from layers_np import io as np_io
        from layers_theano.export import export
    except ImportError as exc:
        return _print_error("twins export", f"cannot import the Theano side ({exc})")
    out_dir = os.path.dirname(os.path.abspath(args.output))
    if not os.path.isdir(out_dir):
        return _print_error("twins export", f"the output directory {out_dir} does not exist")
    try:
        net, _ = _build_network(args.factory, args.weights)
        spec = export(net, args.output)
    except (GateInputError, np_io.ModelExportError, np_io.ModelFileError) as exc:
        return _print_error("twins export", str(exc))
    print(f"wrote {args.output}: {len(spec['layers'])} layers, {len(spec['arrays'])} arrays, {spec['dtype']} "
          f"(not certified: use `twins gate` to certify before publishing)")
    return 0
