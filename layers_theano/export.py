"""Export a Theano (layers_theano) network as a numpy-only model file, and load Lasagne weights.

>>> from layers_theano.export import export
>>> export(net, "model.npz")                 # the twin's spec and weights, one .npz
>>> import layers_np; y = layers_np.load("model.npz")(X)

The file is the one :func:`layers_np.save` writes for ``to_numpy(net)``; input dtypes come
from the Theano InputLayers' variables (e.g. ``int32`` token ids), and the producer
records the PyTensor version.
"""
from __future__ import annotations

import os
from typing import Any, Dict, Mapping, Optional, Sequence, Union

import numpy as np

from layers_np import io as np_io

from . import backend
from .backend import __version__ as _pytensor_version
from .base import InputLayer, Layer, get_all_layers, get_all_params
from .convert import to_numpy

__all__ = ["export", "to_twin", "load_lasagne_weights", "set_lasagne_values", "weights_floatx", "input_dtypes"]


def to_twin(net: Union[Layer, Sequence[Layer]]) -> Any:
    """``to_numpy(net, graph_fallback=True)`` (an ExpressionLayer or a layer without a twin becomes a
    ``layers_np.GraphLayer``), with a failed conversion reported as :class:`layers_np.io.ModelExportError`."""
    try:
        return to_numpy(net, graph_fallback=True)
    except (TypeError, ValueError) as exc:
        raise np_io.ModelExportError(f"cannot build the numpy twin: {exc}") from None


def input_dtypes(net: Union[Layer, Sequence[Layer]], twin: Any) -> Dict[str, str]:
    """{wiring name of each twin InputLayer: dtype of the matching Theano input variable}."""
    import layers_np

    th_layers = get_all_layers(list(net) if isinstance(net, (list, tuple)) else net)
    np_layers = layers_np.get_all_layers(list(twin) if isinstance(twin, (list, tuple)) else twin)
    names = np_io.wiring_names(np_layers)
    return {names[id(b)]: str(a.input_var.dtype) for a, b in zip(th_layers, np_layers) if isinstance(a, InputLayer)}


def export(net: Union[Layer, Sequence[Layer]], path: Union[str, "os.PathLike[str]"],
           certification: Optional[Mapping[str, Any]] = None) -> Dict[str, Any]:
    """Write the numpy twin of the Theano network ``net`` to ``path`` (atomically); returns the spec.

    Raises
    ------
    layers_np.io.ModelExportError
        When a layer cannot be described without code (a built-in layer given a Python function) or
        has no twin and a graph with an op the numpy runtime does not have.
    """
    twin = to_twin(net)
    return np_io.save(twin, path, certification, input_dtypes=input_dtypes(net, twin),
                      producer={"pytensor": _pytensor_version, "exported_from": "layers_theano"})


def load_lasagne_weights(net: Union[Layer, Sequence[Layer]], path: Union[str, "os.PathLike[str]"]) -> None:
    """Load ``np.savez(f, *lasagne.layers.get_all_param_values(net))`` (arr_0 .. arr_N) into ``net``.

    Raises :class:`layers_np.io.ModelFileError` subclasses for bad files and
    :class:`layers_np.io.WeightsMismatchError` when the arrays do not fit the network, including
    their dtype: build the network in the weights' floatX (:func:`weights_floatx`), as
    ``twins gate/export --weights`` do. A float64 network takes float32 weights only when floatX
    was set to float64 explicitly in THEANO_FLAGS/PYTENSOR_FLAGS (Theano's upcast); a downcast never.
    """
    set_lasagne_values(net, np_io.read_lasagne_weights(path), os.fspath(path))


def set_lasagne_values(net: Union[Layer, Sequence[Layer]], values: Sequence[np.ndarray], label: str) -> None:
    """``lasagne.layers.set_all_param_values(net, values)`` with the checks of
    :func:`load_lasagne_weights` (count, shapes, one float dtype matching the network's);
    ``label`` names the source in errors (e.g. the pickle the values came from)."""
    params = get_all_params(net)
    np_io.check_weights_fit(label, [(str(p.name), tuple(p.get_value().shape)) for p in params], values)
    dtype = np_io.weights_dtype(label, values)
    built = sorted({str(p.dtype) for p in params})
    # as Theano's set_value: an upcast the user chose with floatX in THEANO_FLAGS/PYTENSOR_FLAGS
    # is taken, a downcast (lossy) never
    chosen = built == [backend.FLOATX_FROM_FLAGS] and dtype is not None and np.can_cast(dtype, built[0], "safe")
    if dtype is not None and built != [dtype.name] and not chosen:
        # a shared variable's dtype is fixed when the network is built: casting here would
        # change the model's dtype silently (float32 weights in a float64 model)
        raise np_io.WeightsMismatchError(
            label, f"the weights are {dtype.name} but the network was built in {', '.join(built)}; build it with "
                   f"floatX={dtype.name} (weights_floatx(path) gives it; `twins gate/export --weights` does this)")
    for p, v in zip(params, values):
        p.set_value(np.asarray(v, dtype=p.dtype))


def weights_floatx(path: Union[str, "os.PathLike[str]"]) -> Optional[str]:
    """The floatX a network must be built in to take the Lasagne weights at ``path`` (None: no arrays)."""
    values = np_io.read_lasagne_weights(path)
    dtype = np_io.weights_dtype(os.fspath(path), values)
    return None if dtype is None else dtype.name
