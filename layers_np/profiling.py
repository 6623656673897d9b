"""Where a call of the planned runtime spends its time, kernel by kernel (a diagnostic).

Kept apart from :mod:`layers_np._plan` (which runs the kernels and imports no layer module)
because it reads :func:`layers_np.base.get_output`'s cached plans.
"""
from __future__ import annotations

import time
from typing import Any, Callable, Dict, List, Optional

import numpy as np

from ._plan import thread_key
from .base import _INPUT, _get_plan, get_output

__all__ = ["profile_runtime"]


def _best_time(fn: Callable[[], Any], reps: int, setup: Optional[Callable[[], Any]] = None) -> float:
    """The fastest of ``reps`` timed calls of ``fn`` (``setup`` untimed before each): on a
    machine shared with other processes the uncontended time (a median there mixes in other
    processes' load)."""
    best = float("inf")
    for _ in range(max(1, reps)):
        if setup is not None:
            setup()
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def profile_runtime(layer_or_layers: Any, inputs: Any, reps: int = 5) -> List[Dict[str, Any]]:
    """Where a call of the planned runtime spends its time, kernel by kernel (a diagnostic).

    Runs ``get_output(layer_or_layers, inputs)`` once (building the runtime), then times each
    kernel on that call's values (fastest of ``reps``; a kernel that writes into its input,
    e.g. batch norm in place on a convolution's buffer, gets that input restored before each
    repetition, so it always times the same values) and, for kernels that make GEMMs, the
    same GEMMs called directly with numpy on arrays of the same shapes (``gemm_seconds``,
    ``np.dot``: the BLAS call the kernels make): ``gemm_seconds / seconds`` is the share of
    the kernel's time a bare GEMM would take.

    Returns
    -------
    list of dict
        One per layer: ``layer`` (label), ``cls``, ``kind`` (planned/generic), ``seconds``,
        ``gemm_seconds`` (None without GEMMs).
    """
    get_output(layer_or_layers, inputs)
    targets = list(layer_or_layers) if isinstance(layer_or_layers, (list, tuple)) else [layer_or_layers]
    mapping = isinstance(inputs, dict)
    plan = _get_plan(targets, list(inputs) if mapping else None)
    given = dict(inputs) if mapping else {plan.input_layer: inputs}
    arrays = [l.check_input(given[l]) if kind == _INPUT else given[l] for l, kind in plan.given_steps]
    key = (tuple((a.shape, a.dtype.str, a.flags.c_contiguous) for a in arrays), (), thread_key())
    rt = plan.runtimes[key]
    vals: List[Any] = [None] * rt.n_slots
    for slot, a in zip(rt.input_slots, arrays):
        vals[slot] = a
    rng = np.random.RandomState(0)
    rows = []
    with np.errstate(over="ignore", under="ignore"):
        for (fn, ins, o, _), (layer, kind, gemms) in zip(rt.steps, rt.kernels):
            args = [vals[i] for i in ins]
            saved = [a.copy() if isinstance(a, np.ndarray) else None for a in args]

            def restore() -> None:
                for a, s in zip(args, saved):
                    if s is not None:
                        np.copyto(a, s)
            vals[o] = fn(*args)
            seconds = _best_time(lambda: fn(*args), reps, restore)
            restore()
            vals[o] = fn(*args)  # the value the next kernels read, from the restored input
            gemm_s = None
            if gemms:
                gemm_s = 0.0
                for a_shape, b_shape, dt, count in gemms:
                    a = rng.standard_normal(a_shape).astype(dt)
                    b = rng.standard_normal(b_shape).astype(dt)
                    c = np.empty((a_shape[0], b_shape[1]), dt)
                    np.dot(a, b, c)
                    gemm_s += count * _best_time(lambda: np.dot(a, b, c), reps)
            label = f"{layer.name or type(layer).__name__} ({type(layer).__name__})"
            rows.append({"layer": label, "cls": type(layer).__name__, "kind": kind, "seconds": seconds,
                         "gemm_seconds": gemm_s})
    return rows
