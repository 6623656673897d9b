"""Which Lasagne release's arithmetic a layer reproduces (the ``semantics`` option).

Lasagne 0.1 (the release on the package registry) and Lasagne master compute different things
in a few layers, and a model must run with the semantics it was trained with. Every layer
where they differ takes a keyword-only ``semantics='master'`` argument: it is the one
deliberate extension of Lasagne's signatures, it is recorded in model files like every other
constructor argument, and both sides (numpy and Theano) honour it. The differences, found by
reading both releases' sources (docs/lasagne-versions.md lists every one, including those
that change no value):

* ``LSTMLayer`` with peepholes: 0.1 applies the output gate's nonlinearity *before* adding the
  peephole term, ``o = s(x W_o + h U_o + b_o) + c_t * w_co``; master adds it inside,
  ``o = s(x W_o + h U_o + b_o + c_t * w_co)``.
* masks in ``CustomRecurrentLayer``, ``RecurrentLayer``, ``LSTMLayer``, ``GRULayer``: 0.1 blends,
  ``h = h_new * m + h_prev * (1 - m)``; master selects, ``h = m ? h_new : h_prev``. Equal for
  0/1 masks and finite states; a fractional mask interpolates under 0.1, and a NaN or inf in a
  masked-out step's new state leaks into the output under 0.1 (``nan * 0``).

Pure Python; both sides import it from here.
"""
from __future__ import annotations

from typing import Tuple

#: The accepted values, the default first.
SEMANTICS: Tuple[str, ...] = ("master", "0.1")
DEFAULT = SEMANTICS[0]

#: Lasagne ``__version__`` strings and the semantics they compute. 0.1 is the only release;
#: master has called itself 0.2.dev1 since then.
_BY_VERSION = {"0.1": "0.1", "0.2.dev1": "master"}


def check_semantics(label: str, value: object) -> str:
    """``value`` if it names known semantics, else a ValueError naming the layer and the choices."""
    if not isinstance(value, str) or value not in SEMANTICS:
        raise ValueError(f"{label}: semantics must be one of {', '.join(map(repr, SEMANTICS))}, got {value!r}")
    return value


def semantics_of_lasagne(version: str) -> str:
    """The semantics of an installed Lasagne, from its ``__version__``.

    Raises
    ------
    ValueError
        For a version whose arithmetic has not been compared with master's.
    """
    try:
        return _BY_VERSION[version]
    except KeyError:
        raise ValueError(f"Lasagne {version!r}: unknown release (known: {', '.join(sorted(_BY_VERSION))})") from None
