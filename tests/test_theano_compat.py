"""The ``theano`` shim (layers_theano.theano_compat): unmodified Lasagne 0.1 and Keras 1.2.2 run on it.

The forward passes are checked against the numpy twins (layers_np), which never touch PyTensor,
with the weights the Theano-era package itself created or was given.
"""
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import layers_np as L
from layers_theano import backend, theano_compat

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _run(code: str, env_extra: dict = None, cwd: str = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.pop("THEANO_FLAGS", None)
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          env=env, cwd=cwd or ROOT, timeout=300)


def test_shim_is_installed_only_by_enable():
    out = _run("""
        import sys, layers_theano, layers_theano.theano_compat as tc
        print('theano' in sys.modules, tc.enabled())
        theano = tc.enable()
        import theano.tensor as T, theano.tensor.nnet.conv3d2d, theano.tensor.nnet.abstract_conv
        from theano.tensor.signal import pool, downsample
        from theano.sandbox.rng_mrg import MRG_RandomStreams
        from theano.ifelse import ifelse
        from theano.printing import Print
        print('theano' in sys.modules, tc.enabled(), tc.enable() is theano, theano.__version__)
        print(theano.gof.Variable.__module__, theano.config.floatX, theano.config.device)
    """)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.split("\n")
    assert lines[0] == "False False"
    assert lines[1] == "True True True 1.0.5"
    assert lines[2] == "pytensor.graph.basic float64 cpu"


def test_theano_flags_are_applied_and_checked():
    out = _run("""
        import layers_theano.theano_compat as tc
        theano = tc.enable()
        print(theano.config.floatX, theano.config.traceback.limit)
    """, {"THEANO_FLAGS": "device=cpu,floatX=float32, traceback.limit=7,dnn.enabled=False,lib.cnmem=0.5"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["float32", "7"]
    for flags, message in [("device=cuda0", "device=cuda0 is not available"),
                           ("floatX", "'floatX' is not name=value"),
                           ("nosuch.flag=1", "unknown flag 'nosuch.flag'")]:
        with pytest.raises(ValueError, match=message):
            theano_compat.parse_theano_flags(flags)


@pytest.fixture(scope="module")
def theano():
    return theano_compat.enable()


def test_renamed_tensor_functions(theano):
    T = theano.tensor
    x = T.matrix("x")
    b = T.addbroadcast(T.patternbroadcast(x, (False, False)), 1)
    assert b.broadcastable == (False, True)
    assert T.unbroadcast(b, 1).broadcastable == (False, False)
    assert T.patternbroadcast(b, (False, False)).broadcastable == (False, False)
    v = np.array([[0.5, -2.0], [4.0, 0.25]])
    f = theano.function([x], [T.inv(x), T.abs_(x), T.nnet.softmax(x), T.nnet.sigmoid(x)])
    inv, ab, sm, sg = f(v)
    np.testing.assert_array_equal(inv, 1 / v)
    np.testing.assert_array_equal(ab, np.abs(v))
    # row-wise, as Theano's softmax op; PyTensor's default would normalise over both axes
    np.testing.assert_allclose(sm, np.exp(v) / np.exp(v).sum(axis=1, keepdims=True), rtol=1e-15 * 8)
    np.testing.assert_allclose(sg, 1 / (1 + np.exp(-v)), rtol=1e-15 * 8)
    with pytest.raises(ValueError, match="1-d or 2-d"):
        T.nnet.softmax(T.tensor3())


def test_downsample_max_pool_2d_keeps_theano07_defaults(theano):
    x = theano.tensor.tensor4("x")
    v = np.arange(2 * 1 * 5 * 5, dtype="float64").reshape(2, 1, 5, 5)
    partial = theano.function([x], theano.tensor.signal.downsample.max_pool_2d(x, (2, 2)))(v)
    exact = theano.function([x], theano.tensor.signal.downsample.max_pool_2d(x, (2, 2), ignore_border=True))(v)
    # ignore_border defaulted to False in Theano 0.7: the edge windows are kept, partial
    assert partial.shape == (2, 1, 3, 3) and exact.shape == (2, 1, 2, 2)
    np.testing.assert_array_equal(partial[:, :, :2, :2], exact)
    np.testing.assert_array_equal(partial[:, :, 2, 2], v[:, :, 4, 4])


def test_lasagne01_forward_pass_matches_the_twins(theano):
    import lasagne

    assert lasagne.__version__ == "0.1"
    from lasagne import layers as LL
    from lasagne import nonlinearities as NL
    rng = np.random.RandomState(3)
    lasagne.random.set_rng(rng)
    net = LL.InputLayer((None, 2, 9, 9))
    net = LL.Conv2DLayer(net, 3, (3, 2), stride=(2, 1), pad=1, nonlinearity=NL.rectify)
    net = LL.MaxPool2DLayer(net, 2, ignore_border=False)
    net = LL.DropoutLayer(net, 0.5)
    net = LL.DenseLayer(net, 4, nonlinearity=NL.softmax)
    values = LL.get_all_param_values(net)
    x = rng.normal(size=(3, 2, 9, 9))
    out = theano.function([], LL.get_output(net, x, deterministic=True))()

    twin = L.InputLayer((None, 2, 9, 9))
    twin = L.Conv2DLayer(twin, 3, (3, 2), stride=(2, 1), pad=1, W=values[0], b=values[1],
                         nonlinearity=L.nonlinearities.rectify)
    twin = L.MaxPool2DLayer(twin, 2, ignore_border=False)
    twin = L.DenseLayer(twin, 4, W=values[2], b=values[3], nonlinearity=L.nonlinearities.softmax)
    assert twin.output_shape == net.output_shape
    # float64 sums of at most 18 products, then softmax: rounding differences of order 1e-15
    np.testing.assert_allclose(L.get_output(twin, x), out, rtol=0, atol=1e-13)


KERAS_SCRIPT = """
import sys
import numpy as np
from layers_theano import theano_compat
theano_compat.enable()
from keras.models import Sequential
from keras.layers import (Activation, BatchNormalization, Convolution2D, Dense, Flatten, LSTM,
                          MaxPooling2D)
rng = np.random.RandomState(5)
cnn = Sequential([Convolution2D(4, 3, 3, input_shape=(3, 8, 8), border_mode='same', dim_ordering='th'),
                  BatchNormalization(axis=1, epsilon=1e-3),
                  Activation('relu'),
                  MaxPooling2D((2, 2), dim_ordering='th'),
                  Flatten(),
                  Dense(5, activation='softmax')])
weights = [rng.normal(size=w.shape) for w in cnn.get_weights()]
weights[5] = rng.uniform(0.5, 2.0, size=weights[5].shape)  # BN running "std" holds the variance
cnn.set_weights(weights)
x = rng.normal(size=(2, 3, 8, 8))
rnn = Sequential([LSTM(5, input_shape=(4, 3), return_sequences=True)])
rnn_weights = [rng.normal(size=w.shape) for w in rnn.get_weights()]
rnn.set_weights(rnn_weights)
s = rng.normal(size=(2, 4, 3))
arrays = {'x': x, 'y': cnn.predict(x), 's': s, 'h': rnn.predict(s)}
arrays.update({'cnn%d' % i: w for i, w in enumerate(weights)})
arrays.update({'rnn%d' % i: w for i, w in enumerate(rnn_weights)})
np.savez(sys.argv[1], **arrays)
"""


def test_keras122_forward_pass_matches_the_twins(tmp_path):
    home = tmp_path / "home"
    (home / ".keras").mkdir(parents=True)  # Keras writes its config under $HOME on import
    (home / ".keras" / "keras.json").write_text(json.dumps(
        {"floatx": "float64", "epsilon": 1e-7, "backend": "theano", "image_dim_ordering": "th"}))
    result = tmp_path / "keras.npz"
    # the compile cache stays where it is (a cold cache would cost a minute here)
    flags = ",".join(f for f in (os.environ.get("PYTENSOR_FLAGS", ""),
                                 f"base_compiledir={backend.config.base_compiledir}") if f)
    env = {"HOME": str(home), "KERAS_BACKEND": "theano", "PYTENSOR_FLAGS": flags}
    proc = subprocess.run([sys.executable, "-c", KERAS_SCRIPT, str(result)], capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=ROOT, **env), cwd=str(tmp_path), timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    a = np.load(result)
    W, b, gamma, beta, mean, var, Wd, bd = (a[f"cnn{i}"] for i in range(8))
    nl = L.nonlinearities
    # Keras 1 'th' convolution: W is (out, in, rows, cols), conv2d's default filter_flip=True
    net = L.Conv2DLayer(L.InputLayer((None, 3, 8, 8)), 4, 3, pad="same", W=W, b=b, nonlinearity=None,
                        flip_filters=True)
    net = L.BatchNormLayer(net, axes=(0, 2, 3), epsilon=1e-3, beta=beta, gamma=gamma, mean=mean,
                           inv_std=1 / np.sqrt(var + 1e-3))
    net = L.NonlinearityLayer(net, nl.rectify)
    net = L.MaxPool2DLayer(net, 2)
    net = L.DenseLayer(net, 5, W=Wd, b=bd, nonlinearity=nl.softmax)
    # float64: sums of 27 products and a normalisation, each step rounding by 2^-53 relative
    np.testing.assert_allclose(L.get_output(net, a["x"]), a["y"], rtol=0, atol=1e-12)

    # Keras 1 LSTM weights: (W, U, b) per gate in the order i, c, f, o; inner activation hard_sigmoid
    r = [a[f"rnn{i}"] for i in range(12)]
    gate = {name: r[3 * k:3 * k + 3] for k, name in enumerate("icfo")}

    def g(name, nonlinearity):
        W_in, W_hid, bias = gate[name]
        return L.Gate(W_in=W_in, W_hid=W_hid, b=bias, W_cell=None, nonlinearity=nonlinearity)

    lstm = L.LSTMLayer(L.InputLayer((None, 4, 3)), 5, ingate=g("i", nl.hard_sigmoid),
                       forgetgate=g("f", nl.hard_sigmoid), cell=g("c", nl.tanh), outgate=g("o", nl.hard_sigmoid),
                       peepholes=False)
    # four recurrent steps of 5-term sums through bounded nonlinearities, float64
    np.testing.assert_allclose(L.get_output(lstm, a["s"]), a["h"], rtol=0, atol=1e-12)


def test_layers_theano_imports_as_lasagne():
    import layers_theano as lasagne
    import layers_theano.init
    import layers_theano.layers
    import layers_theano.nonlinearities

    assert lasagne.layers is layers_theano.layers and lasagne.init is layers_theano.init
    net = lasagne.layers.InputLayer((None, 3))
    net = lasagne.layers.DenseLayer(net, 2, W=lasagne.init.Constant(0.5), b=lasagne.init.Constant(-1.0),
                                    nonlinearity=lasagne.nonlinearities.rectify)
    assert [v.shape for v in lasagne.layers.get_all_param_values(net)] == [(3, 2), (2,)]
    x = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 1.0]])
    y = backend.function([], lasagne.layers.get_output(net, x))()
    np.testing.assert_array_equal(y, [[2.0, 2.0], [0.0, 0.0]])
    conv = lasagne.layers.Conv2DLayer(lasagne.layers.InputLayer((None, 1, 8, 8)), 2, 3, stride=2)
    pooled = lasagne.layers.MaxPool2DLayer(conv, 2)
    assert lasagne.layers.get_output_shape(pooled) == (None, 2, 1, 1)
    assert lasagne.layers.get_output_shape([conv, pooled], (5, 1, 12, 12)) == [(5, 2, 5, 5), (5, 2, 2, 2)]
