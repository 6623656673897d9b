"""Tensor ops of a graph model: one numpy kernel per PyTensor op class, one registration each.

``@op("Dot22", inputs=2)`` registers a *factory*: it receives the node's attributes (data
from the model file, validated here) and a :class:`NodeInfo` (input and output dtypes and
ranks, the node's label), and returns the kernel, a function of the input arrays that
returns the list of output arrays. Factories run once when a model is loaded, so a call
only runs kernels. The runtime casts every result to the dtype PyTensor declared for it.

Kernels never modify their inputs (PyTensor's inplace variants compute the same values).
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from .. import nonlinearities as _nl
from ..base import TwinError
from ..im2col import corr_nd, corr_transpose_nd, pool_nd
from .scalar import DTYPES, GraphSpecError, build_scalar

__all__ = ["op", "OPS", "NodeInfo", "Kernel", "UNDEFINED_CONTENT", "op_names", "written_region", "MAX_ALLOC_ELEMENTS",
           "interpreting", "interpreted"]

Kernel = Callable[..., List[np.ndarray]]


@dataclass
class NodeInfo:
    """What a factory knows about its node besides the attributes."""

    where: str
    in_dtypes: List[np.dtype]
    in_ndims: List[int]
    out_dtypes: List[np.dtype]
    out_ndims: List[int]
    depth: int = 0
    # builds a nested graph (Scan's inner function); given by the runtime, so ops need not import it
    build_graph: Optional[Callable[..., Any]] = field(default=None, repr=False)

    def bad(self, what: str) -> GraphSpecError:
        return GraphSpecError(f"{self.where}: {what}")


@dataclass(frozen=True)
class OpEntry:
    name: str
    factory: Callable[[Dict[str, Any], NodeInfo], Kernel]
    inputs: Optional[Tuple[int, Optional[int]]]  # (min, max or None); None: any
    outputs: int  # -1: any
    attrs: Tuple[str, ...] = ()  # the attribute names it reads; a file giving others is refused


OPS: Dict[str, OpEntry] = {}
# ops whose output content is undefined (PyTensor returns uninitialised memory): never compared
UNDEFINED_CONTENT = {"AllocEmpty"}


def op(name: str, inputs: Any = None, outputs: int = 1,
       attrs: Sequence[str] = ()) -> Callable[[Callable[..., Kernel]], Callable[..., Kernel]]:
    """Register the kernel factory of PyTensor op class ``name``.

    ``inputs``: an exact count, a ``(min, max)`` pair (max None: unbounded) or None (any);
    ``attrs``: the attribute names the factory reads (any other is refused at load).
    """
    def register(factory: Callable[..., Kernel]) -> Callable[..., Kernel]:
        if name in OPS:
            raise ValueError(f"op {name!r} is registered twice")
        bounds = (inputs, inputs) if isinstance(inputs, int) else inputs
        OPS[name] = OpEntry(name, factory, bounds, outputs, tuple(attrs))
        return factory
    return register


def op_names() -> List[str]:
    """Every tensor op a graph model may name."""
    return sorted(OPS)


# ---------------------------------------------------------------------------
# attribute readers (the file is untrusted: every attribute is type-checked)
# ---------------------------------------------------------------------------
def _int(attrs: Dict[str, Any], key: str, info: NodeInfo, lo: int = -2 ** 31, hi: int = 2 ** 31) -> int:
    v = attrs.get(key)
    if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
        raise info.bad(f"attribute {key!r} must be an integer in [{lo}, {hi}], got {str(v)[:40]}")
    return v


def _ints(attrs: Dict[str, Any], key: str, info: NodeInfo, lo: int = -2 ** 31, n: Optional[int] = None,
          allow_none: bool = False) -> Optional[Tuple[int, ...]]:
    v = attrs.get(key)
    if v is None and allow_none:
        return None
    if (not isinstance(v, list) or len(v) > 64 or (n is not None and len(v) != n)
            or not all(isinstance(i, int) and not isinstance(i, bool) and lo <= i < 2 ** 31 for i in v)):
        raise info.bad(f"attribute {key!r} must be a list of {n or 'some'} integers >= {lo}, got {str(v)[:60]}")
    return tuple(v)


def _bool(attrs: Dict[str, Any], key: str, info: NodeInfo) -> bool:
    v = attrs.get(key)
    if not isinstance(v, bool):
        raise info.bad(f"attribute {key!r} must be true or false, got {str(v)[:40]}")
    return v


def _choice(attrs: Dict[str, Any], key: str, info: NodeInfo, choices: Sequence[str]) -> str:
    v = attrs.get(key)
    if v not in choices:
        raise info.bad(f"attribute {key!r} must be one of {', '.join(choices)}, got {str(v)[:40]}")
    return v


def _dtype(attrs: Dict[str, Any], key: str, info: NodeInfo) -> np.dtype:
    v = attrs.get(key)
    if v not in DTYPES:
        raise info.bad(f"attribute {key!r} must be a dtype ({', '.join(DTYPES)}), got {str(v)[:40]}")
    return np.dtype(v)


def _axis(a: Any, ndim: int) -> int:
    return a + ndim if a < 0 else a


def _as_int(x: np.ndarray, info: NodeInfo, what: str) -> int:
    x = np.asarray(x)
    if x.ndim != 0 or x.dtype.kind not in "iub":
        raise TwinError(f"{info.where}: {what} must be an integer scalar, got {x.dtype}{x.shape}")
    return int(x)


# Whether this thread is interpreting a graph (GraphModel.run(planned=False), or a plan's trace): a
# Scan then interprets its inner graph too, instead of running the inner graph's plan.
_INTERPRETING = threading.local()


def interpreting() -> bool:
    """True while this thread runs :meth:`layers_np.graph.model._Plan.execute` (see :func:`interpreted`)."""
    return getattr(_INTERPRETING, "depth", 0) > 0


class interpreted:
    """Context manager marking this thread as interpreting a graph (nestable)."""

    def __enter__(self) -> None:
        _INTERPRETING.depth = getattr(_INTERPRETING, "depth", 0) + 1

    def __exit__(self, *exc: Any) -> None:
        _INTERPRETING.depth -= 1


# No allocation a graph asks for may hold more elements than this (a hostile file's constants could
# otherwise ask for terabytes); layers_np.graph.ops.MAX_ALLOC_ELEMENTS may be raised by the caller.
MAX_ALLOC_ELEMENTS = 2 ** 31


def _shape_arg(xs: Sequence[np.ndarray], info: NodeInfo) -> Tuple[int, ...]:
    dims = tuple(_as_int(x, info, "a shape entry") for x in xs)
    if any(d < 0 for d in dims):
        raise TwinError(f"{info.where}: negative dimension in shape {dims}")
    size = 1
    for d in dims:
        size *= d
    if size > MAX_ALLOC_ELEMENTS:
        raise TwinError(f"{info.where}: an allocation of shape {dims} is over the limit of {MAX_ALLOC_ELEMENTS} "
                        f"elements (layers_np.graph.ops.MAX_ALLOC_ELEMENTS)")
    return dims


# ---------------------------------------------------------------------------
# elementwise, casts and identities
# ---------------------------------------------------------------------------
@op("Elemwise", inputs=(1, None), outputs=-1, attrs=("scalar",))
def _elemwise(attrs: Dict[str, Any], info: NodeInfo) -> Kernel:
    fn = build_scalar(attrs.get("scalar"), info.out_dtypes, len(info.in_dtypes), info.where, info.depth)
    ndims = info.out_ndims

    def run(*xs: np.ndarray) -> List[np.ndarray]:
        shape = np.broadcast_shapes(*(x.shape for x in xs))
        outs = fn(*xs)
        # an op of broadcast operands that ignores some of them (Second, Switch on constants) still
        # has the broadcast shape
        return [o if o.shape == shape else np.broadcast_to(o, shape).copy() for o in outs[:len(ndims)]]
    return run


@op("ScalarOp", inputs=(1, None), outputs=-1, attrs=("scalar",))
def _scalar_node(attrs: Dict[str, Any], info: NodeInfo) -> Kernel:
    """A scalar op applied to scalars (shape arithmetic between ScalarFromTensor and TensorFromScalar)."""
    return build_scalar(attrs.get("scalar"), info.out_dtypes, len(info.in_dtypes), info.where, info.depth)


def _identity(attrs: Dict[str, Any], info: NodeInfo) -> Kernel:
    return lambda x, *rest: [x]


for _name in ("ScalarFromTensor", "TensorFromScalar", "Unbroadcast"):
    op(_name, inputs=1)(_identity)


@op("SpecifyShape", inputs=(1, None))
def _specify_shape(attrs: Dict[str, Any], info: NodeInfo) -> Kernel:
    def run(x: np.ndarray, *shape: np.ndarray) -> List[np.ndarray]:
        if len(shape) != x.ndim:
            raise TwinError(f"{info.where}: SpecifyShape gives {len(shape)} dimensions for a {x.ndim}-d input")
        for axis, s in enumerate(shape):
            s = np.asarray(s)
            if s.ndim == 0 and s.dtype.kind in "iu" and int(s) >= 0 and int(s) != x.shape[axis]:
                raise TwinError(f"{info.where}: the input has shape {x.shape}, the graph specifies {axis}: {int(s)}")
        return [x]
    return run


@op("Assert", inputs=(1, None), attrs=("msg",))
def _assert(attrs: Dict[str, Any], info: NodeInfo) -> Kernel:
    msg = attrs.get("msg", "")
    msg = msg[:200] if isinstance(msg, str) else ""

    def run(x: np.ndarray, *conditions: np.ndarray) -> List[np.ndarray]:
        if not all(np.all(c) for c in conditions):
            raise TwinError(f"{info.where}: assertion failed: {msg}")
        return [x]
    return run


@op("DimShuffle", inputs=1, attrs=("new_order",))
def _dimshuffle(attrs: Dict[str, Any], info: NodeInfo) -> Kernel:
    order = attrs.get("new_order")
    ndim = info.in_ndims[0]
    if (not isinstance(order, list) or len(order) > 64
            or not all(o == "x" or (isinstance(o, int) and not isinstance(o, bool) and 0 <= o < ndim) for o in order)):
        raise info.bad(f"attribute 'new_order' must list input axes and 'x', got {str(order)[:60]}")
    kept = [o for o in order if o != "x"]
    if len(set(kept)) != len(kept):
        raise info.bad(f"new_order {order} repeats an axis")
    dropped = tuple(a for a in range(ndim) if a not in kept)
    shape_order = list(order)

    def run(x: np.ndarray) -> List[np.ndarray]:
        if any(x.shape[a] != 1 for a in dropped):
            raise TwinError(f"{info.where}: DimShuffle drops axes {dropped} of shape {x.shape}, which are not 1")
        y = x.transpose(kept + list(dropped)).reshape([x.shape[a] for a in kept]) if dropped else x.transpose(kept)
        return [y.reshape([1 if o == "x" else x.shape[o] for o in shape_order])]
    return run


@op("Reshape", inputs=2, attrs=("ndim",))
def _reshape(attrs: Dict[str, Any], info: NodeInfo) -> Kernel:
    ndim = _int(attrs, "ndim", info, 0, 64)

    def run(x: np.ndarray, shape: np.ndarray) -> List[np.ndarray]:
        shape = np.asarray(shape)
        if shape.ndim != 1 or shape.shape[0] != ndim or shape.dtype.kind not in "iu":
            raise TwinError(f"{info.where}: Reshape{{{ndim}}} needs {ndim} integer dimensions, got {shape}")
        return [x.reshape(tuple(int(s) for s in shape))]
    return run


@op("Shape_i", inputs=1, attrs=("i",))
def _shape_i(attrs: Dict[str, Any], info: NodeInfo) -> Kernel:
    i = _int(attrs, "i", info, 0, max(info.in_ndims[0] - 1, 0))
    return lambda x: [np.asarray(x.shape[i], dtype=np.int64)]


@op("MakeVector", inputs=(0, None))
def _make_vector(attrs: Dict[str, Any], info: NodeInfo) -> Kernel:
    dtype = info.out_dtypes[0]
    return lambda *xs: [np.asarray([np.asarray(x).item() for x in xs], dtype=dtype).reshape(len(xs))]


# ---------------------------------------------------------------------------
# indexing
# ---------------------------------------------------------------------------
def _index_plan(attrs: Dict[str, Any], info: NodeInfo) -> List[Any]:
    """``idx_list`` as data: ``{"index": true}`` (an integer input), ``{"slice": [a, b, c]}`` with each
    entry ``null`` (omitted) or ``true`` (the next integer input)."""
    idx = attrs.get("idx_list")
    if not isinstance(idx, list) or len(idx) > 64:
        raise info.bad("attribute 'idx_list' must be a list")
    plan = []
    for entry in idx:
        if isinstance(entry, dict) and entry.get("index") is True and len(entry) == 1:
            plan.append(None)
        elif (isinstance(entry, dict) and len(entry) == 1 and isinstance(entry.get("slice"), list)
              and len(entry["slice"]) == 3 and all(e is None or e is True for e in entry["slice"])):
            plan.append(tuple(entry["slice"]))
        else:
            raise info.bad(f"bad idx_list entry {str(entry)[:60]}")
    return plan


def _make_index(plan: List[Any], values: Sequence[np.ndarray], info: NodeInfo) -> Tuple[Any, ...]:
    it = iter(values)
    out = []
    for entry in plan:
        if entry is None:
            out.append(_as_int(next(it), info, "an index"))
        else:
            out.append(slice(*(None if e is None else _as_int(next(it), info, "a slice bound") for e in entry)))
    return tuple(out)


def _count_inputs(plan: List[Any]) -> int:
    return sum(1 if e is None else sum(x is True for x in e) for e in plan)


def written_region(attrs: Dict[str, Any], index_values: Sequence[np.ndarray]) -> Tuple[Any, ...]:
    """The index an (Inc)Subtensor node with attributes ``attrs`` applies, given its index inputs
    (a certification compares only the region an IncSubtensor writes into uninitialised memory)."""
    info = NodeInfo("written_region", [], [], [], [])
    return _make_index(_index_plan(attrs, info), index_values, info)


@op("Subtensor", inputs=(1, None), attrs=("idx_list",))
def _subtensor(attrs: Dict[str, Any], info: NodeInfo) -> Kernel:
    plan = _index_plan(attrs, info)
    if _count_inputs(plan) != len(info.in_dtypes) - 1:
        raise info.bad(f"idx_list needs {_count_inputs(plan)} index inputs, the node has {len(info.in_dtypes) - 1}")

    def run(x: np.ndarray, *idx: np.ndarray) -> List[np.ndarray]:
        index = _make_index(plan, idx, info)
        for axis, i in enumerate(index):
            if not isinstance(i, slice) and not -x.shape[axis] <= i < x.shape[axis]:
                raise TwinError(f"{info.where}: index {i} out of bounds for axis {axis} of size {x.shape[axis]}")
        return [np.asarray(x[index])]
    return run


@op("IncSubtensor", inputs=(2, None), attrs=("idx_list", "set_instead_of_inc"))
def _inc_subtensor(attrs: Dict[str, Any], info: NodeInfo) -> Kernel:
    plan = _index_plan(attrs, info)
    set_instead = _bool(attrs, "set_instead_of_inc", info)
    if _count_inputs(plan) != len(info.in_dtypes) - 2:
        raise info.bad(f"idx_list needs {_count_inputs(plan)} index inputs, the node has {len(info.in_dtypes) - 2}")

    def run(x: np.ndarray, y: np.ndarray, *idx: np.ndarray) -> List[np.ndarray]:
        index = _make_index(plan, idx, info)
        out = x.copy()
        if set_instead:
            out[index] = y
        else:
            out[index] += y
        return [out]
    return run


@op("AdvancedSubtensor1", inputs=2)
def _advanced_subtensor1(attrs: Dict[str, Any], info: NodeInfo) -> Kernel:
    def run(x: np.ndarray, i: np.ndarray) -> List[np.ndarray]:
        if i.dtype.kind not in "iu":
            raise TwinError(f"{info.where}: indices must be integers, got {i.dtype}")
        if i.size and (i.min() < -x.shape[0] or i.max() >= x.shape[0]):
            raise TwinError(f"{info.where}: index out of bounds for axis 0 of size {x.shape[0]} "
                            f"(indices from {int(i.min())} to {int(i.max())})")
        return [x[i]]
    return run


@op("AdvancedIncSubtensor1", inputs=3, attrs=("set_instead_of_inc",))
def _advanced_inc_subtensor1(attrs: Dict[str, Any], info: NodeInfo) -> Kernel:
    set_instead = _bool(attrs, "set_instead_of_inc", info)

    def run(x: np.ndarray, y: np.ndarray, i: np.ndarray) -> List[np.ndarray]:
        out = x.copy()
        if set_instead:
            out[i] = y
        else:
            np.add.at(out, i, y)
        return [out]
    return run


# ---------------------------------------------------------------------------
# allocation and joining
# ---------------------------------------------------------------------------
@op("Alloc", inputs=(1, None))
def _alloc(attrs: Dict[str, Any], info: NodeInfo) -> Kernel:
    dtype = info.out_dtypes[0]

    def run(value: np.ndarray, *shape: np.ndarray) -> List[np.ndarray]:
        dims = _shape_arg(shape, info)
        return [np.array(np.broadcast_to(value.astype(dtype, copy=False), dims))]
    return run


@op("BroadcastTo", inputs=(1, None))
def _broadcast_to(attrs: Dict[str, Any], info: NodeInfo) -> Kernel:
    """x broadcast to a shape (a new array: PyTensor's op returns a read-only view, values the same)."""
    def run(x: np.ndarray, *shape: np.ndarray) -> List[np.ndarray]:
        dims = _shape_arg(shape, info)
        return [np.array(np.broadcast_to(x, dims))]
    return run


@op("AllocEmpty", inputs=(0, None), attrs=("dtype",))
def _alloc_empty(attrs: Dict[str, Any], info: NodeInfo) -> Kernel:
    dtype = _dtype(attrs, "dtype", info)
    # zeros, not empty: the content is undefined in Theano, and a deterministic runtime is easier to debug
    return lambda *shape: [np.zeros(_shape_arg(shape, info), dtype=dtype)]


@op("Join", inputs=(2, None))
def _join(attrs: Dict[str, Any], info: NodeInfo) -> Kernel:
    def run(axis: np.ndarray, *xs: np.ndarray) -> List[np.ndarray]:
        a = _as_int(axis, info, "the axis")
        if not -xs[0].ndim <= a < xs[0].ndim:
            raise TwinError(f"{info.where}: axis {a} out of range for {xs[0].ndim}-d inputs")
        return [np.concatenate(xs, axis=a)]
    return run


# ---------------------------------------------------------------------------
# linear algebra
# ---------------------------------------------------------------------------
@op("Dot", inputs=2)
def _dot(attrs: Dict[str, Any], info: NodeInfo) -> Kernel:
    dtype = info.out_dtypes[0]
    return lambda x, y: [np.asarray(np.dot(x.astype(dtype, copy=False), y.astype(dtype, copy=False)))]


@op("Dot22", inputs=2)
def _dot22(attrs: Dict[str, Any], info: NodeInfo) -> Kernel:
    return lambda x, y: [np.dot(x, y)]


@op("Dot22Scalar", inputs=3)
def _dot22_scalar(attrs: Dict[str, Any], info: NodeInfo) -> Kernel:
    return lambda x, y, a: [np.dot(x, y) * a.astype(info.out_dtypes[0])]


@op("Gemm", inputs=5)
def _gemm(attrs: Dict[str, Any], info: NodeInfo) -> Kernel:
    """z <- b z + a x y (BLAS gemm; b == 0 ignores z, as BLAS does)."""
    dt = info.out_dtypes[0]

    def run(z: np.ndarray, a: np.ndarray, x: np.ndarray, y: np.ndarray, b: np.ndarray) -> List[np.ndarray]:
        prod = np.dot(x, y) * a.astype(dt)
        return [prod if float(b) == 0 else z * b.astype(dt) + prod]
    return run


@op("Gemv", inputs=5)
def _gemv(attrs: Dict[str, Any], info: NodeInfo) -> Kernel:
    """y <- b y + a A x."""
    dt = info.out_dtypes[0]

    def run(y: np.ndarray, a: np.ndarray, A: np.ndarray, x: np.ndarray, b: np.ndarray) -> List[np.ndarray]:
        prod = np.dot(A, x) * a.astype(dt)
        return [prod if float(b) == 0 else y * b.astype(dt) + prod]
    return run


@op("Ger", inputs=4)
def _ger(attrs: Dict[str, Any], info: NodeInfo) -> Kernel:
    """A <- A + a outer(x, y)."""
    dt = info.out_dtypes[0]
    return lambda A, a, x, y: [A + a.astype(dt) * np.outer(x, y)]


# ---------------------------------------------------------------------------
# reductions and softmax
# ---------------------------------------------------------------------------
_REDUCERS = {"Add": np.add, "Mul": np.multiply, "ScalarMaximum": np.maximum, "ScalarMinimum": np.minimum,
             "AND": np.logical_and, "OR": np.logical_or}


@op("CAReduce", inputs=1, attrs=("scalar", "axis", "acc_dtype"))
def _careduce(attrs: Dict[str, Any], info: NodeInfo) -> Kernel:
    """Sum, Prod, Max, Min, All, Any: ``axis`` null reduces every axis; ``acc_dtype`` accumulates."""
    scalar = _choice(attrs, "scalar", info, sorted(_REDUCERS))
    ufunc = _REDUCERS[scalar]
    axis = _ints(attrs, "axis", info, 0, allow_none=True)
    ndim = info.in_ndims[0]
    if axis is not None and (any(a >= ndim for a in axis) or len(set(axis)) != len(axis)):
        raise info.bad(f"axis {axis} does not fit a {ndim}-d input")
    acc = _dtype(attrs, "acc_dtype", info) if attrs.get("acc_dtype") is not None else None
    axes = tuple(range(ndim)) if axis is None else axis

    def run(x: np.ndarray) -> List[np.ndarray]:
        if scalar in ("ScalarMaximum", "ScalarMinimum"):
            if any(x.shape[a] == 0 for a in axes):
                raise TwinError(f"{info.where}: max/min over an empty axis")
            return [np.asarray(ufunc.reduce(x, axis=axes))]
        if acc is not None:
            return [np.asarray(ufunc.reduce(x.astype(acc, copy=False), axis=axes, dtype=acc))]
        return [np.asarray(ufunc.reduce(x, axis=axes))]
    return run


@op("Argmax", inputs=1, attrs=("axis",))
def _argmax(attrs: Dict[str, Any], info: NodeInfo) -> Kernel:
    axis = _ints(attrs, "axis", info, 0, allow_none=True)
    ndim = info.in_ndims[0]
    axes = tuple(range(ndim)) if axis is None else axis

    def run(x: np.ndarray) -> List[np.ndarray]:
        keep = [a for a in range(x.ndim) if a not in axes]
        moved = x.transpose(keep + list(axes)).reshape([x.shape[a] for a in keep] + [-1])
        return [np.asarray(np.argmax(moved, axis=-1))]
    return run


@op("MaxAndArgmax", inputs=1, outputs=2, attrs=("axis",))
def _max_and_argmax(attrs: Dict[str, Any], info: NodeInfo) -> Kernel:
    """max and argmax over the same axes (PyTensor merges the two when both are used)."""
    arg = _argmax(attrs, info)
    axis = _ints(attrs, "axis", info, 0, allow_none=True)
    axes = tuple(range(info.in_ndims[0])) if axis is None else axis

    def run(x: np.ndarray) -> List[np.ndarray]:
        if any(x.shape[a] == 0 for a in axes):
            raise TwinError(f"{info.where}: max over an empty axis")
        return [np.asarray(np.max(x, axis=axes)), arg(x)[0]]
    return run


def _softmax_rows(x: np.ndarray, axis: int) -> np.ndarray:
    moved = np.moveaxis(x, axis, -1)
    return np.moveaxis(_nl.softmax(moved) if moved.ndim else moved, -1, axis)


@op("Softmax", inputs=1, attrs=("axis",))
def _softmax(attrs: Dict[str, Any], info: NodeInfo) -> Kernel:
    axis = attrs.get("axis")
    ndim = info.in_ndims[0]
    if axis is not None and (isinstance(axis, bool) or not isinstance(axis, int) or not -ndim <= axis < ndim):
        raise info.bad(f"attribute 'axis' must be null or an axis of the {ndim}-d input, got {str(axis)[:30]}")

    def run(x: np.ndarray) -> List[np.ndarray]:
        if axis is None:  # PyTensor normalises over every axis
            return [_nl.softmax(x.reshape(-1)).reshape(x.shape)]
        return [_softmax_rows(x, _axis(axis, x.ndim))]
    return run


@op("LogSoftmax", inputs=1, attrs=("axis",))
def _log_softmax(attrs: Dict[str, Any], info: NodeInfo) -> Kernel:
    axis = attrs.get("axis")
    if axis is not None and (isinstance(axis, bool) or not isinstance(axis, int)):
        raise info.bad("attribute 'axis' must be null or an integer")

    def run(x: np.ndarray) -> List[np.ndarray]:
        axes = None if axis is None else _axis(axis, x.ndim)
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            shifted = x - np.max(x, axis=axes, keepdims=True)
            return [shifted - np.log(np.sum(np.exp(shifted), axis=axes, keepdims=True))]
    return run


@op("SoftmaxWithBias", inputs=2)
def _softmax_with_bias(attrs: Dict[str, Any], info: NodeInfo) -> Kernel:
    """Row-wise softmax of ``x + b`` (2-D x, 1-D b), PyTensor's C code: ``(x + b)`` rounded, then softmax."""
    def run(x: np.ndarray, b: np.ndarray) -> List[np.ndarray]:
        if x.ndim != 2 or b.ndim != 1:
            raise TwinError(f"{info.where}: SoftmaxWithBias needs 2-d x and 1-d b, got {x.shape} and {b.shape}")
        return [_nl.softmax(x + b)]
    return run


# ---------------------------------------------------------------------------
# convolution and pooling (the layer twins' kernels)
# ---------------------------------------------------------------------------
def _conv_attrs(attrs: Dict[str, Any], info: NodeInfo, nd: int) -> Tuple[Any, Tuple[int, ...], Tuple[int, ...], int]:
    border = attrs.get("border_mode")
    if border not in ("valid", "full", "half"):
        pads = border
        if (not isinstance(pads, list) or len(pads) != nd
                or not all(isinstance(p, list) and len(p) == 2 and all(isinstance(v, int) and not isinstance(v, bool)
                                                                      and 0 <= v < 2 ** 20 for v in p) for p in pads)):
            raise info.bad(f"attribute 'border_mode' must be valid, full, half or {nd} [lo, hi] pads, "
                           f"got {str(border)[:60]}")
        border = tuple((p[0], p[1]) for p in pads)
    subsample = _ints(attrs, "subsample", info, 1, n=nd)
    dilation = _ints(attrs, "filter_dilation", info, 1, n=nd)
    groups = _int(attrs, "num_groups", info, 1, 2 ** 20)
    if attrs.get("unshared", False) is not False:
        raise info.bad("unshared convolutions are not supported")
    return border, subsample, dilation, groups


def _pads(border: Any, kernel: Sequence[int], dilation: Sequence[int]) -> List[Tuple[int, int]]:
    dk = [(k - 1) * d + 1 for k, d in zip(kernel, dilation)]
    if border == "valid":
        return [(0, 0)] * len(dk)
    if border == "full":
        return [(k - 1, k - 1) for k in dk]
    if border == "half":
        return [(k // 2, k // 2) for k in dk]
    return list(border)


def _corr_factory(nd: int) -> Callable[[Dict[str, Any], NodeInfo], Kernel]:
    def factory(attrs: Dict[str, Any], info: NodeInfo) -> Kernel:
        border, subsample, dilation, groups = _conv_attrs(attrs, info, nd)

        def run(x: np.ndarray, w: np.ndarray) -> List[np.ndarray]:
            if x.ndim != nd + 2 or w.ndim != nd + 2 or x.shape[1] != w.shape[1] * groups or w.shape[0] % groups:
                raise TwinError(f"{info.where}: input {x.shape} and filters {w.shape} do not fit "
                                f"(num_groups={groups})")
            return [corr_nd(x, w, _pads(border, w.shape[2:], dilation), subsample, dilation, groups)]
        return run
    return factory


def _corr_grad_inputs_factory(nd: int) -> Callable[[Dict[str, Any], NodeInfo], Kernel]:
    """CorrMM_gradInputs(W, top, shape): the transpose of the correlation, as transposed convolutions use it."""
    def factory(attrs: Dict[str, Any], info: NodeInfo) -> Kernel:
        border, subsample, dilation, groups = _conv_attrs(attrs, info, nd)
        if groups != 1:
            raise info.bad("grouped transposed convolutions are not supported")

        def run(w: np.ndarray, top: np.ndarray, *shape: np.ndarray) -> List[np.ndarray]:
            K = w.shape[2:]
            pads = _pads(border, K, dilation)
            if shape:
                size = _shape_arg(shape, info)
            else:
                size = tuple((top.shape[2 + i] - 1) * subsample[i] + (K[i] - 1) * dilation[i] + 1
                             - pads[i][0] - pads[i][1] for i in range(nd))
            # corr_transpose_nd takes w as (C_in of the transpose, F, *K): CorrMM's (F, C, *K) is exactly that
            return [corr_transpose_nd(top, w, pads, subsample, dilation, size)]
        return run
    return factory


_CONV_ATTRS = ("border_mode", "subsample", "filter_dilation", "num_groups", "unshared")
op("CorrMM", inputs=2, attrs=_CONV_ATTRS)(_corr_factory(2))
op("Corr3dMM", inputs=2, attrs=_CONV_ATTRS)(_corr_factory(3))
op("CorrMM_gradInputs", inputs=(2, 4), attrs=_CONV_ATTRS)(_corr_grad_inputs_factory(2))
op("Corr3dMMGradInputs", inputs=(2, 5), attrs=_CONV_ATTRS)(_corr_grad_inputs_factory(3))


@op("Pool", inputs=4, attrs=("ignore_border", "mode", "ndim"))
def _pool(attrs: Dict[str, Any], info: NodeInfo) -> Kernel:
    ignore_border = _bool(attrs, "ignore_border", info)
    mode = _choice(attrs, "mode", info, ("max", "sum", "average_inc_pad", "average_exc_pad"))
    nd = _int(attrs, "ndim", info, 1, 3)

    def run(x: np.ndarray, ws: np.ndarray, stride: np.ndarray, pad: np.ndarray) -> List[np.ndarray]:
        vals = []
        for name, v in (("ws", ws), ("stride", stride), ("pad", pad)):
            v = np.asarray(v)
            if v.shape != (nd,) or v.dtype.kind not in "iu" or (v < 0).any() or (name != "pad" and (v < 1).any()):
                raise TwinError(f"{info.where}: Pool {name} must be {nd} non-negative integers, got {v}")
            vals.append(tuple(int(i) for i in v))
        return [pool_nd(x, vals[0], vals[1], vals[2], ignore_border, mode)]
    return run



# ---------------------------------------------------------------------------
# Scan: a loop over time around a nested graph
# ---------------------------------------------------------------------------
def _taps(attrs: Dict[str, Any], key: str, info: NodeInfo) -> List[Tuple[int, ...]]:
    v = attrs.get(key)
    if (not isinstance(v, list) or len(v) > 1024
            or not all(isinstance(t, list) and 0 < len(t) <= 64
                       and all(isinstance(i, int) and not isinstance(i, bool) and -2 ** 20 < i < 0 for i in t)
                       for t in v)):
        raise info.bad(f"attribute {key!r} must be a list of lists of negative taps, got {str(v)[:60]}")
    return [tuple(t) for t in v]


@op("Scan", inputs=(1, None), outputs=-1,
    attrs=("n_seqs", "mit_sot_taps", "sit_sot_taps", "n_nit_sot", "n_shared_outs", "graph"))
def _scan(attrs: Dict[str, Any], info: NodeInfo) -> Kernel:
    """PyTensor's ``Scan.perform`` for forward graphs: sequences, mit_sot/sit_sot states (possibly in
    circular buffers shorter than the loop, as the save-memory rewrite leaves them), nit_sot outputs,
    shared outputs and non-sequences; no mit_mot (gradients) and no while condition."""
    n_seqs = _int(attrs, "n_seqs", info, 0, 1024)
    state_taps = _taps(attrs, "mit_sot_taps", info) + _taps(attrs, "sit_sot_taps", info)
    n_nit = _int(attrs, "n_nit_sot", info, 0, 1024)
    n_shared = _int(attrs, "n_shared_outs", info, 0, 1024)
    n_states = len(state_taps)
    n_outer_outs = n_states + n_nit + n_shared
    if len(info.out_dtypes) != n_outer_outs:
        raise info.bad(f"a Scan with these attributes has {n_outer_outs} outputs, the node lists "
                       f"{len(info.out_dtypes)}")
    first_non_seq = 1 + n_seqs + n_states + n_shared + n_nit
    if len(info.in_dtypes) < first_non_seq:
        raise info.bad(f"a Scan with these attributes needs at least {first_non_seq} inputs")
    if info.build_graph is None:
        raise info.bad("nested graphs are not available here")
    inner = info.build_graph(attrs.get("graph"), f"{info.where} inner graph")
    n_inner_in = n_seqs + sum(len(t) for t in state_taps) + n_shared + (len(info.in_dtypes) - first_non_seq)
    if len(inner.input_names) != n_inner_in or len(inner.outputs) != n_outer_outs:
        raise info.bad(f"the inner graph has {len(inner.input_names)} inputs and {len(inner.outputs)} outputs; the "
                       f"Scan needs {n_inner_in} and {n_outer_outs}")
    mintaps = [min(t) for t in state_taps] + [0] * n_nit
    out_dtypes = info.out_dtypes
    out_ndims = info.out_ndims

    def run(*outer: np.ndarray) -> List[np.ndarray]:
        n_steps = _as_int(outer[0], info, "the number of steps")
        if n_steps < 0:
            raise TwinError(f"{info.where}: Scan asked to run for a negative number of steps {n_steps}")
        seqs = outer[1:1 + n_seqs]
        for k, s in enumerate(seqs):
            if s.shape[0] < n_steps:
                raise TwinError(f"{info.where}: sequence {k} has {s.shape[0]} steps, the Scan runs {n_steps}")
        offset = 1 + n_seqs
        bufs = [np.array(b, dtype=out_dtypes[k]) for k, b in enumerate(outer[offset:offset + n_states])]
        offset += n_states
        shared = list(outer[offset:offset + n_shared])
        offset += n_shared
        store = [b.shape[0] for b in bufs] + [_as_int(n, info, "a nit_sot length")
                                              for n in outer[offset:offset + n_nit]]
        non_seqs = list(outer[first_non_seq:])
        nit: List[Any] = [None] * n_nit
        if n_steps == 0:
            nit = [np.empty((0,) * out_ndims[n_states + j], dtype=out_dtypes[n_states + j]) for j in range(n_nit)]
            return bufs + nit + shared
        if any(s <= 0 for s in store):
            raise TwinError(f"{info.where}: an output buffer of the Scan has no room ({store})")
        _shape_arg([np.asarray(s) for s in store[n_states:]], info)  # nit_sot buffers are allocated below
        if not seqs and n_steps > MAX_ALLOC_ELEMENTS:
            raise TwinError(f"{info.where}: a Scan of {n_steps} steps without sequences is over the limit")
        pos = [(-mintaps[k]) % store[k] for k in range(n_states + n_nit)]
        with np.errstate(all="ignore"):  # once for the loop, not per step (Theano neither warns nor raises)
            return _scan_loop(n_steps, seqs, bufs, shared, non_seqs, nit, store, pos)

    def _scan_loop(n_steps: int, seqs: Sequence[np.ndarray], bufs: List[np.ndarray], shared: List[Any],
                   non_seqs: List[Any], nit: List[Any], store: List[int], pos: List[int]) -> List[np.ndarray]:
        runtime = None
        interpret = interpreting()
        fixed = [np.asarray(a) for a in non_seqs]
        shared = [np.asarray(a) for a in shared]
        tap_list = [(k, t) for k, taps in enumerate(state_taps) for t in taps]
        for i in range(n_steps):
            # [i, ...]: a 0-d array (not a numpy scalar) from a 1-d sequence or state
            args = [s[i, ...] for s in seqs]
            args += [bufs[k][(pos[k] + t) % store[k], ...] for k, t in tap_list]
            args += shared
            args += fixed
            # the inner graph's planned runtime (layers_np.graph.runtime), looked up once per call:
            # every step has the same signature (unless shared outputs change shape); its outputs
            # live in its buffers, so each is copied below before the next step
            if interpret:
                values = inner.execute(args)
            elif runtime is None or n_shared:
                runtime, values = inner.planned(args, fresh_outputs=False)
            else:
                values = runtime.run_quiet(args)
            outs = [values[o] for o in inner.outputs]
            for k in range(n_states):
                bufs[k][pos[k]] = outs[k]
            for j in range(n_nit):
                value = np.asarray(outs[n_states + j])
                if i == 0:
                    nit[j] = np.empty((store[n_states + j],) + value.shape, dtype=out_dtypes[n_states + j])
                elif value.shape != nit[j].shape[1:]:
                    raise TwinError(f"{info.where}: output {n_states + j} changed shape during the Scan")
                nit[j][pos[n_states + j]] = value
            shared = [np.array(o) for o in outs[n_states + n_nit:]]  # not the runtime's buffer
            pos = [(p + 1) % s for p, s in zip(pos, store)]
        results = bufs + nit
        for k, buf in enumerate(results):  # circular buffers back in time order, as Scan.perform leaves them
            written = n_steps - mintaps[k]
            if store[k] < written and pos[k] < store[k]:
                results[k] = np.concatenate([buf[pos[k]:], buf[:pos[k]]])
            elif store[k] > written:
                buf[written:] = 0
        return results + shared
    return run
