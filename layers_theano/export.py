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

from .backend import __version__ as _pytensor_version
from .base import InputLayer, Layer, get_all_layers, get_all_params
from .convert import to_numpy

__all__ = ["export", "to_twin", "load_lasagne_weights", "input_dtypes"]


def to_twin(net: Union[Layer, Sequence[Layer]]) -> Any:
    """``to_numpy(net)``, with a failed conversion reported as :class:`layers_np.io.ModelExportError`."""
    try:
        return to_numpy(net)
    except (TypeError, ValueError) as exc:
        raise np_io.ModelExportError(f"cannot build the numpy twin: {exc}") from None


def input_dtypes(net: Union[Layer, Sequence[Layer]], twin: Any) -> Dict[str, str]:
    """{wiring name of each twin InputLayer: dtype of the matching Theano input variable}."""
    import layers_np

    th_layers = get_all_layers(list(net) if isinstance(net, (list, tuple)) else net)
    np_layers = layers_np.get_all_layers(list(twin) if isinstance(twin, (list, tuple)) else twin)
    names = np_io._wiring_names(np_layers)
    return {names[id(b)]: str(a.input_var.dtype) for a, b in zip(th_layers, np_layers) if isinstance(a, InputLayer)}


def export(net: Union[Layer, Sequence[Layer]], path: Union[str, "os.PathLike[str]"],
           certification: Optional[Mapping[str, Any]] = None) -> Dict[str, Any]:
    """Write the numpy twin of the Theano network ``net`` to ``path`` (atomically); returns the spec.

    Raises
    ------
    layers_np.io.ModelExportError
        When a layer has no numpy twin or cannot be described without code (ExpressionLayer, ...).
    """
    twin = to_twin(net)
    return np_io.save(twin, path, certification, input_dtypes=input_dtypes(net, twin),
                      producer={"pytensor": _pytensor_version, "exported_from": "layers_theano"})


def load_lasagne_weights(net: Union[Layer, Sequence[Layer]], path: Union[str, "os.PathLike[str]"]) -> None:
    """Load ``np.savez(f, *lasagne.layers.get_all_param_values(net))`` (arr_0 .. arr_N) into ``net``.

    Raises :class:`layers_np.io.ModelFileError` subclasses for bad files and
    :class:`layers_np.io.WeightsMismatchError` when the arrays do not fit the network.
    """
    values = np_io.read_lasagne_weights(path)
    params = get_all_params(net)
    np_io.check_weights_fit(os.fspath(path), [(str(p.name), tuple(p.get_value().shape)) for p in params], values)
    for p, v in zip(params, values):
        p.set_value(np.asarray(v, dtype=p.dtype))
