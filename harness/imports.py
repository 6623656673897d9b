"""Importing the user's code named on a command line, as ``python -m`` would.

``twins gate mynet:build`` and ``twins certify --pairs-module my_pairs`` run from a console
script, whose ``sys.path[0]`` is the script's directory, not the current one; Python users expect
``python -m``'s rule instead: the current directory first. ``path/to/file.py`` names a file.
Standard library only, so the numpy-only install can import it.
"""
from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from types import ModuleType


class UserImportError(ImportError):
    """The user's module (not one of its dependencies) cannot be found; the message says where it looked."""


def current_directory_first() -> None:
    """Put the current directory at the front of ``sys.path`` as ``python -m`` does (idempotent)."""
    cwd = os.getcwd()
    if "" not in sys.path and cwd not in sys.path:
        sys.path.insert(0, cwd)


def is_file_spec(name: str) -> bool:
    """``name`` names a Python file (``x.py``, ``dir/x``) rather than a dotted module."""
    return name.endswith(".py") or os.sep in name or (os.altsep is not None and os.altsep in name)


def import_user_module(name: str) -> ModuleType:
    """Import ``name``: a dotted module (current directory first) or a ``.py`` file path.

    Raises
    ------
    UserImportError
        When the module or file itself does not exist (a missing dependency of the module
        raises its own ImportError, unchanged, so its message names the real culprit).
    """
    if is_file_spec(name):
        path = os.path.abspath(name)
        if not os.path.isfile(path):
            raise UserImportError(f"no such file: {name}")
        module_name = "_twins_user_" + os.path.splitext(os.path.basename(path))[0]
        spec = importlib.util.spec_from_file_location(module_name, path)
        if spec is None or spec.loader is None:
            raise UserImportError(f"cannot import {name}: not a Python file")
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            sys.modules.pop(module_name, None)
            raise
        return module
    current_directory_first()
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name and (name == exc.name or name.startswith(exc.name + ".")):
            raise UserImportError(f"cannot import {name!r}: no module named {name!r} in the current directory ({os.getcwd()}) or on "
                                  "sys.path; run twins from the directory that holds it, or give its file "
                                  "path (path/to/module.py)") from None
        raise
