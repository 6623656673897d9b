"""Reproducers: the inputs, weights and hyperparameters of a failing case in one .npz.

The file holds only numeric arrays and a JSON string (no pickles), and replays with
``twins replay FILE``.
"""
from __future__ import annotations

import hashlib
import json
import os
from typing import Any, List, Tuple

import numpy as np

from layers_np._atomic import atomic_savez

from .strategies import Case, Fn, Values


def encode(value: Any) -> Any:
    if isinstance(value, Fn):
        return {"__fn__": value.name, "args": {k: encode(v) for k, v in value.args}}
    if isinstance(value, tuple):
        return {"__tuple__": [encode(v) for v in value]}
    if isinstance(value, list):
        return [encode(v) for v in value]
    if isinstance(value, dict):
        return {k: encode(v) for k, v in value.items()}
    if isinstance(value, np.generic):
        return value.item()
    return value


def decode(value: Any) -> Any:
    if isinstance(value, dict):
        if "__fn__" in value:
            return Fn(value["__fn__"], **{k: decode(v) for k, v in value["args"].items()})
        if "__tuple__" in value:
            return tuple(decode(v) for v in value["__tuple__"])
        return {k: decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode(v) for v in value]
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
    }
    text = json.dumps(meta, sort_keys=True)
    digest = hashlib.sha256(text.encode()).hexdigest()[:10]
    path = os.path.join(report_dir, "reproducers", f"{case.pair}-{case.dtype}-{digest}.npz")
    arrays = {f"input_{i}": a for i, a in enumerate(built.inputs)}
    arrays.update({f"param_{i}": p for i, p in enumerate(built.params)})
    arrays["meta"] = np.array(text)
    atomic_savez(path, arrays)
    return path


def load_reproducer(path: str) -> Tuple[Case, List[np.ndarray], List[np.ndarray]]:
    with np.load(path, allow_pickle=False) as data:
        meta = json.loads(str(data["meta"]))
        inputs = [data[f"input_{i}"] for i in range(len(meta["input_shapes"]))]
        params = [data[f"param_{i}"] for i in range(len(meta["param_names"]))]
    v = meta["values"]
    case = Case(pair=meta["pair"], dtype=meta["dtype"], kwargs=decode(meta["kwargs"]),
                input_shapes=[tuple(s) for s in meta["input_shapes"]],
                declared_shapes=[tuple(s) for s in meta["declared_shapes"]],
                values=Values(v["dist"], v["scale"], v["seed"], v["param_scale"]))
    return case, inputs, params
