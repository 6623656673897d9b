"""Graph-level conversion: a PyTensor function's rewritten graph as a numpy graph model spec.

:func:`convert` takes ``(inputs, outputs)`` symbolic variables, a compiled PyTensor function
or the output layer of a ``layers_theano`` network (its deterministic output), builds the
:class:`~pytensor.graph.fg.FunctionGraph` as ``pytensor.function`` does (shared variables
become implicit inputs), applies the default mode's rewrites (the C backend's ``fast_run``
rewrites, fusion included) without compiling, and describes each node of
``fgraph.toposort()`` by data: an op name from :data:`layers_np.graph.OPS`, its attributes,
its input and output value names. Constants and shared values become stored arrays.

Inplace rewrites are left out: they change which buffer a result is written to, never its
value, and the numpy runtime always computes into new arrays; so are
:data:`layers_theano.backend.EXCLUDED_REWRITES` (exact rewrites that stall on inception modules).

An op without a numpy kernel is refused here, at conversion, with one line naming the op
and the node (:class:`GraphConversionError`), never at run time.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from layers_np.graph import OPS, SCALAR_OPS

from .backend import EXCLUDED_REWRITES, config, pytensor

__all__ = ["convert", "Converted", "GraphConversionError", "rewritten_graph"]


class GraphConversionError(ValueError):
    """The graph cannot be described by the numpy runtime's ops (one line: the op and the node)."""


@dataclass
class Converted:
    """A converted graph: the spec and arrays to store, and the rewritten PyTensor graph they describe."""

    spec: Dict[str, Any]
    arrays: Dict[str, np.ndarray]
    fgraph: Any
    inputs: List[Any]                 # the explicit input variables (fgraph's), in call order
    names: Dict[Any, str]             # fgraph variable -> value name in the spec
    nodes: List[Any] = field(default_factory=list)   # apply nodes, in spec order
    input_highs: List[Optional[int]] = field(default_factory=list)  # exclusive bound of integer inputs

    @property
    def dtype(self) -> str:
        return self.spec["dtype"]


# PyTensor class name -> the runtime's op name, where they differ (C subclasses of the same op)
_ALIASES = {"CGemv": "Gemv", "CGer": "Ger", "ScipyGer": "Ger", "InplaceDimShuffle": "DimShuffle", "Sum": "CAReduce",
            "Prod": "CAReduce", "Max": "CAReduce", "Min": "CAReduce", "All": "CAReduce", "Any": "CAReduce",
            "CAReduceDtype": "CAReduce", "ProdWithoutZeros": None}


def rewritten_graph(inputs: Sequence[Any], outputs: Sequence[Any]) -> Any:
    """The FunctionGraph ``pytensor.function(inputs, outputs)`` would compile, rewritten, not linked."""
    from pytensor.compile.function.pfunc import construct_pfunc_ins_and_outs
    from pytensor.compile.function.types import std_fgraph
    from pytensor.compile.io import SymbolicOutput
    from pytensor.compile.mode import get_default_mode

    mode = get_default_mode().excluding("inplace", *EXCLUDED_REWRITES)
    in_specs, out_vars = construct_pfunc_ins_and_outs(list(inputs), list(outputs), mode=mode)
    fgraph, _ = std_fgraph(in_specs, [SymbolicOutput(o) for o in out_vars])
    with config.change_flags(mode=mode):
        mode.optimizer(fgraph)
    shared = {id(s.variable): s for s in in_specs if s.implicit}
    return fgraph, shared


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.:-]", "_", text)[:60] or "v"


def _dtype(var: Any) -> str:
    return str(var.type.dtype)


def _ndim(var: Any) -> int:
    return int(getattr(var.type, "ndim", 0))


def _number(value: Any) -> Any:
    """A scalar constant's JSON value (inf and nan as strings, JSON has neither)."""
    v = np.asarray(value).item()
    if isinstance(v, float) and not np.isfinite(v):
        return "nan" if np.isnan(v) else ("inf" if v > 0 else "-inf")
    return v


def _scalar_desc(sop: Any, where: str) -> Dict[str, Any]:
    from pytensor.scalar.basic import Cast, Composite

    if isinstance(sop, Composite):
        return {"op": "Composite", "graph": _composite_graph(sop, where)}
    if isinstance(sop, Cast):
        return {"op": "Cast", "dtype": str(sop.o_type.dtype)}
    name = type(sop).__name__
    if name not in SCALAR_OPS:
        raise GraphConversionError(f"{where}: scalar op {name} ({sop}) is not supported by layers_np.graph; "
                                   f"supported: {', '.join(sorted(SCALAR_OPS))}, Cast, Composite")
    return {"op": name}


def _composite_graph(sop: Any, where: str) -> Dict[str, Any]:
    from pytensor.graph.basic import Constant

    fg = sop.fgraph
    names: Dict[Any, str] = {}
    inputs = []
    for i, v in enumerate(fg.inputs):
        names[v] = f"i{i}"
        inputs.append(names[v])
    constants: Dict[str, Any] = {}
    nodes = []

    def name_of(v: Any) -> str:
        if v not in names:
            if not isinstance(v, Constant):
                raise GraphConversionError(f"{where}: a Composite reads {v}, which is neither an input nor a constant")
            names[v] = f"c{len(constants)}"
            constants[names[v]] = {"value": _number(v.data), "dtype": str(v.type.dtype)}
        return names[v]

    for k, node in enumerate(fg.toposort()):
        ins = [name_of(v) for v in node.inputs]
        outs = []
        for j, o in enumerate(node.outputs):
            names[o] = f"t{k}" + (f"_{j}" if len(node.outputs) > 1 else "")
            outs.append({"name": names[o], "dtype": str(o.type.dtype)})
        nodes.append({"op": _scalar_desc(node.op, f"{where} (inner {node.op})"), "inputs": ins, "outputs": outs})
    outputs = [name_of(o) for o in fg.outputs]
    return {"inputs": inputs, "constants": constants, "nodes": nodes, "outputs": outputs}


def _idx_list(idx_list: Sequence[Any]) -> List[Dict[str, Any]]:
    out = []
    for entry in idx_list:
        if isinstance(entry, slice):
            out.append({"slice": [None if p is None else True for p in (entry.start, entry.stop, entry.step)]})
        else:
            out.append({"index": True})
    return out


def _border(mode: Any) -> Any:
    if isinstance(mode, str):
        return mode
    return [[int(p), int(p)] if np.ndim(p) == 0 else [int(p[0]), int(p[1])] for p in mode]


def _attrs(name: str, op: Any, node: Any, where: str) -> Dict[str, Any]:
    """The runtime attributes of one node (data only)."""
    if name in ("Elemwise", "ScalarOp"):
        return {"scalar": _scalar_desc(op.scalar_op if name == "Elemwise" else op, where)}
    if name == "DimShuffle":
        return {"new_order": [o if o == "x" else int(o) for o in op.new_order]}
    if name == "Reshape":
        return {"ndim": int(op.ndim)}
    if name == "Shape_i":
        return {"i": int(op.i)}
    if name in ("Subtensor", "IncSubtensor"):
        attrs: Dict[str, Any] = {"idx_list": _idx_list(op.idx_list)}
        if name == "IncSubtensor":
            attrs["set_instead_of_inc"] = bool(op.set_instead_of_inc)
        return attrs
    if name == "AdvancedIncSubtensor1":
        return {"set_instead_of_inc": bool(op.set_instead_of_inc)}
    if name == "AllocEmpty":
        return {"dtype": str(op.dtype)}
    if name == "CAReduce":
        acc = getattr(op, "acc_dtype", None)
        return {"scalar": type(op.scalar_op).__name__, "axis": None if op.axis is None else [int(a) for a in op.axis],
                "acc_dtype": None if acc is None else str(acc)}
    if name in ("Argmax", "MaxAndArgmax"):
        return {"axis": None if op.axis is None else [int(a) for a in op.axis]}
    if name in ("Softmax", "LogSoftmax"):
        return {"axis": None if op.axis is None else int(op.axis)}
    if name in ("CorrMM", "Corr3dMM", "CorrMM_gradInputs", "Corr3dMMGradInputs"):
        return {"border_mode": _border(op.border_mode), "subsample": [int(s) for s in op.subsample],
                "filter_dilation": [int(d) for d in op.filter_dilation], "num_groups": int(op.num_groups),
                "unshared": bool(getattr(op, "unshared", False))}
    if name == "Pool":
        return {"ignore_border": bool(op.ignore_border), "mode": str(op.mode), "ndim": int(op.ndim)}
    if name == "Assert":
        return {"msg": str(getattr(op, "msg", ""))[:200]}
    return {}


def _op_name(op: Any) -> Optional[str]:
    from pytensor.scalar.basic import ScalarOp
    from pytensor.tensor.elemwise import CAReduce, DimShuffle, Elemwise

    if isinstance(op, Elemwise):
        return "Elemwise"
    if isinstance(op, ScalarOp):
        return "ScalarOp"
    if isinstance(op, DimShuffle):
        return "DimShuffle"
    cls = type(op).__name__
    if cls in ("Argmax", "MaxAndArgmax"):
        return cls
    if isinstance(op, CAReduce):
        return "CAReduce"
    name = _ALIASES.get(cls, cls)
    return name if name in OPS else None


def _variables(obj: Any) -> Tuple[List[Any], List[Any], List[Optional[Tuple[Optional[int], ...]]], List[str],
                                  List[Optional[int]]]:
    """(inputs, outputs, declared input shapes, input names, integer bounds) of what a factory returned."""
    from . import base as LT  # the layer classes and helpers (not the package: no import cycle through to_numpy)

    if isinstance(obj, LT.Layer):
        layers = LT.get_all_layers(obj)
        in_layers = [l for l in layers if isinstance(l, LT.InputLayer)]
        highs = []
        for l in in_layers:
            sizes = [getattr(c, "input_size", None) for c in layers
                     if getattr(c, "input_layer", None) is l and type(c).__name__ == "EmbeddingLayer"]
            highs.append(min([s for s in sizes if s]) if any(sizes) else None)
        # floatX is the network's dtype while its graph is built, as when it was trained (the harness
        # compiles layer networks the same way): constants created at get_output time follow floatX
        floats = sorted({str(p.dtype) for p in LT.get_all_params(obj) if str(p.dtype).startswith("float")})
        with config.change_flags(floatX=floats[-1] if len(floats) == 1 else config.floatX):
            out = LT.get_output(obj, deterministic=True)
        return ([l.input_var for l in in_layers], [out],
                [tuple(l.shape) for l in in_layers], [l.name or f"input{i}" for i, l in enumerate(in_layers)], highs)
    if hasattr(obj, "maker") and hasattr(obj.maker, "fgraph"):  # a compiled function
        maker = obj.maker
        ins = [i.variable for i in maker.inputs if not i.implicit]
        outs = list(maker.fgraph.outputs)
        return ins, outs, [None] * len(ins), [getattr(i, "name", None) or f"input{k}" for k, i in enumerate(ins)], \
            [None] * len(ins)
    if isinstance(obj, tuple) and len(obj) == 2:
        ins, outs = obj
        ins = list(ins) if isinstance(ins, (list, tuple)) else [ins]
        outs = list(outs) if isinstance(outs, (list, tuple)) else [outs]
        return ins, outs, [None] * len(ins), [getattr(i, "name", None) or f"input{k}" for k, i in enumerate(ins)], \
            [None] * len(ins)
    raise GraphConversionError(f"cannot convert a {type(obj).__name__}: give (inputs, outputs) variables, a compiled "
                               f"PyTensor function or the output layer of a layers_theano network")


def convert(obj: Any, *, input_shapes: Optional[Sequence[Sequence[Optional[int]]]] = None) -> Converted:
    """Convert a PyTensor graph to a numpy graph model spec.

    Parameters
    ----------
    obj : (inputs, outputs), compiled function or layers_theano Layer
        What to convert.
    input_shapes : list of shapes, optional
        Declared input shapes (None for free axes); default: the InputLayers' shapes, or the
        variables' static shapes.

    Raises
    ------
    GraphConversionError
        An op (or scalar op) the runtime has no kernel for, naming the op and the node.
    """
    ins, outs, shapes, in_names, highs = _variables(obj)
    if not outs:
        raise GraphConversionError("the graph has no outputs")
    compiled = hasattr(obj, "maker") and hasattr(obj.maker, "fgraph")
    if compiled:
        # a compiled function's graph is already rewritten (inplace ops included: their values are the
        # same); its implicit inputs are the shared variables, whose values the function holds
        fgraph = obj.maker.fgraph
        shared = {id(spec.variable): spec for spec in obj.maker.inputs if spec.implicit}
    else:
        fgraph, shared = rewritten_graph(ins, outs)
    n_explicit = len(ins)
    arrays: Dict[str, np.ndarray] = {}
    shapes = list(input_shapes) if input_shapes is not None else shapes
    declared = []
    for k, var in enumerate(fgraph.inputs[:n_explicit]):
        d = shapes[k] if k < len(shapes) and shapes[k] is not None else \
            tuple(getattr(var.type, "shape", (None,) * _ndim(var)))
        declared.append([None if x is None else int(x) for x in d])
    implicit = []
    for var in fgraph.inputs[n_explicit:]:
        spec = shared.get(id(var))
        value = var.get_value(borrow=False) if hasattr(var, "get_value") else \
            (spec.value.value if spec is not None else None)
        if value is None:
            raise GraphConversionError(f"input {var} has no value: only shared variables may be implicit inputs")
        implicit.append(np.asarray(value))
    graph, names, applies = _describe(fgraph, n_explicit, in_names, implicit, arrays, "value", 0)
    for entry, shape in zip(graph["inputs"], declared):
        entry["shape"] = shape
    out_names = graph["outputs"]
    inputs = graph["inputs"]
    # the model's dtype: its float outputs' (the widest), else its float inputs'
    floats = sorted({_dtype(v) for v in fgraph.outputs if _dtype(v).startswith("float")}) or \
        sorted({_dtype(v) for v in fgraph.inputs if _dtype(v).startswith("float")})
    dtype = floats[-1] if floats else str(config.floatX)
    spec = {"dtype": dtype, "inputs": [{k: v for k, v in e.items() if k != "ndim"} for e in inputs],
            "outputs": out_names, "multiple_outputs": len(out_names) > 1,
            "graph": graph,
            "producer": {"pytensor": pytensor.__version__, "exported_from": "layers_theano.graph_export"}}
    return Converted(spec, arrays, fgraph, list(fgraph.inputs[:n_explicit]), names, applies,
                     list(highs) + [None] * (n_explicit - len(highs)))


def _describe(fgraph: Any, n_explicit: int, in_names: Sequence[str], implicit: Sequence[np.ndarray],
              arrays: Dict[str, np.ndarray], scope: str, depth: int) -> Tuple[Dict[str, Any], Dict[Any, str], List[Any]]:
    """(graph description, variable -> value name, apply nodes in order) of a rewritten FunctionGraph.

    The first ``n_explicit`` inputs are the graph's inputs; the others hold the ``implicit`` values
    (shared variables), stored like constants in ``arrays`` under ``scope``.
    """
    from pytensor.graph.basic import Constant

    names: Dict[Any, str] = {}
    used: set = set()

    def unique(base: str) -> str:
        base = _slug(base)
        name, k = base, 1
        while name in used:
            k += 1
            name = f"{base}_{k}"
        used.add(name)
        return name

    values: Dict[str, str] = {}
    inputs = []
    for k, var in enumerate(fgraph.inputs[:n_explicit]):
        names[var] = unique(in_names[k] if k < len(in_names) else f"input{k}")
        inputs.append({"name": names[var], "dtype": _dtype(var), "ndim": _ndim(var)})
    for var, value in zip(fgraph.inputs[n_explicit:], implicit):
        names[var] = unique(var.name or "shared")
        arrays[f"{scope}/{names[var]}"] = value
        values[names[var]] = f"{scope}/{names[var]}"

    def name_of(var: Any) -> str:
        if var not in names:
            if isinstance(var, Constant):
                if not hasattr(var.type, "dtype"):
                    raise GraphConversionError(f"constant {var} of type {var.type} is not an array")
                names[var] = unique(f"const{len(values)}")
                arrays[f"{scope}/{names[var]}"] = np.asarray(var.data, dtype=_dtype(var))
                values[names[var]] = f"{scope}/{names[var]}"
            else:
                raise GraphConversionError(f"value {var} is used before it is computed")
        return names[var]

    def none_dim() -> str:
        if "none_dim" not in values:
            used.add("none_dim")
            arrays[f"{scope}/none_dim"] = np.asarray(-1, dtype=np.int64)
            values["none_dim"] = f"{scope}/none_dim"
        return "none_dim"

    nodes = []
    applies = []
    for index, node in enumerate(fgraph.toposort()):
        op = node.op
        if type(op).__name__ == "DeepCopyOp":  # a compiled function's output copy: the value itself
            names[node.outputs[0]] = name_of(node.inputs[0])
            continue
        name = _op_name(op)
        where = f"node {index} {op} ({type(op).__name__})" + (f" in a Scan at depth {depth}" if depth else "")
        if name is None:
            raise GraphConversionError(f"cannot convert {where}: op {type(op).__name__} is not supported by "
                                       f"layers_np.graph (supported: {', '.join(sorted(OPS))})")
        node_name = unique(f"{index}.{type(op).__name__}")
        if name == "Scan":
            attrs = _scan_attrs(op, where, arrays, f"{scope}/{node_name}", depth)
        else:
            attrs = _attrs(name, op, node, where)
        if name == "SpecifyShape":  # an unspecified dimension (NoneConst) is stored as -1, which the kernel skips
            in_names_ = [name_of(v) if hasattr(v.type, "dtype") else none_dim() for v in node.inputs]
        else:
            in_names_ = [name_of(v) for v in node.inputs]
        out_entries = []
        for j, o in enumerate(node.outputs):
            names[o] = node_name if len(node.outputs) == 1 else unique(f"{node_name}:{j}")
            out_entries.append({"name": names[o], "dtype": _dtype(o), "ndim": _ndim(o)})
        nodes.append({"name": node_name, "op": name, "attrs": attrs, "inputs": in_names_, "outputs": out_entries})
        applies.append(node)
    outputs = [name_of(o) for o in fgraph.outputs]
    return {"inputs": inputs, "values": values, "nodes": nodes, "outputs": outputs}, names, applies


def _scan_attrs(op: Any, where: str, arrays: Dict[str, np.ndarray], scope: str, depth: int) -> Dict[str, Any]:
    """A Scan's loop structure and its inner graph (rewritten as the C backend rewrites it)."""
    info = op.info
    if info.n_mit_mot or info.as_while:
        raise GraphConversionError(f"cannot convert {where}: Scans with mit_mot taps (gradients) or a while "
                                   f"condition are not supported by layers_np.graph")
    inner_in, inner_out = list(op.inner_inputs), list(op.inner_outputs)
    fgraph, shared = rewritten_graph(inner_in, inner_out)
    if len(fgraph.inputs) != len(inner_in):
        raise GraphConversionError(f"cannot convert {where}: its inner graph reads shared variables directly")
    graph, _, _ = _describe(fgraph, len(inner_in), [f"in{k}" for k in range(len(inner_in))], [], arrays, scope,
                            depth + 1)
    return {"n_seqs": int(info.n_seqs), "mit_sot_taps": [[int(t) for t in taps] for taps in info.mit_sot_in_slices],
            "sit_sot_taps": [[int(t) for t in taps] for taps in info.sit_sot_in_slices],
            "n_nit_sot": int(info.n_nit_sot), "n_shared_outs": int(info.n_shared_outs), "graph": graph}
