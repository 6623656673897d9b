"""``twins bench MODULE:FACTORY`` and ``twins bench model.npz``: per-call latency of the user's own models.

A target is either

``MODULE:FACTORY`` (or ``path/to/file.py:FACTORY``)
    resolved as ``twins gate`` resolves it (the current directory first); the factory returns
    the output layer of a layers_theano (or real Lasagne) network. Timed: the compiled Theano
    function against its numpy twin, serialised and loaded back as ``twins export`` would
    write it, measured alternately in this process, with the ratio twin/Theano.
``model.npz``
    a layers_np model file (untrusted: read through the bounded loader). Timed: the twin alone,
    which is what a deployment runs; with ``--factory MODULE:FACTORY`` also the Theano network
    that factory builds, alternately with the file's twin (its inputs and output shapes must
    match the file's), as for a factory target.

Each model is timed at each batch size (inputs drawn with a fixed seed; free non-batch axes get
``--seq-len``), and the time of one call is the median of as many calls as ``max_time_s`` allows.
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence

__all__ = ["BenchTargetError", "Target", "is_model_file", "custom_layers", "prepare_target", "measure_target",
           "run_targets"]


class BenchTargetError(ValueError):
    """A target that cannot be benchmarked (bad spec, factory or model file); one line, exit 2."""


@dataclass
class Target:
    """A model ready to time: its label, where it came from, its twin and (optionally) Theano."""

    name: str
    source: str  # "factory" or "file"
    twin: Callable[..., Any]
    theano: Optional[Callable[..., Any]] = None
    net: Any = None  # the twin's output layer(s), for the inputs


def is_model_file(spec: str) -> bool:
    """``spec`` names a layers_np model file rather than a factory."""
    return spec.endswith(".npz")


def _twin_callable(twin: Any) -> Callable[..., Any]:
    """``twin(*arrays)`` for one output layer; for several, the list of their outputs."""
    if not isinstance(twin, (list, tuple)):
        return twin
    import layers_np as L

    inputs = [l for l in L.get_all_layers(list(twin)) if isinstance(l, L.InputLayer)]

    def call(*arrays: Any) -> Any:
        return L.get_output(list(twin), dict(zip(inputs, arrays)))

    return call


def custom_layers(specs: Sequence[str]) -> Dict[str, type]:
    """``{CLASS: class}`` from ``MODULE:CLASS`` specs (``--custom-layer``): the user's own twin classes a
    model file may name, passed to ``layers_np.load`` as ``custom_layers`` (never taken from the file)."""
    import layers_np as L

    from .gate import GateInputError, resolve_factory

    registry: Dict[str, type] = {}
    for spec in specs:
        try:
            cls, attr = resolve_factory(spec)  # the one MODULE:NAME resolution (current directory first)
        except GateInputError as exc:
            raise BenchTargetError(f"--custom-layer {spec}: {exc}") from None
        if not (isinstance(cls, type) and issubclass(cls, L.Layer)):
            raise BenchTargetError(f"--custom-layer {spec}: {attr!r} is not a layers_np layer class")
        registry[attr] = cls
    return registry


def _theano_side(factory: str, twin: Any = None) -> Any:
    """(theano network, compiled function) of ``factory``; a failure is a :class:`BenchTargetError`.

    With ``twin`` (a loaded model file), the network is built in the file's float dtype (unless
    THEANO_FLAGS/PYTENSOR_FLAGS chose floatX, as ``twins gate --weights`` does) and takes the
    file's weights, so that both sides compute the same function and ``max_rel_diff`` means
    something; a network whose parameters do not match the file's is refused.
    """
    try:
        import layers_theano as LT
    except ImportError as exc:
        raise BenchTargetError(f"timing against Theano needs the Theano side ({exc}); run `make venv`, or time "
                               "a model file alone (twins bench model.npz)") from None
    from .execute import compile_theano
    from .gate import GateInputError, _build_network
    from .network import NetworkError, network_dtype

    import layers_np as L
    from layers_theano.backend import FLOATX_FROM_FLAGS, config

    np_params = L.get_all_params(twin) if twin is not None else []
    floats = sorted({str(p.get_value().dtype) for p in np_params if p.get_value().dtype.kind == "f"})
    floatx = FLOATX_FROM_FLAGS or (floats[0] if len(floats) == 1 else None)
    try:
        if floatx is None:
            net, _ = _build_network(factory, None)
        else:
            with config.change_flags(floatX=floatx):
                net, _ = _build_network(factory, None)
        if LT.lasagne_bridge.is_lasagne_layer(net):
            net = LT.from_lasagne(net, side="theano")
        if twin is not None:
            _copy_weights(net, np_params, factory)
        dtype = network_dtype(net)
        outputs = list(net) if isinstance(net, (list, tuple)) else net
        inputs = [l for l in LT.get_all_layers(outputs) if isinstance(l, LT.InputLayer)]
        fn, _ = compile_theano(inputs, outputs, dtype)
    except (GateInputError, NetworkError) as exc:
        raise BenchTargetError(str(exc)) from None
    except (Exception, SystemExit) as exc:  # the user's network failing in a way nobody foresaw
        raise BenchTargetError(f"{factory}: cannot compile its Theano function: {type(exc).__name__}: {exc}") from None
    return net, fn


def _copy_weights(net: Any, np_params: Sequence[Any], factory: str) -> None:
    """Set the Theano network's parameters to a model file's (same order and shapes, as Lasagne's
    ``get_all_params`` gives them on both sides)."""
    import layers_theano as LT

    th_params = LT.get_all_params(net)
    shapes = [tuple(p.get_value().shape) for p in np_params]
    want = [tuple(p.get_value().shape) for p in th_params]
    if shapes != want:
        raise BenchTargetError(f"--factory {factory} builds a network with parameter shapes {want[:6]}"
                               f"{' ...' if len(want) > 6 else ''}, the model file has {shapes[:6]}"
                               f"{' ...' if len(shapes) > 6 else ''}; is --factory the network of this file?")
    for th, tw in zip(th_params, np_params):
        th.set_value(tw.get_value().astype(th.get_value().dtype))


def prepare_target(spec: str, factory: Optional[str] = None, seq_len: int = 32,
                   custom: Optional[Dict[str, type]] = None) -> Target:
    """Load or build ``spec`` (see the module docstring) and check both sides run at batch 1;
    ``factory`` is the Theano network of a model file (a factory target ignores it) and
    ``custom`` the ``custom_layers`` registry a model file is loaded with."""
    import numpy as np

    import layers_np as L
    from layers_np.io import ModelExportError, ModelFileError

    from .bench_worker import make_inputs

    if is_model_file(spec):
        if not os.path.isfile(spec):
            raise BenchTargetError(f"no such model file: {spec}")
        try:
            twin = L.load(spec, custom_layers=custom)
        except ModelFileError as exc:
            raise BenchTargetError(f"{spec}: {exc}") from None
        name, source = spec, "file"  # as given (bench_main normalises it): two files never share a name
        theano = None
        if factory is not None:
            _, theano = _theano_side(factory, twin)
    else:
        if ":" not in spec:
            raise BenchTargetError(f"expected MODULE:FACTORY, path/to/file.py:FACTORY or a model file .npz, got {spec!r}")
        net, theano = _theano_side(spec)
        from layers_np import io as np_io
        from layers_theano.export import input_dtypes, to_twin

        try:
            built = to_twin(net)
            # time what `twins export` would ship: the twin serialised and loaded back
            twin = np_io.loads(np_io.dumps(built, input_dtypes=input_dtypes(net, built)),
                               custom_layers=np_io.custom_classes(built))
        except (ModelExportError, ModelFileError) as exc:
            raise BenchTargetError(f"{spec}: {exc}") from None
        except (Exception, SystemExit) as exc:  # a user's layer failing to serialise in an unforeseen way
            raise BenchTargetError(f"{spec}: cannot export its twin: {type(exc).__name__}: {exc}") from None
        name, source = spec, "factory"
    call = _twin_callable(twin)
    try:
        arrays = make_inputs(twin, 1, seq_len, seed=1)
        got = call(*arrays)
        if theano is not None:
            want = theano(*arrays)
            got_shapes = [np.shape(g) for g in (got if isinstance(got, list) else [got])]
            want_shapes = [np.shape(w) for w in (want if isinstance(want, list) else [want])]
            if got_shapes != want_shapes:
                raise BenchTargetError(f"{name}: the twin's outputs have shapes {got_shapes} and the Theano "
                                       f"function's {want_shapes} at batch 1; is --factory the network of this file?")
    except BenchTargetError:
        raise
    except (Exception, SystemExit) as exc:
        raise BenchTargetError(f"{name}: a first call at batch 1 failed: {type(exc).__name__}: {exc}") from None
    return Target(name=name, source=source, twin=call, theano=theano, net=twin)


def _row(target: Target, batch: int) -> Dict[str, Any]:
    return {"model": target.name, "batch": batch, "source": target.source, "twin_ms": None, "twin_iqr_ms": None,
            "theano_ms": None, "theano_iqr_ms": None, "twin_over_theano": None, "reps": None,
            "max_rel_diff": None, "error": None}


def measure_target(target: Target, batch: int, seq_len: int, budget_s: float, min_reps: int,
                   max_reps: int) -> Dict[str, Any]:
    """One row: the twin's (and Theano's) median ms per call at ``batch``; a failure is the row's error."""
    from .bench_worker import interleaved_latency, make_inputs, time_calls

    row = _row(target, batch)
    try:
        arrays = make_inputs(target.net, batch, seq_len, seed=batch)
        if target.theano is None:
            twin = time_calls(target.twin, arrays, budget_s, min_reps, max_reps)
        else:
            lat = interleaved_latency(target.theano, target.twin, arrays, budget_s, min_reps, max_reps)
            twin, theano = lat["twin"], lat["theano"]
            row.update(theano_ms=1e3 * theano["median"], theano_iqr_ms=1e3 * (theano["q3"] - theano["q1"]),
                       max_rel_diff=lat["max_rel_diff"])
        row.update(twin_ms=1e3 * twin["median"], twin_iqr_ms=1e3 * (twin["q3"] - twin["q1"]), reps=twin["n"])
        if row["theano_ms"]:
            row["twin_over_theano"] = row["twin_ms"] / row["theano_ms"]
    except (Exception, SystemExit) as exc:  # reported in the table and the exit code, not raised
        row["error"] = f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}"
    return row


def run_targets(targets: Sequence[Target], batch_sizes: Sequence[int], seq_len: int, budget_s: float,
                min_reps: int, max_reps: int, progress: bool = True) -> List[Dict[str, Any]]:
    """Time every target at every batch size, with a progress bar (stderr) per model x batch."""
    from tqdm import tqdm

    rows = []
    with tqdm(total=len(targets) * len(batch_sizes), desc="bench", unit="run", file=sys.stderr,
              dynamic_ncols=True, disable=not progress) as bar:
        for target in targets:
            for batch in batch_sizes:
                bar.set_postfix_str(f"{target.name} batch {batch}")
                rows.append(measure_target(target, batch, seq_len, budget_s, min_reps, max_reps))
                bar.update(1)
    return rows
