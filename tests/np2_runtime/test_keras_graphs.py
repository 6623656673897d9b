"""numpy-only runtime: Keras 1.2.2 and 2.3.1 models converted at graph level load and predict what Keras did.

Runs in the numpy>=2 environment of ``scripts/np2_check.sh`` (only ``layers_np`` importable);
``scripts/np2_write_keras_refs.py`` wrote the certified graph files and Keras's own ``predict``
outputs into ``$TWINS_NP2_REFS/keras`` (Keras 1.2.2) and ``$TWINS_NP2_REFS/keras2`` (Keras 2.3.1).
Without ``TWINS_NP2_REFS`` the module is skipped.
"""
from __future__ import annotations

import json
import os
import sys

import numpy as np
import pytest

REFS = os.environ.get("TWINS_NP2_REFS")
if not REFS:
    pytest.skip("TWINS_NP2_REFS is not set: run scripts/np2_check.sh (numpy-2 runtime check)", allow_module_level=True)

from layers_np.base import TwinError  # noqa: E402
from layers_np.graph import load_graph  # noqa: E402

#: reference directory -> (Keras version, model names) written there
EXPECTED = {"keras": ("1.2.2", ["keras_cnn", "keras_text_rnn", "keras_merge"]),
            "keras2": ("2.3.1", ["keras2_cnn", "keras2_text_rnn", "keras2_merge"])}


def _manifest(sub):
    path = os.path.join(REFS, sub, "manifest.json")
    return json.load(open(path)) if os.path.exists(path) else None


MODELS = [(sub, m) for sub in EXPECTED for m in (_manifest(sub) or {"models": []})["models"]]


@pytest.mark.parametrize("sub", list(EXPECTED))
def test_keras_manifest_lists_the_three_models(sub):
    manifest = _manifest(sub)
    assert manifest is not None, f"{REFS}/{sub}/manifest.json is missing: run scripts/np2_write_keras_refs.py first"
    assert manifest["keras"] == EXPECTED[sub][0]
    assert [m["name"] for m in manifest["models"]] == EXPECTED[sub][1]


@pytest.mark.parametrize("sub,entry", MODELS, ids=[m["name"] for _, m in MODELS])
def test_keras_graph_model_matches_keras_predict(sub, entry):
    folder = os.path.join(REFS, sub)
    model = load_graph(os.path.join(folder, entry["file"]))
    assert model.certification["verdict"] == "certified"
    with np.load(os.path.join(folder, entry["reference"]), allow_pickle=False) as f:
        refs = {k: f[k] for k in f.files}
    assert [e["name"] for e in model.inputs] == entry["inputs"]
    xs = [refs[f"input:{n}"] for n in entry["inputs"]]
    out = model(*xs)
    want = refs["output"]
    assert out.dtype == want.dtype == np.dtype(entry["dtype"])
    assert out.shape == want.shape
    np.testing.assert_allclose(out, want, rtol=entry["rtol"], atol=entry["atol"],
                               err_msg=f"{entry['name']}: numpy {np.__version__} graph runtime vs Keras predict")
    if entry["name"].endswith("_text_rnn"):
        assert "Scan" in model.node_ops
        # a token id outside the embedding table is refused in one line, not wrapped around
        bad = xs[0].copy()
        bad[0, 0] = 10_000
        with pytest.raises(TwinError, match="out of bounds"):
            model(bad)
    for forbidden in ("pytensor", "theano", "keras", "layers_theano", "harness"):
        assert forbidden not in sys.modules, f"{forbidden} was imported by the numpy-only runtime"
