#!/usr/bin/env bash
# numpy-2 runtime check: exported zoo models load and match Theano under numpy>=2, no Theano.
#
#   scripts/np2_check.sh            # uses .venv (Theano env) and .venv-np2 (created if missing)
#
# Environment: PYTHON (Theano env python, default .venv/bin/python), NP2_VENV (default .venv-np2),
# BASE_PYTHON (interpreter that creates NP2_VENV, default python3), TWINS_NP2_REFS (reference
# directory, default a fresh temporary directory), ZOO_MODELS (space-separated subset).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-.venv/bin/python}
NP2_VENV=${NP2_VENV:-.venv-np2}
BASE_PYTHON=${BASE_PYTHON:-python3}
REFS=${TWINS_NP2_REFS:-$(mktemp -d "${TMPDIR:-/tmp}/twins-np2.XXXXXX")}

if [ ! -x "$NP2_VENV/bin/python" ]; then
    "$BASE_PYTHON" -m venv "$NP2_VENV"
    "$NP2_VENV/bin/pip" install --quiet 'numpy>=2' pytest
fi
# setuptools builds the package below without build isolation (no download on every run)
"$NP2_VENV/bin/python" -c 'import setuptools, wheel' 2>/dev/null || "$NP2_VENV/bin/pip" install --quiet 'setuptools>=61' wheel

# 1. Theano environment: gate every zoo model and write the reference outputs
# shellcheck disable=SC2086
"$PYTHON" scripts/np2_write_refs.py "$REFS" ${ZOO_MODELS:-}
# ... and the Keras 1.2.2 and 2.3.1 models converted at graph level, with Keras's own predictions
#    (one process each: both are the package `keras`; Keras 2.3.1 is in .keras2, see the Makefile)
"$PYTHON" scripts/np2_write_keras_refs.py "$REFS/keras"
"$PYTHON" scripts/np2_write_keras_refs.py --keras2 "$REFS/keras2"

# 2. numpy-2 environment: only layers_np importable. The checkout is kept off sys.path (its
#    egg-info would load the `twins` pytest plugin, which needs hypothesis): pytest runs from a
#    directory holding just a link to layers_np; --confcutdir keeps tests/conftest.py out.
ROOT=$PWD
REFS=$(cd "$REFS" && pwd)
case "$NP2_VENV" in /*) NP2_PYTEST="$NP2_VENV/bin/pytest" ;; *) NP2_PYTEST="$ROOT/$NP2_VENV/bin/pytest" ;; esac
RUNTIME=$(mktemp -d "${TMPDIR:-/tmp}/twins-np2-path.XXXXXX")
trap 'rm -rf "$RUNTIME"' EXIT
ln -s "$ROOT/layers_np" "$RUNTIME/layers_np"

# 3. the package as a user installs it (no extras: numpy is its only dependency), built from a
#    copy of the sources so the checkout gets no build/ or egg-info; tests/np2_runtime/
#    test_installed_runtime.py then runs a user's pytest session (the `twins` plugin loads through
#    its entry point and must stay inert), a prediction, and `twins --help` in that environment.
SRC="$RUNTIME/src"
mkdir -p "$SRC"
cp -R pyproject.toml README.md layers_np layers_theano harness "$SRC"/
find "$SRC" -name __pycache__ -prune -exec rm -rf {} +
"$NP2_VENV/bin/pip" install --quiet --no-build-isolation --no-deps --force-reinstall "$SRC"
"$NP2_VENV/bin/pip" check  # its one dependency, numpy, is satisfied by numpy 2
cd "$RUNTIME"
TWINS_NP2_REFS="$REFS" TWINS_REQUIRE_NUMPY2=1 TWINS_NP2_INSTALLED=1 PYTHONPATH="$RUNTIME" \
    "$NP2_PYTEST" -q -p no:cacheprovider -p no:twins -W error::DeprecationWarning --rootdir="$ROOT" \
    --confcutdir="$ROOT/tests/np2_runtime" "$ROOT/tests/np2_runtime"
