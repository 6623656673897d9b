"""``lasagne.layers`` for the Theano side: every layer class and network helper in one namespace.

With it, Lasagne model code runs unchanged against this package::

    import layers_theano as lasagne
    net = lasagne.layers.DenseLayer(lasagne.layers.InputLayer((None, 784)), 10,
                                    W=lasagne.init.GlorotUniform(),
                                    nonlinearity=lasagne.nonlinearities.softmax)
    y = lasagne.layers.get_output(net)
"""
from .base import (InputLayer, Layer, MergeLayer, count_params, get_all_layers,  # noqa: F401
                   get_all_param_values, get_all_params, get_output, set_all_param_values)
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


def get_output_shape(layer_or_layers, input_shapes=None):
    """Lasagne's ``get_output_shape``: output shape(s), optionally for other input shapes.

    ``input_shapes`` is None (the declared shapes), one shape for the single InputLayer, or a
    mapping ``{layer: shape}``; shapes propagate through each layer's ``get_output_shape_for``.
    """
    from collections.abc import Mapping

    many = isinstance(layer_or_layers, (list, tuple))
    targets = list(layer_or_layers) if many else [layer_or_layers]
    if input_shapes is None:
        result = [t.output_shape for t in targets]
        return result if many else result[0]
    given = dict(input_shapes) if isinstance(input_shapes, Mapping) else None
    layers = get_all_layers(targets, treat_as_input=list(given) if given else None)
    if given is None:
        inputs = [l for l in layers if isinstance(l, InputLayer)]
        if len(inputs) != 1:
            raise ValueError(f"get_output_shape: {len(inputs)} InputLayers, pass a dict {{layer: shape}}")
        given = {inputs[0]: input_shapes}
    shapes = {id(l): tuple(s) for l, s in given.items()}
    for l in layers:
        if id(l) in shapes:
            continue
        if isinstance(l, InputLayer):
            shapes[id(l)] = l.output_shape
        elif isinstance(l, MergeLayer):
            shapes[id(l)] = l.get_output_shape_for([shapes[id(i)] for i in l.input_layers])
        else:
            shapes[id(l)] = l.get_output_shape_for(shapes[id(l.input_layer)])
    result = [shapes[id(t)] for t in targets]
    return result if many else result[0]
