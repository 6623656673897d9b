"""The harness must be able to fail: each deliberately broken twin is caught, the real one is not."""
from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import strategies as st

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
