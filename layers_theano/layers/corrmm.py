"""``lasagne.layers.corrmm``: Lasagne's corrmm layer names (see :mod:`layers_theano.corrmm`)."""
from ..corrmm import *  # noqa: F401,F403
from ..corrmm import __all__  # noqa: F401
