"""``lasagne`` as an alias of this package, so unmodified Lasagne model code runs on it.

Model code such as the Lasagne Recipes writes ``from lasagne.layers.dnn import
Conv2DDNNLayer as ConvLayer`` and ``import lasagne.nonlinearities``; ``import layers_theano as
lasagne`` cannot serve a ``from lasagne.layers.dnn import`` statement (Python looks the dotted
name up in ``sys.modules``). :func:`enable` registers this package there under Lasagne's
names: ``lasagne`` (the layer classes and helpers at the top, as ``layers_theano``),
``lasagne.layers`` (with ``.dnn``, ``.corrmm``, ``.cuda_convnet``), ``lasagne.init`` and
``lasagne.nonlinearities``. Modules Lasagne has and this package does not (``lasagne.updates``,
``lasagne.objectives`` ...) stay absent: importing one fails with Python's usual error.

Nothing happens on import; :func:`enable` changes the process globally and refuses to run when
the real Lasagne is already imported (both cannot be ``lasagne``).
"""
from __future__ import annotations

import sys
import types
from typing import Dict

__all__ = ["enable", "enabled"]


def _modules() -> Dict[str, types.ModuleType]:
    import layers_theano
    from layers_theano import init, layers, nonlinearities
    from layers_theano.layers import corrmm, cuda_convnet, dnn

    return {"lasagne": layers_theano, "lasagne.layers": layers, "lasagne.layers.dnn": dnn,
            "lasagne.layers.corrmm": corrmm, "lasagne.layers.cuda_convnet": cuda_convnet,
            "lasagne.init": init, "lasagne.nonlinearities": nonlinearities}


def enabled() -> bool:
    """Whether ``lasagne`` currently names this package."""
    import layers_theano

    return sys.modules.get("lasagne") is layers_theano


def enable() -> None:
    """Register ``layers_theano`` as ``lasagne`` (and its submodules) in ``sys.modules``.

    Raises
    ------
    RuntimeError
        If another ``lasagne`` (the real one) is already imported.
    """
    if enabled():
        return
    existing = sys.modules.get("lasagne")
    if existing is not None:
        raise RuntimeError(f"lasagne_alias.enable: the real lasagne is already imported from "
                           f"{getattr(existing, '__file__', '?')}")
    sys.modules.update(_modules())
