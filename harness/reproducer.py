"""Reproducers: the inputs, weights and hyperparameters of a failing case in one .npz.

The file holds only numeric arrays and a JSON string (no pickles), and replays with
``twins replay FILE``. Reading goes through the bounded reader of
:mod:`layers_np.safe_npz`; the metadata is validated against a schema and function names
resolve only to registered functions or ``layers_np.nonlinearities``, so a crafted file
fails with one :class:`ReproducerError` line.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
from typing import Any, Callable, List, Optional, Tuple

import numpy as np

from layers_np.atomic import atomic_savez
from layers_np.safe_npz import Limits, ModelFileError, NpzReader, current_limits, loads_json

from .strategies import Case, Fn, Values

__all__ = ["save_reproducer", "load_reproducer", "ReproducerError", "encode", "decode"]

_MAX_INPUTS = 64  # no layer pair takes more inputs or parameters than this
_MAX_DIM = 2 ** 31 - 1
# hyperparameters are drawn small (sizes of a few units); a crafted num_units=10**9 would make
# the Theano side allocate its initial weights before the stored ones replace them
MAX_KWARG_INT = 2 ** 16


class ReproducerError(ModelFileError):
    """A reproducer file that cannot be replayed; ``reason`` is one line."""


def encode(value: Any) -> Any:
    if isinstance(value, Fn):
        return {"__fn__": value.name, "args": {k: encode(v) for k, v in value.args}}
    if isinstance(value, tuple):
        return {"__tuple__": [encode(v) for v in value]}
    if isinstance(value, list):
        return [encode(v) for v in value]
    if isinstance(value, dict):
        return {k: encode(v) for k, v in value.items()}
    if isinstance(value, np.integer):  # kept a numpy integer on replay (see strategies.with_numpy_integers)
        return {"__np_int__": value.dtype.name, "value": value.item()}
    if isinstance(value, np.generic):
        return value.item()
    return value


def _allowed_function(name: Any) -> bool:
    from layers_np import nonlinearities

    from layers_theano.twins import named

    return isinstance(name, str) and (name in nonlinearities.__all__ or named(name) is not None)


def decode(value: Any, label: str = "<reproducer>") -> Any:
    """Inverse of :func:`encode`; function names outside the allow-list raise ReproducerError."""
    if isinstance(value, dict):
        if "__fn__" in value:
            if set(value) - {"__fn__", "args"} or not isinstance(value.get("args", {}), dict):
                raise ReproducerError(label, f"malformed function entry {str(value)[:80]}")
            if not _allowed_function(value["__fn__"]):
                raise ReproducerError(label, f"function {str(value['__fn__'])[:80]!r} is neither registered "
                                             f"(harness.strategies.register_function) nor in layers_np.nonlinearities")
            return Fn(value["__fn__"], **{k: decode(v, label) for k, v in value.get("args", {}).items()})
        if "__np_int__" in value:
            if (set(value) != {"__np_int__", "value"} or value["__np_int__"] not in ("int64", "int32")
                    or not _is_int(value["value"])):
                raise ReproducerError(label, f"malformed numpy integer entry {str(value)[:80]}")
            return np.dtype(value["__np_int__"]).type(value["value"])
        if "__tuple__" in value:
            if set(value) != {"__tuple__"} or not isinstance(value["__tuple__"], list):
                raise ReproducerError(label, f"malformed tuple entry {str(value)[:80]}")
            return tuple(decode(v, label) for v in value["__tuple__"])
        return {k: decode(v, label) for k, v in value.items()}
    if isinstance(value, list):
        return [decode(v, label) for v in value]
    return value


def save_reproducer(report_dir: str, pair: Any, built: Any) -> str:
    case: Case = built.case
    meta = {
        "pair": case.pair, "dtype": case.dtype, "kwargs": encode(case.kwargs),
        "input_shapes": [list(s) for s in case.input_shapes],
        "declared_shapes": [list(s) for s in case.declared_shapes],
        "values": {"dist": case.values.dist, "scale": case.values.scale, "seed": case.values.seed,
                   "param_scale": case.values.param_scale},
        "param_names": built.param_names,
        # how replay registers the pair again: the module whose import registers it
        "pairs_module": getattr(pair, "source", "") or "",
    }
    text = json.dumps(meta, sort_keys=True)
    digest = hashlib.sha256(text.encode()).hexdigest()[:10]
    path = os.path.join(report_dir, "reproducers", f"{case.pair}-{case.dtype}-{digest}.npz")
    arrays = {f"input_{i}": a for i, a in enumerate(built.inputs)}
    arrays.update({f"param_{i}": p for i, p in enumerate(built.params)})
    arrays["meta"] = np.array(text)
    atomic_savez(path, arrays)
    return path


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _check_meta(meta: Any, label: str) -> None:
    def bad(what: str) -> ReproducerError:
        return ReproducerError(label, f"bad metadata: {what}")

    if not isinstance(meta, dict):
        raise bad("not a JSON object")
    if not isinstance(meta.get("pair"), str) or not meta["pair"]:
        raise bad("'pair' must name a registered layer pair")
    if meta.get("dtype") not in ("float32", "float64"):
        raise bad(f"'dtype' must be float32 or float64, got {str(meta.get('dtype'))[:40]!r}")
    if not isinstance(meta.get("kwargs"), dict):
        raise bad("'kwargs' must be an object")
    for field in ("input_shapes", "declared_shapes"):
        shapes = meta.get(field)
        if not isinstance(shapes, list) or len(shapes) > _MAX_INPUTS or not all(
                isinstance(s, list) and len(s) <= 32 and all(
                    (d is None and field == "declared_shapes") or (_is_int(d) and 0 <= d <= _MAX_DIM) for d in s)
                for s in shapes):
            raise bad(f"{field!r} must be a list of shapes")
    if len(meta["declared_shapes"]) != len(meta["input_shapes"]):
        raise bad("'declared_shapes' and 'input_shapes' differ in length")
    for declared, shape in zip(meta["declared_shapes"], meta["input_shapes"]):
        if len(declared) != len(shape) or any(d is not None and d != s for d, s in zip(declared, shape)):
            raise bad(f"declared shape {declared} does not fit input shape {shape}")
    stack = [meta["kwargs"]]
    while stack:  # depth is bounded by the JSON reader
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, float) and not math.isfinite(item):
            raise bad(f"a hyperparameter is {item}")
        elif _is_int(item) and abs(item) > MAX_KWARG_INT:
            raise bad(f"a hyperparameter is {item}, over {MAX_KWARG_INT} (reproducers hold small fuzzed cases)")
    values = meta.get("values")
    if (not isinstance(values, dict) or not isinstance(values.get("dist"), str) or not _is_number(values.get("scale"))
            or not _is_int(values.get("seed")) or not _is_number(values.get("param_scale", 1.0))):
        raise bad("'values' needs dist (string), scale (finite number), seed (integer), param_scale (number)")
    names = meta.get("param_names")
    if not isinstance(names, list) or len(names) > _MAX_INPUTS or not all(isinstance(n, str) for n in names):
        raise bad("'param_names' must be a list of strings")
    module = meta.get("pairs_module", "")
    if not isinstance(module, str) or (module and not all(p.isidentifier() for p in module.split("."))):
        raise bad("'pairs_module' must be a dotted module name")


def load_reproducer(path: str, limits: Optional[Limits] = None,
                    on_pairs_module: Optional[Callable[[str], None]] = None) -> Tuple[Case, List[np.ndarray], List[np.ndarray]]:
    """The case, inputs and parameters of a reproducer file.

    ``on_pairs_module(name)`` is called, once the metadata is valid and before the
    hyperparameters are decoded, with the module that registered the pair ("" in files
    written before it was recorded: their pairs are the built-in catalogue's); replay loads the
    pairs there, so the function names the pair registered are known to the decoder.

    Raises
    ------
    ModelFileError
        :class:`ReproducerError` or a reader error, with a one-line reason.
    """
    limits = current_limits(limits)
    with NpzReader(path, None, limits) as reader:
        label = reader.label
        if "meta" not in reader.names:
            raise ReproducerError(label, "no 'meta' entry: not a twins reproducer (written by `twins certify`)")
        if reader.declared_bytes("meta") > 4 * limits.max_spec_bytes + 256:  # UTF-32 in a .npy
            raise ReproducerError(label, "the metadata is over Limits.max_spec_bytes")
        raw = reader.read("meta", kinds="U")
        if raw.ndim != 0:
            raise ReproducerError(label, "'meta' must be a 0-d string array")
        meta = loads_json(str(raw[()]).encode("utf-8"), label, "reproducer metadata", limits, error=ReproducerError)
        _check_meta(meta, label)
        n_in, n_par = len(meta["input_shapes"]), len(meta["param_names"])
        expected = {"meta"} | {f"input_{i}" for i in range(n_in)} | {f"param_{i}" for i in range(n_par)}
        if set(reader.names) != expected:
            odd = sorted(set(reader.names) ^ expected)
            raise ReproducerError(label, f"the arrays do not match the metadata ({', '.join(o[:40] for o in odd[:5])} "
                                         f"missing or unexpected)")
        inputs = []
        for i, shape in enumerate(meta["input_shapes"]):
            arr = reader.read(f"input_{i}")
            if list(arr.shape) != shape:
                raise ReproducerError(label, f"input_{i} has shape {arr.shape}, the metadata says {tuple(shape)}")
            inputs.append(arr)
        params = [reader.read(f"param_{i}") for i in range(n_par)]
    if on_pairs_module is not None:
        on_pairs_module(meta.get("pairs_module") or "")
    v = meta["values"]
    case = Case(pair=meta["pair"], dtype=meta["dtype"], kwargs=decode(meta["kwargs"], label),
                input_shapes=[tuple(s) for s in meta["input_shapes"]],
                declared_shapes=[tuple(s) for s in meta["declared_shapes"]],
                values=Values(v["dist"], float(v["scale"]), int(v["seed"]), float(v.get("param_scale", 1.0))))
    return case, inputs, params
