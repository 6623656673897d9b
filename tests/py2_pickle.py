"""Write pickles opcode by opcode, as Python 2.7 with numpy 1.x wrote them (numpy only).

Python 3's ``pickle.dumps`` cannot write a Python 2 ``str`` (it writes ``bytes`` through
``_codecs.encode`` at protocols 0-2), and its numpy writes numpy 1 or numpy 2 names depending on
the installed numpy. This module assembles the opcodes itself (names from :mod:`pickletools`):

* a Python 2 ``str`` (:class:`Str`) is ``STRING`` (protocol 0, ``S'...'`` with Python 2 escapes),
  ``SHORT_BINSTRING`` or ``BINSTRING`` (protocol 2); ``unicode`` (a Python 3 ``str``) is
  ``UNICODE`` or ``BINUNICODE``; a Python 2 ``long`` is ``LONG``/``LONG1``;
* an ndarray is ``GLOBAL 'numpy.core.multiarray\\n_reconstruct'``, ``(GLOBAL 'numpy\\nndarray',
  (0,), 'b')``, ``REDUCE``, then ``BUILD`` with ``(1, shape, dtype, is_fortran, data-as-str)``;
  a dtype is ``GLOBAL 'numpy\\ndtype'``, ``('f4', 0, 1)``, ``REDUCE``, ``BUILD`` with
  ``(3, '<', None, None, None, -1, -1, 0)``; a numpy scalar is ``GLOBAL
  'numpy.core.multiarray\\nscalar'`` on ``(dtype, data-as-str)``;
* ``numpy2=True`` writes the numpy 2 module names (``numpy._core.multiarray``);
* :class:`Call` writes ``GLOBAL module\\nname``, its arguments and ``REDUCE`` (a ``__reduce__``
  result: how a malicious pickle names ``os.system``); :class:`Gpu` wraps an array the way
  Theano's ``CudaNdarray``/``GpuArray`` picklers did.

Memo ``PUT``s follow each container and global as Python 2 wrote them.
"""
from __future__ import annotations

import struct
from typing import Any, List

import numpy as np

__all__ = ["Str", "Long", "Call", "Gpu", "Persistent", "dumps", "npy_bytes"]


class Str(bytes):
    """A Python 2 ``str``: bytes written with STRING/BINSTRING, read back as latin-1 text."""


class Long(int):
    """A Python 2 ``long``."""


class Call:
    """``module.name(*args)``: GLOBAL, the argument tuple, REDUCE; then BUILD ``state`` if given."""

    def __init__(self, module: str, name: str, args: tuple = (), state: Any = None) -> None:
        self.module, self.name, self.args, self.state = module, name, args, state


GPU_NAMES = {
    "cuda": ("theano.sandbox.cuda.type", "CudaNdarray_unpickler"),   # Theano's old back-end (copyreg)
    "cuda_ndarray": ("cuda_ndarray.cuda_ndarray", "CudaNdarray"),    # the type itself, called on the array
    "gpuarray": ("theano.gpuarray.type", "GpuArray_unpickler"),      # Theano 0.9-1.0
    "sandbox_gpuarray": ("theano.sandbox.gpuarray.type", "GpuArray_unpickler"),  # Theano 0.7-0.8
}


class Gpu:
    """An array as Theano pickled a GPU array: ``CudaNdarray_unpickler(npa)`` or
    ``GpuArray_unpickler(npa, context_name)`` (``kind`` is a key of :data:`GPU_NAMES`)."""

    def __init__(self, array: np.ndarray, kind: str = "cuda", context: Any = None) -> None:
        self.array, self.kind, self.context = array, kind, context


class Persistent:
    """A persistent id (``theano.misc.pkl_utils`` refers to zip members with ``ndarray.NAME``)."""

    def __init__(self, pid: str) -> None:
        self.pid = pid


def _py2_repr(data: bytes) -> bytes:
    """Python 2's ``repr`` of a ``str``: what protocol 0 writes after ``S``."""
    out = []
    for b in data:
        if b == 0x5C:
            out.append(b"\\\\")
        elif b == 0x27:
            out.append(b"\\'")
        elif b in (0x09, 0x0A, 0x0D):
            out.append({0x09: b"\\t", 0x0A: b"\\n", 0x0D: b"\\r"}[b])
        elif 32 <= b < 127:
            out.append(bytes([b]))
        else:
            out.append(b"\\x%02x" % b)
    return b"'" + b"".join(out) + b"'"


_NDARRAY = object()


class _Writer:
    def __init__(self, proto: int, numpy2: bool) -> None:
        self.proto, self.numpy2 = proto, numpy2
        self.out: List[bytes] = []
        self.memo = 0

    def w(self, *parts: bytes) -> None:
        self.out.extend(parts)

    def put(self) -> None:
        if self.proto == 0:
            self.w(b"p%d\n" % self.memo)
        elif self.memo < 256:
            self.w(b"q", bytes([self.memo]))
        else:
            self.w(b"r", struct.pack("<I", self.memo))
        self.memo += 1

    def glob(self, module: str, name: str) -> None:
        self.w(b"c", module.encode(), b"\n", name.encode(), b"\n")
        self.put()

    def tuple_(self, items: tuple) -> None:
        if self.proto >= 2 and len(items) == 0:
            self.w(b")")
            return
        if self.proto >= 2 and len(items) <= 3:
            for item in items:
                self.dump(item)
            self.w({1: b"\x85", 2: b"\x86", 3: b"\x87"}[len(items)])
        else:
            self.w(b"(")
            for item in items:
                self.dump(item)
            self.w(b"t")
        self.put()

    def core(self, module: str) -> str:
        return ("numpy._core." if self.numpy2 else "numpy.core.") + module

    def dtype(self, dtype: np.dtype) -> None:
        self.glob("numpy", "dtype")
        code = dtype.str[1:] if dtype.kind != "b" else "b1"
        self.tuple_((Str(code.encode()), 0, 1))
        self.w(b"R")
        self.put()
        order = "|" if dtype.itemsize == 1 else dtype.str[0]
        self.tuple_((3, Str(order.encode()), None, None, None, -1, -1, 0))
        self.w(b"b")

    def array(self, arr: np.ndarray) -> None:
        self.glob(self.core("multiarray"), "_reconstruct")
        self.tuple_((_NDARRAY, (0,), Str(b"b")))
        self.w(b"R")
        self.put()
        fortran = bool(arr.flags.f_contiguous and not arr.flags.c_contiguous)
        data = (arr.T if fortran else arr).tobytes()
        self.tuple_((1, tuple(Long(d) for d in arr.shape), arr.dtype, fortran, Str(data)))
        self.w(b"b")

    def dump(self, obj: Any) -> None:
        p = self.proto
        if obj is _NDARRAY:
            self.glob("numpy", "ndarray")
        elif isinstance(obj, np.generic):  # before float: np.float64 is a float
            self.glob(self.core("multiarray"), "scalar")
            self.tuple_((obj.dtype, Str(obj.tobytes())))
            self.w(b"R")
            self.put()
        elif obj is None:
            self.w(b"N")
        elif isinstance(obj, bool):
            self.w((b"\x88" if obj else b"\x89") if p >= 2 else (b"I01\n" if obj else b"I00\n"))
        elif isinstance(obj, Long):
            if p >= 2:
                n = int(obj)
                raw = n.to_bytes((n.bit_length() + 8) // 8, "little", signed=True) if n else b""
                self.w(b"\x8a", bytes([len(raw)]), raw)
            else:
                self.w(b"L%dL\n" % int(obj))
        elif isinstance(obj, int):
            if p >= 2 and 0 <= obj < 256:
                self.w(b"K", bytes([obj]))
            elif p >= 2:
                self.w(b"J", struct.pack("<i", obj))
            else:
                self.w(b"I%d\n" % obj)
        elif isinstance(obj, float):
            self.w(b"G" + struct.pack(">d", obj) if p >= 2 else b"F" + repr(obj).encode() + b"\n")
        elif isinstance(obj, Str):
            if p == 0:
                self.w(b"S", _py2_repr(bytes(obj)), b"\n")
            elif len(obj) < 256:
                self.w(b"U", bytes([len(obj)]), bytes(obj))
            else:
                self.w(b"T", struct.pack("<i", len(obj)), bytes(obj))
            self.put()
        elif isinstance(obj, str):
            if p == 0:
                self.w(b"V", obj.encode("raw-unicode-escape"), b"\n")
            else:
                raw = obj.encode("utf-8")
                self.w(b"X", struct.pack("<I", len(raw)), raw)
            self.put()
        elif isinstance(obj, tuple):
            self.tuple_(obj)
        elif isinstance(obj, list):
            if p >= 2:
                self.w(b"]")
                self.put()
                if obj:
                    self.w(b"(")
                    for item in obj:
                        self.dump(item)
                    self.w(b"e")
            else:
                self.w(b"(l")
                self.put()
                for item in obj:
                    self.dump(item)
                    self.w(b"a")
        elif isinstance(obj, dict):
            if p >= 2:
                self.w(b"}")
                self.put()
                if obj:
                    self.w(b"(")
                    for k, v in obj.items():
                        self.dump(k)
                        self.dump(v)
                    self.w(b"u")
            else:
                self.w(b"(d")
                self.put()
                for k, v in obj.items():
                    self.dump(k)
                    self.dump(v)
                    self.w(b"s")
        elif isinstance(obj, np.ndarray):
            self.array(obj)
        elif isinstance(obj, np.dtype):
            self.dtype(obj)
        elif isinstance(obj, Gpu):
            module, name = GPU_NAMES[obj.kind]
            self.glob(module, name)
            self.tuple_((obj.array,) if "cuda" in obj.kind else (obj.array, obj.context))
            self.w(b"R")
            self.put()
        elif isinstance(obj, Call):
            self.glob(obj.module, obj.name)
            self.tuple_(tuple(obj.args))
            self.w(b"R")
            self.put()
            if obj.state is not None:
                self.dump(obj.state)
                self.w(b"b")
        elif isinstance(obj, Persistent):
            if p == 0:
                self.w(b"P", obj.pid.encode(), b"\n")
            else:
                self.dump(Str(obj.pid.encode()))
                self.w(b"Q")
        else:
            raise TypeError(f"cannot write a {type(obj).__name__}")


def dumps(obj: Any, protocol: int = 2, numpy2: bool = False) -> bytes:
    """``obj`` pickled as Python 2.7 would have (``protocol`` 0 or 2), opcode by opcode."""
    if protocol not in (0, 2):
        raise ValueError("Python 2 pickles here are protocol 0 or 2")
    writer = _Writer(protocol, numpy2)
    if protocol == 2:
        writer.w(b"\x80\x02")
    writer.dump(obj)
    writer.w(b".")
    return b"".join(writer.out)


def npy_bytes(arr: np.ndarray) -> bytes:
    """The ``.npy`` file of ``arr`` (what ``np.lib.format.write_array`` writes; pkl_utils members)."""
    import io

    buf = io.BytesIO()
    np.lib.format.write_array(buf, arr, allow_pickle=False)
    return buf.getvalue()
