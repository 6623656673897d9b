"""layers_np.safe_pickle: pretrained-model pickles read with numpy only, nothing executed.

The pickles are assembled opcode by opcode (``tests/py2_pickle.py``) as Python 2.7 with numpy 1.x
wrote them (protocols 0 and 2, ``str`` as STRING/BINSTRING), with numpy 2 names, as Theano wrote
GPU arrays and ``pkl_utils`` zips, and by this interpreter's ``pickle`` at every protocol. The
oracle for a well-formed file is ``pickle.loads(data, encoding='latin1')`` with the real numpy
(the unsafe reader) where this numpy has the names; the refusals are checked for one line, the
name of the refused global, and a marker file that nothing created.
"""
from __future__ import annotations

import io
import os
import pickle
import struct
import tracemalloc
import zipfile

import numpy as np
import pytest

import layers_np as L
from layers_np import io as mio
from layers_np import safe_pickle as sp
from layers_np.safe_npz import Limits, LimitExceededError, ModelFileError, TruncatedFileError

import py2_pickle as P

RNG = np.random.RandomState(20261130)
VALUES = [RNG.randn(6, 5).astype("f4"), RNG.randn(5).astype("f4"),
          np.asfortranarray(RNG.randn(5, 3).astype("f4")), RNG.randn(3).astype("f4")]
WORDS = [P.Str(b"n01440764 tench, Tinca tinca"), P.Str(b"caf\xc3\xa9 au lait"), P.Str(b"quote ' and \\ backslash"),
         u"unicode \u00e9"]
WORDS_TEXT = ["n01440764 tench, Tinca tinca", "caf\u00e9 au lait", "quote ' and \\ backslash", "unicode \u00e9"]
MEAN_VALUE = np.array([103.939, 116.779, 123.68])
MEAN_IMAGE = RNG.uniform(0, 255, (3, 4, 4)).astype("f4")

# the layouts the Lasagne Recipes pickles use: (pickled object, expected layout, class names, mean value, mean image)
LAYOUTS = {
    "param_values": ({P.Str(b"param values"): VALUES, P.Str(b"synset words"): WORDS, P.Str(b"mean value"): MEAN_VALUE},
                     "dict['param values']", WORDS_TEXT, MEAN_VALUE, None),
    "values": ({P.Str(b"values"): VALUES, P.Str(b"synset words"): WORDS, P.Str(b"mean image"): MEAN_IMAGE},
               "dict['values']", WORDS_TEXT, None, MEAN_IMAGE),
    "underscores": ({P.Str(b"values"): VALUES, P.Str(b"synset_words"): WORDS, P.Str(b"mean_image"): MEAN_IMAGE},
                    "dict['values']", WORDS_TEXT, None, MEAN_IMAGE),
    "unicode_keys": ({u"param values": VALUES, u"mean value": MEAN_VALUE}, "dict['param values']", None, MEAN_VALUE, None),
    "bare_list": (VALUES, "list", None, None, None),
}


def check_model(model, layout, words, mean_value, mean_image):
    assert model.layout == layout
    assert len(model.values) == len(VALUES)
    for got, want in zip(model.values, VALUES):
        assert got.dtype == want.dtype and got.shape == want.shape
        assert np.array_equal(got, want)
        assert got.flags.c_contiguous and got.flags.writeable
    assert model.class_names == words
    for got, want in ((model.mean_value, mean_value), (model.mean_image, mean_image)):
        if want is None:
            assert got is None
        else:
            assert got.dtype == want.dtype and np.array_equal(got, want)


@pytest.mark.parametrize("protocol", [0, 2])
@pytest.mark.parametrize("layout", sorted(LAYOUTS))
@pytest.mark.parametrize("numpy2", [False, True], ids=["numpy1-names", "numpy2-names"])
def test_python2_layouts(layout, protocol, numpy2):
    obj, want_layout, words, mean_value, mean_image = LAYOUTS[layout]
    data = P.dumps(obj, protocol, numpy2=numpy2)
    check_model(sp.read_model_pickle(data), want_layout, words, mean_value, mean_image)
    if not numpy2 or hasattr(np, "_core"):
        # the unsafe reader with the real numpy agrees on every array (the file is what numpy wrote)
        real = pickle.loads(data, encoding="latin1")
        real_values = real if isinstance(real, list) else real.get("param values", real.get("values"))
        for got, want in zip(sp.read_model_pickle(data).values, real_values):
            assert got.dtype == want.dtype and np.array_equal(got, want)


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_this_interpreters_pickles(protocol):
    obj = {"param values": VALUES, "synset words": WORDS_TEXT, "mean value": MEAN_VALUE, "scalar": np.float32(2.5),
           "big endian": np.arange(4, dtype=">f8"), "empty": b"", "strings": np.array(["ab", "c"])}
    loaded = sp.load_pickle(pickle.dumps(obj, protocol))
    for got, want in zip(loaded["param values"], VALUES):
        assert got.dtype == want.dtype and np.array_equal(got, want)
    assert type(loaded["scalar"]) is np.float32 and loaded["scalar"] == 2.5
    assert loaded["big endian"].dtype == np.dtype("f8") and np.array_equal(loaded["big endian"], np.arange(4.0))
    assert loaded["empty"] == b"" and loaded["strings"].tolist() == ["ab", "c"]
    model = sp.read_model_pickle(pickle.dumps(obj, protocol))
    assert model.class_names == WORDS_TEXT and sorted(model.ignored_keys) == ["big endian", "empty", "scalar", "strings"]


def test_containers_scalars_and_ordered_dict():
    import collections

    obj = collections.OrderedDict([("values", VALUES), ("meta", (1, 2.5, None, True, u"x", [7]))])
    for protocol in (0, 2):
        loaded = sp.load_pickle(pickle.dumps(obj, protocol))
        assert type(loaded) is dict and list(loaded) == ["values", "meta"]
        assert loaded["meta"] == (1, 2.5, None, True, "x", [7])
    scalars = [np.float64(1.5), np.int32(-3), np.float16(0.25), np.bool_(True)]
    for protocol in (0, 2):
        loaded = sp.load_pickle(P.dumps(scalars, protocol))
        assert [type(v) for v in loaded] == [type(v) for v in scalars] and loaded == scalars


@pytest.mark.parametrize("kind", sorted(P.GPU_NAMES))
@pytest.mark.parametrize("protocol", [0, 2])
def test_theano_gpu_arrays_are_unwrapped(kind, protocol):
    obj = {P.Str(b"param values"): [P.Gpu(v, kind, P.Str(b"dev0")) for v in VALUES]}
    check_model(sp.read_model_pickle(P.dumps(obj, protocol)), "dict['param values']", None, None, None)


def pkl_utils_zip(pickled: bytes, arrays: dict, gpu: tuple = ()) -> bytes:
    """A zip as ``theano.misc.pkl_utils.dump`` writes it: a ``pkl`` member and one member per array
    (``.npy`` bytes; a gpuarray member starts with its pickled context name)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as z:
        for name, arr in arrays.items():
            head = pickle.dumps("dev0", 2) if name in gpu else b""
            z.writestr(name, head + P.npy_bytes(arr))
        z.writestr("pkl", pickled)
    return buf.getvalue()


@pytest.mark.parametrize("protocol", [0, 2])
def test_pkl_utils_zip(protocol):
    names = ["W", "b", "array_0", "array_1"]
    pids = [P.Persistent(("gpuarray." if n == "b" else "ndarray.") + n) for n in names]
    # the same array referenced twice is stored once (pkl_utils' `seen`)
    obj = {P.Str(b"param values"): pids, P.Str(b"again"): pids[0], P.Str(b"synset words"): WORDS}
    data = pkl_utils_zip(P.dumps(obj, protocol), dict(zip(names, VALUES)), gpu=("b",))
    model = sp.read_model_pickle(data)
    check_model(model, "dict['param values']", WORDS_TEXT, None, None)
    assert model.ignored_keys == ["again"]


@pytest.mark.parametrize("pid, message", [
    ("ndarray.missing", "does not hold"),
    ("ndarray.pkl", "refused persistent id"),
    ("ndarray.../../etc/passwd", "refused persistent id"),
    ("os.system", "refused persistent id"),
])
def test_pkl_utils_bad_ids(pid, message):
    data = pkl_utils_zip(P.dumps([P.Persistent(pid)], 2), {"W": VALUES[0]})
    with pytest.raises(ModelFileError, match=message) as info:
        sp.load_pickle(data)
    assert "\n" not in str(info.value)


def test_pkl_utils_zip_without_pkl_and_persistent_ids_elsewhere():
    buf = io.BytesIO()
    np.savez(buf, VALUES[0])
    with pytest.raises(sp.PickleLayoutError, match="without a 'pkl' member"):
        sp.load_pickle(buf.getvalue())
    with pytest.raises(sp.UnsafePickleError, match="persistent id"):
        sp.load_pickle(P.dumps([P.Persistent("ndarray.W")], 2))


# ---------------------------------------------------------------------------
# malicious pickles: refused with one line naming the global; nothing runs
# ---------------------------------------------------------------------------
def evil_cases(marker: str):
    touch = P.Str(f"touch {marker}".encode())
    code = P.Str(f"open({marker!r}, 'w')".encode())
    arr = np.arange(3, dtype="f4")
    nested_state = (1, (P.Long(3),), P.Call("os", "system", (touch,)), False, P.Str(arr.tobytes()))
    return {
        "os.system": ([P.Call("os", "system", (touch,))], "os.system"),
        "posix.system": ({P.Str(b"param values"): P.Call("posix", "system", (touch,))}, "posix.system"),
        "nt.system": (P.Call("nt", "system", (touch,)), "nt.system"),
        "builtins.eval": (P.Call("builtins", "eval", (code,)), "builtins.eval"),
        "__builtin__.eval": (P.Call("__builtin__", "eval", (code,)), "__builtin__.eval"),
        "__builtin__.exec": (P.Call("__builtin__", "exec", (code,)), "__builtin__.exec"),
        "builtins.__import__": (P.Call("builtins", "__import__", (P.Str(b"os"),)), "builtins.__import__"),
        "builtins.getattr": (P.Call("builtins", "getattr", (P.Call("builtins", "__import__", (P.Str(b"os"),)),
                                                              P.Str(b"system"))), "builtins.getattr"),
        "builtins.open": (P.Call("builtins", "open", (P.Str(marker.encode()), P.Str(b"w"))), "builtins.open"),
        "subprocess.Popen": (P.Call("subprocess", "Popen", ([P.Str(b"touch"), P.Str(marker.encode())],)),
                             "subprocess.Popen"),
        "subprocess.check_call": (P.Call("subprocess", "check_call", ([P.Str(b"touch"), P.Str(marker.encode())],)),
                                  "subprocess.check_call"),
        "copy_reg._reconstructor": (P.Call("copy_reg", "_reconstructor", (P.Str(b"x"),)), "copy_reg._reconstructor"),
        "numpy.load": (P.Call("numpy", "load", (P.Str(marker.encode()),)), "numpy.load"),
        "numpy.testing": (P.Call("numpy.testing._private.utils", "runstring", (code, {})), "numpy.testing"),
        "theano.shared": ([P.Call("theano.tensor.sharedvar", "TensorSharedVariable", ())],
                          "theano.tensor.sharedvar.TensorSharedVariable"),
        "nested in an array state": ([P.Call("numpy.core.multiarray", "_reconstruct", (), state=nested_state)],
                                     "os.system"),
    }


EVIL = sorted(evil_cases("m"))


def assert_refused(data, marker, name, error=sp.UnsafePickleError):
    with pytest.raises(error) as info:
        sp.load_pickle(data)
    message = str(info.value)
    assert "\n" not in message and len(message) < 400, message
    assert name in message, message
    assert not os.path.exists(marker), "the pickle ran code"
    return message


@pytest.mark.parametrize("protocol", [0, 2])
@pytest.mark.parametrize("case", EVIL)
def test_malicious_globals_are_refused(tmp_path, case, protocol):
    marker = str(tmp_path / "marker")
    obj, name = evil_cases(marker)[case]
    message = assert_refused(P.dumps(obj, protocol), marker, name)
    assert "nothing was executed" in message
    # the same pickle through the real unpickler would have run (a positive control for the marker)
    if case == "os.system" and protocol == 2:
        pickle.loads(P.dumps(obj, protocol), encoding="latin1")
        assert os.path.exists(marker)


def test_malicious_reduce_of_this_interpreter(tmp_path):
    marker = str(tmp_path / "marker")

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        assert_refused(pickle.dumps({"param values": [Evil()]}, protocol), marker, f"{os.system.__module__}.system")


def test_opcode_level_tricks(tmp_path):
    marker = str(tmp_path / "marker")
    cmd = f"touch {marker}".encode()
    cases = [
        # protocol 0 INST: instantiate os.system with arguments
        (b"(S'" + cmd + b"'\nios\nsystem\n.", "os.system"),
        # protocol 4 STACK_GLOBAL with the names as strings
        (b"\x80\x04\x8c\x02os\x94\x8c\x06system\x94\x93\x94\x8c" + bytes([len(cmd)]) + cmd + b"\x85R.", "os.system"),
        # STACK_GLOBAL whose names come from the memo
        (b"\x80\x04\x8c\x02os\x94\x8c\x06system\x94h\x00h\x01\x93)R.", "os.system"),
        # STACK_GLOBAL whose names are computed: refused without resolving them
        (b"\x80\x04\x8c\x02os\x8c\x06system\x86\x94\x93.", "STACK_GLOBAL"),
        # the extension registry names a global indirectly
        (b"\x80\x02\x82\x01)R.", "extension code"),
        # protocol 5 out-of-band buffer
        (b"\x80\x05\x97.", "out-of-band"),
        # OrderedDict is allowed, builtins.set is not
        (b"\x80\x02c__builtin__\nset\n)R.", "__builtin__.set"),
        # protocol 0 INST of an allowed name: numpy never writes it
        (b"(S'f4'\nI0\nI1\ninumpy\ndtype\n.", "refused INST numpy.dtype"),
    ]
    for data, name in cases:
        assert_refused(data, marker, name)


@pytest.mark.parametrize("case", ["bytes(huge)", "codecs other encoding", "object dtype", "void dtype", "scalar state", "gpu args",
                                  "structured dtype", "wrong subtype", "array without BUILD", "declared shape",
                                  "negative dim", "cycle"])
def test_allowed_names_with_hostile_arguments(case):
    reconstruct = ("numpy.core.multiarray", "_reconstruct")
    plain_dtype = np.dtype("<f4")

    def array_call(state, subtype=None):
        sub = subtype if subtype is not None else P.Call("numpy", "ndarray", ())
        return P.Call(*reconstruct, (sub, (0,), P.Str(b"b")), state=state)

    objs = {
        "bytes(huge)": P.Call("__builtin__", "bytes", (P.Long(10 ** 12),)),
        "codecs other encoding": P.Call("_codecs", "encode", (u"abc", u"rot13")),
        "gpu args": P.Call("theano.gpuarray.type", "GpuArray_unpickler", (P.Str(b"not an array"), None)),
        "scalar state": P.Call("numpy.core.multiarray", "scalar", (plain_dtype, P.Str(b"\x00" * 4)), state=(1, 2)),
        "object dtype": P.Call("numpy", "dtype", (P.Str(b"O8"), 0, 1)),
        "void dtype": P.Call("numpy", "dtype", (P.Str(b"V16"), 0, 1)),
        "structured dtype": P.Call("numpy", "dtype", (P.Str(b"f4"), 0, 1),
                                   state=(3, P.Str(b"|"), None, (P.Str(b"a"),), {}, 8, 1, 0)),
        "wrong subtype": P.Call(*reconstruct, (P.Str(b"ndarray"), (0,), P.Str(b"b"))),
        "declared shape": None,
        "negative dim": None,
        "cycle": None,
    }
    if case == "declared shape":
        # (10**9, 10**9) float32 with 12 bytes of data: refused before anything is allocated
        obj = [array_call((1, (P.Long(10 ** 9), P.Long(10 ** 9)), plain_dtype, False, P.Str(b"\x00" * 12)))]
    elif case == "negative dim":
        obj = [array_call((1, (-3,), plain_dtype, False, P.Str(b"\x00" * 12)))]
    elif case == "cycle":
        # a list that contains itself: APPEND of its own memo entry
        data = b"\x80\x02]q\x00h\x00a."
        with pytest.raises(sp.MalformedPickleError, match="contains itself"):
            sp.load_pickle(data)
        return
    elif case == "array without BUILD":
        data = (b"\x80\x02cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\nK\x00\x85U\x01b\x87R]\x86.")
        with pytest.raises(sp.MalformedPickleError, match="without its data"):
            sp.load_pickle(data)
        return
    else:
        obj = objs[case]
    with pytest.raises(sp.MalformedPickleError) as info:
        sp.load_pickle(P.dumps(obj, 2))
    assert "\n" not in str(info.value)


def test_huge_declared_sizes_cost_nothing():
    cases = [
        b"\x80\x02T\xff\xff\xff\x7f" + b"x" * 16 + b".",                      # BINSTRING of 2 GiB, 16 bytes present
        b"\x80\x04\x8e" + struct.pack("<Q", 1 << 62) + b"x" * 16 + b".",      # BINBYTES8 of 4 EiB
        b"\x80\x04\x8d" + struct.pack("<Q", 1 << 40) + b"x" * 16 + b".",      # BINUNICODE8 of 1 TiB
        b"\x80\x02]r\xff\xff\xff\xff.",                                       # LONG_BINPUT memo index 2**32-1
        b"\x80\x02\x8b\xff\xff\xff\x7f" + b"\x01" * 16 + b".",                # LONG4 of 2 GiB
    ]
    tracemalloc.start()
    try:
        for data in cases:
            with pytest.raises(ModelFileError) as info:
                sp.load_pickle(data)
            assert "\n" not in str(info.value)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 << 20, f"refusing tiny files with huge declared sizes took {peak} bytes"


def test_every_truncation_is_refused_cleanly():
    for protocol in (0, 2):
        data = P.dumps(LAYOUTS["param_values"][0], protocol)
        step = max(1, len(data) // 300)
        for n in list(range(0, len(data) - 1, step)) + [len(data) - 1]:
            with pytest.raises(ModelFileError) as info:
                sp.load_pickle(data[:n])
            assert "\n" not in str(info.value)
        with pytest.raises(sp.MalformedPickleError, match="follow the pickle's end"):
            sp.load_pickle(data + b"garbage")


def test_deep_nesting_and_opcode_limits():
    deep = b"\x80\x02" + b"]" * 10000 + b"a" * 9999 + b"."
    with pytest.raises(LimitExceededError, match="levels deep"):
        sp.load_pickle(deep)
    deep0 = b"(l" * 5000 + b"a" * 4999 + b"."
    with pytest.raises(LimitExceededError, match="levels deep"):
        sp.load_pickle(deep0)
    # a deep chain through the memo (stack depth stays 2): still depth-checked
    chain = b"\x80\x02]r\x00\x00\x00\x00" + b"".join(
        b"0]r" + struct.pack("<I", i + 1) + b"j" + struct.pack("<I", i) + b"a" for i in range(200)) + b"."
    with pytest.raises(LimitExceededError, match="levels deep"):
        sp.load_pickle(chain)
    small = Limits(max_pickle_ops=50)
    with pytest.raises(LimitExceededError, match="max_pickle_ops"):
        sp.load_pickle(P.dumps(LAYOUTS["param_values"][0], 2), limits=small)
    with pytest.raises(LimitExceededError, match="max_file_bytes"):
        sp.load_pickle(P.dumps(VALUES, 2), limits=Limits(max_file_bytes=100))


@pytest.mark.parametrize("obj, message", [
    ({P.Str(b"weights"): VALUES}, "no 'param values' or 'values'"),
    ({P.Str(b"values"): VALUES, P.Str(b"param values"): VALUES}, "both"),
    ({P.Str(b"values"): [np.arange(3)]}, "floating-point"),
    ({P.Str(b"values"): VALUES, P.Str(b"synset words"): P.Str(b"x")}, "class names"),
    ({P.Str(b"values"): VALUES, P.Str(b"mean value"): [P.Str(b"x")]}, "numeric array"),
    ((1, 2), "expected a numpy array"),
    (P.Str(b"just a string"), "expected a dict"),
])
def test_unrecognised_layouts(obj, message):
    with pytest.raises(sp.PickleLayoutError, match=message) as info:
        sp.read_model_pickle(P.dumps(obj, 2))
    assert "\n" not in str(info.value)


def test_files(tmp_path):
    path = tmp_path / "model.pkl"
    path.write_bytes(P.dumps(LAYOUTS["values"][0], 0))
    check_model(sp.read_model_pickle(path), *LAYOUTS["values"][1:])
    with pytest.raises(ModelFileError, match="directory"):
        sp.load_pickle(tmp_path)
    (tmp_path / "empty.pkl").write_bytes(b"")
    with pytest.raises(TruncatedFileError, match="empty"):
        sp.load_pickle(tmp_path / "empty.pkl")
    with pytest.raises(ModelFileError, match=str(tmp_path / "nothere.pkl")):
        sp.load_pickle(tmp_path / "nothere.pkl")


# ---------------------------------------------------------------------------
# into a twin network, and the metadata in a model file
# ---------------------------------------------------------------------------
def twin(dtype="float32"):
    inp = L.InputLayer((None, 6), name="input")
    h = L.DenseLayer(inp, 5, W=np.zeros((6, 5), dtype), b=np.zeros(5, dtype), name="hidden")
    return L.DenseLayer(h, 3, W=np.zeros((5, 3), dtype), b=np.zeros(3, dtype), name="output")


def test_load_pickle_weights_and_metadata_round_trip(tmp_path):
    net = twin()
    model = mio.load_pickle_weights(net, P.dumps(LAYOUTS["param_values"][0], 2))
    for got, want in zip(L.get_all_param_values(net), VALUES):
        assert np.array_equal(got, want)
    path = tmp_path / "model.npz"
    L.save(net, path, metadata=model.metadata())
    meta = mio.read_metadata(path)
    assert meta["class_names"] == WORDS_TEXT and meta["pickle_layout"] == "dict['param values']"
    assert meta["mean_value"].dtype == MEAN_VALUE.dtype and np.array_equal(meta["mean_value"], MEAN_VALUE)
    x = RNG.randn(2, 6).astype("f4")
    assert np.array_equal(L.load(path)(x), net(x))
    assert mio.read_metadata(mio.dumps(net)) == {}
    with pytest.raises(mio.WeightsMismatchError, match="has shape"):
        mio.load_pickle_weights(twin(), P.dumps(VALUES[::-1], 2))


@pytest.mark.parametrize("metadata, message", [
    ({"bad key": 1}, "not an identifier"),
    ({"x": object()}, "store strings"),
    ({"x": np.array(["a"])}, "only numeric arrays"),
    ({"x": [None]}, "store strings"),
])
def test_bad_metadata_is_refused_on_save(metadata, message):
    with pytest.raises(mio.ModelExportError, match=message):
        mio.dumps(twin(), metadata=metadata)


def test_tampered_metadata_is_refused_on_load():
    import json

    data = mio.dumps(twin(), metadata={"mean_value": MEAN_VALUE, "class_names": ["a"]})
    with np.load(io.BytesIO(data)) as f:
        members = {k: f[k] for k in f.files}
    spec = json.loads(members["__spec__"].tobytes())
    for meta, message in [({"mean_value": {"$array": "hidden/W"}}, "no parameter uses"),
                          ({"x": {"$array": "__metadata__/nothere"}}, "no parameter uses"),
                          ({"x": {"a": 1}}, "no parameter uses"), ("text", "'metadata' must be"),
                          ({"x": [[1]]}, "list of strings")]:
        bad = dict(spec, metadata=meta)
        buf = io.BytesIO()
        np.savez(buf, **{**members, "__spec__": np.frombuffer(json.dumps(bad).encode(), np.uint8)})
        with pytest.raises(mio.SpecError, match=message):
            mio.read_metadata(buf.getvalue())


def test_a_build_on_a_protocol5_array_meets_our_checks():
    data = pickle.dumps(np.arange(3.0), 5)
    assert data.endswith(b"R\x94.")
    # the same array, then BUILD with an object-array state (numpy's own __setstate__ would take it)
    evil = data[:-1] + b"(K\x01K\x03\x85\x8c\x04junk\x89]t\x94b."
    with pytest.raises(sp.MalformedPickleError, match="expected a dtype"):
        sp.load_pickle(evil)
    assert np.array_equal(sp.load_pickle(data), np.arange(3.0))
