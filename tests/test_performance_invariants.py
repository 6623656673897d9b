"""Invariants the speed work on the twins must keep (no timing assertions here).

- no layer writes into its input (other layers may hold the same array: residual branches,
  inception branches reading one input);
- the cached evaluation plan of ``get_output`` follows rewiring, new targets, new input
  mappings and ``set_value``;
- the in-place helpers give the same bits as the plain expressions.
"""
from __future__ import annotations

import numpy as np
import pytest

import layers_np as L
from layers_np import nonlinearities as nl
from layers_np.traversal import get_all_layers

LT = pytest.importorskip("layers_theano")
from layers_theano import zoo  # noqa: E402

SHAPES = {"mlp": (784,), "lenet5": (1, 28, 28), "vgg_small": (3, 32, 32), "resnet_small": (3, 32, 32),
          "inception_block": (16, 16, 16), "char_lstm": (6, 30), "gru_classifier": (5, 12)}


def _input(name: str, dtype: str, batch: int, rng: np.random.Generator) -> np.ndarray:
    if name == "text_cnn":
        return rng.integers(0, 100, (batch, 20)).astype(np.int32)
    x = rng.standard_normal((batch,) + SHAPES[name]) * 2
    x.flat[::7] = 0.0
    x.flat[1::11] = -0.0
    return x.astype(dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(zoo.FACTORIES))
def test_zoo_layers_do_not_mutate_their_inputs(name: str, dtype: str) -> None:
    twin = LT.to_numpy(zoo.FACTORIES[name](dtype))
    layers = get_all_layers(twin)
    rng = np.random.default_rng(0)
    x = _input(name, dtype, 3, rng)
    x_copy = x.copy()
    outs = L.get_output(layers, x)
    assert x.tobytes() == x_copy.tobytes()
    by_id = {id(l): o for l, o in zip(layers, outs)}
    for layer, out in zip(layers, outs):
        if isinstance(layer, L.InputLayer):
            continue
        # every layer alone on copies of its inputs: the inputs are unchanged afterwards
        if isinstance(layer, L.MergeLayer):
            inputs = [by_id[id(i)].copy() for i in layer.input_layers]
            kept = [i.copy() for i in inputs]
            layer.get_output_for(inputs)
        else:
            inputs = [by_id[id(layer.input_layer)].copy()]
            kept = [inputs[0].copy()]
            extra = getattr(layer, "extra_input_layers", None)
            kwargs = {"extra_inputs": [None if e is None else by_id[id(e)] for e in extra]} if extra else {}
            layer.get_output_for(inputs[0], **kwargs)
        for a, b in zip(inputs, kept):
            assert a.tobytes() == b.tobytes(), f"{name}: {layer._label()} wrote into its input"
        # evaluated alone (a fresh plan) the layer gives the same bits as within the whole network
        alone = L.get_output(layer, x)
        assert alone.dtype == out.dtype and alone.tobytes() == out.tobytes(), f"{name}: {layer._label()}"


def _chain():
    inp = L.InputLayer((None, 4), name="in")
    a = L.DenseLayer(inp, 3, W=np.arange(12.0).reshape(4, 3) / 10, b=np.array([0.1, -0.2, 0.3]), name="a")
    b = L.DenseLayer(a, 2, W=np.ones((3, 2)), b=None, nonlinearity=None, name="b")
    return inp, a, b


def test_cached_plan_follows_rewiring_targets_and_params() -> None:
    inp, a, b = _chain()
    x = np.linspace(-1, 1, 8).reshape(2, 4)
    first = b(x)
    assert np.array_equal(b(x), first)
    # rewire b onto another layer of the same shape: the cached plan must not be reused
    c = L.DenseLayer(inp, 3, W=-np.ones((4, 3)), b=None, nonlinearity=None, name="c")
    b.input_layer = c
    assert np.array_equal(b(x), (x @ -np.ones((4, 3))) @ np.ones((3, 2)))
    b.input_layer = a
    assert np.array_equal(b(x), first)
    # new parameter values are used on the next call
    b.W.set_value(2 * np.ones((3, 2)))
    assert np.array_equal(b(x), 2 * first)
    a.b.set_value(np.zeros(3))
    expected = nl.rectify(x @ a.W.value) @ b.W.value
    assert np.array_equal(b(x), expected)
    # other target sets and input mappings get their own plans
    got_a, got_b = L.get_output([a, b], x)
    assert np.array_equal(got_b, expected) and np.array_equal(got_a, nl.rectify(x @ a.W.value))
    h = np.full((2, 3), 0.5)
    assert np.array_equal(L.get_output(b, {a: h}), h @ b.W.value)
    assert np.array_equal(b(x), expected)


def test_merge_rewiring_and_error_messages_unchanged() -> None:
    i1 = L.InputLayer((None, 2), name="i1")
    i2 = L.InputLayer((None, 2), name="i2")
    s = L.ElemwiseSumLayer([i1, i2])
    x1, x2 = np.ones((1, 2)), np.full((1, 2), 2.0)
    assert np.array_equal(L.get_output(s, {i1: x1, i2: x2}), x1 + x2)
    with pytest.raises(L.TwinError, match="the network has 2 InputLayers"):
        s(x1)
    with pytest.raises(L.TwinError, match="no input given for InputLayer\\('i2'\\)"):
        L.get_output(s, {i1: x1})
    s.input_layers[1] = i1  # rewired in place: the list changed, not the attribute
    assert np.array_equal(s(x1), x1 + x1)
    with pytest.raises(L.TwinError, match="expected an array of shape"):
        s(np.ones((1, 3)))


def test_user_convolution_result_is_never_written() -> None:
    held = np.full((2, 3, 4, 4), -1.0)

    def convolution(input, W, *args, **kwargs):
        return held

    layer = L.Conv2DLayer(L.InputLayer((None, 2, 4, 4)), 3, 1, b=np.ones(3), convolution=convolution)
    out = layer(np.zeros((2, 2, 4, 4)))
    assert np.array_equal(held, np.full((2, 3, 4, 4), -1.0))
    assert np.array_equal(out, nl.rectify(held + 1.0))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_in_place_helpers_are_bit_identical(dtype) -> None:
    big = np.finfo(dtype).max
    x = np.array([-3.0, -0.0, 0.0, 1e-30, 2.5, big / 2 * 1.5, -big, np.inf, -np.inf, np.nan], dtype=dtype)
    with np.errstate(all="ignore"):  # overflow and inf - inf, as in Theano
        got = nl.apply_owned(nl.rectify, x.copy())
        want = nl.rectify(x)
    assert got.dtype == want.dtype and got.tobytes() == want.tobytes()
    assert np.isinf(got[5])  # Theano's 0.5 * (x + |x|) overflows there, so does the twin
    b = np.array([0.5], dtype=dtype)
    assert nl.add_owned(x.copy(), b).tobytes() == (x + b).tobytes()
    # a wider bias is not added in place (that would round to the narrower dtype)
    x32 = np.ones(3, np.float32)
    wide = nl.add_owned(x32, np.array([1e-10], np.float64))
    assert wide.dtype == np.float64 and np.array_equal(x32, np.ones(3, np.float32))
    # a bias that broadcasts to a larger shape is not added in place either
    assert nl.add_owned(np.ones((1, 3), dtype), np.ones((2, 3), dtype)).shape == (2, 3)
