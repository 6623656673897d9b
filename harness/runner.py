"""Certify pairs: fuzz cases, run both sides (:mod:`harness.execute`), compare, blame.

Every case also says which side is further from a higher-precision reference
(:mod:`harness.oracle`): the twin's numerics on upcast copies screen every case, and a case
they would blame on a side is judged against Theano's own graph in float64; TWINS_ORACLE=0
turns it off.
"""
from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from .compare import Comparison, compare_arrays, fits_declared_shape
from .execute import Built, Discrepancy, build, run
from .registry import Pair
from .strategies import Case, cases
from .tolerance import default_tolerance

__all__ = ["CaseResult", "PairStats", "Finding", "Discrepancy", "evaluate", "certify_pair", "replay", "ORACLE"]

ORACLE = os.environ.get("TWINS_ORACLE", "1") != "0"
ULP_SAMPLES_PER_CASE = 64
ULP_SAMPLES_CAP = 4096  # per PairStats
RATIO_SAMPLES_CAP = 4096


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


def _check_declared(label: str, declared: Sequence[Optional[int]], actual: Tuple[int, ...]) -> Optional[str]:
    declared = tuple(declared)
    if not fits_declared_shape(declared, actual):
        return f"{label} declares output_shape {declared}, computed array has shape {actual}"
    return None


def evaluate(pair: Pair, built: Built) -> CaseResult:
    """Run both sides on the built case and compare."""
    out = run(pair, built)
    theano_out, twin_out = out.theano, out.twin

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
    result = CaseResult(built.case, comparison, out.theano_seconds, out.twin_seconds, out.compiled, out.compile_seconds)
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
            # the twin's upcast numerics screen the case; a case they would blame on a side (a
            # discrepancy, or a difference below the tolerance but beyond rounding) is judged against
            # Theano's own graph in float64 (a compile per structure, shared with float64 certification)
            result.blame = blame_case(pair, built, theano_out, twin_arr, bound, result.comparison.worst_index)
        else:
            result.blame = Blame(note="outputs not comparable")
    except Exception as exc:  # the oracle is advisory: never turn a case into a harness error
        result.blame = Blame(note=f"oracle failed: {type(exc).__name__}: {exc}")


# ---------------------------------------------------------------------------
# certification of one pair and dtype
# ---------------------------------------------------------------------------
@dataclass
class Finding:
    """One distinct failure hypothesis found for a pair: a discrepancy or an error, its
    minimal example, and the reproducer of that example (when one could be saved)."""

    kind: str  # "DISCREPANCY" or "ERROR"
    message: str
    case: str = ""  # the failing example, described
    reproducer: str = ""
    pairs_source: str = ""

    @property
    def replay_command(self) -> str:
        return replay_command(self.reproducer, self.pairs_source) if self.reproducer else ""

    def as_dict(self) -> Dict[str, str]:
        return {"kind": self.kind, "message": self.message, "case": self.case, "reproducer": self.reproducer,
                "replay": self.replay_command}


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
    pairs_source: str = ""  # the module that registered the pair (Pair.source)
    tolerance: str = ""
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
    # every distinct failure (hypothesis reports several bugs of one pair separately); the
    # verdict is DISCREPANCY when any of them is one, ``message``/``reproducer`` summarise them
    findings: List[Finding] = field(default_factory=list)

    @property
    def replay_command(self) -> str:
        """The command that re-runs the reproducer (naming a user's pairs module)."""
        return replay_command(self.reproducer, self.pairs_source) if self.reproducer else ""

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
            if blame is not None:
                self.set_blame(blame)
        if not c.ok:
            self.failures += 1

    def set_blame(self, blame: Any) -> None:
        self.blame = blame.verdict
        self.theano_ulps_to_oracle = blame.theano_ulps
        self.twin_ulps_to_oracle = blame.twin_ulps
        self.blame_note = blame.describe()

    def failure_text(self) -> str:
        """The message with the replay command of every reproducer (one per distinct failure)."""
        if len(self.findings) > 1:  # the message already lists each failure and its command
            return self.message
        return self.message + (f"\nreplay with: {self.replay_command}" if self.reproducer else "")

    @property
    def examples_per_second(self) -> float:
        return self.examples / self.wall_seconds if self.wall_seconds else 0.0


def certify_pair(pair: Pair, dtype: str, profile: str = "dev", report_dir: Optional[str] = None,
                 on_example: Optional[Callable[[], None]] = None) -> PairStats:
    """Fuzz one pair in one dtype under a hypothesis profile; never raises on a discrepancy."""
    from hypothesis import given, settings, target

    from . import profiles

    stats = PairStats(pair.name, dtype)
    from .bounds import bound_name

    stats.family, stats.bound = pair.family, bound_name(pair)
    base = profiles.get_settings(profile)  # explicit: never the globally loaded profile
    max_examples = max(1, int(round(base.max_examples * pair.max_examples_scale)))

    # the explain phase (comments on which parts of a failing example vary freely) costs hundreds
    # of re-runs per failure and certification never shows its output
    phases = [p for p in base.phases if p.name != "explain"]

    @settings(base, max_examples=max_examples, phases=phases)
    @given(case=cases(pair, dtype))
    def check(case: Case) -> None:
        built = None
        try:
            built = build(pair, case)
            result = evaluate(pair, built)
        except Exception as exc:
            _tag(exc, case, built)  # each failure carries its own example, for its own reproducer
            raise
        stats.add(result, built)
        ratio = result.comparison.max_bound_ratio
        # steer fuzzing towards the inputs that stress the layer most (hypothesis' targeted phase)
        target(float(ratio) if math.isfinite(ratio) else 1e30, label="diff/allowed")
        if on_example is not None:
            on_example()
        if not result.ok:
            raise _tag(Discrepancy(result.comparison.message(case.describe())), case, built)

    start = time.perf_counter()
    failures: List[BaseException] = []
    try:
        check()
    except Exception as exc:  # discrepancies, and errors of a broken pair or strategy: report, never hide
        failures = _leaves(exc)
    stats.wall_seconds = time.perf_counter() - start
    for exc in failures:
        finding = _finding(exc)
        built = getattr(exc, _BUILT, None)
        if report_dir is not None and built is not None:
            from .reproducer import save_reproducer

            finding.reproducer = save_reproducer(report_dir, pair, built)
            finding.pairs_source = getattr(pair, "source", "") or ""
        stats.findings.append(finding)
    _summarise(stats)
    return stats


_CASE, _BUILT = "_twins_case", "_twins_built"


def _tag(exc: BaseException, case: Case, built: Optional[Built]) -> BaseException:
    """Attach the example (and its built arrays) to the exception hypothesis will report."""
    for name, value in ((_CASE, case), (_BUILT, built)):
        try:
            setattr(exc, name, value)
        except (AttributeError, TypeError):  # an exception type that refuses attributes
            pass
    return exc


def _leaves(exc: BaseException) -> List[BaseException]:
    """The individual failures in ``exc``: hypothesis raises an ExceptionGroup (possibly nested)
    when it finds several distinct bugs. A flaky failure stays one error."""
    from hypothesis.errors import Flaky

    group = getattr(exc, "exceptions", None)  # (Base)ExceptionGroup, or the exceptiongroup backport's
    if isinstance(group, (tuple, list)) and group and not isinstance(exc, Flaky):
        return [leaf for sub in group for leaf in _leaves(sub)]
    return [exc]


def _finding(exc: BaseException) -> Finding:
    case = getattr(exc, _CASE, None)
    described = case.describe() if case is not None else ""
    if isinstance(exc, Discrepancy):
        return Finding("DISCREPANCY", str(exc).split("\nFalsifying example")[0], described)
    message = f"{type(exc).__name__}: {exc}"
    return Finding("ERROR", message + (f" (example: {described})" if described else ""), described)


def _summarise(stats: PairStats) -> None:
    """Verdict, message and reproducer of the pair from its findings."""
    found = stats.findings
    if not found:
        stats.verdict = "certified"
        return
    kinds = [f.kind for f in found]
    stats.verdict = "DISCREPANCY" if "DISCREPANCY" in kinds else "ERROR"
    main = found[kinds.index(stats.verdict)]
    stats.reproducer, stats.pairs_source = main.reproducer, main.pairs_source
    if len(found) == 1:
        stats.message = main.message
        return
    counts = ", ".join(f"{kinds.count(k)} {k.lower()}{'s' if kinds.count(k) > 1 else ''}"
                       for k in ("DISCREPANCY", "ERROR") if k in kinds)
    # one headline per failure first (what a JUnit message attribute or a log's first lines
    # show), then each failure's details and its replay command
    lines = [f"{len(found)} distinct failures ({counts}):"]
    lines += [f"[{i}/{len(found)}] {f.kind}: {f.message.splitlines()[0]}" for i, f in enumerate(found, 1)]
    for i, f in enumerate(found, 1):
        details = f.message.splitlines()[1:]
        if details or f.reproducer:
            lines.append(f"[{i}/{len(found)}] details:")
            lines += details + ([f"replay with: {f.replay_command}"] if f.reproducer else [])
    stats.message = "\n".join(lines)


def replay_command(path: str, source: str) -> str:
    """The shell command that re-runs the reproducer at ``path`` of a pair from ``source``."""
    from .registry import is_builtin

    if not source or is_builtin(source):
        return f"twins replay {path}"
    return f"twins replay {path} --pairs-module {source}"


class PairsModuleNotAllowed(ValueError):
    """A reproducer names a pairs module the user did not name on the command line."""


def replay(path: str, pairs_modules: Sequence[str] = ()) -> CaseResult:
    """Re-run a saved reproducer; returns the result (the comparison says what differs).

    The pair is registered again from the module recorded in the reproducer: the built-in
    catalogue for built-in pairs (and for files that predate the record); a user's module
    only when the caller names it in ``pairs_modules`` (``--pairs-module``) or it is imported
    already, since a reproducer is untrusted input and must not choose what code is run.
    """
    import sys

    from .registry import BUILTIN, get_pair, is_builtin, load_source
    from .reproducer import load_reproducer

    def load(source: str) -> None:
        if source and not is_builtin(source) and source not in pairs_modules and source not in sys.modules:
            raise PairsModuleNotAllowed(
                f"its pair comes from module {source!r}, which replay imports only when you name it: "
                f"twins replay {path} --pairs-module {source}")
        load_source(source or BUILTIN)

    case, inputs, params = load_reproducer(path, on_pairs_module=load)
    pair = get_pair(case.pair)
    return evaluate(pair, build(pair, case, inputs=inputs, params=params))
