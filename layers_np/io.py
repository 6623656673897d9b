"""Save and load twin networks: one ``.npz`` file, numpy only, never unpickled.

>>> import layers_np as L
>>> L.save(net, "model.npz")
>>> y = L.load("model.npz")(X)          # numpy only: no Theano, no pickle, no eval

File format (version 1)
-----------------------
An uncompressed ``.npz`` (zip of ``.npy`` files) holding

* every parameter array under ``"<layer name>/<parameter>"`` (plus, rarely, a non-parameter
  array argument under ``"<layer name>/arg/<argument>"``), in the network's dtype;
* ``"__spec__"``: a ``uint8`` array holding UTF-8 JSON: ``format``, ``format_version``,
  ``dtype``, ``inputs`` (name, shape with ``null`` for free axes, dtype), ``outputs``,
  ``layers`` (in topological order: wiring name, class, constructor arguments, incoming
  layer names, output shape, parameters with their names, shapes, dtypes and array keys),
  ``arrays`` (shape, dtype and sha256 of every array's C-order bytes), ``producer``
  (versions) and ``certification`` (the summary of the certification that admitted it).

Constructor arguments are the ones a layer was built with (``layer._init_args``); layers
are referred to by name (unnamed layers get ``<class>_<index>``), nonlinearities by name
or by class and arguments, parameter initialisers and initial values by placeholders (the
stored arrays replace them). Anything else, e.g. an ``ExpressionLayer`` or a Python
function, cannot be described without code and is refused by :func:`save`.

Files are written atomically (a temporary file in the same directory, then ``os.replace``).
Every way a file can be bad raises a subclass of :class:`ModelFileError` with a one-line reason.
"""
from __future__ import annotations

import datetime
import hashlib
import inspect
import io as _io
import json
import math
import os
import platform
import re
import zipfile
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from . import init as _init
from . import nonlinearities as _nonlinearities
from ._atomic import atomic_savez
from ._record import RecordsArguments
from .base import InputLayer, Layer, MergeLayer, Param, TwinError, _fmt_shape, _incoming, get_all_layers, get_all_params

__all__ = ["save", "load", "read_spec", "dumps", "loads", "load_lasagne_weights", "read_lasagne_weights",
           "ModelInputLayer", "FORMAT_NAME", "FORMAT_VERSION",
           "ModelFileError", "TruncatedFileError", "NotAModelFileError", "ChecksumMismatchError", "ObjectArrayError",
           "UnknownLayerError", "UnknownFunctionError", "MissingArraysError", "ExtraArraysError", "NewerFormatError",
           "SpecError", "WeightsMismatchError", "ModelExportError"]

FORMAT_NAME = "theano-twins-model"
FORMAT_VERSION = 1
SPEC_KEY = "__spec__"
PathLike = Union[str, "os.PathLike[str]"]


# ---------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------
class ModelFileError(ValueError):
    """A model or weights file that cannot be loaded; ``reason`` is one line."""

    def __init__(self, path: Any, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class TruncatedFileError(ModelFileError):
    """The file ends early: the zip archive or one of its arrays is cut off."""


class NotAModelFileError(ModelFileError):
    """The file is not an .npz archive, or an .npz without a model spec."""


class ChecksumMismatchError(ModelFileError):
    """An array's bytes, shape or dtype differ from what the spec recorded (or a zip CRC fails)."""


class ObjectArrayError(ModelFileError):
    """The file holds an object (pickled) array; loading never unpickles."""


class UnknownLayerError(ModelFileError):
    """The spec names a layer class that layers_np does not have."""


class UnknownFunctionError(ModelFileError):
    """The spec names a nonlinearity, initialiser or other object that layers_np does not have."""


class MissingArraysError(ModelFileError):
    """Arrays the spec lists are not in the file."""


class ExtraArraysError(ModelFileError):
    """The file holds arrays the spec does not list."""


class NewerFormatError(ModelFileError):
    """The file was written by a newer format version than this loader reads."""


class SpecError(ModelFileError):
    """The spec is malformed or does not rebuild into a network."""


class WeightsMismatchError(ModelFileError):
    """Weights do not fit the network (count or shapes)."""


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
        want = f"an array of shape {_fmt_shape(self.shape)} and dtype {self.dtype.name}"
        if X.ndim != len(self.shape) or any(w is not None and w != g for w, g in zip(self.shape, X.shape)):
            raise TwinError(f"{self._label()}: expected {want}, got shape {X.shape}")
        if self.dtype.kind == "f" and X.dtype != self.dtype:
            raise TwinError(f"{self._label()}: expected {want}, got dtype {X.dtype}; "
                            f"convert with X.astype({self.dtype.name!r})")
        if self.dtype.kind in "iu" and X.dtype.kind not in "iu":
            raise TwinError(f"{self._label()}: expected {want} (integer ids), got dtype {X.dtype}")
        return X


# ---------------------------------------------------------------------------
# encoding constructor arguments
# ---------------------------------------------------------------------------
_NUMPY_FUNCTIONS = ("mean", "max", "min", "sum", "prod", "amax", "amin", "std", "var", "median")
_OBJECT_MODULES = {"layers_np": None, "nonlinearities": _nonlinearities, "init": _init}


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
            if arr.shape in self.param_shapes:
                # initial value of a parameter: the stored parameter array replaces it
                return {"$zeros": {"shape": list(arr.shape), "dtype": arr.dtype.name}}
            key = f"{self.layer_name}/arg/{re.sub(r'[^A-Za-z0-9_.-]', '_', where)}"
            self.arrays[key] = np.ascontiguousarray(arr)
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
            name = getattr(value, "__name__", None)
            if name and getattr(_nonlinearities, name, None) is value and not isinstance(value, type):
                return {"$fn": f"nonlinearities.{name}"}
            for fname in _NUMPY_FUNCTIONS:
                if getattr(np, fname, None) is value:
                    return {"$fn": f"numpy.{fname}"}
            module = getattr(value, "__module__", "") or ""
            parts = module.split(".")
            if (len(parts) == 2 and parts[0] == "layers_np" and name and _layers_np_function(parts[1], name) is value):
                return {"$fn": f"{module}.{name}"}  # e.g. layers_np.conv.conv2d
            raise self.fail(where, f"is the Python function {getattr(value, '__qualname__', value)!r}: use a "
                            f"function of layers_np.nonlinearities")
        raise self.fail(where, f"has type {type(value).__name__}")


def _layers_np_function(submodule: str, name: str) -> Any:
    """The function ``layers_np.<submodule>.<name>`` if it is one defined there, else None."""
    import types

    module = getattr(_layers_module(), submodule, None) if submodule.isidentifier() else None
    fn = getattr(module, name, None) if isinstance(module, types.ModuleType) and not name.startswith("_") else None
    if isinstance(fn, types.FunctionType) and fn.__module__ == f"layers_np.{submodule}":
        return fn
    return None


def _sha256(arr: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(arr).tobytes()).hexdigest()


def _key_part(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", text) or "_"


def _wiring_names(layers: Sequence[Layer]) -> Dict[int, str]:
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


def _jsonable(value: Any) -> Any:
    """Certification summaries: numpy scalars to Python, non-finite floats to strings."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def _producer(extra: Optional[Mapping[str, Any]]) -> Dict[str, Any]:
    import layers_np

    producer = {"layers_np": getattr(layers_np, "__version__", "unknown"), "numpy": np.__version__,
                "python": platform.python_version(),
                "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
    producer.update(extra or {})
    return producer


def _describe(net: Union[Layer, Sequence[Layer]], certification: Optional[Mapping[str, Any]] = None,
              input_dtypes: Optional[Mapping[str, str]] = None,
              producer: Optional[Mapping[str, Any]] = None) -> Tuple[Dict[str, Any], Dict[str, np.ndarray]]:
    """The spec and arrays of a twin network (nothing written)."""
    outputs = list(net) if isinstance(net, (list, tuple)) else [net]
    for o in outputs:
        if not isinstance(o, Layer):
            raise ModelExportError(f"save: expected a layers_np Layer, got {type(o).__name__}"
                                   + (" (a Theano layer? use layers_theano.export.export)"
                                      if type(o).__module__.startswith("layers_theano") else ""))
    layers = get_all_layers(outputs)
    names = _wiring_names(layers)
    layers_np = _layers_module()
    params_all = get_all_params(outputs)
    float_dtypes = sorted({p.value.dtype.name for p in params_all if p.value.dtype.kind == "f"})
    if len(float_dtypes) > 1:
        raise ModelExportError(f"save: parameters mix dtypes {float_dtypes}; cast them with "
                               f"layers_np.cast_param_values(net, dtype) first")
    dtype = float_dtypes[0] if float_dtypes else "float64"
    encoder = _Encoder(names)
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
                raise ModelExportError(f"{_label(layer, name)}: class {cls.__module__}.{class_name} is not a layers_np "
                                       f"layer, so a numpy-only loader could not rebuild it")
            if not hasattr(layer, "_init_args"):
                raise ModelExportError(f"{_label(layer, name)}: its constructor arguments were not recorded")
            encoder.param_shapes = [tuple(p.shape) for p in layer.params]
            args = _encode_args(encoder, cls, layer._init_args)
        params = []
        shorts = set()
        for p in layer.params:
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
            encoder.arrays[key] = np.ascontiguousarray(p.value)
            params.append({"name": p.name, "key": key, "shape": list(p.shape), "dtype": p.value.dtype.name,
                           "tags": sorted(layer.params[p])})
        spec_layers.append({"name": name, "class": class_name, "args": args,
                            "incoming": [names[id(l)] for l in _incoming(layer)],
                            "output_shape": list(layer.output_shape), "params": params})
    for key, arr in encoder.arrays.items():
        if arr.dtype.kind not in "biuf":
            raise ModelExportError(f"save: array {key!r} has dtype {arr.dtype}, only numeric arrays can be stored")
    spec = {
        "format": FORMAT_NAME, "format_version": FORMAT_VERSION, "dtype": dtype,
        "inputs": inputs, "outputs": [names[id(o)] for o in outputs], "multiple_outputs": isinstance(net, (list, tuple)),
        "layers": spec_layers,
        "arrays": {k: {"shape": list(a.shape), "dtype": a.dtype.name, "sha256": _sha256(a)}
                   for k, a in encoder.arrays.items()},
        "producer": _producer(producer),
        "certification": None if certification is None else _jsonable(dict(certification)),
    }
    return spec, encoder.arrays


def _encode_args(encoder: _Encoder, cls: type, init_args: Mapping[str, Any]) -> Dict[str, Any]:
    """Encode a layer's recorded arguments; an argument left at its default object (e.g. a
    ``convolution`` function) that cannot be described otherwise is recorded as ``$default``."""
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
         input_dtypes: Optional[Mapping[str, str]] = None, producer: Optional[Mapping[str, Any]] = None) -> Dict[str, Any]:
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

    Returns
    -------
    dict
        The spec written.

    Raises
    ------
    ModelExportError
        When a layer or argument cannot be described without code.
    """
    spec, arrays = _describe(net, certification, input_dtypes, producer)
    atomic_savez(path, {SPEC_KEY: _spec_array(spec), **arrays}, fsync=True)
    return spec


def dumps(net: Union[Layer, Sequence[Layer]], certification: Optional[Mapping[str, Any]] = None, **kwargs: Any) -> bytes:
    """The bytes :func:`save` would write."""
    spec, arrays = _describe(net, certification, **kwargs)
    buffer = _io.BytesIO()
    np.savez(buffer, **{SPEC_KEY: _spec_array(spec), **arrays})
    return buffer.getvalue()


# ---------------------------------------------------------------------------
# reading
# ---------------------------------------------------------------------------
def _read_npz(source: Any, label: str) -> Dict[str, np.ndarray]:
    """Every array of an .npz, read without pickle; bad archives raise ModelFileError subclasses."""
    if isinstance(source, (bytes, bytearray)):
        data = bytes(source)
    else:
        try:
            with open(source, "rb") as f:
                data = f.read()
        except OSError as exc:
            raise ModelFileError(label, f"cannot read the file: {exc.strerror or exc}") from None
    if not data:
        raise TruncatedFileError(label, "the file is empty")
    if not zipfile.is_zipfile(_io.BytesIO(data)):
        if data[:4] == b"PK\x03\x04":
            raise TruncatedFileError(label, f"truncated .npz archive ({len(data)} bytes, the zip directory is missing)")
        raise NotAModelFileError(label, "not an .npz archive")
    arrays: Dict[str, np.ndarray] = {}
    try:
        npz = np.load(_io.BytesIO(data), allow_pickle=False)
    except Exception as exc:  # zipfile raises several types for broken archives
        raise TruncatedFileError(label, f"broken .npz archive: {exc}") from None
    with npz:
        for key in npz.files:
            try:
                arr = npz[key]
            except ValueError as exc:
                if "allow_pickle" in str(exc) or "pickle" in str(exc).lower():
                    raise ObjectArrayError(label, f"array {key!r} is an object array; loading never unpickles") from None
                raise TruncatedFileError(label, f"array {key!r} is cut off or malformed: {exc}") from None
            except zipfile.BadZipFile as exc:
                if "CRC" in str(exc):
                    raise ChecksumMismatchError(label, f"array {key!r} is corrupted (zip CRC check failed)") from None
                raise TruncatedFileError(label, f"array {key!r}: {exc}") from None
            except (EOFError, OSError) as exc:
                raise TruncatedFileError(label, f"array {key!r} is cut off: {exc}") from None
            except Exception as exc:
                raise TruncatedFileError(label, f"array {key!r} cannot be read: {type(exc).__name__}: {exc}") from None
            if arr.dtype.hasobject:
                raise ObjectArrayError(label, f"array {key!r} is an object array; loading never unpickles")
            arrays[key] = arr
    return arrays


def _parse_spec(arrays: Dict[str, np.ndarray], label: str) -> Dict[str, Any]:
    if SPEC_KEY not in arrays:
        hint = " (it looks like Lasagne weights: use load_lasagne_weights(net, path))" if "arr_0" in arrays else ""
        raise NotAModelFileError(label, f"no {SPEC_KEY!r} entry: not a theano-twins model file{hint}")
    raw = arrays.pop(SPEC_KEY)
    if raw.dtype != np.uint8 or raw.ndim != 1:
        raise SpecError(label, f"the {SPEC_KEY!r} entry must be a 1-D uint8 array of UTF-8 JSON, got {raw.dtype}{raw.shape}")
    try:
        spec = json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise SpecError(label, f"the spec is not valid JSON: {exc}") from None
    if not isinstance(spec, dict) or spec.get("format") != FORMAT_NAME:
        raise NotAModelFileError(label, f"the spec does not declare format {FORMAT_NAME!r}")
    version = spec.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise SpecError(label, f"bad format_version {version!r}")
    if version > FORMAT_VERSION:
        raise NewerFormatError(label, f"format version {version} is newer than this loader's ({FORMAT_VERSION}); "
                                      f"upgrade theano-twins to load it")
    for field_name, kind in (("layers", list), ("arrays", dict), ("outputs", list), ("inputs", list)):
        if not isinstance(spec.get(field_name), kind):
            raise SpecError(label, f"the spec has no valid {field_name!r} ({kind.__name__})")
    return spec


def _check_arrays(spec: Dict[str, Any], arrays: Dict[str, np.ndarray], label: str) -> None:
    listed = set(spec["arrays"])
    present = set(arrays)
    missing = sorted(listed - present)
    if missing:
        more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        raise MissingArraysError(label, f"{len(missing)} array(s) listed in the spec are missing: "
                                        f"{', '.join(missing[:5])}{more}")
    extra = sorted(present - listed)
    if extra:
        more = f" and {len(extra) - 5} more" if len(extra) > 5 else ""
        raise ExtraArraysError(label, f"{len(extra)} array(s) not listed in the spec: {', '.join(extra[:5])}{more}")
    for key in sorted(listed):
        info, arr = spec["arrays"][key], arrays[key]
        if not isinstance(info, dict):
            raise SpecError(label, f"bad entry for array {key!r} in the spec")
        if arr.dtype.name != info.get("dtype") or list(arr.shape) != info.get("shape"):
            raise ChecksumMismatchError(label, f"array {key!r} is {arr.dtype.name}{tuple(arr.shape)}, the spec recorded "
                                               f"{info.get('dtype')}{tuple(info.get('shape') or ())}")
        if _sha256(arr) != info.get("sha256"):
            raise ChecksumMismatchError(label, f"array {key!r}: sha256 mismatch (the weights were modified or corrupted)")


class _Decoder:
    def __init__(self, label: str, arrays: Dict[str, np.ndarray]) -> None:
        self.label = label
        self.arrays = arrays
        self.layers: Dict[str, Layer] = {}
        self.where = ""

    def bad(self, what: str) -> SpecError:
        return SpecError(self.label, f"{self.where}: {what}")

    def decode(self, value: Any) -> Any:
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        if isinstance(value, list):
            return [self.decode(v) for v in value]
        if not isinstance(value, dict) or len([k for k in value if k.startswith("$")]) != 1:
            raise self.bad(f"cannot decode argument {value!r}")
        tag = next(k for k in value if k.startswith("$"))
        body = value[tag]
        if tag == "$float":
            if body not in ("inf", "-inf", "nan"):
                raise self.bad(f"bad float {body!r}")
            return float(body)
        if tag == "$layer":
            if body not in self.layers:
                raise self.bad(f"refers to layer {body!r}, which is not defined before it")
            return self.layers[body]
        if tag == "$zeros":
            try:
                return np.zeros(tuple(int(s) for s in body["shape"]), dtype=_numeric_dtype(body["dtype"]))
            except (KeyError, TypeError, ValueError) as exc:
                raise self.bad(f"bad $zeros {body!r}: {exc}") from None
        if tag == "$array":
            if body not in self.arrays:
                raise self.bad(f"refers to array {body!r}, which is not in the file")
            return self.arrays[body]
        if tag == "$init":
            return _init.Constant(0.0)  # placeholder; the stored parameter array replaces it
        if tag == "$slice":
            return slice(*[self.decode(v) for v in body])
        if tag == "$tuple":
            return tuple(self.decode(v) for v in body)
        if tag == "$dict":
            return {str(k): self.decode(v) for k, v in body.items()}
        if tag == "$dtype":
            try:
                return _numeric_dtype(body)
            except ValueError as exc:
                raise self.bad(str(exc)) from None
        if tag == "$fn":
            module, _, name = str(body).partition(".")
            if module == "nonlinearities":
                fn = getattr(_nonlinearities, name, None) if not name.startswith("_") else None
                if callable(fn) and not isinstance(fn, type):
                    return fn
            elif module == "numpy" and name in _NUMPY_FUNCTIONS:
                return getattr(np, name)
            elif module == "layers_np":
                sub, _, fname = name.partition(".")
                fn = _layers_np_function(sub, fname)
                if fn is not None:
                    return fn
            raise UnknownFunctionError(self.label, f"{self.where}: unknown function {body!r}")
        if tag == "$object":
            module_key, _, name = str(body).partition(".")
            module = _object_module(module_key)
            cls = getattr(module, name, None) if module is not None and not name.startswith("_") else None
            if not (isinstance(cls, type) and issubclass(cls, RecordsArguments) and not issubclass(cls, Layer)):
                raise UnknownFunctionError(self.label, f"{self.where}: unknown class {body!r}")
            args = value.get("args", {})
            if not isinstance(args, dict):
                raise self.bad(f"bad arguments for {body!r}")
            try:
                return _call(cls, {k: self.decode(v) for k, v in args.items()})
            except ModelFileError:
                raise
            except Exception as exc:
                raise self.bad(f"cannot rebuild {body}: {type(exc).__name__}: {exc}") from None
        raise self.bad(f"unknown argument tag {tag!r}")


def _numeric_dtype(name: Any) -> np.dtype:
    dtype = np.dtype(str(name))
    if dtype.kind not in "biuf":
        raise ValueError(f"dtype {name!r} is not numeric")
    return dtype


def _call(cls: type, args: Dict[str, Any]) -> Any:
    """``cls(**args)`` where ``args`` were recorded by RecordsArguments (``*args`` kept as a tuple)."""
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


def _build(spec: Dict[str, Any], arrays: Dict[str, np.ndarray], label: str) -> Any:
    layers_np = _layers_module()
    decoder = _Decoder(label, arrays)
    input_dtypes = {}
    for entry in spec["inputs"]:
        if not isinstance(entry, dict) or "name" not in entry:
            raise SpecError(label, f"bad input entry {entry!r}")
        input_dtypes[entry["name"]] = entry.get("dtype", spec.get("dtype", "float64"))
    for index, entry in enumerate(spec["layers"]):
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str) or not isinstance(entry.get("args"), dict):
            raise SpecError(label, f"layer entry {index} is malformed")
        name, class_name = entry["name"], entry.get("class")
        decoder.where = f"layer {index} {name!r} ({class_name})"
        if name in decoder.layers:
            raise SpecError(label, f"{decoder.where}: the name is used twice")
        if class_name == "InputLayer":
            cls: Any = ModelInputLayer
        else:
            cls = getattr(layers_np, class_name, None) if isinstance(class_name, str) and not class_name.startswith("_") else None
            if not (isinstance(cls, type) and issubclass(cls, Layer)) or cls is InputLayer or class_name == "ExpressionLayer":
                raise UnknownLayerError(label, f"layer {name!r} has class {class_name!r}, which layers_np does not have")
        args = {k: decoder.decode(v) for k, v in entry["args"].items() if v != {"$default": None}}
        if cls is ModelInputLayer:
            try:
                args["dtype"] = _numeric_dtype(input_dtypes.get(name, spec.get("dtype", "float64")))
            except (TypeError, ValueError) as exc:
                raise SpecError(label, f"{decoder.where}: {exc}") from None
        try:
            layer = _call(cls, args)
        except ModelFileError:
            raise
        except Exception as exc:
            raise SpecError(label, f"{decoder.where}: cannot rebuild: {type(exc).__name__}: {exc}") from None
        wanted = entry.get("params", [])
        got = list(layer.params)
        if len(wanted) != len(got):
            raise SpecError(label, f"{decoder.where}: the rebuilt layer has {len(got)} parameters, the spec lists "
                                   f"{len(wanted)}")
        for p, info in zip(got, wanted):
            try:
                value = arrays[info["key"]]
            except (KeyError, TypeError):
                raise SpecError(label, f"{decoder.where}: parameter entry {info!r} names no array") from None
            if tuple(value.shape) != tuple(p.shape):
                raise SpecError(label, f"{decoder.where}: parameter {p.name!r} has shape {p.shape}, "
                                       f"array {info['key']!r} has {value.shape}")
            p.value = value
        decoder.layers[name] = layer
    try:
        outputs = [decoder.layers[n] for n in spec["outputs"]]
    except (KeyError, TypeError):
        raise SpecError(label, f"outputs {spec['outputs']!r} name layers not in the spec") from None
    if not outputs:
        raise SpecError(label, "the spec lists no outputs")
    return outputs if spec.get("multiple_outputs") else outputs[0]


def _open(source: Any) -> Tuple[Dict[str, Any], Dict[str, np.ndarray], str]:
    label = "<bytes>" if isinstance(source, (bytes, bytearray)) else os.fspath(source)
    arrays = _read_npz(source, label)
    spec = _parse_spec(arrays, label)
    _check_arrays(spec, arrays, label)
    return spec, arrays, label


def load(path: PathLike) -> Any:
    """Load a model written by :func:`save` (or ``layers_theano.export.export``).

    Returns the output layer (a list if several were saved); call it on an input array:
    ``layers_np.load("model.npz")(X)``. Uses numpy only; never unpickles, never evaluates code.

    Raises
    ------
    ModelFileError
        One of its subclasses, with a one-line reason, when the file is bad.
    """
    spec, arrays, label = _open(path)
    return _build(spec, arrays, label)


def loads(data: bytes) -> Any:
    """:func:`load` from the bytes of a model file."""
    spec, arrays, label = _open(bytes(data))
    return _build(spec, arrays, label)


def read_spec(path: PathLike) -> Dict[str, Any]:
    """The verified spec of a model file (arrays checked against their sha256), without building it."""
    return _open(path)[0]


# ---------------------------------------------------------------------------
# Lasagne weights: np.savez(f, *lasagne.layers.get_all_param_values(net))
# ---------------------------------------------------------------------------
def read_lasagne_weights(path: PathLike) -> List[np.ndarray]:
    """The arrays ``arr_0 .. arr_N`` of a Lasagne weights file, in order."""
    label = os.fspath(path)
    arrays = _read_npz(path, label)
    pattern = re.compile(r"arr_(\d+)$")
    if SPEC_KEY in arrays:
        raise WeightsMismatchError(label, "this is a theano-twins model file, not Lasagne weights: use layers_np.load")
    indices = {}
    for key in arrays:
        m = pattern.match(key)
        if not m:
            raise WeightsMismatchError(label, f"unexpected array {key!r}: Lasagne weights are arr_0 .. arr_N, written by "
                                              f"np.savez(f, *get_all_param_values(net))")
        indices[int(m.group(1))] = arrays[key]
    if sorted(indices) != list(range(len(indices))):
        missing = sorted(set(range(max(indices, default=-1) + 1)) - set(indices))
        raise WeightsMismatchError(label, f"arrays {', '.join(f'arr_{i}' for i in missing[:5])} are missing")
    return [indices[i] for i in range(len(indices))]


def check_weights_fit(label: str, params: Sequence[Tuple[str, Tuple[int, ...]]], values: Sequence[np.ndarray]) -> None:
    """Raise WeightsMismatchError unless ``values`` fit ``params`` ((name, shape) pairs) one to one."""
    if len(params) != len(values):
        raise WeightsMismatchError(label, f"the network has {len(params)} parameters, the file holds {len(values)} arrays")
    for i, ((name, shape), value) in enumerate(zip(params, values)):
        if tuple(value.shape) != tuple(shape):
            raise WeightsMismatchError(label, f"arr_{i} has shape {tuple(value.shape)}, parameter {name!r} "
                                              f"expects {tuple(shape)}")
        if value.dtype.kind not in "biuf":
            raise WeightsMismatchError(label, f"arr_{i} has dtype {value.dtype}, expected numbers")


def load_lasagne_weights(net: Union[Layer, Sequence[Layer]], path: PathLike) -> None:
    """Load Lasagne weights (``np.savez(f, *get_all_param_values(net))``) into a twin network.

    Each array is cast to the dtype of the parameter it replaces.
    """
    values = read_lasagne_weights(path)
    params = get_all_params(net)
    check_weights_fit(os.fspath(path), [(str(p.name), p.shape) for p in params], values)
    for p, v in zip(params, values):
        p.set_value(np.asarray(v, dtype=p.value.dtype))
