"""Conformance with the real Lasagne 0.1, run through layers_theano.theano_compat.

For every layer class Lasagne 0.1 has, built with the same arguments on three sides (real
Lasagne 0.1, layers_theano, the layers_np twin): equal signatures (modulo ``semantics``, the one
deliberate extension, and the arguments master added), equal parameter (name, shape) lists and
output shapes over several configurations each, and equal outputs: layers_theano certified
against Lasagne 0.1's own graph, the twin against both. Recurrent layers run with
``semantics='0.1'``. One compiled function per class holds every configuration's graphs on
both Theano sides (compiling is what costs time here).

``from_lasagne`` is checked on the same networks: rebuilt from the real layers alone, it must
give the same parameters and outputs.
"""
import inspect
from types import SimpleNamespace

import numpy as np
import pytest

import layers_np as L
import layers_theano as LT
from harness.compare import compare_arrays
from harness.tolerance import default_tolerance
from layers_theano import backend, theano_compat

T = backend.T
DTYPE = "float64"
TOL = default_tolerance(DTYPE)  # the harness's float64 default: rtol 1e-7, atol 1e-8


@pytest.fixture(scope="module")
def lasagne():
    theano_compat.enable()
    import lasagne

    assert lasagne.__version__ == "0.1"
    return lasagne


def _spaces(lasagne):
    """The three sides as namespaces with the same attribute names."""
    import layers_np.pool as np_pool

    real = SimpleNamespace(X=lasagne.layers, nl=lasagne.nonlinearities, init=lasagne.init, side="lasagne",
                           maximum=T.maximum, mul=T.mul, max=T.max, mean=T.mean, opts={})
    th = SimpleNamespace(X=LT, nl=LT.nonlinearities, init=LT.init, side="theano", maximum=T.maximum, mul=T.mul,
                         max=T.max, mean=T.mean, opts={"semantics": "0.1"})
    tw = SimpleNamespace(X=L, nl=L.nonlinearities, init=L.init, side="numpy", maximum=np.maximum, mul=np.multiply,
                         max=np.max, mean=np_pool.mean, opts={"semantics": "0.1"})
    return real, th, tw


def _rec(ns):
    """``semantics='0.1'`` for our recurrent layers, nothing for Lasagne 0.1's."""
    return dict(ns.opts)


# class -> [(input shapes, builder(ns, inputs) -> layer)], int inputs marked by an "int" shape tag
CONFIGS = {
    "DenseLayer": [
        ([(3, 4)], lambda n, i: n.X.DenseLayer(i[0], 5)),
        ([(3, 2, 3, 2)], lambda n, i: n.X.DenseLayer(i[0], 4, nonlinearity=n.nl.tanh, b=None)),
        ([(2, 6)], lambda n, i: n.X.DenseLayer(i[0], 1, nonlinearity=n.nl.softmax, name="out")),
        ([(2, 3)], lambda n, i: n.X.DenseLayer(i[0], 3, nonlinearity=n.nl.LeakyRectify(0.2))),
        ([(2, 3)], lambda n, i: n.X.DenseLayer(i[0], np.int64(2))),  # sizes read from a config array
    ],
    "NonlinearityLayer": [
        ([(2, 5)], lambda n, i: n.X.NonlinearityLayer(i[0])),
        ([(2, 3, 4)], lambda n, i: n.X.NonlinearityLayer(i[0], n.nl.sigmoid)),
        ([(2, 5)], lambda n, i: n.X.NonlinearityLayer(i[0], n.nl.very_leaky_rectify)),
        ([(2, 5)], lambda n, i: n.X.NonlinearityLayer(i[0], None)),
    ],
    "NINLayer": [
        ([(2, 3, 4, 5)], lambda n, i: n.X.NINLayer(i[0], 4)),
        ([(2, 3, 4)], lambda n, i: n.X.NINLayer(i[0], 2, untie_biases=True, nonlinearity=n.nl.tanh)),
        ([(2, 3, 2, 2)], lambda n, i: n.X.NINLayer(i[0], 5, b=None)),
    ],
    "DropoutLayer": [
        ([(3, 4)], lambda n, i: n.X.DropoutLayer(i[0])),
        ([(3, 4, 2)], lambda n, i: n.X.DropoutLayer(i[0], p=0.2, rescale=False)),
    ],
    "GaussianNoiseLayer": [
        ([(3, 4)], lambda n, i: n.X.GaussianNoiseLayer(i[0], sigma=0.5)),
    ],
    "Conv1DLayer": [
        ([(2, 3, 9)], lambda n, i: n.X.Conv1DLayer(i[0], 4, 3)),
        ([(2, 2, 8)], lambda n, i: n.X.Conv1DLayer(i[0], 3, 3, stride=2, pad="same", nonlinearity=None)),
        ([(2, 2, 7)], lambda n, i: n.X.Conv1DLayer(i[0], 2, 2, pad="full", untie_biases=True)),
        ([(1, 3, 7)], lambda n, i: n.X.Conv1DLayer(i[0], 2, 4, pad=2, stride=3, b=None)),
        ([(2, 2, 7)], lambda n, i: n.X.Conv1DLayer(i[0], np.int64(3), np.int64(2), stride=np.int64(2))),
    ],
    "Conv2DLayer": [
        ([(2, 3, 7, 6)], lambda n, i: n.X.Conv2DLayer(i[0], 4, 3)),
        ([(2, 2, 8, 7)], lambda n, i: n.X.Conv2DLayer(i[0], 3, (3, 1), stride=(2, 1), pad="same", nonlinearity=None)),
        ([(1, 2, 5, 5)], lambda n, i: n.X.Conv2DLayer(i[0], 2, (2, 3), pad="full", untie_biases=True)),
        ([(2, 1, 6, 7)], lambda n, i: n.X.Conv2DLayer(i[0], 3, 3, pad=(1, 2), stride=(1, 3), b=None,
                                                       nonlinearity=n.nl.tanh)),
        ([(1, 2, 6, 6)], lambda n, i: n.X.Conv2DLayer(i[0], 2, 4, pad="valid")),
        ([(2, 3, 7, 6)], lambda n, i: n.X.Conv2DLayer(i[0], np.int64(2), np.int64(3), stride=np.int32(2))),
    ],
    "MaxPool1DLayer": [
        ([(2, 3, 9)], lambda n, i: n.X.MaxPool1DLayer(i[0], 2)),
        ([(2, 3, 9)], lambda n, i: n.X.MaxPool1DLayer(i[0], 3, stride=2, ignore_border=False)),
        ([(2, 3, 8)], lambda n, i: n.X.MaxPool1DLayer(i[0], 3, stride=1, pad=1)),
    ],
    "Pool2DLayer": [
        ([(2, 3, 7, 6)], lambda n, i: n.X.Pool2DLayer(i[0], 2)),
        ([(2, 2, 7, 7)], lambda n, i: n.X.Pool2DLayer(i[0], 3, stride=2, mode="average_exc_pad", pad=1)),
        ([(2, 2, 7, 5)], lambda n, i: n.X.Pool2DLayer(i[0], (2, 3), ignore_border=False, mode="average_inc_pad")),
        ([(1, 2, 6, 6)], lambda n, i: n.X.Pool2DLayer(i[0], 3, stride=(1, 2), mode="average_inc_pad", pad=(1, 0))),
    ],
    "MaxPool2DLayer": [
        ([(2, 3, 7, 6)], lambda n, i: n.X.MaxPool2DLayer(i[0], 2)),
        ([(2, 2, 7, 7)], lambda n, i: n.X.MaxPool2DLayer(i[0], 3, stride=2, ignore_border=False)),
        ([(2, 2, 6, 5)], lambda n, i: n.X.MaxPool2DLayer(i[0], (3, 2), stride=1, pad=(1, 1))),
        ([(2, 2, 6, 5)], lambda n, i: n.X.MaxPool2DLayer(i[0], np.int64(2), stride=np.int64(1))),
    ],
    "FeaturePoolLayer": [
        ([(2, 6, 3)], lambda n, i: n.X.FeaturePoolLayer(i[0], 2)),
        ([(2, 3, 4)], lambda n, i: n.X.FeaturePoolLayer(i[0], 2, axis=2, pool_function=n.mean)),
    ],
    "FeatureWTALayer": [
        ([(2, 6, 3)], lambda n, i: n.X.FeatureWTALayer(i[0], 3)),
        ([(2, 3, 4)], lambda n, i: n.X.FeatureWTALayer(i[0], 2, axis=2)),
    ],
    "GlobalPoolLayer": [
        ([(2, 3, 4, 5)], lambda n, i: n.X.GlobalPoolLayer(i[0])),
        ([(2, 3, 4)], lambda n, i: n.X.GlobalPoolLayer(i[0], pool_function=n.max)),
    ],
    "FlattenLayer": [
        ([(2, 3, 4, 5)], lambda n, i: n.X.FlattenLayer(i[0])),
        ([(2, 3, 4, 5)], lambda n, i: n.X.FlattenLayer(i[0], outdim=3)),
    ],
    "ReshapeLayer": [
        ([(2, 3, 4)], lambda n, i: n.X.ReshapeLayer(i[0], ([0], -1))),
        ([(2, 3, 4)], lambda n, i: n.X.ReshapeLayer(i[0], ([0], [2], -1))),
    ],
    "DimshuffleLayer": [
        ([(2, 3, 4)], lambda n, i: n.X.DimshuffleLayer(i[0], (0, 2, 1))),
        ([(2, 3)], lambda n, i: n.X.DimshuffleLayer(i[0], (1, "x", 0))),
    ],
    "PadLayer": [
        ([(2, 3, 4, 5)], lambda n, i: n.X.PadLayer(i[0], 1)),
        ([(2, 3, 4)], lambda n, i: n.X.PadLayer(i[0], [(1, 2)], val=3.0)),
        ([(2, 3, 4)], lambda n, i: n.X.PadLayer(i[0], 2, batch_ndim=1)),
    ],
    "SliceLayer": [
        ([(2, 5, 3)], lambda n, i: n.X.SliceLayer(i[0], 1, axis=1)),
        ([(2, 5, 3)], lambda n, i: n.X.SliceLayer(i[0], slice(1, None, 2), axis=1)),
        ([(2, 5, 3)], lambda n, i: n.X.SliceLayer(i[0], slice(-2, None))),
    ],
    "ConcatLayer": [
        ([(2, 3), (2, 4)], lambda n, i: n.X.ConcatLayer(i)),
        ([(2, 3, 2), (2, 3, 1), (2, 3, 3)], lambda n, i: n.X.ConcatLayer(i, axis=-1)),
    ],
    "ElemwiseMergeLayer": [
        ([(2, 3), (2, 3)], lambda n, i: n.X.ElemwiseMergeLayer(i, n.maximum)),
        ([(2, 3, 2)] * 3, lambda n, i: n.X.ElemwiseMergeLayer(i, n.mul)),
    ],
    "ElemwiseSumLayer": [
        ([(2, 3), (2, 3)], lambda n, i: n.X.ElemwiseSumLayer(i)),
        ([(2, 3, 2)] * 3, lambda n, i: n.X.ElemwiseSumLayer(i, coeffs=[0.5, -1, 2])),
    ],
    "LocalResponseNormalization2DLayer": [
        ([(2, 5, 3, 3)], lambda n, i: n.X.LocalResponseNormalization2DLayer(i[0])),
        ([(2, 4, 2, 3)], lambda n, i: n.X.LocalResponseNormalization2DLayer(i[0], alpha=0.01, k=1, beta=0.5, n=3)),
    ],
    "EmbeddingLayer": [
        ([("int", 3, 4)], lambda n, i: n.X.EmbeddingLayer(i[0], 7, 5)),
        ([("int", 2)], lambda n, i: n.X.EmbeddingLayer(i[0], 3, 2)),
    ],
    "RecurrentLayer": [
        ([(2, 4, 3)], lambda n, i: n.X.RecurrentLayer(i[0], 5, **_rec(n))),
        ([(2, 4, 3), (2, 4)], lambda n, i: n.X.RecurrentLayer(i[0], 3, mask_input=i[1], nonlinearity=n.nl.tanh,
                                                              backwards=True, **_rec(n))),
        ([(2, 3, 2, 2)], lambda n, i: n.X.RecurrentLayer(i[0], 2, b=None, learn_init=True, precompute_input=False,
                                                         **_rec(n))),
    ],
    "CustomRecurrentLayer": [
        ([(2, 4, 3), (2, 4)], lambda n, i: n.X.CustomRecurrentLayer(
            i[0], n.X.DenseLayer(n.X.InputLayer((None, 3)), 4, nonlinearity=None),
            n.X.DenseLayer(n.X.InputLayer((None, 4)), 4, nonlinearity=None), nonlinearity=n.nl.tanh,
            mask_input=i[1], **_rec(n))),
    ],
    "LSTMLayer": [
        ([(2, 4, 3)], lambda n, i: n.X.LSTMLayer(i[0], 5, **_rec(n))),
        ([(2, 3, 2)], lambda n, i: n.X.LSTMLayer(i[0], np.int64(2), **_rec(n))),
        ([(2, 4, 3), (2, 4)], lambda n, i: n.X.LSTMLayer(i[0], 3, mask_input=i[1], backwards=True, **_rec(n))),
        ([(2, 3, 2)], lambda n, i: n.X.LSTMLayer(i[0], 2, peepholes=False, precompute_input=False, learn_init=True,
                                                 **_rec(n))),
        ([(1, 3, 2), (1, 3)], lambda n, i: n.X.LSTMLayer(
            i[0], 2, mask_input=i[1], nonlinearity=None,
            outgate=n.X.Gate(nonlinearity=n.nl.tanh), cell=n.X.Gate(W_cell=None, nonlinearity=n.nl.rectify),
            **_rec(n))),
    ],
    "GRULayer": [
        ([(2, 4, 3)], lambda n, i: n.X.GRULayer(i[0], 5, **_rec(n))),
        ([(2, 4, 3), (2, 4)], lambda n, i: n.X.GRULayer(i[0], 3, mask_input=i[1], backwards=True, **_rec(n))),
        ([(2, 3, 2, 2)], lambda n, i: n.X.GRULayer(i[0], 2, precompute_input=False, learn_init=False,
                                                   hidden_update=n.X.Gate(W_cell=None, nonlinearity=None),
                                                   **_rec(n))),
    ],
}


def _inputs(ns, shapes):
    layers = []
    for k, shape in enumerate(shapes):
        if shape[0] == "int":
            shape = shape[1:]
            if ns.side == "numpy":
                layers.append(ns.X.InputLayer((None,) + shape[1:]))
            else:  # token ids: an integer input variable on both Theano sides
                var = T.tensor(dtype="int32", shape=(None,) * len(shape), name=f"ids{k}")
                layers.append(ns.X.InputLayer((None,) + shape[1:], input_var=var))
        else:
            layers.append(ns.X.InputLayer((None,) + tuple(shape[1:])))
    return layers


def _arrays(shapes, rng):
    out = []
    for shape in shapes:
        if shape[0] == "int":
            out.append(rng.randint(0, 2, size=shape[1:]).astype("int32"))
        elif len(shape) == 2 and len(shapes) > 1 and shapes[0][:2] == shape and len(shapes[0]) > 2:
            m = (rng.uniform(size=shape) < 0.7).astype(DTYPE)
            m[0, -1] = 0.5  # Lasagne 0.1 blends a fractional mask
            out.append(m)
        else:
            out.append(rng.normal(size=shape).astype(DTYPE))
    return out


# Parameter names Lasagne master changed since 0.1 (transcribed from both sources): RecurrentLayer
# names its sublayers 'input_to_hidden' / 'hidden_to_hidden', so their parameters are prefixed.
RENAMED_PARAMS = {"RecurrentLayer": {"W": ("input_to_hidden.W", "hidden_to_hidden.W"), "b": ("input_to_hidden.b",)}}


def _params(layer, module):
    return [(str(p.name), tuple(p.get_value().shape)) for p in module.get_all_params(layer)]


def _as_master(cls_name, params):
    """Lasagne 0.1's parameter list under master's names (each 0.1 name maps to its next master name)."""
    renames = {k: list(v) for k, v in RENAMED_PARAMS.get(cls_name, {}).items()}
    return [(renames[n].pop(0) if n in renames and renames[n] else n, shape) for n, shape in params]


@pytest.fixture(scope="module")
def results(lasagne):
    """Every configuration built and evaluated on the three sides (one compile per class)."""
    real_ns, th_ns, tw_ns = _spaces(lasagne)
    rng = np.random.RandomState(12)
    out = {}
    with backend.config.change_flags(floatX=DTYPE):
        for cls_name, configs in CONFIGS.items():
            rows, inputs, values, outputs = [], [], [], []
            for shapes, build in configs:
                arrays = _arrays(shapes, rng)
                r_in, t_in, n_in = _inputs(real_ns, shapes), _inputs(th_ns, shapes), _inputs(tw_ns, shapes)
                real = build(real_ns, r_in)  # Lasagne 0.1 accepts every configuration listed
                try:
                    th, tw = build(th_ns, t_in), build(tw_ns, n_in)
                except Exception as exc:  # recorded against this configuration, not the whole suite
                    rows.append(dict(error=f"{type(exc).__name__}: {exc}"))
                    continue
                weights = lasagne.layers.get_all_param_values(real)
                rows.append(dict(real=real, th=th, tw=tw, arrays=arrays, weights=weights, n_in=n_in,
                                 params=(_params(real, lasagne.layers), _params(th, LT), _params(tw, L))))
                if _as_master(cls_name, rows[-1]["params"][0]) == rows[-1]["params"][1] == rows[-1]["params"][2]:
                    LT.set_all_param_values(th, weights)
                    L.set_all_param_values(tw, weights)
                rows[-1]["slot"] = len(outputs)
                inputs += [l.input_var for l in r_in] + [l.input_var for l in t_in]
                values += arrays + arrays
                outputs += [lasagne.layers.get_output(real, deterministic=True),
                            LT.get_output(th, deterministic=True)]
            fn = backend.function(inputs, outputs, on_unused_input="ignore")
            results = fn(*values)
            for row in rows:
                if "error" in row:
                    continue
                row["real_out"], row["th_out"] = results[row["slot"]], results[row["slot"] + 1]
                row["tw_out"] = L.get_output(row["tw"], dict(zip(row["n_in"], row["arrays"])))
            out[cls_name] = rows
    return out


@pytest.mark.parametrize("cls_name", sorted(CONFIGS))
def test_parameters_and_output_shapes_match_lasagne01(results, cls_name):
    for k, row in enumerate(results[cls_name]):
        assert "error" not in row, f"{cls_name} config {k}: Lasagne 0.1 accepts it, ours raised {row.get('error')}"
        real_params, th_params, tw_params = row["params"]
        real_params = _as_master(cls_name, real_params)
        assert th_params == real_params, f"{cls_name} config {k}: layers_theano parameters"
        assert tw_params == real_params, f"{cls_name} config {k}: twin parameters"
        shape = row["real"].output_shape
        assert row["th"].output_shape == shape and row["tw"].output_shape == shape, f"{cls_name} config {k}"
        computed = row["real_out"].shape
        assert len(computed) == len(shape) and all(d is None or d == c for d, c in zip(shape, computed))
        assert row["th_out"].shape == computed and row["tw_out"].shape == computed, f"{cls_name} config {k}"


@pytest.mark.parametrize("cls_name", sorted(CONFIGS))
def test_outputs_match_lasagne01(results, cls_name):
    """layers_theano certified against Lasagne 0.1's own graph; the twin against both."""
    for k, row in enumerate(results[cls_name]):
        assert "error" not in row, f"{cls_name} config {k}: {row.get('error')}"
        ref = np.asarray(row["real_out"])
        for side in ("th_out", "tw_out"):
            c = compare_arrays(ref, np.asarray(row[side]), TOL)
            assert c.ok, c.message(f"{cls_name} config {k} ({side})")


@pytest.mark.parametrize("cls_name", sorted(CONFIGS))
def test_from_lasagne_rebuilds_the_network(results, cls_name):
    for k, row in enumerate(results[cls_name]):
        assert "error" not in row, f"{cls_name} config {k}: {row.get('error')}"
        twin = LT.from_lasagne(row["real"])
        assert _params(twin, L) == _as_master(cls_name, row["params"][0])
        ins = [l for l in L.get_all_layers(twin) if isinstance(l, L.InputLayer)]
        c = compare_arrays(np.asarray(row["real_out"]), L.get_output(twin, dict(zip(ins, row["arrays"]))), TOL)
        assert c.ok, c.message(f"from_lasagne {cls_name} config {k}")


# ------------------------------------------------------------------------------ signatures
# Defaults Lasagne master changed since 0.1 (transcribed from both sources), argument -> (0.1, master)
CHANGED_DEFAULTS = {
    ("GRULayer", "learn_init"): (True, False),
    ("GRULayer", "grad_clipping"): (False, 0),
    ("LSTMLayer", "grad_clipping"): (False, 0),
    ("RecurrentLayer", "grad_clipping"): (False, 0),
    ("CustomRecurrentLayer", "grad_clipping"): (False, 0),
}


def _same_default(a, b):
    """Defaults compared across packages: functions by name, objects by class name and attributes."""
    if a is inspect.Parameter.empty or b is inspect.Parameter.empty:
        return a is b
    if isinstance(a, type) or inspect.isfunction(a) or inspect.isbuiltin(a) or (callable(a) and not hasattr(a, "__dict__")):
        return getattr(a, "__name__", None) == getattr(b, "__name__", None)
    if hasattr(a, "__dict__") and not isinstance(a, type):
        if type(a).__name__ != type(b).__name__:
            return getattr(a, "__name__", None) == getattr(b, "__name__", None)
        va = {k: v for k, v in vars(a).items() if not k.startswith("_")}
        vb = {k: v for k, v in vars(b).items() if not k.startswith("_")}
        return va.keys() == vb.keys() and all(_same_default(va[k], vb[k]) for k in va)
    return type(a) is type(b) and a == b if not isinstance(a, (int, float)) else a == b and type(a) is type(b)


def _lasagne01_classes():
    import importlib.util

    spec = importlib.util.find_spec("lasagne")
    assert spec is not None, "Lasagne 0.1 is installed by the Makefile (pip install --no-deps lasagne==0.1)"
    return sorted(CONFIGS) + ["Gate", "InputLayer"]


@pytest.mark.parametrize("cls_name", _lasagne01_classes())
def test_signatures_extend_lasagne01(lasagne, cls_name):
    """Every 0.1 argument is ours, in the same order, of the same kind, with the same default."""
    theirs = inspect.signature(getattr(lasagne.layers, cls_name)).parameters
    for module in (L, LT):
        ours = {k: p for k, p in inspect.signature(getattr(module, cls_name)).parameters.items() if k != "semantics"}
        names = [k for k in ours if k in theirs]
        assert names == list(theirs), f"{module.__name__}.{cls_name}: 0.1 arguments {list(theirs)}, ours {list(ours)}"
        for name, p in theirs.items():
            q = ours[name]
            assert q.kind == p.kind, f"{module.__name__}.{cls_name}({name}): {q.kind} vs {p.kind}"
            expected = p.default
            if (cls_name, name) in CHANGED_DEFAULTS:
                old, new = CHANGED_DEFAULTS[(cls_name, name)]
                assert p.default == old and type(p.default) is type(old)
                expected = new
            assert _same_default(expected, q.default), (f"{module.__name__}.{cls_name}({name}): default "
                                                        f"{q.default!r}, Lasagne 0.1 {p.default!r}")


@pytest.mark.parametrize("name", ["sigmoid", "softmax", "tanh", "rectify", "linear", "identity", "LeakyRectify",
                                  "leaky_rectify", "very_leaky_rectify"])
def test_nonlinearities_of_lasagne01_exist(lasagne, name):
    theirs = getattr(lasagne.nonlinearities, name)
    for module in (L, LT):
        ours = getattr(module.nonlinearities, name)
        if isinstance(theirs, type):
            assert list(inspect.signature(ours).parameters) == list(inspect.signature(theirs).parameters)
        elif not inspect.isfunction(theirs):
            assert _same_default(theirs, ours)
