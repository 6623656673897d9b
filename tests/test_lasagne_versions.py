"""The ``semantics`` option: Lasagne 0.1's arithmetic where it differs from master (layers_np.versions).

Hand examples with one unit and one step, so the expected numbers come from the formulas in
Lasagne's two sources, evaluated here with ``math``; then both sides against each other and the
option's round trip through a model file.
"""
import inspect
import math

import numpy as np
import pytest

import layers_np as L
import layers_theano as LT
from layers_np import versions
from layers_theano import backend

RECURRENT = ("CustomRecurrentLayer", "RecurrentLayer", "LSTMLayer", "GRULayer")


def _lstm(M, semantics, **kwargs):
    """One unit, one input feature: the cell gate is the identity with bias 2, peepholes 1."""
    zero = M.init.Constant(0.0)
    gate = lambda **kw: M.Gate(W_in=zero, W_hid=zero, **kw)  # noqa: E731
    return M.LSTMLayer(M.InputLayer((None, None, 1)), 1, ingate=gate(W_cell=M.init.Constant(1.0)),
                       forgetgate=gate(W_cell=M.init.Constant(1.0)),
                       cell=gate(W_cell=None, b=M.init.Constant(2.0), nonlinearity=None),
                       outgate=gate(W_cell=M.init.Constant(1.0)), semantics=semantics, **kwargs)


def _sigmoid(z):
    return 1 / (1 + math.exp(-z))


@pytest.mark.parametrize("semantics", versions.SEMANTICS)
def test_lstm_output_peephole_hand_example(semantics):
    # c_0 = 0: i = f = sigmoid(0) = 1/2, c_1 = f*0 + i*2 = 1
    c1 = 0.5 * 2.0
    if semantics == "master":
        o = _sigmoid(0.0 + c1 * 1.0)  # o = sigmoid(x W_o + h U_o + b_o + c_t w_co)
    else:
        o = _sigmoid(0.0) + c1 * 1.0  # o = sigmoid(x W_o + h U_o + b_o) + c_t w_co
    expected = o * math.tanh(c1)
    x = np.zeros((1, 1, 1))
    twin = L.get_output(_lstm(L, semantics), x)
    net = _lstm(LT, semantics)
    theano = backend.function([], LT.get_output(net, x))()
    np.testing.assert_allclose(twin, [[[expected]]], rtol=4e-16)  # a handful of float64 roundings
    np.testing.assert_allclose(theano, [[[expected]]], rtol=4e-16)


@pytest.mark.parametrize("semantics", versions.SEMANTICS)
def test_fractional_mask_hand_example(semantics):
    # h_0 = 0, one step of h = identity(x * 1 + h * 1): h_new = x = 3; mask m = 0.25
    def build(M):
        return M.RecurrentLayer(M.InputLayer((None, None, 1)), 1, W_in_to_hid=M.init.Constant(1.0),
                                W_hid_to_hid=M.init.Constant(1.0), nonlinearity=None,
                                hid_init=M.init.Constant(5.0), mask_input=M.InputLayer((None, None)),
                                semantics=semantics)

    x, m = np.full((1, 1, 1), 3.0), np.full((1, 1), 0.25)
    h_new, h_prev = 3.0 + 5.0, 5.0
    expected = h_new if semantics == "master" else h_new * 0.25 + h_prev * 0.75  # switch vs blend
    twin = build(L)
    out_np = L.get_output(twin, {twin.input_layer: x, twin.mask_input: m})
    net = build(LT)
    out_th = backend.function([], LT.get_output(net, {net.input_layer: x, net.mask_input: m}))()
    assert out_np.item() == expected and out_th.item() == expected


@pytest.mark.parametrize("name", RECURRENT)
def test_semantics_is_keyword_only_and_checked(name):
    for M in (L, LT):
        param = inspect.signature(getattr(M, name)).parameters["semantics"]
        assert param.kind is param.KEYWORD_ONLY and param.default == "master"
    with pytest.raises(ValueError, match=r"semantics must be one of 'master', '0.1', got '0.2'"):
        L.LSTMLayer((None, 3, 2), 4, semantics="0.2")
    with pytest.raises(ValueError, match=r"semantics must be one of"):
        LT.GRULayer((None, 3, 2), 4, semantics=0.1)


def test_lasagne_versions_map_to_semantics():
    assert versions.semantics_of_lasagne("0.1") == "0.1"
    assert versions.semantics_of_lasagne("0.2.dev1") == "master"
    with pytest.raises(ValueError, match="Lasagne '0.3': unknown release"):
        versions.semantics_of_lasagne("0.3")


def test_semantics_survives_the_model_file(tmp_path):
    rng = np.random.RandomState(2)
    x = rng.normal(size=(2, 4, 3))
    outs = {}
    for semantics in versions.SEMANTICS:
        net = L.LSTMLayer(L.InputLayer((None, 4, 3)), 5, semantics=semantics)
        L.set_all_param_values(net, [rng.normal(size=v.shape) for v in L.get_all_param_values(net)])
        path = tmp_path / f"{semantics}.npz"
        L.save(net, path)
        loaded = L.load(path)
        assert loaded.semantics == semantics
        outs[semantics] = L.get_output(net, x)
        np.testing.assert_array_equal(loaded(x), outs[semantics])
    # the option changes the numbers (peepholes are on by default), so the file must carry it
    assert np.abs(outs["master"] - outs["0.1"]).max() > 1e-3


@pytest.mark.parametrize("semantics", versions.SEMANTICS)
def test_to_numpy_keeps_semantics(semantics):
    net = LT.GRULayer(LT.InputLayer((None, 3, 2)), 4, mask_input=LT.InputLayer((None, 3)), semantics=semantics)
    assert LT.to_numpy(net).semantics == semantics
