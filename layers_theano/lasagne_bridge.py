"""``from_lasagne``: the twin (or the layers_theano network) of a *real* Lasagne network.

Lasagne layers do not record their constructor arguments, so each argument of the twin class
is read from the Lasagne layer's attribute of the same name (Lasagne stores them under those
names; ``SliceLayer.indices`` is ``.slice``), parameters as their current values. An argument
the installed Lasagne does not have (0.1 predates ``num_leading_axes``, ``flip_filters`` ...)
keeps the twin's default, which is what Lasagne 0.1 computed. The Lasagne release is read from
the layer's package and mapped to ``semantics`` (``layers_np.versions``) for the layers whose
arithmetic changed between releases.

On the Theano side (``side='theano'``, what ``twins gate`` certifies) a layer whose class is not
Lasagne's own (a user's layer or subclass: its ``get_output_for`` may compute anything) or has no
twin is kept as it is, inside a :class:`LasagneLayer` (its own ``get_output_for``, parameters and
output shape); exporting that network converts it through the graph fallback
(:mod:`layers_theano.graph_fallback`) to a ``layers_np.GraphLayer``.

Refused, one line naming the layer: on the numpy side, classes that are not Lasagne's own
(subclasses included) and classes without a twin; on both sides, callables that are
neither Lasagne's nor a registered Theano function (``ExpressionLayer`` functions, custom
nonlinearities), initial states given as Theano expressions (Lasagne 0.1), and anything the
twin's constructor refuses (e.g. Lasagne 0.1's ``pad='same'`` with an even filter).

The real Lasagne must already be imported (on Python 3.11 through
``layers_theano.theano_compat.enable()``); this module never imports it itself.
"""
from __future__ import annotations

import inspect
import sys
from typing import Any, Dict, List, Optional, Sequence, Union

import numpy as np

import layers_np
from layers_np import versions

from .base import MergeLayer
from .convert import convert_value

__all__ = ["from_lasagne", "is_lasagne_layer", "lasagne_semantics", "lasagne_layer_outputs", "LasagneLayer"]

# twin argument -> Lasagne attribute, where the names differ
_ATTRIBUTE = {("SliceLayer", "indices"): "slice"}
_GATED = {"LSTMLayer": ("ingate", "forgetgate", "cell", "outgate"),
          "GRULayer": ("resetgate", "updategate", "hidden_update")}
# GRU's hidden-update gate keeps its nonlinearity under another name
_GATE_NONLINEARITY = {("GRULayer", "hidden_update"): "nonlinearity_hid"}


def is_lasagne_layer(obj: Any) -> bool:
    """Whether ``obj`` is a layer object of the real Lasagne package."""
    return any(c.__module__.split(".")[0] == "lasagne" and c.__name__ == "Layer" for c in type(obj).__mro__)


def lasagne_semantics(layer: Any) -> str:
    """The ``semantics`` of the Lasagne release ``layer`` comes from (its ``__version__``)."""
    package = sys.modules.get("lasagne")  # a layer's class may be a user's subclass: not its module
    if package is None or not is_lasagne_layer(layer):
        raise ValueError(f"from_lasagne: {type(layer).__name__} is not a layer of an imported Lasagne")
    return versions.semantics_of_lasagne(str(package.__version__))


class _Converter:
    def __init__(self, module: Any, semantics: str) -> None:
        self.M = module
        self.semantics = semantics
        self.built: Dict[int, Any] = {}
        self.lasagne = sys.modules["lasagne"]
        self.numpy_side = module is layers_np

    # ------------------------------------------------------------------ values
    def label(self, layer: Any) -> str:
        return f"{type(layer).__name__}" + (f" {layer.name!r}" if getattr(layer, "name", None) else "")

    def function(self, layer: Any, arg: str, value: Any) -> Any:
        nl = self.lasagne.nonlinearities
        for name, obj in vars(nl).items():
            if obj is value and not name.startswith("_") and hasattr(self.M.nonlinearities, name):
                return getattr(self.M.nonlinearities, name)
        if type(value).__module__ == nl.__name__ and hasattr(self.M.nonlinearities, type(value).__name__):
            # LeakyRectify, ScaledTanH, SELU: their attributes are their constructor arguments
            return getattr(self.M.nonlinearities, type(value).__name__)(**vars(value))
        if not self.numpy_side and getattr(value, "__module__", "").split(".")[0] in ("pytensor", "theano"):
            return value  # a Theano function (T.max, T.maximum) is the Theano side's own
        try:
            return convert_value(value, {})
        except TypeError:
            raise TypeError(f"from_lasagne: {self.label(layer)}: argument {arg!r} is "
                            f"{getattr(value, '__name__', type(value).__name__)!r}, which has no twin") from None

    def value(self, layer: Any, arg: str, value: Any, default: Any) -> Any:
        if hasattr(value, "get_value") and hasattr(value, "type"):
            return value.get_value()  # a parameter: its current (trained) value
        if is_lasagne_layer(value):
            if id(value) in self.built:
                return self.built[id(value)]
            return _Converter(self.M, self.semantics).network(value)  # a sub-network (CustomRecurrentLayer)
        if hasattr(value, "owner") and hasattr(value, "type"):
            raise TypeError(f"from_lasagne: {self.label(layer)}: argument {arg!r} is a Theano expression; give it "
                            f"as a layer or an array")
        if value is default and default is not inspect.Parameter.empty:
            return _DEFAULT  # the Lasagne class's default object (convolution, pool_function): the twin's
        if callable(value) and not isinstance(value, type):
            return self.function(layer, arg, value)
        if isinstance(value, (list, tuple)):
            return type(value)(self.value(layer, arg, v, inspect.Parameter.empty) for v in value)
        return value

    # ------------------------------------------------------------------ layers
    def incomings(self, layer: Any) -> List[Any]:
        if hasattr(layer, "input_layers"):
            return [self.built[id(l)] for l in layer.input_layers]
        return [self.built[id(layer.input_layer)]]

    def recurrent_extras(self, layer: Any, kwargs: Dict[str, Any]) -> None:
        """mask_input, hid_init and cell_init given as layers are extra incomings in Lasagne."""
        layers = list(layer.input_layers)
        index = {"mask_input": getattr(layer, "mask_incoming_index", 1 if len(layers) > 1 else -1),
                 "hid_init": getattr(layer, "hid_init_incoming_index", -1),
                 "cell_init": getattr(layer, "cell_init_incoming_index", -1)}
        for arg, i in index.items():
            if i is not None and i > 0:
                kwargs[arg] = self.built[id(layers[i])]
        if kwargs.get("grad_clipping") is False:
            kwargs["grad_clipping"] = 0  # Lasagne 0.1's "no clipping"

    def gates(self, layer: Any, cls_name: str, kwargs: Dict[str, Any]) -> None:
        peepholes = getattr(layer, "peepholes", False)
        for gate in _GATED[cls_name]:
            nl_attr = _GATE_NONLINEARITY.get((cls_name, gate), f"nonlinearity_{gate}")
            peep = peepholes and gate != "cell"
            kwargs[gate] = self.M.Gate(
                W_in=getattr(layer, f"W_in_to_{gate}").get_value(), W_hid=getattr(layer, f"W_hid_to_{gate}").get_value(),
                W_cell=getattr(layer, f"W_cell_to_{gate}").get_value() if peep else None,
                b=getattr(layer, f"b_{gate}").get_value(),
                nonlinearity=self.function(layer, nl_attr, getattr(layer, nl_attr)))

    def layer(self, layer: Any) -> Any:
        cls = type(layer)
        name = cls.__name__
        foreign = cls.__module__.split(".")[0] != "lasagne" or not isinstance(getattr(self.M, name, None), type)
        if (foreign or name == "ExpressionLayer") and not self.numpy_side and name != "InputLayer":
            # a user's layer (or one without a twin class) computes what its own get_output_for builds
            return LasagneLayer(self.incomings(layer), layer, name=layer.name)
        if foreign:
            raise TypeError(f"from_lasagne: {cls.__module__}.{name} has no twin (only Lasagne's own layer classes "
                            f"are converted)")
        twin_cls = getattr(self.M, name)
        if name == "InputLayer":
            kwargs: Dict[str, Any] = {"name": layer.name}
            dtype = str(layer.input_var.dtype)
            if not self.numpy_side and not dtype.startswith("float"):
                from .backend import T  # integer ids (EmbeddingLayer input) keep their dtype
                kwargs["input_var"] = T.tensor(dtype=dtype, shape=(None,) * len(layer.shape))
            return twin_cls(tuple(layer.shape), **kwargs)
        params = inspect.signature(twin_cls).parameters
        real = inspect.signature(cls.__init__).parameters
        kwargs = {}
        for arg, p in params.items():
            if arg in ("incoming", "incomings", "semantics") or p.kind in (p.VAR_KEYWORD, p.VAR_POSITIONAL):
                continue
            if name in _GATED and arg in _GATED[name]:
                continue
            attr = _ATTRIBUTE.get((name, arg), arg)
            if not hasattr(layer, attr):
                continue  # an argument the installed Lasagne does not have: the twin's default is its behaviour
            default = real[arg].default if arg in real else inspect.Parameter.empty
            value = self.value(layer, arg, getattr(layer, attr), default)
            if value is not _DEFAULT:
                kwargs[arg] = value
        if "semantics" in params:
            kwargs["semantics"] = self.semantics
        if name == "RecurrentLayer" and "num_units" not in kwargs:
            kwargs["num_units"] = layer.W_hid_to_hid.get_value().shape[0]  # Lasagne 0.1 keeps no num_units
        kwargs["name"] = layer.name
        if name in _GATED:
            self.gates(layer, name, kwargs)
        if "mask_input" in params:
            self.recurrent_extras(layer, kwargs)
            incoming: Any = self.built[id(layer.input_layers[0])]
        else:
            incoming = self.incomings(layer)
            if "incomings" not in params:
                incoming = incoming[0]
        try:
            twin = twin_cls(incoming, **kwargs)
        except (TypeError, ValueError, NotImplementedError) as exc:  # e.g. 0.1's 'same' with an even filter
            raise ValueError(f"from_lasagne: {self.label(layer)}: no twin: {exc}") from None
        mine = [(str(p.name).split(".")[-1], tuple(_shape(p))) for p in twin.get_params()]
        theirs = [(str(p.name).split(".")[-1], tuple(p.get_value().shape)) for p in layer.get_params()]
        if name != "CustomRecurrentLayer" and mine != theirs:  # CustomRecurrent: sub-network parameters
            raise ValueError(f"from_lasagne: {self.label(layer)}: parameters {theirs} became {mine}")
        return twin

    def network(self, output: Union[Any, Sequence[Any]]) -> Any:
        many = isinstance(output, (list, tuple))
        targets = list(output) if many else [output]
        for layer in self.lasagne.layers.get_all_layers(targets):
            self.built[id(layer)] = self.layer(layer)
        result = [self.built[id(t)] for t in targets]
        return result if many else result[0]


class LasagneLayer(MergeLayer):
    """A real Lasagne layer without a twin class inside a converted layers_theano network.

    Its output is the Lasagne layer's own ``get_output_for`` (on the incoming values the
    layers_theano network gives it), its parameters are the Lasagne layer's shared variables
    (same objects, names and tags) and its output shape the Lasagne layer's
    ``get_output_shape_for``. It has no twin class: an export converts it through the graph
    fallback into a ``layers_np.GraphLayer``.

    Parameters
    ----------
    incomings : list of layers_theano Layer
        The converted incoming layers, in the Lasagne layer's order.
    layer : lasagne Layer
        The wrapped layer.
    name : str, optional
    """

    def __init__(self, incomings: Sequence[Any], layer: Any, name: Optional[str] = None) -> None:
        super().__init__(incomings, name=name)
        self.lasagne_layer = layer
        self._merge = hasattr(layer, "input_layers")
        for param, tags in layer.params.items():
            self.params[param] = set(tags)

    def _given(self, values: List[Any]) -> Any:
        return values if self._merge else values[0]

    def get_output_shape_for(self, input_shapes: List[Any]) -> Any:  # type: ignore[override]
        return tuple(self.lasagne_layer.get_output_shape_for(self._given(list(input_shapes))))

    def get_output_for(self, inputs: List[Any], **kwargs: Any) -> Any:  # type: ignore[override]
        return self.lasagne_layer.get_output_for(self._given(list(inputs)), **kwargs)


def _shape(param: Any) -> Any:
    value = param.value if hasattr(param, "value") else param.get_value()
    return value.shape


class _Default:
    def __repr__(self) -> str:
        return "<the twin's default>"


_DEFAULT = _Default()


def from_lasagne(layer_or_layers: Union[Any, Sequence[Any]], side: str = "numpy",
                 semantics: Optional[str] = None) -> Any:
    """The twin of a real Lasagne network (its output layer, or a list of them), with its weights.

    Parameters
    ----------
    layer_or_layers : lasagne Layer or list of them
    side : {'numpy', 'theano'}
        ``'numpy'``: a layers_np network (the twin); ``'theano'``: a layers_theano network.
    semantics : str, optional
        Override the semantics read from the installed Lasagne's version.

    Returns
    -------
    The converted output layer(s), in the same structure.

    Raises
    ------
    TypeError
        A layer class or callable that has no twin (named in the message).
    ValueError
        An unknown Lasagne release, or arguments the twin refuses.
    """
    targets = list(layer_or_layers) if isinstance(layer_or_layers, (list, tuple)) else [layer_or_layers]
    for t in targets:
        if not is_lasagne_layer(t):
            raise TypeError(f"from_lasagne: expected a Lasagne layer, got {type(t).__module__}.{type(t).__name__}")
    if side not in ("numpy", "theano"):
        raise ValueError(f"from_lasagne: side must be 'numpy' or 'theano', got {side!r}")
    if side == "numpy":
        module: Any = layers_np
    else:
        module = sys.modules[__name__.rpartition(".")[0]]  # the layers_theano package
    chosen = lasagne_semantics(targets[0]) if semantics is None else versions.check_semantics("from_lasagne", semantics)
    return _Converter(module, chosen).network(layer_or_layers)


def lasagne_layer_outputs(output: Any, batch: Sequence[Any]) -> List[Any]:
    """Every non-input layer's output of a real Lasagne network on one batch (Lasagne's own graph).

    Layers come in ``lasagne.layers.get_all_layers`` order (the twin's order too); ``batch`` holds
    one array per InputLayer in that order. Evaluated with ``deterministic=True``; the compiled
    function is kept on the output layer, so the batches of one certification compile once.
    """
    from .backend import function

    lasagne = sys.modules["lasagne"]
    cached = getattr(output, "_twins_reference_fn", None)
    if cached is None:
        layers = lasagne.layers.get_all_layers(output)
        inputs = [l for l in layers if isinstance(l, lasagne.layers.InputLayer)]
        computed = [l for l in layers if not isinstance(l, lasagne.layers.InputLayer)]
        cached = function([l.input_var for l in inputs], lasagne.layers.get_output(computed, deterministic=True),
                          on_unused_input="ignore")
        output._twins_reference_fn = cached
    return [np.asarray(a) for a in cached(*batch)]
