"""Layer classes added after Lasagne 0.1, against facts transcribed from Lasagne master's source.

``tests/data/lasagne_master_layers.json`` holds, per class, a few configurations written by
hand from master's code and docstrings (each class names the master lines it follows): the
constructor arguments, the input shape, ``get_params()`` as (name, shape) in Lasagne's order and
the output shape. Lasagne 0.1 cannot be the reference for these classes (it does not have them),
so the table is; ``test_lasagne_conformance.py`` covers the classes 0.1 has.

Both sides are built from every configuration and checked against the table, then given the
same random weights and inputs and compared (one compiled Theano function per class).
"""
from __future__ import annotations

import importlib.util
import json
import pathlib
import re
from typing import Any, Dict, List

import numpy as np
import pytest

import layers_np as L
import layers_theano as LT
from harness.compare import compare_arrays
from harness.tolerance import default_tolerance
from layers_theano import backend

T = backend.T
DTYPE = "float64"
TOL = default_tolerance(DTYPE)  # the harness's float64 default: rtol 1e-7, atol 1e-8
TABLE = json.loads((pathlib.Path(__file__).parent / "data" / "lasagne_master_layers.json").read_text())["classes"]


def _drop_last(shape):
    return tuple(shape[:-1])


# What the table's '@' names stand for on each side (the functions an ExpressionLayer user would pass).
NAMES = {
    "numpy": {"fn.square": np.square, "fn.mean_last": lambda x: x.mean(-1), "shape.drop_last": _drop_last,
              "nl.tanh": L.nonlinearities.tanh},
    "theano": {"fn.square": T.sqr, "fn.mean_last": lambda x: x.mean(-1), "shape.drop_last": _drop_last,
               "nl.tanh": LT.nonlinearities.tanh},
}
SIDES = {"numpy": L, "theano": LT}


def _value(v: Any, side: str) -> Any:
    """A table value as the argument Lasagne's user would write: lists as tuples, '@' names resolved."""
    if isinstance(v, list):
        return tuple(_value(x, side) for x in v)
    if isinstance(v, str) and v.startswith("@"):
        return NAMES[side][v[1:]]
    return v


def _build(side: str, cls_name: str, config: Dict[str, Any]):
    X = SIDES[side]
    inp = X.InputLayer(tuple(config["input_shape"]))
    args = [_value(a, side) for a in config["args"]]
    kwargs = {k: _value(v, side) for k, v in config["kwargs"].items()}
    return inp, getattr(X, cls_name)(inp, *args, **kwargs)


def _params(layer) -> List[list]:
    return [[str(p.name), list(np.shape(p.get_value()))] for p in layer.get_params()]


def _cases():
    return [(c, k) for c in sorted(TABLE) for k in range(len(TABLE[c]["configs"]))]


@pytest.mark.parametrize("side", sorted(SIDES))
@pytest.mark.parametrize("cls_name,k", _cases(), ids=[f"{c}-{k}" for c, k in _cases()])
def test_parameters_and_output_shape_match_master(side: str, cls_name: str, k: int) -> None:
    config = TABLE[cls_name]["configs"][k]
    _, layer = _build(side, cls_name, config)
    where = f"{side} {cls_name} config {k} (master: {TABLE[cls_name]['rule']})"
    assert _params(layer) == config["params"], where
    want = tuple(config["output_shape"])
    assert tuple(layer.output_shape) == want, where
    assert tuple(layer.get_output_shape_for(tuple(config["input_shape"]))) == want, where


@pytest.fixture(scope="module")
def outputs():
    """Each class's configurations evaluated on both sides with the same weights and inputs."""
    rng = np.random.RandomState(1212)
    out = {}
    with backend.config.change_flags(floatX=DTYPE):
        for cls_name in sorted(TABLE):
            rows, ins, vals, graphs = [], [], [], []
            for config in TABLE[cls_name]["configs"]:
                n_in, tw = _build("numpy", cls_name, config)
                t_in, th = _build("theano", cls_name, config)
                weights = [rng.normal(size=p.get_value().shape).astype(DTYPE) for p in th.get_params()]
                LT.set_all_param_values(th, weights)
                L.set_all_param_values(tw, weights)
                x = rng.normal(size=config["input_shape"]).astype(DTYPE)
                rows.append(L.get_output(tw, {n_in: x}, deterministic=True))
                ins.append(t_in.input_var)
                vals.append(x)
                graphs.append(LT.get_output(th, deterministic=True))
            fn = backend.function(ins, graphs)
            out[cls_name] = list(zip(fn(*vals), rows))
    return out


@pytest.mark.parametrize("cls_name", sorted(TABLE))
def test_twin_matches_theano_side(outputs, cls_name: str) -> None:
    for k, ((th_out, tw_out), config) in enumerate(zip(outputs[cls_name], TABLE[cls_name]["configs"])):
        assert np.shape(th_out) == tuple(config["output_shape"]), f"{cls_name} config {k}: computed shape"
        c = compare_arrays(np.asarray(th_out), np.asarray(tw_out), TOL)
        assert c.ok, c.message(f"{cls_name} config {k}")


def test_the_table_covers_every_post_01_class_both_sides_have() -> None:
    """A class added after 0.1 and to both sides without an entry would escape the checks above.

    Lasagne 0.1's classes are read from its installed source (not imported: that needs Theano);
    BaseConvLayer is abstract (master's ``convolve`` raises NotImplementedError). 0.1's GPU-only
    modules (dnn, corrmm, cuda_convnet) do not import without a GPU, so the 0.1 conformance tests
    cannot cover their classes: this table does.
    """
    spec = importlib.util.find_spec("lasagne")
    assert spec is not None and spec.origin, "Lasagne 0.1 is installed by the Makefile"
    layers_dir = pathlib.Path(spec.origin).parent / "layers"
    gpu_only = {"dnn.py", "corrmm.py", "cuda_convnet.py"}
    old = {m for f in layers_dir.glob("*.py") if f.name not in gpu_only
           for m in re.findall(r"^class (\w+)", f.read_text(), re.M)}
    assert {"DenseLayer", "Conv2DLayer", "LSTMLayer"} <= old, sorted(old)
    both = {n for n in dir(L) if isinstance(getattr(L, n), type) and getattr(L, n).__name__ == n
            and issubclass(getattr(L, n), L.Layer) and isinstance(getattr(LT, n, None), type)}
    # InverseLayer's argument is a layer, which the table cannot hold: its certified pair
    # (harness/catalogue/special.py) and tests/test_backend_layers.py cover it
    assert set(TABLE) == both - old - {"BaseConvLayer", "InverseLayer"}
