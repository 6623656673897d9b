"""Which side is wrong? Higher-precision references for every comparison, and error attribution.

Two wider evaluations of the same inputs and weights serve as references:

* **Theano's own graph in float64** (for float32 cases): the Theano layer compiled with float64
  inputs and parameters. It is the reference the sides' distances are measured against, so a
  twin's formula bug cannot make itself the yardstick. It costs a compile per graph structure
  (shared with the float64 certification of the same structure), so it is run only for cases
  where a side is to be blamed (a discrepancy, or a side beyond rounding).
* **the twin's numerics on upcast copies** (float64 for float32 cases, ``np.longdouble`` for
  float64 cases where the platform's long double is wider): cheap, run for every case as the
  first screen; for float64 cases it is the only wider evaluation (there is no Theano wider
  than float64), so there Theano's float64 output stands for Theano's function.

Each side's distance to the reference is measured in ULPs of the tested dtype and compared
with the rounding allowance of one side (``harness.bounds.side_allowance``: half the pair's
declared error bound plus a few ULPs).

Verdicts (``Blame.verdict``), judged on the elements where Theano and the twin differ:

* ``both within rounding``: both sides are within their rounding allowance of the reference;
* ``theano`` / ``twin``: that side is beyond its allowance and the other is not (or is at
  least ``DOMINANCE`` times closer);
* ``both``: both sides are beyond their allowance by similar factors;
* ``different functions``: the two sides' wider evaluations (Theano's graph and the twin's
  numerics, both in float64) disagree with each other as much as the sides do, so no
  precision arbitrates: the two compute different functions (a wrong threshold, a sign, a
  missing ``abs``). For float64 cases: Theano is further from the twin's longdouble result
  than any precision loss explains (``UNCHECKED_FORMULA_RATIO`` allowances). Distances are
  then given to Theano's graph, the function the twin must compute;
* ``identical``: the two outputs are bit-identical (nothing to blame);
* ``n/a``: no reference (the twin raised, shapes differ, or the output is not floating point).

The per-layer split of a network's error into the error a layer *adds* and the error it
*amplifies* from its inputs is :func:`attribute_network` (and :func:`attribute_from_report`
for an existing :class:`harness.network.NetworkReport`).
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import asdict, dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from .bounds import ROUNDING_ULPS, side_allowance, ulps

__all__ = ["Blame", "oracle_dtype_for", "twin_output", "oracle_output", "theano_reference", "blame_arrays",
           "blame_case", "DIFFERENT", "SIDES",
           "ulp_sample", "LayerAttribution", "attribute_network", "attribute_arrays", "attribute_from_report",
           "VERDICTS", "DOMINANCE"]

DIFFERENT = "different functions"
SIDES = ("theano", "twin", "both")  # verdicts that blame a side
VERDICTS = ("both within rounding", "theano", "twin", "both", DIFFERENT, "identical", "n/a")
UNCHECKED_FORMULA_RATIO = 2.0 ** 32  # float64 cases: beyond this many allowances, a formula difference
DOMINANCE = 2.0  # with both sides beyond rounding, blame one side only if it is this many times further


@dataclass
class Blame:
    """Distances of each side to the reference, and who is to blame.

    ``reference`` names what the distances are measured against (Theano's graph in float64,
    or the twin's numerics upcast); ``functions_ratio`` is the largest disagreement of the two
    sides' wider evaluations with each other, over one side's rounding allowance.

    ``*_ulps`` are maxima over the elements where Theano and the twin differ, in ULPs of the
    tested dtype; ``*_ulps_at_worst`` are at the comparison's worst element; ``*_ratio`` are
    the maxima of distance / one side's rounding allowance (> 1: beyond rounding).
    """

    verdict: str = "n/a"
    theano_ulps: float = 0.0
    twin_ulps: float = 0.0
    theano_ulps_at_worst: float = 0.0
    twin_ulps_at_worst: float = 0.0
    theano_ratio: float = 0.0
    twin_ratio: float = 0.0
    oracle_dtype: str = ""
    differing: int = 0
    cross_checked: bool = False  # Theano's own graph in float64 was evaluated
    theano64_ratio: Optional[float] = None  # = functions_ratio, under its former name
    functions_ratio: Optional[float] = None
    reference: str = ""
    note: str = ""

    def as_dict(self) -> Dict[str, Any]:
        return asdict(self)

    def describe(self) -> str:
        if self.verdict in ("n/a", "identical"):
            return self.verdict + (f" ({self.note})" if self.note else "")
        ref = self.reference or f"the {self.oracle_dtype} oracle"
        text = (f"{self.verdict}: theano {self.theano_ulps:.3g} ulp ({self.theano_ratio:.3g}x rounding), "
                f"twin {self.twin_ulps:.3g} ulp ({self.twin_ratio:.3g}x rounding) from {ref}")
        return text + (f"; {self.note}" if self.note else "")


# ---------------------------------------------------------------------------
# the oracle
# ---------------------------------------------------------------------------
def _longdouble_is_wider() -> bool:
    return np.finfo(np.longdouble).nmant > np.finfo(np.float64).nmant


def oracle_dtype_for(dtype: str) -> str:
    """float64 for float32 (and narrower); longdouble for float64 when it is wider."""
    if np.dtype(dtype).itemsize < 8:
        return "float64"
    return "longdouble" if _longdouble_is_wider() else "float64"


def _upcast(arrays: Sequence[np.ndarray], tested: str, target: str) -> List[np.ndarray]:
    """Float arrays of the tested dtype as ``target``; integer arrays (indices, masks) unchanged."""
    out = []
    for a in arrays:
        a = np.asarray(a)
        out.append(a.astype(np.dtype(target)) if a.dtype.kind == "f" else a)
    return out


def twin_output(pair: Any, case: Any, inputs: Sequence[np.ndarray], params: Sequence[np.ndarray]) -> np.ndarray:
    """Build a fresh twin for ``case`` (its kwargs and declared shapes), load ``params``, run on ``inputs``."""
    from .execute import build_twin, run_twin

    twin, twin_inputs = build_twin(pair, case, params)
    return np.asarray(run_twin(twin, twin_inputs, inputs)[0])


def oracle_output(pair: Any, built: Any) -> Tuple[Optional[np.ndarray], str, str]:
    """(oracle array or None, its dtype, note): the twin on upcast copies of the built case's arrays."""
    tested = built.case.dtype
    wanted = oracle_dtype_for(tested)
    candidates = [wanted] + (["float64"] if wanted != "float64" else [])
    notes = []
    for target in candidates:
        case = dataclasses.replace(built.case, dtype=target)
        try:
            out = twin_output(pair, case, _upcast(built.inputs, tested, target), _upcast(built.params, tested, target))
        except Exception as exc:  # the twin's ops may not accept longdouble
            notes.append(f"twin in {target} raised {type(exc).__name__}")
            continue
        if out.dtype.kind == "f" and out.dtype != np.dtype(target):
            notes.append(f"twin in {target} returned {out.dtype}")
            if out.dtype.itemsize < np.dtype(target).itemsize:
                continue
        got = np.dtype(out.dtype if out.dtype.kind == "f" else target)
        if np.finfo(got).nmant <= np.finfo(np.dtype(tested)).nmant:
            # the twin re-run at its own precision is no oracle: it would always clear the twin
            notes.append(f"no oracle wider than {np.dtype(tested).name}")
            return None, got.name, "; ".join(notes)
        return out, got.name, "; ".join(notes)
    return None, "", "; ".join(notes) or "no oracle"


# ---------------------------------------------------------------------------
# blame
# ---------------------------------------------------------------------------
def _verdict(theano_ratio: float, twin_ratio: float) -> str:
    if theano_ratio <= 1.0 and twin_ratio <= 1.0:
        return "both within rounding"
    if theano_ratio <= 1.0:
        return "twin"
    if twin_ratio <= 1.0:
        return "theano"
    if twin_ratio >= DOMINANCE * theano_ratio:
        return "twin"
    if theano_ratio >= DOMINANCE * twin_ratio:
        return "theano"
    return "both"


def _finite_max(a: np.ndarray) -> float:
    return float(a.max()) if a.size else 0.0


def _ratio(side: np.ndarray, oracle: np.ndarray, d_ulps: np.ndarray, allow: np.ndarray) -> np.ndarray:
    """|side - oracle| / allowance, in long double (ulps near 0 overflow float64); non-finite
    positions follow ``d_ulps`` (0 where they match the oracle, inf where they do not)."""
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        r = np.abs(np.asarray(side).astype(np.longdouble) - np.asarray(oracle).astype(np.longdouble)) / \
            np.maximum(np.asarray(allow, dtype=np.longdouble), np.longdouble(np.finfo(np.float64).tiny))
        r = r.astype(np.float64)
    return np.where(np.isfinite(d_ulps), np.where(np.isnan(r), np.inf, r), d_ulps)


def blame_arrays(theano: np.ndarray, twin: np.ndarray, oracle: np.ndarray, dtype: str,
                 pair_bound: Optional[np.ndarray] = None, worst_index: Optional[Tuple[int, ...]] = None,
                 oracle_dtype: str = "", rounding_ulps: float = ROUNDING_ULPS) -> Blame:
    """Blame from the three arrays (the core of :func:`blame_case`; no Theano needed).

    Only elements where ``theano`` and ``twin`` differ are judged: where they are identical
    there is no discrepancy to attribute (both may differ from the oracle on purpose, e.g.
    Theano's float32 sigmoid clamps, which the twin mirrors).
    """
    theano, twin, oracle = np.asarray(theano), np.asarray(twin), np.asarray(oracle)
    blame = Blame(oracle_dtype=oracle_dtype or str(oracle.dtype))
    if theano.shape != twin.shape or theano.shape != oracle.shape:
        blame.note = f"shapes differ: theano {theano.shape}, twin {twin.shape}, oracle {oracle.shape}"
        return blame
    if theano.dtype.kind != "f" or twin.dtype.kind != "f" or oracle.dtype.kind != "f":
        blame.note = "not floating point"
        return blame
    with np.errstate(invalid="ignore"):
        differ = ~((theano == twin) | (np.isnan(theano) & np.isnan(twin)))
    blame.differing = int(differ.sum())
    if not blame.differing:
        blame.verdict = "identical"
        return blame
    d_th = ulps(theano, oracle, dtype)
    d_tw = ulps(twin, oracle, dtype)
    allow = side_allowance(oracle, dtype, pair_bound, rounding_ulps)
    r_th = np.where(differ, _ratio(theano, oracle, d_th, allow), 0.0)
    r_tw = np.where(differ, _ratio(twin, oracle, d_tw, allow), 0.0)
    blame.theano_ulps = _finite_max(np.where(differ, d_th, 0.0))
    blame.twin_ulps = _finite_max(np.where(differ, d_tw, 0.0))
    blame.theano_ratio = _finite_max(r_th)
    blame.twin_ratio = _finite_max(r_tw)
    if worst_index is not None and len(worst_index) == theano.ndim:
        blame.theano_ulps_at_worst = float(d_th[worst_index])
        blame.twin_ulps_at_worst = float(d_tw[worst_index])
    else:
        flat = int(np.argmax(np.where(differ, np.abs(d_th - d_tw), -1.0)))
        blame.theano_ulps_at_worst = float(d_th.flat[flat])
        blame.twin_ulps_at_worst = float(d_tw.flat[flat])
    blame.verdict = _verdict(blame.theano_ratio, blame.twin_ratio)
    return blame


def theano_reference(pair: Any, built: Any) -> Optional[np.ndarray]:
    """Theano's own graph in float64 on float64 copies of a float32 case's arrays (None for a
    float64 case: there is no wider Theano). One compile per graph structure, shared with the
    float64 certification of that structure (``harness.execute.compiled_function``)."""
    from .execute import build, run_theano

    tested = built.case.dtype
    if np.dtype(tested).itemsize >= 8:
        return None
    case64 = dataclasses.replace(built.case, dtype="float64")
    b64 = build(pair, case64, inputs=_upcast(built.inputs, tested, "float64"),
                params=_upcast(built.params, tested, "float64"))
    return np.asarray(run_theano(pair, b64)[0])


def _append(blame: Blame, note: str) -> None:
    blame.note = (blame.note + "; " if blame.note else "") + note


def _differ(theano: np.ndarray, twin: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return ~((theano == twin) | (np.isnan(theano) & np.isnan(twin)))


def _functions_ratio(a: np.ndarray, b: np.ndarray, where: np.ndarray, dtype: str,
                     bound: Optional[np.ndarray]) -> float:
    """max over ``where`` of |a - b| / one side's allowance (tested-dtype ulps, half the bound)."""
    r = _ratio(a, b, ulps(a, b, dtype), side_allowance(b, dtype, bound))
    return _finite_max(np.where(where, r, 0.0))


def _judge_with_theano(pair: Any, built: Any, theano: np.ndarray, twin: np.ndarray, upcast_twin: Optional[np.ndarray],
                       bound: Optional[np.ndarray], worst_index: Optional[Tuple[int, ...]],
                       screen: Blame) -> Blame:
    """Blame against Theano's graph in float64; ``different functions`` when the twin's own
    float64 numerics disagree with it as much as the sides disagree."""
    ref = theano_reference(pair, built)
    if ref is None or ref.shape != theano.shape:
        return screen
    tested = built.case.dtype
    blame = blame_arrays(theano, twin, ref, tested, bound, worst_index, "float64")
    blame.reference, blame.cross_checked = "Theano's graph in float64", True
    if upcast_twin is None:
        _append(blame, "the twin has no wider evaluation: whether the two compute the same function is not checked")
        return blame
    blame.functions_ratio = blame.theano64_ratio = _functions_ratio(upcast_twin, ref, _differ(theano, twin),
                                                                    tested, bound)
    if blame.verdict not in SIDES:
        return blame
    worst = max(blame.theano_ratio, blame.twin_ratio)
    if blame.functions_ratio > 1.0 and blame.functions_ratio >= worst / DOMINANCE:
        _append(blame, f"Theano's graph and the twin's numerics, both in float64, differ by "
                       f"{blame.functions_ratio:.3g}x rounding: the two compute different functions "
                       f"(by distance to Theano's graph alone: {blame.verdict})")
        blame.verdict = DIFFERENT
    return blame


def blame_case(pair: Any, built: Any, theano: Optional[np.ndarray] = None, twin: Optional[np.ndarray] = None,
               bound: Optional[np.ndarray] = None, worst_index: Optional[Tuple[int, ...]] = None,
               cross_check: bool = True) -> Blame:
    """Blame for one built case (``harness.execute.Built``).

    ``theano``/``twin``/``bound`` are recomputed when not given. The twin's upcast numerics
    screen the case; when a side would be blamed and ``cross_check`` is true, a float32 case
    is judged against Theano's own graph in float64 (:func:`theano_reference`), which also
    tells a precision problem from a difference of functions. A float64 case further from the
    twin's longdouble result than any precision loss explains is ``different functions``.
    """
    from .execute import run_theano, run_twin

    try:
        if theano is None:
            theano = run_theano(pair, built)[0]
        if twin is None:
            twin = np.asarray(run_twin(built.twin, built.twin_inputs, built.inputs)[0])
    except Exception as exc:
        return Blame(note=f"cannot run the case: {type(exc).__name__}: {exc}")
    theano, twin = np.asarray(theano), np.asarray(twin)
    if theano.dtype.kind != "f":
        return Blame(note="not floating point")
    if bound is None and pair.error_bound is not None and twin.shape == theano.shape:
        try:
            with np.errstate(all="ignore"):
                bound = pair.error_bound(built.case, built.inputs, built.params, built.case.kwargs)
        except Exception:
            bound = None
    oracle, odtype, note = oracle_output(pair, built)
    if oracle is not None:
        blame = blame_arrays(theano, twin, oracle, built.case.dtype, bound, worst_index, odtype)
        blame.reference = f"the twin's numerics in {odtype}"
    else:
        blame = Blame(note=note)
    if note and oracle is not None:
        blame.note = note
    single = np.dtype(built.case.dtype).itemsize < 8
    if cross_check and single and (blame.verdict in SIDES or (oracle is None and twin.shape == theano.shape)):
        try:
            return _judge_with_theano(pair, built, theano, twin, oracle, bound, worst_index, blame)
        except Exception as exc:  # the reference is advisory
            _append(blame, f"Theano's float64 reference failed: {type(exc).__name__}")
            return blame
    if not single and blame.verdict in SIDES and max(blame.theano_ratio, blame.twin_ratio) > UNCHECKED_FORMULA_RATIO:
        # no Theano wider than float64: a distance no precision loss short of float16 explains
        # (float32 rounding of a float64 result is ~2^29 ulp) is a difference of functions;
        # Theano's float64 output is then Theano's function, the twin's distance is to it
        precision, screen = blame.verdict, max(blame.theano_ratio, blame.twin_ratio)
        blame = blame_arrays(theano, twin, theano, built.case.dtype, bound, worst_index, built.case.dtype)
        blame.verdict, blame.reference, blame.functions_ratio = DIFFERENT, "Theano's float64 output", screen
        _append(blame, f"Theano's output is {screen:.3g}x rounding from the twin's {odtype} result, beyond any "
                       f"precision loss: the two compute different functions (by distance to the twin's result "
                       f"alone: {precision}; no Theano wider than float64 to cross-check)")
    return blame


def ulp_sample(theano: np.ndarray, twin: np.ndarray, dtype: str, rng: np.random.Generator, k: int = 64) -> np.ndarray:
    """Up to ``k`` per-element ULP distances |theano - twin| (finite pairs), always including the max."""
    theano, twin = np.asarray(theano), np.asarray(twin)
    if theano.shape != twin.shape or theano.dtype.kind != "f" or twin.dtype.kind != "f" or not theano.size:
        return np.zeros(0)
    d = ulps(twin, theano, dtype).ravel()
    d = d[np.isfinite(d)]
    if d.size <= k:
        return d
    pick = rng.choice(d.size, size=k - 1, replace=False)
    return np.concatenate([d[pick], [d.max()]])


# ---------------------------------------------------------------------------
# networks: error added by a layer vs error amplified from its inputs
# ---------------------------------------------------------------------------
@dataclass
class LayerAttribution:
    """Per layer: total = |twin - theano|; local (added) = |twin layer on Theano's inputs - theano|;
    propagated = total - local, elementwise (= twin layer on the twin's inputs minus on Theano's);
    amplification = max propagated / max error of the layer's inputs."""

    index: int
    name: str
    cls: str
    total_abs: float = 0.0
    added_abs: float = 0.0
    propagated_abs: float = 0.0
    input_abs: float = 0.0
    amplification: float = float("nan")
    total_ulps: float = 0.0
    added_ulps: float = 0.0
    propagated_ulps: float = 0.0

    def as_dict(self) -> Dict[str, Any]:
        d = asdict(self)
        d["class"] = d.pop("cls")
        return d


def _absmax(a: np.ndarray) -> float:
    a = np.abs(np.asarray(a, dtype=np.float64))
    a = a[np.isfinite(a)]
    return float(a.max()) if a.size else 0.0


def attribute_arrays(theano: Dict[int, np.ndarray], twin: Dict[int, Any], alone: Dict[int, Any],
                     incoming: Dict[int, List[int]], names: Dict[int, Tuple[str, str]],
                     dtype: str) -> List[LayerAttribution]:
    """Attribution from per-layer arrays (keys: layer positions): Theano's outputs, the twin's, and
    each twin layer alone on Theano's inputs; ``incoming[i]`` lists the positions feeding layer i."""
    rows = []
    for i in sorted(alone):
        name, cls = names[i]
        row = LayerAttribution(i, name, cls)
        th, tw, al = theano[i], twin[i], alone[i]
        if isinstance(tw, BaseException) or isinstance(al, BaseException) or np.shape(tw) != np.shape(th) \
                or np.shape(al) != np.shape(th) or np.asarray(th).dtype.kind != "f":
            row.total_abs = row.added_abs = float("inf") if np.asarray(th).dtype.kind == "f" else 0.0
            rows.append(row)
            continue
        th64, tw64, al64 = (np.asarray(a, dtype=np.float64) for a in (th, tw, al))
        with np.errstate(invalid="ignore", over="ignore"):
            row.total_abs = _absmax(tw64 - th64)
            row.added_abs = _absmax(al64 - th64)
            row.propagated_abs = _absmax(tw64 - al64)
            row.total_ulps = _absmax(ulps(tw, th, dtype))
            row.added_ulps = _absmax(ulps(al, th, dtype))
            row.propagated_ulps = _absmax(ulps(tw, al, dtype))
        errs = []
        for j in incoming.get(i, []):
            if isinstance(twin.get(j), BaseException) or np.shape(twin.get(j)) != np.shape(theano.get(j)):
                continue
            if np.asarray(theano[j]).dtype.kind == "f":
                errs.append(_absmax(np.asarray(twin[j], dtype=np.float64) - np.asarray(theano[j], dtype=np.float64)))
        row.input_abs = max(errs, default=0.0)
        if row.input_abs > 0:
            row.amplification = row.propagated_abs / row.input_abs
        rows.append(row)
    return rows


def _merge(acc: Optional[List[LayerAttribution]], rows: List[LayerAttribution]) -> List[LayerAttribution]:
    if acc is None:
        return rows
    for a, r in zip(acc, rows):
        for f in ("total_abs", "added_abs", "propagated_abs", "input_abs", "total_ulps", "added_ulps", "propagated_ulps"):
            setattr(a, f, max(getattr(a, f), getattr(r, f)))
        if not math.isnan(r.amplification):
            a.amplification = r.amplification if math.isnan(a.amplification) else max(a.amplification, r.amplification)
    return acc


def attribute_network(theano_output: Any, inputs: Any = None, *, n_batches: int = 3, batch_size: int = 4,
                      seed: int = 0, twin: Any = None) -> List[LayerAttribution]:
    """Per-layer added vs propagated error of a network (maxima over the batches).

    Runs the network through :class:`harness.execute.NetworkRun` (one Theano function for every
    layer output), on the batches :func:`harness.network.certify_network` draws with the same arguments.
    """
    from . import network as N
    from .execute import NetworkRun

    batches: List[List[np.ndarray]] = []
    if inputs is not None:
        batches += N.as_batches(theano_output, inputs)
    else:
        rng = np.random.default_rng(seed)
        batches += [N.fuzz_inputs(theano_output, rng, batch_size) for _ in range(n_batches)]
    dtype = N.network_dtype(theano_output)
    checker = NetworkRun(theano_output, twin, dtype)
    names = {i: (checker.np_layers[i].name or f"{type(checker.np_layers[i]).__name__.lower()}_{i}",
                 type(checker.th_layers[i]).__name__) for i in checker.computed}
    acc: Optional[List[LayerAttribution]] = None
    for batch in batches:
        theano, twin_out, alone, _, _ = checker.run(batch)
        acc = _merge(acc, attribute_arrays(theano, twin_out, alone, checker.incoming, names, dtype))
    return acc or []


def attribute_from_report(report: Any) -> List[LayerAttribution]:
    """Coarse attribution from a :class:`harness.network.NetworkReport`'s rows (maxima only):
    added = the layer alone on Theano's inputs, propagated = max(total - added, 0). The
    elementwise split and the amplification factor need :func:`attribute_network`."""
    out = []
    for r in report.rows:
        row = LayerAttribution(r.index, r.name, r.cls, total_abs=r.max_abs, added_abs=r.local_max_abs,
                               propagated_abs=max(r.max_abs - r.local_max_abs, 0.0), total_ulps=r.max_ulp)
        out.append(row)
    prev = 0.0
    for row in out:  # for a chain, the previous layer's total error is this layer's input error
        row.input_abs = prev
        if prev > 0:
            row.amplification = row.propagated_abs / prev
        prev = row.total_abs
    return out
