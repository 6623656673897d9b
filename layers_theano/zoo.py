"""A model zoo: small Theano (layers_theano) networks with seeded weights.

Each factory returns the output layer of a fresh network and is usable on the command line
as ``layers_theano.zoo:NAME``, e.g. ``twins gate layers_theano.zoo:mlp -o mlp.npz``.
Weights come from a ``numpy.random.RandomState(seed)`` and the network is built with
``floatX = dtype``, so the same call always gives the same network.

Layer classes are imported when a factory runs, not when this module is imported: a model
needs only the layer families it uses. :data:`FACTORIES` lists every model and
:func:`available` the ones whose layer classes exist in this installation.
"""
from __future__ import annotations

import contextlib
from typing import Any, Callable, Dict, Iterator, List, Tuple

import numpy as np

from layers_np import init

__all__ = ["mlp", "lenet5", "vgg_small", "resnet_small", "inception_block", "text_cnn", "char_lstm",
           "gru_classifier", "FACTORIES", "REQUIRES", "available", "missing_classes", "catalogue", "lookup",
           "missing_in_catalogue"]


@contextlib.contextmanager
def _seeded(seed: int, dtype: str) -> Iterator[Any]:
    """Seed the initialisers' generator and set floatX while the network is built."""
    import layers_theano as LT
    from layers_theano.backend import config

    previous = init.get_rng()
    init.set_rng(np.random.RandomState(seed))
    try:
        with config.change_flags(floatX=dtype):
            yield LT
    finally:
        init.set_rng(previous)


def _bias() -> Any:
    # Non-zero biases so that a certification also exercises them (Lasagne's default is 0).
    return init.Uniform(0.1)


def mlp(dtype: str = "float32", seed: int = 0) -> Any:
    """784-512-512-10 multilayer perceptron (Lasagne's MNIST MLP without dropout)."""
    with _seeded(seed, dtype) as LT:
        nl = LT.nonlinearities
        net = LT.InputLayer((None, 784), name="input")
        net = LT.DenseLayer(net, 512, b=_bias(), nonlinearity=nl.rectify, name="hidden1")
        net = LT.DenseLayer(net, 512, b=_bias(), nonlinearity=nl.rectify, name="hidden2")
        return LT.DenseLayer(net, 10, b=_bias(), nonlinearity=nl.softmax, name="output")


def lenet5(dtype: str = "float32", seed: int = 0) -> Any:
    """LeNet-5 on 1x28x28: conv5x5(6) - maxpool2 - conv5x5(16) - maxpool2 - dense120 - dense84 - dense10."""
    with _seeded(seed, dtype) as LT:
        nl = LT.nonlinearities
        net = LT.InputLayer((None, 1, 28, 28), name="input")
        net = LT.Conv2DLayer(net, 6, (5, 5), pad="same", b=_bias(), nonlinearity=nl.tanh, name="conv1")
        net = LT.MaxPool2DLayer(net, (2, 2), name="pool1")
        net = LT.Conv2DLayer(net, 16, (5, 5), b=_bias(), nonlinearity=nl.tanh, name="conv2")
        net = LT.MaxPool2DLayer(net, (2, 2), name="pool2")
        net = LT.DenseLayer(net, 120, b=_bias(), nonlinearity=nl.tanh, name="fc1")
        net = LT.DenseLayer(net, 84, b=_bias(), nonlinearity=nl.tanh, name="fc2")
        return LT.DenseLayer(net, 10, b=_bias(), nonlinearity=nl.softmax, name="output")


def vgg_small(dtype: str = "float32", seed: int = 0) -> Any:
    """A small VGG on 3x32x32: two blocks of 3x3 conv pairs with max pooling, then two dense layers."""
    with _seeded(seed, dtype) as LT:
        nl = LT.nonlinearities
        net = LT.InputLayer((None, 3, 32, 32), name="input")
        for block, filters in enumerate((16, 32), start=1):
            for i in (1, 2):
                net = LT.Conv2DLayer(net, filters, (3, 3), pad=1, W=init.HeNormal(gain="relu"), b=_bias(),
                                     nonlinearity=nl.rectify, name=f"conv{block}_{i}")
            net = LT.MaxPool2DLayer(net, (2, 2), name=f"pool{block}")
        net = LT.DenseLayer(net, 64, b=_bias(), nonlinearity=nl.rectify, name="fc1")
        return LT.DenseLayer(net, 10, b=_bias(), nonlinearity=nl.softmax, name="output")


def resnet_small(dtype: str = "float32", seed: int = 0) -> Any:
    """A small residual network on 3x32x32: conv stem, two residual blocks with batch norm
    (the second downsamples with a strided 1x1 projection shortcut), global average pooling."""
    with _seeded(seed, dtype) as LT:
        nl = LT.nonlinearities

        def conv_bn(incoming: Any, filters: int, size: int, stride: int, nonlinearity: Any, name: str) -> Any:
            conv = LT.Conv2DLayer(incoming, filters, size, stride=stride, pad="same" if size % 2 else 0, b=None,
                                  W=init.HeNormal(gain="relu"), nonlinearity=None, name=name)
            bn = LT.BatchNormLayer(conv, name=f"{name}_bn")
            _randomise_batchnorm(bn, np.random.RandomState(seed + len(name)))
            return LT.NonlinearityLayer(bn, nonlinearity, name=f"{name}_act") if nonlinearity is not None else bn

        net = LT.InputLayer((None, 3, 32, 32), name="input")
        net = conv_bn(net, 16, 3, 1, nl.rectify, "stem")
        for block, (filters, stride) in enumerate(((16, 1), (32, 2)), start=1):
            branch = conv_bn(net, filters, 3, stride, nl.rectify, f"res{block}a")
            branch = conv_bn(branch, filters, 3, 1, None, f"res{block}b")
            shortcut = net if stride == 1 and filters == net.output_shape[1] else \
                conv_bn(net, filters, 1, stride, None, f"res{block}_proj")
            net = LT.ElemwiseSumLayer([branch, shortcut], name=f"res{block}_sum")
            net = LT.NonlinearityLayer(net, nl.rectify, name=f"res{block}_out")
        net = LT.GlobalPoolLayer(net, name="gap")
        return LT.DenseLayer(net, 10, b=_bias(), nonlinearity=nl.softmax, name="output")


def _randomise_batchnorm(layer: Any, rng: np.random.RandomState) -> None:
    """Give a BatchNormLayer trained-looking statistics (the defaults make it the identity)."""
    for param in layer.get_params():
        short = (param.name or "").split(".")[-1]
        shape = param.get_value().shape
        value = {"mean": rng.normal(0.0, 0.1, shape), "inv_std": rng.uniform(0.5, 2.0, shape),
                 "beta": rng.normal(0.0, 0.1, shape), "gamma": rng.uniform(0.5, 1.5, shape)}.get(short)
        if value is not None:
            param.set_value(value.astype(param.dtype))


def inception_block(dtype: str = "float32", seed: int = 0) -> Any:
    """One GoogLeNet inception block on 16x16x16 (1x1, 1x1-3x3, 1x1-5x5, pool-1x1 branches
    concatenated on channels), global average pooling and a softmax classifier."""
    with _seeded(seed, dtype) as LT:
        nl = LT.nonlinearities

        def conv(incoming: Any, filters: int, size: int, name: str) -> Any:
            return LT.Conv2DLayer(incoming, filters, size, pad="same", b=_bias(), nonlinearity=nl.rectify, name=name)

        net = LT.InputLayer((None, 16, 16, 16), name="input")
        b1 = conv(net, 8, 1, "branch1x1")
        b3 = conv(conv(net, 6, 1, "branch3x3_reduce"), 8, 3, "branch3x3")
        b5 = conv(conv(net, 4, 1, "branch5x5_reduce"), 4, 5, "branch5x5")
        bp = LT.Pool2DLayer(net, 3, stride=1, pad=1, mode="max", name="branch_pool")
        bp = conv(bp, 4, 1, "branch_pool_proj")
        net = LT.ConcatLayer([b1, b3, b5, bp], axis=1, name="concat")
        net = LT.GlobalPoolLayer(net, name="gap")
        return LT.DenseLayer(net, 10, b=_bias(), nonlinearity=nl.softmax, name="output")


def text_cnn(dtype: str = "float32", seed: int = 0) -> Any:
    """Kim-style text CNN: embeddings of 20 tokens (vocabulary 100, 16 dims), 1-D convolutions
    of widths 3 and 5 over time, max over time, concatenation and a softmax over 4 classes."""
    with _seeded(seed, dtype) as LT:
        nl = LT.nonlinearities
        T = LT.backend.T
        net = LT.InputLayer((None, 20), input_var=T.imatrix("tokens"), name="tokens")
        net = LT.EmbeddingLayer(net, input_size=100, output_size=16, W=init.Normal(1.0), name="embedding")
        net = LT.DimshuffleLayer(net, (0, 2, 1), name="to_channels")  # (batch, features, time)
        branches = []
        for width in (3, 5):
            conv = LT.Conv1DLayer(net, 8, width, b=_bias(), nonlinearity=nl.rectify, name=f"conv{width}")
            # max over time: one pooling window spanning the whole convolved sequence
            pooled = LT.MaxPool1DLayer(conv, conv.output_shape[2], name=f"maxpool{width}")
            branches.append(LT.FlattenLayer(pooled, name=f"flatten{width}"))
        net = LT.ConcatLayer(branches, axis=1, name="concat")
        return LT.DenseLayer(net, 4, b=_bias(), nonlinearity=nl.softmax, name="output")


def char_lstm(dtype: str = "float32", seed: int = 0) -> Any:
    """Character model: 2 stacked LSTMs (32 units) over one-hot characters (vocabulary 30),
    a softmax over the next character at every step."""
    with _seeded(seed, dtype) as LT:
        nl = LT.nonlinearities
        net = LT.InputLayer((None, None, 30), name="chars")
        net = LT.LSTMLayer(net, 32, name="lstm1")
        net = LT.LSTMLayer(net, 32, name="lstm2")
        net = LT.ReshapeLayer(net, (-1, 32), name="flatten_time")
        return LT.DenseLayer(net, 30, b=_bias(), nonlinearity=nl.softmax, name="output")


def gru_classifier(dtype: str = "float32", seed: int = 0) -> Any:
    """Sequence classifier: a GRU (24 units) over 12-dimensional steps, keeping the final state,
    then a softmax over 5 classes."""
    with _seeded(seed, dtype) as LT:
        nl = LT.nonlinearities
        net = LT.InputLayer((None, None, 12), name="sequence")
        net = LT.GRULayer(net, 24, only_return_final=True, name="gru")
        return LT.DenseLayer(net, 5, b=_bias(), nonlinearity=nl.softmax, name="output")


FACTORIES: Dict[str, Callable[..., Any]] = {
    "mlp": mlp, "lenet5": lenet5, "vgg_small": vgg_small, "resnet_small": resnet_small,
    "inception_block": inception_block, "text_cnn": text_cnn, "char_lstm": char_lstm,
    "gru_classifier": gru_classifier,
}

# Layer classes each model needs (on both sides).
REQUIRES: Dict[str, Tuple[str, ...]] = {
    "mlp": ("DenseLayer",),
    "lenet5": ("Conv2DLayer", "MaxPool2DLayer", "DenseLayer"),
    "vgg_small": ("Conv2DLayer", "MaxPool2DLayer", "DenseLayer"),
    "resnet_small": ("Conv2DLayer", "BatchNormLayer", "NonlinearityLayer", "ElemwiseSumLayer", "GlobalPoolLayer",
                     "DenseLayer"),
    "inception_block": ("Conv2DLayer", "Pool2DLayer", "ConcatLayer", "GlobalPoolLayer", "DenseLayer"),
    "text_cnn": ("EmbeddingLayer", "DimshuffleLayer", "Conv1DLayer", "MaxPool1DLayer", "FlattenLayer", "ConcatLayer",
                 "DenseLayer"),
    "char_lstm": ("LSTMLayer", "ReshapeLayer", "DenseLayer"),
    "gru_classifier": ("GRULayer", "DenseLayer"),
}


def missing_classes(name: str) -> List[str]:
    """Layer classes model ``name`` needs that are missing on the Theano or the numpy side."""
    import layers_np
    import layers_theano

    return [c for c in REQUIRES[name]
            if not (isinstance(getattr(layers_theano, c, None), type) and isinstance(getattr(layers_np, c, None), type))]


def available() -> List[str]:
    """Names of the models whose layer classes all exist on both sides."""
    return [name for name in FACTORIES if not missing_classes(name)]


def catalogue() -> Dict[str, Callable[..., Any]]:
    """Every named network the bench knows: this zoo's models, then the Lasagne Recipes
    networks of :mod:`layers_theano.recipes` at their real input sizes."""
    from . import recipes

    return {**FACTORIES, **recipes.FACTORIES}


def lookup(name: str) -> Callable[..., Any]:
    """The factory of zoo model or Recipes network ``name`` (KeyError if neither has it)."""
    return catalogue()[name]


def missing_in_catalogue(name: str) -> List[str]:
    """:func:`missing_classes` for a zoo model or a Recipes network."""
    from . import recipes

    return missing_classes(name) if name in FACTORIES else recipes.missing_classes(name)
