"""The Lasagne Recipes networks (issue 13): the transcriptions against published facts, and each
network exported, loaded back and certified layer by layer against Theano at its reduced size."""
from __future__ import annotations

import numpy as np
import pytest

import layers_np as L
import layers_theano as LT
from harness.network import certify_network
from layers_theano import recipes, zoo
from layers_theano.export import export
from layers_theano.recipes import reduced

AVAILABLE = recipes.available()

# Published parameter counts at the real input size (VGG paper table / Caffe's bvlc_reference_caffenet)
# and the width of the flattened input of fc6 there and at the reduced size: only fc6 depends on the input.
PUBLISHED_PARAMS = {"vgg16": (138_357_544, 512 * 7 * 7, 512), "vgg19": (143_667_240, 512 * 7 * 7, 512),
                    "caffenet": (60_965_224, 256 * 6 * 6, 256)}
# Published layer counts: ResNet-50 has 49 convolutions + 4 projection shortcuts and one dense layer,
# Keras' InceptionV3 94 convolutions, GoogLeNet 57, C3D 8, the U-Net paper 23 (including 4 up-convolutions),
# CaffeNet 5 (conv2, conv4 and conv5 in two groups: 8 layers), NIN 9.
CONV_COUNTS = {"resnet50": 53, "inception_v3": 94, "googlenet": 57, "c3d": 8, "unet": 23, "caffenet": 8,
               "nin_cifar10": 9, "vgg16": 13, "vgg19": 16, "vgg_cnn_s": 5}


def _conv_layers(net):
    return [l for l in LT.get_all_layers(net)
            if isinstance(l, (LT.conv.BaseConvLayer, LT.conv.TransposedConv2DLayer))]


def test_catalogue_lists_every_recipe():
    assert set(recipes.FACTORIES) == set(recipes.REQUIRES) == set(recipes.REAL_SIZES) == set(recipes.REDUCED_SIZES) \
        == set(reduced.FACTORIES) == {"vgg16", "vgg19", "vgg_cnn_s", "googlenet", "inception_v3", "resnet50",
                                      "caffenet", "nin_cifar10", "c3d", "unet"}
    for name in set(recipes.FACTORIES) - set(AVAILABLE):  # a network reported unavailable really lacks a class
        assert recipes.missing_classes(name), name
    for name in recipes.FACTORIES:  # the bench finds them by name; the zoo's own list is unchanged
        assert zoo.lookup(name) is recipes.FACTORIES[name] and name not in zoo.FACTORIES


@pytest.mark.parametrize("name", sorted(set(PUBLISHED_PARAMS) & set(AVAILABLE)))
def test_parameter_counts_match_the_published_ones(name):
    published, real_flat, reduced_flat = PUBLISHED_PARAMS[name]
    net = reduced.FACTORIES[name]()
    assert LT.count_params(net) == published - (real_flat - reduced_flat) * 4096


@pytest.mark.parametrize("name", sorted(set(CONV_COUNTS) & set(AVAILABLE)))
def test_layer_structure(name):
    net = reduced.FACTORIES[name]()
    layers = LT.get_all_layers(net)
    assert len(_conv_layers(net)) == CONV_COUNTS[name]
    if name in ("resnet50", "inception_v3", "unet"):  # every convolution is batch-normalised
        n_bn = sum(isinstance(l, LT.BatchNormLayer) for l in layers)
        assert n_bn == CONV_COUNTS[name] - (name == "unet")  # the U-Net's last 1x1 convolution is not
    dnn_layers = [l for l in _conv_layers(net) if type(l).__name__.endswith("DNNLayer")]
    assert all(not l.flip_filters for l in dnn_layers)
    if name == "caffenet":  # Conv2DLayer, flipping, as the Recipes write it (they flip Caffe's kernels instead)
        assert all(l.flip_filters for l in _conv_layers(net))


def test_real_sizes_give_the_published_output_shapes():
    # shapes only (Lasagne's get_output_shape through every layer): no weights at the real size are made
    net = reduced.resnet50()
    assert LT.layers.get_output_shape(net, (None, 3, 224, 224)) == (None, 1000)
    net = reduced.inception_v3()
    assert LT.layers.get_output_shape(net, (None, 3, 299, 299)) == (None, 1008)
    mixed_10 = next(l for l in LT.get_all_layers(net) if l.name == "mixed_10/join")
    assert LT.layers.get_output_shape(mixed_10, (None, 3, 299, 299)) == (None, 2048, 8, 8)
    net = reduced.c3d()
    pool5 = next(l for l in LT.get_all_layers(net) if l.name == "pool5")
    assert LT.layers.get_output_shape(pool5, (None, 3, 16, 112, 112)) == (None, 512, 1, 4, 4)  # fc6: 8192 inputs
    net = reduced.unet()
    assert LT.layers.get_output_shape(net, (None, 1, 128, 128)) == (None, 2)


def test_factories_are_seeded():
    a, b, c = reduced.nin_cifar10(seed=0), reduced.nin_cifar10(seed=0), reduced.nin_cifar10(seed=1)
    for x, y in zip(LT.get_all_param_values(a), LT.get_all_param_values(b)):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(LT.get_all_param_values(a)[0], LT.get_all_param_values(c)[0])


def test_batch_norm_statistics_are_calibrated():
    # each batch-norm layer normalises what it receives: on fresh standard-normal input its output
    # before gamma/beta has mean about 0 and variance about 1 per channel
    net = reduced.unet(dtype="float32")
    bn = [l for l in LT.get_all_layers(net) if isinstance(l, LT.BatchNormLayer)][3]
    twin = LT.to_numpy(net)
    twin_bn = [l for l in L.get_all_layers(twin) if isinstance(l, L.BatchNormLayer)][3]
    x = np.random.default_rng(5).standard_normal((16, 1, 16, 16)).astype("float32")
    pre = L.get_output(twin_bn.input_layer, x).astype(np.float64)
    normalised = (pre - bn.mean.get_value()[None, :, None, None]) * bn.inv_std.get_value()[None, :, None, None]
    per_channel = normalised.transpose(1, 0, 2, 3).reshape(normalised.shape[1], -1)
    assert abs(np.median(per_channel.mean(axis=1))) < 0.3
    assert 0.5 < np.median(per_channel.var(axis=1)) < 2.0


# resnet50 (float64) compiles for a minute (README, "Lasagne Recipes networks"): certified by hand in 74 s
CERTIFIED_HERE = ("c3d", "caffenet", "googlenet", "inception_v3", "nin_cifar10", "unet", "vgg16", "vgg19", "vgg_cnn_s")


@pytest.mark.parametrize("name", [n for n in CERTIFIED_HERE if n in AVAILABLE])
def test_recipe_certifies_exports_and_reloads(tmp_path, name):
    dtype = reduced.DTYPES[name]
    net = reduced.FACTORIES[name]()
    export(net, tmp_path / f"{name}.npz")
    loaded = L.load(tmp_path / f"{name}.npz")
    report = certify_network(net, twin=loaded, n_batches=1, batch_size=2, seed=1)
    assert report.ok, report.message() + "\n" + report.table()
    assert len(report.rows) == len([l for l in LT.get_all_layers(net) if not isinstance(l, LT.InputLayer)])
    assert L.io.read_spec(tmp_path / f"{name}.npz")["dtype"] == dtype


def test_bench_takes_recipe_names(capsys):
    from harness.bench import bench_main

    assert bench_main(["--recipes", "vgg17", "--no-progress"]) == 2  # refused before anything runs
    err = capsys.readouterr().err
    assert "unknown model(s) vgg17" in err and "vgg16" in err and "mlp" in err
