"""The one specification of Lasagne's base layers, shared by both sides (numpy only).

A *spec* class holds everything about a layer class except its forward computation:
the constructor signature and defaults, argument validation and error messages,
parameter creation (names, shapes, order, tags) and the output shape. Each side derives
its layer from the spec and supplies

* ``get_output_for`` (numpy arrays on the twin side, symbolic tensors on the Theano side),
* ``new_param``: how an initial array becomes the side's parameter object,
* ``side_defaults``: the side's own functions for defaults that are functions (Lasagne's
  ``nonlinearity=rectify``, ``convolution=T.nnet.conv2d``); a spec names such a default
  with :class:`SideDefault` and every side class gets a constructor whose signature shows
  its own function, so ``inspect.signature`` and the recorded arguments read as Lasagne's.
"""
from __future__ import annotations

import contextlib
import numbers
import types
from collections import OrderedDict
from typing import Any, ClassVar, Dict, Iterator, List, Mapping, Optional, Sequence, Set, Tuple

import numpy as np

from ..record import RecordsArguments, amend_arguments, record_arguments
from ..init import as_array

Shape = Tuple[Optional[int], ...]

__all__ = ["TwinError", "SideDefault", "SideSpecific", "Layer", "MergeLayer", "InputLayer", "is_integer",
           "plain_int", "nonlinearity_or_identity", "twin_errors", "get_all_params", "with_identity"]


class TwinError(ValueError):
    """Bad input to a layer; the message names the layer and what was expected."""


def is_integer(value: Any) -> bool:
    """True for Python and numpy integers (Lasagne's ``int_types``), False for bools."""
    return isinstance(value, (numbers.Integral, np.integer)) and not isinstance(value, (bool, np.bool_))


def plain_int(value: Any) -> Any:
    """A numpy integer as a Python int (hyperparameters from config arrays); anything else as is."""
    return int(value) if is_integer(value) else value


def nonlinearity_or_identity(layer: "Layer", nonlinearity: Any) -> Any:
    """Lasagne's ``identity if nonlinearity is None else nonlinearity``, refusing non-callables."""
    if nonlinearity is None:
        return layer.side_defaults["identity"]
    if not callable(nonlinearity):
        raise TwinError(f"{layer._label()}: nonlinearity must be callable or None, got {nonlinearity!r}")
    return nonlinearity


@contextlib.contextmanager
def twin_errors() -> Iterator[None]:
    """Report the ValueErrors of the shared shape checks (``layers_np.shapes``) as TwinError."""
    try:
        yield
    except TwinError:
        raise
    except ValueError as exc:
        raise TwinError(str(exc)) from None


class SideDefault:
    """A constructor default each side supplies: its own object called ``name``.

    ``SideDefault.call("Gate", W_cell=None)`` stands for ``Gate(W_cell=None)`` built from the
    side's ``Gate`` class (keyword values may be SideDefaults too).
    """

    __slots__ = ("name", "kwargs")

    def __init__(self, name: str) -> None:
        self.name = name
        self.kwargs: Optional[Dict[str, Any]] = None

    @classmethod
    def call(cls, name: str, **kwargs: Any) -> "SideDefault":
        made = cls(name)
        made.kwargs = kwargs
        return made

    def resolve(self, namespace: Mapping[str, Any]) -> Any:
        value = namespace[self.name]
        if self.kwargs is not None:
            value = value(**{k: v.resolve(namespace) if isinstance(v, SideDefault) else v
                             for k, v in self.kwargs.items()})
        return value

    def __repr__(self) -> str:
        args = "" if self.kwargs is None else "(" + ", ".join(f"{k}={v!r}" for k, v in self.kwargs.items()) + ")"
        return f"<{self.name}{args} of the side>"


class SideSpecific(RecordsArguments):
    """Base of every spec class: gives each side class a constructor with its own defaults.

    A class whose ``side_defaults`` is not empty (a side class) and whose constructor, as
    inherited from a spec, has :class:`SideDefault` defaults gets a copy of that
    constructor (same code) with the defaults resolved in ``side_defaults``.
    """

    side_defaults: ClassVar[Mapping[str, Any]] = {}
    side_name: ClassVar[str] = "spec"  # how messages name the side: "twin" or "Theano"
    # constructor arguments a side adds to Lasagne's, {name: why}; tests/test_lasagne_signatures.py
    # allows exactly these, after all of Lasagne's arguments
    extra_arguments: ClassVar[Mapping[str, str]] = {}

    def __init_subclass__(cls, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        if cls.side_defaults:
            _use_side_defaults(cls)


def _use_side_defaults(cls: type) -> None:
    init = cls.__init__  # type: ignore[misc]
    raw = getattr(init, "__wrapped__", init)
    defaults = raw.__defaults__ or ()
    kwdefaults = raw.__kwdefaults__ or {}
    if not any(isinstance(v, SideDefault) for v in (*defaults, *kwdefaults.values())):
        return
    names = cls.side_defaults

    def resolve(v: Any) -> Any:
        return v.resolve(names) if isinstance(v, SideDefault) else v

    copy = types.FunctionType(raw.__code__, raw.__globals__, raw.__name__, tuple(resolve(v) for v in defaults),
                              raw.__closure__)
    copy.__kwdefaults__ = {k: resolve(v) for k, v in kwdefaults.items()} or None
    copy.__doc__ = raw.__doc__
    copy.__annotations__ = dict(raw.__annotations__)
    copy.__module__ = cls.__module__
    copy.__qualname__ = f"{cls.__qualname__}.__init__"
    cls.__init__ = record_arguments(copy)  # type: ignore[misc]


class Layer(SideSpecific):
    """Lasagne's ``Layer``: one incoming layer (or an input shape), a name, parameters.

    Parameters
    ----------
    incoming : Layer or tuple
        The layer feeding into this layer, or the expected input shape.
    name : str, optional
        A name to attach to this layer.
    """

    def __init__(self, incoming: Any, name: Optional[str] = None) -> None:
        if isinstance(incoming, tuple):
            self.input_shape: Shape = incoming
            self.input_layer: Any = None
        else:
            self.input_shape = incoming.output_shape
            self.input_layer = incoming
        self.name = name
        self.params: "OrderedDict[Any, Set[str]]" = OrderedDict()
        self.get_output_kwargs: List[str] = []
        if any(d is not None and d <= 0 for d in self.input_shape):
            raise TwinError(f"Cannot create {self._label()} with a non-positive input_shape dimension. "
                            f"input_shape={self.input_shape}, self.name={self.name}")

    # -- shapes ----------------------------------------------------------------
    @property
    def output_shape(self) -> Shape:
        return self.get_output_shape_for(self.input_shape)

    def get_output_shape_for(self, input_shape: Shape) -> Shape:
        return input_shape

    def get_output_for(self, input: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    def random_stream(self, seed: int) -> Any:
        """The side's random stream for a noise layer, seeded as Lasagne seeds its streams."""
        raise NotImplementedError

    def is_symbolic(self, value: Any) -> bool:
        """True for a value only the side's graph knows (a Theano variable); never for the twin."""
        return False

    # -- parameters ------------------------------------------------------------
    def new_param(self, spec: Any, shape: Tuple[int, ...], name: Optional[str], full_name: Optional[str]) -> Any:
        """The side's parameter object for ``spec`` (array, initializer, ...) of ``shape``."""
        raise NotImplementedError

    def add_param(self, spec: Any, shape: Sequence[int], name: Optional[str] = None, **tags: bool) -> Any:
        """Register a parameter (Lasagne's ``add_param``): ``spec`` is an array or initializer."""
        shape = tuple(int(s) for s in shape)
        full_name = f"{self.name}.{name}" if (name is not None and self.name is not None) else name
        param = self.new_param(spec, shape, name, full_name)
        tags.setdefault("trainable", True)
        tags.setdefault("regularizable", True)
        self.params[param] = {t for t, on in tags.items() if on}
        return param

    def get_params(self, unwrap_shared: bool = True, **tags: bool) -> List[Any]:
        result = list(self.params.keys())
        only = {t for t, on in tags.items() if on}
        exclude = {t for t, on in tags.items() if not on}
        if only:
            result = [p for p in result if not (only - self.params[p])]
        if exclude:
            result = [p for p in result if not (self.params[p] & exclude)]
        return result

    def param_array(self, spec: Any, shape: Tuple[int, ...], name: Optional[str]) -> np.ndarray:
        """The initial array of a parameter (what ``new_param`` turns into the side's object)."""
        return as_array(spec, shape, f"{self._label()} parameter {name!r}")

    def changed_in_place(self) -> None:
        """Called after a helper changed this layer's computation (removed its bias or its
        nonlinearity); a side that caches computations drops them here."""

    # -- messages --------------------------------------------------------------
    def _label(self) -> str:
        name = getattr(self, "name", None)
        return f"{type(self).__name__}{'(' + repr(name) + ')' if name else ''}"


def get_all_params(layer: Any, unwrap_shared: bool = True, **tags: bool) -> List[Any]:
    """All parameters of the network below ``layer`` (Lasagne's order), each once."""
    from ..traversal import get_all_layers

    params: List[Any] = []
    seen: Set[int] = set()
    for l in get_all_layers(layer):
        for p in l.get_params(**tags):
            if id(p) not in seen:
                seen.add(id(p))
                params.append(p)
    return params


def with_identity(layer: Any) -> Any:
    """``layer`` with its nonlinearity set to identity (what Lasagne's ``prelu``/``rrelu`` do first)."""
    if getattr(layer, "nonlinearity", None) is not None:
        layer.nonlinearity = layer.side_defaults["identity"]
        amend_arguments(layer, nonlinearity=None)  # so an export or to_numpy rebuilds it linear
        if hasattr(layer, "changed_in_place"):
            layer.changed_in_place()
    return layer


class MergeLayer(Layer):
    """Lasagne's ``MergeLayer``: several incoming layers (or input shapes)."""

    def __init__(self, incomings: Sequence[Any], name: Optional[str] = None) -> None:
        self.input_shapes: List[Shape] = [i if isinstance(i, tuple) else i.output_shape for i in incomings]
        self.input_layers: List[Any] = [None if isinstance(i, tuple) else i for i in incomings]
        self.name = name
        self.params = OrderedDict()
        self.get_output_kwargs = []

    @property
    def output_shape(self) -> Shape:
        return self.get_output_shape_for(self.input_shapes)

    def get_output_shape_for(self, input_shapes: List[Shape]) -> Shape:  # type: ignore[override]
        raise NotImplementedError

    def get_output_for(self, inputs: List[Any], **kwargs: Any) -> Any:  # type: ignore[override]
        raise NotImplementedError


class InputLayer(Layer):
    """Network input of a declared shape; ``None`` marks a free dimension (usually the batch).

    Parameters
    ----------
    shape : tuple of int or None
    input_var : the side's input variable, optional
        The Theano side makes one (axes declared as 1 broadcastable); the twin ignores it.
    name : str, optional
    """

    def __init__(self, shape: Sequence[Optional[int]], input_var: Any = None, name: Optional[str] = None,
                 **kwargs: Any) -> None:
        self.shape: Shape = tuple(None if d is None else int(d) if is_integer(d) else d for d in shape)
        self.name = name
        if any(d is not None and d <= 0 for d in self.shape):
            raise TwinError(f"Cannot create {self._label()} with a non-positive shape dimension. shape={self.shape}")
        self.input_layer = None
        self.input_shape = self.shape
        self.params = OrderedDict()
        self.get_output_kwargs = []
        self.input_var = self.new_input_var(input_var)

    def new_input_var(self, input_var: Any) -> Any:
        """The side's input variable for ``input_var`` (None: make one)."""
        return input_var

    @property
    def output_shape(self) -> Shape:
        return self.shape
