"""Theano (PyTensor 2.8.11) layers, Lasagne-compatible: the reference the twins are certified against."""
from . import backend, init, nonlinearities
from .base import (InputLayer, Layer, MergeLayer, count_params, get_all_layers, get_all_param_values,
                   get_all_params, get_output, set_all_param_values)
from .conv import *  # noqa: F401,F403
from .dense import *  # noqa: F401,F403
from .embedding import *  # noqa: F401,F403
from .local import *  # noqa: F401,F403
from .merge import *  # noqa: F401,F403
from .noise import *  # noqa: F401,F403
from .normalization import *  # noqa: F401,F403
from .pool import *  # noqa: F401,F403
from .recurrent import *  # noqa: F401,F403
from .shape import *  # noqa: F401,F403
from .special import *  # noqa: F401,F403
from .dnn import *  # noqa: F401,F403  (Lasagne's lasagne.layers.dnn,
from .corrmm import *  # noqa: F401,F403  .corrmm and .cuda_convnet names: model files
from .cuda_convnet import *  # noqa: F401,F403  name classes at the top level)
from .convert import to_numpy, twin_class, register_twin
from layers_np.traversal import get_output_shape  # noqa: E402  (pure Python, one implementation)
from . import layers  # noqa: E402  (after the layer modules it gathers)
from .lasagne_bridge import from_lasagne  # noqa: E402

__version__ = "0.1.0"
