"""Error allowances shared by the oracle and the reports.

Two different questions use two different allowances:

* **pass/fail** (``harness.compare``): ``|theano - twin| <= atol + rtol |theano| + bound``, the
  default table being the floor and ``bound`` the pair's declared forward error bound for the
  *difference* of the two sides (``Pair.error_bound``, e.g. ``harness.tolerance.dot_bound``,
  which is ``2 gamma_K sum |x||w|``: each side is within ``gamma_K sum |x||w|`` of the exact value).
* **blame** (``harness.oracle``): how far *one* side may be from the exact value (the oracle)
  and still count as rounding. That is half the pair's bound (the per-side forward error)
  plus a few ULPs of the tested dtype for the final rounding and the elementwise functions
  (libm / SIMD kernels of exp, tanh, log1p differ by 1-4 ulp); the loose table does not
  apply here, otherwise a twin 80 ulp off in float32 would always be "rounding".
"""
from __future__ import annotations

from typing import Any, Optional

import numpy as np

__all__ = ["ROUNDING_ULPS", "spacing", "ulps", "side_allowance", "bound_name"]

# Elementwise slack per side, in ulps of the tested dtype: one correctly rounded result is
# within 0.5 ulp; libm/SIMD transcendental kernels are within ~1-4 ulp, and a short chain of
# them (scale * expm1(x), 1 / (1 + exp(-x))) adds a few more.
ROUNDING_ULPS = 8.0


def spacing(magnitude: np.ndarray, dtype: Any) -> np.ndarray:
    """One ulp of ``dtype`` at ``|magnitude|`` (never below the smallest subnormal), as longdouble."""
    dt = np.dtype(dtype)
    fi = np.finfo(dt)
    tiny = getattr(fi, "smallest_subnormal", fi.tiny)
    with np.errstate(over="ignore", invalid="ignore"):
        mag = np.abs(np.asarray(magnitude)).astype(dt)
        sp = np.spacing(mag).astype(np.longdouble)
    top = np.longdouble(fi.max) - np.longdouble(np.nextafter(fi.max, dt.type(0)))
    sp = np.where(np.isfinite(sp), sp, top)
    return np.maximum(sp, np.longdouble(tiny))


def ulps(value: np.ndarray, reference: np.ndarray, dtype: Any) -> np.ndarray:
    """``|value - reference|`` in ulps of ``dtype`` at ``|reference|``, computed in longdouble.

    Non-finite values: 0 where ``value`` equals ``reference`` rounded to ``dtype`` (the same
    inf, or both NaN), inf otherwise.
    """
    v = np.asarray(value).astype(np.longdouble)
    r = np.asarray(reference).astype(np.longdouble)
    with np.errstate(over="ignore", invalid="ignore"):
        r_dt = r.astype(np.dtype(dtype)).astype(np.longdouble)
        out = np.abs(v - r) / spacing(r, dtype)
    finite = np.isfinite(v) & np.isfinite(r_dt)
    same_nonfinite = (~finite) & ((v == r_dt) | (np.isnan(v) & np.isnan(r_dt)))
    # finite distances beyond float64's range (ulps of float64 near 0) saturate at its max, not inf
    out = np.where(finite, np.minimum(out, np.longdouble(np.finfo(np.float64).max)),
                   np.where(same_nonfinite, 0.0, np.inf))
    return out.astype(np.float64)


def side_allowance(reference: np.ndarray, dtype: Any, pair_bound: Optional[np.ndarray] = None,
                   rounding_ulps: float = ROUNDING_ULPS) -> np.ndarray:
    """How far one side may be from the exact ``reference`` and still be rounding (float64).

    ``pair_bound / 2 + rounding_ulps * ulp(reference)``; ``pair_bound`` is the pair's declared
    bound on ``|theano - twin|`` (see the module docstring).
    """
    allow = (rounding_ulps * spacing(reference, dtype)).astype(np.float64)
    if pair_bound is not None:
        b = np.broadcast_to(np.asarray(pair_bound, dtype=np.float64), allow.shape)
        allow = allow + np.where(np.isfinite(b), 0.5 * b, 0.0)
    return allow


def bound_name(pair: Any) -> str:
    """What a pair's allowance is made of, for the reports."""
    fn = getattr(pair, "error_bound", None)
    if fn is None:
        return "table only (no declared bound)"
    name = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or type(fn).__name__
    return name.replace(".<locals>.", "/") + " + table"
