"""Run fuzzed cases through both sides and certify pairs.

Compile once per graph structure: parameters and inputs are inputs of the compiled
Theano function (shared variables are swapped for symbolic ones with ``givens``), so every
case with the same hyperparameters, dtype and input ranks reuses one function whatever
its shapes and weights.
"""
from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from .compare import Comparison, compare_arrays
from .registry import Pair, get_pair
from .strategies import Case, cases, resolve
from .tolerance import default_tolerance


# Every case also runs the twin on upcast copies (the oracle, harness.oracle) to say which side
# is further from the exact result; TWINS_ORACLE=0 turns it off.
ORACLE = os.environ.get("TWINS_ORACLE", "1") != "0"
ULP_SAMPLES_PER_CASE = 64
ULP_SAMPLES_CAP = 4096  # per PairStats
RATIO_SAMPLES_CAP = 4096


class HarnessError(RuntimeError):
    """The harness could not run a case (not a discrepancy: a broken pair or strategy)."""


class Discrepancy(AssertionError):
    """The twin disagrees with Theano."""


@dataclass
class Built:
    """Both sides of one case, built and filled with the same arrays."""

    case: Case
    theano_layer: Any
    theano_inputs: List[Any]
    twin: Any
    twin_inputs: List[Any]
    inputs: List[np.ndarray]
    params: List[np.ndarray]
    param_names: List[str]


@dataclass
class CaseResult:
    case: Case
    comparison: Comparison
    theano_seconds: float
    twin_seconds: float
    compiled: bool
    compile_seconds: float
    blame: Any = None  # harness.oracle.Blame of this case (None when the oracle is off)
    ulp_sample: Any = None  # a sample of per-element ULP distances |theano - twin|

    @property
    def ok(self) -> bool:
        return self.comparison.ok


_COMPILED: Dict[Tuple[Any, ...], Any] = {}


def _freeze(value: Any) -> Any:
    if isinstance(value, dict):
        return tuple(sorted((k, _freeze(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    if isinstance(value, np.ndarray):
        return ("array", value.shape, value.dtype.str, value.tobytes())
    try:
        hash(value)
        return value
    except TypeError:
        return repr(value)


def structure_key(pair: Pair, case: Case) -> Tuple[Any, ...]:
    """Cases with equal keys share one compiled function: everything but shapes and values,
    unless the pair's Theano graph bakes in its input shapes."""
    free_axes = tuple(tuple(d is None for d in s) for s in case.declared_shapes)
    key: Tuple[Any, ...] = (pair.name, case.dtype, _freeze(case.kwargs), free_axes)
    if pair.shape_in_key:
        key += (tuple(case.input_shapes),)
    return key


def _short(name: Optional[str]) -> str:
    return (name or "").split(".")[-1]


def build(pair: Pair, case: Case, inputs: Optional[List[np.ndarray]] = None,
          params: Optional[List[np.ndarray]] = None) -> Built:
    """Build the Theano layer and the twin for ``case``; arrays are drawn unless given."""
    import layers_np as L
    import layers_theano as LT
    from layers_theano.backend import config

    dtype = case.dtype
    rng = np.random.default_rng(case.values.seed)
    clamp = pair.values.get("clamp_points", ())
    if inputs is None:
        inputs = [case.values.sample(rng, s, dtype, clamp) for s in case.input_shapes]
    with config.change_flags(floatX=dtype):
        th_inputs = [LT.InputLayer(s, name=f"in{i}") for i, s in enumerate(case.declared_shapes)]
        th_incoming = th_inputs if pair.multi_input else th_inputs[0]
        th_layer = pair.theano_layer(th_incoming, **resolve(case.kwargs, "theano"))
    np_inputs = [L.InputLayer(s, name=f"in{i}") for i, s in enumerate(case.declared_shapes)]
    np_incoming = np_inputs if pair.multi_input else np_inputs[0]
    twin = pair.numpy_layer(np_incoming, **resolve(case.kwargs, "numpy"))

    th_params = LT.get_all_params(th_layer)
    np_params = L.get_all_params(twin)
    th_desc = [(_short(p.name), tuple(p.get_value().shape)) for p in th_params]
    np_desc = [(_short(p.name), tuple(p.shape)) for p in np_params]
    if th_desc != np_desc:
        raise Discrepancy(f"{pair.name}: parameters differ (name, shape) in order: theano {th_desc}, twin {np_desc}")
    if params is None:
        params = []
        positive = set(pair.values.get("positive_params", ()))
        for name, shape in th_desc:
            p = rng.standard_normal(shape) * case.values.param_scale
            if name in positive:
                p = np.abs(p) + 1e-3
            params.append(p.astype(dtype))
        if pair.prepare is not None:
            inputs, params = pair.prepare(case.kwargs, inputs, params, rng)
            inputs = [np.asarray(a, dtype=dtype) for a in inputs]
            params = [np.asarray(p, dtype=dtype) for p in params]
    L.set_all_param_values(twin, params)
    return Built(case, th_layer, th_inputs, twin, np_inputs, inputs, params, [n for n, _ in th_desc])


def compiled_function(pair: Pair, built: Built) -> Tuple[Any, bool, float]:
    """The Theano function for the case's structure: (fn, compiled_now, compile_seconds)."""
    key = structure_key(pair, built.case)
    if key in _COMPILED:
        return _COMPILED[key], False, 0.0
    import layers_theano as LT
    from layers_theano.backend import config, function

    start = time.perf_counter()
    with config.change_flags(floatX=built.case.dtype):
        th_params = LT.get_all_params(built.theano_layer)
        symbols = [p.type() for p in th_params]
        out = LT.get_output(built.theano_layer, deterministic=True)
        fn = function([i.input_var for i in built.theano_inputs] + symbols, out,
                      givens=list(zip(th_params, symbols)), on_unused_input="ignore")
    seconds = time.perf_counter() - start
    _COMPILED[key] = fn
    return fn, True, seconds


def _check_declared(label: str, declared: Sequence[Optional[int]], actual: Tuple[int, ...]) -> Optional[str]:
    declared = tuple(declared)
    if len(declared) != len(actual) or any(d is not None and d != a for d, a in zip(declared, actual)):
        return f"{label} declares output_shape {declared}, computed array has shape {actual}"
    return None


def evaluate(pair: Pair, built: Built) -> CaseResult:
    """Run both sides on the built case and compare."""
    fn, compiled, compile_seconds = compiled_function(pair, built)
    args = [np.asarray(a) for a in built.inputs] + list(built.params)
    start = time.perf_counter()
    theano_out = np.asarray(fn(*args))
    theano_seconds = time.perf_counter() - start
    feed = {l: a for l, a in zip(built.twin_inputs, built.inputs)}
    start = time.perf_counter()
    with np.errstate(all="ignore"):  # overflow to inf is compared, not warned about
        twin_out = built.twin(feed)
    twin_seconds = time.perf_counter() - start

    tol = pair.tolerance.get(built.case.dtype, default_tolerance(built.case.dtype))
    bound = None
    if pair.error_bound is not None and getattr(twin_out, "shape", None) == theano_out.shape:
        with np.errstate(all="ignore"):
            bound = pair.error_bound(built.case, built.inputs, built.params, built.case.kwargs)
    comparison = compare_arrays(theano_out, twin_out, tol, bound)
    for label, layer in (("Theano layer", built.theano_layer), ("twin", built.twin)):
        problem = _check_declared(label, layer.output_shape, theano_out.shape)
        if problem and comparison.ok:
            comparison.ok, comparison.reason = False, problem
    result = CaseResult(built.case, comparison, theano_seconds, twin_seconds, compiled, compile_seconds)
    if ORACLE:
        _attach_oracle(pair, built, result, theano_out, twin_out, bound)
    return result


def _attach_oracle(pair: Pair, built: Built, result: CaseResult, theano_out: np.ndarray, twin_out: Any,
                   bound: Optional[np.ndarray]) -> None:
    """Blame (which side is further from the higher-precision oracle) and a ULP sample for one case."""
    from .oracle import Blame, blame_case, ulp_sample

    twin_arr = np.asarray(twin_out)
    try:
        result.ulp_sample = ulp_sample(theano_out, twin_arr, built.case.dtype,
                                       np.random.default_rng(built.case.values.seed), ULP_SAMPLES_PER_CASE)
        if twin_arr.shape == theano_out.shape and theano_out.dtype.kind == "f" and twin_arr.dtype.kind == "f":
            result.blame = blame_case(pair, built, theano_out, twin_arr, bound, result.comparison.worst_index)
        else:
            result.blame = Blame(note="outputs not comparable")
    except Exception as exc:  # the oracle is advisory: never turn a case into a harness error
        result.blame = Blame(note=f"oracle failed: {type(exc).__name__}: {exc}")


def run_case(pair: Pair, case: Case) -> CaseResult:
    return evaluate(pair, build(pair, case))


# ---------------------------------------------------------------------------
# certification of one pair and dtype
# ---------------------------------------------------------------------------
@dataclass
class PairStats:
    """What certification of one (pair, dtype) saw; the reports are built from these."""

    pair: str
    dtype: str
    examples: int = 0
    failures: int = 0
    worst_abs: float = 0.0
    worst_rel: float = 0.0
    worst_ulp: float = 0.0
    worst_ratio: float = 0.0
    worst_case: str = ""
    compiles: int = 0
    compile_seconds: float = 0.0
    theano_seconds: List[float] = field(default_factory=list)
    twin_seconds: List[float] = field(default_factory=list)
    wall_seconds: float = 0.0
    verdict: str = "not run"
    message: str = ""
    reproducer: str = ""
    tolerance: str = ""
    last_failure: Optional[Tuple[Case, CaseResult, Any]] = None
    # numerical truth (harness.oracle): blame of the worst case, its sides' distances to the oracle
    family: str = ""
    bound: str = ""  # what the allowance is made of: the pair's declared error bound + the table
    blame: str = ""
    theano_ulps_to_oracle: float = 0.0
    twin_ulps_to_oracle: float = 0.0
    blame_note: str = ""
    blame_counts: Dict[str, int] = field(default_factory=dict)  # verdict -> number of cases
    ulp_samples: List[float] = field(default_factory=list)  # per-element ULP |theano - twin|, capped
    ratio_samples: List[float] = field(default_factory=list)  # per-case worst |diff|/allowed, capped
    worst_built: Optional[Tuple[Built, CaseResult]] = field(default=None, repr=False)

    def add(self, result: CaseResult, built: Built) -> None:
        c = result.comparison
        self.examples += 1
        self.tolerance = c.tolerance
        if result.compiled:
            self.compiles += 1
            self.compile_seconds += result.compile_seconds
        else:  # the first call after a compile also pays for allocation; keep steady-state calls only
            self.theano_seconds.append(result.theano_seconds)
            self.twin_seconds.append(result.twin_seconds)
        self.worst_abs = max(self.worst_abs, c.max_abs)
        self.worst_rel = max(self.worst_rel, c.max_rel)
        self.worst_ulp = max(self.worst_ulp, c.max_ulp)
        if len(self.ratio_samples) < RATIO_SAMPLES_CAP:
            self.ratio_samples.append(float(c.max_bound_ratio))
        if result.ulp_sample is not None and len(self.ulp_samples) < ULP_SAMPLES_CAP:
            self.ulp_samples.extend(float(x) for x in result.ulp_sample[:ULP_SAMPLES_CAP - len(self.ulp_samples)])
        blame = result.blame
        if blame is not None:
            self.blame_counts[blame.verdict] = self.blame_counts.get(blame.verdict, 0) + 1
        if c.max_bound_ratio >= self.worst_ratio or not c.ok:
            self.worst_ratio = max(self.worst_ratio, c.max_bound_ratio)
            self.worst_case = result.case.describe()
            self.worst_built = (built, result)
            if blame is not None:
                self.set_blame(blame)
        if not c.ok:
            self.failures += 1
            self.last_failure = (result.case, result, built)

    def set_blame(self, blame: Any) -> None:
        self.blame = blame.verdict
        self.theano_ulps_to_oracle = blame.theano_ulps
        self.twin_ulps_to_oracle = blame.twin_ulps
        self.blame_note = blame.describe()

    @property
    def examples_per_second(self) -> float:
        return self.examples / self.wall_seconds if self.wall_seconds else 0.0


def certify_pair(pair: Pair, dtype: str, profile: str = "dev", report_dir: Optional[str] = None,
                 on_example: Optional[Callable[[], None]] = None) -> PairStats:
    """Fuzz one pair in one dtype under a hypothesis profile; never raises on a discrepancy."""
    from hypothesis import given, settings, target

    from . import profiles

    profiles.register_profiles()
    stats = PairStats(pair.name, dtype)
    from .bounds import bound_name

    stats.family, stats.bound = pair.family, bound_name(pair)
    base = settings.get_profile(profile)
    max_examples = max(1, int(round(base.max_examples * pair.max_examples_scale)))

    @settings(base, max_examples=max_examples)
    @given(case=cases(pair, dtype))
    def check(case: Case) -> None:
        built = build(pair, case)
        result = evaluate(pair, built)
        stats.add(result, built)
        ratio = result.comparison.max_bound_ratio
        # steer fuzzing towards the inputs that stress the layer most (hypothesis' targeted phase)
        target(float(ratio) if math.isfinite(ratio) else 1e30, label="diff/allowed")
        if on_example is not None:
            on_example()
        if not result.ok:
            raise Discrepancy(result.comparison.message(case.describe()))

    start = time.perf_counter()
    try:
        check()
        stats.verdict = "certified"
    except Discrepancy as exc:
        stats.verdict = "DISCREPANCY"
        stats.message = str(exc).split("\nFalsifying example")[0]
    except Exception as exc:  # a broken pair or strategy: report it, do not hide it
        stats.verdict = "ERROR"
        stats.message = f"{type(exc).__name__}: {exc}"
    stats.wall_seconds = time.perf_counter() - start
    if ORACLE and stats.worst_built is not None:
        _confirm_blame(pair, stats)
    stats.worst_built = None  # do not keep the arrays alive
    if stats.verdict != "certified" and report_dir is not None and stats.last_failure is not None:
        from .reproducer import save_reproducer

        case, _, built = stats.last_failure
        stats.reproducer = save_reproducer(report_dir, pair, built)
    return stats


def _confirm_blame(pair: Pair, stats: PairStats) -> None:
    """Cross-check the worst case's blame with Theano in float64 when a side is blamed (float32 only)."""
    from .oracle import blame_case

    built, result = stats.worst_built
    if result.blame is None or result.blame.verdict not in ("theano", "twin", "both"):
        return
    try:
        blame = blame_case(pair, built, worst_index=result.comparison.worst_index, cross_check=True)
    except Exception:
        return
    if blame.verdict != "n/a":
        stats.set_blame(blame)


def replay(path: str) -> CaseResult:
    """Re-run a saved reproducer; returns the result (the comparison says what differs)."""
    from .registry import load_builtin_catalogue
    from .reproducer import load_reproducer

    load_builtin_catalogue()
    case, inputs, params = load_reproducer(path)
    pair = get_pair(case.pair)
    return evaluate(pair, build(pair, case, inputs=inputs, params=params))
