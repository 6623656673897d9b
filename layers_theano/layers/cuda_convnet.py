"""``lasagne.layers.cuda_convnet``: Lasagne's cuda_convnet layer names (see :mod:`layers_theano.cuda_convnet`)."""
from ..cuda_convnet import *  # noqa: F401,F403
from ..cuda_convnet import __all__  # noqa: F401
