"""The installed package under numpy 2 alone, as a user deploys it (``pip install theano-twins``).

``scripts/np2_check.sh`` installs the package (no extras) into the numpy-2 environment and sets
``TWINS_NP2_INSTALLED=1``. The user's own pytest session then loads the ``twins`` plugin through
its entry point; with hypothesis, pandas and PyTensor absent the plugin must be inert, the
session must pass, and ``twins --help`` must work. Skipped (reason shown) without that variable.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

REFS = os.environ.get("TWINS_NP2_REFS")
if os.environ.get("TWINS_NP2_INSTALLED") != "1" or not REFS:
    pytest.skip("TWINS_NP2_INSTALLED/TWINS_NP2_REFS not set: run scripts/np2_check.sh", allow_module_level=True)

BIN = os.path.dirname(sys.executable)


def _env():
    # the installed package only: nothing of the checkout on the path
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTEST_ADDOPTS")}
    return env


def _run(args, cwd):
    return subprocess.run(args, cwd=cwd, env=_env(), capture_output=True, text=True, timeout=300)


def test_the_environment_has_no_harness_dependencies(tmp_path):
    code = ("import importlib.util as u; print([m for m in ('hypothesis', 'pandas', 'pytensor', 'scipy') "
            "if u.find_spec(m)])")
    out = _run([sys.executable, "-c", code], tmp_path)
    assert out.returncode == 0 and out.stdout.strip() == "[]", out.stdout + out.stderr


def test_a_user_pytest_session_predicts_with_an_exported_model(tmp_path):
    with open(os.path.join(REFS, "manifest.json")) as f:
        entry = json.load(f)["models"][0]
    (tmp_path / "test_predict.py").write_text(textwrap.dedent(f'''
        import sys
        import numpy as np
        import layers_np as L

        def test_prediction_matches_theano():
            assert L.__file__.startswith({sys.prefix!r}), L.__file__  # the installed runtime
            model = L.load({os.path.join(REFS, entry["file"])!r})
            with np.load({os.path.join(REFS, entry["reference"])!r}) as f:
                refs = dict(f)
            inputs = {{l: refs["input:" + l.name] for l in L.get_all_layers(model) if isinstance(l, L.InputLayer)}}
            out = L.get_output(model, inputs)
            np.testing.assert_allclose(out, refs["output"], rtol={entry["rtol"]!r}, atol={entry["atol"]!r})
            assert "hypothesis" not in sys.modules and "pytensor" not in sys.modules
    '''))
    out = _run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rA"], tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "1 passed" in out.stdout and "twins" in _run([sys.executable, "-m", "pytest", "--help"], tmp_path).stdout


def test_twins_command_helps_and_names_the_missing_extra(tmp_path):
    twins = os.path.join(BIN, "twins")
    help_ = _run([twins, "--help"], tmp_path)
    assert help_.returncode == 0 and "certify" in help_.stdout, help_.stderr
    version = _run([twins, "--version"], tmp_path)
    assert version.returncode == 0 and version.stdout.startswith("twins (theano-twins) "), version.stderr
    certify = _run([twins, "certify"], tmp_path)
    lines = certify.stderr.strip().splitlines()
    assert certify.returncode == 2 and len(lines) == 1 and "pip install 'theano-twins[" in lines[0], certify.stderr
