"""Atomic file writes: a temporary file in the target's directory, then ``os.replace``.

A reader never sees a half-written model or report, and a failed write leaves the old file
(or none) in place. The file gets the usual ``0o666 & ~umask`` mode, not mkstemp's 0600.
"""
from __future__ import annotations

import os
from typing import IO, Any, Callable, Mapping

import numpy as np


def atomic_write(path: "os.PathLike[str] | str", write: Callable[[IO[Any]], None], binary: bool = True,
                 fsync: bool = False) -> None:
    """Call ``write(f)`` on a temporary file beside ``path``, then move it over ``path``."""
    import tempfile  # here, not at module level: it pulls in shutil, bz2 and lzma, which loading
    # a model (io imports this module) never needs (start-up)

    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb" if binary else "w") as f:
            write(f)
            if fsync:
                f.flush()
                os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_write_text(path: "os.PathLike[str] | str", text: str) -> None:
    atomic_write(path, lambda f: f.write(text), binary=False)


def atomic_savez(path: "os.PathLike[str] | str", arrays: Mapping[str, np.ndarray], fsync: bool = False) -> None:
    """``np.savez`` of ``arrays`` written atomically."""
    atomic_write(path, lambda f: np.savez(f, **arrays), fsync=fsync)
