"""Compare Theano's output with the twin's: shape, dtype, non-finite positions, values."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Dict, Optional, Sequence, Tuple

import numpy as np

from .tolerance import Tolerance


@dataclass
class Comparison:
    ok: bool
    reason: str = ""
    dtype: str = ""
    shape: Tuple[int, ...] = ()
    max_abs: float = 0.0
    max_rel: float = 0.0
    max_ulp: float = 0.0
    max_bound_ratio: float = 0.0  # max |diff| / allowed; > 1 means a mismatch
    mismatches: int = 0
    size: int = 0
    worst_index: Optional[Tuple[int, ...]] = None
    theano_value: Optional[float] = None
    twin_value: Optional[float] = None
    tolerance: str = ""

    def as_dict(self) -> Dict[str, Any]:
        return asdict(self)

    def message(self, label: str = "") -> str:
        """A numpy.testing-style report of the mismatch."""
        head = f"Twin differs from Theano{(' in ' + label) if label else ''}: {self.reason}"
        if self.worst_index is None:
            return head
        return "\n".join([
            head,
            f"Mismatched elements: {self.mismatches} / {self.size} ({100.0 * self.mismatches / max(self.size, 1):.3g}%)",
            f"Max absolute difference: {self.max_abs:.6g}",
            f"Max relative difference: {self.max_rel:.6g}",
            f"Max ULP difference ({self.dtype}): {self.max_ulp:.6g}",
            f"Worst element at index {self.worst_index}: theano={self.theano_value!r}, twin={self.twin_value!r}",
            f"Tolerance: {self.tolerance} (+ the layer's error bound; worst |diff|/allowed = {self.max_bound_ratio:.3g})",
        ])


def fits_declared_shape(declared: Sequence[Optional[int]], actual: Sequence[int]) -> bool:
    """Whether an array of shape ``actual`` fits a declared ``output_shape`` (``None`` = any size)."""
    declared = tuple(declared)
    return len(declared) == len(actual) and all(d is None or d == a for d, a in zip(declared, actual))


def ulp_distance(a: np.ndarray, b: np.ndarray, dtype: Any) -> np.ndarray:
    """|a - b| in units of the spacing of ``dtype`` at |b| (both finite)."""
    dt = np.dtype(dtype)
    tiny = np.finfo(dt).smallest_subnormal if hasattr(np.finfo(dt), "smallest_subnormal") else np.finfo(dt).tiny
    spacing = np.spacing(np.abs(b).astype(dt)).astype(np.float64)
    spacing = np.maximum(spacing, float(tiny))
    return np.abs(a.astype(np.float64) - b.astype(np.float64)) / spacing


def compare_arrays(theano: np.ndarray, twin: Any, tol: Tolerance, bound: Optional[np.ndarray] = None) -> Comparison:
    """Compare one output. ``bound`` is the per-element error bound (broadcastable) or None."""
    with np.errstate(invalid="ignore", over="ignore"):  # inf - inf is handled as a position check
        return _compare(theano, twin, tol, bound)


def _compare(theano: np.ndarray, twin: Any, tol: Tolerance, bound: Optional[np.ndarray]) -> Comparison:
    twin = np.asarray(twin) if not isinstance(twin, np.ndarray) else twin
    theano = np.asarray(theano)
    cmp = Comparison(ok=False, dtype=str(theano.dtype), shape=tuple(theano.shape), tolerance=str(tol), size=int(theano.size))
    if theano.shape != twin.shape:
        cmp.reason = f"shape mismatch: theano {theano.shape}, twin {twin.shape}"
        return cmp
    if theano.dtype != twin.dtype:
        cmp.reason = f"dtype mismatch: theano {theano.dtype}, twin {twin.dtype}"
        return cmp
    if theano.dtype.kind not in "fc":
        diff_mask = theano != twin
        cmp.mismatches = int(diff_mask.sum())
        if cmp.mismatches:
            idx = tuple(int(i) for i in np.argwhere(diff_mask)[0])
            cmp.worst_index, cmp.theano_value, cmp.twin_value = idx, theano[idx].item(), twin[idx].item()
            cmp.reason = "values differ"
            return cmp
        cmp.ok = True
        return cmp
    a64, b64 = twin.astype(np.float64), theano.astype(np.float64)
    fin_a, fin_b = np.isfinite(a64), np.isfinite(b64)
    # NaN and +-Inf must sit in the same places with the same sign.
    nonfinite_bad = (np.isnan(a64) != np.isnan(b64)) | (np.isinf(a64) != np.isinf(b64)) | (
        np.isinf(a64) & np.isinf(b64) & (np.sign(a64) != np.sign(b64)))
    both = fin_a & fin_b
    diff = np.where(both, np.abs(a64 - b64), 0.0)
    allowed = tol.atol + tol.rtol * np.abs(np.where(both, b64, 0.0))
    if bound is not None:
        allowed = allowed + np.where(both, np.broadcast_to(np.asarray(bound, dtype=np.float64), diff.shape), 0.0)
    bad = nonfinite_bad | (diff > allowed)
    cmp.mismatches = int(bad.sum())
    if theano.size:
        cmp.max_abs = float(diff.max())
        rel = np.where(both & (b64 != 0), diff / np.where(b64 == 0, 1.0, np.abs(b64)), np.where(diff > 0, np.inf, 0.0))
        cmp.max_rel = float(rel.max())
        cmp.max_ulp = float(np.where(both, ulp_distance(a64, b64, theano.dtype), 0.0).max())
        ratio = np.where(both, diff / np.maximum(allowed, np.finfo(np.float64).tiny), 0.0)
        ratio = np.where(nonfinite_bad, np.inf, ratio)
        cmp.max_bound_ratio = float(ratio.max())
        flat = int(np.argmax(ratio))
        idx = tuple(int(i) for i in np.unravel_index(flat, theano.shape))
        cmp.worst_index, cmp.theano_value, cmp.twin_value = idx, float(theano[idx]), float(twin[idx])
    if cmp.mismatches:
        cmp.reason = "non-finite values differ" if nonfinite_bad.any() else "values out of tolerance"
        return cmp
    cmp.ok = True
    return cmp
