"""The one registry of twin correspondences: which numpy object computes what a Theano-side object computes.

An entry maps a Theano-side object (a layer class, a nonlinearity class or function, a
tensor function such as ``T.max`` given to a pooling or merge layer) to its numpy twin,
optionally under a name. It is read by :func:`layers_theano.to_numpy` (through
:func:`twin_of`) and by the harness: ``harness.register_pair`` records a pair's layer classes
here and ``harness.strategies.register_function`` names a pair of functions for ``Fn(name)``
hyperparameters (:func:`named`).

Built-in layers and nonlinearities need no entry: a Theano-side class has the twin of the
same name in ``layers_np`` (or ``layers_np.nonlinearities``), and a function of
``layers_theano.nonlinearities`` the function of the same name in ``layers_np.nonlinearities``.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, Optional, Tuple

__all__ = ["register_twin", "register_nonlinearity", "unregister_twin", "twin_of", "named"]

# id(theano object) -> (theano object, numpy twin); the object is kept so its id stays its own
_BY_OBJECT: Dict[int, Tuple[Any, Any]] = {}
# name -> (theano object, numpy twin), for the harness's Fn("name") specs
_BY_NAME: Dict[str, Tuple[Any, Any]] = {}
_BUILTIN_FUNCTIONS: Dict[int, Any] = {}


def register_twin(theano_obj: Any, numpy_obj: Any, name: Optional[str] = None, replace: bool = True) -> None:
    """Declare ``numpy_obj`` as the twin of ``theano_obj`` (a layer or nonlinearity class, or a function).

    Parameters
    ----------
    name : str, optional
        Also record the pair under ``name`` (what ``harness.strategies.Fn(name)`` resolves to).
    replace : bool
        With ``False`` an object that already has a twin keeps it: a candidate under test (e.g. a
        deliberately broken twin certified next to the real one) does not change ``to_numpy``.
    """
    if name is not None:
        _BY_NAME[name] = (theano_obj, numpy_obj)
    if replace or twin_of(theano_obj) is None:
        _BY_OBJECT[id(theano_obj)] = (theano_obj, numpy_obj)


def register_nonlinearity(theano_fn: Callable, numpy_fn: Callable) -> None:
    """Declare the numpy twin of a Theano-side function (``register_twin`` for functions)."""
    register_twin(theano_fn, numpy_fn)


def unregister_twin(theano_obj: Any, numpy_obj: Any) -> None:
    """Remove the entry ``theano_obj -> numpy_obj`` (and its names), if it is registered."""
    entry = _BY_OBJECT.get(id(theano_obj))
    if entry is not None and entry[0] is theano_obj and entry[1] is numpy_obj:
        del _BY_OBJECT[id(theano_obj)]
    for key in [k for k, (t, n) in _BY_NAME.items() if t is theano_obj and n is numpy_obj]:
        del _BY_NAME[key]


def _builtin_function(obj: Any) -> Any:
    if not _BUILTIN_FUNCTIONS:
        from layers_np import nonlinearities as np_nonlinearities

        from . import nonlinearities as th_nonlinearities

        for fname, fn in vars(th_nonlinearities).items():
            if callable(fn) and not isinstance(fn, type) and not fname.startswith("_") \
                    and hasattr(np_nonlinearities, fname):
                _BUILTIN_FUNCTIONS[id(fn)] = (fn, getattr(np_nonlinearities, fname))
    entry = _BUILTIN_FUNCTIONS.get(id(obj))
    return entry[1] if entry is not None and entry[0] is obj else None


def twin_of(theano_obj: Any) -> Optional[Any]:
    """The numpy twin of a Theano-side class or function, or None.

    Registered entries first, then the built-in rule (same name in ``layers_np``).
    """
    entry = _BY_OBJECT.get(id(theano_obj))
    if entry is not None and entry[0] is theano_obj:
        return entry[1]
    if isinstance(theano_obj, type):
        import layers_np
        from layers_np import nonlinearities as np_nonlinearities

        for module in (layers_np, np_nonlinearities):
            twin = getattr(module, theano_obj.__name__, None)
            if isinstance(twin, type):
                return twin
        return None
    return _builtin_function(theano_obj) if callable(theano_obj) else None


def named(name: str) -> Optional[Tuple[Any, Any]]:
    """The (Theano object, numpy twin) registered under ``name``, or None."""
    return _BY_NAME.get(name)
