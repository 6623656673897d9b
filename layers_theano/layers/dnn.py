"""``lasagne.layers.dnn``: Lasagne's dnn layer names (see :mod:`layers_theano.dnn`)."""
from ..dnn import *  # noqa: F401,F403
from ..dnn import __all__  # noqa: F401
