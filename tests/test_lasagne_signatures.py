"""Both sides' constructor signatures against Lasagne master's, transcribed in
``tests/data/lasagne_master_signatures.json`` (names, order, defaults, ``**kwargs``).

A side may add an argument Lasagne does not have only after all of Lasagne's and only when
the class documents it in ``extra_arguments`` ({name: why}).
"""
from __future__ import annotations

import inspect
import json
import pathlib
import types
from typing import Any, Dict

import numpy as np
import pytest

import layers_np
import layers_theano
from layers_np import init as np_init

TABLE = json.loads((pathlib.Path(__file__).parent / "data" / "lasagne_master_signatures.json").read_text())["classes"]


def _namespace(side: Any) -> Dict[str, Any]:
    """What the names in Lasagne's default expressions stand for on one side."""
    if side is layers_np:
        from layers_np import conv, pool

        t = types.SimpleNamespace(max=np.max, mean=pool.mean, nnet=types.SimpleNamespace(conv2d=conv.conv2d))
        conv_ns = types.SimpleNamespace(conv1d_mc0=conv.conv1d_mc0)
    else:
        from layers_theano import conv
        from layers_theano.backend import T, nnet

        t = types.SimpleNamespace(max=T.max, mean=T.mean, nnet=types.SimpleNamespace(conv2d=nnet.conv2d))
        conv_ns = types.SimpleNamespace(conv1d_mc0=conv.conv1d_mc0)
    return {"init": np_init, "nonlinearities": side.nonlinearities, "T": t, "conv": conv_ns, "Gate": side.Gate}


def _same(ours: Any, theirs: Any) -> bool:
    if isinstance(theirs, (np_init.Initializer, layers_np.Gate, layers_theano.Gate)):
        return type(ours) is type(theirs) and vars(ours).keys() == vars(theirs).keys() and all(
            _same(vars(ours)[k], vars(theirs)[k]) for k in vars(theirs))
    if callable(theirs):
        return ours is theirs
    return type(ours) is type(theirs) and ours == theirs


@pytest.mark.parametrize("side", [layers_np, layers_theano], ids=["numpy", "theano"])
@pytest.mark.parametrize("name", sorted(TABLE))
def test_signature_matches_lasagne_master(name: str, side: Any) -> None:
    cls = getattr(side, name)
    want = TABLE[name]
    sig = inspect.signature(cls)
    extras = dict(getattr(cls, "extra_arguments", {}))
    ours = [p for p in sig.parameters.values() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    master = [n for n, _ in want["params"]] + [n for n, _ in want["kwonly"]]
    names = [p.name for p in ours]
    assert names[:len(master)] == master, f"{side.__name__}.{name}: parameters {names}, Lasagne master {master}"
    for extra in names[len(master):]:
        assert extra in extras, f"{side.__name__}.{name}: argument {extra!r} is not Lasagne's and not documented"
    assert (any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values())) == want["var_keyword"]
    namespace = _namespace(side)
    for p, (pname, source) in zip(ours, want["params"] + want["kwonly"]):
        if source is None:
            assert p.default is p.empty, f"{side.__name__}.{name}: {pname} has a default, Lasagne's has none"
            continue
        assert p.default is not p.empty, f"{side.__name__}.{name}: {pname} has no default, Lasagne's is {source}"
        theirs = eval(source, {}, dict(namespace))  # noqa: S307 - text of our own test table
        assert _same(p.default, theirs), f"{side.__name__}.{name}: {pname}={p.default!r}, Lasagne master {source}"


def test_the_table_covers_every_layer_class_both_sides_have() -> None:
    """A class added to both sides without an entry would escape the check above."""
    both = {n for n in dir(layers_np) if isinstance(getattr(layers_np, n), type)
            and getattr(layers_np, n).__name__ == n
            and issubclass(getattr(layers_np, n), (layers_np.Layer, layers_np.Gate))
            and isinstance(getattr(layers_theano, n, None), type)}
    assert both <= set(TABLE), sorted(both - set(TABLE))
