"""A bounded ``.npz`` reader for untrusted files: numpy only, never unpickles.

Model files, Lasagne weights, ``--inputs`` samples and reproducers all come through
:class:`NpzReader`. It refuses before it allocates or decompresses:

* only regular files are opened (a FIFO, a device, a directory is refused without blocking);
* the file size, the number of members, each member's declared (uncompressed) size, the
  sum of the declared sizes and the declared compression ratio are bounded (:class:`Limits`);
* the first bytes must be a zip signature; the end-of-central-directory record is parsed
  and its member count checked before :mod:`zipfile` reads the directory;
* members must be ``NAME.npy``, unique, unencrypted, stored or deflated, and must not
  share their data with another member (one compressed stream listed 400 times);
* an array's ``.npy`` header is parsed with a strict pattern (no ``literal_eval``); its
  dtype must be little-endian (or single-byte) and of an allowed kind, the array C-ordered,
  and ``header + shape * itemsize`` must equal the member's declared size before the array
  is allocated; the bytes are then read in chunks and the zip CRC is checked.

Every refusal is a :class:`ModelFileError` subclass with a one-line reason.
"""
from __future__ import annotations

import dataclasses
import io as _io
import os
import re
import stat
import struct
from typing import Any, BinaryIO, Dict, Iterable, List, Optional, Sequence, Union

import numpy as np

__all__ = ["Limits", "DEFAULT_LIMITS", "set_default_limits", "NpzReader", "read_npz", "ModelFileError",
           "TruncatedFileError", "NotAModelFileError", "ChecksumMismatchError", "ObjectArrayError",
           "UnsafeFileError", "LimitExceededError", "BadMemberError", "UnsupportedArrayError"]

Source = Union[str, "os.PathLike[str]", bytes, bytearray, memoryview]


# ---------------------------------------------------------------------------
# errors (layers_np.io re-exports them)
# ---------------------------------------------------------------------------
class ModelFileError(ValueError):
    """A model or weights file that cannot be loaded; ``reason`` is one line."""

    def __init__(self, path: Any, reason: str) -> None:
        self.path = str(path)
        self.reason = " ".join(str(reason).split())  # one line, always
        super().__init__(f"{self.path}: {self.reason}")


class TruncatedFileError(ModelFileError):
    """The file ends early: the zip archive or one of its arrays is cut off."""


class NotAModelFileError(ModelFileError):
    """The file is not an .npz archive, or an .npz without a model spec."""


class ChecksumMismatchError(ModelFileError):
    """An array's bytes, shape or dtype differ from what the spec recorded (or a zip CRC fails)."""


class ObjectArrayError(ModelFileError):
    """The file holds an object (pickled) array; loading never unpickles."""


class UnsafeFileError(ModelFileError):
    """The path is not a regular file (a FIFO, a device, a directory, a socket)."""


class LimitExceededError(ModelFileError):
    """The file exceeds one of the reader's :class:`Limits` (size, members, ratio, nesting)."""


class BadMemberError(ModelFileError):
    """A zip member is not a ``.npy`` file, is duplicated, encrypted, overlaps another or uses
    an unsupported compression method."""


class UnsupportedArrayError(ModelFileError):
    """An array is big-endian, Fortran-ordered or of a dtype the reader does not accept."""


# ---------------------------------------------------------------------------
# limits
# ---------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Limits:
    """Bounds the reader enforces before reading; all sizes in bytes.

    Attributes
    ----------
    max_file_bytes : int
        Largest file accepted (default 4 GiB).
    max_members : int
        Most zip members (arrays) in one file (default 10,000).
    max_member_bytes : int
        Largest declared uncompressed size of one member (default 2 GiB).
    max_total_bytes : int
        Largest sum of the members' declared uncompressed sizes (default 4 GiB).
    max_ratio : float
        Largest declared uncompressed/compressed ratio of a member above ``ratio_floor_bytes``,
        and of the whole archive above ``ratio_floor_bytes`` (default 10; real weights deflate
        about 1.1:1, an uncompressed ``np.savez`` is 1:1).
    ratio_floor_bytes : int
        Uncompressed size below which the ratio is not checked (default 16 MiB: small arrays of
        zeros compress 1000:1 legitimately).
    max_spec_bytes : int
        Largest JSON spec or reproducer metadata (default 4 MiB, about 4,000 layers).
    max_json_depth : int
        Deepest JSON nesting accepted (default 64).
    max_json_containers : int
        Most objects and arrays in one JSON document (default 250,000; a layer needs about 20).
        With ``max_spec_bytes`` this bounds the parsed spec to about 70 MB in the worst case.
    max_pickle_ops : int
        Most opcodes in a model pickle (:mod:`layers_np.safe_pickle`; default 2,000,000: a
        pretrained model with 1,000 class names needs about 5,000). Each opcode creates at most
        one object, so this bounds the objects a pickle can make.
    max_pickle_depth : int
        Deepest nesting of lists, tuples and dicts in a model pickle (default 64).
    """

    max_file_bytes: int = 4 << 30
    max_members: int = 10_000
    max_member_bytes: int = 2 << 30
    max_total_bytes: int = 4 << 30
    max_ratio: float = 10.0
    ratio_floor_bytes: int = 16 << 20
    max_spec_bytes: int = 4 << 20
    max_json_depth: int = 64
    max_json_containers: int = 250_000
    max_pickle_ops: int = 2_000_000
    max_pickle_depth: int = 64


DEFAULT_LIMITS = Limits()
_default = [DEFAULT_LIMITS]


def set_default_limits(limits: Optional[Limits] = None, **changes: int) -> Limits:
    """Replace the process-wide default limits (``set_default_limits(max_file_bytes=8 << 30)``);
    returns the previous ones. ``set_default_limits(DEFAULT_LIMITS)`` restores the defaults."""
    previous = _default[0]
    base = previous if limits is None else limits
    _default[0] = dataclasses.replace(base, **changes) if changes else base
    return previous


def current_limits(limits: Optional[Limits] = None) -> Limits:
    return _default[0] if limits is None else limits


def _mb(n: float) -> str:
    return f"{n / (1 << 20):.1f} MiB" if n >= 1 << 20 else f"{int(n)} bytes"


# ---------------------------------------------------------------------------
# .npy headers
# ---------------------------------------------------------------------------
_MAGIC = b"\x93NUMPY"
_DESCR = re.compile(r"""['"]descr['"]\s*:\s*['"]([<>|=]?)([a-zA-Z])(\d*)['"]""")
_FORTRAN = re.compile(r"""['"]fortran_order['"]\s*:\s*(True|False)""")
_SHAPE = re.compile(r"""['"]shape['"]\s*:\s*\(\s*((?:\d+L?\s*,\s*)*(?:\d+L?)?)\s*\)""")
_REST = re.compile(r"^[\s,{}]*$")
_CHUNK = 1 << 20
# zip general-purpose flags a plain archive may carry: deflate options (bits 1-2), a data
# descriptor (bit 3), UTF-8 names (bit 11); anything else (encryption, patches) is refused
_ALLOWED_FLAGS = 0x080E


def _parse_header(text: str) -> tuple:
    """(byte order, kind, itemsize digits, fortran, shape) of a .npy header dict, or raise ValueError."""
    text = text.strip()
    d, f, s = _DESCR.search(text), _FORTRAN.search(text), _SHAPE.search(text)
    if not (text.startswith("{") and text.endswith("}") and d and f and s):
        raise ValueError("the .npy header is not a simple {'descr', 'fortran_order', 'shape'} dict")
    rest = text
    for m in (d, f, s):
        rest = rest.replace(m.group(0), "", 1)
    if not _REST.match(rest):
        raise ValueError("the .npy header has unexpected entries (structured dtypes are not accepted)")
    shape = tuple(int(v.strip().rstrip("L")) for v in s.group(1).split(",") if v.strip())
    return d.group(1), d.group(2), d.group(3), f.group(1) == "True", shape


# ---------------------------------------------------------------------------
# the reader
# ---------------------------------------------------------------------------
def _open_regular(path: Any, label: str, limits: Limits) -> BinaryIO:
    """Open ``path`` for reading without blocking; refuse anything but a bounded regular file."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except OSError as exc:
        raise ModelFileError(label, f"cannot read the file: {exc.strerror or exc}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            kind = ("a directory" if stat.S_ISDIR(st.st_mode) else "a FIFO" if stat.S_ISFIFO(st.st_mode)
                    else "a device" if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode)
                    else "a socket" if stat.S_ISSOCK(st.st_mode) else "not a regular file")
            raise UnsafeFileError(label, f"is {kind}; only regular files are read")
        if st.st_size > limits.max_file_bytes:
            raise LimitExceededError(label, f"the file is {_mb(st.st_size)}, over the limit of "
                                            f"{_mb(limits.max_file_bytes)} (Limits.max_file_bytes)")
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


class NpzReader:
    """The members of an ``.npz``, checked as described in the module docstring.

    Parameters
    ----------
    source : path or bytes
    label : str, optional
        How errors name the file (default: the path, or ``<bytes>``).
    limits : Limits, optional
        Default: the process-wide limits (:func:`set_default_limits`).

    Use as a context manager; :attr:`names` lists the arrays (member names without ``.npy``).
    """

    def __init__(self, source: Source, label: Optional[str] = None, limits: Optional[Limits] = None, *,
                 suffix: str = ".npy") -> None:
        import zipfile

        self.limits = current_limits(limits)
        # "" reads archives whose members are not named NAME.npy (Theano's pkl_utils zips: "pkl",
        # "array_0", a shared variable's name); every other check is the same
        self._suffix = suffix
        if isinstance(source, (bytes, bytearray, memoryview)):
            self.label = label or "<bytes>"
            data = bytes(source)
            if len(data) > self.limits.max_file_bytes:
                raise LimitExceededError(self.label, f"{_mb(len(data))} is over the limit of "
                                                     f"{_mb(self.limits.max_file_bytes)} (Limits.max_file_bytes)")
            self._file: BinaryIO = _io.BytesIO(data)
        else:
            self.label = label or os.fspath(source)
            self._file = _open_regular(source, self.label, self.limits)
        self._zip: Any = None
        try:
            self._size = self._file.seek(0, os.SEEK_END)
            self._check_directory()
            try:
                self._zip = zipfile.ZipFile(self._file)
            except Exception as exc:  # zipfile raises many types for broken archives
                raise TruncatedFileError(self.label, f"broken .npz archive: {type(exc).__name__}: {exc}") from None
            self._members = self._check_members()
        except BaseException:
            self.close()
            raise

    # -- the archive ---------------------------------------------------------
    def _read_at(self, offset: int, n: int) -> bytes:
        self._file.seek(offset)
        return self._file.read(n)

    def _check_directory(self) -> None:
        """Magic bytes, then the member count and directory size from the end record."""
        if self._size == 0:
            raise TruncatedFileError(self.label, "the file is empty")
        head = self._read_at(0, 4)
        if head not in (b"PK\x03\x04", b"PK\x05\x06"):
            raise NotAModelFileError(self.label, "not an .npz archive (no zip signature at the start)")
        tail_len = min(self._size, 22 + 65535)
        tail = self._read_at(self._size - tail_len, tail_len)
        pos = tail.rfind(b"PK\x05\x06")
        if pos < 0 or len(tail) - pos < 22:
            raise TruncatedFileError(self.label, f"truncated .npz archive ({self._size} bytes, the zip directory "
                                                 f"is missing)")
        _, _, _, _, entries, cd_size, cd_offset, _ = struct.unpack("<4s4H2LH", tail[pos:pos + 22])
        if entries == 0xFFFF or cd_size == 0xFFFFFFFF or cd_offset == 0xFFFFFFFF:
            loc = pos - 20
            if loc < 0 or tail[loc:loc + 4] != b"PK\x06\x07":
                raise TruncatedFileError(self.label, "broken zip64 end record")
            _, _, rec_offset, _ = struct.unpack("<4sLQL", tail[loc:loc + 20])
            if rec_offset + 56 > self._size:
                raise TruncatedFileError(self.label, "broken zip64 end record")
            rec = self._read_at(rec_offset, 56)
            if len(rec) < 56 or rec[:4] != b"PK\x06\x06":
                raise TruncatedFileError(self.label, "broken zip64 end record")
            entries, cd_size = struct.unpack("<QQ", rec[32:48])
        if entries > self.limits.max_members:
            raise LimitExceededError(self.label, f"{entries} members, over the limit of {self.limits.max_members} "
                                                 f"(Limits.max_members)")
        if cd_size > self._size:
            raise TruncatedFileError(self.label, f"the zip directory claims {cd_size} bytes in a {self._size}-byte file")

    def _check_members(self) -> Dict[str, Any]:
        import zipfile

        infos = self._zip.infolist()
        if len(infos) > self.limits.max_members:
            raise LimitExceededError(self.label, f"{len(infos)} members, over the limit of {self.limits.max_members} "
                                                 f"(Limits.max_members)")
        members: Dict[str, Any] = {}
        offsets = set()
        total = compressed = 0
        for info in infos:
            name = info.filename
            suffix = self._suffix
            if not name.endswith(suffix) or len(name) <= len(suffix) or name.endswith("/"):
                raise BadMemberError(self.label, f"member {name[:80]!r} is not a "
                                                 f"{'.npy array' if suffix == '.npy' else 'regular member'}")
            key = name[:len(name) - len(suffix)]
            if key in members:
                raise BadMemberError(self.label, f"member {name[:80]!r} appears twice")
            if info.flag_bits & 0x1:
                raise BadMemberError(self.label, f"member {name[:80]!r} is encrypted")
            if info.flag_bits & ~_ALLOWED_FLAGS:
                raise BadMemberError(self.label, f"member {name[:80]!r} has unsupported zip flags "
                                                 f"{info.flag_bits:#06x}")
            if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                raise BadMemberError(self.label, f"member {name[:80]!r} uses compression method {info.compress_type}; "
                                                 f"only stored and deflated members are read")
            if info.header_offset in offsets:
                raise BadMemberError(self.label, f"member {name[:80]!r} shares its data with another member")
            offsets.add(info.header_offset)
            if info.header_offset + 30 + info.compress_size > self._size:
                raise TruncatedFileError(self.label, f"member {name[:80]!r} extends past the end of the file")
            if info.compress_type == zipfile.ZIP_STORED and info.compress_size != info.file_size:
                raise BadMemberError(self.label, f"stored member {name[:80]!r} declares {info.file_size} bytes but "
                                                 f"holds {info.compress_size}")
            if info.file_size > self.limits.max_member_bytes:
                raise LimitExceededError(self.label, f"member {name[:80]!r} declares {_mb(info.file_size)}, over the "
                                                     f"limit of {_mb(self.limits.max_member_bytes)} "
                                                     f"(Limits.max_member_bytes)")
            if (info.file_size > self.limits.ratio_floor_bytes
                    and info.file_size > self.limits.max_ratio * max(info.compress_size, 1)):
                raise LimitExceededError(self.label, f"member {name[:80]!r} declares {_mb(info.file_size)} from "
                                                     f"{_mb(info.compress_size)} compressed, a ratio over "
                                                     f"{self.limits.max_ratio:g} (Limits.max_ratio): a zip bomb?")
            total += info.file_size
            compressed += info.compress_size
            members[key] = info
        if compressed > self._size:
            raise BadMemberError(self.label, f"the members' compressed sizes add up to {compressed} bytes in a "
                                             f"{self._size}-byte file (members overlap)")
        if total > self.limits.max_total_bytes:
            raise LimitExceededError(self.label, f"the members declare {_mb(total)} in all, over the limit of "
                                                 f"{_mb(self.limits.max_total_bytes)} (Limits.max_total_bytes)")
        if total > max(self.limits.ratio_floor_bytes, self.limits.max_ratio * self._size):
            raise LimitExceededError(self.label, f"the members declare {_mb(total)} in a {_mb(self._size)} file, a "
                                                 f"ratio over {self.limits.max_ratio:g} (Limits.max_ratio): a zip bomb?")
        return members

    @property
    def names(self) -> List[str]:
        """The array names (member names without ``.npy``), in archive order."""
        return list(self._members)

    def declared_bytes(self, name: str) -> int:
        return int(self._members[name].file_size)

    # -- one array -----------------------------------------------------------
    def _header(self, name: str, stream: Any, fortran_ok: bool = False) -> tuple:
        prefix = stream.read(8)
        if len(prefix) < 8 or prefix[:6] != _MAGIC:
            raise BadMemberError(self.label, f"member {name[:80]!r} is not a .npy array (bad magic)")
        major = prefix[6]
        if major == 1:
            raw = stream.read(2)
            hlen = struct.unpack("<H", raw)[0] if len(raw) == 2 else -1
            start = 10
        elif major in (2, 3):
            raw = stream.read(4)
            hlen = struct.unpack("<I", raw)[0] if len(raw) == 4 else -1
            start = 12
        else:
            raise BadMemberError(self.label, f"member {name[:80]!r} has .npy format version {major}")
        if hlen < 0:
            raise TruncatedFileError(self.label, f"array {name[:80]!r} is cut off in its header")
        if hlen > 65535:
            raise BadMemberError(self.label, f"array {name[:80]!r} has a {hlen}-byte .npy header (limit 65535)")
        raw = stream.read(hlen)
        if len(raw) < hlen:
            raise TruncatedFileError(self.label, f"array {name[:80]!r} is cut off in its header")
        try:
            text = raw.decode("utf-8" if major == 3 else "latin1")
            order, kind, size, fortran, shape = _parse_header(text)
        except (UnicodeDecodeError, ValueError) as exc:
            raise BadMemberError(self.label, f"array {name[:80]!r}: {exc}") from None
        if kind == "O":
            raise ObjectArrayError(self.label, f"array {name[:80]!r} is an object array; loading never unpickles")
        if kind not in "biufcUSV" or (kind in "biufcU" and not size):
            raise UnsupportedArrayError(self.label, f"array {name[:80]!r} has dtype {order}{kind}{size}")
        try:
            dtype = np.dtype(f"{order}{kind}{size}")
        except TypeError as exc:
            raise UnsupportedArrayError(self.label, f"array {name[:80]!r} has dtype {order}{kind}{size}: {exc}") from None
        if dtype.itemsize > 1 and order != "<":
            raise UnsupportedArrayError(self.label, f"array {name[:80]!r} has byte order {order or '='!r} ({dtype.str}); "
                                                    f"only little-endian arrays are read")
        if fortran and len(shape) > 1 and not fortran_ok:
            raise UnsupportedArrayError(self.label, f"array {name[:80]!r} is Fortran-ordered; only C order is read")
        return dtype, shape, start + hlen, fortran and len(shape) > 1

    def _read_error(self, what: str, exc: Exception) -> ModelFileError:
        """The one-line error for ``exc`` raised while reading ``what`` (a member or an array)."""
        import zipfile

        if isinstance(exc, zipfile.BadZipFile):
            if "CRC" in str(exc):
                return ChecksumMismatchError(self.label, f"{what} is corrupted (zip CRC check failed)")
            return TruncatedFileError(self.label, f"{what}: {exc}")
        if isinstance(exc, (EOFError, OSError, ValueError, struct.error)):
            return TruncatedFileError(self.label, f"{what} is cut off or malformed: {exc}")
        # e.g. NotImplementedError for zip features the flags check missed
        return BadMemberError(self.label, f"{what} cannot be read: {type(exc).__name__}: {exc}")

    def read_bytes(self, name: str, max_bytes: int, prefix: bool = False) -> bytes:
        """The raw bytes of member ``name``, refused (LimitExceededError) when it declares more
        than ``max_bytes``; the zip CRC is checked. ``prefix=True``: its first ``max_bytes``
        bytes (or all of a shorter member), the rest unread."""
        if name not in self._members:
            raise ModelFileError(self.label, f"no member {name[:80]!r}")
        info = self._members[name]
        if prefix:
            try:
                with self._zip.open(info) as stream:
                    return stream.read(max_bytes)
            except Exception as exc:  # zipfile raises many types for broken members
                raise TruncatedFileError(self.label, f"member {name[:80]!r} is cut off or malformed: "
                                                     f"{type(exc).__name__}: {exc}") from None
        if info.file_size > max_bytes:
            raise LimitExceededError(self.label, f"member {name[:80]!r} declares {_mb(info.file_size)}, over the "
                                                 f"limit of {_mb(max_bytes)} for it")
        try:
            with self._zip.open(info) as stream:
                data = stream.read(info.file_size + 1)
        except Exception as exc:  # zipfile raises many types for broken members
            raise self._read_error(f"member {name[:80]!r}", exc) from None
        if len(data) != info.file_size:
            raise TruncatedFileError(self.label, f"member {name[:80]!r} holds {len(data)} bytes, it declares "
                                                 f"{info.file_size}")
        return data

    def read(self, name: str, kinds: str = "biuf", expect: Optional[tuple] = None, skip: int = 0,
             fortran_ok: bool = False) -> np.ndarray:
        """Array ``name``; its dtype kind must be in ``kinds``.

        ``expect=(dtype, shape)`` refuses (ChecksumMismatchError) a header that differs before
        anything is allocated. ``skip`` bytes before the ``.npy`` magic are passed over (a
        Theano GPU array member starts with its pickled context name). ``fortran_ok=True``
        accepts a Fortran-ordered array (returned in C order, a copy).
        """
        if name not in self._members:
            raise ModelFileError(self.label, f"no array {name[:80]!r}")
        info = self._members[name]
        try:
            with self._zip.open(info) as stream:
                if skip and len(stream.read(skip)) != skip:
                    raise TruncatedFileError(self.label, f"array {name[:80]!r} is cut off before its header")
                dtype, shape, offset, fortran = self._header(name, stream, fortran_ok)
                offset += skip
                if dtype.kind not in kinds:
                    if dtype.kind == "c":
                        what = "complex"
                    elif dtype.kind in "SUV":
                        what = "not numeric"
                    else:
                        what = "not accepted here"
                    raise UnsupportedArrayError(self.label, f"array {name[:80]!r} has dtype {dtype.str} ({what})")
                if expect is not None and (dtype.str != np.dtype(expect[0]).str or tuple(shape) != tuple(expect[1])):
                    raise ChecksumMismatchError(self.label, f"array {name[:80]!r} is {dtype.name}{tuple(shape)}, the spec "
                                                            f"recorded {np.dtype(expect[0]).name}{tuple(expect[1])}")
                count = 1
                for s in shape:
                    count *= s
                nbytes = count * dtype.itemsize
                if offset + nbytes != info.file_size:
                    raise TruncatedFileError(self.label, f"array {name[:80]!r}: its header declares {nbytes} bytes of data, "
                                                         f"the member holds {info.file_size - offset}")
                arr = np.empty(count, dtype=dtype)
                view = memoryview(arr.reshape(-1).view(np.uint8)) if nbytes else memoryview(b"")
                pos = 0
                while pos < nbytes:
                    chunk = stream.read(min(_CHUNK, nbytes - pos))
                    if not chunk:
                        raise TruncatedFileError(self.label, f"array {name[:80]!r} is cut off ({pos} of {nbytes} bytes)")
                    view[pos:pos + len(chunk)] = chunk
                    pos += len(chunk)
                if stream.read(1):
                    raise TruncatedFileError(self.label, f"array {name[:80]!r} has trailing bytes")
        except ModelFileError:
            raise
        except Exception as exc:
            raise self._read_error(f"array {name[:80]!r}", exc) from None
        if fortran:
            return np.ascontiguousarray(arr.reshape(shape, order="F"))
        return arr.reshape(shape)

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()
        self._file.close()

    def __enter__(self) -> "NpzReader":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def read_npz(source: Source, label: Optional[str] = None, limits: Optional[Limits] = None, kinds: str = "biuf",
             names: Optional[Iterable[str]] = None) -> Dict[str, np.ndarray]:
    """The arrays of an ``.npz`` (all of them, or ``names``), read through :class:`NpzReader`.

    Raises
    ------
    ModelFileError
        A subclass with a one-line reason for every way the file can be bad.
    """
    with NpzReader(source, label, limits) as reader:
        wanted: Sequence[str] = reader.names if names is None else list(names)
        return {name: reader.read(name, kinds) for name in wanted}


def loads_json(raw: bytes, label: str, what: str, limits: Optional[Limits] = None,
               error: type = NotAModelFileError) -> Any:
    """Parse bounded UTF-8 JSON: size and nesting depth checked, no RecursionError escapes."""
    import json

    limits = current_limits(limits)
    if len(raw) > limits.max_spec_bytes:
        raise LimitExceededError(label, f"the {what} is {_mb(len(raw))}, over the limit of "
                                        f"{_mb(limits.max_spec_bytes)} (Limits.max_spec_bytes)")
    # an upper bound (brackets inside strings count too), checked before parsing: a few bytes
    # of "{}," become a 64-byte dict each
    containers = raw.count(b"{") + raw.count(b"[")
    if containers > limits.max_json_containers:
        raise LimitExceededError(label, f"the {what} holds up to {containers} objects and arrays, over the limit of "
                                        f"{limits.max_json_containers} (Limits.max_json_containers)")
    try:
        value = json.loads(raw.decode("utf-8"))
    except RecursionError:
        raise LimitExceededError(label, f"the {what} is nested too deeply") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise error(label, f"the {what} is not valid JSON: {exc}") from None
    # iterative depth check, so later recursive walks stay far from the recursion limit
    # (only containers are stacked, so the check costs nothing next to the parsed document)
    stack = [(value, 1)] if isinstance(value, (dict, list)) else []
    while stack:
        item, depth = stack.pop()
        if depth > limits.max_json_depth:
            raise LimitExceededError(label, f"the {what} is nested more than {limits.max_json_depth} levels deep "
                                            f"(Limits.max_json_depth)")
        for v in (item.values() if isinstance(item, dict) else item):
            if isinstance(v, (dict, list)):
                stack.append((v, depth + 1))
    return value
