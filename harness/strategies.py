"""Hypothesis strategies for the twins: shapes, hyperparameters, dtypes and value distributions.

Array values are not drawn element by element: hypothesis draws a seed and a
distribution, and a numpy generator makes the arrays. Weights stay cheap for any shape
while failures still shrink (towards smaller shapes, simpler distributions, seed 0) and
replay exactly.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
from hypothesis import strategies as st

Shape = Tuple[int, ...]

SCALES = (1.0, 1e-3, 1e-1, 10.0, 1e3)  # shrinks towards 1.0


@dataclass(frozen=True)
class Fn:
    """A function argument (nonlinearity, expression) named once, resolved on each side.

    ``Fn("rectify")`` is ``nonlinearities.rectify``; ``Fn("LeakyRectify", leakiness=0.1)``
    constructs the class with that argument. Names registered with
    ``harness.strategies.register_function`` take precedence.
    """

    name: str
    args: Tuple[Tuple[str, Any], ...] = ()

    def __init__(self, name: str, **args: Any) -> None:
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "args", tuple(sorted(args.items())))

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={v!r}" for k, v in self.args)
        return f"{self.name}({inner})" if self.args else self.name


def register_function(name: str, theano_fn: Any, numpy_fn: Any) -> None:
    """Name a pair of functions (Theano, numpy) for use as ``Fn(name)`` in hyperparameters.

    The pair goes to the one registry of twin correspondences (:mod:`layers_theano.twins`);
    a Theano function that already has a twin keeps it for ``to_numpy`` (``Fn(name)`` still
    resolves to ``numpy_fn``, so a deliberately wrong twin can be certified by name).
    """
    from layers_theano.twins import register_twin

    register_twin(theano_fn, numpy_fn, name=name, replace=False)


def resolve(value: Any, side: str) -> Any:
    """Replace Fn specs in (nested) hyperparameters by the ``side`` ('theano'/'numpy') object."""
    if isinstance(value, Fn):
        from layers_theano.twins import named

        entry = named(value.name)
        if entry is not None:
            fn = entry[0 if side == "theano" else 1]
        else:
            if side == "theano":
                from layers_theano import nonlinearities as module
            else:
                from layers_np import nonlinearities as module
            fn = getattr(module, value.name)
        return fn(**dict(value.args)) if value.args else fn
    if isinstance(value, dict):
        return {k: resolve(v, side) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, side) for v in value]
    if isinstance(value, tuple):
        return tuple(resolve(v, side) for v in value)
    return value


NONLINEARITY_NAMES = ("linear", "rectify", "sigmoid", "tanh", "softmax", "elu", "softplus", "selu",
                      "leaky_rectify", "very_leaky_rectify", "identity", "hard_sigmoid", "ultra_fast_sigmoid")


def nonlinearities(allow_softmax: bool = True) -> st.SearchStrategy:
    """Every Lasagne nonlinearity, including parametrised classes, as Fn specs (or None)."""
    names = [n for n in NONLINEARITY_NAMES if allow_softmax or n != "softmax"]
    return st.one_of(
        st.sampled_from([Fn(n) for n in names] + [None]),
        st.builds(lambda a: Fn("LeakyRectify", leakiness=a), st.sampled_from([0.0, 0.1, 0.3, 1.0])),
        st.builds(lambda i, o: Fn("ScaledTanH", scale_in=i, scale_out=o), st.sampled_from([0.5, 2.0 / 3]), st.sampled_from([1.0, 1.7159])),
        st.builds(lambda s, n: Fn("SELU", scale=s, scale_neg=n), st.sampled_from([1.0, 1.5]), st.sampled_from([1.0, 2.0])),
    )


def shapes(min_ndim: int = 1, max_ndim: int = 4, min_side: int = 1, max_side: int = 6,
           max_size: int = 4096) -> st.SearchStrategy:
    """Concrete array shapes, shrinking towards small ranks and sides."""
    def ok(shape: Shape) -> bool:
        return int(np.prod(shape)) <= max_size
    return st.integers(min_ndim, max_ndim).flatmap(
        lambda n: st.tuples(*[st.integers(min_side, max_side) for _ in range(n)])).filter(ok)


def kwargs_and_shapes(kwargs: Dict[str, st.SearchStrategy], input_shapes: st.SearchStrategy) -> st.SearchStrategy:
    """``(kwargs, [shape])`` from independent strategies for each keyword and one input shape."""
    return st.tuples(st.fixed_dictionaries(kwargs), input_shapes.map(lambda s: [tuple(s)]))


# ---------------------------------------------------------------------------
# values
# ---------------------------------------------------------------------------
DISTRIBUTIONS = ("normal", "uniform", "zeros", "ties", "clamp", "lognormal")


@dataclass(frozen=True)
class Values:
    """How to fill arrays: a distribution, a scale and the generator seed."""

    dist: str
    scale: float
    seed: int
    param_scale: float = 1.0

    def sample(self, rng: np.random.Generator, shape: Shape, dtype: str, clamp_points: Sequence[float] = ()) -> np.ndarray:
        return sample_array(rng, self.dist, self.scale, shape, dtype, clamp_points)


def sample_array(rng: np.random.Generator, dist: str, scale: float, shape: Shape, dtype: str,
                 clamp_points: Sequence[float] = ()) -> np.ndarray:
    """One array of ``dist`` at ``scale``.

    * normal/uniform: the bulk of typical activations.
    * zeros: a third of the entries exactly 0 (relu kinks, sign(0), division guards).
    * ties: small integers times ``scale``, so max-like ops see equal candidates.
    * clamp: values within a few ulp-to-percent of the op's clamp points (both signs).
    * lognormal: magnitudes spread over many orders, random signs (reductions, cancellation).
    """
    if dist == "normal":
        a = rng.standard_normal(shape) * scale
    elif dist == "uniform":
        a = rng.uniform(-scale, scale, shape)
    elif dist == "zeros":
        a = rng.standard_normal(shape) * scale
        a[rng.random(shape) < 1 / 3] = 0.0
    elif dist == "ties":
        a = rng.integers(-2, 3, size=shape).astype(np.float64) * scale
    elif dist == "clamp":
        points = np.asarray(list(clamp_points) or [0.0], dtype=np.float64)
        centre = rng.choice(points, size=shape)
        rel = rng.choice([0.0, 1e-7, -1e-7, 1e-3, -1e-3, 0.05, -0.05], size=shape)
        a = centre * (1 + rel) + rng.choice([0.0, 1e-6, -1e-6], size=shape)
    elif dist == "lognormal":
        a = np.exp(rng.normal(0.0, 2.0, shape)) * scale * rng.choice([-1.0, 1.0], size=shape)
    else:
        raise ValueError(f"unknown value distribution {dist!r}")
    return np.asarray(a, dtype=dtype)


def values(clamp_points: Sequence[float] = ()) -> st.SearchStrategy:
    dists = [d for d in DISTRIBUTIONS if d != "clamp" or clamp_points]
    return st.builds(Values, dist=st.sampled_from(dists), scale=st.sampled_from(SCALES),
                     seed=st.integers(0, 2**32 - 1), param_scale=st.sampled_from((1.0, 0.1, 1e-2, 10.0)))


@dataclass
class Case:
    """One fuzzed example: everything needed to build both layers and their arrays."""

    pair: str
    dtype: str
    kwargs: Dict[str, Any]
    input_shapes: List[Shape]
    declared_shapes: List[Tuple[Optional[int], ...]]
    values: Values

    def describe(self) -> str:
        kw = ", ".join(f"{k}={v!r}" for k, v in self.kwargs.items())
        return f"{self.pair}[{self.dtype}] inputs={self.input_shapes} {kw} values={self.values.dist}x{self.values.scale:g}"


#: Hyperparameters that are sizes, counts or axes. A case sometimes passes them as numpy integer
#: scalars (what a user reading a config array gets), which Lasagne accepts like ints. Numeric
#: coefficients (alpha, k, coeffs, val, ...) stay Python numbers: as Theano constants a numpy
#: scalar keeps its dtype where a Python int is cast, so they would be another computation.
INTEGER_HYPERPARAMETERS = frozenset({
    "num_units", "num_filters", "filter_size", "stride", "pad", "crop", "dilation", "num_groups", "output_size",
    "num_leading_axes", "pool_size", "scale_factor", "pool_dims", "axis", "axes", "outdim", "shape", "pattern",
    "width", "batch_ndim", "indices", "n", "input_size", "shared_axes", "gradient_steps",
})
NUMPY_INT_TYPES = (np.int64, np.int32)


def with_numpy_integers(kwargs: Dict[str, Any], int_type: type) -> Dict[str, Any]:
    """``kwargs`` with every int of an :data:`INTEGER_HYPERPARAMETERS` entry (nested in
    tuples and lists too) made a numpy integer scalar of ``int_type``."""
    def convert(value: Any) -> Any:
        if isinstance(value, bool):
            return value
        if isinstance(value, int):
            return int_type(value)
        if isinstance(value, (tuple, list)):
            return type(value)(convert(v) for v in value)
        return value
    return {k: convert(v) if k in INTEGER_HYPERPARAMETERS else v for k, v in kwargs.items()}


def cases(pair: Any, dtype: str) -> st.SearchStrategy:
    """Strategy of :class:`Case` for a registered pair and dtype."""
    @st.composite
    def build(draw: Any) -> Case:
        drawn = draw(pair.draws)
        kwargs, input_shapes = drawn[0], drawn[1]
        input_shapes = [tuple(int(d) for d in s) for s in input_shapes]
        if len(drawn) > 2:  # the pair chose which axes the InputLayer leaves free
            declared = [tuple(s) for s in drawn[2]]
        else:
            declared = [tuple(None if i in pair.free_axes else d for i, d in enumerate(s)) for s in input_shapes]
        vals = draw(values(pair.values.get("clamp_points", ())))
        if draw(st.booleans()):
            kwargs = with_numpy_integers(kwargs, draw(st.sampled_from(NUMPY_INT_TYPES)))
        return Case(pair=pair.name, dtype=dtype, kwargs=kwargs, input_shapes=input_shapes,
                    declared_shapes=declared, values=vals)
    return build()
