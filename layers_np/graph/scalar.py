"""Scalar ops of a graph model: the numpy twin of each ``pytensor.scalar`` op an ``Elemwise`` maps.

A scalar op is described in the model file by data only: ``{"op": "Add"}``,
``{"op": "Cast", "dtype": "float32"}`` or ``{"op": "Composite", "graph": {...}}`` where the
Composite's inner graph lists its inputs, its constants (value and dtype) and its nodes
(each an op description, input names and one output name with its dtype) in topological
order. :func:`build_scalar` turns a description into a function of numpy arrays, once per
node (nothing is looked up per call).

Dtype rules are Theano's: every result, inner Composite results included, is cast to the
dtype PyTensor's graph declares for it, and arithmetic runs on operands already cast to that
dtype (PyTensor's C code assigns each inner result to a variable of its declared C type), so
numpy 2's promotion rules never choose a dtype. Transcendental functions in float32 are
evaluated in float64 and rounded once (the C library's ``tanhf``/``expf`` are within ~1 ulp
of that; the certified tolerance covers the rest).
"""
from __future__ import annotations

import math
from typing import Any, Callable, Dict, List, Sequence

import numpy as np

from .. import nonlinearities as _nl
from ..nonlinearities import _in_double

__all__ = ["SCALAR_OPS", "build_scalar", "scalar_op_names", "GraphSpecError", "DTYPES", "MAX_DEPTH"]

# dtypes a graph value may have (no complex, no object: nothing in a file can make numpy run code)
DTYPES = ("bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
          "float16", "float32", "float64")
MAX_DEPTH = 4            # Composite in Scan in Scan ...: nesting deeper than this is refused
MAX_INNER_NODES = 10_000


class GraphSpecError(ValueError):
    """A graph description is malformed (a bad op, attribute, name or dtype); one line."""


def _float(fn: Callable[[np.ndarray], np.ndarray]) -> Callable[..., np.ndarray]:
    """A transcendental: float64 as is, narrower floats through float64 rounded once."""
    def run(x: np.ndarray) -> np.ndarray:
        if x.dtype.kind != "f":
            x = x.astype(np.float64)
        return _in_double(fn, x)
    return run


def _arith(fn: Callable[..., np.ndarray]) -> Callable[..., Callable[..., np.ndarray]]:
    """Arithmetic evaluated on operands cast to the result dtype (C assigns into that type)."""
    def make(dtype: np.dtype) -> Callable[..., np.ndarray]:
        def run(*xs: np.ndarray) -> np.ndarray:
            return fn(*(x.astype(dtype, copy=False) for x in xs))
        return run
    return make


def _plain(fn: Callable[..., np.ndarray]) -> Callable[..., Callable[..., np.ndarray]]:
    """An op whose operands keep their own dtypes (comparisons, logic, switch)."""
    def make(dtype: np.dtype) -> Callable[..., np.ndarray]:
        return fn
    return make


def _true_div(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.true_divide(x, y)


def _int_div(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.floor_divide(x, y)


def _mod(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.mod(x, y)


def _pow(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        if x.dtype.kind == "f" and x.dtype != np.float64:
            return np.power(x.astype(np.float64), y.astype(np.float64)).astype(x.dtype)
        return np.power(x, y)


def _clip(x: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    # PyTensor's C: x < lo ? lo : (x > hi ? hi : x)
    return np.where(x < lo, lo, np.where(x > hi, hi, x))


def _sqr(x: np.ndarray) -> np.ndarray:
    return x * x


def _reciprocal(x: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return np.asarray(1, dtype=x.dtype) / x


def _unary_float(name: str) -> Callable[[np.ndarray], np.ndarray]:
    fn = getattr(np, name)

    def run(x: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            return fn(x)
    return run


def _logic(fn: Callable[..., np.ndarray]) -> Callable[..., np.ndarray]:
    def run(*xs: np.ndarray) -> np.ndarray:
        return fn(*xs)
    return run


def _sgn(x: np.ndarray) -> np.ndarray:
    return np.sign(x)


def _round_away(x: np.ndarray) -> np.ndarray:
    return np.where(x >= 0, np.floor(x + 0.5), np.ceil(x - 0.5))


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return _nl.sigmoid(x if x.dtype.kind == "f" else x.astype(np.float64))


def _softplus(x: np.ndarray) -> np.ndarray:
    return _nl.softplus(x if x.dtype.kind == "f" else x.astype(np.float64))


def _softsign(x: np.ndarray) -> np.ndarray:
    # PyTensor's C code is x / (1.0 + fabs(x)): the double literal and fabs make it a double
    # expression, assigned to the result's type (one rounding): evaluated through float64 (_float)
    return x / (1.0 + np.abs(x))


def _special(fn: Callable[[np.ndarray], np.ndarray]) -> Callable[..., Callable[..., np.ndarray]]:
    def make(dtype: np.dtype) -> Callable[..., np.ndarray]:
        def run(x: np.ndarray) -> np.ndarray:
            with np.errstate(all="ignore"):
                return fn(x.astype(dtype, copy=False) if dtype.kind == "f" else x)
        return run
    return make


def _transcendental(fn: Callable[[np.ndarray], np.ndarray]) -> Callable[..., Callable[..., np.ndarray]]:
    """``_special`` of a function evaluated through float64 (:func:`_float`)."""
    return _special(_float(fn))


# name -> (arity or None for any, factory(output dtype) -> function of arrays)
SCALAR_OPS: Dict[str, Any] = {
    "Add": (None, _arith(lambda *xs: _reduce_binary(np.add, xs))),
    "Mul": (None, _arith(lambda *xs: _reduce_binary(np.multiply, xs))),
    "Sub": (2, _arith(np.subtract)),
    "TrueDiv": (2, _arith(_true_div)),
    "IntDiv": (2, _arith(_int_div)),
    "Mod": (2, _arith(_mod)),
    "Pow": (2, _arith(_pow)),
    "Neg": (1, _arith(np.negative)),
    "Abs": (1, _plain(np.abs)),
    "Sqr": (1, _arith(_sqr)),
    "Reciprocal": (1, _arith(_reciprocal)),
    "ScalarMaximum": (2, _arith(np.maximum)),
    "ScalarMinimum": (2, _arith(np.minimum)),
    "Clip": (3, _arith(_clip)),
    "Switch": (3, _plain(lambda c, a, b: np.where(c, a, b))),
    "Sgn": (1, _plain(_sgn)),
    "Floor": (1, _plain(_unary_float("floor"))),
    "Ceil": (1, _plain(_unary_float("ceil"))),
    "Trunc": (1, _plain(_unary_float("trunc"))),
    "RoundHalfToEven": (1, _plain(_unary_float("round"))),
    "RoundHalfAwayFromZero": (1, _plain(_round_away)),
    "LT": (2, _plain(np.less)), "GT": (2, _plain(np.greater)), "LE": (2, _plain(np.less_equal)),
    "GE": (2, _plain(np.greater_equal)), "EQ": (2, _plain(np.equal)), "NEQ": (2, _plain(np.not_equal)),
    "IsNan": (1, _plain(np.isnan)), "IsInf": (1, _plain(np.isinf)),
    "AND": (2, _plain(_logic(np.bitwise_and))), "OR": (2, _plain(_logic(np.bitwise_or))),
    "XOR": (2, _plain(_logic(np.bitwise_xor))), "Invert": (1, _plain(_logic(np.invert))),
    "Sqrt": (1, _transcendental(np.sqrt)), "Exp": (1, _transcendental(np.exp)),
    "Exp2": (1, _transcendental(np.exp2)), "Expm1": (1, _transcendental(np.expm1)),
    "Log": (1, _transcendental(np.log)), "Log2": (1, _transcendental(np.log2)),
    "Log10": (1, _transcendental(np.log10)), "Log1p": (1, _transcendental(np.log1p)),
    "Tanh": (1, _transcendental(np.tanh)), "Sinh": (1, _transcendental(np.sinh)),
    "Cosh": (1, _transcendental(np.cosh)), "Sin": (1, _transcendental(np.sin)),
    "Cos": (1, _transcendental(np.cos)), "Tan": (1, _transcendental(np.tan)),
    "ArcTan": (1, _transcendental(np.arctan)), "ArcSin": (1, _transcendental(np.arcsin)),
    "ArcCos": (1, _transcendental(np.arccos)), "ArcTanh": (1, _transcendental(np.arctanh)),
    "Sigmoid": (1, _special(_sigmoid)), "Softplus": (1, _special(_softplus)),
    "ScalarSoftsign": (1, _transcendental(_softsign)),  # Keras's 'softsign' (T.nnet.softsign)
}


def _reduce_binary(ufunc: np.ufunc, xs: Sequence[np.ndarray]) -> np.ndarray:
    # PyTensor's n-ary Add/Mul C code is ((x0 + x1) + x2) + ...: the same order, the same roundings
    out = xs[0]
    for x in xs[1:]:
        out = ufunc(out, x)
    return out


def _dtype(value: Any, where: str) -> np.dtype:
    if not isinstance(value, str) or value not in DTYPES:
        raise GraphSpecError(f"{where}: dtype {str(value)[:40]!r} is not one of {', '.join(DTYPES)}")
    return np.dtype(value)


def _constant(entry: Any, where: str) -> np.ndarray:
    """A Composite's inner constant: ``{"value": number or "inf"/"-inf"/"nan", "dtype": ...}``."""
    if not isinstance(entry, dict):
        raise GraphSpecError(f"{where}: a constant must be {{'value', 'dtype'}}")
    dtype = _dtype(entry.get("dtype"), where)
    value = entry.get("value")
    if isinstance(value, str) and value in ("inf", "-inf", "nan"):
        value = float(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise GraphSpecError(f"{where}: constant value {str(value)[:40]!r} is not a number")
    if isinstance(value, int) and dtype.kind in "iub":
        info = np.iinfo(dtype) if dtype.kind != "b" else None
        if info is not None and not info.min <= value <= info.max:
            raise GraphSpecError(f"{where}: constant {value} does not fit {dtype}")
    if isinstance(value, float) and math.isfinite(value) and dtype.kind in "iub":
        raise GraphSpecError(f"{where}: float constant {value} for an integer dtype {dtype}")
    with np.errstate(over="ignore"):
        return np.asarray(value, dtype=dtype)


def build_scalar(desc: Any, out_dtypes: Sequence[np.dtype], n_inputs: int, where: str,
                 depth: int = 0) -> Callable[..., List[np.ndarray]]:
    """The function of one scalar op description: arrays in, a list of arrays (cast) out.

    Raises
    ------
    GraphSpecError
        An unknown op, a wrong arity or a malformed Composite graph.
    """
    if not isinstance(desc, dict) or not isinstance(desc.get("op"), str):
        raise GraphSpecError(f"{where}: a scalar op must be {{'op': NAME, ...}}")
    name = desc["op"]
    if depth > MAX_DEPTH:
        raise GraphSpecError(f"{where}: scalar graphs nested deeper than {MAX_DEPTH}")
    if name == "Composite":
        return _build_composite(desc.get("graph"), out_dtypes, n_inputs, where, depth + 1)
    if len(out_dtypes) != 1:
        raise GraphSpecError(f"{where}: scalar op {name} has one output, the node declares {len(out_dtypes)}")
    out = out_dtypes[0]
    if name == "Cast":
        target = _dtype(desc.get("dtype"), where)
        if target != out or n_inputs != 1:
            raise GraphSpecError(f"{where}: Cast to {target} must have one input and output dtype {target}")
        return lambda x: [np.asarray(x).astype(out)]
    entry = SCALAR_OPS.get(name)
    if entry is None:
        raise GraphSpecError(f"{where}: unknown scalar op {name[:60]!r} (not in the allow-list of layers_np.graph)")
    arity, factory = entry
    if (arity is not None and n_inputs != arity) or n_inputs < 1:
        raise GraphSpecError(f"{where}: scalar op {name} takes {arity} inputs, got {n_inputs}")
    fn = factory(out)

    def run(*xs: np.ndarray) -> List[np.ndarray]:
        return [np.asarray(fn(*xs)).astype(out, copy=False)]
    return run


def _build_composite(graph: Any, out_dtypes: Sequence[np.dtype], n_inputs: int, where: str,
                     depth: int) -> Callable[..., List[np.ndarray]]:
    """A Composite's inner scalar graph, interpreted node by node over whole arrays."""
    if not isinstance(graph, dict):
        raise GraphSpecError(f"{where}: a Composite needs a 'graph'")
    inputs, nodes, outputs = graph.get("inputs"), graph.get("nodes"), graph.get("outputs")
    constants = graph.get("constants", {})
    if (not isinstance(inputs, list) or not isinstance(nodes, list) or not isinstance(outputs, list)
            or not isinstance(constants, dict)):
        raise GraphSpecError(f"{where}: a Composite graph needs lists 'inputs', 'nodes', 'outputs' and a dict 'constants'")
    if len(inputs) != n_inputs or len(outputs) != len(out_dtypes):
        raise GraphSpecError(f"{where}: the Composite has {len(inputs)} inputs and {len(outputs)} outputs, the node "
                             f"{n_inputs} and {len(out_dtypes)}")
    if len(nodes) > MAX_INNER_NODES:
        raise GraphSpecError(f"{where}: a Composite of {len(nodes)} nodes, more than {MAX_INNER_NODES}")
    slots: Dict[str, int] = {}

    def define(name: Any) -> int:
        if not isinstance(name, str) or name in slots:
            raise GraphSpecError(f"{where}: Composite name {str(name)[:40]!r} is not a new string")
        slots[name] = len(slots)
        return slots[name]

    for name in inputs:
        define(name)
    consts: List[np.ndarray] = []
    for name, entry in constants.items():
        define(name)
        consts.append(_constant(entry, f"{where} constant {name[:40]!r}"))
    steps = []
    for k, node in enumerate(nodes):
        label = f"{where} inner node {k}"
        if not isinstance(node, dict) or not isinstance(node.get("inputs"), list) or not isinstance(node.get("outputs"), list):
            raise GraphSpecError(f"{label}: needs 'op', 'inputs' and 'outputs'")
        ins = []
        for name in node["inputs"]:
            if name not in slots:
                raise GraphSpecError(f"{label}: input {str(name)[:40]!r} is not defined before it")
            ins.append(slots[name])
        outs, dts = [], []
        for out in node["outputs"]:
            if not isinstance(out, dict):
                raise GraphSpecError(f"{label}: an output must be {{'name', 'dtype'}}")
            dts.append(_dtype(out.get("dtype"), label))
            outs.append(define(out.get("name")))
        fn = build_scalar(node.get("op"), dts, len(ins), label, depth)
        steps.append((fn, ins, outs))
    result = []
    for name in outputs:
        if name not in slots:
            raise GraphSpecError(f"{where}: Composite output {str(name)[:40]!r} is not defined")
        result.append(slots[name])
    n_in, n_slots = len(inputs), len(slots)
    first_const = n_in

    def run(*xs: np.ndarray) -> List[np.ndarray]:
        values: List[Any] = [None] * n_slots
        values[:n_in] = xs
        values[first_const:first_const + len(consts)] = consts
        for fn, ins, outs in steps:
            for slot, value in zip(outs, fn(*(values[i] for i in ins))):
                values[slot] = value
        return [np.asarray(values[i]).astype(dt, copy=False) for i, dt in zip(result, out_dtypes)]
    return run


def scalar_op_names() -> List[str]:
    """Every scalar op a graph model may name (for the docs and the converter's allow-list)."""
    return sorted(list(SCALAR_OPS) + ["Cast", "Composite"])

