"""The harness must be able to fail: each deliberately broken twin is caught, the real one is not."""
from __future__ import annotations

import os

import numpy as np
import pytest

import layers_np as L
import layers_theano as LT
from harness import get_pair, register_pair, unregister_pair
from harness.runner import certify_pair, replay

import broken_twins


@pytest.fixture(scope="module", autouse=True)
def registered():
    names = broken_twins.register_broken()
    yield names
    for name in names:
        unregister_pair(name)


@pytest.mark.parametrize("name", ["BrokenSignDense", "BrokenTransposedDense", "BrokenMissingBiasDense",
                                  "BrokenClampSoftplusDense"])
def test_broken_twin_is_caught_and_replays(name, tmp_path):
    stats = certify_pair(get_pair(name), "float32", "ci", report_dir=str(tmp_path))
    assert stats.verdict == "DISCREPANCY", stats.message
    assert "Mismatched elements" in stats.message and "Worst element at index" in stats.message
    assert stats.reproducer and os.path.exists(stats.reproducer)
    result = replay(stats.reproducer)
    assert not result.ok  # the saved arrays reproduce the failure


def test_correct_twin_of_the_same_strategy_certifies():
    # The control: the real twin under the broken pairs' strategy passes, so the catches above
    # come from the injected bugs and not from the strategy.
    stats = certify_pair(get_pair("DenseLayer"), "float32", "ci")
    assert stats.verdict == "certified", stats.message
    assert stats.examples >= 20


def test_wrong_epsilon_is_caught(tmp_path):
    class WrongEpsilonBatchNorm(L.BatchNormLayer):
        """Adds epsilon at inference, as a port from `batch_normalization_test` would."""

        def get_output_for(self, input, **kwargs):
            inv_std = 1.0 / np.sqrt(1.0 / self.inv_std.value.astype(np.float64) ** 2 + self.epsilon)
            self_inv = self.inv_std.value
            try:
                self.inv_std.value = inv_std.astype(self_inv.dtype)
                return super().get_output_for(input, **kwargs)
            finally:
                self.inv_std.value = self_inv

    real = get_pair("BatchNormLayer")
    pair = register_pair("BrokenEpsilonBatchNorm", LT.BatchNormLayer, WrongEpsilonBatchNorm, real.draws,
                         values=real.values, error_bound=real.error_bound, family="broken", replace=True)
    try:
        stats = certify_pair(pair, "float32", "ci", report_dir=str(tmp_path))
        assert stats.verdict == "DISCREPANCY", stats.message
        assert certify_pair(real, "float32", "ci").verdict == "certified"
    finally:
        unregister_pair("BrokenEpsilonBatchNorm")


# Porting bugs in other families, each a twin constructed with one argument wrong, certified
# with the real pair's strategy, options and error bound.
def _wrong_argument(cls_name, name, change):
    def factory(incoming, **kwargs):
        return getattr(L, cls_name)(incoming, **change(dict(kwargs)))
    return factory


def _ignores_backwards(kwargs):
    kwargs["backwards"] = not kwargs.get("backwards", False)
    return kwargs


BROKEN_VARIANTS = {
    # StandardizationLayer with epsilon 100x too large (visible when the variance is small).
    "StandardizationLayer": lambda real: _wrong_argument(
        "StandardizationLayer", "eps", lambda kw: {**kw, "epsilon": kw.get("epsilon", 1e-4) * 100}),
    # LRN with alpha divided by n, as Caffe-style ports do.
    "LocalResponseNormalization2DLayer": lambda real: _wrong_argument(
        "LocalResponseNormalization2DLayer", "alpha", lambda kw: {**kw, "alpha": kw.get("alpha", 1e-4) / kw.get("n", 5)}),
    # PadLayer that pads one batch axis too many.
    "PadLayer": lambda real: _wrong_argument(
        "PadLayer", "batch", lambda kw: {**kw, "batch_ndim": max(0, kw.get("batch_ndim", 2) - 1)}),
    # GRU twin that runs forwards whatever ``backwards`` says (and vice versa).
    "GRULayer": lambda real: (lambda incomings, **kw: real.numpy_layer(incomings, **_ignores_backwards(dict(kw)))),
}


@pytest.mark.parametrize("real_name", sorted(BROKEN_VARIANTS))
def test_broken_twins_of_other_families_are_caught(real_name, tmp_path):
    import dataclasses

    real = get_pair(real_name)
    options = {f.name: getattr(real, f.name) for f in dataclasses.fields(real)
               if f.name not in ("name", "theano_layer", "numpy_layer", "draws", "family")}
    name = f"Broken{real_name}"
    pair = register_pair(name, real.theano_layer, BROKEN_VARIANTS[real_name](real), real.draws,
                         family="broken", replace=True, **options)
    try:
        stats = certify_pair(pair, "float32", "ci", report_dir=str(tmp_path))
        assert stats.verdict == "DISCREPANCY", f"{name}: {stats.verdict} {stats.message}"
    finally:
        unregister_pair(name)


def test_two_distinct_failures_are_each_reported_with_their_reproducers(tmp_path, capsys):
    # Hypothesis finds two bugs in one pair (wrong values on one code path, an exception on
    # another) and raises them together: each is its own finding with its message and
    # reproducer, and the verdict (exit 1) is the discrepancy, not an environment error.
    import json

    import pandas as pd

    from harness.cli import main

    code = main(["certify", "--pairs-module", "broken_pairs_cli", "--no-builtin", "--layers", "BrokenTwoBugsDense",
                 "--dtypes", "float32", "--profile", "ci", "--no-html", "--report-dir", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 1, out
    assert "ExceptionGroup" not in out and "2 distinct failures (1 discrepancy, 1 error)" in out
    assert "DISCREPANCY: Twin differs from Theano" in out and "ValueError: single-unit fast path" in out
    commands = [line.split("replay with: ")[1].split() for line in out.splitlines() if "replay with: " in line]
    assert len(commands) == 2 and commands[0][2] != commands[1][2]
    assert all(os.path.exists(c[2]) for c in commands)
    # the discrepancy's reproducer replays as a discrepancy (exit 1); the error's raises again (exit 2)
    assert sorted(main(c[1:]) for c in commands) == [1, 2]

    failures = pd.read_csv(tmp_path / "failures.csv")
    assert sorted(failures["kind"]) == ["DISCREPANCY", "ERROR"] and (failures["of"] == 2).all()
    assert failures["reproducer"].map(os.path.exists).all()
    frame = pd.read_csv(tmp_path / "discrepancy.csv")
    assert frame.loc[0, "verdict"] == "DISCREPANCY" and frame.loc[0, "distinct_failures"] == 2
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["discrepancies"] == 1 and summary["errors"] == 0 and summary["distinct_failures"] == 2
