"""Numerical truth: the oracle blames the side that is wrong, and rounding is judged as rounding."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import strategies as st

import layers_np as L
import layers_theano as LT
from harness import get_pair, register_pair, unregister_pair
from harness.bounds import side_allowance, ulps
from harness.catalogue.dense import dense_bound
from harness.execute import build
from harness.oracle import (attribute_from_report, attribute_network, blame_arrays, blame_case,
                            oracle_dtype_for)
from harness.runner import certify_pair, evaluate
from harness.strategies import Case, Fn, Values, register_function, shapes
from layers_theano import nonlinearities as thnl
from layers_theano.backend import T

from harness.registry import load_builtin_catalogue
from broken_twins import SignErrorDense  # a formula bug (not a precision one): the bias is subtracted

load_builtin_catalogue()

# one precision "below" the tested one: an error that shrinks when the computation is upcast,
# as a real precision bug does (a hard-coded float16 would follow the twin into its oracle)
LOWER = {"float32": np.float16, "float64": np.float32, np.dtype(np.longdouble).name: np.float64}


class HalfAccumulatingDense(L.DenseLayer):
    """Twin bug: the dot product is accumulated one precision below the input's."""

    def get_output_for(self, input, **kwargs):
        low = LOWER[input.dtype.name]
        n = self.num_leading_axes % input.ndim
        act = (input.reshape(input.shape[:n] + (-1,)).astype(low) @ self.W.value.astype(low)).astype(input.dtype)
        if self.b is not None:
            act = act + self.b.value
        return self.nonlinearity(act)


class HalfRoundingTheanoDense(LT.DenseLayer):
    """Theano-side perturbation: the output is rounded through a narrower float and back."""

    def get_output_for(self, input, **kwargs):
        out = super().get_output_for(input, **kwargs)
        low = np.dtype(LOWER[str(out.dtype)]).name
        return T.cast(T.cast(out, low), out.dtype)


def crude_sigmoid(x):
    """1 - 1/(1 + e^x): cancels catastrophically for negative x in float32, fine in float64."""
    one = x.dtype.type(1)
    return (one - one / (one + np.exp(x))).astype(x.dtype)


register_function("crude_sigmoid", thnl.sigmoid, crude_sigmoid)

# one structure (one compile per dtype): 2-D inputs, linear output
DRAWS = st.tuples(st.fixed_dictionaries({"num_units": st.integers(1, 6), "nonlinearity": st.just(None)}),
                  shapes(min_ndim=2, max_ndim=2, max_side=8).map(lambda s: [s]))

PAIRS = {
    "BlameHalfTwinDense": (LT.DenseLayer, HalfAccumulatingDense),
    "BlameHalfTheanoDense": (HalfRoundingTheanoDense, L.DenseLayer),
    "BlameSignTwinDense": (LT.DenseLayer, SignErrorDense),
}


@pytest.fixture(scope="module", autouse=True)
def registered():
    for name, (th, tw) in PAIRS.items():
        register_pair(name, th, tw, DRAWS, error_bound=dense_bound, family="blame-test", replace=True)
    yield
    for name in PAIRS:
        unregister_pair(name)


def _case(name, dtype, kwargs, shape):
    return Case(pair=name, dtype=dtype, kwargs=kwargs, input_shapes=[shape], declared_shapes=[(None,) + shape[1:]],
                values=Values("normal", 1.0, 0))


# ---------------------------------------------------------------------------
# certification runs: the blame of the worst case
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_twin_accumulating_in_lower_precision_is_blamed_on_the_twin(dtype):
    stats = certify_pair(get_pair("BlameHalfTwinDense"), dtype, "ci")
    assert stats.verdict == "DISCREPANCY"
    assert stats.blame == "twin", stats.blame_note
    assert stats.twin_ulps_to_oracle > 100 * max(stats.theano_ulps_to_oracle, 1.0)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_theano_rounding_through_a_narrower_float_is_blamed_on_theano(dtype):
    stats = certify_pair(get_pair("BlameHalfTheanoDense"), dtype, "ci")
    # float64 rounded through float32 (6e-8 relative) passes the table's rtol 1e-7: only the
    # oracle sees that Theano lost precision
    assert stats.verdict == ("DISCREPANCY" if dtype == "float32" else "certified")
    assert stats.blame == "theano", stats.blame_note
    assert stats.theano_ulps_to_oracle > 100 * max(stats.twin_ulps_to_oracle, 1.0)


def test_real_dense_pair_is_within_rounding():
    stats = certify_pair(get_pair("DenseLayer"), "float32", "ci")
    assert stats.verdict == "certified"
    assert stats.blame in ("both within rounding", "identical")
    assert set(stats.blame_counts) <= {"both within rounding", "identical"}, stats.blame_counts
    assert sum(stats.blame_counts.values()) == stats.examples
    assert stats.worst_ratio < 1.0 and stats.ulp_samples and stats.ratio_samples


def test_formula_difference_is_not_passed_off_as_precision():
    # The twin's own numerics in float64 follow its formula, so by distance to them alone
    # Theano looks wrong; Theano's graph in float64 disagrees with them as much as the sides
    # disagree, which exposes a difference of functions.
    stats = certify_pair(get_pair("BlameSignTwinDense"), "float32", "ci")
    assert stats.verdict == "DISCREPANCY"
    assert stats.blame == "different functions", stats.blame_note
    assert "theano" not in stats.blame_counts, stats.blame_counts


def signed_square(x):
    """x |x| on the Theano side."""
    return x * T.abs(x)


def signed_square_missing_abs(x):
    """The twin's port forgot the abs: x * x."""
    return (x * x).astype(x.dtype)


register_function("signed_square_missing_abs", signed_square, signed_square_missing_abs)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_twin_missing_an_abs_is_never_blamed_on_theano(dtype):
    # The case: judged by the twin's own formula in float64, every case read "theano"
    # and Theano stood ~1e6 ulp from the "oracle". Judged against Theano's graph (float32) or
    # by a distance no precision loss explains (float64), the two compute different functions,
    # and Theano is at its own function.
    draws = st.tuples(st.just({"nonlinearity": Fn("signed_square_missing_abs")}),
                      shapes(min_ndim=2, max_ndim=2, max_side=8).map(lambda s: [s]))
    pair = register_pair("BlameMissingAbs", LT.NonlinearityLayer, L.NonlinearityLayer, draws,
                         family="blame-test", replace=True)
    try:
        stats = certify_pair(pair, dtype, "ci")
    finally:
        unregister_pair("BlameMissingAbs")
    assert stats.verdict == "DISCREPANCY"
    assert not {"theano", "both"} & set(stats.blame_counts), stats.blame_counts
    assert stats.blame == "different functions", stats.blame_note
    assert "compute different functions" in stats.blame_note
    assert stats.blame_counts.get("different functions", 0) >= stats.failures > 0, stats.blame_counts
    assert stats.theano_ulps_to_oracle < 1.0 and stats.twin_ulps_to_oracle > 1e4, stats.blame_note


# ---------------------------------------------------------------------------
# single cases
# ---------------------------------------------------------------------------
def test_crude_sigmoid_passes_the_table_but_is_blamed_on_the_twin():
    # an elementwise layer: no declared bound, so a side may be a few ulp from the oracle
    pair = register_pair("BlameCrudeSigmoid", LT.NonlinearityLayer, L.NonlinearityLayer, DRAWS,
                         family="blame-test", replace=True)
    try:
        case = Case(pair=pair.name, dtype="float32", kwargs={"nonlinearity": Fn("crude_sigmoid")},
                    input_shapes=[(6, 5)], declared_shapes=[(None, 5)], values=Values("normal", 1.0, 0))
        x = np.linspace(-9.0, -3.0, 30).reshape(6, 5).astype("float32")  # sigmoid ~1e-4..5e-2: cancellation
        built = build(pair, case, inputs=[x], params=[])
        result = evaluate(pair, built)
        assert result.ok  # the loose table (atol 1e-5) does not see a 1e-8 absolute error...
        blame = result.blame
        assert blame.verdict == "twin", blame.describe()  # ...the oracle does
        assert blame.twin_ulps > 50 and blame.theano_ratio <= 1.0
        confirmed = blame_case(pair, built, worst_index=result.comparison.worst_index, cross_check=True)
        assert confirmed.verdict == "twin" and confirmed.cross_checked, confirmed.describe()
    finally:
        unregister_pair("BlameCrudeSigmoid")


def test_case_results_carry_blame_and_ulp_samples():
    pair = get_pair("BlameHalfTheanoDense")
    built = build(pair, _case(pair.name, "float32", {"num_units": 3, "nonlinearity": None}, (4, 5)))
    result = evaluate(pair, built)
    assert not result.ok and result.blame.verdict == "theano"
    assert result.blame.oracle_dtype == "float64"
    assert result.blame.theano_ulps_at_worst > result.blame.twin_ulps_at_worst
    assert result.ulp_sample is not None and len(result.ulp_sample) > 0


# ---------------------------------------------------------------------------
# the pure functions
# ---------------------------------------------------------------------------
def test_blame_arrays_verdicts():
    oracle = np.linspace(0.5, 2.0, 50)
    exact = oracle.astype("float32")
    off = (oracle * (1 + 1e-4)).astype("float32")  # ~800 ulp
    one_ulp = np.nextafter(exact, np.float32(3))
    assert blame_arrays(exact, off, oracle, "float32").verdict == "twin"
    assert blame_arrays(off, exact, oracle, "float32").verdict == "theano"
    assert blame_arrays(exact, one_ulp, oracle, "float32").verdict == "both within rounding"
    assert blame_arrays(exact, exact.copy(), oracle, "float32").verdict == "identical"
    both = blame_arrays(off, (oracle * (1 - 1e-4)).astype("float32"), oracle, "float32")
    assert both.verdict == "both"
    # a declared bound widens what counts as rounding (half the pair bound per side)
    wide = blame_arrays(exact, off, oracle, "float32", pair_bound=np.full(50, 1e-3))
    assert wide.verdict == "both within rounding"
    assert blame_arrays(exact, off[:10], oracle, "float32").verdict == "n/a"


def test_ulps_and_allowance():
    ref = np.array([1.0, 1.0, np.inf, 0.0])
    val = np.array([1.0 + 2 ** -23, 1.0, np.inf, 0.0], dtype="float32")
    assert list(ulps(val, ref, "float32")) == [1.0, 0.0, 0.0, 0.0]
    assert ulps(np.array([np.nan], "float32"), np.array([1.0]), "float32")[0] == math.inf
    allow = side_allowance(np.array([1.0]), "float32", np.array([1e-6]), rounding_ulps=2)
    assert allow[0] == pytest.approx(2 * 2 ** -23 + 0.5e-6)
    assert oracle_dtype_for("float32") == "float64"
    assert oracle_dtype_for("float64") in ("longdouble", "float64")


# ---------------------------------------------------------------------------
# networks: added against propagated error
# ---------------------------------------------------------------------------
def _small_net():
    from layers_theano.backend import config

    with config.change_flags(floatX="float32"):
        net = LT.InputLayer((None, 8), name="input")
        net = LT.DenseLayer(net, 16, nonlinearity=thnl.rectify, name="h1")
        net = LT.DenseLayer(net, 16, nonlinearity=thnl.tanh, name="h2")
        return LT.DenseLayer(net, 4, nonlinearity=None, name="out")


def test_network_attribution_separates_added_from_propagated_error():
    net = _small_net()
    twin = LT.to_numpy(net)
    h1 = [l for l in L.get_all_layers(twin) if l.name == "h1"][0]
    h1.W.value = (h1.W.value * np.float32(1.001)).astype("float32")  # only h1 adds a real error
    rows = attribute_network(net, twin=twin, n_batches=2, batch_size=5)
    by = {r.name: r for r in rows}
    assert [r.name for r in rows] == ["h1", "h2", "out"]
    assert by["h1"].added_abs > 1e-5 and by["h1"].propagated_abs == 0.0  # its inputs are exact
    for name in ("h2", "out"):  # downstream layers only pass h1's error on
        assert by[name].propagated_abs > 100 * by[name].added_abs
        assert by[name].input_abs > 0 and by[name].amplification > 0
        assert by[name].total_abs <= by[name].added_abs + by[name].propagated_abs + 1e-12

    from harness.network import certify_network
    coarse = attribute_from_report(certify_network(net, twin=twin, n_batches=2, batch_size=5))
    assert [r.name for r in coarse] == ["h1", "h2", "out"]
    assert coarse[1].propagated_abs > coarse[1].added_abs


def test_cancellation_to_zero_is_judged_by_the_bound_not_by_ulps_at_zero():
    # an exactly cancelling sum: ulps at 0 are astronomically many, the declared bound decides
    oracle = np.zeros(4, dtype=np.longdouble)
    theano = np.array([1e-13, -1e-13, 0.0, 2e-13])
    twin = np.zeros(4)
    blame = blame_arrays(theano, twin, oracle, "float64", pair_bound=np.full(4, 1e-12))
    assert blame.verdict == "both within rounding", blame.describe()
    assert blame.theano_ulps > 1e300 and blame.theano_ratio < 1.0
