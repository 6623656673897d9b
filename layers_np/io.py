"""Save and load twin networks: one ``.npz`` file, numpy only, never unpickled.

>>> import layers_np as L
>>> L.save(net, "model.npz")
>>> y = L.load("model.npz")(X)          # numpy only: no Theano, no pickle, no eval

File format (version 2)
-----------------------
An uncompressed ``.npz`` (zip of ``.npy`` files) holding

* every parameter array under ``"<layer name>/<parameter>"`` (plus, rarely, a non-parameter
  array argument under ``"<layer name>/arg/<argument>"``), in the network's dtype;
* ``"__spec__"``: a ``uint8`` array holding UTF-8 JSON: ``format``, ``format_version``,
  ``dtype``, ``inputs`` (name, shape with ``null`` for free axes, dtype), ``outputs``,
  ``layers`` (in topological order: wiring name, class, constructor arguments, incoming
  layer names, output shape, parameters with their names, shapes, dtypes and array keys),
  ``arrays`` (shape, dtype and a sha256 over the dtype string with its byte order, the shape
  and the C-order little-endian bytes of every array), ``producer``
  (versions) and ``certification`` (the summary of the certification that admitted it);
  optionally ``metadata`` (e.g. a pretrained model's ``class_names`` and ``mean_value``): a
  dict of short identifiers to JSON scalars, lists of strings and numbers, or
  ``{"$array": KEY}`` naming an array stored under ``__metadata__/NAME`` (listed in
  ``arrays`` with its checksum, used by no parameter). Loaders that predate ``metadata``
  ignore it; :func:`read_metadata` returns it with the arrays in place.

Constructor arguments are the ones a layer was built with (``layer._init_args``); layers
are referred to by name (unnamed layers get ``<class>_<index>``), nonlinearities by name
or by class and arguments, parameter initialisers and initial values by placeholders (the
stored arrays replace them). Anything else, e.g. an ``ExpressionLayer`` or a Python
function, cannot be described without code and is refused by :func:`save` (the Theano-side
export replaces such a layer by a :class:`layers_np.GraphLayer`, whose arguments are a graph
spec: op names from an allow-list, attributes and arrays). An array argument listed in the
layer class's ``stored_array_args`` is always stored, even when a parameter has its shape.

Files are written atomically (a temporary file in the same directory, then ``os.replace``).

Loading treats the file as hostile (see :mod:`layers_np.safe_npz` for the bounded reader and
its :class:`Limits`): the spec is read and validated against a schema before any array;
only the arrays it lists are read, each checked against its recorded dtype and shape before
it is allocated and against its checksum after; every hyperparameter is type-checked;
function references resolve only through one allow-list per slot (:data:`ALLOWED_FUNCTIONS`,
:data:`ALLOWED_OBJECTS`, :data:`ALLOWED_INITIALIZERS`); initialiser placeholders are never
allocated at a shape that no stored array has. Every way a file can be bad raises a subclass
of :class:`ModelFileError` with a one-line reason.
"""
from __future__ import annotations

import io as _io
import json
import math
import os
import re
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from . import init as _init
from . import nonlinearities as _nonlinearities
from .atomic import atomic_savez
from .record import RecordsArguments
from .base import InputLayer, Layer, MergeLayer, Param, TwinError, _fmt_shape, get_all_layers, get_all_params, incoming_layers
from .safe_npz import (DEFAULT_LIMITS, BadMemberError, ChecksumMismatchError, LimitExceededError, Limits,
                       ModelFileError, NotAModelFileError, NpzReader, ObjectArrayError, TruncatedFileError,
                       UnsafeFileError, UnsupportedArrayError, current_limits, loads_json, set_default_limits)

__all__ = ["save", "load", "read_spec", "read_metadata", "dumps", "loads", "open_model", "array_digest", "little_endian",
           "load_lasagne_weights", "read_lasagne_weights", "load_pickle_weights",
           "ModelInputLayer", "FORMAT_NAME", "FORMAT_VERSION", "Limits", "DEFAULT_LIMITS", "set_default_limits",
           "ModelFileError", "TruncatedFileError", "NotAModelFileError", "ChecksumMismatchError", "ObjectArrayError",
           "UnknownLayerError", "UnknownFunctionError", "MissingArraysError", "ExtraArraysError", "NewerFormatError",
           "SpecError", "WeightsMismatchError", "ModelExportError", "UnsafeFileError", "LimitExceededError",
           "BadMemberError", "UnsupportedArrayError", "ALLOWED_FUNCTIONS", "ALLOWED_OBJECTS", "ALLOWED_INITIALIZERS"]

FORMAT_NAME = "theano-twins-model"
# 2: array checksums cover the dtype string (with byte order) and the shape, not only the bytes.
# Version 1 files still load: the reader refuses big-endian and Fortran-ordered arrays and
# compares every array's dtype and shape with the spec, which closes what v1 checksums missed.
FORMAT_VERSION = 2
SPEC_KEY = "__spec__"
GRAPH_KIND_NAME = "graph"  # the "kind" of graph models (layers_np.graph); layer networks have none or "layers"
PathLike = Union[str, "os.PathLike[str]"]


# ---------------------------------------------------------------------------
# errors (the reader's own errors come from layers_np.safe_npz)
# ---------------------------------------------------------------------------
class UnknownLayerError(ModelFileError):
    """The spec names a layer class that layers_np does not have."""


class UnknownFunctionError(ModelFileError):
    """The spec names a nonlinearity, initialiser or other object outside the allow-list of its slot."""


class MissingArraysError(ModelFileError):
    """Arrays the spec lists are not in the file."""


class ExtraArraysError(ModelFileError):
    """The file holds arrays the spec does not list."""


class NewerFormatError(ModelFileError):
    """The file was written by a newer format version than this loader reads."""


class SpecError(ModelFileError):
    """The spec is malformed or does not rebuild into a network."""


class WeightsMismatchError(ModelFileError):
    """Weights do not fit the network (count, shapes or dtype)."""


class ModelExportError(ValueError):
    """The network cannot be described without code (ExpressionLayer, a Python function, ...)."""


# ---------------------------------------------------------------------------
# the loaded model's inputs
# ---------------------------------------------------------------------------
class ModelInputLayer(InputLayer):
    """InputLayer of a loaded model: also checks the input dtype.

    Float inputs must have exactly the model's dtype (Theano refuses to downcast an input
    too); integer inputs (token ids) accept any integer dtype.
    """

    def __init__(self, shape: Sequence[Optional[int]], input_var: Any = None, name: Optional[str] = None,
                 dtype: str = "float64", **kwargs: Any) -> None:
        super().__init__(shape, input_var, name, **kwargs)
        self.dtype = np.dtype(dtype)

    def _label(self) -> str:
        return f"InputLayer{'(' + repr(self.name) + ')' if self.name else ''}"

    def check_input(self, X: Any) -> np.ndarray:
        if not isinstance(X, np.ndarray):
            X = np.asarray(X)
        if X.ndim != len(self.shape) or any(w is not None and w != g for w, g in zip(self.shape, X.shape)):
            raise TwinError(f"{self._label()}: expected {self._want()}, got shape {X.shape}")
        if self.dtype.kind == "f" and X.dtype != self.dtype:
            raise TwinError(f"{self._label()}: expected {self._want()}, got dtype {X.dtype}; "
                            f"convert with X.astype({self.dtype.name!r})")
        if self.dtype.kind in "iu" and X.dtype.kind not in "iu":
            raise TwinError(f"{self._label()}: expected {self._want()} (integer ids), got dtype {X.dtype}")
        return X

    def _want(self) -> str:
        # built only for an error message: check_input runs on every call
        return f"an array of shape {_fmt_shape(self.shape)} and dtype {self.dtype.name}"


# ---------------------------------------------------------------------------
# encoding constructor arguments
# ---------------------------------------------------------------------------
# One allow-list per slot, naming exactly what a Lasagne model can hold there. A spec's
# "$fn"/"$object" resolves only through the list of the argument (slot) it appears in.
_NONLINEARITY_FUNCTIONS = ("sigmoid", "softmax", "tanh", "rectify", "elu", "softplus", "linear", "identity",
                           "hard_sigmoid", "ultra_fast_sigmoid")
ALLOWED_FUNCTIONS: Dict[str, Tuple[str, ...]] = {
    # lasagne.nonlinearities functions (and Theano's hard/ultra-fast sigmoid)
    "nonlinearity": tuple(f"nonlinearities.{n}" for n in _NONLINEARITY_FUNCTIONS),
    # GlobalPoolLayer / FeaturePoolLayer: Theano reductions taking ``axis``
    "pool_function": ("layers_np.pool.mean", "numpy.mean", "numpy.max", "numpy.min", "numpy.sum", "numpy.prod",
                      "numpy.amax", "numpy.amin"),
    # ElemwiseMergeLayer: Theano's elementwise binary ops
    "merge_function": ("numpy.add", "numpy.subtract", "numpy.multiply", "numpy.maximum", "numpy.minimum"),
    # Conv*Layer(convolution=...): the twin of the layer's own Theano convolution
    "convolution": ("layers_np.conv.conv2d", "layers_np.conv.conv3d", "layers_np.conv.conv1d_mc0"),
}
# the convolution each convolution layer class may hold
_CONVOLUTION_OF = {"Conv1DLayer": "layers_np.conv.conv1d_mc0", "Conv2DLayer": "layers_np.conv.conv2d",
                   "Conv3DLayer": "layers_np.conv.conv3d"}
_GATE_SLOTS = ("ingate", "forgetgate", "cell", "outgate", "resetgate", "updategate", "hidden_update")
ALLOWED_OBJECTS: Dict[str, Tuple[str, ...]] = {
    "nonlinearity": ("nonlinearities.LeakyRectify", "nonlinearities.ScaledTanH", "nonlinearities.ScaledTanh",
                     "nonlinearities.SELU"),
    **{slot: ("layers_np.Gate",) for slot in _GATE_SLOTS},
}
# lasagne.init classes; "$init" is a placeholder (the stored array replaces it), never called
ALLOWED_INITIALIZERS = ("Initializer", "Constant", "Normal", "Uniform", "Glorot", "GlorotNormal", "GlorotUniform",
                        "He", "HeNormal", "HeUniform", "Orthogonal", "Sparse")
_OBJECT_MODULES = {"layers_np": None, "nonlinearities": _nonlinearities, "init": _init}
# hyperparameters that are sizes: positive integers (or tuples of them)
_SIZE_ARGS = ("num_units", "num_filters", "num_groups", "filter_size", "pool_size", "stride", "scale_factor",
              "input_size", "output_size", "n", "dilation")
_MAX_INT_ARG = 2 ** 31 - 1  # no hyperparameter of a Lasagne layer needs more
_MAX_ELEMENTS = 2 ** 40     # no declared shape may have more elements


def _resolve_function(ref: str) -> Any:
    """The function an allow-listed reference names (every entry resolves; checked by the tests)."""
    module, _, name = ref.partition(".")
    if module == "numpy":
        return getattr(np, name)
    if module == "nonlinearities":
        return getattr(_nonlinearities, name)
    sub, _, fname = name.partition(".")
    import importlib

    return getattr(importlib.import_module(f"layers_np.{sub}"), fname)


def _function_reference(value: Any) -> Optional[str]:
    """The allow-listed reference of ``value``, if it is one of the allowed functions."""
    for refs in ALLOWED_FUNCTIONS.values():
        for ref in refs:
            if _resolve_function(ref) is value:
                return ref
    return None


def _layers_module() -> Any:
    import layers_np

    return layers_np


def _object_module(key: str) -> Any:
    return _layers_module() if key == "layers_np" else _OBJECT_MODULES.get(key)


def _label(layer: Any, name: str) -> str:
    return f"{type(layer).__name__} {name!r}"


class _Encoder:
    def __init__(self, names: Dict[int, str]) -> None:
        self.names = names
        self.arrays: Dict[str, np.ndarray] = {}
        self.layer: Any = None
        self.layer_name = ""
        self.param_shapes: List[Tuple[int, ...]] = []

    def fail(self, where: str, what: str) -> ModelExportError:
        return ModelExportError(f"{_label(self.layer, self.layer_name)}: argument {where} {what}; "
                                f"a numpy-only loader could not rebuild it without code")

    def encode(self, value: Any, where: str) -> Any:
        if value is None or isinstance(value, (bool, str)):
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float):
            return value if math.isfinite(value) else {"$float": repr(value)}
        if isinstance(value, np.generic) and value.dtype.kind in "biuf":
            return self.encode(value.item(), where)
        if isinstance(value, Layer):
            if id(value) not in self.names:
                raise self.fail(where, f"is the layer {value!r}, which is not part of the saved network")
            return {"$layer": self.names[id(value)]}
        if isinstance(value, (Param, np.ndarray)) or (hasattr(value, "get_value") and hasattr(value, "shape")):
            arr = np.asarray(value.get_value() if hasattr(value, "get_value") else value)
            if arr.dtype.kind not in "biuf":
                raise self.fail(where, f"is an array of dtype {arr.dtype}")
            stored = re.split(r"[.\[]", where, maxsplit=1)[0] in getattr(self.layer, "stored_array_args", ())
            if arr.shape in self.param_shapes and not stored:
                # initial value of a parameter: the stored parameter array replaces it
                return {"$zeros": {"shape": list(arr.shape), "dtype": arr.dtype.name}}
            base = f"{self.layer_name}/arg/{re.sub(r'[^A-Za-z0-9_.-]', '_', where)}"
            key, k = base, 2
            while key in self.arrays:  # two arguments whose names differ only in replaced characters
                key, k = f"{base}_{k}", k + 1
            self.arrays[key] = _little_endian(arr)
            return {"$array": key}
        if isinstance(value, _init.Initializer):
            # parameter initialiser: a placeholder (the stored parameter array replaces it)
            return {"$init": type(value).__name__}
        if isinstance(value, slice):
            return {"$slice": [self.encode(value.start, where), self.encode(value.stop, where),
                               self.encode(value.step, where)]}
        if isinstance(value, tuple):
            return {"$tuple": [self.encode(v, f"{where}[{i}]") for i, v in enumerate(value)]}
        if isinstance(value, list):
            return [self.encode(v, f"{where}[{i}]") for i, v in enumerate(value)]
        if isinstance(value, dict):
            if not all(isinstance(k, str) for k in value):
                raise self.fail(where, "is a dict with non-string keys")
            return {"$dict": {k: self.encode(v, f"{where}.{k}") for k, v in value.items()}}
        if isinstance(value, np.dtype) or (isinstance(value, type) and issubclass(value, np.generic)):
            return {"$dtype": np.dtype(value).name}
        if isinstance(value, RecordsArguments):
            cls = type(value)
            for key in _OBJECT_MODULES:
                if getattr(_object_module(key), cls.__name__, None) is cls:
                    args = {k: self.encode(v, f"{where}.{k}") for k, v in value._init_args.items()}
                    return {"$object": f"{key}.{cls.__name__}", "args": args}
            raise self.fail(where, f"is an object of class {cls.__module__}.{cls.__name__}, not a layers_np class")
        if callable(value):
            ref = _function_reference(value)
            if ref is not None:
                return {"$fn": ref}
            raise self.fail(where, f"is the Python function {getattr(value, '__qualname__', value)!r}: use a "
                            f"function of layers_np.nonlinearities")
        raise self.fail(where, f"has type {type(value).__name__}")


def _digest(arr: np.ndarray, version: int = FORMAT_VERSION) -> str:
    """sha256 of an array: version 1 over its bytes, version 2 over dtype string, shape and bytes."""
    import hashlib

    shape = np.shape(arr)
    arr = np.asarray(arr).reshape(-1)  # a copy only when not C-contiguous; 0-d keeps its shape above
    h = hashlib.sha256()
    if version >= 2:
        h.update(f"{arr.dtype.str}|{','.join(str(int(d)) for d in shape)}|".encode("ascii"))
    h.update(memoryview(np.ascontiguousarray(arr).view(np.uint8)) if arr.size else b"")
    return h.hexdigest()


def _little_endian(arr: np.ndarray) -> np.ndarray:
    """C-ordered and little-endian, the only layout the reader accepts (0-d arrays stay 0-d,
    which ``np.ascontiguousarray`` would make 1-d)."""
    arr = np.asarray(arr)
    dtype = arr.dtype.newbyteorder("<") if arr.dtype.itemsize > 1 else arr.dtype
    return arr.astype(dtype, order="C", copy=not (arr.flags.c_contiguous and arr.dtype == dtype))


def _key_part(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", text) or "_"


def wiring_names(layers: Sequence[Layer]) -> Dict[int, str]:
    """Each layer's name in the file: its own name, or ``<class>_<index>``; made unique."""
    names: Dict[int, str] = {}
    used = set()
    for i, layer in enumerate(layers):
        base = layer.name if isinstance(layer.name, str) and layer.name else f"{type(layer).__name__.lower()}_{i}"
        base = base.replace("/", "_")
        name, k = base, 2
        while name in used or name == SPEC_KEY:
            name, k = f"{base}_{k}", k + 1
        used.add(name)
        names[id(layer)] = name
    return names


def to_jsonable(value: Any) -> Any:
    """Certification summaries: numpy scalars to Python, non-finite floats to strings."""
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def _producer(extra: Optional[Mapping[str, Any]]) -> Dict[str, Any]:
    import datetime
    import platform

    import layers_np

    producer = {"layers_np": getattr(layers_np, "__version__", "unknown"), "numpy": np.__version__,
                "python": platform.python_version(),
                "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
    producer.update(extra or {})
    return producer


def _describe(net: Union[Layer, Sequence[Layer]], certification: Optional[Mapping[str, Any]] = None,
              input_dtypes: Optional[Mapping[str, str]] = None,
              producer: Optional[Mapping[str, Any]] = None,
              metadata: Optional[Mapping[str, Any]] = None) -> Tuple[Dict[str, Any], Dict[str, np.ndarray]]:
    """The spec and arrays of a twin network (nothing written)."""
    outputs = list(net) if isinstance(net, (list, tuple)) else [net]
    for o in outputs:
        if not isinstance(o, Layer):
            raise ModelExportError(f"save: expected a layers_np Layer, got {type(o).__name__}"
                                   + (" (a Theano layer? use layers_theano.export.export)"
                                      if type(o).__module__.startswith("layers_theano") else ""))
    layers = get_all_layers(outputs)
    names = wiring_names(layers)
    layers_np = _layers_module()
    params_all = get_all_params(outputs)
    float_dtypes = sorted({p.value.dtype.name for p in params_all if p.value.dtype.kind == "f"})
    if len(float_dtypes) > 1:
        raise ModelExportError(f"save: parameters mix dtypes {float_dtypes}; cast them with "
                               f"layers_np.cast_param_values(net, dtype) first")
    dtype = float_dtypes[0] if float_dtypes else "float64"
    odd = [p for p in params_all if p.value.dtype.name != dtype]
    if odd:
        raise ModelExportError(f"save: parameter {odd[0].name!r} has dtype {odd[0].value.dtype}, the network's is "
                               f"{dtype}; parameters must all have the network's float dtype")
    encoder = _Encoder(names)
    custom_classes: Dict[str, type] = {}
    spec_layers: List[Dict[str, Any]] = []
    inputs: List[Dict[str, Any]] = []
    seen_params = set()
    for index, layer in enumerate(layers):
        name = names[id(layer)]
        cls = type(layer)
        encoder.layer, encoder.layer_name = layer, name
        if cls.__name__ == "ExpressionLayer":
            raise ModelExportError(f"{_label(layer, name)} wraps a Python function and cannot be described without "
                                   f"code; replace it with built-in layers (e.g. NonlinearityLayer, ElemwiseSumLayer) "
                                   f"before exporting")
        if isinstance(layer, InputLayer):
            class_name = "InputLayer"
            in_dtype = (input_dtypes or {}).get(name) or getattr(layer, "dtype", None) or dtype
            in_dtype = np.dtype(in_dtype).name
            args = {"shape": {"$tuple": [d for d in layer.shape]}, "name": layer.name}
            inputs.append({"name": name, "shape": list(layer.shape), "dtype": in_dtype})
        else:
            class_name = cls.__name__
            if getattr(layers_np, class_name, None) is not cls:
                # a user's twin class: recorded by name only, as "custom:NAME"; the loader rebuilds it
                # only from a class the caller passes (load(path, custom_layers={NAME: cls}))
                if not class_name.isidentifier() or class_name.startswith("_"):
                    raise ModelExportError(f"{_label(layer, name)}: class {cls.__module__}.{class_name} is not a "
                                           f"layers_np layer and its name cannot be recorded")
                other = custom_classes.setdefault(class_name, cls)
                if other is not cls:
                    raise ModelExportError(f"{_label(layer, name)}: two different user classes are named "
                                           f"{class_name!r} ({other.__module__} and {cls.__module__}); rename one")
                class_name = CUSTOM_PREFIX + class_name
            if not hasattr(layer, "_init_args"):
                raise ModelExportError(f"{_label(layer, name)}: its constructor arguments were not recorded")
            encoder.param_shapes = [tuple(p.shape) for p in _own_params(layer)]
            args = _encode_args(encoder, cls, layer._init_args)
        params = []
        shorts = set()
        for p in _own_params(layer):
            short = _key_part(str(p.name).split(".")[-1])
            base, k = short, 2
            while short in shorts:
                short, k = f"{base}_{k}", k + 1
            shorts.add(short)
            key = f"{_key_part(name)}/{short}"
            if id(p) in seen_params:
                raise ModelExportError(f"{_label(layer, name)}: parameter {p.name!r} is shared with another layer; "
                                       f"shared parameters are not supported by the file format")
            seen_params.add(id(p))
            encoder.arrays[key] = _little_endian(p.value)
            params.append({"name": p.name, "key": key, "shape": list(p.shape), "dtype": p.value.dtype.name,
                           "tags": sorted(p.tags)})
        spec_layers.append({"name": name, "class": class_name, "args": args,
                            "incoming": [names[id(l)] for l in incoming_layers(layer)],
                            "output_shape": list(layer.output_shape), "params": params})
    for key, arr in encoder.arrays.items():
        if arr.dtype.kind not in "biuf":
            raise ModelExportError(f"save: array {key!r} has dtype {arr.dtype}, only numeric arrays can be stored")
    spec = {
        "format": FORMAT_NAME, "format_version": FORMAT_VERSION, "dtype": dtype,
        "inputs": inputs, "outputs": [names[id(o)] for o in outputs], "multiple_outputs": isinstance(net, (list, tuple)),
        "layers": spec_layers,
        "arrays": {k: {"shape": list(a.shape), "dtype": a.dtype.name, "sha256": _digest(a)}
                   for k, a in encoder.arrays.items()},
        "producer": _producer(producer),
        "certification": None if certification is None else to_jsonable(dict(certification)),
    }
    if metadata is not None:
        spec["metadata"] = _encode_metadata(metadata, encoder.arrays)
        spec["arrays"].update({k: {"shape": list(a.shape), "dtype": a.dtype.name, "sha256": _digest(a)}
                               for k, a in encoder.arrays.items() if k.startswith(METADATA_PREFIX)})
    return spec, encoder.arrays


METADATA_PREFIX = "__metadata__/"
_METADATA_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
_MAX_METADATA_ITEMS = 64


def _metadata_scalar(value: Any) -> bool:
    return value is None or isinstance(value, (bool, str)) or (
        isinstance(value, (int, float)) and math.isfinite(value))


def _encode_metadata(metadata: Mapping[str, Any], arrays: Dict[str, np.ndarray]) -> Dict[str, Any]:
    """JSON for the spec's ``metadata``; numeric arrays go to ``arrays`` under ``__metadata__/NAME``."""
    if not isinstance(metadata, Mapping) or len(metadata) > _MAX_METADATA_ITEMS:
        raise ModelExportError(f"metadata must be a dict of at most {_MAX_METADATA_ITEMS} entries")
    out: Dict[str, Any] = {}
    for key, value in metadata.items():
        if not isinstance(key, str) or not _METADATA_KEY.match(key):
            raise ModelExportError(f"metadata key {str(key)[:80]!r} is not an identifier of at most 64 characters")
        if isinstance(value, np.generic):
            value = value.item()
        if isinstance(value, np.ndarray):
            if value.dtype.kind not in "biuf":
                raise ModelExportError(f"metadata {key!r}: only numeric arrays can be stored, not {value.dtype}")
            array_key = METADATA_PREFIX + key
            if array_key in arrays:
                raise ModelExportError(f"metadata {key!r}: the array key {array_key!r} is taken by a layer parameter")
            arrays[array_key] = _little_endian(np.ascontiguousarray(value))
            out[key] = {"$array": array_key}
        elif _metadata_scalar(value):
            out[key] = value
        elif isinstance(value, (list, tuple)) and all(_metadata_scalar(v) and v is not None for v in value):
            out[key] = list(value)
        else:
            raise ModelExportError(f"metadata {key!r} is a {type(value).__name__}; store strings, numbers, lists of "
                                   f"them or numeric arrays")
    return out


def _own_params(layer: Layer) -> List[Param]:
    """A layer's parameters including those of the sublayers it builds itself (RecurrentLayer's
    input_to_hidden/hidden_to_hidden), in Lasagne's order: all of them are stored and restored."""
    return list(layer.get_params())


def _encode_args(encoder: _Encoder, cls: type, init_args: Mapping[str, Any]) -> Dict[str, Any]:
    """Encode a layer's recorded arguments; an argument left at its default object (e.g. a
    ``convolution`` function) that cannot be described otherwise is recorded as ``$default``."""
    import inspect

    try:
        defaults = {k: p.default for k, p in inspect.signature(cls.__init__).parameters.items()}
    except (TypeError, ValueError):
        defaults = {}
    args = {}
    for k, v in init_args.items():
        try:
            args[k] = encoder.encode(v, k)
        except ModelExportError:
            if k in defaults and defaults[k] is v:
                args[k] = {"$default": None}
            else:
                raise
    return args


def _spec_array(spec: Mapping[str, Any]) -> np.ndarray:
    text = json.dumps(spec, indent=1, allow_nan=False)
    return np.frombuffer(text.encode("utf-8"), dtype=np.uint8)


def save(net: Union[Layer, Sequence[Layer]], path: PathLike, certification: Optional[Mapping[str, Any]] = None, *,
         input_dtypes: Optional[Mapping[str, str]] = None, producer: Optional[Mapping[str, Any]] = None,
         metadata: Optional[Mapping[str, Any]] = None) -> Dict[str, Any]:
    """Write the twin network ending in ``net`` to ``path`` (one .npz), atomically.

    Parameters
    ----------
    net : Layer or list of Layer
        The output layer(s).
    path : str or path
        Destination; written as is (no ``.npz`` is appended).
    certification : dict, optional
        The summary of the certification that admitted the model (stored in the spec).
    input_dtypes : dict, optional
        ``{input layer name: dtype}``; default: the parameters' float dtype.
    producer : dict, optional
        Extra producer information (e.g. the Theano version).
    metadata : dict, optional
        What a user of the model needs besides the network, e.g. ``class_names`` (a list of
        strings) and ``mean_value`` (an array); read back with :func:`read_metadata`.

    Returns
    -------
    dict
        The spec written.

    Raises
    ------
    ModelExportError
        When a layer or argument cannot be described without code.
    """
    spec, arrays = _describe(net, certification, input_dtypes, producer, metadata)
    atomic_savez(path, {SPEC_KEY: _spec_array(spec), **arrays}, fsync=True)
    return spec


def dumps(net: Union[Layer, Sequence[Layer]], certification: Optional[Mapping[str, Any]] = None, **kwargs: Any) -> bytes:
    """The bytes :func:`save` would write."""
    spec, arrays = _describe(net, certification, **kwargs)
    buffer = _io.BytesIO()
    np.savez(buffer, **{SPEC_KEY: _spec_array(spec), **arrays})
    return buffer.getvalue()


# ---------------------------------------------------------------------------
# reading: the schema
# ---------------------------------------------------------------------------
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_FLOAT_DTYPES = ("float16", "float32", "float64")
_NUMERIC_DTYPES = ("bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64") + _FLOAT_DTYPES
_MAX_LAYERS = 100_000


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _numeric_dtype(name: Any) -> np.dtype:
    if not isinstance(name, str) or name not in _NUMERIC_DTYPES:
        raise ValueError(f"dtype {name!r} is not one of {', '.join(_NUMERIC_DTYPES)}")
    return np.dtype(name)


def _shape_problem(shape: Any, free: bool = False) -> Optional[str]:
    """Why ``shape`` is not a valid declared shape (None when it is)."""
    if not isinstance(shape, list):
        return f"shape {shape!r} is not a list"
    size = 1
    for d in shape:
        if d is None and free:
            continue
        if not _is_int(d) or d < 0 or d > _MAX_INT_ARG:
            return f"shape {shape!r} has a bad dimension {d!r}"
        size *= d
    if size > _MAX_ELEMENTS:
        return f"shape {shape!r} has more than 2**40 elements"
    return None


def _validate_spec(spec: Any, label: str) -> None:
    """Every field the loader uses, type-checked before any array is read."""
    _validate_common(spec, label, "layers")

    def bad(what: str) -> SpecError:
        return SpecError(label, what)

    if not spec["outputs"] or not all(isinstance(o, str) for o in spec["outputs"]):
        raise bad("'outputs' must be a non-empty list of layer names")
    if len(spec["layers"]) > _MAX_LAYERS:
        raise bad(f"{len(spec['layers'])} layers, more than {_MAX_LAYERS}")
    _validate_layers(spec, label)


_KIND_FIELDS = {"layers": (("layers", list), ("arrays", dict), ("outputs", list), ("inputs", list)),
                "graph": (("graph", dict), ("arrays", dict), ("outputs", list), ("inputs", list))}
_KIND_LOADERS = {"layers": "layers_np.load(path)", "graph": "layers_np.load_graph(path)"}


def _validate_common(spec: Any, label: str, kind: str = "graph") -> None:
    """The fields every model file has (layer networks and graph models): format, version, kind,
    dtype, the array table and the inputs; ``kind`` is the kind of model the caller loads."""
    if not isinstance(spec, dict) or spec.get("format") != FORMAT_NAME:
        raise NotAModelFileError(label, f"the spec does not declare format {FORMAT_NAME!r}")
    version = spec.get("format_version")
    if not _is_int(version) or version < 1:
        raise SpecError(label, f"bad format_version {version!r}")
    if version > FORMAT_VERSION:
        raise NewerFormatError(label, f"format version {version} is newer than this loader's ({FORMAT_VERSION}); "
                                      f"upgrade theano-twins to load it")
    found = spec.get("kind", "layers")
    if found != kind:
        hint = f": load it with {_KIND_LOADERS[found]}" if isinstance(found, str) and found in _KIND_LOADERS else ""
        raise SpecError(label, f"the file holds a {str(found)[:40]!r} model, not a {kind!r} model{hint}")
    for field_name, type_ in _KIND_FIELDS[kind]:
        if not isinstance(spec.get(field_name), type_):
            raise SpecError(label, f"the spec has no valid {field_name!r} ({type_.__name__})")

    def bad(what: str) -> SpecError:
        return SpecError(label, what)

    if spec.get("dtype") not in _FLOAT_DTYPES:
        raise bad(f"the model dtype {spec.get('dtype')!r} is not one of {', '.join(_FLOAT_DTYPES)}")
    if not isinstance(spec.get("multiple_outputs", False), bool):
        raise bad("'multiple_outputs' must be true or false")
    for key, info in spec["arrays"].items():
        if not isinstance(info, dict) or not isinstance(info.get("sha256"), str) or not _HEX64.match(info["sha256"]):
            raise bad(f"array {key[:80]!r}: the spec entry needs a shape, a dtype and a sha256")
        problem = _shape_problem(info.get("shape"))
        if problem:
            raise bad(f"array {key[:80]!r}: {problem}")
        if info.get("dtype") not in _NUMERIC_DTYPES:
            raise bad(f"array {key!r}: dtype {info.get('dtype')!r} is not one of {', '.join(_NUMERIC_DTYPES)}")
    for entry in spec["inputs"]:
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise bad(f"bad input entry {str(entry)[:80]}")
        problem = _shape_problem(entry.get("shape"), free=True)
        if problem or entry.get("dtype", spec["dtype"]) not in _NUMERIC_DTYPES:
            raise bad(f"input {entry['name'][:80]!r}: {problem or 'bad dtype ' + repr(entry.get('dtype'))}")


def _validate_layers(spec: Dict[str, Any], label: str) -> None:
    """The layer list of a layer network's spec."""
    def bad(what: str) -> SpecError:
        return SpecError(label, what)

    keys_used = set()
    for index, entry in enumerate(spec["layers"]):
        if (not isinstance(entry, dict) or not isinstance(entry.get("name"), str) or not entry["name"]
                or not isinstance(entry.get("class"), str) or not isinstance(entry.get("args"), dict)
                or not isinstance(entry.get("params", []), list)):
            raise bad(f"layer entry {index} is malformed (it needs a name, a class, args and params)")
        if _shape_problem(entry.get("output_shape"), free=True):
            raise bad(f"layer {entry['name'][:80]!r}: missing or bad output_shape {str(entry.get('output_shape'))[:80]}")
        for info in entry.get("params", []):
            key = info.get("key") if isinstance(info, dict) else None
            if not isinstance(key, str) or key not in spec["arrays"]:
                raise bad(f"layer {entry['name'][:80]!r}: parameter entry {str(info)[:80]} names no listed array")
            if key in keys_used:
                raise bad(f"layer {entry['name'][:80]!r}: array {key!r} is used by two parameters")
            keys_used.add(key)
            stored = spec["arrays"][key]
            if info.get("shape") != stored["shape"]:
                raise bad(f"layer {entry['name'][:80]!r}: parameter {key!r} declares shape {info.get('shape')!r}, the "
                          f"array is {stored['shape']!r}")
            if info.get("dtype") != spec["dtype"] or stored["dtype"] != spec["dtype"]:
                raise bad(f"layer {entry['name'][:80]!r}: parameter {key!r} has dtype {stored['dtype']!r} (declared "
                          f"{info.get('dtype')!r}); parameters must have the model dtype {spec['dtype']!r}")
    if "metadata" in spec:
        _validate_metadata(spec, keys_used, bad)


def _validate_metadata(spec: Dict[str, Any], keys_used: set, bad: Any) -> None:
    meta = spec["metadata"]
    if not isinstance(meta, dict) or len(meta) > _MAX_METADATA_ITEMS:
        raise bad(f"'metadata' must be an object of at most {_MAX_METADATA_ITEMS} entries")
    for key, value in meta.items():
        if not _METADATA_KEY.match(key):
            raise bad(f"metadata key {key[:80]!r} is not an identifier of at most 64 characters")
        if isinstance(value, dict):
            ref = value.get("$array")
            if (len(value) != 1 or not isinstance(ref, str) or not ref.startswith(METADATA_PREFIX)
                    or ref not in spec["arrays"] or ref in keys_used):
                raise bad(f"metadata {key!r} must name a listed {METADATA_PREFIX}* array no parameter uses")
        elif isinstance(value, list):
            if not all(_metadata_scalar(v) and v is not None for v in value):
                raise bad(f"metadata {key!r} must be a list of strings and numbers")
        elif not _metadata_scalar(value):
            raise bad(f"metadata {key!r} must be a string, a number, a list or an array reference")


# ---------------------------------------------------------------------------
# reading: arrays
# ---------------------------------------------------------------------------
def array_digest(arr: np.ndarray) -> str:
    """The sha256 a model file (format version 2) records for ``arr``."""
    return _digest(_little_endian(arr))


def little_endian(arr: np.ndarray) -> np.ndarray:
    """``arr`` C-ordered and little-endian, the only layout a model file stores."""
    return _little_endian(arr)


def open_model(source: Any, limits: Optional[Limits] = None, validate: Optional[Any] = None,
               ) -> Tuple[Dict[str, Any], Dict[str, np.ndarray], str]:
    """The validated spec, the arrays it lists (checksums verified) and the file's label.

    ``validate(spec, label)`` checks the kind-specific part of the spec before any array is
    read (default: a layer network's schema); :mod:`layers_np.graph` passes its own for graph
    models. The common part (format, version, the array table, inputs) is always checked.
    """
    return _open(source, limits, validate)


def _open(source: Any, limits: Optional[Limits] = None, validate: Optional[Any] = None,
          ) -> Tuple[Dict[str, Any], Dict[str, np.ndarray], str]:
    """The validated spec and the arrays it lists, each checked against its checksum."""
    limits = current_limits(limits)
    with NpzReader(source, None, limits) as reader:
        label = reader.label
        names = reader.names
        if SPEC_KEY not in names:
            hint = " (it looks like Lasagne weights: use load_lasagne_weights(net, path))" if "arr_0" in names else ""
            raise NotAModelFileError(label, f"no {SPEC_KEY!r} entry: not a theano-twins model file{hint}")
        if reader.declared_bytes(SPEC_KEY) > limits.max_spec_bytes + 256:
            raise LimitExceededError(label, f"the spec is {reader.declared_bytes(SPEC_KEY)} bytes, over the limit "
                                            f"of {limits.max_spec_bytes} (Limits.max_spec_bytes)")
        raw = reader.read(SPEC_KEY, kinds="u")
        if raw.dtype != np.uint8 or raw.ndim != 1:
            raise SpecError(label, f"the {SPEC_KEY!r} entry must be a 1-D uint8 array of UTF-8 JSON, got "
                                   f"{raw.dtype}{raw.shape}")
        spec = loads_json(raw.tobytes(), label, "spec", limits, error=SpecError)
        if validate is None:
            _validate_spec(spec, label)
        else:
            _validate_common(spec, label, GRAPH_KIND_NAME)
            validate(spec, label)
        listed = list(spec["arrays"])
        present = set(names) - {SPEC_KEY}
        missing = [k for k in listed if k not in present]
        if missing:
            more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
            raise MissingArraysError(label, f"{len(missing)} array(s) listed in the spec are missing: "
                                            f"{', '.join(m[:80] for m in missing[:5])}{more}")
        extra = sorted(present - set(listed))
        if extra:
            more = f" and {len(extra) - 5} more" if len(extra) > 5 else ""
            raise ExtraArraysError(label, f"{len(extra)} array(s) not listed in the spec: "
                                          f"{', '.join(e[:80] for e in extra[:5])}{more}")
        arrays: Dict[str, np.ndarray] = {}
        for key in listed:
            info = spec["arrays"][key]
            arr = reader.read(key, kinds="biuf", expect=(info["dtype"], info["shape"]))
            if _digest(arr, spec["format_version"]) != info["sha256"]:
                raise ChecksumMismatchError(label, f"array {key[:80]!r}: sha256 mismatch (the weights were modified or "
                                                   f"corrupted)")
            arrays[key] = arr
    return spec, arrays, label


# ---------------------------------------------------------------------------
# reading: rebuilding the network
# ---------------------------------------------------------------------------
class _StoredParameter(_init.Initializer):
    """Stands in for an initialiser: zeros, but only at a shape one of the layer's stored
    parameters has (so a declared ``num_units=5e7`` is refused before anything is allocated)."""

    def __init__(self, decoder: "_Decoder") -> None:
        self.decoder = decoder

    def __call__(self, shape: Any) -> np.ndarray:
        shape = tuple(int(s) for s in shape)
        self.decoder.check_param_shape(shape, "an initialiser placeholder")
        return np.zeros(shape, dtype=self.decoder.dtype)

    sample = __call__


class _Decoder:
    def __init__(self, label: str, arrays: Dict[str, np.ndarray], dtype: str) -> None:
        self.label = label
        self.arrays = arrays
        self.dtype = np.dtype(dtype)
        self.layers: Dict[str, Layer] = {}
        self.where = ""
        self.class_name = ""
        self.param_shapes: set = set()

    def bad(self, what: str) -> SpecError:
        return SpecError(self.label, f"{self.where}: {what}")

    def check_param_shape(self, shape: Tuple[int, ...], what: str) -> None:
        if tuple(shape) not in self.param_shapes:
            raise self.bad(f"{what} has shape {tuple(shape)}, which no stored parameter of the layer has")

    def number(self, value: Any, slot: str) -> Any:
        if isinstance(value, float) and not math.isfinite(value):
            if math.isnan(value) or slot != "val":  # only PadLayer's fill value may be infinite
                raise self.bad(f"argument {slot!r} is {value!r}; numbers must be finite")
        if _is_int(value) and abs(value) > _MAX_INT_ARG:
            raise self.bad(f"argument {slot!r} is {value}, out of range")
        return value

    def decode(self, value: Any, slot: str) -> Any:
        if value is None or isinstance(value, (bool, str)):
            return value
        if isinstance(value, (int, float)):
            return self.number(value, slot)
        if isinstance(value, list):
            return [self.decode(v, slot) for v in value]
        tags = [k for k in value if k.startswith("$")] if isinstance(value, dict) else []
        if len(tags) != 1 or set(value) - {tags[0], "args" if tags[0] == "$object" else tags[0]}:
            raise self.bad(f"argument {slot!r}: cannot decode {str(value)[:80]}")
        tag = tags[0]
        body = value[tag]
        if tag == "$float":
            if body not in ("inf", "-inf", "nan"):
                raise self.bad(f"argument {slot!r}: bad float {str(body)[:40]!r}")
            return self.number(float(body), slot)
        if tag == "$layer":
            if not isinstance(body, str) or body not in self.layers:
                raise self.bad(f"argument {slot!r} refers to layer {str(body)[:80]!r}, which is not defined before it")
            return self.layers[body]
        if tag == "$zeros":
            if not isinstance(body, dict) or set(body) != {"shape", "dtype"} or _shape_problem(body["shape"]):
                raise self.bad(f"argument {slot!r}: bad $zeros {str(body)[:80]}")
            try:
                dtype = _numeric_dtype(body["dtype"])
            except ValueError as exc:
                raise self.bad(f"argument {slot!r}: {exc}") from None
            self.check_param_shape(tuple(body["shape"]), f"argument {slot!r} ($zeros)")
            return np.zeros(tuple(body["shape"]), dtype=dtype)
        if tag == "$array":
            if not isinstance(body, str) or body not in self.arrays:
                raise self.bad(f"argument {slot!r} refers to array {str(body)[:80]!r}, which is not in the file")
            return self.arrays[body]
        if tag == "$init":
            if body not in ALLOWED_INITIALIZERS:
                raise UnknownFunctionError(self.label, f"{self.where}: argument {slot!r}: unknown initialiser "
                                                       f"{str(body)[:80]!r}")
            return _StoredParameter(self)
        if tag == "$slice":
            if not isinstance(body, list) or len(body) != 3 or not all(v is None or _is_int(v) for v in body):
                raise self.bad(f"argument {slot!r}: a $slice needs [start, stop, step] (integers or null)")
            return slice(*[self.number(v, slot) for v in body])
        if tag == "$tuple":
            if not isinstance(body, list):
                raise self.bad(f"argument {slot!r}: a $tuple needs a list")
            return tuple(self.decode(v, slot) for v in body)
        if tag == "$dict":
            if not isinstance(body, dict):
                raise self.bad(f"argument {slot!r}: a $dict needs an object")
            return {k: self.decode(v, slot) for k, v in body.items()}
        if tag == "$dtype":
            try:
                return _numeric_dtype(body)
            except ValueError as exc:
                raise self.bad(f"argument {slot!r}: {exc}") from None
        if tag == "$fn":
            allowed = ALLOWED_FUNCTIONS.get(slot, ())
            if slot == "convolution" and self.class_name in _CONVOLUTION_OF:
                allowed = (_CONVOLUTION_OF[self.class_name],)
            if not isinstance(body, str) or body not in allowed:
                raise UnknownFunctionError(self.label, f"{self.where}: argument {slot!r} may hold "
                                                       f"{', '.join(allowed) or 'no function'}; the spec names "
                                                       f"{str(body)[:80]!r}")
            return _resolve_function(body)
        if tag == "$object":
            allowed = ALLOWED_OBJECTS.get(slot, ())
            if not isinstance(body, str) or body not in allowed:
                raise UnknownFunctionError(self.label, f"{self.where}: argument {slot!r} may hold "
                                                       f"{', '.join(allowed) or 'no object'}; the spec names "
                                                       f"{str(body)[:80]!r}")
            module_key, _, name = body.partition(".")
            cls = getattr(_object_module(module_key), name)
            args = value.get("args", {})
            if not isinstance(args, dict):
                raise self.bad(f"argument {slot!r}: bad arguments for {body!r}")
            decoded = {k: self.decode(v, k) for k, v in args.items()}
            _check_args(self, cls, decoded, f"{body}: ")
            try:
                return _call(cls, decoded)
            except ModelFileError:
                raise
            except Exception as exc:
                raise self.bad(f"cannot rebuild {body}: {type(exc).__name__}: {exc}") from None
        raise self.bad(f"argument {slot!r}: unknown tag {tag!r}")


def _check_args(decoder: _Decoder, cls: type, args: Mapping[str, Any], prefix: str = "") -> None:
    """Type-check hyperparameters against the constructor's signature, before calling it:
    a boolean default takes a boolean, a numeric default a number, a size a positive integer."""
    import inspect

    try:
        params = inspect.signature(cls.__init__).parameters
    except (TypeError, ValueError):  # pragma: no cover - every layers_np class has a signature
        params = {}
    for name, value in args.items():
        if not name.isidentifier():
            raise decoder.bad(f"{prefix}argument {name[:40]!r} is not a valid name")
        param = params.get(name)
        default = param.default if param is not None else inspect.Parameter.empty
        if isinstance(default, bool) and not isinstance(value, bool):
            raise decoder.bad(f"{prefix}argument {name!r} must be true or false, got {str(value)[:40]!r}")
        if isinstance(default, float) and not (isinstance(value, (int, float)) and not isinstance(value, bool)):
            raise decoder.bad(f"{prefix}argument {name!r} must be a number, got {str(value)[:40]!r}")
        if _is_int(default) and isinstance(value, bool):
            raise decoder.bad(f"{prefix}argument {name!r} must be an integer, got {value!r}")
        if name in _SIZE_ARGS and value is not None:
            items = value if isinstance(value, (list, tuple)) else [value]
            if not all(v is None or (_is_int(v) and v >= 1) for v in items):
                raise decoder.bad(f"{prefix}argument {name!r} must be a positive integer (or a tuple of them), got "
                                  f"{str(value)[:40]}")
        if name == "name" and value is not None and not isinstance(value, str):
            raise decoder.bad(f"{prefix}argument 'name' must be a string")
        if name == "shape" and issubclass(cls, InputLayer):
            if not isinstance(value, tuple) or _shape_problem(list(value), free=True):
                raise decoder.bad(f"{prefix}argument 'shape' must be a tuple of sizes (or null), got {str(value)[:40]}")


def _call(cls: type, args: Dict[str, Any]) -> Any:
    """``cls(**args)`` where ``args`` were recorded by RecordsArguments (``*args`` kept as a tuple)."""
    import inspect

    signature = inspect.signature(cls.__init__)
    params = list(signature.parameters.values())[1:]
    var_pos = next((p for p in params if p.kind is p.VAR_POSITIONAL), None)
    if var_pos is None or var_pos.name not in args:
        return cls(**args)
    args = dict(args)
    positional = []
    for p in params:
        if p.kind is p.VAR_POSITIONAL:
            positional.extend(args.pop(p.name))
            break
        positional.append(args.pop(p.name))
    return cls(*positional, **args)


def _shape_list(shape: Any) -> List[Any]:
    return [None if d is None else int(d) for d in shape]


CUSTOM_PREFIX = "custom:"


def custom_classes(net: Union[Layer, Sequence[Layer]]) -> Dict[str, type]:
    """The user's twin classes in ``net`` by name (what :func:`load` needs as ``custom_layers``)."""
    layers_np = _layers_module()
    outputs = list(net) if isinstance(net, (list, tuple)) else [net]
    return {type(l).__name__: type(l) for l in get_all_layers(outputs)
            if not isinstance(l, InputLayer) and getattr(layers_np, type(l).__name__, None) is not type(l)}


def _custom_registry(custom_layers: Optional[Mapping[str, type]]) -> Dict[str, type]:
    """Check the caller's ``{class name: layer class}`` registry (a programming error raises TypeError)."""
    registry: Dict[str, type] = {}
    for key, cls in (custom_layers or {}).items():
        if not isinstance(key, str) or not isinstance(cls, type) or not issubclass(cls, Layer) \
                or cls in (Layer, MergeLayer, InputLayer):
            raise TypeError(f"custom_layers: {key!r} must map a class name to a layers_np Layer subclass, "
                            f"got {cls!r}")
        registry[key] = cls
    return registry


def _build(spec: Dict[str, Any], arrays: Dict[str, np.ndarray], label: str,
           custom_layers: Optional[Mapping[str, type]] = None) -> Any:
    layers_np = _layers_module()
    custom = _custom_registry(custom_layers)
    decoder = _Decoder(label, arrays, spec["dtype"])
    input_dtypes = {entry["name"]: entry.get("dtype", spec["dtype"]) for entry in spec["inputs"]}
    for index, entry in enumerate(spec["layers"]):
        name, class_name = entry["name"], entry["class"]
        decoder.where = f"layer {index} {name[:80]!r} ({class_name[:80]})"
        decoder.class_name = class_name
        if name in decoder.layers:
            raise SpecError(label, f"{decoder.where}: the name is used twice")
        if class_name == "InputLayer":
            cls: Any = ModelInputLayer
        elif class_name.startswith(CUSTOM_PREFIX):
            user = class_name[len(CUSTOM_PREFIX):]
            cls = custom.get(user)
            if cls is None:
                shown = user[:80] if user.isidentifier() else "NAME"
                raise UnknownLayerError(label, f"layer {name[:80]!r} has the user class {user[:80]!r}; pass its twin "
                                               f"class: layers_np.load(path, custom_layers={{{shown!r}: {shown}}}) "
                                               f"(classes are never loaded from the file)")
        else:
            cls = getattr(layers_np, class_name, None) if class_name.isidentifier() and not class_name.startswith("_") else None
            if (not (isinstance(cls, type) and issubclass(cls, Layer)) or cls in (Layer, MergeLayer, InputLayer)
                    or class_name == "ExpressionLayer"):
                raise UnknownLayerError(label, f"layer {name[:80]!r} has class {class_name[:80]!r}, which layers_np "
                                               f"does not have")
        wanted = entry.get("params", [])
        decoder.param_shapes = {tuple(info["shape"]) for info in wanted}
        args = {k: decoder.decode(v, k) for k, v in entry["args"].items() if v != {"$default": None}}
        if cls is ModelInputLayer:
            args["dtype"] = _numeric_dtype(input_dtypes.get(name, spec["dtype"]))
        _check_args(decoder, cls, args)
        try:
            layer = _call(cls, args)
        except ModelFileError:
            raise
        except Exception as exc:
            raise SpecError(label, f"{decoder.where}: cannot rebuild: {type(exc).__name__}: {exc}") from None
        got = _own_params(layer)
        if len(wanted) != len(got):
            raise SpecError(label, f"{decoder.where}: the rebuilt layer has {len(got)} parameters, the spec lists "
                                   f"{len(wanted)}")
        for p, info in zip(got, wanted):
            value = arrays[info["key"]]
            if tuple(value.shape) != tuple(p.shape):
                raise SpecError(label, f"{decoder.where}: parameter {p.name!r} has shape {p.shape}, "
                                       f"array {info['key']!r} has {value.shape}")
            p.value = value
        try:
            rebuilt = _shape_list(layer.output_shape)
        except (TypeError, ValueError):
            rebuilt = None
        if rebuilt != entry["output_shape"]:
            raise SpecError(label, f"{decoder.where}: the rebuilt layer's output shape is {rebuilt}, the spec "
                                   f"recorded {entry['output_shape']}")
        decoder.layers[name] = layer
    missing = [n for n in spec["outputs"] if n not in decoder.layers]
    if missing:
        raise SpecError(label, f"outputs {missing[:5]!r} name layers not in the spec")
    outputs = [decoder.layers[n] for n in spec["outputs"]]
    return outputs if spec.get("multiple_outputs") else outputs[0]


def load(path: PathLike, *, limits: Optional[Limits] = None,
         custom_layers: Optional[Mapping[str, type]] = None) -> Any:
    """Load a model written by :func:`save` (or ``layers_theano.export.export``).

    Returns the output layer (a list if several were saved); call it on an input array:
    ``layers_np.load("model.npz")(X)``. Uses numpy only; never unpickles, never evaluates code.

    Parameters
    ----------
    path : str or path
    limits : Limits, optional
        The reader's bounds (default: :data:`layers_np.safe_npz.DEFAULT_LIMITS`, or what
        :func:`set_default_limits` set).
    custom_layers : mapping of str to class, optional
        The user's own twin classes a model may contain (as Keras' ``custom_objects``), by class
        name: ``load(path, custom_layers={"MyScale": MyScale})``. A file records only the name
        of such a class; it is rebuilt from the class given here, with the same argument and
        parameter checks as a built-in layer, and never from anything in the file.

    Raises
    ------
    ModelFileError
        One of its subclasses, with a one-line reason, when the file is bad.
    """
    _custom_registry(custom_layers)  # a bad registry is the caller's error, before the file is read
    spec, arrays, label = _open(path, limits)
    return _build(spec, arrays, label, custom_layers)


def loads(data: bytes, *, limits: Optional[Limits] = None, custom_layers: Optional[Mapping[str, type]] = None) -> Any:
    """:func:`load` from the bytes of a model file."""
    _custom_registry(custom_layers)
    spec, arrays, label = _open(bytes(data), limits)
    return _build(spec, arrays, label, custom_layers)


def read_metadata(path: Union[PathLike, bytes], *, limits: Optional[Limits] = None) -> Dict[str, Any]:
    """The ``metadata`` of a model file (``{}`` when it has none), its arrays in place: e.g.
    ``class_names`` and ``mean_value`` of a model imported from a pretrained pickle.

    The whole file is checked as :func:`load` checks it (spec schema, every array's checksum).
    """
    spec, arrays, _ = _open(path, limits)
    meta = spec.get("metadata") or {}
    return {k: (arrays[v["$array"]].copy() if isinstance(v, dict) else v) for k, v in meta.items()}


def read_spec(path: Union[PathLike, bytes], *, limits: Optional[Limits] = None) -> Dict[str, Any]:
    """The validated spec of a model file or of its bytes (arrays checked against their checksums),
    without building it."""
    return _open(path, limits)[0]


# ---------------------------------------------------------------------------
# Lasagne weights: np.savez(f, *lasagne.layers.get_all_param_values(net))
# ---------------------------------------------------------------------------
_ARR_NAME = re.compile(r"arr_(0|[1-9][0-9]{0,8})")


def read_lasagne_weights(path: PathLike, *, limits: Optional[Limits] = None) -> List[np.ndarray]:
    """The arrays ``arr_0 .. arr_N`` of a Lasagne weights file, in order (floating point only)."""
    with NpzReader(path, None, limits) as reader:
        label, names = reader.label, reader.names
        if SPEC_KEY in names:
            raise WeightsMismatchError(label, "this is a theano-twins model file, not Lasagne weights: use layers_np.load")
        present = set()
        for key in names:
            m = _ARR_NAME.fullmatch(key)
            if not m:
                raise WeightsMismatchError(label, f"unexpected array {key[:80]!r}: Lasagne weights are arr_0 .. arr_N, "
                                                  f"written by np.savez(f, *get_all_param_values(net))")
            present.add(int(m.group(1)))
        # names are unique, so any index >= len(names) means one below it is missing; the scan is
        # bounded by the member limit
        missing = [i for i in range(len(names)) if i not in present]
        if missing:
            raise WeightsMismatchError(label, f"arrays {', '.join(f'arr_{i}' for i in missing[:5])} are missing")
        return [reader.read(f"arr_{i}", kinds="f") for i in range(len(names))]


def check_weights_fit(label: str, params: Sequence[Tuple[str, Tuple[int, ...]]], values: Sequence[np.ndarray]) -> None:
    """Raise WeightsMismatchError unless ``values`` fit ``params`` ((name, shape) pairs) one to one."""
    if len(params) != len(values):
        raise WeightsMismatchError(label, f"the network has {len(params)} parameters, the file holds {len(values)} arrays")
    for i, ((name, shape), value) in enumerate(zip(params, values)):
        if tuple(value.shape) != tuple(shape):
            raise WeightsMismatchError(label, f"arr_{i} has shape {tuple(value.shape)}, parameter {name!r} "
                                              f"expects {tuple(shape)}")
        if value.dtype.kind != "f":
            raise WeightsMismatchError(label, f"arr_{i} has dtype {value.dtype}, expected floating-point weights")


def weights_dtype(label: str, values: Sequence[np.ndarray]) -> Optional[np.dtype]:
    """The one floating-point dtype of a Lasagne weights file (None when it holds no arrays).

    Lasagne saves every parameter in floatX, so one file has one dtype; a mixture is refused
    (WeightsMismatchError) rather than guessed.
    """
    dtypes = sorted({np.dtype(v.dtype).name for v in values})
    if len(dtypes) > 1:
        raise WeightsMismatchError(label, f"the arrays mix dtypes {', '.join(dtypes)}; Lasagne saves all "
                                          "parameters in one floatX")
    return np.dtype(dtypes[0]) if dtypes else None


def load_lasagne_weights(net: Union[Layer, Sequence[Layer]], path: PathLike, *,
                         limits: Optional[Limits] = None) -> None:
    """Load Lasagne weights (``np.savez(f, *get_all_param_values(net))``) into a twin network.

    The dtype follows the weights file: float32 weights make a float32 twin (its parameters
    take the file's dtype, whatever they were built with), as a Lasagne network saved under
    ``floatX=float32`` computes in float32. Inputs must then be float32 too (see
    :func:`layers_np.get_output`).
    """
    values = read_lasagne_weights(path, limits=limits)
    params = get_all_params(net)
    check_weights_fit(os.fspath(path), [(str(p.name), p.shape) for p in params], values)
    weights_dtype(os.fspath(path), values)
    for p, v in zip(params, values):
        p.set_value(np.array(v, copy=True))


def load_pickle_weights(net: Union[Layer, Sequence[Layer]], path: Union[PathLike, bytes], *,
                        limits: Optional[Limits] = None) -> Any:
    """Set a twin network's parameters from a pretrained-model pickle (a Lasagne Model Zoo ``.pkl``,
    Python 2 or 3, or a Theano ``pkl_utils`` zip), read by :mod:`layers_np.safe_pickle` (numpy
    only, nothing executed); returns the :class:`~layers_np.safe_pickle.PickledModel` (class
    names, mean value or image).

    The values go to ``get_all_params(net)`` in order, as ``lasagne.layers.set_all_param_values``
    does; the twin takes the pickle's float dtype (see :func:`load_lasagne_weights`).
    """
    from .safe_pickle import read_model_pickle

    model = read_model_pickle(path, limits=limits)
    label = "<bytes>" if isinstance(path, (bytes, bytearray, memoryview)) else os.fspath(path)
    params = get_all_params(net)
    check_weights_fit(label, [(str(p.name), p.shape) for p in params], model.values)
    weights_dtype(label, model.values)
    for p, v in zip(params, model.values):
        p.set_value(np.array(v, copy=True))
    return model
