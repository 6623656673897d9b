"""Whole-network certification: agreement, locating a corrupted layer, local vs propagated error."""
from __future__ import annotations

import numpy as np
import pytest

import layers_np as L
import layers_theano as LT
from harness.network import NetworkError, certify_network, fuzz_inputs
from layers_theano import zoo
from layers_theano.backend import config


@pytest.fixture(scope="module")
def mlp32():
    return zoo.mlp("float32", seed=0)


def test_mlp_certifies(mlp32):
    report = certify_network(mlp32, n_batches=2, batch_size=3)
    assert report.ok and report.first_bad is None
    assert [r.name for r in report.rows] == ["hidden1", "hidden2", "output"]
    assert [r.cls for r in report.rows] == ["DenseLayer"] * 3
    assert report.rows[0].output_shape == (None, 512)
    assert report.dtype == "float32" and report.batches == 2
    assert report.input_shapes == [[(3, 784)], [(3, 784)]]
    assert all(r.local_ok and r.verdict == "ok" for r in report.rows)
    frame = report.to_frame()
    assert list(frame["name"]) == ["hidden1", "hidden2", "output"]
    assert {"max_abs", "max_rel", "max_ulp", "mismatches", "verdict", "local_ok"} <= set(frame.columns)
    table = report.table()
    assert "hidden2" in table and "max ulp" in table
    assert report.summary()["verdict"] == "certified"


def test_float64_dense_network_with_user_samples():
    with config.change_flags(floatX="float64"):
        inp = LT.InputLayer((None, 3, 4), name="x")
        a = LT.DenseLayer(inp, 6, num_leading_axes=2, nonlinearity=LT.nonlinearities.tanh, name="a")
        b = LT.NINLayer(a, 2, name="b")
        out = LT.DenseLayer(b, 3, nonlinearity=LT.nonlinearities.softmax, name="out")
    samples = np.random.default_rng(1).standard_normal((5, 3, 4))
    report = certify_network(out, {inp: samples})
    assert report.ok, report.message()
    assert report.input_source == "samples" and report.input_shapes == [[(5, 3, 4)]]
    report = certify_network(out, {"x": samples}, fuzz=True, n_batches=1)
    assert report.batches == 2 and report.ok
    with pytest.raises(NetworkError, match="shape"):
        certify_network(out, samples[:, :2])
    with pytest.raises(NetworkError, match="float64, cannot certify it in float32"):
        certify_network(out, dtype="float32")


def corrupt(twin_out, name, fn):
    layer = next(l for l in L.get_all_layers(twin_out) if l.name == name)
    W = layer.W.value.copy()
    fn(W)
    layer.W.value = W


def test_corrupted_weight_is_located_and_local(mlp32):
    twin = LT.to_numpy(mlp32)

    def bump(W):
        W[:, 7] += 0.05

    corrupt(twin, "hidden2", bump)
    report = certify_network(mlp32, twin=twin, n_batches=2)
    assert not report.ok
    bad = report.first_bad
    assert bad.name == "hidden2" and bad.index == 2
    assert bad.verdict == "LOCAL" and not bad.local_ok
    assert report.rows[0].ok  # hidden1 untouched
    out = report.rows[2]
    assert not out.ok and out.local_ok and out.verdict == "propagated"
    assert "hidden2" in report.message() and "its own numerics differ" in report.message()
    assert report.summary()["first_bad"]["name"] == "hidden2"


def test_propagated_error_is_told_from_local():
    """An upstream difference inside tolerance, amplified by cancellation downstream: the first
    layer out of tolerance is 'propagated' (alone on Theano's inputs it agrees)."""
    with config.change_flags(floatX="float64"):
        inp = LT.InputLayer((None, 2), name="x")
        copy = LT.DenseLayer(inp, 2, W=np.eye(2), b=None, nonlinearity=None, name="copy")
        diff = LT.DenseLayer(copy, 1, W=np.array([[1e4], [-1e4]]), b=None, nonlinearity=None, name="diff")
    twin = LT.to_numpy(diff)

    def nudge(W):
        W[0, 0] += 1e-9  # relative 1e-9: far inside float64's rtol 1e-7

    corrupt(twin, "copy", nudge)
    samples = np.full((4, 2), 1.5)  # x0 == x1, so diff's exact output is 0
    report = certify_network(diff, samples, twin=twin)
    assert report.rows[0].ok, "the nudge must stay inside tolerance at 'copy'"
    bad = report.first_bad
    assert bad is not None and bad.name == "diff"
    assert bad.verdict == "propagated" and bad.local_ok
    assert "propagated" in report.message()


def test_twin_that_raises_is_a_local_failure(mlp32):
    twin = LT.to_numpy(mlp32)
    layer = next(l for l in L.get_all_layers(twin) if l.name == "hidden2")

    def explode(input, **kwargs):
        raise FloatingPointError("boom")

    layer.get_output_for = explode
    report = certify_network(mlp32, twin=twin, n_batches=1)
    assert report.first_bad.name == "hidden2" and report.first_bad.verdict == "LOCAL"
    assert "boom" in report.first_bad.reason
    assert not report.rows[2].ok  # fed by the failed layer


def test_fuzz_inputs_draw_free_axes_and_integer_ids():
    T = LT.backend.T
    with config.change_flags(floatX="float32"):
        seq = LT.InputLayer((None, None, 3), name="seq")
        ids = LT.InputLayer((None, None), input_var=T.imatrix("ids"), name="ids")
        out = LT.ElemwiseSumLayer([seq, seq]) if hasattr(LT, "ElemwiseSumLayer") else LT.DenseLayer(seq, 2)
    rng = np.random.default_rng(0)
    arrays = fuzz_inputs([out, ids], rng, batch_size=5)
    assert arrays[0].dtype == np.float32 and arrays[0].shape[0] == 5 and 2 <= arrays[0].shape[1] < 9
    assert arrays[1].dtype == np.int32 and arrays[1].shape == arrays[0].shape[:2]  # shared free time axis
    assert arrays[1].min() >= 0 and arrays[1].max() < 10
