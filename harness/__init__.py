"""theano-twins harness: pairs Theano layers with numpy twins and certifies them by fuzzing.

Public API: :func:`register_pair`, :mod:`harness.strategies` (``Fn``, ``shapes``,
``nonlinearities``, ``kwargs_and_shapes``), :func:`certify_pair`.
"""
from .registry import Pair, all_pairs, get_pair, load_builtin_catalogue, register_pair, unregister_pair
from .runner import certify_pair, replay
from .strategies import Fn, register_function
from .tolerance import DEFAULT_TOLERANCES, Tolerance

__all__ = ["Pair", "register_pair", "unregister_pair", "get_pair", "all_pairs", "load_builtin_catalogue",
           "certify_pair", "replay", "Fn", "register_function", "Tolerance", "DEFAULT_TOLERANCES"]
