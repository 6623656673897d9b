"""Model pickles under numpy 2, numpy only: Python 2 files (numpy 1 names) and numpy 2 files read
by layers_np.safe_pickle, agreeing with numpy 2's own unpickler; a malicious one refused.

Runs in the numpy-2 environment of scripts/np2_check.sh (and in the Theano one)."""
from __future__ import annotations

import os
import pickle
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # tests/py2_pickle.py

import py2_pickle as P  # noqa: E402
from layers_np import safe_pickle as sp  # noqa: E402

RNG = np.random.RandomState(3)
VALUES = [RNG.randn(4, 3).astype("f4"), RNG.randn(3).astype("f4"), np.asfortranarray(RNG.randn(3, 2))]


@pytest.mark.parametrize("numpy2", [False, True], ids=["numpy1-names", "numpy2-names"])
@pytest.mark.parametrize("protocol", [0, 2])
def test_python2_pickles_under_this_numpy(protocol, numpy2):
    obj = {P.Str(b"values"): VALUES, P.Str(b"synset words"): [P.Str(b"a"), P.Str(b"b")],
           P.Str(b"mean image"): np.arange(12.0).reshape(3, 2, 2)}
    data = P.dumps(obj, protocol, numpy2=numpy2)
    model = sp.read_model_pickle(data)
    real = pickle.loads(data, encoding="latin1")  # this numpy's own reader (it runs the file: ours is benign)
    assert model.class_names == ["a", "b"] and np.array_equal(model.mean_image, real["mean image"])
    for got, want, orig in zip(model.values, real["values"], VALUES):
        assert got.dtype == want.dtype == orig.dtype and np.array_equal(got, want) and np.array_equal(got, orig)


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_this_numpys_pickles(protocol):
    obj = {"param values": VALUES, "mean value": np.float64(1.5)}
    model = sp.read_model_pickle(pickle.dumps(obj, protocol))
    for got, want in zip(model.values, VALUES):
        assert got.dtype == want.dtype and np.array_equal(got, want)
    assert model.mean_value == 1.5


def test_malicious_pickle_is_refused(tmp_path):
    marker = tmp_path / "marker"
    data = P.dumps([P.Call("os", "system", (P.Str(f"touch {marker}".encode()),))], 2)
    with pytest.raises(sp.UnsafePickleError, match="refused global os.system"):
        sp.load_pickle(data)
    assert not marker.exists()
