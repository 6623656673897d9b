"""Graph models: a converted PyTensor function run by numpy, one kernel per node.

The spec (stored in the ``__spec__`` of a model file, ``"kind": "graph"``) lists the graph's
inputs (name, declared shape with ``null`` for free axes, dtype), its outputs (value names),
its stored values (constants and shared variables: ``{name: array key}``) and its nodes in
topological order: ``{"name", "op", "attrs", "inputs": [value names], "outputs": [{"name",
"dtype", "ndim"}]}``. Ops come from one allow-list (:data:`layers_np.graph.ops.OPS`);
attributes are data (numbers, strings, lists and nested graph descriptions), never code.

Loading validates the whole spec and builds every node's kernel once (a bad file fails with
one line naming the node, before any input is seen); a call runs the kernels in order, casts
every result to its declared dtype and frees each value after its last use, unless it was
asked for (:meth:`GraphModel.run` returns any intermediates by name).
"""
from __future__ import annotations

import io as _pyio
import json
import threading
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from ..base import TwinError
from ..io import (FORMAT_NAME, FORMAT_VERSION, SPEC_KEY, Limits, SpecError, array_digest,
                  little_endian, open_model)
from ..atomic import atomic_savez
from .ops import OPS, UNDEFINED_CONTENT, NodeInfo, interpreted
from .runtime import MAX_RUNTIMES, GraphRuntime, build_graph_runtime, signature
from .scalar import DTYPES, MAX_DEPTH, GraphSpecError

__all__ = ["GraphModel", "load_graph", "loads_graph", "save_graph", "dumps_graph", "validate_graph_spec",
           "GRAPH_KIND", "MAX_NODES"]

GRAPH_KIND = "graph"
MAX_NODES = 200_000
_MAX_NAME = 200


def _check_name(name: Any, where: str) -> str:
    if not isinstance(name, str) or not name or len(name) > _MAX_NAME:
        raise GraphSpecError(f"{where}: a value name must be a non-empty string of at most {_MAX_NAME} characters")
    return name


class _Plan:
    """One graph (the model's, or a Scan's inner one) with its kernels built and its slots resolved."""

    def __init__(self, graph: Any, arrays: Mapping[str, np.ndarray], where: str, depth: int = 0) -> None:
        if depth > MAX_DEPTH:
            raise GraphSpecError(f"{where}: graphs nested deeper than {MAX_DEPTH}")
        if not isinstance(graph, dict):
            raise GraphSpecError(f"{where}: the graph must be an object")
        inputs, nodes, outputs = graph.get("inputs"), graph.get("nodes"), graph.get("outputs")
        values = graph.get("values", {})
        if (not isinstance(inputs, list) or not isinstance(nodes, list) or not isinstance(outputs, list)
                or not isinstance(values, dict)):
            raise GraphSpecError(f"{where}: a graph needs lists 'inputs', 'nodes', 'outputs' and a dict 'values'")
        if len(nodes) > MAX_NODES:
            raise GraphSpecError(f"{where}: {len(nodes)} nodes, more than {MAX_NODES}")
        self.slots: Dict[str, int] = {}
        self.dtypes: List[Optional[np.dtype]] = []
        self.ndims: List[Optional[int]] = []
        self.input_names: List[str] = []
        for entry in inputs:
            name = entry.get("name") if isinstance(entry, dict) else entry
            dtype = entry.get("dtype") if isinstance(entry, dict) else None
            ndim = entry.get("ndim") if isinstance(entry, dict) else None
            if dtype is not None and dtype not in DTYPES:
                raise GraphSpecError(f"{where}: input {str(name)[:60]!r} has a bad dtype {str(dtype)[:30]!r}")
            if ndim is not None and (isinstance(ndim, bool) or not isinstance(ndim, int) or not 0 <= ndim <= 64):
                raise GraphSpecError(f"{where}: input {str(name)[:60]!r} has a bad ndim")
            self.input_names.append(self._define(name, where, None if dtype is None else np.dtype(dtype), ndim))
        self.stored: List[Tuple[int, np.ndarray]] = []
        for name, key in values.items():
            if not isinstance(key, str) or key not in arrays:
                raise GraphSpecError(f"{where}: value {str(name)[:60]!r} names no stored array ({str(key)[:60]!r})")
            arr = arrays[key].view()
            arr.flags.writeable = False  # kernels never write into weights; a view keeps the caller's array as is
            slot = self.slots[self._define(name, where, arr.dtype, arr.ndim)]
            self.stored.append((slot, arr))
        self.steps: List[Tuple[Any, List[int], List[int], List[np.dtype], str]] = []
        self.node_names: List[str] = []
        self.node_ops: List[str] = []
        self.node_attrs: List[Dict[str, Any]] = []
        self.node_infos: List[NodeInfo] = []
        # planned runtimes (layers_np.graph.runtime), one per input signature, mode and thread
        self.runtimes: Dict[Tuple[Any, ...], GraphRuntime] = {}
        self._lock = threading.Lock()
        for index, node in enumerate(nodes):
            self._add_node(index, node, arrays, where, depth)
        self.outputs: List[int] = []
        for name in outputs:
            if name not in self.slots:
                raise GraphSpecError(f"{where}: output {str(name)[:60]!r} is not a value of the graph")
            self.outputs.append(self.slots[name])
        self.names = list(self.slots)
        # the step after which each slot is read for the last time (freed then unless kept)
        last: Dict[int, int] = {}
        for k, (_, ins, _, _, _) in enumerate(self.steps):
            for i in ins:
                last[i] = k
        self.frees: List[List[int]] = [[] for _ in self.steps]
        stored = {slot for slot, _ in self.stored}
        for slot, k in last.items():
            if slot not in stored and slot not in self.outputs:
                self.frees[k].append(slot)

    def _define(self, name: Any, where: str, dtype: Optional[np.dtype], ndim: Optional[int]) -> str:
        name = _check_name(name, where)
        if name in self.slots:
            raise GraphSpecError(f"{where}: value {name[:60]!r} is defined twice")
        self.slots[name] = len(self.slots)
        self.dtypes.append(dtype)
        self.ndims.append(ndim)
        return name

    def _add_node(self, index: int, node: Any, arrays: Mapping[str, np.ndarray], where: str, depth: int) -> None:
        if not isinstance(node, dict) or not isinstance(node.get("op"), str):
            raise GraphSpecError(f"{where} node {index}: needs 'name', 'op', 'attrs', 'inputs' and 'outputs'")
        name = node.get("name")
        label = f"{where} node {index} {str(name)[:60]!r} ({node['op'][:60]})"
        _check_name(name, label)
        attrs, ins, outs = node.get("attrs", {}), node.get("inputs"), node.get("outputs")
        if not isinstance(attrs, dict) or not isinstance(ins, list) or not isinstance(outs, list) or not outs:
            raise GraphSpecError(f"{label}: 'attrs' must be an object, 'inputs' a list, 'outputs' a non-empty list")
        entry = OPS.get(node["op"])
        if entry is None:
            raise GraphSpecError(f"{label}: unknown op {node['op'][:60]!r} (not in the allow-list of layers_np.graph)")
        extra = sorted(k for k in attrs if k not in entry.attrs) if isinstance(attrs, dict) else []
        if extra:
            raise GraphSpecError(f"{label}: {entry.name} has no attribute {str(extra[0])[:40]!r}")
        lo, hi = entry.inputs if entry.inputs is not None else (0, None)
        if len(ins) < lo or (hi is not None and len(ins) > hi):
            raise GraphSpecError(f"{label}: {entry.name} takes {lo}..{hi if hi is not None else 'n'} inputs, "
                                 f"got {len(ins)}")
        if entry.outputs >= 0 and len(outs) != entry.outputs:
            raise GraphSpecError(f"{label}: {entry.name} has {entry.outputs} outputs, the node lists {len(outs)}")
        in_slots = []
        for i in ins:
            if i not in self.slots:
                raise GraphSpecError(f"{label}: input {str(i)[:60]!r} is not defined before the node")
            in_slots.append(self.slots[i])
        out_dtypes, out_ndims = [], []
        for out in outs:
            if (not isinstance(out, dict) or out.get("dtype") not in DTYPES or isinstance(out.get("ndim"), bool)
                    or not isinstance(out.get("ndim"), int) or not 0 <= out["ndim"] <= 64):
                raise GraphSpecError(f"{label}: an output must be {{'name', 'dtype', 'ndim'}}, got {str(out)[:80]}")
            out_dtypes.append(np.dtype(out["dtype"]))
            out_ndims.append(out["ndim"])
        info = NodeInfo(label, [self.dtypes[s] for s in in_slots], [self.ndims[s] for s in in_slots],
                        out_dtypes, out_ndims, depth,
                        build_graph=lambda g, w, d=depth: _Plan(g, arrays, w, d + 1))
        if any(d is None for d in info.in_ndims):
            info.in_ndims = [d if d is not None else 0 for d in info.in_ndims]
        kernel = entry.factory(attrs, info)
        out_slots = [self.slots[self._define(o.get("name"), label, dt, nd)]
                     for o, dt, nd in zip(outs, out_dtypes, out_ndims)]
        self.steps.append((kernel, in_slots, out_slots, out_dtypes, label))
        self.node_names.append(name)
        self.node_ops.append(entry.name)
        self.node_attrs.append(attrs)
        self.node_infos.append(info)

    def planned(self, inputs: Sequence[np.ndarray], keep: bool = False,
                fresh_outputs: bool = True) -> Tuple[GraphRuntime, List[Any]]:
        """(the runtime planned for these inputs' signature, every slot's value of this call).

        ``keep``: every value is kept and is a new array per call; otherwise values are freed
        after their last reader and intermediates live in the runtime's buffers. The first call
        of a signature plans (interpreting the graph once); later ones run the plan.
        """
        key = signature(inputs, (2 if keep else 0) + (1 if fresh_outputs else 0))
        rt = self.runtimes.get(key)
        if rt is not None:
            return rt, rt.run(inputs)
        rt, values = build_graph_runtime(self, inputs, keep, fresh_outputs)
        with self._lock:
            while len(self.runtimes) >= MAX_RUNTIMES:
                self.runtimes.pop(next(iter(self.runtimes)))
            self.runtimes[key] = rt
        return rt, values

    def execute(self, inputs: Sequence[np.ndarray], keep: Optional[set] = None,
                stop: Optional[int] = None) -> List[Any]:
        """Run the graph node by node, interpreted; returns every slot's value (freed slots are None
        unless in ``keep``). The planned runtime's trace; :meth:`planned` is what calls run."""
        with interpreted():
            return self._execute(inputs, keep, stop)

    def _execute(self, inputs: Sequence[np.ndarray], keep: Optional[set] = None,
                 stop: Optional[int] = None) -> List[Any]:
        values: List[Any] = [None] * len(self.slots)
        for k, x in enumerate(inputs):
            values[k] = x
        for slot, arr in self.stored:
            values[slot] = arr
        for k, (kernel, ins, outs, dtypes, label) in enumerate(self.steps[:stop]):
            try:
                results = kernel(*(values[i] for i in ins))
            except TwinError:
                raise
            except (ValueError, IndexError, TypeError, MemoryError, FloatingPointError) as exc:
                raise TwinError(f"{label}: {type(exc).__name__}: {exc}") from None
            for slot, value, dt in zip(outs, results, dtypes):
                value = np.asarray(value)
                values[slot] = value if value.dtype == dt else value.astype(dt)
            if keep is None or keep is not True:
                for slot in self.frees[k]:
                    if keep is None or slot not in keep:
                        values[slot] = None
        return values


def validate_graph_spec(spec: Dict[str, Any], label: str) -> None:
    """The graph part of a model file's spec (the common part is :mod:`layers_np.io`'s)."""
    graph = spec["graph"]  # io checked the kind and that the graph is an object
    declared = [e["name"] for e in spec["inputs"]]
    inner = [e.get("name") if isinstance(e, dict) else e for e in graph.get("inputs", [])] \
        if isinstance(graph.get("inputs"), list) else None
    if inner != declared:
        raise SpecError(label, "the graph's inputs differ from the spec's 'inputs'")


def _owned(v: np.ndarray, slot: int, inputs: Sequence[np.ndarray]) -> np.ndarray:
    """``v`` as an array the caller owns: a view (of a runtime buffer, a weight, an input or another
    value), a folded or stored value (read-only) or one of the caller's inputs is copied."""
    if v.flags.owndata and v.flags.writeable and slot >= len(inputs) and not any(v is a for a in inputs):
        return v
    return v.copy()


class GraphModel:
    """A converted Theano/PyTensor function, run by numpy.

    >>> model = layers_np.load_graph("model.npz")
    >>> y = model(X)                                   # the function's output(s)
    >>> values = model.run([X], names=["Dot22_3"])     # any intermediate, by name

    Attributes
    ----------
    inputs : list of dict
        Name, declared shape (None for free axes) and dtype of each input, in call order.
    output_names : list of str
        The names of the function's outputs.
    node_names, node_ops : list of str
        Every node's name and op, in execution order.
    """

    def __init__(self, spec: Dict[str, Any], arrays: Mapping[str, np.ndarray], label: str = "<graph>") -> None:
        try:
            self._plan = _Plan(spec["graph"], arrays, "graph")
        except GraphSpecError as exc:
            raise SpecError(label, str(exc)) from None
        self.spec = spec
        self.label = label
        self.inputs = [dict(e) for e in spec["inputs"]]
        self.output_names = list(spec["graph"]["outputs"])
        self.node_names = list(self._plan.node_names)
        self.node_ops = list(self._plan.node_ops)
        self.dtype = spec.get("dtype")
        self.certification = spec.get("certification")

    # -- inputs ------------------------------------------------------------
    def check_inputs(self, xs: Sequence[Any]) -> List[np.ndarray]:
        """The inputs as arrays of the declared dtypes (integers any integer dtype, floats no downcast),
        or a TwinError naming the input whose shape or dtype does not fit."""
        if len(xs) != len(self.inputs):
            raise TwinError(f"the graph takes {len(self.inputs)} inputs "
                            f"({', '.join(e['name'] for e in self.inputs)}), got {len(xs)}")
        out = []
        for x, entry in zip(xs, self.inputs):
            arr = np.asarray(x)
            shape, dtype = entry["shape"], np.dtype(entry.get("dtype", self.dtype))
            if arr.ndim != len(shape) or any(d is not None and d != a for d, a in zip(shape, arr.shape)):
                raise TwinError(f"input {entry['name']!r}: expected shape "
                                f"({', '.join('None' if d is None else str(d) for d in shape)}), got {arr.shape}")
            if arr.dtype != dtype:
                # as a compiled Theano function: integers accept any integer dtype, floats no downcast
                if dtype.kind in "iu" and arr.dtype.kind in "iu":
                    arr = arr.astype(dtype)
                elif dtype.kind == "f" and (arr.dtype.kind in "iub" or (arr.dtype.kind == "f"
                                                                       and arr.dtype.itemsize < dtype.itemsize)):
                    arr = arr.astype(dtype)
                else:
                    raise TwinError(f"input {entry['name']!r}: expected dtype {dtype}, got {arr.dtype}")
            out.append(arr)
        return out

    # -- running -----------------------------------------------------------
    def __call__(self, *inputs: Any) -> Any:
        """The function's outputs: one array, or a list when the function has several."""
        arrays = self.check_inputs(inputs)
        plan = self._plan
        _, values = plan.planned(arrays)
        outs = [_owned(values[s], s, arrays) for s in plan.outputs]
        return outs[0] if len(outs) == 1 else outs

    def run(self, inputs: Sequence[Any], names: Optional[Sequence[str]] = None, *,
            keep_all: bool = False, planned: bool = True) -> Dict[str, np.ndarray]:
        """``{name: value}`` of the outputs plus every value in ``names`` (every value with ``keep_all``).

        Returned arrays belong to the caller (stored values, the runtime's buffers and views
        of them are copied). ``planned=False`` interprets the graph node by node instead of
        running the plan of this input signature (:mod:`layers_np.graph.runtime`): the
        reference the planned runtime is checked against, bit for bit.
        """
        arrays = self.check_inputs(inputs)
        plan = self._plan
        wanted = list(self.output_names) + [n for n in (names or []) if n not in self.output_names]
        unknown = [n for n in wanted if n not in plan.slots]
        if unknown:
            raise KeyError(f"the graph has no value named {unknown[0]!r}")
        outputs = set(self.output_names)
        if not planned:
            values = plan.execute(arrays, True if keep_all else {plan.slots[n] for n in wanted})
        else:
            _, values = plan.planned(arrays, keep=keep_all or any(n not in outputs for n in wanted))
        chosen = plan.names if keep_all else wanted
        out = {}
        for n in chosen:
            v = values[plan.slots[n]]
            if v is not None:
                out[n] = _owned(v, plan.slots[n], arrays)
        return out

    def run_node(self, name: str, inputs: Sequence[np.ndarray]) -> List[np.ndarray]:
        """Run node ``name`` alone on the given input values (a certification's local check)."""
        plan = self._plan
        k = plan.node_names.index(name)
        kernel, _, _, dtypes, _ = plan.steps[k]
        results = kernel(*inputs)
        return [np.asarray(v).astype(dt, copy=False) for v, dt in zip(results, dtypes)]

    def node_io(self, name: str) -> Tuple[List[str], List[str]]:
        """(input value names, output value names) of node ``name``."""
        plan = self._plan
        k = plan.node_names.index(name)
        _, ins, outs, _, _ = plan.steps[k]
        return [plan.names[i] for i in ins], [plan.names[o] for o in outs]

    def undefined_content(self, name: str) -> bool:
        """Whether node ``name``'s outputs are undefined memory in Theano (AllocEmpty): never compared."""
        return self.node_ops[self.node_names.index(name)] in UNDEFINED_CONTENT

    def __repr__(self) -> str:
        return (f"GraphModel({len(self.node_names)} nodes, inputs {[e['name'] for e in self.inputs]}, "
                f"outputs {self.output_names}, {self.dtype})")


# ---------------------------------------------------------------------------
# files
# ---------------------------------------------------------------------------
def _describe(spec: Dict[str, Any], arrays: Mapping[str, np.ndarray], certification: Optional[Mapping[str, Any]],
              ) -> Tuple[Dict[str, Any], Dict[str, np.ndarray]]:
    stored = {k: little_endian(np.asarray(a)) for k, a in arrays.items()}
    full = {**spec, "format": FORMAT_NAME, "format_version": FORMAT_VERSION, "kind": GRAPH_KIND,
            "arrays": {k: {"shape": list(a.shape), "dtype": a.dtype.name, "sha256": array_digest(a)}
                       for k, a in stored.items()}}
    if certification is not None:
        full["certification"] = dict(certification)
    GraphModel(full, stored, "<spec being written>")  # never write what would not load
    return full, stored


def _spec_bytes(spec: Dict[str, Any]) -> np.ndarray:
    return np.frombuffer(json.dumps(spec, indent=None, allow_nan=False).encode("utf-8"), dtype=np.uint8)


def dumps_graph(spec: Dict[str, Any], arrays: Mapping[str, np.ndarray],
                certification: Optional[Mapping[str, Any]] = None) -> bytes:
    """The bytes of a graph model file (the spec is checked by building the model first)."""
    full, stored = _describe(spec, arrays, certification)
    buffer = _pyio.BytesIO()
    np.savez(buffer, **{SPEC_KEY: _spec_bytes(full), **stored})
    return buffer.getvalue()


def save_graph(spec: Dict[str, Any], arrays: Mapping[str, np.ndarray], path: Union[str, Any],
               certification: Optional[Mapping[str, Any]] = None) -> Dict[str, Any]:
    """Write a graph model file atomically; returns the full spec."""
    full, stored = _describe(spec, arrays, certification)
    atomic_savez(path, {SPEC_KEY: _spec_bytes(full), **stored}, fsync=True)
    return full


def load_graph(path: Any, *, limits: Optional[Limits] = None) -> GraphModel:
    """Load a graph model file (numpy only; the file is treated as hostile, see :mod:`layers_np.io`)."""
    spec, arrays, label = open_model(path, limits, validate=validate_graph_spec)
    return GraphModel(spec, arrays, label)


def loads_graph(data: bytes, *, limits: Optional[Limits] = None) -> GraphModel:
    """:func:`load_graph` from bytes."""
    spec, arrays, label = open_model(bytes(data), limits, validate=validate_graph_spec)
    return GraphModel(spec, arrays, label)



