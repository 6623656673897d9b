"""numpy-only runtime: exported zoo models load and match Theano's reference outputs.

Runs in a second environment with numpy>=2 and only ``layers_np`` importable (no PyTensor,
hypothesis, pandas). ``scripts/np2_check.sh`` writes the models and references with the
Theano environment (``scripts/np2_write_refs.py``) into ``$TWINS_NP2_REFS`` and runs this
file there; with ``TWINS_REQUIRE_NUMPY2=1`` it also insists on numpy 2.

Without ``TWINS_NP2_REFS`` the module is skipped, with that reason shown.
"""
from __future__ import annotations

import json
import os
import shutil
import sys

import numpy as np
import pytest

REFS = os.environ.get("TWINS_NP2_REFS")
if not REFS:
    pytest.skip("TWINS_NP2_REFS is not set: run scripts/np2_check.sh (numpy-2 runtime check)", allow_module_level=True)

import layers_np as L  # noqa: E402
from layers_np import io as mio  # noqa: E402

MANIFEST_PATH = os.path.join(REFS, "manifest.json")


def _manifest():
    with open(MANIFEST_PATH) as f:
        return json.load(f)


MODELS = _manifest()["models"] if os.path.exists(MANIFEST_PATH) else []


def test_manifest_lists_models():
    assert os.path.exists(MANIFEST_PATH), f"{MANIFEST_PATH} is missing: run scripts/np2_write_refs.py first"
    assert MODELS, "no models in the manifest"


def test_environment_is_numpy_only():
    if os.environ.get("TWINS_REQUIRE_NUMPY2") == "1":
        assert int(np.__version__.split(".")[0]) >= 2, f"expected numpy>=2, running {np.__version__}"
    for forbidden in ("pytensor", "theano", "layers_theano", "harness", "hypothesis", "pandas"):
        assert forbidden not in sys.modules, f"{forbidden} was imported by the numpy-only runtime"


def _inputs(model, refs):
    layers = [l for l in L.get_all_layers(model) if isinstance(l, L.InputLayer)]
    return {l: refs[f"input:{l.name}"] for l in layers}


@pytest.mark.parametrize("entry", MODELS, ids=[m["name"] for m in MODELS])
def test_model_matches_theano_reference(entry):
    model = L.load(os.path.join(REFS, entry["file"]))
    with np.load(os.path.join(REFS, entry["reference"]), allow_pickle=False) as f:
        refs = {k: f[k] for k in f.files}
    out = L.get_output(model, _inputs(model, refs))
    want = refs["output"]
    assert out.dtype == want.dtype == np.dtype(entry["dtype"])
    assert out.shape == want.shape
    np.testing.assert_allclose(out, want, rtol=entry["rtol"], atol=entry["atol"],
                               err_msg=f"{entry['name']}: numpy {np.__version__} runtime vs Theano")
    assert mio.read_spec(os.path.join(REFS, entry["file"]))["certification"]["verdict"] == "certified"


GRAPHS = [m for m in MODELS if m.get("graph_file")]


@pytest.mark.parametrize("entry", GRAPHS, ids=[m["name"] for m in GRAPHS])
def test_graph_model_matches_theano_reference(entry):
    """The graph-level conversion (twins gate --graph) of the same network, run by this numpy."""
    from layers_np.graph import load_graph

    model = load_graph(os.path.join(REFS, entry["graph_file"]))
    with np.load(os.path.join(REFS, entry["reference"]), allow_pickle=False) as f:
        refs = {k: f[k] for k in f.files}
    out = model(*[refs[f"input:{e['name']}"] for e in model.inputs])
    want = refs["output"]
    assert out.dtype == want.dtype == np.dtype(entry["dtype"])
    assert out.shape == want.shape
    np.testing.assert_allclose(out, want, rtol=entry["rtol"], atol=entry["atol"],
                               err_msg=f"{entry['name']}: numpy {np.__version__} graph runtime vs Theano")
    assert model.certification["verdict"] == "certified"


@pytest.mark.parametrize("entry", MODELS[:1], ids=[m["name"] for m in MODELS[:1]])
def test_bad_inputs_and_files_under_this_numpy(tmp_path, entry):
    path = os.path.join(REFS, entry["file"])
    model = L.load(path)
    with np.load(os.path.join(REFS, entry["reference"]), allow_pickle=False) as f:
        refs = {k: f[k] for k in f.files}
    feed = _inputs(model, refs)
    layer, x = next(iter(feed.items()))
    if x.dtype.kind == "f":
        other = np.float64 if x.dtype == np.float32 else np.float32
        with pytest.raises(L.TwinError, match="dtype"):
            L.get_output(model, {**feed, layer: x.astype(other)})
    with pytest.raises(L.TwinError, match="shape"):
        L.get_output(model, {**feed, layer: x[..., None]})
    data = open(path, "rb").read()
    (tmp_path / "cut.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(mio.TruncatedFileError):
        L.load(tmp_path / "cut.npz")
    shutil.copy(path, tmp_path / "ok.npz")
    assert L.load(tmp_path / "ok.npz") is not None
