"""Hostile and broken input: a seeded, bounded fuzz suite for the model reader, Lasagne weights,
reproducers and the CLI.

Every case asserts the specific exception class (or exit code 2 with one line and no
traceback), and the memory cases assert that a file under 10 MB never costs more than
256 MB. Nothing big is committed: zip bombs and sparse files are built here, small on disk.
Categories (the test ids start with them): truncation, bitflip, member, bomb, special,
spec, fn, weights, reproducer, cli.
"""
from __future__ import annotations

import json
import os
import random
import struct
import subprocess
import sys
import threading
import tracemalloc
import warnings
import zipfile
import zlib
from io import BytesIO

import numpy as np
import pytest

import layers_np as L
from layers_np import io as mio
from layers_np import nonlinearities as nl
from layers_np import safe_npz

SEED = 20261130
MB = 1 << 20


# ---------------------------------------------------------------------------
# a small model and ways to rewrite it
# ---------------------------------------------------------------------------
def small_net(dtype="float32"):
    rng = np.random.RandomState(0)
    inp = L.InputLayer((None, 6), name="input")
    h = L.DenseLayer(inp, 5, W=rng.randn(6, 5).astype(dtype), b=rng.randn(5).astype(dtype),
                     nonlinearity=nl.LeakyRectify(0.2), name="hidden")
    return L.DenseLayer(h, 3, W=rng.randn(5, 3).astype(dtype), b=rng.randn(3).astype(dtype),
                        nonlinearity=nl.softmax, name="output")


MODEL = mio.dumps(small_net())
REFERENCE = [a.copy() for a in L.get_all_param_values(small_net())]


def members(data=MODEL):
    with np.load(BytesIO(data), allow_pickle=False) as f:
        return {k: f[k] for k in f.files}


def spec_of(data=MODEL):
    return json.loads(members(data)["__spec__"].tobytes().decode())


def npz(arrays, compressed=False):
    buf = BytesIO()
    (np.savez_compressed if compressed else np.savez)(buf, **arrays)
    return buf.getvalue()


def with_spec(spec, arrays=None, raw=None):
    """The model with its spec replaced (``raw``: the spec's bytes as given, not JSON-encoded)."""
    arrays = dict(members() if arrays is None else arrays)
    text = raw if raw is not None else json.dumps(spec).encode()
    arrays["__spec__"] = np.frombuffer(text, dtype=np.uint8)
    return npz(arrays)


def resealed(arrays, spec):
    """Arrays and spec edited consistently, checksums recomputed: what a careful attacker writes."""
    spec = json.loads(json.dumps(spec))
    for k, a in arrays.items():
        if k != "__spec__":
            spec["arrays"][k] = {"shape": list(a.shape), "dtype": a.dtype.name, "sha256": mio._digest(a)}
    return with_spec(spec, arrays)


def zip_members(entries, compression=zipfile.ZIP_STORED):
    """A zip of raw members (name -> bytes), duplicates allowed."""
    buf = BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate names some cases want
        with zipfile.ZipFile(buf, "w", compression) as z:
            for name, data in entries:
                z.writestr(name, data)
    return buf.getvalue()


def npy_bytes(arr):
    buf = BytesIO()
    np.save(buf, arr)
    return buf.getvalue()


def check(exc_info, cls):
    """The exact class, a ModelFileError, and one line."""
    assert type(exc_info.value) is cls, f"{type(exc_info.value).__name__}: {exc_info.value}"
    assert isinstance(exc_info.value, mio.ModelFileError)
    assert "\n" not in str(exc_info.value) and exc_info.value.reason


def load_bytes(data, cls, limits=None):
    with pytest.raises(mio.ModelFileError) as e:
        mio.loads(data, limits=limits)
    check(e, cls)
    return e.value


# ---------------------------------------------------------------------------
# truncation: every cut of the file is refused
# ---------------------------------------------------------------------------
_r = random.Random(SEED)
TRUNCATIONS = sorted({0, 1, 2, 3, 4, 22, len(MODEL) - 1, len(MODEL) - 22} | {_r.randrange(len(MODEL)) for _ in range(40)})


@pytest.mark.parametrize("n", TRUNCATIONS, ids=[f"truncation-{n}" for n in TRUNCATIONS])
def test_truncation(n):
    # fewer than 4 bytes cannot hold the zip signature; everything else is a cut-off archive
    load_bytes(MODEL[:n], mio.NotAModelFileError if 0 < n < 4 else mio.TruncatedFileError)


# ---------------------------------------------------------------------------
# bit flips: refused, or (a flip in a byte nothing reads: a timestamp, the local copy of a
# CRC) the very same model; never a different model
# ---------------------------------------------------------------------------
FLIP_CLASSES = (mio.ChecksumMismatchError, mio.TruncatedFileError, mio.BadMemberError, mio.MissingArraysError,
                mio.ExtraArraysError, mio.NotAModelFileError, mio.SpecError, mio.UnsupportedArrayError,
                mio.LimitExceededError, mio.ObjectArrayError)
_r = random.Random(SEED + 1)
FLIPS = [(_r.randrange(len(MODEL)), _r.randrange(8)) for _ in range(150)]


@pytest.mark.parametrize("pos, bit", FLIPS, ids=[f"bitflip-{p}-{b}" for p, b in FLIPS])
def test_bit_flip(pos, bit):
    data = bytearray(MODEL)
    data[pos] ^= 1 << bit
    try:
        model = mio.loads(bytes(data))
    except mio.ModelFileError as exc:
        assert isinstance(exc, FLIP_CLASSES) and "\n" not in str(exc)
        return
    for got, want in zip(L.get_all_param_values(model), REFERENCE):  # not tampered: the same weights
        assert got.dtype == want.dtype and np.array_equal(got, want)
    assert mio.read_spec(bytes(data))["layers"] == spec_of()["layers"]


# ---------------------------------------------------------------------------
# member edits
# ---------------------------------------------------------------------------
def _swap_header(old, new, key="hidden/W"):
    """Edit the .npy header of ``key`` in place (same length), keeping the zip valid."""
    arrays = members()
    raw = npy_bytes(arrays[key]).replace(old, new, 1)
    entries = [(k + ".npy", raw if k == key else npy_bytes(v)) for k, v in arrays.items()]
    return zip_members(entries)


def _big_endian_resealed():
    arrays = members()
    arrays["hidden/W"] = arrays["hidden/W"].astype(">f4")
    return resealed(arrays, spec_of())


def _param_dtype(dtype):
    arrays, spec = members(), spec_of()
    arrays["hidden/W"] = arrays["hidden/W"].astype(dtype)
    return resealed(arrays, spec)


def _param_dtype_spec_too(dtype):
    arrays, spec = members(), spec_of()
    arrays["hidden/W"] = arrays["hidden/W"].astype(dtype)
    for layer in spec["layers"]:
        for p in layer["params"]:
            if p["key"] == "hidden/W":
                p["dtype"] = np.dtype(dtype).name
    return resealed(arrays, spec)


def _entries(**changes):
    arrays = members()
    entries = [(k + ".npy", npy_bytes(v)) for k, v in arrays.items()]
    return entries


def _duplicate_central_entries(data, copies):
    """``copies`` extra central-directory entries, all pointing at the first member's data."""
    eocd = data.rfind(b"PK\x05\x06")
    _, _, _, _, n, cd_size, cd_offset, clen = struct.unpack("<4s4H2LH", data[eocd:eocd + 22])
    first = data[cd_offset:cd_offset + 46]
    name_len, extra_len, comment_len = struct.unpack("<HHH", first[28:34])
    entry = data[cd_offset:cd_offset + 46 + name_len + extra_len + comment_len]
    extra = b""
    for i in range(copies):
        name = f"copy{i:05d}.npy".encode()
        extra += entry[:28] + struct.pack("<H", len(name)) + entry[30:46] + name + entry[46 + name_len:]
    cd = data[cd_offset:cd_offset + cd_size] + extra
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, n + copies, n + copies, len(cd), cd_offset, 0)
    return data[:cd_offset] + cd + end


def _set_flag(data, flag, member_index=0):
    """Set a general-purpose flag bit in the central directory entry of one member."""
    eocd = data.rfind(b"PK\x05\x06")
    cd_offset = struct.unpack("<L", data[eocd + 16:eocd + 20])[0]
    pos = cd_offset
    for _ in range(member_index):
        name_len, extra_len, comment_len = struct.unpack("<HHH", data[pos + 28:pos + 34])
        pos += 46 + name_len + extra_len + comment_len
    out = bytearray(data)
    out[pos + 8:pos + 10] = struct.pack("<H", struct.unpack("<H", data[pos + 8:pos + 10])[0] | flag)
    return bytes(out)


def _compression(method):
    buf = BytesIO()
    with zipfile.ZipFile(buf, "w", method) as z:
        for k, v in members().items():
            z.writestr(k + ".npy", npy_bytes(v))
    return buf.getvalue()


def _many_members(n):
    entries = [(k + ".npy", npy_bytes(v)) for k, v in members().items()]
    entries += [(f"x{i}.npy", npy_bytes(np.zeros(1, np.uint8))) for i in range(n)]
    return zip_members(entries)


def _huge_header_shape():
    # declares 10**12 float32 elements in a 120-byte member: refused before any allocation
    return _swap_header(b"'shape': (6, 5), ", b"'shape': (1000000, 1000000), ".ljust(len(b"'shape': (6, 5), ")))


MEMBER_CASES = {
    "member-not-npy": (lambda: zip_members([(k + (".npy" if k != "hidden/b" else ".bin"), npy_bytes(v))
                                            for k, v in members().items()]), mio.BadMemberError),
    "member-not-npy-bytes": (lambda: zip_members([(k + ".npy", npy_bytes(v) if k != "hidden/b" else b"hello")
                                                  for k, v in members().items()]), mio.BadMemberError),
    "member-duplicate": (lambda: zip_members(_entries() + [("hidden/W.npy", npy_bytes(np.zeros((6, 5), np.float32)))]),
                         mio.BadMemberError),
    "member-unlisted": (lambda: npz({**members(), "smuggled": np.zeros(3)}), mio.ExtraArraysError),
    "member-missing": (lambda: npz({k: v for k, v in members().items() if k != "output/W"}), mio.MissingArraysError),
    "member-no-spec": (lambda: npz({k: v for k, v in members().items() if k != "__spec__"}), mio.NotAModelFileError),
    "member-too-many": (lambda: _many_members(safe_npz.DEFAULT_LIMITS.max_members), mio.LimitExceededError),
    "member-object-array": (lambda: npz({**members(), "hidden/W": np.array([{"a": 1}, None], dtype=object)}),
                            mio.ObjectArrayError),
    "member-big-endian-header": (lambda: _swap_header(b"'<f4'", b"'>f4'"), mio.UnsupportedArrayError),
    "member-big-endian-resealed": (_big_endian_resealed, mio.UnsupportedArrayError),
    "member-fortran-order": (lambda: _swap_header(b"'fortran_order': False", b"'fortran_order': True "),
                             mio.UnsupportedArrayError),
    "member-header-dtype-f8": (lambda: _swap_header(b"'<f4'", b"'<f8'"), mio.ChecksumMismatchError),
    "member-header-dtype-i4": (lambda: _swap_header(b"'<f4'", b"'<i4'"), mio.ChecksumMismatchError),
    "member-header-complex": (lambda: _swap_header(b"'<f4'", b"'<c8'"), mio.UnsupportedArrayError),
    "member-header-structured": (lambda: _swap_header(b"{'descr': '<f4', ", b"{'descr': [('a','<f4')], "[:17]),
                                 mio.BadMemberError),
    "member-header-eval": (lambda: _swap_header(b"'shape': (6, 5), ", b"'shape': __import__('os'),"[:17]),
                           mio.BadMemberError),
    "member-header-huge-shape": (_huge_header_shape, mio.ChecksumMismatchError),
    "member-param-float64": (lambda: _param_dtype("float64"), mio.SpecError),
    "member-param-float16": (lambda: _param_dtype("float16"), mio.SpecError),
    "member-param-int8": (lambda: _param_dtype("int8"), mio.SpecError),
    "member-param-bool": (lambda: _param_dtype("bool"), mio.SpecError),
    "member-param-float64-spec-too": (lambda: _param_dtype_spec_too("float64"), mio.SpecError),
    "member-param-complex64": (lambda: npz({**members(), "hidden/W": members()["hidden/W"].astype(np.complex64)}),
                               mio.UnsupportedArrayError),
    "member-shared-data": (lambda: _duplicate_central_entries(MODEL, 3), mio.BadMemberError),
    "member-encrypted": (lambda: _set_flag(MODEL, 0x1), mio.BadMemberError),
    "member-patched": (lambda: _set_flag(MODEL, 0x20, 1), mio.BadMemberError),
    "member-bzip2": (lambda: _compression(zipfile.ZIP_BZIP2), mio.BadMemberError),
    "member-lzma": (lambda: _compression(zipfile.ZIP_LZMA), mio.BadMemberError),
    "member-compressed-ok": (lambda: npz(members(), compressed=True), None),
}


@pytest.mark.parametrize("name", list(MEMBER_CASES), ids=list(MEMBER_CASES))
def test_member_edit(name):
    build, cls = MEMBER_CASES[name]
    data = build()
    if cls is None:  # a deflated model is still a valid model
        np.testing.assert_array_equal(L.get_all_param_values(mio.loads(data))[0], REFERENCE[0])
        return
    load_bytes(data, cls)


# ---------------------------------------------------------------------------
# zip bombs, small on disk, refused before decompression and in bounded memory
# ---------------------------------------------------------------------------
def _deflated_zeros_member(name, nbytes):
    """One deflated member of ``nbytes`` zeros (a valid .npy of uint8), built in 1 MiB chunks."""
    buf = BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": "|u1", "fortran_order": False, "shape": (nbytes,)})
    header = buf.getvalue()
    body_len = len(header) + nbytes
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    out = [comp.compress(header)]
    crc = zlib.crc32(header)
    chunk = bytes(MB)
    left = nbytes
    while left:
        part = chunk[:min(MB, left)]
        out.append(comp.compress(part))
        crc = zlib.crc32(part, crc)
        left -= len(part)
    out.append(comp.flush())
    return name, b"".join(out), crc, body_len


def _raw_zip(members_):
    """A zip of pre-deflated members: (name, compressed, crc, size)."""
    out = BytesIO()
    central = []
    for name, comp, crc, size in members_:
        offset = out.tell()
        n = name.encode()
        out.write(struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, 8, 0, 0, crc, len(comp), size, len(n), 0) + n)
        out.write(comp)
        central.append(struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, 8, 0, 0, crc, len(comp), size, len(n),
                                   0, 0, 0, 0, 0, offset) + n)
    cd_offset = out.tell()
    cd = b"".join(central)
    out.write(cd)
    out.write(struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(central), len(central), len(cd), cd_offset, 0))
    return out.getvalue()


def _bomb_one(nbytes=200 * MB):
    return _raw_zip([_deflated_zeros_member("__spec__.npy", nbytes)])


def _bomb_many_small(n=40, each=MB):
    m = _deflated_zeros_member("x.npy", each)
    return _raw_zip([(f"x{i}.npy",) + m[1:] for i in range(n)])


def _bomb_shared(copies=400):
    return _duplicate_central_entries(_raw_zip([_deflated_zeros_member("__spec__.npy", 8 * MB)]), copies)


def _deflated_spec(text):
    """A model whose spec is ``text`` (deflated: megabytes of JSON in kilobytes on disk)."""
    arrays = members()
    arrays["__spec__"] = np.frombuffer(text, dtype=np.uint8)
    return npz(arrays, compressed=True)


def _json_bomb_dicts():
    return _deflated_spec(b"[" + b"{}," * 1_000_000 + b"{}]")  # 3 MB of JSON, 1M dicts


def _json_bomb_strings():
    n = (safe_npz.DEFAULT_LIMITS.max_spec_bytes - 16) // 5
    return _deflated_spec(b"[" + b'"ab",' * n + b'"ab"]')  # the largest spec allowed, all short strings


def _json_too_big():
    return _deflated_spec(b"[" + b"1," * (safe_npz.DEFAULT_LIMITS.max_spec_bytes // 2) + b"1]")


def _bomb_lying_size():
    # declares 1 KiB but the stream inflates to 50 MiB: reading stops at the declared size
    name, comp, crc, size = _deflated_zeros_member("__spec__.npy", 50 * MB)
    return _raw_zip([(name, comp, crc, 1024)])


BOMB_CASES = {
    "bomb-one-member-200MB": (_bomb_one, mio.LimitExceededError),
    "bomb-40-members-of-1MB": (_bomb_many_small, mio.LimitExceededError),
    "bomb-400-entries-one-stream": (_bomb_shared, mio.BadMemberError),
    "bomb-lying-declared-size": (_bomb_lying_size, mio.ChecksumMismatchError),  # stops at 1 KiB, CRC fails
    "bomb-member-over-limit": (lambda: _bomb_one(3 * MB), mio.LimitExceededError),
    "bomb-json-1M-dicts": (_json_bomb_dicts, mio.LimitExceededError),
    "bomb-json-largest-spec": (_json_bomb_strings, mio.NotAModelFileError),
    "bomb-json-over-size": (_json_too_big, mio.LimitExceededError),
}


@pytest.mark.parametrize("name", list(BOMB_CASES), ids=list(BOMB_CASES))
def test_zip_bomb(name):
    build, cls = BOMB_CASES[name]
    data = build()
    assert len(data) < 10 * MB
    limits = safe_npz.Limits(max_member_bytes=2 * MB) if name == "bomb-member-over-limit" else None
    tracemalloc.start()
    try:
        load_bytes(data, cls, limits=limits)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # the largest spec the limits allow is parsed (4 MiB of 2-letter strings: ~55 MB of Python
    # objects); everything else is refused before it is inflated
    bound = 96 * MB if name == "bomb-json-largest-spec" else 32 * MB
    assert peak < bound, f"{peak / MB:.1f} MiB traced for a {len(data) / MB:.2f} MiB file"


def test_bombs_stay_under_256MB_in_a_fresh_process(tmp_path):
    """The same bombs (and a 5e7-unit spec) from files, in a child process: peak RSS < 256 MB."""
    paths = []
    for name, (build, _) in BOMB_CASES.items():
        path = tmp_path / f"{name}.npz"
        path.write_bytes(build())
        paths.append(str(path))
    path = tmp_path / "huge-num-units.npz"
    path.write_bytes(_huge_num_units())
    paths.append(str(path))
    # VmHWM is the peak RSS of this process image; ru_maxrss would also count the pytest parent's
    # RSS at fork time, which Linux carries across fork and exec
    code = ("import sys, layers_np.io as m\n"
            "for p in sys.argv[1:]:\n"
            "    try:\n        m.load(p)\n    except m.ModelFileError:\n        pass\n"
            "    else:\n        raise SystemExit('loaded ' + p)\n"
            "print(next(l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM:')))\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([os.getcwd()] + sys.path)}
    out = subprocess.run([sys.executable, "-c", code, *paths], capture_output=True, text=True, timeout=60, env=env)
    assert out.returncode == 0, out.stderr
    assert int(out.stdout.split()[-1]) * 1024 < 256 * MB  # VmHWM is in kB


# ---------------------------------------------------------------------------
# special files: never block, never read whole
# ---------------------------------------------------------------------------
def _loaders():
    from harness.reproducer import load_reproducer

    return {"model": mio.load, "spec": mio.read_spec, "weights": mio.read_lasagne_weights,
            "reproducer": load_reproducer, "npz": safe_npz.read_npz}


def _with_timeout(fn, seconds=10):
    result = {}

    def run():
        try:
            fn()
        except BaseException as exc:  # noqa: BLE001 - reported to the test thread
            result["exc"] = exc

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(seconds)
    assert not t.is_alive(), "the reader blocked"
    return result.get("exc")


def _special(kind, tmp_path):
    if kind == "fifo":
        path = tmp_path / "fifo.npz"
        os.mkfifo(path)
        return path
    if kind == "fifo-symlink":
        os.mkfifo(tmp_path / "fifo")
        os.symlink(tmp_path / "fifo", tmp_path / "link.npz")
        return tmp_path / "link.npz"
    if kind == "directory":
        return tmp_path
    if kind in ("dev-zero", "dev-urandom"):
        return "/dev/" + kind[4:]
    if kind == "sparse-3GiB":
        path = tmp_path / "sparse.npz"
        with open(path, "wb") as f:
            f.truncate(3 << 30)
        return path
    if kind == "sparse-5GiB":
        path = tmp_path / "sparse.npz"
        with open(path, "wb") as f:
            f.truncate(5 << 30)
        return path
    if kind == "sparse-zip-3GiB":  # a zip signature, then 3 GiB of nothing
        path = tmp_path / "sparse.npz"
        with open(path, "wb") as f:
            f.write(b"PK\x03\x04")
            f.truncate(3 << 30)
        return path
    if kind == "missing":
        return tmp_path / "missing.npz"
    raise AssertionError(kind)


SPECIAL = {"fifo": mio.UnsafeFileError, "fifo-symlink": mio.UnsafeFileError, "directory": mio.UnsafeFileError,
           "dev-zero": mio.UnsafeFileError, "dev-urandom": mio.UnsafeFileError, "sparse-3GiB": mio.NotAModelFileError,
           "sparse-5GiB": mio.LimitExceededError, "sparse-zip-3GiB": mio.TruncatedFileError,
           "missing": mio.ModelFileError}
SPECIAL_CASES = [(k, loader) for k in SPECIAL for loader in ("model", "spec", "weights", "reproducer", "npz")]


@pytest.mark.parametrize("kind, loader", SPECIAL_CASES, ids=[f"special-{k}-{l}" for k, l in SPECIAL_CASES])
def test_special_file(kind, loader, tmp_path):
    path = _special(kind, tmp_path)
    exc = _with_timeout(lambda: _loaders()[loader](path))
    assert type(exc) is SPECIAL[kind], repr(exc)
    assert "\n" not in str(exc)


def test_special_file_limit_is_configurable(tmp_path):
    path = tmp_path / "m.npz"
    path.write_bytes(MODEL)
    with pytest.raises(mio.LimitExceededError, match="max_file_bytes"):
        mio.load(path, limits=safe_npz.Limits(max_file_bytes=1000))
    previous = safe_npz.set_default_limits(max_file_bytes=1000)
    try:
        with pytest.raises(mio.LimitExceededError):
            mio.load(path)
    finally:
        safe_npz.set_default_limits(previous)
    assert mio.load(path) is not None


# ---------------------------------------------------------------------------
# crafted specs
# ---------------------------------------------------------------------------
def _edit(fn):
    spec = spec_of()
    fn(spec)
    return with_spec(spec)


def _layer(spec, name):
    return next(l for l in spec["layers"] if l["name"] == name)


def _set_arg(name, value, layer="hidden"):
    return lambda: _edit(lambda s: _layer(s, layer)["args"].__setitem__(name, value))


def _huge_num_units():
    """num_units 5e7 with initialiser placeholders: refused before a 1.2 GB W is allocated."""
    spec = spec_of()
    args = _layer(spec, "output")["args"]
    args["num_units"] = 50_000_000
    args["W"] = {"$init": "GlorotUniform"}
    args["b"] = {"$init": "Constant"}
    return with_spec(spec)


def _nested(depth):
    return with_spec(None, raw=("[" * depth + "]" * depth).encode())


def _nested_arg(depth):
    value = 1
    for _ in range(depth):
        value = {"$tuple": [value]}
    return _set_arg("num_leading_axes", value)()


def _spec_as(dtype):
    arrays = members()
    arrays["__spec__"] = np.frombuffer(json.dumps(spec_of()).encode(), np.uint8).astype(dtype)
    return npz(arrays)


SPEC_CASES = {
    "spec-not-json": (lambda: with_spec(None, raw=b"{not json"), mio.SpecError),
    "spec-not-utf8": (lambda: with_spec(None, raw=b"\xff\xfe{}"), mio.SpecError),
    "spec-nested-2000": (lambda: _nested(2000), mio.LimitExceededError),
    "spec-nested-100000": (lambda: _nested(100_000), mio.LimitExceededError),
    "spec-nested-args-200": (lambda: _nested_arg(200), mio.LimitExceededError),
    "spec-a-list": (lambda: with_spec([1, 2]), mio.NotAModelFileError),
    "spec-uint16": (lambda: _spec_as(np.uint16), mio.SpecError),
    "spec-2d": (lambda: npz({**members(), "__spec__": members()["__spec__"].reshape(1, -1)}), mio.SpecError),
    "spec-format-other": (lambda: _edit(lambda s: s.__setitem__("format", "keras")), mio.NotAModelFileError),
    "spec-version-string": (lambda: _edit(lambda s: s.__setitem__("format_version", "2")), mio.SpecError),
    "spec-version-zero": (lambda: _edit(lambda s: s.__setitem__("format_version", 0)), mio.SpecError),
    "spec-version-bool": (lambda: _edit(lambda s: s.__setitem__("format_version", True)), mio.SpecError),
    "spec-version-newer": (lambda: _edit(lambda s: s.__setitem__("format_version", 99)), mio.NewerFormatError),
    "spec-dtype-complex": (lambda: _edit(lambda s: s.__setitem__("dtype", "complex64")), mio.SpecError),
    "spec-dtype-object": (lambda: _edit(lambda s: s.__setitem__("dtype", "O")), mio.SpecError),
    "spec-layers-dict": (lambda: _edit(lambda s: s.__setitem__("layers", {})), mio.SpecError),
    "spec-outputs-empty": (lambda: _edit(lambda s: s.__setitem__("outputs", [])), mio.SpecError),
    "spec-outputs-unknown": (lambda: _edit(lambda s: s.__setitem__("outputs", ["nowhere"])), mio.SpecError),
    "spec-multiple-outputs-yes": (lambda: _edit(lambda s: s.__setitem__("multiple_outputs", "yes")), mio.SpecError),
    "spec-inputs-bad-shape": (lambda: _edit(lambda s: s["inputs"][0].__setitem__("shape", [None, -6])), mio.SpecError),
    "spec-inputs-bad-dtype": (lambda: _edit(lambda s: s["inputs"][0].__setitem__("dtype", "object")), mio.SpecError),
    "spec-params-int": (lambda: _edit(lambda s: _layer(s, "hidden").__setitem__("params", 5)), mio.SpecError),
    "spec-params-wrong-key": (lambda: _edit(lambda s: _layer(s, "hidden")["params"][0].__setitem__("key", "x")),
                              mio.SpecError),
    "spec-params-shape": (lambda: _edit(lambda s: _layer(s, "hidden")["params"][0].__setitem__("shape", [6, 50])),
                          mio.SpecError),
    "spec-params-shared-key": (lambda: _edit(lambda s: _layer(s, "output")["params"][0].__setitem__(
        "key", "hidden/W")), mio.SpecError),
    "spec-array-no-sha": (lambda: _edit(lambda s: s["arrays"]["hidden/W"].pop("sha256")), mio.SpecError),
    "spec-array-negative-shape": (lambda: _edit(lambda s: s["arrays"]["hidden/b"].__setitem__("shape", [-5])),
                                  mio.SpecError),
    "spec-array-sha-other": (lambda: _edit(lambda s: s["arrays"]["hidden/b"].__setitem__("sha256", "0" * 64)),
                             mio.ChecksumMismatchError),
    "spec-layer-entry-list": (lambda: _edit(lambda s: s["layers"].__setitem__(1, [])), mio.SpecError),
    "spec-layer-class-unknown": (lambda: _edit(lambda s: _layer(s, "hidden").__setitem__("class", "TeleportLayer")),
                                 mio.UnknownLayerError),
    "spec-layer-class-dunder": (lambda: _edit(lambda s: _layer(s, "hidden").__setitem__("class", "__class__")),
                                mio.UnknownLayerError),
    "spec-layer-class-expression": (lambda: _edit(lambda s: _layer(s, "hidden").__setitem__(
        "class", "ExpressionLayer")), mio.UnknownLayerError),
    "spec-layer-class-base": (lambda: _edit(lambda s: _layer(s, "hidden").__setitem__("class", "Layer")),
                              mio.UnknownLayerError),
    "spec-layer-class-merge-base": (lambda: _edit(lambda s: _layer(s, "hidden").__setitem__("class", "MergeLayer")),
                                    mio.UnknownLayerError),
    "spec-layer-name-twice": (lambda: _edit(lambda s: _layer(s, "output").__setitem__("name", "hidden")),
                              mio.SpecError),
    "spec-output-shape-missing": (lambda: _edit(lambda s: _layer(s, "hidden").pop("output_shape")), mio.SpecError),
    "spec-output-shape-differs": (lambda: _edit(lambda s: _layer(s, "hidden").__setitem__("output_shape", [None, 7])),
                                  mio.SpecError),
    "spec-num-units-huge": (_huge_num_units, mio.SpecError),
    "spec-num-units-zero": (_set_arg("num_units", 0), mio.SpecError),
    "spec-num-units-negative": (_set_arg("num_units", -5), mio.SpecError),
    "spec-num-units-bool": (_set_arg("num_units", True), mio.SpecError),
    "spec-num-units-float": (_set_arg("num_units", 5.0), mio.SpecError),
    "spec-num-units-2**70": (_set_arg("num_units", 2 ** 70), mio.SpecError),
    "spec-num-leading-axes-bool": (_set_arg("num_leading_axes", False), mio.SpecError),
    "spec-leakiness-nan-literal": (lambda: with_spec(None, raw=json.dumps(spec_of()).replace(
        '"leakiness": 0.2', '"leakiness": NaN').encode()), mio.SpecError),
    "spec-leakiness-float-tag-nan": (_set_arg("nonlinearity", {"$object": "nonlinearities.LeakyRectify",
                                                               "args": {"leakiness": {"$float": "nan"}}}),
                                     mio.SpecError),
    "spec-leakiness-inf": (_set_arg("nonlinearity", {"$object": "nonlinearities.LeakyRectify",
                                                     "args": {"leakiness": {"$float": "inf"}}}), mio.SpecError),
    "spec-leakiness-string": (_set_arg("nonlinearity", {"$object": "nonlinearities.LeakyRectify",
                                                        "args": {"leakiness": "0.2"}}), mio.SpecError),
    "spec-leakiness-bool": (_set_arg("nonlinearity", {"$object": "nonlinearities.LeakyRectify",
                                                      "args": {"leakiness": True}}), mio.SpecError),
    "spec-object-unknown-arg": (_set_arg("nonlinearity", {"$object": "nonlinearities.LeakyRectify",
                                                          "args": {"evil": 1}}), mio.SpecError),
    "spec-object-args-list": (_set_arg("nonlinearity", {"$object": "nonlinearities.LeakyRectify", "args": [1]}),
                              mio.SpecError),
    "spec-float-tag-bad": (_set_arg("num_units", {"$float": "1e999"}), mio.SpecError),
    "spec-dict-as-list": (_set_arg("num_units", {"$dict": [1, 2]}), mio.SpecError),
    "spec-slice-5-items": (_set_arg("num_units", {"$slice": [1, 2, 3, 4, 5]}), mio.SpecError),
    "spec-slice-strings": (_set_arg("num_units", {"$slice": ["a", None, None]}), mio.SpecError),
    "spec-tuple-string": (_set_arg("num_units", {"$tuple": "abc"}), mio.SpecError),
    "spec-two-tags": (_set_arg("num_units", {"$tuple": [], "$dict": {}}), mio.SpecError),
    "spec-tag-and-key": (_set_arg("num_units", {"$tuple": [], "evil": 1}), mio.SpecError),
    "spec-unknown-tag": (_set_arg("num_units", {"$eval": "1+1"}), mio.SpecError),
    "spec-plain-object": (_set_arg("num_units", {"a": 1}), mio.SpecError),
    "spec-layer-ref-unknown": (_set_arg("incoming", {"$layer": "nowhere"}), mio.SpecError),
    "spec-layer-ref-forward": (_set_arg("incoming", {"$layer": "output"}), mio.SpecError),
    "spec-layer-ref-int": (_set_arg("incoming", {"$layer": 3}), mio.SpecError),
    "spec-array-ref-unknown": (_set_arg("W", {"$array": "nowhere"}), mio.SpecError),
    "spec-zeros-huge": (_set_arg("W", {"$zeros": {"shape": [100000, 100000], "dtype": "float32"}}), mio.SpecError),
    "spec-zeros-2**50": (_set_arg("W", {"$zeros": {"shape": [2 ** 25, 2 ** 25], "dtype": "float32"}}),
                         mio.SpecError),
    "spec-zeros-object": (_set_arg("W", {"$zeros": {"shape": [6, 5], "dtype": "object"}}), mio.SpecError),
    "spec-zeros-list": (_set_arg("W", {"$zeros": [6, 5]}), mio.SpecError),
    "spec-dtype-tag-object": (_set_arg("num_units", {"$dtype": "O"}), mio.SpecError),
    "spec-init-unknown": (_set_arg("W", {"$init": "set_rng"}), mio.UnknownFunctionError),
    "spec-init-list": (_set_arg("W", {"$init": ["Constant"]}), mio.UnknownFunctionError),
    "spec-arg-name-invalid": (_set_arg("not an identifier", 1), mio.SpecError),
    "spec-arg-unknown": (_set_arg("frobnicate", 1), mio.SpecError),
    "spec-name-int": (_set_arg("name", 5), mio.SpecError),
    "spec-input-shape-negative": (_set_arg("shape", {"$tuple": [None, -6]}, layer="input"), mio.SpecError),
    "spec-input-shape-huge": (_set_arg("shape", {"$tuple": [2 ** 40, 6]}, layer="input"), mio.SpecError),
    "spec-input-shape-list": (_set_arg("shape", [None, 6], layer="input"), mio.SpecError),
}


@pytest.mark.parametrize("name", list(SPEC_CASES), ids=list(SPEC_CASES))
def test_crafted_spec(name):
    build, cls = SPEC_CASES[name]
    data = build()
    tracemalloc.start()
    try:
        load_bytes(data, cls)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 32 * MB, f"{peak / MB:.1f} MiB traced"


def test_recurrent_hyperparameters_are_type_checked():
    inp = L.InputLayer((None, 4, 3), name="seq")
    net = L.LSTMLayer(inp, 2, name="lstm")
    data = mio.dumps(net)
    spec = spec_of(data)
    spec["layers"][1]["args"]["backwards"] = "yes"
    load_bytes(with_spec(spec, members(data)), mio.SpecError)
    spec = spec_of(data)
    spec["layers"][1]["args"]["ingate"]["args"]["nonlinearity"] = {"$fn": "layers_np.init.set_rng"}
    load_bytes(with_spec(spec, members(data)), mio.UnknownFunctionError)
    spec = spec_of(data)
    spec["layers"][1]["args"]["ingate"] = {"$object": "nonlinearities.LeakyRectify", "args": {}}
    load_bytes(with_spec(spec, members(data)), mio.UnknownFunctionError)
    assert mio.loads(data) is not None


# ---------------------------------------------------------------------------
# function references: one allow-list per slot, nothing else resolves (and nothing is called)
# ---------------------------------------------------------------------------
def _all_callable_names():
    """Every callable a spec could try to name: each layers_np module's public and private
    functions, numpy's top-level functions, and a few classics."""
    import importlib
    import pkgutil

    names = set()
    for info in pkgutil.iter_modules(L.__path__):
        module = importlib.import_module(f"layers_np.{info.name}")
        for attr, value in vars(module).items():
            if callable(value):
                names.add(f"layers_np.{info.name}.{attr}")
                if info.name in ("nonlinearities", "init"):
                    names.add(f"{info.name}.{attr}")
    for attr in sorted(dir(np))[::7]:  # a seeded-free but bounded sample of numpy's namespace
        if callable(getattr(np, attr, None)):
            names.add(f"numpy.{attr}")
    names |= {"os.system", "builtins.eval", "subprocess.call", "numpy.load", "layers_np.io.load",
              "layers_np.atomic.atomic_write", "nonlinearities.__builtins__", "layers_np.base.np", ""}
    return sorted(names)


SLOTS = ["nonlinearity", "pool_function", "merge_function", "convolution", "W", "incoming", "name"]
_r = random.Random(SEED + 2)
_candidates = _all_callable_names()
FN_CASES = [(slot, ref) for slot in SLOTS for ref in _candidates
            if ref not in mio.ALLOWED_FUNCTIONS.get(slot, ())]
FN_CASES = sorted(_r.sample(FN_CASES, 150) + [(s, "layers_np.init.set_rng") for s in SLOTS])


@pytest.mark.parametrize("slot, ref", FN_CASES, ids=[f"fn-{s}-{r}" for s, r in FN_CASES])
def test_function_outside_the_allow_list(slot, ref, monkeypatch):
    calls = []
    monkeypatch.setattr(L.init, "set_rng", lambda *a, **k: calls.append(a))
    state = L.init.get_rng().get_state()[1].copy()
    data = _set_arg(slot, {"$fn": ref})()
    load_bytes(data, mio.UnknownFunctionError)
    assert calls == [] and np.array_equal(L.init.get_rng().get_state()[1], state)


OBJECT_CASES = [("nonlinearity", "layers_np.DenseLayer"), ("nonlinearity", "init.Normal"),
                ("nonlinearity", "layers_np.Gate"), ("nonlinearity", "nonlinearities.Evil"),
                ("ingate", "nonlinearities.LeakyRectify"), ("W", "init.Constant"), ("incoming", "layers_np.Gate"),
                ("nonlinearity", "layers_np.io.ModelInputLayer"), ("nonlinearity", 5)]


@pytest.mark.parametrize("slot, ref", OBJECT_CASES, ids=[f"fn-object-{s}-{r}" for s, r in OBJECT_CASES])
def test_object_outside_the_allow_list(slot, ref):
    load_bytes(_set_arg(slot, {"$object": ref, "args": {}})(), mio.UnknownFunctionError)


@pytest.mark.parametrize("slot, ref", [(s, r) for s, refs in mio.ALLOWED_FUNCTIONS.items() for r in refs],
                         ids=[f"fn-allowed-{s}-{r}" for s, refs in mio.ALLOWED_FUNCTIONS.items() for r in refs])
def test_every_allowed_function_resolves_and_round_trips(slot, ref):
    fn = mio._resolve_function(ref)
    assert callable(fn) and not isinstance(fn, type)
    if ref.startswith("nonlinearities."):  # identity is linear: both names resolve to one function
        assert getattr(nl, ref.split(".")[1]) is fn
    assert mio._function_reference(fn) in mio.ALLOWED_FUNCTIONS[slot] + mio.ALLOWED_FUNCTIONS["nonlinearity"]


def test_allowed_nonlinearities_load():
    for ref in mio.ALLOWED_FUNCTIONS["nonlinearity"]:
        model = mio.loads(_set_arg("nonlinearity", {"$fn": ref})())
        assert model(np.ones((2, 6), np.float32)).shape == (2, 3)
    for ref in mio.ALLOWED_OBJECTS["nonlinearity"]:
        args = {"leakiness": 0.1} if ref.endswith("LeakyRectify") else {}
        model = mio.loads(_set_arg("nonlinearity", {"$object": ref, "args": args})())
        assert model(np.ones((2, 6), np.float32)).shape == (2, 3)


# ---------------------------------------------------------------------------
# Lasagne weights
# ---------------------------------------------------------------------------
def _weights(**arrays):
    return npz(arrays)


WEIGHT_CASES = {
    "weights-sparse-index": (lambda: _weights(arr_0=np.zeros(3, np.float32), arr_100000000=np.zeros(3, np.float32)),
                             mio.WeightsMismatchError),
    "weights-huge-index": (lambda: _weights(arr_0=np.zeros(3, np.float32), **{"arr_" + "9" * 40: np.zeros(1)}),
                           mio.WeightsMismatchError),
    "weights-leading-zero": (lambda: _weights(arr_0=np.zeros(3, np.float32), arr_01=np.zeros(3, np.float32)),
                             mio.WeightsMismatchError),
    "weights-negative": (lambda: _weights(**{"arr_0": np.zeros(3), "arr_-1": np.zeros(3)}), mio.WeightsMismatchError),
    "weights-named": (lambda: _weights(W=np.zeros(3)), mio.WeightsMismatchError),
    "weights-model-file": (lambda: MODEL, mio.WeightsMismatchError),
    "weights-big-endian": (lambda: _weights(arr_0=np.zeros(3, ">f4")), mio.UnsupportedArrayError),
    "weights-int": (lambda: _weights(arr_0=np.zeros(3, np.int32)), mio.UnsupportedArrayError),
    "weights-complex": (lambda: _weights(arr_0=np.zeros(3, np.complex64)), mio.UnsupportedArrayError),
    "weights-object": (lambda: _weights(arr_0=np.array([None, {}], dtype=object)), mio.ObjectArrayError),
    "weights-string": (lambda: _weights(arr_0=np.array(["x"])), mio.UnsupportedArrayError),
    "weights-truncated": (lambda: _weights(arr_0=np.zeros(300, np.float32))[:-40], mio.TruncatedFileError),
    "weights-bomb": (lambda: _bomb_one(), mio.LimitExceededError),
}


@pytest.mark.parametrize("name", list(WEIGHT_CASES), ids=list(WEIGHT_CASES))
def test_lasagne_weights(name, tmp_path):
    build, cls = WEIGHT_CASES[name]
    path = tmp_path / "w.npz"
    path.write_bytes(build())
    with pytest.raises(mio.ModelFileError) as e:
        mio.load_lasagne_weights(small_net(), path)
    check(e, cls)


# ---------------------------------------------------------------------------
# reproducers and `twins replay`
# ---------------------------------------------------------------------------
GOOD_META = {"pair": "DenseLayer", "dtype": "float32", "kwargs": {"num_units": 3, "nonlinearity": {
    "__fn__": "rectify", "args": {}}}, "input_shapes": [[2, 4]], "declared_shapes": [[None, 4]],
    "values": {"dist": "normal", "scale": 1.0, "seed": 0, "param_scale": 1.0}, "param_names": ["W", "b"]}


def _repro(meta=GOOD_META, raw=None, **arrays):
    base = {"input_0": np.zeros((2, 4), np.float32), "param_0": np.zeros((4, 3), np.float32),
            "param_1": np.zeros(3, np.float32)}
    base.update(arrays)
    base = {k: v for k, v in base.items() if v is not None}
    base["meta"] = np.array(raw if raw is not None else json.dumps(meta))
    return npz(base)


def _meta(**changes):
    meta = json.loads(json.dumps(GOOD_META))
    meta.update(changes)
    return _repro(meta)


REPRO_CASES = {
    "reproducer-not-json": lambda: _repro(raw="{nope"),
    "reproducer-nested": lambda: _repro(raw="[" * 5000 + "]" * 5000),
    "reproducer-list": lambda: _repro(raw="[1, 2]"),
    "reproducer-no-meta": lambda: npz({"input_0": np.zeros(3)}),
    "reproducer-meta-numeric": lambda: npz({"meta": np.zeros(3)}),
    "reproducer-meta-1d": lambda: npz({"meta": np.array(["{}", "{}"])}),
    "reproducer-pair-int": lambda: _meta(pair=5),
    "reproducer-dtype": lambda: _meta(dtype="float16"),
    "reproducer-kwargs-list": lambda: _meta(kwargs=[1]),
    "reproducer-shapes-str": lambda: _meta(input_shapes="abc"),
    "reproducer-shapes-negative": lambda: _meta(input_shapes=[[-2, 4]]),
    "reproducer-shapes-mismatch": lambda: _meta(input_shapes=[[3, 4]]),
    "reproducer-declared-length": lambda: _meta(declared_shapes=[]),
    "reproducer-values-nan": lambda: _meta(values={"dist": "normal", "scale": float("nan"), "seed": 0}),
    "reproducer-values-missing": lambda: _meta(values={}),
    "reproducer-param-names-int": lambda: _meta(param_names=[1, 2]),
    "reproducer-fn-import": lambda: _meta(kwargs={"nonlinearity": {"__fn__": "__import__", "args": {"name": "os"}}}),
    "reproducer-fn-np": lambda: _meta(kwargs={"nonlinearity": {"__fn__": "np", "args": {}}}),
    "reproducer-fn-args-list": lambda: _meta(kwargs={"nonlinearity": {"__fn__": "rectify", "args": [1]}}),
    "reproducer-tuple-str": lambda: _meta(kwargs={"x": {"__tuple__": "abc"}}),
    "reproducer-num-units-1e9": lambda: _meta(kwargs={"num_units": 10 ** 9}),
    "reproducer-kwarg-nan": lambda: _meta(kwargs={"num_units": 3, "alpha": float("nan")}),
    "reproducer-declared-misfit": lambda: _meta(declared_shapes=[[None, 5]]),
    "reproducer-missing-param": lambda: _repro(param_1=None),
    "reproducer-extra-array": lambda: _repro(evil=np.zeros(3)),
    "reproducer-object-array": lambda: _repro(input_0=np.array([None], dtype=object)),
    "reproducer-truncated": lambda: _repro()[:-30],
    "reproducer-bomb": lambda: _bomb_one(),
    "reproducer-model-file": lambda: MODEL,
}


def _replay(path):
    code = ("import sys\nfrom harness.cli import main\nsys.exit(main(['replay', sys.argv[1]]))\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([os.getcwd()] + sys.path)}
    return subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=120,
                          env=env)


@pytest.mark.parametrize("name", list(REPRO_CASES), ids=list(REPRO_CASES))
def test_reproducer(name, tmp_path):
    from harness.reproducer import ReproducerError, load_reproducer

    path = tmp_path / "r.npz"
    path.write_bytes(REPRO_CASES[name]())
    with pytest.raises(mio.ModelFileError) as e:
        load_reproducer(str(path))
    assert "\n" not in str(e.value)
    expected = {"reproducer-nested": mio.LimitExceededError, "reproducer-object-array": mio.ObjectArrayError,
                "reproducer-truncated": mio.TruncatedFileError, "reproducer-bomb": mio.LimitExceededError,
                "reproducer-meta-numeric": mio.UnsupportedArrayError}.get(name, ReproducerError)
    assert type(e.value) is expected, repr(e.value)


def test_good_reproducer_loads(tmp_path):
    from harness.reproducer import load_reproducer

    path = tmp_path / "r.npz"
    path.write_bytes(_repro())
    case, inputs, params = load_reproducer(str(path))
    assert case.pair == "DenseLayer" and inputs[0].shape == (2, 4) and len(params) == 2


REPLAY_CASES = ["reproducer-not-json", "reproducer-fn-import", "reproducer-truncated", "reproducer-model-file"]


@pytest.mark.parametrize("name", REPLAY_CASES, ids=[f"cli-replay-{n}" for n in REPLAY_CASES])
def test_replay_cli_one_line(name, tmp_path):
    path = tmp_path / "r.npz"
    path.write_bytes(REPRO_CASES[name]())
    out = _replay(path)
    assert out.returncode == 2, out.stderr
    assert "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1, out.stderr


def test_replay_cli_unknown_pair_and_fifo(tmp_path):
    path = tmp_path / "r.npz"
    path.write_bytes(_meta(pair="NoSuchPair"))
    out = _replay(path)
    assert out.returncode == 2 and "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1
    os.mkfifo(tmp_path / "fifo.npz")
    out = _replay(tmp_path / "fifo.npz")
    assert out.returncode == 2 and "FIFO" in out.stderr and "Traceback" not in out.stderr
