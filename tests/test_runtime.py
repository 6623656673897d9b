"""The planned runtime (layers_np/_plan.py): what a caller may rely on, whatever the kernels.

- results are arrays the caller owns: a later call never changes them, they never alias the
  input, and the first call (which builds the runtime) gives the same bits as later ones;
- one runtime per input signature and thread; concurrent threads get correct results;
- replacing a parameter's value rebuilds the runtime; an instance's own ``get_output_for``
  is respected; subclasses and unusual options run the generic path with the same results
  within the bound;
- the BLAS thread control is safe to call.
"""
from __future__ import annotations

import threading

import numpy as np
import pytest

import layers_np as L
from layers_np import nonlinearities as nl


def _convnet(dtype: str = "float32") -> L.Layer:
    rng = np.random.RandomState(0)
    net = L.InputLayer((None, 2, 9, 9))
    net = L.Conv2DLayer(net, 3, 3, pad="same", W=rng.standard_normal((3, 2, 3, 3)).astype(dtype),
                        b=rng.standard_normal(3).astype(dtype), nonlinearity=nl.tanh, name="c")
    net = L.MaxPool2DLayer(net, 2, name="p")
    net = L.DenseLayer(net, 4, W=rng.standard_normal((48, 4)).astype(dtype), b=np.zeros(4, dtype),
                       nonlinearity=nl.softmax, name="d")
    return net


def test_results_are_owned_by_the_caller_and_stable() -> None:
    net = _convnet()
    x = np.random.RandomState(1).standard_normal((5, 2, 9, 9)).astype(np.float32)
    first = net(x)
    keep = first.copy()
    second = net(x)
    assert first.tobytes() == second.tobytes()  # building the runtime computed with the same kernels
    assert first is not second and not np.shares_memory(first, second)
    net(2 * x)
    assert first.tobytes() == keep.tobytes()  # a later call did not write into an earlier result
    # every layer requested at once: each result is its own array, none a view of another
    layers = L.get_all_layers(net)
    outs = L.get_output(layers, x)
    assert outs[0] is not x and not np.shares_memory(outs[0], x)  # the input layer's value is a copy
    for i, a in enumerate(outs):
        for b in outs[i + 1:]:
            assert not np.shares_memory(a, b)
    assert outs[-1].tobytes() == first.tobytes()


def test_views_requested_are_copies() -> None:
    inp = L.InputLayer((None, 3, 4))
    flat = L.FlattenLayer(inp)
    dense = L.DenseLayer(flat, 2, W=np.ones((12, 2)), b=None, nonlinearity=None)
    x = np.arange(24.0).reshape(2, 3, 4)
    f, d = L.get_output([flat, dense], x)
    f2, _ = L.get_output([flat, dense], x)
    assert not np.shares_memory(f, x) and not np.shares_memory(f, f2)
    np.testing.assert_array_equal(f, x.reshape(2, 12))
    np.testing.assert_array_equal(d, x.reshape(2, 12) @ np.ones((12, 2)))


def test_set_value_rebuilds_and_in_place_override_is_respected() -> None:
    net = _convnet("float64")
    x = np.random.RandomState(2).standard_normal((3, 2, 9, 9))
    before = net(x)
    dense = net
    dense.W.set_value(np.zeros_like(dense.W.value))
    after = net(x)
    np.testing.assert_allclose(after, np.full((3, 4), 0.25))  # softmax of equal zeros plus zero bias
    assert not np.allclose(before, after)
    calls = []
    original = dense.get_output_for

    def counted(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)
    dense.get_output_for = counted  # an instance's own method: no planned kernel replaces it
    x2 = np.ones((4, 2, 9, 9))  # a new signature: a new runtime
    net(x2)
    net(x2)
    assert len(calls) == 2


def test_threads_get_their_own_runtimes() -> None:
    net = _convnet()
    rng = np.random.RandomState(3)
    xs = [rng.standard_normal((8, 2, 9, 9)).astype(np.float32) for _ in range(4)]
    want = [net(x) for x in xs]
    errors = []

    def work(i: int) -> None:
        try:
            for _ in range(30):
                got = net(xs[i])
                if got.tobytes() != want[i].tobytes():
                    errors.append(i)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


@pytest.mark.parametrize("filters", [5, 17])  # per-item stacked GEMMs, and the folded batch GEMM
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_planned_conv_matches_the_generic_path_within_the_bound(dtype: str, filters: int) -> None:
    # The folded-batch GEMM sums the products in another order than CorrMM's per-item GEMM:
    # both are within the forward error bound 2 gamma_K sum|x||w| (K = C*kh*kw products).
    rng = np.random.RandomState(4)
    layer = L.Conv2DLayer(L.InputLayer((None, 3, 7, 6)), filters, (3, 2), stride=(2, 1), pad=1,
                          W=rng.standard_normal((filters, 3, 3, 2)).astype(dtype),
                          b=rng.standard_normal(filters).astype(dtype), nonlinearity=None)
    x = rng.standard_normal((9, 3, 7, 6)).astype(dtype)
    planned = layer(x)
    generic = layer.get_output_for(x)
    K = 3 * 3 * 2
    eps = np.finfo(dtype).eps / 2
    gamma = K * eps / (1 - K * eps)
    absx = np.abs(x).astype(np.float64)
    bound = 2 * gamma * L.conv2d(absx, np.abs(layer.W.value).astype(np.float64), border_mode=1, subsample=(2, 1)) \
        + 2 * eps * np.abs(generic)  # plus one rounding of the bias addition on each side
    assert planned.shape == generic.shape and planned.dtype == generic.dtype
    assert np.all(np.abs(planned.astype(np.float64) - generic) <= bound)


def test_a_subclass_runs_its_own_code() -> None:
    class Doubled(L.DenseLayer):
        def get_output_for(self, input, **kwargs):
            return 2 * super().get_output_for(input, **kwargs)

    layer = Doubled(L.InputLayer((None, 3)), 2, W=np.ones((3, 2)), b=None, nonlinearity=None)
    x = np.ones((1, 3))
    np.testing.assert_array_equal(layer(x), np.full((1, 2), 6.0))
    np.testing.assert_array_equal(layer(x), np.full((1, 2), 6.0))


def test_blas_thread_control_is_safe() -> None:
    now = L.blas_threads()
    assert now is None or now >= 1
    assert L.set_blas_threads(1) in (None, 1)
    if now is not None:
        L.set_blas_threads(now)


def test_a_hand_built_net_refuses_a_float_input_of_another_dtype_like_a_loaded_one():
    """No silent float64 result for float32 input: the dtype is the parameters' (as a loaded model's)."""
    import layers_np as Lnp

    net = Lnp.DenseLayer(Lnp.InputLayer((None, 3)), 2)
    Lnp.cast_param_values(net, "float64")
    x32 = np.ones((2, 3), np.float32)
    with pytest.raises(Lnp.TwinError, match="got dtype float32 but the network's parameters are float64"):
        Lnp.get_output(net, x32)
    with pytest.raises(Lnp.TwinError, match="float32"):  # the unplanned path (unhashable keyword) too
        Lnp.get_output(net, x32, unused=[1])
    assert Lnp.get_output(net, x32.astype(np.float64)).dtype == np.float64
    Lnp.cast_param_values(net, "float32")
    assert Lnp.get_output(net, x32).dtype == np.float32
    # no parameters: the input's dtype is the computation's
    assert Lnp.get_output(Lnp.NonlinearityLayer(Lnp.InputLayer((None, 3))), x32).dtype == np.float32


@pytest.mark.parametrize("semantics", ["master", "0.1"])
def test_planned_recurrent_kernels_match_the_step_loop(semantics: str) -> None:
    """The planned LSTM/GRU kernels (gate rows reordered, sigmoid rows negated, states in a
    transposed layout) compute what the generic step loop computes, for every variant that
    changes the kernel: peepholes or not, equal or different gate nonlinearities, backwards,
    only the final state, batch 1 and more."""
    import itertools

    rng = np.random.RandomState(5)
    worst = 0.0
    for peep, back, final, gate_nl, batch in itertools.product([True, False], [False, True], [False, True],
                                                               [nl.sigmoid, nl.tanh], [1, 3]):
        x = rng.standard_normal((batch, 5, 3))
        inp = L.InputLayer((None, None, 3))
        lstm = L.LSTMLayer(inp, 4, peepholes=peep, semantics=semantics, backwards=back, only_return_final=final,
                           outgate=L.Gate(nonlinearity=gate_nl), forgetgate=L.Gate(W_cell=L.init.Normal(1.0)))
        gru = L.GRULayer(inp, 4, backwards=back, only_return_final=final, semantics=semantics,
                         updategate=L.Gate(nonlinearity=gate_nl, W_cell=None))
        for layer in (lstm, gru):
            planned, generic = layer(x), layer.get_output_for(x)
            assert planned.shape == generic.shape and planned.dtype == generic.dtype
            assert layer(x).tobytes() == planned.tobytes()
            worst = max(worst, float(np.max(np.abs(planned - generic))))
    # Both sides round every elementwise op alike; only the GEMMs' summation order differs (the
    # planned side multiplies W^T h in the transposed layout): per step at most gamma_7 sum|w||h|
    # ~ 7 eps * 10 with these weights (|w| < 1, |h| < 2 over <= 7 terms), through 5 steps of
    # 1-Lipschitz gates with weights < 1: well under 1e-12 in float64, while a wrong gate order,
    # sign or peephole changes the outputs by 1e-2 or more.
    assert worst <= 1e-12


def test_repeated_calls_follow_rewiring_params_and_bad_inputs() -> None:
    """``layer(X)`` repeated with one signature runs the runtime remembered on the layer: it
    must still see a rewired network, a replaced parameter, another input signature and a bad
    input, exactly as the first call would."""
    rng = np.random.RandomState(6)
    inp = L.InputLayer((None, 3))
    a = L.DenseLayer(inp, 2, W=rng.standard_normal((3, 2)), b=None, nonlinearity=None)
    b = L.DenseLayer(inp, 2, W=rng.standard_normal((3, 2)), b=None, nonlinearity=None)
    top = L.ElemwiseSumLayer([a, b])
    x = rng.standard_normal((4, 3))
    for _ in range(3):  # the first call builds, the next ones take the remembered runtime
        np.testing.assert_allclose(top(x), x @ a.W.value + x @ b.W.value)
    top.input_layers[1] = a  # a list edited in place
    np.testing.assert_allclose(top(x), 2 * (x @ a.W.value))
    top.input_layers = [b, b]  # a link assigned
    np.testing.assert_allclose(top(x), 2 * (x @ b.W.value))
    b.W.set_value(np.zeros((3, 2)))
    assert np.array_equal(top(x), np.zeros((4, 2)))
    np.testing.assert_allclose(top(x[:1]), np.zeros((1, 2)))  # another shape
    xf = np.asfortranarray(rng.standard_normal((4, 3)))  # another contiguity
    assert top(xf).shape == (4, 2)
    with pytest.raises(L.TwinError, match="expected an array of shape"):
        top(np.ones((4, 5)))
    top(x)  # remembered again: x's shape, dtype and contiguity
    with pytest.raises(L.TwinError, match="float32"):  # same shape and contiguity, another dtype
        top(x.astype(np.float32))


@pytest.mark.parametrize("filters", [5, 17])  # per-item and folded layouts
def test_planned_conv_reads_non_contiguous_input_in_place(filters: int) -> None:
    """A transposed or reversed input (e.g. a DimshuffleLayer's view) is read through a
    strided patch view instead of a contiguous copy: same bits as the contiguous input, the
    input untouched, and the generic path's values within the conv bound."""
    rng = np.random.RandomState(7)
    conv = L.Conv1DLayer(L.InputLayer((None, 4, 11)), filters, 3, W=rng.standard_normal((filters, 4, 3)),
                         b=rng.standard_normal(filters), nonlinearity=None)
    base = rng.standard_normal((5, 11, 4))
    x = base.transpose(0, 2, 1)  # (5, 4, 11), not C-contiguous
    keep = x.copy()
    got = conv(x)
    assert got.tobytes() == conv(np.ascontiguousarray(x)).tobytes()
    assert conv(x).tobytes() == got.tobytes()  # the memoised views on the same array
    assert np.array_equal(x, keep)
    # other summation orders (items at other GEMM columns, the generic path's CorrMM layout)
    # stay within the forward bound 2 gamma_K sum|x||w| (K = 4*3 products) plus the bias rounding
    eps = np.finfo(np.float64).eps / 2
    gamma = 12 * eps / (1 - 12 * eps)
    generic = conv.get_output_for(x)
    bound = 2 * gamma * L.conv1d_mc0(np.abs(x), np.abs(conv.W.value)) + 2 * eps * np.abs(generic)
    assert np.all(np.abs(conv(x[::-1])[::-1] - got) <= bound)
    assert np.all(np.abs(got - generic) <= bound)
