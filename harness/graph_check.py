"""Node-by-node certification of a converted graph (used by ``twins gate --graph`` and by the
graph fallback of a layer-level gate).

A converted graph (:func:`layers_theano.graph_export.convert`) is certified node by node:
PyTensor compiles the rewritten graph with every intermediate value as an output (as
Polygraphy marks all outputs), the numpy graph model (the bytes to publish, loaded back)
runs on the same inputs keeping every value, and each node's output is compared with
:func:`harness.compare.compare_arrays`. Each node is also run alone on PyTensor's values of
its inputs: a node that disagrees alone has a *local* error, one that agrees alone only
*propagates* the differences it receives. Inputs: fuzzed batches of the declared types
(free axes drawn, the batch axis given; integer inputs below the size of the table they
index) plus the user's samples.

:func:`fallback_checks` applies the same check to each ``layers_np.GraphLayer`` of a layer
network (an ExpressionLayer or a custom layer exported through the graph fallback), on the
values the Theano network feeds that layer: :func:`harness.network.certify_network` runs it
beside the layer's own comparison, so a divergence names the node.
"""
from __future__ import annotations

import time
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from .compare import Comparison, compare_arrays
from .execute import NetworkError, compile_graph_reference
from .network import FREE_DIM_RANGE, INT_INPUT_HIGH, LayerRow, NetworkReport
from .tolerance import Tolerance, default_tolerance

__all__ = ["certify_graph", "GraphCheck", "GraphReport", "graph_input_bounds", "fuzz_graph_inputs", "FREE_DIM_RANGE",
           "fallback_checks", "SubgraphCheck"]


class GraphReport(NetworkReport):
    """A :class:`harness.network.NetworkReport` whose rows are node values."""

    def message(self) -> str:
        bad = self.first_bad
        if bad is None:
            out = self.output_row
            worst = max((r.max_ratio for r in self.rows), default=0.0)
            return (f"certified: {len(self.rows)} node values agree on {self.batches} batches ({self.dtype}, "
                    f"{self.tolerance}); output max ulp {out.max_ulp if out else 0:.3g}, worst diff/allowed {worst:.3g}")
        cause = ("local: the numpy kernel disagrees on PyTensor's inputs" if not bad.local_ok else
                 "propagated: the kernel agrees on PyTensor's inputs, the differences it receives are amplified")
        return (f"DISCREPANCY at node {bad.index} {bad.name!r} ({bad.cls}): {bad.reason}; {cause}. "
                f"Max abs diff {bad.max_abs:.3g} (alone {bad.local_max_abs:.3g}), max ulp {bad.max_ulp:.3g}, "
                f"{bad.mismatches}/{bad.size} elements out of tolerance; worst at {bad.worst}")


def graph_input_bounds(converted: Any, model: Any = None) -> List[Optional[int]]:
    """Exclusive upper bounds of integer inputs: the converter's (embedding sizes), else the rows of
    the stored table an input indexes (AdvancedSubtensor1, through reshapes), else INT_INPUT_HIGH."""
    spec = converted.spec["graph"]
    values = spec["values"]
    arrays = converted.arrays
    producers = {}
    for node in spec["nodes"]:
        for o in node["outputs"]:
            producers[o["name"]] = node
    consumers: Dict[str, List[Any]] = {}
    for node in spec["nodes"]:
        for i in node["inputs"]:
            consumers.setdefault(i, []).append(node)
    highs = []
    for k, entry in enumerate(spec["inputs"]):
        high = converted.input_highs[k] if k < len(converted.input_highs) else None
        if high is None and np.dtype(entry["dtype"]).kind in "iu":
            frontier, seen, found = [entry["name"]], set(), []
            while frontier:
                name = frontier.pop()
                if name in seen:
                    continue
                seen.add(name)
                for node in consumers.get(name, []):
                    if node["op"] == "AdvancedSubtensor1" and node["inputs"][1] == name and node["inputs"][0] in values:
                        found.append(arrays[values[node["inputs"][0]]].shape[0])
                    elif node["op"] in ("Reshape", "DimShuffle", "Unbroadcast", "SpecifyShape", "Subtensor") \
                            and node["inputs"][0] == name:
                        frontier.append(node["outputs"][0]["name"])
            high = min(found) if found else None
        highs.append(high if high is not None else (INT_INPUT_HIGH if np.dtype(entry["dtype"]).kind in "iu" else None))
    return highs


def fuzz_graph_inputs(inputs: Sequence[Dict[str, Any]], highs: Sequence[Optional[int]], rng: np.random.Generator,
                      batch_size: int, like: Optional[Sequence[np.ndarray]] = None) -> List[np.ndarray]:
    """One batch for a graph's declared inputs: axis 0 free -> ``batch_size``, other free axes drawn
    once per batch (shared by position), or taken from the sample arrays ``like`` when given (a raw
    graph's free axes may have to match its weights); integers below their bound, floats standard normal."""
    free: Dict[int, int] = {0: batch_size}
    out = []
    for k, (entry, high) in enumerate(zip(inputs, highs)):
        shape = []
        for axis, d in enumerate(entry["shape"]):
            if d is None and axis > 0 and like is not None:
                d = int(np.shape(like[k])[axis])
            if d is None:
                if axis not in free:
                    free[axis] = int(rng.integers(*FREE_DIM_RANGE))
                d = free[axis]
            shape.append(d)
        dtype = np.dtype(entry["dtype"])
        if dtype.kind in "iu":
            out.append(rng.integers(0, high or INT_INPUT_HIGH, size=shape).astype(dtype))
        elif dtype.kind == "b":
            out.append(rng.integers(0, 2, size=shape).astype(dtype))
        else:
            out.append(rng.standard_normal(shape).astype(dtype))
    return out


def _error(theano: np.ndarray, exc: BaseException, tol: Tolerance) -> Comparison:
    return Comparison(ok=False, reason=f"numpy raised {type(exc).__name__}: {exc}", dtype=str(theano.dtype),
                      shape=tuple(theano.shape), size=int(theano.size), tolerance=str(tol), max_bound_ratio=float("inf"))


def _op_label(node: Any) -> str:
    text = str(node.op)
    return text if len(text) <= 60 else text[:57] + "..."


class GraphCheck:
    """The node-by-node comparison of one converted graph, compiled once and run on any number of batches.

    Parameters
    ----------
    converted : layers_theano.graph_export.Converted
        The conversion (its rewritten FunctionGraph is the reference).
    model : layers_np.graph.GraphModel, optional
        The model to certify (e.g. loaded from the bytes to publish); default: built from ``converted``.
    tolerance : Tolerance, optional
        Default: each value's own dtype's (:func:`harness.tolerance.default_tolerance`).
    """

    def __init__(self, converted: Any, model: Any = None, tolerance: Optional[Tolerance] = None) -> None:
        from layers_np.graph import GraphModel

        self.converted = converted
        self.model = model if model is not None else GraphModel(converted.spec, converted.arrays)
        self.tolerance = tolerance
        # reference: every node output of the rewritten graph, as one compiled function
        self.checked = []  # (apply node, output index, value name, node name)
        for node, entry in zip(converted.nodes, converted.spec["graph"]["nodes"]):
            if self.model.undefined_content(entry["name"]):
                continue
            for j, out in enumerate(node.outputs):
                self.checked.append((node, j, converted.names[out], entry["name"]))
        if not self.checked:
            raise NetworkError("the graph computes nothing: there is nothing to certify")
        # an IncSubtensor setting a region of an AllocEmpty buffer (Scan's output buffers): only that
        # region is defined in PyTensor, the rest is whatever memory held
        self.spec_nodes = {e["name"]: e for e in converted.spec["graph"]["nodes"]}
        producer = {o["name"]: e for e in converted.spec["graph"]["nodes"] for o in e["outputs"]}
        self.partial = {e["name"] for e in self.spec_nodes.values()
                        if e["op"] == "IncSubtensor" and e["attrs"].get("set_instead_of_inc")
                        and producer.get(e["inputs"][0], {}).get("op") == "AllocEmpty"}
        self.fn, self.compile_seconds = compile_graph_reference(converted.inputs,
                                                                [n.outputs[j] for n, j, _, _ in self.checked])
        self.rows = [LayerRow(i, value, _op_label(node), ()) for i, (node, _, value, _) in enumerate(self.checked)]
        self.theano_seconds = self.twin_seconds = 0.0
        self.compared = 0
        self.nonfinite: List[str] = []
        self.input_shapes: List[List[Tuple[int, ...]]] = []

    def _tolerance(self, ref: np.ndarray) -> Tolerance:
        if self.tolerance is not None:
            return self.tolerance
        return default_tolerance(ref.dtype.name if ref.dtype.kind == "f" else self.converted.dtype)

    def run(self, batch: Sequence[np.ndarray]) -> bool:
        """Compare every value on one batch (one array per input); returns whether all agreed on it."""
        from layers_np.base import TwinError
        from layers_np.graph.ops import written_region

        model = self.model
        b = len(self.input_shapes)
        arrays = model.check_inputs(batch)
        self.input_shapes.append([tuple(a.shape) for a in arrays])
        t0 = time.perf_counter()
        try:
            reference = [np.asarray(v) for v in self.fn(*arrays)]
        except Exception as exc:  # PyTensor itself refuses these inputs: they do not fit the graph
            shapes = ", ".join(f"{e['name']}{tuple(a.shape)}" for e, a in zip(model.inputs, arrays))
            first = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
            raise NetworkError(f"PyTensor cannot run the graph on inputs {shapes} ({first}); declare the free input "
                               f"dimensions that must match (static shapes, e.g. TensorType('float32', shape=(None, 3))) "
                               f"or give samples (--inputs)") from None
        self.theano_seconds += time.perf_counter() - t0
        ref_by_name = {value: reference[i] for i, (_, _, value, _) in enumerate(self.checked)}
        t0 = time.perf_counter()
        failure: Optional[BaseException] = None
        try:
            ours: Dict[str, Any] = model.run(arrays, keep_all=True)
        except TwinError as exc:
            ours, failure = {}, exc
        self.twin_seconds += time.perf_counter() - t0
        known = dict(zip((e["name"] for e in model.inputs), arrays))
        out_names = set(model.output_names)
        all_ok = True
        for i, (node, j, value, node_name) in enumerate(self.checked):
            ref = reference[i]
            if b == 0:
                self.rows[i].output_shape = tuple(ref.shape)
            mine = ours.get(value, failure or TwinError(f"{value} was not computed"))
            in_names, _ = model.node_io(node_name)
            ins: Any
            try:
                ins = [ref_by_name[n] if n in ref_by_name else known[n] if n in known else ours[n] for n in in_names]
            except KeyError as exc:
                ins = exc
            region: Any = Ellipsis
            if node_name in self.partial and not isinstance(ins, BaseException):
                region = written_region(self.spec_nodes[node_name]["attrs"], ins[2:])
            ref_r = ref[region]
            tol = self._tolerance(ref)
            full = _error(ref_r, mine, tol) if isinstance(mine, BaseException) else \
                compare_arrays(ref_r, np.asarray(mine)[region], tol)
            try:
                if isinstance(ins, BaseException):
                    raise ins
                alone = model.run_node(node_name, ins)[j]
                local = compare_arrays(ref_r, alone[region], tol)
            except (TwinError, KeyError, ValueError, IndexError, TypeError) as exc:
                local = _error(ref_r, exc, tol)
            self.rows[i].add(full, local, b)
            all_ok = all_ok and full.ok
            if value in out_names:
                self.compared += int(ref.size)
                if ref.dtype.kind == "f" and not np.isfinite(ref).all() and value not in self.nonfinite:
                    self.nonfinite.append(value)
        return all_ok

    def report(self, input_source: str, seed: int = 0) -> GraphReport:
        """The report over every batch run so far."""
        if self.compared == 0:
            raise NetworkError("the graph's outputs are empty on every batch: no value was compared, "
                               "nothing is certified")
        tol = self.tolerance if self.tolerance is not None else default_tolerance(self.converted.dtype)
        report = GraphReport(ok=all(r.ok for r in self.rows), rows=self.rows, dtype=self.converted.dtype,
                             tolerance=str(tol), batches=len(self.input_shapes), input_source=input_source,
                             input_shapes=self.input_shapes, compile_seconds=self.compile_seconds,
                             theano_seconds=self.theano_seconds, twin_seconds=self.twin_seconds, seed=seed)
        report.nonfinite_outputs = list(self.nonfinite)  # the reference's outputs with NaN/Inf (a gate refuses them)
        return report


def certify_graph(converted: Any, model: Any = None, samples: Optional[List[np.ndarray]] = None, *,
                  n_batches: int = 3, batch_size: int = 4, seed: int = 0,
                  tolerance: Optional[Tolerance] = None) -> GraphReport:
    """Compare every node value of the numpy graph model with PyTensor's, on fuzzed batches and samples.

    Parameters
    ----------
    converted : layers_theano.graph_export.Converted
        The conversion (its rewritten FunctionGraph is the reference).
    model : layers_np.graph.GraphModel, optional
        The model to certify (e.g. loaded from the bytes to publish); default: built from ``converted``.
    samples : list of arrays, optional
        One user batch (one array per input), certified before the fuzzed ones.
    n_batches, batch_size, seed : int
        Fuzzed batches from ``numpy.random.default_rng(seed)`` (:func:`fuzz_graph_inputs`).

    Returns
    -------
    GraphReport
        Never raises on a discrepancy; raises :class:`NetworkError` on bad input.
    """
    check = GraphCheck(converted, model, tolerance)
    sources = []
    if samples is None and not n_batches:
        raise NetworkError("no input batches: give samples or n_batches >= 1")
    if samples is not None:
        check.run([np.asarray(s) for s in samples])
        sources.append("samples")
    if n_batches:
        rng = np.random.default_rng(seed)
        highs = graph_input_bounds(converted)
        for _ in range(n_batches):
            check.run(fuzz_graph_inputs(check.model.inputs, highs, rng, batch_size, samples))
        sources.append(f"fuzz(seed={seed})")
    return check.report(" + ".join(sources), seed)


# ---------------------------------------------------------------------------
# the graph fallback of a layer network
# ---------------------------------------------------------------------------
class SubgraphCheck:
    """The node-by-node check of one ``layers_np.GraphLayer`` against its Theano layer.

    The Theano layer is converted again (:func:`layers_theano.graph_fallback.layer_graph`, the
    conversion the export made) and compiled with every node value as an output; each batch's
    inputs are the values the Theano network feeds the layer, then the Theano layer's parameters.
    The GraphLayer's graph (e.g. loaded from the bytes to publish) must have the conversion's
    nodes, names and ops; its values are compared node by node with :class:`GraphCheck`.

    Parameters
    ----------
    theano_layer : layers_theano Layer
    twin_layer : layers_np.GraphLayer
    tolerance : Tolerance, optional
        The network's tolerance (default: each value's dtype's).
    """

    def __init__(self, theano_layer: Any, twin_layer: Any, tolerance: Optional[Tolerance] = None) -> None:
        from layers_theano.graph_export import GraphConversionError
        from layers_theano.graph_fallback import layer_graph, layer_label

        self.label = layer_label(theano_layer)
        self.params = list(theano_layer.get_params())
        self.problem = ""
        self.error = ""
        self.check: Optional[GraphCheck] = None
        self.nodes = 0
        model = twin_layer.graph_model
        try:
            converted = layer_graph(theano_layer)
        except GraphConversionError as exc:
            self.problem = f"the Theano layer does not convert: {exc}"
            return
        expected = [(e["name"], e["op"]) for e in converted.spec["graph"]["nodes"]]
        found = list(zip(model.node_names, model.node_ops))
        self.nodes = len(expected)
        if found != expected:
            k = next((k for k, (a, b) in enumerate(zip(found, expected)) if a != b), min(len(found), len(expected)))
            shown = lambda nodes: f"{nodes[k][0]!r} ({nodes[k][1]})" if k < len(nodes) else "nothing"  # noqa: E731
            self.problem = (f"its graph is not the conversion of the Theano layer: node {k} is {shown(found)}, the "
                            f"conversion has {shown(expected)}")
            return
        if converted.nodes:
            self.check = GraphCheck(converted, model, tolerance)

    def run(self, inputs: Sequence[np.ndarray]) -> None:
        """Compare every node on one batch: ``inputs`` are Theano's values of the layer's incoming layers."""
        if self.check is None or self.error:
            return
        try:
            self.check.run(list(inputs) + [np.asarray(p.get_value()) for p in self.params])
        except NetworkError as exc:
            self.error = str(exc)
        except Exception as exc:  # e.g. the graph's declared input dtypes refuse the network's values
            self.error = f"{type(exc).__name__}: {exc}"

    def verdict(self) -> Tuple[bool, bool, str]:
        """(ok, local_ok: False when a node's own kernel disagrees, one line naming the first bad node)."""
        if self.problem or self.error:
            return False, False, self.problem or self.error
        if self.check is None:
            return True, True, "no nodes"
        report = self.check.report("the network's values")
        bad = report.first_bad
        return report.ok, bad is None or bad.local_ok, report.message()

    def summary(self, name: str) -> Dict[str, Any]:
        ok, _, message = self.verdict()
        return {"layer": name, "source": self.label, "nodes": self.nodes,
                "verdict": "certified" if ok else "DISCREPANCY", "message": message}


def fallback_checks(theano_output: Any, twin: Any, tolerance: Optional[Tolerance] = None) -> Dict[int, SubgraphCheck]:
    """``{id(Theano layer): SubgraphCheck}`` for each ``layers_np.GraphLayer`` of ``twin`` (the graph
    fallback of an ExpressionLayer or custom layer), for :func:`harness.network.certify_network`."""
    import layers_np as L
    import layers_theano as LT

    th_layers = LT.get_all_layers(theano_output)
    np_layers = L.get_all_layers(twin)
    if len(th_layers) != len(np_layers):
        return {}  # not the same network: certify_network says so
    return {id(a): SubgraphCheck(a, b, tolerance) for a, b in zip(th_layers, np_layers) if isinstance(b, L.GraphLayer)}
