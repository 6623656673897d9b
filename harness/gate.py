"""The CI export gate: publish a numpy model file only when it matches the Theano network.

``twins gate MODULE:FACTORY -o model.npz`` builds the Theano network (the factory returns its
output layer, of layers_theano or of a real Lasagne network, which ``from_lasagne`` converts and
``harness.lasagne_reference`` also certifies against Lasagne's own graph; ``MODULE`` may also be a
path to a ``.py`` file), optionally loads Lasagne
weights, serialises its numpy twin, loads those bytes back, and certifies the *loaded*
model layer by layer against Theano on fuzzed batches (plus ``--inputs`` samples). Only a
certified model is written (atomically, with the certification summary inside).

Exit codes: 0 certified (file written), 1 discrepancy (nothing written), 2 anything else
(bad factory, weights, samples or arguments, a network that cannot be described without
code, reference outputs with NaN/Inf, a file that cannot be written); each failure prints
one line saying what is wrong and what to do.

Order: the model bytes are built and verified, then the reports, the verdict and the JUnit
file are written, and only then is the model published (atomically). A failure before the
publication leaves any previous model file untouched; a failure of the publication itself
rewrites the verdict as an error.

Reports under ``--report-dir``: ``gate_<model>.{csv,json,md}`` (one row per layer),
``gate_<module>.<factory>_verdict.json``; ``--junit-xml FILE`` writes one test case per layer.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
import xml.etree.ElementTree as ET
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from layers_np.atomic import atomic_write_text

__all__ = ["export_main", "gate_main", "import_pickle_main", "resolve_factory", "GateInputError", "PROFILE_BATCHES", "read_samples",
           "GateRun", "sample_keys"]

# profile -> (batches, batch size) of fuzzed inputs; the seed is fixed so a gate never flakes
PROFILE_BATCHES: Dict[str, Tuple[int, int]] = {"dev": (2, 4), "ci": (5, 8), "thorough": (20, 16)}


class GateInputError(ValueError):
    """Bad input to the gate or export command (exit code 2)."""


def _print_error(prog: str, message: str) -> int:
    print(f"{prog}: error: {message}", file=sys.stderr)
    return 2


def resolve_factory(spec: str) -> Tuple[Callable[[], Any], str]:
    """``MODULE:FACTORY`` (or ``path/to/file.py:FACTORY``) -> (factory, FACTORY).

    MODULE resolves as with ``python -m``: the current directory first (:mod:`harness.imports`).
    """
    module_name, sep, attr = spec.rpartition(":")
    if not sep or not module_name or not attr:
        raise GateInputError(f"expected MODULE:FACTORY, got {spec!r}")
    from .imports import UserImportError, import_user_module

    try:
        module = import_user_module(module_name)
    except UserImportError as exc:
        raise GateInputError(str(exc)) from None
    except (Exception, SystemExit) as exc:  # a module calling sys.exit() on import is not a certified model
        raise GateInputError(f"cannot import {module_name!r}: {type(exc).__name__}: {exc}") from None
    factory = getattr(module, attr, None)
    if not callable(factory):
        raise GateInputError(f"{module_name!r} has no callable {attr!r}")
    return factory, attr


def report_name(spec: str) -> str:
    """The name of a gate's report files: ``MODULE.FACTORY`` (a file's stem for ``path/x.py``), so
    ``a:build_net`` and ``b:build_net`` do not overwrite each other's verdicts."""
    from .imports import is_file_spec

    module, _, attr = spec.rpartition(":")
    if is_file_spec(module):
        module = os.path.splitext(os.path.basename(module))[0]
    name = ".".join(part for part in (module, attr or "model") if part)
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)[:120]


def _build_network(factory_spec: str, weights: Optional[str], pickled: Any = None) -> Tuple[Any, str]:
    """The factory's network, with Lasagne weights from ``weights`` (an .npz) or from ``pickled``
    (a :class:`layers_np.safe_pickle.PickledModel`, its ``label`` naming the pickle)."""
    import layers_theano as LT
    from layers_np.io import ModelFileError, read_lasagne_weights, weights_dtype
    from layers_theano.backend import FLOATX_FROM_FLAGS
    from layers_theano.export import set_lasagne_values

    factory, name = resolve_factory(factory_spec)
    # the Lasagne values to set, from the pickle or the weights file (read once: their dtype
    # chooses floatX before the network is built, then they are set into it)
    values: Optional[List[np.ndarray]] = None
    label = prefix = fit_note = ""
    if pickled is not None:
        values, label = pickled.values, pickled.label
        fit_note = " (the pickle's values do not fit the factory's network)"
    elif weights is not None:
        label, prefix = os.fspath(weights), "weights: "
        try:
            values = read_lasagne_weights(weights)
        except ModelFileError as exc:
            raise GateInputError(f"{prefix}{exc}") from None
    floatx = None
    if values is not None:
        # dtype follows the weights (float32 Lasagne weights make a float32 model), unless
        # THEANO_FLAGS/PYTENSOR_FLAGS chose floatX explicitly, as they would for Lasagne itself
        try:
            dtype = weights_dtype(label, values)
        except ModelFileError as exc:
            raise GateInputError(f"{prefix}{exc}") from None
        floatx = FLOATX_FROM_FLAGS or (dtype.name if dtype is not None else None)
    try:
        if floatx is None:
            net = factory()
        else:
            from layers_theano.backend import config

            with config.change_flags(floatX=floatx):
                net = factory()
    except (Exception, SystemExit) as exc:
        raise GateInputError(f"the factory {factory_spec} raised {type(exc).__name__}: {exc}") from None
    if not isinstance(net, LT.Layer) and not LT.lasagne_bridge.is_lasagne_layer(net):
        raise GateInputError(f"the factory {factory_spec} must return the output layer of a layers_theano network "
                             f"(or of a Lasagne network), got {type(net).__name__}")
    if values is not None:
        try:
            set_lasagne_values(net, values, label)
        except ModelFileError as exc:
            raise GateInputError(f"{prefix}{exc}{fit_note}") from None
    return net, name


def sample_keys(path: str, present: Sequence[str], names: Sequence[Any], what: str) -> List[str]:
    """Which arrays of the samples file ``path`` (holding ``present``) are the inputs, in input order.

    The one array for one input, whatever its name; else one array per input, named like the
    inputs (``names``) or ``arr_0 ..`` in order. Anything else is a :class:`GateInputError` naming
    the arrays found and the ``what`` (e.g. "InputLayer") they should match.
    """
    positional = [f"arr_{i}" for i in range(len(names))]
    if len(present) == 1 and len(names) == 1:
        return list(present)
    # an .npz never holds one name twice (the bounded reader refuses it): equal sets of equal size match one to one
    if set(present) == set(names) and len(present) == len(names):
        return list(names)
    if set(present) == set(positional):
        return positional
    raise GateInputError(f"inputs: {path} holds arrays {sorted(present)[:10]}; expected one array per "
                         f"{what}, named {names} or arr_0..arr_{len(names) - 1}")


def read_samples(path: str, net: Any) -> Any:
    """Sample inputs from an .npz: one array, arrays named like the InputLayers, or arr_0.. in input order.

    Read through the bounded reader (:mod:`layers_np.safe_npz`); numeric arrays only, at least one sample.
    """
    from layers_np.safe_npz import ModelFileError, NpzReader

    from .network import input_specs

    specs = input_specs(net)
    names = [s[0].name for s in specs]
    try:
        with NpzReader(path) as reader:
            if not reader.names:
                raise GateInputError(f"inputs: {path} holds no arrays")
            keys = sample_keys(path, reader.names, names, "InputLayer")
            arrays = [reader.read(k) for k in keys]
    except ModelFileError as exc:
        raise GateInputError(f"inputs: {exc}") from None
    for k, a in zip(keys, arrays):
        if a.ndim == 0 or a.shape[0] == 0:
            raise GateInputError(f"inputs: array {k!r} in {path} holds no samples (shape {a.shape}); give at least one")
    if len(specs) == 1:  # its one array, whatever its name
        return arrays[0]
    if keys == names:
        return dict(zip(names, arrays))
    return {s[0]: a for s, a in zip(specs, arrays)}


def _nonfinite_outputs(loaded: Any, net: Any, samples: Any, n_batches: int, batch_size: int, seed: int) -> str:
    """Where the certified model's outputs on the certification inputs are NaN or Inf ("" if nowhere).

    The model was certified, so its outputs have NaN/Inf exactly where Theano's (the reference)
    have them: checking the twin's is checking the reference's, without another compilation.
    """
    import layers_np

    from .network import as_batches, fuzz_inputs

    outputs = list(loaded) if isinstance(loaded, (list, tuple)) else [loaded]
    inputs = [l for l in layers_np.get_all_layers(outputs) if isinstance(l, layers_np.InputLayer)]
    batches = list(as_batches(net, samples)) if samples is not None else []
    rng = np.random.default_rng(seed)
    batches += [fuzz_inputs(net, rng, batch_size) for _ in range(n_batches)]
    for b, batch in enumerate(batches):
        for o, out in enumerate(layers_np.get_output(outputs, dict(zip(inputs, batch)))):
            out = np.asarray(out)
            if out.dtype.kind in "fc" and not np.isfinite(out).all():
                what = "samples" if samples is not None and b == 0 else "fuzzed batch"
                return (f"output {o} on {what} {b} has {int(np.isnan(out).sum())} NaN and "
                        f"{int(np.isinf(out).sum())} Inf of {out.size} values")
    return ""


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
    from layers_np.io import to_jsonable

    atomic_write_text(path, json.dumps(to_jsonable(payload), indent=2, allow_nan=False) + "\n")


def _parser_gate() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="twins gate", description="Export a model only if its numpy twin matches Theano.")
    p.add_argument("factory", help="MODULE:FACTORY returning the output layer (e.g. layers_theano.zoo:mlp)")
    p.add_argument("--weights", help="Lasagne weights: np.savez(f, *get_all_param_values(net))")
    _gate_options(p)
    p.add_argument("--graph", action="store_true",
                   help="convert and certify at graph level (node by node against the compiled PyTensor function): "
                        "the factory may return (inputs, outputs), a compiled function or a network")
    return p


def _parser_import_pickle() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="twins import-pickle",
        description="Read a pretrained-model pickle (Python 2 or 3, or a Theano pkl_utils zip) without running "
                    "code, set its values into the factory's network in Lasagne order, and export the model only "
                    "if its numpy twin matches Theano (as twins gate). Class names and mean values are kept as "
                    "metadata (layers_np.io.read_metadata).")
    p.add_argument("pickle", help="the model pickle, e.g. vgg16.pkl: a dict with 'param values' or 'values' (plus "
                                  "'synset words', 'mean value', 'mean image'), or a list of arrays")
    p.add_argument("factory", help="MODULE:FACTORY building the network the values belong to")
    p.set_defaults(weights=None)
    return _gate_options(p)


def _gate_options(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    p.add_argument("--inputs", help="sample inputs (.npz) certified in addition to fuzzed batches")
    p.add_argument("--profile", default="ci", help="dev, ci (default) or thorough: how many fuzzed batches")
    p.add_argument("-o", "--output", required=True, help="model file to write when certified")
    p.add_argument("--junit-xml", help="write a JUnit XML report (one test case per layer)")
    p.add_argument("--report-dir", default="reports", help="where the layer-by-layer report goes (default: reports)")
    p.add_argument("--verdict-json", help="verdict file (default: REPORT_DIR/gate_<module>.<factory>_verdict.json)")
    p.add_argument("--seed", type=int, default=0, help="seed of the fuzzed batches (default 0)")
    p.add_argument("--batch-size", type=int, default=None, help="samples per fuzzed batch (default: by profile)")
    p.add_argument("--batches", type=int, default=None, help="number of fuzzed batches (default: by profile)")
    p.add_argument("--allow-nonfinite", action="store_true",
                   help="certify even when the reference outputs contain NaN or Inf (refused by default)")
    return p


def _parse(parser: argparse.ArgumentParser, argv: List[str]) -> Any:
    try:
        return parser.parse_args(argv)
    except SystemExit as exc:
        return 0 if exc.code in (0, None) else 2


def gate_main(argv: List[str]) -> int:
    """``twins gate``: returns 0 certified (written), 1 discrepancy (nothing written), 2 anything else."""
    args = _parse(_parser_gate(), argv)
    if isinstance(args, int):
        return args
    if args.graph:  # `twins gate --graph` goes to harness.graph_gate (harness.cli dispatches it)
        return _print_error("twins gate", "--graph is handled by harness.graph_gate.graph_gate_main; run `twins gate "
                                          "--graph ...`")
    return _gate(args, "twins gate")


def import_pickle_main(argv: List[str]) -> int:
    """``twins import-pickle MODEL.pkl MODULE:FACTORY -o model.npz``: the pickle is read by
    :mod:`layers_np.safe_pickle` (nothing in it runs), its values set into the factory's network,
    and the model gated as by ``twins gate``; returns 0 certified (written), 1 discrepancy
    (nothing written), 2 anything else (a refused or unrecognised pickle, values that do not fit)."""
    args = _parse(_parser_import_pickle(), argv)
    if isinstance(args, int):
        return args
    return _gate(args, "twins import-pickle")


class GateRun:
    """The reporting of one ``twins gate`` / ``twins import-pickle`` / ``twins gate --graph`` run.

    It owns what every gate shares: the fuzzed batches the options ask for, the verdict, JUnit and
    report files, the order of publication (every report first, the model last) and the exit code
    (0 certified and written, 1 discrepancy, 2 anything else, with one line on stderr).

    Parameters
    ----------
    args : argparse.Namespace
        The parsed gate options (:func:`_gate_options`).
    prog : str
        The command, for error lines.
    base : dict
        The verdict's fields known before the run (kept by reference: fields added later are recorded).
    """

    def __init__(self, args: Any, prog: str, base: Dict[str, Any]) -> None:
        self.start = time.perf_counter()
        self.args, self.prog, self.base = args, prog, base
        self.model = report_name(args.factory)
        self.verdict_path = args.verdict_json or os.path.join(args.report_dir, f"gate_{self.model}_verdict.json")

    def seconds(self) -> float:
        """Seconds since the run started (the verdict's and JUnit's time)."""
        return time.perf_counter() - self.start

    def error(self, message: str, report: Any = None) -> int:
        """Exit 2 with one line; the verdict and JUnit say ERROR when they can be written."""
        note = ""
        try:
            _verdict(self.verdict_path, {**self.base, "verdict": "ERROR", "exit_code": 2, "message": message})
            if self.args.junit_xml:
                _junit(self.args.junit_xml, self.model, report, message, self.seconds())
        except OSError as exc:
            note = f" (the verdict/JUnit file could not be written either: {exc.strerror or exc})"
        return _print_error(self.prog, message + note)

    def batches(self) -> Tuple[int, int, str]:
        """(number of fuzzed batches, batch size, why the gate cannot run or "") from the options."""
        from .profiles import PROFILES

        args = self.args
        if args.profile not in PROFILES or args.profile not in PROFILE_BATCHES:
            return 0, 0, f"unknown profile {args.profile!r}; choose one of {', '.join(PROFILE_BATCHES)}"
        n_batches, batch_size = PROFILE_BATCHES[args.profile]
        n_batches = n_batches if args.batches is None else args.batches
        batch_size = batch_size if args.batch_size is None else args.batch_size
        if n_batches < 1 or batch_size < 1:
            return n_batches, batch_size, "--batches and --batch-size must be at least 1 (a gate needs samples to certify)"
        return n_batches, batch_size, _output_problem(args.output)

    def finish(self, report: Any, fields: Dict[str, Any], data: Optional[bytes], written: str) -> int:
        """Write the reports and the verdict, then (certified: ``data`` given) publish the model; the exit code.

        ``fields`` are the verdict's own fields beside the report's; ``written`` is the line printed once
        the model file is written.
        """
        from layers_np.atomic import atomic_write

        from .reports import write_frame

        args, seconds = self.args, self.seconds()
        payload = {**self.base, **fields, "verdict": "certified" if report.ok else "DISCREPANCY",
                   "exit_code": 0 if report.ok else 1, "message": report.message(), "summary": report.summary(),
                   "seconds": seconds}
        if data is not None:
            payload["output"] = os.path.abspath(args.output)
        # every report first, the model last: a report that cannot be written publishes nothing
        try:
            paths = write_frame(report.to_frame(), args.report_dir, f"gate_{self.model}")
            payload["reports"] = paths
            _verdict(self.verdict_path, payload)
            if args.junit_xml:
                _junit(args.junit_xml, self.model, report, None, seconds)
        except OSError as exc:
            return self.error(f"cannot write the reports ({exc.strerror or exc}: {exc.filename or ''}); nothing was "
                              f"published: fix --report-dir/--verdict-json/--junit-xml", report)
        print(report.table())
        print()
        print(report.message())
        if data is not None:
            try:
                atomic_write(args.output, lambda f: f.write(data), fsync=True)
            except OSError as exc:
                return self.error(f"cannot write {args.output} ({exc.strerror or exc}); nothing was published and any "
                                  f"previous file is untouched", report)
            print(written)
        else:
            print(f"not certified: {args.output} was not written")
        print(f"reports: {paths['md']}, {self.verdict_path}" + (f", {args.junit_xml}" if args.junit_xml else ""))
        return 0 if report.ok else 1


def _gate(args: Any, prog: str) -> int:
    pickle_path = getattr(args, "pickle", None)
    base = {"model": args.factory, "output": None, "weights": args.weights, "inputs": args.inputs,
            "profile": args.profile}
    if pickle_path is not None:
        base["pickle"] = pickle_path
    run = GateRun(args, prog, base)
    error = run.error
    n_batches, batch_size, problem = run.batches()
    if problem:
        return error(problem)
    pickled = metadata = None
    if pickle_path is not None:
        # read (numpy only, nothing executed) before anything of the Theano side is imported
        from layers_np.safe_npz import ModelFileError
        from layers_np.safe_pickle import read_model_pickle

        try:
            pickled = read_model_pickle(pickle_path)
        except ModelFileError as exc:
            return error(str(exc))
        metadata = {**pickled.metadata(), "pickle_file": os.path.basename(pickle_path)}
        if pickled.ignored_keys:
            metadata["pickle_ignored_keys"] = pickled.ignored_keys[:64]
        base["pickle_layout"] = pickled.layout

    try:
        import layers_np
        from layers_np import io as np_io
        import layers_theano as LT
        from layers_theano.export import input_dtypes, to_twin

        from .graph_check import fallback_checks
        from .lasagne_reference import add_lasagne_comparisons

        from .network import NetworkError, certify_network, network_dtype
    except ImportError as exc:
        return error(f"cannot import the Theano side ({exc}); the gate needs the Theano environment: run `make venv`")

    try:
        net, _ = _build_network(args.factory, args.weights, pickled)
        reference = None
        if LT.lasagne_bridge.is_lasagne_layer(net):  # a real Lasagne network: also certified against its own graph
            reference, net = net, LT.from_lasagne(net, side="theano")
        dtype = network_dtype(net)
        samples = read_samples(args.inputs, net) if args.inputs else None
        twin = to_twin(net)
        dtypes = input_dtypes(net, twin)
        # certify the artifact itself: the bytes that will be written, loaded back
        # the user's own twin classes (registered pairs) are passed back by name, never read from the file
        loaded = np_io.loads(np_io.dumps(twin, input_dtypes=dtypes), custom_layers=np_io.custom_classes(twin))
        # graph-fallback layers (ExpressionLayer, custom layers) are also certified node by node
        report = certify_network(net, samples, twin=loaded, fuzz=True, n_batches=n_batches, batch_size=batch_size,
                                 seed=args.seed, node_checks=fallback_checks(net, loaded))
        if reference is not None:
            add_lasagne_comparisons(report, reference, loaded, net, n_batches, batch_size, args.seed)
        data = None
        if report.ok:
            nonfinite = _nonfinite_outputs(loaded, net, samples, n_batches, batch_size, args.seed)
            if nonfinite and not args.allow_nonfinite:
                return error(f"the reference outputs contain NaN or Inf ({nonfinite}); a model that outputs "
                             f"NaN/Inf is not certified: check the weights and samples, or pass --allow-nonfinite",
                             report)
            data = np_io.dumps(loaded, certification=report.summary(), input_dtypes=dtypes, producer=_producer(prog),
                               metadata=metadata)
            spec = np_io.read_spec(data)  # the bytes to publish verify
    except (GateInputError, NetworkError, np_io.ModelExportError, np_io.ModelFileError) as exc:
        return error(str(exc))
    except (Exception, SystemExit) as exc:  # a factory's network failing in an unforeseen way
        return error(f"{type(exc).__name__}: {exc}")

    fields: Dict[str, Any] = {"dtype": dtype}
    written = ""
    if data is not None:
        fields.update(arrays=len(spec["arrays"]), parameters=int(layers_np.count_params(loaded)))
        written = (f"certified: wrote {args.output} ({len(spec['layers'])} layers, {fields['parameters']} parameters, "
                   f"{dtype})")
    return run.finish(report, fields, data, written)


def _output_problem(output: str) -> str:
    """Why the model cannot be written to ``output`` ("" if it can, as far as can be told before)."""
    out_dir = os.path.dirname(os.path.abspath(output))
    if not os.path.isdir(out_dir):
        return f"the output directory {out_dir} does not exist; create it first"
    if os.path.lexists(output) and not os.path.isfile(output):
        return f"the output {output} exists and is not a regular file; choose another -o"
    if len(os.path.basename(output).encode()) > 200:  # the temporary file adds a prefix and a suffix
        return f"the output file name is too long ({len(os.path.basename(output))} characters)"
    if not os.access(out_dir, os.W_OK | os.X_OK):
        return f"the output directory {out_dir} is not writable"
    return ""


def _producer(prog: str = "twins gate") -> Dict[str, Any]:
    from layers_theano.backend import __version__ as pytensor_version

    return {"pytensor": pytensor_version, "exported_from": "layers_theano", "gate": prog}


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
    problem = _output_problem(args.output)
    if problem:
        return _print_error("twins export", problem)
    try:
        net, _ = _build_network(args.factory, args.weights)
        spec = export(net, args.output)
    except (GateInputError, np_io.ModelExportError, np_io.ModelFileError) as exc:
        return _print_error("twins export", str(exc))
    except OSError as exc:
        return _print_error("twins export", f"cannot write {args.output} ({exc.strerror or exc})")
    except (Exception, SystemExit) as exc:
        return _print_error("twins export", f"{type(exc).__name__}: {exc}")
    print(f"wrote {args.output}: {len(spec['layers'])} layers, {len(spec['arrays'])} arrays, {spec['dtype']} "
          f"(not certified: use `twins gate` to certify before publishing)")
    return 0
