"""Remember the arguments a layer or nonlinearity was constructed with.

Both sides use this (it is pure Python): the Theano side to build the numpy
twin of a network (`layers_theano.to_numpy`), the export to write a spec.
"""
from __future__ import annotations

import functools
import inspect
from typing import Any, Callable, Dict


def record_arguments(original: Callable[..., None]) -> Callable[..., None]:
    """Wrap an ``__init__`` so the outermost call stores its bound arguments in ``_init_args``."""
    signature = inspect.signature(original)

    @functools.wraps(original)
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        if "_init_args" not in self.__dict__:
            bound = signature.bind(self, *args, **kwargs)
            bound.apply_defaults()
            recorded = {}
            for name, value in list(bound.arguments.items())[1:]:
                param = signature.parameters[name]
                if param.kind is param.VAR_KEYWORD:
                    recorded.update(value)
                elif param.kind is param.VAR_POSITIONAL:
                    recorded[name] = tuple(value)
                else:
                    recorded[name] = value
            self.__dict__["_init_args"] = recorded
        original(self, *args, **kwargs)

    return __init__


class RecordsArguments:
    """Mixin: ``self._init_args`` holds the outermost constructor's bound arguments."""

    _init_args: Dict[str, Any]

    def __init_subclass__(cls, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        if "__init__" in cls.__dict__:
            cls.__init__ = record_arguments(cls.__dict__["__init__"])  # type: ignore[method-assign]


def amend_arguments(obj: Any, **changes: Any) -> None:
    """Record that ``obj`` now behaves as if built with ``changes`` (Lasagne's helpers such as
    ``batch_norm`` and ``prelu`` remove a layer's bias or nonlinearity after construction): the
    export and ``to_numpy`` rebuild layers from the recorded arguments."""
    recorded = obj.__dict__.get("_init_args")
    if recorded is not None:
        recorded.update(changes)
