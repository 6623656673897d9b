"""Deliberately broken twins the harness must catch (used by test_broken_twins and test_cli).

Each is a realistic porting bug, registered as its own pair next to the real Theano layer.
Importing this module registers nothing: pytest would otherwise certify (and fail) the
broken pairs as if they were real ones; ``broken_pairs_cli`` registers them for the CLI test.
"""
from __future__ import annotations

import numpy as np

import layers_np as L
import layers_theano as LT
from harness import register_pair
from harness.catalogue.dense import dense_bound, dense_draws
from layers_np import nonlinearities as npnl


class SignErrorDense(L.DenseLayer):
    """Subtracts the bias instead of adding it."""

    def get_output_for(self, input, **kwargs):
        n = self.num_leading_axes % input.ndim
        act = input.reshape(input.shape[:n] + (-1,)) @ self.W.value
        if self.b is not None:
            act = act - self.b.value
        return self.nonlinearity(act)


class TransposedWeightsDense(L.DenseLayer):
    """Reads W's memory as (num_units, num_inputs), the layout of another framework."""

    def get_output_for(self, input, **kwargs):
        n = self.num_leading_axes % input.ndim
        W = self.W.value.reshape(self.W.shape[::-1]).T
        act = input.reshape(input.shape[:n] + (-1,)) @ W
        if self.b is not None:
            act = act + self.b.value
        return self.nonlinearity(act)


class MissingBiasDense(L.DenseLayer):
    """Forgets the bias."""

    def get_output_for(self, input, **kwargs):
        n = self.num_leading_axes % input.ndim
        return self.nonlinearity(input.reshape(input.shape[:n] + (-1,)) @ self.W.value)


def softplus_wrong_threshold(x):
    """Softplus that switches to the identity above 5 instead of PyTensor's 33.3/18 split."""
    return np.where(x > 5, x, npnl.softplus(x)).astype(x.dtype)


def _with_softplus(cls, fn):
    def factory(incoming, **kwargs):
        kwargs["nonlinearity"] = fn
        return cls(incoming, **kwargs)
    return factory


BROKEN = {
    "BrokenSignDense": SignErrorDense,
    "BrokenTransposedDense": TransposedWeightsDense,
    "BrokenMissingBiasDense": MissingBiasDense,
}


def register_broken() -> list:
    names = []
    for name, cls in BROKEN.items():
        register_pair(name, LT.DenseLayer, cls, dense_draws(), error_bound=dense_bound, family="broken", replace=True)
        names.append(name)
    from harness.strategies import Fn, shapes
    from hypothesis import strategies as st
    draws = st.tuples(st.fixed_dictionaries({"num_units": st.integers(1, 6), "nonlinearity": st.just(Fn("softplus"))}),
                      shapes(min_ndim=2, max_ndim=2).map(lambda s: [s]))
    register_pair("BrokenClampSoftplusDense", LT.DenseLayer, _with_softplus(L.DenseLayer, softplus_wrong_threshold),
                  draws, error_bound=dense_bound, family="broken", replace=True)
    names.append("BrokenClampSoftplusDense")
    return names



class TwoBugsDense(L.DenseLayer):
    """Two bugs on two code paths: a single-unit layer takes an unfinished fast path that
    raises, every other layer subtracts the bias. Hypothesis finds both distinct failures."""

    def get_output_for(self, input, **kwargs):
        n = self.num_leading_axes % input.ndim
        x = input.reshape(input.shape[:n] + (-1,))
        if self.num_units == 1:
            raise ValueError("single-unit fast path: not implemented")
        act = x @ self.W.value
        if self.b is not None:
            act = act - self.b.value
        return self.nonlinearity(act)


def register_two_bugs(name: str = "BrokenTwoBugsDense") -> str:
    """Register :class:`TwoBugsDense` with one graph structure per unit count (two compiles per dtype)."""
    from harness.strategies import shapes
    from hypothesis import strategies as st
    draws = st.tuples(st.fixed_dictionaries({"num_units": st.sampled_from([1, 3]), "nonlinearity": st.just(None)}),
                      shapes(min_ndim=2, max_ndim=2, max_side=6).map(lambda s: [s]))
    register_pair(name, LT.DenseLayer, TwoBugsDense, draws, error_bound=dense_bound, family="broken", replace=True)
    return name
