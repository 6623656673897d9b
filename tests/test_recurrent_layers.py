"""Unit tests of the recurrent and embedding twins (and their Theano counterparts)."""
import numpy as np
import pytest

import layers_np as L
import layers_theano as LT
from layers_theano.backend import T, config, function


def _compile(out, inputs, dtype="float64"):
    return function([i.input_var for i in inputs], LT.get_output(out))


# ---------------------------------------------------------------------------- validation
def test_constructor_validation():
    with pytest.raises(L.TwinError, match="batch, time"):
        L.LSTMLayer((None, 5), 3)
    with pytest.raises(L.TwinError, match="num_units"):
        L.GRULayer((None, 4, 2), 0)
    with pytest.raises(L.TwinError, match="Gradient steps"):
        L.LSTMLayer((None, 4, 2), 3, unroll_scan=True, gradient_steps=3)
    with pytest.raises(L.TwinError, match="sequence length"):
        L.GRULayer((None, None, 2), 3, unroll_scan=True)
    with pytest.raises(L.TwinError, match="W_cell"):
        L.LSTMLayer((None, 4, 2), 3, ingate=L.Gate(W_cell=None))
    with pytest.raises(ValueError, match="hid_init"):
        L.RecurrentLayer((None, 4, 2), 3, hid_init=np.zeros((2, 3)))
    i2h = L.DenseLayer(L.InputLayer((None, 2)), 3)
    h2h = L.DenseLayer(L.InputLayer((None, 4)), 4)
    with pytest.raises(L.TwinError, match="input_to_hidden and hidden_to_hidden"):
        L.CustomRecurrentLayer((None, 4, 2), i2h, h2h)


def test_parameter_order_matches_lasagne():
    names = [p.name for p in L.get_all_params(L.GRULayer((None, 4, 2), 3))]
    assert names[:3] == ["W_in_to_updategate", "W_hid_to_updategate", "b_updategate"]
    assert names[3:6] == ["W_in_to_resetgate", "W_hid_to_resetgate", "b_resetgate"]
    assert names[-1] == "hid_init"
    names = [p.name for p in L.get_all_params(L.LSTMLayer((None, 4, 2), 3))]
    assert names[-5:] == ["W_cell_to_ingate", "W_cell_to_forgetgate", "W_cell_to_outgate", "cell_init", "hid_init"]
    assert [p.name for p in L.get_all_params(L.RecurrentLayer((None, 4, 2), 3, name="r"))] == [
        "r.hid_init", "r.input_to_hidden.W", "r.input_to_hidden.b", "r.hidden_to_hidden.W"]
    th = LT.LSTMLayer((None, 4, 2), 3, peepholes=False)
    tw = L.LSTMLayer((None, 4, 2), 3, peepholes=False)
    assert [(p.name, p.get_value().shape) for p in th.get_params()] == [(p.name, p.shape) for p in tw.get_params()]


def test_output_shapes():
    assert L.LSTMLayer((None, 7, 2, 3), 5).output_shape == (None, 7, 5)
    assert L.GRULayer((4, 7, 2), 5, only_return_final=True).output_shape == (4, 5)
    assert L.RecurrentLayer((None, None, 2), 5).output_shape == (None, None, 5)


# ---------------------------------------------------------------------------- hand-checked
def _scalar_rnn(**kw):
    return L.RecurrentLayer((None, 3, 1), 1, W_in_to_hid=np.array([[2.0]]), W_hid_to_hid=np.array([[0.5]]),
                            b=np.array([0.0]), nonlinearity=None, **kw)


def test_rnn_hand_example_backwards_final_and_mask():
    x = np.ones((1, 3, 1))
    # h_t = 0.5 h_{t-1} + 2 x_t from h_0 = 0: 2, 3, 3.5
    np.testing.assert_allclose(_scalar_rnn().get_output_for(x)[0, :, 0], [2.0, 3.0, 3.5])
    # backwards: t = 2, 1, 0 give 2, 3, 3.5; re-reversed to align with the input
    np.testing.assert_allclose(_scalar_rnn(backwards=True).get_output_for(x)[0, :, 0], [3.5, 3.0, 2.0])
    # only_return_final when backwards: the state after t = 0
    np.testing.assert_allclose(_scalar_rnn(backwards=True, only_return_final=True).get_output_for(x), [[3.5]])
    # a masked step copies the previous state; any non-zero mask value takes the step
    mask = np.array([[1.0, 0.0, 0.5]])
    out = _scalar_rnn(mask_input=L.InputLayer((None, 3))).get_output_for(x, extra_inputs=[mask, None])
    np.testing.assert_allclose(out[0, :, 0], [2.0, 2.0, 3.0])


def test_lstm_hand_example_peephole_timing():
    one = np.ones
    g = lambda: L.Gate(W_in=one((1, 1)), W_hid=np.zeros((1, 1)), W_cell=one(1), b=np.zeros(1), nonlinearity=None)
    lstm = L.LSTMLayer((None, 1, 1), 1, ingate=g(), forgetgate=g(), outgate=g(),
                       cell=L.Gate(W_in=one((1, 1)), W_hid=np.zeros((1, 1)), W_cell=None, b=np.zeros(1), nonlinearity=None),
                       nonlinearity=None, cell_init=one((1, 1)))
    # i = 1 + c0 = 2, f = 1 + c0 = 2, c = f c0 + i * 1 = 4, o = 1 + c (new cell) = 5, h = o c = 20
    np.testing.assert_allclose(lstm.get_output_for(one((1, 1, 1))), [[[20.0]]])


def test_gru_hand_example():
    one = np.ones
    g = lambda nl=None: L.Gate(W_in=one((1, 1)), W_hid=one((1, 1)), W_cell=None, b=np.zeros(1), nonlinearity=nl)
    gru = L.GRULayer((None, 1, 1), 1, resetgate=g(), updategate=g(), hidden_update=g(), hid_init=one((1, 1)))
    # r = u = h0 + x = 2; c = x + r (h0 W_hc) = 3; h = (1 - u) h0 + u c = -1 + 6 = 5
    np.testing.assert_allclose(gru.get_output_for(one((1, 1, 1))), [[[5.0]]])


# ---------------------------------------------------------------------------- against Theano
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_to_numpy_lstm_gru_network_matches_theano(dtype):
    rng = np.random.default_rng(3)
    with config.change_flags(floatX=dtype):
        x = LT.InputLayer((None, 5, 3), name="x")
        m = LT.InputLayer((None, 5), name="mask")
        h0 = LT.InputLayer((None, 4), name="h0")
        lstm = LT.LSTMLayer(x, 4, mask_input=m, hid_init=h0, backwards=True, learn_init=True,
                            forgetgate=LT.Gate(nonlinearity=LT.nonlinearities.hard_sigmoid))
        gru = LT.GRULayer(lstm, 3, mask_input=m, only_return_final=True, backwards=True, grad_clipping=1.0)
        rnn = LT.RecurrentLayer(lstm, 2, nonlinearity=LT.nonlinearities.tanh, precompute_input=False)
        fn = function([x.input_var, m.input_var, h0.input_var], LT.get_output([gru, rnn]))
    twins = LT.to_numpy([gru, rnn])
    tx, tm, th0 = [next(l for l in L.get_all_layers(twins) if l.name == n) for n in ("x", "mask", "h0")]
    for _ in range(2):
        xs = rng.standard_normal((3, 5, 3)).astype(dtype)
        ms = (rng.random((3, 5)) < 0.6).astype(dtype)
        hs = rng.standard_normal((3, 4)).astype(dtype)
        want = fn(xs, ms, hs)
        got = L.get_output(twins, {tx: xs, tm: ms, th0: hs})
        for a, b in zip(want, got):
            assert b.dtype == np.dtype(dtype)
            np.testing.assert_allclose(b, a, rtol=1e-5 if dtype == "float32" else 1e-10, atol=1e-6 if dtype == "float32" else 1e-12)


def test_variants_give_the_same_output():
    """precompute_input and unroll_scan change how Theano computes, not what."""
    rng = np.random.default_rng(0)
    with config.change_flags(floatX="float64"):
        x = LT.InputLayer((None, 4, 3))
        base = LT.LSTMLayer(x, 2, backwards=True)
        values = LT.get_all_param_values(base)
        variants = [base]
        for kw in ({"precompute_input": False}, {"unroll_scan": True}):
            layer = LT.LSTMLayer(x, 2, backwards=True, **kw)
            LT.set_all_param_values(layer, values)
            variants.append(layer)
        fn = function([x.input_var], LT.get_output(variants))
    xs = rng.standard_normal((2, 4, 3))
    results = fn(xs)
    twin = LT.to_numpy(variants[2])
    for r in results[1:] + [twin(xs)]:
        np.testing.assert_allclose(r, results[0], rtol=1e-12, atol=1e-14)


def test_custom_recurrent_to_numpy_converts_subnetworks():
    with config.change_flags(floatX="float64"):
        x = LT.InputLayer((None, 4, 3))
        i2h = LT.DenseLayer(LT.InputLayer((None, 3)), 5, nonlinearity=LT.nonlinearities.tanh)
        h2h = LT.DenseLayer(LT.InputLayer((None, 5)), 5, nonlinearity=None)
        layer = LT.CustomRecurrentLayer(x, i2h, h2h, nonlinearity=LT.nonlinearities.tanh, learn_init=True)
        fn = function([x.input_var], LT.get_output(layer))
    assert [p.name for p in layer.get_params()] == ["hid_init", "W", "b", "W", "b"]
    twin = LT.to_numpy(layer)
    xs = np.random.default_rng(1).standard_normal((2, 4, 3))
    np.testing.assert_allclose(twin(xs), fn(xs), rtol=1e-12, atol=1e-14)


# ---------------------------------------------------------------------------- embedding
def test_embedding_lookup_and_errors():
    W = np.arange(12.0).reshape(4, 3)
    emb = L.EmbeddingLayer((None, 2), 4, 3, W=W)
    assert emb.output_shape == (None, 2, 3)
    idx = np.array([[0, 3], [-1, 1]])
    np.testing.assert_array_equal(emb.get_output_for(idx), W[[[0, 3], [3, 1]]])
    with pytest.raises(L.TwinError, match="integer"):
        emb.get_output_for(idx.astype(np.float32))
    with pytest.raises(L.TwinError, match="out of bounds"):
        emb.get_output_for(np.array([[4, 0]]))
    with pytest.raises(L.TwinError, match="input_size"):
        L.EmbeddingLayer((None, 2), 0, 3)


def test_embedding_matches_theano_on_integer_input():
    with config.change_flags(floatX="float32"):
        inp = LT.InputLayer((None, 3), input_var=T.imatrix("idx"))
        emb = LT.EmbeddingLayer(inp, 5, 2)
        fn = function([inp.input_var], LT.get_output(emb))
    twin = LT.to_numpy(emb)
    idx = np.array([[0, 4, -5], [2, 2, 1]], dtype=np.int32)
    out = twin.get_output_for(idx)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, fn(idx))
