"""The registry of layer pairs: a Theano layer, its numpy twin and how to fuzz them.

Registering your own pair is one call::

    from harness import register_pair, strategies as tst
    register_pair(
        "MyLayer", theano_layer=my_theano.MyLayer, numpy_layer=my_np.MyLayer,
        draws=tst.kwargs_and_shapes({"num_units": st.integers(1, 8)}, tst.shapes(min_ndim=2, max_ndim=2)),
    )

and plain ``pytest`` (through the ``twins`` plugin) certifies it in float32 and float64.
"""
from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
from hypothesis import strategies as st

from .tolerance import Tolerance

Shape = Tuple[int, ...]
# error_bound(case, inputs, params, kwargs) -> per-element allowed |diff| (broadcastable) or None
ErrorBound = Callable[..., Optional[np.ndarray]]


@dataclass
class Pair:
    """A Theano layer and its numpy twin, with what the harness needs to fuzz them.

    Attributes
    ----------
    name : str
        Unique name; reports and pytest ids use it.
    theano_layer, numpy_layer : callable
        ``cls(incoming, **kwargs)``; with ``multi_input`` the incoming is a list of InputLayers.
    draws : strategy of ``(kwargs, [input_shape, ...])``
        Hyperparameters and concrete input shapes. Nonlinearities and other functions are
        given as ``harness.strategies.Fn`` specs, resolved on each side.
    values : dict
        Options of the value distributions: ``clamp_points`` (values around which the op
        changes formula), ``positive_params`` (names of parameters drawn positive), ...
    error_bound : callable, optional
        The layer's forward error bound per output element (see ``harness.tolerance``).
    tolerance : dict dtype -> Tolerance, optional
        Overrides of the default table; give the op's error bound in a comment beside it.
    free_axes : tuple of int
        Input axes declared as None in the InputLayer (default: the batch axis).
    shape_in_key : bool
        The Theano graph bakes in input shapes, so compile once per shape, not per structure.
    prepare : callable, optional
        ``prepare(kwargs, inputs, params, rng) -> (inputs, params)`` to constrain drawn values.
    """

    name: str
    theano_layer: Callable[..., Any]
    numpy_layer: Callable[..., Any]
    draws: Any
    values: Dict[str, Any] = field(default_factory=dict)
    error_bound: Optional[ErrorBound] = None
    tolerance: Dict[str, Tolerance] = field(default_factory=dict)
    dtypes: Sequence[str] = ("float32", "float64")
    multi_input: bool = False
    free_axes: Tuple[int, ...] = (0,)
    shape_in_key: bool = False
    prepare: Optional[Callable[..., Any]] = None
    family: str = "user"
    max_examples_scale: float = 1.0
    source: str = ""  # the module whose import registers the pair (replay imports it again)
    recorded_twin: bool = field(default=False, repr=False)  # it added its classes to layers_theano.twins


BUILTIN = "harness.catalogue"
_REGISTRY: Dict[str, Pair] = {}
_LOADING: List[str] = []  # the modules load_pairs is importing, innermost last


def _caller_module() -> str:
    """The module calling register_pair (the fallback source of pairs registered outside load_pairs)."""
    frame = sys._getframe(2)
    return str(frame.f_globals.get("__name__", "")) if frame is not None else ""


def is_builtin(module: str) -> bool:
    """Whether ``module`` (a ``Pair.source``, or a registering module) is the built-in catalogue or one of its submodules."""
    return module == BUILTIN or module.startswith(BUILTIN + ".")


def register_pair(name: str, theano_layer: Callable[..., Any], numpy_layer: Callable[..., Any], draws: Any,
                  replace: bool = False, **options: Any) -> Pair:
    """Register a Theano layer and its twin for certification; returns the Pair.

    See :class:`Pair` for the options. ``pytest`` certifies every registered pair through
    the ``twins`` plugin, and ``twins certify --layers NAME`` certifies it from the CLI.
    """
    if not isinstance(draws, st.SearchStrategy):
        raise TypeError(f"register_pair({name!r}): draws must be a hypothesis strategy of (kwargs, shapes)")
    if name in _REGISTRY and not replace:
        existing = _REGISTRY[name]
        if existing.theano_layer is theano_layer and existing.numpy_layer is numpy_layer:
            if _LOADING and not is_builtin(existing.source):
                existing.source = _LOADING[-1]
            return existing
        raise ValueError(f"register_pair: a pair named {name!r} is already registered (pass replace=True)")
    caller = _caller_module()
    # a catalogue module imported as a side effect of loading a user's pairs module (which
    # imports a catalogue helper) still registers built-in pairs: their source is the catalogue
    default_source = BUILTIN if is_builtin(caller) else (_LOADING[-1] if _LOADING else caller)
    options.setdefault("source", default_source)
    pair = Pair(name=name, theano_layer=theano_layer, numpy_layer=numpy_layer, draws=draws, **options)
    if name in _REGISTRY:
        unregister_pair(name)
    _REGISTRY[name] = pair
    # the correspondence goes to the one twin registry, so to_numpy (and gate, export) convert a
    # user's layer class; a Theano class that already has a twin keeps it (a broken candidate
    # certified against a built-in layer does not replace the built-in twin)
    from layers_theano.twins import register_twin, twin_of

    if twin_of(theano_layer) is None:
        register_twin(theano_layer, numpy_layer)
        pair.recorded_twin = True
    return pair


def unregister_pair(name: str) -> None:
    """Forget a pair (and the twin correspondence it recorded, if it recorded one)."""
    pair = _REGISTRY.pop(name, None)
    if pair is not None and pair.recorded_twin:
        from layers_theano.twins import unregister_twin

        unregister_twin(pair.theano_layer, pair.numpy_layer)


def get_pair(name: str) -> Pair:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(f"no registered pair named {name!r}; known: {', '.join(sorted(_REGISTRY))}") from None


def all_pairs() -> List[Pair]:
    return list(_REGISTRY.values())


def _import_pairs_module(module: str) -> None:
    """Import a module that registers pairs; re-run it if it was imported before (its pairs may
    have been unregistered since, e.g. by a test fixture)."""
    loaded = sys.modules.get(module)
    _LOADING.append(module)
    try:
        if loaded is None or module == BUILTIN:  # the catalogue's pairs are registered once per process
            importlib.import_module(module)
            return
        try:
            importlib.reload(loaded)
        except ValueError:  # register_pair refuses a duplicate name: its pairs are still registered
            pass
    finally:
        _LOADING.pop()


def load_pairs(modules: Sequence[str] = (), builtin: bool = False) -> None:
    """Register pairs: the built-in catalogue (``builtin``) and each of ``modules``.

    The one way pairs are loaded, by ``twins certify --pairs-module``, the pytest plugin's
    ``twins_pairs``/``twins_builtin`` options and ``twins replay``. Modules resolve as with
    ``python -m``: the current directory comes first. Each registered pair records the module
    that registered it (``Pair.source``), which reproducers save so replay can load it again.

    Raises
    ------
    ImportError
        When a module (or the Theano side the catalogue needs) cannot be imported.
    """
    if builtin:
        _import_pairs_module(BUILTIN)
    if modules:
        from .imports import current_directory_first

        current_directory_first()
    for module in modules:
        _import_pairs_module(module)


def load_source(source: str) -> None:
    """Load the pairs of one recorded ``Pair.source`` (the catalogue's submodules load it whole)."""
    if is_builtin(source):
        load_pairs(builtin=True)
    else:
        load_pairs([source])


def load_builtin_catalogue() -> None:
    """Register every built-in pair (imports ``harness.catalogue``)."""
    load_pairs(builtin=True)
