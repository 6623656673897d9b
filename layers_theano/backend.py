"""The one module that imports PyTensor (Theano's lineage, version 2.8.11).

Why each step is here:

* ``floatX``: Theano users set it in ``THEANO_FLAGS``; it is copied into ``PYTENSOR_FLAGS``
  (THEANO_FLAGS wins when both set it), so ``THEANO_FLAGS=floatX=float32`` builds float32 networks.
* ``blas__ldflags``: PyTensor 2.8 asks ``numpy.__config__.get_info`` for BLAS flags, which
  numpy 1.26 no longer has; an empty value makes it call numpy's BLAS through the C-API.
  A value the user already put in PYTENSOR_FLAGS wins.
* scan's Cython extension does not compile on Python 3.11; marking the module missing
  before first use makes scan take its Python loop instead of failing to build.
* ``tensor.nnet`` and ``tensor.signal`` warn on import that they are deprecated; they are
  exactly the Theano ops we need, so the warnings are silenced here and nowhere else.

Every Theano-side layer takes ``T``, ``function``, ``shared``, ``scan`` and ``config`` from here.
"""
from __future__ import annotations

import logging
import os
import sys
import warnings



def _flag(text: str, name: str) -> "str | None":
    """The value of flag ``name`` in a Theano/PyTensor flags string (the last one wins, as there)."""
    value = None
    for item in text.split(","):
        key, sep, val = item.partition("=")
        if sep and key.strip() == name:
            value = val.strip()
    return value


# floatX: THEANO_FLAGS is honoured like PYTENSOR_FLAGS, and wins when both set it (a Theano user's
# variable, the one theano_compat.enable applies too); FLOATX_FROM_FLAGS records an explicit
# choice, so a network built for Lasagne weights takes the weights' dtype only without one.
FLOATX_FROM_FLAGS = _flag(os.environ.get("THEANO_FLAGS", ""), "floatX") or _flag(os.environ.get("PYTENSOR_FLAGS", ""), "floatX")
_flags = os.environ.get("PYTENSOR_FLAGS", "")
_theano_floatx = _flag(os.environ.get("THEANO_FLAGS", ""), "floatX")
if _theano_floatx is not None:
    _flags = ",".join(f for f in (_flags, f"floatX={_theano_floatx}") if f)
if "blas__ldflags" not in _flags and "blas.ldflags" not in _flags:
    _flags = ",".join(f for f in (_flags, "blas__ldflags=") if f)
os.environ["PYTENSOR_FLAGS"] = _flags

if "pytensor.scan.scan_perform_ext" not in sys.modules:
    sys.modules["pytensor.scan.scan_perform_ext"] = None  # type: ignore[assignment]

# "Using NumPy C-API based implementation for BLAS functions" is the expected outcome
# of the flag above, not news.
logging.getLogger("pytensor.tensor.blas").setLevel(logging.ERROR)

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    warnings.simplefilter("ignore", FutureWarning)
    warnings.simplefilter("ignore", UserWarning)
    import pytensor
    import pytensor.tensor as T
    from pytensor import config, function, shared
    from pytensor.scan import scan
    from pytensor.tensor import nnet
    from pytensor.tensor.signal import pool

warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"pytensor(\.|$)")
warnings.filterwarnings("ignore", message=r".*pytensor\.tensor\.(nnet|signal).*")

__version__ = pytensor.__version__
__all__ = ["T", "function", "shared", "scan", "config", "nnet", "pool", "pytensor", "clone_replace", "FLOATX_FROM_FLAGS",
           "EXCLUDED_REWRITES"]

# Rewrites left out wherever a whole network's graph is rewritten (graph conversion, and the harness's
# network compiles through harness.execute.network_mode). PyTensor 2.8.11's canonicalisation
# ``local_merge_switch_same_cond`` rewrites op(switch(c, a, b), switch(c, x, y), ...) into
# switch(c, op(a, x, ...), op(b, y, ...)). ``Join.infer_shape`` gives a concatenation's non-joined sizes
# as switch(eq(dim, join_axis), sum of the inputs' sizes, first input's size); once a Reshape/Alloc pulls
# that shape graph in during canonicalisation, the rewrite may reach the adds before ``eq(dim,
# join_axis)`` is constant-folded, and every chained n-input concatenation multiplies the terms by n:
# GoogLeNet's nine 4-way inception modules grow an int64 add of 4**8 = 65536 inputs; its all-layer-outputs
# compile did not end in 40 minutes and its graph conversion (output only) not in 15 (a variable of
# over 400,000 clients). Leaving it out changes no value: the rewrite is exact elementwise (the same
# scalar op on the values the switch selects); with every layer output compiled it fires on none of
# the zoo's and Recipes' other networks except CaffeNet's integer shape graph (3 times), where sums of
# sizes are exact either way.
EXCLUDED_REWRITES = ("local_merge_switch_same_cond",)

from pytensor import clone_replace  # noqa: E402
