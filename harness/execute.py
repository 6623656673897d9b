"""Running both sides: build a pair's Theano layer and twin, compile the Theano function, evaluate.

The one execution path of the harness: certification (:mod:`harness.runner`), the oracle's
re-runs (:mod:`harness.oracle`), network certification (:mod:`harness.network`) and the
bench worker all build, compile and run through these functions. This module imports
numpy alone at import time (the Theano side, hypothesis and the pair registry are imported
where they are used), so the bench worker can use it without loading the rest of the harness.

Compile once per graph structure: parameters and inputs are inputs of the compiled Theano
function (shared variables are swapped for symbolic ones with ``givens``), so every case
with the same hyperparameters, dtype and free input axes reuses one function whatever its
shapes and weights.
"""
from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

__all__ = ["Discrepancy", "Built", "Outputs", "build", "build_twin", "compile_theano", "compiled_function",
           "compile_graph_reference", "run_theano", "run_twin", "run", "structure_key", "graph_key", "theano_graph",
           "compile_counts", "NetworkRun", "NetworkError", "network_mode"]


class Discrepancy(AssertionError):
    """The twin disagrees with Theano."""


class NetworkError(ValueError):
    """The network or the inputs cannot be certified (not a discrepancy: bad input)."""


@dataclass
class Built:
    """Both sides of one case, built and filled with the same arrays."""

    case: Any  # harness.strategies.Case
    theano_layer: Any
    theano_inputs: List[Any]
    twin: Any
    twin_inputs: List[Any]
    inputs: List[np.ndarray]
    params: List[np.ndarray]
    param_names: List[str]


@dataclass
class Outputs:
    """Both sides' outputs for one built case, and what producing them cost."""

    theano: np.ndarray
    twin: Any
    theano_seconds: float
    twin_seconds: float
    compiled: bool
    compile_seconds: float


# ---------------------------------------------------------------------------
# building
# ---------------------------------------------------------------------------
def _short(name: Optional[str]) -> str:
    return (name or "").split(".")[-1]


def build_twin(pair: Any, case: Any, params: Optional[Sequence[np.ndarray]] = None) -> Tuple[Any, List[Any]]:
    """(twin layer, its InputLayers) for ``case``'s hyperparameters and declared shapes; ``params``
    are loaded into it when given."""
    import layers_np as L

    from .strategies import resolve

    np_inputs = [L.InputLayer(s, name=f"in{i}") for i, s in enumerate(case.declared_shapes)]
    twin = pair.numpy_layer(np_inputs if pair.multi_input else np_inputs[0], **resolve(case.kwargs, "numpy"))
    if params is not None:
        L.set_all_param_values(twin, list(params))
    return twin, np_inputs


def build(pair: Any, case: Any, inputs: Optional[List[np.ndarray]] = None,
          params: Optional[List[np.ndarray]] = None) -> Built:
    """Build the Theano layer and the twin for ``case``; arrays are drawn unless given.

    Raises :class:`Discrepancy` when the two sides' (parameter name, shape) lists differ.
    """
    import layers_np as L
    import layers_theano as LT
    from layers_theano.backend import config

    from .strategies import resolve

    dtype = case.dtype
    rng = np.random.default_rng(case.values.seed)
    clamp = pair.values.get("clamp_points", ())
    if inputs is None:
        inputs = [case.values.sample(rng, s, dtype, clamp) for s in case.input_shapes]
    with config.change_flags(floatX=dtype):
        th_inputs = [LT.InputLayer(s, name=f"in{i}") for i, s in enumerate(case.declared_shapes)]
        th_layer = pair.theano_layer(th_inputs if pair.multi_input else th_inputs[0], **resolve(case.kwargs, "theano"))
    twin, np_inputs = build_twin(pair, case)

    th_params = LT.get_all_params(th_layer)
    np_params = L.get_all_params(twin)
    th_desc = [(_short(p.name), tuple(p.get_value().shape)) for p in th_params]
    np_desc = [(_short(p.name), tuple(p.shape)) for p in np_params]
    if th_desc != np_desc:
        raise Discrepancy(f"{pair.name}: parameters differ (name, shape) in order: theano {th_desc}, twin {np_desc}")
    if params is None:
        params = []
        positive = set(pair.values.get("positive_params", ()))
        for name, shape in th_desc:
            p = rng.standard_normal(shape) * case.values.param_scale
            if name in positive:
                p = np.abs(p) + 1e-3
            params.append(p.astype(dtype))
        if pair.prepare is not None:
            inputs, params = pair.prepare(case.kwargs, inputs, params, rng)
            inputs = [np.asarray(a, dtype=dtype) for a in inputs]
            params = [np.asarray(p, dtype=dtype) for p in params]
    L.set_all_param_values(twin, params)
    return Built(case, th_layer, th_inputs, twin, np_inputs, inputs, params, [n for n, _ in th_desc])


# ---------------------------------------------------------------------------
# compiling
# ---------------------------------------------------------------------------
def network_mode() -> Any:
    """PyTensor's default compile mode without :data:`layers_theano.backend.EXCLUDED_REWRITES` (exact
    rewrites that never end on inception modules): the mode every function of whole networks is
    compiled in (network certification and benchmarks; graph conversion rewrites without them too)."""
    from pytensor.compile.mode import get_default_mode

    from layers_theano.backend import EXCLUDED_REWRITES

    return get_default_mode().excluding(*EXCLUDED_REWRITES)


def compile_theano(inputs: Sequence[Any], outputs: Any, dtype: str, params: Sequence[Any] = ()) -> Tuple[Any, float]:
    """(function, seconds): the deterministic outputs of Theano layers as a function of the
    InputLayers' variables, then of ``params`` (shared variables swapped for symbolic inputs).

    floatX is ``dtype`` while the graph is built, as when the model was trained: layers that
    create constants or casts at ``get_output`` time follow floatX.
    """
    import layers_theano as LT
    from layers_theano.backend import config, function

    start = time.perf_counter()
    with config.change_flags(floatX=dtype):
        symbols = [p.type() for p in params]
        out = LT.get_output(outputs, deterministic=True)
        fn = function([getattr(i, "input_var", i) for i in inputs] + symbols, out,
                      givens=list(zip(params, symbols)), on_unused_input="ignore", mode=network_mode())
    return fn, time.perf_counter() - start


def compile_graph_reference(inputs: Sequence[Any], outputs: Sequence[Any]) -> Tuple[Any, float]:
    """(function, seconds): the C backend's function of a converted graph returning ``outputs``
    (every intermediate value, as Polygraphy marks all outputs); shared variables stay implicit
    inputs holding their values. The graph may hold inplace ops of a compiled function.

    The graph is compiled as it is, without a second rewriting pass: it is already the rewritten
    graph (:func:`layers_theano.graph_export.convert` applied the default mode's rewrites, or it
    is a compiled function's), so each value is PyTensor's C code for exactly the node the numpy
    kernel replaces. Rewriting it again with every value marked as an output would add nothing
    but compile time (and could merge or fuse the very nodes being compared).
    """
    from pytensor.compile.mode import Mode, get_default_mode

    from layers_theano.backend import function

    mode = Mode(linker=get_default_mode().linker, optimizer=None)
    start = time.perf_counter()
    fn = function(list(inputs), list(outputs), on_unused_input="ignore", accept_inplace=True, mode=mode)
    return fn, time.perf_counter() - start


def _freeze(value: Any) -> Any:
    if isinstance(value, dict):
        return tuple(sorted((k, _freeze(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    if isinstance(value, np.ndarray):
        return ("array", value.shape, value.dtype.str, value.tobytes())
    try:
        hash(value)
        return value
    except TypeError:
        return repr(value)


def structure_key(pair: Any, case: Any) -> Tuple[Any, ...]:
    """The case's hyperparameters, dtype and input types (and shapes with ``shape_in_key``).

    A coarse description of a case (reports, grouping); whether two cases share a compiled
    function is decided by their Theano graphs (:func:`graph_key`), which merges hyperparameters
    that only change parameter shapes (``num_units``, ``num_filters``, ...).
    """
    # per declared axis: free (None), or fixed and broadcastable (1, as Lasagne's InputLayer
    # makes it) or not; the input variable's type depends on exactly that
    axes = tuple(tuple(None if d is None else d == 1 for d in s) for s in case.declared_shapes)
    key: Tuple[Any, ...] = (pair.name, case.dtype, _freeze(case.kwargs), axes)
    if pair.shape_in_key:
        key += (tuple(case.input_shapes),)
    return key


def _constant_key(var: Any) -> Any:
    """A hashable value equal for constants PyTensor's merge would treat as equal; the variable
    itself (identity) when its data cannot be hashed."""
    try:
        sig = var.signature()
        hash(sig)
        return ("constant", sig)
    except Exception:
        return ("object", var)


def graph_key(inputs: Sequence[Any], outputs: Sequence[Any]) -> Tuple[Any, ...]:
    """A hashable description of the graph from ``inputs`` (by position) to ``outputs``.

    Equal keys mean the same function of the inputs: every apply node is its op (PyTensor ops
    compare by their properties, as its own merge rewrite compares them) applied to earlier
    nodes' outputs, inputs (by position and type) or constants (by type and value). A variable
    that is neither (a shared variable left in the graph) enters by identity, so its graph is
    never shared with another.
    """
    from pytensor.graph.basic import Constant, io_toposort

    refs: Dict[Any, Any] = {}
    for i, v in enumerate(inputs):
        refs[v] = ("input", i, v.type)
    nodes = []
    for n, node in enumerate(io_toposort(list(inputs), list(outputs))):
        args = []
        for v in node.inputs:
            if v not in refs:
                refs[v] = _constant_key(v) if isinstance(v, Constant) else ("object", v)
            args.append(refs[v])
        for j, out in enumerate(node.outputs):
            refs[out] = ("node", n, j, out.type)
        nodes.append((node.op, tuple(args)))
    for v in outputs:
        if v not in refs:
            refs[v] = _constant_key(v) if isinstance(v, Constant) else ("object", v)
    return tuple(nodes), tuple(refs[v] for v in outputs)


def theano_graph(built: Built) -> Tuple[List[Any], Any, Tuple[Any, ...]]:
    """(inputs, output, graph key) of a built case: the layer's deterministic output as a function
    of its InputLayers' variables, then of symbolic stand-ins for its parameters (in order)."""
    import layers_theano as LT
    from layers_theano.backend import clone_replace, config

    params = LT.get_all_params(built.theano_layer)
    with config.change_flags(floatX=built.case.dtype):
        symbols = [p.type() for p in params]
        out = LT.get_output(built.theano_layer, deterministic=True)
        out = clone_replace(out, replace=dict(zip(params, symbols)))
    inputs = [getattr(i, "input_var", i) for i in built.theano_inputs] + symbols
    outputs = list(out) if isinstance(out, (list, tuple)) else [out]
    return inputs, out, graph_key(inputs, outputs)


_COMPILED: Dict[Tuple[Any, ...], Any] = {}
_STATS = {"compiles": 0, "hits": 0}


def compile_counts() -> Dict[str, int]:
    """How many Theano functions this process compiled for pair cases, and how many cases reused one."""
    return dict(_STATS)


def compiled_function(pair: Any, built: Built) -> Tuple[Any, bool, float]:
    """The Theano function of the case's graph: (fn, compiled_now, compile_seconds).

    Cases share one function when their graphs are equal (:func:`graph_key`) in the same dtype,
    whatever their shapes, weights and the hyperparameters that only set parameter shapes.
    """
    from layers_theano.backend import config, function

    start = time.perf_counter()
    inputs, out, gkey = theano_graph(built)
    key: Tuple[Any, ...] = (built.case.dtype, gkey)
    if pair.shape_in_key:
        key += (tuple(tuple(s) for s in built.case.input_shapes),)
    if key in _COMPILED:
        _STATS["hits"] += 1
        return _COMPILED[key], False, 0.0
    with config.change_flags(floatX=built.case.dtype):
        fn = function(inputs, out, on_unused_input="ignore")
    _COMPILED[key] = fn
    _STATS["compiles"] += 1
    return fn, True, time.perf_counter() - start


# ---------------------------------------------------------------------------
# evaluating
# ---------------------------------------------------------------------------
def run_theano(pair: Any, built: Built) -> Tuple[np.ndarray, bool, float, float]:
    """(Theano output, compiled_now, compile_seconds, call seconds) of a built case."""
    fn, compiled, compile_seconds = compiled_function(pair, built)
    args = [np.asarray(a) for a in built.inputs] + list(built.params)
    start = time.perf_counter()
    out = np.asarray(fn(*args))
    return out, compiled, compile_seconds, time.perf_counter() - start


def run_twin(twin: Any, twin_inputs: Sequence[Any], inputs: Sequence[np.ndarray]) -> Tuple[Any, float]:
    """(twin output, seconds): ``twin`` on ``inputs`` fed to its ``twin_inputs``."""
    start = time.perf_counter()
    with np.errstate(all="ignore"):  # overflow to inf is compared, not warned about
        out = twin({l: a for l, a in zip(twin_inputs, inputs)})
    return out, time.perf_counter() - start


def run(pair: Any, built: Built) -> Outputs:
    """Both sides on a built case."""
    theano, compiled, compile_seconds, theano_seconds = run_theano(pair, built)
    twin, twin_seconds = run_twin(built.twin, built.twin_inputs, built.inputs)
    return Outputs(theano, twin, theano_seconds, twin_seconds, compiled, compile_seconds)


# ---------------------------------------------------------------------------
# networks: every layer's output on both sides
# ---------------------------------------------------------------------------
_NETWORKS: "OrderedDict[Tuple[Any, ...], Any]" = OrderedDict()
_NETWORKS_KEPT = 4  # certify_network then attribute_network run one network: compile it once


def _network_function(inputs: Sequence[Any], outputs: Sequence[Any], dtype: str) -> Tuple[Any, float]:
    """(function, compile seconds) of every layer output of a network; the same network (same
    graph, same shared parameters) asked again soon after reuses the function (0 seconds)."""
    import layers_theano as LT
    from layers_theano.backend import config, function

    start = time.perf_counter()
    with config.change_flags(floatX=dtype):
        out = LT.get_output(list(outputs), deterministic=True)
        in_vars = [getattr(i, "input_var", i) for i in inputs]
        key = (dtype, graph_key(in_vars, list(out)))  # parameters are shared variables: by identity
        if key in _NETWORKS:
            _NETWORKS.move_to_end(key)
            return _NETWORKS[key], 0.0
        fn = function(in_vars, out, on_unused_input="ignore", mode=network_mode())
    _NETWORKS[key] = fn
    while len(_NETWORKS) > _NETWORKS_KEPT:
        _NETWORKS.popitem(last=False)
    return fn, time.perf_counter() - start


class NetworkRun:
    """The compiled Theano function of every layer output of a network, and its twin.

    :meth:`run` returns, per layer position, Theano's outputs, the twin's outputs (the twin
    run layer by layer) and each twin layer alone on Theano's arrays for its inputs
    (``layers_np.evaluate_layer``); a twin layer that raises has its exception recorded in
    place of its output.
    """

    def __init__(self, theano_output: Any, twin: Any = None, dtype: str = "float64") -> None:
        import layers_np as L
        import layers_theano as LT
        from layers_np.base import incoming_layers

        self.th_layers = LT.get_all_layers(theano_output)
        if twin is None:
            try:
                twin = LT.to_numpy(theano_output)
            except (TypeError, ValueError) as exc:
                raise NetworkError(f"cannot build the numpy twin: {exc}") from None
        self.twin = twin
        self.np_layers = L.get_all_layers(twin)
        if len(self.np_layers) != len(self.th_layers):
            raise NetworkError(f"the twin has {len(self.np_layers)} layers, the Theano network {len(self.th_layers)}")
        for i, (a, b) in enumerate(zip(self.th_layers, self.np_layers)):
            if isinstance(a, LT.InputLayer) != isinstance(b, L.InputLayer):
                raise NetworkError(f"layer {i}: Theano {type(a).__name__} vs twin {type(b).__name__}: "
                                   f"the twin is not the same network")
        self.inputs = [i for i, l in enumerate(self.th_layers) if isinstance(l, LT.InputLayer)]
        self.computed = [i for i, l in enumerate(self.th_layers) if not isinstance(l, LT.InputLayer)]
        self.fn, self.compile_seconds = _network_function([self.th_layers[i] for i in self.inputs],
                                                          [self.th_layers[i] for i in self.computed], dtype)
        # where each layer's inputs come from (positions in the layer list)
        pos = {id(l): i for i, l in enumerate(self.np_layers)}
        self._incoming = {i: incoming_layers(self.np_layers[i]) for i in self.computed}
        self.incoming = {i: [pos[id(c)] for c in self._incoming[i]] for i in self.computed}

    def alone(self, i: int, arrays: Mapping[int, Any]) -> Any:
        """Twin layer ``i`` on ``arrays`` (by position) for its inputs; an exception is returned, not raised."""
        from layers_np import evaluate_layer

        given = {}
        for j, incoming in zip(self.incoming[i], self._incoming[i]):
            if isinstance(arrays[j], BaseException):
                return arrays[j]
            given[incoming] = arrays[j]
        try:
            with np.errstate(all="ignore"):  # overflow to inf is compared, not warned about
                return evaluate_layer(self.np_layers[i], given)
        except Exception as exc:
            return exc

    def _check_input(self, i: int, array: np.ndarray) -> Any:
        """The twin InputLayer's own check (a loaded model also checks the dtype)."""
        layer = self.np_layers[i]
        if array.dtype.kind in "iu" and type(layer).__name__ == "InputLayer":
            return array  # the base twin InputLayer takes floats only; integer ids go to an EmbeddingLayer
        try:
            return layer.check_input(array)
        except Exception as exc:
            return exc

    def run(self, batch: Sequence[np.ndarray]) -> Tuple[Dict[int, np.ndarray], Dict[int, Any], Dict[int, Any], float, float]:
        """(Theano outputs, the twin's outputs, each twin layer alone on Theano's inputs, Theano
        seconds, twin seconds), keyed by layer position."""
        start = time.perf_counter()
        th_out = [np.asarray(a) for a in self.fn(*batch)]
        th_seconds = time.perf_counter() - start
        theano = {i: a for i, a in zip(self.inputs, batch)}
        theano.update(zip(self.computed, th_out))
        # The twin runs layer by layer (each layer once, as get_output does) so that a layer
        # raising is recorded against that layer and the layers fed by it, not the whole run.
        start = time.perf_counter()
        twin: Dict[int, Any] = {}
        for i, a in zip(self.inputs, batch):
            twin[i] = self._check_input(i, a)
        for i in self.computed:
            twin[i] = self.alone(i, twin)
        tw_seconds = time.perf_counter() - start
        alone = {i: self.alone(i, theano) for i in self.computed}
        return theano, twin, alone, th_seconds, tw_seconds
