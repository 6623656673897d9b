"""theano-twins harness: pairs Theano layers with numpy twins and certifies them by fuzzing.

Public API: :func:`register_pair`, :mod:`harness.strategies` (``Fn``, ``shapes``,
``nonlinearities``, ``kwargs_and_shapes``), :func:`certify_pair`.

The names are imported on first use, so that ``import harness.execute`` (the bench worker)
or ``harness.cli --help`` does not load hypothesis and the Theano side.
"""
from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {"Pair": "registry", "register_pair": "registry", "unregister_pair": "registry", "get_pair": "registry",
            "all_pairs": "registry", "load_builtin_catalogue": "registry", "load_pairs": "registry",
            "certify_pair": "runner", "replay": "runner", "Fn": "strategies", "register_function": "strategies",
            "Tolerance": "tolerance", "DEFAULT_TOLERANCES": "tolerance"}

__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'harness' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list:
    return sorted(set(globals()) | set(_EXPORTS))
