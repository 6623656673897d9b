"""``lasagne.layers`` for the Theano side: every layer class and network helper in one namespace.

With it, Lasagne model code runs unchanged against this package::

    import layers_theano as lasagne
    net = lasagne.layers.DenseLayer(lasagne.layers.InputLayer((None, 784)), 10,
                                    W=lasagne.init.GlorotUniform(),
                                    nonlinearity=lasagne.nonlinearities.softmax)
    y = lasagne.layers.get_output(net)
"""
from ..base import (InputLayer, Layer, MergeLayer, count_params, get_all_layers,  # noqa: F401
                   get_all_param_values, get_all_params, get_output, set_all_param_values)
from ..conv import *  # noqa: F401,F403
from ..dense import *  # noqa: F401,F403
from ..embedding import *  # noqa: F401,F403
from ..local import *  # noqa: F401,F403
from ..merge import *  # noqa: F401,F403
from ..noise import *  # noqa: F401,F403
from ..normalization import *  # noqa: F401,F403
from ..pool import *  # noqa: F401,F403
from ..recurrent import *  # noqa: F401,F403
from ..shape import *  # noqa: F401,F403
from ..special import *  # noqa: F401,F403
from . import corrmm, cuda_convnet, dnn  # noqa: F401,E402  (import lasagne.layers.dnn ... works)

from layers_np.traversal import get_output_shape  # noqa: F401,E402  (pure Python, shared by both sides)
