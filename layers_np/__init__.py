"""Numpy twins of Lasagne/Theano layers. numpy is the only dependency.

>>> import layers_np as L
>>> net = L.DenseLayer(L.InputLayer((None, 784)), 10, nonlinearity=L.nonlinearities.softmax)
>>> y = net(X)          # or L.get_output(net, X)
"""
from . import init, nonlinearities
from ._plan import CHUNK_BYTES, blas_threads, set_blas_threads
from .base import (InputLayer, Layer, MergeLayer, Param, TwinError, cast_param_values, count_params, evaluate_layer,
                   get_all_layers, get_all_param_values, get_all_params, get_output, set_all_param_values)
from .conv import *  # noqa: F401,F403
from .dense import *  # noqa: F401,F403
from .embedding import *  # noqa: F401,F403
from .local import *  # noqa: F401,F403
from .merge import *  # noqa: F401,F403
from .noise import *  # noqa: F401,F403
from .normalization import *  # noqa: F401,F403
from .pool import *  # noqa: F401,F403
from .profiling import profile_runtime
from .recurrent import *  # noqa: F401,F403
from .shape import *  # noqa: F401,F403
from .special import *  # noqa: F401,F403
from .dnn import *  # noqa: F401,F403  (Lasagne's lasagne.layers.dnn,
from .corrmm import *  # noqa: F401,F403  .corrmm and .cuda_convnet names: model files
from .cuda_convnet import *  # noqa: F401,F403  name classes at the top level)
from .graph_layer import GraphLayer  # the graph fallback of layers without a twin (ExpressionLayer, custom layers)
from .traversal import get_output_shape

__version__ = "0.1.0"


def __getattr__(name: str):  # PEP 562
    """``save``, ``load`` and ``io`` are imported on first use: the model file reader needs
    zipfile, hashlib and json, which a network built in code never does (start-up)."""
    if name == "load_graph":  # graph models (layers_np.graph), imported on first use as well
        import importlib

        graph = importlib.import_module(".graph", __name__)
        globals().update(load_graph=graph.load_graph)
        return graph.load_graph
    if name in ("save", "load", "io"):
        import importlib

        io = importlib.import_module(".io", __name__)
        globals().update(io=io, save=io.save, load=io.load)
        return globals()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
