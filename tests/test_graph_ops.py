"""Every numpy kernel of the graph runtime, certified against the PyTensor op it replaces (issue 14).

One combined graph per dtype (one PyTensor compilation), fuzzed with the ci profile."""
from __future__ import annotations

import numpy as np
import pytest

from harness.op_pairs import NOT_CASED, certify_op_cases, op_cases
from layers_np.graph import OPS, scalar_op_names
from layers_np.graph.ops import OpEntry


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_every_op_kernel_is_certified(dtype):
    result = certify_op_cases(dtype, "ci")
    assert result.ok, result.message
    assert result.examples >= 10  # the ci profile's examples, each a full batch through every node
    assert not result.missing
    uncovered = set(OPS) - set(result.ops)
    assert uncovered <= set(NOT_CASED), f"ops no case exercises: {sorted(uncovered - set(NOT_CASED))}"
    assert set(NOT_CASED) <= set(OPS)
    assert set(result.scalar_ops) == set(scalar_op_names()), sorted(set(scalar_op_names()) - set(result.scalar_ops))
    # the combined graph's nodes each got a row, and the report names them by op
    assert len(result.report.rows) >= sum(result.ops.values()) - result.ops.get("AllocEmpty", 0)


def test_a_wrong_kernel_is_caught_and_named(monkeypatch):
    """Pool's kernel replaced by one that forgets the padding: the pool case fails at a Pool node."""
    original = OPS["Pool"]

    def sloppy(attrs, info):
        right = original.factory(attrs, info)

        def run(x, ws, stride, pad):
            return right(x, ws, stride, np.zeros_like(pad))
        return run

    monkeypatch.setitem(OPS, "Pool", OpEntry("Pool", sloppy, original.inputs, original.outputs, original.attrs))
    case = [c for c in op_cases() if c.name == "pool"]
    result = certify_op_cases("float64", "dev", case)
    assert not result.ok
    bad = result.report.first_bad
    assert "Pool" in bad.cls and bad.verdict == "LOCAL", result.message
