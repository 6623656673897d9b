"""Op twins: each numpy kernel of :mod:`layers_np.graph` certified against the PyTensor op it replaces.

A new op costs one kernel (``@layers_np.graph.op``) and one registration here: a small PyTensor
expression that, once rewritten as the C backend rewrites it, contains the op::

    register_op_case("gemv", ("Gemv",), lambda T: ...)

``build(T)`` receives ``pytensor.tensor`` (floatX is the certified dtype while it runs) and returns
``(inputs, outputs)``; inputs declare their shapes through their static shapes (``None`` is
free: axis 0 is drawn as the batch, other free axes once per example). :func:`certify_op_cases`
puts every case into one graph, so each dtype costs one PyTensor compilation, and fuzzes it
with hypothesis (the certification profiles of :mod:`harness.profiles`): every node value is
compared (node by node, :class:`harness.graph_gate.GraphCheck`); a failing example shrinks to
the smallest batch and names the first diverging node.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Sequence, Tuple

import numpy as np

__all__ = ["OpCase", "register_op_case", "op_cases", "certify_op_cases", "OpCertification", "NOT_CASED"]


@dataclass(frozen=True)
class OpCase:
    name: str
    ops: Tuple[str, ...]  # the runtime ops the rewritten expression must contain
    build: Callable[[Any], Tuple[List[Any], List[Any]]]


_CASES: Dict[str, OpCase] = {}

# runtime ops no case exercises on its own, and why (each is exercised by the zoo graphs)
NOT_CASED = {
    "AllocEmpty": "uninitialised memory in PyTensor, never compared (the Scan buffers of char_lstm and of the "
                  "scan case use it)",
    "Gemm": "the fast_run rewrites without inplace give Dot22Scalar at the top level; the scan case's inner "
            "graph holds a Gemm, certified through that Scan's outputs in both dtypes",
}


def register_op_case(name: str, ops: Sequence[str], build: Callable[[Any], Tuple[List[Any], List[Any]]]) -> None:
    """Register a PyTensor expression whose rewritten graph contains the runtime ops ``ops``."""
    if name in _CASES:
        raise ValueError(f"op case {name!r} is registered twice")
    _CASES[name] = OpCase(name, tuple(ops), build)


def op_cases() -> List[OpCase]:
    return list(_CASES.values())


# ---------------------------------------------------------------------------
# built-in cases
# ---------------------------------------------------------------------------
def _var(name: str, shape: Sequence[Any], dtype: str = "floatX") -> Any:
    from layers_theano.backend import config
    from pytensor.tensor.type import TensorType

    return TensorType(config.floatX if dtype == "floatX" else dtype, shape=tuple(shape))(name)


def _softsign(x: Any) -> Any:
    from layers_theano.backend import nnet

    return nnet.softsign(x)


def _elemwise(T: Any) -> Any:
    x, y = _var("ew_x", (None, 5)), _var("ew_y", (None, 5))
    a = abs(x) + 0.5
    c = T.clip(y, -1, 1)
    outs = [x + y * 2 - x / (a + 1), T.sqr(x) + T.sqrt(a) + a ** y, T.exp(-a) + T.expm1(x * 0.1) + T.log1p(a),
            T.tanh(x) + T.sigmoid(y) + T.softplus(x) + _softsign(y * 3), T.clip(x, -0.5, 0.7) + T.maximum(x, y) - T.minimum(x, y),
            T.switch(T.lt(x, y), x, y) + T.switch(T.ge(x, 0.2) & T.le(y, 0.3), 1.0, -1.0),
            T.cast(T.eq(T.floor(x), T.ceil(y)) | T.neq(x, y), "int8"), T.log(a) - T.log2(a) + abs(x),
            -x + T.sgn(y) + T.reciprocal(a), T.cast(x * 3, "int32") // 2 + T.cast(y * 3, "int32") % 3,
            T.sin(x) + T.cos(y) + T.tan(x * 0.5) + T.arctan(y) + T.arcsin(c) + T.arccos(c) + T.arctanh(c * 0.9),
            T.sinh(c) + T.cosh(c) + T.exp2(c) + T.log10(a) + T.trunc(x * 2) + T.round(x * 2, mode="half_to_even")
            + T.round(y * 2, mode="half_away_from_zero"),
            T.isnan(T.log(x)) ^ T.isinf(T.log(abs(y))) | ~T.gt(x, y), T.cast(T.mod(x, 0.7), "float64") + x]
    return [x, y], outs


def _shapes(T: Any) -> Any:
    x = _var("sh_x", (None, 3, 4))
    flat = x.reshape((x.shape[0], -1))
    y = T.tanh(x).reshape((-1, x.shape[2]))  # a shape PyTensor cannot infer statically
    return [x], [flat, x.dimshuffle(2, "x", 0, 1), T.specify_shape(y, (None, 4)) * 2, x[1:, ::-1, 2],
                 x[0], T.concatenate([x, x * 2], axis=1), T.set_subtensor(x[:, 1:], 0.5),
                 T.inc_subtensor(x[:, :2, 1], 1.0), T.zeros_like(x[:, 0]) + T.alloc(x[0, 0, 0], 3, 2).sum(),
                 T.alloc(x[0, 0], 3, 4) + 1]


def _indexing(T: Any) -> Any:
    table = _var("ix_table", (12, 3))
    idx = _var("ix_idx", (None,), "int64")
    return [table, idx], [table[idx] * 2, T.inc_subtensor(table[idx], 1.0), T.set_subtensor(table[idx], 0.0)]


def _blas(T: Any) -> Any:
    x, w = _var("bl_x", (None, 6)), _var("bl_w", (6, 4))
    z = _var("bl_z", (None, 4))
    v, u = _var("bl_v", (6,)), _var("bl_u", (4,))
    x3 = _var("bl_x3", (None, 2, 6))
    return [x, w, z, v, u, x3], [T.dot(x, w), T.dot(x, w) * 1.5, z + 0.5 * T.dot(x, w), u + T.dot(v, w),
                                 w + 0.3 * T.outer(v, u), T.dot(v, v) + 1, T.dot(x3, w)]


def _reductions(T: Any) -> Any:
    x = _var("rd_x", (None, 4, 3))
    return [x], [x.sum(axis=1), x.max(axis=(0, 2)), x.min(axis=2), x.prod(axis=1), T.argmax(x, axis=2),
                 T.sum(x), T.any(x > 1), T.all(x > -3, axis=1), T.max(x, axis=1) + 1, T.argmax(x, axis=1) + 1,
                 x.mean(axis=1)]


def _softmax(T: Any) -> Any:
    from layers_theano.backend import nnet

    x, b = _var("sm_x", (None, 7)), _var("sm_b", (7,))
    return [x, b], [nnet.softmax(x, axis=-1), nnet.softmax(x + b, axis=-1), nnet.logsoftmax(x, axis=-1),
                    nnet.softmax(x, axis=0)]


def _conv(T: Any) -> Any:
    from layers_theano.backend import nnet

    x, w = _var("cv_x", (None, 4, 9, 8)), _var("cv_w", (6, 2, 3, 2))
    w1 = _var("cv_w1", (6, 4, 3, 3))
    x3, w3 = _var("cv_x3", (None, 2, 5, 6, 4)), _var("cv_w3", (3, 2, 2, 3, 2))
    og = _var("cv_og", (None, 6, 6, 5))
    og3 = _var("cv_og3", (None, 3, 4, 3, 3))
    return [x, w, w1, x3, w3, og, og3], [
        nnet.conv2d(x, w, border_mode="half", num_groups=2), nnet.conv2d(x, w1, border_mode=(1, 2), subsample=(2, 1)),
        nnet.conv2d(x, w1, border_mode="full", filter_flip=False, filter_dilation=(2, 1)),
        nnet.conv2d(x, w1, border_mode="valid"),
        # a transposed convolution: the gradient of a (6, 4, 2, 2) convolution w.r.t. its 4-channel input
        nnet.abstract_conv.conv2d_grad_wrt_inputs(og, w1[:, :, :2, :2], input_shape=(None, 4, 11, 10),
                                                  filter_shape=(6, 4, 2, 2), border_mode=(1, 0), subsample=(2, 2)),
        nnet.conv3d(x3, w3, border_mode="half"), nnet.conv3d(x3, w3, border_mode="valid", subsample=(1, 2, 1)),
        nnet.abstract_conv.conv3d_grad_wrt_inputs(og3, w3, input_shape=(None, 2, 5, 7, 4), filter_shape=(3, 2, 2, 3, 2),
                                                  border_mode="valid", subsample=(1, 2, 1))]


def _pool(T: Any) -> Any:
    from layers_theano.backend import pool

    x = _var("pl_x", (None, 3, 7, 6))
    return [x], [pool.pool_2d(x, (2, 2), ignore_border=True, mode="max"),
                 pool.pool_2d(x, (3, 2), stride=(2, 1), ignore_border=False, mode="average_exc_pad"),
                 pool.pool_2d(x, (3, 3), stride=(1, 2), pad=(1, 1), ignore_border=True, mode="average_inc_pad"),
                 pool.pool_2d(x, (2, 3), ignore_border=True, mode="sum"),
                 pool.pool_3d(x, (2, 2, 2), ignore_border=True, mode="max"),
                 # padded max and exclusive average (googlenet's MaxPool2DDNNLayer, inception_v3's pools)
                 pool.pool_2d(x, (3, 3), stride=(1, 1), pad=(1, 1), ignore_border=True, mode="max"),
                 pool.pool_2d(x, (3, 2), stride=(2, 1), pad=(1, 1), ignore_border=True, mode="average_exc_pad")]


def _scan(T: Any) -> Any:
    from layers_theano.backend import scan

    # the time axis is the drawn axis 0: loops of 1 to 4 steps
    seq, h0, w = _var("sc_seq", (None, 2, 3)), _var("sc_h0", (2, 3)), _var("sc_w", (3, 3))
    out, _ = scan(lambda s, h, W: T.tanh(T.dot(h, W) + s), sequences=[seq], outputs_info=[h0], non_sequences=[w])
    last, _ = scan(lambda s, h2, h1: h1 * 0.5 + h2 * 0.25 + s, sequences=[seq],
                   outputs_info=[dict(initial=T.stack([h0, h0 * 2]), taps=[-2, -1])])
    return [seq, h0, w], [out, last[-1]]


def _assert(T: Any) -> Any:
    from pytensor.raise_op import Assert

    x = _var("as_x", (None, 4))
    # a condition PyTensor cannot decide statically (it removes the ones it can)
    return [x], [Assert("x needs a row")(x * 3, T.ge(x.shape[0], 1))]


def _dot_specify_shape(T: Any) -> Any:
    # float dots all become Dot22/Gemv/Ger; an integer dot keeps the generic Dot. A reshape to
    # (batch, -1) has no static width, so the SpecifyShape that states it stays in the graph.
    xi, wi = _var("ds_xi", (None, 3), "int64"), _var("ds_wi", (3, 2), "int64")
    x = _var("ds_x", (None, 3, 4))
    flat = T.tanh(x).reshape((x.shape[0], -1))
    return [xi, wi, x], [T.dot(xi, wi), T.specify_shape(flat, (None, 12)) * 2]


for _name, _ops, _build in [
    ("elemwise", ("Elemwise",), _elemwise),
    ("shapes", ("Reshape", "DimShuffle", "Shape_i", "MakeVector", "Subtensor", "Join",
                "IncSubtensor", "Alloc", "BroadcastTo", "ScalarFromTensor", "TensorFromScalar", "ScalarOp"), _shapes),
    ("indexing", ("AdvancedSubtensor1", "AdvancedIncSubtensor1"), _indexing),
    ("blas", ("Dot22", "Dot22Scalar", "Gemv", "Ger"), _blas),
    ("reductions", ("CAReduce", "Argmax", "MaxAndArgmax"), _reductions),
    ("softmax", ("Softmax", "SoftmaxWithBias", "LogSoftmax"), _softmax),
    ("conv", ("CorrMM", "CorrMM_gradInputs", "Corr3dMM", "Corr3dMMGradInputs"), _conv),
    ("pool", ("Pool",), _pool),
    ("scan", ("Scan",), _scan),
    ("assert", ("Assert",), _assert),
    ("dot_specify_shape", ("Dot", "SpecifyShape"), _dot_specify_shape),
]:
    register_op_case(_name, _ops, _build)


# ---------------------------------------------------------------------------
# certification
# ---------------------------------------------------------------------------
@dataclass
class OpCertification:
    dtype: str
    ok: bool
    examples: int
    ops: Dict[str, int]          # runtime op -> nodes of that op in the combined graph
    missing: Dict[str, List[str]]  # case -> ops it promised and its rewritten graph lacks
    message: str
    report: Any
    scalar_ops: List[str]         # scalar ops used by the combined graph (Composites and Scan bodies too)


def _combined(dtype: str, cases: Sequence[OpCase]) -> Tuple[List[Any], List[Any]]:
    from layers_theano.backend import T, config

    inputs, outputs = [], []
    with config.change_flags(floatX=dtype):
        for case in cases:
            ins, outs = case.build(T)
            inputs += ins
            outputs += outs
    return inputs, outputs


def certify_op_cases(dtype: str, profile: str = "ci", cases: Sequence[OpCase] = ()) -> OpCertification:
    """Certify every op case (default: all registered) in ``dtype`` under certification profile ``profile``."""
    from hypothesis import given
    from hypothesis import strategies as st

    from layers_theano.graph_export import convert

    from .graph_gate import FREE_DIM_RANGE, GraphCheck, graph_input_bounds
    from .profiles import get_settings

    cases = list(cases) or op_cases()
    converted = convert(_combined(dtype, cases))
    ops: Dict[str, int] = {}
    for node in converted.spec["graph"]["nodes"]:
        ops[node["op"]] = ops.get(node["op"], 0) + 1
    scalars = sorted(_scalar_ops(converted.spec["graph"]))
    # the cases are independent subgraphs (their own inputs), so each op a case promises must be in the union
    missing = {case.name: [o for o in case.ops if o not in ops] for case in cases}
    missing = {k: v for k, v in missing.items() if v}
    check = GraphCheck(converted)
    highs = graph_input_bounds(converted)
    inputs = check.model.inputs
    failures: List[str] = []

    @get_settings(profile)
    @given(batch=st.integers(1, 4), free=st.integers(*FREE_DIM_RANGE), seed=st.integers(0, 2 ** 32 - 1),
           scale=st.sampled_from([0.1, 1.0, 4.0]))
    def fuzz(batch: int, free: int, seed: int, scale: float) -> None:
        rng = np.random.default_rng(seed)
        arrays = []
        for entry, high in zip(inputs, highs):
            shape = [batch if (d is None and a == 0) else free if d is None else d for a, d in enumerate(entry["shape"])]
            dt = np.dtype(entry["dtype"])
            arrays.append(rng.integers(0, high, size=shape).astype(dt) if dt.kind in "iu"
                          else (rng.standard_normal(shape) * scale).astype(dt))
        if not check.run(arrays):
            bad = next(r for r in check.rows if not r.ok)
            failures.append(f"batch {batch}, free {free}, seed {seed}, scale {scale}: node {bad.name} ({bad.cls}): "
                            f"{bad.reason}")
            raise AssertionError(failures[-1])

    try:
        fuzz()
        error = ""
    except Exception as exc:  # a discrepancy (AssertionError) or a case PyTensor itself cannot run
        error = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    report = check.report(f"hypothesis profile {profile}")
    ok = report.ok and not error and not missing
    message = report.message() if not error else f"{error}; {report.message()}"
    if missing:
        message = f"cases lack their ops after rewriting: {missing}; " + message
    return OpCertification(dtype, ok, len(check.input_shapes), ops, missing, message, report, scalars)


def _scalar_ops(graph: Dict[str, Any]) -> set:
    """Scalar op names used anywhere in a graph description (Composites and Scan bodies included)."""
    found: set = set()

    def scalar(desc: Any) -> None:
        if isinstance(desc, dict):
            found.add(desc.get("op"))
            for node in (desc.get("graph") or {}).get("nodes", []):
                scalar(node.get("op"))

    def walk(g: Dict[str, Any]) -> None:
        for node in g.get("nodes", []):
            attrs = node.get("attrs", {})
            if node["op"] in ("Elemwise", "ScalarOp"):
                scalar(attrs.get("scalar"))
            if node["op"] == "CAReduce":
                found.add(attrs.get("scalar"))
            if node["op"] == "Scan":
                walk(attrs.get("graph", {}))
    walk(graph)
    return found
