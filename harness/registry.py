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


_REGISTRY: Dict[str, Pair] = {}


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
            return existing
        raise ValueError(f"register_pair: a pair named {name!r} is already registered (pass replace=True)")
    pair = Pair(name=name, theano_layer=theano_layer, numpy_layer=numpy_layer, draws=draws, **options)
    _REGISTRY[name] = pair
    return pair


def unregister_pair(name: str) -> None:
    _REGISTRY.pop(name, None)


def get_pair(name: str) -> Pair:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(f"no registered pair named {name!r}; known: {', '.join(sorted(_REGISTRY))}") from None


def all_pairs() -> List[Pair]:
    return list(_REGISTRY.values())


def load_builtin_catalogue() -> None:
    """Register every built-in pair (imports ``harness.catalogue``)."""
    from . import catalogue  # noqa: F401
