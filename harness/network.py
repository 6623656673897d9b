"""Whole-network certification: every intermediate output of a Theano network against its twin.

One Theano function returns the output of every layer; the twin (``layers_theano.to_numpy``
of the same network, or a twin you pass, e.g. one loaded from an exported file) computes
the same layers on the same inputs, and each layer's output is compared with
:func:`harness.compare.compare_arrays`.

A layer can leave tolerance because its own numerics differ (a *local* error) or because
the difference it receives from the layers below is amplified (a *propagated* error). To
tell them apart each twin layer is also run alone on Theano's arrays for its inputs: if
that agrees with Theano, the layer itself is right.

>>> from harness.network import certify_network
>>> report = certify_network(layers_theano.zoo.mlp())
>>> report.ok, report.first_bad
(True, None)
>>> print(report.table())
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Tuple

import numpy as np

from .compare import Comparison, compare_arrays, fits_declared_shape
from .execute import NetworkError, NetworkRun
from .tolerance import Tolerance, default_tolerance

__all__ = ["certify_network", "NetworkReport", "LayerRow", "NetworkError", "network_dtype", "fuzz_inputs",
           "input_specs", "as_batches", "declared_shape_problem"]

FREE_DIM_RANGE = (2, 9)  # free non-batch axes (e.g. time) are drawn from [2, 9)
INT_INPUT_HIGH = 10      # integer inputs not feeding an embedding are drawn from [0, 10)


@dataclass
class LayerRow:
    """What certification saw at one layer, over every batch."""

    index: int
    name: str
    cls: str
    output_shape: Tuple[Optional[int], ...]
    ok: bool = True
    max_abs: float = 0.0
    max_rel: float = 0.0
    max_ulp: float = 0.0
    max_ratio: float = 0.0  # worst |diff| / allowed
    mismatches: int = 0
    size: int = 0
    local_ok: bool = True
    local_max_abs: float = 0.0
    local_max_ratio: float = 0.0
    reason: str = ""
    worst: str = ""

    @property
    def verdict(self) -> str:
        if self.ok:
            return "ok"
        return "LOCAL" if not self.local_ok else "propagated"

    def add(self, full: Comparison, local: Comparison, batch: int) -> None:
        self.size += full.size
        self.mismatches += full.mismatches
        self.max_abs = max(self.max_abs, full.max_abs)
        self.max_rel = max(self.max_rel, full.max_rel)
        self.max_ulp = max(self.max_ulp, full.max_ulp)
        if full.max_bound_ratio >= self.max_ratio or (not full.ok and self.ok):
            self.max_ratio = max(self.max_ratio, full.max_bound_ratio)
            if full.worst_index is not None:
                self.worst = (f"batch {batch} index {full.worst_index}: theano={full.theano_value!r}, "
                              f"twin={full.twin_value!r}")
        if not full.ok and self.ok:
            self.ok = False
            self.reason = full.reason
        self.local_max_abs = max(self.local_max_abs, local.max_abs)
        self.local_max_ratio = max(self.local_max_ratio, local.max_bound_ratio)
        if not local.ok:
            self.local_ok = False

    def as_dict(self) -> Dict[str, Any]:
        d = asdict(self)
        d["class"] = d.pop("cls")
        d["output_shape"] = "(" + ", ".join("None" if s is None else str(s) for s in self.output_shape) + ")"
        d["verdict"] = self.verdict
        return d


@dataclass
class NetworkReport:
    """Result of :func:`certify_network`.

    Attributes
    ----------
    ok : bool
        Every layer's output stayed within tolerance on every batch.
    rows : list of LayerRow
        One row per non-input layer, in topological order.
    first_bad : LayerRow or None
        The first layer (topological order) that left tolerance; its ``verdict`` says
        ``LOCAL`` (the layer alone on Theano's inputs disagrees) or ``propagated``.
    """

    ok: bool
    rows: List[LayerRow]
    dtype: str
    tolerance: str
    batches: int
    input_source: str
    input_shapes: List[List[Tuple[int, ...]]] = field(default_factory=list)
    compile_seconds: float = 0.0
    theano_seconds: float = 0.0
    twin_seconds: float = 0.0
    seed: int = 0
    # the node-by-node checks of graph-fallback layers (harness.graph_check.SubgraphCheck.summary)
    subgraphs: List[Dict[str, Any]] = field(default_factory=list)

    @property
    def first_bad(self) -> Optional[LayerRow]:
        return next((r for r in self.rows if not r.ok), None)

    @property
    def output_row(self) -> Optional[LayerRow]:
        return self.rows[-1] if self.rows else None

    def message(self) -> str:
        bad = self.first_bad
        if bad is None:
            out = self.output_row
            worst = max((r.max_ratio for r in self.rows), default=0.0)
            nodes = sum(g["nodes"] for g in self.subgraphs)
            graphs = (f"; {len(self.subgraphs)} graph-fallback layer(s) also agree node by node ({nodes} nodes)"
                      if self.subgraphs else "")
            return (f"certified: {len(self.rows)} layers agree on {self.batches} batches ({self.dtype}, {self.tolerance}); "
                    f"output max ulp {out.max_ulp if out else 0:.3g}, worst diff/allowed {worst:.3g}{graphs}")
        cause = ("its own numerics differ (the twin layer disagrees on Theano's inputs)" if not bad.local_ok else
                 "propagated: the layer agrees on Theano's inputs, the differences it receives are amplified")
        return (f"DISCREPANCY at layer {bad.index} {bad.name!r} ({bad.cls}): {bad.reason}; {cause}. "
                f"Max abs diff {bad.max_abs:.3g}, max ulp {bad.max_ulp:.3g}, {bad.mismatches}/{bad.size} elements "
                f"out of tolerance; worst at {bad.worst}")

    def to_frame(self) -> Any:
        import pandas as pd

        columns = ["index", "name", "class", "output_shape", "verdict", "max_abs", "max_rel", "max_ulp", "max_ratio",
                   "mismatches", "size", "local_ok", "local_max_abs", "local_max_ratio", "reason", "worst"]
        return pd.DataFrame([r.as_dict() for r in self.rows], columns=columns)

    def table(self) -> str:
        from tabulate import tabulate

        rows = [[r.index, r.name, r.cls, r.as_dict()["output_shape"], f"{r.max_abs:.3g}", f"{r.max_rel:.3g}",
                 f"{r.max_ulp:.3g}", f"{r.max_ratio:.3g}", r.mismatches, "ok" if r.local_ok else "FAIL", r.verdict]
                for r in self.rows]
        return tabulate(rows, headers=["#", "layer", "class", "output shape", "max abs", "max rel", "max ulp",
                                       "diff/allowed", "mismatches", "alone", "verdict"], tablefmt="github")

    def summary(self) -> Dict[str, Any]:
        """A JSON-able summary (this is what an export records as its certification)."""
        bad = self.first_bad
        out = self.output_row
        return {
            "verdict": "certified" if self.ok else "DISCREPANCY",
            "dtype": self.dtype, "tolerance": self.tolerance, "batches": self.batches,
            "input_source": self.input_source, "input_shapes": [[list(s) for s in b] for b in self.input_shapes],
            "seed": self.seed, "layers": len(self.rows),
            "output_max_abs": out.max_abs if out else 0.0, "output_max_ulp": out.max_ulp if out else 0.0,
            "worst_ratio": max((r.max_ratio for r in self.rows), default=0.0),
            "first_bad": None if bad is None else {"index": bad.index, "name": bad.name, "class": bad.cls,
                                                   "verdict": bad.verdict, "reason": bad.reason},
            "message": self.message(),
            **({"subgraphs": self.subgraphs} if self.subgraphs else {}),
        }


# ---------------------------------------------------------------------------
# inputs
# ---------------------------------------------------------------------------
def network_dtype(theano_output: Any) -> str:
    """The float dtype the Theano network computes in (its parameters' and float inputs' dtype)."""
    import layers_theano as LT

    layers = LT.get_all_layers(theano_output)
    dtypes = {str(p.dtype) for p in LT.get_all_params(theano_output)}
    dtypes |= {str(l.input_var.dtype) for l in layers if isinstance(l, LT.InputLayer)
               and str(l.input_var.dtype).startswith("float")}
    floats = {d for d in dtypes if d.startswith("float")}
    if len(floats) != 1:
        raise NetworkError(f"cannot tell the network's float dtype: parameters and inputs have dtypes {sorted(dtypes)}")
    return floats.pop()


def input_specs(theano_output: Any) -> List[Tuple[Any, Tuple[Optional[int], ...], str, Optional[int]]]:
    """(InputLayer, declared shape, dtype, integer upper bound or None) for each network input."""
    import layers_theano as LT

    layers = LT.get_all_layers(theano_output)
    specs = []
    for l in layers:
        if not isinstance(l, LT.InputLayer):
            continue
        dtype = str(l.input_var.dtype)
        high = None
        if not dtype.startswith("float"):
            sizes = [getattr(c, "input_size", None) for c in layers
                     if getattr(c, "input_layer", None) is l and type(c).__name__ == "EmbeddingLayer"]
            high = min([s for s in sizes if s] or [INT_INPUT_HIGH])
        specs.append((l, l.shape, dtype, high))
    return specs


def fuzz_inputs(theano_output: Any, rng: np.random.Generator, batch_size: int) -> List[np.ndarray]:
    """One batch: arrays for every InputLayer, free axes drawn (axis 0 is ``batch_size``).

    Free axes other than the batch are drawn once per batch and shared by every input
    declaring a free axis at that position (sequence inputs and their masks agree).
    """
    specs = input_specs(theano_output)
    free: Dict[int, int] = {0: batch_size}
    arrays = []
    for _, shape, dtype, high in specs:
        concrete = []
        for axis, d in enumerate(shape):
            if d is None:
                if axis not in free:
                    free[axis] = int(rng.integers(*FREE_DIM_RANGE))
                d = free[axis]
            concrete.append(d)
        if high is not None:
            arrays.append(rng.integers(0, high, size=concrete).astype(dtype))
        else:
            arrays.append(rng.standard_normal(concrete).astype(dtype))
    return arrays


def as_batches(theano_output: Any, inputs: Any) -> List[List[np.ndarray]]:
    """User samples (array or {InputLayer or name: array}) as one batch in InputLayer order."""
    specs = input_specs(theano_output)
    if isinstance(inputs, Mapping):
        by_id = {id(k): v for k, v in inputs.items() if not isinstance(k, str)}
        by_name = {k: v for k, v in inputs.items() if isinstance(k, str)}
        batch = []
        for layer, shape, dtype, _ in specs:
            if id(layer) in by_id:
                batch.append(by_id[id(layer)])
            elif layer.name in by_name:
                batch.append(by_name[layer.name])
            else:
                raise NetworkError(f"no sample input for InputLayer {layer.name!r} of shape {shape}")
        unknown = set(by_name) - {s[0].name for s in specs}
        if unknown:
            raise NetworkError(f"sample inputs name no InputLayer of the network: {sorted(unknown)}")
    else:
        if len(specs) != 1:
            raise NetworkError(f"the network has {len(specs)} InputLayers; give a dict {{input_layer: array}}")
        batch = [inputs]
    out = []
    for (layer, shape, dtype, _), value in zip(specs, batch):
        arr = np.asarray(value)
        label = f"InputLayer {layer.name!r}" if layer.name else "InputLayer"
        if arr.ndim != len(shape) or any(d is not None and d != a for d, a in zip(shape, arr.shape)):
            raise NetworkError(f"{label}: expected an array of shape {shape}, got {arr.shape}")
        if dtype.startswith("float"):
            if arr.dtype.kind not in "fiu":
                raise NetworkError(f"{label}: expected numbers, got dtype {arr.dtype}")
            arr = arr.astype(dtype)
        elif arr.dtype.kind not in "iu":
            raise NetworkError(f"{label}: expected integers ({dtype}), got dtype {arr.dtype}")
        else:
            arr = arr.astype(dtype)
        out.append(arr)
    return [out]


# ---------------------------------------------------------------------------
# certification
# ---------------------------------------------------------------------------
def _error_comparison(theano: np.ndarray, exc: BaseException, tol: Tolerance) -> Comparison:
    return Comparison(ok=False, reason=f"twin raised {type(exc).__name__}: {exc}", dtype=str(theano.dtype),
                      shape=tuple(theano.shape), size=int(theano.size), tolerance=str(tol),
                      max_bound_ratio=float("inf"))


def declared_shape_problem(declared: Any, actual: Tuple[int, ...]) -> str:
    """Why an array of shape ``actual`` does not fit the declared ``output_shape`` ("" if it does)."""
    declared = tuple(declared)
    if not fits_declared_shape(declared, actual):
        shown = "(" + ", ".join("None" if d is None else str(d) for d in declared) + ")"
        return f"the twin declares output_shape {shown}, Theano computed an array of shape {tuple(actual)}"
    return ""


def certify_network(theano_output: Any, inputs: Any = None, *, dtype: Optional[str] = None, n_batches: int = 3,
                    batch_size: int = 4, seed: int = 0, tolerance: Optional[Tolerance] = None,
                    twin: Any = None, fuzz: Optional[bool] = None,
                    node_checks: Optional[Mapping[int, Any]] = None) -> NetworkReport:
    """Compare every layer of a Theano network with its numpy twin.

    Parameters
    ----------
    theano_output : layers_theano Layer
        The network's output layer.
    inputs : None, array or dict, optional
        User samples: an array (one InputLayer) or ``{InputLayer or its name: array}``.
        ``None`` fuzzes ``n_batches`` batches of ``batch_size`` standard-normal samples (integer
        inputs feeding an EmbeddingLayer are drawn below its ``input_size``).
    dtype : str, optional
        The float dtype to certify; must be the network's (its parameters'). Default: the network's.
    n_batches, batch_size, seed : int
        Fuzzing: batches drawn from ``numpy.random.default_rng(seed)``; free axes other than
        the batch axis are drawn in ``FREE_DIM_RANGE``.
    tolerance : Tolerance, optional
        Default: ``harness.tolerance.default_tolerance(dtype)``.
    twin : layers_np Layer, optional
        The twin to certify (e.g. a model loaded from a file); default ``to_numpy(theano_output)``.
    fuzz : bool, optional
        Also fuzz when ``inputs`` are given (default: fuzz only without ``inputs``).
    node_checks : mapping, optional
        ``{id(Theano layer): check}`` run on every batch with Theano's values of that layer's
        inputs (``check.run(arrays)``); a check that fails (``check.verdict()``) fails the layer's
        row with its one-line message: :func:`harness.graph_check.fallback_checks` gives the
        node-by-node checks of the graph-fallback layers (``layers_np.GraphLayer``), so a
        divergence names the node.

    Every layer's declared ``output_shape`` (the twin's) must fit the array Theano computes.

    Returns
    -------
    NetworkReport
        Never raises on a discrepancy; raises :class:`NetworkError` on bad input.
    """
    net_dtype = network_dtype(theano_output)
    if dtype is not None and np.dtype(dtype).name != net_dtype:
        raise NetworkError(f"the network computes in {net_dtype}, cannot certify it in {np.dtype(dtype).name}: "
                           f"build it with floatX={np.dtype(dtype).name}")
    if n_batches < 0 or batch_size < 1:
        raise NetworkError(f"n_batches must be >= 0 and batch_size >= 1, got {n_batches} and {batch_size}")
    tol = tolerance if tolerance is not None else default_tolerance(net_dtype)
    batches: List[List[np.ndarray]] = []
    sources = []
    if inputs is not None:
        batches += as_batches(theano_output, inputs)
        sources.append("samples")
    if inputs is None or fuzz:
        rng = np.random.default_rng(seed)
        batches += [fuzz_inputs(theano_output, rng, batch_size) for _ in range(n_batches)]
        sources.append(f"fuzz(seed={seed})")
    if not batches:
        raise NetworkError("no input batches: give samples or n_batches >= 1")

    checker = NetworkRun(theano_output, twin, net_dtype)
    if not checker.computed:
        raise NetworkError("the network computes nothing (it is only InputLayers): there is nothing to certify")
    rows = {i: LayerRow(i, checker.np_layers[i].name or f"{type(checker.np_layers[i]).__name__.lower()}_{i}",
                        type(checker.th_layers[i]).__name__, tuple(checker.th_layers[i].output_shape))
            for i in checker.computed}
    th_total = tw_total = 0.0
    compared = 0  # output elements compared: an empty output on every batch proves nothing
    checks = {i: node_checks[id(checker.th_layers[i])] for i in checker.computed
              if node_checks and id(checker.th_layers[i]) in node_checks}
    for b, batch in enumerate(batches):
        theano, twin_out, alone, th_s, tw_s = checker.run(batch)
        th_total += th_s
        tw_total += tw_s
        out_shape = tuple(np.shape(theano[checker.computed[-1]]))
        compared += int(np.prod(out_shape, dtype=np.int64))
        for i in checker.computed:
            full = (_error_comparison(theano[i], twin_out[i], tol) if isinstance(twin_out[i], BaseException)
                    else compare_arrays(theano[i], twin_out[i], tol))
            local = (_error_comparison(theano[i], alone[i], tol) if isinstance(alone[i], BaseException)
                     else compare_arrays(theano[i], alone[i], tol))
            rows[i].add(full, local, b)
            problem = declared_shape_problem(checker.np_layers[i].output_shape, np.shape(theano[i]))
            if problem and rows[i].ok:
                rows[i].ok = rows[i].local_ok = False
                rows[i].reason = problem
            if i in checks:
                checks[i].run([theano[j] for j in checker.incoming[i]])
    subgraphs = []
    for i, check in checks.items():
        ok, local_ok, message = check.verdict()
        subgraphs.append(check.summary(rows[i].name))
        if not ok:
            rows[i].local_ok = rows[i].local_ok and local_ok
            note = f"graph fallback, node by node: {message}"
            rows[i].reason = note if rows[i].ok else f"{rows[i].reason}; {note}"
            rows[i].ok = False
    if compared == 0:
        raise NetworkError(f"the network's output is empty on every batch (shape {out_shape}): no value was "
                           "compared, so nothing is certified; give inputs for which it outputs values")
    ordered = [rows[i] for i in checker.computed]
    return NetworkReport(ok=all(r.ok for r in ordered), rows=ordered, dtype=net_dtype, tolerance=str(tol),
                         batches=len(batches), input_source=" + ".join(sources),
                         input_shapes=[[tuple(a.shape) for a in batch] for batch in batches],
                         compile_seconds=checker.compile_seconds, theano_seconds=th_total, twin_seconds=tw_total,
                         seed=seed, subgraphs=subgraphs)
