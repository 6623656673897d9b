"""Read pretrained-model pickles (Python 2 or 3) with numpy only, executing nothing.

The published Lasagne models are pickles (``pickle.dump(d, f)`` under Python 2) of a dict
such as ``{'param values': [...], 'synset words': [...], 'mean value': ...}`` or of a bare list
of arrays. ``pickle.load`` would run whatever the file names; this module never does:

>>> from layers_np.safe_pickle import read_model_pickle
>>> model = read_model_pickle("vgg16.pkl")
>>> model.values, model.class_names, model.mean_value

How a file is read
------------------
1. The file (a regular file, bounded by :attr:`Limits.max_file_bytes`) is read into memory.
2. A scan with :func:`pickletools.genops` walks every opcode *before anything is unpickled*:
   every ``GLOBAL``/``INST``/``STACK_GLOBAL`` name must be on the allow-list below, else the
   file is refused naming the global (``os.system``, ``builtins.eval``, ``copy_reg._reconstructor``
   ...); extension codes and out-of-band buffers are refused; every length the file declares is
   checked against the bytes present; memo indices are bounded (the C unpickler sizes its memo
   by the largest index); the opcode count is bounded (:attr:`Limits.max_pickle_ops`); the
   pickle must end at the end of the file.
3. :class:`pickle.Unpickler` (subclassed: ``find_class`` is the same allow-list,
   ``persistent_load`` refuses unless reading a Theano ``pkl_utils`` zip) loads it with
   ``encoding='latin1'`` (Python 2 ``str`` holds array bytes). The allow-list maps each name to
   a stand-in written here, never to the real function: the stand-ins check their arguments
   (dtype strings, shapes, byte counts) and build arrays with :func:`numpy.frombuffer` only
   after ``shape x itemsize`` equals the bytes the file holds.
4. The result is rebuilt from plain containers (list, tuple, dict), numbers, strings, numpy
   arrays, dtypes and scalars, with the nesting depth bounded (:attr:`Limits.max_pickle_depth`);
   anything else is refused.

Memory: the file's bytes, plus transiently about twice the largest array (a Python 2 ``str``
and its bytes) and the arrays themselves: under four times the file size.

Allowed globals: numpy's array, dtype and scalar reconstructors under their numpy 1 and numpy 2
names (``numpy.core.multiarray._reconstruct``, ``numpy._core.multiarray._reconstruct``,
``numpy.ndarray``, ``numpy.dtype``, ``numpy.core.multiarray.scalar``, ``numpy.core.numeric._frombuffer``
and the ``numpy._core`` forms); ``_codecs.encode`` (how Python 3 writes ``bytes`` at protocol
0-2, latin-1 only), ``builtins.bytes()`` with no argument, ``collections.OrderedDict`` (made a
dict); and Theano's GPU array unpicklers, which are unwrapped to the numpy array they hold:
``theano.sandbox.cuda.type.CudaNdarray_unpickler``, ``cuda_ndarray.cuda_ndarray.CudaNdarray``,
``theano.gpuarray.type.GpuArray_unpickler`` and ``theano.sandbox.gpuarray.type.GpuArray_unpickler``.

Theano ``pkl_utils`` zips (``theano.misc.pkl_utils.dump``: a zip whose ``pkl`` member is a pickle
referring to arrays stored as ``.npy`` members through persistent ids ``ndarray.NAME`` and
``gpuarray.NAME``) are read through :class:`layers_np.safe_npz.NpzReader`: the ``pkl`` member goes
through the same restricted unpickler, each referenced member through the bounded ``.npy`` reader.

Every refusal is a :class:`layers_np.safe_npz.ModelFileError` subclass with a one-line reason.
"""
from __future__ import annotations

import dataclasses
import io as _io
import os
import pickle
import re
from typing import Any, Callable, Dict, List, Optional, Tuple, Union

import numpy as np

from .safe_npz import LimitExceededError, Limits, ModelFileError, NpzReader, TruncatedFileError, current_limits

__all__ = ["load_pickle", "read_model_pickle", "model_from_object", "PickledModel", "UnsafePickleError", "MalformedPickleError",
           "PickleLayoutError", "ALLOWED_GLOBALS", "is_pkl_utils_zip"]

Source = Union[str, "os.PathLike[str]", bytes, bytearray, memoryview]


class UnsafePickleError(ModelFileError):
    """The pickle names a global outside the allow-list, or uses an opcode that could run code."""


class MalformedPickleError(ModelFileError):
    """The pickle is not well formed, or an allowed constructor got arguments it does not accept."""


class PickleLayoutError(ModelFileError):
    """The pickle loaded safely but holds no recognised model layout."""


# ---------------------------------------------------------------------------
# the allow-list: (module, name) -> the stand-in method of _Context that replaces it
# ---------------------------------------------------------------------------
_NUMPY_CORES = ("numpy.core", "numpy._core")
ALLOWED_GLOBALS: Dict[Tuple[str, str], str] = {
    **{(f"{core}.{mod}", "_reconstruct"): "reconstruct" for core in _NUMPY_CORES
       for mod in ("multiarray", "_multiarray_umath")},
    **{(f"{core}.{mod}", "scalar"): "scalar" for core in _NUMPY_CORES for mod in ("multiarray", "_multiarray_umath")},
    **{(f"{core}.numeric", "_frombuffer"): "frombuffer" for core in _NUMPY_CORES},
    ("numpy", "ndarray"): "ndarray",
    ("numpy", "dtype"): "dtype",
    ("_codecs", "encode"): "codecs_encode",
    ("builtins", "bytes"): "empty_bytes",
    ("__builtin__", "bytes"): "empty_bytes",
    ("collections", "OrderedDict"): "ordered_dict",
    # Theano's GPU arrays pickle as (unpickler, (numpy array, ...)): the numpy array is kept
    ("theano.sandbox.cuda.type", "CudaNdarray_unpickler"): "gpu_array",
    ("cuda_ndarray.cuda_ndarray", "CudaNdarray"): "gpu_array",
    ("theano.gpuarray.type", "GpuArray_unpickler"): "gpu_array",
    ("theano.sandbox.gpuarray.type", "GpuArray_unpickler"): "gpu_array",
}

_MAX_NDIM = 32
_MAX_DIM = 1 << 48
_DTYPE_STR = re.compile(r"^([<>|=]?)([biufcSU])(\d*)$")
_STRING_OPS = {"STRING", "BINSTRING", "SHORT_BINSTRING", "UNICODE", "BINUNICODE", "SHORT_BINUNICODE",
               "BINUNICODE8"}
_PUT_OPS = {"PUT", "BINPUT", "LONG_BINPUT"}
_GET_OPS = {"GET", "BINGET", "LONG_BINGET"}


def _one_line(text: Any, n: int = 200) -> str:
    return " ".join(str(text).split())[:n]


def _refusal(module: str, name: str) -> str:
    what = f"{module}.{name}" if module else name
    hint = ""
    if module.split(".")[0] in ("theano", "lasagne", "pylearn2", "blocks"):
        hint = " (a Theano/Lasagne object: pickle lasagne.layers.get_all_param_values(net), a list of arrays)"
    return (f"refused global {_one_line(what, 120)}: a model pickle may only create numpy arrays, dtypes, scalars "
            f"and lists/tuples/dicts; nothing was executed{hint}")


class _NdarrayClass:
    """What ``numpy.ndarray`` unpickles to: only ``_reconstruct`` takes it."""


class _PendingDtype:
    """A dtype being unpickled: ``numpy.dtype(obj, align, copy)`` then BUILD with its state."""

    __slots__ = ("ctx", "kind", "size", "order", "dtype")

    def __init__(self, ctx: "_Context", kind: str, size: int, order: str) -> None:
        self.ctx, self.kind, self.size, self.order = ctx, kind, size, order
        # a string dtype's length may come only with its state (BUILD)
        self.dtype = None if kind in "SU" and not size else ctx.make_dtype(kind, size, order)

    def __setstate__(self, state: Any) -> None:
        ctx = self.ctx
        if not isinstance(state, tuple) or len(state) not in (7, 8, 9):
            raise ctx.bad(f"a dtype's state is a {type(state).__name__} of length {_len(state)}, not numpy's 7-9 tuple")
        order, subarray, names, fields, elsize = state[1:6]
        if subarray is not None or names is not None or fields is not None:
            raise ctx.bad("structured and sub-array dtypes are not accepted (plain numeric arrays only)")
        if len(state) == 9 and state[8] not in (None, {}):
            raise ctx.bad("dtype metadata is not accepted")
        if order not in ("<", ">", "|", "="):
            raise ctx.bad(f"a dtype's byte order is {_one_line(repr(order), 20)}")
        size = self.size
        if self.kind in "SU" and not size:
            if not isinstance(elsize, int) or not 0 < elsize <= (1 << 20):
                raise ctx.bad(f"a string dtype declares {_one_line(repr(elsize), 30)} bytes")
            size = elsize // 4 if self.kind == "U" else elsize
        self.order, self.size = order, size
        self.dtype = ctx.make_dtype(self.kind, size, order)


class _PendingArray:
    """An array being unpickled: ``_reconstruct(ndarray, (0,), 'b')`` then BUILD with its state."""

    __slots__ = ("ctx", "array")

    def __init__(self, ctx: "_Context") -> None:
        self.ctx = ctx
        self.array: Optional[np.ndarray] = None

    def __setstate__(self, state: Any) -> None:
        ctx = self.ctx
        if isinstance(state, tuple) and len(state) == 5:
            state = state[1:]  # (version, shape, dtype, is_fortran, data)
        if not isinstance(state, tuple) or len(state) != 4:
            raise ctx.bad(f"an array's state is a {type(state).__name__} of length {_len(state)}, not numpy's "
                          f"(version, shape, dtype, fortran, data)")
        shape, dtype, fortran, data = state
        if fortran not in (0, 1):  # False/True, or Python 2's 0/1
            raise ctx.bad(f"an array's fortran flag is {_one_line(repr(fortran), 30)}")
        self.array = ctx.array(data, dtype, shape, "F" if fortran else "C")


class _PendingScalar:
    """A numpy scalar made by ``scalar(dtype, data)``: a BUILD on it is refused (numpy's own
    ``generic.__setstate__`` is never reached from the file)."""

    __slots__ = ("ctx", "value")

    def __init__(self, ctx: "_Context", value: Any) -> None:
        self.ctx, self.value = ctx, value

    def __setstate__(self, state: Any) -> None:
        raise self.ctx.bad("a numpy scalar was given a state (BUILD)")


def _len(value: Any) -> Any:
    return len(value) if isinstance(value, (tuple, list)) else "-"


class _Context:
    """The stand-ins of one load: they know the file's label and limits."""

    def __init__(self, label: str, limits: Limits) -> None:
        self.label, self.limits = label, limits

    def bad(self, what: str) -> MalformedPickleError:
        return MalformedPickleError(self.label, what)

    # -- pieces ----------------------------------------------------------------
    def text(self, value: Any, what: str) -> str:
        if isinstance(value, (bytes, bytearray)):
            value = bytes(value).decode("latin1")
        if not isinstance(value, str):
            raise self.bad(f"{what} is a {type(value).__name__}, expected a string")
        return value

    def make_dtype(self, kind: str, size: int, order: str) -> np.dtype:
        if kind == "b" and size in (0, 1):
            return np.dtype(bool)
        try:
            dtype = np.dtype(f"{order if order in '<>' else ''}{kind}{size or ''}")
        except TypeError as exc:
            raise self.bad(f"dtype {kind}{size}: {exc}") from None
        if dtype.kind not in "biufcSU" or dtype.itemsize <= 0:
            raise self.bad(f"dtype {dtype.str} is not accepted")
        return dtype

    def as_dtype(self, value: Any) -> np.dtype:
        if isinstance(value, _PendingDtype) and value.dtype is not None:
            return value.dtype
        if isinstance(value, np.dtype) and value.kind in "biufcSU":
            return value
        raise self.bad(f"expected a dtype, got a {type(value).__name__}")

    def as_bytes(self, data: Any, what: str) -> bytes:
        if isinstance(data, str):
            try:
                return data.encode("latin1")  # a Python 2 str read with encoding='latin1'
            except UnicodeEncodeError:
                raise self.bad(f"{what} is text with characters beyond latin-1, not bytes") from None
        if isinstance(data, (bytes, bytearray)):
            return bytes(data)
        if isinstance(data, list):
            raise self.bad(f"{what} is a list (an object array); only numeric arrays are accepted")
        raise self.bad(f"{what} is a {type(data).__name__}, expected bytes")

    def shape(self, shape: Any) -> Tuple[int, ...]:
        if isinstance(shape, int) and not isinstance(shape, bool):
            shape = (shape,)
        if not isinstance(shape, (tuple, list)) or len(shape) > _MAX_NDIM:
            raise self.bad(f"an array's shape is {_one_line(repr(shape), 60)}")
        for d in shape:
            if not isinstance(d, int) or isinstance(d, bool) or not 0 <= d <= _MAX_DIM:
                raise self.bad(f"an array's shape has the dimension {_one_line(repr(d), 40)}")
        return tuple(int(d) for d in shape)

    def array(self, data: Any, dtype: Any, shape: Any, order: str) -> np.ndarray:
        """The array ``data`` holds, after checking its size against ``shape`` and ``dtype``."""
        dtype = self.as_dtype(dtype)
        shape = self.shape(shape)
        count = 1
        for d in shape:
            count *= d
        declared = count * dtype.itemsize
        # checked before the bytes are converted or anything is allocated: a declared
        # (10**9, 10**9) float64 array with 8 bytes of data stops here
        n = len(data) if isinstance(data, (str, bytes, bytearray)) else -1
        if n != declared:
            if n < 0:
                self.as_bytes(data, "an array's data")  # names the wrong type
            raise self.bad(f"an array declares shape {shape} of {dtype.name} ({declared} bytes) but holds "
                           f"{n} bytes of data")
        raw = self.as_bytes(data, "an array's data")
        flat = np.frombuffer(raw, dtype=dtype, count=count) if count else np.zeros(0, dtype)
        arr = flat.reshape(shape, order=order)  # type: ignore[call-overload]
        native = dtype.newbyteorder("=") if dtype.byteorder in "<>" else dtype
        return np.array(arr, dtype=native, order="C", copy=True)

    # -- the stand-ins ---------------------------------------------------------
    def ndarray(self, *args: Any) -> Any:
        raise self.bad("numpy.ndarray is only accepted as the class argument of _reconstruct")

    def reconstruct(self, subtype: Any, shape: Any = (0,), code: Any = b"b") -> _PendingArray:
        if not isinstance(subtype, _NdarrayClass):
            raise self.bad(f"_reconstruct of a {type(subtype).__name__}; only numpy.ndarray is accepted")
        return _PendingArray(self)

    def dtype(self, obj: Any, align: Any = False, copy: Any = True) -> _PendingDtype:
        text = self.text(obj, "a dtype's type string")
        m = _DTYPE_STR.match(text)
        if not m or len(text) > 12:
            if text[:1] in ("O", "V", "M", "m") or text.lstrip("<>|=")[:1] in ("O", "V", "M", "m"):
                raise self.bad(f"dtype {_one_line(text, 20)!r} is not accepted (object, void and datetime arrays "
                               f"are refused: only numbers and strings)")
            raise self.bad(f"dtype {_one_line(text, 20)!r} is not a plain numeric or string dtype")
        order, kind, size = m.groups()
        return _PendingDtype(self, kind, int(size) if size else 0, order or "=")

    def scalar(self, dtype: Any, data: Any = None) -> _PendingScalar:
        dtype = self.as_dtype(dtype)
        raw = self.as_bytes(data, "a scalar's data")
        if len(raw) != dtype.itemsize:
            raise self.bad(f"a {dtype.name} scalar holds {len(raw)} bytes, not {dtype.itemsize}")
        return _PendingScalar(self, np.frombuffer(raw, dtype=dtype, count=1)[0].copy())

    def frombuffer(self, buf: Any, dtype: Any, shape: Any, order: Any = "C") -> _PendingArray:
        if order not in ("C", "F", "A", "K"):
            raise self.bad(f"_frombuffer order {_one_line(repr(order), 20)}")
        # wrapped like a reconstructed array, so a BUILD on it meets our checks, not ndarray.__setstate__
        pending = _PendingArray(self)
        pending.array = self.array(buf, dtype, shape, "F" if order == "F" else "C")
        return pending

    def codecs_encode(self, obj: Any, encoding: Any = "utf-8", errors: Any = "strict") -> bytes:
        if not isinstance(obj, str) or encoding not in ("latin1", "latin-1") or errors != "strict":
            raise self.bad("_codecs.encode is accepted only as Python 3 writes bytes: (text, 'latin1')")
        return self.as_bytes(obj, "encoded bytes")

    def empty_bytes(self, *args: Any) -> bytes:
        if args:  # bytes(10**12) would allocate a terabyte
            raise self.bad("bytes(...) is accepted only without arguments (an empty bytes object)")
        return b""

    def ordered_dict(self, items: Any = None) -> Dict[Any, Any]:
        if items is None:
            return {}
        if not isinstance(items, (list, tuple)):
            raise self.bad(f"OrderedDict of a {type(items).__name__}")
        out: Dict[Any, Any] = {}
        for pair in items:
            if not isinstance(pair, (list, tuple)) or len(pair) != 2:
                raise self.bad("OrderedDict items must be (key, value) pairs")
            key = pair[0]
            if not isinstance(key, (str, bytes, int, float, bool, type(None))):
                raise self.bad(f"a dict key is a {type(key).__name__}")
            out[key] = pair[1]
        return out

    def gpu_array(self, npa: Any, *context: Any) -> Any:
        """CudaNdarray_unpickler(npa) / GpuArray_unpickler(npa, context name): keep the numpy array."""
        if not isinstance(npa, (_PendingArray, np.ndarray)) or len(context) > 1 or (
                context and not isinstance(context[0], (str, bytes, type(None)))):
            raise self.bad("a Theano GPU array unpickler got arguments other than (numpy array[, context name])")
        return npa


class _RestrictedUnpickler(pickle.Unpickler):
    """``find_class`` answers only from :data:`ALLOWED_GLOBALS`, with the stand-ins of ``ctx``."""

    def __init__(self, file: Any, ctx: _Context, persistent: Optional[Callable[[Any], Any]] = None) -> None:
        super().__init__(file, encoding="latin1")
        self._ctx = ctx
        self._persistent = persistent

    def find_class(self, module: str, name: str) -> Any:
        method = ALLOWED_GLOBALS.get((module, name))
        if method is None:
            raise UnsafePickleError(self._ctx.label, _refusal(module, name))
        if method == "ndarray":
            return _NdarrayClass()
        return getattr(self._ctx, method)

    def persistent_load(self, pid: Any) -> Any:
        if self._persistent is None:
            raise UnsafePickleError(self._ctx.label, f"refused persistent id {_one_line(repr(pid), 60)}: only a Theano "
                                                     f"pkl_utils zip refers to external arrays; nothing was executed")
        return self._persistent(pid)


# ---------------------------------------------------------------------------
# the scan before loading
# ---------------------------------------------------------------------------
def _genops(data: bytes) -> Any:
    """:func:`pickletools.genops`, except that a protocol 0 ``STRING`` may hold any bytes (Python 2
    wrote binary array data that way; pickletools insists on ASCII). Every argument reader checks
    the length it reads against the bytes present (a BytesIO never allocates a declared size)."""
    import codecs
    import pickletools

    code2op = {op.code.encode("latin1"): op for op in pickletools.opcodes}
    f = _io.BytesIO(data)
    while True:
        pos = f.tell()
        code = f.read(1)
        op = code2op.get(code)
        if op is None:
            raise ValueError("the pickle ends before its STOP opcode" if not code else
                             f"unknown opcode {code!r} at byte {pos}")
        if op.name == "STRING":
            line = f.readline()
            if not line.endswith(b"\n"):
                raise ValueError("a STRING argument has no newline")
            line = line[:-1]
            if len(line) < 2 or line[:1] != line[-1:] or line[:1] not in (b"'", b'"'):
                raise ValueError("a STRING argument is not quoted")
            arg: Any = codecs.escape_decode(line[1:-1])[0].decode("latin1")
        else:
            arg = None if op.arg is None else op.arg.reader(f)
        yield op, arg, pos
        if op.name == "STOP":
            return


def _scan(data: bytes, ctx: _Context, persistent: bool) -> None:
    """Refuse before loading: every global named, no code-running opcode, bounded sizes and memo."""
    label, limits = ctx.label, ctx.limits
    memo: Dict[int, Optional[str]] = {}
    recent: List[Optional[str]] = []  # the string values pushed since the last other opcode
    end = -1
    try:
        for count, (op, arg, pos) in enumerate(_genops(data)):
            if count >= limits.max_pickle_ops:
                raise LimitExceededError(label, f"the pickle has more than {limits.max_pickle_ops} opcodes "
                                                f"(Limits.max_pickle_ops)")
            name = op.name
            if name == "PROTO" and not 0 <= arg <= 5:
                raise MalformedPickleError(label, f"pickle protocol {arg} is not known")
            if name in ("GLOBAL", "INST"):
                module, _, attr = str(arg).partition(" ")
                if (module, attr) not in ALLOWED_GLOBALS:
                    raise UnsafePickleError(label, _refusal(module, attr))
                if name == "INST":  # numpy never pickles with INST; it calls the class with arguments
                    raise UnsafePickleError(label, f"refused INST {_one_line(module + '.' + attr, 120)} (protocol 0 "
                                                   f"instantiation); nothing was executed")
            elif name == "STACK_GLOBAL":
                if len(recent) < 2 or recent[-1] is None or recent[-2] is None:
                    raise UnsafePickleError(label, "refused STACK_GLOBAL whose module and name are not plain strings "
                                                   "in the file; nothing was executed")
                if (recent[-2], recent[-1]) not in ALLOWED_GLOBALS:
                    raise UnsafePickleError(label, _refusal(recent[-2], recent[-1]))
            elif name in ("EXT1", "EXT2", "EXT4"):
                raise UnsafePickleError(label, f"refused extension code {arg} (copyreg's extension registry names "
                                               f"a global indirectly); nothing was executed")
            elif name in ("NEXT_BUFFER", "READONLY_BUFFER"):
                raise UnsafePickleError(label, "refused out-of-band buffers (protocol 5 NEXT_BUFFER): a model file "
                                               "holds its bytes in-band")
            elif name in ("PERSID", "BINPERSID") and not persistent:
                raise UnsafePickleError(label, "refused a persistent id: only a Theano pkl_utils zip refers to external "
                                               "arrays; nothing was executed")
            elif name in _PUT_OPS and not 0 <= arg <= count:
                # a pickler numbers its memo from 0; the C unpickler allocates up to the index
                raise MalformedPickleError(label, f"memo index {arg} at opcode {count} (a pickler numbers them "
                                                  f"from 0)")
            elif name == "STOP":
                end = pos + 1
                break
            # track the strings a STACK_GLOBAL can take its names from
            if name in _STRING_OPS:
                recent.append(arg if isinstance(arg, str) and len(arg) <= 256 else None)
            elif name in _GET_OPS:
                recent.append(memo.get(arg))
            elif name == "MEMOIZE":
                memo[len(memo)] = recent[-1] if recent else None
            elif name in _PUT_OPS:
                memo[arg] = recent[-1] if recent else None
            elif name != "FRAME":
                recent = []
    except ModelFileError:
        raise
    except (ValueError, UnicodeDecodeError, EOFError) as exc:
        raise TruncatedFileError(label, f"truncated or malformed pickle: {_one_line(exc)}") from None
    if end < 0:
        raise TruncatedFileError(label, "truncated pickle: it ends before its STOP opcode")
    if end != len(data):
        raise MalformedPickleError(label, f"{len(data) - end} bytes follow the pickle's end (several pickles in "
                                          f"one file are not read)")


def _loads(data: bytes, ctx: _Context, persistent: Optional[Callable[[Any], Any]] = None) -> Any:
    _scan(data, ctx, persistent is not None)
    unpickler = _RestrictedUnpickler(_io.BytesIO(data), ctx, persistent)
    try:
        obj = unpickler.load()
    except ModelFileError:
        raise
    except RecursionError:
        raise LimitExceededError(ctx.label, "the pickle is nested too deeply") from None
    except MemoryError:
        raise LimitExceededError(ctx.label, "the pickle needs more memory than is available") from None
    except Exception as exc:  # UnpicklingError, TypeError from a wrong call, IndexError, ...
        raise MalformedPickleError(ctx.label, f"malformed pickle: {type(exc).__name__}: {_one_line(exc)}") from None
    finally:
        del unpickler
    return _rebuild(obj, ctx)


def _rebuild(obj: Any, ctx: _Context) -> Any:
    """Plain containers, numbers, strings, arrays, dtypes and scalars; the stand-ins' placeholders
    become numpy objects. Depth-bounded, shared objects converted once, cycles refused."""
    done: Dict[int, Any] = {}
    active: set = set()
    keep: List[Any] = []  # keeps the originals alive so ids stay unique

    def walk(value: Any, depth: int) -> Any:
        if isinstance(value, (str, bytes, bool, int, float, complex, type(None), np.generic, np.ndarray)):
            return value
        if isinstance(value, np.dtype):
            return value
        key = id(value)
        if key in done:
            return done[key]
        if isinstance(value, _PendingArray):
            if value.array is None:
                raise ctx.bad("an array was reconstructed without its data (no BUILD)")
            done[key] = value.array
            return value.array
        if isinstance(value, _PendingDtype):
            done[key] = ctx.as_dtype(value)
            return done[key]
        if isinstance(value, _PendingScalar):
            return value.value
        if not isinstance(value, (list, tuple, dict)):
            raise ctx.bad(f"the pickle holds a {type(value).__name__}; only containers, numbers, strings and numpy "
                          f"arrays are accepted")
        if depth >= ctx.limits.max_pickle_depth:
            raise LimitExceededError(ctx.label, f"the pickle nests containers more than {ctx.limits.max_pickle_depth} "
                                                f"levels deep (Limits.max_pickle_depth)")
        if key in active:
            raise ctx.bad("a container contains itself")
        active.add(key)
        keep.append(value)
        if isinstance(value, dict):
            out: Any = {}
            for k, v in value.items():
                if not isinstance(k, (str, bytes, int, float, bool, type(None))):
                    raise ctx.bad(f"a dict key is a {type(k).__name__}")
                out[k] = walk(v, depth + 1)
        elif isinstance(value, tuple):
            out = tuple(walk(v, depth + 1) for v in value)
        else:
            out = [walk(v, depth + 1) for v in value]
        active.discard(key)
        done[key] = out
        return out

    return walk(obj, 0)


# ---------------------------------------------------------------------------
# files
# ---------------------------------------------------------------------------
def _read_source(source: Source, label: Optional[str], limits: Limits) -> Tuple[bytes, str]:
    from .safe_npz import _mb, _open_regular

    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        label = label or "<bytes>"
        if len(data) > limits.max_file_bytes:
            raise LimitExceededError(label, f"{_mb(len(data))} is over the limit of {_mb(limits.max_file_bytes)} "
                                            f"(Limits.max_file_bytes)")
        return data, label
    label = label or os.fspath(source)
    with _open_regular(source, label, limits) as f:
        data = f.read(limits.max_file_bytes + 1)
    if len(data) > limits.max_file_bytes:  # the file grew after it was checked
        raise LimitExceededError(label, f"the file is over the limit of {_mb(limits.max_file_bytes)}")
    return data, label


def is_pkl_utils_zip(data: bytes) -> bool:
    """Whether ``data`` starts like a zip (``theano.misc.pkl_utils.dump`` writes one)."""
    return data[:4] in (b"PK\x03\x04", b"PK\x05\x06")


def _ctx_name_length(head: bytes) -> int:
    """Length of the small pickle (a context name: None or a string) that starts a gpuarray member."""
    try:
        for op, arg, pos in _genops(head):
            if op.name == "STOP":
                return pos + 1
            if op.name not in {"PROTO", "NONE", "FRAME", "MEMOIZE", "BINPUT", "PUT", "LONG_BINPUT"} | _STRING_OPS:
                break
    except (ValueError, UnicodeDecodeError):
        pass
    return -1


def _load_pkl_zip(data: bytes, ctx: _Context) -> Any:
    reader = NpzReader(data, ctx.label, ctx.limits, suffix="")
    with reader:
        if "pkl" not in reader.names:
            raise PickleLayoutError(ctx.label, "a zip without a 'pkl' member: not a Theano pkl_utils file (for "
                                               "Lasagne weights saved with np.savez use --weights)")
        cache: Dict[str, np.ndarray] = {}

        def persistent(pid: Any) -> np.ndarray:
            text = ctx.text(pid, "a persistent id")
            kind, sep, name = text.partition(".")
            if not sep or kind not in ("ndarray", "gpuarray") or "." in name or name == "pkl":
                raise UnsafePickleError(ctx.label, f"refused persistent id {_one_line(repr(text), 60)}: pkl_utils "
                                                   f"writes 'ndarray.NAME' or 'gpuarray.NAME'")
            if name not in cache:
                if name not in reader.names:
                    raise MalformedPickleError(ctx.label, f"the pickle refers to member {name[:80]!r}, which the zip "
                                                          f"does not hold")
                skip = 0
                if kind == "gpuarray":  # pickle.dump(context name, f, 2), then the .npy
                    head = reader.read_bytes(name, 512, prefix=True)
                    skip = _ctx_name_length(head)
                    if skip < 0:
                        raise MalformedPickleError(ctx.label, f"gpuarray member {name[:80]!r} does not start with a "
                                                              f"pickled context name")
                cache[name] = reader.read(name, kinds="biuf", skip=skip, fortran_ok=True)
            return cache[name]

        pkl = reader.read_bytes("pkl", min(ctx.limits.max_member_bytes, ctx.limits.max_file_bytes))
        return _loads(pkl, ctx, persistent)


def load_pickle(source: Source, *, label: Optional[str] = None, limits: Optional[Limits] = None) -> Any:
    """Unpickle ``source`` (a path or bytes) allowing numpy arrays, dtypes, scalars and plain
    containers only; a Theano ``pkl_utils`` zip is recognised by its zip signature.

    Parameters
    ----------
    source : path or bytes
    label : str, optional
        How errors name the file (default: the path, or ``<bytes>``).
    limits : Limits, optional
        Default: the process-wide limits (:func:`layers_np.safe_npz.set_default_limits`).

    Returns
    -------
    object
        Lists, tuples, dicts, numbers, strings (Python 2 ``str`` decoded as latin-1), numpy
        arrays (native byte order, C order, writable), dtypes and numpy scalars.

    Raises
    ------
    ModelFileError
        :class:`UnsafePickleError` naming the refused global or opcode (nothing was executed),
        :class:`MalformedPickleError`, ``TruncatedFileError``, ``LimitExceededError``,
        ``UnsafeFileError``: each with a one-line reason.
    """
    limits = current_limits(limits)
    data, label = _read_source(source, label, limits)
    ctx = _Context(label, limits)
    if not data:
        raise TruncatedFileError(label, "the file is empty")
    if is_pkl_utils_zip(data):
        return _load_pkl_zip(data, ctx)
    return _loads(data, ctx)


# ---------------------------------------------------------------------------
# model layouts
# ---------------------------------------------------------------------------
_VALUE_KEYS = ("param values", "values", "param_values")
_CLASS_KEYS = ("synset words", "synset_words", "CLASSES", "classes")
_MEAN_VALUE_KEYS = ("mean value", "mean_value")
_MEAN_IMAGE_KEYS = ("mean image", "mean_image")


@dataclasses.dataclass
class PickledModel:
    """What a pretrained-model pickle holds.

    Attributes
    ----------
    values : list of ndarray
        The parameter values in Lasagne order (``lasagne.layers.get_all_param_values``).
    class_names : list of str or None
        ``'synset words'`` / ``'synset_words'``.
    mean_value : ndarray or None
        ``'mean value'`` (per-channel mean, e.g. VGG's BGR means).
    mean_image : ndarray or None
        ``'mean image'`` / ``'mean_image'``.
    layout : str
        Which layout was found, e.g. ``"dict['param values']"`` or ``"list"``.
    ignored_keys : list of str
        Other keys of a dict layout, reported and not used.
    label : str
        The file the values came from (how errors name it).
    """

    values: List[np.ndarray]
    class_names: Optional[List[str]] = None
    mean_value: Optional[np.ndarray] = None
    mean_image: Optional[np.ndarray] = None
    layout: str = "list"
    ignored_keys: List[str] = dataclasses.field(default_factory=list)
    label: str = "<bytes>"

    def metadata(self) -> Dict[str, Any]:
        """The metadata a model file keeps (:func:`layers_np.io.save` ``metadata=``)."""
        meta: Dict[str, Any] = {"pickle_layout": self.layout}
        if self.class_names is not None:
            meta["class_names"] = list(self.class_names)
        if self.mean_value is not None:
            meta["mean_value"] = self.mean_value
        if self.mean_image is not None:
            meta["mean_image"] = self.mean_image
        return meta


def _fix_text(text: str) -> str:
    """A Python 2 ``str`` read as latin-1 was usually UTF-8 bytes: decode it as such when it is."""
    try:
        return text.encode("latin1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text


def _class_names(value: Any, label: str) -> List[str]:
    if isinstance(value, np.ndarray) and value.ndim == 1 and value.dtype.kind in "SU":
        value = value.tolist()
    if not isinstance(value, (list, tuple)):
        raise PickleLayoutError(label, f"the class names are a {type(value).__name__}, expected a list of strings")
    names = []
    for i, v in enumerate(value):
        if isinstance(v, bytes):
            v = v.decode("latin1")
        if not isinstance(v, str):
            raise PickleLayoutError(label, f"class name {i} is a {type(v).__name__}, expected a string")
        names.append(_fix_text(v))
    return names


def _mean(value: Any, label: str, key: str) -> np.ndarray:
    arr = value if isinstance(value, np.ndarray) else None
    if arr is None and isinstance(value, (int, float, np.generic)) and not isinstance(value, bool):
        arr = np.asarray(value)
    if arr is None and isinstance(value, (list, tuple)) and all(
            isinstance(v, (int, float, np.generic)) and not isinstance(v, bool) for v in value):
        arr = np.asarray(value, dtype=np.float64)
    if arr is None or arr.dtype.kind not in "iuf":
        raise PickleLayoutError(label, f"{key!r} is a {type(value).__name__}, expected a numeric array")
    return arr


def _values(value: Any, label: str, where: str) -> List[np.ndarray]:
    if not isinstance(value, (list, tuple)):
        raise PickleLayoutError(label, f"{where} is a {type(value).__name__}, expected a list of arrays")
    out = []
    for i, v in enumerate(value):
        if not isinstance(v, np.ndarray):
            raise PickleLayoutError(label, f"{where}[{i}] is a {type(v).__name__}, expected a numpy array")
        if v.dtype.kind != "f":
            raise PickleLayoutError(label, f"{where}[{i}] has dtype {v.dtype}, expected floating-point weights")
        out.append(v)
    return out


def model_from_object(obj: Any, label: str = "<pickle>") -> PickledModel:
    """Recognise a model layout in an unpickled object (see :func:`read_model_pickle`)."""
    if isinstance(obj, (list, tuple)):
        return PickledModel(values=_values(obj, label, "the list"), layout="list", label=label)
    if not isinstance(obj, dict):
        raise PickleLayoutError(label, f"the pickle holds a {type(obj).__name__}; expected a dict with 'param values' "
                                       f"or 'values', or a list of arrays")
    keys = {(k.decode("latin1") if isinstance(k, bytes) else k): k for k in obj}

    def pick(names: Tuple[str, ...]) -> Optional[str]:
        found = [n for n in names if n in keys]
        if len(found) > 1:
            raise PickleLayoutError(label, f"the dict has both {found[0]!r} and {found[1]!r}")
        return found[0] if found else None

    vkey = pick(_VALUE_KEYS)
    if vkey is None:
        shown = ", ".join(repr(k)[:40] for k in list(keys)[:8])
        raise PickleLayoutError(label, f"the dict has no 'param values' or 'values' (its keys: {shown})")
    model = PickledModel(values=_values(obj[keys[vkey]], label, repr(vkey)), layout=f"dict[{vkey!r}]", label=label)
    ckey, mkey, ikey = pick(_CLASS_KEYS), pick(_MEAN_VALUE_KEYS), pick(_MEAN_IMAGE_KEYS)
    if ckey is not None:
        model.class_names = _class_names(obj[keys[ckey]], label)
    if mkey is not None:
        model.mean_value = _mean(obj[keys[mkey]], label, mkey)
    if ikey is not None:
        model.mean_image = _mean(obj[keys[ikey]], label, ikey)
    used = {vkey, ckey, mkey, ikey}
    model.ignored_keys = [str(k) for k in keys if k not in used]
    return model


def read_model_pickle(source: Source, *, label: Optional[str] = None, limits: Optional[Limits] = None) -> PickledModel:
    """A pretrained-model pickle (a Lasagne Model Zoo ``.pkl``, or a Theano ``pkl_utils`` zip), read
    with :func:`load_pickle` and its layout recognised.

    Layouts: a dict with ``'param values'`` or ``'values'`` (a list of arrays in
    ``get_all_param_values`` order), optionally ``'synset words'``/``'synset_words'``,
    ``'mean value'``, ``'mean image'``/``'mean_image'``; or a bare list (or tuple) of arrays.

    Raises
    ------
    ModelFileError
        A subclass with a one-line reason (:class:`UnsafePickleError` for a refused global,
        :class:`PickleLayoutError` for an unrecognised layout).
    """
    limits = current_limits(limits)
    if label is None and not isinstance(source, (bytes, bytearray, memoryview)):
        label = os.fspath(source)
    return model_from_object(load_pickle(source, label=label, limits=limits), label or "<bytes>")

