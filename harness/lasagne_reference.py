"""Certify a twin against a *real* Lasagne network's own graph (``twins gate`` on a Lasagne factory).

The gate converts the Lasagne network with ``layers_theano.from_lasagne`` and certifies the twin
layer by layer against the converted layers_theano network as for any factory; this module adds,
on the same fuzzed batches, the twin's output of every layer against the output Lasagne itself
computes for that layer (its ``get_output``, compiled through the theano shim). A layer is
certified only if it matches both.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .compare import compare_arrays
from .network import NetworkError, fuzz_inputs


def add_lasagne_comparisons(report: Any, reference: Any, twin: Any, theano_net: Any, n_batches: int,
                            batch_size: int, seed: int) -> None:
    """Add "twin vs Lasagne" comparisons to every row of ``report`` (a NetworkReport) and update ``ok``.

    ``theano_net`` (the converted network) only supplies the input declarations, so the batches
    are the fuzzed ones ``certify_network`` drew with the same seed.
    """
    import layers_np as L
    from layers_theano.lasagne_bridge import lasagne_layer_outputs

    from .tolerance import default_tolerance

    twin_layers = L.get_all_layers(twin)
    inputs = [l for l in twin_layers if isinstance(l, L.InputLayer)]
    computed = [l for l in twin_layers if not isinstance(l, L.InputLayer)]
    if len(computed) != len(report.rows):
        raise NetworkError(f"the twin has {len(computed)} computed layers, the Lasagne network {len(report.rows)}")
    tol = default_tolerance(report.dtype)
    rng = np.random.default_rng(seed)
    for b in range(n_batches):
        batch = fuzz_inputs(theano_net, rng, batch_size)
        reference_out = lasagne_layer_outputs(reference, batch)
        with np.errstate(all="ignore"):
            twin_out = L.get_output(computed, dict(zip(inputs, batch)))
        for row, ref, out in zip(report.rows, reference_out, twin_out):
            c = compare_arrays(ref, np.asarray(out), tol)
            if not c.ok:
                c.reason = f"against Lasagne's own graph: {c.reason}"
            row.add(c, c, b)
    report.ok = all(r.ok for r in report.rows)
