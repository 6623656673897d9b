"""Tolerances: one default table per dtype, plus each layer's declared error bound.

An element passes when ``|theano - twin| <= atol + rtol * |theano| + bound``, where
``bound`` is the layer's forward error bound for that element (0 for elementwise layers).

Defaults (anchors: torch.testing float32 rtol 1.3e-6/atol 1e-5; Theano's own
``allclose`` float32 1e-5/1e-5, float64 rtol 1e-5/atol 1e-8):

* float32: Theano's own rtol 1e-5, atol 1e-5 (~84 ulp at 1.0). Kept at Theano's value
  because PyTensor and numpy call different libm/SIMD kernels for exp, log1p, tanh.
* float64: rtol 1e-7, atol 1e-8, tighter than Theano's 1e-5: float64 elementwise kernels
  agree to a few ulp (1e-7 is still ~4.5e8 ulp) and reductions get their own bound.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict

import numpy as np


@dataclass(frozen=True)
class Tolerance:
    rtol: float
    atol: float

    def __str__(self) -> str:
        return f"rtol={self.rtol:g}, atol={self.atol:g}"


DEFAULT_TOLERANCES: Dict[str, Tolerance] = {
    "float32": Tolerance(rtol=1e-5, atol=1e-5),
    "float64": Tolerance(rtol=1e-7, atol=1e-8),
}


def default_tolerance(dtype: str) -> Tolerance:
    return DEFAULT_TOLERANCES[np.dtype(dtype).name]


def unit_roundoff(dtype: str) -> float:
    """u = eps / 2, the relative error of one correctly rounded operation."""
    return float(np.finfo(dtype).eps) / 2


def gamma(n: int, dtype: str) -> float:
    """Higham's gamma_n = n u / (1 - n u): the relative error bound of an n-term sum or dot product."""
    nu = n * unit_roundoff(dtype)
    return nu / (1 - nu) if nu < 1 else float("inf")


def dot_bound(n_terms: int, abs_dot: np.ndarray, dtype: str, lipschitz: float = 1.0) -> np.ndarray:
    """Allowed |theano - twin| for outputs ``f(sum_k x_k w_k + b)``.

    Each side's computed sum differs from the exact one by at most
    ``gamma_n * sum_k |x_k||w_k|`` (Higham, Accuracy and Stability, eq. 3.5), so the two
    differ by at most twice that; an elementwise ``f`` with Lipschitz constant L scales it.
    ``abs_dot`` is ``sum_k |x_k||w_k| (+ |b|)`` computed in float64.
    """
    return 2.0 * gamma(n_terms, dtype) * lipschitz * abs_dot
