"""The Lasagne Recipes model zoo (github.com/Lasagne/Recipes, ``modelzoo/``) as factories.

Each factory transcribes one Recipes ``build_model`` (same layers, same hyperparameters, the
same Lasagne names: ``Conv2DDNNLayer as ConvLayer``, ``batch_norm``, ``MaxPool3DDNNLayer``,
LRN, ...) and returns the network's output layer with seeded random weights, since the
published pretrained pickles cannot be downloaded here: ``twins gate layers_theano.recipes:vgg16
-o vgg16.npz`` certifies it at its real input size. :mod:`layers_theano.recipes.reduced` has
the same networks at the smallest input each allows (the architecture unchanged), for tests
and quick gates.

=================  =====================  ===============================================
factory            real input             Recipes source
=================  =====================  ===============================================
``vgg16``          3 x 224 x 224          modelzoo/vgg16.py
``vgg19``          3 x 224 x 224          modelzoo/vgg19.py
``vgg_cnn_s``      3 x 224 x 224          modelzoo/vgg_cnn_s.py
``googlenet``      3 x 224 x 224          modelzoo/googlenet.py (declares None x None)
``inception_v3``   3 x 299 x 299          modelzoo/inception_v3.py
``resnet50``       3 x 224 x 224          modelzoo/resnet50.py
``caffenet``       3 x 227 x 227          modelzoo/caffe_reference.py
``nin_cifar10``    3 x 32 x 32            modelzoo/cifar10_nin.py
``c3d``            3 x 16 x 112 x 112     modelzoo/c3d.py
``unet``           1 x 128 x 128          modelzoo/Unet.py (``build_UNet`` defaults)
=================  =====================  ===============================================

Every factory takes ``dtype`` (floatX while building; default: floatX if ``THEANO_FLAGS`` or
``PYTENSOR_FLAGS`` set it, else float32, so ``THEANO_FLAGS=floatX=float64 twins gate ...``
gates a float64 network), ``seed`` and ``input_size`` (the
spatial size; the architecture does not depend on it). Layers are named after the Recipes'
dictionary keys. The weights play the role of the pickle a Recipes user loads with
``set_all_param_values``: after the network is built, every parameter is replaced, in
``get_all_params`` order, by a draw from ``numpy.random.default_rng(seed)``: He-normal
weights (so activations keep their scale through 20-50 layers as trained weights do),
biases uniform in [-0.1, 0.1] and batch-norm statistics near the identity, so that a gate
exercises every parameter.
"""
from __future__ import annotations

import contextlib
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np

__all__ = ["vgg16", "vgg19", "vgg_cnn_s", "googlenet", "inception_v3", "resnet50", "caffenet", "nin_cifar10", "c3d",
           "unet", "FACTORIES", "REQUIRES", "REAL_SIZES", "REDUCED_SIZES", "available", "missing_classes",
           "seeded_weights"]

Size = Union[int, Tuple[int, ...]]


@contextlib.contextmanager
def _building(seed: int, dtype: Optional[str]) -> Iterator[Any]:
    """floatX = dtype (None: floatX chosen in THEANO_FLAGS/PYTENSOR_FLAGS, else float32) and a
    seeded initialiser generator while a network is built."""
    from layers_np import init

    import layers_theano
    from layers_theano.backend import FLOATX_FROM_FLAGS, config

    dtype = dtype or FLOATX_FROM_FLAGS or "float32"

    previous = init.get_rng()
    init.set_rng(np.random.RandomState(seed))
    try:
        with config.change_flags(floatX=dtype):
            yield layers_theano.layers
    finally:
        init.set_rng(previous)


def _dnn() -> Any:
    """Lasagne's ``lasagne.layers.dnn`` on the Theano side."""
    from layers_theano.layers import dnn

    return dnn


def seeded_weights(output_layer: Any, seed: int) -> Any:
    """Replace every parameter of a network by seeded random values (in ``get_all_params`` order).

    Weights (parameters named ``W``) are He-normal for rectifiers (std ``sqrt(2 / fan_in)``,
    fan-in as Lasagne's initialisers compute it), biases uniform in [-0.1, 0.1], batch
    normalisation ``beta`` normal with std 0.1 and ``gamma`` uniform in [0.8, 1.25]. Batch
    normalisation statistics are then calibrated as training leaves them (:func:`_calibrate`):
    made-up statistics would let activations drift over the 50-90 batch-norm layers of
    resnet50 and inception_v3 and centre them far from zero, where ``x - mean`` cancels.
    Returns ``output_layer``.
    """
    import layers_theano as LT

    rng = np.random.default_rng(seed)
    for param in LT.get_all_params(output_layer):
        shape = tuple(param.get_value(borrow=True).shape)
        dtype = np.dtype(param.dtype)
        kind = (param.name or "").rsplit(".", 1)[-1]
        if kind == "W":
            fan_in = shape[0] if len(shape) == 2 else int(np.prod(shape[1:]))
            value = rng.standard_normal(shape, dtype=np.float32) * np.float32(np.sqrt(2.0 / fan_in))
        elif kind == "gamma":
            value = rng.uniform(0.8, 1.25, shape)
        elif kind in ("beta", "mean"):
            value = rng.normal(0.0, 0.1, shape)
        elif kind == "inv_std":
            value = np.ones(shape)
        else:  # biases and anything else
            value = rng.uniform(-0.1, 0.1, shape)
        param.set_value(value.astype(dtype, copy=False))
    _calibrate(output_layer, rng)
    return output_layer


CALIBRATION_BATCH = 8  # samples whose statistics the batch-norm layers get


def _calibrate(output_layer: Any, rng: np.random.Generator) -> None:
    """Give every ``BatchNormLayer`` the mean and ``1 / sqrt(var + epsilon)`` of its input over
    a batch of standard-normal samples (its normalised axes), in topological order, so each
    layer sees the statistics set upstream. Runs the numpy twin layer by layer (no compilation).
    A channel whose variance is below 1% of the layer's median (e.g. rectified to zero on every
    calibration sample) gets that floor instead, so it is not scaled up by ``1 / sqrt(epsilon)``.
    """
    import layers_np as L

    import layers_theano as LT

    th_layers = LT.get_all_layers(output_layer)
    if not any(isinstance(l, LT.BatchNormLayer) for l in th_layers):
        return
    twin = LT.to_numpy(output_layer)
    np_layers = L.get_all_layers(twin)
    def sources(layer: Any) -> List[Any]:
        return list(layer.input_layers) if isinstance(layer, L.MergeLayer) else [layer.input_layer]

    last_reader = {id(src): i for i, l in enumerate(np_layers) if not isinstance(l, L.InputLayer)
                   for src in sources(l)}
    outputs: Dict[int, np.ndarray] = {}
    for i, (th, tw) in enumerate(zip(th_layers, np_layers)):
        if isinstance(tw, L.InputLayer):
            shape = [CALIBRATION_BATCH if d is None else d for d in tw.shape]
            outputs[id(tw)] = rng.standard_normal(shape).astype(str(th.input_var.dtype))
            continue
        inputs: Any = [outputs[id(l)] for l in sources(tw)]
        if not isinstance(tw, L.MergeLayer):
            inputs = inputs[0]
        if isinstance(tw, L.BatchNormLayer):
            x = inputs.astype(np.float64)
            mean = x.mean(axis=tw.axes)
            var = x.var(axis=tw.axes)
            var = np.maximum(var, 0.01 * np.median(var))
            for name, value in (("mean", mean), ("inv_std", 1.0 / np.sqrt(var + tw.epsilon))):
                value = value.astype(getattr(th, name).dtype)
                getattr(th, name).set_value(value)
                getattr(tw, name).set_value(value)
        outputs[id(tw)] = tw.get_output_for(inputs)
        for src in sources(tw):  # activations no later layer reads are dropped (memory at full size)
            if last_reader.get(id(src)) == i:
                del outputs[id(src)]


def _square(size: Size) -> Tuple[int, int]:
    return (size, size) if isinstance(size, int) else tuple(size)  # type: ignore[return-value]


# ---------------------------------------------------------------------------
# VGG (modelzoo/vgg16.py, vgg19.py)
# ---------------------------------------------------------------------------
def _vgg(convs_per_block: Sequence[int], dtype: Optional[str], seed: int, input_size: Size) -> Any:
    with _building(seed, dtype) as layers:
        ConvLayer = _dnn().Conv2DDNNLayer
        PoolLayer = layers.Pool2DLayer
        from layers_theano.nonlinearities import softmax

        net: Dict[str, Any] = {}
        net["input"] = layers.InputLayer((None, 3) + _square(input_size), name="input")
        incoming = net["input"]
        for block, (n_convs, filters) in enumerate(zip(convs_per_block, (64, 128, 256, 512, 512)), start=1):
            for i in range(1, n_convs + 1):
                name = f"conv{block}_{i}"
                net[name] = incoming = ConvLayer(incoming, filters, 3, pad=1, flip_filters=False, name=name)
            net[f"pool{block}"] = incoming = PoolLayer(incoming, 2, name=f"pool{block}")
        net["fc6"] = layers.DenseLayer(net["pool5"], num_units=4096, name="fc6")
        net["fc6_dropout"] = layers.DropoutLayer(net["fc6"], p=0.5, name="fc6_dropout")
        net["fc7"] = layers.DenseLayer(net["fc6_dropout"], num_units=4096, name="fc7")
        net["fc7_dropout"] = layers.DropoutLayer(net["fc7"], p=0.5, name="fc7_dropout")
        net["fc8"] = layers.DenseLayer(net["fc7_dropout"], num_units=1000, nonlinearity=None, name="fc8")
        net["prob"] = layers.NonlinearityLayer(net["fc8"], softmax, name="prob")
        return seeded_weights(net["prob"], seed)


def vgg16(dtype: Optional[str] = None, seed: int = 0, input_size: Size = 224) -> Any:
    """VGG-16 (Simonyan and Zisserman), modelzoo/vgg16.py: 13 3x3 ``Conv2DDNNLayer`` in five
    blocks with 2x2 pooling, fc6/fc7 4096 with dropout, fc8 1000 and a softmax."""
    return _vgg((2, 2, 3, 3, 3), dtype, seed, input_size)


def vgg19(dtype: Optional[str] = None, seed: int = 0, input_size: Size = 224) -> Any:
    """VGG-19, modelzoo/vgg19.py: as VGG-16 with 2, 2, 4, 4, 4 convolutions per block."""
    return _vgg((2, 2, 4, 4, 4), dtype, seed, input_size)


def vgg_cnn_s(dtype: Optional[str] = None, seed: int = 0, input_size: Size = 224) -> Any:
    """VGG_CNN_S (Chatfield et al., "Return of the Devil"), modelzoo/vgg_cnn_s.py: 7x7/2 conv,
    LRN, 3x3/3 max pooling without ignoring the border, four more convolutions, three dense."""
    with _building(seed, dtype) as layers:
        ConvLayer = _dnn().Conv2DDNNLayer
        NormLayer = layers.LocalResponseNormalization2DLayer
        PoolLayer = layers.MaxPool2DLayer
        from layers_theano.nonlinearities import softmax

        net: Dict[str, Any] = {}
        net["input"] = layers.InputLayer((None, 3) + _square(input_size), name="input")
        net["conv1"] = ConvLayer(net["input"], num_filters=96, filter_size=7, stride=2, flip_filters=False,
                                 name="conv1")
        # caffe has alpha = alpha * pool_size (the Recipes' comment)
        net["norm1"] = NormLayer(net["conv1"], alpha=0.0001, name="norm1")
        net["pool1"] = PoolLayer(net["norm1"], pool_size=3, stride=3, ignore_border=False, name="pool1")
        net["conv2"] = ConvLayer(net["pool1"], num_filters=256, filter_size=5, flip_filters=False, name="conv2")
        net["pool2"] = PoolLayer(net["conv2"], pool_size=2, stride=2, ignore_border=False, name="pool2")
        net["conv3"] = ConvLayer(net["pool2"], num_filters=512, filter_size=3, pad=1, flip_filters=False,
                                 name="conv3")
        net["conv4"] = ConvLayer(net["conv3"], num_filters=512, filter_size=3, pad=1, flip_filters=False,
                                 name="conv4")
        net["conv5"] = ConvLayer(net["conv4"], num_filters=512, filter_size=3, pad=1, flip_filters=False,
                                 name="conv5")
        net["pool5"] = PoolLayer(net["conv5"], pool_size=3, stride=3, ignore_border=False, name="pool5")
        net["fc6"] = layers.DenseLayer(net["pool5"], num_units=4096, name="fc6")
        net["drop6"] = layers.DropoutLayer(net["fc6"], p=0.5, name="drop6")
        net["fc7"] = layers.DenseLayer(net["drop6"], num_units=4096, name="fc7")
        net["drop7"] = layers.DropoutLayer(net["fc7"], p=0.5, name="drop7")
        net["fc8"] = layers.DenseLayer(net["drop7"], num_units=1000, nonlinearity=None, name="fc8")
        net["prob"] = layers.NonlinearityLayer(net["fc8"], softmax, name="prob")
        return seeded_weights(net["prob"], seed)


# ---------------------------------------------------------------------------
# GoogLeNet (modelzoo/googlenet.py)
# ---------------------------------------------------------------------------
def googlenet(dtype: Optional[str] = None, seed: int = 0, input_size: Optional[Size] = 224) -> Any:
    """BVLC GoogLeNet, modelzoo/googlenet.py: 7x7/2 conv, LRN, nine inception modules (1x1,
    1x1-3x3, 1x1-5x5 and 3x3 ``MaxPool2DDNNLayer``-1x1 branches concatenated), global
    average pooling, a 1000-way classifier. ``input_size=None`` declares the spatial axes free,
    as the Recipes do (any size from 1 works); the default declares 224 x 224."""
    with _building(seed, dtype) as layers:
        dnn = _dnn()
        ConvLayer, PoolLayerDNN = dnn.Conv2DDNNLayer, dnn.MaxPool2DDNNLayer
        PoolLayer, LRNLayer = layers.MaxPool2DLayer, layers.LocalResponseNormalization2DLayer
        from layers_theano.nonlinearities import linear, softmax

        def build_inception_module(name: str, input_layer: Any, nfilters: Sequence[int]) -> Dict[str, Any]:
            # nfilters: (pool_proj, 1x1, 3x3_reduce, 3x3, 5x5_reduce, 5x5)
            def n(key: str) -> str:
                return f"{name}/{key}"

            net = {}
            net["pool"] = PoolLayerDNN(input_layer, pool_size=3, stride=1, pad=1, name=n("pool"))
            net["pool_proj"] = ConvLayer(net["pool"], nfilters[0], 1, flip_filters=False, name=n("pool_proj"))
            net["1x1"] = ConvLayer(input_layer, nfilters[1], 1, flip_filters=False, name=n("1x1"))
            net["3x3_reduce"] = ConvLayer(input_layer, nfilters[2], 1, flip_filters=False, name=n("3x3_reduce"))
            net["3x3"] = ConvLayer(net["3x3_reduce"], nfilters[3], 3, pad=1, flip_filters=False, name=n("3x3"))
            net["5x5_reduce"] = ConvLayer(input_layer, nfilters[4], 1, flip_filters=False, name=n("5x5_reduce"))
            net["5x5"] = ConvLayer(net["5x5_reduce"], nfilters[5], 5, pad=2, flip_filters=False, name=n("5x5"))
            net["output"] = layers.ConcatLayer([net["1x1"], net["3x3"], net["5x5"], net["pool_proj"]],
                                               name=n("output"))
            return {n(k): v for k, v in net.items()}

        spatial = (None, None) if input_size is None else _square(input_size)
        net: Dict[str, Any] = {}
        net["input"] = layers.InputLayer((None, 3) + spatial, name="input")
        net["conv1/7x7_s2"] = ConvLayer(net["input"], 64, 7, stride=2, pad=3, flip_filters=False, name="conv1/7x7_s2")
        net["pool1/3x3_s2"] = PoolLayer(net["conv1/7x7_s2"], pool_size=3, stride=2, ignore_border=False,
                                        name="pool1/3x3_s2")
        net["pool1/norm1"] = LRNLayer(net["pool1/3x3_s2"], alpha=0.00002, k=1, name="pool1/norm1")
        net["conv2/3x3_reduce"] = ConvLayer(net["pool1/norm1"], 64, 1, flip_filters=False, name="conv2/3x3_reduce")
        net["conv2/3x3"] = ConvLayer(net["conv2/3x3_reduce"], 192, 3, pad=1, flip_filters=False, name="conv2/3x3")
        net["conv2/norm2"] = LRNLayer(net["conv2/3x3"], alpha=0.00002, k=1, name="conv2/norm2")
        net["pool2/3x3_s2"] = PoolLayer(net["conv2/norm2"], pool_size=3, stride=2, ignore_border=False,
                                        name="pool2/3x3_s2")
        net.update(build_inception_module("inception_3a", net["pool2/3x3_s2"], [32, 64, 96, 128, 16, 32]))
        net.update(build_inception_module("inception_3b", net["inception_3a/output"], [64, 128, 128, 192, 32, 96]))
        net["pool3/3x3_s2"] = PoolLayer(net["inception_3b/output"], pool_size=3, stride=2, ignore_border=False,
                                        name="pool3/3x3_s2")
        net.update(build_inception_module("inception_4a", net["pool3/3x3_s2"], [64, 192, 96, 208, 16, 48]))
        net.update(build_inception_module("inception_4b", net["inception_4a/output"], [64, 160, 112, 224, 24, 64]))
        net.update(build_inception_module("inception_4c", net["inception_4b/output"], [64, 128, 128, 256, 24, 64]))
        net.update(build_inception_module("inception_4d", net["inception_4c/output"], [64, 112, 144, 288, 32, 64]))
        net.update(build_inception_module("inception_4e", net["inception_4d/output"],
                                          [128, 256, 160, 320, 32, 128]))
        net["pool4/3x3_s2"] = PoolLayer(net["inception_4e/output"], pool_size=3, stride=2, ignore_border=False,
                                        name="pool4/3x3_s2")
        net.update(build_inception_module("inception_5a", net["pool4/3x3_s2"], [128, 256, 160, 320, 32, 128]))
        net.update(build_inception_module("inception_5b", net["inception_5a/output"],
                                          [128, 384, 192, 384, 48, 128]))
        net["pool5/7x7_s1"] = layers.GlobalPoolLayer(net["inception_5b/output"], name="pool5/7x7_s1")
        net["loss3/classifier"] = layers.DenseLayer(net["pool5/7x7_s1"], num_units=1000, nonlinearity=linear,
                                                    name="loss3/classifier")
        net["prob"] = layers.NonlinearityLayer(net["loss3/classifier"], nonlinearity=softmax, name="prob")
        return seeded_weights(net["prob"], seed)


# ---------------------------------------------------------------------------
# Inception-v3 (modelzoo/inception_v3.py)
# ---------------------------------------------------------------------------
def inception_v3(dtype: Optional[str] = None, seed: int = 0, input_size: Size = 299) -> Any:
    """Inception-v3 (Szegedy et al. 2015), modelzoo/inception_v3.py: ``Conv2DLayer`` +
    ``batch_norm(epsilon=0.001)`` everywhere, inception modules A (x3), B, C (x4), D, E (x2),
    global average pooling, a 1008-way softmax. Smallest input: 75 x 75."""
    with _building(seed, dtype) as layers:
        Conv2DLayer, Pool2DLayer, ConcatLayer = layers.Conv2DLayer, layers.Pool2DLayer, layers.ConcatLayer
        batch_norm = layers.batch_norm
        from layers_theano.nonlinearities import softmax

        def bn_conv(input_layer: Any, name: str, **kwargs: Any) -> Any:
            l = Conv2DLayer(input_layer, name=name, **kwargs)
            return batch_norm(l, epsilon=0.001)

        def inceptionA(input_layer: Any, nfilt: Any, name: str) -> Any:
            # a modified version of figure 5 in the paper
            l1 = bn_conv(input_layer, f"{name}/l1", num_filters=nfilt[0][0], filter_size=1)
            l2 = bn_conv(input_layer, f"{name}/l2", num_filters=nfilt[1][0], filter_size=1)
            l2 = bn_conv(l2, f"{name}/l2_5x5", num_filters=nfilt[1][1], filter_size=5, pad=2)
            l3 = bn_conv(input_layer, f"{name}/l3", num_filters=nfilt[2][0], filter_size=1)
            l3 = bn_conv(l3, f"{name}/l3_3x3a", num_filters=nfilt[2][1], filter_size=3, pad=1)
            l3 = bn_conv(l3, f"{name}/l3_3x3b", num_filters=nfilt[2][2], filter_size=3, pad=1)
            l4 = Pool2DLayer(input_layer, pool_size=3, stride=1, pad=1, mode="average_exc_pad", name=f"{name}/pool")
            l4 = bn_conv(l4, f"{name}/l4", num_filters=nfilt[3][0], filter_size=1)
            return ConcatLayer([l1, l2, l3, l4], name=f"{name}/join")

        def inceptionB(input_layer: Any, nfilt: Any, name: str) -> Any:
            # a modified version of figure 10 in the paper
            l1 = bn_conv(input_layer, f"{name}/l1", num_filters=nfilt[0][0], filter_size=3, stride=2)
            l2 = bn_conv(input_layer, f"{name}/l2", num_filters=nfilt[1][0], filter_size=1)
            l2 = bn_conv(l2, f"{name}/l2_3x3a", num_filters=nfilt[1][1], filter_size=3, pad=1)
            l2 = bn_conv(l2, f"{name}/l2_3x3b", num_filters=nfilt[1][2], filter_size=3, stride=2)
            l3 = Pool2DLayer(input_layer, pool_size=3, stride=2, name=f"{name}/pool")
            return ConcatLayer([l1, l2, l3], name=f"{name}/join")

        def inceptionC(input_layer: Any, nfilt: Any, name: str) -> Any:
            # figure 6 in the paper
            l1 = bn_conv(input_layer, f"{name}/l1", num_filters=nfilt[0][0], filter_size=1)
            l2 = bn_conv(input_layer, f"{name}/l2", num_filters=nfilt[1][0], filter_size=1)
            l2 = bn_conv(l2, f"{name}/l2_1x7", num_filters=nfilt[1][1], filter_size=(1, 7), pad=(0, 3))
            l2 = bn_conv(l2, f"{name}/l2_7x1", num_filters=nfilt[1][2], filter_size=(7, 1), pad=(3, 0))
            l3 = bn_conv(input_layer, f"{name}/l3", num_filters=nfilt[2][0], filter_size=1)
            l3 = bn_conv(l3, f"{name}/l3_7x1a", num_filters=nfilt[2][1], filter_size=(7, 1), pad=(3, 0))
            l3 = bn_conv(l3, f"{name}/l3_1x7a", num_filters=nfilt[2][2], filter_size=(1, 7), pad=(0, 3))
            l3 = bn_conv(l3, f"{name}/l3_7x1b", num_filters=nfilt[2][3], filter_size=(7, 1), pad=(3, 0))
            l3 = bn_conv(l3, f"{name}/l3_1x7b", num_filters=nfilt[2][4], filter_size=(1, 7), pad=(0, 3))
            l4 = Pool2DLayer(input_layer, pool_size=3, stride=1, pad=1, mode="average_exc_pad", name=f"{name}/pool")
            l4 = bn_conv(l4, f"{name}/l4", num_filters=nfilt[3][0], filter_size=1)
            return ConcatLayer([l1, l2, l3, l4], name=f"{name}/join")

        def inceptionD(input_layer: Any, nfilt: Any, name: str) -> Any:
            # a modified version of figure 10 in the paper
            l1 = bn_conv(input_layer, f"{name}/l1", num_filters=nfilt[0][0], filter_size=1)
            l1 = bn_conv(l1, f"{name}/l1_3x3", num_filters=nfilt[0][1], filter_size=3, stride=2)
            l2 = bn_conv(input_layer, f"{name}/l2", num_filters=nfilt[1][0], filter_size=1)
            l2 = bn_conv(l2, f"{name}/l2_1x7", num_filters=nfilt[1][1], filter_size=(1, 7), pad=(0, 3))
            l2 = bn_conv(l2, f"{name}/l2_7x1", num_filters=nfilt[1][2], filter_size=(7, 1), pad=(3, 0))
            l2 = bn_conv(l2, f"{name}/l2_3x3", num_filters=nfilt[1][3], filter_size=3, stride=2)
            l3 = Pool2DLayer(input_layer, pool_size=3, stride=2, name=f"{name}/pool")
            return ConcatLayer([l1, l2, l3], name=f"{name}/join")

        def inceptionE(input_layer: Any, nfilt: Any, pool_mode: str, name: str) -> Any:
            # figure 7 in the paper
            l1 = bn_conv(input_layer, f"{name}/l1", num_filters=nfilt[0][0], filter_size=1)
            l2 = bn_conv(input_layer, f"{name}/l2", num_filters=nfilt[1][0], filter_size=1)
            l2a = bn_conv(l2, f"{name}/l2a_1x3", num_filters=nfilt[1][1], filter_size=(1, 3), pad=(0, 1))
            l2b = bn_conv(l2, f"{name}/l2b_3x1", num_filters=nfilt[1][2], filter_size=(3, 1), pad=(1, 0))
            l3 = bn_conv(input_layer, f"{name}/l3", num_filters=nfilt[2][0], filter_size=1)
            l3 = bn_conv(l3, f"{name}/l3_3x3", num_filters=nfilt[2][1], filter_size=3, pad=1)
            l3a = bn_conv(l3, f"{name}/l3a_1x3", num_filters=nfilt[2][2], filter_size=(1, 3), pad=(0, 1))
            l3b = bn_conv(l3, f"{name}/l3b_3x1", num_filters=nfilt[2][3], filter_size=(3, 1), pad=(1, 0))
            l4 = Pool2DLayer(input_layer, pool_size=3, stride=1, pad=1, mode=pool_mode, name=f"{name}/pool")
            l4 = bn_conv(l4, f"{name}/l4", num_filters=nfilt[3][0], filter_size=1)
            return ConcatLayer([l1, l2a, l2b, l3a, l3b, l4], name=f"{name}/join")

        net: Dict[str, Any] = {}
        net["input"] = layers.InputLayer((None, 3) + _square(input_size), name="input")
        net["conv"] = bn_conv(net["input"], "conv", num_filters=32, filter_size=3, stride=2)
        net["conv_1"] = bn_conv(net["conv"], "conv_1", num_filters=32, filter_size=3)
        net["conv_2"] = bn_conv(net["conv_1"], "conv_2", num_filters=64, filter_size=3, pad=1)
        net["pool"] = Pool2DLayer(net["conv_2"], pool_size=3, stride=2, mode="max", name="pool")
        net["conv_3"] = bn_conv(net["pool"], "conv_3", num_filters=80, filter_size=1)
        net["conv_4"] = bn_conv(net["conv_3"], "conv_4", num_filters=192, filter_size=3)
        net["pool_1"] = Pool2DLayer(net["conv_4"], pool_size=3, stride=2, mode="max", name="pool_1")
        net["mixed/join"] = inceptionA(net["pool_1"], ((64,), (48, 64), (64, 96, 96), (32,)), "mixed")
        net["mixed_1/join"] = inceptionA(net["mixed/join"], ((64,), (48, 64), (64, 96, 96), (64,)), "mixed_1")
        net["mixed_2/join"] = inceptionA(net["mixed_1/join"], ((64,), (48, 64), (64, 96, 96), (64,)), "mixed_2")
        net["mixed_3/join"] = inceptionB(net["mixed_2/join"], ((384,), (64, 96, 96)), "mixed_3")
        net["mixed_4/join"] = inceptionC(net["mixed_3/join"],
                                         ((192,), (128, 128, 192), (128, 128, 128, 128, 192), (192,)), "mixed_4")
        net["mixed_5/join"] = inceptionC(net["mixed_4/join"],
                                         ((192,), (160, 160, 192), (160, 160, 160, 160, 192), (192,)), "mixed_5")
        net["mixed_6/join"] = inceptionC(net["mixed_5/join"],
                                         ((192,), (160, 160, 192), (160, 160, 160, 160, 192), (192,)), "mixed_6")
        net["mixed_7/join"] = inceptionC(net["mixed_6/join"],
                                         ((192,), (192, 192, 192), (192, 192, 192, 192, 192), (192,)), "mixed_7")
        net["mixed_8/join"] = inceptionD(net["mixed_7/join"], ((192, 320), (192, 192, 192, 192)), "mixed_8")
        net["mixed_9/join"] = inceptionE(net["mixed_8/join"],
                                         ((320,), (384, 384, 384), (448, 384, 384, 384), (192,)),
                                         "average_exc_pad", "mixed_9")
        net["mixed_10/join"] = inceptionE(net["mixed_9/join"],
                                          ((320,), (384, 384, 384), (448, 384, 384, 384), (192,)), "max", "mixed_10")
        net["pool3"] = layers.GlobalPoolLayer(net["mixed_10/join"], name="pool3")
        net["softmax"] = layers.DenseLayer(net["pool3"], num_units=1008, nonlinearity=softmax, name="softmax")
        return seeded_weights(net["softmax"], seed)


# ---------------------------------------------------------------------------
# ResNet-50 (modelzoo/resnet50.py)
# ---------------------------------------------------------------------------
def resnet50(dtype: Optional[str] = None, seed: int = 0, input_size: Size = 224) -> Any:
    """ResNet-50 (He et al. 2015), modelzoo/resnet50.py: conv1 7x7/2 with ``BatchNormLayer``, 16
    bottleneck blocks (3, 4, 6, 3; ``Conv2DLayer(b=None, flip_filters=False)`` + batch norm,
    projection shortcuts at the first block of each stage), 7x7 average pooling, fc1000."""
    with _building(seed, dtype) as layers:
        ConvLayer, BatchNormLayer, PoolLayer = layers.Conv2DLayer, layers.BatchNormLayer, layers.Pool2DLayer
        NonlinearityLayer, ElemwiseSumLayer = layers.NonlinearityLayer, layers.ElemwiseSumLayer
        from layers_theano.nonlinearities import rectify, softmax

        def build_simple_block(incoming_layer: Any, names: Sequence[str], num_filters: int, filter_size: int,
                               stride: int, pad: int, use_bias: bool = False,
                               nonlin: Optional[Callable[..., Any]] = rectify) -> Tuple[Dict[str, Any], str]:
            # ConvLayer -> BN -> (ReLU)
            net = []
            if use_bias:
                conv = ConvLayer(incoming_layer, num_filters, filter_size, stride, pad, flip_filters=False,
                                 nonlinearity=None, name=names[0])
            else:
                conv = ConvLayer(incoming_layer, num_filters, filter_size, stride, pad, b=None, flip_filters=False,
                                 nonlinearity=None, name=names[0])
            net.append((names[0], conv))
            net.append((names[1], BatchNormLayer(net[-1][1], name=names[1])))
            if nonlin is not None:
                net.append((names[2], NonlinearityLayer(net[-1][1], nonlinearity=nonlin, name=names[2])))
            return dict(net), net[-1][0]

        def build_residual_block(incoming_layer: Any, ratio_n_filter: float = 1.0, ratio_size: float = 1.0,
                                 has_left_branch: bool = False, upscale_factor: int = 4,
                                 ix: str = "") -> Tuple[Dict[str, Any], str]:
            pattern = ["res%s_branch%i%s", "bn%s_branch%i%s", "res%s_branch%i%s_relu"]
            net: Dict[str, Any] = {}
            # right branch
            sub, last = build_simple_block(incoming_layer, [s % (ix, 2, "a") for s in pattern],
                                           int(layers.get_output_shape(incoming_layer)[1] * ratio_n_filter), 1,
                                           int(1.0 / ratio_size), 0)
            net.update(sub)
            sub, last = build_simple_block(net[last], [s % (ix, 2, "b") for s in pattern],
                                           layers.get_output_shape(net[last])[1], 3, 1, 1)
            net.update(sub)
            sub, last = build_simple_block(net[last], [s % (ix, 2, "c") for s in pattern],
                                           layers.get_output_shape(net[last])[1] * upscale_factor, 1, 1, 0,
                                           nonlin=None)
            net.update(sub)
            right_tail, left_tail = net[last], incoming_layer
            # left branch
            if has_left_branch:
                sub, last = build_simple_block(incoming_layer, [s % (ix, 1, "") for s in pattern],
                                               int(layers.get_output_shape(incoming_layer)[1] * 4 * ratio_n_filter),
                                               1, int(1.0 / ratio_size), 0, nonlin=None)
                net.update(sub)
                left_tail = net[last]
            net["res%s" % ix] = ElemwiseSumLayer([left_tail, right_tail], coeffs=1, name="res%s" % ix)
            net["res%s_relu" % ix] = NonlinearityLayer(net["res%s" % ix], nonlinearity=rectify,
                                                       name="res%s_relu" % ix)
            return net, "res%s_relu" % ix

        net: Dict[str, Any] = {}
        net["input"] = layers.InputLayer((None, 3) + _square(input_size), name="input")
        sub, parent = build_simple_block(net["input"], ["conv1", "bn_conv1", "conv1_relu"], 64, 7, 2, 3,
                                         use_bias=True)
        net.update(sub)
        net["pool1"] = PoolLayer(net[parent], pool_size=3, stride=2, pad=0, mode="max", ignore_border=False,
                                 name="pool1")
        parent = "pool1"
        for stage, blocks in ((2, "abc"), (3, "abcd"), (4, "abcdef"), (5, "abc")):
            for c in blocks:
                if c == "a" and stage == 2:
                    sub, parent = build_residual_block(net[parent], 1, 1, True, 4, ix=f"{stage}{c}")
                elif c == "a":
                    sub, parent = build_residual_block(net[parent], 1.0 / 2, 1.0 / 2, True, 4, ix=f"{stage}{c}")
                else:
                    sub, parent = build_residual_block(net[parent], 1.0 / 4, 1, False, 4, ix=f"{stage}{c}")
                net.update(sub)
        net["pool5"] = PoolLayer(net[parent], pool_size=7, stride=1, pad=0, mode="average_exc_pad",
                                 ignore_border=False, name="pool5")
        net["fc1000"] = layers.DenseLayer(net["pool5"], num_units=1000, nonlinearity=None, name="fc1000")
        net["prob"] = NonlinearityLayer(net["fc1000"], nonlinearity=softmax, name="prob")
        return seeded_weights(net["prob"], seed)


# ---------------------------------------------------------------------------
# CaffeNet (modelzoo/caffe_reference.py)
# ---------------------------------------------------------------------------
def caffenet(dtype: Optional[str] = None, seed: int = 0, input_size: Size = 227) -> Any:
    """The Caffe reference model (AlexNet variant), modelzoo/caffe_reference.py: plain
    ``Conv2DLayer`` (flipped filters: the Recipes flip Caffe's kernels), LRN after pooling,
    Caffe's two-group convolutions as ``SliceLayer`` halves concatenated, three dense layers.
    Smallest input: 67 x 67."""
    with _building(seed, dtype) as layers:
        from layers_theano.nonlinearities import rectify, softmax

        Conv2DLayer, MaxPool2DLayer, SliceLayer = layers.Conv2DLayer, layers.MaxPool2DLayer, layers.SliceLayer
        LRN, concat, DenseLayer = layers.LocalResponseNormalization2DLayer, layers.concat, layers.DenseLayer

        def grouped(incoming: Any, name: str, channels: int, num_filters: int, filter_size: Tuple[int, int],
                    pad: int) -> Any:
            # Caffe's group=2: each half of the filters sees one half of the input channels
            half = channels // 2
            net[f"{name}_data1"] = SliceLayer(incoming, indices=slice(0, half), axis=1, name=f"{name}_data1")
            net[f"{name}_data2"] = SliceLayer(incoming, indices=slice(half, channels), axis=1, name=f"{name}_data2")
            net[f"{name}_part1"] = Conv2DLayer(net[f"{name}_data1"], num_filters=num_filters, filter_size=filter_size,
                                               pad=pad, name=f"{name}_part1")
            net[f"{name}_part2"] = Conv2DLayer(net[f"{name}_data2"], num_filters=num_filters, filter_size=filter_size,
                                               pad=pad, name=f"{name}_part2")
            return concat((net[f"{name}_part1"], net[f"{name}_part2"]), axis=1, name=name)

        net: Dict[str, Any] = {}
        net["data"] = layers.InputLayer(shape=(None, 3) + _square(input_size), name="data")
        net["conv1"] = Conv2DLayer(net["data"], num_filters=96, filter_size=(11, 11), stride=4, nonlinearity=rectify,
                                   name="conv1")
        net["pool1"] = MaxPool2DLayer(net["conv1"], pool_size=(3, 3), stride=2, name="pool1")
        net["norm1"] = LRN(net["pool1"], n=5, alpha=0.0001 / 5.0, beta=0.75, k=1, name="norm1")
        net["conv2"] = grouped(net["norm1"], "conv2", 96, 128, (5, 5), 2)
        net["pool2"] = MaxPool2DLayer(net["conv2"], pool_size=(3, 3), stride=2, name="pool2")
        net["norm2"] = LRN(net["pool2"], n=5, alpha=0.0001 / 5.0, beta=0.75, k=1, name="norm2")
        net["conv3"] = Conv2DLayer(net["norm2"], num_filters=384, filter_size=(3, 3), pad=1, name="conv3")
        net["conv4"] = grouped(net["conv3"], "conv4", 384, 192, (3, 3), 1)
        net["conv5"] = grouped(net["conv4"], "conv5", 384, 128, (3, 3), 1)
        net["pool5"] = MaxPool2DLayer(net["conv5"], pool_size=(3, 3), stride=2, name="pool5")
        net["fc6"] = DenseLayer(net["pool5"], num_units=4096, nonlinearity=rectify, name="fc6")
        net["fc7"] = DenseLayer(net["fc6"], num_units=4096, nonlinearity=rectify, name="fc7")
        net["fc8"] = DenseLayer(net["fc7"], num_units=1000, nonlinearity=softmax, name="fc8")
        return seeded_weights(net["fc8"], seed)


# ---------------------------------------------------------------------------
# Network in Network, CIFAR-10 (modelzoo/cifar10_nin.py)
# ---------------------------------------------------------------------------
def nin_cifar10(dtype: Optional[str] = None, seed: int = 0, input_size: Size = 32) -> Any:
    """Network in Network on CIFAR-10, modelzoo/cifar10_nin.py: three 5x5/5x5/3x3
    ``Conv2DDNNLayer`` each followed by two 1x1 ("cccp") convolutions, max / average pooling
    without ignoring the border, dropout, a final 8x8 average pool flattened to 10 scores."""
    with _building(seed, dtype) as layers:
        ConvLayer, PoolLayer = _dnn().Conv2DDNNLayer, layers.Pool2DLayer

        net: Dict[str, Any] = {}
        net["input"] = layers.InputLayer((None, 3) + _square(input_size), name="input")
        net["conv1"] = ConvLayer(net["input"], num_filters=192, filter_size=5, pad=2, flip_filters=False, name="conv1")
        net["cccp1"] = ConvLayer(net["conv1"], num_filters=160, filter_size=1, flip_filters=False, name="cccp1")
        net["cccp2"] = ConvLayer(net["cccp1"], num_filters=96, filter_size=1, flip_filters=False, name="cccp2")
        net["pool1"] = PoolLayer(net["cccp2"], pool_size=3, stride=2, mode="max", ignore_border=False, name="pool1")
        net["drop3"] = layers.DropoutLayer(net["pool1"], p=0.5, name="drop3")
        net["conv2"] = ConvLayer(net["drop3"], num_filters=192, filter_size=5, pad=2, flip_filters=False, name="conv2")
        net["cccp3"] = ConvLayer(net["conv2"], num_filters=192, filter_size=1, flip_filters=False, name="cccp3")
        net["cccp4"] = ConvLayer(net["cccp3"], num_filters=192, filter_size=1, flip_filters=False, name="cccp4")
        net["pool2"] = PoolLayer(net["cccp4"], pool_size=3, stride=2, mode="average_exc_pad", ignore_border=False,
                                 name="pool2")
        net["drop6"] = layers.DropoutLayer(net["pool2"], p=0.5, name="drop6")
        net["conv3"] = ConvLayer(net["drop6"], num_filters=192, filter_size=3, pad=1, flip_filters=False, name="conv3")
        net["cccp5"] = ConvLayer(net["conv3"], num_filters=192, filter_size=1, flip_filters=False, name="cccp5")
        net["cccp6"] = ConvLayer(net["cccp5"], num_filters=10, filter_size=1, flip_filters=False, name="cccp6")
        net["pool3"] = PoolLayer(net["cccp6"], pool_size=8, mode="average_exc_pad", ignore_border=False, name="pool3")
        net["output"] = layers.FlattenLayer(net["pool3"], name="output")
        return seeded_weights(net["output"], seed)


# ---------------------------------------------------------------------------
# C3D (modelzoo/c3d.py)
# ---------------------------------------------------------------------------
def c3d(dtype: Optional[str] = None, seed: int = 0, input_size: Size = (16, 112, 112)) -> Any:
    """C3D (Tran et al. 2015), modelzoo/c3d.py: eight 3x3x3 ``Conv3DDNNLayer`` (only conv1a
    passes ``flip_filters=False``; the others rely on the dnn default, also False), five
    ``MaxPool3DDNNLayer``, a ``PadLayer`` padding the two spatial axes on the right before
    pool5 (C3D pads only there), fc6/fc7 4096 and a 487-way softmax (Sports-1M).
    ``input_size`` is (frames, height, width); frames must be at least 16."""
    frames, height, width = (input_size,) * 3 if isinstance(input_size, int) else tuple(input_size)
    with _building(seed, dtype) as layers:
        dnn = _dnn()
        Conv3DDNNLayer, MaxPool3DDNNLayer = dnn.Conv3DDNNLayer, dnn.MaxPool3DDNNLayer
        from layers_theano.nonlinearities import rectify, softmax

        net: Dict[str, Any] = {}
        net["input"] = layers.InputLayer((None, 3, frames, height, width), name="input")
        # 1st layer group
        net["conv1a"] = Conv3DDNNLayer(net["input"], 64, (3, 3, 3), pad=1, nonlinearity=rectify, flip_filters=False,
                                       name="conv1a")
        net["pool1"] = MaxPool3DDNNLayer(net["conv1a"], pool_size=(1, 2, 2), stride=(1, 2, 2), name="pool1")
        # 2nd layer group
        net["conv2a"] = Conv3DDNNLayer(net["pool1"], 128, (3, 3, 3), pad=1, nonlinearity=rectify, name="conv2a")
        net["pool2"] = MaxPool3DDNNLayer(net["conv2a"], pool_size=(2, 2, 2), stride=(2, 2, 2), name="pool2")
        # 3rd layer group
        net["conv3a"] = Conv3DDNNLayer(net["pool2"], 256, (3, 3, 3), pad=1, nonlinearity=rectify, name="conv3a")
        net["conv3b"] = Conv3DDNNLayer(net["conv3a"], 256, (3, 3, 3), pad=1, nonlinearity=rectify, name="conv3b")
        net["pool3"] = MaxPool3DDNNLayer(net["conv3b"], pool_size=(2, 2, 2), stride=(2, 2, 2), name="pool3")
        # 4th layer group
        net["conv4a"] = Conv3DDNNLayer(net["pool3"], 512, (3, 3, 3), pad=1, nonlinearity=rectify, name="conv4a")
        net["conv4b"] = Conv3DDNNLayer(net["conv4a"], 512, (3, 3, 3), pad=1, nonlinearity=rectify, name="conv4b")
        net["pool4"] = MaxPool3DDNNLayer(net["conv4b"], pool_size=(2, 2, 2), stride=(2, 2, 2), name="pool4")
        # 5th layer group
        net["conv5a"] = Conv3DDNNLayer(net["pool4"], 512, (3, 3, 3), pad=1, nonlinearity=rectify, name="conv5a")
        net["conv5b"] = Conv3DDNNLayer(net["conv5a"], 512, (3, 3, 3), pad=1, nonlinearity=rectify, name="conv5b")
        # C3D pads only on the right, which a Theano pooling layer cannot do (the Recipes' comment)
        net["pad"] = layers.PadLayer(net["conv5b"], width=[(0, 1), (0, 1)], batch_ndim=3, name="pad")
        net["pool5"] = MaxPool3DDNNLayer(net["pad"], pool_size=(2, 2, 2), pad=(0, 0, 0), stride=(2, 2, 2),
                                         name="pool5")
        net["fc6-1"] = layers.DenseLayer(net["pool5"], num_units=4096, nonlinearity=rectify, name="fc6-1")
        net["fc7-1"] = layers.DenseLayer(net["fc6-1"], num_units=4096, nonlinearity=rectify, name="fc7-1")
        net["fc8-1"] = layers.DenseLayer(net["fc7-1"], num_units=487, nonlinearity=None, name="fc8-1")
        net["prob"] = layers.NonlinearityLayer(net["fc8-1"], softmax, name="prob")
        return seeded_weights(net["prob"], seed)


# ---------------------------------------------------------------------------
# U-Net (modelzoo/Unet.py, build_UNet with its defaults)
# ---------------------------------------------------------------------------
def unet(dtype: Optional[str] = None, seed: int = 0, input_size: Size = 128) -> Any:
    """U-Net (Ronneberger et al. 2015) as modelzoo/Unet.py's ``build_UNet`` defaults write it:
    1 input channel, 2 classes, ``pad='same'``, ELU, 64 base filters, no dropout; every
    convolution and ``Deconv2DLayer`` wrapped in ``batch_norm``, skip connections
    concatenated with center cropping, a per-pixel softmax over ``(pixels, classes)``.
    The input size must be a multiple of 16."""
    with _building(seed, dtype) as layers:
        ConvLayer = _dnn().Conv2DDNNLayer
        batch_norm, Deconv2DLayer, Pool2DLayer = layers.batch_norm, layers.Deconv2DLayer, layers.Pool2DLayer
        ConcatLayer = layers.ConcatLayer
        from layers_np.init import HeNormal
        from layers_theano.nonlinearities import elu, softmax

        n_input_channels, num_output_classes, pad, nonlinearity, base_n_filters = 1, 2, "same", elu, 64
        center = (None, None, "center", "center")
        net: Dict[str, Any] = {}

        def conv(name: str, incoming: Any, filters: int) -> Any:
            net[name] = batch_norm(ConvLayer(incoming, filters, 3, nonlinearity=nonlinearity, pad=pad,
                                             W=HeNormal(gain="relu"), name=name))
            return net[name]

        def upscale(name: str, incoming: Any, filters: int) -> Any:
            net[name] = batch_norm(Deconv2DLayer(incoming, filters, 2, 2, crop="valid", nonlinearity=nonlinearity,
                                                 W=HeNormal(gain="relu"), name=name))
            return net[name]

        net["input"] = layers.InputLayer((None, n_input_channels) + _square(input_size), name="input")
        incoming = net["input"]
        for level in range(1, 5):
            conv(f"contr_{level}_1", incoming, base_n_filters * 2 ** (level - 1))
            conv(f"contr_{level}_2", net[f"contr_{level}_1"], base_n_filters * 2 ** (level - 1))
            net[f"pool{level}"] = incoming = Pool2DLayer(net[f"contr_{level}_2"], 2, name=f"pool{level}")
        conv("encode_1", net["pool4"], base_n_filters * 16)
        conv("encode_2", net["encode_1"], base_n_filters * 16)
        incoming = upscale("upscale1", net["encode_2"], base_n_filters * 16)
        for level in range(1, 5):
            filters = base_n_filters * 2 ** (4 - level)
            net[f"concat{level}"] = ConcatLayer([incoming, net[f"contr_{5 - level}_2"]], cropping=center,
                                                name=f"concat{level}")
            conv(f"expand_{level}_1", net[f"concat{level}"], filters)
            conv(f"expand_{level}_2", net[f"expand_{level}_1"], filters)
            if level < 4:
                incoming = upscale(f"upscale{level + 1}", net[f"expand_{level}_2"], filters)
        net["output_segmentation"] = ConvLayer(net["expand_4_2"], num_output_classes, 1, nonlinearity=None,
                                               name="output_segmentation")
        net["dimshuffle"] = layers.DimshuffleLayer(net["output_segmentation"], (1, 0, 2, 3), name="dimshuffle")
        net["reshapeSeg"] = layers.ReshapeLayer(net["dimshuffle"], (num_output_classes, -1), name="reshapeSeg")
        net["dimshuffle2"] = layers.DimshuffleLayer(net["reshapeSeg"], (1, 0), name="dimshuffle2")
        net["output_flattened"] = layers.NonlinearityLayer(net["dimshuffle2"], nonlinearity=softmax,
                                                           name="output_flattened")
        return seeded_weights(net["output_flattened"], seed)


FACTORIES: Dict[str, Callable[..., Any]] = {
    "vgg16": vgg16, "vgg19": vgg19, "vgg_cnn_s": vgg_cnn_s, "googlenet": googlenet, "inception_v3": inception_v3,
    "resnet50": resnet50, "caffenet": caffenet, "nin_cifar10": nin_cifar10, "c3d": c3d, "unet": unet,
}

# the input each network was published for (the bench's size) and the smallest it allows
REAL_SIZES: Dict[str, Size] = {"vgg16": 224, "vgg19": 224, "vgg_cnn_s": 224, "googlenet": 224, "inception_v3": 299,
                               "resnet50": 224, "caffenet": 227, "nin_cifar10": 32, "c3d": (16, 112, 112),
                               "unet": 128}
REDUCED_SIZES: Dict[str, Size] = {"vgg16": 32, "vgg19": 32, "vgg_cnn_s": 31, "googlenet": 32, "inception_v3": 75,
                                  "resnet50": 32, "caffenet": 67, "nin_cifar10": 32, "c3d": (16, 16, 16),
                                  "unet": 16}

_DNN2D = ("Conv2DDNNLayer",)
# Layer classes (and helpers) each network needs, on both sides
REQUIRES: Dict[str, Tuple[str, ...]] = {
    "vgg16": _DNN2D + ("Pool2DLayer", "DenseLayer", "DropoutLayer", "NonlinearityLayer"),
    "vgg19": _DNN2D + ("Pool2DLayer", "DenseLayer", "DropoutLayer", "NonlinearityLayer"),
    "vgg_cnn_s": _DNN2D + ("LocalResponseNormalization2DLayer", "MaxPool2DLayer", "DenseLayer", "DropoutLayer",
                           "NonlinearityLayer"),
    "googlenet": _DNN2D + ("MaxPool2DDNNLayer", "MaxPool2DLayer", "LocalResponseNormalization2DLayer",
                           "ConcatLayer", "GlobalPoolLayer", "DenseLayer", "NonlinearityLayer"),
    "inception_v3": ("Conv2DLayer", "BatchNormLayer", "NonlinearityLayer", "Pool2DLayer", "ConcatLayer",
                     "GlobalPoolLayer", "DenseLayer"),
    "resnet50": ("Conv2DLayer", "BatchNormLayer", "NonlinearityLayer", "Pool2DLayer", "ElemwiseSumLayer",
                 "DenseLayer"),
    "caffenet": ("Conv2DLayer", "MaxPool2DLayer", "LocalResponseNormalization2DLayer", "SliceLayer", "ConcatLayer",
                 "DenseLayer"),
    "nin_cifar10": _DNN2D + ("Pool2DLayer", "DropoutLayer", "FlattenLayer"),
    "c3d": ("Conv3DDNNLayer", "MaxPool3DDNNLayer", "PadLayer", "DenseLayer", "NonlinearityLayer"),
    "unet": _DNN2D + ("BatchNormLayer", "NonlinearityLayer", "TransposedConv2DLayer", "Pool2DLayer", "ConcatLayer",
                      "DimshuffleLayer", "ReshapeLayer"),
}


def missing_classes(name: str) -> List[str]:
    """Layer classes network ``name`` needs that are missing on the Theano or the numpy side."""
    import layers_np
    import layers_theano

    def has(module: Any, cls: str) -> bool:
        return isinstance(getattr(module, cls, None), type) or isinstance(getattr(getattr(module, "dnn", None), cls,
                                                                                  None), type)

    return [c for c in REQUIRES[name] if not (has(layers_theano.layers, c) and has(layers_np, c))]


def available() -> List[str]:
    """Names of the networks whose layer classes all exist on both sides."""
    return [name for name in FACTORIES if not missing_classes(name)]
